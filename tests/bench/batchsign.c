/*
 * Sign groups of artifacts in one process, for the audit group of the benchmark:
 *
 *   batchsign KEY DIR GROUPS
 *
 * GROUPS (written by `gen small`) has one line per bundle, "-o BUNDLE ARTIFACT...", paths relative to DIR. Each
 * line gives the bundle `signet sign -k KEY -o BUNDLE ARTIFACT...` run in DIR gives, signed through libsign in
 * this one process: the 10,000 `signet sign` processes of the 100,000-artifact store took about half an hour at
 * load 27, each paying for its start-up and OpenSSL's initialisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sign/sign.h"

#define MAX_GROUP 64

/* Sign one line of the groups file; 0 or 1. */
static int sign_line(const sign_key *key, char *line)
{
    const char *arts[MAX_GROUP], *out = NULL;
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    sign_bundle *b = NULL;
    size_t n = 0;
    int r;

    for (char *save = NULL, *t = strtok_r(line, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save)) {
        if (strcmp(t, "-o") == 0) {
            out = strtok_r(NULL, " \n", &save);
        } else if (n < MAX_GROUP) {
            arts[n++] = t;
        } else {
            fprintf(stderr, "batchsign: more than %d artifacts in a group\n", MAX_GROUP);
            return 1;
        }
    }
    if (n == 0) {
        return 0;
    }
    o.key = key;
    o.artifacts = arts;
    o.nartifacts = n;
    o.output = out;
    if ((r = sign_sign(&b, NULL, &o)) != 0) {
        fprintf(stderr, "batchsign: %s: %s\n", out != NULL ? out : arts[0], sign_error_last());
        return 1;
    }
    sign_bundle_free(b);
    return 0;
}

int main(int argc, char **argv)
{
    sign_key *key = NULL;
    char line[8192];
    FILE *f;
    int rc = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: batchsign KEY DIR GROUPS\n");
        return 2;
    }
    if (sign_key_load_private(&key, argv[1], NULL, NULL) != 0) {
        fprintf(stderr, "batchsign: %s: %s\n", argv[1], sign_error_last());
        return 1;
    }
    if ((f = fopen(argv[3], "r")) == NULL || chdir(argv[2]) != 0) {
        perror("batchsign");
        sign_key_free(key);
        return 1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        rc = sign_line(key, line);
    }
    fclose(f);
    sign_key_free(key);
    return rc;
}
