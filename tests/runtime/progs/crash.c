/* crash.c — a write to an unmapped address in an actor, for test_fault.c.
 *
 *   crash leaf    the actor's own function writes to address 16
 *   crash deep    the actor's function calls one that does
 *   crash main    smarm_main itself does (the root actor)
 *
 * (16 rather than NULL: a sanitizer build checks stores through NULL itself,
 * before anything faults; page 0 is never mapped either way.)
 * For leaf and deep: joins the actor, prints "joined=<rc> how=<how>" then
 * "survived" and exits 0 (smarm.h: a fault in an actor is that actor's
 * panic; other actors run on).  For main, nothing is printed after the
 * write; the process must end badly.
 */
#include <stdio.h>
#include <string.h>

#include "smarm.h"

/* Compiled as ordinary code: the fault is in the program, not in smarm. */
static void *writer(void *p)
{
	*(volatile int *)p = 1;
	return NULL;
}

__attribute__((noinline)) static void poke(volatile int *p)
{
	*p = 2;
}

static void *caller(void *p)
{
	poke(p);
	return NULL;
}

static volatile int *volatile bad = (volatile int *)16;

int smarm_main(int argc, char **argv)
{
	struct smarm_exit_info info = {0};
	smarm_pid_t pid;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: crash leaf|deep|main\n");
		return 2;
	}
	if (strcmp(argv[1], "main") == 0) {
		printf("writing\n");
		fflush(stdout);
		poke(bad);
		printf("survived\n");
		return 0;
	}
	rc = smarm_spawn(&pid, strcmp(argv[1], "leaf") == 0 ? writer : caller, (void *)bad,
			  NULL);
	if (rc) {
		printf("spawn failed: %d\n", rc);
		return 0;
	}
	rc = smarm_join_info(pid, &info, SMARM_FOREVER);
	printf("joined=%d how=%s\n", rc, smarm_exit_str(info.how));
	printf("survived\n");
	return 0;
}
