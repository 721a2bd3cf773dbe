/* Strict JSON on top of jansson: limits, duplicate keys, deterministic output. */
#include <endian.h>
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
#define LONG_STRING 4096

/* The threshold in use: LONG_STRING; fuzzing lowers it (never below 32) to compare both paths on small inputs. */
size_t sign__json_long_min = LONG_STRING;

typedef struct span {
    size_t start, len; /* the string's bytes, without the quotes */
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
 * Maximum nesting, found without recursion before jansson sees the text; also the long plain string values and
 * the memory budget (above). Returns 1, or 0 with *where the offset at which the depth or budget was exceeded.
 */
static int json_scan_run(const unsigned char *p, size_t len, unsigned int max, size_t *where, spans *sp,
                         scan_budget *bg, uint64_t *stepsp)
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
            bg->cost += c == '{' ? JSON_COST_OBJECT : JSON_COST_ARRAY;
        } else if ((c == ']' || c == '}') && depth > 0) {
            in_scalar = 0;
            depth--;
        } else if (c == ',') {
            in_scalar = 0;
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
static int json_scan(const unsigned char *p, size_t len, unsigned int max, size_t *where, spans *sp, scan_budget *bg)
{
    uint64_t steps = 0;
    int r = json_scan_run(p, len, max, where, sp, bg, &steps);

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

/* jansson on the text with its long strings cut out; NULL when that does not work (then parse the text as it is). */
static json_t *parse_cut(const unsigned char *text, size_t len, const spans *sp)
{
    char *cut = NULL;
    unsigned char *used = NULL;
    json_t *j = NULL;
    json_error_t err;
    size_t o = 0, at = 0, cap = len + 1, i;

    if (sp->nul_escape || (cut = malloc(cap)) == NULL || (used = calloc(sp->n, 1)) == NULL) {
        goto out;
    }
    for (i = 0; i < sp->n; i++) {
        size_t seg = sp->v[i].start - at;
        int w;

        memcpy(cut + o, text + at, seg);
        o += seg;
        /* The placeholder (at most 26 bytes) is shorter than the string it replaces (32 bytes or more). */
        w = snprintf(cut + o, cap - o, "\\u0000%zu", i);
        if (w < 0 || (size_t)w >= cap - o) {
            goto out;
        }
        o += (size_t)w;
        at = sp->v[i].start + sp->v[i].len;
    }
    memcpy(cut + o, text + at, len - at);
    o += len - at;
    j = json_loadb(cut, o, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (j != NULL && restore_long(j, text, sp, used) != 0) {
        json_decref(j);
        j = NULL;
    }
    for (i = 0; j != NULL && i < sp->n; i++) {
        if (!used[i]) {
            json_decref(j);
            j = NULL;
        }
    }
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

/* One parse: the long strings cut out when there are any, else (or when that fails) the text as it is. */
static json_t *parse_once(const void *data, size_t len, const spans *sp, json_error_t *err)
{
    json_t *j = NULL;

    memset(err, 0, sizeof(*err));
    if (sp->n > 0) {
        j = parse_cut(data, len, sp);
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

int sign__json_parse(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what)
{
    sign_limits lbuf;
    const sign_limits *l = &lbuf;
    scan_budget bg;
    json_error_t err, err2;
    json_t *j = NULL, *j2 = NULL;
    size_t where = 0;
    spans sp = {NULL, 0, 0, 0};
    int watched, r = 0;

    *out = NULL;
    if ((r = sign__limits(&lbuf, limits)) != 0) {
        return r;
    }
    if (len > l->json_max_bytes) {
        return sign__error(SIGN_ELIMIT, "%s: JSON document of %zu bytes exceeds the limit of %zu", what, len,
                           l->json_max_bytes);
    }
    if (memchr(data, '\0', len) != NULL) {
        return sign__error(SIGN_EPARSE, "%s: NUL byte in JSON text", what);
    }
    json_budget_init(&bg, l, len);
    if (!json_scan(data, len, l->json_max_depth, &where, len >= sign__json_long_min ? &sp : NULL, &bg)) {
        free(sp.v);
        if (bg.over == 1) {
            return sign__error(SIGN_ELIMIT,
                               "%s: JSON document of %zu bytes holds too many values: parsing it would need more "
                               "than %llu bytes of memory (refused at offset %zu, before anything was built)",
                               what, len, (unsigned long long)bg.max_cost, where);
        }
        if (bg.over == 2) {
            return sign__error(SIGN_ELIMIT, "%s: JSON array or object with more than %llu elements at offset %zu",
                               what, (unsigned long long)bg.max_elements, where);
        }
        return sign__error(SIGN_ELIMIT, "%s: JSON nesting deeper than %u at offset %zu", what, l->json_max_depth,
                           where);
    }
    watched = json_watched();
    json_alloc_failed = 0;
    j = parse_once(data, len, &sp, &err);
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
        j2 = parse_once(data, len, &sp, &err2);
        if (j != NULL ? j2 == NULL || !json_equal(j, j2)
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
    free(sp.v);
    json_decref(j);
    json_decref(j2);
    return r;
}

int sign__json_read_file(json_t **out, const char *path, const sign_limits *limits)
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
    r = sign__json_parse(out, buf, len, limits, path);
    free(buf);
    return r;
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
