/* io_pipe: pipes between threads — read/write and readv/writev ping-pong,
 * short reads, EOF, EPIPE (SIGPIPE ignored), a program's own O_NONBLOCK
 * pipe (EAGAIN at once), pread/pwrite on a file, EBADF. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define ROUNDS 2000

static int ab[2], ba[2];

static void *echo(void *arg)
{
	char buf[64];
	long total = 0;
	ssize_t n;

	(void)arg;
	/* Echo until EOF, half with read/write, half with readv/writev. */
	for (int i = 0;; i++) {
		if (i & 1) {
			struct iovec v[2] = {{buf, 3}, {buf + 3, sizeof buf - 3}};
			n = readv(ab[0], v, 2);
		} else {
			n = read(ab[0], buf, sizeof buf);
		}
		if (n <= 0)
			break;
		total += n;
		if (i & 1) {
			struct iovec v[2] = {{buf, 1}, {buf + 1, (size_t)n - 1}};
			if (writev(ba[1], v, 2) != n)
				abort();
		} else if (write(ba[1], buf, (size_t)n) != n) {
			abort();
		}
	}
	printf("echo: %ld bytes, then %s\n", total, n == 0 ? "EOF" : strerror(errno));
	close(ba[1]);
	return NULL;
}

static int efd;

static void *poster(void *arg)
{
	uint64_t one = 7;
	(void)arg;
	usleep(20000);
	write(efd, &one, sizeof one);
	return NULL;
}

int main(void)
{
	pthread_t t;
	char msg[32], back[32];
	long sum = 0;

	if (pipe(ab) || pipe(ba))
		return 1;
	pthread_create(&t, NULL, echo, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		int len = snprintf(msg, sizeof msg, "ping %d", i);
		ssize_t got = 0, n;
		if (write(ab[1], msg, (size_t)len) != len)
			return 2;
		while (got < len && (n = read(ba[0], back + got, sizeof back - (size_t)got)) > 0)
			got += n;
		if (got != len || memcmp(msg, back, (size_t)len) != 0)
			return 3;
		sum += len;
	}
	printf("ping-pong: %d rounds, %ld bytes\n", ROUNDS, sum);
	close(ab[1]);
	pthread_join(t, NULL);
	printf("after EOF: read returns %zd\n", read(ba[0], back, sizeof back));
	close(ba[0]);

	/* A short read: ask for more than is there. */
	int p[2];
	pipe(p);
	write(p[1], "abc", 3);
	printf("short read: %zd\n", read(p[0], back, sizeof back));

	/* EPIPE, SIGPIPE ignored. */
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	errno = 0;
	ssize_t w = write(p[1], "x", 1);
	printf("write to a closed pipe: %zd %s\n", w, strerror(errno));
	close(p[1]);

	/* The program's own O_NONBLOCK: EAGAIN at once, never a wait. */
	pipe(p);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	errno = 0;
	ssize_t r = read(p[0], back, sizeof back);
	printf("O_NONBLOCK empty read: %zd %s\n", r, errno == EAGAIN ? "EAGAIN" : strerror(errno));
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	static char big[1 << 16];
	long filled = 0;
	while ((r = write(p[1], big, sizeof big)) > 0)
		filled += r;
	printf("O_NONBLOCK fill: %ld bytes, then %s\n", filled,
	       errno == EAGAIN ? "EAGAIN" : strerror(errno));
	printf("flags kept: %s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) ? "O_NONBLOCK" : "none");
	close(p[0]);
	close(p[1]);

	/* Files: pwrite/pread at offsets, the file position untouched. */
	char path[] = "/tmp/smarm_io_pipe_XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	write(fd, "hello world", 11);
	pwrite(fd, "W", 1, 6);
	memset(back, 0, sizeof back);
	printf("pread: %zd '%s'\n", pread(fd, back, 11, 0), back);
	printf("position: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	lseek(fd, 0, SEEK_SET);
	memset(back, 0, sizeof back);
	printf("read file: %zd '%s'\n", read(fd, back, sizeof back), back);
	errno = 0;
	r = pread(fd, back, 1, -5);
	printf("pread negative offset: %zd %s\n", r, strerror(errno));
	close(fd);

	/* An eventfd written by another thread, a timerfd that expires. */
	uint64_t v = 0;
	efd = eventfd(0, 0);
	pthread_create(&t, NULL, poster, NULL);
	r = read(efd, &v, sizeof v);
	printf("eventfd read: %zd value %lu\n", r, (unsigned long)v);
	pthread_join(t, NULL);
	close(efd);
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {.it_value = {0, 20000000}};
	timerfd_settime(tfd, 0, &its, NULL);
	v = 0;
	r = read(tfd, &v, sizeof v);
	printf("timerfd read: %zd expirations %lu\n", r, (unsigned long)v);
	close(tfd);
	pipe(p);
	errno = 0;
	r = pread(p[0], back, 1, 0);
	printf("pread on a pipe: %zd %s\n", r, strerror(errno));
	close(p[0]);
	close(p[1]);

	/* preadv2/pwritev2: flags 0 waits like readv, RWF_NOWAIT never
	 * waits, RWF_DSYNC on a file writes. */
	pipe(p);
	efd = p[1];
	{
		struct iovec iv = {back, sizeof back};
		errno = 0;
		r = preadv2(p[0], &iv, 1, -1, RWF_NOWAIT);
		printf("preadv2 RWF_NOWAIT, empty: %zd %s\n", r, errno == EAGAIN ? "EAGAIN" : strerror(errno));
		pthread_create(&t, NULL, poster, NULL); /* writes 8 bytes to efd = p[1] */
		r = preadv2(p[0], &iv, 1, -1, 0);
		pthread_join(t, NULL);
		printf("preadv2, flags 0, after a wait: %zd\n", r);
		close(p[0]);
		close(p[1]);
		char tpath[] = "/tmp/smarm_io_pipe2_XXXXXX";
		int tf = mkstemp(tpath);
		unlink(tpath);
		struct iovec ov = {"synced", 6};
		printf("pwritev2 RWF_DSYNC: %zd\n", pwritev2(tf, &ov, 1, 0, RWF_DSYNC));
		errno = 0;
		r = preadv2(tf, &iv, 1, -7, 0);
		printf("preadv2 offset -7: %zd %s\n", r, strerror(errno));
		close(tf);
	}

	/* Bad descriptors. */
	errno = 0;
	r = read(fd, back, 1);
	printf("read closed fd: %zd %s\n", r, strerror(errno));
	errno = 0;
	r = write(-1, back, 1);
	printf("write fd -1: %zd %s\n", r, strerror(errno));
	errno = 0;
	int cr = close(fd);
	printf("close closed fd: %d %s\n", cr, strerror(errno));
	return 0;
}
