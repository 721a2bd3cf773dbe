/*
 * The per-entry reference: inflate every entry of a zip with libarchive
 * (seekable reader, one thread) and SHA-256 its content, as a signer that
 * records entry digests must at least do. Prints one line per entry
 * ("hex  name") unless -q. The yardstick of zip signing.
 */
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

int main(int argc, char **argv)
{
    struct archive *ar;
    struct archive_entry *ae;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *path = argc > 1 ? argv[argc - 1] : NULL;
    int quiet = argc == 3 && strcmp(argv[1], "-q") == 0, r;
    unsigned long n = 0;

    if (path == NULL || (argc == 3 && !quiet) || argc > 3 || ctx == NULL) {
        fprintf(stderr, "usage: ziphash [-q] ZIP\n");
        return 2;
    }
    ar = archive_read_new();
    archive_read_support_format_zip_seekable(ar);
    if (archive_read_open_filename(ar, path, 1024 * 1024) != ARCHIVE_OK) {
        fprintf(stderr, "ziphash: %s: %s\n", path, archive_error_string(ar));
        return 2;
    }
    while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        const void *buf;
        size_t len;
        la_int64_t off;

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        while ((r = archive_read_data_block(ar, &buf, &len, &off)) == ARCHIVE_OK) {
            EVP_DigestUpdate(ctx, buf, len);
        }
        if (r != ARCHIVE_EOF) {
            fprintf(stderr, "ziphash: %s: %s\n", archive_entry_pathname(ae), archive_error_string(ar));
            return 1;
        }
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        if (!quiet) {
            for (unsigned int i = 0; i < mdlen; i++) {
                printf("%02x", md[i]);
            }
            printf("  %s\n", archive_entry_pathname(ae));
        }
        n++;
    }
    if (r != ARCHIVE_EOF) {
        fprintf(stderr, "ziphash: %s: %s\n", path, archive_error_string(ar));
        return 1;
    }
    archive_read_free(ar);
    EVP_MD_CTX_free(ctx);
    if (quiet) {
        printf("%lu entries\n", n);
    }
    return 0;
}
