/* Error codes and the thread-local last-error message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evperr.h>

#include "util.h"
#include "text.h"

static _Thread_local char last_error[1024];

const char *sign_strerror(int code)
{
    switch (code) {
    case SIGN_OK: return "success";
    case SIGN_ERROR: return "error";
    case SIGN_ENOMEM: return "out of memory";
    case SIGN_EIO: return "input/output error";
    case SIGN_EINVAL: return "invalid argument";
    case SIGN_EPARSE: return "malformed input";
    case SIGN_ELIMIT: return "limit exceeded";
    case SIGN_EUNSUPPORTED: return "not supported";
    case SIGN_EEXISTS: return "file exists";
    case SIGN_EPASSPHRASE: return "wrong or missing passphrase";
    case SIGN_ECRYPTO: return "cryptographic operation failed";
    case SIGN_EFINDING: return "refused because of a dangerous finding";
    case SIGN_ENOTFOUND: return "not found";
    case SIGN_ENETWORK: return "network error: connection refused, closed or unreachable";
    case SIGN_ETIMEOUT: return "timed out";
    case SIGN_EHTTP: return "HTTP error status";
    case SIGN_ETSA_REJECTED: return "the time-stamp authority rejected the request";
    case SIGN_ETSA_ANSWER: return "the time-stamp authority's answer is unusable";
    case SIGN_EVERIFY: return "verification failed";
    case SIGN_EBADSIG: return "signature does not verify";
    case SIGN_EDIGEST: return "artifact does not match the signed digest";
    case SIGN_EUNTRUSTED: return "signer not trusted";
    case SIGN_EPOLICY: return "policy violated";
    case SIGN_EREVOKED: return "revoked";
    case SIGN_EEXPIRED: return "expired, not yet valid, or stale";
    default: return "unknown error";
    }
}

const char *sign_error_last(void)
{
    return last_error;
}

void sign__error_clear(void)
{
    last_error[0] = '\0';
}

static void set_message(const char *fmt, va_list ap) SIGN_PRINTF(1, 0);

/* Messages quote names, fields and paths from input: they leave the library printable (util/text). */
static void make_printable(void)
{
    size_t n = strlen(last_error);

    if (sign__text_needs_escape(last_error, n)) {
        char raw[sizeof(last_error)];

        memcpy(raw, last_error, n + 1);
        sign__text_escape_into(last_error, sizeof(last_error), raw, n);
    }
}

static void set_message(const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    make_printable();
}

int sign__error(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    return code;
}

/*
 * Empty OpenSSL's error queue: its first entry into *first (0: none), and 1 when any entry says that memory
 * ran out. OpenSSL 3.0 (measured with the torture run, docs/torture.md) often queues ERR_R_MALLOC_FAILURE
 * first and its consequence ("decode error", "init fail") last; and when a provider cannot allocate its
 * context it queues only EVP's "initialization error", which no input causes: signet initialises only the
 * algorithms of keys it has classified and the built-in SHA-2 digests.
 */
static int ossl_take(unsigned long *first)
{
    unsigned long e;
    int oom = 0;

    *first = ERR_peek_error();
    while ((e = ERR_get_error()) != 0) {
        oom |= ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ||
               (ERR_GET_LIB(e) == ERR_LIB_EVP && ERR_GET_REASON(e) == EVP_R_INITIALIZATION_ERROR);
    }
    return oom;
}

int sign__ossl_oom(void)
{
    unsigned long first;

    return ossl_take(&first);
}

int sign__ossl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    unsigned long first;

    if (ossl_take(&first)) {
        return sign__oom();
    }
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    return code;
}

int sign__ossl_error(int code, const char *fmt, ...)
{
    va_list ap;
    unsigned long e;
    size_t used;

    if (ossl_take(&e)) {
        return sign__oom();
    }
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    if (e != 0) {
        used = strlen(last_error);
        if (used + 3 < sizeof(last_error)) {
            char reason[256];
            const char *rs = ERR_reason_error_string(e);

            if (rs == NULL) {
                ERR_error_string_n(e, reason, sizeof(reason));
                rs = reason;
            }
            snprintf(last_error + used, sizeof(last_error) - used, " (%s)", rs);
        }
    }
    return code;
}

int sign__error_context(int code, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof(last_error)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof(old));
    if (old[0] != '\0') {
        snprintf(last_error, sizeof(last_error), "%s: %s", prefix, old);
    } else {
        snprintf(last_error, sizeof(last_error), "%s: %s", prefix, sign_strerror(code));
    }
    make_printable();
    return code;
}

int sign__check_version(unsigned int version, unsigned int current, const char *what)
{
    if (version == 0) {
        return sign__error(SIGN_EINVAL,
                           "%s: version 0: the struct was not initialised (use its _INIT macro or _init function)",
                           what);
    }
    if (version > current) {
        return sign__error(SIGN_EINVAL,
                           "%s: version %u is newer than this libsign knows (1 to %u): the program was built "
                           "against newer headers than the library it runs with",
                           what, version, current);
    }
    return 0;
}

/* What a NULL sign_limits, and a zero field of one, mean. */
static const sign_limits limit_defaults = {
    .version = SIGN_LIMITS_VERSION,
    .json_max_bytes = 64u * 1024 * 1024,
    .json_max_depth = 64,
    .archive_max_entries = 100000,
    .archive_max_total = UINT64_C(2) * 1024 * 1024 * 1024,
    .archive_max_ratio = 200,
    .entry_max_ratio = 1000,
    .name_max = 1024,
};

void sign_limits_default(sign_limits *limits)
{
    *limits = limit_defaults;
}

int sign__limits(sign_limits *buf, const sign_limits *l)
{
    int r;

    *buf = limit_defaults;
    if (l == NULL) {
        return 0;
    }
    /* Versions 1 and 2 have the same fields; from 2 on SIGN_LIMITS_INIT leaves them 0. */
    if ((r = sign__check_version(l->version, SIGN_LIMITS_VERSION, "sign_limits")) != 0) {
        return r;
    }
#define TAKE(field)                                                                                                  \
    if (l->field != 0) {                                                                                             \
        buf->field = l->field;                                                                                       \
    }
    TAKE(json_max_bytes);
    TAKE(json_max_depth);
    TAKE(archive_max_entries);
    TAKE(archive_max_total);
    TAKE(archive_max_ratio);
    TAKE(entry_max_ratio);
    TAKE(name_max);
#undef TAKE
    return 0;
}
