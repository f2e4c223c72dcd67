/* run.c — smarm_run: bring the runtime up on the calling thread, run the
 * root actor, and take everything down once no actor is left. */
#include "internal.h"

static _Atomic int busy;

int smarm_run(smarm_fn root, void *arg, const struct smarm_config *cfg, void **result)
{
	struct smarm_spawn_opts opts = {.name = "root", .flags = SMARM_SPAWN_DETACHED};
	smarm_pid_t pid;
	int r;

	if (!root)
		return -EINVAL;
	if (cfg && (cfg->carriers < 0 || cfg->carriers > 1024 ||
		    (cfg->stack_size && (cfg->stack_size < ((size_t)16 << 10) ||
					 cfg->stack_size > ((size_t)1 << 30)))))
		return -EINVAL;
	if (atomic_exchange(&busy, 1))
		return -EBUSY;
	if ((r = smarm__sched_init(cfg)) < 0)
		goto out;
	smarm__inside_init(); /* SIGQUIT dumps, SMARM_STATS (dump.c) */
	smarm__rt.root_result = NULL;
	atomic_store(&smarm__rt.running, 1);
	/* The root keeps the runtime's default stack; in smarm_main mode it
	 * is the program's main and gets more (entry_main.c passes 8 MiB). */
	opts.stack_size = cfg && cfg->root_stack_size ? cfg->root_stack_size : 0;
	if ((r = smarm__spawn(&pid, root, arg, &opts)) < 0) {
		atomic_store(&smarm__rt.running, 0);
		smarm__sched_fini();
		goto out;
	}
	smarm__rt.root = pid;
	smarm__sched_run();
	atomic_store(&smarm__rt.running, 0);
	if (result)
		*result = smarm__rt.root_result;
	smarm__rt.root = 0;
	smarm__sched_fini();
	smarm__io_fini();
	smarm__timer_fini();
	r = 0;
out:
	atomic_store(&busy, 0);
	return r;
}
