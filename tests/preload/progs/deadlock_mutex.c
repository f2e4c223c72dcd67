/* deadlock_mutex.c — the classic two-mutex deadlock: thread "alpha" holds
 * lock_a and wants lock_b, thread "beta" holds lock_b and wants lock_a, and
 * main joins them.  Natively it hangs for ever (never run it so); under
 * the preload the runtime reports "all 3 threads are asleep - deadlock!"
 * with a dump and exits 2.  Prints the two mutexes' addresses first, so
 * the test can find them in the report:
 *   lock_a=<addr>
 *   lock_b=<addr>
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void *alpha(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "alpha");
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_b);
	return NULL;
}

static void *beta(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "beta");
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_a);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	printf("lock_a=%p\nlock_b=%p\n", (void *)&lock_a, (void *)&lock_b);
	fflush(stdout);
	pthread_barrier_init(&both_hold, NULL, 2);
	if (pthread_create(&a, NULL, alpha, NULL) || pthread_create(&b, NULL, beta, NULL))
		return 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("not reached\n");
	return 0;
}
