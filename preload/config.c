/* config.c — the preload's environment: what SMARM_* asks for, turned into
 * a smarm_config and the shim's defaults.  The runtime reads SMARM_THREADS,
 * SMARM_PREEMPT and SMARM_SLICE itself; here only what differs in drop-in
 * mode:
 *
 *   SMARM_STACK_SIZE   stack of a pthread created without a stack size
 *                      (unless the program set a default of its own with
 *                      pthread_setattr_default_np: shim/thread.c)
 *                      (default 256 KiB here: programs written for 8 MiB
 *                      native stacks rarely need more than that, and
 *                      untouched pages cost nothing)
 *
 *   SMARM_FAULTS       default "abort" here (link mode: "panic"): a fault in
 *                      a thread kills the process with the signal, as
 *                      natively, after smarm's one-line report; "panic"
 *                      would end only the green thread and leave its
 *                      joiner waiting.  Set in the environment so the
 *                      runtime reads it; an explicit value is kept.
 *
 *   SMARM_STRICT       "park" or "audit": the seccomp net (shim/strict.c);
 *                      unset, empty or "off": none
 *
 * main() always gets 8 MiB (DESIGN D5).
 */
#include <stdlib.h>

#include "config.h"

void smarm__preload_config(struct smarm_config *cfg)
{
	size_t ss = smarm__env_size("SMARM_STACK_SIZE", (size_t)256 << 10, (size_t)16 << 10,
				    (size_t)1 << 30);

	setenv("SMARM_FAULTS", "abort", 0);
	smarm__shim_stack_size = ss;
	cfg->stack_size = ss;
	cfg->root_stack_size = (size_t)8 << 20;
	smarm__strict_init();
}
