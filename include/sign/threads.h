/* signet — the thread budget of libsign's parallel work. */
#ifndef SIGN_THREADS_H
#define SIGN_THREADS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest budget sign_set_thread_budget accepts. */
#define SIGN_THREAD_BUDGET_MAX 1024u

/*
 * libsign runs the independent parts of a call (the artifacts and bundles of
 * a verify, the files of a sign, the layers of an image, the parts of a zip)
 * on one process-wide pool of threads. The budget is the most threads that
 * work for one call at once: the calling thread plus up to budget - 1 pool
 * threads, however deeply the parts nest. The pool threads are shared: when
 * several threads of the application call libsign at once, each caller works
 * on its own call, and the budget - 1 pool threads help them all.
 *
 * n = 0 sets the default, the number of online cores; n = 1 runs everything
 * on the calling thread. Results never depend on the budget, only the time
 * they take. Safe to call from any thread at any time: calls under way keep
 * their pool threads until those finish their current part, and surplus idle
 * pool threads end. Returns 0, or SIGN_EINVAL (nothing changed) when n is
 * above SIGN_THREAD_BUDGET_MAX.
 */
SIGN_EXTERN int sign_set_thread_budget(unsigned int n);

/* The budget in effect (the number of online cores when none was set; at least 1). */
SIGN_EXTERN unsigned int sign_thread_budget(void);

/*
 * fn(arg, i) for every i < n, on the calling thread and libsign's pool
 * threads: the application's own parallel work within the one budget. The
 * libsign calls fn makes run inside it (a verify's artifacts and bundles,
 * an image's layers) share the same threads, so however they nest no more
 * than the budget's threads work at once, and a call that finds every pool
 * thread busy runs its parts itself, without waiting for a thread. Returns
 * when every fn(arg, i) has returned. Items may run in any order on any
 * thread: each must write only what is its own (or lock), and per-thread
 * state (sign_error_last) is the running thread's.
 */
SIGN_EXTERN void sign_parallel_for(size_t n, void (*fn)(void *arg, size_t i), void *arg);

#ifdef __cplusplus
}
#endif

#endif
