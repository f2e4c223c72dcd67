/* bench_preempt.c — what preemption costs and what it buys.  Prints tables;
 * never asserts timings.
 *
 *   malloc+free pair      glibc (__libc_malloc/__libc_free from libc.so.6
 *                         itself), plain mimalloc (mi_malloc/mi_free),
 *                         smarm's shim outside and inside an actor
 *   CPU-bound program     8 actors of pure arithmetic (no calls) and 8 that
 *                         allocate, on 2 carriers: wall time with preemption
 *                         off, alloc-only and signal (default slice, 1 ms)
 *   wake-up latency       a sleeper taking 1 ms naps on one carrier while a
 *                         hog spins: how late it wakes
 *
 *   bench_preempt --ir glibc|mimalloc|smarm|actor-off|actor-signal
 *   runs 1,001,000 pairs in ir_loop() (the actor-* ones inside an actor),
 *   for valgrind --tool=callgrind --toggle-collect=ir_loop (instructions).
 */
#include <dlfcn.h>
#ifdef SMARM_MALLOC_SHIM
#include <mimalloc.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "internal.h"
#include "smarm.h"

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

/* ---- malloc+free ---------------------------------------------------------- */

#define PAIRS 20000000

/* Every variant is called through these, so each pays the same indirect
 * call and none can be folded away by the compiler. */
static alloc_fn volatile use_alloc;
static free_fn volatile use_free;

static double pair_ns(alloc_fn a, free_fn f, long n)
{
	double best = 1e30;

	use_alloc = a;
	use_free = f;
	for (int r = 0; r < 5; r++) {
		int64_t t0 = smarm_now();
		for (long i = 0; i < n; i++)
			use_free(use_alloc(32 + (i & 63)));
		double ns = (double)(smarm_now() - t0) / (double)n;
		if (ns < best)
			best = ns;
	}
	return best;
}

static double in_actor_ns;

static void *pairs_in_actor(void *arg)
{
	(void)arg;
	in_actor_ns = pair_ns(malloc, free, PAIRS);
	return NULL;
}

static alloc_fn glibc_malloc;
static free_fn glibc_free;

static void find_glibc(void)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

	/* Looked up in libc.so.6 itself: by name, __libc_malloc would resolve
	 * to libmimalloc's, which exports one too. */
	if (!libc || !(glibc_malloc = (alloc_fn)dlsym(libc, "__libc_malloc")) ||
	    !(glibc_free = (free_fn)dlsym(libc, "__libc_free"))) {
		fprintf(stderr, "cannot find glibc's __libc_malloc\n");
		exit(1);
	}
}

#ifdef SMARM_MALLOC_SHIM
static void bench_pairs(void)
{
	struct smarm_config cfg = {.carriers = 1, .preempt = SMARM_PREEMPT_SIGNAL};
	double g, m, s;

	g = pair_ns(glibc_malloc, glibc_free, PAIRS);
	m = pair_ns(mi_malloc, mi_free, PAIRS);
	s = pair_ns(malloc, free, PAIRS);
	smarm_run(pairs_in_actor, NULL, &cfg, NULL);
	printf("malloc(32..95)+free pair, best of 5 x %d, ns (through a function "
	       "pointer)\n", PAIRS);
	printf("  %-44s %7.2f\n", "glibc (__libc_malloc/__libc_free)", g);
	printf("  %-44s %7.2f\n", "mimalloc (mi_malloc/mi_free)", m);
	printf("  %-44s %7.2f  %+.2f vs mimalloc\n", "smarm shim, not a carrier thread",
	       s, s - m);
	printf("  %-44s %7.2f  %+.2f vs mimalloc\n", "smarm shim, in an actor (signal mode)",
	       in_actor_ns, in_actor_ns - m);
}
#else
static void bench_pairs(void)
{
	(void)pairs_in_actor;
	printf("malloc+free: no malloc shim in this build (sanitizers)\n");
}
#endif

/* ---- CPU-bound program ------------------------------------------------------ */

#define WORKERS 8
static uint64_t work_iters;
static volatile uint64_t sink;

__attribute__((noipa)) static uint64_t arith(uint64_t n)
{
	uint64_t x = 1, y = 2;

	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		y ^= x >> 17;
	}
	return x ^ y;
}

static void *volatile sink_p;

__attribute__((noipa)) static uint64_t allocating(uint64_t n)
{
	uint64_t x = 1;

	for (uint64_t i = 0; i < n / 64; i++) {
		char *p = malloc(16 + (i & 255));
		sink_p = p; /* else GCC drops the malloc+free pair */
		p[0] = (char)i;
		for (int k = 0; k < 64; k++)
			x = x * 6364136223846793005ull + (uint64_t)p[0];
		free(p);
	}
	return x;
}

static void *worker(void *arg)
{
	sink = arg ? allocating(work_iters) : arith(work_iters);
	return NULL;
}

static void *root_workers(void *arg)
{
	smarm_pid_t p[WORKERS];

	for (int i = 0; i < WORKERS; i++)
		smarm_spawn(&p[i], worker, arg, NULL);
	for (int i = 0; i < WORKERS; i++)
		smarm_join(p[i], NULL);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct cpu_cfg {
	const char *name;
	int mode;
	int64_t slice;
};

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time (all threads, the monitor's included) is the figure to judge
 * overhead by on a shared machine; wall time is shown beside it. */
static void bench_cpu(const char *what, void *kind)
{
	static const struct cpu_cfg cfgs[] = {
		{"off", SMARM_PREEMPT_OFF, 0},
		{"alloc, 10 ms", SMARM_PREEMPT_ALLOC, 0},
		{"signal, 10 ms (default)", SMARM_PREEMPT_SIGNAL, 0},
		{"signal, 2 ms", SMARM_PREEMPT_SIGNAL, SMARM_MSEC(2)},
		{"signal, 1 ms", SMARM_PREEMPT_SIGNAL, SMARM_MSEC(1)},
	};
	enum { N = sizeof cfgs / sizeof cfgs[0], RUNS = 9 };
	double wall[N][RUNS], cpu[N][RUNS];
	uint64_t pre[N] = {0}, sig[N] = {0}, looks[N] = {0}, mon_ns[N] = {0};

	for (int r = 0; r < RUNS; r++) {
		for (int k = 0; k < N; k++) {
			struct smarm_config cfg = {.carriers = 2, .preempt = cfgs[k].mode,
			                           .slice = cfgs[k].slice};
			struct smarm__preempt_stats a, b;
			smarm__preempt_stats(&a);
			double c0 = cpu_ms();
			int64_t t0 = smarm_now();
			smarm_run(root_workers, kind, &cfg, NULL);
			wall[k][r] = (double)(smarm_now() - t0) / 1e6;
			cpu[k][r] = cpu_ms() - c0;
			smarm__preempt_stats(&b);
			pre[k] += (b.by_alloc - a.by_alloc) + (b.by_check - a.by_check) +
				  (b.by_signal - a.by_signal);
			sig[k] += b.by_signal - a.by_signal;
			looks[k] += b.looks - a.looks;
			mon_ns[k] += b.monitor_cpu_ns - a.monitor_cpu_ns;
		}
	}
	for (int k = 0; k < N; k++) {
		qsort(wall[k], RUNS, sizeof wall[k][0], cmp_d);
		qsort(cpu[k], RUNS, sizeof cpu[k][0], cmp_d);
	}
	printf("\n%s: %d actors on 2 carriers, %d interleaved runs\n", what, WORKERS, RUNS);
	printf("  %-24s %9s %9s %8s %9s %8s %8s %8s %9s\n", "preemption", "wall med",
	       "CPU med", "vs off", "CPU min", "vs off", "preempt", "signal", "monitor");
	for (int k = 0; k < N; k++)
		printf("  %-24s %7.1fms %7.1fms %+7.2f%% %7.1fms %+7.2f%% %8.0f %8.0f "
		       "%4.0f/%.2fms\n",
		       cfgs[k].name, wall[k][RUNS / 2], cpu[k][RUNS / 2],
		       100.0 * (cpu[k][RUNS / 2] - cpu[0][RUNS / 2]) / cpu[0][RUNS / 2],
		       cpu[k][0], 100.0 * (cpu[k][0] - cpu[0][0]) / cpu[0][0],
		       (double)pre[k] / RUNS, (double)sig[k] / RUNS,
		       (double)looks[k] / RUNS, mon_ns[k] / 1e6 / RUNS);
	printf("  (per run: preemptions, of which by signal; monitor wake-ups / its CPU "
	       "time)\n");
}

/* ---- wake-up latency under a hog ------------------------------------------- */

#define NAPS 200
static _Atomic int naps_done;
static int64_t lateness[NAPS];
static int64_t nap_ns;
static int naps;

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < naps; i++) {
		int64_t t0 = smarm_now();
		smarm_sleep(nap_ns);
		lateness[i] = smarm_now() - t0 - nap_ns;
	}
	atomic_store(&naps_done, 1);
	return NULL;
}

static void *hog(void *arg)
{
	uint64_t x = 1, cap = __rdtsc() + (uint64_t)(uintptr_t)arg;

	/* No calls: only a signal can preempt this loop. */
	while (!atomic_load_explicit(&naps_done, memory_order_relaxed) && __rdtsc() < cap)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
	atomic_store(&naps_done, 1);
	return NULL;
}

static uint64_t hog_ticks;

static void *root_latency(void *arg)
{
	smarm_pid_t h, s;
	(void)arg;

	smarm_spawn(&h, hog, (void *)(uintptr_t)hog_ticks, NULL);
	smarm_spawn(&s, sleeper, NULL, NULL);
	smarm_join(s, NULL);
	smarm_join(h, NULL);
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void bench_latency(void)
{
	static const struct cpu_cfg cfgs[] = {
		{"signal, 10 ms (default)", SMARM_PREEMPT_SIGNAL, 0},
		{"signal, 2 ms", SMARM_PREEMPT_SIGNAL, SMARM_MSEC(2)},
		{"signal, 1 ms", SMARM_PREEMPT_SIGNAL, SMARM_MSEC(1)},
		{"alloc only (hog never allocates)", SMARM_PREEMPT_ALLOC, 0},
	};
	/* Calibrate the hog's cap (the cycle counter) to 2 s. */
	int64_t t0 = smarm_now();
	uint64_t c0 = __rdtsc();
	while (smarm_now() - t0 < SMARM_MSEC(20))
		;
	hog_ticks = (__rdtsc() - c0) * 100;

	printf("\nwake-up latency: a sleeper napping 1 ms, %d times, beside a hog "
	       "on one carrier; how late it woke, ms\n", NAPS);
	printf("  %-34s %8s %8s %8s %8s\n", "preemption", "median", "p90", "p99", "worst");
	for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
		struct smarm_config cfg = {.carriers = 1, .preempt = cfgs[k].mode,
		                           .slice = cfgs[k].slice};
		naps = cfgs[k].mode == SMARM_PREEMPT_ALLOC ? 3 : NAPS;
		nap_ns = SMARM_MSEC(1);
		atomic_store(&naps_done, 0);
		smarm_run(root_latency, NULL, &cfg, NULL);
		qsort(lateness, naps, sizeof lateness[0], cmp64);
		printf("  %-34s %8.2f %8.2f %8.2f %8.2f\n", cfgs[k].name,
		       lateness[naps / 2] / 1e6, lateness[naps * 9 / 10] / 1e6,
		       lateness[naps * 99 / 100] / 1e6, lateness[naps - 1] / 1e6);
	}
}

/* ---- instruction counts under callgrind ------------------------------------- */

__attribute__((noipa)) static void ir_loop(alloc_fn a, free_fn f, long n)
{
	for (long i = 0; i < n; i++)
		f(a(32 + (i & 63)));
}

static void *ir_in_actor(void *arg)
{
	(void)arg;
	ir_loop(malloc, free, 1000);
	ir_loop(malloc, free, 1000000);
	return NULL;
}

int main(int argc, char **argv)
{
	find_glibc();
#ifdef SMARM_MALLOC_SHIM
	if (argc == 3 && !strcmp(argv[1], "--ir") && !strncmp(argv[2], "actor-", 6)) {
		/* actor-off: the fast path alone; actor-signal: with requests
		 * arriving (and honoured) every slice. */
		struct smarm_config cfg = {.carriers = 1,
		                           .preempt = !strcmp(argv[2], "actor-off")
		                                      ? SMARM_PREEMPT_OFF
		                                      : SMARM_PREEMPT_SIGNAL};
		return smarm_run(ir_in_actor, NULL, &cfg, NULL) == 0 ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--ir")) {
		alloc_fn a = !strcmp(argv[2], "glibc") ? glibc_malloc
			   : !strcmp(argv[2], "mimalloc") ? mi_malloc : malloc;
		free_fn f = !strcmp(argv[2], "glibc") ? glibc_free
			  : !strcmp(argv[2], "mimalloc") ? mi_free : free;
		ir_loop(a, f, 1000);       /* warm up: first-touch paths */
		ir_loop(a, f, 1000000);
		return 0;
	}
#else
	(void)argc, (void)argv, (void)ir_loop;
#endif
	bench_pairs();
	work_iters = 40000000;
	bench_cpu("CPU-bound, pure arithmetic (no calls)", NULL);
	bench_cpu("CPU-bound, allocating (a malloc+free per 64 steps)", (void *)1);
	bench_latency();
	return 0;
}
