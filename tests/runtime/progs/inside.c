/* inside.c — programs for test_dump.c: dumps, deadlock detection and
 * statistics in link mode.  The first argument picks one:
 *
 *   chan        "receiver" waits on a channel nobody sends to, root joins
 *               it: a deadlock (the runtime exits 2 with a report).
 *   foreign     root waits on a channel; a plain pthread sends 42 after
 *               300 ms: no deadlock.  Prints "got 42".
 *   accept      root waits in smarm_accept; a child process connects
 *               after 300 ms and writes "hi": no deadlock.  Prints
 *               "accepted hi".
 *   connect P   (the child of accept) connect to 127.0.0.1:P, write "hi".
 *   dump [quit] a zoo of threads in known states, then smarm_dump(1) (and
 *               with "quit", raise(SIGQUIT): the dump goes to stderr).
 *               Prints "self=<pid>" first.
 *   stats       100 workers: 90 end and are joined, 10 stay parked on a
 *               channel; root exits (run it with SMARM_STATS=1).
 *   cycle       actors "first" and "second" each hold one mutex and want
 *               the other's; first's lock times out (a wait-for cycle is
 *               reported), second's then succeeds.  Prints both results.
 *   nocycle     a lock times out behind a holder that sleeps: no cycle.
 *   outside [counted]
 *               root waits on a channel for ever; a child process sends
 *               SIGTERM after 500 ms (the default action ends us).  With
 *               "counted" root is counted in smarm__outside_waiters first,
 *               so no deadlock may be declared before that; without, it is
 *               a deadlock at once (exit 2).
 *   handler     the same wait, with a SIGUSR1 handler installed (it could
 *               sem_post); a child sends SIGUSR1 after 300 ms and the
 *               handler prints "usr1" and exits 0: no deadlock before it.
 *   signal PID MS SIG
 *               (the child of outside and handler) sleep MS ms, then send
 *               SIG to PID if PID is still our parent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

static smarm_chan_t *ch;
static smarm_mutex_t m1, m2;

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL); /* blocks the carrier: fine for these tests */
}

static smarm_pid_t spawn_named(const char *name, smarm_fn fn, void *arg)
{
	struct smarm_spawn_opts o = {.name = name};
	smarm_pid_t p = 0;

	if (smarm_spawn(&p, fn, arg, &o) < 0) {
		fprintf(stderr, "spawn %s failed\n", name);
		exit(1);
	}
	return p;
}

static void *recv_forever(void *arg)
{
	int v;
	(void)arg;
	smarm_chan_recv(ch, &v, SMARM_FOREVER);
	return NULL;
}

/* ---- foreign ---- */
static void *sender(void *arg)
{
	int v = 42;
	(void)arg;
	nap_ms(300);
	smarm_chan_send(ch, &v, SMARM_FOREVER);
	return NULL;
}

/* ---- dump ---- */
static _Atomic int stop_spin;
static void *lock_m1(void *arg)
{
	(void)arg;
	smarm_mutex_lock(&m1, SMARM_FOREVER);
	smarm_mutex_unlock(&m1);
	return NULL;
}
static void *spin(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_spin))
		SMARM_CHECK();
	return NULL;
}
static void *sleep_long(void *arg)
{
	(void)arg;
	smarm_sleep(SMARM_SEC(60));
	return NULL;
}
static void *join_it(void *arg)
{
	smarm_join(*(smarm_pid_t *)arg, NULL);
	return NULL;
}

static const struct smarm_child_spec kids[] = {
	{.name = "kid", .fn = sleep_long, .restart = SMARM_TEMPORARY},
};
static const struct smarm_sup_spec sup_spec = {.children = kids, .nchildren = 1};

static int dump(bool quit)
{
	static smarm_pid_t recv_pid;
	smarm_pid_t sup;
	struct smarm_spawn_opts so = {.name = "sup", .flags = SMARM_SPAWN_CHILD};
	char buf[24];

	smarm_mutex_lock(&m1, SMARM_FOREVER);
	printf("self=%s\n", smarm_pid_format(smarm_self(), buf, sizeof buf));
	fflush(stdout);
	spawn_named("waiter", lock_m1, NULL);
	recv_pid = spawn_named("receiver", recv_forever, NULL);
	spawn_named("sleeper", sleep_long, NULL);
	spawn_named("spinner", spin, NULL);
	spawn_named("joiner", join_it, &recv_pid);
	if (smarm_sup_start(&sup, &sup_spec, &so) < 0)
		return 1;
	smarm_sleep(SMARM_MSEC(200)); /* let every one reach its wait */
	if (smarm_dump(1) < 0)
		return 1;
	if (smarm_dump(-1) != -EBADF)
		return 1;
	if (quit) {
		raise(SIGQUIT);
		smarm_sleep(SMARM_MSEC(500)); /* the dump thread writes it */
	}
	atomic_store(&stop_spin, 1);
	return 0;
}

/* ---- stats ---- */
static void *quick(void *arg)
{
	(void)arg;
	smarm_yield();
	return NULL;
}

static int stats(void)
{
	smarm_pid_t p[90];

	for (int i = 0; i < 10; i++)
		spawn_named("parked", recv_forever, NULL);
	for (int i = 0; i < 90; i++)
		p[i] = spawn_named("quick", quick, NULL);
	for (int i = 0; i < 90; i++)
		smarm_join(p[i], NULL);
	return 0;
}

/* ---- cycle ---- */
static smarm_barrier_t both;
static int r_first = 1, r_second = 1;
static void *first(void *arg)
{
	(void)arg;
	smarm_mutex_lock(&m1, SMARM_FOREVER);
	smarm_barrier_wait(&both);
	r_first = smarm_mutex_lock(&m2, SMARM_MSEC(300));
	smarm_mutex_unlock(&m1);
	return NULL;
}
static void *second(void *arg)
{
	(void)arg;
	smarm_mutex_lock(&m2, SMARM_FOREVER);
	smarm_barrier_wait(&both);
	r_second = smarm_mutex_lock(&m1, SMARM_SEC(20));
	if (r_second == 0)
		smarm_mutex_unlock(&m1);
	smarm_mutex_unlock(&m2);
	return NULL;
}
static void *hold_m2(void *arg)
{
	(void)arg;
	smarm_mutex_lock(&m2, SMARM_FOREVER);
	smarm_sleep(SMARM_MSEC(600));
	smarm_mutex_unlock(&m2);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	if (write(1, "usr1\n", 5) < 0)
		_exit(3);
	_exit(0);
}

/* Start "signal <our pid> ms sig" as a child process. */
static int signal_later(int ms, int sig)
{
	char pid[24], m[16], sg[16];
	char *av[] = {"inside", "signal", pid, m, sg, NULL};
	pid_t child;

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(m, sizeof m, "%d", ms);
	snprintf(sg, sizeof sg, "%d", sig);
	return posix_spawn(&child, "/proc/self/exe", NULL, NULL, av, environ) == 0 ? 0 : -1;
}

static int do_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	nap_ms(300);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || write(fd, "hi", 2) != 2)
		return 1;
	close(fd);
	return 0;
}

static int do_accept(char *self)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd, st;
	char port[16], buf[8] = {0};
	pid_t child;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		return 1;
	snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));
	char *av[] = {self, "connect", port, NULL};
	if (posix_spawn(&child, "/proc/self/exe", NULL, NULL, av, environ) != 0)
		return 1;
	if ((cfd = smarm_accept(lfd, NULL, NULL, 0, SMARM_FOREVER)) < 0)
		return 1;
	if (smarm_read_full(cfd, buf, 2, SMARM_SEC(10)) != 2)
		return 1;
	printf("accepted %s\n", buf);
	smarm_close(cfd);
	smarm_close(lfd);
	waitpid(child, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int smarm_main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	smarm_chan_new(&ch, sizeof(int), 0);
	smarm_mutex_init(&m1, 0);
	smarm_mutex_init(&m2, 0);
	if (strcmp(mode, "chan") == 0) {
		smarm_join(spawn_named("receiver", recv_forever, NULL), NULL);
		return 0;
	}
	if (strcmp(mode, "foreign") == 0) {
		pthread_t t;
		int v = 0;
		pthread_create(&t, NULL, sender, NULL);
		smarm_chan_recv(ch, &v, SMARM_FOREVER);
		pthread_join(t, NULL);
		printf("got %d\n", v);
		return 0;
	}
	if (strcmp(mode, "accept") == 0)
		return do_accept(argv[0]);
	if (strcmp(mode, "connect") == 0 && argc > 2)
		return do_connect(atoi(argv[2]));
	if (strcmp(mode, "dump") == 0)
		return dump(argc > 2 && strcmp(argv[2], "quit") == 0);
	if (strcmp(mode, "stats") == 0)
		return stats();
	if (strcmp(mode, "cycle") == 0) {
		smarm_barrier_init(&both, 2);
		smarm_pid_t a = spawn_named("first", first, NULL);
		smarm_pid_t b = spawn_named("second", second, NULL);
		smarm_join(a, NULL);
		smarm_join(b, NULL);
		printf("first=%d second=%d\n", r_first, r_second);
		return 0;
	}
	if (strcmp(mode, "nocycle") == 0) {
		smarm_pid_t h = spawn_named("holder", hold_m2, NULL);
		smarm_sleep(SMARM_MSEC(50));
		printf("lock=%d\n", smarm_mutex_lock(&m2, SMARM_MSEC(100)));
		smarm_join(h, NULL);
		return 0;
	}
	if (strcmp(mode, "signal") == 0 && argc > 4) {
		nap_ms(atoi(argv[3]));
		if (getppid() == (pid_t)atoi(argv[2])) /* never anyone else */
			kill(getppid(), atoi(argv[4]));
		return 0;
	}
	if (strcmp(mode, "outside") == 0 || strcmp(mode, "handler") == 0) {
		int v;
		bool h = strcmp(mode, "handler") == 0;
		if (argc > 2 && strcmp(argv[2], "counted") == 0)
			atomic_fetch_add(&smarm__outside_waiters, 1);
		if (h)
			signal(SIGUSR1, on_usr1);
		if (signal_later(h ? 300 : 500, h ? SIGUSR1 : SIGTERM) < 0)
			return 1;
		smarm_chan_recv(ch, &v, SMARM_FOREVER);
		return 1;
	}
	fprintf(stderr, "inside: unknown mode %s\n", mode);
	return 1;
}
