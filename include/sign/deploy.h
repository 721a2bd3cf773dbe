/* signet — deploy: verify an artifact and extract exactly the verified bytes into a release, switched atomically. */
#ifndef SIGN_DEPLOY_H
#define SIGN_DEPLOY_H

#include "common.h"
#include "policy.h"
#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of sign_deploy_options. */
#define SIGN_DEPLOY_ROLLBACK 0x1u        /* switch back to the previous release, re-verified (artifact ignored) */
#define SIGN_DEPLOY_ALLOW_DOWNGRADE 0x2u /* a lower signed version than one deployed before is let through */
#define SIGN_DEPLOY_PRESERVE_MODES 0x4u  /* keep setuid/setgid/sticky and world-writable bits */
#define SIGN_DEPLOY_OWNERS 0x8u          /* set owners from the archive (only when running as root) */
/* artifact docker://HOST/REPO[:TAG|@sha256:HEX]: plain HTTP to that registry only (--tls-verify=false) */
#define SIGN_DEPLOY_REGISTRY_INSECURE 0x10u

typedef struct sign_deploy_options {
    unsigned int version;
    const char *artifact; /* a zip, tar layer, OCI layout, docker save archive or docker:// (not with ROLLBACK) */
    const char *name;     /* its name as signed; NULL: the last component of artifact */
    const char *const *bundles; /* bundle paths; none: "<artifact>.sigstore.json" */
    size_t nbundles;
    const char *to;        /* the deploy directory: releases/, current, the staging directories */
    const char *state_dir; /* downgrade protection (as sign_verify_options.state_dir), or NULL */
    unsigned int keep;     /* releases kept, the active one included; 0: 3 */
    unsigned int flags;
    const sign_limits *limits; /* NULL: defaults */
    /*
     * version 2: an OCI layout's image by org.opencontainers.image.ref.name (as sign_verify_options.ref); for a
     * registry reference (docker://), the platform "os/arch[/variant]" of a multi-platform index; or NULL
     */
    const char *ref;
} sign_deploy_options;

#define SIGN_DEPLOY_OPTIONS_VERSION 2
#define SIGN_DEPLOY_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_DEPLOY_OPTIONS_VERSION)

/* *opts = SIGN_DEPLOY_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_deploy_options_init(sign_deploy_options *opts);

typedef struct sign_deploy_result sign_deploy_result;

/*
 * Deploy one artifact (docs/deploy.md): copy it once into a private file
 * beside the deploy directory while it is hashed, verify that copy under
 * policy with every entry compared to the signed manifest, extract only
 * that copy into a staging directory (every written file checked against
 * the signed manifest while it is written), move it to releases/<id>/ and
 * switch the "current" symlink with rename(2). A deploy needs the verdict
 * "verified": warn and audit modes do not let unverified bytes be deployed.
 * Returns 0 when the release is active; otherwise the SIGN_E* class of the
 * failure, as sign_verify() does. *out is set whenever the deploy ran (also
 * on failure); it may be NULL when it could not start.
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_deploy(sign_deploy_result **out, const sign_policy *policy,
                                             const sign_deploy_options *opts);

SIGN_EXTERN void sign_deploy_result_free(sign_deploy_result *r);
/* The verification of the deployed bytes (with the deploy's own failures as checks "deploy"), or NULL. */
SIGN_EXTERN const sign_verify_result *sign_deploy_result_verify(const sign_deploy_result *r);
/* The value sign_deploy() returned. */
SIGN_EXTERN int sign_deploy_result_code(const sign_deploy_result *r);
/* The release active before (old) and after (new): id ("releases/<id>") and SHA-256 hex, or NULL. */
SIGN_EXTERN const char *sign_deploy_result_release(const sign_deploy_result *r, int new_release);
SIGN_EXTERN const char *sign_deploy_result_sha256(const sign_deploy_result *r, int new_release);
/* The verify verdict (sign_verify_result_json) with a "deploy" member. *out malloc'd. */
SIGN_EXTERN int sign_deploy_result_json(char **out, const sign_deploy_result *r);
/* One JSON line (no newline) for the event log: {"event":"signet.deploy",...} (docs/events.md). */
SIGN_EXTERN int sign_deploy_result_event(char **out, const sign_deploy_result *r, const sign_policy *policy,
                                         const char *policy_path, int64_t time);

#ifdef __cplusplus
}
#endif
#endif
