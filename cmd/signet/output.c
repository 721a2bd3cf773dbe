/* signet CLI: shared printing helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <syslog.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

const char *out_clean_text(char *buf, size_t size, const char *s)
{
    char *t = sign_text_safe(s);

    snprintf(buf, size, "%s", t != NULL ? t : "?");
    free(t);
    return buf;
}

void out_finding(FILE *f, const char *artifact, const sign_finding *fd)
{
    char a[1024], p[1024], m[2048];

    out_clean_text(a, sizeof(a), artifact);
    out_clean_text(m, sizeof(m), fd->message != NULL ? fd->message : "");
    if (fd->path != NULL) {
        fprintf(f, "finding: %s %s %s:%s: %s\n", sign_severity_name(fd->severity), fd->id, a,
                out_clean_text(p, sizeof(p), fd->path), m);
    } else {
        fprintf(f, "finding: %s %s %s: %s\n", sign_severity_name(fd->severity), fd->id, a, m);
    }
}

void out_findings(FILE *f, sign_artifact *const *arts, size_t n)
{
    if (arts == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (arts[i] == NULL) {
            continue;
        }
        size_t nf = sign_artifact_finding_count(arts[i]);
        for (size_t j = 0; j < nf; j++) {
            out_finding(f, sign_artifact_name(arts[i]), sign_artifact_finding(arts[i], j));
        }
    }
}

/* The library calls progress from its hashing threads, several at once: serialise and rate-limit drawing. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static int progress_drawn;
static struct timespec progress_last;

int out_progress_wanted(void)
{
    static int tty = -1;

    if (tty < 0) {
        tty = isatty(STDERR_FILENO) == 1;
    }
    return tty;
}

void out_progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata)
{
    struct timespec now;
    long ms;

    (void)userdata;
    if (!out_progress_wanted()) {
        return;
    }
    pthread_mutex_lock(&progress_lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - progress_last.tv_sec) * 1000 + (now.tv_nsec - progress_last.tv_nsec) / 1000000;
    if (progress_drawn && ms < 100 && done != total) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    progress_last = now;
    if (total > 0) {
        fprintf(stderr, "\r\033[K%s: %" PRIu64 "/%" PRIu64 " MiB (%u%%)", what != NULL ? what : "", done >> 20,
                total >> 20, (unsigned)(done * 100 / total));
    } else {
        fprintf(stderr, "\r\033[K%s: %" PRIu64 " MiB", what != NULL ? what : "", done >> 20);
    }
    (void)fflush(stderr); /* progress only */
    progress_drawn = 1;
    pthread_mutex_unlock(&progress_lock);
}

void out_progress_end(void)
{
    pthread_mutex_lock(&progress_lock);
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        (void)fflush(stderr); /* progress only */
        progress_drawn = 0;
    }
    pthread_mutex_unlock(&progress_lock);
}

int out_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "signet %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'signet help %s'\n", cmd);
    return EXIT_USAGE;
}

static int out_takes_value(const char *optstring, char c)
{
    const char *p = c != ':' ? strchr(optstring, c) : NULL;

    return p != NULL && p[1] == ':';
}

int out_check_long_options(const char *cmd, int argc, char **argv, const char *optstring,
                           const struct option *longopts)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct option *o;
        size_t n;

        if (strcmp(a, "--") == 0) {
            break;
        }
        if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
            /* Clustered short options: the value is the rest, or the next argument. */
            for (size_t k = 1; a[k] != '\0'; k++) {
                if (out_takes_value(optstring, a[k])) {
                    if (a[k + 1] == '\0') {
                        i++;
                    }
                    break;
                }
            }
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            continue;
        }
        a += 2;
        n = strcspn(a, "=");
        for (o = longopts; o->name != NULL; o++) {
            if (strlen(o->name) == n && strncmp(o->name, a, n) == 0) {
                break;
            }
        }
        if (o->name == NULL) {
            return out_usage_error(cmd, "unknown option --%.*s (a passphrase is never given as an argument)",
                                   (int)(n > 64 ? 64 : n), a);
        }
        if (o->has_arg == required_argument && a[n] == '\0') {
            i++;
        }
    }
    return 0;
}

int out_getopt_error(const char *cmd, int c, char **argv)
{
    const char *a = argv[optind - 1];

    if (c == ':') {
        if (optopt != 0) {
            return out_usage_error(cmd, "option -%c needs a value", optopt);
        }
        return out_usage_error(cmd, "option %s needs a value", a);
    }
    if (optopt != 0) {
        return out_usage_error(cmd, "unknown option -%c", optopt);
    }
    if (strncmp(a, "--", 2) == 0 && strchr(a, '=') != NULL) {
        return out_usage_error(cmd, "option %.*s takes no value", (int)(strchr(a, '=') - a), a);
    }
    return out_usage_error(cmd, "unknown option %.*s", (int)strcspn(a, "="), a);
}

int out_source_date_epoch(int64_t *out)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    char *end = NULL;
    long long v;

    *out = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > INT64_C(253402300799)) {
        cli_error("SOURCE_DATE_EPOCH: not a positive number of seconds: %s", s);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int out_event_open(const char *cmd, const char *path)
{
    int fd, flags;

    if (path == NULL) {
        return -1;
    }
    /*
     * Appending never truncates an audit log; O_NOFOLLOW refuses a planted
     * symlink. O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of
     * blocking the command forever; blocking writes are restored after.
     */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0640);
    if (fd < 0) {
        cli_error("%s: %s: cannot open the event log: %s", cmd, path,
                  errno == ENXIO ? "it is a FIFO that no process reads" : strerror(errno));
        return -2;
    }
    if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
        cli_error("%s: %s: cannot open the event log: %s", cmd, path, strerror(errno));
        close(fd);
        return -2;
    }
    return fd;
}

int out_event_emit(int fd, const char *path, int use_syslog, int failed, const char *line)
{
    struct iovec iov[2];
    size_t len = strlen(line);
    ssize_t n;

    if (use_syslog) {
        openlog("signet", LOG_PID, LOG_AUTH);
        syslog(failed ? LOG_WARNING : LOG_NOTICE, "%s", line);
        closelog();
    }
    if (fd < 0) {
        return 0;
    }
    iov[0].iov_base = (void *)line;
    iov[0].iov_len = len;
    iov[1].iov_base = (void *)"\n";
    iov[1].iov_len = 1;
    do {
        n = writev(fd, iov, 2);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)(len + 1)) {
        cli_error("%s: cannot write the event: %s", path, n < 0 ? strerror(errno) : "short write");
        return EXIT_USAGE;
    }
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        cli_error("%s: cannot write the event: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

int out_parse_jobs(const char *cmd, const char *text)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > (long)SIGN_THREAD_BUDGET_MAX) {
        return out_usage_error(cmd, "--jobs %s: give a number of threads from 1 to %u", text, SIGN_THREAD_BUDGET_MAX);
    }
    (void)sign_set_thread_budget((unsigned int)v); /* in range: cannot fail */
    return 0;
}

int out_parse_seconds(int *out, const char *cmd, const char *opt, const char *text)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 3600) {
        return out_usage_error(cmd, "%s must be a whole number of seconds from 1 to 3600", opt);
    }
    *out = (int)v;
    return 0;
}
