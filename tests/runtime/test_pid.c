/* test_pid.c — pids and joining (pid.c): every error smarm_join,
 * smarm_join_timeout and smarm_detach can give, and the promise that a pid
 * names one actor for its whole life and never another, even after its slot
 * is reused. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(pid, .timeout = 30);

static _Atomic int release;

static void *wait_release(void *arg)
{
	while (!atomic_load(&release))
		smarm_sleep(SMARM_MSEC(1));
	return arg;
}

static void *sleep_then_return(void *arg)
{
	smarm_sleep(SMARM_MSEC(100));
	return arg;
}

static void *identity(void *arg)
{
	return arg;
}

static unsigned long pid_index(smarm_pid_t p)
{
	char buf[32];
	unsigned long idx = 0, gen = 0;

	smarm_pid_format(p, buf, sizeof buf);
	CHECK(sscanf(buf, "%lu.%lu", &idx, &gen) == 2);
	return idx;
}

/* ---- bad pids ----------------------------------------------------------- */

static void *root_bad_pids(void *arg)
{
	(void)arg;
	const smarm_pid_t bad[] = {
		0,
		0xdeadbeefcafef00dull,
		~(smarm_pid_t)0,
		(smarm_pid_t)0xffffffffull << 32,
		((smarm_pid_t)1 << 32) | 900000, /* an index never handed out */
		smarm_self() ^ ((smarm_pid_t)0x5a5a << 40), /* our slot, wrong generation */
	};
	char buf[32];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_RC(smarm_join(bad[i], NULL), -ESRCH);
		CHECK_RC(smarm_join_timeout(bad[i], NULL, SMARM_MSEC(1)), -ESRCH);
		CHECK_RC(smarm_detach(bad[i]), -ESRCH);
		CHECK_RC(smarm_name(bad[i], buf, sizeof buf), -ESRCH);
	}
	return NULL;
}

Test(pid, zero_and_garbage_pids_are_esrch)
{
	rt_run(root_bad_pids, NULL, 2);
}

static void *root_joined_twice(void *arg)
{
	(void)arg;
	void *v = NULL;
	smarm_pid_t p = rt_spawn(identity, (void *)11, NULL, 0);

	CHECK_RC(smarm_join(p, &v), 0);
	CHECK(v == (void *)11);
	CHECK_RC(smarm_join(p, &v), -ESRCH);
	CHECK_RC(smarm_join_timeout(p, &v, 0), -ESRCH);
	CHECK_RC(smarm_detach(p), -ESRCH);
	return NULL;
}

Test(pid, join_of_a_joined_pid_is_esrch)
{
	rt_run(root_joined_twice, NULL, 2);
}

static void *root_join_self(void *arg)
{
	(void)arg;
	CHECK_RC(smarm_join(smarm_self(), NULL), -EDEADLK);
	CHECK_RC(smarm_join_timeout(smarm_self(), NULL, SMARM_MSEC(1)), -EDEADLK);
	return NULL;
}

Test(pid, join_of_self_is_edeadlk)
{
	rt_run(root_join_self, NULL, 1);
}

static void *root_join_detached(void *arg)
{
	(void)arg;
	smarm_pid_t a = rt_spawn(wait_release, NULL, NULL, SMARM_SPAWN_DETACHED);
	smarm_pid_t b = rt_spawn(wait_release, NULL, NULL, 0);

	CHECK_RC(smarm_detach(b), 0);
	CHECK_RC(smarm_join(a, NULL), -EINVAL);
	CHECK_RC(smarm_join(b, NULL), -EINVAL);
	CHECK_RC(smarm_join_timeout(a, NULL, SMARM_MSEC(1)), -EINVAL);
	atomic_store(&release, 1);
	return NULL;
}

Test(pid, join_of_a_detached_actor_is_einval)
{
	rt_run(root_join_detached, NULL, 2);
}

/* ---- one joiner at a time ----------------------------------------------- */

static _Atomic int first_joiner_rc = 1;
static void *_Atomic first_joiner_value;

static void *joiner(void *arg)
{
	void *v = NULL;
	atomic_store(&first_joiner_rc, smarm_join((smarm_pid_t)(uintptr_t)arg, &v));
	atomic_store(&first_joiner_value, v);
	return NULL;
}

static void *root_two_joiners(void *arg)
{
	(void)arg;
	smarm_pid_t t = rt_spawn(wait_release, (void *)42, "target", 0);
	smarm_pid_t j = rt_spawn(joiner, (void *)(uintptr_t)t, "joiner", 0);

	/* Give the first joiner time to park in its join. */
	smarm_sleep(SMARM_MSEC(30));
	CHECK_EQ(atomic_load(&first_joiner_rc), 1);
	CHECK_RC(smarm_join(t, NULL), -EINVAL);
	CHECK_RC(smarm_join_timeout(t, NULL, SMARM_MSEC(1)), -EINVAL);
	CHECK_RC(smarm_detach(t), -EINVAL);
	atomic_store(&release, 1);
	rt_join(j);
	/* The first joiner was not disturbed. */
	CHECK_RC(atomic_load(&first_joiner_rc), 0);
	CHECK(atomic_load(&first_joiner_value) == (void *)42);
	return NULL;
}

Test(pid, second_concurrent_joiner_is_einval)
{
	rt_run(root_two_joiners, NULL, 2);
}

/* ---- timeouts ----------------------------------------------------------- */

static void *root_join_timeout(void *arg)
{
	(void)arg;
	smarm_pid_t p = rt_spawn(sleep_then_return, (void *)8, NULL, 0);
	void *v = NULL;
	int64_t t0 = smarm_now(), dt;

	CHECK_RC(smarm_join_timeout(p, &v, 0), -ETIMEDOUT);
	CHECK_RC(smarm_join_timeout(p, &v, SMARM_MSEC(20)), -ETIMEDOUT);
	dt = smarm_now() - t0;
	CHECK(dt >= SMARM_MSEC(20));
	CHECK(dt < SMARM_MSEC(100)); /* it gave up before the actor ended */
	CHECK(v == NULL);
	/* The timed-out joins left the actor joinable. */
	CHECK_RC(smarm_join_timeout(p, &v, SMARM_FOREVER), 0);
	CHECK(v == (void *)8);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(100));

	/* An actor that has already ended is collected even with timeout 0. */
	p = rt_spawn(identity, (void *)9, NULL, 0);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_join_timeout(p, &v, 0), 0);
	CHECK(v == (void *)9);

	/* One ending well within the timeout is collected. */
	p = rt_spawn(sleep_then_return, (void *)10, NULL, 0);
	CHECK_RC(smarm_join_timeout(p, &v, SMARM_SEC(10)), 0);
	CHECK(v == (void *)10);
	return NULL;
}

Test(pid, join_timeout_gives_etimedout_and_leaves_the_actor_joinable)
{
	rt_run(root_join_timeout, NULL, 2);
}

static void *root_join_waits(void *arg)
{
	(void)arg;
	int64_t t0 = smarm_now();
	smarm_pid_t p = rt_spawn(sleep_then_return, (void *)12, NULL, 0);

	CHECK(rt_join(p) == (void *)12);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(100));
	return NULL;
}

Test(pid, join_waits_for_the_actor_to_end)
{
	rt_run(root_join_waits, NULL, 2);
}

/* ---- outside actors ----------------------------------------------------- */

static _Atomic smarm_pid_t shared_pid;
static _Atomic int thread_rc[3] = {1, 1, 1};

static void *foreign_joiner(void *arg)
{
	(void)arg;
	atomic_store(&thread_rc[0], smarm_join(atomic_load(&shared_pid), NULL));
	atomic_store(&thread_rc[1], smarm_join_timeout(atomic_load(&shared_pid),
	                                               NULL, SMARM_MSEC(1)));
	atomic_store(&thread_rc[2], smarm_sleep(SMARM_MSEC(1)));
	return NULL;
}

static void *root_foreign_join(void *arg)
{
	(void)arg;
	pthread_t t;
	smarm_pid_t p = rt_spawn(wait_release, (void *)5, NULL, 0);

	atomic_store(&shared_pid, p);
	CHECK_EQ(pthread_create(&t, NULL, foreign_joiner, NULL), 0);
	for (int i = 0; i < 5000 && atomic_load(&thread_rc[2]) == 1; i++)
		smarm_sleep(SMARM_MSEC(1));
	pthread_join(t, NULL);
	CHECK_RC(atomic_load(&thread_rc[0]), -EPERM);
	CHECK_RC(atomic_load(&thread_rc[1]), -EPERM);
	CHECK_RC(atomic_load(&thread_rc[2]), -EPERM);
	atomic_store(&release, 1);
	/* The refused joins did not take the actor away from us. */
	CHECK(rt_join(p) == (void *)5);
	return NULL;
}

Test(pid, join_outside_an_actor_is_eperm)
{
	/* No runtime at all. */
	cr_assert_eq(smarm_join(((smarm_pid_t)1 << 32) | 1, NULL), -EPERM);
	cr_assert_eq(smarm_join_timeout(((smarm_pid_t)1 << 32) | 1, NULL, 0), -EPERM);
	/* A thread that is not an actor while the runtime runs. */
	rt_run(root_foreign_join, NULL, 2);
}

/* ---- stale pids after slot reuse ---------------------------------------- */

static void *root_stale(void *arg)
{
	(void)arg;
	smarm_pid_t old = rt_spawn(identity, (void *)1, "old", 0), fresh = 0;
	unsigned long idx = pid_index(old);
	char buf[32];
	int tries;

	rt_join(old);
	/* Spawn (and keep alive) until some actor lands in the old slot. */
	static smarm_pid_t held[4096];
	int nheld = 0;
	for (tries = 0; tries < 4096; tries++) {
		smarm_pid_t p = rt_spawn(wait_release, (void *)0x77, "new", 0);
		held[nheld++] = p;
		if (pid_index(p) == idx) {
			fresh = p;
			break;
		}
	}
	CHECK(fresh != 0);
	if (!fresh) {
		atomic_store(&release, 1);
		for (int i = 0; i < nheld; i++)
			rt_join(held[i]);
		return NULL;
	}
	CHECK(fresh != old);

	/* Every operation on the old pid fails and leaves the new actor be. */
	CHECK_RC(smarm_join(old, NULL), -ESRCH);
	CHECK_RC(smarm_join_timeout(old, NULL, SMARM_MSEC(5)), -ESRCH);
	CHECK_RC(smarm_detach(old), -ESRCH);
	CHECK_RC(smarm_name(old, buf, sizeof buf), -ESRCH);
	CHECK_RC(smarm_name(fresh, buf, sizeof buf), 0);
	CHECK(strcmp(buf, "new") == 0);

	atomic_store(&release, 1);
	/* The new actor is still joinable (not detached, not joined). */
	for (int i = 0; i < nheld; i++)
		CHECK(rt_join(held[i]) == (void *)0x77);
	CHECK_RC(smarm_join(fresh, NULL), -ESRCH);
	CHECK_RC(smarm_join(old, NULL), -ESRCH);
	return NULL;
}

Test(pid, stale_pid_after_slot_reuse_stays_stale)
{
	rt_run(root_stale, NULL, 2);
}

/* Many generations of one slot: each pid is refused once its actor is
 * joined, whatever came after it. */
static void *root_generations(void *arg)
{
	(void)arg;
	enum { N = 2000 };
	static smarm_pid_t seen[N];

	for (int i = 0; i < N; i++) {
		seen[i] = rt_spawn(identity, (void *)(uintptr_t)i, NULL, 0);
		CHECK_EQ((uintptr_t)rt_join(seen[i]), i);
	}
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < i; j += 97)
			CHECK(seen[i] != seen[j]);
		CHECK_RC(smarm_join(seen[i], NULL), -ESRCH);
	}
	return NULL;
}

Test(pid, pids_are_never_reused)
{
	rt_run(root_generations, NULL, 2);
}

/* ---- detach errors ------------------------------------------------------ */

static void *root_detach_errors(void *arg)
{
	(void)arg;
	smarm_pid_t t = rt_spawn(wait_release, NULL, NULL, 0);
	smarm_pid_t j = rt_spawn(joiner, (void *)(uintptr_t)t, NULL, 0);

	CHECK_RC(smarm_detach(0), -ESRCH);
	CHECK_RC(smarm_detach(0xdeadbeefcafef00dull), -ESRCH);
	smarm_sleep(SMARM_MSEC(30));
	/* Being joined: too late to detach. */
	CHECK_RC(smarm_detach(t), -EINVAL);
	atomic_store(&release, 1);
	rt_join(j);
	CHECK_RC(atomic_load(&first_joiner_rc), 0);
	/* Joined: gone. */
	CHECK_RC(smarm_detach(t), -ESRCH);
	return NULL;
}

Test(pid, detach_errors)
{
	rt_run(root_detach_errors, NULL, 2);
}

/* A timeout too long to matter is a long wait: no overflow computing the
 * deadline (under SAN=undefined that would abort), no early -ETIMEDOUT. */
static void *root_huge_timeout(void *arg)
{
	(void)arg;
	void *v = NULL;
	smarm_pid_t p = rt_spawn(sleep_then_return, (void *)13, NULL, 0);

	CHECK_RC(smarm_join_timeout(p, &v, INT64_MAX), 0);
	CHECK(v == (void *)13);
	p = rt_spawn(sleep_then_return, (void *)14, NULL, 0);
	CHECK_RC(smarm_join_timeout(p, &v, INT64_MAX - 1), 0);
	CHECK(v == (void *)14);
	return NULL;
}

Test(pid, join_timeout_with_a_huge_timeout_waits)
{
	rt_run(root_huge_timeout, NULL, 2);
}
