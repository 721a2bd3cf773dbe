/*
 * signet deploy (docs/deploy.md): the roundtrip, the one read of the
 * artifact, hostile archives (nothing outside --to, nothing unsigned, the old
 * release stays active), crash safety at every phase, a full disk, rollback
 * and pruning. Library calls where the reason code matters, the CLI where
 * a process must be killed or paused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deploy_int.h"
#include "sign/sign.h"
#include "targen.h"
#include "testutil.h"
#include "zipgen.h"

static char *dt_dir;
static sign_policy *dt_pol;

static char *dt_p(const char *name)
{
    return tu_path(dt_dir, name);
}

static void dt_setup(void)
{
    char *key;

    dt_dir = tu_mkdtemp();
    key = dt_p("k");
    {
        const char *argv[] = {"signet", "keygen", "--no-passphrase", "-o", key, NULL};

        cr_assert_eq(tu_run(NULL, NULL, NULL, argv), 0);
    }
    free(key);
    {
        char *pol = dt_p("policy.json"), *pub = dt_p("k.pub"), buf[4096];

        snprintf(buf, sizeof(buf), "{\"version\":1,\"keys\":[{\"name\":\"k\",\"public_key\":\"%s\"}]}", pub);
        tu_write_str(pol, buf);
        cr_assert_eq(sign_policy_load(&dt_pol, pol, NULL), 0, "%s", sign_error_last());
        free(pol);
        free(pub);
    }
}

static void dt_teardown(void)
{
    sign_policy_free(dt_pol);
    dt_pol = NULL;
    tu_rmtree(dt_dir);
    free(dt_dir);
}

TestSuite(deploy, .init = dt_setup, .fini = dt_teardown, .timeout = 120);

/* signet sign the artifact dir/name (with --allow for each finding in allow, NULL-terminated; version or NULL). */
static int dt_sign(const char *name, const char *const *allow, const char *version)
{
    const char *argv[32];
    char *art = dt_p(name), *key = dt_p("k.key"), *err = NULL;
    size_t n = 0;
    int rc;

    argv[n++] = "signet";
    argv[n++] = "sign";
    argv[n++] = "--force";
    argv[n++] = "-k";
    argv[n++] = key;
    for (size_t i = 0; allow != NULL && allow[i] != NULL && n < 24; i++) {
        argv[n++] = "--allow";
        argv[n++] = allow[i];
    }
    if (version != NULL) {
        argv[n++] = "--version";
        argv[n++] = version;
    }
    argv[n++] = art;
    argv[n] = NULL;
    rc = tu_run(NULL, &err, NULL, argv);
    cr_log_info("sign %s: %d %s", name, rc, err != NULL ? err : "");
    free(err);
    free(art);
    free(key);
    return rc;
}

static void dt_zip(const char *name, const zg_entry *e, size_t n, const zg_opts *o)
{
    char *p = dt_p(name);

    zg_write(p, e, n, o);
    free(p);
}

/* A good zip named name whose a.txt holds text. */
static void dt_good_zip(const char *name, const char *text, const char *version)
{
    zg_entry e[] = {
        {.name = "a.txt", .data = text, .len = strlen(text), .unix_mode = 0100644},
        {.name = "bin/", .unix_mode = 040755},
        {.name = "bin/run.sh", .data = "#!/bin/sh\necho hi\n", .len = 18, .unix_mode = 0100755, .deflate = 1},
        {.name = "link", .data = "a.txt", .len = 5, .unix_mode = 0120777},
        {.name = "lib/x.txt", .data = "x", .len = 1, .unix_mode = 0100644}, /* its directory is not listed */
    };

    dt_zip(name, e, sizeof(e) / sizeof(e[0]), NULL);
    cr_assert_eq(dt_sign(name, NULL, version), 0);
}

static int dt_deploy_flags(sign_deploy_result **res, const char *name, unsigned int flags, unsigned int keep)
{
    sign_deploy_options o = SIGN_DEPLOY_OPTIONS_INIT;
    char *art = name != NULL ? dt_p(name) : NULL, *to = dt_p("out");
    int r;

    o.artifact = art;
    o.to = to;
    o.flags = flags;
    o.keep = keep;
    r = sign_deploy(res, dt_pol, &o);
    free(art);
    free(to);
    return r;
}

static int dt_deploy(sign_deploy_result **res, const char *name)
{
    return dt_deploy_flags(res, name, 0, 0);
}

/* The reason of the decisive failed check of a deploy, or "" when it passed. */
static const char *dt_reason(const sign_deploy_result *res)
{
    const sign_verify_result *v = sign_deploy_result_verify(res);

    for (size_t i = 0; v != NULL && i < sign_verify_result_check_count(v); i++) {
        const sign_check *c = sign_verify_result_check(v, i);

        if (c->status == SIGN_CHECK_FAIL) {
            return c->reason;
        }
    }
    return "";
}

/*
 * Every message of a failed deploy names what the user gave: never the private copy (/proc/self/fd/N) it
 * verified. The error and each failed check's message name the artifact when they name a file at all.
 */
static void dt_assert_names_the_artifact(const sign_deploy_result *res, const char *name)
{
    const sign_verify_result *v = sign_deploy_result_verify(res);
    const char *e = sign_error_last();
    int named = strstr(e, name) != NULL;

    cr_assert_null(strstr(e, "/proc/self/fd"), "the error names the private copy: %s", e);
    for (size_t i = 0; v != NULL && i < sign_verify_result_check_count(v); i++) {
        const sign_check *c = sign_verify_result_check(v, i);

        if (c->status != SIGN_CHECK_FAIL) {
            continue;
        }
        cr_assert(c->message == NULL || strstr(c->message, "/proc/self/fd") == NULL,
                  "check %s names the private copy: %s", c->check, c->message);
        cr_assert(c->artifact == NULL || strstr(c->artifact, "/proc/self/fd") == NULL,
                  "check %s names the private copy as its artifact: %s", c->check, c->artifact);
        named |= c->message != NULL && strstr(c->message, name) != NULL;
    }
    cr_assert(named, "no message names the artifact %s: %s", name, e);
}

/* Where "current" points ("" when nowhere). */
static void dt_current(char *buf, size_t size)
{
    char *cur = dt_p("out/current");
    ssize_t n = readlink(cur, buf, size - 1);

    buf[n > 0 ? n : 0] = '\0';
    free(cur);
}

static char *dt_read_current(const char *rel);

/* The file current/rel holds want. */
static void dt_assert_current(const char *rel, const char *want)
{
    char *got = dt_read_current(rel);

    cr_assert_not_null(got, "no %s", rel);
    cr_assert_str_eq(got, want, "%s", rel);
    free(got);
}

static char *dt_read_current(const char *rel)
{
    char path[512];
    char *p;

    snprintf(path, sizeof(path), "out/current/%s", rel);
    p = dt_p(path);
    if (!tu_exists(p)) {
        free(p);
        return NULL;
    }
    {
        char *s = tu_read(p, NULL);

        free(p);
        return s;
    }
}

/* nftw: no file named evil* anywhere but the artifacts and their kept copies; no staging left. */
static int dt_bad;
static int dt_walk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *base = path + ftw->base;

    (void)st;
    (void)type;
    if ((strncmp(base, "evil", 4) == 0 && strstr(base, ".zip") == NULL && strstr(base, ".tar") == NULL) ||
        strncmp(base, ".staging-", 9) == 0 || strncmp(base, ".current-", 9) == 0 ||
        strncmp(base, ".artifact-", 10) == 0) {
        cr_log_error("left behind: %s", path);
        dt_bad++;
    }
    return 0;
}

static void dt_assert_clean(void)
{
    dt_bad = 0;
    cr_assert_eq(nftw(dt_dir, dt_walk, 16, FTW_PHYS), 0);
    cr_assert_eq(dt_bad, 0, "files outside the release or leftovers");
    cr_assert_not(tu_exists("/tmp/evil-signet-deploy"), "an absolute path was written");
}

Test(deploy, zip_roundtrip_switches_current_and_writes_exactly_the_entries)
{
    sign_deploy_result *res = NULL;
    char cur[256], *s, *js = NULL;
    struct stat st;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    cr_assert_null(sign_deploy_result_release(res, 0));
    cr_assert_not_null(sign_deploy_result_release(res, 1));
    dt_current(cur, sizeof(cur));
    cr_assert_eq(strncmp(cur, "releases/", 9), 0, "%s", cur);
    cr_assert_str_eq(cur + 9, sign_deploy_result_release(res, 1));
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "one\n");
    free(s);
    s = dt_read_current("bin/run.sh");
    cr_assert_str_eq(s, "#!/bin/sh\necho hi\n");
    free(s);
    {
        char *p = dt_p("out/current/bin/run.sh"), *l = dt_p("out/current/link"), t[64];
        ssize_t n;

        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(st.st_mode & 07777, 0755);
        free(p);
        /* A directory the zip does not list is usable: 0755 less the umask, not the 0700 of a staging dir. */
        p = dt_p("out/current/lib");
        {
            mode_t um = umask(022);

            umask(um);
            cr_assert_eq(stat(p, &st), 0);
            cr_assert_eq(st.st_mode & 07777, 0755 & ~um, "mode %o", st.st_mode & 07777);
        }
        n = readlink(l, t, sizeof(t) - 1);
        cr_assert_eq(n, 5);
        t[n] = '\0';
        cr_assert_str_eq(t, "a.txt");
        free(p);
        free(l);
    }
    cr_assert_eq(sign_deploy_result_json(&js, res), 0);
    cr_assert_not_null(strstr(js, "\"deploy\":{"), "%s", js);
    cr_assert_not_null(strstr(js, "\"verdict\":\"verified\""), "%s", js);
    free(js);
    sign_deploy_result_free(res);
    dt_assert_clean();
}

Test(deploy, unsigned_or_changed_artifact_is_refused_and_the_old_release_stays)
{
    sign_deploy_result *res = NULL;
    char before[256], after[256], *s;
    int r;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_current(before, sizeof(before));
    /* Changed after signing: the bundle signs other bytes. */
    {
        zg_entry e[] = {{.name = "a.txt", .data = "two\n", .len = 4, .unix_mode = 0100644}};
        char *b1 = dt_p("app.zip.sigstore.json"), *b2 = dt_p("app2.zip.sigstore.json");

        dt_zip("app2.zip", e, 1, NULL);
        cr_assert_eq(rename(b1, b2), 0);
        res = NULL;
        r = dt_deploy(&res, "app2.zip");
        cr_assert(r == SIGN_EDIGEST || r == SIGN_EVERIFY, "%d %s", r, sign_error_last());
        cr_assert_not_null(res);
        dt_assert_names_the_artifact(res, "app2.zip");
        sign_deploy_result_free(res);
        /* No bundle at all. */
        cr_assert_eq(unlink(b2), 0);
        res = NULL;
        cr_assert_neq(dt_deploy(&res, "app2.zip"), 0);
        dt_assert_names_the_artifact(res, "app2.zip");
        sign_deploy_result_free(res);
        free(b1);
        free(b2);
    }
    dt_current(after, sizeof(after));
    cr_assert_str_eq(before, after);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "one\n");
    free(s);
    dt_assert_clean();
}

/*
 * The copy deploy verifies is private (/proc/self/fd/N): a copy that verify cannot read as what was signed
 * (a zip whose central directory is broken) is named in every message as the artifact the caller gave.
 */
Test(deploy, unreadable_copy_is_named_as_the_artifact_given)
{
    sign_deploy_result *res = NULL;
    char *zip = dt_p("app.zip"), *bad = dt_p("bad.zip"), *b1 = dt_p("app.zip.sigstore.json"),
         *b2 = dt_p("bad.zip.sigstore.json"), *data, *cd;
    size_t len = 0;
    int r;

    dt_good_zip("app.zip", "one\n", NULL);
    data = tu_read(zip, &len);
    cr_assert_not_null(cd = memmem(data, len, "PK\x01\x02", 4), "no central directory");
    cd[3] = 0x7f; /* the first central directory header's signature: the zip cannot be read */
    tu_write(bad, data, len);
    cr_assert_eq(link(b1, b2), 0);
    r = dt_deploy(&res, "bad.zip");
    cr_assert_neq(r, 0, "a broken zip was deployed");
    cr_assert_not_null(res);
    dt_assert_names_the_artifact(res, "bad.zip");
    sign_deploy_result_free(res);
    free(data);
    free(zip);
    free(bad);
    free(b1);
    free(b2);
    dt_assert_clean();
}

/* Deploy a good release, then the hostile zip signed with its findings allowed: refused for the right reason. */
static void dt_hostile_zip(const zg_entry *e, size_t n, const zg_opts *o, const char *const *allow,
                           const char *reason)
{
    sign_deploy_result *res = NULL;
    char before[256], after[256], *s;
    int r;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_current(before, sizeof(before));
    dt_zip("evil.zip", e, n, o);
    if (dt_sign("evil.zip", allow, NULL) != 0) {
        cr_log_info(
            "the signer refused it outright (then deploy must refuse the unsigned archive)"); /* warn makes criterion
                                                                                                 exit 1 */
    }
    res = NULL;
    r = dt_deploy(&res, "evil.zip");
    cr_assert_neq(r, 0, "a hostile archive was deployed");
    if (reason != NULL) {
        cr_assert_str_eq(dt_reason(res), reason, "%s", sign_error_last());
    }
    sign_deploy_result_free(res);
    dt_current(after, sizeof(after));
    cr_assert_str_eq(before, after, "the old release stays active");
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "one\n");
    free(s);
    dt_assert_clean();
}

#define EVIL "EVIL"
#define Z(nm) .name = nm, .data = EVIL, .len = 4, .unix_mode = 0100644

Test(deploy, zip_path_traversal_is_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("../evil-up")}};
    const char *allow[] = {"zip-path-traversal", NULL};

    dt_hostile_zip(e, 2, NULL, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, zip_absolute_path_is_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("/tmp/evil-signet-deploy")}};
    const char *allow[] = {"zip-absolute-path", NULL};

    dt_hostile_zip(e, 2, NULL, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, zip_backslash_and_drive_names_are_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("..\\evil-bs")}, {Z("C:evil-drive")}};
    const char *allow[] = {"zip-backslash-path", "zip-path-traversal", "zip-drive-letter-path", NULL};

    dt_hostile_zip(e, 3, NULL, allow, NULL);
}

Test(deploy, zip_symlink_escape_and_write_through_it_are_refused)
{
    zg_entry e[] = {
        {.name = "evil-link", .data = "/tmp", .len = 4, .unix_mode = 0120777},
        {Z("evil-link/evil-signet-deploy")},
    };
    const char *allow[] = {"zip-symlink-escape", "zip-path-through-symlink", NULL};

    dt_hostile_zip(e, 2, NULL, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, zip_relative_symlink_then_write_through_it_is_refused)
{
    zg_entry e[] = {
        {.name = "d", .data = "..", .len = 2, .unix_mode = 0120777},
        {Z("d/evil-through")},
    };
    const char *allow[] = {"zip-symlink-escape", "zip-path-through-symlink", NULL};

    dt_hostile_zip(e, 2, NULL, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, zip_duplicate_names_are_refused)
{
    zg_entry e[] = {{Z("evil-dup")}, {.name = "evil-dup", .data = "GOOD", .len = 4, .unix_mode = 0100644}};
    const char *allow[] = {"zip-duplicate-name", "zip-duplicate-path", NULL};

    dt_hostile_zip(e, 2, NULL, allow, NULL);
}

Test(deploy, zip_local_and_central_names_that_differ_are_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("evil-cd"), .local_name = "evil-local"}};
    const char *allow[] = {"zip-header-mismatch", "zip-view-mismatch", NULL};

    dt_hostile_zip(e, 2, NULL, allow, NULL);
}

Test(deploy, zip_data_before_entries_and_hidden_entries_are_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("evil-hidden"), .omit_from_cd = 1}};
    zg_opts o = {.prefix = "#!/bin/sh\nexit 0\n", .prefix_len = 17};
    const char *allow[] = {"zip-data-before-entries", "zip-hidden-entry", "zip-unreferenced-data", NULL};

    dt_hostile_zip(e, 2, &o, allow, "DEPLOY_ARCHIVE_FINDING");
}

Test(deploy, zip_device_node_is_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {.name = "evil-fifo", .data = EVIL, .len = 4, .unix_mode = 010644}};
    const char *allow[] = {"zip-special-file", NULL};

    dt_hostile_zip(e, 2, NULL, allow, NULL);
}

Test(deploy, zip_crc_mismatch_is_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("evil-crc"), .crc_xor = 1}};
    const char *allow[] = {"zip-crc-mismatch", NULL};

    dt_hostile_zip(e, 2, NULL, allow, NULL);
}

Test(deploy, setuid_and_world_writable_bits_are_cleared_unless_preserved)
{
    zg_entry e[] = {{.name = "su", .data = "x", .len = 1, .unix_mode = 0104777}};
    const char *allow[] = {"zip-setuid", NULL};
    sign_deploy_result *res = NULL;
    struct stat st;
    char *p;

    dt_zip("su.zip", e, 1, NULL);
    cr_assert_eq(dt_sign("su.zip", allow, NULL), 0);
    cr_assert_eq(dt_deploy(&res, "su.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    p = dt_p("out/current/su");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0775, "mode %o", st.st_mode & 07777);
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, "su.zip", SIGN_DEPLOY_PRESERVE_MODES, 0), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 04777, "mode %o", st.st_mode & 07777);
    free(p);
}

/* ---- tar layers ------------------------------------------------------------------ */

static void dt_tar(const char *name, const tg_entry *e, size_t n, const char *compress)
{
    char *p = dt_p(name);

    tg_write(p, e, n, compress);
    free(p);
}

Test(deploy, tar_layer_roundtrip_gzip_and_zstd)
{
    static const char *const kinds[] = {NULL, "gzip", "zstd"};
    tg_entry e[] = {
        {.name = "./", .type = '5', .mode = 0755}, /* tar -C dir . */
        {.name = "etc/", .type = '5', .mode = 0755},
        {.name = "etc/app.conf", .data = "conf\n", .len = 5},
        {.name = "etc/app.link", .type = '2', .link = "/etc/app.conf"},
        {.name = "etc/hard", .type = '1', .link = "etc/app.conf"},
    };

    for (size_t k = 0; k < 3; k++) {
        sign_deploy_result *res = NULL;
        char name[32], *s;

        snprintf(name, sizeof(name), "layer%zu.tar", k);
        dt_tar(name, e, 5, kinds[k]);
        cr_assert_eq(dt_sign(name, NULL, NULL), 0);
        cr_assert_eq(dt_deploy(&res, name), 0, "%s: %s", name, sign_error_last());
        sign_deploy_result_free(res);
        s = dt_read_current("etc/hard");
        cr_assert_str_eq(s, "conf\n");
        free(s);
    }
    dt_assert_clean();
}

static void dt_hostile_tar(const tg_entry *e, size_t n, const char *const *allow, const char *reason)
{
    sign_deploy_result *res = NULL;
    char before[256], after[256];

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_current(before, sizeof(before));
    dt_tar("evil.tar", e, n, "gzip");
    if (dt_sign("evil.tar", allow, NULL) != 0) {
        cr_log_info(
            "the signer refused it outright (then deploy must refuse the unsigned archive)"); /* warn makes criterion
                                                                                                 exit 1 */
    }
    res = NULL;
    cr_assert_neq(dt_deploy(&res, "evil.tar"), 0, "a hostile layer was deployed");
    if (reason != NULL) {
        cr_assert_str_eq(dt_reason(res), reason, "%s", sign_error_last());
    }
    sign_deploy_result_free(res);
    dt_current(after, sizeof(after));
    cr_assert_str_eq(before, after);
    dt_assert_clean();
}

Test(deploy, tar_traversal_is_refused)
{
    tg_entry e[] = {{.name = "ok", .data = "ok", .len = 2}, {.name = "../evil-tar", .data = EVIL, .len = 4}};
    const char *allow[] = {"tar-path-traversal", NULL};

    dt_hostile_tar(e, 2, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, tar_write_through_symlink_is_refused)
{
    tg_entry e[] = {
        {.name = "evil-l", .type = '2', .link = "/tmp"},
        {.name = "evil-l/evil-signet-deploy", .data = EVIL, .len = 4},
    };
    const char *allow[] = {"tar-path-through-symlink", "tar-symlink-escape", NULL};

    dt_hostile_tar(e, 2, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, tar_hardlink_outside_is_refused)
{
    tg_entry e[] = {{.name = "evil-h", .type = '1', .link = "../../../../etc/passwd"}};
    const char *allow[] = {"tar-hardlink-escape", NULL};

    dt_hostile_tar(e, 1, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, tar_device_node_is_refused)
{
    tg_entry e[] = {{.name = "evil-dev", .type = '3'}};
    const char *allow[] = {"tar-device", "tar-device-node", NULL};

    dt_hostile_tar(e, 1, allow, NULL);
}

Test(deploy, tar_pax_and_ustar_names_that_differ_are_refused)
{
    tg_entry e[] = {{.name = "evil-ustar", .pax_path = "evil-pax", .data = EVIL, .len = 4}};
    const char *allow[] = {"tar-name-mismatch", NULL};

    dt_hostile_tar(e, 1, allow, NULL);
}

/*
 * A '\\' in a tar name is an ordinary byte (POSIX names; umoci and docker write such files as named on Linux):
 * the entry lands as one file of that name inside the release, nothing beside or outside it.
 */
Test(deploy, tar_backslash_is_an_ordinary_byte_of_a_posix_name)
{
    tg_entry e[] = {
        {.name = "dir\\file", .data = "one", .len = 3},
        {.name = "a\\..\\..\\up", .data = "two", .len = 3},
    };
    sign_deploy_result *res = NULL;
    char *up = dt_p("up"), *outup = dt_p("out/up");

    dt_tar("bs.tar", e, 2, NULL);
    cr_assert_eq(dt_sign("bs.tar", NULL, NULL), 0);
    cr_assert_eq(dt_deploy(&res, "bs.tar"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_assert_current("dir\\file", "one");
    dt_assert_current("a\\..\\..\\up", "two");
    cr_assert_null(dt_read_current("dir/file"));
    cr_assert_not(tu_exists(up), "a backslash was read as a separator");
    cr_assert_not(tu_exists(outup), "a backslash was read as a separator");
    free(up);
    free(outup);
    dt_assert_clean();
}

/* ---- the one read ------------------------------------------------------------------ */

/*
 * sign_deploy of name in a child process with the test hooks set (deploy_int.h): crash phase and pause FIFO,
 * each NULL for none. Returns the child's wait status.
 */
static pid_t dt_spawn(const char *name, const char *crash, const char *fifo)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        sign_deploy_result *res = NULL;
        int r;

        dpl_test_hooks(crash, fifo);
        r = dt_deploy(&res, name);
        sign_deploy_result_free(res);
        _exit(r == 0 ? 0 : 1);
    }
    return pid;
}

static int dt_wait(pid_t pid)
{
    int st = 0;

    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

Test(deploy, artifact_rewritten_after_the_copy_cannot_change_what_lands)
{
    char *fifo = dt_p("pause"), buf[16], *s;
    pid_t pid;
    int fd, st;

    dt_good_zip("app.zip", "signed\n", NULL);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid = dt_spawn("app.zip", NULL, fifo);
    /* The deploy has hashed its copy: replace the artifact with other (unsigned) bytes. */
    fd = open(fifo, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_gt(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    {
        zg_entry e[] = {{.name = "a.txt", .data = "EVIL\n", .len = 5, .unix_mode = 0100644}};

        dt_zip("app.zip", e, 1, NULL);
    }
    fd = open(fifo, O_WRONLY);
    cr_assert_geq(fd, 0);
    close(fd);
    st = dt_wait(pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "deploy of the copy failed: %d", st);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "signed\n", "what landed is the bytes hashed and verified");
    free(s);
    free(fifo);
}

/* ---- crash safety -------------------------------------------------------------------- */

static int dt_cli_deploy(const char *name)
{
    char *to = dt_p("out"), *pol = dt_p("policy.json"), *art = dt_p(name);
    const char *argv[] = {"signet", "deploy", "-p", pol, "--to", to, art, NULL};
    int rc;

    rc = tu_run(NULL, NULL, NULL, argv);
    free(to);
    free(pol);
    free(art);
    return rc;
}

Test(deploy, killed_at_every_phase_leaves_the_old_or_the_new_release_whole)
{
    static const char *const phases[] = {"copied", "verified", "extracting", "extracted",
                                         "staged", "linked",   "switched"};

    dt_good_zip("v1.zip", "v1\n", NULL);
    dt_good_zip("v2.zip", "v2\n", NULL);
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        char *s;
        int st;

        cr_assert_eq(dt_cli_deploy("v1.zip"), 0, "v1");
        st = dt_wait(dt_spawn("v2.zip", phases[i], NULL));
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: the deploy was killed (%d)", phases[i], st);
        s = dt_read_current("a.txt");
        cr_assert_not_null(s, "%s: current is whole", phases[i]);
        /* Killed after the switch, the new release is complete and active; before it, the old one is. */
        cr_assert_str_eq(s, strcmp(phases[i], "switched") == 0 ? "v2\n" : "v1\n", "%s", phases[i]);
        free(s);
        s = dt_read_current("bin/run.sh");
        cr_assert_str_eq(s, "#!/bin/sh\necho hi\n", "%s: the active release is complete", phases[i]);
        free(s);
        /* The next deploy clears what the killed one left. */
        cr_assert_eq(dt_cli_deploy("v2.zip"), 0, "%s: redeploy", phases[i]);
        s = dt_read_current("a.txt");
        cr_assert_str_eq(s, "v2\n");
        free(s);
        dt_assert_clean();
    }
}

Test(deploy, full_disk_keeps_the_old_release_and_names_the_target)
{
    char *to = dt_p("out"), *pol = dt_p("policy.json"), *art = dt_p("big.zip"), *err = NULL, *s;
    const char *argv[] = {"signet", "deploy", "-p", pol, "--to", to, art, NULL};
    tu_fault f = {.fsize = 256 * 1024, .ignore_xfsz = 1, .kill_after_us = -1};
    zg_entry e[] = {{.name = "a.txt", .zeros = 4u << 20, .deflate = 1, .unix_mode = 0100644}};
    int rc;

    dt_good_zip("v1.zip", "v1\n", NULL);
    cr_assert_eq(dt_cli_deploy("v1.zip"), 0);
    dt_zip("big.zip", e, 1, NULL);
    cr_assert_eq(dt_sign("big.zip", NULL, NULL), 0);
    /* RLIMIT_FSIZE stands for a full disk: a write past it fails with EFBIG, as ENOSPC would. */
    rc = tu_run_fault(&err, NULL, argv, &f);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert_not_null(strstr(err, to), "the error names the target: %s", err);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "v1\n");
    free(s);
    dt_assert_clean();
    free(err);
    free(to);
    free(pol);
    free(art);
}

/* ---- rollback, downgrade, keep ------------------------------------------------------------ */

Test(deploy, rollback_switches_to_the_previous_release_reverified_and_downgrade_needs_allowing)
{
    sign_deploy_result *res = NULL;
    char *s;

    /* One name, two versions: the track of downgrade protection is the artifact's name. */
    dt_good_zip("app.zip", "v1\n", "1.0.0");
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_good_zip("app.zip", "v2\n", "2.0.0");
    res = NULL;
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    /* Back to 1.0.0 after 2.0.0 was deployed: a downgrade, refused unless allowed. */
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, NULL, SIGN_DEPLOY_ROLLBACK, 0), SIGN_EPOLICY, "%s", sign_error_last());
    cr_assert_str_eq(dt_reason(res), "DOWNGRADE");
    sign_deploy_result_free(res);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "v2\n");
    free(s);
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, NULL, SIGN_DEPLOY_ROLLBACK | SIGN_DEPLOY_ALLOW_DOWNGRADE, 0), 0, "%s",
                 sign_error_last());
    cr_assert_not_null(sign_deploy_result_sha256(res, 0));
    cr_assert_str_neq(sign_deploy_result_sha256(res, 0), sign_deploy_result_sha256(res, 1));
    sign_deploy_result_free(res);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "v1\n");
    free(s);
    /* A kept release whose files were changed on disk is re-extracted from its verified copy. */
    {
        char *p = dt_p("out/current/a.txt");

        tu_write_str(p, "tampered\n");
        free(p);
    }
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, "app.zip", 0, 0), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, NULL, SIGN_DEPLOY_ROLLBACK | SIGN_DEPLOY_ALLOW_DOWNGRADE, 0), 0, "%s",
                 sign_error_last());
    sign_deploy_result_free(res);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "v1\n");
    free(s);
}

Test(deploy, rollback_with_a_changed_kept_artifact_is_refused)
{
    sign_deploy_result *res = NULL;
    char *s;

    dt_good_zip("app-1.zip", "v1\n", NULL);
    dt_good_zip("app-2.zip", "v2\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app-1.zip"), 0, "%s", sign_error_last());
    {
        char rel[128], *p;

        snprintf(rel, sizeof(rel), "out/releases/%s.artifact", sign_deploy_result_release(res, 1));
        p = dt_p(rel);
        sign_deploy_result_free(res);
        res = NULL;
        cr_assert_eq(dt_deploy(&res, "app-2.zip"), 0, "%s", sign_error_last());
        sign_deploy_result_free(res);
        tu_write_str(p, "PK not the signed bytes");
        free(p);
    }
    res = NULL;
    cr_assert_neq(dt_deploy_flags(&res, NULL, SIGN_DEPLOY_ROLLBACK, 0), 0);
    sign_deploy_result_free(res);
    s = dt_read_current("a.txt");
    cr_assert_str_eq(s, "v2\n");
    free(s);
}

Test(deploy, keep_prunes_older_releases_but_never_the_active_one)
{
    char name[32], text[8];
    size_t dirs = 0;

    for (int i = 1; i <= 4; i++) {
        sign_deploy_result *res = NULL;

        snprintf(name, sizeof(name), "r%d.zip", i);
        snprintf(text, sizeof(text), "r%d\n", i);
        dt_good_zip(name, text, NULL);
        cr_assert_eq(dt_deploy_flags(&res, name, 0, 2), 0, "%s", sign_error_last());
        sign_deploy_result_free(res);
    }
    {
        char *p = dt_p("out/releases");
        DIR *d = opendir(p);
        struct dirent *de;

        cr_assert_not_null(d);
        while ((de = readdir(d)) != NULL) {
            dirs += de->d_name[0] != '.' && strchr(de->d_name, '.') == NULL;
        }
        closedir(d);
        free(p);
    }
    cr_assert_eq(dirs, 2, "%zu releases kept", dirs);
    {
        char *s = dt_read_current("a.txt");

        cr_assert_str_eq(s, "r4\n");
        free(s);
    }
}

/* ---- the CLI ------------------------------------------------------------------------- */

Test(deploy, cli_json_and_exit_codes_are_verify_s)
{
    char *to = dt_p("out"), *pol = dt_p("policy.json"), *art = dt_p("app.zip"), *ev = dt_p("events.log");
    char *out = NULL, *log;
    const char *argv[] = {"signet", "deploy", "--json", "-p", pol, "--to", to, "--event-log", ev, art, NULL};
    const char *noart[] = {"signet", "deploy", "-p", pol, "--to", to, NULL};

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(tu_run(&out, NULL, NULL, argv), 0, "%s", out);
    cr_assert_not_null(strstr(out, "\"verdict\":\"verified\""), "%s", out);
    cr_assert_not_null(strstr(out, "\"deploy\":{"), "%s", out);
    free(out);
    log = tu_read(ev, NULL);
    cr_assert_not_null(strstr(log, "\"event\":\"signet.deploy\""), "%s", log);
    cr_assert_not_null(strstr(log, "\"decision\":\"deployed\""), "%s", log);
    free(log);
    cr_assert_eq(tu_run(NULL, NULL, NULL, noart), 2);
    /* Changed after signing: the exit code and verdict of verify. */
    {
        zg_entry e[] = {{.name = "a.txt", .data = "two\n", .len = 4, .unix_mode = 0100644}};
        const char *vargv[] = {"signet", "verify", "-p", pol, art, NULL};
        int vrc;

        dt_zip("app.zip", e, 1, NULL);
        vrc = tu_run(NULL, NULL, NULL, vargv);
        cr_assert_eq(vrc, 1);
        out = NULL;
        cr_assert_eq(tu_run(&out, NULL, NULL, argv), vrc, "%s", out);
        cr_assert_not_null(strstr(out, "\"verdict\":\"not_verified\""), "%s", out);
        cr_assert_not_null(strstr(out, "DIGEST_MISMATCH"), "%s", out);
        free(out);
    }
    free(to);
    free(pol);
    free(art);
    free(ev);
}

Test(deploy, warn_mode_lets_verify_through_but_never_deploy)
{
    sign_deploy_result *res = NULL;
    char *pol = dt_p("policy-warn.json"), *pub = dt_p("k.pub"), buf[4096];
    sign_policy *warn = NULL;
    sign_deploy_options o = SIGN_DEPLOY_OPTIONS_INIT;
    char *art = dt_p("app.zip"), *to = dt_p("out"), *b = dt_p("app.zip.sigstore.json");

    snprintf(buf, sizeof(buf), "{\"version\":1,\"mode\":\"warn\",\"keys\":[{\"name\":\"k\",\"public_key\":\"%s\"}]}",
             pub);
    tu_write_str(pol, buf);
    cr_assert_eq(sign_policy_load(&warn, pol, NULL), 0, "%s", sign_error_last());
    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(unlink(b), 0); /* unsigned: verify in warn mode lets it through */
    o.artifact = art;
    o.to = to;
    cr_assert_eq(sign_deploy(&res, warn, &o), SIGN_EVERIFY, "%s", sign_error_last());
    cr_assert_str_eq(dt_reason(res), "DEPLOY_NOT_VERIFIED");
    sign_deploy_result_free(res);
    cr_assert_null(dt_read_current("a.txt"), "nothing is current");
    sign_policy_free(warn);
    free(pol);
    free(pub);
    free(art);
    free(to);
    free(b);
}

/* ---- images: OCI layouts and docker save archives -------------------------------------- */

/* A shell command in dir (NULL: the test's directory); its stdout into *out when out is given. */
static int dt_sh(char **out, const char *dir, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int dt_sh(char **out, const char *dir, const char *fmt, ...)
{
    char script[8192], *o = NULL, *e = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(script, sizeof(script), fmt, ap);
    va_end(ap);
    rc = tu_sh(&o, &e, dir != NULL ? dir : dt_dir, "%s", script);
    if (rc != 0) {
        cr_log_info("sh: %s: %s", script, e != NULL ? e : "");
    }
    if (out != NULL) {
        *out = o;
    } else {
        free(o);
    }
    free(e);
    return rc;
}

/* The SHA-256 of len bytes as "sha256:<hex>" into out (80 bytes). */
static void dt_digest(char *out, const void *data, size_t len)
{
    unsigned char md[32];
    size_t mdlen;
    char hex[65];

    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len), 0);
    sign_hex_encode(hex, sizeof(hex), md, 32);
    snprintf(out, 80, "sha256:%s", hex);
}

/* Store len bytes as a blob of the layout; its descriptor (mediaType, digest, size) returned. */
static json_t *dt_blob(const char *layout, const char *media_type, const void *data, size_t len)
{
    char digest[80], rel[256], *p;

    dt_digest(digest, data, len);
    snprintf(rel, sizeof(rel), "%s/blobs/sha256/%s", layout, digest + 7);
    p = dt_p(rel);
    tu_write(p, data, len);
    free(p);
    return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t)len);
}

/* Write j (taken over: released here) as layout/file. */
static void dt_put_json(const char *layout, const char *file, json_t *j)
{
    char rel[256], *p, *s = json_dumps(j, JSON_COMPACT);

    snprintf(rel, sizeof(rel), "%s/%s", layout, file);
    p = dt_p(rel);
    tu_write_str(p, s);
    free(p);
    free(s);
    json_decref(j);
}

/* An OCI layout dir/name (ref "v1") whose image has nl layers, layer i the n[i] entries of e[i] (plain tars). */
static void dt_image(const char *name, const tg_entry *const *e, const size_t *n, size_t nl)
{
    json_t *layers = json_array(), *ids = json_array(), *config, *manifest, *cdesc, *mdesc;
    char rel[256], *p, *cs, *ms;

    snprintf(rel, sizeof(rel), "%s/blobs/sha256", name);
    p = dt_p(rel);
    cr_assert_eq(dt_sh(NULL, NULL, "mkdir -p '%s'", p), 0);
    free(p);
    for (size_t i = 0; i < nl; i++) {
        unsigned char *tar = NULL;
        size_t len = 0;
        char diff[80];

        tg_tar(&tar, &len, e[i], n[i]);
        dt_digest(diff, tar, len);
        json_array_append_new(ids, json_string(diff));
        json_array_append_new(layers, dt_blob(name, "application/vnd.oci.image.layer.v1.tar", tar, len));
        free(tar);
    }
    config = json_pack("{s:s, s:s, s:{s:s, s:o}}", "architecture", "amd64", "os", "linux", "rootfs", "type", "layers",
                       "diff_ids", ids);
    cs = json_dumps(config, JSON_COMPACT);
    cdesc = dt_blob(name, "application/vnd.oci.image.config.v1+json", cs, strlen(cs));
    manifest = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                         "application/vnd.oci.image.manifest.v1+json", "config", cdesc, "layers", layers);
    ms = json_dumps(manifest, JSON_COMPACT);
    mdesc = dt_blob(name, "application/vnd.oci.image.manifest.v1+json", ms, strlen(ms));
    json_object_set_new(mdesc, "annotations", json_pack("{s:s}", "org.opencontainers.image.ref.name", "v1"));
    dt_put_json(name, "index.json", json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", mdesc));
    dt_put_json(name, "oci-layout", json_pack("{s:s}", "imageLayoutVersion", "1.0.0"));
    free(cs);
    free(ms);
    json_decref(config);
    json_decref(manifest);
}

/*
 * Compare two trees file by file (type, permission bits, content, link target), both ways; returns the number
 * of differences (logged).
 */
static int dt_tree_diff(const char *a, const char *b)
{
    char *out = NULL;
    int rc;

    /* find lists type, mode and link target; cmp then compares every regular file's bytes. */
    rc = dt_sh(
        &out, NULL,
        "set -e; cd '%s'; find . -printf '%%y %%m %%p %%l\\n' | sort > /tmp/.dt-a.$$;"
        "cd '%s'; find . -printf '%%y %%m %%p %%l\\n' | sort > /tmp/.dt-b.$$;"
        "d=0; diff /tmp/.dt-a.$$ /tmp/.dt-b.$$ || d=1; rm -f /tmp/.dt-a.$$ /tmp/.dt-b.$$;"
        "for f in $(cd '%s' && find . -type f); do cmp -s '%s'/\"$f\" '%s'/\"$f\" || { echo \"differs: $f\"; d=1; }; "
        "done; exit $d",
        a, b, a, a, b);
    if (rc != 0) {
        cr_log_error("trees %s and %s differ:\n%s", a, b, out != NULL ? out : "");
    }
    free(out);
    return rc;
}

/* umoci/skopeo are in .ci/deps (test). */
static void dt_need(const char *tool)
{
    cr_assert_eq(dt_sh(NULL, NULL, "command -v %s >/dev/null", tool), 0, "%s is missing: install it (.ci/deps test)",
                 tool);
}

Test(deploy, image_layout_and_docker_save_match_umoci_unpack_file_by_file)
{
    sign_deploy_result *res = NULL;
    char *ref, *cur;

    dt_need("umoci");
    dt_need("skopeo");
    /* Three layers: a whiteout of a file and of a directory, a file replaced, a file replaced by a directory,
       a hard link and an absolute symlink. */
    cr_assert_eq(
        dt_sh(NULL, NULL,
              "set -e; umoci init --layout img; umoci new --image img:v1;"
              "umoci unpack --rootless --image img:v1 b1 >/dev/null 2>&1;"
              "mkdir -p b1/rootfs/etc b1/rootfs/app/sub b1/rootfs/bin; printf 'hello\\n' > b1/rootfs/etc/hello;"
              "printf 'gone\\n' > b1/rootfs/app/gone; echo y > b1/rootfs/app/sub/y; printf '#!/bin/sh\\n' > "
              "b1/rootfs/bin/run; chmod 0755 b1/rootfs/bin/run; ln -s /etc/hello b1/rootfs/app/abs;"
              "ln b1/rootfs/etc/hello b1/rootfs/etc/hard; umoci repack --image img:v1 b1; rm -rf b1;"
              "umoci unpack --rootless --image img:v1 b2 >/dev/null 2>&1; rm b2/rootfs/app/gone;"
              "rm -rf b2/rootfs/app/sub; printf 'two\\n' > b2/rootfs/app/two; umoci repack --image img:v1 b2;"
              "rm -rf b2; umoci unpack --rootless --image img:v1 b3 >/dev/null 2>&1;"
              "printf 'hello again\\n' > b3/rootfs/etc/hello; rm b3/rootfs/bin/run; mkdir b3/rootfs/bin/run;"
              "umoci repack --image img:v1 b3; rm -rf b3; umoci unpack --rootless --image img:v1 ref >/dev/null 2>&1;"
              "skopeo copy oci:img:v1 docker-archive:img.tar:img:v1 >/dev/null 2>&1"),
        0);
    cr_assert_eq(dt_sign("img", NULL, NULL), 0);
    cr_assert_eq(dt_sign("img.tar", NULL, NULL), 0);
    ref = dt_p("ref/rootfs");
    cur = dt_p("out/current/");
    cr_assert_eq(dt_deploy(&res, "img"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    cr_assert_eq(dt_tree_diff(ref, cur), 0, "the OCI layout's deploy differs from umoci unpack --rootless");
    res = NULL;
    cr_assert_eq(dt_deploy(&res, "img.tar"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    cr_assert_eq(dt_tree_diff(ref, cur), 0, "the docker save archive's deploy differs from umoci unpack --rootless");
    free(ref);
    free(cur);
    dt_assert_clean();
}

Test(deploy, image_whiteouts_and_opaque_directories_apply_to_lower_layers_only)
{
    tg_entry l1[] = {
        {.name = "a/", .type = '5'},
        {.name = "a/x", .data = "x", .len = 1},
        {.name = "a/y", .data = "y", .len = 1},
        {.name = "d/", .type = '5'},
        {.name = "d/old", .data = "old", .len = 3},
        {.name = "d/keep/", .type = '5'},
        {.name = "d/keep/k", .data = "k", .len = 1},
    };
    tg_entry l2[] = {
        {.name = "a/.wh.x", .len = 0},
        {.name = "a/.wh.nothing-there", .len = 0},
        {.name = "d/new", .data = "new", .len = 3},
        {.name = "d/keep/", .type = '5', .mode = 0700},
        {.name = "d/.wh..wh..opq", .len = 0},
        {.name = "d/keep/again", .data = "again", .len = 5},
    };
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {7, 6};
    sign_deploy_result *res = NULL;
    char *s, *p;
    struct stat st;

    dt_image("img-wh", e, n, 2);
    cr_assert_eq(dt_sign("img-wh", NULL, NULL), 0);
    cr_assert_eq(dt_deploy(&res, "img-wh"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    cr_assert_null(dt_read_current("a/x"), "a whiteout left its file");
    s = dt_read_current("a/y");
    cr_assert_str_eq(s, "y");
    free(s);
    cr_assert_null(dt_read_current("d/old"), "an opaque directory kept a lower file");
    cr_assert_null(dt_read_current("d/keep/k"), "an opaque directory kept a lower file under an upper directory");
    s = dt_read_current("d/new");
    cr_assert_str_eq(s, "new", "the opaque marker removed what its own layer wrote before it");
    free(s);
    s = dt_read_current("d/keep/again");
    cr_assert_str_eq(s, "again");
    free(s);
    p = dt_p("out/current/d/keep");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "the upper layer's mode of a directory wins (%o)", st.st_mode & 0777);
    free(p);
    p = dt_p("out/current");
    cr_assert_eq(dt_sh(NULL, NULL, "test -z \"$(find -L '%s' -name '.wh.*')\"", p), 0,
                 "a whiteout marker was written");
    free(p);
    dt_assert_clean();
}

/* A good release, then the hostile image (signed with allow): refused for reason (NULL: any), old release stays. */
static void dt_hostile_image(const tg_entry *const *e, const size_t *n, size_t nl, const char *const *allow,
                             const char *reason)
{
    sign_deploy_result *res = NULL;
    char before[256], after[256];

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_current(before, sizeof(before));
    dt_image("img-evil", e, n, nl);
    if (dt_sign("img-evil", allow, NULL) != 0) {
        cr_log_info("the signer refused it outright (then deploy must refuse the unsigned image)");
    }
    res = NULL;
    cr_assert_neq(dt_deploy(&res, "img-evil"), 0, "a hostile image was deployed");
    if (reason != NULL) {
        cr_assert_str_eq(dt_reason(res), reason, "%s", sign_error_last());
    }
    sign_deploy_result_free(res);
    dt_current(after, sizeof(after));
    cr_assert_str_eq(before, after);
    dt_assert_clean();
}

Test(deploy, image_whiteout_of_dotdot_removes_nothing_outside)
{
    tg_entry l1[] = {{.name = "a/", .type = '5'}, {.name = "a/f", .data = "f", .len = 1}};
    tg_entry l2[] = {{.name = "a/.wh..."}, {.name = "a/.wh.../sentinel"}, {.name = ".wh..."}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {2, 3};
    const char *allow[] = {"tar-whiteout-invalid", "tar-path-traversal", NULL};
    char *sentinel = dt_p("sentinel");

    tu_write_str(sentinel, "still here");
    dt_hostile_image(e, n, 2, allow, NULL);
    cr_assert(tu_exists(sentinel), "a whiteout removed a file outside the release");
    free(sentinel);
}

Test(deploy, image_whiteout_through_a_symlink_is_refused)
{
    tg_entry l1[] = {
        {.name = "etc/", .type = '5'},
        {.name = "etc/keep", .data = "k", .len = 1},
        {.name = "lnk", .type = '2', .link = "/etc"},
    };
    tg_entry l2[] = {{.name = "lnk/.wh.keep"}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {3, 1};

    dt_hostile_image(e, n, 2, NULL, "DEPLOY_PATH_REFUSED");
}

Test(deploy, image_layer_replacing_a_directory_by_a_symlink_then_writing_through_it_is_refused)
{
    tg_entry l1[] = {{.name = "d/", .type = '5'}, {.name = "d/f", .data = "f", .len = 1}};
    tg_entry l2[] = {
        {.name = "d", .type = '2', .link = "/tmp"},
        {.name = "d/evil-signet-deploy", .data = EVIL, .len = 4},
    };
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {2, 2};
    const char *allow[] = {"tar-path-through-symlink", "tar-file-and-directory", NULL};

    dt_hostile_image(e, n, 2, allow, "DEPLOY_PATH_REFUSED");
}

Test(deploy, image_with_a_device_node_is_refused)
{
    tg_entry l1[] = {{.name = "ok", .data = "ok", .len = 2}, {.name = "evil-dev", .type = '3'}};
    const tg_entry *e[] = {l1};
    size_t n[] = {2};
    const char *allow[] = {"tar-device-node", NULL};

    dt_hostile_image(e, n, 1, allow, "DEPLOY_ENTRY_REFUSED");
}

Test(deploy, image_with_a_changed_layer_blob_deploys_nothing)
{
    tg_entry l1[] = {{.name = "app", .data = "good", .len = 4}};
    tg_entry l2[] = {{.name = "more", .data = "more", .len = 4}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {1, 1};
    sign_deploy_result *res = NULL;
    char before[256], after[256], *p;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_current(before, sizeof(before));
    dt_image("img-t", e, n, 2);
    cr_assert_eq(dt_sign("img-t", NULL, NULL), 0);
    /* The same bytes of layer 0 ("good" -> "evil"), its blob's name kept. */
    p = dt_p("img-t");
    cr_assert_eq(dt_sh(NULL, p,
                       "set -e; for b in blobs/sha256/*; do if grep -q good \"$b\"; then "
                       "sed -i 's/good/evil/' \"$b\"; fi; done"),
                 0);
    free(p);
    res = NULL;
    cr_assert_neq(dt_deploy(&res, "img-t"), 0, "a changed layer was deployed");
    cr_assert_str_eq(dt_reason(res), "BLOB_DIGEST_MISMATCH");
    sign_deploy_result_free(res);
    dt_current(after, sizeof(after));
    cr_assert_str_eq(before, after);
    dt_assert_clean();
}

Test(deploy, image_rollback_reverifies_the_kept_layout_copy)
{
    tg_entry a[] = {{.name = "version", .data = "one", .len = 3}};
    tg_entry b[] = {{.name = "version", .data = "two", .len = 3}};
    const tg_entry *ea[] = {a}, *eb[] = {b};
    size_t n[] = {1};
    sign_deploy_result *res = NULL;
    char *s;

    dt_image("img-one", ea, n, 1);
    dt_image("img-two", eb, n, 1);
    cr_assert_eq(dt_sign("img-one", NULL, NULL), 0);
    cr_assert_eq(dt_sign("img-two", NULL, NULL), 0);
    cr_assert_eq(dt_deploy(&res, "img-one"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    res = NULL;
    cr_assert_eq(dt_deploy(&res, "img-two"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    /* The source layout is gone: the rollback reads only the kept copy. */
    cr_assert_eq(dt_sh(NULL, NULL, "rm -rf img-one"), 0);
    res = NULL;
    cr_assert_eq(dt_deploy_flags(&res, NULL, SIGN_DEPLOY_ROLLBACK, 0), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    s = dt_read_current("version");
    cr_assert_str_eq(s, "one");
    free(s);
    dt_assert_clean();
}

/*
 * A layer of many read and inflate chunks (1 MiB each): with a budget of two threads the blob and diffID
 * digests are hashed on the second one while the walk writes (tar.c, hashq); with one, inline. Both deploy
 * the same bytes, and a refusal after several chunks keeps its reason and its message (made on whichever
 * thread walked).
 */
/* n bytes that do not compress (xorshift), seeded. */
static unsigned char *dt_noise(size_t n, uint32_t x)
{
    unsigned char *p = malloc(n);

    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

Test(deploy, tar_layer_of_many_chunks_deploys_the_same_on_one_thread_or_two)
{
    static const char *const kinds[] = {"gzip", "zstd", NULL};
    size_t big = 3u * 1024 * 1024 + 17;
    unsigned char *rnd = dt_noise(big, 2463534242u), *txt = malloc(big);
    tg_entry e[] = {
        {.name = "data/random.bin", .data = rnd, .len = big},
        {.name = "data/text.txt", .data = txt, .len = big},
        {.name = "data/small", .data = "small\n", .len = 6},
    };
    tg_entry bad[] = {{.name = "data/random.bin", .data = rnd, .len = big},
                      {.name = "data/text.txt", .data = txt, .len = big},
                      {.name = "../evil-chunks", .data = EVIL, .len = 4}};
    const char *allow[] = {"tar-path-traversal", NULL};

    cr_assert_not_null(txt);
    for (size_t i = 0; i < big; i++) {
        txt[i] = (unsigned char)("signet layer line\n"[i % 18]);
    }
    for (size_t k = 0; k < 3; k++) {
        for (unsigned int budget = 1; budget <= 2; budget++) {
            sign_deploy_result *res = NULL;
            char name[64], *got;
            size_t glen = 0;

            cr_assert_eq(sign_set_thread_budget(budget), 0);
            snprintf(name, sizeof(name), "chunks-%zu-%u.tar", k, budget);
            dt_tar(name, e, 3, kinds[k]);
            cr_assert_eq(dt_sign(name, NULL, NULL), 0);
            cr_assert_eq(dt_deploy(&res, name), 0, "%s (budget %u): %s", name, budget, sign_error_last());
            sign_deploy_result_free(res);
            {
                char *path = dt_p("out/current/data/random.bin");
                char *bytes = tu_read(path, &glen);

                cr_assert_not_null(bytes);
                cr_assert_eq(glen, big);
                cr_assert_eq(memcmp(bytes, rnd, big), 0, "%s (budget %u): random.bin differs", name, budget);
                free(bytes);
                free(path);
            }
            got = dt_read_current("data/text.txt");
            cr_assert_eq(strlen(got), big);
            cr_assert_eq(memcmp(got, txt, big), 0, "%s (budget %u): text.txt differs", name, budget);
            free(got);

            snprintf(name, sizeof(name), "evil-%zu-%u.tar", k, budget);
            dt_tar(name, bad, 3, kinds[k]);
            cr_assert_eq(dt_sign(name, allow, NULL), 0);
            res = NULL;
            cr_assert_neq(dt_deploy(&res, name), 0, "%s (budget %u) was deployed", name, budget);
            cr_assert_str_eq(dt_reason(res), "DEPLOY_PATH_REFUSED", "%s (budget %u): %s", name, budget,
                             sign_error_last());
            cr_assert_not_null(strstr(sign_error_last(), "evil-chunks"), "%s (budget %u): %s", name, budget,
                               sign_error_last());
            sign_deploy_result_free(res);
        }
    }
    cr_assert_eq(sign_set_thread_budget(0), 0);
    free(rnd);
    free(txt);
    dt_assert_clean();
}

/* ---- one walk for an OCI layout (docs/deploy.md, "Images") ------------------------------------ */

/* Bytes read by this process so far (every thread's read, pread and copy_file_range): /proc/self/io's rchar. */
static long long dt_rchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    cr_assert_not_null(f, "/proc/self/io cannot be read");
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "rchar: ", 7) == 0) {
            v = strtoll(line + 7, NULL, 10);
            break;
        }
    }
    (void)fclose(f);
    cr_assert_geq(v, 0, "no rchar in /proc/self/io");
    return v;
}

/* The names in out/releases (sorted, one per line), for comparing before and after a refused deploy. */
static char *dt_releases(void)
{
    char *out = NULL, *p = dt_p("out/releases");

    cr_assert_eq(dt_sh(&out, p, "ls -a | sort"), 0);
    free(p);
    return out;
}

/* What is live before a refused deploy: where current points, and releases/. */
typedef struct dt_live {
    char current[256];
    char *releases;
} dt_live;

static void dt_live_take(dt_live *l)
{
    dt_current(l->current, sizeof(l->current));
    l->releases = dt_releases();
}

/* Nothing live changed since l was taken, and nothing is left behind (l is freed). */
static void dt_live_unchanged(dt_live *l)
{
    dt_live now;

    dt_live_take(&now);
    cr_assert_str_eq(l->current, now.current);
    cr_assert_str_eq(l->releases, now.releases, "releases/ changed");
    free(now.releases);
    free(l->releases);
    dt_assert_clean();
}

/*
 * The copy is read once and the layers once more: the verification reads the index, manifest and config only,
 * and the extraction walk checks the layers as it writes them (before, a verification walk read every layer
 * first: three reads of the layers in all).
 */
Test(deploy, image_layers_are_read_once_after_the_copy)
{
    size_t big = 4u * 1024 * 1024;
    unsigned char *a = dt_noise(big, 2463534242u), *b = dt_noise(big, 88172645u);
    tg_entry l1[] = {{.name = "a.bin", .data = a, .len = big}};
    tg_entry l2[] = {{.name = "b.bin", .data = b, .len = big}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {1, 1};
    sign_deploy_result *res = NULL;
    long long before, read;
    char *got, *path = dt_p("out/current/b.bin");
    size_t glen = 0;

    dt_image("img-once", e, n, 2);
    cr_assert_eq(dt_sign("img-once", NULL, NULL), 0);
    before = dt_rchar();
    cr_assert_eq(dt_deploy(&res, "img-once"), 0, "%s", sign_error_last());
    read = dt_rchar() - before;
    sign_deploy_result_free(res);
    /* 2 x 8 MiB: the copy and the walk; a second walk would make it 3 x 8 MiB. */
    cr_assert_lt(read, (long long)(5 * big), "%lld bytes read for 8 MiB of layers", read);
    got = tu_read(path, &glen);
    cr_assert_eq(glen, big);
    cr_assert_eq(memcmp(got, b, big), 0);
    free(got);
    free(path);
    free(a);
    free(b);
    dt_assert_clean();
}

/*
 * What the one walk finds last still stops the deploy with the reason the verification gave when it walked
 * first, and nothing of the image is left: not live (current and releases/ unchanged) and not in a staging
 * directory, though the walk wrote the layers before the one it refused.
 */
static void dt_late_failure(const char *name, const tg_entry *const *e, const size_t *n, size_t nl,
                            const char *const *allow, const char *tamper, const char *reason)
{
    sign_deploy_result *res = NULL;
    dt_live live;
    char *p;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_live_take(&live);
    dt_image(name, e, n, nl);
    cr_assert_eq(dt_sign(name, allow, NULL), 0, "%s", sign_error_last());
    if (tamper != NULL) {
        p = dt_p(name);
        cr_assert_eq(dt_sh(NULL, p, "%s", tamper), 0);
        free(p);
    }
    res = NULL;
    cr_assert_neq(dt_deploy(&res, name), 0, "%s was deployed", name);
    cr_assert_str_eq(dt_reason(res), reason, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_live_unchanged(&live);
}

Test(deploy, image_changed_in_its_last_entry_leaves_nothing_live_or_staged)
{
    size_t big = 1024 * 1024;
    unsigned char *a = dt_noise(big, 2463534242u);
    tg_entry l1[] = {{.name = "lower/a.bin", .data = a, .len = big}, {.name = "lower/b", .data = "b", .len = 1}};
    tg_entry l2[] = {{.name = "upper/c.bin", .data = a, .len = big},
                     {.name = "upper/last", .data = "good", .len = 4}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {2, 2};

    /* The last entry of the last layer: "good" -> "evil", the blob's name kept. */
    dt_late_failure("img-late", e, n, 2, NULL,
                    "set -e; for b in blobs/sha256/*; do if grep -q good \"$b\"; then "
                    "sed -i 's/good/evil/' \"$b\"; fi; done",
                    "BLOB_DIGEST_MISMATCH");
    free(a);
}

Test(deploy, image_refused_in_its_last_entry_leaves_nothing_live_or_staged)
{
    size_t big = 1024 * 1024;
    unsigned char *a = dt_noise(big, 88172645u);
    tg_entry l1[] = {{.name = "lower/a.bin", .data = a, .len = big}};
    tg_entry l2[] = {{.name = "upper/c.bin", .data = a, .len = big}, {.name = "upper/evil-dev", .type = '3'}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {1, 2};
    const char *allow[] = {"tar-device-node", NULL};

    dt_late_failure("img-late-dev", e, n, 2, allow, NULL, "DEPLOY_ENTRY_REFUSED");
    free(a);
}

/* ---- one walk for a zip (docs/deploy.md, "One walk") ------------------------------------------- */

/* The statement signet sign makes for dir/name, edited by edit() on its JSON, signed with k.key into dir/out. */
static void dt_sign_edited(const char *name, const char *out, void (*edit)(json_t *st))
{
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    sign_key *k = NULL;
    char *path = dt_p(name), *kp = dt_p("k.key"), *bp = dt_p(out), *text = tu_statement_edited(path, name, edit);

    cr_assert_eq(sign_key_load_private(&k, kp, NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, text, strlen(text)), 0);
    cr_assert_eq(sign_envelope_sign(env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_new(&b, env, k), 0, "%s", sign_error_last());
    cr_assert_eq(sign_bundle_write(b, bp), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    sign_key_free(k);
    free(text);
    free(path);
    free(kp);
    free(bp);
}

static json_t *dt_record(json_t *st)
{
    json_t *r = json_array_get(json_object_get(json_object_get(st, "predicate"), "artifacts"), 0);

    cr_assert(json_is_object(r));
    return r;
}

/* The signed record of the entry at path (the zips below end with "evil-last"). */
static json_t *dt_signed_entry(json_t *st, const char *path)
{
    json_t *v = json_object_get(dt_record(st), "entries"), *e;
    size_t i;

    json_array_foreach(v, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "path")), path) == 0) {
            return e;
        }
    }
    cr_assert_fail("no signed entry %s", path);
    return NULL;
}

static void dt_edit_digest(json_t *st)
{
    json_object_set_new(json_object_get(dt_signed_entry(st, "evil-last"), "digest"), "sha256",
                        json_string("1111111111111111111111111111111111111111111111111111111111111111"));
}

static void dt_edit_mode(json_t *st)
{
    json_object_set_new(dt_signed_entry(st, "evil-last"), "mode", json_string("0600"));
}

static void dt_edit_size(json_t *st)
{
    json_object_set_new(dt_signed_entry(st, "evil-last"), "size", json_integer(3));
}

/* The archive's last entry is not signed. */
static void dt_edit_drop(json_t *st)
{
    json_t *v = json_object_get(dt_record(st), "entries"), *e;
    size_t i;

    json_array_foreach(v, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "path")), "evil-last") == 0) {
            cr_assert_eq(json_array_remove(v, i), 0);
            return;
        }
    }
    cr_assert_fail("no evil-last");
}

/* A signed entry the archive does not hold. */
static void dt_edit_add(json_t *st)
{
    json_t *e = json_deep_copy(dt_signed_entry(st, "evil-last"));

    json_object_set_new(e, "path", json_string("zz-evil-missing"));
    cr_assert_eq(json_array_append_new(json_object_get(dt_record(st), "entries"), e), 0);
}

static void dt_edit_none(json_t *st)
{
    cr_assert_eq(json_array_clear(json_object_get(dt_record(st), "entries")), 0);
}

/* The findings the signer allowed, forgotten: they were never seen by it. */
static void dt_edit_findings(json_t *st)
{
    cr_assert_eq(json_object_del(dt_record(st), "findings"), 0);
}

static void dt_edit_nothing(json_t *st)
{
    (void)st;
}

/* evil.zip: a large deflated entry, a directory and a file in it, then "evil-last", the last one written. */
static void dt_late_zip_write(const zg_opts *o, const zg_entry *other, size_t nother)
{
    size_t big = 1024 * 1024;
    unsigned char *a = dt_noise(big, 2463534242u);
    zg_entry e[] = {
        {.name = "a.bin", .data = a, .len = big, .unix_mode = 0100644, .deflate = 1},
        {.name = "dir/", .unix_mode = 040755},
        {.name = "dir/b.txt", .data = "b\n", .len = 2, .unix_mode = 0100644, .deflate = 1},
        {.name = "evil-last", .data = "good", .len = 4, .unix_mode = 0100644},
    };

    if (other != NULL) {
        dt_zip("evil.zip", other, nother, o);
    } else {
        dt_zip("evil.zip", e, sizeof(e) / sizeof(e[0]), o);
    }
    free(a);
}

/* A good release deployed, its live state taken into *live (what a refused deploy must leave unchanged). */
static void dt_late_start(dt_live *live)
{
    sign_deploy_result *res = NULL;

    dt_good_zip("app.zip", "one\n", NULL);
    cr_assert_eq(dt_deploy(&res, "app.zip"), 0, "%s", sign_error_last());
    sign_deploy_result_free(res);
    dt_live_take(live);
}

/*
 * Artifact name signed with statements edited by edit (one bundle each, named prefix-<i>.sigstore.json) and
 * deployed: the deploy fails with reason and leaves nothing of it, live or staged (live as taken before).
 */
static void dt_late_refused(dt_live *live, const char *name, const char *prefix, void (*const *edit)(json_t *st),
                            size_t nedit, const char *reason)
{
    sign_deploy_options opts = SIGN_DEPLOY_OPTIONS_INIT;
    sign_deploy_result *res = NULL;
    char *bundles[4], *art = dt_p(name), *to = dt_p("out");

    cr_assert_leq(nedit, 4);
    for (size_t i = 0; i < nedit; i++) {
        char bname[64];

        snprintf(bname, sizeof(bname), "%s-%zu.sigstore.json", prefix, i);
        dt_sign_edited(name, bname, edit[i]);
        bundles[i] = dt_p(bname);
    }
    opts.artifact = art;
    opts.to = to;
    opts.bundles = (const char *const *)bundles;
    opts.nbundles = nedit;
    cr_assert_neq(sign_deploy(&res, dt_pol, &opts), 0, "%s was deployed", name);
    cr_assert_str_eq(dt_reason(res), reason, "%s", sign_error_last());
    sign_deploy_result_free(res);
    for (size_t i = 0; i < nedit; i++) {
        free(bundles[i]);
    }
    free(art);
    free(to);
    dt_live_unchanged(live);
}

/*
 * A good release deployed, then evil.zip signed with statements edited by edit (one bundle each): the deploy
 * fails with reason and leaves nothing of evil.zip, live or staged; current and releases/ stay as they were.
 */
static void dt_late_zip_of(const zg_opts *o, const zg_entry *other, size_t nother, void (*const *edit)(json_t *st),
                           size_t nedit, const char *reason)
{
    dt_live live;

    dt_late_start(&live);
    dt_late_zip_write(o, other, nother);
    dt_late_refused(&live, "evil.zip", "bundle", edit, nedit, reason);
}

static void dt_late_zip(const zg_opts *o, void (*const *edit)(json_t *st), size_t nedit, const char *reason)
{
    dt_late_zip_of(o, NULL, 0, edit, nedit, reason);
}

Test(deploy, zip_changed_in_its_last_entry_leaves_nothing_live_or_staged)
{
    void (*edit[])(json_t *) = {dt_edit_digest};

    dt_late_zip(NULL, edit, 1, "ENTRY_MISMATCH");
}

Test(deploy, zip_entry_of_another_mode_or_size_than_signed_is_refused)
{
    void (*mode[])(json_t *) = {dt_edit_mode};
    void (*size[])(json_t *) = {dt_edit_size};

    dt_late_zip(NULL, mode, 1, "ENTRY_MISMATCH");
    dt_late_zip(NULL, size, 1, "ENTRY_MISMATCH");
}

Test(deploy, zip_entry_not_signed_is_refused)
{
    void (*edit[])(json_t *) = {dt_edit_drop};

    dt_late_zip(NULL, edit, 1, "ENTRY_MISMATCH");
}

Test(deploy, zip_signed_entry_missing_is_refused)
{
    void (*edit[])(json_t *) = {dt_edit_add};

    dt_late_zip(NULL, edit, 1, "ENTRY_MISMATCH");
}

Test(deploy, zip_without_recorded_entries_is_refused)
{
    void (*edit[])(json_t *) = {dt_edit_none};

    dt_late_zip(NULL, edit, 1, "ENTRIES_NOT_RECORDED");
}

/* Two signers' records of the entries: each is compared with the archive, not only the first one read. */
Test(deploy, zip_with_a_second_bundle_recording_other_entries_is_refused)
{
    void (*second[])(json_t *) = {dt_edit_nothing, dt_edit_digest};
    void (*first[])(json_t *) = {dt_edit_digest, dt_edit_nothing};

    dt_late_zip(NULL, second, 2, "ENTRY_MISMATCH");
    dt_late_zip(NULL, first, 2, "ENTRY_MISMATCH");
}

/* The signed record of the entry at path in layer j of the image's record. */
static json_t *dt_layer_entry(json_t *st, size_t j, const char *path)
{
    json_t *v = json_object_get(json_array_get(json_object_get(dt_record(st), "layers"), j), "entries"), *e;
    size_t i;

    json_array_foreach(v, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "path")), path) == 0) {
            return e;
        }
    }
    cr_assert_fail("no signed entry %s in layer %zu", path, j);
    return NULL;
}

static void dt_edit_layer_digest(json_t *st)
{
    json_object_set_new(json_object_get(dt_layer_entry(st, 1, "upper/last"), "digest"), "sha256",
                        json_string("1111111111111111111111111111111111111111111111111111111111111111"));
}

/*
 * A good release deployed, then an image of two layers signed with statements edited by edit (one bundle
 * each; the layers' digests stay right): the deploy fails with reason and leaves nothing of it.
 */
static void dt_late_image(void (*const *edit)(json_t *st), size_t nedit, const char *reason)
{
    tg_entry l1[] = {{.name = "lower/a", .data = "a", .len = 1}};
    tg_entry l2[] = {{.name = "upper/c", .data = "c", .len = 1}, {.name = "upper/last", .data = "good", .len = 4}};
    const tg_entry *e[] = {l1, l2};
    size_t n[] = {1, 2};
    dt_live live;

    dt_late_start(&live);
    dt_image("img-rec", e, n, 2);
    dt_late_refused(&live, "img-rec", "img-bundle", edit, nedit, reason);
}

/*
 * An image whose statement lies about a layer's entries (its layers' digests right): refused with
 * verify's ENTRY_MISMATCH. With a second, truthful bundle listed first, the one walk checked the layers
 * against the first record only and the second was never compared (deployed before); listed second or
 * alone, the extraction finds it.
 */
Test(deploy, image_with_a_bundle_recording_other_layer_entries_is_refused)
{
    void (*second[])(json_t *) = {dt_edit_nothing, dt_edit_layer_digest};
    void (*first[])(json_t *) = {dt_edit_layer_digest, dt_edit_nothing};
    void (*alone[])(json_t *) = {dt_edit_layer_digest};

    dt_late_image(second, 2, "ENTRY_MISMATCH");
    dt_late_image(first, 2, "ENTRY_MISMATCH");
    dt_late_image(alone, 1, "ENTRY_MISMATCH");
}

/* A dangerous finding the statement does not list: verify's reason, though the one walk found it first. */
Test(deploy, zip_finding_its_signer_did_not_allow_is_refused)
{
    zg_opts o = {.prefix = "#!/bin/sh\nexit 0\n", .prefix_len = 17};
    void (*edit[])(json_t *) = {dt_edit_findings};

    dt_late_zip(&o, edit, 1, "ARCHIVE_FINDING_NOT_ALLOWED");
}

/* Signed with the finding listed (signet sign refuses it; its statement is made by hand): deploy refuses it. */
Test(deploy, zip_overlapping_entries_are_refused)
{
    zg_entry e[] = {{Z("ok.txt")}, {Z("evil-last"), .offset_of = 1}};
    void (*edit[])(json_t *) = {dt_edit_nothing};

    dt_late_zip_of(NULL, e, 2, edit, 1, "DEPLOY_ARCHIVE_FINDING");
}

/* A good zip: verified without its entries walked (the entries check says so), each checked as written. */
Test(deploy, zip_entries_are_checked_in_the_one_walk)
{
    void (*edit[])(json_t *) = {dt_edit_nothing};
    sign_deploy_options opts = SIGN_DEPLOY_OPTIONS_INIT;
    sign_deploy_result *res = NULL;
    const sign_verify_result *v;
    char *art = dt_p("evil.zip"), *to = dt_p("out"), *b = dt_p("bundle-0.sigstore.json");
    const char *bundles[1];
    int one = 0;

    dt_late_zip_write(NULL, NULL, 0);
    dt_sign_edited("evil.zip", "bundle-0.sigstore.json", edit[0]);
    bundles[0] = b;
    opts.artifact = art;
    opts.to = to;
    opts.bundles = bundles;
    opts.nbundles = 1;
    cr_assert_eq(sign_deploy(&res, dt_pol, &opts), 0, "%s", sign_error_last());
    v = sign_deploy_result_verify(res);
    for (size_t i = 0; v != NULL && i < sign_verify_result_check_count(v); i++) {
        const sign_check *c = sign_verify_result_check(v, i);

        one |= strcmp(c->check, "entries") == 0 && c->status == SIGN_CHECK_PASS && c->message != NULL &&
               strstr(c->message, "each checked as it is extracted") != NULL;
    }
    cr_assert(one, "the entries were walked by the verification");
    sign_deploy_result_free(res);
    dt_assert_current("evil-last", "good");
    dt_assert_current("dir/b.txt", "b\n");
    free(art);
    free(to);
    free(b);
}
