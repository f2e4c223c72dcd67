/* versioned.c — references to old symbol versions (as binaries linked
 * against older glibc have) and to the current ones: each must reach the
 * preload's function.  With one carrier, a wait that reached glibc's
 * futex-based one would block the carrier its signaller needs. */
#include <pthread.h>
#include <stdio.h>

__asm__(".symver pthread_cond_wait,pthread_cond_wait@GLIBC_2.3.2");
__asm__(".symver pthread_cond_signal,pthread_cond_signal@GLIBC_2.3.2");
__asm__(".symver pthread_mutex_lock,pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver pthread_mutex_unlock,pthread_mutex_unlock@GLIBC_2.2.5");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.34");

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int turn;

static void *pong(void *a)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		while (turn != 1)
			pthread_cond_wait(&c, &m);
		turn = 0;
		pthread_cond_signal(&c);
		pthread_mutex_unlock(&m);
	}
	return a;
}

int main(void)
{
	pthread_t t;
	void *v;

	pthread_create(&t, NULL, pong, (void *)42);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		turn = 1;
		pthread_cond_signal(&c);
		while (turn != 0)
			pthread_cond_wait(&c, &m);
		pthread_mutex_unlock(&m);
	}
	pthread_join(t, &v);
	printf("1000 round trips, value %ld\n", (long)v);
	return 0;
}
