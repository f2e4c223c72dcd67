/* join_sleeper.c — main joins a thread that sleeps before it returns:
 * every green thread is parked for a while, but a timer is pending, so
 * this is no deadlock (the runtime must not say it is). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	return (void *)42;
}

int main(void)
{
	pthread_t t;
	void *v = NULL;

	if (pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	pthread_join(t, &v);
	printf("joined %ld\n", (long)v);
	return 0;
}
