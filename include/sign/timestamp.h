/* signet — RFC 3161 trusted timestamps: request from a TSA, check, verify. */
#ifndef SIGN_TIMESTAMP_H
#define SIGN_TIMESTAMP_H

#include "bundle.h"
#include "common.h"
#include "x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of sign_tsa_options. */
#define SIGN_TSA_BEST_EFFORT 0x1u /* sign_timestamp_bundle: keep the timestamps that succeeded */

typedef struct sign_tsa_options {
    unsigned int version;
    const char *policy_oid; /* reqPolicy as a dotted OID, or NULL: the TSA's default */
    int connect_timeout;    /* seconds to connect (and TLS handshake); 0: 10 */
    int timeout;            /* seconds for the whole exchange; 0: 10 */
    size_t max_response;    /* largest answer accepted, bytes; 0: 256 KiB */
    unsigned int flags;     /* SIGN_TSA_* */
} sign_tsa_options;

#define SIGN_TSA_OPTIONS_VERSION 1
#define SIGN_TSA_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_TSA_OPTIONS_VERSION)

/* *opts = SIGN_TSA_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_tsa_options_init(sign_tsa_options *opts);

/*
 * Ask the TSA at url (http:// or https://) for a timestamp over data: a
 * TimeStampReq with the SHA-256 of data as message imprint, a random 64-bit
 * nonce and certReq true, POSTed as application/timestamp-query. The answer
 * is checked before it is returned: status granted (or grantedWithMods),
 * the nonce echoed, the imprint equal, the token parses. *out (malloc'd)
 * is the whole DER TimeStampResp. Failures name the URL and the cause:
 * SIGN_ENETWORK (refused, closed, unreachable), SIGN_ETIMEOUT, SIGN_EHTTP
 * (an HTTP error status), SIGN_ETSA_REJECTED (the TSA refused, with its
 * status text), SIGN_ETSA_ANSWER (not a TimeStampResp, wrong nonce, wrong
 * imprint), SIGN_ELIMIT (answer too large).
 */
SIGN_EXTERN int sign_timestamp_request(unsigned char **out, size_t *outlen, const char *url,
                                       const unsigned char *data, size_t len, const sign_tsa_options *opts);

/*
 * Timestamp the bundle's signature (the decoded DSSE sig) at each of the
 * nurls TSAs and append the answers to the bundle. Without
 * SIGN_TSA_BEST_EFFORT it is all or nothing: on the first failure nothing
 * is added and that failure is returned. With it, the timestamps that
 * succeeded are added, *out_added says how many, and when some failed the
 * message of sign_error_last() lists every failure (0 is returned unless
 * an error other than a TSA's occurred). out_added may be NULL.
 */
SIGN_EXTERN int sign_timestamp_bundle(size_t *out_added, sign_bundle *b, const char *const *urls, size_t nurls,
                                      const sign_tsa_options *opts);

/* What a TimeStampResp says (from sign_timestamp_parse or sign_timestamp_verify). */
typedef struct sign_timestamp_info {
    int64_t gen_time;    /* genTime, seconds since the epoch */
    char tsa[512];       /* subject of the signing certificate (RFC 2253), "" when the token carries none */
    char policy[128];    /* TSA policy, dotted OID */
    char serial[132];    /* serial number, hex */
    char hash[16];       /* message imprint algorithm: "sha256", "sha384", "sha512" or the OID */
    char authority[128]; /* sign_timestamp_verify: name of the trusted authority that vouched for it */
} sign_timestamp_info;

/*
 * Parse a DER TimeStampResp (granted, with a token) WITHOUT verifying it:
 * for display. SIGN_EPARSE when it is not one.
 */
SIGN_EXTERN int sign_timestamp_parse(sign_timestamp_info *out, const unsigned char *der, size_t len);

/* Trusted TSA roots: a set of named authorities (a policy's timestamp_authorities). */
typedef struct sign_tsa_roots sign_tsa_roots;

SIGN_EXTERN int sign_tsa_roots_new(sign_tsa_roots **out);
/*
 * Add every certificate of pem[0..len) (PEM, or one DER certificate) as the
 * trusted roots of the authority called name, with the defaults of
 * sign_tsa_authority (no CRLs, any policy, max_accuracy 60 s).
 */
SIGN_EXTERN int sign_tsa_roots_add_pem(sign_tsa_roots *roots, const char *name, const void *pem, size_t len);

/* One time-stamp authority: what a policy's timestamp_authorities[] entry says. */
typedef struct sign_tsa_authority {
    unsigned int version;
    const sign_x509_certs *roots; /* its trusted roots (required; shared, not taken over) */
    const sign_x509_crls *crls;   /* CRLs for the TSA certificates and their intermediates, or NULL: not checked */
    const char *const *policies;  /* accepted TSA policy OIDs (dotted), or none: any policy */
    size_t npolicies;
    int64_t max_accuracy; /* largest accuracy accepted, seconds; 0: 60 */
    /* version 2: */
    const sign_x509_certs *intermediates; /* untrusted intermediates and TSA certificates, or NULL */
    /* version 3: */
    int has_window;      /* nonzero: the authority vouches only for a genTime inside the window */
    int64_t valid_from;  /* seconds since the epoch, inclusive */
    int64_t valid_until; /* seconds since the epoch, inclusive; ignored when has_until is 0 */
    int has_until;       /* 0: the window has no end */
} sign_tsa_authority;

/*
 * Version 2 adds intermediates. Of roots only the self-signed certificates
 * are trust anchors; the others (an intermediate, the TSA's own certificate)
 * join intermediates. Both supply the TSA certificate of a token that does
 * not carry it (certReq false, the default of Sigstore's TSA clients).
 */
/*
 * Version 3 adds a window (a Sigstore trusted root's validFor): genTime must
 * lie inside it (ends inclusive), or the token is SIGN_TS_OUTSIDE_TSA_VALIDITY.
 * Another authority whose window holds may vouch for the same chain instead.
 * (genTime +- accuracy is judged whole against the TSA certificate's validity.)
 */
#define SIGN_TSA_AUTHORITY_VERSION 3
#define SIGN_TSA_AUTHORITY_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_TSA_AUTHORITY_VERSION)
/* Default of sign_tsa_authority.max_accuracy, seconds. */
#define SIGN_TSA_MAX_ACCURACY 60

/* Add an authority (its certificates and CRLs are shared, the policies copied). */
SIGN_EXTERN int sign_tsa_roots_add_authority(sign_tsa_roots *roots, const char *name, const sign_tsa_authority *a);
SIGN_EXTERN size_t sign_tsa_roots_count(const sign_tsa_roots *roots);
SIGN_EXTERN void sign_tsa_roots_free(sign_tsa_roots *roots);

/* Why a timestamp did not verify. */
typedef enum {
    SIGN_TS_OK = 0,
    SIGN_TS_INVALID = 1,          /* malformed, not granted, tampered, bad signature, ESS binding, weak algorithm */
    SIGN_TS_UNTRUSTED = 2,        /* the TSA certificate does not chain to a trusted root */
    SIGN_TS_EKU_MISSING = 3,      /* the TSA certificate lacks the critical timeStamping EKU (alone) */
    SIGN_TS_IMPRINT_MISMATCH = 4, /* the token stamps other bytes than the signature */
    SIGN_TS_OUTSIDE_TSA_VALIDITY =
        5, /* genTime (+- accuracy) is outside the TSA certificate's validity or the authority's window */
    SIGN_TS_MALFORMED = 6,          /* not strict DER (BER re-encoding, indefinite lengths), or unreadable */
    SIGN_TS_ACCURACY_TOO_LARGE = 7, /* the token's accuracy exceeds the authority's max_accuracy */
    SIGN_TS_POLICY_NOT_ALLOWED = 8, /* the token's TSA policy OID is not one the authority pins */
    SIGN_TS_REVOKED = 9             /* the TSA certificate (or its chain) is revoked by the authority's CRLs */
} sign_timestamp_failure;

/*
 * Verify a DER TimeStampResp over data (the signature bytes): strictly DER,
 * granted, one signer whose certificate travels in the token, its
 * signature valid, that certificate bound by the ESS
 * signing-certificate(-v2) attribute, carrying the critical timeStamping EKU
 * and no other, valid over genTime +- accuracy, chaining to one of the
 * authorities' roots (intermediates from the token) by sign_x509_verify
 * with the timeStamping EKU and the authority's CRLs, the accuracy within
 * the authority's max_accuracy, its policy OID one the authority pins, and
 * the message imprint (SHA-256, SHA-384 or SHA-512; others refused) equal
 * to the digest of data. Returns 0 and fills *out (may be NULL), or a SIGN_E* class
 * (SIGN_EBADSIG, SIGN_EUNTRUSTED, SIGN_EEXPIRED) with *why saying which check
 * failed (why may be NULL) and a message.
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_timestamp_verify(sign_timestamp_info *out, sign_timestamp_failure *why,
                                                       const unsigned char *der, size_t len,
                                                       const unsigned char *data, size_t datalen,
                                                       const sign_tsa_roots *roots);

/* "INVALID", "UNTRUSTED", ... : the verify reason code without "TIMESTAMP_". */
SIGN_EXTERN const char *sign_timestamp_failure_name(sign_timestamp_failure f);

#ifdef __cplusplus
}
#endif
#endif
