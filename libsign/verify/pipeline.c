/* The verification pipeline: bundles -> signatures -> policy -> artifact digests -> decision, with the independent
 * parts in parallel. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pool.h"
#include "verify_internal.h"

/* ---- in parallel ------------------------------------------------------ */

/*
 * Hashing the artifacts and checking the bundles (parse, signature) are independent per item
 * and are most of a verify, so they run at once on every core: many small files spread over
 * the cores, and one large artifact is hashed while its bundle is parsed. They run on the
 * thread pool (util/pool.h), which the artifact scans nested in them share. What they produce
 * (the artifact records, each bundle's checks in its own list) is then taken in the original
 * order, so the verdict is the one a sequential run gives. vfy_bundle runs before the
 * artifacts' names are known, so a default bundle's checks get their artifact when merged:
 * vfy_bundle must not use b->for_artifact for anything else.
 */
typedef struct scan_job {
    const char *const *paths;
    const char *const *names; /* names to match instead of the paths' (fd and memory input), or NULL */
    const sign_artifact_options *aopts;
    sign_artifact **arts;
    int *rc;
    char **msg;
} scan_job;

static void scan_one(void *arg, size_t i)
{
    scan_job *j = arg;

    if (j->paths[i] == NULL) {
        return;
    }
    j->rc[i] = sign_artifact_scan(&j->arts[i], j->paths[i], j->names != NULL ? j->names[i] : NULL, j->aopts);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last()); /* NULL when out of memory: the path stands in */
    }
}

typedef struct bundle_job {
    const vctx *c;
    vb *bundles;
    vctx *bc; /* per bundle: the context with its own list of checks */
    int *rc;
    char **msg;
} bundle_job;

static void bundle_one(void *arg, size_t i)
{
    bundle_job *j = arg;

    j->bc[i] = *j->c;
    if ((j->bc[i].res = calloc(1, sizeof(*j->bc[i].res))) == NULL) {
        j->rc[i] = SIGN_ENOMEM;
        return;
    }
    j->rc[i] = vfy_bundle(&j->bc[i], &j->bundles[i]);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last());
    }
}

typedef struct verify_jobs {
    scan_job s;
    bundle_job b;
    size_t n; /* jobs below n are artifacts, the others bundles */
} verify_jobs;

static void job_one(void *arg, size_t i)
{
    verify_jobs *j = arg;

    if (i < j->n) {
        scan_one(&j->s, i);
    } else {
        bundle_one(&j->b, i - j->n);
    }
}

static int default_bundle_path(char **out, const char *artifact)
{
    static const char suffix[] = ".sigstore.json";
    size_t n;

    *out = NULL;
    if (!sign__add(&n, strlen(artifact), sizeof(suffix))) {
        return sign__error(SIGN_ELIMIT, "path too long");
    }
    if ((*out = malloc(n)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    snprintf(*out, n, "%s%s", artifact, suffix);
    return 0;
}

/* The same as SIGN_VERIFY_OPTIONS_INIT: the version, every other byte zero. */
void sign_verify_options_init(sign_verify_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_VERIFY_OPTIONS_VERSION;
}

/*
 * sign_verify, with names: the artifacts' names as the caller knows them
 * (fd and memory input, whose paths are /proc/self/fd/N), or NULL. Its
 * length is the pipeline's (stages in order; see verify_internal.h).
 */
static int verify_run(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                      const char *const *names)
{
    sign_artifact_options aopts = SIGN_ARTIFACT_OPTIONS_INIT;
    sign_verify_result *res = NULL;
    sign_artifact **arts = NULL;
    vb *bundles = NULL;
    size_t nb = 0, n;
    vindex ix = {0};
    vrev rev = {0}; /* revocation lists and versions (issue 15) */
    vctx c, *bc = NULL;
    verify_jobs jobs;
    int *arc = NULL, *brc = NULL;
    char **amsg = NULL, **bmsg = NULL;
    int r = SIGN_ERROR;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no result pointer");
    }
    *out = NULL;
    if (policy == NULL || opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no policy or options");
    }
    if ((r = sign__check_version(opts->version, SIGN_VERIFY_OPTIONS_VERSION, "sign_verify_options")) != 0) {
        return r;
    }
    if (opts->nartifacts == 0 || opts->artifacts == NULL) {
        return sign__error(SIGN_EINVAL, "nothing to verify: give at least one artifact");
    }
    if (opts->nbundles > 0 && opts->bundles == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: nbundles without bundles");
    }
    n = opts->nartifacts;
    memset(&c, 0, sizeof(c));
    c.policy = policy;
    c.opts = opts;
    if ((r = sign__limits(&c.limits_buf, opts->limits)) != 0) {
        return r;
    }
    c.limits = &c.limits_buf;
    /* SIGN_VERIFY_AT (version 4) lets the epoch itself be judged; before it at == 0 meant now. */
    c.has_at = (opts->flags & SIGN_VERIFY_AT) != 0 || opts->at != 0;
    c.at = c.has_at ? opts->at : sign__now();
    c.entries = policy->require_entries || (opts->flags & SIGN_VERIFY_ENTRIES) != 0;
    /* Fields of version 3 only when the caller has them; the network only when asked. */
    c.fetch_crl = (opts->flags & SIGN_VERIFY_FETCH_CRL) != 0;
    if (opts->version >= 3) {
        c.crl_cache_dir = opts->crl_cache_dir;
        c.crl_timeout_ms = opts->crl_timeout_ms;
    }
    if ((res = calloc(1, sizeof(*res))) == NULL || (arts = calloc(n, sizeof(*arts))) == NULL ||
        (res->artifacts = calloc(n, sizeof(*res->artifacts))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    res->mode = policy->mode;
    res->decisive = SIZE_MAX;
    res->at = c.at;
    memcpy(res->policy_sha256, sign_policy_sha256(policy), SIGN_SHA256_LEN);
    c.res = res;
    /* ---- revocation lists and downgrade protection (issue 15): judged once, before the bundles ---- */
    if (opts->version >= 4) {
        c.state_dir = !c.has_at ? opts->state_dir : NULL;
        c.allow_downgrade = (opts->flags & SIGN_VERIFY_ALLOW_DOWNGRADE) != 0;
        c.fetch = (opts->flags & SIGN_VERIFY_FETCH_REVOCATION) != 0;
        c.revocation_cache_dir = opts->revocation_cache_dir;
    }
    c.rev = &rev;
    if ((r = vfy_revocation_lists(&c, &rev)) != 0) {
        goto out;
    }

    /* Artifacts: recognise and hash; entries only when they will be compared. */
    c.tree = opts->version >= 2 ? opts->tree : NULL;
    c.git_dir = opts->version >= 4 ? opts->git_dir : NULL;
    c.log_dir = opts->version >= 4 ? opts->log_dir : NULL;
    aopts.flags = c.entries || c.tree != NULL ? 0 : SIGN_ARTIFACT_NO_ENTRIES;
    aopts.flags |=
        SIGN_ARTIFACT_KEEP_PROBLEMS | ((opts->flags & SIGN_VERIFY_ALL_IMAGES) ? SIGN_ARTIFACT_ALL_IMAGES : 0) |
        ((opts->flags & SIGN_VERIFY_REGISTRY_INSECURE) ? SIGN_ARTIFACT_REGISTRY_INSECURE : 0);
    aopts.ref = opts->version >= 2 ? opts->ref : NULL;
    aopts.limits = c.limits;
    if (opts->version >= 4) {
        aopts.progress = opts->progress;
        aopts.progress_userdata = opts->progress_userdata;
    }
    for (size_t i = 0; i < n; i++) {
        if (opts->artifacts[i] == NULL) {
            r = sign__error(SIGN_EINVAL, "sign_verify: artifact %zu is NULL", i);
            goto out;
        }
    }
    /* Bundles: the ones given, or "<artifact>.sigstore.json" beside each artifact. */
    nb = opts->nbundles > 0 ? opts->nbundles : n;
    if ((bundles = calloc(nb, sizeof(*bundles))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nb; i++) {
        bundles[i].key = SIZE_MAX;
        if (opts->nbundles > 0) {
            if ((bundles[i].path = opts->bundles[i]) == NULL) {
                r = sign__error(SIGN_EINVAL, "sign_verify: bundle %zu is NULL", i);
                goto out;
            }
        } else {
            if ((r = default_bundle_path(&bundles[i].owned_path, opts->artifacts[i])) != 0) {
                goto out;
            }
            bundles[i].path = bundles[i].owned_path;
        }
    }
    /* Hash every artifact and check every bundle at once (see "in parallel"). */
    if ((arc = calloc(n, sizeof(*arc))) == NULL || (amsg = calloc(n, sizeof(*amsg))) == NULL ||
        (bc = calloc(nb, sizeof(*bc))) == NULL || (brc = calloc(nb, sizeof(*brc))) == NULL ||
        (bmsg = calloc(nb, sizeof(*bmsg))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    jobs.s.paths = opts->artifacts;
    jobs.s.names = names;
    jobs.s.aopts = &aopts;
    jobs.s.arts = arts;
    jobs.s.rc = arc;
    jobs.s.msg = amsg;
    jobs.b.c = &c;
    jobs.b.bundles = bundles;
    jobs.b.bc = bc;
    jobs.b.rc = brc;
    jobs.b.msg = bmsg;
    jobs.n = n;
    sign__pool_for(n + nb, job_one, &jobs);
    for (size_t i = 0; i < n; i++) {
        vr_artifact *ra = &res->artifacts[i];
        const char *path = names != NULL ? names[i] : opts->artifacts[i];

        res->nartifacts = i + 1;
        if ((r = arc[i]) != 0) {
            sign__error(r, "%s", amsg[i] != NULL ? amsg[i] : path);
        }
        if (r == SIGN_ENOMEM) {
            goto out;
        }
        if ((ra->path = sign__strdup(path)) == NULL ||
            (ra->name = sign__strdup(r == 0 ? sign_artifact_name(arts[i]) : path)) == NULL) {
            r = SIGN_ENOMEM;
            goto out;
        }
        if (r != 0) {
            int code = vfy_class_rank(r) == 0 ? r : SIGN_EIO;

            if ((r = vfy_add_check(&c, "artifact", SIGN_CHECK_FAIL, "ARTIFACT_UNREADABLE", code,
                                   (vwhere){ra->name, NULL, NULL}, "artifact %s cannot be read: %s; check the path",
                                   path, sign_error_last())) != 0) {
                goto out;
            }
            continue;
        }
        ra->has_digest = 1;
        vfy_hex32(ra->sha256, sign_artifact_sha256(arts[i]));
        if ((r = vfy_image_problems(&c, arts[i])) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        size_t first = res->nchecks;

        if ((r = brc[i]) != 0) {
            sign__error(r, "%s", bmsg[i] != NULL ? bmsg[i] : "out of memory");
            goto out;
        }
        if ((r = vfy_move_checks(res, bc[i].res)) != 0) {
            goto out;
        }
        if (opts->nbundles == 0) {
            /* A default bundle's checks name its artifact (known only now: the name a scan gave it). */
            bundles[i].for_artifact = res->artifacts[i].name;
            for (size_t k = first; k < res->nchecks; k++) {
                if (res->checks[k].artifact == NULL &&
                    (res->checks[k].artifact = sign__strdup(bundles[i].for_artifact)) == NULL) {
                    r = SIGN_ENOMEM;
                    goto out;
                }
            }
        }
    }
    if ((r = vfy_index_build(&ix, bundles, nb)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t nc;

        if (arts[i] == NULL) {
            continue;
        }
        nc = vfy_index_candidates(&ix, sign_artifact_sha256(arts[i]), sign_artifact_name(arts[i]));
        if ((r = vfy_artifact(&c, arts[i], &res->artifacts[i], bundles, ix.cand, nc)) != 0 ||
            (r = vfy_revocation_artifact(&c, arts[i], &res->artifacts[i], bundles, ix.cand, nc)) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        if (bundles[i].usable && !bundles[i].used &&
            (r = vfy_add_check(&c, "bundle", SIGN_CHECK_SKIP, "BUNDLE_UNUSED", 0,
                               (vwhere){bundles[i].for_artifact, bundles[i].path, bundles[i].signer},
                               "bundle %s signs none of the artifacts given", bundles[i].path)) != 0) {
            goto out;
        }
    }
    vfy_mark_bundle_failures(res);
    vfy_decide(res, policy->mode == SIGN_MODE_ENFORCE);
    /* ---- downgrade protection (issue 15): versions recorded only once everything passed ---- */
    if (vfy_revocation_record(&c) != 0) {
        if ((r = vfy_add_check(&c, "version", SIGN_CHECK_FAIL, "STATE_UNUSABLE", SIGN_EIO, (vwhere){NULL, NULL, NULL},
                               "the verified versions cannot be recorded: %s", sign_error_last())) != 0) {
            goto out;
        }
        vfy_decide(res, policy->mode == SIGN_MODE_ENFORCE);
    }
    if ((r = vfy_artifact_reasons(res)) != 0) {
        goto out;
    }
    sign__error_clear();
    if (res->code != 0 && res->decisive != SIZE_MAX) {
        sign__error(res->code, "%s", res->checks[res->decisive].message);
    }
    r = res->code;
    *out = res;
    res = NULL; /* transferred */
out:
    vfy_revocation_free(&rev);
    vfy_index_free(&ix);
    for (size_t i = 0; amsg != NULL && i < n; i++) {
        free(amsg[i]);
    }
    for (size_t i = 0; bc != NULL && i < nb; i++) {
        sign_verify_result_free(bc[i].res);
    }
    for (size_t i = 0; bmsg != NULL && i < nb; i++) {
        free(bmsg[i]);
    }
    free(arc);
    free(amsg);
    free(bc);
    free(brc);
    free(bmsg);
    for (size_t i = 0; bundles != NULL && i < nb; i++) {
        sign_bundle_free(bundles[i].bundle);
        sign_statement_free(bundles[i].st);
        sign_x509_certs_free(bundles[i].certs);
        sign_key_free(bundles[i].cert_key);
        free(bundles[i].owned_path);
    }
    free(bundles);
    for (size_t i = 0; arts != NULL && i < n; i++) {
        sign_artifact_free(arts[i]);
    }
    free(arts);
    sign_verify_result_free(res);
    return r;
}

int sign_verify(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts)
{
    return verify_run(out, policy, opts, NULL);
}

/* Verify the regular file open at fd under name (see sign_verify_fd). */
static int verify_regular_fd(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                             int fd, const char *name)
{
    sign_verify_options o = *opts;
    char path[64];
    const char *paths[1], *names[1];

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    paths[0] = path;
    names[0] = name;
    o.artifacts = paths;
    o.nartifacts = 1;
    return verify_run(out, policy, &o, names);
}

/* Write n bytes of p to fd. Returns 0 or SIGN_EIO. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return sign__error(SIGN_EIO, "memory file: %s", w < 0 ? strerror(errno) : "short write");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * A new memory file (memfd) holding len bytes of data, or what from_fd
 * gives (at most max bytes: SIGN_ELIMIT beyond). *out is its fd.
 */
static int memory_file(int *out, const void *data, size_t len, int from_fd, uint64_t max)
{
    unsigned char buf[65536];
    uint64_t total = 0;
    int mfd = memfd_create("signet-artifact", MFD_CLOEXEC), r = 0;

    *out = -1;
    if (mfd < 0) {
        return sign__error(SIGN_EIO, "memory file: %s", strerror(errno));
    }
    if (from_fd < 0) {
        r = write_all(mfd, data, len);
    }
    while (from_fd >= 0 && r == 0) {
        ssize_t n = read(from_fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = sign__error(SIGN_EIO, "reading the artifact: %s", strerror(errno));
        } else if (n == 0) {
            break;
        } else if ((total += (uint64_t)n) > max) {
            r = sign__error(SIGN_ELIMIT, "the artifact read from the descriptor is larger than %llu bytes",
                            (unsigned long long)max);
        } else {
            r = write_all(mfd, buf, (size_t)n);
        }
    }
    if (r != 0) {
        close(mfd);
        return r;
    }
    *out = mfd;
    return 0;
}

static int fd_input_check(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                          const char *name)
{
    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no result pointer");
    }
    *out = NULL;
    if (policy == NULL || opts == NULL || name == NULL || name[0] == '\0') {
        return sign__error(SIGN_EINVAL, "sign_verify: no policy, options or artifact name");
    }
    if (opts->nbundles == 0) {
        /* Nothing lies beside bytes without a path: "<name>.sigstore.json" would be a guess. */
        return sign__error(SIGN_EINVAL,
                           "sign_verify: give the bundles of an artifact read from a descriptor or memory");
    }
    return 0;
}

int sign_verify_fd(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts, int fd,
                   const char *name)
{
    struct stat st;
    sign_limits lim;
    int r, mfd;

    if ((r = fd_input_check(out, policy, opts, name)) != 0) {
        return r;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        return sign__error(SIGN_EINVAL, "sign_verify_fd: %s: not an open file descriptor", name);
    }
    if (S_ISREG(st.st_mode)) {
        return verify_regular_fd(out, policy, opts, fd, name);
    }
    /* A pipe or socket: its bytes are read once, into memory, then judged like a file. */
    if ((r = sign__limits(&lim, opts->limits)) != 0 ||
        (r = memory_file(&mfd, NULL, 0, fd, lim.archive_max_total)) != 0) {
        return r;
    }
    r = verify_regular_fd(out, policy, opts, mfd, name);
    close(mfd);
    return r;
}

int sign_verify_memory(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                       const void *data, size_t len, const char *name)
{
    int r, mfd;

    if ((r = fd_input_check(out, policy, opts, name)) != 0) {
        return r;
    }
    if (data == NULL && len > 0) {
        return sign__error(SIGN_EINVAL, "sign_verify_memory: no data");
    }
    if ((r = memory_file(&mfd, data, len, -1, UINT64_MAX)) != 0) {
        return r;
    }
    r = verify_regular_fd(out, policy, opts, mfd, name);
    close(mfd);
    return r;
}
