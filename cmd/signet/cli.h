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

/*
 * The input options of sign, hash and verify: --ref/--platform ('R', OPT_PLATFORM), --tls-verify
 * (OPT_TLS_VERIFY), --all ('a') and --jobs ('j'); with with_source set (sign and hash) also
 * --follow-symlink ('F'), --git ('G'), --git-remote ('M') and --allow-dirty ('D').
 */
typedef struct cli_input {
    int with_source; /* set by the command: take F, G, M and D too */
    const char *ref; /* --ref or --platform, or NULL */
    const char *git_dir, *git_remote;
    int insecure, all_images, follow_symlink, allow_dirty;
} cli_input;

/* Their rows of a struct option table (the letters above), in the table of each command that takes them. */
#define CLI_INPUT_LONGOPTS                                                                                           \
    {"ref", required_argument, NULL, 'R'}, {"all", no_argument, NULL, 'a'},                                          \
        {"platform", required_argument, NULL, OPT_PLATFORM},                                                         \
        {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},                                                     \
    {                                                                                                                \
        "jobs", required_argument, NULL, 'j'                                                                         \
    }
#define CLI_SOURCE_LONGOPTS                                                                                          \
    {"follow-symlink", no_argument, NULL, 'F'}, {"git", required_argument, NULL, 'G'},                               \
        {"git-remote", required_argument, NULL, 'M'},                                                                \
    {                                                                                                                \
        "allow-dirty", no_argument, NULL, 'D'                                                                        \
    }

/*
 * Before a command's getopt_long loop: its long options checked (out_check_long_options), getopt reset and
 * silent. Returns 0, or EXIT_USAGE after saying why.
 */
struct option;
int cli_getopt_start(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Option c (getopt's) with its argument: 1 taken, 0 not one of these, -1 after a usage error (said). */
int cli_input_opt(cli_input *in, const char *cmd, int c, const char *arg);
/* The SIGN_ARTIFACT_* flags of the options taken (registry TLS, all images, follow symlink). */
unsigned int cli_input_artifact_flags(const cli_input *in);

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
    const char *env;     /* the environment variable read (NULL: SIGNET_PASSPHRASE) */
    const char *label;   /* what is asked for in prompts (NULL: "passphrase"; "PIN" for tokens) */
} cli_passphrase;

#define CLI_PASSPHRASE_INIT                                                                                          \
    {                                                                                                                \
        NULL, 0, NULL, NULL, NULL, NULL                                                                              \
    }

int cli_passphrase_cb(char *buf, size_t size, int confirm, void *userdata);
/*
 * A key that could not be loaded: a wrong passphrase names where it came
 * from ("--passphrase-file F", "SIGNET_PASSPHRASE", "the terminal").
 * Returns the exit code for code.
 */
int cli_key_fail(int code, const char *keyfile, const cli_passphrase *pp);

/*
 * PKCS#11 (cmd/signet/pkcs11.c): the module from --pkcs11-module, else
 * SIGNET_PKCS11_MODULE (a URI's module-path wins over both, in libsign);
 * the PIN from --pin-file, then SIGNET_PKCS11_PIN, then the terminal.
 */
typedef struct cli_pkcs11 {
    const char *module;   /* --pkcs11-module, or NULL */
    const char *pin_file; /* --pin-file, or NULL */
    int allow_pin_in_uri; /* --allow-pin-in-uri */
    cli_passphrase pp;    /* internal */
} cli_pkcs11;

/* 1 when s is a PKCS#11 URI ("pkcs11:..."). */
int cli_is_pkcs11_uri(const char *s);
/* The library's options for p (pin callback included). */
void cli_pkcs11_options(sign_pkcs11_options *o, cli_pkcs11 *p, const char *uri);
/* The key the URI names; prints the one-line error and returns the exit code on failure. */
int cli_pkcs11_key(sign_key **out, const char *uri, cli_pkcs11 *p);
/* The certificate the URI names; the same on failure. */
int cli_pkcs11_certs(sign_x509_certs **out, const char *uri, cli_pkcs11 *p);
/* keygen --pkcs11: generate on the token, write pubpath, print the key id. Returns the exit code. */
int cli_pkcs11_keygen(const char *uri, cli_pkcs11 *p, sign_key_type type, unsigned int bits, const char *pubpath);
int cmd_pkcs11(int argc, char **argv);

#endif
