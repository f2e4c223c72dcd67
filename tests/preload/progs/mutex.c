/* A counter under a mutex across threads that yield and sleep while
 * holding it; recursive, errorcheck, trylock and timedlock. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add(void *a)
{
	(void)a;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		long c = counter;
		if (i % 100 == 0)
			usleep(50);
		else if (i % 10 == 0)
			sched_yield();
		counter = c + 1;
		pthread_mutex_unlock(&m);
	}
	return NULL;
}

static void *try_it(void *a)
{
	return (void *)(long)pthread_mutex_trylock(a);
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;

static void *holder(void *a)
{
	(void)a;
	pthread_mutex_lock(&held);
	holding = 1;
	usleep(200 * 1000);
	pthread_mutex_unlock(&held);
	return NULL;
}

static struct timespec in_ms(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
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
	pthread_t t[20];
	pthread_mutex_t r, e;
	pthread_mutexattr_t at;
	struct timespec ts;
	void *v;

	for (int i = 0; i < 20; i++)
		pthread_create(&t[i], NULL, add, NULL);
	for (int i = 0; i < 20; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld\n", counter);

	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&r, &at);
	printf("recursive: %d %d %d %d\n", pthread_mutex_lock(&r), pthread_mutex_lock(&r),
	       pthread_mutex_unlock(&r), pthread_mutex_unlock(&r));
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&e, &at);
	pthread_mutex_lock(&e);
	printf("errorcheck relock: %s\n", strerror(pthread_mutex_lock(&e)));
	pthread_create(&t[0], NULL, try_it, &e);
	pthread_join(t[0], &v);
	printf("trylock from another thread: %s\n", strerror((int)(long)v));
	pthread_mutex_unlock(&e);
	pthread_create(&t[0], NULL, holder, NULL);
	while (!holding)
		usleep(1000);
	printf("trylock held: %s\n", strerror(pthread_mutex_trylock(&held)));
	ts = in_ms(20);
	printf("timedlock 20 ms: %s\n", strerror(pthread_mutex_timedlock(&held, &ts)));
	ts = in_ms(5000);
	printf("timedlock 5 s: %s\n", strerror(pthread_mutex_timedlock(&held, &ts)));
	pthread_mutex_unlock(&held);
	pthread_join(t[0], NULL);
	printf("errorcheck unlock unlocked: %s\n", strerror(pthread_mutex_unlock(&e)));
	printf("destroy: %d %d\n", pthread_mutex_destroy(&r), pthread_mutex_destroy(&e));
	return 0;
}
