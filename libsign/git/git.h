/* Private to libsign/git/: the one boundary to libgit2 (initialisation, errors). */
#ifndef SIGN_GIT_H
#define SIGN_GIT_H

#include <git2.h>

#include "formats.h"

/* libgit2 initialised once per process, and shut down at exit. */
int sign__git_init(void);
/*
 * Translate libgit2's last error for a call that returned rc (< 0) into a
 * SIGN_E* code and a message "what: libgit2's text"; libgit2's error state is
 * cleared. GIT_ENOTFOUND becomes SIGN_ENOTFOUND, allocation failures
 * SIGN_ENOMEM, everything else fallback.
 */
int sign__git_error(int rc, int fallback, const char *what);
/* 40 lowercase hex digits and a NUL. */
void sign__git_oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid);
/* Parse exactly 40 hex digits. */
int sign__git_oid_parse(git_oid *out, const char *hex);
/* Open the repository whose work tree is, or contains, dir (SIGN_ENOTFOUND when there is none). */
int sign__git_open(git_repository **out, const char *dir);

#endif
