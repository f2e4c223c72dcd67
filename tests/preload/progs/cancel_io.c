/* cancel_io.c — read, poll and accept are cancellation points: a thread
 * blocked in each is cancelled, its cleanup handler runs, and join sees
 * PTHREAD_CANCELED.  A thread with cancellation disabled finishes its read
 * when data comes, then is cancelled at pthread_testcancel. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fds[2];
static int lsock;

static void cleanup(void *what)
{
	printf("cleanup: %s\n", (const char *)what);
	fflush(stdout);
}

static void *reader(void *arg)
{
	char c;
	(void)arg;
	pthread_cleanup_push(cleanup, "read");
	if (read(fds[0], &c, 1) >= 0)
		printf("read returned\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *poller(void *arg)
{
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	(void)arg;
	pthread_cleanup_push(cleanup, "poll");
	poll(&p, 1, -1);
	printf("poll returned\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *acceptor(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, "accept");
	accept(lsock, NULL, NULL);
	printf("accept returned\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *stubborn(void *arg)
{
	char c = 0;
	int old;
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_cleanup_push(cleanup, "stubborn");
	if (read(fds[0], &c, 1) == 1)
		printf("stubborn read '%c'\n", c);
	fflush(stdout);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	pthread_testcancel();
	printf("not cancelled?\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void cancel_one(void *(*fn)(void *), const char *name)
{
	pthread_t t;
	void *v = NULL;

	pthread_create(&t, NULL, fn, NULL);
	usleep(50000); /* let it block */
	pthread_cancel(t);
	pthread_join(t, &v);
	printf("%s: %s\n", name, v == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	pthread_t t;
	void *v = NULL;

	if (pipe(fds) != 0)
		return 1;
	lsock = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lsock, (struct sockaddr *)&a, sizeof a) != 0 || listen(lsock, 4) != 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cancel_one(reader, "reader");
	cancel_one(poller, "poller");
	cancel_one(acceptor, "acceptor");

	pthread_create(&t, NULL, stubborn, NULL);
	usleep(50000);
	pthread_cancel(t);
	usleep(50000);
	if (write(fds[1], "x", 1) != 1)
		return 1;
	pthread_join(t, &v);
	printf("stubborn: %s\n", v == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
	return 0;
}
