/* actor.c — spawn, the entry trampoline, exit, and the pid-taking calls.
 *
 * An actor's life: smarm_spawn takes a stack (whose top holds the record),
 * a pid slot, builds a fresh context whose first frame is smarm__ctx_entry
 * -> trampoline, and makes it runnable (it runs next on the spawner's
 * carrier, in runnext, unless stolen).  The function's return value, or
 * smarm_exit's argument, is the exit value; smarm__pid_exit hands it to a
 * joiner; the carrier that runs next frees the stack (sched.c).
 *
 * smarm__alive counts actors from spawn until their last switch; when it
 * reaches zero, smarm_run's carriers stop.
 */
#include <string.h>

#include "internal.h"

_Atomic long smarm__alive;

#define MAX_STACK ((size_t)1 << 30)
#define MIN_STACK ((size_t)16 << 10)

__attribute__((noreturn)) static void actor_end(struct smarm__actor *self, void *value)
{
	if (self->pid == smarm__rt.root)
		smarm__rt.root_result = value;
	smarm__pid_exit(self, value);
	/* Only now: a sender pins us through the slot (smarm__pid_lock), and
	 * after pid_exit no sender can reach the mailbox any more. */
	if (self->mbox && smarm__mbox_free)
		smarm__mbox_free(self);
	smarm__sched_exit(self);
}

static void trampoline(void *p)
{
	struct smarm__actor *self = p;

	smarm__sched_started(self);
	actor_end(self, self->fn(self->arg));
}

int smarm__spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
		 const struct smarm_spawn_opts *opts)
{
	size_t size = opts ? opts->stack_size : 0;
	unsigned flags = opts ? opts->flags : 0;
	struct smarm__actor *a;
	int err = 0;

	if (!fn || size > MAX_STACK || (flags & ~(unsigned)SMARM_SPAWN_DETACHED))
		return -EINVAL;
	if (!atomic_load(&smarm__rt.running) || atomic_load(&smarm__rt.stopping))
		return -EPERM;
	if (size && size < MIN_STACK)
		size = MIN_STACK;
	if (!(a = smarm__stack_alloc(size, &err)))
		return err;
	a->fn = fn;
	a->arg = arg;
	if (opts && opts->name)
		strncpy(a->name, opts->name, sizeof a->name - 1);
	if ((err = smarm__pid_new(a, flags & SMARM_SPAWN_DETACHED)) < 0) {
		smarm__stack_free(a);
		return err;
	}
	smarm__ctx_make(&a->ctx, a, trampoline, a);
	atomic_store_explicit(&a->state, SMARM__RUNNABLE, memory_order_relaxed);
	atomic_fetch_add_explicit(&smarm__alive, 1, memory_order_relaxed);
	if (pid)
		*pid = a->pid;
	smarm__ready(a);
	return 0;
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
	actor_end(self, value);
}

static int64_t deadline_of(int64_t timeout)
{
	return timeout < 0 ? -1 : timeout == 0 ? 0 : smarm__now() + timeout;
}

int smarm_join(smarm_pid_t pid, void **value)
{
	return smarm__pid_join(pid, value, -1);
}

int smarm_join_timeout(smarm_pid_t pid, void **value, int64_t timeout)
{
	return smarm__pid_join(pid, value, deadline_of(timeout));
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
