/* signet audit end to end: one class per artifact on a store with one artifact of each class
   (keys-example/audit-store.sh), the reports (JSON lines, text, HTML rendered by headless Chromium),
   look-ahead, --at, --fail-on, shards and their merge, --bundles, --from-list, hostile stores. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sign/audit.h"
#include "testutil.h"
#include "verify_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define AUDIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUDIT_SANITIZED 1
#endif
#endif
#ifndef AUDIT_SANITIZED
#define AUDIT_SANITIZED 0
#endif

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

/* tu_sh with S set to the built signet. */
#define sh(...) tu_sh(&out, &err, dir, "S=\"$SIGNET_BIN\"; " __VA_ARGS__)

/* d/: the example store with its policy. */
static void make_store(void)
{
    cr_assert_eq(sh("sh '%s/keys-example/audit-store.sh' \"$S\" d", tu_src()), 0, "%s", err);
}

/* The class of the record of a path ending in name, in a JSON-lines report. */
static const char *class_of(const char *report, const char *name)
{
    static char cls[32];
    const char *p = report;

    cls[0] = '\0';
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, "\n");
        json_t *o = json_loadb(p, n, 0, NULL);
        const char *path = json_string_value(json_object_get(o, "path"));

        if (path != NULL && strlen(path) >= strlen(name) && strcmp(path + strlen(path) - strlen(name), name) == 0) {
            snprintf(cls, sizeof(cls), "%s", json_string_value(json_object_get(o, "class")));
        }
        json_decref(o);
        p += n + (p[n] == '\n');
    }
    return cls;
}

static json_t *summary_of(const char *report)
{
    const char *last = report, *p;

    for (p = report; (p = strchr(p, '\n')) != NULL && p[1] != '\0'; p++) {
        last = p + 1;
    }
    return json_loads(last, 0, NULL);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 120);

Test(audit, each_artifact_gets_its_one_class)
{
    static const char *const expect[][2] = {
        {"releases/good.txt", "verified"},
        {"releases/tampered.txt", "tampered"},
        {"releases/unsigned.txt", "unsigned"},
        {"releases/revoked.txt", "revoked"},
        {"misc/expired.txt", "expired"},
        {"misc/untrusted.txt", "untrusted"},
        {"misc/policy.txt", "policy"},
        {"misc/unreadable.txt", "unreadable"},
        {"misc/orphan.txt.sigstore.json", "orphan"},
        {"releases/expiring.txt", "verified"},
    };
    json_t *sum, *counts;
    char *report;

    make_store();
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format json --warn-within 90d d/store"), 1, "%s", err);
    report = strdup(out);
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        cr_assert_str_eq(class_of(report, expect[i][0]), expect[i][1], "%s", expect[i][0]);
    }
    sum = summary_of(report);
    counts = json_object_get(sum, "counts");
    cr_assert_eq(json_integer_value(json_object_get(sum, "total")), 10);
    cr_assert_eq(json_integer_value(json_object_get(counts, "verified")), 2);
    cr_assert_eq(json_integer_value(json_object_get(sum, "warned")), 1, "the key that expires in 30 days");
    cr_assert_eq(strlen(json_string_value(json_object_get(sum, "policy_sha256"))), 64);
    cr_assert_not_null(strstr(report, "\"future_class\":\"expired\""));
    cr_assert_not_null(strstr(report, "\"signers\":[\"release\"]"));
    json_decref(sum);
    free(report);
    /* the text report: the table and one line per artifact that is not verified */
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json d/store"), 1);
    cr_assert_not_null(strstr(out, "revoked"));
    cr_assert_not_null(strstr(out, "CERT_REVOKED"));
    cr_assert_null(strstr(out, "good.txt"), "verified artifacts are not listed");
}

Test(audit, exit_status_follows_fail_on_and_at_judges_the_past)
{
    make_store();
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --fail-on expired d/store >/dev/null"), 6);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --fail-on policy,untrusted d/store >/dev/null"), 3);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --fail-on verified d/store >/dev/null"), 0);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --fail-on nonsense d/store"), 2);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format json --at 2019-06-01T00:00:00Z d/store"), 1);
    cr_assert_str_eq(class_of(out, "misc/expired.txt"), "verified", "the retired key was valid in 2019");
    cr_assert_not_null(strstr(out, "\"at_given\":true"));
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --shard 3/3 d/store"), 2);
    cr_assert_eq(sh("\"$S\" audit -p d/missing.json d/store"), 2);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --report d/no/such/dir/r.json d/store"), 2);
    /* a FIFO as the report is written in place, never replaced by a file */
    cr_assert_eq(sh("mkfifo f && (cat f > got.txt &) && \"$S\" audit -p d/policy.json --report f d/store || true; "
                    "sleep 1; test -p f && grep -q tampered got.txt"),
                 0, "%s", err);
}

Test(audit, shards_together_equal_one_run_and_merge_into_its_report)
{
    json_t *whole, *merged;

    make_store();
    /* records without their message (it may quote the moment judged), summaries left out */
    cr_assert_eq(sh("strip() { python3 -c 'import sys, json\n"
                    "for l in sys.stdin:\n"
                    "    o = json.loads(l)\n"
                    "    o.pop(\"message\", None)\n"
                    "    print(json.dumps(o, sort_keys=True)) if \"summary\" not in o else None' | sort; }; "
                    "\"$S\" audit -p d/policy.json --format json d/store | strip > all.txt; "
                    "for k in 0 1 2; do \"$S\" audit -p d/policy.json --format json --shard $k/3 --report s$k.json "
                    "d/store || true; done; cat s0.json s1.json s2.json | strip > union.txt; "
                    "cmp all.txt union.txt"),
                 0, "the union of the shards is the whole run: %s", err);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format json d/store | tail -n 1"), 0);
    whole = json_loads(out, 0, NULL);
    cr_assert_eq(sh("\"$S\" audit merge --format json s0.json s1.json s2.json | tail -n 1"), 0, "%s", err);
    merged = json_loads(out, 0, NULL);
    cr_assert(json_equal(json_object_get(whole, "counts"), json_object_get(merged, "counts")));
    cr_assert_eq(sh("\"$S\" audit merge s0.json s1.json s2.json >/dev/null"), 1, "merged: the worst class decides");
    /* a shard made under another policy is refused unless told */
    cr_assert_eq(sh("sed -i 's/\"version\": 1/\"version\": 1, \"mode\": \"enforce\"/' d/policy.json && "
                    "\"$S\" audit -p d/policy.json --format json --shard 0/3 --report t0.json d/store || true"),
                 0);
    cr_assert_eq(sh("\"$S\" audit merge t0.json s1.json s2.json"), 2);
    cr_assert_not_null(strstr(err, "another policy"));
    cr_assert_eq(sh("\"$S\" audit merge --allow-mixed t0.json s1.json s2.json >/dev/null"), 1);
    cr_assert_eq(sh("head -n 1 s0.json > cut.json; \"$S\" audit merge cut.json"), 2, "a report without its summary");
    cr_assert_eq(
        sh("\"$S\" audit -p d/policy.json --format json --at 2026-01-01T00:00:00Z --shard 0/3 --report a0.json "
           "d/store || true; \"$S\" audit -p d/policy.json --format json --at 2026-02-01T00:00:00Z --shard 1/3 "
           "--report a1.json d/store || true; \"$S\" audit merge a0.json a1.json"),
        2, "shards judged as of different --at times");
    json_decref(whole);
    json_decref(merged);
}

Test(audit, bundles_elsewhere_and_a_list_of_paths)
{
    make_store();
    cr_assert_eq(
        sh("mkdir b && cd d/store && find . -name '*.sigstore.json' | while read f; do mkdir -p ../../b/$(dirname "
           "$f) && mv $f ../../b/$f; done"),
        0, "%s", err);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format json --bundles b d/store"), 1, "%s", err);
    cr_assert_str_eq(class_of(out, "releases/good.txt"), "verified");
    cr_assert_str_eq(class_of(out, "releases/tampered.txt"), "tampered");
    cr_assert_str_eq(class_of(out, "misc/orphan.txt.sigstore.json"), "orphan");
    cr_assert_eq(sh("printf 'd/store/releases/good.txt\\nd/store/releases/tampered.txt\\n' | \"$S\" audit -p "
                    "d/policy.json --format json --bundles b --from-list - --fail-on verified; echo"),
                 0);
    cr_assert_str_eq(class_of(out, "tampered.txt"), "unsigned", "--bundles is relative to the listed paths too");
}

Test(audit, hostile_stores_are_walked_safely)
{
    make_store();
    cr_assert_eq(
        sh("mkdir -p outside && echo secret > outside/s.txt && ln -s ../../outside d/store/escape && "
           "ln -s /etc/passwd d/store/passwd && p=d/store; for i in $(seq 1 70); do p=$p/x; done; mkdir -p $p && "
           "echo deep > $p/f.txt && touch 'd/store/<img src=x onerror=alert(1)>.txt'"),
        0, "%s", err);
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format json d/store"), 1, "%s", err);
    cr_assert_null(strstr(out, "s.txt"), "a symlink is not followed out of the store");
    cr_assert_null(strstr(out, "passwd"));
    cr_assert_not_null(strstr(out, "deeper than"), "a store nested too deep is reported, not followed");
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format html --report r.html d/store"), 1);
    cr_assert_eq(sh("! grep -q '<img' r.html && grep -q '&lt;img src=x' r.html"), 0,
                 "a hostile file name is escaped in HTML");
}

/*
 * Headless Chromium as root in a test: no sandbox, a throwaway profile per run, nothing leaves the machine
 * (every host name resolves to nothing; the browser's own update and account requests die there too), and a
 * network log of every request it makes. %s: the run's name (its profile and log).
 */
#define CHROMIUM                                                                                                     \
    "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "                       \
    "--disable-background-networking --disable-component-update --disable-sync --disable-extensions "                \
    "--host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir=\"$PWD/profile-%s\" "                                   \
    "--log-net-log=\"$PWD/net-%s.json\" "

/*
 * The URLs of the requests in a Chromium network log made for a page (any initiator but the browser itself,
 * "not an origin"), one a line; exit 1 when there is one.
 */
#define PAGE_REQUESTS                                                                                                \
    "python3 -c 'import json,sys\n"                                                                                  \
    "d = json.load(open(sys.argv[1]))\n"                                                                             \
    "t = d[\"constants\"][\"logEventTypes\"][\"URL_REQUEST_START_JOB\"]\n"                                           \
    "bad = [e[\"params\"][\"url\"] for e in d[\"events\"] if e[\"type\"] == t and "                                  \
    "e.get(\"params\", {}).get(\"initiator\", \"not an origin\") != \"not an origin\"]\n"                            \
    "print(\"\\n\".join(bad))\n"                                                                                     \
    "sys.exit(1 if bad else 0)' "

Test(audit, html_report_is_self_contained_and_renders_in_chromium)
{
    static const char *const rows[] = {"tampered",  "unsigned", "revoked",    "expired",
                                       "untrusted", "policy",   "unreadable", "orphan"};
    char row[128];

    make_store();
    cr_assert_eq(sh("\"$S\" audit -p d/policy.json --format html --warn-within 90d --report r.html d/store"), 1, "%s",
                 err);
    /* nothing in the page asks for anything outside it */
    cr_assert_eq(sh("! grep -Eiq 'https?://|<script|<link|<img|<iframe| src=|url\\(' r.html"), 0,
                 "the report references something outside itself");
    cr_assert_eq(sh("grep -q 'Content-Security-Policy' r.html"), 0);
    if (sh("command -v chromium >/dev/null") != 0) {
        cr_skip_test("chromium is not installed (Debian package chromium): the page was not rendered");
    }
    /* The check of the network log can fail: a page that loads an image and a style sheet is caught. */
    cr_assert_eq(sh("printf '<html><body><img src=\"http://127.0.0.1:9/x.png\"><link rel=stylesheet "
                    "href=\"http://leak.invalid/a.css\">x</body></html>' > leak.html && " CHROMIUM
                    "--dump-dom \"file://$PWD/leak.html\" >/dev/null 2>&1; " PAGE_REQUESTS "net-leak.json",
                    "leak", "leak"),
                 1, "the network log check sees a page's requests: %s", out);
    cr_assert_not_null(strstr(out, "http://127.0.0.1:9/x.png"), "%s", out);
    /* The report, rendered: the DOM Chromium built holds the summary, the look-ahead and every row. */
    cr_assert_eq(sh(CHROMIUM "--dump-dom \"file://$PWD/r.html\" 2>/dev/null", "dom", "dom"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "10 artifact(s): 2 verified, 8 not verified."), "%s", out);
    cr_assert_not_null(strstr(out, "Look-ahead"));
    cr_assert_not_null(strstr(out, "CERT_REVOKED"));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(row, sizeof(row), "<tr><td>%s</td><td><code>", rows[i]);
        cr_assert_not_null(strstr(out, row), "the rendered table has a %s row: %s", rows[i], out);
    }
    cr_assert_null(strstr(out, "good.txt"), "verified artifacts are not in the table");
    cr_assert_eq(sh(PAGE_REQUESTS "net-dom.json"), 0, "the rendered report made requests: %s", out);
    /* and a screenshot of it: a real picture, not an empty page */
    cr_assert_eq(sh(CHROMIUM "--window-size=1200,1400 --screenshot=\"$PWD/shot.png\" \"file://$PWD/r.html\" "
                             ">/dev/null 2>&1; test \"$(stat -c %%s shot.png)\" -gt 5000 && "
                             "test \"$(head -c 8 shot.png | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a",
                    "shot", "shot"),
                 0, "a screenshot of the rendered report (a PNG over 5 kB): %s", err);
    cr_assert_eq(sh(PAGE_REQUESTS "net-shot.json"), 0, "rendering for the screenshot made requests: %s", out);
}

/*
 * s/a.txt ... s/d.txt, a policy trusting the key k, and one bundle signing the artifacts listed in signed copied
 * beside each of the four; then s/b.txt is changed and the copy beside s/<altered>.txt has a signature byte flipped.
 */
static void shared_bundle_store(const char *signed_arts, const char *altered)
{
    cr_assert_eq(
        sh("\"$S\" keygen --no-passphrase -o k >/dev/null && mkdir s && for n in a b c d; do echo $n > s/$n.txt; "
           "done && printf '{\"version\": 1, \"keys\": [{\"name\": \"k\", \"public_key\": \"k.pub\", "
           "\"artifacts\": [\"*\"]}]}' > policy.json && \"$S\" sign -k k.key -o all.json %s "
           ">/dev/null && for n in a b c d; do cp all.json s/$n.txt.sigstore.json; done && "
           "echo changed > s/b.txt && python3 -c 'import json, base64, sys\n"
           "b = json.load(open(sys.argv[1]))\n"
           "s = b[\"dsseEnvelope\"][\"signatures\"][0]\n"
           "raw = bytearray(base64.b64decode(s[\"sig\"])); raw[5] ^= 1\n"
           "s[\"sig\"] = base64.b64encode(bytes(raw)).decode()\n"
           "json.dump(b, open(sys.argv[1], \"w\"))' s/%s.txt.sigstore.json",
           signed_arts, altered),
        0, "%s", err);
}

/*
 * One bundle signing several artifacts lies beside each of them: its signature is checked once and then
 * remembered, yet every artifact is still judged on its own bytes, and a copy of the bundle whose signature
 * was altered (the same signed payload) is not taken for the one that verified.
 */
Test(audit, a_bundle_shared_by_artifacts_is_judged_for_each)
{
    shared_bundle_store("s/a.txt s/b.txt s/c.txt s/d.txt", "d");
    cr_assert_eq(sh("\"$S\" audit -p policy.json --jobs 1 --format json s"), 1, "%s", err);
    cr_assert_str_eq(class_of(out, "s/a.txt"), "verified", "%s", out);
    cr_assert_str_eq(class_of(out, "s/b.txt"), "tampered", "its bytes changed: %s", out);
    cr_assert_str_eq(class_of(out, "s/c.txt"), "verified");
    cr_assert_str_eq(class_of(out, "s/d.txt"), "tampered", "the altered signature of a payload that verified: %s",
                     out);
    cr_assert_not_null(strstr(out, "SIGNATURE_INVALID"));
}

/*
 * The audit shares a statement parsed from a signed payload with the later artifacts whose bundle signs the same
 * bytes (SIGN_VERIFY_SHARE_STATEMENTS). In list order the good bundle is parsed first and kept; then a copy of it
 * with an altered signature (the same payload) must still be tampered, an artifact whose bytes changed tampered,
 * and an artifact the statement does not name, beside a copy of the bundle, not verified.
 */
Test(audit, a_shared_statement_never_passes_another_bundle_or_artifact)
{
    shared_bundle_store("s/a.txt s/b.txt s/c.txt", "c");
    cr_assert_eq(sh("printf 's/a.txt\\ns/c.txt\\ns/b.txt\\ns/d.txt\\ns/a.txt\\n' > list"), 0, "%s", err);
    cr_assert_eq(sh("\"$S\" audit -p policy.json --jobs 1 --format json --from-list list"), 1, "%s", err);
    cr_assert_str_eq(class_of(out, "s/a.txt"), "verified", "%s", out);
    cr_assert_str_eq(class_of(out, "s/c.txt"), "tampered", "the altered signature of a payload parsed before: %s",
                     out);
    cr_assert_not_null(strstr(out, "SIGNATURE_INVALID"), "%s", out);
    cr_assert_str_eq(class_of(out, "s/b.txt"), "tampered", "its bytes changed: %s", out);
    cr_assert_str_eq(class_of(out, "s/d.txt"), "unsigned", "named by no subject of the statement: %s", out);
    cr_assert_not_null(strstr(strstr(out, "s/d.txt"), "ARTIFACT_NOT_SIGNED"), "%s", out);
}

/*
 * The statement cache itself (statement_cache.c): the same payload under the same limits and --entries setting
 * is one shared statement; other limits parse again (and may refuse it), --entries or no flag give a statement of
 * their own, and a payload that does not parse is never kept.
 */
Test(audit, a_statement_is_shared_only_under_the_same_limits)
{
    static const char stmt[] =
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://example.com/p\","
        "\"subject\":[{\"name\":\"a.txt\",\"digest\":{\"sha256\":\"0123456789abcdef0123456789"
        "abcdef0123456789abcdef0123456789abcdef\"}}]}";
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT, plain = SIGN_VERIFY_OPTIONS_INIT;
    sign_limits small = SIGN_LIMITS_INIT;
    sign_statement *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    vctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    o.flags = SIGN_VERIFY_SHARE_STATEMENTS;
    ctx.opts = &o;
    cr_assert_eq(sign__limits(&ctx.limits_buf, NULL), 0);
    ctx.limits = &ctx.limits_buf;
    cr_assert_eq(vfy_statement_parse(&a, &ctx, (const unsigned char *)stmt, strlen(stmt)), 0, "%s",
                 sign_error_last());
    cr_assert_eq(vfy_statement_parse(&b, &ctx, (const unsigned char *)stmt, strlen(stmt)), 0);
    cr_assert_eq(a, b, "the same bytes under the same limits: one parse");
    small.json_max_bytes = 64;
    cr_assert_eq(sign__limits(&ctx.limits_buf, &small), 0);
    cr_assert_eq(vfy_statement_parse(&c, &ctx, (const unsigned char *)stmt, strlen(stmt)), SIGN_ELIMIT,
                 "a kept parse must not pass a limit it was not judged under");
    cr_assert_null(c);
    cr_assert_eq(sign__limits(&ctx.limits_buf, NULL), 0);
    ctx.entries = 1;
    cr_assert_eq(vfy_statement_parse(&d, &ctx, (const unsigned char *)stmt, strlen(stmt)), 0);
    cr_assert_neq(d, a, "entries kept: a statement of its own");
    ctx.entries = 0;
    ctx.opts = &plain;
    cr_assert_eq(vfy_statement_parse(&e, &ctx, (const unsigned char *)stmt, strlen(stmt)), 0);
    cr_assert_neq(e, a, "without the flag: a parse of its own");
    ctx.opts = &o;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(vfy_statement_parse(&c, &ctx, (const unsigned char *)"{\"_type\":1}", 12), SIGN_EPARSE);
    }
    sign_statement_free(a);
    sign_statement_free(b);
    sign_statement_free(d);
    sign_statement_free(e);
}

/*
 * A directory is walked in path order whatever order readdir gives (a hash order on most file systems): one
 * thread's JSON lines come out sorted, so the artifacts that share a bundle are judged one after another.
 */
Test(audit, a_directory_is_walked_in_path_order)
{
    const char *p;
    char prev[64] = "";
    int n = 0;

    cr_assert_eq(sh("mkdir s && for i in $(seq 100 199 | shuf); do echo $i > s/f$i.txt; done && "
                    "mkdir s/sub && echo x > s/sub/a.txt && \"$S\" keygen --no-passphrase -o k >/dev/null && printf "
                    "'{\"version\": 1, \"keys\": [{\"name\": \"k\", \"public_key\": \"k.pub\", \"artifacts\": "
                    "[\"*\"]}]}' > policy.json"),
                 0, "%s", err);
    sh("\"$S\" audit -p policy.json --jobs 1 --format json s");
    for (p = out; (p = strstr(p, "\"path\":\"")) != NULL; p++) {
        char path[64];

        snprintf(path, sizeof(path), "%.*s", (int)strcspn(p + 8, "\""), p + 8);
        cr_assert_lt(strcmp(prev, path), 0, "%s after %s", path, prev);
        snprintf(prev, sizeof(prev), "%s", path);
        n++;
    }
    cr_assert_eq(n, 101, "%s", out);
}

/* Peak RSS (KiB) of signet run with args in dir (stdout and stderr to files there); *status its exit status. */
static long peak_kib(int *status, const char *const *args)
{
    const char *argv[16] = {getenv("SIGNET_BIN")};
    struct rusage ru;
    pid_t pid;
    int st = 0;
    size_t n = 1;

    for (; args[n - 1] != NULL && n < 15; n++) {
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    cr_assert_not_null(argv[0], "SIGNET_BIN is not set");
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(dir) != 0 || freopen("stdout.txt", "w", stdout) == NULL ||
            freopen("stderr.txt", "w", stderr) == NULL) {
            _exit(127);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return ru.ru_maxrss;
}

/*
 * A store where every artifact fails: the text and HTML reports list every one of them, in path order, and
 * the records are spooled (sorted runs in an unlinked temporary file), not kept: peak RSS stays flat. Kept in
 * memory (about 2 KiB a record) these 40,000 would take some 90 MiB.
 */
Test(audit, every_artifact_failing_keeps_memory_flat, .timeout = 600)
{
    static const char *const text[] = {"audit", "-p", "policy.json", "--report", "r.txt", "big", NULL};
    static const char *const html[] = {"audit",    "-p",     "policy.json", "--format", "html",
                                       "--report", "r.html", "big",         NULL};
    const unsigned count = 40000;
    char name[256];
    long kib;
    int status;

    cr_assert_eq(
        sh("\"$S\" keygen --no-passphrase -o k >/dev/null && mkdir big big/a big/b && printf '{\"version\": 1, "
           "\"keys\": [{\"name\": \"k\", \"public_key\": \"k.pub\", \"artifacts\": [\"*\"]}]}' > policy.json"),
        0, "%s", err);
    for (unsigned i = 0; i < count; i++) {
        /* half unsigned artifacts, half orphaned bundles (with a message each), in a scrambled order */
        unsigned k = (i * 7919u) % count;
        char *p;

        snprintf(name, sizeof(name), "big/%s/artifact-with-a-rather-long-name-to-weigh-on-memory-%05u%s",
                 k % 2 ? "a" : "b", k, k % 2 ? ".bin" : ".bin.sigstore.json");
        p = tu_path(dir, name);
        tu_write_str(p, "x");
        free(p);
    }
    kib = peak_kib(&status, text);
    cr_assert_eq(status, 1, "unsigned and orphans: exit 1");
    cr_assert_eq(sh("grep -c '^unsigned ' r.txt; grep -c '^orphan ' r.txt"), 0);
    cr_assert_str_eq(out, "20000\n20000\n", "every failing artifact is listed once");
    cr_assert_eq(sh("grep -E '^(unsigned|orphan) ' r.txt | sed 's/^[a-z]* *//' > listed.txt && "
                    "LC_ALL=C sort -c listed.txt && test $(sort -u listed.txt | wc -l) -eq 40000"),
                 0, "the list is in path order, each once: %s", err);
    cr_assert_eq(sh("grep -q 'BUNDLE_MISSING' r.txt && grep -q 'ARTIFACT_MISSING' r.txt"), 0);
    fprintf(stderr, "audit: %u failing artifacts, text report: peak %ld KiB\n", count, kib);
    if (!AUDIT_SANITIZED) {
        cr_assert_lt(kib, 32 * 1024, "peak RSS %ld KiB for %u failing artifacts", kib, count);
    }
    kib = peak_kib(&status, html);
    cr_assert_eq(status, 1);
    cr_assert_eq(sh("grep -c '<tr><td>orphan</td>' r.html; grep -c '<tr><td>unsigned</td>' r.html; "
                    "grep -c 'a bundle whose artifact is not in the store' r.html"),
                 0);
    cr_assert_str_eq(out, "20000\n20000\n20000\n", "every failing artifact is a row, with its message");
    fprintf(stderr, "audit: %u failing artifacts, HTML report: peak %ld KiB\n", count, kib);
    if (!AUDIT_SANITIZED) {
        cr_assert_lt(kib, 32 * 1024, "peak RSS %ld KiB for %u failing artifacts", kib, count);
    }
}

/* ---- per-artifact work (stop 15) ------------------------------------------------------------------------ */

/* The read system calls sign__read_file(path) makes (the measurement's own subtracted); *len its bytes. */
static long long reads_of_read_file(const char *path, size_t max, int *rc, unsigned char **got, size_t *len)
{
    long long r0 = tu_syscr(), base = tu_syscr() - r0;

    r0 = tu_syscr();
    *rc = sign__read_file(got, len, path, max);
    return tu_syscr() - r0 - base;
}

/*
 * A bundle (any file sign__read_file reads: bundles, policies, keys) of the size fstat gave is read with one
 * read. Before, the buffer held exactly that size, so a second read had to see the end (2 reads, and 2 fcntl
 * calls clearing O_NONBLOCK, which a regular file ignores): this failed with 2 reads. A file past the limit, or
 * at it, and one that is not a regular file are judged as before.
 */
Test(audit, a_bundle_is_read_with_one_read)
{
    static const size_t sizes[] = {0, 1, 1044, 70000};
    char *p = tu_path(dir, "b.json"), *fifo = tu_path(dir, "fifo");
    unsigned char *data = malloc(70000), *got = NULL;
    size_t len = 0;
    int rc;

    cr_assert_not_null(data);
    for (size_t i = 0; i < 70000; i++) {
        data[i] = (unsigned char)('a' + i % 26);
    }
    tu_write(p, data, 10);
    (void)reads_of_read_file(p, 1 << 20, &rc, &got, &len); /* what a process loads once */
    free(got);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        long long n;

        tu_write(p, data, sizes[i]);
        n = reads_of_read_file(p, 1 << 20, &rc, &got, &len);
        cr_assert_eq(rc, 0, "%s", sign_error_last());
        cr_assert_eq(len, sizes[i]);
        cr_assert(len == 0 || memcmp(got, data, len) == 0);
        cr_assert_eq(got[len], '\0', "NUL-terminated");
        cr_assert_eq(n, 1, "a file of %zu bytes took %lld reads, not 1", sizes[i], n);
        free(got);
    }
    tu_write(p, data, 1000);
    cr_assert_eq(reads_of_read_file(p, 999, &rc, &got, &len), 0, "refused from its size, before any read");
    cr_assert_eq(rc, SIGN_ELIMIT);
    cr_assert_null(got);
    cr_assert_eq(reads_of_read_file(p, 1000, &rc, &got, &len), 1, "a file at the limit: one read");
    cr_assert_eq(rc, 0, "%s", sign_error_last());
    cr_assert_eq(len, 1000);
    free(got);
    got = NULL;
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(sign__read_file(&got, &len, fifo, 1000), SIGN_EIO, "a FIFO is refused, and the open does not hang");
    cr_assert_null(got);
    free(data);
    free(p);
    free(fifo);
}

/* One artifact of the example store verified with opts' flags (its bundle beside it). */
static sign_verify_result *verify_with(const sign_policy *pol, const char *path, unsigned flags)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    const char *arts[1] = {path};

    o.artifacts = arts;
    o.nartifacts = 1;
    o.flags = flags;
    int rc = sign_verify(&res, pol, &o);

    cr_assert_not_null(res, "%s: %s (%d)", path, sign_error_last(), rc);
    return res;
}

static int str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * SIGN_VERIFY_TERSE (what signet audit asks for): the checks that pass carry an empty message, and nothing else
 * changes: the same checks in the same order, with the same statuses, reasons, codes, artifacts, bundles,
 * signers, the failures' messages, the result's code, the class and reasons the audit gives, on an artifact of
 * each class of the example store.
 */
Test(audit, terse_checks_change_only_the_messages_of_passes)
{
    static const char *const names[] = {"releases/good.txt",    "releases/tampered.txt", "releases/unsigned.txt",
                                        "releases/revoked.txt", "misc/expired.txt",      "misc/untrusted.txt",
                                        "misc/policy.txt",      "misc/unreadable.txt",   "releases/expiring.txt"};
    char *pp = tu_path(dir, "d/policy.json");
    sign_policy *pol = NULL;
    size_t passes = 0;

    make_store();
    cr_assert_eq(sign_policy_load(&pol, pp, NULL), 0, "%s", sign_error_last());
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char name[128], *p, ra[512], rb[512];
        sign_verify_result *a, *b;

        snprintf(name, sizeof(name), "d/store/%s", names[i]);
        p = tu_path(dir, name);
        a = verify_with(pol, p, 0);
        b = verify_with(pol, p, SIGN_VERIFY_TERSE);
        cr_assert_eq(sign_verify_result_check_count(a), sign_verify_result_check_count(b), "%s", names[i]);
        cr_assert_eq(sign_verify_result_code(a), sign_verify_result_code(b), "%s", names[i]);
        cr_assert_eq(sign_audit_classify(a, 0, ra, sizeof(ra)), sign_audit_classify(b, 0, rb, sizeof(rb)));
        cr_assert_str_eq(ra, rb, "%s", names[i]);
        for (size_t k = 0; k < sign_verify_result_check_count(a); k++) {
            const sign_check *x = sign_verify_result_check(a, k), *y = sign_verify_result_check(b, k);
            int pass = x->status == SIGN_CHECK_PASS || x->status == SIGN_CHECK_SKIP;

            cr_assert_eq(x->status, y->status, "%s check %zu", names[i], k);
            cr_assert(str_same(x->check, y->check) && str_same(x->reason, y->reason) && x->code == y->code &&
                          str_same(x->artifact, y->artifact) && str_same(x->bundle, y->bundle) &&
                          str_same(x->signer, y->signer),
                      "%s check %zu (%s)", names[i], k, x->check);
            cr_assert_not_null(y->message);
            if (pass) {
                cr_assert_str_eq(y->message, "", "%s: a pass is terse", names[i]);
                cr_assert_neq(strlen(x->message), 0, "%s: and has a message otherwise", names[i]);
                passes++;
            } else {
                cr_assert_str_eq(x->message, y->message, "%s: a failure keeps its message", names[i]);
            }
        }
        sign_verify_result_free(a);
        sign_verify_result_free(b);
        free(p);
    }
    cr_assert_gt(passes, 8, "passing checks were compared");
    sign_policy_free(pol);
    free(pp);
}

/*
 * A directory walk looks for each artifact's bundle, and each bundle's artifact, in the directory entries it
 * read (no access() or lstat per file when they are there), and falls back to the system call when the bundle
 * is not a regular file. The classes are those of a list of the same paths, which always asks the file system:
 * a bundle that is a dangling link or a link to another bundle, a directory in a bundle's place, no bundle, and
 * a bundle with no artifact (an orphan, found by the walk only).
 */
Test(audit, a_walk_finds_bundles_among_the_entries_it_read)
{
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "h"};

    shared_bundle_store("s/a.txt s/b.txt s/c.txt s/d.txt", "d");
    cr_assert_eq(sh("rm s/c.txt.sigstore.json && ln -s nowhere s/c.txt.sigstore.json && echo e > s/e.txt && "
                    "mkdir s/e.txt.sigstore.json && echo f > s/f.txt && cp all.json s/g.txt.sigstore.json && "
                    "echo h > s/h.txt && ln -s a.txt.sigstore.json s/h.txt.sigstore.json && "
                    "for n in a b c d e f h; do echo s/$n.txt; done > list"),
                 0, "%s", err);
    sh("\"$S\" audit -p policy.json --jobs 1 --format json s > walk.jsonl");
    sh("\"$S\" audit -p policy.json --jobs 1 --format json --from-list list > list.jsonl");
    cr_assert_eq(sh("cat walk.jsonl"), 0);
    {
        char *walk = strdup(out);

        cr_assert_eq(sh("cat list.jsonl"), 0);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char name[32], cls[32];

            snprintf(name, sizeof(name), "s/%s.txt", names[i]);
            snprintf(cls, sizeof(cls), "%s", class_of(walk, name));
            cr_assert_neq(cls[0], '\0', "%s is in the walk's report: %s", name, walk);
            cr_assert_str_eq(cls, class_of(out, name), "%s: walk and list agree", name);
        }
        cr_assert_str_eq(class_of(walk, "s/a.txt"), "verified", "%s", walk);
        cr_assert_str_eq(class_of(walk, "s/c.txt"), "unsigned", "a dangling link is no bundle: %s", walk);
        cr_assert_str_eq(class_of(walk, "s/f.txt"), "unsigned", "%s", walk);
        cr_assert_str_eq(class_of(walk, "s/g.txt.sigstore.json"), "orphan", "%s", walk);
        cr_assert_null(strstr(walk, "\"s/a.txt.sigstore.json\""), "a bundle beside its artifact is no item");
        free(walk);
    }
}
