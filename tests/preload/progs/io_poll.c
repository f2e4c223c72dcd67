/* io_poll: poll, ppoll, select, pselect with timeouts — an expired timeout
 * returns 0, ready fds are reported exactly, POLLNVAL for a closed fd,
 * EBADF from select, a wait that another thread's write ends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static int a[2], b[2];

#define MANY 40
static int many[MANY][2];

static void *many_writer(void *arg)
{
	usleep(20000);
	write(many[(long)arg][1], "m", 1);
	return NULL;
}

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(30000);
	write(b[1], "y", 1);
	return NULL;
}

int main(void)
{
	struct pollfd p[3];
	pthread_t t;
	char c;
	int n;

	pipe(a);
	pipe(b);

	/* Nothing ready: timeout 0, then an expired 20 ms. */
	p[0] = (struct pollfd){.fd = a[0], .events = POLLIN};
	p[1] = (struct pollfd){.fd = b[0], .events = POLLIN};
	printf("poll, timeout 0: %d\n", poll(p, 2, 0));
	n = poll(p, 2, 20);
	printf("poll, 20 ms: %d revents %x %x\n", n, p[0].revents, p[1].revents);
	struct timespec ts = {0, 20000000};
	printf("ppoll, 20 ms: %d\n", ppoll(p, 2, &ts, NULL));

	/* Ready: exactly the right fds and bits (a write end is writable). */
	write(a[1], "x", 1);
	p[2] = (struct pollfd){.fd = b[1], .events = POLLOUT};
	n = poll(p, 3, 1000);
	printf("poll, ready: %d revents %x %x %x\n", n, p[0].revents,
	       p[1].revents, p[2].revents);
	read(a[0], &c, 1);

	/* A wait that another thread ends. */
	pthread_create(&t, NULL, late_writer, NULL);
	n = poll(p, 2, 5000);
	printf("poll, woken by a write: %d revents %x %x\n", n, p[0].revents, p[1].revents);
	pthread_join(t, NULL);
	read(b[0], &c, 1);

	/* POLLNVAL for a closed fd, POLLHUP for a pipe whose writer left. */
	int dead[2];
	pipe(dead);
	close(dead[0]);
	close(dead[1]);
	p[0] = (struct pollfd){.fd = dead[0], .events = POLLIN};
	p[1] = (struct pollfd){.fd = -1, .events = POLLIN};
	n = poll(p, 2, 1000);
	printf("poll, closed fd: %d revents %x %x\n", n, p[0].revents,
	       p[1].revents);
	int h[2];
	pipe(h);
	close(h[1]);
	p[0] = (struct pollfd){.fd = h[0], .events = POLLIN};
	n = poll(p, 1, 1000);
	printf("poll, hung up: %d revents %x\n", n, p[0].revents);
	close(h[0]);

	/* A regular file is always ready. */
	int f = open("/dev/null", O_RDONLY);
	char path[] = "/tmp/smarm_io_poll_XXXXXX";
	int rf = mkstemp(path);
	unlink(path);
	p[0] = (struct pollfd){.fd = rf, .events = POLLIN | POLLOUT};
	n = poll(p, 1, 1000);
	printf("poll, regular file: %d revents %x\n", n, p[0].revents);
	close(rf);
	close(f);

	/* select: timeout (sets emptied, timeval down to 0), ready, EBADF. */
	fd_set rs, ws;
	struct timeval tv = {0, 20000};
	FD_ZERO(&rs);
	FD_SET(a[0], &rs);
	FD_SET(b[0], &rs);
	n = select(b[0] + 1, &rs, NULL, NULL, &tv);
	printf("select, 20 ms: %d, set %d %d, tv %ld.%06ld\n", n, FD_ISSET(a[0], &rs),
	       FD_ISSET(b[0], &rs), (long)tv.tv_sec, (long)tv.tv_usec);
	write(b[1], "z", 1);
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(a[0], &rs);
	FD_SET(b[0], &rs);
	FD_SET(a[1], &ws);
	tv = (struct timeval){5, 0};
	n = select(b[1] + 1, &rs, &ws, NULL, &tv);
	printf("select, ready: %d, read %d %d, write %d, time left %s\n", n, FD_ISSET(a[0], &rs),
	       FD_ISSET(b[0], &rs), FD_ISSET(a[1], &ws), tv.tv_sec >= 4 ? "yes" : "no");
	read(b[0], &c, 1);
	pthread_create(&t, NULL, late_writer, NULL);
	FD_ZERO(&rs);
	FD_SET(b[0], &rs);
	n = select(b[0] + 1, &rs, NULL, NULL, NULL);
	printf("select, woken by a write: %d, set %d\n", n, FD_ISSET(b[0], &rs));
	pthread_join(t, NULL);
	read(b[0], &c, 1);
	FD_ZERO(&rs);
	FD_SET(dead[0], &rs);
	tv = (struct timeval){1, 0};
	errno = 0;
	n = select(dead[0] + 1, &rs, NULL, NULL, &tv);
	printf("select, closed fd: %d %s\n", n, errno == EBADF ? "EBADF" : strerror(errno));
	FD_ZERO(&rs);
	FD_SET(a[0], &rs);
	struct timespec pts = {0, 20000000};
	n = pselect(a[0] + 1, &rs, NULL, NULL, &pts, NULL);
	printf("pselect, 20 ms: %d, set %d\n", n, FD_ISSET(a[0], &rs));
	errno = 0;
	volatile nfds_t huge = 100000000;
	n = poll(p, huge, 0);
	printf("poll, nfds over the limit: %d %s\n", n,
	       errno == EINVAL ? "EINVAL" : strerror(errno));
	/* Many fds (more than fit the park's on-stack nodes): only the one
	 * written is reported, by poll and by select. */
	struct pollfd mp[MANY];
	for (int i = 0; i < MANY; i++) {
		pipe(many[i]);
		mp[i] = (struct pollfd){.fd = many[i][0], .events = POLLIN};
	}
	pthread_create(&t, NULL, many_writer, (void *)27L);
	n = poll(mp, MANY, 5000);
	pthread_join(t, NULL);
	for (int i = 0; i < MANY; i++)
		if (mp[i].revents)
			printf("poll over %d fds: %d ready, pipe %d revents %x\n", MANY, n, i,
			       mp[i].revents);
	read(many[27][0], &c, 1);
	pthread_create(&t, NULL, many_writer, (void *)13L);
	FD_ZERO(&rs);
	int top = 0;
	for (int i = 0; i < MANY; i++) {
		FD_SET(many[i][0], &rs);
		top = many[i][0] > top ? many[i][0] : top;
	}
	n = select(top + 1, &rs, NULL, NULL, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < MANY; i++)
		if (FD_ISSET(many[i][0], &rs))
			printf("select over %d fds: %d ready, pipe %d\n", MANY, n, i);
	for (int i = 0; i < MANY; i++) {
		close(many[i][0]);
		close(many[i][1]);
	}

	/* No fds at all: a sleep, as natively. */
	printf("poll as a sleep: %d\n", poll(NULL, 0, 20));
	tv = (struct timeval){0, 20000};
	printf("select as a sleep: %d\n", select(0, NULL, NULL, NULL, &tv));
	return 0;
}
