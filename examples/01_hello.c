/* 01_hello.c — the smallest smarm program: a few named actors greet, the
 * root actor joins them and prints what each one returned.
 *
 *   01_hello [N]     N greeters (default 4)
 *
 * smarm_main is the program's main, already running as an actor (the
 * root); smarm_spawn starts another actor, smarm_join waits for it and
 * collects its exit value — what its function returned, or what it passed
 * to smarm_exit.  Actors are cheap: each one is a small stack and a record,
 * scheduled by smarm over one OS thread per CPU.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "smarm.h"

static void *greet(void *arg)
{
	uintptr_t n = (uintptr_t)arg;
	char name[16], pid[32];

	smarm_name(smarm_self(), name, sizeof name);
	smarm_pid_format(smarm_self(), pid, sizeof pid);
	/* Sleeping parks this actor only; the others keep running. */
	smarm_sleep(SMARM_MSEC(10 * (n % 3)));
	printf("hello from %s (pid %s)\n", name, pid);
	if (n == 0)
		smarm_exit((void *)100); /* the same as `return (void *)100` */
	return (void *)(n * n);
}

int smarm_main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	smarm_pid_t *pids;

	if (n < 1 || n > 1000000) {
		fprintf(stderr, "usage: 01_hello [N]   (1 <= N <= 1000000)\n");
		return 2;
	}
	pids = calloc((size_t)n, sizeof *pids);
	if (!pids)
		return 1;
	for (int i = 0; i < n; i++) {
		char name[16];
		struct smarm_spawn_opts opts = {.name = name};
		snprintf(name, sizeof name, "greeter-%d", i);
		int rc = smarm_spawn(&pids[i], greet, (void *)(uintptr_t)i, &opts);
		if (rc < 0) {
			fprintf(stderr, "smarm_spawn: error %d\n", rc);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		void *value;
		int rc = smarm_join(pids[i], &value);
		if (rc < 0) {
			fprintf(stderr, "smarm_join: error %d\n", rc);
			return 1;
		}
		printf("greeter-%d returned %lu\n", i, (unsigned long)(uintptr_t)value);
	}
	free(pids);
	return 0;
}
