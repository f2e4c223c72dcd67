/* The waits strict mode serves besides read/write and futexes: poll,
 * ppoll, select, pselect, epoll_wait, nanosleep, clock_nanosleep, wait4;
 * recv, recvmsg, readv, an eventfd whose number was closed and reused;
 * and a timer_create(SIGEV_THREAD) callback, which runs on an OS thread
 * glibc creates (in strict mode it inherits the carrier's filter).
 * Each waits for something another thread does later: with one carrier
 * and the net on, only a wait that parks lets that thread run.  Then bad
 * input, which must fail as natively. */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int p[2];

/* Write one byte to p after a delay, from a thread of its own. */
static void *late_writer(void *a)
{
	(void)a;
	usleep(20000);
	if (write(p[1], "x", 1) != 1)
		return (void *)1;
	return NULL;
}

/* Runs on a thread glibc makes itself (SIGEV_THREAD), not a green one: in
 * strict mode it inherits the filter of the carrier that made it. */
static void on_timer(union sigval v)
{
	printf("timer thread says %d\n", v.sival_int);
	fflush(stdout);
	if (write(p[1], "t", 1) != 1)
		printf("timer write failed\n");
}

/* After a delay, write 8 bytes to the fd given (an eventfd's counter, or
 * a socket's message). */
static void *late_fd_writer(void *a)
{
	long long one = 1;

	usleep(20000);
	if (write((int)(long)a, &one, sizeof one) != sizeof one)
		return (void *)1;
	return NULL;
}

static volatile sig_atomic_t pipes;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

static void drain(void)
{
	char c;

	if (read(p[0], &c, 1) != 1)
		printf("drain failed\n");
}

static pthread_t writer(void)
{
	pthread_t t;

	pthread_create(&t, NULL, late_writer, NULL);
	return t;
}

int main(void)
{
	struct pollfd pf;
	struct timeval tv;
	struct timespec ts;
	struct epoll_event ev = {.events = EPOLLIN}, out;
	fd_set rd;
	pthread_t t;
	pid_t c;
	int ep, st, r, last_efd = -1;
	unsigned char buf[8];

	if (pipe(p) != 0)
		return 1;

	t = writer();
	pf = (struct pollfd){.fd = p[0], .events = POLLIN};
	r = poll(&pf, 1, -1);
	printf("poll: %d revents POLLIN %d\n", r, !!(pf.revents & POLLIN));
	pthread_join(t, NULL);
	drain();

	t = writer();
	ts = (struct timespec){5, 0};
	pf.revents = 0;
	r = ppoll(&pf, 1, &ts, NULL);
	printf("ppoll: %d revents POLLIN %d\n", r, !!(pf.revents & POLLIN));
	pthread_join(t, NULL);
	drain();

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){0, 30000};
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	printf("select on nothing: %d, set %d\n", r, FD_ISSET(p[0], &rd));

	t = writer();
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	r = pselect(p[0] + 1, &rd, NULL, NULL, NULL, NULL);
	printf("pselect: %d, set %d\n", r, FD_ISSET(p[0], &rd));
	pthread_join(t, NULL);
	drain();

	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	r = epoll_wait(ep, &out, 1, 30);
	printf("epoll_wait on nothing: %d\n", r);
	t = writer();
	r = epoll_wait(ep, &out, 1, -1);
	printf("epoll_wait: %d EPOLLIN %d\n", r, !!(out.events & EPOLLIN));
	pthread_join(t, NULL);
	drain();
	close(ep);

	ts = (struct timespec){0, 10000000};
	printf("raw nanosleep: %ld\n", syscall(SYS_nanosleep, &ts, NULL));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 10000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	printf("clock_nanosleep until: %d\n",
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL));

	/* A child that exits late: wait4 must park (its pool thread waits). */
	if ((c = fork()) == 0) {
		usleep(30000);
		_exit(9);
	}
	t = writer();
	r = (int)syscall(SYS_wait4, c, &st, 0, NULL);
	printf("wait4: same pid %d, status %d\n", r == c, WEXITSTATUS(st));
	pthread_join(t, NULL);
	drain();

	struct sigevent sev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer,
			       .sigev_value.sival_int = 42};
	struct itimerspec its = {.it_value = {0, 10000000}};
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0 && timer_settime(tm, 0, &its, NULL) == 0) {
		drain(); /* parks until the timer thread writes */
		printf("timer fired\n");
		timer_delete(tm);
	}

	/* An fd number closed and handed out again (close is not trapped):
	 * each eventfd's wait must see its own file. */
	for (int i = 0; i < 3; i++) {
		int efd = eventfd(0, EFD_CLOEXEC);
		long long v = 0;
		pthread_create(&t, NULL, late_fd_writer, (void *)(long)efd);
		r = (int)read(efd, &v, sizeof v);
		printf("eventfd %d (same number as before: %d): %d %lld\n", i,
		       i == 0 || efd == last_efd, r, v);
		pthread_join(t, NULL);
		last_efd = efd;
		close(efd);
	}

	/* The recv/send family, and readv, park too. */
	int sv[2];
	struct iovec iv[2] = {{buf, 3}, {buf + 3, 5}};
	struct msghdr mh = {.msg_iov = iv, .msg_iovlen = 2};
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	pthread_create(&t, NULL, late_fd_writer, (void *)(long)sv[1]);
	r = (int)recv(sv[0], buf, sizeof buf, 0);
	printf("recv: %d\n", r);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, late_fd_writer, (void *)(long)sv[1]);
	r = (int)recvmsg(sv[0], &mh, 0);
	printf("recvmsg: %d\n", r);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, late_fd_writer, (void *)(long)p[1]);
	r = (int)readv(p[0], iv, 2);
	printf("readv: %d\n", r);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);

	/* Broken pipe and socket: EPIPE and one SIGPIPE each, as natively. */
	int q[2];
	signal(SIGPIPE, on_pipe);
	if (pipe(q) == 0) {
		close(q[0]);
		r = (int)write(q[1], "x", 1);
		printf("write to a closed pipe: %d %s, SIGPIPE x%d\n", r, strerror(errno), (int)pipes);
		close(q[1]);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q) == 0) {
		close(q[0]);
		r = (int)send(q[1], "x", 1, 0);
		printf("send to a closed socket: %d %s, SIGPIPE x%d\n", r, strerror(errno), (int)pipes);
		r = (int)send(q[1], "x", 1, MSG_NOSIGNAL);
		printf("send with MSG_NOSIGNAL: %d %s, SIGPIPE x%d\n", r, strerror(errno), (int)pipes);
		close(q[1]);
	}

	/* Bad input fails as natively (each call before its errno is read). */
	ts = (struct timespec){0, 2000000000};
	r = nanosleep(&ts, NULL);
	printf("nanosleep bad: %d %s\n", r, strerror(errno));
	pf = (struct pollfd){.fd = 1000, .events = POLLIN};
	r = poll(&pf, 1, 10);
	printf("poll bad fd: %d POLLNVAL %d\n", r, !!(pf.revents & POLLNVAL));
	r = select(-1, NULL, NULL, NULL, NULL);
	printf("select nfds -1: %d %s\n", r, strerror(errno));
	r = (int)syscall(SYS_futex, buf + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	printf("futex misaligned: %d %s\n", r, strerror(errno));
	r = (int)read(1000, buf, 1);
	printf("read bad fd: %d %s\n", r, strerror(errno));
	r = (int)syscall(SYS_wait4, -1, &st, 0, NULL);
	printf("wait4 no child: %d %s\n", r, strerror(errno));
	return 0;
}
