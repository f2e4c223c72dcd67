/* lock.c — the runtime's own short critical sections, and futex helpers.
 *
 * smarm__lock_t guards a few dozen instructions (a queue splice, a slot
 * update) and is never held across a context switch, so contention is rare
 * and short: spin a little, then sleep on the word (Drepper's three-state
 * mutex: 0 free, 1 locked, 2 locked and someone may sleep).
 *
 * The futex calls go through smarm__sys (never errno, and strict mode's
 * filter lets them through: an idle carrier sleeps here).
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SPINS 100

int smarm__futex_wait(_Atomic uint32_t *w, uint32_t expect, int64_t timeout)
{
	struct timespec ts, *tp = NULL;

	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000000000;
		ts.tv_nsec = timeout % 1000000000;
		tp = &ts;
	}
	long r = smarm__sys(SYS_futex, (long)w, FUTEX_WAIT_PRIVATE, expect, (long)tp, 0, 0);

	return r < 0 ? (int)r : 0;
}

void smarm__futex_wake(_Atomic uint32_t *w, int n)
{
	smarm__sys(SYS_futex, (long)w, FUTEX_WAKE_PRIVATE, n, 0, 0, 0);
}

void smarm__lock_slow(smarm__lock_t *l)
{
	for (int i = 0; i < SPINS; i++) {
		uint32_t z = 0;
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&l->v, &z, 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		__builtin_ia32_pause();
	}
	/* From here on we may sleep, so the word must say so (2): whoever
	 * unlocks then knows to wake us.  A carrier asleep here waits for
	 * another carrier's few instructions, not for the outside world:
	 * handoff.c must not take it for stuck (a spare would only add a
	 * thread contending for the same lock). */
	struct smarm__carrier *c = smarm__tls_carrier;
	if (c)
		atomic_fetch_add_explicit(&c->lock_sleeps, 1, memory_order_relaxed);
	while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0) {
		int e = errno;
		smarm__futex_wait(&l->v, 2, -1);
		errno = e;
	}
	if (c)
		atomic_fetch_sub_explicit(&c->lock_sleeps, 1, memory_order_relaxed);
}

void smarm__unlock_slow(smarm__lock_t *l)
{
	int e = errno;
	smarm__futex_wake(&l->v, 1);
	errno = e;
}
