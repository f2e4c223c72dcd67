/* poll.c — drop-in poll, ppoll, select, pselect, epoll_wait, epoll_pwait,
 * epoll_pwait2: a green thread parks until an fd is ready or the timeout
 * passes; any other caller gets libc's.
 *
 * The answer always comes from the kernel: the real call with a zero
 * timeout, so revents, the fd_set bits, POLLNVAL for a closed fd, EBADF
 * from select and the program's own epoll set's events (level or edge
 * triggered, EPOLLONESHOT ...) are exactly the native ones.  Only the wait
 * between two such calls is ours: snapshot the edge counters of every fd
 * involved (runtime/io.c's records), make the zero-timeout call, and if it
 * found nothing park on all of those records at once (smarm__shim_park:
 * one waiter node per fd and direction, the first edge wakes us), then
 * call again.  An edge between the snapshot and the park is never lost
 * (the park sees the counter moved and returns at once).
 *
 * Why not a private epoll set per thread (or per call) filled from the
 * pollfd array: an epoll_ctl per fd per call (~0.4 us each) where the
 * records cost a lock each, and the fds are registered in the runtime's
 * set once for good (the same registration read() and write() use).
 *
 * An epoll fd is itself pollable: epoll_wait parks on its record (the
 * program's set nested in the runtime's, edge-triggered), then calls the
 * real epoll_wait with timeout 0.  A thread woken by an edge whose events
 * another thread took finds nothing and parks again until its deadline.
 *
 * Regular files have no readiness (epoll refuses them), and poll/select
 * report them always ready, so the zero-timeout call returns at once; an
 * fd that epoll refuses is simply not waited on.  Timeout 0 never parks.
 *
 * Signal masks (ppoll, pselect, epoll_pwait*): applied only during the
 * zero-timeout calls, not while parked (per-green-thread masks belong to
 * the signal work, issue 8).  select writes the time left into its
 * timeval, as Linux does; pselect and ppoll leave theirs alone, as glibc.
 *
 * Switching: every wrapper may switch (in smarm__shim_park).
 */
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "io.h"

#define NSIG_BYTES 8

/* The wait shared by every call here: `try` is the kernel's answer with a
 * zero timeout (0: nothing yet; never switches); s[0..n-1] are the fds to
 * park on.  May switch. */
typedef long (*try_fn)(void *ctx);

static long wait_loop(try_fn try, void *ctx, struct smarm__fdsel *s, int n, int64_t deadline)
{
	for (;;) {
		long r;
		int k = 0;
		for (int i = 0; i < n; i++)
			if (smarm__fd_snap(&s[i]) == 0)
				s[k++] = s[i];
		/* An fd that has no record (beyond io.c's table) cannot be
		 * waited on: the zero-timeout call still covers it, and the
		 * park lasts only till the deadline. */
		n = k;
		if ((r = try(ctx)) != 0)
			return r;
		r = smarm__shim_park(s, n, deadline, false);
		if (r == -EPERM) /* a lone fd without readiness: only time ends it */
			r = smarm__shim_park(s, 0, deadline, false);
		if (r == -ETIMEDOUT)
			return 0;
		if (r == -ECANCELED)
			return -EINTR;
		if (r < 0 && r != -EBADF)
			return r;
	}
}

/* Deadlines from the three timeout shapes; -1 none, 0 do not wait.  Never
 * switch. */
static int64_t ms_deadline(int ms)
{
	return ms < 0 ? -1 : smarm__deadline((int64_t)ms * 1000000);
}

static bool bad_ts(const struct timespec *ts)
{
	return ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000);
}

static int64_t ts_deadline(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
		return -1;
	return smarm__deadline((int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec);
}

/* ---- poll, ppoll --------------------------------------------------------- */

struct poll_ctx {
	struct pollfd *fds;
	nfds_t n;
	const sigset_t *mask;
};

static long poll_try(void *arg)
{
	struct poll_ctx *c = arg;
	struct timespec zero = {0, 0};

	return SYS6(ppoll, c->fds, c->n, &zero, c->mask, NSIG_BYTES, 0);
}

/* poll/ppoll for a green thread.  May switch. */
static long do_poll(struct pollfd *fds, nfds_t n, const sigset_t *mask, int64_t deadline)
{
	struct poll_ctx c = {fds, n, mask};
	struct smarm__fdsel local[16], *s = local;
	long r;
	int k = 0;

	/* First without a snapshot: the common "something is ready" case
	 * costs one call, and a bad array is the kernel's EFAULT/EINVAL
	 * before we read it. */
	if ((r = poll_try(&c)) != 0 || deadline == 0)
		return r;
	if (n > 16 && !(s = malloc(n * sizeof *s)))
		return -ENOMEM;
	for (nfds_t i = 0; i < n; i++) {
		short ev = fds[i].events;
		if (fds[i].fd < 0)
			continue;
		s[k].fd = fds[i].fd;
		s[k].dirs = (ev & (POLLOUT | POLLWRNORM | POLLWRBAND)) ? SMARM__FD_WR : 0;
		/* Reading, or nothing asked: POLLHUP/POLLERR come as read
		 * edges too. */
		if ((ev & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP)) || !s[k].dirs)
			s[k].dirs |= SMARM__FD_RD;
		k++;
	}
	r = wait_loop(poll_try, &c, s, k, deadline);
	if (s != local)
		free(s);
	return r;
}

SMARM_API int poll(struct pollfd *fds, nfds_t n, int ms)
{
	if (!smarm__shim_in_green())
		return REAL_FN(poll)(fds, n, ms);
	return (int)smarm__shim_ret(do_poll(fds, n, NULL, ms_deadline(ms)));
}

SMARM_API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		    const sigset_t *mask)
{
	if (!smarm__shim_in_green())
		return REAL_FN(ppoll)(fds, n, ts, mask);
	if (bad_ts(ts))
		return (int)smarm__shim_ret(-EINVAL);
	return (int)smarm__shim_ret(do_poll(fds, n, mask, ts_deadline(ts)));
}

/* ---- select, pselect ----------------------------------------------------- */

struct sel_ctx {
	int nfds;
	fd_set *user[3];     /* the program's sets (NULL: none) */
	fd_set *in[3];       /* what it asked for, kept */
	fd_set *out[3];      /* scratch for each attempt */
	size_t bytes;        /* of each set that nfds covers */
	const sigset_t *mask;
};

static long sel_try(void *arg)
{
	struct sel_ctx *c = arg;
	struct timespec zero = {0, 0};
	struct { const sigset_t *set; size_t len; } m = {c->mask, NSIG_BYTES};
	long r;

	for (int i = 0; i < 3; i++)
		if (c->user[i])
			memcpy(c->out[i], c->in[i], c->bytes);
	r = SYS6(pselect6, c->nfds, c->user[0] ? c->out[0] : NULL,
		 c->user[1] ? c->out[1] : NULL, c->user[2] ? c->out[2] : NULL, &zero,
		 c->mask ? &m : NULL);
	if (r > 0)
		for (int i = 0; i < 3; i++)
			if (c->user[i])
				memcpy(c->user[i], c->out[i], c->bytes);
	return r;
}

/* select/pselect for a green thread.  May switch. */
static long do_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const sigset_t *mask,
		      int64_t deadline)
{
	struct sel_ctx c = {.nfds = nfds, .user = {rd, wr, ex}, .mask = mask};
	struct smarm__fdsel local[16], *s = local;
	char *buf;
	long r;
	int k = 0;

	if (nfds < 0)
		return -EINVAL;
	/* The kernel reads whole longs of each set. */
	c.bytes = ((size_t)nfds + 63) / 64 * 8;
	if (!(buf = malloc(6 * c.bytes + 1)))
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		c.in[i] = (fd_set *)(buf + (size_t)i * c.bytes);
		c.out[i] = (fd_set *)(buf + (size_t)(3 + i) * c.bytes);
		if (c.user[i])
			memcpy(c.in[i], c.user[i], c.bytes);
	}
	if ((r = sel_try(&c)) != 0 || deadline == 0)
		goto out;
	for (int fd = 0; fd < nfds; fd++) {
		unsigned dirs = 0;
		for (int i = 0; i < 3; i++)
			if (c.user[i] && FD_ISSET(fd, c.in[i]))
				dirs |= i == 1 ? SMARM__FD_WR : SMARM__FD_RD;
		if (!dirs)
			continue;
		if (k == 16 && s == local) {
			if (!(s = malloc((size_t)nfds * sizeof *s))) {
				s = local;
				r = -ENOMEM;
				goto out;
			}
			memcpy(s, local, sizeof local);
		}
		s[k].fd = fd;
		s[k].dirs = dirs;
		k++;
	}
	r = wait_loop(sel_try, &c, s, k, deadline);
out:
	if (r == 0) /* timed out: every set comes back empty, as natively */
		for (int i = 0; i < 3; i++)
			if (c.user[i])
				memset(c.user[i], 0, c.bytes);
	if (s != local)
		free(s);
	free(buf);
	return r;
}

SMARM_API int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	int64_t deadline = -1;
	long r;

	if (!smarm__shim_in_green())
		return REAL_FN(select)(nfds, rd, wr, ex, tv);
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0)
			return (int)smarm__shim_ret(-EINVAL);
		/* Linux normalises a tv_usec of a million or more. */
		deadline = tv->tv_sec > INT64_MAX / 1000000000 - 1
				   ? -1
				   : smarm__deadline((int64_t)tv->tv_sec * 1000000000 +
						     (int64_t)tv->tv_usec * 1000);
	}
	r = do_select(nfds, rd, wr, ex, NULL, deadline);
	if (tv && r >= 0) { /* Linux reports the time left */
		int64_t left = deadline <= 0 ? 0 : deadline - smarm__now();
		if (deadline < 0)
			left = (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
		if (left < 0 || r == 0)
			left = 0;
		tv->tv_sec = left / 1000000000;
		tv->tv_usec = left % 1000000000 / 1000;
	}
	return (int)smarm__shim_ret(r);
}

SMARM_API int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
		      const struct timespec *ts, const sigset_t *mask)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pselect)(nfds, rd, wr, ex, ts, mask);
	if (bad_ts(ts))
		return (int)smarm__shim_ret(-EINVAL);
	return (int)smarm__shim_ret(do_select(nfds, rd, wr, ex, mask, ts_deadline(ts)));
}

/* ---- epoll --------------------------------------------------------------- */

struct ep_ctx {
	int epfd, max;
	struct epoll_event *ev;
	const sigset_t *mask;
};

static long ep_try(void *arg)
{
	struct ep_ctx *c = arg;

	return SYS6(epoll_pwait, c->epfd, c->ev, c->max, 0, c->mask, NSIG_BYTES);
}

/* epoll_wait and its variants for a green thread.  May switch. */
static long do_epoll(int epfd, struct epoll_event *ev, int max, const sigset_t *mask,
		     int64_t deadline)
{
	struct ep_ctx c = {epfd, max, ev, mask};
	struct smarm__fdsel s = {.fd = epfd, .dirs = SMARM__FD_RD};
	long r;

	if ((r = ep_try(&c)) != 0 || deadline == 0)
		return r;
	return wait_loop(ep_try, &c, &s, 1, deadline);
}

SMARM_API int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	if (!smarm__shim_in_green())
		return REAL_FN(epoll_wait)(epfd, ev, max, ms);
	return (int)smarm__shim_ret(do_epoll(epfd, ev, max, NULL, ms_deadline(ms)));
}

SMARM_API int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms,
			  const sigset_t *mask)
{
	if (!smarm__shim_in_green())
		return REAL_FN(epoll_pwait)(epfd, ev, max, ms, mask);
	return (int)smarm__shim_ret(do_epoll(epfd, ev, max, mask, ms_deadline(ms)));
}

SMARM_API int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			   const struct timespec *ts, const sigset_t *mask)
{
	if (!smarm__shim_in_green())
		return REAL_FN(epoll_pwait2)(epfd, ev, max, ts, mask);
	if (bad_ts(ts))
		return (int)smarm__shim_ret(-EINVAL);
	return (int)smarm__shim_ret(do_epoll(epfd, ev, max, mask, ts_deadline(ts)));
}

/* ---- _FORTIFY_SOURCE ----------------------------------------------------- */

/* What a program built with -D_FORTIFY_SOURCE calls when the array's size
 * is known (glibc's would reach its internal poll, past the wrapper). */
extern void __chk_fail(void) __attribute__((noreturn));

SMARM_API int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	if (fdslen / sizeof *fds < n)
		__chk_fail();
	return poll(fds, n, ms);
}

SMARM_API int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			  const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof *fds < n)
		__chk_fail();
	return ppoll(fds, n, ts, mask);
}

/* glibc's public double-underscore names (GLIBC_2.2.5). */
SMARM_API int __poll(struct pollfd *fds, nfds_t n, int ms)
{
	return poll(fds, n, ms);
}

SMARM_API int __select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	return select(nfds, rd, wr, ex, tv);
}
