/* SHA-256 / SHA-512 known answers (FIPS 180-2 examples) and streaming equivalence. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sign/digest.h"
#include "testutil.h"

static void hexof(char *out, const unsigned char *md, size_t n)
{
    cr_assert_eq(sign_hex_encode(out, 2 * n + 1, md, n), 0);
}

Test(digest, sha256_vectors)
{
    unsigned char md[SIGN_DIGEST_MAX_LEN];
    char hex[2 * SIGN_DIGEST_MAX_LEN + 1];
    size_t n = 0;

    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &n, SIGN_DIGEST_SHA256, "abc", 3), 0);
    cr_assert_eq(n, 32);
    hexof(hex, md, n);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &n, SIGN_DIGEST_SHA256, "", 0), 0);
    hexof(hex, md, n);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &n, SIGN_DIGEST_SHA256,
                                    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56),
                 0);
    hexof(hex, md, n);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    cr_assert_eq(sign_digest_buffer(md, sizeof(md), &n, SIGN_DIGEST_SHA512, "abc", 3), 0);
    cr_assert_eq(n, 64);
    hexof(hex, md, n);
    cr_assert_str_eq(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    cr_assert_eq(sign_digest_buffer(md, 16, &n, SIGN_DIGEST_SHA256, "abc", 3), SIGN_EINVAL);
}

Test(digest, million_a_streamed_from_a_file)
{
    char *dir = tu_mkdtemp();
    char *p = tu_path(dir, "a");
    unsigned char md[32];
    char hex[65];
    uint64_t size = 0;
    size_t n = 0;
    char *buf = malloc(1000000);

    /* Larger than one read block would be better; 1,000,000 'a' is the FIPS vector. */
    memset(buf, 'a', 1000000);
    tu_write(p, buf, 1000000);
    cr_assert_eq(sign_digest_file(md, sizeof(md), &n, &size, SIGN_DIGEST_SHA256, p), 0);
    cr_assert_eq(size, 1000000);
    hexof(hex, md, n);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(buf);
    free(p);
    p = tu_path(dir, "missing");
    cr_assert_eq(sign_digest_file(md, sizeof(md), &n, &size, SIGN_DIGEST_SHA256, p), SIGN_ENOTFOUND);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

Test(digest, streaming_equals_one_shot_across_read_blocks)
{
    char *dir = tu_mkdtemp();
    char *p = tu_path(dir, "big");
    size_t len = 3 * SIGN_DIGEST_READ_SIZE + 12345, n1 = 0, n2 = 0;
    unsigned char *buf = malloc(len), a[32], b[32];
    sign_digest_ctx *c = NULL;
    uint64_t size = 0;

    for (size_t i = 0; i < len; i++) {
        buf[i] = (unsigned char)(i * 2654435761u >> 13);
    }
    tu_write(p, buf, len);
    cr_assert_eq(sign_digest_file(a, sizeof(a), &n1, &size, SIGN_DIGEST_SHA256, p), 0);
    cr_assert_eq(size, len);
    cr_assert_eq(sign_digest_new(&c, SIGN_DIGEST_SHA256), 0);
    for (size_t off = 0; off < len; off += 7777) {
        size_t k = len - off < 7777 ? len - off : 7777;
        cr_assert_eq(sign_digest_update(c, buf + off, k), 0);
    }
    cr_assert_eq(sign_digest_final(b, sizeof(b), &n2, c), 0);
    sign_digest_free(c);
    cr_assert_eq(n1, n2);
    cr_assert_eq(memcmp(a, b, 32), 0);
    free(buf);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
