/*
 * zipgen: a builder of zip files for the tests, hostile ones included. Every
 * structure is written byte by byte here, so each field of the local header,
 * central directory and end records can be set independently.
 */
#ifndef SIGNET_ZIPGEN_H
#define SIGNET_ZIPGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct zg_entry {
    const char *name;          /* central directory name */
    size_t name_len;           /* 0: strlen(name) (set it to include NUL bytes) */
    const char *local_name;    /* local header name; NULL: the same */
    size_t local_name_len;     /* 0: strlen(local_name) */
    const void *data;          /* content (len bytes) */
    size_t len;
    uint64_t zeros;            /* data NULL: content is this many zero bytes */
    int deflate;               /* compress with deflate (method 8) instead of storing */
    unsigned int unix_mode;    /* S_IFxxx | permissions; 0: made by MS-DOS, no Unix mode */
    uint16_t flags;            /* general purpose flags in both headers */
    int local_flags_set;       /* local header flags = local_flags */
    uint16_t local_flags;
    int method_set;            /* method in both headers = method (data written as given) */
    uint16_t method;
    int local_method_set;      /* local header method = local_method */
    uint16_t local_method;
    uint32_t crc_xor;          /* xor into the CRC of both headers */
    uint32_t local_crc_xor;    /* xor into the local header CRC only */
    int64_t local_usize_delta; /* added to the local header's uncompressed size */
    uint64_t usize_set;        /* non-zero: declared uncompressed size, both headers */
    uint64_t csize_set;        /* non-zero: declared compressed size, both headers */
    int data_descriptor;       /* flag bit 3, zeros in the local header, descriptor after the data */
    int offset_of;             /* non-zero: central directory points at that (1-based) entry's header */
    int64_t offset_delta;      /* added to the central directory's local header offset */
    int omit_from_cd;          /* write the local entry only */
    const void *extra;         /* central directory extra field (extra_len bytes, written as given) */
    size_t extra_len;
    const void *local_extra;   /* local header extra field */
    size_t local_extra_len;
    int dd_nosig;              /* data descriptor without its PK\7\8 signature */
    int made_by_set;           /* "version made by" = made_by (host system in the high byte) */
    uint16_t made_by;
    int ext_attr_set;          /* external attributes = ext_attr (instead of unix_mode << 16) */
    uint32_t ext_attr;
} zg_entry;

typedef struct zg_opts {
    const void *prefix;        /* bytes before the first entry */
    size_t prefix_len;
    int prefix_shifts;         /* offsets ignore the prefix (as `cat stub x.zip` makes) */
    const void *suffix;        /* bytes after the end record and its comment */
    size_t suffix_len;
    const char *comment;       /* archive comment */
    size_t comment_len;
    int fake_eocd_in_comment;  /* the comment holds a second, empty end record */
    int eocd_count_delta;      /* added to the entry counts of the end record */
    int zip64;                 /* also write a zip64 end record and locator */
    uint16_t eocd_disk;        /* end record: number of this disk */
    uint16_t eocd_cd_disk;     /* end record: disk where the central directory starts */
    int eocd_disk_count_delta; /* added to the end record's "entries on this disk" only */
    int comment_len_delta;     /* added to the declared comment length (the comment written is unchanged) */
    size_t truncate_to;        /* non-zero: cut the file to this many bytes */
} zg_opts;

/* CRC-32 of n bytes (for extra fields that carry one, such as 0x7075). */
uint32_t zg_crc32(const void *p, size_t n);
/*
 * Append an Info-ZIP Unicode Path (0x7075) or Comment (0x6375) extra field to
 * out (at *len, capacity cap): version 1, CRC-32 of crc_of, then utf8.
 */
void zg_extra_unicode(unsigned char *out, size_t *len, size_t cap, uint16_t id, const char *crc_of, const char *utf8);
/* Append a zip64 extended information extra field (0x0001) holding n 64-bit values. */
void zg_extra_zip64(unsigned char *out, size_t *len, size_t cap, const uint64_t *v, size_t n);

/* Build the archive in memory (malloc'd). Returns 0, or -1 when out of memory. */
int zg_build(unsigned char **out, size_t *outlen, const zg_entry *e, size_t n, const zg_opts *o);
/* Build and write to path; aborts the test on failure. Returns the size written. */
size_t zg_write(const char *path, const zg_entry *e, size_t n, const zg_opts *o);

#endif
