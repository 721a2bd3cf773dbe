/*
 * A zip read through one read-only mapping (artifact.c "mapped reads").
 *
 * Reading a zip's bytes where the page cache holds them, instead of copying them with pread
 * once per reader (whole-file hash, structure parser, libarchive's header walk, the inflater),
 * takes the kernel's copies out of a scan. A mapping has one hazard pread has not: when the
 * file shrinks while it is mapped (another process truncates it), touching a page past the
 * new end raises SIGBUS. Every touch of a mapping is therefore made inside a guard
 * (sign__fmap_guard, sign__fmap_copy): a SIGBUS whose address lies in the mapping of the
 * thread's innermost guard returns from that guard as a short read would, and the caller
 * reports the file as changed while it was read. Nothing else reads the mapping: libarchive
 * is given copies, so no fault can arise in code that holds resources we cannot release.
 *
 * The SIGBUS handler is installed once per process, the first time a file is mapped. A fault
 * outside every guard is passed to the handler that was installed before (or, for the
 * default action, re-raised with it), so a host application sees what it saw without us.
 * When the handler cannot be installed, nothing is mapped and the readers use pread.
 *
 * Mapped pages count in the process's resident set. Readers release what they have read
 * (sign__fmap_release: the pages leave the mapping, not the page cache; a later touch maps
 * them again), so a scan keeps a few MiB of the file mapped at a time, as its reads did.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "artifact_int.h"

typedef struct fmap_guard {
    sigjmp_buf jb;
    const unsigned char *lo, *hi;
    struct fmap_guard *prev;
} fmap_guard;

/* The calling thread's innermost guard (initial-exec: read in the signal handler, never allocated there). */
static __thread fmap_guard *guard_top __attribute__((tls_model("initial-exec")));

static struct sigaction bus_old;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static int bus_ready;
static void (*map_hook)(int fd);
static int map_off;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
    fmap_guard *g = guard_top;
    const unsigned char *at = si != NULL ? (const unsigned char *)si->si_addr : NULL;

    if (g != NULL && at >= g->lo && at < g->hi) {
        siglongjmp(g->jb, 1);
    }
    if (bus_old.sa_flags & SA_SIGINFO) {
        if (bus_old.sa_sigaction != NULL) {
            bus_old.sa_sigaction(sig, si, uc);
        }
        return;
    }
    if (bus_old.sa_handler == SIG_DFL || bus_old.sa_handler == SIG_IGN) {
        /* Not ours: the default action, as the faulting access is made again on return. */
        (void)signal(SIGBUS, SIG_DFL);
        return;
    }
    bus_old.sa_handler(sig);
}

static void bus_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = bus_handler;
    /* SA_NODEFER: SIGBUS stays unblocked after the jump out of the handler (the guard does not save the mask). */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    bus_ready = sigaction(SIGBUS, &sa, &bus_old) == 0;
}

void sign__fmap_set_hook(void (*hook)(int fd))
{
    map_hook = hook;
}

void sign__fmap_disable(int off)
{
    map_off = off;
}

int sign__fmap_open(sign__fmap *m, int fd, uint64_t size)
{
    void *p;

    memset(m, 0, sizeof(*m));
    if (map_off || size == 0 || size > (uint64_t)SIZE_MAX || pthread_once(&bus_once, bus_install) != 0 ||
        !bus_ready) {
        return -1;
    }
    if ((p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        return -1;
    }
    m->p = p;
    m->size = size;
    m->mapped = 1;
    if (map_hook != NULL) {
        map_hook(fd);
    }
    return 0;
}

void sign__fmap_close(sign__fmap *m)
{
    if (m->p != NULL && m->mapped) {
        munmap((void *)m->p, (size_t)m->size);
    }
    memset(m, 0, sizeof(*m));
}

void sign__fmap_release(const sign__fmap *m, uint64_t from, uint64_t to)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), lo, hi;

    if (!m->mapped || pg == 0 || to > m->size) {
        return;
    }
    lo = (from + pg - 1) / pg * pg; /* whole pages inside [from, to) only */
    hi = to == m->size ? to : to / pg * pg;
    if (lo < hi) {
        (void)madvise((void *)(m->p + lo), (size_t)(hi - lo), MADV_DONTNEED);
    }
}

int sign__fmap_guard(const sign__fmap *m, void (*fn)(void *), void *arg)
{
    fmap_guard g;

    g.lo = m->p;
    g.hi = m->p + m->size;
    g.prev = guard_top;
    if (sigsetjmp(g.jb, 0) != 0) {
        guard_top = g.prev;
        return 1;
    }
    guard_top = &g;
    fn(arg);
    guard_top = g.prev;
    return 0;
}

typedef struct fmap_cp {
    void *dst;
    const unsigned char *src;
    size_t len;
} fmap_cp;

static void copy_one(void *arg)
{
    fmap_cp *c = arg;

    memcpy(c->dst, c->src, c->len);
}

size_t sign__fmap_copy(const sign__fmap *m, void *dst, uint64_t off, size_t len)
{
    fmap_cp c;

    if (off >= m->size) {
        return 0;
    }
    if ((uint64_t)len > m->size - off) {
        len = (size_t)(m->size - off);
    }
    c.dst = dst;
    c.src = m->p + off;
    c.len = len;
    return len == 0 || sign__fmap_guard(m, copy_one, &c) == 0 ? len : 0;
}
