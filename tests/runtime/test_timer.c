/* test_timer.c — the timer structure (runtime/timer.c) driven directly, with
 * explicit `now` values: no carriers, no clock.  Criterion runs each test in
 * its own process, so each starts with an empty wheel at position 0.
 *
 * smarm__timer_add calls smarm__timer_poke (sched.c) for a new earliest
 * deadline; with no runtime running that is a no-op.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

TestSuite(timer, .timeout = 60.0);

/* A timer in an owner that remembers when it fired. */
struct tt {
	struct smarm__timer t;
	uint32_t id;
	int fired;        /* how many times fn ran */
	int64_t fired_at; /* the `now` of the run that fired it */
};

#define BASE ((int64_t)1000000 * SMARM_SEC(1)) /* a realistic monotonic time */

static int64_t cur_now;   /* the `now` passed to the run in progress */
static int64_t prev_now;  /* the previous run's (fired timers must be later) */
static long nfired, nearly, nstale;

static void fire(struct smarm__timer *t)
{
	struct tt *o = (struct tt *)t;

	o->fired++;
	o->fired_at = cur_now;
	nfired++;
	nearly += t->when > cur_now;  /* fired before its deadline */
	nstale += t->when <= prev_now; /* should have fired in an earlier run */
}

static int run(int64_t now)
{
	int n;

	cur_now = now;
	n = smarm__timer_run(now);
	prev_now = now;
	return n;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static struct tt *owners(size_t n)
{
	struct tt *o = calloc(n, sizeof *o);
	cr_assert_not_null(o);
	for (size_t i = 0; i < n; i++)
		o[i].id = (uint32_t)i;
	return o;
}

/* Every pending deadline is >= next() (next is a lower bound), and next()
 * is > the last run's now (no carrier would spin). */
static void check_next(struct tt *o, size_t n, bool after_run)
{
	int64_t min = INT64_MAX, next = smarm__timer_next();

	for (size_t i = 0; i < n; i++)
		if (o[i].t.idx && o[i].t.when < min)
			min = o[i].t.when;
	cr_assert_leq(next, min, "next() %ld is later than the earliest "
		      "pending deadline %ld", (long)next, (long)min);
	if (after_run)
		cr_assert_gt(next, cur_now, "next() %ld <= now %ld after a run",
			     (long)next, (long)cur_now);
}

#define N 100000

/* Stepping `now` through every distinct deadline in order, each run fires
 * exactly the timers whose deadline is that now: the wheel releases 100,000
 * timers in deadline order, none early and none late. */
Test(timer, fires_100k_in_deadline_order_never_early)
{
	struct tt *o = owners(N);
	int64_t *when = malloc(N * sizeof *when);

	for (size_t i = 0; i < N; i++) {
		/* 10 s of random deadlines, with some exact duplicates */
		when[i] = BASE + (int64_t)(rnd() % (uint64_t)SMARM_SEC(10));
		if (i % 10 == 9)
			when[i] = when[i - 1];
		cr_assert_eq(smarm__timer_add(&o[i].t, when[i], fire), 0);
	}
	qsort(when, N, sizeof *when, cmp_i64);
	cr_assert_eq(smarm__timer_next(), when[0], "next() must be exact after adds");
	prev_now = INT64_MIN;
	for (size_t i = 0; i < N;) {
		size_t j = i;
		while (j < N && when[j] == when[i])
			j++;
		/* Just before the deadline: nothing. */
		cr_assert_eq(run(when[i] - 1), 0, "fired early, before %ld",
			     (long)when[i]);
		cr_assert_leq(smarm__timer_next(), when[i]);
		cr_assert_eq(run(when[i]), (int)(j - i), "at %ld: want %zu timers",
			     (long)when[i], j - i);
		if (j < N)
			cr_assert_leq(smarm__timer_next(), when[j]);
		i = j;
	}
	cr_assert_eq(nfired, N);
	cr_assert_eq(nearly, 0);
	cr_assert_eq(nstale, 0);
	cr_assert_eq(smarm__timer_next(), INT64_MAX);
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(o[i].fired, 1);
		cr_assert_eq(o[i].fired_at, o[i].t.when);
		cr_assert_eq(o[i].t.idx, 0);
	}
	free(when);
	free(o);
}

/* Coarse, uneven steps (from 1 ns to seconds): each run fires exactly the
 * timers due since the previous one. */
Test(timer, uneven_steps_fire_exactly_what_is_due)
{
	struct tt *o = owners(N);
	int64_t now = BASE;

	for (size_t i = 0; i < N; i++)
		smarm__timer_add(&o[i].t, BASE + (int64_t)(rnd() % (uint64_t)SMARM_SEC(20)),
				 fire);
	prev_now = INT64_MIN;
	while (nfired < N) {
		uint64_t r = rnd(), k = r & 7, v = r >> 3;
		long before = nfired, due = 0;
		now += (int64_t)(k < 2 ? v % 2 : k < 4 ? v % 100000
				 : k < 7 ? v % SMARM_MSEC(20) : v % SMARM_MSEC(500));
		for (size_t i = 0; i < N; i++)
			due += o[i].t.idx && o[i].t.when <= now;
		run(now);
		cr_assert_eq(nfired - before, due, "run(%ld) fired %ld, %ld due",
			     (long)now, nfired - before, due);
		cr_assert_gt(smarm__timer_next(), now);
	}
	cr_assert_eq(nearly, 0);
	cr_assert_eq(nstale, 0);
	free(o);
}

Test(timer, cancel_removes_and_reports_pending)
{
	struct tt *o = owners(N);

	for (size_t i = 0; i < N; i++)
		smarm__timer_add(&o[i].t, BASE + (int64_t)(rnd() % (uint64_t)SMARM_SEC(10)),
				 fire);
	for (size_t i = 0; i < N; i += 2)
		cr_assert(smarm__timer_del(&o[i].t), "pending timer %zu", i);
	for (size_t i = 0; i < N; i += 2) {
		cr_assert_not(smarm__timer_del(&o[i].t), "deleted twice: %zu", i);
		cr_assert_eq(o[i].t.idx, 0);
	}
	check_next(o, N, false);
	prev_now = INT64_MIN;
	run(BASE + SMARM_SEC(11));
	cr_assert_eq(nfired, N / 2);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(o[i].fired, (int)(i % 2), "timer %zu", i);
	cr_assert_eq(nearly, 0);
	cr_assert_eq(smarm__timer_next(), INT64_MAX);
	free(o);
}

Test(timer, del_after_fire_returns_false)
{
	struct tt o = {0};

	cr_assert_eq(smarm__timer_add(&o.t, BASE + 500, fire), 0);
	cr_assert_eq(run(BASE + 499), 0);
	cr_assert_eq(run(BASE + 500), 1);
	cr_assert_eq(o.fired, 1);
	cr_assert_not(smarm__timer_del(&o.t));
	/* ...and the timer can be armed again. */
	cr_assert_eq(smarm__timer_add(&o.t, BASE + 900, fire), 0);
	cr_assert(smarm__timer_del(&o.t));
	cr_assert_eq(run(BASE + 1000), 0);
	cr_assert_eq(o.fired, 1);
}

Test(timer, empty_wheel_has_no_next)
{
	struct tt o = {0};

	cr_assert_eq(smarm__timer_next(), INT64_MAX);
	cr_assert_eq(run(BASE), 0);
	smarm__timer_add(&o.t, BASE + SMARM_SEC(1), fire);
	cr_assert_eq(smarm__timer_next(), BASE + SMARM_SEC(1));
	smarm__timer_del(&o.t);
	cr_assert_eq(smarm__timer_next(), INT64_MAX, "one timer, deleted: empty");
}

/* A random mix of add, del and run with a brute-force model alongside:
 * next() stays a lower bound after every operation, runs fire exactly what
 * is due, and carriers would never be told to wake in the past. */
Test(timer, random_mix_matches_model)
{
	enum { M = 600, OPS = 300000 };
	struct tt *o = owners(M);
	int64_t now = BASE;
	long spurious = 0, runs = 0;

	prev_now = INT64_MIN;
	for (long op = 0; op < OPS; op++) {
		uint64_t r = rnd();
		struct tt *x = &o[r % M];
		switch ((r >> 32) % 8) {
		case 0: case 1: case 2: { /* arm, from 0 to ~2 min ahead */
			int64_t d = (int64_t)((r >> 40) % 4 == 0 ? (r >> 16) % 200000
					      : (r >> 40) % 4 == 1 ? (r >> 16) % SMARM_MSEC(50)
					      : (r >> 40) % 4 == 2 ? (r >> 16) % SMARM_SEC(3)
					      : (r >> 16) % SMARM_SEC(120));
			if (x->t.idx)
				cr_assert(smarm__timer_del(&x->t));
			x->fired = 0;
			smarm__timer_add(&x->t, now + d - SMARM_USEC(10), fire);
			break;
		}
		case 3: case 4: { /* cancel */
			bool was = x->t.idx != 0;
			cr_assert_eq(smarm__timer_del(&x->t), was);
			break;
		}
		default: { /* time passes; sometimes a carrier sleeps until next */
			int64_t next = smarm__timer_next();
			long due = 0, before = nfired;
			if ((r >> 20) % 3 == 0 && next != INT64_MAX && next > now)
				now = next;
			else
				now += (int64_t)((r >> 20) % SMARM_MSEC(5));
			for (size_t i = 0; i < M; i++)
				due += o[i].t.idx && o[i].t.when <= now;
			run(now);
			runs++;
			spurious += nfired == before && next <= now;
			cr_assert_eq(nfired - before, due, "run(%ld) fired %ld, %ld due",
				     (long)now, nfired - before, due);
			check_next(o, M, true);
			continue;
		}
		}
		check_next(o, M, false);
	}
	/* nstale is not checked: a timer armed with a past deadline fires
	 * at the next run, after a run whose now had already passed it. */
	cr_assert_eq(nearly, 0);
	cr_log_info("%ld runs, %ld woke for nothing", runs, spurious);
	free(o);
}

/* Deadlines already past, at the extremes of int64, and a `now` read before
 * another carrier moved the wheel (smaller than the previous run's): none
 * fires early, all fire. */
Test(timer, odd_deadlines_and_stale_now)
{
	struct tt o[8];

	memset(o, 0, sizeof o);

	cr_assert_eq(run(BASE + SMARM_SEC(5)), 0); /* nothing pending */
	smarm__timer_add(&o[0].t, BASE + SMARM_SEC(2), fire);
	smarm__timer_add(&o[7].t, BASE + SMARM_SEC(1), fire);
	prev_now = INT64_MIN;
	cr_assert_eq(run(BASE + SMARM_SEC(1)), 1);
	/* A stale now, behind the wheel: nothing due, nothing fires. */
	cr_assert_eq(run(BASE + SMARM_MSEC(500)), 0);
	/* Already past, relative to the wheel's position. */
	smarm__timer_add(&o[1].t, BASE + SMARM_MSEC(700), fire);
	cr_assert_leq(smarm__timer_next(), BASE + SMARM_MSEC(700));
	smarm__timer_add(&o[2].t, INT64_MIN, fire);
	smarm__timer_add(&o[3].t, 0, fire);
	smarm__timer_add(&o[4].t, INT64_MAX, fire);
	smarm__timer_add(&o[5].t, INT64_MAX - 1, fire);
	smarm__timer_add(&o[6].t, BASE + SMARM_SEC(86400), fire);
	cr_assert_eq(smarm__timer_next(), INT64_MIN);
	/* Stale and with due timers: those due fire, o[1] (700 ms) not yet. */
	prev_now = INT64_MIN;
	cr_assert_eq(run(BASE + SMARM_MSEC(600)), 2, "INT64_MIN and 0");
	cr_assert_eq(o[2].fired + o[3].fired, 2);
	cr_assert_eq(o[1].fired, 0);
	cr_assert_gt(smarm__timer_next(), BASE + SMARM_MSEC(600));
	cr_assert_leq(smarm__timer_next(), BASE + SMARM_MSEC(700));
	cr_assert_eq(run(BASE + SMARM_MSEC(700)), 1);
	cr_assert_eq(o[1].fired, 1);
	cr_assert_eq(run(BASE + SMARM_SEC(2) - 1), 0);
	cr_assert_eq(run(BASE + SMARM_SEC(2)), 1);
	cr_assert_eq(run(BASE + SMARM_SEC(86400) - 1), 0);
	cr_assert_eq(run(BASE + SMARM_SEC(86400)), 1);
	cr_assert_eq(run(INT64_MAX - 2), 0);
	cr_assert_leq(smarm__timer_next(), INT64_MAX - 1);
	cr_assert_eq(run(INT64_MAX - 1), 1);
	cr_assert_eq(run(INT64_MAX), 1);
	cr_assert_eq(smarm__timer_next(), INT64_MAX);
	cr_assert_eq(nearly, 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(o[i].fired, 1, "timer %d", i);
}

/* Small absolute times (a wheel starting at 0), and the wheel jumping far
 * ahead in one run: every level cascades in one call. */
Test(timer, near_zero_and_long_jumps)
{
	struct tt *o = owners(4096);

	for (size_t i = 0; i < 4096; i++)
		smarm__timer_add(&o[i].t, (int64_t)1 << (i % 62), fire);
	prev_now = INT64_MIN;
	for (int b = 0; b < 62; b++) {
		int64_t at = (int64_t)1 << b;
		long before = nfired;
		cr_assert_eq(run(at - 1), 0, "bit %d", b);
		run(at);
		cr_assert_eq(nfired - before, 4096 / 62 + (b < 4096 % 62), "bit %d", b);
	}
	cr_assert_eq(nearly, 0);
	cr_assert_eq(nfired, 4096);
	free(o);
}

/* fn runs with the timer lock held: a del that races with it returns only
 * after fn has finished, so the owner may free the timer right away. */
static _Atomic int slow_state; /* 1 in fn, 2 done */

static void slow_fire(struct smarm__timer *t)
{
	struct timespec ts = {0, 100 * 1000 * 1000};

	(void)t;
	atomic_store(&slow_state, 1);
	nanosleep(&ts, NULL);
	atomic_store(&slow_state, 2);
}

static void *runner(void *arg)
{
	(void)arg;
	smarm__timer_run(BASE + 10);
	return NULL;
}

Test(timer, del_waits_for_a_running_fn)
{
	struct smarm__timer t = {0};
	pthread_t th;

	smarm__timer_add(&t, BASE, slow_fire);
	pthread_create(&th, NULL, runner, NULL);
	while (atomic_load(&slow_state) == 0)
		sched_yield();
	cr_assert_not(smarm__timer_del(&t), "it has fired");
	cr_assert_eq(atomic_load(&slow_state), 2, "del returned while fn ran");
	pthread_join(th, NULL);
}

/* ---- a model alongside: stale adds, stale runs, and order ---------------- */

/* timer.c's tick (SMARM__TIMER_TICK_SHIFT): within one tick the wheel fires
 * in no particular order, across ticks in time order. */
#define TICK_SHIFT 16

static int64_t tick(int64_t when)
{
	return when > 0 ? when >> TICK_SHIFT : 0;
}

/* What a run fired, in order. */
static uint32_t *fire_log;
static size_t nlog;

static void log_fire(struct smarm__timer *t)
{
	struct tt *o = (struct tt *)t;

	o->fired++;
	o->fired_at = cur_now;
	nearly += t->when > cur_now;
	fire_log[nlog++] = o->id;
}

/* Adds race with runs in the runtime: a carrier computes `when` from a clock
 * it read a little earlier than the `now` another carrier has already
 * passed to run, and runs are given stale `now`s (behind the wheel).  Driven
 * here one call at a time against a brute-force model; after every run:
 *   - it fired exactly the pending timers with when <= now: none early, and
 *     none later than the first run whose now reached its deadline;
 *   - it fired them in time order: by tick, where a timer added behind the
 *     wheel counts as due at the wheel's position (that of the freshest now
 *     passed so far, which is never behind the wheel's);
 *   - next() is > now and <= every pending deadline.
 * Bursts of timers a few hundred ms out make runs cascade thousands of
 * timers at once, in several batches, and jumps of seconds make a run
 * catch up across levels. */
Test(timer, stale_adds_and_stale_runs_fire_on_time_in_order)
{
	enum { M = 3000, OPS = 150000 };
	struct tt *o = owners(M);
	int64_t maxnow = BASE, next;
	long runs = 0, stale_adds = 0, stale_runs = 0, bursts = 0;

	fire_log = malloc(M * sizeof *fire_log);
	cr_assert_not_null(fire_log);
	run(BASE); /* the wheel starts at BASE, as in a running runtime */
	for (long op = 0; op < OPS; op++) {
		uint64_t r = rnd(), v = r >> 16;
		struct tt *x = &o[r % M];
		unsigned kind = (unsigned)(r >> 8) % 100;

		if (kind < 40) { /* arm, often with a deadline already past */
			unsigned how = (unsigned)v % 20;
			int64_t when;
			v /= 20;
			if (how < 5)       /* behind the freshest now: stale */
				when = maxnow - (int64_t)(v % SMARM_MSEC(20));
			else if (how < 10)
				when = maxnow + (int64_t)(v % SMARM_USEC(300));
			else if (how < 14)
				when = maxnow + (int64_t)(v % SMARM_MSEC(20));
			else if (how < 17)
				when = maxnow + (int64_t)(v % SMARM_SEC(2));
			else if (how < 19)
				when = maxnow + (int64_t)(v % SMARM_SEC(120));
			else               /* on a tick boundary, +-1 ns */
				when = ((tick(maxnow) + 1 + (int64_t)(v % 4)) << TICK_SHIFT) +
				       (int64_t)(v / 4 % 3) - 1;
			stale_adds += when <= maxnow;
			if (x->t.idx)
				cr_assert(smarm__timer_del(&x->t));
			x->fired = 0;
			cr_assert_eq(smarm__timer_add(&x->t, when, log_fire), 0);
		} else if (kind < 41) { /* a burst: 1000 timers in one 50 ms span */
			int64_t at = maxnow + SMARM_MSEC(150) + (int64_t)(v % SMARM_MSEC(300));
			for (int i = 0; i < 1000; i++) {
				struct tt *y = &o[rnd() % M];
				if (y->t.idx)
					smarm__timer_del(&y->t);
				y->fired = 0;
				smarm__timer_add(&y->t, at + (int64_t)(rnd() % SMARM_MSEC(50)),
						 log_fire);
			}
			bursts++;
		} else if (kind < 55) { /* cancel */
			bool was = x->t.idx != 0;
			cr_assert_eq(smarm__timer_del(&x->t), was);
		} else { /* a run, with a fresh or a stale now */
			unsigned how = (unsigned)v % 20;
			int64_t now, e = tick(maxnow), min = INT64_MAX;
			long due = 0;
			v /= 20;
			next = smarm__timer_next();
			if (how < 6)
				now = maxnow - (int64_t)(v % SMARM_MSEC(5));
			else if (how < 14)
				now = maxnow + (int64_t)(v % SMARM_USEC(300));
			else if (how < 17)
				now = maxnow + (int64_t)(v % SMARM_MSEC(30));
			else if (how < 19)
				now = next != INT64_MAX && next > maxnow ? next
								       : maxnow + 1;
			else
				now = maxnow + (int64_t)(v % SMARM_SEC(5));
			stale_runs += now < maxnow;
			for (size_t i = 0; i < M; i++)
				due += o[i].t.idx && o[i].t.when <= now;
			nlog = 0;
			cr_assert_eq(run(now), due, "run(%ld): %ld timers due", (long)now, due);
			cr_assert_eq((long)nlog, due);
			runs++;
			for (size_t i = 0; i < M; i++) {
				cr_assert(!(o[i].t.idx && o[i].t.when <= now),
					  "run(%ld) left timer %zu (due %ld) pending",
					  (long)now, i, (long)o[i].t.when);
				if (o[i].t.idx && o[i].t.when < min)
					min = o[i].t.when;
			}
			for (size_t i = 1; i < nlog; i++) {
				int64_t a = tick(o[fire_log[i - 1]].t.when),
					b = tick(o[fire_log[i]].t.when);
				cr_assert_leq(a > e ? a : e, b > e ? b : e,
					      "run(%ld) fired %ld before %ld", (long)now,
					      (long)o[fire_log[i - 1]].t.when,
					      (long)o[fire_log[i]].t.when);
			}
			next = smarm__timer_next();
			cr_assert_gt(next, now, "next() %ld <= now %ld after a run",
				     (long)next, (long)now);
			cr_assert_leq(next, min, "next() %ld later than %ld", (long)next,
				      (long)min);
			if (now > maxnow)
				maxnow = now;
			continue;
		}
		check_next(o, M, false);
	}
	cr_assert_eq(nearly, 0);
	cr_log_info("%ld runs (%ld stale), %ld stale adds, %ld bursts", runs, stale_runs,
		    stale_adds, bursts);
	free(fire_log);
	free(o);
}

/* Adds and dels from several threads, with deadlines computed from a clock
 * read a while ago, against runs on two threads with fresh and stale nows;
 * bursts make runs long enough to let adds and dels in between batches.
 * Every arming ends exactly once, fired (never early) or cancelled. */
#define CT_THREADS 3
#define CT_PER 4000
#define CT_OPS 200000

static _Atomic int64_t ct_clock = BASE;
static _Atomic bool ct_stop;
static _Atomic long ct_fired[CT_THREADS * CT_PER], ct_early;
static struct smarm__timer ct_timers[CT_THREADS * CT_PER];
static __thread int64_t ct_now; /* the now of this thread's run */

static void ct_fire(struct smarm__timer *t)
{
	ct_fired[t - ct_timers]++;
	if (t->when > ct_now)
		ct_early++;
}

static void *ct_runner(void *arg)
{
	uint64_t z = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	int64_t stale = BASE;

	while (!atomic_load(&ct_stop)) {
		z = z * 6364136223846793005ull + 1442695040888963407ull;
		if ((z >> 60) < 4) {
			ct_now = stale; /* read a while ago */
		} else {
			ct_now = atomic_fetch_add(&ct_clock,
						  (int64_t)(z >> 33) % SMARM_USEC(100));
			if ((z >> 56) % 8 == 0)
				stale = ct_now;
		}
		smarm__timer_run(ct_now);
	}
	return NULL;
}

/* Per adder thread; read by the test after joining it.  (Criterion's
 * asserts belong on the test's own thread.) */
static long ct_armed[CT_THREADS], ct_cancelled[CT_THREADS], ct_failed[CT_THREADS];

static void *ct_adder(void *arg)
{
	long me = (long)(intptr_t)arg;
	struct smarm__timer *mine = &ct_timers[me * CT_PER];
	uint64_t z = (uint64_t)me * 0xbf58476d1ce4e5b9ull + 7;
	int64_t seen = BASE;

	for (long op = 0; op < CT_OPS; op++) {
		struct smarm__timer *t;
		int64_t when;
		z = z * 6364136223846793005ull + 1442695040888963407ull;
		t = &mine[(z >> 33) % CT_PER];
		if ((z >> 20) % 16 == 0)
			seen = atomic_load(&ct_clock); /* else a clock read earlier */
		if (smarm__timer_del(t))
			ct_cancelled[me]++;
		if ((z >> 24) % 4 == 0)
			continue;
		if ((z >> 28) % 2000 == 0) { /* a burst, due within ~1 ms */
			for (int i = 0; i < CT_PER; i++) {
				if (smarm__timer_del(&mine[i]))
					ct_cancelled[me]++;
				if (smarm__timer_add(&mine[i], seen + (int64_t)(i % 1000) * 1000,
						     ct_fire) < 0)
					ct_failed[me]++;
				else
					ct_armed[me]++;
			}
			continue;
		}
		when = seen + (int64_t)((z >> 40) % SMARM_MSEC(2)) - SMARM_USEC(500);
		if (smarm__timer_add(t, when, ct_fire) < 0)
			ct_failed[me]++;
		else
			ct_armed[me]++;
	}
	return NULL;
}

Test(timer, concurrent_adds_and_runs_fire_each_arming_once_never_early)
{
	pthread_t run_th[2], add_th[CT_THREADS];
	long armed = 0, cancelled = 0, fired = 0;

	for (long i = 0; i < 2; i++)
		pthread_create(&run_th[i], NULL, ct_runner, (void *)(intptr_t)(i + 1));
	for (long i = 0; i < CT_THREADS; i++)
		pthread_create(&add_th[i], NULL, ct_adder, (void *)(intptr_t)i);
	for (long i = 0; i < CT_THREADS; i++)
		pthread_join(add_th[i], NULL);
	atomic_store(&ct_stop, true);
	for (long i = 0; i < 2; i++)
		pthread_join(run_th[i], NULL);
	ct_now = INT64_MAX;
	smarm__timer_run(INT64_MAX);
	cr_assert_eq(smarm__timer_next(), INT64_MAX);
	for (long i = 0; i < CT_THREADS; i++) {
		cr_assert_eq(ct_failed[i], 0, "smarm__timer_add failed");
		armed += ct_armed[i];
		cancelled += ct_cancelled[i];
	}
	for (long i = 0; i < CT_THREADS * CT_PER; i++) {
		cr_assert_eq(ct_timers[i].idx, 0);
		fired += ct_fired[i];
	}
	cr_assert_eq(ct_early, 0, "%ld timers fired early", (long)ct_early);
	cr_assert_eq(armed, fired + cancelled, "armed %ld, fired %ld, cancelled %ld",
		     armed, fired, cancelled);
	cr_log_info("armed %ld: fired %ld, cancelled %ld", armed, fired, cancelled);
}

/* A run that has to move 100,000 timers does so in batches, and an add
 * that blocks behind it gets the lock between two batches, long before
 * the run ends: no run holds the timer lock for its whole length. */
static _Atomic int lb_state; /* 1: first fn ran; 2: adder about to add */
static _Atomic bool lb_last_fired;

static void lb_first(struct smarm__timer *t)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	(void)t;
	atomic_store(&lb_state, 1);
	while (atomic_load(&lb_state) != 2)
		sched_yield();
	nanosleep(&ts, NULL); /* with the lock held: the adder blocks on it */
}

static void lb_bulk(struct smarm__timer *t)
{
	(void)t;
}

static void lb_last(struct smarm__timer *t)
{
	(void)t;
	atomic_store(&lb_last_fired, true);
}

static void *lb_adder(void *arg)
{
	static struct smarm__timer extra;
	bool *after = arg;

	while (atomic_load(&lb_state) != 1)
		sched_yield();
	atomic_store(&lb_state, 2);
	smarm__timer_add(&extra, BASE + SMARM_SEC(3600), lb_bulk);
	*after = atomic_load(&lb_last_fired);
	return NULL;
}

Test(timer, a_long_run_lets_adds_in_between_batches)
{
	static struct smarm__timer first, last, bulk[N];
	pthread_t th;
	bool add_returned_after_the_run = true;

	run(BASE);
	smarm__timer_add(&first, BASE + SMARM_USEC(10), lb_first);
	for (size_t i = 0; i < N; i++) /* cascades from level 2 down, then fire */
		smarm__timer_add(&bulk[i], BASE + SMARM_MSEC(300) +
				 (int64_t)(rnd() % (uint64_t)SMARM_MSEC(500)), lb_bulk);
	smarm__timer_add(&last, BASE + SMARM_SEC(1), lb_last);
	pthread_create(&th, NULL, lb_adder, &add_returned_after_the_run);
	cr_assert_eq(smarm__timer_run(BASE + SMARM_SEC(2)), N + 2);
	pthread_join(th, NULL);
	cr_assert_not(add_returned_after_the_run,
		      "the add waited for the whole run");
}

/* ---- through the scheduler: many sleepers ------------------------------- */

#define NSLEEP 100000
#define SPACING 10000            /* ns between consecutive deadlines */
#define ORDER_SLACK 1000000      /* ns: deadlines this far apart wake in order */

/* smarm_sleep takes a duration and adds it to a clock it reads itself, a
 * few instructions after the sleeper's own reading.  If the carrier thread
 * is descheduled in between (a loaded 2-vCPU VM does so for milliseconds),
 * the park timer's deadline is that much later than the one the sleeper
 * meant.  Wake order is the timers' business, so the sleepers below also
 * record the deadline their park timer really had (t->when, which add
 * writes and nothing clears), and order is judged by that. */
struct sleeper {
	int64_t offset;
	int64_t armed;    /* the clock just before smarm_sleep */
	int64_t deadline; /* what the sleeper meant: base + offset */
	int64_t due;      /* its park timer's deadline (>= deadline) */
	int64_t woke;
	long seq;         /* wake order */
};

static struct sleeper *sleepers;
static _Atomic long wake_seq;
static smarm_barrier_t gate;
static int64_t spawn_start, base;
static int64_t spacing;          /* between consecutive deadlines, ns */
static int64_t stall_offset = -1; /* the sleeper with this offset stalls */
static int64_t stall_ns;          /* this long before smarm_sleep */

static void sleep_to(struct sleeper *s)
{
	s->deadline = base + s->offset;
	s->armed = smarm_now();
	if (s->offset == stall_offset) /* as a descheduled carrier would */
		while (smarm_now() < s->armed + stall_ns)
			;
	smarm_sleep(s->deadline - s->armed);
	s->woke = smarm_now();
	s->seq = atomic_fetch_add(&wake_seq, 1);
	s->due = smarm__self()->timer.when;
}

/* Two rounds of a barrier: after the first, the serial party picks a base
 * time far enough ahead for everyone to arm a timer (scaled by how long the
 * first round took, so a slow sanitizer build still gets there); after the
 * second, everyone can read it. */
static void *sleep_until(void *arg)
{
	if (smarm_barrier_wait(&gate) == SMARM_BARRIER_SERIAL) {
		int64_t now = smarm_now();
		base = now + 4 * (now - spawn_start) + SMARM_MSEC(200);
	}
	smarm_barrier_wait(&gate);
	sleep_to(arg);
	return NULL;
}

static long nsleepers;

static void *spawn_sleepers(void *arg)
{
	smarm_pid_t *pids = malloc(nsleepers * sizeof *pids);
	unsigned r = 12345;

	(void)arg;
	cr_assert(pids);
	cr_assert_eq(smarm_barrier_init(&gate, (unsigned)nsleepers), 0);
	spawn_start = smarm_now();
	/* Offsets are handed out in a shuffled order, so spawn order says
	 * nothing about wake order. */
	for (long i = 0; i < nsleepers; i++)
		sleepers[i].offset = i * spacing;
	for (long i = nsleepers - 1; i > 0; i--) {
		r = r * 1103515245u + 12345u;
		long j = (r >> 8) % (i + 1);
		int64_t t = sleepers[i].offset;
		sleepers[i].offset = sleepers[j].offset;
		sleepers[j].offset = t;
	}
	for (long i = 0; i < nsleepers; i++)
		cr_assert_eq(smarm_spawn(&pids[i], sleep_until, &sleepers[i], NULL), 0);
	for (long i = 0; i < nsleepers; i++)
		cr_assert_eq(smarm_join(pids[i], NULL), 0);
	cr_assert_eq(smarm_barrier_fini(&gate), 0);
	free(pids);
	return NULL;
}

/* n sleepers on one carrier, deadlines `gap` ns apart, without preemption
 * (it would send a sleeper interrupted between its wake and its count to
 * the back of the queue). */
static void run_sleepers(long n, int64_t gap)
{
	struct smarm_config cfg = {.carriers = 1};

	nsleepers = n;
	spacing = gap;
	sleepers = calloc(n, sizeof *sleepers);
	cr_assert(sleepers);
	setenv("SMARM_PREEMPT", "off", 1);
	/* Nor a hand-off: a spare would run sleepers beside the carrier that
	 * the OS (or a long timer batch) holds up, out of order with it. */
	setenv("SMARM_HANDOFF", "off", 1);
	cr_assert_eq(smarm_run(spawn_sleepers, NULL, &cfg, NULL), 0);
}

static int by_due(const void *a, const void *b)
{
	const struct sleeper *x = a, *y = b;
	return (x->due > y->due) - (x->due < y->due);
}

static int by_deadline(const void *a, const void *b)
{
	const struct sleeper *x = a, *y = b;
	return (x->deadline > y->deadline) - (x->deadline < y->deadline);
}

/* How many sleepers woke before one whose `key` (due or deadline) was
 * ORDER_SLACK or more before theirs; s[] must be sorted by that key. */
static long inversions(const struct sleeper *s, long n, bool by_meant)
{
	long bad = 0, latest = -1, at = 0;

	for (long i = 0, j = 0; i < n; i++) {
		int64_t k = by_meant ? s[i].deadline : s[i].due;
		while ((by_meant ? s[j].deadline : s[j].due) <= k - ORDER_SLACK) {
			if (s[j].seq > latest) {
				latest = s[j].seq;
				at = j;
			}
			j++;
		}
		if (latest >= s[i].seq) {
			if (!bad && !by_meant)
				cr_log_error("sleeper due +%lld us woke (#%ld) before the "
					     "one due +%lld us (#%ld, woke +%lld us)",
					     (long long)(s[i].due - s[0].due) / 1000, s[i].seq,
					     (long long)(s[at].due - s[0].due) / 1000, s[at].seq,
					     (long long)(s[at].woke - s[0].due) / 1000);
			bad++;
		}
	}
	return bad;
}

/* 100,000 sleepers with distinct deadlines 10 us apart: none wakes before
 * its deadline, and every one wakes after all those whose timer was due
 * ORDER_SLACK or more before its own (the wheel's tick is 65.5 us: within
 * one tick the order is free). */
Test(timer, hundred_thousand_sleepers_wake_in_deadline_order, .timeout = 60)
{
	long early = 0, stalled = 0;
	int64_t worst_stall = 0;

	run_sleepers(NSLEEP, SPACING);
	qsort(sleepers, NSLEEP, sizeof *sleepers, by_due);
	for (long i = 0; i < NSLEEP; i++) {
		struct sleeper *s = &sleepers[i];
		/* The set-up worked: everyone was asleep before its deadline. */
		cr_assert_lt(s->armed, s->deadline);
		cr_assert_geq(s->due, s->deadline);
		early += s->woke < s->due;
		stalled += s->due - s->deadline > SMARM_USEC(100);
		if (s->due - s->deadline > worst_stall)
			worst_stall = s->due - s->deadline;
	}
	cr_log_info("%ld sleepers armed their timer > 100 us after reading the "
		    "clock (worst %lld us late)", stalled, (long long)worst_stall / 1000);
	cr_assert_eq(early, 0, "%ld sleepers woke early", early);
	cr_assert_eq(inversions(sleepers, NSLEEP, false), 0,
		     "sleepers woke before one due >= 1 ms earlier");
	free(sleepers);
}

/* Why the test above judges order by the timers' deadlines: a sleeper whose
 * carrier stalls 3 ms between reading the clock and calling smarm_sleep is
 * really due 3 ms later than it meant, and rightly wakes after sleepers
 * meant to wake up to 3 ms after it.  Judged by what they meant, that looks
 * like a timer firing late (this is how the test above used to fail on a
 * loaded VM, about one run in three, heap or wheel alike); judged by the
 * timers, the order is right. */
Test(timer, a_sleeper_stalled_before_sleeping_wakes_by_its_timer, .timeout = 30)
{
	enum { n = 100 };
	struct sleeper *stalled = NULL;

	/* Deadlines 50 us apart over 5 ms; the one meant for +1 ms stalls. */
	stall_offset = SMARM_MSEC(1);
	stall_ns = SMARM_MSEC(3);
	run_sleepers(n, SMARM_USEC(50));
	for (long i = 0; i < n; i++)
		if (sleepers[i].offset == stall_offset)
			stalled = &sleepers[i];
	cr_assert(stalled);
	cr_assert_geq(stalled->due - stalled->deadline, stall_ns);
	qsort(sleepers, n, sizeof *sleepers, by_deadline);
	cr_assert_gt(inversions(sleepers, n, true), 0,
		     "judged by what they meant, the stall shows as inversions");
	qsort(sleepers, n, sizeof *sleepers, by_due);
	cr_assert_eq(inversions(sleepers, n, false), 0);
	for (long i = 0; i < n; i++)
		cr_assert_geq(sleepers[i].woke, sleepers[i].due);
	free(sleepers);
}
