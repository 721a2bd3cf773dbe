/* RFC 3161 timestamps: requests against the test TSA (every fault), verification (every refusal), CLI. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sign/sign.h"
#include "testutil.h"
#include "pkigen.h"
#include "tsautil.h"

static char *ts_dir;
static tsa_server ts_srv, ts_srv2;
static const unsigned char ts_sig[] = "a signature's raw bytes, as DSSE sig decodes them";

static void ts_setup(void)
{
    ts_dir = tsa_std_pki();
    memset(&ts_srv, 0, sizeof(ts_srv));
    memset(&ts_srv2, 0, sizeof(ts_srv2));
}

static void ts_teardown(void)
{
    tsa_server_stop(&ts_srv);
    tsa_server_stop(&ts_srv2);
    tu_rmtree(ts_dir);
    free(ts_dir);
}

static sign_tsa_roots *ts_roots(const char *name)
{
    sign_tsa_roots *roots = NULL;
    char file[256], *p, *pem;
    size_t len;

    snprintf(file, sizeof(file), "%s.pem", name);
    p = tu_path(ts_dir, file);
    pem = tu_read(p, &len);
    cr_assert_eq(sign_tsa_roots_new(&roots), 0);
    cr_assert_eq(sign_tsa_roots_add_pem(roots, "test-tsa", pem, len), 0, "%s", sign_error_last());
    free(pem);
    free(p);
    return roots;
}

/* A timestamp over data from a server with the given cert, fault and time. */
static int ts_request(unsigned char **der, size_t *len, const char *cert, const char *fault, const char *at,
                      const unsigned char *data, size_t dlen)
{
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;
    int r;

    o.timeout = 2;
    o.connect_timeout = 2;
    tsa_server_start(&ts_srv, ts_dir, cert, fault, at);
    r = sign_timestamp_request(der, len, ts_srv.url, data, dlen, &o);
    tsa_server_stop(&ts_srv);
    return r;
}

static sign_timestamp_failure ts_verify_fail(const unsigned char *der, size_t len, const char *root, int want_code)
{
    sign_tsa_roots *roots = ts_roots(root);
    sign_timestamp_failure why = SIGN_TS_OK;
    int r = sign_timestamp_verify(NULL, &why, der, len, ts_sig, sizeof(ts_sig), roots);

    cr_assert_eq(r, want_code, "verify returned %d (%s), wanted %d", r, sign_error_last(), want_code);
    sign_tsa_roots_free(roots);
    return why;
}

Test(timestamp, request_and_verify_roundtrip, .init = ts_setup, .fini = ts_teardown)
{
    unsigned char *der = NULL;
    size_t len = 0;
    sign_tsa_roots *roots;
    sign_timestamp_info info, parsed;
    sign_timestamp_failure why = SIGN_TS_INVALID;
    int64_t now = (int64_t)time(NULL);

    cr_assert_eq(ts_request(&der, &len, "tsa", NULL, NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    roots = ts_roots("root");
    cr_assert_eq(sign_timestamp_verify(&info, &why, der, len, ts_sig, sizeof(ts_sig), roots), 0, "%s",
                 sign_error_last());
    cr_assert_eq(why, SIGN_TS_OK);
    cr_assert(info.gen_time >= now - 5 && info.gen_time <= now + 5, "genTime %lld", (long long)info.gen_time);
    cr_assert_str_eq(info.authority, "test-tsa");
    cr_assert_str_eq(info.hash, "sha256");
    cr_assert_str_eq(info.policy, "1.2.3.4.1");
    cr_assert(strstr(info.tsa, "signet test TSA tsa") != NULL, "%s", info.tsa);
    cr_assert_eq(sign_timestamp_parse(&parsed, der, len), 0);
    cr_assert_eq(parsed.gen_time, info.gen_time);
    cr_assert_str_eq(parsed.serial, info.serial);
    cr_assert_str_eq(parsed.tsa, info.tsa);
    sign_tsa_roots_free(roots);
    free(der);
}

static void ts_expect_fault(const char *fault, int code, const char *words)
{
    unsigned char *der = (unsigned char *)"x";
    size_t len = 1;
    int r = ts_request(&der, &len, "tsa", fault, NULL, ts_sig, sizeof(ts_sig));

    cr_assert_eq(r, code, "fault %s: got %d (%s), wanted %d", fault, r, sign_error_last(), code);
    cr_assert_null(der);
    cr_assert_eq(len, 0);
    cr_assert(strstr(sign_error_last(), ts_srv.url[0] ? "TSA http://127.0.0.1:" : "TSA") != NULL, "%s",
              sign_error_last());
    cr_assert(strstr(sign_error_last(), words) != NULL, "fault %s: \"%s\" lacks \"%s\"", fault, sign_error_last(),
              words);
}

Test(timestamp, fault_refused, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("refuse", SIGN_ENETWORK, "refused");
}

Test(timestamp, fault_closed_without_answer, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("close", SIGN_ENETWORK, "closed");
}

Test(timestamp, fault_http_500, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("http500", SIGN_EHTTP, "500");
}

Test(timestamp, fault_garbage, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("garbage", SIGN_ETSA_ANSWER, "garbage");
}

Test(timestamp, fault_wrong_nonce, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("wrong-nonce", SIGN_ETSA_ANSWER, "wrong nonce");
}

Test(timestamp, fault_wrong_imprint, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("wrong-imprint", SIGN_ETSA_ANSWER, "wrong imprint");
}

Test(timestamp, fault_rejection, .init = ts_setup, .fini = ts_teardown)
{
    ts_expect_fault("reject", SIGN_ETSA_REJECTED, "rejection");
    cr_assert(strstr(sign_error_last(), "badAlg") != NULL, "%s", sign_error_last());
}

Test(timestamp, fault_slow_times_out, .init = ts_setup, .fini = ts_teardown)
{
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;
    unsigned char *der = NULL;
    size_t len = 0;
    long long t0, took;
    int r;

    o.timeout = 1;
    tsa_server_start(&ts_srv, ts_dir, "tsa", "slow=3", NULL);
    t0 = tu_now_us();
    r = sign_timestamp_request(&der, &len, ts_srv.url, ts_sig, sizeof(ts_sig), &o);
    took = tu_now_us() - t0;
    cr_assert_eq(r, SIGN_ETIMEOUT, "%d %s", r, sign_error_last());
    cr_assert(strstr(sign_error_last(), "timed out") != NULL, "%s", sign_error_last());
    cr_assert(took >= 900000 && took < 2500000, "the 1 s timeout took %lld us", took);
    cr_assert_null(der);
}

Test(timestamp, https_roundtrip_and_untrusted_server, .init = ts_setup, .fini = ts_teardown)
{
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;
    unsigned char *der = NULL;
    size_t len = 0;
    sign_tsa_roots *roots;
    char *ca;
    int r;

    o.timeout = 3;
    tsa_gen_root(ts_dir, "tlsroot");
    tsa_gen_tls_leaf(ts_dir, "tls", "tlsroot");
    tsa_server_start_tls(&ts_srv, ts_dir, "tsa", "tls");
    /* The server's certificate is not in the system store: refused, naming the TSA. */
    unsetenv("SSL_CERT_FILE");
    r = sign_timestamp_request(&der, &len, ts_srv.url, ts_sig, sizeof(ts_sig), &o);
    cr_assert_neq(r, 0);
    cr_assert_null(der);
    cr_assert(strstr(sign_error_last(), ts_srv.url) != NULL, "%s", sign_error_last());
    /* Trusted through OpenSSL's SSL_CERT_FILE: the timestamp comes over TLS and verifies. */
    ca = tu_path(ts_dir, "tlsroot.pem");
    setenv("SSL_CERT_FILE", ca, 1);
    r = sign_timestamp_request(&der, &len, ts_srv.url, ts_sig, sizeof(ts_sig), &o);
    unsetenv("SSL_CERT_FILE");
    cr_assert_eq(r, 0, "%s", sign_error_last());
    roots = ts_roots("root");
    cr_assert_eq(sign_timestamp_verify(NULL, NULL, der, len, ts_sig, sizeof(ts_sig), roots), 0, "%s",
                 sign_error_last());
    sign_tsa_roots_free(roots);
    free(der);
    free(ca);
}

Test(timestamp, bad_urls_refused, .init = ts_setup, .fini = ts_teardown)
{
    unsigned char *der = NULL;
    size_t len = 0;

    cr_assert_eq(sign_timestamp_request(&der, &len, "ftp://127.0.0.1/", ts_sig, sizeof(ts_sig), NULL), SIGN_EINVAL);
    cr_assert_eq(sign_timestamp_request(&der, &len, "not a url", ts_sig, sizeof(ts_sig), NULL), SIGN_EINVAL);
}

Test(timestamp, verify_refuses_untrusted_tsa, .init = ts_setup, .fini = ts_teardown)
{
    unsigned char *der = NULL;
    size_t len = 0;

    tsa_gen_root(ts_dir, "other");
    cr_assert_eq(ts_request(&der, &len, "tsa", NULL, NULL, ts_sig, sizeof(ts_sig)), 0);
    cr_assert_eq(ts_verify_fail(der, len, "other", SIGN_EUNTRUSTED), SIGN_TS_UNTRUSTED);
    free(der);
}

Test(timestamp, verify_refuses_imprint_over_other_bytes, .init = ts_setup, .fini = ts_teardown)
{
    static const unsigned char other[] = "the PAE, or the payload, not the signature";
    unsigned char *der = NULL;
    size_t len = 0;

    cr_assert_eq(ts_request(&der, &len, "tsa", NULL, NULL, other, sizeof(other)), 0);
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EBADSIG), SIGN_TS_IMPRINT_MISMATCH);
    free(der);
}

Test(timestamp, verify_refuses_tampered_token, .init = ts_setup, .fini = ts_teardown)
{
    unsigned char *der = NULL;
    size_t len = 0, hits = 0;

    cr_assert_eq(ts_request(&der, &len, "tsa", NULL, NULL, ts_sig, sizeof(ts_sig)), 0);
    /* Change genTime's seconds digit (a GeneralizedTime "YYYYMMDDHHMMSSZ" inside the signed TSTInfo). */
    for (size_t i = 0; i + 17 < len; i++) {
        if (der[i] == 0x18 && der[i + 1] == 15 && der[i + 16] == 'Z') {
            der[i + 15] = der[i + 15] == '0' ? '1' : '0';
            hits++;
            break;
        }
    }
    cr_assert_eq(hits, 1, "no genTime found in the token");
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EBADSIG), SIGN_TS_INVALID);
    /* Truncated and trailing garbage: malformed. */
    cr_assert_eq(ts_verify_fail(der, len - 1, "root", SIGN_EBADSIG), SIGN_TS_INVALID);
    free(der);
}

Test(timestamp, verify_refuses_eku_not_critical, .init = ts_setup, .fini = ts_teardown)
{
    int64_t now = (int64_t)time(NULL);
    unsigned char *der = NULL;
    size_t len = 0;

    tsa_gen_leaf(ts_dir, "noncrit", "root", now - 86400, now + 86400, TSA_EKU_NOT_CRITICAL);
    tsa_gen_leaf(ts_dir, "noeku", "root", now - 86400, now + 86400, TSA_EKU_NONE);
    cr_assert_eq(ts_request(&der, &len, "noncrit", NULL, NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EUNTRUSTED), SIGN_TS_EKU_MISSING);
    free(der);
    der = NULL;
    cr_assert_eq(ts_request(&der, &len, "noeku", NULL, NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EUNTRUSTED), SIGN_TS_EKU_MISSING);
    free(der);
}

Test(timestamp, verify_refuses_gentime_outside_tsa_validity, .init = ts_setup, .fini = ts_teardown)
{
    int64_t now = (int64_t)time(NULL);
    unsigned char *der = NULL;
    size_t len = 0;
    char at[32];

    tsa_gen_leaf(ts_dir, "expired", "root", now - 10 * 86400, now - 5 * 86400, TSA_EKU_CRITICAL);
    cr_assert_eq(ts_request(&der, &len, "expired", NULL, NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EEXPIRED), SIGN_TS_OUTSIDE_TSA_VALIDITY);
    free(der);
    der = NULL;
    /* The same expired TSA certificate, with a genTime inside its validity: the token verifies today. */
    snprintf(at, sizeof(at), "%lld", (long long)(now - 7 * 86400));
    cr_assert_eq(ts_request(&der, &len, "expired", NULL, at, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    cr_assert_eq(ts_verify_fail(der, len, "root", 0), SIGN_TS_OK);
    free(der);
}

/* roots from the concatenation of the PEM files named (a chain as a trusted root lists it), as authority "test-tsa".
 */
static sign_tsa_roots *ts_roots_cat(const char *a, const char *b)
{
    sign_tsa_roots *roots = NULL;
    char file[256], *p, *pa, *pb, *both;
    size_t la, lb;

    snprintf(file, sizeof(file), "%s.pem", a);
    p = tu_path(ts_dir, file);
    pa = tu_read(p, &la);
    free(p);
    snprintf(file, sizeof(file), "%s.pem", b);
    p = tu_path(ts_dir, file);
    pb = tu_read(p, &lb);
    free(p);
    both = malloc(la + lb);
    cr_assert_not_null(both);
    memcpy(both, pa, la);
    memcpy(both + la, pb, lb);
    cr_assert_eq(sign_tsa_roots_new(&roots), 0);
    cr_assert_eq(sign_tsa_roots_add_pem(roots, "test-tsa", both, la + lb), 0, "%s", sign_error_last());
    free(both);
    free(pa);
    free(pb);
    return roots;
}

/*
 * A token without the TSA's certificate (Sigstore's TSA default): untrusted with the root alone, verified when
 * the authority lists the TSA certificate (in certificates, or as a v2 intermediate); another TSA certificate
 * of the same root, or a token over other bytes, is still refused.
 */
Test(timestamp, certless_token_checked_against_listed_tsa_certificate, .init = ts_setup, .fini = ts_teardown)
{
    sign_tsa_authority a = SIGN_TSA_AUTHORITY_INIT;
    sign_x509_certs *root = NULL, *leaf = NULL, *wrong = NULL;
    sign_timestamp_failure why = SIGN_TS_OK;
    sign_timestamp_info info;
    sign_tsa_roots *roots;
    unsigned char *der = NULL;
    size_t len = 0;
    char *p;

    tsa_gen_leaf(ts_dir, "tsa2", "root", (int64_t)time(NULL) - 86400, (int64_t)time(NULL) + 86400, TSA_EKU_CRITICAL);
    sleep(2); /* the test TSA's certificate was made "now" with 1 s accuracy */
    cr_assert_eq(ts_request(&der, &len, "tsa", "no-certs", NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    cr_assert_eq(ts_verify_fail(der, len, "root", SIGN_EUNTRUSTED), SIGN_TS_UNTRUSTED);
    cr_assert(strstr(sign_error_last(), "does not carry its signer's certificate") != NULL, "%s", sign_error_last());

    roots = ts_roots_cat("tsa", "root");
    cr_assert_eq(sign_timestamp_verify(&info, &why, der, len, ts_sig, sizeof(ts_sig), roots), 0, "%s",
                 sign_error_last());
    cr_assert_eq(why, SIGN_TS_OK);
    cr_assert(strstr(info.tsa, "signet test TSA tsa") != NULL, "%s", info.tsa);
    cr_assert_eq(sign_timestamp_verify(NULL, &why, der, len, ts_sig, sizeof(ts_sig) - 1, roots), SIGN_EBADSIG);
    cr_assert_eq(why, SIGN_TS_IMPRINT_MISMATCH);
    sign_tsa_roots_free(roots);

    /* The TSA certificate as an intermediate of a version 2 authority. */
    p = tu_path(ts_dir, "root.pem");
    cr_assert_eq(sign_x509_certs_load(&root, p), 0, "%s", sign_error_last());
    free(p);
    p = tu_path(ts_dir, "tsa.pem");
    cr_assert_eq(sign_x509_certs_load(&leaf, p), 0, "%s", sign_error_last());
    free(p);
    p = tu_path(ts_dir, "tsa2.pem");
    cr_assert_eq(sign_x509_certs_load(&wrong, p), 0, "%s", sign_error_last());
    free(p);
    a.roots = root;
    a.intermediates = leaf;
    cr_assert_eq(sign_tsa_roots_new(&roots), 0);
    cr_assert_eq(sign_tsa_roots_add_authority(roots, "test-tsa", &a), 0, "%s", sign_error_last());
    cr_assert_eq(sign_timestamp_verify(NULL, &why, der, len, ts_sig, sizeof(ts_sig), roots), 0, "%s",
                 sign_error_last());
    sign_tsa_roots_free(roots);

    /* Another TSA certificate under the same root is not the signer's. */
    a.intermediates = wrong;
    cr_assert_eq(sign_tsa_roots_new(&roots), 0);
    cr_assert_eq(sign_tsa_roots_add_authority(roots, "test-tsa", &a), 0, "%s", sign_error_last());
    cr_assert_eq(sign_timestamp_verify(NULL, &why, der, len, ts_sig, sizeof(ts_sig), roots), SIGN_EUNTRUSTED);
    cr_assert_eq(why, SIGN_TS_UNTRUSTED);
    sign_tsa_roots_free(roots);

    /* The TSA certificate alone is no trust anchor. */
    roots = ts_roots("tsa");
    cr_assert_eq(sign_timestamp_verify(NULL, &why, der, len, ts_sig, sizeof(ts_sig), roots), SIGN_EUNTRUSTED);
    cr_assert_eq(why, SIGN_TS_UNTRUSTED);
    sign_tsa_roots_free(roots);
    sign_x509_certs_free(root);
    sign_x509_certs_free(leaf);
    sign_x509_certs_free(wrong);
    free(der);
}

Test(timestamp, parse_refuses_garbage)
{
    sign_timestamp_info info;
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x02};

    cr_assert_eq(sign_timestamp_parse(&info, junk, sizeof(junk)), SIGN_EPARSE);
    cr_assert_eq(sign_timestamp_parse(&info, junk, 0), SIGN_EPARSE);
}

static sign_bundle *ts_make_bundle(sign_key **key_out)
{
    sign_key *key = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    static const char payload[] = "{}";

    cr_assert_eq(sign_key_generate(&key, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, payload, 2), 0);
    cr_assert_eq(sign_envelope_sign(env, key), 0);
    cr_assert_eq(sign_bundle_new(&b, env, key), 0);
    if (key_out != NULL) {
        *key_out = key;
    } else {
        sign_key_free(key);
    }
    return b;
}

Test(timestamp, bundle_all_or_nothing_and_best_effort, .init = ts_setup, .fini = ts_teardown)
{
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;
    sign_bundle *b = ts_make_bundle(NULL);
    const char *urls[2];
    size_t added = 99, len = 0;
    const sign_envelope *env = sign_bundle_envelope(b);
    const unsigned char *sig;
    size_t siglen = 0;
    sign_tsa_roots *roots = ts_roots("root");
    const unsigned char *der;

    o.timeout = 2;
    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    tsa_server_start(&ts_srv2, ts_dir, "tsa", "http500", NULL);
    urls[0] = ts_srv.url;
    urls[1] = ts_srv2.url;
    cr_assert_eq(sign_timestamp_bundle(&added, b, urls, 2, &o), SIGN_EHTTP);
    cr_assert_eq(added, 0);
    cr_assert_eq(sign_bundle_timestamp_count(b), 0, "a failed TSA left a timestamp in the bundle");
    o.flags = SIGN_TSA_BEST_EFFORT;
    cr_assert_eq(sign_timestamp_bundle(&added, b, urls, 2, &o), 0);
    cr_assert_eq(added, 1);
    cr_assert(strstr(sign_error_last(), ts_srv2.url) != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_timestamp_count(b), 1);
    o.flags = 0;
    urls[1] = ts_srv.url;
    cr_assert_eq(sign_timestamp_bundle(&added, b, urls, 2, &o), 0, "%s", sign_error_last());
    cr_assert_eq(added, 2);
    cr_assert_eq(sign_bundle_timestamp_count(b), 3);
    sig = sign_envelope_signature(env, 0, &siglen);
    for (size_t i = 0; i < 3; i++) {
        der = sign_bundle_timestamp(b, i, &len);
        cr_assert_eq(sign_timestamp_verify(NULL, NULL, der, len, sig, siglen, roots), 0, "%s", sign_error_last());
    }
    sign_tsa_roots_free(roots);
    sign_bundle_free(b);
}

/* ---- CLI: sign --tsa, signet timestamp, verify, inspect ----------------- */

#include <openssl/evp.h>
#include <stdarg.h>
#include <sys/stat.h>

static char *tc_out, *tc_err;

static int tc_run(const char *arg0, ...)
{
    const char *argv[48];
    size_t n = 0;
    va_list ap;

    free(tc_out);
    free(tc_err);
    tc_out = tc_err = NULL;
    argv[n++] = "signet";
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 47);
    }
    va_end(ap);
    return tu_run(&tc_out, &tc_err, NULL, argv);
}

#define TC(...) tc_run(__VA_ARGS__, (const char *)NULL)

static char *tc_paths[64];
static size_t tc_npaths;

static const char *tp(const char *name)
{
    cr_assert_lt(tc_npaths, 64);
    tc_paths[tc_npaths] = tu_path(ts_dir, name);
    return tc_paths[tc_npaths++];
}

static void tc_setup(void)
{
    ts_setup();
    tc_npaths = 0;
    cr_assert_eq(TC("keygen", "--no-passphrase", "-o", tp("k")), 0, "%s", tc_err);
    tu_write_str(tp("app.txt"), "hello, timestamped world\n");
    tu_write_str(tp("other.txt"), "another artifact\n");
}

static void tc_teardown(void)
{
    free(tc_out);
    free(tc_err);
    tc_out = tc_err = NULL;
    for (size_t i = 0; i < tc_npaths; i++) {
        free(tc_paths[i]);
    }
    ts_teardown();
}

/* policy.json: key k (with an optional window) and TSA root file `tsa_root` (NULL: none), extra require. */
static const char *tc_policy(const char *tsa_root, const char *key_extra, const char *require)
{
    char json[2048];

    snprintf(json, sizeof(json),
             "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"%s%s}]%s%s%s"
             "%s%s%s}",
             key_extra != NULL ? "," : "", key_extra != NULL ? key_extra : "",
             tsa_root != NULL ? ",\"timestamp_authorities\":[{\"name\":\"test-tsa\",\"certificates\":\"" : "",
             tsa_root != NULL ? tsa_root : "", tsa_root != NULL ? "\"}]" : "",
             require != NULL ? ",\"require\":{" : "", require != NULL ? require : "", require != NULL ? "}" : "");
    tu_write_str(tp("policy.json"), json);
    return tp("policy.json");
}

static void tc_expect_verify(int want_rc, const char *reason, const char *bundle, const char *at)
{
    int rc;

    if (at != NULL) {
        rc = TC("verify", "--json", "-p", tp("policy.json"), "-b", bundle, "--at", at, tp("app.txt"));
    } else {
        rc = TC("verify", "--json", "-p", tp("policy.json"), "-b", bundle, tp("app.txt"));
    }
    cr_assert_eq(rc, want_rc, "verify exit %d, wanted %d (%s): %s %s", rc, want_rc, reason, tc_out, tc_err);
    if (reason != NULL) {
        char want[128];

        snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
        cr_assert(strstr(tc_out, want) != NULL, "no %s in %s", reason, tc_out);
        if (want_rc != 0) {
            snprintf(want, sizeof(want), "\"code\":\"%s\"", reason);
            cr_assert(strstr(tc_out, want) != NULL, "%s did not decide: %s", reason, tc_out);
        }
    }
}

static void tc_time(char *buf, size_t size, int64_t t)
{
    cr_assert_eq(sign_format_time(buf, size, t), 0);
}

Test(timestamp_cli, sign_with_one_and_two_tsas_verifies, .init = tc_setup, .fini = tc_teardown)
{
    json_t *j;

    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    tsa_server_start(&ts_srv2, ts_dir, "tsa", NULL, NULL);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", tp("one.json"), tp("app.txt")), 0, "%s",
                 tc_err);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "--tsa", ts_srv2.url, "--tsa-policy", "1.2.3.4.1",
                    "--tsa-timeout", "5", "-o", tp("two.json"), tp("app.txt")),
                 0, "%s", tc_err);
    tc_policy("root.pem", NULL, "\"timestamp\":true");
    tc_expect_verify(0, "OK", tp("one.json"), NULL);
    tc_expect_verify(0, "OK", tp("two.json"), NULL);
    cr_assert(strstr(tc_out, "timestamp 2 from") != NULL, "%s", tc_out);
    cr_assert_eq(TC("inspect", "--json", tp("two.json")), 0);
    j = json_loads(tc_out, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_eq(json_array_size(json_object_get(j, "timestamps")), 2);
    cr_assert(strstr(json_string_value(json_object_get(json_array_get(json_object_get(j, "timestamps"), 0), "tsa")),
                     "signet test TSA tsa") != NULL);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "timestamps"), 0), "policy")),
        "1.2.3.4.1");
    json_decref(j);
    cr_assert_eq(TC("inspect", tp("one.json")), 0);
    cr_assert(strstr(tc_out, "timestamps:    1") != NULL && strstr(tc_out, "serial 0x") != NULL, "%s", tc_out);
}

Test(timestamp_cli, each_tsa_fault_fails_sign_and_writes_nothing, .init = tc_setup, .fini = tc_teardown)
{
    static const struct {
        const char *fault, *words;
    } faults[] = {{"refuse", "refused"},          {"close", "closed"},
                  {"http500", "HTTP error"},      {"garbage", "garbage"},
                  {"wrong-nonce", "wrong nonce"}, {"wrong-imprint", "wrong imprint"},
                  {"reject", "rejected"},         {"slow=3", "timed out"}};

    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        int rc;

        tsa_server_start(&ts_srv, ts_dir, "tsa", faults[i].fault, NULL);
        rc = TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "--tsa-timeout", "1", tp("app.txt"));
        cr_assert_eq(rc, 2, "fault %s: exit %d: %s", faults[i].fault, rc, tc_err);
        cr_assert(strstr(tc_err, ts_srv.url) != NULL, "fault %s: the message does not name the TSA: %s",
                  faults[i].fault, tc_err);
        cr_assert(strstr(tc_err, faults[i].words) != NULL, "fault %s: \"%s\" lacks \"%s\"", faults[i].fault, tc_err,
                  faults[i].words);
        cr_assert(!tu_exists(tp("app.txt.sigstore.json")), "fault %s: a bundle was written", faults[i].fault);
        tsa_server_stop(&ts_srv);
    }
}

Test(timestamp_cli, one_failing_tsa_of_two_writes_nothing, .init = tc_setup, .fini = tc_teardown)
{
    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    tsa_server_start(&ts_srv2, ts_dir, "tsa", "http500", NULL);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "--tsa", ts_srv2.url, tp("app.txt")), 2);
    cr_assert(!tu_exists(tp("app.txt.sigstore.json")));
}

Test(timestamp_cli, tsa_optional_signs_without_and_says_so, .init = tc_setup, .fini = tc_teardown)
{
    tsa_server_start(&ts_srv, ts_dir, "tsa", "refuse", NULL);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "--tsa-optional", tp("app.txt")), 0, "%s",
                 tc_err);
    cr_assert(strstr(tc_err, "WITHOUT a timestamp") != NULL && strstr(tc_err, ts_srv.url) != NULL, "%s", tc_err);
    cr_assert_eq(TC("inspect", "--json", tp("app.txt.sigstore.json")), 0);
    cr_assert(strstr(tc_out, "\"timestamps\"") == NULL, "%s", tc_out);
    /* Unstamped: refused where the policy requires a timestamp. */
    tc_policy("root.pem", NULL, "\"timestamp\":true");
    tc_expect_verify(4, "TIMESTAMP_MISSING", tp("app.txt.sigstore.json"), NULL);
    cr_assert_eq(TC("sign", "--tsa-optional", "-k", tp("k.key"), "-o", tp("x.json"), tp("app.txt")), 2);
}

static void tc_sign_stamped(const char *bundle, const char *cert, const char *at, const char *artifact)
{
    tsa_server_start(&ts_srv, ts_dir, cert, NULL, at);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", bundle, artifact), 0, "%s", tc_err);
    tsa_server_stop(&ts_srv);
}

Test(timestamp_cli, verify_refuses_untrusted_and_unconfigured_tsa, .init = tc_setup, .fini = tc_teardown)
{
    tsa_gen_root(ts_dir, "other");
    tc_sign_stamped(tp("b.json"), "tsa", NULL, tp("app.txt"));
    tc_policy("other.pem", NULL, NULL);
    tc_expect_verify(3, "TIMESTAMP_UNTRUSTED", tp("b.json"), NULL);
    /* A policy without timestamp_authorities cannot check it: refused, not ignored. */
    tc_policy(NULL, NULL, NULL);
    tc_expect_verify(3, "TIMESTAMP_UNTRUSTED", tp("b.json"), NULL);
}

Test(timestamp_cli, verify_refuses_expired_tsa_certificate, .init = tc_setup, .fini = tc_teardown)
{
    int64_t now = (int64_t)time(NULL);

    tsa_gen_leaf(ts_dir, "expired", "root", now - 10 * 86400, now - 5 * 86400, TSA_EKU_CRITICAL);
    tc_sign_stamped(tp("b.json"), "expired", NULL, tp("app.txt"));
    tc_policy("root.pem", NULL, NULL);
    tc_expect_verify(6, "TIMESTAMP_OUTSIDE_TSA_VALIDITY", tp("b.json"), NULL);
}

/* Replace the bundle's timestamps with one over other bytes (PAE, payload) from the test TSA. */
static void tc_stamp_other_bytes(const char *bundle, int what)
{
    sign_bundle *b = NULL, *fresh = NULL;
    const sign_envelope *env;
    unsigned char *pae = NULL, *der = NULL;
    size_t plen = 0, paelen = 0, len = 0;
    const unsigned char *payload;
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;
    char *text;
    size_t tlen;

    cr_assert_eq(sign_bundle_read(&b, bundle, NULL), 0);
    env = sign_bundle_envelope(b);
    payload = sign_envelope_payload(env, &plen);
    cr_assert_eq(sign_dsse_pae(&pae, &paelen, sign_envelope_payload_type(env), payload, plen), 0);
    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    if (what == 0) {
        cr_assert_eq(sign_timestamp_request(&der, &len, ts_srv.url, pae, paelen, &o), 0, "%s", sign_error_last());
    } else {
        cr_assert_eq(sign_timestamp_request(&der, &len, ts_srv.url, payload, plen, &o), 0, "%s", sign_error_last());
    }
    tsa_server_stop(&ts_srv);
    /* The bundle as signed (unstamped) plus that timestamp. */
    cr_assert_eq(sign_bundle_serialize(&text, &tlen, b), 0);
    cr_assert_eq(sign_bundle_parse(&fresh, text, tlen, NULL), 0);
    cr_assert_eq(sign_bundle_add_timestamp(fresh, der, len), 0);
    cr_assert_eq(sign_bundle_write(fresh, bundle), 0);
    free(text);
    free(der);
    free(pae);
    sign_bundle_free(b);
    sign_bundle_free(fresh);
}

Test(timestamp_cli, verify_refuses_imprint_over_pae_and_payload, .init = tc_setup, .fini = tc_teardown)
{
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "-o", tp("pae.json"), tp("app.txt")), 0);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "-o", tp("payload.json"), tp("app.txt")), 0);
    tc_stamp_other_bytes(tp("pae.json"), 0);
    tc_stamp_other_bytes(tp("payload.json"), 1);
    tc_policy("root.pem", NULL, NULL);
    tc_expect_verify(1, "TIMESTAMP_IMPRINT_MISMATCH", tp("pae.json"), NULL);
    tc_expect_verify(1, "TIMESTAMP_IMPRINT_MISMATCH", tp("payload.json"), NULL);
}

/* The first signedTimestamp of a bundle JSON (malloc'd base64). */
static char *tc_get_ts(const char *bundle)
{
    json_t *root = json_load_file(bundle, 0, NULL), *t;
    char *s;

    cr_assert_not_null(root);
    t = json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(root, "verificationMaterial"),
                                                                       "timestampVerificationData"),
                                                       "rfc3161Timestamps"),
                                       0),
                        "signedTimestamp");
    cr_assert(json_is_string(t));
    s = strdup(json_string_value(t));
    json_decref(root);
    return s;
}

static void tc_set_ts(const char *bundle, const char *b64)
{
    json_t *root = json_load_file(bundle, 0, NULL), *t;

    cr_assert_not_null(root);
    t = json_array_get(
        json_object_get(json_object_get(json_object_get(root, "verificationMaterial"), "timestampVerificationData"),
                        "rfc3161Timestamps"),
        0);
    cr_assert(json_is_object(t));
    json_object_set_new(t, "signedTimestamp", json_string(b64));
    cr_assert_eq(json_dump_file(root, bundle, JSON_COMPACT), 0);
    json_decref(root);
}

Test(timestamp_cli, verify_refuses_tampered_and_transplanted_tokens, .init = tc_setup, .fini = tc_teardown)
{
    char *b64, *tampered;
    unsigned char der[16384];
    int n, hits = 0;

    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", tp("a.json"), tp("app.txt")), 0);
    /* B signs another statement (Ed25519 is deterministic: the same statement gives the same signature). */
    cr_assert_eq(
        TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", tp("b.json"), tp("app.txt"), tp("other.txt")), 0);
    tc_policy("root.pem", NULL, NULL);
    tc_expect_verify(0, "OK", tp("a.json"), NULL);
    /* A's token in B (another signature over the same statement): it stamps other bytes. */
    b64 = tc_get_ts(tp("a.json"));
    tc_set_ts(tp("b.json"), b64);
    tc_expect_verify(1, "TIMESTAMP_IMPRINT_MISMATCH", tp("b.json"), NULL);
    /* A's token with its genTime changed. */
    n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
    cr_assert_gt(n, 100);
    for (int i = 0; i + 17 < n; i++) {
        if (der[i] == 0x18 && der[i + 1] == 15 && der[i + 16] == 'Z') {
            der[i + 15] = der[i + 15] == '0' ? '1' : '0';
            hits++;
            break;
        }
    }
    cr_assert_eq(hits, 1);
    while (n > 0 && der[n - 1] == 0 && strlen(b64) > 0 && b64[strlen(b64) - 1] == '=') {
        /* EVP_DecodeBlock counts padding as zero bytes: drop them. */
        n--;
        b64[strlen(b64) - 1] = '\0';
    }
    tampered = malloc(4 * (size_t)n / 3 + 8);
    EVP_EncodeBlock((unsigned char *)tampered, der, n);
    tc_set_ts(tp("a.json"), tampered);
    tc_expect_verify(1, "TIMESTAMP_INVALID", tp("a.json"), NULL);
    free(tampered);
    free(b64);
}

Test(timestamp_cli, key_window_judged_at_signing_time, .init = tc_setup, .fini = tc_teardown)
{
    int64_t now = (int64_t)time(NULL);
    char nb[32], na[32], key[128], at[32], judge[32];

    tsa_gen_leaf(ts_dir, "old", "root", now - 30 * 86400, now + 86400, TSA_EKU_CRITICAL);
    tc_time(nb, sizeof(nb), now - 10 * 86400);
    tc_time(na, sizeof(na), now - 1 * 86400);
    snprintf(key, sizeof(key), "\"not_before\":\"%s\",\"not_after\":\"%s\"", nb, na);
    snprintf(at, sizeof(at), "%lld", (long long)(now - 2 * 86400));
    tc_sign_stamped(tp("stamped.json"), "old", at, tp("app.txt"));
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "-o", tp("plain.json"), tp("app.txt")), 0);
    tc_policy("root.pem", key, NULL);
    /* The key's window has closed, but the timestamp proves the signature was made inside it. */
    tc_expect_verify(0, "OK", tp("stamped.json"), NULL);
    cr_assert(strstr(tc_out, "the trusted signing time") != NULL, "%s", tc_out);
    tc_expect_verify(6, "KEY_EXPIRED", tp("plain.json"), NULL);
    /* --at: judged as of a time before the signature existed. */
    tc_time(judge, sizeof(judge), now - 3 * 86400);
    tc_expect_verify(6, "SIGNED_AFTER_AT", tp("stamped.json"), judge);
    /* --at inside the window: the unstamped bundle passes as of then. */
    tc_time(judge, sizeof(judge), now - 5 * 86400);
    tc_expect_verify(0, "OK", tp("plain.json"), judge);
}

Test(timestamp_cli, signature_age_against_trusted_time, .init = tc_setup, .fini = tc_teardown)
{
    int64_t now = (int64_t)time(NULL);
    char at[32], judge[32];

    tsa_gen_leaf(ts_dir, "old", "root", now - 30 * 86400, now + 86400, TSA_EKU_CRITICAL);
    snprintf(at, sizeof(at), "%lld", (long long)(now - 2 * 86400));
    tc_sign_stamped(tp("old.json"), "old", at, tp("app.txt"));
    tc_sign_stamped(tp("new.json"), "tsa", NULL, tp("app.txt"));
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "-o", tp("plain.json"), tp("app.txt")), 0);
    tc_policy("root.pem", NULL, "\"max_signature_age\":\"1d\"");
    tc_expect_verify(6, "SIGNATURE_AGE_EXCEEDED", tp("old.json"), NULL);
    tc_expect_verify(0, "OK", tp("new.json"), NULL);
    tc_expect_verify(4, "SIGNATURE_AGE_UNPROVEN", tp("plain.json"), NULL);
    /* As of a day and a half ago, the old signature was young enough. */
    tc_time(judge, sizeof(judge), now - 36 * 3600);
    tc_expect_verify(0, "OK", tp("old.json"), judge);
}

Test(timestamp_cli, timestamp_command_adds_atomically, .init = tc_setup, .fini = tc_teardown)
{
    struct stat before, after;
    char *orig, *now_text;
    size_t olen, nlen;

    cr_assert_eq(TC("sign", "-k", tp("k.key"), tp("app.txt")), 0);
    tc_policy("root.pem", NULL, "\"timestamp\":true");
    tc_expect_verify(4, "TIMESTAMP_MISSING", tp("app.txt.sigstore.json"), NULL);
    /* A failing TSA leaves the bundle byte for byte as it was. */
    orig = tu_read(tp("app.txt.sigstore.json"), &olen);
    tsa_server_start(&ts_srv2, ts_dir, "tsa", "garbage", NULL);
    cr_assert_eq(TC("timestamp", "--tsa", ts_srv2.url, tp("app.txt.sigstore.json")), 2);
    cr_assert(strstr(tc_err, "garbage") != NULL && strstr(tc_err, "unchanged") != NULL, "%s", tc_err);
    now_text = tu_read(tp("app.txt.sigstore.json"), &nlen);
    cr_assert(olen == nlen && memcmp(orig, now_text, olen) == 0);
    free(now_text);
    /* A good one: rewritten by rename (a new inode), and now it verifies. */
    cr_assert_eq(stat(tp("app.txt.sigstore.json"), &before), 0);
    tsa_server_start(&ts_srv, ts_dir, "tsa", NULL, NULL);
    cr_assert_eq(TC("timestamp", "--tsa", ts_srv.url, tp("app.txt.sigstore.json")), 0, "%s", tc_err);
    cr_assert(strstr(tc_out, "added 1 timestamp") != NULL, "%s", tc_out);
    cr_assert_eq(stat(tp("app.txt.sigstore.json"), &after), 0);
    cr_assert_neq(before.st_ino, after.st_ino, "the bundle was rewritten in place, not replaced");
    tc_expect_verify(0, "OK", tp("app.txt.sigstore.json"), NULL);
    cr_assert_eq(TC("timestamp", tp("app.txt.sigstore.json")), 2);
    cr_assert_eq(TC("timestamp", "--tsa", ts_srv.url), 2);
    free(orig);
}

/* ---- DER only (issue 14, item 6) ---- */

/* The header of the TLV at p: *hdr its size; returns the content length. */
static size_t ts_tlv(const unsigned char *p, size_t *hdr)
{
    size_t n, c = 0;

    if (p[1] < 0x80) {
        *hdr = 2;
        return p[1];
    }
    n = p[1] & 0x7f;
    for (size_t i = 0; i < n; i++) {
        c = (c << 8) | p[2 + i];
    }
    *hdr = 2 + n;
    return c;
}

static size_t ts_put_len(unsigned char *o, size_t n, int long_form)
{
    if (n < 0x80 && !long_form) {
        o[0] = (unsigned char)n;
        return 1;
    }
    if (!long_form) {
        size_t k = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;

        o[0] = (unsigned char)(0x80 | k);
        for (size_t i = 0; i < k; i++) {
            o[1 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
        }
        return 1 + k;
    }
    o[0] = 0x84;
    o[1] = (unsigned char)(n >> 24);
    o[2] = (unsigned char)(n >> 16);
    o[3] = (unsigned char)(n >> 8);
    o[4] = (unsigned char)n;
    return 5;
}

/*
 * The TimeStampResp re-encoded as BER: the outer SEQUENCE and/or the token's ContentInfo with indefinite
 * lengths, or (long_form) the outer length in a needless long form. Same content, same signature.
 */
static unsigned char *ts_ber(const unsigned char *der, size_t len, int outer, int inner, int long_form,
                             size_t *outlen)
{
    size_t ho, hs, ht, co = ts_tlv(der, &ho), cs = ts_tlv(der + ho, &hs), ct, n = 0, clen;
    const unsigned char *status = der + ho, *tok = der + ho + hs + cs;
    unsigned char *content = malloc(len + 16), *out = malloc(len + 32);

    cr_assert(content != NULL && out != NULL && co + ho == len);
    ct = ts_tlv(tok, &ht);
    memcpy(content, status, hs + cs);
    clen = hs + cs;
    if (inner) {
        content[clen++] = 0x30;
        content[clen++] = 0x80;
        memcpy(content + clen, tok + ht, ct);
        clen += ct;
        content[clen++] = 0;
        content[clen++] = 0;
    } else {
        memcpy(content + clen, tok, ht + ct);
        clen += ht + ct;
    }
    out[n++] = 0x30;
    if (outer) {
        out[n++] = 0x80;
    } else {
        n += ts_put_len(out + n, clen, long_form);
    }
    memcpy(out + n, content, clen);
    n += clen;
    if (outer) {
        out[n++] = 0;
        out[n++] = 0;
    }
    free(content);
    *outlen = n;
    return out;
}

Test(timestamp, ber_reencoded_tokens_are_malformed, .init = ts_setup, .fini = ts_teardown)
{
    unsigned char *der = NULL, *ber;
    size_t len = 0, blen = 0;
    sign_timestamp_info info;
    static const int shapes[][3] = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {0, 0, 1}};

    cr_assert_eq(ts_request(&der, &len, "tsa", NULL, NULL, ts_sig, sizeof(ts_sig)), 0, "%s", sign_error_last());
    /* The DER token verifies; the same token rebuilt by ts_ber without changes does too. */
    ber = ts_ber(der, len, 0, 0, 0, &blen);
    cr_assert_eq(blen, len);
    cr_assert_eq(memcmp(ber, der, len), 0);
    free(ber);
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        ber = ts_ber(der, len, shapes[i][0], shapes[i][1], shapes[i][2], &blen);
        cr_assert_eq(ts_verify_fail(ber, blen, "root", SIGN_EBADSIG), SIGN_TS_MALFORMED, "shape %zu: %s", i,
                     sign_error_last());
        cr_assert_not_null(strstr(sign_error_last(), "not DER"), "%s", sign_error_last());
        cr_assert_eq(sign_timestamp_parse(&info, ber, blen), SIGN_EPARSE);
        free(ber);
    }
    free(der);
}

/* ---- accuracy, pinned policies, TSA CRLs (issue 14, items 5 and 10) ---- */

/* policy.json: key k (key_extra in its object) and the test TSA's root with tsa_extra in its object. */
static void tc_policy_tsa(const char *tsa_extra, const char *key_extra)
{
    char json[2048];

    snprintf(json, sizeof(json),
             "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"%s%s}],"
             "\"timestamp_authorities\":[{\"name\":\"test-tsa\",\"certificates\":\"root.pem\"%s%s}]}",
             key_extra != NULL ? "," : "", key_extra != NULL ? key_extra : "", tsa_extra != NULL ? "," : "",
             tsa_extra != NULL ? tsa_extra : "");
    tu_write_str(tp("policy.json"), json);
}

/* Sign app.txt into bundle, stamped by the test TSA at `at` (epoch text) stating `accuracy` seconds. */
static void tc_sign_accuracy(const char *bundle, const char *at, long accuracy)
{
    char fault[64];

    snprintf(fault, sizeof(fault), "accuracy=%ld", accuracy);
    tsa_server_start(&ts_srv, ts_dir, "tsa", fault, at);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", bundle, tp("app.txt")), 0, "%s", tc_err);
    tsa_server_stop(&ts_srv);
}

/*
 * A token of genTime T +- 1 day for a key valid from T - 5 min to T + 5 min: the signature may have been made a
 * day before or after, so the window does not contain it. Before the fix the key window was judged at genTime.
 */
Test(timestamp_cli, accuracy_interval_must_fit_the_key_window, .init = tc_setup, .fini = tc_teardown)
{
    int64_t t = (int64_t)time(NULL) - 3600;
    char at[32], nb[32], na[32], extra[128];

    /* A TSA certificate valid long enough on both sides: the key window alone decides. */
    tsa_gen_leaf(ts_dir, "tsa", "root", t - 10 * 86400, t + 10 * 86400, TSA_EKU_CRITICAL);
    snprintf(at, sizeof(at), "%lld", (long long)t);
    tc_sign_accuracy(tp("day.json"), at, 86400);
    tc_sign_accuracy(tp("none.json"), at, 0);
    tc_sign_accuracy(tp("sec.json"), at, 1);
    tc_time(nb, sizeof(nb), t - 300);
    tc_time(na, sizeof(na), t + 300);
    snprintf(extra, sizeof(extra), "\"not_before\":\"%s\",\"not_after\":\"%s\"", nb, na);
    /* The default max_accuracy is 60 s: a day is refused outright. */
    tc_policy_tsa(NULL, NULL);
    tc_expect_verify(4, "TIMESTAMP_ACCURACY_TOO_LARGE", tp("day.json"), NULL);
    /* Allowed by the authority, the interval still must fit the key's window. */
    tc_policy_tsa("\"max_accuracy\":\"2d\"", extra);
    tc_expect_verify(6, "KEY_NOT_YET_VALID", tp("day.json"), NULL);
    /* Without accuracy the token is taken at genTime; +-1 s fits. */
    tc_expect_verify(0, "OK", tp("none.json"), NULL);
    tc_expect_verify(0, "OK", tp("sec.json"), NULL);
}

Test(timestamp, accuracy_interval_must_fit_the_tsa_certificate, .init = ts_setup, .fini = ts_teardown)
{
    int64_t now = (int64_t)time(NULL);
    sign_tsa_authority a = SIGN_TSA_AUTHORITY_INIT;
    sign_tsa_roots *roots = NULL;
    sign_x509_certs *certs = NULL;
    sign_timestamp_info info;
    sign_timestamp_failure why = SIGN_TS_OK;
    unsigned char *der = NULL;
    size_t len = 0;
    char *p = tu_path(ts_dir, "root.pem"), at[32];
    sign_tsa_options o = SIGN_TSA_OPTIONS_INIT;

    /* A TSA certificate valid one hour either side of genTime; the token says +-2 hours. */
    tsa_gen_leaf(ts_dir, "short", "root", now - 3600, now + 3600, TSA_EKU_CRITICAL);
    snprintf(at, sizeof(at), "%lld", (long long)now);
    o.timeout = 2;
    o.connect_timeout = 2;
    tsa_server_start(&ts_srv, ts_dir, "short", "accuracy=7200", at);
    cr_assert_eq(sign_timestamp_request(&der, &len, ts_srv.url, ts_sig, sizeof(ts_sig), &o), 0, "%s",
                 sign_error_last());
    tsa_server_stop(&ts_srv);
    cr_assert_eq(sign_x509_certs_load(&certs, p), 0);
    cr_assert_eq(sign_tsa_roots_new(&roots), 0);
    a.roots = certs;
    a.max_accuracy = 86400;
    cr_assert_eq(sign_tsa_roots_add_authority(roots, "wide", &a), 0, "%s", sign_error_last());
    cr_assert_eq(sign_timestamp_verify(&info, &why, der, len, ts_sig, sizeof(ts_sig), roots), SIGN_EEXPIRED, "%s",
                 sign_error_last());
    cr_assert_eq(why, SIGN_TS_OUTSIDE_TSA_VALIDITY, "%s", sign_error_last());
    sign_tsa_roots_free(roots);
    sign_x509_certs_free(certs);
    free(der);
    free(p);
}

Test(timestamp_cli, pinned_tsa_policies_and_tsa_crls, .init = tc_setup, .fini = tc_teardown)
{
    int64_t now = (int64_t)time(NULL);
    pkigen_cert root;
    pkigen_crl_entry e = {.reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *crl, *clean;
    FILE *f;
    char *tsa_pem = tu_path(ts_dir, "tsa.pem"), *root_pem = tu_path(ts_dir, "root.pem"),
         *root_key = tu_path(ts_dir, "root.key");

    tc_sign_stamped(tp("b.json"), "tsa", NULL, tp("app.txt"));
    /* Policies: the test TSA issues under 1.2.3.4.1. */
    tc_policy_tsa("\"policies\":[\"1.2.3.4.1\"]", NULL);
    tc_expect_verify(0, "OK", tp("b.json"), NULL);
    tc_policy_tsa("\"policies\":[\"1.3.6.1.4.1.99999.1\",\"1.2.3.4.2\"]", NULL);
    tc_expect_verify(3, "TIMESTAMP_POLICY_NOT_ALLOWED", tp("b.json"), NULL);
    /* A policy entry that is not an OID is refused at load. */
    tc_policy_tsa("\"policies\":[\"not an oid\"]", NULL);
    cr_assert_eq(TC("verify", "-p", tp("policy.json"), "-b", tp("b.json"), tp("app.txt")), 2, "%s", tc_err);
    /* CRLs: the TSA certificate revoked by its root (keyCompromise, no invalidityDate). */
    cr_assert_not_null(f = fopen(root_pem, "r"));
    cr_assert_not_null(root.x = PEM_read_X509(f, NULL, NULL, NULL));
    fclose(f);
    cr_assert_not_null(f = fopen(root_key, "r"));
    cr_assert_not_null(root.key = PEM_read_PrivateKey(f, NULL, NULL, NULL));
    fclose(f);
    cr_assert_not_null(f = fopen(tsa_pem, "r"));
    {
        X509 *tsa = PEM_read_X509(f, NULL, NULL, NULL);

        cr_assert_not_null(tsa);
        e.serial = ASN1_INTEGER_get(X509_get0_serialNumber(tsa));
        X509_free(tsa);
    }
    fclose(f);
    e.revoked_at = now + 3600; /* even after the token's time: the key was compromised */
    crl = pkigen_crl_new(&root, NULL, now - 60, now + 86400, &e, 1, NULL);
    clean = pkigen_crl_new(&root, NULL, now - 60, now + 86400, NULL, 0, NULL);
    pkigen_write_crl(tp("tsa.crl"), crl, 0);
    pkigen_write_crl(tp("clean.crl"), clean, 1);
    tc_policy_tsa("\"crls\":[\"clean.crl\"]", NULL);
    tc_expect_verify(0, "OK", tp("b.json"), NULL);
    tc_policy_tsa("\"crls\":[\"tsa.crl\"]", NULL);
    tc_expect_verify(5, "TIMESTAMP_REVOKED", tp("b.json"), NULL);
    X509_CRL_free(crl);
    X509_CRL_free(clean);
    X509_free(root.x);
    EVP_PKEY_free(root.key);
    free(tsa_pem);
    free(root_pem);
    free(root_key);
}

/* Policy timestamp_authorities[].intermediates (and a TSA certificate in certificates) for tokens without one. */
Test(timestamp_cli, certless_token_with_policy_intermediates, .init = tc_setup, .fini = tc_teardown)
{
    char json[1024];

    tsa_server_start(&ts_srv, ts_dir, "tsa", "no-certs", NULL);
    cr_assert_eq(TC("sign", "-k", tp("k.key"), "--tsa", ts_srv.url, "-o", tp("b.json"), tp("app.txt")), 0, "%s",
                 tc_err);
    tsa_server_stop(&ts_srv);
    tc_policy("root.pem", NULL, "\"timestamp\":true");
    tc_expect_verify(3, "TIMESTAMP_UNTRUSTED", tp("b.json"), NULL);
    cr_assert(strstr(tc_out, "does not carry its signer's certificate") != NULL, "%s", tc_out);
    snprintf(
        json, sizeof(json),
        "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"}],\"timestamp_authorities\":[{\"name\":"
        "\"test-tsa\",\"certificates\":\"root.pem\",\"intermediates\":\"tsa.pem\"}],\"require\":{\"timestamp\":"
        "true}}");
    tu_write_str(tp("policy.json"), json);
    tc_expect_verify(0, "OK", tp("b.json"), NULL);
    cr_assert(strstr(tc_out, "timestamp authority \\\"test-tsa\\\"") != NULL, "%s", tc_out);
    /* The intermediates file must exist, like every file the policy names. */
    tu_write_str(tp("policy.json"), "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"}],"
                                    "\"timestamp_authorities\":[{\"name\":\"test-tsa\",\"certificates\":\"root.pem\","
                                    "\"intermediates\":\"missing.pem\"}]}");
    cr_assert_neq(TC("verify", "--json", "-p", tp("policy.json"), "-b", tp("b.json"), tp("app.txt")), 0);
    cr_assert(strstr(tc_out, "POLICY_MALFORMED") != NULL || strstr(tc_out, "POLICY") != NULL, "%s", tc_out);
}

/* Set verificationMaterial.tlogEntries of bundle to the JSON text entries. */
static void tc_set_tlog(const char *bundle, const char *entries)
{
    json_t *root = json_load_file(bundle, 0, NULL), *v = json_loads(entries, JSON_DECODE_ANY, NULL);

    cr_assert(root != NULL && v != NULL);
    cr_assert_eq(json_object_set_new(json_object_get(root, "verificationMaterial"), "tlogEntries", v), 0);
    cr_assert_eq(json_dump_file(root, bundle, JSON_COMPACT), 0);
    json_decref(root);
}

#define TC_ENTRY(extra)                                                                                              \
    "[{\"logIndex\":\"25915956\",\"logId\":{\"keyId\":\"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=\"},"            \
    "\"kindVersion\":{\"kind\":\"dsse\",\"version\":\"0.0.1\"},\"integratedTime\":\"1700000000\","                   \
    "\"canonicalizedBody\":\"e30=\"" extra "}]"

/*
 * Transparency-log entries are parsed strictly: a well-formed one is reported as not verified (its time unused),
 * garbage is TLOG_INVALID whatever the policy, never ignored.
 */
/* A malformed entry, and a well-formed one that records something else than this bundle (here {}), are refused
   whatever the policy; matching entries are checked in tests/tlog_test.c. */
Test(timestamp_cli, tlog_entries_malformed_or_foreign_refused, .init = tc_setup, .fini = tc_teardown)
{
    const char *bad[] = {
        "[1]",
        TC_ENTRY(""), /* neither promise nor proof */
        TC_ENTRY(",\"inclusionPromise\":{\"signedEntryTimestamp\":\"%%%\"}"),
        TC_ENTRY(",\"inclusionProof\":{\"logIndex\":\"1\",\"treeSize\":\"2\",\"rootHash\":\"AAAA\","
                 "\"hashes\":[],\"checkpoint\":{\"envelope\":\"x\"}}"),
        "[{\"logIndex\":\"-1\",\"logId\":{\"keyId\":\"AAAA\"},\"kindVersion\":{\"kind\":\"dsse\",\"version\":\"0.0."
        "1\"},"
        "\"canonicalizedBody\":\"e30=\",\"inclusionPromise\":{\"signedEntryTimestamp\":\"AAAA\"}}]",
    };

    cr_assert_eq(TC("sign", "-k", tp("k.key"), "-o", tp("b.json"), tp("app.txt")), 0, "%s", tc_err);
    tc_policy(NULL, NULL, NULL);
    tc_set_tlog(tp("b.json"), TC_ENTRY(",\"inclusionPromise\":{\"signedEntryTimestamp\":\"AAAA\"}"));
    tc_expect_verify(1, "TLOG_INVALID", tp("b.json"), NULL);
    cr_assert(strstr(tc_out, "canonicalized body") != NULL, "%s", tc_out);
    tc_set_tlog(tp("b.json"), "null");
    tc_expect_verify(0, "OK", tp("b.json"), NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tc_set_tlog(tp("b.json"), bad[i]);
        tc_expect_verify(1, "TLOG_INVALID", tp("b.json"), NULL);
    }
}
