/* Fuzz target: the Sigstore bundle reader (sign_bundle_parse) and its envelope. */
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "fuzz.h"

/* The verifier's reader (issue 19): a messageSignature bundle has no envelope, a signature and a digest of its
   algorithm's length; a DSSE bundle parses as sign_bundle_parse reads it. */
static void fuzz_message_bundle(const uint8_t *data, size_t size, const sign_limits *lim)
{
    sign_bundle *b = NULL;
    sign__bundle_msg m;
    int r = sign__bundle_parse_message(&b, data, size, lim);

    if (r != 0) {
        if (b != NULL) {
            fuzz_fail("sign__bundle_parse_message failed and set *out");
        }
        fuzz_check_error(r, "sign__bundle_parse_message");
        return;
    }
    if (sign__bundle_message(b, &m)) {
        static const size_t lens[] = {0, 32, 48, 64};

        if (sign_bundle_envelope(b) != NULL || m.sig == NULL || m.siglen == 0 || m.digest == NULL ||
            m.alg < SIGN_DIGEST_SHA256 || m.alg > SIGN_DIGEST_SHA512 || m.digestlen != lens[m.alg]) {
            fuzz_fail("messageSignature bundle read inconsistently");
        }
    } else if (sign_bundle_envelope(b) == NULL) {
        fuzz_fail("bundle read without an envelope or a messageSignature");
    }
    sign_bundle_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_limits lim;
    sign_bundle *b = NULL, *again = NULL;
    const sign_envelope *env;
    const unsigned char *cert;
    char *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0, certlen = 0;
    int r;

    fuzz_limits(&lim);
    fuzz_message_bundle(data, size, &lim);
    if ((r = sign_bundle_parse(&b, data, size, &lim)) != 0) {
        if (b != NULL) {
            fuzz_fail("sign_bundle_parse failed and set *out");
        }
        fuzz_check_error(r, "sign_bundle_parse");
        return 0;
    }
    if (sign_bundle_media_type(b) == NULL) {
        fuzz_fail("parsed bundle without a media type");
    }
    fuzz_touch(sign_bundle_media_type(b));
    fuzz_touch(sign_bundle_key_hint(b));
    cert = sign_bundle_certificate(b, &certlen);
    if (cert != NULL && certlen == 0) {
        fuzz_fail("certificate of length 0");
    }
    if (sign_bundle_key_hint(b) == NULL && cert == NULL) {
        fuzz_fail("parsed bundle with neither a key hint nor a certificate");
    }
    if ((env = sign_bundle_envelope(b)) == NULL) {
        fuzz_fail("parsed bundle without an envelope");
    }
    fuzz_envelope_check(env);
    if ((r = sign_bundle_serialize(&s1, &n1, b)) != 0) {
        fuzz_check_error(r, "sign_bundle_serialize");
    } else {
        if ((r = sign_bundle_parse(&again, s1, n1, &lim)) != 0) {
            fuzz_fail("reparse of a serialized bundle: %s", sign_error_last());
        }
        if ((r = sign_bundle_serialize(&s2, &n2, again)) != 0 || n1 != n2 || memcmp(s1, s2, n1) != 0) {
            fuzz_fail("serialize(parse(serialize(x))) differs from serialize(x)");
        }
    }
    free(s1);
    free(s2);
    sign_bundle_free(again);
    sign_bundle_free(b);
    return 0;
}
