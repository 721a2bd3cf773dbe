/*
 * signet audit docker://HOST/REPO[:TAG|@DIGEST]: the audit's source of images in a registry
 * (docs/registry.md). Before the walk, every tag of the repository (the paginated tags list), or the one
 * reference given, is resolved once to a digest; each digest is audited once, whatever the number of tags
 * naming it. The bundles attached to it (referrers API or the fallback tag) are fetched into a private
 * temporary directory laid out as --bundles DIR expects, and the walk reads the pinned references as a
 * --from-list. A tag listed but gone when it is resolved is put on the list as it was named, and audit_one
 * reports it (TAG_VANISHED, unreadable) without stopping the audit.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "output.h"

int audit_registry_is(const char *path)
{
    return sign_registry_is_reference(path);
}

/* A reference that names one image: a tag or a digest after the last '/'. */
static int names_one_image(const char *ref)
{
    const char *last = strrchr(ref + strlen("docker://"), '/');

    return last != NULL && strpbrk(last, ":@") != NULL;
}

/* mkdir -p of the directories of path (inside g->dir). */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                *p = '/';
                return -1;
            }
            *p = '/';
        }
    }
    return 0;
}

/* Write one fetched bundle to path (created, never overwritten). 0 or the exit status. */
static int write_bundle(char *path, const unsigned char *b, size_t len)
{
    FILE *f;

    if (make_parents(path) != 0 || (f = fopen(path, "wx")) == NULL) {
        cli_error("audit: %s: cannot write a fetched bundle: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (fwrite(b, 1, len, f) != len) {
        (void)fclose(f);
        cli_error("audit: %s: cannot write a fetched bundle", path);
        return EXIT_USAGE;
    }
    if (fclose(f) != 0) {
        cli_error("audit: %s: cannot write a fetched bundle", path);
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * Every bundle attached to the pinned reference (at most AUDIT_REGISTRY_MAX_BUNDLES): the newest referrer
 * where the walk looks for it (DIR/REL.sigstore.json), the older ones as DIR/REL.sigstore.json.K (K = 1 the
 * one before the newest ...), and what was skipped in *att; none: nothing written, and the audit says
 * BUNDLE_MISSING (or REFERRER_INVALID).
 */
static int fetch_bundle(audit_registry *g, const char *pinned, const char *digest, const sign_registry_options *ro,
                        audit_attached *att)
{
    unsigned char **b = NULL;
    size_t *lens = NULL, nb = 0;
    char path[8300];
    int r = sign_registry_fetch_bundles_checked(&b, &lens, &nb, &att->invalid, pinned, digest,
                                                AUDIT_REGISTRY_MAX_BUNDLES, ro);

    if (r == SIGN_ELIMIT) {
        att->too_many = 1; /* reported for this image by audit_one, the audit goes on */
        return 0;
    }
    if (r != 0) {
        return cli_fail(r, "audit");
    }
    for (size_t k = 0; k < nb && r == 0; k++) {
        if (k == 0) {
            snprintf(path, sizeof(path), "%s/%s.sigstore.json", g->dir, pinned);
        } else {
            snprintf(path, sizeof(path), "%s/%s.sigstore.json.%zu", g->dir, pinned, k);
        }
        r = write_bundle(path, b[nb - 1 - k], lens[nb - 1 - k]);
    }
    att->nbundles = nb;
    sign_registry_bundles_free(b, lens, nb);
    return r;
}

/* FNV-1a of s: the slot a digest starts its probe at. */
static size_t digest_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return (size_t)h;
}

/* The slot holding digest, or the free slot where it would go (nslots > nseen, so one is free). */
static size_t *slot_of(const audit_registry *g, const char *digest)
{
    size_t mask = g->nslots - 1, i = digest_hash(digest) & mask;

    while (g->slots[i] != 0 && strcmp(g->seen[g->slots[i] - 1], digest) != 0) {
        i = (i + 1) & mask;
    }
    return &g->slots[i];
}

/* Room for one more digest: the arrays doubled when full, the slots doubled (and refilled) past half full. */
static int seen_grow(audit_registry *g)
{
    if (g->nseen == g->cap) {
        size_t cap = g->cap > 0 ? 2 * g->cap : 16;
        char **nv = realloc(g->seen, cap * sizeof(*nv));
        audit_attached *na;

        if (nv == NULL) {
            return -1;
        }
        g->seen = nv;
        if ((na = realloc(g->attached, cap * sizeof(*na))) == NULL) {
            return -1;
        }
        g->attached = na;
        g->cap = cap;
    }
    if (2 * (g->nseen + 1) > g->nslots) {
        size_t n = g->nslots > 0 ? 2 * g->nslots : 32, *ns = calloc(n, sizeof(*ns));

        if (ns == NULL) {
            return -1;
        }
        free(g->slots);
        g->slots = ns;
        g->nslots = n;
        for (size_t i = 0; i < g->nseen; i++) {
            *slot_of(g, g->seen[i]) = i + 1;
        }
    }
    return 0;
}

/* 1 when digest was seen before (else it is remembered, with nothing attached yet). -1: out of memory. */
static int seen(audit_registry *g, const char *digest)
{
    size_t *slot;

    if (g->nslots > 0 && *slot_of(g, digest) != 0) {
        return 1;
    }
    if (seen_grow(g) != 0 || (g->seen[g->nseen] = strdup(digest)) == NULL) {
        return -1;
    }
    slot = slot_of(g, digest);
    memset(&g->attached[g->nseen], 0, sizeof(g->attached[0]));
    *slot = ++g->nseen;
    return 0;
}

const audit_attached *audit_registry_attached(const audit_registry *g, const char *path)
{
    const char *at = strrchr(path, '@');
    size_t i;

    if (g == NULL || at == NULL || g->nslots == 0 || (i = *slot_of(g, at + 1)) == 0) {
        return NULL;
    }
    return &g->attached[i - 1];
}

/* One reference: resolved once, its digest listed once with its bundle; a tag gone since it was listed noted. */
static int add_reference(audit_registry *g, const char *ref, int listed, const sign_registry_options *ro)
{
    char *digest = NULL, *pinned = NULL;
    int r = sign_registry_resolve(&digest, &pinned, ref, ro), s;

    if (r == SIGN_ENOTFOUND && listed) {
        fprintf(g->list, "%s\n", ref); /* listed, then gone: reported by audit_one, not fatal */
        return 0;
    }
    if (r != 0) {
        return cli_fail(r, "audit");
    }
    if ((s = seen(g, digest)) == 0) {
        fprintf(g->list, "%s\n", pinned);
        r = fetch_bundle(g, pinned, digest, ro, &g->attached[g->nseen - 1]);
    } else if (s < 0) {
        cli_error("audit: out of memory");
        r = EXIT_USAGE;
    }
    free(digest);
    free(pinned);
    return r;
}

/* The tags of ref's repository, each as a reference. */
static int add_repository(audit_registry *g, const char *ref, const sign_registry_options *ro)
{
    char **tags = NULL, one[1200];
    size_t n = 0;
    int r = sign_registry_list_tags(&tags, &n, ref, ro);

    if (r != 0) {
        return cli_fail(r, "audit");
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (strncmp(tags[i], "sha256-", 7) == 0 && strlen(tags[i]) == 71 &&
            strspn(tags[i] + 7, "0123456789abcdef") == 64) {
            continue; /* the referrers tag schema's index of an image's signatures, not an image */
        }
        snprintf(one, sizeof(one), "%s:%s", ref, tags[i]);
        r = add_reference(g, one, 1, ro);
    }
    sign_registry_strings_free(tags, n);
    return r;
}

int audit_registry_prepare(audit_registry *g, char *const *refs, size_t n, int insecure)
{
    sign_registry_options ro = SIGN_REGISTRY_OPTIONS_INIT;
    const char *tmp = getenv("TMPDIR");
    int r = 0;

    memset(g, 0, sizeof(*g));
    g->insecure = insecure;
    ro.flags = insecure ? SIGN_REGISTRY_INSECURE : 0;
    snprintf(g->dir, sizeof(g->dir), "%s/signet-audit-XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(g->dir) == NULL || (g->list = tmpfile()) == NULL) {
        cli_error("audit: a temporary directory for the fetched bundles: %s", strerror(errno));
        g->dir[0] = '\0';
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!sign_registry_is_reference(refs[i])) {
            return out_usage_error("audit", "give registry references or store directories, not both (%s)", refs[i]);
        }
        r = names_one_image(refs[i]) ? add_reference(g, refs[i], 0, &ro) : add_repository(g, refs[i], &ro);
    }
    if (r == 0 && (fflush(g->list) != 0 || fseek(g->list, 0, SEEK_SET) != 0)) {
        cli_error("audit: the list of images: %s", strerror(errno));
        r = EXIT_USAGE;
    }
    return r;
}

/* A tag the list named that was gone when it was resolved (the list holds it unpinned). */
int audit_registry_vanished(const char *path)
{
    return audit_registry_is(path) && strchr(path, '@') == NULL;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void audit_registry_close(audit_registry *g)
{
    if (g->list != NULL) {
        (void)fclose(g->list);
    }
    /* only what we fetched, under our own mkdtemp directory; symbolic links are not followed */
    if (g->dir[0] != '\0' && nftw(g->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        cli_error("audit: could not remove %s", g->dir);
    }
    for (size_t i = 0; i < g->nseen; i++) {
        free(g->seen[i]);
    }
    free(g->seen);
    free(g->attached);
    free(g->slots);
    memset(g, 0, sizeof(*g));
}
