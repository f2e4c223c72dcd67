/* env_probe.c — prints the runtime's view of its environment, for
 * test_sched.c and test_stack.c, which run it with SMARM_THREADS and
 * SMARM_STACK_SIZE set to various values.
 *
 *   env_probe parallel CARRIERS
 *       smarm_run with .carriers = CARRIERS (0: from the environment); two
 *       actors spin 50 us at a time between yields for up to a second;
 *       prints "max_parallel=N carriers=M": the most actors ever seen
 *       running at once, and the carriers the runtime made.
 *   env_probe stack BYTES
 *       an actor with the default stack touches BYTES of it; prints
 *       "stack_size=N" (usable bytes the runtime gave it) and "used ok".
 */
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Atomic int inside, max_inside, carriers;

static void *spinner(void *arg)
{
	int64_t end = smarm_now() + SMARM_SEC(1);
	(void)arg;

	while (smarm_now() < end && atomic_load(&max_inside) < 2) {
		int n = atomic_fetch_add(&inside, 1) + 1;
		int m = atomic_load(&max_inside);
		while (n > m && !atomic_compare_exchange_weak(&max_inside, &m, n))
			;
		int64_t t = smarm_now();
		while (smarm_now() - t < SMARM_USEC(50))
			;
		atomic_fetch_sub(&inside, 1);
		smarm_yield();
	}
	return NULL;
}

static void *root_parallel(void *arg)
{
	smarm_pid_t a, b;
	(void)arg;

	atomic_store(&carriers, smarm__rt.ncarriers);
	if (smarm_spawn(&a, spinner, NULL, NULL) || smarm_spawn(&b, spinner, NULL, NULL))
		return (void *)1;
	smarm_join(a, NULL);
	smarm_join(b, NULL);
	return NULL;
}

static void *use_stack(void *arg)
{
	size_t n = (size_t)arg;
	volatile char *buf = alloca(n);

	printf("stack_size=%zu\n", smarm__self()->stack_size);
	fflush(stdout);
	for (size_t off = n; off >= 4096; off -= 4096)
		buf[off - 1] = 1;
	buf[0] = 1;
	printf("used ok\n");
	return NULL;
}

static void *root_stack(void *arg)
{
	smarm_pid_t p;

	if (smarm_spawn(&p, use_stack, arg, NULL))
		return (void *)1;
	smarm_join(p, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	struct smarm_config cfg = {0};
	void *r = (void *)1;
	int rc;

	if (argc == 3 && strcmp(argv[1], "parallel") == 0) {
		cfg.carriers = atoi(argv[2]);
		rc = smarm_run(root_parallel, NULL, &cfg, &r);
		printf("max_parallel=%d carriers=%d\n", atomic_load(&max_inside),
		       atomic_load(&carriers));
	} else if (argc == 3 && strcmp(argv[1], "stack") == 0) {
		rc = smarm_run(root_stack, (void *)strtoul(argv[2], NULL, 0), &cfg, &r);
	} else {
		fprintf(stderr, "usage: env_probe parallel CARRIERS | stack BYTES\n");
		return 2;
	}
	if (rc) {
		fprintf(stderr, "smarm_run: %d\n", rc);
		return 1;
	}
	return r != NULL;
}
