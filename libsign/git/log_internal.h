/* Private to libsign/git/: the signing log's parts shared by log.c, log_verify.c and log_sync.c. */
#ifndef SIGN_LOG_INTERNAL_H
#define SIGN_LOG_INTERNAL_H

#include "git.h"
#include "sign/log.h"

#define LOG_BRANCH "refs/heads/main"
/* Where log sync fetches the remote's branch. */
#define LOG_SYNC_REF "refs/signet/sync-remote"
/* A git ref lock at least this old, found while signet-log.lock is held, was left by a killed writer (log_lock.c). */
#define LOG_STALE_LOCK_SECONDS 60

/*
 * The layout a log's tree follows (docs/log.md). Format 1 (no `format` file): one 2-hex fan-out level under
 * entries/ and the indexes. Format 2 (`format` holds "2\n"): four 1-hex levels, so that no tree grows with the
 * log (16 names a directory, 65,536 leaf directories).
 * New logs are written in LOG_FORMAT; a log keeps the format of its first commit.
 */
#define LOG_FORMAT 2
#define LOG_FORMAT_MAX 2

/* What one bundle is indexed under. */
typedef struct log_entry {
    char id[SIGN_LOG_ID_SIZE];         /* SHA-256 of the bundle's bytes */
    char key_id[128];                  /* the signer's key id */
    char key_hash[SIGN_LOG_ID_SIZE];   /* SHA-256 of key_id: its directory under by-key/ */
    char (*digests)[SIGN_LOG_ID_SIZE]; /* distinct subject SHA-256s */
    size_t ndigests;
    json_t *summary; /* {"id", "logged", "key_id", "subjects": [{"name", "sha256"}]} */
} log_entry;

/* An append's objects, kept in memory and written as one pack (log.c). */
typedef struct rec_backend rec_backend;
typedef struct log_pack {
    git_repository *repo;
    git_odb *odb;     /* the repository's object database */
    git_odb *batch;   /* the repository's while the pack is open: rec in front of odb */
    rec_backend *rec; /* the in-memory store that notes what it holds; owned by batch */
} log_pack;

int sign__log_pack_open(log_pack *lp, git_repository *repo);
/* All objects written since the open (or the last write) as one pack in objects/pack, visible on return. */
int sign__log_pack_write(log_pack *lp, git_repository *repo);
void sign__log_pack_close(log_pack *lp);

int sign__log_open(git_repository **out, const char *dir);
/* The head commit, or *out NULL for an empty log. */
int sign__log_head(git_commit **out, git_repository *repo);
#define LOG_WRITER_APPEND 1 /* moves the branch */
#define LOG_WRITER_SYNC 2   /* moves the branch and the fetched remote branch */
#define LOG_WRITER_INIT 3   /* writes HEAD and config */
/*
 * Take the log's lock (signet-log.lock, held until *fd is closed), then clear the git locks a killed writer of this
 * kind left (0: none), as sign__log_clear_stale; on an error the lock is not held (*fd -1).
 */
int sign__log_lock(int *fd, const char *dir, int writer, const sign_log_options *opts);
/*
 * log sync to a remote that is a directory on this machine (rdir): both logs' locks, taken in an order every process
 * agrees on, then the stale git locks of dir (as a sync) and of rdir (its branch) cleared. A remote where the lock
 * file cannot be made is not locked (*rfd -1). On an error neither is held.
 */
int sign__log_lock_pair(int *fd, int *rfd, const char *dir, const char *rdir, const sign_log_options *opts);
/*
 * With the log's lock held: the git locks a writer of this kind needs free, when a killed writer left them. One at
 * least LOG_STALE_LOCK_SECONDS old is removed and told through opts->warn; a younger one, or anything but a regular
 * file at a lock's path, is an error (SIGN_EIO) saying what to do.
 */
int sign__log_clear_stale(const char *dir, int writer, const sign_log_options *opts);
/* mkdir -p dir (mode 0777 less the umask, as git makes a repository's directories). */
int sign__log_mkpath(const char *dir);
/* 0 for NULL or a version this library reads, SIGN_EINVAL otherwise. */
int sign__log_options_check(const sign_log_options *opts);
int sign__log_entry_from_bundle(log_entry *e, const void *data, size_t len, const char *logged);
void sign__log_entry_free(log_entry *e);
/* Where an entry, its key index leaf, its digest index leaf and a digest's directory are in a log of format. */
void sign__log_entry_path(char *out, size_t outsize, int format, const char *id);
void sign__log_key_path(char *out, size_t outsize, int format, const char *key_hash, const char *id);
void sign__log_digest_path(char *out, size_t outsize, int format, const char *digest, const char *id);
void sign__log_digest_dir(char *out, size_t outsize, int format, const char *digest);
int sign__log_tree_count(uint64_t *out, git_repository *repo, const git_tree *tree);
/* The format a tree is written in: 1 without a `format` file, LOG_FORMAT for an empty log (tree NULL);
   SIGN_EUNSUPPORTED for a newer format, SIGN_EPARSE for a `format` that is not a number and a newline. */
int sign__log_tree_format(int *out, git_repository *repo, const git_tree *tree);
/* The entry blob a commit added against its parent (the log's layout read the way log verify reads it). */
int sign__log_commit_entry(git_oid *out, git_repository *repo, git_commit *c);
/* Append one entry on top of parent (NULL: the first), and move the branch from parent to it when move_branch;
   the caller holds the lock. */
int sign__log_append(git_oid *out_commit, git_repository *repo, git_commit *parent, const void *data, size_t len,
                     log_entry *e, int move_branch);

#endif
