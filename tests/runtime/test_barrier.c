/* test_barrier.c — smarm_barrier_t (barrier.c): nobody leaves before all
 * arrive, exactly one serial return per round, reuse across rounds,
 * argument checks and -EBUSY. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(barrier, .timeout = 60);

_Static_assert(sizeof(smarm_barrier_t) <= sizeof(pthread_barrier_t), "fits pthread_barrier_t");

#define PARTIES 6
#define ROUNDS 200

struct bar {
	smarm_barrier_t b;
	_Atomic int arrived[ROUNDS];
	_Atomic int serial[ROUNDS];
};

static void *party(void *arg)
{
	struct bar *x = arg;

	for (int r = 0; r < ROUNDS; r++) {
		atomic_fetch_add(&x->arrived[r], 1);
		int rc = smarm_barrier_wait(&x->b);
		CHECK(rc == 0 || rc == SMARM_BARRIER_SERIAL);
		if (rc == SMARM_BARRIER_SERIAL)
			atomic_fetch_add(&x->serial[r], 1);
		/* Nobody passes round r before everyone arrived at it. */
		CHECK_EQ(atomic_load(&x->arrived[r]), PARTIES);
		if (r % 16 == 0)
			smarm_yield();
	}
	return NULL;
}

static void *root_rounds(void *arg)
{
	static struct bar x;
	smarm_pid_t p[PARTIES];

	(void)arg;
	CHECK_RC(smarm_barrier_init(&x.b, PARTIES), 0);
	for (int i = 0; i < PARTIES; i++)
		p[i] = rt_spawn(party, &x, "party", 0);
	for (int i = 0; i < PARTIES; i++)
		rt_join(p[i]);
	for (int r = 0; r < ROUNDS; r++)
		CHECK_EQ(atomic_load(&x.serial[r]), 1);
	CHECK_RC(smarm_barrier_fini(&x.b), 0);
	return NULL;
}

Test(barrier, rounds_release_together_with_one_serial)
{
	rt_run(root_rounds, NULL, 4);
}

Test(barrier, rounds_on_one_carrier)
{
	rt_run(root_rounds, NULL, 1);
}

static void *lone_waiter(void *arg)
{
	return (void *)(intptr_t)smarm_barrier_wait(arg);
}

static void *root_busy(void *arg)
{
	smarm_barrier_t b;

	(void)arg;
	CHECK_RC(smarm_barrier_init(&b, 2), 0);
	smarm_pid_t p = rt_spawn(lone_waiter, &b, "w", 0);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_barrier_fini(&b), -EBUSY);
	int mine = smarm_barrier_wait(&b);
	int theirs = (int)(intptr_t)rt_join(p);
	CHECK_EQ(mine + theirs, SMARM_BARRIER_SERIAL); /* one of the two */
	CHECK_EQ(mine, SMARM_BARRIER_SERIAL);          /* the last to arrive */
	CHECK_RC(smarm_barrier_fini(&b), 0);
	return NULL;
}

Test(barrier, fini_while_waited_is_ebusy)
{
	rt_run(root_busy, NULL, 2);
}

Test(barrier, arguments)
{
	smarm_barrier_t b;

	cr_assert_eq(smarm_barrier_init(&b, 0), -EINVAL);
	cr_assert_eq(smarm_barrier_init(NULL, 1), -EINVAL);
	cr_assert_eq(smarm_barrier_wait(NULL), -EINVAL);
	cr_assert_eq(smarm_barrier_init(&b, 1), 0);
	/* One party: every wait is its own round, and serial. */
	cr_assert_eq(smarm_barrier_wait(&b), SMARM_BARRIER_SERIAL);
	cr_assert_eq(smarm_barrier_wait(&b), SMARM_BARRIER_SERIAL);
	cr_assert_eq(smarm_barrier_fini(&b), 0);
}

/* Actors and a foreign thread meet at one barrier. */
static void *pthread_party(void *arg)
{
	return (void *)(intptr_t)smarm_barrier_wait(arg);
}

static void *root_mixed(void *arg)
{
	smarm_barrier_t b;
	pthread_t t;
	void *tr;

	(void)arg;
	CHECK_RC(smarm_barrier_init(&b, 3), 0);
	CHECK_EQ(pthread_create(&t, NULL, pthread_party, &b), 0);
	smarm_pid_t p = rt_spawn(lone_waiter, &b, "w", 0);
	int mine = smarm_barrier_wait(&b);
	int theirs = (int)(intptr_t)rt_join(p);
	pthread_join(t, &tr);
	CHECK_EQ(mine + theirs + (int)(intptr_t)tr, SMARM_BARRIER_SERIAL);
	return NULL;
}

Test(barrier, actors_and_a_foreign_thread)
{
	rt_run(root_mixed, NULL, 2);
}
