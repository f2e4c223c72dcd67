/* exhaust.c — run out of address space for stacks and report what spawn
 * said, for test_stack.c.
 *
 * On one carrier, once the runtime is up, RLIMIT_AS's soft limit is lowered
 * to what the process already has plus 64 MiB, then actors are spawned until
 * a spawn fails; the limit is restored before the actors are unwound.  They must all stay alive, so they form a chain: each joins the
 * previous one, the first joins a gate that waits for the release.
 * Prints "spawned=N rc=R again=A joined=J": N spawns worked, the first
 * failure gave R, a few more attempts gave A (the same, or the first that
 * differed), and J chained actors were unwound after the release.
 * Exits 0 whatever happened, unless something crashed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "smarm.h"

static _Atomic int release;

static void *gate(void *arg)
{
	while (!release)
		smarm_sleep(SMARM_MSEC(1));
	return arg;
}

static void *link_fn(void *arg)
{
	void *v = NULL;

	if (smarm_join((smarm_pid_t)(uintptr_t)arg, &v) != 0)
		return (void *)(intptr_t)-1000000;
	return (char *)v + 1;
}

static long vm_bytes(void)
{
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld", &pages) != 1)
		abort();
	fclose(f);
	return pages * sysconf(_SC_PAGESIZE);
}

static void *root(void *arg)
{
	smarm_pid_t prev, p;
	struct rlimit rl, old;
	int n = 0, rc, again = 0;
	void *v = NULL;
	(void)arg;

	if (smarm_spawn(&prev, gate, NULL, NULL))
		abort();
	if (getrlimit(RLIMIT_AS, &old))
		abort();
	rl = old;
	rl.rlim_cur = (rlim_t)vm_bytes() + (64 << 20);
	if (setrlimit(RLIMIT_AS, &rl))
		abort();
	for (;;) {
		rc = smarm_spawn(&p, link_fn, (void *)(uintptr_t)prev, NULL);
		if (rc)
			break;
		prev = p;
		if (++n == 1000000)
			break;
	}
	for (int i = 0; i < 5; i++) {
		again = smarm_spawn(&p, link_fn, NULL, NULL);
		if (again != rc)
			break;
	}
	/* Room again, for whatever the unwinding needs (ASan's own
	 * bookkeeping, in a sanitizer build). */
	if (setrlimit(RLIMIT_AS, &old))
		abort();
	release = 1;
	smarm_join(prev, &v);
	printf("spawned=%d rc=%d again=%d joined=%ld\n", n, rc, again,
	       (long)(intptr_t)v);
	return NULL;
}

int main(void)
{
	struct smarm_config cfg = {.carriers = 1};
	int rc = smarm_run(root, NULL, &cfg, NULL);

	if (rc) {
		fprintf(stderr, "smarm_run: %d\n", rc);
		return 1;
	}
	return 0;
}
