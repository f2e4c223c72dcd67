/* api_create_join.c — a figure, not a test: pthread_create + pthread_join
 * of a thread that returns at once, in batches of 100 (make bench runs it
 * natively and under the preload: tests/bench/dropin/run.sh).
 * Output: "label: value unit" lines, lower is better. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *nop(void *a)
{
	return a;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	pthread_t t[100];
	double t0 = now();

	for (long i = 0; i < n; i += 100) {
		for (int j = 0; j < 100; j++)
			if (pthread_create(&t[j], NULL, nop, NULL) != 0)
				return 1;
		for (int j = 0; j < 100; j++)
			pthread_join(t[j], NULL);
	}
	printf("create+join: %.0f ns/thread\n", (now() - t0) / n * 1e9);
	return 0;
}
