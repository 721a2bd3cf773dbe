/* signet CLI: shared printing helpers (only the CLI prints). */
#ifndef SIGNET_OUTPUT_H
#define SIGNET_OUTPUT_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "sign/sign.h"

/*
 * s made printable into buf (truncated to size) with the library's one
 * escaper (sign_text_safe, docs/safety.md): names from argv, the file system
 * or a bundle must not forge lines, send terminal escapes or reorder text.
 * Strings libsign returns are printable already; escaping them again
 * changes nothing (a backslash is kept), so out_finding may pass any
 * finding through. Returns buf.
 */
const char *out_clean_text(char *buf, size_t size, const char *s);

/* "finding: <severity> <id> <artifact>[:<path>]: <message>" on f. */
void out_finding(FILE *f, const char *artifact, const sign_finding *fd);
/* Every finding of every artifact, on f. */
void out_findings(FILE *f, sign_artifact *const *arts, size_t n);

/* Progress on stderr, only when stderr is a terminal. */
void out_progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata);
/*
 * Progress on stderr as a whole line the caller made (audit: artifacts
 * done / total, rate, time left), only when stderr is a terminal, at most ten
 * times a second unless force; cleared by out_progress_end and on ^C.
 */
void out_progress_line(const char *text, int force);
/* Clear a progress line if one was drawn. */
void out_progress_end(void);
/* 1 when progress should be shown (stderr is a terminal). */
int out_progress_wanted(void);

/*
 * --json on every outcome: after out_json_mode(cmd), out_usage_error and
 * out_json_error print one JSON object on stdout (once per run) besides the
 * line on stderr. out_json_wanted tells whether --json is among the options
 * (before "--"), so that even an error while parsing them prints JSON.
 * out_json_printed records that the command printed its own object.
 */
void out_json_mode(const char *cmd);
int out_json_wanted(int argc, char **argv);
void out_json_printed(void);
/* {"code": code, "error": {"role", "path", "message"}, "verdict": "not_verified", ...} on stdout. */
void out_json_error(const char *code, const char *role, const char *path, const char *message);
/*
 * Remember the first error of the run in --json mode (cli_error and cli_fail
 * call it; code NULL: decided by the exit code), so that out_json_done, called
 * by main when the command returns, prints it as the error object when the
 * command printed none. So stdout is never empty under --json.
 */
void out_json_note(const char *code, const char *role, const char *path, const char *message);
int out_json_done(int rc);
/* 1 in --json mode: a command prints its result as JSON, not text. */
int out_json_active(void);
/* The error code of the --json object for a libsign code the CLI could not say more precisely. */
const char *out_json_code(int sign_code);

/*
 * A file that cannot be used, named with its role ("policy", "bundle",
 * "artifact"): "signet CMD: ROLE PATH: <why>" and, in --json mode, an object
 * with code ROLE_MISSING or ROLE_MALFORMED. A bundle given as the policy is
 * said to be one. Returns the exit code for code.
 */
int out_role_fail(int code, const char *cmd, const char *role, const char *path);
/* 1 when path is named *.sigstore.json and holds a Sigstore bundle. */
int out_is_bundle_file(const char *path);

/*
 * Shared option error: "signet CMD: <problem>; see 'signet help CMD'".
 * Returns EXIT_USAGE.
 */
int out_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * getopt_long accepts any unambiguous prefix of a long option, so a mistyped
 * "--passphrase SECRET" would become --passphrase-file and SECRET would be
 * echoed in an error. Refuse long options that are not spelt in full (named
 * without their "=value"). optstring is the one given to getopt_long.
 * Returns 0, or EXIT_USAGE after printing the error.
 */
int out_check_long_options(const char *cmd, int argc, char **argv, const char *optstring,
                           const struct option *longopts);
/* The error for getopt_long's ':' or '?' result (opterr = 0). Returns EXIT_USAGE. */
int out_getopt_error(const char *cmd, int c, char **argv);

/*
 * Created time for sign/hash from SOURCE_DATE_EPOCH (reproducible builds),
 * 0 when unset. Returns 0, or -1 (message printed) when it is malformed.
 */
int out_source_date_epoch(int64_t *out);

/*
 * Structured events (--event-log FILE, --syslog). out_event_open opens FILE
 * for appending before any work is done, so an unwritable log fails early:
 * returns the fd (or -1 when path is NULL), or -2 after printing the error.
 */
int out_event_open(const char *cmd, const char *path);
/*
 * Append line and a newline to fd (when >= 0) in one write, then fsync; send
 * it to syslog (facility auth, ident "signet") when use_syslog, at warning
 * priority when failed, notice otherwise. Returns 0, or EXIT_USAGE after
 * printing the error.
 */
int out_event_emit(int fd, const char *path, int use_syslog, int failed, const char *line);

/*
 * A whole number of seconds, 1 to 600, for option opt of cmd (every timeout option: one range). Returns 0, or
 * EXIT_USAGE after printing the error.
 */
int out_parse_seconds(int *out, const char *cmd, const char *opt, const char *text);

/*
 * --jobs N of cmd: at most N threads work at once (sign_set_thread_budget),
 * 1 to SIGN_THREAD_BUDGET_MAX. Returns 0, or EXIT_USAGE after printing the error.
 */
int out_parse_jobs(const char *cmd, const char *text);
/*
 * The registry credentials files (docs/registry.md): $REGISTRY_AUTH_FILE alone when set, else
 * $XDG_RUNTIME_DIR/containers/auth.json then ~/.docker/config.json. -1 (said) on failure.
 */
int out_registry_credentials(void);
/* --tls-verify true|false (registry references): *insecure 1 for false; a usage error otherwise. */
int out_parse_tls_verify(int *insecure, const char *cmd, const char *text);
/* getopt codes of the registry options, shared by the commands that take docker:// references. */
#define OPT_TLS_VERIFY 0x101
#define OPT_PLATFORM 0x102

#endif
