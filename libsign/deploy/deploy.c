/*
 * signet deploy (docs/deploy.md): one read of the artifact into a private
 * file, verification of that copy with every entry compared to the signed
 * manifest, extraction of that copy only (extract.c) into a staging
 * directory, then releases/<id>/ and an atomic switch of "current"
 * (release.c). A failure at any step leaves the active release as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"
#include "sign/event.h"
#include "sign/registry.h"
#include "state.h"

struct sign_deploy_result {
    sign_verify_result *verify;
    int code;
    int rollback;
    char *to, *name;
    char old_id[DPL_ID_LEN + 1], old_sha[2 * SIGN_SHA256_LEN + 1];
    char new_id[DPL_ID_LEN + 1], new_sha[2 * SIGN_SHA256_LEN + 1];
};

/* One deploy run: what it holds open, and what it has made so far. */
typedef struct drun {
    const sign_deploy_options *opts;
    const sign_policy *policy;
    sign_deploy_result *res;
    const char *to;
    int dirfd, lockfd, tmpfd;
    char tmpname[32]; /* the private copy's name (a directory, or a file without O_TMPFILE), else "" */
    int isdir;        /* the artifact is an OCI image layout: the private copy is a directory */
    const char *ref;  /* an OCI layout's image by ref name (docker://: the platform), or NULL */
    dremote *remote;  /* docker://: what was fetched, or NULL */
    char staging[32];
    const char *artifact; /* path read */
    const char *const *bundles;
    size_t nbundles;
    char **owned; /* bundle paths made here (rollback, default bundle) */
    size_t nowned;
    unsigned char sha[SIGN_SHA256_LEN];
    vcapture cap;
    sign_limits lim;
    char *state; /* the default state directory, DIR/.signet-state */
} drun;

void sign_deploy_options_init(sign_deploy_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->version = SIGN_DEPLOY_OPTIONS_VERSION;
}

/* A failure recorded as a check of the verdict ("deploy"), so that --json and exit codes are verify's. */
static int run_fail(drun *d, const char *reason, int code, const char *message)
{
    char msg[2048];

    /* message may be sign_error_last()'s buffer, which recording the failure rewrites: copy it first. */
    snprintf(msg, sizeof(msg), "%s", message);
    if (d->res->verify == NULL) {
        return sign__error(code, "%s", msg);
    }
    d->res->code = vfy_result_fail(d->res->verify, "deploy", reason, code, d->res->name, msg);
    return d->res->code;
}

static void hex(char *out, const unsigned char *md)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < SIGN_SHA256_LEN; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * SIGN_SHA256_LEN] = '\0';
}

/* prefix followed by 12 random hex digits. */
static int random_name(char *out, size_t size, const char *prefix)
{
    unsigned char rnd[6];

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        return sign__error(SIGN_EIO, "no random bytes: %s", strerror(errno));
    }
    snprintf(out, size, "%s%02x%02x%02x%02x%02x%02x", prefix, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    return 0;
}

/* The private file beside the releases: O_TMPFILE (nameless), or a named file removed on every exit. */
static int private_file(drun *d)
{
    d->tmpfd = openat(d->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (d->tmpfd >= 0) {
        return 0;
    }
    for (int i = 0; i < 100; i++) {
        int r = random_name(d->tmpname, sizeof(d->tmpname), ".artifact-");

        if (r != 0) {
            return r;
        }
        d->tmpfd = openat(d->dirfd, d->tmpname, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d->tmpfd >= 0 || errno != EEXIST) {
            break;
        }
    }
    if (d->tmpfd < 0) {
        d->tmpname[0] = '\0';
        return sign__error(SIGN_EIO, "%s: cannot create a private copy of the artifact: %s", d->to, strerror(errno));
    }
    return 0;
}

/* Copy n bytes of in to out (both at their offsets): copy_file_range, or read and write. */
static int copy_fd(int in, int out, const char *what)
{
    char buf[1 << 16];

    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);

        if (n == 0) {
            return 0;
        }
        if (n > 0) {
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
            return sign__error(SIGN_EIO, "%s: %s", what, strerror(errno));
        }
        break;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf)), off = 0;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n == 0 ? 0 : sign__error(SIGN_EIO, "%s: %s", what, strerror(errno));
        }
        while (off < n) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                return sign__error(SIGN_EIO, "%s: %s", what, strerror(errno));
            }
            off += w;
        }
    }
}

/*
 * Copy the regular file rel of the directory from into to (same name), never following a symlink; *total
 * counts the bytes against the limit. A name that is not a regular file is left out (the image then lacks
 * it, and is refused for that).
 */
static int copy_layout_file(drun *d, int from, int to, const char *rel, uint64_t *total)
{
    struct stat st;
    int in = openat(from, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), out, r;

    if (in < 0) {
        return errno == ENOENT || errno == ELOOP
                   ? 0
                   : sign__error(SIGN_EIO, "%s/%s: %s", d->artifact, rel, strerror(errno));
    }
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return 0;
    }
    *total += (uint64_t)st.st_size;
    if (*total > d->lim.archive_max_total) {
        close(in);
        return sign__error(SIGN_ELIMIT, "%s: larger than %llu bytes (limits.archive_max_total)", d->artifact,
                           (unsigned long long)d->lim.archive_max_total);
    }
    if ((out = openat(to, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        close(in);
        return sign__error(SIGN_EIO, "%s: cannot copy the artifact: %s", d->to, strerror(errno));
    }
    r = copy_fd(in, out, d->artifact);
    close(in);
    if (close(out) != 0 && r == 0) {
        r = sign__error(SIGN_EIO, "%s: cannot copy the artifact: %s", d->to, strerror(errno));
    }
    return r;
}

/* The blobs/<algorithm>/ directories of an image layout: every regular file in them. */
static int copy_blobs(drun *d, int from, int to, uint64_t *total)
{
    int bfd = openat(from, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;
    DIR *dir;
    struct dirent *de;

    if (bfd < 0 || (dir = fdopendir(bfd)) == NULL) {
        if (bfd >= 0) {
            close(bfd);
        }
        return 0; /* no blobs: the image is refused for what it lacks */
    }
    if (mkdirat(to, "blobs", 0700) != 0) {
        closedir(dir);
        return sign__error(SIGN_EIO, "%s: cannot copy the artifact: %s", d->to, strerror(errno));
    }
    /* cppcheck-suppress readdirCalled */
    while (r == 0 && (de = readdir(dir)) != NULL) {
        char rel[300];

        if (de->d_name[0] == '.' || strlen(de->d_name) > 32) {
            continue;
        }
        snprintf(rel, sizeof(rel), "blobs/%s", de->d_name);
        {
            int afd = openat(from, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), tfd;
            DIR *ad;
            struct dirent *be;

            if (afd < 0 || (ad = fdopendir(afd)) == NULL) {
                if (afd >= 0) {
                    close(afd);
                }
                continue;
            }
            if (mkdirat(to, rel, 0700) != 0 ||
                (tfd = openat(to, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                closedir(ad);
                return sign__error(SIGN_EIO, "%s: cannot copy the artifact: %s", d->to, strerror(errno));
            }
            /* cppcheck-suppress readdirCalled */
            while (r == 0 && (be = readdir(ad)) != NULL) {
                if (be->d_name[0] != '.') {
                    r = copy_layout_file(d, dirfd(ad), tfd, be->d_name, total);
                }
            }
            close(tfd);
            closedir(ad);
        }
    }
    closedir(dir);
    return r;
}

/* An OCI image layout: its index, oci-layout and blobs copied into a private directory beside the releases. */
static int private_dir(drun *d)
{
    int r;

    for (int i = 0; i < 100; i++) {
        if ((r = random_name(d->tmpname, sizeof(d->tmpname), ".artifact-")) != 0) {
            return r;
        }
        if (mkdirat(d->dirfd, d->tmpname, 0700) == 0 || errno != EEXIST) {
            break;
        }
    }
    d->tmpfd = openat(d->dirfd, d->tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->tmpfd < 0) {
        d->tmpname[0] = '\0';
        return sign__error(SIGN_EIO, "%s: cannot create a private copy of the artifact: %s", d->to, strerror(errno));
    }
    d->isdir = 1;
    return 0;
}

static int copy_layout(drun *d, int in)
{
    uint64_t total = 0;
    int r;

    if ((r = private_dir(d)) != 0 || (r = copy_layout_file(d, in, d->tmpfd, "oci-layout", &total)) != 0 ||
        (r = copy_layout_file(d, in, d->tmpfd, "index.json", &total)) != 0 ||
        (r = copy_blobs(d, in, d->tmpfd, &total)) != 0) {
        return r;
    }
    return 0;
}

/* Copy the artifact into the private file while hashing it: the only read of the artifact. */
static int copy_artifact(drun *d)
{
    sign_digest_ctx *md = NULL;
    unsigned char *buf = NULL;
    size_t mdlen;
    int in, r = 0;

    uint64_t total = 0;

    /* O_NONBLOCK only to open a FIFO without a writer; then reads block as usual. */
    if ((in = open(d->artifact, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        return sign__error(errno == ENOENT ? SIGN_ENOTFOUND : SIGN_EIO, "%s: %s", d->artifact, strerror(errno));
    }
    if (fcntl(in, F_SETFL, fcntl(in, F_GETFL) & ~O_NONBLOCK) != 0) {
        close(in);
        return sign__error(SIGN_EIO, "%s: %s", d->artifact, strerror(errno));
    }
    {
        struct stat st;

        if (fstat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
            r = copy_layout(d, in); /* an OCI image layout: its digest is its manifest's, computed by the scan */
            close(in);
            return r;
        }
    }
    if ((r = private_file(d)) != 0 || (r = sign_digest_new(&md, SIGN_DIGEST_SHA256)) != 0) {
        goto out;
    }
    if ((buf = malloc(1u << 20)) == NULL) {
        r = sign__oom();
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, 1u << 20);
        size_t off = 0;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = sign__error(SIGN_EIO, "%s: %s", d->artifact, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        total += (uint64_t)n;
        if (total > d->lim.archive_max_total) {
            r = sign__error(SIGN_ELIMIT, "%s: larger than %llu bytes (limits.archive_max_total)", d->artifact,
                            (unsigned long long)d->lim.archive_max_total);
            goto out;
        }
        if ((r = sign_digest_update(md, buf, (size_t)n)) != 0) {
            goto out;
        }
        while (off < (size_t)n) {
            ssize_t w = write(d->tmpfd, buf + off, (size_t)n - off);

            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                r = sign__error(SIGN_EIO, "%s: cannot copy the artifact: %s", d->to, strerror(errno));
                goto out;
            }
            off += (size_t)w;
        }
    }
    r = sign_digest_final(d->sha, sizeof(d->sha), &mdlen, md);
out:
    close(in);
    free(buf);
    sign_digest_free(md);
    return r;
}

static int add_owned(drun *d, char *p);

/* docker://: the image of the tag resolved once, downloaded into the private layout, with its bundles. */
static int fetch_remote(drun *d)
{
    int r;

    if ((d->remote = calloc(1, sizeof(*d->remote))) == NULL) {
        return sign__oom();
    }
    if ((r = private_dir(d)) != 0) {
        return r;
    }
    snprintf(d->remote->tmpname, sizeof(d->remote->tmpname), "%s", d->tmpname);
    r = dpl_fetch_image(d->remote, d->dirfd, d->tmpfd, d->artifact, d->ref,
                        (d->opts->flags & SIGN_DEPLOY_REGISTRY_INSECURE) != 0, d->opts->nbundles == 0, &d->lim);
    if (r != 0) {
        return r;
    }
    d->ref = NULL; /* the private layout holds the one image fetched */
    if (d->opts->nbundles == 0) {
        size_t first = d->nowned;

        for (size_t k = 0; k < d->remote->nbundles; k++) {
            if ((r = add_owned(d, sign__state_path(d->to, d->remote->bundles[k]))) != 0) {
                return r;
            }
        }
        d->bundles = (const char *const *)d->owned + first;
        d->nbundles = d->remote->nbundles;
    }
    return sign_artifact_name_normalise(&d->res->name, d->opts->name != NULL ? d->opts->name : d->remote->name);
}

/* Verify the private copy, every entry against the signed manifest; the signed entries land in d->cap. */
static int verify_copy(drun *d)
{
    sign_verify_options vo = SIGN_VERIFY_OPTIONS_INIT;
    const char *got;
    char want[2 * SIGN_SHA256_LEN + 1];
    int r;

    vo.bundles = d->bundles;
    vo.nbundles = d->nbundles;
    vo.flags =
        SIGN_VERIFY_ENTRIES | ((d->opts->flags & SIGN_DEPLOY_ALLOW_DOWNGRADE) ? SIGN_VERIFY_ALLOW_DOWNGRADE : 0);
    vo.limits = d->opts->limits;
    vo.ref = d->ref;
    /* Versions deployed before: downgrade protection of the deploy directory itself unless told otherwise. */
    if (d->opts->state_dir == NULL && d->state == NULL &&
        (d->state = sign__state_path(d->to, ".signet-state")) == NULL) {
        return sign__oom();
    }
    vo.state_dir = d->opts->state_dir != NULL ? d->opts->state_dir : d->state;
    r = vfy_verify_fd_capture(&d->res->verify, d->policy, &vo, d->tmpfd, d->res->name, &d->cap);
    if (d->res->verify == NULL) {
        return r != 0 ? r : sign__error(SIGN_ERROR, "%s: verification did not run", d->res->name);
    }
    d->res->code = r;
    if (r != 0) {
        return r;
    }
    if (sign_verify_result_verdict(d->res->verify) != SIGN_VERDICT_VERIFIED) {
        return run_fail(d, "DEPLOY_NOT_VERIFIED", SIGN_EVERIFY,
                        "the artifact is not verified (the policy's warn or audit mode lets it through verify); "
                        "deploy installs verified artifacts only: nothing is deployed");
    }
    hex(want, d->sha);
    got = sign_verify_result_artifact_sha256(d->res->verify, 0);
    if (got != NULL && d->cap.image) {
        /* An image: its subject is its manifest's digest; extraction reads the copy's manifest again and
           checks it against this one, and every layer blob against the manifest. */
        snprintf(want, sizeof(want), "%s", got);
    } else if (got != NULL && (d->isdir || (d->cap.set && d->cap.n == 0 && strcmp(got, want) != 0))) {
        return run_fail(d, "ENTRIES_NOT_RECORDED", SIGN_EPOLICY,
                        "the statement records no layers and entries of this image, so nothing it holds can be "
                        "checked as it is written; re-sign it with signet sign: nothing is deployed");
    }
    if (got == NULL || strcmp(got, want) != 0) {
        return run_fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, "the private copy changed while it was verified");
    }
    if (!d->cap.set && !d->cap.image) {
        return run_fail(d, "DEPLOY_KIND_UNSUPPORTED", SIGN_EUNSUPPORTED,
                        "deploy extracts zips, tar layers (plain, gzip, zstd), OCI image layouts and docker save "
                        "archives; this artifact is none of them: nothing is deployed");
    }
    memcpy(d->res->new_sha, want, sizeof(want));
    memcpy(d->res->new_id, want, DPL_ID_LEN);
    d->res->new_id[DPL_ID_LEN] = '\0';
    return 0;
}

/* The extraction's failure why (r) as the deploy's verdict. */
static int stage_fail(drun *d, const dfail *why, int r)
{
    char msg[1200];

    snprintf(msg, sizeof(msg), "%s (deploying into %s)", why->message, d->to);
    return run_fail(d, why->reason != NULL ? why->reason : "DEPLOY_WRITE_FAILED", why->code != 0 ? why->code : r,
                    msg);
}

/* Extract the copy into a fresh .staging-XXXXXX beside the releases; a failure is told in why, not recorded. */
static int stage_walk(drun *d, dfail *why)
{
    dsrc src = {d->tmpfd, d->res->name, d->ref, d->res->new_sha};
    int sfd, r;

    memset(why, 0, sizeof(*why));
    if (random_name(d->staging, sizeof(d->staging), ".staging-") != 0) {
        why->reason = "DEPLOY_WRITE_FAILED";
        why->code = SIGN_EIO;
        snprintf(why->message, sizeof(why->message), "%s", sign_error_last());
        return SIGN_EIO;
    }
    if (mkdirat(d->dirfd, d->staging, 0755) != 0 ||
        (sfd = openat(d->dirfd, d->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        snprintf(why->message, sizeof(why->message), "%s: cannot create the staging directory: %s", d->to,
                 strerror(errno));
        d->staging[0] = '\0';
        why->reason = "DEPLOY_WRITE_FAILED";
        why->code = SIGN_EIO;
        return SIGN_EIO;
    }
    r = dpl_extract(&src, sfd, &d->cap, d->opts->flags, &d->lim, why);
    if (r == 0 && syncfs(sfd) != 0) {
        r = SIGN_EIO;
        why->reason = "DEPLOY_WRITE_FAILED";
        why->code = SIGN_EIO;
        snprintf(why->message, sizeof(why->message), "%s: %s", d->to, strerror(errno));
    }
    close(sfd);
    if (r == 0) {
        dpl_test_crash("extracted");
    }
    return r;
}

static int stage(drun *d)
{
    dfail why;
    int r = stage_walk(d, &why);

    return r != 0 ? stage_fail(d, &why, r) : 0;
}

/* Forget a verification, so that the copy is verified again. */
static void verify_reset(drun *d)
{
    sign_verify_result_free(d->res->verify);
    d->res->verify = NULL;
    d->res->code = 0;
    vfy_capture_free(&d->cap);
}

/* 1 when the private copy is a zip: verified without its entries read, then checked as one_walk says. */
static int copy_is_zip(const drun *d)
{
    struct stat st;
    int is_zip = 0;

    if (d->isdir || fstat(d->tmpfd, &st) != 0 || !S_ISREG(st.st_mode) ||
        sign__zip_detect(&is_zip, d->tmpfd, (uint64_t)st.st_size, d->res->name) != 0) {
        sign__error_clear();
        return 0; /* anything unusual: the two walks of verify_copy and stage */
    }
    return is_zip;
}

/*
 * An OCI image layout, or a zip, in one walk. The verification reads a layout's index, manifest (the signed
 * subject) and config, and takes each layer as the manifest and the config describe it (its blob present, not
 * read); a zip it hashes whole (the subject) without walking its entries. The signature, the policy, the
 * statement's layer records and their signed entries are judged before anything is written. The one extraction
 * walk then checks every entry against its signed record as it is written into the staging directory, every
 * blob against its digest and diffID, and finds the archive's findings (dpl_extract). Three cases are judged
 * as before, by verifying again with the entries read, so that the reason is the one the two walks gave:
 * a failure of either step (verify's reason comes first, as when verify walked first), a walk that found
 * a dangerous finding (only the signer's list of allowed findings, read by verify, judges those), and a zip
 * whose signers recorded different entries (each record was compared with the archive). Returns 0, a failure
 * recorded, or 1: the verification failed or is not for one walk, deploy as before.
 */
static int one_walk(drun *d)
{
    dfail why;
    int r, v;

    d->cap.layers_unread = d->isdir;
    d->cap.entries_unread = !d->isdir;
    if (verify_copy(d) != 0 || d->cap.differ || (!d->isdir && (d->cap.image || !d->cap.set))) {
        verify_reset(d);
        return 1;
    }
    dpl_test_crash("verified");
    r = stage_walk(d, &why);
    if (r == 0 && !why.findings) {
        return 0;
    }
    verify_reset(d);
    if ((v = verify_copy(d)) != 0) {
        return v;
    }
    return r != 0 ? stage_fail(d, &why, r) : 0;
}

static int keep_inputs(drun *d, int rfd)
{
    char name[64], tmp[64], proc[64];
    int r;

    if (d->res->rollback) {
        return 0; /* they are the inputs of this run already */
    }
    snprintf(name, sizeof(name), "%s.artifact", d->res->new_id);
    if ((r = random_name(tmp, sizeof(tmp), ".artifact-")) != 0) {
        return r;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->tmpfd);
    if (d->isdir) {
        /* The layout's private copy itself becomes the kept one (replacing a kept copy of the same image). */
        if (renameat(d->dirfd, d->tmpname, rfd, name) == 0) {
            d->tmpname[0] = '\0';
        } else if ((errno != EEXIST && errno != ENOTEMPTY) ||
                   renameat2(d->dirfd, d->tmpname, rfd, name, RENAME_EXCHANGE) != 0) {
            return sign__error(SIGN_EIO, "%s/releases/%s: %s", d->to, name, strerror(errno));
        } /* else the older copy is at the private name now, removed with it */
    } else if (d->tmpname[0] != '\0' ? linkat(d->dirfd, d->tmpname, rfd, tmp, 0) != 0
                                     : linkat(AT_FDCWD, proc, rfd, tmp, AT_SYMLINK_FOLLOW) != 0) {
        return sign__error(SIGN_EIO, "%s/releases/%s: %s", d->to, name, strerror(errno));
    }
    if (!d->isdir && renameat(rfd, tmp, rfd, name) != 0) {
        (void)unlinkat(rfd, tmp, 0);
        return sign__error(SIGN_EIO, "%s/releases/%s: %s", d->to, name, strerror(errno));
    }
    for (size_t k = 0; k < d->nbundles; k++) {
        unsigned char *data = NULL;
        size_t len = 0;
        char *path;

        snprintf(name, sizeof(name), "releases/%s.bundle.%zu", d->res->new_id, k);
        if ((path = sign__state_path(d->to, name)) == NULL) {
            return sign__oom();
        }
        r = sign__read_file(&data, &len, d->bundles[k], d->lim.json_max_bytes);
        if (r == 0) {
            r = sign__write_file_atomic(path, data, len, 0644);
        }
        free(data);
        free(path);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/* Move the staging tree to releases/<id> (replacing an older extraction of the same artifact). */
static int place(drun *d, int rfd)
{
    if (renameat(d->dirfd, d->staging, rfd, d->res->new_id) == 0) {
        d->staging[0] = '\0';
        return 0;
    }
    if (errno != EEXIST && errno != ENOTEMPTY) {
        return sign__error(SIGN_EIO, "%s/releases/%s: %s", d->to, d->res->new_id, strerror(errno));
    }
    /* The same artifact again (a redeploy or a rollback): the fresh tree replaces the old one in one step. */
    if (renameat2(d->dirfd, d->staging, rfd, d->res->new_id, RENAME_EXCHANGE) != 0) {
        return sign__error(SIGN_EIO, "%s/releases/%s: %s", d->to, d->res->new_id, strerror(errno));
    }
    return 0; /* the old tree is now at the staging name, removed with it */
}

/* "current" -> releases/<id>, switched with rename(2). */
static int activate(drun *d)
{
    char tmp[32], target[64];
    int r;

    snprintf(target, sizeof(target), "releases/%s", d->res->new_id);
    if ((r = random_name(tmp, sizeof(tmp), ".current-")) != 0) {
        return r;
    }
    if (symlinkat(target, d->dirfd, tmp) != 0) {
        return sign__error(SIGN_EIO, "%s/current: %s", d->to, strerror(errno));
    }
    dpl_test_crash("linked");
    if (renameat(d->dirfd, tmp, d->dirfd, "current") != 0) {
        (void)unlinkat(d->dirfd, tmp, 0);
        return sign__error(SIGN_EIO, "%s/current: %s", d->to, strerror(errno));
    }
    if (fsync(d->dirfd) != 0) {
        return sign__error(SIGN_EIO, "%s: %s", d->to, strerror(errno));
    }
    dpl_test_crash("switched");
    return 0;
}

static int release(drun *d)
{
    drel rel;
    int rfd, r;

    if ((mkdirat(d->dirfd, "releases", 0755) != 0 && errno != EEXIST) ||
        (rfd = openat(d->dirfd, "releases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        (void)sign__error(SIGN_EIO, "%s/releases: %s", d->to, strerror(errno));
        return run_fail(d, "DEPLOY_WRITE_FAILED", SIGN_EIO, sign_error_last());
    }
    r = keep_inputs(d, rfd);
    if (r == 0 && (r = place(d, rfd)) == 0 && fsync(rfd) != 0) {
        r = sign__error(SIGN_EIO, "%s/releases: %s", d->to, strerror(errno));
    }
    close(rfd);
    if (r == 0) {
        dpl_test_crash("staged");
        r = activate(d);
    }
    if (r != 0) {
        return run_fail(d, "DEPLOY_WRITE_FAILED", r == SIGN_ENOMEM ? r : SIGN_EIO, sign_error_last());
    }
    memset(&rel, 0, sizeof(rel));
    memcpy(rel.id, d->res->new_id, sizeof(rel.id));
    memcpy(rel.sha256, d->res->new_sha, sizeof(rel.sha256));
    rel.name = d->res->name;
    rel.nbundles = d->nbundles;
    /* The release is active: a history or pruning failure is reported, it does not undo the switch. */
    if ((r = dpl_history_add(d->to, &rel)) != 0 ||
        (r = dpl_prune(d->dirfd, d->to, d->res->new_id, d->opts->keep > 0 ? d->opts->keep : 3)) != 0) {
        return run_fail(d, "DEPLOY_STATE_UNUSABLE", r == SIGN_ENOMEM ? r : SIGN_EIO, sign_error_last());
    }
    return 0;
}

/* Open (creating) the deploy directory, take its lock, and clear what a killed deploy left. */
static int open_dir(drun *d)
{
    if (mkdir(d->to, 0755) != 0 && errno != EEXIST) {
        return sign__error(SIGN_EIO, "%s: cannot create the deploy directory: %s", d->to, strerror(errno));
    }
    if ((d->dirfd = open(d->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return sign__error(SIGN_EIO, "%s: %s", d->to, strerror(errno));
    }
    d->lockfd = openat(d->dirfd, ".signet-deploy.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d->lockfd < 0 || flock(d->lockfd, LOCK_EX) != 0) {
        return sign__error(SIGN_EIO, "%s: cannot lock the deploy directory: %s", d->to, strerror(errno));
    }
    return dpl_cleanup(d->dirfd, d->to);
}

static int add_owned(drun *d, char *p)
{
    char **n;

    if (p == NULL) {
        return sign__oom();
    }
    if ((n = realloc(d->owned, (d->nowned + 1) * sizeof(*n))) == NULL) {
        free(p);
        return sign__oom();
    }
    d->owned = n;
    d->owned[d->nowned++] = p;
    return 0;
}

/* The release active now, and for a rollback the one before it: its kept artifact, bundles and name. */
static int inputs(drun *d)
{
    drel *h = NULL;
    size_t nh = 0, pick = SIZE_MAX;
    char name[64];
    int r;

    dpl_current(d->dirfd, d->res->old_id);
    if ((r = dpl_history_read(&h, &nh, d->to)) != 0) {
        return r;
    }
    for (size_t i = nh; i-- > 0;) {
        snprintf(name, sizeof(name), "releases/%s.artifact", h[i].id);
        if (d->res->old_sha[0] == '\0' && strcmp(h[i].id, d->res->old_id) == 0) {
            memcpy(d->res->old_sha, h[i].sha256, sizeof(d->res->old_sha));
        }
        if (pick == SIZE_MAX && strcmp(h[i].id, d->res->old_id) != 0 &&
            faccessat(d->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            pick = i;
        }
    }
    if (!d->res->rollback) {
        dpl_history_free(h, nh);
        return 0;
    }
    if (pick == SIZE_MAX) {
        dpl_history_free(h, nh);
        return sign__error(SIGN_ENOTFOUND, "%s: no previous release to roll back to", d->to);
    }
    free(d->res->name);
    d->res->name = sign__strdup(h[pick].name);
    snprintf(name, sizeof(name), "releases/%s.artifact", h[pick].id);
    r = d->res->name == NULL ? sign__oom() : add_owned(d, sign__state_path(d->to, name));
    for (size_t k = 0; r == 0 && k < h[pick].nbundles; k++) {
        snprintf(name, sizeof(name), "releases/%s.bundle.%zu", h[pick].id, k);
        r = add_owned(d, sign__state_path(d->to, name));
    }
    if (r == 0) {
        d->artifact = d->owned[0];
        d->bundles = (const char *const *)d->owned + 1;
        d->nbundles = h[pick].nbundles;
    }
    dpl_history_free(h, nh);
    return r;
}

/* The bundles to verify with: those given, or "<artifact>.sigstore.json". */
static int default_bundles(drun *d)
{
    size_t n;
    char *p;

    if (d->res->rollback) {
        return 0;
    }
    if (d->opts->nbundles > 0) {
        d->bundles = d->opts->bundles;
        d->nbundles = d->opts->nbundles;
        return 0;
    }
    n = strlen(d->artifact) + sizeof(".sigstore.json");
    if ((p = malloc(n)) == NULL) {
        return sign__oom();
    }
    snprintf(p, n, "%s.sigstore.json", d->artifact);
    if (add_owned(d, p) != 0) {
        return sign__oom();
    }
    d->bundles = (const char *const *)d->owned + d->nowned - 1;
    d->nbundles = 1;
    return 0;
}

static int check_options(const sign_policy *policy, const sign_deploy_options *opts)
{
    int r;

    if (policy == NULL || opts == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy: no policy or options");
    }
    if ((r = sign__check_version(opts->version, SIGN_DEPLOY_OPTIONS_VERSION, "sign_deploy_options")) != 0) {
        return r;
    }
    if (opts->to == NULL || opts->to[0] == '\0') {
        return sign__error(SIGN_EINVAL, "sign_deploy: no deploy directory (--to)");
    }
    if ((opts->flags & SIGN_DEPLOY_ROLLBACK) ? opts->artifact != NULL : opts->artifact == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy: give an artifact, or roll back without one");
    }
    if (opts->nbundles > 0 && opts->bundles == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy: nbundles without bundles");
    }
    return 0;
}

static void run_free(drun *d)
{
    if (d->staging[0] != '\0') {
        (void)dpl_remove_tree(d->dirfd, d->staging);
    }
    if (d->tmpname[0] != '\0') {
        (void)dpl_remove_tree(d->dirfd, d->tmpname);
    }
    for (size_t k = 0; d->remote != NULL && k < d->remote->nbundles; k++) {
        (void)unlinkat(d->dirfd, d->remote->bundles[k], 0);
    }
    free(d->remote);
    if (d->tmpfd >= 0) {
        close(d->tmpfd);
    }
    if (d->lockfd >= 0) {
        close(d->lockfd);
    }
    if (d->dirfd >= 0) {
        close(d->dirfd);
    }
    for (size_t i = 0; i < d->nowned; i++) {
        free(d->owned[i]);
    }
    free(d->owned);
    free(d->state);
    vfy_capture_free(&d->cap);
}

static int deploy_copy(drun *d);

static int run(drun *d)
{
    int r;

    if ((r = open_dir(d)) != 0 || (r = inputs(d)) != 0) {
        return r;
    }
    if (!d->res->rollback && sign_registry_is_reference(d->artifact)) {
        if ((r = fetch_remote(d)) != 0) {
            return r;
        }
        return deploy_copy(d);
    }
    if ((r = default_bundles(d)) != 0) {
        return r;
    }
    if (d->res->name == NULL &&
        (r = sign_artifact_name_normalise(
             &d->res->name, d->opts->name != NULL ? d->opts->name : sign__path_base(d->artifact, 0))) != 0) {
        return r;
    }
    if ((r = copy_artifact(d)) != 0) {
        return r;
    }
    return deploy_copy(d);
}

/* The private copy made: verify it, extract it, switch to it. */
static int deploy_copy(drun *d)
{
    int r;

    dpl_test_crash("copied");
    dpl_test_pause();
    if ((d->isdir || copy_is_zip(d)) && (r = one_walk(d)) != 1) {
        return r != 0 ? r : release(d);
    }
    if ((r = verify_copy(d)) != 0) {
        return r;
    }
    dpl_test_crash("verified");
    if ((r = stage(d)) != 0) {
        return r;
    }
    return release(d);
}

int sign_deploy(sign_deploy_result **out, const sign_policy *policy, const sign_deploy_options *opts)
{
    drun d;
    int r;

    if (out == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy: no result pointer");
    }
    *out = NULL;
    if ((r = check_options(policy, opts)) != 0) {
        return r;
    }
    memset(&d, 0, sizeof(d));
    d.dirfd = d.lockfd = d.tmpfd = -1;
    d.opts = opts;
    d.policy = policy;
    d.to = opts->to;
    d.artifact = opts->artifact;
    d.ref = opts->version >= 2 ? opts->ref : NULL;
    if ((r = sign__limits(&d.lim, opts->limits)) != 0) {
        return r;
    }
    if ((d.res = calloc(1, sizeof(*d.res))) == NULL || (d.res->to = sign__strdup(opts->to)) == NULL) {
        free(d.res);
        return sign__oom();
    }
    d.res->rollback = (opts->flags & SIGN_DEPLOY_ROLLBACK) != 0;
    r = run(&d);
    if (r != 0) {
        d.res->new_id[0] = d.res->new_sha[0] = '\0';
        if (d.res->code == 0) {
            d.res->code = r;
        }
    }
    run_free(&d);
    if (d.res->verify == NULL && r != 0) {
        sign_deploy_result_free(d.res);
        return r; /* nothing was judged: the error says why */
    }
    *out = d.res;
    return r;
}

/* ---- the result ---------------------------------------------------------------- */

void sign_deploy_result_free(sign_deploy_result *r)
{
    if (r == NULL) {
        return;
    }
    sign_verify_result_free(r->verify);
    free(r->to);
    free(r->name);
    free(r);
}

const sign_verify_result *sign_deploy_result_verify(const sign_deploy_result *r)
{
    return r != NULL ? r->verify : NULL;
}

int sign_deploy_result_code(const sign_deploy_result *r)
{
    return r != NULL ? r->code : SIGN_EINVAL;
}

const char *sign_deploy_result_release(const sign_deploy_result *r, int new_release)
{
    const char *id = r == NULL ? "" : new_release ? r->new_id : r->old_id;

    return id[0] != '\0' ? id : NULL;
}

const char *sign_deploy_result_sha256(const sign_deploy_result *r, int new_release)
{
    const char *h = r == NULL ? "" : new_release ? r->new_sha : r->old_sha;

    return h[0] != '\0' ? h : NULL;
}

static json_t *release_json(const char *id, const char *sha)
{
    if (id[0] == '\0') {
        return json_null();
    }
    return json_pack("{s:s, s:o}", "release", id, "sha256", sha[0] != '\0' ? json_string(sha) : json_null());
}

/* The "deploy" member: where, whether a rollback, the release active before and after. */
static json_t *deploy_json(const sign_deploy_result *r)
{
    return json_pack("{s:s, s:s?, s:b, s:b, s:o, s:o}", "to", r->to, "artifact", r->name, "rollback", r->rollback,
                     "deployed", r->code == 0, "old", release_json(r->old_id, r->old_sha), "new",
                     r->code == 0 ? release_json(r->new_id, r->new_sha) : json_null());
}

int sign_deploy_result_json(char **out, const sign_deploy_result *r)
{
    char *vj = NULL;
    json_t *root = NULL, *dj;
    size_t len;
    int rc;

    *out = NULL;
    if (r == NULL || r->verify == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy_result_json: no result");
    }
    if ((rc = sign_verify_result_json(&vj, r->verify)) != 0 ||
        (rc = sign__json_parse(&root, vj, strlen(vj), NULL, "verdict")) != 0) {
        free(vj);
        return rc;
    }
    free(vj);
    if ((dj = deploy_json(r)) == NULL || json_object_set_new(root, "deploy", dj) != 0) {
        json_decref(root);
        return sign__oom();
    }
    rc = sign__json_dump(out, &len, root, 0);
    json_decref(root);
    return rc;
}

int sign_deploy_result_event(char **out, const sign_deploy_result *r, const sign_policy *policy,
                             const char *policy_path, int64_t time)
{
    json_t *root, *verify = NULL;
    char *ve = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if (r == NULL) {
        return sign__error(SIGN_EINVAL, "sign_deploy_result_event: no result");
    }
    if (r->verify != NULL && ((rc = sign_event_verify(&ve, r->verify, policy, policy_path, time)) != 0 ||
                              (rc = sign__json_parse(&verify, ve, strlen(ve), NULL, "event")) != 0)) {
        free(ve);
        return rc;
    }
    free(ve);
    root = json_pack("{s:s, s:i, s:O?, s:O?, s:s, s:i, s:o, s:o}", "event", "signet.deploy", "v", SIGN_EVENT_VERSION,
                     "time", json_object_get(verify, "time"), "tool", json_object_get(verify, "tool"), "decision",
                     r->code == 0 ? "deployed" : "refused", "code", r->code, "deploy", deploy_json(r), "verify",
                     verify != NULL ? verify : json_null());
    if (root == NULL) {
        return sign__oom();
    }
    rc = sign__json_dump(out, &len, root, 0);
    json_decref(root);
    return rc;
}
