/*
 * Test PKI made at test time with the OpenSSL API: certificates with chosen
 * validity, key type, EKU, key usage and digest; CRLs with chosen entries,
 * dates, reasons and signers; PKCS#12 files. Failures abort the test.
 */
#ifndef SIGNET_PKIGEN_H
#define SIGNET_PKIGEN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sign/sign.h"

/* Key types for pkigen_cert_opts.key. */
#define PKIGEN_EC256 "ec256"
#define PKIGEN_EC384 "ec384"
#define PKIGEN_ED25519 "ed25519"
#define PKIGEN_RSA2048 "rsa2048"
#define PKIGEN_RSA1024 "rsa1024"

typedef struct pkigen_cert_opts {
    const char *cn;          /* subject CN (O=signet test is added) */
    const char *key;         /* PKIGEN_*; NULL: ec256 */
    EVP_PKEY *use_key;       /* or this existing key (up-ref'd) */
    int64_t not_before;      /* epoch seconds; 0: now - 30 days */
    int64_t not_after;       /* 0: now + 30 days */
    int ca;                  /* CA:TRUE, keyUsage keyCertSign|cRLSign|digitalSignature (EKU only when eku is set) */
    const char *eku;         /* leaf EKU: NULL "codeSigning"; "none"; "serverAuth"; "timeStamping" (critical) */
    int no_key_usage;        /* leaf: no keyUsage extension at all */
    int no_digital_sig;      /* leaf: keyUsage without digitalSignature */
    const char *md;          /* "SHA256" (default), "SHA1", ... (ignored for Ed25519 issuers) */
    const char *email;       /* subjectAltName email, or NULL */
    const char *uri;         /* subjectAltName URI, or NULL */
    long serial;             /* 0: a counter */
    const char *crl_url;     /* CRL distribution point URI, or NULL */
    int empty_subject;       /* an empty subject DN (as Fulcio's): cn only names the certificate in messages */
    const char *oidc_issuer; /* Fulcio OIDC issuer extension 1.3.6.1.4.1.57264.1.8 (DER UTF8String), or NULL */
    const char *oidc_issuer_v1; /* the deprecated 1.3.6.1.4.1.57264.1.1 (raw bytes), or NULL */
} pkigen_cert_opts;

typedef struct pkigen_cert {
    X509 *x;
    EVP_PKEY *key;
} pkigen_cert;

/* A certificate issued by issuer (NULL: self-signed). Free with pkigen_cert_free. */
pkigen_cert *pkigen_cert_new(const pkigen_cert_opts *o, const pkigen_cert *issuer);
void pkigen_cert_free(pkigen_cert *c);
long pkigen_serial(const pkigen_cert *c);

/* Files: certificates (PEM, in order), private key (PKCS#8 PEM, unencrypted), DER certificate. */
void pkigen_write_certs(const char *path, const pkigen_cert *const *certs, size_t n);
void pkigen_write_der(const char *path, const pkigen_cert *c);
void pkigen_write_key(const char *path, const pkigen_cert *c);
/* PKCS#12 with the key, the certificate and the extra certs, under pass (AES-256, SHA-256 MAC). */
void pkigen_write_p12(const char *path, const pkigen_cert *c, const pkigen_cert *const *extra, size_t nextra,
                      const char *pass);

typedef struct pkigen_crl_entry {
    long serial;
    int64_t revoked_at; /* revocationDate */
    int reason;         /* CRL_REASON_* or -1 for none */
    int64_t invalidity; /* invalidityDate, 0 for none */
} pkigen_crl_entry;

/*
 * A CRL naming issuer as its issuer, signed by signer's key (NULL: the
 * issuer's), thisUpdate/nextUpdate (next 0: none).
 */
X509_CRL *pkigen_crl_new(const pkigen_cert *issuer, const pkigen_cert *signer, int64_t this_update,
                         int64_t next_update, const pkigen_crl_entry *e, size_t n, const char *md);
void pkigen_write_crl(const char *path, X509_CRL *crl, int der);

/* libsign objects of the same material. */
sign_x509_certs *pkigen_certs(const pkigen_cert *const *certs, size_t n);
sign_x509_crls *pkigen_crls(X509_CRL *const *crls, size_t n);

#endif
