/*
 * Signing-log benchmark data (tests/bench/run.sh, group "log"), made from bundles signet signed:
 *
 *   loggen bundles TEMPLATE DIR COUNT          COUNT distinct bundles in DIR (b0000000.json, ...)
 *   loggen stream TEMPLATE_A TEMPLATE_B COUNT EVERY [FORMAT]
 *                                              a git fast-import stream of a signing log of COUNT
 *                                              entries, one commit each, in the layout signet log add
 *                                              writes (docs/log.md; FORMAT 2, the default, or the
 *                                              first layout, 1); every EVERY-th entry is
 *                                              TEMPLATE_B's signer, the others TEMPLATE_A's
 *
 * Entry i is its template with the statement's subject (and the predicate's record) renamed to
 * artifact-<i>.bin with the SHA-256 of that name as digest. The signature is the template's, so it
 * no longer verifies: the log records bundles, it does not verify them (include/sign/log.h), and
 * log verify checks that each entry parses and is indexed, which these do. The stream is how a
 * 100,000-entry log is made in seconds instead of 100,000 appends; fast-import writes it as a pack.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

typedef struct tpl {
    json_t *bundle, *statement;
    char key_id[128], key_hash[65];
} tpl;

static void die(const char *what)
{
    fprintf(stderr, "loggen: %s\n", what);
    exit(1);
}

static void hex_sha256(char out[65], const void *data, size_t len)
{
    unsigned char md[32];
    unsigned int n = 0;

    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32) {
        die("sha256");
    }
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void load_tpl(tpl *t, const char *path)
{
    json_error_t e;
    const char *b64, *kid;
    unsigned char *raw;
    size_t len;
    int n;

    if ((t->bundle = json_load_file(path, 0, &e)) == NULL) {
        die(e.text);
    }
    b64 = json_string_value(json_object_get(json_object_get(t->bundle, "dsseEnvelope"), "payload"));
    kid = json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(t->bundle, "dsseEnvelope"), "signatures"), 0), "keyid"));
    if (b64 == NULL || kid == NULL || strlen(kid) >= sizeof(t->key_id)) {
        die("the template is not a signet bundle with a keyid");
    }
    len = strlen(b64);
    if ((raw = malloc(len)) == NULL || (n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len)) < 0) {
        die("payload");
    }
    while (len > 0 && b64[--len] == '=') {
        n--; /* EVP_DecodeBlock counts the padding */
    }
    if ((t->statement = json_loadb((const char *)raw, (size_t)n, 0, &e)) == NULL) {
        die(e.text);
    }
    free(raw);
    snprintf(t->key_id, sizeof(t->key_id), "%s", kid);
    hex_sha256(t->key_hash, t->key_id, strlen(t->key_id));
}

/* Entry i of template t: the bundle's bytes (malloc'd) and its subject's digest. */
static char *entry(const tpl *t, unsigned long i, char name[64], char digest[65])
{
    json_t *st = json_deep_copy(t->statement), *b = json_deep_copy(t->bundle), *rec;
    char *payload, *b64, *out;
    size_t plen;

    snprintf(name, 64, "artifact-%07lu.bin", i);
    hex_sha256(digest, name, strlen(name));
    json_object_set_new(json_array_get(json_object_get(st, "subject"), 0), "name", json_string(name));
    json_object_set_new(json_array_get(json_object_get(st, "subject"), 0), "digest",
                        json_pack("{s:s}", "sha256", digest));
    rec = json_array_get(json_object_get(json_object_get(st, "predicate"), "artifacts"), 0);
    if (rec != NULL) {
        json_object_set_new(rec, "name", json_string(name));
        json_object_set_new(rec, "digest", json_pack("{s:s}", "sha256", digest));
    }
    if ((payload = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        die("out of memory");
    }
    plen = strlen(payload);
    if ((b64 = malloc(4 * (plen / 3 + 1) + 1)) == NULL) {
        die("out of memory");
    }
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)payload, (int)plen);
    json_object_set_new(json_object_get(b, "dsseEnvelope"), "payload", json_string(b64));
    if ((out = json_dumps(b, JSON_COMPACT)) == NULL) {
        die("out of memory");
    }
    free(payload);
    free(b64);
    json_decref(st);
    json_decref(b);
    return out;
}

static int gen_bundles(const char *template, const char *dir, unsigned long count)
{
    tpl t;
    char name[64], digest[65], path[4096];

    load_tpl(&t, template);
    for (unsigned long i = 0; i < count; i++) {
        char *b = entry(&t, i, name, digest);
        FILE *f;

        snprintf(path, sizeof(path), "%s/b%07lu.json", dir, i);
        if ((f = fopen(path, "w")) == NULL || fputs(b, f) < 0 || fclose(f) != 0) {
            die(path);
        }
        free(b);
    }
    return 0;
}

static void blob(const char *path, const char *data, size_t len)
{
    printf("M 100644 inline %s\ndata %zu\n", path, len);
    fwrite(data, 1, len, stdout);
    putchar('\n');
}

/* The fan-out directories of a hex name in a log of format (libsign/git/log.c). */
static const char *fan(int format, const char *hex)
{
    static char f[2][8];
    static int which;

    which ^= 1;
    if (format >= 2) {
        snprintf(f[which], sizeof(f[which]), "%.1s/%.1s/%.1s/%.1s", hex, hex + 1, hex + 2, hex + 3);
    } else {
        snprintf(f[which], sizeof(f[which]), "%.2s", hex);
    }
    return f[which];
}

static int gen_stream(const char *ta, const char *tb, unsigned long count, unsigned long every, int format)
{
    tpl t[2];
    char name[64], digest[65], id[65], path[512], summary[1024], msg[2048], num[32];
    const char *logged = "2026-01-01T00:00:00Z";

    load_tpl(&t[0], ta);
    load_tpl(&t[1], tb);
    for (unsigned long i = 0; i < count; i++) {
        const tpl *k = &t[every > 0 && i % every == every - 1];
        char *b = entry(k, i, name, digest);

        hex_sha256(id, b, strlen(b));
        snprintf(
            summary, sizeof(summary),
            "{\"id\":\"%s\",\"logged\":\"%s\",\"key_id\":\"%s\",\"subjects\":[{\"name\":\"%s\",\"sha256\":\"%s\"}]}",
            id, logged, k->key_id, name, digest);
        snprintf(msg, sizeof(msg), "log: %s signed by %s\n\n%s\n", name, k->key_id, summary);
        printf("commit refs/heads/main\ncommitter signet <signet@localhost> %lu +0000\ndata %zu\n%s",
               1767225600UL + i, strlen(msg), msg);
        snprintf(path, sizeof(path), "entries/%s/%s.json", fan(format, id), id);
        blob(path, b, strlen(b));
        snprintf(path, sizeof(path), "by-key/%s/%s/%s", k->key_hash, fan(format, id), id);
        blob(path, summary, strlen(summary));
        if (format >= 2) {
            snprintf(path, sizeof(path), "by-digest/%s/%s/%s/%s", fan(format, digest), digest, fan(format, id), id);
        } else {
            snprintf(path, sizeof(path), "by-digest/%s/%s/%s", fan(format, digest), digest, id);
        }
        blob(path, summary, strlen(summary));
        if (i == 0 && format >= 2) {
            snprintf(num, sizeof(num), "%d\n", format);
            blob("format", num, strlen(num));
        }
        snprintf(num, sizeof(num), "%lu\n", i + 1);
        blob("count", num, strlen(num));
        putchar('\n');
        free(b);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "bundles") == 0) {
        return gen_bundles(argv[2], argv[3], strtoul(argv[4], NULL, 10));
    }
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "stream") == 0) {
        return gen_stream(argv[2], argv[3], strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10),
                          argc == 7 ? atoi(argv[6]) : 2);
    }
    fprintf(stderr,
            "usage: loggen bundles TEMPLATE DIR COUNT | loggen stream TEMPLATE_A TEMPLATE_B COUNT EVERY [FORMAT]\n");
    return 2;
}
