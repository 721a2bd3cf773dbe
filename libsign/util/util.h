/*
 * libsign/util/: the bottom layer (docs/architecture.md). Errors, overflow
 * checks, limits, files, strict JSON, base64, time. Every layer may include
 * this header; it includes only <sign/common.h> and system or dependency
 * headers. Not installed.
 */
#ifndef SIGN_UTIL_H
#define SIGN_UTIL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sign/common.h"

#define SIGN_UNUSED __attribute__((unused))
#define SIGN_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record code and a formatted message as the thread's last error; returns code. */
int sign__error(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
/* Same, appending OpenSSL's first queued reason, and clearing OpenSSL's error queue; SIGN_ENOMEM ("out of
   memory") instead when the queue holds an allocation failure. */
int sign__ossl_error(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
/*
 * Where OpenSSL failed and code would be a verdict on the input (a signature that does not verify, an untrusted
 * chain, a revoked certificate, malformed input): SIGN_ENOMEM with "out of memory" when OpenSSL's error queue
 * holds an allocation failure, else code with the formatted message. Clears OpenSSL's error queue.
 * sign__ossl_error makes the same distinction.
 */
int sign__ossl_fail(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
/* 1 when OpenSSL's error queue holds an allocation failure; empties the queue. */
int sign__ossl_oom(void);
/* Prefix the current last-error message with "context: ". Returns code. */
int sign__error_context(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
void sign__error_clear(void);
/* The one out-of-memory path: records "out of memory" as the last error (never a stale message from an earlier
   failure) and returns SIGN_ENOMEM. */
static inline int sign__oom(void)
{
    (void)sign__error(SIGN_ENOMEM, "out of memory");
    return SIGN_ENOMEM; /* literally: the analyzers see a non-zero return */
}

/* Overflow-checked arithmetic: return false on overflow. */
static inline bool sign__add(size_t *out, size_t a, size_t b)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool sign__mul(size_t *out, size_t a, size_t b)
{
    return !__builtin_mul_overflow(a, b, out);
}

/*
 * The one version check of every options struct (and sign_limits): versions 1
 * to current are accepted, so a caller built against an older header keeps
 * working (the fields it does not have take their defaults); 0 (a struct that
 * was never initialised) and a version above current (a header newer than
 * this library) are SIGN_EINVAL, the message naming the struct (what).
 */
int sign__check_version(unsigned int version, unsigned int current, const char *what);

/*
 * The effective limits into *buf: the defaults when l is NULL, else l with
 * each zero field replaced by its default. Returns 0, or SIGN_EINVAL for an
 * unknown l->version.
 */
int sign__limits(sign_limits *buf, const sign_limits *l);

/* Write all len bytes of data to fd (EINTR retried): 0, or -1 with errno set (EIO for a write of 0 bytes). */
int sign__write_all(int fd, const void *data, size_t len);
/* Read a whole regular file of at most max bytes. *out is NUL-terminated (not counted). */
int sign__read_file(unsigned char **out, size_t *outlen, const char *path, size_t max);
/*
 * Write data to path atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. mode applies to the new file.
 */
int sign__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/*
 * The same, for content that writer(fd, ctx) writes to the temporary file's fd
 * (with sign__write_all; 0, or -1 with errno set): it is written in pieces
 * and never held whole in memory.
 */
int sign__write_file_atomic_with(const char *path, int (*writer)(int fd, void *ctx), void *ctx, mode_t mode);
/*
 * The same in steps: sign__atomic_open creates the temporary file (fd), the
 * caller writes to fd, then either sign__atomic_commit (fsync, close, rename,
 * fsync of the directory) or sign__atomic_abort (close, unlink: nothing left).
 * sign__atomic_failed aborts after a failed write and reports it with errno.
 * Every failure leaves no temporary file behind.
 */
typedef struct sign__atomic_file {
    int fd;
    char *tmp;
    const char *path;
} sign__atomic_file;
int sign__atomic_open(sign__atomic_file *af, const char *path, mode_t mode);
int sign__atomic_commit(sign__atomic_file *af);
void sign__atomic_abort(sign__atomic_file *af);
int sign__atomic_failed(sign__atomic_file *af);
/*
 * Create path only if no file (nor symlink) has that name (SIGN_EEXISTS): the
 * data goes to a temporary file in the same directory (mode from creation),
 * fsync, then it is moved into place without replacing anything
 * (renameat2 RENAME_NOREPLACE, else link+unlink). path never holds a partial file.
 */
int sign__write_file_excl(const char *path, const void *data, size_t len, mode_t mode);
/* 1 when a and b name the same existing file (device and inode). */
int sign__same_file(const char *a, const char *b);

/*
 * Strict JSON: duplicate keys, trailing data, invalid UTF-8, NUL in strings,
 * nesting deeper than limits->json_max_depth and documents larger than
 * limits->json_max_bytes are errors (SIGN_EPARSE / SIGN_ELIMIT). what names
 * the document in the message.
 */
/* Plain JSON strings this long or longer are cut out before jansson parses (see json.c); tests lower it. */
extern size_t sign__json_long_min;
/* Steps of the pre-pass's string loop on this thread (8-byte words and single bytes), for the tests. */
extern _Thread_local uint64_t sign__json_scan_steps;
int sign__json_parse(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what);
int sign__json_read_file(json_t **out, const char *path, const sign_limits *limits);
/*
 * The members of a JSON object that a reader knows: a list ended by a NULL name. A member whose value is an
 * object described in turn has `object` (NULL: its value is built whole, whatever it holds); a member whose value
 * is an array of such objects has `items`.
 */
typedef struct sign__json_field {
    const char *name;
    const struct sign__json_field *object;
    const struct sign__json_field *items;
} sign__json_field;
/*
 * sign__json_parse for a reader that ignores unknown members: the value of any member of a described object
 * (the root object is described by `root`) whose name is not in its list is checked as strictly as jansson
 * would (the document is refused, or accepted, exactly as by sign__json_parse) but not built: the member reads
 * as JSON null. Such values still count against the memory budget and element caps. The member's name stays,
 * so sign__json_only_keys still sees it.
 */
int sign__json_parse_known(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what,
                           const sign__json_field *root);
int sign__json_read_file_known(json_t **out, const char *path, const sign_limits *limits,
                               const sign__json_field *root);
/*
 * A member whose value a reader takes as the bytes of its text, never built as a jansson string: list it with
 * `object` = SIGN__JSON_SPAN (a DSSE envelope's payload, up to the size limit in base64). Read through a
 * sign__json_doc: a plain string value of at least sign__json_long_min bytes stays in the text (the tree holds a
 * placeholder) and sign__json_doc_string hands out its bytes there; any other value is built as usual.
 * sign__json_parse_known builds such members like any other.
 */
extern const sign__json_field sign__json_span_marker[];
#define SIGN__JSON_SPAN sign__json_span_marker
typedef struct sign__json_doc {
    json_t *root;
    const unsigned char *text; /* the text parsed: the caller's, or `owned` */
    unsigned char *owned;      /* the text read from a file */
    void *spans;               /* the long strings left in the text (json.c) */
    size_t nspans;
    int placeholders; /* 1 when the tree holds placeholders for the spans */
} sign__json_doc;
/* sign__json_parse_known into doc (data must outlive it); on failure doc is empty. Free with sign__json_doc_free. */
int sign__json_parse_doc(sign__json_doc *doc, const void *data, size_t len, const sign_limits *limits,
                         const char *what, const sign__json_field *root);
/* The same for a file's text, which doc then owns. */
int sign__json_read_file_doc(sign__json_doc *doc, const char *path, const sign_limits *limits,
                             const sign__json_field *root);
void sign__json_doc_free(sign__json_doc *doc);
/*
 * The bytes of the string v (a node of doc's tree, or of any tree when doc is NULL): its text span when it is a
 * placeholder of doc, else jansson's value. 0, or -1 when v is not a string.
 */
int sign__json_doc_string(const sign__json_doc *doc, const json_t *v, const char **s, size_t *n);
/* Compact, sorted keys; *out malloc'd NUL-terminated. pretty: indent 2. */
int sign__json_dump(char **out, size_t *outlen, const json_t *j, int pretty);
/*
 * A JSON string of text that may not be UTF-8 (file names, messages that
 * quote them): valid UTF-8 is kept, other bytes appear as \\xNN. NULL
 * gives JSON null; NULL is returned only when out of memory.
 */
json_t *sign__json_text(const char *s);
/* Field access that reports the field name on a type error. */
int sign__json_get_string(const char **out, const json_t *obj, const char *key, int required, const char *what);
/*
 * Refuse any member of obj whose name is not in the NULL-terminated list
 * `allowed`. what names the object in the message.
 */
int sign__json_only_keys(const json_t *obj, const char *const *allowed, const char *what);

/* Base64: encode standard with padding; decode strictly standard or URL-safe. */
int sign__b64_encode(char **out, const unsigned char *data, size_t len);
/* The same into dst, which holds (len + 2) / 3 * 4 bytes (no NUL is added): the number of characters written. */
size_t sign__b64_encode_into(char *dst, const unsigned char *data, size_t len);
int sign__b64_decode(unsigned char **out, size_t *outlen, const char *in, size_t inlen);
/* The length in decodes to, or SIZE_MAX (error recorded) when its length or padding is wrong. */
size_t sign__b64_decoded_len(const char *in, size_t inlen);
/* Decode in into out, which holds at least sign__b64_decoded_len(in, inlen) + 3 bytes (no allocation). */
int sign__b64_decode_into(unsigned char *out, size_t outsize, size_t *outlen, const char *in, size_t inlen);
/* The same for short texts (at most 124 characters), into out (outsize bytes), without allocating: never ENOMEM. */
int sign__b64_decode_buf(unsigned char *out, size_t outsize, size_t *outlen, const char *in, size_t inlen);

/* strdup that reports ENOMEM through the error state. */
char *sign__strdup(const char *s);
/* Wipe and free. */
void sign__free_secret(void *p, size_t len);

/* Current time (seconds since the epoch). */
int64_t sign__now(void);

#endif
