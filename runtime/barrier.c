/* barrier.c — smarm_barrier_t: a cyclic barrier for a fixed number of
 * parties.
 *
 * Owns: the layout behind smarm_barrier_t (struct barrier below).
 *
 * Arrivals count down `left` under `lock`; every arrival but the last
 * queues and parks; the last one resets `left` for the next round, wakes the
 * whole queue (the round's parties, all of them) and returns
 * SMARM_BARRIER_SERIAL.  Because the reset happens before anyone wakes, a
 * party that races ahead into the next round counts against the next
 * round, never this one.  A barrier wait has no timeout (pthread has none);
 * a party whose park is broken by something else (the runtime stopping its
 * actor) leaves the round and gives its arrival back.
 *
 * Invariants, under lock: 1 <= left <= count; the queue holds exactly
 * count - left live waiters (plus nodes being given up).
 *
 * Lock order: barrier lock -> scheduler locks.
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

struct barrier {
	smarm__lock_t lock;
	uint32_t count;               /* [init] parties per round */
	uint32_t left;                /* [lock] arrivals still missing this round */
	uint32_t pad;
	struct smarm__wnode *waiters; /* [lock] this round's parked parties */
};
_Static_assert(sizeof(struct barrier) <= sizeof(smarm_barrier_t), "smarm_barrier_t too small");
_Static_assert(_Alignof(struct barrier) <= _Alignof(smarm_barrier_t), "smarm_barrier_t align");

#define B(p) ((struct barrier *)(p))

/* Never switches. */
int smarm_barrier_init(smarm_barrier_t *p, unsigned count)
{
	if (!p || count == 0)
		return -EINVAL;
	memset(p, 0, sizeof *p);
	B(p)->count = count;
	B(p)->left = count;
	return 0;
}

/* Never switches. */
int smarm_barrier_fini(smarm_barrier_t *p)
{
	struct barrier *b = B(p);
	int r = 0;

	if (!p)
		return -EINVAL;
	smarm__lock(&b->lock);
	if (b->waiters || b->left != b->count)
		r = -EBUSY;
	smarm__unlock(&b->lock);
	return r;
}

/* May switch. */
int smarm_barrier_wait(smarm_barrier_t *p)
{
	struct barrier *b = B(p);
	struct smarm__wnode *n, node;
	struct smarm__wait w;
	int r;

	if (!p)
		return -EINVAL;
	smarm__lock(&b->lock);
	smarm_assert(b->count > 0); /* initialised */
	if (--b->left == 0) {
		b->left = b->count;
		while ((n = smarm__wq_pop(&b->waiters)))
			if (smarm__wq_claim(n->w))
				smarm__wq_wake(n->w, 0, 0);
		smarm__unlock(&b->lock);
		return SMARM_BARRIER_SERIAL;
	}
	smarm__wq_init(&w, smarm__self());
	smarm__wq_node(&node, &w, NULL, 0, 0);
	smarm__wq_prepare(&w, "barrier", b);
	smarm__wq_push(&b->waiters, &node);
	smarm__unlock(&b->lock);

	r = smarm__wq_park(&w, -1);
	if (r == SMARM__WQ_DONE)
		return 0;
	smarm__lock(&b->lock);
	if (r < 0 && smarm__wq_queued(&node)) {
		smarm__wq_remove(&b->waiters, &node);
		b->left++;
	}
	smarm__unlock(&b->lock);
	return r < 0 ? r : 0;
}
