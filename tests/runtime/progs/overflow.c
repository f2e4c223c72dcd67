/* overflow.c — an actor that recurses without bound, for test_fault.c.
 *
 *   overflow STACK_KIB NAME [carrier1]
 *       spawns NAME with a STACK_KIB stack (0: the runtime's default),
 *       prints "pid=<index.generation>" and joins it.  With "carrier1" the
 *       actor only dives once it runs on carrier 1 (so the report comes
 *       from a carrier thread other than the one that called smarm_run);
 *       it respawns itself until it lands there.
 *   overflow root
 *       smarm_main itself dives, on the root actor's stack.
 *
 * By default (SMARM_FAULTS unset or "panic") the overflow is the actor's
 * panic: the join returns -EOWNERDEAD, and the program prints
 * "joined=<rc> how=<how> reason=<reason>", then "survived", and exits 0.
 * With SMARM_FAULTS=abort the runtime must report the overflow and end the
 * process, so "survived" never appears.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int dive(int depth);
/* Through a pointer, so GCC neither flags nor flattens the recursion. */
static int (*volatile deeper)(int) = dive;

/* ~256 bytes a frame: small enough that the fault lands in the guard. */
static int dive(int depth)
{
	volatile char frame[240];

	frame[0] = (char)depth;
	__asm__ volatile("" : : "r"(frame) : "memory");
	return deeper(depth + 1) + frame[0];
}

static void *diver(void *arg)
{
	char buf[32];

	if (arg) {
		/* Each wake-up from a sleep may land on either carrier (the
		 * one that ran the timer): wait for carrier 1, or give up. */
		for (int i = 0; i < 100 && smarm__carrier()->id != 1; i++)
			smarm_sleep(SMARM_USEC(100));
		if (smarm__carrier()->id != 1)
			return (void *)1;
	}
	printf("pid=%s\n", smarm_pid_format(smarm_self(), buf, sizeof buf));
	fflush(stdout);
	return (void *)(intptr_t)dive(0);
}

int smarm_main(int argc, char **argv)
{
	struct smarm_spawn_opts o = {0};
	bool on1 = argc > 3 && strcmp(argv[3], "carrier1") == 0;
	struct smarm_exit_info info = {0};
	smarm_pid_t p;
	void *v = (void *)1;
	int jr = 0;

	if (argc == 2 && strcmp(argv[1], "root") == 0) {
		diver(NULL);
		printf("survived\n");
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: overflow STACK_KIB NAME [carrier1] | overflow root\n");
		return 2;
	}
	o.stack_size = strtoul(argv[1], NULL, 0) << 10;
	o.name = argv[2];
	/* With carrier1, a diver that never got there returns 1: try again. */
	for (int tries = 0; tries < 50 && v; tries++) {
		int rc = smarm_spawn(&p, diver, on1 ? (void *)1 : NULL, &o);
		if (rc) {
			printf("spawn failed: %d\n", rc);
			return 0;
		}
		jr = smarm_join_info(p, &info, SMARM_FOREVER);
		v = jr == 0 ? info.value : NULL;
	}
	if (v) {
		printf("never ran on carrier 1\n");
		return 0;
	}
	printf("joined=%d how=%s reason=%s\n", jr, smarm_exit_str(info.how), info.reason);
	printf("survived\n");
	return 0;
}
