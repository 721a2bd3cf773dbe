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

#include "internal.h"

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
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = sign__error(SIGN_EIO, "%s: not a regular file", path);
        goto out;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        r = sign__error(SIGN_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = sign__error(SIGN_ELIMIT, "%s: %lld bytes is larger than the limit of %zu", path, (long long)st.st_size,
                        max);
        goto out;
    }
    cap = (size_t)st.st_size + 1;
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

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
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

int sign__write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = NULL;
    unsigned char rnd[8];
    char suffix[17];
    size_t plen = strlen(path), tlen;
    int fd = -1, r = SIGN_EIO, created = 0;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return sign__ossl_error(SIGN_ECRYPTO, "%s: cannot make a temporary name", path);
    }
    sign_hex_encode(suffix, sizeof(suffix), rnd, sizeof(rnd));
    if (!sign__add(&tlen, plen, 32) || (tmp = malloc(tlen)) == NULL) {
        return sign__error(SIGN_ENOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, tlen, "%s.tmp-%s", path, suffix);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        r = sign__error(SIGN_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto out;
    }
    created = 1;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        r = sign__error(SIGN_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
    created = 0;
    (void)fsync_dir_of(path);
    r = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (created) {
        unlink(tmp);
    }
    free(tmp);
    return r;
}

int sign__write_file_excl(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd, r;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            return sign__error(SIGN_EEXISTS, "%s: already exists; refusing to overwrite it", path);
        }
        return sign__error(SIGN_EIO, "%s: %s", path, strerror(errno));
    }
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return r;
    }
    if (close(fd) != 0) {
        r = sign__error(SIGN_EIO, "%s: write failed: %s", path, strerror(errno));
        unlink(path);
        return r;
    }
    (void)fsync_dir_of(path);
    return 0;
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
