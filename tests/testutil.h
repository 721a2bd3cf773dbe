/* Shared helpers for the Criterion suite (every tests/ C file is linked into one binary). */
#ifndef SIGNET_TESTUTIL_H
#define SIGNET_TESTUTIL_H

#include <stddef.h>

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
/* 1 when path exists. */
int tu_exists(const char *path);
/*
 * Run argv (argv[0] "signet" means the built CLI from $SIGNET_BIN) with
 * optional environment additions env ("K=V", NULL-terminated, may be NULL)
 * and stdin from /dev/null. Captures stdout and stderr (malloc'd, may be
 * NULL when not wanted). Returns the exit status, or -1 if killed.
 */
int tu_run(char **out, char **err, const char *const *env, const char *const *argv);
/* The source tree root ($SIGNET_SRC, default "."). */
const char *tu_src(void);

#endif
