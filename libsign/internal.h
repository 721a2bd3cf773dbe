/* libsign internals shared between areas. Not installed. */
#ifndef SIGN_INTERNAL_H
#define SIGN_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include "sign/sign.h"

#define SIGN_UNUSED __attribute__((unused))
#define SIGN_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record code and a formatted message as the thread's last error; returns code. */
int sign__error(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
/* Same, appending OpenSSL's first queued reason, and clearing OpenSSL's error queue. */
int sign__ossl_error(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
/* Prefix the current last-error message with "context: ". Returns code. */
int sign__error_context(int code, const char *fmt, ...) SIGN_PRINTF(2, 3);
void sign__error_clear(void);

/* Overflow-checked arithmetic: return false on overflow. */
static inline bool sign__add(size_t *out, size_t a, size_t b)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool sign__mul(size_t *out, size_t a, size_t b)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Effective limits: l, or the defaults when l is NULL. */
const sign_limits *sign__limits(const sign_limits *l);

/* Read a whole regular file of at most max bytes. *out is NUL-terminated (not counted). */
int sign__read_file(unsigned char **out, size_t *outlen, const char *path, size_t max);
/*
 * Write data to path atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. mode applies to the new file.
 */
int sign__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
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
int sign__json_parse(json_t **out, const void *data, size_t len, const sign_limits *limits, const char *what);
int sign__json_read_file(json_t **out, const char *path, const sign_limits *limits);
/* Compact, sorted keys; *out malloc'd NUL-terminated. pretty: indent 2. */
int sign__json_dump(char **out, size_t *outlen, const json_t *j, int pretty);
/*
 * The serialised statement of the artifacts: the same bytes as
 * sign_statement_build + sign_statement_serialize, with the entries written
 * directly instead of through jansson (manifest.c).
 */
int sign__statement_payload(char **out, size_t *outlen, sign_artifact *const *artifacts, size_t n,
                            const sign_manifest_options *opts);
/*
 * Free the entries the statement records for its artifacts (already checked
 * by sign_statement_parse), when the verify will not compare them: freeing
 * 20,000 of them took longer than a verify's whole-file digest of the zip.
 */
void sign__statement_drop_entries(sign_statement *st);
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
int sign__b64_decode(unsigned char **out, size_t *outlen, const char *in, size_t inlen);

/* strdup that reports ENOMEM through the error state. */
char *sign__strdup(const char *s);
/* Wipe and free. */
void sign__free_secret(void *p, size_t len);

/* Current time (seconds since the epoch). */
int64_t sign__now(void);

/*
 * 1 when a and b hold the same public key, whatever its encoding (PEM or
 * DER, compressed or uncompressed EC point): key ids differ then, keys do not.
 */
int sign__key_same(const sign_key *a, const sign_key *b);
/* Classify, check and wrap an OpenSSL key (taken over, also on failure); what names it in messages. */
struct evp_pkey_st;
int sign__key_adopt(sign_key **out, struct evp_pkey_st *pkey, int has_private, const char *what);
/* The OpenSSL key inside key (borrowed). */
const struct evp_pkey_st *sign__key_pkey(const sign_key *key);

/* DSSE envelope <-> JSON object (used by the bundle). */
int sign__envelope_from_json(sign_envelope **out, const json_t *obj, const char *what);
json_t *sign__envelope_to_json(const sign_envelope *env);

/*
 * sign_timestamp_verify with "now" given (CRL freshness of the TSA's chain) and the token's accuracy in
 * seconds (rounded up; 0 when absent) returned: verify judges genTime +- accuracy (libsign/pki/timestamp.c).
 */
int sign__timestamp_verify_at(sign_timestamp_info *out, int64_t *accuracy, sign_timestamp_failure *why,
                              const unsigned char *der, size_t len, const unsigned char *data, size_t datalen,
                              const sign_tsa_roots *roots, int64_t now);

/* Largest signature accepted from input (bytes, decoded). */
#define SIGN_MAX_SIGNATURE 16384

#endif
