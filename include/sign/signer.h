/* signet — the signing operation: artifacts -> statement -> DSSE -> bundle. */
#ifndef SIGN_SIGNER_H
#define SIGN_SIGNER_H

#include "artifact.h"
#include "bundle.h"
#include "common.h"
#include "key.h"
#include "manifest.h"
#include "source.h"
#include "x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sign_sign_options {
    unsigned int version;
    const sign_key *key;          /* private key */
    const char *const *artifacts; /* paths */
    const char *const *names;     /* names for the manifest, or NULL: the paths */
    size_t nartifacts;
    const char *const *allow; /* finding ids allowed despite danger */
    size_t nallow;
    const char *output;        /* bundle path to write atomically, or NULL */
    int64_t created;           /* 0: now */
    const sign_limits *limits; /* NULL: defaults */
    sign_progress_cb progress;
    void *progress_userdata;
    /* Version 2: */
    const sign_x509_certs *certs; /* the key's certificate first, then intermediates (a root is never embedded);
                                     NULL: a raw key (publicKey hint) */
    int embed_chain;              /* with certs: write v0.2 with x509CertificateChain (leaf + intermediates) */
    /* Version 3: */
    const char *ref;             /* OCI layouts: the image by org.opencontainers.image.ref.name, or NULL */
    unsigned int artifact_flags; /* SIGN_ARTIFACT_ALL_IMAGES: every manifest of an index, and the index;
                                    SIGN_ARTIFACT_FOLLOW_SYMLINK: a symlink artifact under the link's name
                                    SIGN_ARTIFACT_AS_FILE: every artifact a plain file */
    /* Version 4: */
    const sign_source *source;    /* git provenance recorded in the predicate (sign_source_collect), or NULL */
    const char *artifact_version; /* recorded as the predicate's "version" (downgrade protection), or NULL */
} sign_sign_options;

#define SIGN_SIGN_OPTIONS_VERSION 4
#define SIGN_SIGN_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_SIGN_OPTIONS_VERSION)

/* *opts = SIGN_SIGN_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_sign_options_init(sign_sign_options *opts);

/*
 * With opts->certs, the key must be the first certificate's (SIGN_EINVAL)
 * and that certificate valid now (SIGN_EEXPIRED); the bundle carries the
 * certificate (v0.3) or, with embed_chain, the chain without self-signed
 * certificates (v0.2). Whether it has the codeSigning EKU is for the caller
 * to check (sign_x509_certs_info) and report. Version 1 options are
 * accepted (no certificate); version 2 has no image choice (ref, flags).
 *
 * Scan the artifacts, refuse (SIGN_EFINDING) if a dangerous finding is not
 * allowed, build the statement, sign it and make the bundle; write it to
 * opts->output when set (never over one of the artifacts). On success
 * *out_bundle and, if requested, *out_artifacts (an array of nartifacts,
 * free each with sign_artifact_free and the array with free) are set.
 * On SIGN_EFINDING, *out_artifacts is still set so the caller can report.
 */
SIGN_EXTERN int sign_sign(sign_bundle **out_bundle, sign_artifact ***out_artifacts, const sign_sign_options *opts);

/*
 * Free the artifacts array sign_sign() or sign_hash() returned in
 * *out_artifacts (n is opts->nartifacts): each artifact, then the array.
 * NULL is accepted, and so are NULL entries.
 */
SIGN_EXTERN void sign_artifacts_free(sign_artifact **arts, size_t n);

/* The statement that sign_sign() would sign, without a key. */
SIGN_EXTERN int sign_hash(sign_statement **out_statement, sign_artifact ***out_artifacts,
                          const sign_sign_options *opts);

#ifdef __cplusplus
}
#endif
#endif
