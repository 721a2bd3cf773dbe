/* Revocation lists (signed by the policy's revocation authorities) and downgrade protection: the lists are
 * loaded and judged once per verify (trust, freshness, rollback and equivocation against the state directory),
 * then every bundle's signing key and every artifact's digest are looked up in them, and each artifact's signed
 * version is compared with the highest one verified before. See docs/revocation.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "state.h"
#include "verify_internal.h"
#include "http.h"
#include "pki.h"

/* State files in the state directory. */
#define STATE_LISTS "revocation.json"
#define STATE_VERSIONS "versions.json"
/* Largest list fetched, and the default deadline of one fetch. */
#define FETCH_MAX (16u * 1024 * 1024)
#define FETCH_TIMEOUT_MS 10000u

void vfy_revocation_free(vrev *rv)
{
    if (rv == NULL) {
        return;
    }
    for (size_t i = 0; i < rv->n; i++) {
        sign_revocation_list_free(rv->lists[i].list);
        vfy_revocation_cache_unmap(rv->lists[i].map, rv->lists[i].maplen);
    }
    free(rv->lists);
    free(rv->pending);
    memset(rv, 0, sizeof(*rv));
}

static void fmt_time(char out[32], int64_t t)
{
    if (sign_format_time(out, 32, t) != 0) {
        snprintf(out, 32, "%lld", (long long)t);
    }
}

/* ---- rollback and equivocation: the state of one list -------------------- */

typedef struct list_state {
    vctx *c;
    const char *name;
    const sign_revocation_list *list;
    const unsigned char *sha; /* of the payload */
    const unsigned char *payload;
    size_t payload_len;
    /* out */
    const char *reason; /* NULL: accepted */
    char msg[768];
    int64_t stored_version;
    int had_state;
} list_state;

/* The payload of the stored version, kept beside the state so a later version that does not chain to it can be
   checked for being a superset. */
static int stored_payload_path(char **out, const char *dir, const char *hex)
{
    char name[96];

    snprintf(name, sizeof(name), "revocation-%s.json", hex);
    *out = sign__state_path(dir, name);
    return *out != NULL ? 0 : sign__oom();
}

static int superset_of_stored(list_state *s, const char *hex, int64_t stored)
{
    sign_revocation_list *old = NULL;
    unsigned char *text = NULL;
    char *path = NULL;
    size_t len = 0;
    int r;

    if ((r = stored_payload_path(&path, s->c->state_dir, hex)) != 0) {
        return r;
    }
    r = sign__read_file(&text, &len, path, s->c->limits->json_max_bytes);
    if (r == 0) {
        r = sign_revocation_list_parse(&old, text, len, s->c->limits);
    }
    if (r != 0 && r != SIGN_ENOMEM) {
        r = sign__error_context(SIGN_EPARSE,
                                "state file %s (the stored version %lld of list \"%s\") is corrupt "
                                "or missing; fix or remove the state directory's entry for this list",
                                path, (long long)stored, s->name);
    }
    if (r == 0 && sign_revocation_list_covers(s->list, old) != 0) {
        s->reason = "REVOCATION_ROLLBACK";
        snprintf(s->msg, sizeof(s->msg),
                 "version %lld does not chain to the stored version %lld and drops revocations of it: %s",
                 (long long)sign_revocation_list_version(s->list), (long long)stored, sign_error_last());
        sign__error_clear();
    }
    sign_revocation_list_free(old);
    free(text);
    free(path);
    return r;
}

static int list_state_fn(json_t *root, int *changed, void *ud)
{
    list_state *s = ud;
    json_t *lists = json_object_get(root, "lists"), *e, *nv;
    const char *stored_hex = NULL;
    char hex[65], old_hex[65] = "", *path = NULL;
    int64_t v = sign_revocation_list_version(s->list), stored;
    const unsigned char *prev = sign_revocation_list_previous(s->list);
    unsigned char stored_sha[32];
    int r;

    sign_hex_encode(hex, sizeof(hex), s->sha, 32);
    if (lists == NULL) {
        if ((lists = json_object()) == NULL || json_object_set_new(root, "lists", lists) != 0) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
    }
    e = json_object_get(lists, s->name);
    if (!json_is_object(lists) || (e != NULL && !json_is_object(e))) {
        return sign__error(SIGN_EPARSE, "state file %s/%s: \"lists\" is not as written by signet", s->c->state_dir,
                           STATE_LISTS);
    }
    if (e != NULL) {
        json_t *jv = json_object_get(e, "version");

        stored_hex = json_string_value(json_object_get(e, "sha256"));
        if (!json_is_integer(jv) || json_integer_value(jv) < 1 || stored_hex == NULL ||
            sign_hex_decode(stored_sha, 32, stored_hex) != 0 || strlen(stored_hex) != 64) {
            return sign__error(SIGN_EPARSE, "state file %s/%s: the entry of list \"%s\" is corrupt", s->c->state_dir,
                               STATE_LISTS, s->name);
        }
        stored = json_integer_value(jv);
        snprintf(old_hex, sizeof(old_hex), "%s", stored_hex);
        s->had_state = 1;
        s->stored_version = stored;
        if (v < stored) {
            s->reason = "REVOCATION_ROLLBACK";
            snprintf(s->msg, sizeof(s->msg), "version %lld is older than version %lld seen before", (long long)v,
                     (long long)stored);
            return 0;
        }
        if (v == stored) {
            if (CRYPTO_memcmp(stored_sha, s->sha, 32) != 0) {
                s->reason = "REVOCATION_EQUIVOCATION";
                snprintf(s->msg, sizeof(s->msg),
                         "version %lld has other content than the version %lld seen before (payload sha256 %s, "
                         "stored %s): the authority signed two different lists under one version",
                         (long long)v, (long long)stored, hex, stored_hex);
            }
            return 0;
        }
        if (!(v == stored + 1 && prev != NULL && CRYPTO_memcmp(prev, stored_sha, 32) == 0) &&
            ((r = superset_of_stored(s, stored_hex, stored)) != 0 || s->reason != NULL)) {
            return r;
        }
    }
    /* Accepted and newer: record it, and keep its payload for the next superset check. */
    if (s->payload == NULL) {
        /* Taken from the cache, which only stands in for the version the state records: the state changed since. */
        return sign__error(SIGN_EIO, "state file %s/%s changed while list \"%s\" was judged; verify again",
                           s->c->state_dir, STATE_LISTS, s->name);
    }
    if ((r = stored_payload_path(&path, s->c->state_dir, hex)) != 0) {
        return r;
    }
    r = sign__write_file_atomic(path, s->payload, s->payload_len, 0600);
    free(path);
    if (r != 0) {
        return r;
    }
    if ((nv = json_pack("{s:I,s:s}", "version", (json_int_t)v, "sha256", hex)) == NULL ||
        json_object_set_new(lists, s->name, nv) != 0) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    /* stored_hex was freed with the entry it belonged to: old_hex is its copy */
    if (old_hex[0] != '\0' && strcmp(old_hex, hex) != 0 &&
        stored_payload_path(&path, s->c->state_dir, old_hex) == 0) {
        (void)remove(path); /* the older payload is no longer needed */
        free(path);
    }
    *changed = 1;
    return 0;
}

/* ---- one list ------------------------------------------------------------ */

/* Read and authenticate the list: *go_on when it could be opened (its content is then used, even if it fails a
   later check: a list from the authority only ever adds revocations). */
static int list_open(vctx *c, vrev_list *l, const char *path, sign_bundle **bundle, unsigned char sha[32],
                     size_t *which)
{
    const sign__policy_revocation *pol = l->pol;
    vwhere w = {NULL, path, pol->name};
    int r;

    r = sign_bundle_read(bundle, path, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r == SIGN_ENOTFOUND) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_MISSING", SIGN_EREVOKED, w,
                             "revocation list \"%s\": %s does not exist; the policy requires it - publish it there "
                             "(signet revoke init / renew)",
                             pol->name, path);
    }
    if (r != 0) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_MALFORMED", SIGN_EPARSE, w,
                             "revocation list \"%s\" cannot be read: %s; publish the list signet revoke wrote",
                             pol->name, sign_error_last());
    }
    r = sign_revocation_bundle_open(&l->list, sha, which, *bundle, (const sign_key *const *)pol->authorities,
                                    pol->nauthorities, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r == SIGN_EUNTRUSTED) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_UNTRUSTED", SIGN_EUNTRUSTED, w,
                             "revocation list \"%s\" (%s): %s; sign it with a key listed in the policy's "
                             "revocation[].authorities",
                             pol->name, path, sign_error_last());
    }
    if (r != 0) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_MALFORMED", SIGN_EPARSE, w,
                             "revocation list \"%s\" (%s) cannot be used: %s", pol->name, path, sign_error_last());
    }
    return 0;
}

/* Freshness as of the time judged. Returns 0 or SIGN_ENOMEM; *fresh set when it passed. */
static int list_fresh(vctx *c, const vrev_list *l, int *fresh)
{
    const sign__policy_revocation *pol = l->pol;
    vwhere w = {NULL, pol->list, pol->name};
    int64_t issued = sign_revocation_list_issued(l->list), expires = sign_revocation_list_expires(l->list);
    char ti[32], te[32], at[32];

    *fresh = 0;
    fmt_time(ti, issued);
    fmt_time(te, expires);
    fmt_time(at, c->at);
    if (expires <= c->at) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_STALE", SIGN_EEXPIRED, w,
                             "revocation list \"%s\" version %lld expired at %s (judged at %s); the authority must "
                             "publish a new version (signet revoke renew)",
                             pol->name, (long long)sign_revocation_list_version(l->list), te, at);
    }
    if (pol->has_max_age && c->at - issued > pol->max_age) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_STALE", SIGN_EEXPIRED, w,
                             "revocation list \"%s\" version %lld was issued at %s, more than max_age (%lld s) "
                             "before %s; the authority must publish a new version (signet revoke renew)",
                             pol->name, (long long)sign_revocation_list_version(l->list), ti, (long long)pol->max_age,
                             at);
    }
    if (!c->has_at && issued - VERIFY_CLOCK_SKEW > c->at) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_STALE", SIGN_EEXPIRED, w,
                             "revocation list \"%s\" version %lld claims to be issued at %s, after now (%s): the "
                             "authority's clock or this host's is wrong",
                             pol->name, (long long)sign_revocation_list_version(l->list), ti, at);
    }
    *fresh = 1;
    return 0;
}

/* Rollback and equivocation against the state directory (when there is one and the time judged is now). */
static int list_rollback(vctx *c, const vrev_list *l, const unsigned char sha[32], const sign_bundle *bundle, int *ok)
{
    const sign__policy_revocation *pol = l->pol;
    const sign_envelope *env = bundle != NULL ? sign_bundle_envelope(bundle) : NULL; /* NULL: from the cache */
    vwhere w = {NULL, pol->list, pol->name};
    list_state s;
    int r;

    *ok = 0;
    memset(&s, 0, sizeof(s));
    s.c = c;
    s.name = pol->name;
    s.list = l->list;
    s.sha = sha;
    if (env != NULL) {
        s.payload = sign_envelope_payload(env, &s.payload_len);
    }
    r = sign__state_update(c->state_dir, STATE_LISTS, list_state_fn, &s, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "revocation-state", SIGN_CHECK_FAIL, "STATE_UNUSABLE",
                             r == SIGN_EIO ? r : SIGN_EPARSE, w, "revocation list \"%s\": %s", pol->name,
                             sign_error_last());
    }
    if (s.reason != NULL) {
        return vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, s.reason, SIGN_EREVOKED, w,
                             "revocation list \"%s\" (%s): %s; publish the authority's latest list", pol->name,
                             pol->list, s.msg);
    }
    *ok = 1;
    return 0;
}

/* Key ids of the authorities of l that some authenticated list revokes (at or before l's issue time, or for
   every signature): the list is then not trusted, though its revocations still apply. */
static int authority_revoked(vctx *c, const vrev *rv, const vrev_list *l, size_t which)
{
    const sign__policy_revocation *pol = l->pol;
    char kid[SIGN_KEYID_SIZE], when[32] = "";
    int r;

    if ((r = sign_key_id(kid, sizeof(kid), pol->authorities[which])) != 0) {
        return r;
    }
    for (size_t i = 0; i < rv->n; i++) {
        sign_revoked_key k;

        if (rv->lists[i].list == NULL || !sign_revocation_list_find_key(&k, rv->lists[i].list, kid)) {
            continue;
        }
        if (k.has_effective && k.effective > sign_revocation_list_issued(l->list)) {
            continue;
        }
        if (k.has_effective) {
            fmt_time(when, k.effective);
        }
        return vfy_add_check(
            c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_LIST_UNTRUSTED", SIGN_EUNTRUSTED,
            (vwhere){NULL, pol->list, pol->name},
            "revocation list \"%s\" is signed by authority key %s, which list \"%s\" revokes (%s%s%s); "
            "its revocations still apply, but replace the authority in the policy and re-sign the "
            "list with the new one",
            pol->name, kid, rv->lists[i].pol->name, sign_revocation_reason_name(k.reason),
            k.has_effective ? " from " : ", every signature", when);
    }
    return 0;
}

/* ---- fetching (--fetch-revocation) ------------------------------------------ */

/*
 * The one place a revocation list crosses the network: GET url (http:// or https://) with libsign's HTTP client
 * (libsign/net/http.h: no redirects, no proxy), within timeout_ms, at most max bytes. why receives the cause of a
 * failure ("URL: cause"): SIGN_EVERIFY; or SIGN_ENOMEM.
 */
static int revocation_http_get(unsigned char **out, size_t *outlen, const char *url, unsigned int timeout_ms,
                               size_t max, char *why, size_t whysize)
{
    sign__http_options ho = {0};
    sign__http_response resp;
    int r;

    *out = NULL;
    *outlen = 0;
    ho.what = "revocation list";
    ho.timeout_ms = timeout_ms;
    ho.max_body = max;
    r = sign__http_request(&resp, "GET", url, NULL, 0, &ho);
    if (r == SIGN_ENOMEM) {
        goto out;
    }
    if (r != 0) {
        snprintf(why, whysize, "%s", sign_error_last());
        sign__error_clear();
        r = SIGN_EVERIFY;
        goto out;
    }
    if (resp.body == NULL || resp.body_len == 0) {
        snprintf(why, whysize, "%.300s: empty response", url);
        r = SIGN_EVERIFY;
        goto out;
    }
    *out = resp.body;
    *outlen = resp.body_len;
    resp.body = NULL; /* transferred */
out:
    sign__http_response_free(&resp);
    return r;
}

/* The bundle in data authenticated by pol's authorities: its list (version, expiry), or NULL. */
static sign_revocation_list *authentic(vctx *c, const sign__policy_revocation *pol, const void *data, size_t len)
{
    sign_revocation_list *l = NULL;
    sign_bundle *b = NULL;

    if (sign_bundle_parse(&b, data, len, c->limits) == 0 &&
        sign_revocation_bundle_open(&l, NULL, NULL, b, (const sign_key *const *)pol->authorities, pol->nauthorities,
                                    c->limits) != 0) {
        l = NULL;
    }
    sign_bundle_free(b);
    sign__error_clear();
    return l;
}

/* The cache file of a list URL: <dir>/revocation-<sha256 of the URL>.json. */
static int fetch_cache_path(char **out, const char *dir, const char *url)
{
    unsigned char d[32];
    char name[96], hex[65];
    int r;

    *out = NULL;
    if ((r = sign_digest_buffer(d, sizeof(d), NULL, SIGN_DIGEST_SHA256, url, strlen(url))) != 0) {
        return r;
    }
    sign_hex_encode(hex, sizeof(hex), d, 32);
    snprintf(name, sizeof(name), "revocation-%s.json", hex);
    *out = sign__state_path(dir, name);
    return *out != NULL ? 0 : sign__oom();
}

/*
 * --fetch-revocation for one list with a url: a cached copy still before its expires is reused; otherwise the
 * list is fetched, and used (and cached) when it is authentic and newer than the local file. A failed fetch falls
 * back to a fresh cached copy, else fails closed (REVOCATION_FETCH_FAILED). *path is the file to judge: the
 * policy's list, or the cache (malloc'd in *owned).
 */
static int list_fetch(vctx *c, const sign__policy_revocation *pol, const char **path, char **owned)
{
    sign_revocation_list *cached = NULL, *fetched = NULL, *local = NULL;
    unsigned char *data = NULL, *cdata = NULL, *ldata = NULL;
    size_t len = 0, clen = 0, llen = 0;
    char *cache = NULL, why[512] = "";
    int r = 0;

    *path = pol->list;
    *owned = NULL;
    if (c->revocation_cache_dir != NULL && (r = fetch_cache_path(&cache, c->revocation_cache_dir, pol->url)) != 0) {
        return r;
    }
    if (cache != NULL && sign__read_file(&cdata, &clen, cache, FETCH_MAX) == 0) {
        cached = authentic(c, pol, cdata, clen);
    }
    sign__error_clear();
    if (cached != NULL && sign_revocation_list_expires(cached) > c->at) {
        *path = *owned = cache; /* reused until its expires */
        cache = NULL;
        goto out;
    }
    r = revocation_http_get(&data, &len, pol->url, FETCH_TIMEOUT_MS, FETCH_MAX, why, sizeof(why));
    if (r == SIGN_ENOMEM) {
        goto out;
    }
    fetched = r == 0 ? authentic(c, pol, data, len) : NULL;
    if (r == 0 && fetched == NULL) {
        snprintf(why, sizeof(why), "the answer is not a revocation list signed by an authority of the list");
    }
    if (fetched != NULL) {
        if (sign__read_file(&ldata, &llen, pol->list, FETCH_MAX) == 0) {
            local = authentic(c, pol, ldata, llen);
        }
        sign__error_clear();
        if (local != NULL && sign_revocation_list_version(local) >= sign_revocation_list_version(fetched)) {
            r = 0; /* the local file is as new: it is judged */
            goto out;
        }
        if (cache == NULL) {
            r = vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_FETCH_FAILED", SIGN_ENETWORK,
                              (vwhere){NULL, pol->url, pol->name},
                              "revocation list \"%s\": fetched from %s, but there is no cache directory to keep it "
                              "in; give --revocation-cache DIR",
                              pol->name, pol->url);
            goto out;
        }
        if (sign__state_mkdir(c->revocation_cache_dir) != 0 || sign__write_file_atomic(cache, data, len, 0600) != 0) {
            r = vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_FETCH_FAILED", SIGN_ENETWORK,
                              (vwhere){NULL, pol->url, pol->name}, "revocation list \"%s\": cannot cache it: %s",
                              pol->name, sign_error_last());
            goto out;
        }
        *path = *owned = cache;
        cache = NULL;
        goto out;
    }
    /* The fetch failed: a cached copy still fresh stands in, else fail closed. */
    if (cached != NULL && (!pol->has_max_age || c->at - sign_revocation_list_issued(cached) <= pol->max_age) &&
        sign_revocation_list_expires(cached) > c->at) {
        *path = *owned = cache;
        cache = NULL;
        r = 0;
        goto out;
    }
    r = vfy_add_check(c, "revocation-list", SIGN_CHECK_FAIL, "REVOCATION_FETCH_FAILED", SIGN_ENETWORK,
                      (vwhere){NULL, pol->url, pol->name},
                      "revocation list \"%s\": fetching %s failed (%s) and no fresh cached copy exists; retry when "
                      "the server answers, or verify without --fetch-revocation",
                      pol->name, pol->url, why[0] != '\0' ? why : sign_error_last());
out:
    sign_revocation_list_free(cached);
    sign_revocation_list_free(fetched);
    sign_revocation_list_free(local);
    free(data);
    free(cdata);
    free(ldata);
    free(cache);
    return r;
}

/* What the first pass over the lists leaves for the second. */
typedef struct list_pass {
    sign_bundle *bundle;   /* read in full, or NULL (from the cache, or unusable) */
    unsigned char sha[32]; /* of the payload */
    size_t which;          /* the authority that signed it */
    int cached;            /* loaded from the cache */
    int cacheable;         /* read in full from a file that did not change meanwhile: ident, path */
    struct stat ident;
    char *path;
} list_pass;

/* One list: from the cache when it holds this very file's verified list, else read and authenticated in full. */
static int list_load(vctx *c, vrev_list *l, const char *path, list_pass *lp)
{
    struct stat before, after;
    int stable;
    int r = vfy_revocation_cache_load(c, l->pol, path, &l->list, lp->sha, &lp->which, &l->map, &l->maplen);

    if (r != 0 || l->list != NULL) {
        lp->cached = l->list != NULL;
        return r;
    }
    stable = c->state_dir != NULL && vfy_revocation_cache_stat(&before, path) == 0;
    if ((r = list_open(c, l, path, &lp->bundle, lp->sha, &lp->which)) != 0 || l->list == NULL) {
        return r;
    }
    if (stable && vfy_revocation_cache_stat(&after, path) == 0 && vfy_revocation_cache_same(&before, &after)) {
        if ((lp->path = sign__strdup(path)) == NULL) {
            return sign__oom();
        }
        lp->ident = before;
        lp->cacheable = 1;
    }
    return 0;
}

/* The state directory notes and every list opened: an authority revoked by any list is judged against all. */
static int lists_open(vctx *c, vrev *rv, list_pass *lp)
{
    const sign_policy *p = c->policy;
    char at[32];
    int r = 0;

    fmt_time(at, c->at);
    if (c->has_at) {
        r = vfy_add_check(c, "revocation-state", SIGN_CHECK_SKIP, "STATE_IGNORED", 0, (vwhere){NULL, NULL, NULL},
                          "revocation lists judged as of %s (--at): the stored state is ignored, neither read nor "
                          "updated, so rollback is not checked",
                          at);
    } else if (c->state_dir == NULL) {
        r = vfy_add_check(c, "revocation-state", SIGN_CHECK_SKIP, "NO_STATE", 0, (vwhere){NULL, NULL, NULL},
                          "no state directory (--state-dir none): rollback and equivocation of revocation lists "
                          "are not checked");
    }
    for (size_t i = 0; i < rv->n && r == 0; i++) {
        const char *path = p->revocation[i].list;
        char *owned = NULL;
        size_t before = c->res->nchecks;

        rv->lists[i].pol = &p->revocation[i];
        if (c->fetch && p->revocation[i].url != NULL && (r = list_fetch(c, &p->revocation[i], &path, &owned)) != 0) {
            break;
        }
        if (c->res->nchecks == before) {
            r = list_load(c, &rv->lists[i], path, &lp[i]);
        }
        free(owned);
    }
    return r;
}

/* A list that passed every check, read in full, is kept in the cache for the next verifies. */
static int list_cache(vctx *c, const vrev_list *l, const list_pass *lp)
{
    int r;

    if (!lp->cacheable || c->has_at || c->state_dir == NULL) {
        return 0;
    }
    r = vfy_revocation_cache_store(c, l->pol, lp->path, &lp->ident, l->list, lp->sha, lp->which);
    if (r != SIGN_ENOMEM) {
        r = 0; /* not cached: the next verify reads the list in full */
        sign__error_clear();
    }
    return r;
}

int vfy_revocation_lists(vctx *c, vrev *rv)
{
    const sign_policy *p = c->policy;
    list_pass *lp = NULL;
    int r = 0;

    memset(rv, 0, sizeof(*rv));
    if (p->nrevocation == 0) {
        return 0;
    }
    if ((rv->lists = calloc(p->nrevocation, sizeof(*rv->lists))) == NULL ||
        (lp = calloc(p->nrevocation, sizeof(*lp))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    rv->n = p->nrevocation;
    r = lists_open(c, rv, lp);
    for (size_t i = 0; i < rv->n && r == 0; i++) {
        vrev_list *l = &rv->lists[i];
        size_t before = c->res->nchecks;
        int fresh = 0, ok = 1;

        if (l->list == NULL) {
            continue;
        }
        if ((r = authority_revoked(c, rv, l, lp[i].which)) != 0 || (r = list_fresh(c, l, &fresh)) != 0) {
            break;
        }
        /* Only a trusted, fresh list is compared with the state and recorded: a list from a revoked authority
           must not raise the version deploy hosts expect. */
        if (fresh && c->res->nchecks == before && !c->has_at && c->state_dir != NULL &&
            (r = list_rollback(c, l, lp[i].sha, lp[i].bundle, &ok)) != 0) {
            break;
        }
        if (c->res->nchecks == before) {
            char ti[32], te[32];

            fmt_time(ti, sign_revocation_list_issued(l->list));
            fmt_time(te, sign_revocation_list_expires(l->list));
            r = vfy_add_check(
                c, "revocation-list", SIGN_CHECK_PASS, "OK", 0, (vwhere){NULL, l->pol->list, l->pol->name},
                "revocation list \"%s\" version %lld (issued %s, expires %s) is signed by its authority "
                "%zu and revokes %zu key(s) and %zu artifact(s)%s",
                l->pol->name, (long long)sign_revocation_list_version(l->list), ti, te, lp[i].which + 1,
                sign_revocation_list_key_count(l->list), sign_revocation_list_artifact_count(l->list),
                lp[i].cached ? " (its verified index from the state directory)" : "");
            if (r == 0 && ok) {
                r = list_cache(c, l, &lp[i]);
            }
        }
    }
    for (size_t i = 0; r == 0 && i < c->res->nchecks; i++) {
        rv->failed |= c->res->checks[i].status == SIGN_CHECK_FAIL;
    }
out:
    for (size_t i = 0; lp != NULL && i < p->nrevocation; i++) {
        sign_bundle_free(lp[i].bundle);
        free(lp[i].path);
    }
    free(lp);
    return r;
}

/* ---- keys ---------------------------------------------------------------- */

/* The key of b as revoked by one list: a failure, or a pass that says the signature predates the revocation. */
static int key_judged(vctx *c, vb *b, const vrev_list *l, const sign_revoked_key *k)
{
    const char *art = b->for_artifact, *why = sign_revocation_reason_name(k->reason);
    vwhere w = {art, b->path, b->signer};
    char te[32] = "", ts[32] = "";

    if (k->has_effective) {
        fmt_time(te, k->effective);
    }
    if (b->has_signing_time) {
        fmt_time(ts, b->signing_time);
    }
    if (!k->has_effective) {
        b->in_window = 0;
        return vfy_add_check(c, "revocation", SIGN_CHECK_FAIL, "KEY_REVOKED", SIGN_EREVOKED, w,
                             "bundle %s: signing key %s is revoked by list \"%s\" (%s, time of compromise unknown): "
                             "every signature by it is void, stamped or not; re-sign with a current key",
                             b->path, k->key_id, l->pol->name, why);
    }
    if (b->has_signing_time && b->signing_time < k->effective) {
        return vfy_add_check(c, "revocation", SIGN_CHECK_PASS, "SIGNED_BEFORE_REVOCATION", 0, w,
                             "bundle %s: key %s revoked at %s (%s, list \"%s\"), signature stamped at %s before it: "
                             "still valid",
                             b->path, k->key_id, te, why, l->pol->name, ts);
    }
    if (!b->has_signing_time && !c->has_at && c->at < k->effective) {
        /* The signature exists now, so it was made before a revocation that takes effect later. */
        return vfy_add_check(c, "revocation", SIGN_CHECK_PASS, "SIGNED_BEFORE_REVOCATION", 0, w,
                             "bundle %s: key %s is revoked from %s (%s, list \"%s\"), after now: this signature "
                             "already exists, so it predates the revocation",
                             b->path, k->key_id, te, why, l->pol->name);
    }
    b->in_window = 0;
    if (b->has_signing_time) {
        return vfy_add_check(c, "revocation", SIGN_CHECK_FAIL, "KEY_REVOKED", SIGN_EREVOKED, w,
                             "bundle %s: signing key %s is revoked from %s (%s, list \"%s\") and the signature was "
                             "stamped at %s, not before; re-sign with a current key",
                             b->path, k->key_id, te, why, l->pol->name, ts);
    }
    return vfy_add_check(c, "revocation", SIGN_CHECK_FAIL, "KEY_REVOKED", SIGN_EREVOKED, w,
                         "bundle %s: signing key %s is revoked from %s (%s, list \"%s\") and no trusted timestamp "
                         "proves the signature was made before; re-sign with a current key, or stamp signatures "
                         "(--tsa) so that a later revocation spares them",
                         b->path, k->key_id, te, why, l->pol->name);
}

int vfy_revocation_key(vctx *c, vb *b)
{
    char own[SIGN_KEYID_SIZE] = "";
    int r;

    if (c->rev == NULL || c->rev->n == 0) {
        return 0;
    }
    /* A certificate's key is also looked up by its own id (the policy may list the same key otherwise encoded). */
    if (b->cert_key != NULL && (r = sign_key_id(own, sizeof(own), b->cert_key)) != 0) {
        return r;
    }
    for (size_t i = 0; i < c->rev->n; i++) {
        const vrev_list *l = &c->rev->lists[i];
        sign_revoked_key k;

        if (l->list == NULL) {
            continue;
        }
        if (sign_revocation_list_find_key(&k, l->list, b->signer_id) ||
            (own[0] != '\0' && sign_revocation_list_find_key(&k, l->list, own))) {
            if ((r = key_judged(c, b, l, &k)) != 0) {
                return r;
            }
        }
    }
    return 0;
}

/* ---- artifacts and versions ---------------------------------------------- */

/* The version the covering bundles sign for this artifact (all must agree), or NULL. */
static const char *signed_version(const sign_artifact *a, const vb *bundles, const size_t *cand, size_t ncand,
                                  int *conflict)
{
    const unsigned char *dig = sign_artifact_sha256(a);
    const char *v = NULL;

    *conflict = 0;
    for (size_t i = 0; i < ncand; i++) {
        const vb *b = &bundles[cand[i]];
        const char *bv;
        int covers = 0;

        if (!b->usable || (bv = sign_statement_version(b->st)) == NULL) {
            continue;
        }
        for (size_t s = 0; s < sign_statement_subject_count(b->st) && !covers; s++) {
            const char *sname;
            const unsigned char *sdig;

            covers = sign_statement_subject(&sname, &sdig, b->st, s) == 0 &&
                     CRYPTO_memcmp(sdig, dig, SIGN_SHA256_LEN) == 0;
        }
        if (!covers) {
            continue;
        }
        if (v != NULL && strcmp(v, bv) != 0) {
            *conflict = 1;
        }
        v = bv;
    }
    return v;
}

/* The name versions are tracked under: the policy key's "track", else the artifact's name. */
static const char *track_name(const vctx *c, const sign_artifact *a, const vb *bundles, const size_t *cand,
                              size_t ncand)
{
    for (size_t i = 0; i < ncand; i++) {
        const vb *b = &bundles[cand[i]];

        if (b->usable && b->key != SIZE_MAX && c->policy->keys[b->key].track != NULL) {
            return c->policy->keys[b->key].track;
        }
    }
    return sign_artifact_name(a);
}

typedef struct version_state {
    const char *track, *version;
    char hex[2 * SIGN_SHA256_LEN + 1];
    int record; /* 1: write when higher; 0: only compare */
    /* out */
    int cmp, reused, had;
    char stored[160];
} version_state;

static int version_fn(json_t *root, int *changed, void *ud)
{
    version_state *s = ud;
    json_t *tracks = json_object_get(root, "tracks"), *e, *nv;
    const char *sv, *sd;

    s->had = 0;
    if (tracks == NULL) {
        if ((tracks = json_object()) == NULL || json_object_set_new(root, "tracks", tracks) != 0) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
    }
    e = json_object_get(tracks, s->track);
    if (!json_is_object(tracks) || (e != NULL && !json_is_object(e))) {
        return sign__error(SIGN_EPARSE, "state file %s: \"tracks\" is not as written by signet", STATE_VERSIONS);
    }
    if (e != NULL) {
        sv = json_string_value(json_object_get(e, "version"));
        sd = json_string_value(json_object_get(e, "sha256"));
        if (sv == NULL || sd == NULL || sign_version_compare(&s->cmp, s->version, sv) != 0) {
            return sign__error(SIGN_EPARSE, "state file %s: the entry of \"%s\" is corrupt", STATE_VERSIONS,
                               s->track);
        }
        s->had = 1;
        snprintf(s->stored, sizeof(s->stored), "%s", sv);
        s->reused = s->cmp == 0 && strcmp(sd, s->hex) != 0;
        if (!s->record || s->cmp <= 0) {
            return 0;
        }
    } else if (!s->record) {
        return 0;
    }
    if ((nv = json_pack("{s:s,s:s}", "version", s->version, "sha256", s->hex)) == NULL ||
        json_object_set_new(tracks, s->track, nv) != 0) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    *changed = 1;
    return 0;
}

static int check_version(vctx *c, const sign_artifact *a, const vb *bundles, const size_t *cand, size_t ncand)
{
    const char *art = sign_artifact_name(a);
    version_state s;
    int conflict = 0, r;

    memset(&s, 0, sizeof(s));
    s.version = signed_version(a, bundles, cand, ncand, &conflict);
    if (s.version == NULL || c->state_dir == NULL) {
        return 0;
    }
    if (conflict) {
        return vfy_add_check(c, "version", SIGN_CHECK_FAIL, "VERSION_REUSED", SIGN_EPOLICY, (vwhere){art, NULL, NULL},
                             "artifact %s: the bundles given sign different versions for the same bytes", art);
    }
    s.track = track_name(c, a, bundles, cand, ncand);
    vfy_hex32(s.hex, sign_artifact_sha256(a));
    r = sign__state_update(c->state_dir, STATE_VERSIONS, version_fn, &s, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "version", SIGN_CHECK_FAIL, "STATE_UNUSABLE", r == SIGN_EIO ? r : SIGN_EPARSE,
                             (vwhere){art, NULL, NULL}, "artifact %s: %s (state directory %s)", art,
                             sign_error_last(), c->state_dir);
    }
    if (s.had && s.cmp < 0) {
        return vfy_add_check(c, "version", c->allow_downgrade ? SIGN_CHECK_PASS : SIGN_CHECK_FAIL,
                             c->allow_downgrade ? "DOWNGRADE_ALLOWED" : "DOWNGRADE", SIGN_EPOLICY,
                             (vwhere){art, NULL, NULL},
                             c->allow_downgrade ? "artifact %s: version %s is lower than version %s verified before "
                                                  "under \"%s\"; accepted because --allow-downgrade was given"
                                                : "artifact %s: version %s is lower than version %s verified before "
                                                  "under \"%s\"; deploy the current version, or pass "
                                                  "--allow-downgrade to roll back on purpose",
                             art, s.version, s.stored, s.track);
    }
    if (s.had && s.reused) {
        return vfy_add_check(c, "version", SIGN_CHECK_FAIL, "VERSION_REUSED", SIGN_EPOLICY, (vwhere){art, NULL, NULL},
                             "artifact %s: version %s was verified before under \"%s\" with other bytes; a version "
                             "names one build - give the new build a new version",
                             art, s.version, s.track);
    }
    if (c->rev != NULL && (!s.had || s.cmp > 0)) {
        vrev_version *nv = realloc(c->rev->pending, (c->rev->npending + 1) * sizeof(*nv));

        if (nv == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        c->rev->pending = nv;
        nv[c->rev->npending].track = s.track;
        nv[c->rev->npending].version = s.version;
        memcpy(nv[c->rev->npending].hex, s.hex, sizeof(s.hex));
        c->rev->npending++;
    }
    return vfy_add_check(c, "version", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, NULL, NULL},
                         "artifact %s: version %s under \"%s\"%s%s", art, s.version, s.track,
                         s.had ? ", not lower than the version verified before: " : " (first seen)",
                         s.had ? s.stored : "");
}

int vfy_revocation_artifact(vctx *c, const sign_artifact *a, vr_artifact *ra, const vb *bundles, const size_t *cand,
                            size_t ncand)
{
    const char *art = sign_artifact_name(a);
    char hex[2 * SIGN_SHA256_LEN + 1];
    size_t first = c->res->nchecks;
    int r = 0;

    for (size_t i = 0; c->rev != NULL && i < c->rev->n && r == 0; i++) {
        const vrev_list *l = &c->rev->lists[i];
        sign_revoked_artifact k;

        if (l->list == NULL || !sign_revocation_list_find_artifact(&k, l->list, sign_artifact_sha256(a))) {
            continue;
        }
        vfy_hex32(hex, k.sha256);
        r = vfy_add_check(c, "revocation", SIGN_CHECK_FAIL, "ARTIFACT_REVOKED", SIGN_EREVOKED,
                          (vwhere){art, NULL, NULL},
                          "artifact %s (sha256 %s) is revoked by list \"%s\" (%s%s%s): it must not be used, whatever "
                          "signs it",
                          art, hex, l->pol->name, sign_revocation_reason_name(k.reason),
                          k.name != NULL ? ", listed as " : "", k.name != NULL ? k.name : "");
    }
    if (r == 0 && c->res->nchecks == first) {
        r = check_version(c, a, bundles, cand, ncand);
    }
    if (c->rev != NULL && c->rev->failed) {
        ra->verified = 0;
    }
    for (size_t i = first; r == 0 && i < c->res->nchecks; i++) {
        if (c->res->checks[i].status == SIGN_CHECK_FAIL) {
            ra->verified = 0;
        }
    }
    return r;
}

int vfy_revocation_record(vctx *c)
{
    int r;

    if (c->rev == NULL || c->state_dir == NULL || !c->res->ok) {
        return 0;
    }
    for (size_t i = 0; i < c->rev->npending; i++) {
        version_state s;

        memset(&s, 0, sizeof(s));
        s.track = c->rev->pending[i].track;
        s.version = c->rev->pending[i].version;
        memcpy(s.hex, c->rev->pending[i].hex, sizeof(s.hex));
        s.record = 1;
        if ((r = sign__state_update(c->state_dir, STATE_VERSIONS, version_fn, &s, c->limits)) != 0) {
            return r;
        }
    }
    return 0;
}
