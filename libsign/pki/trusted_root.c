/*
 * Sigstore trusted_root.json (application/vnd.dev.sigstore.trustedroot+json;version=0.1), read strictly:
 * certificate authorities and timestamp authorities (certificate chains with validFor), transparency logs and
 * CT logs (public keys with validFor and their log ids). Unknown fields are refused as in every signet JSON
 * document; each list holds at most SIGN__TRUSTED_ROOT_MAX_ITEMS entries, each chain at most
 * SIGN__TRUSTED_ROOT_MAX_CHAIN certificates. The log-key signature check is here too (OpenSSL).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "sign/encoding.h"

#define TR_MEDIA_TYPE "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

void sign__trusted_root_free(sign__trusted_root *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nlogs; i++) {
        EVP_PKEY_free(t->logs[i].pkey);
        free(t->logs[i].origin);
    }
    free(t->logs);
    for (size_t i = 0; i < t->ncas; i++) {
        sign_x509_certs_free(t->cas[i].chain);
    }
    free(t->cas);
    free(t);
}

/* A member, with proto3 JSON's null read as absent. */
static const json_t *tr_get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

typedef struct trctx {
    const char *what;
    char field[160];
} trctx;

static int tr_fault(const trctx *c, const char *msg)
{
    return sign__error(SIGN_EPARSE, "%s: %s: %s", c->what, c->field, msg);
}

/* validFor: start required (RFC 3339), end optional; the interval is inclusive at both ends. */
static int tr_valid_for(sign__tr_window *w, trctx *c, const json_t *v)
{
    static const char *const allowed[] = {"start", "end", NULL};
    const json_t *s, *e;
    size_t used = strlen(c->field);
    int r;

    memset(w, 0, sizeof(*w));
    snprintf(c->field + used, sizeof(c->field) - used, ".validFor");
    if (!json_is_object(v)) {
        return tr_fault(c, "must be an object with start (and end)");
    }
    if ((r = sign__json_only_keys(v, allowed, c->field)) != 0) {
        return sign__error_context(r, "%s", c->what);
    }
    s = tr_get(v, "start");
    e = tr_get(v, "end");
    if (!json_is_string(s) || sign_parse_time(&w->start, json_string_value(s)) != 0) {
        sign__error_clear();
        return tr_fault(c, "start must be an RFC 3339 time");
    }
    if (e != NULL && !json_is_null(e)) {
        if (!json_is_string(e) || sign_parse_time(&w->end, json_string_value(e)) != 0) {
            sign__error_clear();
            return tr_fault(c, "end must be an RFC 3339 time");
        }
        if (w->end < w->start) {
            return tr_fault(c, "end is before start");
        }
        w->has_end = 1;
    }
    c->field[used] = '\0';
    return 0;
}

/* Base64 of a member into a fresh buffer, at least one byte. */
static int tr_b64(unsigned char **out, size_t *len, trctx *c, const json_t *v, const char *name)
{
    const char *s = json_string_value(v);

    *out = NULL;
    if (s != NULL && sign__b64_decode(out, len, s, strlen(s)) == SIGN_ENOMEM) {
        return SIGN_ENOMEM; /* "out of memory" recorded: not a verdict on the text */
    }
    if (s == NULL || *out == NULL || *len == 0) {
        sign__error_clear();
        free(*out);
        *out = NULL;
        return sign__error(SIGN_EPARSE, "%s: %s.%s must be non-empty base64", c->what, c->field, name);
    }
    return 0;
}

static int tr_key_type(const char *details)
{
    if (details == NULL) {
        return -1;
    }
    if (strcmp(details, "PKIX_ECDSA_P256_SHA_256") == 0) {
        return SIGN__TLOG_ECDSA_P256;
    }
    if (strcmp(details, "PKIX_ECDSA_P384_SHA_384") == 0) {
        return SIGN__TLOG_ECDSA_P384;
    }
    if (strcmp(details, "PKIX_ED25519") == 0) {
        return SIGN__TLOG_ED25519;
    }
    if (strcmp(details, "PKCS1_RSA_PKCS1V5") == 0 || strcmp(details, "PKIX_RSA_PKCS1V15_2048_SHA256") == 0 ||
        strcmp(details, "PKIX_RSA_PKCS1V15_3072_SHA256") == 0 ||
        strcmp(details, "PKIX_RSA_PKCS1V15_4096_SHA256") == 0) {
        return SIGN__TLOG_RSA_PKCS1;
    }
    return -1;
}

/* The key of all of der: a SubjectPublicKeyInfo, or for an RSA log a bare PKCS#1 RSAPublicKey too. */
static EVP_PKEY *tr_key_once(int type, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

    if (k == NULL && type == SIGN__TLOG_RSA_PKCS1) {
        p = der;
        k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/*
 * The key of der in *out: 0, SIGN_ENOMEM, or SIGN_EPARSE (nothing recorded). OpenSSL 3.0's key decoders report
 * an allocation failing inside them as "decode error", or queue nothing (measured with the torture run), so a
 * key that does not decode is decoded once more: bytes that are not a key fail again, and a key that decodes
 * the second time is the key.
 */
static int tr_key_decode(EVP_PKEY **out, int type, const unsigned char *der, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((*out = tr_key_once(type, der, len)) != NULL) {
            ERR_clear_error(); /* the first attempt's */
            return 0;
        }
        if (sign__ossl_oom()) {
            return sign__oom();
        }
    }
    return SIGN_EPARSE;
}

/* What the loader keeps of a decoded key: an Ed25519 key's raw bytes, the SHA-256 of der (Rekor v1's log id). */
static int tr_key_keep(sign__tlog_key *k, trctx *c, const unsigned char *der, size_t len)
{
    int base = EVP_PKEY_get_base_id(k->pkey);

    if (k->type == SIGN__TLOG_ED25519     ? base != EVP_PKEY_ED25519
        : k->type == SIGN__TLOG_RSA_PKCS1 ? base != EVP_PKEY_RSA
                                          : base != EVP_PKEY_EC) {
        return tr_fault(c, "rawBytes is not a public key of the type keyDetails names");
    }
    if (k->type == SIGN__TLOG_ED25519) {
        size_t rawlen = sizeof(k->raw);

        /* reading a decoded Ed25519 key's raw bytes fails only for memory */
        if (EVP_PKEY_get_raw_public_key(k->pkey, k->raw, &rawlen) != 1) {
            return sign__ossl_error(SIGN_ENOMEM, "out of memory");
        }
        if (rawlen != sizeof(k->raw)) {
            return tr_fault(c, "an Ed25519 key must be 32 bytes");
        }
    }
    if (SHA256(der, len, k->spki_sha256) == NULL) {
        /* the built-in SHA-256 fails only when its context cannot be allocated (OpenSSL 3.0 queues no reason) */
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)");
    }
    return 0;
}

/* publicKey: rawBytes (DER SubjectPublicKeyInfo), keyDetails, validFor. */
static int tr_public_key(sign__tlog_key *k, trctx *c, const json_t *pk)
{
    static const char *const allowed[] = {"rawBytes", "keyDetails", "validFor", NULL};
    unsigned char *der = NULL;
    size_t len = 0, used = strlen(c->field);
    int r;

    snprintf(c->field + used, sizeof(c->field) - used, ".publicKey");
    if (!json_is_object(pk)) {
        return tr_fault(c, "must be an object");
    }
    if ((r = sign__json_only_keys(pk, allowed, c->field)) != 0) {
        return sign__error_context(r, "%s", c->what);
    }
    if ((k->type = tr_key_type(json_string_value(tr_get(pk, "keyDetails")))) < 0) {
        return tr_fault(c, "keyDetails is missing or not a supported key type");
    }
    if ((r = tr_valid_for(&k->valid, c, tr_get(pk, "validFor"))) != 0 ||
        (r = tr_b64(&der, &len, c, tr_get(pk, "rawBytes"), "rawBytes")) != 0) {
        return r;
    }
    r = tr_key_decode(&k->pkey, k->type, der, len);
    if (r == SIGN_EPARSE) {
        r = tr_fault(c, "rawBytes is not a public key of the type keyDetails names");
    } else if (r == 0) {
        r = tr_key_keep(k, c, der, len);
    }
    free(der);
    if (r == 0) {
        c->field[used] = '\0';
    }
    return r;
}

/* tlogs[] and ctlogs[]: baseUrl, hashAlgorithm SHA2_256, publicKey, logId.keyId, optional checkpointKeyId. */
static int tr_log(sign__tlog_key *k, trctx *c, const json_t *e, int ct)
{
    static const char *const allowed[] = {"baseUrl",         "hashAlgorithm", "publicKey", "logId",
                                          "checkpointKeyId", "operator",      NULL};
    const json_t *id = tr_get(e, "logId"), *ck = tr_get(e, "checkpointKeyId");
    const char *url = json_string_value(tr_get(e, "baseUrl")), *host;
    unsigned char *bytes = NULL;
    size_t len = 0;
    int r;

    k->ct = ct;
    if (!json_is_object(e)) {
        return tr_fault(c, "must be an object");
    }
    if ((r = sign__json_only_keys(e, allowed, c->field)) != 0) {
        return sign__error_context(r, "%s", c->what);
    }
    if (url == NULL ||
        strcmp(json_string_value(tr_get(e, "hashAlgorithm")) != NULL ? json_string_value(tr_get(e, "hashAlgorithm"))
                                                                     : "",
               "SHA2_256") != 0) {
        return tr_fault(c, "needs baseUrl and hashAlgorithm SHA2_256");
    }
    if ((r = tr_public_key(k, c, tr_get(e, "publicKey"))) != 0) {
        return r;
    }
    if (!json_is_object(id) || json_object_size(id) != 1 ||
        (r = tr_b64(&bytes, &len, c, tr_get(id, "keyId"), "logId.keyId")) != 0) {
        return r != 0 ? r : tr_fault(c, "logId must be an object with keyId");
    }
    if (len != sizeof(k->log_id) || bytes == NULL) {
        free(bytes);
        return tr_fault(c, "logId.keyId must be 32 bytes");
    }
    memcpy(k->log_id, bytes, len);
    free(bytes);
    if (ck != NULL) {
        if (!json_is_object(ck) || json_object_size(ck) != 1 ||
            (r = tr_b64(&bytes, &len, c, tr_get(ck, "keyId"), "checkpointKeyId.keyId")) != 0) {
            return r != 0 ? r : tr_fault(c, "checkpointKeyId must be an object with keyId");
        }
        k->has_checkpoint_id = len >= 4 && bytes != NULL;
        if (k->has_checkpoint_id) {
            memcpy(k->checkpoint_id, bytes, 4);
        }
        free(bytes);
    }
    /* The checkpoint origin of a Rekor v2 log is its host name (the note key's name). */
    host = strstr(url, "://");
    host = host != NULL ? host + 3 : url;
    if ((k->origin = sign__strdup(host)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    k->origin[strcspn(k->origin, "/")] = '\0';
    return 0;
}

/* certificateAuthorities[] and timestampAuthorities[]: subject, uri, certChain, validFor, operator. */
static int tr_authority(sign__tr_authority *a, trctx *c, const json_t *e, int tsa)
{
    static const char *const allowed[] = {"subject", "uri", "certChain", "validFor", "operator", NULL};
    static const char *const chain_allowed[] = {"certificates", NULL};
    const json_t *chain = tr_get(e, "certChain"), *certs, *cert;
    size_t i, used = strlen(c->field);
    int r;

    a->tsa = tsa;
    if (!json_is_object(e)) {
        return tr_fault(c, "must be an object");
    }
    if ((r = sign__json_only_keys(e, allowed, c->field)) != 0) {
        return sign__error_context(r, "%s", c->what);
    }
    certs = tr_get(chain, "certificates");
    if (!json_is_object(chain) || sign__json_only_keys(chain, chain_allowed, c->field) != 0 ||
        !json_is_array(certs) || json_array_size(certs) == 0 ||
        json_array_size(certs) > SIGN__TRUSTED_ROOT_MAX_CHAIN) {
        sign__error_clear();
        return tr_fault(c, "certChain.certificates must hold 1 to 10 certificates");
    }
    if ((r = tr_valid_for(&a->valid, c, tr_get(e, "validFor"))) != 0 || (r = sign_x509_certs_new(&a->chain)) != 0) {
        return r;
    }
    json_array_foreach(certs, i, cert)
    {
        unsigned char *der = NULL;
        size_t len = 0;

        snprintf(c->field + used, sizeof(c->field) - used, ".certChain.certificates[%zu]", i);
        if (!json_is_object(cert) || json_object_size(cert) != 1 ||
            (r = tr_b64(&der, &len, c, tr_get(cert, "rawBytes"), "rawBytes")) != 0) {
            return r != 0 ? r : tr_fault(c, "must be an object with rawBytes");
        }
        r = sign_x509_certs_add_der(a->chain, der, len);
        free(der);
        if (r != 0) {
            return r == SIGN_ENOMEM ? r : sign__error_context(r, "%s: %s", c->what, c->field);
        }
    }
    c->field[used] = '\0';
    return 0;
}

static int tr_list(sign__trusted_root *t, trctx *c, const json_t *root, const char *name, int kind)
{
    const json_t *arr = tr_get(root, name), *e;
    size_t i;
    int r;

    if (arr == NULL || json_is_null(arr)) {
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) > SIGN__TRUSTED_ROOT_MAX_ITEMS) {
        return sign__error(SIGN_EPARSE, "%s: %s must be an array of at most %d entries", c->what, name,
                           SIGN__TRUSTED_ROOT_MAX_ITEMS);
    }
    json_array_foreach(arr, i, e)
    {
        snprintf(c->field, sizeof(c->field), "%s[%zu]", name, i);
        if (kind <= 1) {
            sign__tlog_key *k = &t->logs[t->nlogs++];

            r = tr_log(k, c, e, kind == 1);
        } else {
            sign__tr_authority *a = &t->cas[t->ncas++];

            r = tr_authority(a, c, e, kind == 3);
        }
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

int sign__trusted_root_parse(sign__trusted_root **out, const void *data, size_t len, const sign_limits *limits,
                             const char *what)
{
    static const char *const allowed[] = {
        "mediaType", "tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities", NULL};
    sign__trusted_root *t = NULL;
    json_t *root = NULL;
    const char *mt;
    trctx c = {what, ""};
    int r;

    *out = NULL;
    if ((r = sign__json_parse(&root, data, len, limits, what)) != 0) {
        return r;
    }
    if (!json_is_object(root)) {
        r = sign__error(SIGN_EPARSE, "%s: a trusted root must be a JSON object", what);
        goto out;
    }
    if ((r = sign__json_only_keys(root, allowed, what)) != 0) {
        goto out;
    }
    mt = json_string_value(tr_get(root, "mediaType"));
    if (mt == NULL || strcmp(mt, TR_MEDIA_TYPE) != 0) {
        r = sign__error(SIGN_EPARSE, "%s: mediaType must be \"%s\"", what, TR_MEDIA_TYPE);
        goto out;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL ||
        (t->logs = calloc(2 * SIGN__TRUSTED_ROOT_MAX_ITEMS, sizeof(*t->logs))) == NULL ||
        (t->cas = calloc(2 * SIGN__TRUSTED_ROOT_MAX_ITEMS, sizeof(*t->cas))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = tr_list(t, &c, root, "tlogs", 0)) != 0 || (r = tr_list(t, &c, root, "ctlogs", 1)) != 0 ||
        (r = tr_list(t, &c, root, "certificateAuthorities", 2)) != 0 ||
        (r = tr_list(t, &c, root, "timestampAuthorities", 3)) != 0) {
        goto out;
    }
    *out = t;
    t = NULL;
out:
    sign__trusted_root_free(t);
    json_decref(root);
    return r;
}

int sign__trusted_root_read(sign__trusted_root **out, const char *path, const sign_limits *limits)
{
    unsigned char *text = NULL;
    size_t len = 0;
    sign_limits lim;
    int r;

    *out = NULL;
    if ((r = sign__limits(&lim, limits)) != 0 || (r = sign__read_file(&text, &len, path, lim.json_max_bytes)) != 0) {
        return r;
    }
    r = sign__trusted_root_parse(out, text, len, limits, path);
    free(text);
    return r;
}

int sign__tr_window_holds(const sign__tr_window *w, int64_t t)
{
    return t >= w->start && (!w->has_end || t <= w->end);
}

int sign__tlog_key_verify(const sign__tlog_key *k, const void *msg, size_t len, const unsigned char *sig,
                          size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = k->type == SIGN__TLOG_ED25519      ? NULL
                       : k->type == SIGN__TLOG_ECDSA_P384 ? EVP_sha384()
                                                          : EVP_sha256();
    int ok;

    if (ctx == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) == 1 && EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : sign__error(SIGN_EBADSIG, "the log's signature does not verify");
}

int sign__trusted_root_has_ctlogs(const sign__trusted_root *tr)
{
    for (size_t i = 0; tr != NULL && i < tr->nlogs; i++) {
        if (tr->logs[i].ct) {
            return 1;
        }
    }
    return 0;
}

/* 1 when x is one of the certificates of c. */
static int tr_chain_has(const sign_x509_certs *c, X509 *x)
{
    for (size_t i = 0; c != NULL && i < sign_x509_certs_count(c); i++) {
        if (X509_cmp(sign__x509_cert_at(c, i), x) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The certificate of c (from index first) that issued x, its signature checked; NULL when none. */
static X509 *tr_issuer_in(const sign_x509_certs *c, size_t first, X509 *x)
{
    for (size_t i = first; c != NULL && i < sign_x509_certs_count(c); i++) {
        X509 *cand = sign__x509_cert_at(c, i);
        EVP_PKEY *k = cand != NULL ? X509_get0_pubkey(cand) : NULL;

        if (k != NULL && X509_check_issued(cand, x) == X509_V_OK && X509_verify(x, k) == 1) {
            ERR_clear_error();
            return cand;
        }
    }
    ERR_clear_error();
    return NULL;
}

/* 1 when the entry's certificates (and the bundle's, past the leaf) lead from leaf to a root of the entry. */
static int tr_ca_holds(const sign__tr_authority *a, const sign_x509_certs *bundle, X509 *leaf, X509 **issuer)
{
    X509 *cur = leaf;

    *issuer = NULL;
    for (int depth = 0; depth <= SIGN__TRUSTED_ROOT_MAX_CHAIN + 2; depth++) {
        X509 *up = tr_issuer_in(a->chain, 0, cur);

        if (up == NULL) {
            up = tr_issuer_in(bundle, 1, cur);
        }
        if (up == NULL) {
            return 0;
        }
        if (*issuer == NULL) {
            *issuer = up;
        }
        if (X509_cmp(up, cur) == 0) {
            /* A self-signed certificate: the end, trusted only when the entry lists it. */
            return tr_chain_has(a->chain, cur);
        }
        cur = up;
    }
    return 0;
}

int sign__trusted_root_ca_for(size_t *from, X509 **issuer, const sign__trusted_root *tr,
                              const sign_x509_certs *bundle, X509 *leaf)
{
    for (size_t i = *from; tr != NULL && leaf != NULL && i < tr->ncas; i++) {
        if (!tr->cas[i].tsa && tr_ca_holds(&tr->cas[i], bundle, leaf, issuer)) {
            *from = i;
            return 0;
        }
    }
    *issuer = NULL;
    *from = tr != NULL ? tr->ncas : 0;
    return sign__error(SIGN_ENOTFOUND, "no certificate authority of the trusted root holds the chain");
}
