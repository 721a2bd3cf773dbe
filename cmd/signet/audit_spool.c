/*
 * signet audit's spool: the records a text or HTML report lists at the end (artifacts that are not verified,
 * the look-ahead), kept out of memory. Records are packed into a run of at most run_max bytes; a full run is
 * sorted by path and written to an unlinked temporary file; the report reads them back in path order by
 * merging the runs. Memory is one run plus a small read buffer per run written, whatever the store's size
 * (a store where every artifact fails no longer grows the process).
 *
 * A packed record: a fixed header (its length, class, future class, whether it has a message, size,
 * signing time), then the path, sha256, reasons, signers, warnings and message, each NUL-terminated. The
 * path comes first after the header: it is the sort key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"

typedef struct spool_hdr {
    uint32_t len; /* the whole record, header included */
    uint8_t cls, future, has_message, pad;
    uint64_t size;
    int64_t signing_time;
} spool_hdr;

#define SPOOL_READ_BUF 16384u

struct spool_run {
    uint64_t off, end; /* in the file */
    unsigned char *buf;
    size_t pos, len, cap; /* buffered bytes [pos, len) */
};

static const char *rec_path(const unsigned char *p)
{
    return (const char *)p + sizeof(spool_hdr);
}

void audit_spool_init(audit_spool *s, size_t run_max)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->run_max = run_max > 0 ? run_max : AUDIT_SPOOL_RUN_MAX;
}

/* An unlinked temporary file under $TMPDIR (else /tmp): gone with the process, whatever happens. */
static int spool_file(void)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[4200];
    int fd;

    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    if ((fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
        return fd;
    }
    snprintf(tmpl, sizeof(tmpl), "%s/signet-audit.XXXXXX", dir);
    if ((fd = mkstemp(tmpl)) >= 0) {
        (void)unlink(tmpl);
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(rec_path(*(const unsigned char *const *)a), rec_path(*(const unsigned char *const *)b));
}

/* The records in memory, in path order: s->sorted (n pointers into s->buf). */
static int sort_memory(audit_spool *s)
{
    const unsigned char **v = NULL;
    size_t n = 0;

    free(s->sorted);
    s->sorted = NULL;
    if (s->nmem == 0) {
        return 0;
    }
    if ((v = malloc(s->nmem * sizeof(*v))) == NULL) {
        return -1;
    }
    for (size_t off = 0; off < s->used && n < s->nmem; n++) {
        spool_hdr h;

        memcpy(&h, s->buf + off, sizeof(h));
        v[n] = s->buf + off;
        off += h.len;
    }
    if (n != s->nmem) {
        free(v); /* the buffer and the count disagree: never read past what was filled */
        return -1;
    }
    if (n > 1) {
        qsort(v, n, sizeof(*v), cmp_rec);
    }
    s->sorted = v;
    return 0;
}

/* The run in memory, sorted, appended to the file. */
static int flush_run(audit_spool *s)
{
    struct spool_run *nr;
    uint64_t start = s->fsize;

    if (s->nmem == 0) {
        return 0;
    }
    if ((s->fd < 0 && (s->fd = spool_file()) < 0) || sort_memory(s) != 0 || s->sorted == NULL) {
        return -1;
    }
    if ((nr = realloc(s->runs, (s->nruns + 1) * sizeof(*nr))) == NULL) {
        return -1;
    }
    s->runs = nr;
    for (size_t i = 0; i < s->nmem; i++) {
        spool_hdr h;

        memcpy(&h, s->sorted[i], sizeof(h));
        if (write_all(s->fd, s->sorted[i], h.len) != 0) {
            return -1;
        }
        s->fsize += h.len;
    }
    memset(&s->runs[s->nruns], 0, sizeof(s->runs[s->nruns]));
    s->runs[s->nruns].off = start;
    s->runs[s->nruns].end = s->fsize;
    s->nruns++;
    free(s->sorted);
    s->sorted = NULL;
    s->used = 0;
    s->nmem = 0;
    return 0;
}

static void put_str(audit_spool *s, const char *str)
{
    size_t n = strlen(str) + 1;

    memcpy(s->buf + s->used, str, n);
    s->used += n;
}

int audit_spool_add(audit_spool *s, const audit_record *r)
{
    const char *strs[6] = {r->path != NULL ? r->path : "",      r->sha256, r->reasons, r->signers, r->warnings,
                           r->message != NULL ? r->message : ""};
    size_t need = sizeof(spool_hdr);
    spool_hdr h;

    for (int i = 0; i < 6; i++) {
        need += strlen(strs[i]) + 1;
    }
    if (need > UINT32_MAX / 2) {
        return -1;
    }
    if (s->used > 0 && s->used + need > s->run_max && flush_run(s) != 0) {
        return -1;
    }
    if (s->used + need > s->cap) {
        size_t nc = s->cap > 0 ? s->cap : 65536;
        unsigned char *nb;

        while (nc < s->used + need) {
            nc *= 2;
        }
        if ((nb = realloc(s->buf, nc)) == NULL) {
            return -1;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memset(&h, 0, sizeof(h));
    h.len = (uint32_t)need;
    h.cls = (uint8_t)r->cls;
    h.future = (uint8_t)r->future;
    h.has_message = r->message != NULL;
    h.size = r->size;
    h.signing_time = r->signing_time;
    memcpy(s->buf + s->used, &h, sizeof(h));
    s->used += sizeof(h);
    for (int i = 0; i < 6; i++) {
        put_str(s, strs[i]);
    }
    s->nmem++;
    s->count++;
    return 0;
}

/* The next record of a run written to the file, buffered; NULL at its end or on a read error (*err). */
static const unsigned char *run_peek(int fd, struct spool_run *r, int *err)
{
    spool_hdr h;

    for (;;) {
        size_t have = r->len - r->pos;

        if (have >= sizeof(h)) {
            memcpy(&h, r->buf + r->pos, sizeof(h));
            if (h.len < sizeof(h)) {
                *err = 1;
                return NULL;
            }
            if (have >= h.len) {
                return r->buf + r->pos;
            }
        }
        if (r->off == r->end) {
            if (have > 0) {
                *err = 1; /* a record cut short */
            }
            return NULL;
        }
        memmove(r->buf, r->buf + r->pos, have);
        r->pos = 0;
        r->len = have;
        if (have >= sizeof(h) && h.len > r->cap) {
            unsigned char *nb = realloc(r->buf, h.len);

            if (nb == NULL) {
                *err = 1;
                return NULL;
            }
            r->buf = nb;
            r->cap = h.len;
        }
        {
            size_t want = r->cap - r->len;
            ssize_t got;

            if ((uint64_t)want > r->end - r->off) {
                want = (size_t)(r->end - r->off);
            }
            got = pread(fd, r->buf + r->len, want, (off_t)r->off);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                *err = 1;
                return NULL;
            }
            r->len += (size_t)got;
            r->off += (uint64_t)got;
        }
    }
}

static void heap_down(audit_spool *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;

        if (l < s->nheap && strcmp(rec_path(s->head[s->heap[l]]), rec_path(s->head[s->heap[m]])) < 0) {
            m = l;
        }
        if (l + 1 < s->nheap && strcmp(rec_path(s->head[s->heap[l + 1]]), rec_path(s->head[s->heap[m]])) < 0) {
            m = l + 1;
        }
        if (m == i) {
            return;
        }
        l = s->heap[i]; /* swapped */
        s->heap[i] = s->heap[m];
        s->heap[m] = l;
        i = m;
    }
}

int audit_spool_rewind(audit_spool *s)
{
    s->next = 0;
    if (s->nruns == 0) {
        return sort_memory(s); /* everything fits in memory: no file at all */
    }
    if (flush_run(s) != 0) {
        return -1;
    }
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    if ((s->heap = calloc(s->nruns, sizeof(*s->heap))) == NULL ||
        (s->head = calloc(s->nruns, sizeof(*s->head))) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < s->nruns; i++) {
        struct spool_run *r = &s->runs[i];
        int err = 0;

        if ((r->buf = malloc(SPOOL_READ_BUF)) == NULL) {
            return -1;
        }
        r->cap = SPOOL_READ_BUF;
        if ((s->head[i] = run_peek(s->fd, r, &err)) != NULL) {
            s->heap[s->nheap++] = i;
        } else if (err) {
            return -1;
        }
    }
    for (size_t i = s->nheap; i-- > 0;) {
        heap_down(s, i);
    }
    return 0;
}

/* A packed record as an audit_record whose strings point into p. */
static void unpack(audit_record *out, const unsigned char *p)
{
    spool_hdr h;
    const char *q = (const char *)p + sizeof(h);

    memcpy(&h, p, sizeof(h));
    memset(out, 0, sizeof(*out));
    out->cls = (sign_audit_class)h.cls;
    out->future = (sign_audit_class)h.future;
    out->size = h.size;
    out->signing_time = h.signing_time;
    out->path = (char *)q;
    q += strlen(q) + 1;
    snprintf(out->sha256, sizeof(out->sha256), "%s", q);
    q += strlen(q) + 1;
    snprintf(out->reasons, sizeof(out->reasons), "%s", q);
    q += strlen(q) + 1;
    snprintf(out->signers, sizeof(out->signers), "%s", q);
    q += strlen(q) + 1;
    snprintf(out->warnings, sizeof(out->warnings), "%s", q);
    q += strlen(q) + 1;
    out->message = h.has_message ? (char *)q : NULL;
}

int audit_spool_next(audit_spool *s, audit_record *out)
{
    if (s->nruns == 0) {
        if (s->next == s->nmem) {
            return 0;
        }
        unpack(out, s->sorted[s->next++]);
        return 1;
    }
    if (s->nheap == 0) {
        return 0;
    }
    {
        size_t i = s->heap[0];
        struct spool_run *r = &s->runs[i];
        spool_hdr h;
        int err = 0;

        /* the record is copied out before the run's buffer moves on */
        memcpy(&h, s->head[i], sizeof(h));
        if (h.len > s->curcap) {
            unsigned char *nb = realloc(s->cur, h.len);

            if (nb == NULL) {
                return -1;
            }
            s->cur = nb;
            s->curcap = h.len;
        }
        memcpy(s->cur, s->head[i], h.len);
        r->pos += h.len;
        if ((s->head[i] = run_peek(s->fd, r, &err)) == NULL) {
            if (err) {
                return -1;
            }
            s->heap[0] = s->heap[--s->nheap];
        }
        heap_down(s, 0);
        unpack(out, s->cur);
        return 1;
    }
}

void audit_spool_free(audit_spool *s)
{
    for (size_t i = 0; i < s->nruns; i++) {
        free(s->runs[i].buf);
    }
    free(s->runs);
    free(s->buf);
    free(s->sorted);
    free(s->heap);
    free(s->head);
    free(s->cur);
    if (s->fd >= 0) {
        close(s->fd);
    }
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}
