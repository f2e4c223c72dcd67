/* sched.c — carriers, run queues, park/wake, and the idle path.
 *
 * Model (Go's G/M/P with the P folded into the carrier): N carrier OS
 * threads each own a run queue; an actor runs on whichever carrier picked it
 * and may resume on another after it parks.
 *
 * Where a runnable actor waits:
 *   - c->runnext: the actor most recently readied by carrier c; it runs
 *     next on c, so a message ping-pong stays on one carrier and in cache.
 *   - c->ring: a bounded ring.  Only the owner pushes (tail); the owner and
 *     thieves take from the head with a CAS.  A full ring sends newcomers to
 *     the global queue, and the global queue refills a ring at its tail, so
 *     actors run in the order they became runnable (runnext aside).
 *   - the global queue (rt.gq_*), under gq_lock: spills, and actors made
 *     ready by threads that are not carriers.  Carriers look at it every
 *     64th switch even when they have local work, so it cannot starve.
 *
 * Switching: an actor that stops running switches straight to the next
 * actor (one ctx switch), or to its carrier's idle loop when there is none.
 * An actor made runnable may still be finishing its switch-out on another
 * carrier; a->on_cpu stays 1 until the context that replaced it calls
 * finish_prev(), and whoever switches to an actor first waits for on_cpu to
 * drop (as Linux does with p->on_cpu).  So no lock is held across a switch,
 * and a waker may make an actor runnable the instant it has published
 * itself on a wait queue.  The same hand-over frees a dead actor's stack:
 * it cannot free the stack it runs on, so the next context does.
 *
 * Idle carriers: a carrier with nothing to run spins for up to SPIN_NS
 * (stealing half of another carrier's ring, taking runnext only on the
 * final check), then sleeps.  At most one sleeper is the poller: it sleeps
 * in epoll_pwait2 with the earliest timer deadline as its timeout, so timers
 * and I/O readiness (io.c) wake the runtime without a thread spinning; the
 * others sleep on their own futex word.  smarm__ready() wakes a sleeper when
 * none is spinning (Go's wakep), and a woken carrier counts as spinning until
 * it finds work or sleeps again, so a burst of wakes costs one futex call.
 *
 * I/O readiness when nobody sleeps in epoll: while any actor waits on an fd
 * (smarm__io_waiters), a carrier reaps the epoll set without blocking
 * (poll_io: epoll_wait(..., 0)) before it spins and on every pass of the
 * spin, and a busy carrier does so every GQ_EVERY switches in pick(), so a
 * runtime with every carrier busy still sees its fds.  One carrier at a time
 * polls; the poller's eventfd is left to the poller.  Pure-CPU work, with no
 * fd waiters, makes no such call.
 *
 * No lost wake-ups: a waker publishes work with a seq_cst RMW (runnext xchg
 * or gq_len add) and then reads nidle; a sleeper adds itself to nidle with a
 * seq_cst RMW and then re-reads every queue.  In the single total order one
 * of the two sees the other.
 *
 * FS (drop-in mode only, internal.h): an actor may run on a TCB of its own
 * (a->fsbase).  Every switch to or from such an actor writes FS — the
 * target's TCB, or the carrier's own (c->fsbase) for the idle loop — after
 * storing the carrier pointer into the target TCB's smarm__tls_carrier.
 * Until the first smarm__fs_enter (so always in link mode) a switch pays a
 * one-byte test for it.
 *
 * Hand-off (handoff.c): a carrier the monitor released while it was stuck
 * outside the runtime has role != RUN.  pick() then returns nothing (one
 * relaxed load per switch), a yield on it sends the actor to the global
 * queue, and find_work() hands the carrier to smarm__handoff_retire.  The
 * set of carriers grows: records below rt.nslots may hold work and are
 * what stealing walks; rt.ncarriers counts those in role RUN.
 * The idle path's own system calls (futex, epoll, the eventfd) go through
 * smarm__sys, which strict mode's filter lets through (shim/strict.c).
 *
 * Lock order: slot/primitive locks -> timer lock -> gq_lock -> idle_lock.
 * None is held across a context switch.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#define FIBER_START(save, lo, size) __sanitizer_start_switch_fiber(save, lo, size)
#define FIBER_FINISH(fake) __sanitizer_finish_switch_fiber(fake, NULL, NULL)
#else
#define FIBER_START(save, lo, size) ((void)(save), (void)(lo), (void)(size))
#define FIBER_FINISH(fake) ((void)(fake))
#endif

#define SPIN_NS 50000       /* how long an idle carrier looks for work */
#define GQ_EVERY 64         /* switches between forced global-queue checks */

struct smarm__rt smarm__rt = {
	.gq_lock = SMARM__LOCK_INIT,
	.idle_lock = SMARM__LOCK_INIT,
	.epfd = -1,
	.wakefd = -1,
	.poll_until = INT64_MAX,
};

/* Drop-in signals (internal.h).  Link mode never sets them. */
void (*smarm__sig_switch_hook)(struct smarm__carrier *c, struct smarm__actor *a);
void (*smarm__sig_event_hook)(void);
uint64_t smarm__sig_idle_mask;

/* After a switch to `a` in drop-in mode: its signal mask, pending signals. */
static inline void sig_switched_in(struct smarm__actor *a)
{
	struct smarm__carrier *c = a->carrier;

	if (unlikely(a->sigmask != c->sigmask ||
		     atomic_load_explicit(&a->sigpend, memory_order_relaxed)) &&
	    smarm__sig_switch_hook)
		smarm__sig_switch_hook(c, a);
}

/* Exported for SMARM_CHECK() (smarm.h), which reads it inline. */
SMARM_API __thread struct smarm__carrier *smarm__tls_carrier
	__attribute__((tls_model("initial-exec")));
#define tls_carrier smarm__tls_carrier

/* &errno, computed anew at each call: glibc declares __errno_location
 * const, so GCC would otherwise reuse the previous carrier's &errno after a
 * switch that migrated us. */
__attribute__((noipa)) static int *errno_here(void)
{
	return &errno;
}

/* Out of line on purpose: an actor that migrated must not reuse a TLS
 * address computed on its previous carrier. */
__attribute__((noipa)) struct smarm__carrier *smarm__carrier(void)
{
	return tls_carrier;
}

__attribute__((noipa)) struct smarm__actor *smarm__self(void)
{
	struct smarm__carrier *c = tls_carrier;
	return c ? c->current : NULL;
}

/* ---- FS base switching (drop-in mode; see internal.h) ------------------- */

static bool have_wrfsbase = true;
/* Set (for good) by the first smarm__fs_enter: until then — always, in link
 * mode — a switch tests this one byte and nothing else.  Relaxed: an actor
 * with an fsbase reaches another carrier only through a run queue, whose
 * release/acquire orders the store before that carrier's load. */
static _Atomic bool fs_mode;
#define FS_MODE() atomic_load_explicit(&fs_mode, memory_order_relaxed)
static ptrdiff_t carrier_off; /* &smarm__tls_carrier - thread pointer, set at bind */

/* Write FS.  The carrier pointer goes into the target TCB first, so a
 * signal handler that runs between the two writes finds it on either
 * side.  Never switches; touches no TLS itself. */
static __attribute__((noinline)) void fs_write(struct smarm__carrier *c, void *tcb)
{
	/* Initial-exec TLS: the variable's offset from the thread pointer is
	 * the same in every TCB; tcb is that TCB's thread pointer. */
	*(struct smarm__carrier **)((char *)tcb + carrier_off) = c;
	if (likely(have_wrfsbase))
		__asm__ volatile("wrfsbase %0" : : "r"(tcb) : "memory");
	else
		syscall(SYS_arch_prctl, ARCH_SET_FS, tcb);
}

/* Switching from `from` (may be NULL: the idle loop) to `to` (NULL: the
 * idle loop) on c, in drop-in mode.  Out of line and cold, and it also
 * saves from's errno (switch_from's job in link mode) before FS changes:
 * link mode's switch then keeps its code but for one byte test and a
 * branch, with no extra register kept across the errno call. */
static __attribute__((noinline, cold)) void fs_switch_slow(struct smarm__carrier *c,
							   struct smarm__actor *from,
							   struct smarm__actor *to)
{
	void *f = from ? from->fsbase : NULL, *t = to ? to->fsbase : NULL;

	if (from)
		from->saved_errno = *errno_here();
	if (f || t)
		fs_write(c, t ? t : c->fsbase);
}

void smarm__fs_enter(void *tcb)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *self = c->current;

	/* Before any actor runs with a TCB of its own. */
	atomic_store_explicit(&fs_mode, true, memory_order_relaxed);
	self->fsbase = tcb;
	fs_write(c, tcb ? tcb : c->fsbase);
}

/* ---- the global queue ---------------------------------------------------- */

static void gq_put_list(struct smarm__actor *head, struct smarm__actor *tail, long n)
{
	tail->next = NULL;
	smarm__lock(&smarm__rt.gq_lock);
	if (smarm__rt.gq_tail)
		smarm__rt.gq_tail->next = head;
	else
		smarm__rt.gq_head = head;
	smarm__rt.gq_tail = tail;
	smarm__unlock(&smarm__rt.gq_lock);
	atomic_fetch_add(&smarm__rt.gq_len, n); /* seq_cst: see "No lost wake-ups" */
}

static struct smarm__actor *ring_get(struct smarm__carrier *c);

static uint32_t ring_room(struct smarm__carrier *c)
{
	/* Only c pushes to its ring, so the room can only grow meanwhile. */
	return SMARM__RUNQ - (atomic_load_explicit(&c->tail, memory_order_relaxed) -
			      atomic_load_explicit(&c->head, memory_order_acquire));
}

/* Move actors from the head of the global queue to the tail of c's ring (a
 * fair share, as many as fit) and return the oldest actor c now holds, the
 * ring's head: queue order is kept across the two queues.  A full ring first
 * gives up its head to make room for one, so a ring kept full by actors
 * that yield cannot starve the global queue either. */
static struct smarm__actor *gq_get(struct smarm__carrier *c)
{
	struct smarm__actor *a, *last, *first = NULL;
	uint32_t room;
	long n, want;

	if (atomic_load_explicit(&smarm__rt.gq_len, memory_order_relaxed) == 0)
		return NULL;
	if ((room = ring_room(c)) == 0) {
		first = ring_get(c);
		room = ring_room(c);
	}
	smarm__lock(&smarm__rt.gq_lock);
	if (!(a = smarm__rt.gq_head)) {
		smarm__unlock(&smarm__rt.gq_lock);
		return first;
	}
	n = smarm__rt.ncarriers; /* 0 for a moment during a hand-off */
	want = atomic_load_explicit(&smarm__rt.gq_len, memory_order_relaxed) /
	       (n > 0 ? n : 1);
	if (want > (long)room)
		want = room;
	if (want < 1)
		want = 1;
	for (last = a, n = 1; n < want && last->next; n++)
		last = last->next;
	smarm__rt.gq_head = last->next;
	if (!smarm__rt.gq_head)
		smarm__rt.gq_tail = NULL;
	last->next = NULL;
	smarm__unlock(&smarm__rt.gq_lock);
	atomic_fetch_sub(&smarm__rt.gq_len, n);
	while (a) {
		struct smarm__actor *m = a;
		uint32_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
		a = m->next;
		atomic_store_explicit(&c->ring[t % SMARM__RUNQ], m, memory_order_relaxed);
		atomic_store_explicit(&c->tail, t + 1, memory_order_release);
	}
	return first ? first : ring_get(c);
}

/* ---- per-carrier run queues ---------------------------------------------- */

/* A full ring sends the newcomer to the global queue (not half the ring, as
 * Go does): the ring holds the oldest work and the global queue the newer,
 * so the order actors became runnable in is kept. */
static void runq_put(struct smarm__carrier *c, struct smarm__actor *a)
{
	uint32_t h = atomic_load_explicit(&c->head, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);

	if (t - h < SMARM__RUNQ) {
		atomic_store_explicit(&c->ring[t % SMARM__RUNQ], a, memory_order_relaxed);
		atomic_store_explicit(&c->tail, t + 1, memory_order_release);
		return;
	}
	a->next = NULL;
	gq_put_list(a, a, 1);
}

static struct smarm__actor *ring_get(struct smarm__carrier *c)
{
	struct smarm__actor *a;

	for (;;) {
		uint32_t h = atomic_load_explicit(&c->head, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
		if (h == t)
			return NULL;
		a = atomic_load_explicit(&c->ring[h % SMARM__RUNQ], memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&c->head, &h, h + 1,
							  memory_order_release,
							  memory_order_relaxed))
			return a;
	}
}

static struct smarm__actor *runq_get(struct smarm__carrier *c)
{
	struct smarm__actor *a = atomic_load_explicit(&c->runnext, memory_order_relaxed);

	if (a && atomic_compare_exchange_strong(&c->runnext, &a, NULL))
		return a;
	return ring_get(c);
}

static bool runq_empty(struct smarm__carrier *v)
{
	return atomic_load(&v->head) == atomic_load(&v->tail) &&
	       atomic_load(&v->runnext) == NULL;
}

/* Steal half of v's ring into c's (which is empty: only idle carriers
 * steal) and return one of them to run.  With take_runnext, an empty ring
 * gives up its runnext too. */
static struct smarm__actor *runq_steal(struct smarm__carrier *c,
				       struct smarm__carrier *v, bool take_runnext)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&v->head, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&v->tail, memory_order_acquire);
		uint32_t n = t - h;
		n -= n / 2;
		if (n == 0) {
			struct smarm__actor *a;
			if (!take_runnext)
				return NULL;
			a = atomic_load(&v->runnext);
			if (a && atomic_compare_exchange_strong(&v->runnext, &a, NULL))
				return a;
			return NULL;
		}
		if (n > SMARM__RUNQ / 2)
			continue; /* read h and t at different moments */
		uint32_t ct = atomic_load_explicit(&c->tail, memory_order_relaxed);
		for (uint32_t i = 0; i < n; i++)
			atomic_store_explicit(
				&c->ring[(ct + i) % SMARM__RUNQ],
				atomic_load_explicit(&v->ring[(h + i) % SMARM__RUNQ],
						     memory_order_relaxed),
				memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&v->head, &h, h + n,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			struct smarm__actor *a;
			n--;
			a = atomic_load_explicit(&c->ring[(ct + n) % SMARM__RUNQ],
						 memory_order_relaxed);
			if (n)
				atomic_store_explicit(&c->tail, ct + n,
						      memory_order_release);
			c->steals++;
			return a;
		}
	}
}

static struct smarm__actor *steal_any(struct smarm__carrier *c, bool take_runnext)
{
	/* Every record that may hold work (handoff.c: parked and gone ones
	 * hold none, and nslots leaves out gone ones at the top). */
	int n = atomic_load_explicit(&smarm__rt.nslots, memory_order_acquire);

	c->rand = c->rand * 1103515245u + 12345u;
	for (int i = 0, start = (c->rand >> 16) % n; i < n; i++) {
		struct smarm__carrier *v = smarm__rt.carriers[(start + i) % n];
		struct smarm__actor *a;
		if (v == c)
			continue;
		if ((a = runq_steal(c, v, take_runnext)))
			return a;
	}
	return NULL;
}

/* ---- waking carriers ------------------------------------------------------ */

static void poller_kick(void)
{
	uint64_t one = 1;
	int e = errno;
	if (smarm__sys(SYS_write, smarm__rt.wakefd, (long)&one, sizeof one, 0, 0, 0) < 0) {
		/* EAGAIN: the counter is saturated, so the poller is awake. */
	}
	errno = e;
}

/* Pop one sleeping carrier, preferring futex sleepers to the poller (which
 * also watches timers), and wake it.  The caller has already counted it in
 * nspinning.  Returns false if nobody sleeps. */
static bool wake_one(void)
{
	struct smarm__carrier *c, **pp, **pick = NULL;

	smarm__lock(&smarm__rt.idle_lock);
	for (pp = &smarm__rt.idle; (c = *pp); pp = &c->idle_next) {
		pick = pp;
		if (!c->is_poller)
			break;
	}
	if (!pick) {
		smarm__unlock(&smarm__rt.idle_lock);
		return false;
	}
	c = *pick;
	*pick = c->idle_next;
	atomic_store(&c->idle, 0);
	atomic_fetch_sub(&smarm__rt.nidle, 1);
	bool poller = c->is_poller;
	smarm__unlock(&smarm__rt.idle_lock);
	if (poller) {
		poller_kick();
	} else {
		int e = errno;
		atomic_store(&c->sleep_word, 1);
		smarm__futex_wake(&c->sleep_word, 1);
		errno = e;
	}
	return true;
}

void smarm__wakep(void)
{
	int z = 0;

	if (atomic_load(&smarm__rt.nidle) == 0 ||
	    atomic_load_explicit(&smarm__rt.nspinning, memory_order_relaxed) != 0)
		return;
	if (!atomic_compare_exchange_strong(&smarm__rt.nspinning, &z, 1))
		return;
	if (!wake_one())
		atomic_fetch_sub(&smarm__rt.nspinning, 1);
}

void smarm__timer_poke(int64_t when)
{
	if (!atomic_load(&smarm__rt.running))
		return;
	if (atomic_load(&smarm__rt.poller)) {
		if (when < atomic_load(&smarm__rt.poll_until))
			poller_kick();
	} else {
		smarm__wakep();
	}
}

void smarm__ready(struct smarm__actor *a)
{
	struct smarm__carrier *c = tls_carrier;

	if (c) {
		struct smarm__actor *old = atomic_exchange(&c->runnext, a);
		if (old)
			runq_put(c, old);
	} else {
		a->next = NULL;
		gq_put_list(a, a, 1);
	}
	smarm__wakep();
}

bool smarm__wake(struct smarm__actor *a, intptr_t v)
{
	int w = SMARM__WAITING;

	if (!atomic_compare_exchange_strong(&a->state, &w, SMARM__RUNNABLE))
		return false;
	a->wake_result = v;
	smarm__ready(a);
	return true;
}

/* ---- switching ------------------------------------------------------------ */

static inline void wait_off_cpu(struct smarm__actor *a)
{
	while (atomic_load_explicit(&a->on_cpu, memory_order_acquire))
		__builtin_ia32_pause();
}

/* Run in the context that replaced `p` on carrier c: p's registers are
 * saved now, so it may run elsewhere, or its stack may be reused. */
static void finish_prev(struct smarm__carrier *c)
{
	struct smarm__actor *p = c->prev;

	if (!p)
		return;
	c->prev = NULL;
	if (atomic_load_explicit(&p->state, memory_order_relaxed) == SMARM__DEAD)
		smarm__stack_free(p);
	else
		atomic_store_explicit(&p->on_cpu, 0, memory_order_release);
}

/* Reap I/O readiness without blocking and make the actors waiting on the
 * ready fds runnable (on c's queues, through smarm__wake).  Only while some
 * actor waits on an fd, and one carrier at a time: a second would find the
 * set just emptied.  The wake-up eventfd (data.ptr NULL) is level-triggered
 * and belongs to the sleeping poller, so it is left unread.  Returns how many
 * fds had events.  Runs on an actor's stack from pick(): keep the frame
 * small.  Never switches. */
static _Atomic int polling; /* a carrier is in poll_io (fork resets it) */

static __attribute__((noinline)) int poll_io(void)
{
	struct epoll_event ev[32];
	int n, k = 0, e;

	if (atomic_load_explicit(&smarm__io_waiters, memory_order_relaxed) == 0 ||
	    atomic_load_explicit(&polling, memory_order_relaxed) ||
	    atomic_exchange_explicit(&polling, 1, memory_order_acquire))
		return 0;
	e = errno;
	n = (int)smarm__sys(SYS_epoll_wait, smarm__rt.epfd, (long)ev, 32, 0, 0, 0);
	errno = e;
	atomic_store_explicit(&polling, 0, memory_order_release);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr) {
			smarm__io_ready(ev[i].data.ptr, ev[i].events);
			k++;
		}
	}
	return k;
}

/* The next actor for carrier c, without blocking; NULL if none. */
static struct smarm__actor *pick(struct smarm__carrier *c)
{
	struct smarm__actor *a;

	/* Released by the monitor while stuck (handoff.c): a spare has its
	 * place, so it takes no more work; its idle loop retires it. */
	if (unlikely(atomic_load_explicit(&c->role, memory_order_relaxed) != SMARM__ROLE_RUN))
		return NULL;
	if (unlikely(++c->tick % GQ_EVERY == 0)) {
		/* Fairness: a pair handing runnext back and forth must not starve
		 * the ring, the global queue or the timers. */
		c->stats.clock = smarm__coarse_now(); /* for park times */
		if (smarm__timer_next() != INT64_MAX)
			smarm__timer_run(smarm__now());
		/* ... nor fds that became ready while every carrier is busy. */
		poll_io();
		if ((a = gq_get(c)) || (a = ring_get(c)))
			return a;
	}
	if ((a = runq_get(c)))
		return a;
	return gq_get(c);
}

/* Switch from the running actor `self` to `next` (NULL: the idle loop).
 * Returns when self runs again, possibly on another carrier. */
static void switch_from(struct smarm__carrier *c, struct smarm__actor *self,
			struct smarm__actor *next, bool dying)
{
	struct smarm__ctx *to;
	void *lo;
	size_t size;

	if (next) {
		wait_off_cpu(next);
		atomic_store_explicit(&next->on_cpu, 1, memory_order_relaxed);
		atomic_store_explicit(&next->state, SMARM__RUNNING, memory_order_relaxed);
		next->carrier = c;
		to = &next->ctx;
		lo = next->stack_lo;
		size = next->stack_size;
	} else {
		to = &c->idle_ctx;
		lo = c->idle_stack_lo;
		size = c->idle_stack_size;
	}
	c->current = next;
	c->prev = self;
	c->switches++;
	if (unlikely(FS_MODE()))
		fs_switch_slow(c, self, next); /* saves errno too */
	else
		self->saved_errno = errno;
#ifdef __SANITIZE_ADDRESS__
	FIBER_START(dying ? NULL : &self->asan_fake_stack, lo, size);
#else
	(void)dying, (void)lo, (void)size;
#endif
	smarm__ctx_switch(&self->ctx, to);
	FIBER_FINISH(self->asan_fake_stack);
	finish_prev(self->carrier);
	*errno_here() = self->saved_errno;
	if (unlikely(FS_MODE()))
		sig_switched_in(self);
}

/* First code of every actor, on its own stack: complete the switch that
 * started it.  Called by actor.c's trampoline. */
void smarm__sched_started(struct smarm__actor *self)
{
	FIBER_FINISH(NULL);
	finish_prev(self->carrier);
	/* No signal hook here: a new actor has no mask yet (the shim gives
	 * it its creator's as its first act: shim/thread.c). */
}

void smarm__wait_prepare(struct smarm__actor *self, const char *what, void *obj)
{
	self->wait_what = what;
	self->wait_obj = obj;
	self->wait_since = self->carrier->stats.clock; /* coarse: see stats.c */
	smarm__stats_park(self->carrier, what);
	atomic_store_explicit(&self->state, SMARM__WAITING, memory_order_relaxed);
}

/* A park deadline passed.  Unlike smarm__wake, the actor joins the tail of
 * the ring rather than runnext: expiries that fire together run in the
 * order they fired, behind the work already queued, and do not displace a
 * request/response pair's runnext. */
static void park_timeout(struct smarm__timer *t)
{
	struct smarm__actor *a =
		(struct smarm__actor *)((char *)t - offsetof(struct smarm__actor, timer));
	struct smarm__carrier *c = tls_carrier;
	int w = SMARM__WAITING;

	if (!atomic_compare_exchange_strong(&a->state, &w, SMARM__RUNNABLE))
		return;
	a->wake_result = -ETIMEDOUT;
	/* Behind a backlog in the global queue if there is one, so that a
	 * burst of expiries larger than the ring still runs in order. */
	if (c && atomic_load_explicit(&smarm__rt.gq_len, memory_order_relaxed) == 0) {
		runq_put(c, a);
		/* runq_put publishes with a release store; wakep's reading of
		 * nidle must not pass it ("No lost wake-ups"). */
		atomic_thread_fence(memory_order_seq_cst);
	} else {
		a->next = NULL;
		gq_put_list(a, a, 1);
	}
	smarm__wakep();
}

intptr_t smarm__park(int64_t deadline)
{
	struct smarm__actor *self = smarm__self(), *next;
	struct smarm__carrier *c;

	smarm_assert(self && atomic_load(&self->state) != SMARM__RUNNING);
	/* An actor asked to stop does not wait (internal.h, "the failure
	 * model"): a stopper's smarm__flush_cpus orders its request against
	 * our WAITING store, so this plain load cannot miss it while the
	 * stopper's wake misses us. */
	atomic_signal_fence(memory_order_seq_cst);
	if (smarm__exit_due(self))
		smarm__wake(self, -ECANCELED);
	else if (deadline >= 0 && smarm__timer_add(&self->timer, deadline, park_timeout) < 0)
		smarm__wake(self, -ENOMEM);
	c = self->carrier;
	next = pick(c);
	if (next == self) {
		/* Woken before we left (it can only be us, from our own runnext). */
		atomic_store_explicit(&self->state, SMARM__RUNNING, memory_order_relaxed);
	} else {
		switch_from(c, self, next, false);
	}
	if (deadline >= 0)
		smarm__timer_del(&self->timer);
	self->wait_what = NULL;
	self->wait_obj = NULL;
	return self->wake_result;
}

void smarm__yield(void)
{
	struct smarm__actor *self = smarm__self(), *next;
	struct smarm__carrier *c;

	if (!self) {
		sched_yield();
		return;
	}
	smarm__exit_point(self); /* an actor asked to stop ends here */
	c = self->carrier;
	if (!(next = pick(c))) {
		if (likely(atomic_load_explicit(&c->role, memory_order_relaxed) ==
			   SMARM__ROLE_RUN))
			return;
		/* c was released (handoff.c): self goes on on a carrier
		 * that runs, and c to its idle loop, which retires it. */
		atomic_store_explicit(&self->state, SMARM__RUNNABLE, memory_order_relaxed);
		gq_put_list(self, self, 1);
		smarm__wakep();
		switch_from(c, self, NULL, false);
		return;
	}
	atomic_store_explicit(&self->state, SMARM__RUNNABLE, memory_order_relaxed);
	runq_put(c, self);
	switch_from(c, self, next, false);
}

/* Preemption (preempt.c): the running actor's slice is over.  First look
 * at what a busy carrier otherwise sees only every GQ_EVERY switches (due
 * timers, ready fds: the actor we preempt is often what they wait behind),
 * then yield.  Called at safe points, the SIGURG handler included.  May
 * switch, may not return (smarm__yield is an exit point). */
void smarm__sched_preempt(void)
{
	int64_t now = smarm__now();

	smarm__carrier()->stats.clock = now; /* for park times */
	if (smarm__timer_next() <= now)
		smarm__timer_run(now);
	poll_io();
	smarm__yield();
}

void smarm_yield(void)
{
	smarm__yield();
}

smarm_pid_t smarm_self(void)
{
	struct smarm__actor *a = smarm__self();
	return a ? a->pid : 0;
}

int smarm_sleep(int64_t ns)
{
	struct smarm__actor *self = smarm__self();

	if (!self)
		return -EPERM;
	if (ns <= 0) {
		smarm__yield();
		return 0;
	}
	smarm__wait_prepare(self, "sleep", NULL);
	intptr_t r = smarm__park(smarm__deadline(ns));
	if (r == -ECANCELED)
		smarm__exit_point(self); /* asked to stop: end here */
	return r == -ETIMEDOUT ? 0 : (int)r;
}

static void stop(void)
{
	atomic_store(&smarm__rt.stopping, 1);
	/* Every record: parked spares (handoff.c) sleep on the same word. */
	for (int i = 0; i < atomic_load(&smarm__rt.nrecords); i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		atomic_store(&c->sleep_word, 1);
		smarm__futex_wake(&c->sleep_word, 1);
	}
	poller_kick();
}

/* smarm__alive counts actors from spawn to their last switch.  The exit
 * that brings it to zero sets CLOSED with a CAS and stops the runtime; a
 * spawn racing it either got its place first (then the CAS fails and the
 * runtime goes on) or sees CLOSED and fails. */
#define ALIVE_CLOSED (1L << 62)

bool smarm__alive_get(void)
{
	long v = atomic_load(&smarm__alive);

	do {
		if (v & ALIVE_CLOSED)
			return false;
	} while (!atomic_compare_exchange_weak(&smarm__alive, &v, v + 1));
	smarm__stats_alive(v + 1); /* the peak, for SMARM_STATS */
	return true;
}

long smarm__alive_count(void)
{
	return atomic_load(&smarm__alive) & ~ALIVE_CLOSED;
}

void smarm__alive_put(void)
{
	long z = 0;

	if (atomic_fetch_sub(&smarm__alive, 1) == 1 &&
	    atomic_compare_exchange_strong(&smarm__alive, &z, ALIVE_CLOSED))
		stop();
}

void smarm__sched_exit(struct smarm__actor *self)
{
	struct smarm__carrier *c = self->carrier;

	atomic_store_explicit(&self->state, SMARM__DEAD, memory_order_relaxed);
	c->stats.exited++;
	smarm__alive_put();
	switch_from(c, self, pick(c), true);
	__builtin_unreachable();
}

/* ---- the idle loop -------------------------------------------------------- */

static bool work_anywhere(void)
{
	if (atomic_load(&smarm__rt.gq_len) > 0 || atomic_load(&smarm__rt.stopping))
		return true;
	for (int i = 0; i < atomic_load(&smarm__rt.nslots); i++)
		if (!runq_empty(smarm__rt.carriers[i]))
			return true;
	return smarm__timer_next() <= smarm__now();
}

bool smarm__work_waits(void)
{
	return work_anywhere();
}

static void stop_spinning(struct smarm__carrier *c)
{
	if (!c->spinning)
		return;
	c->spinning = false;
	/* The last spinner found work: there may be more, so hand the search
	 * to another carrier (Go's resetspinning). */
	if (atomic_fetch_sub(&smarm__rt.nspinning, 1) == 1)
		smarm__wakep();
}

/* c found work.  If it had been the poller, nobody watches the timers now:
 * get a sleeper up to take the role over (it spins, then polls). */
static struct smarm__actor *found(struct smarm__carrier *c, struct smarm__actor *a,
				  bool polled)
{
	stop_spinning(c);
	if (polled)
		smarm__wakep();
	return a;
}

static void idle_push(struct smarm__carrier *c, bool poller)
{
	smarm__lock(&smarm__rt.idle_lock);
	c->is_poller = poller;
	c->idle_next = smarm__rt.idle;
	smarm__rt.idle = c;
	atomic_store(&c->idle, 1);
	atomic_fetch_add(&smarm__rt.nidle, 1);
	smarm__unlock(&smarm__rt.idle_lock);
}

/* After a sleep: leave the idle list, unless a waker already took us off
 * it, in which case it counted us as spinning. */
static void idle_leave(struct smarm__carrier *c)
{
	smarm__lock(&smarm__rt.idle_lock);
	if (atomic_load(&c->idle)) {
		struct smarm__carrier **pp = &smarm__rt.idle;
		while (*pp != c)
			pp = &(*pp)->idle_next;
		*pp = c->idle_next;
		atomic_store(&c->idle, 0);
		atomic_fetch_sub(&smarm__rt.nidle, 1);
	} else {
		c->spinning = true;
	}
	c->is_poller = false;
	smarm__unlock(&smarm__rt.idle_lock);
	smarm__preempt_carrier_awake();
}

/* Sleep in epoll until the earliest timer, an I/O event or a kick.  The
 * caller holds the poller role (rt.poller == 1) and gives it up here.
 * recheck: wake after this many ns at the latest (-1: no limit; the
 * deadlock check asks for one, deadlock.c). */
static void sleep_poller(int64_t recheck)
{
	struct epoll_event ev[64];
	struct timespec ts, *tp = NULL;
	int64_t until;
	int n = 0;

	/* poll_until is published before the final read of the timers, so a
	 * timer added after that read sees it and kicks us (timer_poke). */
	until = smarm__timer_next();
	atomic_store(&smarm__rt.poll_until, until);
	until = smarm__timer_next();
	if (recheck >= 0 && smarm__now() + recheck < until)
		until = smarm__now() + recheck;
	atomic_store(&smarm__rt.poll_until, until);
	if (until != INT64_MAX) {
		int64_t now = smarm__now();
		int64_t d = until > now ? until - now : 0;
		ts.tv_sec = d / 1000000000;
		ts.tv_nsec = d % 1000000000;
		tp = &ts;
	}
	if (!atomic_load(&smarm__rt.stopping))
		n = (int)smarm__sys(SYS_epoll_pwait2, smarm__rt.epfd, (long)ev, 64, (long)tp,
				    0, sizeof(sigset_t));
	atomic_store(&smarm__rt.poll_until, INT64_MAX);
	atomic_store(&smarm__rt.poller, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL) {
			uint64_t v;
			if (smarm__sys(SYS_read, smarm__rt.wakefd, (long)&v, sizeof v, 0, 0, 0) < 0) {
				/* EAGAIN: another wake already drained it. */
			}
		} else {
			smarm__io_ready(ev[i].data.ptr, ev[i].events);
		}
	}
}

/* Block until there is an actor for c to run; NULL when the runtime stops. */
static struct smarm__actor *find_work(struct smarm__carrier *c)
{
	int64_t spin_until = 0;
	bool polled = false;

	for (;;) {
		struct smarm__actor *a;
		int64_t now;

		if (atomic_load_explicit(&smarm__rt.stopping, memory_order_relaxed))
			return NULL;
		if (unlikely(atomic_load_explicit(&c->role, memory_order_relaxed) !=
			     SMARM__ROLE_RUN)) {
			/* Released (handoff.c): hand the search on, then park
			 * until needed again, or end. */
			stop_spinning(c);
			if (!smarm__handoff_retire(c))
				return NULL;
			spin_until = 0;
			polled = false;
			continue;
		}
		now = smarm__now();
		c->stats.clock = now; /* for park times */
		if (smarm__timer_next() <= now)
			smarm__timer_run(now);
		if ((a = runq_get(c)) || (a = gq_get(c)) || (a = steal_any(c, false)))
			return found(c, a, polled);
		/* Before the spin and on each of its passes: the fds (poll_io). */
		if (poll_io() && (a = runq_get(c)))
			return found(c, a, polled);
		if (!c->spinning && spin_until == 0) {
			int busy = smarm__rt.ncarriers - atomic_load(&smarm__rt.nidle);
			if (2 * atomic_load(&smarm__rt.nspinning) < busy) {
				c->spinning = true;
				atomic_fetch_add(&smarm__rt.nspinning, 1);
			}
			/* Spin only while some other carrier runs actors: only it
			 * can hand us work faster than epoll would.  Otherwise
			 * the spin just keeps a CPU from the process that will
			 * send us the next event (measured: 1 echo connection
			 * went from 0.74x to 1.4x an epoll loop). */
			if (busy - atomic_load(&smarm__rt.nspinning) - !c->spinning > 0)
				spin_until = now + SPIN_NS;
			else
				spin_until = now;
		}
		if (now < spin_until) {
			for (int i = 0; i < 50; i++)
				__builtin_ia32_pause();
			continue;
		}
		/* Last look, taking runnext from a carrier that has been busy
		 * for the whole spin, then sleep. */
		if ((a = steal_any(c, true)))
			return found(c, a, polled);
		spin_until = 0;
		if (c->spinning) {
			c->spinning = false;
			atomic_fetch_sub(&smarm__rt.nspinning, 1);
		}
		/* Drop-in: a sleeping carrier takes no signal meant for the
		 * program (shim/signal.c hands those to its threads). */
		if (unlikely(FS_MODE()) && c->sigmask != smarm__sig_idle_mask &&
		    smarm__sig_switch_hook)
			smarm__sig_switch_hook(c, NULL);
		int z = 0;
		bool poll = atomic_compare_exchange_strong(&smarm__rt.poller, &z, 1);
		atomic_store(&c->sleep_word, 0);
		idle_push(c, poll);
		if (work_anywhere()) {
			idle_leave(c);
			if (poll)
				atomic_store(&smarm__rt.poller, 0);
			continue;
		}
		/* The last carrier to sleep looks for a deadlock (deadlock.c). */
		int64_t recheck = smarm__deadlock_idle(c);
		if (poll) {
			sleep_poller(recheck);
			polled = true;
		} else {
			int e = errno;
			smarm__futex_wait(&c->sleep_word, 0, recheck);
			errno = e;
		}
		idle_leave(c);
	}
}

void (*smarm__carrier_start_hook)(struct smarm__carrier *c);

static void carrier_loop(struct smarm__carrier *c)
{
	struct smarm__actor *a;

	if (smarm__carrier_start_hook)
		smarm__carrier_start_hook(c);
	while ((a = find_work(c))) {
		wait_off_cpu(a);
		atomic_store_explicit(&a->on_cpu, 1, memory_order_relaxed);
		atomic_store_explicit(&a->state, SMARM__RUNNING, memory_order_relaxed);
		a->carrier = c;
		c->current = a;
		c->switches++;
		if (unlikely(FS_MODE()))
			fs_switch_slow(c, NULL, a);
		FIBER_START(&c->idle_fake_stack, a->stack_lo, a->stack_size);
		smarm__ctx_switch(&c->idle_ctx, &a->ctx);
		FIBER_FINISH(c->idle_fake_stack);
		finish_prev(c);
	}
	if (c->spinning) {
		c->spinning = false;
		atomic_fetch_sub(&smarm__rt.nspinning, 1);
	}
}

/* ---- carriers: creation and teardown -------------------------------------- */

static void carrier_bind(struct smarm__carrier *c)
{
	pthread_attr_t attr;

	tls_carrier = c;
	atomic_store_explicit(&c->tid, (int)syscall(SYS_gettid), memory_order_relaxed);
	__asm__("mov %%fs:0, %0" : "=r"(c->fsbase)); /* the TCB's self pointer */
	carrier_off = (char *)&tls_carrier - (char *)c->fsbase;
	have_wrfsbase = (getauxval(AT_HWCAP2) & 2) != 0; /* HWCAP2_FSGSBASE */
	/* Drop-in: a carrier starts blocking the program's signals, as if
	 * it were about to sleep (shim/signal.c). */
	if (smarm__sig_switch_hook)
		smarm__sig_switch_hook(c, NULL);
	c->rand = 0x9e3779b9u * (uint32_t)(c->id + 1);
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &c->idle_stack_lo, &c->idle_stack_size);
		pthread_attr_destroy(&attr);
	}
	smarm__fault_init_thread(c);
}

static void carrier_unbind(struct smarm__carrier *c)
{
	smarm__fault_fini_thread(c);
	smarm__stack_drain(c);
	atomic_store_explicit(&c->tid, 0, memory_order_relaxed);
	tls_carrier = NULL;
}

void smarm__carrier_body(struct smarm__carrier *c)
{
	carrier_bind(c);
	carrier_loop(c);
	carrier_unbind(c);
}

static void *carrier_main(void *p)
{
	smarm__carrier_body(p);
	return NULL;
}

struct smarm__carrier *smarm__carrier_new(int i)
{
	struct smarm__carrier *c =
		aligned_alloc(SMARM_CACHELINE,
			      (sizeof *c + SMARM_CACHELINE - 1) & ~(size_t)(SMARM_CACHELINE - 1));

	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->id = i;
	smarm__rt.carriers[i] = c;
	if (atomic_load(&smarm__rt.nrecords) < i + 1)
		atomic_store_explicit(&smarm__rt.nrecords, i + 1, memory_order_release);
	return c;
}

/* The ring first, runnext last, and all of it at the head of the global
 * queue: it is older than anything there (see "Where a runnable actor
 * waits"), so the order actors became runnable in is kept. */
void smarm__runq_drain(struct smarm__carrier *c)
{
	struct smarm__actor *a, *head = NULL, *tail = NULL,
			    *next = atomic_exchange(&c->runnext, NULL);
	long n = 0;

	while ((a = ring_get(c)) || (a = next)) {
		if (a == next)
			next = NULL;
		a->next = NULL;
		if (tail)
			tail->next = a;
		else
			head = a;
		tail = a;
		n++;
	}
	if (!n)
		return;
	smarm__lock(&smarm__rt.gq_lock);
	tail->next = smarm__rt.gq_head;
	if (!smarm__rt.gq_head)
		smarm__rt.gq_tail = tail;
	smarm__rt.gq_head = head;
	smarm__unlock(&smarm__rt.gq_lock);
	atomic_fetch_add(&smarm__rt.gq_len, n); /* seq_cst: see "No lost wake-ups" */
	smarm__wakep();
}

int smarm__sched_init(const struct smarm_config *cfg)
{
	int n = cfg && cfg->carriers ? cfg->carriers
		: (int)smarm__env_long("SMARM_THREADS", smarm__online_cpus(), 1, 1024);
	size_t ss = cfg && cfg->stack_size ? cfg->stack_size
		: smarm__env_size("SMARM_STACK_SIZE", (size_t)64 << 10, (size_t)16 << 10,
				  (size_t)1 << 30);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	int perr = smarm__preempt_init(cfg);

	if (perr < 0)
		return perr;
	smarm__rt.ncarriers = n;
	smarm__rt.want = n;
	smarm__rt.max_carriers = smarm__handoff_init(n);
	smarm__rt.stack_size = (ss + pg - 1) / pg * pg;
	smarm__rt.carriers = calloc(smarm__rt.max_carriers, sizeof *smarm__rt.carriers);
	if (!smarm__rt.carriers)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (!smarm__carrier_new(i))
			goto nomem;
	atomic_store(&smarm__rt.nslots, n);
	smarm__rt.epfd = smarm__fd_high(epoll_create1(EPOLL_CLOEXEC));
	smarm__rt.wakefd = smarm__fd_high(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (smarm__rt.epfd < 0 || smarm__rt.wakefd < 0 ||
	    epoll_ctl(smarm__rt.epfd, EPOLL_CTL_ADD, smarm__rt.wakefd, &ev) < 0) {
		int e = -errno;
		smarm__sched_fini();
		return e;
	}
	atomic_store(&smarm__rt.stopping, 0);
	atomic_store(&smarm__alive, 0);
	atomic_store(&smarm__rt.poller, 0);
	atomic_store(&smarm__rt.poll_until, INT64_MAX);
	smarm__fault_install();
	smarm__fork_init();
	return 0;
nomem:
	smarm__sched_fini();
	return -ENOMEM;
}

int smarm__sched_run(void)
{
	struct smarm__carrier *c0 = smarm__rt.carriers[0];
	int started = 1, err = 0;

	carrier_bind(c0);
	for (; started < smarm__rt.ncarriers; started++) {
		struct smarm__carrier *c = smarm__rt.carriers[started];
		pthread_t t;
		if ((err = pthread_create(&t, NULL, carrier_main, c)) != 0)
			break;
		c->thread = (unsigned long)t;
	}
	if (err) {
		/* The actors already queued run on the carriers we have. */
		smarm__msg("could only start %d of %d carrier threads (%s)", started,
			   smarm__rt.ncarriers, strerror(err));
		for (int i = started; i < smarm__rt.ncarriers; i++)
			atomic_store(&smarm__rt.carriers[i]->role, SMARM__ROLE_GONE);
		smarm__rt.ncarriers = started;
	}
	smarm__handoff_start();
	smarm__preempt_start();
	carrier_loop(c0);
	smarm__preempt_stop(); /* before the joins: it signals carrier threads */
	smarm__handoff_join_all();
	carrier_unbind(c0);
	return 0;
}

void smarm__sched_fini(void)
{
	if (smarm__rt.carriers)
		smarm__stats_fold();
	if (smarm__rt.carriers) {
		for (int i = 0; i < atomic_load(&smarm__rt.nrecords); i++)
			free(smarm__rt.carriers[i]);
		free(smarm__rt.carriers);
	}
	smarm__rt.carriers = NULL;
	atomic_store(&smarm__rt.nrecords, 0);
	atomic_store(&smarm__rt.nslots, 0);
	if (smarm__rt.epfd >= 0)
		smarm__fd_close(smarm__rt.epfd);
	if (smarm__rt.wakefd >= 0)
		smarm__fd_close(smarm__rt.wakefd);
	smarm__rt.epfd = smarm__rt.wakefd = -1;
	smarm__rt.gq_head = smarm__rt.gq_tail = NULL;
	atomic_store(&smarm__rt.gq_len, 0);
	smarm__rt.idle = NULL;
	atomic_store(&smarm__rt.nidle, 0);
	atomic_store(&smarm__rt.nspinning, 0);
}

/* ---- fork (fork.c's header) ------------------------------------------------ */

int smarm__sched_fork_child(struct smarm__carrier *c, void *tcb)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int ep, wk;

	/* The parent's epoll set is shared with it: ours must be new. */
	ep = smarm__fd_high(epoll_create1(EPOLL_CLOEXEC));
	wk = smarm__fd_high(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (ep < 0 || wk < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, wk, &ev) < 0) {
		int e = -errno;
		if (ep >= 0)
			smarm__fd_close(ep);
		if (wk >= 0)
			smarm__fd_close(wk);
		return e;
	}
	smarm__fd_close(smarm__rt.epfd);
	smarm__fd_close(smarm__rt.wakefd);
	smarm__rt.epfd = ep;
	smarm__rt.wakefd = wk;
	smarm__rt.gq_lock = (smarm__lock_t)SMARM__LOCK_INIT;
	smarm__rt.idle_lock = (smarm__lock_t)SMARM__LOCK_INIT;
	smarm__rt.gq_head = smarm__rt.gq_tail = NULL;
	atomic_store(&smarm__rt.gq_len, 0);
	smarm__rt.idle = NULL;
	atomic_store(&smarm__rt.nidle, 0);
	atomic_store(&smarm__rt.nspinning, 0);
	atomic_store(&smarm__rt.poller, 0);
	atomic_store(&smarm__rt.poll_until, INT64_MAX);
	atomic_store(&smarm__rt.stopping, 0);
	atomic_store(&polling, 0);
	/* The other carriers' records are left as they are (a copy nobody
	 * runs); only c is counted, freed and looked at from now on: record 0,
	 * in role RUN, whatever it was in the parent (a spare, say).  The
	 * hand-off makes new records after it as it needs them. */
	smarm__rt.carriers[0] = c;
	atomic_store(&smarm__rt.ncarriers, 1);
	atomic_store(&smarm__rt.nslots, 1);
	atomic_store(&smarm__rt.nrecords, 1);
	atomic_store(&c->role, SMARM__ROLE_RUN);
	atomic_store(&c->tid, (int)syscall(SYS_gettid));
	smarm__handoff_fork_child();
	c->id = 0;
	c->thread = 0;
	c->prev = NULL;
	c->spinning = false;
	c->is_poller = false;
	atomic_store(&c->preempt, 0);
	atomic_store(&c->runnext, NULL);
	atomic_store(&c->head, 0);
	atomic_store(&c->tail, 0);
	atomic_store(&c->sleep_word, 0);
	atomic_store(&c->idle, 0);
	c->idle_next = NULL;
	if (tcb)
		c->fsbase = tcb;
	/* The caller is the one actor left. */
	atomic_store(&smarm__alive, 1);
	return 0;
}

void smarm__sched_fork_start(void)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__carrier *c = self->carrier;

	atomic_store_explicit(&self->state, SMARM__RUNNABLE, memory_order_relaxed);
	runq_put(c, self);
	switch_from(c, self, NULL, false);
}

void smarm__sched_fork_idle(struct smarm__carrier *c)
{
	FIBER_FINISH(NULL);
	finish_prev(c);
	carrier_loop(c);
}
