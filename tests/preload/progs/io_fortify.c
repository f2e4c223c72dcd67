/* io_fortify: built with _FORTIFY_SOURCE (as Debian's packages are), so
 * read, recv and poll on fixed-size buffers become __read_chk, __recv_chk
 * and __poll_chk.  A reader blocked in each must still let the writer run
 * (one carrier: a read that held it would hang the program). */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int p[2], sv[2];
static volatile size_t want = 5; /* not a constant: the _chk forms are kept */

static void *writer(void *arg)
{
	(void)arg;
	usleep(20000);
	if (write(p[1], "pipe!", 5) != 5)
		abort();
	usleep(20000);
	send(sv[1], "sock!", 5, 0);
	usleep(20000);
	if (write(p[1], "poll!", 5) != 5)
		abort();
	return NULL;
}

int main(void)
{
	char buf[16] = {0};
	struct pollfd fds[1];
	pthread_t t;

	if (pipe(p))
		return 1;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_create(&t, NULL, writer, NULL);
	printf("__read_chk: %zd %.5s\n", read(p[0], buf, want), buf);
	printf("__recv_chk: %zd %.5s\n", recv(sv[0], buf, want, 0), buf);
	fds[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
	int n = poll(fds, (nfds_t)(want - 4), 5000);
	printf("__poll_chk: %d revents %x\n", n, fds[0].revents);
	pthread_join(t, NULL);
	return 0;
}
