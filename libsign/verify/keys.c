/* Which policy signer covers what: key ids, artifact-name globs, subject names. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "verify_internal.h"

const char *vfy_base_name(const char *s)
{
    const char *slash = strrchr(s, '/');

    return slash != NULL ? slash + 1 : s;
}

/* A subject name names the artifact: equal, or equal last components. */
int vfy_names_match(const char *subject, const char *artifact)
{
    return strcmp(subject, artifact) == 0 || strcmp(vfy_base_name(subject), vfy_base_name(artifact)) == 0;
}

int vfy_keyid_eq(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n > 0 && n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* Index of the policy key with this key id, or SIZE_MAX. */
size_t vfy_find_key(const sign_policy *p, const char *keyid)
{
    if (keyid == NULL) {
        return SIZE_MAX;
    }
    for (size_t i = 0; i < p->nkeys; i++) {
        if (vfy_keyid_eq(p->keys[i].keyid, keyid)) {
            return i;
        }
    }
    return SIZE_MAX;
}

void vfy_hex32(char out[2 * SIGN_SHA256_LEN + 1], const unsigned char *d)
{
    if (sign_hex_encode(out, 2 * SIGN_SHA256_LEN + 1, d, SIGN_SHA256_LEN) != 0) {
        out[0] = '\0';
    }
}

/* Globs of a signer as one readable string ("app-*.zip, *.tar"). */
void vfy_globs_text(char *out, size_t outsize, const vb *k)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < k->nglobs && used + 1 < outsize; i++) {
        int n = snprintf(out + used, outsize - used, "%s\"%s\"", i ? ", " : "", k->globs[i]);

        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

int vfy_key_allows(const vb *k, const char *name)
{
    for (size_t i = 0; i < k->nglobs; i++) {
        if (sign_policy_glob_match(k->globs[i], name)) {
            return 1;
        }
    }
    return 0;
}

/*
 * The last n components of path, "/"-joined into buf ("" and "." components
 * skipped). 0 when path has fewer, when one of them is "..", or when they do
 * not fit.
 */
static int path_tail(char *buf, size_t size, const char *path, size_t n)
{
    const char *end = path + strlen(path), *p = end;
    size_t got = 0, used = 0, len;

    /* Walk components backwards to find where the tail starts. */
    while (got < n) {
        const char *e;

        while (p > path && p[-1] == '/') {
            p--;
        }
        if (p == path) {
            return 0;
        }
        e = p;
        while (p > path && p[-1] != '/') {
            p--;
        }
        len = (size_t)(e - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            return 0;
        }
        if (!(len == 1 && p[0] == '.')) {
            got++;
        }
    }
    /* Copy it forwards, skipping "" and "." components. */
    while (p < end) {
        const char *e = p;

        while (e < end && *e != '/') {
            e++;
        }
        len = (size_t)(e - p);
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (used + (used > 0) + len + 1 > size) {
                return 0;
            }
            if (used > 0) {
                buf[used++] = '/';
            }
            memcpy(buf + used, p, len);
            used += len;
        }
        p = e < end ? e + 1 : e;
    }
    buf[used] = '\0';
    return used > 0;
}

/*
 * May the key sign the artifact under the path it was given? A pattern of n
 * components is matched against the path's last n components, so the file
 * that will be used carries a name the key may sign, wherever it lies: a
 * pattern "*.zip" matches /srv/in/app.zip, a pattern "dist" "/" "*.zip"
 * matches /srv/in/dist/app.zip but not /srv/in/other/app.zip.
 */
int vfy_key_allows_path(const vb *k, const char *path)
{
    char tail[4097];

    for (size_t i = 0; i < k->nglobs; i++) {
        size_t n = 1;

        for (const char *q = k->globs[i]; *q != '\0'; q++) {
            n += *q == '/';
        }
        if (path_tail(tail, sizeof(tail), path, n) && sign_policy_glob_match(k->globs[i], tail)) {
            return 1;
        }
    }
    return 0;
}

/* ---- X.509 signers ----------------------------------------------------- */
