/* exit() from a thread ends the process (atexit handlers run) while main
 * waits in pthread_join. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void bye(void)
{
	printf("atexit handler ran\n");
}

static void *quitter(void *a)
{
	(void)a;
	usleep(20000);
	printf("thread calls exit(5)\n");
	exit(5);
}

int main(void)
{
	pthread_t t;
	atexit(bye);
	pthread_create(&t, NULL, quitter, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 0;
}
