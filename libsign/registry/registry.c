/*
 * The distribution API v2 client (regclient.h): references, authentication,
 * retries, manifests, blobs and referrers over net/http.
 *
 * Our own HTTP client is enough here (no libcurl): it already streams bodies,
 * caps them, keeps deadlines, follows redirects under a policy and drops the
 * Authorization header when a redirect leaves the host; what the registry
 * adds (the challenge, tokens, retries) is above it, in this file.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sign/digest.h>
#include <sign/encoding.h>
#include <sign/registry.h>

#include "regclient.h"
#include "util.h"

#define REG_TIMEOUT_MS 60000u
#define REG_ATTEMPTS 4
#define REG_BACKOFF_MS 200u

static const char *const manifest_accept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct sign__registry {
    sign__regref ref;
    char base[340]; /* http[s]://HOST[:PORT] */
    char name[600]; /* HOST/REPO */
    char *userpass; /* from the auth file, or NULL (secret) */
    char *auth;     /* the Authorization header's value, or NULL (secret) */
    int insecure, push;
    unsigned int timeout_ms;
    char ca_extra[4400];   /* a certs.d directory's HOST[:PORT]/ca.crt trusted for this host, or "" */
    pthread_mutex_t lock;  /* auth: layer downloads run on several threads */
    sign__http_pool *pool; /* its connections, kept open between requests */
    /* the client cache (under kept_lock): what it was opened with, its users, when it was last let go */
    char *key;
    unsigned int users;
    int cached;
    uint64_t idle_since;
};

/* ---- references ------------------------------------------------------------------ */

int sign__regref_is(const char *s)
{
    return s != NULL && strncmp(s, SIGN__REG_PREFIX, strlen(SIGN__REG_PREFIX)) == 0;
}

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A repository path: components of [a-z0-9]+ joined by ".", "_", "__" or "-"+, separated by "/". */
static int repo_ok(const char *s)
{
    const char *p = s;

    if (*p == '\0') {
        return 0;
    }
    while (*p != '\0') {
        if (!is_lower_alnum(*p)) {
            return 0; /* a component starts with an alphanumeric */
        }
        while (is_lower_alnum(*p) || ((*p == '.' || *p == '_' || *p == '-') && p[1] != '\0' && p[1] != '/')) {
            p++;
        }
        if (*p == '/') {
            p++;
            if (*p == '\0') {
                return 0;
            }
        } else if (*p != '\0') {
            return 0;
        }
    }
    return 1;
}

static int tag_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 128 || !(is_lower_alnum(*s) || (*s >= 'A' && *s <= 'Z') || *s == '_')) {
        return 0;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int digest_ok(const char *s)
{
    return strncmp(s, "sha256:", 7) == 0 && strlen(s + 7) == 64 && strspn(s + 7, "0123456789abcdef") == 64;
}

/* HOST[:PORT]: a DNS name, an IPv4 address or [IPv6], and a decimal port. */
static int host_ok(const char *h)
{
    const char *colon;

    if (*h == '[') {
        const char *e = strchr(h, ']');

        if (e == NULL || strspn(h + 1, "0123456789abcdefABCDEF:.") != (size_t)(e - h - 1)) {
            return 0;
        }
        colon = e[1] == ':' ? e + 1 : NULL;
        if (e[1] != '\0' && colon == NULL) {
            return 0;
        }
    } else {
        colon = strchr(h, ':');
        if (strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                (colon != NULL ? (size_t)(colon - h) : strlen(h)) ||
            h == colon || *h == '\0') {
            return 0;
        }
    }
    if (colon != NULL) {
        long port = strtol(colon + 1, NULL, 10);

        if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
            port < 1 || port > 65535) {
            return 0;
        }
    }
    return 1;
}

int sign__regref_parse(sign__regref *out, const char *ref)
{
    const char *p, *slash, *at;
    char rest[512];
    char *colon;

    memset(out, 0, sizeof(*out));
    if (!sign__regref_is(ref)) {
        return sign__error(SIGN_EINVAL, "%.200s: not a registry reference (docker://HOST[:PORT]/REPO[:TAG])", ref);
    }
    p = ref + strlen(SIGN__REG_PREFIX);
    slash = strchr(p, '/');
    if (slash == NULL || (size_t)(slash - p) >= sizeof(out->host) || strlen(slash + 1) >= sizeof(rest)) {
        return sign__error(SIGN_EINVAL, "%.200s: a registry reference needs HOST/REPO", ref);
    }
    memcpy(out->host, p, (size_t)(slash - p));
    out->host[slash - p] = '\0';
    snprintf(rest, sizeof(rest), "%s", slash + 1);
    if (!host_ok(out->host)) {
        return sign__error(SIGN_EINVAL, "%.200s: \"%.100s\" is not a registry host[:port]", ref, out->host);
    }
    if ((at = strchr(rest, '@')) != NULL) {
        if (!digest_ok(at + 1)) {
            return sign__error(SIGN_EINVAL, "%.200s: the digest must be sha256:<64 lower-case hex>", ref);
        }
        snprintf(out->digest, sizeof(out->digest), "%s", at + 1);
        rest[at - rest] = '\0';
    }
    colon = strrchr(rest, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!tag_ok(colon + 1)) {
            return sign__error(SIGN_EINVAL, "%.200s: \"%.140s\" is not a valid tag", ref, colon + 1);
        }
        if (out->digest[0] == '\0') {
            snprintf(out->tag, sizeof(out->tag), "%s", colon + 1);
        } /* REPO:TAG@DIGEST: the digest wins, as skopeo does */
    }
    if (strlen(rest) >= sizeof(out->repo) || !repo_ok(rest)) {
        return sign__error(SIGN_EINVAL, "%.200s: \"%.200s\" is not a repository name (lower case, digits, . _ -)",
                           ref, rest);
    }
    snprintf(out->repo, sizeof(out->repo), "%s", rest);
    if (out->tag[0] == '\0' && out->digest[0] == '\0') {
        snprintf(out->tag, sizeof(out->tag), "latest");
    }
    return 0;
}

int sign__reg_digest_of(char out[72], const void *data, size_t len)
{
    unsigned char d[SIGN_SHA256_LEN];
    char hex[2 * SIGN_SHA256_LEN + 1];
    size_t n = 0;
    int r = sign_digest_buffer(d, sizeof(d), &n, SIGN_DIGEST_SHA256, data, len);

    if (r != 0) {
        return r;
    }
    sign_hex_encode(hex, sizeof(hex), d, sizeof(d));
    snprintf(out, 72, "sha256:%s", hex);
    return 0;
}

int sign__registry_fallback_tag(char *out, size_t size, const char *digest)
{
    if (digest == NULL || !digest_ok(digest) || size < 72) {
        return sign__error(SIGN_EINVAL, "not a sha256 digest: %.80s", digest != NULL ? digest : "(none)");
    }
    snprintf(out, size, "sha256-%s", digest + 7);
    return 0;
}

/* ---- challenges and credentials ---------------------------------------------------- */

/* One auth-param value at *pp: a token or a quoted string; malloc'd. */
static char *param_value(const char **pp)
{
    const char *p = *pp;
    char *v;
    size_t n = 0;

    if (*p == '"') {
        const char *q = ++p;

        v = malloc(strlen(p) + 1);
        if (v == NULL) {
            return NULL;
        }
        while (*q != '\0' && *q != '"') {
            if (*q == '\\' && q[1] != '\0') {
                q++;
            }
            v[n++] = *q++;
        }
        if (*q != '"') {
            free(v);
            return NULL;
        }
        v[n] = '\0';
        *pp = q + 1;
        return v;
    }
    n = strcspn(p, ", \t");
    if ((v = malloc(n + 1)) == NULL) {
        return NULL;
    }
    memcpy(v, p, n);
    v[n] = '\0';
    *pp = p + n;
    return v;
}

int sign__reg_challenge_parse(const char *header, char **scheme, char **realm, char **service, char **scope)
{
    const char *p = header;
    size_t n;

    *scheme = *realm = *service = *scope = NULL;
    if (header == NULL) {
        return sign__error(SIGN_EPARSE, "no WWW-Authenticate challenge");
    }
    p += strspn(p, " \t");
    n = strcspn(p, " \t");
    if (n == 5 && strncasecmp(p, "Basic", 5) == 0) {
        *scheme = sign__strdup("basic");
    } else if (n == 6 && strncasecmp(p, "Bearer", 6) == 0) {
        *scheme = sign__strdup("bearer");
    } else {
        return sign__error(SIGN_EPARSE, "unsupported authentication scheme in \"%.100s\"", header);
    }
    if (*scheme == NULL) {
        return sign__oom();
    }
    p += n;
    for (;;) {
        char name[32], **slot = NULL, *v;

        p += strspn(p, " \t,");
        if (*p == '\0') {
            break;
        }
        n = strcspn(p, "= \t");
        if (p[n] != '=' || n == 0 || n >= sizeof(name)) {
            goto bad;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        p += n + 1;
        if ((v = param_value(&p)) == NULL) {
            goto bad;
        }
        if (strcasecmp(name, "realm") == 0) {
            slot = realm;
        } else if (strcasecmp(name, "service") == 0) {
            slot = service;
        } else if (strcasecmp(name, "scope") == 0) {
            slot = scope;
        }
        if (slot != NULL && *slot == NULL) {
            *slot = v;
        } else {
            free(v); /* unknown or repeated: ignored */
        }
    }
    if (strcmp(*scheme, "bearer") == 0 && *realm == NULL) {
        goto bad;
    }
    return 0;
bad:
    free(*scheme);
    free(*realm);
    free(*service);
    free(*scope);
    *scheme = *realm = *service = *scope = NULL;
    return sign__error(SIGN_EPARSE, "malformed WWW-Authenticate challenge \"%.100s\"", header);
}

/* auths[host].auth of j: *userpass "user:pass" (malloc'd), or NULL when there is none. */
static int auths_entry(char **userpass, json_t *j, const char *path, const char *host)
{
    const char *b64 = json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"), host), "auth"));
    unsigned char *dec = NULL;
    size_t declen = 0;

    if (b64 == NULL || b64[0] == '\0') {
        return 0;
    }
    if (sign__b64_decode(&dec, &declen, b64, strlen(b64)) != 0 || memchr(dec, ':', declen) == NULL ||
        memchr(dec, '\0', declen) != NULL) {
        sign__free_secret(dec, declen);
        return sign__error(SIGN_EPARSE, "%s: auths[\"%.100s\"].auth is not base64 of user:password", path, host);
    }
    if ((*userpass = malloc(declen + 1)) == NULL) {
        sign__free_secret(dec, declen);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(*userpass, dec, declen);
    (*userpass)[declen] = '\0';
    sign__free_secret(dec, declen);
    return 0;
}

int sign__reg_auth_lookup(char **userpass, const char *path, const char *host)
{
    json_t *j = NULL;
    const char *helper, *store;
    int r;

    *userpass = NULL;
    if ((r = sign__json_read_file(&j, path, NULL)) != 0) {
        if (r == SIGN_ENOTFOUND || r == SIGN_EIO) {
            sign__error_clear();
            return 0; /* no file: no credentials */
        }
        return sign__error_context(r, "registry credentials");
    }
    /* As docker: the host's own helper, else the file's entry, else the default store (credsStore). */
    helper = json_string_value(json_object_get(json_object_get(j, "credHelpers"), host));
    store = json_string_value(json_object_get(j, "credsStore"));
    if (helper != NULL && helper[0] != '\0') {
        r = sign__reg_cred_helper(userpass, helper, host);
    } else if ((r = auths_entry(userpass, j, path, host)) == 0 && *userpass == NULL && store != NULL &&
               store[0] != '\0') {
        r = sign__reg_cred_helper(userpass, store, host);
    }
    if (r != 0) {
        r = sign__error_context(r, "registry credentials for %.100s (%s)", host, path);
    }
    json_decref(j);
    return r;
}

/*
 * The credentials files and the certs.d directories set by the caller (the library never reads the
 * environment): containers' /etc/containers/certs.d, docker's /etc/docker/certs.d.
 */
static pthread_mutex_t cred_lock = PTHREAD_MUTEX_INITIALIZER;
static char **cred_files;
static size_t cred_n;
static char **certs_dirs;
static size_t certs_n;
static unsigned long settings_gen;

/* Copies paths[0..n) (at most 16, none NULL) and swaps them in for *list under cred_lock. */
static int set_path_list(char ***list, size_t *list_n, const char *const *paths, size_t n, const char *what,
                         const char *whats)
{
    char **v = NULL;
    int r = 0;

    if (n > 16) {
        return sign__error(SIGN_EINVAL, "at most 16 %s", whats);
    }
    if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (paths[i] == NULL || (v[i] = sign__strdup(paths[i])) == NULL) {
            r = paths[i] == NULL ? sign__error(SIGN_EINVAL, "%s %zu is NULL", what, i) : sign__oom();
        }
    }
    if (r != 0) {
        for (size_t i = 0; i < n; i++) {
            free(v[i]);
        }
        free(v);
        return r;
    }
    pthread_mutex_lock(&cred_lock);
    for (size_t i = 0; i < *list_n; i++) {
        free((*list)[i]);
    }
    free(*list);
    *list = v;
    *list_n = n;
    settings_gen++; /* clients opened before are not taken from the cache again */
    pthread_mutex_unlock(&cred_lock);
    return 0;
}

int sign_registry_set_credential_files(const char *const *paths, size_t n)
{
    return set_path_list(&cred_files, &cred_n, paths, n, "credentials file", "credentials files");
}

int sign_registry_set_certs_dirs(const char *const *paths, size_t n)
{
    return set_path_list(&certs_dirs, &certs_n, paths, n, "certs.d directory", "certs.d directories");
}

/* The first certs.d directory's HOST[:PORT]/ca.crt that exists, for this registry's host only ("" if none). */
static void find_ca_extra(sign__registry *r)
{
    pthread_mutex_lock(&cred_lock);
    for (size_t i = 0; i < certs_n && r->ca_extra[0] == '\0'; i++) {
        snprintf(r->ca_extra, sizeof(r->ca_extra), "%s/%s/ca.crt", certs_dirs[i], r->ref.host);
        if (access(r->ca_extra, R_OK) != 0) {
            r->ca_extra[0] = '\0';
        }
    }
    pthread_mutex_unlock(&cred_lock);
}

/* The credentials for the host: auth_file alone when given, else the first set file with an entry for it. */
static int find_credentials(sign__registry *r, const char *auth_file)
{
    int rc = 0;

    if (auth_file != NULL) {
        return sign__reg_auth_lookup(&r->userpass, auth_file, r->ref.host);
    }
    pthread_mutex_lock(&cred_lock);
    for (size_t i = 0; i < cred_n && rc == 0 && r->userpass == NULL; i++) {
        rc = sign__reg_auth_lookup(&r->userpass, cred_files[i], r->ref.host);
    }
    pthread_mutex_unlock(&cred_lock);
    return rc;
}

/* ---- requests ------------------------------------------------------------------------ */

typedef struct spec {
    const char *method;
    const char *url;
    const char *accept;
    const char *ctype;
    const void *body;
    size_t len;
    size_t max;
    unsigned int redirects;
    sign__http_body_fn fn;
    void *arg;
    const char *what; /* "manifest sha256:..." for messages */
    int once;         /* no retry (the HTTPS probe of --tls-verify=false) */
} spec;

typedef struct counted {
    sign__http_body_fn fn;
    void *arg;
    uint64_t delivered;
} counted;

static int count_body(void *arg, const unsigned char *data, size_t len)
{
    counted *c = arg;

    c->delivered += len;
    return c->fn(c->arg, data, len);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void pct_append(char *out, size_t size, const char *s)
{
    size_t n = strlen(out);

    for (; *s != '\0' && n + 4 < size; s++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/,", *s) != NULL) {
            out[n++] = *s;
        } else {
            n += (size_t)snprintf(out + n, size - n, "%%%02X", (unsigned char)*s);
        }
    }
    out[n] = '\0';
}

static void str_append(char *out, size_t size, const char *s)
{
    size_t n = strlen(out);

    snprintf(out + n, size - n, "%s", s);
}

static int set_basic(sign__registry *r)
{
    char *b64 = NULL, *v;
    int rc;

    if ((rc = sign__b64_encode(&b64, (const unsigned char *)r->userpass, strlen(r->userpass))) != 0) {
        return rc;
    }
    if ((v = malloc(strlen(b64) + 7)) == NULL) {
        sign__free_secret(b64, strlen(b64));
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(v, strlen(b64) + 7, "Basic %s", b64);
    sign__free_secret(b64, strlen(b64));
    if (r->auth != NULL) {
        sign__free_secret(r->auth, strlen(r->auth));
    }
    r->auth = v;
    return 0;
}

/* 1 when realm is on the registry's own host (any port, either scheme): what --tls-verify=false covers. */
static int realm_is_registry_host(const sign__registry *r, const char *realm)
{
    sign__url ru, hu;
    char base[sizeof(r->base) + 2];

    snprintf(base, sizeof(base), "%s/", r->base);
    return sign__url_parse(&ru, realm) == 0 && sign__url_parse(&hu, base) == 0 && strcmp(ru.host, hu.host) == 0;
}

/* A bearer token from the realm for this repository's scope. */
static int get_token(sign__registry *r, const char *realm, const char *service)
{
    char url[SIGN__HTTP_URL_MAX];
    sign__http_response resp;
    sign__http_header h[1];
    sign__http_options o;
    json_t *j = NULL;
    const char *tok;
    char *basic = NULL, *v;
    int rc;

    if (strncmp(realm, "https://", 8) != 0 && !(r->insecure && realm_is_registry_host(r, realm))) {
        return sign__error(SIGN_EHTTP,
                           "registry %s: the token realm %.200s is not https (plain HTTP is taken only from the "
                           "registry's own host, with --tls-verify=false)",
                           r->ref.host, realm);
    }
    snprintf(url, sizeof(url), "%s%s", realm, strchr(realm, '?') != NULL ? "&" : "?");
    if (service != NULL) {
        str_append(url, sizeof(url), "service=");
        pct_append(url, sizeof(url), service);
        str_append(url, sizeof(url), "&");
    }
    str_append(url, sizeof(url), "scope=repository:");
    pct_append(url, sizeof(url), r->ref.repo);
    str_append(url, sizeof(url), r->push ? ":pull,push" : ":pull");
    memset(&o, 0, sizeof(o));
    o.what = "registry token";
    /* --tls-verify=false covers a token server on the registry's own host, and no other */
    o.flags = r->insecure && realm_is_registry_host(r, realm) ? SIGN__HTTP_TLS_NO_VERIFY : 0;
    o.timeout_ms = r->timeout_ms;
    o.max_body = 64u * 1024u;
    o.pool = r->pool;
    if (r->userpass != NULL) {
        if ((rc = set_basic(r)) != 0) {
            return rc;
        }
        basic = r->auth;
        r->auth = NULL;
        h[0].name = "Authorization";
        h[0].value = basic;
        o.headers = h;
        o.nheaders = 1;
    }
    rc = sign__http_request(&resp, "GET", url, NULL, 0, &o);
    if (basic != NULL) {
        sign__free_secret(basic, strlen(basic));
    }
    if (rc != 0) {
        sign__http_response_free(&resp);
        return sign__error_context(rc, "registry %s: getting a token", r->ref.host);
    }
    rc = sign__json_parse(&j, resp.body, resp.body_len, NULL, "token answer");
    sign__http_response_free(&resp);
    if (rc != 0) {
        return rc;
    }
    tok = json_string_value(json_object_get(j, "token"));
    if (tok == NULL) {
        tok = json_string_value(json_object_get(j, "access_token"));
    }
    if (tok == NULL || tok[0] == '\0' || strspn(tok, "\r\n") > 0 || strcspn(tok, "\r\n") != strlen(tok)) {
        json_decref(j);
        return sign__error(SIGN_EPARSE, "registry %s: the token server's answer has no usable token", r->ref.host);
    }
    if ((v = malloc(strlen(tok) + 8)) == NULL) {
        json_decref(j);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(v, strlen(tok) + 8, "Bearer %s", tok);
    json_decref(j);
    if (r->auth != NULL) {
        sign__free_secret(r->auth, strlen(r->auth));
    }
    r->auth = v;
    return 0;
}

/* Answer a 401's challenge: basic credentials or a bearer token. */
static int authenticate(sign__registry *r, const char *challenge)
{
    char *scheme, *realm, *service, *scope;
    int rc;

    if (sign__reg_challenge_parse(challenge, &scheme, &realm, &service, &scope) != 0 || scheme == NULL) {
        return sign__error(SIGN_EHTTP, "registry %s: HTTP status 401 (authentication required): %s", r->ref.host,
                           sign_error_last());
    }
    if (strcmp(scheme, "basic") == 0) {
        rc = r->userpass == NULL ? sign__error(SIGN_EHTTP,
                                               "registry %s: HTTP status 401: credentials required and none found "
                                               "for it ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
                                               "~/.docker/config.json)",
                                               r->ref.host)
                                 : set_basic(r);
    } else if (realm != NULL) {
        rc = get_token(r, realm, service);
    } else {
        rc = sign__error(SIGN_EHTTP, "registry %s: a bearer challenge without a realm", r->ref.host);
    }
    free(scheme);
    free(realm);
    free(service);
    free(scope);
    return rc;
}

/* One try of q; *status is the HTTP status (0 when none). */
static int try_once(sign__registry *r, const spec *q, sign__http_response *resp, counted *c, uint64_t deadline)
{
    sign__http_header h[2];
    sign__http_options o;
    uint64_t now = now_ms();
    char *auth = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    o.what = "registry";
    o.flags = r->insecure ? SIGN__HTTP_TLS_NO_VERIFY : 0;     /* only ever for the registry's own host and port */
    o.ca_extra = r->ca_extra[0] != '\0' ? r->ca_extra : NULL; /* idem: a redirect elsewhere does not get it */
    o.timeout_ms = deadline > now ? (unsigned int)(deadline - now) : 1u;
    o.max_body = q->max;
    o.max_redirects = q->redirects;
    o.content_type = q->ctype;
    o.pool = r->pool;
    if (q->accept != NULL) {
        h[o.nheaders].name = "Accept";
        h[o.nheaders].value = q->accept;
        o.nheaders++;
    }
    pthread_mutex_lock(&r->lock);
    if (r->auth != NULL && (auth = sign__strdup(r->auth)) == NULL) {
        pthread_mutex_unlock(&r->lock);
        return sign__oom();
    }
    pthread_mutex_unlock(&r->lock);
    if (auth != NULL) {
        h[o.nheaders].name = "Authorization";
        h[o.nheaders].value = auth;
        o.nheaders++;
    }
    if (q->fn != NULL) {
        o.on_body = count_body;
        o.arg = c;
    }
    o.headers = h; /* after they are filled (cppcheck does not follow the pointer) */
    rc = sign__http_request(resp, q->method, q->url, q->body, q->len, &o);
    if (auth != NULL) {
        sign__free_secret(auth, strlen(auth));
    }
    return rc;
}

/* q with authentication on a 401 (once) and retries with backoff on 429, 5xx and network errors. */
static int reg_do(sign__registry *r, const spec *q, sign__http_response *resp)
{
    uint64_t deadline = now_ms() + r->timeout_ms;
    counted c = {q->fn, q->arg, 0};
    int authed = 0, rc = 0;

    for (int attempt = 0; attempt < REG_ATTEMPTS + 1; attempt++) {
        unsigned int wait = REG_BACKOFF_MS << attempt;
        int retry;

        sign__http_response_free(resp);
        rc = try_once(r, q, resp, &c, deadline);
        if (rc == 0) {
            return 0;
        }
        if (rc == SIGN_EHTTP && resp->status == 401 && !authed) {
            authed = 1;
            pthread_mutex_lock(&r->lock);
            rc = authenticate(r, resp->www_authenticate);
            pthread_mutex_unlock(&r->lock);
            if (rc != 0) {
                return rc;
            }
            attempt--; /* not a retry */
            continue;
        }
        if (rc == SIGN_EHTTP && resp->status == 404) {
            return sign__error(SIGN_ENOTFOUND, "registry %s: %s not found (HTTP status 404)", r->name, q->what);
        }
        retry = (rc == SIGN_EHTTP && (resp->status == 429 || resp->status >= 500)) || rc == SIGN_ENETWORK;
        if (!retry || q->once || c.delivered > 0 || attempt == REG_ATTEMPTS - 1 || now_ms() + wait >= deadline) {
            break;
        }
        sleep_ms(wait);
    }
    return sign__error_context(rc, "registry %s: %s", r->name, q->what);
}

/* ---- the client ------------------------------------------------------------------------ */

static void registry_destroy(sign__registry *r)
{
    if (r == NULL) {
        return;
    }
    sign__http_pool_free(r->pool);
    free(r->key);
    if (r->userpass != NULL) {
        sign__free_secret(r->userpass, strlen(r->userpass));
    }
    if (r->auth != NULL) {
        sign__free_secret(r->auth, strlen(r->auth));
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

const char *sign__registry_name(const sign__registry *r)
{
    return r->name;
}

/* GET /v2/ on r->base (the API version check, and the first authentication). */
static int ping(sign__registry *r, int once)
{
    sign__http_response resp;
    char url[400];
    spec q;
    int rc;

    snprintf(url, sizeof(url), "%s/v2/", r->base);
    memset(&q, 0, sizeof(q));
    memset(&resp, 0, sizeof(resp));
    q.method = "GET";
    q.url = url;
    q.max = 64u * 1024u;
    q.what = "API version check (/v2/)";
    q.once = once;
    rc = reg_do(r, &q, &resp);
    sign__http_response_free(&resp);
    return rc;
}

/*
 * --tls-verify=false, as skopeo: HTTPS with the certificate unchecked, and plain HTTP when the host does
 * not speak TLS there (one HTTPS try, no retries; a timeout is not a reason to fall back).
 */
/* The hosts found to speak plain HTTP under --tls-verify=false in this process: probed once each. */
#define PLAIN_HOSTS_MAX 16
static pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
static char plain_hosts[PLAIN_HOSTS_MAX][300];
static size_t plain_n;

static int plain_known(const char *host, int add)
{
    int known = 0;

    pthread_mutex_lock(&plain_lock);
    for (size_t i = 0; i < plain_n && !known; i++) {
        known = strcmp(plain_hosts[i], host) == 0;
    }
    if (!known && add && plain_n < PLAIN_HOSTS_MAX) {
        snprintf(plain_hosts[plain_n++], sizeof(plain_hosts[0]), "%s", host);
    }
    pthread_mutex_unlock(&plain_lock);
    return known;
}

static int ping_insecure(sign__registry *r)
{
    char why[512], plain[512];
    int rc;

    if (plain_known(r->ref.host, 0)) {
        snprintf(r->base, sizeof(r->base), "http://%s", r->ref.host);
        return ping(r, 0);
    }
    if ((rc = ping(r, 1)) != SIGN_ENETWORK) {
        return rc;
    }
    snprintf(why, sizeof(why), "%s", sign_error_last());
    snprintf(r->base, sizeof(r->base), "http://%s", r->ref.host);
    sign__error_clear();
    if ((rc = ping(r, 0)) != 0) {
        snprintf(plain, sizeof(plain), "%s", sign_error_last());
        return sign__error(rc, "%s; over HTTPS: %s", plain, why);
    }
    (void)plain_known(r->ref.host, 1);
    return 0;
}

static int registry_new(sign__registry **out, const sign__regref *ref, const sign__registry_options *o)
{
    sign__registry *r;
    int rc;

    *out = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&r->lock, NULL);
    r->ref = *ref;
    r->insecure = o != NULL && o->insecure;
    r->push = o != NULL && o->push;
    r->timeout_ms = o != NULL && o->timeout_ms > 0 ? o->timeout_ms : REG_TIMEOUT_MS;
    snprintf(r->base, sizeof(r->base), "https://%s", ref->host);
    snprintf(r->name, sizeof(r->name), "%s/%s", ref->host, ref->repo);
    if ((r->pool = sign__http_pool_new()) == NULL) {
        registry_destroy(r);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    find_ca_extra(r);
    if ((rc = find_credentials(r, o != NULL ? o->auth_file : NULL)) != 0) {
        registry_destroy(r);
        return rc;
    }
    rc = r->insecure ? ping_insecure(r) : ping(r, 0);
    if (rc != 0) {
        registry_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
}

/*
 * The client cache. One command makes several calls on the same repository (verify by reference resolves
 * the tag, fetches the bundles, then streams the layers): they share one client, so one API check, one
 * token and one set of kept connections. A client is taken again for the same host, repository, options
 * and credential and certs.d settings, while it is in use or for KEPT_IDLE_MS after; the credentials file
 * is read when it is opened.
 */
#define KEPT_MAX 4
#define KEPT_IDLE_MS 30000u
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static sign__registry *kept[KEPT_MAX];

static char *client_key(const sign__regref *ref, const sign__registry_options *o)
{
    const char *af = o != NULL && o->auth_file != NULL ? o->auth_file : NULL;
    size_t n = strlen(ref->host) + strlen(ref->repo) + (af != NULL ? strlen(af) : 0) + 96;
    unsigned long gen;
    char *k;

    pthread_mutex_lock(&cred_lock);
    gen = settings_gen;
    pthread_mutex_unlock(&cred_lock);
    if ((k = malloc(n)) != NULL) {
        snprintf(k, n, "%s %s %d %d %u %lu %d%s", ref->host, ref->repo, o != NULL && o->insecure,
                 o != NULL && o->push, o != NULL ? o->timeout_ms : 0u, gen, af != NULL, af != NULL ? af : "");
    }
    return k;
}

/* Under kept_lock: the cached client for key (one more user), or NULL; idle ones past their time are freed. */
static sign__registry *kept_find(const char *key)
{
    uint64_t now = now_ms();
    sign__registry *found = NULL;

    for (size_t i = 0; i < KEPT_MAX; i++) {
        sign__registry *r = kept[i];

        if (r != NULL && r->users == 0 && now - r->idle_since > KEPT_IDLE_MS) {
            kept[i] = NULL;
            registry_destroy(r);
        } else if (r != NULL && found == NULL && strcmp(r->key, key) == 0) {
            found = r;
            r->users++;
        }
    }
    return found;
}

/* Under kept_lock: r into the cache, in a free slot or one of an idle client; not cached when all are busy. */
static void kept_add(sign__registry *r)
{
    for (size_t i = 0; i < KEPT_MAX && !r->cached; i++) {
        if (kept[i] == NULL || kept[i]->users == 0) {
            registry_destroy(kept[i]);
            kept[i] = r;
            r->cached = 1;
        }
    }
}

int sign__registry_open(sign__registry **out, const sign__regref *ref, const sign__registry_options *o)
{
    char *key = client_key(ref, o);
    sign__registry *r;
    int rc;

    *out = NULL;
    if (key == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&kept_lock);
    r = kept_find(key);
    pthread_mutex_unlock(&kept_lock);
    if (r != NULL) {
        free(key);
        *out = r;
        return 0;
    }
    if ((rc = registry_new(&r, ref, o)) != 0 || r == NULL) {
        free(key);
        return rc != 0 ? rc : sign__error(SIGN_ENOMEM, "out of memory");
    }
    r->key = key;
    r->users = 1;
    pthread_mutex_lock(&kept_lock);
    kept_add(r);
    pthread_mutex_unlock(&kept_lock);
    *out = r;
    return 0;
}

void sign__registry_free(sign__registry *r)
{
    int last;

    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&kept_lock);
    last = --r->users == 0 && !r->cached;
    r->idle_since = now_ms();
    pthread_mutex_unlock(&kept_lock);
    if (last) {
        registry_destroy(r);
    }
}

unsigned long sign__registry_connections(sign__registry *r)
{
    return sign__http_pool_opened(r->pool);
}

static int url_of(char *out, size_t size, const sign__registry *r, const char *kind, const char *reference)
{
    int n = snprintf(out, size, "%s/v2/%s/%s/%s", r->base, r->ref.repo, kind, reference);

    if (n < 0 || (size_t)n >= size) {
        return sign__error(SIGN_EINVAL, "registry URL too long");
    }
    return 0;
}

/* A request for one manifest or blob of the repository: its URL, its name in messages, its spec. */
typedef struct objreq {
    char url[SIGN__HTTP_URL_MAX];
    char what[200];
    spec q;
    sign__http_response resp;
} objreq;

/* method on /v2/REPO/KIND/REF (KIND "manifests", "blobs" or "referrers"; blobs may redirect), at most max bytes. */
static int obj_begin(objreq *o, const sign__registry *r, const char *method, const char *kind, const char *ref,
                     size_t max)
{
    int blob = strcmp(kind, "blobs") == 0;

    memset(&o->q, 0, sizeof(o->q));
    memset(&o->resp, 0, sizeof(o->resp));
    snprintf(o->what, sizeof(o->what), "%s %.100s",
             blob                             ? "blob"
             : strcmp(kind, "referrers") == 0 ? "referrers of"
                                              : "manifest",
             ref);
    o->q.method = method;
    o->q.url = o->url;
    o->q.max = max;
    o->q.redirects = blob ? 5 : 0;
    o->q.what = o->what;
    return url_of(o->url, sizeof(o->url), r, kind, ref);
}

/* Run o; its body (and Content-Type when ctype is not NULL) handed to the caller, malloc'd. */
static int obj_take(sign__registry *r, objreq *o, unsigned char **data, size_t *len, char **ctype)
{
    int rc = reg_do(r, &o->q, &o->resp);

    if (rc == 0) {
        *data = o->resp.body;
        *len = o->resp.body_len;
        o->resp.body = NULL;
        if (ctype != NULL) {
            *ctype = o->resp.content_type;
            o->resp.content_type = NULL;
        }
    }
    sign__http_response_free(&o->resp);
    return rc;
}

int sign__registry_get_manifest(sign__registry *r, const char *reference, unsigned char **data, size_t *len,
                                char **media_type)
{
    objreq o;
    int rc;

    *data = NULL;
    *len = 0;
    *media_type = NULL;
    if ((rc = obj_begin(&o, r, "GET", "manifests", reference, SIGN__REG_DOC_MAX)) != 0) {
        return rc;
    }
    o.q.accept = manifest_accept;
    return obj_take(r, &o, data, len, media_type);
}

int sign__registry_get_blob(sign__registry *r, const char *digest, size_t max, unsigned char **data, size_t *len)
{
    objreq o;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = obj_begin(&o, r, "GET", "blobs", digest, max)) != 0) {
        return rc;
    }
    return obj_take(r, &o, data, len, NULL);
}

int sign__registry_blob_exists(sign__registry *r, const char *digest, int64_t *size)
{
    objreq o;
    int rc;

    *size = -1;
    if ((rc = obj_begin(&o, r, "HEAD", "blobs", digest, 1)) != 0) {
        return rc;
    }
    rc = reg_do(r, &o.q, &o.resp);
    *size = o.resp.content_length;
    sign__http_response_free(&o.resp);
    return rc;
}

int sign__registry_stream_blob(sign__registry *r, const char *digest, uint64_t max, sign__http_body_fn fn, void *arg)
{
    objreq o;
    int rc;

    if ((rc = obj_begin(&o, r, "GET", "blobs", digest, max > SIZE_MAX ? SIZE_MAX : (size_t)max)) != 0) {
        return rc;
    }
    o.q.fn = fn;
    o.q.arg = arg;
    rc = reg_do(r, &o.q, &o.resp);
    sign__http_response_free(&o.resp);
    return rc;
}

/* An upload Location: absolute, or a path on the registry. */
static int upload_url(char *out, size_t size, const sign__registry *r, const char *loc, const char *digest)
{
    int n;

    if (loc == NULL || loc[0] == '\0') {
        return sign__error(SIGN_EPARSE, "registry %s: the upload answer has no Location", r->name);
    }
    n = snprintf(out, size, "%s%s%sdigest=%s", loc[0] == '/' ? r->base : "", loc,
                 strchr(loc, '?') != NULL ? "&" : "?", digest);
    if (n < 0 || (size_t)n >= size) {
        return sign__error(SIGN_EINVAL, "registry %s: upload URL too long", r->name);
    }
    if (strncmp(out, r->base, strlen(r->base)) != 0 || (out[strlen(r->base)] != '/')) {
        return sign__error(SIGN_EHTTP, "registry %s: the upload Location %.200s leaves the registry; refused",
                           r->name, loc);
    }
    return 0;
}

int sign__registry_put_blob(sign__registry *r, const char *digest, const void *data, size_t len)
{
    char url[SIGN__HTTP_URL_MAX], put[SIGN__HTTP_URL_MAX];
    sign__http_response resp;
    int64_t have;
    spec q;
    int rc = sign__registry_blob_exists(r, digest, &have);

    if (rc == 0) {
        return 0;
    }
    if (rc != SIGN_ENOTFOUND) {
        return rc;
    }
    sign__error_clear();
    snprintf(url, sizeof(url), "%s/v2/%s/blobs/uploads/", r->base, r->ref.repo);
    memset(&q, 0, sizeof(q));
    memset(&resp, 0, sizeof(resp));
    q.method = "POST";
    q.url = url;
    q.body = "";
    q.max = 64u * 1024u;
    q.what = "blob upload";
    if ((rc = reg_do(r, &q, &resp)) != 0) {
        sign__http_response_free(&resp);
        return rc;
    }
    rc = upload_url(put, sizeof(put), r, resp.location, digest);
    sign__http_response_free(&resp);
    if (rc != 0) {
        return rc;
    }
    q.method = "PUT";
    q.url = put;
    q.body = data;
    q.len = len;
    q.ctype = "application/octet-stream";
    rc = reg_do(r, &q, &resp);
    sign__http_response_free(&resp);
    return rc;
}

int sign__registry_put_manifest(sign__registry *r, const char *reference, const char *media_type, const void *data,
                                size_t len)
{
    char url[SIGN__HTTP_URL_MAX], what[200];
    sign__http_response resp;
    spec q;
    int rc;

    if ((rc = url_of(url, sizeof(url), r, "manifests", reference)) != 0) {
        return rc;
    }
    snprintf(what, sizeof(what), "pushing manifest %.100s", reference);
    memset(&q, 0, sizeof(q));
    memset(&resp, 0, sizeof(resp));
    q.method = "PUT";
    q.url = url;
    q.body = data;
    q.len = len;
    q.ctype = media_type;
    q.max = 64u * 1024u;
    q.what = what;
    rc = reg_do(r, &q, &resp);
    sign__http_response_free(&resp);
    return rc;
}

int sign__registry_referrers(sign__registry *r, const char *digest, unsigned char **data, size_t *len)
{
    objreq o;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = obj_begin(&o, r, "GET", "referrers", digest, SIGN__REG_DOC_MAX)) != 0) {
        return rc;
    }
    o.q.accept = "application/vnd.oci.image.index.v1+json";
    return obj_take(r, &o, data, len, NULL);
}

/* ---- tags ------------------------------------------------------------------------------ */

#define TAGS_MAX 100000u
#define TAG_PAGES_MAX 2000u

/* The next page's URL from a Link header (<URL>; rel="next"), on the registry itself; "" when none. */
static int next_page(char *out, size_t size, const sign__registry *r, const char *link)
{
    const char *lt, *gt;
    int n;

    out[0] = '\0';
    if (link == NULL || strstr(link, "rel=\"next\"") == NULL || (lt = strchr(link, '<')) == NULL ||
        (gt = strchr(lt, '>')) == NULL) {
        return 0;
    }
    lt++;
    if (*lt == '/') {
        n = snprintf(out, size, "%s%.*s", r->base, (int)(gt - lt), lt);
    } else {
        n = snprintf(out, size, "%.*s", (int)(gt - lt), lt);
    }
    if (n < 0 || (size_t)n >= size || strncmp(out, r->base, strlen(r->base)) != 0 || out[strlen(r->base)] != '/') {
        return sign__error(SIGN_EHTTP, "registry %s: the tags list's next page %.200s leaves the registry; refused",
                           r->name, out);
    }
    return 0;
}

/* Append the valid tags of one page's JSON ({"name": ..., "tags": [...] or null}). */
static int add_tags(sign__registry *r, const unsigned char *body, size_t len, char ***tags, size_t *n, size_t *cap)
{
    json_t *j = NULL, *v;
    size_t i;
    int rc = sign__json_parse(&j, body, len, NULL, "tags list");

    if (rc != 0) {
        return sign__error_context(rc, "registry %s", r->name);
    }
    json_array_foreach(json_object_get(j, "tags"), i, v)
    {
        const char *t = json_string_value(v);

        if (t == NULL || !tag_ok(t)) {
            continue; /* not a tag a reference can name */
        }
        if (*n >= TAGS_MAX) {
            rc = sign__error(SIGN_ELIMIT, "registry %s: more than %u tags", r->name, TAGS_MAX);
            break;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            char **nv = realloc(*tags, nc * sizeof(*nv));

            if (nv == NULL) {
                rc = sign__oom();
                break;
            }
            *tags = nv;
            *cap = nc;
        }
        if (((*tags)[*n] = sign__strdup(t)) == NULL) {
            rc = sign__oom();
            break;
        }
        (*n)++;
    }
    json_decref(j);
    return rc;
}

int sign__registry_list_tags(sign__registry *r, unsigned int page, char ***tags, size_t *n)
{
    char url[SIGN__HTTP_URL_MAX];
    sign__http_response resp;
    size_t cap = 0;
    int rc = 0;

    *tags = NULL;
    *n = 0;
    snprintf(url, sizeof(url), "%s/v2/%s/tags/list?n=%u", r->base, r->ref.repo, page > 0 ? page : 100u);
    memset(&resp, 0, sizeof(resp));
    for (unsigned int pages = 0; rc == 0 && url[0] != '\0'; pages++) {
        spec q;

        if (pages >= TAG_PAGES_MAX) {
            rc = sign__error(SIGN_ELIMIT, "registry %s: more than %u pages of tags", r->name, TAG_PAGES_MAX);
            break;
        }
        memset(&q, 0, sizeof(q));
        q.method = "GET";
        q.url = url;
        q.max = SIGN__REG_DOC_MAX;
        q.what = "tags list";
        if ((rc = reg_do(r, &q, &resp)) == 0 && (rc = add_tags(r, resp.body, resp.body_len, tags, n, &cap)) == 0) {
            rc = next_page(url, sizeof(url), r, resp.link);
        }
        sign__http_response_free(&resp);
    }
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++) {
            free((*tags)[i]);
        }
        free(*tags);
        *tags = NULL;
        *n = 0;
    }
    return rc;
}
