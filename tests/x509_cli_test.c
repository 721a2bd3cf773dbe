/* End-to-end: signet sign --cert/--p12 and signet verify against policy roots, with a PKI made at test time. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "sign/sign.h"
#include "util.h"
#include "pkigen.h"
#include "testutil.h"

#define XC_DAY 86400

static char *xc_dir;
static char *xc_out, *xc_err;
static pkigen_cert *xc_root, *xc_int;
static int64_t xc_now;

static char *xc_p(const char *name)
{
    return tu_path(xc_dir, name);
}

static void xc_setup(void)
{
    pkigen_cert_opts ro = {.cn = "XC Root", .ca = 1}, io = {.cn = "XC Intermediate", .ca = 1};
    char *p;

    xc_dir = tu_mkdtemp();
    xc_now = (int64_t)time(NULL);
    ro.not_before = xc_now - 3650 * XC_DAY;
    ro.not_after = xc_now + 3650 * XC_DAY;
    io.not_before = xc_now - 365 * XC_DAY;
    io.not_after = xc_now + 365 * XC_DAY;
    xc_root = pkigen_cert_new(&ro, NULL);
    xc_int = pkigen_cert_new(&io, xc_root);
    p = xc_p("root.pem");
    pkigen_write_certs(p, (const pkigen_cert *const *)&xc_root, 1);
    free(p);
    p = xc_p("int.pem");
    pkigen_write_certs(p, (const pkigen_cert *const *)&xc_int, 1);
    free(p);
    p = xc_p("app-1.0.bin");
    tu_write_str(p, "release bytes\n");
    free(p);
}

static void xc_teardown(void)
{
    pkigen_cert_free(xc_root);
    pkigen_cert_free(xc_int);
    free(xc_out);
    free(xc_err);
    xc_out = xc_err = NULL;
    tu_rmtree(xc_dir);
    free(xc_dir);
}

/* Run signet with args (NULL-terminated) in the test directory's terms; env may be NULL. */
static int xc_run(const char *const *env, const char *a0, ...)
{
    const char *argv[40];
    va_list ap;
    size_t n = 0;

    argv[n++] = "signet";
    argv[n++] = a0;
    va_start(ap, a0);
    while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
    }
    va_end(ap);
    argv[n] = NULL;
    free(xc_out);
    free(xc_err);
    xc_out = xc_err = NULL;
    return tu_run(&xc_out, &xc_err, env, argv);
}

/* A leaf under xc_int (or issuer) written as NAME.pem (+ chain NAME-chain.pem: leaf, int) and NAME.key. */
static pkigen_cert *xc_leaf(const char *name, pkigen_cert_opts *o, const pkigen_cert *issuer)
{
    char file[256], *p;
    pkigen_cert *c = pkigen_cert_new(o, issuer != NULL ? issuer : xc_int);
    const pkigen_cert *chain[2] = {c, issuer != NULL ? issuer : xc_int};

    snprintf(file, sizeof(file), "%s.pem", name);
    p = xc_p(file);
    pkigen_write_certs(p, chain, 1);
    free(p);
    snprintf(file, sizeof(file), "%s-chain.pem", name);
    p = xc_p(file);
    pkigen_write_certs(p, chain, 2);
    free(p);
    snprintf(file, sizeof(file), "%s.key", name);
    p = xc_p(file);
    pkigen_write_key(p, c);
    free(p);
    return c;
}

/* policy.json with one root; extra is spliced into the root object (",\"crls\":[...]" etc.). */
static void xc_policy(const char *mode, int with_int, const char *extra, const char *keys)
{
    char json[4096], *p = xc_p("policy.json");

    snprintf(json, sizeof(json),
             "{\"version\":1,\"mode\":\"%s\",%s\"roots\":[{\"name\":\"corp\",\"certificates\":\"root.pem\"%s%s}]}",
             mode, keys != NULL ? keys : "", with_int ? ",\"intermediates\":\"int.pem\"" : "",
             extra != NULL ? extra : "");
    tu_write_str(p, json);
    free(p);
}

/* sign the artifact with KEY and CERT (extra flag may be NULL) into b.json; asserts success. */
static void xc_sign(const char *key, const char *cert, const char *flag)
{
    char *k = xc_p(key), *c = xc_p(cert), *b = xc_p("b.json"), *a = xc_p("app-1.0.bin");
    /* b.json is signed again and again: --force replaces it (sign refuses to overwrite otherwise). */
    int rc = flag != NULL ? xc_run(NULL, "sign", "-k", k, "--cert", c, flag, "--force", "-o", b, a, NULL)
                          : xc_run(NULL, "sign", "-k", k, "--cert", c, "--force", "-o", b, a, NULL);

    cr_assert_eq(rc, 0, "sign: %s", xc_err);
    free(k);
    free(c);
    free(b);
    free(a);
}

/* verify b.json; returns the exit code; the JSON verdict in xc_out. at may be NULL. */
static int xc_verify(const char *at)
{
    char *p = xc_p("policy.json"), *b = xc_p("b.json"), *a = xc_p("app-1.0.bin");
    int rc = at != NULL ? xc_run(NULL, "verify", "--json", "-p", p, "-b", b, "--at", at, a, NULL)
                        : xc_run(NULL, "verify", "--json", "-p", p, "-b", b, a, NULL);

    free(p);
    free(b);
    free(a);
    return rc;
}

static void xc_expect(int rc, int want_rc, const char *reason)
{
    char pat[128];

    cr_assert_eq(rc, want_rc, "exit %d, want %d: %s %s", rc, want_rc, xc_out, xc_err);
    snprintf(pat, sizeof(pat), "\"reason\":\"%s\"", reason);
    cr_assert(xc_out != NULL && strstr(xc_out, pat) != NULL, "want %s in %s", reason, xc_out);
}

Test(x509_cli, chain_ok_with_policy_intermediates, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1"};
    pkigen_cert *l = xc_leaf("leaf", &o, NULL);

    xc_policy("enforce", 1, ",\"subjects\":[\"CN=Release Signing*\"]", NULL);
    xc_sign("leaf.key", "leaf.pem", NULL);
    cr_assert(strstr(xc_out, "certificate CN=Release Signing 1") != NULL, "%s", xc_out);
    cr_assert(strstr(xc_err, "warning") == NULL, "%s", xc_err);
    xc_expect(xc_verify(NULL), 0, "OK");
    cr_assert(strstr(xc_out, "\"verified\":true") != NULL, "%s", xc_out);
    pkigen_cert_free(l);
}

Test(x509_cli, chain_ok_with_bundle_intermediates_and_p12, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1", .key = PKIGEN_ED25519};
    pkigen_cert *l = xc_leaf("leaf", &o, NULL);
    const pkigen_cert *extra[2] = {xc_int, xc_root};
    char *p12 = xc_p("leaf.p12"), *b = xc_p("b.json"), *a = xc_p("app-1.0.bin"), *text;
    const char *env[] = {"SIGNET_PASSPHRASE=pass phrase", NULL}, *bad[] = {"SIGNET_PASSPHRASE=wrong", NULL};

    xc_policy("enforce", 0, NULL, NULL);
    /* Without the intermediate anywhere, the chain is incomplete. */
    xc_sign("leaf.key", "leaf-chain.pem", NULL);
    xc_expect(xc_verify(NULL), 3, "CHAIN_INCOMPLETE");
    /* --embed-chain carries it (v0.2). */
    xc_sign("leaf.key", "leaf-chain.pem", "--embed-chain");
    xc_expect(xc_verify(NULL), 0, "OK");
    text = tu_read(b, NULL);
    cr_assert(strstr(text, "x509CertificateChain") != NULL);
    free(text);
    /* PKCS#12 with the root inside: the root is never embedded, and never trusted from the bundle. */
    pkigen_write_p12(p12, l, extra, 2, "pass phrase");
    cr_assert_eq(xc_run(env, "sign", "--p12", p12, "--embed-chain", "--force", "-o", b, a, NULL), 0, "%s", xc_err);
    xc_expect(xc_verify(NULL), 0, "OK");
    {
        sign_bundle *bb = NULL;

        cr_assert_eq(sign_bundle_read(&bb, b, NULL), 0);
        cr_assert_eq(sign_bundle_chain_count(bb), 2, "leaf and intermediate, not the root");
        sign_bundle_free(bb);
    }
    /* A wrong passphrase is a clear error, exit 2. */
    cr_assert_eq(xc_run(bad, "sign", "--p12", p12, "--force", "-o", b, a, NULL), 2);
    cr_assert(strstr(xc_err, "wrong passphrase") != NULL, "%s", xc_err);
    pkigen_cert_free(l);
    free(p12);
    free(b);
    free(a);
}

/* Another PKI's leaf and intermediate (embedded); its root is not the policy's. The signer never embeds a root. */
Test(x509_cli, unknown_root, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts ro = {.cn = "Other Root", .ca = 1}, io = {.cn = "Other Intermediate", .ca = 1},
                     o = {.cn = "Release Signing 1"};
    pkigen_cert *other = pkigen_cert_new(&ro, NULL), *oi = pkigen_cert_new(&io, other), *l = xc_leaf("leaf", &o, oi);
    const pkigen_cert *chain[3] = {l, oi, other};
    char *p = xc_p("with-root.pem");

    pkigen_write_certs(p, chain, 3);
    xc_policy("enforce", 1, NULL, NULL);
    xc_sign("leaf.key", "with-root.pem", "--embed-chain");
    xc_expect(xc_verify(NULL), 3, "ROOT_UNKNOWN");
    pkigen_cert_free(l);
    pkigen_cert_free(oi);
    pkigen_cert_free(other);
    free(p);
}

Test(x509_cli, eku_key_usage_subject_and_globs, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts web = {.cn = "Release Signing 1", .eku = "serverAuth"},
                     nods = {.cn = "Release Signing 2", .no_digital_sig = 1}, ok = {.cn = "Someone Else"};
    pkigen_cert *a = xc_leaf("web", &web, NULL), *b = xc_leaf("nods", &nods, NULL), *c = xc_leaf("else", &ok, NULL);

    xc_policy("enforce", 1, ",\"subjects\":[\"CN=Release Signing*\"]", NULL);
    xc_sign("web.key", "web.pem", NULL);
    cr_assert(strstr(xc_err, "no codeSigning") != NULL, "the signer is warned: %s", xc_err);
    xc_expect(xc_verify(NULL), 3, "EKU_MISSING");
    xc_sign("nods.key", "nods.pem", NULL);
    xc_expect(xc_verify(NULL), 3, "KEY_USAGE_INVALID");
    xc_sign("else.key", "else.pem", NULL);
    xc_expect(xc_verify(NULL), 3, "SUBJECT_NOT_ALLOWED");
    /* The root's artifacts globs: policy class. */
    xc_policy("enforce", 1, ",\"artifacts\":[\"other-*.zip\"]", NULL);
    xc_expect(xc_verify(NULL), 4, "SIGNER_NOT_ALLOWED");
    pkigen_cert_free(a);
    pkigen_cert_free(b);
    pkigen_cert_free(c);
}

Test(x509_cli, validity_judged_at_now_or_at, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1"};
    pkigen_cert *l;
    char later[32], earlier[32];

    o.not_before = xc_now - 10 * XC_DAY;
    o.not_after = xc_now + 10 * XC_DAY;
    l = xc_leaf("leaf", &o, NULL);
    xc_policy("enforce", 1, NULL, NULL);
    xc_sign("leaf.key", "leaf.pem", NULL);
    cr_assert_eq(sign_format_time(later, sizeof(later), xc_now + 20 * XC_DAY), 0);
    cr_assert_eq(sign_format_time(earlier, sizeof(earlier), xc_now - 20 * XC_DAY), 0);
    xc_expect(xc_verify(later), 6, "CERT_EXPIRED");
    xc_expect(xc_verify(earlier), 6, "CERT_NOT_YET_VALID");
    xc_expect(xc_verify(NULL), 0, "OK");
    pkigen_cert_free(l);
}

Test(x509_cli, revoked_stale_and_foreign_crls, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1"}, ro = {.cn = "Elsewhere", .ca = 1};
    pkigen_cert *l = xc_leaf("leaf", &o, NULL), *other = pkigen_cert_new(&ro, NULL);
    pkigen_crl_entry e = {.reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *rootcrl = pkigen_crl_new(xc_root, NULL, xc_now - XC_DAY, xc_now + 7 * XC_DAY, NULL, 0, NULL);
    X509_CRL *revoking, *stale, *forged;
    char *p;

    e.serial = pkigen_serial(l);
    e.revoked_at = xc_now - XC_DAY;
    revoking = pkigen_crl_new(xc_int, NULL, xc_now - XC_DAY, xc_now + 7 * XC_DAY, &e, 1, NULL);
    stale = pkigen_crl_new(xc_int, NULL, xc_now - 20 * XC_DAY, xc_now - 10 * XC_DAY, NULL, 0, NULL);
    forged = pkigen_crl_new(xc_int, other, xc_now - XC_DAY, xc_now + 7 * XC_DAY, NULL, 0, NULL);
    p = xc_p("root.crl");
    pkigen_write_crl(p, rootcrl, 1); /* DER */
    free(p);
    p = xc_p("revoking.crl");
    pkigen_write_crl(p, revoking, 0);
    free(p);
    p = xc_p("stale.crl");
    pkigen_write_crl(p, stale, 0);
    free(p);
    p = xc_p("forged.crl");
    pkigen_write_crl(p, forged, 0);
    free(p);
    xc_sign("leaf.key", "leaf.pem", NULL);
    xc_policy("enforce", 1, ",\"crls\":[\"revoking.crl\",\"root.crl\"]", NULL);
    xc_expect(xc_verify(NULL), 5, "CERT_REVOKED");
    xc_policy("enforce", 1, ",\"crls\":[\"stale.crl\",\"root.crl\"]", NULL);
    xc_expect(xc_verify(NULL), 6, "CRL_STALE");
    /* audit mode: reported, not blocking. */
    xc_policy("audit", 1, ",\"crls\":[\"stale.crl\",\"root.crl\"]", NULL);
    cr_assert_eq(xc_verify(NULL), 0, "%s", xc_out);
    cr_assert(strstr(xc_out, "\"status\":\"warn\",\"reason\":\"CRL_STALE\"") != NULL ||
                  strstr(xc_out, "CRL_STALE") != NULL,
              "%s", xc_out);
    xc_policy("enforce", 1, ",\"crls\":[\"forged.crl\",\"root.crl\"]", NULL);
    xc_expect(xc_verify(NULL), 5, "CRL_SIGNATURE_INVALID");
    xc_policy("enforce", 1, ",\"crls\":[\"root.crl\"]", NULL);
    xc_expect(xc_verify(NULL), 5, "CRL_MISSING");
    X509_CRL_free(rootcrl);
    X509_CRL_free(revoking);
    X509_CRL_free(stale);
    X509_CRL_free(forged);
    pkigen_cert_free(l);
    pkigen_cert_free(other);
}

Test(x509_cli, weak_algorithm_refused, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1", .md = "SHA1"};
    pkigen_cert *l = xc_leaf("leaf", &o, NULL);

    xc_policy("enforce", 1, NULL, NULL);
    xc_sign("leaf.key", "leaf.pem", NULL);
    xc_expect(xc_verify(NULL), 3, "WEAK_ALGORITHM");
    pkigen_cert_free(l);
}

Test(x509_cli, signing_refusals, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1"}, old = {.cn = "Old"}, other = {.cn = "Other"};
    pkigen_cert *l, *x, *y;
    char *k = xc_p("leaf.key"), *c = xc_p("other.pem"), *e = xc_p("old.pem"), *ek = xc_p("old.key"),
         *b = xc_p("b.json"), *a = xc_p("app-1.0.bin");

    old.not_before = xc_now - 20 * XC_DAY;
    old.not_after = xc_now - 10 * XC_DAY;
    l = xc_leaf("leaf", &o, NULL);
    x = xc_leaf("other", &other, NULL);
    y = xc_leaf("old", &old, NULL);
    cr_assert_eq(xc_run(NULL, "sign", "-k", k, "--cert", c, "-o", b, a, NULL), 2);
    cr_assert(strstr(xc_err, "does not match certificate") != NULL, "%s", xc_err);
    cr_assert_not(tu_exists(b));
    cr_assert_eq(xc_run(NULL, "sign", "-k", ek, "--cert", e, "-o", b, a, NULL), 6);
    cr_assert(strstr(xc_err, "expired") != NULL, "%s", xc_err);
    cr_assert_eq(xc_run(NULL, "sign", "--embed-chain", "-k", k, "-o", b, a, NULL), 2);
    cr_assert_eq(xc_run(NULL, "sign", "--p12", k, "-k", k, "-o", b, a, NULL), 2);
    pkigen_cert_free(l);
    pkigen_cert_free(x);
    pkigen_cert_free(y);
    free(k);
    free(c);
    free(e);
    free(ek);
    free(b);
    free(a);
}

/* A raw policy key and a certificate for the same key are one signer. */
Test(x509_cli, same_key_as_raw_and_certificate_counts_once, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release Signing 1"};
    pkigen_cert *l = xc_leaf("leaf", &o, NULL);
    char *k = xc_p("leaf.key"), *pub = xc_p("leaf.pub"), *b1 = xc_p("b1.json"), *b2 = xc_p("b2.json"),
         *a = xc_p("app-1.0.bin"), *pol = xc_p("policy.json"), *ce = xc_p("leaf.pem");
    sign_key *sk = NULL;

    cr_assert_eq(sign_key_load_private(&sk, k, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_write_public(sk, pub), 0);
    sign_key_free(sk);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"raw\",\"public_key\":\"leaf.pub\"}],\"roots\":[{\"name\":"
                      "\"corp\",\"certificates\":\"root.pem\",\"intermediates\":\"int.pem\"}],"
                      "\"require\":{\"threshold\":2}}");
    cr_assert_eq(xc_run(NULL, "sign", "-k", k, "-o", b1, a, NULL), 0, "%s", xc_err);
    cr_assert_eq(xc_run(NULL, "sign", "-k", k, "--cert", ce, "-o", b2, a, NULL), 0, "%s", xc_err);
    cr_assert_eq(xc_run(NULL, "verify", "--json", "-p", pol, "-b", b1, "-b", b2, a, NULL), 4, "%s", xc_out);
    cr_assert(strstr(xc_out, "THRESHOLD_NOT_MET") != NULL, "%s", xc_out);
    pkigen_cert_free(l);
    free(k);
    free(pub);
    free(b1);
    free(b2);
    free(a);
    free(pol);
    free(ce);
}

/*
 * inspect shows what a certificate bundle's leaf says of itself (subject,
 * validity, key id, chain length), made printable: the subject comes from an
 * unverified bundle and may carry terminal escapes. A certificate that cannot
 * be read is said so, not shown.
 */
Test(x509_cli, inspect_shows_the_certificate_safely, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "Release \x1b[2J Signing"};
    char *b = xc_p("b.json");
    json_t *j, *cert;
    json_error_t e;
    char *text = NULL;
    size_t len = 0;

    pkigen_cert_free(xc_leaf("leaf", &o, NULL));
    xc_sign("leaf.key", "leaf-chain.pem", "--embed-chain");
    cr_assert_eq(xc_run(NULL, "inspect", b, NULL), 0, "%s", xc_err);
    cr_assert_null(strchr(xc_out, '\x1b'), "no terminal escape reaches the terminal: %s", xc_out);
    cr_assert_not_null(strstr(xc_out, "subject:       CN=Release "), "%s", xc_out);
    cr_assert_not_null(strstr(xc_out, "valid:         "), "%s", xc_out);
    cr_assert_not_null(strstr(xc_out, "chain:         2 certificate(s)"), "%s", xc_out);
    cr_assert_eq(xc_run(NULL, "inspect", "--json", b, NULL), 0, "%s", xc_err);
    j = json_loads(xc_out, 0, &e);
    cr_assert_not_null(j, "%s", xc_out);
    cert = json_object_get(j, "certificate");
    cr_assert_null(strchr(json_string_value(json_object_get(cert, "subject")), '\x1b'));
    cr_assert_eq(json_integer_value(json_object_get(cert, "chain")), 2);
    cr_assert(json_is_true(json_object_get(cert, "code_signing")) ||
              json_is_false(json_object_get(cert, "code_signing")));
    cr_assert_eq(strlen(json_string_value(json_object_get(cert, "key_id"))), 44, "a key id is shown");
    json_decref(j);

    /* The leaf replaced by bytes that are not a certificate: inspect says so and still shows the rest. */
    cr_assert_eq(sign__read_file((unsigned char **)&text, &len, b, 1 << 20), 0);
    j = json_loadb(text, len, 0, &e);
    cr_assert_not_null(j);
    json_object_set_new(json_array_get(json_object_get(json_object_get(json_object_get(j, "verificationMaterial"),
                                                                       "x509CertificateChain"),
                                                       "certificates"),
                                       0),
                        "rawBytes", json_string("anVuaw=="));
    cr_assert_eq(json_dump_file(j, b, 0), 0);
    json_decref(j);
    free(text);
    cr_assert_eq(xc_run(NULL, "inspect", b, NULL), 0, "%s", xc_err);
    cr_assert_not_null(strstr(xc_out, "certificate:   cannot be read"), "%s", xc_out);
    cr_assert_not_null(strstr(xc_out, "subjects:"), "the statement is still shown: %s", xc_out);
    free(b);
}

/* A subject with terminal escapes, from a bundle the policy does not trust, never reaches the terminal raw. */
Test(x509_cli, untrusted_subject_is_printed_safely, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts ro = {.cn = "Other Root", .ca = 1};
    pkigen_cert *other = pkigen_cert_new(&ro, NULL);
    pkigen_cert_opts o = {.cn = "Evil \x1b]0;owned\x07 Signer"};
    char *p = xc_p("policy.json"), *b = xc_p("b.json"), *a = xc_p("app-1.0.bin");
    int rc;

    pkigen_cert_free(xc_leaf("evil", &o, other));
    xc_policy("enforce", 1, NULL, NULL);
    xc_sign("evil.key", "evil.pem", NULL);
    cr_assert_null(strchr(xc_err != NULL ? xc_err : "", '\x1b'), "sign's messages: %s", xc_err);
    cr_assert_null(strchr(xc_out != NULL ? xc_out : "", '\x1b'), "sign's messages: %s", xc_out);
    rc = xc_run(NULL, "verify", "-p", p, "-b", b, a, NULL);
    cr_assert_eq(rc, 3, "%s %s", xc_out, xc_err);
    cr_assert_null(strchr(xc_out != NULL ? xc_out : "", '\x1b'), "verify: %s", xc_out);
    cr_assert_null(strchr(xc_err != NULL ? xc_err : "", '\x1b'), "verify: %s", xc_err);
    cr_assert_null(strchr(xc_err != NULL ? xc_err : "", '\x07'), "verify: %s", xc_err);
    pkigen_cert_free(other);
    free(p);
    free(b);
    free(a);
}

/*
 * A Fulcio-style leaf (empty DN, email SAN, OIDC issuer extension) under roots[].subjects + issuers, as
 * cosign's --certificate-identity / --certificate-oidc-issuer: accepted, named by its SAN; another issuer
 * is ISSUER_NOT_ALLOWED.
 */
Test(x509_cli, fulcio_identity_subjects_and_issuers, .init = xc_setup, .fini = xc_teardown)
{
    pkigen_cert_opts o = {.cn = "fulcio",
                          .empty_subject = 1,
                          .email = "dev@example.com",
                          .oidc_issuer = "https://accounts.example.com"};
    pkigen_cert *l = xc_leaf("fulcio", &o, NULL);

    xc_sign("fulcio.key", "fulcio.pem", NULL);
    xc_policy("enforce", 1, ",\"subjects\":[\"dev@example.com\"],\"issuers\":[\"https://accounts.example.com\"]",
              NULL);
    xc_expect(xc_verify(NULL), 0, "OK");
    cr_assert(strstr(xc_out, "certificate dev@example.com") != NULL, "the SAN names the signer: %s", xc_out);
    xc_policy("enforce", 1, ",\"subjects\":[\"dev@example.com\"],\"issuers\":[\"https://token.actions.*\"]", NULL);
    xc_expect(xc_verify(NULL), 3, "ISSUER_NOT_ALLOWED");
    xc_policy("enforce", 1, ",\"issuers\":[]", NULL);
    cr_assert_neq(xc_verify(NULL), 0);
    cr_assert(strstr(xc_out, "POLICY") != NULL, "an empty issuers list is a policy error: %s", xc_out);
    pkigen_cert_free(l);
}
