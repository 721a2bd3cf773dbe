/*
 * Artifacts: a plain file or a zip, recognised by content, hashed over its
 * exact bytes, and for a zip walked entry by entry with findings.
 *
 * Kind detection: a file is a zip when it has a valid end-of-central-
 * directory record (one that leads to a central directory), or when it
 * starts with a local file header "PK\3\4". The latter without a usable end
 * record is an attempt at a zip that cannot be read: SIGN_EPARSE, never a
 * silent fallback to "plain file", because an extractor might still find
 * entries in it that nobody looked at.
 *
 * For a zip several threads of the pool (util/pool.h) work at once: one
 * hashes the whole file in 1 MiB sequential reads, another parses the
 * structure (zip.c) and walks the entries through libarchive, in one part per
 * thread of the budget (see "parallel entry walk"), each part with its own
 * libarchive handle. A zip of 1 MiB or more is mapped once (fmap.c) and
 * every reader reads the mapping (the hash and the inflater in place,
 * libarchive and the parser through guarded copies); a smaller one is walked
 * from the bytes read whole; without a mapping all read the same descriptor
 * with pread. Only the sequential fallback walk lets libarchive own the file
 * offset. libarchive reads the local headers (names, kinds, links) and the
 * content of entries in methods other than deflate; a deflate entry's bytes
 * are inflated by util/inflate (ISA-L or zlib), which checks its CRC-32 and
 * sizes against the central directory (walk_deflate).
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "artifact_int.h"
#include "inflate.h"
#include "regclient.h"
#include "path.h"
#include "pool.h"

/* Ratios are only judged above these many bytes: tiny files compress absurdly well. */
#define RATIO_FLOOR_ENTRY (64u * 1024)
#define RATIO_FLOOR_ARCHIVE (1024u * 1024)
#define LIBARCHIVE_BLOCK (1024 * 1024)

struct sign_artifact {
    char *name;
    char *path;
    sign_artifact_kind kind;
    uint64_t size;
    unsigned char sha256[SIGN_SHA256_LEN];
    sign_entry *entries;
    size_t n_entries, cap_entries;
    sign__findings findings;
    sign__oci *oci; /* layers and images (oci.c), or NULL */
};

/* ---- accessors ------------------------------------------------------------- */

const char *sign_artifact_name(const sign_artifact *a)
{
    return a->name;
}
const char *sign_artifact_path(const sign_artifact *a)
{
    return a->path;
}
sign_artifact_kind sign_artifact_get_kind(const sign_artifact *a)
{
    return a->kind;
}
uint64_t sign_artifact_size(const sign_artifact *a)
{
    return a->size;
}
const unsigned char *sign_artifact_sha256(const sign_artifact *a)
{
    return a->sha256;
}
size_t sign_artifact_entry_count(const sign_artifact *a)
{
    return a->n_entries;
}
size_t sign_artifact_finding_count(const sign_artifact *a)
{
    return a->findings.n;
}

const sign_entry *sign_artifact_entry(const sign_artifact *a, size_t i)
{
    return i < a->n_entries ? &a->entries[i] : NULL;
}

const sign_finding *sign_artifact_finding(const sign_artifact *a, size_t i)
{
    return i < a->findings.n ? &a->findings.v[i] : NULL;
}

const char *sign_artifact_kind_name(sign_artifact_kind kind)
{
    switch (kind) {
    case SIGN_ARTIFACT_FILE: return "file";
    case SIGN_ARTIFACT_ZIP: return "zip";
    case SIGN_ARTIFACT_LAYER: return "layer";
    case SIGN_ARTIFACT_OCI: return "oci-image";
    case SIGN_ARTIFACT_DOCKER: return "docker-archive";
    }
    return "unknown";
}

const char *sign_severity_name(sign_severity s)
{
    switch (s) {
    case SIGN_SEVERITY_INFO: return "info";
    case SIGN_SEVERITY_WARNING: return "warning";
    case SIGN_SEVERITY_DANGER: return "danger";
    }
    return "unknown";
}

const char *sign_entry_type_name(sign_entry_type t)
{
    switch (t) {
    case SIGN_ENTRY_FILE: return "file";
    case SIGN_ENTRY_DIR: return "dir";
    case SIGN_ENTRY_SYMLINK: return "symlink";
    case SIGN_ENTRY_HARDLINK: return "hardlink";
    case SIGN_ENTRY_OTHER: return "other";
    case SIGN_ENTRY_WHITEOUT: return "whiteout";
    case SIGN_ENTRY_OPAQUE: return "opaque";
    }
    return "unknown";
}

void sign_artifact_free(sign_artifact *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n_entries; i++) {
        free((char *)a->entries[i].path);
        free((char *)a->entries[i].link_target);
    }
    free(a->entries);
    sign__findings_clear(&a->findings);
    sign__oci_free(a->oci);
    free(a->name);
    free(a->path);
    free(a);
}

/* ---- names ----------------------------------------------------------------- */

int sign_artifact_name_normalise(char **out, const char *name)
{
    size_t len;
    unsigned int bits;
    char *buf;

    *out = NULL;
    if (name == NULL) {
        return sign__error(SIGN_EINVAL, "artifact name is missing");
    }
    len = strnlen(name, 4097);
    if (len > 4096) {
        return sign__error(SIGN_EINVAL, "artifact name is longer than 4096 bytes");
    }
    /* A subject name, not a path to extract: only controls and ".." are refused (util/path). */
    bits = sign__path_check(name, len, 4096, 0);
    if (bits & SIGN__PATH_CONTROL) {
        return sign__error(SIGN_EINVAL, "artifact name \"%.64s\" contains a control character", name);
    }
    if (bits & SIGN__PATH_DOTDOT) {
        return sign__error(SIGN_EINVAL, "artifact name \"%s\" has a '..' component", name);
    }
    if ((buf = sign__path_norm(name)) == NULL) {
        return sign__oom();
    }
    if (buf[0] == '\0') {
        free(buf);
        return sign__error(SIGN_EINVAL, "artifact name \"%s\" is empty after normalisation", name);
    }
    *out = buf;
    return 0;
}

/*
 * Name for path when none is given: a relative path that stays below the
 * current directory keeps its normalised form ("dist/app.zip"); an absolute
 * path, or one that climbs with "..", is named by its last component, so a
 * manifest never records the signer's directory layout.
 */
static int derive_name(char **out, const char *path)
{
    const char *b = path, *p;

    if (path[0] != '/' && sign_artifact_name_normalise(out, path) == 0) {
        return 0;
    }
    for (p = path; *p != '\0'; p++) {
        if (*p == '/' && p[1] != '\0') {
            b = p + 1;
        }
    }
    return sign_artifact_name_normalise(out, b);
}

/* ---- whole-file digest ------------------------------------------------------ */

typedef struct digest_job {
    int fd;
    const sign__fmap *map; /* the file mapped (read from there), or NULL: pread */
    const char *path;
    uint64_t total;
    sign_progress_cb progress;
    void *progress_userdata;
    unsigned char md[SIGN_SHA256_LEN];
    uint64_t size;
    int rc;
    char msg[1024];
} digest_job;

/* A reader of map (or of none) now at to: what it read from *kept released, once that is SIGN__FMAP_RELEASE bytes. */
static void map_release(const sign__fmap *map, uint64_t *kept, uint64_t to)
{
    if (map != NULL && to > *kept && to - *kept >= SIGN__FMAP_RELEASE) {
        sign__fmap_release(map, *kept, to);
        *kept = to;
    }
}

typedef struct digest_step {
    sign_digest_ctx *ctx;
    const unsigned char *p;
    size_t len;
    int r;
} digest_step;

static void digest_step_run(void *arg)
{
    digest_step *d = arg;

    d->r = sign_digest_update(d->ctx, d->p, d->len);
}

/* The whole file's digest from its mapping, a read's worth at a time (progress as the reads report it). */
static int digest_map(digest_job *j, sign_digest_ctx *ctx)
{
    uint64_t off = 0, kept = 0;

    while (off < j->map->size) {
        uint64_t left = j->map->size - off;
        digest_step d = {ctx, j->map->p + off, left < SIGN_DIGEST_READ_SIZE ? (size_t)left : SIGN_DIGEST_READ_SIZE,
                         0};

        if (sign__fmap_guard(j->map, digest_step_run, &d) != 0) {
            break; /* the file shrank under the mapping: the size check reports it */
        }
        if (d.r != 0) {
            return d.r;
        }
        off += d.len;
        map_release(j->map, &kept, off);
        if (j->progress != NULL) {
            j->progress(j->path, off, j->total, j->progress_userdata);
        }
    }
    j->size = off;
    if (off == j->map->size) {
        /* As the reads to the end would: a file that grew since it was mapped has changed size. */
        unsigned char more;
        ssize_t n;

        do {
            n = pread(j->fd, &more, 1, (off_t)off);
        } while (n < 0 && errno == EINTR);
        j->size += n > 0 ? (uint64_t)n : 0;
    }
    return 0;
}

static int digest_run(digest_job *j)
{
    sign_digest_ctx *ctx = NULL;
    unsigned char *buf = NULL;
    uint64_t off = 0;
    size_t mdlen = 0, bufsize;
    int r;

    /* Reads of 1 MiB, or of the size + 1 of a smaller file (the last read still sees the end). */
    bufsize = j->total < SIGN_DIGEST_READ_SIZE ? (size_t)j->total + 1 : SIGN_DIGEST_READ_SIZE;
    if ((r = sign_digest_new(&ctx, SIGN_DIGEST_SHA256)) != 0) {
        goto out;
    }
    if (j->map != NULL) {
        if ((r = digest_map(j, ctx)) == 0) {
            r = sign_digest_final(j->md, sizeof(j->md), &mdlen, ctx);
        }
        goto out;
    }
    if ((buf = malloc(bufsize)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "%s: out of memory", j->path);
        goto out;
    }
    for (;;) {
        ssize_t n = pread(j->fd, buf, bufsize, (off_t)off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = sign__error(SIGN_EIO, "%s: read error at offset %llu: %s", j->path, (unsigned long long)off,
                            strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        if ((r = sign_digest_update(ctx, buf, (size_t)n)) != 0) {
            goto out;
        }
        off += (uint64_t)n;
        if (j->progress != NULL) {
            j->progress(j->path, off, j->total, j->progress_userdata);
        }
    }
    if ((r = sign_digest_final(j->md, sizeof(j->md), &mdlen, ctx)) != 0) {
        goto out;
    }
    j->size = off;
    r = 0;
out:
    sign_digest_free(ctx);
    free(buf);
    return r;
}

static void *digest_thread(void *arg)
{
    digest_job *j = arg;

    j->rc = digest_run(j);
    if (j->rc != 0) {
        snprintf(j->msg, sizeof(j->msg), "%s", sign_error_last());
    }
    return NULL;
}

/* ---- entry walk --------------------------------------------------------------- */

/* A deflate entry whose content a header walk left for later (walk_parallel). */
typedef struct walk_job {
    size_t ei;                /* the entry: its index in the header walk's artifact */
    const sign__zip_entry *x; /* its central directory record */
    size_t fbefore;           /* the header walk's findings before it */
    size_t fend;              /* its chunk's findings once it is read (set by the chunk) */
} walk_job;

typedef struct walk {
    sign_artifact *a;
    const sign__zip *z;
    sign__zip_entry **sorted; /* central directory in local-header order: libarchive's order */
    const sign_limits *lim;
    const char *path;
    uint64_t declared_total, total_out;
    unsigned char *head;
    const unsigned char *headp; /* the last entry's head: in head, or in its one chunk of content (content_keep) */
    int fd;                     /* the archive, read with pread */
    const sign__fmap *map;      /* or mapped: read from there (NULL: pread) */
    uint64_t kept;              /* mapped: the offset from which the walk has not released what it read */
    sign__inflate *inf;         /* deflate entries (walk_deflate): made on the first one */
    unsigned char *zin, *zout;  /* its buffers */
    int stop;
    int unclean;                  /* a part of a parallel walk met something only a sequential walk reports */
    const sign__entry_hook *hook; /* deploy: each entry and its content as it is read, or NULL */
    int defer;                    /* a header walk: deflate content is left for later, as jobs */
    walk_job *jobs;
    size_t njobs, capjobs;
} walk;

static int cmp_lfh(const void *a, const void *b)
{
    const sign__zip_entry *x = *(const sign__zip_entry *const *)a, *y = *(const sign__zip_entry *const *)b;

    if (x->lfh_offset != y->lfh_offset) {
        return x->lfh_offset < y->lfh_offset ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

static int same_name(const char *s, const char *name, size_t len)
{
    return s != NULL && strlen(s) == len && memcmp(s, name, len) == 0;
}

static const char *ar_msg(struct archive *ar)
{
    const char *m = archive_error_string(ar);

    return m != NULL ? m : "unknown libarchive error";
}

static sign_entry *entry_append(sign_artifact *a)
{
    if (a->n_entries == a->cap_entries) {
        size_t ncap = a->cap_entries ? a->cap_entries * 2 : 16;
        sign_entry *ne = realloc(a->entries, ncap * sizeof(*ne));

        if (ne == NULL) {
            sign__error(SIGN_ENOMEM, "out of memory");
            return NULL;
        }
        a->entries = ne;
        a->cap_entries = ncap;
    }
    memset(&a->entries[a->n_entries], 0, sizeof(sign_entry));
    return &a->entries[a->n_entries++];
}

static uint64_t ratio_limit(uint64_t csize, uint64_t ratio)
{
    uint64_t c = csize > 0 ? csize : 1;

    return c > UINT64_MAX / ratio ? UINT64_MAX : c * ratio;
}

/* One entry's content as it is read: its digest, its head for secret scanning, its size against the limits. */
typedef struct content {
    sign_digest_ctx *ctx;
    uint64_t out, entry_cap, archive_cap;
    size_t headlen;
    const unsigned char *headp; /* the head: in w->head, or still in the first chunk's buffer (content_keep) */
} content;

static int content_start(content *c, const walk *w, const sign__zip_entry *x)
{
    memset(c, 0, sizeof(*c));
    c->entry_cap = ratio_limit(x != NULL ? x->csize : w->z->file_size, w->lim->entry_max_ratio);
    c->archive_cap = ratio_limit(w->z->file_size, w->lim->archive_max_ratio);
    return sign_digest_new(&c->ctx, SIGN_DIGEST_SHA256);
}

/* A chunk of content: 0 to go on, 1 when a limit stopped the walk (with its finding), else an error. */
static int content_take(walk *w, content *c, const sign_entry *e, const void *buf, size_t len)
{
    int r;

    if (c->headlen < SIGN__SECRET_SCAN_MAX) {
        size_t take = SIGN__SECRET_SCAN_MAX - c->headlen < len ? SIGN__SECRET_SCAN_MAX - c->headlen : len;

        if (c->headlen == 0) {
            c->headp = buf; /* borrowed: most entries come out in one chunk, and are scanned where they are */
        } else {
            memcpy(w->head + c->headlen, buf, take);
        }
        c->headlen += take;
    }
    if ((r = sign_digest_update(c->ctx, buf, len)) != 0 ||
        (w->hook != NULL && (r = w->hook->data(w->hook->ctx, buf, len)) != 0)) {
        return r;
    }
    c->out += len;
    w->total_out += len;
    if (c->out > c->entry_cap && c->out > RATIO_FLOOR_ENTRY) {
        sign__finding_add(&w->a->findings, "zip-limit-entry-ratio", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "entry inflates more than %llu times its compressed size (a zip bomb?); walking "
                          "stopped: raise the limit only if this is expected",
                          (unsigned long long)w->lim->entry_max_ratio);
    } else if (w->total_out > w->lim->archive_max_total) {
        sign__finding_add(&w->a->findings, "zip-limit-total", SIGN_SEVERITY_DANGER, NULL, 0,
                          "entries inflate to more than %llu bytes; walking stopped: raise the limit only if "
                          "this is expected",
                          (unsigned long long)w->lim->archive_max_total);
    } else if (w->total_out > c->archive_cap && w->total_out > RATIO_FLOOR_ARCHIVE) {
        sign__finding_add(&w->a->findings, "zip-limit-ratio", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the archive inflates to more than %llu times its size (a zip bomb?); walking "
                          "stopped: raise the limit only if this is expected",
                          (unsigned long long)w->lim->archive_max_ratio);
    } else {
        return 0;
    }
    w->stop = 1;
    return 1;
}

/* Before the buffer of the chunk the head was borrowed from is reused: the head copied to w->head. */
static void content_keep(walk *w, content *c)
{
    if (c->headp != NULL && c->headp != w->head) {
        memcpy(w->head, c->headp, c->headlen);
        c->headp = w->head;
    }
}

/* The end of an entry's content: its digest when it was read whole (ok), the size against the directory's. */
static int content_end(walk *w, content *c, sign_entry *e, const sign__zip_entry *x, int ok)
{
    size_t mdlen;
    int r = 0;

    e->size = c->out;
    if (ok) {
        if ((r = sign_digest_final(e->sha256, sizeof(e->sha256), &mdlen, c->ctx)) != 0) {
            goto out;
        }
        e->has_digest = 1;
        if (x != NULL && c->out != x->usize) {
            sign__finding_add(&w->a->findings, "zip-size-mismatch", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                              "content is %llu bytes but the central directory says %llu: rebuild the archive",
                              (unsigned long long)c->out, (unsigned long long)x->usize);
        }
        if (w->hook != NULL) {
            r = w->hook->done(w->hook->ctx, e);
        }
    } else if (w->hook != NULL) {
        r = sign__error(SIGN_EVERIFY, "%s: entry %s cannot be read whole: nothing is written", w->path, e->path);
    }
out:
    sign_digest_free(c->ctx);
    c->ctx = NULL;
    return r;
}

/* A warning of libarchive's at the end of an entry: which finding it is. */
static void data_warning(walk *w, const sign_entry *e, const char *m)
{
    if (strstr(m, "wrong size") != NULL) {
        sign__finding_add(&w->a->findings, "zip-size-mismatch", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content size differs from the size the headers declare (%s): rebuild the "
                          "archive",
                          m);
    } else if (strstr(m, "CRC") != NULL) {
        sign__finding_add(&w->a->findings, "zip-crc-mismatch", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content does not match its CRC-32 (%s): the archive is damaged or tampered; "
                          "rebuild it",
                          m);
    } else {
        sign__finding_add(&w->a->findings, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content read with a warning (%s): rebuild the archive", m);
    }
}

/* Read one regular entry's content through libarchive (every method but deflate: walk_deflate). */
static int walk_data(walk *w, struct archive *ar, sign_entry *e, const sign__zip_entry *x, size_t *headlen)
{
    content c;
    int r, ok = 1;

    *headlen = 0;
    if ((r = content_start(&c, w, x)) != 0) {
        return r;
    }
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int ar_r = archive_read_data_block(ar, &buf, &len, &off);

        if (ar_r == ARCHIVE_EOF) {
            break;
        }
        if (ar_r != ARCHIVE_OK && ar_r != ARCHIVE_WARN) {
            sign__finding_add(&w->a->findings, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                              "content cannot be read (%s): the archive is damaged or uses an unsupported "
                              "feature; rebuild it",
                              ar_msg(ar));
            archive_clear_error(ar);
            ok = 0;
            if (ar_r == ARCHIVE_FATAL) {
                w->stop = 1;
            }
            break;
        }
        if (ar_r == ARCHIVE_WARN) {
            data_warning(w, e, ar_msg(ar));
            archive_clear_error(ar);
            ok = 0;
        }
        if (len == 0) {
            if (ar_r == ARCHIVE_WARN) {
                break;
            }
            continue;
        }
        if ((r = content_take(w, &c, e, buf, len)) != 0) {
            if (r == 1) {
                ok = 0;
                break;
            }
            sign_digest_free(c.ctx);
            return r;
        }
        content_keep(w, &c); /* libarchive reuses its buffer */
    }
    *headlen = c.headlen;
    w->headp = c.headp;
    return content_end(w, &c, e, x, ok);
}

/* ---- deflate entries: util/inflate (ISA-L or zlib) over the entry's own bytes ---------- */

#define DEFLATE_IN (256 * 1024)
#define DEFLATE_OUT (256 * 1024)

/* The walk's inflater and buffers, made on its first deflate entry and kept for the next ones. */
static int deflate_ready(walk *w)
{
    int r;

    if (w->map == NULL && w->zin == NULL && (w->zin = malloc(DEFLATE_IN)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (w->zout == NULL && (w->zout = malloc(DEFLATE_OUT)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (w->inf == NULL) {
        return sign__inflate_new(&w->inf, 0);
    }
    r = sign__inflate_reset(w->inf);
    return r;
}

static void deflate_release(walk *w)
{
    sign__inflate_free(w->inf);
    free(w->zin);
    free(w->zout);
    w->inf = NULL;
    w->zin = w->zout = NULL;
}

/* The findings of a deflate entry that ended (st) after using its bytes: what libarchive's reader reported. */
static int deflate_verdict(walk *w, const sign_entry *e, const sign__zip_entry *x, sign__inflate_status st,
                           int truncated)
{
    uint64_t used = sign__inflate_total_in(w->inf);
    int ok = 1;

    if (st == SIGN__INFLATE_ENOMEM) {
        return -1;
    }
    if (st != SIGN__INFLATE_END) {
        sign__finding_add(&w->a->findings, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content cannot be read (%s): the archive is damaged or uses an unsupported "
                          "feature; rebuild it",
                          truncated ? "the deflate data ends early: truncated" : sign__inflate_msg(w->inf));
        return 0;
    }
    if (used != x->csize) {
        sign__finding_add(&w->a->findings, "zip-size-mismatch", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content size differs from the size the headers declare (the deflate data is %llu "
                          "bytes, the central directory says %llu): rebuild the archive",
                          (unsigned long long)used, (unsigned long long)x->csize);
        ok = 0;
    }
    if (sign__inflate_crc(w->inf) != x->crc) {
        sign__finding_add(&w->a->findings, "zip-crc-mismatch", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                          "content does not match its CRC-32 (%#lx, the central directory says %#lx): the "
                          "archive is damaged or tampered; rebuild it",
                          (unsigned long)sign__inflate_crc(w->inf), (unsigned long)x->crc);
        ok = 0;
    }
    return ok;
}

/*
 * The next input of a deflate entry (at *in: the walk's buffer, or the mapping): 0, or SIGN_EIO.
 * *got 0: the file ends before the entry's bytes do.
 */
static int deflate_read(walk *w, const unsigned char **in, uint64_t *pos, uint64_t *left, size_t *got)
{
    size_t want = *left < DEFLATE_IN ? (size_t)*left : DEFLATE_IN;
    ssize_t k;

    if (w->map != NULL) {
        uint64_t avail = *pos < w->map->size ? w->map->size - *pos : 0;

        k = (ssize_t)(want < avail ? want : avail);
        *in = w->map->p + (k > 0 ? *pos : 0);
    } else {
        *in = w->zin;
        do {
            k = pread(w->fd, w->zin, want, (off_t)*pos);
        } while (k < 0 && errno == EINTR);
    }
    if (k < 0) {
        return sign__error(SIGN_EIO, "%s: read error at offset %llu: %s", w->path, (unsigned long long)*pos,
                           strerror(errno));
    }
    *got = (size_t)k;
    *pos += (uint64_t)k;
    *left -= (uint64_t)k;
    return 0;
}

typedef struct deflate_step {
    sign__inflate *inf;
    const unsigned char *next;
    size_t inlen;
    unsigned char *out;
    size_t n;
    sign__inflate_status st;
} deflate_step;

static void deflate_step_run(void *arg)
{
    deflate_step *d = arg;

    d->st = sign__inflate_run(d->inf, &d->next, &d->inlen, d->out, DEFLATE_OUT, &d->n);
}

/* One run of the inflater into w->zout: 0, or SIGN_EIO when its input was mapped and the file shrank under it. */
static int deflate_run(walk *w, const unsigned char **next, size_t *inlen, size_t *n, sign__inflate_status *st)
{
    deflate_step d = {w->inf, *next, *inlen, w->zout, 0, SIGN__INFLATE_MORE};

    if (w->map == NULL) {
        deflate_step_run(&d);
    } else if (sign__fmap_guard(w->map, deflate_step_run, &d) != 0) {
        return sign__error(SIGN_EIO, "%s: the file changed size while it was read", w->path);
    }
    *next = d.next;
    *inlen = d.inlen;
    *n = d.n;
    *st = d.st;
    return 0;
}

/*
 * Read one deflate entry's content (x->csize bytes at x->data_offset) with util/inflate: the same
 * findings as libarchive's reader, the CRC-32 and both sizes checked against the central directory.
 */
static int walk_deflate(walk *w, sign_entry *e, const sign__zip_entry *x, size_t *headlen)
{
    content c;
    uint64_t pos = x->data_offset, left = x->csize;
    const unsigned char *next = NULL;
    size_t inlen = 0;
    sign__inflate_status st = SIGN__INFLATE_MORE;
    int r, ok = -2, truncated = 0, unreadable = 0;

    *headlen = 0;
    if ((r = deflate_ready(w)) != 0 || (r = content_start(&c, w, x)) != 0) {
        return r;
    }
    while (ok == -2) {
        size_t n = 0;

        content_keep(w, &c); /* the next run reuses w->zout */
        if (inlen == 0 && left > 0) {
            if ((r = deflate_read(w, &next, &pos, &left, &inlen)) != 0) {
                sign_digest_free(c.ctx);
                return r;
            }
            truncated = inlen == 0;
            left = truncated ? 0 : left;
        }
        if ((r = deflate_run(w, &next, &inlen, &n, &st)) != 0) {
            sign_digest_free(c.ctx);
            return r;
        }
        if (n > 0 && (r = content_take(w, &c, e, w->zout, n)) != 0) {
            if (r == 1) {
                ok = 0;
                break;
            }
            sign_digest_free(c.ctx);
            return r;
        }
        if (st != SIGN__INFLATE_MORE || (n == 0 && inlen == 0 && left == 0)) {
            truncated |= st == SIGN__INFLATE_MORE;
            ok = deflate_verdict(w, e, x, st, truncated);
            unreadable = st != SIGN__INFLATE_END;
        }
    }
    if (ok < 0) {
        sign_digest_free(c.ctx);
        return sign__oom();
    }
    if (unreadable) {
        /*
         * How much comes out before bad or missing data is found is the engine's own (igzip decodes
         * ahead of zlib): none of it is kept, so the answer is the same with either. The entry is
         * listed with its declared size, and its partial content is not scanned.
         */
        w->total_out -= c.out;
        c.out = x->usize;
        c.headlen = 0;
    }
    *headlen = c.headlen;
    w->headp = c.headp;
    return content_end(w, &c, e, x, ok);
}

/* The last entry appended is a deflate entry: its content is read later, by a chunk (walk_parallel). */
static int walk_defer(walk *w, const sign__zip_entry *x)
{
    if (w->njobs == w->capjobs) {
        w->unclean = 1; /* (one job per directory entry is room for all: never here) */
        w->stop = 1;
        return 0;
    }
    w->jobs[w->njobs++] = (walk_job){w->a->n_entries - 1, x, w->a->findings.n, 0};
    return 0;
}

static int walk_entry(walk *w, struct archive *ar, struct archive_entry *ae, size_t i)
{
    const sign__zip_entry *x = i < w->z->n ? w->sorted[i] : NULL;
    const char *raw = archive_entry_pathname(ae), *u8 = archive_entry_pathname_utf8(ae);
    const char *name = NULL;
    size_t name_len = 0, headlen = 0;
    sign_entry *e;
    unsigned int ft = archive_entry_filetype(ae);
    int matched = 0, r;

    if (x != NULL) {
        if ((raw == NULL && u8 == NULL) || same_name(raw, x->name, x->name_len) ||
            same_name(u8, x->name, x->name_len)) {
            /* (No name at all: libarchive could not convert it; the central directory's is the name.) */
            name = x->name;
            name_len = x->name_len;
            matched = 1;
        } else if (x->local_name != NULL && (same_name(raw, x->local_name, x->local_name_len) ||
                                             same_name(u8, x->local_name, x->local_name_len))) {
            name = x->local_name;
            name_len = x->local_name_len;
            matched = 1;
        }
    }
    if (!matched) {
        name = raw != NULL ? raw : u8 != NULL ? u8 : "";
        name_len = strlen(name);
        sign__zip_check_name(&w->a->findings, name, name_len, w->lim);
        sign__finding_add(&w->a->findings, "zip-view-mismatch", SIGN_SEVERITY_DANGER, name, name_len,
                          "libarchive reads entry %zu under a name the central directory does not list there: "
                          "the archive's two views disagree; rebuild it",
                          i);
        x = NULL;
    }
    /* Declared sizes first: never start inflating what announces itself as a bomb. */
    if (x != NULL) {
        if (x->usize > ratio_limit(x->csize, w->lim->entry_max_ratio) && x->usize > RATIO_FLOOR_ENTRY) {
            w->stop = 1;
            return sign__finding_add(&w->a->findings, "zip-limit-entry-ratio", SIGN_SEVERITY_DANGER, name, name_len,
                                     "entry declares %llu bytes from %llu compressed (a zip bomb?); walking "
                                     "stopped: raise the limit only if this is expected",
                                     (unsigned long long)x->usize, (unsigned long long)x->csize);
        }
        if (x->usize > UINT64_MAX - w->declared_total || w->declared_total + x->usize > w->lim->archive_max_total) {
            w->stop = 1;
            return sign__finding_add(&w->a->findings, "zip-limit-total", SIGN_SEVERITY_DANGER, NULL, 0,
                                     "entries declare more than %llu bytes in total; walking stopped: raise the "
                                     "limit only if this is expected",
                                     (unsigned long long)w->lim->archive_max_total);
        }
        w->declared_total += x->usize;
    }
    if ((e = entry_append(w->a)) == NULL) {
        return sign__oom();
    }
    if ((e->path = malloc(name_len + 1)) == NULL) {
        w->a->n_entries--;
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy((char *)e->path, name, name_len);
    ((char *)e->path)[name_len] = '\0';
    if (archive_entry_hardlink(ae) != NULL) {
        e->type = SIGN_ENTRY_HARDLINK;
    } else if (ft == AE_IFREG) {
        e->type = SIGN_ENTRY_FILE;
    } else if (ft == AE_IFDIR) {
        e->type = SIGN_ENTRY_DIR;
    } else if (ft == AE_IFLNK) {
        e->type = SIGN_ENTRY_SYMLINK;
    } else if (ft == 0) {
        e->type = name_len > 0 && name[name_len - 1] == '/' ? SIGN_ENTRY_DIR : SIGN_ENTRY_FILE;
    } else {
        e->type = SIGN_ENTRY_OTHER;
    }
    if (x != NULL && (x->made_by >> 8) == 3 && (x->ext_attr >> 16) != 0) {
        e->mode = (x->ext_attr >> 16) & 07777;
    } else if (x == NULL) {
        e->mode = archive_entry_perm(ae) & 07777;
    } else {
        e->mode = e->type == SIGN_ENTRY_DIR ? 0755 : e->type == SIGN_ENTRY_SYMLINK ? 0777 : 0644;
    }
    if (e->type == SIGN_ENTRY_SYMLINK || e->type == SIGN_ENTRY_HARDLINK) {
        const char *t = e->type == SIGN_ENTRY_SYMLINK ? archive_entry_symlink(ae) : archive_entry_hardlink(ae);

        if (t == NULL) {
            t = e->type == SIGN_ENTRY_SYMLINK ? archive_entry_symlink_utf8(ae) : archive_entry_hardlink_utf8(ae);
        }
        if ((e->link_target = sign__strdup(t != NULL ? t : "")) == NULL) {
            return sign__oom();
        }
        e->size = strlen(e->link_target);
        return w->hook != NULL ? w->hook->entry(w->hook->ctx, e, (int64_t)archive_entry_mtime(ae)) : 0;
    }
    if (w->hook != NULL && (r = w->hook->entry(w->hook->ctx, e, (int64_t)archive_entry_mtime(ae))) != 0) {
        return r;
    }
    if ((x != NULL && (x->flags & 1)) || archive_entry_is_encrypted(ae)) {
        if (w->hook != NULL) {
            return sign__error(SIGN_EVERIFY, "%s: entry %s is encrypted: nothing is written", w->path, e->path);
        }
        e->size = x != NULL ? x->usize : (uint64_t)archive_entry_size(ae);
        return sign__finding_add(&w->a->findings, "zip-encrypted", SIGN_SEVERITY_DANGER, name, name_len,
                                 "entry is encrypted and cannot be hashed: sign the unencrypted files instead");
    }
    if (e->type != SIGN_ENTRY_FILE) {
        return 0;
    }
    /* Deflate, as both the directory and the local header say: our inflater; anything else: libarchive. */
    if (x != NULL && x->method == 8 && x->lfh_ok && x->local_method == 8) {
        if (w->defer) {
            return walk_defer(w, x);
        }
        r = walk_deflate(w, e, x, &headlen);
    } else {
        r = walk_data(w, ar, e, x, &headlen);
    }
    if (r != 0) {
        return r;
    }
    return sign__secrets_check(&w->a->findings, e->path, headlen > 0 ? w->headp : NULL, headlen);
}

/* ---- symlinks --------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_link(char **links, size_t n, const char *p)
{
    return n > 0 && bsearch(&p, links, n, sizeof(*links), cmp_str) != NULL;
}

/* sign__path_is_link_fn over the sorted, normalised symlink paths of the archive. */
typedef struct linkset {
    char **v;
    size_t n;
} linkset;

static int linkset_has(void *ctx, const char *p)
{
    const linkset *l = ctx;

    return is_link(l->v, l->n, p);
}

static int check_links(sign_artifact *a)
{
    linkset ls = {NULL, 0};
    char *np = NULL;
    int r = 0;

    for (size_t i = 0; i < a->n_entries; i++) {
        ls.n += a->entries[i].type == SIGN_ENTRY_SYMLINK;
    }
    if (ls.n == 0) {
        return 0;
    }
    if ((ls.v = calloc(ls.n, sizeof(*ls.v))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    ls.n = 0;
    for (size_t i = 0; i < a->n_entries; i++) {
        if (a->entries[i].type == SIGN_ENTRY_SYMLINK) {
            if ((ls.v[ls.n] = sign__path_norm(a->entries[i].path)) == NULL) {
                r = sign__oom();
                goto out;
            }
            ls.n++;
        }
    }
    qsort(ls.v, ls.n, sizeof(*ls.v), cmp_str);
    for (size_t i = 0; i < a->n_entries && r == 0; i++) {
        const sign_entry *e = &a->entries[i];
        int esc = 0;

        /* One rule for zip, tar and --tree (util/path); an absolute target leaves an extracted archive. */
        if (e->type == SIGN_ENTRY_SYMLINK &&
            (esc = sign__path_link_escapes(e->path, e->link_target, 0, linkset_has, &ls)) < 0) {
            r = esc;
            break;
        }
        if (esc) {
            r = sign__finding_add(&a->findings, "zip-symlink-escape", SIGN_SEVERITY_DANGER, e->path, SIZE_MAX,
                                  "symlink points outside the archive root (to \"%.200s\"): remove it or make it "
                                  "relative inside the tree",
                                  e->link_target);
        }
        /* An entry written through a symlink of the archive lands wherever that link points. */
        if (r != 0 || (np = sign__path_norm(e->path)) == NULL) {
            r = r != 0 ? r : sign__oom();
            break;
        }
        for (char *q = strchr(np, '/'); q != NULL && r == 0; q = strchr(q + 1, '/')) {
            *q = '\0';
            if (is_link(ls.v, ls.n, np)) {
                r = sign__finding_add(&a->findings, "zip-path-through-symlink", SIGN_SEVERITY_DANGER, e->path,
                                      SIZE_MAX,
                                      "entry is stored below a symlink of the same archive; extracting it "
                                      "writes wherever that link points: rebuild the archive");
                break;
            }
            *q = '/';
        }
        free(np);
        np = NULL;
    }
out:
    for (size_t i = 0; ls.v != NULL && i < ls.n; i++) {
        free(ls.v[i]);
    }
    free(ls.v);
    free(np);
    return r;
}

/* Where a walk reads its zip: fd, or map when it is not NULL. */
typedef struct walk_src {
    int fd;
    const sign__fmap *map;
} walk_src;

static int walk_zip_in(sign_artifact *a, const walk_src *src, const char *path, const sign_limits *lim,
                       const sign__entry_hook *hook);

/*
 * libarchive converts UTF-8 entry names to the current locale's charset and
 * drops names it cannot convert. The library must not depend on the
 * caller's locale, so the walk runs with this thread (only) in C.UTF-8:
 * flagged names then pass unchanged, unflagged ones are raw bytes anyway.
 */
static int walk_zip(sign_artifact *a, const walk_src *src, const char *path, const sign_limits *lim,
                    const sign__entry_hook *hook)
{
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;
    int r;

    if (utf8 != (locale_t)0) {
        old = uselocale(utf8);
    }
    r = walk_zip_in(a, src, path, lim, hook);
    if (utf8 != (locale_t)0) {
        uselocale(old);
        freelocale(utf8);
    }
    return r;
}

/*
 * Entries [first, end) of the central directory (in local-header order) through ar, which is
 * positioned before entry first. Sequentially (is_part 0) this is the whole walk. In a part of
 * a parallel walk anything that is not a plain, readable entry (a header libarchive refuses,
 * an early end, more entries than listed, a limit) marks the part unclean: the caller then
 * discards every part and walks the archive sequentially, so findings stay those of one walk.
 */
static int walk_range(walk *w, struct archive *ar, size_t first, size_t end, int is_part)
{
    sign_artifact *a = w->a;
    const sign__zip *z = w->z;
    struct archive_entry *ae;
    int r;

    for (size_t i = first; !w->stop; i++) {
        int ar_r;

        if (i >= end) {
            if (end < z->n) {
                break; /* a part that ends before the last entry */
            }
            /* libarchive lists more than the central directory we read (or than the entry limit). */
            if (!z->entries_capped && archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
                if (is_part) {
                    w->unclean = 1;
                    break;
                }
                sign__finding_add(&a->findings, "zip-view-mismatch", SIGN_SEVERITY_DANGER, NULL, 0,
                                  "libarchive lists more entries than the central directory holds: rebuild the "
                                  "archive");
            }
            break;
        }
        ar_r = archive_read_next_header(ar, &ae);
        if (ar_r == ARCHIVE_EOF) {
            if (is_part) {
                w->unclean = 1;
                break;
            }
            if (a->n_entries < z->n) {
                sign__finding_add(&a->findings, "zip-view-mismatch", SIGN_SEVERITY_DANGER, NULL, 0,
                                  "libarchive lists %zu entries, the central directory %zu: rebuild the archive", i,
                                  z->n);
            }
            break;
        }
        if (ar_r == ARCHIVE_FATAL || ar_r == ARCHIVE_FAILED || ar_r == ARCHIVE_RETRY) {
            const sign__zip_entry *x = w->sorted[i];

            if (is_part) {
                w->unclean = 1;
                break;
            }
            sign__finding_add(&a->findings, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                              "libarchive cannot read this entry's header (%s): rebuild the archive", ar_msg(ar));
            archive_clear_error(ar);
            if (ar_r == ARCHIVE_FATAL) {
                break;
            }
            continue;
        }
        archive_clear_error(ar); /* warnings of the header are covered by our own comparison */
        if ((r = walk_entry(w, ar, ae, i)) != 0) {
            return r;
        }
        map_release(w->map, &w->kept, w->sorted[i]->end);
    }
    if (is_part && w->stop) {
        w->unclean = 1;
    }
    return 0;
}

/* ---- parallel entry walk ------------------------------------------------------ */

/*
 * Inflating and hashing the entries is most of a zip's cost. A parallel walk
 * has two stages. First one libarchive handle walks every header in order on
 * this thread (while another thread hashes the whole file): the entries, their
 * names and types, symlinks, and the content of every entry that is not plain
 * deflate, exactly as the sequential walk does, except that a deflate entry's
 * content is left as a job. Then the jobs, in chunks of about equal
 * uncompressed size, several per thread, are inflated and hashed by whichever
 * thread is free (util/inflate over the entry's own bytes: no libarchive, so a
 * chunk can start anywhere). The findings are then put in the order of one
 * sequential walk. Limits that add up over the archive (total inflated and
 * declared bytes, the findings cap) are checked on the sums: when a stage
 * stopped, met anything unusual, or the sums reach a limit, everything is
 * discarded and the archive walked sequentially, which reports exactly as
 * before.
 */
#define WALK_MAX_PARTS 4
#define WALK_CHUNKS 8      /* chunks of the deflate jobs per thread: a thread that is free takes the next one */
#define WALK_MAP_READ 4096 /* the first read for libarchive after a seek or skip: a header */

/* The header walk: one libarchive handle reading the descriptor through pread at its own offset. */
typedef struct walk_part {
    walk w;
    int fd;
    uint64_t pos, size;
    unsigned char *buf;
    size_t block; /* the next read's size, doubled while libarchive reads on (a stored entry) */
    int rc;
    char msg[1024];
} walk_part;

static size_t walk_parts_forced; /* 0: one per thread of the budget (tests set 1 to compare with a sequential walk) */

void sign__zip_walk_parts(size_t n)
{
    walk_parts_forced = n;
}

static size_t walk_fallbacks; /* parallel walks discarded for a sequential one (atomic) */

size_t sign__zip_walk_fallbacks(void)
{
    return __atomic_load_n(&walk_fallbacks, __ATOMIC_RELAXED);
}

/* pread, never the mapping: the header walk reads headers, and the content of entries that are not deflate. */
static la_ssize_t part_read(struct archive *ar, void *data, const void **buf)
{
    walk_part *p = data;
    size_t want = p->block;
    ssize_t n;

    *buf = p->buf;
    if (p->pos >= p->size) {
        return 0;
    }
    p->block = p->block < LIBARCHIVE_BLOCK / 2 ? p->block * 2 : LIBARCHIVE_BLOCK;
    if ((uint64_t)want > p->size - p->pos) {
        want = (size_t)(p->size - p->pos);
    }
    do {
        n = pread(p->fd, p->buf, want, (off_t)p->pos);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        archive_set_error(ar, errno, "read error at offset %llu: %s", (unsigned long long)p->pos, strerror(errno));
        return -1;
    }
    p->pos += (uint64_t)n;
    return (la_ssize_t)n;
}

static la_int64_t part_seek(struct archive *ar, void *data, la_int64_t off, int whence)
{
    walk_part *p = data;
    la_int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (la_int64_t)p->pos : (la_int64_t)p->size;

    if ((off > 0 && base > INT64_MAX - off) || base + off < 0) {
        archive_set_error(ar, EINVAL, "seek outside the file");
        return ARCHIVE_FATAL;
    }
    p->pos = (uint64_t)(base + off);
    p->block = WALK_MAP_READ;
    return base + off;
}

static la_int64_t part_skip(struct archive *ar, void *data, la_int64_t request)
{
    walk_part *p = data;
    uint64_t left = p->pos < p->size ? p->size - p->pos : 0;

    (void)ar;
    if (request <= 0) {
        return 0;
    }
    if ((uint64_t)request > left) {
        request = (la_int64_t)left;
    }
    p->pos += (uint64_t)request;
    p->block = WALK_MAP_READ;
    return request;
}

static int part_run(walk_part *p)
{
    struct archive *ar = NULL;
    int r = 0;

    if ((p->buf = malloc(LIBARCHIVE_BLOCK)) == NULL || (p->w.head = malloc(SIGN__SECRET_SCAN_MAX)) == NULL ||
        (p->w.a = calloc(1, sizeof(*p->w.a))) == NULL ||
        (p->w.a->entries = malloc(p->w.z->n * sizeof(*p->w.a->entries))) == NULL ||
        (ar = archive_read_new()) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    p->w.a->cap_entries = p->w.z->n; /* one per entry of the directory, unless libarchive lists more (unclean) */
    if (archive_read_support_format_zip_seekable(ar) != ARCHIVE_OK ||
        archive_read_set_callback_data(ar, p) != ARCHIVE_OK ||
        archive_read_set_read_callback(ar, part_read) != ARCHIVE_OK ||
        archive_read_set_seek_callback(ar, part_seek) != ARCHIVE_OK ||
        archive_read_set_skip_callback(ar, part_skip) != ARCHIVE_OK || archive_read_open1(ar) != ARCHIVE_OK) {
        p->w.unclean = 1;
        goto out;
    }
    r = walk_range(&p->w, ar, 0, p->w.z->n, 1);
out:
    if (ar != NULL) {
        archive_read_free(ar);
    }
    free(p->buf);
    p->buf = NULL;
    free(p->w.head);
    p->w.head = NULL;
    deflate_release(&p->w);
    return r;
}

/* The header walk, with this thread (only) in C.UTF-8, as walk_zip. */
static void part_one(walk_part *p)
{
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;

    if (utf8 != (locale_t)0) {
        old = uselocale(utf8);
    }
    p->rc = part_run(p);
    if (p->rc != 0) {
        snprintf(p->msg, sizeof(p->msg), "%s", sign_error_last());
    }
    if (utf8 != (locale_t)0) {
        uselocale(old);
        freelocale(utf8);
    }
}

/* Jobs [first, end) of the header walk, inflated and hashed into their entries; findings in w.a. */
typedef struct walk_chunk {
    walk w;
    walk_job *jobs;
    sign_entry *entries;
    size_t first, end;
    int rc;
    char msg[1024];
} walk_chunk;

static int chunk_run(walk_chunk *c)
{
    walk *w = &c->w;
    int r = 0;

    if ((w->head = malloc(SIGN__SECRET_SCAN_MAX)) == NULL || (w->a = calloc(1, sizeof(*w->a))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    w->kept = c->jobs[c->first].x->lfh_offset;
    for (size_t j = c->first; j < c->end && !w->stop && r == 0; j++) {
        walk_job *job = &c->jobs[j];
        sign_entry *e = &c->entries[job->ei];
        size_t headlen = 0;

        if ((r = walk_deflate(w, e, job->x, &headlen)) == 0) {
            r = sign__secrets_check(&w->a->findings, e->path, headlen > 0 ? w->headp : NULL, headlen);
        }
        job->fend = w->a->findings.n;
        map_release(w->map, &w->kept, job->x->end);
    }
    if (w->map != NULL) {
        sign__fmap_release(w->map, w->kept, c->jobs[c->end - 1].x->end); /* the chunk's tail */
    }
    w->unclean |= w->stop;
    return r;
}

static void chunk_one(void *arg, size_t k)
{
    walk_chunk *c = (walk_chunk *)arg + k;

    c->rc = chunk_run(c);
    if (c->rc != 0) {
        snprintf(c->msg, sizeof(c->msg), "%s", sign_error_last());
    }
    free(c->w.head);
    c->w.head = NULL;
    deflate_release(&c->w);
}

/* Move finding x into a, unless a has its id and path already (as sign__finding_add would have dropped it). */
static void finding_move(sign_artifact *a, sign_finding *x)
{
    for (size_t j = 0; j < a->findings.n; j++) {
        const sign_finding *y = &a->findings.v[j];

        if (strcmp(x->id, y->id) == 0 && ((x->path == NULL && y->path == NULL) ||
                                          (x->path != NULL && y->path != NULL && strcmp(x->path, y->path) == 0))) {
            free((char *)x->path);
            free((char *)x->message);
            return;
        }
    }
    a->findings.v[a->findings.n++] = *x; /* transferred (a->findings has room: walk_merge) */
}

/*
 * Move the header walk's entries and the findings of both stages into a, the
 * findings in the order of one sequential walk: each job's after the header
 * walk's that came before it.
 */
static int walk_merge(sign_artifact *a, sign_artifact *hw, const walk_job *jobs, size_t njobs, walk_chunk *ch,
                      size_t nc)
{
    size_t ne = a->n_entries + hw->n_entries, nf = a->findings.n + hw->findings.n, fi = 0, k = 0, from = 0;

    for (size_t i = 0; i < nc; i++) {
        nf += ch[i].w.a->findings.n;
    }
    if (nf > a->findings.cap) {
        sign_finding *v = realloc(a->findings.v, nf * sizeof(*v));

        if (v == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        a->findings.v = v;
        a->findings.cap = nf;
    }
    if (a->n_entries == 0) {
        /* The header walk's array becomes a's, not a copy (its size counts in deploy's RSS). */
        sign_entry *t = a->entries;
        size_t tc = a->cap_entries;

        a->entries = hw->entries;
        a->cap_entries = hw->cap_entries;
        hw->entries = t;
        hw->cap_entries = tc;
    } else if (ne > a->cap_entries) {
        sign_entry *v = realloc(a->entries, ne * sizeof(*v));

        if (v == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        a->entries = v;
        a->cap_entries = ne;
    }
    if (hw->n_entries > 0 && a->n_entries > 0) {
        memcpy(a->entries + a->n_entries, hw->entries, hw->n_entries * sizeof(*hw->entries));
    }
    a->n_entries += hw->n_entries;
    hw->n_entries = 0; /* transferred */
    for (size_t j = 0; j < njobs; j++) {
        if (j == ch[k].end) {
            k++;
            from = 0;
        }
        for (; fi < jobs[j].fbefore; fi++) {
            finding_move(a, &hw->findings.v[fi]);
        }
        for (; from < jobs[j].fend; from++) {
            finding_move(a, &ch[k].w.a->findings.v[from]);
        }
    }
    for (; fi < hw->findings.n; fi++) {
        finding_move(a, &hw->findings.v[fi]);
    }
    hw->findings.n = 0;
    for (size_t i = 0; i < nc; i++) {
        ch[i].w.a->findings.n = 0;
    }
    return 0;
}

/* The header walk's jobs in chunks of about equal uncompressed size, np * WALK_CHUNKS of them at most. */
static walk_chunk *chunks_plan(size_t *nc, const walk *hw, const walk *w, size_t np)
{
    uint64_t usum = 0, acc = 0, share;
    size_t n = hw->njobs < np * WALK_CHUNKS ? hw->njobs : np * WALK_CHUNKS, i = 0;
    walk_chunk *ch = calloc(n > 0 ? n : 1, sizeof(*ch));

    *nc = n;
    if (ch == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t j = 0; j < hw->njobs; j++) {
        usum += hw->jobs[j].x->usize < UINT64_MAX - usum ? hw->jobs[j].x->usize : 0;
    }
    share = n > 0 ? usum / n : 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t target = share > UINT64_MAX / (k + 1) ? UINT64_MAX : share * (k + 1);

        ch[k].first = i;
        /* At least one job each: the later chunks keep one apiece. */
        while (i < hw->njobs && (k == n - 1 || ((acc < target || i == ch[k].first) && i < hw->njobs - (n - 1 - k)))) {
            acc += hw->jobs[i].x->usize < UINT64_MAX - acc ? hw->jobs[i].x->usize : 0;
            i++;
        }
        ch[k].end = k == n - 1 ? hw->njobs : i;
        ch[k].jobs = hw->jobs;
        ch[k].entries = hw->a->entries;
        ch[k].w.z = w->z;
        ch[k].w.lim = w->lim;
        ch[k].w.path = w->path;
        ch[k].w.fd = w->fd;
        ch[k].w.map = w->map;
    }
    return ch;
}

/*
 * The walk in two stages. 0 with *done = 1 when the results are now in a; 0 with *done = 0
 * when the archive must be walked sequentially (a stage was unclean, or a sum reached a limit).
 */
static int walk_parallel(int *done, walk *w, int fd, size_t np)
{
    sign_artifact *a = w->a;
    const sign__zip *z = w->z;
    const sign_limits *lim = w->lim;
    walk_part hp;
    walk_chunk *ch = NULL;
    uint64_t declared, out;
    size_t findings = a->findings.n, nc = 0;
    int r = 0, clean = 1;

    *done = 0;
    memset(&hp, 0, sizeof(hp));
    hp.fd = fd;
    hp.size = z->file_size;
    hp.block = WALK_MAP_READ;
    hp.w.z = z;
    hp.w.sorted = w->sorted;
    hp.w.lim = lim;
    hp.w.path = w->path;
    hp.w.fd = fd;
    hp.w.defer = 1;
    /* A job per entry at most: one allocation, not a doubling array (deploy's verification counts in its RSS). */
    if ((hp.w.jobs = malloc(z->n * sizeof(*hp.w.jobs))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    hp.w.capjobs = z->n;
    part_one(&hp);
    if (hp.rc != 0) {
        r = sign__error(hp.rc, "%s", hp.msg);
        goto out;
    }
    if (hp.w.a == NULL || hp.w.unclean || hp.w.a->findings.overflow) {
        clean = 0;
        goto out;
    }
    if ((ch = chunks_plan(&nc, &hp.w, w, np)) == NULL) {
        r = SIGN_ENOMEM;
        goto out;
    }
    sign__pool_for(nc, chunk_one, ch);
    declared = hp.w.declared_total;
    out = hp.w.total_out;
    findings += hp.w.a->findings.n;
    for (size_t k = 0; k < nc; k++) {
        if (ch[k].rc != 0 && r == 0) {
            r = sign__error(ch[k].rc, "%s", ch[k].msg);
        }
        if (ch[k].w.a == NULL || ch[k].w.unclean || ch[k].w.a->findings.overflow ||
            ch[k].w.total_out > UINT64_MAX - out) {
            clean = 0;
            continue;
        }
        findings += ch[k].w.a->findings.n;
        out += ch[k].w.total_out;
    }
    if (r != 0 || !clean) {
        goto out;
    }
    /* The sums decide as one walk's running totals would have (they only grow). */
    if (declared > lim->archive_max_total || out > lim->archive_max_total ||
        (out > ratio_limit(z->file_size, lim->archive_max_ratio) && out > RATIO_FLOOR_ARCHIVE) ||
        findings >= SIGN__FINDINGS_MAX) {
        clean = 0;
        goto out;
    }
    if ((r = walk_merge(a, hp.w.a, hp.w.jobs, hp.w.njobs, ch, nc)) != 0) {
        goto out;
    }
    w->declared_total = declared;
    w->total_out = out;
    *done = 1;
out:
    if (r == 0 && !clean) {
        __atomic_fetch_add(&walk_fallbacks, 1, __ATOMIC_RELAXED);
    }
    for (size_t k = 0; ch != NULL && k < nc; k++) {
        sign_artifact_free(ch[k].w.a);
    }
    free(ch);
    free(hp.w.jobs);
    sign_artifact_free(hp.w.a);
    return r;
}

static size_t walk_parts(const sign__zip *z)
{
    size_t np = walk_parts_forced > 0 ? walk_parts_forced : sign__pool_budget();

    if (np > WALK_MAX_PARTS) {
        np = WALK_MAX_PARTS;
    }
    return np > z->n ? z->n : np;
}

static int walk_zip_in(sign_artifact *a, const walk_src *src, const char *path, const sign_limits *lim,
                       const sign__entry_hook *hook)
{
    int fd = src->fd;
    const sign__fmap *map = src->map;
    sign__zip *z = NULL;
    struct archive *ar = NULL;
    walk w;
    size_t np;
    int r, done = 0;

    memset(&w, 0, sizeof(w));
    if ((r = sign__zip_parse(&z, fd, map, a->size, path, lim, &a->findings)) != 0) {
        goto out;
    }
    if (map != NULL) {
        sign__fmap_release(map, 0, map->size); /* the parser touched every local header */
    }
    w.a = a;
    w.z = z;
    w.lim = lim;
    w.path = path;
    w.fd = fd;
    w.map = map != NULL && map->p != NULL ? map : NULL;
    w.hook = hook;
    if ((w.head = malloc(SIGN__SECRET_SCAN_MAX)) == NULL ||
        (z->n > 0 && (w.sorted = malloc(z->n * sizeof(*w.sorted))) == NULL)) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < z->n; i++) {
        w.sorted[i] = &z->e[i];
    }
    if (z->n > 0) {
        qsort(w.sorted, z->n, sizeof(*w.sorted), cmp_lfh);
    }
    if (z->n == 0) {
        r = 0;
        goto out;
    }
    /* An extraction (hook) reads the entries once, in order, on this thread. */
    if (hook == NULL && (np = walk_parts(z)) > 1 && (r = walk_parallel(&done, &w, fd, np)) != 0) {
        goto out;
    }
    if (!done) {
        if (lseek(fd, 0, SEEK_SET) != 0) {
            r = sign__error(SIGN_EIO, "%s: cannot seek: %s", path, strerror(errno));
            goto out;
        }
        if ((ar = archive_read_new()) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        if (archive_read_support_format_zip_seekable(ar) != ARCHIVE_OK ||
            archive_read_open_fd(ar, fd, LIBARCHIVE_BLOCK) != ARCHIVE_OK) {
            /* Our parser found a central directory that libarchive refuses: report, keep the structural findings. */
            r = sign__finding_add(&a->findings, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, NULL, 0,
                                  "libarchive cannot open the archive (%s): extractors may not read it; rebuild it",
                                  ar_msg(ar));
            goto out;
        }
        if ((r = walk_range(&w, ar, 0, z->n, 0)) != 0) {
            goto out;
        }
    }
    if ((r = check_links(a)) != 0) {
        goto out;
    }
    r = 0;
out:
    if (ar != NULL) {
        archive_read_free(ar);
    }
    free(w.head);
    deflate_release(&w);
    free(w.sorted);
    sign__zip_free(z);
    return r;
}

/* ---- container images (tar.c, oci.c) ------------------------------------------- */

void sign__artifact_set_oci(sign_artifact *a, sign__oci *o)
{
    sign__oci_free(a->oci);
    a->oci = o;
}

const sign__oci *sign__artifact_oci(const sign_artifact *a)
{
    return a->oci;
}

/* Layer findings: into the artifact's list, naming the layer. */
static int merge_findings(sign_artifact *a, const sign__findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        int r = sign__finding_add(&a->findings, f->v[i].id, f->v[i].severity, f->v[i].path, SIZE_MAX, "%s",
                                  f->v[i].message != NULL ? f->v[i].message : "");

        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static int adopt_oci(sign_artifact *a, sign__oci *o, const char *path, const sign_artifact_options *opts);

/*
 * is_dir: an OCI image layout; tar_kind 1: a layer blob, 2: a docker save
 * archive. Returns SIGN_EINVAL without a message for a directory that is not
 * an image layout.
 */
static int scan_image(sign_artifact *a, int fd, int is_dir, int tar_kind, const char *path,
                      const sign_artifact_options *opts, const sign_limits *lim)
{
    sign__oci *o = NULL;
    int r;

    if (is_dir) {
        struct stat lst;

        if (fstatat(fd, "oci-layout", &lst, AT_SYMLINK_NOFOLLOW) != 0) {
            return SIGN_EINVAL;
        }
    }
    if (tar_kind == 1) {
        sign__image *img;
        sign__layer *l;

        if ((o = calloc(1, sizeof(*o))) == NULL || (o->images = calloc(1, sizeof(*o->images))) == NULL ||
            (o->images[0].layers = calloc(1, sizeof(sign__layer))) == NULL) {
            sign__oci_free(o);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        o->n_images = 1;
        img = &o->images[0];
        img->n_layers = 1;
        l = &img->layers[0];
        a->oci = o;
        a->kind = SIGN_ARTIFACT_LAYER;
        sign__progress pr = {opts->progress, opts->progress_userdata, path, a->size, 0};

        if ((r = sign__layer_walk(l, fd, 0, a->size, path, lim, !(opts->flags & SIGN_ARTIFACT_NO_ENTRIES), &pr)) !=
                0 ||
            (r = merge_findings(a, &l->findings)) != 0) {
            return r;
        }
        if (l->size != a->size) {
            return sign__error(SIGN_EIO, "%s: the file changed size while it was read", path);
        }
        memcpy(a->sha256, l->digest, sizeof(a->sha256));
        a->entries = l->entries; /* transferred: the layer's entries are the artifact's */
        a->n_entries = l->n_entries;
        a->cap_entries = l->cap_entries;
        l->entries = NULL;
        l->n_entries = l->cap_entries = 0;
        return 0;
    }
    a->kind = is_dir ? SIGN_ARTIFACT_OCI : SIGN_ARTIFACT_DOCKER;
    if ((r = sign__oci_read(&o, fd, is_dir, a->size, path, a->name, opts->version >= 2 ? opts->ref : NULL,
                            ((opts->flags & SIGN_ARTIFACT_ALL_IMAGES) != 0 ? SIGN__OCI_ALL_IMAGES : 0) |
                                ((opts->flags & SIGN__ARTIFACT_LAYERS_UNREAD) != 0 ? SIGN__OCI_LAYERS_UNREAD : 0),
                            lim, &a->findings, opts->progress, opts->progress_userdata)) != 0) {
        return r;
    }
    return adopt_oci(a, o, path, opts);
}

/* The image's subject: the index (--all) or the manifest; integrity problems fail unless kept. */
static int adopt_oci(sign_artifact *a, sign__oci *o, const char *path, const sign_artifact_options *opts)
{
    a->oci = o;
    if (o->n_problems > 0 && !(opts->flags & SIGN_ARTIFACT_KEEP_PROBLEMS)) {
        return sign__error(SIGN_EDIGEST, "%s: %s", path, o->problems[0].message);
    }
    if (o->has_index) {
        memcpy(a->sha256, o->index, sizeof(a->sha256));
    } else if (o->n_images > 0) {
        memcpy(a->sha256, o->images[0].has_manifest ? o->images[0].manifest : o->images[0].config, sizeof(a->sha256));
    }
    a->size = o->has_index                                   ? o->index_size
              : o->n_images > 0 && o->images[0].has_manifest ? o->images[0].manifest_size
                                                             : a->size;
    return 0;
}

/* An image in a registry: path is the reference (docker://...). */
static int registry_image(sign_artifact *a, const char *path, const char *name, const sign_artifact_options *opts,
                          const sign_limits *lim)
{
    sign__registry_options ro;
    sign__registry *reg = NULL;
    sign__regref ref;
    sign__oci *o = NULL;
    char dflt[600];
    int r;

    memset(&ro, 0, sizeof(ro));
    ro.insecure = (opts->flags & SIGN_ARTIFACT_REGISTRY_INSECURE) != 0;
    if ((r = sign__regref_parse(&ref, path)) != 0) {
        return r;
    }
    snprintf(dflt, sizeof(dflt), "%s/%s", ref.host, ref.repo);
    if ((r = sign_artifact_name_normalise(&a->name, name != NULL ? name : dflt)) != 0) {
        return sign__error_context(r, "%s", path);
    }
    if ((r = sign__registry_open(&reg, &ref, &ro)) != 0) {
        return r;
    }
    a->kind = SIGN_ARTIFACT_OCI;
    r = sign__oci_read_registry(&o, reg, ref.digest[0] != '\0' ? ref.digest : ref.tag, path, a->name,
                                opts->version >= 3 && opts->platform != NULL ? opts->platform : opts->ref,
                                (opts->flags & SIGN_ARTIFACT_ALL_IMAGES) != 0, lim, &a->findings, opts->progress,
                                opts->progress_userdata);
    sign__registry_free(reg);
    if (r != 0) {
        return r;
    }
    a->size = 0;
    return adopt_oci(a, o, path, opts);
}

static int scan_registry(sign_artifact **out, const char *path, const char *name, const sign_artifact_options *opts,
                         const sign_limits *lim)
{
    sign_artifact *a;
    int r;

    if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = sign__strdup(path)) == NULL) {
        free(a);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = registry_image(a, path, name, opts, lim)) != 0) {
        sign_artifact_free(a);
        return r;
    }
    *out = a;
    return 0;
}

size_t sign_artifact_image_count(const sign_artifact *a)
{
    return a->oci != NULL && a->kind != SIGN_ARTIFACT_LAYER ? a->oci->n_images : 0;
}

int sign_artifact_image(sign_image_info *out, const sign_artifact *a, size_t i)
{
    const sign__image *im;

    memset(out, 0, sizeof(*out));
    if (i >= sign_artifact_image_count(a)) {
        return sign__error(SIGN_EINVAL, "no image %zu", i);
    }
    im = &a->oci->images[i];
    out->name = im->name;
    out->ref = im->ref;
    out->platform = im->platform;
    out->media_type = im->media_type;
    out->manifest = im->has_manifest ? im->manifest : NULL;
    out->config = im->config;
    out->layer_count = im->n_layers;
    return 0;
}

int sign_artifact_layer(sign_layer_info *out, const sign_artifact *a, size_t i, size_t j)
{
    const sign__layer *l;

    memset(out, 0, sizeof(*out));
    if (a->oci == NULL || i >= a->oci->n_images || j >= a->oci->images[i].n_layers) {
        return sign__error(SIGN_EINVAL, "no layer %zu of image %zu", j, i);
    }
    l = &a->oci->images[i].layers[j];
    out->media_type = l->media_type;
    out->digest = l->digest;
    out->diff_id = l->has_diff_id ? l->diff_id : NULL;
    out->size = l->size;
    out->entry_count = a->kind == SIGN_ARTIFACT_LAYER ? a->n_entries : l->n_entries;
    return 0;
}

const sign_entry *sign_artifact_layer_entry(const sign_artifact *a, size_t i, size_t j, size_t k)
{
    const sign__layer *l;

    if (a->oci == NULL || i >= a->oci->n_images || j >= a->oci->images[i].n_layers) {
        return NULL;
    }
    if (a->kind == SIGN_ARTIFACT_LAYER) {
        return sign_artifact_entry(a, k);
    }
    l = &a->oci->images[i].layers[j];
    return k < l->n_entries ? &l->entries[k] : NULL;
}

const unsigned char *sign_artifact_index_sha256(const sign_artifact *a)
{
    return a->oci != NULL && a->oci->has_index ? a->oci->index : NULL;
}

size_t sign_artifact_problem_count(const sign_artifact *a)
{
    return a->oci != NULL ? a->oci->n_problems : 0;
}

int sign_artifact_problem(const char **reason, const char **message, const sign_artifact *a, size_t i)
{
    *reason = *message = NULL;
    if (i >= sign_artifact_problem_count(a)) {
        return sign__error(SIGN_EINVAL, "no problem %zu", i);
    }
    *reason = a->oci->problems[i].reason;
    *message = a->oci->problems[i].message;
    return 0;
}

/* ---- scan ------------------------------------------------------------------ */

/* The same as SIGN_ARTIFACT_OPTIONS_INIT: the version, every other byte zero. */
void sign_artifact_options_init(sign_artifact_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_ARTIFACT_OPTIONS_VERSION;
}

typedef struct hash_walk {
    digest_job *job;
    sign_artifact *a;
    const sign_limits *lim;
    int rc;
    char msg[1024];
} hash_walk;

static void hash_walk_one(void *arg, size_t i)
{
    hash_walk *h = arg;

    if (i == 0) {
        digest_thread(h->job);
        return;
    }
    walk_src src = {h->job->fd, h->job->map};

    h->rc = walk_zip(h->a, &src, h->job->path, h->lim, NULL);
    if (h->rc != 0) {
        snprintf(h->msg, sizeof(h->msg), "%s", sign_error_last());
    }
}

/*
 * Hash the whole zip (into job) while its entries are walked into a: two items of the pool,
 * the hash first, so that the walk (which splits into parts) is what another thread takes.
 */
static int hash_and_walk(digest_job *job, sign_artifact *a, const sign_limits *lim)
{
    hash_walk h;

    memset(&h, 0, sizeof(h));
    h.job = job;
    h.a = a;
    h.lim = lim;
    sign__pool_for(2, hash_walk_one, &h);
    return h.rc != 0 ? sign__error(h.rc, "%s", h.msg) : 0;
}

/*
 * An artifact named by a symlink. Unless the caller follows it on purpose
 * (SIGN_ARTIFACT_FOLLOW_SYMLINK), *target is the link's resolved path, the
 * name is derived from it, and a warning says so. *target = NULL otherwise.
 */
static int resolve_named_link(char **target, sign_artifact *a, const char *path, unsigned int flags)
{
    struct stat st;
    char *t;

    *target = NULL;
    if ((flags & SIGN_ARTIFACT_FOLLOW_SYMLINK) || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) {
        return 0; /* a missing path is reported by the open that follows */
    }
    if ((t = realpath(path, NULL)) == NULL) {
        /* A link with no path to resolve to (/proc/self/fd/N of a deleted file or a memfd, as sign_verify_fd
           opens): the open that follows reads what it names, or reports a dangling link. */
        return errno == ENOMEM ? sign__error(SIGN_ENOMEM, "out of memory") : 0;
    }
    /* Last components only: a statement never records the signer's directory layout. */
    if (sign__finding_add(&a->findings, "artifact-symlink", SIGN_SEVERITY_WARNING, NULL, 0,
                          "%s is a symlink to %s: recorded under the target's name; to sign it under the link's "
                          "name, say so (signet: --follow-symlink)",
                          sign__path_base(path, 0), sign__path_base(t, 0)) != 0) {
        free(t);
        return sign__oom();
    }
    *target = t;
    return 0;
}

#define AS_KINDS                                                                                                     \
    (SIGN_ARTIFACT_AS_FILE | SIGN_ARTIFACT_AS_ZIP | SIGN_ARTIFACT_AS_TAR | SIGN_ARTIFACT_AS_DOCKER |                 \
     SIGN_ARTIFACT_AS_OCI)

/* The --kind name of a forced kind flag. */
static const char *forced_name(unsigned int force)
{
    switch (force) {
    case SIGN_ARTIFACT_AS_ZIP: return "zip";
    case SIGN_ARTIFACT_AS_TAR: return "tar";
    case SIGN_ARTIFACT_AS_DOCKER: return "docker";
    case SIGN_ARTIFACT_AS_OCI: return "oci";
    default: return "file";
    }
}

/*
 * The kind of the regular file fd: by content, or the one forced
 * (SIGN_ARTIFACT_AS_*). Sets *is_zip, or *tar_kind (1 a layer, 2 a docker
 * save archive). A forced kind the bytes cannot be read as: SIGN_EPARSE.
 */
static int file_kind(int *is_zip, int *tar_kind, int fd, const unsigned char *whole, uint64_t size, const char *path,
                     unsigned int flags)
{
    unsigned int force = flags & AS_KINDS;
    int r;

    *is_zip = 0;
    *tar_kind = 0;
    if (force == SIGN_ARTIFACT_AS_FILE) {
        return 0;
    }
    if (force == SIGN_ARTIFACT_AS_OCI) {
        return sign__error(SIGN_EPARSE, "%s: a file, not an OCI image layout directory (--kind oci)", path);
    }
    if (force == 0 || force == SIGN_ARTIFACT_AS_ZIP) {
        r = whole != NULL ? sign__zip_detect_mem(is_zip, whole, (size_t)size)
                          : sign__zip_detect(is_zip, fd, size, path);
        if (r != 0) {
            return r;
        }
        if (force == SIGN_ARTIFACT_AS_ZIP && !*is_zip) {
            return sign__error(SIGN_EPARSE,
                               "%s: cannot be read as a zip: no end of central directory record, no local "
                               "header at its start (--kind zip)",
                               path);
        }
        if (*is_zip) {
            return 0;
        }
    }
    r = whole != NULL ? sign__tar_detect_head(tar_kind, whole, fd, size, path)
                      : sign__tar_detect(tar_kind, fd, size, path);
    if (r != 0) {
        return r;
    }
    if (force == SIGN_ARTIFACT_AS_TAR && *tar_kind == 0) {
        return sign__error(SIGN_EPARSE,
                           "%s: cannot be read as a tar archive (plain, or gzip, zstd, xz or bzip2 compressed) "
                           "(--kind tar)",
                           path);
    }
    if (force == SIGN_ARTIFACT_AS_DOCKER && *tar_kind != 2) {
        return sign__error(SIGN_EPARSE, "%s: cannot be read as a docker save archive: %s (--kind docker)", path,
                           *tar_kind == 0 ? "not an uncompressed tar archive"
                                          : "no manifest.json or oci-layout at the top of the tar");
    }
    if (force == SIGN_ARTIFACT_AS_TAR) {
        *tar_kind = 1; /* one layer, even when it is a docker save archive */
    }
    return 0;
}

/* A path that is not a regular file: an OCI image layout directory, else refused (also under a forced kind). */
static int scan_not_regular(sign_artifact *a, int fd, const struct stat *st, const char *path,
                            const sign_artifact_options *opts, const sign_limits *lim)
{
    unsigned int force = opts->flags & AS_KINDS;
    int r;

    if (S_ISDIR(st->st_mode) && force != 0 && force != SIGN_ARTIFACT_AS_OCI) {
        return sign__error(SIGN_EPARSE, "%s: a directory, not a %s (--kind %s)", path, forced_name(force),
                           forced_name(force));
    }
    r = S_ISDIR(st->st_mode) ? scan_image(a, fd, 1, 0, path, opts, lim) : SIGN_EINVAL;
    if (r != SIGN_EINVAL) {
        return r;
    }
    if (S_ISDIR(st->st_mode) && force == SIGN_ARTIFACT_AS_OCI) {
        return sign__error(SIGN_EPARSE, "%s: not an OCI image layout: no oci-layout file in it (--kind oci)", path);
    }
    return sign__error(SIGN_EINVAL, "%s: %s, not a regular file", path,
                       S_ISDIR(st->st_mode) ? "is a directory" : "is a special file");
}

/*
 * A file that fits one digest read, read whole: one pread of size + 1 bytes
 * (a short read that ends at the size stat gave is the end of the file; a
 * read that falls short of it is continued to the end). Kind detection and
 * the digest then use these bytes: a small artifact is read once.
 */
static int read_whole(unsigned char **out, int fd, uint64_t size, const char *path)
{
    size_t want = (size_t)size + 1, got = 0;
    unsigned char *buf = malloc(want);

    *out = NULL;
    if (buf == NULL) {
        return sign__error(SIGN_ENOMEM, "%s: out of memory", path);
    }
    while (got < want) {
        ssize_t n = pread(fd, buf + got, want - got, (off_t)got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            free(buf);
            return sign__error(SIGN_EIO, "%s: read error at offset %zu: %s", path, got, strerror(errno));
        }
        got += (size_t)n;
        if (n == 0 || got == (size_t)size) {
            break;
        }
    }
    if (got != (size_t)size) {
        free(buf);
        return sign__error(SIGN_EIO, "%s: the file changed size while it was read (%llu, then %zu bytes)", path,
                           (unsigned long long)size, got);
    }
    *out = buf;
    return 0;
}

/* The digest (and a zip's entries) of the regular file fd: a's size is its stat size. */
static int scan_regular(sign_artifact *a, int fd, const char *path, const sign_artifact_options *opts,
                        const sign_limits *lim)
{
    unsigned char *whole = NULL;
    digest_job job;
    sign__fmap map = {NULL, 0, 0};
    size_t mdlen = 0;
    int r, is_zip = 0, tar_kind = 0;

    if (a->size < SIGN_DIGEST_READ_SIZE && (opts->flags & AS_KINDS) != SIGN_ARTIFACT_AS_OCI) {
        if ((r = read_whole(&whole, fd, a->size, path)) != 0) {
            return r;
        }
    } else {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if ((r = file_kind(&is_zip, &tar_kind, fd, whole, a->size, path, opts->flags)) != 0) {
        goto out;
    }
    a->kind = is_zip ? SIGN_ARTIFACT_ZIP : SIGN_ARTIFACT_FILE;
    if (tar_kind != 0) {
        r = scan_image(a, fd, 0, tar_kind, path, opts, lim);
        goto out;
    }
    if (whole != NULL) {
        if ((r = sign_digest_buffer(a->sha256, sizeof(a->sha256), &mdlen, SIGN_DIGEST_SHA256, whole,
                                    (size_t)a->size)) != 0) {
            goto out;
        }
        if (opts->progress != NULL && a->size > 0) { /* as the reads of a larger file report: none for 0 bytes */
            opts->progress(path, a->size, a->size, opts->progress_userdata);
        }
        if (a->kind == SIGN_ARTIFACT_ZIP && !(opts->flags & SIGN_ARTIFACT_NO_ENTRIES)) {
            sign__fmap held = {whole, a->size, 0}; /* the bytes read: the walk reads no more */
            walk_src src = {fd, &held};

            r = walk_zip(a, &src, path, lim, NULL);
        }
        goto out;
    }
    memset(&job, 0, sizeof(job));
    job.fd = fd;
    job.path = path;
    job.total = a->size;
    job.progress = opts->progress;
    job.progress_userdata = opts->progress_userdata;
    if (a->kind == SIGN_ARTIFACT_ZIP && !(opts->flags & SIGN_ARTIFACT_NO_ENTRIES)) {
        /* Mapped, every reader reads the page cache in place (else each preads its own copy). */
        if (sign__fmap_open(&map, fd, a->size) == 0) {
            job.map = &map;
        }
        if ((r = hash_and_walk(&job, a, lim)) != 0) {
            goto out;
        }
    } else {
        digest_thread(&job);
    }
    if (job.rc != 0) {
        r = sign__error(job.rc, "%s", job.msg);
        goto out;
    }
    if (job.size != a->size) {
        r = sign__error(SIGN_EIO, "%s: the file changed size while it was read (%llu, then %llu bytes)", path,
                        (unsigned long long)a->size, (unsigned long long)job.size);
        goto out;
    }
    memcpy(a->sha256, job.md, sizeof(a->sha256));
out:
    sign__fmap_close(&map);
    free(whole);
    return r;
}

/*
 * The public scan takes only the public flags: SIGN__ARTIFACT_LAYERS_UNREAD (an image whose layers are not read)
 * is for deploy's verification, through sign__artifact_scan, and a caller passing that bit is refused.
 */
int sign_artifact_scan(sign_artifact **out, const char *path, const char *name, const sign_artifact_options *opts)
{
    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_artifact_scan: no output");
    }
    *out = NULL;
    if (opts != NULL && (opts->flags & SIGN__ARTIFACT_LAYERS_UNREAD) != 0) {
        return sign__error(SIGN_EINVAL, "sign_artifact_scan: unknown flag 0x%x", SIGN__ARTIFACT_LAYERS_UNREAD);
    }
    return sign__artifact_scan(out, path, name, opts);
}

int sign__artifact_scan(sign_artifact **out, const char *path, const char *name, const sign_artifact_options *opts)
{
    static const sign_artifact_options defaults = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    sign_limits limbuf;
    const sign_limits *lim = &limbuf;
    struct stat st;
    int fd = -1, r;
    char *target = NULL;

    *out = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    if (path == NULL) {
        return sign__error(SIGN_EINVAL, "sign_artifact_scan: no path");
    }
    if ((r = sign__check_version(opts->version, SIGN_ARTIFACT_OPTIONS_VERSION, "sign_artifact_options")) != 0 ||
        (r = sign__limits(&limbuf, opts->limits)) != 0) {
        return r;
    }
    if (sign__regref_is(path)) {
        return scan_registry(out, path, name, opts, lim);
    }
    if (((opts->flags & AS_KINDS) & ((opts->flags & AS_KINDS) - 1)) != 0) {
        return sign__error(SIGN_EINVAL, "sign_artifact_scan: more than one kind forced (SIGN_ARTIFACT_AS_*)");
    }
    if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = sign__strdup(path)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = resolve_named_link(&target, a, path, opts->flags)) != 0) {
        goto out;
    }
    r = name != NULL ? sign_artifact_name_normalise(&a->name, name)
                     : derive_name(&a->name, target != NULL ? target : path);
    if (r != 0) {
        sign__error_context(r, "%s", path);
        goto out;
    }
    /* A link's target is opened by its resolved path, which has no link left to follow. */
    if ((fd = open(target != NULL ? target : path,
                   O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (target != NULL ? O_NOFOLLOW : 0))) < 0) {
        r = errno == ENOENT ? SIGN_ENOTFOUND : SIGN_EIO;
        sign__error(r, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        r = sign__error(SIGN_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        if ((r = scan_not_regular(a, fd, &st, path, opts, lim)) == 0) {
            *out = a;
            a = NULL; /* transferred */
        }
        goto out;
    }
    a->size = (uint64_t)st.st_size;
    if ((r = scan_regular(a, fd, path, opts, lim)) != 0) {
        goto out;
    }
    *out = a;
    a = NULL; /* transferred */
    r = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(target);
    sign_artifact_free(a);
    return r;
}

/* ---- extraction (deploy) -------------------------------------------------------- */

/* The layer of a standalone tar artifact walked with a hook; its entries become the artifact's. */
static int extract_layer(sign_artifact *a, int fd, const char *path, const sign_limits *lim,
                         const sign__entry_hook *hook)
{
    sign__layer l;
    int r;

    memset(&l, 0, sizeof(l));
    a->kind = SIGN_ARTIFACT_LAYER;
    if ((r = sign__layer_walk_hook(&l, fd, 0, a->size, path, lim, hook)) == 0 &&
        (r = merge_findings(a, &l.findings)) == 0) {
        memcpy(a->sha256, l.digest, sizeof(a->sha256));
        a->entries = l.entries; /* transferred */
        a->n_entries = l.n_entries;
        a->cap_entries = l.cap_entries;
        l.entries = NULL;
        l.n_entries = l.cap_entries = 0;
    }
    sign__layer_clear(&l);
    return r;
}

/* An OCI layout (a directory) or docker save archive: one image read with its layers walked in order with hook. */
static int extract_image(sign_artifact *a, int fd, int is_dir, const char *path, const char *ref,
                         const sign_limits *lim, const sign__entry_hook *hook)
{
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign__oci *oci = NULL;
    int r;

    a->kind = is_dir ? SIGN_ARTIFACT_OCI : SIGN_ARTIFACT_DOCKER;
    o.flags = SIGN_ARTIFACT_KEEP_PROBLEMS; /* the caller refuses an image with problems, naming them */
    if ((r = sign__oci_read_hook(&oci, fd, is_dir, a->size, path, ref, lim, &a->findings, hook)) != 0) {
        return r;
    }
    return adopt_oci(a, oci, path, &o);
}

int sign__artifact_extract(sign_artifact **out, int fd, const char *path, const char *ref, const sign_limits *lim,
                           const sign__entry_hook *hook)
{
    sign_artifact *a = NULL;
    struct stat st;
    int r, is_zip = 0, tar_kind = 0;

    *out = NULL;
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        return sign__error(SIGN_EINVAL, "%s: not a regular file or directory", path);
    }
    if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = sign__strdup(path)) == NULL ||
        (a->name = sign__strdup(sign__path_base(path, 0))) == NULL) {
        sign_artifact_free(a);
        return sign__oom();
    }
    if (S_ISDIR(st.st_mode)) {
        r = extract_image(a, fd, 1, path, ref, lim, hook);
        goto out;
    }
    a->size = (uint64_t)st.st_size;
    if ((r = sign__zip_detect(&is_zip, fd, a->size, path)) != 0 ||
        (!is_zip && (r = sign__tar_detect(&tar_kind, fd, a->size, path)) != 0)) {
        goto out;
    }
    if (is_zip) {
        a->kind = SIGN_ARTIFACT_ZIP;
        walk_src src = {fd, NULL};

        r = walk_zip(a, &src, path, lim, hook);
    } else if (tar_kind == 1) {
        r = extract_layer(a, fd, path, lim, hook);
    } else if (tar_kind == 2) {
        r = extract_image(a, fd, 0, path, ref, lim, hook);
    } else {
        r = sign__error(SIGN_EINVAL, "%s: deploy extracts zips, tar layers and images; this is a plain file", path);
    }
out:
    if (r == 0) {
        *out = a;
        a = NULL;
    }
    sign_artifact_free(a);
    return r;
}

/* ---- many -------------------------------------------------------------------- */

typedef struct many {
    const char *const *paths;
    const char *const *names;
    const sign_artifact_options *opts;
    sign_artifact **res;
    int *rcs;
    char **msgs;
    int failed; /* atomic: after a failure the items not started yet are skipped */
} many;

static void many_one(void *arg, size_t i)
{
    many *m = arg;
    int rc;

    if (__atomic_load_n(&m->failed, __ATOMIC_RELAXED)) {
        return;
    }
    rc = sign_artifact_scan(&m->res[i], m->paths[i], m->names != NULL ? m->names[i] : NULL, m->opts);
    if (rc != 0) {
        m->rcs[i] = rc;
        m->msgs[i] = strdup(sign_error_last());
        __atomic_store_n(&m->failed, 1, __ATOMIC_RELAXED);
    }
}

int sign_artifact_scan_many(sign_artifact **out, const char *const *paths, const char *const *names, size_t n,
                            const sign_artifact_options *opts)
{
    many m;
    int r = 0;

    if (out == NULL || (n > 0 && paths == NULL)) {
        return sign__error(SIGN_EINVAL, "sign_artifact_scan_many: no output or no paths");
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
    }
    if (n == 0) {
        return 0;
    }
    memset(&m, 0, sizeof(m));
    m.paths = paths;
    m.names = names;
    m.opts = opts;
    if ((m.res = calloc(n, sizeof(*m.res))) == NULL || (m.rcs = calloc(n, sizeof(*m.rcs))) == NULL ||
        (m.msgs = calloc(n, sizeof(*m.msgs))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    sign__pool_for(n, many_one, &m);
    for (size_t i = 0; i < n; i++) {
        if (m.rcs[i] != 0) {
            r = sign__error(m.rcs[i], "%s", m.msgs[i] != NULL ? m.msgs[i] : m.paths[i]);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = m.res[i];
        m.res[i] = NULL; /* transferred */
    }
out:
    for (size_t i = 0; i < n; i++) {
        if (m.res != NULL) {
            sign_artifact_free(m.res[i]);
        }
        if (m.msgs != NULL) {
            free(m.msgs[i]);
        }
    }
    free(m.res);
    free(m.rcs);
    free(m.msgs);
    return r;
}
