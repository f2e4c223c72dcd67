/* main returns while other threads still sleep: the process ends with
 * main's status at once, unflushed stdio written. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *forever(void *a)
{
	(void)a;
	for (;;)
		sleep(10);
	return NULL;
}

int main(void)
{
	pthread_t t;
	for (int i = 0; i < 10; i++)
		pthread_create(&t, NULL, forever, NULL);
	usleep(10000);
	printf("main returns 7 (no newline, flushed by exit)");
	return 7;
}
