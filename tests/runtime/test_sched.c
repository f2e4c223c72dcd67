/* test_sched.c — the scheduler through the public API (sched.c): smarm_run's
 * contract, volume (a million actors), many actors spawning and joining
 * across carriers, sleep and yield, an idle runtime's CPU use, SMARM_THREADS
 * (through tests/runtime/progs/env_probe), errno kept per actor across
 * migrations, and spawns from a non-actor thread racing the runtime's stop. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rt_check.h"
#include "run_prog.h"

TestSuite(sched, .timeout = 60);

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *identity(void *arg)
{
	return arg;
}

static _Atomic unsigned carriers_seen;

static void note_carrier(void)
{
	struct smarm__carrier *c = smarm__carrier();

	CHECK(c != NULL);
	if (c)
		atomic_fetch_or(&carriers_seen, 1u << (c->id & 31));
}

/* ---- smarm_run's contract ---------------------------------------------- */

static _Atomic int ended;

static void *late(void *arg)
{
	smarm_sleep(SMARM_MSEC((uintptr_t)arg));
	atomic_fetch_add(&ended, 1);
	return NULL;
}

/* Sleeps, then hands on to a new detached actor, `arg` times. */
static void *relay(void *arg)
{
	uintptr_t left = (uintptr_t)arg;

	smarm_sleep(SMARM_MSEC(5));
	atomic_fetch_add(&ended, 1);
	if (left > 1)
		rt_spawn(relay, (void *)(left - 1), "relay", SMARM_SPAWN_DETACHED);
	return NULL;
}

static void *root_leaves_early(void *arg)
{
	(void)arg;
	for (uintptr_t i = 0; i < 20; i++) {
		rt_spawn(late, (void *)(20 + i), "detached", SMARM_SPAWN_DETACHED);
		rt_spawn(late, (void *)(20 + i), "unjoined", 0);
	}
	rt_spawn(relay, (void *)8, "relay", SMARM_SPAWN_DETACHED);
	return (void *)42;
}

Test(sched, run_returns_after_every_actor_ended_with_the_roots_value)
{
	int64_t t0 = smarm_now();

	cr_assert_eq(rt_run(root_leaves_early, NULL, 2), (void *)42);
	cr_assert_eq(atomic_load(&ended), 48, "%d of 48 actors ended before smarm_run "
	             "returned", atomic_load(&ended));
	cr_assert_geq(smarm_now() - t0, SMARM_MSEC(39));
	cr_assert_eq(smarm__alive_count(), 0);
}

static void *root_value(void *arg)
{
	return (char *)arg + 1;
}

Test(sched, run_twice_in_a_row)
{
	void *r;

	cr_assert_eq(rt_run(root_value, (void *)10, 1), (void *)11);
	cr_assert_eq(rt_run(root_leaves_early, NULL, 3), (void *)42);
	/* A NULL result pointer is allowed. */
	cr_assert_eq(smarm_run(root_value, NULL, NULL, NULL), 0);
	cr_assert_eq(smarm_run(root_value, (void *)20, NULL, &r), 0);
	cr_assert_eq(r, (void *)21);
}

static _Atomic int thread_run_rc = 1;

static void *foreign_run(void *arg)
{
	(void)arg;
	atomic_store(&thread_run_rc, smarm_run(identity, NULL, NULL, NULL));
	return NULL;
}

static void *root_nested_run(void *arg)
{
	(void)arg;
	pthread_t t;
	void *r = NULL;

	CHECK_RC(smarm_run(identity, NULL, NULL, &r), -EBUSY);
	CHECK_EQ(pthread_create(&t, NULL, foreign_run, NULL), 0);
	for (int i = 0; i < 5000 && atomic_load(&thread_run_rc) == 1; i++)
		smarm_sleep(SMARM_MSEC(1));
	pthread_join(t, NULL);
	CHECK_RC(atomic_load(&thread_run_rc), -EBUSY);
	return (void *)7;
}

Test(sched, run_while_running_is_ebusy)
{
	cr_assert_eq(rt_run(root_nested_run, NULL, 2), (void *)7);
}

Test(sched, bad_configuration_is_einval)
{
	struct smarm_config cfg = {.carriers = -1};
	void *r;

	cr_assert_eq(smarm_run(identity, NULL, &cfg, &r), -EINVAL);
	cfg = (struct smarm_config){.stack_size = SIZE_MAX};
	cr_assert_eq(smarm_run(identity, NULL, &cfg, &r), -EINVAL);
	cr_assert_eq(smarm_run(NULL, NULL, NULL, &r), -EINVAL);
	/* The refusals left nothing behind. */
	cr_assert_eq(rt_run(root_value, (void *)1, 2), (void *)2);
}

/* ---- volume ------------------------------------------------------------- */

#define MILLION_SPAWNERS 10
#define MILLION_BATCH 1000
#define MILLION_BATCHES (100 / RT_SCALE)

static void *plus_one(void *arg)
{
	return (char *)arg + 1;
}

static void *million_spawner(void *arg)
{
	smarm_pid_t p[MILLION_BATCH];
	uintptr_t base = (uintptr_t)arg, sum = 0, want = 0;

	for (int b = 0; b < MILLION_BATCHES; b++) {
		for (uintptr_t i = 0; i < MILLION_BATCH; i++) {
			p[i] = rt_spawn(plus_one, (void *)(base + i), NULL, 0);
			want += base + i + 1;
		}
		for (int i = 0; i < MILLION_BATCH; i++)
			sum += (uintptr_t)rt_join(p[i]);
	}
	CHECK_EQ(sum, want);
	return (void *)(uintptr_t)(MILLION_BATCHES * MILLION_BATCH);
}

static void *root_million(void *arg)
{
	(void)arg;
	smarm_pid_t s[MILLION_SPAWNERS];
	uintptr_t total = 0;

	for (uintptr_t i = 0; i < MILLION_SPAWNERS; i++)
		s[i] = rt_spawn(million_spawner, (void *)(i * 1000000), "spawner", 0);
	for (int i = 0; i < MILLION_SPAWNERS; i++)
		total += (uintptr_t)rt_join(s[i]);
	return (void *)total;
}

Test(sched, a_million_actors_spawned_and_joined)
{
	uintptr_t n = (uintptr_t)rt_run(root_million, NULL, 2);

	cr_assert_eq(n, 1000000 / RT_SCALE);
	cr_assert_eq(smarm__alive_count(), 0);
}

/* ---- many spawners and joiners across carriers ------------------------- */

#define CROSS_SPAWNERS 8
#define CROSS_PER 500

static smarm_pid_t cross_pids[CROSS_SPAWNERS][CROSS_PER];
static _Atomic int cross_published;

static void *cross_child(void *arg)
{
	uintptr_t v = (uintptr_t)arg;

	note_carrier();
	if (v % 3 == 0)
		smarm_yield();
	if (v % 7 == 0)
		smarm_sleep(SMARM_USEC(v % 500));
	note_carrier();
	return (void *)(v * 2 + 1);
}

static void *cross_spawner(void *arg)
{
	int s = (int)(uintptr_t)arg, o = (s + 1) % CROSS_SPAWNERS;

	note_carrier();
	for (int i = 0; i < CROSS_PER; i++)
		cross_pids[s][i] = rt_spawn(cross_child,
		                            (void *)(uintptr_t)(s * CROSS_PER + i), NULL, 0);
	atomic_fetch_add(&cross_published, 1);
	while (atomic_load(&cross_published) < CROSS_SPAWNERS)
		smarm_sleep(SMARM_USEC(200));
	/* Join another spawner's children. */
	for (int i = 0; i < CROSS_PER; i++)
		CHECK_EQ((uintptr_t)rt_join(cross_pids[o][i]),
		         (uintptr_t)(o * CROSS_PER + i) * 2 + 1);
	note_carrier();
	return NULL;
}

static void *root_cross(void *arg)
{
	(void)arg;
	smarm_pid_t s[CROSS_SPAWNERS];

	for (uintptr_t i = 0; i < CROSS_SPAWNERS; i++)
		s[i] = rt_spawn(cross_spawner, (void *)i, "spawner", 0);
	for (int i = 0; i < CROSS_SPAWNERS; i++)
		rt_join(s[i]);
	return NULL;
}

static void cross(int carriers)
{
	struct smarm__handoff_stats h0, h1;

	smarm__handoff_stats(&h0);
	rt_run(root_cross, NULL, carriers);
	smarm__handoff_stats(&h1);
	/* A carrier the OS kept from running for a slice may have been
	 * handed off (handoff.c): spares get the next record ids. */
	int ids = carriers + (int)(h1.spares_started - h0.spares_started);
	unsigned seen = atomic_load(&carriers_seen);
	cr_assert_eq(seen & ~((1u << (ids < 31 ? ids : 31)) - 1), 0,
	             "carrier ids %#x beyond %d", seen, ids);
	cr_assert_geq(__builtin_popcount(seen), 2,
	              "all actors ran on one carrier of %d (mask %#x)", carriers, seen);
}

Test(sched, spawn_and_join_across_2_carriers)
{
	cross(2);
}

Test(sched, spawn_and_join_across_4_carriers)
{
	cross(4);
}

/* ---- sleep -------------------------------------------------------------- */

static const int64_t sleep_ns[] = {
	0, 1, 1000, 50000, SMARM_USEC(300), SMARM_MSEC(1), SMARM_MSEC(3),
	SMARM_MSEC(7), SMARM_MSEC(15), SMARM_MSEC(30),
};
#define NSLEEP (sizeof sleep_ns / sizeof sleep_ns[0])

static void *sleeper(void *arg)
{
	int64_t d = sleep_ns[(uintptr_t)arg % NSLEEP];

	for (int rep = 0; rep < 4; rep++) {
		int64_t t0 = smarm_now(), dt;
		CHECK_RC(smarm_sleep(d), 0);
		dt = smarm_now() - t0;
		if (dt < d)
			check_fail(__FILE__, __LINE__, "asked for %ld ns, slept %ld ns",
			           (long)d, (long)dt);
	}
	return NULL;
}

static void *same_deadline(void *arg)
{
	int64_t until = *(int64_t *)arg, left = until - smarm_now();

	CHECK_RC(smarm_sleep(left > 0 ? left : 0), 0);
	CHECK(smarm_now() >= until);
	return NULL;
}

static void *root_sleep(void *arg)
{
	(void)arg;
	enum { N = 60, CROWD = 1000 };
	static smarm_pid_t p[N], q[CROWD];
	int64_t until = smarm_now() + SMARM_MSEC(20);

	for (uintptr_t i = 0; i < N; i++)
		p[i] = rt_spawn(sleeper, (void *)i, NULL, 0);
	/* A crowd sharing one deadline all wakes. */
	for (int i = 0; i < CROWD; i++)
		q[i] = rt_spawn(same_deadline, &until, NULL, 0);
	for (int i = 0; i < N; i++)
		rt_join(p[i]);
	for (int i = 0; i < CROWD; i++)
		rt_join(q[i]);
	return NULL;
}

Test(sched, sleep_never_returns_early)
{
	cr_assert_eq(smarm_sleep(SMARM_MSEC(1)), -EPERM, "sleep outside an actor");
	rt_run(root_sleep, NULL, 2);
}

/* A sleeper on a single carrier wakes although two other actors never stop
 * yielding (timers must be looked at when switching, not only when idle). */
static _Atomic int sleeper_woke;

static void *busy_yielder(void *arg)
{
	int64_t cap = smarm_now() + SMARM_SEC(3);
	(void)arg;
	while (!atomic_load(&sleeper_woke) && smarm_now() < cap)
		smarm_yield();
	return NULL;
}

static void *short_sleeper(void *arg)
{
	(void)arg;
	int64_t t0 = smarm_now();
	smarm_sleep(SMARM_MSEC(10));
	atomic_store(&sleeper_woke, 1);
	return (void *)(smarm_now() - t0);
}

static void *root_sleep_among_yielders(void *arg)
{
	(void)arg;
	smarm_pid_t y1 = rt_spawn(busy_yielder, NULL, NULL, 0);
	smarm_pid_t y2 = rt_spawn(busy_yielder, NULL, NULL, 0);
	smarm_pid_t s = rt_spawn(short_sleeper, NULL, NULL, 0);
	int64_t slept = (int64_t)(intptr_t)rt_join(s);

	CHECK(slept >= SMARM_MSEC(10));
	CHECK(slept < SMARM_SEC(1));
	rt_join(y1);
	rt_join(y2);
	return NULL;
}

Test(sched, sleeper_wakes_while_others_keep_yielding)
{
	rt_run(root_sleep_among_yielders, NULL, 1);
}

/* ---- yield -------------------------------------------------------------- */

#define YIELDS 200
static char ylog[2 * YIELDS];
static _Atomic int ypos;

static void *logging_yielder(void *arg)
{
	for (int i = 0; i < YIELDS; i++) {
		ylog[atomic_fetch_add(&ypos, 1)] = (char)(uintptr_t)arg;
		smarm_yield();
	}
	return NULL;
}

static void *root_yield(void *arg)
{
	(void)arg;
	smarm_pid_t a = rt_spawn(logging_yielder, (void *)'a', NULL, 0);
	smarm_pid_t b = rt_spawn(logging_yielder, (void *)'b', NULL, 0);

	rt_join(a);
	rt_join(b);
	/* Yield with nobody else runnable just returns. */
	for (int i = 0; i < 1000; i++)
		smarm_yield();
	return NULL;
}

Test(sched, yield_lets_another_actor_run_on_one_carrier)
{
	int switches = 0;

	rt_run(root_yield, NULL, 1);
	cr_assert_eq(atomic_load(&ypos), 2 * YIELDS);
	for (int i = 1; i < 2 * YIELDS; i++)
		switches += ylog[i] != ylog[i - 1];
	cr_assert_geq(switches, YIELDS, "only %d changes of actor in %d yields: "
	              "%.60s...", switches, 2 * YIELDS, ylog);
}

/* ---- idle --------------------------------------------------------------- */

static void *root_sleep_200ms(void *arg)
{
	(void)arg;
	CHECK_RC(smarm_sleep(SMARM_MSEC(200)), 0);
	return NULL;
}

Test(sched, an_idle_runtime_uses_almost_no_cpu)
{
	int64_t c0 = cpu_ns(), t0 = smarm_now(), cpu, wall;

	rt_run(root_sleep_200ms, NULL, 2);
	cpu = cpu_ns() - c0;
	wall = smarm_now() - t0;
	cr_assert_geq(wall, SMARM_MSEC(200));
	cr_assert_lt(cpu, SMARM_MSEC(20), "%.1f ms of CPU in %.1f ms of idling",
	             cpu / 1e6, wall / 1e6);
}

/* ---- SMARM_THREADS ------------------------------------------------------- */

/* Runs env_probe, which spins two yielding actors and reports the most it
 * ever saw running at once, and the number of carriers. */
static void probe_parallel(const char *threads, const char *carriers,
                           int *max_parallel, int *ncarriers)
{
	char env[64];
	const char *argv[] = {"env_probe", "parallel", carriers, NULL};
	/* Preemption off: a spinner preempted inside its window would let
	 * the other in on the same carrier, which is not parallelism.  Nor a
	 * hand-off: a carrier the OS held up for two slices would get a
	 * spare beside it (handoff.c), which is parallelism we did not ask
	 * for here. */
	const char *envv[] = {env, "SMARM_PREEMPT=off", "SMARM_HANDOFF=off", NULL};
	struct prog_result *r;

	snprintf(env, sizeof env, "SMARM_THREADS%s%s", threads ? "=" : "",
	         threads ? threads : "");
	r = prog_run(argv, envv, 20000);
	cr_assert(!r->timed_out, "env_probe hung; stderr: %s", r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "env_probe status %#x; stderr: %s", r->status, r->err);
	cr_assert_eq(sscanf(r->out, "max_parallel=%d carriers=%d", max_parallel,
	                    ncarriers), 2, "env_probe said: %s", r->out);
}

Test(sched, smarm_threads_1_never_runs_two_actors_at_once)
{
	int par, n;

	probe_parallel("1", "0", &par, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(par, 1, "two actors ran at once with SMARM_THREADS=1");
}

Test(sched, smarm_threads_2_runs_actors_in_parallel)
{
	int par, n;

	probe_parallel("2", "0", &par, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(par, 2, "two spinning actors never overlapped on 2 carriers");
}

Test(sched, config_carriers_beats_smarm_threads)
{
	int par, n;

	probe_parallel("2", "1", &par, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(par, 1);
	probe_parallel("1", "3", &par, &n);
	cr_assert_eq(n, 3);
}

Test(sched, default_carriers_are_the_online_cpus)
{
	int par, n;

	probe_parallel(NULL, "0", &par, &n);
	cr_assert_eq(n, (int)sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---- errno ---------------------------------------------------------------- */

/* errno is read and written through these so that the test itself never
 * reuses an &errno computed on another carrier. */
__attribute__((noipa)) static void set_errno(int v)
{
	errno = v;
}

__attribute__((noipa)) static int get_errno(void)
{
	return errno;
}

static _Atomic long errno_wrong, errno_checks;

static void *errno_keeper(void *arg)
{
	int mine = 1000 + (int)(uintptr_t)arg;

	for (int i = 0; i < 200; i++) {
		set_errno(mine);
		if (i % 2)
			smarm_yield();
		else
			smarm_sleep(SMARM_USEC(50));
		atomic_fetch_add(&errno_checks, 1);
		if (get_errno() != mine)
			atomic_fetch_add(&errno_wrong, 1);
	}
	return NULL;
}

static void *root_errno(void *arg)
{
	(void)arg;
	smarm_pid_t p[64];

	for (uintptr_t i = 0; i < 64; i++)
		p[i] = rt_spawn(errno_keeper, (void *)i, NULL, 0);
	for (int i = 0; i < 64; i++)
		rt_join(p[i]);
	return NULL;
}

/* smarm.h: "The runtime saves and restores errno at every switch" — also
 * when the actor resumes on another carrier. */
Test(sched, errno_survives_switches_across_carriers)
{
	rt_run(root_errno, NULL, 2);
	cr_assert_eq(atomic_load(&errno_wrong), 0,
	             "errno was wrong after %ld of %ld switches",
	             atomic_load(&errno_wrong), atomic_load(&errno_checks));
}

/* ---- spawning from outside while the runtime stops ------------------------ */

static _Atomic long outside_ok, outside_ran;
static _Atomic int outside_go, outside_rc;

static void *outside_count(void *arg)
{
	(void)arg;
	atomic_fetch_add(&outside_ran, 1);
	return NULL;
}

static void *outside_spawner(void *arg)
{
	struct smarm_spawn_opts o = {.flags = SMARM_SPAWN_DETACHED};
	(void)arg;

	while (!atomic_load(&outside_go))
		;
	for (int i = 0;; i++) {
		int rc = smarm_spawn(NULL, outside_count, NULL, &o);
		if (rc) {
			atomic_store(&outside_rc, rc);
			break;
		}
		atomic_fetch_add(&outside_ok, 1);
		/* Pace the spawns so that the runtime runs dry now and then. */
		for (volatile unsigned k = 0; k < ((unsigned)i * 7919u) % 3000u; k++)
			;
	}
	return NULL;
}

static void *root_start_outside(void *arg)
{
	(void)arg;
	atomic_store(&outside_go, 1);
	return NULL;
}

/* A spawn that returned 0 must run before smarm_run returns, even when it
 * raced with the runtime stopping; a refused one must say so. */
Test(sched, spawn_from_outside_while_stopping_runs_or_is_refused)
{
	int64_t end = smarm_now() + SMARM_SEC(3);

	for (int r = 0; r < 5000 && smarm_now() < end; r++) {
		pthread_t t;
		long ran;

		atomic_store(&outside_go, 0);
		atomic_store(&outside_ok, 0);
		atomic_store(&outside_ran, 0);
		cr_assert_eq(pthread_create(&t, NULL, outside_spawner, NULL), 0);
		rt_run(root_start_outside, NULL, 2);
		ran = atomic_load(&outside_ran);
		pthread_join(t, NULL);
		cr_assert_eq(atomic_load(&outside_ok), ran,
		             "run %d: %ld spawns returned 0 but %ld actors ran before "
		             "smarm_run returned (smarm__alive is now %ld)", r,
		             atomic_load(&outside_ok), ran, smarm__alive_count());
		cr_assert_neq(atomic_load(&outside_rc), 0);
	}
}
