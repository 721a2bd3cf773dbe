/*
 * Fuzz target: the layer walker. The input is written to a file and
 * scanned: kind detection (plain, gzip, zstd, xz, bzip2 tar), libarchive's
 * decompression, signet's own tar header parser (ustar, pax, GNU long
 * names, whiteouts), findings and limits. A layer must give a blob digest
 * equal to the file's, a statement that parses back with the same
 * entries, and the same answer with ISA-L and with zlib.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char *input_path;

static void free_path(void)
{
    free(input_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_artifact *a = NULL;
    sign_statement *st = NULL, *back = NULL;
    sign_limits lim;
    sign_layer_info li;
    unsigned char md[SIGN_SHA256_LEN];
    size_t mdlen = 0, len = 0;
    char *s = NULL;
    int r;

    if (input_path == NULL) {
        input_path = fuzz_path("input.tar");
        atexit(free_path);
    }
    fuzz_write_file("input.tar", data, size);
    fuzz_limits(&lim);
    ao.limits = &lim;
    if ((r = sign_artifact_scan(&a, input_path, "layer", &ao)) != 0) {
        fuzz_check_error(r, "sign_artifact_scan");
        return 0;
    }
    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_LAYER) {
        if (sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, size) != 0 ||
            memcmp(md, sign_artifact_sha256(a), SIGN_SHA256_LEN) != 0) {
            fuzz_fail("the layer's blob digest is not the SHA-256 of its bytes");
        }
        if (sign_artifact_layer(&li, a, 0, 0) != 0 || li.size != size) {
            fuzz_fail("layer 0: size %llu, input %zu", (unsigned long long)li.size, size);
        }
    }
    for (size_t i = 0; i < sign_artifact_entry_count(a); i++) {
        fuzz_touch(sign_artifact_entry(a, i)->path);
        fuzz_touch(sign_artifact_entry(a, i)->link_target);
    }
    for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
        fuzz_touch(sign_artifact_finding(a, i)->path);
        fuzz_touch(sign_artifact_finding(a, i)->message);
    }
    mo.created = INT64_C(1767225600);
    if ((r = sign_statement_build(&st, &a, 1, &mo)) != 0) {
        fuzz_check_error(r, "sign_statement_build"); /* e.g. a name that is not UTF-8 */
    } else {
        if (sign_statement_serialize(&s, &len, st) != 0 || sign_statement_parse(&back, s, len, NULL) != 0) {
            fuzz_fail("a statement built from a layer does not round-trip: %s", sign_error_last());
        }
        for (size_t j = 0; sign_artifact_get_kind(a) == SIGN_ARTIFACT_LAYER && j < sign_artifact_entry_count(a);
             j++) {
            sign_entry e;

            if (sign_statement_artifact_entry(&e, back, 0, j) != 0 ||
                strcmp(e.path, sign_artifact_entry(a, j)->path) != 0 || e.type != sign_artifact_entry(a, j)->type) {
                fuzz_fail("entry %zu changes through the statement", j);
            }
        }
    }
    free(s);
    sign_statement_free(back);
    sign_statement_free(st);
    sign_artifact_free(a);
    fuzz_check_engines(input_path, "layer", &lim);
    return 0;
}
