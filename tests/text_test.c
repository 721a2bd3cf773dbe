/*
 * util/text: the one strict UTF-8 decoder and the one escaper, and every
 * string libsign returns from input made printable: a finding (path and
 * message, zip and tar), an artifact (subject) name in an event, an error
 * message, a certificate subject, and the sign and verify events.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sign/sign.h"
#include "util.h"
#include "pkigen.h"
#include "targen.h"
#include "testutil.h"
#include "text.h"
#include "zipgen.h"

/* The hostile strings: ESC[2J, CSI as U+009B, RIGHT-TO-LEFT OVERRIDE, invalid bytes, an overlong '/'. */
static const char *const tx_hostile[] = {
    "clear\x1b[2Jscreen",
    "csi\xc2\x9b"
    "31mred",
    "evil\xe2\x80\xaetxt.exe",
    "bad\xff\xfe bytes",
    "over\xc0\xaflong",
    "isolate\xe2\x81\xa6x\xe2\x81\xa9",
    "del\x7f",
    "bell\x07",
};

/* 1 when s holds a raw byte sequence that a terminal would act on (or one that is not UTF-8). */
static int tx_unsafe(const char *s)
{
    return sign__text_needs_escape(s, strlen(s));
}

static void tx_assert_safe(const char *s, const char *where)
{
    cr_assert_not_null(s, "%s: NULL", where);
    cr_assert(!tx_unsafe(s), "%s: raw control, bidi or invalid byte survived", where);
    cr_assert_null(strchr(s, '\x1b'), "%s: ESC", where);
}

Test(text, utf8_decoder_is_strict)
{
    static const struct {
        const char *s;
        size_t len, want;
        uint32_t cp;
    } v[] = {
        {"A", 1, 1, 0x41},
        {"\xc3\xa9", 2, 2, 0xe9},
        {"\xe2\x82\xac", 3, 3, 0x20ac},
        {"\xf0\x9f\x98\x80", 4, 4, 0x1f600},
        {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
        {"\xc0\xaf", 2, 0, 0},         /* overlong '/' */
        {"\xc1\xbf", 2, 0, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0, 0},     /* overlong three-byte */
        {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong four-byte */
        {"\xed\xa0\x80", 3, 0, 0},     /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3, 0, 0},     /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, 0, 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0, 0},
        {"\x80", 1, 0, 0},         /* stray continuation */
        {"\xe2\x82", 2, 0, 0},     /* cut */
        {"\xe2\x28\xa1", 3, 0, 0}, /* bad continuation */
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint32_t cp = 0;
        size_t k = sign__utf8_seq((const unsigned char *)v[i].s, v[i].len, &cp);

        cr_assert_eq(k, v[i].want, "row %zu: length %zu", i, k);
        if (k != 0) {
            cr_assert_eq(cp, v[i].cp, "row %zu: U+%04X", i, cp);
        }
        cr_assert_eq(sign__utf8_valid(v[i].s, v[i].len), v[i].want != 0, "row %zu", i);
    }
    cr_assert(sign__utf8_valid("a\0b", 3), "NUL is U+0000");
}

Test(text, escaper_one_syntax_for_every_unsafe_sequence)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"caf\xc3\xa9 ok", "caf\xc3\xa9 ok"},
        {"a\nb\x1b[2J\x7f", "a\\x0ab\\x1b[2J\\x7f"},
        {"x\xc2\x9b"
         "1m",
         "x\\xc2\\x9b1m"},
        {"\xc2\xa0nbsp", "\xc2\xa0nbsp"}, /* U+00A0 is printable */
        {"r\xe2\x80\xaegpj.exe", "r\\xe2\\x80\\xaegpj.exe"},
        {"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
         "\\xe2\\x80\\xaa\\xe2\\x80\\xab\\xe2\\x80\\xac\\xe2\\x80\\xad"},
        {"\xe2\x81\xa6\xe2\x81\xa9", "\\xe2\\x81\\xa6\\xe2\\x81\\xa9"},
        {"\xe2\x80\x8e", "\xe2\x80\x8e"}, /* LRM is a mark, not an override: kept */
        {"\xff\xc0\xaf", "\\xff\\xc0\\xaf"},
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
        {"back\\slash", "back\\slash"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *t = sign_text_safe(v[i].in), buf[256];

        cr_assert_str_eq(t, v[i].out, "row %zu", i);
        cr_assert_str_eq(sign__text_escape_into(buf, sizeof(buf), v[i].in, strlen(v[i].in)), v[i].out, "row %zu", i);
        cr_assert(!tx_unsafe(t), "row %zu", i);
        free(t);
    }
}

Test(text, escape_into_cuts_between_escapes_and_marks_the_cut)
{
    char buf[12];

    /* "\x1b" takes 4 bytes: never cut in the middle of one, nor of a UTF-8 character. */
    sign__text_escape_into(buf, sizeof(buf), "\x1b\x1b\x1b\x1b", 4);
    cr_assert_str_eq(buf, "\\x1b\\x1b...");
    sign__text_escape_into(buf, sizeof(buf), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
    cr_assert_str_eq(buf, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
    sign__text_escape_into(buf, sizeof(buf), "exactly 11!", 11);
    cr_assert_str_eq(buf, "exactly 11!", "what fits is not cut");
    sign__text_escape_into(buf, 3, "abcdef", 6);
    cr_assert_str_eq(buf, "ab");
}

Test(text, json_printable_keeps_the_value_and_leaves_nothing_raw)
{
    json_t *j = json_pack("{s:s}", "name",
                          "a\x7f"
                          "b\xc2\x9b"
                          "c\xe2\x80\xae"
                          "d\x1b"
                          "e\xc3\xa9");
    json_t *back;
    char *text = NULL;
    size_t n = 0;

    cr_assert_not_null(j);
    cr_assert_eq(sign__json_dump(&text, &n, j, 0), 0);
    cr_assert(tx_unsafe(text), "jansson leaves DEL, C1 and bidi raw");
    cr_assert_eq(sign__text_json_printable(&text, &n), 0);
    cr_assert_str_eq(text, "{\"name\":\"a\\u007Fb\\u009Bc\\u202Ed\\u001Be\xc3\xa9\"}");
    cr_assert_eq(n, strlen(text));
    cr_assert(!tx_unsafe(text));
    back = json_loads(text, 0, NULL);
    cr_assert(json_equal(back, j), "the same value");
    json_decref(back);
    json_decref(j);
    free(text);
}

Test(text, error_messages_leave_the_library_printable)
{
    for (size_t i = 0; i < sizeof(tx_hostile) / sizeof(tx_hostile[0]); i++) {
        sign__error(SIGN_EPARSE, "field \"%s\" is unknown", tx_hostile[i]);
        tx_assert_safe(sign_error_last(), tx_hostile[i]);
        sign__error_context(SIGN_EPARSE, "bundle %s", tx_hostile[i]);
        tx_assert_safe(sign_error_last(), "context");
    }
}

/* ---- through the library's outputs ------------------------------------------------ */

static char *tx_dir;

static void tx_setup(void)
{
    tx_dir = tu_mkdtemp();
}

static void tx_teardown(void)
{
    tu_rmtree(tx_dir);
    free(tx_dir);
}

static void tx_findings_safe(const sign_artifact *a, const char *what, size_t want_min)
{
    size_t n = sign_artifact_finding_count(a);

    cr_assert_geq(n, want_min, "%s: %zu findings", what, n);
    for (size_t i = 0; i < n; i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        if (f->path != NULL) {
            tx_assert_safe(f->path, f->id);
        }
        tx_assert_safe(f->message, f->id);
    }
}

Test(text, hostile_names_in_findings_of_zip_and_tar, .init = tx_setup, .fini = tx_teardown)
{
    for (size_t i = 0; i < sizeof(tx_hostile) / sizeof(tx_hostile[0]); i++) {
        /* A zip entry named so, and a symlink to it (the message quotes the target). */
        char target[128], *zp = tu_path(tx_dir, "h.zip"), *tp = tu_path(tx_dir, "h.tar");
        zg_entry z[] = {{.name = tx_hostile[i], .data = "x", .len = 1},
                        {.name = "l", .data = target, .len = 0, .unix_mode = S_IFLNK | 0777}};
        tg_entry t[] = {{.name = tx_hostile[i], .data = "x", .len = 1}, {.name = "l", .type = '2', .link = target}};
        sign_artifact *a = NULL;

        snprintf(target, sizeof(target), "/../%s", tx_hostile[i]);
        z[1].len = strlen(target);
        zg_write(zp, z, 2, NULL);
        cr_assert_eq(sign_artifact_scan(&a, zp, NULL, NULL), 0, "%s", sign_error_last());
        tx_findings_safe(a, "zip", 1);
        sign_artifact_free(a);
        tg_write(tp, t, 2, NULL);
        cr_assert_eq(sign_artifact_scan(&a, tp, NULL, NULL), 0, "%s", sign_error_last());
        tx_findings_safe(a, "tar", 1);
        sign_artifact_free(a);
        free(zp);
        free(tp);
    }
}

Test(text, hostile_certificate_subject_is_printable, .init = tx_setup, .fini = tx_teardown)
{
    /* Valid UTF-8 only: a certificate's UTF8String cannot hold invalid bytes. */
    static const char *const cns[] = {"clear\x1b[2Jscreen",
                                      "csi\xc2\x9b"
                                      "31mred",
                                      "evil\xe2\x80\xaetxt.exe", "del\x7f", "isolate\xe2\x81\xa6x"};

    for (size_t i = 0; i < sizeof(cns) / sizeof(cns[0]); i++) {
        pkigen_cert_opts o = {.cn = cns[i]};
        pkigen_cert *c = pkigen_cert_new(&o, NULL);
        sign_x509_certs *certs = pkigen_certs((const pkigen_cert *const *)&c, 1);
        sign_x509_info info;

        cr_assert_eq(sign_x509_certs_info(&info, certs, 0), 0, "%s", sign_error_last());
        tx_assert_safe(info.subject, cns[i]);
        cr_assert_not_null(strstr(info.subject, "CN="), "%s", info.subject);
        sign_x509_certs_free(certs);
        pkigen_cert_free(c);
    }
}

Test(text, hostile_subject_names_in_events_and_errors, .init = tx_setup, .fini = tx_teardown)
{
    char *art = tu_path(tx_dir, "app.bin"), *bun = tu_path(tx_dir, "app.bin.sigstore.json");
    char *pub = tu_path(tx_dir, "k.pub"), *pol = tu_path(tx_dir, "policy.json");
    sign_key *k = NULL;
    sign_policy *p = NULL;

    tu_write_str(art, "payload\n");
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_public(k, pub), 0);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"k.pub\"}]}");
    cr_assert_eq(sign_policy_load(&p, pol, NULL), 0, "%s", sign_error_last());
    for (size_t i = 0; i < sizeof(tx_hostile) / sizeof(tx_hostile[0]); i++) {
        const char *name = tx_hostile[i];
        const char *paths[] = {art}, *names[] = {name};
        sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
        sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
        sign_verify_result *res = NULL;
        sign_artifact **arts = NULL;
        sign_bundle *b = NULL;
        char *line = NULL;
        int r;

        /* The subject name is the hostile string (names with C0 controls are refused: also printable). */
        o.key = k;
        o.artifacts = paths;
        o.names = names;
        o.nartifacts = 1;
        o.output = bun;
        r = sign_sign(&b, &arts, &o);
        tx_assert_safe(sign_error_last(), "sign error");
        cr_assert_eq(sign_event_sign(&line, r, &o, arts, k, 0), 0, "%s", sign_error_last());
        tx_assert_safe(line, "sign event");
        cr_assert(strstr(line, "\\u") != NULL || strstr(line, "\\\\x") != NULL || r != 0,
                  "the name is in the event, escaped: %s", line);
        free(line);
        sign_bundle_free(b);
        for (size_t j = 0; arts != NULL && j < 1; j++) {
            sign_artifact_free(arts[j]);
        }
        free(arts);
        if (r != 0) {
            continue;
        }
        /* Verified under another name: the subject check fails quoting the signed name. */
        vo.artifacts = paths;
        vo.nartifacts = 1;
        r = sign_verify(&res, p, &vo);
        tx_assert_safe(sign_error_last(), "verify error");
        cr_assert_eq(sign_event_verify(&line, res, p, pol, 0), 0, "%s", sign_error_last());
        tx_assert_safe(line, "verify event");
        free(line);
        sign_verify_result_free(res);
    }
    sign_policy_free(p);
    sign_key_free(k);
    free(art);
    free(bun);
    free(pub);
    free(pol);
}

/* The CLI printed sign_error_last() as it was: a policy key carrying terminal escapes reached the terminal. */
Test(text, cli_error_quoting_a_hostile_field_is_printable, .init = tx_setup, .fini = tx_teardown)
{
    char *pol = tu_path(tx_dir, "policy.json"), *art = tu_path(tx_dir, "a.txt"), *err = NULL;
    const char *argv[] = {"signet", "verify", "-p", pol, art, NULL};
    int rc;

    tu_write_str(art, "x");
    tu_write_str(pol, "{\"version\":1,\"\\u001b[2J\\u009b31m\\u202eevil\":1,\"keys\":[]}");
    rc = tu_run(NULL, &err, NULL, argv);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(err);
    cr_assert_not_null(strstr(err, "\\x1b[2J"), "the field is named, escaped: %s", err);
    for (char *line = strtok(err, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        tx_assert_safe(line, "a line of stderr");
    }
    free(err);
    free(pol);
    free(art);
}
