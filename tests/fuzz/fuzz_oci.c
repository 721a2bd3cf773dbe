/*
 * Fuzz target: the OCI image JSON readers (index, manifest, config: strict
 * JSON, descriptors, limits), then the layout reader on a layout whose
 * index.json is the input and whose blobs are the input too (stored under
 * its own digest), scanned with problems kept: selection, blob lookup
 * without following symlinks, media types, digests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "artifact_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    sign_limits lim;
    json_t *j = NULL;
    unsigned char md[SIGN_SHA256_LEN];
    char hex[2 * SIGN_SHA256_LEN + 1], name[128];
    size_t mdlen = 0;
    char *dir;
    int r;

    if ((r = sign__oci_parse_index(&j, data, size, "index")) != 0) {
        fuzz_check_error(r, "sign__oci_parse_index");
    }
    json_decref(j);
    if ((r = sign__oci_parse_manifest(&j, data, size, "manifest")) != 0) {
        fuzz_check_error(r, "sign__oci_parse_manifest");
    }
    json_decref(j);
    if ((r = sign__oci_parse_config(&j, data, size, "config")) != 0) {
        fuzz_check_error(r, "sign__oci_parse_config");
    }
    json_decref(j);

    /* A layout: oci-layout, index.json = input, blobs/sha256/<digest of input> = input. */
    dir = fuzz_path("layout");
    mkdir(dir, 0700);
    snprintf(name, sizeof(name), "layout/blobs");
    free(fuzz_path(name));
    {
        char *b = fuzz_path("layout/blobs"), *b2 = fuzz_path("layout/blobs/sha256");

        mkdir(b, 0700);
        mkdir(b2, 0700);
        free(b);
        free(b2);
    }
    fuzz_write_file("layout/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
    fuzz_write_file("layout/index.json", data, size);
    if (sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, size) != 0) {
        fuzz_fail("digest");
    }
    sign_hex_encode(hex, sizeof(hex), md, SIGN_SHA256_LEN);
    snprintf(name, sizeof(name), "layout/blobs/sha256/%s", hex);
    fuzz_write_file(name, data, size);
    fuzz_limits(&lim);
    ao.limits = &lim;
    ao.flags = SIGN_ARTIFACT_KEEP_PROBLEMS | (size > 0 && (data[0] & 1) ? SIGN_ARTIFACT_ALL_IMAGES : 0);
    if ((r = sign_artifact_scan(&a, dir, "image", &ao)) != 0) {
        fuzz_check_error(r, "sign_artifact_scan");
    } else {
        for (size_t i = 0; i < sign_artifact_problem_count(a); i++) {
            const char *reason, *msg;

            if (sign_artifact_problem(&reason, &msg, a, i) != 0) {
                fuzz_fail("problem %zu", i);
            }
            fuzz_touch(reason);
            fuzz_touch(msg);
        }
        sign_artifact_free(a);
    }
    free(dir);
    return 0;
}
