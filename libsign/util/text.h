/*
 * libsign internals: the one UTF-8 decoder and the one escaper (util/text.c).
 * Not installed. See docs/safety.md, "Printing untrusted text".
 *
 * Escape syntax, everywhere: every byte of a sequence that must not reach a
 * terminal raw is written as \xNN (two lowercase hex digits): invalid UTF-8,
 * C0 controls (NUL included), DEL, C1 controls (U+0080..U+009F, e.g. CSI
 * written as C2 9B) and the bidirectional overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069). Everything else, valid UTF-8 included,
 * is kept. A backslash is kept as it is: the escaping is for display (no
 * raw control byte survives), not a reversible encoding.
 */
#ifndef SIGN_UTIL_TEXT_H
#define SIGN_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Strict UTF-8: the length (1 to 4) of the well-formed sequence at p (n > 0
 * bytes available), with its code point in *cp when cp is not NULL; 0 for an
 * invalid byte: a stray continuation byte, an overlong form, a surrogate
 * (U+D800..U+DFFF), a value above U+10FFFF, or a sequence cut by n.
 */
size_t sign__utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);
/* 1 when the len bytes at s are all well-formed UTF-8 (NUL bytes count as U+0000). */
int sign__utf8_valid(const char *s, size_t len);
/* 1 for a code point that is escaped for display (C0, DEL, C1, bidi overrides and isolates). */
int sign__text_cp_unsafe(uint32_t cp);

/*
 * The printable form of the len bytes at s into out (outsize > 0, always
 * NUL-terminated). When it does not fit it is cut between two characters or
 * escapes (never inside one) and ends in "...". Returns out.
 */
char *sign__text_escape_into(char *out, size_t outsize, const char *s, size_t len);
/* The printable form of len bytes at s, malloc'd (*outlen its length when not NULL); NULL when out of memory. */
char *sign__text_escape(const char *s, size_t len, size_t *outlen);
/*
 * Only the bytes that are not valid UTF-8 as \xNN (for a JSON string, whose
 * serialiser escapes controls itself); malloc'd, NULL when out of memory.
 */
char *sign__text_fix_utf8(const char *s, size_t len, size_t *outlen);
/* 1 when the printable form of s differs from s (something would be escaped). */
int sign__text_needs_escape(const char *s, size_t len);

/*
 * Serialised JSON made safe to print without changing what it means: the
 * raw DEL, C1 and bidi characters that a JSON serialiser leaves in strings
 * are replaced by their \u escapes (C0 controls are already escaped).
 * *text (malloc'd, *len bytes, NUL-terminated) is replaced when something
 * changes. Returns 0, or -1 when out of memory (*text then unchanged).
 */
int sign__text_json_printable(char **text, size_t *len);

#endif
