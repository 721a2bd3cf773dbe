/*
 * Signed revocation lists (issue 15): the list format and its strict parser, signet revoke, and signet verify
 * judging lists (trust, freshness, rollback, equivocation), revoked keys at the trusted signing time, revoked
 * artifacts, the state directory under concurrency, --at, and downgrade protection.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats.h"
#include "sign/sign.h"
#include "pkigen.h"
#include "testutil.h"
#include "tsautil.h"

static char *rt_dir;
static char *rt_out, *rt_err;
static tsa_server rt_tsa;
static pid_t rt_http_pid; /* the list server of the fetch test, stopped also when an assertion fails */

static void rt_setup(void)
{
    rt_dir = tu_mkdtemp();
    cr_assert(chdir(rt_dir) == 0);
    memset(&rt_tsa, 0, sizeof(rt_tsa));
}

static void rt_teardown(void)
{
    if (rt_tsa.pid > 0) {
        tsa_server_stop(&rt_tsa);
    }
    if (rt_http_pid > 0) {
        kill(rt_http_pid, SIGKILL);
        waitpid(rt_http_pid, NULL, 0);
        rt_http_pid = 0;
    }
    free(rt_out);
    free(rt_err);
    rt_out = rt_err = NULL;
    if (chdir("/") != 0) {
        /* nothing to do: the directory is removed below by absolute path */
    }
    tu_rmtree(rt_dir);
    free(rt_dir);
}

TestSuite(revocation, .init = rt_setup, .fini = rt_teardown);

/* Run the CLI with a NULL-terminated list of arguments after "signet"; output in rt_out/rt_err. */
static int rt_signet(const char *first, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;

    argv[n++] = "signet";
    argv[n++] = first;
    va_start(ap, first);
    while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
    }
    va_end(ap);
    argv[n] = NULL;
    free(rt_out);
    free(rt_err);
    rt_out = rt_err = NULL;
    return tu_run(&rt_out, &rt_err, NULL, argv);
}

static int rt_has(const char *s)
{
    return (rt_out != NULL && strstr(rt_out, s) != NULL) || (rt_err != NULL && strstr(rt_err, s) != NULL);
}

/* An unencrypted key pair NAME.key / NAME.pub in the test directory. */
static void rt_key(const char *name)
{
    char priv[256], pub[256];
    sign_key *k = NULL;

    snprintf(priv, sizeof(priv), "%s.key", name);
    snprintf(pub, sizeof(pub), "%s.pub", name);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_private(k, priv, NULL, 0), 0);
    cr_assert_eq(sign_key_write_public(k, pub), 0);
    sign_key_free(k);
}

static void rt_keyid(char out[SIGN_KEYID_SIZE], const char *pub)
{
    sign_key *k = NULL;

    cr_assert_eq(sign_key_load_public(&k, pub), 0);
    cr_assert_eq(sign_key_id(out, SIGN_KEYID_SIZE, k), 0);
    sign_key_free(k);
}

/* Sign an arbitrary payload as a revocation list bundle at path with NAME.key. */
static void rt_sign_payload(const char *path, const char *keyname, const char *payload, const char *type)
{
    char kp[256];
    sign_key *k = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;

    snprintf(kp, sizeof(kp), "%s.key", keyname);
    cr_assert_eq(sign_key_load_private(&k, kp, NULL, NULL), 0);
    cr_assert_eq(
        sign_envelope_new(&env, type != NULL ? type : SIGN_REVOCATION_PAYLOAD_TYPE, payload, strlen(payload)), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0);
    cr_assert_eq(sign_bundle_new(&b, env, k), 0);
    unlink(path);
    cr_assert_eq(sign_bundle_write(b, path), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    sign_key_free(k);
}

static void rt_fmt(char out[32], int64_t t)
{
    cr_assert_eq(sign_format_time(out, 32, t), 0);
}

/* The SHA-256 (hex) of the payload of the list bundle at path. */
static void rt_payload_sha(char hex[65], const char *path)
{
    sign_bundle *b = NULL;
    const unsigned char *p;
    unsigned char d[32];
    size_t len = 0;

    cr_assert_eq(sign_bundle_read(&b, path, NULL), 0);
    p = sign_envelope_payload(sign_bundle_envelope(b), &len);
    cr_assert_eq(sign_digest_buffer(d, sizeof(d), NULL, SIGN_DIGEST_SHA256, p, len), 0);
    sign_hex_encode(hex, 65, d, 32);
    sign_bundle_free(b);
}

/* policy.json trusting rel.pub, with one list "main" (revoked.json, authority auth.pub) and extra members. */
static void rt_policy(const char *list_extra, const char *extra)
{
    char json[2048];

    snprintf(json, sizeof(json),
             "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"rel.pub\"}],"
             "\"revocation\":[{\"name\":\"main\",\"list\":\"revoked.json\",\"authorities\":[\"auth.pub\"]%s}]%s}",
             list_extra != NULL ? list_extra : "", extra != NULL ? extra : "");
    tu_write_str("policy.json", json);
}

/* Keys auth and rel, app.txt signed by rel, an empty list, and the policy. */
static void rt_standard(void)
{
    rt_key("auth");
    rt_key("rel");
    tu_write_str("app.txt", "hello\n");
    cr_assert_eq(rt_signet("sign", "-k", "rel.key", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "init", "-k", "auth.key", "--expires", "7d", "-o", "revoked.json", NULL), 0,
                 "%s", rt_err);
    rt_policy(NULL, NULL);
}

/* verify app.txt under policy.json with the state in st/, --json, and up to two more arguments. */
static int rt_verify(const char *e1, const char *e2)
{
    if (e1 == NULL) {
        return rt_signet("verify", "-p", "policy.json", "--json", "--state-dir", "st", "app.txt", NULL);
    }
    if (e2 == NULL) {
        return rt_signet("verify", "-p", "policy.json", "--json", "--state-dir", "st", e1, "app.txt", NULL);
    }
    return rt_signet("verify", "-p", "policy.json", "--json", "--state-dir", "st", e1, e2, "app.txt", NULL);
}

/* ---- the format ------------------------------------------------------------ */

Test(revocation, list_roundtrip_is_deterministic_and_sorted)
{
    sign_revocation_list *l = NULL, *p = NULL;
    unsigned char d1[32], d2[32];
    char *a = NULL, *b = NULL;
    int changed = 0;

    memset(d1, 0xbb, sizeof(d1));
    memset(d2, 0xaa, sizeof(d2));
    cr_assert_eq(sign_revocation_list_new(&l, 1767225600, 1767225600 + 86400), 0);
    cr_assert_eq(sign_revocation_list_add_key(l, &changed, "p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY+u71hFMPBo=", 0, 0,
                                              SIGN_REVOKE_KEY_COMPROMISE, "leaked"),
                 0, "%s", sign_error_last());
    cr_assert(changed);
    cr_assert_eq(sign_revocation_list_add_artifact(l, &changed, d1, "app.zip", SIGN_REVOKE_OTHER, NULL), 0);
    cr_assert_eq(sign_revocation_list_add_artifact(l, &changed, d2, NULL, SIGN_REVOKE_SUPERSEDED, NULL), 0);
    cr_assert_eq(sign_revocation_list_serialize(&a, NULL, l), 0);
    cr_assert_eq(sign_revocation_list_parse(&p, a, strlen(a), NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_revocation_list_serialize(&b, NULL, p), 0);
    cr_assert_str_eq(a, b);
    cr_assert(strstr(a, "\"artifacts\":[{\"digest\":{\"sha256\":\"aaaa") != NULL, "%s", a);
    cr_assert(sign_revocation_list_find_artifact(NULL, p, d1));
    /* URL-safe base64 of the same id is the same key. */
    cr_assert(sign_revocation_list_find_key(NULL, p, "p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY-u71hFMPBo="));
    free(a);
    free(b);
    sign_revocation_list_free(l);
    sign_revocation_list_free(p);
}

static void rt_refused(const char *json, int code, const char *what)
{
    sign_revocation_list *l = NULL;
    int r = sign_revocation_list_parse(&l, json, strlen(json), NULL);

    cr_assert_eq(r, code, "expected %d, got %d for %s: %s", code, r, json, sign_error_last());
    cr_assert(strstr(sign_error_last(), what) != NULL, "message \"%s\" does not name %s", sign_error_last(), what);
    cr_assert_null(l);
}

#define RT_HEAD "\"issued\":\"2026-01-01T00:00:00Z\",\"expires\":\"2026-02-01T00:00:00Z\""
#define RT_HEX "abababababababababababababababababababababababababababababababab"
#define RT_HEX_UPPER "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"
#define RT_KID "\"p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY+u71hFMPBo=\""

Test(revocation, hostile_lists_are_refused_by_the_parser)
{
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[],\"extra\":1}", SIGN_EPARSE, "extra");
    rt_refused("{\"version\":99999999999999999," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    rt_refused("{\"version\":0," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    rt_refused("{\"version\":1.5," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    rt_refused("{\"version\":1,\"issued\":\"2026-01-01T00:00:00Z\",\"expires\":\"2025-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "expires");
    rt_refused("{\"version\":1,\"issued\":\"1969-12-31T00:00:00Z\",\"expires\":\"2025-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "issued");
    rt_refused("{\"version\":1,\"issued\":\"2026-13-01T00:00:00Z\",\"expires\":\"2027-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "issued");
    rt_refused("{\"version\":1," RT_HEAD ",\"previous\":\""
               "00000000000000000000000000000000"
               "00000000000000000000000000000000\",\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "previous");
    rt_refused("{\"version\":2," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "previous");
    rt_refused("{\"version\":1," RT_HEAD ",\"artifacts\":[]}", SIGN_EPARSE, "keys");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"keyCompromise\"},"
               "{\"key_id\":" RT_KID ",\"reason\":\"superseded\",\"effective\":\"2026-01-01T00:00:00Z\"}],"
               "\"artifacts\":[]}",
               SIGN_EPARSE, "listed twice");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[{\"digest\":{\"sha256\":\"" RT_HEX
               "\"},\"reason\":\"other\"},{\"digest\":{\"sha256\":\"" RT_HEX_UPPER "\"},\"reason\":\"other\"}]}",
               SIGN_EPARSE, "listed twice");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"stolen\"}],"
               "\"artifacts\":[]}",
               SIGN_EPARSE, "reason");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"superseded\"}],"
               "\"artifacts\":[]}",
               SIGN_EPARSE, "effective");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":\"AAAA\",\"reason\":\"keyCompromise\"}],"
               "\"artifacts\":[]}",
               SIGN_EPARSE, "key id");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[{\"digest\":{\"sha256\":\"ab\"},"
               "\"reason\":\"other\"}]}",
               SIGN_EPARSE, "sha256");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[{\"digest\":{\"sha512\":\"ab\"},"
               "\"reason\":\"other\"}]}",
               SIGN_EPARSE, "sha512");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[]} x", SIGN_EPARSE, "");
}

/* More hostile shapes (issue 15): version bounds, one key in two base64 alphabets, times out of range. */
Test(revocation, hostile_versions_aliases_and_times_are_refused)
{
    sign_revocation_list *l = NULL, *n = NULL;
    unsigned char prev[32] = {0};
    const char *max = "{\"version\":9007199254740991," RT_HEAD ",\"previous\":\"" RT_HEX "\",\"keys\":[],"
                      "\"artifacts\":[]}";

    rt_refused("{\"version\":9007199254740992," RT_HEAD ",\"previous\":\"" RT_HEX "\",\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "version");
    rt_refused("{\"version\":9223372036854775807," RT_HEAD ",\"previous\":\"" RT_HEX "\",\"keys\":[],"
               "\"artifacts\":[]}",
               SIGN_EPARSE, "version");
    rt_refused("{\"version\":18446744073709551616," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "");
    rt_refused("{\"version\":-1," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    rt_refused("{\"version\":\"1\"," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    rt_refused("{\"version\":1e0," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", SIGN_EPARSE, "version");
    /* The largest version parses, and has no next one. */
    cr_assert_eq(sign_revocation_list_parse(&l, max, strlen(max), NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_revocation_list_version(l), INT64_C(9007199254740991));
    cr_assert_eq(sign_revocation_list_next(&n, l, prev, 1767225600, 1767225600 + 86400), SIGN_ELIMIT);
    cr_assert_null(n);
    sign_revocation_list_free(l);
    /* One key in standard and in URL-safe base64 is one key listed twice. */
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":\"p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY+u71hFMPBo=\","
               "\"reason\":\"keyCompromise\"},{\"key_id\":\"p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY-u71hFMPBo=\","
               "\"reason\":\"keyCompromise\"}],\"artifacts\":[]}",
               SIGN_EPARSE, "listed twice");
    /* Times out of range or not RFC 3339 UTC. */
    rt_refused("{\"version\":1,\"issued\":\"10000-01-01T00:00:00Z\",\"expires\":\"10001-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "issued");
    rt_refused("{\"version\":1,\"issued\":\"2026-01-01T00:00:00+01:00\",\"expires\":\"2027-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "issued");
    rt_refused("{\"version\":1,\"issued\":\"1970-01-01T00:00:00Z\",\"expires\":\"2027-01-01T00:00:00Z\","
               "\"keys\":[],\"artifacts\":[]}",
               SIGN_EPARSE, "issued");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"superseded\","
               "\"effective\":\"2026-02-30T00:00:00Z\"}],\"artifacts\":[]}",
               SIGN_EPARSE, "effective");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"superseded\","
               "\"effective\":\"1969-12-31T23:59:59Z\"}],\"artifacts\":[]}",
               SIGN_EPARSE, "effective");
    rt_refused("{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"superseded\","
               "\"effective\":1767225600}],\"artifacts\":[]}",
               SIGN_EPARSE, "effective");
}

/* ---- the verifier's index of a list (revocation_cache.c) --------------------- */

/* A list with keys and artifacts, two of each with texts. */
static sign_revocation_list *rt_big_list(size_t n)
{
    sign_revocation_list *l = NULL;
    unsigned char id[32];
    int changed;

    cr_assert_eq(sign_revocation_list_new(&l, 1767225600, 1767225600 + 86400), 0);
    for (size_t i = 0; i < n; i++) {
        memset(id, 0, sizeof(id));
        id[0] = (unsigned char)(i >> 8);
        id[1] = (unsigned char)i;
        id[31] = 7;
        {
            char *kid = NULL;

            cr_assert_eq(sign__b64_encode(&kid, id, 32), 0);
            cr_assert_eq(
                sign_revocation_list_add_key(l, &changed, kid, i % 3 != 0, i % 3 != 0 ? 1767225600 + (int64_t)i : 0,
                                             i % 3 != 0 ? SIGN_REVOKE_SUPERSEDED : SIGN_REVOKE_KEY_COMPROMISE,
                                             i < 2 ? "a comment" : NULL),
                0, "%s", sign_error_last());
            free(kid);
        }
        id[31] = 9;
        cr_assert_eq(sign_revocation_list_add_artifact(l, &changed, id, i < 2 ? "app.zip" : NULL, SIGN_REVOKE_OTHER,
                                                       i == 1 ? "bad build" : NULL),
                     0);
    }
    return l;
}

Test(revocation, index_roundtrip_finds_every_entry_and_damage_is_refused)
{
    sign_revocation_list *l = rt_big_list(300), *x = NULL;
    unsigned char *ix = NULL, *bad;
    size_t len = 0;
    char *a = NULL;

    cr_assert_eq(sign__revocation_index_write(&ix, &len, l), 0, "%s", sign_error_last());
    cr_assert_eq(sign__revocation_index_read(&x, ix, len), 0, "%s", sign_error_last());
    cr_assert_eq(sign_revocation_list_key_count(x), 300);
    cr_assert_eq(sign_revocation_list_artifact_count(x), 300);
    /* Every entry is found with the same content; the lists cover each other. */
    for (size_t i = 0; i < 300; i++) {
        sign_revoked_key k1, k2;
        sign_revoked_artifact a1, a2;

        cr_assert_eq(sign_revocation_list_key(&k1, l, i), 0);
        cr_assert(sign_revocation_list_find_key(&k2, x, k1.key_id));
        cr_assert_str_eq(k1.key_id, k2.key_id);
        cr_assert_eq(k1.has_effective, k2.has_effective);
        cr_assert_eq(k1.effective, k2.effective);
        cr_assert_eq(k1.reason, k2.reason);
        cr_assert((k1.comment == NULL) == (k2.comment == NULL));
        cr_assert_eq(sign_revocation_list_artifact(&a1, l, i), 0);
        cr_assert(sign_revocation_list_find_artifact(&a2, x, a1.sha256));
        cr_assert((a1.name == NULL && a2.name == NULL) || strcmp(a1.name, a2.name) == 0);
        cr_assert((a1.comment == NULL && a2.comment == NULL) || strcmp(a1.comment, a2.comment) == 0);
    }
    cr_assert_eq(sign_revocation_list_covers(x, l), 0, "%s", sign_error_last());
    cr_assert_eq(sign_revocation_list_covers(l, x), 0, "%s", sign_error_last());
    /* Read-only: no edit, no serialisation from an index. */
    cr_assert_eq(sign_revocation_list_serialize(&a, NULL, x), SIGN_EINVAL);
    cr_assert_null(a);
    sign_revocation_list_free(x);
    x = NULL;
    bad = malloc(len);
    /* Two keys swapped (unsorted), a reason out of range, a text reference out of range, a truncated index. */
    memcpy(bad, ix, len);
    memcpy(bad + 89, ix + 89 + 50, 32);
    memcpy(bad + 89 + 50, ix + 89, 32);
    cr_assert_eq(sign__revocation_index_read(&x, bad, len), SIGN_EPARSE);
    memcpy(bad, ix, len);
    bad[89 + 41] = 9;
    cr_assert_eq(sign__revocation_index_read(&x, bad, len), SIGN_EPARSE);
    memcpy(bad, ix, len);
    bad[89 + 42] = 0xff;
    bad[89 + 43] = 0xff;
    cr_assert_eq(sign__revocation_index_read(&x, bad, len), SIGN_EPARSE);
    cr_assert_eq(sign__revocation_index_read(&x, ix, len - 1), SIGN_EPARSE);
    cr_assert_null(x);
    free(bad);
    free(ix);
    sign_revocation_list_free(l);
}

/* The cache file of the list in st/ (one), or NULL. */
static char *rt_cache_file(void)
{
    glob_t g;
    char *p = NULL;

    if (glob("st/revocation-index-*.bin", 0, NULL, &g) == 0) {
        cr_assert_eq(g.gl_pathc, 1);
        p = strdup(g.gl_pathv[0]);
    }
    globfree(&g);
    return p;
}

#define RT_FROM_INDEX "its verified index from the state directory"

/*
 * A verified list is kept as an index in the state directory and used while the list file is unchanged: it
 * revokes what the list revokes; a damaged index, a list replaced by a newer or an older version, are read in
 * full (never fewer revocations, rollback still caught).
 */
Test(revocation, the_cached_index_never_drops_a_revocation, .timeout = 120)
{
    unsigned char *b;
    size_t len = 0;
    char *cf;

    rt_standard();
    cr_assert_eq(system("cp revoked.json v1.json"), 0);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", NULL),
                 0, "%s", rt_err);
    /* A list changed in the last 2 s is neither cached nor taken from the cache. */
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\"") && !rt_has(RT_FROM_INDEX), "%s", rt_out);
    sleep(3);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\"") && !rt_has(RT_FROM_INDEX), "%s", rt_out);
    cf = rt_cache_file();
    cr_assert_not_null(cf, "no index written");
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\"") && rt_has(RT_FROM_INDEX), "%s", rt_out);
    /* Damaged: the revoked key's id changed in the index (checksum mismatch): read in full, still revoked. */
    b = (unsigned char *)tu_read(cf, &len);
    cr_assert_gt(len, 300);
    b[len - 40] ^= 0x5a; /* in the last record: the key's id */
    unlink(cf);
    tu_write(cf, b, len);
    free(b);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\"") && !rt_has(RT_FROM_INDEX), "%s", rt_out);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has(RT_FROM_INDEX), "the index was not rewritten: %s", rt_out);
    /* Replaced by the older version 1 in place (same inode): its ctime changed, rollback is caught. */
    cr_assert_eq(system("cat v1.json > revoked.json"), 0);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_ROLLBACK\"") && !rt_has(RT_FROM_INDEX), "%s", rt_out);
    free(cf);
}

Test(revocation, a_newer_list_replaces_the_cached_index_at_once, .timeout = 120)
{
    char *out;

    rt_standard();
    sleep(3);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert(rt_has(RT_FROM_INDEX), "%s", rt_out);
    /* The next version revokes the artifact: the very next verify reads it in full. */
    cr_assert_eq(rt_signet("revoke", "artifact", "-k", "auth.key", "--list", "revoked.json", "app.txt", "--reason",
                           "other", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"ARTIFACT_REVOKED\"") && !rt_has(RT_FROM_INDEX), "%s", rt_out);
    out = tu_read("st/revocation.json", NULL);
    cr_assert(strstr(out, "\"version\": 2") != NULL, "%s", out);
    free(out);
}

Test(revocation, comments_over_the_cap_are_refused)
{
    char *json = malloc(4096);

    memset(json, 0, 4096);
    snprintf(json, 4096,
             "{\"version\":1," RT_HEAD ",\"keys\":[{\"key_id\":" RT_KID ",\"reason\":\"keyCompromise\","
             "\"comment\":\"%01100d\"}],\"artifacts\":[]}",
             0);
    rt_refused(json, SIGN_ELIMIT, "comment");
    free(json);
}

Test(revocation, a_later_effective_time_and_an_unrevoke_are_refused)
{
    sign_revocation_list *a = NULL, *b = NULL;
    unsigned char sha[32] = {0};
    int changed = 0;
    const char *kid = "p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY+u71hFMPBo=";

    cr_assert_eq(sign_revocation_list_new(&a, 1767225600, 1767225600 + 86400), 0);
    cr_assert_eq(sign_revocation_list_add_key(a, &changed, kid, 1, 1767225600, SIGN_REVOKE_SUPERSEDED, NULL), 0);
    /* Later: refused; the same: unchanged; earlier: moved. */
    cr_assert_eq(sign_revocation_list_add_key(a, &changed, kid, 1, 1767225601, SIGN_REVOKE_SUPERSEDED, NULL),
                 SIGN_EINVAL);
    cr_assert(strstr(sign_error_last(), "later") != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_revocation_list_add_key(a, &changed, kid, 1, 1767225600, SIGN_REVOKE_SUPERSEDED, NULL), 0);
    cr_assert_eq(changed, 0);
    cr_assert_eq(sign_revocation_list_add_key(a, &changed, kid, 1, 1767225000, SIGN_REVOKE_SUPERSEDED, NULL), 0);
    cr_assert_eq(changed, 1);
    /* Only keyCompromise may leave the time out. */
    cr_assert_eq(sign_revocation_list_add_key(a, &changed, kid, 0, 0, SIGN_REVOKE_OTHER, NULL), SIGN_EINVAL);
    /* A list without the key does not cover one with it. */
    cr_assert_eq(sign_revocation_list_new(&b, 1767225600, 1767225600 + 86400), 0);
    cr_assert_eq(sign_revocation_list_covers(b, a), SIGN_EVERIFY);
    cr_assert_eq(sign_revocation_list_covers(a, b), 0);
    cr_assert_eq(sign_revocation_list_add_artifact(b, &changed, sha, NULL, SIGN_REVOKE_OTHER, NULL), 0);
    cr_assert_eq(sign_revocation_list_covers(a, b), SIGN_EVERIFY);
    sign_revocation_list_free(a);
    sign_revocation_list_free(b);
}

Test(revocation, versions_compare_by_semver_precedence)
{
    static const struct {
        const char *a, *b;
        int cmp;
    } t[] = {
        {"1.2.3", "1.2.3", 0},
        {"1.2.3", "1.2.4", -1},
        {"1.10.0", "1.9.9", 1},
        {"2", "1.99.99", 1},
        {"2", "2.0.0", 0},
        {"1.0.0-rc.1", "1.0.0", -1},
        {"1.0.0-alpha", "1.0.0-alpha.1", -1},
        {"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
        {"1.0.0-beta.2", "1.0.0-beta.11", -1},
        {"1.0.0+build.5", "1.0.0+build.9", 0},
        {"v1.2.3", "1.2.3", 0},
        {"99999999999999999999", "100000000000000000000", -1},
    };
    int cmp;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cr_assert_eq(sign_version_compare(&cmp, t[i].a, t[i].b), 0, "%s %s", t[i].a, t[i].b);
        cr_assert_eq(cmp < 0 ? -1 : cmp > 0, t[i].cmp, "%s vs %s: %d", t[i].a, t[i].b, cmp);
    }
    cr_assert_neq(sign_version_check("1.2"), 0);
    cr_assert_neq(sign_version_check("01.2.3"), 0);
    cr_assert_neq(sign_version_check("1.2.3-"), 0);
    cr_assert_neq(sign_version_check("1.2.3-01"), 0);
    cr_assert_neq(sign_version_check(""), 0);
    cr_assert_neq(sign_version_check("-1"), 0);
}

Test(revocation, a_bundle_of_another_type_or_signer_is_not_a_list)
{
    sign_revocation_list *l = NULL;
    sign_bundle *b = NULL;
    sign_key *auth = NULL, *other = NULL;

    rt_key("auth");
    rt_key("other");
    cr_assert_eq(sign_key_load_public(&auth, "auth.pub"), 0);
    cr_assert_eq(sign_key_load_public(&other, "other.pub"), 0);
    rt_sign_payload("l.json", "auth", "{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[]}",
                    "application/vnd.in-toto+json");
    cr_assert_eq(sign_bundle_read(&b, "l.json", NULL), 0);
    cr_assert_eq(sign_revocation_bundle_open(&l, NULL, NULL, b, (const sign_key *const *)&auth, 1, NULL),
                 SIGN_EVERIFY);
    sign_bundle_free(b);
    rt_sign_payload("l.json", "auth", "{\"version\":1," RT_HEAD ",\"keys\":[],\"artifacts\":[]}", NULL);
    cr_assert_eq(sign_bundle_read(&b, "l.json", NULL), 0);
    cr_assert_eq(sign_revocation_bundle_open(&l, NULL, NULL, b, (const sign_key *const *)&other, 1, NULL),
                 SIGN_EUNTRUSTED);
    cr_assert_eq(sign_revocation_bundle_open(&l, NULL, NULL, b, (const sign_key *const *)&auth, 1, NULL), 0);
    sign_revocation_list_free(l);
    sign_bundle_free(b);
    sign_key_free(auth);
    sign_key_free(other);
}

/* ---- signet revoke ------------------------------------------------------------ */

Test(revocation, cli_writes_versions_and_refuses_moving_a_time_later)
{
    char kid[SIGN_KEYID_SIZE], prev[65];

    rt_standard();
    rt_keyid(kid, "rel.pub");
    cr_assert_eq(rt_signet("revoke", "init", "-k", "auth.key", "-o", "revoked.json", NULL), 2);
    cr_assert(rt_has("exists"), "%s", rt_err);
    rt_payload_sha(prev, "revoked.json");
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", "--effective", "2026-01-01T00:00:00Z", NULL),
                 0, "%s", rt_err);
    cr_assert(rt_has("revoked (superseded, signatures from 2026-01-01T00:00:00Z)"), "%s", rt_out);
    cr_assert(rt_has("version 2"), "%s", rt_out);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key-id", kid, "--reason",
                           "superseded", "--effective", "2026-02-01T00:00:00Z", NULL),
                 2);
    cr_assert(rt_has("later"), "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "show", "--json", "--authority", "auth.pub", "revoked.json", NULL), 0, "%s",
                 rt_err);
    cr_assert(rt_has("\"version\":2") && rt_has(prev), "%s", rt_out);
    /* A key that is not the list's authority cannot continue it. */
    rt_key("other");
    cr_assert_eq(rt_signet("revoke", "renew", "-k", "other.key", "--list", "revoked.json", NULL), 3, "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "renew", "-k", "auth.key", "--list", "revoked.json", NULL), 0, "%s", rt_err);
    cr_assert(rt_has("version 3"), "%s", rt_out);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "bogus", NULL),
                 2);
}

/* ---- verify ----------------------------------------------------------------- */

Test(revocation, an_empty_fresh_list_passes_and_records_state)
{
    rt_standard();
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"check\":\"revocation-list\"") &&
                  rt_has("\"message\":\"revocation list \\\"main\\\" version 1"),
              "%s", rt_out);
    cr_assert(tu_exists("st/revocation.json"));
}

Test(revocation, key_revoked_without_trusted_time_is_exit_5)
{
    rt_standard();
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\""), "%s", rt_out);
    cr_assert(rt_has("\"verified\":false"), "%s", rt_out);
}

Test(revocation, a_key_revoked_from_a_future_time_spares_an_existing_signature)
{
    char t[32];

    rt_standard();
    rt_fmt(t, (int64_t)time(NULL) + 86400);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", "--effective", t, NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("SIGNED_BEFORE_REVOCATION"), "%s", rt_out);
}

/* app.txt signed by rel with a timestamp from the test TSA stamping genTime at `at`; policy trusts the TSA. */
static void rt_stamped(int64_t at)
{
    char t[32], *pki = tsa_std_pki(), *root = tu_path(pki, "root.pem"), extra[1024];

    snprintf(t, sizeof(t), "%lld", (long long)at);
    tsa_server_start(&rt_tsa, pki, "tsa", NULL, t);
    rt_key("auth");
    rt_key("rel");
    tu_write_str("app.txt", "hello\n");
    cr_assert_eq(rt_signet("sign", "-k", "rel.key", "--tsa", rt_tsa.url, "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "init", "-k", "auth.key", "-o", "revoked.json", NULL), 0, "%s", rt_err);
    snprintf(extra, sizeof(extra), ",\"timestamp_authorities\":[{\"name\":\"tsa\",\"certificates\":\"%s\"}]", root);
    rt_policy(NULL, extra);
    free(root);
    free(pki);
}

Test(revocation, a_signature_stamped_before_the_effective_time_stays_valid)
{
    int64_t now = (int64_t)time(NULL);
    char eff[32], stamp[32], msg[160];

    rt_stamped(now - 3600);
    rt_fmt(eff, now - 1800);
    rt_fmt(stamp, now - 3600);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", "--effective", eff, NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    snprintf(msg, sizeof(msg), "revoked at %s (superseded, list \\\"main\\\"), signature stamped at %s before it",
             eff, stamp);
    cr_assert(rt_has(msg), "%s", rt_out);
    /* Moved earlier than the stamp: void. */
    rt_fmt(eff, now - 7200);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "superseded", "--effective", eff, NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\""), "%s", rt_out);
}

Test(revocation, key_compromise_without_a_time_voids_stamped_signatures)
{
    rt_stamped((int64_t)time(NULL) - 3600);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "keyCompromise", NULL),
                 0, "%s", rt_err);
    cr_assert(rt_has("every signature"), "%s", rt_out);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\"") && rt_has("time of compromise unknown"), "%s", rt_out);
}

Test(revocation, revoked_artifact_is_exit_5_whatever_signs_it)
{
    rt_standard();
    cr_assert_eq(rt_signet("revoke", "artifact", "-k", "auth.key", "--list", "revoked.json", "app.txt", "--reason",
                           "other", NULL),
                 0, "%s", rt_err);
    cr_assert(rt_has("artifact sha256:"), "%s", rt_out);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"ARTIFACT_REVOKED\""), "%s", rt_out);
}

Test(revocation, missing_list_is_exit_5)
{
    rt_standard();
    unlink("revoked.json");
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_LIST_MISSING\""), "%s", rt_out);
}

Test(revocation, list_signed_by_another_key_is_untrusted_exit_3)
{
    rt_standard();
    rt_key("other");
    unlink("revoked.json");
    cr_assert_eq(rt_signet("revoke", "init", "-k", "other.key", "-o", "revoked.json", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 3, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_LIST_UNTRUSTED\""), "%s", rt_out);
}

Test(revocation, expired_or_too_old_list_is_stale_exit_6)
{
    char issued[32], expires[32], json[512];
    int64_t now = (int64_t)time(NULL);

    rt_standard();
    rt_fmt(issued, now - 10 * 86400);
    rt_fmt(expires, now - 86400);
    snprintf(json, sizeof(json), "{\"version\":1,\"issued\":\"%s\",\"expires\":\"%s\",\"keys\":[],\"artifacts\":[]}",
             issued, expires);
    rt_sign_payload("revoked.json", "auth", json, NULL);
    cr_assert_eq(rt_verify(NULL, NULL), 6, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_LIST_STALE\"") && rt_has("expired at"), "%s", rt_out);
    /* Not expired, but issued longer ago than max_age. */
    rt_fmt(expires, now + 86400);
    snprintf(json, sizeof(json), "{\"version\":1,\"issued\":\"%s\",\"expires\":\"%s\",\"keys\":[],\"artifacts\":[]}",
             issued, expires);
    rt_sign_payload("revoked.json", "auth", json, NULL);
    rt_policy(",\"max_age\":\"7d\"", NULL);
    cr_assert_eq(rt_signet("verify", "-p", "policy.json", "--json", "--state-dir", "none", "app.txt", NULL), 6,
                 "%s%s", rt_out, rt_err);
    cr_assert(rt_has("more than max_age"), "%s", rt_out);
}

Test(revocation, rollback_and_equivocation_are_exit_5)
{
    char v2[65];

    rt_standard();
    cr_assert_eq(system("cp revoked.json v1.json"), 0);
    cr_assert_eq(rt_signet("revoke", "renew", "-k", "auth.key", "--list", "revoked.json", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(system("cp revoked.json v2.json && cp v1.json revoked.json"), 0);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_ROLLBACK\""), "%s", rt_out);
    /* Another version 2 (same number, other content). */
    cr_assert_eq(rt_signet("revoke", "artifact", "-k", "auth.key", "--list", "revoked.json", "--digest",
                           "sha256:abababababababababababababababababababababababababababababababab", "--reason",
                           "other", NULL),
                 0, "%s", rt_err);
    rt_payload_sha(v2, "v2.json");
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_EQUIVOCATION\"") && rt_has(v2), "%s", rt_out);
    /* Without state the same lists pass, and the verdict says rollback is not checked. */
    cr_assert_eq(rt_signet("verify", "-p", "policy.json", "--json", "--state-dir", "none", "app.txt", NULL), 0,
                 "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"reason\":\"NO_STATE\""), "%s", rt_out);
}

Test(revocation, a_newer_version_off_the_chain_must_keep_every_revocation)
{
    char issued[32], expires[32], json[1024], kid[SIGN_KEYID_SIZE];
    int64_t now = (int64_t)time(NULL);

    rt_standard();
    rt_key("old");
    rt_keyid(kid, "old.pub");
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "old.pub",
                           "--reason", "keyCompromise", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    rt_fmt(issued, now);
    rt_fmt(expires, now + 86400);
    /* Version 5 whose previous is unknown and which drops the key: refused. */
    snprintf(json, sizeof(json),
             "{\"version\":5,\"issued\":\"%s\",\"expires\":\"%s\",\"previous\":\"%064d\",\"keys\":[],"
             "\"artifacts\":[]}",
             issued, expires, 0);
    rt_sign_payload("revoked.json", "auth", json, NULL);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_ROLLBACK\"") && rt_has("is not revoked in version 5"), "%s", rt_out);
    /* The same version keeping the key: accepted. */
    snprintf(
        json, sizeof(json),
        "{\"version\":5,\"issued\":\"%s\",\"expires\":\"%s\",\"previous\":\"%064d\",\"keys\":[{\"key_id\":\"%s\","
        "\"reason\":\"keyCompromise\"}],\"artifacts\":[]}",
        issued, expires, 0, kid);
    rt_sign_payload("revoked.json", "auth", json, NULL);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
}

Test(revocation, corrupt_state_is_an_error_naming_the_file)
{
    rt_standard();
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    tu_write_str("st/revocation.json", "{\"lists\":");
    cr_assert_eq(rt_verify(NULL, NULL), 2, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("st/revocation.json") && rt_has("STATE_UNUSABLE"), "%s%s", rt_out, rt_err);
}

Test(revocation, twenty_concurrent_verifies_leave_a_consistent_state)
{
    pid_t pids[20];
    char *st;

    rt_standard();
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(rt_signet("revoke", "renew", "-k", "auth.key", "--list", "revoked.json", NULL), 0, "%s", rt_err);
    }
    for (int i = 0; i < 20; i++) {
        pids[i] = fork();
        cr_assert(pids[i] >= 0);
        if (pids[i] == 0) {
            const char *argv[] = {"signet", "verify", "-p", "policy.json", "--state-dir", "st", "app.txt", NULL};
            int rc = tu_run(NULL, NULL, NULL, argv);

            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 20; i++) {
        int status = 0;

        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "verify %d failed", i);
    }
    st = tu_read("st/revocation.json", NULL);
    cr_assert(strstr(st, "\"version\": 6") != NULL, "%s", st);
    free(st);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
}

Test(revocation, verify_at_judges_lists_then_and_ignores_state)
{
    rt_standard();
    cr_assert_eq(system("cp revoked.json v1.json"), 0);
    cr_assert_eq(rt_signet("revoke", "renew", "-k", "auth.key", "--list", "revoked.json", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(system("cp v1.json revoked.json"), 0);
    /* An audit with the old list: no rollback check, and the verdict says why. */
    {
        char at[32];

        rt_fmt(at, (int64_t)time(NULL) + 60);
        cr_assert_eq(rt_verify("--at", at), 0, "%s%s", rt_out, rt_err);
        cr_assert(rt_has("\"reason\":\"STATE_IGNORED\""), "%s", rt_out);
        /* Judged a year later, the list has expired. */
        rt_fmt(at, (int64_t)time(NULL) + 365 * 86400);
        cr_assert_eq(rt_verify("--at", at), 6, "%s%s", rt_out, rt_err);
    }
}

Test(revocation, a_list_revoking_its_own_authority_is_untrusted)
{
    rt_standard();
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "auth.pub",
                           "--reason", "keyCompromise", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 3, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_LIST_UNTRUSTED\"") && rt_has("which list"), "%s", rt_out);
    /* An untrusted list is not recorded: the state still holds version 1. */
    {
        char *st = tu_read("st/revocation.json", NULL);

        cr_assert(strstr(st, "\"version\": 1") != NULL, "%s", st);
        free(st);
    }
}

Test(revocation, a_list_signed_by_an_authority_another_list_revokes_is_untrusted)
{
    char json[1024];

    rt_standard();
    rt_key("auth2");
    cr_assert_eq(rt_signet("revoke", "init", "-k", "auth2.key", "-o", "second.json", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "auth2.pub",
                           "--reason", "keyCompromise", NULL),
                 0, "%s", rt_err);
    snprintf(json, sizeof(json),
             "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"rel.pub\"}],\"revocation\":["
             "{\"name\":\"main\",\"list\":\"revoked.json\",\"authorities\":[\"auth.pub\"]},"
             "{\"name\":\"second\",\"list\":\"second.json\",\"authorities\":[\"auth2.pub\"]}]}");
    tu_write_str("policy.json", json);
    cr_assert_eq(rt_verify(NULL, NULL), 3, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("list \\\"second\\\" is signed by authority key"), "%s", rt_out);
}

/* ---- downgrade protection --------------------------------------------------- */

Test(revocation, downgrade_and_version_reuse_are_exit_4)
{
    rt_key("rel");
    tu_write_str("policy.json", "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"rel.pub\","
                                "\"track\":\"app\"}]}");
    tu_write_str("app.txt", "v1.2.0\n");
    cr_assert_eq(rt_signet("sign", "-k", "rel.key", "--version", "1.2.0", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("version 1.2.0 under \\\"app\\\" (first seen)"), "%s", rt_out);
    cr_assert_eq(system("cp app.txt good.txt && cp app.txt.sigstore.json good.json"), 0);
    tu_write_str("app.txt", "v1.1.0\n");
    cr_assert_eq(rt_signet("sign", "--force", "-k", "rel.key", "--version", "1.1.0", "app.txt", NULL), 0, "%s",
                 rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 4, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"DOWNGRADE\""), "%s", rt_out);
    cr_assert_eq(rt_verify("--allow-downgrade", NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("DOWNGRADE_ALLOWED"), "%s", rt_out);
    /* Other bytes under the version verified before. */
    tu_write_str("app.txt", "v1.2.0 rebuilt\n");
    cr_assert_eq(rt_signet("sign", "--force", "-k", "rel.key", "--version", "1.2.0", "app.txt", NULL), 0, "%s",
                 rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 4, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"VERSION_REUSED\""), "%s", rt_out);
    /* A higher version passes and is recorded. */
    tu_write_str("app.txt", "v2\n");
    cr_assert_eq(rt_signet("sign", "--force", "-k", "rel.key", "--version", "2", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_signet("verify", "-p", "policy.json", "--state-dir", "st", "-b", "good.json", "good.txt", NULL),
                 4, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_signet("sign", "--force", "-k", "rel.key", "--version", "1.2", "app.txt", NULL), 2);
}

/* ---- --fetch-revocation ---------------------------------------------------------- */

/* A one-file HTTP server on 127.0.0.1 (ephemeral port) serving path's bytes to every GET; stopped by PID. */
static pid_t rt_http_start(const char *path, char *url, size_t urlsize)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    size_t len = 0;
    char *body = tu_read(path, &len);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    cr_assert(lfd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 16), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, urlsize, "http://127.0.0.1:%u/revoked.json", (unsigned)ntohs(sa.sin_port));
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        /* Not the test's output pipes: the runner waits for them to close. */
        int devnull = open("/dev/null", O_RDWR);

        dup2(devnull, 1);
        dup2(devnull, 2);
        for (;;) {
            char req[4096], head[128];
            int fd = accept(lfd, NULL, NULL);

            if (fd < 0) {
                continue;
            }
            if (read(fd, req, sizeof(req)) > 0) {
                int n =
                    snprintf(head, sizeof(head),
                             "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", len);
                if (write(fd, head, (size_t)n) < 0 || write(fd, body, len) < 0) {
                    /* the client went away */
                }
            }
            close(fd);
        }
    }
    close(lfd);
    free(body);
    rt_http_pid = pid;
    return pid;
}

static void rt_http_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    rt_http_pid = 0;
}

Test(revocation, fetched_newer_list_is_used_cached_and_fails_closed)
{
    char url[128], extra[256];
    pid_t srv;

    rt_standard();
    cr_assert_eq(system("cp revoked.json local-v1.json"), 0);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key", "rel.pub",
                           "--reason", "keyCompromise", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(system("mv revoked.json served.json && cp local-v1.json revoked.json"), 0);
    srv = rt_http_start("served.json", url, sizeof(url));
    snprintf(extra, sizeof(extra), ",\"url\":\"%s\"", url);
    rt_policy(extra, NULL);
    /* Without the flag nothing is fetched: the local version 1 revokes nothing. */
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_verify("--fetch-revocation", "--revocation-cache=cache"), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\""), "%s", rt_out);
    rt_http_stop(srv);
    /* The server is down: the cached list is still fresh and stands in. */
    cr_assert_eq(rt_verify("--fetch-revocation", "--revocation-cache=cache"), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\""), "%s", rt_out);
    /* No cache and no server: fail closed, as an availability error (exit 2), not a revocation. */
    cr_assert_eq(rt_verify("--fetch-revocation", "--revocation-cache=empty"), 2, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"REVOCATION_FETCH_FAILED\""), "%s", rt_out);
}

Test(revocation, a_key_id_also_matches_a_certificate_carrying_the_key)
{
    pkigen_cert_opts ro = {.cn = "Revocation Test Root", .ca = 1}, lo = {.cn = "Release Signing"};
    pkigen_cert *root = pkigen_cert_new(&ro, NULL), *leaf = pkigen_cert_new(&lo, root);
    const pkigen_cert *lv[1] = {leaf};
    sign_x509_certs *certs = pkigen_certs(lv, 1);
    sign_key *k = NULL;
    char kid[SIGN_KEYID_SIZE];

    pkigen_write_certs("ca.pem", (const pkigen_cert *const *)&root, 1);
    pkigen_write_certs("leaf.pem", lv, 1);
    pkigen_write_key("leaf.key", leaf);
    cr_assert_eq(sign_x509_certs_key(&k, certs, 0), 0);
    cr_assert_eq(sign_key_id(kid, sizeof(kid), k), 0);
    rt_key("auth");
    tu_write_str("app.txt", "hello\n");
    cr_assert_eq(rt_signet("sign", "-k", "leaf.key", "--cert", "leaf.pem", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_signet("revoke", "init", "-k", "auth.key", "-o", "revoked.json", NULL), 0, "%s", rt_err);
    tu_write_str("policy.json", "{\"version\":1,\"roots\":[{\"name\":\"corp\",\"certificates\":\"ca.pem\"}],"
                                "\"revocation\":[{\"name\":\"main\",\"list\":\"revoked.json\","
                                "\"authorities\":[\"auth.pub\"]}]}");
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    cr_assert_eq(rt_signet("revoke", "key", "-k", "auth.key", "--list", "revoked.json", "--key-id", kid, "--reason",
                           "keyCompromise", NULL),
                 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 5, "%s%s", rt_out, rt_err);
    cr_assert(rt_has("\"code\":\"KEY_REVOKED\""), "%s", rt_out);
    sign_key_free(k);
    sign_x509_certs_free(certs);
    pkigen_cert_free(leaf);
    pkigen_cert_free(root);
}

Test(revocation, an_allowed_downgrade_is_recorded_in_the_event)
{
    char *ev;

    rt_key("rel");
    tu_write_str("policy.json", "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"rel.pub\"}]}");
    tu_write_str("app.txt", "2\n");
    cr_assert_eq(rt_signet("sign", "-k", "rel.key", "--version", "2", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_verify(NULL, NULL), 0, "%s%s", rt_out, rt_err);
    tu_write_str("app.txt", "1\n");
    cr_assert_eq(rt_signet("sign", "--force", "-k", "rel.key", "--version", "1", "app.txt", NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_signet("verify", "-p", "policy.json", "--state-dir", "st", "--allow-downgrade", "--event-log",
                           "ev.jsonl", "app.txt", NULL),
                 0, "%s%s", rt_out, rt_err);
    ev = tu_read("ev.jsonl", NULL);
    cr_assert(strstr(ev, "DOWNGRADE_ALLOWED") != NULL, "%s", ev);
    free(ev);
    /* Without state (--state-dir none) versions are not compared. */
    cr_assert_eq(rt_signet("verify", "-p", "policy.json", "--state-dir", "none", "app.txt", NULL), 0, "%s", rt_err);
}
