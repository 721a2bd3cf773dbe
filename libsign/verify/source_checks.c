/*
 * The source a statement records (git provenance, libsign/git/): required and matched by the policy's
 * require.source, and checked against a clone with verify --git DIR.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "sign/log.h"
#include "sign/source.h"
#include "verify_internal.h"

static int any_glob(char *const *globs, size_t n, const char *value)
{
    for (size_t i = 0; value != NULL && i < n; i++) {
        if (fnmatch(globs[i], value, FNM_PATHNAME) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The branch or one of the tags matches a refs glob; with signed_tag, that tag must be annotated and signed. */
static int refs_allowed(const sign_policy *p, const json_t *src, int need_signed)
{
    const json_t *tags = json_object_get(src, "tags"), *t;
    size_t i;

    if (!need_signed && p->source_refs == NULL) {
        return 1;
    }
    if (!need_signed &&
        any_glob(p->source_refs, p->nsource_refs, json_string_value(json_object_get(src, "branch")))) {
        return 1;
    }
    json_array_foreach(tags, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));

        if (p->source_refs != NULL && !any_glob(p->source_refs, p->nsource_refs, name)) {
            continue;
        }
        if (!need_signed || json_is_true(json_object_get(t, "signed"))) {
            return 1;
        }
    }
    return 0;
}

/* Why a recorded source breaks require.source, in why; 0 when it does not. */
static int source_violation(char *why, size_t whysize, const sign_policy *p, const json_t *src)
{
    const char *uri = json_string_value(json_object_get(src, "uri"));

    if (p->source_repositories != NULL && !any_glob(p->source_repositories, p->nsource_repositories, uri)) {
        snprintf(why, whysize, "its repository %s is not one of require.source.repositories",
                 uri != NULL ? uri : "(none recorded)");
        return 1;
    }
    if (!refs_allowed(p, src, 0)) {
        snprintf(why, whysize, "neither its branch nor its tags match require.source.refs");
        return 1;
    }
    if (p->source_clean && !json_is_false(json_object_get(src, "dirty"))) {
        snprintf(why, whysize, "it was signed from a work tree with uncommitted changes (--allow-dirty)");
        return 1;
    }
    if (p->source_signed_tag && !refs_allowed(p, src, 1)) {
        snprintf(why, whysize, "no signed tag allowed by require.source.refs points at its commit");
        return 1;
    }
    return 0;
}

int vfy_source(vctx *c, vb *b)
{
    const json_t *src = sign__statement_source(b->st);
    const char *commit = json_string_value(json_object_get(src, "commit"));
    vwhere w = {b->for_artifact, b->path, b->signer};
    char why[512], *text = NULL;
    size_t len = 0;
    int r;

    if (!c->policy->require_source && c->git_dir == NULL) {
        return 0;
    }
    if (src == NULL) {
        return vfy_add_check(c, "source", SIGN_CHECK_FAIL, "SOURCE_MISSING", SIGN_EPOLICY, w,
                             "bundle %s: the statement records no source, which %s; sign with --git DIR", b->path,
                             c->git_dir != NULL ? "--git needs" : "the policy requires (require.source)");
    }
    if (c->policy->require_source && source_violation(why, sizeof(why), c->policy, src)) {
        return vfy_add_check(c, "source", SIGN_CHECK_FAIL, "SOURCE_NOT_ALLOWED", SIGN_EPOLICY, w,
                             "bundle %s: source commit %s is not allowed by the policy: %s", b->path,
                             commit != NULL ? commit : "?", why);
    }
    if (c->git_dir != NULL) {
        if ((r = sign__json_dump(&text, &len, src, 0)) != 0) {
            return r;
        }
        r = sign_source_check(c->git_dir, text, len);
        free(text);
        if (r == SIGN_ENOMEM) {
            return r;
        }
        if (r != 0) {
            return vfy_add_check(c, "source", SIGN_CHECK_FAIL, "SOURCE_MISMATCH", SIGN_EVERIFY, w,
                                 "bundle %s: the recorded source does not match the clone %s: %s", b->path,
                                 c->git_dir, sign_error_last());
        }
    }
    return vfy_add_check(c, "source", SIGN_CHECK_PASS, "OK", 0, w, "bundle %s: source commit %s%s%s", b->path,
                         commit != NULL ? commit : "?", c->policy->require_source ? ", allowed by the policy" : "",
                         c->git_dir != NULL ? ", present unchanged in the clone" : "");
}

int vfy_logged(vctx *c, vb *b)
{
    vwhere w = {b->for_artifact, b->path, b->signer};
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    if (c->log_dir == NULL && !c->policy->require_logged) {
        return 0;
    }
    if (c->log_dir == NULL) {
        return vfy_add_check(c, "log", SIGN_CHECK_FAIL, "LOG_ENTRY_MISSING", SIGN_EPOLICY, w,
                             "bundle %s: the policy requires every bundle to be in the signing log (require.logged); "
                             "pass the log with --log DIR",
                             b->path);
    }
    if ((r = sign__read_file(&data, &len, b->path, c->limits->json_max_bytes)) != 0) {
        return r == SIGN_ENOMEM ? r
                                : vfy_add_check(c, "log", SIGN_CHECK_FAIL, "LOG_ENTRY_MISSING", SIGN_EPOLICY, w,
                                                "bundle %s cannot be read again to look it up in the log: %s",
                                                b->path, sign_error_last());
    }
    r = sign_log_contains(c->log_dir, data, len);
    free(data);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "log", SIGN_CHECK_FAIL, "LOG_ENTRY_MISSING", SIGN_EPOLICY, w,
                             "bundle %s: %s; a signature that is not in the log was made outside the release process "
                             "(add it with signet log add, or sign with --log)",
                             b->path, sign_error_last());
    }
    return vfy_add_check(c, "log", SIGN_CHECK_PASS, "OK", 0, w, "bundle %s is in the signing log %s", b->path,
                         c->log_dir);
}
