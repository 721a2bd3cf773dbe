/* Shared helpers of the fuzz targets. Test code: it may print, abort and read the environment. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "scansig.h"

static char *tmpdir;
static pid_t tmpdir_owner;
static sign_key *keys[5];

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz: invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void cleanup(void)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        sign_key_free(keys[i]);
        keys[i] = NULL;
    }
    /* A forked child (libFuzzer -fork) must not remove its parent's directory. */
    if (tmpdir != NULL && getpid() == tmpdir_owner) {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(tmpdir);
    tmpdir = NULL;
}

const char *fuzz_tmpdir(void)
{
    const char *base;
    size_t n;

    if (tmpdir != NULL) {
        return tmpdir;
    }
    base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = strlen(base) + sizeof("/signet-fuzz-XXXXXX");
    if ((tmpdir = malloc(n)) == NULL) {
        fuzz_fail("out of memory");
    }
    snprintf(tmpdir, n, "%s/signet-fuzz-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL) {
        fuzz_fail("mkdtemp %s: %s", tmpdir, strerror(errno));
    }
    tmpdir_owner = getpid();
    atexit(cleanup);
    return tmpdir;
}

char *fuzz_path(const char *name)
{
    const char *d = fuzz_tmpdir();
    size_t n = strlen(d) + strlen(name) + 2;
    char *p = malloc(n);

    if (p == NULL) {
        fuzz_fail("out of memory");
    }
    snprintf(p, n, "%s/%s", d, name);
    return p;
}

void fuzz_write_file(const char *name, const void *data, size_t len)
{
    char *p = fuzz_path(name);
    FILE *f = fopen(p, "wb");

    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fuzz_fail("cannot write %s: %s", p, strerror(errno));
    }
    free(p);
}

void fuzz_limits(sign_limits *l)
{
    sign_limits_default(l);
    l->json_max_bytes = 1024 * 1024;
    l->archive_max_entries = 2000;
    l->archive_max_total = 16u * 1024 * 1024;
}

void fuzz_check_error(int r, const char *call)
{
    if (r >= 0) {
        fuzz_fail("%s returned %d, expected 0 or a negative SIGN_E* code", call, r);
    }
    if (sign_error_last()[0] == '\0') {
        fuzz_fail("%s failed (%d, %s) without a message", call, r, sign_strerror(r));
    }
}

size_t fuzz_touch(const char *s)
{
    return s == NULL ? 0 : strlen(s);
}

void fuzz_touch_bytes(const void *p, size_t n)
{
    const volatile unsigned char *b = p;
    unsigned char acc = 0;

    for (size_t i = 0; i < n; i++) {
        acc ^= b[i];
    }
    (void)acc;
}

const sign_key *fuzz_key(sign_key_type type)
{
    if ((size_t)type >= sizeof(keys) / sizeof(keys[0])) {
        fuzz_fail("no key of type %d", (int)type);
    }
    if (keys[type] == NULL) {
        sign_key *k = NULL;

        fuzz_tmpdir(); /* registers the cleanup that frees the keys */
        if (sign_key_generate(&k, type, type == SIGN_KEY_RSA ? 2048 : 0) != 0) {
            fuzz_fail("sign_key_generate(%d): %s", (int)type, sign_error_last());
        }
        keys[type] = k;
    }
    return keys[type];
}

void fuzz_envelope_check(const sign_envelope *env)
{
    static const sign_key_type types[] = {SIGN_KEY_ED25519, SIGN_KEY_ECDSA_P256, SIGN_KEY_RSA};
    const char *type = sign_envelope_payload_type(env);
    const unsigned char *payload;
    unsigned char *pae = NULL;
    size_t len = 0, paelen = 0, n, tlen, head;
    char prefix[64];
    int r;

    if (type == NULL) {
        fuzz_fail("parsed envelope without a payloadType");
    }
    payload = sign_envelope_payload(env, &len);
    if (payload == NULL && len > 0) {
        fuzz_fail("payload NULL with length %zu", len);
    }
    n = sign_envelope_signature_count(env);
    for (size_t i = 0; i < n; i++) {
        size_t siglen = 0;
        const unsigned char *sig = sign_envelope_signature(env, i, &siglen);

        if (sign_envelope_signature_keyid(env, i) == NULL) {
            fuzz_fail("signature %zu: keyid NULL (the header promises \"\")", i);
        }
        if (sig == NULL && siglen > 0) {
            fuzz_fail("signature %zu: NULL with length %zu", i, siglen);
        }
        for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
            if (sign_envelope_verify(env, i, fuzz_key(types[k])) == 0) {
                fuzz_fail("signature %zu verified under a key made by this process", i);
            }
        }
    }
    /* Out of range indexes are refused, not read. */
    if (sign_envelope_signature_keyid(env, n) != NULL && sign_envelope_signature_keyid(env, n)[0] != '\0') {
        fuzz_fail("keyid of signature %zu of %zu", n, n);
    }
    if (sign_envelope_verify(env, n, fuzz_key(SIGN_KEY_ED25519)) == 0) {
        fuzz_fail("signature %zu of %zu verified", n, n);
    }

    if ((r = sign_dsse_pae(&pae, &paelen, type, payload, len)) != 0) {
        fuzz_check_error(r, "sign_dsse_pae");
        return;
    }
    tlen = strlen(type);
    head = (size_t)snprintf(prefix, sizeof(prefix), "DSSEv1 %zu ", tlen);
    if (paelen < head + tlen + len || memcmp(pae, prefix, head) != 0 || memcmp(pae + head, type, tlen) != 0 ||
        (len > 0 && memcmp(pae + paelen - len, payload, len) != 0)) {
        fuzz_fail("PAE of a %zu-byte type and %zu-byte body is malformed (%zu bytes)", tlen, len, paelen);
    }
    free(pae);
}

void fuzz_check_engines(const char *path, const char *name, const sign_limits *lim)
{
    char *d = scansig_differential(path, name, lim, NULL);

    if (d != NULL) {
        fuzz_fail("the inflate engines disagree on %s: %s", name, d);
    }
}
