/* signet log: the append-only signing log in git (init, add, checkpoint, verify, search, sync). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static const char log_help[] =
    "usage: signet log init DIR\n"
    "       signet log add DIR BUNDLE...\n"
    "       signet log checkpoint [--json] DIR\n"
    "       signet log verify [--since CHECKPOINT] [--json] DIR\n"
    "       signet log search [--json] DIR (--key-id ID | --digest sha256:HEX | --since TIME)\n"
    "       signet log sync DIR REMOTE\n"
    "\n"
    "A signing log is a bare git repository holding every bundle the team signed,\n"
    "one commit each (signet sign --log DIR appends too). 'checkpoint' prints the\n"
    "head commit and the entry count a monitor keeps; 'verify --since' proves the\n"
    "log only grew since then (LOG_REWRITTEN, exit 1, names the first bad commit).\n"
    "\n"
    "      --since CHECKPOINT  verify: the commit of an earlier checkpoint\n"
    "      --key-id ID         search: entries signed by this key id\n"
    "      --digest sha256:HEX search: entries naming this subject digest\n"
    "      --since TIME        search: entries appended at or after TIME (RFC 3339)\n"
    "      --json              one JSON object (checkpoint, verify) or one line per entry (search)\n"
    "  -h, --help              show this help\n";

/* Read a whole bundle file (at most 64 MiB, the bundle size limit). */
int cli_read_bundle(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *buf = NULL, *nb;

    *out = NULL;
    if (f == NULL) {
        cli_error("bundle %s: cannot be read: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    for (;;) {
        if ((nb = realloc(buf, cap)) == NULL) {
            break;
        }
        buf = nb;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= ((size_t)64 << 20)) {
            break;
        }
        cap *= 2;
    }
    if (nb == NULL || ferror(f) || !feof(f)) {
        cli_error("bundle %s: %s", path, nb == NULL ? "out of memory" : ferror(f) ? strerror(errno) : "over 64 MiB");
        (void)fclose(f);
        free(buf);
        return EXIT_USAGE;
    }
    (void)fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

/* A warning from a write to the log (a stale lock removed), on stderr. */
static void log_warn(const char *message, void *userdata)
{
    (void)userdata;
    cli_error("warning: %s", message);
}

static const sign_log_options log_opts = {SIGN_LOG_OPTIONS_VERSION, log_warn, NULL};

int cli_log_bundle(const char *dir, const char *bundle)
{
    sign_log_item it;
    char *data = NULL;
    size_t len = 0;
    int r, rc;

    if ((rc = cli_read_bundle(&data, &len, bundle)) != 0) {
        return rc;
    }
    memset(&it, 0, sizeof(it));
    it.bundle = data;
    it.len = len;
    r = sign_log_add_batch_ext(NULL, dir, &it, 1, &log_opts);
    free(data);
    if (r != 0) {
        rc = cli_fail(r, dir);
        cli_error("the bundle %s was written but not logged; add it with: signet log add %s %s", bundle, dir, bundle);
        return rc;
    }
    /* Under sign --json stdout holds only the JSON object. An entry already there is logged too. */
    fprintf(out_json_active() ? stderr : stdout, "logged %s in %s as entry %s\n", bundle, dir, it.id);
    return 0;
}

/* Append the batch items[0..n) (files argv[0..n)) and print one line each; frees the bundles. */
static int log_add_flush(const char *dir, sign_log_item *items, char **argv, size_t n)
{
    size_t done = 0;
    int r = sign_log_add_batch_ext(&done, dir, items, n, &log_opts), rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (i < done && items[i].result == SIGN_EEXISTS) {
            printf("%s: already in the log (entry %s)\n", argv[i], items[i].id);
        } else if (i < done) {
            printf("%s: logged as entry %s\n", argv[i], items[i].id);
        } else if (rc == 0 && r != 0) {
            /* a bundle not reached (the log could not be locked or opened): the message is about the log */
            rc = cli_fail(r, i == done && items[i].result != SIGN_LOG_NOT_REACHED ? argv[i] : dir);
        }
        free((void *)items[i].bundle);
    }
    return rc;
}

/* The bundles are appended in batches (one pack each, docs/log.md) of at most LOG_BATCH files or 64 MiB. */
#define LOG_BATCH 1024
#define LOG_BATCH_BYTES ((size_t)64 << 20)

static int log_add(int argc, char **argv)
{
    sign_log_item *items;
    size_t n = 0, bytes = 0;
    int rc = 0, first = 2;

    if (argc < 3) {
        return out_usage_error("log", "log add DIR BUNDLE...: name the log and at least one bundle");
    }
    if ((items = calloc(LOG_BATCH, sizeof(*items))) == NULL) {
        return cli_fail(SIGN_ENOMEM, "log add");
    }
    for (int i = 2; i < argc && rc == 0; i++) {
        char *data = NULL;
        size_t len = 0;

        if ((rc = cli_read_bundle(&data, &len, argv[i])) != 0) {
            break;
        }
        items[n].bundle = data;
        items[n++].len = len;
        bytes += len;
        if (n == LOG_BATCH || bytes >= LOG_BATCH_BYTES) {
            rc = log_add_flush(argv[1], items, argv + first, n);
            first = i + 1;
            n = bytes = 0;
        }
    }
    /* the bundles read before a file that cannot be read are still appended, as before batching */
    if (n > 0) {
        int frc = log_add_flush(argv[1], items, argv + first, n);

        rc = rc != 0 ? rc : frc;
    }
    free(items);
    return rc;
}

static int log_checkpoint(const char *dir, int json)
{
    char commit[SIGN_LOG_COMMIT_SIZE];
    uint64_t count = 0;
    int r = sign_log_checkpoint(commit, &count, dir);

    if (r != 0) {
        return cli_fail(r, dir);
    }
    if (json) {
        printf("{\"commit\":\"%s\",\"count\":%llu}\n", commit, (unsigned long long)count);
    } else {
        printf("%s %llu\n", commit, (unsigned long long)count);
    }
    return 0;
}

static int log_verify(const char *dir, const char *since, int json)
{
    char bad[SIGN_LOG_COMMIT_SIZE], commit[SIGN_LOG_COMMIT_SIZE] = "";
    uint64_t count = 0;
    int r = sign_log_verify(bad, dir, since);

    if (r == SIGN_EVERIFY) {
        if (json) {
            json_t *o = json_pack("{s:b,s:s,s:s,s:s}", "verified", 0, "reason", "LOG_REWRITTEN", "commit", bad,
                                  "message", sign_error_last());

            if (o != NULL) {
                json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
                out_json_printed();
                putchar('\n');
            }
            json_decref(o);
        }
        cli_error("%s", sign_error_last());
        return EXIT_FAILED;
    }
    if (r != 0) {
        return cli_fail(r, dir);
    }
    if (sign_log_checkpoint(commit, &count, dir) != 0) {
        commit[0] = '\0'; /* an empty log */
    }
    if (json) {
        printf("{\"verified\":true,\"commit\":\"%s\",\"count\":%llu}\n", commit, (unsigned long long)count);
    } else {
        printf("log verified: %llu entries, head %s%s%s, only appended to%s\n", (unsigned long long)count,
               commit[0] != '\0' ? commit : "(empty)", since != NULL ? " since " : "", since != NULL ? since : "",
               since != NULL ? "" : " since its first commit");
    }
    return 0;
}

typedef struct search_out {
    int json;
    size_t n;
} search_out;

static int print_entry(const sign_log_entry *e, void *userdata)
{
    search_out *so = userdata;

    so->n++;
    if (so->json) {
        printf("%s\n", e->summary_json);
    } else {
        printf("%s  %s  key %s\n", e->logged, e->id, e->key_id);
    }
    return 0;
}

static int log_search(int argc, char **argv, int json)
{
    static const struct option longopts[] = {{"key-id", required_argument, NULL, 'k'},
                                             {"digest", required_argument, NULL, 'd'},
                                             {"since", required_argument, NULL, 's'},
                                             {"json", no_argument, NULL, 'J'},
                                             {NULL, 0, NULL, 0}};
    search_out so = {json, 0};
    const char *value = NULL;
    int by = 0, c, r;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            by = SIGN_LOG_BY_KEY;
            value = optarg;
            break;
        case 'd':
            by = SIGN_LOG_BY_DIGEST;
            value = optarg;
            break;
        case 's':
            by = SIGN_LOG_SINCE;
            value = optarg;
            break;
        case 'J': so.json = 1; break;
        default: return out_getopt_error("log", c, argv);
        }
    }
    if (by == 0 || optind != argc - 1) {
        return out_usage_error("log", "log search DIR (--key-id ID | --digest sha256:HEX | --since TIME)");
    }
    if ((r = sign_log_search(argv[optind], by, value, print_entry, &so)) != 0) {
        return cli_fail(r, argv[optind]);
    }
    if (!so.json) {
        fprintf(stderr, "%zu entr%s\n", so.n, so.n == 1 ? "y" : "ies");
    }
    return 0;
}

int cmd_log(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *since = NULL, *dir = NULL;
    int json = 0;

    if (sub == NULL || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(log_help, sub == NULL ? stderr : stdout);
        return sub == NULL ? EXIT_USAGE : 0;
    }
    if (strcmp(sub, "search") == 0) {
        return log_search(argc - 1, argv + 1, json);
    }
    if (strcmp(sub, "add") == 0) {
        return log_add(argc - 1, argv + 1);
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc && strcmp(sub, "verify") == 0) {
            since = argv[++i];
        } else if (argv[i][0] == '-' || dir != NULL) {
            if (strcmp(sub, "sync") == 0 && dir != NULL && argv[i][0] != '-' && i == argc - 1) {
                size_t added = 0;
                int r = sign_log_sync_ext(&added, dir, argv[i], &log_opts);

                if (r != 0) {
                    return cli_fail(r, dir);
                }
                printf("log %s in step with %s (%zu local entr%s appended again on top of the remote)\n", dir,
                       argv[i], added, added == 1 ? "y" : "ies");
                return 0;
            }
            return out_usage_error("log", "unexpected argument %s (see signet help log)", argv[i]);
        } else {
            dir = argv[i];
        }
    }
    if (dir == NULL) {
        return out_usage_error("log", "log %s: name the log's directory", sub);
    }
    if (strcmp(sub, "init") == 0 && !json) {
        int r = sign_log_init_ext(dir, &log_opts);

        if (r != 0) {
            return cli_fail(r, dir);
        }
        printf("made an empty signing log in %s\n", dir);
        return 0;
    }
    if (strcmp(sub, "checkpoint") == 0) {
        return log_checkpoint(dir, json);
    }
    if (strcmp(sub, "verify") == 0) {
        return log_verify(dir, since, json);
    }
    if (strcmp(sub, "sync") == 0) {
        return out_usage_error("log", "log sync DIR REMOTE: name the remote");
    }
    return out_usage_error("log", "unknown log command %s (init, add, checkpoint, verify, search, sync)", sub);
}
