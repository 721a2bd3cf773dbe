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
/* Most certificates accepted in one authority's roots. */
#define TSA_MAX_ROOTS 256

struct sign_tsa_roots {
    X509 **certs;
    size_t *owner; /* index into names */
    size_t ncerts;
    char **names;
    size_t nnames;
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

/* 1 when OpenSSL's last queued error is an allocation failure. */
static int ossl_oom(void)
{
    unsigned long e = ERR_peek_last_error();

    return e != 0 && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
}

static int parse_resp(TS_RESP **out, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    TS_RESP *resp;

    *out = NULL;
    if (der == NULL || len == 0 || len > TS_MAX_DER) {
        return sign__error(SIGN_EPARSE, "empty or oversized TimeStampResp (%zu bytes)", len);
    }
    resp = d2i_TS_RESP(NULL, &p, (long)len);
    if (resp == NULL) {
        return sign__ossl_error(ossl_oom() ? SIGN_ENOMEM : SIGN_EPARSE, "not a DER TimeStampResp");
    }
    if (p != der + len) {
        TS_RESP_free(resp);
        return sign__error(SIGN_EPARSE, "trailing data after the TimeStampResp");
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
    if ((r = parse_resp(&resp, der, len)) != 0) {
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

void sign_tsa_roots_free(sign_tsa_roots *roots)
{
    if (roots == NULL) {
        return;
    }
    for (size_t i = 0; i < roots->ncerts; i++) {
        X509_free(roots->certs[i]);
    }
    for (size_t i = 0; i < roots->nnames; i++) {
        free(roots->names[i]);
    }
    free(roots->certs);
    free(roots->owner);
    free(roots->names);
    free(roots);
}

size_t sign_tsa_roots_count(const sign_tsa_roots *roots)
{
    return roots != NULL ? roots->nnames : 0;
}

int sign_tsa_roots_add_pem(sign_tsa_roots *roots, const char *name, const void *pem, size_t len)
{
    BIO *bio = NULL;
    X509 *found[TSA_MAX_ROOTS];
    size_t n = 0, bytes;
    X509 **certs;
    size_t *owner;
    char **names, *dup = NULL;
    int r = SIGN_ENOMEM;

    if (roots == NULL || name == NULL || pem == NULL) {
        return sign__error(SIGN_EINVAL, "sign_tsa_roots_add_pem: missing argument");
    }
    if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        return sign__ossl_error(SIGN_ENOMEM, "%s: cannot read the certificates", name);
    }
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();

            /* The end of the input ends the list; anything else (a malformed block, no memory) is an error. */
            if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                r = sign__ossl_error(SIGN_EPARSE, "%s: malformed PEM certificate (number %zu)", name, n + 1);
                goto out;
            }
            break;
        }
        if (X509_get0_pubkey(x) == NULL) {
            /* OpenSSL keeps a certificate whose key it failed to decode: it could never verify a TSA. */
            X509_free(x);
            ERR_clear_error();
            r = sign__error(SIGN_EPARSE,
                            "%s: certificate %zu: its public key cannot be decoded (an unsupported algorithm, or out "
                            "of memory)",
                            name, n + 1);
            goto out;
        }
        if (n == TSA_MAX_ROOTS) {
            X509_free(x);
            r = sign__error(SIGN_ELIMIT, "%s: more than %d certificates", name, TSA_MAX_ROOTS);
            goto out;
        }
        found[n++] = x;
    }
    ERR_clear_error();
    if (n == 0) {
        r = sign__error(SIGN_EPARSE, "%s: no PEM certificate", name);
        goto out;
    }
    if ((dup = sign__strdup(name)) == NULL) {
        goto out;
    }
    if (!sign__add(&bytes, roots->ncerts, n) || !sign__mul(&bytes, bytes, sizeof(X509 *))) {
        r = sign__error(SIGN_ELIMIT, "too many certificates");
        goto out;
    }
    if ((certs = realloc(roots->certs, bytes)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    roots->certs = certs;
    if ((owner = realloc(roots->owner, (roots->ncerts + n) * sizeof(size_t))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    roots->owner = owner;
    if ((names = realloc(roots->names, (roots->nnames + 1) * sizeof(char *))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    roots->names = names;
    roots->names[roots->nnames] = dup;
    dup = NULL; /* transferred */
    for (size_t i = 0; i < n; i++) {
        roots->certs[roots->ncerts] = found[i];
        roots->owner[roots->ncerts] = roots->nnames;
        roots->ncerts++;
    }
    roots->nnames++;
    n = 0; /* transferred */
    r = 0;
out:
    for (size_t i = 0; i < n; i++) {
        X509_free(found[i]);
    }
    free(dup);
    BIO_free(bio);
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
    eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
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

int sign_timestamp_verify(sign_timestamp_info *out, sign_timestamp_failure *why, const unsigned char *der, size_t len,
                          const unsigned char *data, size_t datalen, const sign_tsa_roots *roots)
{
    sign_timestamp_info info;
    TS_RESP *resp = NULL;
    TS_TST_INFO *tst;
    PKCS7 *token;
    STACK_OF(X509) *signers = NULL, *certs, *chain;
    X509_STORE *store = NULL;
    X509_STORE_CTX *sctx = NULL;
    X509 *signer, *ess_signer = NULL, *top;
    X509_ALGOR *dig = NULL, *salg = NULL;
    TS_MSG_IMPRINT *mi;
    const ASN1_OBJECT *aobj = NULL;
    const ASN1_OCTET_STRING *imprint;
    const EVP_MD *md;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int64_t nb, na;
    int ok1, ok2, r, nid;

    if (why != NULL) {
        *why = SIGN_TS_INVALID;
    }
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    memset(&info, 0, sizeof(info));
    if (der == NULL || data == NULL || roots == NULL) {
        return sign__error(SIGN_EINVAL, "sign_timestamp_verify: missing argument");
    }
    if (roots->ncerts == 0) {
        return fail(why, SIGN_TS_UNTRUSTED, SIGN_EUNTRUSTED, "no trusted time-stamp authority is configured");
    }
    if ((r = parse_resp(&resp, der, len)) != 0) {
        if (r != SIGN_ENOMEM) {
            r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp is malformed: %s", sign_error_last());
        }
        goto out;
    }
    tst = TS_RESP_get_tst_info(resp);
    token = TS_RESP_get_token(resp);
    if ((resp_status(resp) != 0 && resp_status(resp) != 1) || tst == NULL || token == NULL) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp is not a granted TimeStampResp with a token");
        goto out;
    }
    if ((r = tst_info_fill(&info, tst)) != 0) {
        goto out;
    }
    if (TS_TST_INFO_get_version(tst) != 1 || !PKCS7_type_is_signed(token)) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp token is not a version 1 signed TSTInfo");
        goto out;
    }
    if (sign__asn1_time_epoch(&info.gen_time, TS_TST_INFO_get_time(tst)) != 0) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp's genTime cannot be read");
        goto out;
    }
    if (PKCS7_get_signer_info(token) == NULL || sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(token)) != 1) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG, "the timestamp token must carry exactly one signature");
        goto out;
    }
    PKCS7_SIGNER_INFO_get0_algs(sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(token), 0), NULL, &dig, &salg);
    if (dig != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, dig);
    }
    nid = aobj != NULL ? OBJ_obj2nid(aobj) : NID_undef;
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        r = fail(
            why, SIGN_TS_INVALID, SIGN_EBADSIG,
            "the timestamp token is signed with a weak or unknown digest (%s); only SHA-256/384/512 are accepted",
            nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
        goto out;
    }
    signers = PKCS7_get0_signers(token, NULL, 0);
    if (signers == NULL && ossl_oom()) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if (signers == NULL || sk_X509_num(signers) != 1) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp token does not carry its signer's certificate (request it with certReq)");
        goto out;
    }
    signer = sk_X509_value(signers, 0);
    if ((r = subject_text(info.tsa, sizeof(info.tsa), signer)) != 0) {
        goto out;
    }
    /* The signature over the signed attributes and the TSTInfo, without any chain yet. */
    if (PKCS7_verify(token, NULL, NULL, NULL, NULL, PKCS7_NOVERIFY | PKCS7_NOCHAIN) != 1) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp token's signature does not verify: it was altered (TSA %s)", info.tsa);
        goto out;
    }
    if (!eku_ok(signer)) {
        r = fail(why, SIGN_TS_EKU_MISSING, SIGN_EUNTRUSTED,
                 "the timestamp's TSA certificate (%s) lacks a critical extended key usage of timeStamping only",
                 info.tsa);
        goto out;
    }
    ok1 = sign__asn1_time_epoch(&nb, X509_get0_notBefore(signer)) == 0;
    ok2 = sign__asn1_time_epoch(&na, X509_get0_notAfter(signer)) == 0;
    if (!ok1 || !ok2 || info.gen_time < nb || info.gen_time > na) {
        char g[32] = "?", b[32] = "?", a[32] = "?";

        sign_format_time(g, sizeof(g), info.gen_time);
        sign_format_time(b, sizeof(b), nb);
        sign_format_time(a, sizeof(a), na);
        r = fail(why, SIGN_TS_OUTSIDE_TSA_VALIDITY, SIGN_EEXPIRED,
                 "the timestamp's genTime %s lies outside its TSA certificate's validity (%s to %s; %s)", g, b, a,
                 info.tsa);
        goto out;
    }
    /* The chain to a trusted root, judged at genTime, intermediates from the token. */
    if ((store = X509_STORE_new()) == NULL || (sctx = X509_STORE_CTX_new()) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < roots->ncerts; i++) {
        if (!X509_STORE_add_cert(store, roots->certs[i])) {
            r = sign__ossl_error(SIGN_ENOMEM, "cannot use the trusted TSA roots");
            goto out;
        }
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)info.gen_time);
    certs = token->d.sign->cert;
    if (!X509_STORE_CTX_init(sctx, store, signer, certs) ||
        !X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_TIMESTAMP_SIGN)) {
        r = sign__ossl_error(SIGN_ENOMEM, "cannot check the TSA chain");
        goto out;
    }
    if (X509_verify_cert(sctx) != 1) {
        r = fail(why, SIGN_TS_UNTRUSTED, SIGN_EUNTRUSTED,
                 "the timestamp's TSA (%s) is not trusted: %s; add its root to the policy's timestamp_authorities",
                 info.tsa, X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
        goto out;
    }
    chain = X509_STORE_CTX_get0_chain(sctx);
    top = chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
    for (size_t i = 0; top != NULL && i < roots->ncerts; i++) {
        if (X509_cmp(top, roots->certs[i]) == 0) {
            copy_text(info.authority, sizeof(info.authority), roots->names[roots->owner[i]]);
            break;
        }
    }
    /* OpenSSL's own check: signature, chain and the ESS signing-certificate(-v2) binding. */
    if (TS_RESP_verify_signature(token, certs, store, &ess_signer) != 1 || ess_signer == NULL ||
        X509_cmp(ess_signer, signer) != 0) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp token's ESS signing-certificate attribute does not bind its TSA certificate (%s)",
                 info.tsa);
        goto out;
    }
    /* The imprint: the digest of exactly the signature bytes. */
    mi = TS_TST_INFO_get_msg_imprint(tst);
    aobj = NULL;
    if (mi != NULL && TS_MSG_IMPRINT_get_algo(mi) != NULL) {
        X509_ALGOR_get0(&aobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
    }
    md = aobj != NULL ? imprint_md(OBJ_obj2nid(aobj)) : NULL;
    if (md == NULL) {
        r = fail(why, SIGN_TS_INVALID, SIGN_EBADSIG,
                 "the timestamp's message imprint uses %s; only SHA-256, SHA-384 and SHA-512 are accepted",
                 info.hash[0] != '\0' ? info.hash : "an unknown algorithm");
        goto out;
    }
    imprint = TS_MSG_IMPRINT_get_msg(mi);
    if (!EVP_Digest(data, datalen, digest, &dlen, md, NULL)) {
        r = sign__ossl_error(SIGN_ECRYPTO, "cannot hash the signature");
        goto out;
    }
    if (imprint == NULL || (size_t)ASN1_STRING_length(imprint) != dlen ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(imprint), digest, dlen) != 0) {
        r = fail(why, SIGN_TS_IMPRINT_MISMATCH, SIGN_EBADSIG,
                 "the timestamp (TSA %s) stamps other bytes than this signature: it belongs to another signature",
                 info.tsa);
        goto out;
    }
    if (why != NULL) {
        *why = SIGN_TS_OK;
    }
    if (out != NULL) {
        *out = info;
    }
    r = 0;
out:
    ERR_clear_error();
    X509_free(ess_signer);
    X509_STORE_CTX_free(sctx);
    X509_STORE_free(store);
    sk_X509_free(signers);
    TS_RESP_free(resp);
    return r;
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
        r = sign__ossl_error(SIGN_ECRYPTO, "cannot hash the signature");
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
