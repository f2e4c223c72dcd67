/* io.h — what the drop-in I/O wrappers share (shim/io.c, shim/poll.c,
 * shim/netdb.c): raw system calls that return -errno, libc's own version
 * of a wrapped function, and the one park every wrapper waits in.
 *
 * Raw calls, not libc's: they never reach a wrapper (the shim's own or
 * another library's) and keep errno untouched until the wrapper sets it
 * once, at its end.  Nothing here switches except smarm__shim_park and
 * smarm__shim_pool.
 */
#ifndef SMARM_SHIM_IO_H
#define SMARM_SHIM_IO_H

#include <sys/syscall.h>

#include "shim.h"

/* The shim's own system calls go through the runtime's one syscall
 * instruction (runtime/sys_x86_64.S), which strict mode's filter lets
 * through: a wrapper's attempt is never trapped again. */
static inline long smarm__sys6(long n, long a, long b, long c, long d, long e, long f)
{
	return smarm__sys(n, a, b, c, d, e, f);
}

#define SYS6(n, a, b, c, d, e, f)                                              \
	smarm__sys6(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS(n, a, b, c) SYS6(n, a, b, c, 0, 0, 0)

/* A system call's result as libc returns it: -1 with errno, or n. */
static inline long smarm__shim_ret(long n)
{
	if (n < 0 && n > -4096) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

/* THE PARK.  Every drop-in wrapper that waits for fd readiness (read,
 * write and the rest, accept, poll, select, epoll_wait ...) parks here and
 * nowhere else: wait on s[0..n-1] until an edge (0: try again), the
 * deadline (-ETIMEDOUT), a close (-EBADF) ... (smarm__fd_park, internal.h),
 * a signal handler (-EINTR; 0 instead when `restartable` and the handler
 * has SA_RESTART).  A cancellation point.  Green threads only.  May
 * switch. */
int smarm__shim_park(struct smarm__fdsel *s, int n, int64_t deadline, bool restartable);
/* Run fn(arg) on the blocking pool and park until it is done: regular
 * files, tty writes, name lookup.  Not interruptible: the job writes into
 * the caller's stack, so the caller may not leave before it ends (as a
 * disk read is not interrupted natively).  May switch. */
void *smarm__shim_pool(void *(*fn)(void *), void *arg);

#endif
