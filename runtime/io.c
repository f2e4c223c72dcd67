/* io.c — file descriptors for actors: I/O that parks the green thread, never
 * the carrier.
 *
 * The netpoller.  sched.c owns the process's one epoll set and sleeps in it
 * (the idle "poller" carrier, with the earliest timer as its timeout); busy
 * and spinning carriers also reap it without blocking while any actor waits
 * on an fd.  Every event whose data.ptr is not NULL comes here, to
 * smarm__io_ready().
 *
 * One record per fd number (struct fdrec, Go's pollDesc), in chunks that
 * never move and are never freed, so a stale pointer in an epoll event is
 * always a valid record, and a lookup takes no lock.  An fd is registered
 * once, the first time an actor has to wait on it, edge-triggered for both
 * directions (EPOLLET | EPOLLIN | EPOLLOUT | EPOLLRDHUP, data.ptr = record).
 * Each direction has a wait list and a sequence number that io_ready bumps
 * under the record's lock for every edge.  An operation snapshots the
 * sequence *before* its system call; when the call says EAGAIN it takes the
 * lock and parks only if the sequence has not moved.  So an edge that lands
 * between the failed call and the park is never lost: either io_ready ran
 * before we took the lock (the sequence moved: try the call again) or after
 * we queued ourselves (it wakes us).  A first registration (EPOLL_CTL_ADD)
 * reports a file that is already ready, which covers data that arrived
 * before the fd was registered at all.
 *
 * Never a program's file flags (DESIGN D4).  How each kind of fd is read and
 * written without O_NONBLOCK:
 *   socket         recv/send with MSG_DONTWAIT (and MSG_NOSIGNAL);
 *   pipe, FIFO, eventfd, other streams with RWF_NOWAIT support
 *                  preadv2/pwritev2(..., RWF_NOWAIT), which fails with EAGAIN
 *                  instead of blocking, on the fd's own file position;
 *   tty and other character devices without RWF_NOWAIT ("poll" kind)
 *                  read: poll(0) for readiness, then FIONREAD, then read()
 *                  at most the bytes available; write: the blocking pool;
 *   regular files, block devices
 *                  read: preadv2(RWF_NOWAIT) serves page-cache hits on the
 *                  carrier, the rest goes to the pool; write: the pool
 *                  (this kernel's ext4 refuses RWF_NOWAIT for buffered
 *                  writes; we try it first anyway, it costs one call).
 * A blocking listening socket has no per-call non-blocking accept: we accept
 * only after poll(0) says a connection is queued.  Both of these trust a
 * poll(0): another reader taking the bytes or the connection between the
 * poll and the call would leave the call blocking the carrier.  Our own
 * actors take turns at it per fd (turn_take), so only another process can
 * race us (accepted, and stated in smarm.h).  A blocking socket has no
 * per-call non-blocking connect: the pool runs connect(), and a timeout
 * aborts it with shutdown().  An fd that is O_NONBLOCK already (the program
 * set it) behaves the same through every path.
 *
 * Closing.  close() removes a registration silently and nothing wakes the
 * actors parked on it, so smarm_close() bumps the record's close generation,
 * wakes every waiter with -EBADF and closes, all under the record's lock:
 * an operation racing with it cannot park on the dead file, and nothing it
 * does can reach a new file that reuses the number.  An fd the
 * program closes itself and whose number comes back (socket(), accept())
 * keeps a registration that no longer exists: smarm_accept() renews the
 * record of every fd it returns, smarm_connect() renews the registration,
 * and smarm_io_forget() is there for everything else (smarm.h).
 *
 * System calls here are made through smarm__sys (sys*()): they return
 * -errno and never touch errno, which a switch could move to another
 * carrier's TLS, they never reach a libc symbol a preloaded shim may
 * interpose (the shim calls us), and strict mode's filter lets them through.
 *
 * Lock order: a record's lock -> the scheduler's locks (smarm__wake).  The
 * record lock is never held across a switch; EPOLL_CTL_ADD runs under it
 * (once per fd) so a registration and the waiter it is for are one step,
 * and so does smarm_close's close(2) (see above: a close that lingers holds
 * it, and with it any carrier that needs this fd's record meanwhile).
 */
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* ---- raw system calls: return -errno, never touch errno ------------------ */

static inline long sys3(long n, long a, long b, long c)
{
	return smarm__sys(n, a, b, c, 0, 0, 0);
}

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	return smarm__sys(n, a, b, c, d, e, f);
}

#define SYS(n, a, b, c) sys3(SYS_##n, (long)(a), (long)(b), (long)(c))
#define SYS6(n, a, b, c, d, e, f)                                            \
	sys6(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* preadv2/pwritev2 at the file position (offset -1), flags RWF_*. */
static long rw_nowait(int fd, void *buf, size_t len, bool wr)
{
	struct iovec v = {.iov_base = buf, .iov_len = len};

	/* pos_l = -1, pos_h = 0: the offset -1, "at the file position". */
	return sys6(wr ? SYS_pwritev2 : SYS_preadv2, fd, (long)&v, 1, -1, 0, RWF_NOWAIT);
}

static long poll1(int fd, short events, int ms, short *revents)
{
	struct pollfd p = {.fd = fd, .events = events};
	long r = SYS(poll, &p, 1, ms);

	*revents = p.revents;
	if (r > 0 && (p.revents & POLLNVAL))
		return -EBADF;
	return r;
}

/* ---- the fd table -------------------------------------------------------- */

#define CHUNK_BITS 10
#define CHUNK (1u << CHUNK_BITS)
#define MAX_FD (1 << 24)

enum { RD = 0, WR = 1 };

/* What an fd is, hence how it is read and written (see the top).  A kind is
 * a cache: a call that finds it wrong (ENOTSOCK, EOPNOTSUPP) corrects it. */
enum { K_UNKNOWN = 0, K_SOCK, K_NOWAIT, K_POLL, K_FILE };
/* Registration in the current epoll set. */
enum { R_NONE = 0, R_EPOLL, R_NOPOLL /* epoll_ctl said EPERM: no readiness */ };

struct io_waiter {
	struct io_waiter *next, **pprev; /* [lock] pprev NULL: not queued */
	struct smarm__actor *actor;      /* [init] */
};

struct fdrec {
	smarm__lock_t lock;
	int fd;                       /* [chunk creation] */
	/* epoch << 8 | reg << 4 | kind.  Written under lock; read racily for
	 * the kind.  A stale epoch (an earlier smarm_run, whose epoll set is
	 * gone) means R_NONE and K_UNKNOWN. */
	_Atomic uint32_t info;
	_Atomic uint32_t seq[2];      /* [lock to write] edges seen per direction */
	_Atomic uint32_t cgen;        /* [lock to write] bumped by close/forget/renew */
	bool checking;                /* [lock] an actor is between poll(0) and its call */
	bool turned_away;             /* [lock] ... and another found it so (turn_take) */
	struct io_waiter *q[2];       /* [lock] parked readers, writers */
} __attribute__((aligned(SMARM_CACHELINE)));

static struct fdrec *_Atomic chunks[MAX_FD >> CHUNK_BITS];
static _Atomic uint32_t io_epoch = 1; /* 24 bits used; bumped by smarm__io_fini */
_Atomic int smarm__io_waiters;

static struct fdrec *chunk_new(unsigned i)
{
	struct fdrec *c = aligned_alloc(SMARM_CACHELINE, CHUNK * sizeof *c), *z = NULL;

	if (!c)
		return NULL;
	memset(c, 0, CHUNK * sizeof *c);
	for (unsigned k = 0; k < CHUNK; k++)
		c[k].fd = (int)(i << CHUNK_BITS | k);
	if (!atomic_compare_exchange_strong_explicit(&chunks[i], &z, c,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		free(c);
		return z;
	}
	return c;
}

/* The record of fd: NULL with *err set for a bad number or no memory.
 * Never switches. */
static struct fdrec *rec_of(int fd, long *err)
{
	struct fdrec *c;

	if (fd < 0 || fd >= MAX_FD) {
		*err = fd < 0 ? -EBADF : -EINVAL;
		return NULL;
	}
	c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	if (unlikely(!c) && !(c = chunk_new((unsigned)fd >> CHUNK_BITS))) {
		*err = -ENOMEM;
		return NULL;
	}
	return &c[fd & (CHUNK - 1)];
}

static inline uint32_t epoch_now(void)
{
	return atomic_load_explicit(&io_epoch, memory_order_relaxed) & 0xffffff;
}

static inline int rec_kind(struct fdrec *r)
{
	uint32_t i = atomic_load_explicit(&r->info, memory_order_relaxed);

	return (i >> 8) == epoch_now() ? (int)(i & 15) : K_UNKNOWN;
}

/* Under r->lock. */
static inline int rec_reg(struct fdrec *r)
{
	uint32_t i = atomic_load_explicit(&r->info, memory_order_relaxed);

	return (i >> 8) == epoch_now() ? (int)(i >> 4 & 3) : R_NONE;
}

static inline void rec_set(struct fdrec *r, int kind, int reg)
{
	atomic_store_explicit(&r->info, epoch_now() << 8 | (uint32_t)reg << 4 | (uint32_t)kind,
			      memory_order_relaxed);
}

/* Find out what fd is (one fstat) and remember it.  Never switches. */
static long classify(struct fdrec *r, int fd)
{
	struct stat st;
	long e = SYS(fstat, fd, &st, 0);
	int k;

	if (e < 0)
		return e;
	if (S_ISSOCK(st.st_mode))
		k = K_SOCK;
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))
		k = K_FILE;
	else
		k = K_NOWAIT; /* FIFO, character device, anon inode: try RWF_NOWAIT */
	smarm__lock(&r->lock);
	rec_set(r, k, rec_reg(r));
	smarm__unlock(&r->lock);
	return k;
}

static long kind_of(struct fdrec *r, int fd)
{
	int k = rec_kind(r);

	return k != K_UNKNOWN ? k : classify(r, fd);
}

static void set_kind(struct fdrec *r, int k)
{
	smarm__lock(&r->lock);
	rec_set(r, k, rec_reg(r));
	smarm__unlock(&r->lock);
}

/* ---- waking -------------------------------------------------------------- */

static void waiter_push(struct fdrec *r, int dir, struct io_waiter *w)
{
	w->next = r->q[dir];
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &r->q[dir];
	r->q[dir] = w;
	atomic_fetch_add_explicit(&smarm__io_waiters, 1, memory_order_relaxed);
}

static void waiter_unlink(struct io_waiter *w)
{
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->pprev = NULL;
	atomic_fetch_sub_explicit(&smarm__io_waiters, 1, memory_order_relaxed);
}

/* Wake every actor parked on r in direction dir with v.  Under r->lock: a
 * waiter that timed out takes the lock before it leaves, so its node (on
 * its stack) is valid here, and it never parks again before that, so a
 * wake cannot hit its next wait.  Never switches. */
static void wake_all(struct fdrec *r, int dir, intptr_t v)
{
	struct io_waiter *w = r->q[dir];
	int n = 0;

	r->q[dir] = NULL;
	while (w) {
		struct io_waiter *next = w->next;
		struct smarm__actor *a = w->actor;
		w->pprev = NULL; /* last touch: after the wake, w may be gone */
		smarm__wake(a, v);
		w = next;
		n++;
	}
	if (n)
		atomic_fetch_sub_explicit(&smarm__io_waiters, n, memory_order_relaxed);
}

#define RD_EVENTS (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)
#define WR_EVENTS (EPOLLOUT | EPOLLHUP | EPOLLERR)

void smarm__io_ready(void *ptr, uint32_t events)
{
	struct fdrec *r = ptr;

	if (unlikely(ptr == SMARM__SIG_TOKEN)) {
		smarm__sig_event_hook(); /* drop-in signals: shim/signal.c */
		return;
	}

	smarm__lock(&r->lock);
	for (int dir = RD; dir <= WR; dir++) {
		if (!(events & (dir == RD ? RD_EVENTS : WR_EVENTS)))
			continue;
		atomic_store_explicit(&r->seq[dir],
				      atomic_load_explicit(&r->seq[dir], memory_order_relaxed) + 1,
				      memory_order_release);
		wake_all(r, dir, 0);
	}
	smarm__unlock(&r->lock);
}

void smarm__io_fini(void)
{
	smarm_assert(atomic_load(&smarm__io_waiters) == 0);
	/* The epoll set is gone: every registration in it with it. */
	atomic_fetch_add(&io_epoch, 1);
}

/* ---- parking on readiness ------------------------------------------------ */

/* One operation's wait state, snapshotted before its first system call. */
struct io_park {
	struct fdrec *r;
	int fd, dir;
	uint32_t seq, cgen;
	int64_t deadline; /* absolute ns; -1 none; 0 never wait (timeout 0) */
};

static void park_snap(struct io_park *p)
{
	p->seq = atomic_load_explicit(&p->r->seq[p->dir], memory_order_acquire);
}

static void park_init(struct io_park *p, struct fdrec *r, int fd, int dir, int64_t deadline)
{
	p->r = r;
	p->fd = fd;
	p->dir = dir;
	p->deadline = deadline;
	p->cgen = atomic_load_explicit(&r->cgen, memory_order_acquire);
	park_snap(p);
}

/* Not an actor (a plain thread, or no runtime): block the OS thread in
 * poll(2).  0: try again; -ETIMEDOUT. */
static long block_thread(struct io_park *p)
{
	if (p->deadline == 0)
		return -ETIMEDOUT;
	for (;;) {
		int ms = -1;
		short rev;
		long r;
		if (p->deadline > 0) {
			int64_t left = p->deadline - smarm__now();
			if (left <= 0)
				return -ETIMEDOUT;
			ms = left / 1000000 >= INT_MAX ? INT_MAX : (int)((left + 999999) / 1000000);
		}
		r = poll1(p->fd, p->dir == RD ? POLLIN : POLLOUT, ms, &rev);
		if (r > 0)
			return 0;
		if (r < 0 && r != -EINTR)
			return r;
	}
}

/* The call said EAGAIN: wait for the next edge in p->dir.  0: try the call
 * again (p's snapshot is renewed); -ETIMEDOUT; -EBADF (smarm_close'd);
 * -EPERM (the fd has no readiness: the caller falls back to the pool);
 * other -errno from epoll_ctl.  May switch. */
static long io_block(struct io_park *p)
{
	struct smarm__actor *self;
	struct fdrec *r = p->r;
	struct io_waiter w;
	intptr_t v;

	if (p->deadline == 0)
		return -ETIMEDOUT;
	self = smarm__self();
	if (!self || smarm__rt.epfd < 0)
		return block_thread(p);
	smarm__lock(&r->lock);
	if (atomic_load_explicit(&r->cgen, memory_order_relaxed) != p->cgen) {
		smarm__unlock(&r->lock);
		return -EBADF;
	}
	if (atomic_load_explicit(&r->seq[p->dir], memory_order_relaxed) != p->seq)
		goto again; /* an edge came after our snapshot */
	if (rec_reg(r) != R_EPOLL) {
		struct epoll_event ev = {
			.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			.data.ptr = r,
		};
		long e = SYS6(epoll_ctl, smarm__rt.epfd, EPOLL_CTL_ADD, p->fd, &ev, 0, 0);
		if (e < 0 && e != -EEXIST) {
			if (e == -EPERM)
				rec_set(r, rec_kind(r), R_NOPOLL);
			smarm__unlock(&r->lock);
			return e;
		}
		rec_set(r, rec_kind(r), R_EPOLL);
	}
	if (p->deadline > 0 && smarm__now() >= p->deadline) {
		smarm__unlock(&r->lock);
		return -ETIMEDOUT;
	}
	w.actor = self;
	smarm__wait_prepare(self, p->dir == RD ? "fd read" : "fd write", r);
	waiter_push(r, p->dir, &w);
	smarm__unlock(&r->lock);

	v = smarm__park(p->deadline);
	if (v != 0 && v != -EBADF) {
		/* Not a waker's value (-ETIMEDOUT, -ENOMEM from the park): a
		 * waker may be unlinking us right now; the lock settles it. */
		smarm__lock(&r->lock);
		if (w.pprev)
			waiter_unlink(&w);
		smarm__unlock(&r->lock);
		return v;
	}
	if (v < 0)
		return v;
	park_snap(p);
	return 0;
again:
	smarm__unlock(&r->lock);
	park_snap(p);
	return 0;
}

/* Reads that trust a poll(0) (a blocking listener's accept, a tty's read)
 * would block if another reader took the data in between.  Another process
 * can (smarm.h says so); our own actors take turns: one at a time per fd is
 * between its poll and its call.  The others park as if the fd had nothing,
 * and the turn's end wakes them to look again.  Never switches. */
static bool turn_take(struct fdrec *r)
{
	bool got;

	smarm__lock(&r->lock);
	got = !r->checking;
	if (got)
		r->checking = true;
	else
		r->turned_away = true;
	smarm__unlock(&r->lock);
	return got;
}

/* Only when someone was turned away: a lone reader must not invalidate its
 * own snapshot (it would retry forever). */
static void turn_give(struct fdrec *r)
{
	smarm__lock(&r->lock);
	r->checking = false;
	if (r->turned_away) {
		r->turned_away = false;
		atomic_store_explicit(&r->seq[RD],
				      atomic_load_explicit(&r->seq[RD], memory_order_relaxed) + 1,
				      memory_order_release);
		wake_all(r, RD, 0);
	}
	smarm__unlock(&r->lock);
}

/* ---- the pool for what has no readiness ---------------------------------- */

struct rw_job {
	int fd;
	bool wr;
	char *buf;
	size_t len;
	int64_t deadline; /* for an fd the program made O_NONBLOCK */
	long result;
};

/* In a pool thread: read some, or write all of, j->buf.  EAGAIN (the
 * program's own O_NONBLOCK) waits in poll(2) on the pool thread. */
static void *rw_job_run(void *arg)
{
	struct rw_job *j = arg;
	size_t done = 0;

	for (;;) {
		long n = j->wr ? SYS(write, j->fd, j->buf + done, j->len - done)
			       : SYS(read, j->fd, j->buf, j->len);
		if (n == -EAGAIN) {
			struct io_park p = {.fd = j->fd, .dir = j->wr ? WR : RD,
					    .deadline = j->deadline};
			if ((n = block_thread(&p)) == 0)
				continue;
		}
		if (n == -EINTR)
			continue;
		if (n < 0 || !j->wr) {
			j->result = n;
			break;
		}
		done += (size_t)n;
		if (done == j->len) {
			j->result = (long)done;
			break;
		}
	}
	return NULL;
}

static long pool_rw(int fd, void *buf, size_t len, bool wr, int64_t deadline)
{
	struct rw_job j = {.fd = fd, .wr = wr, .buf = buf, .len = len,
			   .deadline = deadline, .result = -EIO};
	void *ignored;

	smarm_block_on_io(rw_job_run, &j, &ignored);
	return j.result;
}

/* ---- reading and writing ------------------------------------------------- */

/* Read what is there on a "poll"-kind fd without blocking: -EAGAIN if
 * nothing is.  See the top for the race this accepts. */
static long poll_read(struct fdrec *rec, int fd, void *buf, size_t len)
{
	short rev;
	int avail = 0;
	long r;

	if (!turn_take(rec))
		return -EAGAIN;
	r = poll1(fd, POLLIN, 0, &rev);
	if (r > 0) {
		if ((rev & POLLIN) && SYS(ioctl, fd, FIONREAD, &avail) == 0 &&
		    avail > 0 && (size_t)avail < len)
			len = (size_t)avail;
		r = SYS(read, fd, buf, len);
	} else if (r == 0) {
		r = -EAGAIN;
	}
	turn_give(rec);
	return r;
}

/* One read of up to len bytes: what read(2) would return, parking instead of
 * blocking.  May switch. */
static long read_some(int fd, void *buf, size_t len, int64_t deadline)
{
	struct fdrec *r;
	struct io_park p;
	long k, n = 0;

	if (!(r = rec_of(fd, &n)))
		return n;
	if ((k = kind_of(r, fd)) < 0)
		return k;
	park_init(&p, r, fd, RD, deadline);
	for (;;) {
		switch (k) {
		case K_SOCK:
			n = SYS6(recvfrom, fd, buf, len, MSG_DONTWAIT, 0, 0);
			if (n == -ENOTSOCK) {
				if ((k = classify(r, fd)) < 0)
					return k;
				continue;
			}
			break;
		case K_NOWAIT:
			n = rw_nowait(fd, buf, len, false);
			if (n == -EOPNOTSUPP) {
				set_kind(r, k = K_POLL);
				continue;
			}
			break;
		case K_POLL:
			n = poll_read(r, fd, buf, len);
			break;
		default: /* K_FILE: page-cache hits here, the rest in the pool */
			n = rw_nowait(fd, buf, len, false);
			if (n == -EAGAIN || n == -EOPNOTSUPP)
				return pool_rw(fd, buf, len, false, deadline);
			break;
		}
		if (n >= 0)
			return n;
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN)
			return n;
		if ((n = io_block(&p)) == -EPERM)
			return pool_rw(fd, buf, len, false, deadline);
		if (n < 0)
			return n;
	}
}

/* Write all of buf.  May switch. */
static long write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	struct fdrec *r;
	struct io_park p;
	const char *b = buf;
	size_t done = 0;
	long k, n = 0;

	if (!(r = rec_of(fd, &n)))
		return n;
	if ((k = kind_of(r, fd)) < 0)
		return k;
	park_init(&p, r, fd, WR, deadline);
	while (done < len || len == 0) {
		switch (k) {
		case K_SOCK:
			n = SYS6(sendto, fd, b + done, len - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
			if (n == -ENOTSOCK) {
				if ((k = classify(r, fd)) < 0)
					return k;
				continue;
			}
			break;
		case K_NOWAIT:
			n = rw_nowait(fd, (void *)(b + done), len - done, true);
			if (n == -EOPNOTSUPP) {
				set_kind(r, k = K_POLL);
				continue;
			}
			break;
		case K_FILE:
			n = rw_nowait(fd, (void *)(b + done), len - done, true);
			if (n != -EAGAIN && n != -EOPNOTSUPP)
				break;
			/* fall through */
		default: /* K_POLL: no way to write without blocking */
			n = pool_rw(fd, (void *)(b + done), len - done, true, deadline);
			break;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN) {
			if ((n = io_block(&p)) == 0)
				continue;
			if (n == -EPERM)
				n = pool_rw(fd, (void *)(b + done), len - done, true, deadline);
		}
		if (n < 0)
			return n;
		done += (size_t)n;
		if (len == 0)
			break;
	}
	return (long)done;
}

ssize_t smarm_read(int fd, void *buf, size_t len, int64_t timeout)
{
	if (!buf && len)
		return -EFAULT;
	return read_some(fd, buf, len, smarm__deadline(timeout));
}

ssize_t smarm_read_full(int fd, void *buf, size_t len, int64_t timeout)
{
	int64_t deadline = smarm__deadline(timeout);
	size_t done = 0;

	if (!buf && len)
		return -EFAULT;
	while (done < len) {
		long n = read_some(fd, (char *)buf + done, len - done, deadline);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t smarm_write(int fd, const void *buf, size_t len, int64_t timeout)
{
	if (!buf && len)
		return -EFAULT;
	return write_all(fd, buf, len, smarm__deadline(timeout));
}

/* ---- sockets ------------------------------------------------------------- */

/* The shape shared by every single-call socket operation: call(args) with
 * MSG_DONTWAIT; park on EAGAIN; anything else is the answer. */
enum sock_op { OP_RECVFROM, OP_SENDTO, OP_RECVMSG, OP_SENDMSG };

struct sock_call {
	enum sock_op op;
	void *buf;
	size_t len;
	int flags;
	void *addr;       /* sockaddr, or struct msghdr for the msg calls */
	void *addrlen;    /* socklen_t * (recvfrom) or socklen_t (sendto) */
};

static long sock_try(int fd, const struct sock_call *c)
{
	int fl = c->flags | MSG_DONTWAIT;

	switch (c->op) {
	case OP_RECVFROM:
		return SYS6(recvfrom, fd, c->buf, c->len, fl, c->addr, c->addrlen);
	case OP_SENDTO:
		return SYS6(sendto, fd, c->buf, c->len, fl | MSG_NOSIGNAL, c->addr,
			    (long)(uintptr_t)c->addrlen);
	case OP_RECVMSG:
		return SYS(recvmsg, fd, c->addr, fl);
	default:
		return SYS(sendmsg, fd, c->addr, fl | MSG_NOSIGNAL);
	}
}

static long sock_call(int fd, const struct sock_call *c, int64_t deadline)
{
	struct fdrec *r;
	struct io_park p;
	long n = 0;

	if (!(r = rec_of(fd, &n)))
		return n;
	park_init(&p, r, fd, c->op == OP_RECVFROM || c->op == OP_RECVMSG ? RD : WR,
		  deadline);
	for (;;) {
		n = sock_try(fd, c);
		if (n >= 0 || (n != -EAGAIN && n != -EINTR))
			return n;
		if (n == -EAGAIN && (n = io_block(&p)) < 0)
			return n == -EPERM ? -ENOTSOCK : n;
	}
}

ssize_t smarm_sock_recv(int fd, void *buf, size_t len, int flags, int64_t timeout)
{
	struct sock_call c = {.op = OP_RECVFROM, .buf = buf, .len = len,
			      .flags = flags & ~MSG_WAITALL};
	int64_t deadline = smarm__deadline(timeout);
	size_t done = 0;

	if (!buf && len)
		return -EFAULT;
	if (!(flags & MSG_WAITALL))
		return sock_call(fd, &c, deadline);
	/* MSG_WAITALL with MSG_DONTWAIT returns early: loop instead. */
	do {
		c.buf = (char *)buf + done;
		c.len = len - done;
		long n = sock_call(fd, &c, deadline);
		if (n < 0)
			return done ? (ssize_t)done : n;
		if (n == 0)
			break;
		done += (size_t)n;
	} while (done < len);
	return (ssize_t)done;
}

ssize_t smarm_sock_send(int fd, const void *buf, size_t len, int flags, int64_t timeout)
{
	struct sock_call c = {.op = OP_SENDTO, .flags = flags};
	int64_t deadline = smarm__deadline(timeout);
	size_t done = 0;

	if (!buf && len)
		return -EFAULT;
	do {
		c.buf = (char *)buf + done;
		c.len = len - done;
		long n = sock_call(fd, &c, deadline);
		if (n < 0)
			return n;
		done += (size_t)n;
	} while (done < len);
	return (ssize_t)done;
}

ssize_t smarm_sock_recvfrom(int fd, void *buf, size_t len, int flags,
			    struct sockaddr *addr, socklen_t *addrlen, int64_t timeout)
{
	struct sock_call c = {.op = OP_RECVFROM, .buf = buf, .len = len,
			      .flags = flags, .addr = addr, .addrlen = addrlen};

	return sock_call(fd, &c, smarm__deadline(timeout));
}

ssize_t smarm_sock_sendto(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t addrlen, int64_t timeout)
{
	struct sock_call c = {.op = OP_SENDTO, .buf = (void *)buf, .len = len,
			      .flags = flags, .addr = (void *)addr,
			      .addrlen = (void *)(uintptr_t)addrlen};

	return sock_call(fd, &c, smarm__deadline(timeout));
}

ssize_t smarm_sock_recvmsg(int fd, struct msghdr *msg, int flags, int64_t timeout)
{
	struct sock_call c = {.op = OP_RECVMSG, .flags = flags, .addr = msg};

	return sock_call(fd, &c, smarm__deadline(timeout));
}

ssize_t smarm_sock_sendmsg(int fd, const struct msghdr *msg, int flags, int64_t timeout)
{
	struct sock_call c = {.op = OP_SENDMSG, .flags = flags, .addr = (void *)msg};

	return sock_call(fd, &c, smarm__deadline(timeout));
}

/* fd was just made by the kernel (accept): whatever the record says belongs
 * to an earlier file with the same number, closed without smarm_close. */
static void renew(int fd, int kind)
{
	long err;
	struct fdrec *r = rec_of(fd, &err);

	if (!r)
		return;
	smarm__lock(&r->lock);
	atomic_fetch_add_explicit(&r->cgen, 1, memory_order_release);
	wake_all(r, RD, -EBADF);
	wake_all(r, WR, -EBADF);
	rec_set(r, kind, R_NONE);
	smarm__unlock(&r->lock);
}

int smarm_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
		 int64_t timeout)
{
	struct fdrec *r;
	struct io_park p;
	long n = 0, fl;

	if (!(r = rec_of(fd, &n)))
		return (int)n;
	if ((fl = SYS(fcntl, fd, F_GETFL, 0)) < 0)
		return (int)fl;
	park_init(&p, r, fd, RD, smarm__deadline(timeout));
	for (;;) {
		short rev;
		if (fl & O_NONBLOCK) {
			n = SYS6(accept4, fd, addr, addrlen, flags, 0, 0);
		} else if (!turn_take(r)) {
			n = -EAGAIN;
		} else {
			if ((n = poll1(fd, POLLIN, 0, &rev)) > 0)
				n = SYS6(accept4, fd, addr, addrlen, flags, 0, 0);
			else if (n == 0)
				n = -EAGAIN;
			turn_give(r);
		}
		if (n >= 0) {
			renew((int)n, K_SOCK);
			return (int)n;
		}
		if (n == -EINTR || n == -ECONNABORTED)
			continue;
		if (n != -EAGAIN)
			return (int)n;
		if ((n = io_block(&p)) < 0)
			return n == -EPERM ? -ENOTSOCK : (int)n;
	}
}

struct connect_job {
	int fd;
	const struct sockaddr *addr;
	socklen_t len;
	_Atomic int cancel; /* the waiter gave up: do not start */
	long result;
};

static void *connect_job_run(void *arg)
{
	struct connect_job *j = arg;

	do
		j->result = atomic_load(&j->cancel) ? -ETIMEDOUT
						    : SYS(connect, j->fd, j->addr, j->len);
	while (j->result == -EINTR);
	return NULL;
}

int smarm_connect(int fd, const struct sockaddr *addr, socklen_t len, int64_t timeout)
{
	int64_t deadline = smarm__deadline(timeout);
	struct fdrec *r;
	struct io_park p;
	long n = 0, fl;

	if (!(r = rec_of(fd, &n)))
		return (int)n;
	if ((fl = SYS(fcntl, fd, F_GETFL, 0)) < 0)
		return (int)fl;
	/* A socket being connected starts a new life: make the next wait
	 * register it again (EEXIST is fine) in case its number was reused. */
	smarm__lock(&r->lock);
	rec_set(r, K_SOCK, R_NONE);
	smarm__unlock(&r->lock);
	if (!(fl & O_NONBLOCK)) {
		struct connect_job j = {.fd = fd, .addr = addr, .len = len, .result = -EIO};
		struct smarm__pool_job pj;
		if (!smarm__self() || smarm__pool_submit(&pj, connect_job_run, &j) < 0) {
			connect_job_run(&j);
			return (int)j.result;
		}
		int w;
		while ((w = smarm__pool_wait(&pj, deadline)) == -EINTR)
			;
		if (w < 0) {
			/* Timed out, or asked to stop: abort the attempt.
			 * shutdown wakes a connect blocked in SYN_SENT with an
			 * error.  The job uses our stack, so we wait for it
			 * (holding stop requests off meanwhile); a connect that
			 * had not reached SYN_SENT when we shut down is caught by
			 * the flag or by the next shutdown. */
			struct smarm__actor *self = smarm__self();
			bool was = smarm__exit_defer(self);
			atomic_store(&j.cancel, 1);
			do
				SYS(shutdown, fd, SHUT_RDWR, 0);
			while (smarm__pool_wait(&pj, smarm__now() + SMARM_MSEC(10)) < 0);
			smarm__exit_undefer(self, was);
			return w;
		}
		return (int)j.result;
	}
	park_init(&p, r, fd, WR, deadline);
	n = SYS(connect, fd, addr, len);
	if (n != -EINPROGRESS && n != -EALREADY && n != -EINTR)
		return (int)n;
	for (;;) {
		int err = 0;
		socklen_t el = sizeof err;
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		if ((n = io_block(&p)) < 0)
			return n == -EPERM ? -ENOTSOCK : (int)n;
		if ((n = SYS6(getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &el, 0)) < 0)
			return (int)n;
		if (err != 0 && err != EINPROGRESS && err != EALREADY && err != EINTR)
			return -err;
		/* Woken by some other edge while still connecting? */
		if (err == 0 && SYS(getpeername, fd, &peer, &pl) == 0)
			return 0;
	}
}

/* ---- readiness for its own sake ------------------------------------------ */

static int wait_ready(int fd, int dir, int64_t timeout)
{
	struct fdrec *r;
	struct io_park p;
	short ev = dir == RD ? POLLIN : POLLOUT, rev;
	long n = 0;

	if (!(r = rec_of(fd, &n)))
		return (int)n;
	park_init(&p, r, fd, dir, smarm__deadline(timeout));
	for (;;) {
		if ((n = poll1(fd, ev, 0, &rev)) > 0)
			return rev;
		if (n < 0 && n != -EINTR)
			return (int)n;
		/* No readiness at all (EPERM) cannot happen here: poll(2)
		 * reports such files ready at once. */
		if (n == 0 && (n = io_block(&p)) < 0)
			return (int)n;
	}
}

int smarm_wait_readable(int fd, int64_t timeout)
{
	return wait_ready(fd, RD, timeout);
}

int smarm_wait_writable(int fd, int64_t timeout)
{
	return wait_ready(fd, WR, timeout);
}

/* ---- closing ------------------------------------------------------------- */

/* The file behind r is going away: bump the close generation, wake every
 * waiter with -EBADF, drop our epoll item and forget what we knew.  Called
 * with r->lock held. */
static void forget_locked(struct fdrec *r, int fd)
{
	atomic_fetch_add_explicit(&r->cgen, 1, memory_order_release);
	wake_all(r, RD, -EBADF);
	wake_all(r, WR, -EBADF);
	if (rec_reg(r) == R_EPOLL && smarm__rt.epfd >= 0)
		SYS6(epoll_ctl, smarm__rt.epfd, EPOLL_CTL_DEL, fd, 0, 0, 0);
	rec_set(r, K_UNKNOWN, R_NONE);
}

int smarm_io_forget(int fd)
{
	long err = 0;
	struct fdrec *r = rec_of(fd, &err);

	if (!r)
		return (int)err;
	smarm__lock(&r->lock);
	forget_locked(r, fd);
	smarm__unlock(&r->lock);
	return 0;
}

int smarm_close(int fd)
{
	long err = 0, n;
	struct fdrec *r = rec_of(fd, &err);

	if (!r)
		return (int)err;
	/* All under the record's lock, close(2) included: nobody can park on
	 * the dying file after the wake (an operation that tried its call
	 * before the close finds the generation moved, or its EPOLL_CTL_ADD
	 * fails with EBADF), and nothing done here can touch a new file that
	 * reuses the number, which exists only once close returns.  Waking
	 * after an unlocked close would.  A close() drops the epoll item only
	 * with the file's last reference, so delete ours explicitly (a dup,
	 * or a child holding the fd, would keep the item alive). */
	smarm__lock(&r->lock);
	forget_locked(r, fd);
	n = SYS(close, fd, 0, 0);
	smarm__unlock(&r->lock);
	/* Linux has released the fd even when close says EINTR. */
	return n == -EINTR ? 0 : (int)n;
}

/* ---- name resolution ----------------------------------------------------- */

struct gai_job {
	const char *node, *service;
	const struct addrinfo *hints;
	struct addrinfo **res;
	int result;
};

static void *gai_job_run(void *arg)
{
	struct gai_job *j = arg;

	j->result = getaddrinfo(j->node, j->service, j->hints, j->res);
	return NULL;
}

int smarm_getaddrinfo(const char *node, const char *service,
		      const struct addrinfo *hints, struct addrinfo **res)
{
	struct gai_job j = {.node = node, .service = service, .hints = hints,
			    .res = res, .result = EAI_SYSTEM};
	void *ignored;

	smarm_block_on_io(gai_job_run, &j, &ignored);
	return j.result;
}

/* For reports (dump.c): the fd behind an "fd read"/"fd write" wait's
 * object.  Never switches. */
int smarm__io_fd_of(const void *obj)
{
	/* A multi-fd park ("fd poll") may have no single record. */
	return obj ? ((const struct fdrec *)obj)->fd : -1;
}

/* ---- one attempt at a time, for the drop-in shim ------------------------- */

/* The shim (shim/io.c, shim/poll.c) makes its own system calls, because
 * native semantics differ from the calls above (a program's O_NONBLOCK fd
 * answers EAGAIN, a blocking write on a socket raises SIGPIPE, select
 * reports exact bits ...), and parks here between attempts with the same
 * snapshot protocol: smarm__fd_snap before the attempt, smarm__fd_park
 * after it said EAGAIN.  One park may cover several fds (poll, select):
 * a waiter node per fd and direction, queued on each record in turn under
 * that record's lock, one actor behind them all; the first edge wins the
 * wake (smarm__wake is a CAS) and the rest are unlinked afterwards, as a
 * timed-out io_block unlinks its one node. */

_Static_assert((int)SMARM__FD_SOCK == (int)K_SOCK && (int)SMARM__FD_NOWAIT == (int)K_NOWAIT &&
		       (int)SMARM__FD_POLL == (int)K_POLL && (int)SMARM__FD_FILE == (int)K_FILE,
	       "the shim's fd kinds are io.c's");

int smarm__fd_snap(struct smarm__fdsel *s)
{
	long err = 0;
	struct fdrec *r = rec_of(s->fd, &err);

	if (!r)
		return (int)err;
	s->rec = r;
	s->cgen = atomic_load_explicit(&r->cgen, memory_order_acquire);
	s->seq[RD] = atomic_load_explicit(&r->seq[RD], memory_order_acquire);
	s->seq[WR] = atomic_load_explicit(&r->seq[WR], memory_order_acquire);
	return 0;
}

int smarm__fd_kind(const struct smarm__fdsel *s)
{
	return (int)kind_of(s->rec, s->fd);
}

void smarm__fd_set_kind(const struct smarm__fdsel *s, int kind)
{
	set_kind(s->rec, kind);
}

bool smarm__fd_turn_take(const struct smarm__fdsel *s)
{
	return turn_take(s->rec);
}

void smarm__fd_turn_give(const struct smarm__fdsel *s)
{
	turn_give(s->rec);
}

void smarm__fd_renew(int fd, int kind)
{
	renew(fd, kind);
}

void smarm__fd_forget_range(unsigned first, unsigned last)
{
	for (unsigned i = first >> CHUNK_BITS; i < (MAX_FD >> CHUNK_BITS); i++) {
		struct fdrec *c = atomic_load_explicit(&chunks[i], memory_order_acquire);
		if (!c)
			continue;
		for (unsigned k = 0; k < CHUNK; k++) {
			unsigned fd = i << CHUNK_BITS | k;
			if (fd < first)
				continue;
			if (fd > last)
				return;
			smarm__lock(&c[k].lock);
			forget_locked(&c[k], (int)fd);
			smarm__unlock(&c[k].lock);
		}
	}
}

struct park_node {
	struct io_waiter w;
	struct fdrec *r;
};

int smarm__fd_park(struct smarm__fdsel *s, int n, int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	struct park_node local[8], *w = local;
	int total = 0, nw = 0;
	intptr_t v, early = 1; /* 1: nothing found before the park */

	smarm_assert(self && smarm__rt.epfd >= 0);
	if (deadline == 0)
		return -ETIMEDOUT;
	for (int i = 0; i < n; i++)
		total += !!(s[i].dirs & SMARM__FD_RD) + !!(s[i].dirs & SMARM__FD_WR);
	if (total > 8 && !(w = malloc((size_t)total * sizeof *w)))
		return -ENOMEM;
	for (int i = 0; i < n && early == 1; i++) {
		struct fdrec *r = s[i].rec;
		smarm__lock(&r->lock);
		if (atomic_load_explicit(&r->cgen, memory_order_relaxed) != s[i].cgen) {
			early = -EBADF; /* closed since the snapshot */
		} else if (rec_reg(r) == R_NONE) {
			struct epoll_event ev = {
				.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				.data.ptr = r,
			};
			long e = SYS6(epoll_ctl, smarm__rt.epfd, EPOLL_CTL_ADD, s[i].fd, &ev, 0, 0);
			if (e == -EPERM)
				rec_set(r, rec_kind(r), R_NOPOLL);
			else if (e < 0 && e != -EEXIST)
				early = e;
			else
				rec_set(r, rec_kind(r), R_EPOLL);
		}
		/* No readiness (a regular file): poll calls it always ready,
		 * so it has nothing to wait for; a single operation falls back
		 * to the pool. */
		if (early == 1 && rec_reg(r) == R_NOPOLL && n == 1)
			early = -EPERM;
		for (int dir = RD; dir <= WR && early == 1 && rec_reg(r) == R_EPOLL; dir++) {
			if (!(s[i].dirs & (dir == RD ? SMARM__FD_RD : SMARM__FD_WR)))
				continue;
			if (atomic_load_explicit(&r->seq[dir], memory_order_relaxed) != s[i].seq[dir]) {
				early = 0; /* an edge since the snapshot: try again */
				break;
			}
			if (nw == 0)
				smarm__wait_prepare(self, n > 1 ? "fd poll"
						    : dir == RD ? "fd read" : "fd write", r);
			w[nw].r = r;
			w[nw].w.actor = self;
			waiter_push(r, dir, &w[nw].w);
			nw++;
		}
		smarm__unlock(&r->lock);
	}
	if (nw == 0 && early != 1) {
		v = early;
	} else {
		if (nw == 0) /* only the deadline ends this wait (poll on
			      * fds without readiness, or with no events) */
			smarm__wait_prepare(self, "fd poll", NULL);
		else if (early != 1) /* nodes are queued: end the wait ourselves */
			smarm__wake(self, early);
		v = smarm__park(deadline);
		/* Unlink what no waker took (a waker unlinks under the lock
		 * and clears pprev; the lock settles a race with one). */
		for (int k = 0; k < nw; k++) {
			smarm__lock(&w[k].r->lock);
			if (w[k].w.pprev)
				waiter_unlink(&w[k].w);
			smarm__unlock(&w[k].r->lock);
		}
	}
	if (w != local)
		free(w);
	if (v == -EBADF && n > 1)
		return 0; /* one fd closed: the caller's next attempt reports it */
	return (int)v;
}
