/* signet — auditing a store: the class of each artifact, from the same checks and reason codes as verify. */
#ifndef SIGN_AUDIT_H
#define SIGN_AUDIT_H

#include "common.h"
#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exactly one class per artifact (docs/audit.md), most severe first after verified. */
typedef enum {
    SIGN_AUDIT_VERIFIED = 0,
    SIGN_AUDIT_TAMPERED,   /* a digest or signature does not match: the bytes or the bundle were changed */
    SIGN_AUDIT_UNSIGNED,   /* no bundle, or no bundle names the artifact */
    SIGN_AUDIT_REVOKED,    /* a key, certificate or artifact is revoked */
    SIGN_AUDIT_EXPIRED,    /* expired, not yet valid, or stale (keys, certificates, CRLs, signature age) */
    SIGN_AUDIT_UNTRUSTED,  /* the signer is not in the policy */
    SIGN_AUDIT_POLICY,     /* globs, threshold, required timestamp, source or log */
    SIGN_AUDIT_UNREADABLE, /* the artifact or its bundle could not be read or parsed */
    SIGN_AUDIT_ORPHAN,     /* a bundle whose artifact is missing */
    SIGN_AUDIT_NCLASSES
} sign_audit_class;

/* "verified", "tampered", ... ; NULL for a value out of range. */
SIGN_EXTERN const char *sign_audit_class_name(sign_audit_class c);
/* The class named name (SIGN_EINVAL for an unknown name). */
SIGN_EXTERN int sign_audit_class_parse(sign_audit_class *out, const char *name);
/* The exit status documented for a class (0 verified, 1 tampered/unsigned/orphan, 2 unreadable, 3, 4, 5, 6). */
SIGN_EXTERN int sign_audit_class_exit(sign_audit_class c);

/*
 * The class of artifact i of a verify result (r may be NULL when verify could
 * not run: unreadable). Verified only when every check of the artifact passed,
 * whatever the policy's mode. reasons (may be NULL) receives the distinct
 * reason codes of its failed checks, comma-separated.
 */
SIGN_EXTERN sign_audit_class sign_audit_classify(const sign_verify_result *r, size_t i, char *reasons,
                                                 size_t reasons_size);

#ifdef __cplusplus
}
#endif
#endif
