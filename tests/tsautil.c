/* Test helpers for RFC 3161 (see tsautil.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "tsautil.h"

static void tsa_write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char *p;
    FILE *f;

    p = tu_path(dir, name);
    {
        size_t n = strlen(p) + 5;
        char *cp = malloc(n), *kp = malloc(n);

        snprintf(cp, n, "%s.pem", p);
        snprintf(kp, n, "%s.key", p);
        f = fopen(cp, "w");
        cr_assert_not_null(f);
        cr_assert(PEM_write_X509(f, x));
        fclose(f);
        f = fopen(kp, "w");
        cr_assert_not_null(f);
        cr_assert(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
        fclose(f);
        free(cp);
        free(kp);
    }
    free(p);
}

static void tsa_read_pem(const char *dir, const char *name, X509 **x, EVP_PKEY **k)
{
    char *p = tu_path(dir, name);
    size_t n = strlen(p) + 5;
    char *cp = malloc(n), *kp = malloc(n);
    FILE *f;

    snprintf(cp, n, "%s.pem", p);
    snprintf(kp, n, "%s.key", p);
    f = fopen(cp, "r");
    cr_assert_not_null(f, "%s", cp);
    *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(kp, "r");
    cr_assert_not_null(f, "%s", kp);
    *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert(*x != NULL && *k != NULL);
    free(cp);
    free(kp);
    free(p);
}

static void tsa_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    cr_assert_not_null(e, "extension %s", value);
    cr_assert(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

static X509 *tsa_new_cert(EVP_PKEY *k, const char *cn, int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    unsigned char sn[8];

    cr_assert_not_null(x);
    X509_set_version(x, 2);
    RAND_bytes(sn, sizeof(sn));
    sn[0] &= 0x7f;
    {
        BIGNUM *bn = BN_bin2bn(sn, sizeof(sn), NULL);

        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
        BN_free(bn);
    }
    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &(time_t){(time_t)nb});
    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &(time_t){(time_t)na});
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_pubkey(x, k);
    return x;
}

void tsa_gen_root(const char *dir, const char *name)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    int64_t now = (int64_t)time(NULL);
    char cn[128];
    X509 *x;

    cr_assert_not_null(k);
    snprintf(cn, sizeof(cn), "signet test TSA root %s", name);
    x = tsa_new_cert(k, cn, now - 3650 * 86400LL, now + 3650 * 86400LL);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    tsa_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    tsa_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    tsa_add_ext(x, x, NID_subject_key_identifier, "hash");
    cr_assert(X509_sign(x, k, EVP_sha256()));
    tsa_write_pem(dir, name, x, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

void tsa_gen_leaf(const char *dir, const char *name, const char *root, int64_t not_before, int64_t not_after, int eku)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *rk = NULL;
    X509 *rx = NULL, *x;
    char cn[128];

    cr_assert_not_null(k);
    tsa_read_pem(dir, root, &rx, &rk);
    snprintf(cn, sizeof(cn), "signet test TSA %s", name);
    x = tsa_new_cert(k, cn, not_before, not_after);
    X509_set_issuer_name(x, X509_get_subject_name(rx));
    tsa_add_ext(x, rx, NID_basic_constraints, "critical,CA:FALSE");
    tsa_add_ext(x, rx, NID_key_usage, "critical,digitalSignature");
    if (eku == TSA_EKU_CRITICAL) {
        tsa_add_ext(x, rx, NID_ext_key_usage, "critical,timeStamping");
    } else if (eku == TSA_EKU_NOT_CRITICAL) {
        tsa_add_ext(x, rx, NID_ext_key_usage, "timeStamping");
    }
    tsa_add_ext(x, rx, NID_authority_key_identifier, "keyid:always");
    cr_assert(X509_sign(x, rk, EVP_sha256()));
    tsa_write_pem(dir, name, x, k);
    X509_free(x);
    X509_free(rx);
    EVP_PKEY_free(k);
    EVP_PKEY_free(rk);
}

void tsa_gen_tls_leaf(const char *dir, const char *name, const char *root)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *rk = NULL;
    X509 *rx = NULL, *x;
    int64_t now = (int64_t)time(NULL);

    cr_assert_not_null(k);
    tsa_read_pem(dir, root, &rx, &rk);
    x = tsa_new_cert(k, "127.0.0.1", now - 3600, now + 86400);
    X509_set_issuer_name(x, X509_get_subject_name(rx));
    tsa_add_ext(x, rx, NID_basic_constraints, "critical,CA:FALSE");
    tsa_add_ext(x, rx, NID_ext_key_usage, "serverAuth");
    tsa_add_ext(x, rx, NID_subject_alt_name, "IP:127.0.0.1");
    cr_assert(X509_sign(x, rk, EVP_sha256()));
    tsa_write_pem(dir, name, x, k);
    X509_free(x);
    X509_free(rx);
    EVP_PKEY_free(k);
    EVP_PKEY_free(rk);
}

char *tsa_std_pki(void)
{
    char *dir = tu_mkdtemp();
    int64_t now = (int64_t)time(NULL);

    tsa_gen_root(dir, "root");
    tsa_gen_leaf(dir, "tsa", "root", now - 86400, now + 86400, TSA_EKU_CRITICAL);
    return dir;
}

static char *tsa_server_bin(void)
{
    const char *bin = getenv("SIGNET_BIN");
    const char *slash;
    char *p;
    size_t n;

    cr_assert_not_null(bin, "SIGNET_BIN is not set (run through make test)");
    slash = strrchr(bin, '/');
    n = (slash != NULL ? (size_t)(slash - bin) : 1) + sizeof("/signet-tsa-test-server");
    p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%.*s/signet-tsa-test-server", slash != NULL ? (int)(slash - bin) : 1, slash != NULL ? bin : ".");
    cr_assert(access(p, X_OK) == 0, "%s is not built (make build/signet-tsa-test-server)", p);
    return p;
}

static void tsa_server_run(tsa_server *s, const char *dir, const char *cert, const char *fault, const char *at,
                           const char *tls);

void tsa_server_start(tsa_server *s, const char *dir, const char *cert, const char *fault, const char *at)
{
    tsa_server_run(s, dir, cert, fault, at, NULL);
}

void tsa_server_start_tls(tsa_server *s, const char *dir, const char *cert, const char *tls)
{
    tsa_server_run(s, dir, cert, NULL, NULL, tls);
}

static void tsa_server_run(tsa_server *s, const char *dir, const char *cert, const char *fault, const char *at,
                           const char *tls)
{
    char *bin = tsa_server_bin(), *base = tu_path(dir, cert);
    size_t n = strlen(base) + 5;
    char *cp = malloc(n), *kp = malloc(n), *tbase = tls != NULL ? tu_path(dir, tls) : NULL;
    size_t tn = tbase != NULL ? strlen(tbase) + 5 : 1;
    char *tcp = malloc(tn), *tkp = malloc(tn);
    int in[2], out[2];
    const char *argv[16];
    int a = 0;
    size_t used = 0;

    snprintf(cp, n, "%s.pem", base);
    snprintf(kp, n, "%s.key", base);
    argv[a++] = bin;
    argv[a++] = "--cert";
    argv[a++] = cp;
    argv[a++] = "--key";
    argv[a++] = kp;
    if (fault != NULL) {
        argv[a++] = "--fault";
        argv[a++] = fault;
    }
    if (at != NULL) {
        argv[a++] = "--time";
        argv[a++] = at;
    }
    if (tbase != NULL) {
        snprintf(tcp, tn, "%s.pem", tbase);
        snprintf(tkp, tn, "%s.key", tbase);
        argv[a++] = "--tls-cert";
        argv[a++] = tcp;
        argv[a++] = "--tls-key";
        argv[a++] = tkp;
    }
    argv[a] = NULL;
    cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    s->pid = fork();
    cr_assert(s->pid >= 0);
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in = in[1];
    memset(s->url, 0, sizeof(s->url));
    while (used + 1 < sizeof(s->url)) {
        ssize_t r = read(out[0], s->url + used, 1);

        if (r <= 0 || s->url[used] == '\n') {
            break;
        }
        used++;
    }
    s->url[used] = '\0';
    close(out[0]);
    cr_assert(strncmp(s->url, tls != NULL ? "https://127.0.0.1:" : "http://127.0.0.1:", tls != NULL ? 18 : 17) == 0,
              "the test TSA did not start (got \"%s\")", s->url);
    free(tbase);
    free(tcp);
    free(tkp);
    free(bin);
    free(base);
    free(cp);
    free(kp);
}

void tsa_server_stop(tsa_server *s)
{
    int st;

    if (s == NULL || s->pid <= 0) {
        return;
    }
    close(s->in);
    for (int i = 0; i < 200; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
}
