/* cond.c — smarm_cond_t: condition variables over smarm_mutex_t.
 *
 * Owns: the layout behind smarm_cond_t (struct cond below).
 *
 * A waiter queues itself on the condition *before* releasing the mutex, so
 * a signal sent by anyone who takes the mutex after that release finds it:
 * no wake-up is lost.  signal claims and wakes the first waiter still
 * waiting; broadcast every waiter queued at that moment.  A woken waiter
 * (or one that timed out) takes the mutex back before returning, waiting
 * without limit if it must, as pthread_cond_timedwait does.  Broadcast wakes
 * every waiter, which then contend for the mutex one by one (no wait
 * morphing yet).
 *
 * Invariants: waiters holds the parked waiters in arrival order, each node
 * on its waiter's stack; nodes of waits given up are removed by their owners
 * under `lock`.
 *
 * Lock order: the caller's mutex (held on entry to wait) -> cond lock ->
 * scheduler locks; the cond lock is dropped before the mutex is released.
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

struct cond {
	smarm__lock_t lock;
	uint32_t pad;
	struct smarm__wnode *waiters; /* [lock] FIFO */
};
_Static_assert(sizeof(struct cond) <= sizeof(smarm_cond_t), "smarm_cond_t too small");
_Static_assert(_Alignof(struct cond) <= _Alignof(smarm_cond_t), "smarm_cond_t align");

#define C(pc) ((struct cond *)(pc))

/* Never switches. */
int smarm_cond_init(smarm_cond_t *pc)
{
	if (!pc)
		return -EINVAL;
	memset(pc, 0, sizeof *pc);
	return 0;
}

/* Never switches. */
int smarm_cond_fini(smarm_cond_t *pc)
{
	struct cond *c = C(pc);
	int r = 0;

	if (!pc)
		return -EINVAL;
	smarm__lock(&c->lock);
	if (!smarm__wq_empty(&c->waiters))
		r = -EBUSY;
	smarm__unlock(&c->lock);
	return r;
}

/* May switch. */
int smarm_cond_wait(smarm_cond_t *pc, smarm_mutex_t *pm, int64_t timeout)
{
	struct cond *c = C(pc);
	struct smarm__actor *self;
	struct smarm__wait w;
	struct smarm__wnode n;
	int64_t deadline;
	uintptr_t me;
	uint32_t depth;
	int r;

	if (!pc || !pm)
		return -EINVAL;
	self = smarm__self();
	me = smarm__sync_token(self);
	if (!smarm__mutex_held(pm, me))
		return -EPERM;
	deadline = smarm__deadline(timeout);
	smarm__wq_init(&w, self);
	smarm__wq_node(&n, &w, NULL, 0, 0);
	smarm__lock(&c->lock);
	smarm__wq_prepare(&w, "cond", c);
	smarm__wq_push(&c->waiters, &n);
	smarm__unlock(&c->lock);
	r = smarm__mutex_release(pm, me, &depth);
	smarm_assert(r == 0);

	r = smarm__wq_park(&w, deadline);
	if (r != SMARM__WQ_DONE) {
		smarm__lock(&c->lock);
		if (r < 0 && smarm__wq_queued(&n))
			smarm__wq_remove(&c->waiters, &n);
		smarm__unlock(&c->lock);
	}
	smarm__mutex_reacquire(pm, self, me, depth);
	/* Anything but a timeout counts as a (possibly spurious) wake-up. */
	return r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* Never switches. */
static int wake(smarm_cond_t *pc, bool all)
{
	struct cond *c = C(pc);
	struct smarm__wnode *n;

	if (!pc)
		return -EINVAL;
	/* Nobody to wake: skip the lock.  A waiter queues before releasing its
	 * mutex, so a signaller holding that mutex always sees it here. */
	if (!__atomic_load_n(&c->waiters, __ATOMIC_ACQUIRE))
		return 0;
	smarm__lock(&c->lock);
	while ((n = smarm__wq_pop(&c->waiters))) {
		if (!smarm__wq_claim(n->w))
			continue;
		smarm__wq_wake(n->w, 0, 0);
		if (!all)
			break;
	}
	smarm__unlock(&c->lock);
	return 0;
}

/* Never switches. */
int smarm_cond_signal(smarm_cond_t *pc)
{
	return wake(pc, false);
}

/* Never switches. */
int smarm_cond_broadcast(smarm_cond_t *pc)
{
	return wake(pc, true);
}
