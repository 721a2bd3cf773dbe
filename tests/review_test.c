/* Independent review of the event log, the JSON text escaping and the zip differential checks. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"
#include "zipgen.h"

static char *rv_dir;

static void rv_setup(void)
{
    rv_dir = tu_mkdtemp();
}

static void rv_teardown(void)
{
    tu_rmtree(rv_dir);
    free(rv_dir);
}

/* Sign art into bun with a fresh key and write pol trusting it. */
static void rv_signed(const char *art, const char *bun, const char *pol)
{
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {art};
    sign_bundle *b = NULL;
    char *pub = tu_path(rv_dir, "k.pub");

    tu_write_str(art, "payload\n");
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_public(k, pub), 0);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"k.pub\"}]}");
    o.key = k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = bun;
    cr_assert_eq(sign_sign(&b, NULL, &o), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    sign_key_free(k);
    free(pub);
}

/* A FIFO nobody reads used to block open() forever: the command must fail closed, promptly. */
Test(review, event_log_fifo_without_reader_fails_instead_of_hanging, .init = rv_setup, .fini = rv_teardown)
{
    char *art = tu_path(rv_dir, "a.bin"), *bun = tu_path(rv_dir, "a.bin.sigstore.json");
    char *pol = tu_path(rv_dir, "policy.json"), *fifo = tu_path(rv_dir, "events.fifo"), *err = NULL;
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", fifo, art, NULL};
    tu_fault f = {.fsize = -1, .kill_after_us = 10 * 1000 * 1000};
    int st;

    rv_signed(art, bun, pol);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    st = tu_run_fault(&err, NULL, argv, &f);
    cr_assert_neq(st, 1000 + 9, "signet blocked on a FIFO without a reader");
    cr_assert_eq(st, 2, "exit %d: %s", st, err);
    cr_assert_not_null(strstr(err, "event log"), "%s", err);
    free(err);
    free(art);
    free(bun);
    free(pol);
    free(fifo);
}

/* A FIFO with a reader (a log shipper) still receives the event, written in blocking mode. */
Test(review, event_log_fifo_with_reader_gets_the_line, .init = rv_setup, .fini = rv_teardown)
{
    char *art = tu_path(rv_dir, "a.bin"), *bun = tu_path(rv_dir, "a.bin.sigstore.json");
    char *pol = tu_path(rv_dir, "policy.json"), *fifo = tu_path(rv_dir, "events.fifo");
    char *out = NULL, *err = NULL, buf[8192];
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", fifo, art, NULL};
    ssize_t n;
    int rd;

    rv_signed(art, bun, pol);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    /* This process holds the read end (O_RDWR keeps the FIFO open without a writer). */
    rd = open(fifo, O_RDWR | O_NONBLOCK);
    cr_assert_geq(rd, 0);
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
    n = read(rd, buf, sizeof(buf) - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\"event\":\"signet.verify\""), "%s", buf);
    cr_assert_eq(buf[n - 1], '\n');
    close(rd);
    free(out);
    free(err);
    free(art);
    free(bun);
    free(pol);
    free(fifo);
}

/* A directory as the event log: refused before any work (exit 2). */
Test(review, event_log_directory_fails_closed, .init = rv_setup, .fini = rv_teardown)
{
    char *art = tu_path(rv_dir, "a.bin"), *bun = tu_path(rv_dir, "a.bin.sigstore.json");
    char *pol = tu_path(rv_dir, "policy.json"), *out = NULL, *err = NULL;
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", rv_dir, art, NULL};

    rv_signed(art, bun, pol);
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 2, "%s", err);
    cr_assert_not_null(strstr(err, "event log"), "%s", err);
    free(out);
    free(err);
    free(art);
    free(bun);
    free(pol);
}

static char *rv_text(const char *s)
{
    json_t *j = sign__json_text(s);
    char *r;

    cr_assert_not_null(j, "sign__json_text(%s) failed", s);
    r = strdup(json_string_value(j));
    json_decref(j);
    return r;
}

/* Every class of ill-formed UTF-8 (Unicode 15, table 3-7) is escaped byte by byte, the rest kept. */
Test(review, json_text_follows_the_utf8_well_formed_table)
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
        char *got = rv_text(cases[i].in);

        cr_expect_str_eq(got, cases[i].want, "case %zu", i);
        free(got);
    }
    {
        /* Worst case growth: every byte escaped (4 output bytes each), no overflow (ASan). */
        char in[4097], *got;

        memset(in, 0xff, sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        got = rv_text(in);
        cr_assert_eq(strlen(got), 4 * (sizeof(in) - 1));
        free(got);
    }
    cr_assert(json_is_null(sign__json_text(NULL)));
}

/*
 * A hidden local header whose "version needed to extract" is 0x00ff: libarchive's
 * streaming reader (checked with archive_read_support_format_zip_streamable)
 * and Java ignore that field and extract the file, so it must not hide it.
 */
Test(review, hidden_entry_with_any_version_needed_is_found, .init = rv_setup, .fini = rv_teardown)
{
    zg_entry e[] = {{.name = "a.txt", .data = "abc", .len = 3},
                    {.name = "hidden.sh", .data = "rm -rf /", .len = 8, .omit_from_cd = 1},
                    {.name = "b.txt", .data = "def", .len = 3}};
    sign_artifact_options opts = SIGN_ARTIFACT_OPTIONS_INIT;
    unsigned char *z = NULL, *h;
    size_t zl = 0, found = 0;
    sign_artifact *a = NULL;
    char *p = tu_path(rv_dir, "t.zip");

    cr_assert_eq(zg_build(&z, &zl, e, 3, NULL), 0);
    h = memmem(z + 4, zl - 4, "PK\x03\x04", 4);
    cr_assert_not_null(h);
    cr_assert_eq(memcmp(h + 30, "hidden.sh", 9), 0);
    h[4] = 0xff;
    h[5] = 0x00;
    tu_write(p, z, zl);
    cr_assert_eq(sign_artifact_scan(&a, p, "t.zip", &opts), 0, "%s", sign_error_last());
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        if (strcmp(f->id, "zip-hidden-entry") == 0) {
            cr_assert_eq(f->severity, SIGN_SEVERITY_DANGER);
            cr_assert_str_eq(f->path, "hidden.sh");
            found++;
        }
    }
    cr_assert_eq(found, 1, "the hidden entry was not reported");
    sign_artifact_free(a);
    free(z);
    free(p);
}

Test(review, text_safe_escapes_controls_and_invalid_bytes)
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

/* inspect shows a bundle it has not verified: its strings must not drive the terminal or forge lines. */
Test(review, inspect_neutralises_hostile_bundle_text, .init = rv_setup, .fini = rv_teardown)
{
    char *art = tu_path(rv_dir, "a.txt"), *bun = tu_path(rv_dir, "a.json"), *pol = tu_path(rv_dir, "p.json");
    char *evil = tu_path(rv_dir, "evil.json"), *odd = tu_path(rv_dir, "b\xff.json");
    char *text, *payload = NULL, *b64 = NULL, *out = NULL, *err = NULL;
    unsigned char *raw = NULL;
    size_t n = 0;
    json_t *j, *st, *env;

    rv_signed(art, bun, pol);
    text = tu_read(bun, NULL);
    j = json_loads(text, 0, NULL);
    env = json_object_get(j, "dsseEnvelope");
    {
        const char *p = json_string_value(json_object_get(env, "payload"));
        cr_assert_eq(sign__b64_decode(&raw, &n, p, strlen(p)), 0);
    }
    st = json_loadb((const char *)raw, n, 0, NULL);
    json_object_set_new(json_array_get(json_object_get(st, "subject"), 0), "name",
                        json_string("evil\x1b[2J\nverified: everything"));
    payload = json_dumps(st, JSON_COMPACT);
    cr_assert_eq(sign__b64_encode(&b64, (const unsigned char *)payload, strlen(payload)), 0);
    json_object_set_new(env, "payload", json_string(b64));
    cr_assert_eq(json_dump_file(j, evil, 0), 0);
    cr_assert_eq(json_dump_file(j, odd, 0), 0);
    {
        const char *argv[] = {"signet", "inspect", evil, NULL};
        cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
        cr_assert_null(strchr(out, '\x1b'), "no terminal escape reaches the screen: %s", out);
        cr_assert_null(strstr(out, "\nverified: everything"), "no forged line: %s", out);
        cr_assert_not_null(strstr(out, "evil\\x1b[2J\\x0averified: everything"), "%s", out);
        free(out);
        free(err);
    }
    {
        const char *argv[] = {"signet", "inspect", "--json", odd, NULL};
        json_t *o;

        cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
        o = json_loads(out, 0, NULL);
        cr_assert_not_null(o, "%s", out);
        cr_assert_not_null(json_object_get(o, "bundle"), "a path that is not UTF-8 is still named");
        cr_assert_not_null(strstr(json_string_value(json_object_get(o, "bundle")), "b\\xff.json"));
        json_decref(o);
        free(out);
        free(err);
    }
    json_decref(st);
    json_decref(j);
    free(raw);
    free(payload);
    free(b64);
    free(text);
    free(art);
    free(bun);
    free(pol);
    free(evil);
    free(odd);
}
