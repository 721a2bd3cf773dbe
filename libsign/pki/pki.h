/*
 * libsign/pki/: keys, X.509 containers and chains, CRLs, timestamps. The
 * layer above util/ and net/ (docs/architecture.md). Not installed.
 */
#ifndef SIGN_PKI_H
#define SIGN_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "sign/digest.h"
#include "sign/key.h"
#include "sign/timestamp.h"
#include "sign/x509.h"
#include "util.h"

/* ---- keys (key.c) ------------------------------------------------------------ */

/*
 * 1 when a and b hold the same public key, whatever its encoding (PEM or
 * DER, compressed or uncompressed EC point): key ids differ then, keys do not.
 */
int sign__key_same(const sign_key *a, const sign_key *b);
/* Classify, check and wrap an OpenSSL key (taken over, also on failure); what names it in messages. */
int sign__key_adopt(sign_key **out, EVP_PKEY *pkey, int has_private, const char *what);
/*
 * A private key held elsewhere (a PKCS#11 token, pkcs11.c): sign makes the
 * signature in signet's encoding (as sign_key_sign) into a malloc'd *sig;
 * free releases ctx.
 */
typedef struct sign__key_backend {
    int (*sign)(void *ctx, sign_key_type type, const void *msg, size_t msglen, unsigned char **sig, size_t *siglen);
    void (*free)(void *ctx);
} sign__key_backend;
/* key (a public key) signs through ops from now on; ctx is taken over (freed with key). */
void sign__key_set_backend(sign_key *key, const sign__key_backend *ops, void *ctx);
/* Whether key signs through a backend (a token) rather than in this process. */
int sign__key_has_backend(const sign_key *key);
/* The OpenSSL key inside key (borrowed). */
const EVP_PKEY *sign__key_pkey(const sign_key *key);
/*
 * 0 when sig is key's signature over a message whose digest (alg) is dig:
 * ECDSA P-256 and RSA over SHA-256, ECDSA P-384 over SHA-384 (the pairings
 * of Sigstore's algorithm registry; RSA in PKCS#1 v1.5 or signet's PSS).
 * SIGN_EUNSUPPORTED for Ed25519 (it signs the message itself) or another
 * digest; SIGN_EBADSIG when it does not verify.
 */
int sign__key_verify_digest(const sign_key *key, sign_digest_alg alg, const unsigned char *dig, size_t diglen,
                            const unsigned char *sig, size_t siglen);

/* ---- certificates and CRLs (x509.c, crlfetch.c) ------------------------------- */

struct sign_x509_certs {
    STACK_OF(X509) * sk;
};

struct sign_x509_crls {
    STACK_OF(X509_CRL) * sk;
};

/* The certificate at i, borrowed (NULL when out of range). */
X509 *sign__x509_cert_at(const sign_x509_certs *c, size_t i);
/* Append x (taken over, also on failure); what names the list in messages. */
int sign__x509_certs_push(sign_x509_certs *c, X509 *x, const char *what);
/* Why x's public key was not decoded: SIGN_ENOMEM (memory, told by decoding its bytes again) or SIGN_EPARSE. */
int sign__x509_pubkey_why(X509 *x);
int sign__x509_crls_push(sign_x509_crls *c, X509_CRL *x, const char *what);
/* 1 when x is self-signed (its signature verifies under its own key). */
int sign__x509_self_signed(X509 *x);

/*
 * An ASN1_TIME (UTCTime or GeneralizedTime) as seconds since the epoch into
 * *out: 0, or -1 when t is NULL or unreadable (*out is then 0; OpenSSL's
 * error queue is cleared). Used by the chain, CRL and timestamp checks.
 */
int sign__asn1_time_epoch(int64_t *out, const ASN1_TIME *t);

/*
 * Strict DER for signed structures (certificates, CRLs, timestamps): one
 * TLV spanning exactly len bytes, definite minimal lengths, no constructed
 * string types, BOOLEAN 00/FF, minimal INTEGERs, nesting at most 64 deep.
 * BER that OpenSSL would read (indefinite lengths, long-form lengths of
 * small values) is refused: the bytes checked must be the bytes signed, in
 * their one encoding. Returns 1, or 0 with *why saying what is wrong.
 */
int sign__der_strict(const unsigned char *p, size_t len, const char **why);

/* A copy of c sharing its certificates (up-referenced). */
int sign__x509_certs_dup(sign_x509_certs **out, const sign_x509_certs *c);
/* A deep copy of c (NULL: an empty list): each certificate decoded again from its DER, with OpenSSL's caches
   of it empty. */
int sign__x509_certs_copy(sign_x509_certs **out, const sign_x509_certs *c);
/* The same for CRLs. */
int sign__x509_crls_dup(sign_x509_crls **out, const sign_x509_crls *c);
/* Append x (up-referenced) to c. */
int sign__x509_certs_push_ref(sign_x509_certs *c, X509 *x);

/*
 * sign_timestamp_verify with "now" given (CRL freshness of the TSA's chain) and the token's accuracy in
 * seconds (rounded up; 0 when absent) returned: verify judges genTime +- accuracy (libsign/pki/timestamp.c).
 */
int sign__timestamp_verify_at(sign_timestamp_info *out, int64_t *accuracy, sign_timestamp_failure *why,
                              const unsigned char *der, size_t len, const unsigned char *data, size_t datalen,
                              const sign_tsa_roots *roots, int64_t now);

/* ---- Sigstore trusted root (trusted_root.c) --------------------------------------- */

#define SIGN__TRUSTED_ROOT_MAX_ITEMS 32 /* entries of each list */
#define SIGN__TRUSTED_ROOT_MAX_CHAIN 10 /* certificates of one chain */

/* validFor: seconds since the epoch, inclusive at both ends; no end: open. */
typedef struct sign__tr_window {
    int64_t start, end;
    int has_end;
} sign__tr_window;

enum { SIGN__TLOG_ECDSA_P256 = 0, SIGN__TLOG_ECDSA_P384, SIGN__TLOG_ED25519, SIGN__TLOG_RSA_PKCS1 };

/* One transparency log (tlogs[]) or CT log (ctlogs[]). */
typedef struct sign__tlog_key {
    int ct;                         /* from ctlogs[] */
    int type;                       /* SIGN__TLOG_* */
    EVP_PKEY *pkey;                 /* its public key */
    unsigned char raw[32];          /* an Ed25519 key's raw bytes */
    unsigned char spki_sha256[32];  /* SHA-256 of the DER SubjectPublicKeyInfo (Rekor v1's log id) */
    unsigned char log_id[32];       /* logId.keyId */
    unsigned char checkpoint_id[4]; /* checkpointKeyId.keyId's first bytes (the note key hint), if given */
    int has_checkpoint_id;
    char *origin; /* baseUrl's host: a Rekor v2 checkpoint's origin */
    sign__tr_window valid;
} sign__tlog_key;

/* One certificate authority or timestamp authority. */
typedef struct sign__tr_authority {
    int tsa;                /* from timestampAuthorities[] */
    sign_x509_certs *chain; /* certChain, as listed (leaf or intermediate first, root last) */
    sign__tr_window valid;
} sign__tr_authority;

typedef struct sign__trusted_root {
    sign__tlog_key *logs; /* tlogs then ctlogs */
    size_t nlogs;
    sign__tr_authority *cas; /* certificateAuthorities then timestampAuthorities */
    size_t ncas;
} sign__trusted_root;

/* Parse strictly (unknown fields, a wrong mediaType, bad keys or certificates: SIGN_EPARSE; limits: SIGN_ELIMIT). */
int sign__trusted_root_parse(sign__trusted_root **out, const void *data, size_t len, const sign_limits *limits,
                             const char *what);
int sign__trusted_root_read(sign__trusted_root **out, const char *path, const sign_limits *limits);
void sign__trusted_root_free(sign__trusted_root *t);
/* 1 when t is inside w. */
int sign__tr_window_holds(const sign__tr_window *w, int64_t t);
/* A log's signature over msg (ECDSA DER over SHA-256/384, Ed25519, RSA PKCS#1 v1.5): 0 or SIGN_EBADSIG. */
int sign__tlog_key_verify(const sign__tlog_key *k, const void *msg, size_t len, const unsigned char *sig,
                          size_t siglen);

/*
 * The trusted-root certificate authority (certificateAuthorities[] entry, an index into cas) whose certificates
 * alone, with the bundle's certificates (bundle, leaf first; may be NULL), lead from leaf to a self-signed root
 * of that entry, each link checked by signature: the first such entry at or after *from, whose chain then
 * yields the leaf's issuer in *issuer (borrowed). 0, or SIGN_ENOTFOUND when no further entry holds the chain.
 */
int sign__trusted_root_ca_for(size_t *from, X509 **issuer, const sign__trusted_root *tr,
                              const sign_x509_certs *bundle, X509 *leaf);
/* 1 when tr lists CT logs (ctlogs[]). */
int sign__trusted_root_has_ctlogs(const sign__trusted_root *tr);

/* ---- signed certificate timestamps (sct.c) ------------------------------------- */

typedef struct sign__sct_check {
    const char *reason; /* "OK", SCT_MISSING, SCT_MALFORMED, SCT_UNKNOWN_LOG, SCT_OUTSIDE_LOG_VALIDITY, SCT_INVALID */
    int code;           /* its class (SIGN_E*) */
    char message[256];
} sign__sct_check;

/*
 * The embedded SCTs (RFC 6962 3.3) of leaf, issued by issuer: 0 when at least one verifies under a CT log key of
 * tr valid (validFor) at the SCT's time; otherwise the failure (of the first SCT, when none verifies) in *out and
 * its class returned. SIGN_ENOMEM is not a verdict.
 */
int sign__sct_verify(sign__sct_check *out, X509 *leaf, X509 *issuer, const sign__trusted_root *tr);

#endif
