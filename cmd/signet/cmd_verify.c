/* signet verify: artifacts + bundles + trust policy -> verdict and exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

static const char verify_usage[] =
    "usage: signet verify -p POLICY [-b BUNDLE]... [--json] [--entries] [--tree DIR]\n"
    "                     [--ref NAME] [--all] [--at TIME] [--git DIR] [--log DIR]\n"
    "                     [--event-log FILE] [--syslog] [--jobs N]\n"
    "                     [--fetch-crl [--crl-cache DIR] [--crl-timeout SECONDS]]\n"
    "                     [--state-dir DIR|none] [--allow-downgrade]\n"
    "                     [--fetch-revocation [--revocation-cache DIR]]\n"
    "                     [--trusted-root FILE] ARTIFACT...\n"
    "\n"
    "Verify artifacts against Sigstore bundles under a trust policy. Without -b,\n"
    "ARTIFACT.sigstore.json beside each artifact is used.\n"
    "\n"
    "  -p, --policy POLICY  the trust policy (JSON)\n"
    "  -b, --bundle BUNDLE  a bundle to use (repeat for several signers)\n"
    "      --trusted-root FILE  a Sigstore trusted_root.json: transparency-log keys,\n"
    "                       timestamp authorities, and the CAs of roots[] entries\n"
    "                       without certificates (the policy still names identities)\n"
    "      --json           print the whole verdict as one JSON object on stdout\n"
    "      --entries        also re-hash every zip entry and compare with the manifest\n"
    "      --tree DIR       compare an unpacked image root file system (or an extracted zip)\n"
    "                       with the signed entries: changed, missing and extra files fail\n"
    "      --ref NAME       OCI layout: the image with this ref name\n"
    "      --all            OCI layout: the whole index, as signed with --all\n"
    "      --platform OS/ARCH  docker:// multi-platform index: that platform's image\n"
    "      --tls-verify BOOL   docker://: false: no certificate check (or plain HTTP), that registry only\n"
    "      --at TIME        judge as of TIME (RFC 3339 UTC) instead of now\n"
    "      --git DIR        the recorded source commit must be in the clone DIR, unchanged\n"
    "                       and reachable from its recorded branch and tags\n"
    "      --log DIR        every bundle used must be in the signing log DIR\n"
    "      --event-log FILE append one JSON event line with the decision to FILE\n"
    "      --syslog         send the event to syslog (facility auth)\n"
    "      --fetch-crl      fetch CRLs from the certificates' http:// distribution points\n"
    "                       (without it nothing touches the network)\n"
    "      --crl-cache DIR  cache of fetched CRLs (default $XDG_CACHE_HOME/signet/crl,\n"
    "                       else ~/.cache/signet/crl)\n"
    "      --crl-timeout SECONDS  limit for each CRL fetch, 1 to 600 (default 10)\n"
    "      --jobs N         at most N threads at once (default: one per core)\n"
    "      --state-dir DIR  highest revocation list and artifact versions seen (default\n"
    "                       $XDG_STATE_HOME/signet, else ~/.local/state/signet; root:\n"
    "                       /var/lib/signet); 'none' turns rollback and downgrade\n"
    "                       protection off (said in the verdict)\n"
    "      --allow-downgrade  accept a lower artifact version than one verified before\n"
    "      --fetch-revocation  fetch revocation lists from their policy url\n"
    "      --revocation-cache DIR  cache of fetched lists (default $XDG_CACHE_HOME/signet/\n"
    "                       revocation, else ~/.cache/signet/revocation)\n"
    "  -h, --help           show this help (alone)\n"
    "  --                   end of options: put it before artifact names you do not control\n"
    "\n"
    "Exit status: 0 verified (or warn/audit mode), 1 verification failed, 2 usage\n"
    "or input error, 3 untrusted signer, 4 policy violated, 5 revoked, 6 expired.\n";

static const char *check_subject(const sign_check *c)
{
    if (c->artifact != NULL) {
        return c->artifact;
    }
    if (c->bundle != NULL) {
        return c->bundle;
    }
    return "-";
}

/* Append item to the comma-separated list in buf unless already there; "..." once full. */
static void list_add(char *buf, size_t size, const char *item)
{
    size_t used = strlen(buf), n = strlen(item);
    const char *p = buf;

    while ((p = strstr(p, item)) != NULL) {
        if ((p == buf || (p >= buf + 2 && p[-2] == ',' && p[-1] == ' ')) && (p[n] == '\0' || p[n] == ',')) {
            return;
        }
        p += n;
    }
    if (used >= 3 && strcmp(buf + used - 3, "...") == 0) {
        return;
    }
    if (used + n + 8 >= size) {
        snprintf(buf + used, size - used, "%s...", used > 0 ? ", " : "");
        return;
    }
    snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "", item);
}

/* The signers of artifact i (only signers of its bytes), or of every artifact when i is SIZE_MAX. */
static void artifact_signers(char *buf, size_t size, const sign_verify_result *res, size_t i)
{
    size_t n = sign_verify_result_artifact_count(res);
    char clean[512];

    buf[0] = '\0';
    for (size_t a = i == SIZE_MAX ? 0 : i; a < n && (i == SIZE_MAX || a == i); a++) {
        for (size_t j = 0; j < sign_verify_result_artifact_signer_count(res, a); j++) {
            list_add(buf, size, out_clean_text(clean, sizeof(clean), sign_verify_result_artifact_signer(res, a, j)));
        }
    }
}

/* One line per artifact: verified with its signers, or not with its reasons. */
static void print_artifacts(FILE *f, const sign_verify_result *res)
{
    size_t n = sign_verify_result_artifact_count(res);
    char name[1024], list[1024];

    for (size_t i = 0; i < n; i++) {
        out_clean_text(name, sizeof(name), sign_verify_result_artifact_name(res, i));
        if (sign_verify_result_artifact_verified(res, i)) {
            artifact_signers(list, sizeof(list), res, i);
            fprintf(f, "  verified: %s (signers: %s)\n", name, list);
            continue;
        }
        list[0] = '\0';
        for (size_t j = 0; j < sign_verify_result_artifact_reason_count(res, i); j++) {
            list_add(list, sizeof(list), sign_verify_result_artifact_reason(res, i, j));
        }
        fprintf(f, "  NOT verified: %s (%s)\n", name, list[0] != '\0' ? list : "no signer counted");
    }
}

/* An input error (unreadable or malformed file, CRL server unreachable): one line naming the file. */
static void print_input_error(const sign_verify_result *res, int r)
{
    size_t n = sign_verify_result_check_count(res);
    char clean[4096], cwhat[1024];

    for (size_t i = 0; i < n; i++) {
        const sign_check *c = sign_verify_result_check(res, i);

        if (c->status == SIGN_CHECK_FAIL && c->code == r) {
            const char *what = c->bundle != NULL && strcmp(c->check, "bundle") == 0 ? c->bundle : check_subject(c);

            if (c->message != NULL && strstr(c->message, what) != NULL) {
                cli_error("%s", out_clean_text(clean, sizeof(clean), c->message));
            } else {
                cli_error("%s: %s", out_clean_text(cwhat, sizeof(cwhat), what),
                          out_clean_text(clean, sizeof(clean), c->message != NULL ? c->message : sign_strerror(r)));
            }
            return;
        }
    }
    cli_fail(r, "verify");
}

/*
 * The human verdict. A failed check never reads "verified": in warn and
 * audit mode the summary says "NOT verified (warn mode: allowed)", and the
 * signers named are only those counted for an artifact's bytes.
 */
static void print_human(const sign_verify_result *res, int r, const char *policy_path, sign_policy_mode mode,
                        size_t nart)
{
    size_t n = sign_verify_result_check_count(res), nfail = 0;
    sign_verdict v = sign_verify_result_verdict(res);
    char list[1024], clean[4096], pol[1024];
    FILE *f = r == 0 ? stdout : stderr;

    if (cli_exit_code(r) == EXIT_USAGE) {
        print_input_error(res, r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sign_check *c = sign_verify_result_check(res, i);
        const char *tag = c->status == SIGN_CHECK_FAIL ? "FAIL" : c->status == SIGN_CHECK_WARN ? "WARN" : NULL;

        /* A bundle that signs none of the artifacts given is worth a line: a wrong -b, or a renamed file. */
        if (tag == NULL && c->status == SIGN_CHECK_SKIP && strcmp(c->reason, "BUNDLE_UNUSED") == 0) {
            tag = "NOTE";
        }
        if (tag == NULL) {
            continue;
        }
        nfail += tag[0] != 'N';
        /* Messages name their artifact or bundle themselves. */
        fprintf(stderr, "%s %s: %s\n", tag, c->reason,
                out_clean_text(clean, sizeof(clean), c->message != NULL ? c->message : check_subject(c)));
    }
    out_clean_text(pol, sizeof(pol), policy_path);
    if (nart > 1 || v != SIGN_VERDICT_VERIFIED) {
        print_artifacts(f, res);
    }
    if (v == SIGN_VERDICT_VERIFIED) {
        char names[1024] = "";

        for (size_t i = 0; i < sign_verify_result_artifact_count(res); i++) {
            list_add(names, sizeof(names),
                     out_clean_text(clean, sizeof(clean), sign_verify_result_artifact_name(res, i)));
        }
        artifact_signers(list, sizeof(list), res, SIZE_MAX);
        printf("verified: %zu artifact(s) under %s: %s (signers: %s)\n", nart, pol, names, list);
    } else if (r == 0) {
        printf("NOT verified (%s mode: allowed): %zu artifact(s) under %s: %zu failed check(s) let through\n",
               sign_policy_mode_name(mode), nart, pol, nfail);
    } else {
        fprintf(stderr, "NOT verified: %zu artifact(s) under %s: %s (%zu failed check(s))\n", nart, pol,
                sign_strerror(r), nfail);
    }
}

/*
 * --fetch-crl, --crl-cache, --crl-timeout into opts. The default cache is
 * resolved here (the library reads no environment): $XDG_CACHE_HOME/signet/crl
 * when that variable is an absolute path, else $HOME/.cache/signet/crl, else
 * no cache. Returns 0 or an exit code.
 */
static int crl_options(sign_verify_options *opts, char **cache, const char *cache_arg, const char *timeout_arg)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    size_t n;

    *cache = NULL;
    if ((opts->flags & SIGN_VERIFY_FETCH_CRL) == 0) {
        if (cache_arg != NULL || timeout_arg != NULL) {
            return out_usage_error("verify", "%s is only used with --fetch-crl",
                                   cache_arg != NULL ? "--crl-cache" : "--crl-timeout");
        }
        return 0;
    }
    if (timeout_arg != NULL) {
        int secs;

        if (out_parse_seconds(&secs, "verify", "--crl-timeout", timeout_arg) != 0) {
            return EXIT_USAGE;
        }
        opts->crl_timeout_ms = (unsigned int)secs * 1000u;
    }
    if (cache_arg != NULL) {
        if (cache_arg[0] == '\0') {
            return out_usage_error("verify", "--crl-cache: empty directory name");
        }
        opts->crl_cache_dir = cache_arg;
        return 0;
    }
    if (xdg != NULL && xdg[0] == '/') {
        n = strlen(xdg) + sizeof("/signet/crl");
        if ((*cache = malloc(n)) != NULL) {
            snprintf(*cache, n, "%s/signet/crl", xdg);
        }
    } else if (home != NULL && home[0] == '/') {
        n = strlen(home) + sizeof("/.cache/signet/crl");
        if ((*cache = malloc(n)) != NULL) {
            snprintf(*cache, n, "%s/.cache/signet/crl", home);
        }
    } else {
        return 0; /* no cache: every verification fetches */
    }
    if (*cache == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    opts->crl_cache_dir = *cache;
    return 0;
}

/*
 * --state-dir into opts (issue 15). The default is resolved here, as the
 * library reads no environment: /var/lib/signet for root, else
 * $XDG_STATE_HOME/signet when that is an absolute path, else
 * $HOME/.local/state/signet; "none" (or no home) leaves it NULL, which the
 * verdict reports. Returns 0 or an exit code.
 */
static int state_option(sign_verify_options *opts, char **dir, const char *arg)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    size_t n;

    *dir = NULL;
    if (arg != NULL) {
        opts->state_dir = strcmp(arg, "none") == 0 ? NULL : arg;
        return 0;
    }
    if (geteuid() == 0) {
        opts->state_dir = "/var/lib/signet";
        return 0;
    }
    if (xdg != NULL && xdg[0] == '/') {
        n = strlen(xdg) + sizeof("/signet");
        if ((*dir = malloc(n)) != NULL) {
            snprintf(*dir, n, "%s/signet", xdg);
        }
    } else if (home != NULL && home[0] == '/') {
        n = strlen(home) + sizeof("/.local/state/signet");
        if ((*dir = malloc(n)) != NULL) {
            snprintf(*dir, n, "%s/.local/state/signet", home);
        }
    } else {
        return 0;
    }
    if (*dir == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    opts->state_dir = *dir;
    return 0;
}

/* --fetch-revocation's cache (issue 15): the default beside the CRL cache. Returns 0 or an exit code. */
static int revocation_cache_option(sign_verify_options *opts, char **dir)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    size_t n;

    *dir = NULL;
    if ((opts->flags & SIGN_VERIFY_FETCH_REVOCATION) == 0) {
        return opts->revocation_cache_dir != NULL
                   ? out_usage_error("verify", "--revocation-cache is only used with --fetch-revocation")
                   : 0;
    }
    if (opts->revocation_cache_dir != NULL) {
        return 0;
    }
    if (xdg != NULL && xdg[0] == '/') {
        n = strlen(xdg) + sizeof("/signet/revocation");
        if ((*dir = malloc(n)) != NULL) {
            snprintf(*dir, n, "%s/signet/revocation", xdg);
        }
    } else if (home != NULL && home[0] == '/') {
        n = strlen(home) + sizeof("/.cache/signet/revocation");
        if ((*dir = malloc(n)) != NULL) {
            snprintf(*dir, n, "%s/.cache/signet/revocation", home);
        }
    } else {
        return 0;
    }
    if (*dir == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    opts->revocation_cache_dir = *dir;
    return 0;
}

/* Registry references: each tag resolved once (argv rewritten to the pinned digest), bundles fetched. */
typedef struct regstate {
    char **pinned; /* per artifact, or NULL */
    char **files;  /* fetched bundles written to dir */
    size_t nfiles;
    char dir[256];
} regstate;

static void regstate_clear(regstate *g, size_t nart)
{
    for (size_t i = 0; i < g->nfiles; i++) {
        (void)unlink(g->files[i]);
        free(g->files[i]);
    }
    free(g->files);
    if (g->dir[0] != '\0') {
        (void)rmdir(g->dir);
    }
    for (size_t i = 0; g->pinned != NULL && i < nart; i++) {
        free(g->pinned[i]);
    }
    free(g->pinned);
}

static int write_fetched(regstate *g, const unsigned char *data, size_t len)
{
    char path[320];
    FILE *f;
    char **nf;

    if (g->dir[0] == '\0') {
        const char *t = getenv("TMPDIR");

        snprintf(g->dir, sizeof(g->dir), "%s/signet-referrers-XXXXXX", t != NULL && t[0] == '/' ? t : "/tmp");
        if (mkdtemp(g->dir) == NULL) {
            g->dir[0] = '\0';
            cli_error("cannot make a temporary directory for the fetched bundles");
            return EXIT_USAGE;
        }
    }
    snprintf(path, sizeof(path), "%s/%zu.sigstore.json", g->dir, g->nfiles);
    if ((nf = realloc(g->files, (g->nfiles + 1) * sizeof(*nf))) == NULL || (nf[g->nfiles] = strdup(path)) == NULL) {
        if (nf != NULL) {
            g->files = nf;
        }
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    g->files = nf;
    g->nfiles++;
    if ((f = fopen(path, "wx")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        cli_error("%s: cannot write a fetched bundle", path);
        return EXIT_USAGE;
    }
    return 0;
}

static int registry_inputs(regstate *g, char **argv, int first, int argc, size_t nbundles, unsigned int vflags)
{
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    size_t nart = (size_t)(argc - first);

    ro.flags = (vflags & SIGN_VERIFY_REGISTRY_INSECURE) != 0 ? SIGN_REGISTRY_INSECURE : 0;
    if ((g->pinned = calloc(nart + 1, sizeof(*g->pinned))) == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < nart; i++) {
        char *digest = NULL;
        unsigned char **b = NULL;
        size_t *lens = NULL, nb = 0;
        int r;

        if (!sign_registry_is_reference(argv[first + (int)i])) {
            continue;
        }
        if ((r = sign_registry_resolve(&digest, &g->pinned[i], argv[first + (int)i], &ro)) != 0) {
            return cli_fail(r, "verify");
        }
        argv[first + (int)i] = g->pinned[i];
        if (nbundles == 0 && (r = sign_registry_fetch_bundles(&b, &lens, &nb, g->pinned[i], digest, &ro)) != 0) {
            free(digest);
            return cli_fail(r, "verify");
        }
        free(digest);
        for (size_t k = 0; k < nb && r == 0; k++) {
            r = write_fetched(g, b[k], lens[k]);
        }
        sign_registry_bundles_free(b, lens, nb);
        if (r != 0) {
            return r;
        }
        if (nbundles == 0 && nb == 0) {
            cli_error("%s: no bundle is attached to it in the registry", g->pinned[i]);
        }
    }
    return 0;
}

/* Everything one signet verify run holds: the options given, then what it loaded and judged. */
typedef struct vargs {
    sign_verify_options o;
    cli_input in; /* --ref, --platform, --tls-verify, --all, --jobs */
    const char *policy_path, *event_log, *trusted_root;
    const char *crl_cache_arg, *crl_timeout_arg, *state_arg;
    char **bundles;
    size_t nbundles;
    int json, help, have_at, use_syslog;
    /* the run */
    int event_fd;
    char *crl_cache, *state_dir, *rev_cache, *js;
    sign_policy *policy;
    sign_verify_result *res;
    regstate reg;
} vargs;

/* An option given at most once (*slot NULL before): 0, or the exit code of the usage error. */
static int once(const char **slot, const char *what)
{
    if (*slot != NULL) {
        return out_usage_error("verify", "%s given twice", what);
    }
    *slot = optarg;
    return 0;
}

/* The options with a value checked here: 0, or the exit code after saying why. */
static int take_value_opt(vargs *a, int c)
{
    switch (c) {
    case 'T':
        if (a->have_at) {
            return out_usage_error("verify", "--at given twice");
        }
        a->have_at = 1;
        if (sign_parse_time(&a->o.at, optarg) != 0) {
            return out_usage_error("verify", "--at %s: not an RFC 3339 UTC time (2026-01-01T00:00:00Z)", optarg);
        }
        a->o.flags |= SIGN_VERIFY_AT; /* the epoch included */
        return 0;
    case 'D':
        if (a->state_arg != NULL || optarg == NULL || optarg[0] == '\0') {
            return out_usage_error("verify", "--state-dir: give one directory, or none");
        }
        a->state_arg = optarg;
        return 0;
    case 'K':
        if (a->o.revocation_cache_dir != NULL || optarg == NULL || optarg[0] == '\0') {
            return out_usage_error("verify", "--revocation-cache: give one directory");
        }
        a->o.revocation_cache_dir = optarg;
        return 0;
    default: return EXIT_USAGE;
    }
}

/* One option: 0, or the exit code after saying why. */
static int take_opt(vargs *a, int c, char **argv)
{
    int taken = cli_input_opt(&a->in, "verify", c, optarg);

    if (taken != 0) {
        return taken < 0 ? EXIT_USAGE : 0;
    }
    switch (c) {
    /* A second policy must not replace the first: an artifact named "--policy=..." would. */
    case 'p': return once(&a->policy_path, "-p/--policy");
    case 'b': a->bundles[a->nbundles++] = optarg; return 0;
    case 'r': return once(&a->trusted_root, "--trusted-root");
    case 'J': a->json = 1; return 0;
    case 'E': a->o.flags |= SIGN_VERIFY_ENTRIES; return 0;
    case 't': a->o.tree = optarg; return 0;
    case 'G': a->o.git_dir = optarg; return 0;
    case 'l': a->o.log_dir = optarg; return 0;
    case 'L': return once(&a->event_log, "--event-log");
    case 'S': a->use_syslog = 1; return 0;
    case 'F': a->o.flags |= SIGN_VERIFY_FETCH_CRL; return 0;
    case 'C': return once(&a->crl_cache_arg, "--crl-cache");
    case 'O': return once(&a->crl_timeout_arg, "--crl-timeout");
    case 'g': a->o.flags |= SIGN_VERIFY_ALLOW_DOWNGRADE; return 0;
    case 'H': a->o.flags |= SIGN_VERIFY_FETCH_REVOCATION; return 0;
    case 'h': a->help = 1; return 0;
    case 'T':
    case 'D':
    case 'K': return take_value_opt(a, c);
    default: return out_getopt_error("verify", c, argv);
    }
}

/* Every option (-h included: it is judged after them): 0, or the exit code after saying why. */
static int parse_args(vargs *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"bundle", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'J'},
        {"entries", no_argument, NULL, 'E'},
        {"at", required_argument, NULL, 'T'},
        {"event-log", required_argument, NULL, 'L'},
        {"syslog", no_argument, NULL, 'S'},
        CLI_INPUT_LONGOPTS,
        {"tree", required_argument, NULL, 't'},
        {"fetch-crl", no_argument, NULL, 'F'},
        {"crl-cache", required_argument, NULL, 'C'},
        {"crl-timeout", required_argument, NULL, 'O'},
        {"git", required_argument, NULL, 'G'},
        {"log", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 'D'},        /* issue 15 */
        {"allow-downgrade", no_argument, NULL, 'g'},        /* issue 15 */
        {"fetch-revocation", no_argument, NULL, 'H'},       /* issue 15 */
        {"revocation-cache", required_argument, NULL, 'K'}, /* issue 15 */
        {"trusted-root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;

    if ((a->bundles = calloc((size_t)argc + 1, sizeof(*a->bundles))) == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    if (out_json_wanted(argc, argv)) {
        out_json_mode("verify"); /* every outcome prints an object, also a usage error */
    }
    if (cli_getopt_start("verify", argc, argv, ":p:b:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    while ((c = getopt_long(argc, argv, ":p:b:h", longopts, NULL)) != -1) {
        if ((rc = take_opt(a, c, argv)) != 0) {
            return rc;
        }
    }
    a->o.ref = a->in.ref;
    a->o.flags |=
        (a->in.insecure ? SIGN_VERIFY_REGISTRY_INSECURE : 0U) | (a->in.all_images ? SIGN_VERIFY_ALL_IMAGES : 0U);
    return 0;
}

/* The policy, the CRL, state and revocation options, the event log and the inputs: 0 or an exit code. */
static int prepare(vargs *a, int argc, char **argv)
{
    int r;

    if (a->policy_path == NULL) {
        return out_usage_error("verify", "a trust policy is required (-p POLICY)");
    }
    if (optind >= argc) {
        return out_usage_error("verify", "no artifact given");
    }
    if ((r = crl_options(&a->o, &a->crl_cache, a->crl_cache_arg, a->crl_timeout_arg)) != 0 ||
        (r = state_option(&a->o, &a->state_dir, a->state_arg)) != 0 ||
        (r = revocation_cache_option(&a->o, &a->rev_cache)) != 0) {
        return r;
    }
    if ((a->event_fd = out_event_open("verify", a->event_log)) == -2) {
        out_json_error("EVENT_LOG_UNWRITABLE", "event log", a->event_log, "the event log cannot be opened");
        return EXIT_USAGE;
    }
    if ((r = sign_policy_load_trusted_root(&a->policy, a->policy_path, a->trusted_root, NULL)) != 0) {
        return out_role_fail(r, "verify", "policy", a->policy_path);
    }
    /* "verify -p P *" also passes the bundles the glob matched as artifacts. */
    for (int i = optind; a->nbundles == 0 && i < argc; i++) {
        if (out_is_bundle_file(argv[i])) {
            return out_usage_error("verify",
                                   "%s is a bundle, not an artifact (a glob matched it?); name the artifacts only, "
                                   "their bundles are found beside them, or give bundles with -b",
                                   argv[i]);
        }
    }
    if ((r = registry_inputs(&a->reg, argv, optind, argc, a->nbundles, a->o.flags)) != 0) {
        return r;
    }
    a->o.artifacts = (const char *const *)(argv + optind);
    a->o.nartifacts = (size_t)(argc - optind);
    a->o.bundles = a->reg.nfiles > 0 ? (const char *const *)a->reg.files : (const char *const *)a->bundles;
    a->o.nbundles = a->reg.nfiles > 0 ? a->reg.nfiles : a->nbundles;
    return 0;
}

/* The audit trail is part of the decision: when it cannot be written, nothing is verified (EXIT_USAGE). */
static int emit_event(vargs *a, int r)
{
    char *ev = NULL;
    int er;

    if (a->event_fd < 0 && !a->use_syslog) {
        return 0;
    }
    er = sign_event_verify(&ev, a->res, a->policy, a->policy_path, 0);
    if (er != 0 || out_event_emit(a->event_fd, a->event_log, a->use_syslog, r != 0, ev) != 0) {
        if (er != 0) {
            cli_fail(er, "event");
        }
        out_json_error("EVENT_LOG_UNWRITABLE", "event log", a->event_log, "the event could not be recorded");
        free(ev);
        return EXIT_USAGE;
    }
    free(ev);
    return 0;
}

/* The verdict of r, as JSON (--json) or text: the exit code. */
static int print_result(vargs *a, int r)
{
    const sign_policy_mode mode = sign_policy_get_mode(a->policy);

    if (a->json) {
        int jr = sign_verify_result_json(&a->js, a->res);
        if (jr != 0) {
            return cli_fail(jr, "verify --json");
        }
        fputs(a->js, stdout);
        fputc('\n', stdout);
        out_json_printed();
        if (cli_exit_code(r) == EXIT_USAGE) {
            print_human(a->res, r, a->policy_path, mode, a->o.nartifacts); /* the one-line input error, on stderr */
        }
        return cli_exit_code(r);
    }
    print_human(a->res, r, a->policy_path, mode, a->o.nartifacts);
    for (size_t i = 0; r == 0 && a->reg.pinned != NULL && i < a->o.nartifacts; i++) {
        if (a->reg.pinned[i] != NULL) {
            printf("deploy %s\n", a->reg.pinned[i]); /* the digest a pipeline pins */
        }
    }
    return cli_exit_code(r);
}

static void vargs_free(vargs *a, size_t nart)
{
    regstate_clear(&a->reg, nart);
    if (a->event_fd >= 0) {
        close(a->event_fd);
    }
    free(a->js);
    free(a->crl_cache);
    free(a->state_dir);
    free(a->rev_cache);
    sign_verify_result_free(a->res);
    sign_policy_free(a->policy);
    free(a->bundles);
}

int cmd_verify(int argc, char **argv)
{
    vargs a;
    int r, rc;

    memset(&a, 0, sizeof(a));
    a.o = (sign_verify_options)SIGN_VERIFY_OPTIONS_INIT;
    a.event_fd = -1;
    if ((rc = parse_args(&a, argc, argv)) != 0) {
        goto out;
    }
    if (a.help) {
        /*
         * Help exits 0 only when asked alone: "verify -p P *" with a file named
         * --help must not report success without verifying anything.
         */
        rc = argc != 2 ? out_usage_error("verify", "--help takes no other arguments (put \"--\" before artifacts)")
                       : 0;
        if (rc == 0) {
            fputs(verify_usage, stdout);
        }
        goto out;
    }
    if ((rc = prepare(&a, argc, argv)) != 0) {
        goto out;
    }
    if (out_progress_wanted()) {
        a.o.progress = out_progress_cb; /* as sign: on a terminal only, cleared before the verdict */
    }
    r = sign_verify(&a.res, a.policy, &a.o);
    out_progress_end();
    if (a.res == NULL) {
        rc = cli_fail(r != 0 ? r : SIGN_ERROR, "verify");
        out_json_error("ERROR", NULL, NULL, sign_error_last());
        goto out;
    }
    if ((rc = emit_event(&a, r)) == 0) {
        rc = print_result(&a, r);
    }
out:
    vargs_free(&a, optind < argc ? (size_t)(argc - optind) : 0);
    if (fflush(stdout) != 0 && rc == 0) {
        rc = EXIT_USAGE;
    }
    return rc;
}
