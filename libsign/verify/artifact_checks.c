/* Checks of one artifact against the statements that name it: digests, entries, image layers, an installed tree. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "verify_internal.h"

/* ---- entries --------------------------------------------------------- */

/* By path; entries of one path (an archive holding a name twice) stay in their array's order (the walk's, the
   record's) whatever the sort, so which of them meets the signed entry does not depend on how it sorts. */
static int cmp_entry_ptr(const void *a, const void *b)
{
    const sign_entry *x = *(const sign_entry *const *)a, *y = *(const sign_entry *const *)b;
    int d = strcmp(x->path != NULL ? x->path : "", y->path != NULL ? y->path : "");

    return d != 0 ? d : (x > y) - (x < y);
}

/* What differs between a signed entry and the one found, or NULL when they are equal. */
static const char *entry_diff(const sign_entry *s, const sign_entry *f)
{
    if (s->type != f->type) {
        return "type";
    }
    if (s->mode != f->mode) {
        return "mode";
    }
    if (s->size != f->size) {
        return "size";
    }
    if (s->has_digest != f->has_digest ||
        (s->has_digest && CRYPTO_memcmp(s->sha256, f->sha256, SIGN_SHA256_LEN) != 0)) {
        return "content digest";
    }
    return NULL;
}

static int entry_mismatch(vctx *c, size_t *n, const char *art, const vb *b, const char *fmt, const char *path,
                          const char *what)
{
    const char *signer = b->signer;

    (*n)++;
    if (*n > VERIFY_MAX_ENTRY_CHECKS) {
        return 0;
    }
    if (strcmp(fmt, "changed") == 0) {
        return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST,
                             (vwhere){art, b->path, signer},
                             "artifact %s: entry \"%s\" differs from the signed manifest in %s (%s); it was changed "
                             "after signing - rebuild or re-sign the artifact",
                             art, path, what, b->path);
    }
    if (strcmp(fmt, "missing") == 0) {
        return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST,
                             (vwhere){art, b->path, signer},
                             "artifact %s: entry \"%s\" is in the signed manifest (%s) but missing; it was removed "
                             "after signing - rebuild or re-sign the artifact",
                             art, path, b->path);
    }
    return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST,
                         (vwhere){art, b->path, signer},
                         "artifact %s: entry \"%s\" is not in the signed manifest (%s); it was added after signing - "
                         "rebuild or re-sign the artifact",
                         art, path, b->path);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Two recorded entries whose paths are equal, exactly or after
 * normalisation ("./a", "a//b", "a/" for "a"), would each be compared with
 * one archive entry of that name, and an archive holding the name twice
 * (benign, then evil) would pass while extractors keep the evil one. A
 * signed manifest must name every path once. *dup: such a path (malloc'd),
 * or NULL. 0, or SIGN_ENOMEM.
 */
static int manifest_collision(char **dup, const sign_entry **signd, size_t ns)
{
    char **norm = NULL;
    size_t i, n = 0;
    const char *d = NULL;
    int r = 0;

    *dup = NULL;
    for (i = 1; i < ns && d == NULL; i++) {
        if (strcmp(signd[i - 1]->path, signd[i]->path) == 0) {
            d = signd[i]->path;
        }
    }
    if (d == NULL && ns > 1) {
        if ((norm = calloc(ns, sizeof(*norm))) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        for (i = 0; i < ns; i++) {
            char *one = NULL;
            size_t len;

            if ((r = sign_artifact_name_normalise(&one, signd[i]->path)) == SIGN_ENOMEM) {
                goto out;
            }
            if (r != 0) {
                r = 0;
                continue; /* unusable as a name at all: the entry comparison reports it */
            }
            len = strlen(one);
            while (len > 1 && one[len - 1] == '/') {
                one[--len] = '\0';
            }
            norm[n++] = one;
        }
        sign__error_clear();
        qsort(norm, n, sizeof(*norm), cmp_str_ptr);
        for (i = 1; i < n && d == NULL; i++) {
            if (strcmp(norm[i - 1], norm[i]) == 0) {
                d = norm[i];
            }
        }
    }
    if (d != NULL && (*dup = sign__strdup(d)) == NULL) {
        r = sign__oom();
    }
out:
    for (i = 0; i < n; i++) {
        free(norm[i]);
    }
    free(norm);
    return r;
}

static void signed_free(vsigned *s)
{
    free(s->sent);
    free(s->signd);
    free(s->text);
    free(s->msg);
    free(s->dup);
    memset(s, 0, sizeof(*s));
}

/* One string of the compact form: copied to text + *k (NULL stays NULL). */
static const char *compact_str(char *text, size_t *k, const char *str)
{
    size_t len;

    if (str == NULL) {
        return NULL;
    }
    len = strlen(str) + 1;
    memcpy(text + *k, str, len);
    *k += len;
    return text + *k - len;
}

/* The compact form: the strings of s's entries copied into one allocation (s->text). 0 or SIGN_ENOMEM. */
static int signed_compact(vsigned *s)
{
    size_t total = 1, k = 0;

    for (size_t j = 0; j < s->n; j++) {
        total += strlen(s->sent[j].path) + 1;
        total += s->sent[j].link_target != NULL ? strlen(s->sent[j].link_target) + 1 : 0;
    }
    if ((s->text = malloc(total)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < s->n; j++) {
        s->sent[j].path = compact_str(s->text, &k, s->sent[j].path);
        s->sent[j].link_target = compact_str(s->text, &k, s->sent[j].link_target);
    }
    return 0;
}

/* Where signed entries are: a record's own (k == SIZE_MAX), or those of layer j of its image k. */
typedef struct vrecord {
    size_t idx, k, j;
} vrecord;

static int record_entry(sign_entry *out, const sign_statement *st, vrecord at, size_t e)
{
    return at.k == SIZE_MAX ? sign_statement_artifact_entry(out, st, at.idx, e)
                            : sign_statement_artifact_layer_entry(out, st, at.idx, at.k, at.j, e);
}

/*
 * The ns signed entries at `at` of st into s: read, sorted by path, checked for a path recorded twice (a record's);
 * with compact, their strings copied (the statement's entries may then be dropped). An entry that cannot be
 * read is noted in s (unreadable, msg), not returned. 0, or SIGN_ENOMEM.
 */
static int signed_load_at(vsigned *s, const sign_statement *st, vrecord at, size_t ns, int compact)
{
    memset(s, 0, sizeof(*s));
    s->unreadable = SIZE_MAX;
    s->recorded = ns;
    if ((s->sent = calloc(ns + 1, sizeof(*s->sent))) == NULL ||
        (s->signd = calloc(ns + 1, sizeof(*s->signd))) == NULL) {
        signed_free(s);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < ns; j++) {
        if (record_entry(&s->sent[j], st, at, j) != 0 || s->sent[j].path == NULL) {
            s->unreadable = j;
            if ((s->msg = sign__strdup(sign_error_last())) == NULL) {
                signed_free(s);
                return sign__oom();
            }
            s->ready = 1;
            return 0;
        }
        s->signd[j] = &s->sent[j];
    }
    s->n = ns;
    qsort(s->signd, ns, sizeof(*s->signd), cmp_entry_ptr);
    /* A layer may hold a path twice (the later one wins); its scan reports that. A record's paths are unique. */
    if ((compact && signed_compact(s) != 0) || (at.k == SIZE_MAX && manifest_collision(&s->dup, s->signd, ns) != 0)) {
        signed_free(s);
        return SIGN_ENOMEM;
    }
    s->ready = 1;
    return 0;
}

static int signed_load(vsigned *s, const sign_statement *st, size_t idx, size_t ns, int compact)
{
    return signed_load_at(s, st, (vrecord){idx, SIZE_MAX, SIZE_MAX}, ns, compact);
}

void vfy_entries_release(vb *b)
{
    if (b->borrowed) { /* its owner's (vshare), freed with it */
        b->pre = NULL;
        b->prel = NULL;
        b->npre = b->nprel = 0;
        return;
    }
    for (size_t i = 0; b->pre != NULL && i < b->npre; i++) {
        signed_free(&b->pre[i]);
    }
    free(b->pre);
    free(b->prel);
    b->pre = NULL;
    b->prel = NULL;
    b->npre = b->nprel = 0;
}

/* Bytes for a digest, gathered so that the digest is updated once per few KiB instead of twice per entry. */
typedef struct dbuf {
    sign_digest_ctx *d;
    size_t n;
    unsigned char b[8192];
} dbuf;

static int dbuf_add(dbuf *f, const void *p, size_t len)
{
    if (len > sizeof(f->b) - f->n) {
        int r = sign_digest_update(f->d, f->b, f->n);

        f->n = 0;
        if (r != 0 || len > sizeof(f->b)) {
            return r != 0 ? r : sign_digest_update(f->d, p, len); /* a path longer than the buffer: as it is */
        }
    }
    memcpy(f->b + f->n, p, len);
    f->n += len;
    return 0;
}

/*
 * The SHA-256 of n entries sorted by path, in a canonical form of what entry_diff compares (path, type, mode,
 * size, content digest): two lists with the same digest pass the sorted merge. 0 or SIGN_ENOMEM.
 */
static int entries_digest(unsigned char out[SIGN_SHA256_LEN], const sign_entry *const *e, size_t n)
{
    dbuf f = {.n = 0};
    unsigned char rec[4 + 4 + 8 + 1 + SIGN_SHA256_LEN];
    size_t len = 0;
    int r = sign_digest_new(&f.d, SIGN_DIGEST_SHA256);

    for (size_t i = 0; r == 0 && i < n; i++) {
        const uint64_t v[3] = {(uint64_t)e[i]->type, e[i]->mode, e[i]->size};

        for (int b = 0; b < 4; b++) {
            rec[b] = (unsigned char)(v[0] >> (8 * b));
            rec[4 + b] = (unsigned char)(v[1] >> (8 * b));
        }
        for (int b = 0; b < 8; b++) {
            rec[8 + b] = (unsigned char)(v[2] >> (8 * b));
        }
        rec[16] = e[i]->has_digest ? 1 : 0;
        memcpy(rec + 17, e[i]->sha256, SIGN_SHA256_LEN);
        r = dbuf_add(&f, e[i]->path, strlen(e[i]->path) + 1);
        r = r != 0 ? r : dbuf_add(&f, rec, e[i]->has_digest ? sizeof(rec) : 17);
    }
    if (r == 0 && f.n > 0) {
        r = sign_digest_update(f.d, f.b, f.n);
    }
    if (r == 0) {
        r = sign_digest_final(out, SIGN_SHA256_LEN, &len, f.d);
    }
    sign_digest_free(f.d);
    return r != 0 ? sign__error(SIGN_ENOMEM, "out of memory") : 0; /* the built-in SHA-256 fails only for memory */
}

/* The count and digest of every layer's signed entries of record i's images into b->prel. 0, SIGN_ENOMEM, or
   1: a layer's record cannot be read (nothing may be dropped then; the check reads and reports it). */
static int prepare_layers(vb *b, size_t i)
{
    size_t ni = sign_statement_artifact_image_count(b->st, i);
    int r = 0;

    for (size_t k = 0; k < ni; k++) {
        sign_statement_layer sl;

        for (size_t j = 0, nl = 1; j < nl; j++) {
            vsigned s;
            vlayer *l;

            if (sign_statement_artifact_layer(&sl, b->st, i, k, j) != 0) {
                return 1;
            }
            nl = sl.layer_count;
            if ((l = realloc(b->prel, (b->nprel + 1) * sizeof(*b->prel))) == NULL) {
                return sign__error(SIGN_ENOMEM, "out of memory");
            }
            b->prel = l;
            l = &b->prel[b->nprel];
            memset(l, 0, sizeof(*l));
            l->idx = i;
            l->k = k;
            l->j = j;
            if (signed_load_at(&s, b->st, (vrecord){i, k, j}, sl.entry_count, 0) != 0) {
                return SIGN_ENOMEM;
            }
            l->n = s.n;
            l->unreadable = s.unreadable != SIZE_MAX;
            if (!l->unreadable) {
                r = entries_digest(l->digest, s.signd, s.n);
            }
            signed_free(&s);
            if (r != 0) {
                return r;
            }
            if (l->unreadable) {
                return 1;
            }
            b->nprel++;
        }
    }
    return 0;
}

/* Layer j of image k of record idx, prepared, or NULL. */
static const vlayer *prepared_layer(const vb *b, size_t idx, size_t k, size_t j)
{
    for (size_t i = 0; i < b->nprel; i++) {
        if (b->prel[i].idx == idx && b->prel[i].k == k && b->prel[i].j == j) {
            return &b->prel[i];
        }
    }
    return NULL;
}

void vfy_entries_prepare(vb *b, int drop)
{
    const char *ptype = b->st != NULL ? sign_statement_predicate_type(b->st) : NULL;
    sign_statement_artifact info;
    size_t n;

    /* A borrowed statement is as its owner prepared it (vshare): never read or dropped again. */
    if (ptype == NULL || strcmp(ptype, SIGN_PREDICATE_TYPE) != 0 || b->pre != NULL || b->borrowed ||
        (n = sign_statement_artifact_count(b->st)) == 0 || (b->pre = calloc(n, sizeof(*b->pre))) == NULL) {
        return;
    }
    b->npre = n;
    for (size_t i = 0; i < n; i++) {
        int r = 0;

        if ((sign_statement_artifact_info(&info, b->st, i) == 0 && info.entry_count > 0 &&
             signed_load(&b->pre[i], b->st, i, info.entry_count, drop) != 0) ||
            (r = prepare_layers(b, i)) == SIGN_ENOMEM) {
            vfy_entries_release(b); /* out of memory: the entries check reads them itself */
            sign__error_clear();
            return;
        }
        drop &= r == 0;
    }
    sign__error_clear();
    /* Every record and layer with entries is prepared (those without read none): the JSON ones are not read
       again. */
    if (drop) {
        b->dropped = 1;
        sign__statement_drop_entries(b->st);
    }
}

/* The sorted merge of the nf entries found with the ns signed ones (both sorted by path): each difference a
   failed check (the first VERIFY_MAX_ENTRY_CHECKS of them), counted in *bad. */
static int entries_merge(vctx *c, size_t *bad, const char *art, const vb *b, const sign_entry *const *found,
                         size_t nf, const sign_entry *const *signd, size_t ns)
{
    size_t i = 0, j = 0;
    int r = 0;

    while (r == 0 && (i < nf || j < ns)) {
        int cmp = i >= nf ? 1 : j >= ns ? -1 : strcmp(found[i]->path, signd[j]->path);

        if (cmp == 0) {
            const char *what = entry_diff(signd[j], found[i]);

            if (what != NULL) {
                r = entry_mismatch(c, bad, art, b, "changed", signd[j]->path, what);
            }
            i++;
            j++;
        } else if (cmp < 0) {
            r = entry_mismatch(c, bad, art, b, "extra", found[i]->path, NULL);
            i++;
        } else {
            r = entry_mismatch(c, bad, art, b, "missing", signd[j]->path, NULL);
            j++;
        }
    }
    return r;
}

/* Compare every entry of the scanned archive with the statement's record of subject `sname`. */
static int verify_entries(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a), *signer = b->signer;
    const char *ptype = sign_statement_predicate_type(b->st);
    sign_statement_artifact info;
    const sign_entry **found = NULL, **signd;
    vsigned local = {0};
    const vsigned *s = &local;
    size_t idx = SIZE_MAX, nf = sign_artifact_entry_count(a), ns = 0, i, bad = 0;
    int r = 0;

    if (c->capture != NULL && c->capture->entries_unread && !vfy_entries_unread(c, a)) {
        c->capture->differ = 1; /* not a zip here, its entries not read: deploy verifies them read */
    }
    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_FILE) {
        return 0;
    }
    if (ptype != NULL && strcmp(ptype, SIGN_PREDICATE_TYPE) == 0) {
        for (i = 0; i < sign_statement_artifact_count(b->st); i++) {
            if (sign_statement_artifact_info(&info, b->st, i) == 0 && info.name != NULL &&
                strcmp(info.name, sname) == 0) {
                idx = i;
                break;
            }
        }
    }
    sign__error_clear();
    if (idx != SIZE_MAX && b->pre != NULL && idx < b->npre && b->pre[idx].ready) {
        s = &b->pre[idx]; /* read and sorted while the artifact was walked (its JSON may be dropped) */
        ns = s->recorded;
    } else if (idx != SIZE_MAX) {
        /* idx != SIZE_MAX only after sign_statement_artifact_info() filled info */
        /* cppcheck-suppress uninitStructMember */
        ns = info.entry_count;
    }
    if (idx == SIZE_MAX || (ns == 0 && nf > 0)) {
        return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY,
                             (vwhere){art, b->path, signer},
                             "artifact %s: the statement in %s records no entries for \"%s\", so they cannot be "
                             "checked; re-sign with signet sign, which records every entry",
                             art, b->path, sname);
    }
    if (s == &local && (r = signed_load(&local, b->st, idx, ns, 0)) != 0) {
        goto out;
    }
    if (s->unreadable != SIZE_MAX) {
        r = vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY,
                          (vwhere){art, b->path, signer},
                          "artifact %s: entry %zu of \"%s\" in the statement of %s cannot be read: %s; re-sign with "
                          "signet sign",
                          art, s->unreadable, sname, b->path, s->msg);
        goto out;
    }
    if (s->dup != NULL) {
        /* Refused: one archive entry would decide two records. */
        r = vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_PATH_COLLISION", SIGN_EVERIFY,
                          (vwhere){art, b->path, b->signer},
                          "artifact %s: the statement in %s records the path \"%s\" more than once for \"%s\" "
                          "(exactly or after normalisation), so one archive entry cannot be told from another; "
                          "the manifest was not made by signet sign - re-sign the artifact",
                          art, b->path, s->dup, sname);
        goto out;
    }
    signd = s->signd;
    if (vfy_entries_unread(c, a)) {
        /* Deploy's one walk: each entry is checked against these as it is written (deploy/extract.c). */
        if ((r = vfy_capture_entries(c->capture, signd, ns)) == 0) {
            r = vfy_add_check(c, "entries", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, signer},
                              "artifact %s: %zu signed entries in %s, each checked as it is extracted", art, ns,
                              b->path);
        }
        goto out;
    }
    if ((found = calloc(nf + 1, sizeof(*found))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nf; i++) {
        found[i] = sign_artifact_entry(a, i);
    }
    qsort(found, nf, sizeof(*found), cmp_entry_ptr);
    if ((r = entries_merge(c, &bad, art, b, found, nf, signd, ns)) != 0) {
        goto out;
    }
    if (bad > VERIFY_MAX_ENTRY_CHECKS) {
        r = vfy_add_check(
            c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST, (vwhere){art, b->path, signer},
            "artifact %s: %zu more entries differ from the signed manifest in %s; rebuild or re-sign the "
            "artifact",
            art, bad - VERIFY_MAX_ENTRY_CHECKS, b->path);
    } else if (bad == 0) {
        /* An image's entries are its layers': their own check says how many matched (verify_layers). */
        if (nf > 0 || ns > 0 || sign_artifact_image_count(a) == 0) {
            r = vfy_add_check(c, "entries", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, signer},
                              "artifact %s: all %zu entries match the signed manifest in %s", art, nf, b->path);
        }
        if (r == 0 && c->capture != NULL) {
            r = vfy_capture_entries(c->capture, signd, ns);
        }
    }
out:
    free(found);
    signed_free(&local);
    return r;
}

/* ---- what the signer saw: the artifact's kind and its dangerous findings ---- */

/* The index of subject sname's record in a signet predicate, or SIZE_MAX (another predicate, not recorded). */
static size_t record_of(const sign_statement *st, const char *sname, sign_statement_artifact *info)
{
    const char *ptype = sign_statement_predicate_type(st);

    if (ptype == NULL || strcmp(ptype, SIGN_PREDICATE_TYPE) != 0) {
        return SIZE_MAX;
    }
    for (size_t i = 0; i < sign_statement_artifact_count(st); i++) {
        if (sign_statement_artifact_info(info, st, i) == 0 && info->name != NULL && strcmp(info->name, sname) == 0) {
            return i;
        }
    }
    sign__error_clear();
    return SIZE_MAX;
}

/*
 * The kind the signer recorded (zip, file, layer, ...) must be what the
 * bytes are now: a plain file signed under a manifest that claims "zip" and
 * lists entries would otherwise pass --entries with nothing compared. A
 * recorded "file" fits any bytes: the signer chose (signet sign --kind file)
 * to sign them whole, and the whole-file digest is then all that is claimed.
 */
/*
 * 1 when a's bytes read as the kind recorded (a zip or a layer the signer forced with signet sign --kind,
 * which content detection reads otherwise: a tar whose tail looks like a zip's end record), with the same
 * whole-file digest. Only then is the signer's word for the kind taken; entries compared later are still
 * those of the content's kind, so a mismatch there fails, never passes.
 */
static int readable_as_recorded(const vctx *c, const sign_artifact *a, const char *recorded)
{
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *f = NULL;
    const char *path = sign_artifact_path(a);
    int ok;

    o.flags = strcmp(recorded, "zip") == 0     ? SIGN_ARTIFACT_AS_ZIP
              : strcmp(recorded, "layer") == 0 ? SIGN_ARTIFACT_AS_TAR
                                               : 0;
    if (o.flags == 0 || path == NULL || sign_artifact_get_kind(a) == SIGN_ARTIFACT_OCI) {
        return 0;
    }
    o.flags |= SIGN_ARTIFACT_NO_ENTRIES;
    o.limits = c->limits;
    ok = sign_artifact_scan(&f, path, sign_artifact_name(a), &o) == 0 &&
         strcmp(sign_artifact_kind_name(sign_artifact_get_kind(f)), recorded) == 0 &&
         memcmp(sign_artifact_sha256(f), sign_artifact_sha256(a), SIGN_SHA256_LEN) == 0;
    sign_artifact_free(f);
    sign__error_clear();
    return ok;
}

static int verify_kind(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a), *kind = sign_artifact_kind_name(sign_artifact_get_kind(a));
    sign_statement_artifact info;

    if (record_of(b->st, sname, &info) == SIZE_MAX || info.kind == NULL || strcmp(info.kind, kind) == 0 ||
        strcmp(info.kind, "file") == 0 || readable_as_recorded(c, a, info.kind)) {
        return 0;
    }
    return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ARTIFACT_KIND_MISMATCH", SIGN_EVERIFY,
                         (vwhere){art, b->path, b->signer},
                         "artifact %s is a %s, but the statement in %s records \"%s\" as a %s; its recorded "
                         "entries do not describe these bytes - re-sign the artifact with signet sign",
                         art, kind, b->path, sname, info.kind);
}

/* 1 when the predicate's record idx lists finding f (same id; same path when both name one). */
static int finding_listed(const sign_statement *st, size_t idx, size_t nrec, const sign_finding *f)
{
    for (size_t j = 0; j < nrec; j++) {
        sign_finding g;

        if (sign_statement_artifact_finding(&g, st, idx, j) != 0 || g.id == NULL || strcmp(g.id, f->id) != 0) {
            continue;
        }
        if (f->path == NULL || g.path == NULL || strcmp(f->path, g.path) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * An archive walked for --entries or --tree has its findings recomputed:
 * each dangerous one (data before the entries, a duplicate name, a path
 * escaping the root, ...) must be listed in the signed record of the
 * subject, where signet sign puts only what its signer allowed (--allow).
 * One that is not listed was never seen by the signer: refused with
 * ARCHIVE_FINDING_NOT_ALLOWED, whatever the digest says.
 */
static int verify_findings(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a);
    sign_statement_artifact info;
    size_t idx = record_of(b->st, sname, &info), nrec = idx != SIZE_MAX ? info.finding_count : 0, bad = 0;
    int r = 0;

    if ((!c->entries && c->tree == NULL) || vfy_entries_unread(c, a)) {
        /* The archive was not walked: its findings are not known (deploy's one walk: its extraction judges them). */
        return 0;
    }
    for (size_t i = 0; i < sign_artifact_finding_count(a) && r == 0; i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        if (f->severity != SIGN_SEVERITY_DANGER || (idx != SIZE_MAX && finding_listed(b->st, idx, nrec, f))) {
            continue;
        }
        if (++bad > VERIFY_MAX_ENTRY_CHECKS) {
            continue;
        }
        r = vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ARCHIVE_FINDING_NOT_ALLOWED", SIGN_EVERIFY,
                          (vwhere){art, b->path, b->signer},
                          "artifact %s: dangerous finding %s%s%s%s is not among the findings its signer allowed "
                          "in %s (%s); signet sign refuses it - rebuild the archive, or re-sign with --allow %s "
                          "if it is intended",
                          art, f->id, f->path != NULL ? " at \"" : "", f->path != NULL ? f->path : "",
                          f->path != NULL ? "\"" : "", b->path, f->message != NULL ? f->message : "", f->id);
    }
    sign__error_clear();
    return r;
}

/* ---- images and trees --------------------------------------------------- */

/* Integrity problems of an image (missing blob, digest, diffID, media type): each its own reason. */
int vfy_image_problems(vctx *c, const sign_artifact *a)
{
    for (size_t i = 0; i < sign_artifact_problem_count(a); i++) {
        const char *reason, *msg;
        int r;

        if (sign_artifact_problem(&reason, &msg, a, i) != 0) {
            continue;
        }
        r = vfy_add_check(c, "image", SIGN_CHECK_FAIL, reason,
                          strcmp(reason, "MEDIA_TYPE_INVALID") == 0 || strcmp(reason, "IMAGE_MALFORMED") == 0
                              ? SIGN_EVERIFY
                              : SIGN_EDIGEST,
                          (vwhere){sign_artifact_name(a), NULL, NULL}, "%s; use the image as it was signed", msg);
        if (r != 0) {
            return r;
        }
    }
    if (sign_artifact_image_count(a) > 0 && sign_artifact_problem_count(a) == 0) {
        return vfy_add_check(c, "image", SIGN_CHECK_PASS, "OK", 0, (vwhere){sign_artifact_name(a), NULL, NULL},
                             "artifact %s: every blob is present and hashes to its digest, diffIDs match the config",
                             sign_artifact_name(a));
    }
    return 0;
}

void vfy_layer_cache_free(vlcache *lc)
{
    free(lc->v);
    memset(lc, 0, sizeof(*lc));
}

/* The n entries of layer j of image k of a as read, sorted by path (*found: free it). 0 or SIGN_ENOMEM. */
static int layer_found(const sign_entry ***found, const sign_artifact *a, size_t k, size_t j, size_t n)
{
    if ((*found = calloc(n + 1, sizeof(**found))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t e = 0; e < n; e++) {
        (*found)[e] = sign_artifact_layer_entry(a, k, j, e);
    }
    qsort(*found, n, sizeof(**found), cmp_entry_ptr);
    return 0;
}

/*
 * The digest of the n entries of layer j of image k of a as read (entries_digest of them sorted): computed once
 * per layer and kept in c->lcache for the other bundles judged against the same artifact (six bundles of an image
 * sorted and digested its layers six times). 0 or SIGN_ENOMEM.
 */
static int layer_found_digest(unsigned char out[SIGN_SHA256_LEN], vctx *c, const sign_artifact *a, size_t k, size_t j,
                              size_t n)
{
    vlcache *lc = c->lcache;
    const sign_entry **found = NULL;
    vlfound *v;
    int r;

    if (lc != NULL && lc->artifact != a) {
        vfy_layer_cache_free(lc);
        lc->artifact = a;
    }
    for (size_t i = 0; lc != NULL && i < lc->n; i++) {
        if (lc->v[i].k == k && lc->v[i].j == j && lc->v[i].n == n) {
            memcpy(out, lc->v[i].digest, SIGN_SHA256_LEN);
            return 0;
        }
    }
    if ((r = layer_found(&found, a, k, j, n)) != 0) {
        return r;
    }
    r = entries_digest(out, found, n);
    free(found);
    if (r == 0 && lc != NULL && (v = realloc(lc->v, (lc->n + 1) * sizeof(*v))) != NULL) {
        lc->v = v;
        v[lc->n++] = (vlfound){.k = k, .j = j, .n = n};
        memcpy(v[lc->n - 1].digest, out, SIGN_SHA256_LEN); /* out of memory: not kept, computed again */
    }
    return r;
}

/* Layer at.j of image at.k: the entries its scan found against the ones record at.idx signs. */
static int layer_entries(vctx *c, const sign_artifact *a, const vb *b, vrecord at, size_t *bad, size_t *total)
{
    const char *art = sign_artifact_name(a);
    const vlayer *p = prepared_layer(b, at.idx, at.k, at.j);
    const sign_entry **found = NULL;
    unsigned char got[SIGN_SHA256_LEN];
    vsigned local = {0};
    sign_statement_layer sl;
    sign_layer_info li;
    int r = 0;

    if (sign_artifact_layer(&li, a, at.k, at.j) != 0) {
        return sign__error(SIGN_EINVAL, "artifact %s: no layer %zu of image %zu", art, at.j, at.k);
    }
    *total += li.entry_count;
    if (p != NULL && (r = layer_found_digest(got, c, a, at.k, at.j, li.entry_count)) == 0 && p->n == li.entry_count &&
        CRYPTO_memcmp(got, p->digest, sizeof(got)) == 0) {
        return 0; /* the same list: every entry matches */
    }
    if (r == 0 && p != NULL && b->dropped && ++*bad <= VERIFY_MAX_ENTRY_CHECKS) {
        /* Different, and the record's entries are gone (prepared, then dropped): the layer as a whole. */
        r = vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST,
                          (vwhere){art, b->path, b->signer},
                          "artifact %s: the entries of layer %zu of image %zu differ from the ones recorded in %s "
                          "(%zu recorded, %zu in the layer): the statement was not made from this image - re-sign "
                          "it",
                          art, at.j, at.k, b->path, p->n, li.entry_count);
    }
    if (r != 0 || (p != NULL && b->dropped) || (r = layer_found(&found, a, at.k, at.j, li.entry_count)) != 0) {
        goto out;
    }
    if (sign_statement_artifact_layer(&sl, b->st, at.idx, at.k, at.j) != 0) {
        local.unreadable = 0;
        local.msg = sign__strdup(sign_error_last());
    } else if ((r = signed_load_at(&local, b->st, at, sl.entry_count, 0)) != 0) {
        goto out;
    }
    if (local.unreadable != SIZE_MAX) {
        r = vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY,
                          (vwhere){art, b->path, b->signer},
                          "artifact %s: the entries of layer %zu of image %zu in the statement of %s cannot be "
                          "read: %s; re-sign with signet sign",
                          art, at.j, at.k, b->path, local.msg != NULL ? local.msg : "out of memory");
        goto out;
    }
    r = entries_merge(c, bad, art, b, found, li.entry_count, local.signd, local.n);
out:
    free(found);
    signed_free(&local);
    return r;
}

/*
 * --entries of an image: every layer's entries against the ones the statement records for it. The layers'
 * digests matched, so they differ only when the statement was made from other bytes than its subject: a
 * record that lies about what the image holds (and that verify --tree or a deploy would trust).
 */
static int verify_layer_entries(vctx *c, const sign_artifact *a, const vb *b, size_t idx, size_t ni)
{
    const char *art = sign_artifact_name(a);
    size_t bad = 0, total = 0, nl = 0;
    int r = 0;

    for (size_t k = 0; k < ni && r == 0; k++) {
        sign_image_info im;

        if (sign_artifact_image(&im, a, k) != 0) {
            return sign__error(SIGN_EINVAL, "artifact %s: no image %zu", art, k);
        }
        for (size_t j = 0; j < im.layer_count && r == 0; j++, nl++) {
            r = layer_entries(c, a, b, (vrecord){idx, k, j}, &bad, &total);
        }
    }
    if (r != 0) {
        return r;
    }
    if (bad > VERIFY_MAX_ENTRY_CHECKS) {
        return vfy_add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST,
                             (vwhere){art, b->path, b->signer},
                             "artifact %s: %zu more layer entries differ from the signed manifest in %s; rebuild "
                             "or re-sign the image",
                             art, bad - VERIFY_MAX_ENTRY_CHECKS, b->path);
    }
    if (bad > 0) {
        return 0;
    }
    return vfy_add_check(c, "entries", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, b->path, b->signer},
                         "artifact %s: all %zu entries of its %zu layer(s) match the signed manifest in %s", art,
                         total, nl, b->path);
}

/*
 * The layers the statement records for subject sname against the layers
 * read from the image now: with the manifest digest matching they cannot
 * differ unless the statement was made from other bytes than its subject.
 */
static int verify_layers(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a), *signer = b->signer;
    size_t idx = SIZE_MAX, ni = sign_artifact_image_count(a);
    int r;
    sign_statement_artifact info;

    for (size_t i = 0; i < sign_statement_artifact_count(b->st); i++) {
        if (sign_statement_artifact_info(&info, b->st, i) == 0 && info.name != NULL &&
            strcmp(info.name, sname) == 0) {
            idx = i;
            break;
        }
    }
    sign__error_clear();
    if (idx == SIZE_MAX || sign_statement_artifact_image_count(b->st, idx) == 0) {
        return 0; /* another tool's predicate, or no layers recorded: the subject digest decides */
    }
    if (sign_statement_artifact_image_count(b->st, idx) != ni) {
        return vfy_add_check(c, "image", SIGN_CHECK_FAIL, "LAYERS_MISMATCH", SIGN_EDIGEST,
                             (vwhere){art, b->path, signer},
                             "artifact %s: the statement in %s records %zu image(s), the image has %zu; re-sign it",
                             art, b->path, sign_statement_artifact_image_count(b->st, idx), ni);
    }
    for (size_t k = 0; k < ni; k++) {
        sign_image_info im;

        if (sign_artifact_image(&im, a, k) != 0) {
            continue;
        }
        for (size_t j = 0; j < im.layer_count; j++) {
            sign_statement_layer sl;
            sign_layer_info li;

            if (sign_artifact_layer(&li, a, k, j) != 0) {
                continue;
            }
            if (sign_statement_artifact_layer(&sl, b->st, idx, k, j) != 0 || sl.layer_count != im.layer_count ||
                CRYPTO_memcmp(sl.digest, li.digest, SIGN_SHA256_LEN) != 0 ||
                (sl.has_diff_id &&
                 (li.diff_id == NULL || CRYPTO_memcmp(sl.diff_id, li.diff_id, SIGN_SHA256_LEN) != 0))) {
                sign__error_clear();
                return vfy_add_check(
                    c, "image", SIGN_CHECK_FAIL, "LAYERS_MISMATCH", SIGN_EDIGEST, (vwhere){art, b->path, signer},
                    "artifact %s: layer %zu of image %s differs from the one recorded in %s; re-sign it", art, j,
                    im.name, b->path);
            }
        }
    }
    /* Deploy's one walk has not read the layers: it checks their entries as it extracts them. */
    if (c->entries && (c->capture == NULL || !c->capture->layers_unread) &&
        (r = verify_layer_entries(c, a, b, idx, ni)) != 0) {
        return r;
    }
    if (c->capture == NULL && c->entries) {
        return 0;
    }
    if (c->capture != NULL && ni == 1) {
        sign_image_info im;

        /* Deploy: every layer matches the record; its signed entries are what may be written. */
        if (sign_artifact_image(&im, a, 0) == 0) {
            return vfy_capture_layers(c->capture, b->st, idx, im.layer_count);
        }
    }
    return 0;
}

/* --tree DIR: the unpacked files against the entries (layers applied in order). */
static int verify_tree(vctx *c, const sign_artifact *a)
{
    const char *art = sign_artifact_name(a);
    sign__tree_diff *d = NULL;
    size_t n = 0, nchecked = 0;
    int r;

    r = sign__tree_compare(&d, &n, &nchecked, a, c->tree, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return vfy_add_check(c, "tree", SIGN_CHECK_FAIL, "TREE_UNREADABLE", SIGN_EIO, (vwhere){art, NULL, NULL},
                             "artifact %s: the tree %s cannot be compared: %s", art, c->tree, sign_error_last());
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i == VERIFY_MAX_ENTRY_CHECKS) {
            r = vfy_add_check(c, "tree", SIGN_CHECK_FAIL, d[i].reason, SIGN_EDIGEST, (vwhere){art, NULL, NULL},
                              "artifact %s: %zu more differences in %s", art, n - i, c->tree);
            break;
        }
        r = vfy_add_check(
            c, "tree", SIGN_CHECK_FAIL, d[i].reason, SIGN_EDIGEST, (vwhere){art, NULL, NULL},
            "artifact %s: %s/%s %s; the unpacked files are not the signed ones - unpack the image again", art,
            c->tree, d[i].path, d[i].what);
    }
    if (r == 0 && n == 0) {
        r = vfy_add_check(c, "tree", SIGN_CHECK_PASS, "OK", 0, (vwhere){art, NULL, NULL},
                          "artifact %s: all %zu paths of %s match the signed entries", art, nchecked, c->tree);
    }
    sign__tree_diffs_free(d, n);
    return r;
}

/* ---- subject index ----------------------------------------------------- */

static int cmp_ix_dig(const void *a, const void *b)
{
    return memcmp(((const subj_ix *)a)->dig, ((const subj_ix *)b)->dig, SIGN_SHA256_LEN);
}

static int cmp_ix_base(const void *a, const void *b)
{
    return strcmp(((const subj_ix *)a)->base, ((const subj_ix *)b)->base);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

void vfy_index_free(vindex *ix)
{
    free(ix->by_dig);
    free(ix->by_base);
    free(ix->cand);
    free(ix->always);
    memset(ix, 0, sizeof(*ix));
}

int vfy_index_build(vindex *ix, const vb *bundles, size_t nb)
{
    size_t n = 0, k = 0;

    memset(ix, 0, sizeof(*ix));
    for (size_t i = 0; i < nb; i++) {
        n += bundles[i].usable ? sign_statement_subject_count(bundles[i].st) : 0;
    }
    if ((ix->by_dig = calloc(n + 1, sizeof(*ix->by_dig))) == NULL ||
        (ix->by_base = calloc(n + 1, sizeof(*ix->by_base))) == NULL ||
        (ix->cand = calloc(2 * n + nb + 1, sizeof(*ix->cand))) == NULL ||
        (ix->always = calloc(nb + 1, sizeof(*ix->always))) == NULL) {
        vfy_index_free(ix);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nb; i++) {
        size_t ns = bundles[i].usable ? sign_statement_subject_count(bundles[i].st) : 0;

        if (bundles[i].usable && bundles[i].nosha256) {
            ix->always[ix->nalways++] = i;
        }
        for (size_t s = 0; s < ns && k < n; s++) {
            const char *sname;
            const unsigned char *sdig;

            if (sign_statement_subject(&sname, &sdig, bundles[i].st, s) != 0) {
                sign__error_clear(); /* no sha256: a candidate of every artifact (always) */
                continue;
            }
            ix->by_dig[k].dig = sdig;
            ix->by_dig[k].base = sign__path_base(sname, 0);
            ix->by_dig[k].bi = i;
            k++;
        }
    }
    ix->n = k;
    memcpy(ix->by_base, ix->by_dig, k * sizeof(*ix->by_dig));
    qsort(ix->by_dig, k, sizeof(*ix->by_dig), cmp_ix_dig);
    qsort(ix->by_base, k, sizeof(*ix->by_base), cmp_ix_base);
    return 0;
}

/* First position in v (sorted by cmp) not below key. */
static size_t ix_lower(const subj_ix *v, size_t n, const subj_ix *key, int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cmp(&v[mid], key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The candidate bundles of an artifact, ascending and distinct, in ix->cand; returns their number. */
size_t vfy_index_candidates(vindex *ix, const unsigned char *dig, const char *art)
{
    subj_ix key;
    size_t nc = 0, o = 0;

    if (ix->cand == NULL) {
        return 0;
    }
    key.dig = dig;
    key.base = sign__path_base(art, 0);
    for (size_t i = ix_lower(ix->by_dig, ix->n, &key, cmp_ix_dig); i < ix->n && cmp_ix_dig(&ix->by_dig[i], &key) == 0;
         i++) {
        ix->cand[nc++] = ix->by_dig[i].bi;
    }
    for (size_t i = ix_lower(ix->by_base, ix->n, &key, cmp_ix_base);
         i < ix->n && cmp_ix_base(&ix->by_base[i], &key) == 0; i++) {
        ix->cand[nc++] = ix->by_base[i].bi;
    }
    for (size_t i = 0; i < ix->nalways; i++) {
        ix->cand[nc++] = ix->always[i];
    }
    qsort(ix->cand, nc, sizeof(*ix->cand), cmp_size);
    for (size_t i = 0; i < nc; i++) {
        if (o == 0 || ix->cand[o - 1] != ix->cand[i]) {
            ix->cand[o++] = ix->cand[i];
        }
    }
    return o;
}

/* ---- per artifact ----------------------------------------------------- */

/* Keep one bundle per signer identity (the signing key's id): a key counts once, whatever signs with it. */
static void counted_distinct(unsigned char *counted, const vb *bundles, const size_t *cand, size_t ncand)
{
    for (size_t i = 0; i < ncand; i++) {
        for (size_t j = 0; counted[i] && j < i; j++) {
            if (counted[j] && vfy_keyid_eq(bundles[cand[i]].signer_id, bundles[cand[j]].signer_id)) {
                counted[i] = 0;
            }
        }
    }
}

/* One artifact being judged against its candidate bundles (vfy_artifact's state). */
typedef struct vart {
    vctx *c;
    const sign_artifact *a;
    vr_artifact *ra;
    const char *art;   /* the artifact's name */
    const char *apath; /* the path given (or the name of fd input) */
    const unsigned char *dig;
    char dhex[2 * SIGN_SHA256_LEN + 1];
    vb *bundles;
    const size_t *cand;
    size_t ncand;
    unsigned char *counted; /* per candidate: counts towards the threshold */
    size_t covered, mismatched, refused, ncount;
    int wide;                 /* WIDE_SHA384 | WIDE_SHA512 computed, -1 when they cannot be (not a file's bytes) */
    unsigned char sha384[48]; /* of the same bytes as dig, read again only when a candidate subject lists them */
    unsigned char sha512[64];
} vart;

#define WIDE_SHA384 2
#define WIDE_SHA512 4

/*
 * The artifact's SHA-384 and SHA-512 (those of need), for subjects that list them (npm provenance: sha512): the whole
 * file is read again, once, with its SHA-256, which must be the one judged (else it changed between the reads and is
 * refused). Only files, zips and tar blobs are their bytes; an image's digest is its manifest's, so v->wide is -1 for
 * them.
 */
static int wide_digests(vart *v, int need)
{
    static const sign_digest_alg algs[3] = {SIGN_DIGEST_SHA256, SIGN_DIGEST_SHA384, SIGN_DIGEST_SHA512};
    static const int bits[3] = {1, WIDE_SHA384, WIDE_SHA512};
    sign_artifact_kind kind = sign_artifact_get_kind(v->a);
    sign_digest_ctx *ctx[3] = {NULL, NULL, NULL};
    unsigned char *out[3], sha256[SIGN_SHA256_LEN], *buf = NULL;
    size_t len = 0;
    int fd = -1, r = 0;

    out[0] = sha256;
    out[1] = v->sha384;
    out[2] = v->sha512;
    v->wide = -1;
    if ((kind != SIGN_ARTIFACT_FILE && kind != SIGN_ARTIFACT_ZIP && kind != SIGN_ARTIFACT_LAYER) ||
        sign_artifact_image_count(v->a) > 0) {
        return 0;
    }
    if ((buf = malloc(SIGN_DIGEST_READ_SIZE)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < 3 && r == 0; k++) {
        r = (bits[k] & (need | 1)) ? sign_digest_new(&ctx[k], algs[k]) : 0;
    }
    if (r == 0 && (fd = open(sign_artifact_path(v->a), O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        r = sign__error(SIGN_EIO, "%s: %s", sign_artifact_path(v->a), strerror(errno));
    }
    while (r == 0) {
        ssize_t n = read(fd, buf, SIGN_DIGEST_READ_SIZE);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            r = n < 0 ? sign__error(SIGN_EIO, "%s: %s", sign_artifact_path(v->a), strerror(errno)) : 1;
            break;
        }
        for (size_t k = 0; k < 3 && r == 0; k++) {
            r = ctx[k] != NULL ? sign_digest_update(ctx[k], buf, (size_t)n) : 0;
        }
    }
    for (size_t k = 0; k < 3 && r == 1; k++) {
        if (ctx[k] != NULL && sign_digest_final(out[k], SIGN_DIGEST_MAX_LEN, &len, ctx[k]) != 0) {
            r = sign__error(SIGN_ECRYPTO, "digest failed");
        }
    }
    if (r == 1 && CRYPTO_memcmp(sha256, v->dig, SIGN_SHA256_LEN) != 0) {
        r = sign__error(SIGN_EIO, "%s changed while it was read (its SHA-256 differs from the first read)",
                        sign_artifact_path(v->a));
    }
    if (r == 1) {
        v->wide = need;
        r = 0;
    }
    for (size_t k = 0; k < 3; k++) {
        sign_digest_free(ctx[k]);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return r;
}

/*
 * Subject s of b against the artifact: every digest it lists that signet reads (sha256, sha384, sha512) must match,
 * and it lists at least one (sign_statement_parse refuses others). *sname: its name; a messageSignature's subject
 * has none, and stands for the artifact given.
 */
static int subject_matches(const vart *v, const vb *b, size_t s, const char **sname)
{
    const unsigned char *d256, *d384, *d512;

    if (sign__statement_subject_digests(sname, &d256, &d384, &d512, b->st, s) != 0) {
        return 0;
    }
    if (b->message && (*sname)[0] == '\0') {
        *sname = v->art;
    }
    if (d256 != NULL && CRYPTO_memcmp(d256, v->dig, SIGN_SHA256_LEN) != 0) {
        return 0;
    }
    if ((d384 != NULL && (v->wide < 0 || !(v->wide & WIDE_SHA384))) ||
        (d512 != NULL && (v->wide < 0 || !(v->wide & WIDE_SHA512)))) {
        return 0;
    }
    return (d384 == NULL || CRYPTO_memcmp(d384, v->sha384, sizeof(v->sha384)) == 0) &&
           (d512 == NULL || CRYPTO_memcmp(d512, v->sha512, sizeof(v->sha512)) == 0);
}

/* "sha256 <hex>" (or the sha512 / sha384 a subject lists instead) of subject s, into out. */
static void subject_digest_text(char *out, size_t size, const vb *b, size_t s)
{
    const unsigned char *d256 = NULL, *d384 = NULL, *d512 = NULL;
    const char *sname;
    char hex[2 * SIGN_DIGEST_MAX_LEN + 1] = "";

    (void)sign__statement_subject_digests(&sname, &d256, &d384, &d512, b->st, s);
    if (d256 != NULL) {
        (void)sign_hex_encode(hex, sizeof(hex), d256, SIGN_SHA256_LEN);
    } else if (d512 != NULL) {
        (void)sign_hex_encode(hex, sizeof(hex), d512, 64);
    } else if (d384 != NULL) {
        (void)sign_hex_encode(hex, sizeof(hex), d384, 48);
    }
    snprintf(out, size, "%s", hex);
}

/*
 * The signer's artifact globs against the signed name (allowed, or NULL when none of the subjects of this digest
 * is allowed) and against the path given. Sets *path_ok.
 */
static int check_globs(vart *v, const vb *k, const char *matched, const char *allowed_name, int *path_ok)
{
    vctx *c = v->c;
    char globs[512];

    *path_ok = 1;
    if (allowed_name == NULL) {
        vfy_globs_text(globs, sizeof(globs), k);
        return vfy_add_check(c, "artifact-glob", SIGN_CHECK_FAIL, "SIGNER_NOT_ALLOWED", SIGN_EPOLICY,
                             (vwhere){v->art, k->path, k->signer},
                             "%s \"%s\" may sign only %s, not \"%s\"; sign it with a signer allowed for this "
                             "name, or widen the artifacts of its policy key or root",
                             k->signer_kind, k->signer, globs, matched);
    }
    if (!vfy_key_allows_path(k, v->apath)) {
        /* Signed under an allowed name, but given under one the key may not sign: renamed bytes. */
        *path_ok = 0;
        vfy_globs_text(globs, sizeof(globs), k);
        return vfy_add_check(c, "artifact-glob", SIGN_CHECK_FAIL, "SIGNER_NOT_ALLOWED", SIGN_EPOLICY,
                             (vwhere){v->art, k->path, k->signer},
                             "%s \"%s\" may sign only %s, not the artifact %s given (signed as \"%s\"); "
                             "use the file under the name it was signed as, or sign it with a signer allowed for "
                             "this name",
                             k->signer_kind, k->signer, globs, v->apath, allowed_name);
    }
    return vfy_add_check(c, "artifact-glob", SIGN_CHECK_PASS, "OK", 0, (vwhere){v->art, k->path, k->signer},
                         "%s \"%s\" may sign \"%s\"", k->signer_kind, k->signer, allowed_name);
}

/* Bundle b (candidate ci) signs the artifact's digest under the subject matched: globs, kind, findings, entries,
   layers; it counts towards the threshold when allowed and in its window. */
static int covered_by(vart *v, vb *b, size_t ci, const char *matched, const char *allowed_name)
{
    vctx *c = v->c;
    const char *sname = allowed_name != NULL ? allowed_name : matched;
    int path_ok = 1, r;

    b->used = 1;
    v->covered++;
    r = vfy_add_check(c, "subject", SIGN_CHECK_PASS, "OK", 0, (vwhere){v->art, b->path, b->signer},
                      "artifact %s (sha256 %s) matches signed subject \"%s\" in %s", v->art, v->dhex, matched,
                      b->path);
    if (r == 0) {
        r = vfy_check_facts(c, (vfact_in){.key_id = b->signer_id, .actual_sha256 = v->dhex});
    }
    if (r == 0) {
        r = check_globs(v, b, matched, allowed_name, &path_ok);
    }
    v->refused += allowed_name == NULL || !path_ok;
    if (r == 0 && allowed_name != NULL && path_ok && b->in_window) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): ncand > 0 here */
        v->counted[ci] = 1;
    }
    if (r == 0) {
        r = verify_kind(c, v->a, b, sname);
    }
    if (r == 0) {
        r = verify_findings(c, v->a, b, sname);
    }
    if (r == 0 && c->entries) {
        r = verify_entries(c, v->a, b, sname);
    }
    if (r == 0 && sign_artifact_image_count(v->a) > 0) {
        r = verify_layers(c, v->a, b, sname);
    }
    return r;
}

/* No digest match in bundle b: a subject of the same name means the bytes changed. */
static int mismatched_in(vart *v, vb *b)
{
    vctx *c = v->c;
    size_t ns = sign_statement_subject_count(b->st);
    char shex[2 * SIGN_DIGEST_MAX_LEN + 1];
    int r = 0;

    for (size_t s = 0; s < ns && r == 0; s++) {
        const char *sname;
        const unsigned char *d256, *d384, *d512;

        if (sign__statement_subject_digests(&sname, &d256, &d384, &d512, b->st, s) != 0) {
            continue;
        }
        /* A messageSignature names no artifact: it stands for the one given alone, or the one it lies beside. */
        if (b->message && sname[0] == '\0' &&
            (c->opts->nartifacts == 1 || (b->for_artifact != NULL && strcmp(b->for_artifact, v->art) == 0))) {
            sname = v->art;
        }
        if (!vfy_names_match(sname, v->art)) {
            continue;
        }
        b->used = 1;
        v->mismatched++;
        subject_digest_text(shex, sizeof(shex), b, s);
        if (sign_artifact_image_count(v->a) > 0) {
            r = vfy_add_check(c, "subject", SIGN_CHECK_FAIL, "INDEX_MISMATCH", SIGN_EDIGEST,
                              (vwhere){v->art, b->path, b->signer},
                              "artifact %s: the image it names now (sha256 %s) is not the signed image %s of \"%s\" "
                              "in %s; the index (or manifest.json) was changed to point elsewhere - use the signed "
                              "image or re-sign",
                              v->art, v->dhex, shex, sname, b->path);
        } else {
            r = vfy_add_check(c, "subject", SIGN_CHECK_FAIL, "DIGEST_MISMATCH", SIGN_EDIGEST,
                              (vwhere){v->art, b->path, b->signer},
                              "artifact %s: sha256 %s does not match the signed %sdigest %s of \"%s\" in %s; the "
                              "file was changed after signing - rebuild or re-sign it",
                              v->art, v->dhex,
                              d256 != NULL   ? ""
                              : d512 != NULL ? "sha512 "
                                             : "sha384 ",
                              shex, sname, b->path);
            if (r == 0) {
                r = vfy_check_facts(
                    c, (vfact_in){.expected_sha256 = d256 != NULL ? shex : NULL, .actual_sha256 = v->dhex});
            }
        }
        if (r == 0 && c->entries) {
            r = verify_entries(c, v->a, b, sname);
        }
    }
    return r;
}

/* The subjects of one usable candidate bundle against the artifact's digest and name. */
static int judge_bundle(vart *v, size_t ci)
{
    vb *b = &v->bundles[v->cand[ci]];
    const char *matched = NULL, *allowed_name = NULL;
    size_t ns = sign_statement_subject_count(b->st);

    for (size_t s = 0; s < ns; s++) {
        const char *sname;

        if (!subject_matches(v, b, s, &sname)) {
            continue;
        }
        if (matched == NULL) {
            matched = sname;
        }
        if (allowed_name == NULL && vfy_key_allows(b, sname)) {
            allowed_name = sname;
        }
    }
    if (matched != NULL) {
        return covered_by(v, b, ci, matched, allowed_name);
    }
    return mismatched_in(v, b);
}

/* Unsigned bytes fail as tampered ones do, whatever name they are given under (exit 1). */
static int not_signed(vart *v)
{
    vctx *c = v->c;

    return vfy_add_check(c, "subject", SIGN_CHECK_FAIL, "ARTIFACT_NOT_SIGNED", SIGN_EVERIFY,
                         (vwhere){v->art, NULL, NULL},
                         "artifact %s (sha256 %s) is not covered by any valid signature from a trusted key in the "
                         "bundles %s; %s",
                         v->art, v->dhex, c->opts->nbundles > 0 ? "given" : "beside it",
                         c->opts->nbundles > 0 ? "it was changed, or signed under no name given: pass the bundle "
                                                 "that signs these bytes, or re-sign it"
                                               : "sign it, or pass its bundle with -b");
}

/* Threshold: distinct trusted, in-window, allowed signers whose statement covers this digest. */
static int check_threshold(vart *v)
{
    vctx *c = v->c;
    long long threshold = (long long)c->policy->threshold;
    char names[1024];

    names[0] = '\0';
    if (v->counted != NULL) {
        counted_distinct(v->counted, v->bundles, v->cand, v->ncand);
    }
    for (size_t i = 0, used = 0; v->counted != NULL && i < v->ncand; i++) {
        if (!v->counted[i]) {
            continue;
        }
        v->ncount++;
        if (used + 1 < sizeof(names)) {
            int n =
                snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", v->bundles[v->cand[i]].signer);

            used += n > 0 ? (size_t)n : 0;
        }
    }
    if ((int64_t)v->ncount >= c->policy->threshold) {
        return vfy_add_check(c, "threshold", SIGN_CHECK_PASS, "OK", 0, (vwhere){v->art, NULL, NULL},
                             "artifact %s: %zu of %lld required distinct trusted signer(s): %s", v->art, v->ncount,
                             threshold, names);
    }
    if (v->covered == 0) {
        /* The subject check above already failed and says why; counting signers adds nothing. */
        return vfy_add_check(c, "threshold", SIGN_CHECK_SKIP, "NOT_COUNTED", 0, (vwhere){v->art, NULL, NULL},
                             "artifact %s: no valid signature covers its bytes, so no signer counts towards the "
                             "threshold of %lld",
                             v->art, threshold);
    }
    return vfy_add_check(
        c, "threshold", SIGN_CHECK_FAIL, "THRESHOLD_NOT_MET", SIGN_EPOLICY, (vwhere){v->art, NULL, NULL},
        "artifact %s has %zu of the %lld distinct trusted signers the policy requires%s%s%s (a "
        "key counts once, and only inside its window and globs); %s",
        v->art, v->ncount, threshold, v->ncount ? " (" : "", names, v->ncount ? ")" : "",
        v->refused > 0 ? "signers refused by their artifact globs (SIGNER_NOT_ALLOWED) do not count: "
                         "sign with keys allowed for this name, or widen their globs"
                       : "add bundles signed by other keys of the policy");
}

/* The artifact record of the verdict: its counted signers, the earliest trusted signing time, verified. */
static int record_artifact(vart *v, size_t first_check)
{
    vr_artifact *ra = v->ra;
    const sign_verify_result *res = v->c->res;

    if (v->ncount > 0 && ((ra->signers = calloc(v->ncount, sizeof(char *))) == NULL ||
                          (ra->key_ids = calloc(v->ncount, sizeof(char *))) == NULL)) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; v->counted != NULL && i < v->ncand; i++) {
        const vb *b = &v->bundles[v->cand[i]];

        if (!v->counted[i]) {
            continue;
        }
        if ((ra->signers[ra->nsigners] = sign__strdup(b->signer)) == NULL ||
            (ra->key_ids[ra->nsigners] = sign__strdup(b->signer_id)) == NULL) {
            free(ra->signers[ra->nsigners]);
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        ra->nsigners++;
        if (b->has_signing_time && (!ra->has_signing_time || b->signing_time < ra->signing_time)) {
            ra->has_signing_time = 1;
            ra->signing_time = b->signing_time;
        }
    }
    ra->verified = 1;
    for (size_t i = first_check; i < res->nchecks; i++) {
        if (res->checks[i].status == SIGN_CHECK_FAIL) {
            ra->verified = 0;
        }
    }
    return 0;
}

/* The SHA-384/SHA-512 the candidate bundles' subjects list, computed once; a read that fails is recorded. */
static int artifact_wide(vart *v)
{
    int need = 0, r;

    for (size_t ci = 0; ci < v->ncand; ci++) {
        const vb *b = &v->bundles[v->cand[ci]];

        need |= b->usable ? b->wide : 0;
    }
    if (need == 0) {
        return 0;
    }
    if ((r = wide_digests(v, need)) == 0 || r == SIGN_ENOMEM) {
        return r;
    }
    v->wide = -1;
    return vfy_add_check(v->c, "artifact", SIGN_CHECK_FAIL, "ARTIFACT_UNREADABLE", SIGN_EIO,
                         (vwhere){v->art, NULL, NULL},
                         "artifact %s: its SHA-384/SHA-512 (which a signed subject lists) cannot be computed: %s",
                         v->art, sign_error_last());
}

int vfy_artifact(vctx *c, const sign_artifact *a, vr_artifact *ra, vb *bundles, const size_t *cand, size_t ncand)
{
    vart v = {.c = c, .a = a, .ra = ra, .bundles = bundles, .cand = cand, .ncand = ncand};
    size_t first_check = c->res->nchecks;
    int r = 0;

    v.art = sign_artifact_name(a);
    v.apath = ra->path;
    v.dig = sign_artifact_sha256(a);
    vfy_hex32(v.dhex, v.dig);
    if (ncand > 0 && (v.counted = calloc(ncand, 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = artifact_wide(&v)) != 0) {
        goto out;
    }
    for (size_t ci = 0; ci < ncand && r == 0; ci++) {
        if (bundles[cand[ci]].usable) {
            r = judge_bundle(&v, ci);
        }
    }
    if (r != 0) {
        goto out; /* keep vfy_add_check's "out of memory" */
    }
    sign__error_clear();
    if (v.covered == 0 && v.mismatched == 0 && (r = not_signed(&v)) != 0) {
        goto out;
    }
    if (c->tree != NULL && v.covered > 0 && (r = verify_tree(c, a)) != 0) {
        goto out;
    }
    if ((r = check_threshold(&v)) != 0) {
        goto out;
    }
    r = record_artifact(&v, first_check);
out:
    free(v.counted);
    return r;
}
