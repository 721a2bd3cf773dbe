/*
 * libsign's one HTTP client (docs/network.md): HTTP/1.1 GET and POST over
 * TCP or TLS (OpenSSL, TLS 1.2 or later, the system's CA store or a CA file,
 * host name checks, SNI), with a connect deadline and a total deadline
 * (non-blocking sockets and poll), a cap on the response body, Content-Length
 * and chunked bodies, and no redirects unless the caller allows them. It
 * never uses a proxy and never reads the environment. Not installed.
 *
 * Errors: every message names the URL and the cause, "[what ]URL: cause",
 * and the code tells the class:
 *   SIGN_EINVAL    the URL or a request header is malformed or refused
 *   SIGN_ENETWORK  cannot resolve or connect, refused, closed or reset early,
 *                  TLS handshake or certificate verification failed
 *   SIGN_ETIMEOUT  a deadline passed ("timed out after N s ...")
 *   SIGN_EHTTP     a status the caller did not accept (status in out->status),
 *                  a redirect refused, a redirect loop or too many redirects
 *   SIGN_ELIMIT    the body is larger than the cap
 *   SIGN_EPARSE    the response is not HTTP/1.x as specified
 *   SIGN_EIO       the CA file cannot be read
 *   SIGN_ENOMEM, or the code a body callback returned.
 */
#ifndef SIGN_NET_HTTP_H
#define SIGN_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Longest URL taken (bytes). */
#define SIGN__HTTP_URL_MAX 4096
/* Defaults for the options left 0. */
#define SIGN__HTTP_TIMEOUT_MS 10000u
#define SIGN__HTTP_MAX_BODY (16u * 1024u * 1024u)
/* Most redirects a caller may allow. */
#define SIGN__HTTP_REDIRECTS_MAX 20u

/* Flags of sign__http_options. */
/*
 * Return any final status with its body; else only 2xx (others: SIGN_EHTTP).
 * With max_redirects 0, a redirect is then returned as it is (status, Location).
 */
#define SIGN__HTTP_ANY_STATUS 0x1u
/*
 * HTTPS without verifying the certificate of the request URL's own host and
 * port (a registry's --tls-verify=false). A redirect to another host or port
 * is verified as usual. Never a default.
 */
#define SIGN__HTTP_TLS_NO_VERIFY 0x2u

typedef struct sign__http_header {
    const char *name;
    const char *value;
} sign__http_header;

/*
 * Receives the final response's body as it arrives (only for a status that
 * is returned, not for redirects or refused statuses). Non-zero aborts the
 * request and is returned (set the error message first).
 */
typedef int (*sign__http_body_fn)(void *arg, const unsigned char *data, size_t len);

/*
 * Persistent connections (HTTP/1.1 keep-alive), shared by the threads of one
 * caller (a registry client). A request under a pool sends no "Connection:
 * close"; when its response ended at its Content-Length or last chunk, with
 * nothing left over and the server not saying "Connection: close", the
 * connection is parked in the pool (at most 8 idle ones) for a later request
 * to the same scheme, host, port and TLS settings (certificate checked or
 * not, CA files). A GET or HEAD takes an idle one; if the server closed it
 * before answering, it is sent once more on a new connection. A POST or PUT
 * always opens a new connection, so it is never sent twice. The small body of
 * a refused status (at most 64 KiB) is read and dropped to keep its
 * connection. Thread-safe; each connection serves one request at a time.
 */
typedef struct sign__http_pool sign__http_pool;
sign__http_pool *sign__http_pool_new(void);    /* NULL: out of memory */
void sign__http_pool_free(sign__http_pool *p); /* closes the idle connections; none may be in use */
/* The connections opened for requests under p so far (tests and figures). */
unsigned long sign__http_pool_opened(sign__http_pool *p);

typedef struct sign__http_options {
    const char *what;                /* names the service in messages ("TSA"), or NULL */
    unsigned int connect_timeout_ms; /* per connection: TCP connect and TLS handshake; 0: default */
    unsigned int timeout_ms;         /* the whole request, redirects included; 0: SIGN__HTTP_TIMEOUT_MS */
    size_t max_body;                 /* largest response body, bytes; 0: SIGN__HTTP_MAX_BODY */
    unsigned int max_redirects;      /* 0: a redirect is an error; at most SIGN__HTTP_REDIRECTS_MAX */
    unsigned int flags;              /* SIGN__HTTP_* */
    const char *ca_file;             /* PEM CA certificates trusted instead of the system store, or NULL */
    const char *ca_extra; /* PEM CA certificates trusted besides those, for the first URL's host only, or NULL */
    const sign__http_header *headers; /* extra request headers (not Host, Content-Length, ...) */
    size_t nheaders;
    const char *content_type;   /* of a request body, or NULL */
    sign__http_body_fn on_body; /* stream the body there instead of buffering it, or NULL */
    void *arg;                  /* for on_body */
    sign__http_pool *pool;      /* keep and reuse connections there, or NULL: one connection per request */
} sign__http_options;

typedef struct sign__http_response {
    int status;         /* also set when SIGN_EHTTP refused it */
    char *content_type; /* the selected headers' values as received (untrusted text), or NULL */
    char *location;
    char *www_authenticate;
    int64_t content_length; /* -1 when absent (chunked, or up to the close) */
    unsigned char *body;    /* NUL-terminated (not counted); NULL when streamed to on_body */
    size_t body_len;
    char *url;  /* the URL that answered (after redirects) */
    char *link; /* the (first) Link header, as received (untrusted text), or NULL */
} sign__http_response;

/* A parsed http:// or https:// URL. */
typedef struct sign__url {
    int https;
    int is_ip;                           /* host is an IPv4 or IPv6 address */
    char host[256];                      /* lower case; IPv6 without brackets */
    char port[6];                        /* decimal, always set (80, 443 by default) */
    int default_port;                    /* no port given, or the scheme's */
    char target[SIGN__HTTP_URL_MAX + 1]; /* path and query, at least "/" */
} sign__url;

/*
 * Parse url strictly: scheme http or https, host (a DNS name, a dotted IPv4
 * address, or an IPv6 literal in brackets), optional port 1-65535, path and
 * query of printable ASCII with valid %XX escapes. Refused (SIGN_EINVAL, with
 * the reason): user information, a fragment, control characters, spaces,
 * non-ASCII bytes, backslashes, more than SIGN__HTTP_URL_MAX bytes.
 */
int sign__url_parse(sign__url *out, const char *url);

/*
 * method ("GET" or "POST") url, with body (bodylen bytes, may be NULL/0 for
 * GET), under o (NULL: defaults). On success *out holds the response (free
 * with sign__http_response_free); on failure *out holds only what is known
 * (status for SIGN_EHTTP) and must be freed too.
 */
int sign__http_request(sign__http_response *out, const char *method, const char *url, const void *body,
                       size_t bodylen, const sign__http_options *o);

void sign__http_response_free(sign__http_response *r);

/*
 * The response parser alone (the fuzz target's entry): data as if a server
 * had sent it and closed, read in pieces of at most piece bytes (0: as much
 * as fits), judged like the answer to a GET of "http://response.invalid/"
 * under o (status, head, body rules, cap, messages). No socket is opened.
 */
int sign__http_parse_response(sign__http_response *out, const void *data, size_t len, size_t piece,
                              const sign__http_options *o);

#endif
