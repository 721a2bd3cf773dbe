/*
 * The parallel zip entry walk (one libarchive header walk, then deflate content in
 * chunks that any free thread takes) must
 * report exactly what one sequential walk reports: the same entries in the
 * same order and the same findings, also when an archive makes the parts fall
 * back to the sequential walk (limits that add up, unreadable entries).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "artifact_int.h"
#include "zipgen.h"

static char *wk_dir;

static void wk_setup(void)
{
    wk_dir = tu_mkdtemp();
}

static void wk_teardown(void)
{
    sign__zip_walk_parts(0);
    sign__fmap_disable(0);
    sign__fmap_set_hook(NULL);
    tu_rmtree(wk_dir);
    free(wk_dir);
    wk_dir = NULL;
}

TestSuite(walk, .init = wk_setup, .fini = wk_teardown);

static sign_artifact *wk_scan(const char *path, size_t parts, const sign_limits *lim)
{
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;

    o.limits = lim;
    sign__zip_walk_parts(parts);
    cr_assert_eq(sign_artifact_scan(&a, path, NULL, &o), 0, "scan (%zu parts): %s", parts, sign_error_last());
    sign__zip_walk_parts(0);
    return a;
}

static int wk_same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every entry and finding of b equals a's, in order. */
static void wk_expect_same(const sign_artifact *a, const sign_artifact *b, size_t parts)
{
    cr_assert_eq(sign_artifact_entry_count(b), sign_artifact_entry_count(a), "%zu parts: %zu entries, sequential %zu",
                 parts, sign_artifact_entry_count(b), sign_artifact_entry_count(a));
    for (size_t i = 0; i < sign_artifact_entry_count(a); i++) {
        const sign_entry *x = sign_artifact_entry(a, i), *y = sign_artifact_entry(b, i);

        cr_assert_str_eq(y->path, x->path, "%zu parts: entry %zu", parts, i);
        cr_assert_eq(y->type, x->type, "%zu parts: entry %s type", parts, x->path);
        cr_assert_eq(y->mode, x->mode, "%zu parts: entry %s mode", parts, x->path);
        cr_assert_eq(y->size, x->size, "%zu parts: entry %s size", parts, x->path);
        cr_assert_eq(y->has_digest, x->has_digest, "%zu parts: entry %s digest", parts, x->path);
        cr_assert_eq(memcmp(y->sha256, x->sha256, sizeof(x->sha256)), 0, "%zu parts: entry %s digest", parts,
                     x->path);
        cr_assert(wk_same_str(y->link_target, x->link_target), "%zu parts: entry %s link", parts, x->path);
    }
    cr_assert_eq(sign_artifact_finding_count(b), sign_artifact_finding_count(a),
                 "%zu parts: %zu findings, sequential %zu", parts, sign_artifact_finding_count(b),
                 sign_artifact_finding_count(a));
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        const sign_finding *x = sign_artifact_finding(a, i), *y = sign_artifact_finding(b, i);

        cr_assert_str_eq(y->id, x->id, "%zu parts: finding %zu", parts, i);
        cr_assert_eq(y->severity, x->severity, "%zu parts: finding %s", parts, x->id);
        cr_assert(wk_same_str(y->path, x->path), "%zu parts: finding %s path", parts, x->id);
        cr_assert_str_eq(y->message, x->message, "%zu parts: finding %s", parts, x->id);
    }
    cr_assert_eq(memcmp(sign_artifact_sha256(a), sign_artifact_sha256(b), SIGN_SHA256_LEN), 0);
}

/* Walked in 2, 3 and 4 parts, path reports what seq (its sequential walk) reports, without the fallback. */
static void wk_expect_parts_same(const sign_artifact *seq, const char *path)
{
    for (size_t parts = 2; parts <= 4; parts++) {
        size_t fb = sign__zip_walk_fallbacks();
        sign_artifact *par = wk_scan(path, parts, NULL);

        cr_assert_eq(sign__zip_walk_fallbacks(), fb, "%zu parts: walked in parts, not by the fallback", parts);
        wk_expect_same(seq, par, parts);
        sign_artifact_free(par);
    }
}

static int wk_has(const sign_artifact *a, const char *id)
{
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        if (strcmp(sign_artifact_finding(a, i)->id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

#define WK_N 150

/* A zip of WK_N entries of assorted content, findings spread over the whole archive (pad: 2 MiB more, stored). */
static char *wk_zip_pad(const char *name, uint32_t crc_xor_at, size_t bomb_at, int pad)
{
    static char texts[WK_N][256];
    zg_entry e[WK_N];
    char *names[WK_N];
    char *path = tu_path(wk_dir, name);

    memset(e, 0, sizeof(e));
    for (size_t i = 0; i < WK_N; i++) {
        names[i] = malloc(64);
        cr_assert_not_null(names[i]);
        snprintf(names[i], 64, "app/dir%02zu/file%03zu.js", i % 7, i);
        snprintf(texts[i], sizeof(texts[i]), "module.exports = %zu; // entry %zu of the walk test\n", i * 7919, i);
        e[i].name = names[i];
        e[i].data = texts[i];
        e[i].len = strlen(texts[i]);
        e[i].deflate = i % 3 != 0;
        e[i].unix_mode = S_IFREG | 0644;
    }
    /* Findings in both halves: secrets, traversal, duplicates, a symlink out, an entry below it. */
    snprintf(names[5], 64, "config/.env");
    snprintf(texts[5], sizeof(texts[5]), "DB_PASSWORD=hunter2\n");
    e[5].len = strlen(texts[5]);
    snprintf(names[20], 64, "../outside.txt");
    snprintf(names[40], 64, "app/dup.js");
    snprintf(names[110], 64, "app/dup.js");
    snprintf(names[80], 64, "app/link");
    snprintf(texts[80], sizeof(texts[80]), "/etc/passwd");
    e[80].len = strlen(texts[80]);
    e[80].unix_mode = S_IFLNK | 0777;
    e[80].deflate = 0;
    snprintf(names[130], 64, "app/link/through.js");
    snprintf(names[140], 64, "deploy/id_rsa");
    snprintf(texts[140], sizeof(texts[140]),
             "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
    e[140].len = strlen(texts[140]);
    if (crc_xor_at < WK_N) {
        e[crc_xor_at].crc_xor = 0x55aa55aa;
    }
    if (bomb_at < WK_N) {
        e[bomb_at].data = NULL;
        e[bomb_at].len = 0;
        e[bomb_at].zeros = 8u * 1024 * 1024;
        e[bomb_at].deflate = 1;
    }
    if (pad) {
        e[60].data = NULL;
        e[60].len = 0;
        e[60].zeros = 2u * 1024 * 1024;
        e[60].deflate = 0;
    }
    zg_write(path, e, WK_N, NULL);
    for (size_t i = 0; i < WK_N; i++) {
        free(names[i]);
    }
    return path;
}

static char *wk_zip(const char *name, uint32_t crc_xor_at, size_t bomb_at)
{
    return wk_zip_pad(name, crc_xor_at, bomb_at, 0);
}

Test(walk, parts_report_what_one_walk_reports)
{
    char *path = wk_zip("mixed.zip", UINT32_MAX, SIZE_MAX);
    sign_artifact *seq = wk_scan(path, 1, NULL);

    /* The premise: findings from entries in every part. */
    cr_assert(wk_has(seq, "zip-secret-env"));
    cr_assert(wk_has(seq, "zip-path-traversal"));
    cr_assert(wk_has(seq, "zip-duplicate-name"));
    cr_assert(wk_has(seq, "zip-symlink-escape"));
    cr_assert(wk_has(seq, "zip-path-through-symlink"));
    cr_assert(wk_has(seq, "zip-secret-private-key"));
    cr_assert_eq(sign_artifact_entry_count(seq), WK_N);
    wk_expect_parts_same(seq, path);
    sign_artifact_free(seq);
    free(path);
}

Test(walk, a_crc_mismatch_in_a_later_part_is_reported_the_same)
{
    char *path = wk_zip("crc.zip", 120, SIZE_MAX);
    sign_artifact *seq = wk_scan(path, 1, NULL), *par;
    size_t fb = sign__zip_walk_fallbacks();

    par = wk_scan(path, 2, NULL);
    cr_assert_eq(sign__zip_walk_fallbacks(), fb, "walked in parts, not by the fallback");

    cr_assert(wk_has(seq, "zip-crc-mismatch"));
    wk_expect_same(seq, par, 2);
    sign_artifact_free(seq);
    sign_artifact_free(par);
    free(path);
}

Test(walk, a_total_over_the_limit_falls_back_to_one_walk)
{
    /* Each part stays under the limit; the sum does not: the walk must stop where one walk stops. */
    char *path = wk_zip("total.zip", UINT32_MAX, 100);
    sign_limits lim;
    sign_artifact *seq, *par;
    size_t fb;

    sign_limits_default(&lim);
    lim.archive_max_total = 8u * 1024 * 1024 + 1000;
    lim.entry_max_ratio = 100000;
    lim.archive_max_ratio = 100000;
    seq = wk_scan(path, 1, &lim);
    cr_assert(wk_has(seq, "zip-limit-total"), "premise: the sequential walk hits the total limit");
    cr_assert_lt(sign_artifact_entry_count(seq), WK_N, "premise: the walk stopped early");
    fb = sign__zip_walk_fallbacks();
    par = wk_scan(path, 2, &lim);
    cr_assert_eq(sign__zip_walk_fallbacks(), fb + 1, "the parts' sum is over the limit: one walk instead");
    wk_expect_same(seq, par, 2);
    sign_artifact_free(par);
    par = wk_scan(path, 3, &lim);
    wk_expect_same(seq, par, 3);
    sign_artifact_free(seq);
    sign_artifact_free(par);
    free(path);
}

Test(walk, a_bomb_in_a_later_part_stops_the_walk_there)
{
    char *path = wk_zip("bomb.zip", UINT32_MAX, 120);
    sign_limits lim;
    sign_artifact *seq, *par;

    sign_limits_default(&lim);
    lim.entry_max_ratio = 50;
    seq = wk_scan(path, 1, &lim);
    cr_assert(wk_has(seq, "zip-limit-entry-ratio"), "premise: the bomb is found");
    par = wk_scan(path, 2, &lim);
    wk_expect_same(seq, par, 2);
    sign_artifact_free(seq);
    sign_artifact_free(par);
    free(path);
}

static int wk_maps;

static void wk_map_hook(int fd)
{
    (void)fd;
    wk_maps++;
}

/* A zip large enough to be mapped reads the same through the mapping as through pread, in parts or not. */
Test(walk, a_mapped_zip_reports_what_pread_reports)
{
    char *plain = wk_zip_pad("mapped.zip", UINT32_MAX, SIZE_MAX, 1), *bad = wk_zip_pad("crc.zip", 100, SIZE_MAX, 1);
    const char *paths[] = {plain, bad};

    for (size_t k = 0; k < 2; k++) {
        sign_artifact *ref;

        sign__fmap_disable(1);
        ref = wk_scan(paths[k], 1, NULL);
        sign__fmap_disable(0);
        cr_assert(wk_has(ref, "zip-secret-private-key"));
        cr_assert_eq(wk_has(ref, "zip-crc-mismatch"), k == 1);
        for (size_t parts = 1; parts <= 3; parts++) {
            sign_artifact *m;

            wk_maps = 0;
            sign__fmap_set_hook(wk_map_hook);
            m = wk_scan(paths[k], parts, NULL);
            sign__fmap_set_hook(NULL);
            cr_assert_eq(wk_maps, 1, "not mapped");
            wk_expect_same(ref, m, parts);
            sign_artifact_free(m);
        }
        sign_artifact_free(ref);
    }
    free(plain);
    free(bad);
}

/*
 * The parallel walk reads stored entries in its header walk and deflate
 * entries later, in chunks: the findings of both must still come out in the
 * order of one sequential walk (a stored secret between two deflate entries
 * with a wrong CRC, a stored key after them).
 */
Test(walk, findings_of_stored_and_deflate_entries_keep_the_order_of_one_walk)
{
    static char texts[WK_N][128];
    zg_entry e[WK_N];
    char names[WK_N][64];
    char *path = tu_path(wk_dir, "order.zip");
    sign_artifact *seq;

    memset(e, 0, sizeof(e));
    for (size_t i = 0; i < WK_N; i++) {
        snprintf(names[i], sizeof(names[i]), "lib/part%02zu/mod%03zu.py", i % 5, i);
        snprintf(texts[i], sizeof(texts[i]), "VALUE_%zu = %zu  # the order test\n", i, i * 104729);
        e[i].name = names[i];
        e[i].data = texts[i];
        e[i].len = strlen(texts[i]);
        e[i].deflate = i % 2 == 1;
        e[i].unix_mode = S_IFREG | 0644;
    }
    e[11].crc_xor = 0x0f0f0f0f;
    e[99].crc_xor = 0x0f0f0f0f;
    snprintf(names[30], sizeof(names[30]), "settings/.env");
    snprintf(texts[30], sizeof(texts[30]), "API_TOKEN=abc123\n");
    e[30].len = strlen(texts[30]);
    snprintf(names[120], sizeof(names[120]), "keys/server.pem");
    snprintf(texts[120], sizeof(texts[120]), "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
    e[120].len = strlen(texts[120]);
    cr_assert(!e[30].deflate && !e[120].deflate && e[11].deflate && e[99].deflate, "premise: stored and deflate");
    zg_write(path, e, WK_N, NULL);
    seq = wk_scan(path, 1, NULL);
    cr_assert(wk_has(seq, "zip-crc-mismatch") && wk_has(seq, "zip-secret-env") &&
                  wk_has(seq, "zip-secret-private-key"),
              "premise: the findings are there");
    wk_expect_parts_same(seq, path);
    sign_artifact_free(seq);
    free(path);
}
