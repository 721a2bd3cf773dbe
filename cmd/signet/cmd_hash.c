/* signet hash: the statement that sign would sign, without a key. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct hargs {
    sign_sign_options o;
    cli_input in; /* --ref, --platform, --tls-verify, --all, --jobs, --follow-symlink, --git... */
    char **names;
    size_t nnames;
    int json, help;
} hargs;

/* The options, up to the first -h: 0, or the exit code after saying why. */
static int parse_args(hargs *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},
        {"name", required_argument, NULL, 'N'},
        CLI_INPUT_LONGOPTS,
        CLI_SOURCE_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, taken;

    if ((a->names = calloc((size_t)argc + 1, sizeof(*a->names))) == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    if (cli_getopt_start("hash", argc, argv, ":h", longopts) != 0) {
        return EXIT_USAGE;
    }
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if ((taken = cli_input_opt(&a->in, "hash", c, optarg)) != 0) {
            if (taken < 0) {
                return EXIT_USAGE;
            }
            continue;
        }
        switch (c) {
        case 'J': a->json = 1; break;
        case 'N': a->names[a->nnames++] = optarg; break;
        case 'h': a->help = 1; return 0;
        default: return out_getopt_error("hash", c, argv);
        }
    }
    a->o.ref = a->in.ref;
    a->o.artifact_flags |= cli_input_artifact_flags(&a->in);
    return 0;
}

/* The statement of the artifacts, printed: the exit code. */
static int print_statement(const sign_statement *st, int json)
{
    char *text = NULL;
    size_t len = 0;
    int r = json ? sign_statement_serialize(&text, &len, st) : sign_statement_serialize_pretty(&text, st);

    if (r != 0) {
        return cli_fail(r, NULL);
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

int cmd_hash(int argc, char **argv)
{
    hargs a;
    sign_statement *st = NULL;
    sign_artifact **arts = NULL;
    size_t nart = 0;
    int r, rc;
    sign_source *source = NULL;

    memset(&a, 0, sizeof(a));
    a.o = (sign_sign_options)SIGN_SIGN_OPTIONS_INIT;
    a.in.with_source = 1;
    if ((rc = parse_args(&a, argc, argv)) != 0) {
        goto out;
    }
    if (a.help) {
        fputs(hash_usage, stdout);
        goto out;
    }
    if (optind >= argc) {
        rc = out_usage_error("hash", "no artifact given");
        goto out;
    }
    if (a.nnames != 0 && a.nnames != (size_t)(argc - optind)) {
        rc = out_usage_error("hash", "%zu --name for %zu artifacts: give one per artifact or none", a.nnames,
                             (size_t)(argc - optind));
        goto out;
    }
    if ((rc = cli_git_source(&source, a.in.git_dir, a.in.git_remote, a.in.allow_dirty)) != 0) {
        goto out;
    }
    a.o.source = source;
    if (out_source_date_epoch(&a.o.created) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    nart = (size_t)(argc - optind);
    a.o.artifacts = (const char *const *)(argv + optind);
    a.o.names = a.nnames > 0 ? (const char *const *)a.names : NULL;
    a.o.nartifacts = nart;
    if (out_progress_wanted()) {
        a.o.progress = out_progress_cb;
    }
    r = sign_hash(&st, &arts, &a.o);
    out_progress_end();
    out_findings(stderr, arts, nart);
    if (r != 0) {
        if (r == SIGN_ENOTFOUND || r == SIGN_EPARSE || r == SIGN_EIO || r == SIGN_EINVAL) {
            out_json_note("ARTIFACT_UNREADABLE", "artifact", NULL, sign_error_last());
        }
        rc = cli_fail(r, NULL);
        goto out;
    }
    rc = print_statement(st, a.json);
out:
    sign_source_free(source);
    if (arts != NULL) {
        for (size_t i = 0; i < nart; i++) {
            sign_artifact_free(arts[i]);
        }
        free(arts);
    }
    sign_statement_free(st);
    free(a.names);
    return rc;
}
