/* test_chan.c — channels (chan.c): MPSC delivery and per-producer FIFO
 * across carriers, bounded back-pressure, rendezvous, close on both ends,
 * timeouts, select (fairness, timeout, send side, shared buffers), foreign
 * threads on both ends, and the race between timeouts and hand-offs. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(chan, .timeout = 60);

#define SLACK SMARM_MSEC(50) /* lateness tolerated on a noisy VM */

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	return rt_spawn(fn, arg, "t", 0);
}

/* ---- argument checks ---------------------------------------------------- */

Test(chan, bad_input_is_einval)
{
	smarm_chan_t *ch;
	struct smarm_chan_op op = {0};
	uint64_t v = 0;

	cr_assert_eq(smarm_chan_new(NULL, 8, 0), -EINVAL);
	cr_assert_eq(smarm_chan_new(&ch, 0, 0), -EINVAL);
	cr_assert_eq(smarm_chan_new(&ch, SMARM_CHAN_ELEM_MAX + 1, 0), -EINVAL);
	cr_assert_eq(smarm_chan_new(&ch, 8, SMARM_CHAN_MAX + 1), -EINVAL);
	cr_assert_eq(smarm_chan_new(&ch, 8, 4), 0);
	cr_assert_eq(smarm_chan_send(NULL, &v, 0), -EINVAL);
	cr_assert_eq(smarm_chan_send(ch, NULL, 0), -EINVAL);
	cr_assert_eq(smarm_chan_recv(NULL, &v, 0), -EINVAL);
	cr_assert_eq(smarm_chan_recv(ch, NULL, 0), -EINVAL);
	cr_assert_eq(smarm_chan_try_send(NULL, &v), -EINVAL);
	cr_assert_eq(smarm_chan_try_recv(ch, NULL), -EINVAL);
	cr_assert_eq(smarm_chan_close(NULL), -EINVAL);
	cr_assert_eq(smarm_chan_select(NULL, 1, 0), -EINVAL);
	op.ch = ch;
	op.buf = NULL;
	cr_assert_eq(smarm_chan_select(&op, 1, 0), -EINVAL);
	op.buf = &v;
	op.dir = 7;
	cr_assert_eq(smarm_chan_select(&op, 1, 0), -EINVAL);
	cr_assert_eq(smarm_chan_select(&op, SMARM_CHAN_SELECT_MAX + 1, 0), -EINVAL);
	op.ch = NULL;
	cr_assert_eq(smarm_chan_select(&op, 1, SMARM_FOREVER), -EDEADLK);
	cr_assert_eq(smarm_chan_len(NULL), 0);
	smarm_chan_free(ch);
	smarm_chan_free(NULL);
}

/* Outside any runtime, a channel still works without waiting. */
Test(chan, try_ops_work_without_runtime)
{
	smarm_chan_t *ch;
	uint32_t v;

	cr_assert_eq(smarm_chan_new(&ch, sizeof v, 2), 0);
	v = 7;
	cr_assert_eq(smarm_chan_try_send(ch, &v), 0);
	v = 8;
	cr_assert_eq(smarm_chan_send(ch, &v, 0), 0);
	cr_assert_eq(smarm_chan_try_send(ch, &v), -EAGAIN);
	cr_assert_eq(smarm_chan_send(ch, &v, 0), -ETIMEDOUT);
	cr_assert_eq(smarm_chan_len(ch), 2);
	cr_assert_eq(smarm_chan_try_recv(ch, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(smarm_chan_recv(ch, &v, 0), 0);
	cr_assert_eq(v, 8);
	cr_assert_eq(smarm_chan_try_recv(ch, &v), -EAGAIN);
	cr_assert_eq(smarm_chan_recv(ch, &v, 0), -ETIMEDOUT);
	smarm_chan_free(ch);
}

/* ---- MPSC: nothing lost, FIFO per producer ------------------------------- */

#define NPROD 8
#define NMSG (40000 / RT_SCALE)

struct mpsc {
	smarm_chan_t *ch;
	int id;
};

static void *producer(void *arg)
{
	struct mpsc *p = arg;

	for (uint32_t i = 0; i < NMSG; i++) {
		uint64_t v = ((uint64_t)p->id << 32) | i;
		CHECK_RC(smarm_chan_send(p->ch, &v, SMARM_FOREVER), 0);
	}
	return NULL;
}

static void *root_mpsc(void *arg)
{
	size_t capacity = (size_t)(uintptr_t)arg;
	struct mpsc prods[NPROD];
	smarm_pid_t pids[NPROD];
	uint32_t next[NPROD] = {0};
	smarm_chan_t *ch;

	CHECK_RC(smarm_chan_new(&ch, sizeof(uint64_t), capacity), 0);
	for (int i = 0; i < NPROD; i++) {
		prods[i] = (struct mpsc){ch, i};
		pids[i] = spawn(producer, &prods[i]);
	}
	for (long k = 0; k < (long)NPROD * NMSG; k++) {
		uint64_t v;
		CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), 0);
		uint32_t id = v >> 32, seq = (uint32_t)v;
		if (id >= NPROD) {
			CHECK(id < NPROD);
			break;
		}
		CHECK_EQ(seq, next[id]); /* FIFO per producer, nothing lost or doubled */
		next[id] = seq + 1;
		if (capacity && capacity != SMARM_CHAN_RENDEZVOUS)
			CHECK(smarm_chan_len(ch) <= capacity);
	}
	for (int i = 0; i < NPROD; i++) {
		rt_join(pids[i]);
		CHECK_EQ(next[i], NMSG);
	}
	uint64_t v;
	CHECK_RC(smarm_chan_try_recv(ch, &v), -EAGAIN);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, mpsc_unbounded_four_carriers_nothing_lost_fifo_per_producer)
{
	rt_run(root_mpsc, (void *)(uintptr_t)SMARM_CHAN_UNBOUNDED, 4);
}

Test(chan, mpsc_bounded_two_carriers_nothing_lost_fifo_per_producer)
{
	rt_run(root_mpsc, (void *)(uintptr_t)16, 2);
}

Test(chan, mpsc_rendezvous_two_carriers_nothing_lost_fifo_per_producer)
{
	rt_run(root_mpsc, (void *)(uintptr_t)SMARM_CHAN_RENDEZVOUS, 2);
}

Test(chan, mpsc_bounded_one_carrier)
{
	rt_run(root_mpsc, (void *)(uintptr_t)1, 1);
}

/* ---- bounded back-pressure --------------------------------------------- */

struct bp {
	smarm_chan_t *ch;
	_Atomic int sent;
};

static void *bp_producer(void *arg)
{
	struct bp *b = arg;

	for (int i = 0; i < 10; i++) {
		CHECK_RC(smarm_chan_send(b->ch, &i, SMARM_FOREVER), 0);
		atomic_fetch_add(&b->sent, 1);
	}
	return NULL;
}

static void *root_backpressure(void *arg)
{
	struct bp b = {.sent = 0};
	int v;

	(void)arg;
	CHECK_RC(smarm_chan_new(&b.ch, sizeof(int), 4), 0);
	smarm_pid_t p = spawn(bp_producer, &b);
	smarm_sleep(SMARM_MSEC(30));
	/* The producer filled the 4 slots and is parked on the fifth. */
	CHECK_EQ(atomic_load(&b.sent), 4);
	CHECK_EQ(smarm_chan_len(b.ch), 4);
	CHECK_RC(smarm_chan_try_send(b.ch, &v), -EAGAIN);
	CHECK_RC(smarm_chan_recv(b.ch, &v, SMARM_FOREVER), 0);
	CHECK_EQ(v, 0);
	smarm_sleep(SMARM_MSEC(20));
	/* One slot freed: exactly one more send went through, in order. */
	CHECK_EQ(atomic_load(&b.sent), 5);
	for (int i = 1; i < 10; i++) {
		CHECK_RC(smarm_chan_recv(b.ch, &v, SMARM_FOREVER), 0);
		CHECK_EQ(v, i);
	}
	rt_join(p);
	smarm_chan_free(b.ch);
	return NULL;
}

Test(chan, bounded_send_parks_when_full)
{
	rt_run(root_backpressure, NULL, 2);
}

static void *root_send_timeout(void *arg)
{
	smarm_chan_t *ch;
	int v = 1;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof v, 1), 0);
	CHECK_RC(smarm_chan_send(ch, &v, 0), 0);
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_chan_send(ch, &v, SMARM_MSEC(30)), -ETIMEDOUT);
	int64_t dt = smarm_now() - t0;
	CHECK(dt >= SMARM_MSEC(30));
	CHECK(dt < SMARM_MSEC(30) + SLACK);
	CHECK_EQ(smarm_chan_len(ch), 1);
	CHECK_RC(smarm_chan_recv(ch, &v, 0), 0);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, send_timeout_on_full_channel)
{
	rt_run(root_send_timeout, NULL, 1);
}

/* ---- rendezvous ---------------------------------------------------------- */

static void *rv_receiver(void *arg)
{
	smarm_chan_t *ch = arg;
	int v = 0;

	smarm_sleep(SMARM_MSEC(20));
	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), 0);
	return (void *)(intptr_t)v;
}

static void *rv_parked_receiver(void *arg)
{
	smarm_chan_t *ch = arg;
	int v = 0;

	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), 0);
	return (void *)(intptr_t)v;
}

static void *root_rendezvous(void *arg)
{
	smarm_chan_t *ch;
	int v = 42;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof v, SMARM_CHAN_RENDEZVOUS), 0);
	CHECK_RC(smarm_chan_try_send(ch, &v), -EAGAIN); /* nobody to take it */
	smarm_pid_t r = spawn(rv_receiver, ch);
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_chan_send(ch, &v, SMARM_FOREVER), 0);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(20)); /* waited for the receiver */
	CHECK_EQ((intptr_t)rt_join(r), 42);
	CHECK_EQ(smarm_chan_len(ch), 0);
	/* With a receiver parked, a try_send hands over directly. */
	r = spawn(rv_parked_receiver, ch);
	smarm_sleep(SMARM_MSEC(10));
	v = 43;
	CHECK_RC(smarm_chan_try_send(ch, &v), 0);
	CHECK_EQ((intptr_t)rt_join(r), 43);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, rendezvous_send_waits_for_receiver)
{
	rt_run(root_rendezvous, NULL, 2);
}

/* ---- close -------------------------------------------------------------- */

static void *parked_recv_expect_epipe(void *arg)
{
	int v;
	CHECK_RC(smarm_chan_recv(arg, &v, SMARM_FOREVER), -EPIPE);
	return NULL;
}

static void *parked_send_expect_epipe(void *arg)
{
	int v = 99;
	CHECK_RC(smarm_chan_send(arg, &v, SMARM_FOREVER), -EPIPE);
	return NULL;
}

static void *root_close_receivers(void *arg)
{
	smarm_chan_t *ch;
	smarm_pid_t p[4];

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof(int), 0), 0);
	for (int i = 0; i < 4; i++)
		p[i] = spawn(parked_recv_expect_epipe, ch);
	smarm_sleep(SMARM_MSEC(20));
	CHECK_RC(smarm_chan_close(ch), 0);
	CHECK_RC(smarm_chan_close(ch), -EPIPE);
	for (int i = 0; i < 4; i++)
		rt_join(p[i]);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, close_wakes_parked_receivers_with_epipe)
{
	rt_run(root_close_receivers, NULL, 2);
}

static void *root_close_senders(void *arg)
{
	smarm_chan_t *ch;
	smarm_pid_t p[3];
	int v;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof(int), 2), 0);
	v = 1;
	CHECK_RC(smarm_chan_send(ch, &v, 0), 0);
	v = 2;
	CHECK_RC(smarm_chan_send(ch, &v, 0), 0);
	for (int i = 0; i < 3; i++)
		p[i] = spawn(parked_send_expect_epipe, ch);
	smarm_sleep(SMARM_MSEC(20));
	CHECK_RC(smarm_chan_close(ch), 0);
	for (int i = 0; i < 3; i++)
		rt_join(p[i]);
	/* Sends fail; what was queued before close still drains, in order. */
	CHECK_RC(smarm_chan_send(ch, &v, SMARM_FOREVER), -EPIPE);
	CHECK_RC(smarm_chan_try_send(ch, &v), -EPIPE);
	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), 0);
	CHECK_EQ(v, 1);
	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), 0);
	CHECK_EQ(v, 2);
	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_FOREVER), -EPIPE);
	CHECK_RC(smarm_chan_try_recv(ch, &v), -EPIPE);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, close_wakes_parked_senders_and_receivers_drain_then_epipe)
{
	rt_run(root_close_senders, NULL, 2);
}

/* ---- timeouts ----------------------------------------------------------- */

static void *root_recv_timeouts(void *arg)
{
	smarm_chan_t *ch;
	int v;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof v, 0), 0);
	for (int64_t t = SMARM_MSEC(1); t <= SMARM_MSEC(40); t *= 3) {
		int64_t t0 = smarm_now();
		CHECK_RC(smarm_chan_recv(ch, &v, t), -ETIMEDOUT);
		int64_t dt = smarm_now() - t0;
		CHECK(dt >= t);          /* never early */
		CHECK(dt < t + SLACK);   /* at most a little late */
	}
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_chan_recv(ch, &v, 0), -ETIMEDOUT);
	CHECK_RC(smarm_chan_try_recv(ch, &v), -EAGAIN);
	CHECK(smarm_now() - t0 < SMARM_MSEC(5));
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, recv_timeout_is_never_early_and_not_late)
{
	rt_run(root_recv_timeouts, NULL, 2);
}

/* Timeouts racing with hand-offs: every send that reported success is
 * received exactly once, and no receive that timed out lost an element. */
#define RACERS 6
struct race {
	smarm_chan_t *ch;
	_Atomic long sent, received;
	_Atomic int senders_left;
};

static void *race_sender(void *arg)
{
	struct race *r = arg;
	unsigned seed = (unsigned)smarm_self();

	for (int i = 0; i < 3000 / RT_SCALE; i++) {
		int v = 1;
		int rc = smarm_chan_send(r->ch, &v, SMARM_USEC(rand_r(&seed) % 50));
		if (rc == 0)
			atomic_fetch_add(&r->sent, 1);
		else
			CHECK_EQ(rc, -ETIMEDOUT);
	}
	atomic_fetch_sub(&r->senders_left, 1);
	return NULL;
}

static void *race_receiver(void *arg)
{
	struct race *r = arg;
	unsigned seed = (unsigned)smarm_self();
	int v;

	while (atomic_load(&r->senders_left) > 0) {
		v = 0;
		int rc = smarm_chan_recv(r->ch, &v, SMARM_USEC(rand_r(&seed) % 50));
		if (rc == 0) {
			CHECK_EQ(v, 1);
			atomic_fetch_add(&r->received, 1);
		} else {
			CHECK_EQ(rc, -ETIMEDOUT);
			CHECK_EQ(v, 0); /* a timed-out receive never had its buffer written */
		}
	}
	return NULL;
}

static void *root_timeout_race(void *arg)
{
	struct race r = {.senders_left = RACERS};
	smarm_pid_t p[2 * RACERS];
	int v;

	CHECK_RC(smarm_chan_new(&r.ch, sizeof(int), (size_t)(uintptr_t)arg), 0);
	for (int i = 0; i < RACERS; i++) {
		p[2 * i] = spawn(race_sender, &r);
		p[2 * i + 1] = spawn(race_receiver, &r);
	}
	for (int i = 0; i < 2 * RACERS; i++)
		rt_join(p[i]);
	while (smarm_chan_try_recv(r.ch, &v) == 0)
		atomic_fetch_add(&r.received, 1);
	CHECK_EQ(atomic_load(&r.received), atomic_load(&r.sent));
	CHECK(atomic_load(&r.sent) > 0);
	smarm_chan_free(r.ch);
	return NULL;
}

Test(chan, timeouts_racing_handoffs_lose_nothing_bounded)
{
	rt_run(root_timeout_race, (void *)(uintptr_t)2, 2);
}

Test(chan, timeouts_racing_handoffs_lose_nothing_rendezvous)
{
	rt_run(root_timeout_race, (void *)(uintptr_t)SMARM_CHAN_RENDEZVOUS, 2);
}

/* ---- select ------------------------------------------------------------- */

static void *root_select_fair(void *arg)
{
	smarm_chan_t *ch[3];
	struct smarm_chan_op ops[3];
	int bufs[3], hits[3] = {0};
	const int rounds = 3000;

	(void)arg;
	for (int i = 0; i < 3; i++) {
		CHECK_RC(smarm_chan_new(&ch[i], sizeof(int), 0), 0);
		for (int k = 0; k < rounds; k++)
			CHECK_RC(smarm_chan_send(ch[i], &k, 0), 0);
		ops[i] = (struct smarm_chan_op){.ch = ch[i], .buf = &bufs[i],
						.dir = SMARM_CHAN_RECV};
	}
	int expect[3] = {0};
	for (int k = 0; k < rounds; k++) {
		int i = smarm_chan_select(ops, 3, 0);
		CHECK(i >= 0 && i < 3);
		if (i < 0 || i >= 3)
			break;
		CHECK_EQ(ops[i].result, 0);
		CHECK_EQ(bufs[i], expect[i]); /* FIFO within each channel */
		expect[i]++;
		hits[i]++;
	}
	/* Each of three always-ready channels gets about a third. */
	for (int i = 0; i < 3; i++)
		CHECK(hits[i] > rounds / 5);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(smarm_chan_len(ch[i]), (size_t)(rounds - hits[i]));
		smarm_chan_free(ch[i]);
	}
	return NULL;
}

Test(chan, select_is_fair_among_ready_channels)
{
	rt_run(root_select_fair, NULL, 1);
}

static void *root_select_timeout(void *arg)
{
	smarm_chan_t *a, *b;
	int x, y;

	(void)arg;
	CHECK_RC(smarm_chan_new(&a, sizeof(int), 0), 0);
	CHECK_RC(smarm_chan_new(&b, sizeof(int), 4), 0);
	struct smarm_chan_op ops[3] = {
		{.ch = a, .buf = &x, .dir = SMARM_CHAN_RECV},
		{.ch = NULL, .buf = NULL, .dir = SMARM_CHAN_RECV}, /* disabled */
		{.ch = b, .buf = &y, .dir = SMARM_CHAN_RECV},
	};
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_chan_select(ops, 3, SMARM_MSEC(25)), -ETIMEDOUT);
	int64_t dt = smarm_now() - t0;
	CHECK(dt >= SMARM_MSEC(25));
	CHECK(dt < SMARM_MSEC(25) + SLACK);
	CHECK_RC(smarm_chan_select(ops, 3, 0), -ETIMEDOUT);
	/* Nothing enabled: a timed select just sleeps. */
	t0 = smarm_now();
	CHECK_RC(smarm_chan_select(&ops[1], 1, SMARM_MSEC(10)), -ETIMEDOUT);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(10));
	/* Both queues must be empty again (the select's nodes were removed). */
	CHECK_RC(smarm_chan_close(a), 0);
	smarm_chan_free(a);
	smarm_chan_free(b);
	return NULL;
}

Test(chan, select_times_out)
{
	rt_run(root_select_timeout, NULL, 2);
}

struct later {
	smarm_chan_t *ch;
	int value;
	int64_t delay;
};

static void *send_later(void *arg)
{
	struct later *l = arg;

	smarm_sleep(l->delay);
	CHECK_RC(smarm_chan_send(l->ch, &l->value, SMARM_FOREVER), 0);
	return NULL;
}

static void *recv_later(void *arg)
{
	struct later *l = arg;
	int v;

	smarm_sleep(l->delay);
	CHECK_RC(smarm_chan_recv(l->ch, &v, SMARM_FOREVER), 0);
	return (void *)(intptr_t)v;
}

static void *root_select_wakes(void *arg)
{
	smarm_chan_t *ch[3];
	int buf = -1;
	struct smarm_chan_op ops[3];

	(void)arg;
	for (int i = 0; i < 3; i++) {
		CHECK_RC(smarm_chan_new(&ch[i], sizeof(int), 0), 0);
		/* All cases share one buffer. */
		ops[i] = (struct smarm_chan_op){.ch = ch[i], .buf = &buf, .dir = SMARM_CHAN_RECV};
	}
	struct later l = {ch[2], 77, SMARM_MSEC(15)};
	smarm_pid_t p = spawn(send_later, &l);
	CHECK_EQ(smarm_chan_select(ops, 3, SMARM_SEC(5)), 2);
	CHECK_EQ(ops[2].result, 0);
	CHECK_EQ(buf, 77);
	rt_join(p);
	/* A closed channel counts as ready, with -EPIPE. */
	CHECK_RC(smarm_chan_close(ch[1]), 0);
	CHECK_EQ(smarm_chan_select(ops, 3, SMARM_FOREVER), 1);
	CHECK_EQ(ops[1].result, -EPIPE);
	for (int i = 0; i < 3; i++)
		smarm_chan_free(ch[i]);
	return NULL;
}

Test(chan, select_wakes_on_a_later_send_and_sees_close)
{
	rt_run(root_select_wakes, NULL, 2);
}

static void *root_select_send(void *arg)
{
	smarm_chan_t *full, *empty;
	int one = 1, out = 5, in;

	(void)arg;
	CHECK_RC(smarm_chan_new(&full, sizeof(int), 1), 0);
	CHECK_RC(smarm_chan_new(&empty, sizeof(int), 0), 0);
	CHECK_RC(smarm_chan_send(full, &one, 0), 0);
	struct smarm_chan_op ops[2] = {
		{.ch = full, .buf = &out, .dir = SMARM_CHAN_SEND},
		{.ch = empty, .buf = &in, .dir = SMARM_CHAN_RECV},
	};
	CHECK_RC(smarm_chan_select(ops, 2, 0), -ETIMEDOUT);
	struct later l = {full, 0, SMARM_MSEC(15)};
	smarm_pid_t p = spawn(recv_later, &l);
	CHECK_EQ(smarm_chan_select(ops, 2, SMARM_SEC(5)), 0);
	CHECK_EQ(ops[0].result, 0);
	CHECK_EQ((intptr_t)rt_join(p), 1);
	CHECK_RC(smarm_chan_recv(full, &in, 0), 0);
	CHECK_EQ(in, 5); /* the select's element went in behind the first */
	/* Rendezvous send through select. */
	smarm_chan_t *rv;
	CHECK_RC(smarm_chan_new(&rv, sizeof(int), SMARM_CHAN_RENDEZVOUS), 0);
	ops[0].ch = rv;
	out = 6;
	l.ch = rv;
	p = spawn(recv_later, &l);
	CHECK_EQ(smarm_chan_select(ops, 2, SMARM_SEC(5)), 0);
	CHECK_EQ((intptr_t)rt_join(p), 6);
	smarm_chan_free(full);
	smarm_chan_free(empty);
	smarm_chan_free(rv);
	return NULL;
}

Test(chan, select_send_side)
{
	rt_run(root_select_send, NULL, 2);
}

/* Many senders on four channels, one selector with a shared buffer: every
 * element arrives exactly once (the claim protocol keeps two wakers from
 * both writing the shared buffer). */
struct sel_src {
	smarm_chan_t *ch;
	int id;
};

#define SEL_N (5000 / RT_SCALE)

static void *sel_sender(void *arg)
{
	struct sel_src *s = arg;

	for (int i = 0; i < SEL_N; i++) {
		uint64_t v = ((uint64_t)s->id << 32) | (uint32_t)i;
		CHECK_RC(smarm_chan_send(s->ch, &v, SMARM_FOREVER), 0);
	}
	return NULL;
}

static void *root_select_many(void *arg)
{
	smarm_chan_t *ch[4];
	struct sel_src src[4];
	struct smarm_chan_op ops[4];
	smarm_pid_t p[4];
	uint64_t buf;
	int next[4] = {0};

	(void)arg;
	for (int i = 0; i < 4; i++) {
		CHECK_RC(smarm_chan_new(&ch[i], sizeof(uint64_t), i % 2 ? 0 : SMARM_CHAN_RENDEZVOUS), 0);
		ops[i] = (struct smarm_chan_op){.ch = ch[i], .buf = &buf, .dir = SMARM_CHAN_RECV};
		src[i] = (struct sel_src){ch[i], i};
		p[i] = spawn(sel_sender, &src[i]);
	}
	for (int k = 0; k < 4 * SEL_N; k++) {
		int i = smarm_chan_select(ops, 4, SMARM_SEC(10));
		CHECK(i >= 0 && i < 4);
		if (i < 0)
			break;
		CHECK_EQ(buf >> 32, (uint64_t)i);
		CHECK_EQ((uint32_t)buf, (uint32_t)next[i]);
		next[i]++;
	}
	for (int i = 0; i < 4; i++) {
		rt_join(p[i]);
		CHECK_EQ(next[i], SEL_N);
		smarm_chan_free(ch[i]);
	}
	return NULL;
}

Test(chan, select_over_busy_channels_loses_nothing)
{
	rt_run(root_select_many, NULL, 4);
}

/* ---- foreign threads ------------------------------------------------------ */

static void *pthread_sender(void *arg)
{
	smarm_chan_t *ch = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	uint64_t v = 0xfeed;

	nanosleep(&ts, NULL);
	if (smarm_chan_send(ch, &v, SMARM_FOREVER) != 0)
		return (void *)1;
	return NULL;
}

static void *root_foreign_send(void *arg)
{
	smarm_chan_t *ch;
	pthread_t t;
	uint64_t v = 0;
	void *tr;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof v, 0), 0);
	CHECK_EQ(pthread_create(&t, NULL, pthread_sender, ch), 0);
	int64_t t0 = smarm_now();
	/* Parks (the pthread sleeps first), and the pthread's send wakes it. */
	CHECK_RC(smarm_chan_recv(ch, &v, SMARM_SEC(5)), 0);
	CHECK_EQ(v, 0xfeed);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(15));
	pthread_join(t, &tr);
	CHECK(tr == NULL);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, send_from_foreign_pthread_wakes_parked_receiver)
{
	rt_run(root_foreign_send, NULL, 1);
}

struct fr {
	smarm_chan_t *ch;
	long sum;
	int rc;
};

static void *pthread_receiver(void *arg)
{
	struct fr *f = arg;
	uint64_t v;

	for (;;) {
		int rc = smarm_chan_recv(f->ch, &v, SMARM_SEC(10));
		if (rc == -EPIPE)
			break;
		if (rc != 0) {
			f->rc = rc;
			break;
		}
		f->sum += (long)v;
	}
	return NULL;
}

static void *root_foreign_recv(void *arg)
{
	struct fr f = {0};
	pthread_t t;

	(void)arg;
	/* A bounded channel: the actor's sends park while the pthread (which
	 * blocks on a futex when it has nothing) catches up. */
	CHECK_RC(smarm_chan_new(&f.ch, sizeof(uint64_t), 2), 0);
	CHECK_EQ(pthread_create(&t, NULL, pthread_receiver, &f), 0);
	smarm_sleep(SMARM_MSEC(10));
	for (uint64_t i = 1; i <= 2000; i++)
		CHECK_RC(smarm_chan_send(f.ch, &i, SMARM_SEC(10)), 0);
	CHECK_RC(smarm_chan_close(f.ch), 0);
	pthread_join(t, NULL);
	CHECK_EQ(f.rc, 0);
	CHECK_EQ(f.sum, 2000L * 2001 / 2);
	smarm_chan_free(f.ch);
	return NULL;
}

Test(chan, foreign_pthread_blocks_in_recv_on_a_futex)
{
	rt_run(root_foreign_recv, NULL, 2);
}

/* A foreign thread's blocking recv times out accurately, too. */
Test(chan, foreign_recv_timeout)
{
	smarm_chan_t *ch;
	int v;

	cr_assert_eq(smarm_chan_new(&ch, sizeof v, 0), 0);
	int64_t t0 = smarm_now();
	cr_assert_eq(smarm_chan_recv(ch, &v, SMARM_MSEC(20)), -ETIMEDOUT);
	int64_t dt = smarm_now() - t0;
	cr_assert_geq(dt, SMARM_MSEC(20));
	cr_assert_lt(dt, SMARM_MSEC(20) + SLACK);
	smarm_chan_free(ch);
}

/* ---- ownership and growth -------------------------------------------- */

static void *ptr_consumer(void *arg)
{
	smarm_chan_t *ch = arg;
	long sum = 0;
	char *p;

	while (smarm_chan_recv(ch, &p, SMARM_FOREVER) == 0) {
		sum += strlen(p);
		free(p); /* the receiver owns what it got */
	}
	return (void *)sum;
}

static void *root_pointers(void *arg)
{
	smarm_chan_t *ch;

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof(char *), 8), 0);
	smarm_pid_t c = spawn(ptr_consumer, ch);
	for (int i = 0; i < 1000; i++) {
		char *p = strdup("hello");
		CHECK_RC(smarm_chan_send(ch, &p, SMARM_FOREVER), 0);
	}
	smarm_chan_close(ch);
	CHECK_EQ((long)rt_join(c), 5000);
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, sending_pointers_transfers_ownership)
{
	rt_run(root_pointers, NULL, 2);
}

static void *root_growth(void *arg)
{
	smarm_chan_t *ch;
	struct { uint32_t a, b, c; } e; /* an odd element size */

	(void)arg;
	CHECK_RC(smarm_chan_new(&ch, sizeof e, 0), 0);
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < 100000; i++) {
			e.a = i, e.b = ~i, e.c = i * 3;
			CHECK_RC(smarm_chan_send(ch, &e, 0), 0);
		}
		CHECK_EQ(smarm_chan_len(ch), 100000);
		for (uint32_t i = 0; i < 100000; i++) {
			CHECK_RC(smarm_chan_recv(ch, &e, 0), 0);
			if (e.a != i || e.b != ~i || e.c != i * 3) {
				CHECK(!"element corrupted");
				break;
			}
		}
		CHECK_RC(smarm_chan_try_recv(ch, &e), -EAGAIN);
	}
	smarm_chan_free(ch);
	return NULL;
}

Test(chan, unbounded_grows_and_shrinks_keeping_order)
{
	rt_run(root_growth, NULL, 1);
}
