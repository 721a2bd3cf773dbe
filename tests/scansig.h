/*
 * The whole answer of an artifact scan as text, and the differential check
 * of the two inflate engines (util/inflate.h) on it: used by
 * tests/inflate_test.c and by the zip, tar and oci fuzz targets.
 */
#ifndef SIGNET_TESTS_SCANSIG_H
#define SIGNET_TESTS_SCANSIG_H

#include <sign/sign.h>

/*
 * sign_artifact_scan of path as name, written out: the return code and error
 * message, or the kind, size, digest, every entry (path, type, mode, size,
 * digest, link target), every finding (id, severity, path, message) and
 * every layer (digest, diffID, size, entries). malloc'd.
 */
char *scansig_scan(const char *path, const char *name, const sign_limits *lim);

/*
 * The scan with zlib and with ISA-L (when the build has it): NULL when both
 * give the same answer, else a malloc'd description of the first line that
 * differs. *engines (optional) is the number of engines compared (1 or 2).
 */
char *scansig_differential(const char *path, const char *name, const sign_limits *lim, int *engines);

#endif
