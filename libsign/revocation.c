/* Signed revocation lists: the payload (strict parse, deterministic form), edits that never un-revoke, and the
 * Sigstore bundle that carries it. See docs/revocation.md. */
#include <endian.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
    int borrowed; /* key_id and comment point into the list's blob (loaded from an index), not malloc'd */
} rk;

typedef struct ra {
    unsigned char sha256[32];
    char *name;
    sign_revocation_reason reason;
    char *comment;
    int borrowed; /* name and comment point into the list's blob */
} ra;

struct sign_revocation_list {
    int64_t version, issued, expires;
    int has_previous;
    unsigned char previous[32];
    rk *keys;
    size_t nkeys, capkeys;
    ra *arts;
    size_t narts, caparts;
    /*
     * A list read from a binary index (sign__revocation_index_read) is looked up in the index's bytes, which are
     * the caller's: indexed is set, keys/arts stay empty and ix_* describe the records. Such a list is read-only.
     */
    int indexed;
    const unsigned char *ix_keys, *ix_arts;
    const char *ix_text;
    size_t ix_nkeys, ix_narts, ix_ntext;
    pthread_mutex_t ix_lock; /* ix_ids: the key id strings handed out by lookups (owned by the list) */
    char **ix_ids;
    size_t ix_nids;
};

/* Lookups and entries of an indexed list (the index section, at the end). */
static int ix_find_key(sign_revoked_key *out, const sign_revocation_list *l, const unsigned char id[32]);
static int ix_find_art(sign_revoked_artifact *out, const sign_revocation_list *l, const unsigned char d[32]);
static int ix_key_at(sign_revoked_key *out, const sign_revocation_list *l, size_t i, char kid[48]);
static void ix_art_at(sign_revoked_artifact *out, const sign_revocation_list *l, size_t i);
static int not_indexed(const sign_revocation_list *l);

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
        if (!l->keys[i].borrowed) {
            free(l->keys[i].key_id);
            free(l->keys[i].comment);
        }
    }
    for (size_t i = 0; i < l->narts; i++) {
        if (!l->arts[i].borrowed) {
            free(l->arts[i].name);
            free(l->arts[i].comment);
        }
    }
    free(l->keys);
    free(l->arts);
    if (l->indexed) {
        for (size_t i = 0; i < l->ix_nids; i++) {
            free(l->ix_ids[i]);
        }
        free(l->ix_ids);
        pthread_mutex_destroy(&l->ix_lock);
    }
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
    if ((r = not_indexed(prev)) != 0) {
        return r;
    }
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
        l->keys[i].borrowed = 0;
        if ((r = dup_opt(&l->keys[i].key_id, prev->keys[i].key_id)) != 0 ||
            (r = dup_opt(&l->keys[i].comment, prev->keys[i].comment)) != 0) {
            l->nkeys++;
            goto out;
        }
    }
    for (size_t i = 0; i < prev->narts; i++, l->narts++) {
        l->arts[i] = prev->arts[i];
        l->arts[i].name = l->arts[i].comment = NULL;
        l->arts[i].borrowed = 0;
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

/*
 * The first of n entries (stride bytes apart, each with its 32-byte sort key at offset off) whose key is not
 * below k: the insertion point of k, and where an equal entry is when there is one.
 */
static size_t lower_32(const void *base, size_t n, size_t stride, size_t off, const unsigned char k[32])
{
    const unsigned char *b = base;
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (memcmp(b + mid * stride + off, k, 32) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static size_t key_lower(const sign_revocation_list *l, const unsigned char id[32])
{
    return lower_32(l->keys, l->nkeys, sizeof(*l->keys), offsetof(rk, id), id);
}

static size_t art_lower(const sign_revocation_list *l, const unsigned char d[32])
{
    return lower_32(l->arts, l->narts, sizeof(*l->arts), offsetof(ra, sha256), d);
}

/* Decode a key id (base64 of 32 bytes, standard or URL-safe) into id. */
static int keyid_decode(unsigned char id[32], const char *key_id)
{
    unsigned char raw[48];
    size_t n = 0;
    int r;

    /* Without allocating: a lookup that ran out of memory must never read as "not revoked". */
    if (key_id == NULL || strlen(key_id) > 64) {
        return sign__error(SIGN_EPARSE, "key id is not base64 of a SHA-256");
    }
    r = sign__b64_decode_buf(raw, sizeof(raw), &n, key_id, strlen(key_id));
    if (r == 0 && n != 32) {
        r = SIGN_EPARSE;
    }
    if (r == 0) {
        memcpy(id, raw, 32);
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
    if (l->indexed) {
        return ix_find_key(out, l, id);
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
    if (l->indexed) {
        return ix_find_art(out, l, sha256);
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
    return l->indexed ? l->ix_nkeys : l->nkeys;
}

size_t sign_revocation_list_artifact_count(const sign_revocation_list *l)
{
    return l->indexed ? l->ix_narts : l->narts;
}

int sign_revocation_list_key(sign_revoked_key *out, const sign_revocation_list *l, size_t i)
{
    if (l == NULL || i >= sign_revocation_list_key_count(l)) {
        return sign__error(SIGN_EINVAL, "revocation list: no key %zu", i);
    }
    if (l->indexed) {
        sign_revoked_key k;
        int r = ix_key_at(&k, l, i, NULL);

        if (r == 0) {
            *out = k;
        }
        return r;
    }
    key_out(out, &l->keys[i]);
    return 0;
}

int sign_revocation_list_artifact(sign_revoked_artifact *out, const sign_revocation_list *l, size_t i)
{
    if (l == NULL || i >= sign_revocation_list_artifact_count(l)) {
        return sign__error(SIGN_EINVAL, "revocation list: no artifact %zu", i);
    }
    if (l->indexed) {
        ix_art_at(out, l, i);
        return 0;
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
    if (not_indexed(l) != 0) {
        return SIGN_EINVAL;
    }
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
    l->keys[i].borrowed = 0;
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
    if (not_indexed(l) != 0) {
        return SIGN_EINVAL;
    }
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
    l->arts[i].borrowed = 0;
    l->narts++;
    *changed = 1;
    return 0;
}

int sign_revocation_list_covers(const sign_revocation_list *newer, const sign_revocation_list *older)
{
    char hex[65], a[32] = "", b[32] = "", kid[48];
    size_t nk = sign_revocation_list_key_count(older), na = sign_revocation_list_artifact_count(older);

    /* Through the accessors: either list may be read from an index. */
    for (size_t i = 0; i < nk; i++) {
        sign_revoked_key o, n;
        int r = older->indexed ? ix_key_at(&o, older, i, kid) : sign_revocation_list_key(&o, older, i);

        if (r != 0) {
            return r;
        }
        if (!(newer->indexed ? ix_find_key(&n, newer, o.key_sha256)
                             : sign_revocation_list_find_key(&n, newer, o.key_id))) {
            return sign__error(SIGN_EVERIFY, "key %s, revoked in version %lld, is not revoked in version %lld",
                               o.key_id, (long long)older->version, (long long)newer->version);
        }
        if (n.has_effective && (!o.has_effective || n.effective > o.effective)) {
            sign_format_time(a, sizeof(a), n.effective);
            if (o.has_effective) {
                sign_format_time(b, sizeof(b), o.effective);
            }
            return sign__error(SIGN_EVERIFY,
                               "key %s: version %lld moves its effective time later (to %s, from %s in version %lld)",
                               o.key_id, (long long)newer->version, a, o.has_effective ? b : "every signature",
                               (long long)older->version);
        }
    }
    for (size_t i = 0; i < na; i++) {
        sign_revoked_artifact o;

        if (sign_revocation_list_artifact(&o, older, i) != 0) {
            return SIGN_EINVAL;
        }
        if (!sign_revocation_list_find_artifact(NULL, newer, o.sha256)) {
            sign_hex_encode(hex, sizeof(hex), o.sha256, 32);
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
    if (not_indexed(l) != 0) {
        return SIGN_EINVAL;
    }
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
        r = authorities[i] != NULL ? sign_envelope_verify(env, 0, authorities[i]) : SIGN_EUNTRUSTED;
        if (r == 0) {
            found = i;
            break;
        }
        if (r == SIGN_ENOMEM) {
            return r; /* not a verdict on the signature */
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

/* ---- the binary index (a verified list cached by the verifier) ------------ */

/*
 * Layout, little-endian: "SRVX" u32 format (1); i64 version, issued, expires;
 * u8 has_previous, previous[32]; u64 nkeys, narts, ntext; then nkeys keys of
 * INDEX_KEY bytes (id[32], i64 effective, u8 has_effective, u8 reason,
 * u32 comment offset + 1 or 0, u32 comment length), narts artifacts of
 * INDEX_ART bytes (sha256[32], u8 reason, u32 name offset + 1 or 0, u32 name
 * length, u32 comment offset + 1 or 0, u32 comment length), then ntext bytes
 * of texts, each followed by a NUL. Reading checks everything a parse would
 * (ranges, sorted and distinct entries, texts) so that a damaged index is
 * refused, never read as fewer revocations.
 */
#define INDEX_MAGIC "SRVX"
#define INDEX_FORMAT 1u
#define INDEX_HEAD (4 + 4 + 24 + 1 + 32 + 24)
#define INDEX_KEY (32 + 8 + 1 + 1 + 4 + 4)
#define INDEX_ART (32 + 1 + 4 + 4 + 4 + 4)

static void put_u(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_u(const unsigned char *p, int n)
{
    uint64_t v = 0;

    /* n is 4 or 8: one load, then from little-endian (a loop of byte shifts cost a third of reading an index). */
    if (n == 8) {
        memcpy(&v, p, 8);
        return le64toh(v);
    }
    {
        uint32_t w;

        memcpy(&w, p, 4);
        return le32toh(w);
    }
}

/* Append text s (or nothing) to the text area at *at; its reference (offset + 1, length) goes to ref. */
static void index_text(unsigned char *ref, unsigned char *text, size_t *at, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    put_u(ref, s != NULL ? *at + 1 : 0, 4);
    put_u(ref + 4, n, 4);
    if (s != NULL) {
        memcpy(text + *at, s, n + 1);
        *at += n + 1;
    }
}

int sign__revocation_index_write(unsigned char **out, size_t *outlen, const sign_revocation_list *l)
{
    size_t ntext = 0, len, at = 0;
    unsigned char *b, *p, *text;

    *out = NULL;
    if (not_indexed(l) != 0) {
        return SIGN_EINVAL;
    }
    *outlen = 0;
    for (size_t i = 0; i < l->nkeys; i++) {
        ntext += l->keys[i].comment != NULL ? strlen(l->keys[i].comment) + 1 : 0;
    }
    for (size_t i = 0; i < l->narts; i++) {
        ntext += l->arts[i].name != NULL ? strlen(l->arts[i].name) + 1 : 0;
        ntext += l->arts[i].comment != NULL ? strlen(l->arts[i].comment) + 1 : 0;
    }
    /* Entries and texts are capped (SIGN_REVOCATION_MAX_ENTRIES, _MAX_TEXT): no overflow, offsets fit 32 bits. */
    len = INDEX_HEAD + l->nkeys * INDEX_KEY + l->narts * INDEX_ART + ntext;
    if (ntext >= UINT32_MAX || (b = malloc(len)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(b, INDEX_MAGIC, 4);
    put_u(b + 4, INDEX_FORMAT, 4);
    put_u(b + 8, (uint64_t)l->version, 8);
    put_u(b + 16, (uint64_t)l->issued, 8);
    put_u(b + 24, (uint64_t)l->expires, 8);
    b[32] = (unsigned char)l->has_previous;
    memcpy(b + 33, l->previous, 32);
    put_u(b + 65, l->nkeys, 8);
    put_u(b + 73, l->narts, 8);
    put_u(b + 81, ntext, 8);
    p = b + INDEX_HEAD;
    text = b + INDEX_HEAD + l->nkeys * INDEX_KEY + l->narts * INDEX_ART;
    for (size_t i = 0; i < l->nkeys; i++, p += INDEX_KEY) {
        const rk *k = &l->keys[i];

        memcpy(p, k->id, 32);
        put_u(p + 32, (uint64_t)k->effective, 8);
        p[40] = (unsigned char)k->has_effective;
        p[41] = (unsigned char)k->reason;
        index_text(p + 42, text, &at, k->comment);
    }
    for (size_t i = 0; i < l->narts; i++, p += INDEX_ART) {
        const ra *a = &l->arts[i];

        memcpy(p, a->sha256, 32);
        p[32] = (unsigned char)a->reason;
        index_text(p + 33, text, &at, a->name);
        index_text(p + 41, text, &at, a->comment);
    }
    *out = b;
    *outlen = len;
    return 0;
}

static int not_indexed(const sign_revocation_list *l)
{
    return l->indexed ? sign__error(SIGN_EINVAL, "revocation list: a list read from an index cannot be changed") : 0;
}

/* A text reference of the index: NULL for none, else the text (NUL-terminated in text); -1 when out of range. */
static inline int index_text_get(const char **out, const unsigned char *ref, const char *text, size_t ntext)
{
    uint64_t off = get_u(ref, 4), n = get_u(ref + 4, 4);

    *out = NULL;
    if (off == 0) {
        return n == 0 ? 0 : -1;
    }
    off--;
    if (n > SIGN_REVOCATION_MAX_TEXT || off >= ntext || n >= ntext - off || text[off + n] != '\0' ||
        memchr(text + off, '\0', n) != NULL) {
        return -1;
    }
    *out = text + off;
    return 0;
}

static int index_head(sign_revocation_list *l, const unsigned char *d, size_t len, uint64_t *nt)
{
    uint64_t nk, na;

    if (len < INDEX_HEAD || memcmp(d, INDEX_MAGIC, 4) != 0 || get_u(d + 4, 4) != INDEX_FORMAT) {
        return -1;
    }
    l->version = (int64_t)get_u(d + 8, 8);
    l->issued = (int64_t)get_u(d + 16, 8);
    l->expires = (int64_t)get_u(d + 24, 8);
    l->has_previous = d[32];
    memcpy(l->previous, d + 33, 32);
    nk = get_u(d + 65, 8);
    na = get_u(d + 73, 8);
    *nt = get_u(d + 81, 8);
    if (l->version < 1 || l->version > SIGN_REVOCATION_MAX_VERSION || l->issued <= 0 || l->expires <= l->issued ||
        l->has_previous != (l->version > 1) || nk > SIGN_REVOCATION_MAX_ENTRIES || na > SIGN_REVOCATION_MAX_ENTRIES ||
        *nt >= UINT32_MAX || len != INDEX_HEAD + nk * INDEX_KEY + na * INDEX_ART + *nt) {
        return -1;
    }
    l->ix_nkeys = nk;
    l->ix_narts = na;
    l->ix_keys = d + INDEX_HEAD;
    l->ix_arts = l->ix_keys + nk * INDEX_KEY;
    l->ix_text = (const char *)(l->ix_arts + na * INDEX_ART);
    return 0;
}

/* Key i of an indexed list; its key id encoded into kid, or (kid NULL) into a string the list keeps. */
static int ix_key_at(sign_revoked_key *out, const sign_revocation_list *l, size_t i, char kid[48])
{
    const unsigned char *p = l->ix_keys + i * INDEX_KEY;
    sign_revocation_list *ml = (sign_revocation_list *)l; /* only ix_ids, under ix_lock */
    char *s = kid, **nv;
    int r = 0;

    memset(out, 0, sizeof(*out));
    memcpy(out->key_sha256, p, 32);
    out->effective = (int64_t)get_u(p + 32, 8);
    out->has_effective = p[40];
    out->reason = (sign_revocation_reason)p[41];
    /* Checked when the index was read. */
    (void)index_text_get(&out->comment, p + 42, l->ix_text, l->ix_ntext);
    if (s == NULL && (s = malloc(48)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    EVP_EncodeBlock((unsigned char *)s, p, 32);
    out->key_id = s;
    if (kid != NULL) {
        return 0;
    }
    pthread_mutex_lock(&ml->ix_lock);
    if ((nv = realloc(ml->ix_ids, (ml->ix_nids + 1) * sizeof(*nv))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        free(s);
    } else {
        ml->ix_ids = nv;
        ml->ix_ids[ml->ix_nids++] = s;
    }
    pthread_mutex_unlock(&ml->ix_lock);
    return r;
}

static void ix_art_at(sign_revoked_artifact *out, const sign_revocation_list *l, size_t i)
{
    const unsigned char *p = l->ix_arts + i * INDEX_ART;
    size_t ntext = l->ix_ntext;

    memset(out, 0, sizeof(*out));
    memcpy(out->sha256, p, 32);
    out->reason = (sign_revocation_reason)p[32];
    (void)index_text_get(&out->name, p + 33, l->ix_text, ntext);
    (void)index_text_get(&out->comment, p + 41, l->ix_text, ntext);
}

static int ix_find_key(sign_revoked_key *out, const sign_revocation_list *l, const unsigned char id[32])
{
    size_t i = lower_32(l->ix_keys, l->ix_nkeys, INDEX_KEY, 0, id);
    sign_revoked_key k;

    if (i >= l->ix_nkeys || CRYPTO_memcmp(l->ix_keys + i * INDEX_KEY, id, 32) != 0) {
        return 0;
    }
    if (out != NULL) {
        if (ix_key_at(&k, l, i, NULL) != 0) {
            /* Out of memory for the key id string: still revoked, named by a placeholder. */
            sign__error_clear();
            k.key_id = "(key id not shown: out of memory)";
        }
        *out = k;
    }
    return 1;
}

static int ix_find_art(sign_revoked_artifact *out, const sign_revocation_list *l, const unsigned char d[32])
{
    size_t i = lower_32(l->ix_arts, l->ix_narts, INDEX_ART, 0, d);

    if (i >= l->ix_narts || CRYPTO_memcmp(l->ix_arts + i * INDEX_ART, d, 32) != 0) {
        return 0;
    }
    if (out != NULL) {
        ix_art_at(out, l, i);
    }
    return 1;
}

/* Every record of an indexed list as a parse would check it: ranges, texts, strictly ascending (no duplicate). */
static int index_check(const sign_revocation_list *l)
{
    const unsigned char *p = l->ix_keys;
    const char *t;

    for (size_t i = 0; i < l->ix_nkeys; i++, p += INDEX_KEY) {
        int64_t eff = (int64_t)get_u(p + 32, 8);

        if (p[40] > 1 || sign_revocation_reason_name((sign_revocation_reason)p[41]) == NULL ||
            (p[40] == 0 && (p[41] != SIGN_REVOKE_KEY_COMPROMISE || eff != 0)) || (p[40] == 1 && eff <= 0) ||
            index_text_get(&t, p + 42, l->ix_text, l->ix_ntext) != 0 ||
            (i > 0 && memcmp(p - INDEX_KEY, p, 32) >= 0)) {
            return -1;
        }
    }
    p = l->ix_arts;
    for (size_t i = 0; i < l->ix_narts; i++, p += INDEX_ART) {
        if (sign_revocation_reason_name((sign_revocation_reason)p[32]) == NULL ||
            index_text_get(&t, p + 33, l->ix_text, l->ix_ntext) != 0 ||
            index_text_get(&t, p + 41, l->ix_text, l->ix_ntext) != 0 ||
            (i > 0 && memcmp(p - INDEX_ART, p, 32) >= 0)) {
            return -1;
        }
    }
    return 0;
}

int sign__revocation_index_read(sign_revocation_list **out, const unsigned char *data, size_t len)
{
    sign_revocation_list *l;
    uint64_t nt = 0;

    *out = NULL;
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (index_head(l, data, len, &nt) != 0 || (l->ix_ntext = nt, index_check(l)) != 0) {
        free(l);
        return sign__error(SIGN_EPARSE, "revocation index: damaged or not written by this signet");
    }
    if (pthread_mutex_init(&l->ix_lock, NULL) != 0) {
        free(l);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    l->indexed = 1;
    *out = l;
    return 0;
}
