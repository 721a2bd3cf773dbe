/* signet — streaming SHA-256 / SHA-512 over buffers, fds and files. */
#ifndef SIGN_DIGEST_H
#define SIGN_DIGEST_H

#include "common.h"
#include "encoding.h" /* sign_hex_encode, sign_hex_decode were declared here before 0.2 */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SIGN_DIGEST_SHA256 = 1, SIGN_DIGEST_SHA384 = 2, SIGN_DIGEST_SHA512 = 3 } sign_digest_alg;

#define SIGN_SHA256_LEN 32
#define SIGN_DIGEST_MAX_LEN 64
/* Read size used for files: large sequential reads. */
#define SIGN_DIGEST_READ_SIZE (1024 * 1024)

typedef struct sign_digest_ctx sign_digest_ctx;

SIGN_EXTERN int sign_digest_new(sign_digest_ctx **out, sign_digest_alg alg);
SIGN_EXTERN int sign_digest_update(sign_digest_ctx *ctx, const void *data, size_t len);
/* Writes the digest to md (mdsize at least the digest length); *mdlen = length. */
SIGN_EXTERN int sign_digest_final(unsigned char *md, size_t mdsize, size_t *mdlen, sign_digest_ctx *ctx);
SIGN_EXTERN void sign_digest_free(sign_digest_ctx *ctx);

/* One-shot digest of a buffer. */
SIGN_EXTERN int sign_digest_buffer(unsigned char *md, size_t mdsize, size_t *mdlen, sign_digest_alg alg,
                                   const void *data, size_t len);
/* Digest of everything readable from fd (from its current offset); *size = bytes read (may be NULL). */
SIGN_EXTERN int sign_digest_fd(unsigned char *md, size_t mdsize, size_t *mdlen, uint64_t *size, sign_digest_alg alg,
                               int fd);
/* Digest of a whole file. */
SIGN_EXTERN int sign_digest_file(unsigned char *md, size_t mdsize, size_t *mdlen, uint64_t *size, sign_digest_alg alg,
                                 const char *path);

#ifdef __cplusplus
}
#endif
#endif
