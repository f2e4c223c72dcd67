/* bench_proc.c — figures, not a test: what process calls cost a thread
 * (natively and under smarm-run: compare the two).
 *   spawn      posix_spawn of /bin/true: the call alone (glibc's
 *              CLONE_VFORK holds the calling OS thread until the child has
 *              exec'd: under the preload, that is the carrier), then the
 *              whole spawn+waitpid
 *              (children inherit LD_PRELOAD: under smarm-run each /bin/true
 *              starts the runtime too; "clean env" spawns without it)
 *   fork       fork+_exit+waitpid
 *   system     system("true")
 *   ticks      how far a 1 ms ticker thread got meanwhile, per second of
 *              the run (1000 = never held up) */
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static atomic_int ticks, stop;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *ticker(void *a)
{
	(void)a;
	while (!atomic_load(&stop)) {
		usleep(1000);
		atomic_fetch_add(&ticks, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, st;
	char *av[] = {"true", NULL};
	double t0, call = 0, t;
	pthread_t tk;
	pid_t p;

	double start = now();
	pthread_create(&tk, NULL, ticker, NULL);
	t0 = now();
	for (int i = 0; i < n; i++) {
		t = now();
		if (posix_spawn(&p, "/bin/true", NULL, NULL, av, environ) != 0)
			return 1;
		call += now() - t;
		waitpid(p, &st, 0);
	}
	t = now() - t0;
	printf("posix_spawn call %.0f us, spawn+waitpid %.0f us\n", call / n * 1e6, t / n * 1e6);
	char *clean[256];
	int k = 0;
	for (char **e = environ; *e && k < 255; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
			clean[k++] = *e;
	clean[k] = NULL;
	t0 = now();
	for (int i = 0; i < n; i++) {
		if (posix_spawn(&p, "/bin/true", NULL, NULL, av, clean) != 0)
			return 1;
		waitpid(p, &st, 0);
	}
	printf("spawn+waitpid, clean env %.0f us\n", (now() - t0) / n * 1e6);
	t0 = now();
	for (int i = 0; i < n; i++) {
		if ((p = fork()) == 0)
			_exit(0);
		waitpid(p, &st, 0);
	}
	printf("fork+_exit+waitpid %.0f us\n", (now() - t0) / n * 1e6);
	t0 = now();
	for (int i = 0; i < n / 4; i++)
		if (system("true") != 0)
			return 1;
	printf("system(\"true\") %.0f us\n", (now() - t0) / (n / 4) * 1e6);
	t = now() - t0;
	atomic_store(&stop, 1);
	pthread_join(tk, NULL);
	printf("ticker: %.0f ticks per second of the run (1000: never held up)\n",
	       atomic_load(&ticks) / (now() - start));
	return 0;
}
