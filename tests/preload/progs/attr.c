/* attr.c — pthread_getattr_np of the calling thread and of another one:
 * the stack holds the thread's locals and is at least the size asked for,
 * the detach state is the thread's, a guard is reported; the attr getters
 * read back what pthread_create was given. */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

static sem_t ready, go;
static volatile char *worker_local;

/* guard: print whether a guard is reported (natively, not for main). */
static int holds(pthread_t t, const volatile void *p, size_t want, int guarded)
{
	pthread_attr_t a;
	void *lo;
	size_t size, guard;
	int ds;

	if (pthread_getattr_np(t, &a) != 0)
		return printf("  getattr_np failed\n");
	pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_getguardsize(&a, &guard);
	pthread_attr_getdetachstate(&a, &ds);
	printf("  stack holds the local: %s\n",
	       (uintptr_t)p >= (uintptr_t)lo && (uintptr_t)p < (uintptr_t)lo + size ? "yes" : "no");
	printf("  stack size >= asked: %s\n", size >= want ? "yes" : "no");
	if (guarded)
		printf("  guard reported: %s\n", guard > 0 ? "yes" : "no");
	printf("  detach state: %s\n", ds == PTHREAD_CREATE_DETACHED ? "detached" : "joinable");
	pthread_attr_destroy(&a);
	return 0;
}

static void *worker(void *arg)
{
	volatile char local = 1;
	(void)arg;
	worker_local = &local;
	printf("worker, itself:\n");
	holds(pthread_self(), &local, 1 << 20, 1);
	sem_post(&ready);
	sem_wait(&go);
	return NULL;
}

static void *detached(void *arg)
{
	volatile char local = 1;
	(void)arg;
	printf("detached thread, itself:\n");
	holds(pthread_self(), &local, 0, 1);
	sem_post(&ready);
	return NULL;
}

int main(void)
{
	pthread_attr_t a;
	pthread_t t;
	size_t size;
	int ds;
	volatile char local = 1;

	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 1 << 20);
	pthread_attr_getstacksize(&a, &size);
	pthread_attr_getdetachstate(&a, &ds);
	printf("attr: stack size %zu, %s\n", size, ds == PTHREAD_CREATE_JOINABLE ? "joinable" : "?");
	pthread_create(&t, &a, worker, NULL);
	sem_wait(&ready);
	printf("worker, from main:\n");
	holds(t, worker_local, 1 << 20, 1);
	sem_post(&go);
	pthread_join(t, NULL);

	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_getdetachstate(&a, &ds);
	printf("attr: %s\n", ds == PTHREAD_CREATE_DETACHED ? "detached" : "?");
	pthread_create(&t, &a, detached, NULL);
	sem_wait(&ready);
	pthread_attr_destroy(&a);

	printf("main, itself:\n");
	holds(pthread_self(), &local, 1 << 20, 0);

	/* A default set by the program applies to a NULL attr. */
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 3 << 20);
	pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
	pthread_create(&t, NULL, worker, NULL);
	sem_wait(&ready);
	printf("worker with the program's default stack, from main:\n");
	holds(t, worker_local, 3 << 20, 1);
	sem_post(&go);
	pthread_join(t, NULL);
	return 0;
}
