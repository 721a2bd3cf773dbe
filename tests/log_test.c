/* The signing log in git (libsign/git/log*.c): appends, look-ups, the proof that a log only grew, sharing
   through a remote, and the verify --log / require.logged check, with repositories made by the tests. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sign/sign.h"
#include "testutil.h"

static char *dir;
static char *out, *err;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    free(out);
    free(err);
    out = err = NULL;
}

#define SH(...) tu_sh(&out, &err, dir, __VA_ARGS__)
#define SIGNET(...) SH("\"$SIGNET_BIN\" " __VA_ARGS__)

static char *p(const char *name)
{
    return tu_path(dir, name);
}

/* n bundles b1.json .. bn.json over artifact a<i>.bin, by one key; and the log L. */
static void make_bundles(int n)
{
    cr_assert_eq(SIGNET("keygen --no-passphrase -o k && \"$SIGNET_BIN\" log init L >/dev/null"), 0, "%s", err);
    for (int i = 1; i <= n; i++) {
        cr_assert_eq(
            SH("echo %d > a%d.bin && \"$SIGNET_BIN\" sign -k k.key -o b%d.json a%d.bin >/dev/null", i, i, i, i), 0,
            "%s", err);
    }
}

static int add(const char *log, const char *bundle, char *id)
{
    char *lp = p(log), *bp = p(bundle), *data;
    size_t len = 0;
    int r;

    data = tu_read(bp, &len);
    r = sign_log_add(id, lp, data, len);
    free(data);
    free(lp);
    free(bp);
    return r;
}

static uint64_t count(const char *log, char *commit)
{
    char c[SIGN_LOG_COMMIT_SIZE], *lp = p(log);
    uint64_t n = 0;

    cr_assert_eq(sign_log_checkpoint(c, &n, lp), 0, "%s", sign_error_last());
    if (commit != NULL) {
        memcpy(commit, c, sizeof(c));
    }
    free(lp);
    return n;
}

static int found;

static int count_cb(const sign_log_entry *e, void *userdata)
{
    (void)userdata;
    cr_assert_eq(strlen(e->id), 64);
    found++;
    return 0;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, appends_finds_and_refuses_duplicates_and_non_bundles)
{
    char id1[SIGN_LOG_ID_SIZE], id2[SIGN_LOG_ID_SIZE], again[SIGN_LOG_ID_SIZE], *lp, kid[128];
    const char junk[] = "{\"not\":\"a bundle\"}";

    make_bundles(2);
    lp = p("L");
    cr_assert_eq(sign_log_init(lp), SIGN_EEXISTS, "init over an existing repository");
    cr_assert_eq(add("L", "b1.json", id1), 0, "%s", sign_error_last());
    cr_assert_eq(add("L", "b2.json", id2), 0, "%s", sign_error_last());
    cr_assert_eq(add("L", "b1.json", again), SIGN_EEXISTS);
    cr_assert_str_eq(again, id1);
    cr_assert_eq(sign_log_add(NULL, lp, junk, strlen(junk)), SIGN_EPARSE);
    cr_assert_eq(count("L", NULL), 2, "nothing written for a duplicate or a non-bundle");
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    /* search by the signer's key id, a subject digest and time */
    cr_assert_eq(SH("python3 -c \"import json;print(json.load(open('b1.json'))['verificationMaterial']['publicKey']"
                    "['hint'])\""),
                 0);
    snprintf(kid, sizeof(kid), "%.*s", (int)strcspn(out, "\n"), out);
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_KEY, kid, count_cb, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(found, 2);
    cr_assert_eq(SH("sha256sum a2.bin"), 0);
    out[64] = '\0';
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_DIGEST, out, count_cb, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(found, 1);
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_KEY, "nobody", count_cb, NULL), 0);
    cr_assert_eq(found, 0);
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_SINCE, "2000-01-01T00:00:00Z", count_cb, NULL), 0);
    cr_assert_eq(found, 2);
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_DIGEST, "sha256:12", count_cb, NULL), SIGN_EINVAL);
    free(lp);
}

/* Rewrite the log through a work-tree clone pushed back with --force, then expect LOG_REWRITTEN. */
static char good_head[SIGN_LOG_COMMIT_SIZE];

static void expect_rewritten(const char *since, const char *script, const char *why)
{
    char bad[SIGN_LOG_COMMIT_SIZE], *lp = p("L");

    cr_assert_eq(SH("git -C L update-ref refs/heads/main %s", good_head), 0);
    cr_assert_eq(SH("rm -rf W && git clone -q L W && cd W && %s && git push -q --force origin HEAD:main", script), 0,
                 "%s: %s", why, err);
    cr_assert_eq(sign_log_verify(bad, lp, since), SIGN_EVERIFY, "%s", why);
    cr_assert_not_null(strstr(sign_error_last(), "LOG_REWRITTEN"), "%s", why);
    cr_assert_eq(strlen(bad), 40, "%s: the first bad commit is named", why);
    free(lp);
}

Test(log, verify_finds_every_kind_of_rewrite)
{
    char cp[SIGN_LOG_COMMIT_SIZE], head[SIGN_LOG_COMMIT_SIZE], *lp = p("L");

    make_bundles(3);
    cr_assert_eq(add("L", "b1.json", NULL), 0);
    cr_assert_eq(add("L", "b2.json", NULL), 0);
    count("L", cp);
    cr_assert_eq(add("L", "b3.json", NULL), 0);
    count("L", head);
    memcpy(good_head, head, sizeof(good_head));
    cr_assert_eq(sign_log_verify(NULL, lp, cp), 0, "%s", sign_error_last());
    expect_rewritten(cp, "git rm -q entries/*/*/*/*/*.json && git commit -qm remove", "an entry removed");
    expect_rewritten(cp, "git rm -q $(ls entries/*/*/*/*/*.json | head -1) && git commit -qm remove",
                     "one entry removed from the fan-out");
    expect_rewritten(cp, "git reset -q --hard HEAD~2", "a reset below the checkpoint");
    expect_rewritten(NULL, "f=$(ls entries/*/*/*/*/*.json | head -1) && echo ' ' >> $f && git commit -qam edit",
                     "an entry edited");
    expect_rewritten(cp, "f=$(ls by-key/*/*/*/*/*/* | head -1) && echo ' ' >> $f && git commit -qam edit",
                     "an index leaf edited in the fan-out");
    expect_rewritten(NULL, "mkdir -p entries/00 && cp ../b3.json entries/00/x.json && git add . && git commit -qm x",
                     "an entry added without its index");
    expect_rewritten(NULL, "echo 99 > count && git commit -qam count", "the count changed alone");
    /* what the tree comparison must see without walking unchanged trees */
    expect_rewritten(NULL, "git rm -q -r by-digest && git commit -qm unindex", "an index removed");
    expect_rewritten(NULL, "chmod +x entries/*/*/*/*/*.json && git commit -qam mode", "an entry's mode changed");
    expect_rewritten(NULL, "git rm -q count && mkdir count && echo 4 > count/n && git add count && git commit -qm t",
                     "the count replaced by a tree");
    /* the format file is written by the first commit and never changes */
    expect_rewritten(cp, "echo 1 > format && git commit -qam format", "the format changed");
    expect_rewritten(cp, "git rm -q format && git commit -qm format", "the format removed");
    expect_rewritten(NULL,
                     "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch -f --index-filter "
                     "'git rm -q --cached --ignore-unmatch format' HEAD >/dev/null 2>&1",
                     "the format removed from the whole history (format 2 paths read as format 1)");
    /* the original history again: fine */
    cr_assert_eq(SH("git -C L update-ref refs/heads/main %s", head), 0);
    cr_assert_eq(sign_log_verify(NULL, lp, cp), 0, "%s", sign_error_last());
    cr_assert_eq(sign_log_verify(NULL, lp, "0000000000000000000000000000000000000000"), SIGN_EVERIFY,
                 "an unknown checkpoint");
    free(lp);
}

/* A commit that adds a bundle with every index path, in the wrong place, is still caught (format 2). */
Test(log, verify_finds_an_entry_appended_outside_its_fan_out)
{
    char head[SIGN_LOG_COMMIT_SIZE], id[SIGN_LOG_ID_SIZE], *lp = p("L");

    make_bundles(3);
    cr_assert_eq(add("L", "b1.json", NULL), 0);
    cr_assert_eq(add("L", "b2.json", NULL), 0);
    count("L", head);
    memcpy(good_head, head, sizeof(good_head));
    /* b3 appended by signet into a copy, then its entry moved to the first layout's place (what a signet that
       predates format 2 would write), with the index left as signet wrote it */
    cr_assert_eq(SH("rm -rf C && git clone -q --bare L C"), 0);
    {
        char *cl = p("C");

        cr_assert_eq(add("C", "b3.json", id), 0, "%s", sign_error_last());
        cr_assert_eq(sign_log_verify(NULL, cl, head), 0, "%s", sign_error_last());
        free(cl);
    }
    expect_rewritten(
        head,
        "git pull -q ../C main && f=$(git diff --name-only HEAD~1 -- entries) && "
        "mkdir -p entries/$(basename $f | cut -c1-2) && git mv $f entries/$(basename $f | cut -c1-2)/ && "
        "git commit -q --amend -m moved",
        "an entry outside its fan-out directory");
    cr_assert_eq(SH("git -C L update-ref refs/heads/main %s", head), 0);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    free(lp);
}

/* Bundles from .. to-1 appended in one batch: b1.json followed by i spaces (other bytes, so another entry). */
static void add_variants(const char *log, int from, int to)
{
    char *bp = p("b1.json"), *lp = p(log), *data;
    size_t len = 0, n = (size_t)(to - from), done = 0;
    sign_log_item *items = calloc(n, sizeof(*items));

    data = tu_read(bp, &len);
    cr_assert_not_null(items);
    for (size_t i = 0; i < n; i++) {
        char *b = malloc(len + (size_t)from + i);

        cr_assert_not_null(b);
        memcpy(b, data, len);
        memset(b + len, ' ', (size_t)from + i);
        items[i].bundle = b;
        items[i].len = len + (size_t)from + i;
    }
    cr_assert_eq(sign_log_add_batch(&done, lp, items, n), 0, "%s", sign_error_last());
    cr_assert_eq(done, n);
    for (size_t i = 0; i < n; i++) {
        free((void *)items[i].bundle);
    }
    free(items);
    free(data);
    free(lp);
    free(bp);
}

/*
 * The walk keeps the trees it read last (log_verify.c's tree cache): in a log of a few hundred entries, an entry
 * removed deep in the history, with entries appended by signet on top of it, is still found, and the commit named
 * is the one that removed it, with or without a checkpoint before it; a checkpoint after it proves the rest.
 */
Test(log, a_rewrite_deep_in_a_long_log_is_named)
{
    char before[SIGN_LOG_COMMIT_SIZE], bad[SIGN_LOG_COMMIT_SIZE], after[SIGN_LOG_COMMIT_SIZE], *lp = p("L");
    char named[SIGN_LOG_COMMIT_SIZE];

    make_bundles(1);
    add_variants("L", 1, 151);
    count("L", before);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    /* entry 60's file removed, and the count moved on as an append would */
    cr_assert_eq(
        SH("rm -rf W && git clone -q L W && cd W && git rm -q $(git diff --name-only main~91 main~90 -- "
           "entries) && echo 151 > count && git commit -qam 'remove entry 60' && git push -q origin HEAD:main"),
        0, "%s", err);
    cr_assert_eq(SH("git --git-dir=L rev-parse main"), 0);
    memcpy(bad, out, 40);
    bad[40] = '\0';
    add_variants("L", 151, 301);
    count("L", after);
    cr_assert_eq(count("L", NULL), 301);
    cr_assert_eq(sign_log_verify(named, lp, NULL), SIGN_EVERIFY);
    cr_assert_str_eq(named, bad, "the removing commit is named: %s", sign_error_last());
    cr_assert_eq(sign_log_verify(named, lp, before), SIGN_EVERIFY);
    cr_assert_str_eq(named, bad, "from the checkpoint before it: %s", sign_error_last());
    cr_assert_eq(sign_log_verify(NULL, lp, bad), 0, "a checkpoint at it proves what came after: %s",
                 sign_error_last());
    cr_assert_eq(SH("git --git-dir=L rev-parse main~100"), 0);
    out[40] = '\0';
    cr_assert_eq(sign_log_verify(NULL, lp, out), 0, "%s", sign_error_last());
    free(lp);
}

/* An append is on disk before it is reported: its objects, its pack and the branch are fsynced (strace counts;
   LeakSanitizer does not run under ptrace, so the traced processes do not check leaks). */
#define TRACED "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=fsync,fdatasync "
Test(log, appends_are_fsynced_before_they_are_reported)
{
    if (SH("command -v strace") != 0) {
        cr_skip_test("strace is not installed (Debian package strace): the fsync calls were not counted");
    }
    make_bundles(3);
    cr_assert_eq(SH(TRACED "-o s1.txt \"$SIGNET_BIN\" log add L b1.json"), 0, "%s", err);
    cr_assert_eq(SH("grep -c -E 'fsync|fdatasync' s1.txt"), 0, "a single append fsyncs nothing");
    cr_assert_gt(atoi(out), 2, "a single append's objects and branch are fsynced: %s", out);
    cr_assert_eq(SH(TRACED "-o s2.txt \"$SIGNET_BIN\" log add L b2.json b3.json"), 0, "%s", err);
    cr_assert_eq(SH("grep -c -E 'fsync|fdatasync' s2.txt"), 0, "a batch fsyncs nothing");
    cr_assert_gt(atoi(out), 2, "a batch's pack, index and branch are fsynced: %s", out);
    cr_assert_eq(SIGNET("log verify L"), 0, "%s", err);
}

static void clone_format1(const char *name)
{
    char *bundle = tu_path(tu_src(), "tests/vectors/log-v1.gitbundle");

    cr_assert_eq(
        SH("git clone -q --bare '%s' %s && git --git-dir=%s symbolic-ref HEAD refs/heads/main", bundle, name, name),
        0, "%s", err);
    free(bundle);
}

#define V1_HEAD "301a04ddd046f0317ad62c629e5ad7bebf031b9d"
#define V1_KEY_A "IXtRvvpo3Y/wjD7zD/9tFksHyxjfvh4w5TthSPpprAU="
#define V1_A1 "2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806"

/* A log written by signet before format 2 (tests/vectors/log-v1.txt): read, searched and grown in its layout. */
Test(log, format1_log_verifies_searches_and_grows_in_its_layout)
{
    char head[SIGN_LOG_COMMIT_SIZE], *lp = p("V1");
    size_t len = 0;
    char *data;

    clone_format1("V1");
    cr_assert_eq(count("V1", head), 3);
    cr_assert_str_eq(head, V1_HEAD);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_KEY, V1_KEY_A, count_cb, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(found, 2);
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_DIGEST, V1_A1, count_cb, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(found, 2, "two keys signed a1.bin");
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_SINCE, "2000-01-01T00:00:00Z", count_cb, NULL), 0);
    cr_assert_eq(found, 3);
    /* an entry of the old log is found by its bytes */
    cr_assert_eq(SH("git --git-dir=V1 show main:$(git --git-dir=V1 ls-tree -r --name-only main entries | head -1) "
                    "> old.json"),
                 0);
    data = tu_read(p("old.json"), &len);
    cr_assert_eq(sign_log_contains(lp, data, len), 0, "%s", sign_error_last());
    free(data);
    /* appends keep the first layout, and the log still verifies since its old head */
    make_bundles(1);
    cr_assert_eq(add("V1", "b1.json", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(SH("git --git-dir=V1 ls-tree -r --name-only main"), 0);
    cr_assert_null(strstr(out, "format"), "a format 1 log does not change format:\n%s", out);
    cr_assert_eq(
        SH("git --git-dir=V1 ls-tree -r --name-only main | grep -c '^entries/[0-9a-f][0-9a-f]/[0-9a-f]*.json$'"), 0);
    cr_assert_eq(atoi(out), 4, "every entry in the first layout");
    cr_assert_eq(sign_log_verify(NULL, lp, V1_HEAD), 0, "%s", sign_error_last());
    cr_assert_eq(count("V1", NULL), 4);
    /* and a rewrite of it is still caught */
    memcpy(good_head, V1_HEAD, sizeof(good_head));
    free(lp);
    lp = p("L");
    cr_assert_eq(SH("rm -rf L && mv V1 L"), 0);
    expect_rewritten(NULL, "git rm -q $(ls entries/*/*.json | head -1) && git commit -qm remove",
                     "an entry removed from a format 1 log");
    expect_rewritten(NULL, "echo 2 > format && git add format && git commit -qm format",
                     "a format file slipped into a format 1 log");
    free(lp);
}

/* A log written by a later signet in a format this one does not know is refused, not misread or written to. */
Test(log, newer_format_is_refused)
{
    char *lp = p("L"), head[SIGN_LOG_COMMIT_SIZE];

    make_bundles(1);
    cr_assert_eq(SH("rm -rf W && git init -q W && cd W && echo 3 > format && echo 0 > count && git add . && "
                    "git commit -qm future && git push -q ../L HEAD:main"),
                 0, "%s", err);
    count("L", head);
    cr_assert_eq(add("L", "b1.json", NULL), SIGN_EUNSUPPORTED);
    cr_assert_not_null(strstr(sign_error_last(), "format 3"), "%s", sign_error_last());
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), SIGN_EUNSUPPORTED, "%s", sign_error_last());
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_KEY, "k", count_cb, NULL), SIGN_EUNSUPPORTED);
    {
        char now[SIGN_LOG_COMMIT_SIZE];

        count("L", now);
        cr_assert_str_eq(now, head, "nothing written");
    }
    free(lp);
}

/* The layout of format 2: four 1-hex fan-out levels under entries/ and each index, and the format file. */
Test(log, format2_layout_roundtrip)
{
    char id1[SIGN_LOG_ID_SIZE], id2[SIGN_LOG_ID_SIZE], expect[1024], *lp = p("L");

    make_bundles(2);
    cr_assert_eq(add("L", "b1.json", id1), 0, "%s", sign_error_last());
    cr_assert_eq(add("L", "b2.json", id2), 0, "%s", sign_error_last());
    cr_assert_eq(SH("git --git-dir=L show main:format"), 0);
    cr_assert_str_eq(out, "2\n");
    cr_assert_eq(SH("git --git-dir=L ls-tree -r --name-only main"), 0);
    snprintf(expect, sizeof(expect), "entries/%.1s/%.1s/%.1s/%.1s/%s.json\n", id1, id1 + 1, id1 + 2, id1 + 3, id1);
    cr_assert_not_null(strstr(out, expect), "%s not in\n%s", expect, out);
    snprintf(expect, sizeof(expect), "/%.1s/%.1s/%.1s/%.1s/%s\n", id2, id2 + 1, id2 + 2, id2 + 3, id2);
    cr_assert_not_null(strstr(out, expect), "%s not in\n%s", expect, out);
    cr_assert_eq(SH("git --git-dir=L ls-tree -r --name-only main | grep -c "
                    "'^by-digest/./././[0-9a-f]/[0-9a-f]\\{64\\}/./././[0-9a-f]/'"),
                 0, "%s", out);
    cr_assert_eq(atoi(out), 2);
    cr_assert_eq(
        SH("git --git-dir=L ls-tree -r --name-only main | grep -c '^by-key/[0-9a-f]\\{64\\}/./././[0-9a-f]/'"), 0);
    cr_assert_eq(atoi(out), 2);
    cr_assert_eq(SH("git --git-dir=L ls-tree -r --name-only main | wc -l"), 0);
    cr_assert_eq(atoi(out), 8, "2 entries, 2 key and 2 digest leaves, count and format:\n%s", out);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(SH("sha256sum a1.bin"), 0);
    out[64] = '\0';
    found = 0;
    cr_assert_eq(sign_log_search(lp, SIGN_LOG_BY_DIGEST, out, count_cb, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(found, 1);
    free(lp);
}

/* Sync of a format 1 log: the layout travels with the log, and re-appended entries keep it. */
Test(log, sync_keeps_a_format1_log_in_its_layout)
{
    char *l1 = p("V1"), *l2 = p("L2"), *r = p("R");
    size_t added = 0;

    make_bundles(2);
    clone_format1("V1");
    cr_assert_eq(SH("git init -q --bare R && \"$SIGNET_BIN\" log init L2 >/dev/null"), 0);
    cr_assert_eq(sign_log_sync(&added, l1, r), 0, "%s", sign_error_last());
    cr_assert_eq(sign_log_sync(&added, l2, r), 0, "%s", sign_error_last());
    cr_assert_eq(count("L2", NULL), 3);
    cr_assert_eq(add("V1", "b1.json", NULL), 0);
    cr_assert_eq(add("L2", "b2.json", NULL), 0);
    cr_assert_eq(sign_log_sync(&added, l1, r), 0, "%s", sign_error_last());
    cr_assert_eq(sign_log_sync(&added, l2, r), 0, "%s", sign_error_last());
    cr_assert_eq(added, 1);
    cr_assert_eq(count("L2", NULL), 5);
    cr_assert_eq(sign_log_verify(NULL, l2, V1_HEAD), 0, "%s", sign_error_last());
    cr_assert_eq(SH("git --git-dir=L2 ls-tree -r --name-only main | grep -c '^entries/../[0-9a-f]*.json$'"), 0);
    cr_assert_eq(atoi(out), 5);
    free(l1);
    free(l2);
    free(r);
}

Test(log, concurrent_appends_all_land)
{
    enum { WRITERS = 4, EACH = 5 };
    char *lp = p("L");
    pid_t pids[WRITERS];

    make_bundles(WRITERS * EACH);
    for (int w = 0; w < WRITERS; w++) {
        if ((pids[w] = fork()) == 0) {
            for (int i = 0; i < EACH; i++) {
                char name[32];

                snprintf(name, sizeof(name), "b%d.json", w * EACH + i + 1);
                if (add("L", name, NULL) != 0) {
                    _exit(1);
                }
            }
            _exit(0);
        }
        cr_assert_gt(pids[w], 0);
    }
    for (int w = 0; w < WRITERS; w++) {
        int st = 0;

        cr_assert_eq(waitpid(pids[w], &st, 0), pids[w]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", w);
    }
    cr_assert_eq(count("L", NULL), WRITERS * EACH);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    free(lp);
}

Test(log, sync_shares_through_a_remote_without_rewriting_it)
{
    char before[SIGN_LOG_COMMIT_SIZE], *l1 = p("L"), *l2 = p("L2"), *r = p("R");
    size_t added = 0;

    make_bundles(3);
    cr_assert_eq(SH("git init -q --bare R && \"$SIGNET_BIN\" log init L2 >/dev/null && \"$SIGNET_BIN\" log init X "
                    ">/dev/null"),
                 0);
    cr_assert_eq(add("L", "b1.json", NULL), 0);
    cr_assert_eq(sign_log_sync(&added, l1, r), 0, "%s", sign_error_last());
    cr_assert_eq(sign_log_sync(&added, l2, r), 0, "%s", sign_error_last());
    cr_assert_eq(count("L2", NULL), 1);
    cr_assert_eq(add("L", "b2.json", NULL), 0);
    cr_assert_eq(add("L2", "b3.json", NULL), 0);
    cr_assert_eq(sign_log_sync(&added, l1, r), 0, "%s", sign_error_last());
    cr_assert_eq(SH("git -C R rev-parse main"), 0);
    memcpy(before, out, 40);
    before[40] = '\0';
    cr_assert_eq(sign_log_sync(&added, l2, r), 0, "%s", sign_error_last());
    cr_assert_eq(added, 1, "the local entry is appended again on top of the remote");
    cr_assert_eq(SH("git -C R merge-base --is-ancestor %s main", before), 0, "the remote only grew");
    cr_assert_eq(sign_log_sync(&added, l1, r), 0, "%s", sign_error_last());
    cr_assert_eq(count("L", NULL), 3);
    cr_assert_eq(count("L2", NULL), 3);
    cr_assert_eq(sign_log_verify(NULL, l2, NULL), 0, "%s", sign_error_last());
    /* another log (no common history: its first commit differs from every commit of the shared one) is not mixed in
     */
    cr_assert_eq(SH("\"$SIGNET_BIN\" log add X b3.json >/dev/null"), 0, "%s", err);
    free(l1);
    l1 = p("X");
    cr_assert_eq(sign_log_sync(&added, l1, r), SIGN_EINVAL);
    free(l1);
    free(l2);
    free(r);
}

Test(log, sign_and_verify_with_the_log_end_to_end)
{
    make_bundles(1);
    char *pol = p("pol.json");

    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"k.pub\"}],"
                      "\"require\":{\"logged\":true}}");
    free(pol);
    cr_assert_eq(SIGNET("sign -k k.key --log L -o in.json a1.bin"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "logged"));
    cr_assert_eq(SIGNET("verify -p pol.json --log L -b in.json a1.bin"), 0, "%s", err);
    cr_assert_eq(SH("SOURCE_DATE_EPOCH=1700000000 \"$SIGNET_BIN\" sign -k k.key -o outside.json a1.bin"), 0, "%s",
                 err);
    cr_assert_eq(SIGNET("verify -p pol.json --log L -b outside.json a1.bin"), 4, "a bundle made outside the log");
    cr_assert_not_null(strstr(err, "LOG_ENTRY_MISSING"));
    cr_assert_eq(SIGNET("verify -p pol.json -b in.json a1.bin"), 4, "the policy requires the log");
    cr_assert_eq(SIGNET("log checkpoint --json L"), 0);
    cr_assert_not_null(strstr(out, "\"count\":1"));
    cr_assert_eq(SIGNET("log verify L"), 0, "%s", err);
    cr_assert_eq(SIGNET("log search L --since 2000-01-01T00:00:00Z"), 0);
    cr_assert_not_null(strstr(out, "key "));
    cr_assert_eq(SIGNET("log verify --since 0123456789012345678901234567890123456789 L"), 1);
    cr_assert_eq(SIGNET("log bogus L"), 2);
}

/* Loose objects and packs in the log's object store: "<loose> <packs>" in out. */
static void object_files(int *loose, int *packs)
{
    cr_assert_eq(SH("echo $(find L/objects -type f -path 'L/objects/[0-9a-f][0-9a-f]/*' | wc -l) "
                    "$(find L/objects/pack -name '*.pack' | wc -l)"),
                 0);
    cr_assert_eq(sscanf(out, "%d %d", loose, packs), 2, "%s", out);
}

Test(log, a_batch_writes_one_pack)
{
    int loose = -1, packs = -1, loose1 = -1;

    make_bundles(4);
    cr_assert_eq(add("L", "b1.json", NULL), 0, "%s", sign_error_last());
    object_files(&loose1, &packs);
    cr_assert_gt(loose1, 0, "a single append writes loose objects");
    cr_assert_eq(packs, 0);
    /* three new bundles and one already there, in one call: one pack, no loose object */
    cr_assert_eq(SIGNET("log add L b2.json b3.json b1.json b4.json"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "b1.json: already in the log"), "%s", out);
    cr_assert_not_null(strstr(out, "b4.json: logged as entry"), "%s", out);
    object_files(&loose, &packs);
    cr_assert_eq(loose, loose1, "the batch wrote no loose object");
    cr_assert_eq(packs, 1, "one pack per batch");
    cr_assert_eq(count("L", NULL), 4);
    cr_assert_eq(SH("git --git-dir=L rev-list --count main"), 0);
    cr_assert_eq(atoi(out), 4, "one commit per entry: %s", out);
    cr_assert_eq(SH("git --git-dir=L fsck --strict --no-dangling"), 0, "%s", err);
    cr_assert_eq(SIGNET("log verify L"), 0, "%s", err);
}

/* A batch's pack holds the objects that batch wrote, not again every object of the log's tree (libgit2's
   git_mempack_dump walks each commit's whole tree: a pack per batch grew with the log, and so did its CPU). */
Test(log, a_batch_packs_only_its_own_objects)
{
    make_bundles(5);
    cr_assert_eq(SIGNET("log add L b1.json b2.json b3.json"), 0, "%s", err);
    cr_assert_eq(SIGNET("log add L b4.json b5.json"), 0, "%s", err);
    /* b1's entry blob and the format blob, written by the first batch, are in one pack only */
    cr_assert_eq(
        SH("for i in L/objects/pack/*.idx; do git show-index <$i; done | grep -c -e $(git hash-object b1.json) "
           "-e $(printf '2\\n' | git hash-object --stdin)"),
        0, "%s", err);
    cr_assert_eq(atoi(out), 2, "each object in one pack: %s", out);
    cr_assert_eq(SH("ls L/objects/pack/*.pack | wc -l"), 0);
    cr_assert_eq(atoi(out), 2, "%s", out);
    cr_assert_eq(SH("git --git-dir=L fsck --strict --no-dangling"), 0, "%s", err);
    cr_assert_eq(SIGNET("log verify L"), 0, "%s", err);
}

Test(log, a_batch_stops_at_a_bad_bundle_and_keeps_the_ones_before)
{
    char *lp = p("L"), *b1, *b2;
    const char junk[] = "{\"not\":\"a bundle\"}";
    size_t l1 = 0, l2 = 0, done = 99;
    sign_log_item it[3];

    make_bundles(2);
    b1 = tu_read(p("b1.json"), &l1);
    b2 = tu_read(p("b2.json"), &l2);
    memset(it, 0, sizeof(it));
    it[0].bundle = b1;
    it[0].len = l1;
    it[1].bundle = junk;
    it[1].len = strlen(junk);
    it[2].bundle = b2;
    it[2].len = l2;
    cr_assert_eq(sign_log_add_batch(&done, lp, it, 3), SIGN_EPARSE);
    cr_assert_eq(done, 1);
    cr_assert_eq(it[0].result, 0);
    cr_assert_eq(strlen(it[0].id), 64);
    cr_assert_eq(it[1].result, SIGN_EPARSE);
    cr_assert_eq(it[2].result, SIGN_LOG_NOT_REACHED);
    cr_assert_eq(it[2].id[0], '\0');
    cr_assert_eq(count("L", NULL), 1);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    /* the CLI: the same order, exit 2 naming the bad file, the one before it logged */
    tu_write_str(p("junk.json"), junk);
    cr_assert_eq(SIGNET("log add L b2.json junk.json b1.json"), 2);
    cr_assert_not_null(strstr(err, "junk.json"), "%s", err);
    cr_assert_not_null(strstr(out, "b2.json: logged as entry"), "%s", out);
    cr_assert_null(strstr(out, "b1.json"), "%s", out);
    cr_assert_eq(count("L", NULL), 2);
    free(b1);
    free(b2);
    free(lp);
}

/* The head cannot move (git's lock on it was just made by someone else, so it is not stale): nothing is appended,
   nothing is reported appended, and the log stays whole; the next append lands. */
Test(log, a_head_that_cannot_move_appends_nothing)
{
    char *lp = p("L"), before[SIGN_LOG_COMMIT_SIZE], after[SIGN_LOG_COMMIT_SIZE];

    make_bundles(3);
    cr_assert_eq(add("L", "b1.json", NULL), 0, "%s", sign_error_last());
    (void)count("L", before);
    cr_assert_eq(SH("touch L/refs/heads/main.lock"), 0);
    cr_assert_eq(SIGNET("log add L b2.json b3.json"), 2, "%s", err);
    cr_assert_null(strstr(out, "logged as entry"), "nothing is reported logged: %s", out);
    cr_assert_eq(count("L", after), 1);
    cr_assert_str_eq(after, before);
    cr_assert_eq(SH("rm L/refs/heads/main.lock && git --git-dir=L fsck --strict"), 0, "%s", err);
    cr_assert_eq(add("L", "b2.json", NULL), 0, "%s", sign_error_last());
    cr_assert_eq(count("L", NULL), 2);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    free(lp);
}

/* Appenders killed at whatever point they reached: the head never names a missing object, and the log verifies
   and grows afterwards. */
Test(log, killed_appenders_leave_a_whole_log)
{
    enum { N = 12 };
    char *lp = p("L");

    make_bundles(N);
    for (int round = 0; round < 4; round++) {
        pid_t pid = fork();
        int st = 0;

        if (pid == 0) {
            for (int i = 1; i <= N; i++) {
                char name[32];

                snprintf(name, sizeof(name), "b%d.json", i);
                (void)add("L", name, NULL);
            }
            _exit(0);
        }
        cr_assert_gt(pid, 0);
        usleep(20000 + 30000 * round);
        (void)kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        /* killed while moving the head, it leaves git's ref lock behind: made stale, the next append removes it */
        cr_assert_eq(SH("test ! -e L/refs/heads/main.lock || touch -d '2 minutes ago' L/refs/heads/main.lock"), 0);
        cr_assert_eq(SH("git --git-dir=L fsck --strict --connectivity-only"), 0, "round %d: %s", round, err);
        if (SH("git --git-dir=L rev-parse -q --verify main") == 0) {
            cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "round %d: %s", round, sign_error_last());
        }
    }
    cr_assert_eq(SIGNET("log add L b1.json b2.json b3.json b4.json b5.json b6.json b7.json b8.json b9.json b10.json "
                        "b11.json b12.json"),
                 0, "%s", err);
    cr_assert_eq(count("L", NULL), N);
    cr_assert_eq(sign_log_verify(NULL, lp, NULL), 0, "%s", sign_error_last());
    free(lp);
}

/*
 * Run a signet command and SIGKILL it at the moment libgit2 moves the ref whose lock is lock (relative to the test
 * directory): the lock file is written, the ref is not moved. strace injects the signal on the rename (or link, for
 * a new ref) of that lock only, so the writer dies where a cancelled CI job would leave it. 0, or -1 when strace
 * cannot be used here (the test is skipped).
 */
#define KILL_AT_REF_MOVE                                                                                             \
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -P \"$PWD/%s\" "          \
    "-e trace=rename,renameat,renameat2,link,linkat -e inject=rename,renameat,renameat2,link,linkat:signal=KILL "
static void kill_at_ref_move(const char *lock, const char *args)
{
    if (SH("command -v strace") != 0) {
        cr_skip_test("strace is not installed (Debian package strace): no writer could be killed mid-move");
    }
    cr_assert_eq(
        SH("rc=0; " KILL_AT_REF_MOVE "\"$SIGNET_BIN\" %s || rc=$?; test $rc -eq %d", lock, args, 128 + SIGKILL), 0,
        "the writer was not killed at the move: %s", err);
    cr_assert_eq(SH("test -f %s", lock), 0, "the killed writer left %s", lock);
}

/* An append killed while moving the branch: git's lock on it stays, the branch does not move. */
static void kill_append(const char *bundle, uint64_t entries)
{
    char before[SIGN_LOG_COMMIT_SIZE], after[SIGN_LOG_COMMIT_SIZE], args[128];

    (void)count("L", before);
    snprintf(args, sizeof(args), "log add L %s", bundle);
    kill_at_ref_move("L/refs/heads/main.lock", args);
    cr_assert_eq(count("L", after), entries);
    cr_assert_str_eq(after, before, "the branch is as it was before the killed append");
}

/* A writer killed less than a minute ago, or a live git process, may hold the lock: the append is refused with
   what to do, and the lock stays. Doing what it says lets the append land. */
Test(log, a_young_branch_lock_left_by_a_killed_writer_is_refused_and_kept)
{
    make_bundles(3);
    cr_assert_eq(SIGNET("log add L b1.json"), 0, "%s", err);
    kill_append("b2.json", 1);
    cr_assert_eq(SIGNET("log add L b3.json"), 2, "%s", err);
    cr_assert_eq(strncmp(err, "signet: L/refs/heads/main.lock is git's lock on the log's branch, made ", 71), 0, "%s",
                 err);
    cr_assert_not_null(strstr(err, "Nothing was written"), "%s", err);
    cr_assert_not_null(strstr(err, "remove it now: flock L/signet-log.lock rm -f L/refs/heads/main.lock"), "%s", err);
    cr_assert_eq(SH("test -f L/refs/heads/main.lock"), 0, "a young lock is never removed");
    cr_assert_eq(count("L", NULL), 1);
    cr_assert_eq(SH("flock L/signet-log.lock rm -f L/refs/heads/main.lock"), 0, "%s", err);
    cr_assert_eq(SIGNET("log add L b2.json b3.json"), 0, "%s", err);
    cr_assert_eq(count("L", NULL), 3);
}

static int warned;
static char warning[1024];

static void warn_cb(const char *message, void *userdata)
{
    (void)userdata;
    warned++;
    snprintf(warning, sizeof(warning), "%s", message);
}

/* A lock older than a minute, while signet-log.lock is held, is a killed writer's: it is removed with a warning
   (the CLI's stderr, the library's callback), the append lands, and the log verifies since a checkpoint taken
   before the kill, with every entry. */
Test(log, a_stale_branch_lock_is_removed_with_a_warning_and_the_log_verifies)
{
    sign_log_options opts = SIGN_LOG_OPTIONS_INIT;
    char cp[SIGN_LOG_COMMIT_SIZE], *lp = p("L"), *data;
    sign_log_item it;
    size_t len = 0;

    make_bundles(5);
    cr_assert_eq(SIGNET("log add L b1.json"), 0, "%s", err);
    (void)count("L", cp);
    kill_append("b2.json", 1);
    cr_assert_eq(SH("touch -d '2 minutes ago' L/refs/heads/main.lock"), 0);
    cr_assert_eq(SIGNET("log add L b2.json b3.json"), 0, "%s", err);
    cr_assert_not_null(
        strstr(err, "signet: warning: removed L/refs/heads/main.lock, git's lock on the log's branch, left 1"), "%s",
        err);
    cr_assert_not_null(strstr(err,
                              "s ago by a writer killed before it renamed it (no signet writer held the log, and git "
                              "holds such a lock for milliseconds); the branch still names the last commit written "
                              "whole"),
                       "%s", err);
    cr_assert_eq(SH("test ! -e L/refs/heads/main.lock"), 0, "the stale lock is removed");
    cr_assert_eq(count("L", NULL), 3);
    cr_assert_eq(SIGNET("log verify --since %s L", cp), 0, "%s", err);
    cr_assert_eq(SH("git --git-dir=L fsck --strict"), 0, "%s", err);

    /* the library tells its caller through the callback */
    kill_append("b4.json", 3);
    cr_assert_eq(SH("touch -d '2 minutes ago' L/refs/heads/main.lock"), 0);
    data = tu_read(p("b4.json"), &len);
    memset(&it, 0, sizeof(it));
    it.bundle = data;
    it.len = len;
    opts.warn = warn_cb;
    warned = 0;
    cr_assert_eq(sign_log_add_batch_ext(NULL, lp, &it, 1, &opts), 0, "%s", sign_error_last());
    cr_assert_eq(it.result, 0);
    cr_assert_eq(warned, 1);
    cr_assert_not_null(strstr(warning, "L/refs/heads/main.lock, git's lock on the log's branch"), "%s", warning);
    free(data);

    /* sign --log appends the same way */
    kill_append("b5.json", 4);
    cr_assert_eq(SH("touch -d '2 minutes ago' L/refs/heads/main.lock"), 0);
    cr_assert_eq(SH("echo 6 > a6.bin && \"$SIGNET_BIN\" sign -k k.key --log L -o b6.json a6.bin"), 0, "%s", err);
    cr_assert_not_null(strstr(err, "signet: warning: removed L/refs/heads/main.lock"), "%s", err);
    cr_assert_eq(count("L", NULL), 5);
    cr_assert_eq(SIGNET("log verify --since %s L", cp), 0, "%s", err);
    cr_assert_eq(SIGNET("log verify L"), 0, "%s", err);
    free(lp);
}

/* What is at a lock's path but not a regular file is never removed, however old: refused, saying what it is. Nor is
   anything removed through a symbolic link to the branch's directory. */
Test(log, a_link_or_directory_at_the_branch_lock_is_never_removed)
{
    make_bundles(2);
    cr_assert_eq(SIGNET("log add L b1.json"), 0, "%s", err);
    cr_assert_eq(SH("echo keep > victim && ln -s ../../../victim L/refs/heads/main.lock && "
                    "touch -h -d '2 minutes ago' L/refs/heads/main.lock"),
                 0, "%s", err);
    cr_assert_eq(SIGNET("log add L b2.json"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "L/refs/heads/main.lock is a symbolic link, not a lock file git leaves: signet "
                                   "never removes it"),
                       "%s", err);
    cr_assert_eq(SH("test -L L/refs/heads/main.lock && test \"$(cat victim)\" = keep"), 0, "the link is kept");

    cr_assert_eq(SH("rm L/refs/heads/main.lock && mkdir L/refs/heads/main.lock && "
                    "touch -d '2 minutes ago' L/refs/heads/main.lock"),
                 0, "%s", err);
    cr_assert_eq(SIGNET("log add L b2.json"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "L/refs/heads/main.lock is a directory, not a lock file git leaves"), "%s", err);
    cr_assert_eq(SH("test -d L/refs/heads/main.lock"), 0, "the directory is kept");

    cr_assert_eq(SH("rmdir L/refs/heads/main.lock && mv L/refs/heads L/heads && ln -s ../heads L/refs/heads && "
                    "touch -d '2 minutes ago' L/heads/main.lock"),
                 0, "%s", err);
    cr_assert_eq(SIGNET("log add L b2.json"), 2, "%s", err);
    cr_assert_eq(SH("test -f L/heads/main.lock"), 0, "nothing is removed through a linked directory");
    cr_assert_eq(count("L", NULL), 1);
}

/* log sync killed while moving the fetched remote branch: a young lock refuses the next sync, a stale one is removed
   with a warning and the sync completes. */
Test(log, a_sync_killed_while_fetching_recovers_once_the_lock_is_stale)
{
    make_bundles(1);
    cr_assert_eq(SH("git init -q --bare R && \"$SIGNET_BIN\" log add L b1.json && \"$SIGNET_BIN\" log sync L R && "
                    "\"$SIGNET_BIN\" log init L2"),
                 0, "%s", err);
    kill_at_ref_move("L2/refs/signet/sync-remote.lock", "log sync L2 R");
    cr_assert_eq(SIGNET("log sync L2 R"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "L2/refs/signet/sync-remote.lock is git's lock on the remote's fetched branch"),
                       "%s", err);
    cr_assert_eq(SH("touch -d '2 minutes ago' L2/refs/signet/sync-remote.lock"), 0);
    cr_assert_eq(SIGNET("log sync L2 R"), 0, "%s", err);
    cr_assert_not_null(strstr(err, "signet: warning: removed L2/refs/signet/sync-remote.lock"), "%s", err);
    cr_assert_eq(count("L2", NULL), 1);
    cr_assert_eq(SIGNET("log verify L2"), 0, "%s", err);
}

/* The options of the log's writes: the init function equals the macro; version 0 and a newer one are refused before
   anything is read or written. */
Test(log, write_options_refuse_version_0_and_newer)
{
    sign_log_options m = SIGN_LOG_OPTIONS_INIT, f, z;
    sign_log_item it;
    char *lp = p("L");
    size_t added = 0;

    memset(&f, 0xa5, sizeof(f));
    sign_log_options_init(&f);
    memset(&z, 0, sizeof(z));
    z.version = SIGN_LOG_OPTIONS_VERSION;
    cr_assert_eq(m.version, SIGN_LOG_OPTIONS_VERSION);
    cr_assert_eq(memcmp(&z, &f, sizeof(z)), 0);
    memset(&it, 0, sizeof(it));
    it.bundle = "{}";
    it.len = 2;
    for (int bad = 0; bad < 2; bad++) {
        m.version = bad ? SIGN_LOG_OPTIONS_VERSION + 1 : 0;
        cr_assert_eq(sign_log_add_batch_ext(NULL, lp, &it, 1, &m), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_log_options: version"), "%s", sign_error_last());
        cr_assert_eq(sign_log_sync_ext(&added, lp, lp, &m), SIGN_EINVAL);
        cr_assert_not_null(strstr(sign_error_last(), "sign_log_options: version"), "%s", sign_error_last());
    }
    cr_assert_eq(SH("test ! -e L"), 0, "nothing is made");
    free(lp);
}

/* log init takes the log's lock too: while another process holds it, init waits (here until timeout stops it) and
   makes nothing; once it is free, init makes the log. */
Test(log, init_waits_for_the_logs_lock)
{
    cr_assert_eq(SH("mkdir L && exec 9>L/signet-log.lock && flock 9 && rc=0 && "
                    "timeout 2 \"$SIGNET_BIN\" log init L || rc=$?; test $rc -eq 124 && test ! -e L/HEAD"),
                 0, "init did not wait for the log's lock: %s", err);
    cr_assert_eq(SIGNET("log init L"), 0, "%s", err);
    cr_assert_eq(SIGNET("log init L"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "already a git repository"), "%s", err);
}

/* An init killed before it wrote HEAD leaves git's HEAD.lock: init again refuses while it is young, and clears it
   with a warning once stale; the log made then takes entries and verifies. */
Test(log, a_killed_init_can_be_run_again_once_its_lock_is_stale)
{
    make_bundles(1);
    kill_at_ref_move("I/HEAD.lock", "log init I");
    cr_assert_eq(SH("test ! -e I/HEAD"), 0);
    cr_assert_eq(SIGNET("log init I"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "I/HEAD.lock is git's lock on the log's HEAD, made "), "%s", err);
    cr_assert_eq(SH("test -f I/HEAD.lock && touch -d '2 minutes ago' I/HEAD.lock"), 0);
    cr_assert_eq(SIGNET("log init I"), 0, "%s", err);
    cr_assert_not_null(strstr(err, "signet: warning: removed I/HEAD.lock, git's lock on the log's HEAD"), "%s", err);
    cr_assert_eq(SIGNET("log add I b1.json"), 0, "%s", err);
    cr_assert_eq(SIGNET("log verify I"), 0, "%s", err);
}

/*
 * A remote on this machine is a log other writers may append to directly. libgit2's local push moves its branch by
 * force, so an append to it between the sync's fetch and its push was dropped from its branch (reported logged, then
 * gone: the shared log rewritten). strace holds the push 3 s once its pack is in the remote (before it locks the
 * remote's branch); an append to the remote is started then. The sync holds the remote's lock, so the append waits
 * and lands on top.
 */
#define HOLD_THE_PUSH                                                                                                \
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -P "                      \
    "\"$PWD/R/objects/pack\" "                                                                                       \
    "-e trace=openat -e inject=openat:delay_exit=3000000:when=1 "
Test(log, a_sync_to_a_local_log_keeps_an_append_made_during_its_push)
{
    if (SH("command -v strace") != 0) {
        cr_skip_test("strace is not installed (Debian package strace): the push could not be held");
    }
    make_bundles(3);
    cr_assert_eq(SH("git init -q --bare R && \"$SIGNET_BIN\" log add L b1.json && \"$SIGNET_BIN\" log sync L R && "
                    "\"$SIGNET_BIN\" log add L b2.json"),
                 0, "%s", err);
    cr_assert_eq(SH("n=$(ls R/objects/pack/*.idx | wc -l); " HOLD_THE_PUSH "\"$SIGNET_BIN\" log sync L R & sp=$!; "
                    "i=0; while [ $(ls R/objects/pack/*.idx | wc -l) -le $n ] && [ $i -lt 1200 ]; do "
                    "i=$((i+1)); sleep 0.05; done; "
                    "\"$SIGNET_BIN\" log add R b3.json & ap=$!; wait $sp; wait $ap"),
                 0, "%s", err);
    cr_assert_eq(count("R", NULL), 3, "the entry appended to R during the sync's push is on R's branch");
    cr_assert_eq(SIGNET("log verify R"), 0, "%s", err);
}

/* The remote log's lock is held by another writer: sync waits (here until timeout stops it) and changes nothing; a
   push killed while moving the remote's branch leaves its lock, which the next sync clears once stale. */
Test(log, a_sync_to_a_local_log_takes_its_lock_and_clears_its_stale_branch_lock)
{
    char before[SIGN_LOG_COMMIT_SIZE], after[SIGN_LOG_COMMIT_SIZE];

    make_bundles(3);
    cr_assert_eq(SH("\"$SIGNET_BIN\" log init R && \"$SIGNET_BIN\" log add R b1.json && "
                    "\"$SIGNET_BIN\" log sync L R && \"$SIGNET_BIN\" log add L b2.json"),
                 0, "%s", err);
    (void)count("R", before);
    cr_assert_eq(SH("exec 9>R/signet-log.lock && flock 9 && rc=0 && timeout 2 \"$SIGNET_BIN\" log sync L R || rc=$?; "
                    "test $rc -eq 124"),
                 0, "sync did not wait for the remote log's lock: %s", err);
    cr_assert_eq(count("R", after), 1);
    cr_assert_str_eq(after, before, "nothing was pushed while the remote log was locked");

    kill_at_ref_move("R/refs/heads/main.lock", "log sync L R");
    cr_assert_eq(SIGNET("log sync L R"), 2, "%s", err);
    cr_assert_not_null(strstr(err, "R/refs/heads/main.lock is git's lock on the log's branch, made "), "%s", err);
    cr_assert_eq(SH("touch -d '2 minutes ago' R/refs/heads/main.lock"), 0);
    cr_assert_eq(SIGNET("log sync L R"), 0, "%s", err);
    cr_assert_not_null(strstr(err, "signet: warning: removed R/refs/heads/main.lock"), "%s", err);
    cr_assert_eq(count("R", NULL), 2);
    cr_assert_eq(SIGNET("log verify --since %s R", before), 0, "%s", err);
}
