/*
 * libsign/artifact/: what an artifact holds (artifact.c, zip.c, tar.c,
 * oci.c, tree.c, secrets.c), above util/ and pki/ (docs/architecture.md):
 * the finding list, our own bounded zip structure parser, the secret
 * detectors, the layer walker (tar.c), the OCI image layout / docker save
 * reader (oci.c) and the tree comparison (tree.c). Not installed.
 *
 * Why a zip parser of our own next to libarchive: libarchive shows one view of a
 * zip (its seekable reader merges central directory and local headers and
 * does not expose offsets), so the differential findings (local header vs
 * central directory, overlapping entries, data before/after the archive,
 * several end records) need the raw structures. Content decompression stays
 * with libarchive; this parser never inflates anything.
 */
#ifndef SIGN_ARTIFACT_INT_H
#define SIGN_ARTIFACT_INT_H

#include <stdatomic.h>

#include "sign/artifact.h"
#include "util.h"

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
    uint64_t lfh_offset;   /* absolute offset of the local header (after any shift) */
    int lfh_ok;            /* a local header was found there */
    uint16_t local_method; /* the local header's compression method (when lfh_ok) */
    char *local_name;      /* local header name when it differs from name, else NULL */
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
/* The same for a file held whole in memory (the scan's single read of a small artifact): no I/O. */
int sign__zip_detect_mem(int *is_zip, const unsigned char *data, size_t size);

/* ---- mapped reads (fmap.c) -------------------------------------------------- */

/* A regular file mapped read-only: p NULL when it is not (read it with pread then). */
typedef struct sign__fmap {
    const unsigned char *p;
    uint64_t size;
    int mapped; /* 0: p is memory the caller holds (a small file read whole): never unmapped nor released */
} sign__fmap;

/* Bytes a reader of a mapping reads on before it releases them (sign__fmap_release). */
#define SIGN__FMAP_RELEASE (2u * 1024 * 1024)

/* Map size bytes of fd: 0, or -1 (nothing mapped: m->p is NULL). */
int sign__fmap_open(sign__fmap *m, int fd, uint64_t size);
void sign__fmap_close(sign__fmap *m);
/* The whole pages of [from, to) read: out of the process's resident set (the next touch maps them again). */
void sign__fmap_release(const sign__fmap *m, uint64_t from, uint64_t to);
/*
 * fn(arg), with any fault in m (SIGBUS: the file shrank under the mapping) ending fn early:
 * 0 when fn returned, 1 when it was cut short (what it held must be reachable from arg).
 */
int sign__fmap_guard(const sign__fmap *m, void (*fn)(void *), void *arg);
/* Copy up to len bytes at off into dst, as pread would: the bytes copied, 0 at the end or where the file shrank. */
size_t sign__fmap_copy(const sign__fmap *m, void *dst, uint64_t off, size_t len);
/* Tests only: hook(fd) is called after each file is mapped (a test truncates it there). NULL: none. */
void sign__fmap_set_hook(void (*hook)(int fd));
/* Tests only: off 1, nothing is mapped (the readers use pread), to compare the two. Not thread-safe. */
void sign__fmap_disable(int off);

/*
 * Parse the structure of the zip open on fd (pread only: the file offset is
 * left alone), or mapped in m (m->p not NULL; m may be NULL). Adds structural
 * and name findings to f. An archive whose central directory cannot be found
 * at all is SIGN_EPARSE naming path and offset.
 */
int sign__zip_parse(sign__zip **out, int fd, const sign__fmap *m, uint64_t size, const char *path,
                    const sign_limits *lim, sign__findings *f);
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
/*
 * The markers the check looks for in head: *pk a private key ("-----BEGIN ... PRIVATE KEY-----" or a key
 * file's first bytes), *aws "aws_". vector: with AVX2 where the CPU has it (0: one byte at a time, for tests).
 */
void sign__secrets_markers(const unsigned char *h, size_t n, int vector, int *pk, int *aws);

/* ---- container images: layers and tar (tar.c) ------------------------------- */

/* Largest JSON document of an image (index, manifest, config, docker manifest.json). */
#define SIGN__OCI_JSON_MAX (4u * 1024 * 1024)
/* Largest pax extended header or GNU long name/link accepted. */
#define SIGN__TAR_META_MAX (1024u * 1024)

/* One layer blob walked in a single pass. */
typedef struct sign__layer {
    char *media_type;                       /* from the manifest, or NULL for a standalone layer */
    unsigned char digest[SIGN_SHA256_LEN];  /* SHA-256 of the blob's bytes as read */
    unsigned char diff_id[SIGN_SHA256_LEN]; /* SHA-256 of the uncompressed tar stream */
    int has_diff_id;                        /* 0 when the walk stopped (limit) or could not decompress */
    uint64_t size;                          /* blob bytes */
    uint64_t usize;                         /* uncompressed bytes */
    const char *compression;                /* "none", "gzip", "zstd", ... (static) */
    sign_entry *entries;
    size_t n_entries, cap_entries;
    sign__findings findings;
} sign__layer;

void sign__layer_clear(sign__layer *l);

/*
 * Walk the layer blob held in bytes [off, off + len) of fd (pread only):
 * one read of those bytes gives the blob digest, the uncompressed digest
 * (libarchive filters, raw format) and every entry with its content digest
 * (our own bounded tar parser on the uncompressed stream). Findings go to
 * l->findings; an unreadable blob is a finding, not an error. Errors are
 * I/O (SIGN_EIO) and memory only. what names the blob in messages.
 */
/*
 * Progress of the blobs read by one scan, shared by its layer walks (which
 * run on several threads): done counts every blob byte read so far.
 */
typedef struct sign__progress {
    sign_progress_cb cb; /* NULL: no progress */
    void *userdata;
    const char *what; /* the artifact's path */
    uint64_t total;   /* bytes of every blob to read */
    _Atomic uint64_t done;
} sign__progress;

int sign__layer_walk(sign__layer *l, int fd, uint64_t off, uint64_t len, const char *what, const sign_limits *lim,
                     int keep_entries, sign__progress *pr);
/*
 * The same walk over len bytes read in order from fd (a socket or pipe fed
 * by a registry download): nothing is stored, memory stays bounded. A
 * stream shorter than len is a read error (SIGN_EIO).
 */
int sign__layer_walk_stream(sign__layer *l, int fd, uint64_t len, const char *what, const sign_limits *lim,
                            int keep_entries, sign__progress *pr);

struct sign__entry_hook;
/* sign__layer_walk keeping the entries, calling hook for each entry and its content (deploy). */
int sign__layer_walk_hook(sign__layer *l, int fd, uint64_t off, uint64_t len, const char *what,
                          const sign_limits *lim, const struct sign__entry_hook *hook);

/*
 * Content sniffing for a file: *kind = 0 (not a tar), 1 (a tar, possibly
 * compressed with gzip, zstd, xz or bzip2, whose first header is valid),
 * 2 (an uncompressed tar holding manifest.json or oci-layout at the top: a
 * docker save archive).
 */
int sign__tar_detect(int *kind, int fd, uint64_t size, const char *path);
/*
 * The same when the first min(size, 512) bytes are already read (head): fd is
 * read only for a compressed or uncompressed tar, never for another file.
 */
int sign__tar_detect_head(int *kind, const unsigned char *head, int fd, uint64_t size, const char *path);

/* One member of an uncompressed tar, found by sign__tar_index. */
typedef struct sign__tar_member {
    char *name; /* normalised: no leading "./" or "/" */
    char type;  /* tar typeflag, '0' for regular files */
    uint64_t off, size;
} sign__tar_member;

/* List the members of the uncompressed tar in [0, size) of fd, skipping content (pread only). */
int sign__tar_index(sign__tar_member **out, size_t *n, int fd, uint64_t size, const char *path,
                    const sign_limits *lim);
void sign__tar_members_free(sign__tar_member *m, size_t n);

/* ---- images --------------------------------------------------------------- */

typedef struct sign__image {
    char *name;       /* subject name */
    char *ref;        /* org.opencontainers.image.ref.name, or NULL */
    char *platform;   /* "os/arch[/variant]" from the index, or NULL */
    char *media_type; /* the manifest's media type */
    unsigned char manifest[SIGN_SHA256_LEN];
    uint64_t manifest_size;
    int has_manifest; /* 0 for a legacy docker save archive: no manifest blob */
    unsigned char config[SIGN_SHA256_LEN];
    uint64_t config_size;
    sign__layer *layers;
    size_t n_layers;
} sign__image;

typedef struct sign__problem {
    const char *reason; /* BLOB_MISSING, ... (static) */
    char *message;
} sign__problem;

typedef struct sign__oci {
    int docker;    /* a docker save archive */
    int has_index; /* --all: the index is a subject */
    unsigned char index[SIGN_SHA256_LEN];
    uint64_t index_size;
    sign__image *images;
    size_t n_images;
    sign__problem *problems;
    size_t n_problems;
} sign__oci;

void sign__oci_free(sign__oci *o);

/*
 * Read the image(s) of an OCI layout directory (is_dir) or docker save
 * archive open on fd. ref and SIGN__OCI_ALL_IMAGES in how choose the image.
 * Integrity failures become problems; layer findings are merged into f with
 * the layer named. SIGN__OCI_LAYERS_UNREAD (a layout only; deploy, whose
 * extraction walks the layers once and checks them then): each layer is
 * what its manifest descriptor and the config's diff_ids say, its blob
 * opened but not read, so no entries and no layer findings.
 */
/*
 * sign_artifact_options.flags, internal (set by verify for deploy only, never in <sign/artifact.h>): an OCI
 * layout's layers are read as SIGN__OCI_LAYERS_UNREAD below; an image so read is checked only by its extraction.
 */
#define SIGN__ARTIFACT_LAYERS_UNREAD 0x80000000u
/* sign_artifact_scan with the internal flags too (the public one refuses them). */
int sign__artifact_scan(sign_artifact **out, const char *path, const char *name, const sign_artifact_options *opts);
#define SIGN__OCI_ALL_IMAGES 0x1u
#define SIGN__OCI_LAYERS_UNREAD 0x2u
int sign__oci_read(sign__oci **out, int fd, int is_dir, uint64_t size, const char *path, const char *name,
                   const char *ref, unsigned int how, const sign_limits *lim, sign__findings *f,
                   sign_progress_cb progress, void *progress_userdata);

/* Strict readers of the image JSON documents, shared with the fuzz target. */
int sign__oci_parse_index(json_t **out, const void *data, size_t len, const char *what);
int sign__oci_parse_manifest(json_t **out, const void *data, size_t len, const char *what);
int sign__oci_parse_config(json_t **out, const void *data, size_t len, const char *what);

/* artifact.c: attach an image record (transferred) or standalone layer to an artifact. */
/*
 * An image in a registry (regclient.h): reference (a tag or a digest) is
 * resolved once; platform picks one manifest of an index, all takes every
 * one (the index digest is then the subject). Layers are streamed through
 * the layer walker, nothing is stored. path names the image in messages.
 */
struct sign__registry;
int sign__oci_read_registry(sign__oci **out, struct sign__registry *reg, const char *reference, const char *path,
                            const char *name, const char *platform, int all, const sign_limits *lim,
                            sign__findings *f, sign_progress_cb progress, void *progress_userdata);

void sign__artifact_set_oci(sign_artifact *a, sign__oci *o);
const sign__oci *sign__artifact_oci(const sign_artifact *a);

/* ---- trees (tree.c) --------------------------------------------------------- */

typedef struct sign__tree_diff {
    const char *reason; /* TREE_CHANGED, TREE_MISSING, TREE_EXTRA (static) */
    char *path;         /* relative to the tree, escaped for display */
    char *what;         /* "is missing", "differs in content", ... */
} sign__tree_diff;

/*
 * Compare the directory dir with the entries of a (a zip's or a layer's
 * entries, or an image's layers applied in order: later layers and
 * whiteouts win). Walks dir with openat and O_NOFOLLOW, never leaving it.
 * *nchecked counts the paths compared.
 */
int sign__tree_compare(sign__tree_diff **out, size_t *n, size_t *nchecked, const sign_artifact *a, const char *dir,
                       const sign_limits *lim);
void sign__tree_diffs_free(sign__tree_diff *d, size_t n);

/* ---- extraction hook (deploy) ------------------------------------------------ */

/*
 * Deploy reads an archive's entries through the same walkers that verify
 * them (zip: zip.c + libarchive in artifact.c; tar layers: tar.c), so what
 * is written is exactly what was checked. A walk given a hook calls, in
 * archive order and on one thread:
 *   entry(ctx, e, mtime)  once the entry's record is known (path, type,
 *                         mode, link target; size for zip only), before
 *                         any of its content;
 *   data(ctx, buf, len)   for each block of a regular file's content;
 *   done(ctx, e)          after the last block: e->sha256 (has_digest set)
 *                         and e->size are those of exactly the bytes given
 *                         to data() since entry(), hashed by the walker
 *                         (deploy compares them with the signed record and
 *                         does not hash the content again).
 * A non-zero return from any of them stops the walk and is returned.
 */
typedef struct sign__entry_hook {
    int (*entry)(void *ctx, const sign_entry *e, int64_t mtime);
    int (*data)(void *ctx, const void *buf, size_t len);
    int (*done)(void *ctx, const sign_entry *e);
    void *ctx;
    /*
     * Images only (may be NULL): before the entries of layer j of image i (the layers of an image are walked in
     * order, one at a time), and once more with j == SIZE_MAX after the last layer of the image.
     */
    int (*layer)(void *ctx, size_t i, size_t j);
} sign__entry_hook;

/*
 * Walk the zip or tar layer open on fd (a regular file; pread and lseek
 * only) as sign_artifact_scan() would, sequentially, calling hook for each
 * entry. An OCI image layout (fd a directory) or docker save archive: the
 * image chosen by ref (NULL: the only one) is read as sign_artifact_scan()
 * reads it (integrity failures are problems of *out), its layers walked in
 * order on one thread, hook->layer called before each. *out is the artifact
 * record of that walk (entries and findings). Any other kind is SIGN_EINVAL.
 */
int sign__artifact_extract(sign_artifact **out, int fd, const char *path, const char *ref, const sign_limits *lim,
                           const sign__entry_hook *hook);

/* sign__oci_read of one image, its layers walked in order with hook (deploy). */
int sign__oci_read_hook(sign__oci **out, int fd, int is_dir, uint64_t size, const char *path, const char *ref,
                        const sign_limits *lim, sign__findings *f, const sign__entry_hook *hook);

#endif
