/* mutex_static.c — glibc's static initialisers for the non-default mutex
 * kinds behave as their kinds, and a default mutex relocked by its owner
 * deadlocks (seen through timedlock, which gives up with ETIMEDOUT). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t adp = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t def = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static const char *e(int r)
{
	return r == 0 ? "0" : r == EBUSY ? "EBUSY" : r == EDEADLK ? "EDEADLK"
	       : r == EPERM ? "EPERM" : r == ETIMEDOUT ? "ETIMEDOUT" : strerror(r);
}

static void *other(void *a)
{
	(void)a;
	printf("other: trylock recursive held by main: %s\n", e(pthread_mutex_trylock(&rec)));
	printf("other: unlock errorcheck held by main: %s\n", e(pthread_mutex_unlock(&chk)));
	return NULL;
}

static void *adder(void *a)
{
	(void)a;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&adp);
		counter++;
		pthread_mutex_unlock(&adp);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	struct timespec ts;

	/* Recursive: three locks, three unlocks, then it is free. */
	for (int i = 0; i < 3; i++)
		printf("recursive lock %d: %s\n", i, e(pthread_mutex_lock(&rec)));
	printf("recursive trylock by owner: %s\n", e(pthread_mutex_trylock(&rec)));
	/* Errorcheck. */
	printf("errorcheck lock: %s\n", e(pthread_mutex_lock(&chk)));
	printf("errorcheck relock: %s\n", e(pthread_mutex_lock(&chk)));
	pthread_create(&t[0], NULL, other, NULL);
	pthread_join(t[0], NULL);
	for (int i = 0; i < 4; i++)
		printf("recursive unlock %d: %s\n", i, e(pthread_mutex_unlock(&rec)));
	printf("errorcheck unlock: %s\n", e(pthread_mutex_unlock(&chk)));
	printf("errorcheck unlock again: %s\n", e(pthread_mutex_unlock(&chk)));
	/* Adaptive: a plain lock under contention. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("adaptive counter: %ld\n", counter);
	/* Default kind relocked by its owner: deadlock, until the timeout. */
	pthread_mutex_lock(&def);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	printf("default relock (timed): %s\n", e(pthread_mutex_timedlock(&def, &ts)));
	printf("default trylock by owner: %s\n", e(pthread_mutex_trylock(&def)));
	printf("default unlock: %s\n", e(pthread_mutex_unlock(&def)));
	return 0;
}
