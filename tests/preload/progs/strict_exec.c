/* exec from a thread (no fork): the new program replaces the process and
 * must start without the carriers' seccomp filter.  A first exec that
 * fails must come back with its errno. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *run(void *a)
{
	(void)a;
	if (execl("/nonexistent/program", "x", (char *)NULL) == -1)
		printf("failed exec: %s\n", strerror(errno));
	fflush(stdout);
	execlp("sh", "sh", "-c", "echo exec from a thread: $((2 + 3))", (char *)NULL);
	printf("exec failed: %s\n", strerror(errno));
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 1;
}
