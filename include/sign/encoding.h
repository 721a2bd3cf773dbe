/* signet — hex, RFC 3339 times and durations (libsign/util/encoding.c). */
#ifndef SIGN_ENCODING_H
#define SIGN_ENCODING_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lower-case hex of len bytes into out (outsize >= 2*len+1). */
SIGN_EXTERN int sign_hex_encode(char *out, size_t outsize, const unsigned char *data, size_t len);
/* Strict lower- or upper-case hex decode of exactly outsize bytes. */
SIGN_EXTERN int sign_hex_decode(unsigned char *out, size_t outsize, const char *hex);

/* Parse "<n>s|m|h|d" into seconds. */
SIGN_EXTERN int sign_parse_duration(int64_t *out, const char *text);
/* Parse RFC 3339 UTC ("2026-01-01T00:00:00Z", fractional seconds allowed). */
SIGN_EXTERN int sign_parse_time(int64_t *out, const char *text);
/* Format seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (outsize >= 21). */
SIGN_EXTERN int sign_format_time(char *out, size_t outsize, int64_t t);

#ifdef __cplusplus
}
#endif
#endif
