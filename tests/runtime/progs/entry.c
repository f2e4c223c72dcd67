/* entry.c — smarm_main as a program's entry point, for test_entry.c.
 *
 *   entry args A B ...   prints "argc=N", then "argv[i]=..." for each
 *                        argument and "self=yes" if smarm_main runs as an
 *                        actor; returns 7.
 *   entry detached       leaves a detached actor sleeping for a minute
 *                        and one that nobody joins, and returns 3 at once:
 *                        the process must exit 3 without waiting for them.
 */
#include <stdio.h>
#include <string.h>

#include "smarm.h"

static void *sleep_long(void *arg)
{
	for (int i = 0; i < 60; i++)
		smarm_sleep(SMARM_SEC(1));
	return arg;
}

int smarm_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "args") == 0) {
		printf("argc=%d\n", argc);
		for (int i = 0; i < argc; i++)
			printf("argv[%d]=%s\n", i, argv[i]);
		printf("self=%s\n", smarm_self() ? "yes" : "no");
		return 7;
	}
	if (argc >= 2 && strcmp(argv[1], "detached") == 0) {
		struct smarm_spawn_opts o = {.flags = SMARM_SPAWN_DETACHED};
		if (smarm_spawn(NULL, sleep_long, NULL, &o) ||
		    smarm_spawn(NULL, sleep_long, NULL, NULL))
			return 1;
		smarm_sleep(SMARM_MSEC(10));
		printf("leaving\n");
		fflush(stdout);
		return 3;
	}
	fprintf(stderr, "usage: entry args ... | entry detached\n");
	return 2;
}
