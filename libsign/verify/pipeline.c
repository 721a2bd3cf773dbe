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

/*
 * msg with every path in it said as name: fd and memory input is read at a private path (/proc/self/fd/N,
 * deploy's copy) that means nothing to the caller, who knows it by name. NULL when out of memory.
 * n counts every occurrence, so the buffer holds the replacements (at most n) whatever follows them.
 */
static char *say_as_name(const char *msg, const char *path, const char *name)
{
    size_t plen = strlen(path), nlen = strlen(name), n = 0, k = 0;
    const char *p;
    char *out;

    for (p = strstr(msg, path); plen > 0 && p != NULL; p = strstr(p + plen, path)) {
        n++;
    }
    if (n == 0 || (out = malloc(strlen(msg) + n * nlen + 1)) == NULL) {
        return sign__strdup(msg);
    }
    for (p = msg; *p != '\0';) {
        if (strncmp(p, path, plen) == 0 && !(p[plen] >= '0' && p[plen] <= '9')) { /* not /proc/self/fd/130 */
            memcpy(out + k, name, nlen);
            k += nlen;
            p += plen;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
    return out;
}

static void scan_one(void *arg, size_t i)
{
    scan_job *j = arg;
    const char *name = j->names != NULL ? j->names[i] : NULL;

    if (j->paths[i] == NULL) {
        return;
    }
    j->rc[i] = sign__artifact_scan(&j->arts[i], j->paths[i], name, j->aopts);
    if (j->rc[i] != 0) {
        /* NULL when out of memory: the path stands in */
        j->msg[i] =
            name != NULL ? say_as_name(sign_error_last(), j->paths[i], name) : sign__strdup(sign_error_last());
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
        j->rc[i] = sign__oom();
        return;
    }
    j->rc[i] = vfy_bundle(&j->bc[i], &j->bundles[i]);
    if (j->rc[i] != 0) {
        j->msg[i] = sign__strdup(sign_error_last());
    } else if (j->c->entries && j->c->capture == NULL) {
        /*
         * While the artifacts are still being walked. Not for deploy (capture): its extraction is bound by
         * creating files, and the prepared entries, made on this worker, added 3 MB to its peak RSS (< 64 MB).
         * A statement shared with other verifies (SIGN_VERIFY_SHARE_STATEMENTS) keeps its JSON entries.
         */
        vfy_entries_prepare(&j->bundles[i], (j->c->opts->flags & SIGN_VERIFY_SHARE_STATEMENTS) == 0);
    }
    /* Parsed and prepared (or failed): the bundles of the same payload bytes waiting for it go on. */
    vfy_share_publish(&j->bc[i], &j->bundles[i]);
}

typedef struct verify_jobs {
    scan_job s;
    bundle_job b;
    size_t head; /* jobs below head are the first bundles, then the n artifacts, then the other bundles */
    size_t n;
} verify_jobs;

/*
 * The bundles first: the calling thread claims items in order, while an idle worker takes the newest
 * loop's items first, which are those an artifact scan nests (its hash, its zip walk). With the
 * artifacts first, a worker ended up walking the artifact's zip beside the caller and the bundle
 * (for a 20,000-entry zip, its statement's parse) was left to the end, on one thread.
 * With --entries and several bundles, only the first comes before the artifacts (head 1): a statement
 * is parsed whole (jansson) before its entries are made compact, so bundles parsed side by side held
 * that many statements at once (six bundles of an image: 81 MB peak); now the caller parses them one
 * after another while the other threads walk the artifacts.
 */
static void job_one(void *arg, size_t i)
{
    verify_jobs *j = arg;

    if (i < j->head) {
        bundle_one(&j->b, i);
    } else if (i < j->head + j->n) {
        scan_one(&j->s, i - j->head);
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

/* One verify run: set up, run in parallel, taken back in order (freed by run_free). */
typedef struct vrun {
    vctx c;
    vshare share;   /* bundles of the same payload bytes (c.share once set up) */
    vlcache lcache; /* the layers read, digested once (c.lcache) */
    vrev rev;       /* revocation lists and versions (issue 15) */
    vindex ix;
    sign_artifact_options aopts;
    const sign_verify_options *opts;
    const char *const *names; /* see verify_run */
    sign_verify_result *res;
    sign_artifact **arts;
    size_t n; /* artifacts */
    vb *bundles;
    size_t nb;
    vctx *bc; /* per bundle: the context with its own list of checks */
    int *arc, *brc;
    char **amsg, **bmsg;
} vrun;

static int check_args(const sign_policy *policy, const sign_verify_options *opts)
{
    int r;

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
    for (size_t i = 0; i < opts->nartifacts; i++) {
        if (opts->artifacts[i] == NULL) {
            return sign__error(SIGN_EINVAL, "sign_verify: artifact %zu is NULL", i);
        }
    }
    for (size_t i = 0; i < opts->nbundles; i++) {
        if (opts->bundles[i] == NULL) {
            return sign__error(SIGN_EINVAL, "sign_verify: bundle %zu is NULL", i);
        }
    }
    return 0;
}

/* The context every check reads: the options by their version, the time judged, the result. */
static int run_context(vrun *v, const sign_policy *policy)
{
    const sign_verify_options *opts = v->opts;
    vctx *c = &v->c;
    sign_verify_result *res;
    int r;

    c->policy = policy;
    c->opts = opts;
    if ((r = sign__limits(&c->limits_buf, opts->limits)) != 0) {
        return r;
    }
    c->limits = &c->limits_buf;
    /* SIGN_VERIFY_AT (version 4) lets the epoch itself be judged; before it at == 0 meant now. */
    c->has_at = (opts->flags & SIGN_VERIFY_AT) != 0 || opts->at != 0;
    c->at = c->has_at ? opts->at : sign__now();
    c->entries = policy->require_entries || (opts->flags & SIGN_VERIFY_ENTRIES) != 0;
    /* Fields of version 3 only when the caller has them; the network only when asked. */
    c->fetch_crl = (opts->flags & SIGN_VERIFY_FETCH_CRL) != 0;
    if (opts->version >= 3) {
        c->crl_cache_dir = opts->crl_cache_dir;
        c->crl_timeout_ms = opts->crl_timeout_ms;
    }
    if (opts->version >= 4) {
        c->state_dir = !c->has_at ? opts->state_dir : NULL;
        c->allow_downgrade = (opts->flags & SIGN_VERIFY_ALLOW_DOWNGRADE) != 0;
        c->fetch = (opts->flags & SIGN_VERIFY_FETCH_REVOCATION) != 0;
        c->revocation_cache_dir = opts->revocation_cache_dir;
    }
    c->tree = opts->version >= 2 ? opts->tree : NULL;
    c->git_dir = opts->version >= 4 ? opts->git_dir : NULL;
    c->log_dir = opts->version >= 4 ? opts->log_dir : NULL;
    c->rev = &v->rev;
    c->lcache = &v->lcache;
    if ((r = vfy_share_init(&v->share)) != 0) {
        return r;
    }
    c->share = &v->share;
    if ((v->res = res = calloc(1, sizeof(*res))) == NULL || (v->arts = calloc(v->n, sizeof(*v->arts))) == NULL ||
        (res->artifacts = calloc(v->n, sizeof(*res->artifacts))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    res->mode = policy->mode;
    res->decisive = SIZE_MAX;
    res->at = c->at;
    memcpy(res->policy_sha256, sign_policy_sha256(policy), SIGN_SHA256_LEN);
    c->res = res;
    return 0;
}

/* Artifacts: recognise and hash; entries only when they will be compared. */
static void run_artifact_options(vrun *v)
{
    const sign_verify_options *opts = v->opts;
    sign_artifact_options *aopts = &v->aopts;

    aopts->flags = (v->c.entries && (v->c.capture == NULL || !v->c.capture->entries_unread)) || v->c.tree != NULL
                       ? 0
                       : SIGN_ARTIFACT_NO_ENTRIES;
    aopts->flags |= SIGN_ARTIFACT_KEEP_PROBLEMS |
                    ((opts->flags & SIGN_VERIFY_ALL_IMAGES) ? SIGN_ARTIFACT_ALL_IMAGES : 0) |
                    ((opts->flags & SIGN_VERIFY_REGISTRY_INSECURE) ? SIGN_ARTIFACT_REGISTRY_INSECURE : 0) |
                    (v->c.capture != NULL && v->c.capture->layers_unread ? SIGN__ARTIFACT_LAYERS_UNREAD : 0);
    aopts->ref = opts->version >= 2 ? opts->ref : NULL;
    aopts->limits = v->c.limits;
    if (opts->version >= 4) {
        aopts->progress = opts->progress;
        aopts->progress_userdata = opts->progress_userdata;
    }
}

/* Bundles: the ones given, or "<artifact>.sigstore.json" beside each artifact. */
static int run_bundles(vrun *v)
{
    const sign_verify_options *opts = v->opts;
    int r;

    v->nb = opts->nbundles > 0 ? opts->nbundles : v->n;
    if ((v->bundles = calloc(v->nb, sizeof(*v->bundles))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->nb; i++) {
        v->bundles[i].key = SIZE_MAX;
        if (opts->nbundles > 0) {
            v->bundles[i].path = opts->bundles[i];
        } else {
            if ((r = default_bundle_path(&v->bundles[i].owned_path, opts->artifacts[i])) != 0) {
                return r;
            }
            v->bundles[i].path = v->bundles[i].owned_path;
        }
    }
    return 0;
}

/* Hash every artifact and check every bundle at once (see "in parallel"). */
static int run_parallel(vrun *v)
{
    verify_jobs jobs;
    size_t n = v->n, nb = v->nb;

    if ((v->arc = calloc(n, sizeof(*v->arc))) == NULL || (v->amsg = calloc(n, sizeof(*v->amsg))) == NULL ||
        (v->bc = calloc(nb, sizeof(*v->bc))) == NULL || (v->brc = calloc(nb, sizeof(*v->brc))) == NULL ||
        (v->bmsg = calloc(nb, sizeof(*v->bmsg))) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    jobs.s.paths = v->opts->artifacts;
    jobs.s.names = v->names;
    jobs.s.aopts = &v->aopts;
    jobs.s.arts = v->arts;
    jobs.s.rc = v->arc;
    jobs.s.msg = v->amsg;
    jobs.b.c = &v->c;
    jobs.b.bundles = v->bundles;
    jobs.b.bc = v->bc;
    jobs.b.rc = v->brc;
    jobs.b.msg = v->bmsg;
    jobs.n = n;
    jobs.head = v->c.entries && v->c.capture == NULL && nb > 1 ? 1 : nb;
    sign__pool_for(n + nb, job_one, &jobs);
    return 0;
}

/* Artifact i's record: its name and digest, or the check that says it cannot be read. */
static int take_artifact(vrun *v, size_t i)
{
    sign_verify_result *res = v->res;
    vr_artifact *ra = &res->artifacts[i];
    const char *path = v->names != NULL ? v->names[i] : v->opts->artifacts[i];
    int r;

    res->nartifacts = i + 1;
    if ((r = v->arc[i]) != 0) {
        sign__error(r, "%s", v->amsg[i] != NULL ? v->amsg[i] : path);
    }
    if (r == SIGN_ENOMEM) {
        return r;
    }
    if ((ra->path = sign__strdup(path)) == NULL ||
        (ra->name = sign__strdup(r == 0 ? sign_artifact_name(v->arts[i]) : path)) == NULL) {
        return sign__oom();
    }
    if (r != 0) {
        int code = vfy_class_rank(r) == 0 ? r : SIGN_EIO;

        return vfy_add_check(&v->c, "artifact", SIGN_CHECK_FAIL, "ARTIFACT_UNREADABLE", code,
                             (vwhere){ra->name, NULL, NULL}, "artifact %s cannot be read: %s; check the path", path,
                             sign_error_last());
    }
    ra->has_digest = 1;
    vfy_hex32(ra->sha256, sign_artifact_sha256(v->arts[i]));
    return vfy_image_problems(&v->c, v->arts[i]);
}

/* Bundle i's checks, moved into the result in bundle order. */
static int take_bundle(vrun *v, size_t i)
{
    sign_verify_result *res = v->res;
    size_t first = res->nchecks;
    int r;

    if ((r = v->brc[i]) != 0) {
        return sign__error(r, "%s", v->bmsg[i] != NULL ? v->bmsg[i] : "out of memory");
    }
    if ((r = vfy_move_checks(res, v->bc[i].res)) != 0) {
        return r;
    }
    if (v->opts->nbundles == 0) {
        /* A default bundle's checks name its artifact (known only now: the name a scan gave it). */
        v->bundles[i].for_artifact = res->artifacts[i].name;
        for (size_t k = first; k < res->nchecks; k++) {
            if (res->checks[k].artifact == NULL &&
                (res->checks[k].artifact = sign__strdup(v->bundles[i].for_artifact)) == NULL) {
                return sign__oom();
            }
        }
    }
    return 0;
}

/* Each artifact against the bundles that can concern it, then the bundles that concern none. */
static int run_match(vrun *v)
{
    int r;

    if ((r = vfy_index_build(&v->ix, v->bundles, v->nb)) != 0) {
        return r;
    }
    for (size_t i = 0; i < v->n; i++) {
        size_t nc;

        if (v->arts[i] == NULL) {
            continue;
        }
        nc = vfy_index_candidates(&v->ix, sign_artifact_sha256(v->arts[i]), sign_artifact_name(v->arts[i]));
        if ((r = vfy_artifact(&v->c, v->arts[i], &v->res->artifacts[i], v->bundles, v->ix.cand, nc)) != 0 ||
            (r = vfy_revocation_artifact(&v->c, v->arts[i], &v->res->artifacts[i], v->bundles, v->ix.cand, nc)) !=
                0) {
            return r;
        }
    }
    for (size_t i = 0; i < v->nb; i++) {
        const vb *b = &v->bundles[i];

        if (b->usable && !b->used &&
            (r = vfy_add_check(&v->c, "bundle", SIGN_CHECK_SKIP, "BUNDLE_UNUSED", 0,
                               (vwhere){b->for_artifact, b->path, b->signer},
                               "bundle %s signs none of the artifacts given", b->path)) != 0) {
            return r;
        }
    }
    return 0;
}

/* The decision; then (issue 15) the versions verified are recorded, only once everything passed. */
static int run_decide(vrun *v)
{
    sign_verify_result *res = v->res;
    int enforce = v->c.policy->mode == SIGN_MODE_ENFORCE, r;

    vfy_mark_bundle_failures(res);
    vfy_decide(res, enforce);
    if (vfy_revocation_record(&v->c) != 0) {
        if ((r = vfy_add_check(&v->c, "version", SIGN_CHECK_FAIL, "STATE_UNUSABLE", SIGN_EIO,
                               (vwhere){NULL, NULL, NULL}, "the verified versions cannot be recorded: %s",
                               sign_error_last())) != 0) {
            return r;
        }
        vfy_decide(res, enforce);
    }
    if ((r = vfy_artifact_reasons(res)) != 0) {
        return r;
    }
    sign__error_clear();
    if (res->code != 0 && res->decisive != SIZE_MAX) {
        sign__error(res->code, "%s", res->checks[res->decisive].message);
    }
    return 0;
}

static void run_free(vrun *v)
{
    if (v->c.share != NULL) {
        vfy_share_free(&v->share);
    }
    vfy_layer_cache_free(&v->lcache);
    vfy_revocation_free(&v->rev);
    vfy_index_free(&v->ix);
    for (size_t i = 0; v->amsg != NULL && i < v->n; i++) {
        free(v->amsg[i]);
    }
    for (size_t i = 0; v->bc != NULL && i < v->nb; i++) {
        sign_verify_result_free(v->bc[i].res);
    }
    for (size_t i = 0; v->bmsg != NULL && i < v->nb; i++) {
        free(v->bmsg[i]);
    }
    free(v->arc);
    free(v->amsg);
    free(v->bc);
    free(v->brc);
    free(v->bmsg);
    for (size_t i = 0; v->bundles != NULL && i < v->nb; i++) {
        sign_bundle_free(v->bundles[i].bundle);
        vfy_entries_release(&v->bundles[i]);
        sign_statement_free(v->bundles[i].st);
        sign_x509_certs_free(v->bundles[i].certs);
        sign_key_free(v->bundles[i].cert_key);
        free(v->bundles[i].owned_path);
    }
    free(v->bundles);
    for (size_t i = 0; v->arts != NULL && i < v->n; i++) {
        sign_artifact_free(v->arts[i]);
    }
    free(v->arts);
    sign_verify_result_free(v->res);
}

/*
 * sign_verify, with names: the artifacts' names as the caller knows them
 * (fd and memory input, whose paths are /proc/self/fd/N), or NULL. Its
 * length is the pipeline's (stages in order; see verify_internal.h).
 */
static int verify_run(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                      const char *const *names, vcapture *cap)
{
    vrun v = {.aopts = SIGN_ARTIFACT_OPTIONS_INIT};
    int r;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_verify: no result pointer");
    }
    *out = NULL;
    if ((r = check_args(policy, opts)) != 0) {
        return r;
    }
    v.opts = opts;
    v.names = names;
    v.n = opts->nartifacts;
    v.c.capture = cap; /* deploy: the signed entries of the artifact (vfy_verify_fd_capture) */
    /* Revocation lists and downgrade protection (issue 15): judged once, before the bundles. */
    if ((r = run_context(&v, policy)) != 0 || (r = vfy_revocation_lists(&v.c, &v.rev)) != 0) {
        goto out;
    }
    run_artifact_options(&v);
    if ((r = run_bundles(&v)) != 0 || (r = run_parallel(&v)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < v.n; i++) {
        if ((r = take_artifact(&v, i)) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < v.nb; i++) {
        if ((r = take_bundle(&v, i)) != 0) {
            goto out;
        }
    }
    if ((r = run_match(&v)) != 0 || (r = run_decide(&v)) != 0) {
        goto out;
    }
    r = v.res->code;
    *out = v.res;
    v.res = NULL; /* transferred */
out:
    run_free(&v);
    return r;
}

int sign_verify(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts)
{
    return verify_run(out, policy, opts, NULL, NULL);
}

/* Verify the regular file open at fd under name (see sign_verify_fd). */
static int verify_regular_fd(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                             int fd, const char *name, vcapture *cap)
{
    sign_verify_options o = *opts;
    char path[64];
    const char *paths[1], *names[1];

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    paths[0] = path;
    names[0] = name;
    o.artifacts = paths;
    o.nartifacts = 1;
    return verify_run(out, policy, &o, names, cap);
}

/* Write n bytes of p to the memory file fd. Returns 0 or SIGN_EIO. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    return sign__write_all(fd, p, n) != 0 ? sign__error(SIGN_EIO, "memory file: %s", strerror(errno)) : 0;
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
        return verify_regular_fd(out, policy, opts, fd, name, NULL);
    }
    /* A pipe or socket: its bytes are read once, into memory, then judged like a file. */
    if ((r = sign__limits(&lim, opts->limits)) != 0 ||
        (r = memory_file(&mfd, NULL, 0, fd, lim.archive_max_total)) != 0) {
        return r;
    }
    r = verify_regular_fd(out, policy, opts, mfd, name, NULL);
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
    r = verify_regular_fd(out, policy, opts, mfd, name, NULL);
    close(mfd);
    return r;
}

int vfy_verify_fd_capture(sign_verify_result **out, const sign_policy *policy, const sign_verify_options *opts,
                          int fd, const char *name, vcapture *cap)
{
    struct stat st;
    int r;

    if ((r = fd_input_check(out, policy, opts, name)) != 0) {
        return r;
    }
    /* A directory: an OCI image layout (deploy's private copy of one). */
    if (fd < 0 || fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        return sign__error(SIGN_EINVAL, "%s: not an open regular file or directory", name);
    }
    return verify_regular_fd(out, policy, opts, fd, name, cap);
}
