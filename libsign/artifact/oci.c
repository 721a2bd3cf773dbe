/*
 * Container images: an OCI image layout directory (oci-layout, index.json,
 * blobs/<alg>/<hex>) or a docker save archive (a tar with manifest.json,
 * the config and the layer tars, or an OCI layout inside the tar, as newer
 * docker writes), read by content.
 *
 * Every blob is read once: small JSON blobs (index, manifests, config) into
 * memory, bounded, hashed and parsed strictly; layer blobs by the layer
 * walker (tar.c), in parallel on the thread pool. Integrity failures (a missing blob,
 * bytes that do not hash to their digest, a diffID that is not the config's,
 * a media type that is not an image type) are collected as problems with a
 * verify reason code; signing refuses them, verification reports them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "artifact_int.h"
#include "pool.h"
#include "regclient.h"

#define MAX_LAYERS 1000
#define MAX_IMAGES 256

static const char *const manifest_types[] = {"application/vnd.oci.image.manifest.v1+json",
                                             "application/vnd.docker.distribution.manifest.v2+json", NULL};
static const char *const index_types[] = {"application/vnd.oci.image.index.v1+json",
                                          "application/vnd.docker.distribution.manifest.list.v2+json", NULL};
static const char *const config_types[] = {"application/vnd.oci.image.config.v1+json",
                                           "application/vnd.docker.container.image.v1+json", NULL};
static const char *const layer_types[] = {"application/vnd.oci.image.layer.v1.tar",
                                          "application/vnd.oci.image.layer.v1.tar+gzip",
                                          "application/vnd.oci.image.layer.v1.tar+zstd",
                                          "application/vnd.oci.image.layer.nondistributable.v1.tar",
                                          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                                          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                                          "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                                          NULL};

static int in_list(const char *s, const char *const *l)
{
    for (size_t i = 0; s != NULL && l[i] != NULL; i++) {
        if (strcmp(s, l[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

void sign__oci_free(sign__oci *o)
{
    if (o == NULL) {
        return;
    }
    for (size_t i = 0; i < o->n_images; i++) {
        sign__image *im = &o->images[i];

        for (size_t j = 0; j < im->n_layers; j++) {
            sign__layer_clear(&im->layers[j]);
        }
        free(im->layers);
        free(im->name);
        free(im->ref);
        free(im->platform);
        free(im->media_type);
    }
    free(o->images);
    for (size_t i = 0; i < o->n_problems; i++) {
        free(o->problems[i].message);
    }
    free(o->problems);
    free(o);
}

static int problem(sign__oci *o, const char *reason, const char *fmt, ...) SIGN_PRINTF(3, 4);

static int problem(sign__oci *o, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    sign__problem *np;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < o->n_problems; i++) {
        if (strcmp(o->problems[i].message, msg) == 0) {
            return 0;
        }
    }
    if (o->n_problems >= 1000) {
        return 0;
    }
    if ((np = realloc(o->problems, (o->n_problems + 1) * sizeof(*np))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    o->problems = np;
    np[o->n_problems].reason = reason;
    if ((np[o->n_problems].message = sign__strdup(msg)) == NULL) {
        return sign__oom();
    }
    o->n_problems++;
    return 0;
}

/* ---- JSON readers ------------------------------------------------------------ */

static int parse_doc(json_t **out, const void *data, size_t len, const char *what)
{
    sign_limits lim = SIGN_LIMITS_INIT;

    lim.json_max_bytes = SIGN__OCI_JSON_MAX;
    return sign__json_parse(out, data, len, &lim, what);
}

/* A descriptor: mediaType and digest strings, size non-negative integer. */
static int check_descriptor(const json_t *d, const char *what)
{
    const char *s = NULL;
    const json_t *sz = json_object_get(d, "size");
    int r;

    if (!json_is_object(d)) {
        return sign__error(SIGN_EPARSE, "%s: a descriptor must be an object", what);
    }
    if ((r = sign__json_get_string(&s, d, "mediaType", 1, what)) != 0 ||
        (r = sign__json_get_string(&s, d, "digest", 1, what)) != 0) {
        return r;
    }
    if (!json_is_integer(sz) || json_integer_value(sz) < 0) {
        return sign__error(SIGN_EPARSE, "%s: descriptor \"size\" must be a non-negative integer", what);
    }
    if (json_object_get(d, "annotations") != NULL && !json_is_object(json_object_get(d, "annotations"))) {
        return sign__error(SIGN_EPARSE, "%s: \"annotations\" must be an object", what);
    }
    if (json_object_get(d, "platform") != NULL && !json_is_object(json_object_get(d, "platform"))) {
        return sign__error(SIGN_EPARSE, "%s: \"platform\" must be an object", what);
    }
    return 0;
}

static int check_schema(const json_t *j, const char *what)
{
    const json_t *v = json_object_get(j, "schemaVersion");

    if (!json_is_object(j)) {
        return sign__error(SIGN_EPARSE, "%s: must be a JSON object", what);
    }
    if (!json_is_integer(v) || json_integer_value(v) != 2) {
        return sign__error(SIGN_EPARSE, "%s: \"schemaVersion\" must be 2", what);
    }
    if (json_object_get(j, "mediaType") != NULL && !json_is_string(json_object_get(j, "mediaType"))) {
        return sign__error(SIGN_EPARSE, "%s: \"mediaType\" must be a string", what);
    }
    return 0;
}

/* j's member key ("manifests" or "layers"): an array of at most max descriptors, each well-formed. */
static int check_descriptors(json_t *j, const char *key, int max, const char *what)
{
    json_t *a = json_object_get(j, key), *d;
    size_t i;
    int r;

    if (!json_is_array(a)) {
        return sign__error(SIGN_EPARSE, "%s: \"%s\" must be an array", what, key);
    }
    if (json_array_size(a) > (size_t)max) {
        return sign__error(SIGN_ELIMIT, "%s: more than %d %s", what, max, key);
    }
    json_array_foreach(a, i, d)
    {
        if ((r = check_descriptor(d, what)) != 0) {
            return r;
        }
    }
    return 0;
}

int sign__oci_parse_index(json_t **out, const void *data, size_t len, const char *what)
{
    json_t *j = NULL;
    int r;

    *out = NULL;
    if ((r = parse_doc(&j, data, len, what)) != 0 || (r = check_schema(j, what)) != 0) {
        goto fail;
    }
    if ((r = check_descriptors(j, "manifests", MAX_IMAGES, what)) != 0) {
        goto fail;
    }
    *out = j;
    return 0;
fail:
    json_decref(j);
    return r;
}

int sign__oci_parse_manifest(json_t **out, const void *data, size_t len, const char *what)
{
    json_t *j = NULL;
    int r;

    *out = NULL;
    if ((r = parse_doc(&j, data, len, what)) != 0 || (r = check_schema(j, what)) != 0) {
        goto fail;
    }
    if ((r = check_descriptor(json_object_get(j, "config"), what)) != 0) {
        goto fail;
    }
    if ((r = check_descriptors(j, "layers", MAX_LAYERS, what)) != 0) {
        goto fail;
    }
    *out = j;
    return 0;
fail:
    json_decref(j);
    return r;
}

int sign__oci_parse_config(json_t **out, const void *data, size_t len, const char *what)
{
    json_t *j = NULL, *rootfs, *ids, *v;
    size_t i;
    int r;

    *out = NULL;
    if ((r = parse_doc(&j, data, len, what)) != 0) {
        goto fail;
    }
    rootfs = json_object_get(j, "rootfs");
    ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_object(j) || !json_is_object(rootfs) || !json_is_array(ids)) {
        r = sign__error(SIGN_EPARSE, "%s: needs rootfs.diff_ids (an array)", what);
        goto fail;
    }
    if (json_array_size(ids) > MAX_LAYERS) {
        r = sign__error(SIGN_ELIMIT, "%s: more than %d diff_ids", what, MAX_LAYERS);
        goto fail;
    }
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v)) {
            r = sign__error(SIGN_EPARSE, "%s: rootfs.diff_ids[%zu] must be a string", what, i);
            goto fail;
        }
    }
    *out = j;
    return 0;
fail:
    json_decref(j);
    return r;
}

/* "sha256:<64 hex>" -> bytes. */
static int parse_digest(unsigned char *out, const char *s)
{
    if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 64) {
        return -1;
    }
    for (const char *q = s + 7; *q != '\0'; q++) {
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))) {
            return -1;
        }
    }
    return sign_hex_decode(out, SIGN_SHA256_LEN, s + 7) == 0 ? 0 : -1;
}

/* ---- blob stores ----------------------------------------------------------------- */

typedef struct store {
    int dirfd;           /* layout directory, or -1 */
    int fd;              /* the tar, or -1 */
    sign__tar_member *m; /* members of the tar */
    size_t nm;
    const char *path;
    sign__oci *o;
    sign__registry *reg;          /* blobs and manifests come from a registry, or NULL */
    const sign__entry_hook *hook; /* deploy: layers walked in order on this thread, or NULL */
    int unread;                   /* SIGN__OCI_LAYERS_UNREAD: layers described, not walked */
} store;

typedef struct blob {
    int fd, owned;
    uint64_t off, size;
} blob;

static void blob_close(blob *b)
{
    if (b->owned && b->fd >= 0) {
        close(b->fd);
    }
    b->fd = -1;
    b->owned = 0;
}

/* Open a file of the layout by relative path, following no symlink. 1: missing; 2: not a regular file. */
static int open_layout(int *out, int dirfd, const char *rel)
{
    char buf[512];
    int cur = dirfd, fd = -1;
    char *p, *slash;
    struct stat st;

    *out = -1;
    if (strlen(rel) >= sizeof(buf)) {
        return 1;
    }
    memcpy(buf, rel, strlen(rel) + 1);
    p = buf;
    while ((slash = strchr(p, '/')) != NULL) {
        int nfd;

        *slash = '\0';
        nfd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cur != dirfd) {
            close(cur);
        }
        if (nfd < 0) {
            return errno == ENOENT ? 1 : 2;
        }
        cur = nfd;
        p = slash + 1;
    }
    fd = openat(cur, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (cur != dirfd) {
        close(cur);
    }
    if (fd < 0) {
        return errno == ENOENT ? 1 : 2;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 2;
    }
    *out = fd;
    return 0;
}

/* Find a member (or layout file) by path. 0 ok, 1 missing, 2 not a regular file. */
static int store_open(blob *b, const store *s, const char *rel)
{
    memset(b, 0, sizeof(*b));
    b->fd = -1;
    if (s->dirfd >= 0) {
        struct stat st;
        int r = open_layout(&b->fd, s->dirfd, rel);

        if (r != 0) {
            return r;
        }
        b->owned = 1;
        if (fstat(b->fd, &st) != 0) {
            blob_close(b);
            return 2;
        }
        b->size = (uint64_t)st.st_size;
        return 0;
    }
    {
        int found = 0, kind = 1;

        /* No allocation here: a copy that could not be made was once reported as a missing blob. */
        for (size_t i = 0; i < s->nm; i++) {
            if (strcmp(s->m[i].name, rel) == 0) {
                found++;
                if (s->m[i].type == '0' || s->m[i].type == '7') {
                    b->fd = s->fd;
                    b->off = s->m[i].off;
                    b->size = s->m[i].size;
                    kind = 0;
                } else {
                    kind = 2;
                }
            }
        }
        if (found > 1) {
            return 3; /* duplicate member */
        }
        return kind;
    }
}

/* Path of a blob by digest string. */
static int blob_rel(char *buf, size_t size, const char *digest)
{
    unsigned char d[SIGN_SHA256_LEN];

    if (parse_digest(d, digest) != 0) {
        return -1;
    }
    snprintf(buf, size, "blobs/sha256/%s", digest + 7);
    return 0;
}

static int pread_all(int fd, unsigned char *buf, size_t n, uint64_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/*
 * read_small from a registry: manifests and indexes by digest from
 * /manifests/, other blobs from /blobs/; the bytes are hashed here, never
 * trusted to be what was asked for.
 */
static int read_remote(unsigned char **data, size_t *len, unsigned char *sha, store *s, const char *digest,
                       const unsigned char *want, int64_t want_size, const char *what)
{
    unsigned char *buf = NULL;
    char *mt = NULL;
    size_t n = 0, mdlen = 0;
    int r;

    if (digest == NULL) {
        return sign__error(SIGN_EINVAL, "%s: the %s has no digest", s->path, what);
    }
    if (strcmp(what, "manifest") == 0 || strcmp(what, "index") == 0) {
        r = sign__registry_get_manifest(s->reg, digest, &buf, &n, &mt);
        free(mt);
    } else {
        r = sign__registry_get_blob(s->reg, digest, SIGN__OCI_JSON_MAX, &buf, &n);
    }
    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        return problem(s->o, "BLOB_MISSING", "%s: the %s %s is missing from the registry; the image is incomplete",
                       s->path, what, digest);
    }
    if (r != 0) {
        return r;
    }
    if ((r = sign_digest_buffer(sha, SIGN_SHA256_LEN, &mdlen, SIGN_DIGEST_SHA256, buf, n)) != 0) {
        free(buf);
        return r;
    }
    if (CRYPTO_memcmp(sha, want, SIGN_SHA256_LEN) != 0) {
        free(buf);
        return problem(s->o, "BLOB_DIGEST_MISMATCH",
                       "%s: the registry's %s %s does not hash to its digest: it was changed", s->path, what, digest);
    }
    if (want_size >= 0 && (uint64_t)want_size != n) {
        free(buf);
        return problem(s->o, "BLOB_SIZE_MISMATCH", "%s: the %s %s is %zu bytes, its descriptor says %lld", s->path,
                       what, digest, n, (long long)want_size);
    }
    *data = buf;
    *len = n;
    return 0;
}

/*
 * Read a small blob by its descriptor digest (or by rel when digest is NULL),
 * check its bytes hash to the digest and its size to want_size (>= 0).
 * *data is NULL (and a problem recorded) when it cannot be used.
 */
static int read_small(unsigned char **data, size_t *len, unsigned char *sha, store *s, const char *digest,
                      const char *rel, int64_t want_size, const char *what)
{
    char relbuf[128];
    unsigned char want[SIGN_SHA256_LEN], got[SIGN_SHA256_LEN];
    unsigned char *buf = NULL;
    size_t mdlen = 0;
    blob b;
    int r;

    *data = NULL;
    *len = 0;
    if (digest != NULL) {
        if (blob_rel(relbuf, sizeof(relbuf), digest) != 0 || parse_digest(want, digest) != 0) {
            return problem(s->o, "IMAGE_MALFORMED",
                           "%s: %s digest \"%.80s\" is not sha256:<64 hex>; only SHA-256 digests are accepted",
                           s->path, what, digest);
        }
        rel = relbuf;
    }
    if (s->reg != NULL) {
        return read_remote(data, len, sha, s, digest, want, want_size, what);
    }
    r = store_open(&b, s, rel);
    if (r == 1) {
        return problem(s->o, "BLOB_MISSING", "%s: the %s blob %s is missing; the image is incomplete", s->path, what,
                       rel);
    }
    if (r != 0) {
        return problem(s->o, "BLOB_NOT_REGULAR",
                       "%s: the %s blob %s is %s, not a regular file inside the image; refusing to follow it",
                       s->path, what, rel, r == 3 ? "stored twice" : "a symlink or special file");
    }
    if (b.size > SIGN__OCI_JSON_MAX) {
        blob_close(&b);
        return problem(s->o, "IMAGE_MALFORMED", "%s: the %s blob %s is %llu bytes, over the limit of %u", s->path,
                       what, rel, (unsigned long long)b.size, SIGN__OCI_JSON_MAX);
    }
    if ((buf = malloc((size_t)b.size + 1)) == NULL) {
        blob_close(&b);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (pread_all(b.fd, buf, (size_t)b.size, b.off) != 0) {
        blob_close(&b);
        free(buf);
        return sign__error(SIGN_EIO, "%s: cannot read the %s blob %s", s->path, what, rel);
    }
    blob_close(&b);
    buf[b.size] = '\0';
    if ((r = sign_digest_buffer(got, sizeof(got), &mdlen, SIGN_DIGEST_SHA256, buf, (size_t)b.size)) != 0) {
        free(buf);
        return r;
    }
    if (digest != NULL && CRYPTO_memcmp(got, want, SIGN_SHA256_LEN) != 0) {
        free(buf);
        return problem(s->o, "BLOB_DIGEST_MISMATCH",
                       "%s: the %s blob %s does not hash to its digest: it was changed; rebuild the image", s->path,
                       what, rel);
    }
    if (want_size >= 0 && (uint64_t)want_size != b.size) {
        free(buf);
        return problem(s->o, "BLOB_SIZE_MISMATCH", "%s: the %s blob %s is %llu bytes, its descriptor says %lld",
                       s->path, what, rel, (unsigned long long)b.size, (long long)want_size);
    }
    memcpy(sha, got, SIGN_SHA256_LEN);
    *data = buf;
    *len = (size_t)b.size;
    return 0;
}

/* ---- parallel layer walks ----------------------------------------------------------- */

typedef struct ljob {
    sign__layer *l;
    blob b;
    char what[160];
    int rc;
    char msg[512];
    sign__registry *reg; /* a registry layer: streamed from there (b.size from the descriptor) */
    char digest[72];
    size_t img, idx; /* image and layer index */
} ljob;

typedef struct lpool {
    ljob *jobs;
    const sign_limits *lim;
    sign__progress *pr;
    size_t *order; /* item i walks jobs[order[i]] (largest blob first), or NULL: jobs[i] */
} lpool;

/* A registry download feeding a layer walk through a socket pair. */
typedef struct feeder {
    ljob *j;
    int fd;
    int rc;
    char msg[512];
} feeder;

static int feed_body(void *arg, const unsigned char *data, size_t len)
{
    feeder *fe = arg;

    while (len > 0) {
        ssize_t n = send(fe->fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return sign__error(SIGN_EIO, "the layer walk stopped reading");
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *feed_thread(void *arg)
{
    feeder *fe = arg;

    fe->rc = sign__registry_stream_blob(fe->j->reg, fe->j->digest, fe->j->b.size, feed_body, fe);
    if (fe->rc != 0) {
        snprintf(fe->msg, sizeof(fe->msg), "%s", sign_error_last());
    }
    shutdown(fe->fd, SHUT_WR);
    return NULL;
}

/*
 * Walk a registry layer as it downloads: a thread streams the blob into one
 * end of a socket pair, the walker reads the other. Nothing is stored; the
 * socket buffers bound the memory. A download that fails before the walk
 * has its bytes is the job's error; one that fails after (a blob longer than
 * its descriptor) is caught by the digest check.
 */
static int walk_remote(ljob *j, const sign_limits *lim, sign__progress *pr)
{
    int sv[2];
    pthread_t t;
    feeder fe;
    int r;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return sign__error(SIGN_EIO, "%s: socketpair: %s", j->what, strerror(errno));
    }
    memset(&fe, 0, sizeof(fe));
    fe.j = j;
    fe.fd = sv[1];
    if (pthread_create(&t, NULL, feed_thread, &fe) != 0) {
        close(sv[0]);
        close(sv[1]);
        return sign__error(SIGN_ENOMEM, "%s: cannot start a download thread", j->what);
    }
    r = sign__layer_walk_stream(j->l, sv[0], j->b.size, j->what, lim, 1, pr);
    close(sv[0]); /* a feeder still sending gets EPIPE and stops */
    pthread_join(t, NULL);
    close(sv[1]);
    if (fe.rc != 0 && (r != 0 || j->l->size != j->b.size)) {
        return sign__error(fe.rc, "%s: %s", j->what, fe.msg);
    }
    return r;
}

static void ljob_one(void *arg, size_t i)
{
    lpool *p = arg;
    ljob *j = &p->jobs[p->order != NULL ? p->order[i] : i];

    if (j->reg != NULL) {
        j->rc = walk_remote(j, p->lim, p->pr);
    } else if (j->b.fd >= 0) {
        j->rc = sign__layer_walk(j->l, j->b.fd, j->b.off, j->b.size, j->what, p->lim, 1, p->pr);
    } else {
        return;
    }
    if (j->rc != 0) {
        snprintf(j->msg, sizeof(j->msg), "%s", sign_error_last());
    }
}

typedef struct lsize {
    uint64_t size;
    size_t i;
} lsize;

static int cmp_lsize(const void *a, const void *b)
{
    const lsize *x = a, *y = b;

    if (x->size != y->size) {
        return x->size > y->size ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The largest blobs first, so that a big layer listed last does not run alone at the end while the other
 * threads have nothing left. NULL (layer order) when there is nothing to reorder or no memory for it.
 */
static size_t *walk_order(const ljob *jobs, size_t n)
{
    lsize *v;
    size_t *order;

    if (n < 3 || (v = calloc(n, sizeof(*v))) == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].size = jobs[i].b.size;
        v[i].i = i;
    }
    qsort(v, n, sizeof(*v), cmp_lsize);
    if ((order = calloc(n, sizeof(*order))) != NULL) {
        for (size_t i = 0; i < n; i++) {
            order[i] = v[i].i;
        }
    }
    free(v);
    return order;
}

/* Walk the layers on the thread pool (util/pool.h); the first failure in layer order is the error. */
static int run_jobs(ljob *jobs, size_t n, const sign_limits *lim, sign__progress *pr)
{
    lpool p;

    p.jobs = jobs;
    p.lim = lim;
    p.pr = pr;
    for (size_t i = 0; pr != NULL && i < n; i++) {
        pr->total += jobs[i].b.fd >= 0 || jobs[i].reg != NULL ? jobs[i].b.size : 0;
    }
    p.order = walk_order(jobs, n);
    sign__pool_for(n, ljob_one, &p);
    free(p.order);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].rc != 0) {
            return sign__error(jobs[i].rc, "%s", jobs[i].msg);
        }
    }
    return 0;
}

/* Deploy: the layers walked in order on this thread, hook->layer told of each; the first failure stops. */
static int run_hook_jobs(ljob *jobs, size_t n, const sign_limits *lim, const sign__entry_hook *hook)
{
    size_t cur = SIZE_MAX;
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        ljob *j = &jobs[i];

        if (cur != SIZE_MAX && cur != j->img && hook->layer != NULL) {
            r = hook->layer(hook->ctx, cur, SIZE_MAX);
        }
        cur = j->img;
        if (r == 0 && hook->layer != NULL) {
            r = hook->layer(hook->ctx, j->img, j->idx);
        }
        if (r == 0 && j->reg != NULL) {
            r = sign__error(SIGN_EUNSUPPORTED, "%s: a registry layer cannot be extracted here", j->what);
        } else if (r == 0) {
            r = sign__layer_walk_hook(j->l, j->b.fd, j->b.off, j->b.size, j->what, lim, hook);
        }
    }
    if (r == 0 && cur != SIZE_MAX && hook->layer != NULL) {
        r = hook->layer(hook->ctx, cur, SIZE_MAX);
    }
    return r;
}

/* ---- images ------------------------------------------------------------------------ */

static const char *layer_compression(const char *mt)
{
    size_t n = strlen(mt);

    if (n > 5 && strcmp(mt + n - 5, "+gzip") == 0) {
        return "gzip";
    }
    if (n > 5 && strcmp(mt + n - 5, "+zstd") == 0) {
        return "zstd";
    }
    if (n > 7 && strcmp(mt + n - 7, ".tar.gzip") == 0) {
        return "gzip";
    }
    return "none";
}

/*
 * Fill im's config and layers from a manifest document (OCI/docker v2) or,
 * for a legacy docker save archive, from config_rel and layer_rels.
 */
typedef struct imgsrc {
    const json_t *manifest;   /* or NULL */
    const char *config_rel;   /* docker legacy */
    const json_t *layer_rels; /* docker legacy: array of member paths */
} imgsrc;

/* The config blob of an image: read, hashed, parsed (*config NULL when unusable, a problem says why). */
static int fill_config(sign__image *im, store *s, const imgsrc *src, json_t **config)
{
    sign__oci *o = s->o;
    unsigned char *cdata = NULL;
    size_t clen = 0;
    int r = 0;

    *config = NULL;
    if (src->manifest != NULL) {
        const json_t *cd = json_object_get(src->manifest, "config");
        const char *cmt = json_string_value(json_object_get(cd, "mediaType"));

        if (!in_list(cmt, config_types)) {
            if ((r = problem(o, "MEDIA_TYPE_INVALID",
                             "%s: image %s: config media type \"%.100s\" is not an OCI or Docker image config",
                             s->path, im->name, cmt)) != 0) {
                return r;
            }
        }
        r = read_small(&cdata, &clen, im->config, s, json_string_value(json_object_get(cd, "digest")), NULL,
                       json_integer_value(json_object_get(cd, "size")), "config");
    } else {
        r = read_small(&cdata, &clen, im->config, s, NULL, src->config_rel, -1, "config");
        if (r == 0 && cdata != NULL) {
            /* A legacy config member is named by its digest: "<hex>.json" or "blobs/sha256/<hex>". */
            const char *b = strrchr(src->config_rel, '/');
            char hex[2 * SIGN_SHA256_LEN + 1];

            b = b != NULL ? b + 1 : src->config_rel;
            sign_hex_encode(hex, sizeof(hex), im->config, SIGN_SHA256_LEN);
            if (strlen(b) >= 64 && strspn(b, "0123456789abcdef") == 64 && strncmp(b, hex, 64) != 0) {
                r = problem(o, "BLOB_DIGEST_MISMATCH",
                            "%s: image %s: the config %s does not hash to the digest in its name: it was changed",
                            s->path, im->name, src->config_rel);
            }
        }
    }
    if (r == 0 && cdata != NULL) {
        char what[64];

        snprintf(what, sizeof(what), "config of %.40s", im->name);
        if ((r = sign__oci_parse_config(config, cdata, clen, what)) != 0 && r != SIGN_ENOMEM) {
            /* SIGN_ENOMEM is not a verdict on the image */
            r = problem(o, "IMAGE_MALFORMED", "%s: %s", s->path, sign_error_last());
            sign__error_clear();
        }
    }
    free(cdata);
    return r;
}

/* A registry layer: it must exist (HEAD); the walk streams it later. */
static int remote_layer(sign__image *im, store *s, const json_t *d, size_t i, ljob *j)
{
    const char *dg = json_string_value(json_object_get(d, "digest"));
    json_int_t size = json_integer_value(json_object_get(d, "size"));
    int64_t have = -1;
    int r = sign__registry_blob_exists(s->reg, dg, &have);

    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        return problem(s->o, "BLOB_MISSING", "%s: image %s: layer %zu blob %s is missing from the registry", s->path,
                       im->name, i, dg);
    }
    if (r != 0) {
        return r;
    }
    if (size < 0) {
        return problem(s->o, "IMAGE_MALFORMED", "%s: image %s: layer %zu has no size", s->path, im->name, i);
    }
    j->reg = s->reg;
    j->b.size = (uint64_t)size;
    snprintf(j->digest, sizeof(j->digest), "%s", dg);
    return 0;
}

/* Layer i of an image: its descriptor checked and its blob opened as job j (j->b.fd -1 when skipped). */
static int fill_layer(sign__image *im, store *s, const imgsrc *src, const json_t *d, size_t i, ljob *j)
{
    sign__oci *o = s->o;
    sign__layer *l = &im->layers[i];
    char rel[128];
    const char *relp = rel;
    int r = 0, o_r;

    memset(j, 0, sizeof(*j));
    j->b.fd = -1;
    j->l = l;
    if (src->manifest != NULL) {
        const char *mt = json_string_value(json_object_get(d, "mediaType"));
        const char *dg = json_string_value(json_object_get(d, "digest"));

        if ((l->media_type = sign__strdup(mt)) == NULL) {
            return sign__oom();
        }
        if (!in_list(mt, layer_types) && (r = problem(o, "MEDIA_TYPE_INVALID",
                                                      "%s: image %s: layer %zu media type \"%.100s\" is not an "
                                                      "OCI or Docker layer type",
                                                      s->path, im->name, i, mt)) != 0) {
            return r;
        }
        if (blob_rel(rel, sizeof(rel), dg) != 0) {
            return problem(o, "IMAGE_MALFORMED", "%s: image %s: layer %zu digest \"%.80s\" is not sha256:<64 hex>",
                           s->path, im->name, i, dg);
        }
    } else {
        if (!json_is_string(d)) {
            return problem(o, "IMAGE_MALFORMED", "%s: manifest.json: Layers[%zu] must be a string", s->path, i);
        }
        relp = json_string_value(d);
    }
    snprintf(j->what, sizeof(j->what), "%s layer %zu (%.80s)", im->name, i, relp);
    if (s->reg != NULL) {
        return remote_layer(im, s, d, i, j);
    }
    o_r = store_open(&j->b, s, relp);
    if (o_r == 1) {
        r = problem(o, "BLOB_MISSING", "%s: image %s: layer blob %s is missing; the image is incomplete", s->path,
                    im->name, relp);
    } else if (o_r != 0) {
        r = problem(o, "BLOB_NOT_REGULAR",
                    "%s: image %s: layer blob %s is %s, not a regular file inside the image; refusing to follow it",
                    s->path, im->name, relp, o_r == 3 ? "stored twice" : "a symlink or special file");
    }
    return r;
}

static int image_fill(sign__image *im, store *s, const imgsrc *src, ljob **jobs, size_t *njobs, json_t **config_out)
{
    const json_t *layers = src->manifest != NULL ? json_object_get(src->manifest, "layers") : src->layer_rels;
    size_t nl = json_array_size(layers);
    int r;

    if ((r = fill_config(im, s, src, config_out)) != 0) {
        return r;
    }
    if (nl > MAX_LAYERS) {
        return problem(s->o, "IMAGE_MALFORMED", "%s: image %s has more than %d layers", s->path, im->name,
                       MAX_LAYERS);
    }
    if (nl > 0 && (im->layers = calloc(nl, sizeof(*im->layers))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    im->n_layers = nl;
    for (size_t i = 0; i < nl; i++) {
        ljob *nj = realloc(*jobs, (*njobs + 1) * sizeof(**jobs));

        if (nj == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        *jobs = nj;
        r = fill_layer(im, s, src, json_array_get(layers, i), i, &nj[*njobs]);
        if (r != 0) {
            blob_close(&nj[*njobs].b);
            return r;
        }
        nj[*njobs].img = (size_t)(im - s->o->images);
        nj[*njobs].idx = i;
        if (nj[*njobs].b.fd >= 0 || nj[*njobs].reg != NULL) {
            (*njobs)++;
        }
    }
    return 0;
}

/* After the walks: digests, sizes, compression and diffIDs against what the manifest and config say. */
static int image_check(sign__image *im, store *s, const imgsrc *src, const json_t *config)
{
    const json_t *layers = src->manifest != NULL ? json_object_get(src->manifest, "layers") : src->layer_rels;
    const json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    sign__oci *o = s->o;
    int r = 0;

    if (config != NULL && json_array_size(ids) != im->n_layers) {
        r = problem(o, "DIFFID_MISMATCH", "%s: image %s: the config lists %zu diff_ids for %zu layers", s->path,
                    im->name, json_array_size(ids), im->n_layers);
    }
    for (size_t i = 0; i < im->n_layers && r == 0; i++) {
        const sign__layer *l = &im->layers[i];
        const json_t *d = json_array_get(layers, i);
        unsigned char want[SIGN_SHA256_LEN];

        if (l->size == 0 && l->usize == 0 && !l->has_diff_id && l->findings.n == 0) {
            continue; /* not walked: missing, already a problem */
        }
        if (src->manifest != NULL) {
            const char *mt = l->media_type;

            if (parse_digest(want, json_string_value(json_object_get(d, "digest"))) == 0 &&
                CRYPTO_memcmp(want, l->digest, SIGN_SHA256_LEN) != 0) {
                r = problem(o, "BLOB_DIGEST_MISMATCH",
                            "%s: image %s: layer %zu blob does not hash to its digest %.80s: it was changed or "
                            "swapped; rebuild the image",
                            s->path, im->name, i, json_string_value(json_object_get(d, "digest")));
            } else if ((uint64_t)json_integer_value(json_object_get(d, "size")) != l->size) {
                r = problem(o, "BLOB_SIZE_MISMATCH",
                            "%s: image %s: layer %zu is %llu bytes, its descriptor says %lld", s->path, im->name, i,
                            (unsigned long long)l->size, (long long)json_integer_value(json_object_get(d, "size")));
            } else if (mt != NULL && in_list(mt, layer_types) && l->compression != NULL &&
                       strcmp(layer_compression(mt), l->compression) != 0) {
                r = problem(o, "MEDIA_TYPE_INVALID",
                            "%s: image %s: layer %zu is declared %s but its bytes are %s-compressed", s->path,
                            im->name, i, mt, l->compression);
            }
        } else {
            const char *rel = json_string_value(d), *b = strrchr(rel, '/');
            char hex[2 * SIGN_SHA256_LEN + 1];

            /* "blobs/sha256/<hex>" or "<hex>.tar" name the blob's digest; "<id>/layer.tar" does not. */
            b = b != NULL ? b + 1 : rel;
            sign_hex_encode(hex, sizeof(hex), l->digest, SIGN_SHA256_LEN);
            if (strlen(b) >= 64 && strspn(b, "0123456789abcdef") == 64 &&
                (b[64] == '\0' || strcmp(b + 64, ".tar") == 0) && strncmp(b, hex, 64) != 0) {
                r = problem(o, "BLOB_DIGEST_MISMATCH",
                            "%s: image %s: layer %s does not hash to the digest in its name: it was changed", s->path,
                            im->name, rel);
            }
        }
        if (r == 0 && config != NULL && i < json_array_size(ids)) {
            const char *id = json_string_value(json_array_get(ids, i));

            if (!l->has_diff_id || parse_digest(want, id) != 0 ||
                CRYPTO_memcmp(want, l->diff_id, SIGN_SHA256_LEN) != 0) {
                r = problem(o, "DIFFID_MISMATCH",
                            "%s: image %s: layer %zu uncompresses to content whose digest is not the config's "
                            "rootfs.diff_ids[%zu] (%.80s); the layer or the config was changed",
                            s->path, im->name, i, i, id != NULL ? id : "?");
            }
        }
    }
    return r;
}

/* ---- selection ---------------------------------------------------------------------- */

typedef struct pick {
    json_t *manifest; /* parsed manifest, or NULL when unusable */
    char *ref, *platform, *media_type;
    unsigned char digest[SIGN_SHA256_LEN];
    uint64_t size;
    json_t *config; /* parsed after reading */
    imgsrc src;
} pick;

static char *platform_of(const json_t *d)
{
    const json_t *p = json_object_get(d, "platform");
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *var = json_string_value(json_object_get(p, "variant"));
    char buf[256];

    if (os == NULL || arch == NULL) {
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%s/%s%s%s", os, arch, var != NULL ? "/" : "", var != NULL ? var : "");
    return strdup(buf);
}

static const char *ref_of(const json_t *d)
{
    return json_string_value(json_object_get(json_object_get(d, "annotations"), "org.opencontainers.image.ref.name"));
}

/* Read one manifest blob by descriptor into p (p->manifest NULL on a problem). */
static int read_manifest(pick *p, store *s, const json_t *d, const char *ref)
{
    const char *mt = json_string_value(json_object_get(d, "mediaType"));
    const char *dg = json_string_value(json_object_get(d, "digest"));
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    memset(p, 0, sizeof(*p));
    if ((ref != NULL && (p->ref = sign__strdup(ref)) == NULL) ||
        (mt != NULL && (p->media_type = sign__strdup(mt)) == NULL)) {
        return sign__oom();
    }
    p->platform = platform_of(d);
    if (!in_list(mt, manifest_types)) {
        return problem(s->o, "MEDIA_TYPE_INVALID",
                       "%s: manifest %.80s has media type \"%.100s\", not an OCI or Docker image manifest", s->path,
                       dg, mt);
    }
    if ((r = read_small(&data, &len, p->digest, s, dg, NULL, json_integer_value(json_object_get(d, "size")),
                        "manifest")) != 0 ||
        data == NULL) {
        return r;
    }
    p->size = len;
    if ((r = sign__oci_parse_manifest(&p->manifest, data, len, "image manifest")) == SIGN_ENOMEM) {
        /* not a verdict on the image */
    } else if (r != 0) {
        r = problem(s->o, "IMAGE_MALFORMED", "%s: %s", s->path, sign_error_last());
        sign__error_clear();
    } else {
        const char *inner = json_string_value(json_object_get(p->manifest, "mediaType"));

        if ((inner != NULL && strcmp(inner, mt) != 0) || json_object_get(p->manifest, "manifests") != NULL) {
            r = problem(s->o, "MEDIA_TYPE_INVALID",
                        "%s: manifest %.80s says it is \"%.100s\" but its descriptor says \"%.100s\"", s->path, dg,
                        inner != NULL ? inner : "an index", mt);
            json_decref(p->manifest);
            p->manifest = NULL;
        }
    }
    free(data);
    p->src.manifest = p->manifest;
    return r;
}

static void pick_clear(pick *p)
{
    json_decref(p->manifest);
    json_decref(p->config);
    free(p->ref);
    free(p->platform);
    free(p->media_type);
}

/* oci-layout must be {"imageLayoutVersion": "1.0.0"}. *usable 0: it cannot be read (a problem says why). */
static int check_layout_file(store *s, int *usable)
{
    unsigned char *data = NULL, sha[SIGN_SHA256_LEN];
    size_t len = 0;
    json_t *lay = NULL;
    const char *v;
    int r;

    *usable = 0;
    if ((r = read_small(&data, &len, sha, s, NULL, "oci-layout", -1, "oci-layout")) != 0 || data == NULL) {
        return r;
    }
    *usable = 1;
    if ((r = parse_doc(&lay, data, len, "oci-layout")) != 0 ||
        (v = json_string_value(json_object_get(lay, "imageLayoutVersion"))) == NULL || strcmp(v, "1.0.0") != 0) {
        r = r == SIGN_ENOMEM
                ? r
                : sign__error(SIGN_EPARSE, "%s: oci-layout is not {\"imageLayoutVersion\": \"1.0.0\"}", s->path);
    }
    json_decref(lay);
    free(data);
    return r;
}

/* The entries of index.json that ref (or --all, or the only one) selects: *sel (malloc'd), *nsel. */
static int select_entries(size_t **sel, size_t *nsel, store *s, const json_t *m, const char *ref, int all)
{
    const json_t *d;
    size_t i;

    *nsel = 0;
    if ((*sel = calloc(json_array_size(m) + 1, sizeof(**sel))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(m, i, d)
    {
        if (all || (ref != NULL && ref_of(d) != NULL && strcmp(ref_of(d), ref) == 0) ||
            (ref == NULL && json_array_size(m) == 1)) {
            (*sel)[(*nsel)++] = i;
        }
    }
    if (*nsel == 0) {
        char refs[512] = "";
        size_t used = 0;

        json_array_foreach(m, i, d)
        {
            int n = snprintf(refs + used, sizeof(refs) - used, "%s%s", used ? ", " : "",
                             ref_of(d) != NULL ? ref_of(d) : "(no ref)");

            used += n > 0 && (size_t)n < sizeof(refs) - used ? (size_t)n : 0;
        }
        return sign__error(SIGN_ENOTFOUND,
                           "%s: %s; the index lists %zu manifest(s): %s; choose one with --ref NAME "
                           "or sign them all with --all",
                           s->path,
                           ref != NULL ? "no manifest has that ref name" : "more than one image in the index",
                           json_array_size(m), refs);
    }
    return 0;
}

/*
 * A ref naming an index (multi-platform): read the nested index (*sub), whose
 * manifests are then all selected; its digest is the subject (o->index).
 */
static int nested_index(json_t **sub, size_t **sel, size_t *nsel, store *s, const json_t *id)
{
    unsigned char *sd = NULL;
    size_t sl = 0;
    int r;

    if ((r = read_small(&sd, &sl, s->o->index, s, json_string_value(json_object_get(id, "digest")), NULL,
                        json_integer_value(json_object_get(id, "size")), "index")) != 0 ||
        sd == NULL) {
        return r;
    }
    r = sign__oci_parse_index(sub, sd, sl, "nested index");
    free(sd);
    if (r != 0) {
        return sign__error_context(r, "%s", s->path);
    }
    s->o->has_index = 1;
    *nsel = json_array_size(json_object_get(*sub, "manifests"));
    free(*sel);
    if ((*sel = calloc(*nsel + 1, sizeof(**sel))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < *nsel; i++) {
        (*sel)[i] = i;
    }
    return 0;
}

/* The manifests sel[] of list, read into *picks. */
static int read_picks(store *s, const json_t *list, const size_t *sel, size_t nsel, const char *ref, pick **picks,
                      size_t *npicks)
{
    int r = 0;

    if ((*picks = calloc(nsel, sizeof(**picks))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nsel && r == 0; i++) {
        const json_t *dd = json_array_get(list, sel[i]);

        (*npicks)++;
        if (in_list(json_string_value(json_object_get(dd, "mediaType")), index_types)) {
            memset(&(*picks)[i], 0, sizeof(pick));
            r = problem(s->o, "IMAGE_MALFORMED",
                        "%s: index entry %zu is itself an index; sign it by its ref name (--ref) instead of --all",
                        s->path, sel[i]);
        } else {
            r = read_manifest(&(*picks)[i], s, dd, ref_of(dd) != NULL ? ref_of(dd) : ref);
        }
    }
    return r;
}

/* Walk the OCI layout in s: index.json, chosen manifests. */
static int read_layout(sign__oci *o, store *s, const char *ref, int all, pick **picks, size_t *npicks)
{
    unsigned char *data = NULL, sha[SIGN_SHA256_LEN];
    size_t len = 0, nsel = 0, *sel = NULL;
    json_t *idx = NULL, *sub = NULL;
    const json_t *m, *list;
    int r, usable = 0;

    if ((r = check_layout_file(s, &usable)) != 0 || !usable) {
        return r; /* an unreadable oci-layout is a problem, as before */
    }
    if ((r = read_small(&data, &len, sha, s, NULL, "index.json", -1, "index.json")) != 0) {
        goto out;
    }
    if (data == NULL) {
        r = sign__error(SIGN_EPARSE, "%s: %s", s->path, o->problems[o->n_problems - 1].message);
        goto out;
    }
    if ((r = sign__oci_parse_index(&idx, data, len, "index.json")) != 0) {
        sign__error_context(r, "%s", s->path);
        goto out;
    }
    m = json_object_get(idx, "manifests");
    list = m;
    if ((r = select_entries(&sel, &nsel, s, m, ref, all)) != 0) {
        goto out;
    }
    /* --all, or a ref naming an index (multi-platform): its manifests, and the index digest as a subject. */
    if (all) {
        o->has_index = 1;
        memcpy(o->index, sha, sizeof(sha));
    } else if (nsel == 1 &&
               in_list(json_string_value(json_object_get(json_array_get(m, sel[0]), "mediaType")), index_types)) {
        if ((r = nested_index(&sub, &sel, &nsel, s, json_array_get(m, sel[0]))) != 0 || sub == NULL) {
            goto out;
        }
        list = json_object_get(sub, "manifests");
    }
    if ((r = read_picks(s, list, sel, nsel, ref, picks, npicks)) != 0) {
        goto out;
    }
    if (o->has_index) {
        o->index_size = len;
    }
    r = 0;
out:
    free(sel);
    free(data);
    json_decref(idx);
    json_decref(sub);
    return r;
}

/* Legacy docker save: manifest.json [{Config, RepoTags, Layers}]. */
static int read_docker(sign__oci *o, store *s, const char *ref, int all, pick **picks, size_t *npicks, json_t **keep)
{
    unsigned char *data = NULL, sha[SIGN_SHA256_LEN];
    size_t len = 0, i, nsel = 0;
    json_t *m = NULL, *e;
    int r;

    if ((r = read_small(&data, &len, sha, s, NULL, "manifest.json", -1, "manifest.json")) != 0) {
        return r;
    }
    if (data == NULL) {
        return sign__error(SIGN_EPARSE, "%s: %s", s->path, o->problems[o->n_problems - 1].message);
    }
    r = parse_doc(&m, data, len, "manifest.json");
    free(data);
    if (r != 0) {
        return sign__error_context(r, "%s", s->path);
    }
    if (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > MAX_IMAGES) {
        json_decref(m);
        return sign__error(SIGN_EPARSE, "%s: manifest.json must be a non-empty array of images", s->path);
    }
    if ((*picks = calloc(json_array_size(m), sizeof(**picks))) == NULL) {
        json_decref(m);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(m, i, e)
    {
        const json_t *tags = json_object_get(e, "RepoTags"), *t;
        const char *match = NULL;
        size_t k;

        if (!json_is_object(e) || !json_is_string(json_object_get(e, "Config")) ||
            !json_is_array(json_object_get(e, "Layers")) ||
            (tags != NULL && !json_is_array(tags) && !json_is_null(tags))) {
            json_decref(m);
            return sign__error(SIGN_EPARSE, "%s: manifest.json[%zu] needs Config (string) and Layers (array)",
                               s->path, i);
        }
        json_array_foreach(tags, k, t)
        {
            if (ref != NULL && json_is_string(t) && strcmp(json_string_value(t), ref) == 0) {
                match = ref;
            }
        }
        if (all || match != NULL || (ref == NULL && json_array_size(m) == 1)) {
            pick *p = &(*picks)[nsel++];

            (*npicks)++;
            p->src.config_rel = json_string_value(json_object_get(e, "Config"));
            p->src.layer_rels = json_object_get(e, "Layers");
            if (json_is_string(json_array_get(tags, 0)) &&
                (p->ref = sign__strdup(match != NULL ? match : json_string_value(json_array_get(tags, 0)))) == NULL) {
                json_decref(m);
                return sign__oom();
            }
        }
    }
    *keep = m;
    if (nsel == 0) {
        return sign__error(SIGN_ENOTFOUND,
                           "%s: %s in manifest.json; choose one with --ref REPO:TAG or sign them all with --all",
                           s->path, ref != NULL ? "no image has that tag" : "more than one image");
    }
    return 0;
}

/* An image's identity from its pick: digest, size and its subject name. */
static int image_name(sign__image *im, const sign__oci *o, const pick *p, const char *name, int all)
{
    char buf[512];
    char hex[2 * SIGN_SHA256_LEN + 1];

    im->has_manifest = p->manifest != NULL;
    memcpy(im->manifest, p->digest, sizeof(p->digest));
    im->manifest_size = p->size;
    sign_hex_encode(hex, sizeof(hex), p->digest, SIGN_SHA256_LEN);
    if (!o->has_index && !(o->docker && all)) {
        snprintf(buf, sizeof(buf), "%s", name);
    } else if (p->ref != NULL) {
        snprintf(buf, sizeof(buf), "%s@%s", name, p->ref);
    } else if (p->platform != NULL) {
        snprintf(buf, sizeof(buf), "%s@%s", name, p->platform);
    } else {
        snprintf(buf, sizeof(buf), "%s@sha256:%.12s", name, hex);
    }
    if ((im->name = sign__strdup(buf)) == NULL || (p->ref != NULL && (im->ref = sign__strdup(p->ref)) == NULL) ||
        (p->platform != NULL && (im->platform = sign__strdup(p->platform)) == NULL) ||
        (p->media_type != NULL && (im->media_type = sign__strdup(p->media_type)) == NULL)) {
        return sign__oom();
    }
    return 0;
}

/* Checks after the walks, and findings merged in layer order. */
static int check_images(sign__oci *o, store *s, pick *picks, size_t npicks, sign__findings *f)
{
    int r;

    for (size_t i = 0, k = 0; i < npicks; i++) {
        pick *p = &picks[i];
        sign__image *im;

        if (p->manifest == NULL && p->src.config_rel == NULL) {
            continue;
        }
        im = &o->images[k++];
        if ((r = image_check(im, s, &p->src, p->config)) != 0) {
            return r;
        }
        for (size_t j = 0; j < im->n_layers; j++) {
            const sign__findings *lf = &im->layers[j].findings;

            for (size_t q = 0; q < lf->n; q++) {
                if ((r = sign__finding_add(f, lf->v[q].id, lf->v[q].severity, lf->v[q].path, SIZE_MAX, "%s",
                                           lf->v[q].message)) != 0) {
                    return r;
                }
            }
        }
    }
    return 0;
}

/*
 * SIGN__OCI_LAYERS_UNREAD (deploy's verification of an OCI layout, which its extraction walks once): each layer
 * as its manifest's descriptor and the config's diff_ids describe it, its blob opened (present, regular) but not
 * read. The manifest is the verified subject and the config was checked against its descriptor, so these are
 * the signed claims; the one extraction walk checks the blobs against them (image_check).
 */
static void describe_layers(sign__image *im, const pick *p)
{
    const json_t *layers = json_object_get(p->src.manifest, "layers");
    const json_t *ids = json_object_get(json_object_get(p->config, "rootfs"), "diff_ids");

    for (size_t i = 0; p->src.manifest != NULL && i < im->n_layers; i++) {
        sign__layer *l = &im->layers[i];
        const json_t *d = json_array_get(layers, i);

        if (parse_digest(l->digest, json_string_value(json_object_get(d, "digest"))) != 0) {
            continue; /* malformed: already a problem */
        }
        l->size = (uint64_t)json_integer_value(json_object_get(d, "size"));
        l->has_diff_id =
            i < json_array_size(ids) && parse_digest(l->diff_id, json_string_value(json_array_get(ids, i))) == 0;
    }
}

/* The picked images: names, configs, layer walks (in parallel), then the checks. */
static int read_images(sign__oci *o, store *s, pick *picks, size_t npicks, const char *name, int all,
                       const sign_limits *lim, sign__findings *f, sign__progress *pr)
{
    size_t njobs = 0, nimg = 0;
    ljob *jobs = NULL;
    int r = 0;

    if ((o->images = calloc(npicks + 1, sizeof(*o->images))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < npicks && r == 0; i++) {
        sign__image *im = &o->images[nimg];
        pick *p = &picks[i];

        if (p->manifest == NULL && p->src.config_rel == NULL) {
            continue; /* unusable manifest: a problem says why */
        }
        nimg++;
        o->n_images = nimg;
        if ((r = image_name(im, o, p, name, all)) == 0) {
            r = image_fill(im, s, &p->src, &jobs, &njobs, &p->config);
        }
    }
    if (r == 0 && nimg == 0 && o->n_problems == 0) {
        r = sign__error(SIGN_EPARSE, "%s: no usable image", s->path);
    }
    for (size_t i = 0, k = 0; r == 0 && s->unread && i < npicks; i++) {
        if (picks[i].manifest != NULL || picks[i].src.config_rel != NULL) {
            describe_layers(&o->images[k++], &picks[i]);
        }
    }
    if (r == 0 && !s->unread) {
        r = s->hook != NULL ? run_hook_jobs(jobs, njobs, lim, s->hook) : run_jobs(jobs, njobs, lim, pr);
    }
    if (r == 0) {
        r = check_images(o, s, picks, npicks, f);
    }
    for (size_t i = 0; i < njobs; i++) {
        blob_close(&jobs[i].b);
    }
    free(jobs);
    return r;
}

static int oci_read(sign__oci **out, int fd, int is_dir, uint64_t size, const char *path, const char *name,
                    const char *ref, unsigned int how, const sign_limits *lim, sign__findings *f, sign__progress *prp,
                    const sign__entry_hook *hook)
{
    sign__oci *o = NULL;
    store s;
    pick *picks = NULL;
    size_t npicks = 0;
    json_t *docker = NULL;
    int r, all = (how & SIGN__OCI_ALL_IMAGES) != 0;

    *out = NULL;
    memset(&s, 0, sizeof(s));
    s.dirfd = is_dir ? fd : -1;
    s.fd = is_dir ? -1 : fd;
    s.path = path;
    s.hook = hook;
    s.unread = is_dir && hook == NULL && (how & SIGN__OCI_LAYERS_UNREAD) != 0;
    if ((o = calloc(1, sizeof(*o))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    s.o = o;
    if (!is_dir) {
        int has_layout = 0;

        o->docker = 1;
        if ((r = sign__tar_index(&s.m, &s.nm, fd, size, path, lim)) != 0) {
            goto out;
        }
        for (size_t i = 0; i < s.nm; i++) {
            has_layout |= strcmp(s.m[i].name, "oci-layout") == 0;
        }
        r = has_layout ? read_layout(o, &s, ref, all, &picks, &npicks)
                       : read_docker(o, &s, ref, all, &picks, &npicks, &docker);
    } else {
        r = read_layout(o, &s, ref, all, &picks, &npicks);
    }
    if (r != 0) {
        goto out;
    }
    if ((r = read_images(o, &s, picks, npicks, name, all, lim, f, prp)) != 0) {
        goto out;
    }
    *out = o;
    o = NULL;
    r = 0;
out:
    for (size_t i = 0; picks != NULL && i < npicks; i++) {
        pick_clear(&picks[i]);
    }
    free(picks);
    json_decref(docker);
    sign__tar_members_free(s.m, s.nm);
    sign__oci_free(o);
    return r;
}

int sign__oci_read(sign__oci **out, int fd, int is_dir, uint64_t size, const char *path, const char *name,
                   const char *ref, unsigned int how, const sign_limits *lim, sign__findings *f,
                   sign_progress_cb progress, void *progress_userdata)
{
    sign__progress pr = {progress, progress_userdata, path, 0, 0};

    return oci_read(out, fd, is_dir, size, path, name, ref, how, lim, f, &pr, NULL);
}

int sign__oci_read_hook(sign__oci **out, int fd, int is_dir, uint64_t size, const char *path, const char *ref,
                        const sign_limits *lim, sign__findings *f, const sign__entry_hook *hook)
{
    return oci_read(out, fd, is_dir, size, path, NULL, ref, 0, lim, f, NULL, hook);
}

/* ---- images in a registry ----------------------------------------------------------- */

/* The index's entries for platform (os/arch[/variant]), or every one with all; *sel malloc'd. */
static int select_platform(size_t **sel, size_t *nsel, const store *s, const json_t *m, const char *platform, int all)
{
    const json_t *d;
    size_t i;
    char list[512] = "";
    size_t used = 0;

    *nsel = 0;
    if ((*sel = calloc(json_array_size(m) + 1, sizeof(**sel))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(m, i, d)
    {
        char *pf = platform_of(d);
        int n;

        if (all || (platform != NULL && pf != NULL && strcmp(pf, platform) == 0)) {
            (*sel)[(*nsel)++] = i;
        }
        n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", pf != NULL ? pf : "(no platform)");
        used += n > 0 && (size_t)n < sizeof(list) - used ? (size_t)n : 0;
        free(pf);
    }
    if (*nsel == 0) {
        return sign__error(SIGN_ENOTFOUND,
                           "%s: the reference is a multi-platform index (%s); choose one with --platform OS/ARCH or "
                           "take them all with --all",
                           s->path, list);
    }
    return 0;
}

/*
 * The top document of a reference: resolved once (a tag becomes a digest
 * here and every later read is by digest). An image manifest becomes the one
 * pick; an index its chosen platform's manifests (the index digest is the
 * subject with --all).
 */
static int read_registry(sign__oci *o, store *s, const char *reference, const char *platform, int all, pick **picks,
                         size_t *npicks)
{
    unsigned char *data = NULL, sha[SIGN_SHA256_LEN];
    char *ctype = NULL, hex[2 * SIGN_SHA256_LEN + 1], dg[80];
    size_t len = 0, mdlen = 0, nsel = 0, *sel = NULL;
    json_t *idx = NULL, *one = NULL;
    const char *mt;
    int r;

    if ((r = sign__registry_get_manifest(s->reg, reference, &data, &len, &ctype)) != 0) {
        goto out;
    }
    if ((r = sign_digest_buffer(sha, sizeof(sha), &mdlen, SIGN_DIGEST_SHA256, data, len)) != 0) {
        goto out;
    }
    sign_hex_encode(hex, sizeof(hex), sha, SIGN_SHA256_LEN);
    snprintf(dg, sizeof(dg), "sha256:%s", hex);
    if (strncmp(reference, "sha256:", 7) == 0 && strcmp(reference, dg) != 0) {
        r = problem(o, "BLOB_DIGEST_MISMATCH", "%s: the registry's manifest %s hashes to %s: it was changed", s->path,
                    reference, dg);
        goto out;
    }
    if ((r = parse_doc(&idx, data, len, "registry manifest")) != 0) {
        sign__error_context(r, "%s", s->path);
        goto out;
    }
    mt = json_string_value(json_object_get(idx, "mediaType"));
    if (mt == NULL) {
        mt = ctype;
    }
    if (in_list(mt, index_types) || json_object_get(idx, "manifests") != NULL) {
        json_decref(idx);
        idx = NULL;
        if ((r = sign__oci_parse_index(&idx, data, len, "registry index")) != 0) {
            sign__error_context(r, "%s", s->path);
            goto out;
        }
        if ((r = select_platform(&sel, &nsel, s, json_object_get(idx, "manifests"), platform, all)) != 0) {
            goto out;
        }
        if (all) {
            o->has_index = 1;
            o->index_size = len;
            memcpy(o->index, sha, sizeof(sha));
        }
        r = read_picks(s, json_object_get(idx, "manifests"), sel, nsel, NULL, picks, npicks);
        goto out;
    }
    /* One image manifest: read again by its digest as a descriptor names it. */
    if ((one = json_pack("[{s:s?, s:s, s:I}]", "mediaType", mt, "digest", dg, "size", (json_int_t)len)) == NULL ||
        (sel = calloc(1, sizeof(*sel))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    r = read_picks(s, one, sel, 1, NULL, picks, npicks);
out:
    free(sel);
    free(data);
    free(ctype);
    json_decref(idx);
    json_decref(one);
    return r;
}

int sign__oci_read_registry(sign__oci **out, sign__registry *reg, const char *reference, const char *path,
                            const char *name, const char *platform, int all, const sign_limits *lim,
                            sign__findings *f, sign_progress_cb progress, void *progress_userdata)
{
    sign__progress pr = {progress, progress_userdata, path, 0, 0};
    sign__oci *o = NULL;
    store s;
    pick *picks = NULL;
    size_t npicks = 0;
    int r;

    *out = NULL;
    memset(&s, 0, sizeof(s));
    s.dirfd = -1;
    s.fd = -1;
    s.path = path;
    s.reg = reg;
    if ((o = calloc(1, sizeof(*o))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    s.o = o;
    if ((r = read_registry(o, &s, reference, platform, all, &picks, &npicks)) == 0) {
        r = read_images(o, &s, picks, npicks, name, all, lim, f, &pr);
    }
    for (size_t i = 0; picks != NULL && i < npicks; i++) {
        pick_clear(&picks[i]);
    }
    free(picks);
    if (r != 0) {
        sign__oci_free(o);
        return r;
    }
    *out = o;
    return 0;
}
