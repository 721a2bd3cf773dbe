/*
 * libsign/deploy/: signet deploy, above verify/ (docs/architecture.md):
 * one private copy of the artifact, verified, then extracted through the
 * walkers of artifact/ (sign__artifact_extract) into a staging directory,
 * moved into releases/ and switched atomically (docs/deploy.md). Not installed.
 */
#ifndef SIGN_DEPLOY_INT_H
#define SIGN_DEPLOY_INT_H

#include "sign/deploy.h"
#include "verify_internal.h"

/* Why an extraction stopped: a reason code of the "deploy" check (docs/verify.md) and its class. */
typedef struct dfail {
    const char *reason; /* static; NULL: no failure recorded */
    int code;
    char message[1024];
    int findings; /* the walk read a dangerous finding (one_walk: judged by the signer's list, in verify) */
} dfail;

/* What to extract: the private copy open on fd (a file, or an image layout's directory). */
typedef struct dsrc {
    int fd;
    const char *what;    /* the artifact's name, in messages */
    const char *ref;     /* an image: its ref name (or NULL: the only one) */
    const char *subject; /* an image: the SHA-256 hex verified (its manifest), which the copy must still be */
} dsrc;

/* Extract src into the directory open on root, checked against signed (an image: layer by layer). */
int dpl_extract(const dsrc *src, int root, const vcapture *signed_entries, unsigned int flags, const sign_limits *lim,
                dfail *why);

/* An image fetched from a registry (remote.c) into a private layout. */
#define DPL_REMOTE_BUNDLES 8
typedef struct dremote {
    char tmpname[32];                     /* in: the private layout's name, the prefix of the bundle files */
    char name[600];                       /* "HOST/REPO", the image's name as signed by reference */
    char pinned[900];                     /* docker://HOST/REPO@sha256:<hex>: the tag resolved once */
    char digest[80];                      /* the manifest deployed (an index's platform manifest) */
    char bundles[DPL_REMOTE_BUNDLES][48]; /* the attached bundles, as private files beside the copy */
    size_t nbundles;
} dremote;

/*
 * Resolve reference once and download its image (platform: of an index) into the private layout directory
 * open on lfd; with want_bundles, the bundles attached to it into private files of dirfd (none: an error).
 */
int dpl_fetch_image(dremote *out, int dirfd, int lfd, const char *reference, const char *platform, int insecure,
                    int want_bundles, const sign_limits *lim);

/* Remove name beneath dirfd (a directory with everything in it, or anything else), never following a symlink. */
int dpl_remove_tree(int dirfd, const char *name);

/* Remove what a killed deploy left in the deploy directory open on dirfd: .staging-*, .current-*, .artifact-*. */
int dpl_cleanup(int dirfd, const char *to);

/* Release ids: the first DPL_ID_LEN hex digits of the artifact's SHA-256. */
#define DPL_ID_LEN 16
#define DPL_HISTORY ".signet-deploy.json"

/* One switch of "current", as the history records it (most recent last). */
typedef struct drel {
    char id[DPL_ID_LEN + 1];
    char sha256[2 * SIGN_SHA256_LEN + 1];
    char *name;      /* the artifact's name as signed */
    size_t nbundles; /* releases/<id>.bundle.<k>, k < nbundles */
} drel;

/* The id "current" points at (releases/<id>), "" when there is none. */
void dpl_current(int dirfd, char id[DPL_ID_LEN + 1]);
/* Read the history of the deploy directory to (empty when none). */
int dpl_history_read(drel **out, size_t *n, const char *to);
void dpl_history_free(drel *v, size_t n);
/* Append rel to the history (under its lock). */
int dpl_history_add(const char *to, const drel *rel);
/* Keep the active release and the most recent others, keep in all; remove the rest of releases/. */
int dpl_prune(int dirfd, const char *to, const char *active, unsigned int keep);

/*
 * Test hooks (docs/deploy.md, "Test hooks"), set by the tests only (the
 * library reads no environment): crash_phase makes the deploy raise SIGKILL
 * when it reaches that phase ("copied", "verified", "extracting",
 * "extracted", "staged", "linked", "switched"); fifo names a FIFO where the
 * deploy pauses once its private copy is made (it writes "copied", then
 * waits until a writer opens and closes the FIFO). NULL: off. Not thread-safe.
 */
void dpl_test_hooks(const char *crash_phase, const char *fifo);
void dpl_test_crash(const char *phase);
void dpl_test_pause(void);

#endif
