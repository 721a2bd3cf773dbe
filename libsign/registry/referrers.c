/*
 * Bundles as OCI referrers (<sign/registry.h>): the artifact manifest pushed
 * beside an image, the referrers API and its tag schema fallback.
 *
 * A pushed bundle is an OCI 1.1 image manifest: artifactType and the one
 * layer's media type SIGN_REGISTRY_BUNDLE_TYPE, the empty config
 * (application/vnd.oci.empty.v1+json, "{}"), subject the signed manifest.
 * A registry without the referrers API gets the fallback: the tag
 * "sha256-<hex of the subject>" holds an image index of the referrers; it is
 * read, extended and written back, other tools' entries kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sign/encoding.h>
#include <sign/registry.h>

#include "pool.h"
#include "regclient.h"
#include "util.h"

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define MAX_REFERRERS 1000

int sign_registry_is_reference(const char *s)
{
    return sign__regref_is(s);
}

int sign__registry_open_ref(sign__registry **reg, sign__regref *ref, const char *reference, int push,
                            const sign_registry_options *o)
{
    static const sign_registry_options defaults = SIGN_REGISTRY_OPTIONS_INIT;
    sign__registry_options ro;
    int r;

    if (o == NULL) {
        o = &defaults;
    }
    if ((r = sign__check_version(o->version, SIGN_REGISTRY_OPTIONS_VERSION, "sign_registry_options")) != 0 ||
        (r = sign__regref_parse(ref, reference)) != 0) {
        return r;
    }
    memset(&ro, 0, sizeof(ro));
    ro.insecure = (o->flags & SIGN_REGISTRY_INSECURE) != 0;
    ro.push = push;
    ro.timeout_ms = o->timeout_ms;
    ro.auth_file = o->auth_file;
    return sign__registry_open(reg, ref, &ro);
}

int sign_registry_resolve(char **digest, char **pinned, const char *reference, const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    unsigned char *data = NULL;
    char *mt = NULL, dg[72], buf[700];
    size_t len = 0;
    int r;

    *digest = NULL;
    *pinned = NULL;
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 0, o)) != 0) {
        return r;
    }
    r = sign__registry_get_manifest(reg, ref.digest[0] != '\0' ? ref.digest : ref.tag, &data, &len, &mt);
    if (r == 0 && (r = sign__reg_digest_of(dg, data, len)) == 0 && ref.digest[0] != '\0' &&
        strcmp(dg, ref.digest) != 0) {
        r = sign__error(SIGN_EDIGEST, "registry %s: the manifest %s hashes to %s: it was changed",
                        sign__registry_name(reg), ref.digest, dg);
    }
    if (r == 0) {
        snprintf(buf, sizeof(buf), "docker://%s/%s@%s", ref.host, ref.repo, dg);
        if ((*digest = sign__strdup(dg)) == NULL || (*pinned = sign__strdup(buf)) == NULL) {
            free(*digest);
            *digest = NULL;
            r = sign__oom();
        }
    }
    free(data);
    free(mt);
    sign__registry_free(reg);
    return r;
}

/* The artifact manifest of a bundle blob (bundle_digest, len bytes) for the subject. */
static int artifact_manifest(char **out, size_t *outlen, const char *bundle_digest, size_t len,
                             const char *subject_digest, uint64_t subject_size, const char *subject_media_type)
{
    char created[32];
    json_t *m;
    int r;

    if (sign_format_time(created, sizeof(created), sign__now()) != 0) {
        created[0] = '\0';
    }
    m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i, s:s}, s:[{s:s, s:s, s:I}], s:{s:s, s:s, s:I}, s:{s:s}}",
                  "schemaVersion", 2, "mediaType", OCI_MANIFEST, "artifactType", SIGN_REGISTRY_BUNDLE_TYPE, "config",
                  "mediaType", OCI_EMPTY, "digest",
                  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size", 2, "data",
                  "e30=", "layers", "mediaType", SIGN_REGISTRY_BUNDLE_TYPE, "digest", bundle_digest, "size",
                  (json_int_t)len, "subject", "mediaType", subject_media_type, "digest", subject_digest, "size",
                  (json_int_t)subject_size, "annotations", "org.opencontainers.image.created", created);
    if (m == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    r = sign__json_dump(out, outlen, m, 0);
    json_decref(m);
    return r;
}

/* The tag schema fallback's index of subject_digest: its tag in tag, its bytes in *data (NULL when there is none). */
static int fallback_get(char *tag, size_t tagsize, unsigned char **data, size_t *len, sign__registry *reg,
                        const char *subject_digest)
{
    char *mt = NULL;
    int r;

    *data = NULL;
    *len = 0;
    if ((r = sign__registry_fallback_tag(tag, tagsize, subject_digest)) != 0) {
        return r;
    }
    r = sign__registry_get_manifest(reg, tag, data, len, &mt);
    free(mt);
    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        r = 0;
    }
    return r;
}

/*
 * The fallback tag's index with the new referrer added (kept: every entry
 * already there, another tool's included; an entry with the same digest is
 * not added twice).
 */
static int fallback_add(sign__registry *reg, const char *subject_digest, const char *pushed, size_t mlen)
{
    char tag[80], *text = NULL;
    unsigned char *data = NULL;
    size_t len = 0, tlen = 0, i;
    json_t *idx = NULL, *list, *d;
    int r;

    if ((r = fallback_get(tag, sizeof(tag), &data, &len, reg, subject_digest)) != 0) {
        return r;
    }
    if (data == NULL) {
        idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", OCI_INDEX, "manifests");
    } else {
        r = sign__json_parse(&idx, data, len, NULL, "referrers fallback index");
    }
    free(data);
    if (r != 0 || idx == NULL) {
        json_decref(idx);
        return r != 0 ? r : sign__error(SIGN_ENOMEM, "out of memory");
    }
    list = json_object_get(idx, "manifests");
    if (!json_is_array(list) || json_array_size(list) >= MAX_REFERRERS) {
        json_decref(idx);
        return sign__error(SIGN_EPARSE, "registry %s: the tag %s is not a referrers index (or is full)",
                           sign__registry_name(reg), tag);
    }
    json_array_foreach(list, i, d)
    {
        const char *dg = json_string_value(json_object_get(d, "digest"));

        if (dg != NULL && strcmp(dg, pushed) == 0) {
            json_decref(idx);
            return 0; /* there already */
        }
    }
    if (json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s}", "mediaType", OCI_MANIFEST, "digest", pushed,
                                              "size", (json_int_t)mlen, "artifactType", SIGN_REGISTRY_BUNDLE_TYPE)) !=
            0 ||
        (r = sign__json_dump(&text, &tlen, idx, 0)) != 0) {
        json_decref(idx);
        return r != 0 ? r : sign__error(SIGN_ENOMEM, "out of memory");
    }
    json_decref(idx);
    r = sign__registry_put_manifest(reg, tag, OCI_INDEX, text, tlen);
    free(text);
    return r;
}

int sign_registry_attach_bundle(char **pushed, const char *reference, const char *subject_digest,
                                uint64_t subject_size, const char *subject_media_type, const void *bundle, size_t len,
                                const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    char bdg[72], mdg[72], *man = NULL;
    unsigned char *refs = NULL;
    size_t mlen = 0, rlen = 0;
    int r;

    if (pushed != NULL) {
        *pushed = NULL;
    }
    if (subject_digest == NULL || subject_media_type == NULL || bundle == NULL) {
        return sign__error(SIGN_EINVAL, "sign_registry_attach_bundle: no subject or bundle");
    }
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 1, o)) != 0) {
        return r;
    }
    if ((r = sign__reg_digest_of(bdg, bundle, len)) != 0 ||
        (r = sign__registry_put_blob(reg, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                                     "{}", 2)) != 0 ||
        (r = sign__registry_put_blob(reg, bdg, bundle, len)) != 0 ||
        (r = artifact_manifest(&man, &mlen, bdg, len, subject_digest, subject_size, subject_media_type)) != 0 ||
        (r = sign__reg_digest_of(mdg, man, mlen)) != 0 ||
        (r = sign__registry_put_manifest(reg, mdg, OCI_MANIFEST, man, mlen))) {
        goto out;
    }
    /* No referrers API (404): the tag schema. */
    r = sign__registry_referrers(reg, subject_digest, &refs, &rlen);
    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        r = fallback_add(reg, subject_digest, mdg, mlen);
    }
    if (r == 0 && pushed != NULL && (*pushed = sign__strdup(mdg)) == NULL) {
        r = sign__oom();
    }
out:
    free(refs);
    free(man);
    sign__registry_free(reg);
    return r;
}

/* The referrers index of subject_digest: the API's, else the fallback tag's, else an empty one. */
static int referrers_index(json_t **idx, sign__registry *reg, const char *subject_digest)
{
    unsigned char *data = NULL;
    char tag[80];
    size_t len = 0;
    int r = sign__registry_referrers(reg, subject_digest, &data, &len);

    *idx = NULL;
    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        if ((r = fallback_get(tag, sizeof(tag), &data, &len, reg, subject_digest)) != 0 || data == NULL) {
            return r; /* data NULL: nothing attached */
        }
    }
    if (r == 0) {
        r = sign__json_parse(idx, data, len, NULL, "referrers index");
    }
    free(data);
    return r;
}

/* One referrer: its manifest (checked against dg) and its bundle blob (checked against its descriptor). */
static int fetch_one(unsigned char **bundle, size_t *blen, sign__registry *reg, const char *dg,
                     const char *subject_digest)
{
    unsigned char *data = NULL;
    char *mt = NULL, got[72];
    size_t len = 0;
    json_t *m = NULL, *l;
    const char *bdg, *sdg, *at;
    int r;

    *bundle = NULL;
    if ((r = sign__registry_get_manifest(reg, dg, &data, &len, &mt)) != 0 ||
        (r = sign__reg_digest_of(got, data, len)) != 0) {
        goto out;
    }
    if (strcmp(got, dg) != 0) {
        r = sign__error(SIGN_EDIGEST, "registry %s: referrer %s hashes to %s", sign__registry_name(reg), dg, got);
        goto out;
    }
    if ((r = sign__json_parse(&m, data, len, NULL, "referrer manifest")) != 0) {
        goto out;
    }
    at = json_string_value(json_object_get(m, "artifactType"));
    sdg = json_string_value(json_object_get(json_object_get(m, "subject"), "digest"));
    l = json_array_get(json_object_get(m, "layers"), 0);
    bdg = json_string_value(json_object_get(l, "digest"));
    if (at == NULL || strcmp(at, SIGN_REGISTRY_BUNDLE_TYPE) != 0 || sdg == NULL || strcmp(sdg, subject_digest) != 0 ||
        bdg == NULL) {
        goto out; /* not a bundle of this subject: skipped */
    }
    free(data);
    data = NULL;
    if ((r = sign__registry_get_blob(reg, bdg, SIGN__REG_BUNDLE_MAX, &data, &len)) != 0 ||
        (r = sign__reg_digest_of(got, data, len)) != 0) {
        goto out;
    }
    if (strcmp(got, bdg) != 0) {
        r = sign__error(SIGN_EDIGEST, "registry %s: bundle blob %s hashes to %s", sign__registry_name(reg), bdg, got);
        goto out;
    }
    *bundle = data;
    *blen = len;
    data = NULL;
out:
    json_decref(m);
    free(data);
    free(mt);
    return r;
}

/* The number of bundle referrers in idx (other tools' artifacts are not counted). */
static size_t bundle_referrers(const json_t *idx)
{
    size_t i, n = 0;
    json_t *d;

    json_array_foreach(json_object_get(idx, "manifests"), i, d)
    {
        const char *at = json_string_value(json_object_get(d, "artifactType"));

        n += json_string_value(json_object_get(d, "digest")) != NULL &&
             (at == NULL || strcmp(at, SIGN_REGISTRY_BUNDLE_TYPE) == 0);
    }
    return n;
}

/* A referrer whose own bytes are wrong (not its digest, not JSON, gone): skipped and counted by _checked. */
static int referrer_invalid(int r)
{
    return r == SIGN_EDIGEST || r == SIGN_EPARSE || r == SIGN_ENOTFOUND || r == SIGN_ELIMIT;
}

/* The referrers fetched at once (fetch_all): the i-th bundle referrer's manifest digest, its bundle or error. */
typedef struct fetch_job {
    sign__registry *reg; /* its requests are thread-safe (layer blobs are downloaded on several threads too) */
    const char *subject_digest;
    const char **digests;
    unsigned char **bundles; /* slot i: the i-th referrer's bundle, NULL when it is skipped */
    size_t *lens;
    int *rc;
    char **msg; /* the error's message (sign_error_last is the running thread's) */
} fetch_job;

static void fetch_item(void *arg, size_t i)
{
    fetch_job *j = arg;

    j->rc[i] = fetch_one(&j->bundles[i], &j->lens[i], j->reg, j->digests[i], j->subject_digest);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last()); /* NULL when out of memory */
    }
}

/* The slots of j taken in order into bundles[0..*n): as fetched one after another. */
static int fetch_take(const fetch_job *j, size_t m, unsigned char **bundles, size_t *lens, size_t *n, size_t *invalid)
{
    for (size_t i = 0; i < m; i++) {
        if (j->rc[i] != 0) {
            if (invalid == NULL || !referrer_invalid(j->rc[i])) {
                return sign__error(j->rc[i], "%s", j->msg[i] != NULL ? j->msg[i] : "out of memory");
            }
            (*invalid)++;
            continue;
        }
        if (j->bundles[i] != NULL) {
            bundles[*n] = j->bundles[i];
            lens[*n] = j->lens[i];
            j->bundles[i] = NULL; /* transferred */
            (*n)++;
        }
    }
    return 0;
}

/*
 * Every bundle referrer of idx, in its order; *invalid NULL: the first invalid one is an error. They are fetched
 * at once on the thread pool (each a manifest and a blob, a few MB for a big image's statement: six of them one
 * after another were most of what verify by reference waited for before the layers streamed), then taken in the
 * index's order, so the bundles, the error and the count of invalid ones are those of a fetch one by one.
 */
static int fetch_all(unsigned char **bundles, size_t *lens, size_t *n, size_t *invalid, sign__registry *reg,
                     const json_t *idx, const char *subject_digest)
{
    const json_t *ms = json_object_get(idx, "manifests");
    fetch_job j = {.reg = reg, .subject_digest = subject_digest};
    size_t i, m = 0, cap = json_array_size(ms);
    json_t *d;
    int r;

    if ((j.digests = calloc(cap + 1, sizeof(*j.digests))) == NULL ||
        (j.bundles = calloc(cap + 1, sizeof(*j.bundles))) == NULL ||
        (j.lens = calloc(cap + 1, sizeof(*j.lens))) == NULL || (j.rc = calloc(cap + 1, sizeof(*j.rc))) == NULL ||
        (j.msg = calloc(cap + 1, sizeof(*j.msg))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(ms, i, d)
    {
        const char *at = json_string_value(json_object_get(d, "artifactType"));
        const char *dg = json_string_value(json_object_get(d, "digest"));

        if (dg != NULL && (at == NULL || strcmp(at, SIGN_REGISTRY_BUNDLE_TYPE) == 0)) {
            j.digests[m++] = dg; /* else another tool's artifact */
        }
    }
    sign__pool_for(m, fetch_item, &j);
    sign__error_clear(); /* an item's error, on this thread: fetch_take says the one that counts */
    r = fetch_take(&j, m, bundles, lens, n, invalid);
out:
    for (i = 0; j.msg != NULL && i < m; i++) {
        free(j.bundles[i]);
        free(j.msg[i]);
    }
    free(j.digests);
    free(j.bundles);
    free(j.lens);
    free(j.rc);
    free(j.msg);
    return r;
}

static int fetch_bundles(unsigned char ***bundles, size_t **lens, size_t *n, size_t *invalid, const char *reference,
                         const char *subject_digest, size_t max, const sign_registry_options *o)
{
    sign__registry *reg = NULL;
    sign__regref ref;
    json_t *idx = NULL;
    size_t cap = 0;
    int r;

    *bundles = NULL;
    *lens = NULL;
    *n = 0;
    if ((r = sign__registry_open_ref(&reg, &ref, reference, 0, o)) != 0) {
        return r;
    }
    if ((r = referrers_index(&idx, reg, subject_digest)) != 0 || idx == NULL) {
        goto out;
    }
    cap = json_array_size(json_object_get(idx, "manifests"));
    if (cap > MAX_REFERRERS || bundle_referrers(idx) > max) {
        r = sign__error(SIGN_ELIMIT, "registry %s: more than %zu bundles attached to %s", sign__registry_name(reg),
                        cap > MAX_REFERRERS ? (size_t)MAX_REFERRERS : max, subject_digest);
        goto out;
    }
    if (cap == 0) {
        goto out; /* nothing attached */
    }
    if ((*bundles = calloc(cap, sizeof(**bundles))) == NULL || (*lens = calloc(cap, sizeof(**lens))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    r = fetch_all(*bundles, *lens, n, invalid, reg, idx, subject_digest);
out:
    if (r != 0) {
        sign_registry_bundles_free(*bundles, *lens, cap > *n ? cap : *n);
        *bundles = NULL;
        *lens = NULL;
        *n = 0;
    }
    json_decref(idx);
    sign__registry_free(reg);
    return r;
}

int sign_registry_fetch_bundles(unsigned char ***bundles, size_t **lens, size_t *n, const char *reference,
                                const char *subject_digest, const sign_registry_options *o)
{
    return fetch_bundles(bundles, lens, n, NULL, reference, subject_digest, MAX_REFERRERS, o);
}

int sign_registry_fetch_bundles_checked(unsigned char ***bundles, size_t **lens, size_t *n, size_t *invalid,
                                        const char *reference, const char *subject_digest, size_t max,
                                        const sign_registry_options *o)
{
    if (invalid == NULL) {
        return sign__error(SIGN_EINVAL, "sign_registry_fetch_bundles_checked: invalid is NULL");
    }
    *invalid = 0;
    return fetch_bundles(bundles, lens, n, invalid, reference, subject_digest,
                         max == 0 || max > MAX_REFERRERS ? MAX_REFERRERS : max, o);
}

void sign_registry_bundles_free(unsigned char **bundles, size_t *lens, size_t n)
{
    for (size_t i = 0; bundles != NULL && i < n; i++) {
        free(bundles[i]);
    }
    free(bundles);
    free(lens);
}
