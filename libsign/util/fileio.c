/* Bounded file reads, atomic and exclusive writes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sign/encoding.h"
#include "util.h"

int sign__read_file(unsigned char **out, size_t *outlen, const char *path, size_t max)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t cap, len = 0, want;
    ssize_t n;
    int fd = -1, r = SIGN_EIO;

    *out = NULL;
    *outlen = 0;
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = errno == ENOENT ? SIGN_ENOTFOUND : SIGN_EIO;
        sign__error(r, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* A regular file ignores O_NONBLOCK (open(2)), so it need not be cleared. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = sign__error(SIGN_EIO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = sign__error(SIGN_ELIMIT, "%s: %lld bytes is larger than the limit of %zu", path, (long long)st.st_size,
                        max);
        goto out;
    }
    /* Room for one byte more than fstat gave (and the NUL): a read that stops short at the size is the end. */
    if (!sign__add(&cap, (size_t)st.st_size, 2)) {
        r = sign__error(SIGN_ELIMIT, "%s: too large", path);
        goto out;
    }
    if ((buf = malloc(cap)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Read up to max+1 bytes: the file may grow while we read. */
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap;
            unsigned char *nb;

            if (len >= max) {
                unsigned char probe;

                do {
                    n = read(fd, &probe, 1);
                } while (n < 0 && errno == EINTR);
                if (n == 0) {
                    break;
                }
                r = sign__error(SIGN_ELIMIT, "%s: larger than the limit of %zu bytes", path, max);
                goto out;
            }
            if (!sign__mul(&ncap, cap, 2)) {
                r = sign__error(SIGN_ELIMIT, "%s: too large", path);
                goto out;
            }
            if (ncap > max + 2) {
                ncap = max + 2;
            }
            if ((nb = realloc(buf, ncap)) == NULL) {
                r = sign__error(SIGN_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        want = cap - 1 - len;
        n = read(fd, buf + len, want);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            r = sign__error(SIGN_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > max) {
            r = sign__error(SIGN_ELIMIT, "%s: larger than the limit of %zu bytes", path, max);
            goto out;
        }
        if (len == (size_t)st.st_size && (size_t)n < want) {
            break; /* a short read that ends at the size fstat gave is the end: no second read for the 0 */
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL; /* transferred */
    r = 0;
out:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

int sign__write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO; /* a write that makes no progress would loop for ever */
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = sign__strdup(path);
    int fd, r = 0;

    if (copy == NULL) {
        return -1;
    }
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        /* Some file systems refuse fsync on a directory; that is not an error. */
        (void)fsync(fd);
        close(fd);
    } else {
        r = -1;
    }
    free(copy);
    return r;
}

/*
 * A temporary name beside path: "path.tmp-" and 16 random hex digits. It never
 * ends like the final name, so a temporary file a kill left behind cannot be
 * taken for a bundle or a key by its name (see docs/safety.md).
 */
static int tmp_name_for(char **out, const char *path)
{
    unsigned char rnd[8];
    char suffix[17];
    size_t tlen;

    *out = NULL;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return sign__ossl_error(SIGN_ECRYPTO, "%s: cannot make a temporary name", path);
    }
    sign_hex_encode(suffix, sizeof(suffix), rnd, sizeof(rnd));
    if (!sign__add(&tlen, strlen(path), 32) || (*out = malloc(tlen)) == NULL) {
        return sign__error(SIGN_ENOMEM, "%s: out of memory", path);
    }
    snprintf(*out, tlen, "%s.tmp-%s", path, suffix);
    return 0;
}

/* The content of a file held whole in memory, for write_tmp(). */
typedef struct {
    const void *data;
    size_t len;
} span;

static int write_span(int fd, void *ctx)
{
    const span *sp = ctx;

    return sign__write_all(fd, sp->data, sp->len);
}

/*
 * Create tmp (O_EXCL, mode from the start), let writer write the content,
 * fsync, close. Messages name path, the file the caller asked for. On failure
 * tmp is removed again.
 */
static int write_tmp(const char *tmp, const char *path, int (*writer)(int fd, void *ctx), void *ctx, mode_t mode)
{
    int fd, r;

    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): tmp is set; sign__ossl_error() never returns 0 */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        return sign__error(SIGN_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
    }
    if (fchmod(fd, mode) != 0 || writer(fd, ctx) != 0 || fsync(fd) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return r;
    }
    if (close(fd) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return r;
    }
    return 0;
}

/*
 * An existing path that is not a regular file (a device such as /dev/null, a FIFO, a socket, a
 * directory) is never replaced: rename(2) would swap the device node itself for a regular file, which
 * as root breaks the system for every other program. A symbolic link is replaced as a link, as before.
 */
static int refuse_special(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        return sign__error(SIGN_EINVAL,
                           "%s exists and is not a regular file (a device, FIFO, socket or directory); "
                           "refusing to replace it",
                           path);
    }
    return 0;
}

int sign__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    span sp = {data, len};

    return sign__write_file_atomic_with(path, write_span, &sp, mode);
}

int sign__atomic_open(sign__atomic_file *af, const char *path, mode_t mode)
{
    int r;

    af->fd = -1;
    af->tmp = NULL;
    af->path = path;
    if ((r = refuse_special(path)) != 0 || (r = tmp_name_for(&af->tmp, path)) != 0) {
        return r;
    }
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): tmp is set; sign__ossl_error() never returns 0 */
    af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (af->fd < 0) {
        r = sign__error(SIGN_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
    } else if (fchmod(af->fd, mode) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        sign__atomic_abort(af);
    }
    if (r != 0) {
        free(af->tmp);
        af->tmp = NULL;
    }
    return r;
}

void sign__atomic_abort(sign__atomic_file *af)
{
    if (af->fd >= 0) {
        close(af->fd);
        af->fd = -1;
    }
    if (af->tmp != NULL) {
        unlink(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
    }
}

int sign__atomic_failed(sign__atomic_file *af)
{
    int r = sign__error(SIGN_EIO, "%s: write failed: %s", af->path, strerror(errno));

    sign__atomic_abort(af);
    return r;
}

int sign__atomic_commit(sign__atomic_file *af)
{
    int r, fd = af->fd;

    if (fsync(fd) != 0) {
        return sign__atomic_failed(af);
    }
    af->fd = -1;
    if (close(fd) != 0) {
        return sign__atomic_failed(af);
    }
    if (rename(af->tmp, af->path) != 0) {
        r = sign__error(SIGN_EIO, "%s: cannot rename into place: %s", af->path, strerror(errno));
        sign__atomic_abort(af);
        return r;
    }
    free(af->tmp);
    af->tmp = NULL;
    (void)fsync_dir_of(af->path);
    return 0;
}

int sign__write_file_atomic_with(const char *path, int (*writer)(int fd, void *ctx), void *ctx, mode_t mode)
{
    sign__atomic_file af;
    int r;

    if ((r = sign__atomic_open(&af, path, mode)) != 0) {
        return r;
    }
    if (writer(af.fd, ctx) != 0) {
        return sign__atomic_failed(&af);
    }
    return sign__atomic_commit(&af);
}

/*
 * Put the complete file tmp at path unless path exists (even as a dangling
 * symlink): renameat2(RENAME_NOREPLACE), or link() and unlink() where the
 * kernel or file system lacks it. Returns 0, or -1 with errno set.
 */
static int move_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
        return 0;
    }
    /* NOLINTNEXTLINE(misc-redundant-expression): ENOTSUP == EOPNOTSUPP on Linux only */
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP && errno != EOPNOTSUPP) {
        return -1;
    }
    if (link(tmp, path) != 0) {
        return -1;
    }
    (void)unlink(tmp);
    return 0;
}

int sign__write_file_excl(const char *path, const void *data, size_t len, mode_t mode)
{
    span sp = {data, len};
    struct stat st;
    char *tmp = NULL;
    int r;

    /* Refuse early (nothing written); move_noreplace() is what makes it race-free. */
    if (lstat(path, &st) == 0) {
        return sign__error(SIGN_EEXISTS, "%s: already exists; refusing to overwrite it", path);
    }
    if ((r = tmp_name_for(&tmp, path)) != 0) {
        return r;
    }
    /*
     * Written under a temporary name and moved into place only when complete:
     * a kill mid-write leaves at most the temporary file, never a truncated
     * file under the final name.
     */
    if ((r = write_tmp(tmp, path, write_span, &sp, mode)) != 0) {
        goto out;
    }
    if (move_noreplace(tmp, path) != 0) {
        r = errno == EEXIST ? sign__error(SIGN_EEXISTS, "%s: already exists; refusing to overwrite it", path)
                            : sign__error(SIGN_EIO, "%s: cannot move into place: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    (void)fsync_dir_of(path);
    r = 0;
out:
    free(tmp);
    return r;
}

int sign__same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) {
        return 0;
    }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

char *sign__strdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL) {
        sign__error(SIGN_ENOMEM, "out of memory");
    }
    return d;
}

void sign__free_secret(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

int64_t sign__now(void)
{
    return (int64_t)time(NULL);
}
