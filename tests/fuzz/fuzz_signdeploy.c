/*
 * Fuzz target: what deploy installs is what was signed. The input (a zip, a
 * tar layer, a docker save archive, anything) is signed in-process with an
 * Ed25519 key that the policy trusts, every dangerous finding allowed, then
 * deployed with sign_deploy into box/deploy: the private copy, the
 * verification, the extraction (for a zip, the one walk that checks each
 * entry as it writes it). Whatever the bytes:
 * - the deploy succeeds or fails with a known code and a message;
 * - nothing appears in box/ beside deploy/, nor in deploy/ beside releases/,
 *   current and deploy's lock and record files (no staging directory, no
 *   private copy), nor in releases/ beside the release, its kept artifact
 *   and its bundle;
 * - a failed deploy leaves no current; a successful one points current at
 *   the release, and the kept artifact holds the input's bytes;
 * - a deployed zip or layer is its signed entries and nothing else: every
 *   recorded file, directory and symlink is there with its recorded SHA-256
 *   or target, and everything there was recorded (directories above a
 *   recorded entry aside). A name recorded twice may hold either record.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"
#include "fuzz.h"
#include "path.h"

static char *input_path, *bundle_path, *box_path, *deploy_path;
static sign_policy *policy;

static void teardown(void)
{
    sign_policy_free(policy);
    free(input_path);
    free(bundle_path);
    free(box_path);
    free(deploy_path);
}

static void setup(void)
{
    static const char text[] = "{\"version\":1,\"keys\":[{\"name\":\"fuzz\",\"public_key\":\"fuzz.pub\","
                               "\"artifacts\":[\"app.*\"]}]}\n";
    char *pub = fuzz_path("fuzz.pub"), *pol = fuzz_path("policy.json");

    input_path = fuzz_path("app.bin");
    bundle_path = fuzz_path("app.bin.sigstore.json");
    box_path = fuzz_path("box");
    if ((deploy_path = malloc(strlen(box_path) + sizeof("/deploy"))) == NULL) {
        fuzz_fail("out of memory");
    }
    sprintf(deploy_path, "%s/deploy", box_path);
    if (sign_key_write_public(fuzz_key(SIGN_KEY_ED25519), pub) != 0) {
        fuzz_fail("write the public key: %s", sign_error_last());
    }
    fuzz_write_file("policy.json", text, sizeof(text) - 1);
    if (sign_policy_load(&policy, pol, NULL) != 0) {
        fuzz_fail("load the policy: %s", sign_error_last());
    }
    free(pub);
    free(pol);
    atexit(teardown);
}

/* Sign the input, every dangerous finding allowed: the artifact as signed, or NULL when signing refused it. */
static sign_artifact *sign_input(const sign_limits *lim)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1] = {input_path};
    const char **allow = NULL;
    sign_artifact **out = NULL;
    sign_bundle *b = NULL;
    int r;

    o.key = fuzz_key(SIGN_KEY_ED25519);
    o.artifacts = arts;
    o.nartifacts = 1;
    o.output = bundle_path;
    o.created = 1700000000;
    o.limits = lim;
    r = sign_sign(&b, &out, &o);
    if (r == SIGN_EFINDING && out != NULL && out[0] != NULL) {
        size_t n = sign_artifact_finding_count(out[0]);

        if ((allow = calloc(n + 1, sizeof(*allow))) == NULL) {
            fuzz_fail("out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            allow[i] = sign_artifact_finding(out[0], i)->id;
        }
        o.allow = allow;
        o.nallow = n;
        sign_bundle_free(b);
        b = NULL;
        r = sign_sign(&b, NULL, &o);
        free(allow);
    }
    sign_bundle_free(b);
    if (r != 0) {
        fuzz_check_error(r, "sign_sign");
        sign_artifacts_free(out, 1);
        return NULL;
    }
    {
        sign_artifact *a = out[0];

        free(out);
        return a;
    }
}

/* ---- the release against the signed entries ---------------------------------------------- */

typedef struct rec {
    char *path; /* normalised */
    const sign_entry *e;
} rec;

typedef struct recs {
    rec *v;
    size_t n;
} recs;

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(((const rec *)a)->path, ((const rec *)b)->path);
}

static void recs_make(recs *rs, const sign_artifact *a)
{
    size_t n = sign_artifact_entry_count(a);

    rs->n = 0;
    if ((rs->v = calloc(n + 1, sizeof(*rs->v))) == NULL) {
        fuzz_fail("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const sign_entry *e = sign_artifact_entry(a, i);
        char *p = sign__path_norm(e->path);

        if (p == NULL) {
            fuzz_fail("out of memory");
        }
        rs->v[rs->n++] = (rec){p, e};
    }
    qsort(rs->v, rs->n, sizeof(*rs->v), cmp_rec);
}

static void recs_free(recs *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].path);
    }
    free(rs->v);
}

/* The first record named p, or NULL. */
static const rec *recs_find(const recs *rs, const char *p)
{
    size_t lo = 0, hi = rs->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(rs->v[mid].path, p) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < rs->n && strcmp(rs->v[lo].path, p) == 0 ? &rs->v[lo] : NULL;
}

/* Is p a directory above a recorded entry? */
static int recs_parent(const recs *rs, const char *p)
{
    size_t len = strlen(p);

    for (size_t i = 0; i < rs->n; i++) {
        if (strncmp(rs->v[i].path, p, len) == 0 && rs->v[i].path[len] == '/') {
            return 1;
        }
    }
    return 0;
}

static void file_sha256(unsigned char md[SIGN_SHA256_LEN], int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
    size_t len = 0;

    if (fd < 0 || sign_digest_fd(md, SIGN_SHA256_LEN, &len, NULL, SIGN_DIGEST_SHA256, fd) != 0) {
        fuzz_fail("hash the deployed %s", name);
    }
    close(fd);
}

/* A regular file at rel: some record of that name is a file (or a hard link to one) with its content. */
static int file_matches(const recs *rs, const rec *r, const unsigned char md[SIGN_SHA256_LEN])
{
    for (; r < rs->v + rs->n && strcmp(r->path, r[0].path) == 0; r++) {
        const sign_entry *e = r->e;

        if (e->type == SIGN_ENTRY_HARDLINK && e->link_target != NULL) {
            char *t = sign__path_norm(e->link_target);
            const rec *to = t != NULL ? recs_find(rs, t) : NULL;

            free(t);
            if (to != NULL && file_matches(rs, to, md)) {
                return 1;
            }
        }
        if (e->type == SIGN_ENTRY_FILE && e->has_digest && memcmp(e->sha256, md, SIGN_SHA256_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

static int has_type(const recs *rs, const rec *r, sign_entry_type type, const char *target)
{
    const char *name = r->path;

    for (; r < rs->v + rs->n && strcmp(r->path, name) == 0; r++) {
        if (r->e->type == type &&
            (target == NULL || (r->e->link_target != NULL && !strcmp(r->e->link_target, target)))) {
            return 1;
        }
    }
    return 0;
}

/* Everything below dirfd (at rel) was recorded, as it was recorded; *seen counts the names met. */
static void walk_release(const recs *rs, int dirfd, const char *rel, size_t *seen)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        fuzz_fail("read the release at %s", rel);
    }
    while ((de = readdir(d)) != NULL) {
        char path[8192], target[4096];
        struct stat st;
        const rec *r;
        ssize_t tn;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", de->d_name);
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            fuzz_fail("stat the deployed %s", path);
        }
        r = recs_find(rs, path);
        (*seen)++;
        if (S_ISDIR(st.st_mode)) {
            int sub;

            if ((r == NULL || !has_type(rs, r, SIGN_ENTRY_DIR, NULL)) && !recs_parent(rs, path)) {
                fuzz_fail("deployed the directory %s, which was not signed", path);
            }
            if ((sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0) {
                fuzz_fail("open the deployed %s", path);
            }
            walk_release(rs, sub, path, seen);
            close(sub);
        } else if (S_ISREG(st.st_mode)) {
            unsigned char md[SIGN_SHA256_LEN];

            file_sha256(md, dirfd, de->d_name);
            if (r == NULL || !file_matches(rs, r, md)) {
                fuzz_fail("deployed the file %s, whose bytes were not signed under that name", path);
            }
        } else if (S_ISLNK(st.st_mode)) {
            if ((tn = readlinkat(dirfd, de->d_name, target, sizeof(target) - 1)) < 0) {
                fuzz_fail("read the deployed symlink %s", path);
            }
            target[tn] = '\0';
            if (r == NULL || !has_type(rs, r, SIGN_ENTRY_SYMLINK, target)) {
                fuzz_fail("deployed the symlink %s -> %s, which was not signed", path, target);
            }
        } else {
            fuzz_fail("deployed %s, a special file", path);
        }
    }
    closedir(d);
}

/* Every recorded file, directory, symlink and hard link is in the release. */
static void all_there(const recs *rs, int relfd)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct stat st;
        sign_entry_type t = rs->v[i].e->type;

        if (t != SIGN_ENTRY_FILE && t != SIGN_ENTRY_DIR && t != SIGN_ENTRY_SYMLINK && t != SIGN_ENTRY_HARDLINK) {
            continue;
        }
        if (rs->v[i].path[0] != '\0' && fstatat(relfd, rs->v[i].path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            fuzz_fail("the signed entry %s was not deployed", rs->v[i].e->path);
        }
    }
}

/* ---- the deploy directory ------------------------------------------------------------------ */

/* dir holds only the names ok accepts (ok NULL: none); how many. */
static size_t only_names(const char *dir, int (*ok)(const char *name, void *ctx), void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (d == NULL) {
        fuzz_fail("read %s", dir);
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (ok == NULL || !ok(de->d_name, ctx)) {
            fuzz_fail("%s holds %s", dir, de->d_name);
        }
        n++;
    }
    closedir(d);
    return n;
}

static int box_name(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "deploy") == 0;
}

static int deploy_name(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const names[] = {"releases", "current", ".signet-deploy.lock", ".signet-deploy.json",
                                        ".signet-deploy.json.lock"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* releases/: <id>, <id>.artifact, <id>.bundle.<k>, with id the release current names. */
static int release_name(const char *name, void *ctx)
{
    const char *id = ctx;
    size_t len = strlen(id);

    return strncmp(name, id, len) == 0 &&
           (name[len] == '\0' || strcmp(name + len, ".artifact") == 0 || strncmp(name + len, ".bundle.", 8) == 0);
}

static void check_kept_artifact(const char *releases, const char *id, const uint8_t *data, size_t size)
{
    unsigned char want[SIGN_SHA256_LEN], got[SIGN_SHA256_LEN];
    char name[300];
    size_t len = 0;
    int dfd = open(releases, O_RDONLY | O_DIRECTORY);

    snprintf(name, sizeof(name), "%s.artifact", id);
    if (dfd < 0 || sign_digest_buffer(want, sizeof(want), &len, SIGN_DIGEST_SHA256, data, size) != 0) {
        fuzz_fail("hash the input");
    }
    file_sha256(got, dfd, name);
    close(dfd);
    if (memcmp(want, got, sizeof(want)) != 0) {
        fuzz_fail("the kept artifact %s is not the input", name);
    }
}

static void check_release(const sign_artifact *a, const uint8_t *data, size_t size)
{
    char cur[4096], target[512], releases[4096];
    sign_artifact_kind kind = sign_artifact_get_kind(a);
    ssize_t n;

    snprintf(cur, sizeof(cur), "%s/current", deploy_path);
    snprintf(releases, sizeof(releases), "%s/releases", deploy_path);
    if ((n = readlink(cur, target, sizeof(target) - 1)) <= 0) {
        fuzz_fail("a deploy succeeded without a current symlink");
    }
    target[n] = '\0';
    if (strncmp(target, "releases/", 9) != 0 || strchr(target + 9, '/') != NULL || target[9] == '\0') {
        fuzz_fail("current -> %s", target);
    }
    only_names(releases, release_name, target + 9);
    check_kept_artifact(releases, target + 9, data, size);
    if (kind == SIGN_ARTIFACT_ZIP || kind == SIGN_ARTIFACT_LAYER) {
        recs rs;
        size_t seen = 0;
        int relfd = open(cur, O_RDONLY | O_DIRECTORY);

        if (relfd < 0) {
            fuzz_fail("open the release");
        }
        recs_make(&rs, a);
        walk_release(&rs, relfd, "", &seen);
        all_there(&rs, relfd);
        if (getenv("FUZZ_VERBOSE") != NULL) {
            fprintf(stderr, "fuzz: signdeploy: %zu names deployed, %zu entries signed\n", seen, rs.n);
        }
        close(relfd);
        recs_free(&rs);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_deploy_options o = SIGN_DEPLOY_OPTIONS_INIT;
    sign_deploy_result *res = NULL;
    sign_artifact *a;
    sign_limits lim;
    const char *bundles[1];
    char cur[4096];
    struct stat st;
    int boxfd, r;

    if (policy == NULL) {
        setup();
    }
    fuzz_write_file("app.bin", data, size);
    fuzz_limits(&lim);
    if ((a = sign_input(&lim)) == NULL) {
        return 0;
    }
    (void)mkdir(box_path, 0700);
    if ((boxfd = open(box_path, O_RDONLY | O_DIRECTORY)) < 0 || dpl_remove_tree(boxfd, "deploy") != 0 ||
        mkdirat(boxfd, "deploy", 0700) != 0) {
        fuzz_fail("a fresh deploy directory: %s", sign_error_last());
    }
    bundles[0] = bundle_path;
    o.artifact = input_path;
    o.bundles = bundles;
    o.nbundles = 1;
    o.to = deploy_path;
    o.limits = &lim;
    r = sign_deploy(&res, policy, &o);
    only_names(box_path, box_name, NULL);
    only_names(deploy_path, deploy_name, NULL);
    snprintf(cur, sizeof(cur), "%s/current", deploy_path);
    if (getenv("FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "fuzz: signdeploy: %s %s\n", r == 0 ? "deployed" : "refused",
                r == 0 ? "" : sign_error_last());
    }
    if (r != 0) {
        fuzz_check_error(r, "sign_deploy");
        if (lstat(cur, &st) == 0) {
            fuzz_fail("a failed deploy (%s) left current", sign_error_last());
        }
    } else {
        check_release(a, data, size);
    }
    sign_deploy_result_free(res);
    if (dpl_remove_tree(boxfd, "deploy") != 0) {
        fuzz_fail("remove the deploy directory: %s", sign_error_last());
    }
    close(boxfd);
    sign_artifact_free(a);
    return 0;
}
