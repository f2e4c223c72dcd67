/* waitq.h — the wait queue under every blocking primitive of chan.c,
 * mailbox.c, mutex.c, cond.c, rwlock.c, sem.c, barrier.c and once.c.
 *
 * It layers one rule on top of the core's park/wake protocol (internal.h):
 * a wait is *claimed* before anything is handed over.  A waiting party is a
 * struct smarm__wait on the waiter's stack; it is reachable from one or more
 * struct smarm__wnode (one per queue it waits in: a select waits in several),
 * each linked into a queue guarded by the owning object's smarm__lock_t.
 *
 *   waiter:  wq_init(w); lock(q); [try; else] wq_prepare(w); wq_push(q, n);
 *            unlock(q); r = wq_park(w, deadline);
 *            r == WQ_DONE   a waker claimed us, did the hand-off and woke us;
 *            r == WQ_SYNC   a waker claimed us but may still be inside its
 *                           critical section: lock(q); unlock(q) before
 *                           reading what it handed over;
 *            r < 0          we gave up (-ETIMEDOUT, or whatever else woke us):
 *                           lock(q); remove n if still queued; fix up; unlock.
 *   waker:   lock(q); n = wq_pop(q);
 *            if (!wq_claim(n->w)) try the next: that waiter is leaving;
 *            hand over (copy into n->data, transfer ownership ...);
 *            wq_wake(n->w, n->index, result); unlock(q);
 *
 * The claim is one CAS on w->state (PENDING -> CLAIMED for a waker, PENDING
 * -> GONE for a waiter giving up), so exactly one side wins even when
 * several queues (select) hold nodes of the same wait.  Because a waker
 * claims before it copies, a receive that times out never has its buffer
 * written, and a select whose cases share one buffer sees only the winner's
 * bytes.  Because every waker claims, copies and wakes while holding the
 * queue lock, a waiter that lost the claim to a waker and then takes the
 * same lock knows the waker is finished with its stack: wait nodes can live
 * on the waiter's stack.  smarm__wake's own result is ignored: if the park
 * timer won that CAS instead, the waiter finds its claim lost (WQ_SYNC).
 *
 * Waiters that are not actors (smarm__self() == NULL: a plain pthread, or
 * code running before smarm_run) sleep on the futex word w->word instead of
 * parking, so every primitive here also works from foreign threads.  Such a
 * waiter always gets WQ_SYNC, so a waker's futex_wake never touches a stack
 * that has been left.
 *
 * Lock order: an object's queue lock -> the scheduler's locks (wq_wake).
 * Never switches (except wq_park, which may).
 */
#ifndef SMARM_WAITQ_H
#define SMARM_WAITQ_H

#include "internal.h"

enum {
	SMARM__WQ_PENDING = 0, /* waiting; a waker or the waiter may claim */
	SMARM__WQ_CLAIMED,     /* a waker won: the hand-off is ours */
	SMARM__WQ_GONE,        /* the waiter gave up (timeout, or woken otherwise) */
};

/* The value every waiter in this file is smarm__wake'd with; what it means
 * is in w->result. */
#define SMARM__WQ_WOKEN ((intptr_t)0x5717)

enum { SMARM__WQ_DONE = 0, SMARM__WQ_SYNC = 1 };

struct smarm__wait {
	struct smarm__actor *actor; /* [init] the waiter; NULL: a foreign thread on word */
	_Atomic int state;          /* SMARM__WQ_*: CAS by wakers and by the waiter */
	_Atomic uint32_t word;      /* [claimer] foreign waiter's futex, 1 once woken */
	intptr_t result;            /* [claimer] outcome, e.g. 0 or -EPIPE */
	int index;                  /* [claimer] index of the node that was taken */
};

struct smarm__wnode {
	struct smarm__wnode *next, *prev; /* [queue lock] circular; NULL: not queued */
	struct smarm__wait *w;            /* [init] the waiting party */
	void *data;                       /* [init] per primitive: buffer, element, key */
	uintptr_t arg;                    /* [init] per primitive: reader/writer, token */
	int index;                        /* [init] the case index in a select, else 0 */
};

/* A queue is a pointer to its first node; the first node's prev is the last.
 * All wq_ queue operations need the queue's lock. */
static inline bool smarm__wq_empty(struct smarm__wnode *const *q)
{
	return *q == NULL;
}

static inline bool smarm__wq_queued(const struct smarm__wnode *n)
{
	return n->next != NULL;
}

static inline void smarm__wq_push(struct smarm__wnode **q, struct smarm__wnode *n)
{
	struct smarm__wnode *h = *q;

	if (!h) {
		n->next = n->prev = n;
		*q = n;
		return;
	}
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void smarm__wq_remove(struct smarm__wnode **q, struct smarm__wnode *n)
{
	if (n->next == n) {
		*q = NULL;
	} else {
		n->prev->next = n->next;
		n->next->prev = n->prev;
		if (*q == n)
			*q = n->next;
	}
	n->next = n->prev = NULL;
}

static inline struct smarm__wnode *smarm__wq_pop(struct smarm__wnode **q)
{
	struct smarm__wnode *h = *q;

	if (h)
		smarm__wq_remove(q, h);
	return h;
}

/* Ready w for a wait by `self` (smarm__self(), possibly NULL). */
static inline void smarm__wq_init(struct smarm__wait *w, struct smarm__actor *self)
{
	w->actor = self;
	atomic_init(&w->state, SMARM__WQ_PENDING);
	atomic_init(&w->word, 0);
	w->result = 0;
	w->index = -1;
}

static inline void smarm__wq_node(struct smarm__wnode *n, struct smarm__wait *w,
				  void *data, uintptr_t arg, int index)
{
	n->next = n->prev = NULL;
	n->w = w;
	n->data = data;
	n->arg = arg;
	n->index = index;
}

/* Commit to waiting: call with the queue lock held, just before the first
 * wq_push of this wait, once there is no way back.  Never switches. */
static inline void smarm__wq_prepare(struct smarm__wait *w, const char *what, void *obj)
{
	if (w->actor)
		smarm__wait_prepare(w->actor, what, obj);
}

/* A waker takes the wait.  False: it is no longer pending (the waiter gave
 * up, or another queue's waker won); move on.  Never switches. */
static inline bool smarm__wq_claim(struct smarm__wait *w)
{
	int p = SMARM__WQ_PENDING;

	return atomic_compare_exchange_strong_explicit(&w->state, &p, SMARM__WQ_CLAIMED,
						       memory_order_acq_rel,
						       memory_order_acquire);
}

/* After a successful claim and the hand-off, with the queue lock still held:
 * publish the outcome and make the waiter run.  Never switches. */
static inline void smarm__wq_wake(struct smarm__wait *w, int index, intptr_t result)
{
	w->result = result;
	w->index = index;
	if (w->actor) {
		(void)smarm__wake(w->actor, SMARM__WQ_WOKEN);
	} else {
		int e = errno;
		atomic_store_explicit(&w->word, 1, memory_order_release);
		smarm__futex_wake(&w->word, 1);
		errno = e;
	}
}

/* Wait until claimed or until the deadline passes (-1: none).  Returns
 * SMARM__WQ_DONE, SMARM__WQ_SYNC or a negative error after giving up (see
 * the top of this file for what the caller must do in each case).
 * May switch. */
static inline int smarm__wq_park(struct smarm__wait *w, int64_t deadline)
{
	intptr_t r;
	int p = SMARM__WQ_PENDING;

	if (likely(w->actor != NULL)) {
		r = smarm__park(deadline);
		if (likely(r == SMARM__WQ_WOKEN))
			return SMARM__WQ_DONE;
	} else {
		int e = errno;
		r = SMARM__WQ_WOKEN;
		while (!atomic_load_explicit(&w->word, memory_order_acquire)) {
			int64_t rel = -1;
			if (deadline >= 0) {
				rel = deadline - smarm_now();
				if (rel <= 0) {
					r = -ETIMEDOUT;
					break;
				}
			}
			smarm__futex_wait(&w->word, 0, rel);
		}
		errno = e;
	}
	if (atomic_compare_exchange_strong_explicit(&w->state, &p, SMARM__WQ_GONE,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return r < 0 ? (int)r : -EINTR;
	return SMARM__WQ_SYNC;
}

/* ---- owner tokens (mutex.c) ----
 * A lock's owner is named by a token: the actor record's address for an
 * actor (stable across carriers, and even), or for a foreign thread the
 * address of a thread-local word (unique among live threads).  Bit 0 is
 * always clear, so locks can keep a flag there. */
uintptr_t smarm__foreign_token(void);
static inline uintptr_t smarm__sync_token(struct smarm__actor *self)
{
	return self ? (uintptr_t)self : smarm__foreign_token();
}

/* mutex.c, for cond.c: release a mutex the caller (token me) owns, at its
 * full recursion depth (stored in *depth): -EPERM if not the owner.  And
 * take it back, waiting without limit, at that depth.  The first never
 * switches; the second may. */
bool smarm__mutex_held(smarm_mutex_t *m, uintptr_t me);
int smarm__mutex_release(smarm_mutex_t *m, uintptr_t me, uint32_t *depth);
void smarm__mutex_reacquire(smarm_mutex_t *m, struct smarm__actor *self, uintptr_t me,
			    uint32_t depth);

#endif
