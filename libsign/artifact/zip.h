/*
 * libsign internals of the artifact area: the finding list, our own bounded
 * zip structure parser, and the secret detectors. Not installed.
 *
 * Why a parser of our own next to libarchive: libarchive shows one view of a
 * zip (its seekable reader merges central directory and local headers and
 * does not expose offsets), so the differential findings (local header vs
 * central directory, overlapping entries, data before/after the archive,
 * several end records) need the raw structures. Content decompression stays
 * with libarchive; this parser never inflates anything.
 */
#ifndef SIGN_ZIP_H
#define SIGN_ZIP_H

#include "internal.h"

/* ---- findings ------------------------------------------------------------ */

/* More findings than this collapse into one "zip-too-many-findings". */
#define SIGN__FINDINGS_MAX 1000

typedef struct sign__findings {
    sign_finding *v; /* id static; path and message malloc'd */
    size_t n, cap;
    int overflow;
} sign__findings;

/*
 * Add a finding (deduplicated on id + path). path may be NULL, and need not
 * be NUL-terminated (pathlen bytes; SIZE_MAX: strlen). It is stored escaped:
 * control characters and bytes of invalid UTF-8 become \xNN. Returns 0 or
 * SIGN_ENOMEM.
 */
int sign__finding_add(sign__findings *f, const char *id, sign_severity sev, const char *path, size_t pathlen,
                      const char *fmt, ...) SIGN_PRINTF(6, 7);
void sign__findings_clear(sign__findings *f);
int sign__findings_has(const sign__findings *f, const char *id);

/* ---- zip structure ------------------------------------------------------- */

typedef struct sign__zip_entry {
    size_t index;     /* position in the central directory */
    char *name;       /* central directory name, NUL-terminated copy */
    size_t name_len;  /* stored length (may contain NUL bytes) */
    uint16_t made_by; /* version made by: high byte is the host system */
    uint16_t flags, method;
    uint32_t crc, ext_attr;
    uint64_t csize, usize;
    uint64_t lfh_offset; /* absolute offset of the local header (after any shift) */
    int lfh_ok;          /* a local header was found there */
    char *local_name;    /* local header name when it differs from name, else NULL */
    size_t local_name_len;
    uint64_t data_offset; /* absolute start of the compressed data */
    uint64_t end;         /* end of data (and data descriptor) */
} sign__zip_entry;

typedef struct sign__zip {
    sign__zip_entry *e;
    size_t n;
    uint64_t file_size;
    uint64_t cd_offset, cd_size, eocd_offset;
    uint64_t shift;     /* bytes prepended without adjusting offsets */
    int entries_capped; /* stopped at archive_max_entries */
} sign__zip;

/*
 * Kind detection by content. *is_zip = 1 when a usable end-of-central-
 * directory record exists, or the file starts with a local file header
 * (an attempt at a zip: sign__zip_parse then reports why it is unreadable).
 */
int sign__zip_detect(int *is_zip, int fd, uint64_t size, const char *path);

/*
 * Parse the structure of the zip open on fd (pread only: the file offset is
 * left alone). Adds structural and name findings to f. An archive whose
 * central directory cannot be found at all is SIGN_EPARSE naming path and
 * offset.
 */
int sign__zip_parse(sign__zip **out, int fd, uint64_t size, const char *path, const sign_limits *lim,
                    sign__findings *f);
void sign__zip_free(sign__zip *z);

/* Name checks shared by the central directory, the local headers and libarchive. */
void sign__zip_check_name(sign__findings *f, const char *name, size_t len, const sign_limits *lim);

/*
 * Tests only: walk a zip's entries in n parts at once (1: sequentially; 0: the default, one
 * part per thread of the budget, at most 4). Not thread-safe; set it before scanning.
 */
void sign__zip_walk_parts(size_t n);
/* Tests only: how many parallel walks were discarded for a sequential one so far. */
size_t sign__zip_walk_fallbacks(void);

/* ---- secrets -------------------------------------------------------------- */

/* Bytes of each regular entry's start that are searched for secrets. */
#define SIGN__SECRET_SCAN_MAX (64 * 1024)

/* Check an entry's name, and head (its first headlen bytes; may be NULL), for packaged secrets. */
int sign__secrets_check(sign__findings *f, const char *path, const unsigned char *head, size_t headlen);

#endif
