/* The layer walker: single tar layers (plain, gzip, zstd), whiteouts, and hostile layers built by targen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sign/sign.h"
#include "targen.h"
#include "testutil.h"

static char *tar_dir;

static void tar_setup(void)
{
    tar_dir = tu_mkdtemp();
}

static void tar_teardown(void)
{
    tu_rmtree(tar_dir);
    free(tar_dir);
}

static sign_artifact *tar_scan(const char *name, const tg_entry *e, size_t n, const char *compress)
{
    char *p = tu_path(tar_dir, name);
    sign_artifact *a = NULL;
    int r;

    tg_write(p, e, n, compress);
    r = sign_artifact_scan(&a, p, NULL, NULL);
    cr_assert_eq(r, 0, "scan %s: %s", name, sign_error_last());
    free(p);
    return a;
}

static const sign_finding *tar_finding(const sign_artifact *a, const char *id)
{
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        if (strcmp(sign_artifact_finding(a, i)->id, id) == 0) {
            return sign_artifact_finding(a, i);
        }
    }
    return NULL;
}

static void tar_expect(const tg_entry *e, size_t n, const char *id, sign_severity sev)
{
    sign_artifact *a = tar_scan("hostile.tar", e, n, NULL);
    const sign_finding *f = tar_finding(a, id);

    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_LAYER);
    cr_assert_not_null(f, "finding %s expected", id);
    cr_assert_eq(f->severity, sev, "%s: severity %d", id, f->severity);
    sign_artifact_free(a);
}

static size_t tar_danger_count(const sign_artifact *a)
{
    size_t n = 0;

    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        n += sign_artifact_finding(a, i)->severity == SIGN_SEVERITY_DANGER;
    }
    return n;
}

static const char tar_hello[] = "hello layer\n";

static const tg_entry tar_clean[] = {
    {.name = "etc/", .type = '5'},
    {.name = "etc/hello", .data = tar_hello, .len = sizeof(tar_hello) - 1},
    {.name = "etc/hard", .type = '1', .link = "etc/hello"},
    {.name = "bin/", .type = '5'},
    {.name = "bin/sh", .type = '2', .link = "/usr/bin/dash"}, /* absolute: normal in images */
    {.name = "bin/rel", .type = '2', .link = "../etc/hello"},
    {.name = "tmp/", .type = '5', .mode = 01777},
};

Test(tar, plain_gzip_zstd_one_pass_same_diffid_and_entries, .init = tar_setup, .fini = tar_teardown)
{
    static const char *const comp[] = {NULL, "gzip", "zstd"};
    unsigned char *plain, want_diff[SIGN_SHA256_LEN], file_sha[SIGN_SHA256_LEN];
    size_t plen, mdlen;

    tg_tar(&plain, &plen, tar_clean, sizeof(tar_clean) / sizeof(tar_clean[0]));
    cr_assert_eq(sign_digest_buffer(want_diff, sizeof(want_diff), &mdlen, SIGN_DIGEST_SHA256, plain, plen), 0);
    for (size_t c = 0; c < 3; c++) {
        char name[32];
        char *p;
        sign_artifact *a;
        sign_layer_info li;
        const sign_entry *e;
        uint64_t size = 0;

        snprintf(name, sizeof(name), "layer%zu", c);
        a = tar_scan(name, tar_clean, sizeof(tar_clean) / sizeof(tar_clean[0]), comp[c]);
        p = tu_path(tar_dir, name);
        cr_assert_eq(sign_digest_file(file_sha, sizeof(file_sha), &mdlen, &size, SIGN_DIGEST_SHA256, p), 0);
        free(p);
        cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_LAYER, "%s", comp[c] ? comp[c] : "plain");
        cr_assert_str_eq(sign_artifact_kind_name(sign_artifact_get_kind(a)), "layer");
        cr_assert_eq(memcmp(sign_artifact_sha256(a), file_sha, SIGN_SHA256_LEN), 0, "blob digest = file digest");
        cr_assert_eq(sign_artifact_layer(&li, a, 0, 0), 0);
        cr_assert_not_null(li.diff_id);
        cr_assert_eq(memcmp(li.diff_id, want_diff, SIGN_SHA256_LEN), 0, "diffID = sha256 of the plain tar");
        cr_assert_eq(li.size, size);
        cr_assert_eq(sign_artifact_entry_count(a), 7);
        e = sign_artifact_entry(a, 1);
        cr_assert_str_eq(e->path, "etc/hello");
        cr_assert_eq(e->type, SIGN_ENTRY_FILE);
        cr_assert_eq(e->size, sizeof(tar_hello) - 1);
        cr_assert(e->has_digest && e->has_owner);
        cr_assert_eq(sign_artifact_entry(a, 2)->type, SIGN_ENTRY_HARDLINK);
        cr_assert_str_eq(sign_artifact_entry(a, 4)->link_target, "/usr/bin/dash");
        cr_assert_eq(tar_danger_count(a), 0, "a clean layer has no danger finding (first: %s)",
                     sign_artifact_finding_count(a) ? sign_artifact_finding(a, 0)->id : "-");
        sign_artifact_free(a);
    }
    free(plain);
}

Test(tar, whiteouts_are_recorded_as_whiteouts, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {
        {.name = "app/", .type = '5'},
        {.name = "app/.wh.gone"},
        {.name = "var/cache/.wh..wh..opq"},
    };
    sign_artifact *a = tar_scan("wh.tar", e, 3, "gzip");

    cr_assert_eq(sign_artifact_entry_count(a), 3);
    cr_assert_eq(sign_artifact_entry(a, 1)->type, SIGN_ENTRY_WHITEOUT);
    cr_assert_str_eq(sign_artifact_entry(a, 1)->path, "app/gone");
    cr_assert_eq(sign_artifact_entry(a, 2)->type, SIGN_ENTRY_OPAQUE);
    cr_assert_str_eq(sign_artifact_entry(a, 2)->path, "var/cache");
    cr_assert_str_eq(sign_entry_type_name(SIGN_ENTRY_WHITEOUT), "whiteout");
    cr_assert_eq(tar_danger_count(a), 0);
    sign_artifact_free(a);
}

Test(tar, hostile_traversal, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a/../../etc/cron.d/x", .data = "x", .len = 1}};
    tar_expect(e, 1, "tar-path-traversal", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_absolute_path, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "/etc/passwd", .data = "x", .len = 1}};
    tar_expect(e, 1, "tar-absolute-path", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_hardlink_escape, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "h", .type = '1', .link = "../../etc/shadow"}};
    static const tg_entry e2[] = {{.name = "h", .type = '1', .link = "/etc/shadow"}};
    tar_expect(e, 1, "tar-hardlink-escape", SIGN_SEVERITY_DANGER);
    tar_expect(e2, 1, "tar-hardlink-escape", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_symlink_escape, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a/l", .type = '2', .link = "../../../etc"}};
    tar_expect(e, 1, "tar-symlink-escape", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_write_through_symlink, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "etc", .type = '2', .link = "/host-etc"},
                                 {.name = "etc/cron.d/evil", .data = "x", .len = 1}};
    tar_expect(e, 2, "tar-path-through-symlink", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_device_node, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "dev/sda", .type = '4'}};
    static const tg_entry e2[] = {{.name = "usr/lib/mem", .type = '3'}};
    static const tg_entry e3[] = {{.name = "dev", .type = '3'}};
    tar_expect(e, 1, "tar-device-node", SIGN_SEVERITY_DANGER);
    tar_expect(e2, 1, "tar-device-node", SIGN_SEVERITY_DANGER);
    tar_expect(e3, 1, "tar-device-node", SIGN_SEVERITY_DANGER);
}

Test(tar, root_filesystem_character_devices_under_dev_are_warnings, .init = tar_setup, .fini = tar_teardown)
{
    /* mmdebstrap's default tarball, a `docker import` input: ./dev/ holds null, zero, tty... */
    static const tg_entry e[] = {
        {.name = "./", .type = '5'},
        {.name = "./dev/", .type = '5'},
        {.name = "./dev/null", .type = '3'},
        {.name = "./dev/zero", .type = '3'},
        {.name = "./var/local/", .type = '5', .mode = 02775},
    };
    sign_artifact *a = tar_scan("rootfs.tar", e, sizeof(e) / sizeof(e[0]), "gzip");
    const sign_finding *f = tar_finding(a, "tar-device-node"), *g = tar_finding(a, "tar-setgid-directory");

    cr_assert_not_null(f);
    cr_assert_eq(f->severity, SIGN_SEVERITY_WARNING);
    cr_assert_eq(tar_danger_count(a), 0);
    /* A setgid directory is not a setuid binary: its own id and words. */
    cr_assert_null(tar_finding(a, "tar-setuid"));
    cr_assert_not_null(g);
    cr_assert_eq(g->severity, SIGN_SEVERITY_INFO);
    cr_assert_not_null(strstr(g->message, "directory has the setgid bit"), "%s", g->message);
    sign_artifact_free(a);
}

Test(tar, setuid_and_world_writable_are_warnings, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "bin/su", .mode = 04755, .data = "x", .len = 1}};
    static const tg_entry e2[] = {{.name = "bin/g", .mode = 02755, .data = "x", .len = 1}};
    static const tg_entry e3[] = {{.name = "etc/conf", .mode = 0666, .data = "x", .len = 1}};
    static const tg_entry e4[] = {{.name = "open/", .type = '5', .mode = 0777}};
    tar_expect(e, 1, "tar-setuid", SIGN_SEVERITY_WARNING);
    tar_expect(e2, 1, "tar-setuid", SIGN_SEVERITY_WARNING);
    tar_expect(e3, 1, "tar-world-writable", SIGN_SEVERITY_WARNING);
    tar_expect(e4, 1, "tar-world-writable", SIGN_SEVERITY_WARNING);
}

Test(tar, hostile_duplicate_path, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "app/run", .data = "a", .len = 1},
                                 {.name = "./app/run", .data = "b", .len = 1}};
    /* An opaque marker between two files of one path hides nothing. */
    static const tg_entry e2[] = {{.name = "app/x", .data = "a", .len = 1},
                                  {.name = "app/x/.wh..wh..opq"},
                                  {.name = "app/x", .data = "b", .len = 1}};
    tar_expect(e, 2, "tar-duplicate-path", SIGN_SEVERITY_DANGER);
    tar_expect(e2, 3, "tar-duplicate-path", SIGN_SEVERITY_DANGER);
}

Test(tar, opaque_directory_is_not_a_duplicate_and_keeps_the_prefix, .init = tar_setup, .fini = tar_teardown)
{
    /* The OCI image spec's own example, as docker, buildkit and umoci write it. */
    static const tg_entry e[] = {
        {.name = "./etc/apt/apt.conf.d/", .type = '5'},
        {.name = "./etc/apt/apt.conf.d/.wh..wh..opq"},
        {.name = "./etc/apt/apt.conf.d/99local", .data = "x", .len = 1},
        {.name = "./etc/.wh.motd"},
    };
    sign_artifact *a = tar_scan("opq.tar", e, 4, "gzip");

    cr_assert_null(tar_finding(a, "tar-duplicate-path"));
    cr_assert_eq(sign_artifact_finding_count(a), 0, "first: %s", sign_artifact_finding(a, 0)->id);
    /* One normalisation for every entry: whiteouts keep the "./" the other entries keep. */
    cr_assert_str_eq(sign_artifact_entry(a, 0)->path, "./etc/apt/apt.conf.d/");
    cr_assert_eq(sign_artifact_entry(a, 1)->type, SIGN_ENTRY_OPAQUE);
    cr_assert_str_eq(sign_artifact_entry(a, 1)->path, "./etc/apt/apt.conf.d");
    cr_assert_eq(sign_artifact_entry(a, 3)->type, SIGN_ENTRY_WHITEOUT);
    cr_assert_str_eq(sign_artifact_entry(a, 3)->path, "./etc/motd");
    sign_artifact_free(a);
}

Test(tar, whiteout_and_file_of_one_name_in_a_layer_is_a_warning, .init = tar_setup, .fini = tar_teardown)
{
    /* The whiteout removes the lower layers' copy; the file is this layer's (OCI image spec). */
    static const tg_entry e[] = {{.name = "etc/.wh.hosts"}, {.name = "etc/hosts", .data = "x", .len = 1}};
    sign_artifact *a = tar_scan("whf.tar", e, 2, NULL);

    cr_assert_null(tar_finding(a, "tar-duplicate-path"));
    cr_assert_not_null(tar_finding(a, "tar-whiteout-and-entry"));
    cr_assert_eq(tar_finding(a, "tar-whiteout-and-entry")->severity, SIGN_SEVERITY_WARNING);
    cr_assert_eq(tar_danger_count(a), 0);
    sign_artifact_free(a);
}

Test(tar, hostile_path_both_file_and_directory, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "lib", .data = "a", .len = 1},
                                 {.name = "lib/util.py", .data = "b", .len = 1}};
    static const tg_entry ok[] = {
        {.name = ".wh.lib"}, {.name = "lib/", .type = '5'}, {.name = "lib/util.py", .data = "b", .len = 1}};
    sign_artifact *a;

    tar_expect(e, 2, "tar-file-and-directory", SIGN_SEVERITY_DANGER);
    a = tar_scan("ok.tar", ok, 3, NULL);
    cr_assert_eq(tar_danger_count(a), 0, "a whiteout of a lower file, then a directory, is how layers replace it");
    sign_artifact_free(a);
}

Test(tar, hostile_hardlink_through_symlink, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "s", .type = '2', .link = "/etc"},
                                 {.name = "h", .type = '1', .link = "s/hostname"}};
    tar_expect(e, 2, "tar-hardlink-through-symlink", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_pax_path_disagrees_with_ustar_name, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "../../etc/passwd", .pax_path = "safe.txt", .data = "x", .len = 1}};
    sign_artifact *a = tar_scan("pax.tar", e, 1, NULL);

    cr_assert_not_null(tar_finding(a, "tar-name-mismatch"));
    /* The ustar name is what a reader without pax support extracts: it is checked too. */
    cr_assert_not_null(tar_finding(a, "tar-path-traversal"));
    cr_assert_str_eq(sign_artifact_entry(a, 0)->path, "safe.txt");
    sign_artifact_free(a);
}

Test(tar, pax_long_name_cut_into_ustar_is_fine, .init = tar_setup, .fini = tar_teardown)
{
    static char longname[300];
    tg_entry e[1];
    sign_artifact *a;

    memset(longname, 'a', 250);
    memcpy(longname + 250, "/file", 6);
    memset(e, 0, sizeof(e));
    e[0].name = longname; /* targen cuts it at 100 bytes: a prefix of the pax path */
    e[0].pax_path = longname;
    a = tar_scan("paxok.tar", e, 1, NULL);
    cr_assert_null(tar_finding(a, "tar-name-mismatch"));
    cr_assert_str_eq(sign_artifact_entry(a, 0)->path, longname);
    sign_artifact_free(a);
}

Test(tar, hostile_gnu_long_name, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {
        {.name = "innocent", .gnu_name = "../../../root/.ssh/authorized_keys", .data = "k", .len = 1}};
    sign_artifact *a = tar_scan("gnu.tar", e, 1, NULL);

    cr_assert_not_null(tar_finding(a, "tar-name-mismatch"));
    cr_assert_not_null(tar_finding(a, "tar-path-traversal"));
    cr_assert_str_eq(sign_artifact_entry(a, 0)->path, "../../../root/.ssh/authorized_keys");
    sign_artifact_free(a);
}

Test(tar, hostile_gnu_long_link, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "l", .type = '2', .link = "ok", .gnu_link = "../../../../etc"}};
    sign_artifact *a = tar_scan("gnul.tar", e, 1, NULL);

    cr_assert_not_null(tar_finding(a, "tar-name-mismatch"));
    cr_assert_not_null(tar_finding(a, "tar-symlink-escape"));
    sign_artifact_free(a);
}

Test(tar, hostile_whiteouts_of_dotdot_and_root, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry dotdot[] = {{.name = "app/.wh..."}};
    static const tg_entry root[] = {{.name = ".wh.."}};
    static const tg_entry opq_root[] = {{.name = ".wh..wh..opq"}};
    static const tg_entry up[] = {{.name = "../.wh.etc"}};
    tar_expect(dotdot, 1, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER);
    tar_expect(root, 1, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER);
    tar_expect(opq_root, 1, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER);
    tar_expect(up, 1, "tar-whiteout-invalid", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_invalid_utf8_name, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "caf\xe9.txt", .data = "x", .len = 1}};
    tar_expect(e, 1, "tar-name-invalid-utf8", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_private_key_and_credentials, .init = tar_setup, .fini = tar_teardown)
{
    static const char key[] = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
    static const tg_entry e[] = {{.name = "etc/app/tls.pem", .data = key, .len = sizeof(key) - 1}};
    static const tg_entry e2[] = {{.name = "root/.git-credentials", .data = "https://u:p@h\n", .len = 14}};
    tar_expect(e, 1, "zip-secret-private-key", SIGN_SEVERITY_DANGER);
    tar_expect(e2, 1, "zip-secret-git-credentials", SIGN_SEVERITY_DANGER);
}

Test(tar, hostile_bad_checksum_and_truncation, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a", .data = "x", .len = 1},
                                 {.name = "b", .data = "y", .len = 1, .bad_checksum = 1}};
    unsigned char *t;
    size_t len;
    char *p = tu_path(tar_dir, "trunc.tar");
    sign_artifact *a = NULL;

    tar_expect(e, 2, "tar-bad-header", SIGN_SEVERITY_DANGER);
    /* A layer cut inside an entry's data. */
    {
        static const tg_entry big[] = {{.name = "a", .data = tar_hello, .len = sizeof(tar_hello) - 1},
                                       {.name = "b", .data = tar_hello, .len = sizeof(tar_hello) - 1}};
        tg_tar(&t, &len, big, 2);
        tu_write(p, t, 512 + 512 + 512 + 5);
        cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
        cr_assert_not_null(tar_finding(a, "tar-truncated"));
        cr_assert_eq(tar_finding(a, "tar-truncated")->severity, SIGN_SEVERITY_DANGER);
        sign_artifact_free(a);
        free(t);
    }
    free(p);
}

Test(tar, hundred_thousand_entries_stay_linear, .init = tar_setup, .fini = tar_teardown)
{
    char *p = tu_path(tar_dir, "many.tar");
    sign_artifact *a = NULL;
    long long t0;

    tg_write_many(p, 100000);
    t0 = tu_cpu_us();
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    /* A guard against quadratic work, in CPU time (wall time moves with the machine's load). */
    cr_assert_lt(tu_cpu_us() - t0, 60LL * 1000 * 1000, "100k entries took too long");
    cr_assert_eq(sign_artifact_entry_count(a), 100000);
    cr_assert_null(tar_finding(a, "tar-limit-entries"), "exactly at the limit is fine");
    sign_artifact_free(a);
    tg_write_many(p, 100001);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_not_null(tar_finding(a, "tar-limit-entries"));
    cr_assert_eq(tar_finding(a, "tar-limit-entries")->severity, SIGN_SEVERITY_DANGER);
    sign_artifact_free(a);
    free(p);
}

Test(tar, ratio_bomb_stops_walk, .init = tar_setup, .fini = tar_teardown)
{
    /* 300 MiB of zeros in one entry compress ~1000:1 with gzip: over the archive ratio of 200. */
    size_t n = 8u * 1024 * 1024;
    unsigned char *zeros = calloc(1, n);
    tg_entry e[1];
    sign_artifact *a;
    sign_layer_info li;

    cr_assert_not_null(zeros);
    memset(e, 0, sizeof(e));
    e[0].name = "zeros";
    e[0].data = zeros;
    e[0].len = n;
    a = tar_scan("bomb.tar.gz", e, 1, "gzip");
    cr_assert_not_null(tar_finding(a, "tar-limit-ratio"));
    cr_assert_eq(sign_artifact_layer(&li, a, 0, 0), 0);
    cr_assert_null(li.diff_id, "no diffID when the walk stopped");
    sign_artifact_free(a);
    free(zeros);
}

Test(tar, not_a_tar_stays_a_file, .init = tar_setup, .fini = tar_teardown)
{
    char *p = tu_path(tar_dir, "notes.txt.gz");
    char text[600];
    sign_artifact *a = NULL;

    memset(text, 'n', sizeof(text));
    tg_compress(p, text, sizeof(text), "gzip");
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_FILE);
    sign_artifact_free(a);
    free(p);
}

/* Signing refuses a dangerous layer unless the finding is allowed. */
Test(tar, sign_refuses_dangerous_layer_unless_allowed, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "../escape", .data = "x", .len = 1}};
    char *p = tu_path(tar_dir, "bad.tar"), *key = tu_path(tar_dir, "k"), *keyf = tu_path(tar_dir, "k.key");
    char *b = tu_path(tar_dir, "bad.b"), *err = NULL;
    const char *kg[] = {"signet", "keygen", "--no-passphrase", "-o", key, NULL};
    const char *s1[] = {"signet", "sign", "-k", keyf, "-o", b, p, NULL};
    const char *s2[] = {"signet", "sign", "-k", keyf, "--allow", "tar-path-traversal", "-o", b, p, NULL};
    int rc;

    tg_write(p, e, 1, "gzip");
    cr_assert_eq(tu_run(NULL, NULL, NULL, kg), 0);
    rc = tu_run(NULL, &err, NULL, s1);
    cr_assert_eq(rc, 2, "refused: exit %d %s", rc, err);
    cr_assert_not_null(strstr(err, "tar-path-traversal"), "%s", err);
    cr_assert(!tu_exists(b));
    free(err);
    err = NULL;
    rc = tu_run(NULL, &err, NULL, s2);
    cr_assert_eq(rc, 0, "allowed: exit %d %s", rc, err);
    cr_assert(tu_exists(b));
    free(err);
    free(p);
    free(key);
    free(keyf);
    free(b);
}

/* ---- differentials: two tar or gzip readers must not see different files ---- */

Test(tar, differential_pax_size_disagrees_with_ustar_size, .init = tar_setup, .fini = tar_teardown)
{
    /* One reader takes the pax size (0: the data is the next member), another the header's: a hidden member. */
    static char hidden[1024];
    tg_entry e[2];
    static const tg_entry same[] = {{.name = "a", .data = "xyz", .len = 3, .pax_size_set = 1, .pax_size = 3}};
    sign_artifact *a;

    memset(e, 0, sizeof(e));
    memset(hidden, 'h', sizeof(hidden));
    e[0].name = "innocent";
    e[0].data = hidden;
    e[0].len = sizeof(hidden);
    e[0].pax_size_set = 1;
    e[0].pax_size = 0;
    e[1].name = "b";
    e[1].data = "b";
    e[1].len = 1;
    tar_expect(e, 2, "tar-size-mismatch", SIGN_SEVERITY_DANGER);
    a = tar_scan("same.tar", same, 1, NULL);
    cr_assert_eq(sign_artifact_finding_count(a), 0, "an agreeing pax size is fine: %s",
                 sign_artifact_finding(a, 0)->id);
    sign_artifact_free(a);
}

Test(tar, differential_non_octal_digit_in_a_numeric_field, .init = tar_setup, .fini = tar_teardown)
{
    /* strtoul-based readers stop at the '8' (size 1), strict ones fail. */
    static const tg_entry e[] = {{.name = "a", .data = "x", .len = 1, .raw_size = "00000000018"},
                                 {.name = "b", .data = "y", .len = 1, .raw_size = "0000000001 1"}};
    tar_expect(e, 1, "tar-bad-header", SIGN_SEVERITY_DANGER);
    tar_expect(e + 1, 1, "tar-bad-header", SIGN_SEVERITY_DANGER);
}

Test(tar, differential_bad_checksum_in_a_gzip_layer, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a", .data = "x", .len = 1, .bad_checksum = 1}};
    sign_artifact *a = tar_scan("badsum.tar.gz", e, 1, "gzip");

    cr_assert_not_null(tar_finding(a, "tar-bad-header"));
    cr_assert_eq(tar_finding(a, "tar-bad-header")->severity, SIGN_SEVERITY_DANGER);
    sign_artifact_free(a);
}

Test(tar, differential_single_zero_block_then_a_member, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a", .data = "x", .len = 1},
                                 {.name = "hidden", .data = "y", .len = 1, .zero_block_before = 1}};
    sign_artifact *a;

    tar_expect(e, 2, "tar-zero-block", SIGN_SEVERITY_DANGER);
    a = tar_scan("zb.tar", e, 2, NULL);
    cr_assert_eq(sign_artifact_entry_count(a), 2, "the member after it is read and listed too");
    sign_artifact_free(a);
}

Test(tar, differential_data_after_the_end_marker, .init = tar_setup, .fini = tar_teardown)
{
    static const tg_entry e[] = {{.name = "a", .data = "x", .len = 1}};
    static const tg_entry hidden[] = {{.name = "evil", .data = "y", .len = 1}};
    unsigned char *t, *h;
    size_t tl, hl;
    char *p = tu_path(tar_dir, "after.tar");
    sign_artifact *a = NULL;

    /* `tar --ignore-zeros` reads the second archive; everyone else stops at the marker. */
    tg_tar(&t, &tl, e, 1);
    tg_tar(&h, &hl, hidden, 1);
    t = realloc(t, tl + hl);
    cr_assert_not_null(t);
    memcpy(t + tl, h, hl);
    tu_write(p, t, tl + hl);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_not_null(tar_finding(a, "tar-data-after-end"));
    cr_assert_eq(tar_finding(a, "tar-data-after-end")->severity, SIGN_SEVERITY_DANGER);
    sign_artifact_free(a);
    /* Zero padding to a record (GNU tar's 10 KiB blocking) is not data. */
    memset(t + tl, 0, hl);
    tu_write(p, t, tl + hl);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_finding_count(a), 0);
    sign_artifact_free(a);
    free(t);
    free(h);
    free(p);
}

static void tar_gzip_case(const char *name, void (*mangle)(unsigned char **z, size_t *zl), const char *id,
                          int want_sev)
{
    unsigned char *t, *z;
    size_t tl, zl;
    char *p = tu_path(tar_dir, name);
    sign_artifact *a = NULL;
    const sign_finding *f;

    tg_tar(&t, &tl, tar_clean, sizeof(tar_clean) / sizeof(tar_clean[0]));
    tg_gzip(&z, &zl, t, tl);
    mangle(&z, &zl);
    tu_write(p, z, zl);
    cr_assert_eq(sign_artifact_scan(&a, p, NULL, NULL), 0, "%s: %s", name, sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_LAYER);
    f = tar_finding(a, id);
    if (want_sev < 0) {
        cr_assert_eq(tar_danger_count(a), 0, "%s: first %s", name,
                     sign_artifact_finding_count(a) ? sign_artifact_finding(a, 0)->id : "-");
    } else {
        cr_assert_not_null(f, "%s: %s expected", name, id);
        cr_assert_eq((int)f->severity, want_sev, "%s", name);
    }
    sign_artifact_free(a);
    free(t);
    free(z);
    free(p);
}

static void mangle_crc(unsigned char **z, size_t *zl)
{
    (*z)[*zl - 8] ^= 0x01;
}

static void mangle_isize(unsigned char **z, size_t *zl)
{
    (*z)[*zl - 4] ^= 0x01;
}

static void mangle_garbage(unsigned char **z, size_t *zl)
{
    *z = realloc(*z, *zl + 7);
    cr_assert_not_null(*z);
    memcpy(*z + *zl, "garbage", 7);
    *zl += 7;
}

static void mangle_zeros(unsigned char **z, size_t *zl)
{
    *z = realloc(*z, *zl + 100);
    cr_assert_not_null(*z);
    memset(*z + *zl, 0, 100);
    *zl += 100;
}

static void mangle_second_member(unsigned char **z, size_t *zl)
{
    unsigned char *m;
    size_t ml;

    /* Another member holding zeros: the tar's end padding, in a member of its own (pigz, concatenation). */
    static const unsigned char zero[512];
    tg_gzip(&m, &ml, zero, sizeof(zero));
    *z = realloc(*z, *zl + ml);
    cr_assert_not_null(*z);
    memcpy(*z + *zl, m, ml);
    *zl += ml;
    free(m);
}

static void mangle_nothing(unsigned char **z, size_t *zl)
{
    (void)z;
    (void)zl;
}

Test(tar, differential_gzip_trailer_and_trailing_bytes, .init = tar_setup, .fini = tar_teardown)
{
    tar_gzip_case("plain.tar.gz", mangle_nothing, "-", -1);
    tar_gzip_case("two-members.tar.gz", mangle_second_member, "-", -1);
    tar_gzip_case("crc.tar.gz", mangle_crc, "tar-gzip-checksum", SIGN_SEVERITY_DANGER);
    tar_gzip_case("isize.tar.gz", mangle_isize, "tar-gzip-checksum", SIGN_SEVERITY_DANGER);
    tar_gzip_case("garbage.tar.gz", mangle_garbage, "tar-gzip-trailing-data", SIGN_SEVERITY_DANGER);
    tar_gzip_case("zeros.tar.gz", mangle_zeros, "tar-gzip-trailing-data", SIGN_SEVERITY_WARNING);
}
