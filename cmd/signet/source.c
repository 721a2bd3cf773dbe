/* --git DIR for sign and hash: the work tree's provenance, or the reason it cannot be recorded. */
#include <stdlib.h>

#include "cli.h"

int cli_git_source(sign_source **out, const char *dir, const char *remote, int allow_dirty)
{
    sign_source_options so = SIGN_SOURCE_OPTIONS_INIT;

    *out = NULL;
    if (dir == NULL) {
        if (remote != NULL || allow_dirty) {
            cli_error("--git-remote and --allow-dirty go with --git DIR");
            return EXIT_USAGE;
        }
        return 0;
    }
    so.remote = remote;
    so.flags = allow_dirty ? SIGN_SOURCE_ALLOW_DIRTY : 0;
    if (sign_source_collect(out, dir, &so) != 0) {
        cli_error("--git %s: %s", dir, sign_error_last());
        return EXIT_USAGE;
    }
    if (sign_source_dirty(*out)) {
        cli_error("warning: %s has uncommitted changes; the source is recorded as dirty (--allow-dirty)", dir);
    }
    return 0;
}
