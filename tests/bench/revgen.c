/*
 * A large signed revocation list for the `revocation` benchmark group:
 *
 *   revgen DIR NKEYS NARTS SEED
 *
 * writes DIR/authority.pub (a fresh Ed25519 authority) and DIR/revoked.json:
 * version 1, issued now, expiring in 30 days, revoking NKEYS pseudo-random
 * key ids (superseded, effective at the epoch + 1 day) and NARTS
 * pseudo-random digests. None of them is a real key or artifact, so a verify
 * against the list passes after looking every signer and artifact up.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sign/sign.h"

static uint64_t st;

static uint64_t next(void)
{
    uint64_t z = (st += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* n sorted pseudo-random 32-byte values (sorted: each add appends, no O(n^2) inserts). */
static unsigned char (*ids(size_t n))[32]
{
    unsigned char(*v)[32] = malloc(n * 32 + 1);

    if (v == NULL) {
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) {
            uint64_t x = next();

            memcpy(v[i] + 8 * k, &x, 8);
        }
    }
    qsort(v, n, 32, cmp32);
    return v;
}

static void die(const char *what)
{
    fprintf(stderr, "revgen: %s: %s\n", what, sign_error_last());
    exit(1);
}

int main(int argc, char **argv)
{
    sign_revocation_list *l = NULL;
    sign_key *auth = NULL;
    sign_bundle *b = NULL;
    char path[4096], kid[48];
    size_t nk, na;
    unsigned char(*k)[32], (*a)[32];
    int64_t now = (int64_t)time(NULL);
    int changed;

    if (argc != 5) {
        fprintf(stderr, "usage: revgen DIR NKEYS NARTS SEED\n");
        return 2;
    }
    nk = strtoul(argv[2], NULL, 10);
    na = strtoul(argv[3], NULL, 10);
    st = strtoull(argv[4], NULL, 10);
    k = ids(nk);
    a = ids(na);
    if (sign_key_generate(&auth, SIGN_KEY_ED25519, 0) != 0) {
        die("keygen");
    }
    snprintf(path, sizeof(path), "%s/authority.pub", argv[1]);
    if (sign_key_write_public(auth, path) != 0) {
        die(path);
    }
    if (sign_revocation_list_new(&l, now - 60, now + 30 * 86400) != 0) {
        die("list");
    }
    for (size_t i = 0; i < nk; i++) {
        EVP_EncodeBlock((unsigned char *)kid, k[i], 32);
        if (sign_revocation_list_add_key(l, &changed, kid, 1, 86400, SIGN_REVOKE_SUPERSEDED, NULL) != 0) {
            die("add key");
        }
    }
    for (size_t i = 0; i < na; i++) {
        if (sign_revocation_list_add_artifact(l, &changed, a[i], NULL, SIGN_REVOKE_OTHER, NULL) != 0) {
            die("add artifact");
        }
    }
    snprintf(path, sizeof(path), "%s/revoked.json", argv[1]);
    if (sign_revocation_list_sign(&b, l, auth) != 0 || sign_bundle_write(b, path) != 0) {
        die(path);
    }
    sign_bundle_free(b);
    sign_revocation_list_free(l);
    sign_key_free(auth);
    free(k);
    free(a);
    return 0;
}
