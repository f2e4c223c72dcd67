/* Contended stdio: each thread holds stdout's lock (flockfile) across a
 * sleep, so the others queue on glibc's internal lock, a futex no wrapper
 * sees.  With one carrier and strict mode, those futex waits must park the
 * green threads (and the unlock's futex wake find them), or the carrier
 * blocks behind a sleeper that can never run again.  Each thread's two
 * halves of a record must stay together. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define THREADS 16
#define RECORDS 40

static void *talk(void *a)
{
	long id = (long)a;

	for (int i = 0; i < RECORDS; i++) {
		flockfile(stdout);
		printf("thread %2ld record %2d begins", id, i);
		if (i % 8 == 0)
			usleep(500); /* parks holding the lock */
		printf(" and ends %ld\n", id * 1000 + i);
		funlockfile(stdout);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];

	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, talk, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
