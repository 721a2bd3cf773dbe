/* signet — source provenance: which commit of which repository an artifact was built from (git, libgit2). */
#ifndef SIGN_SOURCE_H
#define SIGN_SOURCE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a work tree was at signing time: remote, commit, tree, refs, submodules, cleanliness. */
typedef struct sign_source sign_source;

/* Record a work tree with changes (dirty: true and the SHA-256 of the list of changed paths). */
#define SIGN_SOURCE_ALLOW_DIRTY 0x1u

typedef struct sign_source_options {
    unsigned int version;
    const char *remote; /* remote whose URL is recorded; NULL: "origin" (absent: no URL recorded) */
    unsigned int flags; /* SIGN_SOURCE_ALLOW_DIRTY */
} sign_source_options;

#define SIGN_SOURCE_OPTIONS_VERSION 1
#define SIGN_SOURCE_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_SOURCE_OPTIONS_VERSION)

/* *opts = SIGN_SOURCE_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_source_options_init(sign_source_options *opts);

/*
 * Read the repository whose work tree is (or contains) dir. Refused: no
 * repository (SIGN_ENOTFOUND), a bare repository or one without commits
 * (SIGN_EINVAL), a named remote that does not exist (SIGN_ENOTFOUND), and a
 * work tree with modified, staged or untracked files that are not ignored
 * (SIGN_EFINDING, finding "source-dirty": the message lists up to 20 paths)
 * unless SIGN_SOURCE_ALLOW_DIRTY. A detached HEAD is recorded without a
 * branch; a shallow clone is recorded as such.
 */
SIGN_EXTERN int sign_source_collect(sign_source **out, const char *dir, const sign_source_options *opts);
SIGN_EXTERN void sign_source_free(sign_source *s);

/* The commit id (40 hex digits), owned by s. */
SIGN_EXTERN const char *sign_source_commit(const sign_source *s);
/* The recorded remote URL without credentials, query or fragment, or NULL. */
SIGN_EXTERN const char *sign_source_uri(const sign_source *s);
/* 1 when the work tree had changes (collected with SIGN_SOURCE_ALLOW_DIRTY). */
SIGN_EXTERN int sign_source_dirty(const sign_source *s);
/*
 * The version named by the release tag "v<version>" that points at the
 * commit, without the "v" (owned by s): SIGN_ENOTFOUND when no such tag
 * points at it, SIGN_EINVAL when several do (the message names two).
 */
SIGN_EXTERN int sign_source_version_tag(const char **out, const sign_source *s);

/*
 * The recorded source as the predicate's "source" object (JSON text, sorted
 * keys, no spaces). *out is malloc'd and NUL-terminated.
 */
SIGN_EXTERN int sign_source_json(char **out, const sign_source *s);

/*
 * Check a recorded source object (JSON text, as sign_source_json writes it)
 * against a clone: the commit exists, its tree is the recorded tree, and it
 * is reachable from each recorded ref that the clone has (a tag must still
 * point at it). SIGN_EVERIFY with a message naming what differs; SIGN_EPARSE
 * for a malformed object; SIGN_ENOTFOUND when dir holds no repository.
 */
SIGN_EXTERN int sign_source_check(const char *dir, const char *source_json, size_t len);

#ifdef __cplusplus
}
#endif
#endif
