/*
 * A program built against the options layouts of libsign 0.1 (the structs
 * below are copied from the headers in include/sign/ at commit 2a12363, renamed with
 * their version), run with the current libsign.so: every old version must
 * still be accepted and behave as it did. Each old struct lives in a heap
 * block of exactly its own size, so a library that read a field the caller
 * does not have is caught by AddressSanitizer (make test-san builds this too).
 *
 * Usage: old-callers DIR   (an empty scratch directory). Exit 0 when every
 * case behaves; prints one line per failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sign/sign.h>

/* ---- include/sign/common.h @ 2a12363: sign_limits version 1 ------------------------------- */
typedef struct limits_v1 {
    unsigned int version;
    size_t json_max_bytes;
    unsigned int json_max_depth;
    uint64_t archive_max_entries;
    uint64_t archive_max_total;
    uint64_t archive_max_ratio;
    uint64_t entry_max_ratio;
    size_t name_max;
} limits_v1;
#define LIMITS_V1_INIT                                                                                               \
    {                                                                                                                \
        1, 64u * 1024 * 1024, 64, 100000, UINT64_C(2) * 1024 * 1024 * 1024, 200, 1000, 1024                          \
    }

/* ---- include/sign/artifact.h @ 2a12363: sign_artifact_options versions 1 and 2 ------------- */
typedef struct artifact_options_v1 {
    unsigned int version;
    unsigned int flags;
    const limits_v1 *limits;
    sign_progress_cb progress;
    void *progress_userdata;
} artifact_options_v1;

/* ---- include/sign/manifest.h @ 2a12363: sign_manifest_options version 1 ------------------- */
typedef struct manifest_options_v1 {
    unsigned int version;
    int64_t created;
} manifest_options_v1;

/* ---- include/sign/signer.h @ 2a12363: sign_sign_options versions 1 and 3 ------------------ */
typedef struct sign_options_v1 {
    unsigned int version;
    const sign_key *key;
    const char *const *artifacts;
    const char *const *names;
    size_t nartifacts;
    const char *const *allow;
    size_t nallow;
    const char *output;
    int64_t created;
    const limits_v1 *limits;
    sign_progress_cb progress;
    void *progress_userdata;
} sign_options_v1;

typedef struct sign_options_v3 {
    unsigned int version;
    const sign_key *key;
    const char *const *artifacts;
    const char *const *names;
    size_t nartifacts;
    const char *const *allow;
    size_t nallow;
    const char *output;
    int64_t created;
    const limits_v1 *limits;
    sign_progress_cb progress;
    void *progress_userdata;
    /* Version 2: */
    const sign_x509_certs *certs;
    int embed_chain;
    /* Version 3: */
    const char *ref;
    unsigned int artifact_flags;
} sign_options_v3;
#define SIGN_OPTIONS_V3_INIT                                                                                         \
    {                                                                                                                \
        3, NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0                                 \
    }

/* ---- include/sign/verify.h @ 2a12363: sign_verify_options versions 1 and 3 ---------------- */
typedef struct verify_options_v1 {
    unsigned int version;
    const char *const *artifacts;
    size_t nartifacts;
    const char *const *bundles;
    size_t nbundles;
    int64_t at; /* 0: now */
    unsigned int flags;
    const limits_v1 *limits;
} verify_options_v1;

typedef struct verify_options_v3 {
    unsigned int version;
    const char *const *artifacts;
    size_t nartifacts;
    const char *const *bundles;
    size_t nbundles;
    int64_t at; /* 0: now */
    unsigned int flags;
    const limits_v1 *limits;
    /* version 2: */
    const char *ref;
    const char *tree;
    /* version 3: */
    const char *crl_cache_dir;
    unsigned int crl_timeout_ms;
} verify_options_v3;
#define VERIFY_OPTIONS_V3_INIT                                                                                       \
    {                                                                                                                \
        3, NULL, 0, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0                                                         \
    }

/* ---- include/sign/timestamp.h @ 2a12363: sign_tsa_options version 1 ----------------------- */
typedef struct tsa_options_v1 {
    unsigned int version;
    const char *policy_oid;
    int connect_timeout;
    int timeout;
    size_t max_response;
    unsigned int flags;
} tsa_options_v1;

/* ----------------------------------------------------------------------------------------------- */

static int failures;

#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            printf("abi: FAILED (line %d): ", __LINE__);                                                             \
            printf(__VA_ARGS__);                                                                                     \
            printf(" [%s]\n", sign_error_last());                                                                    \
            failures++;                                                                                              \
        }                                                                                                            \
    } while (0)

/* A copy of *src in a heap block of exactly n bytes (so reading past the caller's struct is an overflow). */
static void *exact(const void *src, size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        perror("malloc");
        exit(2);
    }
    memcpy(p, src, n);
    return p;
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p == NULL) {
        perror("malloc");
        exit(2);
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

/* Verify art against bundle with a policy, through an old verify options struct; returns sign_verify's code. */
static int verify_old(const sign_policy *p, const void *opts)
{
    sign_verify_result *res = NULL;
    int r = sign_verify(&res, p, (const sign_verify_options *)opts);

    if (res != NULL) {
        CHECK(sign_verify_result_code(res) == r, "the result's code is the returned code");
    }
    sign_verify_result_free(res);
    return r;
}

int main(int argc, char **argv)
{
    const char *dir = argc == 2 ? argv[1] : NULL;
    char *art, *bun1, *bun3, *pub, *pol, *old_pol;
    const char *arts[1], *b1[1], *b3[1];
    sign_key *key = NULL;
    sign_bundle *bundle = NULL;
    sign_artifact **signed_arts = NULL;
    sign_artifact *a = NULL;
    sign_statement *st = NULL;
    sign_policy *policy = NULL, *expired = NULL;
    limits_v1 lim1 = LIMITS_V1_INIT, *lim;
    int r;

    if (dir == NULL) {
        fprintf(stderr, "usage: old-callers DIR\n");
        return 2;
    }
    art = path_in(dir, "app.bin");
    bun1 = path_in(dir, "app.bin.v1.sigstore.json");
    bun3 = path_in(dir, "app.bin.v3.sigstore.json");
    pub = path_in(dir, "release.pub");
    pol = path_in(dir, "policy.json");
    old_pol = path_in(dir, "old-policy.json");
    arts[0] = art;
    b1[0] = bun1;
    b3[0] = bun3;
    write_text(art, "built against 0.1\n");
    if (sign_key_generate(&key, SIGN_KEY_ED25519, 0) != 0 || sign_key_write_public(key, pub) != 0) {
        fprintf(stderr, "abi: key: %s\n", sign_error_last());
        return 2;
    }
    write_text(pol, "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"release.pub\"}]}");
    write_text(old_pol, "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"release.pub\","
                        "\"not_before\":\"2020-01-01T00:00:00Z\",\"not_after\":\"2021-01-01T00:00:00Z\"}]}");
    lim = exact(&lim1, sizeof(lim1));

    /* sign_limits version 1 (every default spelled out) through the policy loader and the scanner. */
    r = sign_policy_load(&policy, pol, (const sign_limits *)lim);
    CHECK(r == 0, "sign_policy_load with sign_limits v1: %d", r);
    r = sign_policy_load(&expired, old_pol, (const sign_limits *)lim);
    CHECK(r == 0, "sign_policy_load (window 2020) with sign_limits v1: %d", r);
    {
        artifact_options_v1 o1 = {1, 0, NULL, NULL, NULL}, *o = exact(&o1, sizeof(o1));

        o->limits = lim;
        r = sign_artifact_scan(&a, art, NULL, (const sign_artifact_options *)o);
        CHECK(r == 0 && a != NULL, "sign_artifact_scan with sign_artifact_options v1: %d", r);
        free(o);
    }
    {
        manifest_options_v1 m1 = {1, INT64_C(1767225600)}, *m = exact(&m1, sizeof(m1));
        sign_artifact *const list[1] = {a};

        r = sign_statement_build(&st, list, 1, (const sign_manifest_options *)m);
        CHECK(r == 0, "sign_statement_build with sign_manifest_options v1: %d", r);
        free(m);
    }

    /* sign_sign_options version 1 (no certificates, no ref) and version 3. */
    {
        sign_options_v1 s1, *s;

        memset(&s1, 0, sizeof(s1));
        s1.version = 1;
        s1.key = key;
        s1.artifacts = arts;
        s1.nartifacts = 1;
        s1.output = bun1;
        s1.limits = lim;
        s = exact(&s1, sizeof(s1));
        r = sign_sign(&bundle, &signed_arts, (const sign_sign_options *)s);
        CHECK(r == 0, "sign_sign with sign_sign_options v1: %d", r);
        sign_bundle_free(bundle);
        bundle = NULL;
        if (signed_arts != NULL) {
            sign_artifact_free(signed_arts[0]);
            free(signed_arts);
            signed_arts = NULL;
        }
        free(s);
    }
    {
        sign_options_v3 s3 = SIGN_OPTIONS_V3_INIT, *s;

        s3.key = key;
        s3.artifacts = arts;
        s3.nartifacts = 1;
        s3.output = bun3;
        s = exact(&s3, sizeof(s3));
        r = sign_sign(&bundle, NULL, (const sign_sign_options *)s);
        CHECK(r == 0, "sign_sign with sign_sign_options v3: %d", r);
        sign_bundle_free(bundle);
        bundle = NULL;
        free(s);
    }

    /* sign_verify_options version 1 and 3: both bundles verify; at != 0 is still the time judged. */
    {
        verify_options_v1 v1 = {1, arts, 1, b1, 1, 0, 0, NULL}, *v = exact(&v1, sizeof(v1));

        v->limits = lim;
        r = verify_old(policy, v);
        CHECK(r == 0, "sign_verify with sign_verify_options v1: %d", r);
        free(v);
    }
    {
        verify_options_v3 v3 = VERIFY_OPTIONS_V3_INIT, *v;
        int64_t in_2020 = 0;

        v3.artifacts = arts;
        v3.nartifacts = 1;
        v3.bundles = b3;
        v3.nbundles = 1;
        v = exact(&v3, sizeof(v3));
        r = verify_old(policy, v);
        CHECK(r == 0, "sign_verify with sign_verify_options v3: %d", r);
        /* A key valid in 2020 only: now (at == 0 in version 3) it has expired; at 2020-06-01 it passes. */
        r = verify_old(expired, v);
        CHECK(r == SIGN_EEXPIRED, "v3, at == 0 is now: the 2020 key has expired: %d", r);
        CHECK(sign_parse_time(&in_2020, "2020-06-01T00:00:00Z") == 0, "parse time");
        v->at = in_2020;
        r = verify_old(expired, v);
        CHECK(r == 0, "v3, at != 0 is the time judged, without SIGN_VERIFY_AT: %d", r);
        /* An unknown version (one above the library's) is refused, not half-read. */
        v->version = SIGN_VERIFY_OPTIONS_VERSION + 1;
        r = verify_old(policy, v);
        CHECK(r == SIGN_EINVAL, "a newer version is refused: %d", r);
        free(v);
    }

    /* sign_tsa_options version 1: the version is accepted (the request then fails to connect). */
    {
        tsa_options_v1 t1 = {1, NULL, 1, 1, 0, 0}, *t = exact(&t1, sizeof(t1));
        unsigned char *tsr = NULL;
        size_t tsrlen = 0;

        r = sign_timestamp_request(&tsr, &tsrlen, "http://127.0.0.1:1/", (const unsigned char *)"x", 1,
                                   (const sign_tsa_options *)t);
        CHECK(r != 0 && r != SIGN_EINVAL, "sign_timestamp_request with sign_tsa_options v1 gets to the network: %d",
              r);
        free(tsr);
        free(t);
    }

    sign_statement_free(st);
    sign_artifact_free(a);
    sign_policy_free(policy);
    sign_policy_free(expired);
    sign_key_free(key);
    free(lim);
    free(art);
    free(bun1);
    free(bun3);
    free(pub);
    free(pol);
    free(old_pol);
    if (failures != 0) {
        printf("abi: %d failure(s)\n", failures);
        return 1;
    }
    printf("abi: callers built against the 0.1 options layouts work with this libsign\n");
    return 0;
}
