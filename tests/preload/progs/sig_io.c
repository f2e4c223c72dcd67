/* sig_io.c — a signal whose handler runs on a thread blocked in read()
 * interrupts it (EINTR) without SA_RESTART, and the read goes on with
 * SA_RESTART until data comes; poll() returns EINTR either way, as the
 * kernel never restarts it. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *reader(void *arg)
{
	char c = 0;
	ssize_t n = read(fds[0], &c, 1);
	(void)arg;
	if (n < 0)
		printf("read: -1 %s\n", strerror(errno));
	else
		printf("read: %zd '%c'\n", n, c);
	return NULL;
}

static void *poller(void *arg)
{
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	int r = poll(&p, 1, 5000);
	(void)arg;
	printf("poll: %d %s\n", r, r < 0 ? strerror(errno) : "");
	return NULL;
}

static void round_trip(void *(*fn)(void *), int flags, const char *what)
{
	struct sigaction sa;
	pthread_t t;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
	printf("%s:\n", what);
	fflush(stdout);
	pthread_create(&t, NULL, fn, NULL);
	usleep(100000); /* let it block */
	pthread_kill(t, SIGUSR1);
	usleep(100000); /* interrupted, or still blocked (restarted) */
	if (write(fds[1], "x", 1) != 1)
		return;
	pthread_join(t, NULL);
	/* Drain what an interrupted reader left. */
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	char c;
	if (poll(&p, 1, 0) == 1 && read(fds[0], &c, 1) != 1)
		return;
	fflush(stdout);
}

int main(void)
{
	if (pipe(fds) != 0)
		return 1;
	round_trip(reader, 0, "read, no SA_RESTART");
	round_trip(reader, SA_RESTART, "read, SA_RESTART");
	round_trip(poller, 0, "poll, no SA_RESTART");
	round_trip(poller, SA_RESTART, "poll, SA_RESTART");
	printf("handled %d\n", (int)handled);
	return 0;
}
