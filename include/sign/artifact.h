/* signet — artifacts: a plain file or an archive walked into a record. */
#ifndef SIGN_ARTIFACT_H
#define SIGN_ARTIFACT_H

#include "common.h"
#include "digest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SIGN_ARTIFACT_FILE = 1,  /* any bytes, hashed whole */
    SIGN_ARTIFACT_ZIP = 2,   /* a zip archive: whole file and every entry */
    SIGN_ARTIFACT_LAYER = 3, /* a tar layer blob (plain, gzip, zstd): blob digest, diffID, entries */
    SIGN_ARTIFACT_OCI = 4,   /* an OCI image layout directory: the image manifest's digest */
    SIGN_ARTIFACT_DOCKER = 5 /* a docker save archive */
} sign_artifact_kind;

typedef enum {
    SIGN_SEVERITY_INFO = 0,
    SIGN_SEVERITY_WARNING = 1,
    SIGN_SEVERITY_DANGER = 2 /* refuses signing unless allowed by id */
} sign_severity;

/* One anomaly found while walking an artifact. Strings owned by the artifact. */
typedef struct sign_finding {
    const char *id; /* stable id, e.g. "zip-path-traversal" */
    sign_severity severity;
    const char *path;    /* entry concerned, or NULL for the whole archive */
    const char *message; /* one line for humans */
} sign_finding;

typedef enum {
    SIGN_ENTRY_FILE = 1,
    SIGN_ENTRY_DIR = 2,
    SIGN_ENTRY_SYMLINK = 3,
    SIGN_ENTRY_HARDLINK = 4,
    SIGN_ENTRY_OTHER = 5,
    SIGN_ENTRY_WHITEOUT = 6, /* an OCI whiteout ".wh.NAME": path is the removed path */
    SIGN_ENTRY_OPAQUE = 7    /* an OCI opaque whiteout ".wh..wh..opq": path is the directory */
} sign_entry_type;

/* One archive entry. Strings owned by the artifact. */
typedef struct sign_entry {
    const char *path; /* as stored in the archive */
    sign_entry_type type;
    unsigned int mode; /* permission bits incl. setuid/setgid/sticky (07777) */
    uint64_t size;     /* uncompressed size */
    int has_digest;    /* 1 for regular files (sha256 of the content), else 0 */
    unsigned char sha256[SIGN_SHA256_LEN];
    const char *link_target; /* symlink / hardlink target, else NULL */
    int has_owner;           /* 1 for tar entries: uid and gid are set */
    uint64_t uid, gid;
} sign_entry;

/* Flags of sign_artifact_options. */
#define SIGN_ARTIFACT_NO_ENTRIES 0x1u /* recognise, hash whole file, but do not walk entries */
#define SIGN_ARTIFACT_ALL_IMAGES 0x2u /* OCI layout: every manifest of the index (and the index) */
/*
 * Images: record integrity failures (a missing blob, a digest mismatch) as
 * problems (sign_artifact_problem) instead of failing the scan.
 */
#define SIGN_ARTIFACT_KEEP_PROBLEMS 0x4u
/*
 * The path given is a symlink: scan what it points at under the name the
 * caller gave (derived from the link's path). Without this flag such an
 * artifact is recorded under its target's name with an "artifact-symlink"
 * warning, so a link never silently stands for what it points at.
 */
#define SIGN_ARTIFACT_FOLLOW_SYMLINK 0x8u
/*
 * A regular file is a plain file whatever its content (signet sign --kind
 * file): a shell script with a zip appended is hashed whole, its entries not
 * walked. Its subject digest is the same as when it is recognised.
 */
#define SIGN_ARTIFACT_AS_FILE 0x10u
/*
 * Force the kind (signet sign --kind), at most one of these and AS_FILE.
 * Content detection is skipped: a zip with a stub prepended, a tar layer
 * without an extension (or one whose last bytes look like a zip's end
 * record) is read as the kind named. Bytes that cannot be read as that kind
 * are refused with SIGN_EPARSE, the message naming the kind: AS_ZIP needs a
 * zip's end record or local header, AS_TAR a tar (plain, or gzip, zstd, xz,
 * bzip2 compressed) and reads it as one layer even when it is a docker save
 * archive, AS_DOCKER a tar with manifest.json or oci-layout at its top,
 * AS_OCI a directory with an oci-layout file. A directory is refused under
 * any other forced kind.
 */
#define SIGN_ARTIFACT_AS_ZIP 0x20u
#define SIGN_ARTIFACT_AS_TAR 0x40u
#define SIGN_ARTIFACT_AS_DOCKER 0x80u
#define SIGN_ARTIFACT_AS_OCI 0x100u
/*
 * A registry reference (docker://HOST[:PORT]/REPO[:TAG|@sha256:HEX], as
 * path): plain HTTP to that host (signet --tls-verify=false). Never the
 * default; only for the reference's own host.
 */
#define SIGN_ARTIFACT_REGISTRY_INSECURE 0x200u

typedef struct sign_artifact_options {
    unsigned int version;
    unsigned int flags;
    const sign_limits *limits; /* NULL: defaults */
    sign_progress_cb progress; /* may be NULL */
    void *progress_userdata;
    const char *ref; /* version 2: OCI layout image by org.opencontainers.image.ref.name, or NULL */
    /*
     * version 3: a registry reference's multi-platform index: the manifest for "os/arch[/variant]", or NULL
     * (then ref, when set, names the platform: callers with older options pass it there)
     */
    const char *platform;
} sign_artifact_options;

#define SIGN_ARTIFACT_OPTIONS_VERSION 3
#define SIGN_ARTIFACT_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_ARTIFACT_OPTIONS_VERSION)

/* *opts = SIGN_ARTIFACT_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_artifact_options_init(sign_artifact_options *opts);

typedef struct sign_artifact sign_artifact;

/*
 * Read the artifact at path: a path starting with "docker://" is an image in
 * a registry (docs/registry.md), read over the network with its layers
 * streamed through the same walker (nothing stored); its name is
 * "HOST/REPO" unless name is given. Otherwise recognise its kind by content, hash its exact
 * bytes (SHA-256) and, for archives, walk every entry and collect findings.
 * name is the artifact's name in the manifest (NULL: derived from path);
 * it is normalised with sign_artifact_name_normalise(). Findings are not
 * errors: inspect them with sign_artifact_finding(). An archive that cannot
 * be read at all is an error (SIGN_EPARSE); limits exceeded are findings.
 */
SIGN_EXTERN int sign_artifact_scan(sign_artifact **out, const char *path, const char *name,
                                   const sign_artifact_options *opts);

/*
 * Scan n artifacts in parallel (one worker per core). out receives n
 * pointers on success; on failure none are returned and the message names
 * the failing path.
 */
SIGN_EXTERN int sign_artifact_scan_many(sign_artifact **out, const char *const *paths, const char *const *names,
                                        size_t n, const sign_artifact_options *opts);

SIGN_EXTERN void sign_artifact_free(sign_artifact *a);

SIGN_EXTERN const char *sign_artifact_name(const sign_artifact *a);
SIGN_EXTERN const char *sign_artifact_path(const sign_artifact *a);
SIGN_EXTERN sign_artifact_kind sign_artifact_get_kind(const sign_artifact *a);
/* "file", "zip", "layer", "oci-image", "docker-archive" */
SIGN_EXTERN const char *sign_artifact_kind_name(sign_artifact_kind kind);
SIGN_EXTERN uint64_t sign_artifact_size(const sign_artifact *a);
SIGN_EXTERN const unsigned char *sign_artifact_sha256(const sign_artifact *a);
SIGN_EXTERN size_t sign_artifact_entry_count(const sign_artifact *a);
SIGN_EXTERN const sign_entry *sign_artifact_entry(const sign_artifact *a, size_t i);
SIGN_EXTERN size_t sign_artifact_finding_count(const sign_artifact *a);
SIGN_EXTERN const sign_finding *sign_artifact_finding(const sign_artifact *a, size_t i);
/* "info", "warning", "danger" */
SIGN_EXTERN const char *sign_severity_name(sign_severity s);
/* "file", "dir", "symlink", "hardlink", "other", "whiteout", "opaque" */
SIGN_EXTERN const char *sign_entry_type_name(sign_entry_type t);

/* ---- container images -------------------------------------------------------- */

/* One layer of an image (or the standalone layer of a SIGN_ARTIFACT_LAYER). Strings owned by the artifact. */
typedef struct sign_layer_info {
    const char *media_type;       /* NULL for a standalone layer */
    const unsigned char *digest;  /* SHA-256 of the blob */
    const unsigned char *diff_id; /* SHA-256 of the uncompressed tar, or NULL when it could not be computed */
    uint64_t size;                /* blob bytes */
    size_t entry_count;
} sign_layer_info;

/* One image of an OCI layout or docker save archive. */
typedef struct sign_image_info {
    const char *name;              /* subject name */
    const char *ref;               /* org.opencontainers.image.ref.name or NULL */
    const char *platform;          /* "os/arch" from the index, or NULL */
    const char *media_type;        /* manifest media type (NULL for a legacy docker save archive) */
    const unsigned char *manifest; /* SHA-256 of the manifest blob, or NULL (legacy docker save) */
    const unsigned char *config;   /* SHA-256 of the config blob */
    size_t layer_count;
} sign_image_info;

/* Images of an OCI / docker artifact (0 for other kinds). */
SIGN_EXTERN size_t sign_artifact_image_count(const sign_artifact *a);
SIGN_EXTERN int sign_artifact_image(sign_image_info *out, const sign_artifact *a, size_t i);
/* Layer j of image i; for a SIGN_ARTIFACT_LAYER, image 0 layer 0. */
SIGN_EXTERN int sign_artifact_layer(sign_layer_info *out, const sign_artifact *a, size_t i, size_t j);
SIGN_EXTERN const sign_entry *sign_artifact_layer_entry(const sign_artifact *a, size_t i, size_t j, size_t k);
/* The index digest when the whole index was signed (SIGN_ARTIFACT_ALL_IMAGES), else NULL. */
SIGN_EXTERN const unsigned char *sign_artifact_index_sha256(const sign_artifact *a);
/*
 * Integrity problems of an image scanned with SIGN_ARTIFACT_KEEP_PROBLEMS:
 * reason is a verify reason code (BLOB_MISSING, BLOB_DIGEST_MISMATCH,
 * DIFFID_MISMATCH, MEDIA_TYPE_INVALID, BLOB_NOT_REGULAR, IMAGE_MALFORMED).
 */
SIGN_EXTERN size_t sign_artifact_problem_count(const sign_artifact *a);
SIGN_EXTERN int sign_artifact_problem(const char **reason, const char **message, const sign_artifact *a, size_t i);

/*
 * Normalise an artifact name: strip leading "./" and "/", collapse "//" and
 * "/./"; refuse (SIGN_EINVAL) a name that is empty, has a ".." component, a
 * NUL or control character, or is longer than 4096 bytes. *out is malloc'd.
 */
SIGN_EXTERN int sign_artifact_name_normalise(char **out, const char *name);

#ifdef __cplusplus
}
#endif
#endif
