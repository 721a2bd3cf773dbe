/* Artifact versions for downgrade protection (sign --version): plain integers or semantic versions, compared by
 * SemVer 2.0.0 precedence. */
#include <string.h>

#include "formats.h"

#define VERSION_MAX 128

typedef struct semver {
    const char *num[3]; /* MAJOR, MINOR, PATCH digits (not NUL-terminated) */
    size_t numlen[3];
    const char *pre; /* pre-release identifiers, or NULL */
    size_t prelen;
} semver;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_ident(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric identifier: digits, no leading zero (except "0" itself). */
static int numeric(const char *s, size_t n)
{
    if (n == 0 || (n > 1 && s[0] == '0')) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Dot-separated non-empty identifiers; numeric ones without leading zeros (when strict_num). */
static int idents(const char *s, size_t n, int strict_num)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!is_ident(s[i])) {
                return 0;
            }
            continue;
        }
        if (i == start) {
            return 0;
        }
        if (strict_num) {
            int alldig = 1;

            for (size_t k = start; k < i; k++) {
                alldig &= is_digit(s[k]);
            }
            if (alldig && !numeric(s + start, i - start)) {
                return 0;
            }
        }
        start = i + 1;
    }
    return 1;
}

static int parse(semver *v, const char *text)
{
    const char *s = text, *end, *plus;
    size_t len;
    int k = 0;

    memset(v, 0, sizeof(*v));
    if (text == NULL || (len = strlen(text)) == 0 || len > VERSION_MAX) {
        return -1;
    }
    if (*s == 'v') {
        s++;
    }
    end = s + strlen(s);
    plus = strchr(s, '+');
    if (plus != NULL) {
        if (!idents(plus + 1, (size_t)(end - plus - 1), 0)) {
            return -1;
        }
        end = plus;
    }
    for (const char *p = s; k < 3; k++) {
        const char *q = p;

        while (q < end && is_digit(*q)) {
            q++;
        }
        if (!numeric(p, (size_t)(q - p))) {
            return -1;
        }
        v->num[k] = p;
        v->numlen[k] = (size_t)(q - p);
        if (q == end) {
            /* A plain integer N is N.0.0; "1.2" is not a version. */
            return k == 0 || k == 2 ? 0 : -1;
        }
        if (k < 2 && *q == '.') {
            p = q + 1;
            continue;
        }
        if (k == 2 && *q == '-') {
            v->pre = q + 1;
            v->prelen = (size_t)(end - q - 1);
            return idents(v->pre, v->prelen, 1) ? 0 : -1;
        }
        return -1;
    }
    return -1;
}

int sign_version_check(const char *text)
{
    semver v;

    if (parse(&v, text) != 0) {
        return sign__error(SIGN_EINVAL,
                           "version \"%.128s\" is neither a plain integer nor a semantic version "
                           "(MAJOR.MINOR.PATCH[-PRE][+BUILD])",
                           text != NULL ? text : "");
    }
    return 0;
}

/* Numbers as digit strings without leading zeros: longer is larger, else by bytes. */
static int cmp_num(const char *a, size_t an, const char *b, size_t bn)
{
    int c;

    if (an != bn) {
        return an < bn ? -1 : 1;
    }
    c = memcmp(a, b, an);
    return c < 0 ? -1 : c > 0;
}

static int cmp_pre(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;

    for (;;) {
        size_t ie = i, je = j;
        int an_num = 1, bn_num = 1, c;

        if (i >= an || j >= bn) {
            /* More identifiers is higher when the rest are equal. */
            return (i >= an) == (j >= bn) ? 0 : i >= an ? -1 : 1;
        }
        while (ie < an && a[ie] != '.') {
            an_num &= is_digit(a[ie++]);
        }
        while (je < bn && b[je] != '.') {
            bn_num &= is_digit(b[je++]);
        }
        if (an_num && bn_num) {
            c = cmp_num(a + i, ie - i, b + j, je - j);
        } else if (an_num != bn_num) {
            c = an_num ? -1 : 1; /* numeric identifiers are lower */
        } else {
            size_t n = ie - i < je - j ? ie - i : je - j;

            c = memcmp(a + i, b + j, n);
            c = c != 0 ? (c < 0 ? -1 : 1) : (ie - i == je - j ? 0 : ie - i < je - j ? -1 : 1);
        }
        if (c != 0) {
            return c;
        }
        i = ie + 1;
        j = je + 1;
        if (ie >= an && je >= bn) {
            return 0;
        }
        if (ie >= an || je >= bn) {
            return ie >= an ? -1 : 1;
        }
    }
}

int sign_version_compare(int *cmp, const char *a, const char *b)
{
    static const char zero[] = "0";
    semver va, vb;
    int r;

    *cmp = 0;
    if ((r = sign_version_check(a)) != 0 || (r = sign_version_check(b)) != 0) {
        return r;
    }
    parse(&va, a);
    parse(&vb, b);
    for (int k = 0; k < 3; k++) {
        const char *x = va.num[k] != NULL ? va.num[k] : zero, *y = vb.num[k] != NULL ? vb.num[k] : zero;
        size_t xn = va.num[k] != NULL ? va.numlen[k] : 1, yn = vb.num[k] != NULL ? vb.numlen[k] : 1;

        if ((*cmp = cmp_num(x, xn, y, yn)) != 0) {
            return 0;
        }
    }
    /* A pre-release is lower than the release. */
    if ((va.pre == NULL) != (vb.pre == NULL)) {
        *cmp = va.pre == NULL ? 1 : -1;
        return 0;
    }
    if (va.pre != NULL) {
        *cmp = cmp_pre(va.pre, va.prelen, vb.pre, vb.prelen);
    }
    return 0;
}
