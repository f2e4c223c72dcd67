/* Spin locks under contention (with yields and sleeps inside) and the
 * joins with timeouts: tryjoin, timedjoin, clockjoin. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_spinlock_t s;
static long counter;

static void *add(void *a)
{
	(void)a;
	for (int i = 0; i < 2000; i++) {
		pthread_spin_lock(&s);
		long c = counter;
		if (i % 500 == 0)
			usleep(100);
		else if (i % 50 == 0)
			sched_yield();
		counter = c + 1;
		pthread_spin_unlock(&s);
	}
	return (void *)42;
}

static void *slow(void *a)
{
	usleep(200 * 1000);
	return a;
}

static struct timespec in_ms(clockid_t clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

int main(void)
{
	pthread_t t[8];
	struct timespec ts;
	void *v = NULL;

	pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, add, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld, trylock free: %d\n", counter, pthread_spin_trylock(&s));
	printf("trylock held: %s\n", strerror(pthread_spin_trylock(&s)));
	pthread_spin_unlock(&s);
	pthread_spin_destroy(&s);

	pthread_create(&t[0], NULL, slow, (void *)7);
	printf("tryjoin running: %s\n", strerror(pthread_tryjoin_np(t[0], &v)));
	ts = in_ms(CLOCK_REALTIME, 20);
	printf("timedjoin 20 ms: %s\n", strerror(pthread_timedjoin_np(t[0], &v, &ts)));
	ts = in_ms(CLOCK_MONOTONIC, 5000);
	printf("clockjoin 5 s: %s", strerror(pthread_clockjoin_np(t[0], &v, CLOCK_MONOTONIC, &ts)));
	printf(" -> %ld\n", (long)v);
	pthread_create(&t[0], NULL, slow, (void *)8);
	int r;
	for (int i = 0; (r = pthread_tryjoin_np(t[0], &v)) == EBUSY && i < 500; i++)
		usleep(10 * 1000); /* it finishes after 200 ms */
	printf("tryjoin finished: %d", r);
	printf(" -> %ld\n", (long)v);
	return 0;
}
