/*
 * verify-bundle POLICY BUNDLE ARTIFACT: a program outside the tree that uses
 * only the installed libsign (<sign/sign.h>, pkg-config libsign). Prints the
 * verdict; exits 0 only when the artifact is verified under the policy.
 */
#include <sign/sign.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    sign_verify_options opts = SIGN_VERIFY_OPTIONS_INIT;
    sign_policy *policy = NULL;
    sign_verify_result *res = NULL;
    const char *artifacts[1];
    const char *bundles[1];
    int r, status = 2;

    if (argc != 4) {
        fprintf(stderr, "usage: verify-bundle POLICY BUNDLE ARTIFACT\n");
        return 2;
    }
    if ((r = sign_policy_load(&policy, argv[1], NULL)) != 0) {
        fprintf(stderr, "verify-bundle: %s: %s\n", argv[1], sign_error_last());
        return 2;
    }
    artifacts[0] = argv[3];
    bundles[0] = argv[2];
    opts.artifacts = artifacts;
    opts.nartifacts = 1;
    opts.bundles = bundles;
    opts.nbundles = 1;
    r = sign_verify(&res, policy, &opts);
    if (res == NULL) {
        fprintf(stderr, "verify-bundle: %s\n", sign_error_last());
        goto out;
    }
    for (size_t i = 0; i < sign_verify_result_check_count(res); i++) {
        const sign_check *c = sign_verify_result_check(res, i);
        if (c->status != SIGN_CHECK_PASS) {
            printf("%s %s %s: %s\n", sign_check_status_name(c->status), c->reason, c->check,
                   c->message != NULL ? c->message : "");
        }
    }
    if (r == 0 && sign_verify_result_ok(res)) {
        printf("verified: %s\n", argv[3]);
        status = 0;
    } else {
        printf("NOT verified: %s: %s\n", argv[3], sign_strerror(r));
        status = 1;
    }
out:
    sign_verify_result_free(res);
    sign_policy_free(policy);
    return status;
}
