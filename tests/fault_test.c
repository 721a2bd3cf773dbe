/*
 * No partial state under faults (issue 6, item 7): signet sign and keygen
 * killed at any moment, killed in the middle of a write, and writing to a full
 * file system. The assertions are invariants that hold whatever the timing:
 * each run may be killed early or late, and what is left must be either the
 * old state or the complete new one; the same for signet timestamp, which
 * rewrites a bundle. docs/safety.md states the guarantees.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sign/sign.h"
#include "testutil.h"
#include "tsautil.h"
#include "zipgen.h"

/* ---- fixture ---- */

static char *fault_dir;
static char *fault_paths[256];
static size_t fault_npaths;
static char *fault_err;

static void fault_setup(void)
{
    fault_dir = tu_mkdtemp();
    fault_npaths = 0;
    fault_err = NULL;
}

static void fault_teardown(void)
{
    tu_rmtree(fault_dir);
    free(fault_dir);
    for (size_t i = 0; i < fault_npaths; i++) {
        free(fault_paths[i]);
    }
    fault_npaths = 0;
    free(fault_err);
    fault_err = NULL;
}

/* dir/name, owned by the fixture. */
static const char *fp(const char *name)
{
    cr_assert_lt(fault_npaths, sizeof(fault_paths) / sizeof(fault_paths[0]));
    fault_paths[fault_npaths] = tu_path(fault_dir, name);
    return fault_paths[fault_npaths++];
}

/* Run signet with fault f (NULL: none) and NULL-terminated arguments; stderr in fault_err. */
static int fault_run(const char *const *env, const tu_fault *f, ...)
{
    static const tu_fault none = {-1, 0, -1};
    const char *argv[32];
    size_t n = 0;
    va_list ap;

    free(fault_err);
    fault_err = NULL;
    argv[n++] = "signet";
    va_start(ap, f);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 31);
    }
    va_end(ap);
    return tu_run_fault(&fault_err, env, argv, f != NULL ? f : &none);
}

#define RUN(...) fault_run(NULL, NULL, __VA_ARGS__, (const char *)NULL)
#define RUN_F(env, f, ...) fault_run(env, f, __VA_ARGS__, (const char *)NULL)

static int fault_same(const char *path, const char *data, size_t len)
{
    size_t n;
    char *b = tu_read(path, &n);
    int same = n == len && memcmp(b, data, n) == 0;

    free(b);
    return same;
}

/* name is final + ".tmp-" + 16 lowercase hex digits: sign__write_file_* temporary names. */
static int fault_is_tmp_of(const char *name, const char *final)
{
    size_t fl = strlen(final);
    const char *h;

    if (strncmp(name, final, fl) != 0 || strncmp(name + fl, ".tmp-", 5) != 0) {
        return 0;
    }
    h = name + fl + 5;
    for (int i = 0; i < 16; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            return 0;
        }
    }
    return h[16] == '\0';
}

/*
 * Every entry of dir is one of names[] or a temporary file of one of finals[]
 * (NULL-terminated lists). Temporary files of private keys must be 0600 and
 * no temporary name may end like a bundle or a key. Returns the number of
 * temporary files.
 */
static size_t fault_check_dir(const char *dir, const char *const *names, const char *const *finals)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t ntmp = 0;

    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        int ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;

        for (size_t i = 0; !ok && names != NULL && names[i] != NULL; i++) {
            ok = strcmp(e->d_name, names[i]) == 0;
        }
        for (size_t i = 0; !ok && finals != NULL && finals[i] != NULL; i++) {
            if (fault_is_tmp_of(e->d_name, finals[i])) {
                size_t nl = strlen(e->d_name);
                struct stat st;
                char *p = tu_path(dir, e->d_name);

                ok = 1;
                ntmp++;
                cr_assert(nl < 15 || strcmp(e->d_name + nl - 14, ".sigstore.json") != 0);
                cr_assert(nl < 4 || (strcmp(e->d_name + nl - 4, ".key") != 0 && strcmp(e->d_name + nl - 4, ".pub")));
                cr_assert_eq(lstat(p, &st), 0);
                cr_assert(S_ISREG(st.st_mode), "%s is a regular file", p);
                if (strlen(finals[i]) > 4 && strcmp(finals[i] + strlen(finals[i]) - 4, ".key") == 0) {
                    cr_assert_eq(st.st_mode & 0777, 0600, "%s: mode %o, want 0600", p, (unsigned)(st.st_mode & 0777));
                }
                free(p);
            }
        }
        cr_assert(ok, "%s: unexpected entry '%s'", dir, e->d_name);
    }
    closedir(d);
    return ntmp;
}

static size_t fault_count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* The CLI's input-error contract: exit 2, one line naming file and cause. */
static void fault_assert_error(int rc, const char *file, const char *cause)
{
    cr_assert_eq(rc, 2, "exit %d, stderr: %s", rc, fault_err);
    cr_assert_eq(fault_count_lines(fault_err), 1, "one line on stderr, got: %s", fault_err);
    cr_assert_not_null(strstr(fault_err, file), "stderr names %s: %s", file, fault_err);
    cr_assert_not_null(strstr(fault_err, cause), "stderr gives the cause '%s': %s", cause, fault_err);
}

static void fault_keygen(const char *prefix)
{
    int rc = RUN("keygen", "--no-passphrase", "-o", fp(prefix));

    cr_assert_eq(rc, 0, "keygen: %s", fault_err);
}

static void fault_policy(void)
{
    tu_write_str(fp("policy.json"), "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"k.pub\", "
                                    "\"artifacts\": [\"*\"]}]}");
}

/* A file of n bytes whose content depends on seed. */
static void fault_big_file(const char *path, size_t n, unsigned seed)
{
    unsigned char *b = malloc(n);
    unsigned x = seed * 2654435761u + 1;

    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    tu_write(path, b, n);
    free(b);
}

/* A zip of n small entries (many entries make a large manifest). */
static void fault_zip(const char *path, size_t n)
{
    zg_entry *e = calloc(n, sizeof(*e));
    char(*names)[40] = calloc(n, sizeof(*names));

    cr_assert(e != NULL && names != NULL);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "lib/module-%05zu.js", i);
        e[i].name = names[i];
        e[i].data = names[i];
        e[i].len = strlen(names[i]);
        e[i].unix_mode = 0100644;
    }
    zg_write(path, e, n, NULL);
    free(e);
    free(names);
}

/* ---- killed at any moment ---- */

Test(fault, sign_killed_at_any_moment_leaves_old_or_complete_bundle, .init = fault_setup, .fini = fault_teardown,
     .timeout = 300)
{
    const char *art = fp("app.bin"), *bundle = fp("app.bin.sigstore.json"), *key = fp("k.key");
    const char *policy = fp("policy.json");
    const char *names[] = {"k.key", "k.pub", "policy.json", "app.bin", "app.bin.sigstore.json", NULL};
    const char *finals[] = {"app.bin.sigstore.json", NULL};
    const size_t size = 24u << 20, rounds = 40;
    size_t oldlen, nold = 0, nnew = 0, ntmp = 0;
    char *old;
    long long t0, took;
    int rc;

    fault_keygen("k");
    fault_policy();
    /* The old bundle: a valid signature over the previous build. */
    fault_big_file(art, size, 1);
    cr_assert_eq(RUN("sign", "-k", key, "--force", art), 0, "%s", fault_err);
    old = tu_read(bundle, &oldlen);
    fault_big_file(art, size, 2);
    cr_assert_neq(RUN("verify", "-p", policy, art), 0, "the old bundle does not cover the new build");

    /* One undisturbed run sets the time scale; kills are spread from 0 to twice it. */
    t0 = tu_now_us();
    cr_assert_eq(RUN("sign", "-k", key, "--force", art), 0, "%s", fault_err);
    took = tu_now_us() - t0;
    cr_assert_eq(RUN("verify", "-p", policy, art), 0, "%s", fault_err);
    for (size_t i = 0; i <= rounds; i++) {
        tu_fault f = {-1, 0, -1};

        tu_write(bundle, old, oldlen);
        /* The last round is not killed: signing must complete and replace the old bundle. */
        if (i < rounds) {
            f.kill_after_us = took * 2 * (long long)i / (long long)(rounds - 1);
        }
        rc = RUN_F(NULL, &f, "sign", "-k", key, "--force", art);
        cr_assert(rc == 0 || rc == 1000 + SIGKILL, "round %zu: exit %d: %s", i, rc, fault_err);
        cr_assert(tu_exists(bundle), "round %zu: the bundle is gone", i);
        if (fault_same(bundle, old, oldlen)) {
            cr_assert_neq(rc, 0, "round %zu: sign succeeded but left the old bundle", i);
            nold++;
        } else {
            /* Not the old bytes: it must be the complete new bundle. */
            cr_assert_eq(RUN("verify", "-p", policy, art), 0, "round %zu: a partial bundle: %s", i, fault_err);
            nnew++;
        }
        ntmp = fault_check_dir(fault_dir, names, finals);
    }
    cr_assert_geq(nnew, 1);
    cr_log_info("fault: sign killed at %zu moments: %zu left the old bundle, %zu the new one; %zu temporary "
                "file(s) left behind",
                rounds, nold, nnew - 1, ntmp);
    free(old);
}

static int fault_pass_cb(char *buf, size_t size, int confirm, void *userdata)
{
    const char *p = userdata;
    size_t n = strlen(p);

    (void)confirm;
    if (n >= size) {
        return -1;
    }
    memcpy(buf, p, n + 1);
    return (int)n;
}

/* A complete key pair or a complete private key alone; never a .pub without its .key. */
static int fault_check_pair(const char *keypath, const char *pubpath, const char *pass)
{
    int has_key = tu_exists(keypath), has_pub = tu_exists(pubpath);
    sign_key *key = NULL, *pub = NULL;
    char id1[128], id2[128];

    cr_assert(has_key || !has_pub, "%s without %s", pubpath, keypath);
    if (has_key) {
        struct stat st;

        cr_assert_eq(stat(keypath, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0600, "%s: mode %o", keypath, (unsigned)(st.st_mode & 0777));
        cr_assert_eq(sign_key_load_private(&key, keypath, fault_pass_cb, (void *)pass), 0, "%s: %s", keypath,
                     sign_error_last());
        cr_assert_eq(sign_key_id(id1, sizeof(id1), key), 0);
    }
    if (has_pub) {
        cr_assert_eq(sign_key_load_public(&pub, pubpath), 0, "%s: %s", pubpath, sign_error_last());
        cr_assert_eq(sign_key_id(id2, sizeof(id2), pub), 0);
        cr_assert_str_eq(id1, id2, "%s and %s are one pair", keypath, pubpath);
    }
    sign_key_free(key);
    sign_key_free(pub);
    return has_key + has_pub;
}

Test(fault, keygen_killed_at_any_moment_leaves_no_partial_key, .init = fault_setup, .fini = fault_teardown,
     .timeout = 300)
{
    const char *env[] = {"SIGNET_PASSPHRASE=fault-test-passphrase", NULL};
    const size_t rounds = 30;
    const char *names[2 * 32 + 3] = {NULL}, *finals[2 * 32 + 1] = {NULL};
    char prefix[32], kname[40], pname[40];
    size_t counts[3] = {0, 0, 0}, ntmp = 0, nn = 0, nf = 0;
    long long t0, took;
    int rc;

    /* One undisturbed run sets the time scale. */
    names[nn++] = "t.key";
    names[nn++] = "t.pub";
    t0 = tu_now_us();
    cr_assert_eq(RUN_F(env, NULL, "keygen", "-o", fp("t")), 0, "%s", fault_err);
    took = tu_now_us() - t0;
    cr_assert_eq(fault_check_pair(fp("t.key"), fp("t.pub"), "fault-test-passphrase"), 2);
    for (size_t i = 0; i <= rounds; i++) {
        tu_fault f = {-1, 0, -1};
        int state;

        snprintf(prefix, sizeof(prefix), "k%02zu", i);
        snprintf(kname, sizeof(kname), "%s.key", prefix);
        snprintf(pname, sizeof(pname), "%s.pub", prefix);
        names[nn++] = strdup(kname);
        names[nn++] = strdup(pname);
        finals[nf++] = names[nn - 2];
        finals[nf++] = names[nn - 1];
        if (i < rounds) {
            f.kill_after_us = took * 2 * (long long)i / (long long)(rounds - 1);
        }
        rc = RUN_F(env, &f, "keygen", "-o", fp(prefix));
        cr_assert(rc == 0 || rc == 1000 + SIGKILL, "round %zu: exit %d: %s", i, rc, fault_err);
        state = fault_check_pair(fp(kname), fp(pname), "fault-test-passphrase");
        cr_assert(rc != 0 || state == 2, "round %zu: keygen succeeded without writing both files", i);
        counts[state]++;
        ntmp = fault_check_dir(fault_dir, names, finals);
    }
    cr_assert_geq(counts[2], 1);
    cr_log_info("fault: keygen killed at %zu moments: %zu left nothing, %zu a complete .key alone, %zu the pair; %zu "
                "temporary file(s) left behind",
                rounds, counts[0], counts[1], counts[2] - 1, ntmp);
    for (size_t i = 2; i < nn; i++) {
        free((char *)names[i]);
    }
}

/* ---- killed in the middle of a write (RLIMIT_FSIZE: SIGXFSZ after a short write) ---- */

Test(fault, sign_killed_mid_write_keeps_old_bundle, .init = fault_setup, .fini = fault_teardown)
{
    const char *art = fp("notes.txt"), *bundle = fp("notes.txt.sigstore.json");
    const char *names[] = {"k.key", "k.pub", "policy.json", "notes.txt", "notes.txt.sigstore.json", NULL};
    const char *finals[] = {"notes.txt.sigstore.json", NULL};
    const tu_fault midwrite = {512, 0, -1};
    size_t oldlen;
    char *old;
    int rc;

    fault_keygen("k");
    fault_policy();
    tu_write_str(art, "release 1\n");
    cr_assert_eq(RUN("sign", "-k", fp("k.key"), "--force", art), 0, "%s", fault_err);
    old = tu_read(bundle, &oldlen);
    cr_assert_gt(oldlen, 512, "the bundle is longer than the write limit");
    tu_write_str(art, "release 2\n");

    rc = RUN_F(NULL, &midwrite, "sign", "-k", fp("k.key"), "--force", art);
    cr_assert_eq(rc, 1000 + SIGXFSZ, "killed by SIGXFSZ mid-write, got %d: %s", rc, fault_err);
    cr_assert(fault_same(bundle, old, oldlen), "the old bundle is intact");
    /* The partial temporary file stays (nothing may delete it safely later) under a name that is no bundle. */
    cr_assert_eq(fault_check_dir(fault_dir, names, finals), 1, "one temporary file left by the kill");

    /* A later run is not disturbed by it, and does not remove it. */
    cr_assert_eq(RUN("sign", "-k", fp("k.key"), "--force", art), 0, "%s", fault_err);
    cr_assert_eq(RUN("verify", "-p", fp("policy.json"), art), 0, "%s", fault_err);
    cr_assert_eq(fault_check_dir(fault_dir, names, finals), 1);
    free(old);
}

Test(fault, keygen_killed_mid_write_leaves_no_truncated_key, .init = fault_setup, .fini = fault_teardown)
{
    const char *names[] = {"k.key", "k.pub", NULL};
    const char *finals[] = {"k.key", "k.pub", NULL};
    const tu_fault midwrite = {64, 0, -1};
    int rc;

    rc = RUN_F(NULL, &midwrite, "keygen", "--no-passphrase", "-o", fp("k"));
    cr_assert_eq(rc, 1000 + SIGXFSZ, "killed by SIGXFSZ mid-write, got %d: %s", rc, fault_err);
    cr_assert(!tu_exists(fp("k.key")), "no truncated private key under the final name");
    cr_assert(!tu_exists(fp("k.pub")));
    /* What was written went to a 0600 temporary file (checked by fault_check_dir). */
    cr_assert_eq(fault_check_dir(fault_dir, names, finals), 1);
    /* So the same prefix can be used again: nothing claims the name. */
    cr_assert_eq(RUN("keygen", "--no-passphrase", "-o", fp("k")), 0, "%s", fault_err);
    cr_assert_eq(fault_check_pair(fp("k.key"), fp("k.pub"), ""), 2);
}

/* ---- full file system ---- */

/*
 * A 256 KiB tmpfs on dir, in a mount namespace private to this test process
 * (the host's mount table is never touched and the mount goes with the
 * process): as root, or else in a new user namespace. Returns a description
 * of the mechanism, or NULL with the reason in why.
 */
static const char *fault_tmpfs(const char *dir, char *why, size_t whylen)
{
    const char *mech = "tmpfs (size=256k) in a private mount namespace";

    if (unshare(CLONE_NEWNS) != 0) {
        int e1 = errno;
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
            snprintf(why, whylen, "unshare(CLONE_NEWNS): %s; unshare(CLONE_NEWUSER|CLONE_NEWNS): %s", strerror(e1),
                     strerror(errno));
            return NULL;
        }
        mech = "tmpfs (size=256k) in a user and mount namespace";
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
        tu_write_str("/proc/self/setgroups", "deny");
        tu_write_str("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
        tu_write_str("/proc/self/gid_map", map);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=0700") != 0) {
        snprintf(why, whylen, "mount tmpfs: %s", strerror(errno));
        return NULL;
    }
    return mech;
}

Test(fault, sign_full_disk_clear_error_and_old_bundle_intact, .init = fault_setup, .fini = fault_teardown)
{
    const char *art = fp("app.zip"), *mnt = fp("full"), *out = fp("full/app.zip.sigstore.json");
    const char *names[] = {"app.zip.sigstore.json", NULL};
    tu_fault f = {-1, 0, -1};
    const char *mech, *cause = "No space left on device";
    char why[256], *old, *ref;
    size_t oldlen, reflen;
    int rc;

    fault_keygen("k");
    fault_zip(art, 3);
    cr_assert_eq(RUN("sign", "-k", fp("k.key"), "-o", fp("old.json"), art), 0, "%s", fault_err);
    old = tu_read(fp("old.json"), &oldlen);
    /* The new build has many entries: its manifest alone is larger than the whole file system. */
    fault_zip(art, 1500);
    cr_assert_eq(RUN("sign", "-k", fp("k.key"), "-o", fp("ref.json"), art), 0, "%s", fault_err);
    ref = tu_read(fp("ref.json"), &reflen);
    cr_assert_gt(reflen, 256 * 1024, "the new bundle (%zu bytes) cannot fit", reflen);
    free(ref);

    cr_assert_eq(mkdir(mnt, 0700), 0);
    if ((mech = fault_tmpfs(mnt, why, sizeof(why))) == NULL) {
        /* Without a mount, a per-process file size limit stands in for the full disk. */
        mech = "RLIMIT_FSIZE (64 KiB, SIGXFSZ ignored) instead of a tmpfs";
        /* Not cr_log_warn: Criterion 2.4 exits 1 on any warning, also when every test passed. */
        fprintf(stderr, "fault: no tmpfs (%s); using %s\n", why, mech);
        f.fsize = 64 * 1024;
        f.ignore_xfsz = 1;
        cause = "File too large";
    }
    cr_log_info("fault: full disk by %s", mech);

    /* An older bundle at the output path stays as it was. */
    tu_write(out, old, oldlen);
    rc = RUN_F(NULL, &f, "sign", "-k", fp("k.key"), "--force", "-o", out, art);
    fault_assert_error(rc, out, cause);
    cr_assert(fault_same(out, old, oldlen), "the old bundle is intact");
    cr_assert_eq(fault_check_dir(mnt, names, NULL), 0, "no temporary file left");

    /* No bundle before: none after, and no temporary file. */
    cr_assert_eq(unlink(out), 0);
    rc = RUN_F(NULL, &f, "sign", "-k", fp("k.key"), "--force", "-o", out, art);
    fault_assert_error(rc, out, cause);
    cr_assert(!tu_exists(out));
    cr_assert_eq(fault_check_dir(mnt, NULL, NULL), 0);
    if (f.fsize < 0) {
        cr_assert_eq(umount2(mnt, MNT_DETACH), 0, "umount: %s", strerror(errno));
    }
    free(old);
}

/* Fill the file system of dir: dir/filler takes every free block. Returns its descriptor. */
static int fault_fill(const char *dir)
{
    static const char block[4096];
    char *path = tu_path(dir, "filler");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    for (;;) {
        ssize_t n = write(fd, block, sizeof(block));

        if (n < 0) {
            cr_assert_eq(errno, ENOSPC, "filling %s: %s", dir, strerror(errno));
            break;
        }
    }
    free(path);
    return fd;
}

Test(fault, keygen_full_disk_leaves_no_partial_pair, .init = fault_setup, .fini = fault_teardown)
{
    const char *mnt = fp("full"), *prefix = fp("full/k");
    const char *names[] = {"filler", NULL};
    tu_fault f = {-1, 0, -1};
    const char *mech;
    char why[256];
    int rc, fd;

    cr_assert_eq(mkdir(mnt, 0700), 0);
    if ((mech = fault_tmpfs(mnt, why, sizeof(why))) == NULL) {
        fprintf(stderr, "fault: no tmpfs (%s); using RLIMIT_FSIZE (32 bytes, SIGXFSZ ignored)\n", why);
        f.fsize = 32;
        f.ignore_xfsz = 1;
        rc = RUN_F(NULL, &f, "keygen", "--no-passphrase", "-o", prefix);
        fault_assert_error(rc, fp("full/k.key"), "File too large");
        cr_assert_eq(fault_check_dir(mnt, NULL, NULL), 0, "nothing left");
        return;
    }
    cr_log_info("fault: full disk by %s", mech);

    /* Full: the private key cannot be written. */
    fd = fault_fill(mnt);
    rc = RUN("keygen", "--no-passphrase", "-o", prefix);
    fault_assert_error(rc, fp("full/k.key"), "No space left on device");
    cr_assert_eq(fault_check_dir(mnt, names, NULL), 0, "no .key, no .pub, no temporary file");

    /* One free block: the .key fits, the .pub does not; the .key must go again. */
    {
        struct stat st;
        struct statvfs vfs;

        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert_eq(ftruncate(fd, (st.st_size / 4096 - 1) * 4096), 0);
        cr_assert_eq(fstatvfs(fd, &vfs), 0);
        cr_assert_eq((unsigned long long)vfs.f_bavail * vfs.f_frsize, 4096, "one free block");
    }
    rc = RUN("keygen", "--no-passphrase", "-o", prefix);
    fault_assert_error(rc, fp("full/k.pub"), "No space left on device");
    cr_assert_eq(fault_check_dir(mnt, names, NULL), 0, "no .key, no .pub, no temporary file");

    close(fd);
    cr_assert_eq(umount2(mnt, MNT_DETACH), 0, "umount: %s", strerror(errno));
}

/* ---- signet timestamp: killed at any moment, killed mid-write, full disk ---- */

/*
 * A signed, unstamped bundle fault_dir/app.bin.sigstore.json (the old state),
 * a policy requiring a timestamp from the test TSA's root (copied as
 * tsa-root.pem), and the test TSA running on *srv with its certificates in
 * *tsadir (removed by fault_ts_end).
 */
static char *fault_ts_begin(tsa_server *srv, char **old, size_t *oldlen)
{
    char *tsadir = tsa_std_pki(), *root = tu_path(tsadir, "root.pem"), *pem;
    size_t len;

    fault_keygen("k");
    pem = tu_read(root, &len);
    tu_write(fp("tsa-root.pem"), pem, len);
    free(pem);
    free(root);
    tu_write_str(fp("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"k.pub\"}], "
                 "\"timestamp_authorities\": [{\"name\": \"test-tsa\", \"certificates\": \"tsa-root.pem\"}], "
                 "\"require\": {\"timestamp\": true}}");
    tu_write_str(fp("app.bin"), "release 1\n");
    cr_assert_eq(RUN("sign", "-k", fp("k.key"), fp("app.bin")), 0, "%s", fault_err);
    *old = tu_read(fp("app.bin.sigstore.json"), oldlen);
    cr_assert_eq(RUN("verify", "-p", fp("policy.json"), fp("app.bin")), 4, "unstamped: refused");
    memset(srv, 0, sizeof(*srv));
    tsa_server_start(srv, tsadir, "tsa", NULL, NULL);
    return tsadir;
}

static void fault_ts_end(tsa_server *srv, char *tsadir, char *old)
{
    tsa_server_stop(srv);
    tu_rmtree(tsadir);
    free(tsadir);
    free(old);
}

/* The bundle is the old bytes, or a complete stamped bundle that verifies. Returns 1 for new. */
static int fault_ts_old_or_new(const char *old, size_t oldlen, int rc, size_t round)
{
    sign_bundle *b = NULL;

    cr_assert(tu_exists(fp("app.bin.sigstore.json")), "round %zu: the bundle is gone", round);
    if (fault_same(fp("app.bin.sigstore.json"), old, oldlen)) {
        cr_assert_neq(rc, 0, "round %zu: timestamp succeeded but left the old bundle", round);
        return 0;
    }
    cr_assert_eq(sign_bundle_read(&b, fp("app.bin.sigstore.json"), NULL), 0, "round %zu: not parseable: %s", round,
                 sign_error_last());
    cr_assert_eq(sign_bundle_timestamp_count(b), 1, "round %zu", round);
    sign_bundle_free(b);
    cr_assert_eq(RUN("verify", "-p", fp("policy.json"), fp("app.bin")), 0, "round %zu: a partial bundle: %s", round,
                 fault_err);
    return 1;
}

Test(fault, timestamp_killed_at_any_moment_leaves_old_or_complete_bundle, .init = fault_setup, .fini = fault_teardown,
     .timeout = 300)
{
    const char *names[] = {"k.key", "k.pub", "policy.json", "tsa-root.pem", "app.bin", "app.bin.sigstore.json", NULL};
    const char *finals[] = {"app.bin.sigstore.json", NULL};
    const size_t rounds = 30;
    tsa_server srv;
    size_t oldlen, nold = 0, nnew = 0, ntmp = 0;
    char *old, *tsadir = fault_ts_begin(&srv, &old, &oldlen);
    long long t0, took;
    int rc;

    /* One undisturbed run sets the time scale; kills are spread from 0 to twice it. */
    t0 = tu_now_us();
    cr_assert_eq(RUN("timestamp", "--tsa", srv.url, fp("app.bin.sigstore.json")), 0, "%s", fault_err);
    took = tu_now_us() - t0;
    cr_assert_eq(RUN("verify", "-p", fp("policy.json"), fp("app.bin")), 0, "%s", fault_err);
    for (size_t i = 0; i <= rounds; i++) {
        tu_fault f = {-1, 0, -1};

        tu_write(fp("app.bin.sigstore.json"), old, oldlen);
        if (i < rounds) {
            f.kill_after_us = took * 2 * (long long)i / (long long)(rounds - 1);
        }
        rc = RUN_F(NULL, &f, "timestamp", "--tsa", srv.url, fp("app.bin.sigstore.json"));
        cr_assert(rc == 0 || rc == 1000 + SIGKILL, "round %zu: exit %d: %s", i, rc, fault_err);
        if (fault_ts_old_or_new(old, oldlen, rc, i)) {
            nnew++;
        } else {
            nold++;
        }
        ntmp = fault_check_dir(fault_dir, names, finals);
    }
    cr_assert_geq(nnew, 1);
    cr_log_info("fault: timestamp killed at %zu moments (a run takes %lld us): %zu left the old bundle, %zu the "
                "new one; %zu temporary file(s) left behind",
                rounds, took, nold, nnew - 1, ntmp);
    fault_ts_end(&srv, tsadir, old);
}

Test(fault, timestamp_killed_mid_write_keeps_old_bundle, .init = fault_setup, .fini = fault_teardown)
{
    const char *names[] = {"k.key", "k.pub", "policy.json", "tsa-root.pem", "app.bin", "app.bin.sigstore.json", NULL};
    const char *finals[] = {"app.bin.sigstore.json", NULL};
    tsa_server srv;
    size_t oldlen;
    char *old, *tsadir = fault_ts_begin(&srv, &old, &oldlen);
    int rc;

    /* Each limit is shorter than the stamped bundle: SIGXFSZ in the middle of its write. */
    for (long long lim = 256; lim <= (long long)oldlen; lim *= 2) {
        const tu_fault midwrite = {lim, 0, -1};

        rc = RUN_F(NULL, &midwrite, "timestamp", "--tsa", srv.url, fp("app.bin.sigstore.json"));
        cr_assert_eq(rc, 1000 + SIGXFSZ, "limit %lld: killed by SIGXFSZ mid-write, got %d: %s", lim, rc, fault_err);
        cr_assert(fault_same(fp("app.bin.sigstore.json"), old, oldlen), "limit %lld: the old bundle is intact", lim);
        cr_assert_eq(fault_check_dir(fault_dir, names, finals), 1, "the partial temporary file is no bundle");
        {
            /* Clear it so that each limit leaves exactly one. */
            DIR *d = opendir(fault_dir);
            struct dirent *e;

            cr_assert_not_null(d);
            while ((e = readdir(d)) != NULL) {
                if (fault_is_tmp_of(e->d_name, "app.bin.sigstore.json")) {
                    char *p = tu_path(fault_dir, e->d_name);

                    cr_assert_eq(unlink(p), 0);
                    free(p);
                }
            }
            closedir(d);
        }
    }
    /* Undisturbed, it completes. */
    cr_assert_eq(RUN("timestamp", "--tsa", srv.url, fp("app.bin.sigstore.json")), 0, "%s", fault_err);
    cr_assert_eq(fault_ts_old_or_new(old, oldlen, 0, 0), 1);
    fault_ts_end(&srv, tsadir, old);
}

Test(fault, timestamp_full_disk_clear_error_and_old_bundle_intact, .init = fault_setup, .fini = fault_teardown)
{
    const char *mnt = fp("full"), *out = fp("full/app.bin.sigstore.json");
    const char *names[] = {"app.bin.sigstore.json", "filler", NULL};
    tu_fault f = {-1, 0, -1};
    const char *mech, *cause = "No space left on device";
    tsa_server srv;
    size_t oldlen;
    char why[256], *old, *tsadir = fault_ts_begin(&srv, &old, &oldlen);
    int rc, fd = -1;

    cr_assert_eq(mkdir(mnt, 0700), 0);
    if ((mech = fault_tmpfs(mnt, why, sizeof(why))) == NULL) {
        /* As for sign: a per-process file size limit stands in for the full disk. */
        mech = "RLIMIT_FSIZE (the old bundle's size, SIGXFSZ ignored) instead of a tmpfs";
        fprintf(stderr, "fault: no tmpfs (%s); using %s\n", why, mech);
        f.fsize = (long long)oldlen;
        f.ignore_xfsz = 1;
        cause = "File too large";
    }
    cr_log_info("fault: full disk by %s", mech);
    tu_write(out, old, oldlen);
    if (f.fsize < 0) {
        fd = fault_fill(mnt);
    }
    rc = RUN_F(NULL, &f, "timestamp", "--tsa", srv.url, out);
    fault_assert_error(rc, out, cause);
    cr_assert(fault_same(out, old, oldlen), "the old bundle is intact");
    cr_assert_eq(fault_check_dir(mnt, names, NULL), 0, "no temporary file left");
    if (fd >= 0) {
        /* Room again: the same command completes. */
        close(fd);
        cr_assert_eq(unlink(fp("full/filler")), 0);
        cr_assert_eq(RUN("timestamp", "--tsa", srv.url, out), 0, "%s", fault_err);
        cr_assert_eq(umount2(mnt, MNT_DETACH), 0, "umount: %s", strerror(errno));
    }
    fault_ts_end(&srv, tsadir, old);
}
