/* Deploy's view of a verify: the signed entries of the artifact it is about to extract. */
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

void vfy_capture_free(vcapture *cap)
{
    for (size_t i = 0; cap->v != NULL && i < cap->n; i++) {
        free((char *)cap->v[i].path);
        free((char *)cap->v[i].link_target);
    }
    free(cap->v);
    memset(cap, 0, sizeof(*cap));
}

int vfy_capture_entries(vcapture *cap, const sign_entry *const *signd, size_t n)
{
    if (cap->set) {
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
