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

static int has_private_key(const unsigned char *h, size_t n)
{
    static const char begin[] = "-----BEGIN ";
    const unsigned char *p = h, *end = h + n;

    if (n >= 15 && memcmp(h, "openssh-key-v1\0", 15) == 0) {
        return 1;
    }
    if (n >= 20 && memcmp(h, "PuTTY-User-Key-File-", 20) == 0) {
        return 1;
    }
    /* Each '-' in turn (memchr: a dash is rare in most text), the first that starts begin is memmem's match. */
    while ((p = memchr(p, '-', (size_t)(end - p))) != NULL) {
        const unsigned char *q, *eol;
        size_t lim;

        if ((size_t)(end - p) < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1) != 0) {
            p++;
            continue;
        }
        q = p + sizeof(begin) - 1;
        lim = (size_t)(end - q) < 80 ? (size_t)(end - q) : 80;
        eol = memchr(q, '\n', lim);
        if (eol == NULL) {
            eol = q + lim;
        }
        if (memmem(q, (size_t)(eol - q), "PRIVATE KEY-----", 16) != NULL) {
            return 1;
        }
        p = q;
    }
    return 0;
}

/*
 * Whether "aws_" occurs in h: memchr for its '_' (vectorised, and one byte in
 * tens of text), then the three bytes before it. glibc's memmem took three
 * times the instructions on source-like text: its shifts are short for a
 * 4-byte needle, and this runs over the head of every entry.
 */
static int has_aws(const unsigned char *h, size_t n)
{
    const unsigned char *p = h + 3, *end = h + n;

    if (n < 4) {
        return 0;
    }
    while (p < end && (p = memchr(p, '_', (size_t)(end - p))) != NULL) {
        if (p[-3] == 'a' && p[-2] == 'w' && p[-1] == 's') {
            return 1;
        }
        p++;
    }
    return 0;
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
    int env_hit = 0, npm_hit = 0, aws_hit = 0, ini = 0;
    size_t pos = 0;
    line l;

    for (size_t i = 0; ssh_names[i] != NULL; i++) {
        if (strcmp(b, ssh_names[i]) == 0) {
            rc = sign__finding_add(f, "zip-secret-private-key", SIGN_SEVERITY_DANGER, path, SIZE_MAX,
                                   "an SSH private key file (%s) is packaged: remove it and rotate the key", b);
        }
    }
    if (rc == 0 && head != NULL && has_private_key(head, headlen)) {
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
    if (!env && !npmrc && !has_aws(head, headlen)) {
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
