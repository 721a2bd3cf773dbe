/* signet — signed revocation lists of keys and artifacts (see docs/revocation.md). */
#ifndef SIGN_REVOCATION_H
#define SIGN_REVOCATION_H

#include "bundle.h"
#include "common.h"
#include "key.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The DSSE payloadType of a revocation list bundle. */
#define SIGN_REVOCATION_PAYLOAD_TYPE "application/vnd.signet.revocation.v1+json"
/* Largest version number accepted (2^53 - 1: exact in every JSON implementation). */
#define SIGN_REVOCATION_MAX_VERSION INT64_C(9007199254740991)
/* Most keys, and most artifacts, one list may carry. */
#define SIGN_REVOCATION_MAX_ENTRIES 1000000u
/* Longest comment and artifact name, bytes. */
#define SIGN_REVOCATION_MAX_TEXT 1024u

typedef enum {
    SIGN_REVOKE_KEY_COMPROMISE = 1,
    SIGN_REVOKE_SUPERSEDED = 2,
    SIGN_REVOKE_CESSATION = 3, /* cessationOfOperation */
    SIGN_REVOKE_OTHER = 4
} sign_revocation_reason;

/* "keyCompromise", "superseded", "cessationOfOperation", "other"; NULL for an unknown value. */
SIGN_EXTERN const char *sign_revocation_reason_name(sign_revocation_reason r);
/* The reverse (exact spelling); SIGN_EINVAL for an unknown name. */
SIGN_EXTERN int sign_revocation_reason_from_name(sign_revocation_reason *out, const char *name);

typedef struct sign_revocation_list sign_revocation_list;

/* One revoked key. Strings owned by the list. */
typedef struct sign_revoked_key {
    const char *key_id; /* standard base64 of SHA-256 over the SPKI, as in bundles */
    unsigned char key_sha256[32];
    int has_effective; /* 0 only for keyCompromise: every signature by the key is void */
    int64_t effective;
    sign_revocation_reason reason;
    const char *comment; /* or NULL */
} sign_revoked_key;

/* One revoked artifact. Strings owned by the list. */
typedef struct sign_revoked_artifact {
    unsigned char sha256[32];
    const char *name; /* or NULL */
    sign_revocation_reason reason;
    const char *comment; /* or NULL */
} sign_revoked_artifact;

/* A new, empty list: version 1, no previous. expires must be after issued. */
SIGN_EXTERN int sign_revocation_list_new(sign_revocation_list **out, int64_t issued, int64_t expires);
/*
 * The next version of prev: the same revocations, version + 1, previous =
 * prev_payload_sha256 (SHA-256 of the exact payload bytes of prev), new
 * issued and expires times.
 */
SIGN_EXTERN int sign_revocation_list_next(sign_revocation_list **out, const sign_revocation_list *prev,
                                          const unsigned char prev_payload_sha256[32], int64_t issued,
                                          int64_t expires);
SIGN_EXTERN void sign_revocation_list_free(sign_revocation_list *l);

/*
 * Strict parse of a list payload (JSON): unknown fields, duplicate keys or
 * digests, a version outside 1..SIGN_REVOCATION_MAX_VERSION, times that are
 * not RFC 3339 UTC, expires not after issued, version 1 with a previous (or
 * a later version without one), entry counts or texts over the caps are
 * SIGN_EPARSE / SIGN_ELIMIT, and the message names the field.
 */
SIGN_EXTERN int sign_revocation_list_parse(sign_revocation_list **out, const void *data, size_t len,
                                           const sign_limits *limits);
/* Deterministic JSON (sorted keys and entries, no spaces). *out malloc'd, NUL-terminated. */
SIGN_EXTERN int sign_revocation_list_serialize(char **out, size_t *outlen, const sign_revocation_list *l);

SIGN_EXTERN int64_t sign_revocation_list_version(const sign_revocation_list *l);
SIGN_EXTERN int64_t sign_revocation_list_issued(const sign_revocation_list *l);
SIGN_EXTERN int64_t sign_revocation_list_expires(const sign_revocation_list *l);
/* SHA-256 of the previous version's payload, or NULL for version 1. */
SIGN_EXTERN const unsigned char *sign_revocation_list_previous(const sign_revocation_list *l);
SIGN_EXTERN size_t sign_revocation_list_key_count(const sign_revocation_list *l);
SIGN_EXTERN size_t sign_revocation_list_artifact_count(const sign_revocation_list *l);
/* Entry i, in key id order / digest order. SIGN_EINVAL when i is out of range. */
SIGN_EXTERN int sign_revocation_list_key(sign_revoked_key *out, const sign_revocation_list *l, size_t i);
SIGN_EXTERN int sign_revocation_list_artifact(sign_revoked_artifact *out, const sign_revocation_list *l, size_t i);

/* Look a key id (standard or URL-safe base64) up: 1 and *out set when revoked, 0 when not. */
SIGN_EXTERN int sign_revocation_list_find_key(sign_revoked_key *out, const sign_revocation_list *l,
                                              const char *key_id);
/* Look a SHA-256 up: 1 and *out set when revoked, 0 when not. */
SIGN_EXTERN int sign_revocation_list_find_artifact(sign_revoked_artifact *out, const sign_revocation_list *l,
                                                   const unsigned char sha256[32]);

/*
 * Revoke a key. has_effective == 0 is allowed for keyCompromise only (every
 * signature void). When the key is already revoked, an earlier (or removed,
 * for keyCompromise) effective time replaces the old one and *changed is 1;
 * the same time leaves the list unchanged (*changed 0); a later one is
 * refused (SIGN_EINVAL): a list never moves an effective time later.
 */
SIGN_EXTERN int sign_revocation_list_add_key(sign_revocation_list *l, int *changed, const char *key_id,
                                             int has_effective, int64_t effective, sign_revocation_reason reason,
                                             const char *comment);
/* Revoke an artifact by digest. *changed is 0 when it was already revoked. */
SIGN_EXTERN int sign_revocation_list_add_artifact(sign_revocation_list *l, int *changed,
                                                  const unsigned char sha256[32], const char *name,
                                                  sign_revocation_reason reason, const char *comment);

/*
 * 0 when newer keeps every revocation of older: every key still revoked
 * with an effective time no later (none counts as the earliest), every
 * artifact still revoked. Otherwise SIGN_EVERIFY and a message naming the
 * first entry lost or moved.
 */
SIGN_EXTERN int sign_revocation_list_covers(const sign_revocation_list *newer, const sign_revocation_list *older);

/* Sign the list as a Sigstore bundle (DSSE, payloadType SIGN_REVOCATION_PAYLOAD_TYPE) with authority. */
SIGN_EXTERN int sign_revocation_list_sign(sign_bundle **out, const sign_revocation_list *l,
                                          const sign_key *authority);

/*
 * Open a revocation list bundle: the payload type must be
 * SIGN_REVOCATION_PAYLOAD_TYPE (SIGN_EVERIFY), the single signature must
 * verify under one of the nauth authorities (SIGN_EUNTRUSTED; *which = its
 * index), and the verified payload must parse (SIGN_EPARSE). The payload's
 * SHA-256 goes to payload_sha256 (may be NULL). authorities may be NULL
 * with nauth 0 only to read without trust (signet revoke show): then the
 * signature is not checked and *which is SIZE_MAX.
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_revocation_bundle_open(sign_revocation_list **out,
                                                             unsigned char payload_sha256[32], size_t *which,
                                                             const sign_bundle *b, const sign_key *const *authorities,
                                                             size_t nauth, const sign_limits *limits);

#ifdef __cplusplus
}
#endif
#endif
