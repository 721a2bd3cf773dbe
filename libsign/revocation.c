/* Signed revocation lists: the payload (strict parse, deterministic form), edits that never un-revoke, and the
 * Sigstore bundle that carries it. See docs/revocation.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sign/bundle.h"
#include "sign/digest.h"
#include "sign/encoding.h"
#include "sign/revocation.h"
#include "formats.h"

typedef struct rk {
    unsigned char id[32];
    char *key_id;
    int has_effective;
    int64_t effective;
    sign_revocation_reason reason;
    char *comment;
} rk;

typedef struct ra {
    unsigned char sha256[32];
    char *name;
    sign_revocation_reason reason;
    char *comment;
} ra;

struct sign_revocation_list {
    int64_t version, issued, expires;
    int has_previous;
    unsigned char previous[32];
    rk *keys;
    size_t nkeys, capkeys;
    ra *arts;
    size_t narts, caparts;
};

static const char *const reason_names[] = {NULL, "keyCompromise", "superseded", "cessationOfOperation", "other"};

const char *sign_revocation_reason_name(sign_revocation_reason r)
{
    return (int)r >= 1 && (int)r <= 4 ? reason_names[r] : NULL;
}

int sign_revocation_reason_from_name(sign_revocation_reason *out, const char *name)
{
    for (int i = 1; name != NULL && i <= 4; i++) {
        if (strcmp(name, reason_names[i]) == 0) {
            *out = (sign_revocation_reason)i;
            return 0;
        }
    }
    return sign__error(
        SIGN_EINVAL, "revocation reason \"%s\" is not one of keyCompromise, superseded, cessationOfOperation, other",
        name != NULL ? name : "");
}

void sign_revocation_list_free(sign_revocation_list *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->nkeys; i++) {
        free(l->keys[i].key_id);
        free(l->keys[i].comment);
    }
    for (size_t i = 0; i < l->narts; i++) {
        free(l->arts[i].name);
        free(l->arts[i].comment);
    }
    free(l->keys);
    free(l->arts);
    free(l);
}

static int check_times(int64_t issued, int64_t expires)
{
    if (issued <= 0 || expires <= issued) {
        return sign__error(SIGN_EINVAL, "revocation list: expires must be after issued");
    }
    return 0;
}

int sign_revocation_list_new(sign_revocation_list **out, int64_t issued, int64_t expires)
{
    sign_revocation_list *l;
    int r;

    *out = NULL;
    if ((r = check_times(issued, expires)) != 0) {
        return r;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    l->version = 1;
    l->issued = issued;
    l->expires = expires;
    *out = l;
    return 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    size_t ncap, bytes;
    void *p;

    if (n < *cap) {
        return 0;
    }
    ncap = *cap ? *cap * 2 : 16;
    if (!sign__mul(&bytes, ncap, elem) || (p = realloc(*v, bytes)) == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN_ENOMEM;
    }
    *v = p;
    *cap = ncap;
    return 0;
}

static int dup_opt(char **out, const char *s)
{
    *out = NULL;
    if (s != NULL && (*out = sign__strdup(s)) == NULL) {
        return sign__oom();
    }
    return 0;
}

int sign_revocation_list_next(sign_revocation_list **out, const sign_revocation_list *prev,
                              const unsigned char prev_payload_sha256[32], int64_t issued, int64_t expires)
{
    sign_revocation_list *l = NULL;
    int r;

    *out = NULL;
    if (prev->version >= SIGN_REVOCATION_MAX_VERSION) {
        return sign__error(SIGN_ELIMIT, "revocation list: version %lld is the last one", (long long)prev->version);
    }
    if ((r = sign_revocation_list_new(&l, issued, expires)) != 0 || l == NULL) {
        return r != 0 ? r : sign__oom();
    }
    l->version = prev->version + 1;
    l->has_previous = 1;
    memcpy(l->previous, prev_payload_sha256, 32);
    if ((prev->nkeys > 0 && (l->keys = calloc(prev->nkeys, sizeof(*l->keys))) == NULL) ||
        (prev->narts > 0 && (l->arts = calloc(prev->narts, sizeof(*l->arts))) == NULL)) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    l->capkeys = prev->nkeys;
    l->caparts = prev->narts;
    for (size_t i = 0; i < prev->nkeys; i++, l->nkeys++) {
        l->keys[i] = prev->keys[i];
        l->keys[i].key_id = l->keys[i].comment = NULL;
        if ((r = dup_opt(&l->keys[i].key_id, prev->keys[i].key_id)) != 0 ||
            (r = dup_opt(&l->keys[i].comment, prev->keys[i].comment)) != 0) {
            l->nkeys++;
            goto out;
        }
    }
    for (size_t i = 0; i < prev->narts; i++, l->narts++) {
        l->arts[i] = prev->arts[i];
        l->arts[i].name = l->arts[i].comment = NULL;
        if ((r = dup_opt(&l->arts[i].name, prev->arts[i].name)) != 0 ||
            (r = dup_opt(&l->arts[i].comment, prev->arts[i].comment)) != 0) {
            l->narts++;
            goto out;
        }
    }
    *out = l;
    l = NULL; /* transferred */
    r = 0;
out:
    sign_revocation_list_free(l);
    return r;
}

/* ---- lookups (entries sorted by key hash / digest) ---------------------- */

static size_t key_lower(const sign_revocation_list *l, const unsigned char id[32])
{
    size_t lo = 0, hi = l->nkeys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (memcmp(l->keys[mid].id, id, 32) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static size_t art_lower(const sign_revocation_list *l, const unsigned char d[32])
{
    size_t lo = 0, hi = l->narts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (memcmp(l->arts[mid].sha256, d, 32) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Decode a key id (base64 of 32 bytes, standard or URL-safe) into id. */
static int keyid_decode(unsigned char id[32], const char *key_id)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    int r;

    if (key_id == NULL || strlen(key_id) > 64) {
        return sign__error(SIGN_EPARSE, "key id is not base64 of a SHA-256");
    }
    r = sign__b64_decode(&raw, &n, key_id, strlen(key_id));
    if (r == 0 && n != 32) {
        r = SIGN_EPARSE;
    }
    if (r == 0) {
        memcpy(id, raw, 32);
    }
    free(raw);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    return r != 0 ? sign__error(SIGN_EPARSE, "key id \"%.64s\" is not base64 of a SHA-256", key_id) : 0;
}

static void key_out(sign_revoked_key *out, const rk *k)
{
    out->key_id = k->key_id;
    memcpy(out->key_sha256, k->id, 32);
    out->has_effective = k->has_effective;
    out->effective = k->effective;
    out->reason = k->reason;
    out->comment = k->comment;
}

static void art_out(sign_revoked_artifact *out, const ra *a)
{
    memcpy(out->sha256, a->sha256, 32);
    out->name = a->name;
    out->reason = a->reason;
    out->comment = a->comment;
}

int sign_revocation_list_find_key(sign_revoked_key *out, const sign_revocation_list *l, const char *key_id)
{
    unsigned char id[32];
    size_t i;

    if (l == NULL || key_id == NULL || keyid_decode(id, key_id) != 0) {
        sign__error_clear();
        return 0;
    }
    i = key_lower(l, id);
    if (i < l->nkeys && CRYPTO_memcmp(l->keys[i].id, id, 32) == 0) {
        if (out != NULL) {
            key_out(out, &l->keys[i]);
        }
        return 1;
    }
    return 0;
}

int sign_revocation_list_find_artifact(sign_revoked_artifact *out, const sign_revocation_list *l,
                                       const unsigned char sha256[32])
{
    size_t i;

    if (l == NULL || sha256 == NULL) {
        return 0;
    }
    i = art_lower(l, sha256);
    if (i < l->narts && CRYPTO_memcmp(l->arts[i].sha256, sha256, 32) == 0) {
        if (out != NULL) {
            art_out(out, &l->arts[i]);
        }
        return 1;
    }
    return 0;
}

int64_t sign_revocation_list_version(const sign_revocation_list *l)
{
    return l->version;
}

int64_t sign_revocation_list_issued(const sign_revocation_list *l)
{
    return l->issued;
}

int64_t sign_revocation_list_expires(const sign_revocation_list *l)
{
    return l->expires;
}

const unsigned char *sign_revocation_list_previous(const sign_revocation_list *l)
{
    return l->has_previous ? l->previous : NULL;
}

size_t sign_revocation_list_key_count(const sign_revocation_list *l)
{
    return l->nkeys;
}

size_t sign_revocation_list_artifact_count(const sign_revocation_list *l)
{
    return l->narts;
}

int sign_revocation_list_key(sign_revoked_key *out, const sign_revocation_list *l, size_t i)
{
    if (l == NULL || i >= l->nkeys) {
        return sign__error(SIGN_EINVAL, "revocation list: no key %zu", i);
    }
    key_out(out, &l->keys[i]);
    return 0;
}

int sign_revocation_list_artifact(sign_revoked_artifact *out, const sign_revocation_list *l, size_t i)
{
    if (l == NULL || i >= l->narts) {
        return sign__error(SIGN_EINVAL, "revocation list: no artifact %zu", i);
    }
    art_out(out, &l->arts[i]);
    return 0;
}

/* ---- edits ---------------------------------------------------------------- */

static int check_text(const char *s, const char *what)
{
    if (s != NULL && strlen(s) > SIGN_REVOCATION_MAX_TEXT) {
        return sign__error(SIGN_ELIMIT, "revocation list: %s longer than %u bytes", what, SIGN_REVOCATION_MAX_TEXT);
    }
    return 0;
}

int sign_revocation_list_add_key(sign_revocation_list *l, int *changed, const char *key_id, int has_effective,
                                 int64_t effective, sign_revocation_reason reason, const char *comment)
{
    unsigned char id[32];
    char *b64 = NULL, *cm = NULL, when[32] = "";
    size_t i;
    int r;

    *changed = 0;
    if (sign_revocation_reason_name(reason) == NULL) {
        return sign__error(SIGN_EINVAL, "revocation list: unknown reason %d", (int)reason);
    }
    if (!has_effective && reason != SIGN_REVOKE_KEY_COMPROMISE) {
        return sign__error(SIGN_EINVAL, "revocation list: only keyCompromise may leave the effective time out");
    }
    if ((r = keyid_decode(id, key_id)) != 0 || (r = check_text(comment, "comment")) != 0) {
        return r;
    }
    i = key_lower(l, id);
    if (i < l->nkeys && memcmp(l->keys[i].id, id, 32) == 0) {
        rk *k = &l->keys[i];

        if (k->has_effective && has_effective && effective == k->effective) {
            return 0;
        }
        if (!k->has_effective || (has_effective && effective > k->effective)) {
            if (k->has_effective) {
                sign_format_time(when, sizeof(when), k->effective);
            }
            return sign__error(SIGN_EINVAL,
                               "key %s is already revoked %s%s; a list never moves an effective time later (give "
                               "the same or an earlier time)",
                               k->key_id, k->has_effective ? "from " : "for every signature (keyCompromise",
                               k->has_effective ? when : ")");
        }
        k->has_effective = has_effective;
        k->effective = has_effective ? effective : 0;
        k->reason = reason;
        *changed = 1;
        return 0;
    }
    if (l->nkeys >= SIGN_REVOCATION_MAX_ENTRIES) {
        return sign__error(SIGN_ELIMIT, "revocation list: more than %u keys", SIGN_REVOCATION_MAX_ENTRIES);
    }
    if ((r = sign__b64_encode(&b64, id, 32)) != 0 || (r = dup_opt(&cm, comment)) != 0 ||
        (r = grow((void **)&l->keys, &l->capkeys, l->nkeys, sizeof(*l->keys))) != 0) {
        free(b64);
        free(cm);
        return r;
    }
    memmove(&l->keys[i + 1], &l->keys[i], (l->nkeys - i) * sizeof(*l->keys));
    memcpy(l->keys[i].id, id, 32);
    l->keys[i].key_id = b64;
    l->keys[i].has_effective = has_effective;
    l->keys[i].effective = has_effective ? effective : 0;
    l->keys[i].reason = reason;
    l->keys[i].comment = cm;
    l->nkeys++;
    *changed = 1;
    return 0;
}

int sign_revocation_list_add_artifact(sign_revocation_list *l, int *changed, const unsigned char sha256[32],
                                      const char *name, sign_revocation_reason reason, const char *comment)
{
    char *nm = NULL, *cm = NULL;
    size_t i;
    int r;

    *changed = 0;
    if (sign_revocation_reason_name(reason) == NULL) {
        return sign__error(SIGN_EINVAL, "revocation list: unknown reason %d", (int)reason);
    }
    if ((r = check_text(name, "artifact name")) != 0 || (r = check_text(comment, "comment")) != 0) {
        return r;
    }
    i = art_lower(l, sha256);
    if (i < l->narts && memcmp(l->arts[i].sha256, sha256, 32) == 0) {
        return 0;
    }
    if (l->narts >= SIGN_REVOCATION_MAX_ENTRIES) {
        return sign__error(SIGN_ELIMIT, "revocation list: more than %u artifacts", SIGN_REVOCATION_MAX_ENTRIES);
    }
    if ((r = dup_opt(&nm, name)) != 0 || (r = dup_opt(&cm, comment)) != 0 ||
        (r = grow((void **)&l->arts, &l->caparts, l->narts, sizeof(*l->arts))) != 0) {
        free(nm);
        free(cm);
        return r;
    }
    memmove(&l->arts[i + 1], &l->arts[i], (l->narts - i) * sizeof(*l->arts));
    memcpy(l->arts[i].sha256, sha256, 32);
    l->arts[i].name = nm;
    l->arts[i].reason = reason;
    l->arts[i].comment = cm;
    l->narts++;
    *changed = 1;
    return 0;
}

int sign_revocation_list_covers(const sign_revocation_list *newer, const sign_revocation_list *older)
{
    char hex[65], a[32] = "", b[32] = "";

    for (size_t i = 0; i < older->nkeys; i++) {
        const rk *o = &older->keys[i];
        size_t j = key_lower(newer, o->id);
        const rk *n = j < newer->nkeys && memcmp(newer->keys[j].id, o->id, 32) == 0 ? &newer->keys[j] : NULL;

        if (n == NULL) {
            return sign__error(SIGN_EVERIFY, "key %s, revoked in version %lld, is not revoked in version %lld",
                               o->key_id, (long long)older->version, (long long)newer->version);
        }
        if (n->has_effective && (!o->has_effective || n->effective > o->effective)) {
            sign_format_time(a, sizeof(a), n->effective);
            if (o->has_effective) {
                sign_format_time(b, sizeof(b), o->effective);
            }
            return sign__error(SIGN_EVERIFY,
                               "key %s: version %lld moves its effective time later (to %s, from %s in version %lld)",
                               o->key_id, (long long)newer->version, a, o->has_effective ? b : "every signature",
                               (long long)older->version);
        }
    }
    for (size_t i = 0; i < older->narts; i++) {
        if (!sign_revocation_list_find_artifact(NULL, newer, older->arts[i].sha256)) {
            sign_hex_encode(hex, sizeof(hex), older->arts[i].sha256, 32);
            return sign__error(SIGN_EVERIFY,
                               "artifact sha256:%s, revoked in version %lld, is not revoked in version %lld", hex,
                               (long long)older->version, (long long)newer->version);
        }
    }
    return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *time_json(int64_t t)
{
    char buf[32];

    if (sign_format_time(buf, sizeof(buf), t) != 0) {
        return NULL;
    }
    return json_string(buf);
}

static int set_new(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) != 0 ? -1 : 0;
}

static json_t *key_json(const rk *k)
{
    json_t *o = json_object();

    if (o == NULL || set_new(o, "key_id", json_string(k->key_id)) != 0 ||
        set_new(o, "reason", json_string(reason_names[k->reason])) != 0 ||
        (k->has_effective && set_new(o, "effective", time_json(k->effective)) != 0) ||
        (k->comment != NULL && set_new(o, "comment", sign__json_text(k->comment)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *art_json(const ra *a)
{
    char hex[65];
    json_t *o = json_object();

    sign_hex_encode(hex, sizeof(hex), a->sha256, 32);
    if (o == NULL || set_new(o, "digest", json_pack("{s:s}", "sha256", hex)) != 0 ||
        set_new(o, "reason", json_string(reason_names[a->reason])) != 0 ||
        (a->name != NULL && set_new(o, "name", sign__json_text(a->name)) != 0) ||
        (a->comment != NULL && set_new(o, "comment", sign__json_text(a->comment)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sign_revocation_list_serialize(char **out, size_t *outlen, const sign_revocation_list *l)
{
    json_t *root = json_object(), *keys = json_array(), *arts = json_array();
    char hex[65];
    int r = SIGN_ENOMEM;

    *out = NULL;
    if (root == NULL || keys == NULL || arts == NULL) {
        goto out;
    }
    for (size_t i = 0; i < l->nkeys; i++) {
        if (json_array_append_new(keys, key_json(&l->keys[i])) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < l->narts; i++) {
        if (json_array_append_new(arts, art_json(&l->arts[i])) != 0) {
            goto out;
        }
    }
    if (l->has_previous) {
        sign_hex_encode(hex, sizeof(hex), l->previous, 32);
    }
    if (set_new(root, "version", json_integer(l->version)) != 0 || set_new(root, "issued", time_json(l->issued)) ||
        set_new(root, "expires", time_json(l->expires)) != 0 ||
        (l->has_previous && set_new(root, "previous", json_string(hex)) != 0) ||
        json_object_set(root, "keys", keys) != 0 || json_object_set(root, "artifacts", arts) != 0) {
        goto out;
    }
    r = sign__json_dump(out, outlen, root, 0);
out:
    if (r == SIGN_ENOMEM && *out == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_decref(keys);
    json_decref(arts);
    json_decref(root);
    return r;
}

/* ---- strict parse ---------------------------------------------------------- */

static int get_time_field(int64_t *out, int *has, const json_t *obj, const char *key, int required, const char *what)
{
    const char *s;
    int r;

    if (has != NULL) {
        *has = 0;
    }
    if ((r = sign__json_get_string(&s, obj, key, required, what)) != 0) {
        return r;
    }
    if (s == NULL) {
        return 0;
    }
    if (sign_parse_time(out, s) != 0 || *out <= 0) {
        return sign__error(SIGN_EPARSE, "%s: %s \"%.40s\" is not an RFC 3339 UTC time after 1970", what, key, s);
    }
    if (has != NULL) {
        *has = 1;
    }
    return 0;
}

static int get_reason(sign_revocation_reason *out, const json_t *obj, const char *what)
{
    const char *s;
    int r;

    if ((r = sign__json_get_string(&s, obj, "reason", 1, what)) != 0) {
        return r;
    }
    if (sign_revocation_reason_from_name(out, s) != 0) {
        return sign__error(
            SIGN_EPARSE, "%s: reason \"%.40s\" is not one of keyCompromise, superseded, cessationOfOperation, other",
            what, s);
    }
    return 0;
}

static int get_text(const char **out, const json_t *obj, const char *key, const char *what)
{
    int r = sign__json_get_string(out, obj, key, 0, what);

    if (r == 0 && *out != NULL && strlen(*out) > SIGN_REVOCATION_MAX_TEXT) {
        return sign__error(SIGN_ELIMIT, "%s: %s longer than %u bytes", what, key, SIGN_REVOCATION_MAX_TEXT);
    }
    return r;
}

static int parse_key_entry(sign_revocation_list *l, const json_t *e, size_t i)
{
    static const char *const allowed[] = {"key_id", "effective", "reason", "comment", NULL};
    char what[64];
    const char *id, *comment;
    sign_revocation_reason reason = SIGN_REVOKE_OTHER;
    int64_t eff = 0;
    int has = 0, r;
    rk *k;

    snprintf(what, sizeof(what), "revocation list: keys[%zu]", i);
    if (!json_is_object(e)) {
        return sign__error(SIGN_EPARSE, "%s must be an object", what);
    }
    if ((r = sign__json_only_keys(e, allowed, what)) != 0 ||
        (r = sign__json_get_string(&id, e, "key_id", 1, what)) != 0 || (r = get_reason(&reason, e, what)) != 0 ||
        (r = get_time_field(&eff, &has, e, "effective", 0, what)) != 0 ||
        (r = get_text(&comment, e, "comment", what)) != 0) {
        return r;
    }
    if (!has && reason != SIGN_REVOKE_KEY_COMPROMISE) {
        return sign__error(SIGN_EPARSE, "%s: effective is required unless the reason is keyCompromise", what);
    }
    if ((r = grow((void **)&l->keys, &l->capkeys, l->nkeys, sizeof(*l->keys))) != 0) {
        return r;
    }
    k = &l->keys[l->nkeys];
    memset(k, 0, sizeof(*k));
    if ((r = keyid_decode(k->id, id)) != 0) {
        return sign__error_context(r, "%s", what);
    }
    if ((r = sign__b64_encode(&k->key_id, k->id, 32)) != 0 || (r = dup_opt(&k->comment, comment)) != 0) {
        free(k->key_id);
        return r;
    }
    k->has_effective = has;
    k->effective = eff;
    k->reason = reason;
    l->nkeys++;
    return 0;
}

static int parse_art_entry(sign_revocation_list *l, const json_t *e, size_t i)
{
    static const char *const allowed[] = {"digest", "name", "reason", "comment", NULL};
    static const char *const dallowed[] = {"sha256", NULL};
    char what[64];
    const char *name, *comment, *hex;
    const json_t *d;
    unsigned char sha[32];
    sign_revocation_reason reason = SIGN_REVOKE_OTHER;
    ra *a;
    int r;

    snprintf(what, sizeof(what), "revocation list: artifacts[%zu]", i);
    if (!json_is_object(e)) {
        return sign__error(SIGN_EPARSE, "%s must be an object", what);
    }
    if ((r = sign__json_only_keys(e, allowed, what)) != 0 || (r = get_reason(&reason, e, what)) != 0 ||
        (r = get_text(&name, e, "name", what)) != 0 || (r = get_text(&comment, e, "comment", what)) != 0) {
        return r;
    }
    d = json_object_get(e, "digest");
    if (!json_is_object(d)) {
        return sign__error(SIGN_EPARSE, "%s: digest must be an object {\"sha256\": HEX}", what);
    }
    if ((r = sign__json_only_keys(d, dallowed, what)) != 0 ||
        (r = sign__json_get_string(&hex, d, "sha256", 1, what)) != 0) {
        return r;
    }
    if (strlen(hex) != 64 || sign_hex_decode(sha, sizeof(sha), hex) != 0) {
        return sign__error(SIGN_EPARSE, "%s: digest.sha256 must be 64 hex digits", what);
    }
    if ((r = grow((void **)&l->arts, &l->caparts, l->narts, sizeof(*l->arts))) != 0) {
        return r;
    }
    a = &l->arts[l->narts];
    memset(a, 0, sizeof(*a));
    memcpy(a->sha256, sha, 32);
    if ((r = dup_opt(&a->name, name)) != 0 || (r = dup_opt(&a->comment, comment)) != 0) {
        free(a->name);
        return r;
    }
    a->reason = reason;
    l->narts++;
    return 0;
}

static int cmp_rk(const void *a, const void *b)
{
    return memcmp(((const rk *)a)->id, ((const rk *)b)->id, 32);
}

static int cmp_ra(const void *a, const void *b)
{
    return memcmp(((const ra *)a)->sha256, ((const ra *)b)->sha256, 32);
}

/* Entries are kept sorted for lookups (N log N to load); a key or digest listed twice is refused. */
static int sort_entries(sign_revocation_list *l)
{
    char hex[65];

    if (l->nkeys > 1) {
        qsort(l->keys, l->nkeys, sizeof(*l->keys), cmp_rk);
    }
    if (l->narts > 1) {
        qsort(l->arts, l->narts, sizeof(*l->arts), cmp_ra);
    }
    for (size_t i = 1; i < l->nkeys; i++) {
        if (memcmp(l->keys[i - 1].id, l->keys[i].id, 32) == 0) {
            return sign__error(SIGN_EPARSE, "revocation list: key %s is listed twice", l->keys[i].key_id);
        }
    }
    for (size_t i = 1; i < l->narts; i++) {
        if (memcmp(l->arts[i - 1].sha256, l->arts[i].sha256, 32) == 0) {
            sign_hex_encode(hex, sizeof(hex), l->arts[i].sha256, 32);
            return sign__error(SIGN_EPARSE, "revocation list: artifact sha256:%s is listed twice", hex);
        }
    }
    return 0;
}

static int parse_header(sign_revocation_list *l, const json_t *root)
{
    static const char *const allowed[] = {"version", "issued", "expires", "previous", "keys", "artifacts", NULL};
    const char *what = "revocation list", *prev;
    const json_t *v = json_object_get(root, "version");
    int r;

    if (!json_is_object(root)) {
        return sign__error(SIGN_EPARSE, "%s: must be a JSON object", what);
    }
    if ((r = sign__json_only_keys(root, allowed, what)) != 0) {
        return r;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SIGN_REVOCATION_MAX_VERSION) {
        return sign__error(SIGN_EPARSE, "%s: version must be an integer from 1 to %lld", what,
                           (long long)SIGN_REVOCATION_MAX_VERSION);
    }
    l->version = json_integer_value(v);
    if ((r = get_time_field(&l->issued, NULL, root, "issued", 1, what)) != 0 ||
        (r = get_time_field(&l->expires, NULL, root, "expires", 1, what)) != 0 ||
        (r = sign__json_get_string(&prev, root, "previous", 0, what)) != 0) {
        return r;
    }
    if (l->expires <= l->issued) {
        return sign__error(SIGN_EPARSE, "%s: expires must be after issued", what);
    }
    if ((prev != NULL) != (l->version > 1)) {
        return sign__error(SIGN_EPARSE, "%s: %s", what,
                           prev != NULL ? "version 1 has no previous" : "a version after 1 needs previous");
    }
    if (prev != NULL) {
        if (strlen(prev) != 64 || sign_hex_decode(l->previous, sizeof(l->previous), prev) != 0) {
            return sign__error(SIGN_EPARSE, "%s: previous must be 64 hex digits (SHA-256)", what);
        }
        l->has_previous = 1;
    }
    return 0;
}

static int entries(const json_t *root, const char *key, const json_t **out)
{
    *out = json_object_get(root, key);
    if (*out == NULL || !json_is_array(*out)) {
        return sign__error(SIGN_EPARSE, "revocation list: %s must be an array", key);
    }
    if (json_array_size(*out) > SIGN_REVOCATION_MAX_ENTRIES) {
        return sign__error(SIGN_ELIMIT, "revocation list: more than %u %s", SIGN_REVOCATION_MAX_ENTRIES, key);
    }
    return 0;
}

int sign_revocation_list_parse(sign_revocation_list **out, const void *data, size_t len, const sign_limits *limits)
{
    sign_revocation_list *l = NULL;
    json_t *root = NULL;
    const json_t *keys, *arts, *e;
    size_t i;
    int r;

    *out = NULL;
    if (data == NULL) {
        return sign__error(SIGN_EINVAL, "revocation list: no data");
    }
    if ((r = sign__json_parse(&root, data, len, limits, "revocation list")) != 0) {
        return r;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = parse_header(l, root)) != 0 || (r = entries(root, "keys", &keys)) != 0 ||
        (r = entries(root, "artifacts", &arts)) != 0) {
        goto out;
    }
    json_array_foreach(keys, i, e)
    {
        if ((r = parse_key_entry(l, e, i)) != 0) {
            goto out;
        }
    }
    json_array_foreach(arts, i, e)
    {
        if ((r = parse_art_entry(l, e, i)) != 0) {
            goto out;
        }
    }
    if ((r = sort_entries(l)) != 0) {
        goto out;
    }
    *out = l;
    l = NULL; /* transferred */
    r = 0;
out:
    sign_revocation_list_free(l);
    json_decref(root);
    return r;
}

/* ---- the bundle ------------------------------------------------------------ */

int sign_revocation_list_sign(sign_bundle **out, const sign_revocation_list *l, const sign_key *authority)
{
    sign_envelope *env = NULL;
    char *payload = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign_revocation_list_serialize(&payload, &len, l)) != 0 ||
        (r = sign_envelope_new(&env, SIGN_REVOCATION_PAYLOAD_TYPE, payload, len)) != 0 ||
        (r = sign_envelope_sign(env, authority)) != 0 || (r = sign_bundle_new(out, env, authority)) != 0) {
        goto out;
    }
    env = NULL; /* transferred */
out:
    sign_envelope_free(env);
    free(payload);
    return r;
}

int sign_revocation_bundle_open(sign_revocation_list **out, unsigned char payload_sha256[32], size_t *which,
                                const sign_bundle *b, const sign_key *const *authorities, size_t nauth,
                                const sign_limits *limits)
{
    const sign_envelope *env;
    const unsigned char *payload;
    const char *type;
    size_t len = 0, found = SIZE_MAX;
    int r;

    *out = NULL;
    if (which != NULL) {
        *which = SIZE_MAX;
    }
    if (b == NULL || (nauth > 0 && authorities == NULL)) {
        return sign__error(SIGN_EINVAL, "revocation list: no bundle or authorities");
    }
    env = sign_bundle_envelope(b);
    type = sign_envelope_payload_type(env);
    if (type == NULL || strcmp(type, SIGN_REVOCATION_PAYLOAD_TYPE) != 0) {
        return sign__error(SIGN_EVERIFY, "payloadType is \"%.80s\", not \"%s\": not a revocation list",
                           type != NULL ? type : "", SIGN_REVOCATION_PAYLOAD_TYPE);
    }
    if (sign_envelope_signature_count(env) != 1) {
        return sign__error(SIGN_EPARSE, "a revocation list carries exactly one signature, not %zu",
                           sign_envelope_signature_count(env));
    }
    for (size_t i = 0; i < nauth; i++) {
        if (authorities[i] != NULL && sign_envelope_verify(env, 0, authorities[i]) == 0) {
            found = i;
            break;
        }
    }
    sign__error_clear();
    if (nauth > 0 && found == SIZE_MAX) {
        return sign__error(SIGN_EUNTRUSTED, "the list is not signed by any of its %zu authorit%s", nauth,
                           nauth == 1 ? "y" : "ies");
    }
    payload = sign_envelope_payload(env, &len);
    if ((r = sign_revocation_list_parse(out, payload, len, limits)) != 0) {
        return r;
    }
    if (payload_sha256 != NULL &&
        (r = sign_digest_buffer(payload_sha256, 32, NULL, SIGN_DIGEST_SHA256, payload, len)) != 0) {
        sign_revocation_list_free(*out);
        *out = NULL;
        return r;
    }
    if (which != NULL) {
        *which = found;
    }
    return 0;
}
