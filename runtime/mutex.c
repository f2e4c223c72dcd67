/* mutex.c — smarm_mutex_t: a sleeping mutex for actors (and foreign threads)
 * with FIFO hand-off, an owner, timeouts, and a recursive flavour.
 *
 * Owns: the layout behind smarm_mutex_t (struct mutex below), owner tokens
 * (waitq.h).
 *
 * `word` is the whole lock for the fast paths: 0 when free, else the owner's
 * token (waitq.h) with bit 0 (WAITERS) set while the wait queue may be
 * non-empty.  Uncontended, lock is one CAS 0 -> me and unlock one CAS
 * me -> 0.  With WAITERS set the unlock CAS fails and the slow path, under
 * qlock, passes ownership to the first waiter it can claim: word becomes the
 * waiter's token, the waiter is woken already owning the mutex, and nobody
 * can barge in between (a locker that sees WAITERS queues up behind).
 *
 * Invariants:
 *   - WAITERS is set and cleared only under qlock, and is set whenever
 *     `waiters` is non-empty (it may stay set over an empty queue for a
 *     moment: the next unlock takes the slow path and clears it).
 *   - word is never WAITERS alone: the slow unlock stores a token or 0.
 *   - owner and depth are written only by the owner (or by the unlocker
 *     handing over, for owner) and read racily by reports.
 *
 * Lock order: qlock -> scheduler locks (waking the new owner).
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

#define WAITERS ((uintptr_t)1)
#define SPINS 40 /* polls of a held mutex before queueing (several carriers) */

struct mutex {
	_Atomic uintptr_t word;        /* 0 free; owner token | WAITERS */
	smarm__lock_t qlock;           /* guards waiters */
	uint32_t flags;                /* [init] SMARM_MUTEX_RECURSIVE, and the
	                                * caller's tag (SMARM__MUTEX_TAG) */
	struct smarm__wnode *waiters;  /* [qlock] FIFO; node->arg = waiter's token */
	_Atomic smarm_pid_t owner;     /* [owner, or hand-off] for reports */
	uint32_t depth;                /* [owner] recursive locks beyond the first */
	uint32_t pad;
};
_Static_assert(sizeof(struct mutex) <= sizeof(smarm_mutex_t), "smarm_mutex_t too small");
_Static_assert(_Alignof(struct mutex) <= _Alignof(smarm_mutex_t), "smarm_mutex_t align");

#define M(pm) ((struct mutex *)(pm))

static __thread uint64_t foreign_tok;

/* Not inlined: a foreign thread never migrates, but keep the TLS address
 * computation out of callers that an actor runs.  Never switches. */
__attribute__((noinline)) uintptr_t smarm__foreign_token(void)
{
	return (uintptr_t)&foreign_tok;
}

/* Never switches. */
static inline smarm_pid_t pid_of(struct smarm__actor *a)
{
	return a ? a->pid : 0;
}

/* Never switches. */
int smarm_mutex_init(smarm_mutex_t *pm, unsigned flags)
{
	if (!pm || (flags & ~(SMARM_MUTEX_RECURSIVE | SMARM__MUTEX_TAG)))
		return -EINVAL;
	memset(pm, 0, sizeof *pm);
	M(pm)->flags = flags;
	return 0;
}

/* Never switches. */
int smarm_mutex_fini(smarm_mutex_t *pm)
{
	struct mutex *m = M(pm);
	int r = 0;

	if (!pm)
		return -EINVAL;
	smarm__lock(&m->qlock);
	if (atomic_load_explicit(&m->word, memory_order_relaxed) ||
	    !smarm__wq_empty(&m->waiters))
		r = -EBUSY;
	smarm__unlock(&m->qlock);
	return r;
}

/* Everything but the uncontended lock.  try: trylock semantics.
 * May switch (unless try). */
static int lock_slow(struct mutex *m, struct smarm__actor *self, uintptr_t me,
		     int64_t timeout, bool try)
{
	uintptr_t w = atomic_load_explicit(&m->word, memory_order_relaxed);
	struct smarm__wait wt;
	struct smarm__wnode n;
	int r;

	if ((w & ~WAITERS) == me) {
		if (!(m->flags & SMARM_MUTEX_RECURSIVE))
			return try ? -EBUSY : -EDEADLK;
		if (m->depth == UINT32_MAX)
			return -EAGAIN;
		m->depth++;
		return 0;
	}
	if (try)
		return -EBUSY;
	if (timeout == 0)
		return -ETIMEDOUT;
	/* On several carriers the owner may be running and about to unlock:
	 * poll a little before paying for a park.  Never once others queue. */
	if (smarm__rt.ncarriers > 1 || !self) {
		for (int i = 0; i < SPINS && !(w & WAITERS); i++) {
			__builtin_ia32_pause();
			w = atomic_load_explicit(&m->word, memory_order_relaxed);
			if (w == 0 && atomic_compare_exchange_weak_explicit(
					      &m->word, &w, me, memory_order_acquire,
					      memory_order_relaxed))
				goto got;
		}
	}
	smarm__lock(&m->qlock);
	for (;;) {
		w = atomic_load_explicit(&m->word, memory_order_relaxed);
		if (w == 0) {
			if (atomic_compare_exchange_weak_explicit(&m->word, &w, me,
								  memory_order_acquire,
								  memory_order_relaxed)) {
				smarm__unlock(&m->qlock);
				goto got;
			}
			continue;
		}
		if ((w & WAITERS) ||
		    atomic_compare_exchange_weak_explicit(&m->word, &w, w | WAITERS,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	smarm__wq_init(&wt, self);
	smarm__wq_node(&n, &wt, NULL, me, 0);
	smarm__wq_prepare(&wt, "mutex", m);
	smarm__wq_push(&m->waiters, &n);
	smarm__unlock(&m->qlock);

	r = smarm__wq_park(&wt, smarm__deadline(timeout));
	if (r == SMARM__WQ_DONE)
		return 0; /* handed over: word and owner already say so */
	smarm__lock(&m->qlock);
	if (r < 0) {
		if (smarm__wq_queued(&n))
			smarm__wq_remove(&m->waiters, &n);
		if (smarm__wq_empty(&m->waiters))
			atomic_fetch_and_explicit(&m->word, ~WAITERS, memory_order_relaxed);
	}
	smarm__unlock(&m->qlock);
	if (r == -ETIMEDOUT && self)
		smarm__deadlock_mutex_timeout(self, m); /* a wait-for cycle? */
	return r < 0 ? r : 0;
got:
	atomic_store_explicit(&m->owner, pid_of(self), memory_order_relaxed);
	return 0;
}

/* May switch. */
int smarm_mutex_lock(smarm_mutex_t *pm, int64_t timeout)
{
	struct mutex *m = M(pm);
	struct smarm__actor *self;
	uintptr_t me, z = 0;

	if (unlikely(!pm))
		return -EINVAL;
	self = smarm__self();
	me = smarm__sync_token(self);
	if (likely(atomic_compare_exchange_strong_explicit(&m->word, &z, me,
							   memory_order_acquire,
							   memory_order_relaxed))) {
		atomic_store_explicit(&m->owner, pid_of(self), memory_order_relaxed);
		return 0;
	}
	return lock_slow(m, self, me, timeout, false);
}

/* Never switches. */
int smarm_mutex_trylock(smarm_mutex_t *pm)
{
	struct mutex *m = M(pm);
	struct smarm__actor *self;
	uintptr_t me, z = 0;

	if (unlikely(!pm))
		return -EINVAL;
	self = smarm__self();
	me = smarm__sync_token(self);
	if (likely(atomic_compare_exchange_strong_explicit(&m->word, &z, me,
							   memory_order_acquire,
							   memory_order_relaxed))) {
		atomic_store_explicit(&m->owner, pid_of(self), memory_order_relaxed);
		return 0;
	}
	return lock_slow(m, self, me, 0, true);
}

/* Pass the mutex to the first waiter that can still take it, or free it.
 * The caller owns it (depth 0).  Never switches. */
static void unlock_slow(struct mutex *m)
{
	struct smarm__wnode *n;

	smarm__lock(&m->qlock);
	while ((n = smarm__wq_pop(&m->waiters))) {
		if (!smarm__wq_claim(n->w))
			continue; /* it timed out; it will not count on us */
		atomic_store_explicit(&m->owner, pid_of(n->w->actor), memory_order_relaxed);
		atomic_store_explicit(&m->word,
				      n->arg | (smarm__wq_empty(&m->waiters) ? 0 : WAITERS),
				      memory_order_release);
		smarm__wq_wake(n->w, 0, 0);
		smarm__unlock(&m->qlock);
		return;
	}
	atomic_store_explicit(&m->word, 0, memory_order_release);
	smarm__unlock(&m->qlock);
}

/* Never switches. */
static inline void release(struct mutex *m, uintptr_t me, uintptr_t w)
{
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
	if (likely(w == me) && likely(atomic_compare_exchange_strong_explicit(
					       &m->word, &w, 0, memory_order_release,
					       memory_order_relaxed)))
		return;
	unlock_slow(m);
}

/* Never switches. */
int smarm_mutex_unlock(smarm_mutex_t *pm)
{
	struct mutex *m = M(pm);
	uintptr_t me, w;

	if (unlikely(!pm))
		return -EINVAL;
	me = smarm__sync_token(smarm__self());
	w = atomic_load_explicit(&m->word, memory_order_relaxed);
	if (unlikely((w & ~WAITERS) != me))
		return -EPERM;
	if (unlikely(m->depth)) {
		m->depth--;
		return 0;
	}
	release(m, me, w);
	return 0;
}

/* Never switches. */
smarm_pid_t smarm_mutex_owner(const smarm_mutex_t *pm)
{
	struct mutex *m = M(pm);

	if (!pm || !atomic_load_explicit(&m->word, memory_order_relaxed))
		return 0;
	return atomic_load_explicit(&m->owner, memory_order_relaxed);
}

/* Never switches. */
bool smarm__mutex_held(smarm_mutex_t *pm, uintptr_t me)
{
	uintptr_t w = atomic_load_explicit(&M(pm)->word, memory_order_relaxed);

	return (w & ~WAITERS) == me;
}

/* Never switches. */
int smarm__mutex_release(smarm_mutex_t *pm, uintptr_t me, uint32_t *depth)
{
	struct mutex *m = M(pm);
	uintptr_t w = atomic_load_explicit(&m->word, memory_order_relaxed);

	if ((w & ~WAITERS) != me)
		return -EPERM;
	*depth = m->depth;
	m->depth = 0;
	release(m, me, w);
	return 0;
}

/* May switch. */
void smarm__mutex_reacquire(smarm_mutex_t *pm, struct smarm__actor *self, uintptr_t me,
			    uint32_t depth)
{
	struct mutex *m = M(pm);
	uintptr_t z = 0;

	if (!atomic_compare_exchange_strong_explicit(&m->word, &z, me, memory_order_acquire,
						     memory_order_relaxed)) {
		/* pthread requires the mutex back whatever happened to the wait,
		 * so stop requests are held off until we have it (the actor
		 * then ends at its next exit point, owning nothing of ours). */
		bool was = self ? smarm__exit_defer(self) : false;
		while (lock_slow(m, self, me, SMARM_FOREVER, false) < 0)
			;
		if (self)
			smarm__exit_undefer(self, was);
	} else {
		atomic_store_explicit(&m->owner, pid_of(self), memory_order_relaxed);
	}
	m->depth = depth;
}

/* Never switches. */
smarm_pid_t smarm__mutex_owner_of(const void *pm, bool *foreign)
{
	const struct mutex *m = pm;
	uintptr_t w = atomic_load_explicit(&((struct mutex *)m)->word, memory_order_relaxed);
	smarm_pid_t p = atomic_load_explicit(&((struct mutex *)m)->owner, memory_order_relaxed);

	/* An actor's token is its record; anything else is a foreign
	 * thread's (waitq.h).  The owner field lags the word by a moment
	 * around a hand-off: report the word's view of who holds it. */
	*foreign = w != 0 && p == 0;
	return w ? p : 0;
}

/* ---- for the drop-in shim (internal.h) ---- */

/* Never switches. */
unsigned smarm__mutex_tag(const smarm_mutex_t *pm)
{
	return (__atomic_load_n(&M(pm)->flags, __ATOMIC_RELAXED) & SMARM__MUTEX_TAG) >>
	       SMARM__MUTEX_TAG_SHIFT;
}

/* The flags go in before the CAS publishes the empty queue: a caller that
 * sees `waiters` no longer equal to `found` (acquire) sees them too.
 * Never switches. */
void smarm__mutex_adopt(smarm_mutex_t *pm, uintptr_t found, unsigned flags)
{
	struct mutex *m = M(pm);
	struct smarm__wnode *w = (struct smarm__wnode *)found;

	__atomic_store_n(&m->flags, flags, __ATOMIC_RELAXED);
	__atomic_compare_exchange_n(&m->waiters, &w, NULL, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
}
