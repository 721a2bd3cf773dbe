/*
 * signet audit: every artifact of a store verified under one policy, on every core, each given exactly one
 * class; JSON lines streamed as artifacts finish, or a text or HTML report at the end. Memory holds only
 * the artifacts that are not verified (and, with --warn-within, those that will stop verifying).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "output.h"

static const char audit_help[] =
    "usage: signet audit -p POLICY [--at TIME] [--warn-within DURATION] [--jobs N]\n"
    "                    [--format text|json|html] [--report FILE] [--shard K/N]\n"
    "                    [--bundles DIR] [--fail-on CLASSES] (STORE... | --from-list FILE)\n"
    "       signet audit -p POLICY [options] [--tls-verify BOOL] docker://HOST/REPO[:TAG|@DIGEST]...\n"
    "       signet audit merge [--format text|json|html] [--report FILE] [--allow-mixed] REPORT...\n"
    "\n"
    "Verify every artifact of a store (a directory walked recursively; bundles beside\n"
    "the artifacts as NAME.sigstore.json, or under --bundles DIR with the same relative\n"
    "paths) and give each exactly one class: verified, tampered, unsigned, revoked,\n"
    "expired, untrusted, policy, unreadable; bundles without their artifact are orphans.\n"
    "A registry repository (docker://HOST/REPO) is audited tag by tag, each image once,\n"
    "with the bundles attached to it in the registry.\n"
    "\n"
    "  -p, --policy POLICY     the trust policy (JSON)\n"
    "      --at TIME           judge the whole store as of TIME (RFC 3339 UTC)\n"
    "      --warn-within D     also list artifacts that verify now but not D later (e.g. 90d)\n"
    "      --jobs N            at most N threads at once (default: one per core)\n"
    "      --format F          text (default), json (one line per artifact, then a summary) or html\n"
    "      --report FILE       write the report to FILE (atomically) instead of stdout\n"
    "      --shard K/N         only the artifacts whose path hash falls in shard K (0..N-1) of N\n"
    "      --bundles DIR       the bundles live under DIR, not beside the artifacts\n"
    "      --from-list FILE    audit the paths listed in FILE, one per line (- for stdin)\n"
    "      --tls-verify BOOL   docker://: false for HTTPS without the certificate check (or plain\n"
    "                          HTTP) to that registry only\n"
    "      --fail-on CLASSES   the classes that make the exit status non-zero (comma-separated;\n"
    "                          default: every class but verified)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 when no artifact is in a --fail-on class, else the code of the worst\n"
    "such class: 1 tampered/unsigned/orphan, 2 unreadable, 3 untrusted, 4 policy,\n"
    "5 revoked, 6 expired. 2 also for a usage or input error.\n";

typedef struct audit_run {
    const sign_policy *policy;
    audit_walk walk;
    int64_t at;      /* 0: now */
    int64_t ahead;   /* --warn-within seconds, 0: none */
    unsigned vflags; /* SIGN_VERIFY_* (registry references: --tls-verify=false) */
    pthread_mutex_t walk_mu, out_mu;
    FILE *out;                 /* streamed JSON lines, or NULL */
    const audit_registry *reg; /* docker:// references: what was attached to each image */
    audit_summary sum;
    audit_spool bad, warned; /* what the text and HTML reports list at the end */
    uint64_t done, total;    /* progress */
    struct timespec t0;
    int failed; /* out of memory or an output error */
} audit_run;

static double elapsed(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One verify of an artifact with its bundle, as of at (0: now). */
static int verify_one(sign_verify_result **res, const audit_run *a, const char *path, const char *bundle, int64_t at)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[1] = {path}, *bundles[1] = {bundle};

    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bundles;
    o.nbundles = 1;
    o.at = at;
    /* bundles that sign many artifacts: their statement is parsed once, not once per artifact; the messages of
       checks that pass are not read (first_failure reads a failure's), so none is formatted */
    o.flags |= a->vflags | SIGN_VERIFY_SHARE_STATEMENTS | SIGN_VERIFY_TERSE;
    return sign_verify(res, a->policy, &o);
}

static const char *first_failure(const sign_verify_result *res)
{
    for (size_t i = 0; res != NULL && i < sign_verify_result_check_count(res); i++) {
        const sign_check *k = sign_verify_result_check(res, i);

        if (k->status == SIGN_CHECK_FAIL) {
            return k->message;
        }
    }
    return NULL;
}

/* The verdict of one bundle into r: class, reasons, digest, signers, signing time, the first failure. */
static void judge_bundle(audit_record *r, const audit_run *a, const char *path, const char *bundle)
{
    sign_verify_result *res = NULL;
    int rc = verify_one(&res, a, path, bundle, a->at);

    r->cls = sign_audit_classify(res, 0, r->reasons, sizeof(r->reasons));
    if (res == NULL) {
        r->message = strdup(sign_error_last());
        snprintf(r->reasons, sizeof(r->reasons), "%s", sign_strerror(rc));
    } else {
        const char *m = first_failure(res), *sha = sign_verify_result_artifact_sha256(res, 0);
        size_t used = 0;

        snprintf(r->sha256, sizeof(r->sha256), "%s", sha != NULL ? sha : "");
        for (size_t k = 0; k < sign_verify_result_artifact_signer_count(res, 0); k++) {
            int w = snprintf(r->signers + used, sizeof(r->signers) - used, "%s%s", k > 0 ? "," : "",
                             sign_verify_result_artifact_signer(res, 0, k));

            if (w < 0 || (size_t)w >= sizeof(r->signers) - used) {
                break;
            }
            used += (size_t)w;
        }
        sign_verify_result_artifact_signing_time(&r->signing_time, res, 0);
        r->message = m != NULL ? strdup(m) : NULL;
    }
    sign_verify_result_free(res);
}

/* Append the comma-separated codes of add to list (size bytes), each once. */
static void add_reasons(char *list, size_t size, const char *add)
{
    char one[128];

    for (const char *p = add; *p != '\0';) {
        size_t n = strcspn(p, ","), used = strlen(list);
        const char *hit;
        int dup = 0;

        snprintf(one, sizeof(one), "%.*s", (int)n, p);
        for (hit = strstr(list, one); one[0] != '\0' && hit != NULL && !dup; hit = strstr(hit + 1, one)) {
            dup = (hit == list || hit[-1] == ',') && (hit[n] == '\0' || hit[n] == ',');
        }
        if (one[0] != '\0' && !dup && used + n + 2 <= size) {
            snprintf(list + used, size - used, "%s%s", used > 0 ? "," : "", one);
        }
        p += n + (p[n] == ',');
    }
}

/* What the bundles attached to an image that did not count came to (the report of a verified image). */
typedef struct rejected {
    size_t n;
    char reasons[512];
    char *message; /* the first one's */
} rejected;

static void reject(rejected *x, audit_record *t)
{
    x->n++;
    add_reasons(x->reasons, sizeof(x->reasons), t->reasons);
    if (x->message == NULL) {
        x->message = t->message;
        t->message = NULL;
    }
}

/*
 * A registry image with more than one bundle attached, or with invalid referrers (docs/registry.md): every
 * bundle is judged, and the image is verified when any of them verifies (the newest that does); the others
 * and the invalid referrers are reported in its reasons and message. When none verifies, the newest bundle's
 * verdict stands, REFERRER_INVALID added when referrers were skipped. chosen: the bundle the record is of.
 */
static void judge_attached(audit_record *r, const audit_run *a, const audit_item *it, const audit_attached *att,
                           char *chosen, size_t size)
{
    rejected x = {0};
    char other[8400], base[8300], msg[1024];
    size_t k;

    snprintf(base, sizeof(base), "%s", chosen);
    for (k = 1; k < att->nbundles; k++) {
        audit_record t;

        memset(&t, 0, sizeof(t));
        snprintf(other, sizeof(other), "%s.%zu", base, k);
        judge_bundle(&t, a, it->path, other);
        if (t.cls == SIGN_AUDIT_VERIFIED && r->cls != SIGN_AUDIT_VERIFIED) {
            char *path = r->path;

            reject(&x, r);
            free(r->message);
            t.size = r->size;
            *r = t;
            r->path = path;
            snprintf(chosen, size, "%s", other);
        } else if (t.cls != SIGN_AUDIT_VERIFIED) {
            reject(&x, &t);
            free(t.message);
        } else {
            free(t.message); /* another good bundle: nothing to report */
        }
    }
    if (r->cls == SIGN_AUDIT_VERIFIED && (x.n > 0 || att->invalid > 0)) {
        if (att->invalid > 0) {
            add_reasons(r->reasons, sizeof(r->reasons), "REFERRER_INVALID");
        }
        add_reasons(r->reasons, sizeof(r->reasons), x.reasons);
        snprintf(msg, sizeof(msg),
                 "verified by one of %zu attached bundles; %zu rejected bundle(s), %zu invalid "
                 "referrer(s)%s%s",
                 att->nbundles, x.n, att->invalid, x.message != NULL ? ": " : "", x.message != NULL ? x.message : "");
        free(r->message);
        r->message = strdup(msg);
    } else if (r->cls != SIGN_AUDIT_VERIFIED && att->invalid > 0) {
        add_reasons(r->reasons, sizeof(r->reasons), "REFERRER_INVALID");
    }
    free(x.message);
}

/* A registry image whose bundles were not written: too many attached, or only invalid referrers. 1 if so. */
static int nothing_attached(audit_record *r, const audit_attached *att)
{
    if (att != NULL && att->too_many) {
        char msg[128];

        r->cls = SIGN_AUDIT_UNREADABLE;
        snprintf(r->reasons, sizeof(r->reasons), "REFERRERS_TOO_MANY");
        snprintf(msg, sizeof(msg), "more than %d bundles are attached to the image: none was read",
                 AUDIT_REGISTRY_MAX_BUNDLES);
        r->message = strdup(msg);
        return 1;
    }
    if (att != NULL && att->nbundles == 0 && att->invalid > 0) {
        r->cls = SIGN_AUDIT_TAMPERED;
        snprintf(r->reasons, sizeof(r->reasons), "REFERRER_INVALID");
        r->message = strdup("every referrer attached to the image is invalid (its manifest or bundle blob does "
                            "not hash to its digest, or does not parse)");
        return 1;
    }
    return 0;
}

/* The record of one walk item. */
static audit_record *audit_one(const audit_run *a, const audit_item *it)
{
    audit_record *r = calloc(1, sizeof(*r));
    sign_verify_result *res = NULL;
    const audit_attached *att = audit_registry_attached(a->reg, it->path);
    char bundle[8400];
    struct stat st;

    if (r == NULL || (r->path = strdup(it->path)) == NULL) {
        audit_record_free(r);
        return NULL;
    }
    if (it->kind == ITEM_ORPHAN) {
        r->cls = SIGN_AUDIT_ORPHAN;
        snprintf(r->reasons, sizeof(r->reasons), "ARTIFACT_MISSING");
        r->message = strdup("a bundle whose artifact is not in the store");
        return r;
    }
    if (audit_registry_vanished(it->path)) {
        r->cls = SIGN_AUDIT_UNREADABLE;
        snprintf(r->reasons, sizeof(r->reasons), "TAG_VANISHED");
        r->message = strdup("the tag was listed by the registry but gone when it was resolved");
        return r;
    }
    memset(&st, 0, sizeof(st)); /* an image in a registry has no stat: size 0 */
    if (it->kind == ITEM_UNREADABLE || (!audit_registry_is(it->path) && stat(it->path, &st) != 0)) {
        r->cls = SIGN_AUDIT_UNREADABLE;
        snprintf(r->reasons, sizeof(r->reasons), "ARTIFACT_UNREADABLE");
        r->message = strdup(it->kind == ITEM_UNREADABLE ? it->why : strerror(errno));
        return r;
    }
    r->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (nothing_attached(r, att)) {
        return r;
    }
    audit_bundle_path(bundle, sizeof(bundle), &a->walk, it);
    if (!it->bundle_seen && access(bundle, F_OK) != 0) {
        r->cls = SIGN_AUDIT_UNSIGNED;
        snprintf(r->reasons, sizeof(r->reasons), "BUNDLE_MISSING");
        return r;
    }
    judge_bundle(r, a, it->path, bundle);
    if (att != NULL && (att->nbundles > 1 || att->invalid > 0)) {
        judge_attached(r, a, it, att, bundle, sizeof(bundle));
    }
    if (r->cls == SIGN_AUDIT_VERIFIED && a->ahead > 0) {
        int64_t then = (a->at != 0 ? a->at : (int64_t)time(NULL)) + a->ahead;

        (void)verify_one(&res, a, it->path, bundle, then);
        r->future = sign_audit_classify(res, 0, r->warnings, sizeof(r->warnings));
        if (r->future == SIGN_AUDIT_VERIFIED) {
            r->warnings[0] = '\0';
        }
        sign_verify_result_free(res);
    }
    return r;
}

static void progress(audit_run *a)
{
    double s = elapsed(&a->t0), rate = s > 0 ? (double)a->done / s : 0;
    char line[160];

    if (!out_progress_wanted()) {
        return;
    }
    if (a->total > 0 && rate > 0) {
        snprintf(line, sizeof(line), "audit %" PRIu64 "/%" PRIu64 " artifacts, %.0f/s, %.0f s left", a->done,
                 a->total, rate, (double)(a->total - a->done) / rate);
    } else {
        snprintf(line, sizeof(line), "audit %" PRIu64 " artifacts, %.0f/s", a->done, rate);
    }
    out_progress_line(line, a->done == a->total);
}

/* Account for a record: counts, the streamed line, the spools the reports read at the end. Takes ownership. */
static void record_done(audit_run *a, audit_record *r)
{
    pthread_mutex_lock(&a->out_mu);
    a->sum.counts[r->cls]++;
    a->sum.total++;
    a->done++;
    if (r->warnings[0] != '\0') {
        a->sum.warned++;
    }
    if (a->out != NULL) {
        char *line = audit_record_json(r);

        if (line == NULL || fprintf(a->out, "%s\n", line) < 0) {
            a->failed = 1;
        }
        free(line);
    } else if (r->warnings[0] != '\0' || r->cls != SIGN_AUDIT_VERIFIED || r->reasons[0] != '\0') {
        /*
         * The text and HTML reports list what is not verified (and the look-ahead) at the end: those records
         * are spooled (a run in memory, then an unlinked temporary file), so memory stays flat however many
         * fail; JSON lines were streamed above and need nothing more.
         */
        if (audit_spool_add(r->warnings[0] != '\0' ? &a->warned : &a->bad, r) != 0) {
            a->failed = 1;
        }
    }
    progress(a);
    pthread_mutex_unlock(&a->out_mu);
    audit_record_free(r);
}

/* One of the audit's threads: walk items taken one at a time, each verified and accounted for. */
static void worker(void *p, size_t unused)
{
    audit_run *a = p;
    audit_item *it = malloc(sizeof(*it));

    (void)unused;
    if (it == NULL) {
        a->failed = 1;
        return;
    }
    for (;;) {
        audit_record *r;
        int got;

        pthread_mutex_lock(&a->walk_mu);
        got = audit_walk_next(&a->walk, it);
        pthread_mutex_unlock(&a->walk_mu);
        if (!got) {
            break;
        }
        if ((r = audit_one(a, it)) == NULL) {
            a->failed = 1;
            break;
        }
        record_done(a, r);
    }
    free(it);
}

/* The number of items a walk would give (progress on a terminal only: a second, cheap walk). */
static uint64_t count_items(const audit_walk *model)
{
    audit_walk w;
    audit_item *it = malloc(sizeof(*it));
    uint64_t n = 0;

    if (it == NULL || model->list != NULL) {
        free(it);
        return 0;
    }
    audit_walk_init(&w, model->stores, model->nstores, model->bundles, NULL, model->shard_k, model->shard_n);
    while (audit_walk_next(&w, it)) {
        n++;
    }
    audit_walk_close(&w);
    free(it);
    return n;
}

/* Parse "text", "json" or "html". */
static int parse_format(int *out, const char *s)
{
    static const char *const names[] = {"text", "json", "html"};

    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return out_usage_error("audit", "--format takes text, json or html, not %s", s);
}

static int parse_fail_on(unsigned *mask, const char *s)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", s);
    *mask = 0;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        sign_audit_class c;

        if (sign_audit_class_parse(&c, t) != 0) {
            return out_usage_error("audit", "--fail-on: %s", sign_error_last());
        }
        *mask |= 1u << c;
    }
    return 0;
}

/* The exit status: the worst class (most severe first) present among those in mask. */
static int exit_of(const audit_summary *s, unsigned mask)
{
    for (int c = 1; c < SIGN_AUDIT_NCLASSES; c++) {
        if ((mask & (1u << c)) && s->counts[c] > 0) {
            return sign_audit_class_exit((sign_audit_class)c);
        }
    }
    return 0;
}

/* Where the report goes: FILE.tmp renamed at the end, or stdout. */
typedef struct report_out {
    const char *path;
    char tmp[4200];
    FILE *f;
    int direct; /* written in place (a device or FIFO) */
} report_out;

static int report_open(report_out *o, const char *path)
{
    struct stat st;

    memset(o, 0, sizeof(*o));
    o->path = path;
    if (path == NULL) {
        o->f = stdout;
        return 0;
    }
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        /* a device or FIFO (/dev/stdout, a pipe): written in place, never replaced by a file */
        if (S_ISDIR(st.st_mode) || (o->f = fopen(path, "w")) == NULL) {
            cli_error("report %s: cannot be written: %s", path,
                      S_ISDIR(st.st_mode) ? "a directory" : strerror(errno));
            return EXIT_USAGE;
        }
        o->direct = 1;
        return 0;
    }
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%ld", path, (long)getpid());
    if ((o->f = fopen(o->tmp, "wx")) == NULL) {
        cli_error("report %s: cannot be written: %s", o->tmp, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

static int report_close(report_out *o, int ok)
{
    if (o->path == NULL) {
        return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
    }
    if (o->direct) {
        return fclose(o->f) == 0 && ok ? 0 : EXIT_USAGE;
    }
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0 || fclose(o->f) != 0 || !ok) {
        unlink(o->tmp);
        cli_error("report %s: %s", o->path, ok ? strerror(errno) : "not written (the audit could not finish)");
        return EXIT_USAGE;
    }
    if (rename(o->tmp, o->path) != 0) {
        unlink(o->tmp);
        cli_error("report %s: %s", o->path, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

static int write_report(FILE *f, int format, audit_summary *s, audit_run *a)
{
    if (format == 1) {
        char *line = audit_summary_json(s);

        fprintf(f, "%s\n", line != NULL ? line : "{}");
        free(line);
        return 0;
    }
    if (audit_spool_rewind(&a->bad) != 0 || audit_spool_rewind(&a->warned) != 0) {
        cli_error("audit: the records of the report cannot be read back: %s", strerror(errno));
        return -1;
    }
    if ((format == 2 ? audit_write_html(f, s, &a->bad, &a->warned) : audit_write_text(f, s, &a->bad)) != 0) {
        cli_error("audit: the records of the report cannot be read back");
        return -1;
    }
    return 0;
}

static void run_init(audit_run *a)
{
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->walk_mu, NULL);
    pthread_mutex_init(&a->out_mu, NULL);
    audit_spool_init(&a->bad, 0);
    audit_spool_init(&a->warned, 0);
}

static void free_lists(audit_run *a)
{
    audit_spool_free(&a->bad);
    audit_spool_free(&a->warned);
}

/* signet audit merge: shard reports (JSON lines) into one report; records are streamed as read. */
static int merge_file(audit_run *a, const char *path, const char *first, int allow_mixed)
{
    FILE *f = fopen(path, "r");
    char *line = malloc(1 << 16);
    int have_summary = 0, rc = 0;

    if (f == NULL || line == NULL) {
        cli_error("report %s: cannot be read: %s", path, f == NULL ? strerror(errno) : "out of memory");
        free(line);
        if (f != NULL) {
            (void)fclose(f);
        }
        return EXIT_USAGE;
    }
    while (rc == 0 && fgets(line, 1 << 16, f) != NULL) {
        audit_summary s;
        audit_record *r;

        if (audit_summary_parse(&s, line) == 0) {
            /* shards judged "now" ran at their own moments; only a time given with --at must be the same */
            if (a->sum.judged[0] != '\0' && !allow_mixed &&
                (strcmp(s.policy_sha256, a->sum.policy_sha256) != 0 || s.at_given != a->sum.at_given ||
                 (s.at_given && strcmp(s.judged, a->sum.judged) != 0))) {
                cli_error("report %s was made under another policy or as of another time (%s, %s) than %s (%s, %s); "
                          "merge them with --allow-mixed if that is meant",
                          path, s.policy_sha256, s.judged, first, a->sum.policy_sha256, a->sum.judged);
                rc = EXIT_USAGE;
            } else if (a->sum.judged[0] == '\0') {
                memcpy(a->sum.policy_sha256, s.policy_sha256, sizeof(s.policy_sha256));
                memcpy(a->sum.judged, s.judged, sizeof(s.judged));
                memcpy(a->sum.horizon, s.horizon, sizeof(s.horizon));
                a->sum.at_given = s.at_given;
            }
            a->sum.seconds += s.seconds;
            have_summary = 1;
        } else if ((r = calloc(1, sizeof(*r))) == NULL || audit_record_parse(r, line) != 0) {
            cli_error("report %s: a line is neither a record nor a summary", path);
            audit_record_free(r);
            rc = EXIT_USAGE;
        } else {
            record_done(a, r);
        }
    }
    (void)fclose(f);
    free(line);
    if (rc == 0 && !have_summary) {
        cli_error("report %s has no summary line: not a finished signet audit --format json report", path);
        rc = EXIT_USAGE;
    }
    return rc;
}

static int audit_merge(int argc, char **argv, int format, const char *report, int allow_mixed, unsigned fail_mask)
{
    audit_run a;
    report_out o;
    int rc = 0;

    run_init(&a);
    if (argc < 1) {
        return out_usage_error("audit", "audit merge: name the JSON reports to merge");
    }
    if ((rc = report_open(&o, report)) != 0) {
        return rc;
    }
    a.out = format == 1 ? o.f : NULL;
    for (int i = 0; i < argc && rc == 0; i++) {
        rc = merge_file(&a, argv[i], argv[0], allow_mixed);
    }
    if (rc == 0 && write_report(o.f, format, &a.sum, &a) != 0) {
        rc = EXIT_USAGE;
    }
    if (report_close(&o, rc == 0 && !a.failed) != 0 && rc == 0) {
        rc = EXIT_USAGE;
    }
    free_lists(&a);
    return rc != 0 ? rc : exit_of(&a.sum, fail_mask);
}

/* K/N with N >= 1 and K < N. */
static int parse_shard(unsigned *k, unsigned *n, const char *s)
{
    char *end = NULL;
    unsigned long kk, nn;

    errno = 0;
    kk = strtoul(s, &end, 10);
    if (end == s || *end != '/' || errno != 0) {
        return out_usage_error("audit", "--shard takes K/N, e.g. 0/4, not %s", s);
    }
    s = end + 1;
    nn = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || nn < 1 || nn > 65536 || kk >= nn) {
        return out_usage_error("audit", "--shard K/N needs 1 <= N <= 65536 and 0 <= K < N");
    }
    *k = (unsigned)kk;
    *n = (unsigned)nn;
    return 0;
}

typedef struct audit_args {
    const char *policy, *report, *bundles, *from_list;
    int64_t at, ahead;
    int at_given, format, allow_mixed, insecure;
    unsigned shard_k, shard_n, fail_mask;
} audit_args;

static int parse_args(audit_args *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"policy", required_argument, NULL, 'p'},
                                             {"at", required_argument, NULL, 'T'},
                                             {"warn-within", required_argument, NULL, 'W'},
                                             {"jobs", required_argument, NULL, 'j'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"report", required_argument, NULL, 'r'},
                                             {"shard", required_argument, NULL, 's'},
                                             {"bundles", required_argument, NULL, 'b'},
                                             {"from-list", required_argument, NULL, 'l'},
                                             {"fail-on", required_argument, NULL, 'f'},
                                             {"allow-mixed", no_argument, NULL, 'M'},
                                             {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->fail_mask = ~1u & ((1u << SIGN_AUDIT_NCLASSES) - 1);
    if (out_check_long_options("audit", argc, argv, ":p:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":p:h", longopts, NULL)) != -1) {
        rc = 0;
        switch (c) {
        case 'p': o->policy = optarg; break;
        case 'T':
            if (sign_parse_time(&o->at, optarg) != 0) {
                return out_usage_error("audit", "--at %s: %s", optarg, sign_error_last());
            }
            o->at_given = 1;
            break;
        case 'W':
            if (sign_parse_duration(&o->ahead, optarg) != 0 || o->ahead <= 0) {
                return out_usage_error("audit", "--warn-within takes a duration such as 90d, not %s", optarg);
            }
            break;
        case 'j': rc = out_parse_jobs("audit", optarg); break;
        case 'F': rc = parse_format(&o->format, optarg); break;
        case 'r': o->report = optarg; break;
        case 's': rc = parse_shard(&o->shard_k, &o->shard_n, optarg); break;
        case 'b': o->bundles = optarg; break;
        case 'l': o->from_list = optarg; break;
        case 'f': rc = parse_fail_on(&o->fail_mask, optarg); break;
        case 'M': o->allow_mixed = 1; break;
        case OPT_TLS_VERIFY: rc = out_parse_tls_verify(&o->insecure, "audit", optarg); break;
        case 'h': fputs(audit_help, stdout); return -1;
        default: return out_getopt_error("audit", c, argv);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * As many of the audit's threads as the thread budget (--jobs N, default one per core), on libsign's pool: the
 * verifies inside them find every pool thread busy and hash and check on their own thread, so the budget holds
 * and no thread waits for another per artifact. At the end of the walk a thread that is done helps the
 * others' last verifies.
 */
static int run_workers(audit_run *a)
{
    sign_parallel_for(sign_thread_budget(), worker, a);
    return a->failed ? -1 : 0;
}

/*
 * docker:// references (audit_registry.c): resolved and their bundles fetched before the walk, which then
 * reads them as a list with the bundles in reg->dir. Directories are walked as they are. 0 or the exit status.
 */
static int registry_source(audit_registry *reg, audit_args *o, FILE **list, int argc, char **argv)
{
    int nref = 0, rc;

    memset(reg, 0, sizeof(*reg));
    for (int i = optind; i < argc; i++) {
        nref += audit_registry_is(argv[i]);
    }
    if (nref == 0) {
        return 0;
    }
    if (nref != argc - optind || o->from_list != NULL || o->bundles != NULL) {
        return out_usage_error("audit", "registry references are audited alone: no STORE, --bundles or --from-list "
                                        "with them");
    }
    if ((rc = audit_registry_prepare(reg, argv + optind, (size_t)(argc - optind), o->insecure)) != 0) {
        audit_registry_close(reg);
        return rc;
    }
    *list = reg->list; /* the walk's from now on (closed with it) */
    reg->list = NULL;
    o->bundles = reg->dir;
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    audit_args o;
    audit_run a;
    report_out out;
    audit_registry reg;
    sign_policy *policy = NULL;
    FILE *list = NULL;
    int rc, merge = argc > 1 && strcmp(argv[1], "merge") == 0;

    if ((rc = parse_args(&o, argc - merge, argv + merge)) != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (merge) {
        return audit_merge(argc - merge - optind, argv + merge + optind, o.format, o.report, o.allow_mixed,
                           o.fail_mask);
    }
    if (o.policy == NULL) {
        return out_usage_error("audit", "-p POLICY is required");
    }
    if ((o.from_list == NULL) == (optind == argc)) {
        return out_usage_error("audit", "name the STORE directories, or give --from-list FILE (not both)");
    }
    if ((rc = sign_policy_load(&policy, o.policy, NULL)) != 0) {
        return cli_fail(rc, o.policy);
    }
    if (o.from_list != NULL && (list = strcmp(o.from_list, "-") == 0 ? stdin : fopen(o.from_list, "r")) == NULL) {
        cli_error("--from-list %s: %s", o.from_list, strerror(errno));
        sign_policy_free(policy);
        return EXIT_USAGE;
    }
    run_init(&a);
    if ((rc = registry_source(&reg, &o, &list, argc, argv)) != 0) {
        sign_policy_free(policy);
        return rc;
    }
    a.vflags = o.insecure ? SIGN_VERIFY_REGISTRY_INSECURE : 0;
    a.reg = &reg;
    a.policy = policy;
    a.at = o.at;
    a.ahead = o.ahead;
    audit_walk_init(&a.walk, (const char *const *)(argv + optind), (size_t)(argc - optind), o.bundles, list,
                    o.shard_k, o.shard_n);
    if (sign_hex_encode(a.sum.policy_sha256, sizeof(a.sum.policy_sha256), sign_policy_sha256(policy), 32) != 0 ||
        sign_format_time(a.sum.judged, sizeof(a.sum.judged), o.at_given ? o.at : (int64_t)time(NULL)) != 0) {
        a.sum.judged[0] = '\0';
    }
    a.sum.at_given = o.at_given;
    if (o.ahead > 0) {
        sign_format_time(a.sum.horizon, sizeof(a.sum.horizon), (o.at_given ? o.at : (int64_t)time(NULL)) + o.ahead);
    }
    if ((rc = report_open(&out, o.report)) != 0) {
        audit_registry_close(&reg);
        sign_policy_free(policy);
        return rc;
    }
    a.out = o.format == 1 ? out.f : NULL;
    a.total = out_progress_wanted() ? count_items(&a.walk) : 0;
    clock_gettime(CLOCK_MONOTONIC, &a.t0);
    rc = run_workers(&a);
    out_progress_end();
    a.sum.seconds = elapsed(&a.t0);
    if (rc == 0 && write_report(out.f, o.format, &a.sum, &a) != 0) {
        rc = -2;
    }
    if (rc == -1) {
        cli_error("audit: could not finish: out of memory, the report could not be written, or its records could "
                  "not be spooled to a temporary file (TMPDIR)");
    }
    rc = report_close(&out, rc == 0) != 0 || rc != 0 ? EXIT_USAGE : exit_of(&a.sum, o.fail_mask);
    audit_walk_close(&a.walk);
    if (list != NULL && list != stdin) {
        (void)fclose(list);
    }
    audit_registry_close(&reg);
    free_lists(&a);
    sign_policy_free(policy);
    return rc;
}
