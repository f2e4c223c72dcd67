/* test_sem.c — smarm_sem_t (sem.c): counting, FIFO service of waiters,
 * timeouts, overflow, a producer/consumer stress, foreign threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(sem, .timeout = 60);

#define SLACK SMARM_MSEC(50)

_Static_assert(sizeof(smarm_sem_t) <= sizeof(sem_t), "fits sem_t");

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	return rt_spawn(fn, arg, "t", 0);
}

Test(sem, counts_without_runtime)
{
	smarm_sem_t s;

	cr_assert_eq(smarm_sem_init(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_sem_init(&s, SMARM_SEM_MAX + 1u), -EINVAL);
	cr_assert_eq(smarm_sem_init(&s, 3), 0);
	cr_assert_eq(smarm_sem_value(&s), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(smarm_sem_trywait(&s), 0);
	cr_assert_eq(smarm_sem_trywait(&s), -EAGAIN);
	cr_assert_eq(smarm_sem_wait(&s, 0), -ETIMEDOUT);
	cr_assert_eq(smarm_sem_post(&s), 0);
	cr_assert_eq(smarm_sem_value(&s), 1);
	cr_assert_eq(smarm_sem_wait(&s, SMARM_FOREVER), 0);
	cr_assert_eq(smarm_sem_fini(&s), 0);
	smarm_sem_t full = SMARM_SEM_INIT(SMARM_SEM_MAX);
	cr_assert_eq(smarm_sem_value(&full), SMARM_SEM_MAX);
	cr_assert_eq(smarm_sem_post(&full), -EOVERFLOW);
	cr_assert_eq(smarm_sem_value(&full), SMARM_SEM_MAX);
	cr_assert_eq(smarm_sem_post(NULL), -EINVAL);
	cr_assert_eq(smarm_sem_wait(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_sem_trywait(NULL), -EINVAL);
}

/* A foreign thread times out accurately too (futex path). */
Test(sem, foreign_thread_timeout)
{
	smarm_sem_t s = SMARM_SEM_INIT(0);
	int64_t t0 = smarm_now();

	cr_assert_eq(smarm_sem_wait(&s, SMARM_MSEC(20)), -ETIMEDOUT);
	int64_t dt = smarm_now() - t0;
	cr_assert_geq(dt, SMARM_MSEC(20));
	cr_assert_lt(dt, SMARM_MSEC(20) + SLACK);
	cr_assert_eq(smarm_sem_value(&s), 0);
	cr_assert_eq(smarm_sem_fini(&s), 0);
}

#define NW 6
struct order {
	smarm_sem_t s;
	int got[NW];
	_Atomic int n;
};

struct oarg {
	struct order *o;
	int id;
};

static void *sem_waiter(void *arg)
{
	struct oarg *a = arg;

	CHECK_RC(smarm_sem_wait(&a->o->s, SMARM_SEC(5)), 0);
	a->o->got[atomic_fetch_add(&a->o->n, 1)] = a->id;
	return NULL;
}

static void *root_fifo(void *arg)
{
	struct order o = {.s = SMARM_SEM_INIT(0)};
	struct oarg a[NW];
	smarm_pid_t p[NW];

	(void)arg;
	for (int i = 0; i < NW; i++) {
		a[i] = (struct oarg){&o, i};
		p[i] = spawn(sem_waiter, &a[i]);
		smarm_sleep(SMARM_MSEC(3));
	}
	CHECK_RC(smarm_sem_fini(&o.s), -EBUSY);
	for (int i = 0; i < NW; i++) {
		CHECK_RC(smarm_sem_post(&o.s), 0);
		/* The unit went to a waiter, not to the count. */
		CHECK_EQ(smarm_sem_value(&o.s), 0);
		CHECK_RC(smarm_sem_trywait(&o.s), -EAGAIN);
		/* Let the woken one record itself before the next post (the
		 * order in which woken actors run is the scheduler's). */
		while (atomic_load(&o.n) < i + 1)
			smarm_yield();
	}
	for (int i = 0; i < NW; i++)
		rt_join(p[i]);
	for (int i = 0; i < NW; i++)
		CHECK_EQ(o.got[i], i);
	CHECK_RC(smarm_sem_fini(&o.s), 0);
	return NULL;
}

Test(sem, waiters_served_fifo_and_posts_hand_over)
{
	rt_run(root_fifo, NULL, 2);
}

static void *root_timeout(void *arg)
{
	smarm_sem_t s = SMARM_SEM_INIT(0);

	(void)arg;
	for (int64_t t = SMARM_MSEC(1); t <= SMARM_MSEC(30); t *= 5) {
		int64_t t0 = smarm_now();
		CHECK_RC(smarm_sem_wait(&s, t), -ETIMEDOUT);
		int64_t dt = smarm_now() - t0;
		CHECK(dt >= t);
		CHECK(dt < t + SLACK);
	}
	/* The timed-out waiters left no trace: a post counts. */
	CHECK_RC(smarm_sem_post(&s), 0);
	CHECK_EQ(smarm_sem_value(&s), 1);
	CHECK_RC(smarm_sem_wait(&s, 0), 0);
	return NULL;
}

Test(sem, wait_times_out_accurately)
{
	rt_run(root_timeout, NULL, 2);
}

#define UNITS (100000 / RT_SCALE)

struct pc {
	smarm_sem_t items;
	_Atomic long taken;
	_Atomic int timeouts_ok;
};

static void *sem_producer(void *arg)
{
	struct pc *p = arg;

	for (int i = 0; i < UNITS / 4; i++) {
		CHECK_RC(smarm_sem_post(&p->items), 0);
		if (i % 128 == 0)
			smarm_yield();
	}
	return NULL;
}

static void *sem_consumer(void *arg)
{
	struct pc *p = arg;
	unsigned seed = (unsigned)smarm_self();

	while (atomic_load(&p->taken) < UNITS) {
		int rc = smarm_sem_wait(&p->items, SMARM_USEC(rand_r(&seed) % 40));
		if (rc == 0)
			atomic_fetch_add(&p->taken, 1);
		else
			CHECK_RC(rc, -ETIMEDOUT);
	}
	return NULL;
}

static void *root_pc(void *arg)
{
	struct pc p = {.items = SMARM_SEM_INIT(0)};
	smarm_pid_t pid[8];

	(void)arg;
	for (int i = 0; i < 4; i++) {
		pid[2 * i] = spawn(sem_producer, &p);
		pid[2 * i + 1] = spawn(sem_consumer, &p);
	}
	for (int i = 0; i < 8; i++)
		rt_join(pid[i]);
	/* Every unit posted was taken exactly once, even with timeouts racing
	 * the hand-offs. */
	CHECK_EQ(atomic_load(&p.taken), UNITS);
	CHECK_EQ(smarm_sem_value(&p.items), 0);
	CHECK_RC(smarm_sem_fini(&p.items), 0);
	return NULL;
}

Test(sem, producer_consumer_with_timeouts_counts_exactly)
{
	rt_run(root_pc, NULL, 4);
}

static void *pthread_poster(void *arg)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	nanosleep(&ts, NULL);
	return (void *)(intptr_t)smarm_sem_post(arg);
}

static void *root_foreign(void *arg)
{
	smarm_sem_t s = SMARM_SEM_INIT(0);
	pthread_t t;
	void *tr;

	(void)arg;
	CHECK_EQ(pthread_create(&t, NULL, pthread_poster, &s), 0);
	CHECK_RC(smarm_sem_wait(&s, SMARM_SEC(5)), 0);
	pthread_join(t, &tr);
	CHECK_EQ((intptr_t)tr, 0);
	return NULL;
}

Test(sem, post_from_foreign_pthread_wakes_actor)
{
	rt_run(root_foreign, NULL, 1);
}
