/*
 * A client of the OCI distribution API v2 (docs/registry.md), over net/http:
 * references in the containers-image syntax (docker://HOST[:PORT]/REPO[:TAG
 * |@sha256:HEX]), anonymous, basic and bearer-token authentication (the
 * WWW-Authenticate challenge), credentials from the containers/docker auth
 * files, retries with backoff on 429 and 5xx, deadlines and size caps on
 * every request. It fetches and pushes bytes; it never decides trust (callers
 * hash what they get against the digests they expect). Not installed.
 *
 * Layer: net (it uses util and net only).
 */
#ifndef SIGN_REGCLIENT_H
#define SIGN_REGCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define SIGN__REG_PREFIX "docker://"
/* Largest manifest, index or token answer taken (bytes). */
#define SIGN__REG_DOC_MAX (4u * 1024u * 1024u)
/*
 * Largest bundle blob taken: as large as a local bundle file may be (sign_limits' json_max_bytes
 * default, 64 MiB). A bundle records every entry of the image, so it grows with the entry count:
 * 30000 files already make a 10 MB bundle, which the manifest cap above refused.
 */
#define SIGN__REG_BUNDLE_MAX (64u * 1024u * 1024u)

typedef struct sign__regref {
    char host[300];  /* HOST[:PORT] as written (the auth file key) */
    char repo[256];  /* lower-case path components */
    char tag[129];   /* "" when a digest was given; "latest" when neither */
    char digest[72]; /* "sha256:<64 hex>" or "" */
} sign__regref;

/* Parse ref ("docker://..."); SIGN_EINVAL with the reason when it is not one. */
int sign__regref_parse(sign__regref *out, const char *ref);
/* 1 when s starts with "docker://". */
int sign__regref_is(const char *s);

/* Options of a client. */
typedef struct sign__registry_options {
    int insecure;            /* plain HTTP to the reference's host (--tls-verify=false) */
    int push;                /* ask for push rights too (scope pull,push) */
    unsigned int timeout_ms; /* per request, retries included; 0: 60 s */
    const char *auth_file;   /* credentials file, or NULL: those of sign_registry_set_credential_files */
} sign__registry_options;

typedef struct sign__registry sign__registry;

/*
 * A client for ref's repository: pings /v2/ and authenticates as the
 * registry asks (anonymous, basic, or a bearer token for the repository's
 * scope). Errors name the registry and the cause: SIGN_ENETWORK (cannot
 * connect), SIGN_ETIMEOUT, SIGN_EHTTP (a refused status, 401 included).
 */
int sign__registry_open(sign__registry **out, const sign__regref *ref, const sign__registry_options *o);
/*
 * Let r go. Clients are cached (registry.c): an open for the same host, repository, options and
 * settings while r is in use, or within 30 s of its last free, gets the same client (its token and
 * its kept connections).
 */
void sign__registry_free(sign__registry *r);
/* The connections r has opened so far (its ping, token and requests; tests and figures). */
unsigned long sign__registry_connections(sign__registry *r);
/* (referrers.c) A client for reference under the public options (checked); ref receives the parsed reference. */
struct sign_registry_options;
int sign__registry_open_ref(sign__registry **reg, sign__regref *ref, const char *reference, int push,
                            const struct sign_registry_options *o);
/*
 * Every tag of the repository: GET /v2/REPO/tags/list?n=page, following the Link rel="next"
 * pages on the registry itself (at most 100000 tags). Names that are not valid tags are skipped.
 * *tags malloc'd (each malloc'd); free with sign_registry_strings_free.
 */
int sign__registry_list_tags(sign__registry *r, unsigned int page, char ***tags, size_t *n);
const char *sign__registry_name(const sign__registry *r); /* "HOST/REPO" */

/*
 * GET a manifest or index by tag or digest (Accept: every OCI and Docker
 * manifest type), at most SIGN__REG_DOC_MAX bytes. *data is malloc'd;
 * *media_type (malloc'd) is the Content-Type. 404: SIGN_ENOTFOUND.
 */
int sign__registry_get_manifest(sign__registry *r, const char *reference, unsigned char **data, size_t *len,
                                char **media_type);

/* GET a small blob (a config) by digest, at most max bytes. 404: SIGN_ENOTFOUND. */
int sign__registry_get_blob(sign__registry *r, const char *digest, size_t max, unsigned char **data, size_t *len);

/* 0 when the blob exists, SIGN_ENOTFOUND when the registry says 404, else an error. *size: its length or -1. */
int sign__registry_blob_exists(sign__registry *r, const char *digest, int64_t *size);

/*
 * Stream a blob's bytes to fn (redirects to another host followed with the
 * Authorization header dropped), at most max bytes. Retried only before the
 * first byte was delivered.
 */
int sign__registry_stream_blob(sign__registry *r, const char *digest, uint64_t max, sign__http_body_fn fn, void *arg);

/* Push a blob (POST then PUT ?digest=), skipped when it exists. */
int sign__registry_put_blob(sign__registry *r, const char *digest, const void *data, size_t len);

/* PUT a manifest or index under reference (a tag or its digest). */
int sign__registry_put_manifest(sign__registry *r, const char *reference, const char *media_type, const void *data,
                                size_t len);

/*
 * GET /v2/REPO/referrers/DIGEST (an index). SIGN_ENOTFOUND when the registry
 * has no referrers API (404): use the tag schema then.
 */
int sign__registry_referrers(sign__registry *r, const char *digest, unsigned char **data, size_t *len);

/* out = "sha256:<hex>" of the bytes (callers compare it with the digest they asked for). */
int sign__reg_digest_of(char out[72], const void *data, size_t len);

/* The tag schema fallback's tag of a digest: "sha256-<hex>". */
int sign__registry_fallback_tag(char *out, size_t size, const char *digest);

/*
 * Pure helpers (unit-tested without a registry).
 * Parse a WWW-Authenticate challenge: *scheme "basic" or "bearer", realm,
 * service, scope (each malloc'd or NULL). SIGN_EPARSE when malformed.
 */
int sign__reg_challenge_parse(const char *header, char **scheme, char **realm, char **service, char **scope);
/*
 * Credentials for host from the auth file at path (auths[host].auth, base64
 * "user:pass"): *userpass malloc'd "user:pass" or NULL when none. A file
 * that does not exist is no credentials; one that is malformed an error.
 */
int sign__reg_auth_lookup(char **userpass, const char *path, const char *host);
/*
 * (credhelper.c) The file's credHelpers[host] or credsStore helper:
 * "docker-credential-NAME get" (found on PATH; NAME a file name, never a
 * path) with host on its standard input. *userpass malloc'd "user:secret", or
 * NULL when the helper has none ("credentials not found"). Errors name the
 * helper and the cause, never the answer; a helper is killed after 30 s.
 */
int sign__reg_cred_helper(char **userpass, const char *name, const char *host);

#endif
