/*
 * Fuzz target: the in-toto statement reader (sign_statement_parse) and the
 * accessors of signet's predicate, over every index the statement reports
 * and one past each end.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void check_entry(const sign_entry *e, size_t i, size_t j)
{
    if (e->path == NULL) {
        fuzz_fail("artifact %zu entry %zu: NULL path", i, j);
    }
    fuzz_touch(e->path);
    fuzz_touch(e->link_target);
    if (e->type < SIGN_ENTRY_FILE || e->type > SIGN_ENTRY_OPAQUE || sign_entry_type_name(e->type) == NULL) {
        fuzz_fail("artifact %zu entry %zu: type %d", i, j, (int)e->type);
    }
    if ((e->mode & ~07777u) != 0) {
        fuzz_fail("artifact %zu entry %zu: mode %o beyond 07777", i, j, e->mode);
    }
}

static void check_predicate(const sign_statement *st)
{
    size_t n = sign_statement_artifact_count(st);
    sign_statement_artifact info;
    sign_entry e;
    sign_finding f;

    fuzz_touch(sign_statement_created(st));
    for (size_t i = 0; i < n; i++) {
        int r = sign_statement_artifact_info(&info, st, i);

        /* The predicate is checked when it is read: an accessor may refuse, with a message. */
        if (r != 0) {
            fuzz_check_error(r, "sign_statement_artifact_info");
            continue;
        }
        if (info.name == NULL || info.kind == NULL) {
            fuzz_fail("artifact %zu: NULL name or kind", i);
        }
        fuzz_touch(info.name);
        fuzz_touch(info.kind);
        for (size_t j = 0; j < info.entry_count; j++) {
            if ((r = sign_statement_artifact_entry(&e, st, i, j)) != 0) {
                fuzz_check_error(r, "sign_statement_artifact_entry");
                continue;
            }
            check_entry(&e, i, j);
        }
        for (size_t j = 0; j < info.finding_count; j++) {
            if ((r = sign_statement_artifact_finding(&f, st, i, j)) != 0) {
                fuzz_check_error(r, "sign_statement_artifact_finding");
                continue;
            }
            if (f.id == NULL || f.message == NULL) {
                fuzz_fail("artifact %zu finding %zu: NULL id or message", i, j);
            }
            fuzz_touch(f.id);
            fuzz_touch(f.path);
            fuzz_touch(f.message);
            if (sign_severity_name(f.severity) == NULL) {
                fuzz_fail("artifact %zu finding %zu: severity %d", i, j, (int)f.severity);
            }
        }
        if (sign_statement_artifact_entry(&e, st, i, info.entry_count) == 0) {
            fuzz_fail("artifact %zu: entry %zu of %zu returned", i, info.entry_count, info.entry_count);
        }
        if (sign_statement_artifact_finding(&f, st, i, info.finding_count) == 0) {
            fuzz_fail("artifact %zu: finding %zu of %zu returned", i, info.finding_count, info.finding_count);
        }
    }
    if (sign_statement_artifact_info(&info, st, n) == 0) {
        fuzz_fail("artifact %zu of %zu returned", n, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_limits lim;
    sign_statement *st = NULL, *again = NULL;
    char *s1 = NULL, *s2 = NULL, *pretty = NULL;
    size_t n1 = 0, n2 = 0, n;
    int r;

    fuzz_limits(&lim);
    if ((r = sign_statement_parse(&st, data, size, &lim)) != 0) {
        if (st != NULL) {
            fuzz_fail("sign_statement_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_statement_parse");
        return 0;
    }
    fuzz_touch(sign_statement_predicate_type(st));
    n = sign_statement_subject_count(st);
    if (n == 0) {
        fuzz_fail("parsed statement with zero subjects");
    }
    for (size_t i = 0; i <= n; i++) {
        const char *name = NULL;
        const unsigned char *sha = NULL;

        r = sign_statement_subject(&name, &sha, st, i);
        if (i == n) {
            if (r == 0) {
                fuzz_fail("subject %zu of %zu returned", n, n);
            }
        } else if (r != 0 || name == NULL || sha == NULL) {
            fuzz_fail("subject %zu of %zu: %d %s", i, n, r, sign_error_last());
        } else {
            fuzz_touch(name);
            fuzz_touch_bytes(sha, SIGN_SHA256_LEN);
        }
    }
    check_predicate(st);
    if ((r = sign_statement_serialize(&s1, &n1, st)) != 0) {
        fuzz_fail("serialize of a parsed statement: %s", sign_error_last());
    }
    if ((r = sign_statement_parse(&again, s1, n1, &lim)) != 0) {
        fuzz_fail("reparse of a serialized statement: %s", sign_error_last());
    }
    if ((r = sign_statement_serialize(&s2, &n2, again)) != 0 || n1 != n2 || memcmp(s1, s2, n1) != 0) {
        fuzz_fail("serialize(parse(serialize(x))) differs from serialize(x)");
    }
    if ((r = sign_statement_serialize_pretty(&pretty, st)) != 0) {
        fuzz_fail("pretty serialize of a parsed statement: %s", sign_error_last());
    }
    free(pretty);
    free(s1);
    free(s2);
    sign_statement_free(again);
    sign_statement_free(st);
    return 0;
}
