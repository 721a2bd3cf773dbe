/*
 * libsign's one thread pool: a parallel for with one process-wide budget of
 * threads (sign_set_thread_budget; default one per online core). Not installed.
 *
 * The design, and why it stays within the budget and cannot deadlock:
 *
 * - Pool threads ("workers") are created lazily and kept, at most budget - 1
 *   of them: a worker is created only while the count of workers is below
 *   budget - 1, checked and raised under the pool's one mutex. A worker that
 *   finds itself surplus (the budget was lowered) ends when idle. Nothing
 *   else in libsign creates threads, so the threads working for one call are
 *   its caller plus at most budget - 1 workers, however the loops nest.
 * - sign__pool_for(n, fn, arg) lists a loop of n items; the caller claims
 *   items itself until none is left, while idle workers claim items of any
 *   listed loop (the newest first: the innermost work, which some caller is
 *   waiting for). A nested sign__pool_for, made from inside an item, is the
 *   same: its caller (a worker or the outer caller) works on it itself, and
 *   never waits for a new thread. With a budget of 1 (or n < 2) the items run
 *   in order on the calling thread, with no locking.
 * - When every item of its loop is claimed and some still run on other
 *   threads, the caller helps with items of loops nested inside its own loop's
 *   items (never with unrelated work, which could keep it from returning), or
 *   sleeps until one of them is listed or its last item returns.
 * - Deadlock-free: the mutex is never held while an item runs, and a thread
 *   only ever sleeps (1) as an idle worker, or (2) as a caller waiting for
 *   items that other threads have claimed and are running. An item is never
 *   waited for before some thread has claimed it: the caller claims whatever
 *   is left itself. A claimed item runs on its thread, or that thread sleeps
 *   in (2) on a loop nested strictly deeper; nesting is finite, so the
 *   deepest such wait is on running items, and every loop ends.
 *
 * Results must not depend on which thread runs an item or in which order:
 * each item writes only its own slot, and the caller merges in index order.
 * Thread-local state (sign_error_last, the OpenSSL error queue, uselocale) is
 * the running thread's: an item that fails copies its message into its slot.
 * fork() in another thread while a loop runs is safe for the parent; the
 * child starts with no workers.
 */
#ifndef SIGN_POOL_H
#define SIGN_POOL_H

#include <stddef.h>

typedef void (*sign__pool_fn)(void *arg, size_t i);

/* fn(arg, i) for every i < n, on the calling thread and idle workers; returns when every call has returned. */
void sign__pool_for(size_t n, sign__pool_fn fn, void *arg);

/* The budget in effect (>= 1): what sign_thread_budget returns. */
unsigned int sign__pool_budget(void);

/* Tests only: the most threads that were inside pool work at once, and the most workers alive, since the reset. */
typedef struct sign__pool_stats {
    size_t busy_max;
    size_t workers_max;
} sign__pool_stats;

void sign__pool_stats_get(sign__pool_stats *out);
void sign__pool_stats_reset(void);

#endif
