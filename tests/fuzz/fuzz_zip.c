/*
 * Fuzz target: the zip walker. The input is written to a file in the
 * private temporary directory (sign_artifact_scan reads by path) and
 * scanned: kind detection, signet's own zip structure parser, libarchive's
 * walk, name and secret checks. A scanned artifact is then put in a
 * statement, which must serialise and parse back with the same entries and
 * findings; and the scan with ISA-L and with zlib must give the same answer.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char *input_path;

static void free_path(void)
{
    free(input_path);
}

static void check_statement(sign_artifact *a)
{
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_statement *st = NULL, *back = NULL;
    sign_statement_artifact info;
    char *s = NULL;
    size_t len = 0;
    int r;

    mo.created = INT64_C(1767225600);
    if ((r = sign_statement_build(&st, &a, 1, &mo)) != 0) {
        fuzz_check_error(r, "sign_statement_build");
        return;
    }
    if (sign_statement_serialize(&s, &len, st) != 0) {
        fuzz_fail("serialize a statement built from a scan: %s", sign_error_last());
    }
    if (sign_statement_parse(&back, s, len, NULL) != 0) {
        fuzz_fail("a statement built from a scan does not parse back: %s", sign_error_last());
    }
    if (sign_statement_artifact_info(&info, back, 0) != 0) {
        fuzz_fail("artifact 0 of the parsed statement: %s", sign_error_last());
    }
    if (info.entry_count != sign_artifact_entry_count(a) || info.finding_count != sign_artifact_finding_count(a) ||
        info.size != sign_artifact_size(a) || memcmp(info.sha256, sign_artifact_sha256(a), SIGN_SHA256_LEN) != 0) {
        fuzz_fail("statement says %zu entries %zu findings, the scan %zu and %zu", info.entry_count,
                  info.finding_count, sign_artifact_entry_count(a), sign_artifact_finding_count(a));
    }
    for (size_t j = 0; j < info.entry_count; j++) {
        sign_entry e;
        const sign_entry *orig = sign_artifact_entry(a, j);

        if (sign_statement_artifact_entry(&e, back, 0, j) != 0) {
            fuzz_fail("entry %zu of the parsed statement: %s", j, sign_error_last());
        }
        if (strcmp(e.path, orig->path) != 0 || e.type != orig->type || e.size != orig->size ||
            e.has_digest != orig->has_digest ||
            (e.has_digest && memcmp(e.sha256, orig->sha256, SIGN_SHA256_LEN) != 0)) {
            fuzz_fail("entry %zu changes through the statement", j);
        }
    }
    free(s);
    sign_statement_free(back);
    sign_statement_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    sign_limits lim;
    size_t n;
    int r;

    if (input_path == NULL) {
        input_path = fuzz_path("input");
        atexit(free_path);
    }
    fuzz_write_file("input", data, size);
    fuzz_limits(&lim);
    ao.limits = &lim;
    if ((r = sign_artifact_scan(&a, input_path, "fuzz.zip", &ao)) != 0) {
        if (a != NULL) {
            fuzz_fail("sign_artifact_scan failed and set *out");
        }
        fuzz_check_error(r, "sign_artifact_scan");
        return 0;
    }
    if (sign_artifact_size(a) != size) {
        fuzz_fail("artifact size %llu, input %zu", (unsigned long long)sign_artifact_size(a), size);
    }
    fuzz_touch(sign_artifact_kind_name(sign_artifact_get_kind(a)));
    n = sign_artifact_entry_count(a);
    for (size_t i = 0; i < n; i++) {
        const sign_entry *e = sign_artifact_entry(a, i);

        if (e == NULL || e->path == NULL) {
            fuzz_fail("entry %zu of %zu missing", i, n);
        }
        fuzz_touch(e->path);
        fuzz_touch(e->link_target);
    }
    n = sign_artifact_finding_count(a);
    for (size_t i = 0; i < n; i++) {
        const sign_finding *f = sign_artifact_finding(a, i);

        if (f == NULL || f->id == NULL || f->message == NULL) {
            fuzz_fail("finding %zu of %zu incomplete", i, n);
        }
        fuzz_touch(f->id);
        fuzz_touch(f->path);
        fuzz_touch(f->message);
    }
    check_statement(a);
    sign_artifact_free(a);
    fuzz_check_engines(input_path, "fuzz.zip", &lim);
    return 0;
}
