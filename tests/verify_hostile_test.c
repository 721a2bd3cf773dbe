/*
 * Red-team regression suite for verification: an attacker controls the bundles,
 * the artifact bytes and their file names, never the policy or the private keys.
 * Each test asserts the refusal and its reason code (or exit status), or pins a
 * behaviour judged acceptable (documented in docs/verify.md).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

static char *rt_dir;
static char *rt_out, *rt_err; /* output of the last rt_cli run */
static sign_key *rt_ka, *rt_kb,
    *rt_ku; /* a (Ed25519) and b (P-256) are written as a.pub, b.pub; u is never trusted */

static char *rt_p(const char *name)
{
    return tu_path(rt_dir, name);
}

static void rt_setup(void)
{
    char *p;

    rt_dir = tu_mkdtemp();
    cr_assert_eq(sign_key_generate(&rt_ka, SIGN_KEY_ED25519, 0), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_generate(&rt_kb, SIGN_KEY_ECDSA_P256, 0), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_generate(&rt_ku, SIGN_KEY_ED25519, 0), 0, "%s", sign_error_last());
    p = rt_p("a.pub");
    cr_assert_eq(sign_key_write_public(rt_ka, p), 0, "%s", sign_error_last());
    free(p);
    p = rt_p("b.pub");
    cr_assert_eq(sign_key_write_public(rt_kb, p), 0, "%s", sign_error_last());
    free(p);
}

static void rt_teardown(void)
{
    sign_key_free(rt_ka);
    sign_key_free(rt_kb);
    sign_key_free(rt_ku);
    rt_ka = rt_kb = rt_ku = NULL;
    free(rt_out);
    free(rt_err);
    rt_out = rt_err = NULL;
    tu_rmtree(rt_dir);
    free(rt_dir);
    rt_dir = NULL;
}

TestSuite(verify_hostile, .init = rt_setup, .fini = rt_teardown);

/* ---- helpers ----------------------------------------------------------- */

static char *rt_file(const char *name, const char *content)
{
    char *p = rt_p(name);

    tu_write_str(p, content);
    return p;
}

static void rt_keyid(char out[SIGN_KEYID_SIZE], const sign_key *k)
{
    cr_assert_eq(sign_key_id(out, SIGN_KEYID_SIZE, k), 0, "%s", sign_error_last());
}

static void rt_hex_of(char out[65], const void *data, size_t len)
{
    unsigned char md[32];

    cr_assert_eq(EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL), 1);
    cr_assert_eq(sign_hex_encode(out, 65, md, 32), 0);
}

static void rt_hex_file(char out[65], const char *path)
{
    size_t len = 0;
    char *data = tu_read(path, &len);

    rt_hex_of(out, data, len);
    free(data);
}

/* tmpl with its one "@@" replaced by s (malloc'd). */
static char *rt_subst(const char *tmpl, const char *s)
{
    const char *at = strstr(tmpl, "@@");
    char *out = NULL;

    cr_assert_not_null(at);
    cr_assert_gt(asprintf(&out, "%.*s%s%s", (int)(at - tmpl), tmpl, s, at + 2), 0);
    return out;
}

/* A minimal in-toto Statement v1 with one subject (malloc'd). */
static char *rt_stmt1(const char *name, const char *hex)
{
    char *s = NULL;

    cr_assert_gt(asprintf(&s,
                          "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"" SIGN_PREDICATE_TYPE
                          "\",\"predicate\":{},\"subject\":[{\"name\":\"%s\",\"digest\":{\"sha256\":\"%s\"}}]}",
                          name, hex),
                 0);
    return s;
}

static char *rt_b64(const void *data, size_t len)
{
    char *s = NULL;

    cr_assert_eq(sign__b64_encode(&s, data, len), 0);
    return s;
}

typedef struct rt_bopts {
    const char *ptype;       /* NULL: in-toto */
    const char *keyid;       /* NULL: the signing key's id */
    const char *hint;        /* NULL: the signing key's id */
    const char *media_type;  /* NULL: v0.3 */
    const char *payload_b64; /* NULL: standard base64 of the payload */
    int sig_extra;           /* append this many zero bytes to the signature */
} rt_bopts;

/* Write a bundle over payload signed by key (PAE over ptype); returns its path (malloc'd). */
static char *rt_bundle_ex(const char *out, const sign_key *key, const void *payload, size_t len, const rt_bopts *o)
{
    const char *ptype = o->ptype != NULL ? o->ptype : SIGN_INTOTO_PAYLOAD_TYPE;
    unsigned char *pae = NULL, *sig = NULL, *sig2;
    size_t paelen = 0, siglen = 0;
    char kid[SIGN_KEYID_SIZE], *psig, *ppay, *text = NULL, *path = rt_p(out);
    json_t *j;

    rt_keyid(kid, key);
    cr_assert_eq(sign_dsse_pae(&pae, &paelen, ptype, payload, len), 0);
    cr_assert_eq(sign_key_sign(&sig, &siglen, key, pae, paelen), 0, "%s", sign_error_last());
    sig2 = calloc(siglen + (size_t)o->sig_extra + 1, 1);
    cr_assert_not_null(sig2);
    memcpy(sig2, sig, siglen);
    psig = rt_b64(sig2, siglen + (size_t)o->sig_extra);
    ppay = o->payload_b64 != NULL ? strdup(o->payload_b64) : rt_b64(payload, len);
    j = json_pack("{s:s,s:{s:s,s:s,s:[{s:s,s:s}]},s:{s:{s:s},s:[]}}", "mediaType",
                  o->media_type != NULL ? o->media_type : SIGN_BUNDLE_MEDIA_TYPE_V03, "dsseEnvelope", "payload", ppay,
                  "payloadType", ptype, "signatures", "keyid", o->keyid != NULL ? o->keyid : kid, "sig", psig,
                  "verificationMaterial", "publicKey", "hint", o->hint != NULL ? o->hint : kid, "tlogEntries");
    cr_assert_not_null(j);
    cr_assert_eq(sign__json_dump(&text, NULL, j, 0), 0);
    tu_write_str(path, text);
    free(text);
    json_decref(j);
    free(psig);
    free(ppay);
    free(sig2);
    free(sig);
    free(pae);
    return path;
}

static char *rt_bundle(const char *out, const sign_key *key, const char *payload)
{
    rt_bopts o;

    memset(&o, 0, sizeof(o));
    return rt_bundle_ex(out, key, payload, strlen(payload), &o);
}

/* A bundle for one subject (name, digest of the file at `artifact`). */
static char *rt_bundle_for(const char *out, const sign_key *key, const char *name, const char *artifact)
{
    char hex[65], *st, *b;

    rt_hex_file(hex, artifact);
    st = rt_stmt1(name, hex);
    b = rt_bundle(out, key, st);
    free(st);
    return b;
}

static sign_policy *rt_policy(const char *json)
{
    sign_policy *p = NULL;
    char *path = rt_p("policy.json");

    tu_write_str(path, json);
    cr_assert_eq(sign_policy_load(&p, path, NULL), 0, "policy: %s", sign_error_last());
    free(path);
    return p;
}

/* Any predicate type: these attacks are about envelopes and statements, which hand-made statements carry. */
static const char rt_pol_ab[] =
    "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\",\"predicate_types\":[\"*\"]},"
    "{\"name\":\"b\",\"public_key\":\"b.pub\",\"predicate_types\":[\"*\"]}]}";

static int rt_verify(sign_verify_result **res, const sign_policy *p, const char *const *arts, size_t na,
                     const char *const *bundles, size_t nb, int64_t at, unsigned flags)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;

    o.artifacts = arts;
    o.nartifacts = na;
    o.bundles = bundles;
    o.nbundles = nb;
    o.at = at;
    o.flags = flags;
    return sign_verify(res, p, &o);
}

/* 1 when a check with this name, reason and status was recorded. */
static int rt_has(const sign_verify_result *r, const char *check, const char *reason, sign_check_status st)
{
    for (size_t i = 0; i < sign_verify_result_check_count(r); i++) {
        const sign_check *c = sign_verify_result_check(r, i);

        if (strcmp(c->check, check) == 0 && strcmp(c->reason, reason) == 0 && c->status == st) {
            return 1;
        }
    }
    return 0;
}

/* Verify one artifact against one bundle under p; returns the code, result in *res. */
static int rt_v1(sign_verify_result **res, const sign_policy *p, const char *art, const char *bundle)
{
    const char *a[1] = {art}, *b[1] = {bundle};

    return rt_verify(res, p, a, 1, b, bundle != NULL ? 1 : 0, 0, 0);
}

static int rt_cli(const char *arg0, ...)
{
    const char *argv[32];
    size_t n = 0;
    va_list ap;

    free(rt_out);
    free(rt_err);
    rt_out = rt_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, sizeof(argv) / sizeof(argv[0]));
    }
    va_end(ap);
    return tu_run(&rt_out, &rt_err, NULL, argv);
}

/* ---- signer identity: keyid / hint ---------------------------------------- */

Test(verify_hostile, keyid_of_trusted_key_with_untrusted_signature_is_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "payload"), *b, kid[SIGN_KEYID_SIZE], hex[65], *st;
    rt_bopts o;

    rt_keyid(kid, rt_ka);
    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    memset(&o, 0, sizeof(o));
    o.keyid = kid; /* names a, signed by u */
    o.hint = kid;
    b = rt_bundle_ex("u-as-a.json", rt_ku, st, strlen(st), &o);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EBADSIG);
    cr_assert(rt_has(res, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL));
    cr_assert_not(rt_has(res, "subject", "OK", SIGN_CHECK_PASS));
    sign_verify_result_free(res);

    /* Only the hint names a; the keyid is empty. */
    o.keyid = "";
    free(b);
    b = rt_bundle_ex("u-hint-a.json", rt_ku, st, strlen(st), &o);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EBADSIG);
    cr_assert(rt_has(res, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);

    /* Names nothing known: every policy key is tried, none verifies. */
    o.keyid = "bm90IGEga2V5";
    o.hint = "";
    free(b);
    b = rt_bundle_ex("u-none.json", rt_ku, st, strlen(st), &o);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EUNTRUSTED);
    cr_assert(rt_has(res, "signer", "KEY_UNTRUSTED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b);
    free(st);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, same_key_under_two_keyids_counts_once)
{
    sign_policy *p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\"},"
                               "{\"name\":\"b\",\"public_key\":\"b.pub\"}],\"require\":{\"threshold\":2}}");
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "payload"), kid[SIGN_KEYID_SIZE], hex[65], *st, *b1, *b2, *b3;
    const char *arts[2], *bs[3];
    rt_bopts o;

    rt_keyid(kid, rt_kb);
    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    b1 = rt_bundle("a1.json", rt_ka, st);
    memset(&o, 0, sizeof(o));
    o.keyid = "";
    o.hint = "";
    b2 = rt_bundle_ex("a2.json", rt_ka, st, strlen(st), &o); /* a again, naming nothing */
    o.keyid = kid;
    o.hint = kid;
    b3 = rt_bundle_ex("a3.json", rt_ka, st, strlen(st), &o); /* a again, claiming to be b */
    bs[0] = b1;
    bs[1] = b2;
    arts[0] = art;
    arts[1] = art; /* the artifact twice on the command line */
    cr_assert_eq(rt_verify(&res, p, arts, 2, bs, 2, 0, 0), SIGN_EPOLICY);
    cr_assert(rt_has(res, "threshold", "THRESHOLD_NOT_MET", SIGN_CHECK_FAIL));
    cr_assert_not(rt_has(res, "threshold", "OK", SIGN_CHECK_PASS));
    sign_verify_result_free(res);
    bs[2] = b3;
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 3, 0, 0), SIGN_EBADSIG);
    cr_assert(rt_has(res, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL));
    cr_assert(rt_has(res, "threshold", "THRESHOLD_NOT_MET", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b1);
    free(b2);
    free(b3);
    free(st);
    free(art);
    sign_policy_free(p);
}

/* The same P-256 key, its point compressed: another SPKI, another key id, the same key. */
static void rt_write_compressed(const sign_key *k, const char *path)
{
    unsigned char *der = NULL, *out = NULL, *q;
    const unsigned char *pp;
    size_t len = 0;
    EVP_PKEY *pk;
    int n;

    cr_assert_eq(sign_key_spki_der(&der, &len, k), 0);
    pp = der;
    pk = d2i_PUBKEY(NULL, &pp, (long)len);
    cr_assert_not_null(pk);
    cr_assert_eq(EVP_PKEY_set_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
    n = i2d_PUBKEY(pk, NULL);
    cr_assert_gt(n, 0);
    out = malloc((size_t)n);
    q = out;
    cr_assert_eq(i2d_PUBKEY(pk, &q), n);
    cr_assert_neq((size_t)n, len, "the compressed SPKI should be shorter");
    tu_write(path, out, (size_t)n);
    free(out);
    free(der);
    EVP_PKEY_free(pk);
}

Test(verify_hostile, same_key_in_two_encodings_is_refused_by_the_policy)
{
    sign_policy *p = NULL;
    char *pol = rt_p("policy.json"), *der = rt_p("b.der"), *cmp = rt_p("b-compressed.der");
    unsigned char *d = NULL;
    size_t dl = 0;

    /* PEM and DER of one key. */
    cr_assert_eq(sign_key_spki_der(&d, &dl, rt_kb), 0);
    tu_write(der, d, dl);
    free(d);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"b\",\"public_key\":\"b.pub\"},"
                      "{\"name\":\"b-again\",\"public_key\":\"b.der\"}],\"require\":{\"threshold\":2}}");
    cr_assert_eq(sign_policy_load(&p, pol, NULL), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "same public key"), "%s", sign_error_last());

    /* Uncompressed and compressed point of one key: two key ids. */
    rt_write_compressed(rt_kb, cmp);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"b\",\"public_key\":\"b.pub\"},"
                      "{\"name\":\"b-again\",\"public_key\":\"b-compressed.der\"}],\"require\":{\"threshold\":2}}");
    cr_assert_eq(sign_policy_load(&p, pol, NULL), SIGN_EINVAL, "one key listed twice must be refused");
    cr_assert_not_null(strstr(sign_error_last(), "same public key"), "%s", sign_error_last());
    cr_assert_null(p);
    free(pol);
    free(der);
    free(cmp);
}

Test(verify_hostile, compressed_policy_key_still_verifies_its_signatures)
{
    sign_policy *p;
    sign_verify_result *res = NULL;
    char *cmp = rt_p("bc.der"), *art = rt_file("app.bin", "x"), *b;

    rt_write_compressed(rt_kb, cmp);
    p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"b\",\"public_key\":\"bc.der\"}]}");
    b = rt_bundle_for("b.json", rt_kb, "app.bin", art); /* key id of the uncompressed SPKI */
    cr_assert_eq(rt_v1(&res, p, art, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    free(b);
    free(art);
    free(cmp);
    sign_policy_free(p);
}

/* ---- names and globs --------------------------------------------------------- */

Test(verify_hostile, signed_bytes_renamed_outside_the_keys_globs_are_refused)
{
    sign_policy *p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"web\",\"public_key\":\"a.pub\","
                               "\"artifacts\":[\"web-*.zip\"]},{\"name\":\"pay\",\"public_key\":\"b.pub\","
                               "\"artifacts\":[\"payments-*.zip\"]}]}");
    sign_verify_result *res = NULL;
    char *web = rt_file("web-1.zip", "code the web key signed"), *b, *pay;

    b = rt_bundle_for("web.json", rt_ka, "web-1.zip", web);
    cr_assert_eq(rt_v1(&res, p, web, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);

    /* The same bytes presented as payments-1.zip: web may not sign that name. */
    pay = rt_file("payments-1.zip", "code the web key signed");
    cr_assert_eq(rt_v1(&res, p, pay, b), SIGN_EPOLICY);
    cr_assert(rt_has(res, "artifact-glob", "SIGNER_NOT_ALLOWED", SIGN_CHECK_FAIL));
    cr_assert(rt_has(res, "threshold", "THRESHOLD_NOT_MET", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(pay);

    /* Another directory, same last component: allowed (globs without '/' match the last component). */
    {
        char *dir = rt_p("incoming"), *moved = rt_p("incoming/web-1.zip");

        (void)mkdir(dir, 0700);
        tu_write_str(moved, "code the web key signed");
        cr_assert_eq(rt_v1(&res, p, moved, b), 0, "%s", sign_error_last());
        sign_verify_result_free(res);
        free(moved);
        free(dir);
    }
    free(b);
    free(web);
    sign_policy_free(p);
}

Test(verify_hostile, directory_patterns_match_the_tail_of_the_given_path)
{
    sign_policy *p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"web\",\"public_key\":\"a.pub\","
                               "\"artifacts\":[\"dist/*.zip\"]}]}");
    sign_verify_result *res = NULL;
    char *d1 = rt_p("dist"), *d2 = rt_p("other"), *d3 = rt_p("dist/sub"), *ok, *bad, *deep, *dots, *b;

    cr_assert_eq(mkdir(d1, 0700), 0);
    cr_assert_eq(mkdir(d2, 0700), 0);
    cr_assert_eq(mkdir(d3, 0700), 0);
    ok = rt_file("dist/app.zip", "z");
    bad = rt_file("other/app.zip", "z");
    deep = rt_file("dist/sub/app.zip", "z");
    b = rt_bundle_for("b.json", rt_ka, "dist/app.zip", ok);
    cr_assert_eq(rt_v1(&res, p, ok, b), 0, "%s", sign_error_last()); /* absolute path ending in dist/app.zip */
    sign_verify_result_free(res);
    cr_assert_eq(rt_v1(&res, p, bad, b), SIGN_EPOLICY);
    cr_assert(rt_has(res, "artifact-glob", "SIGNER_NOT_ALLOWED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    cr_assert_eq(rt_v1(&res, p, deep, b), SIGN_EPOLICY);
    sign_verify_result_free(res);
    /* ".." in the tail never matches; "." and "//" are skipped. */
    dots = NULL;
    cr_assert_gt(asprintf(&dots, "%s/dist/sub/../app.zip", rt_dir), 0);
    cr_assert_eq(rt_v1(&res, p, dots, b), SIGN_EPOLICY);
    sign_verify_result_free(res);
    free(dots);
    cr_assert_gt(asprintf(&dots, "%s/dist/.//app.zip", rt_dir), 0);
    cr_assert_eq(rt_v1(&res, p, dots, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    free(dots);
    free(b);
    free(ok);
    free(bad);
    free(deep);
    free(d1);
    free(d2);
    free(d3);
    sign_policy_free(p);
}

Test(verify_hostile, subject_name_outside_globs_is_refused_whatever_the_file_is_called)
{
    sign_policy *p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"web\",\"public_key\":\"a.pub\","
                               "\"artifacts\":[\"web-*.zip\"]}]}");
    sign_verify_result *res = NULL;
    char *art = rt_file("web-1.zip", "z"), *b;
    const char *names[] = {"payments-1.zip", "WEB-1.zip", "web-1.zip/", "web-1.zip/x", "web-1.zi"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        b = rt_bundle_for("b.json", rt_ka, names[i], art);
        cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPOLICY, "%s", names[i]);
        cr_assert(rt_has(res, "artifact-glob", "SIGNER_NOT_ALLOWED", SIGN_CHECK_FAIL), "%s", names[i]);
        sign_verify_result_free(res);
        free(b);
    }
    /* Directory parts of a signed name do not matter to a pattern without '/': documented. */
    b = rt_bundle_for("b.json", rt_ka, "../dist/web-1.zip", art);
    cr_assert_eq(rt_v1(&res, p, art, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    free(b);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, glob_edge_cases)
{
    /* Policy patterns against names; the policy author writes the patterns, the attacker the names. */
    cr_assert_not(sign_policy_glob_match("web-*.zip", "web-1.zip/evil"));
    cr_assert_not(sign_policy_glob_match("dist/*.zip", "dist/sub/app.zip"));
    cr_assert_not(sign_policy_glob_match("dist/*.zip", "app.zip"));
    cr_assert_not(sign_policy_glob_match("dist/*.zip", "./dist/app.zip"));
    cr_assert_not(sign_policy_glob_match("dist/*.zip", "dist//app.zip"));
    cr_assert_not(sign_policy_glob_match("app-[!0-9].zip", "app-1.zip"));
    cr_assert(sign_policy_glob_match("app-[!0-9].zip", "app-x.zip"));
    cr_assert_not(sign_policy_glob_match("app-?.zip", "app-/.zip"));
    cr_assert_not(sign_policy_glob_match("x/**", "x/a/b"));
    cr_assert(sign_policy_glob_match("**", "a/b")); /* no '/': the last component, documented */
    cr_assert(sign_policy_glob_match("app\\*.zip", "app*.zip"));
    cr_assert_not(sign_policy_glob_match("app\\*.zip", "app-1.zip"));
    cr_assert_not(sign_policy_glob_match("app-*.zip", "\xd0\xb0pp-1.zip")); /* Cyrillic a */
    cr_assert_not(sign_policy_glob_match("app-*.zip", "APP-1.ZIP"));
}

/* ---- the statement ------------------------------------------------------------- */

Test(verify_hostile, duplicate_subject_names_match_by_digest_only)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "real"), hex[65], *st = NULL, *b, *other;

    rt_hex_file(hex, art);
    cr_assert_gt(asprintf(&st,
                          "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\",\"subject\":["
                          "{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"%064d\"}},"
                          "{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"%s\"}}]}",
                          0, hex),
                 0);
    b = rt_bundle("dup.json", rt_ka, st);
    cr_assert_eq(rt_v1(&res, p, art, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    other = rt_file("app2.bin", "changed");
    {
        char *moved = rt_p("sub");
        char *m2;

        (void)mkdir(moved, 0700);
        m2 = rt_p("sub/app.bin");
        tu_write_str(m2, "changed");
        cr_assert_eq(rt_v1(&res, p, m2, b), SIGN_EDIGEST);
        cr_assert(rt_has(res, "subject", "DIGEST_MISMATCH", SIGN_CHECK_FAIL));
        sign_verify_result_free(res);
        free(m2);
        free(moved);
    }
    free(other);
    free(b);
    free(st);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, hostile_statement_payloads_are_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *st, *b, *deep;
    const char *fmts[] = {
        "\xef\xbb\xbf{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}],\"subject\":[]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\",\"sha256\":\"00\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\",\"n\":1e99999,"
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\",\"n\":123456789012345678901234,"
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v2\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha512\":\"@@\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@ \"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]} trailing",
        "[{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
        "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"@@\"}}]}]",
    };

    rt_hex_file(hex, art);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        st = rt_subst(fmts[i], hex);
        b = rt_bundle("s.json", rt_ka, st);
        cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPARSE, "payload %zu: %s", i, sign_error_last());
        cr_assert(rt_has(res, "statement", "STATEMENT_MALFORMED", SIGN_CHECK_FAIL), "payload %zu", i);
        sign_verify_result_free(res);
        free(b);
        free(st);
    }
    /* Deep nesting: refused before jansson recurses. */
    deep = calloc(200000, 1);
    cr_assert_not_null(deep);
    {
        size_t o = (size_t)snprintf(deep, 200000, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"x\":");

        for (int i = 0; i < 50000; i++) {
            deep[o++] = '[';
        }
        deep[o] = '\0';
    }
    b = rt_bundle("deep.json", rt_ka, deep);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPARSE, "%s", sign_error_last());
    cr_assert(rt_has(res, "statement", "STATEMENT_MALFORMED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b);
    free(deep);

    /* A Statement v0.1 is read (documented). */
    st = NULL;
    cr_assert_gt(asprintf(&st,
                          "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"predicateType\":\"x\","
                          "\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\"%s\"}}]}",
                          hex),
                 0);
    b = rt_bundle("v01.json", rt_ka, st);
    cr_assert_eq(rt_v1(&res, p, art, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    free(b);
    free(st);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, payload_base64_variants_decode_to_the_verified_bytes)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *st, *std, *url, *b;
    rt_bopts o;
    size_t n;

    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    std = rt_b64(st, strlen(st));
    url = strdup(std);
    for (char *c = url; *c; c++) {
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    }
    memset(&o, 0, sizeof(o));
    /* URL-safe, unpadded: accepted, and the decoded bytes are what is verified and parsed. */
    n = strlen(url);
    while (n > 0 && url[n - 1] == '=') {
        url[--n] = '\0';
    }
    o.payload_b64 = url;
    b = rt_bundle_ex("url.json", rt_ka, st, strlen(st), &o);
    cr_assert_eq(rt_v1(&res, p, art, b), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    free(b);

    /* Non-canonical: last character with trailing bits set. */
    {
        char *nc = strdup(std);
        size_t l = strlen(nc), pad = 0;

        while (l > 0 && nc[l - 1] == '=') {
            l--;
            pad++;
        }
        if (pad > 0) {
            nc[l - 1] = nc[l - 1] == 'A' ? 'B' : 'A' + (char)((nc[l - 1] - 'A' + 1) % 26);
            o.payload_b64 = nc;
            b = rt_bundle_ex("nc.json", rt_ka, st, strlen(st), &o);
            cr_assert_neq(rt_v1(&res, p, art, b), 0);
            cr_assert(rt_has(res, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL) ||
                      rt_has(res, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL));
            sign_verify_result_free(res);
            free(b);
        }
        free(nc);
    }
    /* Both alphabets mixed, whitespace, and three '=' are malformed. */
    {
        const char *bad[] = {"ab+_", "ab cd", "ab==="};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            o.payload_b64 = bad[i];
            b = rt_bundle_ex("bad.json", rt_ka, st, strlen(st), &o);
            cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPARSE, "%s", bad[i]);
            cr_assert(rt_has(res, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL), "%s", bad[i]);
            sign_verify_result_free(res);
            free(b);
        }
    }
    free(url);
    free(std);
    free(st);
    free(art);
    sign_policy_free(p);
}

/* ---- envelope and signature ---------------------------------------------------- */

Test(verify_hostile, payload_type_variants_and_pae_confusion_are_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *st, *b;
    const char *types[] = {"application/vnd.in-toto+json ", "Application/vnd.in-toto+json",
                           "application/vnd.in-toto+json; charset=utf-8", "application/json"};
    rt_bopts o;

    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    memset(&o, 0, sizeof(o));
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        o.ptype = types[i];
        b = rt_bundle_ex("t.json", rt_ka, st, strlen(st), &o);
        cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EVERIFY, "%s", types[i]);
        cr_assert(rt_has(res, "bundle", "PAYLOAD_TYPE_WRONG", SIGN_CHECK_FAIL));
        cr_assert_not(rt_has(res, "subject", "OK", SIGN_CHECK_PASS));
        sign_verify_result_free(res);
        free(b);
    }
    /* PAE is length-prefixed: the same concatenation with another split does not verify. */
    {
        unsigned char *p1 = NULL, *p2 = NULL;
        size_t l1 = 0, l2 = 0;

        cr_assert_eq(sign_dsse_pae(&p1, &l1, "ab", "c d", 3), 0);
        cr_assert_eq(sign_dsse_pae(&p2, &l2, "ab c", "d", 1), 0);
        cr_assert(l1 != l2 || memcmp(p1, p2, l1) != 0);
        free(p1);
        free(p2);
    }
    free(st);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, signature_with_trailing_garbage_is_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *st, *b;
    rt_bopts o;

    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    memset(&o, 0, sizeof(o));
    o.sig_extra = 1;
    b = rt_bundle_ex("ec.json", rt_kb, st, strlen(st), &o); /* DER ECDSA + one byte */
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EBADSIG);
    cr_assert(rt_has(res, "signature", "SIGNATURE_INVALID", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b);
    b = rt_bundle_ex("ed.json", rt_ka, st, strlen(st), &o); /* Ed25519 + one byte */
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EBADSIG);
    sign_verify_result_free(res);
    free(b);
    free(st);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, certificate_bundles_are_not_trusted)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *st, *b, *text = NULL, *pl;
    json_t *j;

    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    pl = rt_b64(st, strlen(st));
    /* v0.2 with a chain; the "certificate" is junk but must not be trusted either way. */
    j = json_pack("{s:s,s:{s:s,s:s,s:[{s:s,s:s}]},s:{s:{s:[{s:s}]},s:[]}}", "mediaType", SIGN_BUNDLE_MEDIA_TYPE_V02,
                  "dsseEnvelope", "payload", pl, "payloadType", SIGN_INTOTO_PAYLOAD_TYPE, "signatures", "keyid", "",
                  "sig", "AAAA", "verificationMaterial", "x509CertificateChain", "certificates", "rawBytes", "MIIB",
                  "tlogEntries");
    cr_assert_not_null(j);
    cr_assert_eq(sign__json_dump(&text, NULL, j, 0), 0);
    b = rt_p("chain.json");
    tu_write_str(b, text);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPARSE);
    cr_assert(rt_has(res, "signer", "CERTIFICATE_MALFORMED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    json_decref(j);
    free(text);
    free(b);
    free(pl);
    free(st);
    free(art);
    sign_policy_free(p);
}

/* ---- artifacts and bundles as files ----------------------------------------------- */

Test(verify_hostile, special_files_are_refused_without_hanging)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("b.json", rt_ka, "app.bin", art);
    char *fifo = rt_p("fifo"), *dir = rt_p("d"), *link = rt_p("link.bin"), *blink = rt_p("blink.json");

    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(symlink(art, link), 0);
    cr_assert_eq(symlink(b, blink), 0);
    {
        const char *arts[] = {fifo, dir, "/dev/zero", "/dev/null"};

        for (size_t i = 0; i < sizeof(arts) / sizeof(arts[0]); i++) {
            cr_assert_eq(rt_v1(&res, p, arts[i], b), SIGN_EINVAL, "%s: %s", arts[i], sign_error_last());
            cr_assert(rt_has(res, "artifact", "ARTIFACT_UNREADABLE", SIGN_CHECK_FAIL), "%s", arts[i]);
            sign_verify_result_free(res);
        }
    }
    {
        const char *bs[] = {fifo, dir, "/dev/zero"};

        for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
            cr_assert_eq(rt_v1(&res, p, art, bs[i]), SIGN_EIO, "%s: %s", bs[i], sign_error_last());
            cr_assert(rt_has(res, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL), "%s", bs[i]);
            sign_verify_result_free(res);
        }
    }
    /* Symlinks are followed: the bytes are what counts (the link's name must fit the globs). */
    cr_assert_eq(rt_v1(&res, p, art, blink), 0, "%s", sign_error_last());
    sign_verify_result_free(res);
    {
        char *b2 = rt_bundle_for("b2.json", rt_ka, "link.bin", art);

        cr_assert_eq(rt_v1(&res, p, link, b2), 0, "%s", sign_error_last());
        sign_verify_result_free(res);
        free(b2);
    }
    free(fifo);
    free(dir);
    free(link);
    free(blink);
    free(b);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, oversize_bundle_is_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    sign_limits lim = SIGN_LIMITS_INIT;
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("b.json", rt_ka, "app.bin", art);
    const char *arts[1] = {art}, *bs[1] = {b};

    lim.json_max_bytes = 64;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bs;
    o.nbundles = 1;
    o.limits = &lim;
    cr_assert_eq(sign_verify(&res, p, &o), SIGN_ELIMIT, "%s", sign_error_last());
    cr_assert(rt_has(res, "bundle", "BUNDLE_MALFORMED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b);
    free(art);
    sign_policy_free(p);
}

Test(verify_hostile, too_many_subjects_are_refused)
{
    sign_policy *p = rt_policy(rt_pol_ab);
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), hex[65], *b;
    size_t cap = 16u * 1024 * 1024, o = 0;
    char *st = malloc(cap);

    rt_hex_file(hex, art);
    cr_assert_not_null(st);
    o += (size_t)snprintf(st + o, cap - o,
                          "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"x\","
                          "\"subject\":[");
    for (int i = 0; i < 100001; i++) { /* one more than the limit */
        o +=
            (size_t)snprintf(st + o, cap - o, "%s{\"name\":\"n\",\"digest\":{\"sha256\":\"%s\"}}", i ? "," : "", hex);
        cr_assert_lt(o, cap - 256);
    }
    snprintf(st + o, cap - o, "]}");
    b = rt_bundle("many.json", rt_ka, st);
    cr_assert_eq(rt_v1(&res, p, art, b), SIGN_EPARSE, "%s", sign_error_last());
    cr_assert(rt_has(res, "statement", "STATEMENT_MALFORMED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    free(b);
    free(st);
    free(art);
    sign_policy_free(p);
}

/* ---- time ---------------------------------------------------------------------------- */

Test(verify_hostile, validity_window_edges)
{
    sign_policy *p = rt_policy("{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\","
                               "\"not_before\":\"2026-01-01T00:00:00Z\",\"not_after\":\"2027-01-01T00:00:00Z\"}]}");
    sign_verify_result *res = NULL;
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("b.json", rt_ka, "app.bin", art);
    const char *arts[1] = {art}, *bs[1] = {b};
    int64_t nb = 0, na = 0;

    cr_assert_eq(sign_parse_time(&nb, "2026-01-01T00:00:00Z"), 0);
    cr_assert_eq(sign_parse_time(&na, "2027-01-01T00:00:00Z"), 0);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, nb, 0), 0, "at not_before");
    sign_verify_result_free(res);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, na, 0), 0, "at not_after");
    sign_verify_result_free(res);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, nb - 1, 0), SIGN_EEXPIRED);
    cr_assert(rt_has(res, "key-validity", "KEY_NOT_YET_VALID", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, na + 1, 0), SIGN_EEXPIRED);
    cr_assert(rt_has(res, "key-validity", "KEY_EXPIRED", SIGN_CHECK_FAIL));
    sign_verify_result_free(res);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, INT64_MAX, 0), SIGN_EEXPIRED);
    sign_verify_result_free(res);
    cr_assert_eq(rt_verify(&res, p, arts, 1, bs, 1, INT64_MIN, 0), SIGN_EEXPIRED);
    sign_verify_result_free(res);
    free(b);
    free(art);
    sign_policy_free(p);
}

/* ---- the command line ---------------------------------------------------------------- */

Test(verify_hostile, cli_exit_codes_and_modes)
{
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("app.bin.sigstore.json", rt_ka, "app.bin", art);
    char *bu = rt_bundle_for("u.json", rt_ku, "app.bin", art), *pol = rt_p("policy.json");
    char *wpol = rt_p("warn.json"), *tam = rt_p("tampered.bin");

    tu_write_str(pol, rt_pol_ab);
    tu_write_str(wpol, "{\"version\":1,\"mode\":\"warn\",\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\"}]}");
    tu_write_str(tam, "y");
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, art, NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "-b", bu, art, NULL), 3, "%s", rt_err);
    /* Bytes no signature covers, under a name the bundle does not know: 1, as a changed file (docs/verify.md). */
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "-b", b, tam, NULL), 1, "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "-p", wpol, "-b", bu, art, NULL), 0, "%s", rt_err);
    cr_assert_not_null(strstr(rt_err, "WARN KEY_UNTRUSTED"), "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "--json", "-p", wpol, "-b", bu, art, NULL), 0, "%s", rt_err);
    cr_assert_not_null(strstr(rt_out, "\"verified\":false"), "%s", rt_out);
    cr_assert_eq(rt_cli("signet", "verify", "-p", wpol, "-b", b, rt_dir, NULL), 2, "%s", rt_err);
    free(art);
    free(b);
    free(bu);
    free(pol);
    free(wpol);
    free(tam);
}

Test(verify_hostile, cli_options_injected_through_artifact_names_do_not_pass)
{
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("app.bin.sigstore.json", rt_ku, "app.bin", art);
    char *pol = rt_p("policy.json"), *evil = rt_p("evil.json");

    tu_write_str(pol, rt_pol_ab);
    tu_write_str(evil, "{\"version\":1,\"mode\":\"audit\",\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\"}]}");
    /* The artifact is signed by an untrusted key: every run below must fail. */
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, art, NULL), 3, "%s", rt_err);
    /* A file called --help or -h among the artifacts must not turn into "exit 0, nothing verified". */
    cr_assert_neq(rt_cli("signet", "verify", "-p", pol, art, "--help", NULL), 0, "%s", rt_out);
    cr_assert_neq(rt_cli("signet", "verify", "-p", pol, "-h", art, NULL), 0, "%s", rt_out);
    /* A second policy or time must not override the hook's. */
    {
        char popt[4096];

        snprintf(popt, sizeof(popt), "--policy=%s", evil);
        cr_assert_eq(rt_cli("signet", "verify", "-p", pol, art, popt, NULL), 2, "%s", rt_err);
        snprintf(popt, sizeof(popt), "-p%s", evil);
        cr_assert_eq(rt_cli("signet", "verify", "-p", pol, popt, art, NULL), 2, "%s", rt_err);
    }
    cr_assert_eq(
        rt_cli("signet", "verify", "--at", "2026-01-01T00:00:00Z", "-p", pol, "--at=2020-01-01T00:00:00Z", art, NULL),
        2, "%s", rt_err);
    /* After "--" everything is an artifact. */
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--", art, "--help", NULL), 2, "%s", rt_err);
    /* --help alone still helps. */
    cr_assert_eq(rt_cli("signet", "verify", "--help", NULL), 0, "%s", rt_err);
    free(art);
    free(b);
    free(pol);
    free(evil);
}

Test(verify_hostile, cli_at_epoch_is_not_now)
{
    char *art = rt_file("app.bin", "x"), *b = rt_bundle_for("app.bin.sigstore.json", rt_ka, "app.bin", art);
    char *pol = rt_p("policy.json");

    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\","
                      "\"not_before\":\"2026-01-01T00:00:00Z\"}]}");
    /* 1970-01-01T00:00:00Z is before not_before; it must not be read as "now" (KEY_NOT_YET_VALID: 6). */
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--at", "1970-01-01T00:00:00Z", art, NULL), 6, "%s", rt_out);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--at", "1969-12-31T23:59:59Z", art, NULL), 6, "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--at", "9999-12-31T23:59:59Z", art, NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--at", "2026-02-30T00:00:00Z", art, NULL), 2, "%s", rt_err);
    /* A key valid only around the epoch: judged at the epoch itself it passes, now it has expired. */
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\","
                      "\"not_before\":\"1969-12-31T00:00:00Z\",\"not_after\":\"1970-01-02T00:00:00Z\"}]}");
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "--at", "1970-01-01T00:00:00Z", art, NULL), 0, "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, art, NULL), 6, "%s", rt_err);
    free(art);
    free(b);
    free(pol);
}

Test(verify_hostile, error_messages_do_not_leak_key_material)
{
    sign_key *k = NULL;
    char *key = rt_p("priv.key"), *pol = rt_p("policy.json"), *art = rt_file("app.bin", "x"), *pem, *line;
    size_t len = 0;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_private(k, key, NULL, 0), 0, "%s", sign_error_last());
    sign_key_free(k);
    pem = tu_read(key, &len);
    line = strchr(pem, '\n');
    cr_assert_not_null(line);
    line++;
    line[16] = '\0'; /* the first base64 characters of the key body */

    /* The private key given as bundle, as policy, and as a policy's public key. */
    tu_write_str(pol, rt_pol_ab);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "-b", key, art, NULL), 2);
    cr_assert_null(strstr(rt_err, line), "%s", rt_err);
    cr_assert_null(strstr(rt_out, line), "%s", rt_out);
    cr_assert_eq(rt_cli("signet", "verify", "-p", key, art, NULL), 2);
    cr_assert_null(strstr(rt_err, line), "%s", rt_err);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"priv.key\"}]}");
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, art, NULL), 2);
    cr_assert_null(strstr(rt_err, line), "%s", rt_err);
    cr_assert_not_null(strstr(rt_err, "private key"), "%s", rt_err);
    cr_assert_eq(rt_cli("signet", "verify", "--json", "-p", pol, art, NULL), 2);
    cr_assert_null(strstr(rt_out, line), "%s", rt_out);
    free(pem);
    free(key);
    free(pol);
    free(art);
}

Test(verify_hostile, passphrase_is_never_echoed)
{
    const char *env[] = {"SIGNET_PASSPHRASE=correct horse battery", NULL};
    const char *env2[] = {"SIGNET_PASSPHRASE=wrong-secret-passphrase", NULL};
    char *prefix = rt_p("k"), *key = rt_p("k.key"), *art = rt_file("app.bin", "x"), *out = rt_p("o.json");
    const char *kg[] = {"signet", "keygen", "-o", prefix, NULL};
    const char *sg[] = {"signet", "sign", "-k", key, "-o", out, art, NULL};

    cr_assert_eq(tu_run(&rt_out, &rt_err, env, kg), 0, "%s", rt_err);
    free(rt_out);
    free(rt_err);
    cr_assert_neq(tu_run(&rt_out, &rt_err, env2, sg), 0);
    cr_assert_null(strstr(rt_err, "wrong-secret"), "%s", rt_err);
    cr_assert_null(strstr(rt_out, "wrong-secret"), "%s", rt_out);
    cr_assert_not(tu_exists(out));
    free(rt_out);
    free(rt_err);
    rt_out = rt_err = NULL;
    free(prefix);
    free(key);
    free(art);
    free(out);
}

Test(verify_hostile, human_output_does_not_carry_control_characters_from_the_bundle)
{
    char *art = rt_file("app.bin", "x"), hex[65], *st, *b, *pol = rt_p("policy.json");
    rt_bopts o;

    tu_write_str(pol, rt_pol_ab);
    rt_hex_file(hex, art);
    st = rt_stmt1("app.bin", hex);
    memset(&o, 0, sizeof(o));
    /* An untrusted signer's key id is printed; it must not forge lines or terminal escapes. */
    o.keyid = "x\n\x1b[2Kverified: 1 artifact(s) under policy.json (signers: a)\r";
    o.hint = "";
    b = rt_bundle_ex("u.json", rt_ku, st, strlen(st), &o);
    cr_assert_eq(rt_cli("signet", "verify", "-p", pol, "-b", b, art, NULL), 3, "%s", rt_err);
    cr_assert_null(strchr(rt_err, '\x1b'), "%s", rt_err);
    cr_assert_null(strchr(rt_err, '\r'), "%s", rt_err);
    cr_assert_null(strstr(rt_err, "\nverified"), "%s", rt_err);
    cr_assert_not_null(strstr(rt_err, "KEY_UNTRUSTED"), "%s", rt_err);
    /* --json escapes them. */
    cr_assert_eq(rt_cli("signet", "verify", "--json", "-p", pol, "-b", b, art, NULL), 3, "%s", rt_err);
    cr_assert_null(strchr(rt_out, '\x1b'), "%s", rt_out);
    free(b);
    free(st);
    free(art);
    free(pol);
}
