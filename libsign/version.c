/* The library's version, and helpers for what the signing calls return. */
#include <stdlib.h>

#include "formats.h"
#include "sign/signer.h"

const char *sign_version(void)
{
    return SIGN_VERSION_STRING;
}

void sign_artifacts_free(sign_artifact **arts, size_t n)
{
    if (arts == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sign_artifact_free(arts[i]);
    }
    free(arts);
}
