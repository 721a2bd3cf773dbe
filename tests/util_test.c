/* Tests of the shared internals: base64, hex, times, durations, strict JSON, atomic writes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign.h"
#include "util.h"
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

/* A document with long strings around the given middle part: {"a":"<long>",<mid>,"z":["<long>"]}. */
static char *long_doc(const char *mid, size_t n, char fill)
{
    size_t len = 2 * n + strlen(mid) + 64, o = 0;
    char *s = malloc(len);

    cr_assert_not_null(s);
    o += (size_t)snprintf(s + o, len - o, "{\"a\":\"");
    memset(s + o, fill, n);
    o += n;
    o += (size_t)snprintf(s + o, len - o, "\",%s,\"z\":[\"", mid);
    memset(s + o, fill + 1, n);
    o += n;
    snprintf(s + o, len - o, "\"]}");
    return s;
}

Test(util, strict_json_long_strings)
{
    const size_t n = 100000;
    char *doc = long_doc("\"k\":\"v\"", n, 'A');
    json_t *j = NULL;
    const char *v;

    /* The long strings are cut out before jansson and put back: the values are exact. */
    cr_assert_eq(sign__json_parse(&j, doc, strlen(doc), NULL, "t"), 0);
    v = json_string_value(json_object_get(j, "a"));
    cr_assert_not_null(v);
    cr_assert_eq(strlen(v), n);
    cr_assert(v[0] == 'A' && v[n - 1] == 'A');
    v = json_string_value(json_array_get(json_object_get(j, "z"), 0));
    cr_assert_not_null(v);
    cr_assert_eq(strlen(v), n);
    cr_assert(v[0] == 'B' && v[n - 1] == 'B');
    cr_assert_str_eq(json_string_value(json_object_get(j, "k")), "v");
    json_decref(j);
    free(doc);

    /* Strictness is unchanged around long strings. */
    doc = long_doc("\"a\":1", n, 'A');
    cr_assert_eq(parse(doc), SIGN_EPARSE, "a duplicate of the key whose value was cut out");
    free(doc);
    doc = long_doc("\"k\":\"\\u0000\"", n, 'A');
    cr_assert_eq(parse(doc), SIGN_EPARSE, "an escaped NUL next to long strings (placeholders use NUL)");
    free(doc);
    doc = long_doc("\"k\":\"\\u0000\\u00001\"", n, 'A');
    cr_assert_eq(parse(doc), SIGN_EPARSE, "a string that looks like a placeholder");
    free(doc);
    doc = long_doc("\"k\":tru", n, 'A');
    cr_assert_eq(parse(doc), SIGN_EPARSE, "invalid JSON after a long string");
    {
        /* The error names the position in the text as it is, not in the text jansson saw. */
        json_t *jj = NULL;
        json_error_t err;

        cr_assert_null(json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, &err));
        cr_assert_eq(sign__json_parse(&jj, doc, strlen(doc), NULL, "t"), SIGN_EPARSE);
        cr_assert(strstr(sign_error_last(), err.text) != NULL, "%s", sign_error_last());
        {
            char col[32];
            snprintf(col, sizeof(col), "column %d", err.column);
            cr_assert(strstr(sign_error_last(), col) != NULL, "%s", sign_error_last());
        }
    }
    free(doc);
    /* Invalid UTF-8 or control bytes inside a long string are left to jansson, which refuses them. */
    doc = long_doc("\"k\":1", n, 'A');
    doc[1000] = '\x01';
    cr_assert_eq(parse(doc), SIGN_EPARSE, "a control byte inside a long string");
    doc[1000] = '\xff';
    cr_assert_eq(parse(doc), SIGN_EPARSE, "invalid UTF-8 inside a long string");
    free(doc);
    /* A long key is not cut out; a long string with escapes is unescaped by jansson. */
    doc = long_doc("\"k\":1", n, 'A');
    doc[3000] = '\\';
    doc[3001] = 'n';
    cr_assert_eq(sign__json_parse(&j, doc, strlen(doc), NULL, "t"), 0);
    v = json_string_value(json_object_get(j, "a"));
    cr_assert_eq(strlen(v), n - 1);
    cr_assert_eq(v[3000 - 6], '\n');
    json_decref(j);
    free(doc);
}

Test(util, base64_long_both_alphabets)
{
    const size_t n = 300001;
    unsigned char *data = malloc(n), *dec = NULL;
    char *enc = NULL;
    size_t dn = 0;

    cr_assert_not_null(data);
    for (size_t i = 0; i < n; i++) {
        data[i] = (unsigned char)(i * 7919u >> 3 ^ i);
    }
    cr_assert_eq(sign__b64_encode(&enc, data, n), 0);
    cr_assert_eq(sign__b64_decode(&dec, &dn, enc, strlen(enc)), 0);
    cr_assert_eq(dn, n);
    cr_assert_eq(memcmp(dec, data, n), 0);
    free(dec);
    /* The same in the URL-safe alphabet. */
    for (char *p = enc; *p != '\0'; p++) {
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    cr_assert_eq(sign__b64_decode(&dec, &dn, enc, strlen(enc)), 0);
    cr_assert_eq(dn, n);
    cr_assert_eq(memcmp(dec, data, n), 0);
    free(dec);
    /* A standard character far into a URL-safe text is refused at its offset. */
    {
        char *q = strchr(enc + 200000, '-');

        cr_assert_not_null(q);
        *q = '+';
        cr_assert_eq(sign__b64_decode(&dec, &dn, enc, strlen(enc)), SIGN_EPARSE);
        {
            char want[64];
            snprintf(want, sizeof(want), "offset %zu", (size_t)(q - enc));
            cr_assert(strstr(sign_error_last(), want) != NULL, "%s", sign_error_last());
        }
        *q = '*';
        cr_assert_eq(sign__b64_decode(&dec, &dn, enc, strlen(enc)), SIGN_EPARSE, "a character of neither");
    }
    free(enc);
    free(data);
}

Test(util, json_dump_long_and_escaped_strings)
{
    const size_t n = 70000;
    char *big = malloc(n + 1), *s = NULL;
    json_t *j, *back = NULL;
    size_t len = 0;

    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)(i % 17 == 0 ? '"' : i % 29 == 0 ? '\\' : 'a' + (char)(i % 26));
    }
    big[n] = '\0';
    j = json_pack("{s:s,s:i}", "big", big, "n", 1);
    cr_assert_eq(sign__json_dump(&s, &len, j, 0), 0);
    cr_assert_eq(strlen(s), len);
    cr_assert_eq(sign__json_parse(&back, s, len, NULL, "t"), 0);
    cr_assert(json_equal(j, back));
    json_decref(back);
    json_decref(j);
    free(s);
    free(big);
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

static char *util_json_text(const char *s)
{
    json_t *j = sign__json_text(s);
    char *r;

    cr_assert_not_null(j, "sign__json_text(%s) failed", s);
    r = strdup(json_string_value(j));
    json_decref(j);
    return r;
}

/* Every class of ill-formed UTF-8 (Unicode 15, table 3-7) is escaped byte by byte, the rest kept. */
Test(util, json_text_follows_the_utf8_well_formed_table)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}, /* U+E9 U+20AC U+1F600 */
        {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"},                 /* U+FFFF U+10FFFF */
        {"\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"}, /* U+D7FF U+E000 around the surrogates */
        {"a\xc0\xaf", "a\\xc0\\xaf"},                             /* overlong '/' */
        {"\xc1\xbf", "\\xc1\\xbf"},                               /* overlong 2-byte */
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},                      /* overlong 3-byte */
        {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},                      /* overlong 3-byte, highest */
        {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},             /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},             /* overlong 4-byte, highest */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                      /* U+D800 */
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},                      /* U+DFFF */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},             /* U+110000 */
        {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},             /* lead byte past F4 */
        {"\xff\xfe", "\\xff\\xfe"},
        {"\x80x", "\\x80x"},                          /* lone continuation */
        {"x\xe2\x82", "x\\xe2\\x82"},                 /* truncated at the end */
        {"\xe2\x82x\xc3\xa9", "\\xe2\\x82x\xc3\xa9"}, /* truncated, then valid */
        {"\xf0\x9f\x98", "\\xf0\\x9f\\x98"},          /* truncated 4-byte */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = util_json_text(cases[i].in);

        cr_expect_str_eq(got, cases[i].want, "case %zu", i);
        free(got);
    }
    {
        /* Worst case growth: every byte escaped (4 output bytes each), no overflow (ASan). */
        char in[4097], *got;

        memset(in, 0xff, sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        got = util_json_text(in);
        cr_assert_eq(strlen(got), 4 * (sizeof(in) - 1));
        free(got);
    }
    cr_assert(json_is_null(sign__json_text(NULL)));
}

Test(util, text_safe_escapes_controls_and_invalid_bytes)
{
    char *t;

    t = sign_text_safe("caf\xc3\xa9 ok");
    cr_assert_str_eq(t, "caf\xc3\xa9 ok", "valid UTF-8 is kept");
    free(t);
    t = sign_text_safe("a\nb\x1b[2J\x7f");
    cr_assert_str_eq(t, "a\\x0ab\\x1b[2J\\x7f", "C0 controls and DEL");
    free(t);
    t = sign_text_safe("x\xc2\x9b"
                       "1m");
    cr_assert_str_eq(t, "x\\xc2\\x9b1m", "C1 control (CSI) as its two bytes");
    free(t);
    t = sign_text_safe("\xff\xc0\xaf");
    cr_assert_str_eq(t, "\\xff\\xc0\\xaf", "invalid bytes and overlongs");
    free(t);
}

/* An atomic write never swaps a device, FIFO or directory for a regular file (-o /dev/null as root
   replaced /dev/null itself, found when a test run broke the machine's /dev/null). */
Test(util, atomic_write_never_replaces_a_special_file)
{
    char *d = tu_mkdtemp(), *fifo = tu_path(d, "fifo"), *sub = tu_path(d, "sub"), *link = tu_path(d, "link");
    struct stat st;

    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(sign__write_file_atomic(fifo, "x", 1, 0644), SIGN_EINVAL);
    cr_assert_not_null(strstr(sign_error_last(), "not a regular file"));
    cr_assert_eq(lstat(fifo, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");
    cr_assert_eq(sign__write_file_atomic(sub, "x", 1, 0644), SIGN_EINVAL);
    cr_assert_eq(lstat(sub, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    /* a regular file and a symbolic link are replaced as before */
    cr_assert_eq(symlink("elsewhere", link), 0);
    cr_assert_eq(sign__write_file_atomic(link, "x", 1, 0644), 0);
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    tu_rmtree(d);
    free(d);
    free(fifo);
    free(sub);
    free(link);
}
