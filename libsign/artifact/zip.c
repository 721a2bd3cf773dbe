/*
 * Our own bounded zip structure parser and the finding list.
 *
 * libarchive decompresses and shows one view of a zip: its seekable reader
 * merges the central directory with the local headers and exposes no
 * offsets. The findings that matter most for signing (local header and
 * central directory disagreeing, entries overlapping, data before or after
 * the archive, a second end record) need both views side by side, so this
 * file reads the raw structures itself: end-of-central-directory record,
 * zip64 locator and record, central directory and every local header. It
 * never inflates anything, reads with pread through a small window (so the
 * file offset libarchive uses is left alone), or copies what it asks for out
 * of the file's mapping (fmap.c), and caps every count and size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact_int.h"
#include "path.h"
#include "text.h"

/* ---- findings -------------------------------------------------------------- */

int sign__findings_has(const sign__findings *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

void sign__findings_clear(sign__findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->v[i].path);
        free((char *)f->v[i].message);
    }
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
    f->overflow = 0;
}

int sign__finding_add(sign__findings *f, const char *id, sign_severity sev, const char *path, size_t pathlen,
                      const char *fmt, ...)
{
    char msg[768];
    char *epath = NULL, *emsg = NULL;
    va_list ap;

    if (path != NULL) {
        size_t cap;

        if (pathlen == SIZE_MAX) {
            pathlen = strlen(path);
        }
        if (pathlen > 4096) {
            pathlen = 4096;
        }
        cap = pathlen * 4 + 8;
        if ((epath = malloc(cap)) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        sign__text_escape_into(epath, cap, path, pathlen);
    }
    for (size_t i = 0; i < f->n; i++) {
        const sign_finding *x = &f->v[i];

        if (strcmp(x->id, id) == 0 && ((x->path == NULL && epath == NULL) ||
                                       (x->path != NULL && epath != NULL && strcmp(x->path, epath) == 0))) {
            free(epath);
            return 0;
        }
    }
    if (f->n >= SIGN__FINDINGS_MAX) {
        free(epath);
        if (f->overflow) {
            return 0;
        }
        f->overflow = 1;
        id = "zip-too-many-findings";
        sev = SIGN_SEVERITY_DANGER;
        epath = NULL;
        snprintf(msg, sizeof(msg), "more than %d findings; later ones are not listed: do not sign this archive",
                 SIGN__FINDINGS_MAX);
    } else {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    /* Messages quote names and link targets from the archive: printable too. */
    if ((emsg = sign__text_escape(msg, strlen(msg), NULL)) == NULL) {
        free(epath);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        sign_finding *nv = realloc(f->v, ncap * sizeof(*nv));

        if (nv == NULL) {
            free(epath);
            free(emsg);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        f->v = nv;
        f->cap = ncap;
    }
    f->v[f->n].id = id;
    f->v[f->n].severity = sev;
    f->v[f->n].path = epath;
    f->v[f->n].message = emsg;
    f->n++;
    return 0;
}

/* ---- names ----------------------------------------------------------------- */

void sign__zip_check_name(sign__findings *f, const char *name, size_t len, const sign_limits *lim)
{
    /* Judged as every extractor reads it, Windows ones included ('\\' a separator, "C:" a drive): util/path. */
    unsigned int bits = sign__path_check(name, len, lim->name_max, SIGN__PATH_WINDOWS);

    if (bits & SIGN__PATH_EMPTY) {
        sign__finding_add(f, "zip-empty-name", SIGN_SEVERITY_DANGER, "", 0,
                          "an entry has an empty name, which extractors treat differently: rebuild the archive");
        return;
    }
    if (bits & SIGN__PATH_TOO_LONG) {
        sign__finding_add(f, "zip-limit-name", SIGN_SEVERITY_DANGER, name, len,
                          "entry name of %zu bytes exceeds the limit of %zu: shorten it or raise the limit", len,
                          lim->name_max);
    } else if (bits & SIGN__PATH_COMPONENT_LONG) {
        sign__finding_add(f, "zip-limit-name", SIGN_SEVERITY_DANGER, name, len,
                          "entry name has a component longer than %d bytes, which file systems cannot store: "
                          "shorten it",
                          SIGN__PATH_COMPONENT_MAX);
    }
    if (bits & SIGN__PATH_CONTROL) {
        sign__finding_add(f, "zip-name-control-char", SIGN_SEVERITY_DANGER, name, len,
                          "entry name contains a NUL or control character: rename the file and rebuild the archive");
    }
    if (bits & SIGN__PATH_UTF8) {
        sign__finding_add(f, "zip-name-invalid-utf8", SIGN_SEVERITY_DANGER, name, len,
                          "entry name is not valid UTF-8 and may extract under another name: rename it");
    }
    if (bits & SIGN__PATH_ABSOLUTE) {
        sign__finding_add(f, "zip-absolute-path", SIGN_SEVERITY_DANGER, name, len,
                          "entry has an absolute path and would be written outside the target: store it relative");
    }
    if (bits & SIGN__PATH_DRIVE) {
        sign__finding_add(f, "zip-drive-letter-path", SIGN_SEVERITY_DANGER, name, len,
                          "entry name starts with a drive letter: store it as a relative path");
    }
    if (bits & SIGN__PATH_BACKSLASH) {
        sign__finding_add(f, "zip-backslash-path", SIGN_SEVERITY_DANGER, name, len,
                          "entry name contains a backslash, a directory separator on Windows: use '/'");
    }
    if (bits & SIGN__PATH_DOTDOT) {
        sign__finding_add(f, "zip-path-traversal", SIGN_SEVERITY_DANGER, name, len,
                          "entry name has a '..' component and can escape the target directory: remove it");
    }
}

/* ---- bounded reader ---------------------------------------------------------- */

#define RD_WINDOW (192 * 1024)

typedef struct zrd {
    int fd;
    uint64_t size;
    unsigned char *buf;
    uint64_t off;
    size_t len;
    int ioerr;
    const sign__fmap *map; /* the file mapped, or NULL: pread */
    uint64_t kept;         /* mapped: where the reads since the last release began */
} zrd;

/* A mapped file: the len bytes asked for, copied under the map's guard (a file that shrank reads short). */
static const unsigned char *rd_map(zrd *r, uint64_t off, size_t len)
{
    size_t got = sign__fmap_copy(r->map, r->buf, off, len);

    /* Reads move forward through the local headers: what lies behind them is released as they go. */
    if (off < r->kept) {
        r->kept = off;
    } else if (off - r->kept >= SIGN__FMAP_RELEASE) {
        sign__fmap_release(r->map, r->kept, off);
        r->kept = off;
    }
    r->off = off;
    r->len = got;
    return got >= len ? r->buf : NULL;
}

/* Pointer to len bytes at off, valid until the next call; NULL beyond EOF or on an I/O error. */
static const unsigned char *rd_at(zrd *r, uint64_t off, size_t len)
{
    size_t want, got = 0;

    if (len > RD_WINDOW || off > r->size || len > r->size - off) {
        return NULL;
    }
    if (off >= r->off && off - r->off <= r->len && len <= r->len - (off - r->off)) {
        return r->buf + (off - r->off);
    }
    if (r->map != NULL) {
        return rd_map(r, off, len);
    }
    want = r->size - off < RD_WINDOW ? (size_t)(r->size - off) : RD_WINDOW;
    while (got < want) {
        ssize_t n = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r->ioerr = errno;
            r->len = 0;
            return NULL;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    r->off = off;
    r->len = got;
    return got >= len ? r->buf : NULL;
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- end of central directory ---------------------------------------------- */

typedef struct eocd {
    uint64_t pos; /* offset of the EOCD record */
    uint64_t n_total;
    uint64_t cd_size, cd_off;
    uint16_t clen;
    int zip64;
    uint64_t z64_off;       /* offset of the zip64 record */
    uint64_t records_start; /* where the central directory should end */
    uint64_t shift;
    int inconsistent;     /* zip64 and classic records disagree */
    int disk_odd;         /* disk numbers, or entries on this disk versus in total, disagree */
    int comment_past_end; /* the declared comment length runs past the end of the file */
} eocd;

/*
 * Validate an EOCD candidate at pos (record bytes p, 22). Returns 1 when it
 * leads to a central directory, 0 otherwise. Fills e.
 */
static int eocd_check(zrd *r, const unsigned char *rec, uint64_t pos, eocd *e)
{
    unsigned char p[22];
    const unsigned char *q;
    uint16_t disk, cd_disk, n_disk, n_total;
    uint32_t cd_size, cd_off;

    memcpy(p, rec, sizeof(p));
    memset(e, 0, sizeof(*e));
    disk = le16(p + 4);
    cd_disk = le16(p + 6);
    n_disk = le16(p + 8);
    n_total = le16(p + 10);
    cd_size = le32(p + 12);
    cd_off = le32(p + 16);
    e->pos = pos;
    e->clen = le16(p + 20);
    e->n_total = n_total;
    e->cd_size = cd_size;
    e->cd_off = cd_off;
    e->records_start = pos;
    /* Only where a real directory is found below (n_total > 0): readers disagree on these, signet reports. */
    if (pos + 22 + e->clen > r->size) {
        if (n_total == 0) {
            return 0;
        }
        e->comment_past_end = 1;
    }
    if (pos >= 20 && (q = rd_at(r, pos - 20, 20)) != NULL && memcmp(q, "PK\x06\x07", 4) == 0) {
        uint64_t zoff = le64(q + 8);

        if (le32(q + 4) != 0 || le32(q + 16) > 1 || zoff > pos - 20 || pos - 20 - zoff < 56 ||
            (q = rd_at(r, zoff, 56)) == NULL || memcmp(q, "PK\x06\x06", 4) != 0) {
            return 0;
        }
        if (le32(q + 16) != 0 || le32(q + 20) != 0 || le64(q + 24) != le64(q + 32)) {
            return 0;
        }
        e->zip64 = 1;
        e->z64_off = zoff;
        if ((disk != 0 && disk != 0xffff) || (cd_disk != 0 && cd_disk != 0xffff) || n_disk != n_total) {
            e->disk_odd = 1;
        }
        e->records_start = zoff;
        if ((n_total != 0xffff && n_total != le64(q + 32)) || (cd_size != 0xffffffffu && cd_size != le64(q + 40)) ||
            (cd_off != 0xffffffffu && cd_off != le64(q + 48))) {
            e->inconsistent = 1;
        }
        e->n_total = le64(q + 32);
        e->cd_size = le64(q + 40);
        e->cd_off = le64(q + 48);
    } else if (disk != 0 || cd_disk != 0 || n_disk != n_total) {
        if (n_total == 0) {
            return 0;
        }
        e->disk_odd = 1;
    }
    if (e->cd_size > e->records_start) {
        return 0;
    }
    if (e->n_total == 0 && e->cd_size == 0) {
        return e->cd_off <= e->records_start;
    }
    if (e->cd_off <= e->records_start - e->cd_size && (q = rd_at(r, e->cd_off, 4)) != NULL &&
        memcmp(q, "PK\x01\x02", 4) == 0) {
        return 1;
    }
    /* Data was prepended without adjusting the offsets: the directory ends where the records start. */
    if ((q = rd_at(r, e->records_start - e->cd_size, 4)) != NULL && memcmp(q, "PK\x01\x02", 4) == 0 &&
        e->records_start - e->cd_size > e->cd_off) {
        e->shift = e->records_start - e->cd_size - e->cd_off;
        return 1;
    }
    return 0;
}

/* Positions of further valid end records kept for judging (more are counted, and judged as unexplained). */
#define EOCD_OTHERS_KEPT 16

/*
 * Find the end record libarchive and Info-ZIP would use: the last signature
 * in the final 64 KiB + 22 bytes. When that one is not valid, fall back to
 * the last valid one (and report it). *others counts further valid records;
 * the positions of the first EOCD_OTHERS_KEPT go to opos (NULL: not kept).
 */
static int eocd_find(zrd *r, eocd *out, int *found, uint64_t *bogus_last, uint64_t *opos, size_t *others)
{
    uint64_t tail_len = r->size < 65535 + 22 ? r->size : 65535 + 22;
    uint64_t tail_off = r->size - tail_len;
    unsigned char *tail = NULL;
    const unsigned char *p;
    int first = 1;

    *found = 0;
    *others = 0;
    *bogus_last = UINT64_MAX;
    /* a false "always true": tail_len is min(size, 65557) */
    /* cppcheck-suppress knownConditionTrueFalse */
    if (tail_len < 22) {
        return 0;
    }
    if ((p = rd_at(r, tail_off, (size_t)tail_len)) == NULL) {
        return r->ioerr ? SIGN_EIO : 0;
    }
    /* The window moves under eocd_check's reads; a file held whole in memory (fd < 0) never does. */
    if (r->fd < 0) {
        tail = (unsigned char *)p;
    } else if ((tail = malloc((size_t)tail_len)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    } else {
        memcpy(tail, p, (size_t)tail_len);
    }
    /* Every "PK\5\6" from the last possible position down; memrchr finds the candidates' 'P' fast. */
    for (size_t lim = (size_t)tail_len - 22 + 1, i; lim > 0; lim = i) {
        const unsigned char *q = memrchr(tail, 'P', lim);
        eocd e;

        if (q == NULL) {
            break;
        }
        i = (size_t)(q - tail);
        if (memcmp(tail + i, "PK\x05\x06", 4) != 0) {
            continue;
        }
        if (eocd_check(r, tail + i, tail_off + i, &e)) {
            if (!*found) {
                *out = e;
                *found = 1;
            } else {
                if (opos != NULL && *others < EOCD_OTHERS_KEPT) {
                    opos[*others] = tail_off + i;
                }
                (*others)++;
            }
        } else if (first) {
            *bogus_last = tail_off + i;
        }
        first = 0;
    }
    if (r->fd >= 0) {
        free(tail);
    }
    return r->ioerr ? SIGN_EIO : 0;
}

/* A zip by its first bytes (a local header) or by a usable end record in its last 64 KiB + 22 bytes. */
static int detect_in(int *is_zip, zrd *r)
{
    const unsigned char *p;
    eocd e;
    int found = 0, rc;
    uint64_t bogus;
    size_t others;

    if (r->size >= 4 && (p = rd_at(r, 0, 4)) != NULL && memcmp(p, "PK\x03\x04", 4) == 0) {
        *is_zip = 1;
        return 0;
    }
    if ((rc = eocd_find(r, &e, &found, &bogus, NULL, &others)) != 0) {
        return rc;
    }
    *is_zip = found;
    return 0;
}

int sign__zip_detect_mem(int *is_zip, const unsigned char *data, size_t size)
{
    /* The whole file as the window: rd_at serves every read from it and never calls pread (fd -1). */
    zrd r = {-1, (uint64_t)size, (unsigned char *)data, 0, size, 0, NULL, 0};

    *is_zip = 0;
    return detect_in(is_zip, &r);
}

int sign__zip_detect(int *is_zip, int fd, uint64_t size, const char *path)
{
    zrd r = {fd, size, NULL, 0, 0, 0, NULL, 0};
    int rc;

    *is_zip = 0;
    /* A small file needs no more than its size (a store of small artifacts allocated 192 KiB for each). */
    if ((r.buf = malloc(size < RD_WINDOW ? (size_t)size + 1 : RD_WINDOW)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    rc = detect_in(is_zip, &r);
    if (rc == SIGN_EIO || (rc == 0 && r.ioerr)) {
        rc = sign__error(SIGN_EIO, "%s: read error: %s", path, strerror(r.ioerr));
    }
    free(r.buf);
    return rc;
}

/* ---- central directory and local headers ------------------------------------ */

void sign__zip_free(sign__zip *z)
{
    if (z == NULL) {
        return;
    }
    for (size_t i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].local_name);
    }
    free(z->e);
    free(z);
}

static char *dup_bytes(const unsigned char *p, size_t len)
{
    char *s = malloc(len + 1);

    if (s == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* Zip64 extended information (0x0001) in an extra field: replaces the 0xffffffff values, in order. */
static void zip64_extra(const unsigned char *x, size_t xl, uint64_t *usize, uint64_t *csize, uint64_t *off, int local)
{
    size_t i = 0;

    while (i + 4 <= xl) {
        uint16_t id = le16(x + i), sz = le16(x + i + 2);
        size_t j = i + 4, end;

        if (sz > xl - j) {
            return;
        }
        end = j + sz;
        if (id == 0x0001) {
            if ((local || *usize == 0xffffffffu) && j + 8 <= end) {
                *usize = le64(x + j);
                j += 8;
            }
            if ((local || *csize == 0xffffffffu) && j + 8 <= end) {
                *csize = le64(x + j);
                j += 8;
            }
            if (off != NULL && *off == 0xffffffffu && j + 8 <= end) {
                *off = le64(x + j);
            }
            return;
        }
        i = end;
    }
}

/*
 * Extra fields that repeat what the header says: Info-ZIP Unicode Path
 * (0x7075) and Unicode Comment (0x6375), zip64 extended information (0x0001).
 * Readers differ on which copy they believe (Info-ZIP, and libarchive in some
 * versions, take the 0x7075 name, Python and Go do not; some take every zip64 value present,
 * others only those the header marks 0xffffffff), so a copy that disagrees
 * with the header is a second view of the entry. name/nl and cm/cl are the
 * header's own name and comment (cm NULL in a local header); v32 the header's
 * 32-bit usize, csize and offset, nv32 of them (2 in a local header, where the
 * zip64 field always holds both sizes); dd: sizes of zero mean "see the data
 * descriptor".
 */
static void check_extra(sign__findings *f, const sign__zip_entry *x, const unsigned char *xp, size_t xl,
                        const unsigned char *name, size_t nl, const unsigned char *cm, size_t cl, const uint64_t *v32,
                        size_t nv32, int dd, const sign_limits *lim)
{
    const char *where = cm == NULL ? "local header" : "central directory";
    size_t i = 0;

    while (i + 4 <= xl) {
        uint16_t id = le16(xp + i), sz = le16(xp + i + 2);
        const unsigned char *d = xp + i + 4;

        if (sz > xl - i - 4) {
            return;
        }
        if (id == 0x7075 && sz >= 5 && d[0] == 1 && ((size_t)sz - 5 != nl || memcmp(d + 5, name, nl) != 0)) {
            char other[160];

            sign__text_escape_into(other, sizeof(other), (const char *)d + 5, sz - 5u);
            sign__finding_add(f, "zip-unicode-path-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                              "the %s's Unicode Path extra field names this entry \"%s\": Info-ZIP (and "
                              "libarchive in some versions) extract it under that name, other tools under the "
                              "header's; rebuild the archive",
                              where, other);
            sign__zip_check_name(f, (const char *)d + 5, sz - 5u, lim);
        } else if (id == 0x6375 && sz >= 5 && d[0] == 1 && cm != NULL &&
                   ((size_t)sz - 5 != cl || memcmp(d + 5, cm, cl) != 0)) {
            sign__finding_add(f, "zip-unicode-comment-mismatch", SIGN_SEVERITY_WARNING, x->name, x->name_len,
                              "the Unicode Comment extra field differs from the entry's comment: tools show "
                              "different comments; rebuild the archive");
        } else if (id == 0x0001) {
            size_t nv = sz / 8, needed = 0;

            for (size_t k = 0; k < nv32; k++) {
                needed += v32[k] == 0xffffffffu;
            }
            /* Central directory: the standard layout (only the 0xffffffff fields) is unambiguous. */
            if (cm != NULL && nv < needed) {
                sign__finding_add(f, "zip-zip64-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                  "the %s marks %zu values as zip64 but its zip64 extra field holds %zu: readers "
                                  "will disagree on sizes or offsets; rebuild the archive",
                                  where, needed, nv);
            }
            for (size_t k = 0; k < nv32 && k < nv && (cm == NULL || nv > needed); k++) {
                uint64_t v = le64(d + 8 * k);

                if (v32[k] != 0xffffffffu && !(dd && v32[k] == 0) && v != v32[k]) {
                    sign__finding_add(f, "zip-zip64-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                      "the %s's zip64 extra field says %llu where the header says %llu (%s): "
                                      "readers that take the zip64 value see another entry; rebuild the archive",
                                      where, (unsigned long long)v, (unsigned long long)v32[k],
                                      k == 0   ? "uncompressed size"
                                      : k == 1 ? "compressed size"
                                               : "local header offset");
                }
            }
        }
        i += 4 + (size_t)sz;
    }
}

static int read_cd(sign__zip *z, zrd *r, const eocd *e, const char *path, const sign_limits *lim, sign__findings *f)
{
    uint64_t off = e->cd_off + e->shift, end = off + e->cd_size;
    size_t cap = 0;

    while (off < end) {
        const unsigned char *p;
        unsigned char h[46];
        sign__zip_entry *x;
        uint16_t nl, xl, cl;

        if (z->n >= lim->archive_max_entries) {
            z->entries_capped = 1;
            sign__finding_add(f, "zip-limit-entries", SIGN_SEVERITY_DANGER, NULL, 0,
                              "the archive has more than %llu entries; walking stopped there: raise the limit "
                              "only if this archive is expected",
                              (unsigned long long)lim->archive_max_entries);
            break;
        }
        if (end - off < 46 || (p = rd_at(r, off, 46)) == NULL || memcmp(p, "PK\x01\x02", 4) != 0) {
            if (z->n == 0) {
                return sign__error(SIGN_EPARSE, "%s: no central directory entry at offset %llu", path,
                                   (unsigned long long)off);
            }
            sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                              "central directory entry %zu at offset %llu is malformed: the archive is damaged "
                              "or crafted; rebuild it",
                              z->n, (unsigned long long)off);
            break;
        }
        memcpy(h, p, sizeof(h));
        nl = le16(h + 28);
        xl = le16(h + 30);
        cl = le16(h + 32);
        if ((uint64_t)46 + nl + xl + cl > end - off) {
            if (z->n == 0) {
                return sign__error(SIGN_EPARSE, "%s: central directory entry at offset %llu runs past its end", path,
                                   (unsigned long long)off);
            }
            sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                              "central directory entry %zu at offset %llu runs past the directory's end: "
                              "rebuild the archive",
                              z->n, (unsigned long long)off);
            break;
        }
        if (z->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            sign__zip_entry *ne = realloc(z->e, ncap * sizeof(*ne));

            if (ne == NULL) {
                return sign__error(SIGN_ENOMEM, "out of memory");
            }
            z->e = ne;
            cap = ncap;
        }
        x = &z->e[z->n];
        memset(x, 0, sizeof(*x));
        x->index = z->n;
        x->made_by = le16(h + 4);
        x->flags = le16(h + 8);
        x->method = le16(h + 10);
        x->crc = le32(h + 16);
        x->csize = le32(h + 20);
        x->usize = le32(h + 24);
        x->ext_attr = le32(h + 38);
        x->lfh_offset = le32(h + 42);
        if ((p = rd_at(r, off + 46, nl)) == NULL || (x->name = dup_bytes(p, nl)) == NULL) {
            return r->ioerr ? sign__error(SIGN_EIO, "%s: read error", path) : sign__oom();
        }
        x->name_len = nl;
        z->n++;
        if (xl > 0 && (p = rd_at(r, off + 46, (size_t)nl + xl + cl)) != NULL) {
            uint64_t v32[3] = {x->usize, x->csize, x->lfh_offset};

            check_extra(f, x, p + nl, xl, p, nl, p + nl + xl, cl, v32, 3, 0, lim);
            zip64_extra(p + nl, xl, &x->usize, &x->csize, &x->lfh_offset, 0);
        }
        if (x->lfh_offset > UINT64_MAX - e->shift) {
            x->lfh_offset = UINT64_MAX;
        } else {
            x->lfh_offset += e->shift;
        }
        off += (uint64_t)46 + nl + xl + cl;
    }
    if (!z->entries_capped && z->n != e->n_total) {
        sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the end record declares %llu entries but the central directory holds %zu: "
                          "extractors will disagree; rebuild the archive",
                          (unsigned long long)e->n_total, z->n);
    }
    return 0;
}

/* First offset in [from, to) where the 4-byte signature sig starts and ends before to; UINT64_MAX if none. */
static uint64_t find_sig(zrd *r, uint64_t from, uint64_t to, const char *sig)
{
    const size_t chunk = RD_WINDOW / 2;

    while (from < to && to - from >= 4) {
        size_t len = to - from < chunk ? (size_t)(to - from) : chunk;
        const unsigned char *p = rd_at(r, from, len), *hit;

        if (p == NULL) {
            return UINT64_MAX;
        }
        for (size_t i = 0; i + 4 <= len; i = (size_t)(hit - p) + 1) {
            if ((hit = memchr(p + i, 'P', len - 3 - i)) == NULL) {
                break;
            }
            if (memcmp(hit, sig, 4) == 0) {
                return from + (uint64_t)(hit - p);
            }
        }
        if (len < 4 || from + len >= to) {
            break;
        }
        from += len - 3;
    }
    return UINT64_MAX;
}

#define FLAG_MASK 0x2849u /* encrypted, data descriptor, strong encryption, UTF-8, masked header */

static void mismatch(sign__findings *f, const sign__zip_entry *x, const char *what, uint64_t cd, uint64_t lh)
{
    sign__finding_add(f, "zip-header-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                      "local header and central directory disagree on the %s (%#llx vs %#llx): extractors will "
                      "see different files; rebuild the archive",
                      what, (unsigned long long)lh, (unsigned long long)cd);
}

/* The local header's fields against the central directory's. */
static void compare_local(sign__findings *f, const sign__zip_entry *x, uint16_t lflags, uint16_t lmethod,
                          uint32_t lcrc, uint64_t lcsize, uint64_t lusize)
{
    if (lmethod != x->method) {
        mismatch(f, x, "compression method", x->method, lmethod);
    }
    if (((lflags ^ x->flags) & FLAG_MASK) != 0) {
        mismatch(f, x, "flags", x->flags, lflags);
    }
    if (!(lflags & 0x8) || lcrc != 0) {
        if (lcrc != x->crc) {
            mismatch(f, x, "CRC-32", x->crc, lcrc);
        }
    }
    /* With a data descriptor, a zero field is "see the descriptor"; libarchive's writer keeps a known usize. */
    if ((!(lflags & 0x8) || lcsize != 0) && lcsize != x->csize) {
        mismatch(f, x, "compressed size", x->csize, lcsize);
    }
    if ((!(lflags & 0x8) || lusize != 0) && lusize != x->usize) {
        mismatch(f, x, "uncompressed size", x->usize, lusize);
    }
}

/* The data descriptor after the entry's data (at x->end, which moves past it): its fields against the directory's. */
static int read_descriptor(sign__zip_entry *x, zrd *r, sign__findings *f, int z64local)
{
    int z64 = z64local || x->csize >= 0xffffffffu || x->usize >= 0xffffffffu;
    size_t dl = z64 ? 20 : 12, sig = 0;
    const unsigned char *p;
    uint32_t dcrc;
    uint64_t dc, du;

    if ((p = rd_at(r, x->end, 4)) != NULL && memcmp(p, "PK\x07\x08", 4) == 0) {
        sig = 4;
    }
    if ((p = rd_at(r, x->end + sig, dl)) == NULL) {
        return sign__finding_add(f, "zip-truncated", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                 "the data descriptor runs past the end of the file: the archive is "
                                 "truncated");
    }
    dcrc = le32(p);
    dc = z64 ? le64(p + 4) : le32(p + 4);
    du = z64 ? le64(p + 12) : le32(p + 8);
    if (dcrc != x->crc) {
        mismatch(f, x, "data descriptor CRC-32", x->crc, dcrc);
    }
    if (dc != x->csize) {
        mismatch(f, x, "data descriptor compressed size", x->csize, dc);
    }
    if (du != x->usize) {
        mismatch(f, x, "data descriptor uncompressed size", x->usize, du);
    }
    x->end += sig + dl;
    return 0;
}

static int read_local(sign__zip_entry *x, zrd *r, const sign_limits *lim, sign__findings *f)
{
    const unsigned char *p;
    unsigned char h[30];
    uint16_t lflags, lmethod, lnl, lxl;
    uint32_t lcrc;
    uint64_t lcsize, lusize, off = x->lfh_offset;
    int z64local = 0, rc;

    x->end = off;
    if ((p = rd_at(r, off, 30)) == NULL || memcmp(p, "PK\x03\x04", 4) != 0) {
        return sign__finding_add(f, "zip-bad-local-header", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                 "no local file header at offset %llu where the central directory points: "
                                 "the archive is damaged or crafted; rebuild it",
                                 (unsigned long long)off);
    }
    memcpy(h, p, sizeof(h));
    lflags = le16(h + 6);
    lmethod = le16(h + 8);
    lcrc = le32(h + 14);
    lcsize = le32(h + 18);
    lusize = le32(h + 22);
    lnl = le16(h + 26);
    lxl = le16(h + 28);
    if ((p = rd_at(r, off + 30, lnl)) == NULL) {
        return sign__finding_add(f, "zip-truncated", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                 "the local header at offset %llu runs past the end of the file: the archive is "
                                 "truncated",
                                 (unsigned long long)off);
    }
    if (lnl != x->name_len || memcmp(p, x->name, lnl) != 0) {
        if ((x->local_name = dup_bytes(p, lnl)) == NULL) {
            return sign__oom();
        }
        x->local_name_len = lnl;
        sign__zip_check_name(f, x->local_name, lnl, lim);
        sign__finding_add(f, "zip-header-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                          "local header names this entry differently from the central directory: extractors "
                          "will write different files; rebuild the archive");
    }
    if (lcsize == 0xffffffffu || lusize == 0xffffffffu) {
        z64local = 1;
    }
    if (lxl > 0 && (p = rd_at(r, off + 30, (size_t)lnl + lxl)) != NULL) {
        uint64_t u = lusize, c = lcsize, v32[2] = {lusize, lcsize};

        check_extra(f, x, p + lnl, lxl, p, lnl, NULL, 0, v32, 2, (lflags & 0x8) != 0, lim);
        zip64_extra(p + lnl, lxl, &u, &c, NULL, 1);
        if (z64local) {
            lusize = u;
            lcsize = c;
        }
    }
    x->lfh_ok = 1;
    x->local_method = lmethod;
    x->data_offset = off + 30 + lnl + lxl;
    compare_local(f, x, lflags, lmethod, lcrc, lcsize, lusize);
    if ((lflags & 1) && !(x->flags & 1)) {
        sign__finding_add(f, "zip-encrypted", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                          "entry is encrypted and cannot be hashed: sign the unencrypted files instead");
    }
    if (x->csize > r->size || x->data_offset > r->size - x->csize) {
        x->end = r->size;
        return sign__finding_add(f, "zip-truncated", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                 "entry data runs past the end of the file: the archive is truncated");
    }
    x->end = x->data_offset + x->csize;
    if ((x->flags & 0x8) && (rc = read_descriptor(x, r, f, z64local)) != 0) {
        return rc;
    }
    /*
     * Stored with a data descriptor: the local header has no size, so a
     * streaming reader ends the data at the first descriptor signature.
     */
    if ((lflags & 0x8) && lmethod == 0 &&
        find_sig(r, x->data_offset, x->data_offset + x->csize, "PK\x07\x08") != UINT64_MAX) {
        return sign__finding_add(f, "zip-descriptor-ambiguous", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                 "stored entry with a data descriptor contains a descriptor signature: a streaming "
                                 "extractor ends the entry there and reads the rest as other entries; rebuild the "
                                 "archive (deflate it, or write sizes in the local header)");
    }
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const sign__zip_entry *x = *(const sign__zip_entry *const *)a, *y = *(const sign__zip_entry *const *)b;

    if (x->lfh_offset != y->lfh_offset) {
        return x->lfh_offset < y->lfh_offset ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

typedef struct namekey {
    char *key;
    const sign__zip_entry *x;
} namekey;

static int cmp_key(const void *a, const void *b)
{
    const namekey *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0) {
        return c;
    }
    return x->x->index < y->x->index ? -1 : x->x->index > y->x->index;
}

/* Raw names; equal names order by nothing else, so equal compares as 0. */
static int cmp_raw(const void *a, const void *b)
{
    const sign__zip_entry *x = ((const namekey *)a)->x, *y = ((const namekey *)b)->x;
    size_t m = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, m);

    if (c != 0) {
        return c;
    }
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/*
 * Canonical decomposition (NFD) of U+00C0..U+017F, the precomposed Latin
 * letters: base letter ('.' for none) and combining mark U+0300 + (mark - '0').
 * Enough to see that "café" (NFC) and "cafe\u0301" (NFD) are one name on
 * macOS; other scripts are not normalised (documented in docs/findings.md).
 */
static const char nfd_base[] = "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y"
                               "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl."
                               "...NnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz.";
static const char nfd_mark[] = "01238:.W01280128.301238..01281..01238:.W01280128.301238..01281.8"
                               "4466XX112277<<<<..446677XX<<226677WW22..334466XX7...22WW.11WW<<."
                               "...11WW<<...4466;;..11WW<<1122WW<<WW<<..334466::;;XX222281177<<.";

/*
 * Key for comparing names (malloc'd): Latin letters decomposed as above; with
 * fold also '\\' as '/', ASCII lower case, no empty or "." components and no
 * trailing '/'.
 */
static char *normal_key(const char *name, size_t len, int fold)
{
    const unsigned char *u = (const unsigned char *)name;
    char *k = malloc(len * 2 + 1);
    size_t o = 0, i = 0;

    if (k == NULL) {
        return NULL;
    }
    while (i < len) {
        size_t s = i;

        while (i < len && (!fold || (name[i] != '/' && name[i] != '\\'))) {
            i++;
        }
        if (!fold || !(i - s == 0 || (i - s == 1 && name[s] == '.'))) {
            if (fold && o > 0) {
                k[o++] = '/';
            }
            for (size_t j = s; j < i; j++) {
                char c = name[j];
                unsigned cp = j + 1 < i && u[j] >= 0xc3 && u[j] <= 0xc5 && (u[j + 1] & 0xc0) == 0x80
                                  ? (unsigned)(u[j] & 0x1f) << 6 | (u[j + 1] & 0x3f)
                                  : 0;

                if (cp >= 0xc0 && cp < 0x180 && nfd_base[cp - 0xc0] != '.') {
                    c = nfd_base[cp - 0xc0];
                    k[o++] = (char)(fold && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
                    k[o++] = (char)0xcc;
                    k[o++] = (char)(0x80 + (nfd_mark[cp - 0xc0] - '0'));
                    j++;
                    continue;
                }
                /* (A NUL would end the key early: 0xff, never in UTF-8, stands for it.) */
                k[o++] = (char)(c == '\0' ? 0xff : fold && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            }
        }
        if (!fold) {
            break;
        }
        i++;
    }
    k[o] = '\0';
    return k;
}

static int check_duplicates(const sign__zip *z, sign__findings *f)
{
    namekey *k = NULL;
    int r = 0;
    size_t n = z->n;

    if (n < 2) {
        return 0;
    }
    if ((k = calloc(n, sizeof(*k))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    /* Exact duplicates: names compared as stored (full length, NUL bytes included). */
    for (size_t i = 0; i < n; i++) {
        k[i].x = &z->e[i];
    }
    qsort(k, n, sizeof(*k), cmp_raw);
    for (size_t i = 1; i < n; i++) {
        if (cmp_raw(&k[i - 1], &k[i]) == 0) {
            sign__finding_add(f, "zip-duplicate-name", SIGN_SEVERITY_DANGER, k[i].x->name, k[i].x->name_len,
                              "two entries have this name; which one an extractor keeps varies: remove one");
        }
    }
    /* Canonically equivalent spellings (NFC and NFD): one file on macOS, two elsewhere. */
    for (size_t i = 0; i < n; i++) {
        if ((k[i].key = normal_key(k[i].x->name, k[i].x->name_len, 0)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
    }
    qsort(k, n, sizeof(*k), cmp_key);
    for (size_t i = 1; i < n; i++) {
        const sign__zip_entry *a = k[i - 1].x, *b = k[i].x;

        if (strcmp(k[i].key, k[i - 1].key) == 0 &&
            !(a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0)) {
            sign__finding_add(f, "zip-duplicate-name-unicode", SIGN_SEVERITY_DANGER, b->name, b->name_len,
                              "this name is another entry's in a different Unicode normalisation (NFC versus "
                              "NFD): on macOS one overwrites the other, elsewhere both exist; rename one");
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(k[i].key);
        if ((k[i].key = normal_key(k[i].x->name, k[i].x->name_len, 1)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
    }
    qsort(k, n, sizeof(*k), cmp_key);
    for (size_t i = 1; i < n; i++) {
        const sign__zip_entry *a = k[i - 1].x, *b = k[i].x;

        if (strcmp(k[i].key, k[i - 1].key) == 0 &&
            !(a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0)) {
            sign__finding_add(f, "zip-duplicate-name-normalised", SIGN_SEVERITY_WARNING, b->name, b->name_len,
                              "this name equals another entry's after case folding or path normalisation; on a "
                              "case-insensitive file system one overwrites the other: rename one");
        }
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(k[i].key);
    }
    free(k);
    return r;
}

/*
 * The path an extractor creates for a name: sign__path_norm (empty and "."
 * components dropped, no trailing '/', case and bytes kept) of the name with
 * a NUL byte standing as 0xff. The path normaliser of the zip findings; malloc'd.
 */
static char *zip_path_key(const char *name, size_t len)
{
    char *s = malloc(len + 1), *k;

    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        s[i] = (char)(name[i] == '\0' ? 0xff : (unsigned char)name[i]);
    }
    s[len] = '\0';
    k = sign__path_norm(s);
    free(s);
    return k;
}

static int zip_is_dir(const sign__zip_entry *x)
{
    return (x->name_len > 0 && x->name[x->name_len - 1] == '/') || (x->ext_attr & 0x10) != 0 ||
           ((x->ext_attr >> 16) & S_IFMT) == S_IFDIR;
}

static int zip_is_symlink(const sign__zip_entry *x)
{
    return ((x->ext_attr >> 16) & S_IFMT) == S_IFLNK;
}

/* Index of the first key equal to p in the sorted k, or SIZE_MAX. */
static size_t key_find(const namekey *k, size_t n, const char *p)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(k[mid].key, p) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && strcmp(k[lo].key, p) == 0 ? lo : SIZE_MAX;
}

/*
 * Paths, as extractors create them. Names that differ only by empty or "."
 * components ("lib/util.py", "lib//util.py", "./lib/./util.py") are one
 * file: which content lands depends on the extractor, as for exact
 * duplicates (two directories are fine). A path that is a file in one entry
 * and a directory above another ("lib" and "lib/util.py"): extractors fail,
 * replace the file, or skip the entry.
 */
static int check_path_collisions(const sign__zip *z, sign__findings *f)
{
    namekey *k = NULL;
    size_t n = z->n;
    int r = 0;

    if (n < 2) {
        return 0;
    }
    if ((k = calloc(n, sizeof(*k))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        k[i].x = &z->e[i];
        if ((k[i].key = zip_path_key(k[i].x->name, k[i].x->name_len)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
    }
    qsort(k, n, sizeof(*k), cmp_key);
    for (size_t i = 1; i < n; i++) {
        const sign__zip_entry *a = k[i - 1].x, *b = k[i].x;

        if (strcmp(k[i].key, k[i - 1].key) == 0 && k[i].key[0] != '\0' &&
            !(a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0) &&
            !(zip_is_dir(a) && zip_is_dir(b))) {
            sign__finding_add(f, "zip-duplicate-path", SIGN_SEVERITY_DANGER, b->name, b->name_len,
                              "this name is another entry's path spelt differently (empty or '.' components, or a "
                              "trailing '/'); which content lands depends on the extractor: remove one");
        }
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        char *p = strdup(k[i].key); /* cut in place: not the sorted array's copy */

        if (p == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            break;
        }
        for (char *q = strchr(p, '/'); q != NULL; q = strchr(q + 1, '/')) {
            size_t j;

            *q = '\0';
            j = key_find(k, n, p);
            for (; j != SIZE_MAX && j < n && strcmp(k[j].key, p) == 0; j++) {
                if (!zip_is_dir(k[j].x) && !zip_is_symlink(k[j].x)) {
                    break;
                }
            }
            if (j != SIZE_MAX && j < n && strcmp(k[j].key, p) == 0) {
                sign__finding_add(f, "zip-file-and-directory", SIGN_SEVERITY_DANGER, k[i].x->name, k[i].x->name_len,
                                  "entry is stored below a path that another entry holds as a file; extractors "
                                  "disagree on which one lands: rebuild the archive");
                break;
            }
            *q = '/';
        }
        free(p);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(k[i].key);
    }
    free(k);
    return r;
}

/*
 * Per-entry ambiguities of kind and name encoding that need no local header:
 * which of a name's decodings, and which of file or directory, an extractor
 * picks.
 */
static void check_entry_kind(sign__findings *f, const sign__zip_entry *x)
{
    unsigned int host = x->made_by >> 8, mode = x->ext_attr >> 16;
    int high = 0, slash = x->name_len > 0 && x->name[x->name_len - 1] == '/';
    int dir = slash || (host == 3 && (mode & S_IFMT) == S_IFDIR) || (host != 3 && (x->ext_attr & 0x10) != 0);

    for (size_t i = 0; i < x->name_len; i++) {
        high |= (unsigned char)x->name[i] >= 0x80;
    }
    if (high && !(x->flags & 0x800) && sign__utf8_valid(x->name, x->name_len)) {
        sign__finding_add(f, "zip-name-utf8-unflagged", SIGN_SEVERITY_WARNING, x->name, x->name_len,
                          "entry name is UTF-8 but the UTF-8 flag (bit 11) is clear: Info-ZIP, Python and Go "
                          "decode it as CP437 and extract it under another name; rebuild with the flag set");
    }
    if (dir && (x->usize > 0 || (x->method == 0 && x->csize > 0))) {
        sign__finding_add(f, "zip-dir-with-data", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                          "entry is a directory (%s) but carries %llu bytes of data: some tools create a directory, "
                          "others a file with that content; rebuild the archive",
                          slash ? "its name ends in '/'" : "by its attributes", (unsigned long long)x->usize);
    }
    if (x->method == 0 && !(x->flags & 1) && x->csize != x->usize) {
        sign__finding_add(f, "zip-size-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                          "stored entry declares %llu compressed but %llu uncompressed bytes: tools that copy one "
                          "or the other extract different files; rebuild the archive",
                          (unsigned long long)x->csize, (unsigned long long)x->usize);
    }
    if (host != 3 && (mode & S_IFMT) == S_IFLNK) {
        sign__finding_add(f, "zip-attr-host-mismatch", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                          "entry made by a non-Unix host (%u) has Unix attributes of a symlink: tools that read them "
                          "regardless of the host create a link, others a file; rebuild the archive",
                          host);
    }
}

/*
 * A local header in bytes that belong to no entry is an entry that a
 * streaming extractor (one that reads local headers front to back and never
 * looks at the central directory) creates and nobody signed.
 */
static void scan_hidden(zrd *r, uint64_t from, uint64_t to, const sign_limits *lim, sign__findings *f)
{
    uint64_t at;

    while ((at = find_sig(r, from, to, "PK\x03\x04")) != UINT64_MAX) {
        const unsigned char *p = rd_at(r, at, 30);
        uint16_t method, nl;

        from = at + 4;
        if (p == NULL) {
            continue;
        }
        /* Not the "version needed": libarchive's streaming reader and Java ignore it, so it proves nothing. */
        method = le16(p + 8);
        nl = le16(p + 26);
        if (!(method == 0 || method == 8 || method == 9 || method == 12 || method == 14 || method == 93 ||
              method == 95 || method == 98 || method == 99)) {
            continue;
        }
        if (nl == 0 || nl > lim->name_max || (p = rd_at(r, at + 30, nl)) == NULL) {
            continue;
        }
        sign__finding_add(f, "zip-hidden-entry", SIGN_SEVERITY_DANGER, (const char *)p, nl,
                          "a local file header at offset %llu is not in the central directory: streaming "
                          "extractors create this file, which was not checked or signed; rebuild the archive",
                          (unsigned long long)at);
    }
}

static void check_layout(sign__zip *z, const eocd *e, zrd *r, const sign_limits *lim, sign__findings *f)
{
    sign__zip_entry **s = NULL;
    uint64_t cd_start = e->cd_off + e->shift, first, prev_end;

    if (z->n > 0 && (s = malloc(z->n * sizeof(*s))) == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < z->n; i++) {
        s[i] = &z->e[i];
    }
    if (z->n > 0) {
        qsort(s, z->n, sizeof(*s), cmp_offset);
    }
    first = z->n > 0 && s[0]->lfh_offset < cd_start ? s[0]->lfh_offset : cd_start;
    if (first > 0) {
        if (e->shift > 0) {
            sign__finding_add(f, "zip-data-before-entries", SIGN_SEVERITY_DANGER, NULL, 0,
                              "%llu bytes were prepended to the archive without adjusting its offsets: the file "
                              "is also something else; sign the plain zip",
                              (unsigned long long)first);
        } else {
            sign__finding_add(f, "zip-data-before-entries", SIGN_SEVERITY_DANGER, NULL, 0,
                              "%llu bytes precede the first entry (a self-extractor or a polyglot file): sign the "
                              "plain zip",
                              (unsigned long long)first);
        }
    }
    prev_end = first;
    for (size_t i = 0; i < z->n; i++) {
        sign__zip_entry *x = s[i];
        uint64_t end = x->end > x->lfh_offset ? x->end : x->lfh_offset;

        if (i > 0 && x->lfh_offset < prev_end) {
            const sign__zip_entry *y = s[i - 1];
            char other[160];

            sign__text_escape_into(other, sizeof(other), y->name, y->name_len);
            sign__finding_add(f, "zip-overlapping-entries", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                              "entry starts at offset %llu inside the data of another entry (%s): the same bytes "
                              "extract twice; rebuild the archive",
                              (unsigned long long)x->lfh_offset, other);
        } else if (x->lfh_offset > prev_end) {
            scan_hidden(r, prev_end, x->lfh_offset, lim, f);
            sign__finding_add(f, "zip-unreferenced-data", SIGN_SEVERITY_WARNING, NULL, 0,
                              "%llu bytes at offset %llu belong to no entry: something may be hidden there; "
                              "rebuild the archive",
                              (unsigned long long)(x->lfh_offset - prev_end), (unsigned long long)prev_end);
        }
        if (end > prev_end) {
            prev_end = end;
        }
    }
    if (prev_end > cd_start) {
        sign__finding_add(f, "zip-overlapping-entries", SIGN_SEVERITY_DANGER, NULL, 0,
                          "entry data runs into the central directory at offset %llu: rebuild the archive",
                          (unsigned long long)cd_start);
    } else if (prev_end < cd_start) {
        scan_hidden(r, prev_end, cd_start, lim, f);
        sign__finding_add(f, "zip-unreferenced-data", SIGN_SEVERITY_WARNING, NULL, 0,
                          "%llu bytes at offset %llu belong to no entry: something may be hidden there; rebuild "
                          "the archive",
                          (unsigned long long)(cd_start - prev_end), (unsigned long long)prev_end);
    }
    if (cd_start + e->cd_size < e->records_start) {
        sign__finding_add(f, "zip-unreferenced-data", SIGN_SEVERITY_WARNING, NULL, 0,
                          "%llu bytes between the central directory and the end record belong to nothing: "
                          "rebuild the archive",
                          (unsigned long long)(e->records_start - cd_start - e->cd_size));
    }
    free(s);
}

/*
 * Further valid end records. One that lies wholly inside the data of an
 * entry the central directory lists belongs to that entry (a nested jar or
 * zip stored uncompressed, as Spring Boot and `zip -0` write them): every
 * reader uses the last record, and the one inside is that entry's content.
 * Any other (in the comment, between entries, a concatenated zip) is a
 * second archive some tool may pick.
 */
static void check_other_eocds(const sign__zip *z, const uint64_t *pos, size_t n, sign__findings *f)
{
    size_t unexplained = n > EOCD_OTHERS_KEPT ? n - EOCD_OTHERS_KEPT : 0;
    uint64_t first = UINT64_MAX;

    for (size_t k = 0; k < n && k < EOCD_OTHERS_KEPT; k++) {
        int inside = 0;

        for (size_t i = 0; i < z->n && !inside; i++) {
            const sign__zip_entry *x = &z->e[i];

            inside =
                x->lfh_ok && pos[k] >= x->data_offset && x->csize >= 22 && pos[k] - x->data_offset <= x->csize - 22;
        }
        if (!inside) {
            unexplained++;
            first = pos[k] < first ? pos[k] : first;
        }
    }
    if (unexplained > 0) {
        sign__finding_add(f, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL, 0,
                          "%zu more end records (one at offset %llu) hide a second archive in the comment or "
                          "tail: tools will disagree on the contents; rebuild the archive",
                          unexplained, (unsigned long long)(first != UINT64_MAX ? first : pos[0]));
    }
}

int sign__zip_parse(sign__zip **out, int fd, const sign__fmap *m, uint64_t size, const char *path,
                    const sign_limits *lim, sign__findings *f)
{
    zrd r = {fd, size, NULL, 0, 0, 0, m != NULL && m->p != NULL ? m : NULL, 0};
    sign__zip *z = NULL;
    eocd e;
    int found = 0, rc;
    uint64_t bogus, other[EOCD_OTHERS_KEPT];
    size_t others;

    *out = NULL;
    if ((r.buf = malloc(RD_WINDOW)) == NULL || (z = calloc(1, sizeof(*z))) == NULL) {
        rc = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    z->file_size = size;
    if ((rc = eocd_find(&r, &e, &found, &bogus, other, &others)) != 0) {
        if (rc == SIGN_EIO) {
            sign__error(rc, "%s: read error: %s", path, strerror(r.ioerr));
        }
        goto out;
    }
    if (!found && bogus != UINT64_MAX) {
        rc = sign__error(SIGN_EPARSE,
                         "%s: the end-of-central-directory record at offset %llu does not lead to a central "
                         "directory (damaged or crafted)",
                         path, (unsigned long long)bogus);
        goto out;
    }
    if (!found) {
        rc = sign__error(SIGN_EPARSE,
                         "%s: starts like a zip but has no valid end-of-central-directory record in its last "
                         "%llu bytes (truncated or damaged)",
                         path, (unsigned long long)(size < 65557 ? size : 65557));
        goto out;
    }
    z->cd_offset = e.cd_off + e.shift;
    z->cd_size = e.cd_size;
    z->eocd_offset = e.pos;
    z->shift = e.shift;
    if (bogus != UINT64_MAX) {
        sign__finding_add(f, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the last end record signature at offset %llu is not valid, an earlier one is used: "
                          "tools will disagree on the contents; rebuild the archive",
                          (unsigned long long)bogus);
    }
    if (e.inconsistent) {
        sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the zip64 end record and the classic end record disagree: rebuild the archive");
    }
    if (e.disk_odd) {
        sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the end record names another disk, or its entries on this disk differ from the total: "
                          "some tools refuse it as a split archive, others ignore the fields; rebuild the archive");
    }
    if (e.comment_past_end) {
        sign__finding_add(f, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL, 0,
                          "the archive comment is declared %u bytes long but the file ends %llu bytes after the "
                          "end record: some tools refuse it, others read it; rebuild the archive",
                          (unsigned)e.clen, (unsigned long long)(size - e.pos - 22));
    }
    if (!e.comment_past_end && e.pos + 22 + e.clen < size) {
        sign__finding_add(f, "zip-data-after-end", SIGN_SEVERITY_DANGER, NULL, 0,
                          "%llu bytes follow the end record at offset %llu: data is appended to the archive; "
                          "sign the plain zip",
                          (unsigned long long)(size - e.pos - 22 - e.clen), (unsigned long long)e.pos);
    }
    if ((rc = read_cd(z, &r, &e, path, lim, f)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < z->n; i++) {
        sign__zip_entry *x = &z->e[i];

        sign__zip_check_name(f, x->name, x->name_len, lim);
        if (x->flags & 1) {
            sign__finding_add(f, "zip-encrypted", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                              "entry is encrypted and cannot be hashed: sign the unencrypted files instead");
        }
        check_entry_kind(f, x);
        /* Unix mode bits are read from any host by some tools (yauzl users, 7-Zip): judge them wherever set. */
        if ((x->made_by >> 8) == 3 || (x->ext_attr >> 16) != 0) {
            unsigned int mode = x->ext_attr >> 16, type = mode & S_IFMT;

            if (mode & (S_ISUID | S_ISGID)) {
                sign__finding_add(f, "zip-setuid", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                  "entry has the setuid or setgid bit (mode %04o): clear it before packaging",
                                  mode & 07777);
            }
            if (type == S_IFCHR || type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK) {
                sign__finding_add(f, "zip-special-file", SIGN_SEVERITY_DANGER, x->name, x->name_len,
                                  "entry is a device, FIFO or socket: remove it from the archive");
            }
        }
        if ((rc = read_local(x, &r, lim, f)) != 0) {
            goto out;
        }
        if (r.ioerr) {
            rc = sign__error(SIGN_EIO, "%s: read error: %s", path, strerror(r.ioerr));
            goto out;
        }
    }
    if ((rc = check_duplicates(z, f)) != 0) {
        goto out;
    }
    if ((rc = check_path_collisions(z, f)) != 0) {
        goto out;
    }
    check_other_eocds(z, other, others, f);
    check_layout(z, &e, &r, lim, f);
    *out = z;
    z = NULL; /* transferred */
    rc = 0;
out:
    sign__zip_free(z);
    free(r.buf);
    return rc;
}
