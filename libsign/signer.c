/* The signing operation: artifacts -> statement -> DSSE envelope -> bundle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/signer.h"
#include "formats.h"
#include "pool.h"

static void free_artifacts(sign_artifact **arts, size_t n)
{
    if (arts == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sign_artifact_free(arts[i]);
    }
    free(arts);
}

static int scan_all(sign_artifact ***out, const sign_sign_options *opts)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact **arts;
    int r;

    *out = NULL;
    if (opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign: no options");
    }
    if ((r = sign__check_version(opts->version, SIGN_SIGN_OPTIONS_VERSION, "sign_sign_options")) != 0) {
        return r;
    }
    if (opts->nartifacts == 0 || opts->artifacts == NULL) {
        return sign__error(SIGN_EINVAL, "no artifacts given");
    }
    if ((arts = calloc(opts->nartifacts, sizeof(*arts))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    ao.limits = opts->limits;
    ao.progress = opts->progress;
    ao.progress_userdata = opts->progress_userdata;
    if (opts->version >= 3) {
        ao.ref = opts->ref;
        ao.flags |=
            opts->artifact_flags &
            (SIGN_ARTIFACT_ALL_IMAGES | SIGN_ARTIFACT_FOLLOW_SYMLINK | SIGN_ARTIFACT_AS_FILE | SIGN_ARTIFACT_AS_ZIP |
             SIGN_ARTIFACT_AS_TAR | SIGN_ARTIFACT_AS_DOCKER | SIGN_ARTIFACT_AS_OCI | SIGN_ARTIFACT_REGISTRY_INSECURE);
    }
    r = sign_artifact_scan_many(arts, opts->artifacts, opts->names, opts->nartifacts, &ao);
    if (r != 0) {
        free(arts);
        return r;
    }
    *out = arts;
    return 0;
}

static int is_allowed(const sign_sign_options *opts, const char *id)
{
    for (size_t i = 0; i < opts->nallow; i++) {
        if (strcmp(opts->allow[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* SIGN_EFINDING, naming every dangerous finding that was not allowed. */
static int check_findings(sign_artifact *const *arts, const sign_sign_options *opts)
{
    char msg[768];
    size_t used = 0, refused = 0;

    msg[0] = '\0';
    for (size_t i = 0; i < opts->nartifacts; i++) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): arts is set; sign__error() never returns 0 */
        for (size_t j = 0; j < sign_artifact_finding_count(arts[i]); j++) {
            const sign_finding *f = sign_artifact_finding(arts[i], j);

            if (f->severity != SIGN_SEVERITY_DANGER || is_allowed(opts, f->id)) {
                continue;
            }
            if (refused++ < 8 && used < sizeof(msg)) {
                int n = snprintf(msg + used, sizeof(msg) - used, "%s%s (%s%s%s)", used ? ", " : "", f->id,
                                 sign_artifact_name(arts[i]), f->path ? ":" : "", f->path ? f->path : "");
                if (n > 0) {
                    used += (size_t)n;
                }
            }
        }
    }
    if (refused > 0) {
        return sign__error(SIGN_EFINDING, "refusing to sign: %zu dangerous finding%s: %s%s", refused,
                           refused == 1 ? "" : "s", msg, refused > 8 ? ", ..." : "");
    }
    return 0;
}

int sign_hash(sign_statement **out_statement, sign_artifact ***out_artifacts, const sign_sign_options *opts)
{
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_artifact **arts = NULL;
    int r;

    *out_statement = NULL;
    if (out_artifacts != NULL) {
        *out_artifacts = NULL;
    }
    if ((r = scan_all(&arts, opts)) != 0) {
        return r;
    }
    mo.created = opts->created;
    mo.source = opts->version >= 4 ? opts->source : NULL;
    mo.artifact_version = opts->version >= 4 ? opts->artifact_version : NULL; /* downgrade protection */
    r = sign_statement_build(out_statement, arts, opts->nartifacts, &mo);
    if (r == 0 && out_artifacts != NULL) {
        *out_artifacts = arts;
        arts = NULL; /* transferred */
    }
    free_artifacts(arts, opts->nartifacts);
    return r;
}

/* The certificate must be the key's and valid now. */
static int check_certificate(const sign_sign_options *opts)
{
    sign_x509_info info;
    char tbuf[32];
    int64_t now = sign__now();
    int r;

    if (sign_x509_certs_count(opts->certs) == 0) {
        return sign__error(SIGN_EINVAL, "signing with a certificate needs at least one certificate");
    }
    if ((r = sign_x509_certs_info(&info, opts->certs, 0)) != 0) {
        return r;
    }
    if (!sign_x509_key_matches(opts->certs, 0, opts->key)) {
        return sign__error(SIGN_EINVAL,
                           "the private key does not match certificate %s (the first certificate must be the "
                           "key's own); give the key and certificate that belong together",
                           info.subject);
    }
    if (now < info.not_before) {
        sign_format_time(tbuf, sizeof(tbuf), info.not_before);
        return sign__error(SIGN_EEXPIRED, "certificate %s is not valid yet (valid from %s); check the clock",
                           info.subject, tbuf);
    }
    if (now > info.not_after) {
        sign_format_time(tbuf, sizeof(tbuf), info.not_after);
        return sign__error(SIGN_EEXPIRED, "certificate %s expired at %s; renew it before signing", info.subject,
                           tbuf);
    }
    return 0;
}

/* A bundle carrying the certificate (and with embed_chain the intermediates). env is transferred on success. */
static int bundle_x509(sign_bundle **out, sign_envelope *env, const sign_sign_options *opts)
{
    size_t n = sign_x509_certs_count(opts->certs), nchain = 0;
    unsigned char **ders = NULL;
    size_t *lens = NULL;
    int r;

    *out = NULL;
    if ((ders = calloc(n, sizeof(*ders))) == NULL || (lens = calloc(n, sizeof(*lens))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    if ((r = sign_x509_certs_der(&ders[0], &lens[0], opts->certs, 0)) != 0) {
        goto out;
    }
    for (size_t i = 1; opts->embed_chain && i < n; i++) {
        if (sign_x509_certs_self_signed(opts->certs, i)) {
            continue; /* never the root: the verifier's policy supplies it */
        }
        nchain++;
        if ((r = sign_x509_certs_der(&ders[nchain], &lens[nchain], opts->certs, i)) != 0) {
            goto out;
        }
    }
    r = sign_bundle_new_x509(out, env, ders[0], lens[0], (const unsigned char *const *)(ders + 1), lens + 1, nchain);
out:
    for (size_t i = 0; ders != NULL && i < n; i++) {
        free(ders[i]);
    }
    free(ders);
    free(lens);
    return r;
}

/* The signature made on one thread while the bundle's payload is written on another (sign_overlapped). */
typedef struct overlap {
    sign_envelope *env;
    const sign_key *key;
    const char *output;
    sign__bundle_out *bo;
    unsigned char *sig;
    size_t siglen;
    int rc[2];
    char msg[2][1024];
} overlap;

static void overlap_one(void *arg, size_t i)
{
    overlap *o = arg;

    o->rc[i] = i == 0 ? sign__envelope_signature_make(&o->sig, &o->siglen, o->env, o->key)
                      : sign__bundle_out_begin(o->bo, o->env, o->output);
    if (o->rc[i] != 0) {
        snprintf(o->msg[i], sizeof(o->msg[i]), "%s", sign_error_last()); /* the running thread's */
    }
}

/*
 * Sign env. With a bundle to write, a key of this process (not a token's) and
 * a second thread, the payload's part of the bundle (most of it) is written
 * to the temporary file (*bo, begun) while the signature is made; the
 * signature's error comes first, as when it was made first.
 */
static int sign_overlapped(sign_envelope *env, const sign_sign_options *opts, sign__bundle_out *bo)
{
    overlap o;
    int r;

    if (opts->output == NULL || sign__key_has_backend(opts->key) || sign__pool_budget() < 2) {
        return sign_envelope_sign(env, opts->key);
    }
    memset(&o, 0, sizeof(o));
    o.env = env;
    o.key = opts->key;
    o.output = opts->output;
    o.bo = bo;
    sign__pool_for(2, overlap_one, &o);
    if (o.rc[0] != 0 || o.rc[1] != 0) {
        sign__bundle_out_abort(bo);
        r = o.rc[0] != 0 ? sign__error(o.rc[0], "%s", o.msg[0]) : sign__error(o.rc[1], "%s", o.msg[1]);
    } else if ((r = sign__envelope_signature_add(env, opts->key, o.sig, o.siglen)) != 0) {
        sign__bundle_out_abort(bo);
    }
    free(o.sig);
    return r;
}

/* The same as SIGN_SIGN_OPTIONS_INIT: the version, every other byte zero. */
void sign_sign_options_init(sign_sign_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_SIGN_OPTIONS_VERSION;
}

int sign_sign(sign_bundle **out_bundle, sign_artifact ***out_artifacts, const sign_sign_options *opts)
{
    sign_manifest_options mo = SIGN_MANIFEST_OPTIONS_INIT;
    sign_artifact **arts = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    sign__bundle_out bo;
    const sign_x509_certs *certs;
    char *payload = NULL;
    size_t plen = 0;
    int r;

    *out_bundle = NULL;
    memset(&bo, 0, sizeof(bo));
    if (out_artifacts != NULL) {
        *out_artifacts = NULL;
    }
    if (opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign: no options");
    }
    if ((r = sign__check_version(opts->version, SIGN_SIGN_OPTIONS_VERSION, "sign_sign_options")) != 0) {
        return r;
    }
    if (opts->key == NULL || !sign_key_has_private(opts->key)) {
        return sign__error(SIGN_EINVAL, "signing needs a private key");
    }
    certs = opts->version >= 2 ? opts->certs : NULL;
    if (certs != NULL && (r = check_certificate(opts)) != 0) {
        return r;
    }
    if (opts->output != NULL) {
        for (size_t i = 0; i < opts->nartifacts; i++) {
            if (strcmp(opts->output, opts->artifacts[i]) == 0 || sign__same_file(opts->output, opts->artifacts[i])) {
                return sign__error(SIGN_EINVAL, "%s: the bundle would overwrite an artifact; choose another -o",
                                   opts->output);
            }
        }
    }
    if ((r = scan_all(&arts, opts)) != 0) {
        return r;
    }
    if ((r = check_findings(arts, opts)) != 0) {
        goto out;
    }
    mo.created = opts->created;
    mo.source = opts->version >= 4 ? opts->source : NULL;
    mo.artifact_version = opts->version >= 4 ? opts->artifact_version : NULL; /* downgrade protection */
    if ((r = sign__statement_payload(&payload, &plen, arts, opts->nartifacts, &mo)) != 0 ||
        (r = sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, payload, plen)) != 0 ||
        (r = sign_overlapped(env, opts, &bo)) != 0 ||
        (r = certs != NULL ? bundle_x509(&b, env, opts) : sign_bundle_new(&b, env, opts->key)) != 0) {
        goto out;
    }
    env = NULL; /* transferred */
    if (bo.open) {
        r = sign__bundle_out_finish(&bo, b); /* the payload is written: the rest, then into place */
    } else if (opts->output != NULL) {
        r = sign_bundle_write(b, opts->output);
    }
    if (r != 0) {
        goto out;
    }
    *out_bundle = b;
    b = NULL; /* transferred */
    r = 0;
out:
    if (out_artifacts != NULL && (r == 0 || r == SIGN_EFINDING)) {
        *out_artifacts = arts;
        arts = NULL; /* transferred */
    }
    free_artifacts(arts, opts->nartifacts);
    sign__bundle_out_abort(&bo); /* a bundle begun and not finished leaves nothing */
    sign_bundle_free(b);
    sign_envelope_free(env);
    free(payload);
    return r;
}
