/*
 * Docker credential helpers (regclient.h): "docker-credential-NAME get" with
 * the registry's host on its standard input answers {"Username": ...,
 * "Secret": ...} on its standard output. The helper is found on $PATH as
 * docker and podman find it; its name comes from the credentials file
 * (credHelpers[host] or credsStore) and is one file name, never a path.
 *
 * The answer is a secret: it is read into memory that is wiped, never put
 * in a message; the helper's standard error goes to /dev/null (helpers may
 * print what they were given there). A helper that does not answer in
 * CRED_HELPER_TIMEOUT_MS is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "regclient.h"
#include "util.h"

#define CRED_HELPER_TIMEOUT_MS 30000
#define CRED_HELPER_MAX (64u * 1024u)

static int name_ok(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n <= 64 && name[0] != '.' && name[0] != '-' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read fd to its end into buf (at most CRED_HELPER_MAX bytes) before the deadline. *len: bytes read. */
static int read_all(int fd, char *buf, size_t *len, long long deadline)
{
    *len = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = deadline - mono_ms();
        ssize_t got;

        if (left <= 0) {
            return SIGN_ETIMEOUT;
        }
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            return SIGN_EIO;
        }
        if (p.revents == 0) {
            continue;
        }
        got = read(fd, buf + *len, CRED_HELPER_MAX - *len);
        if (got == 0) {
            return 0;
        }
        if (got < 0 && errno != EINTR && errno != EAGAIN) {
            return SIGN_EIO;
        }
        if (got > 0 && (*len += (size_t)got) >= CRED_HELPER_MAX) {
            return SIGN_ELIMIT;
        }
    }
}

/* Start prog get with stdin and stdout on pipes and stderr on /dev/null. */
static int spawn_helper(pid_t *pid, int *in, int *out, const char *prog)
{
    char *const argv[] = {(char *)prog, "get", NULL};
    posix_spawn_file_actions_t fa;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, e;

    if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0) {
        e = errno;
        close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
        return sign__error(SIGN_EIO, "credential helper %s: cannot make a pipe: %s", prog, strerror(e));
    }
    if ((e = posix_spawn_file_actions_init(&fa)) == 0) {
        if ((e = posix_spawn_file_actions_adddup2(&fa, pin[0], 0)) == 0 &&
            (e = posix_spawn_file_actions_adddup2(&fa, pout[1], 1)) == 0 &&
            (e = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)) == 0) {
            e = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    close(pin[0]);
    close(pout[1]);
    if (e != 0) {
        close(pin[1]);
        close(pout[0]);
        return sign__error(SIGN_EIO, "credential helper %s: cannot run it: %s (is it installed and on PATH?)", prog,
                           strerror(e));
    }
    *in = pin[1];
    *out = pout[0];
    return 0;
}

/* Run the helper: *answer (wiped by the caller) is its standard output, *status its exit status. */
static int run_helper(char *answer, size_t *len, int *status, const char *prog, const char *host)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    pid_t pid = -1;
    int in = -1, out = -1, r, st = 0;

    if ((r = spawn_helper(&pid, &in, &out, prog)) != 0 || pid <= 0) {
        return r != 0 ? r : sign__error(SIGN_EIO, "credential helper %s: not started", prog);
    }
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old); /* a helper that exits without reading is its own error */
    (void)!write(in, host, strlen(host));
    close(in);
    sigaction(SIGPIPE, &old, NULL);
    r = read_all(out, answer, len, mono_ms() + CRED_HELPER_TIMEOUT_MS);
    close(out);
    if (r != 0) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (r == SIGN_ETIMEOUT) {
        return sign__error(r, "credential helper %s: no answer in %d s; killed", prog, CRED_HELPER_TIMEOUT_MS / 1000);
    }
    if (r != 0) {
        return sign__error(r, "credential helper %s: its answer cannot be read (more than %u bytes?)", prog,
                           CRED_HELPER_MAX);
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

/* "user:secret" from the helper's JSON answer (malloc'd), or an error that names no secret. */
static int parse_answer(char **userpass, const char *answer, size_t len, const char *prog, const char *host)
{
    json_t *j = json_loadb(answer, len, 0, NULL);
    const char *user = json_string_value(json_object_get(j, "Username"));
    const char *secret = json_string_value(json_object_get(j, "Secret"));
    int r = 0;

    if (user == NULL || secret == NULL || secret[0] == '\0') {
        r = sign__error(SIGN_EPARSE, "credential helper %s: its answer for %.100s is not {\"Username\", \"Secret\"}",
                        prog, host);
    } else if (strcmp(user, "<token>") == 0) {
        r = sign__error(SIGN_EINVAL,
                        "credential helper %s: it gives an identity token for %.100s, which signet does not use; "
                        "log in with a user name and password or token",
                        prog, host);
    } else if (user[0] == '\0' || strchr(user, ':') != NULL) {
        r = sign__error(SIGN_EPARSE, "credential helper %s: the user name for %.100s is empty or has a ':'", prog,
                        host);
    } else if ((*userpass = malloc(strlen(user) + strlen(secret) + 2)) == NULL) {
        r = sign__error(SIGN_ENOMEM, "out of memory");
    } else {
        snprintf(*userpass, strlen(user) + strlen(secret) + 2, "%s:%s", user, secret);
    }
    if (secret != NULL) {
        OPENSSL_cleanse((void *)secret, strlen(secret)); /* jansson's copy */
    }
    json_decref(j);
    return r;
}

int sign__reg_cred_helper(char **userpass, const char *name, const char *host)
{
    char prog[96], *answer;
    size_t len = 0;
    int status = 0, r;

    *userpass = NULL;
    if (!name_ok(name)) {
        return sign__error(SIGN_EINVAL, "credential helper \"%.80s\": not a helper name (letters, digits, . _ -)",
                           name);
    }
    snprintf(prog, sizeof(prog), "docker-credential-%s", name);
    if ((answer = malloc(CRED_HELPER_MAX + 1)) == NULL) {
        return sign__error(SIGN_ENOMEM, "out of memory");
    }
    r = run_helper(answer, &len, &status, prog, host);
    if (r == 0 && status != 0) {
        /* the helpers' way of saying "none": exit 1 with this text (docker-credential-helpers'
         * ErrCredentialsNotFound) */
        answer[len] = '\0';
        if (strstr(answer, "credentials not found") == NULL) {
            r = sign__error(SIGN_EIO, "credential helper %s: it failed for %.100s (exit status %d)", prog, host,
                            status);
        }
    } else if (r == 0) {
        r = parse_answer(userpass, answer, len, prog, host);
    }
    sign__free_secret(answer, CRED_HELPER_MAX + 1);
    return r;
}
