/* The answer of a scan as text, and the two inflate engines compared on it (scansig.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflate.h"
#include "scansig.h"

static void hex(FILE *f, const unsigned char *p, size_t n)
{
    if (p == NULL) {
        fputs("-", f);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x", p[i]);
    }
}

static void entry_line(FILE *f, const char *what, const sign_entry *e)
{
    fprintf(f, "%s %s type=%d mode=%o size=%llu digest=", what, e->path, (int)e->type, e->mode,
            (unsigned long long)e->size);
    hex(f, e->has_digest ? e->sha256 : NULL, SIGN_SHA256_LEN);
    fprintf(f, " link=%s\n", e->link_target != NULL ? e->link_target : "-");
}

static void layers(FILE *f, const sign_artifact *a)
{
    size_t ni = sign_artifact_image_count(a);

    if (sign_artifact_get_kind(a) == SIGN_ARTIFACT_LAYER) {
        ni = 1;
    }
    for (size_t i = 0; i < ni; i++) {
        sign_image_info im;
        size_t nl = 1;

        if (sign_artifact_get_kind(a) != SIGN_ARTIFACT_LAYER) {
            if (sign_artifact_image(&im, a, i) != 0) {
                fprintf(f, "image %zu: unreadable\n", i);
                continue;
            }
            nl = im.layer_count;
        }
        for (size_t j = 0; j < nl; j++) {
            sign_layer_info li;

            if (sign_artifact_layer(&li, a, i, j) != 0) {
                fprintf(f, "layer %zu/%zu: unreadable\n", i, j);
                continue;
            }
            fprintf(f, "layer %zu/%zu size=%llu entries=%zu digest=", i, j, (unsigned long long)li.size,
                    li.entry_count);
            hex(f, li.digest, SIGN_SHA256_LEN);
            fputs(" diffid=", f);
            hex(f, li.diff_id, SIGN_SHA256_LEN);
            fputc('\n', f);
            for (size_t k = 0; k < li.entry_count; k++) {
                const sign_entry *e = sign_artifact_layer_entry(a, i, j, k);

                if (e != NULL) {
                    entry_line(f, "  entry", e);
                }
            }
        }
    }
}

char *scansig_scan(const char *path, const char *name, const sign_limits *lim)
{
    sign_artifact_options ao = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_artifact *a = NULL;
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    int r;

    if (f == NULL) {
        return NULL;
    }
    ao.limits = lim;
    r = sign_artifact_scan(&a, path, name, &ao);
    fprintf(f, "rc=%d\n", r);
    if (r != 0) {
        fprintf(f, "error=%s\n", sign_error_last());
    } else {
        fprintf(f, "kind=%s size=%llu sha256=", sign_artifact_kind_name(sign_artifact_get_kind(a)),
                (unsigned long long)sign_artifact_size(a));
        hex(f, sign_artifact_sha256(a), SIGN_SHA256_LEN);
        fputc('\n', f);
        for (size_t i = 0; i < sign_artifact_entry_count(a); i++) {
            entry_line(f, "entry", sign_artifact_entry(a, i));
        }
        for (size_t i = 0; i < sign_artifact_finding_count(a); i++) {
            const sign_finding *x = sign_artifact_finding(a, i);

            fprintf(f, "finding %s %s %s: %s\n", x->id, sign_severity_name(x->severity),
                    x->path != NULL ? x->path : "-", x->message);
        }
        layers(f, a);
    }
    sign_artifact_free(a);
    fclose(f);
    return s;
}

/* The first line where a and b differ, quoted from both. */
static char *first_difference(const char *a, const char *b)
{
    size_t line = 1, i = 0;
    char *out = NULL;

    while (a[i] != '\0' && a[i] == b[i]) {
        line += a[i] == '\n';
        i++;
    }
    while (i > 0 && a[i - 1] != '\n') {
        i--;
    }
    if (asprintf(&out, "line %zu differs:\n  zlib:  %.*s\n  isa-l: %.*s", line, (int)strcspn(a + i, "\n"), a + i,
                 (int)strcspn(b + i, "\n"), b + i) < 0) {
        return NULL;
    }
    return out;
}

char *scansig_differential(const char *path, const char *name, const sign_limits *lim, int *engines)
{
    char *z, *i, *d = NULL;

    if (engines != NULL) {
        *engines = 1;
    }
    if (sign__inflate_use(SIGN__INFLATE_ISAL) != 0) {
        sign__inflate_use(SIGN__INFLATE_AUTO);
        return NULL; /* a zlib-only build: one engine, nothing to compare */
    }
    i = scansig_scan(path, name, lim);
    sign__inflate_use(SIGN__INFLATE_ZLIB);
    z = scansig_scan(path, name, lim);
    sign__inflate_use(SIGN__INFLATE_AUTO);
    if (engines != NULL) {
        *engines = 2;
    }
    if (z == NULL || i == NULL) {
        d = strdup("out of memory in scansig_scan");
    } else if (strcmp(z, i) != 0) {
        d = first_difference(z, i);
    }
    free(z);
    free(i);
    return d;
}
