/*
 * signet — the signing log: an append-only record, in a git repository, of
 * every bundle a team signed. One commit per bundle; the tree holds the
 * bundles (entries/), an index by signer key id (by-key/) and by subject
 * digest (by-digest/), and the entry count. See docs/log.md.
 */
#ifndef SIGN_LOG_H
#define SIGN_LOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGN_LOG_ID_SIZE 65     /* an entry id: SHA-256 of the bundle's bytes, hex, NUL */
#define SIGN_LOG_COMMIT_SIZE 41 /* a commit id: 40 hex digits, NUL */

/* Make an empty log: a bare git repository at dir (SIGN_EEXISTS when dir holds a repository). */
SIGN_EXTERN int sign_log_init(const char *dir);

/*
 * Append a bundle (its bytes as written) as one commit. The bundle must parse;
 * its signer key id and its statement's subjects are indexed (the log records,
 * it does not verify). Appends are serialised by a lock file in dir, and a
 * stale git lock a killed writer left is cleared (sign_log_add_batch_ext;
 * here without a warning told). out_id
 * (may be NULL) receives the entry id. SIGN_EEXISTS, with out_id set, when
 * the same bytes are already in the log (nothing is written).
 */
SIGN_EXTERN int sign_log_add(char *out_id, const char *dir, const void *bundle, size_t len);

#define SIGN_LOG_NOT_REACHED 1 /* sign_log_item.result of a bundle after the one that stopped a batch */
/* One bundle of a batch (sign_log_add_batch). */
typedef struct sign_log_item {
    const void *bundle;        /* in: the bundle's bytes as written */
    size_t len;                /* in */
    char id[SIGN_LOG_ID_SIZE]; /* out: its entry id ("" when it did not parse or was not reached) */
    int result;                /* out: 0 appended, SIGN_EEXISTS already in the log (or earlier in the batch),
                                  the error that stopped the batch, or SIGN_LOG_NOT_REACHED when not reached */
} sign_log_item;
/*
 * Append n bundles under one lock, one commit each in order, written as one
 * pack and the head moved once. The batch stops at the first bundle that
 * fails (it does not parse, ...): the ones before it are kept, and that error
 * is returned. out_done (may be NULL): how many items were handled (appended
 * or already present). An error writing the pack or moving the head appends
 * nothing (out_done 0).
 */
SIGN_EXTERN int sign_log_add_batch(size_t *out_done, const char *dir, sign_log_item *items, size_t n);
/*
 * A warning from a write to the log, for the caller to show (the CLI prints it
 * on stderr): a stale lock that a killed writer left was removed. message is
 * valid during the call only.
 */
typedef void (*sign_log_warn_cb)(const char *message, void *userdata);

/* Options of the writes to a log (sign_log_add_batch_ext, sign_log_sync_ext). */
typedef struct sign_log_options {
    unsigned int version;
    sign_log_warn_cb warn; /* may be NULL: warnings are not told */
    void *userdata;        /* passed to warn */
} sign_log_options;

#define SIGN_LOG_OPTIONS_VERSION 1
#define SIGN_LOG_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_LOG_OPTIONS_VERSION)
SIGN_EXTERN void sign_log_options_init(sign_log_options *opts);

/*
 * sign_log_add_batch with options (opts may be NULL). Like every write to a
 * log, it first takes the log's lock (signet-log.lock), then clears what a
 * writer killed while moving the log's branch left: git's lock on the branch
 * (refs/heads/main.lock) at least 60 seconds old is removed, and opts->warn
 * is told its path and age; a younger one, or a symbolic link, directory or
 * other non-regular file at that path, refuses the write (SIGN_EIO, saying
 * what to do) and is left in place. docs/log.md, "Locks".
 */
SIGN_EXTERN int sign_log_add_batch_ext(size_t *out_done, const char *dir, sign_log_item *items, size_t n,
                                       const sign_log_options *opts);
/* sign_log_init with options (opts may be NULL): made under the log's lock, and what an init killed before it
   finished left (git's HEAD.lock or config.lock in dir) is cleared as sign_log_add_batch_ext says. */
SIGN_EXTERN int sign_log_init_ext(const char *dir, const sign_log_options *opts);
/* The head commit and the number of entries: what a monitor keeps. */
SIGN_EXTERN int sign_log_checkpoint(char *out_commit, uint64_t *out_count, const char *dir);

/*
 * Prove the log only grew since a checkpoint (NULL: since its first commit):
 * the checkpoint is an ancestor of the head, every later commit has one
 * parent and only adds one entry with its index paths and the count + 1,
 * each added bundle parses, is stored under its own SHA-256, and is indexed
 * under its signer and subjects. SIGN_EVERIFY (LOG_REWRITTEN) otherwise, with
 * out_bad (may be NULL) the first commit that breaks it.
 */
SIGN_EXTERN int sign_log_verify(char *out_bad, const char *dir, const char *since_commit);

/* 0 when these bundle bytes are in the log's head, SIGN_ENOTFOUND when not. */
SIGN_EXTERN int sign_log_contains(const char *dir, const void *bundle, size_t len);

/* One entry found by sign_log_search; strings valid during the callback only. */
typedef struct sign_log_entry {
    const char *id;           /* SHA-256 of the bundle, hex */
    const char *logged;       /* when it was appended, RFC 3339 UTC */
    const char *key_id;       /* the signer's key id */
    const char *summary_json; /* {"id","logged","key_id","subjects":[{"name","sha256"}]} */
} sign_log_entry;

typedef int (*sign_log_cb)(const sign_log_entry *e, void *userdata);

#define SIGN_LOG_BY_KEY 1
#define SIGN_LOG_BY_DIGEST 2
#define SIGN_LOG_SINCE 3

/*
 * Entries signed by a key id, naming a subject digest ("sha256:HEX" or HEX),
 * or appended at or after a time (value: RFC 3339). The callback returning
 * non-zero stops the search, and that value is returned.
 */
SIGN_EXTERN int sign_log_search(const char *dir, int by, const char *value, sign_log_cb cb, void *userdata);

/*
 * Share the log with a remote git repository (a URL or path): fetch its
 * log, then fast-forward whichever side is behind; when both have new
 * entries, the local ones missing from the remote are appended again on top
 * of the remote's head and pushed. The remote's history is never rewritten.
 * out_added (may be NULL): local entries re-appended.
 */
SIGN_EXTERN int sign_log_sync(size_t *out_added, const char *dir, const char *remote);
/* sign_log_sync with options (opts may be NULL); stale locks as sign_log_add_batch_ext, and also
   refs/signet/sync-remote.lock, where the remote's branch is fetched. A remote on this machine (a directory or
   a file:// URL) is locked too (its signet-log.lock, for the whole sync), and its stale branch lock cleared. */
SIGN_EXTERN int sign_log_sync_ext(size_t *out_added, const char *dir, const char *remote,
                                  const sign_log_options *opts);

#ifdef __cplusplus
}
#endif
#endif
