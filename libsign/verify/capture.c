/* Deploy's view of a verify: the signed entries of the artifact it is about to extract. */
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

static void entries_free(sign_entry *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free((char *)v[i].path);
        free((char *)v[i].link_target);
    }
    free(v);
}

void vfy_capture_free(vcapture *cap)
{
    entries_free(cap->v, cap->n);
    for (size_t i = 0; cap->layers != NULL && i < cap->nlayers; i++) {
        entries_free(cap->layers[i].v, cap->layers[i].n);
    }
    free(cap->layers);
    memset(cap, 0, sizeof(*cap));
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const sign_entry *)a)->path, ((const sign_entry *)b)->path);
}

static int same_text(const char *x, const char *y)
{
    return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* 1 when two signed records of an entry agree: path, type, mode, size, digest, link target and owner. */
static int same_entry(const sign_entry *x, const sign_entry *y)
{
    return strcmp(x->path, y->path) == 0 && x->type == y->type && x->mode == y->mode && x->size == y->size &&
           x->has_digest == y->has_digest && (!x->has_digest || memcmp(x->sha256, y->sha256, SIGN_SHA256_LEN) == 0) &&
           same_text(x->link_target, y->link_target) && x->has_owner == y->has_owner &&
           (!x->has_owner || (x->uid == y->uid && x->gid == y->gid));
}

/* Layer j's signed entries, copied and sorted by path. */
static int capture_layer(vclayer *l, const sign_statement *st, size_t idx, size_t j)
{
    sign_statement_layer sl;

    if (sign_statement_artifact_layer(&sl, st, idx, 0, j) != 0) {
        return sign__error(SIGN_EPARSE, "layer %zu of the statement cannot be read", j);
    }
    if ((l->v = calloc(sl.entry_count + 1, sizeof(*l->v))) == NULL) {
        return sign__oom();
    }
    for (size_t e = 0; e < sl.entry_count; e++) {
        sign_entry x;

        if (sign_statement_artifact_layer_entry(&x, st, idx, 0, j, e) != 0 || x.path == NULL) {
            return sign__error(SIGN_EPARSE, "entry %zu of layer %zu of the statement cannot be read", e, j);
        }
        l->v[e] = x;
        l->v[e].path = NULL;
        l->v[e].link_target = NULL;
        l->n = e + 1;
        if ((l->v[e].path = sign__strdup(x.path)) == NULL ||
            (x.link_target != NULL && (l->v[e].link_target = sign__strdup(x.link_target)) == NULL)) {
            return sign__oom();
        }
    }
    qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
    return 0;
}

/* 1 when record idx of st signs layer entries other than the captured ones (another signer's record). */
static int layers_differ(const vcapture *cap, const sign_statement *st, size_t idx, size_t nlayers)
{
    int differ = cap->nlayers != nlayers;

    for (size_t j = 0; j < nlayers && !differ; j++) {
        vclayer l = {0};

        differ = capture_layer(&l, st, idx, j) != 0 || l.n != cap->layers[j].n;
        for (size_t e = 0; e < l.n && !differ; e++) {
            differ = !same_entry(&l.v[e], &cap->layers[j].v[e]);
        }
        entries_free(l.v, l.n);
    }
    sign__error_clear();
    return differ;
}

int vfy_capture_layers(vcapture *cap, const sign_statement *st, size_t idx, size_t nlayers)
{
    int r = 0;

    if (cap->image) {
        /* Another bundle's record: deploy checks the layers against the first as it extracts them, so any
           difference between the two verifies again with every record compared with the layers read. */
        cap->differ |= layers_differ(cap, st, idx, nlayers);
        return 0;
    }
    if ((cap->layers = calloc(nlayers + 1, sizeof(*cap->layers))) == NULL) {
        return sign__oom();
    }
    cap->nlayers = nlayers;
    for (size_t j = 0; j < nlayers && r == 0; j++) {
        r = capture_layer(&cap->layers[j], st, idx, j);
    }
    if (r != 0) {
        for (size_t j = 0; j < nlayers; j++) {
            entries_free(cap->layers[j].v, cap->layers[j].n);
        }
        free(cap->layers);
        cap->layers = NULL;
        cap->nlayers = 0;
        return r;
    }
    cap->image = 1;
    return 0;
}

int vfy_entries_unread(const vctx *c, const sign_artifact *a)
{
    return c->capture != NULL && c->capture->entries_unread && c->tree == NULL &&
           sign_artifact_get_kind(a) == SIGN_ARTIFACT_ZIP;
}

int vfy_capture_entries(vcapture *cap, const sign_entry *const *signd, size_t n)
{
    if (cap->set) {
        /* Not compared with the archive here (one walk): another record of them must be the same. */
        cap->differ |= cap->entries_unread && cap->n != n;
        for (size_t i = 0; i < n && cap->entries_unread && !cap->differ; i++) {
            cap->differ |= !same_entry(&cap->v[i], signd[i]);
        }
        return 0;
    }
    if ((cap->v = calloc(n + 1, sizeof(*cap->v))) == NULL) {
        return sign__oom();
    }
    for (size_t i = 0; i < n; i++) {
        cap->v[i] = *signd[i];
        cap->v[i].path = NULL;
        cap->v[i].link_target = NULL;
        cap->n = i + 1;
        if ((cap->v[i].path = sign__strdup(signd[i]->path)) == NULL ||
            (signd[i]->link_target != NULL &&
             (cap->v[i].link_target = sign__strdup(signd[i]->link_target)) == NULL)) {
            vfy_capture_free(cap);
            return sign__oom();
        }
    }
    cap->n = n;
    cap->set = 1;
    return 0;
}

int vfy_result_fail(sign_verify_result *res, const char *check, const char *reason, int code, const char *artifact,
                    const char *message)
{
    vctx c;
    int r;

    memset(&c, 0, sizeof(c));
    c.res = res;
    if ((r = vfy_add_check(&c, check, SIGN_CHECK_FAIL, reason, code, (vwhere){artifact, NULL, NULL}, "%s",
                           message)) != 0) {
        return r;
    }
    for (size_t i = 0; i < res->nartifacts; i++) {
        res->artifacts[i].verified = 0;
    }
    vfy_decide(res, 1);
    if ((r = vfy_artifact_reasons(res)) != 0) {
        return r;
    }
    return sign__error(res->code != 0 ? res->code : code, "%s", message);
}
