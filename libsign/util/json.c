/* Strict JSON on top of jansson: limits, duplicate keys, deterministic output. */
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "text.h"

/*
 * Long strings. jansson lexes a string one byte at a time through two buffers,
 * so a bundle holding a payload of a few MB in base64 cost more to parse than
 * hashing 150 MB. A string value of at least LONG_STRING bytes that needs no
 * unescaping (printable ASCII without '"' or '\\') is cut out of the text
 * before jansson sees it and put back into the parsed tree: jansson parses a
 * placeholder "\u0000<index>" instead (with JSON_ALLOW_NUL, used only when the
 * text itself has no "\u0000", so every string holding a NUL is a placeholder)
 * and the string node then takes the original bytes, which jansson would have
 * taken unchanged. Keys, nesting, duplicates and every other byte are judged
 * by jansson as before; on any failure the original text is parsed as it is,
 * so errors and their positions are jansson's own.
 */
/*
 * 256, not 4096: a bundle's base64 payload of under 1 KB was still lexed byte by byte, about 80,000 instructions
 * of each small bundle's parse (issue 17: an audit of 1,000 bundles of 1 KB, 2.94 G instructions before, 2.86 G
 * after). Fuzzing compares both paths down to 32 bytes.
 */
#define LONG_STRING 256

/* The threshold in use: LONG_STRING; fuzzing lowers it (never below 32) to compare both paths on small inputs. */
size_t sign__json_long_min = LONG_STRING;

typedef struct span {
    size_t start, len; /* the string's bytes, without the quotes */
    int keep;          /* the value of a SIGN__JSON_SPAN member read through a sign__json_doc: left in the text */
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
    int nul_escape; /* some string holds the escape \u0000: no placeholder can be told apart, no fast path */
} spans;

/*
 * The memory budget. jansson builds every node of a document before anyone
 * can look at it, at a cost far above the text's: measured with jansson
 * 2.14 on x86-64 glibc, an empty object costs 250 bytes (3 bytes of text,
 * "{},"), an empty array 154, an integer 50, a string 106 plus its length,
 * an object member 100 plus its key. 60 MiB of "{}," became 4.8 GB. So the
 * pre-pass below estimates what jansson will allocate, node by node, and a
 * document whose estimate exceeds the budget is refused (SIGN_ELIMIT)
 * before jansson allocates anything; unknown fields are counted like any
 * other, so they cost nothing unless they are small.
 *
 * The budget is JSON_BUDGET_FACTOR times the document's length plus
 * JSON_BUDGET_SLACK, and never more than 8 times json_max_bytes (512 MiB
 * for the default 64 MiB): the statements signet writes cost about 10 times
 * their text (an entry of 150 bytes is 1.5 KB of nodes), so a tighter
 * factor would refuse signet's own manifests. The largest accepted document
 * therefore costs at most 8 times the size limit, whatever its shape.
 *
 * Each array or object also holds at most JSON_MAX_ELEMENTS elements (or
 * archive_max_entries when that is larger: a manifest lists every entry of
 * an archive in one array).
 */
#define JSON_COST_OBJECT 256u
#define JSON_COST_ARRAY 160u
#define JSON_COST_SCALAR 56u
#define JSON_COST_STRING 112u /* plus the length; keys too (an object member) */
#define JSON_BUDGET_FACTOR 12u
#define JSON_BUDGET_SLACK (16u * 1024 * 1024)
#define JSON_MAX_ELEMENTS (1u << 20)
/* Levels whose elements are counted; deeper ones (beyond any default depth limit) count towards the budget only. */
#define JSON_COUNT_LEVELS 256

typedef struct scan_budget {
    uint64_t max_cost;     /* refuse above this estimate */
    uint64_t max_elements; /* per array or object */
    uint64_t cost;         /* the estimate so far */
    int over;              /* 1: budget exceeded, 2: too many elements in one container */
} scan_budget;

/* Counts 8-byte steps and single bytes of json_scan's string loop (tests check the work is linear and wordwise). */
_Thread_local uint64_t sign__json_scan_steps;

/*
 * From i, the first byte of a string that is not printable ASCII other than '"' and '\\' (or, in the last 7
 * bytes, i itself), 8 bytes at a time: the tests flag every such byte of w and may flag a byte after one (a borrow),
 * never one before. A string of base64 takes 8 times fewer steps than byte by byte, a short string one step.
 */
static size_t skip_plain(const unsigned char *p, size_t i, size_t len, uint64_t *steps)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);

    while (i + 8 <= len) {
        uint64_t w, q, b, d, m;

        memcpy(&w, p + i, 8);
        w = le64toh(w); /* byte k of the text is byte k of w */
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        d = w ^ (ones * 0x7f);
        m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d) | ((w - ones * 0x20) & ~w) | w) & high;
        ++*steps;
        if (m != 0) {
            /* The lowest flag is exact (a false one can only follow a true one): go straight to that byte. */
            return i + (size_t)(__builtin_ctzll(m) / 8);
        }
        i += 8;
    }
    return i;
}

static int is_scalar_start(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' || c == 'n';
}

/*
 * Unknown members (sign__json_parse_known). The pre-pass follows the described objects from the root (at most
 * SCHEMA_LEVELS deep) and notes where the value of each member whose name is not listed starts. Each such value
 * is then read by check_value, a validating reader at least as strict as jansson (a value it is unsure of, such
 * as a real number of more than 64 characters or one nested deeper than CHECK_DEPTH, is simply not skipped),
 * and replaced by `null` in the text jansson parses. Replacing one complete, valid value by `null` keeps a
 * document valid or invalid: the token null can only stand where a value stands, so when the text with null
 * parses, the text with the value parses too, to the same tree with the value where null is. When the edited
 * text does not parse, the original is parsed as it is (as for long strings), so errors and their positions
 * are jansson's own. The skipped values are counted by the budget like any other: nothing refused before is
 * accepted now; what changes is that an accepted document's unknown members are never built.
 */
#define SCHEMA_LEVELS 16
#define CHECK_DEPTH 192
#define CP_BAD UINT32_C(0xFFFFFFFF)

typedef struct schema_level {
    const sign__json_field *fields;                /* an object's members, or an array's elements' members */
    const sign__json_field *next_obj, *next_items; /* what the member being read holds */
    unsigned char is_object, expect_key;
} schema_level;

typedef struct schema_scan {
    const sign__json_field *root;
    int keep_spans; /* mark the long strings of SIGN__JSON_SPAN members (sign__json_parse_doc) */
    schema_level lv[SCHEMA_LEVELS];
    unsigned int tracked; /* levels 1..tracked are described objects (or arrays of them) */
    size_t *starts;       /* where the value of each unknown member starts, in order */
    size_t n, cap;
} schema_scan;

static int hex4(const unsigned char *p, size_t *i, size_t e, uint32_t *out)
{
    uint32_t v = 0;

    if (e - *i < 4) {
        return 0;
    }
    for (int k = 0; k < 4; k++) {
        unsigned char c = p[(*i)++];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v += (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v += (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v += (uint32_t)(c - 'A' + 10);
        } else {
            return 0;
        }
    }
    *out = v;
    return 1;
}

/* After the backslash at p[*i - 1]: the escaped code point (a surrogate pair joined), or CP_BAD as jansson would. */
static uint32_t escape_cp(const unsigned char *p, size_t *i, size_t e)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k;
    uint32_t u, lo;

    if (*i >= e) {
        return CP_BAD;
    }
    if (p[*i] != 'u') {
        k = p[*i] != '\0' ? strchr(from, p[*i]) : NULL;
        ++*i;
        return k != NULL ? (uint32_t)(unsigned char)to[k - from] : CP_BAD;
    }
    ++*i;
    if (!hex4(p, i, e, &u) || (u >= 0xDC00 && u <= 0xDFFF)) {
        return CP_BAD;
    }
    if (u < 0xD800 || u > 0xDBFF) {
        return u;
    }
    if (e - *i < 2 || p[*i] != '\\' || p[*i + 1] != 'u') {
        return CP_BAD;
    }
    *i += 2;
    if (!hex4(p, i, e, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
        return CP_BAD;
    }
    return 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
}

/* Strict UTF-8 (no overlong forms, surrogates or values above U+10FFFF) at p[*i] >= 0x80: the code point or CP_BAD.
 */
static uint32_t utf8_cp(const unsigned char *p, size_t *i, size_t e)
{
    unsigned char c = p[*i];
    uint32_t cp, min;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 1, cp = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3, cp = c & 0x07u, min = 0x10000;
    } else {
        return CP_BAD;
    }
    if (e - *i <= n) {
        return CP_BAD;
    }
    for (size_t k = 1; k <= n; k++) {
        if ((p[*i + k] & 0xC0) != 0x80) {
            return CP_BAD;
        }
        cp = cp << 6 | (p[*i + k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return CP_BAD;
    }
    *i += n + 1;
    return cp;
}

/* The next code point of a string's text p[*i..e) (e: its closing quote), escapes decoded; CP_BAD if malformed. */
static uint32_t next_cp(const unsigned char *p, size_t *i, size_t e)
{
    unsigned char c = p[*i];

    if (c == '\\') {
        ++*i;
        return escape_cp(p, i, e);
    }
    if (c < 0x80) {
        ++*i;
        return c;
    }
    return utf8_cp(p, i, e);
}

/* 1 when the string text p[s..e) decodes to name (a malformed text names nothing). */
static int key_is(const unsigned char *p, size_t s, size_t e, const char *name)
{
    size_t k = 0;

    while (s < e) {
        uint32_t cp = next_cp(p, &s, e);

        if (cp == CP_BAD || name[k] == '\0' || cp != (unsigned char)name[k]) {
            return 0;
        }
        k++;
    }
    return name[k] == '\0';
}

/* A container opens at depth d: described when its parent is and the schema says what it holds. */
static void schema_open(schema_scan *sc, unsigned int d, unsigned char c)
{
    const sign__json_field *f = NULL;
    schema_level *pl;

    if (sc->tracked != d - 1 || d >= SCHEMA_LEVELS) {
        return;
    }
    pl = d >= 2 ? &sc->lv[d - 1] : NULL;
    if (pl == NULL) {
        f = c == '{' ? sc->root : NULL;
    } else if (pl->is_object) {
        f = c == '{' ? pl->next_obj : pl->next_items;
        pl->next_obj = pl->next_items = NULL;
    } else {
        f = c == '{' ? pl->fields : NULL;
    }
    if (f != NULL && f != SIGN__JSON_SPAN) {
        sc->lv[d] = (schema_level){f, NULL, NULL, c == '{', 1};
        sc->tracked = d;
    }
}

/* A string p[s..e) (e: its closing quote) at depth d: when it names a member of a described object, look it up. */
static void schema_string(schema_scan *sc, const unsigned char *p, size_t len, size_t s, size_t e, unsigned int d)
{
    schema_level *l;
    const sign__json_field *f;
    size_t k = e + 1;

    if (d == 0 || sc->tracked != d) {
        return;
    }
    l = &sc->lv[d];
    if (!l->is_object || !l->expect_key) {
        return;
    }
    l->expect_key = 0;
    for (f = l->fields; f->name != NULL && !key_is(p, s, e, f->name); f++) {
    }
    if (f->name != NULL) {
        l->next_obj = f->object;
        l->next_items = f->items;
        return;
    }
    while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n' || p[k] == '\r')) {
        k++;
    }
    if (k >= len || p[k] != ':') {
        return; /* not JSON: jansson will say so */
    }
    for (k++; k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n' || p[k] == '\r'); k++) {
    }
    if (sc->n == sc->cap) {
        size_t ncap = sc->cap ? sc->cap * 2 : 16, bytes;
        size_t *ns = sign__mul(&bytes, ncap, sizeof(*ns)) ? realloc(sc->starts, bytes) : NULL;

        if (ns == NULL) {
            return; /* out of memory: this value is built, as before */
        }
        sc->starts = ns;
        sc->cap = ncap;
    }
    sc->starts[sc->n++] = k;
}

/* SIGN__JSON_SPAN: a member whose value is handed out as its text (an empty list: it describes no object). */
const sign__json_field sign__json_span_marker[] = {{NULL, NULL, NULL}};

/* 1 when a string at depth d is the value of a SIGN__JSON_SPAN member of a described object (and spans are kept). */
static int schema_is_span(const schema_scan *sc, unsigned int d)
{
    return sc != NULL && sc->keep_spans && d > 0 && d < SCHEMA_LEVELS && sc->tracked == d && sc->lv[d].is_object &&
           !sc->lv[d].expect_key && sc->lv[d].next_obj == SIGN__JSON_SPAN;
}

/* The end of a container at depth d, or a comma in it. */
static void schema_punct(schema_scan *sc, unsigned int d, unsigned char c)
{
    if (d == 0 || sc->tracked != d) {
        return;
    }
    if (c == ',') {
        sc->lv[d].expect_key = sc->lv[d].is_object;
        sc->lv[d].next_obj = sc->lv[d].next_items = NULL;
    } else {
        sc->tracked = d - 1;
    }
}

/* One member name read by check_value: where its text is and the hash of its code points. */
typedef struct keyrec {
    size_t start;
    uint32_t len, hash;
} keyrec;

typedef struct value_check {
    const unsigned char *p;
    size_t len;
    keyrec *keys; /* the names of the objects open, each object's after its parent's */
    size_t nkeys, cap;
} value_check;

static _Thread_local const unsigned char *key_text;

/* Member names by hash, then by code points: equal names are neighbours. */
static int key_cmp(const void *a, const void *b)
{
    const keyrec *x = a, *y = b;
    size_t i = x->start, j = y->start, ei = x->start + x->len, ej = y->start + y->len;

    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    while (i < ei && j < ej) {
        uint32_t u = next_cp(key_text, &i, ei), v = next_cp(key_text, &j, ej);

        if (u != v) {
            return u < v ? -1 : 1;
        }
    }
    return (i < ei) - (j < ej);
}

/* 1 when the names of the object whose first is keys[from] are distinct (jansson refuses duplicates). */
static int keys_distinct(value_check *vc, size_t from)
{
    keyrec *k = vc->keys + from;
    size_t n = vc->nkeys - from;

    if (n < 2) {
        return 1;
    }
    key_text = vc->p;
    qsort(k, n, sizeof(*k), key_cmp);
    for (size_t i = 1; i < n; i++) {
        if (key_cmp(&k[i - 1], &k[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

static size_t skip_ws(const unsigned char *p, size_t i, size_t len)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* The string at p[*i] == '"' as jansson takes it (UTF-8, escapes, no control character, no \u0000): 1, *i past it. */
static int check_string(const unsigned char *p, size_t len, size_t *ip)
{
    size_t i = *ip + 1;
    uint64_t steps = 0;

    for (;;) {
        unsigned char c;

        if ((i = skip_plain(p, i, len, &steps)) >= len) {
            return 0;
        }
        c = p[i];
        if (c == '"') {
            *ip = i + 1;
            return 1;
        }
        if (c < 0x20) {
            return 0;
        }
        if (c == '\\' || c >= 0x80) {
            uint32_t cp = next_cp(p, &i, len);

            if (cp == CP_BAD || cp == 0) {
                return 0;
            }
        } else {
            i++;
        }
    }
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A number at p[*i] as jansson takes it (its grammar; an integer within int64, a real that does not overflow). */
static int check_number(const unsigned char *p, size_t len, size_t *ip)
{
    size_t s = *ip, i;
    int real = 0;
    char buf[72], *end = NULL;

    i = s + (p[s] == '-');
    if (i >= len || !is_digit(p[i]) || (p[i] == '0' && i + 1 < len && is_digit(p[i + 1]))) {
        return 0;
    }
    while (i < len && is_digit(p[i])) {
        i++;
    }
    if (i < len && p[i] == '.') {
        real = 1;
        if (++i >= len || !is_digit(p[i])) {
            return 0;
        }
        while (i < len && is_digit(p[i])) {
            i++;
        }
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        real = 1;
        i++;
        i += i < len && (p[i] == '+' || p[i] == '-');
        if (i >= len || !is_digit(p[i])) {
            return 0;
        }
        while (i < len && is_digit(p[i])) {
            i++;
        }
    }
    if (i - s >= sizeof(buf)) {
        return 0; /* not sure: built as usual */
    }
    memcpy(buf, p + s, i - s);
    buf[i - s] = '\0';
    errno = 0;
    if (real) {
        double v = strtod(buf, &end);

        if (*end != '\0' || (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))) {
            return 0;
        }
    } else {
        (void)strtoll(buf, &end, 10);
        if (*end != '\0' || errno == ERANGE) {
            return 0;
        }
    }
    *ip = i;
    return 1;
}

/* true, false or null, not followed by a letter (jansson reads a word whole). */
static int check_word(const unsigned char *p, size_t len, size_t *ip)
{
    static const char *const words[] = {"true", "false", "null"};

    for (size_t w = 0; w < 3; w++) {
        size_t n = strlen(words[w]), i = *ip;

        if (len - i >= n && memcmp(p + i, words[w], n) == 0 &&
            (i + n >= len || !((p[i + n] | 0x20) >= 'a' && (p[i + n] | 0x20) <= 'z'))) {
            *ip = i + n;
            return 1;
        }
    }
    return 0;
}

/* A member name at p[*i] (after space), its hash noted, and the colon after it: 1 and *i past the colon. */
static int check_key(value_check *vc, size_t *ip)
{
    size_t s = *ip, i, k;
    uint32_t h = UINT32_C(2166136261);

    i = s;
    if (i >= vc->len || vc->p[i] != '"' || !check_string(vc->p, vc->len, &i) || i - s - 2 > UINT32_MAX) {
        return 0;
    }
    for (k = s + 1; k < i - 1;) {
        h = (h ^ next_cp(vc->p, &k, i - 1)) * UINT32_C(16777619);
    }
    if (vc->nkeys == vc->cap) {
        size_t ncap = vc->cap ? vc->cap * 2 : 64, bytes;
        keyrec *nk = sign__mul(&bytes, ncap, sizeof(*nk)) ? realloc(vc->keys, bytes) : NULL;

        if (nk == NULL) {
            return 0;
        }
        vc->keys = nk;
        vc->cap = ncap;
    }
    vc->keys[vc->nkeys++] = (keyrec){s + 1, (uint32_t)(i - s - 2), h};
    i = skip_ws(vc->p, i, vc->len);
    if (i >= vc->len || vc->p[i] != ':') {
        return 0;
    }
    *ip = i + 1;
    return 1;
}

/* A scalar value at p[*i] (after space) as jansson takes it: 1 and *i past it. */
static int check_scalar(const unsigned char *p, size_t len, size_t *ip)
{
    unsigned char c = p[*ip];

    if (c == '"') {
        return check_string(p, len, ip);
    }
    if (c == '-' || is_digit(c)) {
        return check_number(p, len, ip);
    }
    return check_word(p, len, ip);
}

/*
 * The value of a member at p[i]: 1 and *end just past it when jansson would take it (distinct names in every
 * object, nesting at most CHECK_DEPTH) and the next token is ',' or '}'; 0 when not (the value is then left to
 * jansson: built, or refused as before). Iterative: no recursion on hostile nesting.
 */
static int check_value(value_check *vc, size_t i, size_t *end)
{
    const unsigned char *p = vc->p;
    unsigned char open[CHECK_DEPTH];
    size_t mark[CHECK_DEPTH], len = vc->len;
    unsigned int d = 0;

    for (;;) {
        /* A value starts at i, after any space. */
        if ((i = skip_ws(p, i, len)) >= len) {
            return 0;
        }
        if (p[i] == '{' || p[i] == '[') {
            if (d == CHECK_DEPTH) {
                return 0;
            }
            open[d] = p[i];
            mark[d++] = vc->nkeys;
            i = skip_ws(p, i + 1, len);
            if (i < len && p[i] == (open[d - 1] == '{' ? '}' : ']')) {
                d--;
                i++;
            } else if (open[d - 1] == '[' || check_key(vc, &i)) {
                continue;
            } else {
                return 0;
            }
        } else if (!check_scalar(p, len, &i)) {
            return 0;
        }
        /* A value ended at i: close what it ends, or go on to the next element. */
        for (;;) {
            size_t vend = i;

            if ((i = skip_ws(p, i, len)) >= len) {
                return 0;
            }
            if (d == 0) {
                *end = vend;
                return p[i] == ',' || p[i] == '}';
            }
            if (p[i] == ',') {
                i = skip_ws(p, i + 1, len);
                if (open[d - 1] == '{' && !check_key(vc, &i)) {
                    return 0;
                }
                break;
            }
            if (p[i] != (open[d - 1] == '{' ? '}' : ']') || (open[d - 1] == '{' && !keys_distinct(vc, mark[d - 1]))) {
                return 0;
            }
            vc->nkeys = mark[--d];
            i++;
        }
    }
}

/*
 * Maximum nesting, found without recursion before jansson sees the text; also the long plain string values and
 * the memory budget (above). Returns 1, or 0 with *where the offset at which the depth or budget was exceeded.
 */
static int json_scan_run(const unsigned char *p, size_t len, unsigned int max, size_t *where, spans *sp,
                         scan_budget *bg, schema_scan *sc, uint64_t *stepsp)
{
    uint64_t elements[JSON_COUNT_LEVELS], steps = 0;
    unsigned int depth = 0;
    int in_scalar = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (c == '"') {
            size_t s = ++i;
            int plain = 1;

            in_scalar = 0;
            for (; (i = skip_plain(p, i, len, &steps)) < len; i++) {
                steps++;
                c = p[i];
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    plain = 0;
                    if (sp != NULL && len - i > 5 && memcmp(p + i + 1, "u0000", 5) == 0) {
                        sp->nul_escape = 1;
                    }
                    i++;
                } else if (c < 0x20 || c > 0x7e) {
                    plain = 0;
                }
            }
            bg->cost += JSON_COST_STRING + (i - s);
            if (sc != NULL && i < len) {
                schema_string(sc, p, len, s, i, depth);
            }
            if (sp != NULL && plain && i < len && i - s >= (sign__json_long_min < 32 ? 32 : sign__json_long_min)) {
                size_t k = i + 1;

                while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n' || p[k] == '\r')) {
                    k++;
                }
                if (k >= len || p[k] != ':') { /* a value, not a key */
                    if (sp->n == sp->cap) {
                        size_t ncap = sp->cap ? sp->cap * 2 : 8;
                        span *nv = realloc(sp->v, ncap * sizeof(*nv));

                        if (nv == NULL) {
                            free(sp->v);
                            sp->v = NULL;
                            sp->n = 0;
                            sp = NULL; /* no fast path */
                            continue;
                        }
                        sp->v = nv;
                        sp->cap = ncap;
                    }
                    sp->v[sp->n].start = s;
                    sp->v[sp->n].len = i - s;
                    sp->v[sp->n].keep = schema_is_span(sc, depth);
                    sp->n++;
                }
            }
        } else if (c == '[' || c == '{') {
            in_scalar = 0;
            if (++depth > max) {
                *where = i;
                *stepsp = steps;
                return 0;
            }
            if (depth < JSON_COUNT_LEVELS) {
                elements[depth] = 0;
            }
            if (sc != NULL) {
                schema_open(sc, depth, c);
            }
            bg->cost += c == '{' ? JSON_COST_OBJECT : JSON_COST_ARRAY;
        } else if ((c == ']' || c == '}') && depth > 0) {
            in_scalar = 0;
            if (sc != NULL) {
                schema_punct(sc, depth, c);
            }
            depth--;
        } else if (c == ',') {
            in_scalar = 0;
            if (sc != NULL) {
                schema_punct(sc, depth, c);
            }
            /* Commas count the elements of the innermost container, one less than there are. */
            if (depth > 0 && depth < JSON_COUNT_LEVELS && ++elements[depth] >= bg->max_elements) {
                bg->over = 2;
                *where = i;
                *stepsp = steps;
                return 0;
            }
        } else if (is_scalar_start(c)) {
            if (!in_scalar) {
                bg->cost += JSON_COST_SCALAR;
            }
            in_scalar = 1;
        } else {
            in_scalar = in_scalar && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ':';
        }
        if (bg->cost > bg->max_cost) {
            bg->over = 1;
            *where = i;
            *stepsp = steps;
            return 0;
        }
    }
    *stepsp = steps;
    return 1;
}

/* json_scan_run, its steps counted (once per document: a thread-local in the loop cost a call per byte). */
static int json_scan(const unsigned char *p, size_t len, unsigned int max, size_t *where, spans *sp, scan_budget *bg,
                     schema_scan *sc)
{
    uint64_t steps = 0;
    int r = json_scan_run(p, len, max, where, sp, bg, sc, &steps);

    sign__json_scan_steps += steps;
    return r;
}

/* Push j on a growing stack of nodes; 0, or -1 when out of memory. */
static int node_push(json_t ***stack, size_t *n, size_t *cap, json_t *j)
{
    if (*n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 64, bytes;
        json_t **ns = sign__mul(&bytes, ncap, sizeof(json_t *)) ? realloc(*stack, bytes) : NULL;

        if (ns == NULL) {
            return -1;
        }
        *stack = ns;
        *cap = ncap;
    }
    (*stack)[(*n)++] = j;
    return 0;
}

/* A placeholder string node back to its long string; 0 (also for any other string), or -1. */
static int restore_one(json_t *j, const unsigned char *text, const spans *sp, unsigned char *used)
{
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), idx = 0;

    if (n == 0 || s[0] != '\0') {
        return 0;
    }
    if (n < 2 || n > 21) {
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        idx = idx * 10 + (size_t)(s[i] - '0');
    }
    if (idx >= sp->n || used[idx]) {
        return -1;
    }
    used[idx] = 1;
    if (sp->v[idx].keep) {
        return 0; /* read from the text through sign__json_doc_string: a 50 MB payload is not copied */
    }
    return json_string_setn_nocheck(j, (const char *)text + sp->v[idx].start, sp->v[idx].len) == 0 ? 0 : -1;
}

/* Put the long strings back into the placeholders of the tree (walked with a stack, not recursion); 0 or -1. */
static int restore_long(json_t *root, const unsigned char *text, const spans *sp, unsigned char *used)
{
    json_t **stack = NULL, *j, *v;
    size_t n = 0, cap = 0, i;
    const char *key;
    int r = node_push(&stack, &n, &cap, root);

    while (r == 0 && n > 0) {
        j = stack[--n];
        if (json_is_string(j)) {
            r = restore_one(j, text, sp, used);
        } else if (json_is_object(j)) {
            json_object_foreach(j, key, v)
            {
                if ((r = node_push(&stack, &n, &cap, v)) != 0) {
                    break;
                }
            }
        } else if (json_is_array(j)) {
            json_array_foreach(j, i, v)
            {
                if ((r = node_push(&stack, &n, &cap, v)) != 0) {
                    break;
                }
            }
        }
    }
    free(stack);
    return r;
}

/*
 * jansson on the text edited: each long string of sp (when usable) replaced by a placeholder, each skipped value
 * of nulls by null (no long string lies inside one). NULL when that does not work: then parse the text as it is.
 */
static json_t *parse_cut(const unsigned char *text, size_t len, const spans *sp, const spans *nulls,
                         int *placeholders)
{
    char *cut = NULL;
    unsigned char *used = NULL;
    json_t *j = NULL;
    json_error_t err;
    size_t o = 0, at = 0, cap = len + 1, a = 0, b = 0, nlong = sp->nul_escape ? 0 : sp->n;

    if ((cut = malloc(cap)) == NULL || (nlong > 0 && (used = calloc(nlong, 1)) == NULL)) {
        goto out;
    }
    while (a < nlong || b < nulls->n) {
        int is_null = b < nulls->n && (a >= nlong || nulls->v[b].start < sp->v[a].start);
        const span *e = is_null ? &nulls->v[b] : &sp->v[a];
        int w;

        memcpy(cut + o, text + at, e->start - at);
        o += e->start - at;
        if (is_null) {
            /* A value of 4 bytes or more. */
            /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): JSON text, not a C string */
            memcpy(cut + o, "null", 4);
            o += 4;
            b++;
        } else {
            /* The placeholder (at most 26 bytes) is shorter than the string it replaces (32 bytes or more). */
            w = snprintf(cut + o, cap - o, "\\u0000%zu", a);
            if (w < 0 || (size_t)w >= cap - o) {
                goto out;
            }
            o += (size_t)w;
            a++;
        }
        at = e->start + e->len;
    }
    memcpy(cut + o, text + at, len - at);
    o += len - at;
    j = json_loadb(cut, o, JSON_REJECT_DUPLICATES | (nlong > 0 ? JSON_ALLOW_NUL : 0), &err);
    if (j != NULL && nlong > 0 && restore_long(j, text, sp, used) != 0) {
        json_decref(j);
        j = NULL;
    }
    for (a = 0; j != NULL && a < nlong; a++) {
        if (!used[a]) {
            json_decref(j);
            j = NULL;
        }
    }
    *placeholders = j != NULL && nlong > 0;
out:
    free(cut);
    free(used);
    return j;
}

/*
 * jansson 2.14's lexer ignores some failed allocations: a failed save of a
 * token byte (lex_save) lets the parse succeed with a character missing from
 * a string or a number (a digest one digit short, a policy glob that matches
 * more), and a failure in other places becomes a syntax error. So every
 * allocation jansson makes goes through json_watch_malloc, which calls the
 * allocator that was installed before (the process's, or an application's)
 * and notes a failure for the parse running on this thread: a parse during
 * which any allocation failed is "out of memory", never a document.
 */
static _Thread_local int json_alloc_failed;
static json_malloc_t json_prev_malloc;
static json_free_t json_prev_free;
static pthread_once_t json_watch_once = PTHREAD_ONCE_INIT;

static void *json_watch_malloc(size_t n)
{
    void *p = json_prev_malloc(n);

    if (p == NULL) {
        json_alloc_failed = 1;
    }
    return p;
}

static void json_watch_install(void)
{
    json_get_alloc_funcs(&json_prev_malloc, &json_prev_free);
    if (json_prev_malloc != NULL && json_prev_malloc != json_watch_malloc) {
        json_set_alloc_funcs(json_watch_malloc, json_prev_free);
    }
}

/* 1 when jansson's allocations are watched (an application may have replaced the functions since). */
static int json_watched(void)
{
    json_malloc_t m = NULL;
    json_free_t f = NULL;

    pthread_once(&json_watch_once, json_watch_install);
    json_get_alloc_funcs(&m, &f);
    return m == json_watch_malloc;
}

/*
 * One parse: the text edited when there is anything to edit, else (or when that fails) the text as it is.
 * *placeholders: 1 when the tree holds the placeholders of sp's kept strings (else they were built).
 */
static json_t *parse_once(const void *data, size_t len, const spans *sp, const spans *nulls, json_error_t *err,
                          int *placeholders)
{
    json_t *j = NULL;

    memset(err, 0, sizeof(*err));
    *placeholders = 0;
    if ((sp->n > 0 && !sp->nul_escape) || nulls->n > 0) {
        j = parse_cut(data, len, sp, nulls, placeholders);
    }
    if (j == NULL) {
        j = json_loadb(data, len, JSON_REJECT_DUPLICATES, err);
    }
    return j;
}

/* The budget of a document of len bytes under limits l (see JSON_BUDGET_FACTOR). */
static void json_budget_init(scan_budget *bg, const sign_limits *l, size_t len)
{
    uint64_t cap = (uint64_t)l->json_max_bytes * 8u, want;

    memset(bg, 0, sizeof(*bg));
    want = (uint64_t)len * JSON_BUDGET_FACTOR + JSON_BUDGET_SLACK;
    if (cap < JSON_BUDGET_SLACK) {
        cap = JSON_BUDGET_SLACK;
    }
    bg->max_cost = want < cap ? want : cap;
    bg->max_elements = l->archive_max_entries > JSON_MAX_ELEMENTS ? l->archive_max_entries : JSON_MAX_ELEMENTS;
}

/* The pre-pass: size, NUL bytes, nesting, the budget, long strings and (sc) where unknown members' values start. */
static int json_prepass(const void *data, size_t len, const sign_limits *l, const char *what, spans *sp,
                        schema_scan *sc)
{
    scan_budget bg;
    size_t where = 0;

    if (len > l->json_max_bytes) {
        return sign__error(SIGN_ELIMIT, "%s: JSON document of %zu bytes exceeds the limit of %zu", what, len,
                           l->json_max_bytes);
    }
    if (memchr(data, '\0', len) != NULL) {
        return sign__error(SIGN_EPARSE, "%s: NUL byte in JSON text", what);
    }
    json_budget_init(&bg, l, len);
    if (json_scan(data, len, l->json_max_depth, &where, len >= sign__json_long_min ? sp : NULL, &bg, sc)) {
        return 0;
    }
    if (bg.over == 1) {
        return sign__error(SIGN_ELIMIT,
                           "%s: JSON document of %zu bytes holds too many values: parsing it would need more "
                           "than %llu bytes of memory (refused at offset %zu, before anything was built)",
                           what, len, (unsigned long long)bg.max_cost, where);
    }
    if (bg.over == 2) {
        return sign__error(SIGN_ELIMIT, "%s: JSON array or object with more than %llu elements at offset %zu", what,
                           (unsigned long long)bg.max_elements, where);
    }
    return sign__error(SIGN_ELIMIT, "%s: JSON nesting deeper than %u at offset %zu", what, l->json_max_depth, where);
}

/*
 * The unknown members' values that check_value takes (of at least 4 bytes: null must not be longer), into
 * nulls, in order; the long strings inside them are dropped from sp. Out of memory: fewer values are skipped.
 */
static void json_skips(const unsigned char *p, size_t len, const schema_scan *sc, spans *nulls, spans *sp)
{
    value_check vc = {p, len, NULL, 0, 0};
    size_t prev = 0, bytes, i, k, b = 0;

    if (sc->n == 0 || !sign__mul(&bytes, sc->n, sizeof(span)) || (nulls->v = malloc(bytes)) == NULL) {
        return;
    }
    nulls->cap = sc->n;
    for (i = 0; i < sc->n; i++) {
        size_t s = sc->starts[i], end = 0;

        vc.nkeys = 0;
        if (s >= prev && check_value(&vc, s, &end) && end - s >= 4) {
            nulls->v[nulls->n].start = s;
            nulls->v[nulls->n++].len = end - s;
            prev = end;
        }
    }
    free(vc.keys);
    for (i = 0, k = 0; i < sp->n; i++) {
        while (b < nulls->n && nulls->v[b].start + nulls->v[b].len <= sp->v[i].start) {
            b++;
        }
        if (b == nulls->n || sp->v[i].start < nulls->v[b].start) {
            sp->v[k++] = sp->v[i];
        }
    }
    sp->n = k;
}

/* jansson's parse of the pre-passed text, out of memory told apart from an invalid document. */
static int json_build(json_t **out, const void *data, size_t len, const spans *sp, const spans *nulls,
                      const char *what, int *placeholders)
{
    json_error_t err, err2;
    json_t *j = NULL, *j2 = NULL;
    int watched = json_watched(), r = 0, ph2 = 0;

    json_alloc_failed = 0;
    j = parse_once(data, len, sp, nulls, &err, placeholders);
    if (watched && json_alloc_failed) {
        r = sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
        goto out;
    }
    /* jansson reports out of memory with its code, or (failing in its lexer set-up) with no text at all. */
    if (j == NULL && (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0')) {
        r = sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
        goto out;
    }
    if (!watched) {
        /*
         * Not watched: the same bytes must parse the same way twice. Under memory pressure one of the
         * two parses fails, stops elsewhere or differs (losing the same byte twice would need the same
         * allocation to fail twice).
         */
        j2 = parse_once(data, len, sp, nulls, &err2, &ph2);
        if (j != NULL ? j2 == NULL || ph2 != *placeholders || !json_equal(j, j2)
                      : j2 != NULL || err2.position != err.position || strcmp(err2.text, err.text) != 0) {
            r = sign__error(SIGN_ENOMEM, "%s: out of memory while parsing JSON", what);
            goto out;
        }
    }
    if (j == NULL) {
        r = sign__error(SIGN_EPARSE, "%s: invalid JSON at line %d column %d: %s", what, err.line, err.column,
                        err.text);
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    json_decref(j2);
    return r;
}

/* sign__json_parse_known; with doc (keeping the long strings of SIGN__JSON_SPAN members), into it. */
static int json_parse_any(json_t **out, sign__json_doc *doc, const void *data, size_t len, const sign_limits *limits,
                          const char *what, const sign__json_field *root)
{
    sign_limits l;
    spans sp = {NULL, 0, 0, 0}, nulls = {NULL, 0, 0, 0};
    schema_scan sc;
    int r, placeholders = 0;

    *out = NULL;
    if ((r = sign__limits(&l, limits)) != 0) {
        return r;
    }
    memset(&sc, 0, sizeof(sc));
    sc.root = root;
    sc.keep_spans = doc != NULL;
    if ((r = json_prepass(data, len, &l, what, &sp, root != NULL ? &sc : NULL)) == 0) {
        json_skips(data, len, &sc, &nulls, &sp);
        r = json_build(out, data, len, &sp, &nulls, what, &placeholders);
    }
    if (r == 0 && doc != NULL && placeholders) {
        doc->spans = sp.v; /* transferred */
        doc->nspans = sp.n;
        doc->placeholders = 1;
        sp.v = NULL;
    }
    free(sc.starts);
    free(sp.v);
    free(nulls.v);
    return r;
}

int sign__json_parse_known(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what,
                           const sign__json_field *root)
{
    return json_parse_any(out, NULL, data, len, limits, what, root);
}

int sign__json_parse_doc(sign__json_doc *doc, const void *data, size_t len, const sign_limits *limits,
                         const char *what, const sign__json_field *root)
{
    int r;

    memset(doc, 0, sizeof(*doc));
    doc->text = data;
    if ((r = json_parse_any(&doc->root, doc, data, len, limits, what, root)) != 0) {
        sign__json_doc_free(doc);
    }
    return r;
}

int sign__json_read_file_doc(sign__json_doc *doc, const char *path, const sign_limits *limits,
                             const sign__json_field *root)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    sign_limits l;
    int r;

    memset(doc, 0, sizeof(*doc));
    if ((r = sign__limits(&l, limits)) != 0 || (r = sign__read_file(&buf, &len, path, l.json_max_bytes)) != 0) {
        return r;
    }
    if ((r = sign__json_parse_doc(doc, buf, len, limits, path, root)) != 0) {
        free(buf);
        return r;
    }
    doc->owned = buf;
    return 0;
}

void sign__json_doc_free(sign__json_doc *doc)
{
    json_decref(doc->root);
    free(doc->spans);
    free(doc->owned);
    memset(doc, 0, sizeof(*doc));
}

int sign__json_doc_string(const sign__json_doc *doc, const json_t *v, const char **s, size_t *n)
{
    const char *t = json_string_value(v);
    size_t len = json_string_length(v), idx = 0;
    const span *sp;

    *s = NULL;
    *n = 0;
    if (t == NULL) {
        return -1;
    }
    /* A placeholder is "\0" and a decimal index (restore_one): with placeholders, no other string holds a NUL. */
    if (doc != NULL && doc->placeholders && len >= 2 && len <= 21 && t[0] == '\0') {
        for (size_t i = 1; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
            idx = idx * 10 + (size_t)(t[i] - '0');
        }
        sp = (const span *)doc->spans;
        if (idx < doc->nspans && sp[idx].keep) {
            *s = (const char *)doc->text + sp[idx].start;
            *n = sp[idx].len;
            return 0;
        }
    }
    *s = t;
    *n = len;
    return 0;
}

int sign__json_parse(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what)
{
    return sign__json_parse_known(out, data, len, limits, what, NULL);
}

int sign__json_read_file_known(json_t **out, const char *path, const sign_limits *limits,
                               const sign__json_field *root)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    sign_limits l;
    int r;

    *out = NULL;
    if ((r = sign__limits(&l, limits)) != 0) {
        return r;
    }
    r = sign__read_file(&buf, &len, path, l.json_max_bytes);
    if (r != 0) {
        return r;
    }
    r = sign__json_parse_known(out, buf, len, limits, path, root);
    free(buf);
    return r;
}

int sign__json_read_file(json_t **out, const char *path, const sign_limits *limits)
{
    return sign__json_read_file_known(out, path, limits, NULL);
}

/* Output buffer of sign__json_dump; a failed append sticks, whatever jansson does with the return value. */
typedef struct dumpbuf {
    char *s;
    size_t n, cap;
    int failed;
} dumpbuf;

static int dump_append(const char *buf, size_t size, void *data)
{
    dumpbuf *d = data;

    if (d->failed) {
        return -1;
    }
    if (size > d->cap - d->n - 1) {
        size_t ncap = d->cap;
        char *ns;

        while (size > ncap - d->n - 1) {
            if (ncap > SIZE_MAX / 2) {
                d->failed = 1;
                return -1;
            }
            ncap *= 2;
        }
        if ((ns = realloc(d->s, ncap)) == NULL) {
            d->failed = 1;
            return -1;
        }
        d->s = ns;
        d->cap = ncap;
    }
    memcpy(d->s + d->n, buf, size);
    d->n += size;
    return 0;
}

int sign__json_dump(char **out, size_t *outlen, const json_t *j, int pretty)
{
    size_t flags = JSON_SORT_KEYS | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    dumpbuf d = {NULL, 0, 4096, 0};

    /*
     * Not json_dumps: jansson (2.14) ignores a failed append of an object key, so under memory pressure
     * json_dumps returned JSON with a key dropped, which we would then sign. Here a failed append makes
     * every later one fail too and the dump is refused however jansson goes on. One pass (json_dumpb
     * measuring first and then writing cost two passes over every string).
     */
    *out = NULL;
    if ((d.s = malloc(d.cap)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (json_dump_callback(j, dump_append, &d, flags) != 0 || d.failed || d.n == 0) {
        free(d.s);
        return sign__error(SIGN_ENOMEM, "out of memory serialising JSON");
    }
    d.s[d.n] = '\0';
    if (outlen != NULL) {
        *outlen = d.n;
    }
    *out = d.s;
    return 0;
}

int sign__json_get_string(const char **out, const json_t *obj, const char *key, int required, const char *what)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL) {
        if (required) {
            return sign__error(SIGN_EPARSE, "%s: missing field \"%s\"", what, key);
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return sign__error(SIGN_EPARSE, "%s: field \"%s\" must be a string", what, key);
    }
    *out = json_string_value(v);
    return 0;
}

int sign__json_only_keys(const json_t *obj, const char *const *allowed, const char *what)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;

        (void)v;
        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(allowed[i], key) == 0) {
                break;
            }
        }
        if (allowed[i] == NULL) {
            return sign__error(SIGN_EPARSE, "%s: unknown field \"%s\"", what, key);
        }
    }
    return 0;
}

json_t *sign__json_text(const char *s)
{
    size_t n = 0;
    char *buf;
    json_t *j;

    if (s == NULL) {
        return json_null();
    }
    /* Not UTF-8 (a file name's raw bytes): keep the valid parts, show the others as \xNN. */
    if ((buf = sign__text_fix_utf8(s, strlen(s), &n)) == NULL) {
        return NULL;
    }
    j = json_stringn(buf, n);
    free(buf);
    return j;
}
