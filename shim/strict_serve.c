/* strict_serve.c — park mode: a blocking system call trapped on a carrier
 * (strict.c) served through the runtime while the green thread parks.
 *
 * Called from the SIGSYS handler, on the green thread's stack, at the point
 * where the program's code (or glibc's) made the call: as if that code had
 * called a smarm function instead.  Returns what the kernel would have
 * (>= 0 or -errno); strict.c writes it into the trapped context's RAX.
 * Every system call made here goes through smarm__sys, so none traps again.
 *
 * How each family is served, never touching the program's file flags
 * (DESIGN D4):
 *   read, write          one RWF_NOWAIT try, then smarm_read / smarm_write
 *                        (io.c: readiness, then the call with a per-call
 *                        non-blocking flag)
 *   readv, writev        preadv2/pwritev2(RWF_NOWAIT) at the file position,
 *                        parking on readiness after EAGAIN; a file kind
 *                        without RWF_NOWAIT (a tty) waits for readiness and
 *                        then makes the call
 *   recv*, send*         smarm_sock_* (MSG_DONTWAIT, readiness)
 *   poll, ppoll, select, pselect6
 *                        a look with a zero timeout; if nothing is ready, a
 *                        temporary epoll set of the fds, whose own readiness
 *                        the netpoller waits for; then look again
 *   epoll_wait, _pwait, _pwait2
 *                        the program's epoll fd is waited for by the
 *                        netpoller, then epoll_pwait2 with a zero timeout
 *   nanosleep, clock_nanosleep   a park with a deadline (the timers)
 *   wait4, waitid        a pool thread makes the call
 *   futex                WAIT*: the green wait table (runtime/gfutex.c);
 *                        WAKE*: green waiters first, then the real wake for
 *                        what is left of the count
 * An fd the program made O_NONBLOCK gets the call made natively (its
 * EAGAIN is what it asked for), and so do regular files, block devices and
 * directories (no readiness to wait for; the wrappers send them to the
 * pool, the net does not: a trapped read of a /proc file inside mimalloc's
 * start-up must not park there).  The signal masks of ppoll, pselect6 and
 * epoll_pwait* are not applied while the thread is parked, and a park is
 * not interrupted by signals (LOOM.md, strict mode).
 *
 * io.c keeps its registrations by fd number, and a program that closes an
 * fd behind its back (close is not trapped) could leave one for a file that
 * no longer exists: before serving an fd, its identity (st_dev, st_ino) is
 * compared with the last one seen for that number, and a change makes io.c
 * forget the number first.
 *
 * Every function here may switch.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "shim.h"

#define S(nr, a, b, c, d, e, f) \
	smarm__sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static long native(long nr, const long a[6])
{
	return smarm__sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* A park that ended because the actor is being stopped reads as EINTR. */
static long intr(long r)
{
	return r == -ECANCELED ? -EINTR : r;
}

/* ---- fds ------------------------------------------------------------------- */

#define NFDID 4096
static struct {
	_Atomic uint64_t dev; /* st_dev + 1: 0 means never seen */
	_Atomic uint64_t ino;
} fdid[NFDID];

enum { SERVE = 0, NATIVE = 1 };

/* SERVE, NATIVE (the program's own O_NONBLOCK), or -errno.  *st: the fd's
 * stat. */
static long fd_prepare(int fd, struct stat *st)
{
	long fl = S(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0), r;

	if (fl < 0)
		return fl;
	if ((r = S(SYS_fstat, fd, st, 0, 0, 0, 0)) < 0)
		return r;
	if (fd < NFDID) {
		uint64_t d = (uint64_t)st->st_dev + 1, i = (uint64_t)st->st_ino;
		uint64_t od = atomic_load_explicit(&fdid[fd].dev, memory_order_relaxed);
		if (od != d || atomic_load_explicit(&fdid[fd].ino, memory_order_relaxed) != i) {
			if (od != 0)
				smarm_io_forget(fd);
			atomic_store_explicit(&fdid[fd].ino, i, memory_order_relaxed);
			atomic_store_explicit(&fdid[fd].dev, d, memory_order_relaxed);
		}
	}
	return (fl & O_NONBLOCK) ? NATIVE : SERVE;
}

/* io.c sends with MSG_NOSIGNAL; a program's write to a broken socket
 * expects SIGPIPE (a pipe's sends it from the kernel already). */
static long sigpipe(long r, const struct stat *st, int flags)
{
	if (r == -EPIPE && S_ISSOCK(st->st_mode) && !(flags & MSG_NOSIGNAL))
		S(SYS_tgkill, S(SYS_getpid, 0, 0, 0, 0, 0, 0), S(SYS_gettid, 0, 0, 0, 0, 0, 0),
		  SIGPIPE, 0, 0, 0);
	return r;
}

static long wait_fd(int fd, bool wr, int64_t timeout)
{
	return intr(wr ? smarm_wait_writable(fd, timeout) : smarm_wait_readable(fd, timeout));
}

static long serve_vec(int fd, const struct iovec *iov, int cnt, bool wr,
		      const struct stat *st)
{
	for (;;) {
		long r = S(wr ? SYS_pwritev2 : SYS_preadv2, fd, iov, cnt, -1, 0, RWF_NOWAIT), w;

		if (r == -EOPNOTSUPP) {
			/* No per-call non-blocking flag for this kind (a tty):
			 * readiness, then the call, as io.c does for ttys. */
			if ((w = wait_fd(fd, wr, -1)) < 0)
				return w;
			return sigpipe(S(wr ? SYS_writev : SYS_readv, fd, iov, cnt, 0, 0, 0), st, 0);
		}
		if (r != -EAGAIN)
			return sigpipe(r, st, 0);
		if ((w = wait_fd(fd, wr, -1)) < 0)
			return w;
	}
}

/* read/write: one try with RWF_NOWAIT first.  Data (or room) is there
 * most of the time, and then the call costs one system call more than the
 * trap itself; the flags and the fd's identity matter only when it would
 * block.  *done: bytes a write already wrote (it must go on with the rest,
 * as a blocking write does).  Returns the answer, or -EAGAIN to go on. */
static long try_nowait(long nr, const long a[6], size_t *done)
{
	struct iovec v = {.iov_base = (void *)a[1], .iov_len = (size_t)a[2]};
	long r;

	*done = 0;
	r = S(nr == SYS_read ? SYS_preadv2 : SYS_pwritev2, a[0], &v, 1, -1, 0, RWF_NOWAIT);
	if (r == -EOPNOTSUPP || r == -EINVAL)
		return -EAGAIN; /* no RWF_NOWAIT here (a tty, a regular file) */
	if (r > 0 && nr == SYS_write && (size_t)r < v.iov_len) {
		*done = (size_t)r;
		return -EAGAIN;
	}
	return r;
}

static long serve_fd(long nr, const long a[6])
{
	int fd = (int)a[0];
	struct stat st;
	size_t done = 0;
	long k;

	if ((nr == SYS_read || nr == SYS_write) && (k = try_nowait(nr, a, &done)) != -EAGAIN)
		return k;
	if ((k = fd_prepare(fd, &st)) < 0)
		return done ? (long)done : k;
	if (k == NATIVE && done)
		return (long)done; /* O_NONBLOCK: a partial write is the answer */
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
		/* No readiness; the disk's wait is short.  Natively: a trapped
		 * read of a /proc file inside mimalloc must not park there. */
		if (!done)
			return native(nr, a);
		k = S(SYS_write, fd, (const char *)a[1] + done, (size_t)a[2] - done, 0, 0, 0);
		return k < 0 ? (long)done : k + (long)done;
	}
	if (k == NATIVE)
		return native(nr, a);
	switch (nr) {
	case SYS_read:
		return intr(smarm_read(fd, (void *)a[1], (size_t)a[2], -1));
	case SYS_write:
		k = sigpipe(intr(smarm_write(fd, (const char *)a[1] + done, (size_t)a[2] - done, -1)),
			    &st, 0);
		return k < 0 ? (done ? (long)done : k) : k + (long)done;
	case SYS_readv:
	case SYS_writev:
		return serve_vec(fd, (const struct iovec *)a[1], (int)a[2], nr == SYS_writev, &st);
	case SYS_recvfrom:
		return intr(smarm_sock_recvfrom(fd, (void *)a[1], (size_t)a[2], (int)a[3],
						(struct sockaddr *)a[4], (socklen_t *)a[5], -1));
	case SYS_sendto:
		return sigpipe(intr(smarm_sock_sendto(fd, (const void *)a[1], (size_t)a[2],
						      (int)a[3], (const struct sockaddr *)a[4],
						      (socklen_t)a[5], -1)),
			       &st, (int)a[3]);
	case SYS_recvmsg:
		return intr(smarm_sock_recvmsg(fd, (struct msghdr *)a[1], (int)a[2], -1));
	case SYS_sendmsg:
		return sigpipe(intr(smarm_sock_sendmsg(fd, (const struct msghdr *)a[1], (int)a[2],
						       -1)),
			       &st, (int)a[2]);
	}
	return native(nr, a);
}

/* ---- waits on many fds ------------------------------------------------------- */

static int64_t ts_ns(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL - 1; /* caller checks < -1 */
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
		return -1;
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Park until the absolute deadline (-1: for ever).  0, or -EINTR. */
static long sleep_until(int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	intptr_t v;

	smarm__wait_prepare(self, "sleep", NULL);
	v = smarm__park(deadline);
	return v == -ETIMEDOUT ? 0 : intr(v < 0 ? v : -EINTR);
}

static int64_t left(int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - smarm__now();
	return d > 0 ? d : 0;
}

/* poll(2) on fds, parking until one is ready or the deadline.  The look
 * with a zero timeout fills revents; between looks, the netpoller waits for
 * a temporary epoll set of the fds (level-triggered: already-ready fds make
 * it readable at once). */
static long serve_poll(struct pollfd *fds, nfds_t n, int64_t timeout)
{
	int64_t deadline = smarm__deadline(timeout);

	for (;;) {
		long r = S(SYS_poll, fds, n, 0, 0, 0, 0), w;
		int ep;

		if (r != 0 || timeout == 0)
			return r;
		if (n == 0)
			return sleep_until(deadline);
		if ((ep = (int)S(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0)) < 0)
			return ep;
		for (nfds_t i = 0; i < n; i++) {
			struct epoll_event ev = {.data.u64 = i};
			if (fds[i].fd < 0)
				continue;
			ev.events = (fds[i].events & (POLLIN | POLLOUT | POLLPRI | POLLRDHUP));
			/* EPERM (a regular file: always ready, the look saw it)
			 * or EBADF (POLLNVAL, the look saw it too): nothing to add. */
			S(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[i].fd, &ev, 0, 0);
		}
		w = wait_fd(ep, false, left(deadline));
		smarm_close(ep);
		if (w == -ETIMEDOUT)
			return S(SYS_poll, fds, n, 0, 0, 0, 0);
		if (w < 0)
			return w;
	}
}

/* select(2) as a poll of the fds in its sets. */
static long serve_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t timeout)
{
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	long r;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
			   (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
			   (ex && FD_ISSET(fd, ex) ? POLLPRI : 0);
		if (ev)
			p[n++] = (struct pollfd){.fd = fd, .events = ev};
	}
	if ((r = serve_poll(p, n, timeout)) < 0)
		return r;
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL)
			return -EBADF;
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	r = 0;
	for (nfds_t i = 0; i < n; i++) {
		short rv = p[i].revents;
		if (rd && (p[i].events & POLLIN) && (rv & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(p[i].fd, rd);
			r++;
		}
		if (wr && (p[i].events & POLLOUT) && (rv & (POLLOUT | POLLERR))) {
			FD_SET(p[i].fd, wr);
			r++;
		}
		if (ex && (p[i].events & POLLPRI) && (rv & POLLPRI)) {
			FD_SET(p[i].fd, ex);
			r++;
		}
	}
	return r;
}

static long serve_epoll(int ep, struct epoll_event *ev, int max, int64_t timeout)
{
	static const struct timespec zero;
	int64_t deadline = smarm__deadline(timeout);
	struct stat st;
	long r, w;

	if ((r = fd_prepare(ep, &st)) < 0)
		return r;
	for (;;) {
		r = S(SYS_epoll_pwait2, ep, ev, max, &zero, 0, sizeof(sigset_t));
		if (r != 0 || timeout == 0)
			return r;
		w = wait_fd(ep, false, left(deadline));
		if (w == -ETIMEDOUT)
			return S(SYS_epoll_pwait2, ep, ev, max, &zero, 0, sizeof(sigset_t));
		if (w < 0)
			return w;
	}
}

/* ---- sleeps ------------------------------------------------------------------ */

static long serve_sleep(clockid_t clk, int flags, const struct timespec *req,
			struct timespec *rem)
{
	int64_t ns = ts_ns(req), deadline;
	struct timespec now;
	long r;

	if (ns < -1 || !req)
		return -EINVAL;
	if (flags & TIMER_ABSTIME) {
		if ((r = S(SYS_clock_gettime, clk, &now, 0, 0, 0, 0)) < 0)
			return r;
		ns -= (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		if (ns <= 0)
			return 0;
	}
	deadline = smarm__deadline(ns);
	r = sleep_until(deadline);
	if (r == -EINTR && rem && !(flags & TIMER_ABSTIME)) {
		int64_t l = left(deadline);
		rem->tv_sec = l / 1000000000;
		rem->tv_nsec = l % 1000000000;
	}
	return r;
}

/* ---- children: a pool thread waits ------------------------------------------ */

struct wait_job {
	long nr, a[6], result;
};

static void *wait_run(void *p)
{
	struct wait_job *j = p;

	j->result = native(j->nr, j->a);
	return NULL;
}

static long serve_wait(long nr, const long a[6])
{
	struct wait_job j = {.nr = nr};

	memcpy(j.a, a, sizeof j.a);
	smarm_block_on_io(wait_run, &j, NULL);
	return j.result;
}

/* ---- futexes ------------------------------------------------------------------ */

static long serve_futex(const long a[6])
{
	_Atomic uint32_t *w = (_Atomic uint32_t *)a[0];
	int op = (int)a[1], cmd = op & 0x7f, n, g;
	uint32_t bitset = FUTEX_BITSET_MATCH_ANY;
	const struct timespec *ts = (const struct timespec *)a[3];
	int64_t ns, deadline = -1;
	struct timespec now;
	long r;

	if ((uintptr_t)w % 4)
		return -EINVAL;
	switch (cmd) {
	case FUTEX_WAIT_BITSET:
		if ((bitset = (uint32_t)a[5]) == 0)
			return -EINVAL;
		/* fall through */
	case FUTEX_WAIT:
		if ((ns = ts_ns(ts)) < -1)
			return -EINVAL;
		if (ns >= 0 && cmd == FUTEX_WAIT_BITSET) {
			/* An absolute time on CLOCK_MONOTONIC or, with the flag,
			 * CLOCK_REALTIME. */
			clockid_t clk = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME
								     : CLOCK_MONOTONIC;
			if ((r = S(SYS_clock_gettime, clk, &now, 0, 0, 0, 0)) < 0)
				return r;
			ns -= (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
			if (ns < 0)
				ns = 0;
		}
		if (ns >= 0)
			deadline = smarm__deadline(ns);
		if (ns == 0)
			deadline = 0;
		return smarm__gfutex_wait(w, (uint32_t)a[2], bitset, deadline);
	case FUTEX_WAKE_BITSET:
		if ((bitset = (uint32_t)a[5]) == 0)
			return -EINVAL;
		/* fall through */
	case FUTEX_WAKE:
		n = (int)a[2];
		g = smarm__gfutex_wake(w, n, bitset);
		if (g >= n)
			return g;
		/* The rest of the count for OS threads (and other processes). */
		r = S(SYS_futex, w, op, n - g, 0, 0, a[5]);
		return r < 0 ? (g ? g : r) : g + r;
	}
	return native(SYS_futex, a);
}

/* ---- the switch ------------------------------------------------------------------ */

long smarm__strict_serve(long nr, const long a[6])
{
	int64_t ns;

	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
		return serve_fd(nr, a);
	case SYS_poll:
		return serve_poll((struct pollfd *)a[0], (nfds_t)a[1],
				  (int)a[2] < 0 ? -1 : (int64_t)(int)a[2] * 1000000);
	case SYS_ppoll:
		if ((ns = ts_ns((const struct timespec *)a[2])) < -1)
			return -EINVAL;
		return serve_poll((struct pollfd *)a[0], (nfds_t)a[1], ns);
	case SYS_select: {
		const struct timeval *tv = (const struct timeval *)a[4];
		if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0))
			return -EINVAL;
		ns = tv ? (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 : -1;
		return serve_select((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3], ns);
	}
	case SYS_pselect6:
		if ((ns = ts_ns((const struct timespec *)a[4])) < -1)
			return -EINVAL;
		return serve_select((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3], ns);
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
		return serve_epoll((int)a[0], (struct epoll_event *)a[1], (int)a[2],
				   (int)a[3] < 0 ? -1 : (int64_t)(int)a[3] * 1000000);
	case SYS_epoll_pwait2:
		if ((ns = ts_ns((const struct timespec *)a[3])) < -1)
			return -EINVAL;
		return serve_epoll((int)a[0], (struct epoll_event *)a[1], (int)a[2], ns);
	case SYS_nanosleep:
		return serve_sleep(CLOCK_MONOTONIC, 0, (const struct timespec *)a[0],
				   (struct timespec *)a[1]);
	case SYS_clock_nanosleep:
		switch ((clockid_t)a[0]) {
		case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
			return serve_sleep((clockid_t)a[0], (int)a[1],
					   (const struct timespec *)a[2], (struct timespec *)a[3]);
		}
		return native(nr, a); /* CPU-time clocks: the kernel's */
	case SYS_wait4:
	case SYS_waitid:
		return serve_wait(nr, a);
	case SYS_futex:
		return serve_futex(a);
	}
	return native(nr, a);
}
