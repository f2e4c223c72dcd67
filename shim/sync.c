/* sync.c — pthread mutexes, condition variables and once over the
 * runtime's primitives, which are laid out to fit inside the glibc objects
 * (smarm_mutex_t in pthread_mutex_t, ...), so PTHREAD_*_INITIALIZER (all
 * zero bytes) is a valid unlocked smarm object and nothing is allocated.
 *
 * Mutex kinds: the pthread kind is kept in the runtime mutex's tag bits
 * (SMARM__MUTEX_TAG).  Recursive is the runtime's recursive flavour;
 * errorcheck is the runtime's default (relock by the owner: EDEADLK;
 * unlock by another thread: EPERM); normal (the default) and adaptive
 * deadlock when their owner locks them again, as natively: the green
 * thread parks for good (or until a timedlock's deadline: ETIMEDOUT),
 * visible as such in a dump.  An unlock by a thread that does not own a
 * normal mutex returns EPERM (natively undefined: glibc unlocks it).
 * glibc's static initialisers for the other kinds
 * (PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, ..._ERRORCHECK_..., ..._ADAPTIVE_...)
 * leave the kind in __kind, where the runtime keeps its queue pointer: the
 * first call on such a mutex adopts it (mx() below).
 *
 * Cancellation points (cancel.c): the cond waits and sem_wait's family.
 * A cond wait cut short by a cancel takes the mutex back (the handlers run
 * with it held, as POSIX says) and passes on a signal it may have
 * consumed (a spurious wake-up for another waiter, which POSIX allows).
 *
 * Readers-writer locks, barriers and unnamed semaphores map the same way
 * (their comments below say where the semantics differ).
 *
 * Condition variables keep their clock (pthread_condattr_setclock) in the
 * bytes of pthread_cond_t that smarm_cond_t leaves unused.
 *
 * Every call converts the runtime's -EXXX into the positive code pthread
 * returns; none touches errno (the sem_* calls set it, as POSIX says).
 *
 * Switching: the lock and wait calls (mutex_lock/timedlock/clocklock,
 * cond_wait/timedwait/clockwait, once, rwlock rd/wrlock and their timed
 * forms, barrier_wait, sem_wait/timedwait/clockwait, a contended
 * spin_lock) may switch; init, destroy, trylock, unlock, signal,
 * broadcast, post and getvalue never switch.
 */
#include <semaphore.h>
#include <string.h>

#include "shim.h"

_Static_assert(sizeof(smarm_mutex_t) <= sizeof(pthread_mutex_t), "mutex size");
_Static_assert(sizeof(smarm_cond_t) + sizeof(int) <= sizeof(pthread_cond_t), "cond size");
_Static_assert(sizeof(smarm_once_t) == sizeof(pthread_once_t), "once size");

#define MX(m) ((smarm_mutex_t *)(m))
#define TAG(kind) ((unsigned)(kind) << SMARM__MUTEX_TAG_SHIFT)

static unsigned kind_flags(int kind)
{
	return (kind == PTHREAD_MUTEX_RECURSIVE ? SMARM_MUTEX_RECURSIVE : 0) | TAG(kind);
}

/* The runtime mutex inside m, adopting a static initialiser's kind first
 * (a queue pointer is 8-aligned: its low word is never a kind 1..3).
 * Never switches. */
static inline smarm_mutex_t *mx(pthread_mutex_t *m)
{
	int k = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);

	if (unlikely(k >= PTHREAD_MUTEX_RECURSIVE && k <= PTHREAD_MUTEX_ADAPTIVE_NP))
		smarm__mutex_adopt(MX(m), (uintptr_t)k, kind_flags(k));
	return MX(m);
}

/* The owner locked a mutex again: an errorcheck mutex says so; any other
 * kind deadlocks, as natively, until the timeout (relative ns) if any.
 * May switch. */
static int relocked(pthread_mutex_t *m, int64_t timeout)
{
	struct smarm__actor *self = smarm__self();
	int64_t deadline = smarm__deadline(timeout);

	if (smarm__mutex_tag(MX(m)) == PTHREAD_MUTEX_ERRORCHECK || !self ||
	    !smarm__shim_in_green())
		return EDEADLK;
	for (;;) {
		smarm__wait_prepare(self, "pthread_mutex_lock by its owner (deadlock)", m);
		if (smarm__park(deadline) == -ETIMEDOUT)
			return ETIMEDOUT;
	}
}
#define CV(c) ((smarm_cond_t *)(c))
/* The clock of a condition variable: the last int of pthread_cond_t. */
#define CV_CLOCK(c) (((int *)(c))[sizeof(pthread_cond_t) / sizeof(int) - 1])

/* ---- mutex ---- */

SMARM_API int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	int type = PTHREAD_MUTEX_DEFAULT, v;

	if (attr) {
		if (pthread_mutexattr_gettype(attr, &type) != 0)
			return EINVAL;
		if (pthread_mutexattr_getpshared(attr, &v) == 0 &&
		    v == PTHREAD_PROCESS_SHARED)
			smarm__shim_unsupported("pthread_mutex_init (process-shared)");
		if (pthread_mutexattr_getrobust(attr, &v) == 0 && v == PTHREAD_MUTEX_ROBUST)
			smarm__shim_unsupported("pthread_mutex_init (robust)");
		if (pthread_mutexattr_getprotocol(attr, &v) == 0 &&
		    v == PTHREAD_PRIO_PROTECT)
			smarm__shim_unsupported("pthread_mutex_init (PTHREAD_PRIO_PROTECT)");
	}
	if (type < PTHREAD_MUTEX_NORMAL || type > PTHREAD_MUTEX_ADAPTIVE_NP)
		return EINVAL;
	memset(m, 0, sizeof *m);
	return -smarm_mutex_init(MX(m), kind_flags(type));
}

SMARM_API int pthread_mutex_destroy(pthread_mutex_t *m)
{
	return -smarm_mutex_fini(mx(m));
}

SMARM_API int pthread_mutex_lock(pthread_mutex_t *m)
{
	int r = smarm_mutex_lock(mx(m), SMARM_FOREVER);
	return r == -EDEADLK ? relocked(m, SMARM_FOREVER) : -r;
}

SMARM_API int pthread_mutex_trylock(pthread_mutex_t *m)
{
	return -smarm_mutex_trylock(mx(m));
}

SMARM_API int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
				      const struct timespec *abstime)
{
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
		return EINVAL;
	if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000)
		return EINVAL;

	int64_t ns = smarm__shim_rel_ns(clk, abstime);
	int r = smarm_mutex_lock(mx(m), ns);
	return r == -EDEADLK ? relocked(m, ns) : -r;
}

SMARM_API int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	return pthread_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

SMARM_API int pthread_mutex_unlock(pthread_mutex_t *m)
{
	return -smarm_mutex_unlock(mx(m));
}

/* Only PTHREAD_PRIO_PROTECT mutexes have a priority ceiling, and those
 * are refused at init: every other mutex gets glibc's answer, EINVAL. */
SMARM_API int pthread_mutex_getprioceiling(const pthread_mutex_t *m, int *p)
{
	(void)m, (void)p;
	return EINVAL;
}

SMARM_API int pthread_mutex_setprioceiling(pthread_mutex_t *m, int p, int *old)
{
	(void)m, (void)p, (void)old;
	return EINVAL;
}

/* ---- condition variables ---- */

SMARM_API int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
	clockid_t clk = CLOCK_REALTIME;
	int v;

	if (attr) {
		if (pthread_condattr_getclock(attr, &clk) != 0)
			return EINVAL;
		if (pthread_condattr_getpshared(attr, &v) == 0 && v == PTHREAD_PROCESS_SHARED)
			smarm__shim_unsupported("pthread_cond_init (process-shared)");
	}
	memset(c, 0, sizeof *c);
	CV_CLOCK(c) = (int)clk;
	return -smarm_cond_init(CV(c));
}

SMARM_API int pthread_cond_destroy(pthread_cond_t *c)
{
	return -smarm_cond_fini(CV(c));
}

/* A cancellation point.  May switch. */
static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t timeout)
{
	bool cp = smarm__shim_cancel_begin();
	int r = smarm_cond_wait(CV(c), mx(m), timeout);

	smarm__shim_cancel_end(cp);
	if (cp && smarm__shim_cancel_pending()) {
		smarm_cond_signal(CV(c));
		smarm__shim_testcancel();
	}
	return -r;
}

SMARM_API int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_wait(c, m, SMARM_FOREVER);
}

SMARM_API int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *abstime)
{
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
		return EINVAL;
	if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000)
		return EINVAL;
	return cond_wait(c, m, smarm__shim_rel_ns(clk, abstime));
}

SMARM_API int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abstime)
{
	return pthread_cond_clockwait(c, m, (clockid_t)CV_CLOCK(c), abstime);
}

SMARM_API int pthread_cond_signal(pthread_cond_t *c)
{
	return -smarm_cond_signal(CV(c));
}

SMARM_API int pthread_cond_broadcast(pthread_cond_t *c)
{
	return -smarm_cond_broadcast(CV(c));
}

/* ---- once ---- */

static void once_call(void *fn)
{
	((void (*)(void))fn)();
}

SMARM_API int pthread_once(pthread_once_t *o, void (*fn)(void))
{
	return -smarm_once((smarm_once_t *)o, once_call, (void *)fn);
}

/* ---- readers-writer locks ----
 * glibc's default kind prefers readers; so does the shim whenever the
 * kind is not PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (which maps to
 * the runtime's fair FIFO lock).  A lock from PTHREAD_RWLOCK_INITIALIZER
 * (zero bytes, never init'ed) is the runtime's fair lock: a thread taking
 * a read lock again while a writer waits would wait behind it. */
_Static_assert(sizeof(smarm_rwlock_t) <= sizeof(pthread_rwlock_t), "rwlock size");
#define RW(l) ((smarm_rwlock_t *)(l))

SMARM_API int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
	int kind = PTHREAD_RWLOCK_PREFER_READER_NP, v;

	if (attr) {
		pthread_rwlockattr_getkind_np(attr, &kind);
		if (pthread_rwlockattr_getpshared(attr, &v) == 0 && v == PTHREAD_PROCESS_SHARED)
			smarm__shim_unsupported("pthread_rwlock_init (process-shared)");
	}
	memset(l, 0, sizeof *l);
	return -smarm_rwlock_init(RW(l), kind == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
						 ? 0 : SMARM_RWLOCK_PREFER_READER);
}

SMARM_API int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	return -smarm_rwlock_fini(RW(l));
}

SMARM_API int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	return -smarm_rwlock_rdlock(RW(l), SMARM_FOREVER);
}

SMARM_API int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	return -smarm_rwlock_wrlock(RW(l), SMARM_FOREVER);
}

SMARM_API int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	return -smarm_rwlock_tryrdlock(RW(l));
}

SMARM_API int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	return -smarm_rwlock_trywrlock(RW(l));
}

SMARM_API int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abstime)
{
	if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || abstime->tv_nsec < 0 ||
	    abstime->tv_nsec >= 1000000000)
		return EINVAL;
	return -smarm_rwlock_rdlock(RW(l), smarm__shim_rel_ns(clk, abstime));
}

SMARM_API int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abstime)
{
	if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || abstime->tv_nsec < 0 ||
	    abstime->tv_nsec >= 1000000000)
		return EINVAL;
	return -smarm_rwlock_wrlock(RW(l), smarm__shim_rel_ns(clk, abstime));
}

SMARM_API int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	return pthread_rwlock_clockrdlock(l, CLOCK_REALTIME, abstime);
}

SMARM_API int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	return pthread_rwlock_clockwrlock(l, CLOCK_REALTIME, abstime);
}

SMARM_API int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	return -smarm_rwlock_unlock(RW(l));
}

/* ---- barriers ---- */
_Static_assert(sizeof(smarm_barrier_t) <= sizeof(pthread_barrier_t), "barrier size");
#define BA(b) ((smarm_barrier_t *)(b))

SMARM_API int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
				   unsigned count)
{
	int v;

	if (attr && pthread_barrierattr_getpshared(attr, &v) == 0 && v == PTHREAD_PROCESS_SHARED)
		smarm__shim_unsupported("pthread_barrier_init (process-shared)");
	memset(b, 0, sizeof *b);
	return -smarm_barrier_init(BA(b), count);
}

SMARM_API int pthread_barrier_destroy(pthread_barrier_t *b)
{
	return -smarm_barrier_fini(BA(b));
}

SMARM_API int pthread_barrier_wait(pthread_barrier_t *b)
{
	int r = smarm_barrier_wait(BA(b));

	if (r < 0)
		return -r;
	return r == SMARM_BARRIER_SERIAL ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

/* ---- unnamed semaphores (errno convention: -1 and errno) ---- */
_Static_assert(sizeof(smarm_sem_t) <= sizeof(sem_t), "sem size");
#define SE(s) ((smarm_sem_t *)(s))

static int sem_ret(int r)
{
	if (r >= 0)
		return 0;
	errno = -r;
	return -1;
}

SMARM_API int sem_init(sem_t *s, int pshared, unsigned value)
{
	if (pshared)
		smarm__shim_unsupported("sem_init (process-shared)");
	memset(s, 0, sizeof *s);
	return sem_ret(smarm_sem_init(SE(s), value));
}

SMARM_API int sem_destroy(sem_t *s)
{
	return sem_ret(smarm_sem_fini(SE(s)));
}

/* A cancellation point.  May switch. */
static int sem_park(sem_t *s, int64_t timeout)
{
	bool cp = smarm__shim_cancel_begin();
	int r = smarm_sem_wait(SE(s), timeout);

	smarm__shim_cancel_end(cp);
	if (r == -ECANCELED)
		smarm__shim_testcancel();
	return sem_ret(r == -ECANCELED ? -EINTR : r);
}

SMARM_API int sem_wait(sem_t *s)
{
	return sem_park(s, SMARM_FOREVER);
}

SMARM_API int sem_trywait(sem_t *s)
{
	return sem_ret(smarm_sem_trywait(SE(s)));
}

SMARM_API int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abstime)
{
	if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || abstime->tv_nsec < 0 ||
	    abstime->tv_nsec >= 1000000000)
		return sem_ret(-EINVAL);
	return sem_park(s, smarm__shim_rel_ns(clk, abstime));
}

SMARM_API int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	return sem_clockwait(s, CLOCK_REALTIME, abstime);
}

SMARM_API int sem_post(sem_t *s)
{
	return sem_ret(smarm_sem_post(SE(s)));
}

SMARM_API int sem_getvalue(sem_t *s, int *v)
{
	*v = (int)smarm_sem_value(SE(s));
	return 0;
}

/* ---- spin locks ----
 * A green thread that spins would hold its carrier while the holder may be
 * parked behind it on the same carrier: a contended spin lock yields
 * between attempts instead (still correct, and cheap when the holder runs
 * on another carrier). */
_Static_assert(sizeof(_Atomic int) == sizeof(pthread_spinlock_t), "spinlock size");
#define SP(s) ((_Atomic int *)(s))

SMARM_API int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
	(void)pshared; /* a word in shared memory works across processes too */
	atomic_store(SP(s), 0);
	return 0;
}

SMARM_API int pthread_spin_destroy(pthread_spinlock_t *s)
{
	(void)s;
	return 0;
}

SMARM_API int pthread_spin_trylock(pthread_spinlock_t *s)
{
	int z = 0;
	return atomic_compare_exchange_strong_explicit(SP(s), &z, 1, memory_order_acquire,
						       memory_order_relaxed) ? 0 : EBUSY;
}

SMARM_API int pthread_spin_lock(pthread_spinlock_t *s)
{
	for (int i = 0; pthread_spin_trylock(s) != 0; i++) {
		if (i < 64)
			__builtin_ia32_pause();
		else if (smarm__shim_in_green())
			smarm_yield();
		else
			smarm__real_sched_yield();
	}
	return 0;
}

SMARM_API int pthread_spin_unlock(pthread_spinlock_t *s)
{
	atomic_store_explicit(SP(s), 0, memory_order_release);
	return 0;
}
