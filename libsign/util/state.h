/* State files: small JSON documents in a state directory, changed under a lock. Not installed. */
#ifndef SIGN_UTIL_STATE_H
#define SIGN_UTIL_STATE_H

#include <jansson.h>

#include "sign/common.h"

/*
 * Called with the state document (an object; empty when the file does not
 * exist yet) while the lock is held. Set *changed to have it written back.
 * A non-zero return aborts: nothing is written and it is returned.
 */
typedef int (*sign__state_fn)(json_t *root, int *changed, void *userdata);

/*
 * Read dir/name, let fn change it, and write it back atomically (temporary
 * file, fsync, rename) when changed, all under an exclusive flock on
 * dir/name.lock: concurrent processes see each other's updates in turn.
 * dir is created (mode 0700, with its parents) when missing. A state file
 * that cannot be read or is not a JSON object is an error naming the file
 * (SIGN_EPARSE / SIGN_EIO), never reset silently.
 */
int sign__state_update(const char *dir, const char *name, sign__state_fn fn, void *userdata,
                       const sign_limits *limits);

/* mkdir -p dir, mode 0700 for what is created; SIGN_EIO naming dir on failure. */
int sign__state_mkdir(const char *dir);

/* dir/name joined, malloc'd (NULL and SIGN_ENOMEM recorded when out of memory). */
char *sign__state_path(const char *dir, const char *name);

#endif
