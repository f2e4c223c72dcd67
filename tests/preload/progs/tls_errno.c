/* errno and __thread stay per thread across sleeps and yields (with two
 * carriers, across migrations), with the compiler free to cache their
 * addresses across the calls. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static __thread long tv;
static __thread char buf[64];

static void *run(void *a)
{
	long id = (long)a;
	long bad = 0;
	int *ep = &errno;
	long *tp = &tv;

	for (int i = 0; i < 50; i++) {
		errno = (int)(id * 1000 + i);
		tv = id * 1000 + i;
		snprintf(buf, sizeof buf, "%ld/%d", id, i);
		if (i % 2)
			usleep(100);
		else
			sched_yield();
		char want[64];
		snprintf(want, sizeof want, "%ld/%d", id, i);
		if (errno != (int)(id * 1000 + i) || *ep != errno || tv != id * 1000 + i ||
		    *tp != tv || strtol(buf, NULL, 10) != id)
			bad++;
		(void)want;
	}
	return (void *)bad;
}

int main(void)
{
	pthread_t t[64];
	long bad = 0;
	void *v;

	tv = -1;
	for (long i = 0; i < 64; i++)
		pthread_create(&t[i], NULL, run, (void *)(i + 1));
	for (int i = 0; i < 64; i++) {
		pthread_join(t[i], &v);
		bad += (long)v;
	}
	printf("bad: %ld, main tv: %ld\n", bad, tv);
	return 0;
}
