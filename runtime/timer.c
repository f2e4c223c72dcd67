/* timer.c — one-shot timers on CLOCK_MONOTONIC: a hierarchical timing wheel.
 *
 * Why a wheel: most timers in a runtime are timeouts that never fire (a
 * receive with a deadline that a message beats), so add and del are the hot
 * pair and expiry is the rarer case.  Here add and del are O(1) (amortised:
 * node storage grows by chunks) against O(log n) for the binary heap this
 * file used to hold; tests/bench/bench_timer.c measures both side by side
 * (figures and the decision in LOOM.md).
 *
 * Shape.  Time is cut into ticks of 2^TICK_SHIFT ns.  LEVELS levels of SLOTS
 * slots; a slot at level L spans SLOTS^L ticks, so level L as a whole spans
 * SLOTS^(L+1) ticks, and the top level holds any int64 deadline.  Each slot
 * is a doubly linked list, and one bit per slot says whether it is empty, so
 * the first non-empty slot is two ctz away.
 *
 * Nodes.  The lists link nodes, not the timers: a pending timer owns one
 * node that copies its deadline, and t->idx is the node's number (0 = not
 * pending), so struct smarm__timer keeps the heap's layout.  List walks
 * (cascades, bound scans) then touch only the dense node chunks, never the
 * owners, which sit in actor records ~84 KiB apart (a TLB miss each; the
 * benchmark shows this is where the time goes).  Nodes live in chunks of
 * CHUNK that never move, so lists link them by pointer and growing copies
 * nothing under the lock; freed nodes are recycled LIFO (the next add reuses
 * a warm one) and chunks are kept until smarm__timer_fini.  Growing is the
 * only way add can fail (-ENOMEM); moving a timer between slots never
 * allocates.
 *
 * Placement invariant.  `elapsed` is the wheel's position, in ticks.  A
 * pending timer with tick k (its deadline's tick, raised to `elapsed` if
 * earlier) is in the slot of level L, the highest digit (SLOT_BITS bits) in
 * which k and `elapsed` differ (level 0 if none), at k's digit L.  As k >=
 * elapsed, that digit is greater than elapsed's (or equal, at level 0 only):
 *   - every timer at level L is earlier than every timer at level L+1;
 *   - within a level, slot order is time order, and no slot wraps around;
 * so, numbering slots level-major, the lowest occupied slot holds the
 * earliest timer.  Timers added with a deadline already behind `elapsed`
 * share the slot of tick `elapsed` with the timers due in that tick: it is
 * the only slot that can hold timers earlier than its start.
 *
 * Moving.  smarm__timer_run(now) walks `elapsed` up to now's tick, one
 * occupied slot at a time (empty slots cost nothing), always the first
 * (earliest) one: it sets `elapsed` to the slot's start and empties it.  A
 * level-0 slot that starts before now's tick holds only due timers, which
 * fire.  A slot above level 0 is cascaded whole, due timers included: each
 * timer is re-filed, and lands lower since it now agrees with `elapsed` in
 * one more digit (at most one cascade per level in a timer's life), so even
 * a run that is far behind fires in time order, slot by slot.  The walk
 * stops at the first slot that starts after now's tick, or at now's own
 * level-0 slot, whose due timers fire and the rest go back; every slot
 * left starts after now's tick, so `elapsed` may then jump to that tick.
 * Every fire checks when <= now, so no timer fires early even if a carrier
 * passes a stale `now`; `elapsed` never moves back.  Order: timers due in
 * one run fire in order of their tick (or of `elapsed`'s, for one added
 * with a deadline already behind it); within a tick, in no particular order.
 *
 * Bounded lock holds.  One run may have to move many timers: a level-2
 * slot (268 ms) of a busy wheel holds tens of thousands, and a run after a
 * long idle spell cascades every timer once per level it crosses.  That is
 * 20-100 ns a timer (a cache miss each): 0.6 ms for a level-2 slot of the
 * 100,000-sleeper test, 1 ms for a first run after the wheel lagged, more
 * on a loaded VM; meanwhile every carrier that parks with a deadline waits
 * to add.  So a run
 * works in batches of BATCH timers, and between two batches, if an add or
 * del is waiting, it lets each waiter take the lock once (pass()).  The
 * slot being emptied is unlinked first; what is left of it waits on `pend`
 * meanwhile, a list like a slot's, so del can still unlink a timer from
 * it.  The rest of the wheel is filed relative to an `elapsed` inside that
 * slot, which holds none of the new timers (they differ from `elapsed` in
 * that slot's digit), so add and del work as usual.  `running` keeps other
 * runs out meanwhile: they return at once ("another carrier is at it")
 * rather than fire timers out of order past `pend`.  A run still does all
 * its work before it returns; only the lock is shared.  Nothing waits, no
 * pass: a run alone pays one decrement a timer.
 *
 * next_due, what carriers sleep until, is a lower bound on every pending
 * deadline, written under the lock and read without it:
 *   - add lowers it to the new deadline if that is earlier (exact);
 *   - run recomputes it at the end: the exact minimum of the first slot if
 *     that slot is at level 0 (scanned whole) or short; else that slot's
 *     start, a cascade point, where a carrier wakes for nothing, cascades,
 *     and sleeps again;
 *   - del, when it removes the timer the bound may stand for, raises it if
 *     a short scan finds a later bound (not while a run is in progress:
 *     `pend` is not in the scan, and the run recomputes the bound anyway);
 *     otherwise the bound stays, and costs one early wake-up that run then
 *     corrects.
 * After a run, next_due > now (carriers never spin on a bound in the past),
 * unless a timer due by now was added while the run was between batches:
 * then that add lowered the bound, and the next run fires it.
 *
 * fn runs with the lock held: once smarm__timer_del returns, fn is neither
 * running nor going to run, which is what lets an actor delete its park
 * timer and move on without a use-after-return.  fn must not add or delete
 * timers (it would self-deadlock); waking an actor is what it is for.
 *
 * The wheel never reads the clock; it moves only when run is given a later
 * `now`, so it is a plain data structure (tests drive it with made-up
 * times).  While nothing falls due `elapsed` lags, new timers land a level
 * higher than they need, and the next run cascades them.
 *
 * Never switches: every function here may spin or sleep on the timer lock
 * (held for a few list operations, or for at most BATCH timers and their
 * callbacks in run), never parks an actor.  Run never blocks on the lock
 * while entering: it tries a few times and gives up (next_due stays <= now,
 * so the caller comes back), so a run that interrupts an add or del on its
 * own thread cannot deadlock.  Not async-signal-safe.
 *
 * Lock order: timer lock -> run-queue and idle locks (fn wakes actors).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A tick is 2^16 ns = 65.5 us: level 0 spans 4.2 ms, level 1 268 ms, level
 * 2 17 s, level 3 18 min.  Short ticks keep level-0 slots short (run scans
 * the first one whole); long ones save cascades.  64 slots a level rather
 * than 256: long timeouts, which are mostly cancelled, then cascade late
 * (upper slots are narrow) or never.  The benchmark overrides both to
 * measure the trade. */
#ifndef SMARM__TIMER_TICK_SHIFT
#define SMARM__TIMER_TICK_SHIFT 16
#endif
#ifndef SMARM__TIMER_SLOT_BITS
#define SMARM__TIMER_SLOT_BITS 6
#endif
#define TICK_SHIFT SMARM__TIMER_TICK_SHIFT
#define SLOT_BITS SMARM__TIMER_SLOT_BITS
#define SLOTS (1u << SLOT_BITS)
#define LEVELS ((63 - TICK_SHIFT + SLOT_BITS - 1) / SLOT_BITS)
#define NSLOTS (LEVELS * SLOTS)
#define NWORDS ((NSLOTS + 63) / 64)
_Static_assert(LEVELS * SLOT_BITS >= 63 - TICK_SHIFT,
	       "the top level must hold the largest int64 deadline");
_Static_assert(LEVELS * SLOT_BITS < 64, "slot_start's shifts must be defined");
_Static_assert(NWORDS <= 64, "one summary word covers the occupancy bits");

/* How many nodes a bound computation may visit in a slot above level 0
 * (run) or in any slot (del) before settling for the slot's start. */
#define SCAN_RUN 32
#define SCAN_DEL 8

/* Timers a run moves or fires per lock hold: 256 is 5-25 us of cascading
 * (a cache miss per timer), or of callbacks that each queue an actor. */
#define BATCH 256
/* Counts of pause instructions (~28 ns each on the 2-vCPU EPYC VM these
 * figures come from; 5-140 ns elsewhere).  WAIT_SPINS (~60 us, a batch or
 * two): an add or del that finds the lock held spins this long before it
 * sleeps in the futex, so that a run passing the lock between two batches
 * finds it awake.  PASS_SPINS (~30 us): the longest a run waits for the
 * waiters it passed the lock to.  RUN_TRIES (~2 us): how long a run that
 * is starting retries while an add or del (never held long) has the lock. */
#define WAIT_SPINS 2048
#define PASS_SPINS 1024
#define RUN_TRIES 64

#define CHUNK_SHIFT 12
#define CHUNK (1u << CHUNK_SHIFT)

/* A pending timer's place in the wheel.  Nodes never move once made, so
 * lists link them by pointer; the timer knows its node by number (t->idx),
 * which is how a 32-bit field reaches it. */
struct node {
	union {
		int64_t when;       /* pending: copy of t->when */
		uint32_t next_free; /* free: the next free node's number, 0 = none */
	};
	struct smarm__timer *t; /* the pending timer */
	struct node *next;      /* slot list */
	struct node **pprev;    /* &previous->next, or &head[slot] if first */
};

static smarm__lock_t lock = SMARM__LOCK_INIT;
/* All below under `lock`. */
static struct node *head[NSLOTS]; /* each slot's list */
static uint64_t occupied[NWORDS]; /* bit s: slot s is not empty */
static uint64_t summary;          /* bit w: occupied[w] != 0 */
static uint64_t elapsed;          /* the wheel's position, ticks */
static struct node **chunks;      /* node n is chunks[n / CHUNK][n % CHUNK] */
static uint32_t nchunks, chunks_cap;
static uint32_t nodes_made = 1;   /* node 0 is never used: t->idx 0 = none */
static uint32_t free_nodes;       /* first recycled node, 0 = none */
/* What is left of the slot a run is emptying while it lets adds and dels
 * in between two batches (drain()); NULL otherwise.  A list like a slot's,
 * so del unlinks from it as from any slot. */
static struct node *pend;
/* Written under `lock`, read without it (smarm__timer_next). */
static _Atomic int64_t next_due = INT64_MAX;
/* True from a run's start to its end, batches and passes included; written
 * by that run under `lock`, read by others without it. */
static _Atomic bool running;
/* How many adds/dels/finis wait for `lock`, and how many times one got it
 * after waiting: pass() lets in those that wait when it starts. */
static _Atomic int waiting;
static _Atomic unsigned entered;

static inline struct node *node(uint32_t n)
{
	return &chunks[n >> CHUNK_SHIFT][n & (CHUNK - 1)];
}

static inline uint64_t tick_of(int64_t when)
{
	return when > 0 ? (uint64_t)when >> TICK_SHIFT : 0;
}

/* A free node's number, or 0 if memory ran out. */
static uint32_t node_new(void)
{
	uint32_t n = free_nodes;

	if (n) {
		free_nodes = node(n)->next_free;
		return n;
	}
	if ((nodes_made >> CHUNK_SHIFT) == nchunks) {
		struct node *c;
		if (nchunks == UINT32_MAX >> CHUNK_SHIFT)
			return 0;
		if (nchunks == chunks_cap) {
			uint32_t cap = chunks_cap ? 2 * chunks_cap : 16;
			void *p = realloc(chunks, cap * sizeof *chunks);
			if (!p)
				return 0;
			chunks = p;
			chunks_cap = cap;
		}
		c = malloc(CHUNK * sizeof *c);
		if (!c)
			return 0;
		chunks[nchunks++] = c;
	}
	return nodes_made++;
}

static void node_free(struct node *x, uint32_t n)
{
	x->next_free = free_nodes;
	free_nodes = n;
}

/* File x by its deadline relative to `elapsed` (the invariant). */
static void put(struct node *x)
{
	uint64_t k = tick_of(x->when);
	unsigned level, s;

	if (k < elapsed)
		k = elapsed;
	/* "| (SLOTS - 1)": equal digits at level 0 still give level 0. */
	level = (63 - __builtin_clzll((k ^ elapsed) | (SLOTS - 1))) / SLOT_BITS;
	s = level * SLOTS + ((k >> (level * SLOT_BITS)) & (SLOTS - 1));
	x->next = head[s];
	if (x->next)
		x->next->pprev = &x->next;
	x->pprev = &head[s];
	head[s] = x;
	occupied[s / 64] |= 1ull << (s % 64);
	summary |= 1ull << (s / 64);
}

static void clear(unsigned s)
{
	occupied[s / 64] &= ~(1ull << (s % 64));
	if (!occupied[s / 64])
		summary &= ~(1ull << (s / 64));
}

static void take(struct node *x)
{
	*x->pprev = x->next;
	if (x->next) {
		x->next->pprev = x->pprev;
	} else {
		/* Last in its list; if also first, the slot is now empty. */
		uintptr_t off = (uintptr_t)x->pprev - (uintptr_t)head;
		if (off < sizeof head)
			clear((unsigned)(off / sizeof *head));
	}
}

/* Take `lock` for an add, del or fini.  If it is held, say so (a run
 * between two batches then lets us in) and spin for about a batch before
 * sleeping in smarm__lock. */
static void lock_wait(void)
{
	if (smarm__trylock(&lock))
		return;
	atomic_fetch_add_explicit(&waiting, 1, memory_order_relaxed);
	for (int i = 0; !smarm__trylock(&lock); i++) {
		if (i == WAIT_SPINS) {
			smarm__lock(&lock);
			break;
		}
		__builtin_ia32_pause();
	}
	atomic_fetch_sub_explicit(&waiting, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&entered, 1, memory_order_relaxed);
}

/* Take `lock` for a run: false if another run is in progress (it does our
 * work) or an add/del keeps the lock past a short spin (the caller sees
 * next() <= now and comes back). */
static bool run_lock(void)
{
	for (int i = 0;; i++) {
		if (smarm__trylock(&lock)) {
			if (!atomic_load_explicit(&running, memory_order_relaxed))
				return true;
			smarm__unlock(&lock);
			return false;
		}
		if (atomic_load_explicit(&running, memory_order_relaxed) ||
		    i == RUN_TRIES)
			return false;
		__builtin_ia32_pause();
	}
}

/* Between two batches of a run, with adds or dels waiting for the lock:
 * drop it until each of those has had it once (or PASS_SPINS runs out),
 * then take it back.  Only those: a thread that adds and dels in a loop
 * must not keep the run waiting.  The wheel is consistent here: `pend`
 * holds the rest of the slot being emptied, `running` keeps other runs
 * out. */
static void pass(void)
{
	int w = atomic_load_explicit(&waiting, memory_order_relaxed);
	unsigned e = atomic_load_explicit(&entered, memory_order_relaxed);

	smarm__unlock(&lock);
	for (int i = 0; i < PASS_SPINS; i++) {
		unsigned in = atomic_load_explicit(&entered, memory_order_relaxed);
		if ((int)(in - e) >= w)
			break;
		__builtin_ia32_pause();
	}
	smarm__lock(&lock);
}

/* The slot holding the earliest timer, or -1 if the wheel is empty: slots
 * are numbered level-major, so it is the lowest occupied one. */
static int first_slot(void)
{
	unsigned w;

	if (!summary)
		return -1;
	w = (unsigned)__builtin_ctzll(summary);
	return (int)(w * 64 + (unsigned)__builtin_ctzll(occupied[w]));
}

/* The first tick slot s covers, given the current `elapsed`: elapsed's
 * digits above s's level, s's digit at its level, zeros below. */
static uint64_t slot_start(unsigned s)
{
	unsigned l = s / SLOTS, above = (l + 1) * SLOT_BITS;

	return (elapsed >> above << above) |
	       (uint64_t)(s % SLOTS) << (l * SLOT_BITS);
}

/* A lower bound on every pending deadline: the exact minimum of the first
 * slot (it holds the earliest timer) if that has at most limit0 nodes at
 * level 0 or `limit` above, else the slot's start.  INT64_MIN ("nothing
 * better known") if the slot that is too long is the current tick's, which
 * may hold overdue timers earlier than its start. */
static int64_t bound(uint32_t limit0, uint32_t limit)
{
	int s = first_slot();
	int64_t min = INT64_MAX;

	if (s < 0)
		return INT64_MAX;
	if (s < (int)SLOTS)
		limit = limit0;
	for (struct node *x = head[s]; x; x = x->next) {
		if (limit-- == 0) {
			if (s == (int)(elapsed % SLOTS))
				return INT64_MIN;
			return (int64_t)(slot_start((unsigned)s) << TICK_SHIFT);
		}
		if (x->when < min)
			min = x->when;
	}
	return min;
}

/* Free a due timer's node (already out of its list) and run the callback. */
static void fire(struct node *x)
{
	struct smarm__timer *t = x->t;

	node_free(x, t->idx);
	t->idx = 0;
	t->fn(t);
}

/* Slot s's whole list, unlinked; the slot is left empty. */
static struct node *unlink_slot(unsigned s)
{
	struct node *x = head[s];

	head[s] = NULL;
	clear(s);
	return x;
}

enum drain { FIRE, CASCADE, SETTLE };

/* Empty the list x (unlinked from its slot): FIRE fires every node (all
 * due), CASCADE re-files every node, SETTLE fires the due ones and re-files
 * the rest.  Re-filing never puts a node back on the list, so this ends.
 * With the lock held nobody else sees the list; when a batch is done and
 * pass() is to let others in, what is left goes on `pend` first (its first
 * node's pprev fixed; the others still point into their predecessors), so
 * that a del can unlink any of it, and the walk resumes from `pend`.
 * Returns how many fired.  Inlined into run's two calls, where `how` is
 * known and the budget stays in a register: it runs once per slot a run
 * visits, and mostly on one or two timers. */
static inline __attribute__((always_inline)) int
drain(struct node *x, enum drain how, int64_t now, int *budget)
{
	struct node *nx;
	int fired = 0;

	for (; x; x = nx) {
		nx = x->next;
		if (how == CASCADE || (how == SETTLE && x->when > now)) {
			put(x);
		} else {
			fire(x);
			fired++;
		}
		if (--*budget == 0) {
			*budget = BATCH;
			if (nx && atomic_load_explicit(&waiting,
						       memory_order_relaxed)) {
				pend = nx;
				nx->pprev = &pend;
				pass();
				nx = pend;
				pend = NULL;
			}
		}
	}
	return fired;
}

int smarm__timer_add(struct smarm__timer *t, int64_t when,
		     void (*fn)(struct smarm__timer *))
{
	struct node *x;
	bool earliest;
	uint32_t n;

	smarm_assert(t->idx == 0);
	lock_wait();
	n = node_new();
	if (unlikely(!n)) {
		smarm__unlock(&lock);
		return -ENOMEM;
	}
	t->when = when;
	t->fn = fn;
	t->idx = n;
	x = node(n);
	x->when = when;
	x->t = t;
	put(x);
	earliest = when < atomic_load_explicit(&next_due, memory_order_relaxed);
	if (earliest)
		atomic_store_explicit(&next_due, when, memory_order_release);
	smarm__unlock(&lock);
	if (earliest)
		smarm__timer_poke(when);
	return 0;
}

bool smarm__timer_del(struct smarm__timer *t)
{
	bool pending;

	lock_wait();
	pending = t->idx != 0;
	if (pending) {
		int64_t due = atomic_load_explicit(&next_due, memory_order_relaxed);
		struct node *x = node(t->idx);
		take(x);
		node_free(x, t->idx);
		t->idx = 0;
		/* The bound may have been this deadline.  Raising it is
		 * optional (too low costs an early wake-up, no more), so look
		 * only a few nodes far; and not while a run is between
		 * batches: the scan would miss `pend`, and the run sets the
		 * bound when it ends. */
		if (t->when <= due &&
		    !atomic_load_explicit(&running, memory_order_relaxed)) {
			int64_t b = bound(SCAN_DEL, SCAN_DEL);
			if (b > due)
				atomic_store_explicit(&next_due, b,
						      memory_order_release);
		}
	}
	smarm__unlock(&lock);
	return pending;
}

int64_t smarm__timer_next(void)
{
	return atomic_load_explicit(&next_due, memory_order_acquire);
}

/* smarm__timer_run past its first check: big (drain() is inlined twice),
 * so kept out of line for the check to stay a load and a compare. */
static __attribute__((noinline)) int run_due(int64_t now)
{
	uint64_t target;
	int fired = 0, budget = BATCH;

	if (!run_lock())
		return 0;
	atomic_store_explicit(&running, true, memory_order_relaxed);
	/* Never move backwards: a carrier may pass a `now` it read before
	 * another carrier's run moved the wheel past it. */
	target = tick_of(now);
	if (target < elapsed)
		target = elapsed;
	/* Empty, in time order, every slot that starts at or before target,
	 * except target's own level-0 slot, which may hold timers not yet due
	 * and is settled below.  The first slot is always the earliest, so
	 * when this stops, every remaining timer is also correctly filed
	 * relative to target, and `elapsed` may jump there. */
	for (;;) {
		int s = first_slot();
		uint64_t start;

		if (s < 0)
			break;
		start = slot_start((unsigned)s);
		if (start > target || (s < (int)SLOTS && start == target))
			break;
		elapsed = start;
		/* A level-0 slot before target holds only due timers.  Above
		 * level 0, cascade even what is due: it goes to a lower level
		 * (never back to slot s) and fires from its level-0 slot, in
		 * time order with the rest, however far behind this run is. */
		fired += drain(unlink_slot((unsigned)s),
			       s < (int)SLOTS ? FIRE : CASCADE, now, &budget);
	}
	elapsed = target;
	fired += drain(unlink_slot(target % SLOTS), SETTLE, now, &budget);
	/* Everything <= now has fired (but what was added during a pass),
	 * so this bound is > now. */
	atomic_store_explicit(&next_due, bound(UINT32_MAX, SCAN_RUN),
			      memory_order_release);
	atomic_store_explicit(&running, false, memory_order_relaxed);
	smarm__unlock(&lock);
	return fired;
}

int smarm__timer_run(int64_t now)
{
	/* The common case: a carrier (pick(), every GQ_EVERY switches) asks
	 * while nothing is due. */
	if (smarm__timer_next() > now)
		return 0;
	return run_due(now);
}

/* Forget every pending timer without touching it (its owner may be gone)
 * and give the nodes back. */
void smarm__timer_fini(void)
{
	lock_wait();
	for (uint32_t i = 0; i < nchunks; i++)
		free(chunks[i]);
	free(chunks);
	chunks = NULL;
	nchunks = chunks_cap = 0;
	nodes_made = 1;
	free_nodes = 0;
	memset(head, 0, sizeof head);
	memset(occupied, 0, sizeof occupied);
	summary = 0;
	elapsed = 0;
	pend = NULL;
	atomic_store_explicit(&running, false, memory_order_relaxed);
	atomic_store_explicit(&next_due, INT64_MAX, memory_order_release);
	smarm__unlock(&lock);
}

/* fork.c: a fork's child.  The lock may have been held by a carrier that
 * does not exist here; the wheel itself was consistent whenever a run
 * dropped the lock, and an add or del in flight is lost with its thread.
 * The timers of vanished actors stay and fire harmlessly (their actors
 * are DEAD: the wake fails). */
void smarm__timer_fork_child(void)
{
	lock = (smarm__lock_t)SMARM__LOCK_INIT;
	atomic_store(&running, false);
	atomic_store(&waiting, 0);
	pend = NULL;
}
