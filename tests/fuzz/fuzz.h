/*
 * Shared helpers of the fuzz targets (see docs/fuzzing.md). Each
 * fuzz_<target>.c defines LLVMFuzzerTestOneInput; it links either with
 * libFuzzer (clang, `make fuzz`) or with replay.c (any compiler,
 * `make fuzz-replay`), always together with common.c.
 */
#ifndef SIGNET_FUZZ_H
#define SIGNET_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "sign/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant on stderr and abort (a crash the fuzzer keeps). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A private directory (mode 0700, under $TMPDIR or /tmp) created on first
 * use and removed with its contents at exit. Targets write nowhere else.
 */
const char *fuzz_tmpdir(void);

/* path of name inside fuzz_tmpdir(); malloc'd. */
char *fuzz_path(const char *name);

/* Replace the file name in fuzz_tmpdir() with exactly data. */
void fuzz_write_file(const char *name, const void *data, size_t len);

/*
 * Limits small enough that one input runs in milliseconds (a fuzzer must
 * not spend its time inflating a 2 GiB bomb); the parsers' own bounds are
 * what is being tested, whatever their value.
 */
void fuzz_limits(sign_limits *l);

/*
 * Scan path as name with each inflate engine of the build (ISA-L and zlib,
 * util/inflate.h) and fail unless both answers are the same, line for line
 * (tests/scansig.h): entries, digests, findings, errors.
 */
void fuzz_check_engines(const char *path, const char *name, const sign_limits *lim);

/* After a refused input: the library must have said why. */
void fuzz_check_error(int r, const char *call);

/* Read every byte of a NUL-terminated string the library returned (NULL allowed). */
size_t fuzz_touch(const char *s);

/* Read every byte of p[0..n) (so ASan checks the range). */
void fuzz_touch_bytes(const void *p, size_t n);

/* Keys made once per process (public half only for the verify checks). */
const sign_key *fuzz_key(sign_key_type type);

/*
 * Exercise a parsed envelope: accessors of every signature, the PAE (its
 * length and prefix), and verification of every signature against keys
 * this process made, which must fail: the input cannot hold their signatures.
 */
void fuzz_envelope_check(const sign_envelope *env);

#endif
