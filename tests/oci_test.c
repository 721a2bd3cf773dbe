/*
 * Container images end to end: real OCI layouts built by umoci (several
 * layers, a whiteout), docker save archives made from them by skopeo
 * (offline), signed and verified with the built signet; every tampering is
 * refused for its own reason.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "sign/sign.h"
#include "targen.h"
#include "testutil.h"

static char *oci_dir;
static char *oci_out, *oci_err;
static char oci_paths[32][512];
static size_t oci_np;

static void oci_setup(void)
{
    oci_dir = tu_mkdtemp();
    oci_np = 0;
}

static void oci_teardown(void)
{
    free(oci_out);
    free(oci_err);
    oci_out = oci_err = NULL;
    tu_rmtree(oci_dir);
    free(oci_dir);
}

static const char *op(const char *name)
{
    cr_assert_lt(oci_np, 32);
    snprintf(oci_paths[oci_np], sizeof(oci_paths[0]), "%s/%s", oci_dir, name);
    return oci_paths[oci_np++];
}

static int oci_run(const char *arg0, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;

    free(oci_out);
    free(oci_err);
    oci_out = oci_err = NULL;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while ((argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        cr_assert_lt(n, 63);
    }
    va_end(ap);
    return tu_run(&oci_out, &oci_err, NULL, argv);
}

#define SIGNET(...) oci_run("signet", __VA_ARGS__, (const char *)NULL)

static int oci_sh(const char *fmt, ...)
{
    char script[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(script, sizeof(script), fmt, ap);
    va_end(ap);
    return oci_run("/bin/sh", "-c", script, (const char *)NULL);
}

static void oci_need(const char *tool, const char *pkg)
{
    if (oci_sh("command -v %s >/dev/null", tool) != 0) {
        cr_assert_fail("%s is missing: install the Debian package %s (run .ci/deps test as root)", tool, pkg);
    }
}

/*
 * An image "img:v1" in dir/img with three layers: base files, a second
 * layer that deletes app/gone (a whiteout) and adds app/two, a third that
 * changes etc/hello. With v2, a second image "img:v2" with one more layer.
 */
static void oci_build(int v2)
{
    oci_need("umoci", "umoci");
    cr_assert_eq(oci_sh("set -e; cd '%s'; umoci init --layout img; umoci new --image img:v1;"
                        "umoci unpack --rootless --image img:v1 b1 >/dev/null 2>&1;"
                        "mkdir -p b1/rootfs/etc b1/rootfs/app b1/rootfs/bin;"
                        "printf 'hello\\n' > b1/rootfs/etc/hello; printf 'gone\\n' > b1/rootfs/app/gone;"
                        "printf '#!/bin/sh\\necho run\\n' > b1/rootfs/bin/run; chmod 0755 b1/rootfs/bin/run;"
                        "ln -s /etc/hello b1/rootfs/app/abs;"
                        "umoci repack --image img:v1 b1; rm -rf b1;"
                        "umoci unpack --rootless --image img:v1 b2 >/dev/null 2>&1;"
                        "rm b2/rootfs/app/gone; printf 'two\\n' > b2/rootfs/app/two;"
                        "umoci repack --image img:v1 b2; rm -rf b2;"
                        "umoci unpack --rootless --image img:v1 b3 >/dev/null 2>&1;"
                        "printf 'hello again\\n' > b3/rootfs/etc/hello;"
                        "umoci repack --image img:v1 b3; rm -rf b3",
                        oci_dir),
                 0, "umoci: %s", oci_err);
    if (v2) {
        cr_assert_eq(oci_sh("set -e; cd '%s'; umoci unpack --rootless --image img:v1 b4 >/dev/null 2>&1;"
                            "printf 'v2\\n' > b4/rootfs/etc/version;"
                            "umoci repack --image img:v2 b4; rm -rf b4; umoci tag --image img:v1 v1",
                            oci_dir),
                     0, "umoci v2: %s", oci_err);
    }
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", op("key")), 0, "%s", oci_err);
    tu_write_str(op("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
}

/* The JSON document of a blob named by digest "sha256:..." in the layout. */
static json_t *oci_blob_json(const char *layout, const char *digest)
{
    char path[1024];
    json_error_t e;
    json_t *j;

    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, digest + 7);
    j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

/* The manifest of the index entry with ref (or the first). */
static json_t *oci_manifest(const char *layout, const char *ref, char *digest_out)
{
    char path[1024];
    json_error_t e;
    json_t *idx, *m = NULL, *d;
    size_t i;

    snprintf(path, sizeof(path), "%s/index.json", layout);
    idx = json_load_file(path, 0, &e);
    cr_assert_not_null(idx);
    json_array_foreach(json_object_get(idx, "manifests"), i, d)
    {
        const char *r = json_string_value(
            json_object_get(json_object_get(d, "annotations"), "org.opencontainers.image.ref.name"));

        if (ref == NULL || (r != NULL && strcmp(r, ref) == 0)) {
            const char *dg = json_string_value(json_object_get(d, "digest"));

            snprintf(digest_out, 80, "%s", dg);
            m = oci_blob_json(layout, dg);
            break;
        }
    }
    json_decref(idx);
    cr_assert_not_null(m, "no manifest for %s", ref ? ref : "(first)");
    return m;
}

/* Store a JSON document as a blob; digest "sha256:..." into out, size returned. */
static size_t oci_put_blob(const char *layout, const json_t *j, char *out)
{
    char *s = json_dumps(j, JSON_COMPACT), hex[65], path[1024];
    unsigned char md[32];
    size_t mdlen;

    cr_assert_not_null(s);
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, s, strlen(s)), 0);
    sign_hex_encode(hex, sizeof(hex), md, 32);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
    tu_write_str(path, s);
    snprintf(out, 80, "sha256:%s", hex);
    {
        size_t n = strlen(s);

        free(s);
        return n;
    }
}

/* Point index entry 0 at manifest digest/size, with its media type. */
static void oci_set_index(const char *layout, const char *digest, size_t size, const char *media_type)
{
    char path[1024];
    json_error_t e;
    json_t *idx, *d;

    snprintf(path, sizeof(path), "%s/index.json", layout);
    idx = json_load_file(path, 0, &e);
    cr_assert_not_null(idx);
    d = json_array_get(json_object_get(idx, "manifests"), 0);
    if (digest != NULL) {
        json_object_set_new(d, "digest", json_string(digest));
        json_object_set_new(d, "size", json_integer((json_int_t)size));
    }
    if (media_type != NULL) {
        json_object_set_new(d, "mediaType", json_string(media_type));
    }
    cr_assert_eq(json_dump_file(idx, path, JSON_COMPACT), 0);
    json_decref(idx);
}

/* verify --json: exit code and whether reason appears among the failed checks. */
static int oci_verify(const char *reason, const char *artifact, const char *extra1, const char *extra2)
{
    json_error_t e;
    json_t *v, *c;
    size_t i;
    int rc, found = 0;

    if (extra1 != NULL && extra2 == NULL) {
        rc = SIGNET("verify", "--json", "-p", op("policy.json"), "-b", op("img.b"), extra1, artifact);
    } else if (extra1 != NULL) {
        rc = SIGNET("verify", "--json", "-p", op("policy.json"), "-b", op("img.b"), extra1, extra2, artifact);
    } else {
        rc = SIGNET("verify", "--json", "-p", op("policy.json"), "-b", op("img.b"), artifact);
    }
    v = json_loads(oci_out != NULL ? oci_out : "", 0, &e);
    cr_assert_not_null(v, "verdict JSON: %s / %s", oci_out, oci_err);
    json_array_foreach(json_object_get(v, "checks"), i, c)
    {
        if (reason != NULL && strcmp(json_string_value(json_object_get(c, "status")), "fail") == 0 &&
            strcmp(json_string_value(json_object_get(c, "reason")), reason) == 0) {
            found = 1;
        }
    }
    json_decref(v);
    if (reason != NULL) {
        cr_assert(found, "reason %s expected in: %s", reason, oci_out);
    }
    return rc;
}

static void oci_sign(const char *artifact)
{
    int rc = SIGNET("sign", "-k", op("key.key"), "-o", op("img.b"), artifact);

    cr_assert_eq(rc, 0, "sign %s: %s", artifact, oci_err);
}

Test(oci, layout_signs_and_verifies_with_layers_and_whiteout, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    json_error_t e;
    json_t *st, *a, *layers, *m, *cfg;
    char mdigest[80];
    size_t i;
    int whiteout = 0;

    oci_build(0);
    cr_assert_eq(SIGNET("hash", "--json", img), 0, "%s", oci_err);
    st = json_loads(oci_out, 0, &e);
    cr_assert_not_null(st);
    m = oci_manifest(img, "v1", mdigest);
    cfg = oci_blob_json(img, json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
    /* The subject is the image manifest's digest, as registries and other signers use. */
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(json_object_get(st, "subject"), 0), "digest"), "sha256")),
                     mdigest + 7);
    a = json_array_get(json_object_get(json_object_get(st, "predicate"), "artifacts"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(a, "kind")), "oci-image");
    cr_assert_str_eq(json_string_value(json_object_get(a, "config")),
                     json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
    layers = json_object_get(a, "layers");
    cr_assert_eq(json_array_size(layers), 3);
    for (i = 0; i < 3; i++) {
        json_t *l = json_array_get(layers, i), *en;
        size_t k;

        cr_assert_str_eq(
            json_string_value(json_object_get(l, "digest")),
            json_string_value(json_object_get(json_array_get(json_object_get(m, "layers"), i), "digest")));
        cr_assert_str_eq(
            json_string_value(json_object_get(l, "diffID")),
            json_string_value(json_array_get(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i)));
        cr_assert_str_eq(json_string_value(json_object_get(l, "mediaType")),
                         "application/vnd.oci.image.layer.v1.tar+gzip");
        json_array_foreach(json_object_get(l, "entries"), k, en)
        {
            if (strcmp(json_string_value(json_object_get(en, "type")), "whiteout") == 0 &&
                strcmp(json_string_value(json_object_get(en, "path")), "app/gone") == 0) {
                whiteout = 1;
            }
        }
    }
    cr_assert(whiteout, "the deletion of app/gone is recorded as a whiteout");
    json_decref(st);
    json_decref(m);
    json_decref(cfg);
    oci_sign(img);
    cr_assert_eq(oci_verify(NULL, img, NULL, NULL), 0, "%s", oci_out);
    cr_assert_eq(SIGNET("inspect", op("img.b")), 0, "%s", oci_err);
    cr_assert_not_null(strstr(oci_out, "oci-image"), "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "1 image(s)  3 layers"), "%s", oci_out);
}

Test(oci, docker_save_archive_from_skopeo, .init = oci_setup, .fini = oci_teardown)
{
    const char *tar = op("img.tar");

    oci_build(0);
    oci_need("skopeo", "skopeo");
    cr_assert_eq(
        oci_sh("cd '%s' && skopeo --insecure-policy copy -q oci:img:v1 docker-archive:img.tar:app:v1", oci_dir), 0,
        "skopeo: %s", oci_err);
    cr_assert_eq(SIGNET("hash", "--json", tar), 0, "%s", oci_err);
    cr_assert_not_null(strstr(oci_out, "\"kind\":\"docker-archive\""), "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "\"type\":\"whiteout\""), "%s", oci_out);
    oci_sign(tar);
    cr_assert_eq(oci_verify(NULL, tar, NULL, NULL), 0, "%s", oci_out);
    /* One byte of a layer inside the archive: the layer no longer hashes to the digest in its name. */
    cr_assert_eq(oci_sh("set -e; cd '%s'; off=$(grep -abo 'hello again' img.tar | head -1 | cut -d: -f1);"
                        "printf 'J' | dd of=img.tar bs=1 seek=$off conv=notrunc 2>/dev/null",
                        oci_dir),
                 0, "%s", oci_err);
    cr_assert_eq(oci_verify("DIFFID_MISMATCH", tar, NULL, NULL), 1);
    cr_assert_eq(oci_verify("BLOB_DIGEST_MISMATCH", tar, NULL, NULL), 1);
}

static void oci_layers(const char *img, char (*layer)[80], char *config)
{
    char md[80];
    json_t *m = oci_manifest(img, "v1", md);

    for (size_t i = 0; i < 3; i++) {
        snprintf(layer[i], 80, "%s",
                 json_string_value(json_object_get(json_array_get(json_object_get(m, "layers"), i), "digest")) + 7);
    }
    snprintf(config, 80, "%s", json_string_value(json_object_get(json_object_get(m, "config"), "digest")) + 7);
    json_decref(m);
}

Test(oci, oci_layout_inside_a_tar_has_the_manifest_digest, .init = oci_setup, .fini = oci_teardown)
{
    char md[80];
    json_t *m;

    /* Newer docker save writes an OCI layout inside the tar: read by content, same subject as the layout. */
    oci_build(0);
    oci_need("skopeo", "skopeo");
    cr_assert_eq(oci_sh("cd '%s' && skopeo --insecure-policy copy -q oci:img:v1 oci-archive:img-oci.tar:v1", oci_dir),
                 0, "skopeo: %s", oci_err);
    m = oci_manifest(op("img"), "v1", md);
    cr_assert_eq(SIGNET("hash", "--json", op("img-oci.tar")), 0, "%s", oci_err);
    cr_assert_not_null(strstr(oci_out, md + 7), "subject is the manifest digest: %s", oci_out);
    json_decref(m);
    oci_sign(op("img-oci.tar"));
    cr_assert_eq(oci_verify(NULL, op("img-oci.tar"), NULL, NULL), 0, "%s", oci_out);
}

Test(oci, tamper_one_byte_in_layer_blob, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_sign(img);
    oci_layers(img, layer, config);
    cr_assert_eq(
        oci_sh("cd '%s/blobs/sha256' && printf 'Z' | dd of=%s bs=1 seek=40 conv=notrunc 2>/dev/null", img, layer[1]),
        0);
    cr_assert_eq(oci_verify("BLOB_DIGEST_MISMATCH", img, NULL, NULL), 1);
}

Test(oci, tamper_blob_removed, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_sign(img);
    oci_layers(img, layer, config);
    cr_assert_eq(oci_sh("rm '%s/blobs/sha256/%s'", img, layer[2]), 0);
    cr_assert_eq(oci_verify("BLOB_MISSING", img, NULL, NULL), 1);
}

Test(oci, tamper_layer_swapped_for_another_valid_blob, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_sign(img);
    oci_layers(img, layer, config);
    cr_assert_eq(oci_sh("cd '%s/blobs/sha256' && cp %s %s", img, layer[0], layer[2]), 0);
    cr_assert_eq(oci_verify("BLOB_DIGEST_MISMATCH", img, NULL, NULL), 1);
    cr_assert_eq(oci_verify("DIFFID_MISMATCH", img, NULL, NULL), 1);
}

Test(oci, tamper_config_edited, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_sign(img);
    oci_layers(img, layer, config);
    cr_assert_eq(oci_sh("cd '%s/blobs/sha256' && sed -i 's/amd64/arm64/; s/linux/LINUX/' %s", img, config), 0);
    cr_assert_eq(oci_verify("BLOB_DIGEST_MISMATCH", img, NULL, NULL), 1);
}

Test(oci, tamper_index_points_to_another_manifest, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char d2[80];
    json_t *m2;

    oci_build(1);
    cr_assert_eq(SIGNET("sign", "-k", op("key.key"), "--ref", "v1", "-o", op("img.b"), img), 0, "%s", oci_err);
    cr_assert_eq(oci_verify(NULL, img, "--ref", "v1"), 0, "%s", oci_out);
    /* index.json: the v1 entry now names v2's (valid, complete) manifest. */
    m2 = oci_manifest(img, "v2", d2);
    {
        char path[1024];
        json_error_t e;
        json_t *idx, *d;
        size_t i;

        snprintf(path, sizeof(path), "%s/index.json", img);
        idx = json_load_file(path, 0, &e);
        json_array_foreach(json_object_get(idx, "manifests"), i, d)
        {
            const char *r = json_string_value(
                json_object_get(json_object_get(d, "annotations"), "org.opencontainers.image.ref.name"));

            if (r != NULL && strcmp(r, "v1") == 0) {
                json_t *d2j = NULL;
                size_t k;
                json_t *x;

                json_array_foreach(json_object_get(idx, "manifests"), k, x)
                {
                    if (strcmp(json_string_value(json_object_get(x, "digest")), d2) == 0) {
                        d2j = x;
                    }
                }
                json_object_set(d, "digest", json_object_get(d2j, "digest"));
                json_object_set(d, "size", json_object_get(d2j, "size"));
            }
        }
        cr_assert_eq(json_dump_file(idx, path, JSON_COMPACT), 0);
        json_decref(idx);
    }
    json_decref(m2);
    cr_assert_eq(oci_verify("INDEX_MISMATCH", img, "--ref", "v1"), 1);
}

Test(oci, diffid_mismatch_refused, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char md[80], cd[80], nm[80];
    json_t *m, *cfg, *ids;
    size_t clen, mlen;

    oci_build(0);
    oci_sign(img);
    /* A consistent chain of blobs (config -> manifest -> index) whose config names the wrong diffID. */
    m = oci_manifest(img, "v1", md);
    cfg = oci_blob_json(img, json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
    ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    json_array_set(ids, 2, json_array_get(ids, 1));
    clen = oci_put_blob(img, cfg, cd);
    json_object_set_new(json_object_get(m, "config"), "digest", json_string(cd));
    json_object_set_new(json_object_get(m, "config"), "size", json_integer((json_int_t)clen));
    mlen = oci_put_blob(img, m, nm);
    oci_set_index(img, nm, mlen, NULL);
    json_decref(m);
    json_decref(cfg);
    cr_assert_eq(oci_verify("DIFFID_MISMATCH", img, NULL, NULL), 1);
    /* Signing it refuses too. */
    cr_assert_neq(SIGNET("sign", "-k", op("key.key"), "-o", op("again.b"), img), 0);
    cr_assert_not_null(strstr(oci_err, "diff_ids"), "%s", oci_err);
}

Test(oci, media_type_confusion, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");

    oci_build(0);
    oci_sign(img);
    oci_set_index(img, NULL, 0, "application/vnd.oci.image.index.v1+json");
    cr_assert_neq(oci_verify(NULL, img, NULL, NULL), 0);
    oci_set_index(img, NULL, 0, "application/octet-stream");
    cr_assert_eq(oci_verify("MEDIA_TYPE_INVALID", img, NULL, NULL), 1);
}

Test(oci, blob_that_is_a_symlink_is_refused, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_sign(img);
    oci_layers(img, layer, config);
    /* The config moved out of the layout and linked back: same bytes, but outside the image. */
    cr_assert_eq(
        oci_sh("cd '%s/blobs/sha256' && mv %s ../../../outside && ln -s ../../../outside %s", img, config, config),
        0);
    cr_assert_eq(oci_verify("BLOB_NOT_REGULAR", img, NULL, NULL), 1);
    cr_assert_eq(oci_sh("cd '%s/blobs/sha256' && rm %s && ln -s ../../../outside %s", img, layer[0], layer[0]), 0);
    cr_assert_neq(SIGNET("sign", "-k", op("key.key"), "-o", op("again.b"), img), 0);
    cr_assert_not_null(strstr(oci_err, "symlink"), "%s", oci_err);
}

Test(oci, manifest_naming_missing_blob_cannot_be_signed, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char layer[3][80], config[80];

    oci_build(0);
    oci_layers(img, layer, config);
    cr_assert_eq(oci_sh("rm '%s/blobs/sha256/%s'", img, layer[1]), 0);
    cr_assert_neq(SIGNET("sign", "-k", op("key.key"), "-o", op("img.b"), img), 0);
    cr_assert_not_null(strstr(oci_err, "missing"), "%s", oci_err);
    cr_assert(!tu_exists(op("img.b")));
}

Test(oci, ref_and_all, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");
    char d1[80], d2[80];
    json_t *m1, *m2;

    oci_build(1);
    /* Two images and no --ref: a usage error that lists the refs. */
    cr_assert_eq(SIGNET("hash", img), 2);
    cr_assert_not_null(strstr(oci_err, "--ref"), "%s", oci_err);
    cr_assert_eq(SIGNET("hash", "--json", "--ref", "v2", img), 0, "%s", oci_err);
    m2 = oci_manifest(img, "v2", d2);
    m1 = oci_manifest(img, "v1", d1);
    cr_assert_not_null(strstr(oci_out, d2 + 7));
    cr_assert_null(strstr(oci_out, d1 + 7));
    /* --all: the index and every manifest are subjects. */
    cr_assert_eq(SIGNET("sign", "--all", "-k", op("key.key"), "-o", op("img.b"), img), 0, "%s", oci_err);
    cr_assert_eq(SIGNET("hash", "--json", "--all", img), 0, "%s", oci_err);
    cr_assert_not_null(strstr(oci_out, d1 + 7));
    cr_assert_not_null(strstr(oci_out, d2 + 7));
    cr_assert_not_null(strstr(oci_out, "\"name\":\"img@v2\""), "%s", oci_out);
    cr_assert_eq(oci_verify(NULL, img, "--all", NULL), 0, "%s", oci_out);
    json_decref(m1);
    json_decref(m2);
}

Test(oci, tree_changed_missing_extra, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img"), *rootfs = op("bundle/rootfs");

    oci_build(0);
    oci_sign(img);
    cr_assert_eq(oci_sh("cd '%s' && umoci unpack --rootless --image img:v1 bundle >/dev/null 2>&1", oci_dir), 0, "%s",
                 oci_err);
    cr_assert(!tu_exists(op("bundle/rootfs/app/gone")), "the whiteout removed it");
    cr_assert_eq(oci_verify(NULL, img, "--tree", rootfs), 0, "%s", oci_out);
    cr_assert_eq(oci_sh("cd '%s' && printf 'evil\\n' > etc/hello && rm app/two && printf x > app/extra", rootfs), 0);
    cr_assert_eq(oci_verify("TREE_CHANGED", img, "--tree", rootfs), 1);
    cr_assert_not_null(strstr(oci_out, "etc/hello"));
    cr_assert_eq(oci_verify("TREE_MISSING", img, "--tree", rootfs), 1);
    cr_assert_not_null(strstr(oci_out, "app/two"));
    cr_assert_eq(oci_verify("TREE_EXTRA", img, "--tree", rootfs), 1);
    cr_assert_not_null(strstr(oci_out, "app/extra"));
    /* A symlink replacing a file is a change, and is not followed out of the tree. */
    cr_assert_eq(oci_sh("cd '%s' && rm bin/run && ln -s /etc/passwd bin/run", rootfs), 0);
    cr_assert_eq(oci_verify("TREE_CHANGED", img, "--tree", rootfs), 1);
    cr_assert_not_null(strstr(oci_out, "bin/run"));
}

Test(oci, tree_compares_devices_and_fifos, .init = oci_setup, .fini = oci_teardown)
{
    /* A root file system tarball: devices under dev/ (a warning, so it signs), a FIFO. */
    static const tg_entry e[] = {
        {.name = "dev/", .type = '5'},
        {.name = "dev/zero", .type = '3', .mode = 0666},
        {.name = "run/", .type = '5'},
        {.name = "run/ctl", .type = '6', .mode = 0600},
    };
    const char *layer = op("rootfs.tar.gz"), *x = op("x");
    int can_mknod;

    tg_write(layer, e, 4, "gzip");
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", op("key")), 0);
    tu_write_str(op("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
    oci_sign(layer);
    cr_assert_eq(oci_sh("set -e; mkdir -p '%s/dev' '%s/run'; mkfifo -m 0600 '%s/run/ctl'", x, x, x), 0, "%s",
                 oci_err);
    can_mknod = oci_sh("mknod -m 0666 '%s/dev/zero' c 1 5 2>/dev/null", x) == 0;
    if (!can_mknod) {
        /* Without the privilege to make a device, a FIFO stands in for it: still not a regular file. */
        cr_assert_eq(oci_sh("mkfifo -m 0666 '%s/dev/zero'", x), 0);
    }
    cr_assert_eq(oci_verify(NULL, layer, "--tree", x), 0, "%s", oci_out);
    /* Content written where a device was recorded. */
    cr_assert_eq(oci_sh("rm '%s/dev/zero' && printf 'payload' > '%s/dev/zero'", x, x), 0);
    cr_assert_eq(oci_verify("TREE_CHANGED", layer, "--tree", x), 1);
    cr_assert_not_null(strstr(oci_out, "dev/zero"), "%s", oci_out);
    /* Removed. */
    cr_assert_eq(oci_sh("rm '%s/dev/zero' '%s/run/ctl'", x, x), 0);
    cr_assert_eq(oci_verify("TREE_MISSING", layer, "--tree", x), 1);
    cr_assert_not_null(strstr(oci_out, "dev/zero"), "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "run/ctl"), "%s", oci_out);
}

Test(oci, tree_works_for_zip, .init = oci_setup, .fini = oci_teardown)
{
    const char *zip = op("app.zip"), *x = op("x");

    cr_assert_eq(oci_sh("set -e; cd '%s'; mkdir src; cd src; printf 'a\\n' > a.js; mkdir lib; printf 'b\\n' > "
                        "lib/b.js; zip -qrX ../app.zip a.js lib; cd ..; mkdir x; cd x; unzip -q ../app.zip",
                        oci_dir),
                 0, "%s", oci_err);
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", op("key")), 0);
    tu_write_str(op("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
    cr_assert_eq(SIGNET("sign", "-k", op("key.key"), "-o", op("img.b"), zip), 0, "%s", oci_err);
    cr_assert_eq(oci_verify(NULL, zip, "--tree", x), 0, "%s", oci_out);
    cr_assert_eq(oci_sh("cd '%s' && printf 'B\\n' > lib/b.js", x), 0);
    cr_assert_eq(oci_verify("TREE_CHANGED", zip, "--tree", x), 1);
}

Test(oci, statement_layers_parse_back, .init = oci_setup, .fini = oci_teardown)
{
    sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[1];
    sign_statement *st = NULL, *back = NULL;
    sign_artifact **arts = NULL;
    sign_statement_layer sl;
    sign_layer_info li;
    sign_entry e;
    char *s = NULL;
    size_t len = 0, whiteouts = 0;

    oci_build(0);
    paths[0] = op("img");
    so.artifacts = paths;
    so.nartifacts = 1;
    cr_assert_eq(sign_hash(&st, &arts, &so), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_serialize(&s, &len, st), 0);
    cr_assert_eq(sign_statement_parse(&back, s, len, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_artifact_image_count(back, 0), 1);
    for (size_t j = 0; j < 3; j++) {
        cr_assert_eq(sign_statement_artifact_layer(&sl, back, 0, 0, j), 0, "%s", sign_error_last());
        cr_assert_eq(sign_artifact_layer(&li, arts[0], 0, j), 0);
        cr_assert_eq(sl.layer_count, 3);
        cr_assert_eq(memcmp(sl.digest, li.digest, 32), 0);
        cr_assert(sl.has_diff_id);
        cr_assert_eq(memcmp(sl.diff_id, li.diff_id, 32), 0);
        cr_assert_eq(sl.entry_count, li.entry_count);
        for (size_t k = 0; k < sl.entry_count; k++) {
            const sign_entry *o = sign_artifact_layer_entry(arts[0], 0, j, k);

            cr_assert_eq(sign_statement_artifact_layer_entry(&e, back, 0, 0, j, k), 0, "%s", sign_error_last());
            cr_assert_str_eq(e.path, o->path);
            cr_assert_eq(e.type, o->type);
            cr_assert(e.has_owner);
            whiteouts += e.type == SIGN_ENTRY_WHITEOUT;
        }
    }
    cr_assert_eq(whiteouts, 1);
    cr_assert_neq(sign_statement_artifact_layer(&sl, back, 0, 0, 3), 0, "no fourth layer");
    /* A recorded layer digest that is not sha256:<64 hex> makes the statement malformed. */
    {
        char *bad = strdup(s), *p = strstr(bad, "\"digest\":\"sha256:");

        cr_assert_not_null(p);
        p[17] = 'Z';
        sign_statement_free(back);
        back = NULL;
        cr_assert_eq(sign_statement_parse(&back, bad, len, NULL), SIGN_EPARSE);
        free(bad);
    }
    free(s);
    sign_statement_free(st);
    sign_artifact_free(arts[0]);
    free(arts);
}

/* Store raw bytes as a blob; digest "sha256:<hex>" into out. */
static void oci_put_raw(const char *layout, const void *data, size_t len, char *out)
{
    unsigned char md[32];
    char hex[65], path[1024];
    size_t mdlen;

    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len), 0);
    sign_hex_encode(hex, sizeof(hex), md, 32);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
    tu_write(path, data, len);
    snprintf(out, 80, "sha256:%s", hex);
}

Test(oci, hostile_layer_in_an_image_refuses_signing, .init = oci_setup, .fini = oci_teardown)
{
    static const tg_entry evil[] = {{.name = "etc/", .type = '5'},
                                    {.name = "../../host/etc/cron.d/x", .data = "* * * * * root sh\n", .len = 18}};
    const char *img = op("img");
    unsigned char *t;
    size_t tlen, clen, mlen;
    char ld[80], cd[80], md[80], nm[80];
    json_t *m, *cfg, *l;

    oci_build(0);
    /* Layer 2 replaced by a hostile (plain tar) layer, with config, manifest and index re-chained: a valid image. */
    tg_tar(&t, &tlen, evil, 2);
    oci_put_raw(img, t, tlen, ld);
    free(t);
    m = oci_manifest(img, "v1", md);
    cfg = oci_blob_json(img, json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
    json_array_set_new(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), 2, json_string(ld));
    clen = oci_put_blob(img, cfg, cd);
    l = json_array_get(json_object_get(m, "layers"), 2);
    json_object_set_new(l, "digest", json_string(ld));
    json_object_set_new(l, "size", json_integer((json_int_t)tlen));
    json_object_set_new(l, "mediaType", json_string("application/vnd.oci.image.layer.v1.tar"));
    json_object_set_new(json_object_get(m, "config"), "digest", json_string(cd));
    json_object_set_new(json_object_get(m, "config"), "size", json_integer((json_int_t)clen));
    mlen = oci_put_blob(img, m, nm);
    oci_set_index(img, nm, mlen, NULL);
    json_decref(m);
    json_decref(cfg);
    cr_assert_eq(SIGNET("sign", "-k", op("key.key"), "-o", op("img.b"), img), 2, "%s", oci_err);
    cr_assert_not_null(strstr(oci_err, "tar-path-traversal"), "%s", oci_err);
    cr_assert_not_null(strstr(oci_err, "layer 2"), "the finding names the layer: %s", oci_err);
    cr_assert(!tu_exists(op("img.b")));
    cr_assert_eq(SIGNET("sign", "--allow", "tar-path-traversal", "-k", op("key.key"), "-o", op("img.b"), img), 0,
                 "%s", oci_err);
    cr_assert_eq(oci_verify(NULL, img, NULL, NULL), 0, "%s", oci_out);
}

/*
 * An image signed with a code-signing certificate verifies under a policy
 * that has roots and no keys; a tampered layer is still refused. (The layer
 * check once named the signer through the policy's key list, which a
 * certificate signer has no entry in.)
 */
Test(oci, image_signed_with_a_certificate, .init = oci_setup, .fini = oci_teardown)
{
    const char *img = op("img");

    oci_build(0);
    cr_assert_eq(oci_sh("set -e; cd '%s';"
                        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key"
                        " -out ca.pem -subj '/CN=oci test root' -days 2"
                        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
                        " >/dev/null 2>&1;"
                        "openssl genpkey -algorithm ed25519 -out leaf.key;"
                        "openssl req -new -key leaf.key -subj '/CN=oci release' -out leaf.csr;"
                        "printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
                        "extendedKeyUsage=codeSigning\\n' > ext.cnf;"
                        "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1"
                        " -extfile ext.cnf -out leaf.pem >/dev/null 2>&1",
                        oci_dir),
                 0, "openssl: %s", oci_err);
    tu_write_str(op("policy.json"),
                 "{\"version\": 1, \"roots\": [{\"name\": \"corp\", \"certificates\": \"ca.pem\"}]}");
    cr_assert_eq(SIGNET("sign", "-k", op("leaf.key"), "--cert", op("leaf.pem"), "-o", op("img.b"), img), 0, "%s",
                 oci_err);
    cr_assert_eq(oci_verify(NULL, img, NULL, NULL), 0, "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "CN=oci release"), "the certificate is the signer: %s", oci_out);
    /* One byte changed in the last layer blob: refused for that reason. */
    cr_assert_eq(oci_sh("set -e; cd '%s/img'; b=$(ls -S blobs/sha256 | head -1); f=blobs/sha256/$b;"
                        "chmod u+w $f; printf 'X' | dd of=$f bs=1 seek=100 conv=notrunc 2>/dev/null",
                        oci_dir),
                 0, "%s", oci_err);
    cr_assert_neq(oci_verify("BLOB_DIGEST_MISMATCH", img, NULL, NULL), 0, "%s", oci_out);
}

/*
 * A signed statement whose subject is the image's manifest digest but whose
 * recorded layers are not the image's (made by hand, not by signet sign): the
 * subject matches, the recorded layers do not, LAYERS_MISMATCH.
 */
/* The statement signet sign makes for the image img, its text changed by edit(), signed with key.key into img.b. */
static void oci_sign_edited(void (*edit)(char *text))
{
    sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
    const char *paths[1];
    sign_statement *st = NULL;
    sign_artifact **arts = NULL;
    sign_key *key = NULL;
    sign_envelope *env = NULL;
    sign_bundle *b = NULL;
    char *s = NULL;
    size_t len = 0;

    paths[0] = op("img");
    so.artifacts = paths;
    so.nartifacts = 1;
    cr_assert_eq(sign_hash(&st, &arts, &so), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_serialize(&s, &len, st), 0);
    edit(s);
    cr_assert_eq(sign_key_load_private(&key, op("key.key"), NULL, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_envelope_new(&env, SIGN_INTOTO_PAYLOAD_TYPE, s, len), 0);
    cr_assert_eq(sign_envelope_sign(env, key), 0);
    cr_assert_eq(sign_bundle_new(&b, env, key), 0);
    cr_assert_eq(sign_bundle_write(b, op("img.b")), 0);
    sign_bundle_free(b);
    sign_key_free(key);
    free(s);
    sign_statement_free(st);
    sign_artifact_free(arts[0]);
    free(arts);
}

/* The first recorded layer's blob digest, one hex digit changed. */
static void oci_edit_layer_digest(char *text)
{
    char *p = strstr(text, "\"digest\":\"sha256:");

    cr_assert_not_null(p);
    p[17] = p[17] == '0' ? '1' : '0';
}

Test(oci, statement_with_other_layers_is_layers_mismatch, .init = oci_setup, .fini = oci_teardown)
{
    oci_build(0);
    oci_sign_edited(oci_edit_layer_digest);
    cr_assert_eq(oci_verify("LAYERS_MISMATCH", op("img"), NULL, NULL), 1, "%s", oci_out);
}

/* The first file entry of the first layer: its content digest, one hex digit changed. */
static void oci_edit_layer_entry(char *text)
{
    char *p = strstr(text, "\"layers\"");

    cr_assert_not_null(p);
    p = strstr(p, "{\"sha256\":\"");
    cr_assert_not_null(p);
    p += 11;
    p[0] = p[0] == '0' ? '1' : '0';
}

/*
 * A statement whose layers' digests are right but whose record of a layer's entries lies (a file's content
 * digest that is not the file's): verify --entries compares every layer's entries with their record and
 * refuses it (it said "verified" before: only the layers' digests were compared); without --entries the
 * image's digests decide.
 */
Test(oci, layer_entry_recorded_wrong_is_entry_mismatch_with_entries, .init = oci_setup, .fini = oci_teardown)
{
    oci_build(0);
    oci_sign_edited(oci_edit_layer_entry);
    cr_assert_eq(oci_verify(NULL, op("img"), NULL, NULL), 0, "%s", oci_out);
    cr_assert_eq(oci_verify("ENTRY_MISMATCH", op("img"), "--entries", NULL), 1, "%s", oci_out);
    /* The CLI keeps only a digest of each layer's record once it is read: the layer is named, not the entry. */
    cr_assert_not_null(strstr(oci_out, "the entries of layer 0 of image 0 differ from the ones recorded"), "%s",
                       oci_out);
}

/* How many checks of verdict JSON text have this check name, status and reason and name the bundle path b. */
static size_t oci_checks_of(const char *text, const char *check, const char *status, const char *reason,
                            const char *b)
{
    json_error_t e;
    json_t *v = json_loads(text != NULL ? text : "", 0, &e), *c;
    size_t i, n = 0;

    cr_assert_not_null(v, "verdict JSON: %s", text);
    json_array_foreach(json_object_get(v, "checks"), i, c)
    {
        const char *cb = json_string_value(json_object_get(c, "bundle"));

        n += strcmp(json_string_value(json_object_get(c, "check")), check) == 0 &&
             strcmp(json_string_value(json_object_get(c, "status")), status) == 0 &&
             strcmp(json_string_value(json_object_get(c, "reason")), reason) == 0 && cb != NULL && strcmp(cb, b) == 0;
    }
    json_decref(v);
    return n;
}

/* verify --json --entries of the image with the bundles b1, b2 and b3 (in that order; b3 NULL: two): the exit code.
 */
static int oci_verify_bundles(const char *policy, const char *img, const char *b1, const char *b2, const char *b3)
{
    if (b3 == NULL) {
        return SIGNET("verify", "--json", "--entries", "-p", policy, "-b", b1, "-b", b2, img);
    }
    return SIGNET("verify", "--json", "--entries", "-p", policy, "-b", b1, "-b", b2, "-b", b3, img);
}

/* A copy of the file from at to. */
static void oci_copy(const char *from, const char *to)
{
    size_t len;
    char *text = tu_read(from, &len);

    tu_write(to, text, len);
    free(text);
}

/*
 * Bundles that sign the same statement bytes (several signers of one release; here one bundle copied) share one
 * parse and its prepared entries within a verify (vshare). Sharing must change no verdict: a third bundle whose
 * record of a layer's entries lies is compared on its own and refused, the two good ones each pass, and each
 * check names its own bundle. With the lying statement twice (shared) and the good one, both lying copies are
 * refused, whichever comes first.
 */
Test(oci, bundles_of_the_same_statement_share_one_parse_and_a_lying_one_is_still_refused, .init = oci_setup,
     .fini = oci_teardown)
{
    const char *pol = op("policy.json"), *img = op("img"), *good = op("img.b"), *good2 = op("img2.b");
    const char *lie = op("lie.b"), *lie2 = op("lie2.b");

    oci_build(0);
    oci_sign_edited(oci_edit_layer_entry);
    cr_assert_eq(rename(good, lie), 0);
    oci_sign(img);
    oci_copy(good, good2);
    oci_copy(lie, lie2);

    cr_assert_eq(oci_verify_bundles(pol, img, good, good2, lie), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", lie), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good2), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", good2), 0, "%s", oci_out);

    cr_assert_eq(oci_verify_bundles(pol, img, lie, good, lie2), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", lie), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", lie2), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good), 1, "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "the entries of layer 0 of image 0 differ from the ones recorded in"), "%s",
                       oci_out);

    /* The good statement alone, twice: verified, each bundle's entries checked and passed on their own. */
    cr_assert_eq(oci_verify_bundles(pol, img, good, good2, NULL), 0, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good2), 1, "%s", oci_out);

    /* Four bundles on four threads (two parsed at once wait for the one parsing their bytes): the same verdicts;
       without --entries the lying record is not read and all four verify the image. */
    cr_assert_eq(SIGNET("verify", "--json", "--jobs", "4", "--entries", "-p", pol, "-b", lie, "-b", good, "-b", lie2,
                        "-b", good2, img),
                 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", lie), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "fail", "ENTRY_MISMATCH", lie2), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "entries", "pass", "OK", good2), 1, "%s", oci_out);
    cr_assert_eq(
        SIGNET("verify", "--json", "--jobs", "4", "-p", pol, "-b", lie, "-b", good, "-b", lie2, "-b", good2, img), 0,
        "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "statement", "pass", "OK", lie2), 1, "%s", oci_out);
    cr_assert_eq(oci_checks_of(oci_out, "statement", "pass", "OK", good2), 1, "%s", oci_out);
}

size_t sign__verify_shared_parses(void); /* libsign/verify (internal): bundles that took another's parse */

/* How many of these bundles took another one's parse in one in-process verify --entries of img. */
static size_t oci_shared_in_verify(const char *pol, const char *img, const char *const *bundles, size_t n)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_policy *p = NULL;
    const char *arts[1] = {img};
    size_t before;

    cr_assert_eq(sign_policy_load(&p, pol, NULL), 0, "%s", sign_error_last());
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bundles;
    o.nbundles = n;
    o.flags = SIGN_VERIFY_ENTRIES;
    before = sign__verify_shared_parses();
    if (sign_verify(&res, p, &o) != 0) {
        cr_assert_not_null(res, "%s", sign_error_last()); /* refused (the lying bundle): still judged */
    }
    sign_verify_result_free(res);
    sign_policy_free(p);
    return sign__verify_shared_parses() - before;
}

/* Two bundles of the same payload bytes are parsed once (the second takes the first's); other bytes never are. */
Test(oci, bundles_of_the_same_payload_bytes_are_parsed_once, .init = oci_setup, .fini = oci_teardown)
{
    const char *pol = op("policy.json"), *img = op("img"), *good = op("img.b"), *good2 = op("img2.b");
    const char *lie = op("lie.b");
    const char *three[3], *two[2];

    oci_build(0);
    oci_sign_edited(oci_edit_layer_entry);
    cr_assert_eq(rename(good, lie), 0);
    oci_sign(img);
    oci_copy(good, good2);
    three[0] = good;
    three[1] = lie;
    three[2] = good2;
    cr_assert_eq(oci_shared_in_verify(pol, img, three, 3), 1, "good2 takes good's parse, lie has its own");
    two[0] = good;
    two[1] = lie;
    cr_assert_eq(oci_shared_in_verify(pol, img, two, 2), 0, "different payload bytes are never shared");
}

/* The same image signed by signet: verify --entries finds every layer's entries as recorded. */
Test(oci, layer_entries_match_with_entries, .init = oci_setup, .fini = oci_teardown)
{
    oci_build(0);
    oci_sign(op("img"));
    cr_assert_eq(oci_verify(NULL, op("img"), "--entries", NULL), 0, "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "entries of its 3 layer(s) match"), "%s", oci_out);
}

/* Progress while an image is scanned: reported from the layer walks, reaching every blob byte. */
typedef struct oci_prog {
    pthread_mutex_t mu;
    size_t calls;
    uint64_t max_done, total;
} oci_prog;

static void oci_progress(const char *what, uint64_t done, uint64_t total, void *ud)
{
    oci_prog *p = ud;

    (void)what;
    pthread_mutex_lock(&p->mu);
    p->calls++;
    p->max_done = done > p->max_done ? done : p->max_done;
    p->total = total;
    pthread_mutex_unlock(&p->mu);
}

Test(oci, progress_while_an_image_is_scanned, .init = oci_setup, .fini = oci_teardown)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    oci_prog p = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    uint64_t blobs = 0;

    oci_build(0);
    ao.progress = oci_progress;
    ao.progress_userdata = &p;
    cr_assert_eq(sign_artifact_scan(&a, op("img"), "img", &ao), 0, "%s", sign_error_last());
    for (size_t j = 0; j < 3; j++) {
        sign_layer_info li;

        cr_assert_eq(sign_artifact_layer(&li, a, 0, j), 0);
        blobs += li.size;
    }
    cr_assert_gt(p.calls, 0, "progress is reported for images");
    cr_assert_eq(p.total, blobs, "total: the layer blobs (%llu, want %llu)", (unsigned long long)p.total,
                 (unsigned long long)blobs);
    cr_assert_eq(p.max_done, blobs, "done reaches every byte");
    sign_artifact_free(a);
}

Test(oci, cli_symlink_artifact_warns_or_follows_on_request, .init = oci_setup, .fini = oci_teardown)
{
    const char *target = op("app-1.2.3.tar.gz"), *link = op("app.tar.gz");
    static const tg_entry e[] = {{.name = "app/", .type = '5'}, {.name = "app/run", .data = "x", .len = 1}};

    tg_write(target, e, 2, "gzip");
    cr_assert_eq(symlink("app-1.2.3.tar.gz", link), 0);
    cr_assert_eq(SIGNET("keygen", "--no-passphrase", "-o", op("key")), 0);
    tu_write_str(op("policy.json"),
                 "{\"version\": 1, \"keys\": [{\"name\": \"release\", \"public_key\": \"key.pub\"}]}");
    cr_assert_eq(SIGNET("sign", "-k", op("key.key"), "-o", op("img.b"), link), 0, "%s", oci_err);
    cr_assert_not_null(strstr(oci_err, "artifact-symlink"), "%s", oci_err);
    cr_assert_eq(SIGNET("hash", "--json", link), 0);
    cr_assert_not_null(strstr(oci_out, "\"name\":\"app-1.2.3.tar.gz\""), "%s", oci_out);
    cr_assert_eq(oci_verify(NULL, target, NULL, NULL), 0, "%s", oci_out);
    cr_assert_eq(SIGNET("hash", "--json", "--follow-symlink", link), 0);
    cr_assert_null(strstr(oci_out, "artifact-symlink"), "%s", oci_out);
    cr_assert_not_null(strstr(oci_out, "app.tar.gz\""), "%s", oci_out);
    cr_assert_eq(SIGNET("sign", "--follow-symlink", "--force", "-k", op("key.key"), "-o", op("img.b"), link), 0, "%s",
                 oci_err);
    cr_assert_null(strstr(oci_err, "artifact-symlink"), "%s", oci_err);
}
