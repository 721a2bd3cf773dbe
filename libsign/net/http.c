/*
 * libsign's one HTTP client (http.h, docs/network.md). HTTP/1.1 with
 * "Connection: close" (one request per connection, so a response may end at
 * its Content-Length, its last chunk, or the close), or, with a pool, with
 * persistent connections: a connection whose response ended at its
 * Content-Length or last chunk, with nothing left over and no "Connection:
 * close", is parked in the pool and taken again for the same scheme, host,
 * port and TLS settings. Sockets are non-blocking and
 * every wait is a poll bounded by a deadline; TLS runs over the same socket
 * through a small BIO that writes with MSG_NOSIGNAL (a server that hangs up
 * must not kill the caller with SIGPIPE).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "util.h"

/* Response head limits: one line, all lines, header count; chunk-size lines. */
#define HEAD_LINE_MAX 8192
#define HEAD_TOTAL_MAX (64u * 1024u)
#define HEAD_COUNT_MAX 100
#define INTERIM_MAX 5
/* The largest body of a refused status read (and dropped) to keep its connection. */
#define DRAIN_MAX (64 * 1024)
/* URLs in messages are cut at this many bytes. */
#define SHOWN_MAX 400

typedef struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int eof;                  /* 1: the peer closed; 2: a TLS peer closed without close_notify */
    const unsigned char *mem; /* sign__http_parse_response: the bytes "received", in pieces */
    size_t mem_len, mem_pos, piece;
    size_t pos, len;
    unsigned char buf[65536]; /* a layer blob streams through it: 64 KiB a recv, not 16 */
} conn;

typedef struct req {
    const sign__http_options *o;
    const char *what;
    char shown[SHOWN_MAX + 8]; /* the current URL, printable */
    int64_t deadline;          /* of the whole request (monotonic ms) */
    int64_t wait_until;        /* of the current phase */
    unsigned int wait_ms;      /* the limit that ends it, for messages */
    const char *phase;         /* "connecting", "waiting for the response", ... */
    unsigned int timeout_ms, connect_ms;
    size_t max;
    int got_any;   /* bytes of a response arrived on the current connection */
    int discard;   /* the body of a refused status: read to keep the connection, not kept */
    int body_done; /* the response was read to its end */
    /* the body sink */
    size_t got;
    unsigned char *body;
    size_t cap;
} req;

typedef struct head {
    int status;
    char reason[96];
    int chunked;
    int64_t clen;
    int keep; /* HTTP/1.1 without "Connection: close": the connection may serve another request */
    char *content_type, *location, *www_authenticate, *link;
} head;

/* Idle connections kept for reuse (sign__http_pool_new). */
#define POOL_IDLE_MAX 8
struct sign__http_pool {
    pthread_mutex_t lock;
    size_t n;
    conn *idle[POOL_IDLE_MAX];
    char *key[POOL_IDLE_MAX]; /* scheme, host, port and TLS settings the connection was made under */
    unsigned long opened;     /* connections opened for requests under this pool */
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "10 s" or "1500 ms". */
static void limit_text(char *out, size_t size, unsigned int ms)
{
    if (ms % 1000 == 0) {
        snprintf(out, size, "%u s", ms / 1000);
    } else {
        snprintf(out, size, "%u ms", ms);
    }
}

/* Printable copy of untrusted text (n bytes): other bytes as \xNN, cut at size (with "..."). */
static void printable(char *out, size_t size, const char *s, size_t n)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (used + 8 >= size) {
            memcpy(out + used, "...", 4);
            return;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[used++] = (char)c;
            out[used] = '\0';
        } else {
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
        }
    }
}

static int fail(req *rq, int code, const char *fmt, ...) SIGN_PRINTF(3, 4);

/* Record "[what ]URL: cause" as the error; returns code. */
static int fail(req *rq, int code, const char *fmt, ...)
{
    char cause[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    (void)sign__error(code, "%s%s%s: %s", rq->what != NULL ? rq->what : "", rq->what != NULL ? " " : "", rq->shown,
                      cause);
    return code;
}

static int oom(void)
{
    ERR_clear_error();
    (void)sign__error(SIGN_ENOMEM, "out of memory");
    return SIGN_ENOMEM;
}

/* ---- URLs ------------------------------------------------------------------ */

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A DNS name (letters, digits, hyphens; labels of 1-63) or a dotted IPv4 address, lower-cased into out. */
static const char *host_name(sign__url *out, const char *h, size_t n)
{
    size_t label = 0;
    const char *last;
    unsigned char addr[4];

    if (n == 0) {
        return "no host";
    }
    if (n > 253) {
        return "the host name is longer than 253 bytes";
    }
    for (size_t i = 0; i < n; i++) {
        char c = h[i];

        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') {
                return "the host name has an empty label or a label ending in '-'";
            }
            out->host[i] = '.';
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
            return "the host name may hold only letters, digits, '-' and '.'";
        }
        if ((label == 0 && c == '-') || ++label > 63) {
            return "a host name label starts with '-' or is longer than 63 bytes";
        }
        out->host[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (label == 0 || h[n - 1] == '-') {
        return "the host name ends in '.' or '-'";
    }
    out->host[n] = '\0';
    last = strrchr(out->host, '.');
    last = last != NULL ? last + 1 : out->host;
    /* A name whose last label is numeric is an IPv4 address, and only the dotted-quad form is taken. */
    if (*last >= '0' && *last <= '9') {
        if (inet_pton(AF_INET, out->host, addr) != 1) {
            return "not a dotted IPv4 address (a.b.c.d)";
        }
        out->is_ip = 1;
    }
    return NULL;
}

/* Authority [host or [v6]][:port] of n bytes at a. */
static const char *authority(sign__url *out, const char *a, size_t n)
{
    const char *hend, *why;
    size_t plen;
    long port = 0;

    if (memchr(a, '@', n) != NULL) {
        return "user information (user@host) is not allowed";
    }
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        unsigned char addr[16];
        size_t hl;

        if (close == NULL || (hl = (size_t)(close - a - 1)) == 0 || hl >= 46) {
            return "an IPv6 address must be in brackets, like [::1]";
        }
        memcpy(out->host, a + 1, hl);
        out->host[hl] = '\0';
        if (inet_pton(AF_INET6, out->host, addr) != 1) {
            return "not an IPv6 address in the brackets";
        }
        for (size_t i = 0; i < hl; i++) {
            out->host[i] =
                (char)(out->host[i] >= 'A' && out->host[i] <= 'F' ? out->host[i] - 'A' + 'a' : out->host[i]);
        }
        out->is_ip = 1;
        hend = close + 1;
        if (hend < a + n && *hend != ':') {
            return "text after the IPv6 address";
        }
    } else {
        const char *colon = memchr(a, ':', n);

        hend = colon != NULL ? colon : a + n;
        if ((why = host_name(out, a, (size_t)(hend - a))) != NULL) {
            return why;
        }
    }
    snprintf(out->port, sizeof(out->port), "%s", out->https ? "443" : "80");
    out->default_port = 1;
    if (hend == a + n) {
        return NULL;
    }
    plen = (size_t)(a + n - hend - 1);
    if (plen == 0 || plen > 5) {
        return "the port must be a number from 1 to 65535";
    }
    for (size_t i = 1; i <= plen; i++) {
        if (hend[i] < '0' || hend[i] > '9') {
            return "the port must be a number from 1 to 65535";
        }
        port = port * 10 + (hend[i] - '0');
    }
    if (port < 1 || port > 65535) {
        return "the port must be a number from 1 to 65535";
    }
    snprintf(out->port, sizeof(out->port), "%ld", port);
    out->default_port = port == (out->https ? 443 : 80);
    return NULL;
}

static const char *url_parse(sign__url *out, const char *url)
{
    size_t n, alen;
    const char *p, *aend, *why;

    memset(out, 0, sizeof(*out));
    if (url == NULL) {
        return "no URL";
    }
    if ((n = strnlen(url, SIGN__HTTP_URL_MAX + 1)) > SIGN__HTTP_URL_MAX) {
        return "longer than 4096 bytes";
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c >= 0x7f) {
            return "a control character, space or non-ASCII byte (percent-encode it)";
        }
        if (c == '\\') {
            return "a backslash";
        }
        if (c == '#') {
            return "a fragment (#...) is not allowed";
        }
        if (c == '%' && (i + 2 >= n || !is_hex(url[i + 1]) || !is_hex(url[i + 2]))) {
            return "a '%' not followed by two hex digits";
        }
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        out->https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return "the scheme must be http:// or https://";
    }
    aend = p + strcspn(p, "/?");
    alen = (size_t)(aend - p);
    if ((why = authority(out, p, alen)) != NULL) {
        return why;
    }
    snprintf(out->target, sizeof(out->target), "%s%s", *aend == '/' ? "" : "/", aend);
    return NULL;
}

int sign__url_parse(sign__url *out, const char *url)
{
    char shown[SHOWN_MAX + 8];
    const char *why;

    if (url == NULL) {
        memset(out, 0, sizeof(*out));
        return sign__error(SIGN_EINVAL, "no URL");
    }
    if ((why = url_parse(out, url)) != NULL) {
        printable(shown, sizeof(shown), url, strlen(url));
        return sign__error(SIGN_EINVAL, "%s: not a valid URL: %s", shown, why);
    }
    return 0;
}

/* scheme://host[:port]target of u, malloc'd (the canonical form: what redirects are compared by). */
static char *url_text(const sign__url *u, const char *target)
{
    size_t n = strlen(u->host) + strlen(target) + 32;
    char *s = malloc(n);

    if (s != NULL) {
        snprintf(s, n, "%s://%s%s%s%s%s%s", u->https ? "https" : "http", strchr(u->host, ':') != NULL ? "[" : "",
                 u->host, strchr(u->host, ':') != NULL ? "]" : "", u->default_port ? "" : ":",
                 u->default_port ? "" : u->port, target);
    }
    return s;
}

/* The URL a Location value names, relative to base (malloc'd), or NULL with *why. */
static char *url_join(const sign__url *base, const char *loc, const char **why)
{
    size_t n = strcspn(loc, "#"),
           scheme = strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    char *ref, *out = NULL;

    *why = NULL;
    if (n == 0) {
        *why = "an empty Location";
        return NULL;
    }
    if ((ref = malloc(n + 1)) == NULL) {
        *why = "out of memory";
        return NULL;
    }
    memcpy(ref, loc, n);
    ref[n] = '\0';
    if (scheme > 0 && scheme < n && loc[scheme] == ':') {
        out = ref; /* absolute */
        ref = NULL;
    } else if (ref[0] == '/' && ref[1] == '/') {
        size_t len = n + 8;

        if ((out = malloc(len)) != NULL) {
            snprintf(out, len, "%s:%s", base->https ? "https" : "http", ref);
        }
    } else if (ref[0] == '/') {
        out = url_text(base, ref);
    } else {
        /* A relative path: the base's path up to its last '/', then ref. */
        size_t plen = strcspn(base->target, "?"), cut = 0, len;
        char *path;

        for (size_t i = 0; i < plen; i++) {
            cut = base->target[i] == '/' ? i + 1 : cut;
        }
        len = cut + n + 1;
        if ((path = malloc(len)) != NULL) {
            snprintf(path, len, "%.*s%s", (int)cut, base->target, ref);
            out = url_text(base, path);
            free(path);
        }
    }
    free(ref);
    if (out == NULL) {
        *why = "out of memory";
    }
    return out;
}

/* ---- the socket and TLS ------------------------------------------------------- */

static BIO_METHOD *sock_method;
static CRYPTO_ONCE sock_once = CRYPTO_ONCE_STATIC_INIT;

static int sock_write(BIO *b, const char *data, int n)
{
    conn *c = BIO_get_data(b);
    ssize_t w;

    BIO_clear_retry_flags(b);
    if (c == NULL || n < 0) {
        return -1;
    }
    do {
        w = send(c->fd, data, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_write(b);
    }
    return w < 0 ? -1 : (int)w;
}

static int sock_read(BIO *b, char *data, int n)
{
    conn *c = BIO_get_data(b);
    ssize_t r;

    BIO_clear_retry_flags(b);
    if (c == NULL || n < 0) {
        return -1;
    }
    do {
        r = recv(c->fd, data, (size_t)n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_read(b);
    }
    if (r == 0) {
        c->eof = 1;
    }
    return r < 0 ? -1 : (int)r;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    conn *c = BIO_get_data(b);

    (void)num;
    (void)ptr;
    if (cmd == BIO_CTRL_FLUSH) {
        return 1;
    }
    if (cmd == BIO_CTRL_EOF) {
        return c != NULL && c->eof;
    }
    return 0;
}

static int sock_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "signet socket");

    if (m != NULL && (!BIO_meth_set_write(m, sock_write) || !BIO_meth_set_read(m, sock_read) ||
                      !BIO_meth_set_ctrl(m, sock_ctrl) || !BIO_meth_set_create(m, sock_create))) {
        BIO_meth_free(m);
        m = NULL;
    }
    sock_method = m;
}

static int timed_out(req *rq)
{
    char lim[32];

    limit_text(lim, sizeof(lim), rq->wait_ms);
    return fail(rq, SIGN_ETIMEOUT, "timed out after %s %s", lim, rq->phase);
}

/* Wait until fd is ready for events, within the current phase's deadline. */
static int wait_fd(req *rq, int fd, short events)
{
    for (;;) {
        int64_t left = rq->wait_until - mono_ms();
        struct pollfd p = {fd, events, 0};
        int rc;

        if (left <= 0) {
            return timed_out(rq);
        }
        rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return fail(rq, SIGN_ENETWORK, "poll failed: %s", strerror(errno));
        }
    }
}

/* Set the current phase: its name, and its deadline (at most the whole request's). */
static void phase(req *rq, const char *name, unsigned int limit_ms)
{
    int64_t until = limit_ms > 0 ? mono_ms() + limit_ms : rq->deadline;

    rq->phase = name;
    if (limit_ms > 0 && until < rq->deadline) {
        rq->wait_until = until;
        rq->wait_ms = limit_ms;
    } else {
        rq->wait_until = rq->deadline;
        rq->wait_ms = rq->timeout_ms;
    }
}

/* One connect attempt to ai; 0, or the errno (ETIMEDOUT when the deadline passed: *code set). */
static int connect_one(req *rq, const struct addrinfo *ai, int *fd, int *code)
{
    int err = 0;
    socklen_t len = sizeof(err);

    *fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (*fd < 0) {
        return errno;
    }
    if (connect(*fd, ai->ai_addr, ai->ai_addrlen) != 0 && (err = errno) == EINPROGRESS) {
        if ((*code = wait_fd(rq, *fd, POLLOUT)) != 0) {
            err = ETIMEDOUT;
        } else if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            err = errno;
        }
    }
    if (err != 0) {
        close(*fd);
        *fd = -1;
    }
    return err;
}

static int tcp_connect(req *rq, conn *c, const sign__url *u)
{
    struct addrinfo hints, *ai = NULL;
    int err = 0, rc, code = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (u->is_ip ? AI_NUMERICHOST : 0);
    if ((rc = getaddrinfo(u->host, u->port, &hints, &ai)) != 0) {
        if (rc == EAI_MEMORY) {
            return oom();
        }
        return fail(rq, SIGN_ENETWORK, "cannot resolve host %s: %s", u->host, gai_strerror(rc));
    }
    phase(rq, "connecting", rq->connect_ms);
    for (const struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
        if ((err = connect_one(rq, p, &c->fd, &code)) == 0 || code != 0) {
            break; /* connected, or the deadline is spent */
        }
    }
    freeaddrinfo(ai);
    if (code != 0) {
        return code;
    }
    if (err == ECONNREFUSED) {
        return fail(rq, SIGN_ENETWORK, "connection refused");
    }
    if (err != 0) {
        return fail(rq, SIGN_ENETWORK, "cannot connect: %s", strerror(err));
    }
    return 0;
}

/* Why the handshake failed, from the verify result and OpenSSL's queue (cleared). */
static int tls_fail(req *rq, conn *c, int e)
{
    long v = SSL_get_verify_result(c->ssl);
    unsigned long err = ERR_peek_error();
    const char *rs = err != 0 ? ERR_reason_error_string(err) : NULL;
    int r;

    if (v != X509_V_OK) {
        r = fail(rq, SIGN_ENETWORK, "TLS certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || c->eof) {
        r = fail(rq, SIGN_ENETWORK, "the server closed the connection during the TLS handshake");
    } else {
        r = fail(rq, SIGN_ENETWORK, "TLS handshake failed (%s)", rs != NULL ? rs : "no detail");
    }
    ERR_clear_error();
    return r;
}

/* One SSL_* step with its retries: op(ssl) until done, waiting on the socket as OpenSSL asks. */
static int tls_wait(req *rq, conn *c, int rc, int *e)
{
    *e = SSL_get_error(c->ssl, rc);
    if (*e == SSL_ERROR_WANT_READ) {
        return wait_fd(rq, c->fd, POLLIN);
    }
    if (*e == SSL_ERROR_WANT_WRITE) {
        return wait_fd(rq, c->fd, POLLOUT);
    }
    return 1;
}

/*
 * no_verify: the certificate is not checked (SIGN__HTTP_TLS_NO_VERIFY, for the first URL's host only);
 * extra: more trusted CA certificates (ca_extra, for the first URL's host only), or NULL.
 */
static int tls_start(req *rq, conn *c, const sign__url *u, int no_verify, const char *extra)
{
    X509_VERIFY_PARAM *param;
    BIO *bio;
    int rc, e = 0, r;

    if (!CRYPTO_THREAD_run_once(&sock_once, sock_method_init) || sock_method == NULL) {
        return oom();
    }
    if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
        SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
        return sign__ossl_error(SIGN_ENOMEM, "cannot set up TLS");
    }
    SSL_CTX_set_verify(c->ctx, no_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (no_verify) {
        /* nothing to load: the chain is not checked */
    } else if (rq->o->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(c->ctx, rq->o->ca_file, NULL) != 1) {
            ERR_clear_error();
            return fail(rq, SIGN_EIO, "cannot read the CA file %s (PEM certificates)", rq->o->ca_file);
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        ERR_clear_error(); /* no system store: every certificate fails to verify */
    }
    if (!no_verify && extra != NULL && SSL_CTX_load_verify_locations(c->ctx, extra, NULL) != 1) {
        ERR_clear_error();
        return fail(rq, SIGN_EIO, "cannot read the CA file %s (PEM certificates)", extra);
    }
    if ((c->ssl = SSL_new(c->ctx)) == NULL || (bio = BIO_new(sock_method)) == NULL) {
        return oom();
    }
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* one reference, taken */
    param = SSL_get0_param(c->ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    /* An address must be named by the certificate (iPAddress) and has no SNI; a name gets both. */
    if (no_verify  ? !u->is_ip && SSL_set_tlsext_host_name(c->ssl, u->host) != 1
        : u->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, u->host) != 1
                   : SSL_set_tlsext_host_name(c->ssl, u->host) != 1 || SSL_set1_host(c->ssl, u->host) != 1) {
        return oom();
    }
    SSL_set_connect_state(c->ssl);
    rq->phase = "in the TLS handshake";
    ERR_clear_error(); /* SSL_get_error reads the queue */
    while ((rc = SSL_do_handshake(c->ssl)) != 1) {
        if ((r = tls_wait(rq, c, rc, &e)) < 0) {
            return r;
        }
        if (r > 0) {
            return tls_fail(rq, c, e);
        }
    }
    return 0;
}

static void conn_close(conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl); /* no close_notify: the request is over either way */
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
    c->eof = 0;
    c->pos = c->len = 0;
    ERR_clear_error();
}

static const char *closed_text(int err)
{
    return err == ECONNRESET ? "the server closed (reset) the connection" : "the server closed the connection";
}

static int conn_send(req *rq, conn *c, const char *data, size_t len)
{
    rq->phase = "sending the request";
    while (len > 0) {
        ssize_t w;
        int r, e;

        if (c->ssl != NULL) {
            size_t done = 0;

            ERR_clear_error();
            if (SSL_write_ex(c->ssl, data, len, &done) == 1) {
                w = (ssize_t)done;
            } else if ((r = tls_wait(rq, c, 0, &e)) <= 0) {
                if (r < 0) {
                    return r;
                }
                continue;
            } else {
                ERR_clear_error();
                return fail(rq, SIGN_ENETWORK, "%s while the request was sent", closed_text(ECONNRESET));
            }
        } else if ((w = send(c->fd, data, len, MSG_NOSIGNAL)) < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if ((r = wait_fd(rq, c->fd, POLLOUT)) != 0) {
                    return r;
                }
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET) {
                return fail(rq, SIGN_ENETWORK, "%s while the request was sent", closed_text(errno));
            }
            return fail(rq, SIGN_ENETWORK, "cannot send the request: %s", strerror(errno));
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Refill c->buf (empty): 1 with bytes, 0 at the end of the stream (c->eof says how), or an error. */
static int conn_fill(req *rq, conn *c)
{
    c->pos = c->len = 0;
    if (c->mem != NULL) {
        size_t n = c->mem_len - c->mem_pos;

        n = n < c->piece ? n : c->piece;
        memcpy(c->buf, c->mem + c->mem_pos, n);
        c->mem_pos += n;
        c->len = n;
        c->eof = n == 0;
        rq->got_any |= n > 0;
        return n > 0;
    }
    for (;;) {
        int r, e;

        if (c->ssl != NULL) {
            size_t got = 0;

            ERR_clear_error();
            if (SSL_read_ex(c->ssl, c->buf, sizeof(c->buf), &got) == 1) {
                c->len = got;
                rq->got_any = 1;
                return 1;
            }
            if ((r = tls_wait(rq, c, 0, &e)) < 0) {
                return r;
            }
            if (r == 0) {
                continue;
            }
            if (e == SSL_ERROR_ZERO_RETURN) {
                c->eof = 1;
                return 0;
            }
            if (e == SSL_ERROR_SYSCALL || ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                ERR_clear_error();
                c->eof = 2;
                return 0;
            }
            r = fail(rq, SIGN_ENETWORK, "TLS error while %s (%s)", rq->phase,
                     ERR_reason_error_string(ERR_peek_error()) != NULL ? ERR_reason_error_string(ERR_peek_error())
                                                                       : "no detail");
            ERR_clear_error();
            return r;
        }
        ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);

        if (n > 0) {
            c->len = (size_t)n;
            rq->got_any = 1;
            return 1;
        }
        if (n == 0) {
            c->eof = 1;
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if ((r = wait_fd(rq, c->fd, POLLIN)) != 0) {
                return r;
            }
            continue;
        }
        return fail(rq, SIGN_ENETWORK, "%s while %s", closed_text(errno), rq->phase);
    }
}

/*
 * One line of the response head into line (CRLF or LF removed): 0, 1 when
 * the stream ended first (*len: the bytes of the partial line), or an error.
 */
static int read_line(req *rq, conn *c, char *line, size_t size, size_t *len)
{
    *len = 0;
    for (;;) {
        unsigned char *nl;
        size_t take;
        int r;

        if (c->pos == c->len && (r = conn_fill(rq, c)) <= 0) {
            return r < 0 ? r : 1;
        }
        nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        take = nl != NULL ? (size_t)(nl - (c->buf + c->pos)) + 1 : c->len - c->pos;
        if (*len + take >= size) {
            (void)fail(rq, SIGN_EPARSE, "malformed HTTP response: a line of the head is longer than %zu bytes",
                       size - 1);
            return SIGN_EPARSE;
        }
        memcpy(line + *len, c->buf + c->pos, take);
        *len += take;
        c->pos += take;
        if (nl != NULL) {
            break;
        }
    }
    line[--*len] = '\0';
    if (*len > 0 && line[*len - 1] == '\r') {
        line[--*len] = '\0';
    }
    for (size_t i = 0; i < *len; i++) {
        unsigned char ch = (unsigned char)line[i];

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            (void)fail(rq, SIGN_EPARSE, "malformed HTTP response: a control character in the head");
            return SIGN_EPARSE;
        }
    }
    return 0;
}

/* "HTTP/1.x NNN reason" into h. */
static int status_line(req *rq, head *h, const char *line)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' || line[9] < '1' ||
        line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line[12] != ' ' && line[12] != '\0')) {
        char shown[64];

        printable(shown, sizeof(shown), line, 40);
        return fail(rq, SIGN_EPARSE, "malformed HTTP response: the status line \"%s\" is not HTTP/1.x", shown);
    }
    h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    h->keep = line[7] == '1'; /* HTTP/1.0 closes unless it says otherwise; taken as closing */
    printable(h->reason, sizeof(h->reason), line[12] == ' ' ? line + 13 : "", 60);
    return 0;
}

/* The first occurrence of a selected header is kept. */
static int dup_header(char **field, const char *value)
{
    if (*field == NULL && (*field = sign__strdup(value)) == NULL) {
        return sign__oom();
    }
    return 0;
}

/* One "Name: value" line of the head. */
static int header_line(req *rq, head *h, char *line)
{
    char *colon = strchr(line, ':'), *v, *end;

    if (line[0] == ' ' || line[0] == '\t') {
        return fail(rq, SIGN_EPARSE, "malformed HTTP response: a folded header line");
    }
    if (colon == NULL || colon == line || strcspn(line, " \t") < (size_t)(colon - line)) {
        return fail(rq, SIGN_EPARSE, "malformed HTTP response: a header line without \"Name:\"");
    }
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
    }
    for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--) {
    }
    *end = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        uint64_t n = 0;
        size_t digits = strspn(v, "0123456789");

        if (digits == 0 || digits > 18 || v[digits] != '\0') {
            return fail(rq, SIGN_EPARSE, "malformed HTTP response: Content-Length is not a number");
        }
        for (size_t i = 0; i < digits; i++) {
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
        if (h->clen >= 0 && (uint64_t)h->clen != n) {
            return fail(rq, SIGN_EPARSE, "malformed HTTP response: two different Content-Length headers");
        }
        h->clen = (int64_t)n;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        if (strcasecmp(v, "chunked") != 0 || h->chunked) {
            char shown[64];

            printable(shown, sizeof(shown), v, 40);
            return fail(rq, SIGN_EPARSE, "Transfer-Encoding \"%s\" is not supported (only chunked)", shown);
        }
        h->chunked = 1;
    } else if (strcasecmp(line, "Connection") == 0) {
        /* a list of tokens: "close" anywhere ends the connection after this response */
        for (const char *t = v; *t != '\0'; t += strcspn(t, ",")) {
            t += strspn(t, ", \t");
            if (strncasecmp(t, "close", 5) == 0 && strchr(", \t", t[5]) != NULL) {
                h->keep = 0;
            }
        }
    } else if (strcasecmp(line, "Content-Type") == 0) {
        return dup_header(&h->content_type, v);
    } else if (strcasecmp(line, "Location") == 0) {
        return dup_header(&h->location, v);
    } else if (strcasecmp(line, "WWW-Authenticate") == 0) {
        return dup_header(&h->www_authenticate, v);
    } else if (strcasecmp(line, "Link") == 0) {
        return dup_header(&h->link, v);
    }
    return 0;
}

static void head_clear(head *h)
{
    free(h->content_type);
    free(h->location);
    free(h->www_authenticate);
    free(h->link);
    memset(h, 0, sizeof(*h));
    h->clen = -1;
}

/* The status line and headers (interim 1xx answers skipped). */
static int read_head(req *rq, conn *c, head *h)
{
    char line[HEAD_LINE_MAX];
    size_t len, total = 0;
    int r, count = 0;

    rq->phase = "waiting for the response";
    for (int interim = 0; interim <= INTERIM_MAX; interim++) {
        head_clear(h);
        if ((r = read_line(rq, c, line, sizeof(line), &len)) != 0) {
            return r < 0 ? r
                         : fail(rq, SIGN_ENETWORK, "%s before %s", closed_text(0),
                                len == 0 ? "answering" : "the status line was complete");
        }
        if ((r = status_line(rq, h, line)) != 0) {
            return r;
        }
        for (;;) {
            if ((r = read_line(rq, c, line, sizeof(line), &len)) != 0) {
                return r < 0 ? r : fail(rq, SIGN_ENETWORK, "%s in the middle of the response head", closed_text(0));
            }
            if (len == 0) {
                break;
            }
            if ((total += len) > HEAD_TOTAL_MAX || ++count > HEAD_COUNT_MAX) {
                return fail(rq, SIGN_EPARSE, "malformed HTTP response: the head is larger than %u bytes or %d lines",
                            HEAD_TOTAL_MAX, HEAD_COUNT_MAX);
            }
            if ((r = header_line(rq, h, line)) != 0) {
                return r;
            }
        }
        if (h->status == 101) {
            return fail(rq, SIGN_EPARSE,
                        "malformed HTTP response: status 101 (Switching Protocols) was not asked for");
        }
        if (h->status >= 200) {
            if (h->chunked && h->clen >= 0) {
                return fail(rq, SIGN_EPARSE,
                            "malformed HTTP response: both Transfer-Encoding and Content-Length (refused: request "
                            "smuggling)");
            }
            return 0;
        }
    }
    return fail(rq, SIGN_EPARSE, "malformed HTTP response: more than %d interim (1xx) answers", INTERIM_MAX);
}

/* ---- the body ------------------------------------------------------------------ */

static int over_cap(req *rq)
{
    return fail(rq, SIGN_ELIMIT, "response too large (over the %zu-byte cap)", rq->max);
}

/* Pass n body bytes on: to the callback, or into the buffer (within the cap). */
static int deliver(req *rq, const unsigned char *data, size_t n)
{
    if (n > rq->max - rq->got) {
        return over_cap(rq);
    }
    if (rq->discard) {
        rq->got += n;
        return 0;
    }
    if (rq->o->on_body != NULL) {
        int r = rq->o->on_body(rq->o->arg, data, n);

        rq->got += n;
        return r;
    }
    if (rq->got + n + 1 > rq->cap) {
        size_t cap = rq->cap > 0 ? rq->cap : 16384;
        unsigned char *p;

        while (cap < rq->got + n + 1) {
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        }
        if ((p = realloc(rq->body, cap)) == NULL) {
            return oom();
        }
        rq->body = p;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->got, data, n);
    rq->got += n;
    rq->body[rq->got] = '\0';
    return 0;
}

/* Up to want bytes (SIZE_MAX: to the end of the stream) from c; *ended when the stream ended first. */
static int body_bytes(req *rq, conn *c, size_t want, int *ended)
{
    *ended = 0;
    while (want > 0) {
        size_t take;
        int r;

        if (c->pos == c->len && (r = conn_fill(rq, c)) <= 0) {
            *ended = r == 0;
            return r;
        }
        take = c->len - c->pos < want ? c->len - c->pos : want;
        if ((r = deliver(rq, c->buf + c->pos, take)) != 0) {
            return r;
        }
        c->pos += take;
        want = want == SIZE_MAX ? want : want - take;
    }
    return 0;
}

static int body_chunked(req *rq, conn *c)
{
    char line[1024];
    size_t len;
    int r, ended;

    for (;;) {
        uint64_t size = 0;
        size_t digits;

        if ((r = read_line(rq, c, line, sizeof(line), &len)) != 0) {
            return r < 0 ? r
                         : fail(rq, SIGN_ENETWORK, "%s in the middle of the chunked body (%zu bytes received)",
                                closed_text(0), rq->got);
        }
        digits = strspn(line, "0123456789abcdefABCDEF");
        if (digits == 0 || digits > 15 ||
            (line[digits] != '\0' && line[digits] != ';' && line[digits] != ' ' && line[digits] != '\t')) {
            return fail(rq, SIGN_EPARSE, "malformed HTTP response: a bad chunk size line");
        }
        for (size_t i = 0; i < digits; i++) {
            int d = line[i] <= '9' ? line[i] - '0' : (line[i] | 0x20) - 'a' + 10;

            size = size * 16 + (uint64_t)d;
        }
        if (size == 0) {
            break;
        }
        if (size > rq->max - rq->got) {
            return over_cap(rq);
        }
        if ((r = body_bytes(rq, c, (size_t)size, &ended)) != 0 || ended) {
            return r != 0 ? r
                          : fail(rq, SIGN_ENETWORK, "%s in the middle of a chunk (%zu bytes of the body received)",
                                 closed_text(0), rq->got);
        }
        if ((r = read_line(rq, c, line, sizeof(line), &len)) != 0 || len != 0) {
            return r < 0   ? r
                   : r > 0 ? fail(rq, SIGN_ENETWORK, "%s in the middle of the chunked body (%zu bytes received)",
                                  closed_text(0), rq->got)
                           : fail(rq, SIGN_EPARSE, "malformed HTTP response: a chunk is longer than its size");
        }
    }
    /* Trailer fields, ignored, up to the empty line. */
    for (int n = 0;; n++) {
        if ((r = read_line(rq, c, line, sizeof(line), &len)) != 0) {
            return r < 0 ? r : fail(rq, SIGN_ENETWORK, "%s before the end of the chunked body", closed_text(0));
        }
        if (len == 0) {
            return 0;
        }
        if (n >= HEAD_COUNT_MAX) {
            return fail(rq, SIGN_EPARSE, "malformed HTTP response: more than %d trailer lines", HEAD_COUNT_MAX);
        }
    }
}

static int read_body(req *rq, conn *c, const head *h, const char *method)
{
    int r, ended;

    rq->phase = "reading the response body";
    if (strcmp(method, "HEAD") == 0 || h->status == 204 || h->status == 304) {
        return 0;
    }
    if (h->chunked) {
        return body_chunked(rq, c);
    }
    if (h->clen >= 0) {
        if ((uint64_t)h->clen > rq->max) {
            return fail(rq, SIGN_ELIMIT, "response too large (over the %zu-byte cap: Content-Length %lld)", rq->max,
                        (long long)h->clen);
        }
        if ((r = body_bytes(rq, c, (size_t)h->clen, &ended)) != 0 || ended) {
            return r != 0 ? r
                          : fail(rq, SIGN_ENETWORK, "%s after %zu of the %lld bytes of the body (truncated)",
                                 closed_text(0), rq->got, (long long)h->clen);
        }
        return 0;
    }
    if ((r = body_bytes(rq, c, SIZE_MAX, &ended)) != 0) {
        return r;
    }
    if (c->eof == 2) {
        return fail(rq, SIGN_ENETWORK,
                    "the TLS connection ended without close_notify: the body (%zu bytes) may be truncated", rq->got);
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------- */

static int token_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The caller's headers: well-formed, and none the client writes itself. */
static int check_headers(req *rq, const sign__http_options *o)
{
    static const char *const own[] = {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Content-Type"};

    for (size_t i = 0; i < o->nheaders; i++) {
        const char *n = o->headers[i].name, *v = o->headers[i].value;

        if (n == NULL || v == NULL || n[0] == '\0') {
            return fail(rq, SIGN_EINVAL, "request header %zu has no name or value", i);
        }
        for (const char *p = n; *p != '\0'; p++) {
            if (!token_char((unsigned char)*p)) {
                return fail(rq, SIGN_EINVAL, "request header %zu: the name is not an HTTP token", i);
            }
        }
        for (const char *p = v; *p != '\0'; p++) {
            if (((unsigned char)*p < 0x20 && *p != '\t') || (unsigned char)*p >= 0x7f) {
                return fail(rq, SIGN_EINVAL, "request header %s: a control character or non-ASCII byte in the value",
                            n);
            }
        }
        for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
            if (strcasecmp(n, own[k]) == 0) {
                return fail(rq, SIGN_EINVAL, "request header %s is written by the HTTP client itself", own[k]);
            }
        }
    }
    if (o->content_type != NULL) {
        for (const char *p = o->content_type; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
                return fail(rq, SIGN_EINVAL, "the Content-Type holds a control character or non-ASCII byte");
            }
        }
    }
    return 0;
}

/*
 * The request head (malloc'd). Authorization is left out when drop_auth is set; "Connection: close" is
 * sent unless the connection may be kept (a pool).
 */
static char *request_head(const sign__url *u, const char *method, size_t bodylen, int send_len, int drop_auth,
                          const sign__http_options *o, size_t *outlen)
{
    size_t n = strlen(method) + strlen(u->target) + strlen(u->host) + 384, used = 0;
    char *s;

    if (o->content_type != NULL) {
        n += strlen(o->content_type);
    }
    for (size_t i = 0; i < o->nheaders; i++) {
        n += strlen(o->headers[i].name) + strlen(o->headers[i].value) + 4;
    }
    if ((s = malloc(n)) == NULL) {
        return NULL;
    }
    used += (size_t)snprintf(
        s + used, n - used, "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: signet/" SIGN_VERSION_STRING "\r\n%s",
        method, u->target, strchr(u->host, ':') != NULL ? "[" : "", u->host, strchr(u->host, ':') != NULL ? "]" : "",
        u->default_port ? "" : ":", u->default_port ? "" : u->port, o->pool != NULL ? "" : "Connection: close\r\n");
    if (send_len && o->content_type != NULL) {
        used += (size_t)snprintf(s + used, n - used, "Content-Type: %s\r\n", o->content_type);
    }
    if (send_len) {
        used += (size_t)snprintf(s + used, n - used, "Content-Length: %zu\r\n", bodylen);
    }
    for (size_t i = 0; i < o->nheaders; i++) {
        if (drop_auth && strcasecmp(o->headers[i].name, "Authorization") == 0) {
            continue;
        }
        used += (size_t)snprintf(s + used, n - used, "%s: %s\r\n", o->headers[i].name, o->headers[i].value);
    }
    used += (size_t)snprintf(s + used, n - used, "\r\n");
    if (used >= n) {
        free(s); /* cannot happen: n counts every part */
        return NULL;
    }
    *outlen = used;
    return s;
}

/* The TLS settings of a request to u: drop_auth is set as soon as a redirect left the first URL's host and port. */
static void tls_mode(const req *rq, int drop_auth, int *no_verify, const char **extra)
{
    *no_verify = (rq->o->flags & SIGN__HTTP_TLS_NO_VERIFY) != 0 && !drop_auth;
    *extra = drop_auth ? NULL : rq->o->ca_extra;
}

/* A new connection to u (counted in the pool, if any). */
static int conn_open(req *rq, conn *c, const sign__url *u, int drop_auth)
{
    const char *extra;
    int no_verify, r;

    tls_mode(rq, drop_auth, &no_verify, &extra);
    if ((r = tcp_connect(rq, c, u)) != 0 || (u->https && (r = tls_start(rq, c, u, no_verify, extra)) != 0)) {
        return r;
    }
    if (rq->o->pool != NULL) {
        pthread_mutex_lock(&rq->o->pool->lock);
        rq->o->pool->opened++;
        pthread_mutex_unlock(&rq->o->pool->lock);
    }
    return 0;
}

/* Send the request on c and read the response head. */
static int send_request(req *rq, conn *c, head *h, const sign__url *u, const char *method, const void *body,
                        size_t bodylen, int drop_auth)
{
    char *rh;
    size_t rhlen = 0;
    int r;

    phase(rq, "sending the request", 0);
    rq->got_any = 0;
    if ((rh = request_head(u, method, bodylen,
                           body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0, drop_auth,
                           rq->o, &rhlen)) == NULL) {
        return oom();
    }
    r = conn_send(rq, c, rh, rhlen);
    free(rh);
    if (r == 0 && bodylen > 0) {
        r = conn_send(rq, c, body, bodylen);
    }
    return r != 0 ? r : read_head(rq, c, h);
}

/* The pool's key of a connection to u under the request's TLS settings (malloc'd), or NULL. */
static char *pool_key(const req *rq, const sign__url *u, int drop_auth)
{
    const char *extra, *ca = rq->o->ca_file;
    int no_verify;
    size_t n;
    char *k;

    tls_mode(rq, drop_auth, &no_verify, &extra);
    n = strlen(u->host) + 32 + (ca != NULL ? strlen(ca) : 0) + (extra != NULL ? strlen(extra) : 0);
    if ((k = malloc(n)) != NULL) {
        snprintf(k, n, "%d %s %s %d %d%s %d%s", u->https, u->host, u->port, no_verify, ca != NULL,
                 ca != NULL ? ca : "", extra != NULL, extra != NULL ? extra : "");
    }
    return k;
}

/* An idle connection still open, with nothing unread: the server has not closed it or sent anything. */
static int conn_idle_ok(const conn *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};

    return c->fd >= 0 && c->pos == c->len && !c->eof && poll(&p, 1, 0) == 0;
}

static void conn_free(conn *c)
{
    if (c != NULL) {
        conn_close(c);
        free(c);
    }
}

/* An idle connection of the pool under key, taken out of it, or NULL. Stale ones are closed on the way. */
static conn *pool_take(sign__http_pool *p, const char *key)
{
    conn *c = NULL;

    pthread_mutex_lock(&p->lock);
    for (size_t i = p->n; i-- > 0 && c == NULL;) {
        if (strcmp(p->key[i], key) != 0) {
            continue;
        }
        c = p->idle[i];
        free(p->key[i]);
        memmove(&p->idle[i], &p->idle[i + 1], (p->n - i - 1) * sizeof(p->idle[0]));
        memmove(&p->key[i], &p->key[i + 1], (p->n - i - 1) * sizeof(p->key[0]));
        p->n--;
        if (!conn_idle_ok(c)) {
            conn_free(c); /* closed by the server while idle */
            c = NULL;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return c;
}

/* Park c (idle) in the pool under key (both taken); the oldest idle connection goes when it is full. */
static void pool_put(sign__http_pool *p, char *key, conn *c)
{
    pthread_mutex_lock(&p->lock);
    if (p->n == POOL_IDLE_MAX) {
        conn_free(p->idle[0]);
        free(p->key[0]);
        memmove(&p->idle[0], &p->idle[1], (p->n - 1) * sizeof(p->idle[0]));
        memmove(&p->key[0], &p->key[1], (p->n - 1) * sizeof(p->key[0]));
        p->n--;
    }
    p->idle[p->n] = c;
    p->key[p->n] = key;
    p->n++;
    pthread_mutex_unlock(&p->lock);
}

/*
 * Send the request and read the head; the connection stays open for the body. With a pool, a GET or HEAD
 * takes an idle connection to the same place; when the server closed it before answering (its idle
 * timeout), the request is sent once more on a new connection. A POST or PUT always opens a new
 * connection, so it is never sent twice.
 */
static int exchange(req *rq, conn **cp, head *h, const sign__url *u, const char *method, const void *body,
                    size_t bodylen, int drop_auth)
{
    conn *kept = NULL;
    int r;

    if (rq->o->pool != NULL && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        char *key = pool_key(rq, u, drop_auth);

        if (key == NULL) {
            return oom();
        }
        kept = pool_take(rq->o->pool, key);
        free(key);
    }
    if (kept != NULL) {
        conn_free(*cp);
        *cp = kept;
        if ((r = send_request(rq, kept, h, u, method, body, bodylen, drop_auth)) != SIGN_ENETWORK || rq->got_any) {
            return r;
        }
        sign__error_clear();
        conn_close(kept);
    }
    if ((r = conn_open(rq, *cp, u, drop_auth)) != 0) {
        return r;
    }
    return send_request(rq, *cp, h, u, method, body, bodylen, drop_auth);
}

/* After the response: with a pool, c is parked there when it may serve another request (*cp then NULL). */
static void conn_park(req *rq, conn **cp, const head *h, const sign__url *u, const char *method, int drop_auth)
{
    conn *c = *cp;
    char *key;

    if (rq->o->pool == NULL || !rq->body_done || !h->keep || c == NULL || !conn_idle_ok(c) ||
        (c->ssl != NULL && SSL_pending(c->ssl) > 0)) {
        return;
    }
    if (strcmp(method, "HEAD") != 0 && h->status != 204 && h->status != 304 && !h->chunked && h->clen < 0) {
        return; /* the body ended with the connection */
    }
    if ((key = pool_key(rq, u, drop_auth)) != NULL) {
        pool_put(rq->o->pool, key, c);
        *cp = NULL;
    }
}

sign__http_pool *sign__http_pool_new(void)
{
    sign__http_pool *p = calloc(1, sizeof(*p));

    if (p != NULL && pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        p = NULL;
    }
    return p;
}

void sign__http_pool_free(sign__http_pool *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        conn_free(p->idle[i]);
        free(p->key[i]);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

unsigned long sign__http_pool_opened(sign__http_pool *p)
{
    unsigned long n;

    pthread_mutex_lock(&p->lock);
    n = p->opened;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/*
 * The URL a redirect leads to (*next, malloc'd), checked against the policy:
 * allowed at all, within the hop limit, same scheme, not visited before.
 */
static int follow(req *rq, char **next, const head *h, const sign__url *u, char *const *visited, size_t nvisited)
{
    char loc[SHOWN_MAX + 8];
    const char *why = NULL;
    sign__url nu;

    *next = NULL;
    printable(loc, sizeof(loc), h->location != NULL ? h->location : "", SIGN__HTTP_URL_MAX);
    if (rq->o->max_redirects == 0) {
        return fail(rq, SIGN_EHTTP, "redirected to %s (HTTP status %d), and redirects are not followed here", loc,
                    h->status);
    }
    if (h->location == NULL) {
        return fail(rq, SIGN_EPARSE, "malformed HTTP response: a redirect (HTTP status %d) without a Location",
                    h->status);
    }
    if (nvisited > rq->o->max_redirects) {
        return fail(rq, SIGN_EHTTP, "redirected to %s: more than %u redirects", loc, rq->o->max_redirects);
    }
    if ((*next = url_join(u, h->location, &why)) == NULL) {
        return strcmp(why, "out of memory") == 0 ? oom() : fail(rq, SIGN_EHTTP, "redirected to %s: %s", loc, why);
    }
    if ((why = url_parse(&nu, *next)) != NULL) {
        return fail(rq, SIGN_EHTTP, "redirected to %s, not a valid URL: %s", loc, why);
    }
    if (nu.https != u->https) {
        return fail(rq, SIGN_EHTTP, "redirected from %s to %s, which is refused (same scheme only)",
                    u->https ? "https" : "http", nu.https ? "https" : "http");
    }
    free(*next);
    if ((*next = url_text(&nu, nu.target)) == NULL) {
        return oom();
    }
    for (size_t i = 0; i < nvisited; i++) {
        if (strcmp(visited[i], *next) == 0) {
            return fail(rq, SIGN_EHTTP, "redirect loop: redirected to %s, which was requested before", loc);
        }
    }
    return 0;
}

static void take_head(sign__http_response *out, head *h)
{
    out->status = h->status;
    out->content_length = h->clen;
    out->content_type = h->content_type;
    out->location = h->location;
    out->www_authenticate = h->www_authenticate;
    out->link = h->link;
    h->content_type = h->location = h->www_authenticate = h->link = NULL; /* transferred */
}

static int check_args(req *rq, const char *method, const void *body, size_t bodylen, const sign__http_options *o)
{
    if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "POST") != 0 &&
                           strcmp(method, "PUT") != 0)) {
        return fail(rq, SIGN_EINVAL, "the method must be GET, HEAD, POST or PUT");
    }
    if ((body == NULL && bodylen > 0) || o->max_redirects > SIGN__HTTP_REDIRECTS_MAX) {
        return fail(rq, SIGN_EINVAL, "no body for %zu bytes, or more than %u redirects allowed", bodylen,
                    SIGN__HTTP_REDIRECTS_MAX);
    }
    return check_headers(rq, o);
}

/* With a pool, the small body of a refused status is read and dropped, so that the connection may be kept. */
static void drain_refused(req *rq, conn *c, const head *h, const char *method)
{
    size_t max = rq->max;

    if (rq->o->pool == NULL || h->status < 200 || (h->clen < 0 && !h->chunked) || h->clen > DRAIN_MAX) {
        return;
    }
    rq->discard = 1;
    rq->max = DRAIN_MAX;
    rq->body_done = read_body(rq, c, h, method) == 0;
    sign__error_clear();
    rq->discard = 0;
    rq->max = max;
    rq->got = 0;
}

/* The final answer: its status taken (else SIGN_EHTTP), then its body into out. */
static int final_answer(req *rq, conn *c, head *h, const char *method, sign__http_response *out)
{
    int r;

    if ((h->status < 200 || h->status > 299) && (rq->o->flags & SIGN__HTTP_ANY_STATUS) == 0) {
        drain_refused(rq, c, h, method);
        take_head(out, h);
        return fail(rq, SIGN_EHTTP, "HTTP status %d%s%s%s", h->status, h->reason[0] != '\0' ? " (" : "", h->reason,
                    h->reason[0] != '\0' ? ")" : "");
    }
    if ((r = read_body(rq, c, h, method)) != 0) {
        return r;
    }
    rq->body_done = 1;
    take_head(out, h);
    out->body = rq->body;
    out->body_len = rq->got;
    rq->body = NULL; /* transferred */
    if (out->body == NULL && rq->o->on_body == NULL && (out->body = calloc(1, 1)) == NULL) {
        return oom();
    }
    return 0;
}

static void req_init(req *rq, const sign__http_options *o, const char *url)
{
    memset(rq, 0, sizeof(*rq));
    rq->o = o;
    rq->what = o->what;
    rq->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : SIGN__HTTP_TIMEOUT_MS;
    rq->connect_ms = o->connect_timeout_ms;
    rq->max = o->max_body > 0 ? o->max_body : SIGN__HTTP_MAX_BODY;
    rq->deadline = mono_ms() + rq->timeout_ms;
    printable(rq->shown, sizeof(rq->shown), url != NULL ? url : "(no URL)", SIGN__HTTP_URL_MAX);
}

int sign__http_parse_response(sign__http_response *out, const void *data, size_t len, size_t piece,
                              const sign__http_options *o)
{
    static const sign__http_options defaults = {0};
    conn *c = calloc(1, sizeof(*c));
    head h = {.clen = -1};
    req rq;
    int r;

    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    if (c == NULL) {
        return oom();
    }
    c->fd = -1;
    req_init(&rq, o != NULL ? o : &defaults, "http://response.invalid/");
    c->mem = data != NULL ? data : (const void *)"";
    c->mem_len = data != NULL ? len : 0;
    c->piece = piece > 0 && piece < sizeof(c->buf) ? piece : sizeof(c->buf);
    if ((r = read_head(&rq, c, &h)) == 0) {
        r = final_answer(&rq, c, &h, "GET", out);
    }
    head_clear(&h);
    free(rq.body);
    free(c);
    return r;
}

int sign__http_request(sign__http_response *out, const char *method, const char *url, const void *body,
                       size_t bodylen, const sign__http_options *o)
{
    static const sign__http_options defaults = {0};
    char *visited[SIGN__HTTP_REDIRECTS_MAX + 2] = {NULL}, *cur = NULL;
    size_t nvisited = 0;
    conn *c = NULL;
    head h = {.clen = -1};
    sign__url u, first;
    req rq;
    const char *why;
    int r, drop_auth = 0;

    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    if (o == NULL) {
        o = &defaults;
    }
    req_init(&rq, o, url);
    if (url == NULL || (why = url_parse(&first, url)) != NULL) {
        r = fail(&rq, SIGN_EINVAL, "not a valid URL: %s", url == NULL ? "no URL" : why);
        goto out;
    }
    if ((r = check_args(&rq, method, body, bodylen, o)) != 0) {
        goto out;
    }
    if ((cur = url_text(&first, first.target)) == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
        r = oom();
        goto out;
    }
    c->fd = -1;
    u = first;
    for (;;) {
        if ((visited[nvisited] = sign__strdup(cur)) == NULL) {
            r = sign__oom();
            goto out;
        }
        nvisited++;
        if ((r = exchange(&rq, &c, &h, &u, method, body, bodylen, drop_auth)) != 0) {
            goto out;
        }
        if (!is_redirect(h.status) || (o->max_redirects == 0 && (o->flags & SIGN__HTTP_ANY_STATUS) != 0)) {
            break; /* final: not a redirect, or one the caller takes as it is */
        }
        free(cur);
        if ((r = follow(&rq, &cur, &h, &u, visited, nvisited)) != 0 || cur == NULL) {
            take_head(out, &h);
            r = r != 0 ? r : SIGN_ERROR; /* (follow sets cur when it returns 0) */
            goto out;
        }
        conn_close(c);
        (void)url_parse(&u, cur); /* checked by follow */
        printable(rq.shown, sizeof(rq.shown), cur, SIGN__HTTP_URL_MAX);
        drop_auth |= strcmp(u.host, first.host) != 0 || strcmp(u.port, first.port) != 0;
        if (h.status == 303 || ((h.status == 301 || h.status == 302) && strcmp(method, "POST") == 0)) {
            method = "GET"; /* as browsers do: the body is not sent again */
            body = NULL;
            bodylen = 0;
        }
    }
    r = final_answer(&rq, c, &h, method, out);
    conn_park(&rq, &c, &h, &u, method, drop_auth);
    if (r != 0) {
        goto out;
    }
    out->url = cur;
    cur = NULL; /* transferred */
out:
    conn_free(c);
    head_clear(&h);
    free(rq.body);
    free(cur);
    for (size_t i = 0; i < nvisited; i++) {
        free(visited[i]);
    }
    return r;
}

void sign__http_response_free(sign__http_response *r)
{
    if (r == NULL) {
        return;
    }
    free(r->content_type);
    free(r->location);
    free(r->www_authenticate);
    free(r->link);
    free(r->body);
    free(r->url);
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}
