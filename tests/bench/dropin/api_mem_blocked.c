/* api_mem_blocked.c — a figure, not a test: resident memory per blocked
 * thread, as the RSS slope between N/5 and N threads all waiting on one
 * condition variable (so the program's own start-up does not count).
 * Each thread first mallocs `small` bytes and keeps half of that: with no
 * arguments the program runs itself twice (10,000 threads; small = 0, then
 * 256 B, which shows the allocator's per-thread cost), each run in a
 * process of its own so the second does not reuse the first's memory.  Threads get 64 KiB stacks (natively glibc's would be 8 MiB of
 * address space, untouched).  Output: "label: value unit" lines, lower is
 * better (make bench: tests/bench/dropin/run.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int go, started;
static size_t small;

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static void *waiter(void *a)
{
	void *p = NULL, *q = NULL;

	if (small) {
		p = malloc(small / 2);
		q = malloc(small - small / 2);
		memset(p, 1, small / 2);
		free(q);
	}
	pthread_mutex_lock(&m);
	started++;
	pthread_cond_broadcast(&c);
	while (!go)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
	free(p);
	return a;
}

static int measure(int argc, char **argv, int n, int k);

static void wait_started(int n)
{
	pthread_mutex_lock(&m);
	while (started < n)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000, k = n / 5;

	if (argc == 1) {
		static const int sizes[] = {0, 256};
		for (int i = 0; i < 2; i++) {
			char self[4096] = {0}, cmd[4200], line[256];
			FILE *p;
			if (readlink("/proc/self/exe", self, sizeof self - 1) < 0)
				return 1;
			snprintf(cmd, sizeof cmd, "'%s' %d %d", self, n, sizes[i]);
			if (!(p = popen(cmd, "r")))
				return 1;
			while (fgets(line, sizeof line, p))
				fputs(line, stdout);
			if (pclose(p) != 0)
				return 1;
		}
		return 0;
	}
	return measure(argc, argv, n, k);
}

static int measure(int argc, char **argv, int n, int k)
{
	pthread_t *t = calloc((size_t)n, sizeof *t);
	pthread_attr_t a;
	long r0 = 0, r1;

	small = argc > 2 ? (size_t)atol(argv[2]) : 0;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (int i = 0; i < n; i++) {
		if (i == k) {
			wait_started(k);
			r0 = rss_kb();
		}
		if (pthread_create(&t[i], &a, waiter, NULL) != 0) {
			printf("pthread_create failed after %d threads\n", i);
			return 1;
		}
	}
	wait_started(n);
	r1 = rss_kb();
	pthread_mutex_lock(&m);
	go = 1;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("RSS per blocked thread (malloc %zu B each): %.2f KB/thread\n", small,
	       (double)(r1 - r0) / (n - k));
	return 0;
}
