/* signet hash: the statement that sign would sign, without a key. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "output.h"

static const char hash_usage[] =
    "usage: signet hash [--json] [--name NAME]... [--ref NAME] [--all] [--platform OS/ARCH]\n"
    "                   [--tls-verify BOOL] [--jobs N]\n"
    "                   [--git DIR] [--follow-symlink] ARTIFACT...\n"
    "\n"
    "Print the in-toto statement that 'signet sign' would sign for these\n"
    "artifacts (indented; --json: the exact compact bytes). Findings go to stderr.\n"
    "SOURCE_DATE_EPOCH, when set, fixes the created time.\n"
    "\n"
    "      --json       compact deterministic JSON (the bytes that would be signed); an\n"
    "                   error is a JSON error object on stdout too\n"
    "      --name NAME  name of the next artifact in the manifest (once per artifact)\n"
    "      --ref NAME   OCI layout: the image with this ref name\n"
    "      --all        OCI layout: every manifest of the index, and the index\n"
    "      --platform OS/ARCH  docker:// multi-platform index: that platform's image\n"
    "      --tls-verify BOOL   docker://: false: no certificate check (or plain HTTP), that registry only\n"
    "      --follow-symlink  a symlink ARTIFACT: its target under the link's name\n"
    "      --git DIR    record the git source of the work tree DIR (see signet-sign(1))\n"
    "      --git-remote NAME  the remote whose URL is recorded (default origin)\n"
    "      --allow-dirty      record a work tree with uncommitted changes as dirty\n"
    "      --jobs N     at most N threads at once (default: one per core)\n"
    "  -h, --help       show this help\n";

int cmd_hash(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},
        {"name", required_argument, NULL, 'N'},
        {"ref", required_argument, NULL, 'R'},
        {"all", no_argument, NULL, 'a'},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},
        {"follow-symlink", no_argument, NULL, 'F'},
        {"git", required_argument, NULL, 'G'},
        {"git-remote", required_argument, NULL, 'M'},
        {"allow-dirty", no_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sign_sign_options opts = SIGN_SIGN_OPTIONS_INIT;
    sign_statement *st = NULL;
    sign_artifact **arts = NULL;
    char **names = NULL, *text = NULL;
    size_t nnames = 0, nart = 0, len = 0;
    int json = 0, c, r, rc = EXIT_USAGE, allow_dirty = 0;
    const char *git_dir = NULL, *git_remote = NULL;
    sign_source *source = NULL;

    names = calloc((size_t)argc + 1, sizeof(*names));
    if (names == NULL) {
        cli_error("out of memory");
        goto out;
    }
    if (out_check_long_options("hash", argc, argv, ":h", longopts) != 0) {
        goto out;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': json = 1; break;
        case 'N': names[nnames++] = optarg; break;
        case 'R':          /* an OCI layout's ref name, or */
        case OPT_PLATFORM: /* a registry index's platform: both choose the image (sign_artifact_options) */
            opts.ref = optarg;
            break;
        case OPT_TLS_VERIFY: {
            int insecure = 0;

            if (out_parse_tls_verify(&insecure, "hash", optarg) != 0) {
                goto out;
            }
            if (insecure) {
                opts.artifact_flags |= SIGN_ARTIFACT_REGISTRY_INSECURE;
            }
            break;
        }
        case 'a': opts.artifact_flags |= SIGN_ARTIFACT_ALL_IMAGES; break;
        case 'F': opts.artifact_flags |= SIGN_ARTIFACT_FOLLOW_SYMLINK; break;
        case 'G': git_dir = optarg; break;
        case 'M': git_remote = optarg; break;
        case 'D': allow_dirty = 1; break;
        case 'j':
            if (out_parse_jobs("hash", optarg) != 0) {
                goto out;
            }
            break;
        case 'h':
            fputs(hash_usage, stdout);
            rc = 0;
            goto out;
        default: rc = out_getopt_error("hash", c, argv); goto out;
        }
    }
    if (optind >= argc) {
        rc = out_usage_error("hash", "no artifact given");
        goto out;
    }
    nart = (size_t)(argc - optind);
    if (nnames != 0 && nnames != nart) {
        rc = out_usage_error("hash", "%zu --name for %zu artifacts: give one per artifact or none", nnames, nart);
        nart = 0;
        goto out;
    }
    if ((rc = cli_git_source(&source, git_dir, git_remote, allow_dirty)) != 0) {
        goto out;
    }
    rc = EXIT_USAGE;
    opts.source = source;
    if (out_source_date_epoch(&opts.created) != 0) {
        nart = 0;
        goto out;
    }
    opts.artifacts = (const char *const *)(argv + optind);
    opts.names = nnames > 0 ? (const char *const *)names : NULL;
    opts.nartifacts = nart;
    if (out_progress_wanted()) {
        opts.progress = out_progress_cb;
    }
    r = sign_hash(&st, &arts, &opts);
    out_progress_end();
    out_findings(stderr, arts, nart);
    if (r != 0) {
        if (r == SIGN_ENOTFOUND || r == SIGN_EPARSE || r == SIGN_EIO || r == SIGN_EINVAL) {
            out_json_note("ARTIFACT_UNREADABLE", "artifact", NULL, sign_error_last());
        }
        rc = cli_fail(r, NULL);
        goto out;
    }
    r = json ? sign_statement_serialize(&text, &len, st) : sign_statement_serialize_pretty(&text, st);
    if (r != 0) {
        rc = cli_fail(r, NULL);
        goto out;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    rc = fflush(stdout) == 0 ? 0 : EXIT_USAGE;
out:
    sign_source_free(source);
    if (arts != NULL) {
        for (size_t i = 0; i < nart; i++) {
            sign_artifact_free(arts[i]);
        }
        free(arts);
    }
    free(text);
    sign_statement_free(st);
    free(names);
    return rc;
}
