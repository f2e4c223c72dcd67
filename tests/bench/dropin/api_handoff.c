/* api_handoff.c — a figure, not a test: two threads passing a turn back
 * and forth, (1) through a mutex: each takes the mutex, flips the turn if
 * it is its own, unlocks, and yields while it waits (the mutex hand-off
 * programs do without a condition variable), and (2) through a condition
 * variable (ping-pong under one mutex).  Output: "label: value unit"
 * lines, lower is better (make bench: tests/bench/dropin/run.sh). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static volatile int turn;
static long rounds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Mutex hand-off: whoever holds the mutex and sees its turn flips it. */
static void mutex_side(int me)
{
	for (long i = 0; i < rounds;) {
		pthread_mutex_lock(&m);
		if (turn == me) {
			turn = !me;
			i++;
		}
		pthread_mutex_unlock(&m);
		if (turn != me)
			sched_yield();
	}
}

static void cond_side(int me)
{
	pthread_mutex_lock(&m);
	for (long i = 0; i < rounds; i++) {
		while (turn != me)
			pthread_cond_wait(&c, &m);
		turn = !me;
		pthread_cond_signal(&c);
	}
	pthread_mutex_unlock(&m);
}

static void *other(void *a)
{
	if (a)
		cond_side(1);
	else
		mutex_side(1);
	return NULL;
}

static void run(const char *label, int cond)
{
	pthread_t t;
	double t0 = now();

	turn = 0;
	pthread_create(&t, NULL, other, cond ? (void *)1 : NULL);
	if (cond)
		cond_side(0);
	else
		mutex_side(0);
	pthread_join(t, NULL);
	printf("%s: %.0f ns/round-trip\n", label, (now() - t0) / rounds * 1e9);
}

int main(int argc, char **argv)
{
	rounds = argc > 1 ? atol(argv[1]) : 50000;
	run("mutex hand-off", 0);
	run("cond ping-pong", 1);
	return 0;
}
