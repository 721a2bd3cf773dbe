/*
 * Certificate and CRL containers (sign_x509_certs, sign_x509_crls): bounded
 * PEM/DER loads, DER export, keys, self-signed. Moved out of x509.c so that
 * the CRL fetch (crlfetch.c) and the chain checks (x509.c) both build on them
 * and x509.c -> crlfetch.c -> certs.c has no cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

/* ---- lists ------------------------------------------------------------ */

int sign_x509_certs_new(sign_x509_certs **out)
{
    sign_x509_certs *c;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->sk = sk_X509_new_null()) == NULL) {
        free(c);
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN_ENOMEM; /* literally non-zero: *out is set whenever 0 is returned */
    }
    *out = c;
    return 0;
}

void sign_x509_certs_free(sign_x509_certs *c)
{
    if (c == NULL) {
        return;
    }
    sk_X509_pop_free(c->sk, X509_free);
    free(c);
}

size_t sign_x509_certs_count(const sign_x509_certs *c)
{
    return c != NULL ? (size_t)sk_X509_num(c->sk) : 0;
}

X509 *sign__x509_cert_at(const sign_x509_certs *c, size_t i)
{
    if (c == NULL || i >= (size_t)sk_X509_num(c->sk)) {
        return NULL;
    }
    return sk_X509_value(c->sk, (int)i);
}

/*
 * Why the public key of x was not decoded: SIGN_ENOMEM when OpenSSL says it ran out of memory, or when the
 * key's bytes decode now (OpenSSL 3.0 queues nothing when an allocation fails inside its key decoders, so
 * the bytes are decoded again to tell), else SIGN_EPARSE. Clears OpenSSL's error queue.
 */
int sign__x509_pubkey_why(X509 *x)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_PKEY *k = NULL;
    int len, r = SIGN_EPARSE;

    if (sign__ossl_oom() || (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0) {
        r = SIGN_ENOMEM; /* the structure is there: encoding it fails only for memory */
    } else {
        p = der;
        if ((k = d2i_PUBKEY(NULL, &p, len)) != NULL || sign__ossl_oom()) {
            r = SIGN_ENOMEM;
        }
    }
    EVP_PKEY_free(k);
    OPENSSL_free(der);
    ERR_clear_error();
    return r;
}

/* Append x (taken over, also on failure). */
int sign__x509_certs_push(sign_x509_certs *c, X509 *x, const char *what)
{
    /*
     * OpenSSL keeps a certificate whose public key it could not decode (an
     * unknown algorithm, or an allocation failing while decoding) and never
     * retries: such a certificate would verify nothing, so a policy root or
     * a chain holding one would fail later for a wrong reason.
     */
    if (X509_get0_pubkey(x) == NULL) {
        int why = sign__x509_pubkey_why(x);

        X509_free(x);
        return why == SIGN_ENOMEM
                   ? sign__oom()
                   : sign__error(
                         SIGN_EPARSE,
                         "%s: certificate %d: its public key cannot be decoded (an unsupported algorithm, or out "
                         "of memory)",
                         what, sk_X509_num(c->sk) + 1);
    }
    if (sk_X509_num(c->sk) >= SIGN_X509_MAX_ITEMS) {
        X509_free(x);
        return sign__error(SIGN_ELIMIT, "%s: more than %d certificates", what, SIGN_X509_MAX_ITEMS);
    }
    if (sk_X509_push(c->sk, x) <= 0) {
        X509_free(x);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

/* One TLV header at p[0..len): tag and length checked for DER; *hdr its size, *clen the content's. */
static int der_header(const unsigned char *p, size_t len, size_t *hdr, size_t *clen, unsigned char *tag,
                      const char **why)
{
    size_t i = 1, n;

    if (len < 2) {
        *why = "truncated";
        return 0;
    }
    *tag = p[0];
    if ((p[0] & 0x1f) == 0x1f) {
        /* High tag numbers: base 128, minimal (no leading 0x80), at most 4 bytes. */
        if (p[1] == 0x80) {
            *why = "non-minimal tag";
            return 0;
        }
        while (i < len && i < 5 && (p[i] & 0x80) != 0) {
            i++;
        }
        if (i >= len || i >= 5) {
            *why = "overlong tag";
            return 0;
        }
        i++;
    }
    if (i >= len) {
        *why = "truncated";
        return 0;
    }
    if (p[i] < 0x80) {
        *clen = p[i];
        *hdr = i + 1;
    } else if (p[i] == 0x80) {
        *why = "indefinite length (BER)";
        return 0;
    } else {
        n = p[i] & 0x7f;
        if (n > 4 || i + 1 + n > len) {
            *why = "length too long or truncated";
            return 0;
        }
        if (p[i + 1] == 0) {
            *why = "length with a leading zero byte (BER)";
            return 0;
        }
        *clen = 0;
        for (size_t k = 0; k < n; k++) {
            *clen = (*clen << 8) | p[i + 1 + k];
        }
        if (*clen < 0x80) {
            *why = "long-form length of a short value (BER)";
            return 0;
        }
        *hdr = i + 1 + n;
    }
    if (*clen > len - *hdr) {
        *why = "content runs past the end";
        return 0;
    }
    return 1;
}

/* Content rules of primitive universal types that DER fixes. */
static int der_primitive_ok(unsigned char tag, const unsigned char *c, size_t clen, const char **why)
{
    if (tag == 0x01 && (clen != 1 || (c[0] != 0x00 && c[0] != 0xff))) {
        *why = "BOOLEAN not 00 or FF";
        return 0;
    }
    if (tag == 0x02 &&
        (clen == 0 || (clen > 1 && ((c[0] == 0x00 && c[1] < 0x80) || (c[0] == 0xff && c[1] >= 0x80))))) {
        *why = "INTEGER not minimally encoded";
        return 0;
    }
    return 1;
}

int sign__der_strict(const unsigned char *p, size_t len, const char **why)
{
    size_t end[65], depth = 0, off = 0;

    *why = "";
    end[0] = len;
    if (len == 0) {
        *why = "empty";
        return 0;
    }
    while (off < len) {
        size_t hdr = 0, clen = 0;
        unsigned char tag = 0;

        while (depth > 0 && off == end[depth]) {
            depth--;
        }
        if (!der_header(p + off, end[depth] - off, &hdr, &clen, &tag, why)) {
            return 0;
        }
        if (depth == 0 && off + hdr + clen != len) {
            *why = off == 0 ? "trailing data after the structure" : "more than one structure";
            return 0;
        }
        if ((tag & 0x20) != 0) {
            /* Constructed: universal string types must be primitive in DER. */
            if ((tag & 0xc0) == 0 && tag != 0x30 && tag != 0x31) {
                *why = "constructed string (BER)";
                return 0;
            }
            if (depth == 64) {
                *why = "nested too deeply";
                return 0;
            }
            end[++depth] = off + hdr + clen;
            off += hdr;
            continue;
        }
        if ((tag & 0xc0) == 0 && !der_primitive_ok(tag, p + off + hdr, clen, why)) {
            return 0;
        }
        off += hdr + clen;
    }
    return 1;
}

/* One DER CRL, strictly DER (a CRL re-encoded with indefinite lengths is refused). */
static int crls_add_der(sign_x509_crls *c, const unsigned char *der, size_t len, const char *what)
{
    const unsigned char *p = der;
    const char *why = "";
    X509_CRL *x;

    if (!sign__der_strict(der, len, &why)) {
        return sign__error(SIGN_EPARSE, "%s: malformed CRL: not DER: %s (CRLs must be DER-encoded)", what, why);
    }
    if ((x = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
        return sign__ossl_error(SIGN_EPARSE, "%s: malformed DER certificate revocation list", what);
    }
    if (p != der + len) {
        X509_CRL_free(x);
        return sign__error(SIGN_EPARSE, "%s: trailing data after the DER CRL", what);
    }
    return sign__x509_crls_push(c, x, what);
}

/* One DER item into certs, or into crls when certs is NULL. */
static int add_der(sign_x509_certs *certs, sign_x509_crls *crls, const unsigned char *der, size_t len,
                   const char *what)
{
    int r;

    if (certs == NULL) {
        return crls_add_der(crls, der, len, what);
    }
    if ((r = sign_x509_certs_add_der(certs, der, len)) != 0) {
        sign__error_context(r, "%s", what);
    }
    return r;
}

/*
 * PEM_read_bio found no block in rest, which has a "-----BEGIN " line: is there one after all? OpenSSL 3.0 reports
 * an allocation failing while it reads a block as "no start line", or queues nothing, and the list would end
 * early. The bytes are read once more: a block read now means memory ran out the first time.
 */
static int pem_missed(const char *rest, long restlen)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    BIO *b;
    int found;

    if (rest == NULL || restlen <= 0 || memmem(rest, (size_t)restlen, "-----BEGIN ", 11) == NULL) {
        return 0;
    }
    if ((b = BIO_new_mem_buf(rest, (int)restlen)) == NULL) {
        return 1;
    }
    found = PEM_read_bio(b, &name, &header, &der, &dlen) == 1 || sign__ossl_oom();
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(b);
    return found;
}

/*
 * The next PEM block of bio named name1 or name2 (other blocks are skipped), added to certs (or crls) from its
 * DER bytes, so that the strict DER check sees the bytes of the file. *more is 0 at the end of the input.
 */
static int pem_next(int *more, BIO *bio, const char *what, const char *name1, const char *name2,
                    sign_x509_certs *certs, sign_x509_crls *crls)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    char *rest = NULL;
    long dlen = 0, restlen = BIO_get_mem_data(bio, &rest);
    int r = 0;

    *more = 0;
    if (!PEM_read_bio(bio, &name, &header, &der, &dlen)) {
        unsigned long e = ERR_peek_last_error();

        /* The end of the input ends the list; anything else is a malformed block. */
        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            return sign__ossl_error(ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? SIGN_ENOMEM : SIGN_EPARSE,
                                    "%s: malformed PEM block (number %zu)", what,
                                    certs != NULL ? sign_x509_certs_count(certs) + 1
                                                  : sign_x509_crls_count(crls) + 1);
        }
        ERR_clear_error();
        return pem_missed(rest, restlen) ? sign__oom() : 0;
    }
    *more = 1;
    if (strcmp(name, name1) == 0 || (name2 != NULL && strcmp(name, name2) == 0)) {
        if (dlen <= 0) {
            r = sign__error(SIGN_EPARSE, "%s: empty PEM %s", what, name1);
        } else {
            r = add_der(certs, crls, der, (size_t)dlen, what);
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return r;
}

int sign__x509_certs_push_ref(sign_x509_certs *c, X509 *x)
{
    if (!X509_up_ref(x)) {
        return sign__ossl_error(SIGN_ENOMEM, "out of memory");
    }
    return sign__x509_certs_push(c, x, "certificates");
}

/* A new list of c's certificates: the same objects, referenced again (deep 0), or copies decoded anew (deep 1). */
static int certs_clone(sign_x509_certs **out, const sign_x509_certs *c, int deep)
{
    sign_x509_certs *d = NULL;
    int r;

    *out = NULL;
    if ((r = sign_x509_certs_new(&d)) != 0) {
        return r;
    }
    for (size_t i = 0; i < sign_x509_certs_count(c); i++) { /* (c NULL: none) */
        X509 *x = sign__x509_cert_at(c, i);

        if (deep) {
            x = X509_dup(x);
        } else if (!X509_up_ref(x)) {
            x = NULL;
        }
        r = x != NULL ? sign__x509_certs_push(d, x, "certificates") : sign__ossl_error(SIGN_ENOMEM, "out of memory");
        if (r != 0) {
            sign_x509_certs_free(d);
            return r;
        }
    }
    *out = d;
    return 0;
}

int sign__x509_certs_dup(sign_x509_certs **out, const sign_x509_certs *c)
{
    return certs_clone(out, c, 0);
}

int sign__x509_certs_copy(sign_x509_certs **out, const sign_x509_certs *c)
{
    return certs_clone(out, c, 1);
}

int sign__x509_crls_dup(sign_x509_crls **out, const sign_x509_crls *c)
{
    sign_x509_crls *d = NULL;
    int r;

    *out = NULL;
    if ((r = sign_x509_crls_new(&d)) != 0) {
        return r;
    }
    for (int i = 0; i < sk_X509_CRL_num(c->sk); i++) {
        X509_CRL *x = sk_X509_CRL_value(c->sk, i);

        if (!X509_CRL_up_ref(x)) {
            sign_x509_crls_free(d);
            return sign__ossl_error(SIGN_ENOMEM, "out of memory");
        }
        if ((r = sign__x509_crls_push(d, x, "CRLs")) != 0) {
            sign_x509_crls_free(d);
            return r;
        }
    }
    *out = d;
    return 0;
}

int sign_x509_certs_add_der(sign_x509_certs *c, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    const char *why = "";
    X509 *x;

    if (c == NULL || der == NULL || len == 0 || len > SIGN_X509_FILE_MAX) {
        return sign__error(SIGN_EINVAL, "certificate: no data or too large");
    }
    if (!sign__der_strict(der, len, &why)) {
        return sign__error(SIGN_EPARSE, "certificate: not DER: %s (certificates must be DER-encoded)", why);
    }
    if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
        return sign__ossl_error(SIGN_EPARSE, "certificate: malformed DER");
    }
    if (p != der + len) {
        X509_free(x);
        return sign__error(SIGN_EPARSE, "certificate: %zu bytes of trailing data after the DER certificate",
                           (size_t)(der + len - p));
    }
    return sign__x509_certs_push(c, x, "certificate");
}

static int looks_pem(const void *data, size_t len)
{
    return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

/* What parse_items reads: certificates ([0]) or CRLs ([1]). */
static const struct x509_kind {
    const char *what, *pem1, *pem2, *expected, *none;
} kinds[2] = {
    {"certificates", "CERTIFICATE", "X509 CERTIFICATE", "PEM or DER certificates", "PEM certificate"},
    {"CRLs", "X509 CRL", NULL, "a PEM or DER certificate revocation list", "PEM certificate revocation list"},
};

/*
 * The one reader of certificates and of CRLs: one DER item, or every PEM block of the kind (other blocks are
 * skipped). Into a new *cout (certificates), or when cout is NULL a new *lout (CRLs).
 */
static int parse_items(sign_x509_certs **cout, sign_x509_crls **lout, const void *data, size_t len, const char *what)
{
    const struct x509_kind *k = &kinds[cout == NULL];
    sign_x509_certs *certs = NULL;
    sign_x509_crls *crls = NULL;
    BIO *bio = NULL;
    int r, more = 0;

    what = what != NULL ? what : k->what;
    if (data == NULL || len == 0) {
        return sign__error(SIGN_EPARSE, "%s: empty; expected %s", what, k->expected);
    }
    if (len > SIGN_X509_FILE_MAX) {
        return sign__error(SIGN_ELIMIT, "%s: larger than %u bytes", what, SIGN_X509_FILE_MAX);
    }
    if ((r = cout != NULL ? sign_x509_certs_new(&certs) : sign_x509_crls_new(&crls)) != 0) {
        return r;
    }
    if (!looks_pem(data, len)) {
        r = add_der(certs, crls, data, len, what);
    } else if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
        r = sign__ossl_error(SIGN_ENOMEM, "out of memory");
    } else {
        do {
            r = pem_next(&more, bio, what, k->pem1, k->pem2, certs, crls);
        } while (r == 0 && more);
        if (r == 0 && sign_x509_certs_count(certs) + sign_x509_crls_count(crls) == 0) {
            r = sign__error(SIGN_EPARSE, "%s: holds no %s", what, k->none);
        }
    }
    if (r == 0 && cout != NULL) {
        *cout = certs;
        certs = NULL; /* transferred */
    } else if (r == 0) {
        *lout = crls;
        crls = NULL; /* transferred */
    }
    BIO_free(bio);
    sign_x509_certs_free(certs);
    sign_x509_crls_free(crls);
    return r;
}

/* parse_items of the file at path. */
static int load_items(sign_x509_certs **cout, sign_x509_crls **lout, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int r;

    if ((r = sign__read_file(&data, &len, path, SIGN_X509_FILE_MAX)) != 0) {
        return r;
    }
    r = parse_items(cout, lout, data, len, path);
    free(data);
    return r;
}

int sign_x509_certs_parse(sign_x509_certs **out, const void *data, size_t len, const char *what)
{
    *out = NULL;
    return parse_items(out, NULL, data, len, what);
}

int sign_x509_certs_load(sign_x509_certs **out, const char *path)
{
    *out = NULL;
    return load_items(out, NULL, path);
}

int sign_x509_certs_der(unsigned char **out, size_t *outlen, const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);
    unsigned char *der = NULL;
    int n;

    *out = NULL;
    *outlen = 0;
    if (x == NULL) {
        return sign__error(SIGN_EINVAL, "certificate %zu does not exist", i);
    }
    if ((n = i2d_X509(x, &der)) <= 0) {
        return sign__ossl_error(SIGN_ENOMEM, "cannot encode certificate %zu", i);
    }
    /* Copied so the caller frees with free(). */
    if ((*out = malloc((size_t)n)) == NULL) {
        OPENSSL_free(der);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    memcpy(*out, der, (size_t)n);
    *outlen = (size_t)n;
    OPENSSL_free(der);
    return 0;
}

int sign_x509_certs_key(sign_key **out, const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);
    EVP_PKEY *pk;

    *out = NULL;
    if (x == NULL) {
        return sign__error(SIGN_EINVAL, "certificate %zu does not exist", i);
    }
    if ((pk = X509_get_pubkey(x)) == NULL) {
        ASN1_OBJECT *alg = NULL;

        if (X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, X509_get_X509_PUBKEY(x)) == 1 &&
            OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey) {
            ERR_clear_error();
            return sign__error(SIGN_EUNSUPPORTED, "certificate's public key: WEAK_KEY: the EC public key is not a "
                                                  "point of its curve");
        }
        return sign__ossl_error(SIGN_EUNSUPPORTED, "certificate: its public key cannot be decoded");
    }
    return sign__key_adopt(out, pk, 0, "certificate's public key");
}

int sign__x509_self_signed(X509 *x)
{
    int r = X509_self_signed(x, 1);

    ERR_clear_error();
    return r == 1;
}

int sign_x509_certs_self_signed(const sign_x509_certs *c, size_t i)
{
    X509 *x = sign__x509_cert_at(c, i);

    return x != NULL && sign__x509_self_signed(x);
}

int sign_x509_crls_new(sign_x509_crls **out)
{
    sign_x509_crls *c;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->sk = sk_X509_CRL_new_null()) == NULL) {
        free(c);
        sign__error(SIGN_ENOMEM, "out of memory");
        return SIGN_ENOMEM; /* literally non-zero: *out is set whenever 0 is returned */
    }
    *out = c;
    return 0;
}

void sign_x509_crls_free(sign_x509_crls *c)
{
    if (c == NULL) {
        return;
    }
    sk_X509_CRL_pop_free(c->sk, X509_CRL_free);
    free(c);
}

size_t sign_x509_crls_count(const sign_x509_crls *c)
{
    return c != NULL ? (size_t)sk_X509_CRL_num(c->sk) : 0;
}

int sign__x509_crls_push(sign_x509_crls *c, X509_CRL *x, const char *what)
{
    if (sk_X509_CRL_num(c->sk) >= SIGN_X509_MAX_ITEMS) {
        X509_CRL_free(x);
        return sign__error(SIGN_ELIMIT, "%s: more than %d CRLs", what, SIGN_X509_MAX_ITEMS);
    }
    if (sk_X509_CRL_push(c->sk, x) <= 0) {
        X509_CRL_free(x);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    return 0;
}

int sign_x509_crls_merge(sign_x509_crls *to, sign_x509_crls *from)
{
    int r;

    while (sk_X509_CRL_num(from->sk) > 0) {
        if ((r = sign__x509_crls_push(to, sk_X509_CRL_shift(from->sk), "CRLs")) != 0) {
            return r;
        }
    }
    return 0;
}

int sign_x509_crls_parse(sign_x509_crls **out, const void *data, size_t len, const char *what)
{
    *out = NULL;
    return parse_items(NULL, out, data, len, what);
}

int sign_x509_crls_load(sign_x509_crls **out, const char *path)
{
    *out = NULL;
    return load_items(NULL, out, path);
}
