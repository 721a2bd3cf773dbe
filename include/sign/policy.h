/* signet — the trust policy file (see docs/policy.md). */
#ifndef SIGN_POLICY_H
#define SIGN_POLICY_H

#include "common.h"
#include "encoding.h" /* sign_parse_duration, sign_parse_time, sign_format_time were declared here before 0.2 */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SIGN_MODE_ENFORCE = 0, SIGN_MODE_WARN = 1, SIGN_MODE_AUDIT = 2 } sign_policy_mode;

typedef struct sign_policy sign_policy;

/*
 * Load and validate a policy file strictly: unknown fields, a missing or
 * unreadable referenced file, a bad duration or time, or a policy that
 * trusts nothing are errors (SIGN_EPARSE / SIGN_ENOTFOUND / SIGN_EINVAL),
 * and the message names the field. Paths inside are relative to the file.
 */
SIGN_EXTERN int sign_policy_load(sign_policy **out, const char *path, const sign_limits *limits);
/*
 * The same with a Sigstore trusted_root.json given beside the policy (verify --trusted-root), as if the
 * policy's "trusted_root" named it: its transparency-log keys, timestamp authorities and, for roots[]
 * entries without "certificates", its certificate authorities. A policy that also sets trusted_root is
 * SIGN_EINVAL. trusted_root NULL: sign_policy_load.
 */
SIGN_EXTERN int sign_policy_load_trusted_root(sign_policy **out, const char *path, const char *trusted_root,
                                              const sign_limits *limits);
/* The same from memory; relative paths resolve against basedir. */
SIGN_EXTERN int sign_policy_parse(sign_policy **out, const void *data, size_t len, const char *basedir,
                                  const sign_limits *limits);
SIGN_EXTERN void sign_policy_free(sign_policy *p);

SIGN_EXTERN sign_policy_mode sign_policy_get_mode(const sign_policy *p);
/* "enforce", "warn", "audit" */
SIGN_EXTERN const char *sign_policy_mode_name(sign_policy_mode m);
SIGN_EXTERN size_t sign_policy_key_count(const sign_policy *p);
/* SHA-256 (32 bytes) of the policy document's bytes, as audit events record it. */
SIGN_EXTERN const unsigned char *sign_policy_sha256(const sign_policy *p);

/*
 * Match an artifact name against a glob as the policy does: a pattern
 * without '/' matches the name's last component, one with '/' the whole
 * name; '*' and '?' do not cross '/'. Returns 1 on a match, 0 otherwise.
 */
SIGN_EXTERN int sign_policy_glob_match(const char *pattern, const char *name);

#ifdef __cplusplus
}
#endif
#endif
