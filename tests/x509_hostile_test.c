/*
 * Signature-level hostile cases for certificate bundles and RFC 3161
 * timestamps (issue 6, item 6), made at test time with the OpenSSL API (no
 * server): a chain carrying a root, a chain in the wrong order, a CA
 * certificate as the leaf, duplicated and conflicting certificate fields,
 * trailing bytes after a certificate's DER, and two timestamps of which one
 * is bad. Each must fail for its own reason (docs/verify.md). Cases already
 * covered elsewhere: a root in the chain at the sign_x509_verify level
 * (x509/root_in_bundle_is_ignored), a token over the PAE and over another
 * bundle's signature (timestamp_cli/verify_refuses_imprint_over_pae_and_payload,
 * timestamp_cli/verify_refuses_tampered_and_transplanted_tokens).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "pkigen.h"
#include "sign/sign.h"
#include "testutil.h"

static char *r2_dir;
static char r2_paths[32][512];
static size_t r2_np;
static pkigen_cert *r2_root, *r2_in, *r2_leaf, *r2_tsa_root, *r2_tsa;

static const char *r2p(const char *name)
{
    cr_assert_lt(r2_np, 32);
    snprintf(r2_paths[r2_np], sizeof(r2_paths[0]), "%s/%s", r2_dir, name);
    return r2_paths[r2_np++];
}

static void r2_setup(void)
{
    pkigen_cert_opts ro = {.cn = "R2 Root", .ca = 1}, io = {.cn = "R2 Intermediate", .ca = 1};
    pkigen_cert_opts lo = {.cn = "R2 Release Signing"};
    pkigen_cert_opts tro = {.cn = "R2 TSA Root", .ca = 1}, to = {.cn = "R2 TSA", .eku = "timeStamping"};

    r2_dir = tu_mkdtemp();
    r2_np = 0;
    r2_root = pkigen_cert_new(&ro, NULL);
    r2_in = pkigen_cert_new(&io, r2_root);
    r2_leaf = pkigen_cert_new(&lo, r2_in);
    r2_tsa_root = pkigen_cert_new(&tro, NULL);
    r2_tsa = pkigen_cert_new(&to, r2_tsa_root);
    pkigen_write_certs(r2p("root.pem"), (const pkigen_cert *const *)&r2_root, 1);
    pkigen_write_certs(r2p("in.pem"), (const pkigen_cert *const *)&r2_in, 1);
    pkigen_write_certs(r2p("tsa-root.pem"), (const pkigen_cert *const *)&r2_tsa_root, 1);
    tu_write_str(r2p("app.bin"), "the artifact\n");
    tu_write_str(r2p("policy.json"),
                 "{\"version\":1,\"roots\":[{\"name\":\"ca\",\"certificates\":\"root.pem\"}],"
                 "\"timestamp_authorities\":[{\"name\":\"tsa\",\"certificates\":\"tsa-root.pem\"}]}");
    tu_write_str(r2p("policy-in.json"), "{\"version\":1,\"roots\":[{\"name\":\"ca\",\"certificates\":\"root.pem\","
                                        "\"intermediates\":\"in.pem\"}]}");
}

static void r2_teardown(void)
{
    pkigen_cert_free(r2_root);
    pkigen_cert_free(r2_in);
    pkigen_cert_free(r2_leaf);
    pkigen_cert_free(r2_tsa_root);
    pkigen_cert_free(r2_tsa);
    tu_rmtree(r2_dir);
    free(r2_dir);
}

TestSuite(x509_hostile, .init = r2_setup, .fini = r2_teardown);

/* Sign app.bin with signer's key and the certificates certs (signer's first), to out. */
static sign_bundle *r2_sign(const char *out, const pkigen_cert *signer, const pkigen_cert *const *certs, size_t n,
                            int embed)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1];
    const char *keypath = r2p("signer.key");
    sign_key *k = NULL;
    sign_x509_certs *c = pkigen_certs(certs, n);
    sign_bundle *b = NULL;

    pkigen_write_key(keypath, signer);
    cr_assert_eq(sign_key_load_private(&k, keypath, NULL, NULL), 0, "%s", sign_error_last());
    arts[0] = r2p("app.bin");
    o.key = k;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.certs = c;
    o.embed_chain = embed;
    o.output = out;
    cr_assert_eq(sign_sign(&b, NULL, &o), 0, "%s", sign_error_last());
    sign_x509_certs_free(c);
    sign_key_free(k);
    return b;
}

static int r2_verify(sign_verify_result **res, const char *policy, const char *bundle)
{
    sign_policy *p = NULL;
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[1], *bundles[1];
    int r;

    cr_assert_eq(sign_policy_load(&p, policy, NULL), 0, "%s", sign_error_last());
    arts[0] = r2p("app.bin");
    bundles[0] = bundle;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bundles;
    o.nbundles = 1;
    *res = NULL;
    r = sign_verify(res, p, &o);
    sign_policy_free(p);
    return r;
}

/* The check with this name and reason exists with this status. */
static int r2_has(const sign_verify_result *r, const char *check, const char *reason, sign_check_status st)
{
    for (size_t i = 0; r != NULL && i < sign_verify_result_check_count(r); i++) {
        const sign_check *c = sign_verify_result_check(r, i);

        if (strcmp(c->check, check) == 0 && strcmp(c->reason, reason) == 0 && c->status == st) {
            return 1;
        }
    }
    return 0;
}

static char *r2_dump(const sign_verify_result *r)
{
    char *s = NULL;

    if (r == NULL || sign_verify_result_json(&s, r) != 0) {
        return strdup("(no result)");
    }
    return s;
}

/* Verify and expect return code want and the check (check, reason, status). */
static void r2_expect(const char *policy, const char *bundle, int want, const char *check, const char *reason,
                      sign_check_status st)
{
    sign_verify_result *res = NULL;
    int r = r2_verify(&res, policy, bundle);
    char *j = r2_dump(res);

    cr_assert_eq(r, want, "%s: returned %d (%s), want %d: %s", bundle, r, sign_error_last(), want, j);
    cr_assert(r2_has(res, check, reason, st), "%s: no %s/%s: %s", bundle, check, reason, j);
    free(j);
    sign_verify_result_free(res);
}

static char *r2_cert_b64(const pkigen_cert *c, const char *trailing, size_t tlen)
{
    unsigned char *der = NULL, *buf;
    int n = i2d_X509(c->x, &der);
    char *s;

    cr_assert_gt(n, 0);
    buf = malloc((size_t)n + tlen);
    cr_assert_not_null(buf);
    memcpy(buf, der, (size_t)n);
    if (tlen > 0) {
        memcpy(buf + n, trailing, tlen);
    }
    s = tu_b64(buf, (size_t)n + tlen);
    OPENSSL_free(der);
    free(buf);
    return s;
}

/* The x509CertificateChain.certificates array of a v0.2 bundle JSON (borrowed). */
static json_t *r2_chain_array(json_t *root)
{
    json_t *a = json_object_get(
        json_object_get(json_object_get(root, "verificationMaterial"), "x509CertificateChain"), "certificates");

    cr_assert(json_is_array(a));
    return a;
}

static json_t *r2_load(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);

    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

static void r2_save(json_t *j, const char *path)
{
    cr_assert_eq(json_dump_file(j, path, JSON_COMPACT), 0);
    json_decref(j);
}

static json_t *r2_raw(const pkigen_cert *c, const char *trailing, size_t tlen)
{
    char *b = r2_cert_b64(c, trailing, tlen);
    json_t *j = json_pack("{s:s}", "rawBytes", b);

    free(b);
    cr_assert_not_null(j);
    return j;
}

/* Replace the first occurrence of what in the file by with. */
static void r2_edit(const char *path, const char *what, const char *with)
{
    size_t len = 0;
    char *text = tu_read(path, &len), *at, *out;

    cr_assert_not_null(text);
    at = strstr(text, what);
    cr_assert_not_null(at, "%s: no %s", path, what);
    out = malloc(len + strlen(with) + 1);
    cr_assert_not_null(out);
    memcpy(out, text, (size_t)(at - text));
    memcpy(out + (at - text), with, strlen(with));
    memcpy(out + (at - text) + strlen(with), at + strlen(what), len - (size_t)(at - text) - strlen(what) + 1);
    tu_write_str(path, out);
    free(out);
    free(text);
}

Test(x509_hostile, chain_with_a_root_included_trusts_only_the_policy_root)
{
    const pkigen_cert *chain[] = {r2_leaf, r2_in};
    const char *b = r2p("b.json"), *evil = r2p("evil.json");
    pkigen_cert_opts ro = {.cn = "R2 Root", .ca = 1}, io = {.cn = "R2 Intermediate", .ca = 1};
    pkigen_cert_opts lo = {.cn = "R2 Release Signing"};
    pkigen_cert *fr, *fi, *fl;
    json_t *j;

    sign_bundle_free(r2_sign(b, r2_leaf, chain, 2, 1));
    r2_expect(r2p("policy.json"), b, 0, "signer", "OK", SIGN_CHECK_PASS);
    /* The policy's own root appended to the chain: changes nothing. */
    j = r2_load(b);
    json_array_append_new(r2_chain_array(j), r2_raw(r2_root, NULL, 0));
    r2_save(j, b);
    r2_expect(r2p("policy.json"), b, 0, "signer", "OK", SIGN_CHECK_PASS);
    /* A whole forged PKI with the same names, its root shipped in the chain: never trusted. */
    fr = pkigen_cert_new(&ro, NULL);
    fi = pkigen_cert_new(&io, fr);
    fl = pkigen_cert_new(&lo, fi);
    {
        const pkigen_cert *fchain[] = {fl, fi};

        sign_bundle_free(r2_sign(evil, fl, fchain, 2, 1));
    }
    j = r2_load(evil);
    json_array_append_new(r2_chain_array(j), r2_raw(fr, NULL, 0));
    r2_save(j, evil);
    r2_expect(r2p("policy.json"), evil, SIGN_EUNTRUSTED, "signer", "ROOT_UNKNOWN", SIGN_CHECK_FAIL);
    /* Only the forged root, placed first (as if it were the leaf): its key did not sign. */
    j = r2_load(evil);
    json_array_insert_new(r2_chain_array(j), 0, r2_raw(fr, NULL, 0));
    r2_save(j, evil);
    r2_expect(r2p("policy.json"), evil, SIGN_EBADSIG, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL);
    pkigen_cert_free(fr);
    pkigen_cert_free(fi);
    pkigen_cert_free(fl);
}

Test(x509_hostile, chain_in_the_wrong_order_is_refused)
{
    const pkigen_cert *chain[] = {r2_leaf, r2_in};
    const char *b = r2p("b.json");
    json_t *j, *a, *first;

    sign_bundle_free(r2_sign(b, r2_leaf, chain, 2, 1));
    j = r2_load(b);
    a = r2_chain_array(j);
    first = json_incref(json_array_get(a, 0));
    json_array_remove(a, 0);
    json_array_append_new(a, first); /* [intermediate, leaf] */
    r2_save(j, b);
    /* The first certificate is the leaf: the intermediate's key did not make the signature. */
    r2_expect(r2p("policy.json"), b, SIGN_EBADSIG, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL);
    /* Even when the policy supplies the intermediate. */
    r2_expect(r2p("policy-in.json"), b, SIGN_EBADSIG, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL);
}

Test(x509_hostile, leaf_that_is_a_ca_is_refused)
{
    pkigen_cert_opts co = {.cn = "R2 Signing CA", .ca = 1, .eku = "codeSigning"};
    pkigen_cert *ca = pkigen_cert_new(&co, r2_in);
    const pkigen_cert *chain[] = {ca, r2_in}, *inter[] = {r2_in};
    sign_x509_certs *c = pkigen_certs(chain, 1);
    sign_x509_info info;
    const char *bi = r2p("inter.json");

    /* A CA certificate with digitalSignature and the code-signing EKU: only basicConstraints tells. */
    cr_assert_eq(sign_x509_certs_info(&info, c, 0), 0);
    cr_assert(info.is_ca && info.code_signing && info.digital_signature);
    sign_x509_certs_free(c);
    sign_bundle_free(r2_sign(r2p("ca.json"), ca, chain, 2, 1));
    r2_expect(r2p("policy.json"), r2p("ca.json"), SIGN_EUNTRUSTED, "signer", "LEAF_IS_CA", SIGN_CHECK_FAIL);
    /* The intermediate's own key signing directly. */
    sign_bundle_free(r2_sign(bi, r2_in, inter, 1, 0));
    r2_expect(r2p("policy.json"), bi, SIGN_EUNTRUSTED, "signer", "LEAF_IS_CA", SIGN_CHECK_FAIL);
    pkigen_cert_free(ca);
}

Test(x509_hostile, duplicate_and_conflicting_certificate_fields_are_refused)
{
    const pkigen_cert *one[] = {r2_leaf}, *chain[] = {r2_leaf, r2_in};
    const char *b3 = r2p("v03.json"), *b2 = r2p("v02.json"), *t = r2p("t.json");
    pkigen_cert_opts lo = {.cn = "R2 Release Signing"};
    pkigen_cert *other = pkigen_cert_new(&lo, r2_in);
    char *good = r2_cert_b64(r2_leaf, NULL, 0), *bad = r2_cert_b64(other, NULL, 0), *cert = NULL, *dup = NULL;
    size_t len = 0;
    char *text;
    json_t *j, *vm;

    sign_bundle_free(r2_sign(b3, r2_leaf, one, 1, 0));
    sign_bundle_free(r2_sign(b2, r2_leaf, chain, 2, 1));
    r2_expect(r2p("policy-in.json"), b3, 0, "signer", "OK", SIGN_CHECK_PASS);
    /* "rawBytes" twice: another certificate first, the real one last (a first-wins reader would differ). */
    text = tu_read(b3, &len);
    tu_write_str(t, text);
    free(text);
    cert = malloc(strlen(good) + 32);
    dup = malloc(strlen(good) + strlen(bad) + 64);
    snprintf(cert, strlen(good) + 32, "\"rawBytes\":\"%s\"", good);
    snprintf(dup, strlen(good) + strlen(bad) + 64, "\"rawBytes\":\"%s\",\"rawBytes\":\"%s\"", bad, good);
    r2_edit(t, cert, dup);
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    /* "certificate" twice in verificationMaterial. */
    text = tu_read(b3, &len);
    tu_write_str(t, text);
    free(text);
    snprintf(dup, strlen(good) + strlen(bad) + 64, "\"certificate\":{\"rawBytes\":\"%s\"},\"certificate\":{", bad);
    r2_edit(t, "\"certificate\":{", dup);
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    /* A certificate and a publicKey hint side by side: which one signs would be ambiguous. */
    j = r2_load(b3);
    vm = json_object_get(j, "verificationMaterial");
    json_object_set_new(vm, "publicKey", json_pack("{s:s}", "hint", "release"));
    r2_save(j, t);
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    /* A v0.2 chain and a v0.3 certificate together (in either media type). */
    j = r2_load(b2);
    vm = json_object_get(j, "verificationMaterial");
    json_object_set_new(vm, "certificate", json_pack("{s:s}", "rawBytes", bad));
    r2_save(j, t);
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    j = r2_load(b3);
    vm = json_object_get(j, "verificationMaterial");
    json_object_set_new(vm, "x509CertificateChain", json_pack("{s:[{s:s}]}", "certificates", "rawBytes", good));
    r2_save(j, t);
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    /* "x509CertificateChain" twice, the last one empty. */
    text = tu_read(b2, &len);
    tu_write_str(t, text);
    free(text);
    r2_edit(t, "\"x509CertificateChain\":{",
            "\"x509CertificateChain\":{\"certificates\":[]},\"x509CertificateChain\":{");
    r2_expect(r2p("policy-in.json"), t, SIGN_EPARSE, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL);
    free(good);
    free(bad);
    free(cert);
    free(dup);
    pkigen_cert_free(other);
}

Test(x509_hostile, certificate_with_trailing_bytes_after_its_der_is_refused)
{
    const pkigen_cert *one[] = {r2_leaf}, *chain[] = {r2_leaf, r2_in};
    const char *b3 = r2p("v03.json"), *b2 = r2p("v02.json");
    static const char junk[] = "\x00\x30\x03\x02\x01\x01garbage";
    json_t *j, *a;

    sign_bundle_free(r2_sign(b3, r2_leaf, one, 1, 0));
    sign_bundle_free(r2_sign(b2, r2_leaf, chain, 2, 1));
    /* The leaf: a valid certificate, then bytes (one NUL; a second DER element; text). */
    for (size_t cut = 1; cut <= sizeof(junk) - 1; cut += 6) {
        j = r2_load(b3);
        json_object_set_new(json_object_get(j, "verificationMaterial"), "certificate", r2_raw(r2_leaf, junk, cut));
        r2_save(j, r2p("t.json"));
        r2_expect(r2p("policy-in.json"), r2p("t.json"), SIGN_EPARSE, "signer", "CERTIFICATE_MALFORMED",
                  SIGN_CHECK_FAIL);
    }
    /* An intermediate of a v0.2 chain. */
    j = r2_load(b2);
    a = r2_chain_array(j);
    json_array_set_new(a, 1, r2_raw(r2_in, junk, sizeof(junk) - 1));
    r2_save(j, r2p("t.json"));
    r2_expect(r2p("policy.json"), r2p("t.json"), SIGN_EPARSE, "signer", "CERTIFICATE_MALFORMED", SIGN_CHECK_FAIL);
}

/* A DER TimeStampResp from the test TSA over SHA-256(data) (made in-process). */
static unsigned char *r2_stamp(size_t *outlen, const void *data, size_t len)
{
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_OBJECT *pol = OBJ_txt2obj("1.2.3.4.1", 1);
    unsigned char md[32], *der = NULL, *out;
    unsigned int mdlen = 0;
    BIO *reqbio = BIO_new(BIO_s_mem());
    TS_RESP *resp;
    int n;

    cr_assert(ctx != NULL && req != NULL && mi != NULL && alg != NULL && pol != NULL && reqbio != NULL);
    cr_assert(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL));
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    cr_assert(TS_MSG_IMPRINT_set_algo(mi, alg) && TS_MSG_IMPRINT_set_msg(mi, md, (int)mdlen) &&
              TS_REQ_set_version(req, 1) && TS_REQ_set_msg_imprint(req, mi) && TS_REQ_set_cert_req(req, 1) &&
              i2d_TS_REQ_bio(reqbio, req));
    cr_assert(TS_RESP_CTX_set_signer_cert(ctx, r2_tsa->x) && TS_RESP_CTX_set_signer_key(ctx, r2_tsa->key) &&
              TS_RESP_CTX_set_def_policy(ctx, pol) && TS_RESP_CTX_add_md(ctx, EVP_sha256()) &&
              TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()));
    resp = TS_RESP_create_response(ctx, reqbio);
    cr_assert_not_null(resp);
    n = i2d_TS_RESP(resp, &der);
    cr_assert_gt(n, 0);
    out = malloc((size_t)n);
    cr_assert_not_null(out);
    memcpy(out, der, (size_t)n);
    *outlen = (size_t)n;
    OPENSSL_free(der);
    TS_RESP_free(resp);
    BIO_free(reqbio);
    ASN1_OBJECT_free(pol);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    TS_RESP_CTX_free(ctx);
    return out;
}

/* A bundle of app.bin signed by the leaf, with the timestamps given (each over sig when NULL). */
static void r2_stamped(const char *out, const void *const *over, const size_t *overlen, size_t n, int truncate_at)
{
    const pkigen_cert *chain[] = {r2_leaf, r2_in};
    sign_bundle *b = r2_sign(NULL, r2_leaf, chain, 2, 1);
    size_t siglen = 0;
    const unsigned char *sig = sign_envelope_signature(sign_bundle_envelope(b), 0, &siglen);

    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        unsigned char *der = r2_stamp(&len, over[i] != NULL ? over[i] : sig, over[i] != NULL ? overlen[i] : siglen);

        if ((int)i == truncate_at) {
            len /= 2; /* a malformed token */
        }
        cr_assert_eq(sign_bundle_add_timestamp(b, der, len), 0, "%s", sign_error_last());
        free(der);
    }
    cr_assert_eq(sign_bundle_write(b, out), 0, "%s", sign_error_last());
    sign_bundle_free(b);
}

Test(x509_hostile, two_timestamps_of_which_one_is_bad_fail)
{
    static const char other[] = "some other bytes";
    const void *over[2] = {NULL, NULL};
    size_t overlen[2] = {0, 0};
    const char *b = r2p("ts.json");
    sign_verify_result *res = NULL;
    char *j;

    /* Both good: verifies, two timestamp checks pass. */
    r2_stamped(b, over, overlen, 2, -1);
    r2_expect(r2p("policy.json"), b, 0, "timestamp", "OK", SIGN_CHECK_PASS);
    /* Good, then one over other bytes: the good one does not carry the bad one. */
    over[1] = other;
    overlen[1] = sizeof(other);
    r2_stamped(b, over, overlen, 2, -1);
    cr_assert_eq(r2_verify(&res, r2p("policy.json"), b), SIGN_EBADSIG);
    j = r2_dump(res);
    cr_assert(r2_has(res, "timestamp", "OK", SIGN_CHECK_PASS), "%s", j);
    cr_assert(r2_has(res, "timestamp", "TIMESTAMP_IMPRINT_MISMATCH", SIGN_CHECK_FAIL), "%s", j);
    free(j);
    sign_verify_result_free(res);
    /* The bad one first. */
    over[0] = other;
    overlen[0] = sizeof(other);
    over[1] = NULL;
    r2_stamped(b, over, overlen, 2, -1);
    r2_expect(r2p("policy.json"), b, SIGN_EBADSIG, "timestamp", "TIMESTAMP_IMPRINT_MISMATCH", SIGN_CHECK_FAIL);
    /* A good token and a truncated one, either order. */
    over[0] = NULL;
    r2_stamped(b, over, overlen, 2, 1);
    r2_expect(r2p("policy.json"), b, SIGN_EBADSIG, "timestamp", "TIMESTAMP_INVALID", SIGN_CHECK_FAIL);
    r2_stamped(b, over, overlen, 2, 0);
    r2_expect(r2p("policy.json"), b, SIGN_EBADSIG, "timestamp", "TIMESTAMP_INVALID", SIGN_CHECK_FAIL);
}
