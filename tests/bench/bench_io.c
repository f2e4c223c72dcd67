/* bench_io.c — echo round trips over loopback TCP: smarm (one actor per
 * connection) against a hand-written single-threaded epoll loop (the
 * practical limit for one core) and one native thread per connection, all in
 * one run.  Prints a table; never asserts timings.
 *
 * The load is the same for every server: a client process, forked before
 * the server starts, runs a single-threaded epoll loop over C connections,
 * each with one 64-byte request in flight (a closed loop), for a fixed time,
 * and reports how many round trips completed.  The server runs in this
 * process; its CPU time (getrusage of the whole process: the client is
 * another process) gives round trips per server CPU-millisecond, which
 * compares the servers even when the client, sharing the machine's cores,
 * is the bottleneck.
 *
 * Each cell is the median of 3 runs of SMARM_BENCH_SECONDS (default 1).
 * Columns: round trips per second; the server's CPU time over wall time;
 * round trips per server CPU-millisecond; both against the epoll loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smarm.h"

#define MSG 64

static double seconds = 1.0;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- the client (a child process) --------------------------------------- */

struct cconn {
	int fd;
	int got; /* bytes of the current echo received */
};

/* Connect `conns` sockets to port, keep one request in flight on each for
 * `seconds`, then close them all; write the round-trip count to out_fd. */
static void client(int port, int conns, int out_fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct cconn *cs = calloc((size_t)conns, sizeof *cs);
	struct epoll_event evs[256];
	char msg[MSG], buf[MSG];
	int ep = epoll_create1(0);
	uint64_t rts = 0;
	int64_t end;
	int open_conns = conns;

	memset(msg, 'x', sizeof msg);
	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) < 0)
			die("client connect");
		nodelay(cs[i].fd);
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	end = now_ns() + (int64_t)(seconds * 1e9);
	for (int i = 0; i < conns; i++)
		if (write(cs[i].fd, msg, MSG) != MSG)
			die("client write");
	while (open_conns > 0) {
		int n = epoll_wait(ep, evs, 256, 1000);
		bool over = now_ns() >= end;
		for (int i = 0; i < n; i++) {
			struct cconn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, buf, MSG - c->got);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				die("client read");
			}
			if ((c->got += (int)r) < MSG)
				continue;
			c->got = 0;
			rts++;
			if (over) {
				close(c->fd);
				open_conns--;
			} else if (write(c->fd, msg, MSG) != MSG) {
				die("client write");
			}
		}
	}
	if (write(out_fd, &rts, sizeof rts) != sizeof rts)
		die("client report");
}

/* ---- servers ------------------------------------------------------------- */

struct server {
	int lfd, conns;
};

/* A hand-written epoll echo loop on the calling thread: the practical
 * limit for one core. */
static void serve_epoll(struct server *s)
{
	struct epoll_event evs[256];
	char buf[4096];
	int ep = epoll_create1(0), left = s->conns;

	for (int i = 0; i < s->conns; i++) {
		int fd = accept(s->lfd, NULL, NULL);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (fd < 0)
			die("accept");
		nodelay(fd);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	while (left > 0) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r = read(fd, buf, sizeof buf);
			if (r > 0) {
				if (write(fd, buf, (size_t)r) != r)
					die("epoll server write");
			} else if (r == 0 || errno != EAGAIN) {
				close(fd);
				left--;
			}
		}
	}
	close(ep);
}

/* smarm: one actor per connection, plain blocking-style code. */
static void *smarm_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = smarm_read(fd, buf, sizeof buf, SMARM_FOREVER)) > 0)
		if (smarm_write(fd, buf, (size_t)n, SMARM_FOREVER) != n)
			break;
	smarm_close(fd);
	return NULL;
}

static void *smarm_acceptor(void *arg)
{
	struct server *s = arg;
	struct smarm_spawn_opts o = {.flags = SMARM_SPAWN_DETACHED};

	for (int i = 0; i < s->conns; i++) {
		int fd = smarm_accept(s->lfd, NULL, NULL, 0, SMARM_FOREVER);
		if (fd < 0) {
			fprintf(stderr, "smarm_accept: %s\n", strerror(-fd));
			exit(1);
		}
		nodelay(fd);
		if (smarm_spawn(NULL, smarm_conn, (void *)(intptr_t)fd, &o) < 0)
			die("smarm_spawn");
	}
	return NULL;
}

static int smarm_carriers;

static void serve_smarm(struct server *s)
{
	struct smarm_config cfg = {.carriers = smarm_carriers};

	if (smarm_run(smarm_acceptor, s, &cfg, NULL) != 0)
		die("smarm_run");
}

/* Native threads: one per connection, blocking calls. */
static void *thread_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static void serve_threads(struct server *s)
{
	pthread_t *t = calloc((size_t)s->conns, sizeof *t);
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (int i = 0; i < s->conns; i++) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		nodelay(fd);
		if (pthread_create(&t[i], &attr, thread_conn, (void *)(intptr_t)fd) != 0)
			die("pthread_create");
	}
	for (int i = 0; i < s->conns; i++)
		pthread_join(t[i], NULL);
	pthread_attr_destroy(&attr);
	free(t);
}

/* ---- one cell of the table ----------------------------------------------- */

struct result {
	double rps;      /* round trips per second */
	double cpu_pct;  /* server CPU time / wall time */
	double per_cpu;  /* round trips per server CPU-millisecond */
};

static struct result measure(void (*serve)(struct server *), int conns)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	struct server s = {.conns = conns};
	struct result r;
	uint64_t rts = 0;
	int p[2], status;
	pid_t pid;

	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(s.lfd, 4096) < 0 || getsockname(s.lfd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	if (pipe(p) < 0)
		die("pipe");
	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		close(s.lfd);
		close(p[0]);
		client(ntohs(a.sin_port), conns, p[1]);
		_exit(0);
	}
	close(p[1]);
	int64_t t0 = now_ns();
	double c0 = cpu_seconds();
	serve(&s);
	double cpu = cpu_seconds() - c0;
	double wall = (double)(now_ns() - t0) * 1e-9;
	if (read(p[0], &rts, sizeof rts) != sizeof rts)
		die("client result");
	waitpid(pid, &status, 0);
	close(p[0]);
	close(s.lfd);
	r.rps = (double)rts / seconds;
	r.cpu_pct = 100.0 * cpu / wall;
	r.per_cpu = cpu > 0 ? (double)rts / (cpu * 1000.0) : 0;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The VM is noisy (a cell can move 2x between runs): the median of REPS. */
#define REPS 3
static struct result measure_median(void (*serve)(struct server *), int conns)
{
	double rps[REPS], cpu[REPS], per[REPS];
	struct result r;

	for (int i = 0; i < REPS; i++) {
		r = measure(serve, conns);
		rps[i] = r.rps;
		cpu[i] = r.cpu_pct;
		per[i] = r.per_cpu;
	}
	qsort(rps, REPS, sizeof rps[0], cmp_double);
	qsort(cpu, REPS, sizeof cpu[0], cmp_double);
	qsort(per, REPS, sizeof per[0], cmp_double);
	r.rps = rps[REPS / 2];
	r.cpu_pct = cpu[REPS / 2];
	r.per_cpu = per[REPS / 2];
	return r;
}

static void row(int conns, const char *name, struct result r, struct result base)
{
	printf("%6d  %-18s %10.0f %8.0f%% %11.1f %9.2fx %10.2fx\n", conns, name, r.rps,
	       r.cpu_pct, r.per_cpu, r.rps / base.rps, r.per_cpu / base.per_cpu);
}

int main(void)
{
	const char *env = getenv("SMARM_BENCH_SECONDS");
	struct rlimit rl;
	int counts[] = {1, 1000};

	if (env && atof(env) > 0)
		seconds = atof(env);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	printf("echo over loopback TCP, %d-byte messages, one in flight per connection, "
	       "median of %d x %.1f s per row;\nclient: one single-threaded epoll process; "
	       "CPU = this process (the server) only\n",
	       MSG, REPS, seconds);
	printf("%6s  %-18s %10s %9s %11s %10s %11s\n", "conns", "server", "rt/s", "CPU",
	       "rt/CPU-ms", "rt/s:epoll", "eff:epoll");
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		int c = counts[i];
		struct result base = measure_median(serve_epoll, c);
		row(c, "epoll loop (1 thr)", base, base);
		smarm_carriers = 1;
		row(c, "smarm, 1 carrier", measure_median(serve_smarm, c), base);
		smarm_carriers = 0;
		row(c, "smarm, default", measure_median(serve_smarm, c), base);
		row(c, "thread/connection", measure_median(serve_threads, c), base);
		fflush(stdout);
	}
	return 0;
}
