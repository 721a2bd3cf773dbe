/* signet CLI: shared declarations. Only the CLI prints, exits or prompts. */
#ifndef SIGNET_CLI_H
#define SIGNET_CLI_H

#include <stddef.h>

#include "sign/sign.h"

/* Exit codes: a documented contract (README, signet(1)). */
enum {
    EXIT_VERIFIED = 0,  /* verified, or warn/audit mode; success for other commands */
    EXIT_FAILED = 1,    /* verification failed: bad signature, digest mismatch */
    EXIT_USAGE = 2,     /* usage or input error: bad option, unreadable/malformed file */
    EXIT_UNTRUSTED = 3, /* signer not trusted by the policy */
    EXIT_POLICY = 4,    /* policy violated: artifact globs, threshold, requirements */
    EXIT_REVOKED = 5,   /* key, certificate or artifact revoked */
    EXIT_EXPIRED = 6    /* expired, not yet valid, or stale */
};

/* Subcommands: cmd_<verb>(argc, argv) with argv[0] the verb. Return an exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_timestamp(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_deploy(int argc, char **argv);

/*
 * --git DIR [--git-remote NAME] [--allow-dirty] of sign and hash: *out the work
 * tree's source (NULL without --git). Prints the error and returns EXIT_USAGE
 * when it cannot be recorded (a dirty tree without --allow-dirty, no repository).
 */
int cli_git_source(sign_source **out, const char *dir, const char *remote, int allow_dirty);

/* A whole bundle file (64 MiB at most); prints the error and returns EXIT_USAGE. */
int cli_read_bundle(char **out, size_t *len, const char *path);
/* Append a written bundle to the signing log dir (sign --log); prints what happened. */
int cli_log_bundle(const char *dir, const char *bundle);

/* Map a libsign return code to an exit code. */
int cli_exit_code(int sign_code);

/* Print "signet: <fmt>" to stderr (one line). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "signet: <context>: <sign_error_last() or sign_strerror(code)>" and return the exit code for code. */
int cli_fail(int code, const char *context);

/*
 * Passphrase source for sign_passphrase_cb: --passphrase-file (an explicit
 * flag beats the environment), then SIGNET_PASSPHRASE, then the terminal
 * (the prompt names keyfile; asked twice when confirm is set, and again up to
 * three times when the two differ). Never argv.
 */
typedef struct cli_passphrase {
    const char *file;    /* --passphrase-file, or NULL */
    int tries;           /* internal */
    const char *keyfile; /* the key the passphrase is for, named in prompts, or NULL */
    const char *source;  /* set by the callback: where the last passphrase came from */
} cli_passphrase;

#define CLI_PASSPHRASE_INIT                                                                                          \
    {                                                                                                                \
        NULL, 0, NULL, NULL                                                                                          \
    }

int cli_passphrase_cb(char *buf, size_t size, int confirm, void *userdata);
/*
 * A key that could not be loaded: a wrong passphrase names where it came
 * from ("--passphrase-file F", "SIGNET_PASSPHRASE", "the terminal").
 * Returns the exit code for code.
 */
int cli_key_fail(int code, const char *keyfile, const cli_passphrase *pp);

#endif
