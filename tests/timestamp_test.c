/* RFC 3161 timestamps: requests against the test TSA (every fault), verification (every refusal), CLI. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sign/sign.h"
#include "testutil.h"
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
