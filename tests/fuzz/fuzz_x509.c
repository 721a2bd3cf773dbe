/*
 * Fuzz target: the certificate and CRL readers (sign_x509_certs_parse,
 * sign_x509_crls_parse: PEM bundles or one DER item). Whatever parses must
 * re-encode to DER that parses again, give its facts, and go through
 * sign_x509_verify as its own trust anchor without breaking the result's
 * invariants (a reason always, code 0 exactly when "OK").
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void check_certs(const sign_x509_certs *c, const sign_x509_crls *crls)
{
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_x509_result res;
    sign_x509_info info;
    size_t n = sign_x509_certs_count(c);
    int r;

    if (n == 0 || n > SIGN_X509_MAX_ITEMS) {
        fuzz_fail("parsed %zu certificates", n);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *der = NULL;
        size_t len = 0;
        sign_x509_certs *again = NULL;
        sign_key *k = NULL;

        if (sign_x509_certs_der(&der, &len, c, i) != 0) {
            fuzz_fail("a parsed certificate does not re-encode: %s", sign_error_last());
        }
        if (sign_x509_certs_parse(&again, der, len, "re-encoded") != 0 || sign_x509_certs_count(again) != 1) {
            fuzz_fail("re-encoded certificate does not parse: %s", sign_error_last());
        }
        sign_x509_certs_free(again);
        free(der);
        (void)sign_x509_certs_info(&info, c, i);
        if (sign_x509_certs_key(&k, c, i) == 0 && !sign_x509_key_matches(c, i, k)) {
            fuzz_fail("certificate %zu: its own key does not match it", i);
        }
        sign_key_free(k);
    }
    t.roots = c;
    t.crls = crls;
    o.at = 1767225600; /* 2026-01-01: deterministic */
    r = sign_x509_verify(&res, c, &t, &o);
    if (res.reason == NULL || (r == 0) != (strcmp(res.reason, "OK") == 0) || r != res.code) {
        fuzz_fail("sign_x509_verify: return %d, reason %s, code %d", r, res.reason ? res.reason : "(null)", res.code);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_x509_certs *c = NULL;
    sign_x509_crls *l = NULL;
    int r;

    if ((r = sign_x509_crls_parse(&l, data, size, "fuzz")) != 0) {
        if (l != NULL) {
            fuzz_fail("sign_x509_crls_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_x509_crls_parse");
    } else if (sign_x509_crls_count(l) == 0) {
        fuzz_fail("parsed no CRL");
    }
    if ((r = sign_x509_certs_parse(&c, data, size, "fuzz")) != 0) {
        if (c != NULL) {
            fuzz_fail("sign_x509_certs_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_x509_certs_parse");
    } else {
        check_certs(c, l);
    }
    sign_x509_certs_free(c);
    sign_x509_crls_free(l);
    return 0;
}
