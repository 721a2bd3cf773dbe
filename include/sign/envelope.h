/* signet — DSSE envelopes: PAE, signing, verification. */
#ifndef SIGN_ENVELOPE_H
#define SIGN_ENVELOPE_H

#include "common.h"
#include "key.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sign_envelope sign_envelope;

/*
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
 * lengths in ASCII decimal. *out is malloc'd.
 */
SIGN_EXTERN int sign_dsse_pae(unsigned char **out, size_t *outlen, const char *type, const void *body,
                              size_t bodylen);

/* A new envelope over a copy of payload, with no signatures. */
SIGN_EXTERN int sign_envelope_new(sign_envelope **out, const char *payload_type, const void *payload, size_t len);
/* Sign PAE(payloadType, payload) with key and append the signature (keyid = key id). */
SIGN_EXTERN int sign_envelope_sign(sign_envelope *env, const sign_key *key);
SIGN_EXTERN void sign_envelope_free(sign_envelope *env);

SIGN_EXTERN const char *sign_envelope_payload_type(const sign_envelope *env);
SIGN_EXTERN const unsigned char *sign_envelope_payload(const sign_envelope *env, size_t *len);
SIGN_EXTERN size_t sign_envelope_signature_count(const sign_envelope *env);
/* keyid of signature i ("" when absent). */
SIGN_EXTERN const char *sign_envelope_signature_keyid(const sign_envelope *env, size_t i);
SIGN_EXTERN const unsigned char *sign_envelope_signature(const sign_envelope *env, size_t i, size_t *len);

/* 0 when signature i is valid over the PAE for pub; SIGN_EBADSIG otherwise. */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_envelope_verify(const sign_envelope *env, size_t i, const sign_key *pub);

/* DSSE JSON form (deterministic) and strict parse of it. */
SIGN_EXTERN int sign_envelope_serialize(char **out, size_t *outlen, const sign_envelope *env);
SIGN_EXTERN int sign_envelope_parse(sign_envelope **out, const void *data, size_t len, const sign_limits *limits);

#ifdef __cplusplus
}
#endif
#endif
