/*
 * The signing log's writers run one at a time under signet-log.lock (flock), and the lock files libgit2 leaves
 * behind when a writer is killed while it moves a ref are cleared under it (docs/log.md, "Locks left by a killed
 * writer").
 *
 * libgit2 moves a ref by creating <ref>.lock (O_EXCL), writing and fsyncing the new id into it, then renaming it
 * over <ref> (for a new ref: linking it there, then unlinking the .lock). A writer killed in between leaves the
 * .lock, and every later move of that ref fails ("failed to lock file"). The rename or link is atomic, so the ref
 * itself is either the old or the new id, never half-written; a killed append's objects may stay unreferenced,
 * which log verify and git fsck accept.
 *
 * Such a lock is stale when both hold:
 *   - we hold signet-log.lock, so no signet writer is alive (each holds it from before it takes a ref lock until
 *     it has renamed or dropped it, and the kernel releases it when the holder dies);
 *   - its mtime is LOG_STALE_LOCK_SECONDS old or more. git holds a ref lock for the milliseconds of a write, an
 *     fsync and a rename, and gives up waiting for one after core.filesRefLockTimeout (100 ms by default); a
 *     git process outside signet's lock that still held one after a minute would be stopped, not writing.
 * A younger lock is refused with what to do, never removed. Only a regular file of the exact name is removed,
 * reached without following a symbolic link; anything else at that path is refused. Between the lstat and the
 * unlink only a process outside signet's lock could change the file, and unlinkat removes a name, never what a
 * link points at, nor a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_internal.h"

/* A lock libgit2 takes in a log for signet's writes: its path relative to the log, what it locks, and how that
   stands once the lock of a killed writer is removed. */
typedef struct ref_lock {
    const char *path;
    const char *what;
    const char *after;
} ref_lock;

#define BRANCH_LOCK                                                                                                  \
    {                                                                                                                \
        LOG_BRANCH ".lock", "git's lock on the log's branch", "the branch still names the last commit written whole" \
    }

/* The ref locks each kind of writer needs free; NULL-terminated. FETCH_HEAD.lock is not among them: libgit2
   writes FETCH_HEAD with GIT_FILEBUF_FORCE, which replaces a stale lock itself. */
static const ref_lock append_locks[] = {BRANCH_LOCK, {NULL, NULL, NULL}};
static const ref_lock sync_locks[] = {
    BRANCH_LOCK,
    {LOG_SYNC_REF ".lock", "git's lock on the remote's fetched branch", "the next fetch moves that branch"},
    {NULL, NULL, NULL}};
static const ref_lock init_locks[] = {{"HEAD.lock", "git's lock on the log's HEAD", "the log is made again"},
                                      {"config.lock", "git's lock on the log's config", "the log is made again"},
                                      {NULL, NULL, NULL}};

/* The directory holding rel's last component, opened without following a symbolic link below dir; *leaf that
   component. -1 with errno set when it cannot be opened (ENOENT: there is no such directory, so no lock). */
static int open_parent(const char *dir, const char *rel, const char **leaf)
{
    char part[256];
    const char *p = rel, *slash;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    while (dfd >= 0 && (slash = strchr(p, '/')) != NULL) {
        int next;

        snprintf(part, sizeof(part), "%.*s", (int)(slash - p), p);
        next = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        dfd = next;
        p = slash + 1;
    }
    *leaf = p;
    return dfd;
}

static const char *kind_of(mode_t mode)
{
    return S_ISLNK(mode) ? "a symbolic link" : S_ISDIR(mode) ? "a directory" : "not a regular file";
}

/* One lock file: absent (0), stale and removed (0, told through opts), or refused (an error saying what to do). */
static int clear_one(const char *dir, const ref_lock *lock, const sign_log_options *opts)
{
    const char *rel = lock->path;
    const char *leaf = NULL;
    struct stat st;
    long long age;
    int dfd = open_parent(dir, rel, &leaf), r = 0;

    if (dfd < 0) {
        /* no such directory: no lock in it; a directory that is a symbolic link: nothing is removed through it,
           and libgit2 says what it finds there */
        return errno == ENOENT || errno == ELOOP || errno == ENOTDIR
                   ? 0
                   : sign__error(SIGN_EIO, "%s/%s: cannot be checked: %s", dir, rel, strerror(errno));
    }
    if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        r = errno == ENOENT ? 0 : sign__error(SIGN_EIO, "%s/%s: cannot be checked: %s", dir, rel, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = sign__error(SIGN_EIO,
                        "%s/%s is %s, not a lock file git leaves: signet never removes it, and the log cannot be "
                        "written while it is there; find out what made it, and remove it yourself",
                        dir, rel, kind_of(st.st_mode));
        goto out;
    }
    age = (long long)time(NULL) - (long long)st.st_mtime;
    if (age < LOG_STALE_LOCK_SECONDS) {
        r = sign__error(SIGN_EIO,
                        "%s/%s is %s, made %lld s ago, and no signet writer holds the log: a git process may be "
                        "writing the log now, or a signet writer was killed less than %d s ago. Nothing was written. "
                        "Run the command again in a minute (signet removes such a lock once it is %d s old), or, if "
                        "no git process writes the log, remove it now: flock %s/signet-log.lock rm -f %s/%s",
                        dir, rel, lock->what, age < 0 ? 0 : age, LOG_STALE_LOCK_SECONDS, LOG_STALE_LOCK_SECONDS, dir,
                        dir, rel);
        goto out;
    }
    /* flags 0: unlinkat never removes a directory */
    if (unlinkat(dfd, leaf, 0) != 0) {
        r = errno == ENOENT
                ? 0
                : sign__error(SIGN_EIO, "%s/%s: cannot remove the stale lock: %s", dir, rel, strerror(errno));
        goto out;
    }
    if (opts != NULL && opts->warn != NULL) {
        char msg[4608];

        snprintf(msg, sizeof(msg),
                 "removed %s/%s, %s, left %lld s ago by a writer killed before it renamed it (no signet writer held "
                 "the log, and git holds such a lock for milliseconds); %s",
                 dir, rel, lock->what, age, lock->after);
        opts->warn(msg, opts->userdata);
    }
out:
    close(dfd);
    return r;
}

int sign__log_clear_stale(const char *dir, int writer, const sign_log_options *opts)
{
    const ref_lock *locks = writer == LOG_WRITER_SYNC     ? sync_locks
                            : writer == LOG_WRITER_INIT   ? init_locks
                            : writer == LOG_WRITER_APPEND ? append_locks
                                                          : NULL;
    int r = 0;

    for (size_t i = 0; r == 0 && locks != NULL && locks[i].path != NULL; i++) {
        r = clear_one(dir, &locks[i], opts);
    }
    return r;
}

/* Open dir's signet-log.lock (made if absent), without locking it. */
static int lock_open(int *fd, const char *dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/signet-log.lock", dir);
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        return sign__error(SIGN_EIO, "%s: cannot open the log's lock file: %s", path, strerror(errno));
    }
    return 0;
}

static int lock_take(int fd, const char *dir)
{
    if (flock(fd, LOCK_EX) != 0) {
        return sign__error(SIGN_EIO, "%s/signet-log.lock: cannot lock the log: %s", dir, strerror(errno));
    }
    return 0;
}

int sign__log_lock(int *fd, const char *dir, int writer, const sign_log_options *opts)
{
    int r;

    if ((r = lock_open(fd, dir)) != 0) {
        return r;
    }
    if ((r = lock_take(*fd, dir)) != 0 || (r = sign__log_clear_stale(dir, writer, opts)) != 0) {
        close(*fd); /* releases the lock */
        *fd = -1;
    }
    return r;
}

/*
 * Whether the lock file a is to be taken before b: by device and inode, an order every process agrees on, so that
 * two syncs between the same two logs in opposite directions never each hold one lock and wait for the other.
 */
static int lock_first(int a, int b, int *same)
{
    struct stat sa, sb;

    *same = 0;
    if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) {
        return 1;
    }
    *same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return sa.st_dev != sb.st_dev ? sa.st_dev < sb.st_dev : sa.st_ino <= sb.st_ino;
}

int sign__log_lock_pair(int *fd, int *rfd, const char *dir, const char *rdir, const sign_log_options *opts)
{
    int r, same = 0, first;

    *rfd = -1;
    if ((r = lock_open(fd, dir)) != 0) {
        return r;
    }
    if (lock_open(rfd, rdir) != 0) {
        /* a remote where no file can be made (read-only) takes no push either: nothing of it to lock */
        sign__error_clear();
        *rfd = -1;
        r = lock_take(*fd, dir);
    } else {
        first = lock_first(*fd, *rfd, &same);
        if (same) {
            close(*rfd); /* the log itself */
            *rfd = -1;
        }
        r = first || same ? lock_take(*fd, dir) : lock_take(*rfd, rdir);
        if (r == 0 && !same) {
            r = first ? lock_take(*rfd, rdir) : lock_take(*fd, dir);
        }
    }
    if (r == 0) {
        r = sign__log_clear_stale(dir, LOG_WRITER_SYNC, opts);
    }
    if (r == 0 && *rfd >= 0) {
        r = sign__log_clear_stale(rdir, LOG_WRITER_APPEND, opts);
    }
    if (r != 0) {
        close(*fd); /* releases the locks */
        *fd = -1;
        if (*rfd >= 0) {
            close(*rfd);
            *rfd = -1;
        }
    }
    return r;
}

int sign__log_mkpath(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        return sign__error(SIGN_EINVAL, "log: a directory name of %zu bytes", len);
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            return sign__error(SIGN_EIO, "%s: cannot make the directory: %s", path, strerror(errno));
        }
        path[i] = i < len ? '/' : '\0';
    }
    return 0;
}

int sign__log_options_check(const sign_log_options *opts)
{
    return opts == NULL ? 0 : sign__check_version(opts->version, SIGN_LOG_OPTIONS_VERSION, "sign_log_options");
}

void sign_log_options_init(sign_log_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_LOG_OPTIONS_VERSION;
}
