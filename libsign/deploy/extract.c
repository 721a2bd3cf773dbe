/*
 * Writing an archive's entries beneath a staging directory: only entries of
 * the signed manifest, each compared with its record while it is written,
 * every path judged by util/path and opened one component at a time with
 * O_NOFOLLOW relative to the staging root, so that nothing (a symlink of the
 * archive, a ".." or an absolute name) can lead a write outside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "deploy_int.h"

/* A directory whose mode and time are set once everything beneath it is written. */
typedef struct ddir {
    char *path;
    unsigned int mode;
    int64_t mtime;
} ddir;

typedef struct dx {
    int root;
    const char *what;
    const vcapture *sig;
    unsigned char *seen; /* one per signed entry */
    unsigned int flags;
    const sign_limits *lim;
    dfail *why;
    int out; /* the file being written, or -1 */
    const sign_entry *cur;
    sign_digest_ctx *md;
    uint64_t written, total;
    int64_t mtime;
    ddir *dirs;
    size_t ndirs, capdirs;
} dx;

static int fail(dx *d, const char *reason, int code, const char *fmt, ...) SIGN_PRINTF(4, 5);

static int fail(dx *d, const char *reason, int code, const char *fmt, ...)
{
    va_list ap;

    if (d->why->reason == NULL) {
        d->why->reason = reason;
        d->why->code = code;
        va_start(ap, fmt);
        vsnprintf(d->why->message, sizeof(d->why->message), fmt, ap);
        va_end(ap);
    }
    return sign__error(code, "%s", d->why->message);
}

static int cmp_path(const void *k, const void *e)
{
    return strcmp((const char *)k, ((const sign_entry *)e)->path);
}

/* The signed record of an entry by its stored path, or NULL. */
static const sign_entry *signed_entry(const dx *d, const char *path, size_t *idx)
{
    const sign_entry *s = d->sig->n > 0 ? bsearch(path, d->sig->v, d->sig->n, sizeof(*d->sig->v), cmp_path) : NULL;

    if (s != NULL) {
        *idx = (size_t)(s - d->sig->v);
    }
    return s;
}

static unsigned int final_mode(const dx *d, unsigned int mode)
{
    if (d->flags & SIGN_DEPLOY_PRESERVE_MODES) {
        return mode & 07777;
    }
    return mode & 0775; /* no setuid, setgid, sticky or world-writable bit */
}

/*
 * Open the directory that holds the normalised path p (its last component
 * returned in *base), creating missing directories (0700 until their own
 * entry sets the mode). Every component is opened with O_NOFOLLOW: a symlink
 * on the way is refused, never followed. Returns the fd or a negative code.
 */
static int open_parent(dx *d, char *p, const char **base)
{
    int dfd = dup(d->root);
    char *s = p, *slash;

    *base = p;
    if (dfd < 0) {
        return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: %s", d->what, strerror(errno));
    }
    while ((slash = strchr(s, '/')) != NULL) {
        int nfd;

        *slash = '\0';
        /* A directory the archive does not list gets 0755 (less the umask); a listed one its own mode later. */
        if (mkdirat(dfd, s, 0755) != 0 && errno != EEXIST) {
            int e = errno;

            *slash = '/';
            close(dfd);
            if (e == ENOTDIR || e == ELOOP) {
                return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                            "%s: entry %s would be written through a file or symlink of the archive: nothing is "
                            "deployed",
                            d->what, p);
            }
            return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: cannot create the directory of %s: %s", d->what, p,
                        strerror(e));
        }
        nfd = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        *slash = '/';
        close(dfd);
        if (nfd < 0) {
            return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                        "%s: entry %s would be written through a symlink or a file of the archive: nothing is "
                        "deployed",
                        d->what, p);
        }
        dfd = nfd;
        s = slash + 1;
    }
    *base = s;
    return dfd;
}

static int remember_dir(dx *d, const char *p, unsigned int mode, int64_t mtime)
{
    if (d->ndirs == d->capdirs) {
        size_t ncap = d->capdirs ? d->capdirs * 2 : 16;
        ddir *n = realloc(d->dirs, ncap * sizeof(*n));

        if (n == NULL) {
            return sign__oom();
        }
        d->dirs = n;
        d->capdirs = ncap;
    }
    if ((d->dirs[d->ndirs].path = sign__strdup(p)) == NULL) {
        return sign__oom();
    }
    d->dirs[d->ndirs].mode = mode;
    d->dirs[d->ndirs].mtime = mtime;
    d->ndirs++;
    return 0;
}

static void set_time(int dfd, const char *base, int64_t mtime, int flags)
{
    struct timespec ts[2];

    ts[0].tv_sec = mtime;
    ts[0].tv_nsec = 0;
    ts[1] = ts[0];
    (void)utimensat(dfd, base, ts, flags);
}

/* A hard link to a file already extracted inside the tree. */
static int make_hardlink(dx *d, const sign_entry *e, int dfd, const char *base)
{
    char *t = NULL;
    const char *tbase = NULL;
    struct stat st;
    int tfd, r;

    if (e->link_target == NULL || sign__path_check_write(e->link_target) != 0) {
        return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY, "%s: hard link %s points outside the tree", d->what,
                    e->path);
    }
    if ((t = sign__path_norm(e->link_target)) == NULL) {
        return sign__oom();
    }
    if ((tfd = open_parent(d, t, &tbase)) < 0) {
        free(t);
        return tfd;
    }
    if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
        r = fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                 "%s: hard link %s: its target %s is not a file extracted before it", d->what, e->path,
                 e->link_target);
    } else if (linkat(tfd, tbase, dfd, base, 0) != 0) {
        r = fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: hard link %s: %s", d->what, e->path, strerror(errno));
    } else {
        r = 0;
    }
    close(tfd);
    free(t);
    return r;
}

/* The entry's kind of object, beneath its parent dfd. */
static int create(dx *d, const sign_entry *e, const char *np, int dfd, const char *base)
{
    const char *target = e->link_target != NULL ? e->link_target : "";
    unsigned int how = 0;
    int r;

    switch (e->type) {
    case SIGN_ENTRY_DIR:
        if (mkdirat(dfd, base, 0700) != 0) {
            struct stat st;

            if (errno != EEXIST || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
                return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY, "%s: directory %s: %s", d->what, e->path,
                            strerror(errno));
            }
        }
        return remember_dir(d, np, final_mode(d, e->mode), d->mtime);
    case SIGN_ENTRY_FILE:
        d->out = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d->out < 0) {
            return fail(d, errno == EEXIST ? "DEPLOY_PATH_REFUSED" : "DEPLOY_WRITE_FAILED",
                        errno == EEXIST ? SIGN_EVERIFY : SIGN_EIO, "%s: %s: %s", d->what, e->path,
                        errno == EEXIST ? "written twice (two entries extract to the same place)" : strerror(errno));
        }
        d->written = 0;
        sign_digest_free(d->md);
        d->md = NULL;
        return sign_digest_new(&d->md, SIGN_DIGEST_SHA256);
    case SIGN_ENTRY_SYMLINK:
        /* Layers resolve an absolute target from their own root; a zip's leaves the tree. */
        how = e->has_owner ? SIGN__LINK_ROOTFS : 0; /* tar entries carry owners, zip entries none */
        if ((r = sign__path_link_escapes(np, target, how, NULL, NULL)) != 0) {
            return r < 0 ? r
                         : fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                                "%s: symlink %s points outside the tree: nothing is deployed", d->what, e->path);
        }
        if (symlinkat(target, dfd, base) != 0) {
            return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: symlink %s: %s", d->what, e->path, strerror(errno));
        }
        set_time(dfd, base, d->mtime, AT_SYMLINK_NOFOLLOW);
        return 0;
    case SIGN_ENTRY_HARDLINK: return make_hardlink(d, e, dfd, base);
    case SIGN_ENTRY_WHITEOUT:
    case SIGN_ENTRY_OPAQUE: return 0; /* a lone layer applies to an empty tree: nothing to remove */
    default:
        return fail(d, "DEPLOY_ENTRY_REFUSED", SIGN_EVERIFY,
                    "%s: entry %s is a device node, FIFO or other special file: deploy never creates one", d->what,
                    e->path);
    }
}

/* The entry against its signed record: present once, same type, mode and link target. */
static int check_signed(dx *d, const sign_entry *e, const sign_entry **sp)
{
    size_t idx = 0;
    const sign_entry *s = signed_entry(d, e->path, &idx);

    if (s == NULL) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                    "%s: entry %s is not in the signed manifest: nothing is deployed", d->what, e->path);
    }
    if (d->seen[idx]) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                    "%s: entry %s appears twice in the archive; the manifest signs one: nothing is deployed", d->what,
                    e->path);
    }
    d->seen[idx] = 1;
    if (s->type != e->type || s->mode != e->mode ||
        ((s->link_target != NULL || e->link_target != NULL) &&
         (s->link_target == NULL || e->link_target == NULL || strcmp(s->link_target, e->link_target) != 0))) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                    "%s: entry %s differs from the signed manifest (type, mode or link target): nothing is "
                    "deployed",
                    d->what, e->path);
    }
    *sp = s;
    return 0;
}

static int on_entry(void *ctx, const sign_entry *e, int64_t mtime)
{
    dx *d = ctx;
    const sign_entry *s = NULL;
    const char *base = NULL;
    unsigned int bits;
    char *np;
    int dfd, r;

    if (d->out >= 0) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST, "%s: entry %s was not read to its end", d->what,
                    d->cur != NULL ? d->cur->path : "?");
    }
    if ((r = check_signed(d, e, &s)) != 0) {
        return r;
    }
    bits = sign__path_check_write(e->path);
    if (bits == SIGN__PATH_ROOT && e->type == SIGN_ENTRY_DIR) {
        return 0; /* "./" of a tar made with -C dir .: the release root itself, which exists */
    }
    if (bits != 0) {
        return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY, "%s: entry name %s %s: nothing is deployed", d->what,
                    e->path, sign__path_problem(bits));
    }
    if ((np = sign__path_norm(e->path)) == NULL) {
        return sign__oom();
    }
    d->cur = s;
    d->mtime = mtime;
    if ((dfd = open_parent(d, np, &base)) < 0) {
        free(np);
        return dfd;
    }
    r = create(d, e, np, dfd, base);
    close(dfd);
    free(np);
    return r;
}

static int on_data(void *ctx, const void *buf, size_t len)
{
    dx *d = ctx;
    const unsigned char *p = buf;

    if (d->out < 0) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST, "%s: content outside of an entry", d->what);
    }
    d->written += len;
    d->total += len;
    if (d->written > d->cur->size) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                    "%s: entry %s is longer than the signed manifest says (%llu bytes): nothing is deployed", d->what,
                    d->cur->path, (unsigned long long)d->cur->size);
    }
    if (sign_digest_update(d->md, buf, len) != 0) {
        return sign__oom();
    }
    while (len > 0) {
        ssize_t w = write(d->out, p, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: writing %s: %s", d->what, d->cur->path,
                        w < 0 ? strerror(errno) : "no progress");
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int on_done(void *ctx, const sign_entry *e)
{
    dx *d = ctx;
    unsigned char md[SIGN_SHA256_LEN];
    size_t mdlen = 0;
    int r = 0;

    (void)e;
    if (d->out < 0) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST, "%s: an entry ended that was not begun", d->what);
    }
    if (sign_digest_final(md, sizeof(md), &mdlen, d->md) != 0) {
        return sign__oom();
    }
    if (d->written != d->cur->size || !d->cur->has_digest || CRYPTO_memcmp(md, d->cur->sha256, sizeof(md)) != 0) {
        r = fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                 "%s: entry %s differs from the signed manifest as written: nothing is deployed", d->what,
                 d->cur->path);
    } else if (fchmod(d->out, final_mode(d, d->cur->mode)) != 0) {
        r = fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: %s: %s", d->what, d->cur->path, strerror(errno));
    } else if ((d->flags & SIGN_DEPLOY_OWNERS) && geteuid() == 0 && d->cur->has_owner &&
               fchown(d->out, (uid_t)d->cur->uid, (gid_t)d->cur->gid) != 0) {
        r = fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: owner of %s: %s", d->what, d->cur->path, strerror(errno));
    }
    if (r == 0) {
        struct timespec ts[2] = {{d->mtime, 0}, {d->mtime, 0}};

        (void)futimens(d->out, ts);
    }
    if (close(d->out) != 0 && r == 0) {
        r = fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: %s: %s", d->what, d->cur->path, strerror(errno));
    }
    d->out = -1;
    return r;
}

/* Directories last, deepest first: their modes may forbid writing beneath them. */
static int finish_dirs(dx *d)
{
    for (size_t i = d->ndirs; i-- > 0;) {
        const ddir *x = &d->dirs[i];
        char *p = sign__strdup(x->path);
        const char *base = NULL;
        int dfd;

        if (p == NULL) {
            return sign__oom();
        }
        if ((dfd = open_parent(d, p, &base)) < 0) {
            free(p);
            return dfd;
        }
        if (fchmodat(dfd, base, x->mode, 0) != 0) {
            close(dfd);
            free(p);
            return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: directory %s: %s", d->what, x->path,
                        strerror(errno));
        }
        set_time(dfd, base, x->mtime, AT_SYMLINK_NOFOLLOW);
        close(dfd);
        free(p);
    }
    return 0;
}

/*
 * A dangerous finding of the archive's structure or names (zip-*, tar-*), even one the signer allowed, stops
 * the deploy: it marks an archive that extractors read differently, and deploy is an extractor. Only modes
 * are let through (zip-setuid): deploy clears those bits unless told to keep them.
 */
static int archive_findings(dx *d, const sign_artifact *a)
{
    for (size_t i = 0; a != NULL && i < sign_artifact_finding_count(a); i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        if (f->severity == SIGN_SEVERITY_DANGER &&
            (strncmp(f->id, "zip-", 4) == 0 || strncmp(f->id, "tar-", 4) == 0) && strcmp(f->id, "zip-setuid") != 0) {
            return fail(d, "DEPLOY_ARCHIVE_FINDING", SIGN_EVERIFY,
                        "%s: %s%s%s (%s): deploy never extracts such an archive, even when its signer allowed it",
                        d->what, f->id, f->path != NULL ? " at " : "", f->path != NULL ? f->path : "", f->message);
        }
    }
    return 0;
}

int dpl_extract(int fd, const char *what, int root, const vcapture *signed_entries, unsigned int flags,
                const sign_limits *lim, dfail *why)
{
    sign__entry_hook hook = {on_entry, on_data, on_done, NULL};
    sign_artifact *a = NULL;
    dx d;
    int r;

    memset(&d, 0, sizeof(d));
    d.root = root;
    d.what = what;
    d.sig = signed_entries;
    d.flags = flags;
    d.lim = lim;
    d.why = why;
    d.out = -1;
    hook.ctx = &d;
    if ((d.seen = calloc(signed_entries->n + 1, 1)) == NULL) {
        return sign__oom();
    }
    dpl_test_crash("extracting");
    r = sign__artifact_extract(&a, fd, what, lim, &hook);
    if (r == 0 && d.out >= 0) {
        r = fail(&d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST, "%s: entry %s ends early: nothing is deployed", what,
                 d.cur->path);
    }
    for (size_t i = 0; r == 0 && i < signed_entries->n; i++) {
        if (!d.seen[i]) {
            r = fail(&d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST,
                     "%s: entry %s is in the signed manifest but not read from the archive: nothing is deployed",
                     what, signed_entries->v[i].path);
        }
    }
    if (r == 0) {
        r = archive_findings(&d, a);
    }
    if (r == 0) {
        r = finish_dirs(&d);
    }
    if (r != 0 && why->reason == NULL) {
        /* The walk itself stopped (an entry it could not read whole, out of memory, an I/O error). */
        why->reason = r == SIGN_ENOMEM    ? "ERROR"
                      : r <= SIGN_EVERIFY ? "DEPLOY_ENTRY_UNSIGNED"
                                          : "DEPLOY_WRITE_FAILED";
        why->code = r == SIGN_ENOMEM ? r : r <= SIGN_EVERIFY ? SIGN_EDIGEST : SIGN_EIO;
        snprintf(why->message, sizeof(why->message), "%s: %s", what, sign_error_last());
    }
    if (d.out >= 0) {
        close(d.out);
    }
    for (size_t i = 0; i < d.ndirs; i++) {
        free(d.dirs[i].path);
    }
    free(d.dirs);
    free(d.seen);
    sign_digest_free(d.md);
    sign_artifact_free(a);
    return r;
}

static const char *test_crash_phase, *test_fifo;

void dpl_test_hooks(const char *crash_phase, const char *fifo)
{
    test_crash_phase = crash_phase;
    test_fifo = fifo;
}

void dpl_test_crash(const char *phase)
{
    if (test_crash_phase != NULL && strcmp(test_crash_phase, phase) == 0) {
        (void)raise(SIGKILL);
    }
}

void dpl_test_pause(void)
{
    char buf[16];
    int fd;

    if (test_fifo == NULL) {
        return;
    }
    if ((fd = open(test_fifo, O_WRONLY | O_CLOEXEC)) >= 0) {
        (void)!write(fd, "copied\n", 7);
        close(fd);
    }
    if ((fd = open(test_fifo, O_RDONLY | O_CLOEXEC)) >= 0) {
        while (read(fd, buf, sizeof(buf)) > 0) {
        }
        close(fd);
    }
}
