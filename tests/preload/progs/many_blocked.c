/* Many threads blocked at once (issue 8's scale check): N threads
 * (argv[1], default 100,000) each sleep, then meet at a mutex + condition
 * variable barrier that opens only when the last one arrives, so every
 * thread exists and blocks at the same moment.  Natively this machine
 * stops near 32,400 threads (pid_max); the program then says how far it
 * got and exits 1.  With "rss" as argv[2] the last thread to arrive
 * prints the process's resident memory and thread count (for the bench;
 * not deterministic, so the test does not ask for it). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t open_cv = PTHREAD_COND_INITIALIZER;
static long n, arrived, left;
static int show_rss;

static void print_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "Threads:", 8))
			fputs(line, stdout);
	if (f)
		fclose(f);
}

static void *worker(void *arg)
{
	usleep(1000 + (long)arg % 5000);
	pthread_mutex_lock(&m);
	if (++arrived == n) {
		if (show_rss)
			print_rss();
		pthread_cond_broadcast(&open_cv);
	}
	while (arrived < n)
		pthread_cond_wait(&open_cv, &m);
	left++;
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t *t;
	long i, joined = 0;
	int err = 0;

	n = argc > 1 ? atol(argv[1]) : 100000;
	show_rss = argc > 2 && !strcmp(argv[2], "rss");
	if (n <= 0 || !(t = calloc(n, sizeof *t)))
		return 2;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < n; i++)
		if ((err = pthread_create(&t[i], &attr, worker, (void *)i)) != 0)
			break;
	if (err) {
		printf("pthread_create failed after %ld threads: %s\n", i, strerror(err));
		fflush(stdout);
		_exit(1); /* the threads created wait for ever */
	}
	for (i = 0; i < n; i++)
		joined += pthread_join(t[i], NULL) == 0;
	printf("threads %ld, arrived %ld, left %ld, joined %ld\n", n, arrived, left, joined);
	return 0;
}
