/* real.c — the libc functions the shim replaces, reached through
 * dlsym(RTLD_NEXT) (the next definition after libsmarm_preload.so: libc's).
 *
 * Two users: the shim itself (real_<name> calls for threads that are not
 * green: carriers, the monitor, pool threads, code before main), and the
 * runtime, whose own calls to these names must never reach the shim.  In
 * the preload build the Makefile renames the runtime objects' references
 * (objcopy --redefine-syms=preload/real.syms): pthread_create becomes
 * smarm__real_pthread_create, defined here.  The runtime's sources do not
 * change and know nothing of it.
 *
 * Each pointer is looked up on first use and cached; a race between two
 * first uses looks it up twice and stores the same value.  Never switches.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "shim.h"

void *smarm__real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		smarm__msg("cannot find the real %s (dlsym RTLD_NEXT)", name);
		abort();
	}
	return p;
}

/* Define smarm__real_<name>(params) forwarding to libc's <name>, looked up
 * once (SMARM_REAL_FN, shim.h). */
#define REAL(ret, name, params, args)                                          \
	SMARM_REAL_FN(ret, name, params)                                       \
	ret smarm__real_##name params                                          \
	{                                                                      \
		return real_##name() args;                                     \
	}

REAL(int, pthread_create, (pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg),
     (t, a, fn, arg))
REAL(int, pthread_join, (pthread_t t, void **v), (t, v))
REAL(pthread_t, pthread_self, (void), ())
REAL(int, pthread_getattr_np, (pthread_t t, pthread_attr_t *a), (t, a))
REAL(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
REAL(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
REAL(int, pthread_cond_init, (pthread_cond_t *c, const pthread_condattr_t *a), (c, a))
REAL(int, pthread_cond_destroy, (pthread_cond_t *c), (c))
REAL(int, pthread_cond_signal, (pthread_cond_t *c), (c))
REAL(int, pthread_cond_timedwait,
     (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts), (c, m, ts))
REAL(int, pthread_once, (pthread_once_t *o, void (*fn)(void)), (o, fn))
REAL(int, sched_yield, (void), ())
REAL(int, pthread_setname_np, (pthread_t t, const char *name), (t, name))
REAL(int, pthread_sigmask, (int how, const sigset_t *set, sigset_t *old), (how, set, old))
REAL(int, pthread_sigqueue, (pthread_t t, int sig, const union sigval v), (t, sig, v))
REAL(int, pthread_getcpuclockid, (pthread_t t, clockid_t *id), (t, id))
REAL(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem))
REAL(int, clock_nanosleep,
     (clockid_t clk, int flags, const struct timespec *req, struct timespec *rem),
     (clk, flags, req, rem))
REAL(int, pthread_key_create, (pthread_key_t *k, void (*dtor)(void *)), (k, dtor))
REAL(int, pthread_key_delete, (pthread_key_t k), (k))
REAL(void *, pthread_getspecific, (pthread_key_t k), (k))
REAL(int, raise, (int sig), (sig))
REAL(int, pthread_setspecific, (pthread_key_t k, const void *v), (k, v))
/* fd I/O, poll and name lookup (io.c, poll.c, netdb.c). */
REAL(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
REAL(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
REAL(ssize_t, pread, (int fd, void *b, size_t n, off_t off), (fd, b, n, off))
REAL(int, close, (int fd), (fd))
REAL(int, epoll_wait, (int epfd, struct epoll_event *ev, int max, int ms), (epfd, ev, max, ms))
REAL(int, epoll_pwait2,
     (int epfd, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *m),
     (epfd, ev, max, ts, m))
REAL(int, eventfd, (unsigned int v, int flags), (v, flags))
REAL(int, epoll_create1, (int flags), (flags))
REAL(int, pipe2, (int fds[2], int flags), (fds, flags))
REAL(int, getaddrinfo,
     (const char *node, const char *serv, const struct addrinfo *hints, struct addrinfo **res),
     (node, serv, hints, res))
REAL(int, sigaction, (int sig, const struct sigaction *act, struct sigaction *old),
     (sig, act, old))
REAL(sighandler_t, signal, (int sig, sighandler_t h), (sig, h))

void smarm__shim_unsupported(const char *fn)
{
	smarm__msg("%s is not supported yet under the preload", fn);
	abort();
}

int64_t smarm__shim_rel_ns(clockid_t clk, const struct timespec *abstime)
{
	struct timespec now;
	int64_t d;

	clock_gettime(clk, &now);
	d = (int64_t)(abstime->tv_sec - now.tv_sec) * 1000000000 +
	    (abstime->tv_nsec - now.tv_nsec);
	return d > 0 ? d : 0;
}
