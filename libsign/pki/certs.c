/*
 * Certificate and CRL containers (sign_x509_certs, sign_x509_crls): bounded
 * PEM/DER loads, DER export, keys, self-signed. Moved out of x509.c so that
 * the CRL fetch (crlfetch.c) and the chain checks (x509.c) both build on them
 * and x509.c -> crlfetch.c -> certs.c has no cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

/* ---- lists ------------------------------------------------------------ */

int sign_x509_certs_new(sign_x509_certs **out)
{
    sign_x509_certs *c;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->sk = sk_X509_new_null()) == NULL) {
        free(c);
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN_ENOMEM; /* literally non-zero: *out is set whenever 0 is returned */
    }
    *out = c;
    return 0;
}

void sign_x509_certs_free(sign_x509_certs *c)
{
    if (c == NULL) {
        return;
    }
    sk_X509_pop_free(c->sk, X509_free);
    free(c);
}

size_t sign_x509_certs_count(const sign_x509_certs *c)
{
    return c != NULL ? (size_t)sk_X509_num(c->sk) : 0;
}

X509 *sign__x509_cert_at(const sign_x509_certs *c, size_t i)
{
    if (c == NULL || i >= (size_t)sk_X509_num(c->sk)) {
        return NULL;
    }
    return sk_X509_value(c->sk, (int)i);
}

/* Append x (taken over, also on failure). */
int sign__x509_certs_push(sign_x509_certs *c, X509 *x, const char *what)
{
    /*
     * OpenSSL keeps a certificate whose public key it could not decode (an
     * unknown algorithm, or an allocation failing while decoding) and never
     * retries: such a certificate would verify nothing, so a policy root or
     * a chain holding one would fail later for a wrong reason.
     */
    if (X509_get0_pubkey(x) == NULL) {
        X509_free(x);
        ERR_clear_error();
        return sign__error(SIGN_EPARSE,
                           "%s: certificate %d: its public key cannot be decoded (an unsupported algorithm, or out "
                           "of memory)",
                           what, sk_X509_num(c->sk) + 1);
    }
    if (sk_X509_num(c->sk) >= SIGN_X509_MAX_ITEMS) {
        X509_free(x);
        return sign__error(SIGN_ELIMIT, "%s: more than %d certificates", what, SIGN_X509_MAX_ITEMS);
    }
    if (sk_X509_push(c->sk, x) <= 0) {
        X509_free(x);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

int sign_x509_certs_add_der(sign_x509_certs *c, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (c == NULL || der == NULL || len == 0 || len > SIGN_X509_FILE_MAX) {
        return sign__error(SIGN_EINVAL, "certificate: no data or too large");
    }
    if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
        return sign__ossl_error(SIGN_EPARSE, "certificate: malformed DER");
    }
    if (p != der + len) {
        X509_free(x);
        return sign__error(SIGN_EPARSE, "certificate: %zu bytes of trailing data after the DER certificate",
                           (size_t)(der + len - p));
    }
    return sign__x509_certs_push(c, x, "certificate");
}

static int looks_pem(const void *data, size_t len)
{
    return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

int sign_x509_certs_parse(sign_x509_certs **out, const void *data, size_t len, const char *what)
{
    sign_x509_certs *c = NULL;
    BIO *bio = NULL;
    int r;

    *out = NULL;
    if (what == NULL) {
        what = "certificates";
    }
    if (data == NULL || len == 0) {
        return sign__error(SIGN_EPARSE, "%s: empty; expected PEM or DER certificates", what);
    }
    if (len > SIGN_X509_FILE_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: larger than %u bytes", what, SIGN_X509_FILE_MAX);
    }
    if ((r = sign_x509_certs_new(&c)) != 0) {
        return r;
    }
    if (!looks_pem(data, len)) {
        if ((r = sign_x509_certs_add_der(c, data, len)) != 0) {
            sign__error_context(r, "%s", what);
            goto out;
        }
    } else {
        if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
            r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        for (;;) {
            X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

            if (x == NULL) {
                unsigned long e = ERR_peek_last_error();

                /* The end of the input ends the list; anything else is a malformed block. */
                if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                    r = sign__ossl_error(SIGN_EPARSE, "%s: malformed PEM certificate (number %d)", what,
                                         sk_X509_num(c->sk) + 1);
                    goto out;
                }
                ERR_clear_error();
                break;
            }
            if ((r = sign__x509_certs_push(c, x, what)) != 0) {
                goto out;
            }
        }
        if (sk_X509_num(c->sk) == 0) {
            r = sign__error(SIGN_EPARSE, "%s: holds no PEM certificate", what);
            goto out;
        }
    }
    *out = c;
    c = NULL; /* transferred */
    r = 0;
out:
    BIO_free(bio);
    sign_x509_certs_free(c);
    return r;
}

int sign_x509_certs_load(sign_x509_certs **out, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign__read_file(&data, &len, path, SIGN_X509_FILE_MAX)) != 0) {
        return r;
    }
    r = sign_x509_certs_parse(out, data, len, path);
    free(data);
    return r;
}

int sign_x509_certs_der(unsigned char **out, size_t *outlen, const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);
    unsigned char *der = NULL;
    int n;

    *out = NULL;
    *outlen = 0;
    if (x == NULL) {
        return sign__error(SIGN_EINVAL, "certificate %zu does not exist", i);
    }
    if ((n = i2d_X509(x, &der)) <= 0) {
        return sign__ossl_error(SIGN_ENOMEM, "cannot encode certificate %zu", i);
    }
    /* Copied so the caller frees with free(). */
    if ((*out = malloc((size_t)n)) == NULL) {
        OPENSSL_free(der);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(*out, der, (size_t)n);
    *outlen = (size_t)n;
    OPENSSL_free(der);
    return 0;
}

int sign_x509_certs_key(sign_key **out, const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);
    EVP_PKEY *pk;

    *out = NULL;
    if (x == NULL) {
        return sign__error(SIGN_EINVAL, "certificate %zu does not exist", i);
    }
    if ((pk = X509_get_pubkey(x)) == NULL) {
        return sign__ossl_error(SIGN_EUNSUPPORTED, "certificate: its public key cannot be decoded");
    }
    return sign__key_adopt(out, pk, 0, "certificate's public key");
}

int sign__x509_self_signed(X509 *x)
{
    int r = X509_self_signed(x, 1);

    ERR_clear_error();
    return r == 1;
}

int sign_x509_certs_self_signed(const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);

    return x != NULL && sign__x509_self_signed(x);
}

int sign_x509_crls_new(sign_x509_crls **out)
{
    sign_x509_crls *c;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->sk = sk_X509_CRL_new_null()) == NULL) {
        free(c);
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN_ENOMEM; /* literally non-zero: *out is set whenever 0 is returned */
    }
    *out = c;
    return 0;
}

void sign_x509_crls_free(sign_x509_crls *c)
{
    if (c == NULL) {
        return;
    }
    sk_X509_CRL_pop_free(c->sk, X509_CRL_free);
    free(c);
}

size_t sign_x509_crls_count(const sign_x509_crls *c)
{
    return c != NULL ? (size_t)sk_X509_CRL_num(c->sk) : 0;
}

int sign__x509_crls_push(sign_x509_crls *c, X509_CRL *x, const char *what)
{
    if (sk_X509_CRL_num(c->sk) >= SIGN_X509_MAX_ITEMS) {
        X509_CRL_free(x);
        return sign__error(SIGN_ELIMIT, "%s: more than %d CRLs", what, SIGN_X509_MAX_ITEMS);
    }
    if (sk_X509_CRL_push(c->sk, x) <= 0) {
        X509_CRL_free(x);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

int sign_x509_crls_merge(sign_x509_crls *to, sign_x509_crls *from)
{
    int r;

    while (sk_X509_CRL_num(from->sk) > 0) {
        if ((r = sign__x509_crls_push(to, sk_X509_CRL_shift(from->sk), "CRLs")) != 0) {
            return r;
        }
    }
    return 0;
}

int sign_x509_crls_parse(sign_x509_crls **out, const void *data, size_t len, const char *what)
{
    sign_x509_crls *c = NULL;
    BIO *bio = NULL;
    int r;

    *out = NULL;
    if (what == NULL) {
        what = "CRLs";
    }
    if (data == NULL || len == 0) {
        return sign__error(SIGN_EPARSE, "%s: empty; expected a PEM or DER certificate revocation list", what);
    }
    if (len > SIGN_X509_FILE_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: larger than %u bytes", what, SIGN_X509_FILE_MAX);
    }
    if ((r = sign_x509_crls_new(&c)) != 0) {
        return r;
    }
    if (!looks_pem(data, len)) {
        const unsigned char *p = data;
        X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);

        if (x == NULL) {
            r = sign__ossl_error(SIGN_EPARSE, "%s: malformed DER certificate revocation list", what);
            goto out;
        }
        if (p != (const unsigned char *)data + len) {
            X509_CRL_free(x);
            r = sign__error(SIGN_EPARSE, "%s: trailing data after the DER CRL", what);
            goto out;
        }
        if ((r = sign__x509_crls_push(c, x, what)) != 0) {
            goto out;
        }
    } else {
        if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
            r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        for (;;) {
            X509_CRL *x = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);

            if (x == NULL) {
                unsigned long e = ERR_peek_last_error();

                if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                    r = sign__ossl_error(SIGN_EPARSE, "%s: malformed PEM CRL (number %d)", what,
                                         sk_X509_CRL_num(c->sk) + 1);
                    goto out;
                }
                ERR_clear_error();
                break;
            }
            if ((r = sign__x509_crls_push(c, x, what)) != 0) {
                goto out;
            }
        }
        if (sk_X509_CRL_num(c->sk) == 0) {
            r = sign__error(SIGN_EPARSE, "%s: holds no PEM certificate revocation list", what);
            goto out;
        }
    }
    *out = c;
    c = NULL; /* transferred */
    r = 0;
out:
    BIO_free(bio);
    sign_x509_crls_free(c);
    return r;
}

int sign_x509_crls_load(sign_x509_crls **out, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign__read_file(&data, &len, path, SIGN_X509_FILE_MAX)) != 0) {
        return r;
    }
    r = sign_x509_crls_parse(out, data, len, path);
    free(data);
    return r;
}
