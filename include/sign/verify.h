/* signet — the verification pipeline and its result. */
#ifndef SIGN_VERIFY_H
#define SIGN_VERIFY_H

#include "common.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SIGN_CHECK_PASS = 0,
    SIGN_CHECK_FAIL = 1,
    SIGN_CHECK_WARN = 2, /* a failure that the policy mode (warn/audit) lets through */
    SIGN_CHECK_SKIP = 3  /* not applicable or not checked, with a reason */
} sign_check_status;

/*
 * One check. reason is a stable upper-case code ("OK", "SIGNATURE_INVALID",
 * "KEY_UNTRUSTED", ...; the list is in docs/verify.md); code is the SIGN_E*
 * class of a failure (0 for a pass). Strings are owned by the result.
 */
typedef struct sign_check {
    const char *check; /* "artifact", "bundle", "signature", "signer", "key-validity", "statement",
                          "artifact-glob", "subject", "entries", "threshold", "timestamp",
                          "signature-age" */
    sign_check_status status;
    const char *reason;
    int code;
    const char *artifact; /* artifact name or NULL */
    const char *bundle;   /* bundle path or NULL */
    const char *signer;   /* policy key name or key id, or NULL */
    const char *message;  /* what failed and what to do, one line */
} sign_check;

/* Flags of sign_verify_options. */
#define SIGN_VERIFY_ENTRIES 0x1u    /* re-hash every archive entry and compare with the manifest */
#define SIGN_VERIFY_ALL_IMAGES 0x2u /* OCI layouts: the whole index (as signed with --all) */
#define SIGN_VERIFY_FETCH_CRL                                                                                        \
    0x4u /* fetch CRLs from certificates' distribution points (http://); see                                         \
            crl_cache_dir. Without it nothing touches the network. */
/* Registry references (docker://): plain HTTP to the reference's host (--tls-verify=false). */
#define SIGN_VERIFY_REGISTRY_INSECURE 0x20u
/* Version 4: judge at opts->at, also when it is 0 (the epoch). A high bit, apart from the check flags. */
#define SIGN_VERIFY_AT 0x100u
/*
 * Share parsed statements between calls: a statement parsed from a signed payload is kept (the last 8, of at most
 * 64 KiB each) and reused by a later verify in this process, under the same limits, whose bundle signs the same
 * payload bytes (by SHA-256). For a caller that verifies many artifacts one call at a time against bundles that
 * each sign many of them (signet audit). Each bundle's signature is still verified, and each artifact's digest
 * compared; only the parse of bytes already parsed is skipped.
 */
#define SIGN_VERIFY_SHARE_STATEMENTS 0x200u
/*
 * Checks that pass (or are skipped) carry an empty message: for a caller that reads only the failures' messages
 * and verifies many artifacts (signet audit). Statuses, reasons, codes, names and facts are the same.
 */
#define SIGN_VERIFY_TERSE 0x400u
/* Revocation lists and downgrade protection (options version 4): */
#define SIGN_VERIFY_ALLOW_DOWNGRADE                                                                                  \
    0x8u /* a lower artifact version than one verified before is reported, not refused */
#define SIGN_VERIFY_FETCH_REVOCATION                                                                                 \
    0x10u /* fetch revocation lists from their policy url (http/https) into revocation_cache_dir */

typedef struct sign_verify_options {
    unsigned int version;
    const char *const *artifacts; /* paths of the artifacts to verify */
    size_t nartifacts;
    const char *const *bundles; /* bundle paths; none: "<artifact>.sigstore.json" beside each */
    size_t nbundles;
    int64_t at; /* judge as of this time, when SIGN_VERIFY_AT is set or at != 0; else now */
    unsigned int flags;
    const sign_limits *limits; /* NULL: defaults */
    /* version 2: */
    const char *ref;  /* OCI layouts: the image by org.opencontainers.image.ref.name, or NULL */
    const char *tree; /* a directory (unpacked root file system or extracted zip) to compare with the entries */
    /* version 3: */
    const char *crl_cache_dir;   /* with SIGN_VERIFY_FETCH_CRL: cache of fetched CRLs, or NULL: none */
    unsigned int crl_timeout_ms; /* with SIGN_VERIFY_FETCH_CRL: per fetch; 0: 10 s */
    /* version 4: */
    const char *git_dir;       /* a clone in which each recorded source commit must exist unchanged, or NULL */
    const char *log_dir;       /* a signing log (sign_log_init) that must hold every bundle used, or NULL */
    sign_progress_cb progress; /* bytes of the artifacts read, as sign_sign reports them (any thread), or NULL */
    void *progress_userdata;
    /* revocation lists, downgrade protection (docs/revocation.md): */
    const char *state_dir;            /* highest list versions and artifact versions seen, kept under a lock;
                                         NULL: none - rollback, equivocation and downgrade are not checked (the
                                         verdict says so). Ignored (neither read nor written) when judging
                                         at a given time (SIGN_VERIFY_AT or at != 0). */
    const char *revocation_cache_dir; /* with SIGN_VERIFY_FETCH_REVOCATION: fetched lists, or NULL: none */
} sign_verify_options;

/*
 * Version 4: the flags SIGN_VERIFY_AT, SIGN_VERIFY_ALLOW_DOWNGRADE and SIGN_VERIFY_FETCH_REVOCATION, git_dir,
 * log_dir, progress, progress_userdata, state_dir and revocation_cache_dir; a library of version 3 refuses it
 * instead of ignoring it.
 */
#define SIGN_VERIFY_OPTIONS_VERSION 4
#define SIGN_VERIFY_OPTIONS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_VERIFY_OPTIONS_VERSION)

/* *opts = SIGN_VERIFY_OPTIONS_INIT, for callers that cannot use the macro (FFI). */
SIGN_EXTERN void sign_verify_options_init(sign_verify_options *opts);

typedef struct sign_verify_result sign_verify_result;

/*
 * Verify artifacts against bundles under policy, following the rules of
 * docs/verify.md, and record every check in *out (set whenever the pipeline
 * ran, also on failure). Returns 0 when the artifacts may be used: every
 * check passed, or the policy mode is warn/audit. Otherwise the SIGN_E*
 * verification class of the most severe failure, or an error code
 * (SIGN_EINVAL, SIGN_ENOMEM) when it could not run; then *out may be NULL.
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_verify(sign_verify_result **out, const sign_policy *policy,
                                             const sign_verify_options *opts);

/*
 * sign_verify() of one artifact that has no path: bytes read from fd (a
 * regular file is judged in place; a pipe is read to its end first, at most
 * limits->archive_max_total bytes, else SIGN_ELIMIT) or held in memory (data,
 * len). name is the artifact's name, matched against the signed subjects and
 * the keys' artifact globs as a path would be. opts->artifacts is ignored;
 * opts->bundles must be given (nothing lies beside such bytes): SIGN_EINVAL
 * otherwise. fd is not closed, and its offset is left where reading ended.
 * Linux (memfd and /proc/self/fd).
 */
SIGN_EXTERN SIGN_WARN_UNUSED int sign_verify_fd(sign_verify_result **out, const sign_policy *policy,
                                                const sign_verify_options *opts, int fd, const char *name);
SIGN_EXTERN SIGN_WARN_UNUSED int sign_verify_memory(sign_verify_result **out, const sign_policy *policy,
                                                    const sign_verify_options *opts, const void *data, size_t len,
                                                    const char *name);

SIGN_EXTERN void sign_verify_result_free(sign_verify_result *r);
/* 1 when every check passed (regardless of mode). */
SIGN_EXTERN int sign_verify_result_ok(const sign_verify_result *r);
/*
 * The value sign_verify() returned: whether the policy lets the artifacts be
 * used (the exit decision), not whether they were verified. In warn and audit
 * mode it is 0 for tampered bytes too; ask sign_verify_result_verdict().
 */
SIGN_EXTERN int sign_verify_result_code(const sign_verify_result *r);

/* What the checks say, independently of the decision to let the artifacts through. */
typedef enum {
    SIGN_VERDICT_VERIFIED = 0,     /* every check passed */
    SIGN_VERDICT_NOT_VERIFIED = 1, /* a check failed and the policy refuses the artifacts */
    SIGN_VERDICT_ALLOWED = 2       /* a check failed; warn or audit mode lets the artifacts through unverified */
} sign_verdict;

SIGN_EXTERN sign_verdict sign_verify_result_verdict(const sign_verify_result *r);
/* "verified", "not_verified", "allowed" (the JSON verdict's "verdict") */
SIGN_EXTERN const char *sign_verdict_name(sign_verdict v);

/*
 * Per artifact, in the order given (i < sign_verify_result_artifact_count),
 * so that callers need not parse the JSON. Strings are owned by the result;
 * out-of-range indexes give NULL or 0.
 */
SIGN_EXTERN size_t sign_verify_result_artifact_count(const sign_verify_result *r);
/* The artifact's name as matched against subjects, and the path given. */
SIGN_EXTERN const char *sign_verify_result_artifact_name(const sign_verify_result *r, size_t i);
SIGN_EXTERN const char *sign_verify_result_artifact_path(const sign_verify_result *r, size_t i);
/* SHA-256 of its bytes as lower-case hex, or NULL when it could not be read. */
SIGN_EXTERN const char *sign_verify_result_artifact_sha256(const sign_verify_result *r, size_t i);
/* 1 when no check concerning it failed and its threshold is met (whatever the mode). */
SIGN_EXTERN int sign_verify_result_artifact_verified(const sign_verify_result *r, size_t i);
/* The signers counted for its threshold (policy key name or certificate subject): only signers of its bytes. */
SIGN_EXTERN size_t sign_verify_result_artifact_signer_count(const sign_verify_result *r, size_t i);
SIGN_EXTERN const char *sign_verify_result_artifact_signer(const sign_verify_result *r, size_t i, size_t j);
/* The key id of that signer (of the signing key, also for a certificate signer). */
SIGN_EXTERN const char *sign_verify_result_artifact_signer_key_id(const sign_verify_result *r, size_t i, size_t j);
/* The distinct reason codes of the failed (or, in warn/audit mode, warned) checks that concern it. */
SIGN_EXTERN size_t sign_verify_result_artifact_reason_count(const sign_verify_result *r, size_t i);
SIGN_EXTERN const char *sign_verify_result_artifact_reason(const sign_verify_result *r, size_t i, size_t j);
/* Its earliest trusted (RFC 3161) signing time among the counted signers, 0 when none; *out set either way. */
SIGN_EXTERN int sign_verify_result_artifact_signing_time(int64_t *out, const sign_verify_result *r, size_t i);
SIGN_EXTERN size_t sign_verify_result_check_count(const sign_verify_result *r);
SIGN_EXTERN const sign_check *sign_verify_result_check(const sign_verify_result *r, size_t i);
/* The members of the JSON verdict, as documented in docs/verify.md; raised when one changes meaning. */
#define SIGN_VERDICT_FORMAT_VERSION 1
/* The whole verdict as one JSON object (see docs/verify.md). *out malloc'd. */
SIGN_EXTERN int sign_verify_result_json(char **out, const sign_verify_result *r);
/* "pass", "fail", "warn", "skip" */
SIGN_EXTERN const char *sign_check_status_name(sign_check_status s);

#ifdef __cplusplus
}
#endif
#endif
