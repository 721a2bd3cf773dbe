/*
 * Fuzz target: the Sigstore trusted_root.json reader (libsign/pki/trusted_root.c), through
 * sign_policy_load_trusted_root: a fixed policy whose one roots[] entry takes the trusted root's
 * certificate authorities, with the input as the trusted root (its logs, CAs and TSAs all loaded).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static const char policy_json[] = "{\"version\":1,\"roots\":[{\"name\":\"tr\",\"subjects\":[\"*\"],"
                                  "\"artifacts\":[\"*\"],\"predicate_types\":[\"*\"]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *policy, *root;
    sign_limits lim;
    sign_policy *p = NULL;
    int r;

    if (policy == NULL) {
        fuzz_write_file("policy.json", policy_json, strlen(policy_json));
        policy = fuzz_path("policy.json");
        root = fuzz_path("trusted_root.json");
    }
    fuzz_limits(&lim);
    fuzz_write_file("trusted_root.json", data, size);
    if ((r = sign_policy_load_trusted_root(&p, policy, root, &lim)) != 0) {
        if (p != NULL) {
            fuzz_fail("sign_policy_load_trusted_root failed and set *out");
        }
        fuzz_check_error(r, "sign_policy_load_trusted_root");
        return 0;
    }
    if (sign_policy_get_mode(p) != SIGN_MODE_ENFORCE) {
        fuzz_fail("the fixed policy's mode changed");
    }
    sign_policy_free(p);
    return 0;
}
