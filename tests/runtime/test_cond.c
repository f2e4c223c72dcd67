/* test_cond.c — smarm_cond_t (cond.c): signal and broadcast, timed waits
 * that re-take the mutex, -EPERM without the mutex, one signal waking one
 * waiter, and a bounded-buffer stress across carriers (no lost wake-ups). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(cond, .timeout = 60);

#define SLACK SMARM_MSEC(50)

_Static_assert(sizeof(smarm_cond_t) <= sizeof(pthread_cond_t), "fits pthread_cond_t");

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	return rt_spawn(fn, arg, "t", 0);
}

struct box {
	smarm_mutex_t m;
	smarm_cond_t c;
	int ready, woken;
};

static void *wait_ready(void *arg)
{
	struct box *b = arg;

	CHECK_RC(smarm_mutex_lock(&b->m, SMARM_FOREVER), 0);
	while (!b->ready)
		CHECK_RC(smarm_cond_wait(&b->c, &b->m, SMARM_FOREVER), 0);
	CHECK_EQ(smarm_mutex_owner(&b->m), smarm_self());
	b->woken++;
	CHECK_RC(smarm_mutex_unlock(&b->m), 0);
	return NULL;
}

static void *root_signal(void *arg)
{
	struct box b = {.m = SMARM_MUTEX_INIT, .c = SMARM_COND_INIT};

	(void)arg;
	smarm_pid_t p = spawn(wait_ready, &b);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_cond_fini(&b.c), -EBUSY); /* someone waits */
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	b.ready = 1;
	CHECK_RC(smarm_cond_signal(&b.c), 0);
	CHECK_RC(smarm_mutex_unlock(&b.m), 0);
	rt_join(p);
	CHECK_EQ(b.woken, 1);
	CHECK_RC(smarm_cond_fini(&b.c), 0);
	return NULL;
}

Test(cond, signal_wakes_a_waiter)
{
	rt_run(root_signal, NULL, 2);
}

static void *root_broadcast(void *arg)
{
	struct box b = {.m = SMARM_MUTEX_INIT};
	smarm_pid_t p[10];

	(void)arg;
	CHECK_RC(smarm_cond_init(&b.c), 0);
	for (int i = 0; i < 10; i++)
		p[i] = spawn(wait_ready, &b);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	b.ready = 1;
	CHECK_RC(smarm_cond_broadcast(&b.c), 0);
	CHECK_RC(smarm_mutex_unlock(&b.m), 0);
	for (int i = 0; i < 10; i++)
		rt_join(p[i]);
	CHECK_EQ(b.woken, 10);
	return NULL;
}

Test(cond, broadcast_wakes_every_waiter)
{
	rt_run(root_broadcast, NULL, 2);
}

/* One signal, several waiters: exactly one wakes (no predicate loop here). */
static void *wait_once(void *arg)
{
	struct box *b = arg;

	CHECK_RC(smarm_mutex_lock(&b->m, SMARM_FOREVER), 0);
	int rc = smarm_cond_wait(&b->c, &b->m, SMARM_MSEC(60));
	if (rc == 0)
		b->woken++;
	else
		CHECK_RC(rc, -ETIMEDOUT);
	CHECK_RC(smarm_mutex_unlock(&b->m), 0);
	return NULL;
}

static void *root_signal_one(void *arg)
{
	struct box b = {.m = SMARM_MUTEX_INIT, .c = SMARM_COND_INIT};
	smarm_pid_t p[4];

	(void)arg;
	for (int i = 0; i < 4; i++)
		p[i] = spawn(wait_once, &b);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_cond_signal(&b.c), 0); /* without the mutex: allowed */
	for (int i = 0; i < 4; i++)
		rt_join(p[i]);
	CHECK_EQ(b.woken, 1);
	return NULL;
}

Test(cond, one_signal_wakes_exactly_one)
{
	rt_run(root_signal_one, NULL, 2);
}

/* Held by someone else when the timeout fires: wait still returns with the
 * mutex, after the holder lets go. */
static void *hold_a_while(void *arg)
{
	struct box *b = arg;

	CHECK_RC(smarm_mutex_lock(&b->m, SMARM_FOREVER), 0);
	smarm_sleep(SMARM_MSEC(40));
	CHECK_RC(smarm_mutex_unlock(&b->m), 0);
	return NULL;
}

static void *root_timed(void *arg)
{
	struct box b = {.m = SMARM_MUTEX_INIT, .c = SMARM_COND_INIT};

	(void)arg;
	CHECK_RC(smarm_cond_wait(&b.c, &b.m, SMARM_MSEC(5)), -EPERM); /* no mutex */
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	for (int64_t t = SMARM_MSEC(1); t <= SMARM_MSEC(30); t *= 5) {
		int64_t t0 = smarm_now();
		CHECK_RC(smarm_cond_wait(&b.c, &b.m, t), -ETIMEDOUT);
		int64_t dt = smarm_now() - t0;
		CHECK(dt >= t);
		CHECK(dt < t + SLACK);
		CHECK_EQ(smarm_mutex_owner(&b.m), smarm_self()); /* re-taken */
	}
	CHECK_RC(smarm_cond_wait(&b.c, &b.m, 0), -ETIMEDOUT);
	CHECK_EQ(smarm_mutex_owner(&b.m), smarm_self());
	/* The cond wait releases the mutex: another actor takes it and keeps it
	 * past our timeout; we come back only once it is ours again. */
	smarm_pid_t p = spawn(hold_a_while, &b);
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_cond_wait(&b.c, &b.m, SMARM_MSEC(10)), -ETIMEDOUT);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(40));
	CHECK_EQ(smarm_mutex_owner(&b.m), smarm_self());
	CHECK_RC(smarm_mutex_unlock(&b.m), 0);
	rt_join(p);
	return NULL;
}

Test(cond, timed_wait_times_out_and_retakes_the_mutex)
{
	rt_run(root_timed, NULL, 2);
}

static void *root_recursive(void *arg)
{
	struct box b = {.c = SMARM_COND_INIT};

	(void)arg;
	CHECK_RC(smarm_mutex_init(&b.m, SMARM_MUTEX_RECURSIVE), 0);
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	smarm_pid_t p = spawn(hold_a_while, &b); /* can take it during our wait */
	CHECK_RC(smarm_cond_wait(&b.c, &b.m, SMARM_MSEC(10)), -ETIMEDOUT);
	CHECK_RC(smarm_mutex_unlock(&b.m), 0);
	CHECK_RC(smarm_mutex_unlock(&b.m), 0); /* depth was restored */
	CHECK_RC(smarm_mutex_unlock(&b.m), -EPERM);
	rt_join(p);
	return NULL;
}

Test(cond, wait_releases_a_recursive_mutex_fully)
{
	rt_run(root_recursive, NULL, 2);
}

/* ---- bounded buffer stress ------------------------------------------------ */

#define CAP 4
#define ITEMS (50000 / RT_SCALE)
#define PRODS 4

struct bb {
	smarm_mutex_t m;
	smarm_cond_t not_full, not_empty;
	int buf[CAP], head, len;
	long sum;
};

static void *bb_producer(void *arg)
{
	struct bb *b = arg;

	for (int i = 1; i <= ITEMS; i++) {
		CHECK_RC(smarm_mutex_lock(&b->m, SMARM_FOREVER), 0);
		while (b->len == CAP)
			CHECK_RC(smarm_cond_wait(&b->not_full, &b->m, SMARM_FOREVER), 0);
		b->buf[(b->head + b->len++) % CAP] = i;
		CHECK_RC(smarm_cond_signal(&b->not_empty), 0);
		CHECK_RC(smarm_mutex_unlock(&b->m), 0);
	}
	return NULL;
}

static void *bb_consumer(void *arg)
{
	struct bb *b = arg;

	for (int i = 0; i < ITEMS; i++) {
		CHECK_RC(smarm_mutex_lock(&b->m, SMARM_FOREVER), 0);
		while (b->len == 0)
			CHECK_RC(smarm_cond_wait(&b->not_empty, &b->m, SMARM_FOREVER), 0);
		b->sum += b->buf[b->head];
		b->head = (b->head + 1) % CAP;
		b->len--;
		CHECK_RC(smarm_cond_signal(&b->not_full), 0);
		CHECK_RC(smarm_mutex_unlock(&b->m), 0);
	}
	return NULL;
}

static void *root_bb(void *arg)
{
	struct bb b = {.m = SMARM_MUTEX_INIT, .not_full = SMARM_COND_INIT,
		       .not_empty = SMARM_COND_INIT};
	smarm_pid_t p[2 * PRODS];

	(void)arg;
	for (int i = 0; i < PRODS; i++) {
		p[2 * i] = spawn(bb_producer, &b);
		p[2 * i + 1] = spawn(bb_consumer, &b);
	}
	for (int i = 0; i < 2 * PRODS; i++)
		rt_join(p[i]);
	CHECK_EQ(b.sum, (long)PRODS * ITEMS * (ITEMS + 1) / 2);
	CHECK_EQ(b.len, 0);
	return NULL;
}

Test(cond, bounded_buffer_stress_loses_no_wakeup)
{
	rt_run(root_bb, NULL, 4);
}

/* A foreign thread waits on a cond that an actor signals. */
static void *pthread_waiter(void *arg)
{
	struct box *b = arg;
	long rc = 0;

	smarm_mutex_lock(&b->m, SMARM_FOREVER);
	while (!b->ready && rc == 0)
		rc = smarm_cond_wait(&b->c, &b->m, SMARM_SEC(10));
	b->woken++;
	smarm_mutex_unlock(&b->m);
	return (void *)rc;
}

static void *root_foreign(void *arg)
{
	struct box b = {.m = SMARM_MUTEX_INIT, .c = SMARM_COND_INIT};
	pthread_t t;
	void *tr;

	(void)arg;
	CHECK_EQ(pthread_create(&t, NULL, pthread_waiter, &b), 0);
	smarm_sleep(SMARM_MSEC(20));
	CHECK_RC(smarm_mutex_lock(&b.m, SMARM_FOREVER), 0);
	b.ready = 1;
	CHECK_RC(smarm_cond_broadcast(&b.c), 0);
	CHECK_RC(smarm_mutex_unlock(&b.m), 0);
	pthread_join(t, &tr);
	CHECK_EQ((long)tr, 0);
	CHECK_EQ(b.woken, 1);
	return NULL;
}

Test(cond, foreign_thread_waits_and_an_actor_signals)
{
	rt_run(root_foreign, NULL, 1);
}

Test(cond, bad_input_is_einval)
{
	smarm_cond_t c = SMARM_COND_INIT;
	smarm_mutex_t m = SMARM_MUTEX_INIT;

	cr_assert_eq(smarm_cond_init(NULL), -EINVAL);
	cr_assert_eq(smarm_cond_wait(NULL, &m, 0), -EINVAL);
	cr_assert_eq(smarm_cond_wait(&c, NULL, 0), -EINVAL);
	cr_assert_eq(smarm_cond_signal(NULL), -EINVAL);
	cr_assert_eq(smarm_cond_broadcast(NULL), -EINVAL);
	cr_assert_eq(smarm_cond_fini(NULL), -EINVAL);
	cr_assert_eq(smarm_cond_fini(&c), 0);
}
