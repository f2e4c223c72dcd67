/* test_io.c — fd I/O that parks actors (io.c) and the blocking pool
 * (pool.c): parking instead of blocking the carrier, timeouts on every kind
 * of wait, end of file and resets, closing under a waiter, the program's
 * O_NONBLOCK left alone, readiness seen by busy carriers, the pool's growth
 * and shrinking, and 10,000 loopback connections at once.
 * Network tests use 127.0.0.1 only. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"
#include "run_prog.h"

TestSuite(io, .timeout = 60);

/* ---- helpers ------------------------------------------------------------- */

static int64_t ms_since(int64_t t0)
{
	return (smarm_now() - t0) / 1000000;
}

static bool nonblocking(int fd)
{
	return fcntl(fd, F_GETFL) & O_NONBLOCK;
}

/* A listening TCP socket on 127.0.0.1, ephemeral port; *port gets it. */
static int listener(int backlog, int type_flags, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	cr_assert(listen(fd, backlog) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return a;
}

/* A connected pair over loopback TCP (made with plain blocking calls). */
static void tcp_pair(int fds[2])
{
	int port, l = listener(4, 0, &port);
	struct sockaddr_in a = loopback(port);

	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(connect(fds[0], (struct sockaddr *)&a, sizeof a) == 0);
	fds[1] = accept(l, NULL, NULL);
	cr_assert(fds[1] >= 0);
	close(l);
}

/* ---- a reader parks; the writer runs on the same (only) carrier ---------- */

struct park_case {
	int rd, wr;              /* read end, write end */
	const char *msg;         /* what the writer writes */
	_Atomic int ticks;       /* a third actor's progress */
	_Atomic int stop;
	int ticks_at_write;      /* ticks seen by the writer before it wrote */
	long got;                /* what the reader's smarm_read returned */
	char buf[32];
};

static void *pc_reader(void *arg)
{
	struct park_case *pc = arg;

	pc->got = smarm_read(pc->rd, pc->buf, sizeof pc->buf, SMARM_FOREVER);
	atomic_store(&pc->stop, 1);
	return NULL;
}

static void *pc_ticker(void *arg)
{
	struct park_case *pc = arg;

	while (!atomic_load(&pc->stop)) {
		atomic_fetch_add(&pc->ticks, 1);
		smarm_sleep(SMARM_MSEC(1));
	}
	return NULL;
}

static void *pc_writer(void *arg)
{
	struct park_case *pc = arg;
	long len = (long)strlen(pc->msg);

	smarm_sleep(SMARM_MSEC(30));
	pc->ticks_at_write = atomic_load(&pc->ticks);
	CHECK_EQ(smarm_write(pc->wr, pc->msg, (size_t)len, SMARM_FOREVER), len);
	return NULL;
}

static void *pc_root(void *arg)
{
	smarm_pid_t r = rt_spawn(pc_reader, arg, "reader", 0);
	smarm_pid_t t = rt_spawn(pc_ticker, arg, "ticker", 0);
	smarm_pid_t w = rt_spawn(pc_writer, arg, "writer", 0);

	rt_join(r);
	rt_join(t);
	rt_join(w);
	return NULL;
}

static void check_park_case(int rd, int wr, const char *msg)
{
	struct park_case pc = {.rd = rd, .wr = wr, .msg = msg};
	long len = (long)strlen(msg);

	rt_run(pc_root, &pc, 1);
	cr_assert_eq(pc.got, len, "read gave %ld", pc.got);
	cr_assert(memcmp(pc.buf, msg, (size_t)len) == 0);
	/* With one carrier, the ticker ran while the reader waited: the
	 * carrier was not blocked in read(2). */
	cr_assert_gt(pc.ticks_at_write, 5, "ticker ran %d times", pc.ticks_at_write);
	cr_assert(!nonblocking(rd) && !nonblocking(wr), "O_NONBLOCK was set");
}

Test(io, pipe_reader_parks_until_writer_writes)
{
	int p[2];

	cr_assert(pipe(p) == 0);
	check_park_case(p[0], p[1], "hello");
}

Test(io, socketpair_reader_parks_until_writer_writes)
{
	int s[2];

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	check_park_case(s[0], s[1], "hello");
}

Test(io, tcp_reader_parks_until_writer_writes)
{
	int s[2];

	tcp_pair(s);
	check_park_case(s[0], s[1], "hello");
}

Test(io, pty_reader_parks_until_writer_writes)
{
	/* A tty has no RWF_NOWAIT: the poll + FIONREAD read path, and writes
	 * through the pool.  The slave is canonical: the line is readable once
	 * its newline is in. */
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;

	cr_assert(m >= 0);
	cr_assert(grantpt(m) == 0 && unlockpt(m) == 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	cr_assert(s >= 0);
	check_park_case(s, m, "hello\n");
}

/* ---- the program's own O_NONBLOCK ---------------------------------------- */

struct flags_case {
	int p[2];
	long wrote, got;
};

static void *fc_late_writer(void *arg)
{
	struct flags_case *fc = arg;

	smarm_sleep(SMARM_MSEC(20));
	fc->wrote = smarm_write(fc->p[1], "xyz", 3, SMARM_FOREVER);
	return NULL;
}

static void *fc_root(void *arg)
{
	struct flags_case *fc = arg;
	char b[8];
	smarm_pid_t w = rt_spawn(fc_late_writer, fc, "writer", 0);

	/* Parks (the pipe is empty); must not surface the fd's EAGAIN. */
	fc->got = smarm_read(fc->p[0], b, sizeof b, SMARM_SEC(5));
	rt_join(w);
	return NULL;
}

Test(io, nonblock_flag_is_left_as_the_program_set_it)
{
	for (int set = 0; set <= 1; set++) {
		struct flags_case fc;
		cr_assert(pipe2(fc.p, set ? O_NONBLOCK : 0) == 0);
		rt_run(fc_root, &fc, 2);
		cr_assert_eq(fc.got, 3, "read gave %ld (O_NONBLOCK %d)", fc.got, set);
		cr_assert_eq(fc.wrote, 3);
		cr_assert_eq(nonblocking(fc.p[0]), set);
		cr_assert_eq(nonblocking(fc.p[1]), set);
		close(fc.p[0]);
		close(fc.p[1]);
	}
}

/* ---- timeouts ------------------------------------------------------------ */

static void *read_timeouts(void *arg)
{
	int *fd = arg;
	char b[4];
	int64_t t0 = smarm_now();

	CHECK_RC((int)smarm_read(*fd, b, sizeof b, 0), -ETIMEDOUT);
	CHECK(ms_since(t0) < 20);
	t0 = smarm_now();
	CHECK_RC((int)smarm_read(*fd, b, sizeof b, SMARM_MSEC(50)), -ETIMEDOUT);
	CHECK(ms_since(t0) >= 49 && ms_since(t0) < 2000);
	t0 = smarm_now();
	CHECK_RC((int)smarm_read_full(*fd, b, sizeof b, SMARM_MSEC(30)), -ETIMEDOUT);
	CHECK(ms_since(t0) >= 29 && ms_since(t0) < 2000);
	return NULL;
}

Test(io, read_times_out)
{
	int p[2], s[2], t[2];

	cr_assert(pipe(p) == 0);
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	tcp_pair(t);
	rt_run(read_timeouts, &p[0], 1);
	rt_run(read_timeouts, &s[0], 1);
	rt_run(read_timeouts, &t[0], 2);
}

/* arg: {fd, 1 if the buffer stays full once full}.  TCP's does not: its
 * send side drains into the peer's receive buffer as that one grows. */
static void *write_until_full(void *arg)
{
	int *fd = arg;
	size_t big = 16 << 20;
	char *b = calloc(1, big);
	int64_t t0 = smarm_now();

	/* More than any socket or pipe buffer: the write parks, then times
	 * out. */
	CHECK_RC((int)smarm_write(*fd, b, big, SMARM_MSEC(60)), -ETIMEDOUT);
	CHECK(ms_since(t0) >= 59 && ms_since(t0) < 3000);
	if (fd[1]) {
		/* Full now: a poll-write times out at once. */
		t0 = smarm_now();
		CHECK_RC((int)smarm_write(*fd, b, 1, 0), -ETIMEDOUT);
		CHECK(ms_since(t0) < 20);
		CHECK_RC(smarm_wait_writable(*fd, SMARM_MSEC(20)), -ETIMEDOUT);
	}
	free(b);
	return NULL;
}

Test(io, write_times_out_when_the_buffer_is_full)
{
	int p[2], s[2], t[2];

	cr_assert(pipe(p) == 0);
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	tcp_pair(t);
	rt_run(write_until_full, (int[]){p[1], 1}, 1);
	rt_run(write_until_full, (int[]){s[0], 1}, 1);
	rt_run(write_until_full, (int[]){t[0], 0}, 2);
	cr_assert(!nonblocking(p[1]) && !nonblocking(s[0]) && !nonblocking(t[0]));
}

static void *accept_timeouts(void *arg)
{
	int *fd = arg;
	int64_t t0 = smarm_now();

	CHECK_RC(smarm_accept(*fd, NULL, NULL, 0, SMARM_MSEC(50)), -ETIMEDOUT);
	CHECK(ms_since(t0) >= 49 && ms_since(t0) < 2000);
	CHECK_RC(smarm_accept(*fd, NULL, NULL, 0, 0), -ETIMEDOUT);
	return NULL;
}

Test(io, accept_times_out)
{
	int port;
	int blocking = listener(8, 0, &port);
	int nb = listener(8, SOCK_NONBLOCK, &port);

	rt_run(accept_timeouts, &blocking, 1);
	rt_run(accept_timeouts, &nb, 1);
	cr_assert(!nonblocking(blocking) && nonblocking(nb));
}

struct connect_case {
	int port;
	int fd_blocking, fd_nonblocking;
};

static void *connect_timeouts(void *arg)
{
	struct connect_case *cc = arg;
	struct sockaddr_in a = loopback(cc->port);
	int64_t t0 = smarm_now();

	/* A blocking socket: connect runs in the pool and is aborted. */
	CHECK_RC(smarm_connect(cc->fd_blocking, (struct sockaddr *)&a, sizeof a,
			       SMARM_MSEC(100)),
		 -ETIMEDOUT);
	CHECK(ms_since(t0) >= 99 && ms_since(t0) < 3000);
	/* The program's own non-blocking socket: EINPROGRESS, then a park. */
	t0 = smarm_now();
	CHECK_RC(smarm_connect(cc->fd_nonblocking, (struct sockaddr *)&a, sizeof a,
			       SMARM_MSEC(100)),
		 -ETIMEDOUT);
	CHECK(ms_since(t0) >= 99 && ms_since(t0) < 3000);
	return NULL;
}

Test(io, connect_times_out_on_a_full_backlog)
{
	/* Loopback has no black hole, but a listener nobody accepts from
	 * drops SYNs once its accept queue is full: connects then wait for SYN
	 * retransmissions (1 s, 3 s ...), long past our timeouts. */
	struct connect_case cc;
	int l = listener(0, 0, &cc.port);
	struct sockaddr_in a = loopback(cc.port);

	for (int i = 0; i < 4; i++) {
		int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(f, (struct sockaddr *)&a, sizeof a);
	}
	usleep(20000);
	cc.fd_blocking = socket(AF_INET, SOCK_STREAM, 0);
	cc.fd_nonblocking = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	rt_run(connect_timeouts, &cc, 2);
	cr_assert(!nonblocking(cc.fd_blocking));
	close(l);
}

static void *connect_refused(void *arg)
{
	int port = *(int *)arg;
	struct sockaddr_in a = loopback(port);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	CHECK_RC(smarm_connect(b, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)),
		 -ECONNREFUSED);
	CHECK_RC(smarm_connect(nb, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)),
		 -ECONNREFUSED);
	smarm_close(b);
	smarm_close(nb);
	return NULL;
}

Test(io, connect_to_a_closed_port_is_refused)
{
	int port, l = listener(1, 0, &port);

	close(l); /* nothing listens there now */
	rt_run(connect_refused, &port, 2);
}

/* ---- end of file, reset, shutdown, close --------------------------------- */

struct eof_case {
	int rd, other;  /* reader's fd; the fd the closer acts on */
	int how;        /* 0 close(other), 1 reset (SO_LINGER 0), 2 shutdown(rd) */
	long got;
};

static void *eof_closer(void *arg)
{
	struct eof_case *ec = arg;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	smarm_sleep(SMARM_MSEC(30)); /* the reader is parked by now */
	switch (ec->how) {
	case 0:
		smarm_close(ec->other);
		break;
	case 1:
		setsockopt(ec->other, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		smarm_close(ec->other);
		break;
	default:
		shutdown(ec->rd, SHUT_RDWR);
		break;
	}
	return NULL;
}

static void *eof_root(void *arg)
{
	struct eof_case *ec = arg;
	char b[8];
	smarm_pid_t c = rt_spawn(eof_closer, ec, "closer", 0);

	ec->got = smarm_read(ec->rd, b, sizeof b, SMARM_SEC(10));
	rt_join(c);
	return NULL;
}

static long eof_run(int rd, int other, int how)
{
	struct eof_case ec = {.rd = rd, .other = other, .how = how, .got = 99};

	rt_run(eof_root, &ec, 1);
	return ec.got;
}

Test(io, end_of_file_wakes_a_parked_reader)
{
	int p[2], s[2], t[2];

	cr_assert(pipe(p) == 0);
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	tcp_pair(t);
	cr_assert_eq(eof_run(p[0], p[1], 0), 0);
	cr_assert_eq(eof_run(s[0], s[1], 0), 0);
	cr_assert_eq(eof_run(t[0], t[1], 0), 0);
}

Test(io, peer_reset_gives_econnreset)
{
	int t[2];

	tcp_pair(t);
	cr_assert_eq(eof_run(t[0], t[1], 1), -ECONNRESET);
}

Test(io, shutdown_wakes_a_parked_reader)
{
	int t[2], s[2];

	tcp_pair(t);
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	cr_assert_eq(eof_run(t[0], -1, 2), 0);
	cr_assert_eq(eof_run(s[0], -1, 2), 0);
}

struct close_case {
	int fd;
	long rd_got, wr_got, acc_got;
	int lfd;
};

static void *cc_reader(void *arg)
{
	struct close_case *cc = arg;
	char b[8];

	cc->rd_got = smarm_read(cc->fd, b, sizeof b, SMARM_SEC(10));
	return NULL;
}

static void *cc_writer(void *arg)
{
	struct close_case *cc = arg;
	size_t big = 16 << 20;
	char *b = calloc(1, big);

	cc->wr_got = smarm_write(cc->fd, b, big, SMARM_SEC(10));
	free(b);
	return NULL;
}

static void *cc_acceptor(void *arg)
{
	struct close_case *cc = arg;

	cc->acc_got = smarm_accept(cc->lfd, NULL, NULL, 0, SMARM_SEC(10));
	return NULL;
}

static void *close_root(void *arg)
{
	struct close_case *cc = arg;
	smarm_pid_t r = rt_spawn(cc_reader, cc, "reader", 0);
	smarm_pid_t w = rt_spawn(cc_writer, cc, "writer", 0);
	smarm_pid_t a = rt_spawn(cc_acceptor, cc, "acceptor", 0);
	int64_t t0;

	smarm_sleep(SMARM_MSEC(50)); /* all three parked */
	t0 = smarm_now();
	CHECK_RC(smarm_close(cc->fd), 0);
	CHECK_RC(smarm_close(cc->lfd), 0);
	rt_join(r);
	rt_join(w);
	rt_join(a);
	CHECK(ms_since(t0) < 2000);
	return NULL;
}

Test(io, smarm_close_wakes_parked_waiters_with_ebadf)
{
	int s[2], port;
	struct close_case cc;

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	cc.fd = s[0];
	cc.lfd = listener(4, 0, &port);
	rt_run(close_root, &cc, 2);
	cr_assert_eq(cc.rd_got, -EBADF);
	cr_assert_eq(cc.wr_got, -EBADF);
	cr_assert_eq(cc.acc_got, -EBADF);
	cr_assert(fcntl(s[0], F_GETFD) < 0, "the fd was not closed");
}

/* smarm_close must not reach a new file that reuses the number it freed:
 * closers and waiters churn through fd numbers on two carriers, and a
 * waiter parked on its own, open socket must only ever time out. */
struct churn {
	_Atomic int stop, spurious, waits;
};

static void *churn_closer(void *arg)
{
	struct churn *ch = arg;

	while (!atomic_load(&ch->stop)) {
		int x[2];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, x) == 0);
		smarm_close(x[0]);
		smarm_close(x[1]);
		smarm_yield();
	}
	return NULL;
}

static void *churn_waiter(void *arg)
{
	struct churn *ch = arg;
	char c;

	for (int i = 0; i < 1500 / RT_SCALE + 100; i++) {
		int y[2];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, y) == 0);
		long n = smarm_read(y[0], &c, 1, SMARM_USEC(300));
		if (n != -ETIMEDOUT)
			atomic_fetch_add(&ch->spurious, 1);
		atomic_fetch_add(&ch->waits, 1);
		smarm_close(y[0]);
		smarm_close(y[1]);
	}
	return NULL;
}

static void *churn_root(void *arg)
{
	struct churn *ch = arg;
	smarm_pid_t c[2], w[3];

	for (int i = 0; i < 2; i++)
		c[i] = rt_spawn(churn_closer, ch, "closer", 0);
	for (int i = 0; i < 3; i++)
		w[i] = rt_spawn(churn_waiter, ch, "waiter", 0);
	for (int i = 0; i < 3; i++)
		rt_join(w[i]);
	atomic_store(&ch->stop, 1);
	for (int i = 0; i < 2; i++)
		rt_join(c[i]);
	return NULL;
}

Test(regress, close_never_wakes_the_next_owner_of_the_number)
{
	struct churn ch = {0};

	rt_run(churn_root, &ch, 2);
	cr_assert_gt(atomic_load(&ch.waits), 0);
	cr_assert_eq(atomic_load(&ch.spurious), 0, "%d of %d waits woke with an error",
		     atomic_load(&ch.spurious), atomic_load(&ch.waits));
}

/* ---- readiness ----------------------------------------------------------- */

static void *ready_late_writer(void *arg)
{
	int *s = arg;

	smarm_sleep(SMARM_MSEC(20));
	CHECK_EQ(smarm_write(s[1], "!", 1, SMARM_FOREVER), 1);
	return NULL;
}

static void *ready_root(void *arg)
{
	int *s = arg;
	int r;

	r = smarm_wait_writable(s[0], SMARM_MSEC(100));
	CHECK(r > 0 && (r & POLLOUT));
	CHECK_RC(smarm_wait_readable(s[0], SMARM_MSEC(20)), -ETIMEDOUT);
	smarm_pid_t w = rt_spawn(ready_late_writer, s, "writer", 0);
	r = smarm_wait_readable(s[0], SMARM_SEC(5));
	CHECK(r > 0 && (r & POLLIN));
	rt_join(w);
	/* Still readable: nothing was consumed. */
	r = smarm_wait_readable(s[0], 0);
	CHECK(r > 0 && (r & POLLIN));
	return NULL;
}

Test(io, wait_readable_and_writable)
{
	int s[2];

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	rt_run(ready_root, s, 1);
}

/* Readiness must reach an actor while every carrier is busy: nobody is
 * idle in epoll, so only the busy carriers' own polls (pick) can see it. */
struct busy_case {
	int p[2];
	_Atomic int done;
	int64_t latency_ms;
};

static void *busy_spinner(void *arg)
{
	struct busy_case *bc = arg;

	while (!atomic_load(&bc->done))
		smarm_yield();
	return NULL;
}

static void *busy_outside_writer(void *arg)
{
	struct busy_case *bc = arg;

	usleep(50000);
	if (write(bc->p[1], "w", 1) != 1)
		abort();
	return NULL;
}

static void *busy_root(void *arg)
{
	struct busy_case *bc = arg;
	smarm_pid_t sp[4];
	pthread_t t;
	char c;

	for (int i = 0; i < 4; i++)
		sp[i] = rt_spawn(busy_spinner, bc, "spinner", 0);
	pthread_create(&t, NULL, busy_outside_writer, bc);
	int64_t t0 = smarm_now();
	CHECK_EQ(smarm_read(bc->p[0], &c, 1, SMARM_SEC(10)), 1);
	bc->latency_ms = ms_since(t0) - 50;
	atomic_store(&bc->done, 1);
	for (int i = 0; i < 4; i++)
		rt_join(sp[i]);
	pthread_join(t, NULL);
	return NULL;
}

Test(io, busy_carriers_still_see_readiness)
{
	struct busy_case bc = {0};

	cr_assert(pipe(bc.p) == 0);
	rt_run(busy_root, &bc, 1);
	cr_assert_lt(bc.latency_ms, 500, "readiness took %ld ms", (long)bc.latency_ms);
	rt_run(busy_root, &(struct busy_case){.p = {bc.p[0], bc.p[1]}}, 2);
}

/* ---- outside actors ------------------------------------------------------ */

Test(io, calls_from_a_plain_thread_block_it)
{
	int s[2];
	char b[4];
	int64_t t0 = smarm_now();

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	cr_assert_eq(smarm_read(s[0], b, sizeof b, SMARM_MSEC(30)), -ETIMEDOUT);
	cr_assert_geq(ms_since(t0), 29);
	cr_assert_eq(smarm_write(s[1], "ab", 2, SMARM_FOREVER), 2);
	cr_assert_eq(smarm_read(s[0], b, sizeof b, SMARM_FOREVER), 2);
	cr_assert_eq(smarm_wait_readable(s[0], 0), -ETIMEDOUT);
}

/* ---- datagrams ----------------------------------------------------------- */

static void *udp_root(void *arg)
{
	(void)arg;
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = loopback(0), from;
	socklen_t sl = sizeof sa, fl = sizeof from;
	char buf[64];

	CHECK(bind(a, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(getsockname(a, (struct sockaddr *)&sa, &sl) == 0);
	CHECK_RC((int)smarm_sock_recvfrom(a, buf, sizeof buf, 0, NULL, NULL, SMARM_MSEC(20)),
		 -ETIMEDOUT);
	CHECK_EQ(smarm_sock_sendto(b, "datagram", 8, 0, (struct sockaddr *)&sa, sizeof sa,
				   SMARM_SEC(1)),
		 8);
	CHECK_EQ(smarm_sock_recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl,
				     SMARM_SEC(1)),
		 8);
	CHECK(memcmp(buf, "datagram", 8) == 0);
	CHECK_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	/* recv/send on a connected datagram socket; MSG_PEEK leaves it there. */
	CHECK(connect(b, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK_EQ(smarm_sock_send(b, "two", 3, 0, SMARM_SEC(1)), 3);
	CHECK_EQ(smarm_sock_recv(a, buf, sizeof buf, MSG_PEEK, SMARM_SEC(1)), 3);
	CHECK_EQ(smarm_sock_recv(a, buf, sizeof buf, 0, SMARM_SEC(1)), 3);
	CHECK(memcmp(buf, "two", 3) == 0);
	smarm_close(a);
	smarm_close(b);
	return NULL;
}

Test(io, udp_datagrams)
{
	rt_run(udp_root, NULL, 2);
}

/* ---- accept / connect / a stream's MSG_WAITALL --------------------------- */

static void *ac_client(void *arg)
{
	int port = *(int *)arg;
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK_RC(smarm_connect(fd, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)), 0);
	/* In two pieces: MSG_WAITALL on the other side must join them. */
	CHECK_EQ(smarm_sock_send(fd, "abc", 3, 0, SMARM_SEC(5)), 3);
	smarm_sleep(SMARM_MSEC(20));
	CHECK_EQ(smarm_sock_send(fd, "defg", 4, 0, SMARM_SEC(5)), 4);
	CHECK(!nonblocking(fd));
	smarm_close(fd);
	return NULL;
}

static void *ac_root(void *arg)
{
	int *l = arg, port = l[1];
	char b[8] = {0};
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	smarm_pid_t c = rt_spawn(ac_client, &port, "client", 0);
	int fd = smarm_accept(l[0], (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC, SMARM_SEC(5));

	CHECK(fd >= 0);
	CHECK_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(smarm_sock_recv(fd, b, 7, MSG_WAITALL, SMARM_SEC(5)), 7);
	CHECK(memcmp(b, "abcdefg", 7) == 0);
	CHECK_EQ(smarm_read(fd, b, sizeof b, SMARM_SEC(5)), 0);
	smarm_close(fd);
	rt_join(c);
	return NULL;
}

Test(io, accept_and_connect_on_blocking_sockets)
{
	int l[2];

	l[0] = listener(8, 0, &l[1]);
	rt_run(ac_root, l, 2);
	cr_assert(!nonblocking(l[0]));
}

/* Several actors on two carriers accept from one blocking listener, woken
 * together by each connection.  Each accepts only after poll(0) says a
 * connection is queued; if two of ours could both believe it at once, the
 * loser's accept4 would block its carrier until the next connection, and
 * after the last one for good: the run would hang. */
#define ACCEPTORS 4
#define ACCEPTED 40

struct multi {
	int lfd, port;
	_Atomic int accepted;
};

static void *multi_acceptor(void *arg)
{
	struct multi *m = arg;

	while (atomic_load(&m->accepted) < ACCEPTED) {
		int fd = smarm_accept(m->lfd, NULL, NULL, 0, SMARM_MSEC(50));
		if (fd >= 0) {
			atomic_fetch_add(&m->accepted, 1);
			smarm_close(fd);
		} else {
			CHECK(fd == -ETIMEDOUT);
		}
	}
	return NULL;
}

static void *multi_client(void *arg)
{
	struct multi *m = arg;
	struct sockaddr_in a = loopback(m->port);

	for (int i = 0; i < ACCEPTED; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK_RC(smarm_connect(fd, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)), 0);
		smarm_close(fd);
		smarm_sleep(SMARM_USEC(200)); /* every acceptor is parked again */
	}
	return NULL;
}

static void *multi_root(void *arg)
{
	smarm_pid_t p[ACCEPTORS], c;

	for (int i = 0; i < ACCEPTORS; i++)
		p[i] = rt_spawn(multi_acceptor, arg, "acceptor", 0);
	c = rt_spawn(multi_client, arg, "client", 0);
	rt_join(c);
	for (int i = 0; i < ACCEPTORS; i++)
		rt_join(p[i]);
	return NULL;
}

Test(io, several_acceptors_share_a_blocking_listener)
{
	struct multi m = {0};

	m.lfd = listener(64, 0, &m.port);
	for (int r = 0; r < 20; r++) {
		atomic_store(&m.accepted, 0);
		rt_run(multi_root, &m, 2);
		cr_assert_eq(atomic_load(&m.accepted), ACCEPTED);
	}
}

/* An fd number that comes back after a plain close() must not keep the old
 * file's registration: a wait on it would never be woken. */
struct reuse {
	int lfd, port;
	int fd1, fd2;
	char got1, got2;
};

static void *reuse_client(void *arg)
{
	struct reuse *ru = arg;
	struct sockaddr_in a = loopback(ru->port);
	int c1 = socket(AF_INET, SOCK_STREAM, 0), c2;

	CHECK_RC(smarm_connect(c1, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)), 0);
	smarm_sleep(SMARM_MSEC(20)); /* the server's read parks (and registers) */
	CHECK_EQ(smarm_write(c1, "a", 1, SMARM_SEC(5)), 1);
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_RC(smarm_connect(c2, (struct sockaddr *)&a, sizeof a, SMARM_SEC(5)), 0);
	smarm_sleep(SMARM_MSEC(50)); /* again: the second read must park */
	CHECK_EQ(smarm_write(c2, "b", 1, SMARM_SEC(5)), 1);
	smarm_sleep(SMARM_MSEC(20));
	smarm_close(c1);
	smarm_close(c2);
	return NULL;
}

static void *reuse_root(void *arg)
{
	struct reuse *ru = arg;
	smarm_pid_t c = rt_spawn(reuse_client, ru, "client", 0);

	ru->fd1 = smarm_accept(ru->lfd, NULL, NULL, 0, SMARM_SEC(5));
	CHECK_EQ(smarm_read(ru->fd1, &ru->got1, 1, SMARM_SEC(5)), 1);
	close(ru->fd1); /* behind the runtime's back */
	ru->fd2 = smarm_accept(ru->lfd, NULL, NULL, 0, SMARM_SEC(5));
	CHECK_EQ(smarm_read(ru->fd2, &ru->got2, 1, SMARM_SEC(5)), 1);
	smarm_close(ru->fd2);
	rt_join(c);
	return NULL;
}

Test(io, accept_renews_an_fd_number_closed_behind_our_back)
{
	struct reuse ru = {0};

	ru.lfd = listener(8, 0, &ru.port);
	rt_run(reuse_root, &ru, 1);
	cr_assert_eq(ru.fd2, ru.fd1, "the kernel did not reuse the number");
	cr_assert_eq(ru.got1, 'a');
	cr_assert_eq(ru.got2, 'b');
}

static void *late_write(void *arg)
{
	int fd = (int)(intptr_t)arg;

	smarm_sleep(SMARM_MSEC(30));
	CHECK_EQ(smarm_write(fd, "z", 1, SMARM_SEC(5)), 1);
	return NULL;
}

static void *forget_root(void *arg)
{
	int *out = arg, s[2], t[2];
	char c = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	smarm_pid_t w = rt_spawn(late_write, (void *)(intptr_t)s[1], "writer", 0);
	CHECK_EQ(smarm_read(s[0], &c, 1, SMARM_SEC(5)), 1); /* parks: registered */
	rt_join(w);
	CHECK_RC(smarm_io_forget(s[0]), 0);
	close(s[0]);
	close(s[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, t) == 0);
	out[0] = s[0];
	out[1] = t[0];
	w = rt_spawn(late_write, (void *)(intptr_t)t[1], "writer", 0);
	CHECK_EQ(smarm_read(t[0], &c, 1, SMARM_SEC(5)), 1); /* parks again */
	CHECK_EQ(c, 'z');
	rt_join(w);
	return NULL;
}

Test(io, forget_before_a_plain_close_lets_the_number_be_reused)
{
	int fds[2];

	rt_run(forget_root, fds, 1);
	cr_assert_eq(fds[1], fds[0], "the kernel did not reuse the number");
}

/* ---- regular files and the pool ------------------------------------------ */

static void *file_root(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	size_t n = 300000;
	char *w = malloc(n), *r = malloc(n);
	int64_t runs0, runs1;

	for (size_t i = 0; i < n; i++)
		w[i] = (char)(i * 7 + 3);
	smarm__pool_stats(NULL, NULL, &runs0);
	CHECK_EQ(smarm_write(fd, w, n, SMARM_FOREVER), (long)n);
	smarm__pool_stats(NULL, NULL, &runs1);
	CHECK(runs1 > runs0); /* ext4 buffered writes have no RWF_NOWAIT */
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_EQ(smarm_read_full(fd, r, n, SMARM_FOREVER), (long)n);
	CHECK(memcmp(w, r, n) == 0);
	CHECK_EQ(smarm_read(fd, r, n, SMARM_FOREVER), 0); /* end of file */
	CHECK(smarm_wait_readable(fd, 0) > 0);             /* files are always ready */
	CHECK_RC(smarm_close(fd), 0);
	free(w);
	free(r);
	return NULL;
}

Test(io, regular_file_read_and_write)
{
	char path[] = "/tmp/smarm_test_io_XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	rt_run(file_root, path, 2);
	unlink(path);
}

static void *gai_root(void *arg)
{
	(void)arg;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int64_t runs0, runs1;

	smarm__pool_stats(NULL, NULL, &runs0);
	CHECK_RC(smarm_getaddrinfo("127.0.0.1", "8080", &hints, &res), 0);
	smarm__pool_stats(NULL, NULL, &runs1);
	CHECK(runs1 == runs0 + 1);
	CHECK(res && res->ai_family == AF_INET);
	if (res) {
		struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
		CHECK_EQ(ntohs(a->sin_port), 8080);
		CHECK_EQ(a->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
		freeaddrinfo(res);
	}
	CHECK(smarm_getaddrinfo("not an address", NULL, &hints, &res) == EAI_NONAME);
	return NULL;
}

Test(io, getaddrinfo_runs_in_the_pool)
{
	rt_run(gai_root, NULL, 2);
}

static void *sleep_200ms(void *arg)
{
	struct timespec ts = {0, 200000000};

	nanosleep(&ts, NULL);
	return (char *)arg + 1;
}

struct bio_case {
	_Atomic int ticks, stop;
	int64_t took_ms;
	void *result;
};

static void *bio_ticker(void *arg)
{
	struct bio_case *bc = arg;

	while (!atomic_load(&bc->stop)) {
		atomic_fetch_add(&bc->ticks, 1);
		smarm_sleep(SMARM_MSEC(1));
	}
	return NULL;
}

static void *bio_root(void *arg)
{
	struct bio_case *bc = arg;
	smarm_pid_t t = rt_spawn(bio_ticker, bc, "ticker", 0);
	int64_t t0 = smarm_now();

	CHECK_RC(smarm_block_on_io(sleep_200ms, (void *)0x1000, &bc->result), 0);
	bc->took_ms = ms_since(t0);
	atomic_store(&bc->stop, 1);
	rt_join(t);
	return NULL;
}

Test(io, block_on_io_does_not_stop_other_actors)
{
	struct bio_case bc = {0};

	rt_run(bio_root, &bc, 1);
	cr_assert_eq(bc.result, (void *)0x1001);
	cr_assert_geq(bc.took_ms, 199);
	/* One carrier: the ticker's ~1 ms sleeps went on during the 200 ms. */
	cr_assert_gt(atomic_load(&bc.ticks), 50, "ticker ran %d times",
		     atomic_load(&bc.ticks));
}

static void *sleep_50ms(void *arg)
{
	struct timespec ts = {0, 50000000};

	nanosleep(&ts, NULL);
	return arg;
}

static void *burst_one(void *arg)
{
	void *r = NULL;

	CHECK_RC(smarm_block_on_io(sleep_50ms, arg, &r), 0);
	CHECK(r == arg);
	return NULL;
}

static void *burst_root(void *arg)
{
	int *peak = arg, threads, idle;
	smarm_pid_t p[16];

	for (int i = 0; i < 16; i++)
		p[i] = rt_spawn(burst_one, (void *)(intptr_t)(i + 1), "burst", 0);
	for (int i = 0; i < 16; i++)
		rt_join(p[i]);
	smarm__pool_stats(&threads, &idle, NULL);
	peak[0] = threads;
	/* Idle for longer than the idle limit: every thread leaves. */
	for (int i = 0; i < 100; i++) {
		smarm_sleep(SMARM_MSEC(20));
		smarm__pool_stats(&threads, &idle, NULL);
		if (threads == 0)
			break;
	}
	peak[1] = threads;
	return NULL;
}

Test(io, pool_grows_for_a_burst_and_shrinks_after_it)
{
	int peak[2];

	smarm__pool_idle_ns = SMARM_MSEC(100);
	rt_run(burst_root, peak, 2);
	/* 16 calls that each sleep 50 ms at once need 16 threads. */
	cr_assert_eq(peak[0], 16, "pool had %d threads after the burst", peak[0]);
	cr_assert_eq(peak[1], 0, "pool still has %d threads", peak[1]);
}

/* ---- 10,000 connections at once ------------------------------------------ */

#define MANY 10000

struct many {
	int lfd, port;
	_Atomic int live, peak, served, errors;
	_Atomic long bytes;
	struct prog_result *client;
};

struct conn_arg {
	struct many *m;
	int fd;
};

static void *echo_handler(void *arg)
{
	struct conn_arg ca = *(struct conn_arg *)arg;
	char buf[2048];
	int live = atomic_fetch_add(&ca.m->live, 1) + 1, p;

	free(arg);
	while (live > (p = atomic_load(&ca.m->peak)) &&
	       !atomic_compare_exchange_weak(&ca.m->peak, &p, live))
		;
	for (;;) {
		long n = smarm_read(ca.fd, buf, sizeof buf, SMARM_SEC(60));
		if (n <= 0) {
			if (n < 0)
				atomic_fetch_add(&ca.m->errors, 1);
			break;
		}
		if (smarm_write(ca.fd, buf, (size_t)n, SMARM_SEC(60)) != n) {
			atomic_fetch_add(&ca.m->errors, 1);
			break;
		}
		atomic_fetch_add(&ca.m->bytes, n);
	}
	atomic_fetch_sub(&ca.m->live, 1);
	smarm_close(ca.fd);
	return NULL;
}

static void *run_client(void *arg)
{
	struct many *m = arg;
	char port[16], conns[16], rounds[16];

	snprintf(port, sizeof port, "%d", m->port);
	snprintf(conns, sizeof conns, "%d", MANY);
	snprintf(rounds, sizeof rounds, "%d", RT_SCALE > 1 ? 2 : 4);
	const char *argv[] = {"io_echo_client", port, conns, rounds, NULL};
	m->client = prog_run(argv, (const char *[]){"SMARM_THREADS=2", NULL}, 50000);
	return NULL;
}

static void *acceptor(void *arg)
{
	struct many *m = arg;

	while (atomic_load(&m->served) < MANY) {
		int fd = smarm_accept(m->lfd, NULL, NULL, SOCK_CLOEXEC, SMARM_SEC(100));
		if (fd < 0) {
			atomic_fetch_add(&m->errors, 1);
			break;
		}
		struct conn_arg *ca = malloc(sizeof *ca);
		ca->m = m;
		ca->fd = fd;
		struct smarm_spawn_opts o = {.stack_size = 32 << 10,
					     .flags = SMARM_SPAWN_DETACHED};
		CHECK_RC(smarm_spawn(NULL, echo_handler, ca, &o), 0);
		atomic_fetch_add(&m->served, 1);
	}
	return NULL;
}

static void *driver(void *arg)
{
	struct many *m = arg;
	void *ignored;
	smarm_pid_t a = rt_spawn(acceptor, m, "acceptor", 0);

	/* The client runs in its own process (20,000 fds do not fit under a
	 * 20,000 limit in one); waiting for it blocks, so in the pool. */
	CHECK_RC(smarm_block_on_io(run_client, m, &ignored), 0);
	if (atomic_load(&m->served) < MANY)
		smarm_close(m->lfd); /* the acceptor would wait forever */
	rt_join(a);
	return NULL;
}

Test(io, ten_thousand_concurrent_connections)
{
	struct rlimit rl;
	struct many m = {0};

	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	/* Raising the hard limit needs root (CI is root); otherwise it must
	 * already allow the connections: fail, never skip. */
	if (rl.rlim_max < MANY + 200)
		rl.rlim_max = MANY + 200;
	rl.rlim_cur = rl.rlim_max;
	cr_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0,
		  "cannot raise RLIMIT_NOFILE to %lu (ulimit -Hn is lower and we are "
		  "not root)", (unsigned long)rl.rlim_max);
	m.lfd = listener(4096, 0, &m.port);
	rt_run(driver, &m, 0);
	cr_assert(m.client, "client did not run");
	cr_assert(!m.client->timed_out, "client timed out; stderr: %s", m.client->err);
	cr_assert(WIFEXITED(m.client->status) && WEXITSTATUS(m.client->status) == 0,
		  "client failed (status %d): %s", m.client->status, m.client->err);
	cr_assert(strstr(m.client->out, "ok conns=10000"), "client said: %s", m.client->out);
	long client_bytes = atol(strstr(m.client->out, "bytes=") + 6);
	cr_assert_eq(atomic_load(&m.errors), 0);
	cr_assert_eq(atomic_load(&m.served), MANY);
	cr_assert_eq(atomic_load(&m.peak), MANY, "only %d connections at once",
		     atomic_load(&m.peak));
	cr_assert_eq(atomic_load(&m.bytes), client_bytes);
}
