/*
 * Fuzz target: the key readers. The same bytes go to sign_key_parse_private
 * (PKCS#8 PEM, encrypted or not, or DER; the passphrase callback answers
 * "fuzz-passphrase") and to sign_key_parse_public (SPKI PEM or DER). A key
 * that parses must give its id, fingerprint and SPKI, and the SPKI must parse
 * back to the same id; a private key must sign a message that its public
 * half verifies. The bytes are also read as a PKCS#12 file
 * (sign_x509_load_p12, same passphrase): its key must match its first
 * certificate.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define PASSPHRASE "fuzz-passphrase"

static int passphrase(char *buf, size_t size, int confirm, void *userdata)
{
    int *calls = userdata;

    (*calls)++;
    if (confirm || size < sizeof(PASSPHRASE) - 1) {
        return -1;
    }
    memcpy(buf, PASSPHRASE, sizeof(PASSPHRASE) - 1);
    return (int)(sizeof(PASSPHRASE) - 1);
}

static void check_key(const sign_key *k, int priv)
{
    char id[SIGN_KEYID_SIZE], id2[SIGN_KEYID_SIZE], fp[SIGN_FINGERPRINT_SIZE];
    unsigned char *der = NULL, *sig = NULL;
    size_t derlen = 0, siglen = 0;
    sign_key *pub = NULL;
    static const char msg[] = "signet fuzz message";

    if (sign_key_type_name(sign_key_get_type(k)) == NULL) {
        fuzz_fail("parsed key of type %d", (int)sign_key_get_type(k));
    }
    if (sign_key_has_private(k) != priv) {
        fuzz_fail("has_private %d, expected %d", sign_key_has_private(k), priv);
    }
    if (sign_key_id(id, sizeof(id), k) != 0 || sign_key_fingerprint(fp, sizeof(fp), k) != 0) {
        fuzz_fail("id or fingerprint of a parsed key: %s", sign_error_last());
    }
    if (sign_key_spki_der(&der, &derlen, k) != 0) {
        fuzz_fail("SPKI of a parsed key: %s", sign_error_last());
    }
    if (sign_key_parse_public(&pub, der, derlen) != 0) {
        fuzz_fail("SPKI written by signet does not parse: %s", sign_error_last());
    }
    if (sign_key_id(id2, sizeof(id2), pub) != 0 || strcmp(id, id2) != 0) {
        fuzz_fail("key id changes through the SPKI: %s / %s", id, id2);
    }
    if (priv) {
        if (sign_key_sign(&sig, &siglen, k, msg, sizeof(msg) - 1) != 0) {
            fuzz_fail("a parsed private key cannot sign: %s", sign_error_last());
        }
        if (sign_key_verify(pub, msg, sizeof(msg) - 1, sig, siglen) != 0) {
            fuzz_fail("signature of a parsed private key does not verify");
        }
        if (sign_key_verify(pub, msg, sizeof(msg) - 2, sig, siglen) == 0) {
            fuzz_fail("signature verifies over another message");
        }
    }
    free(sig);
    free(der);
    sign_key_free(pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_key *k = NULL;
    int calls = 0, r;

    if ((r = sign_key_parse_private(&k, data, size, passphrase, &calls)) != 0) {
        if (k != NULL) {
            fuzz_fail("sign_key_parse_private failed and set *out");
        }
        fuzz_check_error(r, "sign_key_parse_private");
    } else {
        check_key(k, 1);
        sign_key_free(k);
        k = NULL;
    }
    if (calls > 1) {
        fuzz_fail("passphrase asked %d times for one key", calls);
    }
    {
        sign_x509_certs *certs = NULL;
        char *path;

        fuzz_write_file("key.p12", data, size);
        path = fuzz_path("key.p12");
        calls = 0;
        if ((r = sign_x509_load_p12(&k, &certs, path, passphrase, &calls)) != 0) {
            if (k != NULL || certs != NULL) {
                fuzz_fail("sign_x509_load_p12 failed and set an output");
            }
            fuzz_check_error(r, "sign_x509_load_p12");
        } else {
            if (sign_x509_certs_count(certs) == 0 || !sign_x509_key_matches(certs, 0, k)) {
                fuzz_fail("PKCS#12: the key is not its first certificate's");
            }
            check_key(k, 1);
            sign_key_free(k);
            sign_x509_certs_free(certs);
            k = NULL;
        }
        if (calls > 1) {
            fuzz_fail("passphrase asked %d times for one PKCS#12 file", calls);
        }
        free(path);
    }
    if ((r = sign_key_parse_public(&k, data, size)) != 0) {
        if (k != NULL) {
            fuzz_fail("sign_key_parse_public failed and set *out");
        }
        fuzz_check_error(r, "sign_key_parse_public");
    } else {
        check_key(k, 0);
        sign_key_free(k);
    }
    return 0;
}
