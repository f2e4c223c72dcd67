/* 10_many_threads.c — an ordinary pthread program (no smarm header) that
 * needs more threads than this machine allows natively.
 *
 * It creates N threads (argv[1], default 50,000); each sleeps one second,
 * then adds one to a counter under a mutex.  Natively it stops at the
 * kernel's thread limit (pid_max / threads-max / memory) with a clear
 * message and exit status 1; under the preload every thread is a green
 * thread:
 *
 *   ./build/examples/10_many_threads            # natively: fails near 32,000
 *   ./build/smarm-run ./build/examples/10_many_threads
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *worker(void *arg)
{
	(void)arg;
	sleep(1);
	pthread_mutex_lock(&lock);
	counter++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000;
	pthread_t *t = calloc(n, sizeof *t);
	pthread_attr_t attr;
	double t0 = now();
	long i;
	int err = 0;

	if (!t || n <= 0) {
		fprintf(stderr, "usage: %s [threads]\n", argv[0]);
		return 2;
	}
	/* Small stacks, as a program that creates many threads would ask. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < n; i++) {
		if ((err = pthread_create(&t[i], &attr, worker, NULL)) != 0)
			break;
	}
	if (err) {
		printf("pthread_create failed after %ld threads: %s\n", i, strerror(err));
		fflush(stdout);
		_exit(1); /* the threads created so far still sleep */
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%ld threads, counter = %ld, %.2f s\n", n, counter, now() - t0);
	free(t);
	return counter == n ? 0 : 1;
}
