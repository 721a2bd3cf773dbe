/*
 * The HTTP client (libsign/net/http.c) against a small server of this test:
 * a thread of this process on 127.0.0.1, ephemeral port, plain or TLS (a
 * self-signed certificate made here), stopped by each test's .fini (also when
 * the test fails). What it answers depends on the path asked for.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "sign/sign.h"
#include "testutil.h"

typedef struct nt_server {
    int lfd, port;
    pthread_t th;
    int running;
    atomic_int stop;
    atomic_int connections;
    SSL_CTX *tls;
    pthread_mutex_t mu;
    char method[16], path[512], auth[256], host[256], ctype[128];
    char body[4096];
    size_t body_len;
} nt_server;

static nt_server nt_srv, nt_srv2;
static char *nt_dir;

/* ---- the server ---------------------------------------------------------------- */

typedef struct nt_io {
    int fd;
    SSL *ssl;
} nt_io;

static void nt_send(nt_io *io, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = io->ssl != NULL ? SSL_write(io->ssl, p, (int)len) : send(io->fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR && io->ssl == NULL) {
            continue;
        }
        if (n <= 0) {
            return; /* the client went away: fine */
        }
        p += n;
        len -= (size_t)n;
    }
}

static void nt_sendf(nt_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void nt_sendf(nt_io *io, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    nt_send(io, buf, (size_t)n);
}

static ssize_t nt_recv(nt_io *io, char *buf, size_t n)
{
    return io->ssl != NULL ? SSL_read(io->ssl, buf, (int)n) : recv(io->fd, buf, n, 0);
}

/* Header value of name in the request head (or ""), into out. */
static void nt_header(const char *head, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *end;

            while (*v == ' ') {
                v++;
            }
            end = strstr(v, "\r\n");
            snprintf(out, size, "%.*s", (int)(end != NULL ? end - v : (long)strlen(v)), v);
            return;
        }
    }
}

/* Read the request (head and Content-Length body) into s; 0 when one arrived. */
static int nt_read_request(nt_server *s, nt_io *io)
{
    char req[8192], clen[32];
    size_t used = 0, hlen;
    char *end = NULL;
    long want;

    while (used + 1 < sizeof(req) && (end = strstr(req, "\r\n\r\n")) == NULL) {
        ssize_t n = nt_recv(io, req + used, sizeof(req) - 1 - used);

        if (n <= 0) {
            return -1;
        }
        used += (size_t)n;
        req[used] = '\0';
    }
    if (end == NULL) {
        return -1;
    }
    hlen = (size_t)(end - req) + 4;
    end[2] = '\0';
    pthread_mutex_lock(&s->mu);
    if (sscanf(req, "%15s %511s ", s->method, s->path) != 2) {
        s->method[0] = s->path[0] = '\0';
    }
    nt_header(req, "Authorization", s->auth, sizeof(s->auth));
    nt_header(req, "Host", s->host, sizeof(s->host));
    nt_header(req, "Content-Type", s->ctype, sizeof(s->ctype));
    nt_header(req, "Content-Length", clen, sizeof(clen));
    want = clen[0] != '\0' ? strtol(clen, NULL, 10) : 0;
    if (want < 0 || want >= (long)sizeof(s->body)) {
        want = 0;
    }
    s->body_len = used - hlen < (size_t)want ? used - hlen : (size_t)want;
    memcpy(s->body, req + hlen, s->body_len);
    while (s->body_len < (size_t)want) {
        ssize_t n = nt_recv(io, s->body + s->body_len, (size_t)want - s->body_len);

        if (n <= 0) {
            break;
        }
        s->body_len += (size_t)n;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Wait until the client closes or the server stops: a server that never answers. */
static void nt_hang(nt_server *s, nt_io *io)
{
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {io->fd, POLLIN, 0};
        char b[256];

        if (poll(&p, 1, 50) > 0 && nt_recv(io, b, sizeof(b)) <= 0) {
            return;
        }
    }
}

static void nt_redirect(nt_io *io, int status, const char *location)
{
    nt_sendf(io, "HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", status, location);
}

/* The answer for s->path. */
static void nt_answer(nt_server *s, nt_io *io)
{
    const char *p = s->path;
    char loc[256];

    if (strcmp(p, "/hello") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
    } else if (strcmp(p, "/echo") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s %s ",
                 strlen(s->method) + 1 + strlen(s->ctype) + 1 + s->body_len, s->method, s->ctype);
        nt_send(io, s->body, s->body_len);
    } else if (strcmp(p, "/chunked") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nhel\r\n6;ext=1\r\nlo wor\r\n2\r\nld\r\n0\r\nX-Trailer: yes\r\n\r\n");
    } else if (strcmp(p, "/slow") == 0) {
        nt_hang(s, io);
    } else if (strcmp(p, "/slow-body") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
        nt_hang(s, io);
    } else if (strcmp(p, "/trunc-len") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    } else if (strcmp(p, "/trunc-chunk") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    } else if (strcmp(p, "/big-len") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nxxxx");
    } else if (strcmp(p, "/big-chunked") == 0 || strcmp(p, "/big-close") == 0) {
        static char block[8192];
        int chunked = strcmp(p, "/big-chunked") == 0;

        memset(block, 'x', sizeof(block));
        nt_sendf(io, chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" : "HTTP/1.0 200 OK\r\n\r\n");
        for (int i = 0; i < 128 && !atomic_load(&s->stop); i++) {
            if (chunked) {
                nt_sendf(io, "%zx\r\n", sizeof(block));
            }
            nt_send(io, block, sizeof(block));
            if (chunked) {
                nt_send(io, "\r\n", 2);
            }
        }
    } else if (strncmp(p, "/status/", 8) == 0) {
        nt_sendf(io, "HTTP/1.1 %s Something\r\nContent-Length: 4\r\n\r\nnope", p + 8);
    } else if (strcmp(p, "/www-auth") == 0) {
        nt_sendf(io,
                 "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\"\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(p, "/redir") == 0) {
        nt_redirect(io, 302, "/hello");
    } else if (strcmp(p, "/redir-rel/a/b") == 0) {
        nt_redirect(io, 301, "c");
    } else if (strcmp(p, "/redir-rel/a/c") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nrelative");
    } else if (strcmp(p, "/loop1") == 0 || strcmp(p, "/loop2") == 0) {
        nt_redirect(io, 307, strcmp(p, "/loop1") == 0 ? "/loop2" : "/loop1");
    } else if (strcmp(p, "/cross") == 0) {
        snprintf(loc, sizeof(loc), "http://localhost:%d/auth", s->port);
        nt_redirect(io, 302, loc);
    } else if (strcmp(p, "/same") == 0) {
        nt_redirect(io, 308, "/auth");
    } else if (strcmp(p, "/auth") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\nauth=%s",
                 5 + strlen(s->auth[0] ? s->auth : "none"), s->auth[0] ? s->auth : "none");
    } else if (strcmp(p, "/to-http") == 0) {
        snprintf(loc, sizeof(loc), "http://127.0.0.1:%d/hello", nt_srv2.port);
        nt_redirect(io, 302, loc);
    } else if (strcmp(p, "/post-303") == 0) {
        nt_redirect(io, 303, "/echo");
    } else if (strcmp(p, "/garbage") == 0) {
        nt_sendf(io, "HELLO THERE\r\n\r\n");
    } else if (strcmp(p, "/smuggle") == 0) {
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    } else if (strcmp(p, "/stream") == 0) {
        static char block[10000];

        memset(block, 'y', sizeof(block));
        nt_sendf(io, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", 10 * sizeof(block));
        for (int i = 0; i < 10; i++) {
            nt_send(io, block, sizeof(block));
        }
    } else {
        nt_sendf(io, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
}

static void nt_serve_one(nt_server *s, int fd)
{
    nt_io io = {fd, NULL};
    struct timeval tv = {5, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (s->tls != NULL) {
        if ((io.ssl = SSL_new(s->tls)) == NULL || SSL_set_fd(io.ssl, fd) != 1 || SSL_accept(io.ssl) != 1) {
            SSL_free(io.ssl);
            ERR_clear_error();
            return; /* e.g. the client refused the certificate */
        }
    }
    if (nt_read_request(s, &io) == 0) {
        nt_answer(s, &io);
    }
    if (io.ssl != NULL) {
        SSL_shutdown(io.ssl);
        SSL_free(io.ssl);
    }
    ERR_clear_error();
}

static void *nt_thread(void *arg)
{
    nt_server *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        int fd;

        if (poll(&p, 1, 50) <= 0 || (fd = accept(s->lfd, NULL, NULL)) < 0) {
            continue;
        }
        atomic_fetch_add(&s->connections, 1);
        nt_serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

/* Listen on 127.0.0.1, an ephemeral port; serve on a thread (TLS with tls, taken over). */
static void nt_start(nt_server *s, SSL_CTX *tls)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->tls = tls;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s->lfd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s->lfd, 16), 0);
    cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->th, NULL, nt_thread, s), 0);
    s->running = 1;
}

static void nt_stop(nt_server *s)
{
    if (!s->running) {
        return;
    }
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    SSL_CTX_free(s->tls);
    pthread_mutex_destroy(&s->mu);
    s->running = 0;
}

static void nt_setup(void)
{
    nt_dir = tu_mkdtemp();
    memset(&nt_srv, 0, sizeof(nt_srv));
    memset(&nt_srv2, 0, sizeof(nt_srv2));
    nt_start(&nt_srv, NULL);
}

static void nt_teardown(void)
{
    nt_stop(&nt_srv);
    nt_stop(&nt_srv2);
    tu_rmtree(nt_dir);
    free(nt_dir);
}

/* ---- TLS material ----------------------------------------------------------------- */

/* A self-signed certificate for the subjectAltName san ("DNS:localhost,IP:127.0.0.1"), written to dir/name.pem. */
static SSL_CTX *nt_tls_ctx(const char *name, const char *san)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    SSL_CTX *ctx;
    char file[64], *path;
    FILE *f;

    cr_assert(key != NULL && x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"net test", -1,
                               -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    cr_assert(ext != NULL);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
    snprintf(file, sizeof(file), "%s.pem", name);
    path = tu_path(nt_dir, file);
    f = fopen(path, "w");
    cr_assert(f != NULL);
    PEM_write_X509(f, x);
    fclose(f);
    free(path);
    ctx = SSL_CTX_new(TLS_server_method());
    cr_assert(ctx != NULL && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

/* ---- helpers --------------------------------------------------------------------------- */

static char nt_url_buf[512];

/* http[s]://127.0.0.1:PORT/path of s. */
static const char *nt_url(const nt_server *s, const char *path)
{
    snprintf(nt_url_buf, sizeof(nt_url_buf), "%s://127.0.0.1:%d%s", s->tls != NULL ? "https" : "http", s->port, path);
    return nt_url_buf;
}

static int nt_get(sign__http_response *r, const char *url, const sign__http_options *o)
{
    return sign__http_request(r, "GET", url, NULL, 0, o);
}

static void nt_expect(int got, int want, const char *url, const char *words)
{
    cr_assert_eq(got, want, "got %d, wanted %d: %s", got, want, sign_error_last());
    cr_assert(strstr(sign_error_last(), url) != NULL, "the message does not name %s: %s", url, sign_error_last());
    cr_assert(strstr(sign_error_last(), words) != NULL, "\"%s\" lacks \"%s\"", sign_error_last(), words);
}

/* ---- roundtrips ------------------------------------------------------------------------ */

Test(net, get_and_post_roundtrip, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    const char *url = nt_url(&nt_srv, "/hello");

    cr_assert_eq(nt_get(&r, url, NULL), 0, "%s", sign_error_last());
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 5);
    cr_assert_str_eq((char *)r.body, "hello");
    cr_assert_str_eq(r.content_type, "text/plain");
    cr_assert_eq(r.content_length, 5);
    cr_assert_str_eq(r.url, url);
    cr_assert_str_eq(nt_srv.method, "GET");
    cr_assert(strncmp(url + 7, nt_srv.host, strlen(nt_srv.host)) == 0 && url[7 + strlen(nt_srv.host)] == '/',
              "Host: %s", nt_srv.host);
    sign__http_response_free(&r);

    o.content_type = "application/x-test";
    cr_assert_eq(sign__http_request(&r, "POST", nt_url(&nt_srv, "/echo"), "ping\0pong", 9, &o), 0, "%s",
                 sign_error_last());
    cr_assert_eq(r.body_len, 4 + 1 + 18 + 1 + 9);
    cr_assert(memcmp(r.body, "POST application/x-test ping\0pong", r.body_len) == 0, "%s", (char *)r.body);
    sign__http_response_free(&r);
    /* An empty POST still says Content-Length: 0. */
    cr_assert_eq(sign__http_request(&r, "POST", nt_url(&nt_srv, "/echo"), NULL, 0, NULL), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "POST  ");
    sign__http_response_free(&r);
    cr_assert_eq(atomic_load(&nt_srv.connections), 3);
}

Test(net, chunked_body, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_response r;

    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/chunked"), NULL), 0, "%s", sign_error_last());
    cr_assert_eq(r.body_len, 11);
    cr_assert_str_eq((char *)r.body, "hello world");
    cr_assert_eq(r.content_length, -1);
    sign__http_response_free(&r);
}

typedef struct nt_sink {
    size_t bytes, calls;
    int fail_after;
} nt_sink;

static int nt_on_body(void *arg, const unsigned char *data, size_t len)
{
    nt_sink *k = arg;

    for (size_t i = 0; i < len; i++) {
        cr_assert_eq(data[i], 'y');
    }
    k->bytes += len;
    k->calls++;
    if (k->fail_after > 0 && k->bytes >= (size_t)k->fail_after) {
        return SIGN_EIO; /* the caller's own failure, returned as is */
    }
    return 0;
}

Test(net, streamed_body_is_not_buffered, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    nt_sink k = {0, 0, 0};

    o.on_body = nt_on_body;
    o.arg = &k;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/stream"), &o), 0, "%s", sign_error_last());
    cr_assert_null(r.body);
    cr_assert_eq(k.bytes, 100000);
    cr_assert(k.calls >= 2, "%zu calls", k.calls);
    sign__http_response_free(&r);
    /* The cap applies to a streamed body too. */
    memset(&k, 0, sizeof(k));
    o.max_body = 50000;
    nt_expect(nt_get(&r, nt_url(&nt_srv, "/stream"), &o), SIGN_ELIMIT, nt_url(&nt_srv, "/stream"), "too large");
    cr_assert(k.bytes <= 50000, "%zu bytes passed on", k.bytes);
    sign__http_response_free(&r);
    /* A callback's failure ends the request with its code. */
    memset(&k, 0, sizeof(k));
    k.fail_after = 20000;
    o.max_body = 0;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/stream"), &o), SIGN_EIO);
    cr_assert(k.bytes < 100000);
    sign__http_response_free(&r);
}

Test(net, selected_headers_of_a_refused_status, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;

    nt_expect(nt_get(&r, nt_url(&nt_srv, "/www-auth"), NULL), SIGN_EHTTP, nt_url(&nt_srv, "/www-auth"),
              "HTTP status 401 (Unauthorized)");
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(r.www_authenticate, "Bearer realm=\"x\"");
    cr_assert_null(r.body);
    sign__http_response_free(&r);
    /* SIGN__HTTP_ANY_STATUS: the caller takes any status, with its body. */
    o.flags = SIGN__HTTP_ANY_STATUS;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/status/404"), &o), 0, "%s", sign_error_last());
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq((char *)r.body, "nope");
    sign__http_response_free(&r);
    /* ... and, following none, a redirect as it is. */
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/redir"), &o), 0, "%s", sign_error_last());
    cr_assert_eq(r.status, 302);
    cr_assert_str_eq(r.location, "/hello");
    cr_assert_eq(r.body_len, 0);
    cr_assert_eq(atomic_load(&nt_srv.connections), 3, "the redirect was not followed");
    sign__http_response_free(&r);
}

/* ---- failures ----------------------------------------------------------------------------- */

Test(net, slow_server_hits_the_total_deadline, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    long long t0, took;
    char url[128];

    o.timeout_ms = 1000;
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/slow"));
    t0 = tu_now_us();
    nt_expect(nt_get(&r, url, &o), SIGN_ETIMEOUT, url, "timed out after 1 s waiting for the response");
    took = tu_now_us() - t0;
    cr_assert(took >= 950000 && took < 4000000, "the 1 s deadline took %lld us", took);
    sign__http_response_free(&r);
    /* A body that stops coming: the same deadline. */
    o.timeout_ms = 700;
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/slow-body"));
    t0 = tu_now_us();
    nt_expect(nt_get(&r, url, &o), SIGN_ETIMEOUT, url, "timed out after 700 ms reading the response body");
    took = tu_now_us() - t0;
    cr_assert(took >= 650000 && took < 4000000, "the 700 ms deadline took %lld us", took);
    sign__http_response_free(&r);
}

Test(net, connect_deadline_when_the_server_does_not_accept, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), filler[8], nfill = 0;
    long long t0, took;
    char url[128];
    int rc;

    /* A listener that never accepts, its queue filled: the kernel drops further SYNs. */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(lfd, 0), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    for (; nfill < 8; nfill++) {
        filler[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(filler[nfill], (struct sockaddr *)&a, sizeof(a));
    }
    usleep(100000);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    o.connect_timeout_ms = 500;
    o.timeout_ms = 5000;
    t0 = tu_now_us();
    rc = nt_get(&r, url, &o);
    took = tu_now_us() - t0;
    nt_expect(rc, SIGN_ETIMEOUT, url, "timed out after 500 ms connecting");
    cr_assert(took >= 450000 && took < 4000000, "the 500 ms connect deadline took %lld us", took);
    sign__http_response_free(&r);
    for (int i = 0; i < nfill; i++) {
        close(filler[i]);
    }
    close(lfd);
}

Test(net, truncated_bodies, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_response r;
    char url[128];

    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/trunc-len"));
    nt_expect(nt_get(&r, url, NULL), SIGN_ENETWORK, url, "closed the connection after 10 of the 100 bytes");
    cr_assert_null(r.body);
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/trunc-chunk"));
    nt_expect(nt_get(&r, url, NULL), SIGN_ENETWORK, url, "in the middle of a chunk");
    cr_assert_null(r.body);
    sign__http_response_free(&r);
}

Test(net, oversize_response_is_capped, .init = nt_setup, .fini = nt_teardown)
{
    static const char *const paths[] = {"/big-len", "/big-chunked", "/big-close"};
    sign__http_options o = {0};
    sign__http_response r;
    char url[128];

    o.max_body = 100000;
    for (size_t i = 0; i < 3; i++) {
        snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, paths[i]));
        nt_expect(nt_get(&r, url, &o), SIGN_ELIMIT, url, "response too large (over the 100000-byte cap");
        cr_assert_null(r.body);
        sign__http_response_free(&r);
    }
    /* The same with a cap that fits: the whole body. */
    o.max_body = 2u * 1024 * 1024;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/big-close"), &o), 0, "%s", sign_error_last());
    cr_assert_eq(r.body_len, 128u * 8192);
    sign__http_response_free(&r);
}

Test(net, wrong_status_names_status_and_url, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_response r;
    char url[128];

    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/status/404"));
    nt_expect(nt_get(&r, url, NULL), SIGN_EHTTP, url, "HTTP status 404 (Something)");
    cr_assert_eq(r.status, 404);
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/status/500"));
    nt_expect(nt_get(&r, url, NULL), SIGN_EHTTP, url, "HTTP status 500");
    cr_assert_eq(r.status, 500);
    sign__http_response_free(&r);
}

Test(net, refused_and_malformed_answers, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_response r;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[128];

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd); /* bound, never listening, now closed */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    nt_expect(nt_get(&r, url, NULL), SIGN_ENETWORK, url, "connection refused");
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/garbage"));
    nt_expect(nt_get(&r, url, NULL), SIGN_EPARSE, url, "is not HTTP/1.x");
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/smuggle"));
    nt_expect(nt_get(&r, url, NULL), SIGN_EPARSE, url, "both Transfer-Encoding and Content-Length");
    sign__http_response_free(&r);
}

/* ---- redirects ------------------------------------------------------------------------------ */

Test(net, redirect_refused_by_default, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_response r;
    char url[128];

    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/redir"));
    nt_expect(nt_get(&r, url, NULL), SIGN_EHTTP, url, "redirected to /hello (HTTP status 302)");
    cr_assert_eq(r.status, 302);
    cr_assert_str_eq(r.location, "/hello");
    cr_assert_eq(atomic_load(&nt_srv.connections), 1, "nothing followed the redirect");
    sign__http_response_free(&r);
}

Test(net, redirect_followed_when_allowed, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    char want[128];

    o.max_redirects = 3;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/redir"), &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "hello");
    snprintf(want, sizeof(want), "%s", nt_url(&nt_srv, "/hello"));
    cr_assert_str_eq(r.url, want);
    sign__http_response_free(&r);
    /* A relative Location. */
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/redir-rel/a/b"), &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "relative");
    sign__http_response_free(&r);
    /* 303 after a POST: GET without the body. */
    cr_assert_eq(sign__http_request(&r, "POST", nt_url(&nt_srv, "/post-303"), "data", 4, &o), 0, "%s",
                 sign_error_last());
    cr_assert_str_eq((char *)r.body, "GET  ", "%s", (char *)r.body);
    sign__http_response_free(&r);
    /* The hop limit. */
    o.max_redirects = 1;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/cross"), &o), 0, "%s", sign_error_last());
    sign__http_response_free(&r);
}

Test(net, redirect_loop_refused, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    char url[128];

    o.max_redirects = 10;
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv, "/loop1"));
    cr_assert_eq(nt_get(&r, url, &o), SIGN_EHTTP);
    cr_assert(strstr(sign_error_last(), "redirect loop") != NULL, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "/loop1") != NULL, "%s", sign_error_last());
    cr_assert_eq(atomic_load(&nt_srv.connections), 2, "loop1, loop2, then the loop is seen");
    sign__http_response_free(&r);
    /* Too many hops (each new) is refused too. */
    o.max_redirects = 1;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/redir-rel/a/b"), &o), 0, "%s", sign_error_last());
    sign__http_response_free(&r);
    o.max_redirects = 0;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/redir-rel/a/b"), &o), SIGN_EHTTP);
    sign__http_response_free(&r);
    o.max_redirects = 1;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/loop1"), &o), SIGN_EHTTP);
    cr_assert(strstr(sign_error_last(), "more than 1 redirects") != NULL, "%s", sign_error_last());
    sign__http_response_free(&r);
}

Test(net, cross_host_redirect_drops_authorization, .init = nt_setup, .fini = nt_teardown)
{
    static const sign__http_header auth[] = {{"Authorization", "Bearer s3cret"}, {"X-Other", "kept"}};
    sign__http_options o = {0};
    sign__http_response r;

    o.max_redirects = 2;
    o.headers = auth;
    o.nheaders = 2;
    /* Same host: the credentials go along. */
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/same"), &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "auth=Bearer s3cret");
    sign__http_response_free(&r);
    /* 127.0.0.1 -> localhost: another host, so the server sees none. */
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/cross"), &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "auth=none");
    cr_assert(strncmp(nt_srv.host, "localhost:", 10) == 0, "Host: %s", nt_srv.host);
    sign__http_response_free(&r);
}

/* ---- URLs and arguments ---------------------------------------------------------------------- */

Test(net, malformed_urls_refused)
{
    static const char *const bad[] = {
        "",
        "ftp://127.0.0.1/",
        "http:/127.0.0.1/",
        "127.0.0.1/x",
        "http://",
        "http:///path",
        "http://user@127.0.0.1/",
        "http://user:pw@127.0.0.1/",
        "http://127.0.0.1/a#frag",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/a\r\nHost: evil",
        "http://127.0.0.1/\x7f",
        "http://127.0.0.1/\xc3\xa9",
        "http://127.0.0.1\\@evil/",
        "http://127.0.0.1:/",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:65536/",
        "http://127.0.0.1:80a/",
        "http://127.0.0.1:+80/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://256.0.0.1/",
        "http://[::1/",
        "http://[not:v6]/",
        "http://[::1]x/",
        "http://[fe80::1%25eth0]/",
        "http://::1/",
        "http://exa_mple.com/",
        "http://-example.com/",
        "http://example-.com/",
        "http://example..com/",
        "http://example.com./",
        "http://%65xample.com/",
        "http://127.0.0.1/%zz",
        "http://127.0.0.1/%4",
    };
    char longer[SIGN__HTTP_URL_MAX + 64];
    sign__url u;
    sign__http_response r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(sign__url_parse(&u, bad[i]), SIGN_EINVAL, "accepted: %s", bad[i]);
        cr_assert(strstr(sign_error_last(), "not a valid URL") != NULL, "%s", sign_error_last());
        cr_assert(strchr(sign_error_last(), '\r') == NULL && strchr(sign_error_last(), '\n') == NULL,
                  "control characters reach the message");
        cr_assert_eq(nt_get(&r, bad[i], NULL), SIGN_EINVAL, "requested: %s", bad[i]);
        sign__http_response_free(&r);
    }
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "http://h/", 9);
    longer[SIGN__HTTP_URL_MAX + 1] = '\0';
    cr_assert_eq(sign__url_parse(&u, longer), SIGN_EINVAL);
    cr_assert(strstr(sign_error_last(), "longer than 4096 bytes") != NULL, "%s", sign_error_last());
    longer[SIGN__HTTP_URL_MAX] = '\0';
    cr_assert_eq(sign__url_parse(&u, longer), 0, "%s", sign_error_last());
}

Test(net, urls_parsed)
{
    sign__url u;

    cr_assert_eq(sign__url_parse(&u, "HTTPS://Example.COM"), 0, "%s", sign_error_last());
    cr_assert(u.https && !u.is_ip && u.default_port);
    cr_assert_str_eq(u.host, "example.com");
    cr_assert_str_eq(u.port, "443");
    cr_assert_str_eq(u.target, "/");
    cr_assert_eq(sign__url_parse(&u, "http://[2001:DB8::1]:8080?q=1"), 0, "%s", sign_error_last());
    cr_assert(!u.https && u.is_ip && !u.default_port);
    cr_assert_str_eq(u.host, "2001:db8::1");
    cr_assert_str_eq(u.port, "8080");
    cr_assert_str_eq(u.target, "/?q=1");
    cr_assert_eq(sign__url_parse(&u, "http://10.0.0.1:80/a%20b/c?d=e&f"), 0, "%s", sign_error_last());
    cr_assert(u.is_ip && u.default_port);
    cr_assert_str_eq(u.target, "/a%20b/c?d=e&f");
    cr_assert_eq(sign__url_parse(&u, "http://a-b.c0.example:65535/"), 0, "%s", sign_error_last());
    cr_assert_str_eq(u.port, "65535");
}

Test(net, bad_request_arguments_refused, .init = nt_setup, .fini = nt_teardown)
{
    static const sign__http_header inject[] = {{"X-Evil", "a\r\nHost: evil"}};
    static const sign__http_header own[] = {{"content-length", "5"}};
    static const sign__http_header name[] = {{"Bad Name", "x"}};
    sign__http_options o = {0};
    sign__http_response r;

    o.headers = inject;
    o.nheaders = 1;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/hello"), &o), SIGN_EINVAL);
    o.headers = own;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/hello"), &o), SIGN_EINVAL);
    o.headers = name;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/hello"), &o), SIGN_EINVAL);
    o.nheaders = 0;
    cr_assert_eq(sign__http_request(&r, "DELETE", nt_url(&nt_srv, "/hello"), NULL, 0, &o), SIGN_EINVAL);
    o.max_redirects = SIGN__HTTP_REDIRECTS_MAX + 1;
    cr_assert_eq(nt_get(&r, nt_url(&nt_srv, "/hello"), &o), SIGN_EINVAL);
    cr_assert_eq(atomic_load(&nt_srv.connections), 0, "nothing was sent");
    sign__http_response_free(&r);
}

/* ---- TLS --------------------------------------------------------------------------------------- */

Test(net, tls_needs_a_trusted_certificate, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    char url[128], *ca = tu_path(nt_dir, "good.pem");

    nt_start(&nt_srv2, nt_tls_ctx("good", "DNS:localhost,IP:127.0.0.1"));
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv2, "/hello"));
    /* Self-signed, not in the system store: refused by default. */
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    nt_expect(nt_get(&r, url, NULL), SIGN_ENETWORK, url, "TLS certificate verify failed");
    sign__http_response_free(&r);
    /* Trusted through ca_file: by address and by name (SNI and host name checked). */
    o.ca_file = ca;
    cr_assert_eq(nt_get(&r, url, &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "hello");
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "https://localhost:%d/echo", nt_srv2.port);
    cr_assert_eq(sign__http_request(&r, "POST", url, "over tls", 8, &o), 0, "%s", sign_error_last());
    cr_assert_str_eq((char *)r.body, "POST  over tls");
    sign__http_response_free(&r);
    /* A CA file that cannot be read. */
    o.ca_file = "/nonexistent/ca.pem";
    cr_assert_eq(nt_get(&r, url, &o), SIGN_EIO, "%s", sign_error_last());
    cr_assert(strstr(sign_error_last(), "/nonexistent/ca.pem") != NULL, "%s", sign_error_last());
    sign__http_response_free(&r);
    free(ca);
}

Test(net, tls_host_name_mismatch_fails, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    char url[128], *ca = tu_path(nt_dir, "other.pem");

    nt_start(&nt_srv2, nt_tls_ctx("other", "DNS:other.example"));
    o.ca_file = ca;
    snprintf(url, sizeof(url), "https://localhost:%d/hello", nt_srv2.port);
    nt_expect(nt_get(&r, url, &o), SIGN_ENETWORK, url, "hostname mismatch");
    sign__http_response_free(&r);
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv2, "/hello"));
    nt_expect(nt_get(&r, url, &o), SIGN_ENETWORK, url, "IP address mismatch");
    sign__http_response_free(&r);
    free(ca);
}

Test(net, https_redirect_to_http_refused, .init = nt_setup, .fini = nt_teardown)
{
    sign__http_options o = {0};
    sign__http_response r;
    char url[128], *ca = tu_path(nt_dir, "good.pem");
    SSL_CTX *tls = nt_tls_ctx("good", "DNS:localhost,IP:127.0.0.1");

    /* nt_srv2 serves https here; its /to-http names nt_srv2's own port over http, so start it first. */
    nt_start(&nt_srv2, tls);
    o.ca_file = ca;
    o.max_redirects = 5;
    snprintf(url, sizeof(url), "%s", nt_url(&nt_srv2, "/to-http"));
    nt_expect(nt_get(&r, url, &o), SIGN_EHTTP, url, "redirected from https to http, which is refused");
    cr_assert_eq(atomic_load(&nt_srv.connections), 0, "nothing went over http");
    sign__http_response_free(&r);
    free(ca);
}
