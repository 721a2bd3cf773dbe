/* The parsed trust policy, shared between policy.c and verify.c. Not installed. */
#ifndef SIGN_POLICY_INTERNAL_H
#define SIGN_POLICY_INTERNAL_H

#include <stdint.h>

#include "sign/sign.h"

/* One entry of "keys". */
typedef struct sign__policy_key {
    char *name;
    char *public_key;            /* resolved path of the public key file */
    sign_key *key;               /* the loaded public key */
    char keyid[SIGN_KEYID_SIZE]; /* standard base64 of SHA-256 over the SPKI */
    char **artifacts;            /* globs this signer may sign; never empty */
    size_t nartifacts;
    int has_not_before, has_not_after;
    int64_t not_before, not_after; /* seconds since the epoch */
    char *track; /* downgrade protection: versions are tracked under this name, or NULL: per artifact name */
} sign__policy_key;

/* ---- revocation lists (issue 15) ---- */
/* One entry of "revocation": a signed revocation list and who may sign it. */
typedef struct sign__policy_revocation {
    char *name;             /* "name", or the list path as written: the key of its state */
    char *list;             /* resolved path; the file may be missing at load (REVOCATION_LIST_MISSING at verify) */
    sign_key **authorities; /* loaded public keys of "authorities" */
    size_t nauthorities;
    int has_max_age;
    int64_t max_age; /* seconds */
    char *url;       /* http(s) URL for --fetch-revocation, or NULL */
} sign__policy_revocation;

/* One entry of "roots": its certificates and CRLs loaded at policy load. */
typedef struct sign__policy_root {
    char *name;
    char *certificates;  /* resolved paths */
    char *intermediates; /* or NULL */
    char **crls;
    size_t ncrls;
    char **subjects;
    size_t nsubjects;
    char *eku; /* "codeSigning" */
    char **artifacts;
    size_t nartifacts;
    sign_x509_certs *root_certs;         /* the trust anchors of "certificates" */
    sign_x509_certs *intermediate_certs; /* "intermediates", or NULL */
    sign_x509_crls *crl_list;            /* every CRL of "crls", or NULL when none is named */
} sign__policy_root;

struct sign_policy {
    sign_policy_mode mode;
    sign__policy_key *keys;
    size_t nkeys;
    sign__policy_root *roots;
    size_t nroots;
    size_t ntsas;              /* timestamp_authorities given */
    sign_tsa_roots *tsa_roots; /* their certificates (trusted TSA roots), loaded; NULL when ntsas == 0 */
    /* ---- revocation lists (issue 15) ---- */
    sign__policy_revocation *revocation;
    size_t nrevocation;
    /* require */
    int64_t threshold;     /* >= 1 */
    int require_timestamp; /* every bundle must carry a verified RFC 3161 timestamp */
    int has_max_signature_age;
    int64_t max_signature_age; /* seconds */
    int require_entries;
    unsigned char sha256[SIGN_SHA256_LEN]; /* of the policy document's bytes, for audit events */
};

#endif
