/*
 * libsign's one inflater: raw deflate (zip entries) and gzip members (OCI
 * layers), streaming, with ISA-L (igzip) when the build found it and zlib
 * otherwise (`make INFLATE=zlib`). Not installed.
 *
 * Both engines only decode deflate blocks. Everything around them is read
 * here, once, for both: the gzip header (RFC 1952: method, reserved flags,
 * FEXTRA, FNAME, FCOMMENT, FHCRC), the CRC-32 and ISIZE trailer, and where
 * the stream ends (bytes an engine buffered past the end are handed back).
 * So a damaged header, a bad block, a wrong CRC, a wrong ISIZE and a
 * truncated stream are told apart the same way whichever engine runs;
 * tests/inflate_test.c runs both over the same streams and archives.
 *
 * Output goes to the caller's buffer, at most outcap bytes a call: a caller
 * that checks its limits (total size, ratio) after every call stops a bomb
 * within one buffer, whichever engine runs.
 */
#ifndef SIGN_INFLATE_H
#define SIGN_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sign__inflate sign__inflate;

/* What sign__inflate_run found. */
typedef enum sign__inflate_status {
    SIGN__INFLATE_MORE = 0, /* progress: call again with more input (when *inlen is 0) or more room */
    SIGN__INFLATE_END,      /* the raw stream, or the gzip member with its trailer, is complete and checked */
    SIGN__INFLATE_EDATA,    /* invalid deflate data (a bad block, code or distance) */
    SIGN__INFLATE_EHEADER,  /* invalid gzip header (magic, method, reserved flags, header CRC) */
    SIGN__INFLATE_ECRC,     /* the gzip trailer's CRC-32 does not match the data */
    SIGN__INFLATE_ESIZE,    /* the gzip trailer's ISIZE does not match the data */
    SIGN__INFLATE_ENOMEM    /* out of memory (sign__error is set) */
} sign__inflate_status;

/* The engines. AUTO: ISA-L when built in, else zlib. */
typedef enum sign__inflate_engine {
    SIGN__INFLATE_AUTO = 0,
    SIGN__INFLATE_ZLIB,
    SIGN__INFLATE_ISAL
} sign__inflate_engine;

/* A new inflater: gzip 0 for raw deflate, 1 for gzip members. SIGN_ENOMEM. */
int sign__inflate_new(sign__inflate **out, int gzip);
void sign__inflate_free(sign__inflate *z);

/* Start the next stream or member (after END, or to abandon one). SIGN_ENOMEM. */
int sign__inflate_reset(sign__inflate *z);

/*
 * Inflate from *in (*inlen bytes; both advance past what was used) into
 * out (at most outcap bytes; *outlen is what was written). At END, *in
 * points just past the stream (gzip: past its trailer): whatever follows is
 * the caller's. The *outlen bytes are output whatever the status (a wrong
 * CRC is found after the member's last bytes). An error is final until
 * sign__inflate_reset.
 */
sign__inflate_status sign__inflate_run(sign__inflate *z, const unsigned char **in, size_t *inlen, unsigned char *out,
                                       size_t outcap, size_t *outlen);

/* The CRC-32 of the output of the current stream so far (gzip: of the member), and its length. */
uint32_t sign__inflate_crc(const sign__inflate *z);
uint64_t sign__inflate_total_out(const sign__inflate *z);

/* The bytes of input the current stream used, header and trailer included (at END: its exact length). */
uint64_t sign__inflate_total_in(const sign__inflate *z);

/* A short description of the last error ("invalid deflate data", "gzip header: reserved flags set", ...). */
const char *sign__inflate_msg(const sign__inflate *z);

/* The engine new inflaters use ("isa-l" or "zlib"). */
const char *sign__inflate_engine_name(void);

/* CRC-32 (the zip and gzip one) of p[0..n), continuing crc (0 to start). */
uint32_t sign__crc32(uint32_t crc, const void *p, size_t n);

/*
 * Tests and the differential fuzz targets only: the engine for inflaters
 * made from now on (AUTO: the default). SIGN_EINVAL for ISAL in a build
 * without it. Process-wide; set it before scanning.
 */
int sign__inflate_use(sign__inflate_engine e);

/* Tests only: the bytes every inflater of the process has written (to see that a limit stopped one early). */
uint64_t sign__inflate_bytes_out(void);

#endif
