/*
 * Options structs: one version check for all (1 to the current version
 * accepted, 0 and newer refused with a message naming the struct), _INIT as
 * { VERSION } with every other field zero meaning its default, and the
 * _init functions equal to the macros. Callers built against the previous
 * layouts: tests/abi/.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

static char *opt_dir;

static void opt_setup(void)
{
    opt_dir = tu_mkdtemp();
}

static void opt_teardown(void)
{
    tu_rmtree(opt_dir);
    free(opt_dir);
}

TestSuite(options, .init = opt_setup, .fini = opt_teardown);

static char *opt_file(const char *name, const char *text)
{
    char *p = tu_path(opt_dir, name);

    tu_write_str(p, text);
    return p;
}

/* Each _init function gives what its _INIT macro gives: the version, every other byte zero. */
Test(options, init_functions_equal_the_macros)
{
#define SAME(type, fn, init)                                                                                         \
    do {                                                                                                             \
        type m = init, f, z;                                                                                         \
        memset(&f, 0xa5, sizeof(f));                                                                                 \
        fn(&f);                                                                                                      \
        memset(&z, 0, sizeof(z));                                                                                    \
        z.version = m.version;                                                                                       \
        cr_assert_neq(m.version, 0u, #init " sets the version");                                                     \
        cr_assert_eq(memcmp(&z, &f, sizeof(z)), 0, #fn " differs from " #init);                                      \
    } while (0)
    SAME(sign_artifact_options, sign_artifact_options_init, SIGN_ARTIFACT_OPTIONS_INIT);
    SAME(sign_manifest_options, sign_manifest_options_init, SIGN_MANIFEST_OPTIONS_INIT);
    SAME(sign_sign_options, sign_sign_options_init, SIGN_SIGN_OPTIONS_INIT);
    SAME(sign_tsa_options, sign_tsa_options_init, SIGN_TSA_OPTIONS_INIT);
    SAME(sign_verify_options, sign_verify_options_init, SIGN_VERIFY_OPTIONS_INIT);
    SAME(sign_x509_trust, sign_x509_trust_init, SIGN_X509_TRUST_INIT);
    SAME(sign_x509_verify_options, sign_x509_verify_options_init, SIGN_X509_VERIFY_OPTIONS_INIT);
    SAME(sign_deploy_options, sign_deploy_options_init, SIGN_DEPLOY_OPTIONS_INIT);
#undef SAME
}

Test(options, the_version_check_accepts_1_to_current_only)
{
    cr_assert_eq(sign__check_version(1, 4, "sign_x_options"), 0);
    cr_assert_eq(sign__check_version(4, 4, "sign_x_options"), 0);
    cr_assert_eq(sign__check_version(0, 4, "sign_x_options"), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "sign_x_options: version 0: the struct was not initialised"), "%s",
                       sign_error_last());
    cr_assert_eq(sign__check_version(5, 4, "sign_x_options"), SIGN_EINVAL);
    cr_assert_not_null(
        strstr(sign_error_last(), "sign_x_options: version 5 is newer than this libsign knows (1 to 4)"), "%s",
        sign_error_last());
}

/* Every public entry point that takes an options struct refuses version 0 and a newer version. */
Test(options, every_struct_refuses_version_0_and_newer)
{
    char *art = opt_file("a.bin", "x\n");
    const char *arts[] = {art};
    sign_artifact *a = NULL;
    sign_statement *st = NULL;
    sign_key *k = NULL;
    sign_bundle *b = NULL;
    sign_policy *p = NULL;
    sign_verify_result *res = NULL;
    unsigned char *tsr = NULL;
    size_t tsrlen = 0;
    char *kpath = tu_path(opt_dir, "k.pub"), *pol;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_public(k, kpath), 0, "%s", sign_error_last());
    pol = opt_file("policy.json", "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"}]}");
    cr_assert_eq(sign_policy_load(&p, pol, NULL), 0, "%s", sign_error_last());
    for (int bad = 0; bad < 2; bad++) {
        sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
        sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
        sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
        sign_tsa_options to = SIGN_TSA_OPTIONS_INIT;
        sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
        sign_limits lim = SIGN_LIMITS_INIT;

        ao.version = bad ? SIGN_ARTIFACT_OPTIONS_VERSION + 1 : 0;
        cr_assert_eq(sign_artifact_scan(&a, art, NULL, &ao), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_artifact_options: version"), "%s", sign_error_last());
        mo.version = bad ? SIGN_MANIFEST_OPTIONS_VERSION + 1 : 0;
        cr_assert_eq(sign_statement_build(&st, NULL, 0, &mo), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_manifest_options: version"), "%s", sign_error_last());
        so.version = bad ? SIGN_SIGN_OPTIONS_VERSION + 1 : 0;
        so.key = k;
        so.artifacts = arts;
        so.nartifacts = 1;
        cr_assert_eq(sign_sign(&b, NULL, &so), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_sign_options: version"), "%s", sign_error_last());
        to.version = bad ? SIGN_TSA_OPTIONS_VERSION + 1 : 0;
        cr_assert_eq(sign_timestamp_request(&tsr, &tsrlen, "http://127.0.0.1:9/", (const unsigned char *)"x", 1, &to),
                     SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_tsa_options: version"), "%s", sign_error_last());
        vo.version = bad ? SIGN_VERIFY_OPTIONS_VERSION + 1 : 0;
        vo.artifacts = arts;
        vo.nartifacts = 1;
        cr_assert_eq(sign_verify(&res, p, &vo), SIGN_EINVAL);
        cr_assert_null(res);
        cr_assert_not_null(strstr(sign_error_last(), "sign_verify_options: version"), "%s", sign_error_last());
        {
            sign_deploy_options dopt = SIGN_DEPLOY_OPTIONS_INIT;
            sign_deploy_result *dres = NULL;

            dopt.version = bad ? SIGN_DEPLOY_OPTIONS_VERSION + 1 : 0;
            dopt.artifact = arts[0];
            dopt.to = opt_dir;
            cr_assert_eq(sign_deploy(&dres, p, &dopt), SIGN_EINVAL);
            cr_assert_null(dres);
            cr_assert_not_null(strstr(sign_error_last(), "sign_deploy_options: version"), "%s", sign_error_last());
        }
        lim.version = bad ? SIGN_LIMITS_VERSION + 1 : 0;
        ao = (sign_artifact_options)SIGN_ARTIFACT_OPTIONS_INIT;
        ao.limits = &lim;
        cr_assert_eq(sign_artifact_scan(&a, art, NULL, &ao), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_limits: version"), "%s", sign_error_last());
        cr_assert_eq(sign_bundle_parse(&b, "{}", 2, &lim), SIGN_EINVAL);
    }
    sign_policy_free(p);
    sign_key_free(k);
    free(kpath);
    free(pol);
    free(art);
}

static int same_limits(const sign_limits *a, const sign_limits *b)
{
    return a->version == b->version && a->json_max_bytes == b->json_max_bytes &&
           a->json_max_depth == b->json_max_depth && a->archive_max_entries == b->archive_max_entries &&
           a->archive_max_total == b->archive_max_total && a->archive_max_ratio == b->archive_max_ratio &&
           a->entry_max_ratio == b->entry_max_ratio && a->name_max == b->name_max;
}

/* A zero field of sign_limits means its default; sign_limits_default spells the defaults out. */
Test(options, a_zero_limit_means_the_default)
{
    sign_limits init = SIGN_LIMITS_INIT, d, eff;

    sign_limits_default(&d);
    cr_assert_eq(d.version, SIGN_LIMITS_VERSION);
    cr_assert_eq(d.json_max_bytes, 64u * 1024 * 1024);
    cr_assert_eq(d.json_max_depth, 64u);
    cr_assert_eq(d.archive_max_entries, 100000u);
    cr_assert_eq(d.name_max, 1024u);
    cr_assert_eq(sign__limits(&eff, &init), 0);
    cr_assert(same_limits(&eff, &d), "SIGN_LIMITS_INIT is the defaults");
    cr_assert_eq(sign__limits(&eff, NULL), 0);
    cr_assert(same_limits(&eff, &d), "NULL is the defaults");
    init.name_max = 16;
    cr_assert_eq(sign__limits(&eff, &init), 0);
    cr_assert_eq(eff.name_max, 16u, "a field that is set is kept");
    cr_assert_eq(eff.json_max_depth, 64u, "the others take their defaults");
    /* Version 1 (which spelled every field out) is still taken. */
    d.version = 1;
    d.json_max_depth = 3;
    cr_assert_eq(sign__limits(&eff, &d), 0);
    cr_assert_eq(eff.json_max_depth, 3u);
}
