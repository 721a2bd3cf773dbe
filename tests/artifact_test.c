/* Tests of the artifact area: kind detection, digests, zip entries, every zip finding, limits, scan_many. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sign/sign.h"
#include "formats.h"
#include "testutil.h"
#include "artifact_int.h"
#include "zipgen.h"
#include "targen.h"

static const char at_abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static void at_hex(char out[65], const unsigned char *md)
{
    cr_assert_eq(sign_hex_encode(out, 65, md, 32), 0);
}

static size_t at_count(const sign_artifact *a, const char *id)
{
    size_t c = 0;

    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        if (strcmp(sign_artifact_finding(a, i)->id, id) == 0) {
            c++;
        }
    }
    return c;
}

static const sign_finding *at_get(const sign_artifact *a, const char *id)
{
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        if (strcmp(sign_artifact_finding(a, i)->id, id) == 0) {
            return sign_artifact_finding(a, i);
        }
    }
    return NULL;
}

static size_t at_dangers(const sign_artifact *a)
{
    size_t c = 0;

    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        c += sign_artifact_finding(a, i)->severity == SIGN_SEVERITY_DANGER;
    }
    return c;
}

/* All finding ids, for assertion messages. */
static const char *at_list(const sign_artifact *a)
{
    static char buf[4096];
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sign_artifact_finding_count(a) && o < sizeof(buf) - 200; i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[%s %s %s] ", f->id, f->path ? f->path : "-", f->message);
    }
    return buf;
}

static const sign_entry *at_entry(const sign_artifact *a, const char *path)
{
    for (size_t i = 0; i < sign_artifact_entry_count(a); i++) {
        if (strcmp(sign_artifact_entry(a, i)->path, path) == 0) {
            return sign_artifact_entry(a, i);
        }
    }
    return NULL;
}

/* Build a zip with zipgen, scan it with optional limits, return the artifact (asserting success). */
static sign_artifact *at_zip(const zg_entry *e, size_t n, const zg_opts *o, const sign_limits *lim)
{
    sign_artifact_options opts = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");
    int r;

    zg_write(p, e, n, o);
    opts.limits = lim;
    r = sign_artifact_scan(&a, p, "t.zip", &opts);
    cr_assert_eq(r, 0, "scan failed: %d %s", r, sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_ZIP);
    tu_rmtree(dir);
    free(dir);
    free(p);
    return a;
}

/* Expect finding id with severity sev (for path, when not NULL). */
static void at_expect(const zg_entry *e, size_t n, const zg_opts *o, const sign_limits *lim, const char *id,
                      sign_severity sev, const char *path)
{
    sign_artifact *a = at_zip(e, n, o, lim);
    const sign_finding *f = at_get(a, id);

    cr_assert_not_null(f, "expected finding %s, got: %s", id, at_list(a));
    cr_assert_eq(f->severity, sev, "%s has severity %s", id, sign_severity_name(f->severity));
    cr_assert_not_null(f->message);
    cr_assert(strlen(f->message) > 10);
    if (path != NULL) {
        cr_assert_not_null(f->path, "%s has no path", id);
        cr_assert_str_eq(f->path, path);
    }
    sign_artifact_free(a);
}

#define D(s) .data = (s), .len = sizeof(s) - 1

/* ---- plain files and kind detection ------------------------------------------------ */

Test(artifact, plain_file_digest_is_known_sha256)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "abc.bin"), hex[65];
    sign_artifact *a = NULL;

    tu_write_str(p, "abc");
    cr_assert_eq(sign_artifact_scan(&a, p, "dist/abc.bin", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE);
    cr_assert_str_eq(sign_artifact_kind_name(sign_artifact_get_kind(a)), "file");
    cr_assert_eq(sign_artifact_size(a), 3);
    at_hex(hex, sign_artifact_sha256(a));
    cr_assert_str_eq(hex, at_abc_sha256);
    cr_assert_str_eq(sign_artifact_name(a), "dist/abc.bin");
    cr_assert_str_eq(sign_artifact_path(a), p);
    cr_assert_eq(sign_artifact_entry_count(a), 0);
    cr_assert_eq(sign_artifact_finding_count(a), 0);
    cr_assert_null(sign_artifact_entry(a, 0));
    cr_assert_null(sign_artifact_finding(a, 0));
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, large_file_digest_crosses_read_blocks)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "big.bin"), h1[65], h2[65];
    size_t n = 3 * 1024 * 1024 + 12345;
    unsigned char *buf = malloc(n), md[32];
    size_t mdlen;
    sign_artifact *a = NULL;

    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(i * 7 + (i >> 13));
    }
    tu_write(p, buf, n);
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, buf, n), 0);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_size(a), n);
    at_hex(h1, md);
    at_hex(h2, sign_artifact_sha256(a));
    cr_assert_str_eq(h1, h2);
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
    free(buf);
}

Test(artifact, empty_file_is_a_plain_file)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "empty.zip"), hex[65];
    sign_artifact *a = NULL;

    tu_write(p, "", 0);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE);
    at_hex(hex, sign_artifact_sha256(a));
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

/* The bit deploy's verification uses to leave an OCI layout's layers unread (artifact_int.h) is not a public
   flag: sign_artifact_scan refuses it, so no caller can get an image whose layers were never checked. */
Test(artifact, internal_layers_unread_flag_is_refused_by_the_public_scan)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "a.bin");
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;

    tu_write(p, "x", 1);
    o.flags = 0x80000000u;
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), SIGN_EINVAL);
    cr_assert_null(a);
    cr_assert(strstr(sign_error_last(), "unknown flag") != NULL, "%s", sign_error_last());
    o.flags = 0;
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), 0, "%s", sign_error_last());
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, kind_by_content_not_extension)
{
    char *dir = tu_mkdtemp(), *zt = tu_path(dir, "notes.txt"), *tz = tu_path(dir, "app.zip");
    zg_entry e[] = {{.name = "a.txt", D("hello\n")}};
    sign_artifact *a = NULL;

    zg_write(zt, e, 1, NULL);
    tu_write_str(tz, "just some text, PK but not a zip\n");
    cr_assert_eq(sign_artifact_scan(&a, zt, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_ZIP, "a zip named .txt is a zip");
    cr_assert_eq(sign_artifact_entry_count(a), 1);
    sign_artifact_free(a);
    cr_assert_eq(sign_artifact_scan(&a, tz, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE, "a text file named .zip is a file");
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(zt);
    free(tz);
}

Test(artifact, text_mentioning_end_record_signature_is_a_file)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f.txt");
    unsigned char buf[200];
    sign_artifact *a = NULL;

    memset(buf, 'x', sizeof(buf));
    memcpy(buf + 100, "PK\x05\x06", 4); /* signature without a central directory behind it */
    tu_write(p, buf, sizeof(buf));
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE);
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, directory_and_missing_file_are_errors)
{
    char *dir = tu_mkdtemp(), *missing = tu_path(dir, "nope.zip");
    sign_artifact *a = (sign_artifact *)0x1;

    cr_assert_eq(sign_artifact_scan(&a, dir, NULL, NULL), SIGN_EINVAL);
    cr_assert_null(a);
    cr_assert(strstr(sign_error_last(), dir) != NULL, "message names the path: %s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "directory") != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_scan(&a, missing, NULL, NULL), SIGN_ENOTFOUND);
    cr_assert(strstr(sign_error_last(), "nope.zip") != NULL, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_scan(&a, "/dev/null", NULL, NULL), SIGN_EINVAL, "a device is not an artifact");
    tu_rmtree(dir);
    free(dir);
    free(missing);
}

Test(artifact, name_derived_from_path_and_refused_names)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "x.bin");
    sign_artifact *a = NULL;

    tu_write_str(p, "x");
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0);
    cr_assert_eq(sign_artifact_name(a)[0] == '/', 0, "derived name is relative: %s", sign_artifact_name(a));
    cr_assert(strstr(sign_artifact_name(a), "x.bin") != NULL);
    sign_artifact_free(a);
    cr_assert_eq(sign_artifact_scan(&a, p, "../x.bin", NULL), SIGN_EINVAL);
    cr_assert_null(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

/* ---- name normalisation ------------------------------------------------------------ */

Test(artifact, name_normalisation)
{
    static const struct {
        const char *in, *out;
    } ok[] = {{"app.zip", "app.zip"},
              {"./app.zip", "app.zip"},
              {"/dist/app.zip", "dist/app.zip"},
              {"a//b", "a/b"},
              {"a/./b", "a/b"},
              {"././a/.//b/.", "a/b"},
              {"//x", "x"},
              {"dir/", "dir"},
              {"a..b/c..", "a..b/c.."},
              {".hidden", ".hidden"},
              {"r\xc3\xa9sum\xc3\xa9", "r\xc3\xa9sum\xc3\xa9"}};
    static const char *const bad[] = {"", ".", "/", "./", "..", "../a", "a/../b", "a/..", "a\nb", "a\tb", "\x7f"};
    char *out = NULL, *lng;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(sign_artifact_name_normalise(&out, ok[i].in), 0, "%s: %s", ok[i].in, sign_error_last());
        cr_assert_str_eq(out, ok[i].out, "normalise(%s)", ok[i].in);
        free(out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = (char *)0x1;
        cr_assert_eq(sign_artifact_name_normalise(&out, bad[i]), SIGN_EINVAL, "accepted \"%s\"", bad[i]);
        cr_assert_null(out);
    }
    lng = malloc(4098);
    memset(lng, 'a', 4097);
    lng[4097] = '\0';
    cr_assert_eq(sign_artifact_name_normalise(&out, lng), SIGN_EINVAL, "4097 bytes");
    lng[4096] = '\0';
    cr_assert_eq(sign_artifact_name_normalise(&out, lng), 0, "4096 bytes is fine");
    free(out);
    free(lng);
}

Test(artifact, enum_names)
{
    cr_assert_str_eq(sign_severity_name(SIGN_SEVERITY_DANGER), "danger");
    cr_assert_str_eq(sign_severity_name(SIGN_SEVERITY_WARNING), "warning");
    cr_assert_str_eq(sign_severity_name(SIGN_SEVERITY_INFO), "info");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_FILE), "file");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_DIR), "dir");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_SYMLINK), "symlink");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_HARDLINK), "hardlink");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_OTHER), "other");
    cr_assert_str_eq(sign_artifact_kind_name(SIGN_ARTIFACT_ZIP), "zip");
}

/* ---- clean zips and their entries ---------------------------------------------------- */

Test(artifact, zipgen_entries_recorded)
{
    zg_entry e[] = {
        {.name = "bin/", .unix_mode = S_IFDIR | 0755},
        {.name = "bin/run", D("#!/bin/sh\necho hi\n"), .unix_mode = S_IFREG | 0755, .deflate = 1},
        {.name = "index.js", D("abc"), .unix_mode = S_IFREG | 0644},
        {.name = "dos.txt", D("abc")}, /* made by MS-DOS: default mode */
        {.name = "docs/", .zeros = 0},
        {.name = "link", D("index.js"), .unix_mode = S_IFLNK | 0777},
        {.name = "zeros.bin", .zeros = 300000, .deflate = 1, .unix_mode = S_IFREG | 0600},
        {.name = "dd.txt", D("descriptor"), .data_descriptor = 1, .unix_mode = S_IFREG | 0644},
    };
    sign_artifact *a = at_zip(e, sizeof(e) / sizeof(e[0]), NULL, NULL);
    const sign_entry *x;
    char hex[65];

    cr_assert_eq(sign_artifact_entry_count(a), 8);
    cr_assert_eq(at_dangers(a), 0, "a clean zip has no danger: %s", at_list(a));
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    x = at_entry(a, "bin/");
    cr_assert_not_null(x);
    cr_assert_eq(x->type, SIGN_ENTRY_DIR);
    cr_assert_eq(x->mode, 0755);
    cr_assert_eq(x->has_digest, 0);
    x = at_entry(a, "bin/run");
    cr_assert_eq(x->type, SIGN_ENTRY_FILE);
    cr_assert_eq(x->mode, 0755);
    cr_assert_eq(x->size, 18);
    x = at_entry(a, "index.js");
    cr_assert_eq(x->mode, 0644);
    cr_assert_eq(x->has_digest, 1);
    at_hex(hex, x->sha256);
    cr_assert_str_eq(hex, at_abc_sha256);
    cr_assert_null(x->link_target);
    x = at_entry(a, "dos.txt");
    cr_assert_eq(x->mode, 0644, "default mode without Unix attributes, got %o", x->mode);
    at_hex(hex, x->sha256);
    cr_assert_str_eq(hex, at_abc_sha256);
    x = at_entry(a, "docs/");
    cr_assert_eq(x->type, SIGN_ENTRY_DIR);
    cr_assert_eq(x->mode, 0755);
    x = at_entry(a, "link");
    cr_assert_eq(x->type, SIGN_ENTRY_SYMLINK);
    cr_assert_str_eq(x->link_target, "index.js");
    cr_assert_eq(x->has_digest, 0);
    x = at_entry(a, "zeros.bin");
    cr_assert_eq(x->size, 300000);
    cr_assert_eq(x->mode, 0600);
    cr_assert_eq(x->has_digest, 1);
    x = at_entry(a, "dd.txt");
    cr_assert_eq(x->size, 10);
    cr_assert_eq(x->has_digest, 1);
    sign_artifact_free(a);
}

Test(artifact, empty_zip_and_zip64_end_record)
{
    zg_opts z64 = {.zip64 = 1};
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    sign_artifact *a = at_zip(NULL, 0, NULL, NULL);

    cr_assert_eq(sign_artifact_entry_count(a), 0);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    cr_assert_eq(sign_artifact_size(a), 22);
    sign_artifact_free(a);
    a = at_zip(e, 1, &z64, NULL);
    cr_assert_eq(sign_artifact_entry_count(a), 1);
    cr_assert_eq(at_dangers(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, zip_tool_archive_recorded)
{
    char *dir = tu_mkdtemp(), *tree = tu_path(dir, "tree"), *zp = tu_path(dir, "app.zip"), *p, hex[65];
    sign_artifact *a = NULL;
    const sign_entry *x;
    int st;

    cr_assert_eq(mkdir(tree, 0755), 0);
    p = tu_path(tree, "handler.py");
    tu_write_str(p, "abc");
    chmod(p, 0644);
    free(p);
    p = tu_path(tree, "run.sh");
    tu_write_str(p, "#!/bin/sh\n");
    chmod(p, 0755);
    free(p);
    p = tu_path(tree, "lib");
    cr_assert_eq(mkdir(p, 0755), 0);
    free(p);
    p = tu_path(tree, "lib/big.txt");
    {
        char *big = malloc(200000);

        for (size_t i = 0; i < 200000; i++) {
            big[i] = (char)('a' + i % 23);
        }
        tu_write(p, big, 200000);
        free(big);
    }
    free(p);
    p = tu_path(tree, "lib/h");
    cr_assert_eq(symlink("../handler.py", p), 0);
    free(p);
    {
        const char *argv[] = {"/bin/sh", "-c", NULL, NULL};
        char cmd[2048];

        snprintf(cmd, sizeof(cmd), "cd '%s' && /usr/bin/zip -q -r -y -X '%s' handler.py run.sh lib", tree, zp);
        argv[2] = cmd;
        st = tu_run(NULL, NULL, NULL, argv);
        cr_assert_eq(st, 0, "zip failed");
    }
    cr_assert_eq(sign_artifact_scan(&a, zp, "app.zip", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_ZIP);
    cr_assert_eq(sign_artifact_entry_count(a), 5);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    x = at_entry(a, "handler.py");
    cr_assert_not_null(x);
    at_hex(hex, x->sha256);
    cr_assert_str_eq(hex, at_abc_sha256);
    cr_assert_eq(x->mode, 0644);
    cr_assert_eq(at_entry(a, "run.sh")->mode, 0755);
    cr_assert_eq(at_entry(a, "lib/")->type, SIGN_ENTRY_DIR);
    cr_assert_eq(at_entry(a, "lib/big.txt")->size, 200000);
    x = at_entry(a, "lib/h");
    cr_assert_eq(x->type, SIGN_ENTRY_SYMLINK);
    cr_assert_str_eq(x->link_target, "../handler.py");
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(tree);
    free(zp);
}

Test(artifact, no_entries_flag_hashes_only)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "a.zip");
    zg_entry e[] = {{.name = "../evil", D("x")}};
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;

    zg_write(p, e, 1, NULL);
    o.flags = SIGN_ARTIFACT_NO_ENTRIES;
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_ZIP);
    cr_assert_eq(sign_artifact_entry_count(a), 0);
    cr_assert_eq(sign_artifact_finding_count(a), 0);
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

static void at_progress(const char *what, uint64_t done, uint64_t total, void *ud)
{
    uint64_t *last = ud;

    (void)what;
    cr_assert(done <= total);
    *last = done;
}

Test(artifact, progress_reports_bytes)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f");
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    uint64_t last = 0;
    char *buf = calloc(1, 2500000);

    tu_write(p, buf, 2500000);
    o.progress = at_progress;
    o.progress_userdata = &last;
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), 0);
    cr_assert_eq(last, 2500000);
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
    free(buf);
}

/* ---- findings: names ------------------------------------------------------------------ */

Test(artifact, finding_path_traversal)
{
    zg_entry e[] = {{.name = "ok.txt", D("a")}, {.name = "a/../../evil.sh", D("b")}};
    zg_entry e2[] = {{.name = "..\\evil.bat", D("b")}};

    at_expect(e, 2, NULL, NULL, "zip-path-traversal", SIGN_SEVERITY_DANGER, "a/../../evil.sh");
    at_expect(e2, 1, NULL, NULL, "zip-path-traversal", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, finding_absolute_path)
{
    zg_entry e[] = {{.name = "/etc/cron.d/x", D("a")}};

    at_expect(e, 1, NULL, NULL, "zip-absolute-path", SIGN_SEVERITY_DANGER, "/etc/cron.d/x");
}

Test(artifact, finding_backslash_and_drive_letter)
{
    zg_entry e[] = {{.name = "dir\\file.txt", D("a")}};
    zg_entry e2[] = {{.name = "C:/Windows/x.dll", D("a")}};

    at_expect(e, 1, NULL, NULL, "zip-backslash-path", SIGN_SEVERITY_DANGER, "dir\\file.txt");
    at_expect(e2, 1, NULL, NULL, "zip-drive-letter-path", SIGN_SEVERITY_DANGER, "C:/Windows/x.dll");
}

Test(artifact, finding_duplicate_names)
{
    zg_entry e[] = {{.name = "a.txt", D("first")}, {.name = "a.txt", D("second")}};
    zg_entry e2[] = {{.name = "README", D("a")}, {.name = "readme", D("b")}};
    zg_entry e3[] = {{.name = "lib/x.js", D("a")}, {.name = "lib/./x.js", D("b")}};
    sign_artifact *a;

    at_expect(e, 2, NULL, NULL, "zip-duplicate-name", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(e2, 2, NULL, NULL, "zip-duplicate-name-normalised", SIGN_SEVERITY_WARNING, NULL);
    at_expect(e3, 2, NULL, NULL, "zip-duplicate-name-normalised", SIGN_SEVERITY_WARNING, NULL);
    a = at_zip(e2, 2, NULL, NULL);
    cr_assert_eq(at_count(a, "zip-duplicate-name"), 0, "case variants are not exact duplicates");
    cr_assert_eq(at_dangers(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_invalid_utf8_control_nul_and_empty_names)
{
    zg_entry e[] = {{.name = "caf\xe9.txt", D("a")}};
    zg_entry e2[] = {{.name = "a\nb.txt", D("a")}};
    zg_entry e3[] = {{.name = "run.sh\0.txt", .name_len = 11, D("a")}};
    zg_entry e4[] = {{.name = "", D("a")}};
    zg_entry e5[] = {{.name = "\xc0\xaf.txt", D("a")}}; /* overlong '/' */
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-name-invalid-utf8", SIGN_SEVERITY_DANGER, "caf\\xe9.txt");
    at_expect(e2, 1, NULL, NULL, "zip-name-control-char", SIGN_SEVERITY_DANGER, "a\\x0ab.txt");
    at_expect(e3, 1, NULL, NULL, "zip-name-control-char", SIGN_SEVERITY_DANGER, "run.sh\\x00.txt");
    at_expect(e4, 1, NULL, NULL, "zip-empty-name", SIGN_SEVERITY_DANGER, NULL);
    at_expect(e5, 1, NULL, NULL, "zip-name-invalid-utf8", SIGN_SEVERITY_DANGER, NULL);
    /* Valid UTF-8 is fine. */
    {
        zg_entry ok[] = {{.name = "r\xc3\xa9sum\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", D("a"), .flags = 0x800}};

        a = at_zip(ok, 1, NULL, NULL);
        cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
        sign_artifact_free(a);
    }
}

Test(artifact, finding_name_length_limit)
{
    sign_limits lim = SIGN_LIMITS_INIT;
    zg_entry e[] = {{.name = "short.txt", D("a")}, {.name = "a-name-that-is-longer-than-the-limit.txt", D("b")}};
    sign_artifact *a;

    lim.name_max = 16;
    at_expect(e, 2, NULL, &lim, "zip-limit-name", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(e, 2, NULL, NULL);
    cr_assert_eq(at_count(a, "zip-limit-name"), 0, "default limit allows it");
    sign_artifact_free(a);
}

/* ---- findings: entry kinds ---------------------------------------------------------- */

Test(artifact, finding_symlink_escape)
{
    zg_entry up[] = {{.name = "lib/link", D("../../etc/passwd"), .unix_mode = S_IFLNK | 0777}};
    zg_entry abs[] = {{.name = "link", D("/etc/shadow"), .unix_mode = S_IFLNK | 0777}};
    zg_entry chain[] = {{.name = "a", D("."), .unix_mode = S_IFLNK | 0777},
                        {.name = "b", D("a/.."), .unix_mode = S_IFLNK | 0777}};
    zg_entry inside[] = {{.name = "x/y/link", D("../../top.txt"), .unix_mode = S_IFLNK | 0777},
                         {.name = "top.txt", D("t")}};
    sign_artifact *a;

    at_expect(up, 1, NULL, NULL, "zip-symlink-escape", SIGN_SEVERITY_DANGER, "lib/link");
    at_expect(abs, 1, NULL, NULL, "zip-symlink-escape", SIGN_SEVERITY_DANGER, "link");
    at_expect(chain, 2, NULL, NULL, "zip-symlink-escape", SIGN_SEVERITY_DANGER, "b");
    a = at_zip(inside, 2, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "a link inside the tree is fine: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_entry_written_through_symlink)
{
    zg_entry e[] = {{.name = "conf", D("/etc"), .unix_mode = S_IFLNK | 0777},
                    {.name = "conf/cron.d/job", D("* * * * * root sh\n")}};

    at_expect(e, 2, NULL, NULL, "zip-path-through-symlink", SIGN_SEVERITY_DANGER, "conf/cron.d/job");
    at_expect(e, 2, NULL, NULL, "zip-symlink-escape", SIGN_SEVERITY_DANGER, "conf");
}

Test(artifact, finding_setuid_and_special_files)
{
    zg_entry suid[] = {{.name = "bin/tool", D("x"), .unix_mode = S_IFREG | 04755}};
    zg_entry sgid[] = {{.name = "bin/tool", D("x"), .unix_mode = S_IFREG | 02755}};
    zg_entry fifo[] = {{.name = "pipe", .unix_mode = S_IFIFO | 0644}};
    zg_entry dev[] = {{.name = "dev/sda", .unix_mode = S_IFBLK | 0660}};
    zg_entry sticky[] = {{.name = "tmp/", .unix_mode = S_IFDIR | 01777}};
    sign_artifact *a;

    at_expect(suid, 1, NULL, NULL, "zip-setuid", SIGN_SEVERITY_DANGER, "bin/tool");
    at_expect(sgid, 1, NULL, NULL, "zip-setuid", SIGN_SEVERITY_DANGER, "bin/tool");
    at_expect(fifo, 1, NULL, NULL, "zip-special-file", SIGN_SEVERITY_DANGER, "pipe");
    at_expect(dev, 1, NULL, NULL, "zip-special-file", SIGN_SEVERITY_DANGER, "dev/sda");
    a = at_zip(suid, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_entry(a, 0)->mode, 04755, "mode keeps the setuid bit");
    sign_artifact_free(a);
    a = at_zip(sticky, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "sticky is not setuid: %s", at_list(a));
    cr_assert_eq(sign_artifact_entry(a, 0)->mode, 01777);
    sign_artifact_free(a);
}

Test(artifact, finding_encrypted)
{
    zg_entry e[] = {{.name = "secret.txt", D("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0cxyz"), .flags = 1}};
    zg_entry local_only[] = {{.name = "x.txt", D("abc"), .local_flags_set = 1, .local_flags = 1}};
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-encrypted", SIGN_SEVERITY_DANGER, "secret.txt");
    a = at_zip(e, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_entry_count(a), 1);
    cr_assert_eq(sign_artifact_entry(a, 0)->has_digest, 0, "an encrypted entry has no content digest");
    sign_artifact_free(a);
    at_expect(local_only, 1, NULL, NULL, "zip-encrypted", SIGN_SEVERITY_DANGER, "x.txt");
    at_expect(local_only, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "x.txt");
}

/* ---- findings: structure --------------------------------------------------------------- */

Test(artifact, finding_header_mismatch_name)
{
    zg_entry e[] = {{.name = "index.js", .local_name = "evil.js", D("abc")}};
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "index.js");
    /* The local name gets the name checks too. */
    {
        zg_entry t[] = {{.name = "index.js", .local_name = "../../index.js", D("abc")}};

        a = at_zip(t, 1, NULL, NULL);
        cr_assert_eq(at_count(a, "zip-path-traversal"), 1, "%s", at_list(a));
        sign_artifact_free(a);
    }
}

Test(artifact, finding_header_mismatch_fields)
{
    zg_entry crc[] = {{.name = "a.txt", D("abc"), .local_crc_xor = 0x1}};
    zg_entry size[] = {{.name = "a.txt", D("abc"), .local_usize_delta = 5}};
    zg_entry method[] = {{.name = "a.txt", D("abc"), .local_method_set = 1, .local_method = 8}};
    zg_entry flags[] = {{.name = "a.txt", D("abc"), .local_flags_set = 1, .local_flags = 0x800}};
    zg_entry dd[] = {{.name = "a.txt", D("abc"), .data_descriptor = 1, .local_crc_xor = 0x10}};

    at_expect(crc, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(size, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(method, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(flags, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(dd, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
}

/*
 * libarchive's zip writer (bsdtar -a -cf x.zip) deflates behind a data descriptor and keeps the known
 * uncompressed size in the local header, zeroing only the CRC and compressed size: no mismatch.
 */
Test(artifact, libarchive_written_zip_has_no_finding)
{
    static const char text[] = "hello from a streaming writer\n";
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "w.zip");
    struct archive *w = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    sign_artifact *a = NULL;
    char hex[65];

    cr_assert(w != NULL && ae != NULL);
    cr_assert_eq(archive_write_set_format_zip(w), ARCHIVE_OK);
    cr_assert_eq(archive_write_open_filename(w, p), ARCHIVE_OK);
    archive_entry_set_pathname(ae, "a.txt");
    archive_entry_set_size(ae, (la_int64_t)(sizeof(text) - 1));
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    cr_assert_eq(archive_write_header(w, ae), ARCHIVE_OK);
    cr_assert_eq(archive_write_data(w, text, sizeof(text) - 1), (la_ssize_t)(sizeof(text) - 1));
    cr_assert_eq(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    archive_entry_free(ae);
    cr_assert_eq(sign_artifact_scan(&a, p, "w.zip", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    cr_assert_eq(sign_artifact_entry_count(a), 1);
    cr_assert_eq(sign_artifact_entry(a, 0)->size, sizeof(text) - 1);
    at_hex(hex, sign_artifact_entry(a, 0)->sha256);
    cr_assert_str_eq(hex, "fc201af0752d64193ded7b03302ac3f3bb48bba931f76288b5af136ddf59b4e4");
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, finding_overlapping_entries)
{
    zg_entry same[] = {{.name = "a.txt", D("abc")}, {.name = "b.txt", D("abc"), .offset_of = 1}};
    zg_entry inside[] = {{.name = "a.txt", D("0123456789012345678901234567890123456789")},
                         {.name = "b.txt", D("x"), .offset_of = 1, .offset_delta = 40}};

    at_expect(same, 2, NULL, NULL, "zip-overlapping-entries", SIGN_SEVERITY_DANGER, NULL);
    /* b's central record points into the middle of a's data. */
    at_expect(inside, 2, NULL, NULL, "zip-overlapping-entries", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, finding_data_before_entries)
{
    static const char stub[] = "#!/bin/sh\nexec unzip \"$0\"\n";
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts adjusted = {.prefix = stub, .prefix_len = sizeof(stub) - 1};
    zg_opts shifted = {.prefix = stub, .prefix_len = sizeof(stub) - 1, .prefix_shifts = 1};

    at_expect(e, 1, &adjusted, NULL, "zip-data-before-entries", SIGN_SEVERITY_DANGER, NULL);
    at_expect(e, 1, &shifted, NULL, "zip-data-before-entries", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, finding_data_after_end)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts o = {.suffix = "APPENDED PAYLOAD", .suffix_len = 16};
    zg_opts comment = {.comment = "a normal comment"};
    sign_artifact *a;

    at_expect(e, 1, &o, NULL, "zip-data-after-end", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(e, 1, &comment, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "a comment is not trailing data: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_multiple_end_records)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts o = {.fake_eocd_in_comment = 1};
    unsigned char bogus[22] = {'P', 'K', 5, 6, 9, 9}; /* a last signature that is not a valid record */
    zg_opts tail = {.suffix = bogus, .suffix_len = sizeof(bogus)};
    sign_artifact *a;

    at_expect(e, 1, &o, NULL, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL);
    at_expect(e, 1, &tail, NULL, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(e, 1, &tail, NULL);
    cr_assert_eq(at_count(a, "zip-data-after-end"), 1, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, shifted_archive_is_still_walked)
{
    static const char stub[] = "MZ not really an executable";
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts shifted = {.prefix = stub, .prefix_len = sizeof(stub) - 1, .prefix_shifts = 1};
    sign_artifact *a = at_zip(e, 1, &shifted, NULL);

    cr_assert_not_null(at_entry(a, "a.txt"), "%s", at_list(a));
    cr_assert_eq(at_count(a, "zip-bad-local-header"), 0, "offsets are corrected: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, bad_options_refused)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f");
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;

    tu_write_str(p, "x");
    o.version = 0;
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), SIGN_EINVAL);
    cr_assert_null(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, finding_eocd_inconsistent)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}, {.name = "b.txt", D("def")}};
    zg_opts o = {.eocd_count_delta = 1};

    at_expect(e, 2, &o, NULL, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, finding_unreferenced_data)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")},
                    {.name = "hidden.sh", D("rm -rf /"), .omit_from_cd = 1},
                    {.name = "b.txt", D("def")}};

    at_expect(e, 3, NULL, NULL, "zip-unreferenced-data", SIGN_SEVERITY_WARNING, NULL);
}

Test(artifact, finding_bad_local_header)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}, {.name = "b.txt", D("def"), .offset_delta = 3}};

    at_expect(e, 2, NULL, NULL, "zip-bad-local-header", SIGN_SEVERITY_DANGER, "b.txt");
}

Test(artifact, finding_truncated_entry)
{
    zg_entry e[] = {{.name = "a.txt", D("abc"), .csize_set = 1u << 30}};

    at_expect(e, 1, NULL, NULL, "zip-truncated", SIGN_SEVERITY_DANGER, "a.txt");
}

Test(artifact, finding_crc_mismatch)
{
    zg_entry e[] = {{.name = "a.txt", D("abc"), .crc_xor = 0xdeadbeef}};
    zg_entry d[] = {{.name = "z.bin", .zeros = 100000, .deflate = 1, .crc_xor = 1}};
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-crc-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(d, 1, NULL, NULL, "zip-crc-mismatch", SIGN_SEVERITY_DANGER, "z.bin");
    a = at_zip(e, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_entry(a, 0)->has_digest, 0, "no digest for content that failed its CRC");
    sign_artifact_free(a);
}

Test(artifact, finding_size_mismatch)
{
    zg_entry e[] = {{.name = "a.bin", .zeros = 5000, .deflate = 1, .usize_set = 4000}};

    at_expect(e, 1, NULL, NULL, "zip-size-mismatch", SIGN_SEVERITY_DANGER, "a.bin");
}

Test(artifact, finding_entry_unreadable)
{
    zg_entry e[] = {{.name = "a.bin", D("garbage-data"), .method_set = 1, .method = 77}};
    zg_entry bad_deflate[] = {{.name = "b.bin", D("\xff\xff\xff\xff\xff\xff"), .method_set = 1, .method = 8}};

    at_expect(e, 1, NULL, NULL, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, "a.bin");
    at_expect(bad_deflate, 1, NULL, NULL, "zip-entry-unreadable", SIGN_SEVERITY_DANGER, "b.bin");
}

Test(artifact, finding_view_mismatch)
{
    /*
     * Two central records point at one local header: libarchive keys its
     * walk on header offsets and shows one view only; ours has both.
     */
    zg_entry e[] = {{.name = "a.txt", D("abc")}, {.name = "b.txt", D("zzz"), .offset_of = 1}};
    sign_artifact *a = at_zip(e, 2, NULL, NULL);

    cr_assert(at_count(a, "zip-overlapping-entries") > 0, "%s", at_list(a));
    cr_assert_eq(at_count(a, "zip-view-mismatch"), 1, "libarchive lists one entry, the directory two: %s",
                 at_list(a));
    cr_assert_eq(at_get(a, "zip-view-mismatch")->severity, SIGN_SEVERITY_DANGER);
    cr_assert(at_count(a, "zip-header-mismatch") > 0, "b.txt's header is named a.txt: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_too_many_findings)
{
    size_t n = SIGN__FINDINGS_MAX + 50;
    zg_entry *e = calloc(n, sizeof(*e));
    char(*names)[32] = calloc(n, 32);
    sign_artifact *a;

    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], 32, "../x%zu", i);
        e[i].name = names[i];
        e[i].data = "a";
        e[i].len = 1;
    }
    a = at_zip(e, n, NULL, NULL);
    cr_assert_eq(at_count(a, "zip-too-many-findings"), 1, "%s", at_list(a));
    cr_assert(sign_artifact_finding_count(a) <= SIGN__FINDINGS_MAX + 1);
    sign_artifact_free(a);
    free(e);
    free(names);
}

/* ---- findings: secrets -------------------------------------------------------------------- */

Test(artifact, finding_secret_private_keys)
{
    zg_entry pem[] = {{.name = "config/server.pem",
                       D("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                         "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n")}};
    zg_entry ossh[] = {{.name = "deploy/key", D("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n")}};
    zg_entry pk8[] = {{.name = "k.txt", D("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n")}};
    zg_entry named[] = {{.name = "home/.ssh/id_ed25519", D("not recognisable content")}};
    /* Dashes before the marker (the match starts at the second) and dashes that are not one. */
    zg_entry dashes[] = {{.name = "doc/key.txt", D("a - b -- c\n------BEGIN RSA PRIVATE KEY-----\nMIIE\n")}};
    zg_entry cert_only[] = {{.name = "ca.pem", D("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
                            {.name = "home/.ssh/id_ed25519.pub", D("ssh-ed25519 AAAA")},
                            {.name = "cut.txt", D("x\n-----BEGIN")}};
    sign_artifact *a;

    at_expect(pem, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "config/server.pem");
    at_expect(ossh, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "deploy/key");
    at_expect(pk8, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "k.txt");
    at_expect(named, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "home/.ssh/id_ed25519");
    at_expect(dashes, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "doc/key.txt");
    a = at_zip(cert_only, 3, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "certificates and public keys are fine: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_secret_deflated_key_is_seen)
{
    zg_entry e[] = {{.name = "x.bin", D("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"), .deflate = 1}};

    at_expect(e, 1, NULL, NULL, "zip-secret-private-key", SIGN_SEVERITY_DANGER, "x.bin");
}

Test(artifact, finding_secret_env)
{
    zg_entry e[] = {{.name = "app/.env", D("# settings\nDB_HOST=db\nexport API_KEY = \"s3cr3t\"\n")}};
    zg_entry prod[] = {{.name = ".env.production", D("TOKEN=abc\n")}};
    zg_entry empty[] = {{.name = ".env", D("# fill in\nDB_PASSWORD=\nAPI_KEY=\"\"\n")},
                        {.name = ".env.example", D("API_KEY=changeme\n")},
                        {.name = "notes.txt", D("A=B\n")}};
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-secret-env", SIGN_SEVERITY_DANGER, "app/.env");
    at_expect(prod, 1, NULL, NULL, "zip-secret-env", SIGN_SEVERITY_DANGER, ".env.production");
    a = at_zip(empty, 3, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "no values, an example, or not a .env: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_secret_aws_credentials)
{
    zg_entry e[] = {{.name = ".aws/credentials",
                     D("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                       "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")}};
    zg_entry ini[] = {{.name = "conf/aws.ini", D("[prod]\r\naws_secret_access_key=abc\r\n")}};
    zg_entry code[] = {{.name = "handler.py", D("client = boto3.client('s3',\n    aws_access_key_id=key)\n")}};
    zg_entry first[] = {{.name = "home/credentials", D("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")}};
    zg_entry late[] = {{.name = "conf/late.ini", D("_a_\n[s]\nx=1\naws_session_token=t")}};
    sign_artifact *a;

    at_expect(e, 1, NULL, NULL, "zip-secret-aws-credentials", SIGN_SEVERITY_DANGER, ".aws/credentials");
    at_expect(ini, 1, NULL, NULL, "zip-secret-aws-credentials", SIGN_SEVERITY_DANGER, "conf/aws.ini");
    /* The key at the first byte, after '_' in the first three, and as the last line: the scanner's edges. */
    at_expect(first, 1, NULL, NULL, "zip-secret-aws-credentials", SIGN_SEVERITY_DANGER, "home/credentials");
    at_expect(late, 1, NULL, NULL, "zip-secret-aws-credentials", SIGN_SEVERITY_DANGER, "conf/late.ini");
    a = at_zip(code, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "source code naming the parameter is fine: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, finding_secret_npmrc_git_credentials_netrc_keystore)
{
    zg_entry npm[] = {{.name = "web/.npmrc",
                       D("registry=https://registry.npmjs.org/\n"
                         "//registry.npmjs.org/:_authToken=npm_abcdef\n")}};
    zg_entry npm_clean[] = {{.name = ".npmrc", D("registry=https://registry.npmjs.org/\n")}};
    zg_entry git[] = {{.name = ".git-credentials", D("https://user:tok@github.com\n")}};
    zg_entry netrc[] = {{.name = "home/.netrc", D("machine x login u password p\n")}};
    zg_entry p12[] = {{.name = "certs/signing.p12", D("\x30\x82")}};
    sign_artifact *a;

    at_expect(npm, 1, NULL, NULL, "zip-secret-npmrc", SIGN_SEVERITY_DANGER, "web/.npmrc");
    at_expect(git, 1, NULL, NULL, "zip-secret-git-credentials", SIGN_SEVERITY_DANGER, ".git-credentials");
    at_expect(netrc, 1, NULL, NULL, "zip-secret-netrc", SIGN_SEVERITY_DANGER, "home/.netrc");
    at_expect(p12, 1, NULL, NULL, "zip-secret-keystore", SIGN_SEVERITY_WARNING, "certs/signing.p12");
    a = at_zip(npm_clean, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

/* ---- limits and bombs ------------------------------------------------------------------------ */

Test(artifact, finding_limit_entries)
{
    sign_limits lim = SIGN_LIMITS_INIT;
    zg_entry e[] = {{.name = "1", D("a")},
                    {.name = "2", D("a")},
                    {.name = "3", D("a")},
                    {.name = "4", D("a")},
                    {.name = "5", D("a")}};
    sign_artifact *a;

    lim.archive_max_entries = 3;
    at_expect(e, 5, NULL, &lim, "zip-limit-entries", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(e, 5, NULL, &lim);
    cr_assert(sign_artifact_entry_count(a) <= 3, "walk stops at the limit");
    sign_artifact_free(a);
}

Test(artifact, finding_limit_total_declared_and_actual)
{
    sign_limits lim = SIGN_LIMITS_INIT;
    zg_entry declared[] = {{.name = "a", .zeros = 700000}, {.name = "b", .zeros = 700000}};
    zg_entry liar[] = {{.name = "a", .zeros = 3000000, .usize_set = 10}};
    sign_artifact *a;

    lim.archive_max_total = 1000000;
    at_expect(declared, 2, NULL, &lim, "zip-limit-total", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(declared, 2, NULL, &lim);
    cr_assert_eq(sign_artifact_entry_count(a), 1, "stops before the entry that crosses the limit");
    sign_artifact_free(a);
    at_expect(liar, 1, NULL, &lim, "zip-limit-total", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, finding_limit_archive_ratio)
{
    sign_limits lim = SIGN_LIMITS_INIT;
    zg_entry e[] = {{.name = "zeros", .zeros = 20u * 1024 * 1024, .deflate = 1}};
    sign_artifact *a;

    lim.archive_max_ratio = 10;
    at_expect(e, 1, NULL, &lim, "zip-limit-ratio", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(e, 1, NULL, NULL);
    cr_assert_eq(at_count(a, "zip-limit-ratio"), 0, "within the default ratio: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, bomb_declared_is_never_inflated)
{
    /* Declares 4 GiB from a few hundred bytes: refused on the declaration, before any inflating. */
    zg_entry e[] = {{.name = "bomb", .zeros = 100000, .deflate = 1, .usize_set = 0xffffff00u}};
    sign_artifact *a;
    long long t0 = tu_cpu_us();

    a = at_zip(e, 1, NULL, NULL);
    cr_assert(at_count(a, "zip-limit-entry-ratio") + at_count(a, "zip-limit-total") > 0, "%s", at_list(a));
    cr_assert_eq(sign_artifact_entry_count(a), 0);
    cr_assert(tu_cpu_us() - t0 < 5 * 1000000LL, "inflating 4 GiB would take far more CPU than this");
    sign_artifact_free(a);
}

Test(artifact, bomb_lying_about_size_stops_at_limit_quickly)
{
    sign_limits lim = SIGN_LIMITS_INIT;
    zg_entry e[] = {{.name = "ok.txt", D("fine")},
                    {.name = "bomb", .zeros = UINT64_C(64) * 1024 * 1024, .deflate = 1, .usize_set = 1000},
                    {.name = "after.txt", D("never walked")}};
    struct timespec t0, t1;
    sign_artifact *a;

    lim.entry_max_ratio = 50;
    {
        char *dir = tu_mkdtemp(), *p = tu_path(dir, "b.zip");
        sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;

        zg_write(p, e, 3, NULL);
        o.limits = &lim;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cr_assert_eq(sign_artifact_scan(&a, p, NULL, &o), 0, "%s", sign_error_last());
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cr_assert_eq(at_count(a, "zip-limit-entry-ratio"), 1, "%s", at_list(a));
        cr_assert_null(at_entry(a, "after.txt"), "walking stopped at the bomb");
        cr_assert_not_null(at_entry(a, "ok.txt"));
        cr_assert_eq(at_entry(a, "bomb")->has_digest, 0);
        cr_assert(at_entry(a, "bomb")->size < 40u * 1024 * 1024, "did not inflate in full");
        cr_assert((t1.tv_sec - t0.tv_sec) < 3, "took %ld s", (long)(t1.tv_sec - t0.tv_sec));
        sign_artifact_free(a);
        tu_rmtree(dir);
        free(dir);
        free(p);
    }
}

/* ---- broken archives: errors or findings, never a crash ---------------------------------------- */

Test(artifact, local_header_without_end_record_is_parse_error)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts o = {.truncate_to = 40};
    sign_artifact *a = NULL;

    zg_write(p, e, 1, &o);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), SIGN_EPARSE);
    cr_assert_null(a);
    cr_assert(strstr(sign_error_last(), p) != NULL, "names the file: %s", sign_error_last());
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, central_directory_missing_is_parse_error_with_offset)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    unsigned char *buf;
    size_t len;
    sign_artifact *a = NULL;

    cr_assert_eq(zg_build(&buf, &len, e, 1, NULL), 0);
    /* Break the central directory signature: the end record still looks fine. */
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(buf + i, "PK\x01\x02", 4) == 0) {
            buf[i + 2] = 9;
        }
    }
    tu_write(p, buf, len);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), SIGN_EPARSE, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "offset") != NULL, "%s", sign_error_last());
    free(buf);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

static zg_entry at_mixed[] = {
    {.name = "dir/", .unix_mode = S_IFDIR | 0755},
    {.name = "dir/a.txt", D("hello world, hello world, hello world"), .deflate = 1},
    {.name = "b.bin", .zeros = 5000, .deflate = 1, .unix_mode = S_IFREG | 0644},
    {.name = "link", D("dir/a.txt"), .unix_mode = S_IFLNK | 0777},
    {.name = "dd.txt", D("with descriptor"), .data_descriptor = 1},
};

Test(artifact, every_truncation_is_an_error_or_a_finding)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");
    unsigned char *buf;
    size_t len;

    cr_assert_eq(zg_build(&buf, &len, at_mixed, sizeof(at_mixed) / sizeof(at_mixed[0]), NULL), 0);
    for (size_t cut = 0; cut < len; cut++) {
        sign_artifact *a = NULL;
        int r;

        tu_write(p, buf, cut);
        r = sign_artifact_scan(&a, p, NULL, NULL);
        cr_assert(r == 0 || r == SIGN_EPARSE, "cut at %zu: %d %s", cut, r, sign_error_last());
        if (r == 0 && sign_artifact_get_kind(a) == SIGN_ARTIFACT_ZIP) {
            cr_assert(at_dangers(a) > 0, "a truncated zip read as clean at %zu: %s", cut, at_list(a));
        }
        sign_artifact_free(a);
    }
    free(buf);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, every_byte_corruption_is_handled)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");
    unsigned char *buf;
    size_t len;

    cr_assert_eq(zg_build(&buf, &len, at_mixed, sizeof(at_mixed) / sizeof(at_mixed[0]), NULL), 0);
    for (size_t i = 0; i < len; i++) {
        static const unsigned char vals[] = {0x00, 0xff, 0x80};

        for (size_t v = 0; v < sizeof(vals); v++) {
            sign_artifact *a = NULL;
            unsigned char old = buf[i];
            int r;

            if (old == vals[v]) {
                continue;
            }
            buf[i] = vals[v];
            tu_write(p, buf, len);
            r = sign_artifact_scan(&a, p, NULL, NULL);
            cr_assert(r == 0 || r == SIGN_EPARSE, "byte %zu = %02x: %d %s", i, vals[v], r, sign_error_last());
            sign_artifact_free(a);
            buf[i] = old;
        }
    }
    free(buf);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

/* ---- scan_many ---------------------------------------------------------------------------- */

Test(artifact, scan_many_keeps_input_order)
{
    enum { N = 9 };
    char *dir = tu_mkdtemp(), *paths[N], names[N][16];
    const char *cp[N], *cn[N];
    sign_artifact *out[N];
    zg_entry e[] = {{.name = "x.txt", D("abc")}};

    for (int i = 0; i < N; i++) {
        char fn[32];

        snprintf(fn, sizeof(fn), "f%d", i);
        paths[i] = tu_path(dir, fn);
        if (i % 3 == 0) {
            zg_write(paths[i], e, 1, NULL);
        } else {
            char content[32];

            snprintf(content, sizeof(content), "content %d", i);
            tu_write_str(paths[i], content);
        }
        snprintf(names[i], sizeof(names[i]), "name-%d", i);
        cp[i] = paths[i];
        cn[i] = names[i];
    }
    cr_assert_eq(sign_artifact_scan_many(out, cp, cn, N, NULL), 0, "%s", sign_error_last());
    for (int i = 0; i < N; i++) {
        sign_artifact *one = NULL;

        cr_assert_str_eq(sign_artifact_name(out[i]), names[i]);
        cr_assert_str_eq(sign_artifact_path(out[i]), paths[i]);
        cr_assert_eq(sign_artifact_get_kind(out[i]), i % 3 == 0 ? SIGN_ARTIFACT_ZIP : SIGN_ARTIFACT_FILE);
        cr_assert_eq(sign_artifact_scan(&one, paths[i], NULL, NULL), 0);
        cr_assert_eq(memcmp(sign_artifact_sha256(one), sign_artifact_sha256(out[i]), 32), 0);
        sign_artifact_free(one);
        sign_artifact_free(out[i]);
    }
    cr_assert_eq(sign_artifact_scan_many(out, cp, NULL, N, NULL), 0, "names derived from paths");
    for (int i = 0; i < N; i++) {
        cr_assert(strstr(sign_artifact_name(out[i]), "f") != NULL);
        sign_artifact_free(out[i]);
        free(paths[i]);
    }
    cr_assert_eq(sign_artifact_scan_many(out, cp, NULL, 0, NULL), 0, "nothing to do");
    tu_rmtree(dir);
    free(dir);
}

Test(artifact, scan_many_failure_returns_nothing_and_names_the_path)
{
    enum { N = 6 };
    char *dir = tu_mkdtemp(), *paths[N];
    const char *cp[N];
    sign_artifact *out[N];

    for (int i = 0; i < N; i++) {
        char fn[32];

        snprintf(fn, sizeof(fn), "g%d", i);
        paths[i] = tu_path(dir, fn);
        if (i != 4) {
            tu_write_str(paths[i], "data");
        }
        cp[i] = paths[i];
    }
    cr_assert_eq(sign_artifact_scan_many(out, cp, NULL, N, NULL), SIGN_ENOTFOUND);
    for (int i = 0; i < N; i++) {
        cr_assert_null(out[i]);
    }
    cr_assert(strstr(sign_error_last(), "g4") != NULL, "names the failing path: %s", sign_error_last());
    for (int i = 0; i < N; i++) {
        free(paths[i]);
    }
    tu_rmtree(dir);
    free(dir);
}

/*
 * ---- parser differentials ------------------------------------------------------------------
 *
 * One test per class of ZIP parsing ambiguity in the public research (the
 * USENIX Security 2025 study of 50 ZIP parsers, the APK "master key" and
 * Janus signature bypasses, zip-bomb overlap tricks): a zip whose signed view
 * differs from what some extractor (Info-ZIP, Python, Go, Java, 7-Zip,
 * libarchive streaming, yauzl) would write must carry a danger finding.
 */

Test(artifact, differential_unicode_path_extra_field)
{
    unsigned char cd[64], lh[64], same[64], stale[64];
    size_t cdl = 0, lhl = 0, samel = 0, stalel = 0;
    sign_artifact *a;

    /* Info-ZIP and libarchive take the name in 0x7075 when its CRC matches the header name. */
    zg_extra_unicode(cd, &cdl, sizeof(cd), 0x7075, "readme.txt", "evil.sh");
    zg_extra_unicode(lh, &lhl, sizeof(lh), 0x7075, "readme.txt", "../evil.sh");
    zg_extra_unicode(same, &samel, sizeof(same), 0x7075, "readme.txt", "readme.txt");
    /* A stale CRC: the spec says ignore the field; not every reader checks. */
    zg_extra_unicode(stale, &stalel, sizeof(stale), 0x7075, "other", "evil.sh");
    {
        zg_entry e[] = {{.name = "readme.txt", D("a"), .extra = cd, .extra_len = cdl}};
        zg_entry l[] = {{.name = "readme.txt", D("a"), .local_extra = lh, .local_extra_len = lhl}};
        zg_entry s[] = {{.name = "readme.txt", D("a"), .extra = stale, .extra_len = stalel}};
        zg_entry ok[] = {{.name = "readme.txt",
                          D("a"),
                          .extra = same,
                          .extra_len = samel,
                          .local_extra = same,
                          .local_extra_len = samel}};

        at_expect(e, 1, NULL, NULL, "zip-unicode-path-mismatch", SIGN_SEVERITY_DANGER, "readme.txt");
        at_expect(l, 1, NULL, NULL, "zip-unicode-path-mismatch", SIGN_SEVERITY_DANGER, "readme.txt");
        at_expect(s, 1, NULL, NULL, "zip-unicode-path-mismatch", SIGN_SEVERITY_DANGER, "readme.txt");
        a = at_zip(l, 1, NULL, NULL);
        cr_assert(at_count(a, "zip-path-traversal") > 0, "the extra field's name is checked too: %s", at_list(a));
        sign_artifact_free(a);
        a = at_zip(ok, 1, NULL, NULL);
        cr_assert_eq(sign_artifact_finding_count(a), 0, "an agreeing 0x7075 is fine: %s", at_list(a));
        sign_artifact_free(a);
    }
}

Test(artifact, differential_unicode_comment_extra_field)
{
    unsigned char x[64];
    size_t xl = 0;

    zg_extra_unicode(x, &xl, sizeof(x), 0x6375, "", "a comment nobody else sees");
    {
        zg_entry e[] = {{.name = "a.txt", D("a"), .extra = x, .extra_len = xl}};

        at_expect(e, 1, NULL, NULL, "zip-unicode-comment-mismatch", SIGN_SEVERITY_WARNING, "a.txt");
    }
}

Test(artifact, differential_zip64_extra_disagrees_with_32_bit_fields)
{
    unsigned char big[32], ok[32], off[32];
    size_t bigl = 0, okl = 0, offl = 0;
    const uint64_t lie[] = {999999, 3};
    const uint64_t agree[] = {3, 3};
    const uint64_t lie3[] = {3, 3, 4096};
    sign_artifact *a;

    zg_extra_zip64(big, &bigl, sizeof(big), lie, 2);
    zg_extra_zip64(ok, &okl, sizeof(ok), agree, 2);
    zg_extra_zip64(off, &offl, sizeof(off), lie3, 3);
    {
        /* Readers that take zip64 values whenever present see 999999 bytes; others see 3. */
        zg_entry cd[] = {{.name = "a.txt", D("abc"), .extra = big, .extra_len = bigl}};
        zg_entry lh[] = {{.name = "a.txt", D("abc"), .local_extra = big, .local_extra_len = bigl}};
        zg_entry o[] = {{.name = "a.txt", D("abc"), .extra = off, .extra_len = offl}};
        zg_entry fine[] = {{.name = "a.txt", D("abc"), .extra = ok, .extra_len = okl}};

        at_expect(cd, 1, NULL, NULL, "zip-zip64-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
        at_expect(lh, 1, NULL, NULL, "zip-zip64-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
        at_expect(o, 1, NULL, NULL, "zip-zip64-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
        /* Unneeded but agreeing: some writers always add it; nothing differs. */
        a = at_zip(fine, 1, NULL, NULL);
        cr_assert_eq(at_dangers(a), 0, "%s", at_list(a));
        sign_artifact_free(a);
    }
}

Test(artifact, differential_end_record_disk_fields)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}, {.name = "b.txt", D("def")}};
    zg_opts disk = {.eocd_disk = 1, .eocd_cd_disk = 1};
    zg_opts cd_disk = {.eocd_cd_disk = 3};
    zg_opts on_disk = {.eocd_disk_count_delta = -1};

    at_expect(e, 2, &disk, NULL, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL);
    at_expect(e, 2, &cd_disk, NULL, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL);
    at_expect(e, 2, &on_disk, NULL, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, differential_end_record_comment_length)
{
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    zg_opts past = {.comment = "comment", .comment_len_delta = 9};
    zg_opts short_ = {.comment = "comment", .comment_len_delta = -3};

    /* Declared past the end of the file: Python accepts it, strict readers refuse. */
    at_expect(e, 1, &past, NULL, "zip-eocd-inconsistent", SIGN_SEVERITY_DANGER, NULL);
    /* Declared short of the end: the rest is trailing data. */
    at_expect(e, 1, &short_, NULL, "zip-data-after-end", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, nested_stored_jar_end_record_belongs_to_its_entry)
{
    zg_entry inner[] = {{.name = "META-INF/MANIFEST.MF", D("Manifest-Version: 1.0\r\n")},
                        {.name = "lib/Util.class", D("\xca\xfe\xba\xbe")}};
    unsigned char *z = NULL;
    size_t zl = 0;

    /*
     * Spring Boot's repackaging (and `zip -0`) stores nested jars uncompressed: their end records lie
     * inside the data of an entry the central directory lists, near the end of the file. Every reader
     * uses the outer archive's last end record; the inner one is that entry's content.
     */
    cr_assert_eq(zg_build(&z, &zl, inner, 2, NULL), 0);
    {
        zg_entry e[] = {{.name = "BOOT-INF/lib/a.jar", .data = z, .len = zl},
                        {.name = "BOOT-INF/lib/b.jar", .data = z, .len = zl},
                        {.name = "BOOT-INF/classes/App.class", D("abc")}};
        zg_entry last[] = {{.name = "a.txt", D("abc")}, {.name = "inner.zip", .data = z, .len = zl}};
        zg_opts comment = {.fake_eocd_in_comment = 1};
        sign_artifact *a = at_zip(e, 3, NULL, NULL);

        cr_assert_eq(at_dangers(a), 0, "%s", at_list(a));
        cr_assert_null(at_get(a, "zip-multiple-eocd"), "%s", at_list(a));
        cr_assert_eq(sign_artifact_entry_count(a), 3);
        sign_artifact_free(a);
        a = at_zip(last, 2, NULL, NULL);
        cr_assert_null(at_get(a, "zip-multiple-eocd"), "stored as the last entry: %s", at_list(a));
        sign_artifact_free(a);
        /* A second end record outside every entry's data (here in the comment) is still a second archive. */
        at_expect(e, 3, &comment, NULL, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL);
    }
    free(z);
}

Test(artifact, differential_local_name_length)
{
    zg_entry e[] = {{.name = "a.txt", .local_name = "a.txt.exe", D("abc")}};
    zg_entry nul[] = {{.name = "a.txt", .local_name = "a.txt\0.sh", .local_name_len = 9, D("abc")}};

    at_expect(e, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(nul, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
}

Test(artifact, differential_local_entry_missing_from_directory)
{
    /* A streaming extractor (libarchive streaming, Java ZipInputStream, unzip-stream) creates hidden.sh. */
    zg_entry e[] = {{.name = "a.txt", D("abc")},
                    {.name = "hidden.sh", D("rm -rf /"), .omit_from_cd = 1},
                    {.name = "b.txt", D("def")}};
    zg_entry last[] = {{.name = "a.txt", D("abc")}, {.name = "hidden.sh", D("x"), .omit_from_cd = 1}};
    sign_artifact *a;

    at_expect(e, 3, NULL, NULL, "zip-hidden-entry", SIGN_SEVERITY_DANGER, "hidden.sh");
    at_expect(last, 2, NULL, NULL, "zip-hidden-entry", SIGN_SEVERITY_DANGER, "hidden.sh");
    a = at_zip(e, 3, NULL, NULL);
    cr_assert_not_null(at_get(a, "zip-unreferenced-data"), "the gap is still reported: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_hidden_entry_needs_a_plausible_header)
{
    /* Bytes between entries that merely contain the signature are unreferenced data, not an entry. */
    static const char junk[] = "....PK\x03\x04\x14\x00\x00\x00\x77\x00 not a method";
    zg_entry e[] = {{.name = "a.txt", D("abc")},
                    {.name = "pad", .data = junk, .len = sizeof(junk) - 1, .omit_from_cd = 1},
                    {.name = "b.txt", D("def")}};
    sign_artifact *a = at_zip(e, 3, NULL, NULL);

    /* The omitted "pad" entry's own header is plausible: hidden. Its data alone would not be. */
    cr_assert_eq(at_count(a, "zip-hidden-entry"), 1, "%s", at_list(a));
    cr_assert_not_null(at_get(a, "zip-unreferenced-data"), "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_data_descriptor_with_and_without_signature)
{
    zg_entry sig[] = {{.name = "a.txt", D("abc"), .deflate = 1, .data_descriptor = 1}};
    zg_entry nosig[] = {{.name = "a.txt", D("abc"), .deflate = 1, .data_descriptor = 1, .dd_nosig = 1}};
    zg_entry nosig_lie[] = {
        {.name = "a.txt", D("abc"), .deflate = 1, .data_descriptor = 1, .dd_nosig = 1, .local_usize_delta = 7}};
    zg_entry sig_lie[] = {{.name = "a.txt", D("abc"), .deflate = 1, .data_descriptor = 1, .local_crc_xor = 1}};
    /* Stored with a descriptor: a streaming reader finds the end by scanning for the descriptor signature. */
    static const char fake[] = "abcPK\x07\x08\x00\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00tail";
    zg_entry stored[] = {{.name = "s.bin", .data = fake, .len = sizeof(fake) - 1, .data_descriptor = 1}};
    sign_artifact *a;

    a = at_zip(sig, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
    a = at_zip(nosig, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
    at_expect(nosig_lie, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(sig_lie, 1, NULL, NULL, "zip-header-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(stored, 1, NULL, NULL, "zip-descriptor-ambiguous", SIGN_SEVERITY_DANGER, "s.bin");
}

Test(artifact, differential_utf8_flag)
{
    /* Valid UTF-8 without flag 11: Info-ZIP and Python decode it as CP437 and extract another name. */
    zg_entry unflagged[] = {{.name = "r\xc3\xa9sum\xc3\xa9.txt", D("a")}};
    /* Flag 11 with bytes that are not UTF-8. */
    zg_entry flagged[] = {{.name = "r\xe9sum\xe9.txt", D("a"), .flags = 0x800}};
    /* The bytes of '/', '.' and '\\' are the same in CP437 and UTF-8; an overlong '/' is invalid UTF-8. */
    zg_entry overlong[] = {{.name = "a\xc0\xaf..\xc0\xafx", D("a"), .flags = 0x800}};

    at_expect(unflagged, 1, NULL, NULL, "zip-name-utf8-unflagged", SIGN_SEVERITY_WARNING, NULL);
    at_expect(flagged, 1, NULL, NULL, "zip-name-invalid-utf8", SIGN_SEVERITY_DANGER, NULL);
    at_expect(overlong, 1, NULL, NULL, "zip-name-invalid-utf8", SIGN_SEVERITY_DANGER, NULL);
}

Test(artifact, differential_directory_with_data)
{
    /* Named as a directory but carrying bytes: libarchive and Python make a directory, others a file. */
    zg_entry slash[] = {{.name = "lib/", D("#!/bin/sh\nrm -rf ~\n")}};
    /* Directory by attribute (MS-DOS 0x10) without the slash: Python writes a file with these bytes. */
    zg_entry attr[] = {{.name = "lib", D("payload"), .ext_attr_set = 1, .ext_attr = 0x10}};
    zg_entry unix_dir[] = {{.name = "lib", D("payload"), .unix_mode = 040755}};
    zg_entry empty_dir[] = {{.name = "lib/", .unix_mode = 040755}};
    sign_artifact *a;

    at_expect(slash, 1, NULL, NULL, "zip-dir-with-data", SIGN_SEVERITY_DANGER, "lib/");
    at_expect(attr, 1, NULL, NULL, "zip-dir-with-data", SIGN_SEVERITY_DANGER, "lib");
    at_expect(unix_dir, 1, NULL, NULL, "zip-dir-with-data", SIGN_SEVERITY_DANGER, "lib");
    a = at_zip(empty_dir, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_unix_mode_from_non_unix_host)
{
    /* Made by MS-DOS, but the high half of the attributes says symlink: yauzl-style readers believe it. */
    zg_entry link[] = {{.name = "lib/h",
                        D("../../../../etc/passwd"),
                        .made_by_set = 1,
                        .made_by = 20,
                        .ext_attr_set = 1,
                        .ext_attr = (uint32_t)(0120777u << 16)}};
    zg_entry suid[] = {{.name = "bin/x",
                        D("a"),
                        .made_by_set = 1,
                        .made_by = 10 << 8 | 20,
                        .ext_attr_set = 1,
                        .ext_attr = (uint32_t)(0104755u << 16)}};
    zg_entry dosfile[] = {
        {.name = "a.txt", D("a"), .made_by_set = 1, .made_by = 20, .ext_attr_set = 1, .ext_attr = 0x20}};
    sign_artifact *a;

    at_expect(link, 1, NULL, NULL, "zip-attr-host-mismatch", SIGN_SEVERITY_DANGER, "lib/h");
    at_expect(suid, 1, NULL, NULL, "zip-setuid", SIGN_SEVERITY_DANGER, "bin/x");
    a = at_zip(dosfile, 1, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "an archive bit is fine: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_stored_sizes_differ)
{
    /* Stored: readers that copy csize bytes and readers that copy usize bytes extract different files. */
    zg_entry more[] = {{.name = "a.txt", D("abcdef"), .usize_set = 3}};
    zg_entry less[] = {{.name = "b.txt", D("abc"), .usize_set = 6}};

    at_expect(more, 1, NULL, NULL, "zip-size-mismatch", SIGN_SEVERITY_DANGER, "a.txt");
    at_expect(less, 1, NULL, NULL, "zip-size-mismatch", SIGN_SEVERITY_DANGER, "b.txt");
}

Test(artifact, differential_unicode_normalisation_duplicates)
{
    /* NFC and NFD spellings of one name: one file on macOS, two files elsewhere. */
    zg_entry nfc_nfd[] = {{.name = "caf\xc3\xa9.js", D("a"), .flags = 0x800},
                          {.name = "cafe\xcc\x81.js", D("b"), .flags = 0x800}};
    zg_entry upper[] = {{.name = "\xc3\x89t\xc3\xa9.txt", D("a"), .flags = 0x800},
                        {.name = "\xc3\xa9t\xc3\xa9.txt", D("b"), .flags = 0x800}};
    zg_entry distinct[] = {{.name = "cafe.js", D("a")}, {.name = "caf\xc3\xa9.js", D("b"), .flags = 0x800}};
    sign_artifact *a;

    at_expect(nfc_nfd, 2, NULL, NULL, "zip-duplicate-name-unicode", SIGN_SEVERITY_DANGER, NULL);
    at_expect(upper, 2, NULL, NULL, "zip-duplicate-name-normalised", SIGN_SEVERITY_WARNING, NULL);
    a = at_zip(distinct, 2, NULL, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_two_zips_concatenated)
{
    zg_entry first[] = {{.name = "evil.sh", D("echo pwned")}};
    zg_entry second[] = {{.name = "app.js", D("ok")}};
    unsigned char *z = NULL;
    size_t zl = 0;

    cr_assert_eq(zg_build(&z, &zl, first, 1, NULL), 0);
    {
        zg_opts cat = {.prefix = z, .prefix_len = zl, .prefix_shifts = 1};
        zg_opts adjusted = {.prefix = z, .prefix_len = zl};
        sign_artifact *a = at_zip(second, 1, &cat, NULL);

        /* A forward reader (or one that trusts the first end record) sees evil.sh. */
        cr_assert_not_null(at_get(a, "zip-data-before-entries"), "%s", at_list(a));
        cr_assert_not_null(at_get(a, "zip-multiple-eocd"), "%s", at_list(a));
        sign_artifact_free(a);
        at_expect(second, 1, &adjusted, NULL, "zip-multiple-eocd", SIGN_SEVERITY_DANGER, NULL);
        at_expect(second, 1, &adjusted, NULL, "zip-data-before-entries", SIGN_SEVERITY_DANGER, NULL);
    }
    free(z);
}

Test(artifact, differential_hundred_thousand_entries, .timeout = 300)
{
    size_t n = 100001;
    zg_entry *e = calloc(n, sizeof(*e));
    char(*names)[16] = calloc(n, 16);
    sign_artifact *a;
    long long t0;

    cr_assert_not_null(e);
    cr_assert_not_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], 16, "f%zu", i);
        e[i].name = names[i];
        e[i].data = "x";
        e[i].len = 1;
    }
    t0 = tu_cpu_us();
    a = at_zip(e, n, NULL, NULL);
    cr_assert_not_null(at_get(a, "zip-limit-entries"), "%s", at_list(a));
    cr_assert_eq(at_get(a, "zip-limit-entries")->severity, SIGN_SEVERITY_DANGER);
    cr_assert(sign_artifact_entry_count(a) <= 100000, "%zu entries", sign_artifact_entry_count(a));
    cr_assert(sign_artifact_entry_count(a) >= 99000, "the walk reaches the limit: %zu", sign_artifact_entry_count(a));
    /* A guard against quadratic work (hours at 100k), in CPU time: wall time failed under load. */
    cr_assert(tu_cpu_us() - t0 < 60 * 1000000LL, "100k entries took %lld ms of CPU", (tu_cpu_us() - t0) / 1000);
    sign_artifact_free(a);
    free(e);
    free(names);
}

/* What Info-ZIP's zipinfo lists, one name a line (malloc'd), or NULL when it is not installed. */
static char *at_zipinfo(const char *zp)
{
    const char *argv[] = {"/usr/bin/zipinfo", "-1", zp, NULL};
    char *out = NULL;

    if (access("/usr/bin/zipinfo", X_OK) != 0) {
        return NULL;
    }
    (void)tu_run(&out, NULL, NULL, argv);
    return out != NULL ? out : strdup("");
}

Test(artifact, differential_cross_check_with_info_zip)
{
    char *dir = tu_mkdtemp(), *zp = tu_path(dir, "t.zip"), *list;
    unsigned char x[64];
    size_t xl = 0;
    sign_artifact *a = NULL;

    zg_extra_unicode(x, &xl, sizeof(x), 0x7075, "readme.txt", "evil.sh");
    {
        zg_entry clean[] = {{.name = "a.txt", D("abc")}, {.name = "lib/b.js", D("def"), .deflate = 1}};
        zg_entry hostile[] = {{.name = "a.txt", D("abc")},
                              {.name = "readme.txt", D("x"), .extra = x, .extra_len = xl}};

        zg_write(zp, clean, 2, NULL);
        if ((list = at_zipinfo(zp)) == NULL) {
            cr_assert_fail("/usr/bin/zipinfo is missing: install the Debian package unzip (.ci/deps test does)");
        }
        cr_assert_eq(sign_artifact_scan(&a, zp, "t.zip", NULL), 0, "%s", sign_error_last());
        cr_assert_str_eq(list, "a.txt\nlib/b.js\n", "zipinfo lists what signet records");
        cr_assert_eq(sign_artifact_entry_count(a), 2);
        cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
        sign_artifact_free(a);
        free(list);

        zg_write(zp, hostile, 2, NULL);
        list = at_zipinfo(zp);
        cr_assert_eq(sign_artifact_scan(&a, zp, "t.zip", NULL), 0, "%s", sign_error_last());
        /* Info-ZIP extracts evil.sh; signet's view differs and says so. */
        cr_assert_str_eq(list, "a.txt\nevil.sh\n", "zipinfo uses the 0x7075 name");
        cr_assert_not_null(at_get(a, "zip-unicode-path-mismatch"), "%s", at_list(a));
        sign_artifact_free(a);
        free(list);
    }
    tu_rmtree(dir);
    free(dir);
    free(zp);
}

/* The statement written directly for signing is byte for byte the one jansson builds and writes. */
static void at_same_payload(sign_artifact **arts, size_t n)
{
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_statement *st = NULL;
    char *direct = NULL, *ref = NULL;
    size_t dlen = 0, rlen = 0;

    mo.created = 1700000000;
    cr_assert_eq(sign_statement_build(&st, arts, n, &mo), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_serialize(&ref, &rlen, st), 0);
    cr_assert_eq(sign__statement_payload(&direct, &dlen, arts, n, &mo), 0, "%s", sign_error_last());
    cr_assert_eq(dlen, rlen, "direct %zu bytes, jansson %zu", dlen, rlen);
    cr_assert_str_eq(direct, ref);
    free(direct);
    free(ref);
    sign_statement_free(st);
}

Test(artifact, statement_payload_written_directly_is_janssons)
{
    static const char text[] = "x = \"1\"\n";
    char *dir = tu_mkdtemp(), *zp = tu_path(dir, "w.zip"), *tp = tu_path(dir, "l.tar"), *fp = tu_path(dir, "f.txt");
    char names[8][64];
    zg_entry ze[8];
    tg_entry te[3];
    sign_artifact *a[3] = {NULL, NULL, NULL};
    size_t nz = 0;

    /* Names with every kind of escape: quotes, backslashes, control bytes, DEL, UTF-8, a slash. */
    snprintf(names[0], sizeof(names[0]), "dir/plain.txt");
    snprintf(names[1], sizeof(names[1]), "q\"uote\\back\\\\slash.txt");
    snprintf(names[2], sizeof(names[2]), "ctl\x01\x02\x1f\b\f\n\r\t.txt");
    snprintf(names[3], sizeof(names[3]), "del\x7f and \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80.txt");
    snprintf(names[4], sizeof(names[4]), "exec.sh");
    snprintf(names[5], sizeof(names[5]), "link");
    memset(ze, 0, sizeof(ze));
    for (nz = 0; nz < 5; nz++) {
        ze[nz].name = names[nz];
        ze[nz].data = text;
        ze[nz].len = sizeof(text) - 1;
        ze[nz].deflate = (int)(nz % 2);
        ze[nz].unix_mode = 0100644;
    }
    ze[4].unix_mode = 0104755; /* setuid: a finding recorded in the statement */
    ze[nz].name = names[5];
    ze[nz].data = "dir/plain.txt";
    ze[nz].len = 13;
    ze[nz].unix_mode = 0120777;
    nz++;
    zg_write(zp, ze, nz, NULL);
    memset(te, 0, sizeof(te));
    te[0].name = "etc/passwd";
    te[0].uid = 0;
    te[0].gid = 0;
    te[0].data = text;
    te[0].len = sizeof(text) - 1;
    te[1].name = "usr/bin/sh";
    te[1].type = '2';
    te[1].link = "/bin/b\"a\\sh";
    te[1].uid = 4294967295UL;
    te[1].gid = 12345;
    te[2].name = "home/u";
    te[2].type = '5';
    te[2].uid = 1000;
    te[2].gid = 1000;
    tg_write(tp, te, 3, NULL);
    tu_write_str(fp, "a plain file\n");
    cr_assert_eq(sign_artifact_scan(&a[0], zp, "w.zip", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_scan(&a[1], tp, "l.tar", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_scan(&a[2], fp, "f \"quoted\".txt", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_entry_count(a[0]), nz);
    cr_assert_gt(sign_artifact_finding_count(a[0]), 0);
    cr_assert_eq(sign_artifact_entry_count(a[1]), 3);
    at_same_payload(a, 3);
    at_same_payload(a + 1, 2);
    at_same_payload(a + 2, 1);
    for (size_t i = 0; i < 3; i++) {
        sign_artifact_free(a[i]);
    }
    tu_rmtree(dir);
    free(dir);
    free(zp);
    free(tp);
    free(fp);
}

/* An entry name that is not UTF-8 is refused by both writers with the same message. */
Test(artifact, statement_payload_refuses_what_jansson_refuses)
{
    static const char text[] = "x\n";
    char *dir = tu_mkdtemp(), *tp = tu_path(dir, "l.tar");
    tg_entry te[1];
    sign_artifact *a = NULL;
    sign_statement *st = NULL;
    char *direct = NULL, ref[512];
    size_t dlen = 0;

    memset(te, 0, sizeof(te));
    te[0].name = "bad\xff\xfe.txt";
    te[0].data = text;
    te[0].len = 2;
    tg_write(tp, te, 1, NULL);
    cr_assert_eq(sign_artifact_scan(&a, tp, "l.tar", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_build(&st, &a, 1, NULL), SIGN_EUNSUPPORTED);
    snprintf(ref, sizeof(ref), "%s", sign_error_last());
    cr_assert_eq(sign__statement_payload(&direct, &dlen, &a, 1, NULL), SIGN_EUNSUPPORTED);
    cr_assert_null(direct);
    cr_assert_str_eq(sign_error_last(), ref);
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(tp);
}

/*
 * A hidden local header whose "version needed to extract" is 0x00ff: libarchive's
 * streaming reader (checked with archive_read_support_format_zip_streamable)
 * and Java ignore that field and extract the file, so it must not hide it.
 */
Test(artifact, hidden_entry_with_any_version_needed_is_found)
{
    zg_entry e[] = {{.name = "a.txt", .data = "abc", .len = 3},
                    {.name = "hidden.sh", .data = "rm -rf /", .len = 8, .omit_from_cd = 1},
                    {.name = "b.txt", .data = "def", .len = 3}};
    sign_artifact_options opts = SIGN_ARTIFACT_OPTIONS_INIT;
    unsigned char *z = NULL, *h;
    size_t zl = 0, found = 0;
    sign_artifact *a = NULL;
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "t.zip");

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
    tu_rmtree(dir);
    free(dir);
    free(p);
}

Test(artifact, differential_names_equal_after_path_normalisation)
{
    /* Which content lands depends on the extractor, as for exact duplicates. */
    zg_entry e[] = {{.name = "lib/util.py", D("good")}, {.name = "lib//util.py", D("evil")}};
    zg_entry dot[] = {{.name = "lib/util.py", D("good")}, {.name = "./lib/./util.py", D("evil")}};
    zg_entry dirs[] = {{.name = "lib/", .unix_mode = 040755},
                       {.name = "./lib/", .unix_mode = 040755},
                       {.name = "lib/util.py", D("good")}};
    sign_artifact *a;

    at_expect(e, 2, NULL, NULL, "zip-duplicate-path", SIGN_SEVERITY_DANGER, NULL);
    at_expect(dot, 2, NULL, NULL, "zip-duplicate-path", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(dirs, 3, NULL, NULL);
    cr_assert_null(at_get(a, "zip-duplicate-path"), "two spellings of one directory are fine: %s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, differential_path_both_file_and_directory)
{
    zg_entry e[] = {{.name = "lib", D("a file")}, {.name = "lib/util.py", D("b")}};
    zg_entry slash[] = {{.name = "lib", D("a file")}, {.name = "lib/", .unix_mode = 040755}};
    zg_entry ok[] = {{.name = "lib/", .unix_mode = 040755},
                     {.name = "lib/util.py", D("b")},
                     {.name = "libx", D("c")},
                     {.name = "lib-2/a", D("d")}};
    sign_artifact *a;

    at_expect(e, 2, NULL, NULL, "zip-file-and-directory", SIGN_SEVERITY_DANGER, NULL);
    at_expect(slash, 2, NULL, NULL, "zip-duplicate-path", SIGN_SEVERITY_DANGER, NULL);
    a = at_zip(ok, 4, NULL, NULL);
    cr_assert_eq(at_dangers(a), 0, "%s", at_list(a));
    sign_artifact_free(a);
}

Test(artifact, symlink_named_on_the_command_line_is_recorded_as_its_target)
{
    char *dir = tu_mkdtemp(), *target = tu_path(dir, "app-1.2.3.zip"), *link = tu_path(dir, "app.zip");
    zg_entry e[] = {{.name = "a.txt", D("abc")}};
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    const sign_finding *f;

    zg_write(target, e, 1, NULL);
    cr_assert_eq(symlink("app-1.2.3.zip", link), 0);
    /* Never silently sign what a link points at: the target's name, and a warning. */
    cr_assert_eq(sign_artifact_scan(&a, link, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_str_eq(sign_artifact_name(a), "app-1.2.3.zip");
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_ZIP);
    cr_assert_eq(sign_artifact_entry_count(a), 1);
    cr_assert_not_null(f = at_get(a, "artifact-symlink"), "%s", at_list(a));
    cr_assert_eq(f->severity, SIGN_SEVERITY_WARNING);
    cr_assert_null(strstr(f->message, dir), "no directory layout in the record: %s", f->message);
    sign_artifact_free(a);
    /* Said on purpose: the link's name, no warning. */
    o.flags = SIGN_ARTIFACT_FOLLOW_SYMLINK;
    cr_assert_eq(sign_artifact_scan(&a, link, NULL, &o), 0, "%s", sign_error_last());
    cr_assert(strstr(sign_artifact_name(a), "app.zip") != NULL, "%s", sign_artifact_name(a));
    cr_assert_null(at_get(a, "artifact-symlink"));
    sign_artifact_free(a);
    /* A dangling link is an error naming it. */
    cr_assert_eq(unlink(target), 0);
    cr_assert_eq(sign_artifact_scan(&a, link, NULL, NULL), SIGN_ENOTFOUND);
    cr_assert_null(a);
    tu_rmtree(dir);
    free(dir);
    free(target);
    free(link);
}

/* ---- one read of a small artifact ---------------------------------------------------------------------- */

/* Reads a scan of path makes (the measurement's own reads subtracted), and its digest checked against data. */
static long long at_scan_reads(const char *path, const unsigned char *data, size_t len)
{
    sign_artifact *a = NULL;
    unsigned char md[32];
    size_t mdlen = 0;
    long long base, r0, r1;

    r0 = tu_syscr();
    base = tu_syscr() - r0; /* what one measurement costs in reads */
    r0 = tu_syscr();
    cr_assert_eq(sign_artifact_scan(&a, path, NULL, NULL), 0, "%s", sign_error_last());
    r1 = tu_syscr();
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE);
    cr_assert_eq(sign_artifact_size(a), len);
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len), 0);
    cr_assert_eq(memcmp(sign_artifact_sha256(a), md, 32), 0, "the digest of the bytes read once is the file's");
    sign_artifact_free(a);
    return r1 - r0 - base;
}

Test(artifact, small_artifact_is_read_once)
{
    /* Before: the zip detector read the file (and its tail), the tar detector its first block, the digest the
     * whole again and once more to see the end: 4 reads of a 4 KiB file. Now one read serves all three. */
    static const size_t sizes[] = {0, 10, 4096, 65536 + 100, 700 * 1024};
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f.txt");
    unsigned char *data = malloc(700 * 1024);

    cr_assert_not_null(data);
    for (size_t i = 0; i < 700 * 1024; i++) {
        data[i] = (unsigned char)('a' + (i * 7 + i / 13) % 26);
    }
    /* A first scan loads what the process loads once (OpenSSL's configuration, the thread pool). */
    tu_write(p, data, 100);
    (void)at_scan_reads(p, data, 100);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        long long n;

        tu_write(p, data, sizes[i]);
        n = at_scan_reads(p, data, sizes[i]);
        cr_assert_eq(n, 1, "a plain file of %zu bytes took %lld reads, not 1", sizes[i], n);
    }
    free(data);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

/* The kind of the bytes in path by the file readers and by the in-memory ones: they must agree. */
static void at_detect_both(const char *path, const unsigned char *data, size_t len, int want_zip, int want_tar)
{
    int fd, zf = -1, zm = -1, tf = -1, tm = -1;

    tu_write(path, data, len);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(sign__zip_detect(&zf, fd, len, path), 0, "%s", sign_error_last());
    cr_assert_eq(sign__zip_detect_mem(&zm, data, len), 0, "%s", sign_error_last());
    cr_assert_eq(sign__tar_detect(&tf, fd, len, path), 0, "%s", sign_error_last());
    cr_assert_eq(sign__tar_detect_head(&tm, data, fd, len, path), 0, "%s", sign_error_last());
    close(fd);
    cr_assert_eq(zf, want_zip, "%s (%zu bytes): zip %d from the file, want %d", path, len, zf, want_zip);
    cr_assert_eq(zm, zf, "%s (%zu bytes): zip %d from memory, %d from the file", path, len, zm, zf);
    cr_assert_eq(tf, want_tar, "%s (%zu bytes): tar %d from the file, want %d", path, len, tf, want_tar);
    cr_assert_eq(tm, tf, "%s (%zu bytes): tar %d from the head, %d from the file", path, len, tm, tf);
}

Test(artifact, kind_from_memory_agrees_with_the_file_readers)
{
    static const char stub[] = "#!/bin/sh\nexec unzip -o \"$0\"\n", mention[] = "text with PK\x05\x06 inside\n";
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "k");
    zg_entry e[] = {{.name = "a.txt", D("hello\n")}, {.name = "b/c.txt", D("more text\n")}};
    unsigned char *junk = malloc(70000), *buf = NULL, *big = NULL;
    size_t blen = 0, tlen = 0;
    zg_opts plain = {0}, comment = {.comment = "a comment"}, fake = {.fake_eocd_in_comment = 1};
    zg_opts shifted = {.prefix = stub, .prefix_len = sizeof(stub) - 1, .prefix_shifts = 1};
    zg_opts adjusted = {.prefix = stub, .prefix_len = sizeof(stub) - 1};
    zg_opts cut = {.truncate_to = 40};
    const zg_opts *zips[] = {&plain, &comment, &fake, &shifted, &adjusted, &cut};
    tg_entry te[] = {{.name = "x.txt", .data = "tar content\n", .len = 12}};

    cr_assert_not_null(junk);
    memset(junk, 'j', 70000);
    for (size_t i = 0; i < sizeof(zips) / sizeof(zips[0]); i++) {
        cr_assert_eq(zg_build(&buf, &blen, e, 2, zips[i]), 0);
        at_detect_both(p, buf, blen, 1, 0);
        free(buf);
    }
    /* A self-extracting zip with data after its end record: found within 64 KiB of the end, not beyond. */
    for (size_t k = 0; k < 2; k++) {
        size_t tail = k == 0 ? 1000 : 70000;
        zg_opts o = {.prefix = stub, .prefix_len = sizeof(stub) - 1, .suffix = junk, .suffix_len = tail};

        cr_assert_eq(zg_build(&buf, &blen, e, 2, &o), 0);
        at_detect_both(p, buf, blen, k == 0, 0);
        free(buf);
    }
    at_detect_both(p, (const unsigned char *)"", 0, 0, 0);
    at_detect_both(p, (const unsigned char *)"PK\x03", 3, 0, 0);
    at_detect_both(p, (const unsigned char *)"PK\x03\x04", 4, 1, 0);
    at_detect_both(p, (const unsigned char *)mention, sizeof(mention) - 1, 0, 0);
    tg_tar(&buf, &tlen, te, 1);
    at_detect_both(p, buf, tlen, 0, 1);
    tg_gzip(&big, &blen, buf, tlen);
    at_detect_both(p, big, blen, 0, 1);
    free(big);
    free(buf);
    free(junk);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

/* ---- mapped reads (fmap.c) ---------------------------------------------------------------- */

static const char *at_shrink_path; /* the file the map hook truncates */
static off_t at_shrink_to;
static int at_shrink_calls;

static void at_shrink_hook(int fd)
{
    (void)fd;
    at_shrink_calls++;
    cr_assert_eq(truncate(at_shrink_path, at_shrink_to), 0);
}

/* Eight deflated entries of 512 KiB that compress little: a zip of about 4 MiB, scanned through the mapping. */
static void at_big_zip(const char *p, unsigned char **data, zg_entry e[8], char names[8][16])
{
    size_t each = 512 * 1024;

    *data = malloc(8 * each);
    cr_assert_not_null(*data);
    for (size_t i = 0; i < 8 * each; i++) {
        (*data)[i] = (unsigned char)((i * 2654435761u) >> 13 ^ i >> 5);
    }
    for (size_t k = 0; k < 8; k++) {
        memset(&e[k], 0, sizeof(e[k]));
        snprintf(names[k], 16, "part%zu.bin", k);
        e[k].name = names[k];
        e[k].data = *data + k * each;
        e[k].len = each;
        e[k].deflate = 1;
    }
    zg_write(p, e, 8, NULL);
}

Test(artifact, mapped_zip_is_read_as_with_pread)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "big.zip"), h1[65], h2[65], names[8][16];
    unsigned char *data, *file, md[32];
    size_t flen, mdlen;
    zg_entry e[8];
    sign_artifact *a = NULL;

    at_big_zip(p, &data, e, names);
    file = (unsigned char *)tu_read(p, &flen);
    cr_assert(flen > 2 * 1024 * 1024, "%zu bytes: too small to be mapped", flen);
    at_shrink_calls = 0;
    at_shrink_path = p;
    at_shrink_to = (off_t)flen; /* the hook only counts: the size stays */
    sign__fmap_set_hook(at_shrink_hook);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    sign__fmap_set_hook(NULL);
    cr_assert_eq(at_shrink_calls, 1, "the zip was not mapped");
    cr_assert_eq(sign_artifact_finding_count(a), 0, "%s", at_list(a));
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, file, flen), 0);
    at_hex(h1, md);
    at_hex(h2, sign_artifact_sha256(a));
    cr_assert_str_eq(h1, h2);
    cr_assert_eq(sign_artifact_entry_count(a), 8);
    for (size_t k = 0; k < 8; k++) {
        const sign_entry *x = sign_artifact_entry(a, k);

        cr_assert_str_eq(x->path, names[k]);
        cr_assert_eq(x->size, e[k].len);
        cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, e[k].data, e[k].len), 0);
        cr_assert_eq(memcmp(md, x->sha256, 32), 0, "entry %s", x->path);
    }
    sign_artifact_free(a);
    tu_rmtree(dir);
    free(dir);
    free(p);
    free(file);
    free(data);
}

/* A zip cut short while it is mapped (truncated by another process): SIGBUS is caught, the scan fails cleanly. */
Test(artifact, mapped_zip_that_shrinks_is_an_error_not_a_crash)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "big.zip"), names[8][16];
    unsigned char *data;
    zg_entry e[8];
    struct stat st;
    const off_t cuts[] = {0, 4096, 1024 * 1024 + 17, -1};

    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        sign_artifact *a = NULL;
        int r;

        at_big_zip(p, &data, e, names);
        cr_assert_eq(stat(p, &st), 0);
        at_shrink_calls = 0;
        at_shrink_path = p;
        at_shrink_to = cuts[c] >= 0 ? cuts[c] : st.st_size / 2;
        sign__fmap_set_hook(at_shrink_hook);
        r = sign_artifact_scan(&a, p, NULL, NULL);
        sign__fmap_set_hook(NULL);
        cr_assert_eq(at_shrink_calls, 1, "the zip was not mapped");
        cr_assert_neq(r, 0, "cut to %lld bytes: scanned as if whole", (long long)at_shrink_to);
        cr_assert_null(a);
        cr_assert(r == SIGN_EIO || r == SIGN_EPARSE, "cut to %lld: %d %s", (long long)at_shrink_to, r,
                  sign_error_last());
        free(data);
    }
    tu_rmtree(dir);
    free(dir);
    free(p);
}

static void at_grow_hook(int fd)
{
    int w = open(at_shrink_path, O_WRONLY | O_APPEND);

    (void)fd;
    at_shrink_calls++;
    cr_assert_geq(w, 0);
    cr_assert_eq(write(w, "more", 4), 4);
    close(w);
}

/* A zip that grows while it is mapped has changed size, as the reads to its end found before the mapping. */
Test(artifact, mapped_zip_that_grows_is_an_error)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "big.zip"), names[8][16];
    unsigned char *data;
    zg_entry e[8];
    sign_artifact *a = NULL;
    int r;

    at_big_zip(p, &data, e, names);
    at_shrink_calls = 0;
    at_shrink_path = p;
    sign__fmap_set_hook(at_grow_hook);
    r = sign_artifact_scan(&a, p, NULL, NULL);
    sign__fmap_set_hook(NULL);
    cr_assert_eq(at_shrink_calls, 1, "the zip was not mapped");
    cr_assert_eq(r, SIGN_EIO, "%d %s", r, sign_error_last());
    cr_assert(strstr(sign_error_last(), "changed size") != NULL, "%s", sign_error_last());
    cr_assert_null(a);
    free(data);
    tu_rmtree(dir);
    free(dir);
    free(p);
}

typedef struct at_touch {
    const unsigned char *p;
    size_t len;
    unsigned sum;
} at_touch;

static void at_touch_run(void *arg)
{
    at_touch *t = arg;

    for (size_t i = 0; i < t->len; i += 4096) {
        t->sum += ((volatile const unsigned char *)t->p)[i];
    }
}

/* The guard itself: reads past the new end return short, again and again (the handler stays usable). */
Test(artifact, mapping_guard_survives_repeated_faults)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f.bin");
    size_t n = 16 * 4096;
    unsigned char *buf = malloc(n), out[8192];
    sign__fmap m;
    int fd;

    cr_assert_not_null(buf);
    memset(buf, 'm', n);
    tu_write(p, buf, n);
    cr_assert_geq(fd = open(p, O_RDONLY), 0);
    cr_assert_eq(sign__fmap_open(&m, fd, n), 0);
    cr_assert_eq(sign__fmap_copy(&m, out, 4096, sizeof(out)), sizeof(out));
    cr_assert_eq(out[0], 'm');
    cr_assert_eq(truncate(p, 3 * 4096), 0);
    for (int k = 0; k < 3; k++) {
        at_touch t = {m.p, n, 0};

        cr_assert_eq(sign__fmap_copy(&m, out, 8 * 4096, sizeof(out)), 0, "a copy past the new end");
        cr_assert_eq(sign__fmap_copy(&m, out, 0, 100), 100, "a copy before it");
        cr_assert_eq(sign__fmap_guard(&m, at_touch_run, &t), 1, "a touch past the new end");
        cr_assert_eq(t.sum, 3u * 'm', "the pages before the end were read");
    }
    sign__fmap_close(&m);
    close(fd);
    tu_rmtree(dir);
    free(dir);
    free(p);
    free(buf);
}

/* Findings of sign__secrets_check for a head holding text at offset off of filler rich in '-' and '_'. */
static int at_secret_at(const char *name, const char *text, size_t off, size_t tail, const char *id)
{
    static const char filler[] = "a_b-c_d--e_f---g_aws-_ws_-----BEGIN PUBLIC KEY-----\n";
    size_t tl = strlen(text), n = off + tl + tail;
    unsigned char *h = malloc(n);
    sign__findings f = {0};
    int found;

    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++) {
        h[i] = (unsigned char)filler[i % (sizeof(filler) - 1)];
    }
    memcpy(h + off, text, tl);
    cr_assert_eq(sign__secrets_check(&f, name, h, n), 0);
    found = sign__findings_has(&f, id);
    sign__findings_clear(&f);
    free(h);
    return found;
}

/*
 * The secrets scan finds its markers 32 positions at a time: a marker is
 * found at every offset and alignment, also as the head's last bytes, and
 * near misses around it are not findings.
 */
Test(artifact, secret_markers_are_found_at_every_offset_and_at_the_end)
{
    for (size_t off = 0; off < 140; off++) {
        for (size_t tail = 0; tail < 3; tail++) {
            cr_assert(
                at_secret_at("keys/a.pem", "-----BEGIN EC PRIVATE KEY-----", off, tail, "zip-secret-private-key"),
                "private key at %zu, %zu after", off, tail);
            cr_assert(
                !at_secret_at("keys/a.pem", "-----BEGIN EC PUBLIC KEY-----", off, tail, "zip-secret-private-key"),
                "public key at %zu", off);
            cr_assert(at_secret_at(".aws/credentials", "\n[default]\naws_secret_access_key = k", off, tail,
                                   "zip-secret-aws-credentials"),
                      "aws key at %zu, %zu after", off, tail);
            cr_assert(!at_secret_at(".aws/credentials", "\n[default]\naws-secret-access-key = k", off, tail,
                                    "zip-secret-aws-credentials"),
                      "no aws_ at %zu", off);
        }
    }
}

/*
 * The vectorised marker search (AVX2 where the CPU has it) and the one that
 * goes a byte at a time agree on heads of every length up to 200 with a
 * marker, a near miss or none at every offset, in a filler of near misses.
 */
Test(artifact, secret_marker_search_vectorised_agrees_with_bytewise)
{
    static const char filler[] = "a_b-c_d--e_f---g_aws-_ws_-----BEGIN PUBLIC KEY-----\naw_s -";
    static const char *const marks[] = {"-----BEGIN RSA PRIVATE KEY-----", "aws_", "-----BEGIN X", "aws", "",
                                        "aws_-----BEGIN PRIVATE KEY-----"};
    unsigned char h[256];

    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        size_t ml = strlen(marks[m]);

        for (size_t n = 0; n <= 200; n++) {
            for (size_t off = 0; off + ml <= n; off += (n < 80 ? 1 : 7)) {
                int pk1, aws1, pk0, aws0;

                for (size_t i = 0; i < n; i++) {
                    h[i] = (unsigned char)filler[(i * 5 + m) % (sizeof(filler) - 1)];
                }
                memcpy(h + off, marks[m], ml);
                sign__secrets_markers(h, n, 1, &pk1, &aws1);
                sign__secrets_markers(h, n, 0, &pk0, &aws0);
                cr_assert(pk1 == pk0 && aws1 == aws0, "mark %zu at %zu of %zu: vector %d/%d, bytewise %d/%d", m, off,
                          n, pk1, aws1, pk0, aws0);
                if (m == 0 || m == 5) {
                    cr_assert(pk0, "mark %zu at %zu of %zu: a private key", m, off, n);
                }
                if (m == 1 || m == 5) {
                    cr_assert(aws0, "mark %zu at %zu of %zu: aws_", m, off, n);
                }
            }
        }
    }
}
