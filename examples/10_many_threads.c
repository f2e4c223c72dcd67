/* 10_many_threads.c — an ordinary pthread program (no smarm header) that
 * needs more threads than this machine allows natively.
 *
 * It creates N threads (argv[1], default 100,000); each waits on a
 * condition variable until all exist, sleeps one second, then adds one to
 * a counter under a mutex: 100,000 threads blocked at once, three ways.
 * It prints the peak RSS per thread.  Natively it stops at the
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start = PTHREAD_COND_INITIALIZER;
static int go;
static long counter;

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!go)
		pthread_cond_wait(&start, &lock);
	pthread_mutex_unlock(&lock);
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
	long n = argc > 1 ? atol(argv[1]) : 100000;
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
	pthread_mutex_lock(&lock);
	go = 1;
	pthread_cond_broadcast(&start);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld threads, counter = %ld, %.2f s, peak RSS %.1f KB per thread\n", n, counter,
	       now() - t0, ru.ru_maxrss * 1024.0 / n / 1000);
	free(t);
	return counter == n ? 0 : 1;
}
