/* Fuzz target: RFC 3161 TimeStampResp parsing and verification (sign_timestamp_parse, sign_timestamp_verify). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz.h"

/* A trusted root made by this process: no input can carry a token that chains to it. */
static sign_tsa_roots *fuzz_roots(void)
{
    static sign_tsa_roots *roots;
    EVP_PKEY *k;
    X509 *x;
    BIO *b;
    char *pem = NULL;
    long n;

    if (roots != NULL) {
        return roots;
    }
    if ((k = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL) {
        fuzz_fail("cannot make the fuzz root");
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L * 3650);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"fuzz root", -1,
                               -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    if (!X509_sign(x, k, EVP_sha256()) || (b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x) ||
        (n = BIO_get_mem_data(b, &pem)) <= 0) {
        fuzz_fail("cannot encode the fuzz root");
    }
    if (sign_tsa_roots_new(&roots) != 0 || sign_tsa_roots_add_pem(roots, "fuzz", pem, (size_t)n) != 0) {
        fuzz_fail("cannot load the fuzz root: %s", sign_error_last());
    }
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
    return roots;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char sig[] = "signature bytes";
    sign_timestamp_info info, vinfo;
    sign_timestamp_failure why = SIGN_TS_OK;
    int r;

    r = sign_timestamp_parse(&info, data, size);
    if (r != 0) {
        fuzz_check_error(r, "sign_timestamp_parse");
    } else {
        fuzz_touch(info.tsa);
        fuzz_touch(info.policy);
        fuzz_touch(info.serial);
        fuzz_touch(info.hash);
        if (strlen(info.tsa) >= sizeof(info.tsa) || strlen(info.serial) >= sizeof(info.serial)) {
            fuzz_fail("an info field is not terminated");
        }
    }
    /* Verification must refuse every input (none can be signed under this process's root), with a reason. */
    r = sign_timestamp_verify(&vinfo, &why, data, size, sig, sizeof(sig), fuzz_roots());
    if (r == 0 || why == SIGN_TS_OK) {
        fuzz_fail("sign_timestamp_verify accepted an input not signed under the trusted root");
    }
    fuzz_check_error(r, "sign_timestamp_verify");
    fuzz_touch(sign_timestamp_failure_name(why));
    return 0;
}
