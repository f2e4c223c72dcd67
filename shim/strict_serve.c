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
 *   read write readv writev recv* send*
 *                        one try with a per-call non-blocking flag
 *                        (preadv2/pwritev2 RWF_NOWAIT at the file position;
 *                        MSG_DONTWAIT); on EAGAIN, park until the fd is
 *                        ready and try again; a blocking write or send goes
 *                        on after a partial one.  A kind of file without
 *                        RWF_NOWAIT (a tty) waits for readiness and then
 *                        makes the call; a regular file that is not in the
 *                        page cache (no readiness) makes it natively.
 *   poll, ppoll, select, pselect6
 *                        a look with a zero timeout; if nothing is ready, a
 *                        temporary epoll set of the fds, whose own readiness
 *                        the netpoller waits for; then look again
 *   epoll_wait, _pwait, _pwait2
 *                        the same with the program's epoll fd in the set,
 *                        then epoll_pwait2 with a zero timeout
 *   nanosleep, clock_nanosleep   a park with a deadline (the timers)
 *   wait4, waitid        a pool thread makes the call
 *   futex                WAIT*: the green wait table (runtime/gfutex.c);
 *                        WAKE*: green waiters first, then the real wake for
 *                        what is left of the count
 * An fd the program made O_NONBLOCK gets its EAGAIN (what it asked for).
 * The calls keep the program's own flags, so a broken pipe or socket
 * raises SIGPIPE from the kernel as natively.
 * The signal masks of ppoll, pselect6 and epoll_pwait* are not applied
 * while the thread is parked, and a park is not interrupted by signals
 * (LOOM.md, strict mode).
 *
 * Readiness always goes through a temporary epoll set of our own (wait_fd),
 * never io.c's per-fd registration: close(2) is not trapped, so a number
 * the program closed and got back would keep a registration for a file
 * that no longer exists (and fstat cannot tell two eventfds apart).
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

/* Readiness of one fd, through a temporary epoll set of its own whose fd
 * the netpoller waits for, then closes with smarm_close.  Not io.c's
 * per-fd registration: close(2) is not trapped, so a number the program
 * closed and got back (a pipe from the next popen, an eventfd — all anon
 * inode files look alike to fstat) would keep a registration that no
 * longer exists and park for ever.  Level-triggered: readiness that came
 * after the caller's EAGAIN is seen at once.  0 (ready), NO_READINESS (a
 * regular file: epoll refuses it), -ETIMEDOUT, -EINTR, -errno. */
#define NO_READINESS 1
static int64_t left(int64_t deadline);

static long wait_fd(int fd, bool wr, int64_t deadline)
{
	struct epoll_event ev = {.events = (wr ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP};
	long ep = S(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0), r;

	if (ep < 0)
		return ep;
	r = S(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, &ev, 0, 0);
	if (r == 0)
		r = smarm_wait_readable((int)ep, deadline < 0 ? -1 : left(deadline));
	smarm_close((int)ep);
	if (r == -EPERM)
		return NO_READINESS;
	return r > 0 ? 0 : intr(r);
}

/* SERVE, NATIVE (the program's own O_NONBLOCK: its EAGAIN is what it asked
 * for), or -errno (EBADF). */
enum { SERVE = 0, NATIVE = 1 };

static long fd_mode(int fd)
{
	long fl = S(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);

	if (fl < 0)
		return fl;
	return (fl & O_NONBLOCK) ? NATIVE : SERVE;
}

/* One non-blocking attempt of the trapped call: RWF_NOWAIT for the
 * read/write family (at the file position), MSG_DONTWAIT for sockets'.
 * -EOPNOTSUPP: this kind of file has no such flag (a tty). */
static long attempt(long nr, const long a[6], const struct iovec *iov, int cnt)
{
	switch (nr) {
	case SYS_read: case SYS_readv:
		return S(SYS_preadv2, a[0], iov, cnt, -1, 0, RWF_NOWAIT);
	case SYS_write: case SYS_writev:
		return S(SYS_pwritev2, a[0], iov, cnt, -1, 0, RWF_NOWAIT);
	case SYS_recvfrom: case SYS_sendto:
		return S(nr, a[0], a[1], a[2], a[3] | MSG_DONTWAIT, a[4], a[5]);
	case SYS_recvmsg: case SYS_sendmsg:
		return S(nr, a[0], a[1], a[2] | MSG_DONTWAIT, 0, 0, 0);
	}
	return -ENOSYS;
}

/* Skip n bytes of an iovec array (a write that went out in part goes on
 * with the rest, as a blocking write does).  *cnt shrinks; v is the
 * caller's copy. */
static struct iovec *iov_skip(struct iovec *v, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= v->iov_len) {
		n -= v->iov_len;
		v++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		v->iov_base = (char *)v->iov_base + n;
		v->iov_len -= n;
	}
	return v;
}

#define MAXIOV 64

/* The read/write and recv/send families: try without blocking; on EAGAIN
 * park until the fd is ready and try again.  A blocking write or send on a
 * stream writes everything (or fails after a part: the part is the
 * answer), so those go on after a partial success. */
static long serve_fd(long nr, const long a[6])
{
	int fd = (int)a[0], cnt = 1;
	bool wr = nr == SYS_write || nr == SYS_writev || nr == SYS_sendto || nr == SYS_sendmsg;
	bool vec = nr == SYS_readv || nr == SYS_writev;
	struct iovec one, copy[MAXIOV], *iov = &one;
	size_t done = 0, want = 0;
	long r, k = -1;

	if (vec) {
		cnt = (int)a[2];
		if (cnt < 0 || cnt > MAXIOV)
			return native(nr, a); /* the kernel's answer (EINVAL), or a
					       * rare long vector: natively */
		memcpy(copy, (const void *)a[1], cnt * sizeof *copy);
		iov = copy;
	} else {
		one = (struct iovec){.iov_base = (void *)a[1], .iov_len = (size_t)a[2]};
	}
	for (int i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	for (;;) {
		r = attempt(nr, a, iov, cnt);
		if (r == -EOPNOTSUPP && (nr == SYS_recvfrom || nr == SYS_sendto ||
					 nr == SYS_recvmsg || nr == SYS_sendmsg))
			return native(nr, a);
		if (r == -EOPNOTSUPP || r == -EINVAL) {
			/* No RWF_NOWAIT here (a tty, a file system without it):
			 * readiness, then the call itself (the way io.c reads
			 * a tty). */
			if (k < 0 && (k = fd_mode(fd)) < 0)
				return done ? (long)done : k;
			if (k == SERVE && (r = wait_fd(fd, wr, -1)) < 0)
				return done ? (long)done : r;
			goto natively;
		}
		if (r >= 0) {
			done += (size_t)r;
			/* Reads, datagrams, and the msg calls (whose iovecs we do
			 * not walk) answer with what one call did. */
			if (!wr || nr == SYS_sendmsg || done >= want || r == 0)
				return (long)done;
			if (k < 0 && (k = fd_mode(fd)) < 0)
				return (long)done;
			if (k == NATIVE)
				return (long)done; /* O_NONBLOCK: the part is the answer */
			if (nr == SYS_sendto) {
				/* sendto goes on as send() of the rest. */
				long b[6] = {a[0], a[1] + (long)done, (long)(want - done), a[3], 0, 0};
				r = serve_fd(SYS_sendto, b);
				return r < 0 ? (long)done : (long)done + r;
			}
			iov = iov_skip(iov, &cnt, (size_t)r);
			continue;
		}
		if (r != -EAGAIN)
			return done ? (long)done : r;
		if (k < 0 && (k = fd_mode(fd)) < 0)
			return done ? (long)done : k;
		if (k == NATIVE)
			return done ? (long)done : -EAGAIN;
		if ((r = wait_fd(fd, wr, -1)) == NO_READINESS)
			goto natively; /* a regular file the page cache lacks */
		if (r < 0)
			return done ? (long)done : r;
	}
natively:
	/* The call itself, for what is left. */
	r = vec || done ? S(wr ? SYS_writev : SYS_readv, fd, iov, cnt, 0, 0, 0) : native(nr, a);
	if (r < 0)
		return done ? (long)done : r;
	return (long)done + r;
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
		w = intr(smarm_wait_readable(ep, left(deadline)));
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

/* epoll_wait*: the program's epoll fd in a temporary set of ours (nested
 * epoll), waited for by the netpoller; then a look with a zero timeout. */
static long serve_epoll(int ep, struct epoll_event *ev, int max, int64_t timeout)
{
	static const struct timespec zero;
	int64_t deadline = smarm__deadline(timeout);
	long r, w;

	for (;;) {
		r = S(SYS_epoll_pwait2, ep, ev, max, &zero, 0, sizeof(sigset_t));
		if (r != 0 || timeout == 0)
			return r;
		w = wait_fd(ep, false, deadline);
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
