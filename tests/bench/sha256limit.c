/*
 * The SHA-256 limit: what reading and hashing a file costs at best on this
 * machine. OpenSSL EVP SHA-256 over 1 MiB read()s, one thread; prints the
 * hex digest. The yardstick of whole-file signing and verification.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define READ_SIZE (1024 * 1024)

int main(int argc, char **argv)
{
    static unsigned char buf[READ_SIZE];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: sha256limit FILE\n");
        return 2;
    }
    if ((fd = open(argv[1], O_RDONLY)) < 0) {
        fprintf(stderr, "sha256limit: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "sha256limit: OpenSSL cannot set up SHA-256\n");
        return 2;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fprintf(stderr, "sha256limit: %s: %s\n", argv[1], strerror(errno));
            return 2;
        }
        if (n == 0) {
            break;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            return 2;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        return 2;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        printf("%02x", md[i]);
    }
    printf("  %s\n", argv[1]);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return 0;
}
