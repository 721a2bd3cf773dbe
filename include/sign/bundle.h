/* signet — Sigstore bundle JSON (v0.3; v0.1/v0.2 read). */
#ifndef SIGN_BUNDLE_H
#define SIGN_BUNDLE_H

#include "common.h"
#include "envelope.h"
#include "key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGN_BUNDLE_MEDIA_TYPE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define SIGN_BUNDLE_MEDIA_TYPE_V02 "application/vnd.dev.sigstore.bundle+json;version=0.2"
#define SIGN_BUNDLE_MEDIA_TYPE_V01 "application/vnd.dev.sigstore.bundle+json;version=0.1"

typedef struct sign_bundle sign_bundle;

/*
 * A v0.3 bundle for a DSSE envelope carrying exactly one signature, made by
 * signer (its key id becomes publicKey.hint). env is transferred on success.
 */
SIGN_EXTERN int sign_bundle_new(sign_bundle **out, sign_envelope *env, const sign_key *signer);

/* Deterministic JSON. *out is malloc'd, NUL-terminated. */
SIGN_EXTERN int sign_bundle_serialize(char **out, size_t *outlen, const sign_bundle *b);
/* Write atomically (temporary file in the same directory, fsync, rename). */
SIGN_EXTERN int sign_bundle_write(const sign_bundle *b, const char *path);

/*
 * Strict read: known media type, exactly one DSSE signature with a
 * non-empty sig, publicKey hint or certificate, sizes within limits.
 * Unknown fields are ignored as the Sigstore spec requires.
 */
SIGN_EXTERN int sign_bundle_read(sign_bundle **out, const char *path, const sign_limits *limits);
SIGN_EXTERN int sign_bundle_parse(sign_bundle **out, const void *data, size_t len, const sign_limits *limits);
SIGN_EXTERN void sign_bundle_free(sign_bundle *b);

SIGN_EXTERN const char *sign_bundle_media_type(const sign_bundle *b);
SIGN_EXTERN const sign_envelope *sign_bundle_envelope(const sign_bundle *b);
/* publicKey.hint, or NULL when the bundle carries a certificate. */
SIGN_EXTERN const char *sign_bundle_key_hint(const sign_bundle *b);
/* DER leaf certificate, or NULL. */
SIGN_EXTERN const unsigned char *sign_bundle_certificate(const sign_bundle *b, size_t *len);

/*
 * A bundle for an envelope signed with an X.509 certificate's key. With
 * nchain == 0 it is v0.3 with verificationMaterial.certificate (leaf DER);
 * with nchain > 0 it is v0.2 with x509CertificateChain: the leaf followed by
 * the nchain intermediates (never the root). The certificates are copied;
 * env is transferred on success. The caller checks that the leaf's key made
 * the signature.
 */
SIGN_EXTERN int sign_bundle_new_x509(sign_bundle **out, sign_envelope *env, const unsigned char *leaf, size_t leaflen,
                                     const unsigned char *const *chain, const size_t *chainlens, size_t nchain);
/* Certificates of x509CertificateChain (leaf first; none for v0.3). */
SIGN_EXTERN size_t sign_bundle_chain_count(const sign_bundle *b);
SIGN_EXTERN const unsigned char *sign_bundle_chain_cert(const sign_bundle *b, size_t i, size_t *len);
/* rfc3161Timestamps[i].signedTimestamp: a DER TimeStampResp. */
SIGN_EXTERN size_t sign_bundle_timestamp_count(const sign_bundle *b);
SIGN_EXTERN const unsigned char *sign_bundle_timestamp(const sign_bundle *b, size_t i, size_t *len);
/* Append a DER TimeStampResp (copied). At most 16 per bundle. */
SIGN_EXTERN int sign_bundle_add_timestamp(sign_bundle *b, const unsigned char *der, size_t len);

#ifdef __cplusplus
}
#endif
#endif
