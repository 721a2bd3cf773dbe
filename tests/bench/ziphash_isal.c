/*
 * The per-entry reference with ISA-L: ziphash.c's work (inflate every entry
 * of a zip and SHA-256 its content, one thread), with the entries' deflate
 * streams inflated by ISA-L's igzip (isal_inflate, its CRC-32 computed on
 * the way, as signet's util/inflate does) instead of libarchive's zlib. The
 * entries are found through the central directory (no zip64, no checks
 * beyond what reading needs). Prints "hex  name" per entry unless -q. The
 * yardstick of the new limit: how close signet is to ISA-L's inflate, not
 * only to zlib's. Built when libisal-dev is installed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* Inflate csize bytes at in into the digest; 0, or -1 on bad data or a wrong CRC. */
static int inflate_entry(struct inflate_state *s, unsigned char *out, size_t outcap, const unsigned char *in,
                         uint32_t csize, uint32_t crc, EVP_MD_CTX *ctx)
{
    isal_inflate_init(s);
    s->crc_flag = ISAL_GZIP_NO_HDR;
    s->next_in = (uint8_t *)(uintptr_t)in;
    s->avail_in = csize;
    while (s->block_state != ISAL_BLOCK_FINISH) {
        s->next_out = out;
        s->avail_out = (uint32_t)outcap;
        if (isal_inflate(s) != ISAL_DECOMP_OK) {
            return -1;
        }
        EVP_DigestUpdate(ctx, out, outcap - s->avail_out);
        if (s->avail_out == outcap && s->avail_in == 0 && s->block_state != ISAL_BLOCK_FINISH) {
            return -1; /* truncated */
        }
    }
    return s->crc == crc ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[argc - 1] : NULL;
    int quiet = argc == 3 && strcmp(argv[1], "-q") == 0, fd;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct inflate_state *s = malloc(sizeof(*s));
    size_t outcap = 256 * 1024;
    unsigned char *out = malloc(outcap), *m;
    struct stat st;
    unsigned long n = 0;
    uint64_t size, e, cd, cdend;

    if (path == NULL || (argc == 3 && !quiet) || argc > 3 || ctx == NULL || s == NULL || out == NULL) {
        fprintf(stderr, "usage: ziphash_isal [-q] ZIP\n");
        return 2;
    }
    if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size < 22 ||
        (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        fprintf(stderr, "ziphash_isal: %s: cannot read\n", path);
        return 2;
    }
    size = (uint64_t)st.st_size;
    for (e = size - 22; e > 0 && memcmp(m + e, "PK\5\6", 4) != 0; e--) {
    }
    cd = le32(m + e + 16);
    cdend = cd + le32(m + e + 12);
    while (cd + 46 <= cdend && cdend <= e && memcmp(m + cd, "PK\1\2", 4) == 0) {
        const unsigned char *h = m + cd;
        uint32_t method = le16(h + 10), crc = le32(h + 16), csize = le32(h + 20), lfh = le32(h + 42);
        uint32_t nl = le16(h + 28), data = lfh + 30 + le16(m + lfh + 26) + le16(m + lfh + 28);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        if ((uint64_t)data + csize > size) {
            fprintf(stderr, "ziphash_isal: %.*s: truncated\n", (int)nl, (const char *)h + 46);
            return 1;
        }
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        if (method == 8) {
            if (inflate_entry(s, out, outcap, m + data, csize, crc, ctx) != 0) {
                fprintf(stderr, "ziphash_isal: %.*s: bad deflate data or CRC\n", (int)nl, (const char *)h + 46);
                return 1;
            }
        } else if (method == 0) {
            EVP_DigestUpdate(ctx, m + data, csize);
        } else {
            fprintf(stderr, "ziphash_isal: %.*s: method %u\n", (int)nl, (const char *)h + 46, method);
            return 1;
        }
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        if (!quiet) {
            for (unsigned int i = 0; i < mdlen; i++) {
                printf("%02x", md[i]);
            }
            printf("  %.*s\n", (int)nl, (const char *)h + 46);
        }
        n++;
        cd += 46 + nl + le16(h + 30) + le16(h + 32);
    }
    if (quiet) {
        printf("%lu entries\n", n);
    }
    munmap(m, (size_t)st.st_size);
    close(fd);
    free(s);
    free(out);
    EVP_MD_CTX_free(ctx);
    return 0;
}
