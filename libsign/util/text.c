/*
 * The one UTF-8 decoder and the one escaper of libsign (rules in text.h and
 * docs/safety.md). Every string the library hands out that came from input
 * (finding paths and messages, error messages, certificate subjects, tree
 * differences, event lines) goes through here before it leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "text.h"

size_t sign__utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    uint32_t c = p[0], v;
    size_t k;

    if (c < 0x80) {
        if (cp != NULL) {
            *cp = c;
        }
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2, v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3, v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4, v = c & 0x07;
    } else {
        return 0; /* continuation byte, C0/C1 (overlong two-byte forms), F5..FF */
    }
    if (k > n) {
        return 0;
    }
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = v << 6 | (p[i] & 0x3f);
    }
    /* Overlong three- and four-byte forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((k == 3 && v < 0x800) || (k == 4 && v < 0x10000) || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    if (cp != NULL) {
        *cp = v;
    }
    return k;
}

int sign__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < len) {
        if ((k = sign__utf8_seq(p + i, len - i, NULL)) == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

int sign__text_cp_unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Bytes at p (n available) taken as one unit, and whether they are escaped. */
static size_t unit(const unsigned char *p, size_t n, int controls, int *esc)
{
    uint32_t cp = 0;
    size_t k = sign__utf8_seq(p, n, &cp);

    *esc = k == 0 || (controls && sign__text_cp_unsafe(cp));
    return k == 0 ? 1 : k;
}

/* Escape into out (room for cap bytes plus a NUL) up to cap; returns bytes of s consumed, *o bytes written. */
static size_t escape_run(char *out, size_t cap, size_t *o, const unsigned char *p, size_t len, int controls)
{
    size_t i = 0;

    while (i < len) {
        int esc;
        size_t k = unit(p + i, len - i, controls, &esc), w = esc ? 4 * k : k;

        if (w > cap - *o) {
            break;
        }
        if (esc) {
            for (size_t j = 0; j < k; j++) {
                snprintf(out + *o + 4 * j, 5, "\\x%02x", p[i + j]);
            }
        } else {
            memcpy(out + *o, p + i, k);
        }
        *o += w;
        i += k;
    }
    out[*o] = '\0';
    return i;
}

char *sign__text_escape_into(char *out, size_t outsize, const char *s, size_t len)
{
    size_t o = 0, used;

    /* Room for "..." is kept back first; when everything fits without it, it is not needed. */
    used = escape_run(out, outsize - 1, &o, (const unsigned char *)s, len, 1);
    if (used < len && outsize > 4) {
        o = 0;
        (void)escape_run(out, outsize - 4, &o, (const unsigned char *)s, len, 1);
        memcpy(out + o, "...", 4);
    }
    return out;
}

static char *escape_alloc(const char *s, size_t len, size_t *outlen, int controls)
{
    size_t o = 0;
    char *buf;

    if (len > (SIZE_MAX - 1) / 4 || (buf = malloc(4 * len + 1)) == NULL) {
        return NULL;
    }
    (void)escape_run(buf, 4 * len, &o, (const unsigned char *)s, len, controls);
    if (outlen != NULL) {
        *outlen = o;
    }
    return buf;
}

char *sign__text_escape(const char *s, size_t len, size_t *outlen)
{
    return escape_alloc(s, len, outlen, 1);
}

char *sign__text_fix_utf8(const char *s, size_t len, size_t *outlen)
{
    return escape_alloc(s, len, outlen, 0);
}

int sign__text_needs_escape(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        int esc;

        i += unit(p + i, len - i, 1, &esc);
        if (esc) {
            return 1;
        }
    }
    return 0;
}

int sign__text_json_printable(char **text, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*text;
    size_t n = *len, extra = 0, i = 0, o = 0;
    char *buf;

    /* A serialiser escapes C0 itself; what is left is DEL (1 byte), C1 (2 bytes) and bidi (3 bytes). */
    while (i < n) {
        uint32_t cp = 0;
        size_t k = sign__utf8_seq(p + i, n - i, &cp);

        k = k == 0 ? 1 : k;
        if (k > 1 || cp == 0x7f) {
            extra += sign__text_cp_unsafe(cp) ? 6 - k : 0;
        }
        i += k;
    }
    if (extra == 0) {
        return 0;
    }
    if (n > SIZE_MAX - extra - 1 || (buf = malloc(n + extra + 1)) == NULL) {
        return -1;
    }
    for (i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = sign__utf8_seq(p + i, n - i, &cp);

        k = k == 0 ? 1 : k;
        if ((k > 1 || cp == 0x7f) && sign__text_cp_unsafe(cp)) {
            snprintf(buf + o, 7, "\\u%04X", (unsigned)cp); /* as jansson writes C0 */
            o += 6;
        } else {
            memcpy(buf + o, p + i, k);
            o += k;
        }
        i += k;
    }
    buf[o] = '\0';
    free(*text);
    *text = buf;
    *len = o;
    return 0;
}

char *sign_text_safe(const char *s)
{
    char *buf;

    if (s == NULL) {
        s = "";
    }
    if ((buf = sign__text_escape(s, strlen(s), NULL)) == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    return buf;
}
