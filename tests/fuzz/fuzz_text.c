/*
 * Fuzz target: the small text parsers under the readers. The first byte
 * picks one, the rest is its input:
 *   0 sign__b64_decode (strict standard or URL-safe base64), checked against
 *     a re-encoding
 *   1 sign__json_parse (strict JSON: duplicates, depth, UTF-8, NUL)
 *   2 sign_parse_time and sign_format_time (the formatted time parses back)
 *   3 sign_parse_duration
 *   4 sign_policy_glob_match (pattern NUL name)
 *   5 sign_artifact_name_normalise (normalising twice changes nothing), and on
 *     the same string util/text and util/path: the escaped form holds nothing
 *     unsafe and escaping it again changes nothing; sign__path_norm is
 *     idempotent; a path sign__path_check_write accepts normalises to a
 *     relative path without ".."; the symlink rule answers 0 or 1
 *   6 sign__json_parse with long plain strings cut out before jansson (from 32
 *     bytes on) against the same parse without cutting: the same verdict and
 *     the same document
 */
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "path.h"
#include "text.h"

#include "util.h"
#include "fuzz.h"

/* A NUL-terminated copy (the string parsers take C strings). */
static char *cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL) {
        fuzz_fail("out of memory");
    }
    if (size > 0) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

static void b64(const uint8_t *data, size_t size)
{
    unsigned char *dec = NULL, *dec2 = NULL;
    char *enc = NULL;
    size_t declen = 0, dec2len = 0;
    int r;

    if ((r = sign__b64_decode(&dec, &declen, (const char *)data, size)) != 0) {
        fuzz_check_error(r, "sign__b64_decode");
        return;
    }
    if (declen > size) {
        fuzz_fail("base64 decoded %zu bytes from %zu", declen, size);
    }
    if (sign__b64_encode(&enc, dec, declen) != 0) {
        fuzz_fail("b64 encode: %s", sign_error_last());
    }
    if (sign__b64_decode(&dec2, &dec2len, enc, strlen(enc)) != 0 || dec2len != declen ||
        (declen > 0 && memcmp(dec, dec2, declen) != 0)) {
        fuzz_fail("decode(encode(decode(x))) differs from decode(x)");
    }
    free(dec);
    free(dec2);
    free(enc);
}

static void json(const uint8_t *data, size_t size)
{
    sign_limits lim;
    json_t *j = NULL, *j2 = NULL;
    char *s = NULL;
    size_t len = 0;
    int r;

    fuzz_limits(&lim);
    lim.json_max_depth = 16;
    if ((r = sign__json_parse(&j, data, size, &lim, "fuzz")) != 0) {
        fuzz_check_error(r, "sign__json_parse");
        return;
    }
    if (sign__json_dump(&s, &len, j, 0) != 0) {
        fuzz_fail("dump of parsed JSON: %s", sign_error_last());
    }
    if (sign__json_parse(&j2, s, len, &lim, "fuzz dump") != 0) {
        fuzz_fail("dump of parsed JSON does not parse: %s", sign_error_last());
    }
    if (!json_equal(j, j2)) {
        fuzz_fail("JSON changes through a dump");
    }
    free(s);
    json_decref(j);
    json_decref(j2);
}

static void json_cut_same(const uint8_t *data, size_t size)
{
    sign_limits lim;
    json_t *cut = NULL, *plain = NULL;
    size_t saved = sign__json_long_min;
    int rc, rp;

    fuzz_limits(&lim);
    lim.json_max_depth = 16;
    sign__json_long_min = 32;
    rc = sign__json_parse(&cut, data, size, &lim, "fuzz");
    sign__json_long_min = SIZE_MAX;
    rp = sign__json_parse(&plain, data, size, &lim, "fuzz");
    sign__json_long_min = saved;
    if (rc != rp) {
        fuzz_fail("JSON with long strings cut out: %d, parsed as it is: %d", rc, rp);
    }
    if (rc == 0 && !json_equal(cut, plain)) {
        fuzz_fail("JSON with long strings cut out parses to another document");
    }
    json_decref(cut);
    json_decref(plain);
}

/* sign__json_parse_known's schema for the fuzzer: short names it finds. */
static const sign__json_field fz_inner[] = {{"b", NULL, NULL}, {NULL, NULL, NULL}};
static const sign__json_field fz_item[] = {{"d", fz_inner, NULL}, {NULL, NULL, NULL}};
static const sign__json_field fz_root[] = {
    {"a", fz_inner, NULL}, {"c", NULL, fz_item}, {"p", SIGN__JSON_SPAN, NULL}, {NULL, NULL, NULL}};

/*
 * k (unknown members skipped) against p (built whole) under the fields f: equal but for unknown values, null in k.
 * doc: k is doc's tree, whose SIGN__JSON_SPAN strings are read through sign__json_doc_string.
 */
static int known_like(const json_t *k, const json_t *p, const sign__json_field *f, const sign__json_doc *doc)
{
    const char *key;
    json_t *v;

    if (f == NULL || !json_is_object(p)) {
        return json_equal(k, p);
    }
    if (!json_is_object(k) || json_object_size(k) != json_object_size(p)) {
        return 0;
    }
    json_object_foreach((json_t *)p, key, v)
    {
        const sign__json_field *m = f;
        json_t *kv = json_object_get(k, key);

        while (m->name != NULL && strcmp(m->name, key) != 0) {
            m++;
        }
        if (kv == NULL) {
            return 0;
        }
        if (m->name == NULL) {
            if (!json_is_null(kv) && !json_equal(kv, v)) {
                return 0;
            }
        } else if (m->items != NULL && json_is_array(v)) {
            if (!json_is_array(kv) || json_array_size(kv) != json_array_size(v)) {
                return 0;
            }
            for (size_t i = 0; i < json_array_size(v); i++) {
                if (!known_like(json_array_get(kv, i), json_array_get(v, i), m->items, doc)) {
                    return 0;
                }
            }
        } else if (m->object == SIGN__JSON_SPAN && json_is_string(v)) {
            const char *s = NULL;
            size_t n = 0;

            if (sign__json_doc_string(doc, kv, &s, &n) != 0 || n != json_string_length(v) ||
                memcmp(s, json_string_value(v), n) != 0) {
                return 0;
            }
        } else if (!known_like(kv, v, m->object == SIGN__JSON_SPAN ? NULL : m->object, doc)) {
            return 0;
        }
    }
    return 1;
}

/* Unknown members skipped: refused exactly when jansson refuses (same message), else the same tree but for them. */
static void json_known_same(const uint8_t *data, size_t size)
{
    sign_limits lim;
    json_t *k = NULL, *p = NULL;
    sign__json_doc doc;
    size_t saved = sign__json_long_min;
    char msg[512] = "";
    int rk, rp;

    fuzz_limits(&lim);
    lim.json_max_depth = 16;
    sign__json_long_min = 32;
    rp = sign__json_parse(&p, data, size, &lim, "fuzz");
    if (rp != 0) {
        snprintf(msg, sizeof(msg), "%s", sign_error_last());
    }
    rk = sign__json_parse_known(&k, data, size, &lim, "fuzz", fz_root);
    sign__json_long_min = saved;
    if (rk != rp) {
        fuzz_fail("JSON with unknown members skipped: %d, parsed whole: %d (%s)", rk, rp, sign_error_last());
    }
    if (rp != 0 && rp != SIGN_ENOMEM && strcmp(msg, sign_error_last()) != 0) {
        fuzz_fail("JSON with unknown members skipped refused otherwise: %s / %s", sign_error_last(), msg);
    }
    if (rk == 0 && !known_like(k, p, fz_root, NULL)) {
        fuzz_fail("JSON with unknown members skipped parses to another document");
    }
    json_decref(k);
    /* Read as a document: the same, the long strings of "p" handed out from the text. */
    sign__json_long_min = 32;
    rk = sign__json_parse_doc(&doc, data, size, &lim, "fuzz", fz_root);
    sign__json_long_min = saved;
    if (rk != rp) {
        fuzz_fail("JSON read as a document: %d, parsed whole: %d (%s)", rk, rp, sign_error_last());
    }
    if (rp != 0 && rp != SIGN_ENOMEM && strcmp(msg, sign_error_last()) != 0) {
        fuzz_fail("JSON read as a document refused otherwise: %s / %s", sign_error_last(), msg);
    }
    if (rk == 0 && !known_like(doc.root, p, fz_root, &doc)) {
        fuzz_fail("JSON read as a document parses to another document");
    }
    sign__json_doc_free(&doc);
    json_decref(p);
}

static void times(const char *s)
{
    int64_t t = 0, t2 = 0;
    char buf[64];
    int r;

    if ((r = sign_parse_time(&t, s)) != 0) {
        fuzz_check_error(r, "sign_parse_time");
        return;
    }
    if ((r = sign_format_time(buf, sizeof(buf), t)) != 0) {
        fuzz_check_error(r, "sign_format_time");
        return;
    }
    if (sign_parse_time(&t2, buf) != 0 || t2 != t) {
        fuzz_fail("time %s parses to %lld, formats as %s", s, (long long)t, buf);
    }
}

static void duration(const char *s)
{
    int64_t d = 0;
    int r;

    if ((r = sign_parse_duration(&d, s)) != 0) {
        fuzz_check_error(r, "sign_parse_duration");
    } else if (d < 0) {
        fuzz_fail("duration %s is negative (%lld)", s, (long long)d);
    }
}

static void glob(const uint8_t *data, size_t size)
{
    char *s = cstr(data, size);
    size_t plen = strlen(s);
    const char *name = plen < size ? s + plen + 1 : "";
    int m = sign_policy_glob_match(s, name);

    if (m != 0 && m != 1) {
        fuzz_fail("glob match returned %d", m);
    }
    /* A pattern without wildcards is a plain comparison: of the whole name, or its last component. */
    if (strpbrk(s, "*?[]\\{}") == NULL) {
        const char *slash = strrchr(name, '/');
        const char *last = slash != NULL ? slash + 1 : name;
        int want = strchr(s, '/') != NULL ? strcmp(s, name) == 0 : strcmp(s, last) == 0;

        if (m != want) {
            fuzz_fail("literal pattern \"%s\" and name \"%s\": %d, expected %d", s, name, m, want);
        }
    }
    free(s);
}

/* util/text and util/path on any string: the properties the walkers and the CLI rely on. */
static void text_and_path(const char *s)
{
    char *t = sign_text_safe(s), *t2 = t != NULL ? sign_text_safe(t) : NULL, *p = sign__path_norm(s), *p2;
    int e0, e1;

    if (t == NULL || t2 == NULL || p == NULL) {
        fuzz_fail("out of memory");
    }
    if (sign__text_needs_escape(t, strlen(t)) || strcmp(t, t2) != 0) {
        fuzz_fail("escaping %s leaves something unsafe or is not stable", t);
    }
    if ((p2 = sign__path_norm(p)) == NULL || strcmp(p, p2) != 0) {
        fuzz_fail("normalising the path %s twice changes it", t);
    }
    if (sign__path_check_write(s) == 0 &&
        (p[0] == '\0' || p[0] == '/' || sign__path_has_dotdot(p, SIGN__PATH_WINDOWS))) {
        fuzz_fail("%s may be written but normalises to %s", t, p);
    }
    e0 = sign__path_link_escapes(s, s, 0, NULL, NULL);
    e1 = sign__path_link_escapes(s, s, SIGN__LINK_ROOTFS, NULL, NULL);
    if (e0 < 0 || e0 > 1 || e1 < 0 || e1 > 1 || (e1 && !e0)) {
        fuzz_fail("symlink rule for %s: %d %d (escaping a root file system must escape an archive)", t, e0, e1);
    }
    free(t);
    free(t2);
    free(p);
    free(p2);
}

static void name(const char *s)
{
    char *n = NULL, *n2 = NULL;
    int r;

    text_and_path(s);

    if ((r = sign_artifact_name_normalise(&n, s)) != 0) {
        fuzz_check_error(r, "sign_artifact_name_normalise");
        return;
    }
    if (sign_artifact_name_normalise(&n2, n) != 0 || strcmp(n, n2) != 0) {
        fuzz_fail("normalising %s twice changes it", n);
    }
    free(n);
    free(n2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size == 0) {
        return 0;
    }
    switch (data[0] % 7) {
    case 0: b64(data + 1, size - 1); return 0;
    case 1: json(data + 1, size - 1); return 0;
    case 4: glob(data + 1, size - 1); return 0;
    case 6:
        json_cut_same(data + 1, size - 1);
        json_known_same(data + 1, size - 1);
        return 0;
    default: break;
    }
    s = cstr(data + 1, size - 1);
    switch (data[0] % 7) {
    case 2: times(s); break;
    case 3: duration(s); break;
    default: name(s); break;
    }
    free(s);
    return 0;
}
