/*
 * Every _INIT macro used as a caller would, compiled by `make lint` as C99
 * with -pedantic -Wall -Wextra -Werror (the designated form gives no
 * missing-initializer warning) and as C++11 (the {version} form; g++ -Wextra
 * warns about the fields left out, which C++ callers silence or avoid with
 * the _init functions).
 */
#include <sign/sign.h>

int signet_lint_inits(void);

int signet_lint_inits(void)
{
    sign_limits l = SIGN_LIMITS_INIT;
    sign_artifact_options a = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_manifest_options m = SIGN_MANIFEST_OPTIONS_INIT;
    sign_sign_options s = SIGN_SIGN_OPTIONS_INIT;
    sign_tsa_options t = SIGN_TSA_OPTIONS_INIT;
    sign_verify_options v = SIGN_VERIFY_OPTIONS_INIT;
    sign_x509_trust xt = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options xv = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_deploy_options d = SIGN_DEPLOY_OPTIONS_INIT;

    return (int)(l.version + a.version + m.version + s.version + t.version + v.version + xt.version + xv.version + d.version);
}
