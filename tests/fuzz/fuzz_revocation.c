/*
 * Fuzz target: the revocation list payload parser (sign_revocation_list_parse).
 * Every list that parses must serialise, re-parse to the same bytes (the
 * form is deterministic), answer its own lookups, and cover itself; its next
 * version must cover it too; it must go through the verifier's binary index
 * and back unchanged. The input is also read as an index
 * (sign__revocation_index_read): refused, or consistent.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Not installed: the verifier's binary index of a list (libsign/formats.h). */
int sign__revocation_index_write(unsigned char **out, size_t *outlen, const sign_revocation_list *l);
int sign__revocation_index_read(sign_revocation_list **out, const unsigned char *data, size_t len);

/* The input taken as an index (the verifier's cache file body): refused, or every entry found by its key. */
static void index_as_input(const uint8_t *data, size_t size)
{
    sign_revocation_list *x = NULL;
    int r = sign__revocation_index_read(&x, data, size);

    if (r != 0) {
        fuzz_check_error(r, "sign__revocation_index_read");
        return;
    }
    for (size_t i = 0; i < sign_revocation_list_key_count(x); i++) {
        sign_revoked_key k;

        if (sign_revocation_list_key(&k, x, i) == 0 && !sign_revocation_list_find_key(NULL, x, k.key_id)) {
            fuzz_fail("index key %zu is not found by its id", i);
        }
    }
    for (size_t i = 0; i < sign_revocation_list_artifact_count(x); i++) {
        sign_revoked_artifact art;

        if (sign_revocation_list_artifact(&art, x, i) != 0 ||
            !sign_revocation_list_find_artifact(NULL, x, art.sha256)) {
            fuzz_fail("index artifact %zu is not found by its digest", i);
        }
    }
    sign_revocation_list_free(x);
}

/* A parsed list through the index and back: the same entries, each list covers the other. */
static void index_roundtrip(const sign_revocation_list *l)
{
    sign_revocation_list *x = NULL;
    unsigned char *ix = NULL;
    size_t len = 0;

    if (sign__revocation_index_write(&ix, &len, l) != 0 || sign__revocation_index_read(&x, ix, len) != 0) {
        fuzz_fail("a parsed list does not go through the index: %s", sign_error_last());
    }
    if (sign_revocation_list_covers(x, l) != 0 || sign_revocation_list_covers(l, x) != 0 ||
        sign_revocation_list_version(x) != sign_revocation_list_version(l) ||
        sign_revocation_list_expires(x) != sign_revocation_list_expires(l)) {
        fuzz_fail("the index differs from the list: %s", sign_error_last());
    }
    sign_revocation_list_free(x);
    free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_revocation_list *l = NULL, *again = NULL, *next = NULL;
    sign_limits lim;
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    unsigned char prev[32] = {0};
    int r;

    fuzz_limits(&lim);
    index_as_input(data, size);
    r = sign_revocation_list_parse(&l, data, size, &lim);
    if (r != 0) {
        fuzz_check_error(r, "sign_revocation_list_parse");
        if (l != NULL) {
            fuzz_fail("a refused list was returned");
        }
        return 0;
    }
    if (sign_revocation_list_serialize(&a, &alen, l) != 0) {
        fuzz_fail("a parsed list does not serialise: %s", sign_error_last());
    }
    if (sign_revocation_list_parse(&again, a, alen, &lim) != 0) {
        fuzz_fail("the serialised list does not parse: %s", sign_error_last());
    }
    if (sign_revocation_list_serialize(&b, &blen, again) != 0 || alen != blen || memcmp(a, b, alen) != 0) {
        fuzz_fail("serialisation is not stable");
    }
    for (size_t i = 0; i < sign_revocation_list_key_count(l); i++) {
        sign_revoked_key k;

        if (sign_revocation_list_key(&k, l, i) != 0 || !sign_revocation_list_find_key(NULL, l, k.key_id)) {
            fuzz_fail("key %zu is not found by its id", i);
        }
    }
    for (size_t i = 0; i < sign_revocation_list_artifact_count(l); i++) {
        sign_revoked_artifact art;

        if (sign_revocation_list_artifact(&art, l, i) != 0 ||
            !sign_revocation_list_find_artifact(NULL, l, art.sha256)) {
            fuzz_fail("artifact %zu is not found by its digest", i);
        }
    }
    index_roundtrip(l);
    if (sign_revocation_list_covers(again, l) != 0) {
        fuzz_fail("a list does not cover itself: %s", sign_error_last());
    }
    if (sign_revocation_list_version(l) < SIGN_REVOCATION_MAX_VERSION &&
        sign_revocation_list_next(&next, l, prev, sign_revocation_list_issued(l), sign_revocation_list_expires(l)) ==
            0 &&
        sign_revocation_list_covers(next, l) != 0) {
        fuzz_fail("the next version does not cover the list: %s", sign_error_last());
    }
    sign_revocation_list_free(next);
    sign_revocation_list_free(again);
    sign_revocation_list_free(l);
    free(a);
    free(b);
    return 0;
}
