/*
 * The audit's walk of a store: directories read one entry at a time with an explicit stack (memory does
 * not grow with the store), symbolic links never followed, an OCI image layout taken whole, bundles
 * (NAME.sigstore.json) paired with their artifacts and reported as orphans when the artifact is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"

static const char bundle_suffix[] = ".sigstore.json";

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Shard of a relative path: the first 8 bytes of its SHA-256, modulo n. */
static unsigned shard_of(const char *rel, unsigned n)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    uint64_t v = 0;

    if (EVP_Digest(rel, strlen(rel), md, &mdlen, EVP_sha256(), NULL) != 1) {
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        v = v << 8 | md[i];
    }
    return (unsigned)(v % n);
}

int audit_walk_init(audit_walk *w, const char *const *stores, size_t nstores, const char *bundles, FILE *list,
                    unsigned k, unsigned n)
{
    memset(w, 0, sizeof(*w));
    w->stores = stores;
    w->nstores = nstores;
    w->bundles = bundles;
    w->list = list;
    w->shard_k = k;
    w->shard_n = n;
    return 0;
}

void audit_walk_close(audit_walk *w)
{
    while (w->depth > 0) {
        closedir(w->dirs[--w->depth]);
    }
}

void audit_bundle_path(char *out, size_t size, const audit_walk *w, const audit_item *it)
{
    if (w->bundles != NULL) {
        snprintf(out, size, "%s/%s%s", w->bundles, it->rel, bundle_suffix);
    } else {
        snprintf(out, size, "%s%s", it->path, bundle_suffix);
    }
}

static int is_layout(const char *dir)
{
    char p[4200];
    struct stat st;

    snprintf(p, sizeof(p), "%s/oci-layout", dir);
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int push_dir(audit_walk *w, const char *path)
{
    if (w->depth == WALK_MAX_DEPTH) {
        return -1;
    }
    if ((w->dirs[w->depth] = opendir(path)) == NULL) {
        return -2;
    }
    snprintf(w->dirpath[w->depth], sizeof(w->dirpath[w->depth]), "%s", path);
    w->depth++;
    return 0;
}

/* The root of what is being walked now: a store, or the --bundles directory. */
static const char *root(const audit_walk *w)
{
    return w->in_bundles ? w->bundles : w->cur_root;
}

static void set_rel(audit_item *it, const char *root_dir, const char *path)
{
    size_t n = strlen(root_dir);

    snprintf(it->rel, sizeof(it->rel), "%s", strncmp(path, root_dir, n) == 0 && path[n] == '/' ? path + n + 1 : path);
}

/* An entry of the --bundles walk: an orphan when its artifact is not in the (first) store. */
static int bundles_entry(audit_walk *w, audit_item *it, const char *path)
{
    struct stat st;

    if (!ends_with(path, bundle_suffix)) {
        return 0;
    }
    set_rel(it, w->bundles, path);
    it->rel[strlen(it->rel) - strlen(bundle_suffix)] = '\0';
    snprintf(it->path, sizeof(it->path), "%s/%s", w->stores[0], it->rel);
    if (lstat(it->path, &st) == 0) {
        return 0;
    }
    snprintf(it->path, sizeof(it->path), "%s", path);
    it->kind = ITEM_ORPHAN;
    return 1;
}

/* One directory entry; 1 when it is an item to report. */
static int store_entry(audit_walk *w, audit_item *it, const char *path, const struct stat *st)
{
    if (S_ISLNK(st->st_mode)) {
        /* never followed: a link is not a stored artifact (its target, when inside the store, is audited) */
        return 0;
    }
    if (S_ISDIR(st->st_mode)) {
        if (is_layout(path)) {
            it->kind = ITEM_ARTIFACT; /* an OCI image layout: audited as an image */
            set_rel(it, root(w), path);
            snprintf(it->path, sizeof(it->path), "%s", path);
            return 1;
        }
        switch (push_dir(w, path)) {
        case 0: return 0;
        case -1: snprintf(it->why, sizeof(it->why), "deeper than %d directories", WALK_MAX_DEPTH); break;
        default: snprintf(it->why, sizeof(it->why), "directory cannot be read: %s", strerror(errno)); break;
        }
        it->kind = ITEM_UNREADABLE;
    } else if (!S_ISREG(st->st_mode)) {
        return 0; /* devices, FIFOs, sockets: not artifacts */
    } else if (ends_with(path, bundle_suffix)) {
        char art[4096];
        struct stat ast;

        if (w->bundles != NULL) {
            return 0; /* a bundle in the store while bundles live elsewhere: not an artifact either */
        }
        snprintf(art, sizeof(art), "%.*s", (int)(strlen(path) - strlen(bundle_suffix)), path);
        if (lstat(art, &ast) == 0) {
            return 0;
        }
        it->kind = ITEM_ORPHAN;
    } else {
        it->kind = ITEM_ARTIFACT;
    }
    set_rel(it, root(w), path);
    snprintf(it->path, sizeof(it->path), "%s", path);
    return 1;
}

static int next_in_dirs(audit_walk *w, audit_item *it)
{
    while (w->depth > 0) {
        struct dirent *de;
        struct stat st;
        char path[4096];

        errno = 0;
        /* one walker at a time (the caller's lock), and each DIR stream is this walk's own */
        /* cppcheck-suppress readdirCalled */
        if ((de = readdir(w->dirs[w->depth - 1])) == NULL) {
            closedir(w->dirs[--w->depth]);
            continue;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", w->dirpath[w->depth - 1], de->d_name);
        memset(it, 0, sizeof(*it));
        memset(&st, 0, sizeof(st));
        /* The directory entry's type is what lstat would say (links not followed): one stat fewer per file. */
        if (de->d_type == DT_REG || de->d_type == DT_DIR || de->d_type == DT_LNK) {
            st.st_mode = de->d_type == DT_REG ? S_IFREG : de->d_type == DT_DIR ? S_IFDIR : S_IFLNK;
        } else if (lstat(path, &st) != 0) {
            it->kind = ITEM_UNREADABLE;
            snprintf(it->why, sizeof(it->why), "%s", strerror(errno));
            snprintf(it->path, sizeof(it->path), "%s", path);
            set_rel(it, root(w), path);
            return 1;
        }
        if (w->in_bundles ? (S_ISDIR(st.st_mode) ? (push_dir(w, path), 0) : bundles_entry(w, it, path))
                          : store_entry(w, it, path, &st)) {
            return 1;
        }
    }
    return 0;
}

static int next_from_list(audit_walk *w, audit_item *it)
{
    char line[4096];

    while (fgets(line, sizeof(line), w->list) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0') {
            continue;
        }
        memset(it, 0, sizeof(*it));
        it->kind = ITEM_ARTIFACT;
        snprintf(it->path, sizeof(it->path), "%s", line);
        snprintf(it->rel, sizeof(it->rel), "%s", line);
        return 1;
    }
    return 0;
}

static int next_any(audit_walk *w, audit_item *it)
{
    if (w->list != NULL) {
        return next_from_list(w, it);
    }
    for (;;) {
        if (next_in_dirs(w, it)) {
            return 1;
        }
        if (w->in_bundles || w->store == w->nstores) {
            return 0;
        }
        { /* the next store */
            const char *s = w->stores[w->store];
            struct stat st;

            if (lstat(s, &st) != 0 || !S_ISDIR(st.st_mode)) {
                memset(it, 0, sizeof(*it));
                it->kind = ITEM_UNREADABLE;
                snprintf(it->path, sizeof(it->path), "%s", s);
                snprintf(it->rel, sizeof(it->rel), "%s", s);
                snprintf(it->why, sizeof(it->why), "not a directory");
                w->store++;
                return 1;
            }
            if (push_dir(w, s) != 0) {
                memset(it, 0, sizeof(*it));
                it->kind = ITEM_UNREADABLE;
                snprintf(it->path, sizeof(it->path), "%s", s);
                snprintf(it->rel, sizeof(it->rel), "%s", s);
                snprintf(it->why, sizeof(it->why), "cannot be read: %s", strerror(errno));
                w->store++;
                return 1;
            }
            w->cur_root = s;
            w->store++;
        }
    }
}

int audit_walk_next(audit_walk *w, audit_item *it)
{
    for (;;) {
        int got = next_any(w, it);

        if (!got && w->bundles != NULL && !w->in_bundles && w->list == NULL) {
            /* then the bundles directory, for bundles whose artifact is missing */
            w->in_bundles = 1;
            if (push_dir(w, w->bundles) != 0) {
                return 0;
            }
            continue;
        }
        if (!got) {
            return 0;
        }
        if (w->shard_n == 0 || shard_of(it->rel, w->shard_n) == w->shard_k) {
            return 1;
        }
    }
}
