/* once.c — smarm_once: run a function exactly once, everyone else waiting
 * for it to finish.
 *
 * Owns: the states of smarm_once_t, and a small table of wait queues shared
 * by all once objects.
 *
 * smarm_once_t is 4 bytes (pthread_once_t's size) and so has no room for a
 * queue: waiters park in one of BUCKETS queues picked by hashing the once's
 * address (a parking lot, as WebKit's and Rust's), with the address as the
 * node's key.  The state word goes INIT -> RUNNING (the caller that won the
 * CAS runs fn) -> WAITED (someone queued) -> DONE.  The runner publishes
 * DONE with an exchange, and only if it saw WAITED does it take the bucket
 * lock and wake the nodes with its key.  A waiter queues only after seeing
 * RUNNING or WAITED under the bucket lock, so it either sees DONE or is
 * queued before the runner looks: no wake-up is lost.
 *
 * Lock order: bucket lock -> scheduler locks.
 */
#include "internal.h"
#include "waitq.h"

enum { INIT = 0, RUNNING = 1, WAITED = 2, DONE = 3 };

#define BUCKETS 16

static struct bucket {
	smarm__lock_t lock;
	struct smarm__wnode *waiters; /* [lock] nodes of any once; data = its address */
} buckets[BUCKETS];

/* Never switches. */
static struct bucket *bucket_of(const void *o)
{
	uintptr_t h = (uintptr_t)o * 0x9e3779b97f4a7c15ull;
	return &buckets[h >> 60];
}

/* Wake everyone waiting on o.  Never switches. */
static void wake_all(_Atomic uint32_t *o)
{
	struct bucket *b = bucket_of(o);
	struct smarm__wnode *n, *next;

	smarm__lock(&b->lock);
	n = b->waiters;
	while (n && b->waiters) {
		next = n->next == b->waiters ? NULL : n->next;
		if (n->data == (void *)o) {
			smarm__wq_remove(&b->waiters, n);
			if (smarm__wq_claim(n->w))
				smarm__wq_wake(n->w, 0, 0);
		}
		n = next;
	}
	smarm__unlock(&b->lock);
}

/* May switch (while another caller runs fn, and in fn). */
int smarm_once(smarm_once_t *once, void (*fn)(void *), void *arg)
{
	_Atomic uint32_t *o = (_Atomic uint32_t *)once;
	struct smarm__wait w;
	struct smarm__wnode node;
	struct bucket *b;
	uint32_t s;
	int r;

	if (!once || !fn)
		return -EINVAL;
	s = atomic_load_explicit(o, memory_order_acquire);
	if (likely(s == DONE))
		return 0;
	if (s == INIT && atomic_compare_exchange_strong_explicit(o, &s, RUNNING,
								 memory_order_acquire,
								 memory_order_acquire)) {
		fn(arg);
		if (atomic_exchange_explicit(o, DONE, memory_order_acq_rel) == WAITED)
			wake_all(o);
		return 0;
	}
	b = bucket_of(o);
	for (;;) {
		smarm__lock(&b->lock);
		s = atomic_load_explicit(o, memory_order_acquire);
		while (s == RUNNING && !atomic_compare_exchange_weak_explicit(
					       o, &s, WAITED, memory_order_acquire,
					       memory_order_acquire))
			;
		if (s == DONE) {
			smarm__unlock(&b->lock);
			return 0;
		}
		smarm_assert(s == RUNNING || s == WAITED);
		smarm__wq_init(&w, smarm__self());
		smarm__wq_node(&node, &w, (void *)o, 0, 0);
		smarm__wq_prepare(&w, "once", (void *)o);
		smarm__wq_push(&b->waiters, &node);
		smarm__unlock(&b->lock);
		r = smarm__wq_park(&w, -1);
		if (r != SMARM__WQ_DONE) {
			smarm__lock(&b->lock);
			if (r < 0 && smarm__wq_queued(&node))
				smarm__wq_remove(&b->waiters, &node);
			smarm__unlock(&b->lock);
			if (r < 0)
				return r;
		}
		if (atomic_load_explicit(o, memory_order_acquire) == DONE)
			return 0;
	}
}
