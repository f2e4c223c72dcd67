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
#include <pthread.h>
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
/* Move a runtime-owned fd above the numbers a program uses (close-on-exec);
 * returns the new fd, or fd itself if there is no room.  Never switches. */
int smarm__fd_high(int fd);
/* Is fd one of those (the shim's close wrappers spare them)?  And close one,
 * forgetting it.  Never switch. */
bool smarm__fd_owned(int fd);
void smarm__fd_close(int fd);

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

/* ---- sys_x86_64.S: the runtime's raw system calls.  Returns >= 0 or
 * -errno; never touches errno.  Strict mode's filter lets every call made
 * here through (smarm__sys_pass is the address after its `syscall`).
 * Never switches; async-signal-safe. */
long smarm__sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
extern const char smarm__sys_pass[];

/* ---- timer.c: one-shot timers on CLOCK_MONOTONIC.
 * A timer is embedded in its owner; fn runs on some carrier with the timer
 * lock held, so once smarm__timer_del returns, fn is not running and will
 * not run.  fn must not add or delete timers.  A timer never fires before
 * its deadline; timers due in the same run fire in no particular order. */
struct smarm__timer {
	int64_t when;                          /* deadline, ns; written by add */
	void (*fn)(struct smarm__timer *t);    /* called once at or after when */
	uint32_t idx;                          /* wheel node number; 0 = not pending */
};
/* -ENOMEM if the wheel cannot grow its node storage; 0 otherwise. */
int smarm__timer_add(struct smarm__timer *t, int64_t when,
                     void (*fn)(struct smarm__timer *));
bool smarm__timer_del(struct smarm__timer *t); /* true if it was pending */
/* A lower bound on the earliest pending deadline (exact except at cascade
 * points, where it may be a wheel slot early), INT64_MAX if none.  A racy
 * read: callers use it to decide whether to look, never to skip a timer for
 * good. */
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
/* A stack the caller supplies (drop-in: pthread_attr_setstack): its record
 * goes at the top of [lo, lo + size), as glibc puts its TCB there; no guard,
 * never pooled.  The caller sets a->release, which runs (on some carrier,
 * never switching) once the actor has ended and is off that memory for good:
 * after it the runtime never touches it.  NULL if size is too small.
 * Start it with smarm__spawn_on.  Never switches. */
struct smarm__actor *smarm__stack_adopt(void *lo, size_t size);
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
	int nopreempt;                  /* [s] preempt.c: > 0 while this actor must not
	                                 * be preempted (smarm_preempt_disable) */
	/* The failure model (actor.c, link.c, fault.c; see their section). */
	_Atomic int exit_req;           /* [any, CAS] a stop request: SMARM_EXIT_* |
	                                 * SMARM__EXIT_DEFER (see smarm__exit_due) */
	_Atomic int fail_stage;         /* [s] SMARM__STAGE_*: read by the fault handler */
	struct smarm__ending *ending;   /* [s] while ending: how and why (in the
	                                 * ending frame), for nested ends */
	struct smarm_cleanup *cleanup;  /* [s] cleanup handlers, innermost first */
	struct smarm__fate *fate;       /* [slot lock] links, monitors, parent ...;
	                                 * NULL until first needed */
	void (*release)(void *);        /* [spawn] a stack the caller supplied
	                                 * (smarm__stack_adopt): called once the
	                                 * actor is off it for good; NULL: none */
	void *release_arg;              /* [spawn] */
	void *fsbase;                   /* [s] drop-in mode (shim/tcb.c): the TCB
	                                 * (FS base) this actor runs with; NULL:
	                                 * the carrier's own (link mode) */
	/* Drop-in signals (shim/signal.c; 0 in link mode).  Bit s-1 is
	 * signal s. */
	uint64_t sigmask;               /* [s] the thread's blocked signals */
	_Atomic uint64_t sigpend;       /* [any, atomic or] directed at this thread
	                                 * (pthread_kill), not yet delivered */
	void *sigx;                     /* [signal.c's lock] the interruptible
	                                 * wait it is in, NULL, or "ended" */
};
__attribute__((weak)) void smarm__mbox_free(struct smarm__actor *a);

/* actor.c: set by entry_main.c: the root actor is the program's smarm_main,
 * so its abnormal end exits the process (status 70). */
extern bool smarm__root_is_main;

/* Used by the shim: start an actor (smarm_spawn's checks and results);
 * _on: on a record from smarm__stack_adopt (opts->stack_size is ignored; on
 * failure the record is left to the caller, release not called). */
int smarm__spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
                 const struct smarm_spawn_opts *opts);
int smarm__spawn_on(smarm_pid_t *pid, smarm_fn fn, void *arg,
		    const struct smarm_spawn_opts *opts, struct smarm__actor *pre);
/* How many actors exist (spawned and not yet finished). */
extern _Atomic long smarm__alive;
/* sched.c: take a place for one more actor; false once the runtime has
 * closed (its last actor ended).  Give it back with smarm__alive_put; the
 * last one closes the count and stops the runtime.  Never switch. */
bool smarm__alive_get(void);
void smarm__alive_put(void);
/* Actors alive now (the count without its CLOSED flag).  Never switches. */
long smarm__alive_count(void);

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
/* The actor is ending: under its slot lock, publish how it ended for a
 * joiner (or free the slot if detached: reason is then freed), and detach
 * and return a->fate (NULL if none) for the caller to act on: from now on
 * smarm__pid_lock fails, so nobody else can reach it.  reason: malloc'd
 * text whose ownership passes to the slot, or NULL. */
struct smarm__fate *smarm__pid_exit(struct smarm__actor *a, int how, void *value,
				    char *reason);
/* Collect one actor: 0 (NORMAL; *value), -EOWNERDEAD (any other end;
 * *value = NULL), -ETIMEDOUT, -ECANCELED (the caller is being stopped),
 * -ESRCH, -EINVAL, -EDEADLK, -EPERM.  info may be NULL.  May switch. */
int smarm__pid_join(smarm_pid_t pid, void **value, struct smarm_exit_info *info,
		    int64_t deadline);
/* Join groups (smarm_join_all / smarm_join_any).  May switch. */
int smarm__pid_join_set(const smarm_pid_t *pids, size_t n, bool all,
			struct smarm_exit_info *infos, int64_t deadline);
int smarm__pid_detach(smarm_pid_t pid);
size_t smarm__pid_used(void);
/* Copy a live actor's name. -ESRCH otherwise. */
int smarm__pid_name(smarm_pid_t pid, char *buf, size_t len);

/* ---- stats.c: per-carrier counters (SMARM_STATS), written only by the
 * carrier's own thread with plain increments and summed when read: an
 * actor counts into the carrier it runs on.  Parks are counted by their
 * wait_prepare "what" string, in a small table open-addressed by the
 * string's address (one probe in the common case). */
#define SMARM__PARK_KINDS 32
struct smarm__cstats {
	uint64_t spawned, exited;       /* actors spawned / finished here */
	uint64_t park_other;            /* parks whose kind found no room */
	int64_t clock;                  /* smarm_now() as of the carrier's last
	                                 * idle pass, 64th switch or preemption:
	                                 * what a park records as its start */
	long peak_alive;                /* the most actors alive seen at a spawn */
	const char *park_what[SMARM__PARK_KINDS];
	uint64_t park_n[SMARM__PARK_KINDS];
};

/* ---- sched.c ---- */
/* A carrier's run queue: a ring only its owner pushes to; the owner and
 * stealers take from the head with a CAS (Go's runq).  Full rings spill half
 * to the global queue. */
#define SMARM__RUNQ 256
/* What a carrier record is doing (carrier hand-off: handoff.c's header has
 * the transitions).  Zero, so records made at start-up begin as RUN. */
enum smarm__role {
	SMARM__ROLE_RUN = 0,  /* may run actors; counted in rt.ncarriers */
	SMARM__ROLE_RELEASED, /* stuck while it ran an actor: the monitor gave
	                       * its place to a spare; it takes no more work
	                       * and retires at its actor's next switch */
	SMARM__ROLE_PARKED,   /* a thread kept for reuse, off the idle list */
	SMARM__ROLE_GONE,     /* no thread: exited (or never started) */
};
struct smarm__carrier {
	/* Preemption (preempt.c).  First on purpose: SMARM_CHECK() in smarm.h
	 * reads it at offset 0 through smarm__tls_carrier.  0: nothing asked.
	 * Otherwise the monitor thread asks the actor that was switched in
	 * when `switches` was preempt - 1 to yield at its next safe point;
	 * the owner clears it (CAS to 0) when it honours or finds it stale. */
	_Atomic uint64_t preempt;
	/* Owner-only fields: read and written by the carrier's own thread
	 * (the monitor reads `current` and `switches` with relaxed loads). */
	int id;
	struct smarm__actor *current;      /* NULL while in the idle loop */
	struct smarm__actor *prev;         /* switched out, awaiting finish_switch */
	struct smarm__ctx idle_ctx;        /* the carrier's own stack: the idle loop */
	void *idle_stack_lo;               /* for ASan's fiber hooks */
	size_t idle_stack_size;
	void *idle_fake_stack;             /* ASan's fake-stack handle of the idle loop */
	_Atomic int role;                  /* enum smarm__role (handoff.c): CAS by
	                                    * whoever moves it; pick() reads it */
	_Atomic int lock_sleeps;           /* lock.c: > 0 while its thread sleeps
	                                    * on a runtime lock (handoff.c then
	                                    * does not count it as stuck) */
	uint32_t tick;                     /* switches, for fairness checks */
	uint32_t rand;                     /* victim selection when stealing */
	struct smarm__actor *stack_cache[32]; /* free default-size stacks */
	int nstack_cache;
	uint64_t switches, steals;         /* statistics */
	struct smarm__cstats stats;        /* stats.c: more statistics (owner-only) */
	void *altstack;                    /* fault.c: sigaltstack memory */
	size_t altstack_size;
	unsigned long thread;              /* pthread_t; 0 for carrier 0 */
	_Atomic int tid;                   /* its OS thread's id while bound, else 0
	                                    * (deadlock.c tells runtime threads by it) */
	bool spinning;                     /* counted in rt.nspinning */
	bool is_poller;                    /* [idle_lock] sleeping in epoll */
	void *fsbase;                      /* the carrier thread's own FS base
	                                    * (TCB), read at bind: what the idle
	                                    * loop and actors without one run on */
	uint64_t sigmask;                  /* drop-in: the signal mask this thread
	                                    * has in the kernel now (as bits of
	                                    * the actors' sigmask), set at bind */
	/* Shared fields. */
	_Alignas(SMARM_CACHELINE) struct smarm__actor *_Atomic runnext;
	_Atomic uint32_t head;             /* owner and stealers CAS it */
	_Atomic uint32_t tail;             /* only the owner writes it */
	struct smarm__actor *_Atomic ring[SMARM__RUNQ];
	_Alignas(SMARM_CACHELINE) _Atomic uint32_t sleep_word; /* futex: 1 = wake */
	_Atomic int idle;                  /* on the idle list (under idle_lock) */
	struct smarm__carrier *idle_next;  /* idle list link, under idle_lock */
};

/* SMARM_CHECK() (smarm.h) reads the request word at offset 0. */
_Static_assert(offsetof(struct smarm__carrier, preempt) == 0, "carrier preempt");

struct smarm__rt {
	_Atomic int ncarriers;             /* carriers in role RUN (handoff.c) */
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
	/* Carrier hand-off (handoff.c).  carriers[] has room for max_carriers
	 * records; a record, once made, stays until sched_fini, so a reader
	 * may look at any record below nrecords at any time. */
	int want;                          /* SMARM_THREADS: carriers that run actors */
	int max_carriers;                  /* SMARM_MAX_CARRIERS: records, at most */
	_Atomic int nrecords;              /* records made (release-published) */
	_Atomic int nslots;                /* records to look at when stealing: every
	                                    * record with a thread is below it
	                                    * (written by sched_init and the monitor) */
};
extern struct smarm__rt smarm__rt;

/* The carrier the calling OS thread runs, or NULL.  Not inlined, so a value
 * read before a switch is never reused after it (the actor may migrate). */
struct smarm__carrier *smarm__carrier(void);
/* The variable behind it.  Exported (SMARM_CHECK() reads it inline); read it
 * directly only where nothing between the read and its use can switch. */
extern __thread struct smarm__carrier *smarm__tls_carrier
	__attribute__((tls_model("initial-exec")));
/* The running actor, or NULL outside actors.  Same caveat. */
struct smarm__actor *smarm__self(void);

/* Drop-in mode: actors with their own TCB (a->fsbase, DESIGN D2).  A
 * switch to or from such an actor writes FS (wrfsbase, or arch_prctl when
 * the CPU lacks FSGSBASE) after storing the carrier pointer into the new
 * TCB's copy of smarm__tls_carrier (initial-exec: a fixed offset from the
 * thread pointer), so runtime code finds its carrier on either side of the
 * switch.  Link mode (no smarm__fs_enter ever) pays a one-byte load, a test
 * and a not-taken branch per switch.
 * smarm__fs_enter makes the calling actor run on `tcb` from now on
 * (NULL: back to its carrier's own TCB).  Never switches. */
void smarm__fs_enter(void *tcb);

/* Mark self as about to wait on `obj` (a string for reports).  Then publish
 * self where a waker finds it, then smarm__park. */
void smarm__wait_prepare(struct smarm__actor *self, const char *what, void *obj);
/* Switch away until smarm__wake(self, v) (returns v) or until the deadline
 * (absolute ns, -1 for none) passes (returns -ETIMEDOUT).  Also returns
 * -ECANCELED, at once or when woken, if the actor is asked to stop (the
 * failure model, below), deadline or not.  May switch. */
intptr_t smarm__park(int64_t deadline);
/* Make a waiting actor runnable with result v.  Returns false if it was not
 * waiting (already woken, or timed out).  Callable from any thread.
 * Never switches. */
bool smarm__wake(struct smarm__actor *a, intptr_t v);
/* Put a runnable actor on a run queue (no state check). */
void smarm__ready(struct smarm__actor *a);
/* Let others run; self stays runnable.  An exit point: an actor asked to
 * stop ends here (actor.c), so call it only where the actor holds no
 * runtime state.  May switch, may not return. */
void smarm__yield(void);
/* A preemption: run due timers, reap ready fds, then yield (preempt.c's
 * safe points call it, the SIGURG handler included).  Through smarm__yield
 * it is an exit point.  May switch, may not return. */
void smarm__sched_preempt(void);
/* Switch away from a finished actor for good. */
__attribute__((noreturn)) void smarm__sched_exit(struct smarm__actor *self);
/* Wake an idle carrier if there is work it could take. */
void smarm__wakep(void);
/* First thing a new actor does on its own stack. */
void smarm__sched_started(struct smarm__actor *self);
/* A timer with an earlier deadline than the poller's was added. */
void smarm__timer_poke(int64_t when);

/* Drop-in strict mode (shim/strict.c): if set, every carrier calls it on
 * its own thread once, before it runs its first actor, after carrier 0
 * has started the other carriers and the monitor (so none of those
 * inherits what it installs).  NULL in link mode. */
extern void (*smarm__carrier_start_hook)(struct smarm__carrier *c);
int smarm__sched_init(const struct smarm_config *cfg);
/* Run carrier 0's loop on the calling thread until the runtime stops. */
int smarm__sched_run(void);
void smarm__sched_fini(void);
/* io.c hooks: events from the epoll set owned by sched.c. */
void smarm__io_ready(void *ptr, uint32_t events);
/* For handoff.c.  A new zeroed record at carriers[i] (role RUN), published
 * in nrecords; NULL if out of memory.  Never switches. */
struct smarm__carrier *smarm__carrier_new(int i);
/* A carrier thread's whole life on record c: bind, the loop, unbind. */
void smarm__carrier_body(struct smarm__carrier *c);
/* Move c's runnext and ring to the global queue and wake a carrier for
 * them.  Safe from any thread (it takes as a thief does).  Never switches. */
void smarm__runq_drain(struct smarm__carrier *c);
/* Runnable actors queued anywhere, or a timer due?  Never switches. */
bool smarm__work_waits(void);

/* ---- handoff.c: spare carriers for carriers stuck outside the runtime
 * (DESIGN D3b).  See handoff.c's header. */
/* Read SMARM_HANDOFF and SMARM_MAX_CARRIERS for a run of `want` carriers;
 * returns the record cap.  sched_init calls it. */
int smarm__handoff_init(int want);
bool smarm__handoff_enabled(void);
/* sched.c's fork reset: forget the parent's carrier threads. */
void smarm__handoff_fork_child(void);
/* sched_run, on carrier 0 once carriers 1..want-1 exist, before the
 * monitor starts; and at the end, after the monitor has stopped: wake and
 * join every carrier thread but the caller's. */
void smarm__handoff_start(void);
void smarm__handoff_join_all(void);
/* The monitor's look (preempt.c), once per wake-up.  Never switches. */
void smarm__handoff_look(int64_t now, int64_t slice);
/* find_work: c's role is not RUN.  Park until c runs again (true) or its
 * thread is to end (false: it retired for good, or the runtime stops). */
bool smarm__handoff_retire(struct smarm__carrier *c);
/* Counters, for SMARM_STATS (relaxed snapshots). */
struct smarm__handoff_stats {
	uint64_t handoffs;       /* carriers released by the monitor */
	uint64_t spares_started; /* carrier threads started after start-up */
	uint64_t spares_reused;  /* parked carriers put back to work */
	uint64_t spares_exited;  /* carrier threads ended after an idle period */
	uint64_t at_cap;         /* hand-offs refused: SMARM_MAX_CARRIERS reached */
	int threads;             /* carrier threads alive now */
	int peak;                /* most carrier threads alive at once */
	int running;             /* carriers in role RUN now */
	int released;            /* released carriers not yet back */
	int parked;              /* parked carriers */
};
void smarm__handoff_stats(struct smarm__handoff_stats *st);
/* Tests shorten these: how long a parked spare waits before it ends, and
 * how many parked carriers are kept without that limit. */
extern int64_t smarm__handoff_idle_ns;
extern int smarm__handoff_keep;
/* Drop-in signals (shim/signal.c sets these; NULL in link mode).
 * switch_hook runs right after a switch, on the actor switched to (a), when
 * a->sigmask differs from c->sigmask or a->sigpend is set, and on a carrier
 * binding or about to sleep (a NULL) when c->sigmask is not
 * smarm__sig_idle_mask (at bind: always).
 * event_hook runs on a carrier when the epoll item whose data.ptr is
 * SMARM__SIG_TOKEN fires.  Neither switches. */
extern void (*smarm__sig_switch_hook)(struct smarm__carrier *c, struct smarm__actor *a);
extern void (*smarm__sig_event_hook)(void);
extern uint64_t smarm__sig_idle_mask;
#define SMARM__SIG_TOKEN ((void *)&smarm__sig_event_hook)

/* ---- preempt.c: time slices, safe points, the monitor, SIGURG ----
 * The monitor thread asks an actor that has run for a slice to yield by
 * setting c->preempt; safe points (the malloc family, SMARM_CHECK, the
 * SIGURG handler when the interrupted code is the program's own) honour
 * it.  See preempt.c's header for the rules. */
/* Read the configuration (smarm_config, SMARM_PREEMPT, SMARM_SLICE) for the
 * next run.  -EINVAL for bad configuration fields.  sched_init calls it. */
int smarm__preempt_init(const struct smarm_config *cfg);
/* Start the monitor (and install the SIGURG handler in signal mode) once
 * every carrier thread exists; stop and join it before any carrier thread
 * is joined.  sched_run calls both, on carrier 0. */
void smarm__preempt_start(void);
void smarm__preempt_stop(void);
/* A carrier left the idle list: wake the monitor if it sleeps because
 * every carrier was asleep.  Never switches. */
void smarm__preempt_carrier_awake(void);
/* The malloc family's slow path, called only when c->preempt is set;
 * `caller` is the return address of the allocation call: it yields only if
 * that lies in the program's own code.  May switch, may not return (an
 * exit point, as every preemption is). */
void smarm__preempt_alloc(const void *caller);
/* Is pc in the program's own code (the main executable's text, smarm's
 * excluded)?  Async-signal-safe. */
bool smarm__preempt_app_code(uintptr_t pc);
/* Counters since the process started (relaxed snapshots). */
struct smarm__preempt_stats {
	uint64_t requests;   /* flags the monitor set */
	uint64_t signals;    /* SIGURGs the monitor sent */
	uint64_t by_alloc;   /* yields at a malloc-family call */
	uint64_t by_check;   /* yields at SMARM_CHECK / smarm_preempt_point */
	uint64_t by_signal;  /* yields inside the SIGURG handler */
	uint64_t deferred;   /* SIGURGs that landed outside the program's code */
	uint64_t migrated;   /* signal preemptions resumed on another carrier */
	uint64_t looks;      /* monitor wake-ups */
	uint64_t monitor_cpu_ns; /* CPU time of monitor threads that have ended */
};
void smarm__preempt_stats(struct smarm__preempt_stats *st);
/* The monitor's view of carrier threads, for handoff.c (monitor thread
 * only): start watching the thread now running record i, and the
 * scheduler state letter of that thread ('R', 'S', 'D' ...; 0 unknown). */
void smarm__monitor_bind(int i, unsigned long thread);
char smarm__monitor_thread_state(int i);
/* That thread's CPU time, ns; -1 if unknown. */
int64_t smarm__monitor_thread_cpu(int i);

/* ---- fault.c: faults in actors become their panics, on a per-carrier
 * altstack (see fault.c's header for what is and is not caught). */
int smarm__fault_init_thread(struct smarm__carrier *c);
void smarm__fault_fini_thread(struct smarm__carrier *c);
/* Install the handlers (once per process) and read SMARM_FAULTS. */
void smarm__fault_install(void);

/* ---- actor.c, link.c, supervisor.c: the failure model ----
 *
 * Stop requests.  The SMARM__EXIT_HOW bits of a->exit_req are 0 while
 * nobody has asked a to stop.  A stopper (smarm_kill, a link, a deadline
 * timer, a supervisor) CASes the SMARM_EXIT_* it asks for into them (the
 * first request wins; the reason goes into a->fate->reason first, under a's
 * slot lock), and unless a defers, calls smarm__flush_cpus() and then
 * smarm__wake(a, -ECANCELED).  smarm__park
 * checks smarm__exit_due() after the caller's WAITING store and, if due,
 * does not wait: it returns -ECANCELED at once.  The flush is what makes
 * that check sound without a fence on the park path: either the stopper's
 * CAS on state sees WAITING, or the parker's load sees the request (the
 * asymmetric Dekker pattern of membarrier(2)).
 *
 * So every wait may now return -ECANCELED, deadline or not.  Code that
 * cannot abandon its wait (a job on another thread that still uses the
 * waiter's stack) brackets it with smarm__exit_defer/smarm__exit_undefer, and
 * code that must wait to finish (a supervisor stopping its children) runs
 * deferred.  The actor ends at the next smarm__exit_point: smarm__yield
 * (explicit yields and preemption), smarm_sleep, or its own return.
 *
 * SMARM__EXIT_DEFER, set by the owner: requests are held off (parks wait,
 * exit points do not end it).  An ending actor that runs cleanup handlers
 * sets it for good, so requests that come late are ignored and its
 * handlers may park. */
#define SMARM__EXIT_HOW 0xff
#define SMARM__EXIT_DEFER 0x100
/* A stop request is pending and not deferred.  Never switches. */
static inline bool smarm__exit_due(struct smarm__actor *a)
{
	int v = atomic_load_explicit(&a->exit_req, memory_order_acquire);
	return unlikely(v != 0) && (v & SMARM__EXIT_HOW) && !(v & SMARM__EXIT_DEFER);
}
/* Hold off stop requests for the caller, and put back the previous state
 * (pass defer's result: brackets nest).  After the bracket the caller
 * should pass an exit point or report -ECANCELED.  Never switch. */
bool smarm__exit_defer(struct smarm__actor *self);          /* was deferred */
void smarm__exit_undefer(struct smarm__actor *self, bool was); /* restore */
/* If a stop request is due, end the calling actor here (its cleanup
 * handlers run); otherwise return.  Call only where the actor holds no
 * runtime state (no lock, nothing published on a wait queue).  May switch,
 * may not return. */
void smarm__exit_point(struct smarm__actor *self);
/* Ask pid to stop with `how` and `reason` (see above).  0 (asked, or it was
 * already stopping), -ESRCH, -ENOMEM.  The caller itself ends at once.
 * Never switches (otherwise). */
int smarm__exit_request(smarm_pid_t pid, int how, const char *reason);
/* The same for an actor whose slot lock the caller holds and whose fate
 * exists.  Never switches. */
void smarm__request_locked(struct smarm__actor *a, int how, const char *reason);
/* A full barrier on every CPU running one of our threads (membarrier(2),
 * else an mprotect TLB shoot-down).  Never switches. */
void smarm__flush_cpus(void);

/* fail_stage: what the fault handler may do with a fault in this actor. */
enum {
	SMARM__STAGE_RUN = 0,     /* running its code: a fault is its panic */
	SMARM__STAGE_CLEANUP,     /* running cleanup handlers: skip the rest */
	SMARM__STAGE_END,         /* runtime bookkeeping: a fault here crashes */
};
/* An ending in progress (smarm__actor_end's frame; a->ending points to it). */
struct smarm__ending {
	int how;
	int flags;
	void *value;
	char reason[SMARM_REASON_MAX];
};
/* End the calling actor.  how/value/reason as it ended by itself; a pending
 * stop request turns a NORMAL end into the requested one.  flags:
 * SMARM__END_HANDLERS runs its cleanup handlers first; SMARM__END_LOGGED: the
 * fault handler already reported it. */
#define SMARM__END_HANDLERS 1
#define SMARM__END_LOGGED 2
__attribute__((noreturn)) void smarm__actor_end(struct smarm__actor *self, int how,
						void *value, const char *reason,
						int flags);

/* Per-actor supervision state (a->fate), allocated on first use (a link, a
 * monitor, a stop request, a parent, a deadline): the plain spawn path never
 * pays for it.  Fields marked [slot] are read and written only under the
 * owner's slot lock (smarm__pid_lock), which also pins the owner. */
struct smarm__link {              /* one end of a link, held by each side */
	struct smarm__link *next;
	smarm_pid_t pid;              /* the other end */
};
struct smarm__monitor {           /* one end of a monitor, held by each side */
	struct smarm__monitor *next;
	smarm_pid_t pid;              /* the other side: watcher, or watched */
	uint64_t ref;
};
struct smarm__fate {
	struct smarm__actor *self;    /* [new] whose this is */
	smarm_pid_t parent;           /* [spawn] told how we ended; 0: nobody */
	bool trap;                    /* [slot] link exits arrive as notices */
	struct smarm__link *links;    /* [slot] */
	struct smarm__monitor *monitors; /* [slot] who watches us */
	struct smarm__monitor *watching; /* [slot] whom we watch */
	struct smarm__timer deadline; /* [s] the spawn timeout: armed by the actor
	                               * when it starts, deleted when it ends */
	int64_t timeout;              /* [spawn] ns, 0: none */
	int64_t due;                  /* [spawn] spawn time + timeout */
	void *sup;                    /* [slot] supervisor.c: our state if we are one */
	char reason[SMARM_REASON_MAX]; /* [slot, before the CAS] the stop request's */
};
/* a's fate, installing *spare if a has none (then *spare = NULL).  Call with
 * a's slot lock held (or before a is published). */
struct smarm__fate *smarm__fate_of(struct smarm__actor *a, struct smarm__fate **spare);
struct smarm__fate *smarm__fate_new(void);
/* link.c: act on a detached fate after smarm__pid_exit: notices to the
 * parent, links and monitors; stop linked actors; free f.  Never switches. */
void smarm__fate_deliver(struct smarm__actor *self, struct smarm__fate *f, int how,
			 void *value, const char *reason);
/* link.c: the spawner's half of SMARM_SPAWN_LINK: put `back` (allocated by
 * the caller) into self's links, pointing at the new actor a (published,
 * not yet running); *spare becomes self's fate if it has none (then
 * *spare = NULL; the caller frees what is left).  Never switches. */
void smarm__link_spawned(struct smarm__actor *self, struct smarm__actor *a,
			 struct smarm__link *back, struct smarm__fate **spare);
/* Fill a notice's fixed part; returns the bytes to send (cut after the
 * reason's NUL).  Never switches. */
size_t smarm__notice_fill(struct smarm_notice *n, smarm_pid_t pid, const char *name,
			  int how, void *value, const char *reason, int via,
			  uint64_t ref);
/* snprintf that may cut its output on purpose (reasons are bounded).
 * Async-signal-safe with the conversions smarm__msg allows. */
__attribute__((format(printf, 3, 4))) void smarm__fmt(char *buf, size_t len,
						     const char *fmt, ...);
/* supervisor.c, for tests: called by a supervisor right after it has
 * spawned a child (so the order of calls is the start order). */
extern void (*smarm__sup_trace)(smarm_pid_t sup, const char *child, smarm_pid_t pid);
/* The notice kind (SMARM_MSG_EXIT/PANIC/TIMEOUT) for an end. */
int smarm__notice_kind(int how);

/* ---- mutex.c, for the drop-in shim (shim/sync.c) ----
 * Bits SMARM__MUTEX_TAG of smarm_mutex_init's flags are the caller's: kept,
 * never read by the runtime (the shim keeps the pthread mutex kind there).
 * smarm__mutex_adopt: glibc's static initialisers for non-default kinds
 * leave a small number where the runtime keeps its wait-queue pointer
 * (always 8-aligned, so never 1..7); the first pthread call on such a
 * mutex replaces that number `found` by an empty queue, with `flags`.
 * Both never switch. */
#define SMARM__MUTEX_TAG_SHIFT 16
#define SMARM__MUTEX_TAG 0xffff0000u
unsigned smarm__mutex_tag(const smarm_mutex_t *m);
void smarm__mutex_adopt(smarm_mutex_t *m, uintptr_t found, unsigned flags);

/* ---- config.c ---- */
long smarm__env_long(const char *name, long dflt, long min, long max);
size_t smarm__env_size(const char *name, size_t dflt, size_t min, size_t max);
int smarm__online_cpus(void);

/* ---- clock ---- */
static inline int64_t smarm__now(void)
{
	return smarm_now();
}
/* The absolute deadline for a relative timeout, as smarm__park takes it:
 * -1 for none (a negative timeout, or a sum that would overflow), 0 for a
 * poll (timeout 0: already past), else now + timeout.  The one place every
 * blocking call turns a timeout into a deadline.  Never switches. */
static inline int64_t smarm__deadline(int64_t timeout)
{
	int64_t now;

	if (timeout <= 0)
		return timeout < 0 ? -1 : 0;
	now = smarm_now();
	return timeout > INT64_MAX - now ? -1 : now + timeout;
}

/* ---- mailbox.c (smarm__mbox_free is declared weak next to the actor) ---- */
/* Deliver a message of `kind` (SMARM_MSG_DATA or a runtime notice) from
 * `from` to actor `to`: the supervisor's way to post Exit/Panic notices.
 * -ESRCH, -EINVAL, -ENOMEM.  Never switches (in link mode). */
int smarm__mbox_post(smarm_pid_t to, int kind, smarm_pid_t from, const void *data,
		     size_t len);

/* ---- io.c: fds for actors; the netpoller's half of the epoll set that
 * sched.c owns (it calls smarm__io_ready, declared with sched.c, for every
 * event whose data.ptr is set). */
/* Actors parked on fd readiness.  Carriers reap the epoll set without
 * blocking only while it is non-zero, so pure-CPU work never pays for I/O. */
extern _Atomic int smarm__io_waiters;
/* The runtime stopped and its epoll set is closed: every registration is
 * void (run.c, after smarm__sched_fini). */
void smarm__io_fini(void);

/* ---- io.c, for the drop-in shim (shim/io.c, shim/poll.c): the shim makes
 * its own system calls (native semantics) and parks between attempts.
 * smarm__fd_snap before an attempt; smarm__fd_park after it said EAGAIN:
 * 0 (an edge came: try again), -ETIMEDOUT, -EBADF (a single fd was
 * closed; with several, 0), -EPERM (a single fd without readiness: a
 * regular file), -ECANCELED, -ENOMEM, or whatever a waker passed.  Green
 * threads only; the park may switch, nothing else here does. */
enum { SMARM__FD_SOCK = 1, SMARM__FD_NOWAIT, SMARM__FD_POLL, SMARM__FD_FILE };
#define SMARM__FD_RD 1
#define SMARM__FD_WR 2
struct smarm__fdsel {
	int fd;
	unsigned dirs;         /* SMARM__FD_RD | SMARM__FD_WR: what to wait for */
	void *rec;             /* io.c's, set by smarm__fd_snap */
	uint32_t seq[2], cgen; /* the snapshot */
};
/* 0, -EBADF (negative fd), -EINVAL (fd beyond io.c's table), -ENOMEM. */
int smarm__fd_snap(struct smarm__fdsel *s);
/* How to call it without blocking (SMARM__FD_*, cached), or -errno. */
int smarm__fd_kind(const struct smarm__fdsel *s);
void smarm__fd_set_kind(const struct smarm__fdsel *s, int kind);
int smarm__fd_park(struct smarm__fdsel *s, int n, int64_t deadline);
/* Take turns between a poll(0) and the call it allows (io.c, turn_take). */
bool smarm__fd_turn_take(const struct smarm__fdsel *s);
void smarm__fd_turn_give(const struct smarm__fdsel *s);
/* fd was just made by the kernel (accept): forget the number's past. */
void smarm__fd_renew(int fd, int kind);
/* smarm_io_forget for every fd in [first, last] io.c has a record of. */
void smarm__fd_forget_range(unsigned first, unsigned last);

/* ---- pool.c: OS threads that run blocking calls for parked actors. */
struct smarm__pool_job {
	struct smarm__pool_job *next; /* [pool lock] queue link */
	smarm_fn fn;                  /* [submit] what to run, in a pool thread */
	void *arg;                    /* [submit] */
	void *result;                 /* [lock] fn's return value once done */
	smarm__lock_t lock;           /* orders completion against the waiter */
	bool done;                    /* [lock] set by the worker */
	struct smarm__actor *actor;   /* [lock] the parked waiter, NULL if none */
};
/* Queue fn(arg) (j usually lives on the caller's stack and must stay there
 * until smarm__pool_wait says done).  -EAGAIN when no pool thread exists and
 * none can be made: the job was not queued.  Never switches. */
int smarm__pool_submit(struct smarm__pool_job *j, smarm_fn fn, void *arg);
/* Park the calling actor until j is done (0) or the deadline (absolute ns,
 * -1 none) passes (-ETIMEDOUT: j still runs and still uses its memory; wait
 * again before letting it go).  Actors only.  May switch. */
int smarm__pool_wait(struct smarm__pool_job *j, int64_t deadline);
/* If set, pool threads are created through it instead of pthread_create
 * (strict mode: by a thread without the carriers' seccomp filter, so pool
 * threads never inherit it).  Same contract as pthread_create; the new
 * thread starts with the calling thread's signal mask. */
extern int (*smarm__pool_create_hook)(pthread_t *t, const pthread_attr_t *attr,
				      void *(*fn)(void *), void *arg);
/* Threads now, of which idle, and jobs run since the start. */
void smarm__pool_stats(int *threads, int *idle, int64_t *runs);
/* How long a pool thread waits for work before it exits (tests shorten it). */
extern int64_t smarm__pool_idle_ns;

/* ---- stats.c, dump.c, deadlock.c: seeing inside (LOOM.md "Seeing
 * inside").  The hooks other files call are cheap: the park hook is an
 * inline table probe on the carrier the actor runs on. */
/* Count a park of kind `what` on carrier c.  Never switches. */
static inline void smarm__stats_park(struct smarm__carrier *c, const char *what)
{
	struct smarm__cstats *s = &c->stats;
	unsigned h = (unsigned)((uintptr_t)what >> 3);

	for (unsigned i = 0; i < 4; i++, h++) {
		h &= SMARM__PARK_KINDS - 1;
		if (likely(s->park_what[h] == what)) {
			s->park_n[h]++;
			return;
		}
		if (!s->park_what[h]) {
			s->park_what[h] = what;
			s->park_n[h] = 1;
			return;
		}
	}
	s->park_other++;
}
/* Spawns and the peak of alive actors seen by threads that are not
 * carriers (the root's spawn, foreign threads).  Never switches. */
void smarm__stats_off_carrier(long alive, bool spawned);
/* An actor was spawned (actor.c, once it is queued).  Never switches. */
static inline void smarm__stats_spawned(void)
{
	struct smarm__carrier *c = smarm__tls_carrier;

	if (likely(c != NULL))
		c->stats.spawned++;
	else
		smarm__stats_off_carrier(0, true);
}
/* n actors are alive now (smarm__alive_get, after taking a place).  Never
 * switches. */
static inline void smarm__stats_alive(long n)
{
	struct smarm__carrier *c = smarm__tls_carrier;

	if (unlikely(c == NULL))
		smarm__stats_off_carrier(n, false);
	else if (n > c->stats.peak_alive)
		c->stats.peak_alive = n;
}
/* Carriers are about to be freed: keep their counters (sched_fini). */
void smarm__stats_fold(void);
/* Print the statistics to fd (SMARM_STATS=1 does so at exit). */
void smarm__stats_print(int fd);
/* CLOCK_MONOTONIC_COARSE (a vDSO memory read, ~13 ns here against ~60 ns
 * for CLOCK_MONOTONIC; a few ms behind smarm_now at most): what pick()
 * refreshes c->stats.clock with every 64th switch.  Never switches. */
int64_t smarm__coarse_now(void);

/* dump.c: bring up what smarm_run needs for dumps, statistics and
 * deadlock reports (SIGQUIT handler and its thread, SMARM_STATS), once per
 * process; run.c calls it after sched_init.  Never switches. */
void smarm__inside_init(void);
/* Is handler dump.c's SIGQUIT handler?  Never switches. */
bool smarm__dump_owns_quit(void *handler);
/* The OS thread id of the dump thread, 0 if none (deadlock.c). */
int smarm__dump_tid(void);
/* Write the dump of every actor to fd (smarm_dump's body).  Takes slot
 * locks one at a time; never switches. */
int smarm__dump_write(int fd, bool json);
extern bool smarm__dump_json; /* [init] SMARM_DUMP_FORMAT=json */
extern bool smarm__dump_on;   /* [init] SMARM_DUMP != off */
extern bool smarm__stats_on;  /* [init] SMARM_STATS=1 */

/* deadlock.c.  Green threads waiting for something the runtime cannot
 * see (sigwait, pause, sigsuspend ...: the signal shim) are counted here
 * for their whole wait: increment before smarm__wait_prepare, decrement
 * after smarm__park returns (the waiter itself, once it runs again).
 * While it is non-zero, the runtime never declares a deadlock. */
extern _Atomic int smarm__outside_waiters;
/* The last carrier is about to sleep (sched.c's find_work, on the idle
 * list, having found no work).  If every actor is parked and nothing can
 * wake one, report the deadlock and exit the process with status 2.
 * Otherwise return how long the carrier may sleep before it should look
 * again (relative ns), or -1 for no limit: a thread outside the runtime
 * exists, which may act or end at any time.  Never switches. */
int64_t smarm__deadlock_idle(struct smarm__carrier *c);
/* A mutex lock by self timed out: if m's owner chain leads back to self,
 * report the wait-for cycle on stderr (once per cycle).  Never switches. */
void smarm__deadlock_mutex_timeout(struct smarm__actor *self, void *m);
/* mutex.c, for reports: the owner of a mutex by its internal address (the
 * smarm_mutex_t), 0 if free; *foreign set when a thread outside the
 * runtime holds it.  Racy reads.  Never switches. */
smarm_pid_t smarm__mutex_owner_of(const void *m, bool *foreign);
/* pid.c, for reports: the number of slots ever made, and a visit of slot i
 * under its lock: fn(actor, arg) runs with the actor pinned when the slot
 * is live.  False if the slot holds no live actor.  fn must not take
 * another slot lock.  Never switches. */
uint32_t smarm__pid_slots(void);
bool smarm__pid_visit(uint32_t i, void (*fn)(struct smarm__actor *a, void *arg), void *arg);
/* Rename a live actor (the shim's pthread_setname_np): -ESRCH.  Never
 * switches. */
int smarm__pid_set_name(smarm_pid_t pid, const char *name);
/* The pid of the actor a join slot belongs to (racy, for reports). */
smarm_pid_t smarm__pid_of_slot(const void *slot);
/* symbols.c: name the function holding return address pc (dladdr, then the
 * object file's own symbol table).  False: no name (obj and off may still
 * be set: off is then from the object's base).  Never switches. */
struct smarm__sym {
	const char *name;   /* NULL: unknown */
	uintptr_t off;      /* from name, or from the object's base */
	const char *obj;    /* the object's file name, NULL: unknown */
};
bool smarm__symbolise(uintptr_t pc, struct smarm__sym *y);
/* The same for a data address (a global mutex): its object symbol. */
bool smarm__symbolise_data(const void *p, struct smarm__sym *y);
/* io.c, for reports: the fd of an "fd read"/"fd write" wait object. */
int smarm__io_fd_of(const void *obj);
/* deadlock.c: note the thread that runs carrier 0 (run.c, via
 * smarm__inside_init, on that thread). */
void smarm__deadlock_init(void);
/* ---- gfutex.c: futex waits for green threads (strict mode).  A table of
 * parked actors keyed by address, checked and queued under a bucket lock
 * as the kernel does, so a wake that follows a change of the word is never
 * lost.  It knows nothing of wakes made by the kernel's futex(2) (other OS
 * threads, other processes): a waiter looks at its word again every
 * SMARM__GFUTEX_RECHECK ns and returns 0 if it changed (futex waits may
 * wake spuriously; callers check their word). */
#define SMARM__GFUTEX_RECHECK 10000000
/* 0 (woken, or the word changed), -EAGAIN (*w != val at the start),
 * -ETIMEDOUT (absolute deadline in ns, -1 none), -EINTR (the actor is being
 * stopped).  Actors only.  May switch. */
int smarm__gfutex_wait(_Atomic uint32_t *w, uint32_t val, uint32_t bitset, int64_t deadline);
/* Wake up to n green waiters on w whose bitset meets `bitset`; returns how
 * many.  Callable from any thread.  Never switches. */
int smarm__gfutex_wake(_Atomic uint32_t *w, int n, uint32_t bitset);

/* ---- fork.c: the runtime in a forked child (see fork.c's header) ---- */
/* Register the child-side reset (pthread_atfork), once per process.
 * sched_init calls it.  Never switches. */
void smarm__fork_init(void);
/* Rebuild the runtime around the calling actor in a fork's child; 0 when
 * the caller is not an actor.  Ends with one yield. */
int smarm__fork_child(void);
/* Drop-in mode: a new TCB for the child carrier's idle loop (NULL: out of
 * memory).  NULL hook: keep the carrier's own (link mode). */
extern void *(*smarm__fork_tcb_hook)(void);
/* The per-file halves, each on its own statics.  Never switch. */
void smarm__pid_fork_child(struct smarm__actor *keep); /* others DEAD, locks reset */
void smarm__timer_fork_child(void);
void smarm__pool_fork_child(void);
void smarm__stack_fork_child(void);
/* c becomes the only carrier (id 0) with empty queues, a fresh epoll set
 * and eventfd, and `tcb` (if not NULL) as its own TCB; the caller gives it
 * an idle context.  -errno if the new epoll set cannot be made. */
int smarm__sched_fork_child(struct smarm__carrier *c, void *tcb);
/* The child carrier's idle loop: finish the switch that started it and run
 * until the runtime stops. */
void smarm__sched_fork_idle(struct smarm__carrier *c);
/* Queue the calling actor and switch to its carrier's (new) idle context,
 * which runs it again.  May switch (it does). */
void smarm__sched_fork_start(void);

#endif
