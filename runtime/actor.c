/* actor.c — spawn, the entry trampoline, how an actor ends, panics, stop
 * requests and cleanup handlers, and the pid-taking calls.
 *
 * An actor's life: smarm_spawn takes a stack (whose top holds the record),
 * a pid slot, builds a fresh context whose first frame is smarm__ctx_entry
 * -> trampoline, and makes it runnable (it runs next on the spawner's
 * carrier, in runnext, unless stolen).  The plain spawn path allocates
 * nothing and takes no lock beyond the slot's; children, links and spawn
 * timeouts hang a struct smarm__fate off the record (one calloc) only when
 * asked for.
 *
 * Every end goes through smarm__actor_end, on the actor's own stack.  The
 * plain one (the function returned; no handlers, no request, no fate) takes
 * a short path: a few loads, pid_exit, the switch.  Otherwise (end_slow):
 *   1. if cleanup handlers are to run, exit_req |= DEFER first (later stop
 *      requests are ignored, and handlers may park), and fail_stage is
 *      CLEANUP while they run (a fault in one skips the rest instead of
 *      recursing); a->ending points at the end under way, so a handler
 *      that calls smarm_exit or smarm_panic continues it;
 *   2. a pending stop request turns a NORMAL end into the requested one;
 *   3. fail_stage END: runtime bookkeeping only.  The spawn timeout is
 *      deleted, the slot publishes how/value/reason to a joiner (or is
 *      freed), and smarm__pid_exit hands back the fate, which nobody else
 *      can reach any more; link.c then tells the parent, the links and the
 *      monitors;
 *   4. the mailbox is freed (only now: senders pin us through the slot) and
 *      sched.c switches away for good; the next context frees the stack.
 * A panic is the same path entered from smarm_panic (deeper in the same
 * stack, so the frames that cleanup handlers refer to are intact), and a
 * fault the same path entered from fault.c's signal trampoline.
 *
 * Stop requests (internal.h, "the failure model"): a stopper CASes the
 * request into exit_req, flushes the CPUs (smarm__flush_cpus) and wakes the
 * target with -ECANCELED.  smarm__exit_point ends the actor when a request
 * is due; sched.c calls it from smarm__yield and smarm_sleep.
 *
 * smarm__alive counts actors from spawn until their last switch; when it
 * reaches zero, smarm_run's carriers stop.
 */
#include <linux/membarrier.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

_Atomic long smarm__alive;
bool smarm__root_is_main;

#define MAX_STACK ((size_t)1 << 30)
#define MIN_STACK ((size_t)16 << 10)
#define SPAWN_FLAGS (SMARM_SPAWN_DETACHED | SMARM_SPAWN_CHILD | SMARM_SPAWN_LINK)

const char *smarm_exit_str(int how)
{
	switch (how) {
	case SMARM_EXIT_NORMAL: return "normal";
	case SMARM_EXIT_PANIC: return "panic";
	case SMARM_EXIT_KILLED: return "killed";
	case SMARM_EXIT_SHUTDOWN: return "shutdown";
	case SMARM_EXIT_TIMEOUT: return "timeout";
	default: return "?";
	}
}

void smarm__fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* For reports: "panicked", "was killed" ... */
static const char *ended_how(int how)
{
	switch (how) {
	case SMARM_EXIT_PANIC: return "panicked";
	case SMARM_EXIT_KILLED: return "was killed";
	case SMARM_EXIT_SHUTDOWN: return "was shut down";
	case SMARM_EXIT_TIMEOUT: return "timed out";
	default: return "ended";
	}
}

/* ---- fates ------------------------------------------------------------ */

struct smarm__fate *smarm__fate_new(void)
{
	return calloc(1, sizeof(struct smarm__fate));
}

struct smarm__fate *smarm__fate_of(struct smarm__actor *a, struct smarm__fate **spare)
{
	struct smarm__fate *f = a->fate;

	if (!f && spare && *spare) {
		f = *spare;
		*spare = NULL;
		f->self = a;
		/* The owner reads its own a->fate without the slot lock. */
		__atomic_store_n(&a->fate, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* The owner's view of its own fate (installed by others under the slot
 * lock, so read it atomically).  Never switches. */
static struct smarm__fate *own_fate(struct smarm__actor *self)
{
	return __atomic_load_n(&self->fate, __ATOMIC_ACQUIRE);
}

/* ---- stop requests ------------------------------------------------------ */

/* membarrier(2) where the kernel has it; otherwise an mprotect downgrade
 * of a page every CPU may have in its TLB, whose shoot-down IPIs serialise
 * each CPU running one of our threads (what FlushProcessWriteBuffers does).
 * Stops are rare; the park path it protects is hot. */
void smarm__flush_cpus(void)
{
	static _Atomic int mode; /* 0 untried, 1 membarrier, 2 mprotect */
	static smarm__lock_t page_lock = SMARM__LOCK_INIT;
	static volatile char *page;
	int e = errno, m = atomic_load_explicit(&mode, memory_order_relaxed);

	atomic_thread_fence(memory_order_seq_cst);
	if (m == 0) {
		m = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)
			== 0 ? 1 : 2;
		atomic_store_explicit(&mode, m, memory_order_relaxed);
	}
	if (m == 1 && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		goto out;
	smarm__lock(&page_lock);
	if (!page) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		page = p == MAP_FAILED ? NULL : p;
	}
	if (page) {
		page[0]++;
		mprotect((void *)page, 4096, PROT_READ);
		mprotect((void *)page, 4096, PROT_READ | PROT_WRITE);
	}
	smarm__unlock(&page_lock);
out:
	atomic_thread_fence(memory_order_seq_cst);
	errno = e;
}

/* Put `how` into a->exit_req unless a request is there already; wake a with
 * -ECANCELED if it waits and does not defer.  The caller keeps a alive (its
 * slot lock, or a's own deadline timer).  True if this call asked.
 * Never switches. */
static bool post_request(struct smarm__actor *a, int how)
{
	int v = atomic_load(&a->exit_req);

	do {
		if (v & SMARM__EXIT_HOW)
			return false;
	} while (!atomic_compare_exchange_weak(&a->exit_req, &v, v | how));
	if (!(v & SMARM__EXIT_DEFER)) {
		smarm__flush_cpus();
		smarm__wake(a, -ECANCELED);
	}
	return true;
}

/* The spawn timeout ran out (timer lock held; a is alive: its end deletes
 * this timer before anything else goes). */
static void deadline_fire(struct smarm__timer *t)
{
	struct smarm__fate *f =
		(struct smarm__fate *)((char *)t - offsetof(struct smarm__fate, deadline));

	post_request(f->self, SMARM_EXIT_TIMEOUT);
}

void smarm__request_locked(struct smarm__actor *a, int how, const char *reason)
{
	/* The first request wins: its reason is written before its CAS, and
	 * requests are serialised by the slot lock (the deadline timer, which
	 * does not take it, writes no reason). */
	if (!(atomic_load(&a->exit_req) & SMARM__EXIT_HOW)) {
		snprintf(a->fate->reason, sizeof a->fate->reason, "%s",
			 reason ? reason : smarm_exit_str(how));
		post_request(a, how);
	}
}

int smarm__exit_request(smarm_pid_t pid, int how, const char *reason)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__fate *spare = NULL;
	struct smarm__slot *slot;

	if (self && pid == self->pid) {
		if (self->ending)
			return 0;
		smarm__actor_end(self, how, NULL, reason, SMARM__END_HANDLERS);
	}
	for (;;) {
		if (!(a = smarm__pid_lock(pid, &slot))) {
			free(spare);
			return -ESRCH;
		}
		if (a->fate || spare)
			break;
		/* Allocate without holding the pin, then look again. */
		smarm__pid_unlock(slot);
		if (!(spare = smarm__fate_new()))
			return -ENOMEM;
	}
	smarm__fate_of(a, &spare);
	smarm__request_locked(a, how, reason);
	smarm__pid_unlock(slot);
	free(spare);
	return 0;
}

int smarm_kill(smarm_pid_t pid, const char *reason)
{
	return smarm__exit_request(pid, SMARM_EXIT_KILLED, reason ? reason : "killed");
}

int smarm_stop(smarm_pid_t pid)
{
	return smarm__exit_request(pid, SMARM_EXIT_SHUTDOWN, "shutdown");
}

bool smarm__exit_defer(struct smarm__actor *self)
{
	return atomic_fetch_or(&self->exit_req, SMARM__EXIT_DEFER) & SMARM__EXIT_DEFER;
}

void smarm__exit_undefer(struct smarm__actor *self, bool was)
{
	/* An ending actor defers for good. */
	if (!was && !self->ending)
		atomic_fetch_and(&self->exit_req, ~SMARM__EXIT_DEFER);
}

void smarm__exit_point(struct smarm__actor *self)
{
	if (smarm__exit_due(self))
		smarm__actor_end(self, SMARM_EXIT_NORMAL, NULL, NULL, SMARM__END_HANDLERS);
}

/* ---- cleanup handlers --------------------------------------------------- */

void smarm_cleanup_push(struct smarm_cleanup *c, void (*fn)(void *), void *arg)
{
	struct smarm__actor *self = smarm__self();

	c->_fn = fn;
	c->_arg = arg;
	c->_next = NULL;
	if (self) {
		c->_next = self->cleanup;
		self->cleanup = c;
	}
}

void smarm_cleanup_pop(struct smarm_cleanup *c, int run)
{
	struct smarm__actor *self = smarm__self();

	if (self) {
		if (self->cleanup == c)
			self->cleanup = c->_next;
		else
			/* While ending, handlers are unlinked before they run. */
			smarm_assert(self->ending != NULL);
	}
	if (run && c->_fn)
		c->_fn(c->_arg);
}

/* ---- the end of an actor ------------------------------------------------- */

/* The reason of a requested stop. */
static void requested_reason(struct smarm__actor *self, int how, char *buf, size_t len)
{
	struct smarm__fate *f = own_fate(self);

	if (how == SMARM_EXIT_TIMEOUT && f)
		snprintf(buf, len, "deadline exceeded: still running %lld ms after spawn",
			 (long long)(f->timeout / 1000000));
	else
		snprintf(buf, len, "%s", f && f->reason[0] ? f->reason : smarm_exit_str(how));
}

/* Copy a reason, cut to fit.  Never switches. */
static void copy_reason(char *dst, const char *src)
{
	size_t n = src ? strnlen(src, SMARM_REASON_MAX - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* The last steps of every end. */
__attribute__((noreturn)) static void end_switch(struct smarm__actor *self)
{
	/* smarm__pid_exit has freed the mailbox (under the slot lock, before
	 * any joiner runs). */
	smarm__sched_exit(self);
}

__attribute__((noreturn, noinline)) static void end_slow(struct smarm__actor *self, int how,
							  void *value, const char *why,
							  int flags);

void smarm__actor_end(struct smarm__actor *self, int how, void *value, const char *why,
		      int flags)
{
	struct smarm__fate *f;

	/* The plain end (a function returned; no handlers, no request, no
	 * fate) costs a few loads.  A fate or a request that comes after the
	 * checks is the same race as one that comes after the end: pid_exit
	 * hands over whatever fate there is, and we deliver it. */
	if (likely(how == SMARM_EXIT_NORMAL && !why &&
		   (!(flags & SMARM__END_HANDLERS) || !self->cleanup) &&
		   !atomic_load_explicit(&self->exit_req, memory_order_relaxed) &&
		   !own_fate(self))) {
		atomic_store_explicit(&self->fail_stage, SMARM__STAGE_END,
				      memory_order_relaxed);
		if (self->pid == smarm__rt.root)
			smarm__rt.root_result = value;
		f = smarm__pid_exit(self, SMARM_EXIT_NORMAL, value, NULL);
		if (unlikely(f != NULL))
			smarm__fate_deliver(self, f, SMARM_EXIT_NORMAL, value, "");
		end_switch(self);
	}
	end_slow(self, how, value, why, flags);
}

static void end_slow(struct smarm__actor *self, int how, void *value, const char *why,
		     int flags)
{
	struct smarm__ending me;
	struct smarm__fate *f;
	struct smarm_cleanup *c;
	char *kept = NULL;
	int req;

	me.how = how;
	me.flags = flags;
	me.value = value;
	copy_reason(me.reason, why);
	self->ending = &me;
	if (!(flags & SMARM__END_HANDLERS) || !self->cleanup) {
		/* Nothing here can park: a request that comes later only finds
		 * us running (its wake does nothing) and is not looked at. */
		req = atomic_load_explicit(&self->exit_req, memory_order_acquire) &
		      SMARM__EXIT_HOW;
	} else {
		/* From here on stop requests are ignored and handlers may
		 * park. */
		req = atomic_fetch_or(&self->exit_req, SMARM__EXIT_DEFER) & SMARM__EXIT_HOW;
		atomic_store_explicit(&self->fail_stage, SMARM__STAGE_CLEANUP,
				      memory_order_relaxed);
		/* Unlink each before it runs: a handler that ends the actor
		 * again (smarm_exit, smarm_panic) goes on with the rest. */
		while ((c = self->cleanup)) {
			self->cleanup = c->_next;
			if (c->_fn)
				c->_fn(c->_arg);
		}
	}
	self->cleanup = NULL;
	atomic_store_explicit(&self->fail_stage, SMARM__STAGE_END, memory_order_relaxed);
	if (me.how == SMARM_EXIT_NORMAL && req) {
		me.how = req;
		me.value = NULL;
		requested_reason(self, req, me.reason, sizeof me.reason);
	}
	if (me.how != SMARM_EXIT_NORMAL && !me.reason[0])
		snprintf(me.reason, sizeof me.reason, "%s", smarm_exit_str(me.how));
	f = own_fate(self);
	if (f && f->timeout > 0)
		smarm__timer_del(&f->deadline);
	if (self->pid == smarm__rt.root)
		smarm__rt.root_result = me.value;
	if (me.how != SMARM_EXIT_NORMAL)
		kept = strdup(me.reason); /* NULL (no memory): joiners get the how */
	f = smarm__pid_exit(self, me.how, me.value, kept);
	/* Panics and timeouts nobody hears of are reported (a stop was asked
	 * for by someone, who knows; faults were reported by fault.c). */
	if ((me.how == SMARM_EXIT_PANIC || me.how == SMARM_EXIT_TIMEOUT) &&
	    !(me.flags & SMARM__END_LOGGED) && !(f && (f->parent || f->links || f->monitors))) {
		char pid[32];
		smarm__msg("actor %s (%s) %s: %s",
			   smarm_pid_format(self->pid, pid, sizeof pid), self->name,
			   ended_how(me.how), me.reason);
	}
	if (f)
		smarm__fate_deliver(self, f, me.how, me.value, me.reason);
	if (self->pid == smarm__rt.root && me.how != SMARM_EXIT_NORMAL && smarm__root_is_main) {
		/* smarm_main is the program's main: when it dies, so does the
		 * process (as Go's main goroutine), with a status that says so. */
		smarm__msg("smarm_main ended abnormally (%s: %s); exiting with status 70",
			   smarm_exit_str(me.how), me.reason);
		exit(70);
	}
	end_switch(self);
}

/* Arm the spawn timeout, on our own stack at the start. */
static void arm_deadline(struct smarm__actor *self, struct smarm__fate *f)
{
	int err = smarm__timer_add(&f->deadline, f->due, deadline_fire);

	if (err < 0)
		smarm__actor_end(self, SMARM_EXIT_PANIC, NULL,
				 "cannot arm the spawn timeout (out of memory)", 0);
}

static void trampoline(void *p)
{
	struct smarm__actor *self = p;
	struct smarm__fate *f;

	smarm__sched_started(self);
	if (unlikely((f = own_fate(self)) != NULL) && f->timeout > 0)
		arm_deadline(self, f);
	/* Handlers still pushed when the function returns point into frames
	 * that are gone: they are dropped, not run (as with pthreads). */
	smarm__actor_end(self, SMARM_EXIT_NORMAL, self->fn(self->arg), NULL, 0);
}

/* The slow half of spawn, before the actor is published: its fate (parent,
 * deadline, its end of a link) and what the spawner's end of the link needs
 * (*back, and *spare if the spawner has no fate yet), all allocated here so
 * that nothing can fail once the pid exists.  -EPERM, -ENOMEM. */
static int spawn_fate(struct smarm__actor *a, unsigned flags, int64_t timeout,
		      struct smarm__link **back, struct smarm__fate **spare)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__fate *f;

	if ((flags & (SMARM_SPAWN_CHILD | SMARM_SPAWN_LINK)) && !self)
		return -EPERM;
	if (!(f = smarm__fate_new()))
		return -ENOMEM;
	f->self = a;
	if (flags & SMARM_SPAWN_CHILD)
		f->parent = self->pid;
	if (timeout > 0) {
		f->timeout = timeout;
		f->due = smarm__deadline(timeout);
	}
	if (flags & SMARM_SPAWN_LINK) {
		struct smarm__link *mine = malloc(sizeof *mine);
		*back = malloc(sizeof **back);
		if (!own_fate(self))
			*spare = smarm__fate_new();
		if (!mine || !*back || (!own_fate(self) && !*spare)) {
			free(mine);
			free(*back);
			free(*spare);
			free(f);
			return -ENOMEM;
		}
		mine->pid = self->pid;
		mine->next = NULL;
		f->links = mine;
	}
	a->fate = f;
	return 0;
}

static void fate_free_unused(struct smarm__fate *f)
{
	if (f) {
		free(f->links);
		free(f);
	}
}

static int spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
		 const struct smarm_spawn_opts *opts, struct smarm__actor *pre)
{
	size_t size = opts ? opts->stack_size : 0;
	unsigned flags = opts ? opts->flags : 0;
	int64_t timeout = opts ? opts->timeout : 0;
	struct smarm__link *back = NULL;
	struct smarm__fate *spare = NULL;
	struct smarm__actor *a;
	int err = 0;

	if (!fn || size > MAX_STACK || (flags & ~(unsigned)SPAWN_FLAGS) || timeout < 0)
		return -EINVAL;
	if (size && size < MIN_STACK)
		size = MIN_STACK;
	if (!(a = pre ? pre : smarm__stack_alloc(size, &err)))
		return err;
	a->fn = fn;
	a->arg = arg;
	if (opts && opts->name)
		strncpy(a->name, opts->name, sizeof a->name - 1);
	if (unlikely((flags & (SMARM_SPAWN_CHILD | SMARM_SPAWN_LINK)) || timeout > 0)) {
		if ((err = spawn_fate(a, flags, timeout, &back, &spare)) < 0) {
			smarm__stack_free(a);
			return err;
		}
	}
	if ((err = smarm__pid_new(a, flags & SMARM_SPAWN_DETACHED)) < 0) {
		fate_free_unused(a->fate);
		free(back);
		free(spare);
		smarm__stack_free(a);
		return err;
	}
	if (unlikely(flags & SMARM_SPAWN_LINK)) {
		smarm__link_spawned(smarm__self(), a, back, &spare);
		free(spare);
	}
	smarm__ctx_make(&a->ctx, a, trampoline, a);
	atomic_store_explicit(&a->state, SMARM__RUNNABLE, memory_order_relaxed);
	if (pid)
		*pid = a->pid;
	smarm__ready(a);
	smarm__stats_spawned();
	return 0;
}

/* The place in smarm__alive is taken first: once the last actor has ended
 * and closed the count, a spawn (from a thread outside the runtime) fails
 * instead of queueing an actor that no carrier would ever run. */
int smarm__spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
		 const struct smarm_spawn_opts *opts)
{
	int r;

	if (!atomic_load(&smarm__rt.running) || !smarm__alive_get())
		return -EPERM;
	if ((r = spawn(pid, fn, arg, opts, NULL)) < 0)
		smarm__alive_put();
	return r;
}

int smarm__spawn_on(smarm_pid_t *pid, smarm_fn fn, void *arg,
		    const struct smarm_spawn_opts *opts, struct smarm__actor *pre)
{
	int r;

	if (!atomic_load(&smarm__rt.running) || !smarm__alive_get())
		return -EPERM;
	if ((r = spawn(pid, fn, arg, opts, pre)) < 0)
		smarm__alive_put();
	return r;
}

int smarm_spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
		const struct smarm_spawn_opts *opts)
{
	return smarm__spawn(pid, fn, arg, opts);
}

void smarm_exit(void *value)
{
	struct smarm__actor *self = smarm__self();

	if (!self) {
		smarm__msg("smarm_exit called outside an actor");
		abort();
	}
	if (self->ending) {
		/* From a cleanup handler: finish the end already under way. */
		struct smarm__ending e = *self->ending;
		smarm__actor_end(self, e.how, e.value, e.reason,
				 SMARM__END_HANDLERS | (e.flags & SMARM__END_LOGGED));
	}
	smarm__actor_end(self, SMARM_EXIT_NORMAL, value, NULL, SMARM__END_HANDLERS);
}

void smarm_panic(const char *fmt, ...)
{
	struct smarm__actor *self = smarm__self();
	char reason[SMARM_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt ? fmt : "(null)", ap);
	va_end(ap);
	if (!self) {
		smarm__msg("panic outside an actor: %s", reason);
		abort();
	}
	if (self->ending) {
		/* In a cleanup handler: the panic wins, the first reason stays. */
		char both[SMARM_REASON_MAX];
		smarm__fmt(both, sizeof both, "%s (in a cleanup handler, while ending: %s)",
			 reason, self->ending->reason[0] ? self->ending->reason
			 : smarm_exit_str(self->ending->how));
		smarm__actor_end(self, SMARM_EXIT_PANIC, NULL, both, SMARM__END_HANDLERS);
	}
	smarm__actor_end(self, SMARM_EXIT_PANIC, NULL, reason, SMARM__END_HANDLERS);
}

/* ---- joins ---------------------------------------------------------------- */

int smarm_join(smarm_pid_t pid, void **value)
{
	return smarm__pid_join(pid, value, NULL, -1);
}

int smarm_join_timeout(smarm_pid_t pid, void **value, int64_t timeout)
{
	return smarm__pid_join(pid, value, NULL, smarm__deadline(timeout));
}

int smarm_join_info(smarm_pid_t pid, struct smarm_exit_info *info, int64_t timeout)
{
	return smarm__pid_join(pid, NULL, info, smarm__deadline(timeout));
}

int smarm_join_all(const smarm_pid_t *pids, size_t n, struct smarm_exit_info *infos,
		   int64_t timeout)
{
	return smarm__pid_join_set(pids, n, true, infos, smarm__deadline(timeout));
}

int smarm_join_any(const smarm_pid_t *pids, size_t n, struct smarm_exit_info *info,
		   int64_t timeout)
{
	return smarm__pid_join_set(pids, n, false, info, smarm__deadline(timeout));
}

int smarm_detach(smarm_pid_t pid)
{
	return smarm__pid_detach(pid);
}

int smarm_name(smarm_pid_t pid, char *buf, size_t len)
{
	if (!buf || len == 0)
		return -EINVAL;
	return smarm__pid_name(pid, buf, len);
}

char *smarm_pid_format(smarm_pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u", (unsigned)(uint32_t)pid - 1u,
		 (unsigned)(pid >> 32));
	return buf;
}
