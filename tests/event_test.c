/* Structured events: one JSON line per sign and verify decision, with the facts an auditor needs. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign/sign.h"
#include "util.h"
#include "testutil.h"

static char *ev_dir;

static void ev_setup(void)
{
    ev_dir = tu_mkdtemp();
}

static void ev_teardown(void)
{
    tu_rmtree(ev_dir);
    free(ev_dir);
}

static char *ev_path(const char *name)
{
    return tu_path(ev_dir, name);
}

/* Sign path with a fresh key, write a policy trusting it; returns the key. */
static sign_key *ev_signed(const char *artifact, const char *bundle)
{
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {artifact};
    sign_bundle *b = NULL;
    char *pub = ev_path("k.pub"), *pol = ev_path("policy.json");

    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    cr_assert_eq(sign_key_write_public(k, pub), 0);
    tu_write_str(pol, "{\"version\":1,\"keys\":[{\"name\":\"rel\",\"public_key\":\"k.pub\"}]}");
    o.key = k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = bundle;
    cr_assert_eq(sign_sign(&b, NULL, &o), 0, "%s", sign_error_last());
    sign_bundle_free(b);
    free(pub);
    free(pol);
    return k;
}

static json_t *ev_parse_line(const char *line)
{
    json_error_t e;
    json_t *j;

    cr_assert_null(strchr(line, '\n'), "one line");
    j = json_loads(line, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

Test(event, verify_event_records_decision_policy_digest_and_failures, .init = ev_setup, .fini = ev_teardown)
{
    char *art = ev_path("app.bin"), *bun = ev_path("app.bin.sigstore.json"), *pol = ev_path("policy.json");
    sign_key *k;
    sign_policy *p = NULL;
    sign_verify_result *res = NULL;
    sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[] = {art};
    char *line = NULL, *text, hex[65];
    unsigned char md[32];
    size_t len = 0;
    json_t *j, *c;
    size_t i;
    int saw_fail = 0;

    tu_write_str(art, "payload\n");
    k = ev_signed(art, bun);
    cr_assert_eq(sign_policy_load(&p, pol, NULL), 0, "%s", sign_error_last());
    text = tu_read(pol, &len);
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), NULL, SIGN_DIGEST_SHA256, text, len), 0);
    cr_assert_eq(sign_hex_encode(hex, sizeof(hex), md, 32), 0);
    free(text);
    vo.artifacts = arts;
    vo.nartifacts = 1;

    cr_assert_eq(sign_verify(&res, p, &vo), 0);
    cr_assert_eq(sign_event_verify(&line, res, p, pol, 1767225600), 0);
    j = ev_parse_line(line);
    cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "signet.verify");
    cr_assert_str_eq(json_string_value(json_object_get(j, "decision")), "pass");
    cr_assert_str_eq(json_string_value(json_object_get(j, "time")), "2026-01-01T00:00:00Z");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "policy"), "sha256")), hex,
                     "the event names the exact policy that decided");
    {
        json_t *a0 = json_array_get(json_object_get(j, "artifacts"), 0);

        json_t *s0 = json_array_get(json_object_get(a0, "signers"), 0);

        /* A signer is an object: its name and the key id, so a passing event records which key signed. */
        cr_assert_str_eq(json_string_value(json_object_get(s0, "name")), "rel");
        cr_assert_eq(strlen(json_string_value(json_object_get(s0, "key_id"))), 44);
        cr_assert(json_is_true(json_object_get(a0, "verified")));
    }
    json_decref(j);
    free(line);
    sign_verify_result_free(res);
    res = NULL;

    tu_write_str(art, "payload changed\n");
    cr_assert_eq(sign_verify(&res, p, &vo), SIGN_EDIGEST);
    cr_assert_eq(sign_event_verify(&line, res, p, pol, 0), 0);
    j = ev_parse_line(line);
    cr_assert_str_eq(json_string_value(json_object_get(j, "decision")), "fail");
    cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "DIGEST_MISMATCH");
    json_array_foreach(json_object_get(j, "checks"), i, c)
    {
        const char *st = json_string_value(json_object_get(c, "status"));

        if (strcmp(st, "pass") == 0) {
            cr_assert_null(json_object_get(c, "message"), "passing checks carry facts, not prose");
        } else if (strcmp(st, "fail") == 0) {
            saw_fail = 1;
            cr_assert_not_null(json_object_get(c, "message"), "a failure says what failed");
        }
    }
    cr_assert(saw_fail);
    json_decref(j);
    free(line);
    sign_verify_result_free(res);
    sign_policy_free(p);
    sign_key_free(k);
    free(art);
    free(bun);
    free(pol);
}

Test(event, sign_event_records_key_artifacts_findings_and_refusals, .init = ev_setup, .fini = ev_teardown)
{
    char *art = ev_path("a.txt"), *bun = ev_path("a.json");
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {art};
    sign_artifact **arts = NULL;
    sign_bundle *b = NULL;
    char *line = NULL, keyid[SIGN_KEYID_SIZE];
    json_t *j, *a;
    int r;

    tu_write_str(art, "x");
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ECDSA_P256, 0), 0);
    cr_assert_eq(sign_key_id(keyid, sizeof(keyid), k), 0);
    o.key = k;
    o.artifacts = paths;
    o.nartifacts = 1;
    o.output = bun;
    r = sign_sign(&b, &arts, &o);
    cr_assert_eq(r, 0);
    cr_assert_eq(sign_event_sign(&line, r, &o, arts, k, 0), 0);
    j = ev_parse_line(line);
    cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "signet.sign");
    cr_assert_str_eq(json_string_value(json_object_get(j, "decision")), "signed");
    cr_assert_str_eq(json_string_value(json_object_get(j, "key_id")), keyid);
    a = json_array_get(json_object_get(j, "artifacts"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(a, "name")), "a.txt");
    cr_assert_str_eq(json_string_value(json_object_get(a, "sha256")),
                     "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    json_decref(j);
    free(line);
    sign_bundle_free(b);
    sign_artifact_free(arts[0]);
    free(arts);

    /* A refused signing is an event too, with the finding that refused it. */
    {
        char *zip = ev_path("bad.zip");
        const char *zp[] = {zip};
        const char *argv[] = {"/bin/sh", "-c", NULL, NULL};
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "cd %s && printf 'K=secret-value\\n' > .env && /usr/bin/zip -q bad.zip .env",
                 ev_dir);
        argv[2] = cmd;
        cr_assert_eq(tu_run(NULL, NULL, NULL, argv), 0);
        o.artifacts = zp;
        r = sign_sign(&b, &arts, &o);
        cr_assert_eq(r, SIGN_EFINDING);
        cr_assert_eq(sign_event_sign(&line, r, &o, arts, k, 0), 0);
        j = ev_parse_line(line);
        cr_assert_str_eq(json_string_value(json_object_get(j, "decision")), "refused");
        /* The code is a reason code, as in the verify verdict; the sentence is the error. */
        cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "FINDING_NOT_ALLOWED");
        cr_assert_not_null(strstr(json_string_value(json_object_get(j, "error")), "zip-secret-env"));
        a = json_array_get(json_object_get(json_array_get(json_object_get(j, "artifacts"), 0), "findings"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(a, "id")), "zip-secret-env");
        cr_assert(json_is_false(json_object_get(a, "allowed")));
        json_decref(j);
        free(line);
        sign_artifact_free(arts[0]);
        free(arts);
        free(zip);
    }
    sign_key_free(k);
    free(art);
    free(bun);
}

Test(event, names_that_are_not_utf8_are_escaped_not_fatal, .init = ev_setup, .fini = ev_teardown)
{
    char *art = ev_path("\xff.bin"), *bun = ev_path("b.json"), *pol = ev_path("policy.json");
    sign_key *k;
    sign_policy *p = NULL;
    sign_verify_result *res = NULL;
    sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[] = {art}, *bundles[] = {bun};
    char *line = NULL, *js = NULL;
    json_t *j;

    tu_write_str(art, "bytes");
    {
        char *plain = ev_path("plain.bin");

        tu_write_str(plain, "bytes");
        k = ev_signed(plain, bun);
        free(plain);
    }
    cr_assert_eq(sign_policy_load(&p, pol, NULL), 0);
    vo.artifacts = arts;
    vo.nartifacts = 1;
    vo.bundles = bundles;
    vo.nbundles = 1;
    cr_assert_eq(sign_verify(&res, p, &vo), 0, "the same bytes under another name");
    cr_assert_eq(sign_verify_result_json(&js, res), 0, "%s", sign_error_last());
    cr_assert_not_null(strstr(js, "\\\\xff.bin"), "%s", js);
    cr_assert_eq(sign_event_verify(&line, res, p, pol, 0), 0);
    j = ev_parse_line(line);
    json_decref(j);
    free(line);
    free(js);
    sign_verify_result_free(res);
    sign_policy_free(p);
    sign_key_free(k);
    free(art);
    free(bun);
    free(pol);
}

Test(event, cli_appends_one_line_per_decision_and_fails_closed, .init = ev_setup, .fini = ev_teardown)
{
    char *art = ev_path("app.bin"), *bun = ev_path("app.bin.sigstore.json"), *pol = ev_path("policy.json");
    char *log = ev_path("events.log"), *text, *nl;
    char *out = NULL, *err = NULL;
    sign_key *k;
    size_t lines = 0;

    tu_write_str(art, "payload\n");
    k = ev_signed(art, bun);
    {
        const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", log, art, NULL};
        cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
        free(out);
        free(err);
        cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
        free(out);
        free(err);
    }
    text = tu_read(log, NULL);
    for (nl = text; (nl = strchr(nl, '\n')) != NULL; nl++) {
        lines++;
    }
    cr_assert_eq(lines, 2, "appended, never truncated: %s", text);
    cr_assert_not_null(strstr(text, "\"decision\":\"pass\""));
    free(text);
    {
        /* An event log that cannot be written: nothing is verified (exit 2), before any work. */
        char *nodir = ev_path("missing/events.log");
        const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", nodir, art, NULL};

        cr_assert_eq(tu_run(&out, &err, NULL, argv), 2);
        cr_assert_not_null(strstr(err, "event log"), "%s", err);
        free(out);
        free(err);
        free(nodir);
    }
    {
        /* A symlink planted at the log's path is refused, not followed. */
        char *target = ev_path("elsewhere"), *link = ev_path("link.log");
        const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", link, art, NULL};

        tu_write_str(target, "");
        cr_assert_eq(symlink(target, link), 0);
        cr_assert_eq(tu_run(&out, &err, NULL, argv), 2);
        text = tu_read(target, NULL);
        cr_assert_str_eq(text, "", "nothing written through the link");
        free(text);
        free(out);
        free(err);
        free(target);
        free(link);
    }
    sign_key_free(k);
    free(art);
    free(bun);
    free(pol);
    free(log);
}

/* ---- the event log file (from the review suite) ---------------------------------- */

/* Sign art into bun with a fresh key and write pol trusting it (for the CLI tests). */
static void ev_signed_policy(const char *art, const char *bun, const char *pol)
{
    sign_key *k = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[] = {art};
    sign_bundle *b = NULL;
    char *pub = tu_path(ev_dir, "k.pub");

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

/* A FIFO nobody reads used to block open() forever: the command must fail closed, promptly. */
Test(event, event_log_fifo_without_reader_fails_instead_of_hanging, .init = ev_setup, .fini = ev_teardown)
{
    char *art = tu_path(ev_dir, "a.bin"), *bun = tu_path(ev_dir, "a.bin.sigstore.json");
    char *pol = tu_path(ev_dir, "policy.json"), *fifo = tu_path(ev_dir, "events.fifo"), *err = NULL;
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", fifo, art, NULL};
    tu_fault f = {.fsize = -1, .kill_after_us = 10 * 1000 * 1000};
    int st;

    ev_signed_policy(art, bun, pol);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    st = tu_run_fault(&err, NULL, argv, &f);
    cr_assert_neq(st, 1000 + 9, "signet blocked on a FIFO without a reader");
    cr_assert_eq(st, 2, "exit %d: %s", st, err);
    cr_assert_not_null(strstr(err, "event log"), "%s", err);
    free(err);
    free(art);
    free(bun);
    free(pol);
    free(fifo);
}

/* A FIFO with a reader (a log shipper) still receives the event, written in blocking mode. */
Test(event, event_log_fifo_with_reader_gets_the_line, .init = ev_setup, .fini = ev_teardown)
{
    char *art = tu_path(ev_dir, "a.bin"), *bun = tu_path(ev_dir, "a.bin.sigstore.json");
    char *pol = tu_path(ev_dir, "policy.json"), *fifo = tu_path(ev_dir, "events.fifo");
    char *out = NULL, *err = NULL, buf[8192];
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", fifo, art, NULL};
    ssize_t n;
    int rd;

    ev_signed_policy(art, bun, pol);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    /* This process holds the read end (O_RDWR keeps the FIFO open without a writer). */
    rd = open(fifo, O_RDWR | O_NONBLOCK);
    cr_assert_geq(rd, 0);
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 0, "%s", err);
    n = read(rd, buf, sizeof(buf) - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\"event\":\"signet.verify\""), "%s", buf);
    cr_assert_eq(buf[n - 1], '\n');
    close(rd);
    free(out);
    free(err);
    free(art);
    free(bun);
    free(pol);
    free(fifo);
}

/* A directory as the event log: refused before any work (exit 2). */
Test(event, event_log_directory_fails_closed, .init = ev_setup, .fini = ev_teardown)
{
    char *art = tu_path(ev_dir, "a.bin"), *bun = tu_path(ev_dir, "a.bin.sigstore.json");
    char *pol = tu_path(ev_dir, "policy.json"), *out = NULL, *err = NULL;
    const char *argv[] = {"signet", "verify", "-p", pol, "--event-log", ev_dir, art, NULL};

    ev_signed_policy(art, bun, pol);
    cr_assert_eq(tu_run(&out, &err, NULL, argv), 2, "%s", err);
    cr_assert_not_null(strstr(err, "event log"), "%s", err);
    free(out);
    free(err);
    free(art);
    free(bun);
    free(pol);
}
