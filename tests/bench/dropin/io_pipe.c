/* io_pipe — drop-in benchmark: wrapped read/write on pipes.  Pairs of
 * threads bounce a byte over two pipes for SMARM_BENCH_SECONDS (default 1);
 * prints round trips per second for 1 pair and for 64 pairs.  A plain
 * pthread program: `make bench` runs it natively and under the preload
 * (tests/bench/dropin/run) and prints the two side by side. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct pair {
	int ab[2], ba[2];
	long trips;
};

static atomic_int stop;

static void *bouncer(void *arg)
{
	struct pair *p = arg;
	char c;

	while (read(p->ab[0], &c, 1) == 1)
		if (write(p->ba[1], &c, 1) != 1)
			break;
	return NULL;
}

static void *pinger(void *arg)
{
	struct pair *p = arg;
	char c = 'x';

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (write(p->ab[1], &c, 1) != 1 || read(p->ba[0], &c, 1) != 1)
			abort();
		p->trips++;
	}
	close(p->ab[1]); /* the bouncer sees EOF */
	return NULL;
}

/* The process's CPU time (user + system), s: round trips per CPU-ms
 * compare the two runs even when other load on the machine gives native
 * threads (many) and carriers (few) different shares of the CPUs. */
static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(int npairs, double secs)
{
	struct pair *p = calloc((size_t)npairs, sizeof *p);
	pthread_t *t = calloc(2 * (size_t)npairs, sizeof *t);
	long total = 0;
	double t0;

	atomic_store(&stop, 0);
	for (int i = 0; i < npairs; i++) {
		if (pipe(p[i].ab) || pipe(p[i].ba))
			abort();
		pthread_create(&t[2 * i], NULL, bouncer, &p[i]);
	}
	t0 = now();
	double c0 = cpu();
	for (int i = 0; i < npairs; i++)
		pthread_create(&t[2 * i + 1], NULL, pinger, &p[i]);
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < 2 * npairs; i++)
		pthread_join(t[i], NULL);
	double el = now() - t0, used = cpu() - c0;
	for (int i = 0; i < npairs; i++) {
		total += p[i].trips;
		close(p[i].ab[0]);
		close(p[i].ba[0]);
		close(p[i].ba[1]);
	}
	printf("pipe round trips, %d pair%s: %.0f per-s\n", npairs, npairs > 1 ? "s" : "",
	       total / el);
	printf("pipe round trips per CPU, %d pair%s: %.1f per-CPU-ms\n", npairs,
	       npairs > 1 ? "s" : "", total / (used * 1e3));
	free(p);
	free(t);
}

int main(void)
{
	const char *s = getenv("SMARM_BENCH_SECONDS");
	double secs = s ? atof(s) : 1.0;

	run(1, secs);
	run(64, secs);
	return 0;
}
