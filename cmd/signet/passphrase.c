/*
 * Passphrases for private keys: --passphrase-file, then SIGNET_PASSPHRASE,
 * then the terminal. Never from argv. Every buffer holding a passphrase is
 * wiped before it is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "output.h"

/* Largest passphrase file read: the passphrase is its first line. */
#define PASSFILE_MAX 4096
/* A caller that keeps asking (wrong passphrase in a loop) is cut off. */
#define MAX_TRIES 3

/* Copy s (n bytes) into buf; -1 when it does not fit. */
static int give(char *buf, size_t size, const char *s, size_t n, const char *source)
{
    if (n > size || n > 0x7fffffff) {
        cli_error("passphrase from %s is longer than %zu bytes", source, size);
        return -1;
    }
    memcpy(buf, s, n);
    return (int)n;
}

/*
 * The first line of file, without its line end ("\n" or "\r\n"). A file
 * that group or others may read is used, with a warning: refusing would
 * break secret mounts that are 0644 inside a container, but the user
 * should know.
 */
static int from_file(char *buf, size_t size, const char *file)
{
    char data[PASSFILE_MAX + 1];
    struct stat st;
    size_t len = 0, n;
    ssize_t got;
    int fd, r = -1;
    char *nl;

    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_error("passphrase file %s: %s", file, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("passphrase file %s: not a regular file", file);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        cli_error("warning: passphrase file %s is accessible by group or others (mode %03o); chmod 600 it", file,
                  (unsigned)(st.st_mode & 0777));
    }
    while (len < PASSFILE_MAX) {
        got = read(fd, data + len, PASSFILE_MAX - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            cli_error("passphrase file %s: %s", file, strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    data[len] = '\0';
    if ((nl = memchr(data, '\n', len)) != NULL) {
        n = (size_t)(nl - data);
    } else if (len == PASSFILE_MAX) {
        cli_error("passphrase file %s: first line longer than %d bytes", file, PASSFILE_MAX);
        goto out;
    } else {
        n = len;
    }
    if (n > 0 && data[n - 1] == '\r') {
        n--;
    }
    if (memchr(data, '\0', n) != NULL) {
        cli_error("passphrase file %s: NUL byte in the passphrase", file);
        goto out;
    }
    r = give(buf, size, data, n, file);
out:
    OPENSSL_cleanse(data, sizeof(data));
    close(fd);
    return r;
}

/* Terminal state to restore if a signal arrives while echo is off. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_fd_to_restore = -1;

static void restore_and_reraise(int sig)
{
    int fd = tty_fd_to_restore;

    if (fd >= 0) {
        (void)tcsetattr(fd, TCSAFLUSH, &saved_tio);
        if (write(fd, "\n", 1) < 0) {
            /* nothing more to do in a signal handler */
        }
    }
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

/* Read one line from the tty with echo off. Returns its length or -1. */
static int read_tty_line(int fd, const char *prompt, char *line, size_t size)
{
    /* Not SIGTSTP: resuming after a restore would read the rest with echo on. */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
    struct termios tio;
    size_t n = 0;
    int r = -1, overflow = 0, eof = 0;
    char c;

    if (tcgetattr(fd, &saved_tio) != 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, &old[i]);
    }
    tio = saved_tio;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    tio.c_lflag |= ICANON;
    tty_fd_to_restore = fd;
    /*
     * Echo off before the prompt appears: whatever is typed once it is shown
     * is never echoed (the prompt used to come first, and a fast typist or a
     * program answering it had the passphrase echoed; found by the pty test).
     */
    if (tcsetattr(fd, TCSAFLUSH, &tio) != 0 || write(fd, prompt, strlen(prompt)) < 0) {
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, &c, 1);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            eof = 1;
            goto out;
        }
        if (c == '\n' || c == '\r') {
            break;
        }
        if (n < size) {
            line[n++] = c;
        } else {
            overflow = 1;
        }
    }
    if (!overflow) {
        r = (int)n;
    }
out:
    c = 0;
    (void)tcsetattr(fd, TCSAFLUSH, &saved_tio);
    tty_fd_to_restore = -1;
    if (write(fd, "\n", 1) < 0) {
        /* the terminal went away; the line is read already */
    }
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &old[i], NULL);
    }
    /* Reported after the terminal is restored, on a line of its own. */
    if (eof) {
        cli_error("no passphrase entered");
    } else if (overflow) {
        cli_error("passphrase longer than %zu bytes", size);
    }
    if (r < 0) {
        OPENSSL_cleanse(line, size);
    }
    return r;
}

/* Attempts at a new passphrase whose two entries differ, as ssh-keygen gives. */
#define CONFIRM_TRIES 3

/*
 * Ask on /dev/tty, naming keyfile (twice when confirming, and again when
 * the two differ, CONFIRM_TRIES times). -1 without a terminal.
 */
static int from_tty(char *buf, size_t size, int confirm, const char *keyfile, const char *label)
{
    char *again = NULL, prompt[1200], prompt2[1200], name[1100];
    int fd, n = -1, m, r = -1;

    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        return -1; /* no terminal: the caller reports a missing passphrase */
    }
    name[0] = '\0';
    if (keyfile != NULL) {
        char *t = sign_text_safe(keyfile);

        snprintf(name, sizeof(name), " for %s", t != NULL ? t : "the key");
        free(t);
    }
    if (label != NULL) {
        snprintf(prompt, sizeof(prompt), "%s%s: ", label, name); /* a token's PIN: never a new one */
    } else {
        snprintf(prompt, sizeof(prompt), "%s%s: ", confirm ? "New passphrase" : "Passphrase", name);
    }
    snprintf(prompt2, sizeof(prompt2), "Repeat passphrase%s: ", name);
    if (!confirm) {
        r = read_tty_line(fd, prompt, buf, size);
        goto out;
    }
    if ((again = malloc(size)) == NULL) {
        goto out;
    }
    for (int attempt = 1; attempt <= CONFIRM_TRIES; attempt++) {
        if ((n = read_tty_line(fd, prompt, buf, size)) < 0 || (m = read_tty_line(fd, prompt2, again, size)) < 0) {
            goto out;
        }
        if (m == n && CRYPTO_memcmp(buf, again, (size_t)n) == 0) {
            r = n;
            goto out;
        }
        if (attempt < CONFIRM_TRIES) {
            static const char retry[] = "The passphrases do not match; try again.\n";

            if (write(fd, retry, sizeof(retry) - 1) < 0) {
                goto out;
            }
        }
    }
    cli_error("the passphrases do not match (%d tries)", CONFIRM_TRIES);
out:
    if (again != NULL) {
        OPENSSL_cleanse(again, size);
        free(again);
    }
    if (r < 0) {
        OPENSSL_cleanse(buf, size);
    }
    close(fd);
    return r;
}

int cli_passphrase_cb(char *buf, size_t size, int confirm, void *userdata)
{
    cli_passphrase *pp = userdata;
    const char *envname = pp != NULL && pp->env != NULL ? pp->env : "SIGNET_PASSPHRASE";
    const char *env = getenv(envname);

    if (pp != NULL && ++pp->tries > MAX_TRIES) {
        return -1;
    }
    /* An explicit flag beats the environment (a stale SIGNET_PASSPHRASE must not win over --passphrase-file). */
    if (pp != NULL && pp->file != NULL) {
        pp->source = "--passphrase-file";
        return from_file(buf, size, pp->file);
    }
    if (env != NULL) {
        if (pp != NULL) {
            pp->source = envname;
        }
        return give(buf, size, env, strlen(env), envname);
    }
    if (pp != NULL) {
        pp->source = "the terminal";
    }
    return from_tty(buf, size, confirm, pp != NULL ? pp->keyfile : NULL, pp != NULL ? pp->label : NULL);
}

int cli_key_fail(int code, const char *keyfile, const cli_passphrase *pp)
{
    const char *what = pp != NULL && pp->keyfile != NULL ? pp->keyfile : keyfile;

    const char *jcode = code == SIGN_EPASSPHRASE                                               ? "PASSPHRASE_WRONG"
                        : code == SIGN_ENOTFOUND                                               ? "KEY_MISSING"
                        : code == SIGN_EPARSE || code == SIGN_EUNSUPPORTED || code == SIGN_EIO ? "KEY_MALFORMED"
                                                                                               : NULL;

    if (code == SIGN_EPASSPHRASE && pp != NULL && pp->source != NULL) {
        const char *msg = sign_error_last();
        int isfile = pp->file != NULL && strcmp(pp->source, "--passphrase-file") == 0;
        char *f = isfile ? sign_text_safe(pp->file) : NULL, full[2048];

        snprintf(full, sizeof(full), "%s (the passphrase came from %s%s%s)",
                 msg != NULL && *msg != '\0' ? msg : sign_strerror(code), pp->source, isfile ? " " : "",
                 f != NULL ? f : "");
        out_json_note(jcode, "key", what, full);
        cli_error("%s", full);
        free(f);
        return cli_exit_code(code);
    }
    if (jcode != NULL) {
        out_json_note(jcode, "key", what, sign_error_last());
    }
    return cli_fail(code, keyfile);
}
