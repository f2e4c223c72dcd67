/* io_echo — drop-in benchmark: thread-per-connection echo over loopback
 * TCP at 1,000 connections.  1,000 client threads each keep one 64-byte
 * request in flight to a server thread of their own for
 * SMARM_BENCH_SECONDS (default 1); prints round trips per second.  A plain
 * pthread program run natively and under the preload by `make bench`. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CONNS 1000
#define MSG 64

static struct sockaddr_in addr;
static atomic_int stop;
static atomic_long trips;

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[MSG];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = (int)(long)arg;

	for (int i = 0; i < CONNS; i++) {
		int fd = accept(lfd, NULL, NULL), one = 1;
		pthread_t t;
		if (fd < 0)
			abort();
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_create(&t, NULL, serve, (void *)(long)fd);
		pthread_detach(t);
	}
	return NULL;
}

static void *client(void *arg)
{
	char buf[MSG];
	long n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pthread_barrier_t *start = arg;

	memset(buf, 'e', sizeof buf);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr))
		abort();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	pthread_barrier_wait(start);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		size_t got = 0;
		if (write(fd, buf, MSG) != MSG)
			abort();
		while (got < MSG) {
			ssize_t r = read(fd, buf + got, MSG - got);
			if (r <= 0)
				abort();
			got += (size_t)r;
		}
		n++;
	}
	close(fd);
	atomic_fetch_add(&trips, n);
	return NULL;
}

/* The process's CPU time (user + system), s: round trips per CPU-ms
 * compare the two runs even when other load on the machine gives native
 * threads (many) and carriers (few) different shares of the CPUs. */
static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	const char *s = getenv("SMARM_BENCH_SECONDS");
	double secs = s ? atof(s) : 1.0, t0;
	socklen_t len = sizeof addr;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_t acc, *cl = calloc(CONNS, sizeof *cl);
	pthread_barrier_t start;

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		abort();
	pthread_create(&acc, NULL, acceptor, (void *)(long)lfd);
	pthread_barrier_init(&start, NULL, CONNS + 1);
	for (int i = 0; i < CONNS; i++)
		if (pthread_create(&cl[i], NULL, client, &start))
			abort();
	pthread_barrier_wait(&start);
	t0 = now();
	double c0 = cpu();
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < CONNS; i++)
		pthread_join(cl[i], NULL);
	double el = now() - t0, used = cpu() - c0;
	pthread_join(acc, NULL);
	printf("echo round trips, %d connections: %.0f per-s\n", CONNS,
	       atomic_load(&trips) / el);
	printf("echo round trips per CPU, %d connections: %.1f per-CPU-ms\n", CONNS,
	       atomic_load(&trips) / (used * 1e3));
	return 0;
}
