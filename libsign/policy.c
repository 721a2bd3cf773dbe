/* The trust policy file: strict parse, file references checked, glob matching. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki.h"
#include "formats.h"
#include "path.h"

/* Largest certificate or CRL file read while validating a policy. */
#define POLICY_PEM_MAX (16u * 1024 * 1024)
/* Longest field path in messages ("timestamp_authorities[123].certificates"). */
#define FIELD_MAX 128

typedef struct pol_ctx {
    const char *what;             /* the policy file, for messages */
    const char *basedir;          /* directory that relative paths resolve against, or NULL */
    const sign__trusted_root *tr; /* the policy's trusted_root, once loaded, or NULL */
    const char *tr_path;          /* a trusted root given beside the policy (verify --trusted-root), or NULL */
} pol_ctx;

static void free_strv(char **v, size_t n)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void sign_policy_free(sign_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->nkeys; i++) {
        sign__policy_key *k = &p->keys[i];

        free(k->name);
        free(k->public_key);
        sign_key_free(k->key);
        free_strv(k->artifacts, k->nartifacts);
        free_strv(k->predicate_types, k->npredicate_types);
        free(k->track);
    }
    free(p->keys);
    free_strv(p->source_repositories, p->nsource_repositories);
    free_strv(p->source_refs, p->nsource_refs);
    for (size_t i = 0; i < p->nrevocation; i++) {
        sign__policy_revocation *v = &p->revocation[i];

        free(v->name);
        free(v->list);
        free(v->url);
        for (size_t j = 0; j < v->nauthorities; j++) {
            sign_key_free(v->authorities[j]);
        }
        free(v->authorities);
    }
    free(p->revocation);
    for (size_t i = 0; i < p->nroots; i++) {
        sign__policy_root *r = &p->roots[i];

        free(r->name);
        free(r->certificates);
        free(r->intermediates);
        free_strv(r->crls, r->ncrls);
        free_strv(r->subjects, r->nsubjects);
        free_strv(r->issuers, r->nissuers);
        free(r->eku);
        free_strv(r->artifacts, r->nartifacts);
        free_strv(r->predicate_types, r->npredicate_types);
        sign_x509_certs_free(r->root_certs);
        sign_x509_certs_free(r->intermediate_certs);
        sign_x509_crls_free(r->crl_list);
    }
    free(p->roots);
    sign_tsa_roots_free(p->tsa_roots);
    sign__trusted_root_free(p->trusted_root);
    free(p);
}

sign_policy_mode sign_policy_get_mode(const sign_policy *p)
{
    return p->mode;
}

const char *sign_policy_mode_name(sign_policy_mode m)
{
    switch (m) {
    case SIGN_MODE_ENFORCE: return "enforce";
    case SIGN_MODE_WARN: return "warn";
    case SIGN_MODE_AUDIT: return "audit";
    default: return "unknown";
    }
}

size_t sign_policy_key_count(const sign_policy *p)
{
    return p->nkeys;
}

int sign_policy_glob_match(const char *pattern, const char *name)
{
    const char *subject = name;

    if (pattern == NULL || name == NULL) {
        return 0;
    }
    if (strchr(pattern, '/') == NULL) {
        subject = sign__path_base(name, 0);
    }
    return fnmatch(pattern, subject, FNM_PATHNAME) == 0 ? 1 : 0;
}

/* ---- field helpers ---------------------------------------------------- */

/* "prefix.key", or "key" when prefix is empty. */
static void field_name(char *out, size_t outsize, const char *prefix, const char *key)
{
    snprintf(out, outsize, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
}

static int only_keys(const pol_ctx *c, const json_t *obj, const char *const *allowed, const char *prefix)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        char f[FIELD_MAX];

        (void)v;
        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(allowed[i], key) == 0) {
                break;
            }
        }
        if (allowed[i] == NULL) {
            field_name(f, sizeof(f), prefix, key);
            return sign__error(SIGN_EPARSE, "%s: unknown field %s", c->what, f);
        }
    }
    return 0;
}

/* A string member; *out NULL when absent and not required. Empty strings are refused. */
static int get_string(const char **out, const pol_ctx *c, const json_t *obj, const char *prefix, const char *key,
                      int required)
{
    json_t *v = json_object_get(obj, key);
    char f[FIELD_MAX];

    *out = NULL;
    field_name(f, sizeof(f), prefix, key);
    if (v == NULL) {
        if (required) {
            return sign__error(SIGN_EPARSE, "%s: missing field %s", c->what, f);
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be a string", c->what, f);
    }
    if (json_string_length(v) == 0) {
        return sign__error(SIGN_EPARSE, "%s: %s must not be empty", c->what, f);
    }
    *out = json_string_value(v);
    return 0;
}

/* An array of non-empty strings, copied. Absent: *out NULL, *n 0. */
static int get_strv(char ***out, size_t *n, const pol_ctx *c, const json_t *obj, const char *prefix, const char *key,
                    int allow_empty)
{
    json_t *v = json_object_get(obj, key), *e;
    char f[FIELD_MAX];
    char **vec = NULL;
    size_t i, count = 0;
    int r = SIGN_ENOMEM;

    *out = NULL;
    *n = 0;
    field_name(f, sizeof(f), prefix, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_array(v)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an array of strings", c->what, f);
    }
    if (json_array_size(v) == 0 && !allow_empty) {
        return sign__error(SIGN_EPARSE, "%s: %s must not be empty", c->what, f);
    }
    if ((vec = calloc(json_array_size(v) + 1, sizeof(*vec))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || json_string_length(e) == 0) {
            r = sign__error(SIGN_EPARSE, "%s: %s[%zu] must be a non-empty string", c->what, f, i);
            goto out;
        }
        if ((vec[count] = sign__strdup(json_string_value(e))) == NULL) {
            r = sign__oom();
            goto out;
        }
        count++;
    }
    *out = vec;
    *n = count;
    vec = NULL; /* transferred */
    r = 0;
out:
    free_strv(vec, count);
    return r;
}

static int get_bool(int *out, const pol_ctx *c, const json_t *obj, const char *prefix, const char *key, int dflt)
{
    json_t *v = json_object_get(obj, key);
    char f[FIELD_MAX];

    *out = dflt;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        field_name(f, sizeof(f), prefix, key);
        return sign__error(SIGN_EPARSE, "%s: %s must be true or false", c->what, f);
    }
    *out = json_is_true(v);
    return 0;
}

static int get_time(int *has, int64_t *out, const pol_ctx *c, const json_t *obj, const char *prefix, const char *key)
{
    const char *s;
    char f[FIELD_MAX];
    int r;

    *has = 0;
    *out = 0;
    if ((r = get_string(&s, c, obj, prefix, key, 0)) != 0 || s == NULL) {
        return r;
    }
    if ((r = sign_parse_time(out, s)) != 0) {
        field_name(f, sizeof(f), prefix, key);
        return sign__error_context(r, "%s: %s", c->what, f);
    }
    *has = 1;
    return 0;
}

static int get_duration(int *has, int64_t *out, const pol_ctx *c, const json_t *obj, const char *prefix,
                        const char *key)
{
    const char *s;
    char f[FIELD_MAX];
    int r;

    *has = 0;
    *out = 0;
    if ((r = get_string(&s, c, obj, prefix, key, 0)) != 0 || s == NULL) {
        return r;
    }
    field_name(f, sizeof(f), prefix, key);
    if ((r = sign_parse_duration(out, s)) != 0) {
        return sign__error_context(r, "%s: %s", c->what, f);
    }
    if (*out == 0) {
        return sign__error(SIGN_EPARSE, "%s: %s: a duration of zero allows nothing", c->what, f);
    }
    *has = 1;
    return 0;
}

/* An array member (absent: NULL, not an error). */
static int get_array(json_t **out, const pol_ctx *c, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_array(v)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an array", c->what, key);
    }
    *out = v;
    return 0;
}

/* ---- files ------------------------------------------------------------ */

/* Resolve rel against the policy directory and check that it exists. */
static int resolve_path(char **out, const pol_ctx *c, const char *field, const char *rel)
{
    struct stat st;
    char *p = NULL;
    size_t n;

    *out = NULL;
    if (rel[0] == '/' || c->basedir == NULL || c->basedir[0] == '\0') {
        p = sign__strdup(rel);
    } else {
        if (!sign__add(&n, strlen(c->basedir), strlen(rel)) || !sign__add(&n, n, 2)) {
            return sign__error(SIGN_ELIMIT, "%s: %s: path too long", c->what, field);
        }
        if ((p = malloc(n)) != NULL) {
            snprintf(p, n, "%s/%s", c->basedir, rel);
        } else {
            sign__error(SIGN_ENOMEM, "out of memory");
        }
    }
    if (p == NULL) {
        return sign__oom();
    }
    if (stat(p, &st) != 0) {
        int code = errno == ENOENT || errno == ENOTDIR ? SIGN_ENOTFOUND : SIGN_EIO;

        sign__error(code, "%s: %s: %s: %s", c->what, field, p, strerror(errno));
        free(p);
        return code;
    }
    if (!S_ISREG(st.st_mode)) {
        sign__error(SIGN_EIO, "%s: %s: %s: not a regular file", c->what, field, p);
        free(p);
        return SIGN_EIO;
    }
    *out = p;
    return 0;
}

/* Check that path holds at least one PEM certificate (crl = 0) or CRL (crl = 1), and nothing else. */
static int check_pem(const pol_ctx *c, const char *field, const char *path, int crl)
{
    unsigned char *buf = NULL;
    size_t len = 0, count = 0;
    BIO *bio = NULL;
    int r;

    if ((r = sign__read_file(&buf, &len, path, POLICY_PEM_MAX)) != 0) {
        return sign__error_context(r, "%s: %s", c->what, field);
    }
    if (len > INT32_MAX || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "%s: %s: cannot read %s", c->what, field, path);
        goto out;
    }
    for (;;) {
        if (crl) {
            X509_CRL *x = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);

            if (x == NULL) {
                break;
            }
            X509_CRL_free(x);
        } else {
            X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

            if (x == NULL) {
                break;
            }
            X509_free(x);
        }
        count++;
    }
    ERR_clear_error();
    if (count == 0) {
        r = sign__error(SIGN_EPARSE, "%s: %s: %s holds no PEM %s", c->what, field, path,
                        crl ? "certificate revocation list" : "certificate");
        goto out;
    }
    r = 0;
out:
    BIO_free(bio);
    free(buf);
    return r;
}

/* A required or optional path member, resolved, checked to exist and, when pem >= 0, to parse. */
static int get_file(char **out, const pol_ctx *c, const json_t *obj, const char *prefix, const char *key,
                    int required, int pem)
{
    const char *s;
    char f[FIELD_MAX];
    char *p = NULL;
    int r;

    *out = NULL;
    if ((r = get_string(&s, c, obj, prefix, key, required)) != 0 || s == NULL) {
        return r;
    }
    field_name(f, sizeof(f), prefix, key);
    if ((r = resolve_path(&p, c, f, s)) != 0) {
        return r;
    }
    if (pem >= 0 && (r = check_pem(c, f, p, pem)) != 0) {
        free(p);
        return r;
    }
    *out = p;
    return 0;
}

/* ---- sections --------------------------------------------------------- */

static int parse_globs(char ***out, size_t *n, const pol_ctx *c, const json_t *obj, const char *prefix)
{
    int r;

    if ((r = get_strv(out, n, c, obj, prefix, "artifacts", 0)) != 0) {
        return r;
    }
    if (*out == NULL) {
        if ((*out = calloc(2, sizeof(char *))) == NULL || ((*out)[0] = sign__strdup("*")) == NULL) {
            free(*out);
            *out = NULL;
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        *n = 1;
    }
    return 0;
}

/*
 * "predicate_types": the in-toto predicate types whose statements count as
 * this signer's approval. Default: signet's manifest only, since a build
 * attestation (SLSA provenance, an SBOM) by a release key is not a release;
 * ["*"] accepts any type (foreign Sigstore bundles).
 */
static int parse_predicate_types(char ***out, size_t *n, const pol_ctx *c, const json_t *obj, const char *prefix)
{
    int r;

    if ((r = get_strv(out, n, c, obj, prefix, "predicate_types", 0)) != 0) {
        return r;
    }
    if (*out == NULL) {
        if ((*out = calloc(2, sizeof(char *))) == NULL || ((*out)[0] = sign__strdup(SIGN_PREDICATE_TYPE)) == NULL) {
            free(*out);
            *out = NULL;
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        *n = 1;
    }
    return 0;
}

int sign__policy_predicate_allowed(char *const *types, size_t n, const char *ptype)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(types[i], "*") == 0 || (ptype != NULL && strcmp(types[i], ptype) == 0)) {
            return 1;
        }
    }
    return 0;
}

static int parse_key(sign__policy_key *k, const pol_ctx *c, const json_t *obj, const char *prefix)
{
    static const char *const allowed[] = {"name",      "public_key",      "artifacts", "not_before",
                                          "not_after", "predicate_types", "track",     NULL};
    const char *name, *track;
    int r;

    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an object", c->what, prefix);
    }
    if ((r = only_keys(c, obj, allowed, prefix)) != 0) {
        return r;
    }
    if ((r = get_string(&name, c, obj, prefix, "name", 1)) != 0) {
        return r;
    }
    if ((k->name = sign__strdup(name)) == NULL) {
        return sign__oom();
    }
    /* downgrade protection (issue 15): versions tracked under this name */
    if ((r = get_string(&track, c, obj, prefix, "track", 0)) != 0) {
        return r;
    }
    if (track != NULL && (track[0] == '\0' || (k->track = sign__strdup(track)) == NULL)) {
        return track[0] == '\0' ? sign__error(SIGN_EPARSE, "%s: %s.track: empty name", c->what, prefix) : SIGN_ENOMEM;
    }
    if ((r = parse_globs(&k->artifacts, &k->nartifacts, c, obj, prefix)) != 0 ||
        (r = parse_predicate_types(&k->predicate_types, &k->npredicate_types, c, obj, prefix)) != 0) {
        return r;
    }
    if ((r = get_time(&k->has_not_before, &k->not_before, c, obj, prefix, "not_before")) != 0 ||
        (r = get_time(&k->has_not_after, &k->not_after, c, obj, prefix, "not_after")) != 0) {
        return r;
    }
    if (k->has_not_before && k->has_not_after && k->not_before >= k->not_after) {
        return sign__error(SIGN_EINVAL, "%s: %s: not_before is not earlier than not_after", c->what, prefix);
    }
    if ((r = get_file(&k->public_key, c, obj, prefix, "public_key", 1, -1)) != 0) {
        return r;
    }
    if ((r = sign_key_load_public(&k->key, k->public_key)) != 0) {
        /* A weak key (WEAK_KEY: small order, off the curve, tiny modulus) is named by the policy's name for it. */
        return sign__error_context(r, "%s: %s.public_key (key \"%s\")", c->what, prefix, k->name);
    }
    if ((r = sign_key_id(k->keyid, sizeof(k->keyid), k->key)) != 0) {
        return sign__error_context(r, "%s: %s.public_key", c->what, prefix);
    }
    return 0;
}

static int parse_keys(sign_policy *p, const pol_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *e;
    int r;

    if (arr == NULL || json_array_size(arr) == 0) {
        return 0;
    }
    if ((p->keys = calloc(json_array_size(arr), sizeof(*p->keys))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, e)
    {
        char prefix[FIELD_MAX];

        snprintf(prefix, sizeof(prefix), "keys[%zu]", i);
        p->nkeys = i + 1; /* freed by sign_policy_free even when half filled */
        if ((r = parse_key(&p->keys[i], c, e, prefix)) != 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->keys[j].name, p->keys[i].name) == 0) {
                return sign__error(SIGN_EINVAL, "%s: %s.name: duplicate key name \"%s\" (also keys[%zu])", c->what,
                                   prefix, p->keys[i].name, j);
            }
            /* By key id, and by value: one key in two encodings has two key ids and would count twice. */
            if ((strlen(p->keys[j].keyid) == strlen(p->keys[i].keyid) &&
                 CRYPTO_memcmp(p->keys[j].keyid, p->keys[i].keyid, strlen(p->keys[i].keyid)) == 0) ||
                sign__key_same(p->keys[j].key, p->keys[i].key)) {
                return sign__error(SIGN_EINVAL,
                                   "%s: %s.public_key: the same public key as keys[%zu] (\"%s\"); list each key once",
                                   c->what, prefix, j, p->keys[j].name);
            }
        }
    }
    return 0;
}

/* A roots[] entry without certificates: the trusted root's certificate authorities, self-signed ones as anchors. */
static int root_from_trusted_root(sign__policy_root *rt, const sign__trusted_root *tr)
{
    int r;

    if (tr == NULL) {
        return sign__error(SIGN_EPARSE, "certificates are needed when no trusted_root is given");
    }
    if ((r = sign_x509_certs_new(&rt->root_certs)) != 0 || (r = sign_x509_certs_new(&rt->intermediate_certs)) != 0) {
        return r;
    }
    for (size_t i = 0; i < tr->ncas; i++) {
        for (size_t j = 0; !tr->cas[i].tsa && j < sign_x509_certs_count(tr->cas[i].chain); j++) {
            X509 *x = sign__x509_cert_at(tr->cas[i].chain, j);

            r = sign__x509_certs_push_ref(sign__x509_self_signed(x) ? rt->root_certs : rt->intermediate_certs, x);
            if (r != 0) {
                return r;
            }
        }
    }
    if (sign_x509_certs_count(rt->root_certs) == 0) {
        return sign__error(SIGN_EINVAL, "the trusted root lists no certificate authority with a self-signed root");
    }
    return 0;
}

static int parse_root(sign__policy_root *rt, const pol_ctx *c, const json_t *obj, const char *prefix)
{
    static const char *const allowed[] = {"name", "certificates", "intermediates",   "crls",    "subjects",
                                          "eku",  "artifacts",    "predicate_types", "issuers", NULL};
    const char *s;
    char f[FIELD_MAX];
    int r;

    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an object", c->what, prefix);
    }
    if ((r = only_keys(c, obj, allowed, prefix)) != 0) {
        return r;
    }
    if ((r = get_string(&s, c, obj, prefix, "name", 1)) != 0) {
        return r;
    }
    if ((rt->name = sign__strdup(s)) == NULL) {
        return sign__oom();
    }
    if ((r = get_string(&s, c, obj, prefix, "eku", 0)) != 0) {
        return r;
    }
    if (s != NULL && sign_x509_eku_oid(s) == NULL) {
        return sign__error(SIGN_EPARSE,
                           "%s: %s.eku: \"%s\" is not a known extended key usage; use \"codeSigning\" (the "
                           "default), another name from docs/policy.md or a dotted OID",
                           c->what, prefix, s);
    }
    if ((rt->eku = sign__strdup(s != NULL ? s : "codeSigning")) == NULL) {
        return sign__oom();
    }
    if ((r = get_strv(&rt->subjects, &rt->nsubjects, c, obj, prefix, "subjects", 0)) != 0 ||
        (r = get_strv(&rt->issuers, &rt->nissuers, c, obj, prefix, "issuers", 0)) != 0 ||
        (r = parse_globs(&rt->artifacts, &rt->nartifacts, c, obj, prefix)) != 0 ||
        (r = parse_predicate_types(&rt->predicate_types, &rt->npredicate_types, c, obj, prefix)) != 0) {
        return r;
    }
    if ((r = get_file(&rt->certificates, c, obj, prefix, "certificates", c->tr == NULL, -1)) != 0 ||
        (r = get_file(&rt->intermediates, c, obj, prefix, "intermediates", 0, -1)) != 0) {
        return r;
    }
    if (rt->certificates == NULL) {
        /* Without certificates, the trusted root's certificate authorities (trusted_root). */
        if (rt->intermediates != NULL) {
            return sign__error(SIGN_EPARSE, "%s: %s.intermediates needs certificates", c->what, prefix);
        }
        if ((r = root_from_trusted_root(rt, c->tr)) != 0) {
            return sign__error_context(r, "%s: %s (trusted_root)", c->what, prefix);
        }
    } else if ((r = sign_x509_certs_load(&rt->root_certs, rt->certificates)) != 0) {
        return sign__error_context(r, "%s: %s.certificates", c->what, prefix);
    }
    if (rt->intermediates != NULL && (r = sign_x509_certs_load(&rt->intermediate_certs, rt->intermediates)) != 0) {
        return sign__error_context(r, "%s: %s.intermediates", c->what, prefix);
    }
    if ((r = get_strv(&rt->crls, &rt->ncrls, c, obj, prefix, "crls", 1)) != 0) {
        return r;
    }
    for (size_t i = 0; i < rt->ncrls; i++) {
        sign_x509_crls *one = NULL;
        char *resolved = NULL;

        snprintf(f, sizeof(f), "%s.crls[%zu]", prefix, i);
        if ((r = resolve_path(&resolved, c, f, rt->crls[i])) != 0) {
            return r;
        }
        free(rt->crls[i]);
        rt->crls[i] = resolved;
        if ((r = sign_x509_crls_load(&one, resolved)) != 0) {
            return sign__error_context(r, "%s: %s", c->what, f);
        }
        if (rt->crl_list == NULL) {
            rt->crl_list = one;
            one = NULL; /* transferred */
        } else {
            r = sign_x509_crls_merge(rt->crl_list, one);
            sign_x509_crls_free(one);
            one = NULL;
            if (r != 0) {
                return sign__error_context(r, "%s: %s", c->what, f);
            }
        }
    }
    return 0;
}

static int parse_roots(sign_policy *p, const pol_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *e;
    int r;

    if (arr == NULL || json_array_size(arr) == 0) {
        return 0;
    }
    if ((p->roots = calloc(json_array_size(arr), sizeof(*p->roots))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, e)
    {
        char prefix[FIELD_MAX];

        snprintf(prefix, sizeof(prefix), "roots[%zu]", i);
        p->nroots = i + 1;
        if ((r = parse_root(&p->roots[i], c, e, prefix)) != 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): set when parse_root() returned 0 */
            if (strcmp(p->roots[j].name, p->roots[i].name) == 0) {
                return sign__error(SIGN_EINVAL, "%s: %s.name: duplicate root name \"%s\" (also roots[%zu])", c->what,
                                   prefix, p->roots[i].name, j);
            }
        }
    }
    return 0;
}

/* The CRLs of an entry's "crls" (paths resolved against the policy), merged into *out (NULL when none). */
static int load_crl_files(sign_x509_crls **out, const pol_ctx *c, const json_t *obj, const char *prefix)
{
    char **paths = NULL, f[FIELD_MAX];
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = get_strv(&paths, &n, c, obj, prefix, "crls", 1)) != 0) {
        return r;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        sign_x509_crls *one = NULL;
        char *resolved = NULL;

        snprintf(f, sizeof(f), "%s.crls[%zu]", prefix, i);
        if ((r = resolve_path(&resolved, c, f, paths[i])) != 0) {
            break;
        }
        if ((r = sign_x509_crls_load(&one, resolved)) == 0) {
            if (*out == NULL) {
                *out = one;
                one = NULL; /* transferred */
            } else {
                r = sign_x509_crls_merge(*out, one);
            }
        }
        if (r != 0) {
            r = sign__error_context(r, "%s: %s", c->what, f);
        }
        sign_x509_crls_free(one);
        free(resolved);
    }
    free_strv(paths, n);
    if (r != 0) {
        sign_x509_crls_free(*out);
        *out = NULL;
    }
    return r;
}

/*
 * One timestamp_authorities[] entry: its trusted roots ("certificates", read by the x509 engine), the CRLs of
 * its TSA certificates ("crls"), the TSA policy OIDs it may issue under ("policies", default any) and the
 * largest accuracy accepted ("max_accuracy", default 60 s).
 */
static int parse_tsa(sign_policy *p, const pol_ctx *c, const json_t *e, const char *prefix)
{
    static const char *const allowed[] = {"name", "certificates", "intermediates", "crls", "policies", "max_accuracy",
                                          NULL};
    sign_tsa_authority a = SIGN_TSA_AUTHORITY_INIT;
    sign_x509_certs *certs = NULL, *inter = NULL;
    sign_x509_crls *crls = NULL;
    char *path = NULL, *ipath = NULL, **policies = NULL, f[FIELD_MAX];
    size_t npolicies = 0;
    const char *name;
    int has_acc = 0, r;
    int64_t acc = 0;

    if (!json_is_object(e)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an object", c->what, prefix);
    }
    if ((r = only_keys(c, e, allowed, prefix)) != 0 || (r = get_string(&name, c, e, prefix, "name", 1)) != 0 ||
        (r = get_duration(&has_acc, &acc, c, e, prefix, "max_accuracy")) != 0 ||
        (r = get_strv(&policies, &npolicies, c, e, prefix, "policies", 0)) != 0 ||
        (r = get_file(&path, c, e, prefix, "certificates", 1, -1)) != 0 ||
        (r = get_file(&ipath, c, e, prefix, "intermediates", 0, -1)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < npolicies; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(policies[i], 1);

        ASN1_OBJECT_free(o);
        ERR_clear_error();
        if (o == NULL) {
            r = sign__error(SIGN_EPARSE, "%s: %s.policies[%zu]: \"%s\" is not a dotted OID", c->what, prefix, i,
                            policies[i]);
            goto out;
        }
    }
    /*
     * The self-signed certificates are the authority's trusted roots; the others (the TSA's own certificate, an
     * intermediate) join the intermediates. Loaded now so verification reads no file.
     */
    if ((r = sign_x509_certs_load(&certs, path)) != 0) {
        field_name(f, sizeof(f), prefix, "certificates");
        r = sign__error_context(r, "%s: %s", c->what, f);
        goto out;
    }
    if (ipath != NULL && (r = sign_x509_certs_load(&inter, ipath)) != 0) {
        field_name(f, sizeof(f), prefix, "intermediates");
        r = sign__error_context(r, "%s: %s", c->what, f);
        goto out;
    }
    if ((r = load_crl_files(&crls, c, e, prefix)) != 0) {
        goto out;
    }
    a.roots = certs;
    a.intermediates = inter;
    a.crls = crls;
    a.policies = (const char *const *)policies;
    a.npolicies = npolicies;
    a.max_accuracy = has_acc ? acc : SIGN_TSA_MAX_ACCURACY;
    if ((r = sign_tsa_roots_add_authority(p->tsa_roots, name, &a)) != 0) {
        r = sign__error_context(r, "%s: %s", c->what, prefix);
    }
out:
    sign_x509_certs_free(certs);
    sign_x509_certs_free(inter);
    sign_x509_crls_free(crls);
    free_strv(policies, npolicies);
    free(path);
    free(ipath);
    return r;
}

static int parse_tsas(sign_policy *p, const pol_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *e;
    int r;

    if (arr == NULL || json_array_size(arr) == 0) {
        return 0;
    }
    if ((r = sign_tsa_roots_new(&p->tsa_roots)) != 0) {
        return r;
    }
    json_array_foreach(arr, i, e)
    {
        char prefix[FIELD_MAX];
        const char *name = json_string_value(json_object_get(e, "name"));

        snprintf(prefix, sizeof(prefix), "timestamp_authorities[%zu]", i);
        for (size_t j = 0; j < i && name != NULL; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(arr, j), "name"));

            if (other != NULL && strcmp(other, name) == 0) {
                return sign__error(SIGN_EINVAL,
                                   "%s: %s.name: duplicate name \"%s\" (also timestamp_authorities[%zu])", c->what,
                                   prefix, name, j);
            }
        }
        if ((r = parse_tsa(p, c, e, prefix)) != 0) {
            return r;
        }
        p->ntsas++;
    }
    return 0;
}

/* ---- revocation lists (issue 15) ---- */

/* rel against the policy directory, without requiring the file to exist (a list may come later). */
static int join_path(char **out, const pol_ctx *c, const char *field, const char *rel)
{
    size_t n;

    *out = NULL;
    if (rel == NULL || rel[0] == '\0') {
        return sign__error(SIGN_EPARSE, "%s: %s: empty path", c->what, field);
    }
    if (rel[0] == '/' || c->basedir == NULL || c->basedir[0] == '\0') {
        return (*out = sign__strdup(rel)) == NULL ? SIGN_ENOMEM : 0;
    }
    if (!sign__add(&n, strlen(c->basedir), strlen(rel)) || !sign__add(&n, n, 2)) {
        return sign__error(SIGN_ELIMIT, "%s: %s: path too long", c->what, field);
    }
    if ((*out = malloc(n)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(*out, n, "%s/%s", c->basedir, rel);
    return 0;
}

static int parse_one_revocation(sign__policy_revocation *v, const pol_ctx *c, const json_t *e, const char *prefix)
{
    static const char *const allowed[] = {"name", "list", "authorities", "max_age", "url", NULL};
    char f[FIELD_MAX];
    const char *name, *list, *url;
    char **auth = NULL, *path = NULL;
    size_t nauth = 0;
    int r;

    if (!json_is_object(e)) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an object", c->what, prefix);
    }
    if ((r = only_keys(c, e, allowed, prefix)) != 0 ||
        (r = get_duration(&v->has_max_age, &v->max_age, c, e, prefix, "max_age")) != 0 ||
        (r = get_string(&name, c, e, prefix, "name", 0)) != 0 ||
        (r = get_string(&list, c, e, prefix, "list", 1)) != 0 ||
        (r = get_string(&url, c, e, prefix, "url", 0)) != 0) {
        return r;
    }
    if (url != NULL && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        return sign__error(SIGN_EPARSE, "%s: %s.url must be an http:// or https:// URL", c->what, prefix);
    }
    field_name(f, sizeof(f), prefix, "list");
    if ((r = join_path(&v->list, c, f, list)) != 0) {
        return r;
    }
    if ((v->name = sign__strdup(name != NULL ? name : list)) == NULL ||
        (url != NULL && (v->url = sign__strdup(url)) == NULL)) {
        return sign__oom();
    }
    if ((r = get_strv(&auth, &nauth, c, e, prefix, "authorities", 0)) != 0) {
        return r;
    }
    if (auth == NULL || nauth == 0) {
        free_strv(auth, nauth);
        return sign__error(SIGN_EPARSE, "%s: %s.authorities must name at least one public key", c->what, prefix);
    }
    if ((v->authorities = calloc(nauth, sizeof(*v->authorities))) == NULL) {
        free_strv(auth, nauth);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < nauth && r == 0; j++) {
        snprintf(f, sizeof(f), "%s.authorities[%zu]", prefix, j);
        if ((r = resolve_path(&path, c, f, auth[j])) == 0) {
            if ((r = sign_key_load_public(&v->authorities[j], path)) != 0) {
                r = sign__error_context(r, "%s: %s (%s)", c->what, f, path);
            } else {
                v->nauthorities = j + 1;
            }
            free(path);
        }
    }
    free_strv(auth, nauth);
    return r;
}

static int parse_revocation(sign_policy *p, const pol_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *e;
    int r;

    if (arr == NULL || json_array_size(arr) == 0) {
        return 0;
    }
    if ((p->revocation = calloc(json_array_size(arr), sizeof(*p->revocation))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, e)
    {
        char prefix[FIELD_MAX];

        snprintf(prefix, sizeof(prefix), "revocation[%zu]", i);
        p->nrevocation = i + 1; /* freed by sign_policy_free even when half filled */
        if ((r = parse_one_revocation(&p->revocation[i], c, e, prefix)) != 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            if (p->revocation[j].name != NULL && p->revocation[i].name != NULL &&
                strcmp(p->revocation[j].name, p->revocation[i].name) == 0) {
                return sign__error(SIGN_EINVAL,
                                   "%s: %s.name: duplicate revocation list name \"%s\" (also revocation[%zu])",
                                   c->what, prefix, p->revocation[i].name, j);
            }
        }
    }
    return 0;
}

/* require.source: {"repositories": [globs], "refs": [globs], "clean": true, "signed_tag": false}. */
static int parse_require_source(sign_policy *p, const pol_ctx *c, const json_t *obj)
{
    static const char *const allowed[] = {"repositories", "refs", "clean", "signed_tag", NULL};
    int r;

    if (obj == NULL) {
        return 0;
    }
    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s: require.source must be an object", c->what);
    }
    p->require_source = 1;
    if ((r = only_keys(c, obj, allowed, "require.source")) != 0 ||
        (r = get_strv(&p->source_repositories, &p->nsource_repositories, c, obj, "require.source", "repositories",
                      0)) != 0 ||
        (r = get_strv(&p->source_refs, &p->nsource_refs, c, obj, "require.source", "refs", 0)) != 0 ||
        (r = get_bool(&p->source_clean, c, obj, "require.source", "clean", 1)) != 0 ||
        (r = get_bool(&p->source_signed_tag, c, obj, "require.source", "signed_tag", 0)) != 0) {
        return r;
    }
    return 0;
}

static int parse_require(sign_policy *p, const pol_ctx *c, const json_t *obj)
{
    static const char *const allowed[] = {
        "threshold", "timestamp", "max_signature_age", "entries", "source", "logged", "tlog", NULL};
    json_t *t;
    int r;

    p->threshold = 1;
    if (obj == NULL) {
        return 0;
    }
    if (!json_is_object(obj)) {
        return sign__error(SIGN_EPARSE, "%s: require must be an object", c->what);
    }
    if ((r = only_keys(c, obj, allowed, "require")) != 0) {
        return r;
    }
    if ((t = json_object_get(obj, "threshold")) != NULL) {
        if (!json_is_integer(t)) {
            return sign__error(SIGN_EPARSE, "%s: require.threshold must be an integer", c->what);
        }
        if (json_integer_value(t) < 1) {
            return sign__error(SIGN_EINVAL, "%s: require.threshold must be at least 1 (got %lld)", c->what,
                               (long long)json_integer_value(t));
        }
        p->threshold = json_integer_value(t);
    }
    if ((t = json_object_get(obj, "tlog")) != NULL) {
        if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 16) {
            return sign__error(SIGN_EPARSE, "%s: require.tlog must be an integer from 0 to 16", c->what);
        }
        p->require_tlog = (int)json_integer_value(t);
    }
    if ((r = get_bool(&p->require_timestamp, c, obj, "require", "timestamp", 0)) != 0 ||
        (r = get_bool(&p->require_entries, c, obj, "require", "entries", 0)) != 0 ||
        (r = get_bool(&p->require_logged, c, obj, "require", "logged", 0)) != 0 ||
        (r = parse_require_source(p, c, json_object_get(obj, "source"))) != 0 ||
        (r = get_duration(&p->has_max_signature_age, &p->max_signature_age, c, obj, "require",
                          "max_signature_age")) != 0) {
        return r;
    }
    return 0;
}

/* "trusted_root": a Sigstore trusted_root.json, relative to the policy (its logs, authorities and CAs). */
static int parse_trusted_root(sign_policy *p, const pol_ctx *c, const json_t *root)
{
    char *path = NULL;
    int r;

    if ((r = get_file(&path, c, root, "", "trusted_root", 0, -1)) != 0) {
        return r;
    }
    if (path != NULL && c->tr_path != NULL) {
        free(path);
        return sign__error(SIGN_EINVAL,
                           "%s: trusted_root is set, and another trusted root was given beside the "
                           "policy (--trusted-root): give one",
                           c->what);
    }
    if (path == NULL && c->tr_path == NULL) {
        return 0;
    }
    r = sign__trusted_root_read(&p->trusted_root, path != NULL ? path : c->tr_path, NULL);
    free(path);
    return r != 0 ? sign__error_context(r, "%s: trusted_root", c->what) : 0;
}

/* The trusted root's timestamp authorities join timestamp_authorities (their chains may include the TSA leaf). */
static int trusted_root_tsas(sign_policy *p)
{
    const sign__trusted_root *tr = p->trusted_root;
    int r;

    for (size_t i = 0; tr != NULL && i < tr->ncas; i++) {
        sign_tsa_authority a = SIGN_TSA_AUTHORITY_INIT;
        char name[48];

        if (!tr->cas[i].tsa) {
            continue;
        }
        if (p->tsa_roots == NULL && (r = sign_tsa_roots_new(&p->tsa_roots)) != 0) {
            return r;
        }
        snprintf(name, sizeof(name), "trusted_root.timestampAuthorities[%zu]", i);
        a.roots = tr->cas[i].chain;
        a.max_accuracy = SIGN_TSA_MAX_ACCURACY;
        /* validFor: the authority vouches only for timestamps inside it */
        a.has_window = 1;
        a.valid_from = tr->cas[i].valid.start;
        a.valid_until = tr->cas[i].valid.end;
        a.has_until = tr->cas[i].valid.has_end;
        if ((r = sign_tsa_roots_add_authority(p->tsa_roots, name, &a)) != 0) {
            return r;
        }
        p->ntsas++;
    }
    return 0;
}

static int policy_from_json(sign_policy **out, const json_t *root, const pol_ctx *c)
{
    static const char *const allowed[] = {"version",    "mode",    "keys",         "roots", "timestamp_authorities",
                                          "revocation", "require", "trusted_root", NULL};
    sign_policy *p = NULL;
    pol_ctx cc = *c;
    json_t *v, *keys, *roots, *tsas, *revs;
    const char *mode;
    int r;

    *out = NULL;
    if (!json_is_object(root)) {
        return sign__error(SIGN_EPARSE, "%s: a policy must be a JSON object", c->what);
    }
    if ((r = only_keys(c, root, allowed, "")) != 0) {
        return r;
    }
    v = json_object_get(root, "version");
    if (v == NULL) {
        return sign__error(SIGN_EPARSE, "%s: missing field version (must be 1)", c->what);
    }
    if (!json_is_integer(v)) {
        return sign__error(SIGN_EPARSE, "%s: version must be the integer 1", c->what);
    }
    if (json_integer_value(v) != 1) {
        return sign__error(SIGN_EUNSUPPORTED,
                           "%s: policy version %lld is not supported (this signet reads version 1)", c->what,
                           (long long)json_integer_value(v));
    }
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if ((r = get_string(&mode, c, root, "", "mode", 0)) != 0) {
        goto out;
    }
    if (mode == NULL || strcmp(mode, "enforce") == 0) {
        p->mode = SIGN_MODE_ENFORCE;
    } else if (strcmp(mode, "warn") == 0) {
        p->mode = SIGN_MODE_WARN;
    } else if (strcmp(mode, "audit") == 0) {
        p->mode = SIGN_MODE_AUDIT;
    } else {
        r = sign__error(SIGN_EPARSE, "%s: mode \"%s\" is not one of enforce, warn, audit", c->what, mode);
        goto out;
    }
    if ((r = get_array(&keys, c, root, "keys")) != 0 || (r = get_array(&roots, c, root, "roots")) != 0 ||
        (r = get_array(&tsas, c, root, "timestamp_authorities")) != 0 ||
        (r = get_array(&revs, c, root, "revocation")) != 0) {
        goto out;
    }
    if ((r = parse_trusted_root(p, c, root)) != 0) {
        goto out;
    }
    cc.tr = p->trusted_root;
    if ((r = parse_require(p, c, json_object_get(root, "require"))) != 0 || (r = parse_keys(p, c, keys)) != 0 ||
        (r = parse_roots(p, &cc, roots)) != 0 || (r = parse_tsas(p, c, tsas)) != 0 ||
        (r = trusted_root_tsas(p)) != 0 || (r = parse_revocation(p, c, revs)) != 0) {
        goto out;
    }
    if (p->nkeys == 0 && p->nroots == 0) {
        r = sign__error(SIGN_EINVAL, "%s: the policy trusts nothing: list at least one key or root", c->what);
        goto out;
    }
    *out = p;
    p = NULL; /* transferred */
    r = 0;
out:
    sign_policy_free(p);
    return r;
}

int sign_policy_parse(sign_policy **out, const void *data, size_t len, const char *basedir, const sign_limits *limits)
{
    pol_ctx c = {"policy", basedir, NULL, NULL};
    sign_policy *p = NULL;
    json_t *root = NULL;
    int r;

    *out = NULL;
    if (data == NULL) {
        return sign__error(SIGN_EINVAL, "policy: no data");
    }
    if ((r = sign__json_parse(&root, data, len, limits, c.what)) != 0) {
        return r;
    }
    r = policy_from_json(&p, root, &c);
    json_decref(root);
    if (r == 0 && p != NULL &&
        (r = sign_digest_buffer(p->sha256, sizeof(p->sha256), NULL, SIGN_DIGEST_SHA256, data, len)) == 0) {
        *out = p;
        p = NULL; /* transferred */
    }
    sign_policy_free(p);
    return r;
}

int sign_policy_load(sign_policy **out, const char *path, const sign_limits *limits)
{
    return sign_policy_load_trusted_root(out, path, NULL, limits);
}

int sign_policy_load_trusted_root(sign_policy **out, const char *path, const char *trusted_root,
                                  const sign_limits *limits)
{
    pol_ctx c = {path, NULL, NULL, trusted_root};
    sign_policy *p = NULL;
    json_t *root = NULL;
    unsigned char *text = NULL;
    unsigned char sha256[SIGN_SHA256_LEN];
    size_t len = 0;
    char *dir = NULL;
    const char *slash;
    sign_limits lim;
    int r;

    *out = NULL;
    if (path == NULL) {
        return sign__error(SIGN_EINVAL, "policy: no path");
    }
    /* The bytes are kept for the digest that audit events record: which policy decided. */
    if ((r = sign__limits(&lim, limits)) != 0 || (r = sign__read_file(&text, &len, path, lim.json_max_bytes)) != 0 ||
        (r = sign__json_parse(&root, text, len, limits, path)) != 0 ||
        (r = sign_digest_buffer(sha256, sizeof(sha256), NULL, SIGN_DIGEST_SHA256, text, len)) != 0) {
        goto out;
    }
    slash = strrchr(path, '/');
    if (slash != NULL) {
        size_t n = (size_t)(slash - path);

        if ((dir = malloc(n + 2)) == NULL) {
            r = sign__error(SIGN_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(dir, path, n);
        if (n == 0) {
            dir[n++] = '/';
        }
        dir[n] = '\0';
        c.basedir = dir;
    }
    if ((r = policy_from_json(&p, root, &c)) == 0 && p != NULL) {
        memcpy(p->sha256, sha256, sizeof(sha256));
        *out = p;
        p = NULL; /* transferred */
    }
out:
    sign_policy_free(p);
    free(dir);
    free(text);
    json_decref(root);
    return r;
}

const unsigned char *sign_policy_sha256(const sign_policy *p)
{
    return p->sha256;
}
