/*
 * Fuzz target: the signing log's append path (sign_log_add: the bundle, its statement and the summary the
 * index stores) and its verifier. Whatever the input, an append either fails with a clear error and leaves
 * the log as it was, or lands as one entry that the log then contains and that sign_log_verify accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int count_cb(const sign_log_entry *e, void *userdata)
{
    (void)e;
    ++*(int *)userdata;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *log;
    char id[SIGN_LOG_ID_SIZE], before[SIGN_LOG_COMMIT_SIZE] = "", after[SIGN_LOG_COMMIT_SIZE] = "";
    uint64_t nb = 0, na = 0;
    int r, found = 0;

    if (log == NULL) {
        log = fuzz_path("log");
        if (sign_log_init(log) != 0) {
            fuzz_fail("sign_log_init: %s", sign_error_last());
        }
    }
    (void)sign_log_checkpoint(before, &nb, log);
    r = sign_log_add(id, log, data, size);
    (void)sign_log_checkpoint(after, &na, log);
    if (r != 0) {
        fuzz_check_error(r, "sign_log_add");
        if (na != nb || strcmp(before, after) != 0) {
            fuzz_fail("a failed append (%d) changed the log", r);
        }
        if (r == SIGN_EEXISTS && sign_log_contains(log, data, size) != 0) {
            fuzz_fail("SIGN_EEXISTS for bytes the log does not contain");
        }
        return 0;
    }
    if (na != nb + 1 || strlen(id) != 64) {
        fuzz_fail("an append did not add exactly one entry (%llu -> %llu)", (unsigned long long)nb,
                  (unsigned long long)na);
    }
    if (sign_log_contains(log, data, size) != 0) {
        fuzz_fail("an appended bundle is not in the log");
    }
    if (sign_log_verify(NULL, log, before[0] != '\0' ? before : NULL) != 0) {
        fuzz_fail("the log does not verify after an append: %s", sign_error_last());
    }
    if (sign_log_search(log, SIGN_LOG_SINCE, "1970-01-01T00:00:00Z", count_cb, &found) != 0 ||
        (uint64_t)found != na) {
        fuzz_fail("search --since found %d of %llu entries", found, (unsigned long long)na);
    }
    return 0;
}
