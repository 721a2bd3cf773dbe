/*
 * The inflater (inflate.h): gzip framing read here, deflate blocks decoded
 * by ISA-L's igzip or by zlib.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#ifdef SIGN_HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "inflate.h"
#include "util.h"

/* Where a stream is: the gzip header's fields, the deflate body, the trailer. */
enum {
    ST_FIXED,   /* the 10 bytes every gzip header starts with */
    ST_XLEN,    /* FEXTRA: its 2-byte length */
    ST_EXTRA,   /* FEXTRA: its bytes */
    ST_NAME,    /* FNAME: up to its NUL */
    ST_COMMENT, /* FCOMMENT: up to its NUL */
    ST_HCRC,    /* FHCRC: the header's CRC-16 */
    ST_BODY,    /* deflate blocks */
    ST_TRAILER, /* CRC-32 and ISIZE */
    ST_END,
    ST_ERROR
};

#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_RESERVED 0xe0

struct sign__inflate {
    int gzip;
    sign__inflate_engine engine;
    int state;
    unsigned char hdr[10]; /* the fixed header, the FEXTRA length, the FHCRC, the trailer: collected here */
    unsigned char trailer[8];
    size_t have;            /* bytes of the current fixed-size field collected */
    uint32_t flags;         /* the header's FLG */
    uint32_t extra;         /* FEXTRA bytes still to skip */
    uint32_t hcrc;          /* CRC-32 of the header so far (FHCRC is its low 16 bits) */
    uint32_t crc;           /* CRC-32 of the output */
    uint64_t out;           /* bytes of output */
    uint64_t in;            /* bytes of input used */
    unsigned char pend[16]; /* input an engine read past the end of the deflate data, handed back */
    size_t npend, ppos;
    const char *msg;
    sign__inflate_status err; /* the error that ended the stream */
    z_stream zs;
    int zinit;
#ifdef SIGN_HAVE_ISAL
    struct inflate_state *is;
#endif
};

#ifdef SIGN_HAVE_ISAL
static sign__inflate_engine engine_default = SIGN__INFLATE_ISAL;
#else
static sign__inflate_engine engine_default = SIGN__INFLATE_ZLIB;
#endif
static sign__inflate_engine engine_forced; /* AUTO: engine_default */
static uint64_t bytes_out;                 /* every inflater's output (atomic; tests) */

uint64_t sign__inflate_bytes_out(void)
{
    return __atomic_load_n(&bytes_out, __ATOMIC_RELAXED);
}

int sign__inflate_use(sign__inflate_engine e)
{
#ifndef SIGN_HAVE_ISAL
    if (e == SIGN__INFLATE_ISAL) {
        return sign__error(SIGN_EINVAL, "this build has no ISA-L (built with INFLATE=zlib or without libisal-dev)");
    }
#endif
    __atomic_store_n(&engine_forced, e, __ATOMIC_RELAXED);
    return 0;
}

static sign__inflate_engine engine_now(void)
{
    sign__inflate_engine e = __atomic_load_n(&engine_forced, __ATOMIC_RELAXED);

    return e == SIGN__INFLATE_AUTO ? engine_default : e;
}

const char *sign__inflate_engine_name(void)
{
    return engine_now() == SIGN__INFLATE_ISAL ? "isa-l" : "zlib";
}

uint32_t sign__crc32(uint32_t crc, const void *p, size_t n)
{
#ifdef SIGN_HAVE_ISAL
    return crc32_gzip_refl(crc, p, n);
#else
    const unsigned char *b = p;

    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;

        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
#endif
}

/* The engine's CRC for the output: zlib's own crc32 on the zlib engine, so that one is zlib alone. */
static uint32_t out_crc(const sign__inflate *z, uint32_t crc, const unsigned char *p, size_t n)
{
    if (z->engine == SIGN__INFLATE_ZLIB) {
        return n > 0 ? (uint32_t)crc32(crc, p, (uInt)n) : crc;
    }
    return sign__crc32(crc, p, n);
}

static int engine_start(sign__inflate *z)
{
#ifdef SIGN_HAVE_ISAL
    if (z->engine == SIGN__INFLATE_ISAL) {
        if (z->is == NULL && (z->is = malloc(sizeof(*z->is))) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        isal_inflate_init(z->is);
        z->is->crc_flag = ISAL_DEFLATE;
        z->is->hist_bits = 0;
        return 0;
    }
#endif
    if (z->zinit) {
        return inflateReset(&z->zs) == Z_OK ? 0 : sign__error(SIGN_ENOMEM, "out of memory");
    }
    memset(&z->zs, 0, sizeof(z->zs));
    if (inflateInit2(&z->zs, -15) != Z_OK) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    z->zinit = 1;
    return 0;
}

int sign__inflate_reset(sign__inflate *z)
{
    z->engine = engine_now();
    z->state = z->gzip ? ST_FIXED : ST_BODY;
    z->have = 0;
    z->flags = 0;
    z->extra = 0;
    z->hcrc = 0;
    z->crc = 0;
    z->out = 0;
    z->in = 0;
    z->npend = z->ppos = 0;
    z->msg = NULL;
    return engine_start(z);
}

int sign__inflate_new(sign__inflate **out, int gzip)
{
    sign__inflate *z = calloc(1, sizeof(*z));
    int r;

    *out = NULL;
    if (z == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    z->gzip = gzip;
    if ((r = sign__inflate_reset(z)) != 0) {
        sign__inflate_free(z);
        return r;
    }
    *out = z;
    return 0;
}

void sign__inflate_free(sign__inflate *z)
{
    if (z == NULL) {
        return;
    }
    if (z->zinit) {
        inflateEnd(&z->zs);
    }
#ifdef SIGN_HAVE_ISAL
    free(z->is);
#endif
    free(z);
}

uint32_t sign__inflate_crc(const sign__inflate *z)
{
    return z->crc;
}

uint64_t sign__inflate_total_out(const sign__inflate *z)
{
    return z->out;
}

uint64_t sign__inflate_total_in(const sign__inflate *z)
{
    return z->in - (z->npend - z->ppos);
}

const char *sign__inflate_msg(const sign__inflate *z)
{
    return z->msg != NULL ? z->msg : "no error";
}

/* ---- the engines: deflate blocks only ------------------------------------------ */

/* A chunk for an engine's 32-bit counters. */
static uint32_t cap32(size_t n)
{
    return n > 0x40000000u ? 0x40000000u : (uint32_t)n;
}

/* used bytes of the input taken: *in moves on only when some were (a caller with none may pass NULL). */
static void take_input(sign__inflate *z, const unsigned char **in, size_t *inlen, size_t used)
{
    if (used > 0) {
        *in += used;
        *inlen -= used;
        z->in += used;
    }
}

static sign__inflate_status zlib_body(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *out,
                                      size_t outcap, size_t *outlen)
{
    uint32_t ain = cap32(*inlen), aout = cap32(outcap);
    int zr;

    z->zs.next_in = (Bytef *)(uintptr_t)*in;
    z->zs.avail_in = ain;
    z->zs.next_out = out;
    z->zs.avail_out = aout;
    zr = inflate(&z->zs, Z_NO_FLUSH);
    take_input(z, in, inlen, ain - z->zs.avail_in);
    *outlen = aout - z->zs.avail_out;
    if (zr == Z_MEM_ERROR) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN__INFLATE_ENOMEM;
    }
    if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
        z->msg = "invalid deflate data";
        return SIGN__INFLATE_EDATA;
    }
    return zr == Z_STREAM_END ? SIGN__INFLATE_END : SIGN__INFLATE_MORE;
}

#ifdef SIGN_HAVE_ISAL
/*
 * igzip reads input 8 bytes ahead into a bit buffer: at the end of the
 * deflate data, the whole bytes left there are input after the stream. Those
 * read during this call go back to the caller's buffer; earlier ones (at most
 * 8) to pend.
 */
static void isal_hand_back(sign__inflate *z, const unsigned char **in, size_t *inlen, size_t used)
{
    struct inflate_state *s = z->is;
    size_t n = s->read_in_length >= 8 ? (size_t)s->read_in_length / 8 : 0, k;
    uint64_t bits = n > 0 ? s->read_in >> (s->read_in_length % 8) : 0;
    unsigned char tmp[8];

    for (size_t i = 0; i < n && i < sizeof(tmp); i++) {
        tmp[i] = (unsigned char)(bits >> (8 * i));
    }
    n = n < sizeof(tmp) ? n : sizeof(tmp);
    k = n < used ? n : used;
    if (k > 0) { /* (none when none was taken: *in may be NULL) */
        *in -= k;
        *inlen += k;
        z->in -= k;
    }
    memcpy(z->pend, tmp, n - k);
    z->npend = n - k;
    z->ppos = 0;
    s->read_in_length = 0;
    s->read_in = 0;
}

static sign__inflate_status isal_body(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *out,
                                      size_t outcap, size_t *outlen)
{
    struct inflate_state *s = z->is;
    uint32_t ain = cap32(*inlen), aout = cap32(outcap);
    int rc;

    s->next_in = (uint8_t *)(uintptr_t)*in;
    s->avail_in = ain;
    s->next_out = out;
    s->avail_out = aout;
    rc = isal_inflate(s);
    take_input(z, in, inlen, ain - s->avail_in);
    *outlen = aout - s->avail_out;
    if (rc < 0 || rc == ISAL_NEED_DICT) {
        z->msg = "invalid deflate data";
        return SIGN__INFLATE_EDATA;
    }
    if (s->block_state == ISAL_BLOCK_FINISH) {
        isal_hand_back(z, in, inlen, ain - s->avail_in);
        return SIGN__INFLATE_END;
    }
    return SIGN__INFLATE_MORE;
}
#endif

static sign__inflate_status body(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *out,
                                 size_t outcap, size_t *outlen)
{
    sign__inflate_status st;

#ifdef SIGN_HAVE_ISAL
    st = z->engine == SIGN__INFLATE_ISAL ? isal_body(z, in, inlen, out, outcap, outlen)
                                         : zlib_body(z, in, inlen, out, outcap, outlen);
#else
    st = zlib_body(z, in, inlen, out, outcap, outlen);
#endif
    z->crc = out_crc(z, z->crc, out, *outlen);
    z->out += *outlen;
    __atomic_fetch_add(&bytes_out, (uint64_t)*outlen, __ATOMIC_RELAXED);
    return st;
}

/* ---- gzip framing ---------------------------------------------------------------- */

/* The next input byte: handed-back bytes first. 0 when there is none. */
static int next_byte(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *c)
{
    if (z->ppos < z->npend) {
        *c = z->pend[z->ppos++];
        return 1;
    }
    if (*inlen == 0) {
        return 0;
    }
    *c = **in;
    (*in)++;
    (*inlen)--;
    z->in++;
    return 1;
}

static sign__inflate_status fail(sign__inflate *z, sign__inflate_status st, const char *msg)
{
    z->state = ST_ERROR;
    z->err = st;
    if (msg != NULL) {
        z->msg = msg;
    }
    return st;
}

/* One header byte c in state z->state. */
static sign__inflate_status header_byte(sign__inflate *z, unsigned char c)
{
    if (z->state != ST_HCRC) {
        z->hcrc = out_crc(z, z->hcrc, &c, 1);
    }
    switch (z->state) {
    case ST_FIXED:
        z->hdr[z->have++] = c;
        if ((z->have == 1 && c != 0x1f) || (z->have == 2 && c != 0x8b)) {
            return fail(z, SIGN__INFLATE_EHEADER, "not a gzip member (bad magic)");
        }
        if (z->have == 3 && c != 8) {
            return fail(z, SIGN__INFLATE_EHEADER, "gzip header: unknown compression method");
        }
        if (z->have == 4 && (c & GZ_RESERVED) != 0) {
            return fail(z, SIGN__INFLATE_EHEADER, "gzip header: reserved flags set");
        }
        if (z->have == 10) {
            z->flags = z->hdr[3];
            z->have = 0;
            z->state = ST_XLEN;
        }
        break;
    case ST_XLEN:
        z->hdr[z->have++] = c;
        if (z->have == 2) {
            z->extra = (uint32_t)z->hdr[0] | (uint32_t)z->hdr[1] << 8;
            z->have = 0;
            z->state = ST_EXTRA;
        }
        break;
    case ST_EXTRA: z->extra--; break;
    case ST_NAME:
    case ST_COMMENT: z->state += c == 0; break;
    case ST_HCRC:
        z->hdr[z->have++] = c;
        if (z->have == 2 && ((uint32_t)z->hdr[0] | (uint32_t)z->hdr[1] << 8) != (z->hcrc & 0xffffu)) {
            return fail(z, SIGN__INFLATE_EHEADER, "gzip header: header CRC mismatch");
        }
        z->state += z->have == 2;
        break;
    default: break;
    }
    return SIGN__INFLATE_MORE;
}

/* Skip the optional fields that are absent; start the body after the header. */
static void header_advance(sign__inflate *z)
{
    for (;;) {
        if ((z->state == ST_XLEN && !(z->flags & GZ_FEXTRA)) || (z->state == ST_EXTRA && z->extra == 0) ||
            (z->state == ST_NAME && !(z->flags & GZ_FNAME)) ||
            (z->state == ST_COMMENT && !(z->flags & GZ_FCOMMENT)) ||
            (z->state == ST_HCRC && !(z->flags & GZ_FHCRC))) {
            z->have = 0;
            z->state++;
            continue;
        }
        return;
    }
}

static sign__inflate_status header(sign__inflate *z, const unsigned char **in, size_t *inlen)
{
    unsigned char c;

    while (z->state < ST_BODY) {
        sign__inflate_status st;

        if (z->state > ST_FIXED) {
            header_advance(z);
            if (z->state == ST_BODY) {
                break;
            }
        }
        if (z->state == ST_EXTRA && z->npend == z->ppos && *inlen > 0) {
            size_t k = *inlen < z->extra ? *inlen : z->extra; /* FEXTRA in bulk */

            z->hcrc = out_crc(z, z->hcrc, *in, k);
            take_input(z, in, inlen, k);
            z->extra -= (uint32_t)k;
            continue;
        }
        if (!next_byte(z, in, inlen, &c)) {
            return SIGN__INFLATE_MORE;
        }
        if ((st = header_byte(z, c)) != SIGN__INFLATE_MORE) {
            return st;
        }
    }
    return SIGN__INFLATE_MORE;
}

static sign__inflate_status trailer(sign__inflate *z, const unsigned char **in, size_t *inlen)
{
    unsigned char c;
    uint32_t crc, isize;

    while (z->have < 8) {
        if (!next_byte(z, in, inlen, &c)) {
            return SIGN__INFLATE_MORE;
        }
        z->trailer[z->have++] = c;
    }
    crc = (uint32_t)z->trailer[0] | (uint32_t)z->trailer[1] << 8 | (uint32_t)z->trailer[2] << 16 |
          (uint32_t)z->trailer[3] << 24;
    isize = (uint32_t)z->trailer[4] | (uint32_t)z->trailer[5] << 8 | (uint32_t)z->trailer[6] << 16 |
            (uint32_t)z->trailer[7] << 24;
    if (crc != z->crc) {
        return fail(z, SIGN__INFLATE_ECRC, "incorrect data check (CRC-32)");
    }
    if (isize != (uint32_t)(z->out & 0xffffffffu)) {
        return fail(z, SIGN__INFLATE_ESIZE, "incorrect length check (ISIZE)");
    }
    z->state = ST_END;
    return SIGN__INFLATE_END;
}

sign__inflate_status sign__inflate_run(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *out,
                                       size_t outcap, size_t *outlen)
{
    sign__inflate_status st = SIGN__INFLATE_MORE;

    *outlen = 0;
    if (z->state == ST_ERROR) {
        return z->err;
    }
    if (z->state == ST_END) {
        return SIGN__INFLATE_END;
    }
    if (z->state < ST_BODY && ((st = header(z, in, inlen)) != SIGN__INFLATE_MORE || z->state < ST_BODY)) {
        return st;
    }
    if (z->state == ST_BODY) {
        st = body(z, in, inlen, out, outcap, outlen);
        if (st == SIGN__INFLATE_EDATA || st == SIGN__INFLATE_ENOMEM) {
            return fail(z, st, NULL);
        }
        if (st != SIGN__INFLATE_END) {
            return st;
        }
        if (!z->gzip) {
            z->state = ST_END;
            return st;
        }
        z->state = ST_TRAILER;
        z->have = 0;
    }
    return trailer(z, in, inlen);
}
