/* bench_handoff.c — what the carrier hand-off (runtime/handoff.c) costs in
 * OS threads, and what a blocked drop-in thread costs in memory.  Runs
 * plain pthread programs from tests/preload/progs natively and under
 * libsmarm_preload.so, side by side, and prints tables; never asserts.
 *
 * Threads: while a program runs, this process reads its
 * /proc/<pid>/status every 0.5 ms and keeps the largest "Threads:" figure.
 * Under the preload that is the carriers (SMARM_THREADS, plus the spares
 * the hand-off started) plus the monitor thread (plus pool threads, which
 * these programs do not use); natively it is the program's own threads.
 *
 * Memory: many_blocked prints its VmRSS once every thread exists and is
 * blocked; the slope between two thread counts is the cost of one more
 * blocked thread.  (Natively the kernel's stack and task, ~16 KB a thread,
 * are not in RSS.)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SMARM_PRELOAD_LIB
#error "the Makefile defines SMARM_PRELOAD_LIB"
#endif

#define RUNS 5

struct result {
	double secs;
	int peak_threads;
	int status;
	char out[4096];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int threads_of(pid_t pid)
{
	char path[64], buf[2048];
	int fd, n, t = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = (int)read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strstr(buf, "Threads:");
	if (p)
		t = atoi(p + 8);
	return t;
}

/* Run prog with argv under `carriers` carriers (0: natively). */
static struct result run(const char *prog, int carriers, char *const *args)
{
	char path[512], nthreads[16];
	struct result r = {0};
	int out[2];
	pid_t pid;
	double t0 = now();

	snprintf(path, sizeof path, "%s/%s", SMARM_PRELOAD_PROGS, prog);
	snprintf(nthreads, sizeof nthreads, "%d", carriers);
	if (pipe(out) != 0)
		exit(1);
	if ((pid = fork()) == 0) {
		char *av[8] = {(char *)prog};
		dup2(out[1], 1);
		close(out[0]);
		if (carriers) {
			setenv("SMARM_THREADS", nthreads, 1);
			setenv("LD_PRELOAD", SMARM_PRELOAD_LIB, 1);
		}
		for (int i = 0; args && args[i] && i < 6; i++)
			av[i + 1] = args[i];
		execv(path, av);
		_exit(127);
	}
	close(out[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	size_t len = 0;
	for (;;) {
		int t = threads_of(pid);
		if (t > r.peak_threads)
			r.peak_threads = t;
		ssize_t n = read(out[0], r.out + len, sizeof r.out - 1 - len);
		if (n > 0)
			len += (size_t)n;
		if (waitpid(pid, &r.status, WNOHANG) == pid)
			break;
		usleep(500);
	}
	ssize_t n;
	while ((n = read(out[0], r.out + len, sizeof r.out - 1 - len)) > 0)
		len += (size_t)n;
	r.out[len] = 0;
	close(out[0]);
	r.secs = now() - t0;
	return r;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median time and the largest peak of RUNS runs. */
static void row(const char *label, const char *prog, int carriers, char *const *args)
{
	double t[RUNS];
	int peak = 0, bad = 0;

	for (int i = 0; i < RUNS; i++) {
		struct result r = run(prog, carriers, args);
		t[i] = r.secs;
		if (r.peak_threads > peak)
			peak = r.peak_threads;
		bad += r.status != 0;
	}
	qsort(t, RUNS, sizeof *t, cmp_d);
	printf("  %-34s %-10s %9.1f %12d%s\n", label,
	       carriers ? (carriers == 1 ? "1 carrier" : "2 carriers") : "native",
	       t[RUNS / 2] * 1e3, peak, bad ? "   (some runs failed)" : "");
}

static long rss_kb(const char *out)
{
	const char *p = strstr(out, "VmRSS:");
	return p ? atol(p + 6) : -1;
}

static void memory(int carriers, long lo, long hi)
{
	char a[16], b[16];
	char *al[] = {a, "rss", NULL}, *bl[] = {b, "rss", NULL};
	struct result rl, rh;

	snprintf(a, sizeof a, "%ld", lo);
	snprintf(b, sizeof b, "%ld", hi);
	rl = run("many_blocked", carriers, al);
	rh = run("many_blocked", carriers, bl);
	if (rss_kb(rl.out) < 0 || rss_kb(rh.out) < 0) {
		printf("  %-10s %7ld -> %7ld threads: did not finish (status %#x)\n",
		       carriers ? "preload" : "native", lo, hi, rh.status);
		return;
	}
	printf("  %-10s %7ld -> %7ld threads %10ld KB -> %8ld KB  %6.2f KB/thread   %5.2f s for %ld\n",
	       carriers ? "preload" : "native", lo, hi, rss_kb(rl.out), rss_kb(rh.out),
	       (double)(rss_kb(rh.out) - rss_kb(rl.out)) / (double)(hi - lo), rh.secs, hi);
}

int main(void)
{
	char *stdio_big[] = {"64", "4000", NULL};

	printf("OS threads while a program runs: the peak of /proc/<pid>/status Threads "
	       "(under the preload: carriers + spares + 1 monitor); median of %d runs\n",
	       RUNS);
	printf("  %-34s %-10s %9s %12s\n", "program", "", "wall ms", "peak threads");
	const char *progs[][2] = {
		{"fgets_pipe", "fgets on a pipe, late writer"},
		{"futex_raw", "raw futex wait/wake, ping-pong"},
		{"stdio_pipe", "stdio: 16 writers x 2000 lines"},
	};
	for (size_t i = 0; i < sizeof progs / sizeof *progs; i++)
		for (int c = 0; c <= 2; c++)
			row(progs[i][1], progs[i][0], c, NULL);
	for (int c = 0; c <= 2; c++)
		row("stdio: 64 writers x 4000 lines", "stdio_pipe", c, stdio_big);

	printf("\nMemory per blocked thread (many_blocked: sleep, then a mutex+cond "
	       "barrier; RSS once all are blocked)\n");
	memory(0, 10000, 30000);
	memory(2, 10000, 100000);
	return 0;
}
