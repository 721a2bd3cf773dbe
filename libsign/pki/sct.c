/*
 * Signed certificate timestamps (RFC 6962) embedded in a certificate (the SCT list extension,
 * 1.3.6.1.4.1.11129.2.4.2), checked against the CT logs of a Sigstore trusted root. OpenSSL parses the list
 * (its CTLOG_STORE can only be filled from files, so the signature is checked here under the trusted root's
 * key): the signed data is RFC 6962 section 3.2's digitally-signed struct over a precertificate entry, the
 * certificate's TBS with the SCT list extension removed and the SHA-256 of the issuer's public key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define SCT_MAX_TBS (1U << 24) /* TBSCertificate<1..2^24-1> */

static int sct_fail(sign__sct_check *out, const char *reason, int code, const char *msg, const char *detail)
{
    out->reason = reason;
    out->code = code;
    snprintf(out->message, sizeof(out->message), "%s%s", msg, detail != NULL ? detail : "");
    return code;
}

/* The precertificate TBS (leaf without its SCT list extension), DER into *out. */
static int sct_precert_tbs(unsigned char **out, size_t *len, X509 *leaf)
{
    X509 *pre = X509_dup(leaf);
    unsigned char *der = NULL;
    int idx, n;

    *out = NULL;
    if (pre == NULL) {
        ERR_clear_error();
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    while ((idx = X509_get_ext_by_NID(pre, NID_ct_precert_scts, -1)) >= 0) {
        X509_EXTENSION_free(X509_delete_ext(pre, idx));
    }
    n = i2d_re_X509_tbs(pre, &der);
    X509_free(pre);
    if (n <= 0 || (size_t)n >= SCT_MAX_TBS) {
        OPENSSL_free(der);
        ERR_clear_error();
        return sign__error(n <= 0 ? SIGN_ENOMEM : SIGN_ELIMIT, "the precertificate cannot be encoded");
    }
    *out = der;
    *len = (size_t)n;
    return 0;
}

static void put_be(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    }
}

/* RFC 6962 3.2: the data an SCT's signature covers, for a precert entry. */
static int sct_signed_data(unsigned char **out, size_t *len, const SCT *sct, const unsigned char ikh[32],
                           const unsigned char *tbs, size_t tbslen)
{
    unsigned char *ext = NULL, *m, *p;
    size_t extlen = SCT_get0_extensions(sct, &ext);

    *len = 1 + 1 + 8 + 2 + 32 + 3 + tbslen + 2 + extlen;
    if ((m = malloc(*len)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    p = m;
    *p++ = 0; /* v1 */
    *p++ = 0; /* certificate_timestamp */
    put_be(p, SCT_get_timestamp(sct), 8);
    p += 8;
    put_be(p, 1, 2); /* precert_entry */
    p += 2;
    memcpy(p, ikh, 32);
    p += 32;
    put_be(p, tbslen, 3);
    p += 3;
    if (tbslen > 0 && tbs != NULL) {
        memcpy(p, tbs, tbslen);
    }
    p += tbslen;
    put_be(p, extlen, 2);
    p += 2;
    if (extlen > 0 && ext != NULL) {
        memcpy(p, ext, extlen);
    }
    *out = m;
    return 0;
}

static const sign__tlog_key *sct_log(const sign__trusted_root *tr, const unsigned char *id, size_t idlen)
{
    for (size_t i = 0; idlen == 32 && i < tr->nlogs; i++) {
        if (tr->logs[i].ct && memcmp(tr->logs[i].log_id, id, 32) == 0) {
            return &tr->logs[i];
        }
    }
    return NULL;
}

/* The SCT's signature algorithm must be the one its log's key makes (RFC 6962: ECDSA or RSA over SHA-256). */
static int sct_alg_fits(const SCT *sct, const sign__tlog_key *k)
{
    int nid = SCT_get_signature_nid(sct);

    return (k->type == SIGN__TLOG_ECDSA_P256 && nid == NID_ecdsa_with_SHA256) ||
           (k->type == SIGN__TLOG_RSA_PKCS1 && nid == NID_sha256WithRSAEncryption);
}

/* One SCT: 0 when it verifies, else its failure in *out (the return value is its class, or SIGN_ENOMEM). */
static int sct_one(sign__sct_check *out, const SCT *sct, const sign__trusted_root *tr, const unsigned char ikh[32],
                   const unsigned char *tbs, size_t tbslen)
{
    unsigned char *id = NULL, *sig = NULL, *msg = NULL;
    size_t idlen = SCT_get0_log_id(sct, &id), siglen = SCT_get0_signature(sct, &sig), len = 0;
    const sign__tlog_key *k;
    int64_t t;
    char when[32] = "";
    int r;

    if (SCT_get_version(sct) != SCT_VERSION_V1 || id == NULL || sig == NULL || siglen == 0) {
        return sct_fail(out, "SCT_MALFORMED", SIGN_EBADSIG, "an embedded SCT is not a complete version 1 SCT", NULL);
    }
    if ((k = sct_log(tr, id, idlen)) == NULL) {
        return sct_fail(out, "SCT_UNKNOWN_LOG", SIGN_EUNTRUSTED,
                        "an embedded SCT is from a CT log that the trusted root does not list (ctlogs)", NULL);
    }
    t = (int64_t)(SCT_get_timestamp(sct) / 1000);
    if (!sign__tr_window_holds(&k->valid, t)) {
        sign_format_time(when, sizeof(when), t);
        return sct_fail(out, "SCT_OUTSIDE_LOG_VALIDITY", SIGN_EEXPIRED,
                        "an embedded SCT's time is outside its CT log key's validFor in the trusted root: ", when);
    }
    if (!sct_alg_fits(sct, k)) {
        return sct_fail(out, "SCT_INVALID", SIGN_EBADSIG,
                        "an embedded SCT's signature algorithm is not its CT log key's", NULL);
    }
    if ((r = sct_signed_data(&msg, &len, sct, ikh, tbs, tbslen)) != 0) {
        return r;
    }
    r = sign__tlog_key_verify(k, msg, len, sig, siglen);
    free(msg);
    sign__error_clear();
    if (r != 0) {
        return sct_fail(out, "SCT_INVALID", SIGN_EBADSIG,
                        "an embedded SCT's signature does not verify under its CT log's key over this "
                        "certificate",
                        NULL);
    }
    return 0;
}

/* SHA-256 of issuer's DER SubjectPublicKeyInfo. */
static int sct_issuer_key_hash(unsigned char out[32], X509 *issuer)
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &der);

    if (n <= 0 || der == NULL) {
        ERR_clear_error();
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (SHA256(der, (size_t)n, out) == NULL) {
        OPENSSL_free(der);
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)");
    }
    OPENSSL_free(der);
    return 0;
}

static int sct_check_list(sign__sct_check *out, const STACK_OF(SCT) * scts, X509 *leaf, X509 *issuer,
                          const sign__trusted_root *tr)
{
    unsigned char ikh[32], *tbs = NULL;
    size_t tbslen = 0;
    int r, worst = 0;

    if ((r = sct_issuer_key_hash(ikh, issuer)) != 0 || (r = sct_precert_tbs(&tbs, &tbslen, leaf)) != 0) {
        return r == SIGN_ELIMIT ? sct_fail(out, "SCT_MALFORMED", SIGN_EBADSIG, sign_error_last(), NULL) : r;
    }
    if (tbs == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < sk_SCT_num(scts); i++) {
        sign__sct_check one = {0};

        r = sct_one(&one, sk_SCT_value(scts, i), tr, ikh, tbs, tbslen);
        if (r == 0 || r == SIGN_ENOMEM) {
            worst = r;
            break;
        }
        if (worst == 0) {
            *out = one; /* the first failure is reported when none verifies */
            worst = r;
        }
    }
    OPENSSL_free(tbs);
    if (worst == 0) {
        memset(out, 0, sizeof(*out));
        out->reason = "OK";
    }
    return worst;
}

int sign__sct_verify(sign__sct_check *out, X509 *leaf, X509 *issuer, const sign__trusted_root *tr)
{
    STACK_OF(SCT) *scts = NULL;
    int crit = 0, r;

    memset(out, 0, sizeof(*out));
    if (X509_get_ext_by_NID(leaf, NID_ct_precert_scts, -1) < 0) {
        return sct_fail(out, "SCT_MISSING", SIGN_EUNTRUSTED,
                        "the certificate carries no embedded SCT, and the trusted root lists CT logs: its "
                        "issuance was not logged",
                        NULL);
    }
    scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, &crit, NULL);
    if (scts == NULL || sk_SCT_num(scts) <= 0) {
        SCT_LIST_free(scts);
        ERR_clear_error();
        return sct_fail(out, "SCT_MALFORMED", SIGN_EBADSIG,
                        "the certificate's SCT list extension cannot be read (RFC 6962 3.3)", NULL);
    }
    r = sct_check_list(out, scts, leaf, issuer, tr);
    SCT_LIST_free(scts);
    ERR_clear_error();
    return r;
}
