/* Tests of the verification pipeline, driving the library with keys and bundles made here. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"
#include "zipgen.h"

#if defined(__SANITIZE_ADDRESS__)
#define VT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VT_SANITIZED 1
#endif
#endif
#ifndef VT_SANITIZED
#define VT_SANITIZED 0
#endif

static char *vt_dir;
static sign_key *vt_ka, *vt_kb, *vt_kc; /* a, b trusted by the policies below; c never */

static char *vt_p(const char *name)
{
    return tu_path(vt_dir, name);
}

static void vt_setup(void)
{
    char *p;

    vt_dir = tu_mkdtemp();
    cr_assert_eq(sign_key_generate(&vt_ka, SIGN_KEY_ED25519, 0), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_generate(&vt_kb, SIGN_KEY_ECDSA_P256, 0), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_generate(&vt_kc, SIGN_KEY_ED25519, 0), 0, "%s", sign_error_last());
    p = vt_p("a.pub");
    cr_assert_eq(sign_key_write_public(vt_ka, p), 0, "%s", sign_error_last());
    free(p);
    p = vt_p("b.pub");
    cr_assert_eq(sign_key_write_public(vt_kb, p), 0, "%s", sign_error_last());
    free(p);
}

static void vt_teardown(void)
{
    sign_key_free(vt_ka);
    sign_key_free(vt_kb);
    sign_key_free(vt_kc);
    vt_ka = vt_kb = vt_kc = NULL;
    tu_rmtree(vt_dir);
    free(vt_dir);
    vt_dir = NULL;
}

TestSuite(verify, .init = vt_setup, .fini = vt_teardown);

/* Write a plain file; returns its path (malloc'd). */
static char *vt_file(const char *name, const char *content)
{
    char *p = vt_p(name);

    tu_write_str(p, content);
    return p;
}

/* Write a zip holding the given (path, content) pairs, NULL-terminated (built by zipgen, deflated). */
static char *vt_zip(const char *name, ...)
{
    zg_entry e[8];
    zg_opts o;
    char *p = vt_p(name);
    const char *path;
    size_t n = 0;
    va_list ap;

    memset(e, 0, sizeof(e));
    memset(&o, 0, sizeof(o));
    va_start(ap, name);
    while ((path = va_arg(ap, const char *)) != NULL) {
        const char *content = va_arg(ap, const char *);

        cr_assert_lt(n, sizeof(e) / sizeof(e[0]));
        e[n].name = path;
        e[n].data = content;
        e[n].len = strlen(content);
        e[n].deflate = 1;
        e[n].unix_mode = S_IFREG | 0644;
        n++;
    }
    va_end(ap);
    zg_write(p, e, n, &o);
    return p;
}

/* Sign artifacts (paths in vt_dir named by their file names) with key into bundle `out` (a name in vt_dir). */
static char *vt_sign(const sign_key *key, const char *out, size_t n, const char *const *names)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    sign_bundle *b = NULL;
    char **paths = calloc(n, sizeof(char *));
    char *bpath = vt_p(out);

    cr_assert_not_null(paths);
    for (size_t i = 0; i < n; i++) {
        paths[i] = vt_p(names[i]);
    }
    o.key = key;
    o.artifacts = (const char *const *)paths;
    o.names = names;
    o.nartifacts = n;
    o.output = bpath;
    cr_assert_eq(sign_sign(&b, NULL, &o), 0, "sign: %s", sign_error_last());
    sign_bundle_free(b);
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
    }
    free(paths);
    return bpath;
}

static char *vt_sign1(const sign_key *key, const char *artifact)
{
    char out[256];

    snprintf(out, sizeof(out), "%s.sigstore.json", artifact);
    return vt_sign(key, out, 1, &artifact);
}

static sign_policy *vt_policy(const char *fmt, ...) SIGN_PRINTF(1, 2);

/* A policy from printf-style JSON text, paths relative to vt_dir. */
static sign_policy *vt_policy(const char *fmt, ...)
{
    char text[4096];
    sign_policy *p = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cr_assert_eq(sign_policy_parse(&p, text, strlen(text), vt_dir, NULL), 0, "policy: %s\n%s", sign_error_last(),
                 text);
    return p;
}

#define VT_KEYS_AB                                                                                                   \
    "\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\"},{\"name\":\"bob\",\"public_key\":\"b.pub\"}]"
#define VT_POLICY_AB "{\"version\":1," VT_KEYS_AB "}"

typedef struct vt_run {
    int r;
    sign_verify_result *res;
} vt_run;

/* Verify artifact names (in vt_dir) with bundle names (in vt_dir, or none for the default). */
static vt_run vt_verify(const sign_policy *p, size_t na, const char *const *arts, size_t nb,
                        const char *const *bundles, unsigned int flags, int64_t at)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    char **ap = calloc(na + 1, sizeof(char *)), **bp = calloc(nb + 1, sizeof(char *));
    vt_run run;

    for (size_t i = 0; i < na; i++) {
        ap[i] = vt_p(arts[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        bp[i] = vt_p(bundles[i]);
    }
    o.artifacts = (const char *const *)ap;
    o.nartifacts = na;
    o.bundles = (const char *const *)bp;
    o.nbundles = nb;
    o.flags = flags;
    o.at = at;
    run.res = NULL;
    run.r = sign_verify(&run.res, p, &o);
    cr_assert_not_null(run.res, "sign_verify gave no result: %d %s", run.r, sign_error_last());
    cr_assert_eq(sign_verify_result_code(run.res), run.r);
    for (size_t i = 0; i < na; i++) {
        free(ap[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        free(bp[i]);
    }
    free(ap);
    free(bp);
    return run;
}

static vt_run vt_verify1(const sign_policy *p, const char *artifact)
{
    return vt_verify(p, 1, &artifact, 0, NULL, 0, 0);
}

/* Number of checks with this reason and status. */
static size_t vt_count(const sign_verify_result *res, const char *reason, sign_check_status st)
{
    size_t n = 0;

    for (size_t i = 0; i < sign_verify_result_check_count(res); i++) {
        const sign_check *c = sign_verify_result_check(res, i);

        if (strcmp(c->reason, reason) == 0 && c->status == st) {
            n++;
        }
    }
    return n;
}

static size_t vt_failures(const sign_verify_result *res)
{
    size_t n = 0;

    for (size_t i = 0; i < sign_verify_result_check_count(res); i++) {
        if (sign_verify_result_check(res, i)->status == SIGN_CHECK_FAIL) {
            n++;
        }
    }
    return n;
}

static void vt_dump(const sign_verify_result *res)
{
    for (size_t i = 0; i < sign_verify_result_check_count(res); i++) {
        const sign_check *c = sign_verify_result_check(res, i);

        fprintf(stderr, "  %s %s %s: %s\n", sign_check_status_name(c->status), c->check, c->reason, c->message);
    }
}

/* Assert a failure with this reason, and the returned class. */
static void vt_expect_fail(vt_run run, const char *reason, int code)
{
    if (vt_count(run.res, reason, SIGN_CHECK_FAIL) == 0 || run.r != code) {
        vt_dump(run.res);
    }
    cr_assert_gt(vt_count(run.res, reason, SIGN_CHECK_FAIL), 0, "no failing %s check", reason);
    cr_assert_eq(run.r, code, "returned %d (%s), expected %d (%s)", run.r, sign_strerror(run.r), code,
                 sign_strerror(code));
    cr_assert_eq(sign_verify_result_ok(run.res), 0);
}

static void vt_expect_ok(vt_run run)
{
    if (run.r != 0 || vt_failures(run.res) != 0) {
        vt_dump(run.res);
    }
    cr_assert_eq(run.r, 0, "returned %d: %s", run.r, sign_error_last());
    cr_assert_eq(sign_verify_result_ok(run.res), 1);
    cr_assert_eq(vt_failures(run.res), 0);
}

/* Load a bundle's JSON, let edit() change it, write it back. */
static void vt_edit_bundle(const char *path, void (*edit)(json_t *root, void *arg), void *arg)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);

    cr_assert_not_null(root, "%s: %s", path, err.text);
    edit(root, arg);
    cr_assert_eq(json_dump_file(root, path, JSON_COMPACT), 0);
    json_decref(root);
}

static json_t *vt_env(json_t *root)
{
    json_t *env = json_object_get(root, "dsseEnvelope");

    cr_assert_not_null(env);
    return env;
}

/* ---- roundtrips ---------------------------------------------------- */

Test(verify, roundtrip_file)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "hello, world\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run = vt_verify1(p, name);

    vt_expect_ok(run);
    cr_assert_eq(vt_count(run.res, "OK", SIGN_CHECK_PASS) >= 6, 1, "passing checks are recorded");
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, roundtrip_zip_with_entries)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "index.js", "exports.handler = 1;\n", "lib/util.js", "x\n", NULL);
    char *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy("{\"version\":1," VT_KEYS_AB ",\"require\":{\"entries\":true}}");
    vt_run run = vt_verify1(p, name);

    vt_expect_ok(run);
    cr_assert_eq(vt_count(run.res, "OK", SIGN_CHECK_PASS) > 0, 1);
    {
        int entries_ok = 0;

        for (size_t i = 0; i < sign_verify_result_check_count(run.res); i++) {
            const sign_check *c = sign_verify_result_check(run.res, i);

            entries_ok |= strcmp(c->check, "entries") == 0 && c->status == SIGN_CHECK_PASS;
        }
        cr_assert(entries_ok, "the entries were compared");
    }
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, several_artifacts_in_one_bundle)
{
    const char *names[] = {"app.zip", "README.txt", "tool.bin"};
    char *a0 = vt_zip(names[0], "index.js", "1\n", NULL), *a1 = vt_file(names[1], "read me\n");
    char *a2 = vt_file(names[2], "\x7f"
                                 "ELF");
    char *b = vt_sign(vt_kb, "release.sigstore.json", 3, names);
    const char *bundles[] = {"release.sigstore.json"};
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run = vt_verify(p, 3, names, 1, bundles, 0, 0);
    char *js = NULL;
    json_t *j;
    json_error_t err;

    vt_expect_ok(run);
    cr_assert_eq(sign_verify_result_json(&js, run.res), 0);
    j = json_loads(js, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    cr_assert(json_is_true(json_object_get(j, "verified")));
    cr_assert(json_is_true(json_object_get(j, "accepted")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "OK");
    cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "enforce");
    cr_assert_eq(json_array_size(json_object_get(j, "artifacts")), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *art = json_array_get(json_object_get(j, "artifacts"), i);

        cr_assert(json_is_true(json_object_get(art, "verified")));
        cr_assert_eq(json_string_length(json_object_get(art, "sha256")), 64);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_array_get(json_object_get(art, "signers"), 0), "name")), "bob");
    }
    json_decref(j);
    free(js);
    /* Verifying a subset of the release with the same bundle is fine too. */
    sign_verify_result_free(run.res);
    run = vt_verify(p, 1, names + 1, 1, bundles, 0, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a0);
    free(a1);
    free(a2);
    free(b);
}

/* ---- tampering ------------------------------------------------------- */

Test(verify, one_byte_changed_is_a_digest_mismatch)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "index.js", "exports.handler = 1;\n", NULL), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    size_t len;
    char *data = tu_read(a, &len);
    vt_run run;

    data[len / 2] ^= 0x01;
    tu_write(a, data, len);
    run = vt_verify1(p, name);
    vt_expect_fail(run, "DIGEST_MISMATCH", SIGN_EDIGEST);
    cr_assert_not_null(strstr(sign_error_last(), "changed after signing"), "%s", sign_error_last());
    sign_verify_result_free(run.res);
    /* A different zip under the same name, with entries compared: the changed entry is named too. */
    free(a);
    a = vt_zip(name, "index.js", "exports.handler = 2;\n", NULL);
    run = vt_verify(p, 1, &name, 0, NULL, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "DIGEST_MISMATCH", SIGN_EDIGEST);
    cr_assert_eq(vt_count(run.res, "ENTRY_MISMATCH", SIGN_CHECK_FAIL), 1);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(data);
    free(a);
    free(b);
}

static void vt_edit_payload(json_t *root, void *arg)
{
    json_t *env = vt_env(root);
    const char *b64 = json_string_value(json_object_get(env, "payload"));
    unsigned char *dec = NULL;
    size_t n = 0;
    char *enc = NULL, *text = NULL;
    json_t *st;

    (void)arg;
    cr_assert_eq(sign__b64_decode(&dec, &n, b64, strlen(b64)), 0);
    st = json_loadb((const char *)dec, n, 0, NULL);
    cr_assert_not_null(st);
    /* Point the subject at other bytes: as an attacker swapping the artifact would. */
    json_object_set_new(json_object_get(json_array_get(json_object_get(st, "subject"), 0), "digest"), "sha256",
                        json_string("0000000000000000000000000000000000000000000000000000000000000000"));
    cr_assert_eq(sign__json_dump(&text, NULL, st, 0), 0);
    cr_assert_eq(sign__b64_encode(&enc, (const unsigned char *)text, strlen(text)), 0);
    json_object_set_new(env, "payload", json_string(enc));
    json_decref(st);
    free(dec);
    free(enc);
    free(text);
}

Test(verify, payload_edited_is_an_invalid_signature)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;

    vt_edit_bundle(b, vt_edit_payload, NULL);
    run = vt_verify1(p, name);
    vt_expect_fail(run, "SIGNATURE_INVALID", SIGN_EBADSIG);
    cr_assert_eq(vt_count(run.res, "OK", SIGN_CHECK_PASS) >= 1, 1, "the bundle itself parsed");
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

static void vt_edit_type(json_t *root, void *arg)
{
    json_object_set_new(vt_env(root), "payloadType", json_string((const char *)arg));
}

Test(verify, payload_type_edited)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;

    vt_edit_bundle(b, vt_edit_type, "application/json");
    run = vt_verify1(p, name);
    vt_expect_fail(run, "PAYLOAD_TYPE_WRONG", SIGN_EVERIFY);
    cr_assert_eq(vt_count(run.res, "SIGNATURE_INVALID", SIGN_CHECK_FAIL), 1, "the signature covers the type");
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, malformed_bundle)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;

    tu_write_str(b, "{\"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\"} x");
    run = vt_verify1(p, name);
    vt_expect_fail(run, "BUNDLE_MALFORMED", SIGN_EPARSE);
    cr_assert_eq(vt_count(run.res, "ARTIFACT_NOT_SIGNED", SIGN_CHECK_FAIL), 1);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

/* ---- signers --------------------------------------------------------- */

Test(verify, bundle_by_another_key_is_untrusted)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_kc, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run = vt_verify1(p, name);

    vt_expect_fail(run, "KEY_UNTRUSTED", SIGN_EUNTRUSTED);
    /* No valid signature covers the bytes: the threshold is not counted, the subject check says why. */
    cr_assert_eq(vt_count(run.res, "THRESHOLD_NOT_MET", SIGN_CHECK_FAIL), 0);
    cr_assert_eq(vt_count(run.res, "NOT_COUNTED", SIGN_CHECK_SKIP), 1);
    cr_assert_eq(vt_count(run.res, "ARTIFACT_NOT_SIGNED", SIGN_CHECK_FAIL), 1);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

static void vt_edit_keyid(json_t *root, void *arg)
{
    const char *id = arg;
    json_t *sig = json_array_get(json_object_get(vt_env(root), "signatures"), 0);
    json_t *pk = json_object_get(json_object_get(root, "verificationMaterial"), "publicKey");

    json_object_set_new(sig, "keyid", json_string(id[0] == '\0' ? "" : id));
    json_object_set_new(pk, "hint", json_string(id[0] == '\0' ? "c29tZSBvdGhlciB0b29s" : id));
}

Test(verify, keyid_naming_a_trusted_key_on_another_keys_signature)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_kc, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    char ida[SIGN_KEYID_SIZE];
    vt_run run;

    cr_assert_eq(sign_key_id(ida, sizeof(ida), vt_ka), 0);
    vt_edit_bundle(b, vt_edit_keyid, ida);
    run = vt_verify1(p, name);
    vt_expect_fail(run, "SIGNATURE_INVALID", SIGN_EBADSIG);
    cr_assert_eq(vt_count(run.res, "OK", SIGN_CHECK_PASS) >= 1, 1);
    sign_verify_result_free(run.res);
    /* The same with bob's key id on a signature by alice: named key decides, no fallback. */
    free(b);
    b = vt_sign1(vt_ka, name);
    cr_assert_eq(sign_key_id(ida, sizeof(ida), vt_kb), 0);
    vt_edit_bundle(b, vt_edit_keyid, ida);
    run = vt_verify1(p, name);
    vt_expect_fail(run, "SIGNATURE_INVALID", SIGN_EBADSIG);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, bundle_from_another_tool_with_unknown_keyid_verifies_by_signature)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_kb, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;

    vt_edit_bundle(b, vt_edit_keyid, "");
    run = vt_verify1(p, name);
    vt_expect_ok(run);
    {
        const sign_check *c = NULL;

        for (size_t i = 0; i < sign_verify_result_check_count(run.res); i++) {
            if (strcmp(sign_verify_result_check(run.res, i)->check, "signature") == 0) {
                c = sign_verify_result_check(run.res, i);
            }
        }
        cr_assert_not_null(c);
        cr_assert_str_eq(c->signer, "bob");
    }
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

/* A self-signed certificate's DER, base64. */
static char *vt_cert_b64(void)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x = X509_new();
    unsigned char *der = NULL;
    char *b64 = NULL;
    int n;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"Signer", -1, -1,
                               0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    cr_assert(X509_sign(x, pk, NULL) > 0);
    n = i2d_X509(x, &der);
    cr_assert_gt(n, 0);
    cr_assert_eq(sign__b64_encode(&b64, der, (size_t)n), 0);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(pk);
    return b64;
}

static void vt_edit_cert(json_t *root, void *arg)
{
    json_t *vm = json_object_get(root, "verificationMaterial");

    json_object_del(vm, "publicKey");
    json_object_set_new(vm, "certificate", json_pack("{s:s}", "rawBytes", (const char *)arg));
}

/* The certificate's key did not make the signature (the bundle was signed by key A). */
Test(verify, certificate_key_must_make_the_signature)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name), *cert = vt_cert_b64();
    sign_policy *p = vt_policy(VT_POLICY_AB);
    sign_bundle *bb = NULL;
    vt_run run;

    vt_edit_bundle(b, vt_edit_cert, cert);
    cr_assert_eq(sign_bundle_read(&bb, b, NULL), 0, "a v0.3 certificate bundle is well-formed: %s",
                 sign_error_last());
    sign_bundle_free(bb);
    run = vt_verify1(p, name);
    vt_expect_fail(run, "SIGNATURE_INVALID", SIGN_EBADSIG);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(cert);
    free(a);
    free(b);
}

Test(verify, key_validity_window)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *expired =
        vt_policy("{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\","
                  "\"not_before\":\"2020-01-01T00:00:00Z\",\"not_after\":\"2021-01-01T00:00:00Z\"}]}");
    sign_policy *future = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\","
                                    "\"not_before\":\"2999-01-01T00:00:00Z\"}]}");
    vt_run run = vt_verify1(expired, name);
    int64_t at;

    vt_expect_fail(run, "KEY_EXPIRED", SIGN_EEXPIRED);
    cr_assert_not_null(strstr(sign_error_last(), "2021-01-01T00:00:00Z"), "%s", sign_error_last());
    sign_verify_result_free(run.res);
    run = vt_verify1(future, name);
    vt_expect_fail(run, "KEY_NOT_YET_VALID", SIGN_EEXPIRED);
    sign_verify_result_free(run.res);
    /* Judged as of a time inside the window (--at), it passes. */
    cr_assert_eq(sign_parse_time(&at, "2020-06-01T00:00:00Z"), 0);
    run = vt_verify(expired, 1, &name, 0, NULL, 0, at);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    sign_policy_free(expired);
    sign_policy_free(future);
    free(a);
    free(b);
}

/* SIGN_VERIFY_AT: at == 0 is the epoch, not "now" (before options version 4 it could not be judged). */
Test(verify, the_epoch_itself_is_judged_with_SIGN_VERIFY_AT)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\","
                               "\"not_before\":\"1969-12-31T00:00:00Z\",\"not_after\":\"1970-01-02T00:00:00Z\"}]}");
    vt_run run = vt_verify(p, 1, &name, 0, NULL, SIGN_VERIFY_AT, 0);

    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    /* Without the flag, at == 0 is now: the key expired in 1970. */
    run = vt_verify(p, 1, &name, 0, NULL, 0, 0);
    vt_expect_fail(run, "KEY_EXPIRED", SIGN_EEXPIRED);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

/* ---- policy ---------------------------------------------------------- */

Test(verify, artifact_name_outside_the_keys_globs)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "index.js", "1\n", NULL), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\","
                               "\"artifacts\":[\"*.tar\",\"lib-*.zip\"]}]}");
    sign_policy *ok = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\","
                                "\"artifacts\":[\"*.tar\",\"app*.zip\"]}]}");
    vt_run run = vt_verify1(p, name);

    vt_expect_fail(run, "SIGNER_NOT_ALLOWED", SIGN_EPOLICY);
    cr_assert_eq(vt_count(run.res, "THRESHOLD_NOT_MET", SIGN_CHECK_FAIL), 1, "a disallowed signer does not count");
    sign_verify_result_free(run.res);
    run = vt_verify1(ok, name);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    sign_policy_free(ok);
    free(a);
    free(b);
}

Test(verify, missing_bundle)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n");
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run = vt_verify1(p, name);

    /* No bundle beside it and none given: unsigned, a verification failure (docs/verify.md, exit codes). */
    vt_expect_fail(run, "NO_BUNDLE", SIGN_EVERIFY);
    cr_assert_not_null(strstr(sign_error_last(), "app.bin.sigstore.json"), "%s", sign_error_last());
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
}

Test(verify, artifact_not_in_the_bundle)
{
    const char *names[] = {"one.bin", "two.bin"};
    const char *bundles[] = {"one.bin.sigstore.json"};
    char *a0 = vt_file(names[0], "1\n"), *a1 = vt_file(names[1], "2\n"), *b = vt_sign1(vt_ka, names[0]);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run = vt_verify(p, 2, names, 1, bundles, 0, 0);

    vt_expect_fail(run, "ARTIFACT_NOT_SIGNED", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a0);
    free(a1);
    free(b);
}

Test(verify, unreadable_artifact_is_an_input_error)
{
    const char *name = "nope.bin";
    sign_policy *p = vt_policy("{\"version\":1,\"mode\":\"warn\"," VT_KEYS_AB "}");
    vt_run run = vt_verify1(p, name);

    vt_expect_fail(run, "ARTIFACT_UNREADABLE", SIGN_ENOTFOUND);
    cr_assert_eq(vt_count(run.res, "NO_BUNDLE", SIGN_CHECK_WARN), 1, "the rest is still reported");
    sign_verify_result_free(run.res);
    sign_policy_free(p);
}

Test(verify, threshold_counts_distinct_trusted_signers)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "index.js", "1\n", NULL);
    char *b1 = vt_sign(vt_ka, "alice.sigstore.json", 1, &name);
    char *b1bis = vt_sign(vt_ka, "alice2.sigstore.json", 1, &name);
    char *b2 = vt_sign(vt_kb, "bob.sigstore.json", 1, &name);
    char *b3 = vt_sign(vt_kc, "carol.sigstore.json", 1, &name);
    sign_policy *p = vt_policy("{\"version\":1," VT_KEYS_AB ",\"require\":{\"threshold\":2}}");
    const char *one[] = {"alice.sigstore.json"};
    const char *twice[] = {"alice.sigstore.json", "alice2.sigstore.json"};
    const char *two[] = {"alice.sigstore.json", "bob.sigstore.json"};
    const char *untrusted[] = {"alice.sigstore.json", "carol.sigstore.json"};
    vt_run run;

    run = vt_verify(p, 1, &name, 1, one, 0, 0);
    vt_expect_fail(run, "THRESHOLD_NOT_MET", SIGN_EPOLICY);
    cr_assert_not_null(strstr(sign_error_last(), "1 of the 2"), "%s", sign_error_last());
    sign_verify_result_free(run.res);

    run = vt_verify(p, 1, &name, 2, twice, 0, 0);
    vt_expect_fail(run, "THRESHOLD_NOT_MET", SIGN_EPOLICY);
    cr_assert_not_null(strstr(sign_error_last(), "1 of the 2"), "the same signer twice counts once: %s",
                       sign_error_last());
    sign_verify_result_free(run.res);

    run = vt_verify(p, 1, &name, 2, untrusted, 0, 0);
    vt_expect_fail(run, "THRESHOLD_NOT_MET", SIGN_EUNTRUSTED);
    cr_assert_eq(vt_count(run.res, "KEY_UNTRUSTED", SIGN_CHECK_FAIL), 1);
    sign_verify_result_free(run.res);

    run = vt_verify(p, 1, &name, 2, two, 0, 0);
    vt_expect_ok(run);
    {
        char *js = NULL;
        json_t *j, *signers;

        cr_assert_eq(sign_verify_result_json(&js, run.res), 0);
        j = json_loads(js, 0, NULL);
        cr_assert_not_null(j);
        signers = json_object_get(json_array_get(json_object_get(j, "artifacts"), 0), "signers");
        cr_assert_eq(json_array_size(signers), 2);
        json_decref(j);
        free(js);
    }
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b1);
    free(b1bis);
    free(b2);
    free(b3);
}

Test(verify, max_signature_age_needs_a_timestamp)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy("{\"version\":1," VT_KEYS_AB ",\"require\":{\"max_signature_age\":\"30d\"}}");
    vt_run run = vt_verify1(p, name);

    vt_expect_fail(run, "SIGNATURE_AGE_UNPROVEN", SIGN_EPOLICY);
    cr_assert_not_null(strstr(sign_error_last(), "timestamp"), "%s", sign_error_last());
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, warn_mode_reports_and_accepts)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_kc, name);
    sign_policy *p = vt_policy("{\"version\":1,\"mode\":\"warn\"," VT_KEYS_AB "}");
    sign_policy *audit = vt_policy("{\"version\":1,\"mode\":\"audit\"," VT_KEYS_AB "}");
    vt_run run = vt_verify1(p, name);
    char *js = NULL;
    json_t *j;

    cr_assert_eq(run.r, 0);
    cr_assert_eq(sign_verify_result_ok(run.res), 0, "not verified, only let through");
    cr_assert_eq(vt_failures(run.res), 0);
    cr_assert_eq(vt_count(run.res, "KEY_UNTRUSTED", SIGN_CHECK_WARN), 1);
    cr_assert_eq(sign_verify_result_json(&js, run.res), 0);
    j = json_loads(js, 0, NULL);
    cr_assert_not_null(j);
    cr_assert(json_is_false(json_object_get(j, "verified")));
    cr_assert(json_is_true(json_object_get(j, "accepted")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "warn");
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "KEY_UNTRUSTED");
    json_decref(j);
    free(js);
    sign_verify_result_free(run.res);
    run = vt_verify1(audit, name);
    cr_assert_eq(run.r, 0);
    cr_assert_eq(vt_count(run.res, "KEY_UNTRUSTED", SIGN_CHECK_WARN), 1);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    sign_policy_free(audit);
    free(a);
    free(b);
}

Test(verify, every_failure_reported_and_most_severe_returned)
{
    const char *names[] = {"one.bin", "two.bin"};
    const char *bundles[] = {"one.sigstore.json", "two.sigstore.json"};
    char *a0 = vt_file(names[0], "1\n"), *a1 = vt_file(names[1], "2\n");
    char *b0 = vt_sign(vt_kc, bundles[0], 1, names), *b1 = vt_sign(vt_ka, bundles[1], 1, names + 1);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;

    tu_write_str(a1, "2 changed\n");
    run = vt_verify(p, 2, names, 2, bundles, 0, 0);
    /* KEY_UNTRUSTED (untrusted class) and DIGEST_MISMATCH (digest class): the digest class wins. */
    vt_expect_fail(run, "DIGEST_MISMATCH", SIGN_EDIGEST);
    cr_assert_eq(vt_count(run.res, "KEY_UNTRUSTED", SIGN_CHECK_FAIL), 1);
    cr_assert_eq(vt_count(run.res, "ARTIFACT_NOT_SIGNED", SIGN_CHECK_FAIL), 1);
    cr_assert_eq(vt_count(run.res, "NOT_COUNTED", SIGN_CHECK_SKIP), 2);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a0);
    free(a1);
    free(b0);
    free(b1);
}

/* ---- statements made by hand ---------------------------------------- */

/* Sign arbitrary statement JSON text with key into vt_dir/out. */
static char *vt_sign_statement(const sign_key *key, const char *out, const char *text)
{
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    char *path = vt_p(out);

    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, text, strlen(text)), 0);
    cr_assert_eq(sign_envelope_sign(env, key), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_new(&b, env, key), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_write(b, path), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    return path;
}

/* signet's statement for artifact `name`, edited by edit() on its JSON, signed into out. */
static char *vt_sign_edited(const sign_key *key, const char *out, const char *name, void (*edit)(json_t *st))
{
    char *path = vt_p(name), *text = tu_statement_edited(path, name, edit), *res = vt_sign_statement(key, out, text);

    free(text);
    free(path);
    return res;
}

static json_t *vt_entries(json_t *st)
{
    json_t *e =
        json_object_get(json_array_get(json_object_get(json_object_get(st, "predicate"), "artifacts"), 0), "entries");

    cr_assert(json_is_array(e));
    return e;
}

static void vt_change_entry(json_t *st)
{
    json_object_set_new(json_object_get(json_array_get(vt_entries(st), 0), "digest"), "sha256",
                        json_string("1111111111111111111111111111111111111111111111111111111111111111"));
}

static void vt_drop_entry(json_t *st)
{
    json_array_remove(vt_entries(st), 1);
}

static void vt_no_entries(json_t *st)
{
    json_array_clear(vt_entries(st));
}

Test(verify, entries_compared_with_the_signed_manifest)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "a.js", "a\n", "b.js", "b\n", "c.js", "c\n", NULL);
    char *b = vt_sign_edited(vt_ka, "changed.sigstore.json", name, vt_change_entry);
    char *b2 = vt_sign_edited(vt_ka, "dropped.sigstore.json", name, vt_drop_entry);
    char *b3 = vt_sign_edited(vt_ka, "none.sigstore.json", name, vt_no_entries);
    sign_policy *p = vt_policy("{\"version\":1," VT_KEYS_AB ",\"require\":{\"entries\":true}}");
    sign_policy *plain = vt_policy(VT_POLICY_AB);
    const char *bc[] = {"changed.sigstore.json"}, *bd[] = {"dropped.sigstore.json"}, *bn[] = {"none.sigstore.json"};
    vt_run run;

    /* Without entry checking, the whole-file digest decides and matches. */
    run = vt_verify(plain, 1, &name, 1, bc, 0, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);

    run = vt_verify(p, 1, &name, 1, bc, 0, 0);
    vt_expect_fail(run, "ENTRY_MISMATCH", SIGN_EDIGEST);
    cr_assert_eq(vt_count(run.res, "ENTRY_MISMATCH", SIGN_CHECK_FAIL), 1);
    cr_assert_not_null(strstr(sign_error_last(), "a.js"), "%s", sign_error_last());
    sign_verify_result_free(run.res);

    run = vt_verify(plain, 1, &name, 1, bd, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ENTRY_MISMATCH", SIGN_EDIGEST);
    cr_assert_not_null(strstr(sign_error_last(), "b.js"), "%s", sign_error_last());
    cr_assert_not_null(strstr(sign_error_last(), "not in the signed manifest"), "%s", sign_error_last());
    sign_verify_result_free(run.res);

    run = vt_verify(p, 1, &name, 1, bn, 0, 0);
    vt_expect_fail(run, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    sign_policy_free(plain);
    free(a);
    free(b);
    free(b2);
    free(b3);
}

/* A SLSA provenance by a release key is not a release: only the policy's predicate_types count (issue 14, 7). */
Test(verify, foreign_predicate_types_count_only_when_the_policy_allows_them)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "a.js", "a\n", NULL);
    unsigned char md[SIGN_DIGEST_MAX_LEN];
    char hex[2 * SIGN_SHA256_LEN + 1], text[1024];
    size_t mdlen = 0;
    char *b;
    sign_policy *pdefault = vt_policy(VT_POLICY_AB);
    sign_policy *p = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"bob\",\"public_key\":\"b.pub\","
                               "\"predicate_types\":[\"*\"]}]}");
    sign_policy *pslsa = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"bob\",\"public_key\":\"b.pub\","
                                   "\"predicate_types\":[\"https://slsa.dev/provenance/v1\"]}]}");
    sign_policy *pother = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"bob\",\"public_key\":\"b.pub\","
                                    "\"predicate_types\":[\"https://spdx.dev/Document\"]}]}");
    sign_policy *pe = vt_policy("{\"version\":1,\"keys\":[{\"name\":\"bob\",\"public_key\":\"b.pub\","
                                "\"predicate_types\":[\"*\"]}],\"require\":{\"entries\":true}}");
    const char *bs[] = {"other.sigstore.json"};
    vt_run run;

    cr_assert_eq(sign_digest_file(md, sizeof(md), &mdlen, NULL, SIGN_DIGEST_SHA256, a), 0);
    cr_assert_eq(sign_hex_encode(hex, sizeof(hex), md, mdlen), 0);
    snprintf(text, sizeof(text),
             "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"buildType\":\"x\"},"
             "\"predicateType\":\"https://slsa.dev/provenance/v1\","
             "\"subject\":[{\"digest\":{\"sha256\":\"%s\"},\"name\":\"dist/app.zip\"}]}",
             hex);
    b = vt_sign_statement(vt_kb, bs[0], text);
    run = vt_verify(pdefault, 1, &name, 1, bs, 0, 0);
    vt_expect_fail(run, "PREDICATE_TYPE_NOT_ALLOWED", SIGN_EPOLICY);
    cr_assert_eq(
        vt_count(run.res, "THRESHOLD_NOT_MET", SIGN_CHECK_PASS) + vt_count(run.res, "OK", SIGN_CHECK_PASS) > 0, 1);
    sign_verify_result_free(run.res);
    run = vt_verify(pother, 1, &name, 1, bs, 0, 0);
    vt_expect_fail(run, "PREDICATE_TYPE_NOT_ALLOWED", SIGN_EPOLICY);
    sign_verify_result_free(run.res);
    run = vt_verify(pslsa, 1, &name, 1, bs, 0, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    run = vt_verify(p, 1, &name, 1, bs, 0, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    run = vt_verify(pe, 1, &name, 1, bs, 0, 0);
    vt_expect_fail(run, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    sign_policy_free(pe);
    sign_policy_free(pdefault);
    sign_policy_free(pslsa);
    sign_policy_free(pother);
    free(a);
    free(b);
}

Test(verify, json_verdict_lists_the_failing_reason)
{
    const char *name = "app.bin";
    char *a = vt_file(name, "payload\n"), *b = vt_sign1(vt_ka, name);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    vt_run run;
    char *js = NULL;
    json_t *j, *checks, *c;
    size_t i;
    int found = 0;

    tu_write_str(a, "payload, changed\n");
    run = vt_verify1(p, name);
    vt_expect_fail(run, "DIGEST_MISMATCH", SIGN_EDIGEST);
    cr_assert_eq(sign_verify_result_json(&js, run.res), 0);
    j = json_loads(js, JSON_REJECT_DUPLICATES, NULL);
    cr_assert_not_null(j, "%s", js);
    cr_assert(json_is_false(json_object_get(j, "verified")));
    cr_assert(json_is_false(json_object_get(j, "accepted")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "DIGEST_MISMATCH");
    cr_assert(json_is_false(json_object_get(json_array_get(json_object_get(j, "artifacts"), 0), "verified")));
    checks = json_object_get(j, "checks");
    json_array_foreach(checks, i, c)
    {
        cr_assert_eq(json_object_size(c), 8, "check, status, reason, artifact, bundle, signer, message, facts");
        if (strcmp(json_string_value(json_object_get(c, "reason")), "DIGEST_MISMATCH") == 0) {
            found = 1;
            cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "fail");
            cr_assert_str_eq(json_string_value(json_object_get(c, "check")), "subject");
            cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "signer"), "name")), "alice");
            cr_assert_not_null(strstr(json_string_value(json_object_get(c, "message")), "re-sign"));
        }
    }
    cr_assert(found);
    json_decref(j);
    free(js);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

Test(verify, refuses_bad_arguments)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_policy *p = vt_policy(VT_POLICY_AB);

    cr_assert_eq(sign_verify(&res, p, &o), SIGN_EINVAL, "no artifacts");
    cr_assert_null(res);
    cr_assert_eq(sign_verify(&res, NULL, &o), SIGN_EINVAL);
    o.version = 99;
    cr_assert_eq(sign_verify(&res, p, &o), SIGN_EINVAL);
    cr_assert_null(res);
    cr_assert_str_eq(sign_check_status_name(SIGN_CHECK_WARN), "warn");
    cr_assert_eq(sign_verify_result_ok(NULL), 0);
    sign_policy_free(p);
}

/*
 * Many artifacts, each with its own bundle, verified in one run (artifacts hashed and bundles
 * checked in parallel, subjects looked up in an index): each failure stays with its artifact,
 * the others verify, and the verdict is the same run after run.
 */
Test(verify, many_artifacts_each_with_its_bundle)
{
    enum { N = 40 };
    char names[N][32], *bpath, *js1 = NULL, *js2 = NULL;
    const char *arts[N];
    sign_policy *p = vt_policy(VT_POLICY_AB);
    json_t *root, *list;
    vt_run run, again;
    int64_t at;

    for (size_t i = 0; i < N; i++) {
        char content[64], *f;

        snprintf(names[i], sizeof(names[i]), "store-%02zu.txt", i);
        snprintf(content, sizeof(content), "artifact number %zu\n", i);
        arts[i] = names[i];
        f = vt_file(names[i], content);
        free(f);
        free(vt_sign1(i % 2 ? vt_ka : vt_kb, names[i]));
    }
    free(vt_file(names[17], "artifact number 17, changed after signing\n"));
    bpath = vt_p("store-23.txt.sigstore.json");
    cr_assert_eq(unlink(bpath), 0);
    free(bpath);

    /* Both runs judge at the same second: the messages name the time judged ("valid at ..."),
       and two runs judged "now" may straddle a second boundary. */
    at = (int64_t)time(NULL);
    run = vt_verify(p, N, arts, 0, NULL, 0, at);
    again = vt_verify(p, N, arts, 0, NULL, 0, at);
    cr_assert_eq(vt_count(run.res, "DIGEST_MISMATCH", SIGN_CHECK_FAIL), 1);
    cr_assert_eq(vt_count(run.res, "NO_BUNDLE", SIGN_CHECK_FAIL), 1);
    cr_assert_eq(vt_count(run.res, "OK", SIGN_CHECK_PASS) > 0, 1);
    for (size_t i = 0; i < sign_verify_result_check_count(run.res); i++) {
        const sign_check *c = sign_verify_result_check(run.res, i);

        if (strcmp(c->reason, "DIGEST_MISMATCH") == 0) {
            cr_assert_str_eq(c->artifact, "store-17.txt");
        }
        if (strcmp(c->reason, "NO_BUNDLE") == 0) {
            cr_assert_str_eq(c->artifact, "store-23.txt", "a default bundle's checks name its artifact");
        }
        if (c->bundle != NULL && strstr(c->bundle, "store-05.txt.sigstore.json") != NULL) {
            cr_assert_str_eq(c->artifact, "store-05.txt");
        }
    }
    /* Per artifact: only 17 and 23 unverified. */
    cr_assert_eq(sign_verify_result_json(&js1, run.res), 0);
    cr_assert_eq(sign_verify_result_json(&js2, again.res), 0);
    {
        /* The same run after run (judged at the same time). */
        json_t *j1 = json_loads(js1, 0, NULL), *j2 = json_loads(js2, 0, NULL);

        cr_assert(j1 != NULL && j2 != NULL);
        json_object_del(j1, "judged_at");
        json_object_del(j2, "judged_at");
        cr_assert(json_equal(j1, j2), "the verdict is the same run after run");
        json_decref(j1);
        json_decref(j2);
    }
    root = json_loads(js1, 0, NULL);
    cr_assert_not_null(root);
    list = json_object_get(root, "artifacts");
    cr_assert_eq(json_array_size(list), N);
    for (size_t i = 0; i < N; i++) {
        json_t *a = json_array_get(list, i);

        cr_assert_str_eq(json_string_value(json_object_get(a, "name")), names[i]);
        cr_assert_eq(json_is_true(json_object_get(a, "verified")), i != 17 && i != 23, "artifact %zu", i);
    }
    json_decref(root);
    free(js1);
    free(js2);
    sign_verify_result_free(run.res);
    sign_verify_result_free(again.res);
    sign_policy_free(p);
}

/* ---- what the signer saw (issue 14, items 2-4) ---- */

static json_t *vt_record(json_t *st)
{
    json_t *a = json_array_get(json_object_get(json_object_get(st, "predicate"), "artifacts"), 0);

    cr_assert(json_is_object(a));
    return a;
}

static void vt_dup_entry(json_t *st)
{
    json_array_append_new(vt_entries(st), json_deep_copy(json_array_get(vt_entries(st), 0)));
}

static void vt_dup_entry_normalised(json_t *st)
{
    json_t *e = json_deep_copy(json_array_get(vt_entries(st), 0));
    char p[256];

    snprintf(p, sizeof(p), ".//%s", json_string_value(json_object_get(e, "path")));
    json_object_set_new(e, "path", json_string(p));
    json_array_append_new(vt_entries(st), e);
}

static void vt_drop_findings(json_t *st)
{
    json_object_del(vt_record(st), "findings");
}

static void vt_keep(json_t *st)
{
    (void)st;
}

static void vt_claim_zip(json_t *st)
{
    json_t *e = json_pack("{s:s,s:s,s:s,s:i,s:{s:s}}", "path", "handler.py", "type", "file", "mode", "0644", "size",
                          1, "digest", "sha256", "1111111111111111111111111111111111111111111111111111111111111111");

    json_object_set_new(vt_record(st), "kind", json_string("zip"));
    json_object_set_new(vt_record(st), "entries", json_pack("[o]", e));
}

Test(verify, manifest_recording_one_path_twice_is_refused)
{
    const char *name = "app.zip";
    char *a = vt_zip(name, "handler.py", "benign\n", "lib.py", "x\n", NULL);
    char *b1 = vt_sign_edited(vt_ka, "dup.sigstore.json", name, vt_dup_entry);
    char *b2 = vt_sign_edited(vt_ka, "dupn.sigstore.json", name, vt_dup_entry_normalised);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    const char *bs1[] = {"dup.sigstore.json"}, *bs2[] = {"dupn.sigstore.json"};
    vt_run run;

    run = vt_verify(p, 1, &name, 1, bs1, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ENTRY_PATH_COLLISION", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    run = vt_verify(p, 1, &name, 1, bs2, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ENTRY_PATH_COLLISION", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b1);
    free(b2);
}

/* A zip holding handler.py twice (benign, then evil): a danger finding its signer never allowed. */
Test(verify, archive_duplicates_and_hidden_data_refused_unless_the_signer_allowed_them)
{
    const char *name = "app.zip", *pre = "pre.zip";
    zg_entry e[2];
    zg_opts o;
    char *a = vt_p(name), *a2 = vt_p(pre), *b1, *b2, *b3;
    sign_policy *p = vt_policy(VT_POLICY_AB);
    const char *bs1[] = {"dupzip.sigstore.json"}, *bs2[] = {"pre.sigstore.json"}, *bs3[] = {"allowed.sigstore.json"};
    static const char prefix[64] = "PK\x03\x04 hidden local entry before the first one...........";
    vt_run run;

    memset(e, 0, sizeof(e));
    memset(&o, 0, sizeof(o));
    e[0].name = e[1].name = "handler.py";
    e[0].data = "benign\n";
    e[1].data = "evil!!\n";
    e[0].len = e[1].len = 7;
    e[0].unix_mode = e[1].unix_mode = S_IFREG | 0644;
    zg_write(a, e, 2, &o);
    b1 = vt_sign_edited(vt_ka, bs1[0], name, vt_drop_findings);
    run = vt_verify(p, 1, &name, 1, bs1, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ARCHIVE_FINDING_NOT_ALLOWED", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    /* Without --entries the archive is not walked: the whole-file digest alone decides, as documented. */
    run = vt_verify(p, 1, &name, 1, bs1, 0, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);

    /* 64 bytes before the first entry, not referenced by the central directory. */
    o.prefix = prefix;
    o.prefix_len = sizeof(prefix);
    zg_write(a2, e, 1, &o);
    b2 = vt_sign_edited(vt_ka, bs2[0], pre, vt_drop_findings);
    run = vt_verify(p, 1, &pre, 1, bs2, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ARCHIVE_FINDING_NOT_ALLOWED", SIGN_EVERIFY);
    cr_assert_not_null(strstr(sign_error_last(), "zip-data-before-entries"), "%s", sign_error_last());
    sign_verify_result_free(run.res);
    /* Listed in the signed record (as signet sign --allow writes it): accepted. */
    b3 = vt_sign_edited(vt_ka, bs3[0], pre, vt_keep);
    run = vt_verify(p, 1, &pre, 1, bs3, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_ok(run);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(a2);
    free(b1);
    free(b2);
    free(b3);
}

Test(verify, recorded_kind_must_be_the_artifacts_kind)
{
    const char *name = "handler.bin";
    char *a = vt_file(name, "x"), *b = vt_sign_edited(vt_ka, "kind.sigstore.json", name, vt_claim_zip);
    sign_policy *p = vt_policy(VT_POLICY_AB);
    const char *bs[] = {"kind.sigstore.json"};
    vt_run run;

    run = vt_verify(p, 1, &name, 1, bs, SIGN_VERIFY_ENTRIES, 0);
    vt_expect_fail(run, "ARTIFACT_KIND_MISMATCH", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    run = vt_verify(p, 1, &name, 1, bs, 0, 0);
    vt_expect_fail(run, "ARTIFACT_KIND_MISMATCH", SIGN_EVERIFY);
    sign_verify_result_free(run.res);
    sign_policy_free(p);
    free(a);
    free(b);
}

/* --tree walks the archive too: its dangerous findings are recomputed and must be allowed by the signer. */
Test(verify, tree_refuses_findings_the_signer_did_not_allow)
{
    const char *name = "pre.zip";
    static const char prefix[64] = "PK\x03\x04 hidden local entry before the first one...........";
    zg_entry e;
    zg_opts zo;
    char *a = vt_p(name), *b = NULL, *dir = vt_p("tree"), *f;
    sign_policy *p = vt_policy(VT_POLICY_AB);
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    const char *arts[1];
    const char *bs[1];
    int r;

    memset(&e, 0, sizeof(e));
    memset(&zo, 0, sizeof(zo));
    e.name = "handler.py";
    e.data = "benign\n";
    e.len = 7;
    e.unix_mode = S_IFREG | 0644;
    zo.prefix = prefix;
    zo.prefix_len = sizeof(prefix);
    zg_write(a, &e, 1, &zo);
    b = vt_sign_edited(vt_ka, "tree.sigstore.json", name, vt_drop_findings);
    cr_assert_eq(mkdir(dir, 0700), 0);
    f = tu_path(dir, "handler.py");
    tu_write_str(f, "benign\n");
    chmod(f, 0644);
    arts[0] = a;
    bs[0] = b;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bs;
    o.nbundles = 1;
    o.tree = dir;
    r = sign_verify(&res, p, &o);
    if (vt_count(res, "ARCHIVE_FINDING_NOT_ALLOWED", SIGN_CHECK_FAIL) == 0) {
        vt_dump(res);
    }
    cr_assert_eq(r, SIGN_EVERIFY, "%d %s", r, sign_error_last());
    cr_assert_gt(vt_count(res, "ARCHIVE_FINDING_NOT_ALLOWED", SIGN_CHECK_FAIL), 0);
    sign_verify_result_free(res);
    sign_policy_free(p);
    free(f);
    free(dir);
    free(a);
    free(b);
}

/* Peak RSS (KiB) of signet verify --entries --jobs jobs of big.zip with the first nb bundles (in vt_dir). */
static long vt_entries_peak(size_t nb, const char *const *bundles, const char *jobs)
{
    const char *argv[24] = {getenv("SIGNET_BIN"), "verify", "--entries", "--jobs", jobs, "-p", "policy.json"};
    size_t n = 7;
    struct rusage ru;
    pid_t pid;
    int st = 0;

    cr_assert_not_null(argv[0], "SIGNET_BIN is not set");
    for (size_t i = 0; i < nb; i++) {
        argv[n++] = "-b";
        argv[n++] = bundles[i];
    }
    argv[n++] = "big.zip";
    argv[n] = NULL;
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(vt_dir) != 0 || freopen("/dev/null", "w", stdout) == NULL) {
            _exit(127);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "verify with %zu bundle(s) failed: status %d", nb, st);
    return ru.ru_maxrss;
}

/*
 * A bundle's signed entries are kept in the compact form once read (issue 21's six-bundle image): the statement's
 * JSON entries (about 1.2 KiB an entry) are freed on the bundle's thread. Before, every bundle kept them to the end.
 * One thread (--jobs 1), so that one statement is parsed at a time: what grows with the bundles is what each keeps
 * (its envelope's payload and the compact entries, about 300 bytes an entry).
 */
Test(verify, each_bundles_signed_entries_are_kept_compact, .timeout = 120)
{
    enum { N = 10000 };
    static zg_entry e[N];
    static char names[N][32];
    const char *bundles[6] = {"big.zip.sigstore.json", "b1.json", "b2.json", "b3.json", "b4.json", "b5.json"};
    zg_opts o;
    char *zip = vt_p("big.zip"), *policy = vt_p("policy.json"), *b0, *text;
    size_t len;
    long one, six;

    memset(e, 0, sizeof(e));
    memset(&o, 0, sizeof(o));
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "src/d%03zu/file%05zu.js", i % 100, i);
        e[i].name = names[i];
        e[i].data = names[i];
        e[i].len = strlen(names[i]);
        e[i].unix_mode = S_IFREG | 0644;
    }
    zg_write(zip, e, N, &o);
    b0 = vt_sign1(vt_ka, "big.zip");
    text = tu_read(b0, &len);
    for (size_t i = 1; i < 6; i++) {
        char *bp = vt_p(bundles[i]);

        tu_write(bp, text, len); /* the same bundle five times more: each is parsed and checked on its own */
        free(bp);
    }
    tu_write_str(policy, "{\"version\":1,\"keys\":[{\"name\":\"alice\",\"public_key\":\"a.pub\"}],"
                         "\"require\":{\"entries\":true}}");
    one = vt_entries_peak(1, bundles, "1");
    six = vt_entries_peak(6, bundles, "1");
    fprintf(stderr, "verify: --entries of %d entries, peak RSS 1 bundle %ld KiB, 6 bundles %ld KiB\n", N, one, six);
    if (!VT_SANITIZED) { /* ASan's shadow and quarantine: the peak means nothing there */
        cr_assert_lt(six - one, 5L * N * 400 / 1024, "five more bundles grew the peak by %ld KiB (%d entries each)",
                     six - one, N);
    }
    free(text);
    free(zip);
    free(policy);
    free(b0);
}
