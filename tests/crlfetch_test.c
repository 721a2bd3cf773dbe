/*
 * Online revocation (--fetch-crl): CRLs fetched from the certificates'
 * distribution points, served by a tiny HTTP server on 127.0.0.1 (ephemeral
 * port, a thread of this process) from CRLs made at test time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "pkigen.h"
#include "testutil.h"

#define CF_DAY 86400

/* What the server answers, for every path. */
typedef enum { CF_OK, CF_STATUS, CF_SLOW, CF_BIG_LENGTH, CF_BIG_ASN1, CF_REDIRECT } cf_mode;

typedef struct cf_server {
    int lfd;
    int port;
    pthread_t th;
    atomic_int stop;
    atomic_int connections;
    pthread_mutex_t mu;
    cf_mode mode;
    int status;
    int delay_ms;
    unsigned char *body;
    size_t len;
    char last_path[256];
} cf_server;

static cf_server cf_srv;
static char *cf_dir;
static char *cf_out, *cf_err;
static pkigen_cert *cf_root, *cf_int, *cf_leaf;
static int64_t cf_now;
static char cf_url[128];

static void cf_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* the client went away: fine */
        }
        p += n;
        len -= (size_t)n;
    }
}

static void cf_serve_one(cf_server *s, int fd)
{
    char req[4096], head[512];
    size_t used = 0;
    int waited = 0;

    /* The request head, up to the blank line (bounded in size and time). */
    while (used + 1 < sizeof(req) && waited < 3000 && !atomic_load(&s->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, 50) <= 0) {
            waited += 50;
            continue;
        }
        if ((n = recv(fd, req + used, sizeof(req) - 1 - used, 0)) <= 0) {
            break;
        }
        used += (size_t)n;
        req[used] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) {
            break;
        }
    }
    req[used] = '\0';
    pthread_mutex_lock(&s->mu);
    if (sscanf(req, "GET %255s ", s->last_path) != 1) {
        s->last_path[0] = '\0';
    }
    switch (s->mode) {
    case CF_OK:
        snprintf(head, sizeof(head),
                 "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: %zu\r\n\r\n", s->len);
        cf_send_all(fd, head, strlen(head));
        cf_send_all(fd, s->body, s->len);
        break;
    case CF_STATUS:
        snprintf(head, sizeof(head), "HTTP/1.0 %d Oops\r\nContent-Length: 5\r\n\r\noops\n", s->status);
        cf_send_all(fd, head, strlen(head));
        break;
    case CF_SLOW: {
        int delay = s->delay_ms;

        pthread_mutex_unlock(&s->mu);
        for (int t = 0; t < delay && !atomic_load(&s->stop); t += 20) {
            usleep(20000);
        }
        pthread_mutex_lock(&s->mu);
        snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", s->len);
        cf_send_all(fd, head, strlen(head));
        cf_send_all(fd, s->body, s->len);
        break;
    }
    case CF_BIG_LENGTH: {
        /* Announces 17 MiB; sends a little and then closes. */
        static const unsigned char der[] = {0x30, 0x84, 0x01, 0x10, 0x00, 0x00};

        snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %u\r\n\r\n", 17u * 1024u * 1024u);
        cf_send_all(fd, head, strlen(head));
        cf_send_all(fd, der, sizeof(der));
        break;
    }
    case CF_BIG_ASN1: {
        /* No Content-Length; the DER header claims 17 MiB. */
        static const unsigned char der[] = {0x30, 0x84, 0x01, 0x10, 0x00, 0x00, 0x30, 0x00};

        snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n\r\n");
        cf_send_all(fd, head, strlen(head));
        cf_send_all(fd, der, sizeof(der));
        break;
    }
    case CF_REDIRECT:
        snprintf(head, sizeof(head),
                 "HTTP/1.0 302 Found\r\nLocation: http://127.0.0.2:%d/elsewhere.crl\r\nContent-Length: 0\r\n\r\n",
                 s->port);
        cf_send_all(fd, head, strlen(head));
        break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *cf_thread(void *arg)
{
    cf_server *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        int fd;

        if (poll(&p, 1, 50) <= 0) {
            continue;
        }
        if ((fd = accept(s->lfd, NULL, NULL)) < 0) {
            continue;
        }
        atomic_fetch_add(&s->connections, 1);
        cf_serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

static void cf_server_start(cf_server *s)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s->lfd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s->lfd, 16), 0);
    cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->th, NULL, cf_thread, s), 0);
}

static void cf_server_stop(cf_server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    free(s->body);
    s->body = NULL;
    pthread_mutex_destroy(&s->mu);
}

/* Serve crl (DER) with 200. */
static void cf_serve_crl(X509_CRL *crl)
{
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);

    cr_assert(n > 0);
    pthread_mutex_lock(&cf_srv.mu);
    free(cf_srv.body);
    cf_srv.body = malloc((size_t)n);
    memcpy(cf_srv.body, der, (size_t)n);
    cf_srv.len = (size_t)n;
    cf_srv.mode = CF_OK;
    pthread_mutex_unlock(&cf_srv.mu);
    OPENSSL_free(der);
}

static void cf_serve_bytes(cf_mode mode, const void *data, size_t len, int status, int delay_ms)
{
    pthread_mutex_lock(&cf_srv.mu);
    free(cf_srv.body);
    cf_srv.body = malloc(len + 1);
    memcpy(cf_srv.body, data, len);
    cf_srv.len = len;
    cf_srv.mode = mode;
    cf_srv.status = status;
    cf_srv.delay_ms = delay_ms;
    pthread_mutex_unlock(&cf_srv.mu);
}

static char *cf_p(const char *name)
{
    return tu_path(cf_dir, name);
}

static int cf_run(const char *a0, ...)
{
    const char *argv[40];
    va_list ap;
    size_t n = 0;

    argv[n++] = "signet";
    argv[n++] = a0;
    va_start(ap, a0);
    while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL) {
        n++;
    }
    va_end(ap);
    argv[n] = NULL;
    free(cf_out);
    free(cf_err);
    cf_out = cf_err = NULL;
    return tu_run(&cf_out, &cf_err, NULL, argv);
}

/*
 * Root -> intermediate -> leaf; the leaf's CRL distribution point is the
 * server's /int.crl. Policy: the root, the intermediate, no CRLs. The
 * artifact is signed with the leaf.
 */
static void cf_setup(void)
{
    pkigen_cert_opts ro = {.cn = "CF Root", .ca = 1}, io = {.cn = "CF Intermediate", .ca = 1};
    pkigen_cert_opts lo = {.cn = "Release Signing CF"};
    const pkigen_cert *chain[1];
    char *p, *k, *c, *b, *a;

    cf_server_start(&cf_srv);
    cf_dir = tu_mkdtemp();
    cf_now = (int64_t)time(NULL);
    snprintf(cf_url, sizeof(cf_url), "http://127.0.0.1:%d/int.crl", cf_srv.port);
    ro.not_before = cf_now - 3650 * CF_DAY;
    ro.not_after = cf_now + 3650 * CF_DAY;
    io.not_before = cf_now - 365 * CF_DAY;
    io.not_after = cf_now + 365 * CF_DAY;
    lo.crl_url = cf_url;
    cf_root = pkigen_cert_new(&ro, NULL);
    cf_int = pkigen_cert_new(&io, cf_root);
    cf_leaf = pkigen_cert_new(&lo, cf_int);
    chain[0] = cf_root;
    p = cf_p("root.pem");
    pkigen_write_certs(p, chain, 1);
    free(p);
    chain[0] = cf_int;
    p = cf_p("int.pem");
    pkigen_write_certs(p, chain, 1);
    free(p);
    chain[0] = cf_leaf;
    p = cf_p("leaf.pem");
    pkigen_write_certs(p, chain, 1);
    free(p);
    k = cf_p("leaf.key");
    pkigen_write_key(k, cf_leaf);
    p = cf_p("policy.json");
    tu_write_str(p, "{\"version\":1,\"mode\":\"enforce\",\"roots\":[{\"name\":\"corp\",\"certificates\":\"root.pem\","
                    "\"intermediates\":\"int.pem\"}]}");
    free(p);
    a = cf_p("app.bin");
    tu_write_str(a, "release bytes\n");
    c = cf_p("leaf.pem");
    b = cf_p("b.json");
    cr_assert_eq(cf_run("sign", "-k", k, "--cert", c, "-o", b, a, NULL), 0, "sign: %s", cf_err);
    free(k);
    free(c);
    free(b);
    free(a);
}

static void cf_teardown(void)
{
    cf_server_stop(&cf_srv);
    pkigen_cert_free(cf_root);
    pkigen_cert_free(cf_int);
    pkigen_cert_free(cf_leaf);
    free(cf_out);
    free(cf_err);
    cf_out = cf_err = NULL;
    tu_rmtree(cf_dir);
    free(cf_dir);
}

/* signet verify --json [--fetch-crl --crl-cache DIR/cache] [extra...]; at may be NULL. */
static int cf_verify(int fetch, const char *at, const char *extra)
{
    char *p = cf_p("policy.json"), *b = cf_p("b.json"), *a = cf_p("app.bin"), *cache = cf_p("cache");
    const char *argv[20];
    size_t n = 0;
    int rc;

    argv[n++] = "signet";
    argv[n++] = "verify";
    argv[n++] = "--json";
    argv[n++] = "-p";
    argv[n++] = p;
    argv[n++] = "-b";
    argv[n++] = b;
    if (fetch) {
        argv[n++] = "--fetch-crl";
        argv[n++] = "--crl-cache";
        argv[n++] = cache;
    }
    if (at != NULL) {
        argv[n++] = "--at";
        argv[n++] = at;
    }
    if (extra != NULL) {
        argv[n++] = "--crl-timeout";
        argv[n++] = extra;
    }
    argv[n++] = a;
    argv[n] = NULL;
    free(cf_out);
    free(cf_err);
    cf_out = cf_err = NULL;
    rc = tu_run(&cf_out, &cf_err, NULL, argv);
    free(p);
    free(b);
    free(a);
    free(cache);
    return rc;
}

static void cf_expect(int rc, int want_rc, const char *reason)
{
    char pat[128];

    cr_assert_eq(rc, want_rc, "exit %d, want %d: %s %s", rc, want_rc, cf_out, cf_err);
    snprintf(pat, sizeof(pat), "\"reason\":\"%s\"", reason);
    cr_assert(cf_out != NULL && strstr(cf_out, pat) != NULL, "want %s in %s", reason, cf_out);
}

/* The cache file of url: DIR/cache/<sha256 hex>.crl. */
static char *cf_cache_file(const char *url)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char name[80], *dir = cf_p("cache"), *p;

    cr_assert_eq(EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned int i = 0; i < mdlen; i++) {
        snprintf(name + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(name + 2 * mdlen, sizeof(name) - 2 * mdlen, ".crl");
    p = tu_path(dir, name);
    free(dir);
    return p;
}

static X509_CRL *cf_int_crl(const pkigen_crl_entry *e, size_t n, int64_t this_update, int64_t next_update)
{
    return pkigen_crl_new(cf_int, NULL, this_update, next_update, e, n, NULL);
}

Test(crlfetch, fetch_ok_verifies, .init = cf_setup, .fini = cf_teardown)
{
    pkigen_crl_entry other = {.serial = 999999, .revoked_at = 0, .reason = -1};
    X509_CRL *crl;

    other.revoked_at = cf_now - CF_DAY;
    crl = cf_int_crl(&other, 1, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    cf_serve_crl(crl);
    cf_expect(cf_verify(1, NULL, NULL), 0, "OK");
    cr_assert(strstr(cf_out, "\"verified\":true") != NULL, "%s", cf_out);
    cr_assert(strstr(cf_out, "online revocation") != NULL && strstr(cf_out, "(fetched)") != NULL, "%s", cf_out);
    cr_assert_eq(atomic_load(&cf_srv.connections), 1);
    cr_assert_str_eq(cf_srv.last_path, "/int.crl");
    X509_CRL_free(crl);
}

Test(crlfetch, revoked_leaf_fails_exit_5, .init = cf_setup, .fini = cf_teardown)
{
    pkigen_crl_entry e = {.serial = pkigen_serial(cf_leaf), .reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *crl;

    e.revoked_at = cf_now - CF_DAY;
    crl = cf_int_crl(&e, 1, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    cf_serve_crl(crl);
    cf_expect(cf_verify(1, NULL, NULL), 5, "CERT_REVOKED");
    cr_assert(strstr(cf_out, "\"verified\":false") != NULL, "%s", cf_out);
    /* The same CRL from the cache still revokes (no second fetch needed). */
    cf_expect(cf_verify(1, NULL, NULL), 5, "CERT_REVOKED");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1);
    X509_CRL_free(crl);
}

Test(crlfetch, cache_hit_makes_no_request, .init = cf_setup, .fini = cf_teardown)
{
    X509_CRL *crl = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    char *cached = cf_cache_file(cf_url);

    cf_serve_crl(crl);
    cf_expect(cf_verify(1, NULL, NULL), 0, "OK");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1);
    cr_assert(tu_exists(cached), "cache file %s", cached);
    cf_expect(cf_verify(1, NULL, NULL), 0, "OK");
    cr_assert(strstr(cf_out, "(cached)") != NULL, "%s", cf_out);
    cf_expect(cf_verify(1, NULL, NULL), 0, "OK");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1, "fresh cache: no request");
    free(cached);
    X509_CRL_free(crl);
}

Test(crlfetch, stale_cache_is_refetched, .init = cf_setup, .fini = cf_teardown)
{
    X509_CRL *old = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 3600);
    pkigen_crl_entry e = {.serial = pkigen_serial(cf_leaf), .reason = CRL_REASON_SUPERSEDED};
    X509_CRL *fresh;
    char at[32];

    cf_serve_crl(old);
    cf_expect(cf_verify(1, NULL, NULL), 0, "OK");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1);
    /* Two hours later the cached CRL is past nextUpdate: it is fetched again, and the new one revokes. */
    e.revoked_at = cf_now + 1800;
    fresh = cf_int_crl(&e, 1, cf_now + 3600, cf_now + 7 * CF_DAY);
    cf_serve_crl(fresh);
    cr_assert_eq(sign_format_time(at, sizeof(at), cf_now + 7200), 0);
    cf_expect(cf_verify(1, at, NULL), 5, "CERT_REVOKED");
    cr_assert_eq(atomic_load(&cf_srv.connections), 2, "stale cache: one new request");
    /* ... and the cache now holds the new CRL (no request while it is fresh). */
    cf_expect(cf_verify(1, at, NULL), 5, "CERT_REVOKED");
    cr_assert_eq(atomic_load(&cf_srv.connections), 2);
    X509_CRL_free(old);
    X509_CRL_free(fresh);
}

Test(crlfetch, stale_crl_from_server_is_crl_stale, .init = cf_setup, .fini = cf_teardown)
{
    X509_CRL *crl = cf_int_crl(NULL, 0, cf_now - 8 * CF_DAY, cf_now - CF_DAY);
    char *cached = cf_cache_file(cf_url);

    cf_serve_crl(crl);
    cf_expect(cf_verify(1, NULL, NULL), 6, "CRL_STALE");
    cr_assert(!tu_exists(cached), "a stale CRL is not cached");
    free(cached);
    X509_CRL_free(crl);
}

Test(crlfetch, http_404_and_500_fail, .init = cf_setup, .fini = cf_teardown)
{
    cf_serve_bytes(CF_STATUS, "", 0, 404, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "HTTP status 404") != NULL, "%s", cf_out);
    /* A fetch failure is not a revocation: an availability error (exit 2) whose summary never says revoked. */
    cr_assert(cf_err != NULL && strstr(cf_err, "revoked") == NULL, "%s", cf_err);
    cr_assert(strstr(cf_out, cf_url) != NULL, "names the URL: %s", cf_out);
    cf_serve_bytes(CF_STATUS, "", 0, 500, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "HTTP status 500") != NULL, "%s", cf_out);
    cr_assert_eq(atomic_load(&cf_srv.connections), 2);
}

Test(crlfetch, slow_server_times_out, .init = cf_setup, .fini = cf_teardown)
{
    X509_CRL *crl = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    long long t0, dt;

    cf_serve_bytes(CF_SLOW, der, (size_t)n, 200, 8000);
    t0 = tu_now_us();
    cf_expect(cf_verify(1, NULL, "1"), 2, "CRL_FETCH_FAILED");
    dt = tu_now_us() - t0;
    cr_assert(strstr(cf_out, "timed out") != NULL, "%s", cf_out);
    /* 1 s limit: never cut short, kept to the millisecond (the whole verify: 1.1 s), far below the server's 8 s. */
    cr_assert(dt >= 900000, "gave up before the limit: %lld us", dt);
    cr_assert(dt < 3000000, "took %lld us", dt);
    OPENSSL_free(der);
    X509_CRL_free(crl);
}

Test(crlfetch, oversize_response_refused, .init = cf_setup, .fini = cf_teardown)
{
    cf_serve_bytes(CF_BIG_LENGTH, "", 0, 200, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "too large") != NULL, "%s", cf_out);
    cf_serve_bytes(CF_BIG_ASN1, "", 0, 200, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "too large") != NULL, "%s", cf_out);
}

Test(crlfetch, garbage_body_refused, .init = cf_setup, .fini = cf_teardown)
{
    static const unsigned char almost[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    char *cached = cf_cache_file(cf_url);

    cf_serve_bytes(CF_OK, "<html>not a CRL</html>", 22, 200, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "not a DER CRL") != NULL || strstr(cf_out, "not a CRL") != NULL, "%s", cf_out);
    /* Well-formed DER, but not a CRL. */
    cf_serve_bytes(CF_OK, almost, sizeof(almost), 200, 0);
    cf_expect(cf_verify(1, NULL, NULL), 2, "CRL_FETCH_FAILED");
    cr_assert(strstr(cf_out, "not a CRL") != NULL, "%s", cf_out);
    cr_assert(!tu_exists(cached));
    free(cached);
}

Test(crlfetch, crl_signed_by_another_issuer, .init = cf_setup, .fini = cf_teardown)
{
    pkigen_cert_opts oo = {.cn = "CF Impostor", .ca = 1};
    pkigen_cert *other = pkigen_cert_new(&oo, NULL);
    X509_CRL *forged = pkigen_crl_new(cf_int, other, cf_now - CF_DAY, cf_now + 7 * CF_DAY, NULL, 0, NULL);
    X509_CRL *foreign = pkigen_crl_new(other, NULL, cf_now - CF_DAY, cf_now + 7 * CF_DAY, NULL, 0, NULL);
    char *cached = cf_cache_file(cf_url);

    /* Names the intermediate, signed by another key. */
    cf_serve_crl(forged);
    cf_expect(cf_verify(1, NULL, NULL), 5, "CRL_SIGNATURE_INVALID");
    cr_assert(!tu_exists(cached), "a forged CRL is never cached");
    /* Another issuer's CRL altogether. */
    cf_serve_crl(foreign);
    cf_expect(cf_verify(1, NULL, NULL), 5, "CRL_SIGNATURE_INVALID");
    cr_assert(strstr(cf_out, "CN=CF Impostor") != NULL, "%s", cf_out);
    cr_assert(!tu_exists(cached));
    X509_CRL_free(forged);
    X509_CRL_free(foreign);
    pkigen_cert_free(other);
    free(cached);
}

Test(crlfetch, forged_cache_file_is_not_used, .init = cf_setup, .fini = cf_teardown)
{
    pkigen_cert_opts oo = {.cn = "CF Impostor", .ca = 1};
    pkigen_cert *other = pkigen_cert_new(&oo, NULL);
    X509_CRL *forged = pkigen_crl_new(cf_int, other, cf_now - CF_DAY, cf_now + 700 * CF_DAY, NULL, 0, NULL);
    pkigen_crl_entry e = {.serial = pkigen_serial(cf_leaf), .reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *real;
    char *cached = cf_cache_file(cf_url), *dir = cf_p("cache");

    /* Someone with write access to the cache plants a CRL that says nothing is revoked. */
    cr_assert_eq(mkdir(dir, 0700), 0);
    pkigen_write_crl(cached, forged, 1);
    e.revoked_at = cf_now - CF_DAY;
    real = cf_int_crl(&e, 1, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    cf_serve_crl(real);
    cf_expect(cf_verify(1, NULL, NULL), 5, "CERT_REVOKED");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1, "the planted file was not trusted: fetched");
    X509_CRL_free(forged);
    X509_CRL_free(real);
    pkigen_cert_free(other);
    free(cached);
    free(dir);
}

Test(crlfetch, without_fetch_crl_no_connection, .init = cf_setup, .fini = cf_teardown)
{
    pkigen_crl_entry e = {.serial = pkigen_serial(cf_leaf), .reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *crl;
    char *cache = cf_p("cache");

    e.revoked_at = cf_now - CF_DAY;
    crl = cf_int_crl(&e, 1, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    cf_serve_crl(crl);
    /* The leaf names a distribution point (the listening server), and it is revoked there... */
    cf_expect(cf_verify(0, NULL, NULL), 0, "OK");
    cf_expect(cf_verify(0, NULL, NULL), 0, "OK");
    /* ... but without --fetch-crl nothing connected to it, and no cache was made. */
    usleep(100000);
    cr_assert_eq(atomic_load(&cf_srv.connections), 0);
    cr_assert(!tu_exists(cache));
    /* The same server is reachable: with --fetch-crl the revocation is seen. */
    cf_expect(cf_verify(1, NULL, NULL), 5, "CERT_REVOKED");
    cr_assert_eq(atomic_load(&cf_srv.connections), 1);
    X509_CRL_free(crl);
    free(cache);
}

Test(crlfetch, usage_errors, .init = cf_setup, .fini = cf_teardown)
{
    char *p = cf_p("policy.json"), *b = cf_p("b.json"), *a = cf_p("app.bin");

    cr_assert_eq(cf_run("verify", "-p", p, "-b", b, "--crl-cache", "/tmp/x", a, NULL), 2);
    cr_assert(strstr(cf_err, "--fetch-crl") != NULL, "%s", cf_err);
    cr_assert_eq(cf_run("verify", "-p", p, "-b", b, "--fetch-crl", "--crl-timeout", "0", a, NULL), 2);
    cr_assert_eq(cf_run("verify", "-p", p, "-b", b, "--fetch-crl", "--crl-timeout", "10x", a, NULL), 2);
    cr_assert_eq(cf_run("verify", "-p", p, "-b", b, "--fetch-crl", "--crl-timeout", "601", a, NULL), 2);
    cr_assert_eq(atomic_load(&cf_srv.connections), 0);
    free(p);
    free(b);
    free(a);
}

/* ---- library level: combination with policy CRLs, schemes, redirects, refused ---- */

static int cf_lib_verify(sign_x509_result *res, const char *leaf_url, X509_CRL *policy_crl, const char *cache,
                         unsigned int timeout_ms)
{
    pkigen_cert_opts lo = {.cn = "Release Signing Lib", .crl_url = leaf_url};
    pkigen_cert *leaf = leaf_url != NULL ? pkigen_cert_new(&lo, cf_int) : NULL;
    const pkigen_cert *c[1] = {leaf != NULL ? leaf : cf_leaf};
    sign_x509_certs *chain = pkigen_certs(c, 1);
    sign_x509_certs *roots = pkigen_certs((const pkigen_cert *const *)&cf_root, 1);
    sign_x509_certs *ints = pkigen_certs((const pkigen_cert *const *)&cf_int, 1);
    sign_x509_crls *crls = policy_crl != NULL ? pkigen_crls(&policy_crl, 1) : NULL;
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;
    int r;

    t.roots = roots;
    t.intermediates = ints;
    t.crls = crls;
    o.flags = SIGN_X509_FETCH_CRL;
    o.crl_cache_dir = cache;
    o.crl_timeout_ms = timeout_ms;
    r = sign_x509_verify(res, chain, &t, &o);
    sign_x509_certs_free(chain);
    sign_x509_certs_free(roots);
    sign_x509_certs_free(ints);
    sign_x509_crls_free(crls);
    pkigen_cert_free(leaf);
    return r;
}

Test(crlfetch, policy_and_fetched_crls_combine, .init = cf_setup, .fini = cf_teardown)
{
    sign_x509_result res;
    pkigen_crl_entry e = {.serial = pkigen_serial(cf_leaf), .reason = CRL_REASON_KEY_COMPROMISE};
    X509_CRL *policy_old, *fetched_new, *policy_revokes, *fetched_clean, *root_crl;

    e.revoked_at = cf_now - 3 * CF_DAY;
    root_crl = pkigen_crl_new(cf_root, NULL, cf_now - CF_DAY, cf_now + 7 * CF_DAY, NULL, 0, NULL);
    /* A stale policy CRL alone would fail; a newer fetched one decides freshness. */
    policy_old = cf_int_crl(NULL, 0, cf_now - 9 * CF_DAY, cf_now - 2 * CF_DAY);
    fetched_new = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
    cf_serve_crl(fetched_new);
    cr_assert_eq(cf_lib_verify(&res, NULL, policy_old, NULL, 2000), SIGN_EREVOKED, "%s", res.message);
    cr_assert_str_eq(res.reason, "CRL_MISSING", "%s", res.message); /* the root's CRL is not named */
    {
        /* With the root's CRL too. */
        X509_CRL *two[2] = {policy_old, root_crl};
        sign_x509_crls *crls = pkigen_crls(two, 2);
        const pkigen_cert *c[1] = {cf_leaf};
        sign_x509_certs *chain = pkigen_certs(c, 1);
        sign_x509_certs *roots = pkigen_certs((const pkigen_cert *const *)&cf_root, 1);
        sign_x509_certs *ints = pkigen_certs((const pkigen_cert *const *)&cf_int, 1);
        sign_x509_trust t = SIGN_X509_TRUST_INIT;
        sign_x509_verify_options o = SIGN_X509_VERIFY_OPTIONS_INIT;

        t.roots = roots;
        t.intermediates = ints;
        t.crls = crls;
        cr_assert_eq(sign_x509_verify(&res, chain, &t, &o), SIGN_EEXPIRED, "offline: the policy CRL is stale");
        cr_assert_str_eq(res.reason, "CRL_STALE");
        o.flags = SIGN_X509_FETCH_CRL;
        cr_assert_eq(sign_x509_verify(&res, chain, &t, &o), 0, "%s", res.message);
        cr_assert(strstr(res.note, "fetched") != NULL, "%s", res.note);
        /* Entries from all: the (older) policy CRL revokes even though the fetched one is clean. */
        policy_revokes = cf_int_crl(&e, 1, cf_now - 2 * CF_DAY, cf_now + 7 * CF_DAY);
        fetched_clean = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 7 * CF_DAY);
        sign_x509_crls_free(crls);
        two[0] = policy_revokes;
        crls = pkigen_crls(two, 2);
        t.crls = crls;
        cf_serve_crl(fetched_clean);
        cr_assert_eq(sign_x509_verify(&res, chain, &t, &o), SIGN_EREVOKED, "%s", res.message);
        cr_assert_str_eq(res.reason, "CERT_REVOKED");
        /* A policy CRL forged for the issuer still fails, whatever the fetched one says. */
        {
            pkigen_cert_opts oo = {.cn = "CF Impostor", .ca = 1};
            pkigen_cert *other = pkigen_cert_new(&oo, NULL);
            X509_CRL *forged = pkigen_crl_new(cf_int, other, cf_now - CF_DAY, cf_now + 7 * CF_DAY, NULL, 0, NULL);

            sign_x509_crls_free(crls);
            two[0] = forged;
            crls = pkigen_crls(two, 2);
            t.crls = crls;
            cr_assert_eq(sign_x509_verify(&res, chain, &t, &o), SIGN_EREVOKED);
            cr_assert_str_eq(res.reason, "CRL_SIGNATURE_INVALID", "%s", res.message);
            X509_CRL_free(forged);
            pkigen_cert_free(other);
        }
        sign_x509_crls_free(crls);
        sign_x509_certs_free(chain);
        sign_x509_certs_free(roots);
        sign_x509_certs_free(ints);
        X509_CRL_free(policy_revokes);
        X509_CRL_free(fetched_clean);
    }
    X509_CRL_free(policy_old);
    X509_CRL_free(fetched_new);
    X509_CRL_free(root_crl);
}

Test(crlfetch, schemes_redirects_and_refused, .init = cf_setup, .fini = cf_teardown)
{
    sign_x509_result res;
    char url[160];
    int closed_port;

    /* Only http:// is fetched: ldap:// and https:// are refused with a note, never a pass. */
    cr_assert_eq(
        cf_lib_verify(&res, "ldap://ldap.example/cn=CF%20Intermediate?certificateRevocationList", NULL, NULL, 2000),
        SIGN_ENETWORK);
    cr_assert_str_eq(res.reason, "CRL_FETCH_FAILED", "%s", res.message);
    cr_assert(strstr(res.message, "only http://") != NULL, "%s", res.message);
    cr_assert_eq(cf_lib_verify(&res, "https://127.0.0.1:1/int.crl", NULL, NULL, 2000), SIGN_ENETWORK);
    cr_assert(strstr(res.message, "only http://") != NULL, "%s", res.message);
    /* A redirect is not followed (here to another host). */
    cf_serve_bytes(CF_REDIRECT, "", 0, 302, 0);
    cr_assert_eq(cf_lib_verify(&res, cf_url, NULL, NULL, 2000), SIGN_ENETWORK);
    cr_assert_str_eq(res.reason, "CRL_FETCH_FAILED");
    cr_assert(strstr(res.message, "redirect") != NULL, "%s", res.message);
    cr_assert_eq(atomic_load(&cf_srv.connections), 1, "nothing followed the redirect");
    /* A closed port: connection refused. */
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        socklen_t alen = sizeof(a);

        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        closed_port = ntohs(a.sin_port);
        close(fd); /* bound, never listening, now closed */
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/int.crl", closed_port);
    cr_assert_eq(cf_lib_verify(&res, url, NULL, NULL, 2000), SIGN_ENETWORK);
    cr_assert(strstr(res.message, "refused") != NULL, "%s", res.message);
    /* The second distribution point is tried when the first fails. */
    {
        char two[400];
        X509_CRL *crl = cf_int_crl(NULL, 0, cf_now - CF_DAY, cf_now + 7 * CF_DAY);

        snprintf(two, sizeof(two), "%s,URI:%s", url, cf_url);
        cf_serve_crl(crl);
        cr_assert_eq(cf_lib_verify(&res, two, NULL, NULL, 2000), 0, "%s", res.message);
        cr_assert(strstr(res.note, cf_url) != NULL, "%s", res.note);
        X509_CRL_free(crl);
    }
}

Test(crlfetch, version_1_options_still_accepted, .init = cf_setup, .fini = cf_teardown)
{
    /* A version 1 caller's struct ends at signing_time: no fetch, no network. */
    struct {
        unsigned int version;
        int64_t at;
        const int64_t *signing_time;
    } v1 = {1, 0, NULL};
    const pkigen_cert *c[1] = {cf_leaf};
    sign_x509_certs *chain = pkigen_certs(c, 1);
    sign_x509_certs *roots = pkigen_certs((const pkigen_cert *const *)&cf_root, 1);
    sign_x509_certs *ints = pkigen_certs((const pkigen_cert *const *)&cf_int, 1);
    sign_x509_trust t = SIGN_X509_TRUST_INIT;
    sign_x509_verify_options bad = SIGN_X509_VERIFY_OPTIONS_INIT;
    sign_x509_result res;

    t.roots = roots;
    t.intermediates = ints;
    cr_assert_eq(sign_x509_verify(&res, chain, &t, (const sign_x509_verify_options *)(const void *)&v1), 0, "%s",
                 res.message);
    cr_assert_eq(atomic_load(&cf_srv.connections), 0);
    bad.version = SIGN_X509_VERIFY_OPTIONS_VERSION + 1;
    cr_assert_eq(sign_x509_verify(&res, chain, &t, &bad), SIGN_EINVAL);
    sign_x509_certs_free(chain);
    sign_x509_certs_free(roots);
    sign_x509_certs_free(ints);
}
