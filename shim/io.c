/* io.c — drop-in fd I/O: read, write, their vectored and positioned forms
 * (preadv2/pwritev2 included),
 * recv*, send*, accept, accept4, connect, sendfile, splice, tee,
 * copy_file_range, and the calls that end
 * an fd number's life (close, dup2, dup3, close_range, closefrom, fclose);
 * also the _FORTIFY_SOURCE entry points (__read_chk ...) and glibc's public
 * double-underscore names (__read ...) of the same calls.
 *
 * A green thread's call parks its green thread (the carrier runs others)
 * where the native call would block, with native semantics; any other
 * caller (a carrier, a pool thread, code before main) gets libc's.
 *
 * How (DESIGN D3a, D4; runtime/io.c has the per-fd records): snapshot the
 * fd's edge counters, make the call so that it cannot block — sockets with
 * MSG_DONTWAIT, pipes/FIFOs/eventfds with preadv2/pwritev2(RWF_NOWAIT), a
 * tty after poll(0) says it has input — and on EAGAIN ask the program's
 * own file flags (one fcntl, only then): O_NONBLOCK means the program wants
 * EAGAIN, and gets it; otherwise park in smarm__shim_park until the next
 * edge and try again.  Regular files (and tty writes) have no readiness:
 * a page-cache hit is served on the carrier (RWF_NOWAIT), the rest runs on
 * the blocking pool.  The program's file flags are never changed.
 *
 * Native details kept: a blocking write or send writes everything (looping
 * over short writes), an O_NONBLOCK one returns the short count or EAGAIN;
 * SO_RCVTIMEO/SO_SNDTIMEO bound the wait (then EAGAIN, or the short count);
 * MSG_WAITALL waits for all of it; SIGPIPE is raised by the kernel exactly
 * as natively (no MSG_NOSIGNAL is added); an EINTR from the kernel (a
 * handler ran during an attempt) is returned as natively.
 *
 * Differences, documented in LOOM.md: a thread parked on an fd another
 * thread closes (or replaces with dup2) wakes with EBADF (natively it would
 * wait on the old file); a blocking connect runs on the pool and ignores
 * SO_SNDTIMEO.
 *
 * Switching: every wrapper may switch (in smarm__shim_park or
 * smarm__shim_pool); close and the other number-ending calls never do.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

/* ---- the park ------------------------------------------------------------ */

/* Every call that parks here (read, write, recv*, send*, accept, connect,
 * poll, select, epoll_wait ...) is a POSIX cancellation point: a pending
 * cancel acts before the park, and one that arrives during it cuts the
 * park short and acts after it (cancel.c).  It is interruptible too
 * (signal.c): a signal whose handler runs on this thread while it waits
 * ends the park with -EINTR, or, for a restartable call whose handler has
 * SA_RESTART, with 0 (the caller tries again and parks anew, as the kernel
 * restarts the call).  The nodes the park queued are unlinked before it
 * returns, as after a timeout. */
int smarm__shim_park(struct smarm__fdsel *s, int n, int64_t deadline, bool restartable)
{
	struct smarm__intr w;
	bool cp = smarm__shim_cancel_begin();
	int r;

	smarm__shim_intr_begin(&w);
	r = smarm__fd_park(s, n, deadline);
	smarm__shim_intr_end(&w);
	smarm__shim_cancel_end(cp);
	if (r == -ECANCELED)
		smarm__shim_testcancel();
	if (r == -EINTR && restartable && smarm__shim_intr_restarts(&w))
		return 0;
	return r;
}

void *smarm__shim_pool(void *(*fn)(void *), void *arg)
{
	void *r = NULL;

	smarm_block_on_io(fn, arg, &r);
	return r;
}

/* ---- one call's wait state ----------------------------------------------- */

struct op {
	struct smarm__fdsel s;
	int kind;
	int64_t deadline; /* -2: not known yet (asked at the first park) */
};

/* Snapshot fd for one call and learn its kind: the kind (> 0), or -errno;
 * -EINVAL for an fd io.c cannot track (beyond its table), for which the
 * caller makes the plain blocking call, holding its carrier.  Never
 * switches. */
static long op_start(struct op *o, int fd, unsigned dir)
{
	long n;

	o->s.fd = fd;
	o->s.dirs = dir;
	o->deadline = -2;
	if ((n = smarm__fd_snap(&o->s)) < 0)
		return n;
	return o->kind = smarm__fd_kind(&o->s);
}

/* The cached kind was wrong (the number now names another file).  Never
 * switches. */
static void op_reclassify(struct op *o)
{
	smarm__fd_set_kind(&o->s, 0);
	o->kind = smarm__fd_kind(&o->s);
}

/* SO_RCVTIMEO / SO_SNDTIMEO as an absolute deadline, -1 if none.  Never
 * switches. */
static int64_t sock_deadline(int fd, unsigned dir)
{
	struct timeval tv = {0, 0};
	socklen_t l = sizeof tv;

	if (SYS6(getsockopt, fd, SOL_SOCKET, dir == SMARM__FD_RD ? SO_RCVTIMEO : SO_SNDTIMEO,
		 &tv, &l, 0) < 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
		return -1;
	return smarm__deadline((int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000);
}

/* The attempt said EAGAIN: return it if the program made the fd
 * O_NONBLOCK, else park until an edge.  0: snapshot renewed, try again;
 * -EPERM: no readiness (use the pool); else the call's result.  May
 * switch. */
static long op_wait(struct op *o)
{
	long fl = SYS(fcntl, o->s.fd, F_GETFL, 0), r;

	if (fl < 0)
		return fl;
	if (fl & O_NONBLOCK)
		return -EAGAIN;
	if (o->deadline == -2)
		o->deadline = o->kind == SMARM__FD_SOCK ? sock_deadline(o->s.fd, o->s.dirs) : -1;
	r = smarm__shim_park(&o->s, 1, o->deadline, true);
	if (r == -ETIMEDOUT)
		return -EAGAIN; /* a socket timeout: EAGAIN, as natively */
	if (r == -ECANCELED)
		return -EINTR;
	if (r == 0 && (r = smarm__fd_snap(&o->s)) == 0)
		return 0;
	return r;
}

/* ---- vectors ------------------------------------------------------------- */

/* A private copy of an iovec array that a loop can advance (cur_*: never
 * switch). */
struct iovcur {
	struct iovec *v;
	int cnt;
	size_t left;
	struct iovec local[8];
};

static long cur_init(struct iovcur *c, const struct iovec *iov, int cnt)
{
	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	c->v = cnt <= 8 ? c->local : malloc((size_t)cnt * sizeof *iov);
	if (!c->v)
		return -ENOMEM;
	if (cnt)
		memcpy(c->v, iov, (size_t)cnt * sizeof *iov);
	c->cnt = cnt;
	c->left = 0;
	for (int i = 0; i < cnt; i++) {
		if (c->v[i].iov_len > (size_t)SSIZE_MAX - c->left) {
			if (c->v != c->local)
				free(c->v);
			return -EINVAL;
		}
		c->left += c->v[i].iov_len;
	}
	return 0;
}

static void cur_advance(struct iovcur *c, size_t n)
{
	c->left -= n;
	while (c->cnt && n >= c->v->iov_len) {
		n -= c->v->iov_len;
		c->v++;
		c->cnt--;
	}
	if (c->cnt) {
		c->v->iov_base = (char *)c->v->iov_base + n;
		c->v->iov_len -= n;
	}
}

static void cur_free(struct iovcur *c, struct iovec *start)
{
	if (start != c->local)
		free(start);
}

/* ---- the pool, for what has no readiness --------------------------------- */

struct rw_job {
	int fd, cnt;
	bool wr;
	const struct iovec *iov;
	off_t off;
	long result;
};

static void *rw_run(void *arg)
{
	struct rw_job *j = arg;

	do
		j->result = j->wr ? SYS6(pwritev2, j->fd, j->iov, j->cnt, j->off, 0, 0)
				  : SYS6(preadv2, j->fd, j->iov, j->cnt, j->off, 0, 0);
	while (j->result == -EINTR);
	return NULL;
}

/* One blocking preadv2/pwritev2 on the pool.  May switch. */
static long pool_rw(int fd, const struct iovec *iov, int cnt, off_t off, bool wr)
{
	struct rw_job j = {.fd = fd, .cnt = cnt, .wr = wr, .iov = iov, .off = off,
			   .result = -EIO};

	smarm__shim_pool(rw_run, &j);
	return j.result;
}

static long pool_sys(long nr, long a, long b, long c, long d, long e, long f);

/* ---- reading ------------------------------------------------------------- */

/* A tty (or another device without RWF_NOWAIT) reads only after poll(0)
 * says it has input, at most what FIONREAD reports; our own readers take
 * turns (runtime/io.c, turn_take).  Never switches. */
static long tty_try(struct op *o, const struct iovec *iov, int cnt, off_t off)
{
	struct pollfd p = {.fd = o->s.fd, .events = POLLIN};
	struct iovec one;
	int avail = 0;
	long n;

	if (!smarm__fd_turn_take(&o->s))
		return -EAGAIN;
	n = SYS(poll, &p, 1, 0);
	if (n > 0) {
		if (cnt == 1 && (p.revents & POLLIN) &&
		    SYS(ioctl, o->s.fd, FIONREAD, &avail) == 0 && avail > 0 &&
		    (size_t)avail < iov->iov_len) {
			one = (struct iovec){iov->iov_base, (size_t)avail};
			iov = &one;
		}
		n = SYS6(preadv2, o->s.fd, iov, cnt, off, 0, 0);
	} else if (n == 0) {
		n = -EAGAIN;
	}
	smarm__fd_turn_give(&o->s);
	return n;
}

/* read(2)/readv/pread/preadv for a green thread: -errno or the count.
 * off -1: at the file position.  May switch. */
static long do_readv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct op o;
	long n;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if ((n = op_start(&o, fd, SMARM__FD_RD)) < 0)
		return n == -EINVAL ? SYS6(preadv2, fd, iov, cnt, off, 0, 0) : n;
	for (;;) {
		switch (o.kind) {
		case SMARM__FD_SOCK: {
			struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
			if (off != -1)
				return -ESPIPE;
			n = SYS(recvmsg, fd, &m, MSG_DONTWAIT);
			if (n == -ENOTSOCK) {
				op_reclassify(&o);
				continue;
			}
			break;
		}
		case SMARM__FD_NOWAIT:
			n = SYS6(preadv2, fd, iov, cnt, off, 0, RWF_NOWAIT);
			if (n == -EOPNOTSUPP) {
				smarm__fd_set_kind(&o.s, o.kind = SMARM__FD_POLL);
				continue;
			}
			break;
		case SMARM__FD_POLL:
			n = tty_try(&o, iov, cnt, off);
			break;
		default: /* a regular file: page-cache hits here, the rest pooled */
			n = SYS6(preadv2, fd, iov, cnt, off, 0, RWF_NOWAIT);
			if (n == -EAGAIN || n == -EOPNOTSUPP)
				return pool_rw(fd, iov, cnt, off, false);
			break;
		}
		if (n != -EAGAIN)
			return n;
		if ((n = op_wait(&o)) == -EPERM)
			return pool_rw(fd, iov, cnt, off, false);
		if (n < 0)
			return n;
	}
}

/* ---- writing ------------------------------------------------------------- */

/* Regular-file writes up to this size run on the carrier (below). */
#define FILE_WRITE_DIRECT (64 << 10)

/* A tty (or another device without RWF_NOWAIT) is written once poll(0)
 * says it has room; a write bigger than the room may still block the
 * carrier until the terminal drains it (rare; DESIGN D3b's hand-off is the
 * backstop), where the pool would cost ~35 us on every write.  Never
 * switches. */
static long tty_write_try(int fd, const struct iovec *iov, int cnt, off_t at)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	long n = SYS(poll, &p, 1, 0);

	if (n == 0)
		return -EAGAIN;
	if (n < 0)
		return n;
	return SYS6(pwritev2, fd, iov, cnt, at, 0, 0);
}

/* write(2)/writev/pwrite/pwritev for a green thread: all of it unless the
 * fd is O_NONBLOCK, a socket timeout passes or an error comes (then what
 * was written, or -errno if nothing was).  May switch. */
static long do_writev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct iovcur c;
	struct iovec *start;
	struct op o;
	size_t done = 0;
	long n;

	if ((n = cur_init(&c, iov, cnt)) < 0)
		return n;
	start = c.v;
	if ((n = op_start(&o, fd, SMARM__FD_WR)) < 0) {
		if (n == -EINVAL)
			n = SYS6(pwritev2, fd, iov, cnt, off, 0, 0);
		goto out;
	}
	for (;;) {
		off_t at = off == -1 ? -1 : off + (off_t)done;
		switch (o.kind) {
		case SMARM__FD_SOCK: {
			struct msghdr m = {.msg_iov = c.v, .msg_iovlen = (size_t)c.cnt};
			if (off != -1) {
				n = -ESPIPE;
				break;
			}
			n = SYS(sendmsg, fd, &m, MSG_DONTWAIT);
			if (n == -ENOTSOCK) {
				op_reclassify(&o);
				continue;
			}
			break;
		}
		case SMARM__FD_NOWAIT:
			n = SYS6(pwritev2, fd, c.v, c.cnt, at, 0, RWF_NOWAIT);
			if (n == -EOPNOTSUPP) {
				smarm__fd_set_kind(&o.s, o.kind = SMARM__FD_POLL);
				continue;
			}
			break;
		case SMARM__FD_FILE:
			n = SYS6(pwritev2, fd, c.v, c.cnt, at, 0, RWF_NOWAIT);
			if (n != -EAGAIN && n != -EOPNOTSUPP)
				break;
			/* A buffered write lands in the page cache: a few us on
			 * the carrier against ~35 us through the pool (measured,
			 * 512-byte writes to ext4, which refuses RWF_NOWAIT for
			 * them).  Only big writes are worth the hop. */
			n = c.left <= FILE_WRITE_DIRECT ? SYS6(pwritev2, fd, c.v, c.cnt, at, 0, 0)
							: pool_rw(fd, c.v, c.cnt, at, true);
			break;
		default: /* a tty: write when poll(0) says there is room */
			n = tty_write_try(fd, c.v, c.cnt, at);
			break;
		}
		if (n == -EAGAIN) {
			if ((n = op_wait(&o)) == 0)
				continue;
			if (n == -EPERM)
				n = pool_rw(fd, c.v, c.cnt, at, true);
		}
		if (n < 0)
			break;
		done += (size_t)n;
		cur_advance(&c, (size_t)n);
		if (n == 0 || c.left == 0)
			break;
	}
	if (done > 0 || n >= 0)
		n = (long)done;
out:
	cur_free(&c, start);
	return n;
}

/* ---- sockets ------------------------------------------------------------- */

/* One socket call with MSG_DONTWAIT added (sock_try: never switches). */
struct sockcall {
	bool msg;               /* recvmsg/sendmsg, else recvfrom/sendto */
	bool wr;
	int flags;              /* the program's */
	char *buf;
	size_t len;
	struct sockaddr *addr;  /* recvfrom/sendto */
	socklen_t *alenp;       /* recvfrom */
	socklen_t alen;         /* sendto */
	struct msghdr *m;       /* the msg calls: a private copy */
	/* recvmsg with MSG_WAITALL: what the first call reported (its
	 * address and control data are the call's), and every call's flags. */
	socklen_t namelen0;
	size_t controllen0;
	int flags_seen;
	bool more;              /* a second call was made */
};

static long sock_try(int fd, const struct sockcall *c)
{
	int fl = c->flags | MSG_DONTWAIT;

	if (c->msg)
		return c->wr ? SYS(sendmsg, fd, c->m, fl) : SYS(recvmsg, fd, c->m, fl);
	return c->wr ? SYS6(sendto, fd, c->buf, c->len, fl, c->addr, c->alen)
		     : SYS6(recvfrom, fd, c->buf, c->len, fl, c->addr, c->alenp);
}

/* The loop shared by every socket call: a send sends it all (a blocking
 * send does), a recv returns what came unless MSG_WAITALL; the program's
 * own MSG_DONTWAIT gets one attempt.  May switch. */
static long sock_io(int fd, struct sockcall *c)
{
	struct iovcur cur;
	struct iovec *start = NULL;
	struct op o;
	size_t done = 0;
	bool all = c->wr || (c->flags & MSG_WAITALL);
	long n;

	if (c->flags & MSG_DONTWAIT)
		return sock_try(fd, c);
	if (c->msg && all) {
		if ((n = cur_init(&cur, c->m->msg_iov, (int)c->m->msg_iovlen)) < 0)
			return n;
		start = cur.v;
		c->m->msg_iov = cur.v;
	}
	if ((n = op_start(&o, fd, c->wr ? SMARM__FD_WR : SMARM__FD_RD)) < 0) {
		if (n == -EINVAL) /* beyond io.c's table: block the carrier */
			n = c->msg ? (c->wr ? SYS(sendmsg, fd, c->m, c->flags)
					    : SYS(recvmsg, fd, c->m, c->flags))
				   : (c->wr ? SYS6(sendto, fd, c->buf, c->len, c->flags, c->addr, c->alen)
					    : SYS6(recvfrom, fd, c->buf, c->len, c->flags, c->addr, c->alenp));
		goto out;
	}
	o.kind = SMARM__FD_SOCK; /* the timeouts apply; a non-socket says ENOTSOCK */
	for (;;) {
		n = sock_try(fd, c);
		if (n == -EAGAIN) {
			if ((n = op_wait(&o)) == 0)
				continue;
			if (n == -EPERM)
				n = -ENOTSOCK;
		}
		if (n <= 0 || !all)
			break;
		/* MSG_WAITALL gathers bytes of a stream only: a datagram is
		 * one message however short (asked once, at the first short
		 * read). */
		if (!c->wr && done == 0 && (size_t)n < (c->msg ? cur.left : c->len)) {
			int type = 0;
			socklen_t tl = sizeof type;
			if (SYS6(getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &tl, 0) < 0 ||
			    type != SOCK_STREAM)
				break;
		}
		done += (size_t)n;
		if (c->msg) {
			cur_advance(&cur, (size_t)n);
			c->m->msg_iov = cur.v;
			c->m->msg_iovlen = (size_t)cur.cnt;
			/* A read that brought control data (passed fds) ends
			 * there, as the kernel's own MSG_WAITALL does. */
			if (!cur.left || (!c->wr && c->m->msg_controllen > 0))
				break;
		} else {
			c->buf += n;
			c->len -= (size_t)n;
			if (!c->len)
				break;
		}
		/* Only the first call's address and control data. */
		if (c->msg) {
			if (!c->more) {
				c->namelen0 = c->m->msg_namelen;
				c->controllen0 = c->m->msg_controllen;
				c->more = true;
			}
			c->flags_seen |= c->m->msg_flags;
			c->m->msg_name = NULL;
			c->m->msg_namelen = 0;
			c->m->msg_control = NULL;
			c->m->msg_controllen = 0;
		}
		c->alenp = NULL;
		c->addr = c->wr ? c->addr : NULL;
	}
	if (all && done > 0)
		n = (long)done;
out:
	if (start)
		cur_free(&cur, start);
	return n;
}

/* ---- the wrappers -------------------------------------------------------- */

SMARM_API ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec v = {buf, len};

	if (!smarm__shim_in_green())
		return REAL_FN(read)(fd, buf, len);
	return smarm__shim_ret(do_readv(fd, &v, 1, -1));
}

SMARM_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!smarm__shim_in_green())
		return REAL_FN(readv)(fd, iov, cnt);
	return smarm__shim_ret(do_readv(fd, iov, cnt, -1));
}

/* A negative offset is EINVAL natively; here -1 would mean "the file
 * position", so refuse them all first. */
SMARM_API ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	struct iovec v = {buf, len};

	if (!smarm__shim_in_green())
		return REAL_FN(pread)(fd, buf, len, off);
	return smarm__shim_ret(off < 0 ? -EINVAL : do_readv(fd, &v, 1, off));
}

SMARM_API ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (!smarm__shim_in_green())
		return REAL_FN(preadv)(fd, iov, cnt, off);
	return smarm__shim_ret(off < 0 ? -EINVAL : do_readv(fd, iov, cnt, off));
}

SMARM_API ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = {(void *)buf, len};

	if (!smarm__shim_in_green())
		return REAL_FN(write)(fd, buf, len);
	return smarm__shim_ret(do_writev(fd, &v, 1, -1));
}

SMARM_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!smarm__shim_in_green())
		return REAL_FN(writev)(fd, iov, cnt);
	return smarm__shim_ret(do_writev(fd, iov, cnt, -1));
}

SMARM_API ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = {(void *)buf, len};

	if (!smarm__shim_in_green())
		return REAL_FN(pwrite)(fd, buf, len, off);
	return smarm__shim_ret(off < 0 ? -EINVAL : do_writev(fd, &v, 1, off));
}

SMARM_API ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pwritev)(fd, iov, cnt, off);
	return smarm__shim_ret(off < 0 ? -EINVAL : do_writev(fd, iov, cnt, off));
}

/* preadv2/pwritev2: flags 0 is preadv/pwritev; RWF_NOWAIT is the caller's
 * own "never block" (the plain call); any other flag (RWF_HIPRI, RWF_DSYNC,
 * RWF_APPEND ...) runs the plain call on the pool, which keeps its exact
 * semantics at the price of a hop. */
static long rw2(int fd, const struct iovec *iov, int cnt, off_t off, int flags, bool wr)
{
	long nr = wr ? SYS_pwritev2 : SYS_preadv2;

	if (flags == 0)
		return off < -1 ? -EINVAL : wr ? do_writev(fd, iov, cnt, off) : do_readv(fd, iov, cnt, off);
	if (flags & RWF_NOWAIT)
		return smarm__sys6(nr, fd, (long)iov, cnt, off, 0, flags);
	return pool_sys(nr, fd, (long)iov, cnt, off, 0, flags);
}

SMARM_API ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(preadv2)(fd, iov, cnt, off, flags);
	return smarm__shim_ret(rw2(fd, iov, cnt, off, flags, false));
}

SMARM_API ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pwritev2)(fd, iov, cnt, off, flags);
	return smarm__shim_ret(rw2(fd, iov, cnt, off, flags, true));
}

SMARM_API ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return preadv2(fd, iov, cnt, off, flags);
}

SMARM_API ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return pwritev2(fd, iov, cnt, off, flags);
}

/* glibc exports the *64 names too (same ABI on x86-64: off_t is 64 bits);
 * a program built with _FILE_OFFSET_BITS=64 calls these. */
SMARM_API ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off);
}

SMARM_API ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

SMARM_API ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv(fd, iov, cnt, off);
}

SMARM_API ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev(fd, iov, cnt, off);
}

SMARM_API ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct sockcall c = {.flags = flags, .buf = buf, .len = len};

	if (!smarm__shim_in_green())
		return REAL_FN(recv)(fd, buf, len, flags);
	return smarm__shim_ret(sock_io(fd, &c));
}

SMARM_API ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			   socklen_t *alen)
{
	struct sockcall c = {.flags = flags, .buf = buf, .len = len, .addr = addr,
			     .alenp = alen};

	if (!smarm__shim_in_green())
		return REAL_FN(recvfrom)(fd, buf, len, flags, addr, alen);
	return smarm__shim_ret(sock_io(fd, &c));
}

SMARM_API ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct sockcall c = {.msg = true, .flags = flags, .m = m};
	struct msghdr copy;
	long n;

	if (!smarm__shim_in_green())
		return REAL_FN(recvmsg)(fd, m, flags);
	if (!(flags & MSG_WAITALL))
		return smarm__shim_ret(sock_io(fd, &c));
	/* MSG_WAITALL loops over a private copy; what the kernel reports
	 * back (lengths, flags) is copied out from the first datagram. */
	copy = *m;
	c.m = &copy;
	n = sock_io(fd, &c);
	if (n >= 0) {
		/* One call: the copy says it all; several: the first one's
		 * address and control data, every one's flags. */
		m->msg_flags = copy.msg_flags | c.flags_seen;
		m->msg_namelen = c.more ? c.namelen0 : copy.msg_namelen;
		m->msg_controllen = c.more ? c.controllen0 : copy.msg_controllen;
	}
	return smarm__shim_ret(n);
}

SMARM_API ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct sockcall c = {.wr = true, .flags = flags, .buf = (char *)buf, .len = len};

	if (!smarm__shim_in_green())
		return REAL_FN(send)(fd, buf, len, flags);
	return smarm__shim_ret(sock_io(fd, &c));
}

SMARM_API ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *addr, socklen_t alen)
{
	struct sockcall c = {.wr = true, .flags = flags, .buf = (char *)buf, .len = len,
			     .addr = (struct sockaddr *)addr, .alen = alen};

	if (!smarm__shim_in_green())
		return REAL_FN(sendto)(fd, buf, len, flags, addr, alen);
	return smarm__shim_ret(sock_io(fd, &c));
}

SMARM_API ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct msghdr copy;
	struct sockcall c = {.msg = true, .wr = true, .flags = flags, .m = &copy};

	if (!smarm__shim_in_green())
		return REAL_FN(sendmsg)(fd, m, flags);
	copy = *m;
	return smarm__shim_ret(sock_io(fd, &c));
}

/* accept4(2) for a green thread.  May switch. */
static long do_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	struct op o;
	long n, fl;

	if ((n = op_start(&o, fd, SMARM__FD_RD)) < 0 && n != -EINVAL)
		return n;
	if ((fl = SYS(fcntl, fd, F_GETFL, 0)) < 0)
		return fl;
	/* The program's O_NONBLOCK listener, one beyond io.c's table, or
	 * not a socket (ENOTSOCK at once): the plain call. */
	if ((fl & O_NONBLOCK) || n != SMARM__FD_SOCK) {
		n = SYS6(accept4, fd, addr, alen, flags, 0, 0);
		if (n >= 0)
			smarm__fd_renew((int)n, SMARM__FD_SOCK);
		return n;
	}
	o.kind = SMARM__FD_SOCK;
	for (;;) {
		/* A blocking listener: accept only what poll(0) says is queued
		 * (our own acceptors take turns; runtime/io.c). */
		if (!smarm__fd_turn_take(&o.s)) {
			n = -EAGAIN;
		} else {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if ((n = SYS(poll, &p, 1, 0)) > 0)
				n = SYS6(accept4, fd, addr, alen, flags, 0, 0);
			else if (n == 0)
				n = -EAGAIN;
			smarm__fd_turn_give(&o.s);
		}
		if (n >= 0) {
			/* A fresh number: whatever io.c knew of it was an
			 * earlier file's. */
			smarm__fd_renew((int)n, SMARM__FD_SOCK);
			return n;
		}
		if (n != -EAGAIN)
			return n;
		if ((n = op_wait(&o)) == -EPERM)
			return -ENOTSOCK;
		if (n < 0)
			return n;
	}
}

SMARM_API int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	if (!smarm__shim_in_green())
		return REAL_FN(accept)(fd, addr, alen);
	return (int)smarm__shim_ret(do_accept(fd, addr, alen, 0));
}

SMARM_API int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(accept4)(fd, addr, alen, flags);
	return (int)smarm__shim_ret(do_accept(fd, addr, alen, flags));
}

/* An O_NONBLOCK socket connects as natively (EINPROGRESS ...); a blocking
 * one on the pool (runtime/io.c, smarm_connect): no system call starts a
 * connect without blocking unless the socket itself is non-blocking. */
SMARM_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	long fl;

	if (!smarm__shim_in_green())
		return REAL_FN(connect)(fd, addr, len);
	if ((fl = SYS(fcntl, fd, F_GETFL, 0)) < 0)
		return (int)smarm__shim_ret(fl);
	if (fl & O_NONBLOCK)
		return (int)smarm__shim_ret(SYS(connect, fd, addr, len));
	return (int)smarm__shim_ret(smarm_connect(fd, addr, len, SMARM_FOREVER));
}

/* ---- sendfile, splice, tee, copy_file_range ------------------------------ */

/* These have no per-call non-blocking form that covers both of their fds,
 * and block until the whole copy is queued: they run on the pool (one hop
 * per call, against a copy that is usually large), unless the caller asked
 * for no blocking (an O_NONBLOCK destination for sendfile,
 * SPLICE_F_NONBLOCK for splice and tee): then the plain call. */
struct sys_job {
	long nr, a[6];
	long result;
};

static void *sys_run(void *arg)
{
	struct sys_job *j = arg;

	do
		j->result = smarm__sys6(j->nr, j->a[0], j->a[1], j->a[2], j->a[3], j->a[4], j->a[5]);
	while (j->result == -EINTR);
	return NULL;
}

/* The system call nr on the pool.  May switch. */
static long pool_sys(long nr, long a, long b, long c, long d, long e, long f)
{
	struct sys_job j = {.nr = nr, .a = {a, b, c, d, e, f}, .result = -EIO};

	smarm__shim_pool(sys_run, &j);
	return j.result;
}

SMARM_API ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	long fl;

	if (!smarm__shim_in_green())
		return REAL_FN(sendfile)(out, in, off, count);
	if ((fl = SYS(fcntl, out, F_GETFL, 0)) < 0)
		return smarm__shim_ret(fl);
	if (fl & O_NONBLOCK)
		return smarm__shim_ret(SYS6(sendfile, out, in, off, count, 0, 0));
	return smarm__shim_ret(pool_sys(SYS_sendfile, out, in, (long)off, (long)count, 0, 0));
}

SMARM_API ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
	return sendfile(out, in, off, count);
}

SMARM_API ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
			 unsigned int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(splice)(in, off_in, out, off_out, len, flags);
	if (flags & SPLICE_F_NONBLOCK)
		return smarm__shim_ret(SYS6(splice, in, off_in, out, off_out, len, flags));
	return smarm__shim_ret(pool_sys(SYS_splice, in, (long)off_in, out, (long)off_out,
					(long)len, flags));
}

SMARM_API ssize_t tee(int in, int out, size_t len, unsigned int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(tee)(in, out, len, flags);
	if (flags & SPLICE_F_NONBLOCK)
		return smarm__shim_ret(SYS6(tee, in, out, len, flags, 0, 0));
	return smarm__shim_ret(pool_sys(SYS_tee, in, out, (long)len, flags, 0, 0));
}

SMARM_API ssize_t copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out,
				  size_t len, unsigned int flags)
{
	if (!smarm__shim_in_green())
		return REAL_FN(copy_file_range)(in, off_in, out, off_out, len, flags);
	return smarm__shim_ret(pool_sys(SYS_copy_file_range, in, (long)off_in, out,
					(long)off_out, (long)len, flags));
}

/* ---- the end of an fd number --------------------------------------------- */

/* Each drops io.c's record of the number (and its registration in the
 * netpoller), waking the green threads parked on it with EBADF, so that a
 * number the kernel hands out again is never taken for the old file. */

SMARM_API int close(int fd)
{
	int r;

	if (smarm__fd_owned(fd)) {
		/* The runtime's (util.c): not open, as far as the program can
		 * tell (a loop closing every number up to a limit). */
		errno = EBADF;
		return -1;
	}
	if (!smarm__shim_in_green())
		return REAL_FN(close)(fd);
	r = smarm_close(fd);
	if (r == -EINVAL || r == -ENOMEM) /* beyond io.c's table */
		r = (int)SYS(close, fd, 0, 0);
	return (int)smarm__shim_ret(r == -EINTR ? 0 : r);
}

/* dup2/dup3 replace newfd only if oldfd is valid (else EBADF and newfd is
 * untouched): check first, then forget newfd, then the call.  Never
 * switches. */
static int replace(int oldfd, int newfd)
{
	long r = SYS(fcntl, oldfd, F_GETFD, 0);

	if (r < 0)
		return (int)r;
	if (oldfd != newfd)
		smarm_io_forget(newfd);
	return 0;
}

SMARM_API int dup2(int oldfd, int newfd)
{
	int r;

	if (!smarm__shim_in_green())
		return REAL_FN(dup2)(oldfd, newfd);
	if ((r = replace(oldfd, newfd)) < 0)
		return (int)smarm__shim_ret(r);
	return (int)smarm__shim_ret(SYS(dup2, oldfd, newfd, 0));
}

SMARM_API int dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (!smarm__shim_in_green())
		return REAL_FN(dup3)(oldfd, newfd, flags);
	if (oldfd != newfd && (r = replace(oldfd, newfd)) < 0)
		return (int)smarm__shim_ret(r);
	return (int)smarm__shim_ret(SYS(dup3, oldfd, newfd, flags));
}

/* close_range over [first, last] minus the runtime's own fds (util.c):
 * a program's "close everything from 3 up" must not take the runtime's
 * epoll set, eventfd or signalfd with it.  Raw system calls.  Never
 * switches. */
static long close_range_sparing(unsigned first, unsigned last, int flags)
{
	long r = 0;

	for (unsigned fd = first; fd < 1024 && fd <= last; fd++) {
		if (!smarm__fd_owned((int)fd))
			continue;
		if (fd > first && (r = SYS(close_range, first, fd - 1, flags)) < 0)
			return r;
		first = fd + 1;
	}
	return first <= last ? SYS(close_range, first, last, flags) : r;
}

SMARM_API int close_range(unsigned first, unsigned last, int flags)
{
	if (first <= last && !(flags & CLOSE_RANGE_CLOEXEC) && smarm__shim_in_green())
		smarm__fd_forget_range(first, last);
	if (first > last) /* the kernel's EINVAL */
		return (int)smarm__shim_ret(SYS(close_range, first, last, flags));
	return (int)smarm__shim_ret(close_range_sparing(first, last, flags));
}

SMARM_API void closefrom(int lowfd)
{
	if (lowfd < 0)
		return;
	if (smarm__shim_in_green())
		smarm__fd_forget_range((unsigned)lowfd, ~0u);
	close_range_sparing((unsigned)lowfd, ~0u, 0);
}

/* stdio closes its fd inside libc, where no wrapper sees it. */
SMARM_API int fclose(FILE *f)
{
	int fd;

	if (smarm__shim_in_green() && f && (fd = fileno(f)) >= 0)
		smarm_io_forget(fd);
	return REAL_FN(fclose)(f);
}

/* ---- _FORTIFY_SOURCE ----------------------------------------------------- */

/* A program built with -D_FORTIFY_SOURCE (Debian's packages are) calls
 * these instead of read/pread/recv/recvfrom when the buffer's size is known
 * at compile time; glibc's versions call its internal __read, which no
 * wrapper sees.  Same check as glibc's (__chk_fail on overflow), then the
 * wrapper. */
extern void __chk_fail(void) __attribute__((noreturn));

SMARM_API ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

SMARM_API ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pread(fd, buf, len, off);
}

SMARM_API ssize_t __pread64_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pread(fd, buf, len, off);
}

SMARM_API ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		__chk_fail();
	return recv(fd, buf, len, flags);
}

SMARM_API ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				 struct sockaddr *addr, socklen_t *alen)
{
	if (len > buflen)
		__chk_fail();
	return recvfrom(fd, buf, len, flags, addr, alen);
}

/* ---- glibc's public double-underscore names ------------------------------ */

/* Exported by glibc (GLIBC_2.2.5) and called by some libraries instead of
 * the plain names. */
SMARM_API ssize_t __read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

SMARM_API ssize_t __write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len);
}

SMARM_API ssize_t __pread64(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off);
}

SMARM_API ssize_t __pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

SMARM_API ssize_t __send(int fd, const void *buf, size_t len, int flags)
{
	return send(fd, buf, len, flags);
}

SMARM_API int __connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return connect(fd, addr, len);
}

SMARM_API int __close(int fd)
{
	return close(fd);
}

SMARM_API int __dup2(int oldfd, int newfd)
{
	return dup2(oldfd, newfd);
}
