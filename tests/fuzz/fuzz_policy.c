/*
 * Fuzz target: the trust policy reader (sign_policy_parse), then a
 * verification of a fixed, validly signed artifact under each policy that
 * parses. The policy's directory is a private temporary directory holding
 * the files a policy may name (seeds use these names):
 *   keys/ed25519.pub keys/p256.pub keys/rsa.pub  SPKI PEM of this process's keys
 *   keys/ed25519.der                             the same Ed25519 key, DER
 *   keys/private.key                             a private key (to be refused)
 *   certs/root.pem certs/crl.pem                 a certificate and a CRL
 *   app.txt app.txt.sigstore.json                an artifact signed with the Ed25519 key
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Made once with openssl (a P-256 self-signed root and its empty CRL); only parsed. */
static const char root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfjCCASWgAwIBAgIUY1rtxLWgpIqn+oEGjFl0BISnexEwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJZnV6ei1yb290MCAXDTI2MTEyOTEyMDQ0NloYDzIxMjYxMTA1\n"
    "MTIwNDQ2WjAUMRIwEAYDVQQDDAlmdXp6LXJvb3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAARZY7i8pj2amC1JS8mj0cQ6tacEx/do3P9ZcVE7aF/wgfkz9AzpWlEQ\n"
    "ZLb2aHDDETSKUcyimLjWsxZvfCX3HJ2so1MwUTAdBgNVHQ4EFgQUt4Jq7ycmpEmD\n"
    "cN8iMvTVzv7IYJAwHwYDVR0jBBgwFoAUt4Jq7ycmpEmDcN8iMvTVzv7IYJAwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiA3VuVgMvoGJDFTi7U0RE5m\n"
    "MrGWQIYNTU+11HFJUSU8WwIgN45r0xvFaha1MS37aSBE7CZGa6lHPAy7dbCR+xpE\n"
    "R9M=\n"
    "-----END CERTIFICATE-----\n";
static const char crl_pem[] = "-----BEGIN X509 CRL-----\n"
                              "MIGsMFUCAQEwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJZnV6ei1yb290Fw0yNjEx\n"
                              "MjkxMjA0NDZaGA8yMTI2MTEwNTEyMDQ0NlqgDjAMMAoGA1UdFAQDAgEBMAoGCCqG\n"
                              "SM49BAMCA0cAMEQCIFJLlAW56WcV2qa7Kis4RcbJSPcDZB6VrzJ4/Rd7UDxdAiA+\n"
                              "qvzkXEYd4p/+w1LTCl5hphnSci7cnSPeOhRGSJD4uA==\n"
                              "-----END X509 CRL-----\n";

/* 2026-01-01T00:00:00Z and 2026-06-01T00:00:00Z */
#define SIGNED_AT INT64_C(1767225600)
#define VERIFY_AT INT64_C(1780272000)

static char *artifact_path, *bundle_path;

static void make_dir(const char *name)
{
    char *p = fuzz_path(name);

    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
        fuzz_fail("mkdir %s: %s", p, strerror(errno));
    }
    free(p);
}

static void write_public(const char *name, sign_key_type type)
{
    char *p = fuzz_path(name);

    if (sign_key_write_public(fuzz_key(type), p) != 0) {
        fuzz_fail("write %s: %s", p, sign_error_last());
    }
    free(p);
}

static void cleanup_paths(void)
{
    free(artifact_path);
    free(bundle_path);
}

static void setup(void)
{
    static int done;
    sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
    const char *names[] = {"app.txt"};
    sign_bundle *b = NULL;
    sign_artifact **arts = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    char *p;

    if (done) {
        return;
    }
    done = 1;
    make_dir("keys");
    make_dir("certs");
    write_public("keys/ed25519.pub", SIGN_KEY_ED25519);
    write_public("keys/p256.pub", SIGN_KEY_ECDSA_P256);
    write_public("keys/rsa.pub", SIGN_KEY_RSA);
    if (sign_key_spki_der(&der, &derlen, fuzz_key(SIGN_KEY_ED25519)) != 0) {
        fuzz_fail("spki: %s", sign_error_last());
    }
    fuzz_write_file("keys/ed25519.der", der, derlen);
    free(der);
    p = fuzz_path("keys/private.key");
    if (sign_key_write_private(fuzz_key(SIGN_KEY_ED25519), p, NULL, 0) != 0) {
        fuzz_fail("write %s: %s", p, sign_error_last());
    }
    free(p);
    fuzz_write_file("certs/root.pem", root_pem, sizeof(root_pem) - 1);
    fuzz_write_file("certs/crl.pem", crl_pem, sizeof(crl_pem) - 1);

    fuzz_write_file("app.txt", "signet fuzz artifact\n", 21);
    artifact_path = fuzz_path("app.txt");
    bundle_path = fuzz_path("app.txt.sigstore.json");
    atexit(cleanup_paths);
    so.key = fuzz_key(SIGN_KEY_ED25519);
    so.artifacts = (const char *const *)&artifact_path;
    so.names = names;
    so.nartifacts = 1;
    so.output = bundle_path;
    so.created = SIGNED_AT;
    if (sign_sign(&b, &arts, &so) != 0) {
        fuzz_fail("sign_sign: %s", sign_error_last());
    }
    sign_bundle_free(b);
    sign_artifact_free(arts[0]);
    free(arts);
}

static void verify(const sign_policy *pol)
{
    sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    char *json = NULL;
    size_t n;
    int r;

    vo.artifacts = (const char *const *)&artifact_path;
    vo.nartifacts = 1;
    vo.at = VERIFY_AT;
    r = sign_verify(&res, pol, &vo);
    if (res == NULL) {
        fuzz_check_error(r, "sign_verify");
        return;
    }
    if (r != sign_verify_result_code(res)) {
        fuzz_fail("sign_verify returned %d, its result says %d", r, sign_verify_result_code(res));
    }
    if (sign_verify_result_ok(res) && r != 0) {
        fuzz_fail("every check passed and sign_verify returned %d", r);
    }
    n = sign_verify_result_check_count(res);
    for (size_t i = 0; i < n; i++) {
        const sign_check *c = sign_verify_result_check(res, i);

        if (c == NULL || c->check == NULL || c->reason == NULL || c->message == NULL) {
            fuzz_fail("check %zu of %zu incomplete", i, n);
        }
        fuzz_touch(c->check);
        fuzz_touch(c->reason);
        fuzz_touch(c->artifact);
        fuzz_touch(c->bundle);
        fuzz_touch(c->signer);
        fuzz_touch(c->message);
        fuzz_touch(sign_check_status_name(c->status));
    }
    if (sign_verify_result_json(&json, res) != 0) {
        fuzz_fail("verify result json: %s", sign_error_last());
    }
    free(json);
    sign_verify_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_limits lim;
    sign_policy *pol = NULL;
    int r;

    setup();
    fuzz_limits(&lim);
    if ((r = sign_policy_parse(&pol, data, size, fuzz_tmpdir(), &lim)) != 0) {
        if (pol != NULL) {
            fuzz_fail("sign_policy_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_policy_parse");
        return 0;
    }
    fuzz_touch(sign_policy_mode_name(sign_policy_get_mode(pol)));
    (void)sign_policy_key_count(pol);
    verify(pol);
    sign_policy_free(pol);
    return 0;
}
