/*
 * The thread pool (libsign/util/pool.c): nested parallel loops share one
 * budget and never run more threads than it allows; a budget of 1 keeps all
 * work on the caller's thread; a verify of many artifacts (plain files, zips
 * whose walk splits into parts, an OCI image whose layers are walked in
 * parallel) stays within the budget, in the library and in the CLI with
 * --jobs, and gives the same verdict whatever the budget.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "sign/sign.h"
#include "targen.h"
#include "testutil.h"
#include "zipgen.h"

extern char **environ;

/* ---- nested loops ---------------------------------------------------------------- */

/* Threads of this process now (entries of /proc/self/task). */
static size_t pt_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    size_t n = 0;

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

#define PT_OUTER 6
#define PT_MID 4
#define PT_INNER 3

typedef struct pt_run {
    pthread_t caller;
    int off_caller;   /* an item ran on another thread (atomic) */
    size_t tasks_max; /* most threads seen by an item (atomic) */
    unsigned int ran[PT_OUTER][PT_MID][PT_INNER];
} pt_run;

typedef struct pt_ctx {
    pt_run *run;
    size_t outer, mid;
} pt_ctx;

static void pt_note(pt_run *run)
{
    size_t t = pt_tasks(), cur = __atomic_load_n(&run->tasks_max, __ATOMIC_RELAXED);

    while (t > cur && !__atomic_compare_exchange_n(&run->tasks_max, &cur, t, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    if (!pthread_equal(pthread_self(), run->caller)) {
        __atomic_store_n(&run->off_caller, 1, __ATOMIC_RELAXED);
    }
}

static void pt_inner(void *arg, size_t i)
{
    pt_ctx *c = arg;

    pt_note(c->run);
    __atomic_add_fetch(&c->run->ran[c->outer][c->mid][i], 1, __ATOMIC_RELAXED);
    usleep(1000); /* long enough for idle workers to take the other items */
}

static void pt_mid(void *arg, size_t i)
{
    pt_ctx *c = arg, in = *c;

    in.mid = i;
    pt_note(c->run);
    sign__pool_for(PT_INNER, pt_inner, &in);
}

static void pt_outer(void *arg, size_t i)
{
    pt_ctx c = {arg, i, 0};

    pt_note(c.run);
    sign__pool_for(PT_MID, pt_mid, &c);
}

/* Three levels of loops (like verify -> scan -> layers) under budget; checks every item ran once. */
static void pt_nested(pt_run *run, unsigned int budget, sign__pool_stats *st)
{
    memset(run, 0, sizeof(*run));
    run->caller = pthread_self();
    cr_assert_eq(sign_set_thread_budget(budget), 0);
    cr_assert_eq(sign_thread_budget(), budget);
    sign__pool_stats_reset();
    sign__pool_for(PT_OUTER, pt_outer, run);
    sign__pool_stats_get(st);
    for (size_t a = 0; a < PT_OUTER; a++) {
        for (size_t b = 0; b < PT_MID; b++) {
            for (size_t c = 0; c < PT_INNER; c++) {
                cr_assert_eq(run->ran[a][b][c], 1, "budget %u: item %zu.%zu.%zu ran %u times", budget, a, b, c,
                             run->ran[a][b][c]);
            }
        }
    }
}

Test(pool, nested_loops_never_exceed_the_budget)
{
    static const unsigned int budgets[] = {1, 2, 4}; /* rising: no surplus workers are still ending */
    size_t base = pt_tasks();
    pt_run run;

    for (size_t k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++) {
        unsigned int b = budgets[k];
        sign__pool_stats st;

        pt_nested(&run, b, &st);
        cr_assert_leq(st.busy_max, b, "budget %u: %zu threads worked at once", b, st.busy_max);
        cr_assert_leq(st.workers_max, b - 1, "budget %u: %zu pool threads", b, st.workers_max);
        cr_assert_leq(run.tasks_max, base + b - 1, "budget %u: %zu threads alive (%zu before)", b, run.tasks_max,
                      base);
        if (b > 1) {
            /* The pool did work in parallel: budget - 1 workers were started and took items. */
            cr_assert_eq(st.workers_max, b - 1, "budget %u: %zu workers", b, st.workers_max);
            cr_assert(run.off_caller, "budget %u: every item ran on the caller", b);
        }
    }
}

Test(pool, budget_of_one_runs_everything_on_the_caller)
{
    size_t base = pt_tasks();
    sign__pool_stats st;
    pt_run run;

    pt_nested(&run, 1, &st);
    cr_assert_not(run.off_caller, "an item ran on another thread");
    cr_assert_eq(st.busy_max, 1);
    cr_assert_eq(st.workers_max, 0);
    cr_assert_eq(run.tasks_max, base);
}

Test(pool, budget_setting)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    cr_assert_eq(sign_set_thread_budget(0), 0);
    cr_assert_eq(sign_thread_budget(), cores > 1 ? (unsigned int)cores : 1u);
    cr_assert_eq(sign_set_thread_budget(3), 0);
    cr_assert_eq(sign_thread_budget(), 3);
    cr_assert_eq(sign_set_thread_budget(SIGN_THREAD_BUDGET_MAX + 1), SIGN_EINVAL);
    cr_assert_eq(sign_thread_budget(), 3, "a refused budget changes nothing");
    cr_assert_eq(sign_set_thread_budget(SIGN_THREAD_BUDGET_MAX), 0);
    cr_assert_eq(sign_thread_budget(), SIGN_THREAD_BUDGET_MAX);
}

Test(pool, lowered_budget_ends_surplus_workers)
{
    size_t base = pt_tasks();
    sign__pool_stats st;
    pt_run run;

    pt_nested(&run, 4, &st);
    cr_assert_eq(st.workers_max, 3);
    cr_assert_eq(sign_set_thread_budget(2), 0);
    for (int i = 0; i < 2000 && pt_tasks() > base + 1; i++) {
        usleep(1000);
    }
    cr_assert_eq(pt_tasks(), base + 1, "%zu threads after lowering the budget to 2 (%zu before)", pt_tasks(), base);
    pt_nested(&run, 2, &st);
    cr_assert_leq(st.busy_max, 2);
    cr_assert_leq(run.tasks_max, base + 1);
}

/* ---- a verify of many artifacts ------------------------------------------------------ */

static char *pv_dir;
static char pv_paths[16][512];
static const char *pv_arts[16];
static size_t pv_n;
static int64_t pv_at; /* one judging time for every verify, so that verdicts compare */

#define PV_LAYER "application/vnd.oci.image.layer.v1.tar"

static const char *pv_path(const char *name)
{
    static char buf[8][512];
    static size_t k;
    char *p = buf[k++ % 8];

    snprintf(p, 512, "%s/%s", pv_dir, name);
    return p;
}

static void pv_add(const char *name)
{
    snprintf(pv_paths[pv_n], sizeof(pv_paths[0]), "%s/%s", pv_dir, name);
    pv_arts[pv_n] = pv_paths[pv_n];
    pv_n++;
}

/* Deterministic bytes, compressible but not trivially. */
static void pv_fill(unsigned char *p, size_t n, unsigned int seed)
{
    unsigned int x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)('a' + ((x >> 16) % 16));
    }
}

static void pv_blob(const char *img, const void *data, size_t len, char out[80])
{
    unsigned char md[32];
    size_t mdlen = 0;
    char hex[65], path[1024];

    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len), 0);
    sign_hex_encode(hex, sizeof(hex), md, 32);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", img, hex);
    tu_write(path, data, len);
    snprintf(out, 80, "sha256:%s", hex);
}

static size_t pv_json_blob(const char *img, json_t *j, char out[80])
{
    char *s = json_dumps(j, JSON_COMPACT);
    size_t n;

    cr_assert_not_null(s);
    n = strlen(s);
    pv_blob(img, s, n, out);
    free(s);
    json_decref(j);
    return n;
}

/* An OCI layout "img" with four plain tar layers of 24 files each. */
static void pv_image(void)
{
    static unsigned char data[24][8192];
    char img[512], path[1024], layer[4][80], config[80], manifest[80];
    json_t *diff = json_array(), *layers = json_array(), *idx;
    size_t csize, msize;

    snprintf(img, sizeof(img), "%s/img", pv_dir);
    snprintf(path, sizeof(path), "%s/blobs/sha256", img);
    cr_assert_eq(mkdir(img, 0700), 0);
    cr_assert_eq(mkdir(pv_path("img/blobs"), 0700), 0);
    cr_assert_eq(mkdir(path, 0700), 0);
    tu_write_str(pv_path("img/oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    for (size_t l = 0; l < 4; l++) {
        tg_entry e[24];
        char names[24][32];
        unsigned char *tar = NULL;
        size_t len = 0;

        memset(e, 0, sizeof(e));
        for (size_t i = 0; i < 24; i++) {
            snprintf(names[i], sizeof(names[i]), "l%zu/f%02zu", l, i);
            pv_fill(data[i], sizeof(data[i]), (unsigned int)(l * 100 + i));
            e[i].name = names[i];
            e[i].data = data[i];
            e[i].len = sizeof(data[i]);
        }
        tg_tar(&tar, &len, e, 24);
        pv_blob(img, tar, len, layer[l]);
        json_array_append_new(diff, json_string(layer[l]));
        json_array_append_new(
            layers, json_pack("{s:s,s:s,s:I}", "mediaType", PV_LAYER, "digest", layer[l], "size", (json_int_t)len));
        free(tar);
    }
    csize = pv_json_blob(img,
                         json_pack("{s:s,s:s,s:{s:s,s:o}}", "architecture", "amd64", "os", "linux", "rootfs", "type",
                                   "layers", "diff_ids", diff),
                         config);
    msize = pv_json_blob(img,
                         json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                                   "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                                   "application/vnd.oci.image.config.v1+json", "digest", config, "size",
                                   (json_int_t)csize, "layers", layers),
                         manifest);
    idx = json_pack("{s:i,s:s,s:[{s:s,s:s,s:I,s:{s:s}}]}", "schemaVersion", 2, "mediaType",
                    "application/vnd.oci.image.index.v1+json", "manifests", "mediaType",
                    "application/vnd.oci.image.manifest.v1+json", "digest", manifest, "size", (json_int_t)msize,
                    "annotations", "org.opencontainers.image.ref.name", "latest");
    cr_assert_not_null(idx);
    cr_assert_eq(json_dump_file(idx, pv_path("img/index.json"), JSON_COMPACT), 0);
    json_decref(idx);
    pv_add("img");
}

/* Two zips of 200 deflated entries, four plain files, the image; a key, a policy and one bundle for all. */
static void pv_setup(void)
{
    static unsigned char data[200][4096];
    const char *argv[24];
    char *err = NULL;
    size_t n = 0;

    pv_dir = tu_mkdtemp();
    pv_n = 0;
    pv_at = (int64_t)time(NULL);
    for (unsigned int z = 0; z < 2; z++) {
        zg_entry e[200];
        char names[200][32], zname[32];

        memset(e, 0, sizeof(e));
        for (size_t i = 0; i < 200; i++) {
            snprintf(names[i], sizeof(names[i]), "dir/e%03zu.txt", i);
            pv_fill(data[i], sizeof(data[i]), z * 1000 + (unsigned int)i);
            e[i].name = names[i];
            e[i].data = data[i];
            e[i].len = sizeof(data[i]);
            e[i].deflate = 1;
        }
        snprintf(zname, sizeof(zname), "app%u.zip", z);
        zg_write(pv_path(zname), e, 200, NULL);
        pv_add(zname);
    }
    for (unsigned int f = 0; f < 4; f++) {
        char fname[32];

        snprintf(fname, sizeof(fname), "file%u.bin", f);
        pv_fill(data[f], sizeof(data[f]), 7000 + f);
        tu_write(pv_path(fname), data[f], sizeof(data[f]));
        pv_add(fname);
    }
    pv_image();
    argv[n++] = "signet";
    argv[n++] = "keygen";
    argv[n++] = "--no-passphrase";
    argv[n++] = "-o";
    argv[n++] = pv_path("key");
    argv[n] = NULL;
    cr_assert_eq(tu_run(NULL, &err, NULL, argv), 0, "keygen: %s", err);
    free(err);
    err = NULL;
    tu_write_str(pv_path("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
    n = 0;
    argv[n++] = "signet";
    argv[n++] = "sign";
    argv[n++] = "-k";
    argv[n++] = pv_path("key.key");
    argv[n++] = "-o";
    argv[n++] = pv_path("all.b");
    for (size_t i = 0; i < pv_n; i++) {
        argv[n++] = pv_arts[i];
    }
    argv[n] = NULL;
    cr_assert_eq(tu_run(NULL, &err, NULL, argv), 0, "sign: %s", err);
    free(err);
}

static void pv_teardown(void)
{
    sign_set_thread_budget(0);
    tu_rmtree(pv_dir);
    free(pv_dir);
    pv_dir = NULL;
}

/* sign_verify of every artifact under budget: the verdict JSON (malloc'd); the pool's statistics into st. */
static char *pv_verify(unsigned int budget, sign__pool_stats *st)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    const char *bundles[1] = {pv_path("all.b")};
    sign_policy *p = NULL;
    sign_verify_result *res = NULL;
    char *js = NULL;
    int r;

    cr_assert_eq(sign_policy_load(&p, pv_path("policy.json"), NULL), 0, "%s", sign_error_last());
    o.artifacts = pv_arts;
    o.nartifacts = pv_n;
    o.bundles = bundles;
    o.nbundles = 1;
    o.flags = SIGN_VERIFY_ENTRIES;
    o.at = pv_at;
    cr_assert_eq(sign_set_thread_budget(budget), 0);
    sign__pool_stats_reset();
    r = sign_verify(&res, p, &o);
    sign__pool_stats_get(st);
    cr_assert_eq(r, 0, "budget %u: %s", budget, sign_error_last());
    cr_assert_eq(sign_verify_result_json(&js, res), 0);
    sign_verify_result_free(res);
    sign_policy_free(p);
    return js;
}

Test(pool, verify_of_zips_files_and_an_image_within_the_budget, .init = pv_setup, .fini = pv_teardown)
{
    static const unsigned int budgets[] = {1, 2, 4};
    sign__pool_stats st;
    char *first = NULL;

    for (size_t k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++) {
        unsigned int b = budgets[k];
        char *js = pv_verify(b, &st);

        cr_assert_leq(st.busy_max, b, "budget %u: %zu threads worked at once", b, st.busy_max);
        cr_assert_leq(st.workers_max, b - 1, "budget %u: %zu pool threads", b, st.workers_max);
        cr_assert_geq(st.busy_max, b > 1 ? 2 : 1, "budget %u: only %zu threads worked", b, st.busy_max);
        if (first == NULL) {
            first = js;
            cr_assert_not_null(strstr(first, "img"), "%s", first);
        } else {
            /* The verdict (every check, in order) does not depend on the budget. */
            size_t d = 0;

            while (js[d] != '\0' && js[d] == first[d]) {
                d++;
            }
            cr_assert_str_eq(js, first, "budget %u differs at byte %zu: ...%.160s\nbudget 1: ...%.160s", b, d,
                             js + (d > 80 ? d - 80 : 0), first + (d > 80 ? d - 80 : 0));
            free(js);
        }
    }
    free(first);
}

/* Run the CLI (stdout and stderr to /dev/null), sampling Threads: of /proc/PID/status until it ends. */
static int pv_cli_threads(const char *const *argv, size_t *max_threads, size_t *samples)
{
    posix_spawn_file_actions_t fa;
    const char *bin = getenv("SIGNET_BIN");
    pid_t pid;
    int status = 0;
    char st_path[64];

    cr_assert_not_null(bin, "SIGNET_BIN is not set (run through make test)");
    *max_threads = 0;
    *samples = 0;
    cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    snprintf(st_path, sizeof(st_path), "/proc/%d/status", (int)pid);
    for (;;) {
        FILE *f = fopen(st_path, "r");
        char line[256];
        pid_t w;

        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            size_t t;

            if (sscanf(line, "Threads: %zu", &t) == 1) {
                *max_threads = t > *max_threads ? t : *max_threads;
                (*samples)++;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
        w = waitpid(pid, &status, WNOHANG);
        cr_assert_neq(w, -1);
        if (w == pid) {
            break;
        }
        usleep(200);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

Test(pool, cli_jobs_bounds_the_threads_of_a_verify, .init = pv_setup, .fini = pv_teardown)
{
    static const char *const jobs[] = {"1", "2", "4"};
    static const size_t budget[] = {1, 2, 4};
    const char *argv[32];

    for (size_t k = 0; k < 3; k++) {
        size_t n = 0, max = 0, samples = 0;
        int rc;

        argv[n++] = "signet";
        argv[n++] = "verify";
        argv[n++] = "--jobs";
        argv[n++] = jobs[k];
        argv[n++] = "--entries";
        argv[n++] = "-p";
        argv[n++] = pv_path("policy.json");
        argv[n++] = "-b";
        argv[n++] = pv_path("all.b");
        for (size_t i = 0; i < pv_n; i++) {
            argv[n++] = pv_arts[i];
        }
        argv[n] = NULL;
        rc = pv_cli_threads(argv, &max, &samples);
        cr_assert_eq(rc, 0, "verify --jobs %s: exit %d", jobs[k], rc);
        cr_log_info("jobs %s: max %zu threads in %zu samples", jobs[k], max, samples);
        cr_assert_gt(samples, 0);
        cr_assert_leq(max, budget[k], "verify --jobs %s: %zu threads seen", jobs[k], max);
    }
}

/*
 * signet audit shares the one budget: its threads are the pool's, and the verifies inside them (hashing,
 * bundle checks, the image's layers) run on those threads, never on more. Every artifact has a copy of the
 * bundle that signs them all beside it. (Its own threads beside the pool's made 2 x N threads before.)
 */
Test(pool, cli_jobs_bounds_the_threads_of_an_audit, .init = pv_setup, .fini = pv_teardown)
{
    static const char *const jobs[] = {"1", "2", "3"};
    static const size_t budget[] = {1, 2, 3};
    const char *argv[16];
    char *list = tu_path(pv_dir, "list.txt");
    FILE *f = fopen(list, "w");

    cr_assert_not_null(f);
    for (size_t i = 0; i < pv_n; i++) {
        size_t len = 0;
        char *data = tu_read(pv_path("all.b"), &len);
        char dst[600];

        snprintf(dst, sizeof(dst), "%s.sigstore.json", pv_arts[i]);
        tu_write(dst, data, len);
        free(data);
        fprintf(f, "%s\n", pv_arts[i]);
    }
    cr_assert_eq(fclose(f), 0);
    for (size_t k = 0; k < 3; k++) {
        size_t n = 0, max = 0, samples = 0;
        int rc;

        argv[n++] = "signet";
        argv[n++] = "audit";
        argv[n++] = "--jobs";
        argv[n++] = jobs[k];
        argv[n++] = "-p";
        argv[n++] = pv_path("policy.json");
        argv[n++] = "--from-list";
        argv[n++] = list;
        argv[n] = NULL;
        rc = pv_cli_threads(argv, &max, &samples);
        cr_assert_eq(rc, 0, "audit --jobs %s: exit %d", jobs[k], rc);
        cr_log_info("audit jobs %s: max %zu threads in %zu samples", jobs[k], max, samples);
        cr_assert_gt(samples, 0);
        cr_assert_leq(max, budget[k], "audit --jobs %s: %zu threads seen", jobs[k], max);
    }
    free(list);
}

Test(pool, cli_jobs_is_checked)
{
    static const char *const bad[] = {"0", "-1", "x", "2x", "1025", ""};
    static const char *const cmds[][3] = {{"verify", "-p", "policy.json"}, {"hash", NULL, NULL}};

    for (size_t c = 0; c < 2; c++) {
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            const char *argv[8];
            char *err = NULL;
            size_t n = 0;
            int rc;

            argv[n++] = "signet";
            for (size_t j = 0; j < 3 && cmds[c][j] != NULL; j++) {
                argv[n++] = cmds[c][j];
            }
            argv[n++] = "--jobs";
            argv[n++] = bad[k];
            argv[n++] = "artifact";
            argv[n] = NULL;
            rc = tu_run(NULL, &err, NULL, argv);
            cr_assert_eq(rc, 2, "%s --jobs '%s': exit %d", cmds[c][0], bad[k], rc);
            cr_assert_not_null(strstr(err, "--jobs"), "%s", err);
            free(err);
        }
    }
}
