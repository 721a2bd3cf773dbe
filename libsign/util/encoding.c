/* Encodings and times: hex, base64, RFC 3339, durations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign/encoding.h"
#include "util.h"

int sign_hex_encode(char *out, size_t outsize, const unsigned char *data, size_t len)
{
    static const char hexdigits[] = "0123456789abcdef";
    size_t need;

    if (!sign__mul(&need, len, 2) || !sign__add(&need, need, 1) || outsize < need) {
        return sign__error(SIGN_EINVAL, "hex buffer too small");
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hexdigits[data[i] >> 4];
        out[2 * i + 1] = hexdigits[data[i] & 0xf];
    }
    out[2 * len] = '\0';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int sign_hex_decode(unsigned char *out, size_t outsize, const char *hex)
{
    size_t len = strlen(hex);

    if (len != outsize * 2) {
        return sign__error(SIGN_EPARSE, "hex string of %zu digits where %zu are expected", len, outsize * 2);
    }
    for (size_t i = 0; i < outsize; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return sign__error(SIGN_EPARSE, "invalid hex digit at offset %zu", 2 * i);
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

size_t sign__b64_encode_into(char *dst, const unsigned char *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];

        dst[o++] = tab[v >> 18 & 63];
        dst[o++] = tab[v >> 12 & 63];
        dst[o++] = tab[v >> 6 & 63];
        dst[o++] = tab[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < len ? (unsigned)data[i + 1] << 8 : 0);

        dst[o++] = tab[v >> 18 & 63];
        dst[o++] = tab[v >> 12 & 63];
        dst[o++] = (char)(i + 1 < len ? tab[v >> 6 & 63] : '=');
        dst[o++] = '=';
    }
    return o;
}

int sign__b64_encode(char **out, const unsigned char *data, size_t len)
{
    char *s;

    *out = NULL;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3) {
        return sign__error(SIGN_ELIMIT, "data too large for base64");
    }
    if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    s[sign__b64_encode_into(s, data, len)] = '\0';
    *out = s;
    return 0;
}

/* Value of a base64 character in the standard or URL-safe alphabet, or -1. */
static int b64val(unsigned char c, int *alphabet)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '/') {
        if (*alphabet == 2) {
            return -1;
        }
        *alphabet = 1;
        return c == '+' ? 62 : 63;
    }
    if (c == '-' || c == '_') {
        if (*alphabet == 1) {
            return -1;
        }
        *alphabet = 2;
        return c == '-' ? 62 : 63;
    }
    return -1;
}

/* Letters and digits: their value; anything else 255 (b64val decides). */
static const unsigned char b64fast[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  255, 255, 255, 255, 255, 255, 255, 0,
    1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,
    23,  24,  25,  255, 255, 255, 255, 255, 255, 26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,
    39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

/* The decoded length of in without its padding, or SIZE_MAX (error recorded) when the length or padding is wrong. */
static size_t b64_data_len(const char *in, size_t inlen)
{
    size_t len = inlen, pad = 0;

    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (pad > 0 && inlen % 4 != 0) {
        sign__error(SIGN_EPARSE, "invalid base64 padding");
        return SIZE_MAX;
    }
    if (len % 4 == 1) {
        sign__error(SIGN_EPARSE, "invalid base64 length");
        return SIZE_MAX;
    }
    return len;
}

/* Decode the len characters of in (padding removed) into buf, which holds len / 4 * 3 + 3 bytes. */
static int b64_decode_into(unsigned char *buf, size_t *outlen, const char *in, size_t len)
{
    size_t o = 0, i;
    unsigned int acc = 0;
    int bits = 0, alphabet = 0;

    /* Whole quads through a table of letters and digits; a quad with anything else, and the tail, through b64val. */
    for (i = 0; i + 4 <= len; i += 4) {
        unsigned a = b64fast[(unsigned char)in[i]], b = b64fast[(unsigned char)in[i + 1]],
                 c = b64fast[(unsigned char)in[i + 2]], d = b64fast[(unsigned char)in[i + 3]];

        if ((a | b | c | d) > 63) {
            int v[4];

            for (int k = 0; k < 4; k++) {
                if ((v[k] = b64val((unsigned char)in[i + (size_t)k], &alphabet)) < 0) {
                    return sign__error(SIGN_EPARSE, "invalid base64 character at offset %zu", i + (size_t)k);
                }
            }
            a = (unsigned)v[0];
            b = (unsigned)v[1];
            c = (unsigned)v[2];
            d = (unsigned)v[3];
        }
        acc = a << 18 | b << 12 | c << 6 | d;
        buf[o++] = (unsigned char)(acc >> 16);
        buf[o++] = (unsigned char)(acc >> 8);
        buf[o++] = (unsigned char)acc;
        acc = 0;
    }
    for (; i < len; i++) {
        int v = b64val((unsigned char)in[i], &alphabet);

        if (v < 0) {
            return sign__error(SIGN_EPARSE, "invalid base64 character at offset %zu", i);
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return sign__error(SIGN_EPARSE, "non-canonical base64 (trailing bits)");
    }
    *outlen = o;
    return 0;
}

int sign__b64_decode(unsigned char **out, size_t *outlen, const char *in, size_t inlen)
{
    unsigned char *buf;
    size_t len = b64_data_len(in, inlen);
    int r;

    *out = NULL;
    *outlen = 0;
    if (len == SIZE_MAX) {
        return SIGN_EPARSE;
    }
    if ((buf = malloc(len / 4 * 3 + 3)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = b64_decode_into(buf, outlen, in, len)) != 0) {
        free(buf);
        return r;
    }
    *out = buf;
    return 0;
}

size_t sign__b64_decoded_len(const char *in, size_t inlen)
{
    size_t len = b64_data_len(in, inlen);

    return len == SIZE_MAX ? SIZE_MAX : len / 4 * 3 + (len % 4 != 0 ? len % 4 - 1 : 0);
}

int sign__b64_decode_into(unsigned char *out, size_t outsize, size_t *outlen, const char *in, size_t inlen)
{
    size_t len = b64_data_len(in, inlen);

    *outlen = 0;
    if (len == SIZE_MAX) {
        return SIGN_EPARSE;
    }
    if (outsize < len / 4 * 3 + 3) {
        return sign__error(SIGN_EINVAL, "base64 output buffer too small");
    }
    return b64_decode_into(out, outlen, in, len);
}

int sign__b64_decode_buf(unsigned char *out, size_t outsize, size_t *outlen, const char *in, size_t inlen)
{
    unsigned char buf[96];
    size_t len = b64_data_len(in, inlen);
    int r;

    *outlen = 0;
    if (len == SIZE_MAX) {
        return SIGN_EPARSE;
    }
    if (len / 4 * 3 + 3 > sizeof(buf)) {
        return sign__error(SIGN_EPARSE, "base64 text longer than %zu bytes", sizeof(buf) / 3 * 4 - 4);
    }
    if ((r = b64_decode_into(buf, outlen, in, len)) != 0) {
        return r;
    }
    if (*outlen > outsize) {
        *outlen = 0;
        return sign__error(SIGN_EPARSE, "base64 text decodes to more than %zu bytes", outsize);
    }
    memcpy(out, buf, *outlen);
    return 0;
}

int sign_parse_duration(int64_t *out, const char *text)
{
    const char *p = text;
    int64_t n = 0, mul;

    *out = 0;
    if (*p < '0' || *p > '9') {
        return sign__error(SIGN_EPARSE, "invalid duration \"%s\": expected <n>s|m|h|d", text);
    }
    while (*p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *p - '0', &n)) {
            return sign__error(SIGN_EPARSE, "duration \"%s\" is too large", text);
        }
        p++;
    }
    switch (*p) {
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    default: return sign__error(SIGN_EPARSE, "invalid duration \"%s\": expected <n>s|m|h|d", text);
    }
    if (p[1] != '\0') {
        return sign__error(SIGN_EPARSE, "invalid duration \"%s\": expected <n>s|m|h|d", text);
    }
    if (__builtin_mul_overflow(n, mul, &n)) {
        return sign__error(SIGN_EPARSE, "duration \"%s\" is too large", text);
    }
    *out = n;
    return 0;
}

static int digits(const char *p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

int sign_parse_time(int64_t *out, const char *text)
{
    struct tm tm;
    int Y, M, D, h, m, s;
    const char *p = text;
    time_t t;

    *out = 0;
    memset(&tm, 0, sizeof(tm));
    if (strlen(text) < 20 || digits(p, 4, &Y) || p[4] != '-' || digits(p + 5, 2, &M) || p[7] != '-' ||
        digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't') || digits(p + 11, 2, &h) || p[13] != ':' ||
        digits(p + 14, 2, &m) || p[16] != ':' || digits(p + 17, 2, &s)) {
        return sign__error(SIGN_EPARSE, "invalid time \"%s\": expected RFC 3339 UTC like 2026-01-01T00:00:00Z", text);
    }
    p += 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return sign__error(SIGN_EPARSE, "invalid fractional seconds in \"%s\"", text);
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if ((*p != 'Z' && *p != 'z') || p[1] != '\0') {
        return sign__error(SIGN_EPARSE, "invalid time \"%s\": must be UTC and end in Z", text);
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60) {
        return sign__error(SIGN_EPARSE, "invalid time \"%s\": field out of range", text);
    }
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s == 60 ? 59 : s;
    t = timegm(&tm);
    if (tm.tm_mday != D) {
        return sign__error(SIGN_EPARSE, "invalid time \"%s\": no such day", text);
    }
    *out = (int64_t)t;
    return 0;
}

int sign_format_time(char *out, size_t outsize, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;

    /* RFC 3339 has four-digit years: strftime's %Y does not pad years below 1000. */
    if (outsize < 21 || gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
        return sign__error(SIGN_EINVAL, "cannot format time %lld", (long long)t);
    }
    snprintf(out, outsize, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    return 0;
}
