/* pthread_once from many threads; keys with destructors (including one
 * that sets a value again, needing a second round). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_calls;
static pthread_key_t k1, k2;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long dtor1_sum, dtor2_calls;

static void init(void)
{
	usleep(10000);
	once_calls++;
}

static void dtor1(void *v)
{
	pthread_mutex_lock(&m);
	dtor1_sum += *(long *)v;
	pthread_mutex_unlock(&m);
	free(v);
}

static void dtor2(void *v)
{
	pthread_mutex_lock(&m);
	dtor2_calls++;
	pthread_mutex_unlock(&m);
	if (v == (void *)1)
		pthread_setspecific(k2, (void *)2); /* a second round */
}

static void *run(void *a)
{
	long *p = malloc(sizeof *p);
	pthread_once(&once, init);
	*p = (long)a;
	if (pthread_getspecific(k1) != NULL)
		return (void *)1;
	pthread_setspecific(k1, p);
	pthread_setspecific(k2, (void *)1);
	usleep(1000);
	return *(long *)pthread_getspecific(k1) == (long)a ? NULL : (void *)1;
}

int main(void)
{
	pthread_t t[50];
	long bad = 0;
	void *v;

	pthread_key_create(&k1, dtor1);
	pthread_key_create(&k2, dtor2);
	for (long i = 0; i < 50; i++)
		pthread_create(&t[i], NULL, run, (void *)(i + 1));
	for (int i = 0; i < 50; i++) {
		pthread_join(t[i], &v);
		bad += (long)v;
	}
	printf("once calls: %d, bad values: %ld\n", once_calls, bad);
	printf("dtor1 sum: %ld, dtor2 calls: %ld\n", dtor1_sum, dtor2_calls);
	pthread_key_delete(k2);
	pthread_key_create(&k2, NULL);
	printf("new key reads NULL: %d\n", pthread_getspecific(k2) == NULL);
	return 0;
}
