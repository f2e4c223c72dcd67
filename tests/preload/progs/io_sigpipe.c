/* io_sigpipe: a thread writes to a pipe nobody reads, SIGPIPE left at its
 * default action: the process dies of SIGPIPE, as natively. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int p[2];

static void *writer(void *arg)
{
	(void)arg;
	write(p[1], "x", 1);
	printf("not reached\n");
	return NULL;
}

int main(void)
{
	pthread_t t;

	printf("before\n");
	fflush(stdout);
	pipe(p);
	close(p[0]);
	pthread_create(&t, NULL, writer, NULL);
	pthread_join(t, NULL);
	return 0;
}
