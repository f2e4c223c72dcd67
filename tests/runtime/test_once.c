/* test_once.c — smarm_once (once.c): exactly one call however many race,
 * everyone returns after it finished, independent onces, foreign threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(once, .timeout = 60);

_Static_assert(sizeof(smarm_once_t) == sizeof(pthread_once_t), "same as pthread_once_t");

static _Atomic int calls;
static _Atomic int done;

static void slow_init(void *arg)
{
	atomic_fetch_add(&calls, 1);
	smarm_sleep(SMARM_MSEC(20)); /* others arrive and must wait */
	atomic_store(&done, (int)(intptr_t)arg);
}

static smarm_once_t once = SMARM_ONCE_INIT;

static void *caller(void *arg)
{
	(void)arg;
	CHECK_RC(smarm_once(&once, slow_init, (void *)7), 0);
	CHECK_EQ(atomic_load(&done), 7); /* its effect is visible on return */
	return NULL;
}

static void *root_race(void *arg)
{
	smarm_pid_t p[16];

	(void)arg;
	for (int i = 0; i < 16; i++)
		p[i] = rt_spawn(caller, NULL, "c", 0);
	for (int i = 0; i < 16; i++)
		rt_join(p[i]);
	CHECK_EQ(atomic_load(&calls), 1);
	CHECK_RC(smarm_once(&once, slow_init, (void *)8), 0); /* not again */
	CHECK_EQ(atomic_load(&calls), 1);
	CHECK_EQ(atomic_load(&done), 7);
	return NULL;
}

Test(once, racing_callers_run_it_exactly_once)
{
	rt_run(root_race, NULL, 4);
}

static void count(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
}

static void *root_many(void *arg)
{
	static smarm_once_t o[64];
	_Atomic int n = 0;

	(void)arg;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 64; i++)
			CHECK_RC(smarm_once(&o[i], count, &n), 0);
	CHECK_EQ(atomic_load(&n), 64);
	return NULL;
}

Test(once, independent_onces)
{
	rt_run(root_many, NULL, 1);
}

static smarm_once_t mixed_once = SMARM_ONCE_INIT;
static _Atomic int mixed_calls;

static void mixed_init(void *arg)
{
	(void)arg;
	atomic_fetch_add(&mixed_calls, 1);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void *pthread_caller(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)smarm_once(&mixed_once, mixed_init, NULL);
}

static void *actor_caller(void *arg)
{
	(void)arg;
	CHECK_RC(smarm_once(&mixed_once, mixed_init, NULL), 0);
	CHECK_EQ(atomic_load(&mixed_calls), 1);
	return NULL;
}

static void *root_mixed(void *arg)
{
	pthread_t t[3];
	smarm_pid_t p[3];
	void *tr;

	(void)arg;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pthread_create(&t[i], NULL, pthread_caller, NULL), 0);
		p[i] = rt_spawn(actor_caller, NULL, "c", 0);
	}
	for (int i = 0; i < 3; i++) {
		rt_join(p[i]);
		pthread_join(t[i], &tr);
		CHECK_EQ((intptr_t)tr, 0);
	}
	CHECK_EQ(atomic_load(&mixed_calls), 1);
	return NULL;
}

Test(once, actors_and_foreign_threads)
{
	rt_run(root_mixed, NULL, 2);
}

Test(once, bad_input_is_einval)
{
	smarm_once_t o = SMARM_ONCE_INIT;

	cr_assert_eq(smarm_once(NULL, count, NULL), -EINVAL);
	cr_assert_eq(smarm_once(&o, NULL, NULL), -EINVAL);
}
