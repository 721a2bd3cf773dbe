/*
 * The deploy directory: releases/<id>/ (one extracted tree per artifact),
 * releases/<id>.artifact and .bundle.<k> (what rollback re-verifies), the
 * "current" symlink, the history (.signet-deploy.json, util/state) and the
 * leftovers of a killed deploy. Nothing here follows a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"
#include "state.h"

/* Depth-first removal of the contents of the directory open on fd (closed here). Depth bounded by DPL_MAX_DEPTH
   (one open directory per level). */
#define DPL_MAX_DEPTH 256
static int remove_contents(int fd, int depth) /* NOLINT(misc-no-recursion) */
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int r = 0;

    if (d == NULL) {
        close(fd);
        return sign__error(SIGN_EIO, "cannot read a directory to remove: %s", strerror(errno));
    }
    /* One DIR per call, never shared between threads: readdir is safe here (readdir_r is deprecated). */
    /* cppcheck-suppress readdirCalled */
    while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (depth > DPL_MAX_DEPTH) {
            r = sign__error(SIGN_ELIMIT, "directory tree too deep to remove");
            break;
        }
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
            continue;
        }
        if (errno == EISDIR || errno == EPERM) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub < 0) {
                /* A directory without search permission (mode 0): allow ourselves in, it is ours. */
                if (fchmodat(dirfd(d), de->d_name, 0700, 0) != 0 ||
                    (sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                    r = sign__error(SIGN_EIO, "cannot remove %s: %s", de->d_name, strerror(errno));
                    break;
                }
            }
            (void)fchmod(sub, 0700);
            if ((r = remove_contents(sub, depth + 1)) == 0 && /* NOLINT(misc-no-recursion) */
                unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0) {
                r = sign__error(SIGN_EIO, "cannot remove %s: %s", de->d_name, strerror(errno));
            }
        } else if (errno != ENOENT) {
            r = sign__error(SIGN_EIO, "cannot remove %s: %s", de->d_name, strerror(errno));
        }
    }
    closedir(d);
    return r;
}

int dpl_remove_tree(int dirfd, const char *name)
{
    int fd, r;

    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) {
        return 0;
    }
    if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        if (fchmodat(dirfd, name, 0700, 0) != 0) {
            return sign__error(SIGN_EIO, "cannot remove %s: %s", name, strerror(errno));
        }
        if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            return sign__error(SIGN_EIO, "cannot remove %s: %s", name, strerror(errno));
        }
    }
    (void)fchmod(fd, 0700);
    if ((r = remove_contents(fd, 0)) != 0) {
        return r;
    }
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        return sign__error(SIGN_EIO, "cannot remove %s: %s", name, strerror(errno));
    }
    return 0;
}

/* Temporary names left in dir (deploy's own prefixes only). */
static int cleanup_in(int dirfd, const char *to)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return sign__error(SIGN_EIO, "%s: %s", to, strerror(errno));
    }
    /* cppcheck-suppress readdirCalled */
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".staging-", 9) == 0 || strncmp(de->d_name, ".current-", 9) == 0 ||
            strncmp(de->d_name, ".artifact-", 10) == 0) {
            if ((r = dpl_remove_tree(dirfd, de->d_name)) != 0) {
                sign__error_context(r, "%s", to);
            }
        }
    }
    closedir(d);
    return r;
}

int dpl_cleanup(int dirfd, const char *to)
{
    int rfd, r = cleanup_in(dirfd, to);

    /* releases/.artifact-XXXXXX: a kept copy being linked in when the deploy was killed. */
    if (r == 0 && (rfd = openat(dirfd, "releases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        r = cleanup_in(rfd, to);
        close(rfd);
    }
    return r;
}

void dpl_current(int dirfd, char id[DPL_ID_LEN + 1])
{
    char buf[64];
    ssize_t n = readlinkat(dirfd, "current", buf, sizeof(buf) - 1);

    id[0] = '\0';
    if (n == (ssize_t)(9 + DPL_ID_LEN) && memcmp(buf, "releases/", 9) == 0) {
        memcpy(id, buf + 9, DPL_ID_LEN);
        id[DPL_ID_LEN] = '\0';
    }
}

void dpl_history_free(drel *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i].name);
    }
    free(v);
}

typedef struct hist {
    drel *v;
    size_t n;
    const drel *add; /* to append, or NULL: read only */
} hist;

static int hex_ok(const char *s, size_t len)
{
    if (s == NULL || strlen(s) != len) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static int hist_load(hist *h, json_t *arr)
{
    size_t i;
    json_t *it;

    if ((h->v = calloc(json_array_size(arr) + 1, sizeof(*h->v))) == NULL) {
        return sign__oom();
    }
    json_array_foreach(arr, i, it)
    {
        const char *sha = json_string_value(json_object_get(it, "sha256"));
        const char *name = json_string_value(json_object_get(it, "name"));
        json_int_t nb = json_integer_value(json_object_get(it, "bundles"));

        if (!hex_ok(sha, 2 * SIGN_SHA256_LEN) || name == NULL || nb < 0 || nb > 64) {
            return sign__error(SIGN_EPARSE, "deploy history %s: entry %zu is malformed", DPL_HISTORY, i);
        }
        memcpy(h->v[h->n].sha256, sha, 2 * SIGN_SHA256_LEN + 1);
        memcpy(h->v[h->n].id, sha, DPL_ID_LEN);
        h->v[h->n].id[DPL_ID_LEN] = '\0';
        h->v[h->n].nbundles = (size_t)nb;
        if ((h->v[h->n].name = sign__strdup(name)) == NULL) {
            return sign__oom();
        }
        h->n++;
    }
    return 0;
}

static int hist_fn(json_t *root, int *changed, void *userdata)
{
    hist *h = userdata;
    json_t *arr = json_object_get(root, "history"), *e;

    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(root, "history", arr) != 0) {
            return sign__oom();
        }
    }
    if (!json_is_array(arr)) {
        return sign__error(SIGN_EPARSE, "deploy history %s: \"history\" is not an array", DPL_HISTORY);
    }
    if (h->add == NULL) {
        return hist_load(h, arr);
    }
    /* The newest 64 switches are enough for any --keep. */
    while (json_array_size(arr) >= 64) {
        json_array_remove(arr, 0);
    }
    e = json_pack("{s:s, s:s, s:I, s:I}", "sha256", h->add->sha256, "name", h->add->name, "bundles",
                  (json_int_t)h->add->nbundles, "time", (json_int_t)sign__now());
    if (e == NULL || json_array_append_new(arr, e) != 0) {
        return sign__oom();
    }
    *changed = 1;
    return 0;
}

int dpl_history_read(drel **out, size_t *n, const char *to)
{
    hist h = {NULL, 0, NULL};
    int r = sign__state_update(to, DPL_HISTORY, hist_fn, &h, NULL);

    if (r != 0) {
        dpl_history_free(h.v, h.n);
        return r;
    }
    *out = h.v;
    *n = h.n;
    return 0;
}

int dpl_history_add(const char *to, const drel *rel)
{
    hist h = {NULL, 0, rel};

    return sign__state_update(to, DPL_HISTORY, hist_fn, &h, NULL);
}

/* Is the releases/ entry name (an id, or "<id>.artifact", "<id>.bundle.<k>") one of keep[]? */
static int kept(const char *name, char (*keepv)[DPL_ID_LEN + 1], size_t nkeep)
{
    for (size_t i = 0; i < nkeep; i++) {
        if (strncmp(name, keepv[i], DPL_ID_LEN) == 0 && (name[DPL_ID_LEN] == '\0' || name[DPL_ID_LEN] == '.')) {
            return 1;
        }
    }
    return 0;
}

static int prune_dir(int rfd, char (*keepv)[DPL_ID_LEN + 1], size_t nkeep, const char *to)
{
    DIR *d = fdopendir(rfd);
    struct dirent *de;
    int r = 0;

    if (d == NULL) {
        close(rfd);
        return sign__error(SIGN_EIO, "%s/releases: %s", to, strerror(errno));
    }
    /* cppcheck-suppress readdirCalled */
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' && !kept(de->d_name, keepv, nkeep)) {
            if ((r = dpl_remove_tree(dirfd(d), de->d_name)) != 0) {
                sign__error_context(r, "%s/releases", to);
            }
        }
    }
    closedir(d);
    return r;
}

int dpl_prune(int dirfd, const char *to, const char *active, unsigned int keep)
{
    char(*keepv)[DPL_ID_LEN + 1] = NULL;
    drel *h = NULL;
    size_t nh = 0, nkeep = 0;
    int rfd, r;

    if ((r = dpl_history_read(&h, &nh, to)) != 0) {
        return r;
    }
    if ((keepv = calloc((size_t)keep + 1, sizeof(*keepv))) == NULL) {
        dpl_history_free(h, nh);
        return sign__oom();
    }
    memcpy(keepv[nkeep++], active, DPL_ID_LEN + 1);
    for (size_t i = nh; i-- > 0 && nkeep < keep;) {
        if (!kept(h[i].id, keepv, nkeep)) {
            memcpy(keepv[nkeep++], h[i].id, DPL_ID_LEN + 1);
        }
    }
    dpl_history_free(h, nh);
    if ((rfd = openat(dirfd, "releases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        free(keepv);
        return sign__error(SIGN_EIO, "%s/releases: %s", to, strerror(errno));
    }
    r = prune_dir(rfd, keepv, nkeep, to);
    free(keepv);
    return r;
}
