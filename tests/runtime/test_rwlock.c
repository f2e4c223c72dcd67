/* test_rwlock.c — smarm_rwlock_t (rwlock.c): shared readers, exclusive
 * writers under stress, fairness (a queued writer holds back new readers),
 * the reader-preferring flavour, a writer that times out letting readers
 * behind it in, and the error codes. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(rwlock, .timeout = 60);

_Static_assert(sizeof(smarm_rwlock_t) <= sizeof(pthread_rwlock_t), "fits pthread_rwlock_t");

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	return rt_spawn(fn, arg, "t", 0);
}

struct rw {
	smarm_rwlock_t l;
	_Atomic int readers_in, max_readers;
	int writer_in;
	long data[8];
};

static void *reader_holds(void *arg)
{
	struct rw *r = arg;

	CHECK_RC(smarm_rwlock_rdlock(&r->l, SMARM_SEC(5)), 0);
	int n = atomic_fetch_add(&r->readers_in, 1) + 1;
	int m = atomic_load(&r->max_readers);
	while (n > m && !atomic_compare_exchange_weak(&r->max_readers, &m, n))
		;
	smarm_sleep(SMARM_MSEC(20));
	atomic_fetch_sub(&r->readers_in, 1);
	CHECK_RC(smarm_rwlock_unlock(&r->l), 0);
	return NULL;
}

static void *root_shared(void *arg)
{
	struct rw r = {.l = SMARM_RWLOCK_INIT};
	smarm_pid_t p[4];

	(void)arg;
	for (int i = 0; i < 4; i++)
		p[i] = spawn(reader_holds, &r);
	for (int i = 0; i < 4; i++)
		rt_join(p[i]);
	CHECK_EQ(atomic_load(&r.max_readers), 4); /* all four were in together */
	CHECK_RC(smarm_rwlock_fini(&r.l), 0);
	return NULL;
}

Test(rwlock, readers_share)
{
	rt_run(root_shared, NULL, 2);
}

/* Writers set all of data[] to one value; readers must never see a mix. */
#define RW_ITERS (20000 / RT_SCALE)

static void *rw_writer(void *arg)
{
	struct rw *r = arg;

	for (int i = 0; i < RW_ITERS; i++) {
		CHECK_RC(smarm_rwlock_wrlock(&r->l, SMARM_FOREVER), 0);
		CHECK_EQ(++r->writer_in, 1);
		CHECK_EQ(atomic_load(&r->readers_in), 0);
		long v = r->data[0] + 1;
		for (int k = 0; k < 8; k++) {
			r->data[k] = v;
			if (k == 4 && i % 64 == 0)
				smarm_yield();
		}
		r->writer_in--;
		CHECK_RC(smarm_rwlock_unlock(&r->l), 0);
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	struct rw *r = arg;

	for (int i = 0; i < RW_ITERS; i++) {
		CHECK_RC(smarm_rwlock_rdlock(&r->l, SMARM_FOREVER), 0);
		atomic_fetch_add(&r->readers_in, 1);
		CHECK_EQ(r->writer_in, 0);
		long v = r->data[0];
		if (i % 64 == 0)
			smarm_yield();
		for (int k = 1; k < 8; k++)
			CHECK_EQ(r->data[k], v);
		atomic_fetch_sub(&r->readers_in, 1);
		CHECK_RC(smarm_rwlock_unlock(&r->l), 0);
	}
	return NULL;
}

static void *root_stress(void *arg)
{
	struct rw r;
	smarm_pid_t p[8];

	CHECK_RC(smarm_rwlock_init(&r.l, (unsigned)(uintptr_t)arg), 0);
	atomic_init(&r.readers_in, 0);
	r.writer_in = 0;
	for (int k = 0; k < 8; k++)
		r.data[k] = 0;
	for (int i = 0; i < 8; i++)
		p[i] = spawn(i % 4 == 0 ? rw_writer : rw_reader, &r);
	for (int i = 0; i < 8; i++)
		rt_join(p[i]);
	CHECK_EQ(r.data[0], 2L * RW_ITERS);
	CHECK_RC(smarm_rwlock_fini(&r.l), 0);
	return NULL;
}

Test(rwlock, writers_exclude_everyone_fair)
{
	rt_run(root_stress, (void *)0, 4);
}

Test(rwlock, writers_exclude_everyone_prefer_reader)
{
	rt_run(root_stress, (void *)(uintptr_t)SMARM_RWLOCK_PREFER_READER, 4);
}

/* ---- fairness ---------------------------------------------------------- */

static void *writer_waits(void *arg)
{
	struct rw *r = arg;

	CHECK_RC(smarm_rwlock_wrlock(&r->l, SMARM_SEC(5)), 0);
	r->writer_in = 1;
	smarm_sleep(SMARM_MSEC(5));
	r->writer_in = 0;
	CHECK_RC(smarm_rwlock_unlock(&r->l), 0);
	return NULL;
}

static void *root_fair(void *arg)
{
	struct rw r = {.l = SMARM_RWLOCK_INIT};

	(void)arg;
	CHECK_RC(smarm_rwlock_rdlock(&r.l, SMARM_FOREVER), 0);
	smarm_pid_t w = spawn(writer_waits, &r);
	smarm_sleep(SMARM_MSEC(10)); /* the writer is queued behind our read lock */
	/* A queued writer holds back new readers (even a second read lock of
	 * ours: fair mode is not re-entrant for readers). */
	CHECK_RC(smarm_rwlock_tryrdlock(&r.l), -EBUSY);
	CHECK_RC(smarm_rwlock_rdlock(&r.l, SMARM_MSEC(5)), -ETIMEDOUT);
	CHECK_RC(smarm_rwlock_unlock(&r.l), 0);
	/* Now the writer goes first, then we read. */
	CHECK_RC(smarm_rwlock_rdlock(&r.l, SMARM_SEC(5)), 0);
	CHECK_EQ(r.writer_in, 0);
	CHECK_RC(smarm_rwlock_unlock(&r.l), 0);
	rt_join(w);
	return NULL;
}

Test(rwlock, fair_mode_queued_writer_blocks_new_readers)
{
	rt_run(root_fair, NULL, 2);
}

static void *root_prefer(void *arg)
{
	struct rw r;

	(void)arg;
	CHECK_RC(smarm_rwlock_init(&r.l, SMARM_RWLOCK_PREFER_READER), 0);
	r.writer_in = 0;
	CHECK_RC(smarm_rwlock_rdlock(&r.l, SMARM_FOREVER), 0);
	smarm_pid_t w = spawn(writer_waits, &r);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_rwlock_tryrdlock(&r.l), 0); /* readers still get in */
	CHECK_RC(smarm_rwlock_unlock(&r.l), 0);
	CHECK_RC(smarm_rwlock_unlock(&r.l), 0);
	rt_join(w);
	CHECK_RC(smarm_rwlock_fini(&r.l), 0);
	return NULL;
}

Test(rwlock, prefer_reader_lets_readers_past_a_queued_writer)
{
	rt_run(root_prefer, NULL, 2);
}

/* A writer at the head times out: the readers queued behind it join the
 * readers that hold the lock, without waiting for them to leave. */
static void *writer_gives_up(void *arg)
{
	struct rw *r = arg;

	CHECK_RC(smarm_rwlock_wrlock(&r->l, SMARM_MSEC(20)), -ETIMEDOUT);
	return NULL;
}

static void *late_reader(void *arg)
{
	struct rw *r = arg;
	int64_t t0 = smarm_now();

	CHECK_RC(smarm_rwlock_rdlock(&r->l, SMARM_SEC(5)), 0);
	int64_t dt = smarm_now() - t0;
	CHECK_RC(smarm_rwlock_unlock(&r->l), 0);
	return (void *)dt;
}

static void *root_giveup(void *arg)
{
	struct rw r = {.l = SMARM_RWLOCK_INIT};

	(void)arg;
	CHECK_RC(smarm_rwlock_rdlock(&r.l, SMARM_FOREVER), 0);
	smarm_pid_t w = spawn(writer_gives_up, &r);
	smarm_sleep(SMARM_MSEC(5));
	smarm_pid_t rd = spawn(late_reader, &r);
	rt_join(w);
	int64_t dt = (int64_t)rt_join(rd); /* we still hold our read lock */
	CHECK(dt < SMARM_MSEC(200));
	CHECK_RC(smarm_rwlock_unlock(&r.l), 0);
	CHECK_RC(smarm_rwlock_fini(&r.l), 0);
	return NULL;
}

Test(rwlock, writer_timeout_admits_readers_behind_it)
{
	rt_run(root_giveup, NULL, 2);
}

static void *other_unlocks(void *arg)
{
	CHECK_RC(smarm_rwlock_unlock(arg), -EPERM); /* write-held by root */
	CHECK_RC(smarm_rwlock_trywrlock(arg), -EBUSY);
	CHECK_RC(smarm_rwlock_tryrdlock(arg), -EBUSY);
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_rwlock_wrlock(arg, SMARM_MSEC(10)), -ETIMEDOUT);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(10));
	return NULL;
}

static void *root_errors(void *arg)
{
	smarm_rwlock_t l = SMARM_RWLOCK_INIT;

	(void)arg;
	CHECK_RC(smarm_rwlock_unlock(&l), -EPERM);
	CHECK_RC(smarm_rwlock_wrlock(&l, SMARM_FOREVER), 0);
	CHECK_RC(smarm_rwlock_wrlock(&l, SMARM_FOREVER), -EDEADLK);
	CHECK_RC(smarm_rwlock_rdlock(&l, SMARM_FOREVER), -EDEADLK);
	CHECK_RC(smarm_rwlock_trywrlock(&l), -EDEADLK);
	CHECK_RC(smarm_rwlock_fini(&l), -EBUSY);
	rt_join(spawn(other_unlocks, &l));
	CHECK_RC(smarm_rwlock_unlock(&l), 0);
	CHECK_RC(smarm_rwlock_rdlock(&l, 0), 0);
	CHECK_RC(smarm_rwlock_trywrlock(&l), -EBUSY);
	CHECK_RC(smarm_rwlock_wrlock(&l, 0), -ETIMEDOUT);
	CHECK_RC(smarm_rwlock_unlock(&l), 0);
	CHECK_RC(smarm_rwlock_unlock(&l), -EPERM);
	CHECK_RC(smarm_rwlock_fini(&l), 0);
	return NULL;
}

Test(rwlock, error_codes)
{
	rt_run(root_errors, NULL, 2);
}

Test(rwlock, bad_input_is_einval)
{
	smarm_rwlock_t l;

	cr_assert_eq(smarm_rwlock_init(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_rwlock_init(&l, 0x40), -EINVAL);
	cr_assert_eq(smarm_rwlock_rdlock(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_rwlock_wrlock(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_rwlock_unlock(NULL), -EINVAL);
	cr_assert_eq(smarm_rwlock_fini(NULL), -EINVAL);
}
