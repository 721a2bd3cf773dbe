/* signet — the manifest: an in-toto Statement v1 with signet's predicate. */
#ifndef SIGN_MANIFEST_H
#define SIGN_MANIFEST_H

#include "artifact.h"
#include "common.h"
#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGN_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define SIGN_STATEMENT_TYPE_V01 "https://in-toto.io/Statement/v0.1"
#define SIGN_PREDICATE_TYPE "https://signet.dev/manifest/v1"
#define SIGN_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
/*
 * The pseudo predicate type of a Sigstore messageSignature bundle (a signature
 * over the artifact, no statement): a policy signer counts such a bundle only
 * when its predicate_types list this type (or "*"). See docs/bundle-profile.md.
 */
#define SIGN_MESSAGE_PREDICATE_TYPE "https://signet.dev/sigstore/message-signature/v1"

typedef struct sign_statement sign_statement;

typedef struct sign_manifest_options {
    unsigned int version;
    int64_t created; /* seconds since the epoch; 0: now */
    /* Version 2: */
    const sign_source *source;    /* recorded as predicate.source, or NULL */
    const char *artifact_version; /* predicate "version" (downgrade protection; sign_version_compare), or NULL */
} sign_manifest_options;

#define SIGN_MANIFEST_OPTIONS_VERSION 2
#define SIGN_MANIFEST_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_MANIFEST_OPTIONS_VERSION)

/* *opts = SIGN_MANIFEST_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_manifest_options_init(sign_manifest_options *opts);

/* Build a statement with one subject per artifact and signet's predicate. */
SIGN_EXTERN int sign_statement_build(sign_statement **out, sign_artifact *const *artifacts, size_t n,
                                     const sign_manifest_options *opts);

/* Deterministic serialisation: sorted keys, no spaces. *out is malloc'd, NUL-terminated. */
SIGN_EXTERN int sign_statement_serialize(char **out, size_t *outlen, const sign_statement *st);
/* Indented, sorted, for humans. */
SIGN_EXTERN int sign_statement_serialize_pretty(char **out, const sign_statement *st);

/*
 * Strict parse of a statement (any in-toto Statement v1, any predicate).
 * Every subject needs a name and a sha256 digest of 64 hex digits.
 */
SIGN_EXTERN int sign_statement_parse(sign_statement **out, const void *data, size_t len, const sign_limits *limits);

SIGN_EXTERN void sign_statement_free(sign_statement *st);

SIGN_EXTERN const char *sign_statement_predicate_type(const sign_statement *st);
SIGN_EXTERN size_t sign_statement_subject_count(const sign_statement *st);
/* Subject i: its name and its SHA-256 (32 bytes). */
SIGN_EXTERN int sign_statement_subject(const char **name, const unsigned char **sha256, const sign_statement *st,
                                       size_t i);

/*
 * The signet predicate, when predicateType is SIGN_PREDICATE_TYPE; NULL or
 * zero otherwise. Strings are owned by the statement.
 */
SIGN_EXTERN const char *sign_statement_created(const sign_statement *st);
/*
 * The predicate's "source" object (git provenance, see sign/source.h) as
 * JSON text: *out malloc'd. SIGN_ENOTFOUND when the statement records none.
 */
SIGN_EXTERN int sign_statement_source(char **out, const sign_statement *st);
/* The predicate's "version" of the signed artifacts (signet sign --version), or NULL. */
SIGN_EXTERN const char *sign_statement_version(const sign_statement *st);

/*
 * Artifact versions: plain non-negative integers, or semantic versions
 * (MAJOR.MINOR.PATCH[-PRE][+BUILD], an optional leading "v"). 0 when text
 * is one, SIGN_EINVAL otherwise (at most 128 bytes).
 */
SIGN_EXTERN int sign_version_check(const char *text);
/*
 * Compare two versions by semantic versioning precedence (build metadata
 * ignored; a plain integer N is N.0.0): *cmp < 0, 0 or > 0. SIGN_EINVAL
 * when either is not a version.
 */
SIGN_EXTERN int sign_version_compare(int *cmp, const char *a, const char *b);
SIGN_EXTERN size_t sign_statement_artifact_count(const sign_statement *st);

typedef struct sign_statement_artifact {
    const char *name;
    const char *kind; /* "file", "zip", ... */
    uint64_t size;
    const unsigned char *sha256;
    size_t entry_count;
    size_t finding_count;
} sign_statement_artifact;

SIGN_EXTERN int sign_statement_artifact_info(sign_statement_artifact *out, const sign_statement *st, size_t i);
/* Entry j of artifact i. Strings owned by the statement. */
SIGN_EXTERN int sign_statement_artifact_entry(sign_entry *out, const sign_statement *st, size_t i, size_t j);
/*
 * Container images recorded in the predicate (kind "oci-image",
 * "docker-archive"): image k of artifact i (one image: its layers are on the
 * artifact record; several: "images"), and layer j of it.
 */
typedef struct sign_statement_layer {
    const char *media_type; /* or NULL */
    unsigned char digest[32];
    int has_diff_id;
    unsigned char diff_id[32];
    uint64_t size;
    size_t entry_count;
    size_t layer_count; /* layers of the image */
} sign_statement_layer;

SIGN_EXTERN size_t sign_statement_artifact_image_count(const sign_statement *st, size_t i);
SIGN_EXTERN int sign_statement_artifact_layer(sign_statement_layer *out, const sign_statement *st, size_t i, size_t k,
                                              size_t j);
SIGN_EXTERN int sign_statement_artifact_layer_entry(sign_entry *out, const sign_statement *st, size_t i, size_t k,
                                                    size_t j, size_t e);

/* Finding j of artifact i (severity parsed from its name). */
SIGN_EXTERN int sign_statement_artifact_finding(sign_finding *out, const sign_statement *st, size_t i, size_t j);

#ifdef __cplusplus
}
#endif
#endif
