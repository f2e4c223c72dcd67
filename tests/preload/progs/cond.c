/* Producer/consumer over a bounded queue with two condition variables;
 * timedwait timing out on a CLOCK_MONOTONIC condattr and on the default. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CAP 4
#define ITEMS 2000
#define PRODUCERS 4
#define CONSUMERS 3

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long q[CAP], head, tail, total;
static int producers_left = PRODUCERS;

static void *produce(void *a)
{
	long base = (long)a * ITEMS;
	for (long i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&m);
		while (tail - head == CAP)
			pthread_cond_wait(&not_full, &m);
		q[tail++ % CAP] = base + i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&m);
	}
	pthread_mutex_lock(&m);
	if (--producers_left == 0)
		pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *consume(void *a)
{
	long sum = 0;
	(void)a;
	pthread_mutex_lock(&m);
	for (;;) {
		while (tail == head && producers_left)
			pthread_cond_wait(&not_empty, &m);
		if (tail == head)
			break;
		sum += q[head++ % CAP];
		pthread_cond_signal(&not_full);
	}
	total += sum;
	pthread_mutex_unlock(&m);
	return NULL;
}

static int timed(clockid_t clk, pthread_cond_t *c)
{
	struct timespec ts;
	int r;
	clock_gettime(clk, &ts);
	ts.tv_nsec += 30 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m);
	r = pthread_cond_timedwait(c, &m, &ts);
	pthread_mutex_unlock(&m);
	return r;
}

int main(void)
{
	pthread_t p[PRODUCERS], c[CONSUMERS];
	pthread_condattr_t ca;
	pthread_cond_t mono;
	long n = (long)PRODUCERS * ITEMS;

	for (long i = 0; i < CONSUMERS; i++)
		pthread_create(&c[i], NULL, consume, NULL);
	for (long i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, produce, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(c[i], NULL);
	printf("total %ld expected %ld\n", total, n * (n + 1) / 2);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mono, &ca);
	printf("timedwait monotonic: %s\n", strerror(timed(CLOCK_MONOTONIC, &mono)));
	printf("timedwait realtime: %s\n", strerror(timed(CLOCK_REALTIME, &not_full)));
	printf("destroy: %d\n", pthread_cond_destroy(&mono));
	return 0;
}
