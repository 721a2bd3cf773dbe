/*
 * The signing log (include/sign/log.h, docs/log.md): bundles appended to a bare git repository, one commit
 * each, with an index by signer and by subject digest kept in the same tree so that lookups never walk
 * history, and a verifier that proves a log only grew since a checkpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "git.h"
#include "log_internal.h"
#include "sign/log.h"

int sign__log_open(git_repository **out, const char *dir)
{
    int r, rc;

    *out = NULL;
    if ((r = sign__git_init()) != 0) {
        return r;
    }
    rc = git_repository_open_bare(out, dir);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return sign__error(SIGN_ENOTFOUND, "%s is not a signing log (make one with signet log init %s)", dir, dir);
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, dir);
    }
    return 0;
}

int sign__log_head(git_commit **out, git_repository *repo)
{
    git_oid id;
    int rc;

    *out = NULL;
    rc = git_reference_name_to_id(&id, repo, LOG_BRANCH);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return 0; /* an empty log */
    }
    if (rc < 0 || (rc = git_commit_lookup(out, repo, &id)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "reading the log's head");
    }
    return 0;
}

/* SIGN_EEXISTS when dir already holds a git repository. */
static int refuse_existing(const char *dir)
{
    git_repository *repo = NULL;

    if (git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
        git_repository_free(repo);
        return sign__error(SIGN_EEXISTS, "%s is already a git repository", dir);
    }
    git_error_clear();
    return 0;
}

int sign_log_init(const char *dir)
{
    return sign_log_init_ext(dir, NULL);
}

/* The repository is made under the log's lock, so that two inits, or an init and a writer, do not interleave; what
   a killed init left (its HEAD or config lock) is cleared as the other writers' ref locks are. */
int sign_log_init_ext(const char *dir, const sign_log_options *opts)
{
    git_repository *repo = NULL;
    git_repository_init_options io;
    int r, rc, fd = -1;

    if ((r = sign__log_options_check(opts)) != 0 || (r = sign__git_init()) != 0 || (r = refuse_existing(dir)) != 0 ||
        (r = sign__log_mkpath(dir)) != 0 || (r = sign__log_lock(&fd, dir, 0, opts)) != 0) {
        return r;
    }
    if ((r = refuse_existing(dir)) != 0 || (r = sign__log_clear_stale(dir, LOG_WRITER_INIT, opts)) != 0) {
        goto out;
    }
    if ((rc = git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION)) < 0) {
        r = sign__git_error(rc, SIGN_ERROR, "git init options");
        goto out;
    }
    io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
    io.initial_head = "main";
    io.description = "signet signing log";
    if ((rc = git_repository_init_ext(&repo, dir, &io)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, dir);
        goto out;
    }
    git_repository_free(repo);
out:
    close(fd); /* releases the lock */
    return r;
}

/* ---- one entry: what a bundle is indexed under ------------------------------------------------------ */

void sign__log_entry_free(log_entry *e)
{
    free(e->digests);
    json_decref(e->summary);
    memset(e, 0, sizeof(*e));
}

static int hex_sha256(char out[SIGN_LOG_ID_SIZE], const void *data, size_t len)
{
    unsigned char md[SIGN_SHA256_LEN];
    size_t mdlen = 0;
    int r;

    if ((r = sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len)) != 0) {
        return r;
    }
    return sign_hex_encode(out, SIGN_LOG_ID_SIZE, md, mdlen);
}

/* The signer's key id: the certificate's key, else the signature's keyid, else the bundle's hint. */
static int bundle_key_id(char *out, size_t outsize, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    const unsigned char *der;
    const char *kid;
    size_t len = 0;
    int r;

    if ((der = sign_bundle_certificate(b, &len)) != NULL) {
        sign_x509_certs *certs = NULL;
        sign_key *key = NULL;

        if ((r = sign_x509_certs_parse(&certs, der, len, "the bundle's certificate")) == 0 &&
            (r = sign_x509_certs_key(&key, certs, 0)) == 0) {
            r = sign_key_id(out, outsize, key);
        }
        sign_key_free(key);
        sign_x509_certs_free(certs);
        return r;
    }
    kid = sign_envelope_signature_keyid(env, 0);
    if (kid == NULL || kid[0] == '\0') {
        kid = sign_bundle_key_hint(b);
    }
    if (kid == NULL || kid[0] == '\0') {
        return sign__error(SIGN_EPARSE, "the bundle names no signer key (no keyid, hint or certificate)");
    }
    snprintf(out, outsize, "%s", kid);
    return 0;
}

static int add_subjects(log_entry *e, const sign_bundle *b)
{
    const sign_envelope *env = sign_bundle_envelope(b);
    sign_statement *st = NULL;
    const unsigned char *payload;
    size_t len = 0, n;
    json_t *arr;
    int r;

    payload = sign_envelope_payload(env, &len);
    if ((r = sign_statement_parse(&st, payload, len, NULL)) != 0) {
        return sign__error_context(r, "the bundle's statement");
    }
    n = sign_statement_subject_count(st);
    if ((arr = json_array()) == NULL || json_object_set_new(e->summary, "subjects", arr) != 0 ||
        (e->digests = calloc(n > 0 ? n : 1, sizeof(*e->digests))) == NULL) {
        sign_statement_free(st);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const unsigned char *sha;
        char hex[SIGN_LOG_ID_SIZE];
        size_t k;

        if ((r = sign_statement_subject(&name, &sha, st, i)) != 0 ||
            (r = sign_hex_encode(hex, sizeof(hex), sha, SIGN_SHA256_LEN)) != 0) {
            break;
        }
        if (json_array_append_new(arr, json_pack("{s:o,s:s}", "name", sign__json_text(name), "sha256", hex)) != 0) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            break;
        }
        for (k = 0; k < e->ndigests && strcmp(e->digests[k], hex) != 0; k++) {
        }
        if (k == e->ndigests) {
            memcpy(e->digests[e->ndigests++], hex, sizeof(hex));
        }
    }
    sign_statement_free(st);
    return r;
}

int sign__log_entry_from_bundle(log_entry *e, const void *data, size_t len, const char *logged)
{
    sign_bundle *b = NULL;
    int r;

    memset(e, 0, sizeof(*e));
    if ((r = hex_sha256(e->id, data, len)) != 0) {
        return r;
    }
    if ((r = sign_bundle_parse(&b, data, len, NULL)) != 0) {
        return r;
    }
    if ((r = bundle_key_id(e->key_id, sizeof(e->key_id), b)) != 0 ||
        (r = hex_sha256(e->key_hash, e->key_id, strlen(e->key_id))) != 0) {
        goto out;
    }
    if ((e->summary = json_pack("{s:s,s:s,s:s}", "id", e->id, "logged", logged, "key_id", e->key_id)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    r = add_subjects(e, b);
out:
    sign_bundle_free(b);
    if (r != 0) {
        sign__log_entry_free(e);
    }
    return r;
}

/* The fan-out directories of a hex name (at least 4 digits): "ab" in format 1, "a/b/c/d" in format 2
   (docs/log.md). */
static void fanout(char *out, size_t outsize, int format, const char *hex)
{
    if (format >= 2) {
        snprintf(out, outsize, "%.1s/%.1s/%.1s/%.1s", hex, hex + 1, hex + 2, hex + 3);
    } else {
        snprintf(out, outsize, "%.2s", hex);
    }
}

void sign__log_entry_path(char *out, size_t outsize, int format, const char *id)
{
    char f[8];

    fanout(f, sizeof(f), format, id);
    snprintf(out, outsize, "entries/%s/%s.json", f, id);
}

void sign__log_key_path(char *out, size_t outsize, int format, const char *key_hash, const char *id)
{
    char f[8];

    fanout(f, sizeof(f), format, id);
    snprintf(out, outsize, "by-key/%s/%s/%s", key_hash, f, id);
}

void sign__log_digest_dir(char *out, size_t outsize, int format, const char *digest)
{
    char f[8];

    fanout(f, sizeof(f), format, digest);
    snprintf(out, outsize, "by-digest/%s/%s", f, digest);
}

/* Format 1 kept the entries naming one digest in one directory; format 2 fans them out too. */
void sign__log_digest_path(char *out, size_t outsize, int format, const char *digest, const char *id)
{
    char d[256], f[8];

    sign__log_digest_dir(d, sizeof(d), format, digest);
    if (format >= 2) {
        fanout(f, sizeof(f), format, id);
        snprintf(out, outsize, "%s/%s/%s", d, f, id);
    } else {
        snprintf(out, outsize, "%s/%s", d, id);
    }
}

/* ---- appending --------------------------------------------------------------------------------------- */

#define LOG_MAX_DEPTH 12

/* One blob to place in a tree: its path (a/b/c) and whether an existing blob there may be replaced. */
typedef struct put {
    char path[256];
    git_oid blob;
    int replace;
} put;

static int put_cmp(const void *a, const void *b)
{
    return strcmp(((const put *)a)->path, ((const put *)b)->path);
}

/* The first component of p->path + off, and its length; *leaf when it is the last one. */
static size_t component(const put *p, size_t off, int *leaf)
{
    size_t len = strcspn(p->path + off, "/");

    *leaf = p->path[off + len] == '\0';
    return len;
}

static int put_level(git_oid *out, git_repository *repo, const git_tree *base, put *p, size_t n, size_t off,
                     int depth);

/* Into bld: the puts p[0..n) that share their first component below off (a subtree, or one blob). */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by LOG_MAX_DEPTH */
static int put_group(git_treebuilder *bld, git_repository *repo, const git_tree *base, put *p, size_t n, size_t off,
                     int depth)
{
    char name[128];
    int leaf = 0, r = 0, rc;
    size_t len = component(&p[0], off, &leaf);
    const git_tree_entry *te;
    git_tree *sub = NULL;
    git_oid id;

    if (len == 0 || len >= sizeof(name) || (leaf && n > 1)) {
        return sign__error(SIGN_EINVAL, "log: bad path %s", p[0].path);
    }
    memcpy(name, p[0].path + off, len);
    name[len] = '\0';
    te = base != NULL ? git_tree_entry_byname(base, name) : NULL;
    if (leaf) {
        if (te != NULL && !p[0].replace) {
            return sign__error(SIGN_EEXISTS, "log: %s is already present", p[0].path);
        }
        git_oid_cpy(&id, &p[0].blob);
    } else {
        if (te != NULL && git_tree_entry_type(te) != GIT_OBJECT_TREE) {
            return sign__error(SIGN_EEXISTS, "log: %.*s is a file, not a directory", (int)(off + len), p[0].path);
        }
        if (te != NULL && (rc = git_tree_lookup(&sub, repo, git_tree_entry_id(te))) < 0) {
            return sign__git_error(rc, SIGN_EIO, "log: reading a tree");
        }
        r = put_level(&id, repo, sub, p, n, off + len + 1, depth + 1); /* NOLINT(misc-no-recursion) */
        git_tree_free(sub);
    }
    if (r == 0 &&
        (rc = git_treebuilder_insert(NULL, bld, name, &id, leaf ? GIT_FILEMODE_BLOB : GIT_FILEMODE_TREE)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: building a tree");
    }
    return r;
}

/*
 * A tree like base (NULL: empty) with the blobs p[0..n) (sorted by path, each path read from off) in place,
 * written to *out. Each tree along the paths is read and written once, bottom-up; nothing else is touched, so
 * an append costs the trees on its paths whatever the size of the log.
 */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by LOG_MAX_DEPTH */
static int put_level(git_oid *out, git_repository *repo, const git_tree *base, put *p, size_t n, size_t off,
                     int depth)
{
    git_treebuilder *bld = NULL;
    int r = 0, rc;

    if (depth >= LOG_MAX_DEPTH) {
        return sign__error(SIGN_EINVAL, "log: path %s is deeper than the layout", p[0].path);
    }
    if ((rc = git_treebuilder_new(&bld, repo, base)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: building a tree");
    }
    for (size_t i = 0, j; r == 0 && i < n; i = j) {
        int leaf = 0;
        size_t len = component(&p[i], off, &leaf);

        /* sorted paths sharing "name/" are next to each other */
        for (j = i + 1; j < n && strncmp(p[j].path + off, p[i].path + off, len) == 0 &&
                        (p[j].path[off + len] == '/' || p[j].path[off + len] == '\0');
             j++) {
        }
        r = put_group(bld, repo, base, &p[i], j - i, off, depth); /* NOLINT(misc-no-recursion) */
    }
    if (r == 0 && (rc = git_treebuilder_write(out, bld)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: writing a tree");
    }
    git_treebuilder_free(bld);
    return r;
}

/* A small number in a blob at the root of tree ("N\n"); *present 0 when there is none. */
static int root_number(uint64_t *out, int *present, git_repository *repo, const git_tree *tree, const char *name)
{
    const git_tree_entry *te = tree != NULL ? git_tree_entry_byname(tree, name) : NULL;
    git_blob *blob = NULL;
    char buf[32];
    char *end;
    size_t n;
    int rc;

    *out = 0;
    *present = te != NULL;
    if (te == NULL) {
        return 0;
    }
    if (git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
        return sign__error(SIGN_EPARSE, "log: %s is not a file", name);
    }
    if ((rc = git_blob_lookup(&blob, repo, git_tree_entry_id(te))) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading the count or format");
    }
    n = (size_t)git_blob_rawsize(blob);
    if (n == 0 || n >= sizeof(buf)) {
        n = 0;
    }
    memcpy(buf, git_blob_rawcontent(blob), n);
    buf[n] = '\0';
    git_blob_free(blob);
    *out = strtoull(buf, &end, 10);
    if (n == 0 || buf[0] < '0' || buf[0] > '9' || strcmp(end, "\n") != 0) {
        return sign__error(SIGN_EPARSE, "log: the %s is not a number followed by a newline", name);
    }
    return 0;
}

/* The count blob of a tree (0 when absent). */
int sign__log_tree_count(uint64_t *out, git_repository *repo, const git_tree *tree)
{
    int present = 0;

    return root_number(out, &present, repo, tree, "count");
}

int sign__log_tree_format(int *out, git_repository *repo, const git_tree *tree)
{
    uint64_t n = 0;
    int present = 0, r;

    *out = LOG_FORMAT;
    if (tree == NULL) {
        return 0; /* a new log */
    }
    if ((r = root_number(&n, &present, repo, tree, "format")) != 0) {
        return r;
    }
    if (!present) {
        *out = 1;
        return 0;
    }
    if (n < 2) {
        return sign__error(SIGN_EPARSE,
                           "log: format %llu is not a format a log records (format 1 has no format file)",
                           (unsigned long long)n);
    }
    if (n > LOG_FORMAT_MAX) {
        return sign__error(SIGN_EUNSUPPORTED, "log: format %llu, which this signet does not read (it reads 1 to %d)",
                           (unsigned long long)n, LOG_FORMAT_MAX);
    }
    *out = (int)n;
    return 0;
}

static int put_add(put *p, size_t *n, git_repository *repo, const char *path, const void *data, size_t len,
                   int replace)
{
    int rc = git_blob_create_from_buffer(&p[*n].blob, repo, data, len);

    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: writing a blob");
    }
    snprintf(p[*n].path, sizeof(p[*n].path), "%s", path);
    p[(*n)++].replace = replace;
    return 0;
}

/* The tree of head (NULL: a new log, which also gets its format) plus one entry, its index paths and the count
   + 1, in the log's format. */
static int entry_tree(git_oid *out, git_repository *repo, const git_tree *head, int format, const log_entry *e,
                      const void *data, size_t len, uint64_t count)
{
    put *p;
    size_t n = 0;
    char path[512], num[32], *summary = NULL;
    size_t slen = 0;
    int r;

    if ((p = calloc(e->ndigests + 4, sizeof(*p))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = sign__json_dump(&summary, &slen, e->summary, 0)) != 0) {
        free(p);
        return r;
    }
    sign__log_entry_path(path, sizeof(path), format, e->id);
    r = put_add(p, &n, repo, path, data, len, 0);
    sign__log_key_path(path, sizeof(path), format, e->key_hash, e->id);
    r = r != 0 ? r : put_add(p, &n, repo, path, summary, slen, 0);
    for (size_t i = 0; r == 0 && i < e->ndigests; i++) {
        sign__log_digest_path(path, sizeof(path), format, e->digests[i], e->id);
        r = put_add(p, &n, repo, path, summary, slen, 0);
    }
    snprintf(num, sizeof(num), "%llu\n", (unsigned long long)count + 1);
    r = r != 0 ? r : put_add(p, &n, repo, "count", num, strlen(num), 1);
    if (r == 0 && head == NULL && format >= 2) {
        snprintf(num, sizeof(num), "%d\n", format);
        r = put_add(p, &n, repo, "format", num, strlen(num), 0);
    }
    if (r == 0) {
        qsort(p, n, sizeof(*p), put_cmp);
        r = put_level(out, repo, head, p, n, 0, 0);
    }
    free(summary);
    free(p);
    return r;
}

/* ---- one pack per append or batch ----------------------------------------------------------------------- */

/*
 * While a log_pack is open, every object the repository writes goes to an in-memory store (a libgit2 mempack
 * in front of the object database) instead of one loose file each, through a thin backend of ours that notes
 * each new object's id. sign__log_pack_write then packs exactly those objects, with libgit2's pack builder,
 * into one pack with its index in objects/pack (libgit2's indexer: written under a temporary name, then
 * renamed, so a pack is visible whole or not at all) and reads the object database again, so that a ref moved
 * afterwards only ever names objects on disk. A process that dies before that leaves nothing, or an
 * unreferenced pack. (git_mempack_dump is not used: it walks every written commit's whole tree, so each batch's
 * pack held the log's earlier objects again and its cost grew with the log.)
 */
typedef struct rec_backend {
    git_odb_backend parent;
    git_odb_backend *mem; /* the mempack, owned here */
    git_odb *disk;        /* the repository's object database, read when mem lacks an object */
    git_oid *ids;         /* the objects written since the last pack */
    size_t n, cap;
} rec_backend;

static int rec_read(void **out, size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *id)
{
    rec_backend *rb = (rec_backend *)b;
    git_odb_object *obj = NULL;
    int rc;

    if ((rc = rb->mem->read(out, len, type, rb->mem, id)) != GIT_ENOTFOUND) {
        return rc;
    }
    git_error_clear();
    if ((rc = git_odb_read(&obj, rb->disk, id)) < 0) {
        return rc;
    }
    *len = git_odb_object_size(obj);
    *type = git_odb_object_type(obj);
    if ((*out = git_odb_backend_data_alloc(b, *len > 0 ? *len : 1)) == NULL) {
        git_odb_object_free(obj);
        return -1;
    }
    memcpy(*out, git_odb_object_data(obj), *len);
    git_odb_object_free(obj);
    return 0;
}

static int rec_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *id)
{
    rec_backend *rb = (rec_backend *)b;
    int rc = rb->mem->read_header(len, type, rb->mem, id);

    if (rc != GIT_ENOTFOUND) {
        return rc;
    }
    git_error_clear();
    return git_odb_read_header(len, type, rb->disk, id);
}

/* Whether the object is in memory or on disk. On disk without a refresh: libgit2 otherwise reads the pack
   directory again after every miss, which each new object is (six system calls an object). */
static int rec_exists(git_odb_backend *b, const git_oid *id)
{
    rec_backend *rb = (rec_backend *)b;

    return rb->mem->exists(rb->mem, id) || git_odb_exists_ext(rb->disk, id, GIT_ODB_LOOKUP_NO_REFRESH);
}

/* The object database writes an object only when no backend has it, so each id is noted once. */
static int rec_write(git_odb_backend *b, const git_oid *id, const void *data, size_t len, git_object_t type)
{
    rec_backend *rb = (rec_backend *)b;
    int rc;

    if (rb->n == rb->cap) {
        size_t cap = rb->cap > 0 ? 2 * rb->cap : 1024;
        git_oid *ids = realloc(rb->ids, cap * sizeof(*ids));

        if (ids == NULL) {
            git_error_set_oom();
            return -1;
        }
        rb->ids = ids;
        rb->cap = cap;
    }
    if ((rc = rb->mem->write(rb->mem, id, data, len, type)) == 0) {
        git_oid_cpy(&rb->ids[rb->n++], id);
    }
    return rc;
}

static void rec_free(git_odb_backend *b)
{
    rec_backend *rb = (rec_backend *)b;

    rb->mem->free(rb->mem);
    git_odb_free(rb->disk);
    free(rb->ids);
    free(rb);
}

/* The batch's object database, *out: rb alone, so that the repository's backends see no write (and no refresh);
 *owned once it holds rb. */
static int rec_odb(git_odb **out, int *owned, rec_backend *rb)
{
    int rc;

    *owned = 0;
    if ((rc = git_odb_init_backend(&rb->parent, GIT_ODB_BACKEND_VERSION)) < 0 || (rc = git_odb_new(out)) < 0) {
        return rc;
    }
    rb->parent.read = rec_read;
    rb->parent.read_header = rec_read_header;
    rb->parent.exists = rec_exists;
    rb->parent.write = rec_write;
    rb->parent.free = rec_free;
    if ((rc = git_odb_add_backend(*out, &rb->parent, 1)) == 0) {
        *owned = 1;
    }
    return rc;
}

int sign__log_pack_open(log_pack *lp, git_repository *repo)
{
    rec_backend *rb;
    int rc, owned = 0;

    memset(lp, 0, sizeof(*lp));
    if ((rb = calloc(1, sizeof(*rb))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((rc = git_mempack_new(&rb->mem)) < 0 || (rc = git_repository_odb(&rb->disk, repo)) < 0 ||
        (rc = git_repository_odb(&lp->odb, repo)) < 0 || (rc = rec_odb(&lp->batch, &owned, rb)) < 0 ||
        (rc = git_repository_set_odb(repo, lp->batch)) < 0) {
        if (!owned) {
            if (rb->mem != NULL) {
                rb->mem->free(rb->mem);
            }
            git_odb_free(rb->disk);
            free(rb);
        }
        git_odb_free(lp->batch);
        git_odb_free(lp->odb);
        memset(lp, 0, sizeof(*lp));
        return sign__git_error(rc, SIGN_EIO, "log: opening an in-memory object store");
    }
    lp->repo = repo;
    lp->rec = rb;
    return 0;
}

/* The objects noted since the last pack, as one pack in a buffer. */
static int pack_noted(git_buf *out, git_repository *repo, const rec_backend *rb)
{
    git_packbuilder *pb = NULL;
    int rc;

    if ((rc = git_packbuilder_new(&pb, repo)) < 0) {
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < rb->n; i++) {
        rc = git_packbuilder_insert(pb, &rb->ids[i], NULL);
    }
    if (rc == 0) {
        rc = git_packbuilder_write_buf(out, pb);
    }
    git_packbuilder_free(pb);
    return rc;
}

int sign__log_pack_write(log_pack *lp, git_repository *repo)
{
    git_buf buf = {NULL, 0, 0};
    git_odb_writepack *wp = NULL;
    git_indexer_progress st;
    int rc;

    memset(&st, 0, sizeof(st));
    if ((rc = pack_noted(&buf, repo, lp->rec)) < 0 || (rc = git_odb_write_pack(&wp, lp->odb, NULL, NULL)) < 0 ||
        (rc = wp->append(wp, buf.ptr, buf.size, &st)) < 0 || (rc = wp->commit(wp, &st)) < 0) {
        if (wp != NULL) {
            wp->free(wp);
        }
        git_buf_dispose(&buf);
        return sign__git_error(rc, SIGN_EIO, "log: writing the append's pack");
    }
    wp->free(wp);
    git_buf_dispose(&buf);
    /* from here on the objects are read from the pack on disk */
    if ((rc = git_odb_refresh(lp->odb)) < 0 || (rc = git_mempack_reset(lp->rec->mem)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading the new pack");
    }
    lp->rec->n = 0;
    return 0;
}

void sign__log_pack_close(log_pack *lp)
{
    if (lp->batch != NULL) {
        /* the repository's own object database again; whatever was not written is dropped with the batch's */
        (void)git_repository_set_odb(lp->repo, lp->odb);
        git_odb_free(lp->batch);
    }
    git_odb_free(lp->odb);
    memset(lp, 0, sizeof(*lp));
}

int sign__log_append(git_oid *out_commit, git_repository *repo, git_commit *parent, const void *data, size_t len,
                     log_entry *e, int move_branch)
{
    git_tree *head_tree = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_tree_entry *te = NULL;
    const git_commit *parents[1];
    git_oid tree_id, commit_id;
    char path[512], msg[1024], *summary = NULL;
    const char *first = NULL;
    uint64_t count = 0;
    int r, rc, format = LOG_FORMAT;

    if (parent != NULL && (rc = git_commit_tree(&head_tree, parent)) < 0) {
        return sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
    }
    if ((r = sign__log_tree_format(&format, repo, head_tree)) != 0) {
        git_tree_free(head_tree);
        return r; /* a log in a newer format is not appended to in an older one */
    }
    sign__log_entry_path(path, sizeof(path), format, e->id);
    if (head_tree != NULL && git_tree_entry_bypath(&te, head_tree, path) == 0) {
        git_tree_entry_free(te);
        git_tree_free(head_tree);
        return sign__error(SIGN_EEXISTS, "the bundle is already in the log (entry %s)", e->id);
    }
    git_error_clear();
    if ((r = sign__log_tree_count(&count, repo, head_tree)) != 0 ||
        (r = entry_tree(&tree_id, repo, head_tree, format, e, data, len, count)) != 0 ||
        (r = sign__json_dump(&summary, NULL, e->summary, 0)) != 0) {
        goto out;
    }
    first = json_string_value(json_object_get(json_array_get(json_object_get(e->summary, "subjects"), 0), "name"));
    snprintf(msg, sizeof(msg), "log: %s%s signed by %s\n\n%s\n", first != NULL ? first : "(no subject)",
             json_array_size(json_object_get(e->summary, "subjects")) > 1 ? " and others" : "", e->key_id,
             strlen(summary) < 700 ? summary : "{}");
    parents[0] = parent;
    if ((rc = git_tree_lookup(&tree, repo, &tree_id)) < 0 ||
        (rc = git_signature_now(&sig, "signet", "signet@localhost")) < 0 ||
        (rc = git_commit_create(&commit_id, repo, NULL, sig, sig, NULL, msg, tree, parent != NULL ? 1 : 0, parents)) <
            0) {
        r = sign__git_error(rc, SIGN_EIO, "log: writing the commit");
        goto out;
    }
    rc = !move_branch     ? 0
         : parent != NULL ? git_reference_create_matching(&ref, repo, LOG_BRANCH, &commit_id, 1,
                                                          git_commit_id(parent), "signet log add")
                          : git_reference_create(&ref, repo, LOG_BRANCH, &commit_id, 0, "signet log add");
    if (rc < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: moving the head (another writer without the lock?)");
        goto out;
    }
    git_oid_cpy(out_commit, &commit_id);
out:
    free(summary);
    git_reference_free(ref);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(head_tree);
    return r;
}

/* Move the branch from expect (NULL: a new log) to to. */
static int move_head(git_repository *repo, const git_oid *to, const git_commit *expect)
{
    git_reference *ref = NULL;
    int rc = expect != NULL ? git_reference_create_matching(&ref, repo, LOG_BRANCH, to, 1, git_commit_id(expect),
                                                            "signet log add")
                            : git_reference_create(&ref, repo, LOG_BRANCH, to, 0, "signet log add");

    git_reference_free(ref);
    return rc < 0 ? sign__git_error(rc, SIGN_EIO, "log: moving the head (another writer without the lock?)") : 0;
}

/* Append items[0..n) on top of *tip (NULL: an empty log), one commit each, stopping at the first failure;
 *tip the last commit, *appended how many were appended, *done how many were handled (appended or present). */
static int append_items(git_commit **tip, size_t *appended, size_t *done, git_repository *repo, sign_log_item *items,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        log_entry e;
        git_commit *next = NULL;
        git_oid commit;
        char now[32];
        int r, rc;

        if ((r = sign_format_time(now, sizeof(now), sign__now())) != 0 ||
            (r = sign__log_entry_from_bundle(&e, items[i].bundle, items[i].len, now)) != 0) {
            items[i].result = r;
            return r;
        }
        memcpy(items[i].id, e.id, SIGN_LOG_ID_SIZE);
        r = sign__log_append(&commit, repo, *tip, items[i].bundle, items[i].len, &e, 0);
        sign__log_entry_free(&e);
        items[i].result = r;
        if (r == SIGN_EEXISTS) {
            sign__error_clear(); /* reported per item */
            (*done)++;
            continue;
        }
        if (r != 0) {
            return r;
        }
        if ((rc = git_commit_lookup(&next, repo, &commit)) < 0) {
            return items[i].result = sign__git_error(rc, SIGN_EIO, "log: reading the new commit");
        }
        git_commit_free(*tip);
        *tip = next;
        (*appended)++;
        (*done)++;
    }
    return 0;
}

int sign_log_add_batch(size_t *out_done, const char *dir, sign_log_item *items, size_t n)
{
    return sign_log_add_batch_ext(out_done, dir, items, n, NULL);
}

int sign_log_add_batch_ext(size_t *out_done, const char *dir, sign_log_item *items, size_t n,
                           const sign_log_options *opts)
{
    git_repository *repo = NULL;
    git_commit *head = NULL, *tip = NULL;
    log_pack lp = {NULL, NULL, NULL, NULL};
    size_t appended = 0, done = 0;
    int r, w, fd = -1;

    if (out_done != NULL) {
        *out_done = 0;
    }
    if (items == NULL && n > 0) {
        return sign__error(SIGN_EINVAL, "log: no items");
    }
    if ((r = sign__log_options_check(opts)) != 0) {
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].id[0] = '\0';
        items[i].result = SIGN_LOG_NOT_REACHED;
    }
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_lock(&fd, dir, LOG_WRITER_APPEND, opts)) != 0 ||
        (r = sign__log_head(&head, repo)) != 0 || (n > 1 && (r = sign__log_pack_open(&lp, repo)) != 0)) {
        goto out;
    }
    if (head != NULL && (r = git_commit_dup(&tip, head)) < 0) {
        r = sign__git_error(r, SIGN_EIO, "log: reading the head");
        goto out;
    }
    r = append_items(&tip, &appended, &done, repo, items, n);
    if (appended > 0) {
        /* what was appended before a failure is kept (each entry stands alone), as one pack, then the head.
           A single append writes loose objects: a pack per append would leave one pack per entry, and every
           lookup in a later process searches all of them (docs/log.md, "Scale and upkeep"). */
        if ((w = lp.odb != NULL ? sign__log_pack_write(&lp, repo) : 0) == 0) {
            w = move_head(repo, git_commit_id(tip), head);
        }
        if (w != 0) {
            for (size_t i = 0; i < n; i++) {
                items[i].result = i < done && items[i].result == 0 ? w : items[i].result;
            }
            done = 0;
            r = w;
        }
    }
out:
    sign__log_pack_close(&lp);
    if (fd >= 0) {
        close(fd); /* releases the lock */
    }
    git_commit_free(tip);
    git_commit_free(head);
    git_repository_free(repo);
    if (out_done != NULL) {
        *out_done = done;
    }
    return r;
}

int sign_log_add(char *out_id, const char *dir, const void *bundle, size_t len)
{
    sign_log_item it;
    int r;

    memset(&it, 0, sizeof(it));
    it.bundle = bundle;
    it.len = len;
    r = sign_log_add_batch(NULL, dir, &it, 1);
    if (r == 0 && it.result == SIGN_EEXISTS) {
        r = sign__error(SIGN_EEXISTS, "the bundle is already in the log (entry %s)", it.id);
    }
    if (out_id != NULL) {
        memcpy(out_id, it.id, SIGN_LOG_ID_SIZE);
    }
    return r;
}

int sign_log_checkpoint(char *out_commit, uint64_t *out_count, const char *dir)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    git_tree *tree = NULL;
    int r, rc;

    out_commit[0] = '\0';
    *out_count = 0;
    if ((r = sign__log_open(&repo, dir)) != 0 || (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    if (head == NULL) {
        r = sign__error(SIGN_ENOTFOUND, "the log %s has no entries yet", dir);
        goto out;
    }
    if ((rc = git_commit_tree(&tree, head)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
        goto out;
    }
    sign__git_oid_hex(out_commit, git_commit_id(head));
    r = sign__log_tree_count(out_count, repo, tree);
out:
    git_tree_free(tree);
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}

int sign_log_contains(const char *dir, const void *bundle, size_t len)
{
    git_repository *repo = NULL;
    git_commit *head = NULL;
    git_tree *tree = NULL;
    git_tree_entry *te = NULL;
    char id[SIGN_LOG_ID_SIZE], path[512];
    int r, rc, format = LOG_FORMAT;

    if ((r = hex_sha256(id, bundle, len)) != 0 || (r = sign__log_open(&repo, dir)) != 0 ||
        (r = sign__log_head(&head, repo)) != 0) {
        goto out;
    }
    if (head != NULL && (rc = git_commit_tree(&tree, head)) < 0) {
        r = sign__git_error(rc, SIGN_EIO, "log: reading the head's tree");
        goto out;
    }
    if (tree != NULL && (r = sign__log_tree_format(&format, repo, tree)) != 0) {
        goto out;
    }
    r = sign__error(SIGN_ENOTFOUND, "the bundle (entry %s) is not in the log %s", id, dir);
    if (head == NULL) {
        goto out;
    }
    sign__log_entry_path(path, sizeof(path), format, id);
    if (git_tree_entry_bypath(&te, tree, path) == 0) {
        r = 0;
    }
    git_error_clear();
out:
    git_tree_entry_free(te);
    git_tree_free(tree);
    git_commit_free(head);
    git_repository_free(repo);
    return r;
}
