/* End-to-end tests of the signet command line on real files made by the test. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

/* ---- fixture: one temporary directory per test, paths freed at the end ---- */

static char *cli_dir;
static char *cli_paths[128];
static size_t cli_npaths;

static void cli_setup(void)
{
    cli_dir = tu_mkdtemp();
    cli_npaths = 0;
}

static void cli_teardown(void)
{
    tu_rmtree(cli_dir);
    free(cli_dir);
    for (size_t i = 0; i < cli_npaths; i++) {
        free(cli_paths[i]);
    }
    cli_npaths = 0;
}

/* dir/name, owned by the fixture. */
static const char *cp(const char *name)
{
    cr_assert_lt(cli_npaths, sizeof(cli_paths) / sizeof(cli_paths[0]));
    cli_paths[cli_npaths] = tu_path(cli_dir, name);
    return cli_paths[cli_npaths++];
}

static char *cli_out, *cli_err;

/* Run signet (or another program) with NULL-terminated arguments; output in cli_out / cli_err. */
static int cli_runv(const char *const *env, const char *arg0, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;

    free(cli_out);
    free(cli_err);
    cli_out = cli_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 63);
    }
    va_end(ap);
    return tu_run(&cli_out, &cli_err, env, argv);
}

#define RUN(...) cli_runv(NULL, "signet", __VA_ARGS__, (const char *)NULL)
#define RUN_ENV(env, ...) cli_runv(env, "signet", __VA_ARGS__, (const char *)NULL)
#define SH(script) cli_runv(NULL, "/bin/sh", "-c", script, (const char *)NULL)

static void cli_free_output(void)
{
    free(cli_out);
    free(cli_err);
    cli_out = cli_err = NULL;
}

static size_t cli_count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Input error contract: exit 2, one line on stderr naming the file. */
static void cli_assert_one_line_error(int rc, const char *file)
{
    cr_assert_eq(rc, 2, "exit %d, stderr: %s", rc, cli_err);
    cr_assert_eq(cli_count_lines(cli_err), 1, "one line on stderr, got: %s", cli_err);
    cr_assert_not_null(strstr(cli_err, file), "stderr names %s: %s", file, cli_err);
}

/* ---- inputs ---- */

static void cli_keygen(const char *prefix)
{
    const char *p = cp(prefix);
    int rc = RUN("keygen", "--no-passphrase", "-o", p);

    cr_assert_eq(rc, 0, "keygen %s: %s", prefix, cli_err);
}

/* A small Lambda-style deployment zip made with /usr/bin/zip. */
static const char *cli_make_zip(const char *name)
{
    char script[2048];
    const char *src = cp("zipsrc");
    const char *zip = cp(name);

    snprintf(script, sizeof(script),
             "set -e; rm -rf '%s'; mkdir -p '%s/lib'; cd '%s';"
             "printf 'exports.handler = async () => ({ statusCode: 200 });\\n' > index.js;"
             "printf '{\"name\": \"app\", \"version\": \"1.0.0\"}\\n' > package.json;"
             "printf 'module.exports = (x) => x + 1;\\n' > lib/util.js;"
             "rm -f '%s'; zip -qrX '%s' index.js package.json lib/util.js",
             src, src, src, zip, zip);
    cr_assert_eq(SH(script), 0, "zip: %s", cli_err);
    return zip;
}

static void cli_policy(const char *name, const char *json)
{
    tu_write_str(cp(name), json);
}

#define POLICY_RELEASE                                                                                               \
    "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"release.pub\", \"artifacts\": "           \
    "[\"*\"]}]}"

static void cli_flip_byte(const char *path, size_t off)
{
    size_t len;
    char *b = tu_read(path, &len);

    cr_assert_lt(off, len);
    b[off] ^= 0x01;
    tu_write(path, b, len);
    free(b);
}

static int cli_same_bytes(const char *path, const char *data, size_t len)
{
    size_t n;
    char *b = tu_read(path, &n);
    int same = n == len && memcmp(b, data, n) == 0;

    free(b);
    return same;
}

/* CRC-32 (zip's polynomial), bitwise. */
static uint32_t cli_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

static void cli_le16(unsigned char **p, unsigned v)
{
    (*p)[0] = (unsigned char)v;
    (*p)[1] = (unsigned char)(v >> 8);
    *p += 2;
}

static void cli_le32(unsigned char **p, uint32_t v)
{
    cli_le16(p, v & 0xffff);
    cli_le16(p, v >> 16);
}

/* A stored (uncompressed) zip with one entry named entry_name: written byte by byte. */
static void cli_raw_zip(const char *path, const char *entry_name, const char *content)
{
    unsigned char buf[1024], *p = buf;
    size_t nl = strlen(entry_name), cl = strlen(content);
    uint32_t crc = cli_crc32((const unsigned char *)content, cl), cd_off, cd_size;

    cr_assert_lt(nl * 2 + cl + 100, sizeof(buf));
    cli_le32(&p, 0x04034b50u); /* local file header */
    cli_le16(&p, 20);
    cli_le16(&p, 0);
    cli_le16(&p, 0); /* stored */
    cli_le16(&p, 0);
    cli_le16(&p, 0x21);
    cli_le32(&p, crc);
    cli_le32(&p, (uint32_t)cl);
    cli_le32(&p, (uint32_t)cl);
    cli_le16(&p, (unsigned)nl);
    cli_le16(&p, 0);
    memcpy(p, entry_name, nl);
    p += nl;
    memcpy(p, content, cl);
    p += cl;
    cd_off = (uint32_t)(p - buf);
    cli_le32(&p, 0x02014b50u); /* central directory header */
    cli_le16(&p, 0x031e);
    cli_le16(&p, 20);
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le16(&p, 0x21);
    cli_le32(&p, crc);
    cli_le32(&p, (uint32_t)cl);
    cli_le32(&p, (uint32_t)cl);
    cli_le16(&p, (unsigned)nl);
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le32(&p, 0100644u << 16);
    cli_le32(&p, 0);
    memcpy(p, entry_name, nl);
    p += nl;
    cd_size = (uint32_t)(p - buf) - cd_off;
    cli_le32(&p, 0x06054b50u); /* end of central directory */
    cli_le16(&p, 0);
    cli_le16(&p, 0);
    cli_le16(&p, 1);
    cli_le16(&p, 1);
    cli_le32(&p, cd_size);
    cli_le32(&p, cd_off);
    cli_le16(&p, 0);
    tu_write(path, buf, (size_t)(p - buf));
}

/* Load a bundle's JSON, let edit() change it, write it back. */
static void cli_edit_bundle(const char *path, void (*edit)(json_t *root))
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    char *text;

    cr_assert_not_null(root, "%s: %s", path, jerr.text);
    edit(root);
    text = json_dumps(root, JSON_COMPACT);
    cr_assert_not_null(text);
    tu_write_str(path, text);
    free(text);
    json_decref(root);
}

static json_t *cli_envelope(json_t *root)
{
    json_t *env = json_object_get(root, "dsseEnvelope");

    cr_assert(json_is_object(env));
    return env;
}

/* Change one hex digit of the first subject digest inside the payload, re-encode. */
static void cli_edit_payload(json_t *root)
{
    json_t *env = cli_envelope(root);
    const char *b64 = json_string_value(json_object_get(env, "payload"));
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    char *enc = NULL, *hex;

    cr_assert_not_null(b64);
    cr_assert_eq(sign__b64_decode(&raw, &rawlen, b64, strlen(b64)), 0);
    hex = strstr((char *)raw, "\"sha256\":\"");
    cr_assert_not_null(hex, "payload has a sha256: %.*s", (int)rawlen, raw);
    hex += strlen("\"sha256\":\"");
    *hex = *hex == '0' ? '1' : '0';
    cr_assert_eq(sign__b64_encode(&enc, raw, rawlen), 0);
    json_object_set_new(env, "payload", json_string(enc));
    free(enc);
    free(raw);
}

static void cli_edit_payload_type(json_t *root)
{
    json_object_set_new(cli_envelope(root), "payloadType", json_string("application/vnd.in-toto+jsonx"));
}

/* ---- usage ---- */

Test(cli, usage_and_help, .init = cli_setup, .fini = cli_teardown)
{
    char *help;

    cr_assert_eq(RUN("frobnicate"), 2);
    cr_assert_not_null(strstr(cli_err, "usage: signet"));
    cr_assert_str_eq(cli_out, "");
    cr_assert_eq(cli_runv(NULL, "signet", (const char *)NULL), 2);
    cr_assert_eq(RUN("--version"), 0);
    cr_assert_str_eq(cli_out, "signet " SIGN_VERSION_STRING "\n");
    cr_assert_eq(RUN("sign", "--help"), 0);
    help = strdup(cli_out);
    cr_assert_not_null(strstr(help, "usage: signet sign"));
    cr_assert_eq(RUN("help", "sign"), 0);
    cr_assert_str_eq(cli_out, help, "signet help sign equals signet sign --help");
    free(help);
    cr_assert_eq(RUN("help", "verify"), 0);
    cr_assert_not_null(strstr(cli_out, "usage: signet verify"));
    cr_assert_eq(RUN("help", "nosuch"), 2);
    cr_assert_eq(RUN("verify", "--bogus", "x"), 2);
    cr_assert_eq(RUN("verify", "x"), 2, "verify without -p");
    cr_assert_eq(RUN("sign", "x"), 2, "sign without -k");
    /* An abbreviated --passphrase-file must not swallow (and echo) a passphrase given as an argument. */
    cr_assert_eq(RUN("sign", "-k", "k.key", "--passphrase", "hunter2-secret", "x"), 2);
    cr_assert_null(strstr(cli_err, "hunter2-secret"), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "--passphrase"), "%s", cli_err);
    cr_assert_eq(RUN("verify", "--js", "-p", "p.json", "x"), 2, "abbreviations are refused");
    cr_assert_eq(RUN("verify", "--json=yes", "-p", "p.json", "x"), 2);
    /* A long option without its value is named as typed (it was "-R" and "-\x81"). */
    cr_assert_eq(RUN("sign", "-k", "k.key", "--ref"), 2);
    cr_assert_not_null(strstr(cli_err, "option --ref needs a value"), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", "p.json", "--tls-verify"), 2);
    cr_assert_not_null(strstr(cli_err, "option --tls-verify needs a value"), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p"), 2);
    cr_assert_not_null(strstr(cli_err, "option -p needs a value"), "%s", cli_err);
    cli_free_output();
}

/* ---- roundtrips ---- */

Test(cli, sign_verify_file_roundtrip, .init = cli_setup, .fini = cli_teardown)
{
    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "release notes\n");
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("notes.txt")), 0, "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, "signed 1 artifact(s) -> "));
    cr_assert(tu_exists(cp("notes.txt.sigstore.json")), "default bundle name ARTIFACT.sigstore.json");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("notes.txt")), 0, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_out, "verified: 1 artifact(s)"), "%s", cli_out);
    cr_assert_not_null(strstr(cli_out, "release"), "names the signer: %s", cli_out);
    cli_free_output();
}

Test(cli, sign_verify_zip_roundtrip_and_artifact_untouched, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;
    char *before;
    size_t len;

    cli_keygen("release");
    zip = cli_make_zip("app-1.0.zip");
    before = tu_read(zip, &len);
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip), 0, "%s", cli_err);
    cr_assert(cli_same_bytes(zip, before, len), "sign never modifies the artifact");
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "--entries", zip), 0, "%s%s", cli_out, cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("app-1.0.zip.sigstore.json"), zip), 0);
    free(before);
    cli_free_output();
}

Test(cli, several_artifacts_in_one_bundle_need_o, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;

    cli_keygen("release");
    zip = cli_make_zip("app-1.0.zip");
    tu_write_str(cp("config.txt"), "x=1\n");
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip, cp("config.txt")), 2);
    cr_assert_not_null(strstr(cli_err, "-o"), "says -o is needed: %s", cli_err);
    cr_assert(!tu_exists(cp("app-1.0.zip.sigstore.json")));
    cr_assert(!tu_exists(cp("config.txt.sigstore.json")));
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("release.sigstore.json"), zip, cp("config.txt")), 0,
                 "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, "signed 2 artifact(s)"));
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("release.sigstore.json"), zip, cp("config.txt")), 0,
                 "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_out, "verified: 2 artifact(s)"));
    cli_free_output();
}

/* ---- tampering ---- */

/* Sign app-1.0.zip with release, write the release policy; returns the zip path. */
static const char *cli_signed_zip(void)
{
    const char *zip;

    cli_keygen("release");
    zip = cli_make_zip("app-1.0.zip");
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip), 0, "%s", cli_err);
    return zip;
}

Test(cli, tamper_one_byte_of_zip, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    size_t len;

    free(tu_read(zip, &len));
    cli_flip_byte(zip, len / 2);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL DIGEST_MISMATCH: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "NOT verified"), "%s", cli_err);
    cr_assert_null(strstr(cli_out, "verified:"));
    cli_free_output();
}

Test(cli, tamper_entry_added_to_zip, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    char script[1024];

    snprintf(script, sizeof(script), "cd '%s' && printf 'evil\\n' > extra.js && zip -qX '%s' extra.js", cli_dir, zip);
    cr_assert_eq(SH(script), 0, "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL DIGEST_MISMATCH: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL "));
    cli_free_output();
}

Test(cli, tamper_payload_edited, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();

    cli_edit_bundle(cp("app-1.0.zip.sigstore.json"), cli_edit_payload);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL SIGNATURE_INVALID: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL "));
    cli_free_output();
}

Test(cli, tamper_payload_type_edited, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();

    cli_edit_bundle(cp("app-1.0.zip.sigstore.json"), cli_edit_payload_type);
    /* The PAE covers the payload type, and only in-toto payloads are accepted: exit 1 (docs/format.md). */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL PAYLOAD_TYPE_WRONG: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL "));
    cli_free_output();
}

Test(cli, signature_by_another_key_is_untrusted, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;

    cli_keygen("release");
    cli_keygen("other");
    zip = cli_make_zip("app-1.0.zip");
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(RUN("sign", "-k", cp("other.key"), zip), 0, "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 3, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL KEY_UNTRUSTED: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL "));
    cli_free_output();
}

Test(cli, key_not_in_policy_is_untrusted, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;

    cli_keygen("release");
    cli_keygen("other");
    cli_keygen("third");
    zip = cli_make_zip("app-1.0.zip");
    cli_policy("policy.json", "{\"version\": 1, \"keys\": ["
                              "{\"name\": \"other\", \"public_key\": \"other.pub\"},"
                              "{\"name\": \"third\", \"public_key\": \"third.pub\"}]}");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip), 0, "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 3, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL KEY_UNTRUSTED: "), "%s", cli_err);
    cli_free_output();
}

Test(cli, key_outside_validity_window_is_expired, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();

    cli_policy("old.json", "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"release.pub\","
                           "\"not_before\": \"2020-01-01T00:00:00Z\", \"not_after\": \"2021-01-01T00:00:00Z\"}]}");
    cli_policy("future.json", "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"release.pub\","
                              "\"not_before\": \"2999-01-01T00:00:00Z\"}]}");
    cr_assert_eq(RUN("verify", "-p", cp("old.json"), zip), 6, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL KEY_EXPIRED: "), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("future.json"), zip), 6, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL KEY_NOT_YET_VALID: "), "%s", cli_err);
    /* Judged as of a time inside the window, the same bundle is fine. */
    cr_assert_eq(RUN("verify", "-p", cp("old.json"), "--at", "2020-06-01T00:00:00Z", zip), 0, "%s%s", cli_out,
                 cli_err);
    cli_free_output();
}

Test(cli, artifact_outside_key_globs_is_policy_violation, .init = cli_setup, .fini = cli_teardown)
{
    cli_keygen("release");
    tu_write_str(cp("tool.bin"), "binary\n");
    cli_policy("policy.json", "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"release.pub\","
                              "\"artifacts\": [\"app-*.zip\"]}]}");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("tool.bin")), 0, "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("tool.bin")), 4, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL SIGNER_NOT_ALLOWED: "), "%s", cli_err);
    cli_free_output();
}

Test(cli, missing_bundle, .init = cli_setup, .fini = cli_teardown)
{
    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "unsigned\n");
    cli_policy("policy.json", POLICY_RELEASE);
    /* No bundle beside it and none given: unsigned, a verification failure; a -b that is not there: input error. */
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), cp("notes.txt")), 1, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "notes.txt.sigstore.json"), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("nope.json"), cp("notes.txt")), 2);
    cr_assert_not_null(strstr(cli_err, "nope.json"), "%s", cli_err);
    cli_free_output();
}

Test(cli, threshold_counts_distinct_signers, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;

    cli_keygen("release");
    cli_keygen("other");
    zip = cli_make_zip("app-1.0.zip");
    cli_policy("policy.json", "{\"version\": 1, \"keys\": ["
                              "{\"name\": \"release\", \"public_key\": \"release.pub\"},"
                              "{\"name\": \"other\", \"public_key\": \"other.pub\"}],"
                              "\"require\": {\"threshold\": 2}}");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("r1.json"), zip), 0, "%s", cli_err);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("r2.json"), zip), 0, "%s", cli_err);
    cr_assert_eq(RUN("sign", "-k", cp("other.key"), "-o", cp("o1.json"), zip), 0, "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("r1.json"), zip), 4, "one signer: %s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL THRESHOLD_NOT_MET: "), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("r1.json"), "-b", cp("r2.json"), zip), 4,
                 "the same signer twice: %s", cli_err);
    cr_assert_not_null(strstr(cli_err, "FAIL THRESHOLD_NOT_MET: "), "%s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("r1.json"), "-b", cp("o1.json"), zip), 0,
                 "two signers: %s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_out, "release"));
    cr_assert_not_null(strstr(cli_out, "other"));
    cli_free_output();
}

Test(cli, warn_mode_exits_zero_and_reports, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    size_t len;

    cli_policy("warn.json", "{\"version\": 1, \"mode\": \"warn\", \"keys\": [{\"name\": \"release\", "
                            "\"public_key\": \"release.pub\"}]}");
    free(tu_read(zip, &len));
    cli_flip_byte(zip, len / 2);
    cr_assert_eq(RUN("verify", "-p", cp("warn.json"), zip), 0, "%s%s", cli_out, cli_err);
    cr_assert_not_null(strstr(cli_err, "WARN DIGEST_MISMATCH: "), "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, "NOT verified (warn mode: allowed)"), "%s", cli_out);
    cr_assert(strstr(cli_err, "WARN ") != NULL || strstr(cli_err, "FAIL ") != NULL, "reports: %s", cli_err);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), zip), 1, "enforce refuses the same");
    cli_free_output();
}

Test(cli, json_verdict_parses_on_success_and_failure, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    json_error_t jerr;
    json_t *j;
    size_t len;

    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "--json", zip), 0, "%s", cli_err);
    j = json_loads(cli_out, 0, &jerr);
    cr_assert_not_null(j, "stdout is one JSON object: %s (%s)", jerr.text, cli_out);
    cr_assert(json_is_object(j));
    json_decref(j);
    free(tu_read(zip, &len));
    cli_flip_byte(zip, len / 2);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "--json", zip), 1, "%s", cli_err);
    j = json_loads(cli_out, 0, &jerr);
    cr_assert_not_null(j, "stdout is one JSON object also on failure: %s (%s)", jerr.text, cli_out);
    cr_assert_not_null(strstr(cli_out, "\"fail\""), "%s", cli_out);
    cr_assert_not_null(strstr(cli_out, "\"DIGEST_MISMATCH\""), "the failing reason: %s", cli_out);
    cr_assert_str_eq(cli_err, "", "nothing else is printed for a verification failure in --json mode");
    json_decref(j);
    cli_free_output();
}

/* ---- bad input: exit 2, one line naming the file, nothing written ---- */

Test(cli, garbage_key_file, .init = cli_setup, .fini = cli_teardown)
{
    tu_write_str(cp("bad.key"), "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");
    tu_write_str(cp("notes.txt"), "hello\n");
    cli_assert_one_line_error(RUN("sign", "-k", cp("bad.key"), cp("notes.txt")), "bad.key");
    cr_assert(!tu_exists(cp("notes.txt.sigstore.json")));
    cli_assert_one_line_error(RUN("sign", "-k", cp("nokey.key"), cp("notes.txt")), "nokey.key");
    cr_assert(!tu_exists(cp("notes.txt.sigstore.json")));
    cli_free_output();
}

Test(cli, garbage_bundle, .init = cli_setup, .fini = cli_teardown)
{
    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "hello\n");
    cli_policy("policy.json", POLICY_RELEASE);
    tu_write_str(cp("notes.txt.sigstore.json"), "{\"mediaType\": 42");
    cli_assert_one_line_error(RUN("verify", "-p", cp("policy.json"), cp("notes.txt")), "notes.txt.sigstore.json");
    cli_assert_one_line_error(RUN("inspect", cp("notes.txt.sigstore.json")), "notes.txt.sigstore.json");
    cli_free_output();
}

Test(cli, garbage_policy, .init = cli_setup, .fini = cli_teardown)
{
    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "hello\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("notes.txt")), 0, "%s", cli_err);
    cli_policy("policy.json", "{\"version\": 1, \"keys\": [], \"surprise\": true}");
    cli_assert_one_line_error(RUN("verify", "-p", cp("policy.json"), cp("notes.txt")), "policy.json");
    cr_assert_null(strstr(cli_out, "verified"));
    cli_policy("nokey.json", "{\"version\": 1, \"keys\": [{\"name\": \"x\", \"public_key\": \"missing.pub\"}]}");
    cli_assert_one_line_error(RUN("verify", "-p", cp("nokey.json"), cp("notes.txt")), "nokey.json");
    cli_free_output();
}

Test(cli, truncated_zip_and_missing_artifact, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip;
    size_t len;
    char *b;

    cli_keygen("release");
    zip = cli_make_zip("app-1.0.zip");
    b = tu_read(zip, &len);
    tu_write(zip, b, len - 30); /* cut into the end of central directory record */
    free(b);
    b = tu_read(zip, &len);
    cli_assert_one_line_error(RUN("sign", "-k", cp("release.key"), zip), "app-1.0.zip");
    cr_assert(!tu_exists(cp("app-1.0.zip.sigstore.json")));
    cr_assert(cli_same_bytes(zip, b, len));
    free(b);
    cli_assert_one_line_error(RUN("sign", "-k", cp("release.key"), cp("absent.zip")), "absent.zip");
    cr_assert(!tu_exists(cp("absent.zip.sigstore.json")));
    cli_assert_one_line_error(RUN("hash", cp("absent.zip")), "absent.zip");
    cli_policy("policy.json", POLICY_RELEASE);
    cli_assert_one_line_error(RUN("verify", "-p", cp("policy.json"), cp("absent.zip")), "absent.zip");
    cr_assert_str_eq(cli_out, "");
    /* --json: the verdict on stdout even for an input error, and the one line on stderr. */
    cli_assert_one_line_error(RUN("verify", "-p", cp("policy.json"), "--json", cp("absent.zip")), "absent.zip");
    cr_assert_not_null(strstr(cli_out, "\"ARTIFACT_UNREADABLE\""), "%s", cli_out);
    cli_free_output();
}

Test(cli, existing_bundle_unchanged_on_failure, .init = cli_setup, .fini = cli_teardown)
{
    char *before;
    size_t len;

    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "hello\n");
    tu_write_str(cp("bad.key"), "garbage\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), cp("notes.txt")), 0, "%s", cli_err);
    before = tu_read(cp("notes.txt.sigstore.json"), &len);
    cli_assert_one_line_error(RUN("sign", "-k", cp("bad.key"), "--force", cp("notes.txt")), "bad.key");
    cr_assert(cli_same_bytes(cp("notes.txt.sigstore.json"), before, len));
    free(before);
    cli_free_output();
}

Test(cli, sign_refuses_output_over_an_input, .init = cli_setup, .fini = cli_teardown)
{
    char *before;
    size_t len;

    cli_keygen("release");
    tu_write_str(cp("notes.txt"), "hello\n");
    before = tu_read(cp("notes.txt"), &len);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("notes.txt"), cp("notes.txt")), 2);
    cr_assert_eq(cli_count_lines(cli_err), 1, "%s", cli_err);
    cr_assert(cli_same_bytes(cp("notes.txt"), before, len), "the artifact is untouched");
    free(before);
    before = tu_read(cp("release.key"), &len);
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "-o", cp("release.key"), cp("notes.txt")), 2);
    cr_assert(cli_same_bytes(cp("release.key"), before, len), "the key is untouched");
    free(before);
    cli_free_output();
}

/* ---- findings ---- */

Test(cli, dangerous_finding_refused_unless_allowed, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cp("evil.zip");
    char id[128];
    const char *f, *sp;
    size_t n;

    cli_keygen("release");
    cli_raw_zip(zip, "../evil.js", "boom\n");
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), zip), 2, "%s", cli_err);
    cr_assert(!tu_exists(cp("evil.zip.sigstore.json")), "nothing written");
    f = strstr(cli_err, "finding: danger ");
    cr_assert_not_null(f, "lists the finding: %s", cli_err);
    f += strlen("finding: danger ");
    sp = strchr(f, ' ');
    cr_assert_not_null(sp);
    n = (size_t)(sp - f);
    cr_assert_lt(n, sizeof(id));
    memcpy(id, f, n);
    id[n] = '\0';
    cr_assert_not_null(strstr(cli_err, "../evil.js"), "names the entry: %s", cli_err);
    cr_assert_not_null(strstr(cli_err, "--allow "), "says how to allow: %s", cli_err);
    cr_assert_not_null(strstr(strstr(cli_err, "--allow "), id));
    cr_assert_eq(RUN("sign", "-k", cp("release.key"), "--allow", id, zip), 0, "%s", cli_err);
    cr_assert(tu_exists(cp("evil.zip.sigstore.json")));
    cr_assert_eq(RUN("inspect", cp("evil.zip.sigstore.json")), 0, "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, id), "inspect shows the recorded finding: %s", cli_out);
    cli_free_output();
}

/* ---- hash and inspect ---- */

Test(cli, hash_is_deterministic_and_lists_subjects, .init = cli_setup, .fini = cli_teardown)
{
    static const char *const env[] = {"SOURCE_DATE_EPOCH=1700000000", NULL};
    const char *zip = cli_make_zip("app-1.0.zip");
    char *first;

    tu_write_str(cp("notes.txt"), "hello\n");
    cr_assert_eq(RUN_ENV(env, "hash", "--json", zip, cp("notes.txt")), 0, "%s", cli_err);
    first = strdup(cli_out);
    sleep(1);
    cr_assert_eq(RUN_ENV(env, "hash", "--json", zip, cp("notes.txt")), 0, "%s", cli_err);
    cr_assert_str_eq(cli_out, first, "two runs are byte-identical");
    cr_assert_not_null(strstr(first, "app-1.0.zip"));
    cr_assert_not_null(strstr(first, "notes.txt"));
    cr_assert_not_null(strstr(first, "2023-11-14T22:13:20Z"), "created from SOURCE_DATE_EPOCH: %s", first);
    cr_assert_null(strstr(first, ", "), "compact form");
    free(first);
    cr_assert_eq(RUN("hash", cp("notes.txt")), 0, "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, "\n  "), "pretty form without --json");
    cr_assert_not_null(strstr(cli_out, "https://in-toto.io/Statement/v1"));
    cli_free_output();
}

Test(cli, inspect_shows_key_id_and_subjects, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    sign_key *pub = NULL;
    char keyid[SIGN_KEYID_SIZE], fp[SIGN_FINGERPRINT_SIZE];
    json_error_t jerr;
    json_t *j;

    cr_assert_eq(sign_key_load_public(&pub, cp("release.pub")), 0, "%s", sign_error_last());
    cr_assert_eq(sign_key_id(keyid, sizeof(keyid), pub), 0);
    cr_assert_eq(sign_key_fingerprint(fp, sizeof(fp), pub), 0);
    sign_key_free(pub);
    cr_assert_eq(RUN("inspect", cp("app-1.0.zip.sigstore.json")), 0, "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, keyid), "%s", cli_out);
    cr_assert_not_null(strstr(cli_out, fp), "fingerprint %s: %s", fp, cli_out);
    cr_assert_not_null(strstr(cli_out, "app-1.0.zip"));
    cr_assert_not_null(strstr(cli_out, "3 entries"), "%s", cli_out);
    cr_assert_eq(RUN("inspect", "--json", cp("app-1.0.zip.sigstore.json")), 0, "%s", cli_err);
    j = json_loads(cli_out, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "key_id")), keyid);
    cr_assert_str_eq(json_string_value(json_object_get(j, "fingerprint")), fp);
    cr_assert_eq(json_array_size(json_object_get(j, "subjects")), 1);
    {
        const char *name =
            json_string_value(json_object_get(json_array_get(json_object_get(j, "subjects"), 0), "name"));
        cr_assert_not_null(name);
        cr_assert_not_null(strstr(name, "app-1.0.zip"), "%s", name);
        (void)zip;
    }
    json_decref(j);
    cli_free_output();
}

Test(cli, library_bundle_verifies_with_cli, .init = cli_setup, .fini = cli_teardown)
{
    sign_sign_options opts = SIGN_SIGN_OPTIONS_INIT;
    sign_key *key = NULL;
    sign_bundle *b = NULL;
    sign_artifact **arts = NULL;
    const char *zip;
    const char *paths[1];

    cli_keygen("release");
    zip = cli_make_zip("app-1.0.zip");
    cli_policy("policy.json", POLICY_RELEASE);
    cr_assert_eq(sign_key_load_private(&key, cp("release.key"), NULL, NULL), 0, "%s", sign_error_last());
    paths[0] = zip;
    opts.key = key;
    opts.artifacts = paths;
    opts.nartifacts = 1;
    opts.output = cp("lib-made.bundle");
    cr_assert_eq(sign_sign(&b, &arts, &opts), 0, "%s", sign_error_last());
    sign_artifact_free(arts[0]);
    free(arts);
    sign_bundle_free(b);
    sign_key_free(key);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("lib-made.bundle"), zip), 0, "%s%s", cli_out,
                 cli_err);
    cli_free_output();
}

Test(cli, inspect_bundle_that_names_no_key, .init = cli_setup, .fini = cli_teardown)
{
    const char *zip = cli_signed_zip();
    char *text = tu_read(cp("app-1.0.zip.sigstore.json"), NULL);
    json_t *j = json_loads(text, 0, NULL), *sig;

    (void)zip;
    cr_assert_not_null(j);
    /* As other Sigstore clients may write it: no hint, no DSSE keyid. */
    json_object_set_new(json_object_get(j, "verificationMaterial"), "publicKey", json_object());
    sig = json_array_get(json_object_get(json_object_get(j, "dsseEnvelope"), "signatures"), 0);
    json_object_del(sig, "keyid");
    cr_assert_eq(json_dump_file(j, cp("nokey.json"), 0), 0);
    json_decref(j);
    free(text);
    cr_assert_eq(RUN("inspect", cp("nokey.json")), 0, "%s", cli_err);
    cr_assert_not_null(strstr(cli_out, "signer key id: (none"), "%s", cli_out);
    cr_assert_eq(RUN("verify", "-p", cp("policy.json"), "-b", cp("nokey.json"), cp("app-1.0.zip")), 0,
                 "verify finds the key among the policy's: %s", cli_err);
    cli_free_output();
}

/* Sign art into bun with a fresh key and write pol trusting it. */
static void cli_signed_lib(const char *art, const char *bun, const char *pol)
{
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {art};
    sign_bundle *b = NULL;
    char *pub = tu_path(cli_dir, "k.pub");

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

/* inspect shows a bundle it has not verified: its strings must not drive the terminal or forge lines. */
Test(cli, inspect_neutralises_hostile_bundle_text, .init = cli_setup, .fini = cli_teardown)
{
    char *art = tu_path(cli_dir, "a.txt"), *bun = tu_path(cli_dir, "a.json"), *pol = tu_path(cli_dir, "p.json");
    char *evil = tu_path(cli_dir, "evil.json"), *odd = tu_path(cli_dir, "b\xff.json");
    char *text, *payload = NULL, *b64 = NULL, *out = NULL, *err = NULL;
    unsigned char *raw = NULL;
    size_t n = 0;
    json_t *j, *st, *env;

    cli_signed_lib(art, bun, pol);
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
