/*
 * libsign internals: the one authority on entry names and link targets
 * (util/path.c), for the zip walker, the tar walker, --tree, artifact names
 * and (later) deploy. Not installed. Rules and examples: docs/safety.md,
 * "Paths"; the shared table of cases: tests/path_test.c.
 */
#ifndef SIGN_UTIL_PATH_H
#define SIGN_UTIL_PATH_H

#include <stddef.h>

/* Longest component a file system stores (NAME_MAX of Linux, NTFS, APFS). */
#define SIGN__PATH_COMPONENT_MAX 255
/* Longest relative path sign__path_check_write accepts (PATH_MAX of Linux). */
#define SIGN__PATH_WRITE_MAX 4096

/* What is wrong with a name: the bits sign__path_check returns. */
#define SIGN__PATH_EMPTY 0x001u          /* no bytes at all */
#define SIGN__PATH_ABSOLUTE 0x002u       /* starts with '/' (with SIGN__PATH_WINDOWS also '\') */
#define SIGN__PATH_DRIVE 0x004u          /* starts with a drive letter "C:" (SIGN__PATH_WINDOWS) */
#define SIGN__PATH_BACKSLASH 0x008u      /* holds a '\' (SIGN__PATH_WINDOWS) */
#define SIGN__PATH_DOTDOT 0x010u         /* a ".." component */
#define SIGN__PATH_CONTROL 0x020u        /* a C0 control character (NUL included) or DEL */
#define SIGN__PATH_UTF8 0x040u           /* not valid UTF-8 */
#define SIGN__PATH_TOO_LONG 0x080u       /* longer than the maximum given */
#define SIGN__PATH_COMPONENT_LONG 0x100u /* a component longer than SIGN__PATH_COMPONENT_MAX */
#define SIGN__PATH_ROOT 0x200u           /* names the root itself: nothing is left after normalisation */

/*
 * How a name is read. Zip names are read as Windows extractors read them too
 * ('\' is a separator, "C:" a drive); tar names are POSIX names, where '\'
 * and ':' are ordinary bytes (systemd unit names hold "\x2d").
 */
#define SIGN__PATH_WINDOWS 0x1u

/*
 * Everything wrong with the len bytes of name (which may hold NUL bytes),
 * as SIGN__PATH_* bits; 0 when nothing is. max is the longest name allowed
 * (SIGN__PATH_TOO_LONG beyond it). SIGN__PATH_ROOT is not reported here.
 */
unsigned int sign__path_check(const char *name, size_t len, size_t max, unsigned int how);
/* 1 when p has a ".." component ('/' separated; with SIGN__PATH_WINDOWS '\' too). */
int sign__path_has_dotdot(const char *p, unsigned int how);
/* A short English phrase for the first problem in bits ("has a '..' component"), "" for 0. */
const char *sign__path_problem(unsigned int bits);

/*
 * The normalised form of p, malloc'd (NULL when out of memory, error set):
 * leading "/" and "./" removed, "//" and "/./" collapsed, a trailing "/"
 * removed (directories are told by their entry type, not their name).
 * ".." components are kept: they are judged, never resolved. "" for the root.
 * Two names that extract to the same place normalise to the same string.
 */
char *sign__path_norm(const char *p);

/* The last component of p: after the last '/' (with SIGN__PATH_WINDOWS after the last '/' or '\'). */
const char *sign__path_base(const char *p, unsigned int how);

/*
 * Can a file be written at rel beneath a root directory (deploy)? 0 when it
 * can; else the SIGN__PATH_* bits that forbid it: empty, the root itself,
 * absolute, a drive letter, a backslash, a ".." component, a control
 * character, invalid UTF-8, longer than SIGN__PATH_WRITE_MAX or a component
 * longer than SIGN__PATH_COMPONENT_MAX. "." and empty components are
 * tolerated (normalised away with sign__path_norm before writing).
 */
unsigned int sign__path_check_write(const char *rel);
/*
 * The same for a name read as how says: 0 for a POSIX name (a tar entry's), where '\' is an ordinary byte,
 * neither a separator nor a reason to refuse, and "C:" no drive; SIGN__PATH_WINDOWS as above.
 */
unsigned int sign__path_check_write_how(const char *rel, unsigned int how);

/* Is the normalised path p a symlink of the same archive or layer? 1 yes, 0 no. */
typedef int (*sign__path_is_link_fn)(void *ctx, const char *p);

/* An absolute link target resolves from the root (an image's file system), not from the host's. */
#define SIGN__LINK_ROOTFS 0x1u

/*
 * Does a symlink with this target, stored at entry, point outside the root
 * once extracted? Resolved lexically, '/' and '\' both separators, from the
 * entry's directory. 1 (escapes) when the target:
 *   - is empty, starts with '\' or a drive letter "C:";
 *   - is absolute ('/'), unless how has SIGN__LINK_ROOTFS (then it resolves
 *     from the root, as a container runtime reads it);
 *   - climbs above the root with "..";
 *   - has a ".." after passing through a symlink of the same archive
 *     (is_link, may be NULL): where it lands depends on that link;
 * and also when the entry's own directory climbs above the root.
 * 0 when it stays inside; SIGN_ENOMEM when out of memory (error set).
 * The same answer for zip, tar and --tree: only the meaning of an absolute
 * target differs by kind (SIGN__LINK_ROOTFS for layers and images).
 */
int sign__path_link_escapes(const char *entry, const char *target, unsigned int how, sign__path_is_link_fn is_link,
                            void *ctx);

#endif
