/* entry.c — how an unmodified program enters drop-in mode.
 *
 * LD_PRELOAD puts this library first in the lookup order, so its
 * __libc_start_main is the one the program's _start calls.  It hands libc's
 * own __libc_start_main a different main: preload_main, which starts the
 * runtime and runs the program's main as the root green thread (8 MiB
 * stack, its own TCB: shim/thread.c).  libc's start-up (constructors,
 * atexit, stdio) is untouched; main's return value goes to exit() from the
 * root thread, and exit() anywhere ends the process, both as natively.
 *
 * The entry only configures and calls the shim: preload -> shim -> runtime.
 */
#include "config.h"

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void),
			void (*)(void), void *);

static main_fn program_main;

static int preload_main(int argc, char **argv, char **envp)
{
	struct smarm_config cfg = {0};

	smarm__preload_config(&cfg);
	return smarm__shim_run_main(program_main, argc, argv, envp, &cfg);
}

SMARM_API int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	start_fn real = (start_fn)smarm__real("__libc_start_main");

	program_main = main;
	return real(preload_main, argc, argv, init, fini, rtld_fini, stack_end);
}
