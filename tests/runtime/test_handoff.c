/* test_handoff.c — carrier hand-off (handoff.c): with one carrier, actors
 * stuck outside the runtime — in a raw read(2) that no smarm call sees, or
 * spinning with preemption off — do not stop the others; the spares started
 * for them are counted, retire when the stall ends, are reused, and end
 * after an idle period; no spare starts when nothing waits; the cap holds;
 * the configuration is read.
 *
 * The slice is 2 ms in these tests so a hand-off comes within a few ms. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(handoff, .timeout = 60);

#define SLICE SMARM_MSEC(2)

static void *run1(smarm_fn root, int preempt)
{
	struct smarm_config cfg = {.carriers = 1, .slice = SLICE, .preempt = preempt};
	void *result = NULL;
	int rc = smarm_run(root, NULL, &cfg, &result);

	cr_assert_eq(rc, 0, "smarm_run gave %d", rc);
	cr_assert_eq(atomic_load(&check_failures), 0, "%d checks failed; first: %s",
		     atomic_load(&check_failures), check_first);
	return result;
}

static struct smarm__handoff_stats stats(void)
{
	struct smarm__handoff_stats s;
	smarm__handoff_stats(&s);
	return s;
}

/* Sleep-poll (the caller is an actor) until the carriers are back to one
 * running and none released, or 2 s pass.  Returns whether they did. */
static bool settles(void)
{
	for (int i = 0; i < 400; i++) {
		struct smarm__handoff_stats s = stats();
		if (s.running == 1 && s.released == 0)
			return true;
		smarm_sleep(SMARM_MSEC(5));
	}
	return false;
}

/* ---- a raw read(2) on a pipe --------------------------------------------- */

struct piped {
	int fd[2];
	_Atomic int reading;
	char got[16];
	ssize_t n;
};

/* Blocks its carrier in the kernel: read(2) itself, not smarm_read. */
static void *raw_reader(void *arg)
{
	struct piped *p = arg;

	atomic_store(&p->reading, 1);
	p->n = read(p->fd[0], p->got, sizeof p->got - 1);
	return NULL;
}

/* Runnable the whole time the reader is stuck: it yields until the reader
 * has started, then writes. */
static void *yielding_writer(void *arg)
{
	struct piped *p = arg;

	while (!atomic_load(&p->reading))
		smarm_yield();
	CHECK_EQ(write(p->fd[1], "hello", 5), 5);
	return NULL;
}

static void *reader_and_writer(void *arg)
{
	struct piped p = {0};
	struct smarm__handoff_stats a = stats(), b;
	smarm_pid_t r, w;

	(void)arg;
	CHECK_EQ(pipe(p.fd), 0);
	r = rt_spawn(raw_reader, &p, "reader", 0);
	w = rt_spawn(yielding_writer, &p, "writer", 0);
	rt_join(w);
	rt_join(r);
	CHECK_EQ(p.n, 5);
	CHECK(memcmp(p.got, "hello", 5) == 0);
	b = stats();
	CHECK(b.handoffs > a.handoffs);
	CHECK(b.spares_started > a.spares_started);
	CHECK(b.peak >= 2);
	/* The reader is done, so its carrier retires: one runs, the rest
	 * park (one, unless the OS held the carrier up for a slice and it
	 * was handed off too: timing is not the point here). */
	CHECK(settles());
	b = stats();
	CHECK_EQ(b.running, 1);
	CHECK_EQ(b.released, 0);
	CHECK(b.parked >= 1);
	CHECK_EQ(b.threads, b.running + b.parked);
	close(p.fd[0]);
	close(p.fd[1]);
	return NULL;
}

Test(handoff, raw_read_does_not_stop_the_writer)
{
	run1(reader_and_writer, SMARM_PREEMPT_DEFAULT);
}

/* The root writes after a sleep: what waits behind the stuck carrier is a
 * timer, not a queued actor. */
static void *sleeper_writes(void *arg)
{
	struct piped p = {0};
	struct smarm__handoff_stats a = stats();
	smarm_pid_t r;

	(void)arg;
	CHECK_EQ(pipe(p.fd), 0);
	r = rt_spawn(raw_reader, &p, "reader", 0);
	smarm_sleep(SMARM_MSEC(20)); /* the reader blocks meanwhile */
	CHECK(atomic_load(&p.reading));
	CHECK_EQ(write(p.fd[1], "tick", 4), 4);
	rt_join(r);
	CHECK_EQ(p.n, 4);
	CHECK(stats().handoffs > a.handoffs);
	close(p.fd[0]);
	close(p.fd[1]);
	return NULL;
}

Test(handoff, a_due_timer_counts_as_waiting_work)
{
	run1(sleeper_writes, SMARM_PREEMPT_DEFAULT);
}

/* ---- no waiting work, no spare --------------------------------------------- */

static void *late_write(void *arg)
{
	struct piped *p = arg;

	usleep(60000);
	CHECK_EQ(write(p->fd[1], "late", 4), 4);
	return NULL;
}

static void *alone_in_read(void *arg)
{
	struct piped p = {0};
	struct smarm__handoff_stats a = stats();
	pthread_t t;
	smarm_pid_t r;

	(void)arg;
	CHECK_EQ(pipe(p.fd), 0);
	/* The writer is a plain thread: nothing in the runtime waits. */
	CHECK_EQ(pthread_create(&t, NULL, late_write, &p), 0);
	r = rt_spawn(raw_reader, &p, "reader", 0);
	rt_join(r);
	pthread_join(t, NULL);
	CHECK_EQ(p.n, 4);
	CHECK_EQ(stats().handoffs, a.handoffs);
	CHECK_EQ(stats().spares_started, a.spares_started);
	close(p.fd[0]);
	close(p.fd[1]);
	return NULL;
}

Test(handoff, no_spare_when_nothing_waits)
{
	run1(alone_in_read, SMARM_PREEMPT_DEFAULT);
}

/* ---- reuse, and the end of an idle spare ------------------------------------ */

static void *two_stalls(void *arg)
{
	struct smarm__handoff_stats a = stats(), b;

	(void)arg;
	smarm__handoff_keep = 0;
	smarm__handoff_idle_ns = SMARM_MSEC(50);
	for (int round = 0; round < 2; round++) {
		struct piped p = {0};
		CHECK_EQ(pipe(p.fd), 0);
		smarm_pid_t r = rt_spawn(raw_reader, &p, "reader", 0);
		smarm_pid_t w = rt_spawn(yielding_writer, &p, "writer", 0);
		rt_join(w);
		rt_join(r);
		CHECK_EQ(p.n, 5);
		CHECK(settles());
		close(p.fd[0]);
		close(p.fd[1]);
	}
	b = stats();
	CHECK(b.handoffs >= a.handoffs + 2);
	/* Round 1 parks carrier 0 (which never ends); round 2 puts it back
	 * to work and parks the spare, which ends after 50 ms idle. */
	CHECK(b.spares_reused > a.spares_reused);
	for (int i = 0; i < 200 && stats().threads > 1; i++)
		smarm_sleep(SMARM_MSEC(5));
	b = stats();
	CHECK_EQ(b.threads, 1);
	CHECK(b.spares_exited > a.spares_exited);
	CHECK_EQ(b.parked, 0);
	CHECK_EQ(b.running, 1);
	return NULL;
}

Test(handoff, spares_are_reused_and_end_when_idle)
{
	run1(two_stalls, SMARM_PREEMPT_DEFAULT);
}

/* ---- several carriers stuck at once ------------------------------------------ */

#define STUCK 4

static void *many_stuck(void *arg)
{
	struct piped p[STUCK];
	smarm_pid_t r[STUCK];

	(void)arg;
	memset(p, 0, sizeof p);
	for (int i = 0; i < STUCK; i++) {
		CHECK_EQ(pipe(p[i].fd), 0);
		r[i] = rt_spawn(raw_reader, &p[i], "reader", 0);
	}
	/* Each reader is stuck on a carrier of its own before we go on. */
	for (int i = 0; i < STUCK; i++)
		while (!atomic_load(&p[i].reading))
			smarm_sleep(SMARM_MSEC(1));
	smarm_sleep(SMARM_MSEC(10));
	CHECK(stats().released >= STUCK);
	CHECK(stats().peak >= STUCK + 1);
	CHECK_EQ(stats().running, 1);
	for (int i = 0; i < STUCK; i++)
		CHECK_EQ(write(p[i].fd[1], "x", 1), 1);
	for (int i = 0; i < STUCK; i++) {
		rt_join(r[i]);
		CHECK_EQ(p[i].n, 1);
		close(p[i].fd[0]);
		close(p[i].fd[1]);
	}
	CHECK(settles());
	CHECK(stats().parked >= STUCK);
	CHECK_EQ(stats().threads, stats().running + stats().parked);
	return NULL;
}

Test(handoff, one_spare_per_stuck_carrier)
{
	run1(many_stuck, SMARM_PREEMPT_DEFAULT);
}

/* ---- a hog that nothing can preempt ------------------------------------------- */

static _Atomic int hog_flag, hog_running;

/* No call, no allocation: with preemption off, nothing but a hand-off can
 * run anything else on its carrier. */
static void *hog(void *arg)
{
	(void)arg;
	atomic_store(&hog_running, 1);
	while (!atomic_load_explicit(&hog_flag, memory_order_relaxed))
		__builtin_ia32_pause();
	return NULL;
}

static void *hog_and_stopper(void *arg)
{
	struct smarm__handoff_stats a = stats();
	smarm_pid_t h;

	(void)arg;
	h = rt_spawn(hog, NULL, "hog", 0);
	/* Runnable behind the hog from here on, until a spare runs us. */
	while (!atomic_load(&hog_running))
		smarm_yield();
	atomic_store(&hog_flag, 1);
	rt_join(h);
	CHECK(stats().handoffs > a.handoffs);
	CHECK(settles());
	return NULL;
}

Test(handoff, a_hog_with_preemption_off_is_handed_off)
{
	run1(hog_and_stopper, SMARM_PREEMPT_OFF);
}

/* ---- the cap ------------------------------------------------------------------ */

static void *capped(void *arg)
{
	struct piped p = {0};
	struct smarm__handoff_stats a = stats(), b;
	pthread_t t;
	smarm_pid_t r, w;

	(void)arg;
	CHECK_EQ(smarm__rt.max_carriers, 1);
	CHECK_EQ(pipe(p.fd), 0);
	/* The stall ends by itself: a plain thread writes after 60 ms. */
	CHECK_EQ(pthread_create(&t, NULL, late_write, &p), 0);
	r = rt_spawn(raw_reader, &p, "reader", 0);
	w = rt_spawn(yielding_writer, &p, "writer", 0);
	rt_join(w);
	rt_join(r);
	pthread_join(t, NULL);
	CHECK(p.n >= 4);
	b = stats();
	CHECK(b.at_cap > a.at_cap);
	CHECK_EQ(b.spares_started, a.spares_started);
	CHECK_EQ(b.peak, 1);
	return NULL;
}

Test(handoff, the_cap_stops_spares_and_the_stall_waits)
{
	setenv("SMARM_MAX_CARRIERS", "1", 1);
	run1(capped, SMARM_PREEMPT_DEFAULT);
}

/* ---- configuration ------------------------------------------------------------ */

static void *nothing(void *arg)
{
	return arg;
}

Test(handoff, configuration)
{
	struct smarm_config cfg = {.carriers = 2};

	cr_assert_eq(smarm_run(nothing, NULL, &cfg, NULL), 0);
	cr_assert(smarm__handoff_enabled());
	cr_assert_eq(smarm__rt.max_carriers, 2 + 256);

	setenv("SMARM_MAX_CARRIERS", "5", 1);
	cr_assert_eq(smarm_run(nothing, NULL, &cfg, NULL), 0);
	cr_assert_eq(smarm__rt.max_carriers, 5);

	setenv("SMARM_HANDOFF", "off", 1);
	cr_assert_eq(smarm_run(nothing, NULL, &cfg, NULL), 0);
	cr_assert(!smarm__handoff_enabled());
	cr_assert_eq(smarm__rt.max_carriers, 2);

	setenv("SMARM_HANDOFF", "sometimes", 1); /* said, and on */
	cr_assert_eq(smarm_run(nothing, NULL, &cfg, NULL), 0);
	cr_assert(smarm__handoff_enabled());
}
