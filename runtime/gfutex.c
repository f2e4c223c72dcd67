/* gfutex.c — futex waits for green threads: what strict mode (shim/strict.c)
 * serves a trapped futex(FUTEX_WAIT*) with, so glibc's internal locks (stdio,
 * the loader, NSS) park the green thread instead of its carrier.
 *
 * A table of BUCKETS lists hashed by the word's address, each under its own
 * smarm__lock_t.  wait: lock the bucket, compare the word with the expected
 * value, queue itself, unlock, park.  wake: lock the bucket, take matching
 * waiters off, smarm__wake them.  A waker changes the word before it calls
 * wake, and the waiter reads it under the lock the waker takes, so a wake
 * cannot fall between the waiter's check and its queueing (the kernel's own
 * futex hash bucket argument).
 *
 * What the table cannot see: wakes made with the real futex(2) — by OS
 * threads that are not green (pool threads running program code, other
 * processes sharing the word), FUTEX_WAKE_OP, FUTEX_CMP_REQUEUE, a thread
 * exit's CLONE_CHILD_CLEARTID wake.  So a waiter never parks for longer
 * than SMARM__GFUTEX_RECHECK at a time: it reads its word again and returns
 * 0 if it changed.  A futex wait may always return early; its callers loop.
 *
 * Lock order: a bucket's lock -> the scheduler's (smarm__wake).  No lock is
 * held across a switch.
 */
#include "internal.h"

#define BUCKETS 256

struct gwaiter {
	struct gwaiter *next, **pprev; /* [bucket lock] pprev NULL: not queued */
	_Atomic uint32_t *word;        /* [init] */
	uint32_t bitset;               /* [init] */
	struct smarm__actor *actor;    /* [init] */
};

static struct bucket {
	smarm__lock_t lock;
	struct gwaiter *head;          /* [lock] */
} __attribute__((aligned(SMARM_CACHELINE))) table[BUCKETS];

static struct bucket *bucket_of(_Atomic uint32_t *w)
{
	uintptr_t k = (uintptr_t)w >> 2;

	k ^= k >> 17;
	k *= 0x9e3779b97f4a7c15ull;
	return &table[(k >> 40) % BUCKETS];
}

static void unlink_waiter(struct gwaiter *q)
{
	if (q->next)
		q->next->pprev = q->pprev;
	*q->pprev = q->next;
	q->pprev = NULL;
}

int smarm__gfutex_wait(_Atomic uint32_t *w, uint32_t val, uint32_t bitset, int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	struct bucket *b = bucket_of(w);
	struct gwaiter q = {.word = w, .bitset = bitset, .actor = self};
	bool looked = false; /* a recheck: the word has been seen equal once */

	smarm_assert(self);
	for (;;) {
		int64_t now = smarm__now(), until;
		intptr_t v;

		if (deadline >= 0 && now >= deadline)
			return -ETIMEDOUT;
		until = now + SMARM__GFUTEX_RECHECK;
		if (deadline >= 0 && deadline < until)
			until = deadline;
		smarm__lock(&b->lock);
		if (atomic_load_explicit(w, memory_order_relaxed) != val) {
			smarm__unlock(&b->lock);
			/* The first look: the kernel's EAGAIN.  Later ones: the
			 * word moved while we slept, as good as a wake. */
			return looked ? 0 : -EAGAIN;
		}
		q.next = b->head;
		q.pprev = &b->head;
		if (b->head)
			b->head->pprev = &q.next;
		b->head = &q;
		smarm__wait_prepare(self, "futex", (void *)w);
		smarm__unlock(&b->lock);
		v = smarm__park(until);
		if (v == 0)
			return 0; /* a waker took us off the list */
		smarm__lock(&b->lock);
		if (q.pprev)
			unlink_waiter(&q);
		smarm__unlock(&b->lock);
		if (v == -ECANCELED)
			return -EINTR;
		if (v != -ETIMEDOUT)
			return (int)v;
		looked = true;
	}
}

int smarm__gfutex_wake(_Atomic uint32_t *w, int n, uint32_t bitset)
{
	struct bucket *b = bucket_of(w);
	struct gwaiter *q, *next;
	int woken = 0;

	if (n <= 0)
		return 0;
	smarm__lock(&b->lock);
	for (q = b->head; q && woken < n; q = next) {
		next = q->next;
		if (q->word != w || !(q->bitset & bitset))
			continue;
		unlink_waiter(q);
		if (smarm__wake(q->actor, 0))
			woken++;
	}
	smarm__unlock(&b->lock);
	return woken;
}
