/* test_gfutex.c — the green futex wait table (gfutex.c) that strict mode
 * serves trapped futex waits with: the value check, wake counts and
 * bitsets, timeouts, a wake from a thread that is not an actor, and the
 * recheck that covers wakes the table never sees. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(gfutex, .timeout = 60);

struct waiter {
	_Atomic uint32_t *word;
	uint32_t val, bitset;
	int64_t timeout;
	_Atomic int result;  /* 1: not back yet */
};

static void *wait_fn(void *p)
{
	struct waiter *w = p;
	int64_t deadline = w->timeout < 0 ? -1 : smarm_now() + w->timeout;

	atomic_store(&w->result, smarm__gfutex_wait(w->word, w->val, w->bitset, deadline));
	return NULL;
}

/* Let the other actors run until `n` waiters are parked on the table (the
 * waiters' state says so: they wait on "futex"). */
static void until_parked(smarm_pid_t *pids, int n)
{
	for (;;) {
		int parked = 0;
		for (int i = 0; i < n; i++) {
			struct smarm__slot *slot;
			struct smarm__actor *a = smarm__pid_lock(pids[i], &slot);
			if (a) {
				parked += atomic_load(&a->state) == SMARM__WAITING &&
					  a->wait_what && strcmp(a->wait_what, "futex") == 0;
				smarm__pid_unlock(slot);
			}
		}
		if (parked == n)
			return;
		smarm_yield();
	}
}

static void *root_basic(void *arg)
{
	_Atomic uint32_t word = 5;
	struct waiter w[3];
	smarm_pid_t p[3];

	(void)arg;
	/* The kernel's EAGAIN: the word is not what the caller expects. */
	CHECK_RC(smarm__gfutex_wait(&word, 4, ~0u, -1), -EAGAIN);
	/* A timeout with nobody waking. */
	CHECK_RC(smarm__gfutex_wait(&word, 5, ~0u, smarm_now() + SMARM_MSEC(5)), -ETIMEDOUT);
	CHECK_EQ(smarm__gfutex_wake(&word, 1, ~0u), 0);

	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){&word, 5, i == 2 ? 2u : 1u, -1, 1};
		p[i] = rt_spawn(wait_fn, &w[i], "waiter", 0);
	}
	until_parked(p, 3);
	/* Bitset 2 matches only the third waiter, whatever the count; then a
	 * count of 1 wakes one waiter at a time. */
	CHECK_EQ(smarm__gfutex_wake(&word, 5, 2u), 1);
	rt_join(p[2]);
	CHECK_EQ(atomic_load(&w[2].result), 0);
	CHECK_EQ(smarm__gfutex_wake(&word, 1, ~0u), 1);
	CHECK_EQ(smarm__gfutex_wake(&word, 1, ~0u), 1);
	rt_join(p[0]);
	rt_join(p[1]);
	CHECK_EQ(atomic_load(&w[0].result), 0);
	CHECK_EQ(atomic_load(&w[1].result), 0);
	/* Nobody is left; another word's waiters are not ours. */
	CHECK_EQ(smarm__gfutex_wake(&word, 10, ~0u), 0);
	return NULL;
}

Test(gfutex, value_check_counts_bitsets_and_timeouts)
{
	rt_run(root_basic, NULL, 2);
}

struct foreign {
	_Atomic uint32_t *word;
	_Atomic int woken;
};

static void *foreign_waker(void *p)
{
	struct foreign *f = p;

	/* A plain thread: it may wake green waiters too. */
	while ((atomic_store(&f->woken, smarm__gfutex_wake(f->word, 1, ~0u)), f->woken) == 0)
		sched_yield();
	return NULL;
}

static void *root_foreign(void *arg)
{
	_Atomic uint32_t word = 1;
	struct foreign f = {&word, 0};
	pthread_t t;

	(void)arg;
	CHECK(pthread_create(&t, NULL, foreign_waker, &f) == 0);
	CHECK_RC(smarm__gfutex_wait(&word, 1, ~0u, -1), 0);
	pthread_join(t, NULL);
	CHECK_EQ(atomic_load(&f.woken), 1);
	return NULL;
}

Test(gfutex, a_plain_thread_wakes_a_green_waiter)
{
	rt_run(root_foreign, NULL, 1);
}

static void *changer(void *p)
{
	_Atomic uint32_t *word = p;

	smarm_sleep(SMARM_MSEC(2));
	/* A change the table never hears of (as a wake by the kernel's futex
	 * from another process would be). */
	atomic_store(word, 7);
	return NULL;
}

static void *root_recheck(void *arg)
{
	_Atomic uint32_t word = 3;
	smarm_pid_t p;

	(void)arg;
	p = rt_spawn(changer, (void *)&word, "changer", 0);
	/* No wake ever comes: the recheck sees the new value and returns 0
	 * (not -ETIMEDOUT: the deadline is far). */
	CHECK_RC(smarm__gfutex_wait(&word, 3, ~0u, smarm_now() + SMARM_SEC(20)), 0);
	CHECK_EQ(atomic_load(&word), 7);
	rt_join(p);
	return NULL;
}

Test(gfutex, a_change_without_a_wake_is_seen_by_the_recheck)
{
	rt_run(root_recheck, NULL, 1);
}

struct stress {
	_Atomic uint32_t lock; /* 0 free, 1 held, 2 held with waiters */
	long counter;
};

/* glibc's lll_lock shape over the table. */
static void *locker(void *p)
{
	struct stress *s = p;

	for (int i = 0; i < 2000 / RT_SCALE; i++) {
		uint32_t z = 0;
		if (!atomic_compare_exchange_strong(&s->lock, &z, 1))
			while (atomic_exchange(&s->lock, 2) != 0)
				smarm__gfutex_wait(&s->lock, 2, ~0u, -1);
		s->counter++;
		if (i % 64 == 0)
			smarm_yield(); /* held across a switch, as a parked stdio writer */
		if (atomic_exchange(&s->lock, 0) == 2)
			smarm__gfutex_wake(&s->lock, 1, ~0u);
	}
	return NULL;
}

static void *root_stress(void *arg)
{
	struct stress s = {0, 0};
	smarm_pid_t p[8];

	(void)arg;
	for (int i = 0; i < 8; i++)
		p[i] = rt_spawn(locker, &s, "locker", 0);
	for (int i = 0; i < 8; i++)
		rt_join(p[i]);
	CHECK_EQ(s.counter, 8 * (2000 / RT_SCALE));
	return NULL;
}

Test(gfutex, a_futex_lock_over_the_table_loses_no_wake)
{
	rt_run(root_stress, NULL, 2);
}
