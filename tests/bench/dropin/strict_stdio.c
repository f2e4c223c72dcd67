/* strict_stdio.c — a plain program for bench_strict.c: many threads
 * printing to one stdout, so they meet on its lock (glibc's internal futex)
 * and, when the reader lags, in write(2).  argv[1]: threads (default 1000);
 * argv[2]: lines each (default 50).  Every thread then waits at a gate
 * until main has counted the process's OS threads (/proc/self/task) with
 * all of them alive; main prints that count last. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int lines = 50, n, arrived;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_in = PTHREAD_COND_INITIALIZER, open_gate = PTHREAD_COND_INITIALIZER;
static int gate_open;

static int os_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int k = 0;

	while (d && (e = readdir(d)))
		k += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return k;
}

static void *talk(void *a)
{
	long id = (long)a;

	for (int i = 0; i < lines; i++)
		printf("thread %4ld line %3d: the quick brown fox jumps over the lazy dog %f\n",
		       id, i, id + i / 1000.0);
	pthread_mutex_lock(&mu);
	if (++arrived == n)
		pthread_cond_signal(&all_in);
	while (!gate_open)
		pthread_cond_wait(&open_gate, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int peak;

	n = argc > 1 ? atoi(argv[1]) : 1000;
	if (argc > 2)
		lines = atoi(argv[2]);
	t = calloc(n, sizeof *t);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, talk, (void *)i) != 0)
			return 1;
	pthread_mutex_lock(&mu);
	while (arrived < n)
		pthread_cond_wait(&all_in, &mu);
	peak = os_threads();
	gate_open = 1;
	pthread_cond_broadcast(&open_gate);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("OS threads with every thread alive: %d\n", peak);
	return 0;
}
