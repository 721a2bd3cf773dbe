/*
 * Online revocation: CRLs fetched over HTTP from certificates' CRL
 * distribution points, with a cache that honours nextUpdate. Only reached
 * with SIGN_X509_FETCH_CRL; nothing else in libsign opens a socket for CRLs.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "x509_internal.h"

/* Longest distribution point URI taken, and most URIs tried per certificate. */
#define CRL_URL_MAX 2048
#define CRL_MAX_URIS 8

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void whyf(char *why, size_t size, const char *fmt, ...) SIGN_PRINTF(3, 4);

static void whyf(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* Append "; text" (or text) to buf, truncating. */
static void append(char *buf, size_t size, const char *fmt, ...) SIGN_PRINTF(3, 4);

static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 3 >= size) {
        return;
    }
    if (used > 0) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
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

/* TCP connection to host:port, non-blocking, before deadline (monotonic ms). */
static int tcp_connect(int *out, const char *host, const char *port, int64_t deadline, unsigned int timeout_ms,
                       char *why, size_t whysize)
{
    struct addrinfo hints, *ai = NULL;
    int fd = -1, err = 0, rc;
    char lim[32];

    *out = -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
        whyf(why, whysize, "cannot resolve host %s: %s", host, gai_strerror(rc));
        return SIGN_EVERIFY;
    }
    for (const struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
        err = 0;
        if ((fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, p->ai_addr, p->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                err = errno;
            }
            while (err == 0) {
                int64_t left = deadline - mono_ms();
                struct pollfd pfd;
                socklen_t len = sizeof(err);

                if (left <= 0) {
                    err = ETIMEDOUT;
                    break;
                }
                pfd.fd = fd;
                pfd.events = POLLOUT;
                pfd.revents = 0;
                rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
                if (rc < 0 && errno == EINTR) {
                    continue;
                }
                if (rc < 0) {
                    err = errno;
                } else if (rc > 0) {
                    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                        err = errno;
                    }
                    break;
                }
            }
        }
        if (err == 0) {
            break;
        }
        close(fd);
        fd = -1;
        if (err == ETIMEDOUT) {
            break; /* the deadline is spent */
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        limit_text(lim, sizeof(lim), timeout_ms);
        if (err == ETIMEDOUT) {
            whyf(why, whysize, "connection to %s port %s timed out (limit %s)", host, port, lim);
        } else if (err == ECONNREFUSED) {
            whyf(why, whysize, "connection to %s port %s refused", host, port);
        } else {
            whyf(why, whysize, "cannot connect to %s port %s: %s", host, port, strerror(err));
        }
        return SIGN_EVERIFY;
    }
    *out = fd;
    return 0;
}

/* The cause of a failed exchange, from OpenSSL's error queue (which is cleared). */
static void exchange_cause(char *why, size_t whysize, unsigned int timeout_ms, size_t max)
{
    unsigned long e;
    const char *data = NULL;
    int flags = 0, found = 0;
    char lim[32], first[256] = "";

    limit_text(lim, sizeof(lim), timeout_ms);
    while (!found && (e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
        const char *d = data != NULL && (flags & ERR_TXT_STRING) != 0 ? data : "";

        if (first[0] == '\0') {
            const char *rs = ERR_reason_error_string(e);

            snprintf(first, sizeof(first), "%s%s%s", rs != NULL ? rs : "error", d[0] != '\0' ? ": " : "", d);
        }
        found = 1;
        if ((lib == ERR_LIB_BIO && (reason == BIO_R_TRANSFER_TIMEOUT || reason == BIO_R_CONNECT_TIMEOUT)) ||
            (lib == ERR_LIB_HTTP && reason == HTTP_R_RETRY_TIMEOUT)) {
            whyf(why, whysize, "timed out waiting for the response (limit %s)", lim);
        } else if (lib == ERR_LIB_HTTP && reason == HTTP_R_RECEIVED_ERROR) {
            const char *code = strstr(d, "code=");
            const char *rsn = strstr(d, "reason=");
            int clen = 0;

            if (code != NULL) {
                code += 5;
                while (code[clen] >= '0' && code[clen] <= '9' && clen < 3) {
                    clen++;
                }
            }
            whyf(why, whysize, "HTTP status %.*s%s%s%s", clen, clen > 0 ? code : "?", rsn != NULL ? " (" : "",
                 rsn != NULL ? rsn + 7 : "", rsn != NULL ? ")" : "");
        } else if (lib == ERR_LIB_HTTP &&
                   (reason == HTTP_R_MAX_RESP_LEN_EXCEEDED || reason == HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN)) {
            whyf(why, whysize, "response too large (more than %zu bytes)", max);
        } else if (lib == ERR_LIB_HTTP &&
                   (reason == HTTP_R_MISSING_ASN1_ENCODING || reason == HTTP_R_ERROR_PARSING_ASN1_LENGTH)) {
            whyf(why, whysize, "the response is not a DER CRL");
        } else if (lib == ERR_LIB_HTTP && reason == HTTP_R_SERVER_CANCELED_CONNECTION) {
            whyf(why, whysize, "the server closed the connection before the whole response arrived");
        } else if (lib == ERR_LIB_HTTP && reason == HTTP_R_REDIRECTION_NOT_ENABLED) {
            whyf(why, whysize, "the server answered with a redirect, which signet does not follow");
        } else if (lib == ERR_LIB_HTTP &&
                   (reason == HTTP_R_RESPONSE_PARSE_ERROR || reason == HTTP_R_HEADER_PARSE_ERROR ||
                    reason == HTTP_R_RESPONSE_LINE_TOO_LONG || reason == HTTP_R_RECEIVED_WRONG_HTTP_VERSION ||
                    reason == HTTP_R_STATUS_CODE_UNSUPPORTED || reason == HTTP_R_INCONSISTENT_CONTENT_LENGTH ||
                    reason == HTTP_R_ERROR_PARSING_CONTENT_LENGTH)) {
            whyf(why, whysize, "malformed HTTP response (%s)", first);
        } else {
            found = 0;
        }
    }
    if (!found) {
        whyf(why, whysize, "HTTP exchange failed (%s)", first[0] != '\0' ? first : "no detail");
    }
    ERR_clear_error();
}

int sign__http_get(unsigned char **out, size_t *outlen, const char *url, unsigned int timeout_ms, size_t max,
                   char *why, size_t whysize)
{
    return sign__http_get_body(out, outlen, url, timeout_ms, max, 1, why, whysize);
}

/* The rest of a streamed body, at most max bytes, before deadline (revocation lists, issue 15). */
static int read_stream(unsigned char **out, size_t *outlen, BIO *resp, size_t max, int64_t deadline, char *why,
                       size_t whysize)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int n;

    if ((buf = malloc(max + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (;;) {
        if (mono_ms() > deadline) {
            whyf(why, whysize, "timed out reading the response");
            break;
        }
        n = BIO_read(resp, buf + len, (int)(max + 1 - len > 65536 ? 65536 : max + 1 - len));
        if (n > 0) {
            len += (size_t)n;
            if (len > max) {
                whyf(why, whysize, "response too large (more than %zu bytes)", max);
                break;
            }
            continue;
        }
        if (BIO_should_retry(resp)) {
            continue;
        }
        if (len == 0) {
            whyf(why, whysize, "empty response");
            break;
        }
        buf[len] = '\0';
        *out = buf;
        *outlen = len;
        return 0;
    }
    free(buf);
    ERR_clear_error();
    return SIGN_EVERIFY;
}

/* der: expect a DER body (CRLs); 0: any body (revocation lists, issue 15). */
int sign__http_get_body(unsigned char **out, size_t *outlen, const char *url, unsigned int timeout_ms, size_t max,
                        int der, char *why, size_t whysize)
{
    char *user = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL, *req = NULL;
    char *redir = NULL, *body = NULL;
    OSSL_HTTP_REQ_CTX *rctx = NULL;
    BIO *bio = NULL, *resp = NULL;
    sigset_t pipe_set, old_set;
    struct timespec zero = {0, 0};
    int64_t deadline, left;
    int ssl = 0, portnum = 0, fd = -1, r = SIGN_EVERIFY, masked = 0, secs;
    size_t reqlen;
    long len;

    *out = NULL;
    *outlen = 0;
    why[0] = '\0';
    if (timeout_ms == 0) {
        timeout_ms = SIGN_X509_CRL_TIMEOUT_MS;
    }
    deadline = mono_ms() + timeout_ms;
    if (strncasecmp(url, "http://", 7) != 0) {
        whyf(why, whysize, "not fetched: only http:// URLs are supported");
        return SIGN_EVERIFY;
    }
    if (OSSL_HTTP_parse_url(url, &ssl, &user, &host, &port, &portnum, &path, &query, &frag) != 1 || ssl) {
        ERR_clear_error();
        whyf(why, whysize, "not a valid http:// URL");
        goto out;
    }
    if (user != NULL && user[0] != '\0') {
        whyf(why, whysize, "not fetched: URLs with user information are not supported");
        goto out;
    }
    if (query != NULL && query[0] == '\0') {
        OPENSSL_free(query);
        query = NULL;
    }
    reqlen = strlen(path) + (query != NULL ? strlen(query) + 1 : 0) + 1;
    if ((req = malloc(reqlen)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(req, reqlen, "%s%s%s", path, query != NULL ? "?" : "", query != NULL ? query : "");
    if ((r = tcp_connect(&fd, host, port, deadline, timeout_ms, why, whysize)) != 0) {
        goto out;
    }
    if ((bio = BIO_new_socket(fd, BIO_CLOSE)) == NULL) {
        close(fd);
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    /*
     * OpenSSL counts whole seconds of time(): its limit ends when time()
     * reaches now + secs, which may be only a moment away within the current
     * second. Count from the start of this second so that it never ends
     * before the time left (a silent server: up to two seconds after, as
     * each wait is whole seconds from its start).
     */
    left = deadline - mono_ms();
    {
        struct timespec rt;
        int64_t into = 0;

        if (clock_gettime(CLOCK_REALTIME, &rt) == 0) {
            into = rt.tv_nsec / 1000000;
        }
        secs = left <= 0 ? 1 : (int)((left + into + 999) / 1000);
    }
    /* Our own connected BIO: OpenSSL uses no proxy (and reads no proxy variables) then. */
    if ((rctx = OSSL_HTTP_open(host, port, NULL, NULL, 0, bio, bio, NULL, NULL, 0, secs)) == NULL ||
        OSSL_HTTP_set1_request(rctx, req, NULL, NULL, NULL, NULL, der, max, secs, 0) != 1) {
        r = sign__ossl_error(SIGN_ENOMEM, "cannot set up the HTTP request for %s", url);
        goto out;
    }
    /* A server that resets the connection must not kill the process with SIGPIPE: block it in this thread. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    masked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0;
    resp = OSSL_HTTP_exchange(rctx, &redir);
    if (masked) {
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
            /* drop the SIGPIPE our write raised */
        }
        pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    }
    if (resp == NULL) {
        if (redir != NULL) {
            whyf(why, whysize,
                 "redirected to %.300s, which signet does not follow; put the final URL in the "
                 "certificate or name the CRL in the policy",
                 redir);
            ERR_clear_error();
        } else {
            exchange_cause(why, whysize, timeout_ms, max);
        }
        r = SIGN_EVERIFY;
        goto out;
    }
    if (!der) {
        /* Not DER: OpenSSL hands over the connection to read the body from (bounded by max, and the deadline). */
        r = read_stream(out, outlen, resp, max, deadline, why, whysize);
        goto out;
    }
    if ((len = BIO_get_mem_data(resp, &body)) <= 0 || body == NULL) {
        ERR_clear_error();
        whyf(why, whysize, "empty response");
        r = SIGN_EVERIFY;
        goto out;
    }
    if ((size_t)len > max) {
        whyf(why, whysize, "response too large (more than %zu bytes)", max);
        r = SIGN_EVERIFY;
        goto out;
    }
    if ((*out = malloc((size_t)len + 1)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, body, (size_t)len);
    (*out)[len] = '\0';
    *outlen = (size_t)len;
    r = 0;
out:
    BIO_free(resp); /* the response BIO is the caller's (up-referenced by OSSL_HTTP_exchange) */
    OSSL_HTTP_close(rctx, r == 0);
    BIO_free_all(bio);
    OPENSSL_free(redir);
    OPENSSL_free(user);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    OPENSSL_free(frag);
    free(req);
    ERR_clear_error();
    return r;
}

/*
 * The fullName URIs of cert's CRL distribution points, in order (at most
 * CRL_MAX_URIS). An extension that is present but cannot be decoded (or is
 * there twice) is SIGN_EREVOKED with why set: never read as "no extension".
 */
static int dp_uris(char **uris, size_t *n, X509 *cert, char *why, size_t whysize)
{
    int crit = -1, r = 0;
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, &crit, NULL);

    *n = 0;
    if (dps == NULL && crit != -1) {
        ERR_clear_error();
        whyf(why, whysize, "its CRL distribution points extension cannot be decoded%s",
             crit == -2 ? " (it appears more than once)" : "");
        return SIGN_EREVOKED;
    }
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
        const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0) {
            continue; /* a nameRelativeToCRLIssuer names no location */
        }
        for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            const ASN1_IA5STRING *s;
            int len;

            if (g->type != GEN_URI || *n >= CRL_MAX_URIS) {
                continue;
            }
            s = g->d.uniformResourceIdentifier;
            len = ASN1_STRING_length(s);
            if (len <= 0 || len >= CRL_URL_MAX || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL) {
                continue;
            }
            if ((uris[*n] = malloc((size_t)len + 1)) == NULL) {
                r = sign__error(SIGN_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(uris[*n], ASN1_STRING_get0_data(s), (size_t)len);
            uris[*n][len] = '\0';
            (*n)++;
        }
    }
out:
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    ERR_clear_error();
    return r;
}

/* 1 when every CRL of c names issuer, verifies under its key and is fresh at now. */
static int cache_usable(const sign_x509_crls *c, X509 *issuer, int64_t now)
{
    int ok = sk_X509_CRL_num(c->sk) > 0;

    for (int i = 0; ok && i < sk_X509_CRL_num(c->sk); i++) {
        X509_CRL *crl = sk_X509_CRL_value(c->sk, i);
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
        time_t t = (time_t)now;

        ok = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0 &&
             X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1 && next != NULL &&
             X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) < 0 && X509_cmp_time(next, &t) > 0;
    }
    ERR_clear_error();
    return ok;
}

/* mkdir -p dir (mode 0700 for what is created). */
static int mkdir_p(const char *dir)
{
    char *p = sign__strdup(dir);
    int r = 0;

    if (p == NULL) {
        return SIGN_ENOMEM;
    }
    for (char *s = p + 1; r == 0; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;

            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                r = sign__error(SIGN_EIO, "%s: cannot create the CRL cache directory: %s", p, strerror(errno));
            }
            *s = c;
            if (c == '\0') {
                break;
            }
        }
    }
    free(p);
    return r;
}

static int cache_path(char **out, const char *dir, const char *url)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = strlen(dir) + 2 * SIGN_SHA256_LEN + 6;

    *out = NULL;
    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != SIGN_SHA256_LEN) {
        return sign__ossl_error(SIGN_ECRYPTO, "SHA-256 failed");
    }
    if ((*out = malloc(n)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(*out, n, "%s/", dir);
    for (unsigned int i = 0; i < mdlen; i++) {
        snprintf(*out + strlen(*out), 3, "%02x", md[i]);
    }
    snprintf(*out + strlen(*out), 5, ".crl");
    return 0;
}

int sign__crl_fetch_cert(sign_x509_crls **out, char *url, size_t urlsize, int *cached, X509 *cert, X509 *issuer,
                         const sign__crl_fetch_opts *o, char *why, size_t whysize)
{
    char *uris[CRL_MAX_URIS], *path = NULL, cause[512];
    unsigned char *body = NULL;
    size_t n = 0, len = 0;
    sign_x509_crls *c = NULL;
    int r;

    *out = NULL;
    *cached = 0;
    url[0] = '\0';
    why[0] = '\0';
    if ((r = dp_uris(uris, &n, cert, why, whysize)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int stale = 0;

        free(path);
        path = NULL;
        if (strncasecmp(uris[i], "http://", 7) != 0) {
            append(why, whysize, "%.300s: not fetched (only http:// distribution points are supported)", uris[i]);
            continue;
        }
        if (o->cache_dir != NULL) {
            if ((r = cache_path(&path, o->cache_dir, uris[i])) != 0) {
                goto out;
            }
            if (sign__read_file(&body, &len, path, o->max_bytes) == 0 &&
                sign_x509_crls_parse(&c, body, len, path) == 0) {
                if (cache_usable(c, issuer, o->now)) {
                    snprintf(url, urlsize, "%s", uris[i]);
                    *cached = 1;
                    *out = c;
                    c = NULL; /* transferred */
                    r = 0;
                    goto out;
                }
                stale = 1;
            }
            sign_x509_crls_free(c);
            c = NULL;
            free(body);
            body = NULL;
            sign__error_clear();
        }
        if ((r = sign__http_get(&body, &len, uris[i], o->timeout_ms, o->max_bytes, cause, sizeof(cause))) != 0) {
            if (r == SIGN_ENOMEM) {
                goto out;
            }
            append(why, whysize, "%.300s: %s%s", uris[i], cause, stale ? " (the cached copy is stale)" : "");
            continue;
        }
        if ((r = sign_x509_crls_parse(&c, body, len, "the response")) != 0) {
            if (r == SIGN_ENOMEM) {
                goto out;
            }
            append(why, whysize, "%.300s: the response is not a CRL (%s)", uris[i], sign_error_last());
            sign__error_clear();
            free(body);
            body = NULL;
            continue;
        }
        /* Cache only what its issuer signed: a forged answer must not pin the cache. */
        if (path != NULL && cache_usable(c, issuer, o->now)) {
            if (mkdir_p(o->cache_dir) != 0 || sign__write_file_atomic(path, body, len, 0644) != 0) {
                sign__error_clear(); /* a cache that cannot be written only costs a fetch next time */
            }
        }
        snprintf(url, urlsize, "%s", uris[i]);
        *out = c;
        c = NULL; /* transferred */
        r = 0;
        goto out;
    }
    r = n == 0 ? 0 : SIGN_EREVOKED;
out:
    for (size_t i = 0; i < n; i++) {
        free(uris[i]);
    }
    free(path);
    free(body);
    sign_x509_crls_free(c);
    return r;
}
