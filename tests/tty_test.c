/* Passphrases from the terminal: asked twice for a new key, echo off, mismatch refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
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

/* Run "signet keygen -o PREFIX" on a new pty, answering the prompts with a then b. */
static int tty_keygen(const char *prefix, const char *a, const char *b, char *screen, size_t size)
{
    const char *bin = getenv("SIGNET_BIN");
    size_t len = 0;
    int fd, status = 0;
    pid_t pid;

    cr_assert_not_null(bin);
    pid = forkpty(&fd, NULL, NULL, NULL);
    cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        unsetenv("SIGNET_PASSPHRASE");
        execl(bin, bin, "keygen", "-o", prefix, (char *)NULL);
        _exit(127);
    }
    memset(screen, 0, size);
    cr_assert(tty_expect(fd, screen, size, &len, "New passphrase: "), "prompt: %s", screen);
    cr_assert_eq(write(fd, a, strlen(a)), (ssize_t)strlen(a));
    cr_assert_eq(write(fd, "\n", 1), 1);
    cr_assert(tty_expect(fd, screen, size, &len, "Repeat passphrase: "), "second prompt: %s", screen);
    cr_assert_eq(write(fd, b, strlen(b)), (ssize_t)strlen(b));
    cr_assert_eq(write(fd, "\n", 1), 1);
    (void)tty_expect(fd, screen, size, &len, "\n<never>");
    close(fd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

    cr_assert_eq(tty_keygen(prefix, "one passphrase", "another one", screen, sizeof(screen)), 2, "%s", screen);
    cr_assert(!tu_exists(key) && !tu_exists(pub), "nothing written");
    free(prefix);
    free(key);
    free(pub);
    tu_rmtree(dir);
    free(dir);
}
