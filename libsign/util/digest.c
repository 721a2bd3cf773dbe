/* Streaming digests over OpenSSL EVP: buffers, fds and files in large reads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sign/digest.h"
#include "util.h"

struct sign_digest_ctx {
    EVP_MD_CTX *md;
};

/*
 * The digests fetched once per process: OpenSSL 3 looks EVP_sha256() up in
 * its provider store (under a lock) on every EVP_DigestInit_ex, and a zip of
 * 20,000 entries starts a digest per entry. NULL (the fetch failed): the
 * built-in one, fetched on each use as before.
 */
static EVP_MD *md_fetched[3];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_fetched[0] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    md_fetched[1] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    md_fetched[2] = EVP_MD_fetch(NULL, "SHA2-512", NULL);
}

static const EVP_MD *md_of(sign_digest_alg alg)
{
    pthread_once(&md_once, md_fetch);
    switch (alg) {
    case SIGN_DIGEST_SHA256: return md_fetched[0] != NULL ? md_fetched[0] : EVP_sha256();
    case SIGN_DIGEST_SHA384: return md_fetched[1] != NULL ? md_fetched[1] : EVP_sha384();
    case SIGN_DIGEST_SHA512: return md_fetched[2] != NULL ? md_fetched[2] : EVP_sha512();
    default: return NULL;
    }
}

int sign_digest_new(sign_digest_ctx **out, sign_digest_alg alg)
{
    sign_digest_ctx *c;
    const EVP_MD *md = md_of(alg);

    *out = NULL;
    if (md == NULL) {
        return sign__error(SIGN_EUNSUPPORTED, "unsupported digest algorithm %d", (int)alg);
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->md = EVP_MD_CTX_new()) == NULL) {
        free(c);
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (EVP_DigestInit_ex(c->md, md, NULL) != 1) {
        sign_digest_free(c);
        /* a built-in SHA-2 whose provider context could not be allocated (OpenSSL 3.0 queues no reason) */
        return sign__ossl_error(SIGN_ENOMEM, "out of memory (digest initialisation failed)");
    }
    *out = c;
    return 0;
}

int sign_digest_update(sign_digest_ctx *ctx, const void *data, size_t len)
{
    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): ctx is set; sign__error() never returns 0 */
    if (len > 0 && EVP_DigestUpdate(ctx->md, data, len) != 1) {
        return sign__ossl_error(SIGN_ECRYPTO, "digest update failed");
    }
    return 0;
}

int sign_digest_final(unsigned char *md, size_t mdsize, size_t *mdlen, sign_digest_ctx *ctx)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): ctx is set; sign__error() never returns 0 */
    if (EVP_DigestFinal_ex(ctx->md, buf, &n) != 1) {
        return sign__ossl_error(SIGN_ECRYPTO, "digest finalisation failed");
    }
    if (mdsize < n) {
        return sign__error(SIGN_EINVAL, "digest buffer too small");
    }
    memcpy(md, buf, n);
    if (mdlen != NULL) {
        *mdlen = n;
    }
    return 0;
}

void sign_digest_free(sign_digest_ctx *ctx)
{
    if (ctx != NULL) {
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
    }
}

int sign_digest_buffer(unsigned char *md, size_t mdsize, size_t *mdlen, sign_digest_alg alg, const void *data,
                       size_t len)
{
    sign_digest_ctx *c = NULL;
    int r;

    if ((r = sign_digest_new(&c, alg)) == 0 && (r = sign_digest_update(c, data, len)) == 0) {
        r = sign_digest_final(md, mdsize, mdlen, c);
    }
    sign_digest_free(c);
    return r;
}

int sign_digest_fd(unsigned char *md, size_t mdsize, size_t *mdlen, uint64_t *size, sign_digest_alg alg, int fd)
{
    sign_digest_ctx *c = NULL;
    unsigned char *buf = NULL;
    uint64_t total = 0;
    int r;

    if (size != NULL) {
        *size = 0;
    }
    if ((r = sign_digest_new(&c, alg)) != 0) {
        return r;
    }
    if ((buf = malloc(SIGN_DIGEST_READ_SIZE)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        ssize_t n = read(fd, buf, SIGN_DIGEST_READ_SIZE);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            r = sign__error(SIGN_EIO, "read failed: %s", strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        if ((r = sign_digest_update(c, buf, (size_t)n)) != 0) {
            goto out;
        }
        total += (uint64_t)n;
    }
    if ((r = sign_digest_final(md, mdsize, mdlen, c)) != 0) {
        goto out;
    }
    if (size != NULL) {
        *size = total;
    }
out:
    free(buf);
    sign_digest_free(c);
    return r;
}

int sign_digest_file(unsigned char *md, size_t mdsize, size_t *mdlen, uint64_t *size, sign_digest_alg alg,
                     const char *path)
{
    struct stat st;
    int fd, r;

    /* O_NONBLOCK: opening a FIFO must not hang; only regular files are hashed by path. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return sign__error(errno == ENOENT ? SIGN_ENOTFOUND : SIGN_EIO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        close(fd);
        return sign__error(SIGN_EIO, "%s: not a regular file", path);
    }
    r = sign_digest_fd(md, mdsize, mdlen, size, alg, fd);
    close(fd);
    if (r != 0) {
        return sign__error_context(r, "%s", path);
    }
    return 0;
}
