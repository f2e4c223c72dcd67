/* rwlock.c — smarm_rwlock_t: a readers-writer lock, fair by default (one
 * FIFO queue: writers never starve, and neither do readers), optionally
 * reader-preferring (glibc's default).
 *
 * Owns: the layout behind smarm_rwlock_t (struct rwlock below).
 *
 * `state` packs WRITER (held for writing), QUEUED (the wait queue may be
 * non-empty) and the reader count.  Fast paths are one CAS: a reader adds 1
 * while neither WRITER nor (fair mode) QUEUED is set; a writer swings 0 to
 * WRITER.  Everything else happens under `lock`, where grant() hands the
 * lock to the head of the queue whenever it can: one writer, or (fair) the
 * run of readers at the head, or (reader-preferring) every queued reader.
 * A waiter is woken already holding what it asked for.
 *
 * Invariants:
 *   - QUEUED is set and cleared only under lock, and is set whenever the
 *     queue is non-empty.  Fair mode: while it is set, no fast path admits
 *     anybody, so the queue's order is the order of admission.
 *   - WRITER set => reader count 0; writer holds the owner's token.
 *   - grant() runs after every release that may admit someone (last reader
 *     out with QUEUED, writer out with QUEUED) and after a waiter gives up
 *     (a writer leaving the head may let the readers behind it in).
 *
 * Lock order: rwlock lock -> scheduler locks.
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

#define WRITER (1u << 31)
#define QUEUED (1u << 30)
#define READERS (QUEUED - 1)

struct rwlock {
	_Atomic uint32_t state;          /* WRITER | QUEUED | readers */
	smarm__lock_t lock;              /* guards waiters */
	struct smarm__wnode *waiters;    /* [lock] FIFO; arg: 0 reader, token writer */
	_Atomic uintptr_t writer;        /* [writer, or grant] token of the writer */
	_Atomic smarm_pid_t writer_pid;  /* [writer, or grant] for reports */
	uint32_t flags;                  /* [init] SMARM_RWLOCK_PREFER_READER */
	uint32_t pad;
};
_Static_assert(sizeof(struct rwlock) <= sizeof(smarm_rwlock_t), "smarm_rwlock_t too small");
_Static_assert(_Alignof(struct rwlock) <= _Alignof(smarm_rwlock_t), "smarm_rwlock_t align");

#define RW(p) ((struct rwlock *)(p))

/* Never switches. */
static inline bool prefer_reader(const struct rwlock *rw)
{
	return rw->flags & SMARM_RWLOCK_PREFER_READER;
}

/* Could a new reader get in, given state s?  Never switches. */
static inline bool reader_may_enter(const struct rwlock *rw, uint32_t s)
{
	return !(s & WRITER) && (prefer_reader(rw) || !(s & QUEUED));
}

/* Admit whoever at the head of the queue can go now.  lock held.
 * Never switches. */
static void grant(struct rwlock *rw)
{
	struct smarm__wnode *n, *next;
	uint32_t s;

	if (prefer_reader(rw) && rw->waiters &&
	    !(atomic_load_explicit(&rw->state, memory_order_relaxed) & WRITER)) {
		/* Every queued reader, wherever it stands. */
		n = rw->waiters;
		do {
			next = n->next == rw->waiters ? NULL : n->next;
			if (!n->arg) {
				smarm__wq_remove(&rw->waiters, n);
				if (smarm__wq_claim(n->w)) {
					atomic_fetch_add_explicit(&rw->state, 1,
								  memory_order_acquire);
					smarm__wq_wake(n->w, 0, 0);
				}
			}
		} while ((n = next) && rw->waiters);
	}
	while ((n = rw->waiters)) {
		s = atomic_load_explicit(&rw->state, memory_order_relaxed);
		if (n->arg) {
			/* A writer: only into a lock nobody holds. */
			if (s & (WRITER | READERS))
				break;
			if (!atomic_compare_exchange_weak_explicit(&rw->state, &s, s | WRITER,
								   memory_order_acquire,
								   memory_order_relaxed))
				continue;
			smarm__wq_remove(&rw->waiters, n);
			if (!smarm__wq_claim(n->w)) {
				atomic_fetch_and_explicit(&rw->state, ~WRITER,
							  memory_order_release);
				continue;
			}
			atomic_store_explicit(&rw->writer, n->arg, memory_order_relaxed);
			atomic_store_explicit(&rw->writer_pid,
					      n->w->actor ? n->w->actor->pid : 0,
					      memory_order_relaxed);
			smarm__wq_wake(n->w, 0, 0);
			break;
		}
		/* A reader at the head: in unless a writer holds the lock. */
		if (s & WRITER)
			break;
		smarm__wq_remove(&rw->waiters, n);
		if (!smarm__wq_claim(n->w))
			continue;
		atomic_fetch_add_explicit(&rw->state, 1, memory_order_acquire);
		smarm__wq_wake(n->w, 0, 0);
	}
	if (!rw->waiters)
		atomic_fetch_and_explicit(&rw->state, ~QUEUED, memory_order_relaxed);
}

/* Never switches. */
int smarm_rwlock_init(smarm_rwlock_t *p, unsigned flags)
{
	if (!p || (flags & ~SMARM_RWLOCK_PREFER_READER))
		return -EINVAL;
	memset(p, 0, sizeof *p);
	RW(p)->flags = flags;
	return 0;
}

/* Never switches. */
int smarm_rwlock_fini(smarm_rwlock_t *p)
{
	struct rwlock *rw = RW(p);
	int r = 0;

	if (!p)
		return -EINVAL;
	smarm__lock(&rw->lock);
	if (atomic_load_explicit(&rw->state, memory_order_relaxed) || rw->waiters)
		r = -EBUSY;
	smarm__unlock(&rw->lock);
	return r;
}

/* The common slow path of rdlock and wrlock.  May switch. */
static int lock_slow(struct rwlock *rw, bool write, int64_t timeout)
{
	struct smarm__actor *self = smarm__self();
	uintptr_t me = smarm__sync_token(self);
	struct smarm__wait w;
	struct smarm__wnode n;
	uint32_t s;
	int r;

	if (atomic_load_explicit(&rw->writer, memory_order_relaxed) == me &&
	    (atomic_load_explicit(&rw->state, memory_order_relaxed) & WRITER))
		return -EDEADLK;
	if (timeout == 0)
		return -ETIMEDOUT;
	smarm__lock(&rw->lock);
	for (;;) {
		s = atomic_load_explicit(&rw->state, memory_order_relaxed);
		if (write ? s == 0 : reader_may_enter(rw, s)) {
			if (!write && (s & READERS) == READERS) {
				smarm__unlock(&rw->lock);
				return -EAGAIN;
			}
			if (atomic_compare_exchange_weak_explicit(
				    &rw->state, &s, write ? WRITER : s + 1,
				    memory_order_acquire, memory_order_relaxed)) {
				smarm__unlock(&rw->lock);
				goto got;
			}
			continue;
		}
		if ((s & QUEUED) ||
		    atomic_compare_exchange_weak_explicit(&rw->state, &s, s | QUEUED,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	smarm__wq_init(&w, self);
	smarm__wq_node(&n, &w, NULL, write ? me : 0, 0);
	smarm__wq_prepare(&w, write ? "rwlock write" : "rwlock read", rw);
	smarm__wq_push(&rw->waiters, &n);
	smarm__unlock(&rw->lock);

	r = smarm__wq_park(&w, smarm__deadline(timeout));
	if (r == SMARM__WQ_DONE)
		return 0;
	smarm__lock(&rw->lock);
	if (r < 0) {
		if (smarm__wq_queued(&n))
			smarm__wq_remove(&rw->waiters, &n);
		grant(rw);
	}
	smarm__unlock(&rw->lock);
	return r < 0 ? r : 0;
got:
	if (write) {
		atomic_store_explicit(&rw->writer, me, memory_order_relaxed);
		atomic_store_explicit(&rw->writer_pid, self ? self->pid : 0,
				      memory_order_relaxed);
	}
	return 0;
}

/* One CAS when uncontended; false: take the slow path.  Never switches. */
static inline bool try_read(struct rwlock *rw, int *err)
{
	uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);

	while (reader_may_enter(rw, s)) {
		if ((s & READERS) == READERS) {
			*err = -EAGAIN;
			return true;
		}
		if (atomic_compare_exchange_weak_explicit(&rw->state, &s, s + 1,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			*err = 0;
			return true;
		}
	}
	return false;
}

/* Never switches. */
static inline bool try_write(struct rwlock *rw)
{
	uint32_t z = 0;

	if (!atomic_compare_exchange_strong_explicit(&rw->state, &z, WRITER,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	struct smarm__actor *self = smarm__self();
	atomic_store_explicit(&rw->writer, smarm__sync_token(self), memory_order_relaxed);
	atomic_store_explicit(&rw->writer_pid, self ? self->pid : 0, memory_order_relaxed);
	return true;
}

/* May switch. */
int smarm_rwlock_rdlock(smarm_rwlock_t *p, int64_t timeout)
{
	int r;

	if (!p)
		return -EINVAL;
	if (try_read(RW(p), &r))
		return r;
	return lock_slow(RW(p), false, timeout);
}

/* May switch. */
int smarm_rwlock_wrlock(smarm_rwlock_t *p, int64_t timeout)
{
	if (!p)
		return -EINVAL;
	if (try_write(RW(p)))
		return 0;
	return lock_slow(RW(p), true, timeout);
}

/* Never switches. */
int smarm_rwlock_tryrdlock(smarm_rwlock_t *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (try_read(RW(p), &r))
		return r;
	r = lock_slow(RW(p), false, 0);
	return r == -ETIMEDOUT ? -EBUSY : r;
}

/* Never switches. */
int smarm_rwlock_trywrlock(smarm_rwlock_t *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (try_write(RW(p)))
		return 0;
	r = lock_slow(RW(p), true, 0);
	return r == -ETIMEDOUT ? -EBUSY : r;
}

/* Never switches. */
int smarm_rwlock_unlock(smarm_rwlock_t *p)
{
	struct rwlock *rw = RW(p);
	uint32_t s;

	if (!p)
		return -EINVAL;
	s = atomic_load_explicit(&rw->state, memory_order_relaxed);
	if (s & WRITER) {
		if (atomic_load_explicit(&rw->writer, memory_order_relaxed) !=
		    smarm__sync_token(smarm__self()))
			return -EPERM;
		atomic_store_explicit(&rw->writer, 0, memory_order_relaxed);
		atomic_store_explicit(&rw->writer_pid, 0, memory_order_relaxed);
		s = WRITER;
		if (atomic_compare_exchange_strong_explicit(&rw->state, &s, 0,
							    memory_order_release,
							    memory_order_relaxed))
			return 0;
		smarm__lock(&rw->lock);
		atomic_fetch_and_explicit(&rw->state, ~WRITER, memory_order_release);
		grant(rw);
		smarm__unlock(&rw->lock);
		return 0;
	}
	do {
		if (!(s & READERS))
			return -EPERM;
	} while (!atomic_compare_exchange_weak_explicit(&rw->state, &s, s - 1,
							memory_order_release,
							memory_order_relaxed));
	s -= 1;
	if (!(s & READERS) && (s & QUEUED)) {
		smarm__lock(&rw->lock);
		grant(rw);
		smarm__unlock(&rw->lock);
	}
	return 0;
}
