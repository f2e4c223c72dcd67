/* A thread holds stdout's lock (flockfile) across a sleep, which parks it
 * under the preload; another thread's printf then waits for that lock
 * inside glibc, in the kernel, where no wrapper sees it.  With one carrier
 * only the carrier hand-off lets the sleeper wake and let go. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile int holding;

static void *holder(void *arg)
{
	(void)arg;
	flockfile(stdout);
	holding = 1;
	printf("holder: has the lock\n");
	usleep(30000);
	printf("holder: lets go\n");
	funlockfile(stdout);
	return NULL;
}

static void *talker(void *arg)
{
	(void)arg;
	while (!holding)
		usleep(1000);
	printf("talker: got through\n");
	return NULL;
}

int main(void)
{
	pthread_t h, t;

	pthread_create(&h, NULL, holder, NULL);
	pthread_create(&t, NULL, talker, NULL);
	pthread_join(t, NULL);
	pthread_join(h, NULL);
	printf("done\n");
	return 0;
}
