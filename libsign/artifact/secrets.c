/*
 * Secrets packaged by mistake: private keys, .env files with values, AWS
 * credentials, npm tokens, git credentials, netrc. Decided by name and by the
 * first SIGN__SECRET_SCAN_MAX bytes of each regular entry. The matching is
 * deliberately simple and errs towards reporting: a finding can be allowed
 * by id, a leaked key cannot be taken back.
 */
#include <string.h>

#include "artifact_int.h"
#include "path.h"

/* Whether a "-----BEGIN " at p (end - p bytes left) opens a private key: "PRIVATE KEY-----" before its line ends. */
static int begin_private_at(const unsigned char *p, const unsigned char *end)
{
    static const char begin[] = "-----BEGIN ";
    const unsigned char *q, *eol;
    size_t lim;

    if ((size_t)(end - p) < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1) != 0) {
        return 0;
    }
    q = p + sizeof(begin) - 1;
    lim = (size_t)(end - q) < 80 ? (size_t)(end - q) : 80;
    eol = memchr(q, '\n', lim);
    if (eol == NULL) {
        eol = q + lim;
    }
    return memmem(q, (size_t)(eol - q), "PRIVATE KEY-----", 16) != NULL;
}

/* A file that is a private key by its first bytes. */
static int private_key_file(const unsigned char *h, size_t n)
{
    return (n >= 15 && memcmp(h, "openssh-key-v1\0", 15) == 0) ||
           (n >= 20 && memcmp(h, "PuTTY-User-Key-File-", 20) == 0);
}

/*
 * The markers one byte at a time from offset i: *pk when a private key
 * begins, *aws when "aws_" occurs (each only set, never cleared). Each '-'
 * and '_' is found with memchr (vectorised; a dash is rare in most text, an
 * underscore one byte in tens of source text); glibc's memmem took three
 * times the instructions on source-like text, its shifts being short for a
 * 4-byte needle.
 */
static void markers_scalar(const unsigned char *h, size_t n, size_t i, int *pk, int *aws)
{
    const unsigned char *p, *end = h + n;

    for (p = h + i; !*pk && p < end && (p = memchr(p, '-', (size_t)(end - p))) != NULL; p++) {
        *pk = begin_private_at(p, end);
    }
    for (p = h + (i > 3 ? i : 3); !*aws && p < end && (p = memchr(p, '_', (size_t)(end - p))) != NULL; p++) {
        *aws = p[-3] == 'a' && p[-2] == 'w' && p[-1] == 's';
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SECRETS_AVX2 1

/*
 * Both markers in one pass, 32 positions at a time with AVX2: a position is a
 * candidate when its byte and a later one are a marker's ("-" and " " ten on
 * for "-----BEGIN ", "a" and "_" three on for "aws_"); only candidates are
 * compared in full. Source-like text has an underscore every few tens of
 * bytes, so a memchr per underscore cost a call each. The last positions
 * (fewer than 42 bytes) go to markers_scalar.
 */
__attribute__((target("avx2"))) static void markers_avx2(const unsigned char *h, size_t n, int *pk, int *aws)
{
    const __m256i dash = _mm256_set1_epi8('-'), space = _mm256_set1_epi8(' ');
    const __m256i a = _mm256_set1_epi8('a'), us = _mm256_set1_epi8('_');
    const unsigned char *end = h + n;
    size_t i = 0;

    for (; i + 42 <= n && !(*pk && *aws); i += 32) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(h + i));
        __m256i v3 = _mm256_loadu_si256((const __m256i *)(const void *)(h + i + 3));
        __m256i v10 = _mm256_loadu_si256((const __m256i *)(const void *)(h + i + 10));
        __m256i b = _mm256_and_si256(_mm256_cmpeq_epi8(v0, dash), _mm256_cmpeq_epi8(v10, space));
        __m256i w = _mm256_and_si256(_mm256_cmpeq_epi8(v0, a), _mm256_cmpeq_epi8(v3, us));
        unsigned mb = (unsigned)_mm256_movemask_epi8(b), mw = (unsigned)_mm256_movemask_epi8(w);

        for (; mb != 0 && !*pk; mb &= mb - 1) {
            *pk = begin_private_at(h + i + (unsigned)__builtin_ctz(mb), end);
        }
        for (; mw != 0 && !*aws; mw &= mw - 1) {
            const unsigned char *p = h + i + (unsigned)__builtin_ctz(mw);

            *aws = p[1] == 'w' && p[2] == 's';
        }
    }
    markers_scalar(h, n, i, pk, aws);
}
#endif

void sign__secrets_markers(const unsigned char *h, size_t n, int vector, int *pk, int *aws)
{
    *pk = private_key_file(h, n);
    *aws = 0;
#ifdef SECRETS_AVX2
    if (vector && __builtin_cpu_supports("avx2")) {
        markers_avx2(h, n, pk, aws);
        return;
    }
#else
    (void)vector;
#endif
    markers_scalar(h, n, 0, pk, aws);
}

typedef struct line {
    const unsigned char *s;
    size_t n;
} line;

/* Next line of h (n bytes) from *pos; 0 at the end. Leading blanks are skipped. */
static int next_line(line *l, const unsigned char *h, size_t n, size_t *pos)
{
    size_t i = *pos, s;

    if (i >= n) {
        return 0;
    }
    s = i;
    {
        const unsigned char *nl = memchr(h + i, '\n', n - i);

        i = nl != NULL ? (size_t)(nl - h) : n;
    }
    *pos = i + 1;
    while (s < i && (h[s] == ' ' || h[s] == '\t')) {
        s++;
    }
    l->s = h + s;
    l->n = i - s;
    while (l->n > 0 && (l->s[l->n - 1] == '\r' || l->s[l->n - 1] == ' ' || l->s[l->n - 1] == '\t')) {
        l->n--;
    }
    return 1;
}

/* Value after '=' (and blanks) is present and not only quotes. */
static int value_after(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '"' && s[i] != '\'') {
            return 1;
        }
    }
    return 0;
}

/* A line "[export ]NAME=value" with a non-empty value. */
static int env_assignment(const line *l)
{
    const unsigned char *s = l->s;
    size_t n = l->n, i = 0;

    if (n >= 7 && memcmp(s, "export ", 7) == 0) {
        i = 7;
        while (i < n && s[i] == ' ') {
            i++;
        }
    }
    if (i >= n || !((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')) {
        return 0;
    }
    while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                     s[i] == '_' || s[i] == '.' || s[i] == '-')) {
        i++;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (i >= n || s[i] != '=') {
        return 0;
    }
    return value_after(s + i + 1, n - i - 1);
}

/* A line "key = value" (key compared exactly) with a non-empty value. */
static int key_assignment(const line *l, const char *key)
{
    size_t k = strlen(key), i;

    if (l->n <= k || memcmp(l->s, key, k) != 0) {
        return 0;
    }
    i = k;
    while (i < l->n && (l->s[i] == ' ' || l->s[i] == '\t')) {
        i++;
    }
    if (i >= l->n || l->s[i] != '=') {
        return 0;
    }
    return value_after(l->s + i + 1, l->n - i - 1);
}

static int is_env_name(const char *b)
{
    static const char *const examples[] = {".env.example", ".env.sample", ".env.template", ".env.dist", NULL};

    if (strcmp(b, ".env") == 0) {
        return 1;
    }
    if (strncmp(b, ".env.", 5) != 0) {
        return 0;
    }
    for (size_t i = 0; examples[i] != NULL; i++) {
        if (strcmp(b, examples[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int sign__secrets_check(sign__findings *f, const char *path, const unsigned char *head, size_t headlen)
{
    static const char *const ssh_names[] = {"id_rsa",      "id_dsa",        "id_ecdsa", "id_ed25519",
                                            "id_ecdsa_sk", "id_ed25519_sk", "identity", NULL};
    const char *b = sign__path_base(path, SIGN__PATH_WINDOWS); /* "dir\\id_rsa" too */
    int rc = 0, env = is_env_name(b), npmrc = strcmp(b, ".npmrc") == 0, aws_name = strcmp(b, "credentials") == 0;
    int env_hit = 0, npm_hit = 0, aws_hit = 0, ini = 0, pk = 0, aws = 0;
    size_t pos = 0;
    line l;

    for (size_t i = 0; ssh_names[i] != NULL; i++) {
        if (strcmp(b, ssh_names[i]) == 0) {
            rc = sign__finding_add(f, "zip-secret-private-key", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                                   "an SSH private key file (%s) is packaged: remove it and rotate the key", b);
        }
    }
    if (head != NULL) {
        sign__secrets_markers(head, headlen, 1, &pk, &aws);
    }
    if (rc == 0 && pk) {
        rc = sign__finding_add(f, "zip-secret-private-key", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "a private key is packaged: remove it from the archive and rotate the key");
    }
    if (rc == 0 && (strcmp(b, ".git-credentials") == 0)) {
        rc = sign__finding_add(f, "zip-secret-git-credentials", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "a git credentials file is packaged: remove it and revoke its tokens");
    }
    if (rc == 0 && (strcmp(b, ".netrc") == 0 || strcmp(b, "_netrc") == 0)) {
        rc = sign__finding_add(f, "zip-secret-netrc", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "a .netrc login file is packaged: remove it and change its passwords");
    }
    if (rc == 0 &&
        (ends_with(b, ".p12") || ends_with(b, ".pfx") || ends_with(b, ".jks") || ends_with(b, ".keystore"))) {
        rc = sign__finding_add(f, "zip-secret-keystore", SIGN_SEVERITY_WARNING, path, SIZE_MAX,
                               "a key store file is packaged; it usually holds a private key: remove it unless "
                               "it is meant to ship");
    }
    if (rc != 0 || head == NULL) {
        return rc;
    }
    /* Outside .env and .npmrc files only an "aws_" key can make a finding: most heads have none. */
    if (!env && !npmrc && !aws) {
        return 0;
    }
    while (next_line(&l, head, headlen, &pos)) {
        if (l.n > 2 && l.s[0] == '[' && l.s[l.n - 1] == ']') {
            ini = 1;
        }
        if (env && !env_hit && env_assignment(&l)) {
            env_hit = 1;
        }
        /* l.s != NULL: gcc -O1 cannot see that next_line set it, and -Wnonnull broke the sanitizer build. */
        if (npmrc && !npm_hit && l.s != NULL && l.n > 0 && l.s[0] != '#' && l.s[0] != ';') {
            const unsigned char *t = memmem(l.s, l.n, "_authToken", 10);
            const unsigned char *p2 = memmem(l.s, l.n, "_password", 9);
            const unsigned char *a = memmem(l.s, l.n, "_auth=", 6);

            if (t != NULL || p2 != NULL || a != NULL) {
                const unsigned char *eq = memchr(l.s, '=', l.n);

                npm_hit = eq != NULL && value_after(eq + 1, l.n - (size_t)(eq + 1 - l.s));
            }
        }
        /* (Every key starts with "aws_": most lines are ruled out by their first byte.) */
        if (!aws_hit && l.n > 4 && l.s[0] == 'a' &&
            (key_assignment(&l, "aws_secret_access_key") || key_assignment(&l, "aws_access_key_id") ||
             key_assignment(&l, "aws_session_token"))) {
            aws_hit = 1;
        }
    }
    if (env_hit) {
        rc = sign__finding_add(f, "zip-secret-env", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "a .env file with values is packaged: remove it and provide settings at deploy time");
    }
    if (rc == 0 && npm_hit) {
        rc = sign__finding_add(f, "zip-secret-npmrc", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "an .npmrc with a registry token is packaged: remove it and revoke the token");
    }
    if (rc == 0 && aws_hit && (ini || aws_name)) {
        rc = sign__finding_add(f, "zip-secret-aws-credentials", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                               "an AWS credentials file is packaged: remove it and deactivate the access key");
    }
    return rc;
}
