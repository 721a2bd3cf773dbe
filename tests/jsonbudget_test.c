/*
 * The JSON memory budget (issue 14, item 9): documents of the size limit whose
 * shape makes jansson allocate many times their size are refused by the
 * pre-pass in libsign/util/json.c before anything is built. Each test writes
 * its big input into a temporary directory, runs `signet verify --json` on it
 * and measures the child's peak memory (getrusage RUSAGE_CHILDREN: each test
 * runs in its own process, so the only children are this test's) and time.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define JB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JB_SANITIZED 1
#endif
#endif
#ifndef JB_SANITIZED
#define JB_SANITIZED 0
#endif

static char *jb_dir;

static void jb_setup(void)
{
    jb_dir = tu_mkdtemp();
}

static void jb_teardown(void)
{
    tu_rmtree(jb_dir);
    free(jb_dir);
    jb_dir = NULL;
}

TestSuite(jsonbudget, .init = jb_setup, .fini = jb_teardown, .timeout = 300);

/* A growing text buffer for the big documents. */
typedef struct jb_buf {
    char *p;
    size_t n, cap;
} jb_buf;

static void jb_put(jb_buf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1u << 20;

        while (ncap < b->n + len + 1) {
            ncap *= 2;
        }
        b->p = realloc(b->p, ncap);
        cr_assert_not_null(b->p);
        b->cap = ncap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void jb_puts(jb_buf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

/* n copies of item separated by commas, in groups of `group` (inner arrays), so the budget decides, not the
   per-container cap. */
static void jb_repeat(jb_buf *b, const char *item, size_t n, size_t group)
{
    size_t len = strlen(item);

    for (size_t i = 0; i < n; i++) {
        if (group > 0 && i % group == 0) {
            jb_puts(b, i == 0 ? "[" : "],[");
        } else if (i > 0) {
            jb_put(b, ",", 1);
        }
        jb_put(b, item, len);
    }
    if (group > 0 && n > 0) {
        jb_put(b, "]", 1);
    }
}

/* A key, its policy and a small artifact. */
static sign_key *jb_key_and_policy(void)
{
    sign_key *k = NULL;
    char *p = tu_path(jb_dir, "a.pub"), *pol = tu_path(jb_dir, "policy.json"), *art = tu_path(jb_dir, "app.bin");

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_public(k, p), 0);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"a\",\"public_key\":\"a.pub\"}]}");
    tu_write_str(art, "app\n");
    free(p);
    free(pol);
    free(art);
    return k;
}

/* Sign statement text into bundle.json. */
static void jb_sign_statement(const sign_key *k, const char *text, size_t len)
{
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    char *path = tu_path(jb_dir, "bundle.json");

    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, text, len), 0, "%s", sign_error_last());
    cr_assert_eq(sign_envelope_sign(env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_new(&b, env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_write(b, path), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    free(path);
}

/*
 * signet verify --json on the bundle: refused with `reason`, --json printed a JSON object naming it, and the
 * process stayed within 8 times the bundle's size and one second (not measured under the sanitizers).
 */
static void jb_verify_refused(const char *reason)
{
    char *pol = tu_path(jb_dir, "policy.json"), *art = tu_path(jb_dir, "app.bin"),
         *bun = tu_path(jb_dir, "bundle.json");
    const char *argv[] = {"signet", "verify", "--json", "-p", pol, "-b", bun, "--", art, NULL};
    char *out = NULL, *err = NULL, *text;
    size_t blen = 0;
    struct rusage ru;
    long long t0, us, cpu;
    json_t *j;
    int rc;

    text = tu_read(bun, &blen);
    free(text);
    t0 = tu_now_us();
    rc = tu_run(&out, &err, NULL, argv);
    us = tu_now_us() - t0;
    cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    cr_assert_neq(rc, 0, "accepted: %s", out);
    j = json_loads(out != NULL ? out : "", 0, NULL);
    cr_assert_not_null(j, "--json printed no JSON object: %s / %s", out, err);
    cr_assert_not_null(strstr(out, reason), "no %s in %s", reason, out);
    cr_assert_not_null(strstr(out, "before anything was built") != NULL ? out : strstr(out, "elements"),
                       "not refused by the budget: %s", out);
    json_decref(j);
    fprintf(stderr, "jsonbudget: %zu-byte bundle refused (%s): %lld ms CPU (%lld ms wall), peak %ld KiB (%.2fx)\n",
            blen, reason, cpu / 1000, us / 1000, ru.ru_maxrss, (double)ru.ru_maxrss * 1024.0 / (double)blen);
    if (!JB_SANITIZED) {
        cr_assert_leq((double)ru.ru_maxrss * 1024.0, 8.0 * (double)blen, "peak %ld KiB for %zu bytes", ru.ru_maxrss,
                      blen);
        /*
         * CPU time, not wall time: the machines that run the suite are shared. Reading, decoding and checking the
         * signature of 50 MB takes about 1.3 s of CPU on a loaded VM (the budget's pre-pass is 0.1 s of it); the
         * bound catches the 14 s that building the nodes took before.
         */
        cr_assert_lt(cpu, 3000000, "took %lld us of CPU", cpu);
    }
    free(out);
    free(err);
    free(pol);
    free(art);
    free(bun);
}

/* An unauthenticated 60 MiB bundle whose unknown field holds about 20 million {} (4.8 GB in jansson before). */
Test(jsonbudget, unauthenticated_bundle_of_empty_objects)
{
    jb_buf b = {NULL, 0, 0};
    char *path = tu_path(jb_dir, "bundle.json");
    sign_key *k = jb_key_and_policy();

    jb_puts(&b, "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"unknown\":[");
    jb_repeat(&b, "{}", 20u * 1000 * 1000, 1000);
    jb_puts(&b, "]}");
    cr_assert_lt(b.n, 64u * 1024 * 1024);
    tu_write(path, b.p, b.n);
    free(b.p);
    jb_verify_refused("BUNDLE_MALFORMED");
    sign_key_free(k);
    free(path);
}

/* A signed 40 MB statement of 20 million integers (847 MiB before). */
Test(jsonbudget, signed_statement_of_integers)
{
    jb_buf b = {NULL, 0, 0};
    sign_key *k = jb_key_and_policy();

    jb_puts(&b, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"" SIGN_PREDICATE_TYPE
                "\",\"subject\":[{\"name\":\"app.bin\",\"digest\":{\"sha256\":\""
                "0000000000000000000000000000000000000000000000000000000000000000\"}}],\"predicate\":{\"n\":[");
    jb_repeat(&b, "1", 20u * 1000 * 1000, 1000);
    jb_puts(&b, "]}}");
    jb_sign_statement(k, b.p, b.n);
    free(b.p);
    jb_verify_refused("STATEMENT_MALFORMED");
    sign_key_free(k);
}

/* A signed statement with a million subjects (393 MiB before). */
Test(jsonbudget, signed_statement_of_a_million_subjects)
{
    jb_buf b = {NULL, 0, 0};
    sign_key *k = jb_key_and_policy();

    jb_puts(&b, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"" SIGN_PREDICATE_TYPE
                "\",\"predicate\":{},\"subject\":[");
    jb_repeat(&b, "{\"name\":\"a\",\"digest\":{\"sha256\":\"00\"}}", 1000u * 1000, 0);
    jb_puts(&b, "]}");
    jb_sign_statement(k, b.p, b.n);
    free(b.p);
    jb_verify_refused("STATEMENT_MALFORMED");
    sign_key_free(k);
}

/* The pre-pass counts before jansson: a small document over its element cap or budget is refused by the library. */
Test(jsonbudget, library_refuses_with_elimit_and_says_why)
{
    jb_buf b = {NULL, 0, 0};
    sign_bundle *bun = NULL;
    sign_statement *st = NULL;
    sign_limits l;

    sign_limits_default(&l);
    jb_puts(&b, "[");
    jb_repeat(&b, "\"0123456789012345678901234567890123456789\"", (1u << 20) + 1, 0);
    jb_puts(&b, "]");
    cr_assert_eq(sign_statement_parse(&st, b.p, b.n, &l), SIGN_ELIMIT);
    cr_assert_not_null(strstr(sign_error_last(), "elements"), "%s", sign_error_last());
    b.n = 0;
    jb_puts(&b, "{\"x\":[");
    jb_repeat(&b, "{}", 200000, 100);
    jb_puts(&b, "]}");
    /* 600 KB of {} would be 50 MB of nodes: over 12x + 16 MiB. */
    cr_assert_eq(sign_bundle_parse(&bun, b.p, b.n, &l), SIGN_ELIMIT);
    cr_assert_not_null(strstr(sign_error_last(), "memory"), "%s", sign_error_last());
    cr_assert_null(bun);
    free(b.p);
}

/*
 * The pre-pass's work, counted (sign__json_scan_steps, not timed): a long plain string (a bundle's base64
 * payload) is read 8 bytes a step, a short string in one step to its closing quote and one for the quote. The
 * byte-by-byte loop took a step per byte: 8 M steps for the 8 MB string, 60% of parsing a 50 MB bundle.
 */
Test(jsonbudget, the_pre_pass_reads_strings_a_word_at_a_time)
{
    jb_buf b = {NULL, 0, 0};
    json_t *j = NULL;
    uint64_t before;
    size_t n = 8u * 1024 * 1024;

    jb_puts(&b, "{\"payload\":\"");
    for (size_t i = 0; i < n / 64; i++) {
        jb_puts(&b, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2");
    }
    jb_puts(&b, "\"}");
    before = sign__json_scan_steps;
    cr_assert_eq(sign__json_parse(&j, b.p, b.n, NULL, "test"), 0, "%s", sign_error_last());
    cr_assert_leq(sign__json_scan_steps - before, n / 8 + 16, "%llu steps for %zu bytes",
                  (unsigned long long)(sign__json_scan_steps - before), n);
    cr_assert_eq(json_string_length(json_object_get(j, "payload")), n);
    json_decref(j);
    /* 100,000 short strings, escapes and non-ASCII among them: at most 3 steps each, plus one per special byte. */
    b.n = 0;
    jb_puts(&b, "[");
    jb_repeat(&b, "\"ab\",\"c\\u00e9d\",\"\xc3\xa9\"", 100000, 0);
    jb_puts(&b, "]");
    before = sign__json_scan_steps;
    cr_assert_eq(sign__json_parse(&j, b.p, b.n, NULL, "test"), 0, "%s", sign_error_last());
    cr_assert_leq(sign__json_scan_steps - before, 100000u * (3 * 3 + 4), "%llu steps",
                  (unsigned long long)(sign__json_scan_steps - before));
    json_decref(j);
    free(b.p);
}

/*
 * Unknown members (issue 14, item 9: "skipped without being built"). A reader that lists the members it knows
 * (sign__json_parse_known) gets null for the value of any other member, and that value is never built; it is
 * still read as strictly as jansson reads it, so a document is refused exactly when sign__json_parse refuses it,
 * with the same message.
 */
static const sign__json_field jb_inner[] = {{"x", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field jb_item[] = {{"y", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field jb_root[] = {{"k", jb_inner, NULL}, {"l", NULL, jb_item}, {NULL, NULL, NULL}};

/* {"k":{"x":1,"u":V},"l":[{"y":2,"u":V}],"u":V} with V = value. */
static char *jb_with_unknown(const char *value)
{
    size_t n = strlen(value) * 3 + 64;
    char *s = malloc(n);

    cr_assert_not_null(s);
    snprintf(s, n, "{\"k\":{\"x\":1,\"u\":%s},\"l\":[{\"y\":2,\"u\":%s}],\"u\":%s}", value, value, value);
    return s;
}

Test(jsonbudget, unknown_members_read_as_null)
{
    static const char *const valid[] = {"{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
                                        "\"\\ud83d\\ude00 \\u00e9 \xc3\xa9 \xf0\x9f\x98\x80\"",
                                        "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "1e308",
                                        "-0.5e-999",
                                        "[[[[{}]]],[],{\"\":{}}]",
                                        "{\"a\":1,\"\\u0062\":2,\"aa\":3,\"\xc3\xa9\":4}",
                                        "true",
                                        "false",
                                        "null",
                                        " \t\r\n[ 1 , 2 ] "};
    const char *key;
    json_t *j = NULL, *plain = NULL, *v;

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char *doc = jb_with_unknown(valid[i]);

        cr_assert_eq(sign__json_parse(&plain, doc, strlen(doc), NULL, "t"), 0, "%s: %s", doc, sign_error_last());
        cr_assert_eq(sign__json_parse_known(&j, doc, strlen(doc), NULL, "t", jb_root), 0, "%s: %s", doc,
                     sign_error_last());
        cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "k"), "x")), 1);
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "l"), 0), "y")), 2);
        /* Each unknown value is null (a value shorter than "null" may be kept: it is no cheaper to skip). */
        v = json_object_get(j, "u");
        cr_assert(json_is_null(v) || (strlen(valid[i]) < 4 && json_equal(v, json_object_get(plain, "u"))), "%s", doc);
        cr_assert(json_is_null(json_object_get(json_object_get(j, "k"), "u")) || strlen(valid[i]) < 4, "%s", doc);
        cr_assert(json_is_null(json_object_get(json_array_get(json_object_get(j, "l"), 0), "u")) ||
                      strlen(valid[i]) < 4,
                  "%s", doc);
        /* Apart from them, the same tree. */
        json_object_foreach(plain, key, v)
        {
            cr_assert_not_null(json_object_get(j, key), "%s lost %s", doc, key);
        }
        cr_assert_eq(json_object_size(j), json_object_size(plain));
        json_decref(j);
        json_decref(plain);
        free(doc);
    }
    /* A known name written with escapes is known; an object that is not described is built whole. */
    {
        const char *doc = "{\"\\u006b\":{\"x\":[1],\"u\":\"abcdef\"},\"l\":[[{\"u\":\"abcdef\"}]]}";

        cr_assert_eq(sign__json_parse_known(&j, doc, strlen(doc), NULL, "t", jb_root), 0, "%s", sign_error_last());
        cr_assert(json_is_null(json_object_get(json_object_get(j, "k"), "u")));
        cr_assert_str_eq(
            json_string_value(json_object_get(json_array_get(json_array_get(json_object_get(j, "l"), 0), 0), "u")),
            "abcdef");
        json_decref(j);
    }
}

Test(jsonbudget, unknown_members_are_refused_as_jansson_refuses_them)
{
    static const char *const hostile[] = {"{\"a\":1,\"a\":2}",
                                          "{\"a\":1,\"\\u0061\":2}",
                                          "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
                                          "[{\"b\":{},\"c\":[],\"b\":3}]",
                                          "\"\\u0000\"",
                                          "{\"\\u0000\":1}",
                                          "\"\\ud800\"",
                                          "\"\\udc00x\"",
                                          "\"\\ud800\\u0041\"",
                                          "\"a\x01\"",
                                          "\"a\nb\"",
                                          "\"\xc0\x80\"",
                                          "\"\xed\xa0\x80\"",
                                          "\"\xf4\x90\x80\x80\"",
                                          "\"\xc3\"",
                                          "\"\x80\"",
                                          "99999999999999999999",
                                          "-9223372036854775809",
                                          "1e999",
                                          "-1e999",
                                          "[1,]",
                                          "{\"a\":1,}",
                                          "01",
                                          "1.",
                                          ".5",
                                          "-",
                                          "1e",
                                          "1e+",
                                          "truex",
                                          "nul",
                                          "[1 2]",
                                          "{\"a\" 1}",
                                          "{1:2}",
                                          "\"abc",
                                          "[",
                                          "\"\\x\"",
                                          "\"\\u12G4\"",
                                          "'a'",
                                          "[]]",
                                          "{}}",
                                          "1 2",
                                          "+1",
                                          "NaN",
                                          "[1,,2]",
                                          "{,}",
                                          "\xc3\xa9"};

    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *doc = jb_with_unknown(hostile[i]), *msg;
        json_t *j = NULL;
        int rp, rk;

        rp = sign__json_parse(&j, doc, strlen(doc), NULL, "t");
        cr_assert_neq(rp, 0, "jansson took %s", doc);
        msg = strdup(sign_error_last());
        rk = sign__json_parse_known(&j, doc, strlen(doc), NULL, "t", jb_root);
        cr_assert_eq(rk, rp, "%s: %d, not %d: %s", doc, rk, rp, sign_error_last());
        cr_assert_str_eq(sign_error_last(), msg, "%s", doc);
        cr_assert_null(j);
        free(msg);
        free(doc);
    }
}

/* jansson's allocations, counted (installed before the first parse; json.c's watch wraps them). */
static _Thread_local size_t jb_alloc_bytes;

static void *jb_count_malloc(size_t n)
{
    jb_alloc_bytes += n;
    return malloc(n);
}

/*
 * An unauthenticated bundle whose unknown members hold 100,000 strings of 100 bytes (10 MB of text, 20 MB of
 * nodes, within the budget): parsed with them skipped, jansson allocates under 1 MB; the same text parsed whole
 * allocates more than 10 MB. Counted, not timed or measured by RSS.
 */
Test(jsonbudget, a_bundles_unknown_members_are_never_built)
{
    jb_buf b = {NULL, 0, 0};
    sign_key *k = NULL;
    sign_envelope *env = NULL;
    sign_bundle *bun = NULL;
    char *text = NULL, item[128];
    size_t n = 0, before, skipped, whole;
    json_t *j = NULL;

    json_set_alloc_funcs(jb_count_malloc, free);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, "{}", 2), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0);
    cr_assert_eq(sign_bundle_new(&bun, env, k), 0);
    cr_assert_eq(sign_bundle_serialize(&text, &n, bun), 0);
    sign_bundle_free(bun);
    bun = NULL;
    /* The bundle, an unknown member at its root and one in its verificationMaterial. */
    cr_assert_eq(text[n - 1], '}');
    jb_put(&b, text, n - 1);
    jb_puts(&b, ",\"extra\":[");
    memset(item, 'a', sizeof(item));
    item[0] = '"';
    item[101] = '"';
    item[102] = '\0';
    jb_repeat(&b, item, 50000, 0);
    jb_puts(&b, "]}");
    {
        char *vm = strstr(b.p, "\"verificationMaterial\":{");
        jb_buf c = {NULL, 0, 0};

        cr_assert_not_null(vm);
        vm += strlen("\"verificationMaterial\":{");
        jb_put(&c, b.p, (size_t)(vm - b.p));
        jb_puts(&c, "\"future\":{\"list\":[");
        jb_repeat(&c, item, 50000, 0);
        jb_puts(&c, "]},");
        jb_puts(&c, vm);
        free(b.p);
        b = c;
    }
    before = jb_alloc_bytes;
    cr_assert_eq(sign_bundle_parse(&bun, b.p, b.n, NULL), 0, "%s", sign_error_last());
    skipped = jb_alloc_bytes - before;
    cr_assert_eq(sign_envelope_verify(sign_bundle_envelope(bun), 0, k), 0, "%s", sign_error_last());
    before = jb_alloc_bytes;
    cr_assert_eq(sign__json_parse(&j, b.p, b.n, NULL, "bundle"), 0, "%s", sign_error_last());
    whole = jb_alloc_bytes - before;
    fprintf(stderr, "jsonbudget: %zu-byte bundle, unknown members skipped: jansson allocated %zu bytes; built: %zu\n",
            b.n, skipped, whole);
    cr_assert_lt(skipped, 1u << 20, "%zu bytes allocated", skipped);
    cr_assert_gt(whole, 10u << 20, "%zu bytes allocated", whole);
    json_decref(j);
    sign_bundle_free(bun);
    sign_key_free(k);
    free(text);
    free(b.p);
}

/*
 * Accepted, not refused: a signed bundle that an unknown member makes 60 MB (590,000 strings of 100 bytes,
 * within the budget) verifies, and its unknown member is never built: measured at 1.1 times the bundle's size
 * (2.7 times, and 2.3 s of CPU, when jansson built it). The bound here is 2 times (not under the sanitizers).
 */
Test(jsonbudget, a_signed_bundle_with_60_mb_of_unknown_members_verifies_lean)
{
    char *key = tu_path(jb_dir, "k"), *keyf = tu_path(jb_dir, "k.key"), *pol = tu_path(jb_dir, "kpol.json"),
         *art = tu_path(jb_dir, "app.bin"), *bun = tu_path(jb_dir, "bundle.json"), *out = NULL, *err = NULL, *text;
    const char *kg[] = {"signet", "keygen", "--no-passphrase", "-o", key, NULL};
    const char *sg[] = {"signet", "sign", "-k", keyf, "-o", bun, art, NULL};
    const char *vf[] = {"signet", "verify", "--json", "-p", pol, "-b", bun, "--", art, NULL};
    jb_buf b = {NULL, 0, 0};
    char item[128];
    size_t n = 0, blen;
    struct rusage ru;

    tu_write_str(art, "app\n");
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"k.pub\"}]}");
    cr_assert_eq(tu_run(NULL, NULL, NULL, kg), 0);
    cr_assert_eq(tu_run(NULL, NULL, NULL, sg), 0);
    text = tu_read(bun, &n);
    while (n > 0 && text[n - 1] != '}') {
        n--;
    }
    jb_put(&b, text, n - 1);
    free(text);
    jb_puts(&b, ",\"extra\":[");
    memset(item, 'a', sizeof(item));
    item[0] = '"';
    item[101] = '"';
    item[102] = '\0';
    jb_repeat(&b, item, 590000, 0);
    jb_puts(&b, "]}");
    blen = b.n;
    tu_write(bun, b.p, b.n);
    free(b.p);
    cr_assert_eq(tu_run(&out, &err, NULL, vf), 0, "%s / %s", out, err);
    cr_assert_not_null(strstr(out, "\"accepted\":true"), "%s", out);
    cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    fprintf(stderr, "jsonbudget: %zu-byte signed bundle with unknown members verified: peak %ld KiB (%.2fx)\n", blen,
            ru.ru_maxrss, (double)ru.ru_maxrss * 1024.0 / (double)blen);
    if (!JB_SANITIZED) {
        cr_assert_leq((double)ru.ru_maxrss * 1024.0, 2.0 * (double)blen, "peak %ld KiB for %zu bytes", ru.ru_maxrss,
                      blen);
        /*
         * Item 11: out of memory, --json still prints its object. 60,000 KiB of address space cannot hold the
         * 60.8 MB bundle: verify fails with exit 2 and says why in JSON (not under the sanitizers, whose shadow
         * memory needs more address space than that).
         */
        cr_assert_eq(tu_sh(&out, &err, jb_dir,
                           "ulimit -v 60000; exec \"$SIGNET_BIN\" verify --json -p kpol.json -b "
                           "bundle.json -- app.bin"),
                     2, "%s / %s", out, err);
        {
            json_t *j = json_loads(out != NULL ? out : "", 0, NULL);

            cr_assert_not_null(j, "--json printed no JSON object when out of memory: %s / %s", out, err);
            cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "ERROR", "%s", out);
            cr_assert_not_null(strstr(out, "out of memory"), "%s", out);
            cr_assert(json_is_false(json_object_get(j, "accepted")));
            json_decref(j);
        }
    }
    free(out);
    free(err);
    free(key);
    free(keyf);
    free(pol);
    free(art);
    free(bun);
}

/* The bundle of a signed envelope whose payload is the n bytes at payload, as text (*text malloc'd, *len). */
static void jb_signed_bundle_text(char **text, size_t *len, const sign_key *k, const unsigned char *payload, size_t n)
{
    sign_envelope *env = NULL;
    sign_bundle *bun = NULL;

    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, payload, n), 0, "%s", sign_error_last());
    cr_assert_eq(sign_envelope_sign(env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_new(&bun, env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_serialize(text, len, bun), 0, "%s", sign_error_last());
    sign_bundle_free(bun);
}

/* Parsed as a bundle (from memory and from a file) and as its bare envelope: the payload is payload, verified. */
static void jb_payload_reads_back(const sign_key *k, const char *text, size_t len, const unsigned char *payload,
                                  size_t n)
{
    sign_bundle *bun = NULL;
    sign_envelope *env = NULL;
    const unsigned char *got;
    size_t glen = 0;
    char *path = tu_path(jb_dir, "payload.json"), *env_text = strstr(text, "\"dsseEnvelope\":");
    char *env_end;

    cr_assert_eq(sign_bundle_parse(&bun, text, len, NULL), 0, "%s", sign_error_last());
    got = sign_envelope_payload(sign_bundle_envelope(bun), &glen);
    cr_assert(glen == n && memcmp(got, payload, n) == 0, "payload of %zu bytes read back as %zu", n, glen);
    cr_assert_eq(sign_envelope_verify(sign_bundle_envelope(bun), 0, k), 0, "%s", sign_error_last());
    sign_bundle_free(bun);
    tu_write(path, text, len);
    cr_assert_eq(sign_bundle_read(&bun, path, NULL), 0, "%s", sign_error_last());
    got = sign_envelope_payload(sign_bundle_envelope(bun), &glen);
    cr_assert(glen == n && memcmp(got, payload, n) == 0);
    sign_bundle_free(bun);
    /* The envelope alone: {"payload":...,"payloadType":...,"signatures":[...]} (sorted keys: it ends at "]}"). */
    cr_assert_not_null(env_text);
    env_text += strlen("\"dsseEnvelope\":");
    env_end = strstr(env_text, "]}");
    cr_assert_not_null(env_end);
    cr_assert_eq(sign_envelope_parse(&env, env_text, (size_t)(env_end + 2 - env_text), NULL), 0, "%s",
                 sign_error_last());
    got = sign_envelope_payload(env, &glen);
    cr_assert(glen == n && memcmp(got, payload, n) == 0);
    cr_assert_eq(sign_envelope_verify(env, 0, k), 0, "%s", sign_error_last());
    sign_envelope_free(env);
    free(path);
}

/*
 * A signed payload is decoded from the bundle's text, never copied into the parse tree (issue 14, item 9: a
 * 53 MB base64 payload cost a 53 MB jansson string, then its decoding). Counted: parsing a bundle of a 10 MB
 * payload makes jansson allocate under 64 KB (13.3 MB before). The payload reads back exactly, also when the
 * fast path cannot be taken (an escape in the payload): then it is built.
 */
Test(jsonbudget, a_signed_payload_is_never_copied_into_the_tree)
{
    size_t n = 10u * 1024 * 1024, len = 0, before, used;
    unsigned char *payload = malloc(n);
    sign_key *k = NULL;
    sign_bundle *bun = NULL;
    char *text = NULL, *b, *alt;
    jb_buf e = {NULL, 0, 0};

    cr_assert_not_null(payload);
    for (size_t i = 0; i < n; i++) {
        payload[i] = (unsigned char)(i * 131 + (i >> 9));
    }
    json_set_alloc_funcs(jb_count_malloc, free);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    jb_signed_bundle_text(&text, &len, k, payload, n);
    before = jb_alloc_bytes;
    cr_assert_eq(sign_bundle_parse(&bun, text, len, NULL), 0, "%s", sign_error_last());
    used = jb_alloc_bytes - before;
    fprintf(stderr, "jsonbudget: %zu-byte bundle of a %zu-byte payload: jansson allocated %zu bytes\n", len, n, used);
    cr_assert_lt(used, 64u * 1024, "jansson allocated %zu bytes for the bundle", used);
    sign_bundle_free(bun);
    /* The counter sees the copy: the same text parsed into a tree (no document to read the span from) costs it. */
    {
        json_t *j = NULL;

        before = jb_alloc_bytes;
        cr_assert_eq(sign__json_parse(&j, text, len, NULL, "bundle"), 0, "%s", sign_error_last());
        cr_assert_gt(jb_alloc_bytes - before, len * 9 / 10, "%zu bytes", jb_alloc_bytes - before);
        json_decref(j);
    }
    jb_payload_reads_back(k, text, len, payload, n);
    /* A string holding \u0000 elsewhere (placeholders cannot be told apart): refused, as jansson refuses it. */
    b = strstr(text, "\"mediaType\":");
    cr_assert_not_null(b);
    jb_put(&e, text, (size_t)(b - text));
    jb_puts(&e, "\"note\":\"a\\u0000b\",");
    jb_puts(&e, b);
    cr_assert_eq(sign_bundle_parse(&bun, e.p, e.n, NULL), SIGN_EPARSE);
    cr_assert_not_null(strstr(sign_error_last(), "\\u0000 is not allowed"), "%s", sign_error_last());
    cr_assert_null(bun);
    free(e.p);
    /* The payload's first '/' written as the escape "\/": not a plain string, built by jansson. */
    alt = malloc(len + 2);
    cr_assert_not_null(alt);
    b = strchr(strstr(text, "\"payload\":\""), '/');
    cr_assert_not_null(b);
    memcpy(alt, text, (size_t)(b - text));
    alt[b - text] = '\\';
    memcpy(alt + (b - text) + 1, b, len - (size_t)(b - text));
    jb_payload_reads_back(k, alt, len + 1, payload, n);
    /* Tampered payload text read from the span is still judged: one base64 character changed fails to verify. */
    memcpy(alt, text, len);
    b = strstr(alt, "\"payload\":\"") + strlen("\"payload\":\"") + 1000;
    *b = *b == 'A' ? 'B' : 'A';
    cr_assert_eq(sign_bundle_parse(&bun, alt, len, NULL), 0, "%s", sign_error_last());
    cr_assert_neq(sign_envelope_verify(sign_bundle_envelope(bun), 0, k), 0);
    sign_bundle_free(bun);
    free(alt);
    free(text);
    free(payload);
    sign_key_free(k);
}
