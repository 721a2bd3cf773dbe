/*
 * libsign/ (the .c files at the top): the signed formats (envelope, bundle, statement, policy,
 * event) and the signer, above util/, net/, pki/ and artifact/
 * (docs/architecture.md). Not installed.
 */
#ifndef SIGN_FORMATS_H
#define SIGN_FORMATS_H

#include <stdint.h>

#include "sign/artifact.h"
#include "sign/envelope.h"
#include "sign/key.h"
#include "sign/manifest.h"
#include "sign/policy.h"
#include "sign/revocation.h"
#include "sign/timestamp.h"
#include "sign/x509.h"
#include "pki.h"
#include "util.h"

/* Largest signature accepted from input (bytes, decoded). */
#define SIGN_MAX_SIGNATURE 16384

/* ---- envelope (envelope.c) ----------------------------------------------------- */

/* DSSE envelope <-> JSON object (used by the bundle). */
/* doc: the document obj was read from (its payload may be left in the text), or NULL. */
int sign__envelope_from_json(sign_envelope **out, const json_t *obj, const sign__json_doc *doc, const char *what);
/* The members of a DSSE envelope that are read (sign__json_parse_known); a bundle's dsseEnvelope uses them too. */
extern const sign__json_field sign__envelope_fields[];
json_t *sign__envelope_to_json(const sign_envelope *env);
/* The same with the payload's value the string SIGN__PAYLOAD_PLACEHOLDER, for the bundle's text to splice in. */
#define SIGN__PAYLOAD_PLACEHOLDER "\0signet-payload"
json_t *sign__envelope_to_json_placeholder(const sign_envelope *env);
/* sign_envelope_sign in two steps: the signature of env's PAE by key (reads env only), then added as key's. */
int sign__envelope_signature_make(unsigned char **sig, size_t *siglen, const sign_envelope *env, const sign_key *key);
int sign__envelope_signature_add(sign_envelope *env, const sign_key *key, const unsigned char *sig, size_t siglen);

/* ---- bundle (bundle.c) ------------------------------------------------------- */

/*
 * A bundle written in two steps, so that the payload (most of the file) is
 * written while the signature is made: sign__bundle_out_begin creates the
 * temporary file beside path and writes the text before the payload and the
 * payload; sign__bundle_out_finish checks that text against the bundle's
 * (env's, now signed), writes the rest (or everything again if it differs)
 * and moves the file into place as sign_bundle_write does. Either ends with
 * nothing left on failure; sign__bundle_out_abort drops a begun file.
 */
typedef struct sign__bundle_out {
    sign__atomic_file af;
    char *buf;
    const unsigned char *payload; /* the envelope's payload, as written */
    int open;
} sign__bundle_out;
int sign__bundle_out_begin(sign__bundle_out *bo, const sign_envelope *env, const char *path);
int sign__bundle_out_finish(sign__bundle_out *bo, const sign_bundle *b);
void sign__bundle_out_abort(sign__bundle_out *bo);

/*
 * The bundle's transparency-log entries: their number, and *error the first
 * structural fault found in them (NULL when every entry is well-formed).
 * verify/tlog.c checks their bodies, proofs, checkpoints and SETs.
 */
size_t sign__bundle_tlog(const sign_bundle *b, const char **error);
/* Entry i of tlogEntries (borrowed; well-formed when *error above is NULL), checked by verify/tlog.c. */
const json_t *sign__bundle_tlog_entry(const sign_bundle *b, size_t i);
/*
 * sign_bundle_read that also accepts a messageSignature bundle (issue 19):
 * then sign_bundle_envelope is NULL and sign__bundle_message describes it.
 * Only the verifier reads such bundles; every other reader keeps refusing them.
 */
int sign__bundle_read_message(sign_bundle **out, const char *path, const sign_limits *limits);
int sign__bundle_parse_message(sign_bundle **out, const void *data, size_t len, const sign_limits *limits);
/* A messageSignature: the signature over the artifact, and the digest the bundle claims for it (a hint). */
typedef struct sign__bundle_msg {
    const unsigned char *sig;
    size_t siglen;
    sign_digest_alg alg;
    const unsigned char *digest;
    size_t digestlen;
} sign__bundle_msg;
/* 1 and *out filled when b is a messageSignature bundle, else 0. */
int sign__bundle_message(const sign_bundle *b, sign__bundle_msg *out);

/* ---- statement (manifest.c) ---------------------------------------------------- */

/*
 * The serialised statement of the artifacts: the same bytes as
 * sign_statement_build + sign_statement_serialize, with the entries written
 * directly instead of through jansson (manifest.c).
 */
int sign__statement_payload(char **out, size_t *outlen, sign_artifact *const *artifacts, size_t n,
                            const sign_manifest_options *opts);
/*
 * Free the entries the statement records for its artifacts and their image
 * layers (already checked by sign_statement_parse), when the verify will not
 * compare them: freeing 20,000 of them took longer than a verify's whole-file
 * digest of the zip, and every attached bundle of an image kept all of its
 * layers' entries.
 */
void sign__statement_drop_entries(sign_statement *st);
/*
 * One more holder of st (returned): sign_statement_free frees it when the
 * last holder lets go. A statement with several holders is only read (the
 * reference counts are atomic; the statement itself is not changed).
 */
sign_statement *sign__statement_ref(sign_statement *st);
/*
 * Subject i's digests: each NULL when the subject does not list it (at least
 * one is listed). sign_statement_subject fails (SIGN_ENOTFOUND) for a subject
 * without sha256.
 */
int sign__statement_subject_digests(const char **name, const unsigned char **sha256, const unsigned char **sha384,
                                    const unsigned char **sha512, const sign_statement *st, size_t i);
/* The signet predicate's source object (borrowed), or NULL. */
const json_t *sign__statement_source(const sign_statement *st);
/* The source as a JSON object (libsign/git/source.c). */
int sign__source_to_json(json_t **out, const sign_source *s);

/* ---- policy (policy.c): the parsed trust policy, read by verify/ ---------------- */

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
    char *track; /* downgrade protection: versions are tracked under this name, or NULL: per artifact name */
} sign__policy_key;

/* ---- revocation lists (issue 15) ---- */
/*
 * A list in a compact binary form (libsign/revocation.c has the layout) for the verifier's cache, and back: the
 * read checks every field, order and text reference (SIGN_EPARSE when anything is off) and then looks entries up
 * in data itself, which must outlive the list; such a list cannot be changed. Not authenticated: the caller
 * decides whether the bytes can be trusted (verify/revocation_cache.c).
 */
int sign__revocation_index_write(unsigned char **out, size_t *outlen, const sign_revocation_list *l);
int sign__revocation_index_read(sign_revocation_list **out, const unsigned char *data, size_t len);
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
    char **issuers; /* globs over the leaf's OIDC issuer (Fulcio); none: any */
    size_t nissuers;
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
    /* ---- revocation lists (issue 15) ---- */
    sign__policy_revocation *revocation;
    size_t nrevocation;
    /* require */
    int64_t threshold;     /* >= 1 */
    int require_timestamp; /* every bundle must carry a verified RFC 3161 timestamp */
    int has_max_signature_age;
    int64_t max_signature_age; /* seconds */
    int require_entries;
    /* require.source: the statement must record a git source (libsign/git) matching these. */
    int require_source;
    char **source_repositories; /* globs over the recorded remote URL; NULL: any */
    size_t nsource_repositories;
    char **source_refs; /* globs over the recorded branch and tags (refs/...); NULL: any */
    size_t nsource_refs;
    int source_clean;                 /* dirty: true refused (default true) */
    int source_signed_tag;            /* an annotated, signed tag must point at the commit */
    int require_logged;               /* require.logged: each bundle used must be in the signing log (verify --log) */
    int require_tlog;                 /* require.tlog: verified transparency-log entries each bundle needs */
    sign__trusted_root *trusted_root; /* "trusted_root" or --trusted-root: logs, CAs, TSAs; or NULL */
    unsigned char sha256[SIGN_SHA256_LEN]; /* of the policy document's bytes, for audit events */
};

/* 1 when a statement of predicate type ptype counts for a signer allowed `types` ("*": any). */
int sign__policy_predicate_allowed(char *const *types, size_t n, const char *ptype);

#endif
