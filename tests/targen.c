/* targen: tar layers written byte by byte (see targen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <zlib.h>

#include "targen.h"
#include "testutil.h"

typedef struct tgbuf {
    unsigned char *p;
    size_t n, cap;
} tgbuf;

static void tg_put(tgbuf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t nc = (b->cap ? b->cap * 2 : 4096);

        while (nc < b->n + n) {
            nc *= 2;
        }
        b->p = realloc(b->p, nc);
        cr_assert_not_null(b->p);
        b->cap = nc;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void tg_pad(tgbuf *b)
{
    static const unsigned char zero[512];

    if (b->n % 512) {
        tg_put(b, zero, 512 - b->n % 512);
    }
}

static void tg_octal(unsigned char *f, size_t w, unsigned long long v)
{
    char tmp[32];

    snprintf(tmp, sizeof(tmp), "%0*llo", (int)(w - 1), v);
    memcpy(f, tmp, w - 1);
    f[w - 1] = '\0';
}

static void tg_header(tgbuf *b, const char *name, const char *prefix, char type, unsigned int mode, unsigned long uid,
                      unsigned long gid, unsigned long long size, const char *link, int bad, const char *raw_size)
{
    unsigned char h[512];
    unsigned int sum = 0;

    memset(h, 0, sizeof(h));
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    tg_octal(h + 100, 8, mode);
    tg_octal(h + 108, 8, uid);
    tg_octal(h + 116, 8, gid);
    tg_octal(h + 124, 12, size);
    if (raw_size != NULL) {
        memcpy(h + 124, raw_size, 12);
    }
    tg_octal(h + 136, 12, 0);
    h[156] = (unsigned char)type;
    if (link != NULL) {
        memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
    }
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (prefix != NULL) {
        memcpy(h + 345, prefix, strlen(prefix) < 155 ? strlen(prefix) : 155);
    }
    memset(h + 148, ' ', 8);
    for (size_t i = 0; i < 512; i++) {
        sum += h[i];
    }
    if (bad) {
        sum += 1;
    }
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    tg_put(b, h, 512);
}

static void tg_pax_record(tgbuf *b, const char *key, const char *val)
{
    char rec[8192];
    size_t base = strlen(key) + strlen(val) + 3, len = base + 1;
    int n;

    while ((size_t)snprintf(NULL, 0, "%zu", len) + base != len) {
        len++;
    }
    n = snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, val);
    cr_assert_eq((size_t)n, len);
    tg_put(b, rec, len);
}

void tg_tar(unsigned char **out, size_t *len, const tg_entry *e, size_t n)
{
    static const unsigned char zero[1024];
    tgbuf b = {0};

    for (size_t i = 0; i < n; i++) {
        const tg_entry *x = &e[i];
        char type = x->type ? x->type : '0';
        unsigned int mode = x->mode ? x->mode : (type == '5' ? 0755 : 0644);

        if (x->zero_block_before) {
            tg_put(&b, zero, 512);
        }
        if (x->pax_path != NULL || x->pax_link != NULL || x->pax_size_set) {
            tgbuf p = {0};

            if (x->pax_path != NULL) {
                tg_pax_record(&p, "path", x->pax_path);
            }
            if (x->pax_link != NULL) {
                tg_pax_record(&p, "linkpath", x->pax_link);
            }
            if (x->pax_size_set) {
                char v[32];

                snprintf(v, sizeof(v), "%llu", x->pax_size);
                tg_pax_record(&p, "size", v);
            }
            tg_header(&b, "PaxHeader", NULL, 'x', 0644, 0, 0, p.n, NULL, 0, NULL);
            tg_put(&b, p.p, p.n);
            tg_pad(&b);
            free(p.p);
        }
        if (x->gnu_name != NULL) {
            tg_header(&b, "././@LongLink", NULL, 'L', 0644, 0, 0, strlen(x->gnu_name) + 1, NULL, 0, NULL);
            tg_put(&b, x->gnu_name, strlen(x->gnu_name) + 1);
            tg_pad(&b);
        }
        if (x->gnu_link != NULL) {
            tg_header(&b, "././@LongLink", NULL, 'K', 0644, 0, 0, strlen(x->gnu_link) + 1, NULL, 0, NULL);
            tg_put(&b, x->gnu_link, strlen(x->gnu_link) + 1);
            tg_pad(&b);
        }
        tg_header(&b, x->name, x->prefix, type, mode, x->uid, x->gid, x->len, x->link, x->bad_checksum, x->raw_size);
        if (x->len > 0) {
            tg_put(&b, x->data, x->len);
            tg_pad(&b);
        }
    }
    tg_put(&b, zero, sizeof(zero));
    *out = b.p;
    *len = b.n;
}

void tg_compress(const char *path, const void *data, size_t len, const char *compress)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();

    cr_assert_not_null(a);
    if (strcmp(compress, "gzip") == 0) {
        cr_assert_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    } else {
        cr_assert_eq(archive_write_add_filter_zstd(a), ARCHIVE_OK, "%s", archive_error_string(a));
    }
    cr_assert_eq(archive_write_set_format_raw(a), ARCHIVE_OK);
    archive_write_set_bytes_in_last_block(a, 1);
    cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK, "%s", archive_error_string(a));
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_pathname(ae, "data");
    cr_assert_eq(archive_write_header(a, ae), ARCHIVE_OK, "%s", archive_error_string(a));
    cr_assert_eq(archive_write_data(a, data, len), (la_ssize_t)len);
    cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(ae);
}

void tg_gzip(unsigned char **out, size_t *outlen, const void *data, size_t len)
{
    z_stream z;
    size_t cap = len + len / 100 + 1024;
    unsigned char *o = malloc(cap);

    cr_assert_not_null(o);
    memset(&z, 0, sizeof(z));
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    *out = o;
}

void tg_write(const char *path, const tg_entry *e, size_t n, const char *compress)
{
    unsigned char *t;
    size_t len;

    tg_tar(&t, &len, e, n);
    if (compress == NULL) {
        tu_write(path, t, len);
    } else {
        tg_compress(path, t, len, compress);
    }
    free(t);
}

void tg_write_many(const char *path, size_t n)
{
    static const unsigned char zero[1024];
    tgbuf b = {0};
    char name[32];

    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "f/%07zu", i);
        tg_header(&b, name, NULL, '0', 0644, 0, 0, 1, NULL, 0, NULL);
        tg_put(&b, "x", 1);
        tg_pad(&b);
    }
    tg_put(&b, zero, sizeof(zero));
    tu_write(path, b.p, b.n);
    free(b.p);
}
