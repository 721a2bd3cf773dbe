/*
 * Certificates x timestamps, end to end: signet sign --cert with --tsa (the
 * test TSA with a fixed genTime), signet timestamp on certificate bundles,
 * and signet verify judging the chain's validity and revocation at the
 * trusted signing time. The PKI, the CRLs and the TSA certificates are made
 * at test time.
 *
 * A bundle "signed back then" with a certificate that has expired since is
 * made the way it would have been: the signature covers the statement only,
 * never the certificate, so a bundle signed today with certificate A of a
 * key, stamped by the TSA at a chosen genTime, and then carrying certificate
 * B of the same key (issued by the same CA with another validity) is the
 * bundle signet would have written with B at that time.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "pkigen.h"
#include "sign/sign.h"
#include "testutil.h"
#include "tsautil.h"

#define CT_DAY 86400LL

static char *ct_dir;
static char *ct_out, *ct_err;
static char *ct_paths[256];
static size_t ct_npaths;
static int64_t ct_now;
static pkigen_cert *ct_ca, *ct_int, *ct_leaf;
static tsa_server ct_srv;

/* dir/name, owned by the fixture. */
static const char *cp(const char *name)
{
    cr_assert_lt(ct_npaths, 256);
    ct_paths[ct_npaths] = tu_path(ct_dir, name);
    return ct_paths[ct_npaths++];
}

static int ct_run(const char *a0, ...)
{
    const char *argv[40];
    va_list ap;
    size_t n = 0;

    argv[n++] = "signet";
    argv[n++] = a0;
    va_start(ap, a0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 39);
    }
    va_end(ap);
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    return tu_run(&ct_out, &ct_err, NULL, argv);
}

#define CT(...) ct_run(__VA_ARGS__, (const char *)NULL)

/* A certificate of key (NULL: a new one) issued by the intermediate, valid nb..na, written as NAME.pem. */
static pkigen_cert *ct_cert(const char *name, EVP_PKEY *key, int64_t nb, int64_t na)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1", .use_key = key, .not_before = nb, .not_after = na};
    pkigen_cert *c = pkigen_cert_new(&o, ct_int);
    const pkigen_cert *chain[2] = {c, ct_int};
    char file[128];

    snprintf(file, sizeof(file), "%s.pem", name);
    pkigen_write_certs(cp(file), chain, 1);
    snprintf(file, sizeof(file), "%s-chain.pem", name);
    pkigen_write_certs(cp(file), chain, 2);
    return c;
}

static void ct_setup(void)
{
    pkigen_cert_opts ro = {.cn = "CT Root", .ca = 1}, io = {.cn = "CT Intermediate", .ca = 1};

    ct_dir = tsa_std_pki(); /* root.pem/.key: the TSA root; tsa.pem/.key: a TSA valid now-1d..now+1d */
    ct_npaths = 0;
    memset(&ct_srv, 0, sizeof(ct_srv));
    ct_now = (int64_t)time(NULL);
    /* A TSA whose certificate covers the past year, for genTimes set in the past. */
    tsa_gen_leaf(ct_dir, "oldtsa", "root", ct_now - 400 * CT_DAY, ct_now + CT_DAY, TSA_EKU_CRITICAL);
    ro.not_before = ct_now - 3650 * CT_DAY;
    ro.not_after = ct_now + 3650 * CT_DAY;
    io.not_before = ct_now - 365 * CT_DAY;
    io.not_after = ct_now + 365 * CT_DAY;
    ct_ca = pkigen_cert_new(&ro, NULL);
    ct_int = pkigen_cert_new(&io, ct_ca);
    pkigen_write_certs(cp("ca.pem"), (const pkigen_cert *const *)&ct_ca, 1);
    pkigen_write_certs(cp("int.pem"), (const pkigen_cert *const *)&ct_int, 1);
    /* The signing certificate of today: valid now-30d..now+30d. */
    ct_leaf = ct_cert("leaf", NULL, ct_now - 30 * CT_DAY, ct_now + 30 * CT_DAY);
    pkigen_write_key(cp("leaf.key"), ct_leaf);
    tu_write_str(cp("app-1.0.bin"), "release bytes\n");
}

static void ct_teardown(void)
{
    tsa_server_stop(&ct_srv);
    pkigen_cert_free(ct_leaf);
    pkigen_cert_free(ct_int);
    pkigen_cert_free(ct_ca);
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    for (size_t i = 0; i < ct_npaths; i++) {
        free(ct_paths[i]);
    }
    tu_rmtree(ct_dir);
    free(ct_dir);
}

/*
 * policy.json: root "corp" (ca.pem, intermediates int.pem unless no_int),
 * extra spliced into the root ("," "\"crls\":[...]"), the TSA root "root.pem"
 * unless tsa is NULL, and require (the members, or NULL).
 */
static void ct_policy(int no_int, const char *extra, const char *tsa, const char *require)
{
    char json[4096];

    snprintf(json, sizeof(json),
             "{\"version\":1,\"roots\":[{\"name\":\"corp\",\"certificates\":\"ca.pem\"%s%s}]%s%s%s%s%s%s}",
             no_int ? "" : ",\"intermediates\":\"int.pem\"", extra != NULL ? extra : "",
             tsa != NULL ? ",\"timestamp_authorities\":[{\"name\":\"test-tsa\",\"certificates\":\"" : "",
             tsa != NULL ? tsa : "", tsa != NULL ? "\"}]" : "", require != NULL ? ",\"require\":{" : "",
             require != NULL ? require : "", require != NULL ? "}" : "");
    tu_write_str(cp("policy.json"), json);
}

/* Start the test TSA with certificate tsa_cert stamping genTime at (seconds since the epoch; 0: the clock). */
static void ct_tsa(const char *tsa_cert, int64_t at)
{
    char t[32];

    snprintf(t, sizeof(t), "%lld", (long long)at);
    tsa_server_stop(&ct_srv);
    tsa_server_start(&ct_srv, ct_dir, tsa_cert, NULL, at != 0 ? t : NULL);
}

/*
 * Sign app-1.0.bin with leaf.key and cert (a file name) into bundle; with a
 * timestamp from tsa_cert at genTime at when tsa_cert is not NULL; flag
 * (--embed-chain) may be NULL.
 */
static void ct_sign(const char *bundle, const char *cert, const char *tsa_cert, int64_t at, const char *flag)
{
    const char *argv[16];
    size_t n = 0;
    int rc;

    argv[n++] = "signet";
    argv[n++] = "sign";
    argv[n++] = "-k";
    argv[n++] = cp("leaf.key");
    argv[n++] = "--cert";
    argv[n++] = cp(cert);
    if (tsa_cert != NULL) {
        ct_tsa(tsa_cert, at);
        argv[n++] = "--tsa";
        argv[n++] = ct_srv.url;
    }
    if (flag != NULL) {
        argv[n++] = flag;
    }
    argv[n++] = "-o";
    argv[n++] = cp(bundle);
    argv[n++] = cp("app-1.0.bin");
    argv[n] = NULL;
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    rc = tu_run(&ct_out, &ct_err, NULL, argv);
    cr_assert_eq(rc, 0, "sign %s: %s", bundle, ct_err);
    if (tsa_cert != NULL) {
        tsa_server_stop(&ct_srv);
    }
}

/* The bundle's signing certificate (the v0.3 certificate, or the v0.2 chain's first) becomes c. */
static void ct_swap_cert(const char *bundle, const pkigen_cert *c)
{
    json_t *root = json_load_file(cp(bundle), 0, NULL), *vm, *slot;
    unsigned char *der = NULL;
    char *b64;
    int len = i2d_X509(c->x, &der);

    cr_assert_not_null(root);
    cr_assert_gt(len, 0);
    b64 = malloc(4 * ((size_t)len + 2) / 3 + 1);
    cr_assert_not_null(b64);
    EVP_EncodeBlock((unsigned char *)b64, der, len);
    vm = json_object_get(root, "verificationMaterial");
    slot = json_object_get(vm, "certificate");
    if (slot == NULL) {
        slot = json_array_get(json_object_get(json_object_get(vm, "x509CertificateChain"), "certificates"), 0);
    }
    cr_assert(json_is_object(slot), "no certificate in %s", bundle);
    cr_assert_eq(json_object_set_new(slot, "rawBytes", json_string(b64)), 0);
    cr_assert_eq(json_dump_file(root, cp(bundle), JSON_COMPACT), 0);
    json_decref(root);
    OPENSSL_free(der);
    free(b64);
}

/* verify bundle (at: --at value or NULL); asserts the exit status, the reason present and, on failure, deciding. */
static void ct_expect(const char *bundle, const char *at, int want_rc, const char *reason)
{
    char want[128];
    int rc = at != NULL
                 ? CT("verify", "--json", "-p", cp("policy.json"), "-b", cp(bundle), "--at", at, cp("app-1.0.bin"))
                 : CT("verify", "--json", "-p", cp("policy.json"), "-b", cp(bundle), cp("app-1.0.bin"));

    cr_assert_eq(rc, want_rc, "%s: exit %d, want %d (%s): %s %s", bundle, rc, want_rc, reason, ct_out, ct_err);
    snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
    cr_assert(ct_out != NULL && strstr(ct_out, want) != NULL, "%s: no %s in %s", bundle, reason, ct_out);
    snprintf(want, sizeof(want), "\"code\":\"%s\"", want_rc != 0 ? reason : "OK");
    cr_assert(strstr(ct_out, want) != NULL, "%s: %s did not decide: %s", bundle, reason, ct_out);
}

static int ct_has(const char *s)
{
    return ct_out != NULL && strstr(ct_out, s) != NULL;
}

/* ---- (a) a certificate that has expired since ---- */

Test(certts, expired_certificate_verifies_when_stamped_inside_its_validity, .init = ct_setup, .fini = ct_teardown)
{
    /* The same key's earlier certificate: valid now-60d..now-10d, expired today. */
    pkigen_cert *old = ct_cert("old", ct_leaf->key, ct_now - 60 * CT_DAY, ct_now - 10 * CT_DAY);

    ct_policy(0, NULL, "root.pem", NULL);
    /* Stamped at now-20d, inside the old certificate's validity. */
    ct_sign("inside.json", "leaf.pem", "oldtsa", ct_now - 20 * CT_DAY, NULL);
    ct_swap_cert("inside.json", old);
    ct_expect("inside.json", NULL, 0, "OK");
    cr_assert(ct_has("\"verified\":true"), "%s", ct_out);
    cr_assert(ct_has("(the trusted signing time)"), "the chain was judged at the signing time: %s", ct_out);
    /* Not stamped: judged now, expired. */
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_swap_cert("plain.json", old);
    ct_expect("plain.json", NULL, 6, "CERT_EXPIRED");
    /* Stamped after the certificate expired (now-5d, and the clock): expired at the signing time. */
    ct_sign("late.json", "leaf.pem", "oldtsa", ct_now - 5 * CT_DAY, NULL);
    ct_swap_cert("late.json", old);
    ct_expect("late.json", NULL, 6, "CERT_EXPIRED");
    cr_assert(ct_has("the trusted signing time"), "%s", ct_out);
    ct_sign("now.json", "leaf.pem", "tsa", 0, NULL);
    ct_swap_cert("now.json", old);
    ct_expect("now.json", NULL, 6, "CERT_EXPIRED");
    /* A timestamp that does not verify gives no signing time: judged now, expired (and the timestamp fails too). */
    ct_policy(0, NULL, "tsa.pem", NULL); /* the TSA's own certificate is no root of its chain */
    ct_expect("inside.json", NULL, 6, "CERT_EXPIRED");
    cr_assert(ct_has("\"reason\":\"TIMESTAMP_UNTRUSTED\""), "%s", ct_out);
    pkigen_cert_free(old);
}

Test(certts, expired_intermediate_judged_at_signing_time_too, .init = ct_setup, .fini = ct_teardown)
{
    /* An intermediate that expired 5 days ago, and a leaf under it. */
    pkigen_cert_opts io = {
        .cn = "CT Old Intermediate", .ca = 1, .not_before = ct_now - 200 * CT_DAY, .not_after = ct_now - 5 * CT_DAY};
    pkigen_cert *oi = pkigen_cert_new(&io, ct_ca);
    pkigen_cert_opts lo = {.cn = "Release Signing 1",
                           .use_key = ct_leaf->key,
                           .not_before = ct_now - 100 * CT_DAY,
                           .not_after = ct_now - 6 * CT_DAY};
    pkigen_cert *l = pkigen_cert_new(&lo, oi);

    pkigen_write_certs(cp("int.pem"), (const pkigen_cert *const *)&oi, 1);
    ct_policy(0, NULL, "root.pem", NULL);
    ct_sign("stamped.json", "leaf.pem", "oldtsa", ct_now - 50 * CT_DAY, NULL);
    ct_swap_cert("stamped.json", l);
    ct_expect("stamped.json", NULL, 0, "OK");
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_swap_cert("plain.json", l);
    ct_expect("plain.json", NULL, 6, "CERT_EXPIRED");
    pkigen_cert_free(l);
    pkigen_cert_free(oi);
}

/* ---- (b) revocation relative to the signing time ---- */

/* crls.pem-style files: int.crl revoking the leaf with entry e (NULL: none), ca.crl (empty). */
static void ct_crls(const pkigen_crl_entry *e, size_t n)
{
    X509_CRL *ic = pkigen_crl_new(ct_int, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, e, n, NULL);
    X509_CRL *rc = pkigen_crl_new(ct_ca, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, NULL, 0, NULL);

    pkigen_write_crl(cp("int.crl"), ic, 0);
    pkigen_write_crl(cp("ca.crl"), rc, 1);
    X509_CRL_free(ic);
    X509_CRL_free(rc);
}

#define CT_CRLS ",\"crls\":[\"int.crl\",\"ca.crl\"]"

Test(certts, revocation_after_the_signing_time_keeps_the_signature, .init = ct_setup, .fini = ct_teardown)
{
    /* A routine revocation (superseded): the date decides. keyCompromise is judged below. */
    pkigen_crl_entry e = {.serial = pkigen_serial(ct_leaf), .reason = CRL_REASON_SUPERSEDED};
    int64_t signed_at = ct_now - 10 * CT_DAY;

    ct_sign("stamped.json", "leaf.pem", "oldtsa", signed_at, NULL);
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_policy(0, CT_CRLS, "root.pem", NULL);

    /* Revoked 5 days after the signing time: the signature stays valid, and the revocation is reported. */
    e.revoked_at = signed_at + 5 * CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 0, "OK");
    cr_assert(ct_has("after the trusted signing time") && ct_has("the signature stays valid"), "%s", ct_out);
    cr_assert(ct_has("\"check\":\"revocation\""), "%s", ct_out);
    /* Without a timestamp any revocation fails. */
    ct_expect("plain.json", NULL, 5, "CERT_REVOKED");
    cr_assert(ct_has("no trusted timestamp"), "%s", ct_out);

    /* Revoked before the signing time. */
    e.revoked_at = signed_at - 5 * CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    cr_assert(ct_has("not after the trusted signing time"), "%s", ct_out);
    /* Revoked at the very second of the signing time: not strictly after it. */
    e.revoked_at = signed_at;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    /* After the end of the token's interval (the test TSA's accuracy is +-1 s): after it. */
    e.revoked_at = signed_at + 1;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    e.revoked_at = signed_at + 2;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 0, "OK");

    /* keyCompromise after the signing time without invalidityDate: the key's holder could have stamped anything,
       so every signature is revoked (issue 14, item 8). */
    e.reason = CRL_REASON_KEY_COMPROMISE;
    e.revoked_at = signed_at + 5 * CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    cr_assert(ct_has("compromised"), "%s", ct_out);
    /* revocationDate after the signing time, but invalidityDate (key compromised since) before it. */
    e.revoked_at = signed_at + 5 * CT_DAY;
    e.invalidity = signed_at - CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    /* invalidityDate after the signing time too: valid. */
    e.invalidity = signed_at + CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 0, "OK");

    /* certificateHold fails whatever the times. */
    e.invalidity = 0;
    e.reason = CRL_REASON_CERTIFICATE_HOLD;
    e.revoked_at = signed_at + 5 * CT_DAY;
    ct_crls(&e, 1);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
    cr_assert(ct_has("on hold"), "%s", ct_out);
    ct_expect("plain.json", NULL, 5, "CERT_REVOKED");
}

Test(certts, revoked_intermediate_judged_at_signing_time, .init = ct_setup, .fini = ct_teardown)
{
    pkigen_crl_entry e = {.serial = pkigen_serial(ct_int),
                          .reason = CRL_REASON_CA_COMPROMISE,
                          .invalidity = ct_now - 9 * CT_DAY}; /* a cut-off: without one, every signature falls */
    int64_t signed_at = ct_now - 10 * CT_DAY;
    X509_CRL *ic = pkigen_crl_new(ct_int, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, NULL, 0, NULL), *rc;

    pkigen_write_crl(cp("int.crl"), ic, 0);
    X509_CRL_free(ic);
    ct_sign("stamped.json", "leaf.pem", "oldtsa", signed_at, NULL);
    ct_policy(0, CT_CRLS, "root.pem", NULL);
    e.revoked_at = signed_at + CT_DAY;
    rc = pkigen_crl_new(ct_ca, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, &e, 1, NULL);
    pkigen_write_crl(cp("ca.crl"), rc, 0);
    X509_CRL_free(rc);
    ct_expect("stamped.json", NULL, 0, "OK");
    cr_assert(ct_has("CT Intermediate") && ct_has("the signature stays valid"), "%s", ct_out);
    e.revoked_at = signed_at - CT_DAY;
    e.invalidity = 0;
    rc = pkigen_crl_new(ct_ca, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, &e, 1, NULL);
    pkigen_write_crl(cp("ca.crl"), rc, 0);
    X509_CRL_free(rc);
    ct_expect("stamped.json", NULL, 5, "CERT_REVOKED");
}

Test(certts, stale_crl_judged_now_not_at_signing_time, .init = ct_setup, .fini = ct_teardown)
{
    /* A CRL that was current at the signing time but is past its nextUpdate now. */
    int64_t signed_at = ct_now - 10 * CT_DAY;
    X509_CRL *ic = pkigen_crl_new(ct_int, NULL, signed_at - CT_DAY, signed_at + CT_DAY, NULL, 0, NULL);
    X509_CRL *rc = pkigen_crl_new(ct_ca, NULL, ct_now - CT_DAY, ct_now + 7 * CT_DAY, NULL, 0, NULL);

    pkigen_write_crl(cp("int.crl"), ic, 0);
    pkigen_write_crl(cp("ca.crl"), rc, 0);
    X509_CRL_free(ic);
    X509_CRL_free(rc);
    ct_sign("stamped.json", "leaf.pem", "oldtsa", signed_at, NULL);
    ct_policy(0, CT_CRLS, "root.pem", NULL);
    ct_expect("stamped.json", NULL, 6, "CRL_STALE");
}

/* ---- (c) not yet valid at the signing time ---- */

Test(certts, certificate_not_yet_valid_at_signing_time, .init = ct_setup, .fini = ct_teardown)
{
    /* Valid today (from now-5d), but the timestamp says the signature was made at now-10d. */
    pkigen_cert *young = ct_cert("young", ct_leaf->key, ct_now - 5 * CT_DAY, ct_now + 30 * CT_DAY);

    ct_policy(0, NULL, "root.pem", NULL);
    ct_sign("early.json", "leaf.pem", "oldtsa", ct_now - 10 * CT_DAY, NULL);
    ct_swap_cert("early.json", young);
    ct_expect("early.json", NULL, 6, "CERT_NOT_YET_VALID");
    cr_assert(ct_has("the trusted signing time"), "%s", ct_out);
    /* The same certificate stamped inside its validity is fine. */
    ct_sign("ok.json", "leaf.pem", "oldtsa", ct_now - 2 * CT_DAY, NULL);
    ct_swap_cert("ok.json", young);
    ct_expect("ok.json", NULL, 0, "OK");
    /* And unstamped it is judged now: valid. */
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_swap_cert("plain.json", young);
    ct_expect("plain.json", NULL, 0, "OK");
    pkigen_cert_free(young);
}

/* ---- (d) require.timestamp with a certificate bundle ---- */

Test(certts, require_timestamp_with_certificates, .init = ct_setup, .fini = ct_teardown)
{
    tsa_gen_root(ct_dir, "other");
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_sign("stamped.json", "leaf.pem", "tsa", 0, NULL);
    ct_policy(0, NULL, "root.pem", "\"timestamp\":true");
    ct_expect("plain.json", NULL, 4, "TIMESTAMP_MISSING");
    ct_expect("stamped.json", NULL, 0, "OK");
    /* A TSA the policy does not trust, or no timestamp_authorities at all: refused. */
    ct_policy(0, NULL, "other.pem", "\"timestamp\":true");
    ct_expect("stamped.json", NULL, 3, "TIMESTAMP_UNTRUSTED");
    ct_policy(0, NULL, NULL, NULL);
    ct_expect("stamped.json", NULL, 3, "TIMESTAMP_UNTRUSTED");
    /* The certificate's own problems are still found when the timestamp is fine. */
    ct_policy(0, ",\"eku\":\"serverAuth\"", "root.pem", "\"timestamp\":true");
    ct_expect("stamped.json", NULL, 3, "EKU_MISSING");
}

/* ---- (e) --embed-chain (v0.2) with timestamps ---- */

Test(certts, embedded_chain_with_timestamps_roundtrip, .init = ct_setup, .fini = ct_teardown)
{
    pkigen_cert *old = ct_cert("old", ct_leaf->key, ct_now - 60 * CT_DAY, ct_now - 10 * CT_DAY);
    json_t *j;
    char *text;

    ct_policy(1, NULL, "root.pem", "\"timestamp\":true"); /* no intermediates: the bundle carries it */
    ct_sign("b.json", "leaf-chain.pem", "tsa", 0, "--embed-chain");
    text = tu_read(cp("b.json"), NULL);
    cr_assert(strstr(text, "version=0.2") != NULL && strstr(text, "x509CertificateChain") != NULL &&
                  strstr(text, "rfc3161Timestamps") != NULL,
              "%s", text);
    free(text);
    ct_expect("b.json", NULL, 0, "OK");
    /* A second timestamp added by signet timestamp keeps the chain and the v0.2 media type. */
    ct_tsa("tsa", 0);
    cr_assert_eq(CT("timestamp", "--tsa", ct_srv.url, cp("b.json")), 0, "%s", ct_err);
    ct_expect("b.json", NULL, 0, "OK");
    cr_assert(ct_has("timestamp 2 from"), "%s", ct_out);
    cr_assert_eq(CT("inspect", "--json", cp("b.json")), 0, "%s", ct_err);
    j = json_loads(ct_out, 0, NULL);
    cr_assert_not_null(j, "%s", ct_out);
    cr_assert_eq(json_array_size(json_object_get(j, "timestamps")), 2, "%s", ct_out);
    json_decref(j);
    cr_assert(strstr(ct_out, "version=0.2") != NULL, "%s", ct_out);
    {
        sign_bundle *b = NULL;

        cr_assert_eq(sign_bundle_read(&b, cp("b.json"), NULL), 0, "%s", sign_error_last());
        cr_assert_eq(sign_bundle_chain_count(b), 2, "leaf and intermediate");
        cr_assert_eq(sign_bundle_timestamp_count(b), 2);
        sign_bundle_free(b);
    }
    /* With the chain's leaf expired since: the timestamp at now-20d carries it. */
    ct_sign("old.json", "leaf-chain.pem", "oldtsa", ct_now - 20 * CT_DAY, "--embed-chain");
    ct_swap_cert("old.json", old);
    ct_expect("old.json", NULL, 0, "OK");
    ct_sign("late.json", "leaf-chain.pem", "oldtsa", ct_now - 5 * CT_DAY, "--embed-chain");
    ct_swap_cert("late.json", old);
    ct_expect("late.json", NULL, 6, "CERT_EXPIRED");
    pkigen_cert_free(old);
}

/* ---- (f) signet timestamp on a certificate bundle ---- */

Test(certts, timestamp_command_on_certificate_bundle, .init = ct_setup, .fini = ct_teardown)
{
    pkigen_cert *old = ct_cert("old", ct_leaf->key, ct_now - 60 * CT_DAY, ct_now - 10 * CT_DAY);
    char *before, *after;
    size_t blen, alen;

    ct_sign("b.json", "leaf.pem", NULL, 0, NULL);
    ct_policy(0, NULL, "root.pem", "\"timestamp\":true");
    ct_expect("b.json", NULL, 4, "TIMESTAMP_MISSING");
    before = tu_read(cp("b.json"), &blen);
    /* A failing TSA leaves it as it was. */
    tsa_server_start(&ct_srv, ct_dir, "tsa", "reject", NULL);
    cr_assert_eq(CT("timestamp", "--tsa", ct_srv.url, cp("b.json")), 2);
    after = tu_read(cp("b.json"), &alen);
    cr_assert(blen == alen && memcmp(before, after, blen) == 0, "the bundle changed");
    free(after);
    ct_tsa("tsa", 0);
    cr_assert_eq(CT("timestamp", "--tsa", ct_srv.url, cp("b.json")), 0, "%s", ct_err);
    ct_expect("b.json", NULL, 0, "OK");
    cr_assert(ct_has("certificate CN=Release Signing 1"), "%s", ct_out);
    /* The certificate bytes were kept as they were. */
    {
        sign_bundle *b = NULL;
        const unsigned char *der;
        unsigned char *mine = NULL;
        size_t len = 0;
        int mlen = i2d_X509(ct_leaf->x, &mine);

        cr_assert_eq(sign_bundle_read(&b, cp("b.json"), NULL), 0, "%s", sign_error_last());
        der = sign_bundle_certificate(b, &len);
        cr_assert(der != NULL && len == (size_t)mlen && memcmp(der, mine, len) == 0);
        sign_bundle_free(b);
        OPENSSL_free(mine);
    }
    /* Stamped later, an expired certificate's bundle gains a time after its expiry: still expired. */
    free(before);
    ct_sign("old.json", "leaf.pem", NULL, 0, NULL);
    ct_swap_cert("old.json", old);
    ct_expect("old.json", NULL, 6, "CERT_EXPIRED"); /* expired outranks the missing timestamp */
    cr_assert(ct_has("\"reason\":\"TIMESTAMP_MISSING\""), "%s", ct_out);
    cr_assert_eq(CT("timestamp", "--tsa", ct_srv.url, cp("old.json")), 0, "%s", ct_err);
    ct_expect("old.json", NULL, 6, "CERT_EXPIRED");
    /* A TSA that backdates (trusted: its genTime is what the policy relies on) inside the validity. */
    ct_sign("back.json", "leaf.pem", NULL, 0, NULL);
    ct_swap_cert("back.json", old);
    ct_tsa("oldtsa", ct_now - 30 * CT_DAY);
    cr_assert_eq(CT("timestamp", "--tsa", ct_srv.url, cp("back.json")), 0, "%s", ct_err);
    ct_expect("back.json", NULL, 0, "OK");
    pkigen_cert_free(old);
}

/* ---- (g) max_signature_age with certificates ---- */

Test(certts, max_signature_age_with_certificates, .init = ct_setup, .fini = ct_teardown)
{
    char judge[32];

    ct_sign("old.json", "leaf.pem", "oldtsa", ct_now - 2 * CT_DAY, NULL);
    ct_sign("new.json", "leaf.pem", "tsa", 0, NULL);
    ct_sign("plain.json", "leaf.pem", NULL, 0, NULL);
    ct_policy(0, NULL, "root.pem", "\"max_signature_age\":\"1d\"");
    ct_expect("old.json", NULL, 6, "SIGNATURE_AGE_EXCEEDED");
    ct_expect("new.json", NULL, 0, "OK");
    ct_expect("plain.json", NULL, 4, "SIGNATURE_AGE_UNPROVEN");
    /* As of 36 hours ago the old signature was young enough; as of 3 days ago it did not exist yet. */
    cr_assert_eq(sign_format_time(judge, sizeof(judge), ct_now - 36 * 3600), 0);
    ct_expect("old.json", judge, 0, "OK");
    cr_assert_eq(sign_format_time(judge, sizeof(judge), ct_now - 3 * CT_DAY), 0);
    ct_expect("old.json", judge, 6, "SIGNED_AFTER_AT");
}

/* ---- a trusted time in the future ---- */

Test(certts, signing_time_in_the_future_is_refused, .init = ct_setup, .fini = ct_teardown)
{
    /* A TSA (trusted, valid until now+30d) whose clock says now+10d, and a certificate valid only from now+5d. */
    pkigen_cert *future = ct_cert("future", ct_leaf->key, ct_now + 5 * CT_DAY, ct_now + 60 * CT_DAY);

    tsa_gen_leaf(ct_dir, "fasttsa", "root", ct_now - CT_DAY, ct_now + 30 * CT_DAY, TSA_EKU_CRITICAL);
    ct_policy(0, NULL, "root.pem", NULL);
    ct_sign("ahead.json", "leaf.pem", "fasttsa", ct_now + 10 * CT_DAY, NULL);
    /* The signature cannot have been made after now: its time proves nothing; judged now, refused. */
    ct_expect("ahead.json", NULL, 6, "SIGNED_AFTER_AT");
    cr_assert(ct_has("after the time judged"), "%s", ct_out);
    ct_swap_cert("ahead.json", future);
    ct_expect("ahead.json", NULL, 6, "SIGNED_AFTER_AT");
    cr_assert(ct_has("\"reason\":\"CERT_NOT_YET_VALID\""), "judged now, not at the claimed time: %s", ct_out);
    /* A clock a minute ahead is within the allowed skew. */
    ct_sign("skew.json", "leaf.pem", "fasttsa", ct_now + 60, NULL);
    ct_expect("skew.json", NULL, 0, "OK");
    pkigen_cert_free(future);
}
