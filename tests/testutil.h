/* Shared helpers for the Criterion suite (every tests/ C file is linked into one binary). */
#ifndef SIGNET_TESTUTIL_H
#define SIGNET_TESTUTIL_H

#include <stddef.h>

#include <jansson.h>

/* A fresh temporary directory (malloc'd path); removed with tu_rmtree. */
char *tu_mkdtemp(void);
/* rm -rf path (refuses anything outside /tmp). */
void tu_rmtree(const char *path);
/* path = dir "/" name, malloc'd. */
char *tu_path(const char *dir, const char *name);
/* Write bytes to a file (truncating); aborts the test on failure. */
void tu_write(const char *path, const void *data, size_t len);
void tu_write_str(const char *path, const char *s);
/* Read a whole file (malloc'd, NUL-terminated); aborts the test on failure. */
char *tu_read(const char *path, size_t *len);
/* Standard base64 (padded) of len bytes, NUL-terminated and malloc'd (OpenSSL's encoder, not libsign's). */
char *tu_b64(const void *data, size_t len);
/*
 * A scratch directory in tu_dir and a captured output in tu_out (NULL until a test sets it), for the suites
 * whose tests need no more: .init = tu_scratch_setup, .fini = tu_scratch_teardown (removes the directory and
 * frees both).
 */
extern char *tu_dir;
extern char *tu_out;
void tu_scratch_setup(void);
void tu_scratch_teardown(void);
/* 1 when path exists. */
int tu_exists(const char *path);
/* signet's statement for the artifact at path (its subject named name), edited by edit() on its JSON: malloc'd. */
char *tu_statement_edited(const char *path, const char *name, void (*edit)(json_t *st));
/*
 * Run argv (argv[0] "signet" means the built CLI from $SIGNET_BIN) with
 * optional environment additions env ("K=V", NULL-terminated, may be NULL)
 * and stdin from /dev/null. Captures stdout and stderr (malloc'd, may be
 * NULL when not wanted). Returns the exit status, or -1 if killed.
 */
int tu_run(char **out, char **err, const char *const *env, const char *const *argv);
/*
 * Fault injection for tu_run_fault: run argv like tu_run (stdout discarded,
 * stderr captured into *err when err is not NULL), then:
 *   fsize >= 0       the child's RLIMIT_FSIZE in bytes; a write past it kills
 *                    the child with SIGXFSZ mid-write, or fails with EFBIG
 *                    when ignore_xfsz is set (SIGXFSZ ignored in the child);
 *   kill_after_us >= 0  SIGKILL the child that many microseconds after it
 *                    was started (it may have finished already).
 */
typedef struct tu_fault {
    long long fsize;
    int ignore_xfsz;
    long long kill_after_us;
} tu_fault;
/* Returns the exit status (0..255), or 1000 + the signal number that ended the child. */
int tu_run_fault(char **err, const char *const *env, const char *const *argv, const tu_fault *f);
/*
 * A shell script (printf format) run by /bin/sh -e in dir, with HOME=dir and git configured
 * without the user's or the system's settings (a fixed author and committer). Captures
 * stdout and stderr into *out and *err, freeing what they held. Returns tu_run's status.
 */
int tu_sh(char **out, char **err, const char *dir, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Monotonic clock in microseconds. */
long long tu_now_us(void);
/* CPU time of this process (all threads), in microseconds: a guard against runaway work that the
   machine's load does not move, unlike wall time. */
long long tu_cpu_us(void);
/* The source tree root ($SIGNET_SRC, default "."). */
const char *tu_src(void);
/* Read system calls (read, pread) made so far by this thread: /proc/thread-self/io's syscr. */
long long tu_syscr(void);

#endif
