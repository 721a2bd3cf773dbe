/* signet — structured events: one JSON line per sign and verify decision. */
#ifndef SIGN_EVENT_H
#define SIGN_EVENT_H

#include "artifact.h"
#include "common.h"
#include "policy.h"
#include "signer.h"
#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIGN_EVENT_VERSION 1

/*
 * The event of one verification, as one line of compact JSON (no newline;
 * *out malloc'd): {"event":"signet.verify","v":1,"time":...,"tool":...,
 * "policy":{"path":...,"sha256":...},"decision":"pass|fail|warn",
 * "verified":bool,"accepted":bool,"mode":...,"code":...,"artifacts":[...],
 * "checks":[...]} — every check with its status and reason, and the message
 * of every check that did not pass. policy_path may be NULL. time 0: now.
 * The format is documented in docs/events.md.
 */
SIGN_EXTERN int sign_event_verify(char **out, const sign_verify_result *r, const sign_policy *policy,
                                  const char *policy_path, int64_t time);

/*
 * The event of one signing, as one line of compact JSON: {"event":"signet.sign",
 * "v":1,"time":...,"tool":...,"decision":"signed|refused|error","code":...,
 * "error":...,"key_id":...,"bundle":...,"artifacts":[{"name","kind","size",
 * "sha256","findings":[{"id","severity","allowed"}]}]}. rc is what
 * sign_sign() returned, arts its artifacts (may be NULL), key the signing key
 * (may be NULL). time 0: now.
 */
SIGN_EXTERN int sign_event_sign(char **out, int rc, const sign_sign_options *opts, sign_artifact *const *arts,
                                const sign_key *key, int64_t time);

#ifdef __cplusplus
}
#endif
#endif
