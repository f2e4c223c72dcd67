/* Threads that synchronise with raw futex(2) calls instead of pthread
 * calls, as Rust's std does: each wait blocks its OS thread in the kernel,
 * which no wrapper sees.  Two parts: four waiters on one word released by
 * a late waker, then a ping-pong of 2,000 turns between two threads. */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TURNS 2000

static _Atomic uint32_t gate, turn, woken;

static void fwait(_Atomic uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fwake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *waiter(void *arg)
{
	(void)arg;
	while (atomic_load(&gate) == 0)
		fwait(&gate, 0);
	atomic_fetch_add(&woken, 1);
	return NULL;
}

static void *opener(void *arg)
{
	(void)arg;
	usleep(20000);
	atomic_store(&gate, 1);
	fwake(&gate);
	return NULL;
}

/* Player p moves when turn % 2 == p. */
static void *player(void *arg)
{
	uint32_t p = (uint32_t)(uintptr_t)arg, t;
	long moves = 0;

	for (;;) {
		t = atomic_load(&turn);
		if (t >= TURNS)
			break;
		if (t % 2 != p) {
			fwait(&turn, t);
			continue;
		}
		atomic_store(&turn, t + 1);
		fwake(&turn);
		moves++;
	}
	return (void *)moves;
}

int main(void)
{
	pthread_t w[4], o, a, b;
	void *ma, *mb;

	for (int i = 0; i < 4; i++)
		pthread_create(&w[i], NULL, waiter, NULL);
	pthread_create(&o, NULL, opener, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	pthread_join(o, NULL);
	printf("waiters woken: %u\n", atomic_load(&woken));

	pthread_create(&a, NULL, player, (void *)0);
	pthread_create(&b, NULL, player, (void *)1);
	pthread_join(a, &ma);
	pthread_join(b, &mb);
	printf("turns: %u, moves %ld + %ld\n", atomic_load(&turn), (long)ma, (long)mb);
	return 0;
}
