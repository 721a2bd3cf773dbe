/* The verification pipeline: bundles -> signatures -> policy -> artifact digests -> decision. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "oci.h"
#include "policy_internal.h"
#include "sign/x509.h"

/* Entry mismatches reported one by one before they are summarised. */
#define VERIFY_MAX_ENTRY_CHECKS 1000
/* How far a trusted signing time may be ahead of this host's clock (verifying at now, not --at). */
#define VERIFY_CLOCK_SKEW 300

typedef struct vr_artifact {
    char *name;
    char *path;
    int has_digest;
    char sha256[2 * SIGN_SHA256_LEN + 1];
    int verified;
    char **signers; /* policy key names counted for the threshold */
    size_t nsigners;
} vr_artifact;

struct sign_verify_result {
    sign_policy_mode mode;
    int code;
    int ok;
    sign_check *checks;
    size_t nchecks, capchecks;
    vr_artifact *artifacts;
    size_t nartifacts;
    size_t decisive; /* index of the check that decided the code, or SIZE_MAX */
};

/* One bundle being verified. */
typedef struct vb {
    const char *path;
    char *owned_path;         /* the default "<artifact>.sigstore.json" */
    const char *for_artifact; /* artifact name when this is its default bundle, else NULL */
    sign_bundle *bundle;
    sign_statement *st;   /* parsed from the verified payload, or NULL */
    size_t key;           /* index of the policy key whose signature verified */
    int usable;           /* signature verified by a policy key and statement parsed */
    int in_window;        /* that key is within its validity window */
    int used;             /* covers (or name-matches) one of the given artifacts */
    int has_signing_time; /* a trusted RFC 3161 time was proven (timestamp check) */
    int64_t signing_time; /* that time: the earliest verified genTime */
    /* The signer, whether a policy key or a certificate under a policy root. */
    const char *signer;      /* policy key name or the leaf's subject DN */
    const char *signer_kind; /* "policy key" or "certificate" */
    char *const *globs;      /* artifact globs of the key or of the root */
    size_t nglobs;
    char signer_id[SIGN_KEYID_SIZE]; /* counted once for the threshold: key id of the signing key */
    sign_x509_certs *certs;          /* the bundle's leaf (and chain) */
    sign_key *cert_key;              /* the leaf's public key */
    char subject[512];               /* the leaf's subject DN */
} vb;

typedef struct vctx {
    const sign_policy *policy;
    const sign_verify_options *opts;
    const sign_limits *limits;
    sign_verify_result *res;
    int64_t at;
    int entries;
    const char *tree;            /* --tree DIR, or NULL */
    int fetch_crl;               /* SIGN_VERIFY_FETCH_CRL (options version 3) */
    const char *crl_cache_dir;   /* with fetch_crl */
    unsigned int crl_timeout_ms; /* with fetch_crl */
} vctx;

const char *sign_check_status_name(sign_check_status s)
{
    switch (s) {
    case SIGN_CHECK_PASS: return "pass";
    case SIGN_CHECK_FAIL: return "fail";
    case SIGN_CHECK_WARN: return "warn";
    case SIGN_CHECK_SKIP: return "skip";
    default: return "unknown";
    }
}

static void check_clear(sign_check *c)
{
    free((char *)c->check);
    free((char *)c->reason);
    free((char *)c->artifact);
    free((char *)c->bundle);
    free((char *)c->signer);
    free((char *)c->message);
}

void sign_verify_result_free(sign_verify_result *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nchecks; i++) {
        check_clear(&r->checks[i]);
    }
    free(r->checks);
    for (size_t i = 0; i < r->nartifacts; i++) {
        vr_artifact *a = &r->artifacts[i];

        free(a->name);
        free(a->path);
        for (size_t j = 0; j < a->nsigners; j++) {
            free(a->signers[j]);
        }
        free(a->signers);
    }
    free(r->artifacts);
    free(r);
}

int sign_verify_result_ok(const sign_verify_result *r)
{
    return r != NULL && r->ok;
}

int sign_verify_result_code(const sign_verify_result *r)
{
    return r != NULL ? r->code : SIGN_EINVAL;
}

size_t sign_verify_result_check_count(const sign_verify_result *r)
{
    return r != NULL ? r->nchecks : 0;
}

const sign_check *sign_verify_result_check(const sign_verify_result *r, size_t i)
{
    if (r == NULL || i >= r->nchecks) {
        return NULL;
    }
    return &r->checks[i];
}

static char *dup_or_null(const char *s, int *fail)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    if ((d = sign__strdup(s)) == NULL) {
        *fail = 1;
    }
    return d;
}

/* Record one check. Returns 0 or SIGN_ENOMEM. */
static int add_check(vctx *c, const char *check, sign_check_status status, const char *reason, int code,
                     const char *artifact, const char *bundle, const char *signer, const char *fmt, ...)
    SIGN_PRINTF(9, 10);

static int add_check(vctx *c, const char *check, sign_check_status status, const char *reason, int code,
                     const char *artifact, const char *bundle, const char *signer, const char *fmt, ...)
{
    sign_verify_result *res = c->res;
    sign_check *k;
    char msg[2048];
    va_list ap;
    int fail = 0;

    if (res->nchecks == res->capchecks) {
        size_t ncap = res->capchecks ? res->capchecks * 2 : 16, bytes;
        sign_check *n;

        if (!sign__mul(&bytes, ncap, sizeof(*n)) || (n = realloc(res->checks, bytes)) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        res->checks = n;
        res->capchecks = ncap;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    k = &res->checks[res->nchecks];
    memset(k, 0, sizeof(*k));
    k->status = status;
    k->code = status == SIGN_CHECK_PASS || status == SIGN_CHECK_SKIP ? 0 : code;
    k->check = dup_or_null(check, &fail);
    k->reason = dup_or_null(reason, &fail);
    k->artifact = dup_or_null(artifact, &fail);
    k->bundle = dup_or_null(bundle, &fail);
    k->signer = dup_or_null(signer, &fail);
    k->message = dup_or_null(msg, &fail);
    if (fail) {
        check_clear(k);
        return SIGN_ENOMEM;
    }
    res->nchecks++;
    return 0;
}

/* Severity rank of a failure class: lower is more severe. */
static int class_rank(int code)
{
    switch (code) {
    case SIGN_EBADSIG:
    case SIGN_EDIGEST:
    case SIGN_EVERIFY: return 1;
    case SIGN_EREVOKED: return 2;
    case SIGN_EEXPIRED: return 3;
    case SIGN_EUNTRUSTED: return 4;
    case SIGN_EPOLICY: return 5;
    default: return 0; /* input errors: unreadable artifact, missing or malformed bundle */
    }
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');

    return slash != NULL ? slash + 1 : s;
}

/* A subject name names the artifact: equal, or equal last components. */
static int names_match(const char *subject, const char *artifact)
{
    return strcmp(subject, artifact) == 0 || strcmp(base_name(subject), base_name(artifact)) == 0;
}

static int keyid_eq(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n > 0 && n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* Index of the policy key with this key id, or SIZE_MAX. */
static size_t find_key(const sign_policy *p, const char *keyid)
{
    if (keyid == NULL) {
        return SIZE_MAX;
    }
    for (size_t i = 0; i < p->nkeys; i++) {
        if (keyid_eq(p->keys[i].keyid, keyid)) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void hex32(char out[2 * SIGN_SHA256_LEN + 1], const unsigned char *d)
{
    if (sign_hex_encode(out, 2 * SIGN_SHA256_LEN + 1, d, SIGN_SHA256_LEN) != 0) {
        out[0] = '\0';
    }
}

/* Globs of a signer as one readable string ("app-*.zip, *.tar"). */
static void globs_text(char *out, size_t outsize, const vb *k)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < k->nglobs && used + 1 < outsize; i++) {
        int n = snprintf(out + used, outsize - used, "%s\"%s\"", i ? ", " : "", k->globs[i]);

        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

static int key_allows(const vb *k, const char *name)
{
    for (size_t i = 0; i < k->nglobs; i++) {
        if (sign_policy_glob_match(k->globs[i], name)) {
            return 1;
        }
    }
    return 0;
}

/*
 * The last n components of path, "/"-joined into buf ("" and "." components
 * skipped). 0 when path has fewer, when one of them is "..", or when they do
 * not fit.
 */
static int path_tail(char *buf, size_t size, const char *path, size_t n)
{
    const char *end = path + strlen(path), *p = end;
    size_t got = 0, used = 0, len;

    /* Walk components backwards to find where the tail starts. */
    while (got < n) {
        const char *e;

        while (p > path && p[-1] == '/') {
            p--;
        }
        if (p == path) {
            return 0;
        }
        e = p;
        while (p > path && p[-1] != '/') {
            p--;
        }
        len = (size_t)(e - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            return 0;
        }
        if (!(len == 1 && p[0] == '.')) {
            got++;
        }
    }
    /* Copy it forwards, skipping "" and "." components. */
    while (p < end) {
        const char *e = p;

        while (e < end && *e != '/') {
            e++;
        }
        len = (size_t)(e - p);
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (used + (used > 0) + len + 1 > size) {
                return 0;
            }
            if (used > 0) {
                buf[used++] = '/';
            }
            memcpy(buf + used, p, len);
            used += len;
        }
        p = e < end ? e + 1 : e;
    }
    buf[used] = '\0';
    return used > 0;
}

/*
 * May the key sign the artifact under the path it was given? A pattern of n
 * components is matched against the path's last n components, so the file
 * that will be used carries a name the key may sign, wherever it lies: a
 * pattern "*.zip" matches /srv/in/app.zip, a pattern "dist" "/" "*.zip"
 * matches /srv/in/dist/app.zip but not /srv/in/other/app.zip.
 */
static int key_allows_path(const vb *k, const char *path)
{
    char tail[4097];

    for (size_t i = 0; i < k->nglobs; i++) {
        size_t n = 1;

        for (const char *q = k->globs[i]; *q != '\0'; q++) {
            n += *q == '/';
        }
        if (path_tail(tail, sizeof(tail), path, n) && sign_policy_glob_match(k->globs[i], tail)) {
            return 1;
        }
    }
    return 0;
}

/* ---- X.509 signers ----------------------------------------------------- */

/*
 * A bundle with a certificate: the leaf (and the bundle's chain) are read,
 * and the signature must verify under the leaf's key. *go_on is set when
 * it does; otherwise the failure was recorded.
 */
static int cert_signature(vctx *c, vb *b, const sign_envelope *env, int *go_on)
{
    const char *art = b->for_artifact;
    const unsigned char *der;
    size_t len = 0, n = sign_bundle_chain_count(b->bundle);
    sign_x509_info info;
    int r;

    *go_on = 0;
    if ((r = sign_x509_certs_new(&b->certs)) != 0) {
        return r;
    }
    for (size_t i = 0; i < (n > 0 ? n : 1) && r == 0; i++) {
        der = n > 0 ? sign_bundle_chain_cert(b->bundle, i, &len) : sign_bundle_certificate(b->bundle, &len);
        r = sign_x509_certs_add_der(b->certs, der, len);
    }
    if (r == 0) {
        r = sign_x509_certs_info(&info, b->certs, 0);
    }
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return add_check(c, "signer", SIGN_CHECK_FAIL, "CERTIFICATE_MALFORMED", SIGN_EPARSE, art, b->path, NULL,
                         "bundle %s: its certificate cannot be read: %s; re-sign with signet sign --cert", b->path,
                         sign_error_last());
    }
    snprintf(b->subject, sizeof(b->subject), "%s", info.subject);
    b->signer = b->subject;
    b->signer_kind = "certificate";
    r = sign_x509_certs_key(&b->cert_key, b->certs, 0);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return add_check(c, "signature", SIGN_CHECK_FAIL, "WEAK_ALGORITHM", SIGN_EUNTRUSTED, art, b->path, b->signer,
                         "bundle %s: the key of certificate %s is not accepted: %s; sign with an ECDSA P-256/P-384, "
                         "Ed25519 or RSA (2048 bits or more) certificate",
                         b->path, b->signer, sign_error_last());
    }
    if ((r = sign_key_id(b->signer_id, sizeof(b->signer_id), b->cert_key)) != 0) {
        return r;
    }
    /* The same key listed as a raw policy key counts once with it. */
    for (size_t i = 0; i < c->policy->nkeys; i++) {
        if (sign__key_same(c->policy->keys[i].key, b->cert_key)) {
            snprintf(b->signer_id, sizeof(b->signer_id), "%s", c->policy->keys[i].keyid);
        }
    }
    if (sign_envelope_verify(env, 0, b->cert_key) != 0) {
        sign__error_clear();
        return add_check(c, "signature", SIGN_CHECK_FAIL, "SIGNATURE_INVALID", SIGN_EBADSIG, art, b->path, b->signer,
                         "bundle %s: the signature does not verify under the key of its certificate %s; the bundle "
                         "was altered or signed by another key - re-sign the artifacts",
                         b->path, b->signer);
    }
    *go_on = 1;
    return add_check(c, "signature", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                     "bundle %s: signature verifies under the key of certificate %s (key id %s)", b->path, b->signer,
                     b->signer_id);
}

/* The check a sign_x509_verify reason belongs to. */
static const char *cert_check_name(const char *reason)
{
    if (strcmp(reason, "CERT_EXPIRED") == 0 || strcmp(reason, "CERT_NOT_YET_VALID") == 0) {
        return "key-validity";
    }
    if (strncmp(reason, "CRL_", 4) == 0 || strcmp(reason, "CERT_REVOKED") == 0) {
        return "revocation";
    }
    return "signer";
}

static int chain_not_built(const char *reason)
{
    return strcmp(reason, "ROOT_UNKNOWN") == 0 || strcmp(reason, "CHAIN_INCOMPLETE") == 0 ||
           strcmp(reason, "CHAIN_INVALID") == 0;
}

/*
 * The certificate must chain to a policy root with every check passing,
 * judged at the trusted signing time when there is one, else at now (--at).
 * The first root the chain builds to decides. *go_on is set when the
 * statement should still be read (trusted, or only expired/revoked).
 */
static int cert_trust(vctx *c, vb *b, int *go_on)
{
    const sign_policy *p = c->policy;
    const char *art = b->for_artifact;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_x509_result res, first;
    char when[32];
    size_t chosen = SIZE_MAX;
    int r;

    *go_on = 0;
    if (p->nroots == 0) {
        return add_check(c, "signer", SIGN_CHECK_FAIL, "ROOT_UNKNOWN", SIGN_EUNTRUSTED, art, b->path, b->signer,
                         "bundle %s is signed with certificate %s, but the policy names no roots; add its root CA "
                         "to the policy's roots, or sign with a policy key",
                         b->path, b->signer);
    }
    o.at = c->at;
    o.signing_time = b->has_signing_time ? &b->signing_time : NULL;
    if (c->fetch_crl) {
        o.flags |= SIGN_X509_FETCH_CRL;
        o.crl_cache_dir = c->crl_cache_dir;
        o.crl_timeout_ms = c->crl_timeout_ms;
    }
    memset(&first, 0, sizeof(first));
    for (size_t i = 0; i < p->nroots; i++) {
        const sign__policy_root *rt = &p->roots[i];
        sign_x509_trust t = SIGN_X509_TRUST_INIT;

        t.roots = rt->root_certs;
        t.intermediates = rt->intermediate_certs;
        t.crls = rt->crl_list;
        t.eku = rt->eku;
        t.subjects = (const char *const *)rt->subjects;
        t.nsubjects = rt->nsubjects;
        r = sign_x509_verify(&res, b->certs, &t, &o);
        if (r != 0 && strcmp(res.reason, "ERROR") == 0) {
            return r;
        }
        if (i == 0) {
            first = res;
        }
        if (r == 0 || !chain_not_built(res.reason)) {
            chosen = i;
            break;
        }
    }
    sign__error_clear();
    if (chosen == SIZE_MAX) {
        return add_check(c, "signer", SIGN_CHECK_FAIL, first.reason, first.code, art, b->path, b->signer,
                         "bundle %s: %s%s", b->path, first.message,
                         p->nroots > 1 ? " (reported for the first root; no other root accepts it either)" : "");
    }
    b->globs = p->roots[chosen].artifacts;
    b->nglobs = p->roots[chosen].nartifacts;
    if (sign_format_time(when, sizeof(when), res.judged_at) != 0) {
        snprintf(when, sizeof(when), "%lld", (long long)res.judged_at);
    }
    if (res.code != 0) {
        const char *check = cert_check_name(res.reason);

        r = add_check(c, check, SIGN_CHECK_FAIL, res.reason, res.code, art, b->path, b->signer,
                      "bundle %s: %s (policy root \"%s\")", b->path, res.message, p->roots[chosen].name);
        /* Trusted but expired or revoked: the statement is still read and reported, never counted. */
        *go_on = r == 0 && strcmp(check, "signer") != 0;
        return r;
    }
    b->in_window = 1;
    *go_on = 1;
    if ((r = add_check(c, "signer", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                       "bundle %s is signed by certificate %s, which chains to policy root \"%s\" (%zu "
                       "certificates)",
                       b->path, b->signer, p->roots[chosen].name, res.chain_len)) != 0) {
        return r;
    }
    if (res.note[0] != '\0' && (r = add_check(c, "revocation", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                                              "bundle %s: %s", b->path, res.note)) != 0) {
        return r;
    }
    return add_check(c, "key-validity", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                     "certificate chain of %s is valid%s at %s%s", b->signer,
                     p->roots[chosen].crl_list != NULL ? " and not revoked" : "", when,
                     b->has_signing_time ? " (the trusted signing time)" : "");
}

/* ---- per bundle -------------------------------------------------------- */

/*
 * RFC 3161 timestamps of a bundle whose signature verified: each must verify
 * against the policy's timestamp_authorities; the earliest genTime becomes
 * the trusted signing time. A timestamp that cannot be checked (no
 * authorities in the policy) fails: an unverifiable time is never ignored.
 */
static int verify_timestamps(vctx *c, vb *b, const char *art, const char *signer)
{
    const sign_policy *p = c->policy;
    const sign_envelope *env = sign_bundle_envelope(b->bundle);
    size_t n = sign_bundle_timestamp_count(b->bundle), siglen = 0;
    const unsigned char *sig = sign_envelope_signature(env, 0, &siglen);
    int r = 0;

    if (n == 0) {
        if (!p->require_timestamp) {
            return 0;
        }
        return add_check(c, "timestamp", SIGN_CHECK_FAIL, "TIMESTAMP_MISSING", SIGN_EPOLICY, art, b->path, signer,
                         "bundle %s carries no RFC 3161 timestamp but the policy requires one (require.timestamp); "
                         "sign with --tsa URL, or add one with 'signet timestamp --tsa URL %s'",
                         b->path, b->path);
    }
    if (p->ntsas == 0 || p->tsa_roots == NULL) {
        return add_check(c, "timestamp", SIGN_CHECK_FAIL, "TIMESTAMP_UNTRUSTED", SIGN_EUNTRUSTED, art, b->path,
                         signer,
                         "bundle %s carries %zu RFC 3161 timestamp(s) but the policy lists no "
                         "timestamp_authorities, so their time cannot be checked; add the TSA's root certificate "
                         "to timestamp_authorities",
                         b->path, n);
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        sign_timestamp_info info;
        sign_timestamp_failure why = SIGN_TS_INVALID;
        size_t len = 0;
        const unsigned char *der = sign_bundle_timestamp(b->bundle, i, &len);
        int vr = sign_timestamp_verify(&info, &why, der, len, sig, siglen, p->tsa_roots);
        char reason[64], when[32] = "";

        if (vr == SIGN_ENOMEM || vr == SIGN_EINVAL) {
            return vr;
        }
        if (vr != 0) {
            snprintf(reason, sizeof(reason), "TIMESTAMP_%s", sign_timestamp_failure_name(why));
            r = add_check(c, "timestamp", SIGN_CHECK_FAIL, reason, class_rank(vr) == 0 ? SIGN_EBADSIG : vr, art,
                          b->path, signer, "bundle %s: timestamp %zu does not verify: %s", b->path, i + 1,
                          sign_error_last());
            if (r != 0) {
                /* Out of memory: the next timestamp's check must not hide that this failure went unrecorded. */
                return r;
            }
            continue;
        }
        if (!b->has_signing_time || info.gen_time < b->signing_time) {
            b->signing_time = info.gen_time;
            b->has_signing_time = 1;
        }
        sign_format_time(when, sizeof(when), info.gen_time);
        r = add_check(c, "timestamp", SIGN_CHECK_PASS, "OK", 0, art, b->path, signer,
                      "bundle %s: timestamp %zu from %s (timestamp authority \"%s\") proves the signature existed "
                      "at %s",
                      b->path, i + 1, info.tsa, info.authority, when);
        if (r != 0) {
            return r;
        }
    }
    sign__error_clear();
    /*
     * A signature cannot have been made after the time judged: not after
     * --at, nor after now (beyond a small clock skew; a TSA whose clock is
     * ahead, or this host's behind). Such a time is refused and not used.
     */
    if (r == 0 && b->has_signing_time &&
        (c->opts->at != 0 ? b->signing_time > c->at : b->signing_time - VERIFY_CLOCK_SKEW > c->at)) {
        char when[32] = "", at[32] = "";

        sign_format_time(when, sizeof(when), b->signing_time);
        sign_format_time(at, sizeof(at), c->at);
        b->has_signing_time = 0;
        r = add_check(c, "timestamp", SIGN_CHECK_FAIL, "SIGNED_AFTER_AT", SIGN_EEXPIRED, art, b->path, signer,
                      c->opts->at != 0 ? "bundle %s was signed at %s (trusted timestamp), after the time judged "
                                         "(%s): it did not exist then; judge at a later --at"
                                       : "bundle %s was signed at %s (trusted timestamp), after the time judged "
                                         "(%s, now): the TSA's clock or this host's is wrong; check the clocks "
                                         "and re-stamp the bundle",
                      b->path, when, at);
    }
    return r;
}

static int verify_bundle(vctx *c, vb *b)
{
    const sign_policy *p = c->policy;
    const sign_envelope *env;
    const char *ptype, *keyid, *hint, *art = b->for_artifact;
    const unsigned char *payload;
    const sign__policy_key *k = NULL;
    char tbuf[32] = "", wbuf[64] = "";
    size_t len, ki;
    int64_t when;
    int r, type_ok, is_cert, go_on = 0;

    r = sign_bundle_read(&b->bundle, b->path, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r == SIGN_ENOTFOUND) {
        return add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MISSING", SIGN_ENOTFOUND, art, b->path, NULL,
                         "bundle %s does not exist; sign the artifact with signet sign, or pass its bundle with -b",
                         b->path);
    }
    if (r != 0) {
        return add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MALFORMED", class_rank(r) == 0 ? r : SIGN_EPARSE, art,
                         b->path, NULL, "bundle %s cannot be used: %s; pass the bundle that signet sign wrote",
                         b->path, sign_error_last());
    }
    if ((r = add_check(c, "bundle", SIGN_CHECK_PASS, "OK", 0, art, b->path, NULL, "bundle %s is well-formed (%s)",
                       b->path, sign_bundle_media_type(b->bundle))) != 0) {
        return r;
    }
    env = sign_bundle_envelope(b->bundle);
    ptype = sign_envelope_payload_type(env);
    type_ok = ptype != NULL && strcmp(ptype, SIGN_INTOTO_PAYLOAD_TYPE) == 0;
    if (!type_ok &&
        (r = add_check(c, "bundle", SIGN_CHECK_FAIL, "PAYLOAD_TYPE_WRONG", SIGN_EVERIFY, art, b->path, NULL,
                       "bundle %s: payloadType is \"%s\", not \"%s\"; only signed in-toto statements are accepted "
                       "- re-sign the artifacts",
                       b->path, ptype != NULL ? ptype : "", SIGN_INTOTO_PAYLOAD_TYPE)) != 0) {
        return r;
    }
    len = 0;
    is_cert = sign_bundle_certificate(b->bundle, &len) != NULL;
    if (sign_envelope_signature_count(env) != 1) {
        return add_check(c, "bundle", SIGN_CHECK_FAIL, "BUNDLE_MALFORMED", SIGN_EPARSE, art, b->path, NULL,
                         "bundle %s carries %zu signatures where exactly one is required", b->path,
                         sign_envelope_signature_count(env));
    }
    if (is_cert) {
        /* An X.509 signer: the signature under the leaf's key now, its chain at the key-validity point. */
        if ((r = cert_signature(c, b, env, &go_on)) != 0 || !go_on) {
            return r;
        }
        goto signer_known;
    }
    keyid = sign_envelope_signature_keyid(env, 0);
    hint = sign_bundle_key_hint(b->bundle);
    ki = find_key(p, keyid);
    if (ki == SIZE_MAX) {
        ki = find_key(p, hint);
    }
    if (ki != SIZE_MAX) {
        /* The bundle names a trusted key: the signature must verify under exactly that key. */
        k = &p->keys[ki];
        if (sign_envelope_verify(env, 0, k->key) != 0) {
            return add_check(c, "signature", SIGN_CHECK_FAIL, "SIGNATURE_INVALID", SIGN_EBADSIG, art, b->path,
                             k->name,
                             "bundle %s: the signature does not verify under policy key \"%s\" (key id %s) that it "
                             "names; the bundle was altered or signed by another key - re-sign the artifacts",
                             b->path, k->name, k->keyid);
        }
    } else {
        /* Another tool may leave the key id empty or different: try every trusted key. */
        for (size_t i = 0; i < p->nkeys; i++) {
            if (sign_envelope_verify(env, 0, p->keys[i].key) == 0) {
                ki = i;
                break;
            }
        }
        sign__error_clear();
        if (ki == SIZE_MAX) {
            const char *who = keyid != NULL && keyid[0] != '\0' ? keyid : hint;

            return add_check(c, "signer", SIGN_CHECK_FAIL, "KEY_UNTRUSTED", SIGN_EUNTRUSTED, art, b->path, who,
                             "bundle %s is signed by key id %s, which no key in the policy matches; add its public "
                             "key to the policy's keys, or sign with a trusted key",
                             b->path, who != NULL && who[0] != '\0' ? who : "(none)");
        }
        k = &p->keys[ki];
    }
    b->key = ki;
    b->signer = k->name;
    b->signer_kind = "policy key";
    b->globs = k->artifacts;
    b->nglobs = k->nartifacts;
    snprintf(b->signer_id, sizeof(b->signer_id), "%s", k->keyid);
    if ((r = add_check(c, "signature", SIGN_CHECK_PASS, "OK", 0, art, b->path, k->name,
                       "bundle %s: signature verifies under policy key \"%s\" (key id %s)", b->path, k->name,
                       k->keyid)) != 0 ||
        (r = add_check(c, "signer", SIGN_CHECK_PASS, "OK", 0, art, b->path, k->name,
                       "bundle %s is signed by policy key \"%s\"", b->path, k->name)) != 0) {
        return r;
    }
signer_known:
    if ((r = verify_timestamps(c, b, art, b->signer)) != 0) {
        return r;
    }
    if (is_cert) {
        /* Chain to a policy root, validity and revocation at the trusted signing time or now. */
        if ((r = cert_trust(c, b, &go_on)) != 0 || !go_on) {
            return r;
        }
        goto validity_known;
    }

    /* Validity window of the key, judged at the trusted signing time, else at opts->at or now. */
    when = b->has_signing_time ? b->signing_time : c->at;
    if (sign_format_time(wbuf, sizeof(wbuf), when) != 0) {
        snprintf(wbuf, sizeof(wbuf), "%lld", (long long)when);
    }
    if (b->has_signing_time) {
        size_t used = strlen(wbuf);

        snprintf(wbuf + used, sizeof(wbuf) - used, ", the trusted signing time");
    }
    if (k->has_not_before && when < k->not_before) {
        sign_format_time(tbuf, sizeof(tbuf), k->not_before);
        r = add_check(c, "key-validity", SIGN_CHECK_FAIL, "KEY_NOT_YET_VALID", SIGN_EEXPIRED, art, b->path, k->name,
                      "policy key \"%s\" is valid only from %s (judged at %s); sign with a current key or fix "
                      "keys[].not_before",
                      k->name, tbuf, wbuf);
    } else if (k->has_not_after && when > k->not_after) {
        sign_format_time(tbuf, sizeof(tbuf), k->not_after);
        r = add_check(c, "key-validity", SIGN_CHECK_FAIL, "KEY_EXPIRED", SIGN_EEXPIRED, art, b->path, k->name,
                      "policy key \"%s\" expired at %s (judged at %s); re-sign with a current key", k->name, tbuf,
                      wbuf);
    } else {
        b->in_window = 1;
        r = add_check(c, "key-validity", SIGN_CHECK_PASS, "OK", 0, art, b->path, k->name,
                      "policy key \"%s\" is valid at %s", k->name, wbuf);
    }
validity_known:
    if (r != 0 || !type_ok) {
        return r;
    }

    /* The statement: parsed from the verified bytes only. */
    payload = sign_envelope_payload(env, &len);
    r = sign_statement_parse(&b->st, payload, len, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return add_check(c, "statement", SIGN_CHECK_FAIL, "STATEMENT_MALFORMED", SIGN_EPARSE, art, b->path, b->signer,
                         "bundle %s: the signed payload is not a usable in-toto Statement v1: %s; re-sign with "
                         "signet sign",
                         b->path, sign_error_last());
    }
    if (sign_statement_subject_count(b->st) == 0) {
        return add_check(c, "statement", SIGN_CHECK_FAIL, "NO_SUBJECTS", SIGN_EPARSE, art, b->path, b->signer,
                         "bundle %s: the signed statement names no subjects; re-sign the artifacts", b->path);
    }
    b->usable = 1;
    /* Without --entries nothing reads the recorded entries: free them here, on the bundle's thread, while
       the artifact is still being hashed, rather than at the end. */
    if (!c->entries) {
        sign__statement_drop_entries(b->st);
    }
    if ((r = add_check(c, "statement", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                       "bundle %s: signed statement with %zu subject(s), predicate %s", b->path,
                       sign_statement_subject_count(b->st),
                       sign_statement_predicate_type(b->st) != NULL ? sign_statement_predicate_type(b->st)
                                                                    : "(none)")) != 0) {
        return r;
    }
    if (p->has_max_signature_age) {
        if (!b->has_signing_time) {
            r = add_check(c, "signature-age", SIGN_CHECK_FAIL, "SIGNATURE_AGE_UNPROVEN", SIGN_EPOLICY, art, b->path,
                          b->signer,
                          "bundle %s: the policy limits signature age (require.max_signature_age) but no trusted "
                          "timestamp proves when it was signed; sign with --tsa URL or add one with signet timestamp",
                          b->path);
        } else if (c->at - b->signing_time > p->max_signature_age) {
            sign_format_time(tbuf, sizeof(tbuf), b->signing_time);
            r = add_check(c, "signature-age", SIGN_CHECK_FAIL, "SIGNATURE_AGE_EXCEEDED", SIGN_EEXPIRED, art, b->path,
                          b->signer,
                          "bundle %s was signed at %s, %lld s before the time judged, more than the %lld s that "
                          "require.max_signature_age allows; re-sign the artifacts",
                          b->path, tbuf, (long long)(c->at - b->signing_time), (long long)p->max_signature_age);
        } else {
            sign_format_time(tbuf, sizeof(tbuf), b->signing_time);
            r = add_check(c, "signature-age", SIGN_CHECK_PASS, "OK", 0, art, b->path, b->signer,
                          "bundle %s: signed at %s, within require.max_signature_age", b->path, tbuf);
        }
    }
    return r;
}

/* ---- entries --------------------------------------------------------- */

static int cmp_entry_ptr(const void *a, const void *b)
{
    const sign_entry *x = *(const sign_entry *const *)a, *y = *(const sign_entry *const *)b;

    return strcmp(x->path != NULL ? x->path : "", y->path != NULL ? y->path : "");
}

/* What differs between a signed entry and the one found, or NULL when they are equal. */
static const char *entry_diff(const sign_entry *s, const sign_entry *f)
{
    if (s->type != f->type) {
        return "type";
    }
    if (s->mode != f->mode) {
        return "mode";
    }
    if (s->size != f->size) {
        return "size";
    }
    if (s->has_digest != f->has_digest ||
        (s->has_digest && CRYPTO_memcmp(s->sha256, f->sha256, SIGN_SHA256_LEN) != 0)) {
        return "content digest";
    }
    return NULL;
}

static int entry_mismatch(vctx *c, size_t *n, const char *art, const vb *b, const char *fmt, const char *path,
                          const char *what)
{
    const char *signer = b->signer;

    (*n)++;
    if (*n > VERIFY_MAX_ENTRY_CHECKS) {
        return 0;
    }
    if (strcmp(fmt, "changed") == 0) {
        return add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                         "artifact %s: entry \"%s\" differs from the signed manifest in %s (%s); it was changed "
                         "after signing - rebuild or re-sign the artifact",
                         art, path, what, b->path);
    }
    if (strcmp(fmt, "missing") == 0) {
        return add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                         "artifact %s: entry \"%s\" is in the signed manifest (%s) but missing; it was removed "
                         "after signing - rebuild or re-sign the artifact",
                         art, path, b->path);
    }
    return add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                     "artifact %s: entry \"%s\" is not in the signed manifest (%s); it was added after signing - "
                     "rebuild or re-sign the artifact",
                     art, path, b->path);
}

/* Compare every entry of the scanned archive with the statement's record of subject `sname`. */
static int verify_entries(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a), *signer = b->signer;
    const char *ptype = sign_statement_predicate_type(b->st);
    sign_statement_artifact info;
    const sign_entry **found = NULL, **signd = NULL;
    sign_entry *sent = NULL;
    size_t idx = SIZE_MAX, nf = sign_artifact_entry_count(a), ns, i, j, bad = 0;
    int r = 0;

    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_FILE) {
        return 0;
    }
    if (ptype != NULL && strcmp(ptype, SIGN_PREDICATE_TYPE) == 0) {
        for (i = 0; i < sign_statement_artifact_count(b->st); i++) {
            if (sign_statement_artifact_info(&info, b->st, i) == 0 && info.name != NULL &&
                strcmp(info.name, sname) == 0) {
                idx = i;
                break;
            }
        }
    }
    sign__error_clear();
    /* idx != SIZE_MAX only after sign_statement_artifact_info() filled info */
    /* cppcheck-suppress uninitStructMember */
    if (idx == SIZE_MAX || (info.entry_count == 0 && nf > 0)) {
        return add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY, art, b->path, signer,
                         "artifact %s: the statement in %s records no entries for \"%s\", so they cannot be "
                         "checked; re-sign with signet sign, which records every entry",
                         art, b->path, sname);
    }
    ns = info.entry_count;
    if ((found = calloc(nf + 1, sizeof(*found))) == NULL || (signd = calloc(ns + 1, sizeof(*signd))) == NULL ||
        (sent = calloc(ns + 1, sizeof(*sent))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nf; i++) {
        found[i] = sign_artifact_entry(a, i);
    }
    for (j = 0; j < ns; j++) {
        if (sign_statement_artifact_entry(&sent[j], b->st, idx, j) != 0 || sent[j].path == NULL) {
            r = add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY, art, b->path, signer,
                          "artifact %s: entry %zu of \"%s\" in the statement of %s cannot be read: %s; re-sign with "
                          "signet sign",
                          art, j, sname, b->path, sign_error_last());
            goto out;
        }
        signd[j] = &sent[j];
    }
    qsort(found, nf, sizeof(*found), cmp_entry_ptr);
    qsort(signd, ns, sizeof(*signd), cmp_entry_ptr);
    i = j = 0;
    while (r == 0 && (i < nf || j < ns)) {
        int cmp = i >= nf ? 1 : j >= ns ? -1 : strcmp(found[i]->path, signd[j]->path);

        if (cmp == 0) {
            const char *what = entry_diff(signd[j], found[i]);

            if (what != NULL) {
                r = entry_mismatch(c, &bad, art, b, "changed", signd[j]->path, what);
            }
            i++;
            j++;
        } else if (cmp < 0) {
            r = entry_mismatch(c, &bad, art, b, "extra", found[i]->path, NULL);
            i++;
        } else {
            r = entry_mismatch(c, &bad, art, b, "missing", signd[j]->path, NULL);
            j++;
        }
    }
    if (r != 0) {
        goto out;
    }
    if (bad > VERIFY_MAX_ENTRY_CHECKS) {
        r = add_check(c, "entries", SIGN_CHECK_FAIL, "ENTRY_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                      "artifact %s: %zu more entries differ from the signed manifest in %s; rebuild or re-sign the "
                      "artifact",
                      art, bad - VERIFY_MAX_ENTRY_CHECKS, b->path);
    } else if (bad == 0) {
        r = add_check(c, "entries", SIGN_CHECK_PASS, "OK", 0, art, b->path, signer,
                      "artifact %s: all %zu entries match the signed manifest in %s", art, nf, b->path);
    }
out:
    free(found);
    free(signd);
    free(sent);
    return r;
}

/* ---- images and trees --------------------------------------------------- */

/* Integrity problems of an image (missing blob, digest, diffID, media type): each its own reason. */
static int image_problems(vctx *c, const sign_artifact *a)
{
    for (size_t i = 0; i < sign_artifact_problem_count(a); i++) {
        const char *reason, *msg;
        int r;

        if (sign_artifact_problem(&reason, &msg, a, i) != 0) {
            continue;
        }
        r = add_check(c, "image", SIGN_CHECK_FAIL, reason,
                      strcmp(reason, "MEDIA_TYPE_INVALID") == 0 || strcmp(reason, "IMAGE_MALFORMED") == 0
                          ? SIGN_EVERIFY
                          : SIGN_EDIGEST,
                      sign_artifact_name(a), NULL, NULL, "%s; use the image as it was signed", msg);
        if (r != 0) {
            return r;
        }
    }
    if (sign_artifact_image_count(a) > 0 && sign_artifact_problem_count(a) == 0) {
        return add_check(c, "image", SIGN_CHECK_PASS, "OK", 0, sign_artifact_name(a), NULL, NULL,
                         "artifact %s: every blob is present and hashes to its digest, diffIDs match the config",
                         sign_artifact_name(a));
    }
    return 0;
}

/*
 * The layers the statement records for subject sname against the layers
 * read from the image now: with the manifest digest matching they cannot
 * differ unless the statement was made from other bytes than its subject.
 */
static int verify_layers(vctx *c, const sign_artifact *a, const vb *b, const char *sname)
{
    const char *art = sign_artifact_name(a), *signer = b->signer;
    size_t idx = SIZE_MAX, ni = sign_artifact_image_count(a);
    sign_statement_artifact info;

    for (size_t i = 0; i < sign_statement_artifact_count(b->st); i++) {
        if (sign_statement_artifact_info(&info, b->st, i) == 0 && info.name != NULL &&
            strcmp(info.name, sname) == 0) {
            idx = i;
            break;
        }
    }
    sign__error_clear();
    if (idx == SIZE_MAX || sign_statement_artifact_image_count(b->st, idx) == 0) {
        return 0; /* another tool's predicate, or no layers recorded: the subject digest decides */
    }
    if (sign_statement_artifact_image_count(b->st, idx) != ni) {
        return add_check(c, "image", SIGN_CHECK_FAIL, "LAYERS_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                         "artifact %s: the statement in %s records %zu image(s), the image has %zu; re-sign it", art,
                         b->path, sign_statement_artifact_image_count(b->st, idx), ni);
    }
    for (size_t k = 0; k < ni; k++) {
        sign_image_info im;

        if (sign_artifact_image(&im, a, k) != 0) {
            continue;
        }
        for (size_t j = 0; j < im.layer_count; j++) {
            sign_statement_layer sl;
            sign_layer_info li;

            if (sign_artifact_layer(&li, a, k, j) != 0) {
                continue;
            }
            if (sign_statement_artifact_layer(&sl, b->st, idx, k, j) != 0 || sl.layer_count != im.layer_count ||
                CRYPTO_memcmp(sl.digest, li.digest, SIGN_SHA256_LEN) != 0 ||
                (sl.has_diff_id &&
                 (li.diff_id == NULL || CRYPTO_memcmp(sl.diff_id, li.diff_id, SIGN_SHA256_LEN) != 0))) {
                sign__error_clear();
                return add_check(c, "image", SIGN_CHECK_FAIL, "LAYERS_MISMATCH", SIGN_EDIGEST, art, b->path, signer,
                                 "artifact %s: layer %zu of image %s differs from the one recorded in %s; re-sign it",
                                 art, j, im.name, b->path);
            }
        }
    }
    return 0;
}

/* --tree DIR: the unpacked files against the entries (layers applied in order). */
static int verify_tree(vctx *c, const sign_artifact *a)
{
    const char *art = sign_artifact_name(a);
    sign__tree_diff *d = NULL;
    size_t n = 0, nchecked = 0;
    int r;

    r = sign__tree_compare(&d, &n, &nchecked, a, c->tree, c->limits);
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if (r != 0) {
        return add_check(c, "tree", SIGN_CHECK_FAIL, "TREE_UNREADABLE", SIGN_EIO, art, NULL, NULL,
                         "artifact %s: the tree %s cannot be compared: %s", art, c->tree, sign_error_last());
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i == VERIFY_MAX_ENTRY_CHECKS) {
            r = add_check(c, "tree", SIGN_CHECK_FAIL, d[i].reason, SIGN_EDIGEST, art, NULL, NULL,
                          "artifact %s: %zu more differences in %s", art, n - i, c->tree);
            break;
        }
        r = add_check(c, "tree", SIGN_CHECK_FAIL, d[i].reason, SIGN_EDIGEST, art, NULL, NULL,
                      "artifact %s: %s/%s %s; the unpacked files are not the signed ones - unpack the image again",
                      art, c->tree, d[i].path, d[i].what);
    }
    if (r == 0 && n == 0) {
        r = add_check(c, "tree", SIGN_CHECK_PASS, "OK", 0, art, NULL, NULL,
                      "artifact %s: all %zu paths of %s match the signed entries", art, nchecked, c->tree);
    }
    sign__tree_diffs_free(d, n);
    return r;
}

/* ---- subject index ----------------------------------------------------- */

/*
 * Which bundles can concern an artifact: those with a subject of its digest, or a subject
 * whose last name component is the artifact's (names_match implies it). Looking them up in
 * two sorted arrays keeps one verify over N artifacts and N bundles at N log N instead of
 * N * N subject comparisons; the candidates are visited in bundle order, as before.
 */
typedef struct subj_ix {
    const unsigned char *dig;
    const char *base;
    size_t bi;
} subj_ix;

typedef struct vindex {
    subj_ix *by_dig, *by_base;
    size_t n;
    size_t *cand;
} vindex;

static int cmp_ix_dig(const void *a, const void *b)
{
    return memcmp(((const subj_ix *)a)->dig, ((const subj_ix *)b)->dig, SIGN_SHA256_LEN);
}

static int cmp_ix_base(const void *a, const void *b)
{
    return strcmp(((const subj_ix *)a)->base, ((const subj_ix *)b)->base);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void vindex_free(vindex *ix)
{
    free(ix->by_dig);
    free(ix->by_base);
    free(ix->cand);
    memset(ix, 0, sizeof(*ix));
}

static int vindex_build(vindex *ix, const vb *bundles, size_t nb)
{
    size_t n = 0, k = 0;

    memset(ix, 0, sizeof(*ix));
    for (size_t i = 0; i < nb; i++) {
        n += bundles[i].usable ? sign_statement_subject_count(bundles[i].st) : 0;
    }
    if ((ix->by_dig = calloc(n + 1, sizeof(*ix->by_dig))) == NULL ||
        (ix->by_base = calloc(n + 1, sizeof(*ix->by_base))) == NULL ||
        (ix->cand = calloc(2 * n + 1, sizeof(*ix->cand))) == NULL) {
        vindex_free(ix);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nb; i++) {
        size_t ns = bundles[i].usable ? sign_statement_subject_count(bundles[i].st) : 0;

        for (size_t s = 0; s < ns && k < n; s++) {
            const char *sname;
            const unsigned char *sdig;

            if (sign_statement_subject(&sname, &sdig, bundles[i].st, s) != 0) {
                continue;
            }
            ix->by_dig[k].dig = sdig;
            ix->by_dig[k].base = base_name(sname);
            ix->by_dig[k].bi = i;
            k++;
        }
    }
    ix->n = k;
    memcpy(ix->by_base, ix->by_dig, k * sizeof(*ix->by_dig));
    qsort(ix->by_dig, k, sizeof(*ix->by_dig), cmp_ix_dig);
    qsort(ix->by_base, k, sizeof(*ix->by_base), cmp_ix_base);
    return 0;
}

/* First position in v (sorted by cmp) not below key. */
static size_t ix_lower(const subj_ix *v, size_t n, const subj_ix *key, int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cmp(&v[mid], key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The candidate bundles of an artifact, ascending and distinct, in ix->cand; returns their number. */
static size_t vindex_candidates(vindex *ix, const unsigned char *dig, const char *art)
{
    subj_ix key;
    size_t nc = 0, o = 0;

    if (ix->cand == NULL) {
        return 0;
    }
    key.dig = dig;
    key.base = base_name(art);
    for (size_t i = ix_lower(ix->by_dig, ix->n, &key, cmp_ix_dig); i < ix->n && cmp_ix_dig(&ix->by_dig[i], &key) == 0;
         i++) {
        ix->cand[nc++] = ix->by_dig[i].bi;
    }
    for (size_t i = ix_lower(ix->by_base, ix->n, &key, cmp_ix_base);
         i < ix->n && cmp_ix_base(&ix->by_base[i], &key) == 0; i++) {
        ix->cand[nc++] = ix->by_base[i].bi;
    }
    qsort(ix->cand, nc, sizeof(*ix->cand), cmp_size);
    for (size_t i = 0; i < nc; i++) {
        if (o == 0 || ix->cand[o - 1] != ix->cand[i]) {
            ix->cand[o++] = ix->cand[i];
        }
    }
    return o;
}

/* ---- per artifact ----------------------------------------------------- */

/* Keep one bundle per signer identity (the signing key's id): a key counts once, whatever signs with it. */
static void counted_distinct(unsigned char *counted, const vb *bundles, const size_t *cand, size_t ncand)
{
    for (size_t i = 0; i < ncand; i++) {
        for (size_t j = 0; counted[i] && j < i; j++) {
            if (counted[j] && keyid_eq(bundles[cand[i]].signer_id, bundles[cand[j]].signer_id)) {
                counted[i] = 0;
            }
        }
    }
}

static int verify_artifact(vctx *c, const sign_artifact *a, vr_artifact *ra, vb *bundles, const size_t *cand,
                           size_t ncand)
{
    const sign_policy *p = c->policy;
    const char *art = sign_artifact_name(a), *apath = sign_artifact_path(a);
    const unsigned char *dig = sign_artifact_sha256(a);
    unsigned char *counted = NULL;
    char dhex[2 * SIGN_SHA256_LEN + 1], shex[2 * SIGN_SHA256_LEN + 1], names[1024], globs[512];
    size_t covered = 0, mismatched = 0, ncount = 0, first_check = c->res->nchecks;
    int r = 0;

    hex32(dhex, dig);
    if (ncand > 0 && (counted = calloc(ncand, 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t ci = 0; ci < ncand && r == 0; ci++) {
        vb *b = &bundles[cand[ci]];
        const vb *k = b;
        const char *matched = NULL, *allowed_name = NULL;
        int path_ok = 1;
        size_t ns;

        if (!b->usable) {
            continue;
        }
        ns = sign_statement_subject_count(b->st);
        for (size_t s = 0; s < ns; s++) {
            const char *sname;
            const unsigned char *sdig;

            if (sign_statement_subject(&sname, &sdig, b->st, s) != 0) {
                continue;
            }
            if (CRYPTO_memcmp(sdig, dig, SIGN_SHA256_LEN) == 0) {
                if (matched == NULL) {
                    matched = sname;
                }
                if (allowed_name == NULL && key_allows(k, sname)) {
                    allowed_name = sname;
                }
            }
        }
        if (matched != NULL) {
            b->used = 1;
            covered++;
            r = add_check(c, "subject", SIGN_CHECK_PASS, "OK", 0, art, b->path, k->signer,
                          "artifact %s (sha256 %s) matches signed subject \"%s\" in %s", art, dhex, matched, b->path);
            if (r == 0 && allowed_name == NULL) {
                globs_text(globs, sizeof(globs), k);
                r = add_check(c, "artifact-glob", SIGN_CHECK_FAIL, "SIGNER_NOT_ALLOWED", SIGN_EPOLICY, art, b->path,
                              k->signer,
                              "%s \"%s\" may sign only %s, not \"%s\"; sign it with a signer allowed for this "
                              "name, or widen the artifacts of its policy key or root",
                              k->signer_kind, k->signer, globs, matched);
            } else if (r == 0 && !key_allows_path(k, apath)) {
                /* Signed under an allowed name, but given under one the key may not sign: renamed bytes. */
                globs_text(globs, sizeof(globs), k);
                r = add_check(c, "artifact-glob", SIGN_CHECK_FAIL, "SIGNER_NOT_ALLOWED", SIGN_EPOLICY, art, b->path,
                              k->signer,
                              "%s \"%s\" may sign only %s, not the artifact %s given (signed as \"%s\"); "
                              "use the file under the name it was signed as, or sign it with a signer allowed for "
                              "this name",
                              k->signer_kind, k->signer, globs, apath, allowed_name);
                path_ok = 0;
            } else if (r == 0) {
                r = add_check(c, "artifact-glob", SIGN_CHECK_PASS, "OK", 0, art, b->path, k->signer,
                              "%s \"%s\" may sign \"%s\"", k->signer_kind, k->signer, allowed_name);
            }
            if (r == 0 && allowed_name != NULL && path_ok && b->in_window) {
                /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): ncand > 0 here */
                counted[ci] = 1;
            }
            if (r == 0 && c->entries) {
                r = verify_entries(c, a, b, allowed_name != NULL ? allowed_name : matched);
            }
            if (r == 0 && sign_artifact_image_count(a) > 0) {
                r = verify_layers(c, a, b, allowed_name != NULL ? allowed_name : matched);
            }
            continue;
        }
        /* No digest match in this bundle: a subject of the same name means the bytes changed. */
        for (size_t s = 0; s < ns && r == 0; s++) {
            const char *sname;
            const unsigned char *sdig;

            if (sign_statement_subject(&sname, &sdig, b->st, s) != 0 || !names_match(sname, art)) {
                continue;
            }
            b->used = 1;
            mismatched++;
            hex32(shex, sdig);
            if (sign_artifact_image_count(a) > 0) {
                r = add_check(c, "subject", SIGN_CHECK_FAIL, "INDEX_MISMATCH", SIGN_EDIGEST, art, b->path, k->signer,
                              "artifact %s: the image it names now (sha256 %s) is not the signed image %s of \"%s\" "
                              "in %s; the index (or manifest.json) was changed to point elsewhere - use the signed "
                              "image or re-sign",
                              art, dhex, shex, sname, b->path);
            } else {
                r = add_check(c, "subject", SIGN_CHECK_FAIL, "DIGEST_MISMATCH", SIGN_EDIGEST, art, b->path, k->signer,
                              "artifact %s: sha256 %s does not match the signed digest %s of \"%s\" in %s; the file "
                              "was changed after signing - rebuild or re-sign it",
                              art, dhex, shex, sname, b->path);
            }
            if (r == 0 && c->entries) {
                r = verify_entries(c, a, b, sname);
            }
        }
    }
    if (r != 0) {
        goto out; /* keep add_check's "out of memory" */
    }
    sign__error_clear();
    if (covered == 0 && mismatched == 0) {
        r = add_check(c, "subject", SIGN_CHECK_FAIL, "ARTIFACT_NOT_SIGNED", SIGN_EPOLICY, art, NULL, NULL,
                      "artifact %s (sha256 %s) is not covered by any valid signature from a trusted key in the "
                      "bundles given; sign it, or pass its bundle with -b",
                      art, dhex);
        if (r != 0) {
            goto out;
        }
    }

    if (c->tree != NULL && covered > 0 && (r = verify_tree(c, a)) != 0) {
        goto out;
    }

    /* Threshold: distinct trusted, in-window, allowed signers whose statement covers this digest. */
    names[0] = '\0';
    if (counted != NULL) {
        counted_distinct(counted, bundles, cand, ncand);
    }
    for (size_t i = 0, used = 0; i < ncand; i++) {
        if (!counted[i]) {
            continue;
        }
        ncount++;
        if (used + 1 < sizeof(names)) {
            int n = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", bundles[cand[i]].signer);

            used += n > 0 ? (size_t)n : 0;
        }
    }
    if ((int64_t)ncount >= p->threshold) {
        r = add_check(c, "threshold", SIGN_CHECK_PASS, "OK", 0, art, NULL, NULL,
                      "artifact %s: %zu of %lld required distinct trusted signer(s): %s", art, ncount,
                      (long long)p->threshold, names);
    } else if (covered == 0) {
        /* The subject check above already failed and says why; counting signers adds nothing. */
        r = add_check(c, "threshold", SIGN_CHECK_SKIP, "NOT_COUNTED", 0, art, NULL, NULL,
                      "artifact %s: no valid signature covers its bytes, so no signer counts towards the "
                      "threshold of %lld",
                      art, (long long)p->threshold);
    } else {
        r = add_check(c, "threshold", SIGN_CHECK_FAIL, "THRESHOLD_NOT_MET", SIGN_EPOLICY, art, NULL, NULL,
                      "artifact %s has %zu of the %lld distinct trusted signers the policy requires%s%s%s (a "
                      "key counts once, and only inside its window and globs); add bundles signed by other "
                      "keys of the policy",
                      art, ncount, (long long)p->threshold, ncount ? " (" : "", names, ncount ? ")" : "");
    }
    if (r != 0) {
        goto out;
    }

    /* The artifact record of the verdict. */
    if (ncount > 0 && (ra->signers = calloc(ncount, sizeof(char *))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncand; i++) {
        if (counted[i]) {
            if ((ra->signers[ra->nsigners] = sign__strdup(bundles[cand[i]].signer)) == NULL) {
                r = SIGN_ENOMEM;
                goto out;
            }
            ra->nsigners++;
        }
    }
    ra->verified = 1;
    for (size_t i = first_check; i < c->res->nchecks; i++) {
        if (c->res->checks[i].status == SIGN_CHECK_FAIL) {
            ra->verified = 0;
        }
    }
out:
    free(counted);
    return r;
}

/* ---- the pipeline ----------------------------------------------------- */

typedef struct name_ix {
    const char *name;
    size_t i;
} name_ix;

static int cmp_name_ix(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* Bundle-level failures of an artifact's own default bundle also make the artifact unverified. */
static void mark_bundle_failures(sign_verify_result *res)
{
    name_ix *order = res->nartifacts > 1 ? calloc(res->nartifacts, sizeof(*order)) : NULL;

    if (order != NULL) {
        /* Failed checks looked up among the artifacts sorted by name: N log N, not N * checks. */
        for (size_t i = 0; i < res->nartifacts; i++) {
            order[i].name = res->artifacts[i].name != NULL ? res->artifacts[i].name : "";
            order[i].i = i;
        }
        qsort(order, res->nartifacts, sizeof(*order), cmp_name_ix);
        for (size_t j = 0; j < res->nchecks; j++) {
            const sign_check *k = &res->checks[j];
            size_t lo = 0, hi = res->nartifacts;

            if (k->status != SIGN_CHECK_FAIL || k->artifact == NULL) {
                continue;
            }
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(order[mid].name, k->artifact) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (; lo < res->nartifacts && strcmp(order[lo].name, k->artifact) == 0; lo++) {
                res->artifacts[order[lo].i].verified = 0;
            }
        }
        free(order);
        return;
    }
    for (size_t i = 0; i < res->nartifacts; i++) {
        vr_artifact *a = &res->artifacts[i];

        for (size_t j = 0; j < res->nchecks && a->verified; j++) {
            const sign_check *k = &res->checks[j];

            if (k->status == SIGN_CHECK_FAIL && k->artifact != NULL && strcmp(k->artifact, a->name) == 0) {
                a->verified = 0;
            }
        }
    }
}

static void decide(sign_verify_result *res, int enforce)
{
    int best = 100;

    res->ok = 1;
    res->code = 0;
    res->decisive = SIZE_MAX;
    for (size_t i = 0; i < res->nchecks; i++) {
        sign_check *k = &res->checks[i];
        int rank;

        if (k->status != SIGN_CHECK_FAIL) {
            continue;
        }
        res->ok = 0;
        rank = class_rank(k->code);
        if (rank < best) {
            best = rank;
            res->decisive = i;
        }
    }
    if (res->decisive == SIZE_MAX) {
        return;
    }
    if (enforce) {
        res->code = res->checks[res->decisive].code;
        return;
    }
    /*
     * warn / audit: failures are reported as WARN and let through, except an
     * artifact that cannot be read at all, which nothing could use.
     */
    for (size_t i = 0; i < res->nchecks; i++) {
        sign_check *k = &res->checks[i];

        if (k->status == SIGN_CHECK_FAIL && strcmp(k->reason, "ARTIFACT_UNREADABLE") != 0) {
            k->status = SIGN_CHECK_WARN;
        }
    }
    for (size_t i = 0; i < res->nchecks; i++) {
        if (res->checks[i].status == SIGN_CHECK_FAIL) {
            res->code = res->checks[i].code;
            res->decisive = i;
            return;
        }
    }
}

/* ---- in parallel ------------------------------------------------------ */

/*
 * Hashing the artifacts and checking the bundles (parse, signature) are independent per item
 * and are most of a verify, so they run at once on every core: many small files spread over
 * the cores, and one large artifact is hashed while its bundle is parsed. What they produce
 * (the artifact records, each bundle's checks in its own list) is then taken in the original
 * order, so the verdict is the one a sequential run gives. verify_bundle runs before the
 * artifacts' names are known, so a default bundle's checks get their artifact when merged:
 * verify_bundle must not use b->for_artifact for anything else.
 */
#define VERIFY_MAX_THREADS 8

typedef struct vpar {
    size_t n, next;
    pthread_mutex_t mu;
    void (*fn)(void *arg, size_t i);
    void *arg;
} vpar;

static void *vpar_worker(void *p)
{
    vpar *v = p;

    for (;;) {
        size_t i;

        pthread_mutex_lock(&v->mu);
        i = v->next < v->n ? v->next++ : SIZE_MAX;
        pthread_mutex_unlock(&v->mu);
        if (i == SIZE_MAX) {
            return NULL;
        }
        v->fn(v->arg, i);
    }
}

/* fn(arg, i) for every i < n, on up to one thread per core (the caller's among them). */
static void par_for(size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
    pthread_t tids[VERIFY_MAX_THREADS];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores > 1 ? (size_t)cores : 1, started = 0;
    vpar v;

    memset(tids, 0, sizeof(tids));
    if (nt > VERIFY_MAX_THREADS) {
        nt = VERIFY_MAX_THREADS;
    }
    if (nt > n) {
        nt = n;
    }
    v.n = n;
    v.next = 0;
    v.fn = fn;
    v.arg = arg;
    pthread_mutex_init(&v.mu, NULL);
    for (size_t k = 1; k < nt; k++) {
        if (pthread_create(&tids[started], NULL, vpar_worker, &v) != 0) {
            break;
        }
        started++;
    }
    vpar_worker(&v);
    for (size_t k = 0; k < started; k++) {
        pthread_join(tids[k], NULL);
    }
    pthread_mutex_destroy(&v.mu);
}

typedef struct scan_job {
    const char *const *paths;
    const sign_artifact_options *aopts;
    sign_artifact **arts;
    int *rc;
    char **msg;
} scan_job;

static void scan_one(void *arg, size_t i)
{
    scan_job *j = arg;

    if (j->paths[i] == NULL) {
        return;
    }
    j->rc[i] = sign_artifact_scan(&j->arts[i], j->paths[i], NULL, j->aopts);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last()); /* NULL when out of memory: the path stands in */
    }
}

typedef struct bundle_job {
    const vctx *c;
    vb *bundles;
    vctx *bc; /* per bundle: the context with its own list of checks */
    int *rc;
    char **msg;
} bundle_job;

static void bundle_one(void *arg, size_t i)
{
    bundle_job *j = arg;

    j->bc[i] = *j->c;
    if ((j->bc[i].res = calloc(1, sizeof(*j->bc[i].res))) == NULL) {
        j->rc[i] = SIGN_ENOMEM;
        return;
    }
    j->rc[i] = verify_bundle(&j->bc[i], &j->bundles[i]);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last());
    }
}

typedef struct verify_jobs {
    scan_job s;
    bundle_job b;
    size_t n; /* jobs below n are artifacts, the others bundles */
} verify_jobs;

static void job_one(void *arg, size_t i)
{
    verify_jobs *j = arg;

    if (i < j->n) {
        scan_one(&j->s, i);
    } else {
        bundle_one(&j->b, i - j->n);
    }
}

/* Append src's checks to dst (moved: src is left empty). */
static int move_checks(sign_verify_result *dst, sign_verify_result *src)
{
    size_t need, bytes;

    if (!sign__add(&need, dst->nchecks, src->nchecks)) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (need > dst->capchecks) {
        sign_check *v;

        if (!sign__mul(&bytes, need, sizeof(*v)) || (v = realloc(dst->checks, bytes)) == NULL) {
            return sign__error(SIGN_ENOMEM, "out of memory");
        }
        dst->checks = v;
        dst->capchecks = need;
    }
    if (src->nchecks > 0) {
        memcpy(dst->checks + dst->nchecks, src->checks, src->nchecks * sizeof(*src->checks));
    }
    dst->nchecks = need;
    src->nchecks = 0; /* transferred */
    return 0;
}

static int default_bundle_path(char **out, const char *artifact)
{
    static const char suffix[] = ".sigstore.json";
    size_t n;

    *out = NULL;
    if (!sign__add(&n, strlen(artifact), sizeof(suffix))) {
        return sign__error(SIGN_ELIMIT, "path too long");
    }
    if ((*out = malloc(n)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(*out, n, "%s%s", artifact, suffix);
    return 0;
}

int sign_verify(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts)
{
    sign_artifact_options aopts = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_artifact **arts = NULL;
    vb *bundles = NULL;
    size_t nb = 0, n;
    vindex ix = {0};
    vctx c, *bc = NULL;
    verify_jobs jobs;
    int *arc = NULL, *brc = NULL;
    char **amsg = NULL, **bmsg = NULL;
    int r = SIGN_ERROR;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no result pointer");
    }
    *out = NULL;
    if (policy == NULL || opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no policy or options");
    }
    if (opts->version < 1 || opts->version > SIGN_VERIFY_OPTIONS_VERSION) {
        return sign__error(SIGN_EINVAL, "sign_verify: unknown options version %u", opts->version);
    }
    if (opts->nartifacts == 0 || opts->artifacts == NULL) {
        return sign__error(SIGN_EINVAL, "nothing to verify: give at least one artifact");
    }
    if (opts->nbundles > 0 && opts->bundles == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: nbundles without bundles");
    }
    n = opts->nartifacts;
    memset(&c, 0, sizeof(c));
    c.policy = policy;
    c.opts = opts;
    c.limits = sign__limits(opts->limits);
    c.at = opts->at != 0 ? opts->at : sign__now();
    c.entries = policy->require_entries || (opts->flags & SIGN_VERIFY_ENTRIES) != 0;
    /* Fields of version 3 only when the caller has them; the network only when asked. */
    c.fetch_crl = (opts->flags & SIGN_VERIFY_FETCH_CRL) != 0;
    if (opts->version >= 3) {
        c.crl_cache_dir = opts->crl_cache_dir;
        c.crl_timeout_ms = opts->crl_timeout_ms;
    }
    if ((res = calloc(1, sizeof(*res))) == NULL || (arts = calloc(n, sizeof(*arts))) == NULL ||
        (res->artifacts = calloc(n, sizeof(*res->artifacts))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    res->mode = policy->mode;
    res->decisive = SIZE_MAX;
    c.res = res;

    /* Artifacts: recognise and hash; entries only when they will be compared. */
    c.tree = opts->version >= 2 ? opts->tree : NULL;
    aopts.flags = c.entries || c.tree != NULL ? 0 : SIGN_ARTIFACT_NO_ENTRIES;
    aopts.flags |=
        SIGN_ARTIFACT_KEEP_PROBLEMS | ((opts->flags & SIGN_VERIFY_ALL_IMAGES) ? SIGN_ARTIFACT_ALL_IMAGES : 0);
    aopts.ref = opts->version >= 2 ? opts->ref : NULL;
    aopts.limits = c.limits;
    for (size_t i = 0; i < n; i++) {
        if (opts->artifacts[i] == NULL) {
            r = sign__error(SIGN_EINVAL, "sign_verify: artifact %zu is NULL", i);
            goto out;
        }
    }
    /* Bundles: the ones given, or "<artifact>.sigstore.json" beside each artifact. */
    nb = opts->nbundles > 0 ? opts->nbundles : n;
    if ((bundles = calloc(nb, sizeof(*bundles))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nb; i++) {
        bundles[i].key = SIZE_MAX;
        if (opts->nbundles > 0) {
            if ((bundles[i].path = opts->bundles[i]) == NULL) {
                r = sign__error(SIGN_EINVAL, "sign_verify: bundle %zu is NULL", i);
                goto out;
            }
        } else {
            if ((r = default_bundle_path(&bundles[i].owned_path, opts->artifacts[i])) != 0) {
                goto out;
            }
            bundles[i].path = bundles[i].owned_path;
        }
    }
    /* Hash every artifact and check every bundle at once (see "in parallel"). */
    if ((arc = calloc(n, sizeof(*arc))) == NULL || (amsg = calloc(n, sizeof(*amsg))) == NULL ||
        (bc = calloc(nb, sizeof(*bc))) == NULL || (brc = calloc(nb, sizeof(*brc))) == NULL ||
        (bmsg = calloc(nb, sizeof(*bmsg))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    jobs.s.paths = opts->artifacts;
    jobs.s.aopts = &aopts;
    jobs.s.arts = arts;
    jobs.s.rc = arc;
    jobs.s.msg = amsg;
    jobs.b.c = &c;
    jobs.b.bundles = bundles;
    jobs.b.bc = bc;
    jobs.b.rc = brc;
    jobs.b.msg = bmsg;
    jobs.n = n;
    par_for(n + nb, job_one, &jobs);
    for (size_t i = 0; i < n; i++) {
        vr_artifact *ra = &res->artifacts[i];
        const char *path = opts->artifacts[i];

        res->nartifacts = i + 1;
        if ((r = arc[i]) != 0) {
            sign__error(r, "%s", amsg[i] != NULL ? amsg[i] : path);
        }
        if (r == SIGN_ENOMEM) {
            goto out;
        }
        if ((ra->path = sign__strdup(path)) == NULL ||
            (ra->name = sign__strdup(r == 0 ? sign_artifact_name(arts[i]) : path)) == NULL) {
            r = SIGN_ENOMEM;
            goto out;
        }
        if (r != 0) {
            int code = class_rank(r) == 0 ? r : SIGN_EIO;

            if ((r = add_check(&c, "artifact", SIGN_CHECK_FAIL, "ARTIFACT_UNREADABLE", code, ra->name, NULL, NULL,
                               "artifact %s cannot be read: %s; check the path", path, sign_error_last())) != 0) {
                goto out;
            }
            continue;
        }
        ra->has_digest = 1;
        hex32(ra->sha256, sign_artifact_sha256(arts[i]));
        if ((r = image_problems(&c, arts[i])) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        size_t first = res->nchecks;

        if ((r = brc[i]) != 0) {
            sign__error(r, "%s", bmsg[i] != NULL ? bmsg[i] : "out of memory");
            goto out;
        }
        if ((r = move_checks(res, bc[i].res)) != 0) {
            goto out;
        }
        if (opts->nbundles == 0) {
            /* A default bundle's checks name its artifact (known only now: the name a scan gave it). */
            bundles[i].for_artifact = res->artifacts[i].name;
            for (size_t k = first; k < res->nchecks; k++) {
                if (res->checks[k].artifact == NULL &&
                    (res->checks[k].artifact = sign__strdup(bundles[i].for_artifact)) == NULL) {
                    r = SIGN_ENOMEM;
                    goto out;
                }
            }
        }
    }
    if ((r = vindex_build(&ix, bundles, nb)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t nc;

        if (arts[i] == NULL) {
            continue;
        }
        nc = vindex_candidates(&ix, sign_artifact_sha256(arts[i]), sign_artifact_name(arts[i]));
        if ((r = verify_artifact(&c, arts[i], &res->artifacts[i], bundles, ix.cand, nc)) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        if (bundles[i].usable && !bundles[i].used &&
            (r = add_check(&c, "bundle", SIGN_CHECK_SKIP, "BUNDLE_UNUSED", 0, bundles[i].for_artifact,
                           bundles[i].path, bundles[i].signer, "bundle %s signs none of the artifacts given",
                           bundles[i].path)) != 0) {
            goto out;
        }
    }
    mark_bundle_failures(res);
    decide(res, policy->mode == SIGN_MODE_ENFORCE);
    sign__error_clear();
    if (res->code != 0 && res->decisive != SIZE_MAX) {
        sign__error(res->code, "%s", res->checks[res->decisive].message);
    }
    r = res->code;
    *out = res;
    res = NULL; /* transferred */
out:
    vindex_free(&ix);
    for (size_t i = 0; amsg != NULL && i < n; i++) {
        free(amsg[i]);
    }
    for (size_t i = 0; bc != NULL && i < nb; i++) {
        sign_verify_result_free(bc[i].res);
    }
    for (size_t i = 0; bmsg != NULL && i < nb; i++) {
        free(bmsg[i]);
    }
    free(arc);
    free(amsg);
    free(bc);
    free(brc);
    free(bmsg);
    for (size_t i = 0; bundles != NULL && i < nb; i++) {
        sign_bundle_free(bundles[i].bundle);
        sign_statement_free(bundles[i].st);
        sign_x509_certs_free(bundles[i].certs);
        sign_key_free(bundles[i].cert_key);
        free(bundles[i].owned_path);
    }
    free(bundles);
    for (size_t i = 0; arts != NULL && i < n; i++) {
        sign_artifact_free(arts[i]);
    }
    free(arts);
    sign_verify_result_free(res);
    return r;
}

/* ---- the verdict as JSON ---------------------------------------------- */

/* Paths and messages may quote file names that are not UTF-8. */
static json_t *str_or_null(const char *s)
{
    return sign__json_text(s);
}

int sign_verify_result_json(char **out, const sign_verify_result *r)
{
    json_t *root = NULL, *arts = NULL, *checks = NULL;
    int rc = SIGN_ENOMEM;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify_result_json: no output pointer");
    }
    *out = NULL;
    if (r == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify_result_json: no result");
    }
    if ((arts = json_array()) == NULL || (checks = json_array()) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < r->nartifacts; i++) {
        const vr_artifact *a = &r->artifacts[i];
        json_t *signers = json_array(), *o;

        if (signers == NULL) {
            goto out;
        }
        for (size_t j = 0; j < a->nsigners; j++) {
            if (json_array_append_new(signers, json_string(a->signers[j])) != 0) {
                json_decref(signers);
                goto out;
            }
        }
        o = json_pack("{s:o,s:o,s:o,s:b,s:o}", "name", str_or_null(a->name), "path", str_or_null(a->path), "sha256",
                      a->has_digest ? json_string(a->sha256) : json_null(), "verified", a->verified, "signers",
                      signers);
        if (o == NULL || json_array_append_new(arts, o) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < r->nchecks; i++) {
        const sign_check *k = &r->checks[i];
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "check", k->check, "status", sign_check_status_name(k->status),
                      "reason", k->reason, "artifact", str_or_null(k->artifact), "bundle", str_or_null(k->bundle),
                      "signer", str_or_null(k->signer), "message", str_or_null(k->message));

        if (o == NULL || json_array_append_new(checks, o) != 0) {
            goto out;
        }
    }
    root = json_pack("{s:b,s:b,s:s,s:s,s:o,s:o}", "verified", r->ok, "accepted", r->code == 0, "mode",
                     sign_policy_mode_name(r->mode), "code",
                     r->decisive != SIZE_MAX ? r->checks[r->decisive].reason : "OK", "artifacts", arts, "checks",
                     checks);
    arts = checks = NULL; /* transferred (json_pack steals "o" even on failure) */
    if (root == NULL) {
        goto out;
    }
    rc = sign__json_dump(out, NULL, root, 0);
out:
    if (rc == SIGN_ENOMEM && *out == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_decref(arts);
    json_decref(checks);
    json_decref(root);
    return rc;
}
