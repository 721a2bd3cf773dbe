/*
 * Allocation-failure regressions found by the torture runs (docs/torture.md) that can be
 * expressed with jansson's allocator hook alone. Criterion runs each test in its own
 * process, so the hook set here does not reach other tests; it is reset anyway.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util.h"

static long al_seen, al_fail_at;

static void *al_malloc(size_t n)
{
    if (++al_seen == al_fail_at) {
        return NULL;
    }
    return malloc(n);
}

static void al_free(void *p)
{
    free(p);
}

/*
 * jansson 2.14's json_dumps ignores a failed append of an object key and still returns the
 * text, so an allocation failure could drop a key from a statement that is then signed.
 * sign__json_dump must give either the exact text or an error, for every failure point.
 */
Test(alloc, json_dump_never_drops_a_key)
{
    json_t *j = json_pack("{s:[{s:{s:s},s:s,s:I}],s:{s:s,s:s}}", "predicate", "digest", "sha256",
                          "c0251bc73472f8dc5a4f9189dd2d941dc9c032075769378661ae84de7c10163b", "name", "app.bin",
                          "size", (json_int_t)33, "tool", "name", "signet", "version", "0.1.0");
    char *ref = NULL, *s = NULL;
    size_t reflen = 0, len = 0;
    long failed = 0;

    cr_assert_not_null(j);
    cr_assert_eq(sign__json_dump(&ref, &reflen, j, 0), 0);
    json_set_alloc_funcs(al_malloc, al_free);
    for (al_fail_at = 1; al_fail_at < 1000; al_fail_at++) {
        int r;

        al_seen = 0;
        r = sign__json_dump(&s, &len, j, 0);
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            cr_assert_str_eq(s, ref);
            free(s);
            break;
        }
        if (r == 0) {
            cr_assert_str_eq(s, ref, "allocation %ld failed and the JSON changed", al_fail_at);
            cr_assert_eq(len, reflen);
            free(s);
        } else {
            cr_assert_eq(r, SIGN_ENOMEM);
            cr_assert_null(s);
            failed++;
        }
        s = NULL;
    }
    json_set_alloc_funcs(malloc, free);
    cr_assert_lt(al_fail_at, 1000, "the loop never reached a run without failure");
    cr_assert_gt(failed, 0, "no allocation failure was exercised");
    free(ref);
    json_decref(j);
}

/*
 * bundle_to_json leaked the DSSE envelope's JSON when the mediaType string could not be
 * allocated (a leak only the sanitizer build sees); every failure point must be clean.
 */
static void bundle_serialize_failure_points(int big);

Test(alloc, bundle_serialize_every_failure_point)
{
    bundle_serialize_failure_points(0);
}

/* With a payload long enough to be spliced into the text (sign_bundle_serialize's fast path). */
Test(alloc, bundle_serialize_every_failure_point_long_payload)
{
    bundle_serialize_failure_points(1);
}

static void bundle_serialize_failure_points(int big)
{
    static char bigp[9000];
    sign_key *k = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    char *ref = NULL, *s = NULL;
    size_t reflen = 0, len = 0;
    long failed = 0;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&env, "application/vnd.in-toto+json", big ? bigp : "{}", big ? 9000 : 2), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0);
    cr_assert_eq(sign_bundle_new(&b, env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_serialize(&ref, &reflen, b), 0);
    json_set_alloc_funcs(al_malloc, al_free);
    for (al_fail_at = 1; al_fail_at < 1000; al_fail_at++) {
        int r;

        al_seen = 0;
        r = sign_bundle_serialize(&s, &len, b);
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            cr_assert_str_eq(s, ref);
            free(s);
            break;
        }
        if (r == 0) {
            cr_assert_str_eq(s, ref, "allocation %ld failed and the bundle changed", al_fail_at);
            free(s);
        } else {
            cr_assert_eq(r, SIGN_ENOMEM);
            cr_assert_neq(sign_error_last()[0], '\0');
            failed++;
        }
        s = NULL;
    }
    json_set_alloc_funcs(malloc, free);
    cr_assert_lt(al_fail_at, 1000);
    cr_assert_gt(failed, 0);
    free(ref);
    sign_bundle_free(b);
    sign_key_free(k);
}

/*
 * A failed allocation reports itself: whatever an earlier failure left in sign_error_last(),
 * every allocation failure point of these serializers leaves a fresh "out of memory" message
 * (they returned a bare SIGN_ENOMEM, so a caller printed the stale one).
 */
typedef int (*serialize_fn)(char **out, size_t *outlen, const void *obj);

static int ser_bundle(char **out, size_t *outlen, const void *obj)
{
    return sign_bundle_serialize(out, outlen, obj);
}

static int ser_envelope(char **out, size_t *outlen, const void *obj)
{
    return sign_envelope_serialize(out, outlen, obj);
}

static long fresh_oom_failure_points(serialize_fn fn, const void *obj, const char *what)
{
    char *s = NULL;
    size_t len = 0;
    long failed = 0;

    json_set_alloc_funcs(al_malloc, al_free);
    for (al_fail_at = 1; al_fail_at < 1000; al_fail_at++) {
        int r;

        al_seen = 0;
        sign__error(SIGN_EPARSE, "stale: an earlier failure");
        r = fn(&s, &len, obj);
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            free(s);
            break;
        }
        if (r == 0) {
            free(s);
        } else {
            cr_assert_eq(r, SIGN_ENOMEM, "%s: allocation %ld failed: code %d", what, al_fail_at, r);
            cr_assert_null(s);
            cr_assert(strstr(sign_error_last(), "out of memory") != NULL &&
                          strstr(sign_error_last(), "stale") == NULL,
                      "%s: allocation %ld failed and the message is \"%s\"", what, al_fail_at, sign_error_last());
            failed++;
        }
        s = NULL;
    }
    json_set_alloc_funcs(malloc, free);
    cr_assert_lt(al_fail_at, 1000, "%s: the loop never reached a run without failure", what);
    return failed;
}

Test(alloc, failed_allocation_leaves_fresh_out_of_memory_message)
{
    sign_key *k = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_envelope_new(&env, "application/vnd.in-toto+json", "{}", 2), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0);
    cr_assert_gt(fresh_oom_failure_points(ser_envelope, env, "sign_envelope_serialize"), 0);
    cr_assert_eq(sign_bundle_new(&b, env, k), 0, "%s", sign_error_last());
    cr_assert_gt(fresh_oom_failure_points(ser_bundle, b, "sign_bundle_serialize"), 0);
    sign_bundle_free(b);
    sign_key_free(k);
}

/*
 * An allocation failure while parsing is SIGN_ENOMEM when jansson says so (its error code, or no
 * error text when its lexer could not start). jansson 2.14 turns a failure inside a string token
 * into a syntax error, so SIGN_EPARSE remains possible there (docs/torture.md).
 */
Test(alloc, json_parse_out_of_memory_is_not_malformed)
{
    static const char text[] = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\",\"f\":{\"g\":null}}";
    json_t *j = NULL;
    long failed = 0, nomem = 0;

    json_set_alloc_funcs(al_malloc, al_free);
    for (al_fail_at = 1; al_fail_at < 1000; al_fail_at++) {
        int r;

        al_seen = 0;
        r = sign__json_parse(&j, text, sizeof(text) - 1, NULL, "test");
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            json_decref(j);
            break;
        }
        if (r != 0) {
            cr_assert(r == SIGN_ENOMEM || r == SIGN_EPARSE, "allocation %ld: %d %s", al_fail_at, r,
                      sign_error_last());
            nomem += r == SIGN_ENOMEM;
            failed++;
        } else {
            json_decref(j);
        }
        j = NULL;
    }
    json_set_alloc_funcs(malloc, free);
    cr_assert_lt(al_fail_at, 1000);
    cr_assert_gt(failed, 0);
    cr_assert_gt(nomem, 0, "every allocation failure was reported as malformed JSON");
}

/*
 * jansson 2.14's lexer drops a byte of a token when saving it fails to allocate, and the parse
 * still succeeds: found by the torture run as an OCI manifest digest one hex digit short. For
 * every failure point sign__json_parse must give the reference document or SIGN_ENOMEM (jansson
 * also reports some of these failures as syntax errors; valid JSON must not be called malformed).
 */
Test(alloc, json_parse_never_loses_a_byte)
{
    static const char text[] =
        "{\"digest\":\"sha256:9b407e2ad61a9d73fbb483d1094a3296a1570a5cab5b995eea25eb8556901a77\","
        "\"artifacts\":[\"release-*.zip\",\"prod/app-[0-9]*.tar.gz\"],\"size\":1234567890123,"
        "\"name\":\"a fairly long name that needs its buffer to grow more than once\"}";
    json_t *ref = NULL, *j = NULL;
    long failed = 0;

    cr_assert_eq(sign__json_parse(&ref, text, sizeof(text) - 1, NULL, "test"), 0);
    json_set_alloc_funcs(al_malloc, al_free);
    for (al_fail_at = 1; al_fail_at < 2000; al_fail_at++) {
        int r;

        al_seen = 0;
        r = sign__json_parse(&j, text, sizeof(text) - 1, NULL, "test");
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            json_decref(j);
            break;
        }
        if (r == 0) {
            cr_assert(json_equal(j, ref), "allocation %ld failed and the parsed document changed", al_fail_at);
            json_decref(j);
        } else {
            /* Valid JSON is never called malformed because memory ran out. */
            cr_assert_eq(r, SIGN_ENOMEM, "allocation %ld: %d %s", al_fail_at, r, sign_error_last());
            failed++;
        }
        j = NULL;
    }
    json_set_alloc_funcs(malloc, free);
    json_decref(ref);
    cr_assert_lt(al_fail_at, 2000);
    cr_assert_gt(failed, 0);
}

/*
 * The same, with jansson's allocator watched by libsign (installed over the
 * application's allocator at the first parse): a parse during which any
 * allocation failed is SIGN_ENOMEM, decided by one parse. The text also has a
 * string long enough to be cut out before jansson sees it.
 */
Test(alloc, json_parse_watched_allocator_never_loses_a_byte)
{
    char *text = NULL;
    size_t n = 0;
    json_t *ref = NULL, *j = NULL;
    long failed = 0;
    FILE *f = open_memstream(&text, &n);

    cr_assert_not_null(f);
    fputs("{\"digest\":\"sha256:9b407e2ad61a9d73fbb483d1094a3296a1570a5cab5b995eea25eb8556901a77\",\"payload\":\"",
          f);
    for (int i = 0; i < 5000; i++) {
        fputc('A' + i % 26, f);
    }
    fputs("\",\"artifacts\":[\"release-*.zip\",\"prod/app-[0-9]*.tar.gz\"],\"size\":1234567890123}", f);
    cr_assert_eq(fclose(f), 0);
    al_fail_at = LONG_MAX;
    json_set_alloc_funcs(al_malloc, al_free); /* before libsign's first parse: libsign wraps it */
    cr_assert_eq(sign__json_parse(&ref, text, n, NULL, "test"), 0);
    for (al_fail_at = 1; al_fail_at < 4000; al_fail_at++) {
        int r;

        al_seen = 0;
        r = sign__json_parse(&j, text, n, NULL, "test");
        if (al_seen < al_fail_at) {
            cr_assert_eq(r, 0);
            cr_assert(json_equal(j, ref));
            json_decref(j);
            break;
        }
        if (r == 0) {
            cr_assert(json_equal(j, ref), "allocation %ld failed and the parsed document changed", al_fail_at);
            json_decref(j);
        } else {
            cr_assert_eq(r, SIGN_ENOMEM, "allocation %ld: %d %s", al_fail_at, r, sign_error_last());
            failed++;
        }
        j = NULL;
    }
    json_decref(ref);
    cr_assert_lt(al_fail_at, 4000);
    cr_assert_gt(failed, 0);
    free(text);
}
