/* signet timestamp: add RFC 3161 timestamps to an existing bundle, rewriting it atomically. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static const char timestamp_usage[] =
    "usage: signet timestamp --tsa URL [--tsa URL]... [--tsa-policy OID] [--tsa-timeout SECONDS] BUNDLE\n"
    "\n"
    "Ask each RFC 3161 time-stamp authority for a timestamp over the bundle's\n"
    "signature and add them to BUNDLE, which is rewritten atomically. When any\n"
    "TSA fails, BUNDLE is left unchanged.\n"
    "\n"
    "      --tsa URL           the TSA (http:// or https://); repeat for several\n"
    "      --tsa-policy OID    ask the TSAs for this policy\n"
    "      --tsa-timeout SECONDS  connect and answer timeout per TSA, 1 to 600\n"
    "                          (default 10)\n"
    "  -h, --help              show this help\n";

int cmd_timestamp(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tsa", required_argument, NULL, 'T'},
        {"tsa-policy", required_argument, NULL, 'Y'},
        {"tsa-timeout", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sign_tsa_options topts = SIGN_TSA_OPTIONS_INIT;
    sign_bundle *b = NULL;
    char **tsas = NULL;
    size_t ntsas = 0, added = 0;
    const char *path;
    int c, r, rc = EXIT_USAGE;

    if ((tsas = calloc((size_t)argc + 1, sizeof(*tsas))) == NULL) {
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    if (out_check_long_options("timestamp", argc, argv, ":h", longopts) != 0) {
        goto out;
    }
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'T': tsas[ntsas++] = optarg; break;
        case 'Y': topts.policy_oid = optarg; break;
        case 'W':
            if (out_parse_seconds(&topts.timeout, "timestamp", "--tsa-timeout", optarg) != 0) {
                goto out;
            }
            topts.connect_timeout = topts.timeout;
            break;
        case 'h':
            fputs(timestamp_usage, stdout);
            rc = 0;
            goto out;
        default: rc = out_getopt_error("timestamp", c, argv); goto out;
        }
    }
    if (ntsas == 0) {
        rc = out_usage_error("timestamp", "give at least one --tsa URL");
        goto out;
    }
    if (argc - optind != 1) {
        rc = out_usage_error("timestamp", "give exactly one BUNDLE");
        goto out;
    }
    path = argv[optind];
    if ((r = sign_bundle_read(&b, path, NULL)) != 0) {
        rc = cli_fail(r, path);
        goto out;
    }
    if ((r = sign_timestamp_bundle(&added, b, (const char *const *)tsas, ntsas, &topts)) != 0) {
        rc = cli_fail(r, NULL);
        cli_error("%s is unchanged", path);
        goto out;
    }
    if ((r = sign_bundle_write(b, path)) != 0) {
        rc = cli_fail(r, path);
        goto out;
    }
    printf("added %zu timestamp(s) to %s (%zu in all)\n", added, path, sign_bundle_timestamp_count(b));
    rc = fflush(stdout) == 0 ? 0 : EXIT_USAGE;
out:
    sign_bundle_free(b);
    free(tsas);
    return rc;
}
