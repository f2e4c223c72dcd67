/* main calls pthread_exit: the process lives until the last thread ends,
 * then exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *late(void *a)
{
	usleep(50000);
	printf("last thread %ld done\n", (long)a);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, late, (void *)1);
	printf("main leaves with pthread_exit\n");
	fflush(stdout);
	pthread_exit(NULL);
}
