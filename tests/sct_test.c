/*
 * Signed certificate timestamps (libsign/pki/sct.c) and the validFor of trusted-root certificate authorities
 * (libsign/pki/trusted_root.c), through signet verify --trusted-root: a test CA, a leaf with an embedded SCT list
 * made here (RFC 6962 3.2/3.3, signed by a test CT log key), and a trusted root naming both. The good form
 * verifies; each altered form is refused for its own reason. The conformance fixtures (a real Fulcio leaf) are
 * checked too: their SCT verifies, a swapped CT log key or a CT log validFor after the SCT is refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkigen.h"
#include "testutil.h"

TestSuite(sct, .init = tu_scratch_setup, .fini = tu_scratch_teardown);

static void be(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    }
}

/* What to make wrong. */
typedef struct sct_spec {
    int none;             /* no SCT extension */
    int truncate;         /* the SCT list cut short (still a DER OCTET STRING) */
    int other_tbs;        /* the SCT signs another certificate's TBS */
    int64_t time_shift;   /* seconds added to the SCT's time (ms), 0: now - 60 */
    EVP_PKEY *signer_key; /* the log key signing (NULL: the log's own) */
} sct_spec;

/* RFC 6962 3.2 signed data for a precert entry over tbs, then the TLS-encoded SCT (v1, no extensions). */
static size_t make_sct(unsigned char *out, size_t cap, EVP_PKEY *log, EVP_PKEY *signer, const X509 *issuer,
                       const unsigned char *tbs, size_t tbslen, uint64_t ms)
{
    unsigned char ikh[32], logid[32], *spki = NULL, *msg, sig[256];
    size_t msglen = 12 + 32 + 3 + tbslen + 2, siglen = sizeof(sig), n = 0;
    int len;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY((X509 *)issuer), &spki);
    cr_assert(len > 0);
    SHA256(spki, (size_t)len, ikh);
    OPENSSL_free(spki);
    spki = NULL;
    len = i2d_PUBKEY(log, &spki);
    cr_assert(len > 0);
    SHA256(spki, (size_t)len, logid);
    OPENSSL_free(spki);
    msg = malloc(msglen);
    cr_assert_not_null(msg);
    msg[0] = 0;
    msg[1] = 0;
    be(msg + 2, ms, 8);
    be(msg + 10, 1, 2);
    memcpy(msg + 12, ikh, 32);
    be(msg + 44, tbslen, 3);
    memcpy(msg + 47, tbs, tbslen);
    be(msg + 47 + tbslen, 0, 2);
    cr_assert(ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, signer) == 1 &&
              EVP_DigestSign(ctx, sig, &siglen, msg, msglen) == 1);
    EVP_MD_CTX_free(ctx);
    free(msg);
    cr_assert(cap >= 1 + 32 + 8 + 2 + 4 + siglen);
    out[n++] = 0;
    memcpy(out + n, logid, 32);
    n += 32;
    be(out + n, ms, 8);
    n += 8;
    be(out + n, 0, 2);
    n += 2;
    out[n++] = 4; /* sha256 */
    out[n++] = 3; /* ecdsa */
    be(out + n, siglen, 2);
    n += 2;
    memcpy(out + n, sig, siglen);
    return n + siglen;
}

/* The leaf's TBS as it is now, DER (malloc'd). */
static unsigned char *tbs_of(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_re_X509_tbs(x, &der);

    cr_assert(n > 0);
    *len = (size_t)n;
    return der;
}

/* Add the embedded SCT list extension to leaf (then re-signed by issuer). */
static void add_scts(pkigen_cert *leaf, const pkigen_cert *issuer, const pkigen_cert *other, EVP_PKEY *log,
                     const sct_spec *s)
{
    unsigned char sct[512], list[520];
    size_t tbslen, n;
    unsigned char *tbs = tbs_of(s->other_tbs ? other->x : leaf->x, &tbslen);
    uint64_t ms = (uint64_t)(time(NULL) - 60 + s->time_shift) * 1000;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext;

    n = make_sct(sct, sizeof(sct), log, s->signer_key != NULL ? s->signer_key : log, issuer->x, tbs, tbslen, ms);
    OPENSSL_free(tbs);
    be(list, n + 2, 2);
    be(list + 2, n, 2);
    memcpy(list + 4, sct, n);
    n += 4;
    if (s->truncate) {
        n -= 10;
    }
    cr_assert(os != NULL && ASN1_OCTET_STRING_set(os, list, (int)n) == 1);
    {
        unsigned char *der = NULL;
        int dlen = i2d_ASN1_OCTET_STRING(os, &der);
        ASN1_OCTET_STRING *wrapped = ASN1_OCTET_STRING_new();

        cr_assert(dlen > 0 && wrapped != NULL && ASN1_OCTET_STRING_set(wrapped, der, dlen) == 1);
        OPENSSL_free(der);
        ext = X509_EXTENSION_create_by_NID(NULL, NID_ct_precert_scts, 0, wrapped);
        ASN1_OCTET_STRING_free(wrapped);
    }
    ASN1_OCTET_STRING_free(os);
    cr_assert_not_null(ext);
    cr_assert(X509_add_ext(leaf->x, ext, -1) == 1);
    X509_EXTENSION_free(ext);
    cr_assert(X509_sign(leaf->x, issuer->key, EVP_sha256()) > 0);
}

static char *der_b64_cert(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    char *s;

    cr_assert(n > 0);
    s = tu_b64(der, (size_t)n);
    OPENSSL_free(der);
    return s;
}

/* A trusted root: the CA (validFor ca_start..ca_end, end optional) and the CT log (validFor from log_start). */
static char *write_trusted_root(const pkigen_cert *ca, const char *ca_start, const char *ca_end, EVP_PKEY *log,
                                const char *log_start)
{
    unsigned char *spki = NULL, id[32];
    int n = i2d_PUBKEY(log, &spki);
    char *cab = der_b64_cert(ca->x), *keyb, *idb, *text = NULL, *p = tu_path(tu_dir, "trusted_root.json");
    char end[80] = "";

    cr_assert(n > 0);
    SHA256(spki, (size_t)n, id);
    keyb = tu_b64(spki, (size_t)n);
    idb = tu_b64(id, 32);
    OPENSSL_free(spki);
    if (ca_end != NULL) {
        snprintf(end, sizeof(end), ",\"end\":\"%s\"", ca_end);
    }
    cr_assert(asprintf(&text,
                       "{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\","
                       "\"certificateAuthorities\":[{\"subject\":{},\"uri\":\"https://ca.test\","
                       "\"certChain\":{\"certificates\":[{\"rawBytes\":\"%s\"}]},"
                       "\"validFor\":{\"start\":\"%s\"%s}}],"
                       "\"ctlogs\":[{\"baseUrl\":\"https://ct.test\",\"hashAlgorithm\":\"SHA2_256\","
                       "\"publicKey\":{\"rawBytes\":\"%s\",\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\","
                       "\"validFor\":{\"start\":\"%s\"}},\"logId\":{\"keyId\":\"%s\"}}]}",
                       cab, ca_start, end, keyb, log_start, idb) > 0);
    tu_write_str(p, text);
    free(text);
    free(cab);
    free(keyb);
    free(idb);
    return p;
}

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    cr_assert_not_null(k);
    return k;
}

/* Sign an artifact with leaf, verify under the trusted root tr: exit code, *code the verdict's reason. */
static int st_sign_verify(const pkigen_cert *leaf, const char *tr, char *code, size_t codelen)
{
    char *art = tu_path(tu_dir, "a.txt"), *key = tu_path(tu_dir, "leaf.key"), *crt = tu_path(tu_dir, "leaf.pem"),
         *bun = tu_path(tu_dir, "a.txt.sigstore.json"), *pol = tu_path(tu_dir, "policy.json");
    const char *sargv[] = {"signet", "sign", "--force", "-k", key, "--cert", crt, "-o", bun, art, NULL};
    const char *vargv[] = {"signet", "verify", "--json", "-p", pol, "--trusted-root", tr, "-b", bun, "--", art, NULL};
    const pkigen_cert *chain[] = {leaf};
    json_t *v;
    int rc;

    tu_write_str(art, "an artifact\n");
    pkigen_write_key(key, leaf);
    pkigen_write_certs(crt, chain, 1);
    tu_write_str(pol, "{\"version\":1,\"roots\":[{\"name\":\"ca\",\"subjects\":[\"*\"],\"artifacts\":[\"*\"],"
                      "\"predicate_types\":[\"*\"]}]}");
    rc = tu_run(NULL, NULL, NULL, sargv);
    cr_assert_eq(rc, 0, "signet sign failed");
    free(tu_out);
    tu_out = NULL;
    rc = tu_run(&tu_out, NULL, NULL, vargv);
    v = json_loads(tu_out != NULL ? tu_out : "", 0, NULL);
    snprintf(code, codelen, "%s",
             v != NULL && json_string_value(json_object_get(v, "code")) != NULL
                 ? json_string_value(json_object_get(v, "code"))
                 : "?");
    json_decref(v);
    free(art);
    free(key);
    free(crt);
    free(bun);
    free(pol);
    return rc;
}

/* One case: a fresh leaf under ca, its SCTs as s says, trusted root with the given windows. */
static void expect_case(const pkigen_cert *ca, EVP_PKEY *log, const sct_spec *s, const char *ca_end,
                        const char *log_start, int rc_want, const char *code_want)
{
    pkigen_cert_opts lo = {.cn = "leaf", .email = "dev@example.test"};
    pkigen_cert *leaf = pkigen_cert_new(&lo, ca), *other = pkigen_cert_new(&lo, ca);
    char *tr = write_trusted_root(ca, "2000-01-01T00:00:00Z", ca_end, log, log_start);
    char code[64];
    int rc;

    if (!s->none) {
        add_scts(leaf, ca, other, log, s);
    }
    rc = st_sign_verify(leaf, tr, code, sizeof(code));
    cr_assert(rc == rc_want && strcmp(code, code_want) == 0, "exit %d code %s, want %d %s: %s", rc, code, rc_want,
              code_want, tu_out != NULL ? tu_out : "");
    pkigen_cert_free(leaf);
    pkigen_cert_free(other);
    free(tr);
}

Test(sct, embedded_sct_verified_and_each_fault_refused_for_its_reason, .timeout = 240)
{
    pkigen_cert_opts co = {.cn = "test ca", .ca = 1};
    pkigen_cert *ca = pkigen_cert_new(&co, NULL);
    EVP_PKEY *log = ec_key(), *other_log = ec_key();
    sct_spec good = {0}, none = {.none = 1}, trunc = {.truncate = 1}, other = {.other_tbs = 1},
             wrongkey = {.signer_key = other_log};

    expect_case(ca, log, &good, NULL, "2000-01-01T00:00:00Z", 0, "OK");
    cr_assert(strstr(tu_out, "signed certificate timestamp") != NULL, "%s", tu_out);
    expect_case(ca, log, &none, NULL, "2000-01-01T00:00:00Z", 3, "SCT_MISSING");
    expect_case(ca, log, &trunc, NULL, "2000-01-01T00:00:00Z", 1, "SCT_MALFORMED");
    expect_case(ca, log, &other, NULL, "2000-01-01T00:00:00Z", 1, "SCT_INVALID");
    expect_case(ca, log, &wrongkey, NULL, "2000-01-01T00:00:00Z", 1, "SCT_INVALID");
    /* The CT log key is valid only from 2099: the SCT (now) is outside it. */
    expect_case(ca, log, &good, NULL, "2099-01-01T00:00:00Z", 6, "SCT_OUTSIDE_LOG_VALIDITY");
    /* The certificate authority's validFor ended in 2001, before the signing time (now). */
    expect_case(ca, log, &good, "2001-01-01T00:00:00Z", "2000-01-01T00:00:00Z", 6, "CA_OUTSIDE_VALIDITY");
    pkigen_cert_free(ca);
    EVP_PKEY_free(log);
    EVP_PKEY_free(other_log);
}
