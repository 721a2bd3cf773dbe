/* signet — X.509 code-signing certificates: load, chain to policy roots, EKU, validity, CRLs, PKCS#12. */
#ifndef SIGN_X509_H
#define SIGN_X509_H

#include "common.h"
#include "key.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An ordered list of certificates (a PEM bundle, a DER file, a bundle's chain). */
typedef struct sign_x509_certs sign_x509_certs;
/* A list of certificate revocation lists. */
typedef struct sign_x509_crls sign_x509_crls;

/* Largest certificate, CRL or PKCS#12 file read (bytes). */
#define SIGN_X509_FILE_MAX (16u * 1024u * 1024u)
/* Most certificates or CRLs taken from one file or chain. */
#define SIGN_X509_MAX_ITEMS 256

/*
 * Certificates from a file or buffer: one or more PEM "CERTIFICATE" blocks
 * (other PEM blocks and text between them are ignored), or one DER
 * certificate. At least one is required (SIGN_EPARSE). what names the input
 * in messages. Free with sign_x509_certs_free.
 */
SIGN_EXTERN int sign_x509_certs_load(sign_x509_certs **out, const char *path);
SIGN_EXTERN int sign_x509_certs_parse(sign_x509_certs **out, const void *data, size_t len, const char *what);
/* An empty list, to be filled with sign_x509_certs_add_der. */
SIGN_EXTERN int sign_x509_certs_new(sign_x509_certs **out);
/* Append one DER certificate (copied; trailing bytes refused). */
SIGN_EXTERN int sign_x509_certs_add_der(sign_x509_certs *c, const unsigned char *der, size_t len);
SIGN_EXTERN void sign_x509_certs_free(sign_x509_certs *c);
SIGN_EXTERN size_t sign_x509_certs_count(const sign_x509_certs *c);
/* DER of certificate i, malloc'd. */
SIGN_EXTERN int sign_x509_certs_der(unsigned char **out, size_t *outlen, const sign_x509_certs *c, size_t i);
/* The public key of certificate i (SIGN_EUNSUPPORTED for weak or unknown keys, e.g. RSA below 2048). */
SIGN_EXTERN int sign_x509_certs_key(sign_key **out, const sign_x509_certs *c, size_t i);
/* 1 when certificate i is self-signed (issuer = subject and its own key verifies it). */
SIGN_EXTERN int sign_x509_certs_self_signed(const sign_x509_certs *c, size_t i);

/* CRLs from a file or buffer: PEM "X509 CRL" blocks, or one DER CRL. */
SIGN_EXTERN int sign_x509_crls_load(sign_x509_crls **out, const char *path);
SIGN_EXTERN int sign_x509_crls_parse(sign_x509_crls **out, const void *data, size_t len, const char *what);
SIGN_EXTERN int sign_x509_crls_new(sign_x509_crls **out);
/* Move every CRL of from into to (from is left empty). */
SIGN_EXTERN int sign_x509_crls_merge(sign_x509_crls *to, sign_x509_crls *from);
SIGN_EXTERN void sign_x509_crls_free(sign_x509_crls *c);
SIGN_EXTERN size_t sign_x509_crls_count(const sign_x509_crls *c);

/* Facts about one certificate, for a signer to check before signing. */
typedef struct sign_x509_info {
    char subject[512];     /* one-line RFC 2253 form, see sign_x509_verify; the email/URI SAN when the DN is empty */
    int64_t not_before;    /* seconds since the epoch */
    int64_t not_after;     /* seconds since the epoch */
    int has_eku;           /* an extendedKeyUsage extension is present */
    int code_signing;      /* it lists id-kp-codeSigning */
    int has_key_usage;     /* a keyUsage extension is present */
    int digital_signature; /* keyUsage digitalSignature is set */
    int is_ca;             /* basicConstraints cA */
} sign_x509_info;

SIGN_EXTERN int sign_x509_certs_info(sign_x509_info *out, const sign_x509_certs *c, size_t i);
/* 1 when key (public or private) is the public key of certificate i, else 0. */
SIGN_EXTERN int sign_x509_key_matches(const sign_x509_certs *c, size_t i, const sign_key *key);

/*
 * A PKCS#12 file: its private key and certificates (the one matching the
 * key first, then the others in file order). cb is asked for the passphrase
 * unless the file opens with an empty one; a wrong passphrase is
 * SIGN_EPASSPHRASE. Unsupported key types are SIGN_EUNSUPPORTED.
 */
SIGN_EXTERN int sign_x509_load_p12(sign_key **out_key, sign_x509_certs **out_certs, const char *path,
                                   sign_passphrase_cb cb, void *userdata);

/* What one policy root trusts (the policy's "roots" entry). */
typedef struct sign_x509_trust {
    unsigned int version;
    const sign_x509_certs *roots;         /* trust anchors: the ONLY trusted certificates */
    const sign_x509_certs *intermediates; /* untrusted helpers, or NULL */
    const sign_x509_crls *crls;           /* or NULL: no revocation checking */
    const char *eku;                      /* name ("codeSigning", ...) or dotted OID; NULL: codeSigning */
    const char *const *subjects;          /* globs over the leaf subject DN and email/URI SANs; none: any */
    size_t nsubjects;
    /* version 2: */
    const char *const *issuers; /* globs over the leaf's OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, else
                                   .1.1); none: any. A leaf without the extension matches none */
    size_t nissuers;
} sign_x509_trust;

#define SIGN_X509_TRUST_VERSION 2
#define SIGN_X509_TRUST_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_X509_TRUST_VERSION)

/* *trust = SIGN_X509_TRUST_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_x509_trust_init(sign_x509_trust *trust);

/* Flags of sign_x509_verify_options (version 2). */
#define SIGN_X509_FETCH_CRL 0x1u /* fetch CRLs from the chain's http:// CRL distribution points */
#define SIGN_X509_AT 0x2u        /* version 3: opts->at is "now", also when it is 0 (the epoch) */

/* Default total time for one CRL fetch (connect, request, response), and the response size limit. */
#define SIGN_X509_CRL_TIMEOUT_MS 10000u
#define SIGN_X509_CRL_FETCH_MAX (16u * 1024u * 1024u)

typedef struct sign_x509_verify_options {
    unsigned int version;
    int64_t at; /* "now" for CRL freshness, and for validity without a signing time, when SIGN_X509_AT is set
                   or at != 0; else the current time */
    const int64_t *signing_time; /* a trusted (timestamp-proven) signing time, or NULL */
    /* version 2: online revocation (only with SIGN_X509_FETCH_CRL; otherwise nothing touches the network) */
    unsigned int flags;
    const char *crl_cache_dir;   /* directory of fetched CRLs (created 0700 if missing), or NULL: no cache */
    unsigned int crl_timeout_ms; /* per fetch; 0: SIGN_X509_CRL_TIMEOUT_MS */
} sign_x509_verify_options;

/* Version 3: the flag SIGN_X509_AT (no new field); a library of version 2 refuses it instead of ignoring it. */
#define SIGN_X509_VERIFY_OPTIONS_VERSION 3
#define SIGN_X509_VERIFY_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_X509_VERIFY_OPTIONS_VERSION)

/* *opts = SIGN_X509_VERIFY_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_x509_verify_options_init(sign_x509_verify_options *opts);

/* The outcome of sign_x509_verify. */
typedef struct sign_x509_result {
    const char *reason; /* "OK" or a stable code: ROOT_UNKNOWN, CHAIN_INCOMPLETE, CHAIN_INVALID, EKU_MISSING,
                           KEY_USAGE_INVALID, LEAF_IS_CA, SUBJECT_NOT_ALLOWED, CERT_EXPIRED, CERT_NOT_YET_VALID,
                           CERT_REVOKED, CRL_STALE, CRL_SIGNATURE_INVALID, CRL_MISSING, CRL_FETCH_FAILED,
                           WEAK_ALGORITHM */
    int code;           /* 0 or the SIGN_E* class of the failure */
    char message[1024]; /* what failed and what to do */
    char subject[512];  /* the leaf's subject DN (RFC 2253 form); its email/URI SAN when the DN is empty */
    char note[512];     /* a fact worth reporting on success (revoked after the signing time), or "" */
    size_t chain_len;   /* certificates in the built chain, leaf to root (0 when none was built) */
    int64_t judged_at;  /* the time validity and revocation were judged at */
} sign_x509_result;

/*
 * Verify a signer's certificate against one policy root. chain holds the
 * leaf first, then untrusted certificates (e.g. from the bundle); any
 * self-signed certificate in it is ignored, never trusted. The chain is
 * built to trust->roots through chain and trust->intermediates, then:
 * validity of every certificate at *signing_time if given, else at at;
 * weak algorithms (RSA < 2048, SHA-1/MD5 signatures) anywhere in the chain;
 * leaf keyUsage digitalSignature; leaf EKU; subject globs; CRLs (see
 * docs/verify.md for the exact rules). With SIGN_X509_FETCH_CRL (options
 * version 2) the CRLs of the certificates' http:// distribution points are
 * fetched (or taken from crl_cache_dir while fresh) and checked exactly like
 * the policy's. Version 1 options are still accepted. Fills *res (always)
 * and returns 0 when every check passed, else res->code.
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_x509_verify(sign_x509_result *res, const sign_x509_certs *chain,
                                                  const sign_x509_trust *trust, const sign_x509_verify_options *opts);

/* The OID (dotted) of an EKU name or dotted OID; NULL when unknown. Static string or eku itself. */
SIGN_EXTERN const char *sign_x509_eku_oid(const char *eku);

#ifdef __cplusplus
}
#endif
#endif
