/* signet deploy: verify an artifact and extract exactly the verified bytes into a release (libsign does it all). */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

static const char deploy_usage[] =
    "usage: signet deploy -p POLICY [-b BUNDLE]... --to DIR [--state-dir DIR] [--keep N]\n"
    "                     [--name NAME] [--ref NAME] [--platform OS/ARCH] [--tls-verify BOOL]\n"
    "                     [--preserve-modes] [--owners] [--allow-downgrade] [--json]\n"
    "                     [--event-log FILE] [--syslog] ARTIFACT\n"
    "       signet deploy --rollback -p POLICY --to DIR [--allow-downgrade] [--json]\n"
    "\n"
    "Verify a zip, a tar layer (plain, gzip, zstd), an OCI image layout, a docker\n"
    "save archive or an image in a registry (docker://HOST/REPO[:TAG|@sha256:HEX],\n"
    "the tag resolved once, the image downloaded once) under a trust policy, extract exactly the verified bytes (an\n"
    "image: its root file system, layers applied in order with their whiteouts) into\n"
    "DIR/releases/<id>/ and switch DIR/current to it atomically. Every written file\n"
    "is an entry of the signed manifest. Without -b, ARTIFACT.sigstore.json beside\n"
    "the artifact is used.\n"
    "\n"
    "  -p, --policy POLICY  the trust policy (JSON)\n"
    "  -b, --bundle BUNDLE  a bundle to use (repeat for several signers)\n"
    "      --to DIR         the deploy directory (releases/, current)\n"
    "      --state-dir DIR  the versions deployed before (default DIR/.signet-state)\n"
    "      --keep N         releases kept, the active one included (default 3)\n"
    "      --name NAME      the artifact's signed name (default: its file name)\n"
    "      --ref NAME       OCI layout: the image with this ref name\n"
    "      --platform OS/ARCH  docker:// multi-platform index: that platform's image\n"
    "      --tls-verify BOOL   docker://: false for plain HTTP to that registry only\n"
    "      --rollback       switch back to the previous release, re-verified\n"
    "      --allow-downgrade  accept a lower signed version than one deployed before\n"
    "      --preserve-modes keep setuid, setgid, sticky and world-writable bits\n"
    "      --owners         set owners from the archive (when run as root)\n"
    "      --json           print the verdict (with a \"deploy\" member) as JSON\n"
    "      --event-log FILE append one JSON event line with the deploy to FILE\n"
    "      --syslog         send the event to syslog (facility auth)\n"
    "  -h, --help           show this help (alone)\n"
    "  --                   end of options\n"
    "\n"
    "Exit status as signet verify: 0 deployed, 1 not verified or an entry not signed,\n"
    "2 usage, input or write error, 3 untrusted signer, 4 policy violated, 5 revoked,\n"
    "6 expired.\n";

typedef struct dargs {
    sign_deploy_options o;
    const char *policy_path, *event_log;
    int json, use_syslog, help;
} dargs;

static int parse_keep(unsigned int *keep, const char *s)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return out_usage_error("deploy", "--keep: give a number of releases from 1 to 64");
    }
    v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 64) {
        return out_usage_error("deploy", "--keep %s: give a number of releases from 1 to 64", s);
    }
    *keep = (unsigned int)v;
    return 0;
}

static int parse_args(dargs *a, char **bundles, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"bundle", required_argument, NULL, 'b'},
        {"to", required_argument, NULL, 't'},
        {"state-dir", required_argument, NULL, 'D'},
        {"keep", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"ref", required_argument, NULL, 'F'},
        {"platform", required_argument, NULL, 'P'},
        {"tls-verify", required_argument, NULL, 'T'},
        {"rollback", no_argument, NULL, 'R'},
        {"allow-downgrade", no_argument, NULL, 'g'},
        {"preserve-modes", no_argument, NULL, 'M'},
        {"owners", no_argument, NULL, 'O'},
        {"json", no_argument, NULL, 'J'},
        {"event-log", required_argument, NULL, 'L'},
        {"syslog", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    if (out_check_long_options("deploy", argc, argv, ":p:b:h", longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":p:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (a->policy_path != NULL) {
                return out_usage_error("deploy", "-p/--policy given twice");
            }
            a->policy_path = optarg;
            break;
        case 'b': bundles[a->o.nbundles++] = optarg; break;
        case 't':
            if (a->o.to != NULL) {
                return out_usage_error("deploy", "--to given twice");
            }
            a->o.to = optarg;
            break;
        case 'D': a->o.state_dir = optarg; break;
        case 'k':
            if (parse_keep(&a->o.keep, optarg) != 0) {
                return EXIT_USAGE;
            }
            break;
        case 'n': a->o.name = optarg; break;
        case 'F': /* an OCI layout's ref name, or */
        case 'P': /* a registry index's platform: both choose the image */ a->o.ref = optarg; break;
        case 'T': {
            int insecure = 0;

            if (out_parse_tls_verify(&insecure, "deploy", optarg) != 0) {
                return EXIT_USAGE;
            }
            if (insecure) {
                a->o.flags |= SIGN_DEPLOY_REGISTRY_INSECURE;
            }
            break;
        }
        case 'R': a->o.flags |= SIGN_DEPLOY_ROLLBACK; break;
        case 'g': a->o.flags |= SIGN_DEPLOY_ALLOW_DOWNGRADE; break;
        case 'M': a->o.flags |= SIGN_DEPLOY_PRESERVE_MODES; break;
        case 'O': a->o.flags |= SIGN_DEPLOY_OWNERS; break;
        case 'J': a->json = 1; break;
        case 'L': a->event_log = optarg; break;
        case 'S': a->use_syslog = 1; break;
        case 'h': a->help = 1; break;
        default: return out_getopt_error("deploy", c, argv);
        }
    }
    return 0;
}

static int check_args(dargs *a, int argc, char **argv)
{
    int rollback = (a->o.flags & SIGN_DEPLOY_ROLLBACK) != 0;

    if (a->policy_path == NULL) {
        return out_usage_error("deploy", "a trust policy is required (-p POLICY)");
    }
    if (a->o.to == NULL || a->o.to[0] == '\0') {
        return out_usage_error("deploy", "a deploy directory is required (--to DIR)");
    }
    if (rollback && (optind < argc || a->o.nbundles > 0 || a->o.name != NULL)) {
        return out_usage_error("deploy", "--rollback takes no artifact, bundle or name: it re-verifies the "
                                         "previous release with what it was deployed with");
    }
    if (!rollback && optind + 1 != argc) {
        return out_usage_error("deploy", optind >= argc ? "no artifact given" : "give one artifact");
    }
    if (!rollback) {
        a->o.artifact = argv[optind];
    }
    return 0;
}

static void print_human(const sign_deploy_result *res, int r, const char *to, const char *why)
{
    const char *rel = sign_deploy_result_release(res, 1), *old = sign_deploy_result_release(res, 0);

    if (r == 0) {
        /* The digest deployed (an image: its manifest's, the tag resolved once): what a pipeline pins. */
        printf("deployed: %s/releases/%s is current (was %s), sha256:%s\n", to, rel, old != NULL ? old : "none",
               sign_deploy_result_sha256(res, 1));
        return;
    }
    fprintf(stderr, "signet: deploy: NOT deployed: %s; %s\n", why,
            old != NULL ? "the previous release stays current" : "nothing is current");
}

/* The event of the deploy to the log opened before it (fd, or -1) and/or syslog. */
static int emit_event(const dargs *a, int fd, const sign_deploy_result *res, const sign_policy *policy, int r)
{
    char *ev = NULL;
    int er;

    if (a->event_log == NULL && !a->use_syslog) {
        return 0;
    }
    er = sign_deploy_result_event(&ev, res, policy, a->policy_path, 0);
    if (er != 0 || out_event_emit(fd, a->event_log, a->use_syslog, r != 0, ev) != 0) {
        out_json_error("EVENT_LOG_UNWRITABLE", "event log", a->event_log, "the event could not be recorded");
        er = EXIT_USAGE;
    }
    free(ev);
    return er != 0 ? EXIT_USAGE : 0;
}

int cmd_deploy(int argc, char **argv)
{
    dargs a;
    char **bundles = calloc((size_t)argc + 1, sizeof(*bundles)), *js = NULL;
    sign_policy *policy = NULL;
    sign_deploy_result *res = NULL;
    char why[2048] = "";
    int r, rc = EXIT_USAGE, event_fd = -1;

    /*
     * One malloc arena for the process, set before any thread allocates. The verification parses the statement
     * (with a 20,000-entry zip, 20 MB of JSON) on a pool thread while another walks the archive, and the
     * extraction runs on this one: with an arena per thread, what one phase freed was not reused by the next,
     * and the peak RSS of the bench zip's deploy was 56 MB (46 MB with one arena, the same CPU; docs/deploy.md).
     */
    (void)mallopt(M_ARENA_MAX, 1);
    memset(&a, 0, sizeof(a));
    a.o = (sign_deploy_options)SIGN_DEPLOY_OPTIONS_INIT;
    if (bundles == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    if (out_json_wanted(argc, argv)) {
        out_json_mode("deploy");
    }
    if (parse_args(&a, bundles, argc, argv) != 0) {
        goto out;
    }
    if (a.help) {
        if (argc != 2) {
            out_usage_error("deploy", "--help takes no other arguments (put \"--\" before the artifact)");
            goto out;
        }
        fputs(deploy_usage, stdout);
        rc = 0;
        goto out;
    }
    if (check_args(&a, argc, argv) != 0) {
        goto out;
    }
    a.o.bundles = (const char *const *)bundles;
    /* The audit trail must be writable before anything is installed, as verify checks it before judging. */
    if (a.event_log != NULL && (event_fd = out_event_open("deploy", a.event_log)) == -2) {
        out_json_error("EVENT_LOG_UNWRITABLE", "event log", a.event_log, "the event log cannot be opened");
        goto out;
    }
    if ((r = sign_policy_load(&policy, a.policy_path, NULL)) != 0) {
        rc = out_role_fail(r, "deploy", "policy", a.policy_path);
        goto out;
    }
    r = sign_deploy(&res, policy, &a.o);
    snprintf(why, sizeof(why), "%s", sign_error_last());
    if (res == NULL || sign_deploy_result_verify(res) == NULL) {
        rc = cli_fail(r != 0 ? r : SIGN_ERROR, "deploy");
        out_json_error("ERROR", NULL, NULL, sign_error_last());
        goto out;
    }
    if (emit_event(&a, event_fd, res, policy, r) != 0) {
        goto out;
    }
    if (a.json) {
        if ((rc = sign_deploy_result_json(&js, res)) != 0) {
            rc = cli_fail(rc, "deploy --json");
            goto out;
        }
        fputs(js, stdout);
        fputc('\n', stdout);
        out_json_printed();
    }
    print_human(res, r, a.o.to, why);
    rc = cli_exit_code(r);
out:
    if (event_fd >= 0) {
        close(event_fd);
    }
    free(js);
    sign_deploy_result_free(res);
    sign_policy_free(policy);
    free(bundles);
    if (fflush(stdout) != 0 && rc == 0) {
        rc = EXIT_USAGE;
    }
    return rc;
}
