/* printf from many threads at once: every line arrives whole.  Output
 * order differs between runs; the test compares sorted lines. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

static void *talk(void *a)
{
	long id = (long)a;
	for (int i = 0; i < 200; i++) {
		printf("thread %3ld line %3d: %s %f\n", id, i,
		       "the quick brown fox jumps over the lazy dog", id + i / 1000.0);
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	pthread_t t[40];
	for (long i = 0; i < 40; i++)
		pthread_create(&t[i], NULL, talk, (void *)i);
	for (int i = 0; i < 40; i++)
		pthread_join(t[i], NULL);
	return 0;
}
