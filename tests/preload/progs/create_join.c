/* Threads return values through pthread_join; detached threads run too. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int detached_done;

static void *square(void *a)
{
	long n = (long)a;
	usleep(100 * (n % 7));
	return (void *)(n * n);
}

static void *detached(void *a)
{
	(void)a;
	pthread_mutex_lock(&m);
	detached_done++;
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *about_me(void *a)
{
	pthread_attr_t attr;
	char name[16];
	void *lo;
	size_t size;
	int local;

	(void)a;
	pthread_getname_np(pthread_self(), name, sizeof name);
	printf("new thread's name: %s\n", name);
	pthread_setname_np(pthread_self(), "worker");
	pthread_getname_np(pthread_self(), name, sizeof name);
	printf("renamed: %s\n", name);
	pthread_getattr_np(pthread_self(), &attr);
	pthread_attr_getstack(&attr, &lo, &size);
	printf("getattr_np stack holds a local: %d\n",
	       (char *)&local >= (char *)lo && (char *)&local < (char *)lo + size);
	pthread_attr_destroy(&attr);
	return NULL;
}

static void *exiter(void *a)
{
	pthread_exit((void *)((long)a + 1000));
	return NULL;
}

int main(void)
{
	pthread_t t[100], d, self = pthread_self();
	pthread_attr_t attr;
	void *v;
	long sum = 0;

	for (long i = 0; i < 100; i++)
		if (pthread_create(&t[i], NULL, square, (void *)i) != 0)
			return 1;
	for (int i = 0; i < 100; i++) {
		pthread_join(t[i], &v);
		sum += (long)v;
	}
	printf("sum of squares: %ld\n", sum);
	pthread_create(&t[0], NULL, about_me, NULL);
	pthread_join(t[0], NULL);
	pthread_create(&t[0], NULL, exiter, (void *)7);
	pthread_join(t[0], &v);
	printf("pthread_exit value: %ld\n", (long)v);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 10; i++)
		pthread_create(&d, &attr, detached, NULL);
	pthread_create(&d, NULL, detached, NULL);
	pthread_detach(d);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&m);
		int done = detached_done;
		pthread_mutex_unlock(&m);
		if (done == 11)
			break;
		usleep(10 * 1000);
	}
	printf("detached ran: %d\n", detached_done);
	printf("self equal: %d, join self: %d\n", pthread_equal(self, pthread_self()),
	       pthread_join(pthread_self(), NULL) != 0);
	return 0;
}
