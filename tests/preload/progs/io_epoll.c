/* io_epoll: an epoll loop per thread — each of 4 loop threads has its own
 * epoll set over 3 pipes, fed by 3 writer threads of its own; a loop runs
 * until every pipe reached EOF and checks what it read. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOPS 4
#define PIPES 3
#define MSGS 200

struct feed {
	int fd, loop, pipe;
};

static void *writer(void *arg)
{
	struct feed *f = arg;
	char msg[16];

	for (int i = 0; i < MSGS; i++) {
		/* Fixed-size records, so the reader can check each one. */
		snprintf(msg, sizeof msg, "%02d%02d%04d....", f->loop, f->pipe, i);
		if (write(f->fd, msg, 12) != 12)
			abort();
		if (i % 50 == 0)
			usleep(1000);
	}
	close(f->fd);
	return NULL;
}

static void *loop(void *arg)
{
	int id = (int)(long)arg, ep = epoll_create1(0), open_pipes = PIPES, wakeups = 0;
	int rd[PIPES], next[PIPES] = {0};
	char pend[PIPES][12];
	int have[PIPES] = {0};
	pthread_t w[PIPES];
	struct feed f[PIPES];
	long bytes = 0, bad = 0;

	for (int p = 0; p < PIPES; p++) {
		int fds[2];
		pipe(fds);
		rd[p] = fds[0];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)p};
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
		f[p] = (struct feed){fds[1], id, p};
		pthread_create(&w[p], NULL, writer, &f[p]);
	}
	while (open_pipes > 0) {
		struct epoll_event ev[PIPES];
		int n = epoll_wait(ep, ev, PIPES, 10000);
		if (n <= 0) {
			printf("loop %d: epoll_wait returned %d\n", id, n);
			exit(1);
		}
		wakeups++;
		for (int i = 0; i < n; i++) {
			int p = (int)ev[i].data.u32;
			ssize_t r = read(rd[p], pend[p] + have[p], (size_t)(12 - have[p]));
			if (r < 0)
				abort();
			if (r == 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, rd[p], NULL);
				close(rd[p]);
				open_pipes--;
				continue;
			}
			bytes += r;
			have[p] += (int)r;
			if (have[p] == 12) {
				char want[16];
				snprintf(want, sizeof want, "%02d%02d%04d....", id, p, next[p]++);
				for (int k = 0; k < 12; k++)
					bad += pend[p][k] != want[k];
				have[p] = 0;
			}
		}
	}
	for (int p = 0; p < PIPES; p++)
		pthread_join(w[p], NULL);
	close(ep);
	printf("loop %d: %ld bytes, %d %d %d records, %ld bad bytes, woke %s\n", id, bytes,
	       next[0], next[1], next[2], bad, wakeups > 0 ? "yes" : "no");
	return NULL;
}

int main(void)
{
	pthread_t t[LOOPS];

	for (int i = 0; i < LOOPS; i++)
		pthread_create(&t[i], NULL, loop, (void *)(long)i);
	for (int i = 0; i < LOOPS; i++)
		pthread_join(t[i], NULL);

	/* Timeouts: 0 returns at once, an expired one returns 0. */
	int ep = epoll_create1(0), p[2];
	struct epoll_event ev = {.events = EPOLLIN}, out[2];
	pipe(p);
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	printf("epoll_wait, timeout 0: %d\n", epoll_wait(ep, out, 2, 0));
	printf("epoll_wait, 20 ms: %d\n", epoll_wait(ep, out, 2, 20));
	struct timespec ts = {0, 20000000};
	printf("epoll_pwait2, 20 ms: %d\n", epoll_pwait2(ep, out, 2, &ts, NULL));
	write(p[1], "x", 1);
	printf("epoll_pwait, data: %d\n", epoll_pwait(ep, out, 2, -1, NULL));
	printf("epoll_wait, bad maxevents: %d\n", epoll_wait(ep, out, 0, 10));
	close(ep);
	printf("epoll_wait, closed epfd: %d\n", epoll_wait(ep, out, 2, 10));
	return 0;
}
