/*
 * --tree: an unpacked root file system (or an extracted zip) against the
 * signed entries.
 *
 * The expected tree is built from the entries: a zip's or a single layer's
 * as they are, an image's layers applied in order (a layer's whiteouts and
 * opaque markers remove what lower layers put there, then its entries are
 * added, replacing earlier ones). The directory is walked with openat,
 * O_NOFOLLOW and fstatat(AT_SYMLINK_NOFOLLOW) only: a symlink in it is
 * compared as a link, never followed, so nothing outside dir is read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "artifact_int.h"
#include "path.h"

#define TREE_MAX_DEPTH 256

typedef struct rec {
    char *path;          /* normalised, "" never stored */
    const sign_entry *e; /* NULL: an implicit parent directory */
    size_t layer;
    int gone;
    int seen;
} rec;

typedef struct tctx {
    rec *v;
    size_t n, cap;
    size_t *ht; /* open addressing: index + 1, 0 empty */
    size_t htcap;
    int compare_mode;
    sign__tree_diff *d;
    size_t nd, capd;
    size_t checked, limit;
    const char *root;
} tctx;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static int ht_rebuild(tctx *t, size_t cap)
{
    size_t *nh = calloc(cap, sizeof(*nh));

    if (nh == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    free(t->ht);
    t->ht = nh;
    t->htcap = cap;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = hash_str(t->v[i].path) & (cap - 1);

        while (t->ht[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        t->ht[h] = i + 1;
    }
    return 0;
}

static rec *find(const tctx *t, const char *path)
{
    size_t h;

    if (t->htcap == 0) {
        return NULL;
    }
    h = hash_str(path) & (t->htcap - 1);
    while (t->ht[h] != 0) {
        rec *r = &t->v[t->ht[h] - 1];

        if (strcmp(r->path, path) == 0) {
            return r;
        }
        h = (h + 1) & (t->htcap - 1);
    }
    return NULL;
}

/* Insert or replace path (path is taken over). */
static int put(tctx *t, char *path, const sign_entry *e, size_t layer)
{
    rec *x = find(t, path);

    if (x != NULL) {
        free(path);
        if (e != NULL || x->gone) {
            x->e = e;
            x->layer = layer;
            x->gone = 0;
        }
        return 0;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        rec *nv = realloc(t->v, nc * sizeof(*nv));

        if (nv == NULL) {
            free(path);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        t->v = nv;
        t->cap = nc;
    }
    memset(&t->v[t->n], 0, sizeof(rec));
    t->v[t->n].path = path;
    t->v[t->n].e = e;
    t->v[t->n].layer = layer;
    t->n++;
    if (t->n * 2 > t->htcap) {
        return ht_rebuild(t, t->htcap ? t->htcap * 2 : 1024);
    }
    {
        size_t h = hash_str(path) & (t->htcap - 1);

        while (t->ht[h] != 0) {
            h = (h + 1) & (t->htcap - 1);
        }
        t->ht[h] = t->n;
    }
    return 0;
}

/* Add an entry and its implicit parents. */
static int add_entry(tctx *t, const sign_entry *e, size_t layer)
{
    char *p = sign__path_norm(e->path), *q;
    int r;

    if (p == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (p[0] == '\0') {
        free(p);
        return 0; /* the root itself */
    }
    for (q = strchr(p, '/'); q != NULL; q = strchr(q + 1, '/')) {
        char *parent = strndup(p, (size_t)(q - p));

        if (parent == NULL) {
            free(p);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        if (find(t, parent) == NULL || find(t, parent)->gone) {
            if ((r = put(t, parent, NULL, layer)) != 0) {
                free(p);
                return r;
            }
        } else {
            free(parent);
        }
    }
    return put(t, p, e, layer);
}

/* Whiteout path (and everything below), or, for an opaque marker, everything below from lower layers. */
static int remove_below(tctx *t, const char *stored, int self, size_t layer)
{
    char *path = sign__path_norm(stored); /* recorded as stored ("./" kept), compared normalised */
    size_t pl;

    if (path == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    pl = strlen(path);

    for (size_t i = 0; i < t->n; i++) {
        rec *x = &t->v[i];

        if (x->gone || x->layer >= layer) {
            continue;
        }
        if ((self && strcmp(x->path, path) == 0) ||
            ((pl == 0 || (strncmp(x->path, path, pl) == 0 && x->path[pl] == '/')) && x->path[0] != '\0')) {
            x->gone = 1;
        }
    }
    free(path);
    return 0;
}

static int diff(tctx *t, const char *reason, const char *path, const char *what)
{
    sign__tree_diff *d;

    if (t->nd == t->capd) {
        size_t nc = t->capd ? t->capd * 2 : 16;
        sign__tree_diff *nv = realloc(t->d, nc * sizeof(*nv));

        if (nv == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        t->d = nv;
        t->capd = nc;
    }
    d = &t->d[t->nd];
    d->reason = reason;
    d->path = sign_text_safe(path);
    d->what = sign__strdup(what);
    if (d->path == NULL || d->what == NULL) {
        free(d->path);
        free(d->what);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    t->nd++;
    return 0;
}

void sign__tree_diffs_free(sign__tree_diff *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        free(d[i].path);
        free(d[i].what);
    }
    free(d);
}

static int hash_fd(unsigned char *md, uint64_t *size, int fd)
{
    size_t mdlen = 0;

    return sign_digest_fd(md, SIGN_SHA256_LEN, &mdlen, size, SIGN_DIGEST_SHA256, fd);
}

/* Compare the file at name (in dirfd) with x. */
static int compare_one(tctx *t, int dirfd, const char *name, const char *rel, const struct stat *st, rec *x)
{
    const sign_entry *e = x->e;
    char what[160];

    x->seen = 1;
    t->checked++;
    if (e == NULL) {
        return S_ISDIR(st->st_mode) ? 0 : diff(t, "TREE_CHANGED", rel, "should be a directory");
    }
    switch (e->type) {
    case SIGN_ENTRY_DIR: return S_ISDIR(st->st_mode) ? 0 : diff(t, "TREE_CHANGED", rel, "should be a directory");
    case SIGN_ENTRY_SYMLINK: {
        char buf[4097];
        ssize_t n;

        if (!S_ISLNK(st->st_mode)) {
            return diff(t, "TREE_CHANGED", rel, "should be a symlink");
        }
        n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
        if (n < 0) {
            return diff(t, "TREE_CHANGED", rel, "symlink cannot be read");
        }
        buf[n] = '\0';
        return e->link_target != NULL && strcmp(buf, e->link_target) == 0
                   ? 0
                   : diff(t, "TREE_CHANGED", rel, "symlink points elsewhere");
    }
    case SIGN_ENTRY_FILE: {
        unsigned char md[SIGN_SHA256_LEN];
        uint64_t size = 0;
        int fd, r;

        if (!S_ISREG(st->st_mode)) {
            return diff(t, "TREE_CHANGED", rel, "should be a regular file");
        }
        if (t->compare_mode && (unsigned int)(st->st_mode & 0777) != (e->mode & 0777)) {
            snprintf(what, sizeof(what), "has mode %04o, signed %04o", (unsigned int)(st->st_mode & 0777),
                     e->mode & 0777);
            if ((r = diff(t, "TREE_CHANGED", rel, what)) != 0) {
                return r;
            }
        }
        if ((uint64_t)st->st_size != e->size) {
            return diff(t, "TREE_CHANGED", rel, "differs in size");
        }
        if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
            return diff(t, "TREE_CHANGED", rel, "cannot be read");
        }
        r = hash_fd(md, &size, fd);
        close(fd);
        if (r != 0 && r != SIGN_EIO) {
            return r; /* out of memory, or the digest could not run: an error, not a changed file */
        }
        if (r != 0) {
            sign__error_clear();
            return diff(t, "TREE_CHANGED", rel, "cannot be read");
        }
        if (!e->has_digest || CRYPTO_memcmp(md, e->sha256, SIGN_SHA256_LEN) != 0) {
            return diff(t, "TREE_CHANGED", rel, "differs in content");
        }
        return 0;
    }
    case SIGN_ENTRY_OTHER:
        /* A device, FIFO or socket was recorded: a regular file, directory or link there is a change. */
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)) {
            return 0;
        }
        return diff(t, "TREE_CHANGED", rel, "should be a device or FIFO");
    default: return 0;
    }
}

/* Recursion depth is bounded by TREE_MAX_DEPTH (one open directory per level). */
static int walk(tctx *t, int dfd, const char *rel, int depth) /* NOLINT(misc-no-recursion) */
{
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (depth > TREE_MAX_DEPTH) {
        return diff(t, "TREE_EXTRA", rel, "is nested too deeply to be compared");
    }
    if ((d = fdopendir(dfd)) == NULL) {
        close(dfd);
        return sign__error(SIGN_EIO, "%s/%s: cannot list: %s", t->root, rel, strerror(errno));
    }
    /* One DIR per call, never shared between threads: readdir is safe here (readdir_r is deprecated). */
    /* cppcheck-suppress readdirCalled */
    while (r == 0 && (de = readdir(d)) != NULL) {
        struct stat st;
        char *child;
        size_t cl;
        rec *x;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (t->checked + t->nd > t->limit) {
            r = diff(t, "TREE_EXTRA", rel, "holds more files than the limit; comparison stopped");
            break;
        }
        cl = strlen(rel) + strlen(de->d_name) + 2;
        if ((child = malloc(cl)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            break;
        }
        snprintf(child, cl, "%s%s%s", rel, rel[0] != '\0' ? "/" : "", de->d_name);
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            r = diff(t, "TREE_CHANGED", child, "cannot be examined");
            free(child);
            continue;
        }
        x = find(t, child);
        if (x == NULL || x->gone) {
            r = diff(t, "TREE_EXTRA", child, "is not in the signed entries (added after signing)");
        } else {
            r = compare_one(t, dirfd(d), de->d_name, child, &st, x);
        }
        if (r == 0 && S_ISDIR(st.st_mode) && x != NULL && !x->gone) {
            int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (cfd < 0) {
                r = diff(t, "TREE_CHANGED", child, "directory cannot be opened");
            } else {
                r = walk(t, cfd, child, depth + 1); /* NOLINT(misc-no-recursion) */
            }
        }
        free(child);
    }
    closedir(d);
    return r;
}

static int cmp_diff(const void *a, const void *b)
{
    const sign__tree_diff *x = a, *y = b;

    return strcmp(x->path, y->path);
}

int sign__tree_compare(sign__tree_diff **out, size_t *n, size_t *nchecked, const sign_artifact *a, const char *dir,
                       const sign_limits *lim)
{
    tctx t;
    int r = 0, fd;
    sign_artifact_kind kind = sign_artifact_get_kind(a);

    *out = NULL;
    *n = 0;
    *nchecked = 0;
    memset(&t, 0, sizeof(t));
    t.root = dir;
    t.limit = (size_t)(lim->archive_max_entries * 2 + 1000);
    t.compare_mode = kind != SIGN_ARTIFACT_ZIP;
    if (kind == SIGN_ARTIFACT_OCI || kind == SIGN_ARTIFACT_DOCKER) {
        sign_layer_info li;

        if (sign_artifact_image_count(a) != 1) {
            return sign__error(SIGN_EINVAL, "--tree compares one image; choose it with --ref");
        }
        for (size_t j = 0; r == 0 && sign_artifact_layer(&li, a, 0, j) == 0; j++) {
            /* Whiteouts of this layer first (they act on lower layers), then its entries. */
            for (size_t k = 0; r == 0 && k < li.entry_count; k++) {
                const sign_entry *e = sign_artifact_layer_entry(a, 0, j, k);

                if (e->type == SIGN_ENTRY_WHITEOUT || e->type == SIGN_ENTRY_OPAQUE) {
                    r = remove_below(&t, e->path, e->type == SIGN_ENTRY_WHITEOUT, j + 1);
                }
            }
            for (size_t k = 0; r == 0 && k < li.entry_count; k++) {
                const sign_entry *e = sign_artifact_layer_entry(a, 0, j, k);

                if (e->type == SIGN_ENTRY_OPAQUE) {
                    char *p = sign__path_norm(e->path);

                    if (p == NULL) {
                        r = sign__error(SIGN_ENOMEM, "out of memory");
                    } else if (p[0] != '\0' && (find(&t, p) == NULL || find(&t, p)->gone)) {
                        r = put(&t, p, NULL, j + 1);
                    } else {
                        free(p);
                    }
                } else if (e->type != SIGN_ENTRY_WHITEOUT) {
                    r = add_entry(&t, e, j + 1);
                }
            }
        }
        if (r == 0) {
            sign__error_clear(); /* the loop ends on "no layer N" */
        }
    } else if (kind == SIGN_ARTIFACT_FILE) {
        return sign__error(SIGN_EINVAL, "--tree needs an archive or an image, not a plain file");
    } else {
        for (size_t k = 0; r == 0 && k < sign_artifact_entry_count(a); k++) {
            const sign_entry *e = sign_artifact_entry(a, k);

            if (e->type != SIGN_ENTRY_WHITEOUT && e->type != SIGN_ENTRY_OPAQUE) {
                r = add_entry(&t, e, 1);
            }
        }
    }
    /* Hardlinks are files on disk: compare with their target's record. */
    for (size_t i = 0; r == 0 && i < t.n; i++) {
        if (t.v[i].e != NULL && t.v[i].e->type == SIGN_ENTRY_HARDLINK && t.v[i].e->link_target != NULL) {
            char *p = sign__path_norm(t.v[i].e->link_target);
            rec *x = p != NULL ? find(&t, p) : NULL;

            t.v[i].e = x != NULL && !x->gone && x->e != NULL && x->e->type == SIGN_ENTRY_FILE ? x->e : t.v[i].e;
            free(p);
        }
    }
    if (r != 0) {
        goto out;
    }
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        r = sign__error(errno == ENOENT ? SIGN_ENOTFOUND : SIGN_EIO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if ((r = walk(&t, fd, "", 0)) != 0) {
        goto out;
    }
    for (size_t i = 0; r == 0 && i < t.n; i++) {
        if (!t.v[i].gone && !t.v[i].seen) {
            r = diff(&t, "TREE_MISSING", t.v[i].path,
                     "is in the signed entries but missing (removed after unpacking)");
        }
    }
    if (r != 0) {
        goto out;
    }
    if (t.nd > 1) {
        qsort(t.d, t.nd, sizeof(*t.d), cmp_diff);
    }
    *out = t.d;
    *n = t.nd;
    *nchecked = t.checked;
    t.d = NULL;
    t.nd = 0;
out:
    for (size_t i = 0; i < t.n; i++) {
        free(t.v[i].path);
    }
    free(t.v);
    free(t.ht);
    sign__tree_diffs_free(t.d, t.nd);
    return r;
}
