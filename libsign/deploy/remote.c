/*
 * signet deploy docker://HOST/REPO[:TAG|@sha256:..] (docs/deploy.md): the
 * tag is resolved once, and the image of that digest (its manifest, config
 * and layer blobs) is downloaded once into a private OCI image layout beside
 * the releases, with the bundles attached to it. From then on the deploy is
 * a local layout's: verified, extracted and kept from that private copy
 * only, so nothing the registry serves later changes what lands.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"
#include "regclient.h"
#include "sign/registry.h"

/* "sha256:<64 lower-case hex>" */
static int digest_ok(const char *d)
{
    return d != NULL && strncmp(d, "sha256:", 7) == 0 && strlen(d) == 71 && strspn(d + 7, "0123456789abcdef") == 64;
}

/* util's sign__write_all (EINTR retried, short writes continued), its errno as this copy's error. */
static int write_all(int fd, const void *data, size_t len)
{
    if (sign__write_all(fd, data, len) != 0) {
        return sign__error(SIGN_EIO, "cannot write the private copy: %s", strerror(errno));
    }
    return 0;
}

static int write_body(void *arg, const unsigned char *data, size_t len)
{
    return write_all(*(int *)arg, data, len);
}

/* Create rel beneath dirfd (never existing before, never through a symlink); 1 when it exists already. */
static int create_at(int *fd, int dirfd, const char *rel)
{
    *fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0 && errno == EEXIST) {
        return 1;
    }
    return *fd < 0 ? sign__error(SIGN_EIO, "cannot create the private copy: %s", strerror(errno)) : 0;
}

static int put_file(int dirfd, const char *rel, const void *data, size_t len)
{
    int fd, r = create_at(&fd, dirfd, rel);

    if (r != 0) {
        return r > 0 ? 0 : r;
    }
    r = write_all(fd, data, len);
    if (close(fd) != 0 && r == 0) {
        r = sign__error(SIGN_EIO, "cannot write the private copy: %s", strerror(errno));
    }
    return r;
}

/* A blob by digest into blobs/sha256/<hex> (its bytes are checked against the digest by the verification). */
static int fetch_blob(sign__registry *reg, int lfd, const char *digest, uint64_t max)
{
    char rel[128];
    int fd, r;

    if (!digest_ok(digest)) {
        return sign__error(SIGN_EPARSE, "the image names a blob \"%.80s\" that is not sha256:<64 hex>", digest);
    }
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
    if ((r = create_at(&fd, lfd, rel)) != 0) {
        return r > 0 ? 0 : r; /* the same blob twice */
    }
    r = sign__registry_stream_blob(reg, digest, max, write_body, &fd);
    if (close(fd) != 0 && r == 0) {
        r = sign__error(SIGN_EIO, "cannot write the private copy: %s", strerror(errno));
    }
    return r;
}

/* The manifest of platform ("os/arch[/variant]") in an index: its digest into out. */
static int pick_platform(char *out, size_t size, const json_t *idx, const char *platform, const char *what)
{
    const json_t *m;
    size_t i;

    if (platform == NULL) {
        return sign__error(SIGN_EINVAL, "%s is a multi-platform index: choose its image with --platform OS/ARCH",
                           what);
    }
    json_array_foreach(json_object_get(idx, "manifests"), i, m)
    {
        const json_t *p = json_object_get(m, "platform");
        const char *os = json_string_value(json_object_get(p, "os"));
        const char *arch = json_string_value(json_object_get(p, "architecture"));
        const char *var = json_string_value(json_object_get(p, "variant"));
        char got[200];

        snprintf(got, sizeof(got), "%s/%s%s%s", os != NULL ? os : "", arch != NULL ? arch : "",
                 var != NULL ? "/" : "", var != NULL ? var : "");
        if (strcmp(got, platform) == 0 ||
            (var != NULL && strncmp(got, platform, strlen(platform)) == 0 && got[strlen(platform)] == '/')) {
            snprintf(out, size, "%s", json_string_value(json_object_get(m, "digest")));
            return 0;
        }
    }
    return sign__error(SIGN_ENOTFOUND, "%s: the index has no image for the platform %s", what, platform);
}

/*
 * The manifest of digest (an index: its platform's manifest), checked against the digest it is fetched by,
 * stored as a blob; its parsed document into *m and its digest, size and media type into dg/size/mt.
 */
static int fetch_manifest(json_t **m, char *dg, size_t dgsize, size_t *size, char **mt, sign__registry *reg, int lfd,
                          const char *platform, const char *what)
{
    for (int depth = 0; depth < 2; depth++) {
        unsigned char *data = NULL, md[SIGN_SHA256_LEN];
        char hex[2 * SIGN_SHA256_LEN + 1];
        size_t len = 0, mdlen;
        json_error_t je;
        int r;

        free(*mt);
        *mt = NULL;
        if ((r = sign__registry_get_manifest(reg, dg, &data, &len, mt)) != 0) {
            return r;
        }
        if ((r = sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len)) != 0) {
            free(data);
            return r;
        }
        sign_hex_encode(hex, sizeof(hex), md, SIGN_SHA256_LEN);
        if (strcmp(hex, dg + 7) != 0) {
            free(data);
            return sign__error(SIGN_EDIGEST, "%s: the registry served a manifest that does not hash to %s", what, dg);
        }
        *m = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
        if (*m == NULL) {
            free(data);
            return sign__error(SIGN_EPARSE, "%s: the manifest %s is not JSON: %s", what, dg, je.text);
        }
        if (json_object_get(*m, "manifests") == NULL) {
            char rel[128];

            snprintf(rel, sizeof(rel), "blobs/sha256/%s", dg + 7);
            r = put_file(lfd, rel, data, len);
            *size = len;
            free(data);
            return r;
        }
        free(data);
        r = pick_platform(dg, dgsize, *m, platform, what);
        json_decref(*m);
        *m = NULL;
        if (r != 0) {
            return r;
        }
        if (!digest_ok(dg)) {
            return sign__error(SIGN_EPARSE, "%s: the index names a manifest that is not sha256:<64 hex>", what);
        }
    }
    return sign__error(SIGN_EPARSE, "%s: an index inside an index inside an index", what);
}

/* The layout's files: oci-layout, index.json naming the manifest, the config and every layer blob. */
static int fetch_layout(sign__registry *reg, int lfd, const char *digest, const char *platform, const char *what,
                        const sign_limits *lim, char *dg, size_t dgsize)
{
    json_t *m = NULL, *index = NULL;
    const json_t *l;
    char *mt = NULL, *ij = NULL;
    size_t size = 0, i;
    int r;

    snprintf(dg, dgsize, "%s", digest);
    if (mkdirat(lfd, "blobs", 0700) != 0 || mkdirat(lfd, "blobs/sha256", 0700) != 0) {
        return sign__error(SIGN_EIO, "cannot create the private copy: %s", strerror(errno));
    }
    if ((r = fetch_manifest(&m, dg, dgsize, &size, &mt, reg, lfd, platform, what)) != 0) {
        goto out;
    }
    r = fetch_blob(reg, lfd, json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
                   SIGN__REG_DOC_MAX);
    json_array_foreach(json_object_get(m, "layers"), i, l)
    {
        if (r == 0) {
            r = fetch_blob(reg, lfd, json_string_value(json_object_get(l, "digest")), lim->archive_max_total);
        }
    }
    if (r != 0) {
        goto out;
    }
    index = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType",
                      "application/vnd.oci.image.index.v1+json", "manifests", "mediaType",
                      mt != NULL ? mt : "application/vnd.oci.image.manifest.v1+json", "digest", dg, "size",
                      (json_int_t)size);
    if (index == NULL || (ij = json_dumps(index, JSON_COMPACT)) == NULL) {
        r = sign__oom();
        goto out;
    }
    if ((r = put_file(lfd, "index.json", ij, strlen(ij))) == 0) {
        r = put_file(lfd, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
    }
out:
    free(ij);
    free(mt);
    json_decref(index);
    json_decref(m);
    return r;
}

/* Each bundle attached to the image (none given) as a private file ".artifact-XXXXXX.b<k>" beside the copy. */
static int fetch_bundles(dremote *out, int dirfd, const char *pinned, const char *dg, const sign_registry_options *ro)
{
    unsigned char **b = NULL;
    size_t *lens = NULL, n = 0;
    int r = sign_registry_fetch_bundles(&b, &lens, &n, pinned, dg, ro);

    for (size_t k = 0; r == 0 && k < n && k < DPL_REMOTE_BUNDLES; k++) {
        snprintf(out->bundles[k], sizeof(out->bundles[k]), "%s.b%zu", out->tmpname, k);
        if ((r = put_file(dirfd, out->bundles[k], b[k], lens[k])) == 0) {
            out->nbundles = k + 1;
        }
    }
    sign_registry_bundles_free(b, lens, n);
    return r;
}

int dpl_fetch_image(dremote *out, int dirfd, int lfd, const char *reference, const char *platform, int insecure,
                    int want_bundles, const sign_limits *lim)
{
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    sign__registry_options o;
    sign__registry *reg = NULL;
    sign__regref ref;
    char *digest = NULL, *pinned = NULL;
    int r;

    memset(&o, 0, sizeof(o));
    o.insecure = insecure;
    ro.flags = insecure ? SIGN_REGISTRY_INSECURE : 0;
    /* The tag resolved once: everything after names this digest. */
    if ((r = sign_registry_resolve(&digest, &pinned, reference, &ro)) != 0) {
        return r;
    }
    if ((r = sign__regref_parse(&ref, pinned)) == 0 && (r = sign__registry_open(&reg, &ref, &o)) == 0) {
        snprintf(out->name, sizeof(out->name), "%s", sign__registry_name(reg));
        snprintf(out->pinned, sizeof(out->pinned), "%s", pinned);
        r = fetch_layout(reg, lfd, digest, platform, pinned, lim, out->digest, sizeof(out->digest));
    }
    if (r == 0 && want_bundles) {
        r = fetch_bundles(out, dirfd, pinned, out->digest, &ro);
        if (r == 0 && out->nbundles == 0) {
            r = sign__error(SIGN_ENOTFOUND, "%s: no bundle is attached to %s in the registry; sign it by reference",
                            pinned, out->digest);
        }
    }
    sign__registry_free(reg);
    free(digest);
    free(pinned);
    return r;
}
