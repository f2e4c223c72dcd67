/* timer.c — one-shot timers on CLOCK_MONOTONIC: a binary min-heap.
 *
 * One heap for the process, under one lock.  A timer is embedded in its
 * owner (an actor's park deadline, a channel's ...), so adding never
 * allocates except to grow the heap's array.  t->idx is the timer's heap
 * position + 1 while pending and 0 otherwise; it is written only under
 * `lock`.
 *
 * fn runs with the lock held: once smarm__timer_del returns, fn is neither
 * running nor going to run, which is what lets an actor delete its park
 * timer and move on without a use-after-return.  fn must not add or delete
 * timers (it would self-deadlock); waking an actor is what it is for.
 *
 * `next` mirrors the root's deadline so carriers can test "anything due?"
 * with one relaxed load and no lock.
 *
 * Lock order: timer lock -> run-queue and idle locks (fn wakes actors).
 */
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

static smarm__lock_t lock = SMARM__LOCK_INIT;
static struct smarm__timer **heap;
static uint32_t len, cap;
static _Atomic int64_t next = INT64_MAX;

static void place(struct smarm__timer *t, uint32_t i)
{
	heap[i] = t;
	t->idx = i + 1;
}

static void sift_up(uint32_t i)
{
	struct smarm__timer *t = heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (heap[p]->when <= t->when)
			break;
		place(heap[p], i);
		i = p;
	}
	place(t, i);
}

static void sift_down(uint32_t i)
{
	struct smarm__timer *t = heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && heap[c + 1]->when < heap[c]->when)
			c++;
		if (t->when <= heap[c]->when)
			break;
		place(heap[c], i);
		i = c;
	}
	place(t, i);
}

static void remove_at(uint32_t i)
{
	heap[i]->idx = 0;
	len--;
	if (i == len)
		return;
	place(heap[len], i);
	if (i > 0 && heap[i]->when < heap[(i - 1) / 2]->when)
		sift_up(i);
	else
		sift_down(i);
}

static void publish_next(void)
{
	atomic_store_explicit(&next, len ? heap[0]->when : INT64_MAX,
			      memory_order_release);
}

int smarm__timer_add(struct smarm__timer *t, int64_t when,
		     void (*fn)(struct smarm__timer *))
{
	bool earliest;

	smarm_assert(t->idx == 0);
	smarm__lock(&lock);
	if (len == cap) {
		uint32_t ncap = cap ? cap * 2 : 256;
		void *p = realloc(heap, ncap * sizeof *heap);
		if (!p) {
			smarm__unlock(&lock);
			return -ENOMEM;
		}
		heap = p;
		cap = ncap;
	}
	t->when = when;
	t->fn = fn;
	place(t, len++);
	sift_up(len - 1);
	earliest = heap[0] == t;
	if (earliest)
		publish_next();
	smarm__unlock(&lock);
	if (earliest)
		smarm__timer_poke(when);
	return 0;
}

bool smarm__timer_del(struct smarm__timer *t)
{
	bool pending;

	smarm__lock(&lock);
	pending = t->idx != 0;
	if (pending) {
		remove_at(t->idx - 1);
		publish_next();
	}
	smarm__unlock(&lock);
	return pending;
}

int64_t smarm__timer_next(void)
{
	return atomic_load_explicit(&next, memory_order_acquire);
}

int smarm__timer_run(int64_t now)
{
	int n = 0;

	if (smarm__timer_next() > now)
		return 0;
	/* Another carrier running timers is as good as us running them. */
	if (!smarm__trylock(&lock))
		return 0;
	while (len && heap[0]->when <= now) {
		struct smarm__timer *t = heap[0];
		remove_at(0);
		t->fn(t);
		n++;
	}
	publish_next();
	smarm__unlock(&lock);
	return n;
}

void smarm__timer_fini(void)
{
	smarm__lock(&lock);
	free(heap);
	heap = NULL;
	len = cap = 0;
	publish_next();
	smarm__unlock(&lock);
}
