/* zipgen: writes zip structures byte by byte so tests control every field (see zipgen.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "zipgen.h"

typedef struct zg_buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
    uint32_t bits; /* deflate bit writer */
    int nbits;
} zg_buf;

static void zg_put(zg_buf *b, const void *d, size_t len)
{
    if (b->oom) {
        return;
    }
    if (b->n + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        unsigned char *np;

        while (ncap < b->n + len) {
            ncap *= 2;
        }
        if ((np = realloc(b->p, ncap)) == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    if (len > 0) {
        memcpy(b->p + b->n, d, len);
    }
    b->n += len;
}

static void zg_u16(zg_buf *b, uint32_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};

    zg_put(b, x, 2);
}

static void zg_u32(zg_buf *b, uint32_t v)
{
    zg_u16(b, v & 0xffff);
    zg_u16(b, v >> 16);
}

static void zg_u64(zg_buf *b, uint64_t v)
{
    zg_u32(b, (uint32_t)v);
    zg_u32(b, (uint32_t)(v >> 32));
}

/* ---- CRC-32 ------------------------------------------------------------------ */

static uint32_t zg_crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    static int init;

    if (!init) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;

            for (int k = 0; k < 8; k++) {
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        init = 1;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

uint32_t zg_crc32(const void *p, size_t n)
{
    return zg_crc_update(0, p, n);
}

static void zg_raw16(unsigned char *out, size_t *len, size_t cap, uint32_t v)
{
    cr_assert(*len + 2 <= cap, "zipgen: extra field buffer too small");
    out[(*len)++] = (unsigned char)v;
    out[(*len)++] = (unsigned char)(v >> 8);
}

void zg_extra_unicode(unsigned char *out, size_t *len, size_t cap, uint16_t id, const char *crc_of, const char *utf8)
{
    size_t n = strlen(utf8);
    uint32_t crc = zg_crc32(crc_of, strlen(crc_of));

    zg_raw16(out, len, cap, id);
    zg_raw16(out, len, cap, (uint32_t)(5 + n));
    cr_assert(*len + 5 + n <= cap, "zipgen: extra field buffer too small");
    out[(*len)++] = 1;
    zg_raw16(out, len, cap, crc & 0xffff);
    zg_raw16(out, len, cap, crc >> 16);
    memcpy(out + *len, utf8, n);
    *len += n;
}

void zg_extra_zip64(unsigned char *out, size_t *len, size_t cap, const uint64_t *v, size_t n)
{
    zg_raw16(out, len, cap, 1);
    zg_raw16(out, len, cap, (uint32_t)(8 * n));
    for (size_t i = 0; i < n; i++) {
        zg_raw16(out, len, cap, (uint32_t)(v[i] & 0xffff));
        zg_raw16(out, len, cap, (uint32_t)((v[i] >> 16) & 0xffff));
        zg_raw16(out, len, cap, (uint32_t)((v[i] >> 32) & 0xffff));
        zg_raw16(out, len, cap, (uint32_t)(v[i] >> 48));
    }
}

/* ---- deflate: stored blocks for data, fixed-Huffman runs for zeros -------- */

static void zg_bits(zg_buf *b, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        b->bits |= ((v >> i) & 1u) << b->nbits;
        if (++b->nbits == 8) {
            unsigned char c = (unsigned char)b->bits;

            zg_put(b, &c, 1);
            b->bits = 0;
            b->nbits = 0;
        }
    }
}

/* Huffman codes go most significant bit first. */
static void zg_huff(zg_buf *b, uint32_t code, int len)
{
    for (int i = len - 1; i >= 0; i--) {
        zg_bits(b, (code >> i) & 1u, 1);
    }
}

static void zg_flush_bits(zg_buf *b)
{
    if (b->nbits > 0) {
        zg_bits(b, 0, 8 - b->nbits);
    }
}

static void zg_deflate_stored(zg_buf *b, const unsigned char *d, size_t len)
{
    size_t off = 0;

    do {
        size_t chunk = len - off > 65535 ? 65535 : len - off;
        int last = off + chunk == len;

        zg_bits(b, (uint32_t)last, 1);
        zg_bits(b, 0, 2);
        zg_flush_bits(b);
        zg_u16(b, (uint32_t)chunk);
        zg_u16(b, (uint32_t)(~chunk & 0xffff));
        zg_put(b, d + off, chunk);
        off += chunk;
    } while (off < len);
}

static void zg_deflate_zeros(zg_buf *b, uint64_t n)
{
    zg_bits(b, 1, 1); /* final */
    zg_bits(b, 1, 2); /* fixed Huffman */
    if (n > 0) {
        uint64_t rem = n - 1;

        zg_huff(b, 0x30, 8); /* literal 0 */
        for (; rem >= 258; rem -= 258) {
            zg_huff(b, 0xc5, 8); /* length 258 (code 285) */
            zg_huff(b, 0, 5);    /* distance 1 */
        }
        for (; rem > 0; rem--) {
            zg_huff(b, 0x30, 8);
        }
    }
    zg_huff(b, 0, 7); /* end of block */
    zg_flush_bits(b);
}

/* ---- archive ------------------------------------------------------------------ */

typedef struct zg_info {
    uint64_t lfh; /* offset recorded for the entry */
    uint32_t crc;
    uint64_t csize, usize;
} zg_info;

int zg_build(unsigned char **out, size_t *outlen, const zg_entry *e, size_t n, const zg_opts *o)
{
    static const zg_opts none;
    static const unsigned char zero[65536];
    zg_buf b = {0}, d = {0};
    zg_info *info = calloc(n ? n : 1, sizeof(*info));
    uint64_t cd_start, cd_size, shift, count = 0;

    if (o == NULL) {
        o = &none;
    }
    if (info == NULL) {
        return -1;
    }
    shift = o->prefix_shifts ? o->prefix_len : 0;
    zg_put(&b, o->prefix, o->prefix_len);
    for (size_t i = 0; i < n; i++) {
        const zg_entry *x = &e[i];
        const char *lname = x->local_name ? x->local_name : x->name;
        size_t nl = x->name_len ? x->name_len : strlen(x->name);
        size_t lnl = x->local_name ? (x->local_name_len ? x->local_name_len : strlen(x->local_name)) : nl;
        uint16_t method = x->method_set ? x->method : x->deflate ? 8 : 0;
        uint16_t flags = (uint16_t)(x->flags | (x->data_descriptor ? 8 : 0));
        uint16_t lflags = x->local_flags_set ? x->local_flags : flags;
        uint32_t crc = 0;

        d.n = 0;
        d.bits = 0;
        d.nbits = 0;
        if (x->data != NULL || x->zeros == 0) {
            crc = zg_crc_update(0, x->data, x->len);
            info[i].usize = x->len;
            if (x->deflate) {
                zg_deflate_stored(&d, x->data, x->len);
            } else {
                zg_put(&d, x->data, x->len);
            }
        } else {
            for (uint64_t left = x->zeros; left > 0;) {
                size_t c = left > sizeof(zero) ? sizeof(zero) : (size_t)left;

                crc = zg_crc_update(crc, zero, c);
                left -= c;
            }
            info[i].usize = x->zeros;
            if (x->deflate) {
                zg_deflate_zeros(&d, x->zeros);
            } else {
                for (uint64_t left = x->zeros; left > 0;) {
                    size_t c = left > sizeof(zero) ? sizeof(zero) : (size_t)left;

                    zg_put(&d, zero, c);
                    left -= c;
                }
            }
        }
        info[i].crc = crc ^ x->crc_xor;
        info[i].csize = x->csize_set ? x->csize_set : d.n;
        if (x->usize_set) {
            info[i].usize = x->usize_set;
        }
        info[i].lfh = b.n - shift;
        zg_u32(&b, 0x04034b50);
        zg_u16(&b, 20);
        zg_u16(&b, lflags);
        zg_u16(&b, x->local_method_set ? x->local_method : method);
        zg_u16(&b, 0);      /* time */
        zg_u16(&b, 0x21);   /* date: 1980-01-01 */
        if (x->data_descriptor) {
            zg_u32(&b, 0);
            zg_u32(&b, 0);
            zg_u32(&b, 0);
        } else {
            zg_u32(&b, info[i].crc ^ x->local_crc_xor);
            zg_u32(&b, (uint32_t)info[i].csize);
            zg_u32(&b, (uint32_t)(info[i].usize + (uint64_t)x->local_usize_delta));
        }
        zg_u16(&b, (uint32_t)lnl);
        zg_u16(&b, (uint32_t)x->local_extra_len);
        zg_put(&b, lname, lnl);
        zg_put(&b, x->local_extra, x->local_extra_len);
        zg_put(&b, d.p, d.n);
        if (x->data_descriptor) {
            if (!x->dd_nosig) {
                zg_u32(&b, 0x08074b50);
            }
            zg_u32(&b, info[i].crc ^ x->local_crc_xor);
            zg_u32(&b, (uint32_t)info[i].csize);
            zg_u32(&b, (uint32_t)(info[i].usize + (uint64_t)x->local_usize_delta));
        }
    }
    cd_start = b.n;
    for (size_t i = 0; i < n; i++) {
        const zg_entry *x = &e[i];
        size_t nl = x->name_len ? x->name_len : strlen(x->name);
        uint16_t method = x->method_set ? x->method : x->deflate ? 8 : 0;
        uint64_t off = x->offset_of ? info[x->offset_of - 1].lfh : info[i].lfh;
        uint32_t ext = x->ext_attr_set ? x->ext_attr : (uint32_t)x->unix_mode << 16;

        if (x->omit_from_cd) {
            continue;
        }
        count++;
        if (!x->ext_attr_set && nl > 0 && x->name[nl - 1] == '/') {
            ext |= 0x10;
        }
        zg_u32(&b, 0x02014b50);
        zg_u16(&b, x->made_by_set ? x->made_by : x->unix_mode ? (3u << 8 | 20) : 20);
        zg_u16(&b, 20);
        zg_u16(&b, (uint16_t)(x->flags | (x->data_descriptor ? 8 : 0)));
        zg_u16(&b, method);
        zg_u16(&b, 0);
        zg_u16(&b, 0x21);
        zg_u32(&b, info[i].crc);
        zg_u32(&b, (uint32_t)info[i].csize);
        zg_u32(&b, (uint32_t)info[i].usize);
        zg_u16(&b, (uint32_t)nl);
        zg_u16(&b, (uint32_t)x->extra_len);
        zg_u16(&b, 0);
        zg_u16(&b, 0);
        zg_u16(&b, 0);
        zg_u32(&b, ext);
        zg_u32(&b, (uint32_t)(off + (uint64_t)x->offset_delta));
        zg_put(&b, x->name, nl);
        zg_put(&b, x->extra, x->extra_len);
    }
    cd_size = b.n - cd_start;
    count += (uint64_t)(int64_t)o->eocd_count_delta;
    if (o->zip64) {
        uint64_t rec = b.n - shift;

        zg_u32(&b, 0x06064b50);
        zg_u64(&b, 44);
        zg_u16(&b, 45);
        zg_u16(&b, 45);
        zg_u32(&b, 0);
        zg_u32(&b, 0);
        zg_u64(&b, count);
        zg_u64(&b, count);
        zg_u64(&b, cd_size);
        zg_u64(&b, cd_start - shift);
        zg_u32(&b, 0x07064b50);
        zg_u32(&b, 0);
        zg_u64(&b, rec);
        zg_u32(&b, 1);
    }
    {
        size_t clen = o->comment_len ? o->comment_len : o->comment ? strlen(o->comment) : 0;

        zg_u32(&b, 0x06054b50);
        zg_u16(&b, o->eocd_disk);
        zg_u16(&b, o->eocd_cd_disk);
        zg_u16(&b, o->zip64 ? 0xffff : (uint32_t)(count + (uint64_t)(int64_t)o->eocd_disk_count_delta));
        zg_u16(&b, o->zip64 ? 0xffff : (uint32_t)count);
        zg_u32(&b, o->zip64 ? 0xffffffffu : (uint32_t)cd_size);
        zg_u32(&b, o->zip64 ? 0xffffffffu : (uint32_t)(cd_start - shift));
        zg_u16(&b, (uint32_t)((int64_t)clen + (o->fake_eocd_in_comment ? 22 : 0) + o->comment_len_delta));
        zg_put(&b, o->comment, clen);
        if (o->fake_eocd_in_comment) {
            /* An empty archive's end record: a reader taking the last signature sees no entries. */
            zg_u32(&b, 0x06054b50);
            zg_u16(&b, 0);
            zg_u16(&b, 0);
            zg_u16(&b, 0);
            zg_u16(&b, 0);
            zg_u32(&b, 0);
            zg_u32(&b, 0);
            zg_u16(&b, 0);
        }
    }
    zg_put(&b, o->suffix, o->suffix_len);
    free(info);
    free(d.p);
    if (b.oom) {
        free(b.p);
        return -1;
    }
    if (o->truncate_to && o->truncate_to < b.n) {
        b.n = o->truncate_to;
    }
    *out = b.p;
    *outlen = b.n;
    return 0;
}

size_t zg_write(const char *path, const zg_entry *e, size_t n, const zg_opts *o)
{
    unsigned char *p = NULL;
    size_t len = 0;

    cr_assert_eq(zg_build(&p, &len, e, n, o), 0, "zipgen: out of memory");
    tu_write(path, p, len);
    free(p);
    return len;
}
