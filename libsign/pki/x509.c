/* X.509: chains to policy roots, EKU, validity, CRLs (policy and fetched), PKCS#12. The containers: certs.c. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crlfetch.h"
#include "sign/digest.h"
#include "sign/encoding.h"
#include "pki.h"
#include "text.h"

/* Longest passphrase asked for a PKCS#12 file. */
#define P12_PASS_MAX 1024

/* ---- facts -------------------------------------------------------------- */

int sign__asn1_time_epoch(int64_t *out, const ASN1_TIME *t)
{
    struct tm tm;
    time_t s;

    *out = 0;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return -1;
    }
    errno = 0;
    s = timegm(&tm);
    if (s == (time_t)-1 && errno != 0) {
        return -1; /* not representable (-1 itself is 1969-12-31T23:59:59Z) */
    }
    *out = (int64_t)s;
    return 0;
}

/* The subject (or any) name in the one-line RFC 2253 form: most specific first, "," separated, UTF-8 kept. */
/*
 * The one-line RFC 2253 form of n into out. -1 when it could not be printed
 * (out of memory): out is then "", which must not stand for the name where
 * it is judged (subject globs).
 */
static int name_text(char *out, size_t outsize, const X509_NAME *n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long len;
    int r = -1;

    out[0] = '\0';
    if (bio == NULL) {
        ERR_clear_error();
        return -1;
    }
    if (X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
        (len = BIO_get_mem_data(bio, &p)) >= 0) {
        /* OpenSSL escapes C0 only: C1 controls and bidi overrides (and a cut character) go through util/text. */
        sign__text_escape_into(out, outsize, p, (size_t)len);
        r = 0;
    }
    BIO_free(bio);
    ERR_clear_error();
    return r;
}

/* The first email (else URI) subjectAltName of x into out ("" when none). */
static void san_text(char *out, size_t outsize, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

    out[0] = '\0';
    for (int want = GEN_EMAIL; out[0] == '\0' && want != -1; want = want == GEN_EMAIL ? GEN_URI : -1) {
        for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
            const ASN1_IA5STRING *v = g->type != want     ? NULL
                                      : want == GEN_EMAIL ? g->d.rfc822Name
                                                          : g->d.uniformResourceIdentifier;

            if (v != NULL && ASN1_STRING_length(v) > 0) {
                sign__text_escape_into(out, outsize, (const char *)ASN1_STRING_get0_data(v),
                                       (size_t)ASN1_STRING_length(v));
                break;
            }
        }
    }
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
}

/*
 * How messages name certificate x: its subject DN, or when that is empty
 * (Fulcio certificates) its email or URI subjectAltName. -1 as name_text.
 */
static int cert_name(char *out, size_t outsize, X509 *x)
{
    if (name_text(out, outsize, X509_get_subject_name(x)) != 0) {
        return -1;
    }
    if (out[0] == '\0') {
        san_text(out, outsize, x);
    }
    return 0;
}

const char *sign_x509_eku_oid(const char *eku)
{
    static const struct {
        const char *name, *oid;
    } names[] = {
        {"codeSigning", "1.3.6.1.5.5.7.3.3"},      {"serverAuth", "1.3.6.1.5.5.7.3.1"},
        {"clientAuth", "1.3.6.1.5.5.7.3.2"},       {"emailProtection", "1.3.6.1.5.5.7.3.4"},
        {"timeStamping", "1.3.6.1.5.5.7.3.8"},     {"OCSPSigning", "1.3.6.1.5.5.7.3.9"},
        {"documentSigning", "1.3.6.1.5.5.7.3.36"},
    };
    int dots = 0;

    if (eku == NULL) {
        return names[0].oid;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(eku, names[i].name) == 0) {
            return names[i].oid;
        }
    }
    /* A dotted OID: digits and dots, at least two arcs. */
    if (eku[0] < '0' || eku[0] > '9') {
        return NULL;
    }
    for (const char *p = eku; *p != '\0'; p++) {
        if (*p == '.') {
            if (p[1] < '0' || p[1] > '9') {
                return NULL;
            }
            dots++;
        } else if (*p < '0' || *p > '9') {
            return NULL;
        }
    }
    return dots >= 1 ? eku : NULL;
}

static int has_eku(X509 *x, const char *oid, int *present)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
    int found = 0;

    *present = eku != NULL;
    for (int i = 0; eku != NULL && want != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
        if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0) {
            found = 1;
        }
    }
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    ASN1_OBJECT_free(want);
    ERR_clear_error();
    return found;
}

int sign_x509_certs_info(sign_x509_info *out, const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);
    uint32_t flags;

    memset(out, 0, sizeof(*out));
    if (x == NULL) {
        return sign__error(SIGN_EINVAL, "certificate %zu does not exist", i);
    }
    if (cert_name(out->subject, sizeof(out->subject), x) != 0) {
        return sign__error(SIGN_ENOMEM, "certificate %zu: out of memory printing its subject", i);
    }
    if (sign__asn1_time_epoch(&out->not_before, X509_get0_notBefore(x)) != 0 ||
        sign__asn1_time_epoch(&out->not_after, X509_get0_notAfter(x)) != 0) {
        return sign__error(SIGN_EPARSE, "certificate %s: unreadable validity dates", out->subject);
    }
    flags = X509_get_extension_flags(x);
    out->has_key_usage = (flags & EXFLAG_KUSAGE) != 0;
    out->digital_signature = out->has_key_usage && (X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) != 0;
    out->is_ca = (flags & EXFLAG_CA) != 0;
    out->code_signing = has_eku(x, "1.3.6.1.5.5.7.3.3", &out->has_eku);
    ERR_clear_error();
    return 0;
}

int sign_x509_key_matches(const sign_x509_certs *c, size_t i, const sign_key *key)
{
    X509 *x = sign__x509_cert_at(c, i);
    EVP_PKEY *pk;
    int eq;

    if (x == NULL || key == NULL || (pk = X509_get0_pubkey(x)) == NULL) {
        ERR_clear_error();
        return 0;
    }
    eq = EVP_PKEY_eq(pk, sign__key_pkey(key)) == 1;
    ERR_clear_error();
    return eq;
}

/* ---- PKCS#12 ------------------------------------------------------------ */

int sign_x509_load_p12(sign_key **out_key, sign_x509_certs **out_certs, const char *path, sign_passphrase_cb cb,
                       void *userdata)
{
    unsigned char *data = NULL;
    const unsigned char *p;
    size_t len = 0, passlen = 0;
    PKCS12 *p12 = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *ca = NULL;
    sign_x509_certs *certs = NULL;
    sign_key *key = NULL;
    char *pass = NULL;
    int r;

    *out_key = NULL;
    *out_certs = NULL;
    if ((r = sign__read_file(&data, &len, path, SIGN_X509_FILE_MAX)) != 0) {
        return r;
    }
    p = data;
    if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
        r = sign__ossl_error(SIGN_EPARSE, "%s: not a PKCS#12 file", path);
        goto out;
    }
    if (p != data + len) {
        r = sign__error(SIGN_EPARSE, "%s: trailing data after the PKCS#12 structure", path);
        goto out;
    }
    if ((pass = OPENSSL_secure_zalloc(P12_PASS_MAX + 1)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, NULL, 0) != 1 && PKCS12_verify_mac(p12, "", 0) != 1) {
        int n;

        ERR_clear_error();
        if (cb == NULL) {
            r = sign__error(SIGN_EPASSPHRASE, "%s: the PKCS#12 file is protected by a passphrase and none was given",
                            path);
            goto out;
        }
        n = cb(pass, P12_PASS_MAX, 0, userdata);
        if (n < 0 || n > P12_PASS_MAX) {
            r = sign__error(SIGN_EPASSPHRASE, "%s: no passphrase given", path);
            goto out;
        }
        passlen = (size_t)n;
        pass[passlen] = '\0';
        if (PKCS12_verify_mac(p12, pass, (int)passlen) != 1) {
            r = sign__error(SIGN_EPASSPHRASE, "%s: wrong passphrase for the PKCS#12 file", path);
            goto out;
        }
    }
    ERR_clear_error();
    if (PKCS12_parse(p12, pass, &pkey, &cert, &ca) != 1) {
        r = sign__ossl_error(SIGN_EPASSPHRASE, "%s: cannot decrypt the PKCS#12 file (wrong passphrase?)", path);
        goto out;
    }
    if (pkey == NULL || cert == NULL) {
        r = sign__error(SIGN_EPARSE, "%s: the PKCS#12 file must hold a private key and its certificate", path);
        goto out;
    }
    if ((r = sign__key_adopt(&key, pkey, 1, path)) != 0) {
        pkey = NULL; /* freed by sign__key_adopt */
        goto out;
    }
    pkey = NULL; /* transferred */
    if ((r = sign_x509_certs_new(&certs)) != 0) {
        goto out;
    }
    r = sign__x509_certs_push(certs, cert, path);
    cert = NULL; /* transferred */
    while (r == 0 && ca != NULL && sk_X509_num(ca) > 0) {
        r = sign__x509_certs_push(certs, sk_X509_shift(ca), path);
    }
    if (r != 0) {
        goto out;
    }
    *out_key = key;
    *out_certs = certs;
    key = NULL;   /* transferred */
    certs = NULL; /* transferred */
    r = 0;
out:
    if (pass != NULL) {
        OPENSSL_secure_clear_free(pass, P12_PASS_MAX + 1);
    }
    EVP_PKEY_free(pkey);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    PKCS12_free(p12);
    sign_key_free(key);
    sign_x509_certs_free(certs);
    sign__free_secret(data, len + 1);
    ERR_clear_error();
    return r;
}

/* ---- verification ------------------------------------------------------- */

static int fail(sign_x509_result *res, int code, const char *reason, const char *fmt, ...) SIGN_PRINTF(4, 5);

static int fail(sign_x509_result *res, int code, const char *reason, const char *fmt, ...)
{
    char raw[sizeof(res->message)];
    va_list ap;

    res->code = code;
    res->reason = reason;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* Messages quote names and URLs from certificates: printable (util/text). */
    sign__text_escape_into(res->message, sizeof(res->message), raw, strlen(raw));
    return sign__error(code, "%s", res->message); /* also sign_error_last(): never an earlier failure's */
}

static void time_text(char *out, size_t size, int64_t t)
{
    if (sign_format_time(out, size, t) != 0) {
        snprintf(out, size, "%lld", (long long)t);
    }
}

/* Weak: RSA below 2048 bits, or a signature made with MD2/MD4/MD5/SHA-1. 1 when weak; why says which. */
static int cert_weak(X509 *x, char *why, size_t size)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    int mdnid = NID_undef, pknid = NID_undef;

    if (pk != NULL && (EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "RSA-PSS")) && EVP_PKEY_get_bits(pk) < 2048) {
        snprintf(why, size, "an RSA key of %d bits (at least 2048 are required)", EVP_PKEY_get_bits(pk));
        return 1;
    }
    if (pk != NULL && EVP_PKEY_is_a(pk, "DSA")) {
        snprintf(why, size, "a DSA key");
        return 1;
    }
    if (X509_get_signature_info(x, &mdnid, &pknid, NULL, NULL) != 1) {
        ERR_clear_error();
        if (OBJ_find_sigid_algs(X509_get_signature_nid(x), &mdnid, &pknid) != 1) {
            snprintf(why, size, "an unknown signature algorithm");
            return 1;
        }
    }
    if (mdnid == NID_sha1 || mdnid == NID_md5 || mdnid == NID_md4 || mdnid == NID_md2 || mdnid == NID_md5_sha1) {
        snprintf(why, size, "a %s signature", OBJ_nid2sn(mdnid));
        return 1;
    }
    return 0;
}

static int crl_weak(X509_CRL *crl)
{
    int mdnid = NID_undef, pknid = NID_undef;

    if (OBJ_find_sigid_algs(X509_CRL_get_signature_nid(crl), &mdnid, &pknid) != 1) {
        return 0; /* EdDSA and PSS have no fixed digest here; the signature check decides */
    }
    return mdnid == NID_sha1 || mdnid == NID_md5 || mdnid == NID_md4 || mdnid == NID_md2;
}

/* Chain building continues over errors we judge ourselves (time, weak algorithms). */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok) {
        return 1;
    }
    switch (X509_STORE_CTX_get_error(ctx)) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK: return 1;
    default: return 0;
    }
}

static int glob_list(const char *const *globs, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (globs[i] != NULL && fnmatch(globs[i], s, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

static int glob_any(const sign_x509_trust *t, const char *s)
{
    return glob_list(t->subjects, t->nsubjects, s);
}

/*
 * The OIDC issuer Fulcio records in x: extension 1.3.6.1.4.1.57264.1.8 (a DER
 * UTF8String), else the deprecated 1.3.6.1.4.1.57264.1.1 (the raw bytes).
 * 1 found, 0 absent, -1 unreadable (bad DER, an embedded NUL, too long).
 */
static int oidc_issuer(char *out, size_t outsize, X509 *x)
{
    static const char *const oids[] = {"1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1"};
    int found = 0;

    out[0] = '\0';
    for (size_t k = 0; k < 2 && found == 0; k++) {
        ASN1_OBJECT *want = OBJ_txt2obj(oids[k], 1);
        int loc = want != NULL ? X509_get_ext_by_OBJ(x, want, -1) : -1;
        const ASN1_OCTET_STRING *v = loc >= 0 ? X509_EXTENSION_get_data(X509_get_ext(x, loc)) : NULL;
        const unsigned char *p = v != NULL ? ASN1_STRING_get0_data(v) : NULL, *d = p;
        long len = v != NULL ? ASN1_STRING_length(v) : 0;
        ASN1_UTF8STRING *u = NULL;

        ASN1_OBJECT_free(want);
        if (v == NULL) {
            continue;
        }
        found = -1;
        if (k == 0) {
            if ((u = d2i_ASN1_UTF8STRING(NULL, &p, len)) == NULL || p != d + len) {
                ASN1_UTF8STRING_free(u);
                break;
            }
            d = ASN1_STRING_get0_data(u);
            len = ASN1_STRING_length(u);
        }
        if (len > 0 && (size_t)len < outsize && memchr(d, '\0', (size_t)len) == NULL) {
            memcpy(out, d, (size_t)len);
            out[len] = '\0';
            found = 1;
        }
        ASN1_UTF8STRING_free(u);
    }
    ERR_clear_error();
    return found;
}

/* The leaf's OIDC issuer matches one of the trust's issuers globs (none: any). */
static int check_issuer(sign_x509_result *res, X509 *leaf, const sign_x509_trust *trust)
{
    char iss[1024], shown[1024];
    int got;

    if (trust->version < 2 || trust->nissuers == 0) {
        return 0;
    }
    got = oidc_issuer(iss, sizeof(iss), leaf);
    if (got == 1 && glob_list(trust->issuers, trust->nissuers, iss)) {
        return 0;
    }
    if (got == 1) {
        sign__text_escape_into(shown, sizeof(shown), iss, strlen(iss));
    }
    return fail(res, SIGN_EUNTRUSTED, "ISSUER_NOT_ALLOWED",
                "certificate %s %s%s%s, which matches none of the root's issuers patterns; sign with an identity "
                "from an allowed OIDC issuer or extend roots[].issuers",
                res->subject,
                got == 1   ? "was issued for an identity of OIDC issuer \""
                : got == 0 ? "carries no OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1)"
                           : "carries an unreadable OIDC issuer extension",
                got == 1 ? shown : "", got == 1 ? "\"" : "");
}

/* Does a subject glob match the DN or an email/URI subjectAltName? */
static int subject_allowed(X509 *leaf, const char *dn, const sign_x509_trust *t)
{
    GENERAL_NAMES *gens;
    int ok;

    if (t->nsubjects == 0) {
        return 1;
    }
    if (glob_any(t, dn)) {
        return 1;
    }
    ok = 0;
    gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens != NULL && !ok && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const ASN1_IA5STRING *s = NULL;
        char buf[1024];
        int len;

        if (g->type == GEN_EMAIL) {
            s = g->d.rfc822Name;
        } else if (g->type == GEN_URI) {
            s = g->d.uniformResourceIdentifier;
        }
        if (s == NULL || (len = ASN1_STRING_length(s)) <= 0 || (size_t)len >= sizeof(buf)) {
            continue;
        }
        memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
        buf[len] = '\0';
        if (strlen(buf) != (size_t)len) {
            continue; /* an embedded NUL: never matched */
        }
        ok = glob_any(t, buf);
    }
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return ok;
}

static int crl_reason(X509_REVOKED *rev)
{
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
    int reason = -1;

    if (e != NULL) {
        reason = (int)ASN1_ENUMERATED_get(e);
        ASN1_ENUMERATED_free(e);
    }
    ERR_clear_error();
    return reason;
}

/*
 * A reason that says the key itself was compromised: keyCompromise,
 * cACompromise, aACompromise, or a value RFC 5280 does not define (an
 * unknown reason is not read as a harmless one). Absent and unspecified
 * keep the date rule: routine revocations (superseded, a departed
 * employee) mostly carry no reason.
 */
static int reason_is_compromise(int reason)
{
    return reason == CRL_REASON_KEY_COMPROMISE || reason == CRL_REASON_CA_COMPROMISE ||
           reason == CRL_REASON_AA_COMPROMISE || reason == 7 || reason > CRL_REASON_AA_COMPROMISE;
}

/*
 * The revocation time of an entry: the earlier of revocationDate and
 * invalidityDate. For a compromised key without an invalidityDate,
 * INT64_MIN: whoever held the key could also have obtained a timestamp for
 * a signature made at any time before the revocation, so a trusted signing
 * time proves nothing about who signed, and every signature is revoked.
 * With an invalidityDate, the issuer says since when the key was not
 * trusted: that is the cut-off.
 */
static int64_t revoked_time(X509_REVOKED *rev, int reason)
{
    ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(rev, NID_invalidity_date, NULL, NULL);
    int64_t t = 0, ti = 0;

    if (sign__asn1_time_epoch(&t, X509_REVOKED_get0_revocationDate(rev)) != 0) {
        t = INT64_MIN; /* unreadable: as if revoked forever */
    }
    if (inv != NULL && sign__asn1_time_epoch(&ti, inv) == 0 && ti < t) {
        t = ti;
    } else if ((inv == NULL || sign__asn1_time_epoch(&ti, inv) != 0) && reason_is_compromise(reason)) {
        t = INT64_MIN;
    }
    ASN1_GENERALIZEDTIME_free(inv);
    ERR_clear_error();
    return t;
}

static int cmp_crl_time(const X509_CRL *const *a, const X509_CRL *const *b)
{
    int64_t ta = 0, tb = 0;

    sign__asn1_time_epoch(&ta, X509_CRL_get0_lastUpdate(*a));
    sign__asn1_time_epoch(&tb, X509_CRL_get0_lastUpdate(*b));
    return ta < tb ? -1 : ta > tb;
}

/* The CRLs of crls issued by issuer, each checked (signature, digest), into mine. */
static int collect_crls(sign_x509_result *res, STACK_OF(X509_CRL) * mine, X509 *issuer, const sign_x509_crls *crls,
                        const char *who)
{
    const X509_NAME *iname = X509_get_subject_name(issuer);
    char iss[256];

    for (int i = 0; i < sk_X509_CRL_num(crls->sk); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls->sk, i);

        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), iname) != 0) {
            continue;
        }
        /* A refusal is confirmed once: OpenSSL 3.0 often queues nothing when an allocation fails inside. */
        int ok = X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;

        if (!ok && sign__ossl_oom()) {
            return sign__oom(); /* not a verdict on the CRL */
        }
        if (!ok && X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
            if (sign__ossl_oom()) {
                return sign__oom(); /* not a verdict on the CRL */
            }
            name_text(iss, sizeof(iss), iname);
            return fail(
                res, SIGN_EREVOKED, "CRL_SIGNATURE_INVALID",
                "a CRL naming %s as its issuer is not signed by that issuer's key; it cannot say whether %s is "
                "revoked - replace it with the CRL the issuer published",
                iss, who);
        }
        if (crl_weak(crl)) {
            return fail(res, SIGN_EUNTRUSTED, "WEAK_ALGORITHM",
                        "the CRL for %s is signed with a weak digest (SHA-1 or MD5); have the issuer re-sign it",
                        who);
        }
        if (sk_X509_CRL_push(mine, crl) <= 0) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
    }
    if (sk_X509_CRL_num(mine) == 0) {
        name_text(iss, sizeof(iss), iname);
        return fail(res, SIGN_EREVOKED, "CRL_MISSING",
                    "the policy names CRLs, but none from %s, the issuer of %s; add that issuer's CRL to the root's "
                    "crls",
                    iss, who);
    }
    return 0;
}

/* The newest of the sorted CRLs is current at now. */
static int check_crl_fresh(sign_x509_result *res, STACK_OF(X509_CRL) * mine, const char *who, int64_t now)
{
    X509_CRL *newest = sk_X509_CRL_value(mine, sk_X509_CRL_num(mine) - 1);
    char tbuf[32], nbuf[32];
    int64_t t = 0;

    time_text(nbuf, sizeof(nbuf), now);
    if (sign__asn1_time_epoch(&t, X509_CRL_get0_lastUpdate(newest)) != 0 || t > now) {
        time_text(tbuf, sizeof(tbuf), t);
        return fail(res, SIGN_EEXPIRED, "CRL_STALE",
                    "the newest CRL for %s is not valid yet (thisUpdate %s, judged at %s); check the clocks", who,
                    tbuf, nbuf);
    }
    if (X509_CRL_get0_nextUpdate(newest) != NULL) {
        if (sign__asn1_time_epoch(&t, X509_CRL_get0_nextUpdate(newest)) != 0 || t < now) {
            time_text(tbuf, sizeof(tbuf), t);
            return fail(
                res, SIGN_EEXPIRED, "CRL_STALE",
                "the newest CRL for %s is stale: its nextUpdate %s is past (judged at %s); fetch a current CRL "
                "from the issuer",
                who, tbuf, nbuf);
        }
    }
    return 0;
}

/* The state of a revocation entry after every CRL, in thisUpdate order. */
typedef struct {
    int revoked, hold, compromised;
    int64_t rtime;
} revocation_state;

/* Entries in thisUpdate order: a later removeFromCRL lifts an earlier entry. */
static void scan_revoked(revocation_state *st, STACK_OF(X509_CRL) * mine, const ASN1_INTEGER *serial)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < sk_X509_CRL_num(mine); i++) {
        STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(sk_X509_CRL_value(mine, i));

        for (int j = 0; j < sk_X509_REVOKED_num(revs); j++) {
            X509_REVOKED *rev = sk_X509_REVOKED_value(revs, j);
            int reason;

            if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(rev), serial) != 0) {
                continue;
            }
            reason = crl_reason(rev);
            if (reason == CRL_REASON_REMOVE_FROM_CRL) {
                st->revoked = st->hold = st->compromised = 0;
                continue;
            }
            st->revoked = 1;
            st->hold = reason == CRL_REASON_CERTIFICATE_HOLD;
            st->rtime = revoked_time(rev, reason);
            st->compromised = st->rtime == INT64_MIN && reason_is_compromise(reason);
        }
    }
}

/* The verdict on a revoked certificate, against the trusted signing time. */
static int revoked_verdict(sign_x509_result *res, const revocation_state *st, const char *who,
                           const int64_t *signing_time)
{
    char tbuf[32], sbuf[32];

    time_text(tbuf, sizeof(tbuf), st->rtime);
    if (st->compromised) {
        return fail(
            res, SIGN_EREVOKED, "CERT_REVOKED",
            "certificate %s was revoked because its key was compromised, and the CRL gives no invalidityDate: "
            "no signature by that key can be trusted, timestamped or not; re-sign with a new key",
            who);
    }
    if (st->hold) {
        return fail(res, SIGN_EREVOKED, "CERT_REVOKED",
                    "certificate %s is on hold (certificateHold since %s); it cannot be trusted until its issuer "
                    "lifts the hold",
                    who, tbuf);
    }
    if (signing_time != NULL && st->rtime > *signing_time) {
        time_text(sbuf, sizeof(sbuf), *signing_time);
        if (res->note[0] == '\0') {
            snprintf(res->note, sizeof(res->note),
                     "certificate %s was revoked at %s, after the trusted signing time %s: the signature stays valid",
                     who, tbuf, sbuf);
        }
        return 0;
    }
    if (signing_time != NULL) {
        time_text(sbuf, sizeof(sbuf), *signing_time);
        return fail(res, SIGN_EREVOKED, "CERT_REVOKED",
                    "certificate %s was revoked at %s, not after the trusted signing time %s; re-sign with a valid "
                    "certificate",
                    who, tbuf, sbuf);
    }
    return fail(res, SIGN_EREVOKED, "CERT_REVOKED",
                "certificate %s was revoked at %s and the signature has no trusted timestamp; re-sign with a valid "
                "certificate",
                who, tbuf);
}

/* Revocation of cert (issued by issuer) under the CRLs. */
static int check_revocation(sign_x509_result *res, X509 *cert, X509 *issuer, const sign_x509_crls *crls, int64_t now,
                            const int64_t *signing_time)
{
    STACK_OF(X509_CRL) *mine = sk_X509_CRL_new(cmp_crl_time);
    revocation_state st;
    char who[256];
    int r;

    cert_name(who, sizeof(who), cert);
    if (mine == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = collect_crls(res, mine, issuer, crls, who)) != 0) {
        goto out;
    }
    sk_X509_CRL_sort(mine);
    if ((r = check_crl_fresh(res, mine, who, now)) != 0) {
        goto out;
    }
    scan_revoked(&st, mine, X509_get0_serialNumber(cert));
    r = st.revoked ? revoked_verdict(res, &st, who, signing_time) : 0;
out:
    sk_X509_CRL_free(mine);
    return r;
}

/*
 * Revocation of cert with online CRLs: the CRL of its distribution points
 * (fetched or cached) joins the policy's CRLs, and the same rules judge them
 * all. A certificate without a distribution point is judged by the policy's
 * CRLs alone (none: not checked). online collects what was used.
 */
static int check_revocation_online(sign_x509_result *res, X509 *cert, X509 *issuer, const sign_x509_crls *policy,
                                   const sign__crl_fetch_opts *fo, int64_t now, const int64_t *signing_time,
                                   char *online, size_t onlinesize)
{
    sign_x509_crls *fetched = NULL, *all = NULL;
    char url[2048], why[768], who[256], iss[256], named[256];
    int cached = 0, r;
    size_t used;

    cert_name(who, sizeof(who), cert);
    r = sign__crl_fetch_cert(&fetched, url, sizeof(url), &cached, cert, issuer, fo, why, sizeof(why));
    if (r == SIGN_EREVOKED) {
        /* Not a revocation: the status is unknown, an availability error (docs/verify.md, exit codes). */
        r = fail(res, SIGN_ENETWORK, "CRL_FETCH_FAILED",
                 "the CRL of certificate %s could not be fetched from its distribution points: %s; its revocation "
                 "status is unknown - check the network and the CRL server, or name the issuer's CRL in the policy "
                 "and verify without --fetch-crl",
                 who, why);
        goto out;
    }
    if (r != 0) {
        goto out;
    }
    used = strlen(online);
    if (fetched == NULL) {
        snprintf(online + used, onlinesize - used, "%s%s: no CRL distribution point", used > 0 ? "; " : "", who);
        r = sign_x509_crls_count(policy) > 0 ? check_revocation(res, cert, issuer, policy, now, signing_time) : 0;
        goto out;
    }
    snprintf(online + used, onlinesize - used, "%s%s: CRL from %s (%s)", used > 0 ? "; " : "", who, url,
             cached ? "cached" : "fetched");
    name_text(iss, sizeof(iss), X509_get_subject_name(issuer));
    for (int i = 0; i < sk_X509_CRL_num(fetched->sk); i++) {
        X509_CRL *crl = sk_X509_CRL_value(fetched->sk, i);

        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
            name_text(named, sizeof(named), X509_CRL_get_issuer(crl));
            r = fail(res, SIGN_EREVOKED, "CRL_SIGNATURE_INVALID",
                     "the CRL fetched from %s names %s as its issuer, not %s, the issuer of %s; it cannot say "
                     "whether %s is revoked - fix the distribution point or the CRL server",
                     url, named, iss, who, who);
            goto out;
        }
    }
    /* Policy CRLs and fetched ones together: signatures, freshness of the newest, entries of all. */
    if ((r = sign_x509_crls_new(&all)) != 0) {
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        const sign_x509_crls *src = pass == 0 ? policy : fetched;

        for (size_t i = 0; i < sign_x509_crls_count(src); i++) {
            X509_CRL *crl = sk_X509_CRL_value(src->sk, (int)i);

            if (X509_CRL_up_ref(crl) != 1) {
                r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
                goto out;
            }
            if ((r = sign__x509_crls_push(all, crl, "CRLs")) != 0) {
                goto out;
            }
        }
    }
    r = check_revocation(res, cert, issuer, all, now, signing_time);
out:
    sign_x509_crls_free(fetched);
    sign_x509_crls_free(all);
    return r;
}

/* Is the name the subject of a self-signed certificate in the list given? */
static int names_ignored_root(const STACK_OF(X509) * ignored, const X509_NAME *n)
{
    for (int i = 0; i < sk_X509_num(ignored); i++) {
        if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(ignored, i)), n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int chain_error(sign_x509_result *res, X509_STORE_CTX *ctx, const STACK_OF(X509) * ignored, const char *dn)
{
    int err = X509_STORE_CTX_get_error(ctx);
    STACK_OF(X509) *part = X509_STORE_CTX_get0_chain(ctx);
    int n = part != NULL ? sk_X509_num(part) : 0;
    X509 *top = n > 0 ? sk_X509_value(part, n - 1) : NULL;
    char iss[256] = "";

    if (err == X509_V_ERR_OUT_OF_MEM || sign__ossl_oom()) {
        return sign__oom(); /* not a verdict on the chain */
    }
    if (top != NULL) {
        name_text(iss, sizeof(iss), X509_get_issuer_name(top));
    }
    switch (err) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return fail(res, SIGN_EUNTRUSTED, "ROOT_UNKNOWN",
                    "certificate %s chains to the self-signed %s, which is not a root of this policy; add the root "
                    "to the policy's roots if it is trusted",
                    dn, iss);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        if ((top != NULL && names_ignored_root(ignored, X509_get_issuer_name(top))) || n > 1) {
            return fail(res, SIGN_EUNTRUSTED, "ROOT_UNKNOWN",
                        "certificate %s chains to %s, which is not a root of this policy (a root inside a bundle "
                        "is never trusted); add the root to the policy's roots if it is trusted",
                        dn, iss);
        }
        return fail(res, SIGN_EUNTRUSTED, "CHAIN_INCOMPLETE",
                    "the issuer of certificate %s (%s) is neither a policy root nor among the intermediates of the "
                    "bundle and the policy; add it to the root's intermediates or sign with --embed-chain",
                    dn, iss);
    default:
        return fail(res, SIGN_EUNTRUSTED, "CHAIN_INVALID",
                    "the certificate chain of %s is not valid: %s (at depth %d); re-issue the certificate", dn,
                    X509_verify_cert_error_string(err), X509_STORE_CTX_get_error_depth(ctx));
    }
}

/* The same as SIGN_X509_TRUST_INIT: the version, every other byte zero. */
void sign_x509_trust_init(sign_x509_trust *trust)
{
    memset(trust, 0, sizeof(*trust));
    trust->version = SIGN_X509_TRUST_VERSION;
}

/* The same as SIGN_X509_VERIFY_OPTIONS_INIT: the version, every other byte zero. */
void sign_x509_verify_options_init(sign_x509_verify_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_X509_VERIFY_OPTIONS_VERSION;
}

static void ctx_params(X509_STORE_CTX *ctx, int64_t judge)
{
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)judge);
    X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx), 10);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
}

/* 1 when the chain verifies in a context of its own (build_chain's second try). */
static int chain_holds_again(X509_STORE *store, X509 *leaf, STACK_OF(X509) * untrusted, int64_t judge)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = ctx != NULL && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1;

    if (ok) {
        ctx_params(ctx, judge);
        ok = X509_verify_cert(ctx) == 1;
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/*
 * The chain of leaf to a policy root: the bundle's chain and the policy's
 * intermediates help (anything self-signed among them is never trusted).
 * *built gets the chain OpenSSL built, leaf first.
 */
static int build_chain(sign_x509_result *res, STACK_OF(X509) * *built, X509 *leaf, const sign_x509_certs *chain,
                       const sign_x509_trust *trust, int64_t judge)
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL, *ignored = NULL;
    int r = 0;

    if ((untrusted = sk_X509_new_null()) == NULL || (ignored = sk_X509_new_null()) == NULL ||
        (store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        const sign_x509_certs *src = pass == 0 ? chain : trust->intermediates;

        for (size_t i = pass == 0 ? 1 : 0; i < sign_x509_certs_count(src); i++) {
            X509 *x = sign__x509_cert_at(src, i);

            if (sk_X509_push(sign__x509_self_signed(x) ? ignored : untrusted, x) <= 0) {
                r = sign__error(SIGN_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    for (size_t i = 0; i < sign_x509_certs_count(trust->roots); i++) {
        if (X509_STORE_add_cert(store, sign__x509_cert_at(trust->roots, i)) != 1) {
            ERR_clear_error(); /* the same root twice */
        }
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        r = sign__ossl_error(SIGN_ENOMEM, "cannot set up certificate verification");
        goto out;
    }
    ctx_params(ctx, judge);
    if (X509_verify_cert(ctx) != 1) {
        r = chain_error(res, ctx, ignored, res->subject);
        ERR_clear_error();
        /* OpenSSL 3.0 reports some allocations failing inside X509_verify_cert as a verification error, or
           queues nothing: a chain refused is verified once more, and one that holds then was refused for want
           of memory. It is never accepted on the second try: the verify fails either way. */
        if (r != SIGN_ENOMEM && chain_holds_again(store, leaf, untrusted, judge)) {
            r = sign__error(SIGN_ENOMEM, "out of memory (verifying the certificate chain)");
        }
        goto out;
    }
    if ((*built = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
out:
    sk_X509_free(untrusted);
    sk_X509_free(ignored);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return r;
}

/* The leaf and its chain may sign code: strong algorithms, an end entity, keyUsage, EKU, allowed subject. */
static int check_leaf(sign_x509_result *res, STACK_OF(X509) * built, X509 *leaf, const sign_x509_trust *trust,
                      const char *oid, const char *dn)
{
    char why[128], who[256];
    int present;

    for (int i = 0; i < sk_X509_num(built); i++) {
        if (cert_weak(sk_X509_value(built, i), why, sizeof(why))) {
            cert_name(who, sizeof(who), sk_X509_value(built, i));
            return fail(res, SIGN_EUNTRUSTED, "WEAK_ALGORITHM",
                        "certificate %s in the chain of %s uses %s; re-issue it with a strong algorithm", who,
                        res->subject, why);
        }
    }
    /*
     * The leaf is an end entity: a CA certificate (basicConstraints cA) signs
     * certificates, not code, even when it carries the code-signing EKU.
     */
    if ((X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
        return fail(
            res, SIGN_EUNTRUSTED, "LEAF_IS_CA",
            "certificate %s is a CA certificate (basicConstraints cA) and may not sign artifacts; sign with an "
            "end-entity code-signing certificate issued by it",
            res->subject);
    }
    /* The leaf may make signatures and is meant for this use. */
    if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) == 0 ||
        (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
        return fail(res, SIGN_EUNTRUSTED, "KEY_USAGE_INVALID",
                    "certificate %s does not allow digital signatures (keyUsage digitalSignature %s); use a "
                    "code-signing certificate",
                    res->subject, (X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) == 0 ? "absent" : "not set");
    }
    if (!has_eku(leaf, oid, &present)) {
        return fail(res, SIGN_EUNTRUSTED, "EKU_MISSING",
                    "certificate %s %s the extended key usage %s (%s) that the policy requires; use a certificate "
                    "issued for it",
                    res->subject, present ? "does not list" : "has no extendedKeyUsage, so not",
                    trust->eku != NULL ? trust->eku : "codeSigning", oid);
    }
    if (!subject_allowed(leaf, dn, trust)) {
        return fail(res, SIGN_EUNTRUSTED, "SUBJECT_NOT_ALLOWED",
                    "certificate %s matches none of the root's subjects patterns (subject DN, email and URI names); "
                    "sign with an allowed certificate or extend roots[].subjects",
                    res->subject);
    }
    return check_issuer(res, leaf, trust);
}

/* Validity of every certificate of the chain at judge (the signing time when trusted, or now). */
static int check_validity(sign_x509_result *res, STACK_OF(X509) * built, int64_t judge, int timestamped)
{
    char tbuf[32], jbuf[32], who[256];

    time_text(jbuf, sizeof(jbuf), judge);
    for (int i = 0; i < sk_X509_num(built); i++) {
        X509 *x = sk_X509_value(built, i);
        int64_t nb = 0, na = 0;

        cert_name(who, sizeof(who), x);
        if (sign__asn1_time_epoch(&nb, X509_get0_notBefore(x)) != 0 ||
            sign__asn1_time_epoch(&na, X509_get0_notAfter(x)) != 0) {
            return fail(res, SIGN_EUNTRUSTED, "CHAIN_INVALID", "certificate %s has unreadable validity dates", who);
        }
        if (judge < nb) {
            time_text(tbuf, sizeof(tbuf), nb);
            return fail(res, SIGN_EEXPIRED, "CERT_NOT_YET_VALID",
                        "certificate %s is valid only from %s (judged at %s%s); check the clocks or sign with a "
                        "current certificate",
                        who, tbuf, jbuf, timestamped ? ", the trusted signing time" : "");
        }
        if (judge > na) {
            time_text(tbuf, sizeof(tbuf), na);
            return fail(res, SIGN_EEXPIRED, "CERT_EXPIRED",
                        "certificate %s expired at %s (judged at %s%s); re-sign with a current certificate, with a "
                        "trusted timestamp so that signatures outlive it",
                        who, tbuf, jbuf, timestamped ? ", the trusted signing time" : "");
        }
    }
    return 0;
}

/* Revocation of every certificate below the root: the policy's CRLs, and online ones only when asked. */
static int check_chain_revocation(sign_x509_result *res, STACK_OF(X509) * built, const sign_x509_trust *trust,
                                  const sign_x509_verify_options *opts, int64_t now)
{
    char online[sizeof(res->note)] = "";
    sign__crl_fetch_opts fo;
    int n = sk_X509_num(built), r;

    if ((opts->flags & SIGN_X509_FETCH_CRL) == 0) {
        for (int i = 0; sign_x509_crls_count(trust->crls) > 0 && i + 1 < n; i++) {
            if ((r = check_revocation(res, sk_X509_value(built, i), sk_X509_value(built, i + 1), trust->crls, now,
                                      opts->signing_time)) != 0) {
                return r;
            }
        }
        return 0;
    }
    fo.cache_dir = opts->crl_cache_dir;
    fo.timeout_ms = opts->crl_timeout_ms != 0 ? opts->crl_timeout_ms : SIGN_X509_CRL_TIMEOUT_MS;
    fo.max_bytes = SIGN_X509_CRL_FETCH_MAX;
    fo.now = now;
    for (int i = 0; i + 1 < n; i++) {
        if ((r = check_revocation_online(res, sk_X509_value(built, i), sk_X509_value(built, i + 1), trust->crls, &fo,
                                         now, opts->signing_time, online, sizeof(online))) != 0) {
            return r;
        }
    }
    if (res->note[0] == '\0') {
        snprintf(res->note, sizeof(res->note), "online revocation: %s", online);
    } else {
        size_t used = strlen(res->note);

        snprintf(res->note + used, sizeof(res->note) - used, "; online revocation: %s", online);
    }
    return 0;
}

/* The caller's options in the current layout: version 1 callers have no fields past signing_time. */
static int copy_options(sign_x509_verify_options *o, const sign_x509_verify_options *opts)
{
    int r;

    if (opts == NULL) {
        return 0;
    }
    if ((r = sign__check_version(opts->version, SIGN_X509_VERIFY_OPTIONS_VERSION, "sign_x509_verify_options")) != 0) {
        return r;
    }
    o->at = opts->at;
    o->signing_time = opts->signing_time;
    if (opts->version >= 2) {
        o->flags = opts->flags;
        o->crl_cache_dir = opts->crl_cache_dir;
        o->crl_timeout_ms = opts->crl_timeout_ms;
    }
    return 0;
}

static int verify_once(sign_x509_result *res, const sign_x509_certs *chain, const sign_x509_trust *trust,
                       const sign_x509_verify_options *opts)
{
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    STACK_OF(X509) *built = NULL;
    char dn[sizeof(res->subject)];
    X509 *leaf;
    const char *oid;
    int64_t now, judge;
    int r;

    if (res == NULL) {
        return sign__error(SIGN_EINVAL, "sign_x509_verify: no result");
    }
    memset(res, 0, sizeof(*res));
    res->reason = "OK";
    if ((r = copy_options(&o, opts)) != 0) {
        goto out;
    }
    opts = &o;
    if (trust == NULL || sign_x509_certs_count(trust->roots) == 0) {
        r = sign__error(SIGN_EINVAL, "sign_x509_verify: no trust anchors");
        goto out;
    }
    if ((r = sign__check_version(trust->version, SIGN_X509_TRUST_VERSION, "sign_x509_trust")) != 0) {
        goto out;
    }
    if ((leaf = sign__x509_cert_at(chain, 0)) == NULL) {
        r = sign__error(SIGN_EINVAL, "sign_x509_verify: no leaf certificate");
        goto out;
    }
    /* SIGN_X509_AT (version 3) lets the epoch itself be judged; before it at == 0 meant now. */
    now = (opts->flags & SIGN_X509_AT) != 0 || opts->at != 0 ? opts->at : sign__now();
    judge = opts->signing_time != NULL ? *opts->signing_time : now;
    res->judged_at = judge;
    /* The DN is what subject globs judge; messages name the SAN when it is empty (Fulcio). */
    if (name_text(dn, sizeof(dn), X509_get_subject_name(leaf)) != 0 ||
        cert_name(res->subject, sizeof(res->subject), leaf) != 0) {
        r = sign__error(SIGN_ENOMEM, "sign_x509_verify: out of memory printing the leaf's subject");
        goto out;
    }
    if ((oid = sign_x509_eku_oid(trust->eku)) == NULL) {
        r = sign__error(SIGN_EINVAL, "sign_x509_verify: unknown EKU \"%s\"", trust->eku);
        goto out;
    }
    if ((r = build_chain(res, &built, leaf, chain, trust, judge)) != 0) {
        goto out;
    }
    res->chain_len = (size_t)sk_X509_num(built);
    if ((r = check_leaf(res, built, leaf, trust, oid, dn)) != 0 ||
        (r = check_validity(res, built, judge, opts->signing_time != NULL)) != 0 ||
        (r = check_chain_revocation(res, built, trust, opts, now)) != 0) {
        goto out;
    }
out:
    if (r != 0 && res->code == 0) {
        /* An error (not a verdict): keep the message for the caller. */
        res->reason = "ERROR";
        res->code = r;
        snprintf(res->message, sizeof(res->message), "%s", sign_error_last());
    }
    sk_X509_pop_free(built, X509_free);
    ERR_clear_error();
    return r;
}

/*
 * Whether a chain refused as untrusted (the chain, or the leaf's uses, names or algorithms) is held by fresh
 * copies of the same certificates. OpenSSL 3.0 fills a certificate's extension cache (key usage, EKU, key
 * identifiers, its fingerprint) once for the object's life, and an allocation failing then marks it invalid
 * for good; other failures inside X509_verify_cert queue nothing (the torture's verify-sigstore and
 * x509-verify). The copies, decoded again from their DER, carry no such mark; the second run fetches no CRL
 * (a refusal of this kind comes before revocation is looked at). 1: the copies get past the point where
 * the first run refused, so that refusal was for want of memory.
 */
static int held_by_copies(const sign_x509_certs *chain, const sign_x509_trust *trust,
                          const sign_x509_verify_options *opts)
{
    sign_x509_certs *c = NULL, *roots = NULL, *mid = NULL;
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_x509_result scratch;
    int r = SIGN_ENOMEM;

    /* Field by field: a caller of an older version passes a shorter structure. */
    t.crls = trust->crls;
    t.eku = trust->eku;
    t.subjects = trust->subjects;
    t.nsubjects = trust->nsubjects;
    if (trust->version >= 2) {
        t.issuers = trust->issuers;
        t.nissuers = trust->nissuers;
    }
    if (copy_options(&o, opts) == 0 && sign__x509_certs_copy(&c, chain) == 0 &&
        sign__x509_certs_copy(&roots, trust->roots) == 0 && sign__x509_certs_copy(&mid, trust->intermediates) == 0) {
        t.roots = roots;
        t.intermediates = mid;
        o.flags &= ~SIGN_X509_FETCH_CRL;
        r = verify_once(&scratch, c, &t, &o);
    }
    sign_x509_certs_free(c);
    sign_x509_certs_free(roots);
    sign_x509_certs_free(mid);
    sign__error_clear();
    return r == 0 || r == SIGN_EEXPIRED || r == SIGN_EREVOKED;
}

int sign_x509_verify(sign_x509_result *res, const sign_x509_certs *chain, const sign_x509_trust *trust,
                     const sign_x509_verify_options *opts)
{
    int r = verify_once(res, chain, trust, opts);

    /* Never accepted on the second run: a refusal either stays or becomes "out of memory". */
    if (r == SIGN_EUNTRUSTED && res->code == SIGN_EUNTRUSTED && held_by_copies(chain, trust, opts)) {
        r = sign__error(SIGN_ENOMEM, "out of memory (verifying the certificate chain)");
    }
    /* Out of memory is never a verdict: the result says so too (build_chain's second try found it after a
       refusal had been recorded, and callers judge by the result). */
    if (r == SIGN_ENOMEM && res->code != SIGN_ENOMEM) {
        res->reason = "ERROR";
        res->code = SIGN_ENOMEM;
        snprintf(res->message, sizeof(res->message), "%s", sign_error_last());
    }
    return r;
}
