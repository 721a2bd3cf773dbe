/* signet CLI: shared printing helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <syslog.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

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

static struct timespec progress_start;
static volatile sig_atomic_t progress_on_screen;

/* Ctrl-C (or a TERM) while a progress line is drawn: clear it, then die of the signal as before. */
static void progress_clear_and_reraise(int sig)
{
    static const char clear[] = "\r\033[K";

    if (progress_on_screen && write(STDERR_FILENO, clear, sizeof(clear) - 1) < 0) {
        /* nothing more to do in a signal handler */
    }
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

static void progress_install_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = progress_clear_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        /* A signal the caller ignores stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
            (void)sigaction(sigs[i], &sa, NULL);
        }
    }
}

void out_progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata)
{
    struct timespec now;
    long ms;
    double secs, rate;
    char tail[64] = "";

    (void)userdata;
    if (!out_progress_wanted()) {
        return;
    }
    pthread_mutex_lock(&progress_lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (progress_start.tv_sec == 0 && progress_start.tv_nsec == 0) {
        progress_start = now;
        progress_install_handlers();
    }
    ms = (now.tv_sec - progress_last.tv_sec) * 1000 + (now.tv_nsec - progress_last.tv_nsec) / 1000000;
    if (progress_drawn && ms < 100 && done != total) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    progress_last = now;
    /* Rate since the first report, and the time left at that rate. */
    secs = (double)(now.tv_sec - progress_start.tv_sec) + (double)(now.tv_nsec - progress_start.tv_nsec) / 1e9;
    rate = secs > 0.2 ? (double)done / secs : 0;
    if (rate > 0 && total > done) {
        snprintf(tail, sizeof(tail), ", %.1f MiB/s, %.0f s left", rate / 1048576.0, (double)(total - done) / rate);
    } else if (rate > 0) {
        snprintf(tail, sizeof(tail), ", %.1f MiB/s", rate / 1048576.0);
    }
    progress_on_screen = 1; /* before drawing: a ^C as soon as it shows must clear it */
    if (total > 0) {
        fprintf(stderr, "\r\033[K%s: %" PRIu64 "/%" PRIu64 " MiB (%u%%)%s", what != NULL ? what : "", done >> 20,
                total >> 20, (unsigned)(done * 100 / total), tail);
    } else {
        fprintf(stderr, "\r\033[K%s: %" PRIu64 " MiB%s", what != NULL ? what : "", done >> 20, tail);
    }
    (void)fflush(stderr); /* progress only */
    progress_drawn = 1;
    pthread_mutex_unlock(&progress_lock);
}

void out_progress_line(const char *text, int force)
{
    struct timespec now;
    long ms;

    if (!out_progress_wanted()) {
        return;
    }
    pthread_mutex_lock(&progress_lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (progress_start.tv_sec == 0 && progress_start.tv_nsec == 0) {
        progress_start = now;
        progress_install_handlers();
    }
    ms = (now.tv_sec - progress_last.tv_sec) * 1000 + (now.tv_nsec - progress_last.tv_nsec) / 1000000;
    /* At most ten lines a second: a store of a million small files must not write a million lines. */
    if (progress_drawn && ms < 100 && !force) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    progress_last = now;
    progress_on_screen = 1; /* before drawing: a ^C as soon as it shows must clear it */
    fprintf(stderr, "\r\033[K%s", text);
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
    progress_on_screen = 0;
    pthread_mutex_unlock(&progress_lock);
}

/* The command whose --json was asked for (out_json_mode), or NULL. */
static const char *json_cmd;
static int json_printed;
static int json_noted;

void out_json_mode(const char *cmd)
{
    json_cmd = cmd;
    json_printed = 0;
    json_noted = 0;
}

int out_json_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
        if (strcmp(argv[i], "--json") == 0) {
            return 1;
        }
    }
    return 0;
}

void out_json_printed(void)
{
    json_printed = 1;
}

/* The first error said in --json mode (code NULL: from the exit code), printed by out_json_done. */
static char json_note_code[64], json_note_role[32], json_note_path[1024], json_note_msg[2048];

void out_json_note(const char *code, const char *role, const char *path, const char *message)
{
    if (json_cmd == NULL || json_printed || json_noted) {
        return;
    }
    snprintf(json_note_code, sizeof(json_note_code), "%s", code != NULL ? code : "");
    snprintf(json_note_role, sizeof(json_note_role), "%s", role != NULL ? role : "");
    snprintf(json_note_path, sizeof(json_note_path), "%s", path != NULL ? path : "");
    snprintf(json_note_msg, sizeof(json_note_msg), "%s", message != NULL ? message : "");
    json_noted = 1;
}

const char *out_json_code(int sign_code)
{
    switch (sign_code) {
    case SIGN_ENOTFOUND: return "INPUT_MISSING";
    case SIGN_EIO:
    case SIGN_EPARSE:
    case SIGN_ELIMIT:
    case SIGN_EUNSUPPORTED: return "INPUT_MALFORMED";
    case SIGN_EEXISTS: return "OUTPUT_EXISTS";
    case SIGN_EPASSPHRASE: return "PASSPHRASE_WRONG";
    case SIGN_EFINDING: return "FINDING_REFUSED";
    case SIGN_ENETWORK:
    case SIGN_ETIMEOUT:
    case SIGN_EHTTP:
    case SIGN_ETSA_REJECTED:
    case SIGN_ETSA_ANSWER: return "TSA_FAILED";
    case SIGN_EINVAL: return "USAGE";
    case SIGN_EBADSIG:
    case SIGN_EDIGEST:
    case SIGN_EVERIFY: return "NOT_VERIFIED";
    case SIGN_EUNTRUSTED: return "UNTRUSTED";
    case SIGN_EPOLICY: return "POLICY_VIOLATED";
    case SIGN_EREVOKED: return "REVOKED";
    case SIGN_EEXPIRED: return "EXPIRED";
    default: return "ERROR";
    }
}

/* The code of an error object when only the exit code is known. */
static const char *exit_code_name(int rc)
{
    static const char *const names[] = {"OK",      "NOT_VERIFIED", "ERROR", "UNTRUSTED", "POLICY_VIOLATED",
                                        "REVOKED", "EXPIRED"};

    return rc >= 0 && rc < (int)(sizeof(names) / sizeof(names[0])) ? names[rc] : "ERROR";
}

int out_json_done(int rc)
{
    if (json_cmd == NULL || json_printed || rc == 0) {
        return rc;
    }
    if (!json_noted) {
        out_json_error(exit_code_name(rc), NULL, NULL, "failed (see standard error)");
        return rc;
    }
    out_json_error(json_note_code[0] != '\0' ? json_note_code : exit_code_name(rc),
                   json_note_role[0] != '\0' ? json_note_role : NULL,
                   json_note_path[0] != '\0' ? json_note_path : NULL, json_note_msg);
    return rc;
}

int out_json_active(void)
{
    return json_cmd != NULL;
}

void out_json_error(const char *code, const char *role, const char *path, const char *message)
{
    /* Names and messages made printable (and so valid UTF-8), as in the verdict. */
    char *p = path != NULL ? sign_text_safe(path) : NULL, *m = message != NULL ? sign_text_safe(message) : NULL;
    json_t *o;
    char *text = NULL;

    if (json_cmd == NULL || json_printed) {
        free(p);
        free(m);
        return;
    }
    o = json_pack("{s:i,s:s,s:s,s:s,s:b,s:b,s:s,s:{s:s?,s:s?,s:s?},s:[],s:[]}", "format_version",
                  SIGN_VERDICT_FORMAT_VERSION, "signet_version", SIGN_VERSION_STRING, "command", json_cmd, "verdict",
                  "not_verified", "verified", 0, "accepted", 0, "code", code, "error", "role", role, "path", p,
                  "message", m, "artifacts", "checks");
    if (o != NULL) {
        text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    }
    /* Still an object on stdout when memory ran out: the caller's parser must not meet nothing. */
    puts(text != NULL ? text : "{\"code\":\"ERROR\",\"verdict\":\"not_verified\",\"verified\":false}");
    free(text);
    json_decref(o);
    free(p);
    free(m);
    json_printed = 1;
}

int out_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "signet %s: %s; see 'signet help %s'\n", cmd, msg, cmd);
    out_json_error("USAGE", NULL, NULL, msg);
    return EXIT_USAGE;
}

/* Edit distance of a and b (short option names), capped at 9. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[64], prev, tmp;

    if (na >= 63 || nb >= 63) {
        return 9;
    }
    for (size_t j = 0; j <= nb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= na; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t best = prev + (a[i - 1] != b[j - 1]);

            best = row[j] + 1 < best ? row[j] + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            tmp = row[j];
            row[j] = best;
            prev = tmp;
        }
    }
    return row[nb] > 9 ? 9 : row[nb];
}

/* The long option closest to the n bytes at a (a typo or a prefix), or NULL. */
static const char *closest_option(const char *a, size_t n, const struct option *longopts)
{
    const char *best = NULL;
    size_t bestd = 3; /* at most two edits */

    for (const struct option *o = longopts; o->name != NULL; o++) {
        size_t len = strlen(o->name), d = edit_distance(a, n, o->name, len);

        if (n >= 3 && strncmp(o->name, a, n) == 0) {
            d = 1; /* a prefix, which getopt would have taken silently */
        }
        /* A typo in the first word of a longer name ("--passphrse" for --passphrase-file). */
        for (size_t k = n >= 4 ? n - 1 : len; k <= n + 1 && k < len; k++) {
            size_t dk = edit_distance(a, n, o->name, k) + 1;

            d = dk < d ? dk : d;
        }
        if (d < bestd) {
            bestd = d;
            best = o->name;
        }
    }
    return best;
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
            const char *near = closest_option(a, n, longopts);
            char hint[128] = "";

            if (near != NULL) {
                snprintf(hint, sizeof(hint), "; did you mean --%s?", near);
            }
            /* Only what looks like a passphrase gets the remark; the value is never echoed. */
            if (memmem(a, n, "pass", 4) != NULL || memmem(a, n, "secret", 6) != NULL) {
                return out_usage_error(cmd, "unknown option --%.*s (a passphrase is never given as an argument)%s",
                                       (int)(n > 64 ? 64 : n), a, hint);
            }
            return out_usage_error(cmd, "unknown option --%.*s%s", (int)(n > 64 ? 64 : n), a, hint);
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
        /* A long option is named as typed: its optopt is its short letter or an OPT_ code, not what the user wrote.
         */
        if (strncmp(a, "--", 2) == 0) {
            return out_usage_error(cmd, "option %.*s needs a value", (int)strcspn(a, "="), a);
        }
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

/* The certs.d directories of a registry's private CA: $SIGNET_REGISTRY_CERTS_DIR alone, else containers' and
   docker's (docs/registry.md). */
static int set_certs_dirs(void)
{
    const char *env = getenv("SIGNET_REGISTRY_CERTS_DIR");
    const char *sys[2] = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
    const char *one[1] = {env};

    if (sign_registry_set_certs_dirs(env != NULL && env[0] != '\0' ? one : sys,
                                     env != NULL && env[0] != '\0' ? 1 : 2) != 0) {
        cli_error("registry certs.d: %s", sign_error_last());
        return -1;
    }
    return 0;
}

int out_registry_credentials(void)
{
    const char *env = getenv("REGISTRY_AUTH_FILE"), *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
    char a[4096], b[4096];
    const char *v[2];
    size_t n = 0;

    if (env != NULL && env[0] != '\0') {
        v[n++] = env; /* then that file alone, as skopeo and podman do */
    } else {
        if (xdg != NULL && xdg[0] == '/') {
            snprintf(a, sizeof(a), "%s/containers/auth.json", xdg);
            v[n++] = a;
        }
        if (home != NULL && home[0] == '/') {
            snprintf(b, sizeof(b), "%s/.docker/config.json", home);
            v[n++] = b;
        }
    }
    if (sign_registry_set_credential_files(v, n) != 0) {
        cli_error("registry credentials: %s", sign_error_last());
        return -1;
    }
    return set_certs_dirs();
}

int out_parse_tls_verify(int *insecure, const char *cmd, const char *text)
{
    if (strcmp(text, "true") == 0) {
        *insecure = 0;
        return 0;
    }
    if (strcmp(text, "false") == 0) {
        *insecure = 1;
        return 0;
    }
    return out_usage_error(cmd, "--tls-verify %s: give true or false", text);
}

int out_parse_seconds(int *out, const char *cmd, const char *opt, const char *text)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 600) {
        return out_usage_error(cmd, "%s %s: give whole seconds from 1 to 600", opt, text);
    }
    *out = (int)v;
    return 0;
}

/* 1 when path holds a JSON object whose mediaType is a Sigstore bundle's. */
static int looks_like_bundle(const char *path)
{
    json_t *j = json_load_file(path, JSON_DISABLE_EOF_CHECK, NULL);
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    int yes = mt != NULL && strncmp(mt, "application/vnd.dev.sigstore.bundle", 35) == 0;

    json_decref(j);
    return yes;
}

/* 1 when the first byte of path other than white space is '{' (or it cannot be read). */
static int looks_like_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    int ch = ' ';

    if (f == NULL) {
        return 1;
    }
    while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        ch = fgetc(f);
    }
    (void)fclose(f); /* read only */
    return ch == '{';
}

int out_role_fail(int code, const char *cmd, const char *role, const char *path)
{
    const char *msg = sign_error_last();
    char cpath[1024], cmsg[2048];
    size_t n = strlen(path);

    if (msg == NULL || *msg == '\0') {
        msg = sign_strerror(code);
    }
    /* "policy polcy.json: No such file or directory", not the path twice. */
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') {
        msg += n + 2;
    }
    out_clean_text(cpath, sizeof(cpath), path);
    out_clean_text(cmsg, sizeof(cmsg), msg);
    if (strcmp(role, "policy") == 0 && code != SIGN_ENOTFOUND && looks_like_bundle(path)) {
        snprintf(cmsg, sizeof(cmsg),
                 "this is a Sigstore bundle, not a trust policy; give the policy with -p and "
                 "bundles with -b");
    } else if (strcmp(role, "bundle") == 0 && code != SIGN_ENOTFOUND && !looks_like_json(path)) {
        snprintf(cmsg, sizeof(cmsg),
                 "not a Sigstore bundle (not JSON: an artifact?); give its bundle, %s.sigstore.json", cpath);
    }
    fprintf(stderr, "signet %s: %s %s: %s\n", cmd, role, cpath, cmsg);
    if (json_cmd != NULL) {
        char codename[64];

        snprintf(codename, sizeof(codename), "%s_%s", role, code == SIGN_ENOTFOUND ? "MISSING" : "MALFORMED");
        for (char *p = codename; *p != '\0'; p++) {
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        }
        out_json_error(codename, role, path, cmsg);
    }
    return cli_exit_code(code);
}

int out_is_bundle_file(const char *path)
{
    static const char suffix[] = ".sigstore.json";
    size_t n = strlen(path);

    return n >= sizeof(suffix) - 1 && strcmp(path + n - (sizeof(suffix) - 1), suffix) == 0 && looks_like_bundle(path);
}
