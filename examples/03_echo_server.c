/* 03_echo_server.c — an echo server with one actor per connection.
 *
 *   03_echo_server PORT [CONNS]   serve 127.0.0.1:PORT (0: any free port);
 *                                 exit once CONNS connections (0: never)
 *                                 have come and gone
 *   03_echo_server                a short demo: the server and 200 client
 *                                 actors in one process
 *
 * Each connection gets an actor that runs plain sequential code — read,
 * write back, repeat — with smarm_read and smarm_write, which park the actor
 * (not the carrier thread) while the socket has nothing to give.  Ten
 * thousand connections are ten thousand small stacks; 04_echo_load drives
 * that many against this server.
 *
 * The first line of output is "listening on 127.0.0.1:PORT"; the last says
 * how many connections were served and how many were open at once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "smarm.h"

static _Atomic int live, peak;
static _Atomic long echoed;

/* One connection: echo until the client closes. */
static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;
	int now = atomic_fetch_add(&live, 1) + 1, p = atomic_load(&peak);

	while (now > p && !atomic_compare_exchange_weak(&peak, &p, now))
		;
	while ((n = smarm_read(fd, buf, sizeof buf, SMARM_FOREVER)) > 0) {
		if (smarm_write(fd, buf, (size_t)n, SMARM_FOREVER) != n)
			break;
		atomic_fetch_add(&echoed, n);
	}
	smarm_close(fd);
	atomic_fetch_sub(&live, 1);
	return NULL;
}

struct server {
	int fd;    /* listening socket */
	int conns; /* connections to serve; 0: forever */
};

/* Accept connections and give each its own actor. */
static void *acceptor(void *arg)
{
	struct server *s = arg;
	struct smarm_spawn_opts opts = {.stack_size = 32 << 10,
					.flags = SMARM_SPAWN_DETACHED};
	int one = 1;

	for (int served = 0; s->conns == 0 || served < s->conns; served++) {
		int fd = smarm_accept(s->fd, NULL, NULL, SOCK_CLOEXEC, SMARM_FOREVER);
		if (fd < 0) {
			fprintf(stderr, "accept: %s\n", strerror(-fd));
			break;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (smarm_spawn(NULL, serve_one, (void *)(intptr_t)fd, &opts) < 0) {
			fprintf(stderr, "spawn failed: closing a connection\n");
			smarm_close(fd);
		}
	}
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

/* ---- the no-argument demo: clients in the same process ------------------ */

#define DEMO_CLIENTS 200
#define DEMO_ROUNDS 10

static int demo_port;
static _Atomic int demo_ok;

static void *demo_client(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(demo_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char out[64], in[64];

	if (smarm_connect(fd, (struct sockaddr *)&a, sizeof a, SMARM_SEC(10)) < 0)
		return NULL;
	for (int r = 0; r < DEMO_ROUNDS; r++) {
		int len = snprintf(out, sizeof out, "client %d, round %d", id, r);
		if (smarm_write(fd, out, (size_t)len, SMARM_SEC(10)) != len ||
		    smarm_read_full(fd, in, (size_t)len, SMARM_SEC(10)) != len ||
		    memcmp(in, out, (size_t)len) != 0)
			break;
		if (r == DEMO_ROUNDS - 1)
			atomic_fetch_add(&demo_ok, 1);
	}
	smarm_close(fd);
	return NULL;
}

static int demo(void)
{
	struct server s = {.fd = listen_on(0), .conns = DEMO_CLIENTS};
	smarm_pid_t srv, cl[DEMO_CLIENTS];
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	if (s.fd < 0 || getsockname(s.fd, (struct sockaddr *)&a, &len) < 0)
		return 1;
	demo_port = ntohs(a.sin_port);
	smarm_spawn(&srv, acceptor, &s, NULL);
	for (int i = 0; i < DEMO_CLIENTS; i++)
		smarm_spawn(&cl[i], demo_client, (void *)(intptr_t)i, NULL);
	for (int i = 0; i < DEMO_CLIENTS; i++)
		smarm_join(cl[i], NULL);
	smarm_join(srv, NULL);
	while (atomic_load(&live) > 0)
		smarm_sleep(SMARM_MSEC(1));
	printf("%d of %d clients got %d echoes each, byte for byte; "
	       "%d connections were open at once\n",
	       atomic_load(&demo_ok), DEMO_CLIENTS, DEMO_ROUNDS, atomic_load(&peak));
	smarm_close(s.fd);
	return atomic_load(&demo_ok) == DEMO_CLIENTS ? 0 : 1;
}

int smarm_main(int argc, char **argv)
{
	struct rlimit rl;
	struct server s;
	smarm_pid_t pid;

	/* Every connection is an fd: take all the kernel allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc < 2)
		return demo();
	s.conns = argc > 2 ? atoi(argv[2]) : 0;
	if ((s.fd = listen_on(atoi(argv[1]))) < 0) {
		perror("listen");
		return 1;
	}
	smarm_spawn(&pid, acceptor, &s, NULL);
	smarm_join(pid, NULL);
	while (atomic_load(&live) > 0) /* the last connections finish */
		smarm_sleep(SMARM_MSEC(10));
	printf("served %d connections, at most %d at once, %ld bytes echoed\n", s.conns,
	       atomic_load(&peak), atomic_load(&echoed));
	smarm_close(s.fd);
	return 0;
}
