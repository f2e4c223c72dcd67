/* io_close_wake: a thread blocked in read() on a pipe whose read end
 * another thread closes.  Natively (Linux) the read keeps waiting on the
 * file and gets the data written later; under the preload it wakes with
 * EBADF at the close (LOOM.md, drop-in I/O).  Prints what happened. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int p[2];

static void *reader(void *arg)
{
	char buf[16] = {0};
	(void)arg;
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	if (n < 0)
		printf("read: -1 %s\n", errno == EBADF ? "EBADF" : strerror(errno));
	else
		printf("read: %zd '%s'\n", n, buf);
	return NULL;
}

int main(void)
{
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	pipe(p);
	pthread_create(&t, NULL, reader, NULL);
	usleep(50000);
	close(p[0]);
	usleep(50000);
	write(p[1], "late", 4);
	pthread_join(t, NULL);
	return 0;
}
