/*
 * targen: a builder of tar layers for the tests, hostile ones included.
 * Every header is written byte by byte, so the ustar name, the pax path and
 * a GNU long name can disagree, checksums can be wrong, and so on.
 */
#ifndef SIGNET_TARGEN_H
#define SIGNET_TARGEN_H

#include <stddef.h>

typedef struct tg_entry {
    const char *name;   /* ustar name field (cut at 100 bytes) */
    const char *prefix; /* ustar prefix field, or NULL */
    char type;          /* typeflag; 0: '0' (regular file) */
    unsigned int mode;  /* 0: 0644 for files, 0755 for directories */
    unsigned long uid, gid;
    const void *data; /* content (len bytes) */
    size_t len;
    const char *link;     /* ustar link name */
    const char *pax_path; /* a pax 'x' header before the entry with path=... */
    const char *pax_link; /* ... and/or linkpath=... */
    const char *gnu_name; /* a GNU 'L' header before the entry */
    const char *gnu_link; /* a GNU 'K' header */
    int bad_checksum;     /* write a wrong header checksum */
    const char *raw_size; /* the 12 bytes of the ustar size field, written as given (checksum still right) */
    int pax_size_set;     /* a pax 'x' header with size=pax_size (the ustar size stays len) */
    unsigned long long pax_size;
    int zero_block_before; /* one zero block before this entry (a lone one: not an end marker) */
} tg_entry;

/* The tar (with its two end blocks) in a malloc'd buffer. */
void tg_tar(unsigned char **out, size_t *len, const tg_entry *e, size_t n);
/* Write the tar to path, compressed with "gzip" or "zstd" (libarchive), or plain (NULL). */
void tg_write(const char *path, const tg_entry *e, size_t n, const char *compress);
/* gzip of len bytes (one member, zlib) in a malloc'd buffer. */
void tg_gzip(unsigned char **out, size_t *outlen, const void *data, size_t len);
/* Write len bytes to path compressed with "gzip" or "zstd". */
void tg_compress(const char *path, const void *data, size_t len, const char *compress);
/* A tar of n small regular files "f/NNNNNNN" (plain), for limit tests. */
void tg_write_many(const char *path, size_t n);

#endif
