/* Test PKI made at test time (see pkigen.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "pkigen.h"

static long pkigen_counter = 1000;

static EVP_PKEY *pkigen_key(const char *type)
{
    EVP_PKEY *k = NULL;

    if (type == NULL || strcmp(type, PKIGEN_EC256) == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    } else if (strcmp(type, PKIGEN_EC384) == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    } else if (strcmp(type, PKIGEN_ED25519) == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    } else if (strcmp(type, PKIGEN_RSA2048) == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    } else if (strcmp(type, PKIGEN_RSA1024) == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    }
    cr_assert_not_null(k, "pkigen: cannot make a %s key", type != NULL ? type : "ec256");
    return k;
}

static void pkigen_set_time(ASN1_TIME *t, int64_t when)
{
    cr_assert_not_null(ASN1_TIME_set(t, (time_t)when));
}

static void pkigen_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    cr_assert_not_null(e, "pkigen: extension %d = %s", nid, value);
    cr_assert(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

/* The digest for signing with key: NULL for Ed25519. */
static const EVP_MD *pkigen_md(EVP_PKEY *key, const char *md)
{
    if (EVP_PKEY_is_a(key, "ED25519")) {
        return NULL;
    }
    return EVP_get_digestbyname(md != NULL ? md : "SHA256");
}

/* Fulcio's OIDC issuer extensions: .1.8 holds a DER UTF8String, the deprecated .1.1 the bare bytes. */
static void pkigen_oidc_issuer(X509 *x, const pkigen_cert_opts *o)
{
    for (int k = 0; k < 2; k++) {
        const char *v = k == 0 ? o->oidc_issuer : o->oidc_issuer_v1;
        ASN1_OBJECT *obj;
        ASN1_OCTET_STRING *os;
        X509_EXTENSION *ext;
        unsigned char *der = NULL;
        int len;

        if (v == NULL) {
            continue;
        }
        obj = OBJ_txt2obj(k == 0 ? "1.3.6.1.4.1.57264.1.8" : "1.3.6.1.4.1.57264.1.1", 1);
        os = ASN1_OCTET_STRING_new();
        cr_assert(obj != NULL && os != NULL);
        if (k == 0) {
            ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();

            cr_assert(u != NULL && ASN1_STRING_set(u, v, -1));
            len = i2d_ASN1_UTF8STRING(u, &der);
            cr_assert(len > 0);
            cr_assert(ASN1_OCTET_STRING_set(os, der, len));
            ASN1_UTF8STRING_free(u);
            OPENSSL_free(der);
        } else {
            cr_assert(ASN1_OCTET_STRING_set(os, (const unsigned char *)v, (int)strlen(v)));
        }
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        cr_assert(ext != NULL && X509_add_ext(x, ext, -1));
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
    }
}

pkigen_cert *pkigen_cert_new(const pkigen_cert_opts *o, const pkigen_cert *issuer)
{
    pkigen_cert *c = calloc(1, sizeof(*c));
    int64_t now = (int64_t)time(NULL);
    X509_NAME *n;
    char buf[512];
    EVP_PKEY *skey;
    X509 *ix;

    cr_assert_not_null(c);
    if (o->use_key != NULL) {
        cr_assert(EVP_PKEY_up_ref(o->use_key));
        c->key = o->use_key;
    } else {
        c->key = pkigen_key(o->key);
    }
    c->x = X509_new();
    cr_assert_not_null(c->x);
    cr_assert(X509_set_version(c->x, 2));
    cr_assert(ASN1_INTEGER_set(X509_get_serialNumber(c->x), o->serial != 0 ? o->serial : pkigen_counter++));
    pkigen_set_time(X509_getm_notBefore(c->x), o->not_before != 0 ? o->not_before : now - 30 * 86400);
    pkigen_set_time(X509_getm_notAfter(c->x), o->not_after != 0 ? o->not_after : now + 30 * 86400);
    cr_assert(X509_set_pubkey(c->x, c->key));
    n = X509_get_subject_name(c->x);
    if (!o->empty_subject) {
        cr_assert(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"signet test", -1, -1, 0));
        cr_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)o->cn, -1, -1, 0));
    }
    ix = issuer != NULL ? issuer->x : c->x;
    skey = issuer != NULL ? issuer->key : c->key;
    cr_assert(X509_set_issuer_name(c->x, X509_get_subject_name(ix)));
    pkigen_ext(c->x, ix, NID_subject_key_identifier, "hash");
    pkigen_ext(c->x, ix, NID_authority_key_identifier, "keyid:always");
    if (o->ca) {
        pkigen_ext(c->x, ix, NID_basic_constraints, "critical,CA:TRUE");
        pkigen_ext(c->x, ix, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        if (o->eku != NULL && strcmp(o->eku, "none") != 0) {
            pkigen_ext(c->x, ix, NID_ext_key_usage, o->eku); /* a CA that also claims an EKU */
        }
    } else {
        pkigen_ext(c->x, ix, NID_basic_constraints, "critical,CA:FALSE");
        if (!o->no_key_usage) {
            pkigen_ext(c->x, ix, NID_key_usage,
                       o->no_digital_sig ? "critical,keyEncipherment" : "critical,digitalSignature");
        }
        if (o->eku == NULL) {
            pkigen_ext(c->x, ix, NID_ext_key_usage, "codeSigning");
        } else if (strcmp(o->eku, "timeStamping") == 0) {
            pkigen_ext(c->x, ix, NID_ext_key_usage, "critical,timeStamping");
        } else if (strcmp(o->eku, "none") != 0) {
            pkigen_ext(c->x, ix, NID_ext_key_usage, o->eku);
        }
    }
    if (o->email != NULL || o->uri != NULL) {
        snprintf(buf, sizeof(buf), "%s%s%s%s%s", o->email != NULL ? "email:" : "", o->email != NULL ? o->email : "",
                 o->email != NULL && o->uri != NULL ? "," : "", o->uri != NULL ? "URI:" : "",
                 o->uri != NULL ? o->uri : "");
        pkigen_ext(c->x, ix, NID_subject_alt_name, buf);
    }
    pkigen_oidc_issuer(c->x, o);
    if (o->crl_url != NULL) {
        snprintf(buf, sizeof(buf), "URI:%s", o->crl_url);
        pkigen_ext(c->x, ix, NID_crl_distribution_points, buf);
    }
    cr_assert(X509_sign(c->x, skey, pkigen_md(skey, o->md)) > 0, "pkigen: cannot sign %s", o->cn);
    ERR_clear_error();
    return c;
}

void pkigen_cert_free(pkigen_cert *c)
{
    if (c == NULL) {
        return;
    }
    X509_free(c->x);
    EVP_PKEY_free(c->key);
    free(c);
}

long pkigen_serial(const pkigen_cert *c)
{
    return ASN1_INTEGER_get(X509_get0_serialNumber(c->x));
}

void pkigen_write_certs(const char *path, const pkigen_cert *const *certs, size_t n)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "pkigen: %s", path);
    for (size_t i = 0; i < n; i++) {
        cr_assert(PEM_write_X509(f, certs[i]->x));
    }
    cr_assert_eq(fclose(f), 0);
}

void pkigen_write_der(const char *path, const pkigen_cert *c)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "pkigen: %s", path);
    cr_assert(i2d_X509_fp(f, c->x));
    cr_assert_eq(fclose(f), 0);
}

void pkigen_write_key(const char *path, const pkigen_cert *c)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "pkigen: %s", path);
    cr_assert(PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL));
    cr_assert_eq(fclose(f), 0);
}

void pkigen_write_p12(const char *path, const pkigen_cert *c, const pkigen_cert *const *extra, size_t nextra,
                      const char *pass)
{
    STACK_OF(X509) *ca = sk_X509_new_null();
    PKCS12 *p12;
    FILE *f;

    cr_assert_not_null(ca);
    for (size_t i = 0; i < nextra; i++) {
        cr_assert(sk_X509_push(ca, extra[i]->x) > 0);
    }
    p12 = PKCS12_create(pass, "signet test", c->key, c->x, ca, NID_aes_256_cbc, NID_aes_256_cbc, 0, 0, 0);
    cr_assert_not_null(p12, "pkigen: PKCS12_create");
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert(i2d_PKCS12_fp(f, p12));
    cr_assert_eq(fclose(f), 0);
    PKCS12_free(p12);
    sk_X509_free(ca);
}

X509_CRL *pkigen_crl_new(const pkigen_cert *issuer, const pkigen_cert *signer, int64_t this_update,
                         int64_t next_update, const pkigen_crl_entry *e, size_t n, const char *md)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    EVP_PKEY *key = signer != NULL ? signer->key : issuer->key;

    cr_assert_not_null(crl);
    cr_assert_not_null(t);
    cr_assert(X509_CRL_set_version(crl, 1));
    cr_assert(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x)));
    pkigen_set_time(t, this_update);
    cr_assert(X509_CRL_set1_lastUpdate(crl, t));
    if (next_update != 0) {
        pkigen_set_time(t, next_update);
        cr_assert(X509_CRL_set1_nextUpdate(crl, t));
    }
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();

        cr_assert_not_null(r);
        cr_assert(ASN1_INTEGER_set(s, e[i].serial));
        cr_assert(X509_REVOKED_set_serialNumber(r, s));
        pkigen_set_time(t, e[i].revoked_at);
        cr_assert(X509_REVOKED_set_revocationDate(r, t));
        if (e[i].reason >= 0) {
            ASN1_ENUMERATED *en = ASN1_ENUMERATED_new();

            cr_assert(ASN1_ENUMERATED_set(en, e[i].reason));
            cr_assert(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, en, 0, 0));
            ASN1_ENUMERATED_free(en);
        }
        if (e[i].invalidity != 0) {
            ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, (time_t)e[i].invalidity);

            cr_assert(X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, g, 0, 0));
            ASN1_GENERALIZEDTIME_free(g);
        }
        cr_assert(X509_CRL_add0_revoked(crl, r));
        ASN1_INTEGER_free(s);
    }
    cr_assert(X509_CRL_sort(crl));
    cr_assert(X509_CRL_sign(crl, key, pkigen_md(key, md)) > 0);
    ASN1_TIME_free(t);
    ERR_clear_error();
    return crl;
}

void pkigen_write_crl(const char *path, X509_CRL *crl, int der)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "pkigen: %s", path);
    cr_assert(der ? i2d_X509_CRL_fp(f, crl) : PEM_write_X509_CRL(f, crl));
    cr_assert_eq(fclose(f), 0);
}

sign_x509_certs *pkigen_certs(const pkigen_cert *const *certs, size_t n)
{
    sign_x509_certs *c = NULL;

    cr_assert_eq(sign_x509_certs_new(&c), 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(certs[i]->x, &der);

        cr_assert(len > 0);
        cr_assert_eq(sign_x509_certs_add_der(c, der, (size_t)len), 0, "%s", sign_error_last());
        OPENSSL_free(der);
    }
    return c;
}

sign_x509_crls *pkigen_crls(X509_CRL *const *crls, size_t n)
{
    sign_x509_crls *c = NULL;

    cr_assert_eq(sign_x509_crls_new(&c), 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char *der = NULL;
        sign_x509_crls *one = NULL;
        int len = i2d_X509_CRL(crls[i], &der);

        cr_assert(len > 0);
        cr_assert_eq(sign_x509_crls_parse(&one, der, (size_t)len, "test CRL"), 0, "%s", sign_error_last());
        cr_assert_eq(sign_x509_crls_merge(c, one), 0);
        sign_x509_crls_free(one);
        OPENSSL_free(der);
    }
    return c;
}
