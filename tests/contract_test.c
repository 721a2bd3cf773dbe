/*
 * The user's contract (issue 12), end to end on the built signet: verdicts
 * that never call failed checks "verified", one exit code per situation (the
 * table in docs/verify.md), JSON on every outcome, errors that name the role
 * of the file, and no lost work.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sign/sign.h"
#include "pkigen.h"
#include "testutil.h"
#include "tsautil.h"

static char *ct_dir;
static char *ct_paths[128];
static size_t ct_npaths;
static char *ct_out, *ct_err;

static void ct_setup(void)
{
    ct_dir = tu_mkdtemp();
    ct_npaths = 0;
}

static void ct_teardown(void)
{
    tu_rmtree(ct_dir);
    free(ct_dir);
    for (size_t i = 0; i < ct_npaths; i++) {
        free(ct_paths[i]);
    }
    ct_npaths = 0;
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
}

/* dir/name, owned by the fixture. */
static const char *cp(const char *name)
{
    cr_assert_lt(ct_npaths, sizeof(ct_paths) / sizeof(ct_paths[0]));
    ct_paths[ct_npaths] = tu_path(ct_dir, name);
    return ct_paths[ct_npaths++];
}

static int ct_runv(const char *const *env, const char *arg0, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;

    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 63);
    }
    va_end(ap);
    return tu_run(&ct_out, &ct_err, env, argv);
}

#define RUN(...) ct_runv(NULL, "signet", __VA_ARGS__, (const char *)NULL)
#define RUN_ENV(env, ...) ct_runv(env, "signet", __VA_ARGS__, (const char *)NULL)
#define SH(script) ct_runv(NULL, "/bin/sh", "-c", script, (const char *)NULL)

#define POLICY_RELEASE                                                                                               \
    "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"release.pub\", \"artifacts\": "           \
    "[\"*\"]}]}"

static void ct_keygen(const char *prefix)
{
    cr_assert_eq(RUN("keygen", "--no-passphrase", "-o", cp(prefix)), 0, "keygen %s: %s", prefix, ct_err);
}

static const char *ct_zip(const char *name, const char *content)
{
    char script[2048];
    const char *src = cp("zipsrc"), *zip = cp(name);

    snprintf(script, sizeof(script),
             "set -e; rm -rf '%s'; mkdir -p '%s'; cd '%s'; printf '%s' > index.js; rm -f '%s'; zip -qX '%s' index.js",
             src, src, src, content, zip, zip);
    cr_assert_eq(SH(script), 0, "zip: %s", ct_err);
    return zip;
}

/* release key, policy.json trusting it, and app.zip signed beside itself. */
static const char *ct_signed_zip(void)
{
    const char *zip;

    ct_keygen("release");
    tu_write_str(cp("policy.json"), POLICY_RELEASE);
    zip = ct_zip("app.zip", "exports.x = 1;\\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip), 0, "%s", ct_err);
    return zip;
}

static void ct_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");

    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

/* stdout is one JSON object; returns it (caller decrefs). */
static json_t *ct_json(void)
{
    json_error_t e;
    json_t *j = ct_out != NULL ? json_loads(ct_out, 0, &e) : NULL;

    cr_assert(j != NULL && json_is_object(j), "stdout is not one JSON object: [%s] stderr: %s", ct_out, ct_err);
    return j;
}

static const char *ct_str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));

    cr_assert_not_null(s, "no string member %s", key);
    return s;
}

/* ---- verdicts ---------------------------------------------------------- */

Test(contract, warn_mode_never_says_verified, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();
    json_t *j;

    tu_write_str(cp("warn.json"), "{\"version\": 1, \"mode\": \"warn\", \"keys\": [{\"name\": \"release\", "
                                  "\"public_key\": \"release.pub\"}]}");
    ct_append(zip, "trailing bytes nobody signed");
    cr_assert_eq(RUN("verify", "-p", cp("warn.json"), zip), 0, "warn mode lets it through: %s", ct_err);
    cr_assert_not_null(strstr(ct_out, "NOT verified (warn mode: allowed)"), "%s", ct_out);
    cr_assert_null(strstr(ct_out, "\nverified"), "%s", ct_out);
    cr_assert_neq(strncmp(ct_out, "verified", 8), 0, "%s", ct_out);
    cr_assert_null(strstr(ct_out, "signers: release"), "nobody signed these bytes: %s", ct_out);
    cr_assert_not_null(strstr(ct_out, "NOT verified: app.zip (DIGEST_MISMATCH)"), "%s", ct_out);
    /* The JSON verdict says so independently of the exit decision. */
    cr_assert_eq(RUN("verify", "--json", "-p", cp("warn.json"), zip), 0);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "verdict"), "allowed");
    cr_assert(json_is_false(json_object_get(j, "verified")));
    cr_assert(json_is_true(json_object_get(j, "accepted")));
    json_decref(j);
}

Test(contract, library_verdict_and_per_artifact_accessors, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip(), *other = ct_zip("other.zip", "other\\n");
    const char *arts[2];
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_policy *p = NULL;
    int r;

    tu_write_str(cp("warn.json"), "{\"version\": 1, \"mode\": \"warn\", \"keys\": [{\"name\": \"release\", "
                                  "\"public_key\": \"release.pub\"}]}");
    cr_assert_eq(sign_policy_load(&p, cp("warn.json"), NULL), 0, "%s", sign_error_last());
    arts[0] = zip;
    arts[1] = other;
    o.artifacts = arts;
    o.nartifacts = 2;
    r = sign_verify(&res, p, &o);
    cr_assert_eq(r, 0, "warn mode: the decision lets them through");
    cr_assert_eq(sign_verify_result_verdict(res), SIGN_VERDICT_ALLOWED);
    cr_assert_str_eq(sign_verdict_name(sign_verify_result_verdict(res)), "allowed");
    cr_assert_eq(sign_verify_result_artifact_count(res), 2);
    cr_assert_str_eq(sign_verify_result_artifact_name(res, 0), "app.zip");
    cr_assert_eq(sign_verify_result_artifact_verified(res, 0), 1);
    cr_assert_eq(sign_verify_result_artifact_signer_count(res, 0), 1);
    cr_assert_str_eq(sign_verify_result_artifact_signer(res, 0, 0), "release");
    cr_assert_eq(sign_verify_result_artifact_reason_count(res, 0), 0);
    cr_assert_eq(sign_verify_result_artifact_verified(res, 1), 0, "other.zip has no bundle");
    cr_assert_eq(sign_verify_result_artifact_signer_count(res, 1), 0);
    cr_assert_geq(sign_verify_result_artifact_reason_count(res, 1), 1);
    cr_assert_str_eq(sign_verify_result_artifact_reason(res, 1, 0), "NO_BUNDLE");
    cr_assert_null(sign_verify_result_artifact_reason(res, 1, 99));
    cr_assert_null(sign_verify_result_artifact_name(res, 2));
    cr_assert_eq(strlen(sign_verify_result_artifact_sha256(res, 0)), 64);
    sign_verify_result_free(res);
    res = NULL;
    o.nartifacts = 1;
    cr_assert_eq(sign_verify(&res, p, &o), 0);
    cr_assert_eq(sign_verify_result_verdict(res), SIGN_VERDICT_VERIFIED);
    sign_verify_result_free(res);
    sign_policy_free(p);
}

/* ---- the exit code table (docs/verify.md), one situation per row ------- */

Test(contract, exit_1_for_changed_or_unsigned_bytes_under_any_name, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip(), *renamed = cp("renamed.zip");
    char cmd[4096];

    /* DIGEST_MISMATCH under the signed name. */
    ct_append(zip, "x");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "%s", ct_err);
    /* The same tampered bytes under another name: ARTIFACT_NOT_SIGNED, the same exit code. */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", zip, renamed);
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("app.zip.sigstore.json"), renamed), 1, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "FAIL ARTIFACT_NOT_SIGNED"), "%s", ct_err);
    /* -b was given: no advice to pass -b; the unused bundle is said in human output. */
    cr_assert_null(strstr(ct_err, "pass its bundle with -b"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "BUNDLE_UNUSED"), "%s", ct_err);
    /* No bundle at all (none beside it, no -b): unsigned, exit 1, not a usage error. */
    tu_write_str(cp("notes.txt"), "unsigned\n");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("notes.txt")), 1, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "FAIL NO_BUNDLE"), "%s", ct_err);
}

Test(contract, exit_2_for_input_errors, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();

    /* A -b FILE that does not exist stays an input error, named as a bundle. */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("nope.json"), zip), 2, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "bundle "), "%s", ct_err);
    tu_write_str(cp("bad.json"), "{not json");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("bad.json"), zip), 2, "%s", ct_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("missing.zip")), 2, "%s", ct_err);
    cr_assert_eq(RUN("verify", "-p", cp("polcy.json"), zip), 2, "%s", ct_err);
    cr_assert_eq(RUN("verify", "--bogus", "-p", cp("policy.json"), zip), 2, "%s", ct_err);
}

Test(contract, exit_3_4_6_for_trust_policy_and_time, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();

    ct_keygen("other");
    /* 3: signed by a key the policy does not trust (ARTIFACT_NOT_SIGNED follows, but the cause decides). */
    tu_write_str(cp("other.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"other\", \"public_key\": \"other.pub\"}]}");
    cr_assert_eq(RUN("verify", "-p", cp("other.json"), zip), 3, "%s", ct_err);
    /* 4: a key outside its artifact globs; the threshold line gives advice that fits. */
    tu_write_str(cp("globs.json"), "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": "
                                   "\"release.pub\", \"artifacts\": [\"*.tar\"]}]}");
    cr_assert_eq(RUN("verify", "-p", cp("globs.json"), zip), 4, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "SIGNER_NOT_ALLOWED"), "%s", ct_err);
    cr_assert_null(strstr(ct_err, "add bundles signed by other keys"), "%s", ct_err);
    /* 6: the key's window is over. */
    tu_write_str(cp("old.json"), "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": "
                                 "\"release.pub\", \"not_before\": \"2000-01-01T00:00:00Z\", \"not_after\": "
                                 "\"2001-01-01T00:00:00Z\"}]}");
    cr_assert_eq(RUN("verify", "-p", cp("old.json"), zip), 6, "%s", ct_err);
    /* 0 */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 0, "%s", ct_err);
}

/* ---- exit 5: every row of the revoked line of the exit table, end to end ----------------------------- */

/*
 * verify (--json, then as a human) exits 5 with code; the human summary says
 * revoked and names the code. extra is one more option (may be NULL).
 */
static void ct_expect_revoked(const char *policy, const char *bundle, const char *art, const char *extra,
                              const char *code)
{
    const char *argv[16];
    size_t n = 0;
    json_t *j;
    int rc;

    argv[n++] = "signet";
    argv[n++] = "verify";
    argv[n++] = "--json";
    argv[n++] = "--state-dir";
    argv[n++] = cp("st");
    argv[n++] = "-p";
    argv[n++] = policy;
    if (bundle != NULL) {
        argv[n++] = "-b";
        argv[n++] = bundle;
    }
    if (extra != NULL) {
        argv[n++] = extra;
    }
    argv[n++] = art;
    argv[n] = NULL;
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    rc = tu_run(&ct_out, &ct_err, NULL, argv);
    cr_assert_eq(rc, 5, "%s: exit %d, want 5: %s %s", code, rc, ct_out, ct_err);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), code, "%s", ct_out);
    cr_assert_str_eq(ct_str(j, "verdict"), "not_verified");
    cr_assert(json_is_false(json_object_get(j, "accepted")));
    json_decref(j);
    /* the same without --json: the human verdict */
    memmove(argv + 2, argv + 3, (n - 2) * sizeof(*argv));
    free(ct_out);
    free(ct_err);
    ct_out = ct_err = NULL;
    rc = tu_run(&ct_out, &ct_err, NULL, argv);
    cr_assert_eq(rc, 5, "%s (human): exit %d: %s", code, rc, ct_err);
    cr_assert_not_null(strstr(ct_err, code), "the human output names %s: %s", code, ct_err);
    cr_assert_not_null(strstr(ct_err, "NOT verified"), "%s", ct_err);
    cr_assert_eq(ct_out[0], '\0', "nothing on stdout for a refusal: %s", ct_out);
}

/* A pkigen_cert of dir/name.pem and dir/name.key (a tsautil PKI). */
static pkigen_cert *ct_load_pki(const char *dir, const char *name)
{
    char path[4096];
    pkigen_cert *c = calloc(1, sizeof(*c));
    FILE *f;

    cr_assert_not_null(c);
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    cr_assert_not_null(f = fopen(path, "r"));
    c->x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    cr_assert_not_null(f = fopen(path, "r"));
    c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert(c->x != NULL && c->key != NULL);
    return c;
}

Test(contract, exit_5_for_every_revoked_row_via_crls, .init = ct_setup, .fini = ct_teardown)
{
    int64_t now = (int64_t)time(NULL);
    pkigen_cert_opts ro = {.cn = "CT Root", .ca = 1}, io = {.cn = "CT Intermediate", .ca = 1},
                     lo = {.cn = "Release Signing"}, oo = {.cn = "Someone Else", .ca = 1};
    pkigen_cert *root, *in, *leaf, *other;
    pkigen_crl_entry e = {.reason = -1};
    X509_CRL *rootcrl, *revoking, *forged, *empty;
    const pkigen_cert *chain[1];
    char json[1024];

    ro.not_before = io.not_before = now - 365 * 86400;
    ro.not_after = io.not_after = now + 365 * 86400;
    root = pkigen_cert_new(&ro, NULL);
    in = pkigen_cert_new(&io, root);
    leaf = pkigen_cert_new(&lo, in);
    other = pkigen_cert_new(&oo, NULL);
    chain[0] = root;
    pkigen_write_certs(cp("root.pem"), chain, 1);
    chain[0] = in;
    pkigen_write_certs(cp("int.pem"), chain, 1);
    chain[0] = leaf;
    pkigen_write_certs(cp("leaf.pem"), chain, 1);
    pkigen_write_key(cp("leaf.key"), leaf);
    e.serial = pkigen_serial(leaf);
    e.revoked_at = now - 86400;
    rootcrl = pkigen_crl_new(root, NULL, now - 86400, now + 7 * 86400, NULL, 0, NULL);
    revoking = pkigen_crl_new(in, NULL, now - 86400, now + 7 * 86400, &e, 1, NULL);
    forged = pkigen_crl_new(in, other, now - 86400, now + 7 * 86400, NULL, 0, NULL);
    empty = pkigen_crl_new(in, NULL, now - 86400, now + 7 * 86400, NULL, 0, NULL);
    pkigen_write_crl(cp("root.crl"), rootcrl, 0);
    pkigen_write_crl(cp("revoking.crl"), revoking, 0);
    pkigen_write_crl(cp("forged.crl"), forged, 0);
    pkigen_write_crl(cp("empty.crl"), empty, 0);
    tu_write_str(cp("app.bin"), "release bytes\n");
    cr_assert_eq(RUN("sign", "-k", cp("leaf.key"), "--cert", cp("leaf.pem"), cp("app.bin")), 0, "%s", ct_err);

#define CT_ROOT_POLICY                                                                                               \
    "{\"version\":1,\"roots\":[{\"name\":\"corp\",\"certificates\":\"root.pem\",\"intermediates\":\"int.pem\","      \
    "\"crls\":[%s]}]}"
    /* control: a CRL that revokes nothing passes */
    snprintf(json, sizeof(json), CT_ROOT_POLICY, "\"empty.crl\",\"root.crl\"");
    tu_write_str(cp("p-ok.json"), json);
    cr_assert_eq(RUN("verify", "-p", cp("p-ok.json"), cp("app.bin")), 0, "%s", ct_err);
    /* CERT_REVOKED: the intermediate's CRL lists the leaf */
    snprintf(json, sizeof(json), CT_ROOT_POLICY, "\"revoking.crl\",\"root.crl\"");
    tu_write_str(cp("p-revoked.json"), json);
    ct_expect_revoked(cp("p-revoked.json"), NULL, cp("app.bin"), NULL, "CERT_REVOKED");
    /* CRL_SIGNATURE_INVALID: a CRL in the intermediate's name signed by another key */
    snprintf(json, sizeof(json), CT_ROOT_POLICY, "\"forged.crl\",\"root.crl\"");
    tu_write_str(cp("p-forged.json"), json);
    ct_expect_revoked(cp("p-forged.json"), NULL, cp("app.bin"), NULL, "CRL_SIGNATURE_INVALID");
    /* CRL_MISSING: CRLs are given, but none from the leaf's issuer */
    snprintf(json, sizeof(json), CT_ROOT_POLICY, "\"root.crl\"");
    tu_write_str(cp("p-missing.json"), json);
    ct_expect_revoked(cp("p-missing.json"), NULL, cp("app.bin"), NULL, "CRL_MISSING");
#undef CT_ROOT_POLICY
    X509_CRL_free(rootcrl);
    X509_CRL_free(revoking);
    X509_CRL_free(forged);
    X509_CRL_free(empty);
    pkigen_cert_free(root);
    pkigen_cert_free(in);
    pkigen_cert_free(leaf);
    pkigen_cert_free(other);
}

Test(contract, exit_5_for_a_revoked_timestamp_authority, .init = ct_setup, .fini = ct_teardown)
{
    int64_t now = (int64_t)time(NULL);
    char *pki = tsa_std_pki(), json[2048];
    pkigen_cert *troot = ct_load_pki(pki, "root"), *tsa = ct_load_pki(pki, "tsa");
    pkigen_crl_entry e = {.reason = -1};
    X509_CRL *revoking, *empty;
    tsa_server srv;

    e.serial = pkigen_serial(tsa);
    e.revoked_at = now - 3600;
    revoking = pkigen_crl_new(troot, NULL, now - 3600, now + 7 * 86400, &e, 1, NULL);
    empty = pkigen_crl_new(troot, NULL, now - 3600, now + 7 * 86400, NULL, 0, NULL);
    pkigen_write_crl(cp("tsa-revoking.crl"), revoking, 0);
    pkigen_write_crl(cp("tsa-empty.crl"), empty, 0);
    ct_keygen("release");
    tu_write_str(cp("app.bin"), "release bytes\n");
    tsa_server_start(&srv, pki, "tsa", NULL, NULL);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--tsa", srv.url, cp("app.bin")), 0, "%s", ct_err);
    tsa_server_stop(&srv);
#define CT_TSA_POLICY                                                                                                \
    "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"release.pub\"}],\"timestamp_authorities\":[{"   \
    "\"name\":\"tsa\",\"certificates\":\"%s/root.pem\",\"crls\":[\"%s\"]}]}"
    snprintf(json, sizeof(json), CT_TSA_POLICY, pki, "tsa-empty.crl");
    tu_write_str(cp("p-ok.json"), json);
    cr_assert_eq(RUN("verify", "-p", cp("p-ok.json"), cp("app.bin")), 0, "control: %s", ct_err);
    snprintf(json, sizeof(json), CT_TSA_POLICY, pki, "tsa-revoking.crl");
    tu_write_str(cp("p-revoked.json"), json);
    ct_expect_revoked(cp("p-revoked.json"), NULL, cp("app.bin"), NULL, "TIMESTAMP_REVOKED");
#undef CT_TSA_POLICY
    X509_CRL_free(revoking);
    X509_CRL_free(empty);
    pkigen_cert_free(troot);
    pkigen_cert_free(tsa);
    tu_rmtree(pki);
    free(pki);
}

Test(contract, exit_5_for_every_revoked_row_via_revocation_lists, .init = ct_setup, .fini = ct_teardown)
{
    char json[1024], cmd[4096];
    const char *app = cp("app.txt"), *list = cp("revoked.json");

    ct_keygen("auth");
    ct_keygen("release");
    tu_write_str(app, "hello\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), app), 0, "%s", ct_err);
    cr_assert_eq(RUN("revoke", "init", "-k", cp("auth.key"), "--expires", "7d", "-o", list), 0, "%s", ct_err);
#define CT_LIST_POLICY                                                                                               \
    "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"release.pub\"}],\"revocation\":[{\"name\":"     \
    "\"main\",\"list\":\"revoked.json\",\"authorities\":[\"auth.pub\"]%s}]}"
    snprintf(json, sizeof(json), CT_LIST_POLICY, "");
    tu_write_str(cp("policy.json"), json);
    cr_assert_eq(RUN("verify", "--state-dir", cp("st"), "-p", cp("policy.json"), app), 0, "control: %s", ct_err);

    /* REVOCATION_ROLLBACK: version 2 seen, then version 1 put back */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", list, cp("v1.json"));
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(RUN("revoke", "renew", "-k", cp("auth.key"), "--list", list), 0, "%s", ct_err);
    cr_assert_eq(RUN("verify", "--state-dir", cp("st"), "-p", cp("policy.json"), app), 0, "%s", ct_err);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s'", list, cp("v2.json"), cp("v1.json"), list);
    cr_assert_eq(SH(cmd), 0);
    ct_expect_revoked(cp("policy.json"), NULL, app, NULL, "REVOCATION_ROLLBACK");
    /* REVOCATION_EQUIVOCATION: another version 2 (same number, other content) */
    cr_assert_eq(RUN("revoke", "artifact", "-k", cp("auth.key"), "--list", list, "--digest",
                     "sha256:abababababababababababababababababababababababababababababababab", "--reason", "other"),
                 0, "%s", ct_err);
    ct_expect_revoked(cp("policy.json"), NULL, app, NULL, "REVOCATION_EQUIVOCATION");
    /* from here on a fresh state: the list moves on legitimately */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp '%s' '%s'", cp("st"), cp("v1.json"), list);
    cr_assert_eq(SH(cmd), 0);

    /* KEY_REVOKED: the signing key is on the list (no trusted time: every signature) */
    cr_assert_eq(RUN("revoke", "key", "-k", cp("auth.key"), "--list", list, "--key", cp("release.pub"), "--reason",
                     "superseded"),
                 0, "%s", ct_err);
    ct_expect_revoked(cp("policy.json"), NULL, app, NULL, "KEY_REVOKED");
    /* ARTIFACT_REVOKED: the artifact's digest is on the list, whatever signs it (another key signs it too) */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp '%s' '%s'", cp("st"), cp("v1.json"), list);
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(RUN("revoke", "artifact", "-k", cp("auth.key"), "--list", list, app, "--reason", "other"), 0, "%s",
                 ct_err);
    ct_expect_revoked(cp("policy.json"), NULL, app, NULL, "ARTIFACT_REVOKED");
    /* REVOCATION_LIST_MISSING: the list the policy names is not there */
    cr_assert_eq(unlink(list), 0);
    ct_expect_revoked(cp("policy.json"), NULL, app, NULL, "REVOCATION_LIST_MISSING");
    /* REVOCATION_FETCH_FAILED is no revocation (exit 2, availability): --fetch-revocation, its url refuses (nothing
       listens on port 1), no cached copy */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", cp("v1.json"), list);
    cr_assert_eq(SH(cmd), 0);
    snprintf(json, sizeof(json), CT_LIST_POLICY, ",\"url\":\"http://127.0.0.1:1/keys.json\"");
    tu_write_str(cp("fetch.json"), json);
    {
        char opt[4200];

        snprintf(opt, sizeof(opt), "--revocation-cache=%s", cp("rcache"));
        cr_assert_eq(RUN("verify", "--state-dir", cp("st2"), "--fetch-revocation", opt, "-p", cp("fetch.json"), app),
                     2, "%s", ct_err);
        /* the code itself is in --json (revocation/fetch_* checks it); the human line names the URL and cause */
        cr_assert_not_null(strstr(ct_err, "fetching http://127.0.0.1:1/keys.json failed"), "%s", ct_err);
        cr_assert_null(strstr(ct_err, "revoked"), "a fetch failure is not a revocation: %s", ct_err);
    }
#undef CT_LIST_POLICY
}

Test(contract, batch_verify_says_per_artifact, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip(), *two = ct_zip("two.zip", "two\\n");

    cr_assert_eq(RUN("sign", "-k", cp("release.key"), two), 0, "%s", ct_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip, two), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_out, "verified: app.zip (signers: release)"), "%s", ct_out);
    cr_assert_not_null(strstr(ct_out, "verified: two.zip (signers: release)"), "%s", ct_out);
    cr_assert_not_null(strstr(ct_out, "under "), "%s", ct_out);
    cr_assert_not_null(strstr(ct_out, ": app.zip, two.zip (signers: release)"), "the success line names them: %s",
                       ct_out);
    ct_append(two, "changed");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip, two), 1, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "  verified: app.zip"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "NOT verified: two.zip (DIGEST_MISMATCH)"), "%s", ct_err);
}

/* ---- never lose work ----------------------------------------------------- */

Test(contract, sign_refuses_to_overwrite_a_bundle_without_force, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();
    char *before;
    size_t len;
    size_t n2;
    char *after;

    ct_keygen("second");
    before = tu_read(cp("app.zip.sigstore.json"), &len);
    cr_assert_eq(RUN("sign", "-k", cp("second.key"), zip), 2, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "app.zip.sigstore.json already exists"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "--force"), "%s", ct_err);
    after = tu_read(cp("app.zip.sigstore.json"), &n2);
    cr_assert(n2 == len && memcmp(before, after, len) == 0, "the first signer's bundle is kept");
    free(after);
    cr_assert_eq(RUN("sign", "-k", cp("second.key"), "--force", zip), 0, "%s", ct_err);
    after = tu_read(cp("app.zip.sigstore.json"), &n2);
    cr_assert(n2 != len || memcmp(before, after, len) != 0, "--force replaces it");
    free(after);
    free(before);
}

Test(contract, passphrase_file_beats_the_environment, .init = ct_setup, .fini = ct_teardown)
{
    const char *env_right[] = {"SIGNET_PASSPHRASE=right one", NULL};
    const char *env_wrong[] = {"SIGNET_PASSPHRASE=stale", NULL};

    tu_write_str(cp("notes.txt"), "hello\n");
    cr_assert_eq(RUN_ENV(env_right, "keygen", "-o", cp("k")), 0, "%s", ct_err);
    tu_write_str(cp("good.pass"), "right one\n");
    tu_write_str(cp("bad.pass"), "wrong one\n");
    chmod(cp("good.pass"), 0600);
    chmod(cp("bad.pass"), 0600);
    /* The flag wins over a stale environment. */
    cr_assert_eq(RUN_ENV(env_wrong, "sign", "-k", cp("k.key"), "--passphrase-file", cp("good.pass"), "-o",
                         cp("a.json"), cp("notes.txt")),
                 0, "%s", ct_err);
    /* A wrong passphrase names where it came from. */
    cr_assert_eq(RUN_ENV(env_right, "sign", "-k", cp("k.key"), "--passphrase-file", cp("bad.pass"), "-o",
                         cp("b.json"), cp("notes.txt")),
                 2, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "--passphrase-file"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "bad.pass"), "%s", ct_err);
    cr_assert_eq(RUN_ENV(env_wrong, "sign", "-k", cp("k.key"), "-o", cp("c.json"), cp("notes.txt")), 2, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "SIGNET_PASSPHRASE"), "%s", ct_err);
    cr_assert(!tu_exists(cp("b.json")) && !tu_exists(cp("c.json")), "nothing written");
}

/* ---- JSON on every outcome, errors that name the role ---------------------- */

static void ct_expect_json_error(int rc, const char *code)
{
    json_t *j;

    cr_assert_eq(rc, 2, "exit %d: %s", rc, ct_err);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), code, "%s", ct_out);
    cr_assert_str_eq(ct_str(j, "verdict"), "not_verified");
    cr_assert(json_is_false(json_object_get(j, "verified")));
    cr_assert(json_is_integer(json_object_get(j, "format_version")));
    json_decref(j);
}

Test(contract, json_on_every_outcome, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();

    ct_expect_json_error(RUN("verify", "--json", "-p", cp("polcy.json"), zip), "POLICY_MISSING");
    cr_assert_not_null(strstr(ct_err, "policy "), "the role is named: %s", ct_err);
    tu_write_str(cp("broken.json"), "{\"version\": 1,");
    ct_expect_json_error(RUN("verify", "--json", "-p", cp("broken.json"), zip), "POLICY_MALFORMED");
    ct_expect_json_error(RUN("verify", "--json", "-p", cp("policy.json")), "USAGE");
    ct_expect_json_error(RUN("verify", "--json", zip), "USAGE");
    ct_expect_json_error(RUN("verify", "--json", "--jsno", "-p", cp("policy.json"), zip), "USAGE");
    ct_expect_json_error(RUN("verify", "--json", "-p", cp("policy.json"), "-p", cp("policy.json"), zip), "USAGE");
    /* A missing bundle: the verdict itself, with its reason. */
    cr_assert_eq(RUN("verify", "--json", "-p", cp("policy.json"), "-b", cp("nope.json"), zip), 2);
    {
        json_t *j = ct_json();

        cr_assert_str_eq(ct_str(j, "code"), "BUNDLE_MISSING");
        cr_assert_str_eq(ct_str(j, "verdict"), "not_verified");
        json_decref(j);
    }
    cr_assert_eq(RUN("verify", "--json", "-p", cp("policy.json"), cp("notes.txt")), 2);
    json_decref(ct_json());
}

/* stdout is one error object with this code, error.role role (NULL: absent or null); the exit is 2. */
static void ct_expect_json_error_role(int rc, const char *code, const char *role)
{
    json_t *j, *err, *jrole;

    cr_assert_eq(rc, 2, "exit %d: %s", rc, ct_err);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), code, "%s", ct_out);
    cr_assert_str_eq(ct_str(j, "verdict"), "not_verified");
    cr_assert(json_is_integer(json_object_get(j, "format_version")));
    err = json_object_get(j, "error");
    cr_assert(json_is_object(err), "an error member: %s", ct_out);
    cr_assert(json_is_string(json_object_get(err, "message")), "%s", ct_out);
    jrole = json_object_get(err, "role");
    if (role == NULL) {
        cr_assert(jrole == NULL || json_is_null(jrole), "%s", ct_out);
    } else {
        cr_assert_str_eq(json_string_value(jrole), role, "%s", ct_out);
    }
    cr_assert_neq(ct_err[0], '\0', "the message is on stderr too");
    json_decref(j);
}

Test(contract, json_on_every_outcome_of_sign_hash_keygen, .init = ct_setup, .fini = ct_teardown)
{
    const char *env_wrong[] = {"SIGNET_PASSPHRASE=wrong-passphrase", NULL};
    const char *env_new[] = {"SIGNET_PASSPHRASE=correct horse", NULL};
    json_t *j;

    /* keygen: success, usage, an existing file */
    cr_assert_eq(RUN("keygen", "--json", "--no-passphrase", "-o", cp("k")), 0, "%s", ct_err);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), "OK");
    cr_assert_str_eq(ct_str(j, "command"), "keygen");
    cr_assert_eq(strlen(ct_str(j, "key_id")), 44);
    cr_assert(json_is_false(json_object_get(j, "encrypted")));
    json_decref(j);
    ct_expect_json_error_role(RUN("keygen", "--json", "--no-passphrase", "-o", cp("k")), "OUTPUT_EXISTS", "key");
    ct_expect_json_error_role(RUN("keygen", "--json", "--no-passphrase"), "USAGE", NULL);
    ct_expect_json_error_role(RUN("keygen", "--json", "-t", "dsa", "-o", cp("k2")), "USAGE", NULL);
    ct_expect_json_error_role(RUN("keygen", "--json", "--bogus", "-o", cp("k2")), "USAGE", NULL);
    cr_assert_eq(RUN_ENV(env_new, "keygen", "--json", "-o", cp("enc")), 0, "%s", ct_err);
    json_decref(ct_json());

    /* sign: success, then every kind of failure */
    tu_write_str(cp("a.txt"), "hello\n");
    cr_assert_eq(RUN("sign", "--json", "-k", cp("k.key"), cp("a.txt")), 0, "%s", ct_err);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), "OK");
    cr_assert_str_eq(ct_str(j, "bundle"), cp("a.txt.sigstore.json"));
    cr_assert_eq(json_array_size(json_object_get(j, "artifacts")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "artifacts"), 0), "sha256")),
                     "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    json_decref(j);
    ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("k.key"), cp("a.txt")), "OUTPUT_EXISTS", "bundle");
    ct_expect_json_error_role(RUN("sign", "--json", cp("a.txt")), "USAGE", NULL);
    ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("k.key")), "USAGE", NULL);
    ct_expect_json_error_role(RUN("sign", "--json", "--kind", "rar", "-k", cp("k.key"), cp("a.txt")), "USAGE", NULL);
    ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("nokey.key"), "-o", cp("b.json"), cp("a.txt")),
                              "KEY_MISSING", "key");
    tu_write_str(cp("bad.key"), "not a key\n");
    ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("bad.key"), "-o", cp("b.json"), cp("a.txt")),
                              "KEY_MALFORMED", "key");
    ct_expect_json_error_role(
        RUN_ENV(env_wrong, "sign", "--json", "-k", cp("enc.key"), "-o", cp("b.json"), cp("a.txt")),
        "PASSPHRASE_WRONG", "key");
    cr_assert_not_null(strstr(ct_out, "SIGNET_PASSPHRASE"), "the object names the passphrase's source: %s", ct_out);
    ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("k.key"), "-o", cp("b.json"), cp("missing.txt")),
                              "ARTIFACT_UNREADABLE", "artifact");
    ct_expect_json_error_role(
        RUN("sign", "--json", "-k", cp("k.key"), "--cert", cp("nocert.pem"), "-o", cp("b.json"), cp("a.txt")),
        "CERTIFICATE_MISSING", "certificate");
    ct_expect_json_error_role(
        RUN("sign", "--json", "-k", cp("k.key"), "--kind", "zip", "-o", cp("b.json"), cp("a.txt")),
        "ARTIFACT_KIND_REFUSED", "artifact");
    cr_assert(!tu_exists(cp("b.json")), "nothing was written");
    {
        /* a dangerous finding refused: a zip with a path traversal entry */
        char cmd[2048];

        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && mkdir -p t/sub && echo x > t/evil && cd t/sub && zip -q ../../evil.zip ../evil", ct_dir);
        cr_assert_eq(SH(cmd), 0, "%s", ct_err);
        ct_expect_json_error_role(RUN("sign", "--json", "-k", cp("k.key"), "-o", cp("b.json"), cp("evil.zip")),
                                  "FINDING_REFUSED", "artifact");
        cr_assert(!tu_exists(cp("b.json")));
    }

    /* hash: --json is the statement on success, an error object otherwise */
    cr_assert_eq(RUN("hash", "--json", cp("a.txt")), 0, "%s", ct_err);
    j = ct_json();
    cr_assert_not_null(json_object_get(j, "subject"), "the statement: %s", ct_out);
    json_decref(j);
    ct_expect_json_error_role(RUN("hash", "--json", cp("missing.txt")), "ARTIFACT_UNREADABLE", "artifact");
    ct_expect_json_error_role(RUN("hash", "--json"), "USAGE", NULL);
    ct_expect_json_error_role(RUN("hash", "--json", "--jobs", "0", cp("a.txt")), "USAGE", NULL);

    /* the other commands with --json */
    ct_expect_json_error_role(RUN("inspect", "--json", cp("nothere.json")), "BUNDLE_MISSING", "bundle");
    cr_assert_eq(RUN("log", "verify", "--json", cp("nolog")), 2);
    json_decref(ct_json());
    cr_assert_eq(RUN("revoke", "show", "--json", cp("nolist")), 2);
    json_decref(ct_json());
}

Test(contract, errors_name_the_role_of_the_file, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();

    cr_assert_eq(RUN("verify", "-p", cp("polcy.json"), zip), 2);
    cr_assert_not_null(strstr(ct_err, "policy "), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "polcy.json: No such file"), "%s", ct_err);
    /* A bundle given as the policy. */
    cr_assert_eq(RUN("verify", "-p", cp("app.zip.sigstore.json"), zip), 2);
    cr_assert_not_null(strstr(ct_err, "is a Sigstore bundle, not a trust policy"), "%s", ct_err);
    /* "verify -p P *": a bundle matched as an artifact. */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip, cp("app.zip.sigstore.json")), 2);
    cr_assert_not_null(strstr(ct_err, "is a bundle, not an artifact"), "%s", ct_err);
}

Test(contract, unknown_options_get_did_you_mean, .init = ct_setup, .fini = ct_teardown)
{
    cr_assert_eq(RUN("verify", "--jsn", "-p", "p.json", "a"), 2);
    cr_assert_not_null(strstr(ct_err, "did you mean --json?"), "%s", ct_err);
    cr_assert_null(strstr(ct_err, "passphrase"), "only a passphrase-like option gets the remark: %s", ct_err);
    cr_assert_eq(RUN("sign", "--passphrse", "x", "a"), 2);
    cr_assert_not_null(strstr(ct_err, "did you mean --passphrase-file?"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "never given as an argument"), "%s", ct_err);
    cr_assert_null(strstr(ct_err, " x"), "the value is never echoed: %s", ct_err);
}

/* ---- docs that match the program ---------------------------------------- */

/* SIGNET_SRC/rel, read whole (caller frees). */
static char *ct_src_file(const char *rel)
{
    char path[4096];
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", tu_src(), rel);
    return tu_read(path, &len);
}

/* Add every distinct "UPPER_CASE" string literal of text (prefixed) to list. */
static void ct_collect_codes(char ***list, size_t *n, const char *text, const char *only_after, const char *prefix)
{
    for (const char *p = text; (p = strchr(p, '"')) != NULL;) {
        const char *q = p + 1;
        size_t len, under = 0;

        while ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_') {
            under += *q == '_';
            q++;
        }
        len = (size_t)(q - p - 1);
        if (*q == '"' && len >= 2 && p[1] >= 'A' && p[1] <= 'Z' && q[-1] != '_' && (under > 0 || prefix[0] != '\0')) {
            const char *line = p;
            char code[128];
            int dup = 0;

            while (line > text && line[-1] != '\n') {
                line--;
            }
            if (only_after == NULL || (strstr(line, only_after) != NULL && strstr(line, only_after) < p)) {
                snprintf(code, sizeof(code), "%s%.*s", prefix, (int)len, p + 1);
                for (size_t i = 0; i < *n && !dup; i++) {
                    dup = strcmp((*list)[i], code) == 0;
                }
                if (!dup && strcmp(code, "OK") != 0 && strcmp(code, "TIMESTAMP_OK") != 0) {
                    *list = realloc(*list, (*n + 1) * sizeof(**list));
                    cr_assert_not_null(*list);
                    (*list)[(*n)++] = strdup(code);
                }
            }
            p = q + 1;
            continue;
        }
        p = q;
    }
}

/* The exit code docs/verify.md's rule gives a class name ("EBADSIG") of the reason table. */
static int ct_class_exit(const char *cls)
{
    static const struct {
        const char *cls;
        int exit;
    } rule[] = {{"EBADSIG", 1}, {"EDIGEST", 1},  {"EVERIFY", 1}, {"EUNTRUSTED", 3},
                {"EPOLICY", 4}, {"EREVOKED", 5}, {"EEXPIRED", 6}};

    for (size_t i = 0; i < sizeof(rule) / sizeof(rule[0]); i++) {
        if (strcmp(rule[i].cls, cls) == 0) {
            return rule[i].exit;
        }
    }
    return 2;
}

/* The row "| `check` | `CODE` | `CLASS`..." of the reason table: the exit its class gives, or -1. */
static int ct_reason_table_exit(const char *doc, const char *code)
{
    char pat[160];
    const char *row;

    snprintf(pat, sizeof(pat), "| `%s` | `", code);
    for (row = doc; (row = strstr(row, pat)) != NULL; row++) {
        const char *line = row, *cls;
        char name[32];
        size_t k = 0;

        while (line > doc && line[-1] != '\n') {
            line--;
        }
        if (strncmp(line, "| `", 3) != 0 || row == line) {
            continue; /* the code must be the table's second column */
        }
        cls = row + strlen(pat);
        while (k + 1 < sizeof(name) && cls[k] >= 'A' && cls[k] <= 'Z') {
            name[k] = cls[k];
            k++;
        }
        name[k] = '\0';
        return ct_class_exit(name);
    }
    return -1;
}

/* The exit code whose row of the "Exit codes" table lists `code`, or -1. */
static int ct_exit_table_exit(const char *doc, const char *code)
{
    const char *t = strstr(doc, "## Exit codes"), *end;
    char pat[160];

    cr_assert_not_null(t, "docs/verify.md has an Exit codes section");
    end = strstr(t + 5, "\n## ");
    snprintf(pat, sizeof(pat), "`%s`", code);
    for (const char *line = t; line != NULL && (end == NULL || line < end); line = strchr(line + 1, '\n')) {
        const char *eol = strchr(line + 1, '\n'), *hit = strstr(line, pat);

        if (line[0] == '\n' && line[1] == '|' && line[2] == ' ' && line[3] >= '0' && line[3] <= '9' && hit != NULL &&
            (eol == NULL || hit < eol)) {
            return line[3] - '0';
        }
    }
    return -1;
}

Test(contract, docs_every_reason_code_in_the_exit_table)
{
    static const char *const files[] = {"libsign/verify/bundle_checks.c", "libsign/verify/artifact_checks.c",
                                        "libsign/verify/pipeline.c",      "libsign/verify/result.c",
                                        "libsign/verify/keys.c",          "libsign/pki/x509.c",
                                        "libsign/artifact/oci.c",         "libsign/artifact/tree.c",
                                        "libsign/verify/source_checks.c", "libsign/verify/revocation_checks.c",
                                        "libsign/deploy/deploy.c",        "libsign/deploy/extract.c"};
    char *doc = ct_src_file("docs/verify.md"), **codes = NULL, *ts;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *src = ct_src_file(files[i]);

        ct_collect_codes(&codes, &n, src, NULL, "");
        free(src);
    }
    ts = ct_src_file("libsign/pki/timestamp.c");
    ct_collect_codes(&codes, &n, ts, "case SIGN_TS_", "TIMESTAMP_");
    free(ts);
    cr_assert_gt(n, 40, "found %zu reason codes in the code", n);
    for (size_t i = 0; i < n; i++) {
        int from_class = ct_reason_table_exit(doc, codes[i]), listed = ct_exit_table_exit(doc, codes[i]);

        char skip[160], pass[160];

        snprintf(skip, sizeof(skip), "`%s` (skip)", codes[i]);
        snprintf(pass, sizeof(pass), "`%s` (pass)", codes[i]);
        if (strcmp(codes[i], "NOT_COUNTED") == 0 || strcmp(codes[i], "BUNDLE_UNUSED") == 0 ||
            strstr(doc, skip) != NULL || strstr(doc, pass) != NULL) {
            /* skip and pass statuses: never decide an exit code */
            cr_assert_neq(strstr(doc, codes[i]), NULL, "%s is documented", codes[i]);
            free(codes[i]);
            continue;
        }
        cr_assert_neq(from_class, -1, "reason %s is in the reason table of docs/verify.md", codes[i]);
        cr_assert_eq(listed, from_class, "reason %s: the exit table says %d, its class gives %d", codes[i], listed,
                     from_class);
        free(codes[i]);
    }
    free(codes);
    free(doc);
}

/* Every --option of text (after "\-" is read as "-"), into list. */
static size_t ct_long_options(char list[][40], size_t max, const char *text)
{
    size_t n = 0;

    for (const char *p = text; *p != '\0'; p++) {
        char opt[40];
        size_t k = 0;
        const char *q = p;
        int dup = 0;

        if (!(q[0] == '-' && q[1] == '-') && !(q[0] == '\\' && q[1] == '-' && q[2] == '\\' && q[3] == '-')) {
            continue;
        }
        q += q[0] == '-' ? 2 : 4;
        while (k + 1 < sizeof(opt) &&
               ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-' || (*q == '\\' && q[1] == '-'))) {
            if (*q == '\\') {
                q++;
            }
            opt[k++] = *q++;
        }
        opt[k] = '\0';
        while (k > 0 && opt[k - 1] == '-') {
            opt[--k] = '\0';
        }
        if (k < 2) {
            continue;
        }
        for (size_t i = 0; i < n && !dup; i++) {
            dup = strcmp(list[i], opt) == 0;
        }
        if (!dup && n < max) {
            snprintf(list[n++], 40, "%s", opt);
        }
        p = q - 1;
    }
    return n;
}

Test(contract, docs_every_help_option_in_its_man_page, .init = ct_setup, .fini = ct_teardown)
{
    static const char *const cmds[] = {"keygen", "sign", "verify", "inspect", "hash",  "timestamp",
                                       "audit",  "log",  "revoke", "pkcs11",  "deploy"};

    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
        char rel[128], *man, help_opts[64][40], man_opts[64][40];
        size_t nh, nm;

        cr_assert_eq(RUN("help", cmds[c]), 0, "signet help %s: %s", cmds[c], ct_err);
        nh = ct_long_options(help_opts, 64, ct_out);
        snprintf(rel, sizeof(rel), "docs/man/signet-%s.1", cmds[c]);
        man = ct_src_file(rel);
        nm = ct_long_options(man_opts, 64, man);
        cr_assert_gt(nh, 0);
        for (size_t i = 0; i < nh; i++) {
            int found = 0;

            for (size_t j = 0; j < nm && !found; j++) {
                found = strcmp(help_opts[i], man_opts[j]) == 0;
            }
            cr_assert(found, "signet help %s lists --%s, signet-%s(1) does not", cmds[c], help_opts[i], cmds[c]);
        }
        /* And back: every option of the man page's SYNOPSIS is in the help. */
        {
            const char *syn = strstr(man, ".SH SYNOPSIS"), *end = syn != NULL ? strstr(syn, ".SH DESCRIPTION") : NULL;
            char *part;
            char syn_opts[64][40];
            size_t ns;

            cr_assert(syn != NULL && end != NULL, "%s has SYNOPSIS and DESCRIPTION", rel);
            part = strndup(syn, (size_t)(end - syn));
            ns = ct_long_options(syn_opts, 64, part);
            for (size_t i = 0; i < ns; i++) {
                int found = 0;

                for (size_t j = 0; j < nh && !found; j++) {
                    found = strcmp(syn_opts[i], help_opts[j]) == 0;
                }
                cr_assert(found, "signet-%s(1) SYNOPSIS has --%s, signet help %s does not", cmds[c], syn_opts[i],
                          cmds[c]);
            }
            free(part);
        }
        free(man);
    }
    /* help itself has help. */
    cr_assert_eq(RUN("help", "help"), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_out, "signet help"), "%s", ct_out);
}

/* The names of ".B name" lines between the headings sec and the next .SH of man (a NULL-terminated list). */
static size_t ct_man_items(char list[][40], size_t max, const char *man, const char *sec)
{
    const char *p = strstr(man, sec), *end;
    size_t n = 0;

    cr_assert_not_null(p, "signet(1) has %s", sec);
    end = strstr(p + strlen(sec), "\n.SH ");
    for (p = strstr(p, "\n.TP\n"); p != NULL && (end == NULL || p < end); p = strstr(p + 1, "\n.TP\n")) {
        const char *q = p + 5;
        size_t k = 0;

        if (strncmp(q, ".B ", 3) == 0 || strncmp(q, ".BI ", 4) == 0) {
            q += q[2] == ' ' ? 3 : 4;
            q += *q == '"' ? 1 : 0;
            while (k + 1 < 40 && ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')) && n < max) {
                list[n][k++] = *q++;
            }
            if (k > 0) {
                list[n++][k] = '\0';
            }
        }
    }
    return n;
}

Test(contract, docs_signet_help_matches_signet_1, .init = ct_setup, .fini = ct_teardown)
{
    char *man = ct_src_file("docs/man/signet.1"), man_cmds[32][40], help_cmds[32][40];
    char help_opts[16][40], man_opts[16][40];
    const char *p, *opts, *opt_end, *sec, *sec_end;
    size_t nm, nh = 0, nho, nmo;

    cr_assert_eq(RUN("--help"), 0, "%s", ct_err);
    /* The command list: "  name   description" lines after "commands:". */
    p = strstr(ct_out, "commands:\n");
    cr_assert_not_null(p, "%s", ct_out);
    for (p = strchr(p, '\n') + 1; p[0] == ' ' && p[1] == ' ' && p[2] != ' '; p = strchr(p, '\n') + 1) {
        size_t k = 0;

        for (const char *q = p + 2; ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')) && k + 1 < 40; q++) {
            help_cmds[nh][k++] = *q;
        }
        help_cmds[nh++][k] = '\0';
        cr_assert_lt(nh, 32);
    }
    nm = ct_man_items(man_cmds, 32, man, ".SH COMMANDS");
    cr_assert_gt(nh, 8, "signet --help lists the commands");
    cr_assert_eq(nh, nm, "signet --help lists %zu commands, signet(1) COMMANDS %zu", nh, nm);
    for (size_t i = 0; i < nh; i++) {
        int found = 0;

        for (size_t j = 0; j < nm && !found; j++) {
            found = strcmp(help_cmds[i], man_cmds[j]) == 0;
        }
        cr_assert(found, "signet --help lists %s, signet(1) COMMANDS does not", help_cmds[i]);
        /* and each is a command: 'signet help CMD' answers */
        cr_assert_eq(RUN("--help"), 0);
        if (strcmp(help_cmds[i], "help") != 0) {
            cr_assert_not_null(strstr(man, help_cmds[i]), "%s", help_cmds[i]);
        }
    }
    for (size_t i = 0; i < nh; i++) {
        cr_assert_eq(RUN("help", help_cmds[i]), 0, "signet help %s: %s", help_cmds[i], ct_err);
    }
    /* The global options: those of "options:" in --help are those of signet(1) OPTIONS, and they work. */
    cr_assert_eq(RUN("--help"), 0);
    opts = strstr(ct_out, "options:\n");
    cr_assert_not_null(opts, "signet --help lists its options: %s", ct_out);
    opt_end = strstr(opts, "\n\n");
    {
        char *part = strndup(opts, opt_end != NULL ? (size_t)(opt_end - opts) : strlen(opts));

        nho = ct_long_options(help_opts, 16, part);
        free(part);
    }
    sec = strstr(man, ".SH OPTIONS");
    cr_assert_not_null(sec);
    sec_end = strstr(sec + 4, "\n.SH ");
    {
        char *part = strndup(sec, sec_end != NULL ? (size_t)(sec_end - sec) : strlen(sec));

        nmo = ct_long_options(man_opts, 16, part);
        free(part);
    }
    cr_assert_geq(nho, 2, "--version and --help");
    cr_assert_eq(nho, nmo, "signet --help has %zu global options, signet(1) OPTIONS %zu", nho, nmo);
    for (size_t i = 0; i < nho; i++) {
        int found = 0;
        char opt[48];

        for (size_t j = 0; j < nmo && !found; j++) {
            found = strcmp(help_opts[i], man_opts[j]) == 0;
        }
        cr_assert(found, "signet --help has --%s, signet(1) OPTIONS does not", help_opts[i]);
        snprintf(opt, sizeof(opt), "--%s", help_opts[i]);
        cr_assert_eq(RUN(opt), 0, "signet %s: %s", opt, ct_err);
        cr_assert_neq(ct_out[0], '\0');
    }
    /* The short forms too. */
    cr_assert_eq(RUN("-V"), 0);
    cr_assert_not_null(strstr(man, ".BR \\-V \", \" \\-\\-version"), "signet(1) lists -V");
    cr_assert_eq(RUN("-h"), 0);
    free(man);
}

/* ---- the library: version, freeing, input without a path ------------------- */

Test(contract, library_version_and_artifacts_free, .init = ct_setup, .fini = ct_teardown)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    sign_statement *st = NULL;
    sign_artifact **arts = NULL;
    const char *paths[1];

    cr_assert_str_eq(sign_version(), SIGN_VERSION_STRING);
    tu_write_str(cp("a.txt"), "a\n");
    paths[0] = cp("a.txt");
    o.artifacts = paths;
    o.nartifacts = 1;
    cr_assert_eq(sign_hash(&st, &arts, &o), 0, "%s", sign_error_last());
    sign_artifacts_free(arts, 1); /* what sign_sign/sign_hash return, freed in one call (ASan checks) */
    sign_artifacts_free(NULL, 3);
    sign_statement_free(st);
}

Test(contract, library_verifies_from_a_descriptor_and_from_memory, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip(), *bundles[1];
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_policy *p = NULL;
    char *data;
    size_t len;
    int fd, pfd[2];

    tu_write_str(cp("globs.json"), "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": "
                                   "\"release.pub\", \"artifacts\": [\"app.zip\"]}]}");
    cr_assert_eq(sign_policy_load(&p, cp("globs.json"), NULL), 0, "%s", sign_error_last());
    bundles[0] = cp("app.zip.sigstore.json");
    o.bundles = bundles;
    o.nbundles = 1;
    /* A regular file by descriptor, named as the key's globs allow. */
    fd = open(zip, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(sign_verify_fd(&res, p, &o, fd, "app.zip"), 0, "%s", sign_error_last());
    cr_assert_eq(sign_verify_result_verdict(res), SIGN_VERDICT_VERIFIED);
    cr_assert_str_eq(sign_verify_result_artifact_path(res, 0), "app.zip");
    sign_verify_result_free(res);
    /* Under a name the globs refuse: the name is what is judged. */
    cr_assert_eq(sign_verify_fd(&res, p, &o, fd, "other.zip"), SIGN_EPOLICY);
    sign_verify_result_free(res);
    close(fd);
    /* From memory, and changed bytes. */
    data = tu_read(zip, &len);
    cr_assert_eq(sign_verify_memory(&res, p, &o, data, len, "app.zip"), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    data[len / 2] ^= 1;
    cr_assert_eq(sign_verify_memory(&res, p, &o, data, len, "app.zip"), SIGN_EDIGEST);
    sign_verify_result_free(res);
    data[len / 2] ^= 1;
    /* A pipe: read to its end, then judged. */
    cr_assert_eq(pipe(pfd), 0);
    cr_assert_eq(write(pfd[1], data, len), (ssize_t)len, "the zip fits the pipe buffer");
    close(pfd[1]);
    cr_assert_eq(sign_verify_fd(&res, p, &o, pfd[0], "app.zip"), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    close(pfd[0]);
    /* No bundle given: nothing lies beside bytes without a path. */
    o.nbundles = 0;
    cr_assert_eq(sign_verify_memory(&res, p, &o, data, len, "app.zip"), SIGN_EINVAL);
    cr_assert_null(res);
    free(data);
    sign_policy_free(p);
}

/* ---- install ----------------------------------------------------------------- */

Test(contract, install_puts_the_docs_and_a_complete_pc, .init = ct_setup, .fini = ct_teardown)
{
    char cmd[4096], *pc;

    /* A dry run: what `make install PREFIX=/usr` would do, without building. */
    snprintf(cmd, sizeof(cmd), "make -s -n -C '%s' install PREFIX=/usr DESTDIR=/nonexistent B=build", tu_src());
    cr_assert_eq(SH(cmd), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_out, "/usr/share/doc/signet"), "the docs the man pages name: %s", ct_out);
    cr_assert_not_null(strstr(ct_out, "docs/verify.md"), "%s", ct_out);
    if (SH("dpkg-architecture -qDEB_HOST_MULTIARCH") == 0 && ct_out[0] != '\0') {
        char dir[256];

        snprintf(dir, sizeof(dir), "/usr/lib/%.*s/libsign.so", (int)strcspn(ct_out, "\n"), ct_out);
        cr_assert_eq(SH(cmd), 0);
        cr_assert_not_null(strstr(ct_out, dir), "Debian multiarch: %s in %s", dir, ct_out);
    }
    pc = ct_src_file("libsign/libsign.pc.in");
    cr_assert_not_null(strstr(pc, "Requires.private: libssl "), "a static link needs libssl (SSL_CTX_new): %s", pc);
    free(pc);
}

/* ---- the README tour, as written -------------------------------------------- */

/* Append the ```sh blocks of the README section that starts with heading to script. */
static void ct_tour_blocks(FILE *script, const char *readme, const char *heading)
{
    const char *sec = strstr(readme, heading), *end, *p;

    cr_assert_not_null(sec, "README.md has %s", heading);
    end = strstr(sec + strlen(heading), "\n## ");
    for (p = sec; (p = strstr(p, "\n```sh\n")) != NULL && (end == NULL || p < end);) {
        const char *body = p + 7, *close = strstr(body, "\n```\n");

        cr_assert_not_null(close, "an unclosed block in %s", heading);
        fprintf(script, "%.*s\n", (int)(close + 1 - body), body);
        p = close + 4;
    }
}

Test(contract, readme_tour_runs_as_written, .init = ct_setup, .fini = ct_teardown, .timeout = 300)
{
    /* The "exit N" lines the blocks print, in order (the README says why each). */
    static const char want[] = "exit 0\nexit 1\nexit 1\nexit 3\nexit 2\n" /* tour steps 4-8 */
                               "exit 0\nexit 2\n"                         /* certificates, --fetch-crl */
                               "exit 0\nexit 4\n"                         /* timestamps */
                               "exit 0\nexit 1\n";                        /* container image, --tree */
    char *readme = ct_src_file("README.md"), cmd[4096], got[512] = "";
    const char *script = cp("tour.sh");
    FILE *f = fopen(script, "w");
    size_t used = 0;

    if (SH("command -v umoci && command -v openssl && command -v zip") != 0) {
        cr_skip_test("the tour needs umoci, openssl and zip (.ci/deps)");
    }
    cr_assert_not_null(f);
    /* A server left by a failing block is stopped whatever happens. */
    fputs("trap '[ -n \"${tsa_pid:-}\" ] && kill \"$tsa_pid\" 2>/dev/null' EXIT\n", f);
    ct_tour_blocks(f, readme, "## A five-minute tour");
    ct_tour_blocks(f, readme, "## Container images");
    cr_assert_eq(fclose(f), 0);
    free(readme);
    /* From the top of the source tree; mktemp -d makes the tour's directory inside the fixture. */
    snprintf(cmd, sizeof(cmd), "cd '%s' && TMPDIR='%s' bash '%s'", tu_src(), ct_dir, script);
    cr_assert_eq(SH(cmd), 0, "the tour stopped: %s\n%s", ct_out, ct_err);
    for (const char *p = ct_out; (p = strstr(p, "exit ")) != NULL; p++) {
        if ((p == ct_out || p[-1] == '\n') && p[5] >= '0' && p[5] <= '9' && p[6] == '\n') {
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%.7s", p);
        }
    }
    cr_assert_str_eq(got, want, "exit statuses of the tour:\n%s\nstdout:\n%s\nstderr:\n%s", got, ct_out, ct_err);
    cr_assert_not_null(strstr(ct_out, "verified: 1 artifact(s) under policy.json: app-1.0.zip (signers: release)"),
                       "%s", ct_out);
    cr_assert_not_null(strstr(ct_out, "\"code\":\"DIGEST_MISMATCH\""), "%s", ct_out);
    cr_assert_not_null(strstr(ct_err, "FAIL KEY_UNTRUSTED: bundle"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "CRL_FETCH_FAILED") != NULL ? "" : strstr(ct_err, "could not be fetched"), "%s",
                       ct_err);
    cr_assert_null(strstr(ct_err, "revoked"), "a fetch failure is not a revocation: %s", ct_err);
}

/* ---- one JSON vocabulary ------------------------------------------------------ */

/* Every member name in j is snake_case (lower case, digits, '_'). */
static void ct_assert_snake_case(json_t *j, const char *where)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            for (const char *p = key; *p != '\0'; p++) {
                cr_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_',
                          "%s: member \"%s\" is not snake_case", where, key);
            }
            ct_assert_snake_case(v, where);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            ct_assert_snake_case(v, where);
        }
    }
}

Test(contract, one_json_vocabulary, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip = ct_signed_zip();
    json_t *j, *a0, *s0, *checks, *c;
    size_t i;
    int named = 0;

    cr_assert_eq(RUN("verify", "--json", "-p", cp("policy.json"), zip), 0, "%s", ct_err);
    j = ct_json();
    ct_assert_snake_case(j, "verify --json");
    cr_assert_eq(json_integer_value(json_object_get(j, "format_version")), SIGN_VERDICT_FORMAT_VERSION);
    cr_assert_str_eq(ct_str(j, "signet_version"), SIGN_VERSION_STRING);
    cr_assert_str_eq(ct_str(j, "verdict"), "verified");
    cr_assert_eq(strlen(ct_str(j, "policy_sha256")), 64);
    cr_assert_eq(strlen(ct_str(j, "judged_at")), 20, "RFC 3339 UTC: %s", ct_str(j, "judged_at"));
    a0 = json_array_get(json_object_get(j, "artifacts"), 0);
    s0 = json_array_get(json_object_get(a0, "signers"), 0);
    cr_assert(json_is_object(s0), "a signer is an object");
    cr_assert_str_eq(ct_str(s0, "name"), "release");
    cr_assert_eq(strlen(ct_str(s0, "key_id")), 44, "the key id is recorded");
    checks = json_object_get(j, "checks");
    json_array_foreach(checks, i, c)
    {
        json_t *sg = json_object_get(c, "signer");

        cr_assert(json_is_null(sg) || json_is_object(sg), "check signer is an object or null");
        named += json_is_object(sg);
    }
    cr_assert_gt(named, 0);
    /* Structured facts besides the message: the signer's key id, the artifact's digest. */
    {
        int key_fact = 0, digest_fact = 0;

        json_array_foreach(checks, i, c)
        {
            json_t *f = json_object_get(c, "facts");

            cr_assert(json_is_object(f), "every check has facts (maybe none)");
            key_fact |= json_string_length(json_object_get(f, "key_id")) == 44;
            digest_fact |= json_string_length(json_object_get(f, "actual_sha256")) == 64;
        }
        cr_assert(key_fact && digest_fact, "%s", ct_out);
    }
    json_decref(j);
    ct_append(zip, "changed");
    cr_assert_eq(RUN("verify", "--json", "-p", cp("policy.json"), zip), 1);
    j = ct_json();
    json_array_foreach(json_object_get(j, "checks"), i, c)
    {
        if (strcmp(ct_str(c, "reason"), "DIGEST_MISMATCH") == 0) {
            json_t *f = json_object_get(c, "facts");

            cr_assert_eq(json_string_length(json_object_get(f, "expected_sha256")), 64);
            cr_assert_eq(json_string_length(json_object_get(f, "actual_sha256")), 64);
            cr_assert_str_neq(ct_str(f, "expected_sha256"), ct_str(f, "actual_sha256"));
            named = -1;
        }
    }
    cr_assert_eq(named, -1, "a DIGEST_MISMATCH check: %s", ct_out);
    json_decref(j);
    /* inspect speaks the same style: no camelCase copied from the bundle. */
    cr_assert_eq(RUN("inspect", "--json", cp("app.zip.sigstore.json")), 0, "%s", ct_err);
    j = ct_json();
    ct_assert_snake_case(j, "inspect --json");
    cr_assert_not_null(json_object_get(j, "signature_key_id"));
    json_decref(j);
    /* And a file given to inspect that is not a bundle is said to be one. */
    cr_assert_eq(RUN("inspect", zip), 2);
    cr_assert_not_null(strstr(ct_err, "bundle "), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "not a Sigstore bundle"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "app.zip.sigstore.json"), "names the bundle to give: %s", ct_err);
}

/* ---- content sniffing ------------------------------------------------------------- */

Test(contract, kind_and_name_disagreements_are_said, .init = ct_setup, .fini = ct_teardown)
{
    const char *zip;
    char cmd[4096];

    ct_keygen("release");
    tu_write_str(cp("empty.zip"), "");
    tu_write_str(cp("text.zip"), "not a zip at all\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("empty.zip")), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "empty.zip is named like a zip but is empty"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("text.zip")), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "text.zip is named like a zip but is not one"), "%s", ct_err);
    /* A zip with no entries (22 bytes: the end record alone). */
    tu_write(cp("none.zip"), "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("none.zip")), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "none.zip is a zip with no entries"), "%s", ct_err);
    /* A shell script with a zip appended: a zip by content, a file to the user who says so. */
    zip = ct_zip("payload.zip", "x\\n");
    snprintf(cmd, sizeof(cmd), "cd '%s' && { printf '#!/bin/sh\\necho hi\\nexit 0\\n'; cat '%s'; } > run.sh", ct_dir,
             zip);
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("run.sh")), 2, "as a zip, the prepended script is refused");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--allow", "zip-data-before-entries", cp("run.sh")), 0, "%s",
                 ct_err);
    cr_assert_not_null(strstr(ct_err, "run.sh holds a zip archive"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--force", "--kind", "file", cp("run.sh")), 0, "%s", ct_err);
    cr_assert_null(strstr(ct_err, "warning"), "the user said so: %s", ct_err);
    cr_assert_eq(RUN("inspect", "--json", cp("run.sh.sigstore.json")), 0);
    cr_assert_not_null(strstr(ct_out, "\"kind\":\"file\""), "%s", ct_out);
    tu_write_str(cp("policy.json"), POLICY_RELEASE);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("run.sh")), 0, "the same digest: %s", ct_err);
    /* --kind zip refuses what is not one, and writes nothing. */
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "zip", "-o", cp("t.json"), cp("text.zip")), 2);
    cr_assert_not_null(strstr(ct_err, "cannot be read as a zip"), "%s", ct_err);
    cr_assert(!tu_exists(cp("t.json")));
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "rar", cp("text.zip")), 2);
}

/* --kind forces the kind: a tar layer whose tail reads as a zip, without an extension, is a layer when said so. */
Test(contract, kind_forces_the_kind_or_refuses_clearly, .init = ct_setup, .fini = ct_teardown)
{
    char cmd[4096];
    sign_artifact *a = NULL;
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    json_t *j;

    ct_keygen("release");
    tu_write_str(cp("policy.json"), POLICY_RELEASE);
    /* "layer": a tar whose last member is a zip, so its tail holds a zip's end record */
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; mkdir -p src; echo hello > src/a.txt; (cd src && zip -qX inner.zip a.txt); "
             "tar cf layer -C src a.txt inner.zip",
             ct_dir);
    cr_assert_eq(SH(cmd), 0, "%s", ct_err);
    /* by content it is taken for a zip with data around it, and refused */
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("auto.json"), cp("layer")), 2, "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "zip-data-before-entries"), "%s", ct_err);
    cr_assert(!tu_exists(cp("auto.json")));
    /* --kind tar: one layer, its entries recorded */
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "tar", cp("layer")), 0, "%s", ct_err);
    cr_assert_eq(RUN("inspect", "--json", cp("layer.sigstore.json")), 0, "%s", ct_err);
    cr_assert_not_null(strstr(ct_out, "\"kind\":\"layer\""), "%s", ct_out);
    cr_assert_not_null(strstr(ct_out, "\"entries\":2"), "the layer's two entries are recorded: %s", ct_out);
    /* verify takes the recorded kind when the bytes read as it */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("layer")), 0, "%s", ct_err);
    /* the same bytes changed: not verified */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && cp layer layer.orig && printf 'J' | dd of=layer bs=1 seek=512 conv=notrunc 2>/dev/null",
             ct_dir);
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("layer")), 1, "%s", ct_err);
    snprintf(cmd, sizeof(cmd), "cd '%s' && cp layer.orig layer", ct_dir);
    cr_assert_eq(SH(cmd), 0);

    /* bytes that cannot be read as the kind named: a clear error naming it, exit 2, nothing written */
    tu_write_str(cp("notes"), "plain text, not an archive\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "tar", "-o", cp("x.json"), cp("notes")), 2);
    cr_assert_not_null(strstr(ct_err, "cannot be read as a tar archive"), "%s", ct_err);
    cr_assert_not_null(strstr(ct_err, "(--kind tar)"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "zip", "-o", cp("x.json"), cp("notes")), 2);
    cr_assert_not_null(strstr(ct_err, "cannot be read as a zip"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "docker", "-o", cp("x.json"), cp("layer")), 2);
    cr_assert_not_null(strstr(ct_err, "no manifest.json or oci-layout at the top"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "oci", "-o", cp("x.json"), cp("layer")), 2);
    cr_assert_not_null(strstr(ct_err, "not an OCI image layout directory"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "tar", "-o", cp("x.json"), cp("src")), 2);
    cr_assert_not_null(strstr(ct_err, "a directory, not a tar"), "%s", ct_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--kind", "oci", "-o", cp("x.json"), cp("src")), 2);
    cr_assert_not_null(strstr(ct_err, "no oci-layout file"), "%s", ct_err);
    cr_assert(!tu_exists(cp("x.json")), "nothing was written");
    cr_assert_eq(RUN("sign", "--json", "-k", cp("release.key"), "--kind", "tar", "-o", cp("x.json"), cp("notes")), 2);
    j = ct_json();
    cr_assert_str_eq(ct_str(j, "code"), "ARTIFACT_KIND_REFUSED", "%s", ct_out);
    json_decref(j);

    /* a zip with a stub prepended, said to be a zip: a zip (its stub is still a finding to allow) */
    snprintf(cmd, sizeof(cmd), "cd '%s' && { printf '#!/bin/sh\\nexit 0\\n'; cat src/inner.zip; } > installer",
             ct_dir);
    cr_assert_eq(SH(cmd), 0);
    cr_assert_eq(
        RUN("sign", "-k", cp("release.key"), "--kind", "zip", "--allow", "zip-data-before-entries", cp("installer")),
        0, "%s", ct_err);
    cr_assert_eq(RUN("inspect", "--json", cp("installer.sigstore.json")), 0);
    cr_assert_not_null(strstr(ct_out, "\"kind\":\"zip\""), "%s", ct_out);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("installer")), 0, "%s", ct_err);

    /* the library: one forced kind at most */
    o.flags = SIGN_ARTIFACT_AS_ZIP | SIGN_ARTIFACT_AS_TAR;
    cr_assert_eq(sign_artifact_scan(&a, cp("layer"), NULL, &o), SIGN_EINVAL);
    o.flags = SIGN_ARTIFACT_AS_TAR;
    cr_assert_eq(sign_artifact_scan(&a, cp("layer"), NULL, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_LAYER);
    sign_artifact_free(a);
}
