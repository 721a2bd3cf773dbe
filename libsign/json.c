/* Strict JSON on top of jansson: limits, duplicate keys, deterministic output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Maximum nesting, found without recursion before jansson sees the text. */
static int json_depth_ok(const unsigned char *p, size_t len, unsigned int max, size_t *where)
{
    unsigned int depth = 0;
    int in_string = 0, escaped = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (in_string) {
            if (escaped) {
                escaped = 0;
            } else if (c == '\\') {
                escaped = 1;
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                *where = i;
                return 0;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 1;
}

int sign__json_parse(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what)
{
    const sign_limits *l = sign__limits(limits);
    json_error_t err;
    json_t *j, *j2;
    size_t where = 0;

    *out = NULL;
    if (len > l->json_max_bytes) {
        return sign__error(SIGN_ELIMIT, "%s: JSON document of %zu bytes exceeds the limit of %zu", what, len,
                           l->json_max_bytes);
    }
    if (memchr(data, '\0', len) != NULL) {
        return sign__error(SIGN_EPARSE, "%s: NUL byte in JSON text", what);
    }
    if (!json_depth_ok(data, len, l->json_max_depth, &where)) {
        return sign__error(SIGN_ELIMIT, "%s: JSON nesting deeper than %u at offset %zu", what, l->json_max_depth,
                           where);
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    /* jansson reports out of memory with its code, or (failing in its lexer set-up) with no text at all. */
    if (j == NULL && (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0')) {
        return sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
    }
    if (j == NULL) {
        /*
         * jansson 2.14 also turns a failed allocation inside its lexer into a syntax error. The same
         * bytes parse the same way: a second parse that succeeds or stops elsewhere means the first
         * one ran out of memory, and the input must not be called malformed.
         */
        json_error_t err2;

        j2 = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err2);
        if (j2 != NULL || err2.position != err.position || strcmp(err2.text, err.text) != 0) {
            json_decref(j2);
            return sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
        }
        return sign__error(SIGN_EPARSE, "%s: invalid JSON at line %d column %d: %s", what, err.line, err.column,
                           err.text);
    }
    /*
     * jansson 2.14's lexer ignores a failed allocation while it saves a token (lex_save): the parse
     * then succeeds with a character missing from a string or a number (a digest one digit short, a
     * policy glob that matches more). A second parse must give an equal document; under memory
     * pressure one of the two fails or differs (both losing the same byte would need the same
     * allocation to fail twice).
     */
    j2 = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (j2 == NULL || !json_equal(j, j2)) {
        json_decref(j);
        json_decref(j2);
        return sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
    }
    json_decref(j2);
    *out = j;
    return 0;
}

int sign__json_read_file(json_t **out, const char *path, const sign_limits *limits)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    r = sign__read_file(&buf, &len, path, sign__limits(limits)->json_max_bytes);
    if (r != 0) {
        return r;
    }
    r = sign__json_parse(out, buf, len, limits, path);
    free(buf);
    return r;
}

int sign__json_dump(char **out, size_t *outlen, const json_t *j, int pretty)
{
    size_t flags = JSON_SORT_KEYS | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    size_t n;
    char *s;

    /*
     * Not json_dumps: its buffer grows by allocation, and jansson (2.14) ignores a failed append of an
     * object key, so under memory pressure it returned JSON with a key dropped, which we would then sign.
     * json_dumpb into a buffer of the measured size has no allocation in the output path; the ones left
     * (key sorting, loop detection) fail the dump, which returns 0.
     */
    *out = NULL;
    if ((n = json_dumpb(j, NULL, 0, flags)) == 0 || n == SIZE_MAX) {
        return sign__error(SIGN_ENOMEM, "cannot serialise JSON");
    }
    if ((s = malloc(n + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (json_dumpb(j, s, n, flags) != n) {
        free(s);
        return sign__error(SIGN_ENOMEM, "cannot serialise JSON");
    }
    s[n] = '\0';
    if (outlen != NULL) {
        *outlen = n;
    }
    *out = s;
    return 0;
}

int sign__json_get_string(const char **out, const json_t *obj, const char *key, int required, const char *what)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL) {
        if (required) {
            return sign__error(SIGN_EPARSE, "%s: missing field \"%s\"", what, key);
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return sign__error(SIGN_EPARSE, "%s: field \"%s\" must be a string", what, key);
    }
    *out = json_string_value(v);
    return 0;
}

int sign__json_only_keys(const json_t *obj, const char *const *allowed, const char *what)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;

        (void)v;
        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(allowed[i], key) == 0) {
                break;
            }
        }
        if (allowed[i] == NULL) {
            return sign__error(SIGN_EPARSE, "%s: unknown field \"%s\"", what, key);
        }
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* 1 for a C0 control, DEL, or a C1 control (U+0080..U+009F, UTF-8 C2 80..C2 9F) at p. */
static int is_control(const unsigned char *p, size_t k)
{
    return (k == 1 && (p[0] < 0x20 || p[0] == 0x7f)) || (k == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

/*
 * s with every byte that is not part of valid UTF-8 (and, when controls is
 * set, every control character) written as \xNN; malloc'd, or NULL when out
 * of memory.
 */
static char *escape_text(const char *s, int controls, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0, i = 0;
    char *buf;

    if (n > (SIZE_MAX - 1) / 4 || (buf = malloc(4 * n + 1)) == NULL) {
        return NULL;
    }
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);

        if (k == 0 || (controls && is_control(p + i, k))) {
            size_t m = k == 0 ? 1 : k;

            for (size_t j = 0; j < m; j++) {
                snprintf(buf + o, 5, "\\x%02x", p[i + j]);
                o += 4;
            }
            i += m;
        } else {
            memcpy(buf + o, p + i, k);
            o += k;
            i += k;
        }
    }
    buf[o] = '\0';
    *outlen = o;
    return buf;
}

json_t *sign__json_text(const char *s)
{
    size_t n = 0;
    char *buf;
    json_t *j;

    if (s == NULL) {
        return json_null();
    }
    /* Not UTF-8 (a file name's raw bytes): keep the valid parts, show the others as \xNN. */
    if ((buf = escape_text(s, 0, &n)) == NULL) {
        return NULL;
    }
    j = json_stringn(buf, n);
    free(buf);
    return j;
}

char *sign_text_safe(const char *s)
{
    size_t n = 0;
    char *buf = escape_text(s != NULL ? s : "", 1, &n);

    if (buf == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    return buf;
}
