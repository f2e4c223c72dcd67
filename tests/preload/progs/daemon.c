/* daemon() (glibc forks internally, past any wrapper) from a program with
 * threads: the parent exits 0 at once; the daemon has a working runtime
 * (threads, sleeps, joins) and keeps the output pipe (noclose). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *work(void *a)
{
	usleep(10000);
	return (void *)((long)a + 1);
}

int main(void)
{
	pthread_t t;
	void *v;
	pid_t parent = getpid();

	pthread_create(&t, NULL, work, (void *)1);
	pthread_join(t, &v);
	printf("before daemon: %ld\n", (long)v);
	fflush(stdout);
	if (daemon(1, 1) != 0)
		return 1;
	/* Only the daemon gets here. */
	pthread_create(&t, NULL, work, (void *)41);
	pthread_join(t, &v);
	printf("daemon: new session %d, thread returned %ld, pid changed %d\n",
	       getsid(0) == getpid(), (long)v, getpid() != parent);
	return 0;
}
