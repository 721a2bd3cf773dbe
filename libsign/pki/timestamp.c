/* RFC 3161 timestamps: request over HTTP(S) with libsign's HTTP client (net/http.c), answer checks, token
 * verification. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sign/bundle.h"
#include "sign/digest.h"
#include "sign/encoding.h"
#include "sign/envelope.h"
#include "sign/timestamp.h"
#include "pki.h"
#include "http.h"

#define TSA_DEFAULT_TIMEOUT 10
#define TSA_DEFAULT_MAX_RESPONSE (256u * 1024)
/* Largest TimeStampResp accepted by the verifier and the parser. */
#define TS_MAX_DER (1024u * 1024)

/* One trusted authority: its roots and revocation lists in the x509 engine's types, and its limits. */
typedef struct tsa_auth {
    char *name;
    sign_x509_certs *roots;         /* self-signed trust anchors */
    sign_x509_certs *intermediates; /* untrusted: intermediates and TSA certificates */
    sign_x509_crls *crls;           /* or NULL */
    char **policies;                /* dotted OIDs, or NULL: any */
    size_t npolicies;
    int64_t max_accuracy; /* seconds */
    int has_window;       /* sign_tsa_authority version 3 */
    int64_t valid_from, valid_until;
    int has_until;
} tsa_auth;

struct sign_tsa_roots {
    tsa_auth *auth;
    size_t n;
};

/* ---- small helpers ------------------------------------------------------ */

static void copy_text(char *out, size_t size, const char *s)
{
    snprintf(out, size, "%s", s != NULL ? s : "");
}

static const EVP_MD *imprint_md(int nid)
{
    switch (nid) {
    case NID_sha256: return EVP_sha256();
    case NID_sha384: return EVP_sha384();
    case NID_sha512: return EVP_sha512();
    default: return NULL;
    }
}

/* The certificate's subject (RFC 2253) into out. SIGN_ENOMEM when it cannot be printed. */
static int subject_text(char *out, size_t size, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    int r = SIGN_ENOMEM;

    out[0] = '\0';
    if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0 &&
        (n = BIO_get_mem_data(b, &p)) >= 0) {
        snprintf(out, size, "%.*s", (int)(n < (long)size ? n : (long)size - 1), p != NULL ? p : "");
        r = 0;
    }
    BIO_free(b);
    ERR_clear_error();
    return r != 0 ? sign__error(r, "out of memory") : 0;
}

/* genTime, policy, serial, imprint algorithm of a token. SIGN_ENOMEM when one cannot be rendered. */
static int tst_info_fill(sign_timestamp_info *out, TS_TST_INFO *tst)
{
    const ASN1_INTEGER *serial = TS_TST_INFO_get_serial(tst);
    ASN1_OBJECT *pol = TS_TST_INFO_get_policy_id(tst);
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
    X509_ALGOR *alg = mi != NULL ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
    const ASN1_OBJECT *aobj = NULL;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    int r = SIGN_ENOMEM;

    (void)sign__asn1_time_epoch(&out->gen_time, TS_TST_INFO_get_time(tst)); /* 0 when unreadable: checked later */
    if (pol != NULL && OBJ_obj2txt(out->policy, (int)sizeof(out->policy), pol, 1) <= 0) {
        goto out;
    }
    if (serial != NULL) {
        if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL) {
            goto out;
        }
        copy_text(out->serial, sizeof(out->serial), hex);
    }
    if (alg != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, alg);
        if (aobj != NULL) {
            int nid = OBJ_obj2nid(aobj);

            if (imprint_md(nid) != NULL) {
                copy_text(out->hash, sizeof(out->hash), OBJ_nid2sn(nid));
                for (char *c = out->hash; *c != '\0'; c++) {
                    *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                }
            } else if (OBJ_obj2txt(out->hash, (int)sizeof(out->hash), aobj, 1) <= 0) {
                goto out;
            }
        }
    }
    r = 0;
out:
    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
    return r != 0 ? sign__error(r, "out of memory reading the timestamp") : 0;
}

/* 1 when OpenSSL's queue holds an allocation failure (anywhere: it is often not the last entry); empties it. */
static int ossl_oom(void)
{
    return sign__ossl_oom();
}

/*
 * The token must be DER, as RFC 3161 requires: the bytes verified are then
 * the only encoding of what they say. OpenSSL reads BER (indefinite
 * lengths, long-form lengths) and re-encodes what it verifies, so a token
 * re-encoded by anyone would otherwise pass. Three checks: the whole
 * response is strict DER (x509.c's TLV walk), it re-encodes to the same
 * bytes, and so does the TSTInfo inside its OCTET STRING (which the walk
 * does not enter). Returns 1, or 0 with *why.
 */
static int resp_is_der(TS_RESP *resp, const unsigned char *der, size_t len, const char **why)
{
    unsigned char *re = NULL;
    int n, ok;
    PKCS7 *token = TS_RESP_get_token(resp);
    TS_TST_INFO *tst = TS_RESP_get_tst_info(resp);

    if (!sign__der_strict(der, len, why)) {
        return 0;
    }
    n = i2d_TS_RESP(resp, &re);
    ok = n > 0 && (size_t)n == len && memcmp(re, der, len) == 0;
    OPENSSL_free(re);
    re = NULL;
    if (!ok) {
        *why = "it does not re-encode to the same bytes";
        return 0;
    }
    if (token != NULL && tst != NULL && PKCS7_type_is_signed(token) && token->d.sign->contents != NULL &&
        token->d.sign->contents->d.other != NULL && token->d.sign->contents->d.other->type == V_ASN1_OCTET_STRING) {
        const ASN1_OCTET_STRING *os = token->d.sign->contents->d.other->value.octet_string;

        n = i2d_TS_TST_INFO(tst, &re);
        ok = n > 0 && n == ASN1_STRING_length(os) && memcmp(re, ASN1_STRING_get0_data(os), (size_t)n) == 0 &&
             sign__der_strict(ASN1_STRING_get0_data(os), (size_t)n, why);
        OPENSSL_free(re);
        if (!ok) {
            *why = "its TSTInfo is not DER";
            return 0;
        }
    }
    return 1;
}

/*
 * OpenSSL keeps a certificate whose public key it could not decode, also when an allocation failed while decoding
 * it, and never retries: the token's signature then "does not verify". A token certificate without its key for
 * lack of memory is out of memory; one with an unsupported key stays (it signs nothing signet accepts).
 */
static int token_keys(TS_RESP *resp)
{
    PKCS7 *p7 = TS_RESP_get_token(resp);
    STACK_OF(X509) *certs = p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign != NULL ? p7->d.sign->cert : NULL;

    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);

        if (X509_get0_pubkey(x) == NULL && sign__x509_pubkey_why(x) == SIGN_ENOMEM) {
            return sign__oom();
        }
    }
    ERR_clear_error();
    return 0;
}

static int parse_resp(TS_RESP **out, const unsigned char *der, size_t len, int *not_der)
{
    const unsigned char *p = der;
    const char *why = "";
    TS_RESP *resp;

    *out = NULL;
    if (der == NULL || len == 0 || len > TS_MAX_DER) {
        return sign__error(SIGN_EPARSE, "empty or oversized TimeStampResp (%zu bytes)", len);
    }
    resp = d2i_TS_RESP(NULL, &p, (long)len);
    if (resp == NULL) {
        return sign__ossl_error(SIGN_EPARSE, "not a DER TimeStampResp"); /* SIGN_ENOMEM when OpenSSL says so */
    }
    if (p != der + len) {
        TS_RESP_free(resp);
        return sign__error(SIGN_EPARSE, "trailing data after the TimeStampResp");
    }
    if (!resp_is_der(resp, der, len, &why)) {
        TS_RESP_free(resp);
        if (sign__ossl_oom()) {
            return sign__oom(); /* re-encoding it ran out of memory: not a verdict on its encoding */
        }
        if (not_der != NULL) {
            *not_der = 1;
        }
        return sign__error(SIGN_EPARSE, "the TimeStampResp is not DER: %s", why);
    }
    if (token_keys(resp) != 0) {
        TS_RESP_free(resp);
        return SIGN_ENOMEM;
    }
    *out = resp;
    return 0;
}

static long resp_status(TS_RESP *resp)
{
    TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
    const ASN1_INTEGER *st = si != NULL ? TS_STATUS_INFO_get0_status(si) : NULL;

    return st != NULL ? ASN1_INTEGER_get(st) : -1;
}

/* ---- parse (unverified) ----------------------------------------------- */

int sign_timestamp_parse(sign_timestamp_info *out, const unsigned char *der, size_t len)
{
    TS_RESP *resp = NULL;
    TS_TST_INFO *tst;
    PKCS7 *token;
    STACK_OF(X509) *signers = NULL;
    long st;
    int r;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_timestamp_parse: no output");
    }
    memset(out, 0, sizeof(*out));
    if ((r = parse_resp(&resp, der, len, NULL)) != 0) {
        return r;
    }
    st = resp_status(resp);
    tst = TS_RESP_get_tst_info(resp);
    token = TS_RESP_get_token(resp);
    if ((st != 0 && st != 1) || tst == NULL || token == NULL) {
        r = sign__error(SIGN_EPARSE, "the TimeStampResp is not granted (status %ld) or carries no token", st);
        goto out;
    }
    if ((r = tst_info_fill(out, tst)) != 0) {
        goto out;
    }
    if (PKCS7_type_is_signed(token)) {
        signers = PKCS7_get0_signers(token, NULL, 0);
        if (signers == NULL && ossl_oom()) {
            r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        if (signers != NULL && sk_X509_num(signers) == 1 &&
            (r = subject_text(out->tsa, sizeof(out->tsa), sk_X509_value(signers, 0))) != 0) {
            goto out;
        }
    }
    ERR_clear_error();
    r = 0;
out:
    sk_X509_free(signers);
    TS_RESP_free(resp);
    return r;
}

/* ---- trusted roots ----------------------------------------------------- */

int sign_tsa_roots_new(sign_tsa_roots **out)
{
    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_tsa_roots_new: no output");
    }
    if ((*out = calloc(1, sizeof(**out))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

static void auth_clear(tsa_auth *a)
{
    free(a->name);
    sign_x509_certs_free(a->roots);
    sign_x509_certs_free(a->intermediates);
    sign_x509_crls_free(a->crls);
    for (size_t i = 0; i < a->npolicies; i++) {
        free(a->policies[i]);
    }
    free(a->policies);
    memset(a, 0, sizeof(*a));
}

void sign_tsa_roots_free(sign_tsa_roots *roots)
{
    if (roots == NULL) {
        return;
    }
    for (size_t i = 0; i < roots->n; i++) {
        auth_clear(&roots->auth[i]);
    }
    free(roots->auth);
    free(roots);
}

size_t sign_tsa_roots_count(const sign_tsa_roots *roots)
{
    return roots != NULL ? roots->n : 0;
}

/*
 * Whether x is a root: its subject names its issuer. Neither its signature nor its key identifiers are checked (both
 * make OpenSSL allocate, and a failed allocation there read as "not self-signed" would pass a root off as an
 * intermediate and leave its authority without a trust anchor): the policy lists it, and a listed anchor is trusted
 * as listed, as OpenSSL trusts an anchor without checking its own signature.
 */
static int self_issued(X509 *x)
{
    return X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
}

/*
 * The authority's certificates: the self-issued ones of certs are its roots,
 * the others join the intermediates given (a chain as Sigstore's trusted root
 * lists it, TSA certificate first, splits into both).
 */
static int split_certificates(tsa_auth *one, const sign_x509_certs *certs, const sign_x509_certs *inter)
{
    int r;

    if ((r = sign_x509_certs_new(&one->roots)) != 0 || (r = sign_x509_certs_new(&one->intermediates)) != 0) {
        return r;
    }
    for (size_t pass = 0; pass < 2; pass++) {
        const sign_x509_certs *src = pass == 0 ? certs : inter;

        for (size_t i = 0; i < sign_x509_certs_count(src); i++) {
            X509 *x = sign__x509_cert_at(src, i);

            if ((r = sign__x509_certs_push_ref(pass == 0 && self_issued(x) ? one->roots : one->intermediates, x)) !=
                0) {
                return r;
            }
        }
    }
    return 0;
}

int sign_tsa_roots_add_authority(sign_tsa_roots *roots, const char *name, const sign_tsa_authority *a)
{
    tsa_auth one, *grown;
    int r = SIGN_ENOMEM;

    if (roots == NULL || name == NULL || a == NULL || a->version < 1 || a->version > SIGN_TSA_AUTHORITY_VERSION ||
        a->roots == NULL || sign_x509_certs_count(a->roots) == 0 || (a->npolicies > 0 && a->policies == NULL) ||
        a->max_accuracy < 0 || (a->version >= 3 && a->has_window && a->has_until && a->valid_until < a->valid_from)) {
        return sign__error(SIGN_EINVAL, "sign_tsa_roots_add_authority: missing or invalid argument");
    }
    memset(&one, 0, sizeof(one));
    one.max_accuracy = a->max_accuracy > 0 ? a->max_accuracy : SIGN_TSA_MAX_ACCURACY;
    if (a->version >= 3 && a->has_window) {
        one.has_window = 1;
        one.valid_from = a->valid_from;
        one.valid_until = a->valid_until;
        one.has_until = a->has_until != 0;
    }
    if ((one.name = sign__strdup(name)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = split_certificates(&one, a->roots, a->version >= 2 ? a->intermediates : NULL)) != 0 ||
        (a->crls != NULL && (r = sign__x509_crls_dup(&one.crls, a->crls)) != 0)) {
        goto out;
    }
    for (size_t i = 0; i < a->npolicies; i++) {
        ASN1_OBJECT *o = a->policies[i] != NULL ? OBJ_txt2obj(a->policies[i], 1) : NULL;

        ASN1_OBJECT_free(o);
        ERR_clear_error();
        if (o == NULL) {
            r = sign__error(SIGN_EINVAL, "%s: policy \"%s\" is not a dotted OID", name,
                            a->policies[i] != NULL ? a->policies[i] : "");
            goto out;
        }
    }
    if (a->npolicies > 0) {
        if ((one.policies = calloc(a->npolicies, sizeof(char *))) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        for (; one.npolicies < a->npolicies; one.npolicies++) {
            if ((one.policies[one.npolicies] = sign__strdup(a->policies[one.npolicies])) == NULL) {
                r = sign__oom();
                goto out;
            }
        }
    }
    if ((grown = realloc(roots->auth, (roots->n + 1) * sizeof(*grown))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    roots->auth = grown;
    roots->auth[roots->n++] = one;
    memset(&one, 0, sizeof(one)); /* transferred */
    r = 0;
out:
    auth_clear(&one);
    return r;
}

int sign_tsa_roots_add_pem(sign_tsa_roots *roots, const char *name, const void *pem, size_t len)
{
    sign_tsa_authority a = SIGN_TSA_AUTHORITY_INIT;
    sign_x509_certs *certs = NULL;
    int r;

    if (roots == NULL || name == NULL || pem == NULL) {
        return sign__error(SIGN_EINVAL, "sign_tsa_roots_add_pem: missing argument");
    }
    /* The x509 engine reads them: the same DER rules, key checks and limits as any policy root. */
    if ((r = sign_x509_certs_parse(&certs, pem, len, name)) != 0) {
        return r;
    }
    a.roots = certs;
    r = sign_tsa_roots_add_authority(roots, name, &a);
    sign_x509_certs_free(certs);
    return r;
}

/* ---- verification ------------------------------------------------------ */

const char *sign_timestamp_failure_name(sign_timestamp_failure f)
{
    switch (f) {
    case SIGN_TS_OK: return "OK";
    case SIGN_TS_INVALID: return "INVALID";
    case SIGN_TS_UNTRUSTED: return "UNTRUSTED";
    case SIGN_TS_EKU_MISSING: return "EKU_MISSING";
    case SIGN_TS_IMPRINT_MISMATCH: return "IMPRINT_MISMATCH";
    case SIGN_TS_OUTSIDE_TSA_VALIDITY: return "OUTSIDE_TSA_VALIDITY";
    case SIGN_TS_MALFORMED: return "MALFORMED";
    case SIGN_TS_ACCURACY_TOO_LARGE: return "ACCURACY_TOO_LARGE";
    case SIGN_TS_POLICY_NOT_ALLOWED: return "POLICY_NOT_ALLOWED";
    case SIGN_TS_REVOKED: return "REVOKED";
    default: return "UNKNOWN";
    }
}

/* The certificate's EKU: present, critical, exactly timeStamping. */
static int eku_ok(X509 *x)
{
    int loc = X509_get_ext_by_NID(x, NID_ext_key_usage, -1), crit = 0, ok;
    EXTENDED_KEY_USAGE *eku;

    if (loc < 0 || X509_get_ext_by_NID(x, NID_ext_key_usage, loc) >= 0 ||
        !X509_EXTENSION_get_critical(X509_get_ext(x, loc))) {
        return 0;
    }
    /* Decoded twice when the first fails: an allocation failing inside looks like a malformed extension. */
    if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL)) == NULL) {
        ERR_clear_error();
        eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
    }
    ok = eku != NULL && sk_ASN1_OBJECT_num(eku) == 1 && OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
    EXTENDED_KEY_USAGE_free(eku);
    ERR_clear_error();
    return ok;
}

static int fail(sign_timestamp_failure *why, sign_timestamp_failure f, int code, const char *fmt, ...)
    SIGN_PRINTF(4, 5);

static int fail(sign_timestamp_failure *why, sign_timestamp_failure f, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (why != NULL) {
        *why = f;
    }
    if (ossl_oom()) {
        /* OpenSSL ran out of memory on the way: not a verdict on the timestamp. */
        ERR_clear_error();
        return sign__error(SIGN_ENOMEM, "out of memory while checking the timestamp");
    }
    ERR_clear_error();
    return sign__error(code, "%s", msg);
}

/* The token's accuracy in whole seconds, rounded up (absent: 0, the token is taken at genTime). */
static int64_t token_accuracy(TS_TST_INFO *tst)
{
    const TS_ACCURACY *a = TS_TST_INFO_get_accuracy(tst);
    const ASN1_INTEGER *sec, *ms, *us;
    int64_t v = 0;
    long sub = 0;

    if (a == NULL) {
        return 0;
    }
    sec = TS_ACCURACY_get_seconds(a);
    ms = TS_ACCURACY_get_millis(a);
    us = TS_ACCURACY_get_micros(a);
    if (sec != NULL && ASN1_INTEGER_get_int64(&v, sec) != 1) {
        v = INT64_MAX / 4; /* unreadable or absurd: larger than any limit */
    }
    if (v < 0) {
        v = INT64_MAX / 4;
    }
    sub = (ms != NULL ? ASN1_INTEGER_get(ms) : 0) | (us != NULL ? ASN1_INTEGER_get(us) : 0);
    ERR_clear_error();
    return v + (sub != 0 ? 1 : 0);
}

/* What a verification carries from one step to the next. */
typedef struct ts_ctx {
    sign_timestamp_info info;
    sign_timestamp_failure *why;
    TS_RESP *resp;
    TS_TST_INFO *tst;
    PKCS7 *token;
    STACK_OF(X509) * signers;
    STACK_OF(X509) * known; /* the authorities' intermediates and TSA certificates (not up-referenced) */
    X509 *signer;
    int64_t accuracy;
    const tsa_auth *auth; /* the authority the chain was built to */
} ts_ctx;

/* Every authority's intermediates and TSA certificates, where a token without certificates finds its signer's. */
static int known_certs(ts_ctx *t, const sign_tsa_roots *roots)
{
    if ((t->known = sk_X509_new_null()) == NULL) {
        return sign__ossl_error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < roots->n; i++) {
        const sign_x509_certs *c = roots->auth[i].intermediates;

        for (size_t j = 0; j < sign_x509_certs_count(c); j++) {
            if (sk_X509_push(t->known, sign__x509_cert_at(c, j)) <= 0) {
                return sign__ossl_error(SIGN_ENOMEM, "out of memory");
            }
        }
    }
    return 0;
}

/*
 * 1. The token itself: DER, granted, version 1, one signer whose certificate it carries or an authority lists, a
 * strong digest, the signature.
 */
static int token_checks(ts_ctx *t, const unsigned char *der, size_t len, const sign_tsa_roots *roots)
{
    X509_ALGOR *dig = NULL, *salg = NULL;
    const ASN1_OBJECT *aobj = NULL;
    int r, nid, not_der = 0, ok;
    int64_t gen = 0;

    if ((r = parse_resp(&t->resp, der, len, &not_der)) != 0) {
        return r == SIGN_ENOMEM ? r
                                : fail(t->why, not_der ? SIGN_TS_MALFORMED : SIGN_TS_INVALID, SIGN_EBADSIG,
                                       "the timestamp is malformed: %s", sign_error_last());
    }
    t->tst = TS_RESP_get_tst_info(t->resp);
    t->token = TS_RESP_get_token(t->resp);
    if ((resp_status(t->resp) != 0 && resp_status(t->resp) != 1) || t->tst == NULL || t->token == NULL) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG,
                    "the timestamp is not a granted TimeStampResp with a token");
    }
    if ((r = tst_info_fill(&t->info, t->tst)) != 0) {
        return r;
    }
    if (TS_TST_INFO_get_version(t->tst) != 1 || !PKCS7_type_is_signed(t->token)) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp token is not a version 1 signed TSTInfo");
    }
    if (sign__asn1_time_epoch(&gen, TS_TST_INFO_get_time(t->tst)) != 0) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp's genTime cannot be read");
    }
    if (PKCS7_get_signer_info(t->token) == NULL || sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(t->token)) != 1) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp token must carry exactly one signature");
    }
    PKCS7_SIGNER_INFO_get0_algs(sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(t->token), 0), NULL, &dig, &salg);
    if (dig != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, dig);
    }
    nid = aobj != NULL ? OBJ_obj2nid(aobj) : NID_undef;
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        return fail(
            t->why, SIGN_TS_INVALID, SIGN_EBADSIG,
            "the timestamp token is signed with a weak or unknown digest (%s); only SHA-256/384/512 are accepted",
            nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
    }
    if ((r = known_certs(t, roots)) != 0) {
        return r;
    }
    /* The authorities' certificates first: the token's own are only looked at for one they do not list. */
    t->signers = PKCS7_get0_signers(t->token, t->known, 0);
    if (t->signers == NULL && ossl_oom()) {
        return sign__ossl_error(SIGN_ENOMEM, "out of memory");
    }
    if (t->signers == NULL || sk_X509_num(t->signers) != 1) {
        return fail(t->why, SIGN_TS_UNTRUSTED, SIGN_EUNTRUSTED,
                    "the timestamp token does not carry its signer's certificate, and no timestamp authority lists "
                    "it; add the TSA's certificate to the authority's certificates or intermediates (or request "
                    "it with certReq)");
    }
    t->signer = sk_X509_value(t->signers, 0);
    if ((r = subject_text(t->info.tsa, sizeof(t->info.tsa), t->signer)) != 0) {
        return r;
    }
    /* The signature over the signed attributes and the TSTInfo, without any chain yet. */
    /* OpenSSL 3.0 often queues nothing when an allocation fails inside the signature check: a token whose
       signature fails is checked once more (a forged one fails again; fail() still looks at the queue) */
    ok = 0;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        ok = PKCS7_verify(t->token, t->known, NULL, NULL, NULL, PKCS7_NOVERIFY | PKCS7_NOCHAIN) == 1;
    }
    if (!ok) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG,
                    "the timestamp token's signature does not verify: it was altered (TSA %s)", t->info.tsa);
    }
    if (!eku_ok(t->signer)) {
        return fail(t->why, SIGN_TS_EKU_MISSING, SIGN_EUNTRUSTED,
                    "the timestamp's TSA certificate (%s) lacks a critical extended key usage of timeStamping only",
                    t->info.tsa);
    }
    return 0;
}

/* 2. genTime +- accuracy inside the TSA certificate's validity: the whole interval, not only genTime. */
static int validity_checks(ts_ctx *t)
{
    int64_t nb, na, lo = t->info.gen_time - t->accuracy, hi = t->info.gen_time + t->accuracy;
    int ok1, ok2;

    ok1 = sign__asn1_time_epoch(&nb, X509_get0_notBefore(t->signer)) == 0;
    ok2 = sign__asn1_time_epoch(&na, X509_get0_notAfter(t->signer)) == 0;
    if (!ok1 || !ok2 || lo < nb || hi > na) {
        char g[32] = "?", b[32] = "?", a[32] = "?";

        sign_format_time(g, sizeof(g), t->info.gen_time);
        sign_format_time(b, sizeof(b), nb);
        sign_format_time(a, sizeof(a), na);
        return fail(t->why, SIGN_TS_OUTSIDE_TSA_VALIDITY, SIGN_EEXPIRED,
                    "the timestamp's genTime %s (accuracy +-%lld s) lies outside its TSA certificate's validity (%s "
                    "to %s; %s)",
                    g, (long long)t->accuracy, b, a, t->info.tsa);
    }
    return 0;
}

static int chain_not_built(const char *reason)
{
    return strcmp(reason, "ROOT_UNKNOWN") == 0 || strcmp(reason, "CHAIN_INCOMPLETE") == 0 ||
           strcmp(reason, "CHAIN_INVALID") == 0;
}

/* The failure a sign_x509_verify reason is for a TSA. */
static sign_timestamp_failure chain_failure(const char *reason)
{
    if (strcmp(reason, "CERT_EXPIRED") == 0 || strcmp(reason, "CERT_NOT_YET_VALID") == 0) {
        return SIGN_TS_OUTSIDE_TSA_VALIDITY;
    }
    if (strcmp(reason, "CERT_REVOKED") == 0 || strncmp(reason, "CRL_", 4) == 0) {
        return SIGN_TS_REVOKED;
    }
    return SIGN_TS_UNTRUSTED;
}

/*
 * Whether the authority's window (version 3) holds genTime; inclusive ends. genTime itself, not genTime +- accuracy:
 * a trusted root's validFor bounds the times the authority stamped (sigstore-conformance's
 * trust-root-tsa-validity-end-inclusive: a window ending at genTime of a +-1 s token holds). The accuracy interval
 * is still judged whole against the TSA certificate's validity.
 */
static int window_holds(const tsa_auth *a, int64_t gen)
{
    if (!a->has_window) {
        return 1;
    }
    return gen >= a->valid_from && (!a->has_until || gen <= a->valid_until);
}

/* The failure of a chain that builds only under authorities whose window does not hold genTime. */
static int window_failure(ts_ctx *t, const tsa_auth *a)
{
    char g[32] = "?", b[32] = "?", e[32] = "open";

    sign_format_time(g, sizeof(g), t->info.gen_time);
    sign_format_time(b, sizeof(b), a->valid_from);
    if (a->has_until) {
        sign_format_time(e, sizeof(e), a->valid_until);
    }
    return fail(t->why, SIGN_TS_OUTSIDE_TSA_VALIDITY, SIGN_EEXPIRED,
                "the timestamp's genTime %s lies outside the validity window (validFor) of authority \"%s\" (%s to "
                "%s; %s)",
                g, a->name, b, e, t->info.tsa);
}

/* One authority's verdict on the chain, over the whole interval genTime +- accuracy. */
static int chain_under(sign_x509_result *res, const sign_x509_certs *chain, const tsa_auth *a, int64_t gen,
                       int64_t acc, int64_t now)
{
    sign_x509_trust tr = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    int64_t hi = gen + acc, lo = gen - acc;
    int r;

    if (sign_x509_certs_count(a->roots) == 0) {
        /* Only a TSA certificate or intermediates were listed: nothing to chain to. */
        memset(res, 0, sizeof(*res));
        res->reason = "ROOT_UNKNOWN";
        res->code = SIGN_EUNTRUSTED;
        snprintf(res->message, sizeof(res->message),
                 "authority \"%s\" lists no self-signed root certificate (the TSA's certificate and intermediates "
                 "are not trust anchors)",
                 a->name);
        return SIGN_EUNTRUSTED;
    }
    tr.roots = a->roots;
    tr.intermediates = a->intermediates;
    tr.crls = a->crls;
    tr.eku = "timeStamping";
    o.at = now;
    /* The latest possible time first: validity ends and revocations count from there. */
    o.signing_time = &hi;
    r = sign_x509_verify(res, chain, &tr, &o);
    if (r == 0 && acc > 0) {
        o.signing_time = &lo;
        r = sign_x509_verify(res, chain, &tr, &o);
    }
    return r;
}

/*
 * 3. The chain, by the x509 engine (libsign/pki/x509.c): the TSA certificate first, the token's other
 * certificates as untrusted helpers, each authority's roots and CRLs in turn, the timeStamping EKU. The first
 * authority the chain builds to decides.
 */
static int chain_checks(ts_ctx *t, const sign_tsa_roots *roots, int64_t now)
{
    STACK_OF(X509) *certs = NULL;
    sign_x509_certs *chain = NULL;
    sign_x509_result res, first;
    const tsa_auth *outside = NULL; /* the first authority the chain builds to, outside its window */
    int r, have_first = 0;

    if (t->token == NULL || !PKCS7_type_is_signed(t->token) || t->token->d.sign == NULL) {
        return fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp token is not a signed structure");
    }
    certs = t->token->d.sign->cert;

    if ((r = sign_x509_certs_new(&chain)) != 0 || (r = sign__x509_certs_push_ref(chain, t->signer)) != 0) {
        goto out;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        if (X509_cmp(sk_X509_value(certs, i), t->signer) != 0 &&
            (r = sign__x509_certs_push_ref(chain, sk_X509_value(certs, i))) != 0) {
            goto out;
        }
    }
    memset(&first, 0, sizeof(first));
    for (size_t i = 0; i < roots->n; i++) {
        r = chain_under(&res, chain, &roots->auth[i], t->info.gen_time, t->accuracy, now);
        if (r != 0 && strcmp(res.reason, "ERROR") == 0) {
            goto out;
        }
        if (!have_first) {
            first = res;
            have_first = 1;
        }
        if (r == 0 && !window_holds(&roots->auth[i], t->info.gen_time)) {
            /* Vouched for, but not at that time: another authority (a rotated window) may hold it. */
            if (outside == NULL) {
                outside = &roots->auth[i];
            }
            continue;
        }
        if (r == 0 || !chain_not_built(res.reason)) {
            t->auth = &roots->auth[i];
            break;
        }
    }
    if (t->auth == NULL && outside != NULL) {
        r = window_failure(t, outside);
    } else if (t->auth == NULL) {
        r = fail(t->why, SIGN_TS_UNTRUSTED, SIGN_EUNTRUSTED,
                 "the timestamp's TSA (%s) is not trusted: %s; add its root to the policy's timestamp_authorities",
                 t->info.tsa, first.message);
    } else if (res.code != 0) {
        r = fail(t->why, chain_failure(res.reason), res.code, "the timestamp's TSA (%s), under authority \"%s\": %s",
                 t->info.tsa, t->auth->name, res.message);
    } else {
        copy_text(t->info.authority, sizeof(t->info.authority), t->auth->name);
        r = 0;
    }
out:
    sign_x509_certs_free(chain);
    return r;
}

/* 4. What the chosen authority pins: its policy OIDs and the largest accuracy. */
static int authority_limits(ts_ctx *t)
{
    const tsa_auth *a = t->auth;
    size_t i;

    if (a == NULL) { /* chain_checks chose no authority: it has failed already */
        return sign__error(SIGN_EINVAL, "timestamp: no authority was chosen");
    }
    if (t->accuracy > a->max_accuracy) {
        return fail(t->why, SIGN_TS_ACCURACY_TOO_LARGE, SIGN_EPOLICY,
                    "the timestamp's accuracy is +-%lld s, more than the %lld s that authority \"%s\" accepts "
                    "(timestamp_authorities[].max_accuracy): it does not say when the signature was made",
                    (long long)t->accuracy, (long long)a->max_accuracy, a->name);
    }
    for (i = 0; i < a->npolicies; i++) {
        if (strcmp(a->policies[i], t->info.policy) == 0) {
            break;
        }
    }
    if (a->npolicies > 0 && i == a->npolicies) {
        return fail(t->why, SIGN_TS_POLICY_NOT_ALLOWED, SIGN_EUNTRUSTED,
                    "the timestamp was issued under TSA policy %s, which authority \"%s\" does not accept "
                    "(timestamp_authorities[].policies)",
                    t->info.policy[0] != '\0' ? t->info.policy : "(none)", a->name);
    }
    return 0;
}

/* TS_RESP_verify_signature's ESS check: 1 when the token's signing-certificate attribute names t->signer. */
static int ess_binds(ts_ctx *t, STACK_OF(X509) * untrusted, X509_STORE *store, X509 **ess_signer)
{
    return TS_RESP_verify_signature(t->token, untrusted, store, ess_signer) == 1 && *ess_signer != NULL &&
           X509_cmp(*ess_signer, t->signer) == 0;
}

/* 5. OpenSSL's ESS check (the signing-certificate(-v2) attribute binds the TSA certificate), and the imprint. */
static int binding_checks(ts_ctx *t, const unsigned char *data, size_t datalen)
{
    X509_STORE *store = NULL;
    X509 *ess_signer = NULL;
    STACK_OF(X509) *untrusted = NULL;
    TS_MSG_IMPRINT *mi;
    const ASN1_OBJECT *aobj = NULL;
    const ASN1_OCTET_STRING *imprint;
    const EVP_MD *md;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int r = 0, binds;

    /* The authorities' certificates, then the token's: where OpenSSL finds the signer and its chain. */
    if ((store = X509_STORE_new()) == NULL || (untrusted = sk_X509_dup(t->known)) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(t->token->d.sign->cert); i++) {
        if (sk_X509_push(untrusted, sk_X509_value(t->token->d.sign->cert, i)) <= 0) {
            r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (int i = 0; i < sk_X509_num(t->auth->roots->sk); i++) {
        if (!X509_STORE_add_cert(store, sk_X509_value(t->auth->roots->sk, i))) {
            r = sign__ossl_error(SIGN_ENOMEM, "cannot use the trusted TSA roots");
            goto out;
        }
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)t->info.gen_time);
    /* A refusal is confirmed once: OpenSSL 3.0 often queues nothing when an allocation fails inside (the
       torture's timestamp-verify); a token that does not bind its TSA fails again. */
    binds = ess_binds(t, untrusted, store, &ess_signer);
    if (!binds) {
        X509_free(ess_signer);
        ess_signer = NULL;
        ERR_clear_error();
        binds = ess_binds(t, untrusted, store, &ess_signer);
    }
    if (!binds) {
        r = fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp token's ESS signing-certificate attribute does not bind its TSA certificate (%s)",
                 t->info.tsa);
        goto out;
    }
    mi = TS_TST_INFO_get_msg_imprint(t->tst);
    if (mi != NULL && TS_MSG_IMPRINT_get_algo(mi) != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
    }
    md = aobj != NULL ? imprint_md(OBJ_obj2nid(aobj)) : NULL;
    if (md == NULL) {
        r = fail(t->why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp's message imprint uses %s; only SHA-256, SHA-384 and SHA-512 are accepted",
                 t->info.hash[0] != '\0' ? t->info.hash : "an unknown algorithm");
        goto out;
    }
    imprint = TS_MSG_IMPRINT_get_msg(mi);
    if (!EVP_Digest(data, datalen, digest, &dlen, md, NULL)) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory (cannot hash the signature)"); /* built-in SHA-2 */
        goto out;
    }
    if (imprint == NULL || (size_t)ASN1_STRING_length(imprint) != dlen ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(imprint), digest, dlen) != 0) {
        r = fail(t->why, SIGN_TS_IMPRINT_MISMATCH, SIGN_EBADSIG,
                 "the timestamp (TSA %s) stamps other bytes than this signature: it belongs to another signature",
                 t->info.tsa);
    }
out:
    X509_free(ess_signer);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    return r;
}

int sign__timestamp_verify_at(sign_timestamp_info *out, int64_t *accuracy, sign_timestamp_failure *why,
                              const unsigned char *der, size_t len, const unsigned char *data, size_t datalen,
                              const sign_tsa_roots *roots, int64_t now)
{
    ts_ctx t;
    int r;

    memset(&t, 0, sizeof(t));
    t.why = why;
    if (why != NULL) {
        *why = SIGN_TS_INVALID;
    }
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (accuracy != NULL) {
        *accuracy = 0;
    }
    if (der == NULL || data == NULL || roots == NULL) {
        return sign__error(SIGN_EINVAL, "sign_timestamp_verify: missing argument");
    }
    if (roots->n == 0) {
        return fail(why, SIGN_TS_UNTRUSTED, SIGN_EUNTRUSTED, "no trusted time-stamp authority is configured");
    }
    if ((r = token_checks(&t, der, len, roots)) != 0) {
        goto out;
    }
    t.accuracy = token_accuracy(t.tst);
    if ((r = validity_checks(&t)) != 0 || (r = chain_checks(&t, roots, now)) != 0 ||
        (r = authority_limits(&t)) != 0 || (r = binding_checks(&t, data, datalen)) != 0) {
        goto out;
    }
    if (why != NULL) {
        *why = SIGN_TS_OK;
    }
    if (out != NULL) {
        *out = t.info;
    }
    if (accuracy != NULL) {
        *accuracy = t.accuracy;
    }
    r = 0;
out:
    ERR_clear_error();
    sk_X509_free(t.signers);
    sk_X509_free(t.known);
    TS_RESP_free(t.resp);
    return r;
}

int sign_timestamp_verify(sign_timestamp_info *out, sign_timestamp_failure *why, const unsigned char *der, size_t len,
                          const unsigned char *data, size_t datalen, const sign_tsa_roots *roots)
{
    return sign__timestamp_verify_at(out, NULL, why, der, len, data, datalen, roots, (int64_t)time(NULL));
}

/* ---- request over HTTP -------------------------------------------------- */

/* Seconds (0: the default) as the HTTP client's milliseconds. */
static unsigned int tsa_ms(int secs)
{
    if (secs <= 0) {
        secs = TSA_DEFAULT_TIMEOUT;
    }
    return (unsigned int)secs > UINT_MAX / 1000u ? UINT_MAX / 1000u * 1000u : (unsigned int)secs * 1000u;
}

/* 1 when the media type of a Content-Type value (before any parameter) is type. */
static int media_type_is(const char *value, const char *type)
{
    size_t n = strlen(type);

    return value != NULL && strncasecmp(value, type, n) == 0 &&
           (value[n] == '\0' || value[n] == ';' || value[n] == ' ' || value[n] == '\t');
}

/*
 * POST req to the TSA with the HTTP client (net/http.c); *out the body
 * (malloc'd). The client's codes stand (ENETWORK, ETIMEOUT, EHTTP, ELIMIT,
 * EINVAL), except that an answer that is not HTTP, a redirect (never
 * followed), a Content-Type other than application/timestamp-reply and an
 * empty body are ETSA_ANSWER: the URL names no TSA.
 */
static int http_post(unsigned char **out, size_t *outlen, const char *url, const unsigned char *req, size_t reqlen,
                     const sign_tsa_options *o)
{
    static const sign__http_header accept[] = {{"Accept", "application/timestamp-reply"}};
    sign__http_options ho = {0};
    sign__http_response resp;
    char msg[1024];
    int r;

    *out = NULL;
    *outlen = 0;
    ho.what = "TSA";
    ho.connect_timeout_ms = tsa_ms(o->connect_timeout);
    ho.timeout_ms = tsa_ms(o->timeout);
    ho.max_body = o->max_response > 0 ? o->max_response : TSA_DEFAULT_MAX_RESPONSE;
    ho.content_type = "application/timestamp-query";
    ho.headers = accept;
    ho.nheaders = 1;
    r = sign__http_request(&resp, "POST", url, req, reqlen, &ho);
    snprintf(msg, sizeof(msg), "%s", sign_error_last());
    if (r == SIGN_EPARSE) {
        r = sign__error(SIGN_ETSA_ANSWER, "%s: the answer is garbage, not a timestamp reply; check the URL", msg);
    } else if (r == SIGN_EHTTP && resp.status >= 300 && resp.status < 400) {
        r = sign__error(SIGN_ETSA_ANSWER, "%s: a TSA answers with a timestamp reply; check the URL", msg);
    } else if (r == SIGN_EHTTP) {
        r = sign__error(SIGN_EHTTP, "%s: the server answered with an HTTP error", msg);
    } else if (r == 0 && !media_type_is(resp.content_type, "application/timestamp-reply")) {
        char shown[64];

        snprintf(shown, sizeof(shown), "%s", resp.content_type != NULL ? resp.content_type : "none");
        for (char *p = shown; *p != '\0'; p++) {
            if (*p < 0x20 || *p >= 0x7f) {
                *p = '?';
            }
        }
        r = sign__error(SIGN_ETSA_ANSWER,
                        "TSA %s: the answer is garbage, not a timestamp reply: Content-Type \"%s\"; check the URL",
                        url, shown);
    } else if (r == 0 && resp.body_len == 0) {
        r = sign__error(SIGN_ETSA_ANSWER, "TSA %s: the answer is empty", url);
    } else if (r == 0) {
        *out = resp.body;
        *outlen = resp.body_len;
        resp.body = NULL; /* transferred */
    }
    sign__http_response_free(&resp);
    return r;
}

static const char *status_name(long s)
{
    switch (s) {
    case 2: return "rejection";
    case 3: return "waiting";
    case 4: return "revocationWarning";
    case 5: return "revocationNotification";
    default: return "unknown status";
    }
}

/* The TSA's status text and failure bits, printable, into buf. */
static void status_text(char *buf, size_t size, TS_RESP *resp)
{
    static const struct {
        int bit;
        const char *name;
    } bits[] = {{0, "badAlg"},
                {2, "badRequest"},
                {5, "badDataFormat"},
                {14, "timeNotAvailable"},
                {15, "unacceptedPolicy"},
                {16, "unacceptedExtension"},
                {17, "addInfoNotAvailable"},
                {25, "systemFailure"}};
    TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
    const STACK_OF(ASN1_UTF8STRING) *text = si != NULL ? TS_STATUS_INFO_get0_text(si) : NULL;
    const ASN1_BIT_STRING *fi = si != NULL ? TS_STATUS_INFO_get0_failure_info(si) : NULL;
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; text != NULL && i < sk_ASN1_UTF8STRING_num(text); i++) {
        const ASN1_UTF8STRING *t = sk_ASN1_UTF8STRING_value(text, i);
        char raw[256], *safe;
        int tl = ASN1_STRING_length(t);

        snprintf(raw, sizeof(raw), "%.*s", tl < 255 ? tl : 255, (const char *)ASN1_STRING_get0_data(t));
        if ((safe = sign_text_safe(raw)) != NULL) {
            int w = snprintf(buf + used, size - used, "%s\"%s\"", used > 0 ? ", " : "", safe);

            used += w > 0 && (size_t)w < size - used ? (size_t)w : 0;
            free(safe);
        }
    }
    for (size_t i = 0; fi != NULL && i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (ASN1_BIT_STRING_get_bit(fi, bits[i].bit)) {
            int w = snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "", bits[i].name);

            used += w > 0 && (size_t)w < size - used ? (size_t)w : 0;
        }
    }
}

/* A DER TimeStampReq for the SHA-256 of data with nonce and certReq. */
static int build_request(unsigned char **out, size_t *outlen, ASN1_INTEGER **out_nonce, unsigned char *digest,
                         const unsigned char *data, size_t len, const char *policy_oid)
{
    TS_REQ *req = NULL;
    TS_MSG_IMPRINT *mi = NULL;
    X509_ALGOR *alg = NULL;
    ASN1_OBJECT *pol = NULL;
    ASN1_INTEGER *nonce = NULL;
    BIGNUM *bn = NULL;
    unsigned char rnd[8], *der = NULL;
    unsigned int dlen = 0;
    int n, r = SIGN_ENOMEM;

    *out = NULL;
    *outlen = 0;
    *out_nonce = NULL;
    if (policy_oid != NULL && (pol = OBJ_txt2obj(policy_oid, 1)) == NULL) {
        r = sign__error(SIGN_EINVAL, "TSA policy \"%s\" is not a dotted OID (like 1.2.3.4)", policy_oid);
        goto out;
    }
    if (!EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) || dlen != SIGN_SHA256_LEN) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory (cannot hash the signature)"); /* built-in SHA-2 */
        goto out;
    }
    /* A random 64-bit nonce (top bit cleared: a positive INTEGER of at most 8 bytes). */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        r = sign__ossl_error(SIGN_ECRYPTO, "no random bytes for the nonce");
        goto out;
    }
    rnd[0] = (unsigned char)((rnd[0] & 0x7f) | 0x40);
    if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL || (nonce = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        (req = TS_REQ_new()) == NULL || (mi = TS_MSG_IMPRINT_new()) == NULL || (alg = X509_ALGOR_new()) == NULL ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) || !TS_MSG_IMPRINT_set_algo(mi, alg) ||
        !TS_MSG_IMPRINT_set_msg(mi, digest, (int)dlen) || !TS_REQ_set_version(req, 1) ||
        !TS_REQ_set_msg_imprint(req, mi) || !TS_REQ_set_nonce(req, nonce) || !TS_REQ_set_cert_req(req, 1) ||
        (pol != NULL && !TS_REQ_set_policy_id(req, pol))) {
        r = sign__ossl_error(SIGN_ENOMEM, "cannot build the timestamp request");
        goto out;
    }
    if ((n = i2d_TS_REQ(req, &der)) <= 0) {
        r = sign__ossl_error(SIGN_ENOMEM, "cannot encode the timestamp request");
        goto out;
    }
    *out = der;
    *outlen = (size_t)n;
    *out_nonce = nonce;
    der = NULL;
    nonce = NULL; /* transferred */
    r = 0;
out:
    OPENSSL_free(der);
    ASN1_INTEGER_free(nonce);
    BN_free(bn);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    ASN1_OBJECT_free(pol);
    return r;
}

/* The same as SIGN_TSA_OPTIONS_INIT: the version, every other byte zero. */
void sign_tsa_options_init(sign_tsa_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_TSA_OPTIONS_VERSION;
}

int sign_timestamp_request(unsigned char **out, size_t *outlen, const char *url, const unsigned char *data,
                           size_t len, const sign_tsa_options *opts)
{
    sign_tsa_options defaults = SIGN_TSA_OPTIONS_INIT;
    const sign_tsa_options *o = opts != NULL ? opts : &defaults;
    unsigned char *req = NULL, *body = NULL, digest[EVP_MAX_MD_SIZE];
    size_t reqlen = 0, bodylen = 0;
    ASN1_INTEGER *nonce = NULL;
    TS_RESP *resp = NULL;
    TS_TST_INFO *tst;
    TS_MSG_IMPRINT *mi;
    const ASN1_INTEGER *echoed;
    const ASN1_OCTET_STRING *imprint;
    const ASN1_OBJECT *aobj = NULL;
    long st;
    int r;

    if (out != NULL) {
        *out = NULL;
    }
    if (outlen != NULL) {
        *outlen = 0;
    }
    if (out == NULL || outlen == NULL || url == NULL || data == NULL || len == 0) {
        return sign__error(SIGN_EINVAL, "sign_timestamp_request: missing argument");
    }
    if ((r = sign__check_version(o->version, SIGN_TSA_OPTIONS_VERSION, "sign_tsa_options")) != 0) {
        return r;
    }
    if ((r = build_request(&req, &reqlen, &nonce, digest, data, len, o->policy_oid)) != 0 ||
        (r = http_post(&body, &bodylen, url, req, reqlen, o)) != 0) {
        goto out;
    }
    {
        const unsigned char *p = body;

        resp = d2i_TS_RESP(NULL, &p, (long)bodylen);
        if (resp == NULL || p != body + bodylen) {
            ERR_clear_error();
            r = sign__error(SIGN_ETSA_ANSWER,
                            "TSA %s: the answer (%zu bytes) is garbage, not a DER TimeStampResp; check the URL", url,
                            bodylen);
            goto out;
        }
    }
    st = resp_status(resp);
    if (st != 0 && st != 1) {
        char text[512];

        status_text(text, sizeof(text), resp);
        r = sign__error(SIGN_ETSA_REJECTED, "TSA %s rejected the request: status %s%s%s", url, status_name(st),
                        text[0] != '\0' ? ": " : "", text);
        goto out;
    }
    tst = TS_RESP_get_tst_info(resp);
    if (tst == NULL || TS_RESP_get_token(resp) == NULL) {
        r = sign__error(SIGN_ETSA_ANSWER, "TSA %s: the answer is granted but carries no token", url);
        goto out;
    }
    echoed = TS_TST_INFO_get_nonce(tst);
    if (echoed == NULL || ASN1_INTEGER_cmp(echoed, nonce) != 0) {
        r = sign__error(
            SIGN_ETSA_ANSWER,
            "TSA %s: the token does not echo the request's nonce (wrong nonce): a replayed or misdirected "
            "answer",
            url);
        goto out;
    }
    mi = TS_TST_INFO_get_msg_imprint(tst);
    if (mi != NULL && TS_MSG_IMPRINT_get_algo(mi) != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
    }
    imprint = mi != NULL ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
    if (aobj == NULL || OBJ_obj2nid(aobj) != NID_sha256 || imprint == NULL ||
        ASN1_STRING_length(imprint) != SIGN_SHA256_LEN ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(imprint), digest, SIGN_SHA256_LEN) != 0) {
        r = sign__error(SIGN_ETSA_ANSWER,
                        "TSA %s: the token's message imprint is not the SHA-256 of this signature (wrong imprint: it "
                        "stamps other bytes)",
                        url);
        goto out;
    }
    *out = body;
    *outlen = bodylen;
    body = NULL; /* transferred */
    r = 0;
out:
    ERR_clear_error();
    TS_RESP_free(resp);
    ASN1_INTEGER_free(nonce);
    OPENSSL_free(req);
    free(body);
    return r;
}

int sign_timestamp_bundle(size_t *out_added, sign_bundle *b, const char *const *urls, size_t nurls,
                          const sign_tsa_options *opts)
{
    sign_tsa_options defaults = SIGN_TSA_OPTIONS_INIT;
    const sign_tsa_options *o = opts != NULL ? opts : &defaults;
    const sign_envelope *env;
    const unsigned char *sig;
    unsigned char **got = NULL;
    size_t *gotlen = NULL, ngot = 0, siglen = 0, used = 0;
    char failures[1024] = "";
    int r = SIGN_ENOMEM, nfail = 0;

    if (out_added != NULL) {
        *out_added = 0;
    }
    if (b == NULL || (urls == NULL && nurls > 0)) {
        return sign__error(SIGN_EINVAL, "sign_timestamp_bundle: missing argument");
    }
    env = sign_bundle_envelope(b);
    if (env == NULL || sign_envelope_signature_count(env) != 1 ||
        (sig = sign_envelope_signature(env, 0, &siglen)) == NULL || siglen == 0) {
        return sign__error(SIGN_EINVAL, "the bundle must carry exactly one signature to timestamp");
    }
    if (nurls > 16 || sign_bundle_timestamp_count(b) + nurls > 16) {
        return sign__error(SIGN_ELIMIT, "a bundle holds at most 16 timestamps (it has %zu, %zu more asked)",
                           sign_bundle_timestamp_count(b), nurls);
    }
    if (nurls == 0) {
        return 0;
    }
    if ((got = calloc(nurls, sizeof(*got))) == NULL || (gotlen = calloc(nurls, sizeof(*gotlen))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nurls; i++) {
        if (urls[i] == NULL) {
            r = sign__error(SIGN_EINVAL, "sign_timestamp_bundle: URL %zu is NULL", i);
            goto out;
        }
        r = sign_timestamp_request(&got[ngot], &gotlen[ngot], urls[i], sig, siglen, o);
        if (r == SIGN_ENOMEM || r == SIGN_EINVAL) {
            goto out;
        }
        if (r != 0) {
            int w;

            if ((o->flags & SIGN_TSA_BEST_EFFORT) == 0) {
                goto out; /* all or nothing: the bundle is unchanged */
            }
            w = snprintf(failures + used, sizeof(failures) - used, "%s%s", nfail > 0 ? "; " : "", sign_error_last());
            used += w > 0 && (size_t)w < sizeof(failures) - used ? (size_t)w : 0;
            nfail++;
            continue;
        }
        ngot++;
    }
    for (size_t i = 0; i < ngot; i++) {
        if ((r = sign_bundle_add_timestamp(b, got[i], gotlen[i])) != 0) {
            goto out;
        }
        if (out_added != NULL) {
            (*out_added)++;
        }
    }
    sign__error_clear();
    if (nfail > 0) {
        sign__error(SIGN_ENETWORK, "%s", failures);
    }
    r = 0;
out:
    for (size_t i = 0; got != NULL && i < nurls; i++) {
        free(got[i]);
    }
    free(got);
    free(gotlen);
    return r;
}
