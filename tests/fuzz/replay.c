/*
 * Standalone replay driver: runs every file of the directories (or files)
 * given on the command line through one fuzz target's
 * LLVMFuzzerTestOneInput, in name order, without libFuzzer or clang.
 * `make fuzz-replay` links it with each target and runs it on the target's
 * corpus and regressions. A crash or a broken invariant aborts (with the
 * input's name printed; -v names every input first); otherwise it prints a count and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

/* The sanitizers' hook, present only when the driver is built with one. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static int verbose;
static const char *current; /* the input being run, named when it crashes */

static void name_current(void)
{
    if (current != NULL) {
        (void)!write(2, "replay: crashed on ", 19);
        (void)!write(2, current, strlen(current));
        (void)!write(2, "\n", 1);
        current = NULL;
    }
}

static void on_signal(int sig)
{
    name_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;
    int r = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb;

            cap = cap == 0 ? 4096 : cap * 2;
            if (cap > REPLAY_MAX_INPUT || (nb = realloc(buf, cap)) == NULL) {
                fprintf(stderr, "replay: %s: too large or out of memory\n", path);
                goto out;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        goto out;
    }
    if (verbose) {
        fprintf(stderr, "replay: %s\n", path);
    }
    current = path;
    /* An exact-size copy, so that reading one byte past the input is caught by ASan. */
    {
        unsigned char *exact = malloc(len > 0 ? len : 1);

        if (exact == NULL) {
            goto out;
        }
        if (len > 0) {
            memcpy(exact, buf, len);
        }
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        current = NULL;
    }
    r = 0;
out:
    free(buf);
    fclose(f);
    return r;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of dir in name order; returns the count, or -1. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long count = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            char **nn;

            cap = cap == 0 ? 64 : cap * 2;
            if ((nn = realloc(names, cap * sizeof(*names))) == NULL) {
                count = -1;
                goto out;
            }
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            count = -1;
            goto out;
        }
        n++;
    }
    if (n > 0) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    for (size_t i = 0; i < n && count >= 0; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(plen);
        struct stat st;

        if (p == NULL) {
            count = -1;
            break;
        }
        snprintf(p, plen, "%s/%s", dir, names[i]);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            count = run_file(p) == 0 ? count + 1 : -1;
        }
        free(p);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    long total = 0;
    int first = 1;

    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        verbose = 1;
        first = 2;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [-v] DIR|FILE...\n", argv[0]);
        return 2;
    }
    if (__sanitizer_set_death_callback != NULL) {
        /* Leave the sanitizers' own signal handlers in place. */
        __sanitizer_set_death_callback(name_current);
    } else {
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGFPE, on_signal);
    }
    signal(SIGABRT, on_signal); /* a broken invariant (fuzz_fail); the sanitizers leave SIGABRT alone */
    for (int i = first; i < argc; i++) {
        struct stat st;
        long n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0) {
            return 1;
        }
        total += n;
    }
    printf("replay %s: %ld inputs, no crash\n", argv[0], total);
    return 0;
}
