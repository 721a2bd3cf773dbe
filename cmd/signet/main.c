/* signet: the command-line dispatcher, exit codes and error printing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static const char usage_text[] = "usage: signet <command> [options]\n"
                                 "\n"
                                 "commands:\n"
                                 "  keygen     create a key pair (PREFIX.key, PREFIX.pub)\n"
                                 "  sign       sign artifacts into a Sigstore bundle\n"
                                 "  verify     verify artifacts against bundles under a trust policy\n"
                                 "  deploy     verify a zip or layer, install it as the current release\n"
                                 "  inspect    show what a bundle says (without verifying it)\n"
                                 "  hash       print the statement that sign would sign\n"
                                 "  timestamp  add RFC 3161 timestamps to a bundle\n"
                                 "  audit      verify a whole store of artifacts offline, with a report\n"
                                 "  log        the signing log in git: init, add, checkpoint, verify, search, sync\n"
                                 "  revoke     signed revocation lists of keys and artifacts\n"
                                 "  pkcs11     list the keys and certificates of PKCS#11 tokens\n"
                                 "  help       'signet help CMD' shows the options of CMD\n"
                                 "\n"
                                 "options:\n"
                                 "  -V, --version  print the version\n"
                                 "  -h, --help     show this list of commands\n"
                                 "\n"
                                 "Exit status: 0 verified or done, 1 not verified (changed or unsigned),\n"
                                 "2 usage, input or availability error, 3 untrusted signer, 4 policy\n"
                                 "violated, 5 revoked, 6 expired or stale. See signet(1).\n";

static const char help_usage[] = "usage: signet help [CMD]\n"
                                 "\n"
                                 "Without CMD, list the commands; with one, show the options of CMD\n"
                                 "(keygen, sign, verify, deploy, inspect, hash, timestamp, audit, log, revoke,\n"
                                 "help). The same as 'signet CMD --help'. Manual: signet(1),\n"
                                 "signet-CMD(1).\n";

typedef int (*cmd_fn)(int argc, char **argv);

static const struct {
    const char *name;
    cmd_fn fn;
} commands[] = {
    {"keygen", cmd_keygen}, {"sign", cmd_sign},           {"verify", cmd_verify}, {"inspect", cmd_inspect},
    {"hash", cmd_hash},     {"timestamp", cmd_timestamp}, {"log", cmd_log},       {"audit", cmd_audit},
    {"revoke", cmd_revoke}, {"pkcs11", cmd_pkcs11},       {"deploy", cmd_deploy},
};

/* The commands that have --json. */
static int has_json_option(const char *name)
{
    static const char *const with_json[] = {"keygen", "sign", "verify", "inspect", "hash", "log", "revoke"};

    for (size_t i = 0; i < sizeof(with_json) / sizeof(with_json[0]); i++) {
        if (strcmp(with_json[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static cmd_fn find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return commands[i].fn;
        }
    }
    return NULL;
}

int cli_exit_code(int sign_code)
{
    switch (sign_code) {
    case SIGN_OK: return EXIT_VERIFIED;
    case SIGN_EBADSIG:
    case SIGN_EDIGEST:
    case SIGN_EVERIFY: return EXIT_FAILED;
    case SIGN_EUNTRUSTED: return EXIT_UNTRUSTED;
    case SIGN_EPOLICY: return EXIT_POLICY;
    case SIGN_EREVOKED: return EXIT_REVOKED;
    case SIGN_EEXPIRED: return EXIT_EXPIRED;
    default: return EXIT_USAGE;
    }
}

void cli_error(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "signet: %s\n", msg);
    /* --json: the first error (not a warning) becomes the error object if the command prints none. */
    if (strncmp(msg, "warning:", 8) != 0) {
        out_json_note(NULL, NULL, NULL, msg);
    }
}

int cli_fail(int code, const char *context)
{
    const char *msg = sign_error_last();

    char full[4096];

    if (msg == NULL || *msg == '\0') {
        msg = sign_strerror(code);
    }
    /* The library's message usually names the file already: do not say it twice. */
    if (context == NULL || *context == '\0' || strstr(msg, context) != NULL) {
        snprintf(full, sizeof(full), "%s", msg);
    } else {
        snprintf(full, sizeof(full), "%s: %s", context, msg);
    }
    out_json_note(out_json_code(code), NULL, NULL, full);
    cli_error("%s", full);
    return cli_exit_code(code);
}

int main(int argc, char **argv)
{
    cmd_fn fn;

    /*
     * With TZ unset, glibc's mktime() stats /etc/localtime on every call, and libarchive
     * calls it for every zip entry header it reads (30,000 stats for a zip of 20,000
     * entries, a fifth of the CPU of walking it). TZ=":/etc/localtime" names the same
     * zone, read once. signet's own times are all UTC.
     */
    if (getenv("TZ") == NULL) {
        (void)setenv("TZ", ":/etc/localtime", 0);
    }
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (out_registry_credentials() != 0) {
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("signet %s\n", SIGN_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        char help_opt[] = "--help";
        char *hargv[3];

        if (argc == 2) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (argc == 3 && strcmp(argv[2], "help") == 0) {
            fputs(help_usage, stdout);
            return 0;
        }
        if (argc > 3 || (fn = find_command(argv[2])) == NULL) {
            cli_error("help: unknown command '%s'", argv[2]);
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
        hargv[0] = argv[2];
        hargv[1] = help_opt;
        hargv[2] = NULL;
        return fn(2, hargv);
    }
    if ((fn = find_command(argv[1])) == NULL) {
        cli_error("unknown command '%s'", argv[1]);
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    /* --json: every outcome prints one object on stdout, also an error the command did not put in JSON. */
    if (has_json_option(argv[1]) && out_json_wanted(argc - 1, argv + 1)) {
        out_json_mode(argv[1]);
    }
    return out_json_done(fn(argc - 1, argv + 1));
}
