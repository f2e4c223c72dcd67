/* test_fdpark.c — io.c's interface for the drop-in shim (internal.h,
 * smarm__fd_snap / smarm__fd_park): one park over several fds, the first
 * edge wins, every node unlinked afterwards (the waiter count back to 0),
 * a close under the park, fds without readiness, deadlines.  Built here,
 * not only in the preload, so the sanitizer build runs it too. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(fdpark, .timeout = 60);

#define NP 20 /* more than the park's 8 on-stack nodes */

struct many {
	int p[NP][2];
	int which;      /* the pipe the writer writes to */
	long parked;    /* what the park returned */
	int ready;      /* pipes poll(0) found readable afterwards */
	int first;      /* the first of them */
	int waiters;    /* smarm__io_waiters after the park */
};

static void *many_writer(void *arg)
{
	struct many *m = arg;

	smarm_sleep(SMARM_MSEC(20));
	CHECK_EQ(write(m->p[m->which][1], "x", 1), 1);
	return NULL;
}

static void *many_root(void *arg)
{
	struct many *m = arg;
	struct smarm__fdsel s[NP];
	smarm_pid_t w;

	for (int i = 0; i < NP; i++) {
		s[i] = (struct smarm__fdsel){.fd = m->p[i][0], .dirs = SMARM__FD_RD};
		CHECK_EQ(smarm__fd_snap(&s[i]), 0);
	}
	w = rt_spawn(many_writer, m, "writer", 0);
	m->parked = smarm__fd_park(s, NP, smarm__deadline(SMARM_SEC(10)));
	rt_join(w);
	m->waiters = atomic_load(&smarm__io_waiters);
	m->first = -1;
	for (int i = 0; i < NP; i++) {
		struct pollfd p = {.fd = m->p[i][0], .events = POLLIN};
		if (poll(&p, 1, 0) == 1) {
			m->ready++;
			if (m->first < 0)
				m->first = i;
		}
	}
	return NULL;
}

Test(fdpark, one_park_over_many_fds_wakes_on_the_written_one)
{
	struct many m = {.which = 13};

	for (int i = 0; i < NP; i++)
		cr_assert(pipe(m.p[i]) == 0);
	rt_run(many_root, &m, 2);
	cr_expect_eq(m.parked, 0, "park returned %ld", m.parked);
	cr_expect_eq(m.ready, 1);
	cr_expect_eq(m.first, 13);
	cr_expect_eq(m.waiters, 0, "%d waiter nodes left queued", m.waiters);
	for (int i = 0; i < NP; i++) {
		close(m.p[i][0]);
		close(m.p[i][1]);
	}
}

struct closing {
	int p[2], q[2];
	int n;          /* fds in the park: 1 (p) or 2 (p, q) */
	long parked;
	int waiters;
};

static void *closer(void *arg)
{
	struct closing *c = arg;

	smarm_sleep(SMARM_MSEC(20));
	CHECK_EQ(smarm_close(c->p[0]), 0);
	return NULL;
}

static void *closing_root(void *arg)
{
	struct closing *c = arg;
	struct smarm__fdsel s[2] = {{.fd = c->p[0], .dirs = SMARM__FD_RD},
				    {.fd = c->q[0], .dirs = SMARM__FD_RD}};
	smarm_pid_t w;

	CHECK_EQ(smarm__fd_snap(&s[0]), 0);
	CHECK_EQ(smarm__fd_snap(&s[1]), 0);
	w = rt_spawn(closer, c, "closer", 0);
	c->parked = smarm__fd_park(s, c->n, smarm__deadline(SMARM_SEC(10)));
	rt_join(w);
	c->waiters = atomic_load(&smarm__io_waiters);
	return NULL;
}

/* One fd: the close is the answer (EBADF).  Several: 0, so that the
 * caller's next poll(0) reports POLLNVAL for the one closed. */
Test(fdpark, a_close_ends_the_park)
{
	for (int n = 1; n <= 2; n++) {
		struct closing c = {.n = n};
		cr_assert(pipe(c.p) == 0 && pipe(c.q) == 0);
		rt_run(closing_root, &c, 1);
		cr_expect_eq(c.parked, n == 1 ? -EBADF : 0, "n %d: park returned %ld", n,
			     c.parked);
		cr_expect_eq(c.waiters, 0);
		close(c.p[1]);
		close(c.q[0]);
		close(c.q[1]);
	}
}

struct noready {
	int file, pipe_rd;
	long alone, with_pipe, none, zero;
	int64_t waited_ms;
};

static void *noready_root(void *arg)
{
	struct noready *r = arg;
	struct smarm__fdsel s[2] = {{.fd = r->file, .dirs = SMARM__FD_RD},
				    {.fd = r->pipe_rd, .dirs = SMARM__FD_RD}};
	int64_t t0;

	CHECK_EQ(smarm__fd_snap(&s[0]), 0);
	CHECK_EQ(smarm__fd_snap(&s[1]), 0);
	/* A regular file alone: no readiness (the caller uses the pool). */
	r->alone = smarm__fd_park(s, 1, smarm__deadline(SMARM_SEC(10)));
	/* With a pipe: the file is skipped, the pipe waited on. */
	r->with_pipe = smarm__fd_park(s, 2, smarm__deadline(SMARM_MSEC(20)));
	/* No fds: only the deadline ends it. */
	t0 = smarm_now();
	r->none = smarm__fd_park(s, 0, smarm__deadline(SMARM_MSEC(20)));
	r->waited_ms = (smarm_now() - t0) / 1000000;
	/* Deadline 0: never parks. */
	r->zero = smarm__fd_park(s + 1, 1, 0);
	return NULL;
}

Test(fdpark, fds_without_readiness_and_deadlines)
{
	char path[] = "/tmp/smarm_fdpark_XXXXXX";
	struct noready r = {.file = mkstemp(path)};
	int p[2];

	cr_assert(r.file >= 0 && pipe(p) == 0);
	unlink(path);
	r.pipe_rd = p[0];
	rt_run(noready_root, &r, 1);
	cr_expect_eq(r.alone, -EPERM, "%ld", r.alone);
	cr_expect_eq(r.with_pipe, -ETIMEDOUT, "%ld", r.with_pipe);
	cr_expect_eq(r.none, -ETIMEDOUT, "%ld", r.none);
	cr_expect_geq(r.waited_ms, 19);
	cr_expect_eq(r.zero, -ETIMEDOUT, "%ld", r.zero);
	cr_expect_eq(atomic_load(&smarm__io_waiters), 0);
	close(r.file);
	close(p[0]);
	close(p[1]);
}

/* An edge between the snapshot and the park is not lost: the park returns
 * at once (the counter moved) or the edge wakes it. */
static void *edge_root(void *arg)
{
	int *p = arg;
	struct smarm__fdsel s = {.fd = p[0], .dirs = SMARM__FD_RD};
	long r;

	CHECK_EQ(smarm__fd_snap(&s), 0);
	CHECK_EQ(smarm__fd_park(&s, 1, smarm__deadline(SMARM_MSEC(5))), -ETIMEDOUT);
	for (int i = 0; i < 50 * RT_SCALE; i++) {
		char c;
		CHECK_EQ(smarm__fd_snap(&s), 0);
		CHECK_EQ(write(p[1], "e", 1), 1); /* after the snapshot */
		if (i & 1)
			smarm_sleep(SMARM_MSEC(1)); /* let a carrier reap it first */
		r = smarm__fd_park(&s, 1, smarm__deadline(SMARM_SEC(10)));
		CHECK_EQ(r, 0);
		CHECK_EQ(read(p[0], &c, 1), 1);
	}
	return NULL;
}

Test(fdpark, an_edge_after_the_snapshot_is_never_lost)
{
	int p[2];

	cr_assert(pipe(p) == 0);
	rt_run(edge_root, p, 2);
	cr_expect_eq(atomic_load(&smarm__io_waiters), 0);
	close(p[0]);
	close(p[1]);
}
