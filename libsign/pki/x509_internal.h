/* X.509 internals shared between x509.c and crlfetch.c. Not installed. */
#ifndef SIGN_X509_INTERNAL_H
#define SIGN_X509_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "sign/x509.h"

struct sign_x509_certs {
    STACK_OF(X509) * sk;
};

struct sign_x509_crls {
    STACK_OF(X509_CRL) * sk;
};

/* How CRLs are fetched (from sign_x509_verify_options version 2). */
typedef struct sign__crl_fetch_opts {
    const char *cache_dir;   /* or NULL: no cache */
    unsigned int timeout_ms; /* total per fetch, > 0 */
    size_t max_bytes;        /* response body limit */
    int64_t now;             /* freshness of cached CRLs */
} sign__crl_fetch_opts;

/*
 * The CRL of cert from its CRL distribution points (fullName URIs, tried in
 * order; only http:// is fetched): a cached copy that still verifies under
 * issuer's key and is fresh at o->now (thisUpdate <= now < nextUpdate) is
 * used without a fetch; else the URI is fetched, and the CRL cached when it
 * names issuer and verifies under its key. Returns 0 with *out set and the
 * URI used in url and *cached set when the cached copy was used (*out NULL:
 * cert names no distribution point URI at all);
 * SIGN_EREVOKED when no URI gave a CRL, with every URI and its cause in why;
 * SIGN_ENOMEM. Nothing here decides revocation: the caller checks *out like
 * policy CRLs.
 */
int sign__crl_fetch_cert(sign_x509_crls **out, char *url, size_t urlsize, int *cached, X509 *cert, X509 *issuer,
                         const sign__crl_fetch_opts *o, char *why, size_t whysize);

/*
 * HTTP/1.x GET of an http:// URL with OpenSSL's HTTP client over a direct
 * connection (no proxy, no redirects, DER body expected), connect and
 * transfer bounded by timeout_ms in total, body at most max bytes. Returns 0
 * with the body in *out (malloc'd), or SIGN_EVERIFY with the cause in why
 * ("connection refused", "timed out after 2 s", "HTTP status 404 (Not
 * Found)", "response larger than N bytes", "redirected to URL", ...), or
 * SIGN_ENOMEM.
 */
int sign__http_get(unsigned char **out, size_t *outlen, const char *url, unsigned int timeout_ms, size_t max,
                   char *why, size_t whysize);
/* The same with der = 0: any body (a revocation list is JSON). */
int sign__http_get_body(unsigned char **out, size_t *outlen, const char *url, unsigned int timeout_ms, size_t max,
                        int der, char *why, size_t whysize);

#endif
