/* signet — common definitions: error codes, limits, export macros. */
#ifndef SIGN_COMMON_H
#define SIGN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIGN_VERSION_STRING "0.1.0"

#if defined(SIGN_BUILDING)
#define SIGN_EXTERN __attribute__((visibility("default")))
#else
#define SIGN_EXTERN
#endif

#define SIGN_WARN_UNUSED __attribute__((warn_unused_result))

/* The version of the library linked (SIGN_VERSION_STRING of the build), e.g. "0.1.0". */
SIGN_EXTERN const char *sign_version(void);

/*
 * Error codes. Functions return 0 on success or one of these (negative).
 * Codes from SIGN_EVERIFY down are verification failures: the input was read
 * and understood, and it is not acceptable. All others are errors in using
 * the library or in reading the input.
 */
enum {
    SIGN_OK = 0,
    SIGN_ERROR = -1,        /* generic failure */
    SIGN_ENOMEM = -2,       /* out of memory */
    SIGN_EIO = -3,          /* reading or writing a file failed */
    SIGN_EINVAL = -4,       /* invalid argument or usage */
    SIGN_EPARSE = -5,       /* malformed input (JSON, PEM, DER, archive) */
    SIGN_ELIMIT = -6,       /* a size or count limit was exceeded */
    SIGN_EUNSUPPORTED = -7, /* valid but unsupported (algorithm, feature) */
    SIGN_EEXISTS = -8,      /* output file exists and would be overwritten */
    SIGN_EPASSPHRASE = -9,  /* wrong or missing passphrase */
    SIGN_ECRYPTO = -10,     /* a cryptographic operation failed */
    SIGN_EFINDING = -11,    /* a dangerous finding refuses the operation */
    SIGN_ENOTFOUND = -12,   /* a named file or item does not exist */
    /* A network service (TSA) failed; the messages name the URL. */
    SIGN_ENETWORK = -13,      /* connection refused, closed or unreachable */
    SIGN_ETIMEOUT = -14,      /* no answer within the timeout */
    SIGN_EHTTP = -15,         /* the server answered with an HTTP error status */
    SIGN_ETSA_REJECTED = -16, /* the TSA answered with a rejection status */
    SIGN_ETSA_ANSWER = -17,   /* the TSA's answer is unusable: garbage, wrong nonce, wrong imprint */

    SIGN_EVERIFY = -20,    /* verification failed (generic) */
    SIGN_EBADSIG = -21,    /* a signature does not verify */
    SIGN_EDIGEST = -22,    /* artifact bytes do not match the signed digest */
    SIGN_EUNTRUSTED = -23, /* the signer is not trusted by the policy */
    SIGN_EPOLICY = -24,    /* the policy is violated (globs, threshold, ...) */
    SIGN_EREVOKED = -25,   /* a key, certificate or artifact is revoked */
    SIGN_EEXPIRED = -26    /* expired, not yet valid, or stale */
};

/* Static description of an error code; never NULL. */
SIGN_EXTERN const char *sign_strerror(int code);

/*
 * The message of the last error on this thread, with context (file, field,
 * offset, OpenSSL reason). Valid until the next failing call on this thread.
 * Never NULL; "" when there is none.
 */
SIGN_EXTERN const char *sign_error_last(void);

/*
 * A printable copy of untrusted text (file names, fields of a bundle) for a
 * terminal or a log: valid UTF-8 is kept except control characters (C0, DEL,
 * C1 such as CSI U+009B) and the bidirectional overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069), whose bytes appear as \\xNN like every
 * byte that is not valid UTF-8 (e.g. ESC is "\\x1b", U+202E "\\xe2\\x80\\xae").
 * So text from an attacker can neither forge lines, send terminal escapes
 * nor reorder what is displayed. The strings libsign returns (finding paths
 * and messages, sign_error_last(), certificate subjects, events) are already
 * in this form. malloc'd; NULL only when out of memory.
 */
SIGN_EXTERN char *sign_text_safe(const char *s);

/*
 * Options structs (sign_limits, sign_*_options, sign_x509_trust): version
 * first, fields only appended. Initialise with the struct's _INIT macro
 * ({ VERSION }, every other field zero) or its _init function (for callers
 * through an FFI); a zero field always means its default. The library takes
 * versions 1 to the one it was built with, so a program built against older
 * headers keeps working; version 0 and newer versions are SIGN_EINVAL.
 */

/*
 * The _INIT macros: the version, every other field zero. C gets a designated
 * initialiser (no -Wmissing-field-initializers warning); C++ before C++20 has
 * none, so it gets {version}, which g++ -Wextra warns about: C++ callers may
 * prefer value-initialisation (sign_verify_options o{}; o.version = ...) or
 * the _init functions.
 */
#ifdef __cplusplus
#define SIGN_OPTIONS_INIT_VERSION(v)                                                                                 \
    {                                                                                                                \
        v                                                                                                            \
    }
#else
#define SIGN_OPTIONS_INIT_VERSION(v)                                                                                 \
    {                                                                                                                \
        .version = (v)                                                                                               \
    }
#endif

/* Caps on everything an attacker controls. Each field: 0 means the default (in brackets). */
typedef struct sign_limits {
    unsigned int version;
    size_t json_max_bytes;        /* largest JSON document read [64 MiB] */
    unsigned int json_max_depth;  /* deepest nesting of arrays/objects [64] */
    uint64_t archive_max_entries; /* entries in one archive [100000] */
    uint64_t archive_max_total;   /* total uncompressed bytes of one archive [2 GiB] */
    uint64_t archive_max_ratio;   /* total uncompressed / compressed [200] */
    uint64_t entry_max_ratio;     /* one entry's uncompressed / compressed [1000] */
    size_t name_max;              /* longest entry name, bytes [1024] */
} sign_limits;

/* Version 2: a zero field means its default (version 1's SIGN_LIMITS_INIT spelled the defaults out). */
#define SIGN_LIMITS_VERSION 2
#define SIGN_LIMITS_INIT SIGN_OPTIONS_INIT_VERSION(SIGN_LIMITS_VERSION)

/* Fill *limits with the current version and every default spelled out (an FFI caller's initialiser). */
SIGN_EXTERN void sign_limits_default(sign_limits *limits);

/* Progress callback: done/total bytes (total 0 when unknown). */
typedef void (*sign_progress_cb)(const char *what, uint64_t done, uint64_t total, void *userdata);

#ifdef __cplusplus
}
#endif
#endif
