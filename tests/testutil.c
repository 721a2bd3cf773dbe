/* Shared helpers for the Criterion suite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sign/sign.h"
#include "testutil.h"

extern char **environ;

char *tu_mkdtemp(void)
{
    char tmpl[] = "/tmp/signet-test-XXXXXX";
    char *d = mkdtemp(tmpl);

    cr_assert_not_null(d, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    /* Make directories writable again so tests may chmod them away. */
    chmod(p, 0700);
    return remove(p);
}

void tu_rmtree(const char *path)
{
    if (path == NULL || strncmp(path, "/tmp/", 5) != 0) {
        return;
    }
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

void tu_write_str(const char *path, const char *s)
{
    tu_write(path, s, strlen(s));
}

char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    do {
        if (n + 4097 > cap) {
            cap = cap * 2 + 8192;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        got = fread(buf + n, 1, 4096, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

char *tu_b64(const void *data, size_t len)
{
    char *s;

    cr_assert_leq(len, (size_t)INT_MAX / 4 * 3, "tu_b64: %zu bytes", len);
    s = malloc(4 * ((len + 2) / 3) + 1);
    cr_assert_not_null(s);
    EVP_EncodeBlock((unsigned char *)s, data, (int)len);
    return s;
}

char *tu_dir;
char *tu_out;

void tu_scratch_setup(void)
{
    tu_dir = tu_mkdtemp();
    tu_out = NULL;
}

void tu_scratch_teardown(void)
{
    tu_rmtree(tu_dir);
    free(tu_dir);
    free(tu_out);
    tu_dir = tu_out = NULL;
}

int tu_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

const char *tu_src(void)
{
    const char *s = getenv("SIGNET_SRC");

    return s != NULL ? s : ".";
}

/* Drain two pipes into growing buffers until both close. */
static void drain(int fdo, int fde, char **out, char **err)
{
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0}, caps[2] = {0, 0};
    struct pollfd pfd[2] = {{fdo, POLLIN, 0}, {fde, POLLIN, 0}};
    int open_count = 2;

    while (open_count > 0) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0) {
                continue;
            }
            if (lens[i] + 4097 > caps[i]) {
                caps[i] = caps[i] * 2 + 8192;
                bufs[i] = realloc(bufs[i], caps[i]);
                cr_assert_not_null(bufs[i]);
            }
            ssize_t n = read(pfd[i].fd, bufs[i] + lens[i], 4096);
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_count--;
            } else {
                lens[i] += (size_t)n;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (bufs[i] == NULL) {
            bufs[i] = calloc(1, 1);
        } else {
            bufs[i][lens[i]] = '\0';
        }
    }
    if (out != NULL) {
        *out = bufs[0];
    } else {
        free(bufs[0]);
    }
    if (err != NULL) {
        *err = bufs[1];
    } else {
        free(bufs[1]);
    }
}

/* environ with the additions env ("K=V") winning; malloc'd array, strings borrowed. */
static char **run_env(const char *const *env)
{
    size_t nenv = 0, nadd = 0, i;
    char **envp;

    while (environ[nenv] != NULL) {
        nenv++;
    }
    while (env != NULL && env[nadd] != NULL) {
        nadd++;
    }
    envp = calloc(nenv + nadd + 1, sizeof(*envp));
    cr_assert_not_null(envp);
    for (i = 0; i < nadd; i++) {
        envp[i] = (char *)env[i];
    }
    for (size_t j = 0; j < nenv; j++) {
        int skip = 0;

        for (size_t k = 0; k < nadd; k++) {
            const char *eq = strchr(env[k], '=');
            size_t kl = eq ? (size_t)(eq - env[k]) : strlen(env[k]);

            if (strncmp(environ[j], env[k], kl) == 0 && environ[j][kl] == '=') {
                skip = 1;
            }
        }
        if (!skip) {
            envp[i++] = environ[j];
        }
    }
    envp[i] = NULL;
    return envp;
}

int tu_run(char **out, char **err, const char *const *env, const char *const *argv)
{
    posix_spawn_file_actions_t fa;
    int po[2], pe[2], status = 0;
    pid_t pid;
    char **envp;
    const char *bin = argv[0];

    if (strcmp(bin, "signet") == 0) {
        bin = getenv("SIGNET_BIN");
        cr_assert_not_null(bin, "SIGNET_BIN is not set (run through make test)");
    }
    envp = run_env(env);
    cr_assert_eq(pipe(po), 0);
    cr_assert_eq(pipe(pe), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[0]);
    posix_spawn_file_actions_addclose(&fa, pe[0]);
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, envp), 0, "spawn %s", bin);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(po[1]);
    close(pe[1]);
    drain(po[0], pe[0], out, err);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return -1;
}

long long tu_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long tu_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long tu_syscr(void)
{
    char buf[512];
    FILE *f = fopen("/proc/thread-self/io", "r");
    long long v = -1;

    cr_assert_not_null(f, "/proc/thread-self/io cannot be read");
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (sscanf(buf, "syscr: %lld", &v) == 1) {
            break;
        }
    }
    fclose(f);
    cr_assert_geq(v, 0, "no syscr in /proc/thread-self/io");
    return v;
}

int tu_run_fault(char **err, const char *const *env, const char *const *argv, const tu_fault *f)
{
    const char *bin = argv[0];
    char **envp;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int pe[2], devnull, status = 0;
    long long start;
    pid_t pid;

    if (strcmp(bin, "signet") == 0) {
        bin = getenv("SIGNET_BIN");
        cr_assert_not_null(bin, "SIGNET_BIN is not set (run through make test)");
    }
    envp = run_env(env);
    cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    cr_assert_geq(devnull, 0);
    start = tu_now_us();
    pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        struct rlimit rl;

        if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(pe[1], 2) < 0) {
            _exit(126);
        }
        if (f->fsize >= 0) {
            rl.rlim_cur = rl.rlim_max = (rlim_t)f->fsize;
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
                _exit(126);
            }
        }
        signal(SIGXFSZ, f->ignore_xfsz ? SIG_IGN : SIG_DFL);
        execve(bin, (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(pe[1]);
    close(devnull);
    if (f->kill_after_us >= 0) {
        long long left = start + f->kill_after_us - tu_now_us();

        if (left > 0) {
            struct timespec ts = {(time_t)(left / 1000000), (long)(left % 1000000) * 1000};

            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        /* Not reaped yet, so pid is still this child even when it has exited. */
        kill(pid, SIGKILL);
    }
    for (;;) {
        ssize_t n;

        if (len + 4097 > cap) {
            cap = cap * 2 + 8192;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        n = read(pe[0], buf + len, 4096);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(pe[0]);
    buf[len] = '\0';
    if (err != NULL) {
        *err = buf;
    } else {
        free(buf);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : -1;
}

int tu_sh(char **out, char **err, const char *dir, const char *fmt, ...)
{
    char script[8192], full[9000];
    const char *argv[] = {"/bin/sh", "-ec", full, NULL};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(script, sizeof(script), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full),
             "cd '%s'; export HOME='%s' GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com "
             "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com; %s",
             dir, dir, script);
    free(*out);
    free(*err);
    *out = *err = NULL;
    return tu_run(out, err, NULL, argv);
}

char *tu_statement_edited(const char *path, const char *name, void (*edit)(json_t *st))
{
    sign_sign_options o = SIGN_SIGN_OPTIONS_INIT;
    sign_statement *st = NULL;
    char *text = NULL, *out;
    json_t *j;

    o.artifacts = &path;
    o.names = &name;
    o.nartifacts = 1;
    cr_assert_eq(sign_hash(&st, NULL, &o), 0, "%s", sign_error_last());
    cr_assert_eq(sign_statement_serialize(&text, NULL, st), 0);
    j = json_loads(text, 0, NULL);
    cr_assert_not_null(j);
    edit(j);
    out = json_dumps(j, JSON_COMPACT);
    cr_assert_not_null(out);
    json_decref(j);
    free(text);
    sign_statement_free(st);
    return out;
}
