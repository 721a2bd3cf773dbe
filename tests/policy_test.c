/* Tests of the trust policy: strict parse, every refusal, glob matching. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sign/sign.h"
#include "formats.h"
#include "testutil.h"

/* A directory with keys/a.pub, keys/b.pub, pki/root.pem, pki/int.pem, pki/int.crl, revoked.json. */
static char *pt_dir;

static void pt_write_key(const char *name)
{
    sign_key *k = NULL;
    char *p = tu_path(pt_dir, name);

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_write_public(k, p), 0, "%s", sign_error_last());
    sign_key_free(k);
    free(p);
}

/* A self-signed certificate (and, when crlpath is set, an empty CRL it issued). */
static void pt_write_cert(const char *certname, const char *crlname)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x = X509_new();
    X509_NAME *n;
    char *p = tu_path(pt_dir, certname);
    FILE *f;

    cr_assert_not_null(pk);
    cr_assert_not_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test Root", -1, -1, 0);
    X509_set_issuer_name(x, n);
    cr_assert(X509_sign(x, pk, NULL) > 0);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert(PEM_write_X509(f, x));
    fclose(f);
    free(p);
    if (crlname != NULL) {
        X509_CRL *crl = X509_CRL_new();
        ASN1_TIME *t = ASN1_TIME_new();

        p = tu_path(pt_dir, crlname);
        X509_CRL_set_version(crl, 1);
        X509_CRL_set_issuer_name(crl, n);
        X509_gmtime_adj(t, 0);
        X509_CRL_set1_lastUpdate(crl, t);
        cr_assert(X509_CRL_sign(crl, pk, NULL) > 0);
        f = fopen(p, "w");
        cr_assert_not_null(f);
        cr_assert(PEM_write_X509_CRL(f, crl));
        fclose(f);
        free(p);
        ASN1_TIME_free(t);
        X509_CRL_free(crl);
    }
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void pt_setup(void)
{
    char *d;

    pt_dir = tu_mkdtemp();
    d = tu_path(pt_dir, "keys");
    cr_assert_eq(mkdir(d, 0700), 0);
    free(d);
    d = tu_path(pt_dir, "pki");
    cr_assert_eq(mkdir(d, 0700), 0);
    free(d);
    pt_write_key("keys/a.pub");
    pt_write_key("keys/b.pub");
    pt_write_cert("pki/root.pem", "pki/int.crl");
    pt_write_cert("pki/int.pem", NULL);
    d = tu_path(pt_dir, "revoked.json");
    tu_write_str(d, "{}");
    free(d);
    d = tu_path(pt_dir, "garbage.pem");
    tu_write_str(d, "not a certificate\n");
    free(d);
}

static void pt_teardown(void)
{
    tu_rmtree(pt_dir);
    free(pt_dir);
    pt_dir = NULL;
}

/* Parse text with relative paths against pt_dir; returns the code, frees the policy. */
static int pt_parse(const char *text)
{
    sign_policy *p = NULL;
    int r = sign_policy_parse(&p, text, strlen(text), pt_dir, NULL);

    if (r == 0) {
        cr_assert_not_null(p);
    } else {
        cr_assert_null(p);
    }
    sign_policy_free(p);
    return r;
}

/* Assert that text is refused with code and a message containing want. */
static void pt_refused(const char *text, int code, const char *want)
{
    int r = pt_parse(text);

    cr_assert_eq(r, code, "expected %d (%s), got %d: %s\npolicy: %s", code, sign_strerror(code), r, sign_error_last(),
                 text);
    cr_assert_not_null(strstr(sign_error_last(), want), "message \"%s\" does not mention \"%s\"", sign_error_last(),
                       want);
}

#define PT_KEY_A "{\"name\":\"a\",\"public_key\":\"keys/a.pub\"}"

static const char pt_full[] =
    "{\"version\":1,\"mode\":\"warn\","
    "\"keys\":[{\"name\":\"release\",\"public_key\":\"keys/a.pub\",\"artifacts\":[\"app-*.zip\",\"lib/*.so\"],"
    "\"not_before\":\"2026-01-01T00:00:00Z\",\"not_after\":\"2027-01-01T00:00:00.5Z\"},"
    "{\"name\":\"ci\",\"public_key\":\"keys/b.pub\"}],"
    "\"roots\":[{\"name\":\"corp\",\"certificates\":\"pki/root.pem\",\"intermediates\":\"pki/int.pem\","
    "\"crls\":[\"pki/int.crl\"],\"subjects\":[\"CN=Release Signing*\"],\"eku\":\"codeSigning\","
    "\"artifacts\":[\"*\"]}],"
    "\"timestamp_authorities\":[{\"name\":\"tsa\",\"certificates\":\"pki/root.pem\"}],"
    "\"revocation\":[],"
    "\"require\":{\"threshold\":2,\"timestamp\":false,\"max_signature_age\":\"365d\",\"entries\":true}}";

TestSuite(policy, .init = pt_setup, .fini = pt_teardown);

Test(policy, parses_the_whole_contract)
{
    sign_policy *p = NULL;
    sign_key *a = NULL;
    char *apath = tu_path(pt_dir, "keys/a.pub");
    char id[SIGN_KEYID_SIZE];

    cr_assert_eq(sign_policy_parse(&p, pt_full, strlen(pt_full), pt_dir, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_policy_get_mode(p), SIGN_MODE_WARN);
    cr_assert_str_eq(sign_policy_mode_name(sign_policy_get_mode(p)), "warn");
    cr_assert_eq(sign_policy_key_count(p), 2);
    cr_assert_str_eq(p->keys[0].name, "release");
    cr_assert_eq(p->keys[0].nartifacts, 2);
    cr_assert_str_eq(p->keys[0].artifacts[1], "lib/*.so");
    cr_assert(p->keys[0].has_not_before && p->keys[0].has_not_after);
    cr_assert_eq(p->keys[0].not_before, 1767225600);
    cr_assert_eq(p->keys[0].not_after, 1798761600);
    cr_assert_eq(p->keys[1].nartifacts, 1, "artifacts default to [\"*\"]");
    cr_assert_str_eq(p->keys[1].artifacts[0], "*");
    cr_assert_eq(p->keys[1].has_not_after, 0);
    cr_assert_eq(sign_key_load_public(&a, apath), 0);
    cr_assert_eq(sign_key_id(id, sizeof(id), a), 0);
    cr_assert_str_eq(p->keys[0].keyid, id);
    cr_assert_eq(p->nroots, 1);
    cr_assert_str_eq(p->roots[0].name, "corp");
    cr_assert_eq(p->roots[0].ncrls, 1);
    cr_assert_eq(p->ntsas, 1);
    cr_assert_eq(p->threshold, 2);
    cr_assert_eq(p->require_entries, 1);
    cr_assert_eq(p->has_max_signature_age, 1);
    cr_assert_eq(p->max_signature_age, 365 * 86400);
    sign_policy_free(p);
    sign_key_free(a);
    free(apath);
}

Test(policy, defaults_and_load_resolves_paths_beside_the_file)
{
    sign_policy *p = NULL;
    char *path = tu_path(pt_dir, "policy.json");

    tu_write_str(path, "{\"version\":1,\"keys\":[" PT_KEY_A "]}");
    cr_assert_eq(sign_policy_load(&p, path, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_policy_get_mode(p), SIGN_MODE_ENFORCE);
    cr_assert_eq(p->threshold, 1);
    cr_assert_eq(p->require_entries, 0);
    cr_assert_eq(p->require_timestamp, 0);
    cr_assert_eq(p->has_max_signature_age, 0);
    cr_assert_eq(p->nroots, 0);
    sign_policy_free(p);
    /* From memory, relative paths resolve against the base directory given. */
    {
        static const char text[] = "{\"version\":1,\"keys\":[" PT_KEY_A "]}";

        cr_assert_eq(sign_policy_parse(&p, text, strlen(text), "/nonexistent", NULL), SIGN_ENOTFOUND);
    }
    cr_assert_null(p);
    free(path);
}

Test(policy, load_refuses_missing_or_malformed_file)
{
    sign_policy *p = NULL;
    char *path = tu_path(pt_dir, "policy.json");

    cr_assert_eq(sign_policy_load(&p, path, NULL), SIGN_ENOTFOUND);
    tu_write_str(path, "{\"version\":1,\"keys\":[" PT_KEY_A "]} trailing");
    cr_assert_eq(sign_policy_load(&p, path, NULL), SIGN_EPARSE);
    tu_write_str(path, "{\"version\":1,\"version\":1,\"keys\":[" PT_KEY_A "]}");
    cr_assert_eq(sign_policy_load(&p, path, NULL), SIGN_EPARSE, "duplicate keys");
    tu_write_str(path, "[1]");
    cr_assert_eq(sign_policy_load(&p, path, NULL), SIGN_EPARSE);
    cr_assert_null(p);
    free(path);
}

Test(policy, unknown_fields_refused_at_every_level)
{
    pt_refused("{\"version\":1,\"bogus\":1,\"keys\":[" PT_KEY_A "]}", SIGN_EPARSE, "bogus");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"notafter\":\"x\"}]}",
               SIGN_EPARSE, "keys[0].notafter");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\","
               "\"chain\":\"x\"}]}",
               SIGN_EPARSE, "roots[0].chain");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\","
               "\"certificates\":\"pki/root.pem\",\"url\":\"http://x\"}]}",
               SIGN_EPARSE, "timestamp_authorities[0].url");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[{\"list\":\"revoked.json\","
               "\"authorities\":[\"keys/b.pub\"],\"maxage\":\"7d\"}]}",
               SIGN_EPARSE, "revocation[0].maxage");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"treshold\":1}}", SIGN_EPARSE,
               "require.treshold");
}

Test(policy, version_and_mode)
{
    pt_refused("{\"keys\":[" PT_KEY_A "]}", SIGN_EPARSE, "version");
    pt_refused("{\"version\":2,\"keys\":[" PT_KEY_A "]}", SIGN_EUNSUPPORTED, "version 2");
    pt_refused("{\"version\":\"1\",\"keys\":[" PT_KEY_A "]}", SIGN_EPARSE, "version");
    pt_refused("{\"version\":1,\"mode\":\"permissive\",\"keys\":[" PT_KEY_A "]}", SIGN_EPARSE, "permissive");
    pt_refused("{\"version\":1,\"mode\":1,\"keys\":[" PT_KEY_A "]}", SIGN_EPARSE, "mode");
    cr_assert_eq(pt_parse("{\"version\":1,\"mode\":\"audit\",\"keys\":[" PT_KEY_A "]}"), 0);
    cr_assert_eq(pt_parse("{\"version\":1,\"mode\":\"enforce\",\"keys\":[" PT_KEY_A "]}"), 0);
}

Test(policy, missing_files_name_field_and_path)
{
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/none.pub\"}]}", SIGN_ENOTFOUND,
               "keys[0].public_key");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/none.pub\"}]}", SIGN_ENOTFOUND,
               "keys/none.pub");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\"}]}", SIGN_EPARSE, "keys[0].public_key");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/none.pem\"}]}", SIGN_ENOTFOUND,
               "roots[0].certificates");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\","
               "\"crls\":[\"pki/int.crl\",\"pki/none.crl\"]}]}",
               SIGN_ENOTFOUND, "roots[0].crls[1]");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\","
               "\"certificates\":\"none.pem\"}]}",
               SIGN_ENOTFOUND, "timestamp_authorities[0].certificates");
    /* A missing revocation list is not a load error: verify reports REVOCATION_LIST_MISSING (exit 5, issue 15). */
    cr_assert_eq(pt_parse("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[{\"list\":\"none.json\","
                          "\"authorities\":[\"keys/b.pub\"]}]}"),
                 0, "%s", sign_error_last());
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[{\"list\":\"revoked.json\","
               "\"authorities\":[\"keys/none.pub\"]}]}",
               SIGN_ENOTFOUND, "revocation[0].authorities[0]");
}

Test(policy, files_that_do_not_parse)
{
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"garbage.pem\"}]}", SIGN_EPARSE,
               "keys[0].public_key");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"garbage.pem\"}]}", SIGN_EPARSE,
               "roots[0].certificates");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\","
               "\"crls\":[\"pki/root.pem\"]}]}",
               SIGN_EPARSE, "roots[0].crls[0]");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\","
               "\"intermediates\":\"pki/int.crl\"}]}",
               SIGN_EPARSE, "roots[0].intermediates");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\",\"eku\":\"any\"}]}",
               SIGN_EPARSE, "roots[0].eku");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys\"}]}", SIGN_EIO, "not a regular file");
}

Test(policy, roots_alone_are_accepted)
{
    cr_assert_eq(pt_parse("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\"}]}"), 0, "%s",
                 sign_error_last());
}

Test(policy, bad_times_and_durations)
{
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\","
               "\"not_after\":\"2027-01-01\"}]}",
               SIGN_EPARSE, "keys[0].not_after");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\","
               "\"not_before\":\"2027-01-01T00:00:00+01:00\"}]}",
               SIGN_EPARSE, "keys[0].not_before");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\","
               "\"not_before\":20270101}]}",
               SIGN_EPARSE, "keys[0].not_before");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\","
               "\"not_before\":\"2027-01-01T00:00:00Z\",\"not_after\":\"2026-01-01T00:00:00Z\"}]}",
               SIGN_EINVAL, "not_before");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"max_signature_age\":\"1y\"}}", SIGN_EPARSE,
               "require.max_signature_age");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"max_signature_age\":\"0d\"}}", SIGN_EPARSE,
               "require.max_signature_age");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"max_signature_age\":365}}", SIGN_EPARSE,
               "require.max_signature_age");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[{\"list\":\"revoked.json\","
               "\"authorities\":[\"keys/b.pub\"],\"max_age\":\"7 days\"}]}",
               SIGN_EPARSE, "revocation[0].max_age");
}

Test(policy, bad_types)
{
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"artifacts\":\"*.zip\"}]}",
               SIGN_EPARSE, "keys[0].artifacts");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"artifacts\":[1]}]}",
               SIGN_EPARSE, "keys[0].artifacts[0]");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"artifacts\":[]}]}",
               SIGN_EPARSE, "keys[0].artifacts");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"artifacts\":[\"\"]}]}",
               SIGN_EPARSE, "keys[0].artifacts[0]");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"\",\"public_key\":\"keys/a.pub\"}]}", SIGN_EPARSE,
               "keys[0].name");
    pt_refused("{\"version\":1,\"keys\":[{\"public_key\":\"keys/a.pub\"}]}", SIGN_EPARSE, "keys[0].name");
    pt_refused("{\"version\":1,\"keys\":{\"a\":1}}", SIGN_EPARSE, "keys");
    pt_refused("{\"version\":1,\"keys\":[\"keys/a.pub\"]}", SIGN_EPARSE, "keys[0]");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":[]}", SIGN_EPARSE, "require");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"entries\":\"yes\"}}", SIGN_EPARSE,
               "require.entries");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\","
               "\"subjects\":\"CN=x\"}]}",
               SIGN_EPARSE, "roots[0].subjects");
}

Test(policy, threshold)
{
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"threshold\":0}}", SIGN_EINVAL,
               "require.threshold");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"threshold\":-1}}", SIGN_EINVAL,
               "require.threshold");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"threshold\":\"2\"}}", SIGN_EPARSE,
               "require.threshold");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"threshold\":1.5}}", SIGN_EPARSE,
               "require.threshold");
    cr_assert_eq(pt_parse("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"threshold\":3}}"), 0);
}

Test(policy, trusts_nothing)
{
    pt_refused("{\"version\":1}", SIGN_EINVAL, "trusts nothing");
    pt_refused("{\"version\":1,\"keys\":[],\"roots\":[]}", SIGN_EINVAL, "trusts nothing");
    pt_refused("{\"version\":1,\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":\"pki/root.pem\"}]}",
               SIGN_EINVAL, "trusts nothing");
}

Test(policy, duplicates)
{
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A ",{\"name\":\"a\",\"public_key\":\"keys/b.pub\"}]}", SIGN_EINVAL,
               "duplicate key name");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A ",{\"name\":\"b\",\"public_key\":\"keys/a.pub\"}]}", SIGN_EINVAL,
               "keys[1].public_key");
    pt_refused("{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\"},"
               "{\"name\":\"r\",\"certificates\":\"pki/int.pem\"}]}",
               SIGN_EINVAL, "duplicate root name");
}

Test(policy, unsupported_features_refused_clearly)
{
    /* Revocation lists are supported since issue 15 (tests/revocation_test.c). */
    cr_assert_eq(pt_parse("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[{\"list\":\"revoked.json\","
                          "\"authorities\":[\"keys/b.pub\"],\"max_age\":\"7d\"}]}"),
                 0, "%s", sign_error_last());
    cr_assert_eq(pt_parse("{\"version\":1,\"keys\":[" PT_KEY_A "],\"require\":{\"timestamp\":true}}"), 0,
                 "require.timestamp is supported: %s", sign_error_last());
    cr_assert_eq(pt_parse("{\"version\":1,\"keys\":[" PT_KEY_A "],\"revocation\":[],"
                          "\"require\":{\"timestamp\":false}}"),
                 0, "an empty revocation list and timestamp:false are fine");
}

Test(policy, glob_matching)
{
    static const struct {
        const char *pattern, *name;
        int match;
    } t[] = {
        {"*", "app.zip", 1},
        {"*", "dist/app.zip", 1}, /* no '/': last component */
        {"app-*.zip", "app-1.2.zip", 1},
        {"app-*.zip", "out/app-1.2.zip", 1},
        {"app-*.zip", "app.zip", 0},
        {"app-*.zip", "app-1.2.zip.sig", 0},
        {"app-?.zip", "app-1.zip", 1},
        {"app-?.zip", "app-12.zip", 0},
        {"app-[0-9].zip", "app-7.zip", 1},
        {"app-[0-9].zip", "app-x.zip", 0},
        {"app-[!0-9].zip", "app-x.zip", 1},
        {"dist/*.zip", "dist/app.zip", 1}, /* with '/': the whole name */
        {"dist/*.zip", "app.zip", 0},
        {"dist/*.zip", "dist/sub/app.zip", 0}, /* '*' does not cross '/' */
        {"dist/*.zip", "other/dist/app.zip", 0},
        {"*/*.zip", "dist/app.zip", 1},
        {"dist/?", "dist/a", 1},
        {"dist/?", "dist//", 0},
        {"*.zip", "app.tar", 0},
        {"app.zip", "app.zip", 1},
        {"app.zip", "xapp.zip", 0},
        {"", "app.zip", 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cr_assert_eq(sign_policy_glob_match(t[i].pattern, t[i].name), t[i].match, "glob \"%s\" vs \"%s\"",
                     t[i].pattern, t[i].name);
    }
    cr_assert_eq(sign_policy_glob_match(NULL, "x"), 0);
    cr_assert_eq(sign_policy_glob_match("*", NULL), 0);
}

/* A small-order Ed25519 key makes forged signatures verify: refused at load as WEAK_KEY naming the key. */
Test(policy, weak_keys_refused_at_load_naming_the_key)
{
    static const unsigned char identity[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b,
                                               0x65, 0x70, 0x03, 0x21, 0x00, 0x01};
    char *p = tu_path(pt_dir, "keys/small.der");
    FILE *f = fopen(p, "wb");

    cr_assert_not_null(f);
    cr_assert_eq(fwrite(identity, 1, sizeof(identity), f), sizeof(identity));
    fclose(f);
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A ",{\"name\":\"forger\",\"public_key\":\"keys/small.der\"}]}",
               SIGN_EUNSUPPORTED, "WEAK_KEY");
    cr_assert_not_null(strstr(sign_error_last(), "keys[1].public_key (key \"forger\")"), "%s", sign_error_last());
    free(p);
}

/* predicate_types (issue 14, item 7) and the timestamp authorities' new fields (items 5 and 10). */
Test(policy, predicate_types_and_timestamp_authority_limits)
{
    sign_policy *p = NULL;
    const char *ok = "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\","
                     "\"predicate_types\":[\"https://slsa.dev/provenance/v1\",\"*\"]}],"
                     "\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":\"pki/root.pem\","
                     "\"crls\":[\"pki/int.crl\"],\"policies\":[\"1.2.3.4.1\"],\"max_accuracy\":\"2m\"}]}";

    cr_assert_eq(sign_policy_parse(&p, ok, strlen(ok), pt_dir, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(p->keys[0].npredicate_types, 2);
    cr_assert_eq(sign__policy_predicate_allowed(p->keys[0].predicate_types, 2, "anything"), 1);
    sign_policy_free(p);
    p = NULL;
    /* The default: signet's manifest only. */
    cr_assert_eq(sign_policy_parse(&p, "{\"version\":1,\"keys\":[" PT_KEY_A "]}",
                                   strlen("{\"version\":1,\"keys\":[" PT_KEY_A "]}"), pt_dir, NULL),
                 0);
    cr_assert_eq(p->keys[0].npredicate_types, 1);
    cr_assert_str_eq(p->keys[0].predicate_types[0], SIGN_PREDICATE_TYPE);
    cr_assert_eq(sign__policy_predicate_allowed(p->keys[0].predicate_types, 1, "https://slsa.dev/provenance/v1"), 0);
    sign_policy_free(p);
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"predicate_types\":[]}]}",
               SIGN_EPARSE, "keys[0].predicate_types");
    pt_refused("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"keys/a.pub\",\"predicate_types\":[1]}]}",
               SIGN_EPARSE, "keys[0].predicate_types[0]");
    pt_refused(
        "{\"version\":1,\"roots\":[{\"name\":\"r\",\"certificates\":\"pki/root.pem\",\"predicate_types\":\"*\"}]}",
        SIGN_EPARSE, "roots[0].predicate_types");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":"
               "\"pki/root.pem\",\"policies\":[\"not an oid\"]}]}",
               SIGN_EPARSE, "timestamp_authorities[0].policies[0]");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":"
               "\"pki/root.pem\",\"max_accuracy\":\"0s\"}]}",
               SIGN_EPARSE, "timestamp_authorities[0].max_accuracy");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":"
               "\"pki/root.pem\",\"crls\":[\"missing.crl\"]}]}",
               SIGN_ENOTFOUND, "timestamp_authorities[0].crls[0]");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":"
               "\"pki/root.pem\",\"crls\":[\"pki/root.pem\"]}]}",
               SIGN_EPARSE, "timestamp_authorities[0].crls[0]");
    pt_refused("{\"version\":1,\"keys\":[" PT_KEY_A "],\"timestamp_authorities\":[{\"name\":\"t\",\"certificates\":"
               "\"pki/root.pem\",\"maxaccuracy\":\"1s\"}]}",
               SIGN_EPARSE, "unknown field timestamp_authorities[0].maxaccuracy");
}
