/* The thread pool and its budget: see pool.h for the design. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "sign/threads.h"
#include "util.h"
#include "pool.h"

typedef struct pool_loop {
    size_t n, next;  /* items; the next one to claim */
    size_t inflight; /* claimed and still running */
    int waiting;     /* the caller sleeps until inflight is 0 */
    sign__pool_fn fn;
    void *arg;
    struct pool_loop *parent;    /* the loop whose item the caller was running, or NULL */
    struct pool_loop *prev, *nx; /* in the open list while next < n */
} pool_loop;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER; /* a loop was listed, a wait ended, the budget changed */
static pool_loop *pool_open;                              /* loops with items to claim, newest first */
static size_t pool_workers;                               /* alive (under pool_mu) */
static size_t pool_idle;                                  /* workers sleeping for work (under pool_mu) */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static unsigned int pool_budget_set;                      /* 0: online cores (atomic) */
static unsigned int pool_cores;                           /* online cores, read once (atomic; 0: not yet) */
static size_t pool_busy, pool_busy_max, pool_workers_max; /* statistics for tests (atomic) */

static _Thread_local pool_loop *pool_current; /* the loop whose item this thread runs */
static _Thread_local int pool_counted;        /* this thread is counted in pool_busy */

/* ---- budget ----------------------------------------------------------------- */

unsigned int sign__pool_budget(void)
{
    unsigned int b = __atomic_load_n(&pool_budget_set, __ATOMIC_RELAXED);

    if (b != 0) {
        return b;
    }
    b = __atomic_load_n(&pool_cores, __ATOMIC_RELAXED);
    if (b == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);

        b = c < 1 ? 1u : c > (long)SIGN_THREAD_BUDGET_MAX ? SIGN_THREAD_BUDGET_MAX : (unsigned int)c;
        __atomic_store_n(&pool_cores, b, __ATOMIC_RELAXED);
    }
    return b;
}

int sign_set_thread_budget(unsigned int n)
{
    if (n > SIGN_THREAD_BUDGET_MAX) {
        return sign__error(SIGN_EINVAL, "thread budget %u: at most %u", n, SIGN_THREAD_BUDGET_MAX);
    }
    __atomic_store_n(&pool_budget_set, n, __ATOMIC_RELAXED);
    /* Surplus idle workers see the new budget and end. */
    pthread_mutex_lock(&pool_mu);
    pthread_cond_broadcast(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    return 0;
}

unsigned int sign_thread_budget(void)
{
    return sign__pool_budget();
}

/* ---- statistics ----------------------------------------------------------------- */

/* NOLINTNEXTLINE(readability-non-const-parameter): written by __atomic_compare_exchange_n */
static void stat_max(size_t *max, size_t v)
{
    size_t cur = __atomic_load_n(max, __ATOMIC_RELAXED);

    while (v > cur && !__atomic_compare_exchange_n(max, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Count this thread as working for the pool; 1 when it was not counted yet (then busy_leave(1) later). */
static int busy_enter(void)
{
    if (pool_counted) {
        return 0;
    }
    pool_counted = 1;
    stat_max(&pool_busy_max, __atomic_add_fetch(&pool_busy, 1, __ATOMIC_RELAXED));
    return 1;
}

static void busy_leave(int entered)
{
    if (entered) {
        __atomic_sub_fetch(&pool_busy, 1, __ATOMIC_RELAXED);
        pool_counted = 0;
    }
}

void sign__pool_stats_get(sign__pool_stats *out)
{
    out->busy_max = __atomic_load_n(&pool_busy_max, __ATOMIC_RELAXED);
    out->workers_max = __atomic_load_n(&pool_workers_max, __ATOMIC_RELAXED);
}

void sign__pool_stats_reset(void)
{
    pthread_mutex_lock(&pool_mu);
    __atomic_store_n(&pool_busy_max, __atomic_load_n(&pool_busy, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&pool_workers_max, pool_workers, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&pool_mu);
}

/* ---- loops (all under pool_mu) ------------------------------------------------------ */

static void loop_unlist(pool_loop *l)
{
    if (l->prev != NULL) {
        l->prev->nx = l->nx;
    } else {
        pool_open = l->nx;
    }
    if (l->nx != NULL) {
        l->nx->prev = l->prev;
    }
    l->prev = l->nx = NULL;
}

/* Claim the next item of l (listed, so one is left) and run it without the mutex. */
static void loop_run_one(pool_loop *l)
{
    pool_loop *saved = pool_current;
    size_t i = l->next++;
    int entered;

    if (l->next == l->n) {
        loop_unlist(l);
    }
    l->inflight++;
    pthread_mutex_unlock(&pool_mu);
    entered = busy_enter();
    pool_current = l;
    l->fn(l->arg, i);
    pool_current = saved;
    busy_leave(entered);
    pthread_mutex_lock(&pool_mu);
    if (--l->inflight == 0 && l->waiting) {
        pthread_cond_broadcast(&pool_cv);
    }
}

/* A listed loop nested (at any depth) inside an item of l, or NULL. */
static pool_loop *loop_descendant(const pool_loop *l)
{
    for (pool_loop *m = pool_open; m != NULL; m = m->nx) {
        for (const pool_loop *p = m->parent; p != NULL; p = p->parent) {
            if (p == l) {
                return m;
            }
        }
    }
    return NULL;
}

/* ---- workers ------------------------------------------------------------------------ */

static void *worker_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        if (pool_workers > sign__pool_budget() - 1) {
            break; /* surplus after the budget was lowered */
        }
        if (pool_open == NULL) {
            pool_idle++;
            pthread_cond_wait(&pool_cv, &pool_mu);
            pool_idle--;
            continue;
        }
        loop_run_one(pool_open);
    }
    pool_workers--;
    pthread_mutex_unlock(&pool_mu);
    return NULL;
}

/* Fork: the mutex is not held across it, and the child (one thread) starts with no workers. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&pool_mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&pool_mu);
}

static void fork_child(void)
{
    pool_open = NULL; /* the loops of threads that do not exist here */
    pool_workers = 0;
    pool_idle = 0;
    pthread_cond_init(&pool_cv, NULL);
    pthread_mutex_unlock(&pool_mu);
}

static void pool_init(void)
{
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Enough workers for want items beside the caller's, within budget - 1 in all. */
static void workers_spawn(size_t want, unsigned int budget)
{
    pthread_attr_t attr;

    if (pool_idle >= want || pool_workers >= budget - 1) {
        return;
    }
    pthread_once(&pool_once, pool_init);
    if (pthread_attr_init(&attr) != 0) {
        return;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (size_t k = pool_idle; k < want && pool_workers < budget - 1; k++) {
        pthread_t tid;

        if (pthread_create(&tid, &attr, worker_main, NULL) != 0) {
            break; /* the caller does the work itself */
        }
        pool_workers++;
        stat_max(&pool_workers_max, pool_workers);
    }
    pthread_attr_destroy(&attr);
}

/* ---- parallel for ------------------------------------------------------------------- */

void sign__pool_for(size_t n, sign__pool_fn fn, void *arg)
{
    unsigned int budget = sign__pool_budget();
    int entered = busy_enter();
    pool_loop l;

    if (n < 2 || budget < 2) {
        for (size_t i = 0; i < n; i++) {
            fn(arg, i);
        }
        busy_leave(entered);
        return;
    }
    memset(&l, 0, sizeof(l));
    l.n = n;
    l.fn = fn;
    l.arg = arg;
    l.parent = pool_current;
    pthread_mutex_lock(&pool_mu);
    l.nx = pool_open;
    if (pool_open != NULL) {
        pool_open->prev = &l;
    }
    pool_open = &l;
    workers_spawn(n - 1, budget);
    pthread_cond_broadcast(&pool_cv);
    while (l.next < l.n) {
        loop_run_one(&l);
    }
    l.waiting = 1;
    while (l.inflight > 0) {
        pool_loop *m = loop_descendant(&l);

        if (m != NULL) {
            loop_run_one(m);
        } else {
            pthread_cond_wait(&pool_cv, &pool_mu);
        }
    }
    pthread_mutex_unlock(&pool_mu);
    busy_leave(entered);
}

void sign_parallel_for(size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
    if (fn != NULL) {
        sign__pool_for(n, fn, arg);
    }
}
