/* sem.c — smarm_sem_t: a counting semaphore with FIFO hand-off.
 *
 * Owns: the layout behind smarm_sem_t (struct sem below).
 *
 * `v` packs the count (low 31 bits) and QUEUED (bit 31: the wait queue may
 * be non-empty).  Uncontended, wait and post are one CAS each.  A post that
 * sees QUEUED goes under `lock` and gives its unit straight to the first
 * waiter it can claim, which wakes owning it; only when no waiter is left
 * does the count go up.  So units never reach a late-comer before the
 * queue's head (no barging), and the count is 0 whenever someone is queued.
 *
 * Invariants: QUEUED is set and cleared only under lock, and is set while
 * the queue is non-empty; count > 0 => the queue holds no live waiter.
 *
 * Lock order: sem lock -> scheduler locks.
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

#define QUEUED (1u << 31)
#define COUNT (QUEUED - 1)

struct sem {
	_Atomic uint32_t v;           /* QUEUED | count */
	smarm__lock_t lock;           /* guards waiters */
	struct smarm__wnode *waiters; /* [lock] FIFO */
};
_Static_assert(sizeof(struct sem) <= sizeof(smarm_sem_t), "smarm_sem_t too small");
_Static_assert(_Alignof(struct sem) <= _Alignof(smarm_sem_t), "smarm_sem_t align");
_Static_assert(SMARM_SEM_MAX == COUNT, "SMARM_SEM_MAX");

#define S(p) ((struct sem *)(p))

/* Never switches. */
int smarm_sem_init(smarm_sem_t *p, unsigned value)
{
	if (!p || value > SMARM_SEM_MAX)
		return -EINVAL;
	memset(p, 0, sizeof *p);
	atomic_store_explicit(&S(p)->v, value, memory_order_relaxed);
	return 0;
}

/* Never switches. */
int smarm_sem_fini(smarm_sem_t *p)
{
	struct sem *s = S(p);
	int r = 0;

	if (!p)
		return -EINVAL;
	smarm__lock(&s->lock);
	if (s->waiters)
		r = -EBUSY;
	smarm__unlock(&s->lock);
	return r;
}

/* Never switches. */
static inline bool take(struct sem *s)
{
	uint32_t v = atomic_load_explicit(&s->v, memory_order_relaxed);

	while (v & COUNT)
		if (atomic_compare_exchange_weak_explicit(&s->v, &v, v - 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

/* May switch. */
int smarm_sem_wait(smarm_sem_t *p, int64_t timeout)
{
	struct sem *s = S(p);
	struct smarm__wait w;
	struct smarm__wnode n;
	uint32_t v;
	int r;

	if (!p)
		return -EINVAL;
	if (likely(take(s)))
		return 0;
	if (timeout == 0)
		return -ETIMEDOUT;
	smarm__lock(&s->lock);
	for (;;) {
		v = atomic_load_explicit(&s->v, memory_order_relaxed);
		if (v & COUNT) {
			if (atomic_compare_exchange_weak_explicit(&s->v, &v, v - 1,
								  memory_order_acquire,
								  memory_order_relaxed)) {
				smarm__unlock(&s->lock);
				return 0;
			}
			continue;
		}
		if ((v & QUEUED) ||
		    atomic_compare_exchange_weak_explicit(&s->v, &v, v | QUEUED,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	smarm__wq_init(&w, smarm__self());
	smarm__wq_node(&n, &w, NULL, 0, 0);
	smarm__wq_prepare(&w, "semaphore", s);
	smarm__wq_push(&s->waiters, &n);
	smarm__unlock(&s->lock);

	r = smarm__wq_park(&w, smarm__deadline(timeout));
	if (r == SMARM__WQ_DONE)
		return 0;
	smarm__lock(&s->lock);
	if (r < 0) {
		if (smarm__wq_queued(&n))
			smarm__wq_remove(&s->waiters, &n);
		if (!s->waiters)
			atomic_fetch_and_explicit(&s->v, ~QUEUED, memory_order_relaxed);
	}
	smarm__unlock(&s->lock);
	return r < 0 ? r : 0;
}

/* Never switches. */
int smarm_sem_trywait(smarm_sem_t *p)
{
	if (!p)
		return -EINVAL;
	return take(S(p)) ? 0 : -EAGAIN;
}

/* Never switches. */
int smarm_sem_post(smarm_sem_t *p)
{
	struct sem *s = S(p);
	struct smarm__wnode *n;
	uint32_t v;

	if (!p)
		return -EINVAL;
	v = atomic_load_explicit(&s->v, memory_order_relaxed);
	while (!(v & QUEUED)) {
		if ((v & COUNT) == COUNT)
			return -EOVERFLOW;
		if (atomic_compare_exchange_weak_explicit(&s->v, &v, v + 1,
							  memory_order_release,
							  memory_order_relaxed))
			return 0;
	}
	smarm__lock(&s->lock);
	while ((n = smarm__wq_pop(&s->waiters))) {
		if (!smarm__wq_claim(n->w))
			continue;
		if (!s->waiters)
			atomic_fetch_and_explicit(&s->v, ~QUEUED, memory_order_relaxed);
		smarm__wq_wake(n->w, 0, 0);
		smarm__unlock(&s->lock);
		return 0;
	}
	/* Nobody left to hand to: clear QUEUED and count the unit. */
	v = atomic_load_explicit(&s->v, memory_order_relaxed);
	for (;;) {
		uint32_t nv = (v & COUNT) == COUNT ? v & COUNT : (v & COUNT) + 1;
		if (atomic_compare_exchange_weak_explicit(&s->v, &v, nv, memory_order_release,
							  memory_order_relaxed))
			break;
	}
	smarm__unlock(&s->lock);
	return (v & COUNT) == COUNT ? -EOVERFLOW : 0;
}

/* Never switches. */
unsigned smarm_sem_value(const smarm_sem_t *p)
{
	if (!p)
		return 0;
	return atomic_load_explicit(&S(p)->v, memory_order_relaxed) & COUNT;
}
