/* entry_main.c — main() for programs that define smarm_main and link
 * -lsmarm.  Kept in its own object so that, in libsmarm.a, a program with
 * its own main never pulls it in; in libsmarm.so a program's own main
 * simply wins.  smarm_main is weak here so libsmarm.so links without it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

extern int smarm_main(int argc, char **argv) __attribute__((weak));

struct args {
	int argc;
	char **argv;
};

/* The root actor is the program's main: when it returns, the process ends
 * with its status, as a C program does when main returns while threads
 * still run. */
static void *root(void *p)
{
	struct args *a = p;
	exit(smarm_main(a->argc, a->argv));
}

SMARM_API int main(int argc, char **argv)
{
	struct args a = {argc, argv};
	struct smarm_config cfg = {.root_stack_size = (size_t)8 << 20};
	int r;

	if (!smarm_main) {
		smarm__msg("this program links libsmarm's main() but defines no "
			   "smarm_main(); define int smarm_main(int, char **)");
		return 127;
	}
	/* A panic of smarm_main then ends the process at once (actor.c). */
	smarm__root_is_main = true;
	r = smarm_run(root, &a, &cfg, NULL);
	if (r < 0) {
		smarm__msg("cannot start the runtime: %s", strerror(-r));
		return 127;
	}
	/* Not reached: the root ends the process with exit(), whether
	 * smarm_main returned or ended abnormally (status 70, actor.c). */
	return 70;
}
