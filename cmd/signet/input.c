/* The input options sign, hash and verify share: which image, registry TLS, threads, the git source. */
#include <getopt.h>
#include <stddef.h>

#include "cli.h"
#include "output.h"

int cli_getopt_start(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    if (out_check_long_options(cmd, argc, argv, shortopts, longopts) != 0) {
        return EXIT_USAGE;
    }
    opterr = 0;
    optind = 1;
    return 0;
}

int cli_input_opt(cli_input *in, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case 'R':          /* an OCI layout's ref name, or */
    case OPT_PLATFORM: /* a registry index's platform: both choose the image (sign_artifact_options) */
        in->ref = arg;
        return 1;
    case OPT_TLS_VERIFY: return out_parse_tls_verify(&in->insecure, cmd, arg) != 0 ? -1 : 1;
    case 'a': in->all_images = 1; return 1;
    case 'j': return out_parse_jobs(cmd, arg) != 0 ? -1 : 1;
    default: break;
    }
    if (!in->with_source) {
        return 0;
    }
    switch (c) {
    case 'F': in->follow_symlink = 1; return 1;
    case 'G': in->git_dir = arg; return 1;
    case 'M': in->git_remote = arg; return 1;
    case 'D': in->allow_dirty = 1; return 1;
    default: return 0;
    }
}

unsigned int cli_input_artifact_flags(const cli_input *in)
{
    return (in->insecure ? SIGN_ARTIFACT_REGISTRY_INSECURE : 0U) | (in->all_images ? SIGN_ARTIFACT_ALL_IMAGES : 0U) |
           (in->follow_symlink ? SIGN_ARTIFACT_FOLLOW_SYMLINK : 0U);
}
