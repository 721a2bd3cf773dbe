/* Online revocation: the CRL fetch (crlfetch.c), called by the chain checks of x509.c. Not installed. */
#ifndef SIGN_CRLFETCH_H
#define SIGN_CRLFETCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "pki.h"

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

#endif
