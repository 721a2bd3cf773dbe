/*
 * The verifier's cache of verified revocation lists (docs/revocation.md, "Large lists"). Reading, decoding,
 * hashing, authenticating and parsing a list of 100,000 keys and 100,000 artifacts (30 MB) costs seconds; the
 * lists change rarely. So once a list has been authenticated, judged and recorded in the state directory, its
 * entries are kept there as a compact sorted index (sign__revocation_index_write), and later verifies load the
 * index instead of the list when all of these hold:
 *
 *   - the list file is the same file, unchanged: device, inode, size, mtime and ctime equal those recorded when
 *     the index was written (ctime cannot be set by anyone who may replace the file without root; any write,
 *     rename over or utimes() changes it), and that ctime was at least CACHE_RACY seconds before the index was
 *     written (a coarse file system clock could hide a second write within the same tick);
 *   - the index is intact: a regular file owned by this user and writable by nobody else, its SHA-256
 *     checksum, then every field, order and text checked as a parse would;
 *   - the authority recorded is still one of the list's authorities in the policy;
 *   - the state directory records this very list (version and payload SHA-256) as the latest seen: a cache can
 *     only stand in for the version that rollback protection already accepted.
 *
 * Anything else is a miss, and the list is read, authenticated and judged in full as without a cache. The
 * index lives in the state directory, which must be as trusted as the state itself (who can write there can
 * already reset rollback protection); it adds nothing an attacker who can replace the list file could use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <openssl/crypto.h>

#include "state.h"
#include "verify_internal.h"

#define CACHE_MAGIC "signet revocation index\n" /* 24 bytes */
#define CACHE_MAGIC_LEN 24
/* magic, checksum, 7 identity fields of 8 bytes, payload SHA-256, authority key id (64, NUL padded) */
#define CACHE_HEAD (CACHE_MAGIC_LEN + 32 + 56 + 32 + SIGN_KEYID_SIZE)
#define CACHE_RACY 2
#define STATE_LISTS "revocation.json"

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* The identity of the list file as the cache records it. */
static void file_identity(unsigned char out[56], const struct stat *st)
{
    put64(out, (uint64_t)st->st_dev);
    put64(out + 8, (uint64_t)st->st_ino);
    put64(out + 16, (uint64_t)st->st_size);
    put64(out + 24, (uint64_t)st->st_mtim.tv_sec);
    put64(out + 32, (uint64_t)st->st_mtim.tv_nsec);
    put64(out + 40, (uint64_t)st->st_ctim.tv_sec);
    put64(out + 48, (uint64_t)st->st_ctim.tv_nsec);
}

/* <state>/revocation-index-<SHA-256 of name NUL path>.bin */
static char *cache_path(const char *dir, const char *name, const char *path)
{
    unsigned char d[32];
    char file[128], hex[65];
    sign_digest_ctx *x = NULL;

    if (sign_digest_new(&x, SIGN_DIGEST_SHA256) != 0 || sign_digest_update(x, name, strlen(name) + 1) != 0 ||
        sign_digest_update(x, path, strlen(path)) != 0 || sign_digest_final(d, sizeof(d), NULL, x) != 0) {
        sign_digest_free(x);
        return NULL;
    }
    sign_digest_free(x);
    sign_hex_encode(hex, sizeof(hex), d, 32);
    snprintf(file, sizeof(file), "revocation-index-%s.bin", hex);
    return sign__state_path(dir, file);
}

int vfy_revocation_cache_stat(struct stat *st, const char *path)
{
    memset(st, 0, sizeof(*st));
    /* A file changed less than CACHE_RACY seconds ago is never cached (nor taken from the cache). */
    return stat(path, st) == 0 && S_ISREG(st->st_mode) &&
                   (int64_t)time(NULL) - (int64_t)st->st_ctim.tv_sec >= CACHE_RACY
               ? 0
               : -1;
}

int vfy_revocation_cache_same(const struct stat *a, const struct stat *b)
{
    unsigned char x[56], y[56];

    file_identity(x, a);
    file_identity(y, b);
    return memcmp(x, y, sizeof(x)) == 0;
}

int vfy_revocation_cache_store(const vctx *c, const sign__policy_revocation *pol, const char *path,
                               const struct stat *st, const sign_revocation_list *l, const unsigned char sha[32],
                               size_t which)
{
    unsigned char *body = NULL, *file = NULL;
    size_t blen = 0;
    char *cpath = NULL;
    int r;

    if ((r = sign__revocation_index_write(&body, &blen, l)) != 0) {
        return r;
    }
    if ((file = calloc(1, CACHE_HEAD + blen)) == NULL ||
        (cpath = cache_path(c->state_dir, pol->name, path)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(file, CACHE_MAGIC, CACHE_MAGIC_LEN);
    file_identity(file + CACHE_MAGIC_LEN + 32, st);
    memcpy(file + CACHE_MAGIC_LEN + 32 + 56, sha, 32);
    if ((r = sign_key_id((char *)file + CACHE_MAGIC_LEN + 32 + 56 + 32, SIGN_KEYID_SIZE, pol->authorities[which])) !=
        0) {
        goto out;
    }
    memcpy(file + CACHE_HEAD, body, blen);
    if ((r = sign_digest_buffer(file + CACHE_MAGIC_LEN, 32, NULL, SIGN_DIGEST_SHA256, file + CACHE_MAGIC_LEN + 32,
                                CACHE_HEAD + blen - CACHE_MAGIC_LEN - 32)) != 0) {
        goto out;
    }
    r = sign__write_file_atomic(cpath, file, CACHE_HEAD + blen, 0600);
out:
    free(body);
    free(file);
    free(cpath);
    return r;
}

/* The state check of a cached list: the state directory records exactly this version and payload. */
typedef struct cache_state {
    const char *name;
    int64_t version;
    const unsigned char *sha;
    int same;
} cache_state;

static int cache_state_fn(json_t *root, int *changed, void *ud)
{
    cache_state *s = ud;
    json_t *e = json_object_get(json_object_get(root, "lists"), s->name);
    const char *hex = json_string_value(json_object_get(e, "sha256"));
    json_t *v = json_object_get(e, "version");
    unsigned char d[32];

    *changed = 0;
    s->same = json_is_integer(v) && json_integer_value(v) == s->version && hex != NULL && strlen(hex) == 64 &&
              sign_hex_decode(d, sizeof(d), hex) == 0 && CRYPTO_memcmp(d, s->sha, 32) == 0;
    return 0;
}

/* The authority whose key id the cache recorded, among pol's; SIZE_MAX when none is. */
static size_t cache_authority(const sign__policy_revocation *pol, const unsigned char *rec)
{
    char want[SIGN_KEYID_SIZE + 1], kid[SIGN_KEYID_SIZE];

    memcpy(want, rec, SIGN_KEYID_SIZE);
    want[SIGN_KEYID_SIZE] = '\0';
    for (size_t i = 0; i < pol->nauthorities; i++) {
        if (sign_key_id(kid, sizeof(kid), pol->authorities[i]) == 0 && strcmp(kid, want) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Map the cache file read-only (the list is looked up in these bytes); 0, or -1 when it is not usable. */
static int cache_map(unsigned char **out, size_t *outlen, const char *cpath, size_t max)
{
    struct stat st;
    void *m;
    int fd = open(cpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);

    *out = NULL;
    *outlen = 0;
    if (fd < 0) {
        return -1;
    }
    /* Only a file this user wrote (sign__write_file_atomic, 0600) and nobody else may change. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
        st.st_size < CACHE_HEAD || (uint64_t)st.st_size > max) {
        close(fd);
        return -1;
    }
    /* Written by rename over (sign__write_file_atomic): the inode mapped never changes under us. */
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        return -1;
    }
    *out = m;
    *outlen = (size_t)st.st_size;
    return 0;
}

void vfy_revocation_cache_unmap(void *map, size_t len)
{
    if (map != NULL) {
        munmap(map, len);
    }
}

int vfy_revocation_cache_load(vctx *c, const sign__policy_revocation *pol, const char *path,
                              sign_revocation_list **out, unsigned char sha[32], size_t *which, void **map,
                              size_t *maplen)
{
    unsigned char *data = NULL, ident[56], sum[32];
    sign_revocation_list *l = NULL;
    cache_state cs;
    struct stat st;
    size_t len = 0, w;
    char *cpath = NULL;
    int r = 0;

    *out = NULL;
    *map = NULL;
    *maplen = 0;
    if (c->state_dir == NULL || vfy_revocation_cache_stat(&st, path) != 0) {
        return 0;
    }
    if ((cpath = cache_path(c->state_dir, pol->name, path)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    /* The index is smaller than the list's payload, which is at most json_max_bytes. */
    if (cache_map(&data, &len, cpath, c->limits->json_max_bytes + CACHE_HEAD) != 0 ||
        memcmp(data, CACHE_MAGIC, CACHE_MAGIC_LEN) != 0) {
        goto miss;
    }
    file_identity(ident, &st);
    if ((r = sign_digest_buffer(sum, 32, NULL, SIGN_DIGEST_SHA256, data + CACHE_MAGIC_LEN + 32,
                                len - CACHE_MAGIC_LEN - 32)) != 0) {
        goto miss;
    }
    if (CRYPTO_memcmp(sum, data + CACHE_MAGIC_LEN, 32) != 0 || memcmp(ident, data + CACHE_MAGIC_LEN + 32, 56) != 0 ||
        data[CACHE_HEAD - 1] != '\0' ||
        (w = cache_authority(pol, data + CACHE_MAGIC_LEN + 32 + 56 + 32)) == SIZE_MAX ||
        (r = sign__revocation_index_read(&l, data + CACHE_HEAD, len - CACHE_HEAD)) != 0) {
        goto miss;
    }
    memset(&cs, 0, sizeof(cs));
    cs.name = pol->name;
    cs.version = sign_revocation_list_version(l);
    cs.sha = data + CACHE_MAGIC_LEN + 32 + 56;
    if ((r = sign__state_update(c->state_dir, STATE_LISTS, cache_state_fn, &cs, c->limits)) != 0 || !cs.same) {
        goto miss;
    }
    memcpy(sha, cs.sha, 32);
    *which = w;
    *out = l;
    *map = data;
    *maplen = len;
    free(cpath);
    return 0;
miss:
    if (r != SIGN_ENOMEM) {
        r = 0; /* any other failure is a miss: the list is read in full */
        sign__error_clear();
    }
    sign_revocation_list_free(l);
    vfy_revocation_cache_unmap(data, len);
    free(cpath);
    return r;
}
