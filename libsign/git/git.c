/* The boundary to libgit2: one initialisation per process, its error model translated here and cleared. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "git.h"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_init_rc;

/*
 * At exit, libgit2's global state (its OpenSSL contexts among it) is released, so that a leak checker sees
 * only real leaks; the process is ending, and no libsign call is under way on another thread then.
 */
static void git_shutdown_at_exit(void)
{
    git_libgit2_shutdown();
}

static void git_init_once(void)
{
    git_init_rc = git_libgit2_init();
    if (git_init_rc >= 0) {
        (void)atexit(git_shutdown_at_exit);
        /*
         * libgit2's object cache is off. It keeps every object read until its cap (256 MB, counted as the objects'
         * raw size, not what they take parsed), then evicts a few entries per insert by scanning its map from the
         * start: log verify grew to 1.3 GB at 100,000 entries and its cost per entry grew with the log. A walk
         * that reads an object again keeps it itself (log_verify.c's tree cache).
         */
        (void)git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
        /*
         * What libgit2 writes (the signing log's objects, packs and branch) is fsynced before it counts as
         * written: a signer told that a signature was logged must not lose it to a power cut (docs/log.md).
         */
        (void)git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    }
}

int sign__git_init(void)
{
    pthread_once(&git_once, git_init_once);
    if (git_init_rc < 0) {
        return sign__git_error(git_init_rc, SIGN_ERROR, "libgit2 initialisation");
    }
    return 0;
}

int sign__git_error(int rc, int fallback, const char *what)
{
    const git_error *e = git_error_last();
    const char *msg = e != NULL && e->message != NULL ? e->message : "unknown libgit2 error";
    int code = fallback;

    if (rc == GIT_ENOTFOUND) {
        code = SIGN_ENOTFOUND;
    } else if (e != NULL && e->klass == GIT_ERROR_NOMEMORY) {
        code = SIGN_ENOMEM;
    }
    code = sign__error(code, "%s: %s", what, msg);
    git_error_clear();
    return code;
}

void sign__git_oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
{
    git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
}

int sign__git_oid_parse(git_oid *out, const char *hex)
{
    if (hex == NULL || strlen(hex) != GIT_OID_HEXSZ || strspn(hex, "0123456789abcdef") != GIT_OID_HEXSZ) {
        return sign__error(SIGN_EPARSE, "not a git object id (40 lowercase hex digits): \"%.80s\"",
                           hex != NULL ? hex : "");
    }
    if (git_oid_fromstr(out, hex) < 0) {
        return sign__git_error(-1, SIGN_EPARSE, "git object id");
    }
    return 0;
}

int sign__git_open(git_repository **out, const char *dir)
{
    int rc, r;

    *out = NULL;
    if ((r = sign__git_init()) != 0) {
        return r;
    }
    rc = git_repository_open_ext(out, dir, 0, NULL);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return sign__error(SIGN_ENOTFOUND, "%s is not in a git repository", dir);
    }
    if (rc < 0) {
        return sign__git_error(rc, SIGN_EIO, dir);
    }
    return 0;
}
