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
    char **predicate_types;        /* statement predicate types this key may sign; never empty ("*": any) */
    size_t npredicate_types;
} sign__policy_key;

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
    char **predicate_types; /* as for keys */
    size_t npredicate_types;
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
    size_t nrevocation;        /* always 0 in this version (refused at load) */
    /* require */
    int64_t threshold;     /* >= 1 */
    int require_timestamp; /* every bundle must carry a verified RFC 3161 timestamp */
    int has_max_signature_age;
    int64_t max_signature_age; /* seconds */
    int require_entries;
    unsigned char sha256[SIGN_SHA256_LEN]; /* of the policy document's bytes, for audit events */
};

/* 1 when a statement of predicate type ptype counts for a signer allowed `types` ("*": any). */
int sign__policy_predicate_allowed(char *const *types, size_t n, const char *ptype);

#endif
