/*
 * The one authority on entry names and link targets (rules in path.h and
 * docs/safety.md). The zip walker, the tar walker, --tree and artifact names
 * all judge and normalise names here, so a name cannot be safe for one of
 * them and dangerous for another.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "path.h"
#include "text.h"

static int is_sep(char c, unsigned int how)
{
    return c == '/' || (c == '\\' && (how & SIGN__PATH_WINDOWS));
}

static int is_drive(const char *p, size_t len)
{
    return len >= 2 && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':';
}

unsigned int sign__path_check(const char *name, size_t len, size_t max, unsigned int how)
{
    unsigned int bits = 0;
    size_t start = 0;

    if (len == 0) {
        return SIGN__PATH_EMPTY;
    }
    if (len > max) {
        bits |= SIGN__PATH_TOO_LONG;
    }
    if (is_sep(name[0], how)) {
        bits |= SIGN__PATH_ABSOLUTE;
    }
    if ((how & SIGN__PATH_WINDOWS) && is_drive(name, len)) {
        bits |= SIGN__PATH_DRIVE;
    }
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)name[i] : 0;

        if (i < len && (c < 0x20 || c == 0x7f)) {
            bits |= SIGN__PATH_CONTROL;
        }
        if (i < len && c == '\\' && (how & SIGN__PATH_WINDOWS)) {
            bits |= SIGN__PATH_BACKSLASH;
        }
        if (i == len || is_sep((char)c, how)) {
            if (i - start == 2 && name[start] == '.' && name[start + 1] == '.') {
                bits |= SIGN__PATH_DOTDOT;
            }
            if (i - start > SIGN__PATH_COMPONENT_MAX) {
                bits |= SIGN__PATH_COMPONENT_LONG;
            }
            start = i + 1;
        }
    }
    if (!sign__utf8_valid(name, len)) {
        bits |= SIGN__PATH_UTF8;
    }
    return bits;
}

int sign__path_has_dotdot(const char *p, unsigned int how)
{
    size_t start = 0, i = 0;

    for (;; i++) {
        if (p[i] == '\0' || is_sep(p[i], how)) {
            if (i - start == 2 && p[start] == '.' && p[start + 1] == '.') {
                return 1;
            }
            if (p[i] == '\0') {
                return 0;
            }
            start = i + 1;
        }
    }
}

const char *sign__path_problem(unsigned int bits)
{
    static const struct {
        unsigned int bit;
        const char *text;
    } t[] = {
        {SIGN__PATH_EMPTY, "is empty"},
        {SIGN__PATH_ROOT, "names the root directory itself"},
        {SIGN__PATH_ABSOLUTE, "is absolute"},
        {SIGN__PATH_DRIVE, "starts with a drive letter"},
        {SIGN__PATH_DOTDOT, "has a '..' component"},
        {SIGN__PATH_BACKSLASH, "contains a backslash"},
        {SIGN__PATH_CONTROL, "contains a control character"},
        {SIGN__PATH_UTF8, "is not valid UTF-8"},
        {SIGN__PATH_TOO_LONG, "is too long"},
        {SIGN__PATH_COMPONENT_LONG, "has a component longer than 255 bytes"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (bits & t[i].bit) {
            return t[i].text;
        }
    }
    return "";
}

char *sign__path_norm(const char *p)
{
    size_t n = strlen(p), o = 0, i = 0;
    char *d = malloc(n + 1);

    if (d == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return NULL;
    }
    while (i < n) {
        size_t s = i;

        while (i < n && p[i] != '/') {
            i++;
        }
        if (!(i == s || (i - s == 1 && p[s] == '.'))) {
            if (o > 0) {
                d[o++] = '/';
            }
            memcpy(d + o, p + s, i - s);
            o += i - s;
        }
        i++;
    }
    d[o] = '\0';
    return d;
}

const char *sign__path_base(const char *p, unsigned int how)
{
    const char *b = p;

    for (const char *q = p; *q != '\0'; q++) {
        if (is_sep(*q, how)) {
            b = q + 1;
        }
    }
    return b;
}

unsigned int sign__path_check_write(const char *rel)
{
    return sign__path_check_write_how(rel, SIGN__PATH_WINDOWS);
}

unsigned int sign__path_check_write_how(const char *rel, unsigned int how)
{
    size_t len = strnlen(rel, SIGN__PATH_WRITE_MAX + 1);
    unsigned int bits = sign__path_check(rel, len, SIGN__PATH_WRITE_MAX, how);

    if (bits == 0) {
        /* Nothing but separators and "." components: the root itself, never a file to write. */
        size_t i = 0;

        while (i < len && (rel[i] == '/' || rel[i] == '.')) {
            i++;
        }
        if (i == len) {
            bits |= SIGN__PATH_ROOT;
        }
    }
    return bits;
}

/* Resolution state: the normalised directory reached so far in buf (o bytes). */
typedef struct walker {
    char *buf;
    size_t o;
    int through_link;
} walker;

/* Apply the components of s[0..len) to w; 1 when they climb above the root (or "..", after a link, in a target). */
static int apply(walker *w, const char *s, size_t len, int target, sign__path_is_link_fn is_link, void *ctx)
{
    size_t i = 0;

    while (i < len) {
        size_t st = i;

        while (i < len && s[i] != '/' && s[i] != '\\') {
            i++;
        }
        if (i - st == 2 && s[st] == '.' && s[st + 1] == '.') {
            char *cut;

            if (w->o == 0 || w->through_link) {
                return 1; /* above the root, or after a link: where it lands depends on that link */
            }
            cut = strrchr(w->buf, '/');
            w->o = cut != NULL ? (size_t)(cut - w->buf) : 0;
            w->buf[w->o] = '\0';
        } else if (!(i == st || (i - st == 1 && s[st] == '.'))) {
            if (w->o > 0) {
                w->buf[w->o++] = '/';
            }
            memcpy(w->buf + w->o, s + st, i - st);
            w->o += i - st;
            w->buf[w->o] = '\0';
            if (target && is_link != NULL && is_link(ctx, w->buf)) {
                w->through_link = 1;
            }
        }
        i++;
    }
    return 0;
}

int sign__path_link_escapes(const char *entry, const char *target, unsigned int how, sign__path_is_link_fn is_link,
                            void *ctx)
{
    size_t el = strlen(entry), tl = strlen(target), dl = el, need;
    walker w = {NULL, 0, 0};
    int r;

    if (tl == 0 || target[0] == '\\' || is_drive(target, tl) || (target[0] == '/' && !(how & SIGN__LINK_ROOTFS))) {
        return 1;
    }
    while (dl > 0 && entry[dl - 1] != '/' && entry[dl - 1] != '\\') {
        dl--; /* the entry's directory: up to its last separator */
    }
    if (target[0] == '/') {
        dl = 0; /* from the root of the file system */
    }
    if (!sign__add(&need, dl, tl) || !sign__add(&need, need, 2) || (w.buf = malloc(need)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    w.buf[0] = '\0';
    r = apply(&w, entry, dl, 0, NULL, NULL) || apply(&w, target, tl, 1, is_link, ctx);
    free(w.buf);
    return r;
}
