/* The X.509 containers (certs.c), shared by certs.c, crlfetch.c and x509.c. Not installed. */
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

/* The certificate at i, borrowed (NULL when out of range). */
X509 *sign__x509_cert_at(const sign_x509_certs *c, size_t i);
/* Append x (taken over, also on failure); what names the list in messages. */
int sign__x509_certs_push(sign_x509_certs *c, X509 *x, const char *what);
int sign__x509_crls_push(sign_x509_crls *c, X509_CRL *x, const char *what);
/* 1 when x is self-signed (its signature verifies under its own key). */
int sign__x509_self_signed(X509 *x);

#endif
