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
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        cap->v[i] = *signd[i];
        cap->v[i].path = NULL;
        cap->v[i].link_target = NULL;
        cap->n = i + 1;
        if ((cap->v[i].path = sign__strdup(signd[i]->path)) == NULL ||
            (signd[i]->link_target != NULL && (cap->v[i].link_target = sign__strdup(signd[i]->link_target)) == NULL)) {
            vfy_capture_free(cap);
            return SIGN_ENOMEM;
        }
    }
    cap->n = n;
    cap->set = 1;
    return 0;
}
