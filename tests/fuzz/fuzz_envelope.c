/* Fuzz target: the DSSE envelope reader (sign_envelope_parse), PAE and verification. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_limits lim;
    sign_envelope *env = NULL, *again = NULL;
    char *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    int r;

    fuzz_limits(&lim);
    if ((r = sign_envelope_parse(&env, data, size, &lim)) != 0) {
        if (env != NULL) {
            fuzz_fail("sign_envelope_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_envelope_parse");
        return 0;
    }
    fuzz_envelope_check(env);
    /* What signet reads it writes back in a form it reads again, identically. */
    if ((r = sign_envelope_serialize(&s1, &n1, env)) != 0) {
        fuzz_fail("serialize of a parsed envelope: %s", sign_error_last());
    }
    if ((r = sign_envelope_parse(&again, s1, n1, &lim)) != 0) {
        fuzz_fail("reparse of a serialized envelope: %s", sign_error_last());
    }
    if ((r = sign_envelope_serialize(&s2, &n2, again)) != 0 || n1 != n2 || memcmp(s1, s2, n1) != 0) {
        fuzz_fail("serialize(parse(serialize(x))) differs from serialize(x)");
    }
    free(s1);
    free(s2);
    sign_envelope_free(again);
    sign_envelope_free(env);
    return 0;
}
