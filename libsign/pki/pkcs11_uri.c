/*
 * RFC 7512 PKCS#11 URIs: "pkcs11:" path attributes separated by ';', then
 * optionally '?' and query attributes separated by '&'. Values are
 * percent-decoded; text values may not hold NUL, the id is binary. Unknown
 * and repeated attributes are refused: a URI that names a key must not be
 * read as naming another one.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "sign/pkcs11.h"
#include "pki.h"

/* Longest URI read: real ones are a few hundred bytes. */
#define URI_MAX 4096

enum attr_kind { TEXT, BINARY, SLOT_ID };

struct attr {
    const char *name;
    int query; /* 1: a query attribute (after '?') */
    enum attr_kind kind;
    size_t off; /* offset of the char * (TEXT) field in sign_pkcs11_uri */
};

#define F(field) offsetof(sign_pkcs11_uri, field)

static const struct attr attrs[] = {
    {"token", 0, TEXT, F(token)},
    {"manufacturer", 0, TEXT, F(manufacturer)},
    {"serial", 0, TEXT, F(serial)},
    {"model", 0, TEXT, F(model)},
    {"object", 0, TEXT, F(object)},
    {"type", 0, TEXT, F(type)},
    {"id", 0, BINARY, 0},
    {"slot-id", 0, SLOT_ID, 0},
    {"slot-description", 0, TEXT, F(slot_description)},
    {"slot-manufacturer", 0, TEXT, F(slot_manufacturer)},
    {"library-manufacturer", 0, TEXT, F(library_manufacturer)},
    {"library-description", 0, TEXT, F(library_description)},
    {"library-version", 0, TEXT, F(library_version)},
    {"module-path", 1, TEXT, F(module_path)},
    {"module-name", 1, TEXT, F(module_name)},
    {"pin-value", 1, TEXT, F(pin_value)},
    {"pin-source", 1, TEXT, F(pin_source)},
};

void sign_pkcs11_uri_free(sign_pkcs11_uri *u)
{
    if (u == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        if (attrs[i].kind == TEXT) {
            char **p = (char **)(void *)((unsigned char *)u + attrs[i].off);

            if (*p != NULL) {
                sign__free_secret(*p, strlen(*p)); /* pin-value among them */
            }
        }
    }
    free(u->id);
    OPENSSL_cleanse(u, sizeof(*u));
    free(u);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* RFC 7512 pchar/qchar without '%': unreserved, the sub-delims but the separators, ':', '@' (and '/', '?' in a
 * query). */
static int plain_char(unsigned char c, int query)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return 1;
    }
    if (strchr("-._~:[]@!$'()*+,=", c) != NULL && c != '\0') {
        return 1;
    }
    if (c == '&') {
        return !query; /* a path value may hold '&'; in the query it separates */
    }
    return query && (c == '/' || c == '?' || c == '|' || c == ';');
}

/* Percent-decode s[0..n) into a new buffer (NUL-terminated, *outlen bytes before it). */
static int pct_decode(unsigned char **out, size_t *outlen, const char *s, size_t n, int query, const char *name)
{
    unsigned char *buf;
    size_t j = 0;

    *out = NULL;
    *outlen = 0;
    if ((buf = malloc(n + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi = -1, lo = -1;

            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0) {
                sign__free_secret(buf, n + 1);
                return sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute %s: bad percent-encoding", name);
            }
            buf[j++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (plain_char(c, query)) {
            buf[j++] = c;
        } else {
            sign__free_secret(buf, n + 1);
            return sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute %s: character 0x%02x must be percent-encoded",
                               name, c);
        }
    }
    buf[j] = '\0';
    *out = buf;
    *outlen = j;
    return 0;
}

static int set_slot_id(sign_pkcs11_uri *u, const unsigned char *v, size_t n)
{
    unsigned long x = 0;

    if (n == 0 || n > 20) {
        return sign__error(SIGN_EPARSE, "PKCS#11 URI: slot-id must be a decimal number");
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || x > (ULONG_MAX - (v[i] - '0')) / 10) {
            return sign__error(SIGN_EPARSE, "PKCS#11 URI: slot-id must be a decimal number");
        }
        x = x * 10 + (unsigned long)(v[i] - '0');
    }
    u->slot_id = x;
    u->has_slot_id = 1;
    return 0;
}

/* One "name=value" of length n. */
static int parse_attr(sign_pkcs11_uri *u, const char *s, size_t n, int query)
{
    const char *eq = memchr(s, '=', n);
    const struct attr *a = NULL;
    unsigned char *v = NULL;
    size_t nlen, vlen = 0;
    int r;

    if (eq == NULL) {
        return sign__error(SIGN_EPARSE, "PKCS#11 URI: \"%.*s\" is not name=value", (int)(n > 64 ? 64 : n), s);
    }
    nlen = (size_t)(eq - s);
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        if (strlen(attrs[i].name) == nlen && memcmp(attrs[i].name, s, nlen) == 0 && attrs[i].query == query) {
            a = &attrs[i];
        }
    }
    if (a == NULL) {
        return sign__error(SIGN_EPARSE, "PKCS#11 URI: unknown %s attribute \"%.*s\"", query ? "query" : "path",
                           (int)(nlen > 64 ? 64 : nlen), s);
    }
    if ((r = pct_decode(&v, &vlen, eq + 1, n - nlen - 1, query, a->name)) != 0) {
        return r;
    }
    if (a->kind == BINARY) {
        if (u->has_id) {
            r = sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute id given twice");
        } else {
            u->id = v;
            u->id_len = vlen;
            u->has_id = 1;
            v = NULL; /* transferred */
        }
    } else if (a->kind == SLOT_ID) {
        r = u->has_slot_id ? sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute slot-id given twice")
                           : set_slot_id(u, v, vlen);
    } else {
        char **field = (char **)(void *)((unsigned char *)u + a->off);

        if (*field != NULL) {
            r = sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute %s given twice", a->name);
        } else if (memchr(v, '\0', vlen) != NULL) {
            r = sign__error(SIGN_EPARSE, "PKCS#11 URI: attribute %s holds a NUL byte", a->name);
        } else {
            *field = (char *)v;
            v = NULL; /* transferred */
        }
    }
    if (v != NULL) {
        sign__free_secret(v, vlen + 1);
    }
    return r;
}

/* The attributes of s[0..n) separated by sep. */
static int parse_list(sign_pkcs11_uri *u, const char *s, size_t n, char sep, int query)
{
    size_t start = 0;
    int r;

    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == sep) {
            if (i == start) {
                return sign__error(SIGN_EPARSE, "PKCS#11 URI: empty attribute");
            }
            if ((r = parse_attr(u, s + start, i - start, query)) != 0) {
                return r;
            }
            start = i + 1;
        }
    }
    return 0;
}

static int check_type(const sign_pkcs11_uri *u)
{
    static const char *const types[] = {"private", "public", "cert", "secret-key", "data"};

    if (u->type == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(u->type, types[i]) == 0) {
            return 0;
        }
    }
    return sign__error(SIGN_EPARSE, "PKCS#11 URI: type=%.32s is not private, public, cert, secret-key or data",
                       u->type);
}

int sign_pkcs11_uri_parse(sign_pkcs11_uri **out, const char *uri)
{
    static const char scheme[] = "pkcs11:";
    sign_pkcs11_uri *u = NULL;
    const char *path, *q;
    size_t len;
    int r;

    *out = NULL;
    if (uri == NULL || (len = strnlen(uri, URI_MAX + 1)) > URI_MAX) {
        return sign__error(SIGN_EPARSE, "PKCS#11 URI: missing or longer than %d bytes", URI_MAX);
    }
    if (len < sizeof(scheme) - 1 || strncasecmp(uri, scheme, sizeof(scheme) - 1) != 0) {
        return sign__error(SIGN_EPARSE, "not a PKCS#11 URI (it must start with \"pkcs11:\")");
    }
    if ((u = calloc(1, sizeof(*u))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    path = uri + sizeof(scheme) - 1;
    q = strchr(path, '?');
    if ((r = parse_list(u, path, q != NULL ? (size_t)(q - path) : strlen(path), ';', 0)) != 0 ||
        (q != NULL && (r = parse_list(u, q + 1, strlen(q + 1), '&', 1)) != 0) || (r = check_type(u)) != 0) {
        sign_pkcs11_uri_free(u);
        return r;
    }
    *out = u;
    return 0;
}
