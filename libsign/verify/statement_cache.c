/*
 * Parsed statements shared between verifies (SIGN_VERIFY_SHARE_STATEMENTS). signet audit verifies each artifact
 * in its own call, and a bundle that signs ten artifacts was parsed ten times: the in-toto statement's parse was
 * the largest cost of such an audit (issue 17). A statement is a function of its payload's bytes and the limits
 * it was parsed under, so one parse is kept per payload SHA-256 and limits, and the later verifies take a
 * reference to it. Only the parse is shared: each bundle's signature over its payload is verified before the
 * statement is asked for (vfy_bundle), and each artifact is compared with the subjects as before.
 *
 * Bounded: the last CACHE_SLOTS statements, each of a payload of at most CACHE_MAX_PAYLOAD bytes, without their
 * recorded entries unless the verify compares them. Nothing here allocates: a full table replaces its least
 * recently used slot. A failed parse is not kept (its error is made again, with its message).
 *
 * Within one verify (vshare, at the end): bundles whose payloads are the same bytes (several signers of one
 * statement) share one parse and its prepared entries, whatever the payload's size.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "verify_internal.h"

#define CACHE_SLOTS 8
#define CACHE_MAX_PAYLOAD (64u * 1024)

typedef struct cache_slot {
    unsigned char sha256[SIGN_SHA256_LEN]; /* of the payload */
    sign_limits limits;                    /* resolved (sign__limits) */
    int entries;                           /* the recorded entries were kept */
    sign_statement *st;                    /* the cache's reference, or NULL */
    uint64_t used;                         /* tick of the last use */
} cache_slot;

static cache_slot cache[CACHE_SLOTS];
static uint64_t cache_tick;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static int same_limits(const sign_limits *a, const sign_limits *b)
{
    return a->json_max_bytes == b->json_max_bytes && a->json_max_depth == b->json_max_depth &&
           a->archive_max_entries == b->archive_max_entries && a->archive_max_total == b->archive_max_total &&
           a->archive_max_ratio == b->archive_max_ratio && a->entry_max_ratio == b->entry_max_ratio &&
           a->name_max == b->name_max;
}

static int slot_matches(const cache_slot *s, const unsigned char *sha256, const sign_limits *l, int entries)
{
    return s->st != NULL && CRYPTO_memcmp(s->sha256, sha256, SIGN_SHA256_LEN) == 0 && s->entries == entries &&
           same_limits(&s->limits, l);
}

/* A reference to the statement kept for this payload, or NULL. Under cache_mu. */
static sign_statement *cache_find(const unsigned char *sha256, const sign_limits *l, int entries)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (slot_matches(&cache[i], sha256, l, entries)) {
            cache[i].used = ++cache_tick;
            return sign__statement_ref(cache[i].st);
        }
    }
    return NULL;
}

/* Keep st (a reference of its own) in the least recently used slot, unless another thread kept it first. */
static void cache_keep(sign_statement *st, const unsigned char *sha256, const sign_limits *l, int entries)
{
    sign_statement *old = NULL;
    size_t lru = 0;

    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (slot_matches(&cache[i], sha256, l, entries)) {
            pthread_mutex_unlock(&cache_mu);
            return;
        }
        if (cache[i].used < cache[lru].used) {
            lru = i;
        }
    }
    old = cache[lru].st;
    memcpy(cache[lru].sha256, sha256, SIGN_SHA256_LEN);
    cache[lru].limits = *l;
    cache[lru].entries = entries;
    cache[lru].st = sign__statement_ref(st);
    cache[lru].used = ++cache_tick;
    pthread_mutex_unlock(&cache_mu);
    sign_statement_free(old); /* the cache's reference; verifies still holding it keep it */
}

int vfy_statement_parse(sign_statement **out, const vctx *c, const unsigned char *payload, size_t len)
{
    unsigned char sha256[SIGN_SHA256_LEN];
    size_t mdlen = 0;
    int share = (c->opts->flags & SIGN_VERIFY_SHARE_STATEMENTS) != 0 && len <= CACHE_MAX_PAYLOAD, r;

    *out = NULL;
    /* Without the digest (out of memory) the payload is parsed as without the flag. */
    if (share && sign_digest_buffer(sha256, sizeof(sha256), &mdlen, SIGN_DIGEST_SHA256, payload, len) != 0) {
        sign__error_clear();
        share = 0;
    }
    if (share) {
        pthread_mutex_lock(&cache_mu);
        *out = cache_find(sha256, c->limits, c->entries);
        pthread_mutex_unlock(&cache_mu);
        if (*out != NULL) {
            return 0;
        }
    }
    if ((r = sign_statement_parse(out, payload, len, c->limits)) != 0) {
        return r;
    }
    /* Without --entries nothing reads the recorded entries: freed here, on the bundle's thread, while the
       artifact is still being hashed, rather than at the end. */
    if (!c->entries) {
        sign__statement_drop_entries(*out);
    }
    if (share) {
        cache_keep(*out, sha256, c->limits, c->entries);
    }
    return 0;
}

/* ---- within one verify: bundles of the same payload bytes (vshare) ---- */

enum { VSHARE_PARSING, VSHARE_READY, VSHARE_FAILED };

static size_t shared_parses; /* bundles that took another's parse (atomic; sign__verify_shared_parses, for tests) */

int vfy_share_init(vshare *sh)
{
    memset(sh, 0, sizeof(*sh));
    if (pthread_mutex_init(&sh->mu, NULL) != 0) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (pthread_cond_init(&sh->cv, NULL) != 0) {
        pthread_mutex_destroy(&sh->mu);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

void vfy_share_free(vshare *sh)
{
    free(sh->v);
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
}

/*
 * A key of the payload from its length and its first and last 256 bytes (FNV-1a): cheap for a statement of MBs, and
 * different for nearly all different payloads (a store's differ in their first subject, re-signed images in their
 * last field), so that a verify of thousands of bundles compares the bytes of equal payloads only. Equal keys are
 * still compared in full.
 */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

static uint64_t share_key(const unsigned char *p, size_t len)
{
    size_t head = len < 256 ? len : 256, tail = len - head < 256 ? len - head : 256;

    if (len == 0) {
        return 0; /* (p may be NULL) */
    }
    return fnv(fnv(1469598103934665603ull ^ (uint64_t)len, p, head), p + len - tail, tail);
}

/* The entry of the payload with these bytes (key: share_key of them), or NULL. Under sh->mu. */
static vshared *share_find(const vshare *sh, const unsigned char *payload, size_t len, uint64_t key)
{
    for (size_t i = 0; i < sh->n; i++) {
        const vb *o = sh->v[i].owner;

        if (sh->v[i].key == key && o->payload_len == len && memcmp(o->payload, payload, len) == 0) {
            return &sh->v[i];
        }
    }
    return NULL;
}

/* b's own parse, to be shared: registered as its payload's (nothing when out of memory: not shared). Under mu. */
static void share_register(vshare *sh, vb *b, uint64_t key)
{
    vshared *v;

    if (sh->n == sh->cap) {
        if ((v = realloc(sh->v, (sh->cap * 2 + 4) * sizeof(*v))) == NULL) {
            return;
        }
        sh->v = v;
        sh->cap = sh->cap * 2 + 4;
    }
    sh->v[sh->n++] = (vshared){.owner = b, .state = VSHARE_PARSING, .key = key};
    b->sharing = 1;
}

int vfy_share_take(vctx *c, vb *b, const unsigned char *payload, size_t len)
{
    vshare *sh = c->share;
    const vb *o = NULL;
    vshared *e;
    uint64_t key;

    if (sh == NULL) {
        return 0;
    }
    key = share_key(payload, len);
    pthread_mutex_lock(&sh->mu);
    /* The owner runs on another thread and publishes whatever happens (bundle_one): the wait ends. */
    while ((e = share_find(sh, payload, len, key)) != NULL && e->state == VSHARE_PARSING) {
        pthread_cond_wait(&sh->cv, &sh->mu);
    }
    if (e == NULL) {
        b->payload = payload;
        b->payload_len = len;
        share_register(sh, b, key);
    } else if (e->state == VSHARE_READY) {
        o = e->owner;
    }
    pthread_mutex_unlock(&sh->mu);
    if (o == NULL) {
        return 0; /* b parses its own (for the others, or after the owner's failed) */
    }
    /* Ready: nothing of o changes until the run ends (run_free). */
    b->st = sign__statement_ref(o->st);
    b->pre = o->pre;
    b->npre = o->npre;
    b->prel = o->prel;
    b->nprel = o->nprel;
    b->dropped = o->dropped;
    b->borrowed = 1;
    __atomic_fetch_add(&shared_parses, 1, __ATOMIC_RELAXED);
    return 1;
}

size_t sign__verify_shared_parses(void)
{
    return __atomic_load_n(&shared_parses, __ATOMIC_RELAXED);
}

void vfy_share_publish(vctx *c, vb *b)
{
    vshare *sh = c->share;

    if (sh == NULL || !b->sharing) {
        return;
    }
    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->n; i++) {
        if (sh->v[i].owner == b) {
            sh->v[i].state = b->st != NULL ? VSHARE_READY : VSHARE_FAILED;
        }
    }
    b->sharing = 0;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
}
