/*
 * Hostile OCI image layouts and docker save archives written by C code (no
 * tool needed): index.json or a directory that is a symlink, blob paths with
 * "..", a huge layer list, nested indexes, a config that is not JSON,
 * duplicate keys. Each must be refused for its own reason, without reading
 * outside the layout, and signing must refuse it.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "sign/sign.h"
#include "targen.h"
#include "testutil.h"

#define OH_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OH_INDEX "application/vnd.oci.image.index.v1+json"
#define OH_CONFIG "application/vnd.oci.image.config.v1+json"
#define OH_LAYER "application/vnd.oci.image.layer.v1.tar"

static char *oh_dir;
static char oh_img[512];
static char oh_layer[80], oh_config[80], oh_manifest[80];
static size_t oh_layer_size, oh_config_size, oh_manifest_size;
static unsigned char *oh_tar;
static size_t oh_tar_len;

/* Store data as a blob of the layout at root; "sha256:<hex>" into out. */
static void oh_put_in(const char *root, const void *data, size_t len, char out[80])
{
    unsigned char md[32];
    size_t mdlen = 0;
    char hex[65], path[1024];

    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &mdlen, SIGN_DIGEST_SHA256, data, len), 0);
    sign_hex_encode(hex, sizeof(hex), md, 32);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, hex);
    tu_write(path, data, len);
    snprintf(out, 80, "sha256:%s", hex);
}

/* A JSON document (taken) as a blob; its size returned. */
static size_t oh_put_json(json_t *j, char out[80])
{
    char *s = json_dumps(j, JSON_COMPACT);
    size_t n;

    cr_assert_not_null(s);
    n = strlen(s);
    oh_put_in(oh_img, s, n, out);
    free(s);
    json_decref(j);
    return n;
}

static json_t *oh_desc(const char *mt, const char *digest, size_t size)
{
    json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", digest, "size", (json_int_t)size);

    cr_assert_not_null(d);
    return d;
}

static void oh_write_index_text(const char *text)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/index.json", oh_img);
    tu_write_str(path, text);
}

static void oh_write_index(json_t *idx)
{
    char *s = json_dumps(idx, JSON_COMPACT);

    cr_assert_not_null(s);
    oh_write_index_text(s);
    free(s);
    json_decref(idx);
}

/* An index listing one descriptor (taken), with a ref name when ref is not NULL. */
static json_t *oh_index_of(json_t *d, const char *ref)
{
    if (ref != NULL) {
        json_object_set_new(d, "annotations", json_pack("{s:s}", "org.opencontainers.image.ref.name", ref));
    }
    return json_pack("{s:i,s:s,s:[o]}", "schemaVersion", 2, "mediaType", OH_INDEX, "manifests", d);
}

/* A manifest of config and the given layer list (taken). */
static json_t *oh_manifest_of(const char *config, size_t config_size, json_t *layers)
{
    return json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType", OH_MANIFEST, "config",
                     oh_desc(OH_CONFIG, config, config_size), "layers", layers);
}

/* A good layout: one plain tar layer with one file, its config, manifest and index. */
static void oh_setup(void)
{
    tg_entry e = {.name = "etc/hello", .data = "hello\n", .len = 6};
    char path[1024];
    json_t *cfg;

    oh_dir = tu_mkdtemp();
    snprintf(oh_img, sizeof(oh_img), "%s/img", oh_dir);
    snprintf(path, sizeof(path), "%s/blobs/sha256", oh_img);
    cr_assert_eq(mkdir(oh_img, 0700), 0);
    snprintf(path, sizeof(path), "%s/blobs", oh_img);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/blobs/sha256", oh_img);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/oci-layout", oh_img);
    tu_write_str(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
    tg_tar(&oh_tar, &oh_tar_len, &e, 1);
    oh_put_in(oh_img, oh_tar, oh_tar_len, oh_layer);
    oh_layer_size = oh_tar_len;
    cfg = json_pack("{s:s,s:s,s:{s:s,s:[s]}}", "architecture", "amd64", "os", "linux", "rootfs", "type", "layers",
                    "diff_ids", oh_layer);
    oh_config_size = oh_put_json(cfg, oh_config);
    oh_manifest_size = oh_put_json(
        oh_manifest_of(oh_config, oh_config_size, json_pack("[o]", oh_desc(OH_LAYER, oh_layer, oh_layer_size))),
        oh_manifest);
    oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, oh_manifest, oh_manifest_size), "latest"));
}

static void oh_teardown(void)
{
    free(oh_tar);
    oh_tar = NULL;
    tu_rmtree(oh_dir);
    free(oh_dir);
}

TestSuite(oci_hostile, .init = oh_setup, .fini = oh_teardown);

/* Scan path; flags as given (SIGN_ARTIFACT_KEEP_PROBLEMS to inspect problems). */
static int oh_scan(sign_artifact **a, const char *path, unsigned int flags, const char *ref)
{
    sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;

    o.flags = flags;
    o.ref = ref;
    *a = NULL;
    return sign_artifact_scan(a, path, "img", &o);
}

static int oh_has_problem(const sign_artifact *a, const char *reason, const char *needle)
{
    for (size_t i = 0; a != NULL && i < sign_artifact_problem_count(a); i++) {
        const char *r = NULL, *m = NULL;

        if (sign_artifact_problem(&r, &m, a, i) == 0 && strcmp(r, reason) == 0 &&
            (needle == NULL || strstr(m, needle) != NULL)) {
            return 1;
        }
    }
    return 0;
}

static char *oh_problems(const sign_artifact *a)
{
    static char buf[4096];
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; a != NULL && i < sign_artifact_problem_count(a) && used < sizeof(buf); i++) {
        const char *r = NULL, *m = NULL;

        if (sign_artifact_problem(&r, &m, a, i) == 0) {
            used += (size_t)snprintf(buf + used, sizeof(buf) - used, "[%s %s] ", r, m);
        }
    }
    return buf;
}

/* Scanning fails with code (and a message holding needle); signing fails too, writing nothing. */
static void oh_refused(const char *path, int code, const char *needle)
{
    sign_artifact *a = NULL;
    sign_key *k = NULL;
    sign_sign_options so = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1] = {path};
    char out[1024];
    sign_bundle *b = NULL;
    int r = oh_scan(&a, path, 0, NULL);

    cr_assert_eq(r, code, "%s: scan returned %d (%s), want %d", path, r, sign_error_last(), code);
    cr_assert_null(a);
    cr_assert(needle == NULL || strstr(sign_error_last(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", path,
              sign_error_last(), needle);
    snprintf(out, sizeof(out), "%s/out.json", oh_dir);
    cr_assert_eq(sign_key_generate(&k, SIGN_KEY_ED25519, 0), 0);
    so.key = k;
    so.artifacts = arts;
    so.nartifacts = 1;
    so.output = out;
    cr_assert_neq(sign_sign(&b, NULL, &so), 0, "%s: signed", path);
    cr_assert_null(b);
    cr_assert(!tu_exists(out));
    sign_key_free(k);
}

Test(oci_hostile, the_good_layout_scans)
{
    sign_artifact *a = NULL;

    cr_assert_eq(oh_scan(&a, oh_img, 0, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_image_count(a), 1);
    cr_assert_eq(sign_artifact_problem_count(a), 0);
    sign_artifact_free(a);
}

Test(oci_hostile, index_json_that_is_a_symlink_is_refused)
{
    char path[1024], real[1024];

    /* A symlink to a valid index outside the layout: never followed. */
    snprintf(path, sizeof(path), "%s/index.json", oh_img);
    snprintf(real, sizeof(real), "%s/real-index.json", oh_dir);
    cr_assert_eq(rename(path, real), 0);
    cr_assert_eq(symlink(real, path), 0);
    oh_refused(oh_img, SIGN_EPARSE, "symlink");
    /* oci-layout as a symlink, and the blobs directory as a symlink to a copy elsewhere. */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rename(real, path), 0);
    snprintf(path, sizeof(path), "%s/oci-layout", oh_img);
    snprintf(real, sizeof(real), "%s/real-layout", oh_dir);
    cr_assert_eq(rename(path, real), 0);
    cr_assert_eq(symlink(real, path), 0);
    oh_refused(oh_img, SIGN_EDIGEST, "symlink");
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rename(real, path), 0);
    snprintf(path, sizeof(path), "%s/blobs", oh_img);
    snprintf(real, sizeof(real), "%s/real-blobs", oh_dir);
    cr_assert_eq(rename(path, real), 0);
    cr_assert_eq(symlink(real, path), 0);
    oh_refused(oh_img, SIGN_EDIGEST, "not a regular file");
}

Test(oci_hostile, blob_paths_with_dot_dot_are_refused)
{
    static const char *const digests[] = {
        "sha256:../../../../../../etc/passwd",
        "sha256:../img/blobs/sha256/0000000000000000000000000000000000000000000000000000000000000",
        "../sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "sha256:/etc/passwd",
    };
    sign_artifact *a = NULL;

    for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
        /* As the manifest named by the index. */
        oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, digests[i], 10), "latest"));
        cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s: %s", digests[i],
                     sign_error_last());
        cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "sha256:<64 hex>"), "%s: %s", digests[i], oh_problems(a));
        sign_artifact_free(a);
        oh_refused(oh_img, SIGN_EDIGEST, "sha256:<64 hex>");
        /* As a layer of the manifest. */
        {
            char m[80];
            size_t ms = oh_put_json(
                oh_manifest_of(oh_config, oh_config_size, json_pack("[o]", oh_desc(OH_LAYER, digests[i], 10))), m);

            oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, m, ms), "latest"));
        }
        cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
        cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "sha256:<64 hex>"), "%s: %s", digests[i], oh_problems(a));
        sign_artifact_free(a);
        oh_refused(oh_img, SIGN_EDIGEST, "sha256:<64 hex>");
    }
}

/* A docker save archive: manifest.json naming members; Layers with ".." and absolute names. */
static void oh_docker(const char *path, const char *layers_json)
{
    struct archive *ar = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    char cfgname[100], manifest[1024];
    size_t len = 0;
    char *cfg;
    const struct {
        const char *name;
        const void *data;
        size_t len;
    } * m, members[3] = {{cfgname, NULL, 0}, {"layer.tar", NULL, 0}, {"manifest.json", NULL, 0}};

    snprintf(cfgname, sizeof(cfgname), "%s.json", oh_config + 7);
    {
        char p[1024];

        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", oh_img, oh_config + 7);
        cfg = tu_read(p, &len);
    }
    snprintf(manifest, sizeof(manifest), "[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":%s}]", cfgname,
             layers_json);
    cr_assert(ar != NULL && e != NULL);
    cr_assert_eq(archive_write_set_format_pax_restricted(ar), ARCHIVE_OK);
    cr_assert_eq(archive_write_open_filename(ar, path), ARCHIVE_OK);
    for (size_t i = 0; i < 3; i++) {
        const void *data = i == 0 ? (const void *)cfg : i == 1 ? (const void *)oh_tar : (const void *)manifest;
        size_t n = i == 0 ? len : i == 1 ? oh_tar_len : strlen(manifest);

        m = &members[i];
        archive_entry_clear(e);
        archive_entry_set_pathname(e, m->name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)n);
        cr_assert_eq(archive_write_header(ar, e), ARCHIVE_OK);
        cr_assert_eq(archive_write_data(ar, data, n), (la_ssize_t)n);
    }
    cr_assert_eq(archive_write_close(ar), ARCHIVE_OK);
    archive_entry_free(e);
    archive_write_free(ar);
    free(cfg);
}

Test(oci_hostile, docker_layers_outside_the_archive_are_missing_not_read)
{
    char path[1024], outside[1024], json[1400];
    sign_artifact *a = NULL;

    snprintf(path, sizeof(path), "%s/save.tar", oh_dir);
    oh_docker(path, "[\"layer.tar\"]");
    cr_assert_eq(oh_scan(&a, path, 0, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(sign_artifact_get_kind(a), SIGN_ARTIFACT_DOCKER);
    sign_artifact_free(a);
    /* A real file next to the archive, named with "..", and by absolute path: neither is read. */
    snprintf(outside, sizeof(outside), "%s/layer.tar", oh_dir);
    tu_write(outside, oh_tar, oh_tar_len);
    snprintf(json, sizeof(json), "[\"../layer.tar\"]");
    oh_docker(path, json);
    cr_assert_eq(oh_scan(&a, path, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "BLOB_MISSING", NULL), "%s", oh_problems(a));
    sign_artifact_free(a);
    oh_refused(path, SIGN_EDIGEST, "missing");
    snprintf(json, sizeof(json), "[\"%s\"]", outside);
    oh_docker(path, json);
    cr_assert_eq(oh_scan(&a, path, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "BLOB_MISSING", NULL), "%s", oh_problems(a));
    sign_artifact_free(a);
}

Test(oci_hostile, huge_layer_list_is_refused)
{
    json_t *layers = json_array(), *cfg, *ids = json_array();
    char c[80];
    size_t cs;
    sign_artifact *a = NULL;

    /* 1001 layers (the limit is 1000), all the same small blob. */
    for (int i = 0; i < 1001; i++) {
        json_array_append_new(layers, oh_desc(OH_LAYER, oh_layer, oh_layer_size));
        json_array_append_new(ids, json_string(oh_layer));
    }
    cfg = json_pack("{s:s,s:s,s:{s:s,s:o}}", "architecture", "amd64", "os", "linux", "rootfs", "type", "layers",
                    "diff_ids", ids);
    cs = oh_put_json(cfg, c);
    {
        char m[80];
        size_t ms = oh_put_json(oh_manifest_of(c, cs, layers), m);

        oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, m, ms), "latest"));
    }
    cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "more than 1000 layers"), "%s", oh_problems(a));
    sign_artifact_free(a);
    oh_refused(oh_img, SIGN_EDIGEST, "more than 1000 layers");
}

Test(oci_hostile, too_many_index_entries_are_refused)
{
    json_t *m = json_array();

    for (int i = 0; i < 257; i++) {
        json_array_append_new(m, oh_desc(OH_MANIFEST, oh_manifest, oh_manifest_size));
    }
    oh_write_index(json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", OH_INDEX, "manifests", m));
    oh_refused(oh_img, SIGN_ELIMIT, "more than 256 manifests");
}

Test(oci_hostile, nested_indexes_are_not_followed_deeply)
{
    char cur[80], next[80];
    size_t size = oh_manifest_size;
    sign_artifact *a = NULL;

    /* A chain of 64 indexes, each naming the next, the last naming the image manifest. */
    snprintf(cur, sizeof(cur), "%s", oh_manifest);
    for (int i = 0; i < 64; i++) {
        size = oh_put_json(oh_index_of(oh_desc(i == 0 ? OH_MANIFEST : OH_INDEX, cur, size), NULL), next);
        snprintf(cur, sizeof(cur), "%s", next);
    }
    oh_write_index(oh_index_of(oh_desc(OH_INDEX, cur, size), "deep"));
    /* By ref: one level is opened; an index inside it is refused, not followed. */
    cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, "deep"), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "is itself an index"), "%s", oh_problems(a));
    cr_assert_eq(sign_artifact_image_count(a), 0);
    sign_artifact_free(a);
    /* With --all: an index entry that is itself an index is refused. */
    {
        sign_artifact_options o = SIGN_ARTIFACT_OPTIONS_INIT;

        o.flags = SIGN_ARTIFACT_ALL_IMAGES | SIGN_ARTIFACT_KEEP_PROBLEMS;
        cr_assert_eq(sign_artifact_scan(&a, oh_img, "img", &o), 0, "%s", sign_error_last());
        cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "is itself an index"), "%s", oh_problems(a));
        sign_artifact_free(a);
    }
    /* An index whose descriptor says manifest: the document's own mediaType and "manifests" give it away. */
    {
        char m[80];
        size_t ms = oh_put_json(oh_index_of(oh_desc(OH_MANIFEST, oh_manifest, oh_manifest_size), NULL), m);

        oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, m, ms), "latest"));
    }
    cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", NULL) || oh_has_problem(a, "MEDIA_TYPE_INVALID", NULL), "%s",
              oh_problems(a));
    sign_artifact_free(a);
    oh_refused(oh_img, SIGN_EDIGEST, NULL);
}

Test(oci_hostile, config_that_is_not_json_is_refused)
{
    static const char *const bodies[] = {"not json at all", "{\"rootfs\":{\"diff_ids\":[]}} trailing", "[1,2,3]",
                                         "{\"rootfs\":{\"type\":\"layers\"}}"};
    sign_artifact *a = NULL;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char c[80], m[80];
        size_t ms;

        oh_put_in(oh_img, bodies[i], strlen(bodies[i]), c);
        ms = oh_put_json(
            oh_manifest_of(c, strlen(bodies[i]), json_pack("[o]", oh_desc(OH_LAYER, oh_layer, oh_layer_size))), m);
        oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, m, ms), "latest"));
        cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
        cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "config"), "%s: %s", bodies[i], oh_problems(a));
        sign_artifact_free(a);
        oh_refused(oh_img, SIGN_EDIGEST, "config");
    }
}

Test(oci_hostile, duplicate_keys_are_refused)
{
    char text[2048];
    sign_artifact *a = NULL;

    /* index.json: "manifests" twice, the first empty (a first-wins reader would see no image). */
    snprintf(text, sizeof(text),
             "{\"schemaVersion\":2,\"manifests\":[],\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
             "\"size\":%zu}]}",
             OH_MANIFEST, oh_manifest, oh_manifest_size);
    oh_write_index_text(text);
    oh_refused(oh_img, SIGN_EPARSE, "duplicate");
    /* A descriptor with "digest" twice. */
    snprintf(text, sizeof(text),
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"digest\":\"%s\","
             "\"size\":%zu}]}",
             OH_MANIFEST, oh_config, oh_manifest, oh_manifest_size);
    oh_write_index_text(text);
    oh_refused(oh_img, SIGN_EPARSE, "duplicate");
    /* The manifest blob: "layers" twice. */
    {
        char m[80], body[2048];

        snprintf(body, sizeof(body),
                 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                 "\"size\":%zu},\"layers\":[],\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                 OH_MANIFEST, OH_CONFIG, oh_config, oh_config_size, OH_LAYER, oh_layer, oh_layer_size);
        oh_put_in(oh_img, body, strlen(body), m);
        oh_write_index(oh_index_of(oh_desc(OH_MANIFEST, m, strlen(body)), "latest"));
    }
    cr_assert_eq(oh_scan(&a, oh_img, SIGN_ARTIFACT_KEEP_PROBLEMS, NULL), 0, "%s", sign_error_last());
    cr_assert(oh_has_problem(a, "IMAGE_MALFORMED", "duplicate"), "%s", oh_problems(a));
    sign_artifact_free(a);
    oh_refused(oh_img, SIGN_EDIGEST, "duplicate");
}
