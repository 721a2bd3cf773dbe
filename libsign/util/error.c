/* Error codes and the thread-local last-error message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "util.h"

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

static void set_message(const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

int sign__error(int code, const char *fmt, ...)
{
    va_list ap;

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

    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    e = ERR_peek_error();
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
    ERR_clear_error();
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
    return code;
}

void sign_limits_default(sign_limits *limits)
{
    const sign_limits d = SIGN_LIMITS_INIT;

    *limits = d;
}

const sign_limits *sign__limits(const sign_limits *l)
{
    static const sign_limits defaults = SIGN_LIMITS_INIT;

    return l != NULL ? l : &defaults;
}
