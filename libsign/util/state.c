/* State files under a lock: read, change, write back atomically. Used by revocation lists (highest version seen)
 * and downgrade protection (highest artifact version verified); deploy can keep its state the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "state.h"

char *sign__state_path(const char *dir, const char *name)
{
    size_t n;
    char *p;

    if (!sign__add(&n, strlen(dir), strlen(name)) || !sign__add(&n, n, 2) || (p = malloc(n)) == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int sign__state_mkdir(const char *dir)
{
    char *p = sign__strdup(dir);
    struct stat st;
    int r = 0;

    if (p == NULL) {
        return sign__oom();
    }
    for (char *s = p + 1;; s++) {
        char c = *s;

        if (c != '/' && c != '\0') {
            continue;
        }
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            r = sign__error(SIGN_EIO, "state directory %s: cannot create %s: %s", dir, p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0') {
            break;
        }
    }
    if (r == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        r = sign__error(SIGN_EIO, "state directory %s is not a directory", dir);
    }
    free(p);
    return r;
}

static int read_state(json_t **out, const char *path, const sign_limits *limits)
{
    unsigned char *text = NULL;
    sign_limits lim;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = sign__limits(&lim, limits)) != 0) {
        return r;
    }
    r = sign__read_file(&text, &len, path, lim.json_max_bytes);
    if (r == SIGN_ENOTFOUND) {
        sign__error_clear();
        *out = json_object();
        return *out != NULL ? 0 : sign__error(SIGN_ENOMEM, "out of memory");
    }
    if (r == 0) {
        r = sign__json_parse(out, text, len, limits, path);
    }
    free(text);
    if (r == 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        r = sign__error(SIGN_EPARSE, "%s: not a JSON object", path);
    }
    if (r != 0 && r != SIGN_ENOMEM) {
        r = sign__error_context(r == SIGN_EIO ? SIGN_EIO : SIGN_EPARSE,
                                "state file %s is corrupt or unreadable (fix or remove it; it is never reset "
                                "silently)",
                                path);
    }
    return r;
}

int sign__state_update(const char *dir, const char *name, sign__state_fn fn, void *userdata,
                       const sign_limits *limits)
{
    char *path = NULL, *lock = NULL, *text = NULL;
    json_t *root = NULL;
    size_t len = 0;
    int fd = -1, changed = 0, r;

    if (dir == NULL || name == NULL || fn == NULL) {
        return sign__error(SIGN_EINVAL, "state: no directory, name or function");
    }
    if ((r = sign__state_mkdir(dir)) != 0) {
        return r;
    }
    if ((path = sign__state_path(dir, name)) == NULL) {
        r = sign__oom();
        goto out;
    }
    if ((lock = malloc(strlen(path) + sizeof(".lock"))) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(lock, strlen(path) + sizeof(".lock"), "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = sign__error(SIGN_EIO, "state lock %s: %s", lock, strerror(errno));
        goto out;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            r = sign__error(SIGN_EIO, "state lock %s: %s", lock, strerror(errno));
            goto out;
        }
    }
    if ((r = read_state(&root, path, limits)) != 0 || (r = fn(root, &changed, userdata)) != 0) {
        goto out;
    }
    if (changed) {
        if ((r = sign__json_dump(&text, &len, root, 1)) != 0 ||
            (r = sign__write_file_atomic(path, text, len, 0600)) != 0) {
            r = sign__error_context(r, "state file %s", path);
            goto out;
        }
    }
    r = 0;
out:
    if (fd >= 0) {
        close(fd); /* releases the lock */
    }
    free(text);
    json_decref(root);
    free(path);
    free(lock);
    return r;
}
