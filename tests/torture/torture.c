/*
 * Allocation-failure ("torture") runs: for each operation, make the Nth
 * allocation fail, for N = 1, 2, ... until N exceeds the number of
 * allocations the operation makes, and check that every failure is a clean
 * error (a negative SIGN_E* code with a message, no output file left behind),
 * that nothing crashes or leaks (built with ASan/UBSan/LSan), and that the
 * last run, which no failure reaches, succeeds with the reference result.
 *
 * Where the allocations are caught (docs/torture.md):
 *  - libsign's own malloc/calloc/realloc/strdup: the torture build renames
 *    them in a copy of libsign.a (objcopy --redefine-syms, see
 *    tests/torture/redefine.syms) to tt_sign_*, defined here;
 *  - libarchive and zlib: linked statically into this program only, their
 *    malloc/calloc/realloc/strdup/strndup wrapped with ld --wrap;
 *  - OpenSSL: CRYPTO_set_mem_functions;
 *  - jansson: json_set_alloc_funcs.
 * Not caught: allocations inside the C library itself (opendir, newlocale,
 * pthread_create, stdio) and inside the other shared compression libraries.
 *
 * The counter is atomic: artifact scanning hashes in worker threads.
 *
 * Usage: torture [OP...]; TORTURE_N=n runs only failure point n of the named
 * operation(s) and prints the stack of the failing allocation.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <dlfcn.h>
#include <ftw.h>
#include <errno.h>
#include <jansson.h>
#include <sys/wait.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <p11-kit/pkcs11.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"
#include "sign/sign.h"
#include "util.h"

/* ---- the counting, failing allocator ----------------------------------------------- */

enum { SRC_SIGN = 0, SRC_ARCHIVE = 1, SRC_OPENSSL = 2, SRC_JANSSON = 3, SRC_MODULE = 4, NSRC = 5 };
static const char *const src_name[NSRC] = {"libsign", "libarchive+zlib", "OpenSSL", "jansson", "PKCS#11 module"};

static atomic_int tt_armed;
static atomic_long tt_seen;         /* allocations since armed */
static atomic_long tt_fail_at;      /* 1-based index that fails; 0: none */
static atomic_int tt_failed_src;    /* source of the failed allocation, -1: none */
static atomic_long tt_by_src[NSRC]; /* allocations per source since armed */
static atomic_int tt_trace;         /* print the stack of the failed allocation */
static char tt_where[160];          /* OpenSSL's file:line of the failed allocation */
static int leak_each;               /* TORTURE_LEAKCHECK=each: a leak check after every failure point */
static int loose_reasons;           /* TORTURE_REASONS=report: a wrong reason is printed, not failed */
static int progress;                /* TORTURE_PROGRESS: one line per failure point */
static int fail_archive;            /* TORTURE_ARCHIVE: fail libarchive's and zlib's allocations too */
static atomic_int tt_in_module;     /* > 0 while the PKCS#11 module runs (tests/torture/p11wrap.c) */

/* Called by the wrapper module around every PKCS#11 call (found with dlsym; exported by the link). */
void tt_module_enter(int d);
void tt_module_enter(int d)
{
    /* the module's own leaks (SoftHSM2 2.6.1 leaks in EdDSA signing) are not signet's: LeakSanitizer skips them */
    if (d > 0) {
        __lsan_disable();
    }
    atomic_fetch_add(&tt_in_module, d);
    if (d < 0) {
        __lsan_enable();
    }
}

static int tt_fail(int src)
{
    long n;

    if (!atomic_load(&tt_armed)) {
        return 0;
    }
    if (atomic_load(&tt_in_module) > 0) {
        /* the module's own allocations (SoftHSM2 uses the same OpenSSL): counted, never failed */
        atomic_fetch_add(&tt_by_src[SRC_MODULE], 1);
        return 0;
    }
    if (src == SRC_ARCHIVE && !fail_archive) {
        atomic_fetch_add(&tt_by_src[src], 1); /* counted, never failed (see docs/torture.md) */
        return 0;
    }
    n = atomic_fetch_add(&tt_seen, 1) + 1;
    atomic_fetch_add(&tt_by_src[src], 1);
    if (n != atomic_load(&tt_fail_at)) {
        return 0;
    }
    atomic_store(&tt_failed_src, src);
    if (atomic_load(&tt_trace)) {
        fprintf(stderr, "torture: allocation %ld (%s) fails here:\n", n, src_name[src]);
        __sanitizer_print_stack_trace();
    }
    errno = ENOMEM;
    return 1;
}

static void tt_arm(long fail_at)
{
    atomic_store(&tt_seen, 0);
    for (int i = 0; i < NSRC; i++) {
        atomic_store(&tt_by_src[i], 0);
    }
    atomic_store(&tt_failed_src, -1);
    atomic_store(&tt_fail_at, fail_at);
    tt_where[0] = '\0';
    atomic_store(&tt_armed, 1);
}

static void tt_disarm(void)
{
    atomic_store(&tt_armed, 0);
}

/* libsign (renamed symbols). */
void *tt_sign_malloc(size_t n);
void *tt_sign_calloc(size_t n, size_t m);
void *tt_sign_realloc(void *p, size_t n);
char *tt_sign_strdup(const char *s);
char *tt_sign_strndup(const char *s, size_t n);
/* libarchive and zlib (ld --wrap). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *tt_sign_malloc(size_t n)
{
    return tt_fail(SRC_SIGN) ? NULL : __real_malloc(n);
}
void *tt_sign_calloc(size_t n, size_t m)
{
    return tt_fail(SRC_SIGN) ? NULL : __real_calloc(n, m);
}
void *tt_sign_realloc(void *p, size_t n)
{
    return tt_fail(SRC_SIGN) ? NULL : __real_realloc(p, n);
}
char *tt_sign_strdup(const char *s)
{
    return tt_fail(SRC_SIGN) ? NULL : __real_strdup(s);
}
char *tt_sign_strndup(const char *s, size_t n)
{
    return tt_fail(SRC_SIGN) ? NULL : __real_strndup(s, n);
}
void *__wrap_malloc(size_t n)
{
    return tt_fail(SRC_ARCHIVE) ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    return tt_fail(SRC_ARCHIVE) ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    return tt_fail(SRC_ARCHIVE) ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
    return tt_fail(SRC_ARCHIVE) ? NULL : __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
    return tt_fail(SRC_ARCHIVE) ? NULL : __real_strndup(s, n);
}

static void tt_ossl_where(const char *file, int line)
{
    if (atomic_load(&tt_failed_src) == SRC_OPENSSL && tt_where[0] == '\0') {
        snprintf(tt_where, sizeof(tt_where), "%s:%d", file != NULL ? file : "?", line);
    }
}
static void *tt_ossl_malloc(size_t n, const char *file, int line)
{
    if (tt_fail(SRC_OPENSSL)) {
        tt_ossl_where(file, line);
        return NULL;
    }
    return __real_malloc(n);
}
static void *tt_ossl_realloc(void *p, size_t n, const char *file, int line)
{
    if (tt_fail(SRC_OPENSSL)) {
        tt_ossl_where(file, line);
        return NULL;
    }
    return __real_realloc(p, n);
}
static void tt_ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}
static void *tt_json_malloc(size_t n)
{
    return tt_fail(SRC_JANSSON) ? NULL : __real_malloc(n);
}
static void tt_json_free(void *p)
{
    free(p);
}

/* ---- fixtures ------------------------------------------------------------------------ */

static char dir[256];
static char p_layer[300];
static char p_file[300], p_zip[300], p_tampered[300], p_key[300], p_keyenc[300], p_pub[300], p_policy[300];
static char p_bundle_file[300], p_bundle_zip[300], p_outdir[300], p_out[320];
static char p_deploy[300]; /* signet deploy's directory (issue 16) */
static sign_key *signing_key;
static sign_policy *policy;
static int failures;

#define PASSPHRASE "correct horse battery staple"

static void die(const char *what)
{
    fprintf(stderr, "torture: setup: %s: %s\n", what, sign_error_last());
    exit(2);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "torture: cannot write %s\n", path);
        exit(2);
    }
}

static void add_zip_entry(struct archive *a, const char *name, const char *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();

    if (e == NULL) {
        exit(2);
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, data, len) != (la_ssize_t)len) {
        fprintf(stderr, "torture: zip: %s\n", archive_error_string(a));
        exit(2);
    }
    archive_entry_free(e);
}

static void make_zip(const char *path)
{
    static char big[20000];
    struct archive *a = archive_write_new();

    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 7);
    }
    if (a == NULL || archive_write_set_format_zip(a) != ARCHIVE_OK || archive_write_open_filename(a, path) != 0) {
        exit(2);
    }
    add_zip_entry(a, "README.txt", "hello, torture\n", 15);
    add_zip_entry(a, "lib/code.bin", big, sizeof(big));
    add_zip_entry(a, "lib/empty", "", 0);
    if (archive_write_close(a) != ARCHIVE_OK) {
        exit(2);
    }
    archive_write_free(a);
}

/* A tar layer (gzip-compressed when gz): files, a directory, a symlink, a whiteout. */
static void make_layer(const char *path, int gz)
{
    static char big[20000];
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    static const char *const names[] = {"etc/", "etc/hello", "bin/sh", "app/.wh.gone", "lib/code.bin"};

    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 7);
    }
    if (a == NULL || e == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        (gz && archive_write_add_filter_gzip(a) != ARCHIVE_OK) || archive_write_open_filename(a, path) != 0) {
        exit(2);
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len = i == 1 ? 6 : i == 4 ? sizeof(big) : 0;

        archive_entry_clear(e);
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, i == 0 ? AE_IFDIR : i == 2 ? AE_IFLNK : AE_IFREG);
        archive_entry_set_perm(e, i == 0 ? 0755 : 0644);
        if (i == 2) {
            archive_entry_set_symlink(e, "/usr/bin/dash");
        }
        archive_entry_set_size(e, (la_int64_t)len);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (len > 0 && archive_write_data(a, i == 1 ? "hello\n" : big, len) != (la_ssize_t)len)) {
            exit(2);
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        exit(2);
    }
    archive_entry_free(e);
    archive_write_free(a);
}

static int pass_cb(char *buf, size_t size, int confirm, void *userdata)
{
    (void)confirm;
    (void)userdata;
    if (size < sizeof(PASSPHRASE)) {
        return -1;
    }
    memcpy(buf, PASSPHRASE, sizeof(PASSPHRASE) - 1);
    return (int)(sizeof(PASSPHRASE) - 1);
}

static void sign_to(const char *artifact, const char *bundle)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1] = {artifact};
    sign_bundle *b = NULL;

    o.key = signing_key;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.output = bundle;
    o.created = 1700000000;
    if (sign_sign(&b, NULL, &o) != 0) {
        die("sign");
    }
    sign_bundle_free(b);
}

/* ---- RFC 3161 material, made in-process (no server): a root, a TSA, one TimeStampResp ---- */

static const unsigned char ts_sig[] = "the signature bytes a timestamp stamps";
static unsigned char *ts_der;
static size_t ts_len;
static char *ts_root_pem;
static size_t ts_root_len;

static X509 *ts_cert(EVP_PKEY *k, EVP_PKEY *ik, X509 *issuer, const char *cn, const char *const *exts)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;

    if (x == NULL) {
        die("x509");
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), issuer == NULL ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
    X509_set_pubkey(x, k);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; exts[i] != NULL; i += 2) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i], exts[i + 1]);

        if (e == NULL || !X509_add_ext(x, e, -1)) {
            die("extension");
        }
        X509_EXTENSION_free(e);
    }
    if (!X509_sign(x, ik, EVP_sha256())) {
        die("x509 sign");
    }
    return x;
}

static EVP_PKEY *ts_key;
static X509 *ts_tsa;

/* A DER TimeStampResp over data from the torture TSA (made in-process, genTime now). */
static void ts_stamp(unsigned char **out, size_t *outlen, const unsigned char *data, size_t len)
{
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_OBJECT *pol = OBJ_txt2obj("1.2.3.4.1", 1);
    unsigned char md[32], *der = NULL;
    unsigned int mdlen = 0;
    BIO *reqbio = BIO_new(BIO_s_mem());
    TS_RESP *resp;
    int n;

    if (ctx == NULL || req == NULL || mi == NULL || alg == NULL || pol == NULL || reqbio == NULL) {
        die("timestamp material");
    }
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    if (!TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, md, (int)mdlen) ||
        !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) || !TS_REQ_set_cert_req(req, 1) ||
        !i2d_TS_REQ_bio(reqbio, req)) {
        die("timestamp request");
    }
    if (!TS_RESP_CTX_set_signer_cert(ctx, ts_tsa) || !TS_RESP_CTX_set_signer_key(ctx, ts_key) ||
        !TS_RESP_CTX_set_def_policy(ctx, pol) || !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
        !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) || (resp = TS_RESP_create_response(ctx, reqbio)) == NULL ||
        (n = i2d_TS_RESP(resp, &der)) <= 0) {
        die("timestamp response");
    }
    if ((*out = malloc((size_t)n)) == NULL) {
        die("timestamp copy");
    }
    memcpy(*out, der, (size_t)n);
    *outlen = (size_t)n;
    OPENSSL_free(der);
    TS_RESP_free(resp);
    BIO_free(reqbio);
    ASN1_OBJECT_free(pol);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    TS_RESP_CTX_free(ctx);
}

static void ts_setup(void)
{
    static const char *const root_ext[] = {"basicConstraints", "critical,CA:TRUE", "keyUsage", "critical,keyCertSign",
                                           NULL};
    /* as real TSA certificates are (the chain code requires keyUsage digitalSignature of a signing leaf) */
    static const char *const tsa_ext[] = {
        "basicConstraints", "critical,CA:FALSE",     "keyUsage", "critical,digitalSignature",
        "extendedKeyUsage", "critical,timeStamping", NULL};
    EVP_PKEY *rk = EVP_EC_gen("P-256");
    X509 *root;
    BIO *pem = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    ts_key = EVP_EC_gen("P-256");
    if (rk == NULL || ts_key == NULL || pem == NULL) {
        die("timestamp material");
    }
    root = ts_cert(rk, rk, NULL, "torture TSA root", root_ext);
    ts_tsa = ts_cert(ts_key, rk, root, "torture TSA", tsa_ext);
    ts_stamp(&ts_der, &ts_len, ts_sig, sizeof(ts_sig));
    if (!PEM_write_bio_X509(pem, root) || (n = BIO_get_mem_data(pem, &p)) <= 0 ||
        (ts_root_pem = malloc((size_t)n)) == NULL) {
        die("timestamp copy");
    }
    memcpy(ts_root_pem, p, (size_t)n);
    ts_root_len = (size_t)n;
    BIO_free(pem);
    X509_free(root);
    EVP_PKEY_free(rk);
}

/* ---- more fixtures: an OCI layout, a docker save archive, an extracted zip, a PKI with CRLs ---- */

static char p_oci[300], p_docker[300], p_tree[300], p_bundle_oci[300], p_bundle_cert[300], p_policy_pki[300];
static char *pki_chain_pem, *pki_root_pem, *pki_crl_pem; /* leaf + intermediate; root; both CRLs */
static size_t pki_chain_len, pki_root_len, pki_crl_len;
static sign_policy *pki_policy;
static sign_policy *sg_policy; /* make_sigstore */

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "torture: cannot write %s\n", path);
        exit(2);
    }
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *d = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (d = malloc((size_t)n + 1)) == NULL || fread(d, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "torture: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void sha256_hex(char hex[65], const void *data, size_t len)
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) {
        die("sha256");
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
}

/* data as blobs/sha256/<hex> of the layout at root. */
static void put_blob(const char *root, const void *data, size_t len, char hex[65])
{
    char path[512];

    sha256_hex(hex, data, len);
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, hex);
    write_bytes(path, data, len);
}

/* A PEM text of a BIO (malloc'd). */
static char *bio_text(BIO *b, size_t *len)
{
    char *p = NULL, *d;
    long n = BIO_get_mem_data(b, &p);

    if (n <= 0 || (d = malloc((size_t)n + 1)) == NULL) {
        die("pem");
    }
    memcpy(d, p, (size_t)n);
    d[n] = '\0';
    *len = (size_t)n;
    return d;
}

/*
 * One image, one gzip layer (make_layer): an OCI layout (app.oci/) and the same image as a
 * legacy docker save archive (app.docker.tar, the layer uncompressed).
 */
static void make_images(void)
{
    char tar[320], path[512], hl[65], hd[65], hc[65], hm[65], config[512], manifest[1024], index[1024], dm[512];
    unsigned char *raw, *layer;
    size_t rlen, llen;
    struct archive *a = archive_write_new();

    snprintf(tar, sizeof(tar), "%s/layer.tar", dir);
    make_layer(tar, 0);
    raw = read_all(tar, &rlen);
    layer = read_all(p_layer, &llen);
    sha256_hex(hd, raw, rlen);
    snprintf(path, sizeof(path), "%s/blobs", p_oci);
    if (mkdir(p_oci, 0700) != 0 || mkdir(path, 0700) != 0) {
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/blobs/sha256", p_oci);
    if (mkdir(path, 0700) != 0) {
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/oci-layout", p_oci);
    write_text(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
    put_blob(p_oci, layer, llen, hl);
    snprintf(config, sizeof(config),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
             hd);
    put_blob(p_oci, config, strlen(config), hc);
    snprintf(manifest, sizeof(manifest),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\","
             "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
             "\"digest\":\"sha256:%s\",\"size\":%zu}]}",
             hc, strlen(config), hl, llen);
    put_blob(p_oci, manifest, strlen(manifest), hm);
    snprintf(index, sizeof(index),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
             "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu,"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}",
             hm, strlen(manifest));
    snprintf(path, sizeof(path), "%s/index.json", p_oci);
    write_text(path, index);

    snprintf(dm, sizeof(dm),
             "[{\"Config\":\"%s.json\",\"RepoTags\":[\"torture:latest\"],\"Layers\":[\"%s/layer.tar\"]}]", hc, hd);
    if (a == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, p_docker) != 0) {
        exit(2);
    }
    snprintf(path, sizeof(path), "%s.json", hc);
    add_zip_entry(a, path, config, strlen(config));
    snprintf(path, sizeof(path), "%s/layer.tar", hd);
    add_zip_entry(a, path, (const char *)raw, rlen);
    add_zip_entry(a, "manifest.json", dm, strlen(dm));
    if (archive_write_close(a) != ARCHIVE_OK) {
        exit(2);
    }
    archive_write_free(a);
    free(raw);
    free(layer);
}

/* The zip's entries extracted (what `unzip` would give): the tree of --tree. */
static void make_tree(void)
{
    static char big[20000];
    char path[512];

    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 7);
    }
    snprintf(path, sizeof(path), "%s/lib", p_tree);
    if (mkdir(p_tree, 0755) != 0 || mkdir(path, 0755) != 0) {
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/README.txt", p_tree);
    write_bytes(path, "hello, torture\n", 15);
    snprintf(path, sizeof(path), "%s/lib/code.bin", p_tree);
    write_bytes(path, big, sizeof(big));
    snprintf(path, sizeof(path), "%s/lib/empty", p_tree);
    write_bytes(path, "", 0);
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *k)
{
    X509_CRL *c = X509_CRL_new();
    X509_REVOKED *rv = X509_REVOKED_new();
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();

    if (c == NULL || rv == NULL || t == NULL || sn == NULL || !X509_CRL_set_version(c, 1) ||
        !X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) || !X509_gmtime_adj(t, -3600) ||
        !X509_CRL_set1_lastUpdate(c, t) || !X509_gmtime_adj(t, 86400L * 7) || !X509_CRL_set1_nextUpdate(c, t) ||
        !ASN1_INTEGER_set(sn, 99) || !X509_REVOKED_set_serialNumber(rv, sn) || !X509_gmtime_adj(t, -7200) ||
        !X509_REVOKED_set_revocationDate(rv, t) || !X509_CRL_add0_revoked(c, rv) || !X509_CRL_sort(c) ||
        !X509_CRL_sign(c, k, EVP_sha256())) {
        die("crl");
    }
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(sn);
    return c;
}

/*
 * A root, an intermediate and a code-signing leaf (EC P-256), a CRL from each CA (naming
 * another serial), the files a policy names, a bundle signed with the leaf (v0.2 chain,
 * an RFC 3161 timestamp of the torture TSA) and the policy trusting all of it.
 */
static void pki_setup(void)
{
    static const char *const ca_ext[] = {"basicConstraints", "critical,CA:TRUE", "keyUsage",
                                         "critical,keyCertSign,cRLSign", NULL};
    static const char *const leaf_ext[] = {
        "basicConstraints", "critical,CA:FALSE", "keyUsage", "critical,digitalSignature",
        "extendedKeyUsage", "codeSigning",       NULL};
    EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
    X509 *root, *inter, *leaf;
    X509_CRL *rc, *ic;
    BIO *b;
    char path[512], text[1024];
    sign_key *key = NULL;
    sign_x509_certs *certs = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1] = {p_file};
    sign_bundle *bundle = NULL;
    const unsigned char *sig;
    unsigned char *der = NULL;
    size_t siglen = 0, derlen = 0;
    FILE *f;

    if (rk == NULL || ik == NULL || lk == NULL) {
        die("pki keys");
    }
    root = ts_cert(rk, rk, NULL, "torture root", ca_ext);
    inter = ts_cert(ik, rk, root, "torture intermediate", ca_ext);
    leaf = ts_cert(lk, ik, inter, "torture signer", leaf_ext);
    rc = make_crl(root, rk);
    ic = make_crl(inter, ik);
    if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, leaf) || !PEM_write_bio_X509(b, inter)) {
        die("pem");
    }
    pki_chain_pem = bio_text(b, &pki_chain_len);
    BIO_free(b);
    if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, root)) {
        die("pem");
    }
    pki_root_pem = bio_text(b, &pki_root_len);
    BIO_free(b);
    if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_CRL(b, rc) || !PEM_write_bio_X509_CRL(b, ic)) {
        die("pem");
    }
    pki_crl_pem = bio_text(b, &pki_crl_len);
    BIO_free(b);
    snprintf(path, sizeof(path), "%s/pki-root.pem", dir);
    write_bytes(path, pki_root_pem, pki_root_len);
    snprintf(path, sizeof(path), "%s/pki-inter.pem", dir);
    if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, inter) || fclose(f) != 0) {
        die("pki-inter.pem");
    }
    snprintf(path, sizeof(path), "%s/pki-root.crl", dir);
    if ((f = fopen(path, "w")) == NULL || !PEM_write_X509_CRL(f, rc) || fclose(f) != 0) {
        die("pki-root.crl");
    }
    snprintf(path, sizeof(path), "%s/pki-inter.crl", dir);
    if ((f = fopen(path, "w")) == NULL || !PEM_write_X509_CRL(f, ic) || fclose(f) != 0) {
        die("pki-inter.crl");
    }
    snprintf(path, sizeof(path), "%s/tsa-root.pem", dir);
    write_bytes(path, ts_root_pem, ts_root_len);
    snprintf(path, sizeof(path), "%s/pki-leaf.key", dir);
    if ((f = fopen(path, "w")) == NULL || !PEM_write_PrivateKey(f, lk, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
        die("pki-leaf.key");
    }
    if (sign_key_load_private(&key, path, NULL, NULL) != 0 ||
        sign_x509_certs_parse(&certs, pki_chain_pem, pki_chain_len, "chain") != 0) {
        die("pki load");
    }
    o.key = key;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.certs = certs;
    o.embed_chain = 1;
    if (sign_sign(&bundle, NULL, &o) != 0) {
        die("sign with a certificate");
    }
    sig = sign_envelope_signature(sign_bundle_envelope(bundle), 0, &siglen);
    ts_stamp(&der, &derlen, sig, siglen);
    if (sign_bundle_add_timestamp(bundle, der, derlen) != 0 || sign_bundle_write(bundle, p_bundle_cert) != 0) {
        die("timestamped certificate bundle");
    }
    snprintf(text, sizeof(text),
             "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"signer.pub\"}],"
             "\"roots\":[{\"name\":\"torture-ca\",\"certificates\":\"pki-root.pem\","
             "\"intermediates\":\"pki-inter.pem\",\"crls\":[\"pki-root.crl\",\"pki-inter.crl\"],"
             "\"subjects\":[\"*torture signer*\"],\"artifacts\":[\"app.*\"]}],"
             "\"timestamp_authorities\":[{\"name\":\"torture-tsa\",\"certificates\":\"tsa-root.pem\"}],"
             "\"require\":{\"timestamp\":true}}\n");
    write_text(p_policy_pki, text);
    if (sign_policy_load(&pki_policy, p_policy_pki, NULL) != 0) {
        die("pki policy");
    }
    free(der);
    sign_bundle_free(bundle);
    sign_x509_certs_free(certs);
    sign_key_free(key);
    X509_CRL_free(rc);
    X509_CRL_free(ic);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(lk);
}

static void make_repo(void);
static void make_trusted_root(void);
static void make_sigstore(void);

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    sign_key *k = NULL;
    char text[600];

    snprintf(dir, sizeof(dir), "%s/signet-torture.XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("torture: mkdtemp");
        exit(2);
    }
    snprintf(p_file, sizeof(p_file), "%s/app.bin", dir);
    snprintf(p_zip, sizeof(p_zip), "%s/app.zip", dir);
    snprintf(p_layer, sizeof(p_layer), "%s/layer.tar.gz", dir);
    snprintf(p_tampered, sizeof(p_tampered), "%s/tampered.bin", dir);
    snprintf(p_key, sizeof(p_key), "%s/signer.key", dir);
    snprintf(p_keyenc, sizeof(p_keyenc), "%s/signer-enc.key", dir);
    snprintf(p_pub, sizeof(p_pub), "%s/signer.pub", dir);
    snprintf(p_policy, sizeof(p_policy), "%s/policy.json", dir);
    snprintf(p_bundle_file, sizeof(p_bundle_file), "%s/app.bin.sigstore.json", dir);
    snprintf(p_bundle_zip, sizeof(p_bundle_zip), "%s/app.zip.sigstore.json", dir);
    snprintf(p_outdir, sizeof(p_outdir), "%s/out", dir);
    snprintf(p_deploy, sizeof(p_deploy), "%s/deploy", dir);
    snprintf(p_out, sizeof(p_out), "%s/bundle.json", p_outdir);
    snprintf(p_oci, sizeof(p_oci), "%s/app.oci", dir);
    snprintf(p_docker, sizeof(p_docker), "%s/app.docker.tar", dir);
    snprintf(p_tree, sizeof(p_tree), "%s/tree", dir);
    snprintf(p_bundle_oci, sizeof(p_bundle_oci), "%s/app.oci.sigstore.json", dir);
    snprintf(p_bundle_cert, sizeof(p_bundle_cert), "%s/app.bin.cert.sigstore.json", dir);
    snprintf(p_policy_pki, sizeof(p_policy_pki), "%s/policy-pki.json", dir);
    if (mkdir(p_outdir, 0700) != 0) {
        exit(2);
    }
    write_text(p_file, "the artifact: some bytes to sign\n");
    write_text(p_tampered, "the artifact: some bytes to sigN\n");
    make_zip(p_zip);
    make_layer(p_layer, 1);
    if (sign_key_generate(&k, SIGN_KEY_ED25519, 0) != 0 || sign_key_write_private(k, p_key, NULL, 0) != 0 ||
        sign_key_write_private(k, p_keyenc, PASSPHRASE, strlen(PASSPHRASE)) != 0 ||
        sign_key_write_public(k, p_pub) != 0) {
        die("key");
    }
    signing_key = k;
    snprintf(text, sizeof(text),
             "{\"version\":1,\"keys\":[{\"name\":\"release\",\"public_key\":\"signer.pub\","
             "\"artifacts\":[\"app.*\",\"tampered.bin\"]}],\"require\":{\"entries\":true}}\n");
    write_text(p_policy, text);
    if (sign_policy_load(&policy, p_policy, NULL) != 0) {
        die("policy");
    }
    sign_to(p_file, p_bundle_file);
    sign_to(p_zip, p_bundle_zip);
    ts_setup();
    make_images();
    make_tree();
    pki_setup();
    make_trusted_root();
    make_sigstore();
    sign_to(p_oci, p_bundle_oci);
    make_repo();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    sign_key_free(signing_key);
    sign_policy_free(policy);
    sign_policy_free(pki_policy);
    sign_policy_free(sg_policy);
    free(ts_der);
    free(ts_root_pem);
    free(pki_chain_pem);
    free(pki_root_pem);
    free(pki_crl_pem);
    X509_free(ts_tsa);
    EVP_PKEY_free(ts_key);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Names in the output directory (0 when empty), the first one in name. */
static int outdir_entries(char *name, size_t size)
{
    DIR *d = opendir(p_outdir);
    struct dirent *de;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n++ == 0) {
            snprintf(name, size, "%s", de->d_name);
        }
    }
    closedir(d);
    return n;
}

/* ---- operations -----------------------------------------------------------------------
 * run() is called armed and may only call the library; done() is called disarmed, writes
 * a fingerprint of the result when run() succeeded, and frees everything run() kept.
 */

typedef struct op {
    const char *name;
    int (*run)(void);
    void (*done)(char *fp, size_t fpsize);
    int writes_output; /* the output directory must be empty after a failure */
    int must_fail;     /* success is never acceptable (verifying a tampered artifact) */
    int slow;          /* only when named or with TORTURE_ALL (scrypt per run: minutes) */
} op;

static sign_bundle *r_bundle;
static sign_artifact **r_arts;
static sign_artifact *r_art;
static sign_verify_result *r_vres;
static sign_policy *r_policy;
static sign_key *r_key;

static int sign_one(const char *artifact)
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1];

    arts[0] = artifact;
    o.key = signing_key;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.output = p_out;
    o.created = 1700000000;
    return sign_sign(&r_bundle, &r_arts, &o);
}
static int run_sign_file(void)
{
    return sign_one(p_file);
}
static int run_sign_zip(void)
{
    return sign_one(p_zip);
}
static void done_sign(char *fp, size_t fpsize)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f;

    if (r_bundle != NULL) {
        /* The bundle returned and the file written must both be the reference bytes. */
        if (sign_bundle_serialize(&s, &len, r_bundle) != 0) {
            snprintf(fp, fpsize, "serialize failed");
        } else {
            char file[8192];
            size_t n = 0;

            if ((f = fopen(p_out, "rb")) != NULL) {
                n = fread(file, 1, sizeof(file), f);
                fclose(f);
            }
            /* The whole bundle: a field missing anywhere must show. */
            snprintf(fp, fpsize, "%s|file %zu bytes: %.*s|%s", s, n, (int)n, file, sign_artifact_name(r_arts[0]));
        }
        free(s);
    }
    if (r_arts != NULL) {
        sign_artifact_free(r_arts[0]);
        free(r_arts);
    }
    sign_bundle_free(r_bundle);
    r_arts = NULL;
    r_bundle = NULL;
    unlink(p_out);
}

static int run_scan_zip(void)
{
    return sign_artifact_scan(&r_art, p_zip, NULL, NULL);
}
static int run_scan_layer(void)
{
    return sign_artifact_scan(&r_art, p_layer, NULL, NULL);
}
static void done_scan(char *fp, size_t fpsize)
{
    if (r_art != NULL) {
        const unsigned char *h = sign_artifact_sha256(r_art);
        size_t used = (size_t)snprintf(
            fp, fpsize, "%s %s %zu entries %zu findings:", sign_artifact_kind_name(sign_artifact_get_kind(r_art)),
            sign_artifact_name(r_art), sign_artifact_entry_count(r_art), sign_artifact_finding_count(r_art));

        for (size_t i = 0; i < sign_artifact_entry_count(r_art) && used < fpsize; i++) {
            const sign_entry *e = sign_artifact_entry(r_art, i);

            used += (size_t)snprintf(fp + used, fpsize - used, " %s/%u/%02x", e->path, e->type,
                                     e->has_digest ? e->sha256[0] : 0);
        }
        if (used < fpsize) {
            snprintf(fp + used, fpsize - used, " %02x%02x", h[0], h[31]);
        }
    }
    sign_artifact_free(r_art);
    r_art = NULL;
}

/* sign_verify of one artifact with one bundle under p, judged at `at` (0: now), into r_vres. */
static int verify_under(const sign_policy *p, const char *artifact, const char *bundle, int64_t at)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[1], *bundles[1];

    arts[0] = artifact;
    bundles[0] = bundle;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bundles;
    o.nbundles = 1;
    o.at = at;
    return sign_verify(&r_vres, p, &o);
}
static int verify_one(const char *artifact, const char *bundle)
{
    return verify_under(policy, artifact, bundle, 1700000100);
}
static int run_verify_file(void)
{
    return verify_one(p_file, p_bundle_file);
}
static int run_verify_zip(void)
{
    return verify_one(p_zip, p_bundle_zip);
}
static int run_verify_tampered(void)
{
    return verify_one(p_tampered, p_bundle_file);
}
static void done_verify(char *fp, size_t fpsize)
{
    if (r_vres != NULL) {
        snprintf(fp, fpsize, "ok=%d code=%d checks=%zu", sign_verify_result_ok(r_vres),
                 sign_verify_result_code(r_vres), sign_verify_result_check_count(r_vres));
    }
    sign_verify_result_free(r_vres);
    r_vres = NULL;
}

/* ---- deploy (issue 16): a failure at any allocation leaves current absent or whole ---- */
static sign_deploy_result *r_dres;

static int run_deploy_zip(void)
{
    sign_deploy_options o = SIGN_DEPLOY_OPTIONS_INIT;
    const char *bundles[1];

    bundles[0] = p_bundle_zip;
    o.artifact = p_zip;
    o.bundles = bundles;
    o.nbundles = 1;
    o.to = p_deploy;
    return sign_deploy(&r_dres, policy, &o);
}
/* The OCI layout: a private directory copy, the layers applied in order (issue 16's image path). */
static int run_deploy_image(void)
{
    sign_deploy_options o = SIGN_DEPLOY_OPTIONS_INIT;
    const char *bundles[1];

    bundles[0] = p_bundle_oci;
    o.artifact = p_oci;
    o.bundles = bundles;
    o.nbundles = 1;
    o.to = p_deploy;
    return sign_deploy(&r_dres, policy, &o);
}
static void done_deploy(char *fp, size_t fpsize)
{
    char cur[320], target[128];
    struct stat st;
    ssize_t n;

    /* Whatever happened, current names a whole release or nothing. */
    snprintf(cur, sizeof(cur), "%s/current", p_deploy);
    n = readlink(cur, target, sizeof(target) - 1);
    if (n > 0) {
        char file[512];

        target[n] = '\0';
        snprintf(file, sizeof(file), "%s/%s", p_deploy, target);
        if (stat(file, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "torture: deploy: current -> %s is not a release\n", target);
            failures++;
        }
    }
    if (r_dres != NULL) {
        const char *id = sign_deploy_result_release(r_dres, 1);

        snprintf(fp, fpsize, "code=%d new=%s", sign_deploy_result_code(r_dres), id != NULL ? id : "-");
    }
    sign_deploy_result_free(r_dres);
    r_dres = NULL;
}

static int run_policy_load(void)
{
    return sign_policy_load(&r_policy, p_policy, NULL);
}
static void done_policy(char *fp, size_t fpsize)
{
    if (r_policy != NULL) {
        snprintf(fp, fpsize, "%s keys=%zu", sign_policy_mode_name(sign_policy_get_mode(r_policy)),
                 sign_policy_key_count(r_policy));
    }
    sign_policy_free(r_policy);
    r_policy = NULL;
}

static int run_bundle_read(void)
{
    return sign_bundle_read(&r_bundle, p_bundle_zip, NULL);
}
static void done_bundle(char *fp, size_t fpsize)
{
    char *s = NULL;
    size_t len = 0;

    if (r_bundle != NULL) {
        if (sign_bundle_serialize(&s, &len, r_bundle) != 0) {
            snprintf(fp, fpsize, "serialize failed");
        } else {
            snprintf(fp, fpsize, "%s", s);
        }
        free(s);
    }
    sign_bundle_free(r_bundle);
    r_bundle = NULL;
}

static int run_key_private(void)
{
    return sign_key_load_private(&r_key, p_key, NULL, NULL);
}
static int run_key_encrypted(void)
{
    return sign_key_load_private(&r_key, p_keyenc, pass_cb, NULL);
}
static int run_key_public(void)
{
    return sign_key_load_public(&r_key, p_pub);
}
static void done_key(char *fp, size_t fpsize)
{
    char id[SIGN_KEYID_SIZE];

    if (r_key != NULL) {
        if (sign_key_id(id, sizeof(id), r_key) != 0) {
            snprintf(fp, fpsize, "key id failed");
        } else {
            snprintf(fp, fpsize, "%s %s private=%d", sign_key_type_name(sign_key_get_type(r_key)), id,
                     sign_key_has_private(r_key));
        }
    }
    sign_key_free(r_key);
    r_key = NULL;
}

static sign_tsa_roots *r_roots;
static sign_timestamp_info r_tsinfo;

/* Load the trusted TSA root and verify the timestamp: both under allocation failure. */
static int run_timestamp_verify(void)
{
    int r;

    if ((r = sign_tsa_roots_new(&r_roots)) != 0 ||
        (r = sign_tsa_roots_add_pem(r_roots, "torture-tsa", ts_root_pem, ts_root_len)) != 0) {
        return r;
    }
    return sign_timestamp_verify(&r_tsinfo, NULL, ts_der, ts_len, ts_sig, sizeof(ts_sig), r_roots);
}
static int run_timestamp_parse(void)
{
    return sign_timestamp_parse(&r_tsinfo, ts_der, ts_len);
}
static void done_timestamp(char *fp, size_t fpsize)
{
    snprintf(fp, fpsize, "%lld %s %s %s %s", (long long)r_tsinfo.gen_time, r_tsinfo.tsa, r_tsinfo.policy,
             r_tsinfo.serial, r_tsinfo.authority);
    memset(&r_tsinfo, 0, sizeof(r_tsinfo));
    sign_tsa_roots_free(r_roots);
    r_roots = NULL;
}

/* Container images, --tree, X.509 and a policy with roots, CRLs and TSAs. */
static int run_sign_oci(void)
{
    return sign_one(p_oci);
}
static int run_scan_oci(void)
{
    return sign_artifact_scan(&r_art, p_oci, NULL, NULL);
}
static int run_scan_docker(void)
{
    return sign_artifact_scan(&r_art, p_docker, NULL, NULL);
}
static void done_scan_image(char *fp, size_t fpsize)
{
    static char tail[8192];
    size_t used = 0;

    fp[0] = '\0';
    if (r_art != NULL) {
        sign_image_info im;
        sign_layer_info li;

        used = (size_t)snprintf(fp, fpsize, "%zu images %zu problems", sign_artifact_image_count(r_art),
                                sign_artifact_problem_count(r_art));
        for (size_t i = 0; i < sign_artifact_image_count(r_art) && used < fpsize; i++) {
            if (sign_artifact_image(&im, r_art, i) != 0) {
                used += (size_t)snprintf(fp + used, fpsize - used, " image %zu failed", i);
                continue;
            }
            used += (size_t)snprintf(fp + used, fpsize - used, " [%s %s %02x %zu layers", im.name,
                                     im.ref != NULL ? im.ref : "-", im.config[0], im.layer_count);
            for (size_t j = 0; j < im.layer_count && used < fpsize; j++) {
                if (sign_artifact_layer(&li, r_art, i, j) != 0) {
                    used += (size_t)snprintf(fp + used, fpsize - used, " layer %zu failed", j);
                    continue;
                }
                used += (size_t)snprintf(fp + used, fpsize - used, " %02x/%02x %zu entries:", li.digest[0],
                                         li.diff_id != NULL ? li.diff_id[0] : 0, li.entry_count);
                for (size_t k = 0; k < li.entry_count && used < fpsize; k++) {
                    const sign_entry *e = sign_artifact_layer_entry(r_art, i, j, k);

                    used += (size_t)snprintf(fp + used, fpsize - used, " %s/%u/%02x", e->path, e->type,
                                             e->has_digest ? e->sha256[0] : 0);
                }
            }
            if (used < fpsize) {
                used += (size_t)snprintf(fp + used, fpsize - used, "]");
            }
        }
    }
    tail[0] = '\0';
    done_scan(tail, sizeof(tail));
    if (used < fpsize) {
        snprintf(fp + used, fpsize - used, " %s", tail);
    }
}
static int run_verify_oci(void)
{
    return verify_one(p_oci, p_bundle_oci);
}
static int run_verify_tree(void)
{
    sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
    const char *arts[1], *bundles[1];

    arts[0] = p_zip;
    bundles[0] = p_bundle_zip;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.bundles = bundles;
    o.nbundles = 1;
    o.at = 1700000100;
    o.flags = SIGN_VERIFY_ENTRIES;
    o.tree = p_tree;
    return sign_verify(&r_vres, policy, &o);
}
static int run_verify_cert(void)
{
    return verify_under(pki_policy, p_file, p_bundle_cert, 0);
}
/* The verdict and every check's reason: a check silently dropped must show. */
static void done_verify_checks(char *fp, size_t fpsize)
{
    size_t used;

    if (r_vres != NULL) {
        used = (size_t)snprintf(fp, fpsize, "ok=%d code=%d:", sign_verify_result_ok(r_vres),
                                sign_verify_result_code(r_vres));
        for (size_t i = 0; i < sign_verify_result_check_count(r_vres) && used < fpsize; i++) {
            const sign_check *c = sign_verify_result_check(r_vres, i);

            used += (size_t)snprintf(fp + used, fpsize - used, " %s/%s/%s", c->check,
                                     sign_check_status_name(c->status), c->reason);
        }
    }
    sign_verify_result_free(r_vres);
    r_vres = NULL;
}

static sign_x509_certs *r_chain, *r_xroots;
static sign_x509_crls *r_crls;
static sign_x509_result r_xres;

static int run_x509_verify(void)
{
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options vo = SIGN_X509_VERIFY_OPTIONS_INIT;
    int r;

    memset(&r_xres, 0, sizeof(r_xres));
    if ((r = sign_x509_certs_parse(&r_chain, pki_chain_pem, pki_chain_len, "chain")) != 0 ||
        (r = sign_x509_certs_parse(&r_xroots, pki_root_pem, pki_root_len, "root")) != 0 ||
        (r = sign_x509_crls_parse(&r_crls, pki_crl_pem, pki_crl_len, "crls")) != 0) {
        return r;
    }
    t.roots = r_xroots;
    t.crls = r_crls;
    return sign_x509_verify(&r_xres, r_chain, &t, &vo);
}
static void done_x509(char *fp, size_t fpsize)
{
    snprintf(fp, fpsize, "%s %d %s chain %zu note \"%s\"", r_xres.reason != NULL ? r_xres.reason : "(none)",
             r_xres.code, r_xres.subject, r_xres.chain_len, r_xres.note);
    sign_x509_certs_free(r_chain);
    sign_x509_certs_free(r_xroots);
    sign_x509_crls_free(r_crls);
    r_chain = r_xroots = NULL;
    r_crls = NULL;
}

static int run_policy_load_pki(void)
{
    return sign_policy_load(&r_policy, p_policy_pki, NULL);
}
/* The policy loaded, then used (disarmed) on the certificate bundle: a root, CRL or TSA dropped must show. */
static void done_policy_pki(char *fp, size_t fpsize)
{
    if (r_policy != NULL) {
        sign_verify_options o = SIGN_VERIFY_OPTIONS_INIT;
        const char *arts[1] = {p_file}, *bundles[1] = {p_bundle_cert};
        size_t used =
            (size_t)snprintf(fp, fpsize, "%s keys=%zu ", sign_policy_mode_name(sign_policy_get_mode(r_policy)),
                             sign_policy_key_count(r_policy));

        o.artifacts = arts;
        o.nartifacts = 1;
        o.bundles = bundles;
        o.nbundles = 1;
        if (sign_verify(&r_vres, r_policy, &o) != 0 && r_vres == NULL) {
            snprintf(fp + used, fpsize - used, "verify could not run: %s", sign_error_last());
        } else if (used < fpsize) {
            done_verify_checks(fp + used, fpsize - used);
        }
        sign_verify_result_free(r_vres);
        r_vres = NULL;
    }
    sign_policy_free(r_policy);
    r_policy = NULL;
}

/* ---- a Sigstore trusted root (libsign/pki/trusted_root.c) -------------------------------------------- */

static char p_trusted_root[300];
static sign__trusted_root *r_troot;

/* der (n bytes, n > 0) as base64, malloc'd. */
static char *b64_of(const unsigned char *der, int n)
{
    char *s = NULL;

    if (n <= 0 || sign__b64_encode(&s, der, (size_t)n) != 0) {
        die("base64");
    }
    return s;
}

/* The skip-th certificate (0: the first) of a PEM text. */
static X509 *pem_cert(const char *pem, size_t len, int skip)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = NULL;

    for (int i = 0; b != NULL && i <= skip; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    }
    BIO_free(b);
    if (x == NULL) {
        die("pem certificate");
    }
    return x;
}

/* A tlogs[]/ctlogs[] entry for k (as SubjectPublicKeyInfo, or pkcs1: a bare RSAPublicKey), malloc'd. */
static char *tr_log_json(EVP_PKEY *k, int pkcs1, const char *details, const char *url, const char *more)
{
    unsigned char *der = NULL, id[32];
    int n = pkcs1 ? i2d_PublicKey(k, &der) : i2d_PUBKEY(k, &der);
    char *kb = b64_of(der, n), *ib, *out = NULL;

    if (SHA256(der, (size_t)n, id) == NULL) {
        die("log id");
    }
    ib = b64_of(id, (int)sizeof(id));
    if (asprintf(&out,
                 "{\"baseUrl\":\"%s\",\"hashAlgorithm\":\"SHA2_256\",\"publicKey\":{\"rawBytes\":\"%s\","
                 "\"keyDetails\":\"%s\",\"validFor\":{\"start\":\"2021-01-01T00:00:00Z\"}},"
                 "\"logId\":{\"keyId\":\"%s\"}%s}",
                 url, kb, details, ib, more) < 0) {
        die("log entry");
    }
    OPENSSL_free(der);
    free(kb);
    free(ib);
    return out;
}

/* A certificateAuthorities[]/timestampAuthorities[] entry: chain a (then b, if not NULL), malloc'd. */
static char *tr_ca_json(X509 *a, X509 *b, const char *valid)
{
    unsigned char *da = NULL, *db = NULL;
    int na = i2d_X509(a, &da), nb = b != NULL ? i2d_X509(b, &db) : 0;
    char *ab = b64_of(da, na), *bb = b != NULL ? b64_of(db, nb) : NULL, *out = NULL;

    if (asprintf(&out,
                 "{\"subject\":{\"organization\":\"torture\",\"commonName\":\"torture\"},"
                 "\"uri\":\"https://ca.torture.test\",\"certChain\":{\"certificates\":[{\"rawBytes\":\"%s\"}%s%s%s]},"
                 "\"validFor\":%s}",
                 ab, bb != NULL ? ",{\"rawBytes\":\"" : "", bb != NULL ? bb : "", bb != NULL ? "\"}" : "",
                 valid) < 0) {
        die("authority entry");
    }
    OPENSSL_free(da);
    OPENSSL_free(db);
    free(ab);
    free(bb);
    return out;
}

/*
 * trusted_root.json: an Ed25519 Rekor v2 log (with checkpointKeyId) and an RSA log given as a bare PKCS#1 key,
 * a P-256 CT log, the PKI's intermediate and root as a certificate authority (validFor with an end), and the
 * TSA certificate alone as a timestamp authority (the same code as the authority's, one certificate fewer to
 * decode at every failure point).
 */
static void make_trusted_root(void)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *rsa = EVP_RSA_gen(2048), *ct = EVP_EC_gen("P-256");
    X509 *root = pem_cert(pki_root_pem, pki_root_len, 0), *inter = pem_cert(pki_chain_pem, pki_chain_len, 1);
    char *l1, *l2, *l3, *ca, *tsa, *text = NULL;

    if (ed == NULL || rsa == NULL || ct == NULL) {
        die("trusted root keys");
    }
    l1 = tr_log_json(ed, 0, "PKIX_ED25519", "https://log2.torture.test/api/v2",
                     ",\"checkpointKeyId\":{\"keyId\":\"dG9ydHVyZQ==\"}");
    l2 = tr_log_json(rsa, 1, "PKCS1_RSA_PKCS1V5", "https://rsa.torture.test", "");
    l3 = tr_log_json(ct, 0, "PKIX_ECDSA_P256_SHA_256", "https://ct.torture.test", "");
    ca = tr_ca_json(inter, root, "{\"start\":\"2021-01-01T00:00:00Z\",\"end\":\"2099-01-01T00:00:00Z\"}");
    tsa = tr_ca_json(ts_tsa, NULL, "{\"start\":\"2021-01-01T00:00:00Z\"}");
    if (asprintf(&text,
                 "{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\","
                 "\"tlogs\":[%s,%s],\"ctlogs\":[%s],\"certificateAuthorities\":[%s],\"timestampAuthorities\":[%s]}\n",
                 l1, l2, l3, ca, tsa) < 0) {
        die("trusted root");
    }
    snprintf(p_trusted_root, sizeof(p_trusted_root), "%s/trusted_root.json", dir);
    write_text(p_trusted_root, text);
    free(text);
    free(l1);
    free(l2);
    free(l3);
    free(ca);
    free(tsa);
    X509_free(root);
    X509_free(inter);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ct);
}

static int run_trusted_root(void)
{
    return sign__trusted_root_read(&r_troot, p_trusted_root, NULL);
}

static void hex_of(char *out, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* Everything the loader kept: each log's key (re-encoded), ids, origin and validity; each authority's chain. */
static void done_trusted_root(char *fp, size_t fpsize)
{
    const sign__trusted_root *t = r_troot;
    size_t used;

    if (t == NULL) {
        return;
    }
    used = (size_t)snprintf(fp, fpsize, "logs %zu cas %zu", t->nlogs, t->ncas);
    for (size_t i = 0; i < t->nlogs && used < fpsize; i++) {
        const sign__tlog_key *k = &t->logs[i];
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k->pkey, &der);
        char key[65], spki[65], id[65], ck[9], raw[65];

        if (n <= 0) {
            die("a loaded log key does not encode");
        }
        sha256_hex(key, der, (size_t)n);
        OPENSSL_free(der);
        hex_of(spki, k->spki_sha256, 32);
        hex_of(id, k->log_id, 32);
        hex_of(ck, k->checkpoint_id, 4);
        hex_of(raw, k->raw, 32);
        used +=
            (size_t)snprintf(fp + used, fpsize - used,
                             "; log ct=%d type=%d key=%s spki=%s id=%s ck=%d:%s raw=%s origin=%s valid=%lld..%lld/%d",
                             k->ct, k->type, key, spki, id, k->has_checkpoint_id, ck, raw, k->origin,
                             (long long)k->valid.start, (long long)k->valid.end, k->valid.has_end);
    }
    for (size_t i = 0; i < t->ncas && used < fpsize; i++) {
        const sign__tr_authority *a = &t->cas[i];

        used += (size_t)snprintf(fp + used, fpsize - used, "; ca tsa=%d valid=%lld..%lld/%d certs", a->tsa,
                                 (long long)a->valid.start, (long long)a->valid.end, a->valid.has_end);
        for (size_t j = 0; j < sign_x509_certs_count(a->chain) && used < fpsize; j++) {
            unsigned char *der = NULL;
            size_t n = 0;
            char h[65];

            if (sign_x509_certs_der(&der, &n, a->chain, j) != 0) {
                die("a loaded certificate does not encode");
            }
            sha256_hex(h, der, n);
            free(der);
            used += (size_t)snprintf(fp + used, fpsize - used, " %s", h);
        }
    }
    sign__trusted_root_free(r_troot);
    r_troot = NULL;
}

/* ---- source provenance and the signing log (libsign/git) ---------------------------------------------- */

/* ---- a public-good Sigstore bundle: Fulcio certificate, SCT, Rekor entry (verify/tlog.c, pki/sct.c) ---- */

static char p_sg_artifact[700], p_sg_bundle[700], p_sg_policy[300];

/*
 * The conformance suite's DSSE happy path (tests/conformance/assets, copied with their source noted in SOURCE):
 * a Fulcio certificate with an embedded SCT and a Rekor entry with inclusion proof, signed checkpoint and SET,
 * judged under the public-good trusted root. The torture runs from the source tree (make test-torture).
 */
static void make_sigstore(void)
{
    const char *id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/"
                     "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    char *assets = realpath("tests/conformance/assets", NULL), text[1800];

    if (assets == NULL || strlen(assets) > 400) {
        die("tests/conformance/assets (run the torture from the source tree)");
    }
    snprintf(p_sg_artifact, sizeof(p_sg_artifact), "%s/bundle-verify/a.txt", assets);
    snprintf(p_sg_bundle, sizeof(p_sg_bundle), "%s/bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
             assets);
    snprintf(p_sg_policy, sizeof(p_sg_policy), "%s/policy-sigstore.json", dir);
    snprintf(text, sizeof(text),
             "{\"version\":1,\"trusted_root\":\"%s/public-good/trusted_root.json\",\"roots\":[{\"name\":"
             "\"public-good\",\"artifacts\":[\"*\"],\"predicate_types\":[\"*\"],\"subjects\":[\"%s\"],"
             "\"issuers\":[\"https://token.actions.githubusercontent.com\"]}]}\n",
             assets, id);
    free(assets);
    write_text(p_sg_policy, text);
    if (sign_policy_load(&sg_policy, p_sg_policy, NULL) != 0) {
        die("sigstore policy");
    }
}

static int run_verify_sigstore(void)
{
    return verify_under(sg_policy, p_sg_artifact, p_sg_bundle, 0);
}

static char p_repo[300], p_log[300];
static char r_log_id[SIGN_LOG_ID_SIZE];
static sign_source *r_source;
static int r_log_rc;

/* A work tree with one commit, a branch and an annotated tag, made by the git CLI. */
static void make_repo(void)
{
    char cmd[1200];
    pid_t pid;
    int st = 0;

    snprintf(p_repo, sizeof(p_repo), "%s/repo", dir);
    snprintf(p_log, sizeof(p_log), "%s/log", dir);
    snprintf(cmd, sizeof(cmd),
             "export GIT_CONFIG_NOSYSTEM=1 HOME='%s' GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com "
             "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com; git init -q -b main '%s' && cd '%s' && "
             "echo src > a.c && git add a.c && git commit -qm one && git remote add origin "
             "https://u:p@git.example.com/r.git && git tag -a v1.0 -m v1.0",
             dir, p_repo, p_repo);
    if ((pid = fork()) == 0) {
        execl("/bin/sh", "sh", "-ec", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        die("git repository (is git installed?)");
    }
}

static int run_source(void)
{
    return sign_source_collect(&r_source, p_repo, NULL);
}

static void done_source(char *fp, size_t fpsize)
{
    char *s = NULL;

    if (r_source != NULL && sign_source_json(&s, r_source) == 0) {
        /* the commit time and ids are the same on every run: the recorded object must be the same too */
        snprintf(fp, fpsize, "%s", s);
    }
    free(s);
    sign_source_free(r_source);
    r_source = NULL;
}

/* A new log, then the file bundle appended: the entry id, the count, and the log's own verification. */
static int run_log_add(void)
{
    unsigned char *data = NULL;
    size_t len = 0;
    FILE *f;

    nftw(p_log, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    r_log_id[0] = '\0';
    if ((r_log_rc = sign_log_init(p_log)) != 0) {
        return r_log_rc;
    }
    if ((f = fopen(p_bundle_file, "rb")) == NULL || (data = malloc(1 << 20)) == NULL) {
        die("reading the bundle");
    }
    len = fread(data, 1, 1 << 20, f);
    fclose(f);
    r_log_rc = sign_log_add(r_log_id, p_log, data, len);
    free(data);
    return r_log_rc;
}

static void done_log(char *fp, size_t fpsize)
{
    char commit[SIGN_LOG_COMMIT_SIZE];
    uint64_t n = 0;

    if (r_log_rc == 0) {
        int c = sign_log_checkpoint(commit, &n, p_log), v = sign_log_verify(NULL, p_log, NULL);

        snprintf(fp, fpsize, "entry %s count %llu checkpoint %d verify %d", r_log_id, (unsigned long long)n, c, v);
    } else if (sign_log_checkpoint(commit, &n, p_log) != SIGN_ENOTFOUND) {
        /* a failed append leaves an empty log (or none) */
        snprintf(fp, fpsize, "a failed append left %llu entries", (unsigned long long)n);
    }
}

/* ---- revocation lists (libsign/revocation.c) ---------------------------------------------------------- */

/* Not installed: the verifier's binary index of a list (libsign/formats.h). */
int sign__revocation_index_write(unsigned char **out, size_t *outlen, const sign_revocation_list *l);
int sign__revocation_index_read(sign_revocation_list **out, const unsigned char *data, size_t len);

static const char rev_payload[] =
    "{\"version\":3,\"issued\":\"2026-01-01T00:00:00Z\",\"expires\":\"2026-02-01T00:00:00Z\","
    "\"previous\":\"abababababababababababababababababababababababababababababababab\","
    "\"keys\":[{\"key_id\":\"p60aXanaNCHm4oiA1x2fc9qkwCZBcH6TY+u71hFMPBo=\",\"reason\":\"keyCompromise\","
    "\"comment\":\"leaked \\u00e9\"},{\"key_id\":\"AAAAXanaNCHm4oiA1x2fc9qkwCZBcH6TY-u71hFMPBo=\","
    "\"reason\":\"superseded\",\"effective\":\"2026-01-02T03:04:05Z\"}],"
    "\"artifacts\":[{\"digest\":{\"sha256\":\"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\"},"
    "\"name\":\"app.zip\",\"reason\":\"other\",\"comment\":\"bad build\"},{\"digest\":{\"sha256\":"
    "\"0101010101010101010101010101010101010101010101010101010101010101\"},\"reason\":\"superseded\"}]}";
static sign_revocation_list *r_revlist;
static char *r_revtext; /* the index's entries as text (revocation-index) */

static int run_revocation_parse(void)
{
    return sign_revocation_list_parse(&r_revlist, rev_payload, sizeof(rev_payload) - 1, NULL);
}

/* The list's canonical form: the same on every run. */
static void done_revocation(char *fp, size_t fpsize)
{
    char *s = NULL;

    if (r_revlist != NULL) {
        if (sign_revocation_list_serialize(&s, NULL, r_revlist) != 0) {
            snprintf(fp, fpsize, "serialize failed");
        } else {
            snprintf(fp, fpsize, "%s", s);
        }
        free(s);
    }
    if (r_revtext != NULL) {
        snprintf(fp, fpsize, "%s", r_revtext);
    }
    sign_revocation_list_free(r_revlist);
    r_revlist = NULL;
    free(r_revtext);
    r_revtext = NULL;
}

/* Parse, write the index, read it back and look every entry up (the verifier's cache path). */
static int run_revocation_index(void)
{
    sign_revocation_list *l = NULL, *x = NULL;
    unsigned char *ix = NULL;
    size_t len = 0, n, at = 0;
    int r;

    if ((r = sign_revocation_list_parse(&l, rev_payload, sizeof(rev_payload) - 1, NULL)) != 0 ||
        (r = sign__revocation_index_write(&ix, &len, l)) != 0 ||
        (r = sign__revocation_index_read(&x, ix, len)) != 0) {
        goto out;
    }
    n = sign_revocation_list_key_count(x);
    if ((r_revtext = calloc(1, 4096)) == NULL) {
        r = SIGN_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sign_revoked_key k, f;

        if ((r = sign_revocation_list_key(&k, x, i)) != 0) {
            goto out;
        }
        at += (size_t)snprintf(r_revtext + at, 4096 - at, "%s %d %lld %d %s %d;", k.key_id, k.has_effective,
                               (long long)k.effective, (int)k.reason, k.comment != NULL ? k.comment : "-",
                               sign_revocation_list_find_key(&f, x, k.key_id));
    }
    for (size_t i = 0; i < sign_revocation_list_artifact_count(x); i++) {
        sign_revoked_artifact a;

        sign_revocation_list_artifact(&a, x, i);
        at += (size_t)snprintf(r_revtext + at, 4096 - at, "%02x %s %s %d;", a.sha256[0],
                               a.name != NULL ? a.name : "-", a.comment != NULL ? a.comment : "-",
                               sign_revocation_list_find_artifact(NULL, x, a.sha256));
    }
    r = sign_revocation_list_covers(x, l);
out:
    if (r != 0) {
        free(r_revtext);
        r_revtext = NULL;
    }
    sign_revocation_list_free(x);
    sign_revocation_list_free(l);
    free(ix);
    return r;
}

/* ---- PKCS#11: a SoftHSM2 token behind tests/torture/p11wrap.c ------------------------ */

#define P11_URI "pkcs11:token=torture;object=ed25519"
static char p_p11conf[600], p_p11mod[600];
static sign_key *r_tkey;

static int p11_pin(char *buf, size_t size, int confirm, void *userdata)
{
    (void)confirm;
    (void)userdata;
    if (size < 4) {
        return -1;
    }
    memcpy(buf, "1234", 4);
    return 4;
}

static int run_sign_pkcs11(void)
{
    sign_pkcs11_options po = SIGN_PKCS11_OPTIONS_INIT;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    const char *arts[1];
    int r;

    po.module = p_p11mod;
    po.pin_cb = p11_pin;
    if ((r = sign_pkcs11_key_load(&r_tkey, P11_URI, &po)) != 0) {
        return r;
    }
    arts[0] = p_file;
    o.key = r_tkey;
    o.artifacts = arts;
    o.nartifacts = 1;
    o.output = p_out;
    o.created = 1700000000;
    return sign_sign(&r_bundle, &r_arts, &o);
}
static void done_sign_pkcs11(char *fp, size_t fpsize)
{
    done_sign(fp, fpsize);
    sign_key_free(r_tkey); /* logs out and closes the session: disarmed */
    r_tkey = NULL;
}

/* A token "torture" (SO PIN 5678, user PIN 1234) with an Ed25519 key, in dir/softhsm. */
static void setup_pkcs11(void)
{
    sign_pkcs11_options po = SIGN_PKCS11_OPTIONS_INIT;
    CK_C_GetFunctionList getfl;
    CK_FUNCTION_LIST *f = NULL;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_SESSION_HANDLE s;
    CK_UTF8CHAR label[32];
    char exe[512], conf[800];
    sign_key *k = NULL;
    ssize_t len;
    void *dl, *sym;

    snprintf(p_p11conf, sizeof(p_p11conf), "%s/softhsm", dir);
    snprintf(conf, sizeof(conf), "%s/tokens", p_p11conf);
    if (mkdir(p_p11conf, 0700) != 0 || mkdir(conf, 0700) != 0) {
        die("softhsm dir");
    }
    snprintf(conf, sizeof(conf), "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
             p_p11conf);
    snprintf(p_p11conf + strlen(p_p11conf), sizeof(p_p11conf) - strlen(p_p11conf), "/softhsm2.conf");
    write_text(p_p11conf, conf);
    setenv("SOFTHSM2_CONF", p_p11conf, 1);
    if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0) {
        die("readlink /proc/self/exe");
    }
    exe[len] = '\0';
    snprintf(p_p11mod, sizeof(p_p11mod), "%.*s/torture-p11.so", (int)(strrchr(exe, '/') - exe), exe);
    /* the token, with the module's own API (unarmed) */
    memset(label, ' ', sizeof(label));
    memcpy(label, "torture", 7);
    if ((dl = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL)) == NULL ||
        (sym = dlsym(dl, "C_GetFunctionList")) == NULL) {
        die("softhsm2 (.ci/deps test)");
    }
    memcpy(&getfl, &sym, sizeof(getfl));
    if (getfl(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK || f->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK ||
        n == 0 || f->C_InitToken(slots[0], (CK_UTF8CHAR *)"5678", 4, label) != CKR_OK ||
        (n = 16, f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK || n == 0 ||
        f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)"5678", 4) != CKR_OK ||
        f->C_InitPIN(s, (CK_UTF8CHAR *)"1234", 4) != CKR_OK || f->C_Logout(s) != CKR_OK ||
        f->C_CloseSession(s) != CKR_OK || f->C_Finalize(NULL) != CKR_OK) {
        die("softhsm2 token");
    }
    po.module = p_p11mod;
    po.pin_cb = p11_pin;
    if (sign_pkcs11_keygen(&k, P11_URI, SIGN_KEY_ED25519, 0, &po) != 0) {
        fprintf(stderr, "torture: %s\n", sign_error_last());
        die("keygen on the token");
    }
    sign_key_free(k);
}

static const op ops[] = {
    {"sign-file", run_sign_file, done_sign, 1, 0, 0},
    {"sign-zip", run_sign_zip, done_sign, 1, 0, 0},
    {"scan-zip", run_scan_zip, done_scan, 0, 0, 0},
    {"scan-layer", run_scan_layer, done_scan, 0, 0, 0},
    {"verify-file", run_verify_file, done_verify, 0, 0, 0},
    {"verify-zip", run_verify_zip, done_verify, 0, 0, 0},
    {"verify-tampered", run_verify_tampered, done_verify, 0, 1, 0},
    {"policy-load", run_policy_load, done_policy, 0, 0, 0},
    {"bundle-read", run_bundle_read, done_bundle, 0, 0, 0},
    {"key-load-private", run_key_private, done_key, 0, 0, 0},
    {"key-load-encrypted", run_key_encrypted, done_key, 0, 0, 1},
    {"key-load-public", run_key_public, done_key, 0, 0, 0},
    {"timestamp-verify", run_timestamp_verify, done_timestamp, 0, 0, 0},
    {"timestamp-parse", run_timestamp_parse, done_timestamp, 0, 0, 0},
    {"scan-oci", run_scan_oci, done_scan_image, 0, 0, 0},
    {"scan-docker", run_scan_docker, done_scan_image, 0, 0, 0},
    {"sign-oci", run_sign_oci, done_sign, 1, 0, 0},
    {"verify-oci", run_verify_oci, done_verify_checks, 0, 0, 0},
    {"verify-tree", run_verify_tree, done_verify_checks, 0, 0, 0},
    {"x509-verify", run_x509_verify, done_x509, 0, 0, 0},
    {"policy-load-pki", run_policy_load_pki, done_policy_pki, 0, 0, 0},
    {"trusted-root-load", run_trusted_root, done_trusted_root, 0, 0, 0},
    {"verify-cert", run_verify_cert, done_verify_checks, 0, 0, 0},
    {"verify-sigstore", run_verify_sigstore, done_verify_checks, 0, 0, 0},
    {"source-collect", run_source, done_source, 0, 0, 0},
    {"log-add", run_log_add, done_log, 0, 0, 0},
    {"revocation-parse", run_revocation_parse, done_revocation, 0, 0, 0},
    {"revocation-index", run_revocation_index, done_revocation, 0, 0, 0},
    {"sign-pkcs11", run_sign_pkcs11, done_sign_pkcs11, 1, 0, 0},
    {"deploy-zip", run_deploy_zip, done_deploy, 0, 0, 0},
    {"deploy-image", run_deploy_image, done_deploy, 0, 0, 0},
};

/* ---- the loop -------------------------------------------------------------------------- */

static int known_code(int r)
{
    return r < 0 && strcmp(sign_strerror(r), "unknown error") != 0;
}

static void bug(const op *o, long n, int src, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void bug(const op *o, long n, int src, const char *fmt, ...)
{
    va_list ap;

    failures++;
    fprintf(stderr, "torture: FAIL %s, allocation %ld (%s%s%s): ", o->name, n, src >= 0 ? src_name[src] : "none",
            tt_where[0] != '\0' ? " " : "", tt_where);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  rerun with: TORTURE_N=%ld %s %s\n", n, "build-torture/torture", o->name);
}

/*
 * A failure point that failed cleanly but for another reason than the allocation: a verdict ("signature
 * does not verify", "signer not trusted", "revoked", "malformed input") where the host ran short of memory.
 * It fails closed, but a deploy hook would log a forgery and an auditor would class the artifact as
 * tampered. Every operation is strict: a wrong reason fails the run, unless TORTURE_REASONS=report asks
 * for it to be printed and counted instead.
 */
static int reasons_loose(void)
{
    return loose_reasons > 0;
}

static void wrong_reason(const op *o, long n, int src, int r, const char *msg)
{
    if (!reasons_loose()) {
        bug(o, n, src, "returned %d (%s), not out of memory: %s", r, sign_strerror(r), msg);
        return;
    }
    fprintf(stderr, "torture: REASON %s, allocation %ld (%s%s%s): %d (%s): %s\n", o->name, n,
            src >= 0 ? src_name[src] : "none", tt_where[0] != '\0' ? " " : "", tt_where, r, sign_strerror(r), msg);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One armed run failing allocation n (0: none). Returns the code. */
#define STALE_MESSAGE "torture: the stale message of an earlier failure"

static int run_once(const op *o, long n, long *seen, int *src, long by_src[NSRC])
{
    int r;

    /* An earlier failure's message: a failure of the operation must replace it (docs/torture.md). */
    sign__error(SIGN_EPARSE, "%s", STALE_MESSAGE);
    tt_arm(n);
    r = o->run();
    tt_disarm();
    *seen = atomic_load(&tt_seen);
    *src = atomic_load(&tt_failed_src);
    if (by_src != NULL) {
        for (int i = 0; i < NSRC; i++) {
            by_src[i] = atomic_load(&tt_by_src[i]);
        }
    }
    return r;
}

static void torture_op(const op *o, long only)
{
    static char ref[20000], fp[20000];
    char msg[1100], left[256];
    long total, seen, by_src[NSRC], n, points = 0, absorbed = 0, wrong = 0, codes[32] = {0};
    int r, src, ref_code;
    double t0 = now_s();

    /* Warm up (OpenSSL and libarchive initialise themselves once), then count. */
    tt_disarm();
    r = o->run();
    ref_code = r;
    ref[0] = '\0';
    o->done(ref, sizeof(ref));
    if ((r == 0) == (o->must_fail != 0)) {
        bug(o, 0, -1, "unexpected result without any failure: %d (%s)", r, sign_error_last());
        return;
    }
    if (o->must_fail) {
        snprintf(ref, sizeof(ref), "(must fail)");
    }
    r = run_once(o, 0, &total, &src, by_src);
    fp[0] = '\0';
    o->done(fp, sizeof(fp));
    if (!o->must_fail && (r != 0 || strcmp(fp, ref) != 0)) {
        bug(o, 0, -1, "second run differs: %d (%s): %s vs %s", r, sign_error_last(), fp, ref);
        return;
    }

    for (n = only > 0 ? only : 1;; n++) {
        atomic_store(&tt_trace, only > 0);
        r = run_once(o, n, &seen, &src, NULL);
        atomic_store(&tt_trace, 0);
        snprintf(msg, sizeof(msg), "%s", sign_error_last());
        fp[0] = '\0';
        o->done(fp, sizeof(fp));
        if (only > 0) {
            fprintf(stderr, "torture: %s, allocation %ld: %d %s: %s\n", o->name, n, r, sign_strerror(r), msg);
        }
        if (seen < n) {
            /* Past the last allocation: the operation must now give the reference result. */
            if (o->must_fail ? r == 0 : (r != 0 || strcmp(fp, ref) != 0)) {
                bug(o, n, -1, "no failure injected, yet %d (%s): %s", r, msg, fp);
            }
            break;
        }
        points++;
        if (o->writes_output && outdir_entries(left, sizeof(left)) != 0) {
            bug(o, n, src, "returned %d and left %s in the output directory", r, left);
            unlink(p_out);
        }
        if (r == 0) {
            /* An allocation failed and the operation succeeded: only with the reference result. */
            if (o->must_fail || strcmp(fp, ref) != 0) {
                bug(o, n, src, "succeeded with a different result: %s (reference %s)", fp, ref);
            } else {
                absorbed++;
            }
        } else if (!known_code(r)) {
            bug(o, n, src, "returned %d, not a SIGN_E* code", r);
        } else if (msg[0] == '\0') {
            bug(o, n, src, "returned %d (%s) with an empty sign_error_last()", r, sign_strerror(r));
        } else if (strstr(msg, STALE_MESSAGE) != NULL) {
            bug(o, n, src, "returned %d (%s) and left the stale message of an earlier failure: %s", r,
                sign_strerror(r), msg);
        } else {
            codes[-r < 32 ? -r : 31]++;
            if (r != SIGN_ENOMEM && r != ref_code) {
                /* The reason must be the allocation that failed, not a verdict on the input (docs/torture.md). */
                wrong++;
                wrong_reason(o, n, src, r, msg);
            }
        }
        if (leak_each && __lsan_do_recoverable_leak_check() != 0) {
            bug(o, n, src, "leak (LeakSanitizer report above)");
        }
        if (progress) {
            fprintf(stderr, "torture: %s, allocation %ld (%s): %d\n", o->name, n, src >= 0 ? src_name[src] : "none",
                    r);
        }
        if (only > 0) {
            return;
        }
        if (n > 200000) {
            bug(o, n, src, "does not terminate");
            break;
        }
    }
    if (points == 0) {
        bug(o, n, -1, "no allocation failure was exercised");
    }
    if (!leak_each && __lsan_do_recoverable_leak_check() != 0) {
        bug(o, n, -1, "leak (LeakSanitizer report above); TORTURE_LEAKCHECK=each finds the allocation");
    }
    printf("torture: %-18s %5ld failure points (libsign %ld, OpenSSL %ld, jansson %ld; libarchive+zlib %ld %s",
           o->name, points, by_src[SRC_SIGN], by_src[SRC_OPENSSL], by_src[SRC_JANSSON], by_src[SRC_ARCHIVE],
           fail_archive ? "failed too" : "counted only");
    if (by_src[SRC_MODULE] != 0) {
        printf("; PKCS#11 module %ld counted only", by_src[SRC_MODULE]);
    }
    printf("), %ld absorbed, %ld wrong reasons%s, %.1f s; codes:", absorbed, wrong,
           wrong > 0 && reasons_loose() ? " (reported, not failed)" : "", now_s() - t0);
    for (int c = 1; c < 32; c++) {
        if (codes[c] != 0) {
            printf(" %s %ld", sign_strerror(-c), codes[c]);
        }
    }
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *only_s = getenv("TORTURE_N");
    long only = only_s != NULL ? strtol(only_s, NULL, 10) : 0;
    double t0;

    if (CRYPTO_set_mem_functions(tt_ossl_malloc, tt_ossl_realloc, tt_ossl_free) != 1) {
        fprintf(stderr, "torture: CRYPTO_set_mem_functions refused (OpenSSL allocated already)\n");
        return 2;
    }
    json_set_alloc_funcs(tt_json_malloc, tt_json_free);
    leak_each = getenv("TORTURE_LEAKCHECK") != NULL && strcmp(getenv("TORTURE_LEAKCHECK"), "each") == 0;
    progress = getenv("TORTURE_PROGRESS") != NULL;
    if (getenv("TORTURE_REASONS") != NULL) {
        /* "strict" (the default) or anything else: every wrong reason fails. */
        loose_reasons = strcmp(getenv("TORTURE_REASONS"), "report") == 0;
    }
    fail_archive = getenv("TORTURE_ARCHIVE") != NULL;
    setup();
    setup_pkcs11();
    t0 = now_s();
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        int wanted = argc <= 1 && (!ops[i].slow || getenv("TORTURE_ALL") != NULL);

        for (int a = 1; a < argc; a++) {
            wanted |= strcmp(argv[a], ops[i].name) == 0;
        }
        if (wanted) {
            torture_op(&ops[i], only);
        }
    }
    teardown();
    printf("torture: %s, %.1f s\n", failures == 0 ? "all clean" : "FAILURES", now_s() - t0);
    return failures == 0 ? 0 : 1;
}
