/* internal.h — declarations shared between the runtime's files (and the shim).
 * Nothing here is exported: every name is smarm__-prefixed and hidden.
 * Grouped under the file that owns each piece.
 *
 * The waiting protocol (how every blocking primitive is built):
 *
 *   self = smarm__self();
 *   smarm__wait_prepare(self, "what", obj);   state := WAITING
 *   lock(q); enqueue(q, node{self}); unlock(q);
 *   r = smarm__park(deadline);                switch away unless already woken
 *   if (r == -ETIMEDOUT) { lock(q); remove node if still queued; unlock(q); }
 *
 *   waker: lock(q); node = dequeue(q);
 *          if (smarm__wake(node->actor, value)) ...it won: the waiter gets value
 *          else ...the waiter timed out (or was woken otherwise): try the next
 *          unlock(q);
 *
 * smarm__wake succeeds for exactly one caller per wait (a CAS from WAITING to
 * RUNNABLE), so a timeout and a waker never both take effect, and a waker can
 * tell whether its hand-off (a mutex, a message) was accepted.  A woken actor
 * may be queued before it has finished switching out; whoever switches to it
 * first waits for its on_cpu flag to drop (as Linux does with p->on_cpu), so
 * no lock needs to be held across the switch.
 */
#ifndef SMARM_INTERNAL_H
#define SMARM_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctx.h"
#include "smarm.h"

#define SMARM_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define SMARM_CACHELINE 64

/* Misuse and broken invariants abort in every build, naming file:line. */
#define smarm_assert(cond)                                                   \
	do {                                                                 \
		if (unlikely(!(cond)))                                       \
			smarm__assert_fail(#cond, __FILE__, __LINE__);       \
	} while (0)
__attribute__((noreturn, cold)) void smarm__assert_fail(const char *what,
                                                        const char *file, int line);

/* Print "smarm: <message>\n" to stderr with one write(2): async-signal-safe
 * as long as the format only uses %s %d %u %ld %lu %zu %x %p. */
__attribute__((format(printf, 1, 2))) void smarm__msg(const char *fmt, ...);

/* ---- lock.c: a small futex mutex for the runtime's own short critical
 * sections (never held across a switch).  Spins briefly, then sleeps. */
typedef struct {
	_Atomic uint32_t v; /* 0 free, 1 locked, 2 locked with sleepers */
} smarm__lock_t;
#define SMARM__LOCK_INIT {0}
void smarm__lock_slow(smarm__lock_t *l);
void smarm__unlock_slow(smarm__lock_t *l);
static inline void smarm__lock(smarm__lock_t *l)
{
	uint32_t z = 0;
	if (likely(atomic_compare_exchange_strong_explicit(
		    &l->v, &z, 1, memory_order_acquire, memory_order_relaxed)))
		return;
	smarm__lock_slow(l);
}
static inline bool smarm__trylock(smarm__lock_t *l)
{
	uint32_t z = 0;
	return atomic_compare_exchange_strong_explicit(
		&l->v, &z, 1, memory_order_acquire, memory_order_relaxed);
}
static inline void smarm__unlock(smarm__lock_t *l)
{
	if (unlikely(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2))
		smarm__unlock_slow(l);
}
/* futex(2) on a private word; timeout is relative ns or -1. */
int smarm__futex_wait(_Atomic uint32_t *w, uint32_t expect, int64_t timeout);
void smarm__futex_wake(_Atomic uint32_t *w, int n);

/* ---- timer.c: one-shot timers on CLOCK_MONOTONIC.
 * A timer is embedded in its owner; fn runs on some carrier with the timer
 * lock held, so once smarm__timer_del returns, fn is not running and will
 * not run.  fn must not add or delete timers. */
struct smarm__timer {
	int64_t when;                          /* deadline, ns; written by add */
	void (*fn)(struct smarm__timer *t);    /* called once at or after when */
	uint32_t idx;                          /* heap slot + 1; 0 = not pending */
};
/* -ENOMEM if the heap cannot grow; 0 otherwise. */
int smarm__timer_add(struct smarm__timer *t, int64_t when,
                     void (*fn)(struct smarm__timer *));
bool smarm__timer_del(struct smarm__timer *t); /* true if it was pending */
/* The earliest pending deadline, INT64_MAX if none.  A racy read: callers
 * use it to decide whether to look, never to skip a timer for good. */
int64_t smarm__timer_next(void);
/* Run every timer whose deadline is <= now; returns how many ran. */
int smarm__timer_run(int64_t now);
void smarm__timer_fini(void);

/* ---- stack.c: guarded, pooled stacks; the actor record lives at the top of
 * its own stack, so one pooled block is everything a spawn needs. */
struct smarm__actor;
struct smarm__stack_pool;
/* A stack with `usable` bytes (rounded up to pages) and its actor record,
 * zeroed; NULL with *err = -EAGAIN (mapping refused) or -ENOMEM. */
struct smarm__actor *smarm__stack_alloc(size_t usable, int *err);
void smarm__stack_free(struct smarm__actor *a);
/* Bytes of guard below every stack (no access; overflow faults land here). */
size_t smarm__stack_guard_size(void);
void smarm__stack_stats(size_t *created, size_t *pooled);
/* The size the actor's stack was asked for (its class): what reports show;
 * a->stack_size is the real usable span, a little larger. */
size_t smarm__stack_nominal(const struct smarm__actor *a);
struct smarm__carrier;
void smarm__stack_drain(struct smarm__carrier *c);

/* ---- actor.c ---- */
enum smarm__state {
	SMARM__RUNNING = 0, /* on a carrier, or about to be */
	SMARM__WAITING,     /* parked; only smarm__wake leaves this state */
	SMARM__RUNNABLE,    /* in a run queue */
	SMARM__DEAD,        /* finished; the record is about to go back to the pool */
};

struct smarm__carrier;

/* One green thread.  It lives at the top of its own stack (stack.c).
 * Written by: [s] the actor itself while running; [w] the one waker that won
 * the CAS on state; [c] the carrier that switches to/from it. */
struct smarm__actor {
	struct smarm__ctx ctx;          /* [c] saved registers while not running */
	_Atomic int state;              /* enum smarm__state; CAS by wakers */
	_Atomic int on_cpu;             /* [c] 1 from switch-in until its ctx is saved */
	struct smarm__carrier *carrier; /* [c] the carrier running it, set at switch-in */
	struct smarm__actor *next;      /* link in the global run queue */
	intptr_t wake_result;           /* [w] what smarm__park returns */
	smarm_pid_t pid;                /* [spawn] */
	smarm_fn fn;                    /* [spawn] */
	void *arg;                      /* [spawn] */
	void *stack_lo;                 /* [stack.c] lowest usable byte; guard below */
	size_t stack_size;              /* [stack.c] usable bytes */
	struct smarm__stack_pool *pool; /* [stack.c] where the stack goes back */
	struct smarm__timer timer;      /* [s] deadline of the current park */
	int saved_errno;                /* [c] errno while switched out (link mode) */
	const char *wait_what;          /* [s] what it parks on, for reports */
	void *wait_obj;                 /* [s] the object it parks on */
	int64_t wait_since;             /* [s] when the current park began (0: unknown) */
	char name[16];                  /* [spawn] */
	void *mbox;                     /* [s] mailbox.c: created on first use */
	void *asan_fake_stack;          /* [c] ASan's fake-stack handle while out */
};
__attribute__((weak)) void smarm__mbox_free(struct smarm__actor *a);

/* Used by the shim: start an actor with a prepared record. */
int smarm__spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
                 const struct smarm_spawn_opts *opts);
/* How many actors exist (spawned and not yet finished). */
extern _Atomic long smarm__alive;

/* ---- pid.c: the slot table.  A slot holds an actor's identity from spawn
 * until it has ended and been joined (or detached).  All slot fields are
 * protected by the slot's lock bit; holding it pins the actor: an actor
 * cannot finish exiting while someone holds its slot. */
struct smarm__slot;
int smarm__pid_new(struct smarm__actor *a, bool detached); /* sets a->pid */
/* Lock the slot of a live actor: NULL (-ESRCH) if pid is stale, invalid or
 * its actor has finished.  Unlock with smarm__pid_unlock. */
struct smarm__actor *smarm__pid_lock(smarm_pid_t pid, struct smarm__slot **slot);
void smarm__pid_unlock(struct smarm__slot *slot);
/* The actor is ending with `value`: hand it to a joiner or keep it. */
void smarm__pid_exit(struct smarm__actor *a, void *value);
int smarm__pid_join(smarm_pid_t pid, void **value, int64_t deadline);
int smarm__pid_detach(smarm_pid_t pid);
size_t smarm__pid_used(void);
/* Copy a live actor's name. -ESRCH otherwise. */
int smarm__pid_name(smarm_pid_t pid, char *buf, size_t len);

/* ---- sched.c ---- */
/* A carrier's run queue: a ring only its owner pushes to; the owner and
 * stealers take from the head with a CAS (Go's runq).  Full rings spill half
 * to the global queue. */
#define SMARM__RUNQ 256
struct smarm__carrier {
	/* Owner-only fields: read and written by the carrier's own thread. */
	int id;
	struct smarm__actor *current;      /* NULL while in the idle loop */
	struct smarm__actor *prev;         /* switched out, awaiting finish_switch */
	struct smarm__ctx idle_ctx;        /* the carrier's own stack: the idle loop */
	void *idle_stack_lo;               /* for ASan's fiber hooks */
	size_t idle_stack_size;
	void *idle_fake_stack;             /* ASan's fake-stack handle of the idle loop */
	uint32_t tick;                     /* switches, for fairness checks */
	uint32_t rand;                     /* victim selection when stealing */
	struct smarm__actor *stack_cache[32]; /* free default-size stacks */
	int nstack_cache;
	uint64_t switches, steals;         /* statistics */
	void *altstack;                    /* fault.c: sigaltstack memory */
	size_t altstack_size;
	unsigned long thread;              /* pthread_t; 0 for carrier 0 */
	bool spinning;                     /* counted in rt.nspinning */
	bool is_poller;                    /* [idle_lock] sleeping in epoll */
	/* Shared fields. */
	_Alignas(SMARM_CACHELINE) struct smarm__actor *_Atomic runnext;
	_Atomic uint32_t head;             /* owner and stealers CAS it */
	_Atomic uint32_t tail;             /* only the owner writes it */
	struct smarm__actor *_Atomic ring[SMARM__RUNQ];
	_Alignas(SMARM_CACHELINE) _Atomic uint32_t sleep_word; /* futex: 1 = wake */
	_Atomic int idle;                  /* on the idle list (under idle_lock) */
	struct smarm__carrier *idle_next;  /* idle list link, under idle_lock */
};

struct smarm__rt {
	int ncarriers;
	size_t stack_size;                 /* default usable stack */
	struct smarm__carrier **carriers;
	_Atomic int running;               /* between sched_init and sched_fini */
	_Atomic int stopping;
	/* Global run queue: spills, and actors made ready off-carrier. */
	smarm__lock_t gq_lock;
	struct smarm__actor *gq_head, *gq_tail;
	_Atomic long gq_len;
	/* Idle carriers: a LIFO under idle_lock. */
	smarm__lock_t idle_lock;
	struct smarm__carrier *idle;
	_Atomic int nidle;
	_Atomic int nspinning;
	/* The poller: at most one idle carrier sleeps in epoll_wait, with the
	 * earliest timer as its timeout; the others sleep on their futex. */
	_Atomic int poller;                /* 1 while some carrier is the poller */
	_Atomic int64_t poll_until;        /* the poller's wake-up deadline */
	int epfd;                          /* the process's epoll set */
	int wakefd;                        /* eventfd that breaks the poller's sleep */
	/* The root actor of smarm_run. */
	smarm_pid_t root;
	void *root_result;
};
extern struct smarm__rt smarm__rt;

/* The carrier the calling OS thread runs, or NULL.  Not inlined, so a value
 * read before a switch is never reused after it (the actor may migrate). */
struct smarm__carrier *smarm__carrier(void);
/* The running actor, or NULL outside actors.  Same caveat. */
struct smarm__actor *smarm__self(void);

/* Mark self as about to wait on `obj` (a string for reports).  Then publish
 * self where a waker finds it, then smarm__park. */
void smarm__wait_prepare(struct smarm__actor *self, const char *what, void *obj);
/* Switch away until smarm__wake(self, v) (returns v) or until the deadline
 * (absolute ns, -1 for none) passes (returns -ETIMEDOUT).  May switch. */
intptr_t smarm__park(int64_t deadline);
/* Make a waiting actor runnable with result v.  Returns false if it was not
 * waiting (already woken, or timed out).  Callable from any thread.
 * Never switches. */
bool smarm__wake(struct smarm__actor *a, intptr_t v);
/* Put a runnable actor on a run queue (no state check). */
void smarm__ready(struct smarm__actor *a);
/* Let others run; self stays runnable. May switch. */
void smarm__yield(void);
/* Switch away from a finished actor for good. */
__attribute__((noreturn)) void smarm__sched_exit(struct smarm__actor *self);
/* Wake an idle carrier if there is work it could take. */
void smarm__wakep(void);
/* First thing a new actor does on its own stack. */
void smarm__sched_started(struct smarm__actor *self);
/* A timer with an earlier deadline than the poller's was added. */
void smarm__timer_poke(int64_t when);

int smarm__sched_init(const struct smarm_config *cfg);
/* Run carrier 0's loop on the calling thread until the runtime stops. */
int smarm__sched_run(void);
void smarm__sched_fini(void);
/* io.c hooks: events from the epoll set owned by sched.c. */
void smarm__io_ready(void *ptr, uint32_t events);

/* ---- fault.c: overflow and fault reports on a per-carrier altstack ---- */
int smarm__fault_init_thread(struct smarm__carrier *c);
void smarm__fault_fini_thread(struct smarm__carrier *c);
void smarm__fault_install(void);

/* ---- config.c ---- */
long smarm__env_long(const char *name, long dflt, long min, long max);
size_t smarm__env_size(const char *name, size_t dflt, size_t min, size_t max);
int smarm__online_cpus(void);

/* ---- clock ---- */
static inline int64_t smarm__now(void)
{
	return smarm_now();
}

/* ---- mailbox.c (smarm__mbox_free is declared weak next to the actor) ---- */
/* Deliver a message of `kind` (SMARM_MSG_DATA or a runtime notice) from
 * `from` to actor `to`: the supervisor's way to post Exit/Panic notices.
 * -ESRCH, -EINVAL, -ENOMEM.  Never switches (in link mode). */
int smarm__mbox_post(smarm_pid_t to, int kind, smarm_pid_t from, const void *data,
		     size_t len);

#endif
