/*
 * Signatures stored beside images in an OCI registry (docs/registry.md):
 * a bundle is pushed as an OCI artifact manifest whose subject is the image
 * and whose artifactType is the Sigstore bundle's media type (as cosign 3
 * does); it is found again through the referrers API or, on registries
 * without it, the referrers tag schema ("sha256-<hex>" tag holding an index,
 * updated without dropping other tools' entries).
 *
 * References: docker://HOST[:PORT]/REPO[:TAG|@sha256:HEX]. Credentials:
 * auth files (auths["HOST[:PORT]"].auth, base64 user:pass) the caller names
 * with sign_registry_set_credential_files (signet: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json then ~/.docker/config.json); the
 * library never reads the environment.
 */
#ifndef SIGN_REGISTRY_PUBLIC_H
#define SIGN_REGISTRY_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include <sign/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The artifactType (and layer media type) of a pushed bundle. */
#define SIGN_REGISTRY_BUNDLE_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"

/* Flags of sign_registry_options. */
#define SIGN_REGISTRY_INSECURE 0x1u /* plain HTTP to the reference's host (--tls-verify=false) */

typedef struct sign_registry_options {
    unsigned int version;
    unsigned int flags;
    unsigned int timeout_ms; /* per request, retries included; 0: 60 s */
    const char *auth_file;   /* or NULL: the files of sign_registry_set_credential_files */
} sign_registry_options;

#define SIGN_REGISTRY_OPTIONS_VERSION 1
#define SIGN_REGISTRY_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_REGISTRY_OPTIONS_VERSION)

/*
 * The auth files searched, in order, for a registry's credentials (the first
 * with an entry for the host wins) by every later registry access of the
 * process, sign_artifact_scan's included. Copied; n 0 clears. A file that
 * does not exist is skipped; a malformed one is an error when it is read.
 */
SIGN_EXTERN int sign_registry_set_credential_files(const char *const *paths, size_t n);

/*
 * The certs.d directories searched, in order, for a registry's private CA:
 * DIR/HOST[:PORT]/ca.crt (PEM), trusted besides the system store for that
 * registry host and port only, never for a token realm or a redirect to
 * another host (signet: /etc/containers/certs.d then /etc/docker/certs.d,
 * or $SIGNET_REGISTRY_CERTS_DIR alone). Copied; n 0 clears.
 */
SIGN_EXTERN int sign_registry_set_certs_dirs(const char *const *paths, size_t n);

/* 1 when s is a registry reference ("docker://..."). */
SIGN_EXTERN int sign_registry_is_reference(const char *s);

/*
 * Resolve reference's tag (or take its digest) once: *digest (malloc'd,
 * "sha256:<hex>") is what the manifest bytes hash to; *pinned (malloc'd) is
 * "docker://HOST/REPO@sha256:<hex>", the reference to use from then on.
 */
SIGN_EXTERN int sign_registry_resolve(char **digest, char **pinned, const char *reference,
                                      const sign_registry_options *o);

/*
 * Push bundle (len bytes) as a referrer of the subject (digest, size and
 * media type of the signed manifest or index) in reference's repository,
 * and add it to the fallback tag's index when the registry has no
 * referrers API. *pushed (malloc'd, may be NULL) is the artifact manifest's
 * digest.
 */
SIGN_EXTERN int sign_registry_attach_bundle(char **pushed, const char *reference, const char *subject_digest,
                                            uint64_t subject_size, const char *subject_media_type, const void *bundle,
                                            size_t len, const sign_registry_options *o);

/*
 * The bundles attached to subject_digest in reference's repository (every
 * referrer of artifactType SIGN_REGISTRY_BUNDLE_TYPE; each manifest and
 * bundle blob checked against its digest). *n may be 0. Free with
 * sign_registry_bundles_free.
 */
SIGN_EXTERN int sign_registry_fetch_bundles(unsigned char ***bundles, size_t **lens, size_t *n, const char *reference,
                                            const char *subject_digest, const sign_registry_options *o);
/*
 * As sign_registry_fetch_bundles, for a caller that judges every attached
 * bundle (signet audit): a referrer whose manifest or bundle blob does not
 * hash to its digest, does not parse or is gone is skipped and counted in
 * *invalid instead of failing the whole fetch, and more than max bundle
 * referrers (0: 1000) is SIGN_ELIMIT before any of them is read. Network and
 * authentication errors still fail.
 */
SIGN_EXTERN int sign_registry_fetch_bundles_checked(unsigned char ***bundles, size_t **lens, size_t *n,
                                                    size_t *invalid, const char *reference,
                                                    const char *subject_digest, size_t max,
                                                    const sign_registry_options *o);
SIGN_EXTERN void sign_registry_bundles_free(unsigned char **bundles, size_t *lens, size_t n);

/*
 * The manifest or index reference names (its tag resolved once, or its
 * digest, then checked), at most 4 MiB: *data, *media_type (the registry's
 * Content-Type) and *digest (what the bytes hash to, "sha256:<hex>") are
 * malloc'd. Nothing is trusted: the caller judges the content.
 */
SIGN_EXTERN int sign_registry_get_manifest(unsigned char **data, size_t *len, char **media_type, char **digest,
                                           const char *reference, const sign_registry_options *o);
/*
 * A small blob (a config) of reference's repository by digest, at most max
 * bytes (0: 4 MiB), checked against the digest (SIGN_EDIGEST when it does
 * not hash to it). *data malloc'd.
 */
SIGN_EXTERN int sign_registry_get_blob(unsigned char **data, size_t *len, const char *reference, const char *digest,
                                       size_t max, const sign_registry_options *o);
/*
 * Every tag of reference's repository (its tag or digest is ignored), every
 * page of the paginated tags list (n=, Link rel="next") on the registry
 * itself, at most 100000. Names that are not valid tags are skipped. Free
 * with sign_registry_strings_free.
 */
SIGN_EXTERN int sign_registry_list_tags(char ***tags, size_t *n, const char *reference,
                                        const sign_registry_options *o);
SIGN_EXTERN void sign_registry_strings_free(char **v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
