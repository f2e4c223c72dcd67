/* 02_primes.c — fan-out/fan-in: count the primes below a limit by splitting
 * the range into tasks, one actor each, and summing what they return.
 *
 *   02_primes [LIMIT [TASKS]]     default: primes below 5,000,000 in 1,000 tasks
 *
 * Each actor counts the primes in its slice by trial division (CPU-bound on
 * purpose) and returns the count as its exit value; the root spawns them
 * all, then joins them all.  The actors run in parallel on smarm's carrier
 * threads (one per CPU; SMARM_THREADS=N to choose).  Prints the count and
 * the wall time from the first spawn to the last join.
 * (For 5,000,000 the count is 348,513.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "smarm.h"

struct task {
	uint32_t lo, hi; /* count primes in [lo, hi) */
};

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

static void *count_primes(void *arg)
{
	const struct task *t = arg;
	uintptr_t count = 0;

	for (uint32_t n = t->lo; n < t->hi; n++)
		count += is_prime(n);
	return (void *)count;
}

int smarm_main(int argc, char **argv)
{
	unsigned long limit = argc > 1 ? strtoul(argv[1], NULL, 0) : 5000000;
	unsigned long ntasks = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000;
	struct task *tasks;
	smarm_pid_t *pids;
	uintptr_t total = 0;
	int64_t t0;

	if (limit < 2 || limit > UINT32_MAX || ntasks < 1 || ntasks > limit) {
		fprintf(stderr, "usage: 02_primes [LIMIT [TASKS]]   "
		                "(2 <= LIMIT < 2^32, 1 <= TASKS <= LIMIT)\n");
		return 2;
	}
	tasks = calloc(ntasks, sizeof *tasks);
	pids = calloc(ntasks, sizeof *pids);
	if (!tasks || !pids)
		return 1;

	t0 = smarm_now();
	for (unsigned long i = 0; i < ntasks; i++) {
		tasks[i].lo = (uint32_t)(limit * i / ntasks);
		tasks[i].hi = (uint32_t)(limit * (i + 1) / ntasks);
		int rc = smarm_spawn(&pids[i], count_primes, &tasks[i], NULL);
		if (rc < 0) {
			fprintf(stderr, "smarm_spawn: error %d\n", rc);
			return 1;
		}
	}
	for (unsigned long i = 0; i < ntasks; i++) {
		void *count;
		int rc = smarm_join(pids[i], &count);
		if (rc < 0) {
			fprintf(stderr, "smarm_join: error %d\n", rc);
			return 1;
		}
		total += (uintptr_t)count;
	}
	printf("%lu primes below %lu, %lu actors, %.1f ms\n", (unsigned long)total,
	       limit, ntasks, (double)(smarm_now() - t0) / 1e6);
	free(tasks);
	free(pids);
	return 0;
}
