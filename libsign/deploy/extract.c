/*
 * Writing an archive's entries beneath a staging directory: only entries of
 * the signed manifest, each compared with its record while it is written,
 * every path judged by util/path and opened one component at a time with
 * O_NOFOLLOW relative to the staging root, so that nothing (a symlink of the
 * archive, a ".." or an absolute name) can lead a write outside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <openssl/crypto.h>

#include "deploy_int.h"

/* A directory whose mode and time are set once everything beneath it is written. */
typedef struct ddir {
    char *path;
    unsigned int mode;
    int64_t mtime;
} ddir;

/* A set of normalised paths (open addressing), each with a value. */
typedef struct pset {
    char **k;
    size_t *val;
    size_t n, cap;
} pset;

typedef struct dx {
    int root;
    const char *what;
    const vcapture *sig;
    const sign_entry *sv; /* the signed entries being extracted (an image: the current layer's), sorted */
    size_t sn;
    unsigned char *seen; /* one per signed entry of sv */
    int image;           /* layers applied in order: whiteouts, opaque directories, lower paths replaced */
    size_t layer, nwalked;
    pset upper;  /* image: the paths written by the current layer */
    pset dirset; /* image: a directory's record in dirs, by path (a later layer's record replaces it) */
    /*
     * The directory of the last path opened (most entries share their predecessor's): its path and an fd on
     * it, reached component by component as below. Anything removed from the tree drops it (dir_cache_drop).
     */
    char *pc_path;
    int pc_fd;
    unsigned int flags;
    const sign_limits *lim;
    dfail *why;
    int out; /* the file being written, or -1 */
    const sign_entry *cur;
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
    const sign_entry *s = d->sn > 0 ? bsearch(path, d->sv, d->sn, sizeof(*d->sv), cmp_path) : NULL;

    if (s != NULL) {
        *idx = (size_t)(s - d->sv);
    }
    return s;
}

static size_t pset_hash(const char *p)
{
    size_t h = 1469598103934665603u;

    for (; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    }
    return h;
}

/* The slot of p: where it is, or the empty slot where it would go. */
static size_t pset_slot(const pset *s, const char *p)
{
    size_t i = pset_hash(p) & (s->cap - 1);

    while (s->k[i] != NULL && strcmp(s->k[i], p) != 0) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

/* The value of p, or SIZE_MAX when p is not in the set. */
static size_t pset_get(const pset *s, const char *p)
{
    size_t i;

    if (s->n == 0) {
        return SIZE_MAX;
    }
    i = pset_slot(s, p);
    return s->k[i] != NULL ? s->val[i] : SIZE_MAX;
}

static void pset_clear(pset *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->k[i]);
    }
    free(s->k);
    free(s->val);
    memset(s, 0, sizeof(*s));
}

static int pset_grow(pset *s)
{
    pset n;

    n.cap = s->cap ? s->cap * 2 : 256;
    n.n = s->n;
    if ((n.k = calloc(n.cap, sizeof(*n.k))) == NULL || (n.val = calloc(n.cap, sizeof(*n.val))) == NULL) {
        free(n.k);
        return sign__oom();
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->k[i] != NULL) {
            size_t j = pset_slot(&n, s->k[i]);

            n.k[j] = s->k[i];
            n.val[j] = s->val[i];
        }
    }
    free(s->k);
    free(s->val);
    *s = n;
    return 0;
}

/* Add p (or set its value). */
static int pset_put(pset *s, const char *p, size_t val)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap && pset_grow(s) != 0) {
        return SIGN_ENOMEM;
    }
    i = pset_slot(s, p);
    if (s->k[i] == NULL) {
        if ((s->k[i] = sign__strdup(p)) == NULL) {
            return sign__oom();
        }
        s->n++;
    }
    s->val[i] = val;
    return 0;
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
static void dir_cache_drop(dx *d)
{
    if (d->pc_fd >= 0) {
        close(d->pc_fd);
    }
    free(d->pc_path);
    d->pc_path = NULL;
    d->pc_fd = -1;
}

/* The cached directory when p's parent is its path: a new fd on it, base set; else -1. */
static int dir_cache_get(const dx *d, char *p, const char **base)
{
    const char *last = strrchr(p, '/');
    size_t n = last != NULL ? (size_t)(last - p) : 0;

    if (last == NULL || d->pc_path == NULL || strlen(d->pc_path) != n || memcmp(d->pc_path, p, n) != 0) {
        return -1;
    }
    *base = last + 1;
    return dup(d->pc_fd);
}

/* Remember dfd as the directory of p (its parent). */
static void dir_cache_put(dx *d, const char *p, int dfd)
{
    const char *last = strrchr(p, '/');

    dir_cache_drop(d);
    if (last == NULL || (d->pc_path = malloc((size_t)(last - p) + 1)) == NULL) {
        return; /* no cache: the next path is opened the long way */
    }
    memcpy(d->pc_path, p, (size_t)(last - p));
    d->pc_path[last - p] = '\0';
    if ((d->pc_fd = dup(dfd)) < 0) {
        dir_cache_drop(d);
    }
}

/*
 * The parent of p in one openat2(2) that the kernel refuses through any symlink or out of the root
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), when every directory exists; else -1 (then the walk below,
 * which creates what is missing and says what is in the way).
 */
static int open_beneath(const dx *d, char *p, const char **base)
{
    char *last = strrchr(p, '/');
    struct open_how how;
    long fd;

    if (last == NULL) {
        return -1;
    }
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    *last = '\0';
    fd = syscall(SYS_openat2, d->root, p, &how, sizeof(how));
    *last = '/';
    if (fd < 0) {
        return -1;
    }
    *base = last + 1;
    return (int)fd;
}

static int open_parent_at(dx *d, char *p, const char **base, int create)
{
    int dfd = dir_cache_get(d, p, base);
    char *s = p, *slash;

    if (dfd >= 0 || (dfd = open_beneath(d, p, base)) >= 0) {
        return dfd;
    }
    dfd = dup(d->root);
    *base = p;
    if (dfd < 0) {
        return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: %s", d->what, strerror(errno));
    }
    while ((slash = strchr(s, '/')) != NULL) {
        int nfd;

        *slash = '\0';
        nfd = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* A directory the archive does not list gets 0755 (less the umask); a listed one its own mode later. */
        if (nfd < 0 && errno == ENOENT && create) {
            if (mkdirat(dfd, s, 0755) != 0 && errno != EEXIST) {
                int e = errno;

                *slash = '/';
                close(dfd);
                if (e == ENOTDIR || e == ELOOP) {
                    return fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                                "%s: entry %s would be written through a file or symlink of the archive: nothing "
                                "is deployed",
                                d->what, p);
                }
                return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: cannot create the directory of %s: %s", d->what,
                            p, strerror(e));
            }
            nfd = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        *slash = '/';
        close(dfd);
        if (nfd < 0 && !create && errno == ENOENT) {
            return SIGN_ENOTFOUND; /* nothing there to remove or to set */
        }
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
    dir_cache_put(d, p, dfd);
    return dfd;
}

static int open_parent(dx *d, char *p, const char **base)
{
    return open_parent_at(d, p, base, 1);
}

static int remember_dir(dx *d, const char *p, unsigned int mode, int64_t mtime)
{
    size_t was = d->image ? pset_get(&d->dirset, p) : SIZE_MAX;

    if (was != SIZE_MAX) {
        /* The directory of a lower layer listed again: the upper record's mode and time win. */
        d->dirs[was].mode = mode;
        d->dirs[was].mtime = mtime;
        return 0;
    }
    if (d->image && pset_put(&d->dirset, p, d->ndirs) != 0) {
        return SIGN_ENOMEM;
    }
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

    if (e->link_target == NULL ||
        sign__path_check_write_how(e->link_target, e->has_owner ? 0 : SIGN__PATH_WINDOWS) != 0) {
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
        return 0;
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
    case SIGN_ENTRY_OPAQUE: return 0; /* a lone layer applies to an empty tree (images: apply_whiteout) */
    default:
        return fail(d, "DEPLOY_ENTRY_REFUSED", SIGN_EVERIFY,
                    "%s: entry %s is a device node, FIFO or other special file: deploy never creates one", d->what,
                    e->path);
    }
}

/* The path of child name of directory dir ("" for the root), malloc'd. */
static char *child_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL) {
        snprintf(p, n, "%s%s%s", dir, dir[0] != '\0' ? "/" : "", name);
    }
    return p;
}

/* The names in the directory open on fd (read whole before anything is removed), NULL-terminated. */
static int list_dir(char ***out, int fd)
{
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *de;
    char **v = NULL;
    size_t n = 0;

    *out = NULL;
    if (dir == NULL) {
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return sign__error(SIGN_EIO, "cannot read a directory: %s", strerror(errno));
    }
    /* cppcheck-suppress readdirCalled */
    while ((de = readdir(dir)) != NULL) {
        char **nv;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL || (nv[n] = sign__strdup(de->d_name)) == NULL) {
            v = nv != NULL ? nv : v;
            for (size_t i = 0; i < n; i++) {
                free(v[i]);
            }
            free(v);
            closedir(dir);
            return sign__oom();
        }
        v = nv;
        v[++n] = NULL;
    }
    closedir(dir);
    *out = v;
    return 0;
}

/*
 * An opaque directory: remove everything beneath the directory open on fd (path dir) that the current layer
 * did not write, descending into the directories it did write. Never follows a symlink.
 */
static int remove_lower(dx *d, int fd, const char *dir) /* NOLINT(misc-no-recursion): depth <= the path's */
{
    char **names = NULL;
    int r = list_dir(&names, fd);

    for (size_t i = 0; r == 0 && names != NULL && names[i] != NULL; i++) {
        char *cp = child_path(dir, names[i]);
        struct stat st;

        if (cp == NULL) {
            r = sign__oom();
        } else if (pset_get(&d->upper, cp) == SIZE_MAX) {
            r = dpl_remove_tree(fd, names[i]);
        } else if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int cfd = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            /* NOLINTNEXTLINE(misc-no-recursion): one level per component of a path this layer wrote */
            r = cfd < 0 ? sign__error(SIGN_EIO, "%s: %s", cp, strerror(errno)) : remove_lower(d, cfd, cp);
            if (cfd >= 0) {
                close(cfd);
            }
        }
        free(cp);
    }
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        free(names[i]);
    }
    free(names);
    return r;
}

/*
 * A whiteout (np removed) or an opaque marker (np's lower content hidden) of an image's layer, applied to the
 * layers below it in the staging tree. Parents are opened without creating them and never through a symlink:
 * a whiteout beneath a symlink is refused, one of a path that is not there does nothing.
 */
static int apply_whiteout(dx *d, const sign_entry *e, char *np)
{
    const char *base = NULL;
    int dfd, r = 0;

    dir_cache_drop(d); /* what it names may be removed */
    if (e->type == SIGN_ENTRY_OPAQUE && np[0] == '\0') {
        return remove_lower(d, d->root, "");
    }
    if ((dfd = open_parent_at(d, np, &base, 0)) == SIGN_ENOTFOUND) {
        sign__error_clear();
        return 0;
    }
    if (dfd < 0) {
        return dfd;
    }
    if (e->type == SIGN_ENTRY_WHITEOUT) {
        /* A whiteout hides lower layers only; what this layer wrote stays (the image spec). */
        base = base != NULL ? base : "";
        if (pset_get(&d->upper, np) == SIZE_MAX && (r = dpl_remove_tree(dfd, base)) != 0) {
            r = fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: whiteout %s: %s", d->what, e->path, sign_error_last());
        }
    } else {
        int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 && errno != ENOENT) {
            r = fail(d, "DEPLOY_PATH_REFUSED", SIGN_EVERIFY,
                     "%s: opaque directory %s is a symlink or a file here: nothing is deployed", d->what, e->path);
        } else if (fd >= 0) {
            r = remove_lower(d, fd, np);
            close(fd);
        }
    }
    close(dfd);
    return r;
}

/* An image's entry replacing what a lower layer left at its path (a directory stays for a directory). */
static int replace_lower(dx *d, const sign_entry *e, const char *np, int dfd, const char *base)
{
    struct stat st;

    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || pset_get(&d->upper, np) != SIZE_MAX) {
        return 0; /* nothing there, or written by this layer (create() refuses a second write) */
    }
    if (e->type == SIGN_ENTRY_DIR && S_ISDIR(st.st_mode)) {
        return 0;
    }
    dir_cache_drop(d); /* what it names may be beneath what is removed */
    if (dpl_remove_tree(dfd, base) != 0) {
        return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "%s: replacing %s: %s", d->what, e->path, sign_error_last());
    }
    return 0;
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
    /*
     * A tar entry (layers, images; they carry owners) has a POSIX name, where '\' is an ordinary byte
     * (POSIX.1 ustar and pax; umoci, docker and GNU tar write it as such on Linux): it separates nothing
     * here, so it cannot lead outside the tree. A zip's '\' stays refused: Windows extractors read it as
     * a separator, so such a zip is read differently by extractors.
     */
    bits = sign__path_check_write_how(e->path, e->has_owner ? 0 : SIGN__PATH_WINDOWS);
    if (bits == SIGN__PATH_ROOT && e->type == SIGN_ENTRY_DIR) {
        return 0; /* "./" of a tar made with -C dir .: the release root itself, which exists */
    }
    if (bits == SIGN__PATH_ROOT && e->type == SIGN_ENTRY_OPAQUE && d->image) {
        bits = 0; /* the root's lower content hidden: beneath the release root, which stays */
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
    if (d->image && (e->type == SIGN_ENTRY_WHITEOUT || e->type == SIGN_ENTRY_OPAQUE)) {
        if (bits == SIGN__PATH_ROOT) {
            np[0] = '\0';
        }
        r = apply_whiteout(d, e, np);
        free(np);
        return r;
    }
    if ((dfd = open_parent(d, np, &base)) < 0) {
        free(np);
        return dfd;
    }
    r = d->image ? replace_lower(d, e, np, dfd, base) : 0;
    if (r == 0) {
        r = create(d, e, np, dfd, base);
    }
    for (char *q = np; r == 0 && d->image && q != NULL; q = strchr(q + 1, '/')) {
        /* The path and the directories it needs are this layer's: an opaque marker later keeps them. */
        char c = *q;

        if (q != np) {
            *q = '\0';
        }
        r = pset_put(&d->upper, np, 0);
        *q = c;
    }
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

/*
 * The entry's content ended: e->sha256 is the walker's digest of exactly the bytes handed to on_data (the hook's
 * contract, artifact_int.h), so the file as written is compared with its signed record without hashing it twice.
 */
static int on_done(void *ctx, const sign_entry *e)
{
    dx *d = ctx;
    int r = 0;

    if (d->out < 0) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST, "%s: an entry ended that was not begun", d->what);
    }
    if (d->written != d->cur->size || e->size != d->written || !e->has_digest || !d->cur->has_digest ||
        CRYPTO_memcmp(e->sha256, d->cur->sha256, sizeof(e->sha256)) != 0) {
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
        if ((dfd = open_parent_at(d, p, &base, !d->image)) == SIGN_ENOTFOUND) {
            sign__error_clear();
            free(p);
            continue; /* removed by a whiteout of a later layer */
        }
        if (dfd < 0) {
            free(p);
            return dfd;
        }
        if (d->image) {
            struct stat st;

            if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
                close(dfd);
                free(p);
                continue; /* removed, or replaced by a file or symlink of a later layer */
            }
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

/* Every signed entry of the list being extracted was read (the whole archive, or an image's layer). */
static int check_all_seen(dx *d)
{
    for (size_t i = 0; i < d->sn; i++) {
        if (!d->seen[i]) {
            return fail(d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST,
                        "%s: entry %s%s is in the signed manifest but not read from the archive: nothing is "
                        "deployed",
                        d->what, d->sv[i].path, d->image ? " of an image layer" : "");
        }
    }
    return 0;
}

/* An image: layer j of image i begins (SIZE_MAX: the image ends); its signed entries are what may be written. */
static int on_layer(void *ctx, size_t i, size_t j)
{
    dx *d = ctx;
    int r;

    if (d->out >= 0) {
        return fail(d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST, "%s: entry %s ends early: nothing is deployed", d->what,
                    d->cur != NULL ? d->cur->path : "?");
    }
    if (d->nwalked > 0 && (r = check_all_seen(d)) != 0) {
        return r;
    }
    if (j == SIZE_MAX) {
        return 0;
    }
    if (i != 0 || j != d->nwalked || j >= d->sig->nlayers) {
        return fail(d, "DEPLOY_ENTRY_UNSIGNED", SIGN_EDIGEST,
                    "%s: layer %zu of image %zu is not a layer the statement records: nothing is deployed", d->what,
                    j, i);
    }
    free(d->seen);
    if ((d->seen = calloc(d->sig->layers[j].n + 1, 1)) == NULL) {
        return sign__oom();
    }
    pset_clear(&d->upper);
    d->sv = d->sig->layers[j].v;
    d->sn = d->sig->layers[j].n;
    d->layer = j;
    d->nwalked++;
    return 0;
}

/* After an image's walk: one image, every layer walked, no integrity problem, the manifest verified. */
static int image_checks(dx *d, const sign_artifact *a, const char *subject)
{
    char hex[2 * SIGN_SHA256_LEN + 1];
    const char *reason = NULL, *message = NULL;

    if (sign_artifact_problem_count(a) > 0 && sign_artifact_problem(&reason, &message, a, 0) == 0) {
        return fail(d, reason, SIGN_EDIGEST, "%s: nothing is deployed", message);
    }
    if (sign_artifact_image_count(a) != 1 || d->nwalked != d->sig->nlayers) {
        return fail(d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST,
                    "%s: %zu of the %zu signed layers were read: nothing is deployed", d->what, d->nwalked,
                    d->sig->nlayers);
    }
    sign_hex_encode(hex, sizeof(hex), sign_artifact_sha256(a), SIGN_SHA256_LEN);
    if (subject == NULL || strcmp(hex, subject) != 0) {
        return fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO,
                    "%s: the image read while extracting (sha256 %s) is not the one verified: nothing is deployed",
                    d->what, hex);
    }
    return 0;
}

static void dx_free(dx *d)
{
    if (d->out >= 0) {
        close(d->out);
    }
    for (size_t i = 0; i < d->ndirs; i++) {
        free(d->dirs[i].path);
    }
    free(d->dirs);
    free(d->seen);
    pset_clear(&d->upper);
    pset_clear(&d->dirset);
    dir_cache_drop(d);
}

int dpl_extract(const dsrc *src, int root, const vcapture *signed_entries, unsigned int flags, const sign_limits *lim,
                dfail *why)
{
    sign__entry_hook hook = {on_entry, on_data, on_done, NULL, on_layer};
    sign_artifact *a = NULL;
    dx d;
    int r;

    memset(&d, 0, sizeof(d));
    d.root = root;
    d.what = src->what;
    d.sig = signed_entries;
    d.sv = signed_entries->v;
    d.sn = signed_entries->n;
    d.image = signed_entries->image;
    d.flags = flags;
    d.lim = lim;
    d.why = why;
    d.out = -1;
    d.pc_fd = -1;
    hook.ctx = &d;
    if ((d.seen = calloc(signed_entries->n + 1, 1)) == NULL) {
        return sign__oom();
    }
    dpl_test_crash("extracting");
    r = sign__artifact_extract(&a, src->fd, src->what, src->ref, lim, &hook);
    if (r == 0 && d.out >= 0) {
        r = fail(&d, "DEPLOY_ENTRY_MISSING", SIGN_EDIGEST, "%s: entry %s ends early: nothing is deployed", d.what,
                 d.cur->path);
    }
    if (r == 0 && d.image) {
        r = image_checks(&d, a, src->subject);
    } else if (r == 0) {
        r = check_all_seen(&d);
    }
    if (r == 0) {
        r = archive_findings(&d, a);
    }
    for (size_t i = 0; a != NULL && i < sign_artifact_finding_count(a); i++) {
        why->findings |= sign_artifact_finding(a, i)->severity == SIGN_SEVERITY_DANGER;
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
        snprintf(why->message, sizeof(why->message), "%s: %s", d.what, sign_error_last());
    }
    dx_free(&d);
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
