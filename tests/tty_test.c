/* Passphrases from the terminal: asked twice for a new key, echo off, mismatch refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sign/sign.h"
#include "testutil.h"

/* Read from the pty master until `want` appears (or 10 s pass); the text read so far is in buf. */
static int tty_expect(int fd, char *buf, size_t size, size_t *len, const char *want)
{
    for (int waited = 0; waited < 100;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        buf[*len] = '\0';
        if (strstr(buf, want) != NULL) {
            return 1;
        }
        if (poll(&p, 1, 100) <= 0) {
            waited++;
            continue;
        }
        n = read(fd, buf + *len, size - 1 - *len);
        if (n <= 0) {
            return 0;
        }
        *len += (size_t)n;
    }
    return 0;
}

/* Drop the text up to and including marker (read already), keeping what came after it. */
static void tty_consume(char *buf, size_t *len, const char *marker)
{
    char *p = strstr(buf, marker);
    size_t keep;

    cr_assert_not_null(p);
    p += strlen(marker);
    keep = *len - (size_t)(p - buf);
    memmove(buf, p, keep);
    buf[keep] = '\0';
    *len = keep;
}

/*
 * Run "signet keygen -o PREFIX" on a new pty, answering the prompts (which
 * name PREFIX.key) with a then b, `rounds` times (a mismatch is asked again).
 */
static int tty_keygen_rounds(const char *prefix, const char *a, const char *b, int rounds, char *screen, size_t size)
{
    const char *bin = getenv("SIGNET_BIN");
    char want1[1200], want2[1200];
    size_t len = 0;
    int fd, status = 0;
    pid_t pid;

    cr_assert_not_null(bin);
    snprintf(want1, sizeof(want1), "New passphrase for %s.key: ", prefix);
    snprintf(want2, sizeof(want2), "Repeat passphrase for %s.key: ", prefix);
    pid = forkpty(&fd, NULL, NULL, NULL);
    cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        unsetenv("SIGNET_PASSPHRASE");
        execl(bin, bin, "keygen", "-o", prefix, (char *)NULL);
        _exit(127);
    }
    memset(screen, 0, size);
    for (int i = 0; i < rounds; i++) {
        cr_assert(tty_expect(fd, screen, size, &len, want1), "prompt: %s", screen);
        cr_assert_eq(write(fd, a, strlen(a)), (ssize_t)strlen(a));
        cr_assert_eq(write(fd, "\n", 1), 1);
        cr_assert(tty_expect(fd, screen, size, &len, want2), "second prompt: %s", screen);
        cr_assert_eq(write(fd, b, strlen(b)), (ssize_t)strlen(b));
        cr_assert_eq(write(fd, "\n", 1), 1);
        if (i + 1 < rounds) {
            cr_assert(tty_expect(fd, screen, size, &len, "try again"), "asked again: %s", screen);
            tty_consume(screen, &len, "try again"); /* the next round's prompt must be new text */
        }
    }
    (void)tty_expect(fd, screen, size, &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int tty_keygen(const char *prefix, const char *a, const char *b, char *screen, size_t size)
{
    return tty_keygen_rounds(prefix, a, b, 1, screen, size);
}

static int tty_pass_cb(char *buf, size_t size, int confirm, void *ud)
{
    const char *p = ud;
    size_t n = strlen(p);

    (void)confirm;
    if (n > size) {
        return -1;
    }
    memcpy(buf, p, n);
    return (int)n;
}

Test(tty, keygen_asks_twice_without_echo, .timeout = 60)
{
    char *dir = tu_mkdtemp(), *prefix = tu_path(dir, "k"), *key = tu_path(dir, "k.key");
    char screen[8192];
    sign_key *k = NULL;

    cr_assert_eq(tty_keygen(prefix, "correct horse battery", "correct horse battery", screen, sizeof(screen)), 0,
                 "%s", screen);
    cr_assert_null(strstr(screen, "correct horse"), "the passphrase is never echoed: %s", screen);
    cr_assert_eq(sign_key_load_private(&k, key, tty_pass_cb, (void *)"correct horse battery"), 0, "%s",
                 sign_error_last());
    sign_key_free(k);
    free(prefix);
    free(key);
    tu_rmtree(dir);
    free(dir);
}

Test(tty, keygen_refuses_a_mismatch_and_writes_nothing, .timeout = 60)
{
    char *dir = tu_mkdtemp(), *prefix = tu_path(dir, "k"), *key = tu_path(dir, "k.key"), *pub = tu_path(dir, "k.pub");
    char screen[8192];

    /* Asked again after a mismatch, three times in all, like ssh-keygen; then refused. */
    cr_assert_eq(tty_keygen_rounds(prefix, "one passphrase", "another one", 3, screen, sizeof(screen)), 2, "%s",
                 screen);
    cr_assert_not_null(strstr(screen, "do not match"), "%s", screen);
    cr_assert(!tu_exists(key) && !tu_exists(pub), "nothing written");
    free(prefix);
    free(key);
    free(pub);
    tu_rmtree(dir);
    free(dir);
}

Test(tty, keygen_asks_again_after_a_mismatch, .timeout = 60)
{
    char *dir = tu_mkdtemp(), *prefix = tu_path(dir, "k"), *key = tu_path(dir, "k.key");
    const char *bin = getenv("SIGNET_BIN");
    char screen[8192], want1[1200], want2[1200];
    size_t len = 0;
    int fd, status = 0;
    sign_key *k = NULL;
    pid_t pid;

    cr_assert_not_null(bin);
    snprintf(want1, sizeof(want1), "New passphrase for %s: ", key);
    snprintf(want2, sizeof(want2), "Repeat passphrase for %s: ", key);
    pid = forkpty(&fd, NULL, NULL, NULL);
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        unsetenv("SIGNET_PASSPHRASE");
        execl(bin, bin, "keygen", "-o", prefix, (char *)NULL);
        _exit(127);
    }
    memset(screen, 0, sizeof(screen));
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, want1), "%s", screen);
    cr_assert_eq(write(fd, "first try\n", 10), 10);
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, want2), "%s", screen);
    cr_assert_eq(write(fd, "a typo\n", 7), 7);
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, "try again"), "%s", screen);
    tty_consume(screen, &len, "try again");
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, want1), "asked again: %s", screen);
    cr_assert_eq(write(fd, "second try\n", 11), 11);
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, want2), "%s", screen);
    cr_assert_eq(write(fd, "second try\n", 11), 11);
    (void)tty_expect(fd, screen, sizeof(screen), &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", screen);
    cr_assert_eq(sign_key_load_private(&k, key, tty_pass_cb, (void *)"second try"), 0, "%s", sign_error_last());
    sign_key_free(k);
    free(prefix);
    free(key);
    tu_rmtree(dir);
    free(dir);
}

/* Run signet with args (NULL-terminated) on a pty; the master fd in *fd. */
static pid_t tty_spawn(int *fd, const char *const *args)
{
    const char *bin = getenv("SIGNET_BIN");
    pid_t pid;

    cr_assert_not_null(bin);
    pid = forkpty(fd, NULL, NULL, NULL);
    cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        const char *argv[16];
        size_t n = 0;

        argv[n++] = bin;
        for (; args[n - 1] != NULL && n < 15; n++) {
            argv[n] = args[n - 1];
        }
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* A signed 768 MiB sparse file and its policy in dir (hashing it takes a moment, reading holes is cheap). */
static void tty_big_signed(const char *dir)
{
    char cmd[2048];
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; truncate -s 768M big.bin; \"$SIGNET_BIN\" keygen --no-passphrase -o k >/dev/null;"
             "\"$SIGNET_BIN\" sign -k k.key big.bin >/dev/null;"
             "printf '{\"version\": 1, \"keys\": [{\"name\": \"k\", \"public_key\": \"k.pub\"}]}' > p.json",
             dir);
    cr_assert_eq(tu_run(NULL, NULL, NULL, argv), 0);
}

Test(tty, verify_shows_progress_with_rate_and_clears_it, .timeout = 120)
{
    char *dir = tu_mkdtemp(), *big = tu_path(dir, "big.bin"), *pol = tu_path(dir, "p.json");
    const char *args[] = {"verify", "-p", pol, big, NULL};
    char screen[16384];
    size_t len = 0;
    int fd, status = 0;
    pid_t pid;

    tty_big_signed(dir);
    pid = tty_spawn(&fd, args);
    memset(screen, 0, sizeof(screen));
    (void)tty_expect(fd, screen, sizeof(screen), &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", screen);
    cr_assert_not_null(strstr(screen, " MiB ("), "progress on a terminal, as sign: %s", screen);
    cr_assert_not_null(strstr(screen, "MiB/s"), "with the rate: %s", screen);
    cr_assert_not_null(strstr(screen, "\r\033[Kverified: "), "cleared before the verdict: %s", screen);
    free(big);
    free(pol);
    tu_rmtree(dir);
    free(dir);
}

Test(tty, ctrl_c_clears_the_progress_line, .timeout = 120)
{
    char *dir = tu_mkdtemp(), *big = tu_path(dir, "big.bin"), *pol = tu_path(dir, "p.json");
    const char *args[] = {"verify", "-p", pol, big, NULL};
    char screen[16384], *last;
    size_t len = 0;
    int fd, status = 0;
    pid_t pid;

    tty_big_signed(dir);
    pid = tty_spawn(&fd, args);
    memset(screen, 0, sizeof(screen));
    cr_assert(tty_expect(fd, screen, sizeof(screen), &len, " MiB ("), "progress: %s", screen);
    cr_assert_eq(write(fd, "\003", 1), 1); /* ^C from the terminal: SIGINT to the foreground */
    (void)tty_expect(fd, screen, sizeof(screen), &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "dies of the signal as before: %s", screen);
    last = strrchr(screen, '\r');
    cr_assert_not_null(last);
    cr_assert_eq(strncmp(last, "\r\033[K", 4), 0, "the last thing drawn clears the line: %s", screen);
    cr_assert_null(strstr(last + 4, "MiB"), "nothing after it: %s", last);
    free(big);
    free(pol);
    tu_rmtree(dir);
    free(dir);
}

/*
 * signet audit on a terminal: artifacts done / total (the total from a first walk), the rate and the time
 * left, at most ten lines a second, cleared before the report; nothing of it when stderr is not a terminal.
 */
Test(tty, audit_shows_progress_done_total_rate_and_time_left, .timeout = 120)
{
    char *dir = tu_mkdtemp(), *store = tu_path(dir, "d/store"), *pol = tu_path(dir, "d/policy.json"), cmd[4096];
    char *report = tu_path(dir, "report.txt"), *text;
    const char *args[] = {"audit", "-p", pol, "--jobs", "1", "--report", report, store, NULL};
    const char *sh_argv[] = {"/bin/sh", "-c", cmd, NULL};
    char screen[65536], *out = NULL, *err = NULL, *clear, *p;
    size_t len = 0, lines = 0;
    int fd, status = 0;
    pid_t pid;

    /* the example store (one artifact of each class) and 3,000 unsigned files beside it */
    snprintf(
        cmd, sizeof(cmd),
        "set -e; cd '%s'; sh '%s/keys-example/audit-store.sh' \"$SIGNET_BIN\" d >/dev/null; mkdir -p d/store/bulk; "
        "cd d/store/bulk; seq 1 3000 | xargs touch",
        dir, tu_src());
    cr_assert_eq(tu_run(NULL, NULL, NULL, sh_argv), 0);
    pid = tty_spawn(&fd, args);
    memset(screen, 0, sizeof(screen));
    (void)tty_expect(fd, screen, sizeof(screen), &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "not all verified: exit 1, not %d: %s",
              WEXITSTATUS(status), screen);
    cr_assert_not_null(strstr(screen, "/3010 artifacts, "), "done / total, the total from the first walk: %s",
                       screen);
    cr_assert_not_null(strstr(screen, "/s, "), "the rate: %s", screen);
    cr_assert_not_null(strstr(screen, " s left"), "the time left: %s", screen);
    cr_assert_null(strstr(screen, "MiB"), "a count of artifacts, not of bytes: %s", screen);
    /* the final count is drawn, then the line is cleared: the last thing on the terminal */
    cr_assert_not_null(strstr(screen, "audit 3010/3010 artifacts"), "%s", screen);
    clear = strrchr(screen, '\r');
    cr_assert_not_null(clear);
    cr_assert_str_eq(clear, "\r\033[K", "the progress line is cleared at the end: %s", screen);
    for (p = screen; (p = strstr(p, "\r\033[Kaudit ")) != NULL; p++) {
        lines++;
    }
    cr_assert_lt(lines, 200, "throttled: %zu progress lines for 3010 artifacts", lines);
    text = tu_read(report, &len);
    cr_assert_not_null(strstr(text, "audit of 3010 artifact(s)"), "%s", text);
    cr_assert_null(strstr(text, "\033["), "no progress in the report");
    free(text);
    /* not a terminal: no progress at all */
    snprintf(cmd, sizeof(cmd), "\"$SIGNET_BIN\" audit -p '%s' '%s'", pol, store);
    cr_assert_eq(tu_run(&out, &err, NULL, sh_argv), 1);
    cr_assert_null(strstr(err, "\033["), "%s", err);
    cr_assert_null(strstr(err, "artifacts, "), "%s", err);
    free(out);
    free(err);
    free(store);
    free(pol);
    free(report);
    tu_rmtree(dir);
    free(dir);
}
