/* The audit's view of a verify result: one class per artifact, its reasons, digest, signers and signing time. */
#include <stdio.h>
#include <string.h>

#include "sign/audit.h"
#include "verify_internal.h"

static const char *const class_names[SIGN_AUDIT_NCLASSES] = {
    "verified", "tampered", "unsigned", "revoked", "expired", "untrusted", "policy", "unreadable", "orphan"};

const char *sign_audit_class_name(sign_audit_class c)
{
    return (unsigned)c < SIGN_AUDIT_NCLASSES ? class_names[c] : NULL;
}

int sign_audit_class_parse(sign_audit_class *out, const char *name)
{
    for (int i = 0; i < SIGN_AUDIT_NCLASSES; i++) {
        if (name != NULL && strcmp(name, class_names[i]) == 0) {
            *out = (sign_audit_class)i;
            return 0;
        }
    }
    return sign__error(SIGN_EINVAL,
                       "unknown audit class \"%.40s\" (verified, tampered, unsigned, revoked, expired, "
                       "untrusted, policy, unreadable, orphan)",
                       name != NULL ? name : "");
}

int sign_audit_class_exit(sign_audit_class c)
{
    switch (c) {
    case SIGN_AUDIT_VERIFIED: return 0;
    case SIGN_AUDIT_UNREADABLE: return 2;
    case SIGN_AUDIT_UNTRUSTED: return 3;
    case SIGN_AUDIT_POLICY: return 4;
    case SIGN_AUDIT_REVOKED: return 5;
    case SIGN_AUDIT_EXPIRED: return 6;
    default: return 1; /* tampered, unsigned, orphan */
    }
}

/* The class one failed check puts an artifact in. */
static sign_audit_class check_class(const sign_check *k)
{
    if (strcmp(k->reason, "BUNDLE_MISSING") == 0) {
        return SIGN_AUDIT_UNSIGNED;
    }
    switch (k->code) {
    case SIGN_EBADSIG:
    case SIGN_EDIGEST:
    case SIGN_EVERIFY: return SIGN_AUDIT_TAMPERED;
    case SIGN_EREVOKED: return SIGN_AUDIT_REVOKED;
    case SIGN_EEXPIRED: return SIGN_AUDIT_EXPIRED;
    case SIGN_EUNTRUSTED: return SIGN_AUDIT_UNTRUSTED;
    case SIGN_EPOLICY: return SIGN_AUDIT_POLICY;
    default: return SIGN_AUDIT_UNREADABLE;
    }
}

static int concerns(const sign_check *k, const vr_artifact *a)
{
    return k->artifact == NULL || a == NULL || strcmp(k->artifact, a->name) == 0;
}

sign_audit_class sign_audit_classify(const sign_verify_result *r, size_t i, char *reasons, size_t reasons_size)
{
    const vr_artifact *a = r != NULL && i < r->nartifacts ? &r->artifacts[i] : NULL;
    sign_audit_class worst = SIGN_AUDIT_VERIFIED;
    size_t used = 0;

    if (reasons != NULL && reasons_size > 0) {
        reasons[0] = '\0';
    }
    if (r == NULL) {
        return SIGN_AUDIT_UNREADABLE;
    }
    for (size_t k = 0; k < r->nchecks; k++) {
        const sign_check *c = &r->checks[k];
        sign_audit_class cls;

        if (c->status != SIGN_CHECK_FAIL || !concerns(c, a)) {
            continue;
        }
        /* "no usable bundle names it" follows from the bundle's own failure when there is one */
        cls = strcmp(c->reason, "ARTIFACT_NOT_SIGNED") == 0 ? SIGN_AUDIT_NCLASSES : check_class(c);
        if (worst == SIGN_AUDIT_VERIFIED || cls < worst) {
            worst = cls;
        }
        if (reasons != NULL && c->reason != NULL &&
            (used == 0 || strstr(reasons, c->reason) == NULL)) { /* distinct codes; no code is a prefix of another */
            int w = snprintf(reasons + used, reasons_size - used, "%s%s", used > 0 ? "," : "", c->reason);

            if (w > 0 && (size_t)w < reasons_size - used) {
                used += (size_t)w;
            } else if (used < reasons_size) {
                reasons[used] = '\0';
            }
        }
    }
    if (worst == SIGN_AUDIT_NCLASSES || (worst == SIGN_AUDIT_VERIFIED && a != NULL && !a->verified)) {
        worst = SIGN_AUDIT_UNSIGNED; /* no bundle names it, or nothing failed and yet nothing verified it */
    }
    return worst;
}

int sign_verify_result_artifact_signing_time(int64_t *out, const sign_verify_result *r, size_t i)
{
    *out = 0;
    if (r == NULL || i >= r->nartifacts) {
        return sign__error(SIGN_EINVAL, "no artifact %zu in the result", i);
    }
    if (r->artifacts[i].has_signing_time) {
        *out = r->artifacts[i].signing_time;
    }
    return 0;
}
