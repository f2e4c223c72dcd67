/* test_mutex.c — smarm_mutex_t (mutex.c): owner and error codes, timeouts,
 * FIFO hand-off, mutual exclusion under stress on all carriers, waiters
 * that time out being skipped, recursion, foreign threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(mutex, .timeout = 60);

#define SLACK SMARM_MSEC(50)

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	return rt_spawn(fn, arg, "t", 0);
}

_Static_assert(sizeof(smarm_mutex_t) <= sizeof(pthread_mutex_t),
	       "smarm_mutex_t fits in pthread_mutex_t");

Test(mutex, bad_input_is_einval)
{
	smarm_mutex_t m;

	cr_assert_eq(smarm_mutex_init(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_mutex_init(&m, 0x80), -EINVAL);
	cr_assert_eq(smarm_mutex_lock(NULL, 0), -EINVAL);
	cr_assert_eq(smarm_mutex_trylock(NULL), -EINVAL);
	cr_assert_eq(smarm_mutex_unlock(NULL), -EINVAL);
	cr_assert_eq(smarm_mutex_fini(NULL), -EINVAL);
	cr_assert_eq(smarm_mutex_owner(NULL), 0);
}

/* ---- owner and errors ---------------------------------------------------- */

static smarm_mutex_t shared = SMARM_MUTEX_INIT;

static void *other_tries(void *arg)
{
	(void)arg;
	CHECK_RC(smarm_mutex_unlock(&shared), -EPERM);   /* not the owner */
	CHECK_RC(smarm_mutex_trylock(&shared), -EBUSY);
	CHECK_RC(smarm_mutex_lock(&shared, 0), -ETIMEDOUT);
	int64_t t0 = smarm_now();
	CHECK_RC(smarm_mutex_lock(&shared, SMARM_MSEC(20)), -ETIMEDOUT);
	int64_t dt = smarm_now() - t0;
	CHECK(dt >= SMARM_MSEC(20));
	CHECK(dt < SMARM_MSEC(20) + SLACK);
	return NULL;
}

static void *root_errors(void *arg)
{
	(void)arg;
	CHECK_EQ(smarm_mutex_owner(&shared), 0);
	CHECK_RC(smarm_mutex_unlock(&shared), -EPERM); /* not locked at all */
	CHECK_RC(smarm_mutex_lock(&shared, SMARM_FOREVER), 0);
	CHECK_EQ(smarm_mutex_owner(&shared), smarm_self());
	CHECK_RC(smarm_mutex_lock(&shared, SMARM_FOREVER), -EDEADLK);
	CHECK_RC(smarm_mutex_trylock(&shared), -EBUSY);
	CHECK_RC(smarm_mutex_fini(&shared), -EBUSY);
	rt_join(spawn(other_tries, NULL));
	CHECK_EQ(smarm_mutex_owner(&shared), smarm_self());
	CHECK_RC(smarm_mutex_unlock(&shared), 0);
	CHECK_EQ(smarm_mutex_owner(&shared), 0);
	CHECK_RC(smarm_mutex_unlock(&shared), -EPERM);
	CHECK_RC(smarm_mutex_trylock(&shared), 0);
	CHECK_RC(smarm_mutex_unlock(&shared), 0);
	CHECK_RC(smarm_mutex_fini(&shared), 0);
	return NULL;
}

Test(mutex, owner_and_error_codes)
{
	rt_run(root_errors, NULL, 2);
}

/* ---- FIFO hand-off ----------------------------------------------------- */

#define NFIFO 8
struct fifo {
	smarm_mutex_t m;
	int order[NFIFO];
	_Atomic int n;
};

struct fifo_arg {
	struct fifo *f;
	int id;
};

static void *fifo_waiter(void *arg)
{
	struct fifo_arg *a = arg;

	CHECK_RC(smarm_mutex_lock(&a->f->m, SMARM_SEC(10)), 0);
	CHECK_EQ(smarm_mutex_owner(&a->f->m), smarm_self());
	a->f->order[atomic_fetch_add(&a->f->n, 1)] = a->id;
	smarm_yield(); /* hold it across a switch */
	CHECK_RC(smarm_mutex_unlock(&a->f->m), 0);
	return NULL;
}

static void *root_fifo(void *arg)
{
	struct fifo f = {.m = SMARM_MUTEX_INIT};
	struct fifo_arg a[NFIFO];
	smarm_pid_t p[NFIFO];

	(void)arg;
	CHECK_RC(smarm_mutex_lock(&f.m, SMARM_FOREVER), 0);
	for (int i = 0; i < NFIFO; i++) {
		a[i] = (struct fifo_arg){&f, i};
		p[i] = spawn(fifo_waiter, &a[i]);
		smarm_sleep(SMARM_MSEC(3)); /* let it queue before the next */
	}
	CHECK_RC(smarm_mutex_unlock(&f.m), 0);
	for (int i = 0; i < NFIFO; i++)
		rt_join(p[i]);
	CHECK_EQ(atomic_load(&f.n), NFIFO);
	for (int i = 0; i < NFIFO; i++)
		CHECK_EQ(f.order[i], i);
	CHECK_RC(smarm_mutex_fini(&f.m), 0);
	return NULL;
}

Test(mutex, waiters_get_it_in_fifo_order_one_carrier)
{
	rt_run(root_fifo, NULL, 1);
}

Test(mutex, waiters_get_it_in_fifo_order_two_carriers)
{
	rt_run(root_fifo, NULL, 2);
}

/* Unlock hands over: the unlocker cannot take it straight back while a
 * waiter is queued. */
static void *handoff_waiter(void *arg)
{
	smarm_mutex_t *m = arg;

	CHECK_RC(smarm_mutex_lock(m, SMARM_SEC(10)), 0);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_mutex_unlock(m), 0);
	return NULL;
}

static void *root_no_barging(void *arg)
{
	smarm_mutex_t m = SMARM_MUTEX_INIT;

	(void)arg;
	CHECK_RC(smarm_mutex_lock(&m, SMARM_FOREVER), 0);
	smarm_pid_t p = spawn(handoff_waiter, &m);
	smarm_sleep(SMARM_MSEC(5));
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	CHECK_RC(smarm_mutex_trylock(&m), -EBUSY); /* already the waiter's */
	CHECK_EQ(smarm_mutex_owner(&m), p);
	CHECK_RC(smarm_mutex_lock(&m, SMARM_SEC(10)), 0);
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	rt_join(p);
	return NULL;
}

Test(mutex, unlock_hands_ownership_to_the_waiter)
{
	rt_run(root_no_barging, NULL, 2);
}

/* ---- mutual exclusion stress --------------------------------------------- */

#define WORKERS 8
#define TOTAL (1000000 / RT_SCALE)

struct stress {
	smarm_mutex_t m;
	long counter;     /* plain: only the lock protects it */
	int inside;
};

static void *stress_worker(void *arg)
{
	struct stress *s = arg;

	for (int i = 0; i < TOTAL / WORKERS; i++) {
		CHECK_RC(smarm_mutex_lock(&s->m, SMARM_FOREVER), 0);
		CHECK_EQ(++s->inside, 1);
		long c = s->counter;
		if (i % 1024 == 0)
			smarm_yield(); /* switch while holding it */
		s->counter = c + 1;
		s->inside--;
		CHECK_RC(smarm_mutex_unlock(&s->m), 0);
	}
	return NULL;
}

static void *root_stress(void *arg)
{
	struct stress s = {.m = SMARM_MUTEX_INIT};
	smarm_pid_t p[WORKERS];

	(void)arg;
	for (int i = 0; i < WORKERS; i++)
		p[i] = spawn(stress_worker, &s);
	for (int i = 0; i < WORKERS; i++)
		rt_join(p[i]);
	CHECK_EQ(s.counter, (long)TOTAL / WORKERS * WORKERS);
	CHECK_RC(smarm_mutex_fini(&s.m), 0);
	return NULL;
}

Test(mutex, mutual_exclusion_million_increments_four_carriers)
{
	rt_run(root_stress, NULL, 4);
}

Test(mutex, mutual_exclusion_two_carriers)
{
	rt_run(root_stress, NULL, 2);
}

/* ---- waiters that time out ------------------------------------------------ */

static void *times_out(void *arg)
{
	CHECK_RC(smarm_mutex_lock(arg, SMARM_MSEC(15)), -ETIMEDOUT);
	return NULL;
}

static void *waits_forever(void *arg)
{
	CHECK_RC(smarm_mutex_lock(arg, SMARM_FOREVER), 0);
	CHECK_RC(smarm_mutex_unlock(arg), 0);
	return NULL;
}

static void *root_skip(void *arg)
{
	smarm_mutex_t m = SMARM_MUTEX_INIT;

	(void)arg;
	CHECK_RC(smarm_mutex_lock(&m, SMARM_FOREVER), 0);
	smarm_pid_t a = spawn(times_out, &m);
	smarm_sleep(SMARM_MSEC(2));
	smarm_pid_t b = spawn(waits_forever, &m);
	rt_join(a);                 /* the first waiter gave up ... */
	CHECK_RC(smarm_mutex_unlock(&m), 0); /* ... so the second gets it */
	rt_join(b);
	CHECK_EQ(smarm_mutex_owner(&m), 0);
	CHECK_RC(smarm_mutex_trylock(&m), 0);
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	/* And a lone waiter that gave up leaves the fast path usable. */
	CHECK_RC(smarm_mutex_lock(&m, SMARM_FOREVER), 0);
	rt_join(spawn(times_out, &m));
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	CHECK_RC(smarm_mutex_fini(&m), 0);
	return NULL;
}

Test(mutex, unlock_skips_waiters_that_timed_out)
{
	rt_run(root_skip, NULL, 2);
}

/* Many short timeouts racing hand-offs: the lock stays exclusive, every
 * success is counted exactly, and the mutex ends free. */
struct tstress {
	smarm_mutex_t m;
	long counter, successes[WORKERS];
	int inside;
};

struct targ {
	struct tstress *t;
	int id;
};

static void *tstress_worker(void *arg)
{
	struct targ *a = arg;
	unsigned seed = (unsigned)a->id;

	for (int i = 0; i < 4000 / RT_SCALE; i++) {
		int rc = smarm_mutex_lock(&a->t->m, SMARM_USEC(rand_r(&seed) % 30));
		if (rc == -ETIMEDOUT)
			continue;
		CHECK_RC(rc, 0);
		CHECK_EQ(++a->t->inside, 1);
		a->t->counter++;
		if (i % 8 == 0)
			smarm_yield();
		a->t->inside--;
		a->t->successes[a->id]++;
		CHECK_RC(smarm_mutex_unlock(&a->t->m), 0);
	}
	return NULL;
}

static void *root_tstress(void *arg)
{
	struct tstress t = {.m = SMARM_MUTEX_INIT};
	struct targ a[WORKERS];
	smarm_pid_t p[WORKERS];
	long sum = 0;

	(void)arg;
	for (int i = 0; i < WORKERS; i++) {
		a[i] = (struct targ){&t, i};
		p[i] = spawn(tstress_worker, &a[i]);
	}
	for (int i = 0; i < WORKERS; i++) {
		rt_join(p[i]);
		sum += t.successes[i];
	}
	CHECK_EQ(t.counter, sum);
	CHECK(sum > 0);
	CHECK_RC(smarm_mutex_fini(&t.m), 0);
	return NULL;
}

Test(mutex, timeouts_racing_handoffs)
{
	rt_run(root_tstress, NULL, 2);
}

/* ---- recursion -------------------------------------------------------- */

static void *root_recursive(void *arg)
{
	smarm_mutex_t m;

	(void)arg;
	CHECK_RC(smarm_mutex_init(&m, SMARM_MUTEX_RECURSIVE), 0);
	CHECK_RC(smarm_mutex_lock(&m, SMARM_FOREVER), 0);
	CHECK_RC(smarm_mutex_lock(&m, 0), 0);
	CHECK_RC(smarm_mutex_trylock(&m), 0);
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	CHECK_EQ(smarm_mutex_owner(&m), smarm_self());
	CHECK_RC(smarm_mutex_unlock(&m), 0);
	CHECK_EQ(smarm_mutex_owner(&m), 0);
	CHECK_RC(smarm_mutex_unlock(&m), -EPERM);
	CHECK_RC(smarm_mutex_fini(&m), 0);
	return NULL;
}

Test(mutex, recursive_flavour_counts_depth)
{
	rt_run(root_recursive, NULL, 1);
}

/* ---- foreign threads ---------------------------------------------------- */

struct mixed {
	smarm_mutex_t m;
	long counter;
};

static void *pthread_incr(void *arg)
{
	struct mixed *x = arg;

	for (int i = 0; i < 20000; i++) {
		if (smarm_mutex_lock(&x->m, SMARM_FOREVER) != 0)
			return (void *)1;
		x->counter++;
		if (smarm_mutex_unlock(&x->m) != 0)
			return (void *)2;
	}
	return NULL;
}

static void *actor_incr(void *arg)
{
	struct mixed *x = arg;

	for (int i = 0; i < 20000; i++) {
		CHECK_RC(smarm_mutex_lock(&x->m, SMARM_FOREVER), 0);
		long c = x->counter;
		if (i % 256 == 0)
			smarm_yield();
		x->counter = c + 1;
		CHECK_RC(smarm_mutex_unlock(&x->m), 0);
	}
	return NULL;
}

static void *root_mixed(void *arg)
{
	struct mixed x = {.m = SMARM_MUTEX_INIT};
	pthread_t t[2];
	smarm_pid_t p[2];
	void *tr;

	(void)arg;
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, pthread_incr, &x), 0);
	for (int i = 0; i < 2; i++)
		p[i] = spawn(actor_incr, &x);
	for (int i = 0; i < 2; i++) {
		rt_join(p[i]);
		pthread_join(t[i], &tr);
		CHECK(tr == NULL);
	}
	CHECK_EQ(x.counter, 80000);
	return NULL;
}

Test(mutex, shared_between_actors_and_foreign_pthreads)
{
	rt_run(root_mixed, NULL, 2);
}

Test(mutex, foreign_thread_owner_rules)
{
	smarm_mutex_t m = SMARM_MUTEX_INIT;

	cr_assert_eq(smarm_mutex_lock(&m, SMARM_FOREVER), 0);
	cr_assert_eq(smarm_mutex_owner(&m), 0); /* no pid for a plain thread */
	cr_assert_eq(smarm_mutex_lock(&m, SMARM_FOREVER), -EDEADLK);
	cr_assert_eq(smarm_mutex_unlock(&m), 0);
	cr_assert_eq(smarm_mutex_unlock(&m), -EPERM);
}
