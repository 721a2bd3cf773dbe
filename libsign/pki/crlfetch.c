/*
 * Online revocation: CRLs fetched over HTTP (net/http.c) from certificates'
 * CRL distribution points, with a cache that honours nextUpdate. Only reached
 * with SIGN_X509_FETCH_CRL; nothing else in libsign opens a socket for CRLs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "sign/digest.h"
#include "crlfetch.h"
#include "http.h"
#include "pki.h"

/* Longest distribution point URI taken, and most URIs tried per certificate. */
#define CRL_URL_MAX 2048
#define CRL_MAX_URIS 8

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

/*
 * The DER header of a CRL body: a SEQUENCE whose stated length fits max.
 * Checked before parsing so that "not DER" and "too large" (a length that
 * claims more than the cap) are told apart from "DER, but not a CRL".
 */
static int der_check(const unsigned char *b, size_t len, size_t max, char *cause, size_t size)
{
    size_t total = 0, n;

    if (len < 2 || b[0] != 0x30) {
        whyf(cause, size, "the response is not a DER CRL");
        return -1;
    }
    if (b[1] < 0x80) {
        total = 2 + (size_t)b[1];
    } else {
        n = b[1] & 0x7fu;
        if (n == 0 || n > 4 || len < 2 + n) {
            whyf(cause, size, "the response is not a DER CRL");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            total = (total << 8) | b[2 + i];
        }
        total += 2 + n;
    }
    if (total > max) {
        whyf(cause, size, "response too large (its DER length says %zu bytes, over the %zu-byte cap)", total, max);
        return -1;
    }
    return 0;
}

/*
 * GET url with the HTTP client (no redirects, the fetch's deadline and cap).
 * 0 with the body; SIGN_EVERIFY with "URL: cause" in cause; SIGN_ENOMEM.
 */
static int crl_get(unsigned char **out, size_t *outlen, const char *url, const sign__crl_fetch_opts *o, char *cause,
                   size_t size)
{
    sign__http_options ho = {0};
    sign__http_response resp;
    char der[160];
    int r;

    *out = NULL;
    *outlen = 0;
    ho.timeout_ms = o->timeout_ms;
    ho.max_body = o->max_bytes;
    r = sign__http_request(&resp, "GET", url, NULL, 0, &ho);
    if (r == SIGN_ENOMEM) {
        goto out;
    }
    if (r != 0) {
        whyf(cause, size, "%s%s", sign_error_last(),
             r == SIGN_EHTTP && resp.status >= 300 && resp.status < 400
                 ? "; put the final URL in the certificate or name the CRL in the policy"
                 : "");
        sign__error_clear();
        r = SIGN_EVERIFY;
        goto out;
    }
    if (der_check(resp.body, resp.body_len, o->max_bytes, der, sizeof(der)) != 0) {
        whyf(cause, size, "%.300s: %s", url, der);
        r = SIGN_EVERIFY;
        goto out;
    }
    *out = resp.body;
    *outlen = resp.body_len;
    resp.body = NULL; /* transferred */
out:
    sign__http_response_free(&resp);
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
        return sign__oom();
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
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (SHA-256 failed)"); /* built-in SHA-256: memory only */
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
        if ((r = crl_get(&body, &len, uris[i], o, cause, sizeof(cause))) != 0) {
            if (r == SIGN_ENOMEM) {
                goto out;
            }
            append(why, whysize, "%s%s", cause, stale ? " (the cached copy is stale)" : "");
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
