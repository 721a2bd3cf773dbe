/* The verify result: its checks, the decision over them, and the verdict as JSON. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "verify_internal.h"

const char *sign_check_status_name(sign_check_status s)
{
    switch (s) {
    case SIGN_CHECK_PASS: return "pass";
    case SIGN_CHECK_FAIL: return "fail";
    case SIGN_CHECK_WARN: return "warn";
    case SIGN_CHECK_SKIP: return "skip";
    default: return "unknown";
    }
}

/* A check's strings but its artifact are one block, starting at check (check_pack); artifact is its own. */
static void check_clear(sign_check *c)
{
    free((char *)c->check);
    free((char *)c->artifact);
}

static void facts_clear(vfacts *f)
{
    free(f->key_id);
    free(f->subject);
    free(f->expected_sha256);
    free(f->actual_sha256);
    free(f->time);
}

void sign_verify_result_free(sign_verify_result *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nchecks; i++) {
        check_clear(&r->checks[i]);
        facts_clear(&r->facts[i]);
    }
    free(r->checks);
    free(r->facts);
    for (size_t i = 0; i < r->nartifacts; i++) {
        vr_artifact *a = &r->artifacts[i];

        free(a->name);
        free(a->path);
        for (size_t j = 0; j < a->nsigners; j++) {
            free(a->signers[j]);
            free(a->key_ids[j]);
        }
        free(a->signers);
        free(a->key_ids);
        free(a->reasons);
    }
    free(r->artifacts);
    free(r);
}

int sign_verify_result_ok(const sign_verify_result *r)
{
    return r != NULL && r->ok;
}

int sign_verify_result_code(const sign_verify_result *r)
{
    return r != NULL ? r->code : SIGN_EINVAL;
}

sign_verdict sign_verify_result_verdict(const sign_verify_result *r)
{
    if (r != NULL && r->ok) {
        return SIGN_VERDICT_VERIFIED;
    }
    return r != NULL && r->code == 0 ? SIGN_VERDICT_ALLOWED : SIGN_VERDICT_NOT_VERIFIED;
}

const char *sign_verdict_name(sign_verdict v)
{
    switch (v) {
    case SIGN_VERDICT_VERIFIED: return "verified";
    case SIGN_VERDICT_ALLOWED: return "allowed";
    case SIGN_VERDICT_NOT_VERIFIED:
    default: return "not_verified";
    }
}

static const vr_artifact *result_artifact(const sign_verify_result *r, size_t i)
{
    return r != NULL && i < r->nartifacts ? &r->artifacts[i] : NULL;
}

size_t sign_verify_result_artifact_count(const sign_verify_result *r)
{
    return r != NULL ? r->nartifacts : 0;
}

const char *sign_verify_result_artifact_name(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL ? a->name : NULL;
}

const char *sign_verify_result_artifact_path(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL ? a->path : NULL;
}

const char *sign_verify_result_artifact_sha256(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL && a->has_digest ? a->sha256 : NULL;
}

int sign_verify_result_artifact_verified(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL && a->verified;
}

size_t sign_verify_result_artifact_signer_count(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL ? a->nsigners : 0;
}

const char *sign_verify_result_artifact_signer(const sign_verify_result *r, size_t i, size_t j)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL && j < a->nsigners ? a->signers[j] : NULL;
}

const char *sign_verify_result_artifact_signer_key_id(const sign_verify_result *r, size_t i, size_t j)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL && j < a->nsigners ? a->key_ids[j] : NULL;
}

size_t sign_verify_result_artifact_reason_count(const sign_verify_result *r, size_t i)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL ? a->nreasons : 0;
}

const char *sign_verify_result_artifact_reason(const sign_verify_result *r, size_t i, size_t j)
{
    const vr_artifact *a = result_artifact(r, i);

    return a != NULL && j < a->nreasons ? a->reasons[j] : NULL;
}

size_t sign_verify_result_check_count(const sign_verify_result *r)
{
    return r != NULL ? r->nchecks : 0;
}

const sign_check *sign_verify_result_check(const sign_verify_result *r, size_t i)
{
    if (r == NULL || i >= r->nchecks) {
        return NULL;
    }
    return &r->checks[i];
}

static char *dup_or_null(const char *s, int *fail)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    if ((d = sign__strdup(s)) == NULL) {
        *fail = 1;
    }
    return d;
}

/* Room for cap checks. Checks and their facts grow together; a failure leaves both valid at the old capacity. */
static int checks_reserve(sign_verify_result *res, size_t cap)
{
    size_t bytes, fbytes;
    sign_check *n;
    vfacts *nf;

    if (cap <= res->capchecks) {
        return 0;
    }
    if (!sign__mul(&bytes, cap, sizeof(*n)) || !sign__mul(&fbytes, cap, sizeof(*nf))) {
        return sign__oom();
    }
    if ((nf = realloc(res->facts, fbytes)) == NULL) {
        return sign__oom();
    }
    res->facts = nf;
    if ((n = realloc(res->checks, bytes)) == NULL) {
        return sign__oom();
    }
    res->checks = n;
    res->capchecks = cap;
    return 0;
}

/* Copy s (or NULL) to *p, advancing it. */
static const char *pack_one(char **p, const char *s, size_t len)
{
    char *d = *p;

    if (s == NULL) {
        return NULL;
    }
    memcpy(d, s, len + 1);
    *p += len + 1;
    return d;
}

/*
 * The check's strings but its artifact in one allocation (one malloc and one free per check, not five), the
 * name first: check_clear frees the block through k->check. k->artifact is set apart, since the pipeline fills
 * it in later for a default bundle's checks.
 */
static int check_pack(sign_check *k, const char *check, const char *reason, vwhere w, const char *msg)
{
    const char *s[5] = {check != NULL ? check : "", reason, w.bundle, w.signer, msg};
    size_t len[5], total = 0;
    char *block, *p;

    for (int i = 0; i < 5; i++) {
        len[i] = s[i] != NULL ? strlen(s[i]) : 0;
        total += len[i] + 1;
    }
    if ((block = malloc(total)) == NULL) {
        return sign__oom();
    }
    p = block;
    k->check = pack_one(&p, s[0], len[0]);
    k->reason = pack_one(&p, s[1], len[1]);
    k->bundle = pack_one(&p, s[2], len[2]);
    k->signer = pack_one(&p, s[3], len[3]);
    k->message = pack_one(&p, s[4], len[4]);
    if (w.artifact != NULL && (k->artifact = sign__strdup(w.artifact)) == NULL) {
        free(block);
        return sign__oom();
    }
    return 0;
}

int vfy_add_check(vctx *c, const char *check, sign_check_status status, const char *reason, int code, vwhere w,
                  const char *fmt, ...)
{
    sign_verify_result *res = c->res;
    sign_check *k;
    char msg[2048];
    int r;

    if (res->nchecks == res->capchecks && (r = checks_reserve(res, res->capchecks ? res->capchecks * 2 : 16)) != 0) {
        return r;
    }
    msg[0] = '\0';
    if ((status != SIGN_CHECK_PASS && status != SIGN_CHECK_SKIP) || c->opts == NULL ||
        (c->opts->flags & SIGN_VERIFY_TERSE) == 0) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    k = &res->checks[res->nchecks];
    memset(k, 0, sizeof(*k));
    k->status = status;
    k->code = status == SIGN_CHECK_PASS || status == SIGN_CHECK_SKIP ? 0 : code;
    if ((r = check_pack(k, check, reason, w, msg)) != 0) {
        memset(k, 0, sizeof(*k));
        return r;
    }
    memset(&res->facts[res->nchecks], 0, sizeof(res->facts[0]));
    res->nchecks++;
    return 0;
}

int vfy_check_facts(vctx *c, vfact_in in)
{
    sign_verify_result *res = c->res;
    vfacts *f;
    int fail = 0;

    if (res->nchecks == 0) {
        return 0;
    }
    f = &res->facts[res->nchecks - 1];
    facts_clear(f);
    f->key_id = in.key_id != NULL && in.key_id[0] != '\0' ? dup_or_null(in.key_id, &fail) : NULL;
    f->subject = dup_or_null(in.subject, &fail);
    f->expected_sha256 = dup_or_null(in.expected_sha256, &fail);
    f->actual_sha256 = dup_or_null(in.actual_sha256, &fail);
    f->time = dup_or_null(in.time, &fail);
    if (fail) {
        facts_clear(f);
        memset(f, 0, sizeof(*f));
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

/* Severity rank of a failure class: lower is more severe. */
int vfy_class_rank(int code)
{
    switch (code) {
    case SIGN_EBADSIG:
    case SIGN_EDIGEST:
    case SIGN_EVERIFY: return 1;
    case SIGN_EREVOKED: return 2;
    case SIGN_EEXPIRED: return 3;
    case SIGN_EUNTRUSTED: return 4;
    case SIGN_EPOLICY: return 5;
    default: return 0; /* input errors: unreadable artifact, missing or malformed bundle */
    }
}

/* ---- the pipeline ----------------------------------------------------- */

typedef struct name_ix {
    const char *name;
    size_t i;
} name_ix;

static int cmp_name_ix(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* Bundle-level failures of an artifact's own default bundle also make the artifact unverified. */
void vfy_mark_bundle_failures(sign_verify_result *res)
{
    name_ix *order = res->nartifacts > 1 ? calloc(res->nartifacts, sizeof(*order)) : NULL;

    if (order != NULL) {
        /* Failed checks looked up among the artifacts sorted by name: N log N, not N * checks. */
        for (size_t i = 0; i < res->nartifacts; i++) {
            order[i].name = res->artifacts[i].name != NULL ? res->artifacts[i].name : "";
            order[i].i = i;
        }
        qsort(order, res->nartifacts, sizeof(*order), cmp_name_ix);
        for (size_t j = 0; j < res->nchecks; j++) {
            const sign_check *k = &res->checks[j];
            size_t lo = 0, hi = res->nartifacts;

            if (k->status != SIGN_CHECK_FAIL || k->artifact == NULL) {
                continue;
            }
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(order[mid].name, k->artifact) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (; lo < res->nartifacts && strcmp(order[lo].name, k->artifact) == 0; lo++) {
                res->artifacts[order[lo].i].verified = 0;
            }
        }
        free(order);
        return;
    }
    for (size_t i = 0; i < res->nartifacts; i++) {
        vr_artifact *a = &res->artifacts[i];

        for (size_t j = 0; j < res->nchecks && a->verified; j++) {
            const sign_check *k = &res->checks[j];

            if (k->status == SIGN_CHECK_FAIL && k->artifact != NULL && strcmp(k->artifact, a->name) == 0) {
                a->verified = 0;
            }
        }
    }
}

/* Append reason to a's distinct reasons. Returns 0 or SIGN_ENOMEM. */
static int artifact_add_reason(vr_artifact *a, const char *reason)
{
    const char **v;

    for (size_t m = 0; m < a->nreasons; m++) {
        if (strcmp(a->reasons[m], reason) == 0) {
            return 0;
        }
    }
    /* A handful of reasons per artifact: grow one at a time. */
    if ((v = realloc(a->reasons, (a->nreasons + 1) * sizeof(*v))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    a->reasons = v;
    a->reasons[a->nreasons++] = reason;
    return 0;
}

/*
 * Each artifact's distinct failed (or warned) reasons, in check order. A
 * default bundle's checks name its artifact too (the pipeline sets it). The
 * failed checks are looked up among the artifacts sorted by name: N log N.
 */
int vfy_artifact_reasons(sign_verify_result *res)
{
    name_ix *order = NULL;
    int r = 0;

    if (res->nartifacts == 0 || (order = calloc(res->nartifacts, sizeof(*order))) == NULL) {
        return res->nartifacts == 0 ? 0 : sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < res->nartifacts; i++) {
        order[i].name = res->artifacts[i].name != NULL ? res->artifacts[i].name : "";
        order[i].i = i;
    }
    qsort(order, res->nartifacts, sizeof(*order), cmp_name_ix);
    for (size_t j = 0; j < res->nchecks && r == 0; j++) {
        const sign_check *k = &res->checks[j];
        size_t lo = 0, hi = res->nartifacts;

        if ((k->status != SIGN_CHECK_FAIL && k->status != SIGN_CHECK_WARN) || k->artifact == NULL) {
            continue;
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (strcmp(order[mid].name, k->artifact) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (; lo < res->nartifacts && r == 0 && strcmp(order[lo].name, k->artifact) == 0; lo++) {
            r = artifact_add_reason(&res->artifacts[order[lo].i], k->reason);
        }
    }
    free(order);
    return r;
}

/*
 * The rank of a failed check. ARTIFACT_NOT_SIGNED is a consequence (of an
 * untrusted key, an expired one, a changed file) whenever another check
 * failed, so it decides only alone: last, whatever its class.
 */
static int check_rank(const sign_check *k)
{
    return strcmp(k->reason, "ARTIFACT_NOT_SIGNED") == 0 ? 99 : vfy_class_rank(k->code);
}

void vfy_decide(sign_verify_result *res, int enforce)
{
    int best = 100; /* above every rank */

    res->ok = 1;
    res->code = 0;
    res->decisive = SIZE_MAX;
    for (size_t i = 0; i < res->nchecks; i++) {
        sign_check *k = &res->checks[i];
        int rank;

        if (k->status != SIGN_CHECK_FAIL) {
            continue;
        }
        res->ok = 0;
        rank = check_rank(k);
        if (rank < best) {
            best = rank;
            res->decisive = i;
        }
    }
    if (res->decisive == SIZE_MAX) {
        return;
    }
    if (enforce) {
        res->code = res->checks[res->decisive].code;
        return;
    }
    /*
     * warn / audit: failures are reported as WARN and let through, except an
     * artifact that cannot be read at all, which nothing could use.
     */
    for (size_t i = 0; i < res->nchecks; i++) {
        sign_check *k = &res->checks[i];

        if (k->status == SIGN_CHECK_FAIL && strcmp(k->reason, "ARTIFACT_UNREADABLE") != 0) {
            k->status = SIGN_CHECK_WARN;
        }
    }
    for (size_t i = 0; i < res->nchecks; i++) {
        if (res->checks[i].status == SIGN_CHECK_FAIL) {
            res->code = res->checks[i].code;
            res->decisive = i;
            return;
        }
    }
}

/* Append src's checks to dst (moved: src is left empty). */
int vfy_move_checks(sign_verify_result *dst, sign_verify_result *src)
{
    size_t need;
    int r;

    if (!sign__add(&need, dst->nchecks, src->nchecks)) {
        return sign__oom();
    }
    if ((r = checks_reserve(dst, need)) != 0) {
        return r;
    }
    if (src->nchecks > 0) {
        memcpy(dst->checks + dst->nchecks, src->checks, src->nchecks * sizeof(*src->checks));
        memcpy(dst->facts + dst->nchecks, src->facts, src->nchecks * sizeof(*src->facts));
    }
    dst->nchecks = need;
    src->nchecks = 0; /* transferred */
    return 0;
}

/* ---- the verdict as JSON ---------------------------------------------- */

/* Paths and messages may quote file names that are not UTF-8. */
static json_t *str_or_null(const char *s)
{
    return sign__json_text(s);
}

int sign_verify_result_json(char **out, const sign_verify_result *r)
{
    size_t len = 0;
    json_t *root = NULL, *arts = NULL, *checks = NULL;
    char judged[32], polhex[2 * SIGN_SHA256_LEN + 1];
    int rc = SIGN_ENOMEM;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify_result_json: no output pointer");
    }
    *out = NULL;
    if (r == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify_result_json: no result");
    }
    if ((arts = json_array()) == NULL || (checks = json_array()) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < r->nartifacts; i++) {
        const vr_artifact *a = &r->artifacts[i];
        json_t *signers = json_array(), *reasons, *o;

        if (signers == NULL) {
            goto out;
        }
        for (size_t j = 0; j < a->nsigners; j++) {
            /* A signer is always an object: its name (policy key or certificate subject) and key id. */
            if (json_array_append_new(signers, json_pack("{s:o,s:s}", "name", str_or_null(a->signers[j]), "key_id",
                                                         a->key_ids[j])) != 0) {
                json_decref(signers);
                goto out;
            }
        }
        if ((reasons = json_array()) == NULL) {
            json_decref(signers);
            goto out;
        }
        for (size_t j = 0; j < a->nreasons; j++) {
            if (json_array_append_new(reasons, json_string(a->reasons[j])) != 0) {
                json_decref(signers);
                json_decref(reasons);
                goto out;
            }
        }
        o = json_pack("{s:o,s:o,s:o,s:b,s:o,s:o}", "name", str_or_null(a->name), "path", str_or_null(a->path),
                      "sha256", a->has_digest ? json_string(a->sha256) : json_null(), "verified", a->verified,
                      "signers", signers, "reasons", reasons);
        if (o == NULL || json_array_append_new(arts, o) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < r->nchecks; i++) {
        const sign_check *k = &r->checks[i];
        const vfacts *f = &r->facts[i];
        json_t *signer = k->signer != NULL ? json_pack("{s:o}", "name", str_or_null(k->signer)) : json_null();
        /* Structured facts besides the message: only those known for this check. */
        json_t *facts = json_pack("{s:o*,s:o*,s:o*,s:o*,s:o*}", "key_id", f->key_id ? json_string(f->key_id) : NULL,
                                  "subject", f->subject ? str_or_null(f->subject) : NULL, "expected_sha256",
                                  f->expected_sha256 ? json_string(f->expected_sha256) : NULL, "actual_sha256",
                                  f->actual_sha256 ? json_string(f->actual_sha256) : NULL, "time",
                                  f->time ? json_string(f->time) : NULL);
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "check", k->check, "status",
                              sign_check_status_name(k->status), "reason", k->reason, "artifact",
                              str_or_null(k->artifact), "bundle", str_or_null(k->bundle), "signer", signer, "message",
                              str_or_null(k->message), "facts", facts);

        if (o == NULL || json_array_append_new(checks, o) != 0) {
            goto out;
        }
    }
    if (sign_format_time(judged, sizeof(judged), r->at) != 0 ||
        sign_hex_encode(polhex, sizeof(polhex), r->policy_sha256, SIGN_SHA256_LEN) != 0) {
        rc = sign__error(SIGN_EINVAL, "sign_verify_result_json: the time judged cannot be written");
        goto out;
    }
    root =
        json_pack("{s:i,s:s,s:s,s:b,s:b,s:s,s:s,s:s,s:s,s:o,s:o}", "format_version", SIGN_VERDICT_FORMAT_VERSION,
                  "signet_version", SIGN_VERSION_STRING, "verdict", sign_verdict_name(sign_verify_result_verdict(r)),
                  "verified", r->ok, "accepted", r->code == 0, "mode", sign_policy_mode_name(r->mode), "code",
                  r->decisive != SIZE_MAX ? r->checks[r->decisive].reason : "OK", "judged_at", judged,
                  "policy_sha256", polhex, "artifacts", arts, "checks", checks);
    arts = checks = NULL; /* transferred (json_pack steals "o" even on failure) */
    if (root == NULL) {
        goto out;
    }
    if ((rc = sign__json_dump(out, &len, root, 0)) == 0 && sign__text_json_printable(out, &len) != 0) {
        free(*out);
        *out = NULL;
        rc = sign__oom();
    }
out:
    if (rc == SIGN_ENOMEM && *out == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_decref(arts);
    json_decref(checks);
    json_decref(root);
    return rc;
}
