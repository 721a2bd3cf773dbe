/*
 * What an image in a registry is (<sign/registry.h>): its manifest or index,
 * small blobs (configs) checked against their digests, and the repository's
 * tags, for inspect and audit by reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sign/registry.h>

#include "regclient.h"
#include "util.h"

void sign_registry_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

int sign_registry_list_tags(char ***tags, size_t *n, const char *reference, const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    int r;

    *tags = NULL;
    *n = 0;
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 0, o)) != 0) {
        return r;
    }
    r = sign__registry_list_tags(reg, 0, tags, n);
    sign__registry_free(reg);
    return r;
}

int sign_registry_get_manifest(unsigned char **data, size_t *len, char **media_type, char **digest,
                               const char *reference, const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    char dg[72];
    int r;

    *data = NULL;
    *len = 0;
    *media_type = NULL;
    *digest = NULL;
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 0, o)) != 0) {
        return r;
    }
    r = sign__registry_get_manifest(reg, ref.digest[0] != '\0' ? ref.digest : ref.tag, data, len, media_type);
    if (r == 0 && (r = sign__reg_digest_of(dg, *data, *len)) == 0 && ref.digest[0] != '\0' &&
        strcmp(dg, ref.digest) != 0) {
        r = sign__error(SIGN_EDIGEST, "registry %s: the manifest %s hashes to %s: it was changed",
                        sign__registry_name(reg), ref.digest, dg);
    }
    if (r == 0 && (*digest = sign__strdup(dg)) == NULL) {
        r = sign__oom();
    }
    if (r != 0) {
        free(*data);
        free(*media_type);
        *data = NULL;
        *media_type = NULL;
        *len = 0;
    }
    sign__registry_free(reg);
    return r;
}

int sign_registry_get_blob(unsigned char **data, size_t *len, const char *reference, const char *digest, size_t max,
                           const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    char dg[72];
    int r;

    *data = NULL;
    *len = 0;
    if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71) {
        return sign__error(SIGN_EINVAL, "not a sha256 digest: %.80s", digest != NULL ? digest : "(none)");
    }
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 0, o)) != 0) {
        return r;
    }
    r = sign__registry_get_blob(reg, digest, max > 0 ? max : SIGN__REG_DOC_MAX, data, len);
    if (r == 0 && (r = sign__reg_digest_of(dg, *data, *len)) == 0 && strcmp(dg, digest) != 0) {
        r = sign__error(SIGN_EDIGEST, "registry %s: the blob %s hashes to %s: it was changed",
                        sign__registry_name(reg), digest, dg);
    }
    if (r != 0) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    sign__registry_free(reg);
    return r;
}
