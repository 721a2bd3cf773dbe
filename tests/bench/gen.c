/*
 * Deterministic benchmark data (the same seed gives the same bytes):
 *
 *   gen random FILE BYTES SEED        pseudo-random bytes
 *   gen zip ZIP ENTRIES BYTES SEED    a deployment zip: ENTRIES entries of mixed
 *                                     sizes totalling about BYTES uncompressed,
 *                                     mostly text, 1 in 10 binary, deflate
 *   gen store DIR COUNT SEED          COUNT files of 4-64 KiB in DIR
 *   gen small DIR COUNT SIZE GROUP LIST SEED  COUNT files of SIZE bytes, and the sign arguments per GROUP
 *   gen links DIR COUNT GROUP         each file's bundle: a hard link of its group's
 *
 * The generator is xoshiro256** seeded through splitmix64; text is words of
 * a fixed pseudo-vocabulary in source-like lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

static uint64_t s[4];

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void seed(uint64_t x)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s[i] = z ^ (z >> 31);
    }
}

static uint64_t range(uint64_t lo, uint64_t hi) /* [lo, hi] */
{
    return lo + next() % (hi - lo + 1);
}

static void fill_random(unsigned char *b, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t v = next();

        memcpy(b + i, &v, 8);
    }
    for (; i < n; i++) {
        b[i] = (unsigned char)next();
    }
}

static char vocab[512][12];

static void make_vocab(void)
{
    static const char letters[] = "etaoinshrdlucmfwypvbgkqjxz_";

    for (int i = 0; i < 512; i++) {
        int len = (int)range(2, 10);

        for (int k = 0; k < len; k++) {
            vocab[i][k] = letters[next() % (k == 0 ? 26 : 27)];
        }
        vocab[i][len] = '\0';
    }
}

static void fill_text(unsigned char *b, size_t n)
{
    static const char *punct[] = {" ",   " ",        " ",     ", ",   "(", ") ", " = ",  ".",
                                  ";\n", " {\n    ", "\n}\n", " // ", "[", "] ", ": \"", "\", "};
    size_t o = 0;

    while (o < n) {
        uint64_t v = next();
        const char *w = vocab[v & 511], *p = punct[(v >> 9) % 16];
        size_t wl = strlen(w), pl = strlen(p);

        for (size_t k = 0; k < wl && o < n; k++) {
            b[o++] = (unsigned char)w[k];
        }
        for (size_t k = 0; k < pl && o < n; k++) {
            b[o++] = (unsigned char)p[k];
        }
    }
}

static int write_all(int fd, const unsigned char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int gen_random(const char *path, uint64_t bytes)
{
    static unsigned char buf[1 << 20];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0) {
        perror(path);
        return 1;
    }
    while (bytes > 0) {
        size_t n = bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf);

        fill_random(buf, n);
        if (write_all(fd, buf, n) != 0) {
            perror(path);
            return 1;
        }
        bytes -= n;
    }
    return close(fd) != 0;
}

static const char *exts[] = {".js", ".json", ".html", ".css", ".py", ".txt", ".md", ".map"};

static int gen_zip(const char *path, uint64_t entries, uint64_t bytes)
{
    struct archive *aw = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    unsigned char *buf = NULL;
    /* Sizes: log-uniform 64 B..64 KiB, every 200th entry 256 KiB..2 MiB; then scaled to BYTES. */
    uint64_t *sizes = calloc(entries, sizeof(*sizes)), sum = 0, maxsize = 0;
    char name[256];

    if (sizes == NULL || aw == NULL || ae == NULL) {
        return 1;
    }
    for (uint64_t i = 0; i < entries; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0;

        sizes[i] = i % 200 == 0 ? range(256 * 1024, 2 * 1024 * 1024) : (uint64_t)(64.0 * pow(1024.0, u));
        sum += sizes[i];
    }
    for (uint64_t i = 0; i < entries; i++) {
        sizes[i] = (uint64_t)((double)sizes[i] * (double)bytes / (double)sum);
        maxsize = sizes[i] > maxsize ? sizes[i] : maxsize;
    }
    if ((buf = malloc(maxsize + 1)) == NULL) {
        return 1;
    }
    archive_write_set_format_zip(aw);
    archive_write_set_options(aw, "zip:compression=deflate");
    if (archive_write_open_filename(aw, path) != ARCHIVE_OK) {
        fprintf(stderr, "gen: %s: %s\n", path, archive_error_string(aw));
        return 1;
    }
    for (uint64_t i = 0; i < entries; i++) {
        int binary = next() % 10 == 0;

        snprintf(name, sizeof(name), "app/m%02u/s%02u/f%05" PRIu64 "%s", (unsigned)(i % 37), (unsigned)(i % 11), i,
                 binary ? ".png" : exts[i % 8]);
        if (binary) {
            fill_random(buf, sizes[i]);
        } else {
            fill_text(buf, sizes[i]);
        }
        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, (la_int64_t)sizes[i]);
        archive_entry_set_mtime(ae, 1767225600, 0);
        if (archive_write_header(aw, ae) != ARCHIVE_OK ||
            (sizes[i] > 0 && archive_write_data(aw, buf, sizes[i]) != (la_ssize_t)sizes[i])) {
            fprintf(stderr, "gen: %s: %s\n", path, archive_error_string(aw));
            return 1;
        }
    }
    if (archive_write_close(aw) != ARCHIVE_OK) {
        fprintf(stderr, "gen: %s: %s\n", path, archive_error_string(aw));
        return 1;
    }
    archive_write_free(aw);
    archive_entry_free(ae);
    free(buf);
    free(sizes);
    return 0;
}

static int gen_store(const char *dir, uint64_t count)
{
    static unsigned char buf[64 * 1024];
    char path[4096];

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    for (uint64_t i = 0; i < count; i++) {
        size_t n = (size_t)range(4 * 1024, 64 * 1024);
        int fd;

        snprintf(path, sizeof(path), "%s/artifact-%05" PRIu64 ".txt", dir, i);
        fill_text(buf, n);
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || write_all(fd, buf, n) != 0 ||
            close(fd) != 0) {
            perror(path);
            return 1;
        }
    }
    return 0;
}

/*
 * COUNT text files of SIZE bytes, DIR/a%07u.txt, and LIST: one line per group of GROUP files,
 * "-o b%06u.json a... a...", the arguments of the signet sign that signs the group into one bundle.
 */
static int gen_small(const char *dir, uint64_t count, size_t size, uint64_t group, const char *list)
{
    static unsigned char buf[64 * 1024];
    char path[4096];
    FILE *l = fopen(list, "w");

    if (l == NULL || size > sizeof(buf) || group == 0 || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        perror(l == NULL ? list : dir);
        return 1;
    }
    for (uint64_t i = 0; i < count; i++) {
        int fd;

        snprintf(path, sizeof(path), "%s/a%07" PRIu64 ".txt", dir, i);
        fill_text(buf, size);
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || write_all(fd, buf, size) != 0 ||
            close(fd) != 0) {
            perror(path);
            return 1;
        }
        if (i % group == 0) {
            fprintf(l, "%s-o b%06" PRIu64 ".json", i > 0 ? "\n" : "", i / group);
        }
        fprintf(l, " a%07" PRIu64 ".txt", i);
    }
    fputc('\n', l);
    return fclose(l) == 0 ? 0 : 1;
}

/* DIR/a%07u.txt.sigstore.json as a hard link of the bundle of its group, DIR/b%06u.json. */
static int gen_links(const char *dir, uint64_t count, uint64_t group)
{
    char from[4096], to[4096];

    for (uint64_t i = 0; group > 0 && i < count; i++) {
        snprintf(from, sizeof(from), "%s/b%06" PRIu64 ".json", dir, i / group);
        snprintf(to, sizeof(to), "%s/a%07" PRIu64 ".txt.sigstore.json", dir, i);
        if (link(from, to) != 0 && errno != EEXIST) {
            perror(to);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "random") == 0) {
        seed(strtoull(argv[4], NULL, 10));
        return gen_random(argv[2], strtoull(argv[3], NULL, 10));
    }
    if (argc == 6 && strcmp(argv[1], "zip") == 0) {
        seed(strtoull(argv[5], NULL, 10));
        make_vocab();
        return gen_zip(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    }
    if (argc == 5 && strcmp(argv[1], "store") == 0) {
        seed(strtoull(argv[4], NULL, 10));
        make_vocab();
        return gen_store(argv[2], strtoull(argv[3], NULL, 10));
    }
    if (argc == 8 && strcmp(argv[1], "small") == 0) {
        seed(strtoull(argv[7], NULL, 10));
        make_vocab();
        return gen_small(argv[2], strtoull(argv[3], NULL, 10), (size_t)strtoull(argv[4], NULL, 10),
                         strtoull(argv[5], NULL, 10), argv[6]);
    }
    if (argc == 5 && strcmp(argv[1], "links") == 0) {
        return gen_links(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    }
    fprintf(stderr,
            "usage: gen random FILE BYTES SEED | gen zip ZIP ENTRIES BYTES SEED | gen store DIR COUNT SEED |\n"
            "       gen small DIR COUNT SIZE GROUP LIST SEED | gen links DIR COUNT GROUP\n");
    return 2;
}
