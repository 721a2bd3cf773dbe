/*
 * signet-tsa-test-server: a small RFC 3161 time-stamp authority for tests and
 * the demo, built on OpenSSL's TS_RESP_CTX. It listens on 127.0.0.1 on an
 * ephemeral port, answers HTTP/1.0 or 1.1 POSTs of application/timestamp-query
 * with application/timestamp-reply (one request per connection), and serves
 * until it is killed or its standard input is closed (so a test that dies
 * takes its server with it).
 *
 * usage: signet-tsa-test-server --cert TSA.pem --key TSA.key [--chain CHAIN.pem]
 *            [--policy OID] [--time EPOCH] [--port-file FILE] [--fault FAULT] [--until-killed]
 *            [--tls-cert CERT.pem --tls-key KEY.pem]
 *
 * With --tls-cert/--tls-key it serves https instead. When ready it prints "http://127.0.0.1:PORT/" and a newline on
 * stdout (and writes it to --port-file, atomically, when given). --until-killed ignores standard input (for a shell
 * script that runs it in the background).
 *
 * Faults (one at a time):
 *   slow=N         sleep N seconds before answering
 *   close          accept the connection and close it without an answer
 *   refuse         report a port, but close the listening socket (connection refused)
 *   http500        answer HTTP 500
 *   garbage        answer 200 with a body that is not a TimeStampResp
 *   wrong-nonce    a valid token whose nonce is not the request's
 *   wrong-imprint  a valid token whose imprint is over other bytes
 *   reject         a TimeStampResp with status rejection (digest not accepted)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_REQUEST (64 * 1024)

enum fault {
    F_NONE,
    F_SLOW,
    F_CLOSE,
    F_REFUSE,
    F_HTTP500,
    F_GARBAGE,
    F_WRONG_NONCE,
    F_WRONG_IMPRINT,
    F_REJECT,
    F_NO_CERTS
};

static X509 *tsa_cert;
static EVP_PKEY *tsa_key;
static STACK_OF(X509) * tsa_chain;
static ASN1_OBJECT *tsa_policy;
static enum fault fault = F_NONE;
static int accuracy_seconds = 1;
static long slow_seconds;
static long long fixed_time = -1;
static unsigned long serial_counter = 1;
static SSL_CTX *tls_ctx; /* --tls-cert/--tls-key: serve https */
static SSL *tls;         /* the current connection's TLS, or NULL */

static void die(const char *what)
{
    fprintf(stderr, "signet-tsa-test-server: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static void load(const char *cert, const char *key, const char *chain)
{
    FILE *f;

    if ((f = fopen(cert, "r")) == NULL || (tsa_cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
        die("cannot read --cert");
    }
    fclose(f);
    if ((f = fopen(key, "r")) == NULL || (tsa_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
        die("cannot read --key");
    }
    fclose(f);
    if ((tsa_chain = sk_X509_new_null()) == NULL) {
        die("out of memory");
    }
    if (chain != NULL) {
        X509 *x;

        if ((f = fopen(chain, "r")) == NULL) {
            die("cannot read --chain");
        }
        while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(tsa_chain, x)) {
                die("out of memory");
            }
        }
        ERR_clear_error();
        fclose(f);
    }
}

static ASN1_INTEGER *serial_cb(TS_RESP_CTX *ctx, void *data)
{
    ASN1_INTEGER *s = ASN1_INTEGER_new();

    (void)data;
    if (s == NULL || !ASN1_INTEGER_set(s, (long)serial_counter++)) {
        ASN1_INTEGER_free(s);
        TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "serial number error");
        return NULL;
    }
    return s;
}

static int time_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
    (void)ctx;
    (void)data;
    *sec = (long)fixed_time;
    *usec = 0;
    return 1;
}

/* Change the request's nonce or imprint (the token will be valid, but over other values). */
static BIO *alter_request(BIO *req)
{
    TS_REQ *r = d2i_TS_REQ_bio(req, NULL);
    BIO *out = NULL;

    if (r == NULL) {
        return NULL;
    }
    if (fault == F_WRONG_NONCE) {
        ASN1_INTEGER *n = ASN1_INTEGER_new();

        ASN1_INTEGER_set(n, 12345);
        TS_REQ_set_nonce(r, n);
        ASN1_INTEGER_free(n);
    } else if (fault == F_WRONG_IMPRINT) {
        TS_MSG_IMPRINT *mi = TS_REQ_get_msg_imprint(r);
        ASN1_OCTET_STRING *d = TS_MSG_IMPRINT_get_msg(mi);
        unsigned char other[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        /* The digest of other bytes: of the request's digest itself. */
        EVP_Digest(ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d), other, &n, EVP_sha256(), NULL);
        ASN1_OCTET_STRING_set(d, other, (int)n);
    }
    out = BIO_new(BIO_s_mem());
    if (out != NULL && !i2d_TS_REQ_bio(out, r)) {
        BIO_free(out);
        out = NULL;
    }
    TS_REQ_free(r);
    return out;
}

/* The DER TimeStampResp for a DER TimeStampReq; NULL on failure. */
static unsigned char *respond(const unsigned char *req, size_t reqlen, int *outlen)
{
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    BIO *in = BIO_new_mem_buf(req, (int)reqlen), *altered = NULL;
    TS_RESP *resp = NULL;
    unsigned char *der = NULL;

    *outlen = 0;
    if (ctx == NULL || in == NULL) {
        goto out;
    }
    if (!TS_RESP_CTX_set_signer_cert(ctx, tsa_cert) || !TS_RESP_CTX_set_signer_key(ctx, tsa_key) ||
        !TS_RESP_CTX_set_certs(ctx, tsa_chain) || !TS_RESP_CTX_set_def_policy(ctx, tsa_policy) ||
        !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) || !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256())) {
        goto out;
    }
    if (fault == F_REJECT) {
        /* Only SHA-512 imprints are accepted: a SHA-256 request is rejected (badAlg). */
        TS_RESP_CTX_add_md(ctx, EVP_sha512());
    } else {
        TS_RESP_CTX_add_md(ctx, EVP_sha256());
        TS_RESP_CTX_add_md(ctx, EVP_sha384());
        TS_RESP_CTX_add_md(ctx, EVP_sha512());
    }
    TS_RESP_CTX_add_flags(ctx, TS_ESS_CERT_ID_CHAIN);
    if (accuracy_seconds > 0) {
        TS_RESP_CTX_set_accuracy(ctx, accuracy_seconds, 0, 0);
    }
    TS_RESP_CTX_set_serial_cb(ctx, serial_cb, NULL);
    if (fixed_time >= 0) {
        TS_RESP_CTX_set_time_cb(ctx, time_cb, NULL);
    }
    if (fault == F_WRONG_NONCE || fault == F_WRONG_IMPRINT) {
        if ((altered = alter_request(in)) == NULL) {
            goto out;
        }
        resp = TS_RESP_create_response(ctx, altered);
    } else {
        resp = TS_RESP_create_response(ctx, in);
    }
    if (resp == NULL) {
        goto out;
    }
    if (fault == F_NO_CERTS && TS_RESP_get_token(resp) != NULL) {
        /* As Sigstore's TSA answers by default: the signed token without any certificate (not signed over). */
        STACK_OF(X509) *certs = TS_RESP_get_token(resp)->d.sign->cert;

        while (sk_X509_num(certs) > 0) {
            X509_free(sk_X509_pop(certs));
        }
    }
    *outlen = i2d_TS_RESP(resp, &der);
    if (*outlen <= 0) {
        der = NULL;
        *outlen = 0;
    }
out:
    ERR_clear_error();
    TS_RESP_free(resp);
    BIO_free(altered);
    BIO_free(in);
    TS_RESP_CTX_free(ctx);
    return der;
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = tls != NULL ? (ssize_t)SSL_write(tls, p, (int)len) : write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void answer(int fd, int status, const char *type, const void *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     status == 200   ? "OK"
                     : status == 500 ? "Internal Server Error"
                                     : "Bad Request",
                     type, len);

    write_all(fd, head, (size_t)n);
    write_all(fd, body, len);
}

static void serve(int fd)
{
    static unsigned char buf[MAX_REQUEST + 1];
    size_t used = 0, want = 0, hlen = 0;
    char *end = NULL;
    long clen = -1;

    if (fault == F_CLOSE) {
        return;
    }
    /* Headers, then Content-Length bytes of body. */
    for (;;) {
        ssize_t n;

        if (hlen == 0) {
            buf[used] = '\0';
            if ((end = strstr((char *)buf, "\r\n\r\n")) != NULL) {
                char *cl;

                hlen = (size_t)(end - (char *)buf) + 4;
                *end = '\0';
                if (strncmp((char *)buf, "POST ", 5) != 0) {
                    answer(fd, 400, "text/plain", "POST only\n", 10);
                    return;
                }
                for (cl = (char *)buf; (cl = strchr(cl, '\n')) != NULL; cl++) {
                    if (strncasecmp(cl + 1, "Content-Length:", 15) == 0) {
                        clen = strtol(cl + 16, NULL, 10);
                    }
                }
                if (clen < 0 || clen > MAX_REQUEST - (long)hlen) {
                    answer(fd, 400, "text/plain", "bad length\n", 11);
                    return;
                }
                want = hlen + (size_t)clen;
            }
        }
        if (hlen != 0 && used >= want) {
            break;
        }
        if (used >= MAX_REQUEST) {
            return;
        }
        n = tls != NULL ? (ssize_t)SSL_read(tls, buf + used, (int)(MAX_REQUEST - used))
                        : read(fd, buf + used, MAX_REQUEST - used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        used += (size_t)n;
    }
    if (fault == F_SLOW) {
        sleep((unsigned)slow_seconds);
    }
    if (fault == F_HTTP500) {
        answer(fd, 500, "text/plain", "test TSA: internal error\n", 25);
        return;
    }
    if (fault == F_GARBAGE) {
        static const char junk[] = "this is not a TimeStampResp";

        answer(fd, 200, "application/timestamp-reply", junk, sizeof(junk) - 1);
        return;
    }
    {
        int rlen = 0;
        unsigned char *der = respond(buf + hlen, (size_t)clen, &rlen);

        if (der == NULL) {
            answer(fd, 500, "text/plain", "test TSA: cannot answer\n", 24);
            return;
        }
        answer(fd, 200, "application/timestamp-reply", der, (size_t)rlen);
        OPENSSL_free(der);
    }
}

/*
 * OpenSSL refuses to sign with a certificate that is not fit for time
 * stamping; this server must (to test verifiers), so its purpose check passes all.
 */
static int any_certificate(const X509_PURPOSE *p, const X509 *x, int ca)
{
    (void)p;
    (void)x;
    (void)ca;
    return 1;
}

static void usage(void)
{
    fputs("usage: signet-tsa-test-server --cert TSA.pem --key TSA.key [--chain CHAIN.pem] [--policy OID]\n"
          "           [--time EPOCH] [--port-file FILE] [--until-killed] [--tls-cert CERT --tls-key KEY]\n"
          "           [--fault "
          "slow=N|close|refuse|http500|garbage|wrong-nonce|wrong-imprint|reject|no-certs|accuracy=N]\n",
          stderr);
    exit(2);
}

static void parse_fault(const char *s)
{
    if (strncmp(s, "accuracy=", 9) == 0) {
        /* Not a fault: the accuracy (seconds) the tokens state; 0 for none. The default is 1 s. */
        accuracy_seconds = (int)strtol(s + 9, NULL, 10);
    } else if (strncmp(s, "slow=", 5) == 0) {
        fault = F_SLOW;
        slow_seconds = strtol(s + 5, NULL, 10);
    } else if (strcmp(s, "close") == 0) {
        fault = F_CLOSE;
    } else if (strcmp(s, "refuse") == 0) {
        fault = F_REFUSE;
    } else if (strcmp(s, "http500") == 0) {
        fault = F_HTTP500;
    } else if (strcmp(s, "garbage") == 0) {
        fault = F_GARBAGE;
    } else if (strcmp(s, "wrong-nonce") == 0) {
        fault = F_WRONG_NONCE;
    } else if (strcmp(s, "wrong-imprint") == 0) {
        fault = F_WRONG_IMPRINT;
    } else if (strcmp(s, "reject") == 0) {
        fault = F_REJECT;
    } else if (strcmp(s, "no-certs") == 0) {
        fault = F_NO_CERTS;
    } else {
        usage();
    }
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *chain = NULL, *policy = "1.2.3.4.1", *port_file = NULL;
    const char *tls_cert = NULL, *tls_key = NULL;
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    char url[64];
    int lfd, one = 1, watch_stdin = 1;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--until-killed") == 0) {
            watch_stdin = 0;
            continue;
        }
        if (v == NULL) {
            usage();
        }
        if (strcmp(argv[i], "--cert") == 0) {
            cert = v;
        } else if (strcmp(argv[i], "--key") == 0) {
            key = v;
        } else if (strcmp(argv[i], "--chain") == 0) {
            chain = v;
        } else if (strcmp(argv[i], "--policy") == 0) {
            policy = v;
        } else if (strcmp(argv[i], "--time") == 0) {
            fixed_time = strtoll(v, NULL, 10);
        } else if (strcmp(argv[i], "--tls-cert") == 0) {
            tls_cert = v;
        } else if (strcmp(argv[i], "--tls-key") == 0) {
            tls_key = v;
        } else if (strcmp(argv[i], "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(argv[i], "--fault") == 0) {
            parse_fault(v);
        } else {
            usage();
        }
        i++;
    }
    if (cert == NULL || key == NULL) {
        usage();
    }
    signal(SIGPIPE, SIG_IGN);
    if (!X509_PURPOSE_add(X509_PURPOSE_TIMESTAMP_SIGN, X509_TRUST_TSA, 0, any_certificate, "any certificate",
                          "timestampsign", NULL)) {
        die("cannot relax the signer check");
    }
    load(cert, key, chain);
    if (tls_cert != NULL || tls_key != NULL) {
        if (tls_cert == NULL || tls_key == NULL || (tls_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
            SSL_CTX_use_certificate_chain_file(tls_ctx, tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls_ctx, tls_key, SSL_FILETYPE_PEM) != 1) {
            die("cannot set up TLS (--tls-cert and --tls-key)");
        }
    }
    if ((tsa_policy = OBJ_txt2obj(policy, 1)) == NULL) {
        die("--policy is not a dotted OID");
    }
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        die("socket");
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        die("cannot listen on 127.0.0.1");
    }
    snprintf(url, sizeof(url), "%s://127.0.0.1:%u/", tls_ctx != NULL ? "https" : "http",
             (unsigned)ntohs(sa.sin_port));
    if (fault == F_REFUSE) {
        close(lfd); /* nothing listens on the port any more: connections are refused */
        lfd = -1;
    }
    if (port_file != NULL) {
        char tmp[4096];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", url) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file) != 0) {
            die("cannot write --port-file");
        }
    }
    printf("%s\n", url);
    fflush(stdout);
    for (;;) {
        struct pollfd p[2] = {{watch_stdin ? 0 : -1, POLLIN, 0}, {lfd, POLLIN, 0}};
        int n = poll(p, 2, -1);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            die("poll");
        }
        if (p[0].revents != 0) {
            char c;

            if (read(0, &c, 1) <= 0) {
                break; /* stdin closed: the test (or demo) is done */
            }
        }
        if (lfd >= 0 && (p[1].revents & POLLIN) != 0) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if (cfd >= 0) {
                if (tls_ctx != NULL) {
                    tls = SSL_new(tls_ctx);
                    if (tls == NULL || !SSL_set_fd(tls, cfd) || SSL_accept(tls) != 1) {
                        SSL_free(tls);
                        tls = NULL;
                        ERR_clear_error();
                        close(cfd);
                        continue;
                    }
                }
                serve(cfd);
                if (tls != NULL) {
                    SSL_shutdown(tls);
                    SSL_free(tls);
                    tls = NULL;
                }
                close(cfd);
            }
        }
    }
    if (lfd >= 0) {
        close(lfd);
    }
    X509_free(tsa_cert);
    EVP_PKEY_free(tsa_key);
    sk_X509_pop_free(tsa_chain, X509_free);
    ASN1_OBJECT_free(tsa_policy);
    SSL_CTX_free(tls_ctx);
    return 0;
}
