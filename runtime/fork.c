/* fork.c — a working runtime in the child of a fork() made by an actor.
 *
 * fork(2) copies one OS thread: the carrier that ran the forking actor.
 * Natively the child keeps only the calling thread; here it keeps only the
 * calling actor, running on that carrier, and everything the other
 * carriers, the monitor and the pool threads were doing is gone — possibly
 * in the middle of a critical section.  So the child, before the program
 * sees fork() return 0, rebuilds the runtime around the forking actor:
 *
 *   - every other actor is marked DEAD (pid.c walks the slot table), so no
 *     wait queue, timer or fd can ever wake a thread that does not exist
 *     here: a waker's CAS from WAITING fails and it moves on, exactly as
 *     with an actor that timed out.  Their stacks and records stay mapped
 *     (copies of the parent's) and are never reused; their slots stay LIVE,
 *     so joining one waits for ever, as joining a thread that vanished in a
 *     fork does natively (undefined there);
 *   - the locks that vanished threads may hold and that the runtime itself
 *     takes are re-initialised: the slot locks and the slot free list
 *     (pid.c), the timer wheel's lock (timer.c), the pool's mutex and queue
 *     (pool.c), the run queues and the idle list (sched.c);
 *   - the carrier becomes carrier 0 of one (SMARM_THREADS is the parent's
 *     business: a child that wants parallelism can exec itself), with a
 *     fresh epoll set and eventfd — the parent's epoll instance is shared
 *     across fork, so the child must not sleep in it, nor the parent's
 *     events wake the child — and every fd registration is void (io.c's
 *     epoch; the fds register again in the new set on their next wait);
 *   - the carrier's idle loop gets a new stack and context: the old one is
 *     on the carrier thread's own pthread stack, which the child's glibc may
 *     have put back in its stack cache (in drop-in mode glibc's "self" in the
 *     child is the green thread's TCB, not the carrier's);
 *   - the monitor is started again (preempt.c stopped counting it in its own
 *     atfork handler); the pool starts threads on demand as ever.
 *
 * It runs as a pthread_atfork child handler (registered once, the first
 * time a runtime starts), so it also covers forks the program does not call
 * itself (glibc's daemon() calls its internal __fork), and it runs before
 * the handlers the program registers later — which may lock and unlock,
 * and so must find a runtime.  Handlers a program registered before the
 * runtime started (constructors) run before it; so do glibc's own resets.
 * A fork from a thread that is not an actor (no runtime in the child's
 * thread) changes nothing.
 *
 * Drop-in mode (smarm__fork_tcb_hook, set by the shim): the child's carrier
 * needs a TCB of its own for its idle loop, since the one it had is the
 * parent carrier's pthread, which glibc in the child has forgotten.
 *
 * What remains a hazard: a runtime lock that is not in the list above (a
 * channel's, a mailbox's, an fd record's) held by another carrier at the
 * instant of the fork stays held in the child.  These are held for a few
 * instructions, never across a switch; the program's own pthread mutexes
 * behave as natively (a mutex another thread held stays locked).
 *
 * Strict mode (issue 9) must not fork on a carrier that has a seccomp
 * filter.  The reset does not care which OS thread it runs on: a fork made
 * by an unfiltered pool thread while the actor waits parked can run the
 * same steps in the child, then switch to the parked actor's saved context
 * instead of continuing it (smarm__fork_child with the actor as `self` and
 * the pool thread's TCB as the idle loop's).
 *
 * Switching: the reset runs on the forking actor and ends with one switch
 * to the new idle context, which starts the monitor there (on the carrier's
 * own TCB, whose tid the monitor signals) and runs the actor again; nothing
 * else here switches.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define IDLE_STACK ((size_t)256 << 10)

void *(*smarm__fork_tcb_hook)(void);

/* The child's idle loop, on its new stack.  When the runtime stops (the
 * last actor ended) the process ends with status 0, as it does natively
 * when its last thread exits. */
static void child_idle(void *arg)
{
	struct smarm__carrier *c = arg;

	smarm__preempt_start();
	smarm__sched_fork_idle(c);
	smarm__preempt_stop();
	exit(0);
}

int smarm__fork_child(void)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *self = c ? c->current : NULL;
	void *tcb = NULL;
	char *stk;
	int r;

	if (!self)
		return 0; /* not an actor: nothing of ours runs here */
	stk = mmap(NULL, IDLE_STACK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		return -ENOMEM;
	if (smarm__fork_tcb_hook && !(tcb = smarm__fork_tcb_hook())) {
		munmap(stk, IDLE_STACK);
		return -ENOMEM;
	}
	smarm__pid_fork_child(self);
	smarm__timer_fork_child();
	smarm__pool_fork_child();
	smarm__stack_fork_child();
	atomic_store(&smarm__io_waiters, 0);
	smarm__io_fini(); /* the old set's registrations mean nothing here */
	if ((r = smarm__sched_fork_child(c, tcb)) < 0)
		return r;
	c->idle_stack_lo = stk;
	c->idle_stack_size = IDLE_STACK;
	smarm__ctx_make(&c->idle_ctx, stk + IDLE_STACK, child_idle, c);
	/* Start the idle loop (it starts the monitor, then runs us again). */
	smarm__sched_fork_start();
	return 0;
}

static void atfork_child(void)
{
	int r = smarm__fork_child();

	if (r < 0) {
		smarm__msg("fork: cannot rebuild the runtime in the child (%d)", r);
		_exit(127);
	}
}

static void register_once(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

void smarm__fork_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_once);
}
