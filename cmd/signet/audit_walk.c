/*
 * The audit's walk of a store: directories read one entry at a time with an explicit stack (memory does
 * not grow with the store), symbolic links never followed, an OCI image layout taken whole, bundles
 * (NAME.sigstore.json) paired with their artifacts and reported as orphans when the artifact is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/*
 * Directories are read in batches of at most WALK_BATCH_ENTRIES entries (WALK_BATCH_BYTES of names), each sorted
 * by name, so a directory of up to a million entries is walked in path order, whatever order readdir gives (a hash
 * order on most file systems). Path order puts the artifacts that share a bundle (a0 ... a9, signed together) next
 * to each other, so the statement their bundle signs is parsed once for them (SIGN_VERIFY_SHARE_STATEMENTS keeps
 * the last few), and one thread's JSON lines come out in path order. Memory: about 18 bytes an entry of the
 * directories being walked; a directory k levels down takes batches of at most 1/2^k of the top's, so however deep
 * the store, all batches together stay under 42 MiB (a million entries in one directory: 30 MiB peak RSS).
 */
#define WALK_BATCH_ENTRIES (1u << 20)
#define WALK_BATCH_BYTES (16u << 20)

static void pop_dir(audit_walk *w)
{
    walk_batch *b = &w->batch[--w->depth];

    closedir(w->dirs[w->depth]);
    free(b->names);
    free(b->order);
    memset(b, 0, sizeof(*b));
}

void audit_walk_close(audit_walk *w)
{
    while (w->depth > 0) {
        pop_dir(w);
    }
}

/* p grown to hold want items of size bytes (capacity doubled, never past max items); NULL when out of memory. */
static void *grown(void *p, size_t *cap, size_t want, size_t size, size_t max)
{
    size_t n = *cap > 0 ? *cap : 256;

    if (want <= *cap) {
        return p;
    }
    while (n < want) {
        n *= 2;
    }
    n = n < max ? n : max;
    if ((p = realloc(p, n * size)) != NULL) {
        *cap = n;
    }
    return p;
}

static int by_name(const void *a, const void *b, void *names)
{
    const char *n = names;

    return strcmp(n + *(const uint32_t *)a + 1, n + *(const uint32_t *)b + 1);
}

/* The next batch of the entries of d, at level depth of the walk, sorted; 0, or -1 when out of memory before any. */
static int batch_fill(walk_batch *b, DIR *d, size_t depth)
{
    unsigned shift = depth < 10 ? (unsigned)depth : 10;
    size_t max_n = WALK_BATCH_ENTRIES >> shift, max_bytes = WALK_BATCH_BYTES >> shift;

    b->used = b->n = b->next = 0;
    while (!b->at_end && b->n < max_n && b->used + NAME_MAX + 2 <= max_bytes) {
        struct dirent *de;
        char *names = grown(b->names, &b->cap, b->used + NAME_MAX + 2, 1, max_bytes);
        uint32_t *order = names != NULL ? grown(b->order, &b->ocap, b->n + 1, sizeof(*order), max_n) : NULL;
        size_t len;

        b->names = names != NULL ? names : b->names;
        b->order = order != NULL ? order : b->order;
        if (order == NULL) {
            break; /* out of memory: this batch is what was read (room is made before an entry is taken) */
        }
        /* one walker at a time (the caller's lock), and each DIR stream is this walk's own */
        /* cppcheck-suppress readdirCalled */
        if ((de = readdir(d)) == NULL) {
            b->at_end = 1;
        } else if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            len = strlen(de->d_name);
            b->order[b->n++] = (uint32_t)b->used;
            b->names[b->used] = (char)de->d_type;
            memcpy(b->names + b->used + 1, de->d_name, len + 1);
            b->used += len + 2;
        }
    }
    if (b->n == 0 && !b->at_end) {
        return -1;
    }
    qsort_r(b->order, b->n, sizeof(*b->order), by_name, b->names);
    return 0;
}

/* The d_type byte of the entry called name in the sorted batch b, or -1 when the batch has none. */
static int batch_type(const walk_batch *b, const char *name)
{
    size_t lo = 0, hi = b->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *rec = b->names + b->order[mid];
        int c = strcmp(name, rec + 1);

        if (c == 0) {
            return (unsigned char)rec[0];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
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
    memset(&w->batch[w->depth], 0, sizeof(w->batch[w->depth]));
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

/*
 * One directory entry (name, in batch b); 1 when it is an item to report. What the batch holds answers without a
 * system call: an artifact beside a bundle read in the same batch (an lstat otherwise), a bundle beside an
 * artifact (audit_one's access() otherwise, unless the bundle is not a plain regular file).
 */
static int store_entry(audit_walk *w, audit_item *it, const char *path, const struct stat *st, const walk_batch *b,
                       const char *name)
{
    char sib[NAME_MAX + sizeof(bundle_suffix)];

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
        snprintf(sib, sizeof(sib), "%.*s", (int)(strlen(name) - strlen(bundle_suffix)), name);
        if (batch_type(b, sib) >= 0) {
            return 0;
        }
        snprintf(art, sizeof(art), "%.*s", (int)(strlen(path) - strlen(bundle_suffix)), path);
        if (lstat(art, &ast) == 0) {
            return 0;
        }
        it->kind = ITEM_ORPHAN;
    } else {
        it->kind = ITEM_ARTIFACT;
        if (w->bundles == NULL && (size_t)snprintf(sib, sizeof(sib), "%s%s", name, bundle_suffix) < sizeof(sib)) {
            it->bundle_seen = batch_type(b, sib) == DT_REG;
        }
    }
    set_rel(it, root(w), path);
    snprintf(it->path, sizeof(it->path), "%s", path);
    return 1;
}

static int next_in_dirs(audit_walk *w, audit_item *it)
{
    while (w->depth > 0) {
        walk_batch *b = &w->batch[w->depth - 1];
        const char *rec;
        struct stat st;
        char path[4096];

        if (b->next == b->n && (b->at_end || batch_fill(b, w->dirs[w->depth - 1], w->depth - 1) != 0 || b->n == 0)) {
            int oom = !b->at_end;

            memset(it, 0, sizeof(*it));
            snprintf(it->path, sizeof(it->path), "%s", w->dirpath[w->depth - 1]);
            pop_dir(w);
            if (!oom) {
                continue;
            }
            it->kind = ITEM_UNREADABLE; /* the rest of the directory is not walked: said, not skipped */
            snprintf(it->why, sizeof(it->why), "out of memory reading the directory");
            set_rel(it, root(w), it->path);
            return 1;
        }
        rec = b->names + b->order[b->next++];
        snprintf(path, sizeof(path), "%s/%s", w->dirpath[w->depth - 1], rec + 1);
        memset(it, 0, sizeof(*it));
        memset(&st, 0, sizeof(st));
        /* The directory entry's type is what lstat would say (links not followed): one stat fewer per file. */
        if (rec[0] == DT_REG || rec[0] == DT_DIR || rec[0] == DT_LNK) {
            st.st_mode = rec[0] == DT_REG ? S_IFREG : rec[0] == DT_DIR ? S_IFDIR : S_IFLNK;
        } else if (lstat(path, &st) != 0) {
            it->kind = ITEM_UNREADABLE;
            snprintf(it->why, sizeof(it->why), "%s", strerror(errno));
            snprintf(it->path, sizeof(it->path), "%s", path);
            set_rel(it, root(w), path);
            return 1;
        }
        if (w->in_bundles ? (S_ISDIR(st.st_mode) ? (push_dir(w, path), 0) : bundles_entry(w, it, path))
                          : store_entry(w, it, path, &st, b, rec + 1)) {
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
