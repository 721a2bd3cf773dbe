/* Tests of the shared internals: base64, hex, times, durations, strict JSON, atomic writes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

Test(util, base64_roundtrip_and_url_safe)
{
    const unsigned char data[] = {0xfb, 0xff, 0x00, 0x10, 0x7f};
    char *enc = NULL;
    unsigned char *dec = NULL;
    size_t n = 0;

    cr_assert_eq(sign__b64_encode(&enc, data, sizeof(data)), 0);
    cr_assert_str_eq(enc, "+/8AEH8=");
    cr_assert_eq(sign__b64_decode(&dec, &n, enc, strlen(enc)), 0);
    cr_assert_eq(n, sizeof(data));
    cr_assert_eq(memcmp(dec, data, n), 0);
    free(dec);
    cr_assert_eq(sign__b64_decode(&dec, &n, "-_8AEH8", 7), 0, "URL-safe without padding is accepted");
    cr_assert_eq(n, sizeof(data));
    cr_assert_eq(memcmp(dec, data, n), 0);
    free(dec);
    free(enc);
}

Test(util, base64_refuses_garbage)
{
    unsigned char *dec = NULL;
    size_t n = 0;

    cr_assert_eq(sign__b64_decode(&dec, &n, "QU JD", 5), SIGN_EPARSE, "embedded space");
    cr_assert_eq(sign__b64_decode(&dec, &n, "QU\0D", 4), SIGN_EPARSE, "embedded NUL");
    cr_assert_eq(sign__b64_decode(&dec, &n, "QUJDR", 5), SIGN_EPARSE, "impossible length");
    cr_assert_eq(sign__b64_decode(&dec, &n, "QUJ=D", 5), SIGN_EPARSE, "padding in the middle");
    cr_assert_eq(sign__b64_decode(&dec, &n, "+_8A", 4), SIGN_EPARSE, "mixed alphabets");
    cr_assert_eq(sign__b64_decode(&dec, &n, "QUJDRB==", 8), SIGN_EPARSE, "non-canonical trailing bits");
    cr_assert_null(dec);
}

Test(util, hex)
{
    unsigned char b[2];
    char h[5];

    cr_assert_eq(sign_hex_decode(b, 2, "0aFf"), 0);
    cr_assert_eq(b[0], 0x0a);
    cr_assert_eq(b[1], 0xff);
    cr_assert_eq(sign_hex_encode(h, sizeof(h), b, 2), 0);
    cr_assert_str_eq(h, "0aff");
    cr_assert_eq(sign_hex_decode(b, 2, "0aF"), SIGN_EPARSE);
    cr_assert_eq(sign_hex_decode(b, 2, "0aFg"), SIGN_EPARSE);
    cr_assert_eq(sign_hex_encode(h, 4, b, 2), SIGN_EINVAL);
}

Test(util, times_and_durations)
{
    int64_t t = 0;
    char buf[32];

    cr_assert_eq(sign_parse_time(&t, "2026-01-01T00:00:00Z"), 0);
    cr_assert_eq(t, 1767225600);
    cr_assert_eq(sign_parse_time(&t, "2026-01-01T00:00:00.123Z"), 0);
    cr_assert_eq(t, 1767225600);
    cr_assert_eq(sign_format_time(buf, sizeof(buf), t), 0);
    cr_assert_str_eq(buf, "2026-01-01T00:00:00Z");
    cr_assert_eq(sign_parse_time(&t, "2026-01-01T00:00:00+01:00"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_time(&t, "2026-02-30T00:00:00Z"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_time(&t, "2026-01-01 00:00:00Z"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_time(&t, "2026-01-01T00:00:00Zjunk"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_duration(&t, "7d"), 0);
    cr_assert_eq(t, 7 * 86400);
    cr_assert_eq(sign_parse_duration(&t, "90m"), 0);
    cr_assert_eq(t, 5400);
    cr_assert_eq(sign_parse_duration(&t, "7"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_duration(&t, "d"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_duration(&t, "-1d"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_duration(&t, "1dd"), SIGN_EPARSE);
    cr_assert_eq(sign_parse_duration(&t, "99999999999999999999d"), SIGN_EPARSE);
}

static int parse(const char *text)
{
    json_t *j = NULL;
    int r = sign__json_parse(&j, text, strlen(text), NULL, "test");

    json_decref(j);
    return r;
}

Test(util, strict_json)
{
    char *deep;
    size_t i;

    cr_assert_eq(parse("{\"a\":1}"), 0);
    cr_assert_eq(parse("{\"a\":1,\"a\":2}"), SIGN_EPARSE, "duplicate keys");
    cr_assert_eq(parse("{\"a\":1} x"), SIGN_EPARSE, "trailing data");
    cr_assert_eq(parse("{\"a\":1}{}"), SIGN_EPARSE, "second document");
    cr_assert_eq(parse("{\"a\":\"\\u0000\"}"), SIGN_EPARSE, "escaped NUL in a string");
    cr_assert_eq(parse("{\"a\":\"\xc3\x28\"}"), SIGN_EPARSE, "invalid UTF-8");
    cr_assert_eq(parse("{\"a\":123456789012345678901234567890}"), SIGN_EPARSE, "huge integer");
    deep = malloc(200);
    for (i = 0; i < 65; i++) {
        deep[i] = '[';
    }
    for (; i < 130; i++) {
        deep[i] = ']';
    }
    deep[i] = '\0';
    cr_assert_eq(parse(deep), SIGN_ELIMIT, "nesting 65 deep");
    deep[64] = '\0';
    for (i = 0; i < 64; i++) {
        deep[i] = '[';
    }
    for (; i < 128; i++) {
        deep[i] = ']';
    }
    deep[i] = '\0';
    cr_assert_eq(parse(deep), 0, "nesting 64 deep is allowed");
    free(deep);
    {
        json_t *j = NULL;
        sign_limits l = SIGN_LIMITS_INIT;
        l.json_max_bytes = 4;
        cr_assert_eq(sign__json_parse(&j, "[1,2]", 5, &l, "t"), SIGN_ELIMIT, "over the size limit");
    }
}

Test(util, json_dump_is_sorted_and_compact)
{
    json_t *j = json_pack("{s:i,s:s,s:[i,i]}", "b", 1, "a", "x y", "c", 1, 2);
    char *s = NULL;

    cr_assert_eq(sign__json_dump(&s, NULL, j, 0), 0);
    cr_assert_str_eq(s, "{\"a\":\"x y\",\"b\":1,\"c\":[1,2]}");
    free(s);
    json_decref(j);
}

Test(util, atomic_and_exclusive_writes)
{
    char *dir = tu_mkdtemp();
    char *p = tu_path(dir, "f");
    struct stat st;
    char *got;

    cr_assert_eq(sign__write_file_excl(p, "one", 3, 0600), 0);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(sign__write_file_excl(p, "two", 3, 0600), SIGN_EEXISTS);
    got = tu_read(p, NULL);
    cr_assert_str_eq(got, "one", "an exclusive write never replaces");
    free(got);
    cr_assert_eq(sign__write_file_atomic(p, "three", 5, 0644), 0);
    got = tu_read(p, NULL);
    cr_assert_str_eq(got, "three");
    free(got);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);
    free(p);
    p = tu_path(dir, "missing-dir/f");
    cr_assert_eq(sign__write_file_atomic(p, "x", 1, 0644), SIGN_EIO);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

Test(util, bounded_read)
{
    char *dir = tu_mkdtemp();
    char *p = tu_path(dir, "f");
    unsigned char *buf = NULL;
    size_t n = 0;

    tu_write_str(p, "0123456789");
    cr_assert_eq(sign__read_file(&buf, &n, p, 10), 0);
    cr_assert_eq(n, 10);
    free(buf);
    cr_assert_eq(sign__read_file(&buf, &n, p, 9), SIGN_ELIMIT);
    cr_assert_null(buf);
    cr_assert_eq(sign__read_file(&buf, &n, dir, 100), SIGN_EIO, "a directory is not a file");
    free(p);
    p = tu_path(dir, "nope");
    cr_assert_eq(sign__read_file(&buf, &n, p, 100), SIGN_ENOTFOUND);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

Test(util, fifo_is_refused_without_hanging, .timeout = 10)
{
    char *dir = tu_mkdtemp();
    char *p = tu_path(dir, "fifo");
    unsigned char *buf = NULL, md[32];
    size_t n = 0;

    cr_assert_eq(mkfifo(p, 0600), 0);
    cr_assert_eq(sign__read_file(&buf, &n, p, 100), SIGN_EIO, "a FIFO is not a regular file");
    cr_assert_eq(sign_digest_file(md, sizeof(md), &n, NULL, SIGN_DIGEST_SHA256, p), SIGN_EIO);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

/* Found by fuzzing (tests/fuzz/regressions/text/): years below 1000 were formatted with fewer than four digits. */
Test(util, format_time_pads_years_and_reads_back)
{
    int64_t t = 0, back = 0;
    char buf[32];

    cr_assert_eq(sign_parse_time(&t, "0368-06-29T23:59:59Z"), 0);
    cr_assert_eq(sign_format_time(buf, sizeof(buf), t), 0);
    cr_assert_str_eq(buf, "0368-06-29T23:59:59Z");
    cr_assert_eq(sign_parse_time(&back, buf), 0);
    cr_assert_eq(back, t);
    cr_assert_eq(sign_parse_time(&t, "0000-01-01T00:00:00Z"), 0);
    cr_assert_eq(sign_format_time(buf, sizeof(buf), t), 0);
    cr_assert_str_eq(buf, "0000-01-01T00:00:00Z");
    /* Beyond year 9999 there is no RFC 3339 form. */
    cr_assert_eq(sign_format_time(buf, sizeof(buf), INT64_C(253402300800)), SIGN_EINVAL);
    cr_assert_eq(sign_format_time(buf, sizeof(buf), INT64_C(253402300799)), 0);
    cr_assert_str_eq(buf, "9999-12-31T23:59:59Z");
}
