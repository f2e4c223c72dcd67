/* bench_core.c — the runtime core against native pthreads, side by side in
 * one run: context switch, spawn+join, memory per idle actor, and a
 * CPU-bound fan-out/fan-in.  Prints one table; never asserts timing (the VM
 * is noisy).  Exits 1 only if the two sides of the primes workload disagree
 * on the count, which would be a bug, not a slow run.
 *
 *   build/bench/bench_core                   the table
 *   build/bench/bench_core --quick           smaller N, for a smoke run
 *   build/bench/bench_core --callgrind-yield N
 *        only N yields each by two actors on one carrier (2N switches), for
 *          valgrind --tool=callgrind --collect-atstart=no \
 *                   build/bench/bench_core --callgrind-yield 100000
 *        collection is switched on around the yield loop only (client
 *        requests), so total Ir / (2N) is the instructions per switch,
 *        smarm_yield's call included.
 *
 * What each row measures:
 *   yield       2 actors on 1 carrier, each smarm_yield() N times: wall / 2N.
 *               native: 2 threads pinned to one CPU, each sched_yield() N
 *               times: wall / 2N (a kernel context switch per yield).
 *   spawn+join  an actor spawns a child that returns at once and joins it,
 *               N times: wall / N.  "batch": spawn 1,000, join 1,000,
 *               repeated.  Default carriers.  native: pthread_create +
 *               pthread_join, default attrs.
 *   idle        RSS growth (/proc/self/statm) for 100,000 actors each
 *               parked in a join (a chain: actor k joins actor k-1, the
 *               first joins a gate), per actor.  native: 10,000 threads with
 *               default attrs blocked on a pthread barrier, per thread.
 *   primes      count primes below 5,000,000 by trial division, in 1,000
 *               tasks of 5,000 numbers; wall from the first spawn to the
 *               last join, all carriers.  native: 1,000 threads, one task
 *               each; and a pool of one thread per CPU taking tasks from a
 *               shared counter.
 * Ratio = native / smarm: above 1, smarm is better.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smarm.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long rss_pages(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2) {
		perror("statm");
		exit(2);
	}
	fclose(f);
	return resident;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_core: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(2);
}

/* Run root(arg) on `carriers` carriers (0: default); return its value. */
static void *run(smarm_fn root, void *arg, int carriers)
{
	struct smarm_config cfg = {.carriers = carriers};
	void *r = NULL;
	int rc = smarm_run(root, arg, &cfg, &r);

	if (rc)
		die("smarm_run", rc);
	return r;
}

static smarm_pid_t spawn(smarm_fn fn, void *arg)
{
	smarm_pid_t p;
	int rc = smarm_spawn(&p, fn, arg, NULL);

	if (rc)
		die("smarm_spawn", rc);
	return p;
}

static void *join(smarm_pid_t p)
{
	void *v = NULL;
	int rc = smarm_join(p, &v);

	if (rc)
		die("smarm_join", rc);
	return v;
}

/* ---- yield ping-pong ------------------------------------------------------ */

static long yield_n;

static void *yielder(void *arg)
{
	(void)arg;
	for (long i = 0; i < yield_n; i++)
		smarm_yield();
	return NULL;
}

static void *root_yield(void *arg)
{
	int64_t *ns = arg, t0;
	smarm_pid_t a, b;

	/* Warm up: stacks mapped, caches filled. */
	long n = yield_n;
	yield_n = 1000;
	a = spawn(yielder, NULL);
	b = spawn(yielder, NULL);
	join(a);
	join(b);
	yield_n = n;

	t0 = now_ns();
	a = spawn(yielder, NULL);
	b = spawn(yielder, NULL);
	join(a);
	join(b);
	*ns = now_ns() - t0;
	return NULL;
}

static double smarm_yield_ns(long n)
{
	int64_t ns;

	yield_n = n;
	run(root_yield, &ns, 1);
	return (double)ns / (2.0 * n);
}

static void *root_callgrind(void *arg)
{
	(void)arg;
	smarm_pid_t a = spawn(yielder, NULL), b = spawn(yielder, NULL);

	CALLGRIND_TOGGLE_COLLECT;
	join(a);
	join(b);
	CALLGRIND_TOGGLE_COLLECT;
	return NULL;
}

static pthread_barrier_t native_start;

static void *native_yielder(void *arg)
{
	long n = *(long *)arg;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	pthread_setaffinity_np(pthread_self(), sizeof one, &one);
	pthread_barrier_wait(&native_start);
	for (long i = 0; i < n; i++)
		sched_yield();
	return NULL;
}

static double native_yield_ns(long n)
{
	pthread_t a, b;
	int64_t t0;

	pthread_barrier_init(&native_start, NULL, 3);
	pthread_create(&a, NULL, native_yielder, &n);
	pthread_create(&b, NULL, native_yielder, &n);
	pthread_barrier_wait(&native_start);
	t0 = now_ns();
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&native_start);
	return (double)(now_ns() - t0) / (2.0 * n);
}

/* ---- spawn + join --------------------------------------------------------- */

static void *nothing(void *arg)
{
	return arg;
}

struct spawn_args {
	long n;
	int batch;     /* 1: spawn then join each; else spawn `batch`, join them */
	int64_t ns;
};

static void *root_spawn(void *p)
{
	struct spawn_args *s = p;
	smarm_pid_t *pids = malloc(sizeof *pids * (size_t)s->batch);
	int64_t t0;

	if (!pids)
		die("malloc", ENOMEM);
	/* Warm up the stack pools. */
	for (int i = 0; i < s->batch; i++)
		pids[i] = spawn(nothing, NULL);
	for (int i = 0; i < s->batch; i++)
		join(pids[i]);
	t0 = now_ns();
	for (long done = 0; done < s->n; done += s->batch) {
		for (int i = 0; i < s->batch; i++)
			pids[i] = spawn(nothing, NULL);
		for (int i = 0; i < s->batch; i++)
			join(pids[i]);
	}
	s->ns = now_ns() - t0;
	free(pids);
	return NULL;
}

static double smarm_spawn_ns(long n, int batch)
{
	struct spawn_args s = {.n = n, .batch = batch};

	run(root_spawn, &s, 0);
	return (double)s.ns / (double)n;
}

static double native_spawn_ns(long n)
{
	int64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL))
			die("pthread_create", errno);
		pthread_join(t, NULL);
	}
	return (double)(now_ns() - t0) / (double)n;
}

/* ---- idle memory ---------------------------------------------------------- */

static _Atomic int idle_release;
static _Atomic long idle_started;

static void *idle_gate(void *arg)
{
	while (!atomic_load(&idle_release))
		smarm_sleep(SMARM_MSEC(1));
	return arg;
}

static void *idle_link(void *arg)
{
	atomic_fetch_add(&idle_started, 1);
	return (char *)join((smarm_pid_t)(uintptr_t)arg) + 1;
}

struct idle_args {
	long n;
	double kb;
};

static void *root_idle(void *p)
{
	struct idle_args *s = p;
	long before;
	smarm_pid_t prev;

	atomic_store(&idle_release, 0);
	atomic_store(&idle_started, 0);
	before = rss_pages();
	prev = spawn(idle_gate, NULL);
	for (long i = 0; i < s->n; i++)
		prev = spawn(idle_link, (void *)(uintptr_t)prev);
	while (atomic_load(&idle_started) < s->n)
		smarm_sleep(SMARM_MSEC(1));
	s->kb = (double)(rss_pages() - before) * (double)sysconf(_SC_PAGESIZE) /
	        1024.0 / (double)s->n;
	atomic_store(&idle_release, 1);
	if ((long)(uintptr_t)join(prev) != s->n)
		die("idle chain", EPROTO);
	return NULL;
}

static double smarm_idle_kb(long n)
{
	struct idle_args s = {.n = n};

	run(root_idle, &s, 0);
	return s.kb;
}

static pthread_barrier_t idle_barrier;

static void *native_idle(void *arg)
{
	pthread_barrier_wait(&idle_barrier);
	return arg;
}

static double native_idle_kb(long n)
{
	pthread_t *t = malloc(sizeof *t * (size_t)n);
	long before, after, made = 0;

	if (!t)
		die("malloc", ENOMEM);
	pthread_barrier_init(&idle_barrier, NULL, (unsigned)n + 1);
	before = rss_pages();
	for (; made < n; made++)
		if (pthread_create(&t[made], NULL, native_idle, NULL))
			break;
	if (made < n) {
		fprintf(stderr, "bench_core: only %ld of %ld threads\n", made, n);
		exit(2);
	}
	/* Let them all reach the barrier (and touch their stacks). */
	usleep(200000);
	after = rss_pages();
	pthread_barrier_wait(&idle_barrier);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&idle_barrier);
	free(t);
	return (double)(after - before) * (double)sysconf(_SC_PAGESIZE) / 1024.0 /
	       (double)n;
}

/* ---- primes ----------------------------------------------------------------- */

#define PRIMES_BELOW 5000000u
#define PRIMES_TASKS 1000u
#define PRIMES_SPAN (PRIMES_BELOW / PRIMES_TASKS)

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

static long count_task(unsigned task)
{
	long c = 0;

	for (uint32_t n = task * PRIMES_SPAN; n < (task + 1) * PRIMES_SPAN; n++)
		c += is_prime(n);
	return c;
}

static void *prime_actor(void *arg)
{
	return (void *)(uintptr_t)count_task((unsigned)(uintptr_t)arg);
}

struct primes_args {
	long count;
	int64_t ns;
};

static void *root_primes(void *p)
{
	struct primes_args *s = p;
	static smarm_pid_t pids[PRIMES_TASKS];
	int64_t t0 = now_ns();
	long c = 0;

	for (unsigned i = 0; i < PRIMES_TASKS; i++)
		pids[i] = spawn(prime_actor, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < PRIMES_TASKS; i++)
		c += (long)(uintptr_t)join(pids[i]);
	s->ns = now_ns() - t0;
	s->count = c;
	return NULL;
}

static void *native_prime_thread(void *arg)
{
	return (void *)(uintptr_t)count_task((unsigned)(uintptr_t)arg);
}

static double native_primes_threads(long *count)
{
	static pthread_t t[PRIMES_TASKS];
	int64_t t0 = now_ns();
	long c = 0;

	for (unsigned i = 0; i < PRIMES_TASKS; i++)
		if (pthread_create(&t[i], NULL, native_prime_thread, (void *)(uintptr_t)i))
			die("pthread_create", errno);
	for (unsigned i = 0; i < PRIMES_TASKS; i++) {
		void *v;
		pthread_join(t[i], &v);
		c += (long)(uintptr_t)v;
	}
	*count = c;
	return (double)(now_ns() - t0) / 1e6;
}

static _Atomic unsigned pool_next;
static _Atomic long pool_count;

static void *pool_worker(void *arg)
{
	unsigned task;
	long c = 0;

	(void)arg;
	while ((task = atomic_fetch_add(&pool_next, 1)) < PRIMES_TASKS)
		c += count_task(task);
	atomic_fetch_add(&pool_count, c);
	return NULL;
}

static double native_primes_pool(int nthreads, long *count)
{
	pthread_t t[1024];
	int64_t t0 = now_ns();

	atomic_store(&pool_next, 0);
	atomic_store(&pool_count, 0);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, pool_worker, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	*count = atomic_load(&pool_count);
	return (double)(now_ns() - t0) / 1e6;
}

/* ---- the table --------------------------------------------------------------- */

static void row(const char *what, const char *unit, double smarm, double native,
                const char *native_what, const char *target, const char *ref)
{
	char s[32], n[32], r[32];

	snprintf(s, sizeof s, "%.1f", smarm);
	if (native > 0) {
		snprintf(n, sizeof n, "%.1f", native);
		snprintf(r, sizeof r, "%.2fx", native / smarm);
	} else {
		snprintf(n, sizeof n, "-");
		snprintf(r, sizeof r, "-");
	}
	printf("%-28s %-9s %10s %12s %8s  %-22s %-12s %s\n", what, unit, s, n, r,
	       native_what, target, ref);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	long yields = quick ? 100000 : 2000000, native_yields = quick ? 20000 : 200000;
	long spawns = quick ? 100000 : 1000000, native_spawns = quick ? 500 : 5000;
	long idle = quick ? 10000 : 100000, native_idle = quick ? 1000 : 10000;
	struct primes_args pr;
	long c_threads, c_pool;

	if (argc == 3 && strcmp(argv[1], "--callgrind-yield") == 0) {
		yield_n = atol(argv[2]);
		run(root_callgrind, NULL, 1);
		printf("%ld switches\n", 2 * yield_n);
		return 0;
	}
	if (argc > 1 && !quick) {
		fprintf(stderr, "usage: bench_core [--quick | --callgrind-yield N]\n");
		return 2;
	}

	double y = smarm_yield_ns(yields), ny = native_yield_ns(native_yields);
	double sj = smarm_spawn_ns(spawns, 1), sjb = smarm_spawn_ns(spawns, 1000);
	double nsj = native_spawn_ns(native_spawns);
	double ik = smarm_idle_kb(idle), nik = native_idle_kb(native_idle);
	double pt = native_primes_threads(&c_threads);
	double pp = native_primes_pool(ncpu, &c_pool);
	run(root_primes, &pr, 0);
	double pm = (double)pr.ns / 1e6;

	printf("bench_core: %d CPUs, smarm with %d carriers (1 for yield); "
	       "ratio = native / smarm\n", ncpu, ncpu);
	printf("%-28s %-9s %10s %12s %8s  %-22s %-12s %s\n", "benchmark", "unit",
	       "smarm", "native", "ratio", "native is", "target", "reference");
	row("yield ping-pong, 1 carrier", "ns/switch", y, ny,
	    "sched_yield, 1 CPU", "<= 20", "Go 62");
	row("spawn+join, one at a time", "ns/actor", sj, nsj,
	    "pthread_create+join", "<= 150", "Go 326-401, pthread 63000");
	row("spawn+join, batches of 1000", "ns/actor", sjb, nsj,
	    "pthread_create+join", "<= 150", "Go 326-401, pthread 63000");
	char idle_what[32], idle_smarm[32];
	snprintf(idle_smarm, sizeof idle_smarm, "idle, %ld actors", idle);
	snprintf(idle_what, sizeof idle_what, "%ld idle pthreads", native_idle);
	row(idle_smarm, "KB each", ik, nik, idle_what, "<= 4.5", "Go 2.65");
	row("primes < 5M, 1000 tasks", "ms", pm, pt, "1000 pthreads",
	    "<= 380", "Go 377, pthread 451");
	char pool_what[32];
	snprintf(pool_what, sizeof pool_what, "pool of %d pthreads", ncpu);
	row("primes < 5M, 1000 tasks", "ms", pm, pp, pool_what, "<= 380", "");
	printf("primes counted: smarm %ld, 1000 pthreads %ld, pool %ld: %s\n",
	       pr.count, c_threads, c_pool,
	       pr.count == c_threads && pr.count == c_pool ? "agree" : "DISAGREE");
	return pr.count == c_threads && pr.count == c_pool ? 0 : 1;
}
