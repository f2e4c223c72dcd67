/* io_echo_client.c — the client half of test_io's many-connections test.
 *
 *   io_echo_client PORT CONNS ROUNDS
 *
 * One actor per connection to 127.0.0.1:PORT.  Each connects (even-numbered
 * ones with a blocking socket: connect runs in the pool; odd ones with
 * SOCK_NONBLOCK), does one request/response, and waits until every
 * connection has done so, so that all CONNS are open at once; then it does
 * the remaining rounds and closes.  A request is a few hundred bytes whose
 * content depends on (connection, round); every byte of every echo is
 * checked.  Prints "ok conns=N rounds=R bytes=B" and exits 0, or names the
 * first failure on stderr and exits 1.
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
#include <unistd.h>

#include "smarm.h"

static int port, conns, rounds;
static _Atomic int connected, failures;
static _Atomic long bytes;

static void fail(int id, const char *what, long rc)
{
	if (atomic_fetch_add(&failures, 1) < 5)
		fprintf(stderr, "conn %d: %s (%ld)\n", id, what, rc);
}

static size_t fill(unsigned char *buf, int id, int round)
{
	uint32_t x = (uint32_t)id * 2654435761u + (uint32_t)round * 40503u + 1;
	size_t len = 1 + (x >> 7) % 1400;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	return len;
}

static int exchange(int fd, int id, int round)
{
	unsigned char out[1500], in[1500];
	size_t len = fill(out, id, round);
	long n;

	if ((n = smarm_write(fd, out, len, SMARM_SEC(30))) != (long)len) {
		fail(id, "write", n);
		return -1;
	}
	if ((n = smarm_read_full(fd, in, len, SMARM_SEC(30))) != (long)len) {
		fail(id, "read", n);
		return -1;
	}
	if (memcmp(in, out, len) != 0) {
		fail(id, "echo differs", round);
		return -1;
	}
	atomic_fetch_add(&bytes, (long)len);
	return 0;
}

static void *client(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | (id & 1 ? SOCK_NONBLOCK : 0), 0);
	int one = 1, rc;

	if (fd < 0) {
		fail(id, "socket", -1);
		atomic_fetch_add(&connected, 1);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((rc = smarm_connect(fd, (struct sockaddr *)&a, sizeof a, SMARM_SEC(30))) < 0) {
		fail(id, "connect", rc);
		atomic_fetch_add(&connected, 1);
		smarm_close(fd);
		return NULL;
	}
	rc = exchange(fd, id, 0);
	atomic_fetch_add(&connected, 1);
	while (atomic_load(&connected) < conns)
		smarm_sleep(SMARM_MSEC(2));
	for (int r = 1; rc == 0 && r < rounds; r++)
		rc = exchange(fd, id, r);
	smarm_close(fd);
	return NULL;
}

int smarm_main(int argc, char **argv)
{
	struct rlimit rl;
	smarm_pid_t *pids;

	if (argc != 4) {
		fprintf(stderr, "usage: io_echo_client PORT CONNS ROUNDS\n");
		return 2;
	}
	port = atoi(argv[1]);
	conns = atoi(argv[2]);
	rounds = atoi(argv[3]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pids = calloc((size_t)conns, sizeof *pids);
	for (int i = 0; i < conns; i++) {
		struct smarm_spawn_opts o = {.stack_size = 32 << 10};
		if (smarm_spawn(&pids[i], client, (void *)(intptr_t)i, &o) < 0) {
			fprintf(stderr, "spawn %d failed\n", i);
			return 1;
		}
	}
	for (int i = 0; i < conns; i++)
		smarm_join(pids[i], NULL);
	free(pids);
	if (atomic_load(&failures)) {
		fprintf(stderr, "%d connections failed\n", atomic_load(&failures));
		return 1;
	}
	printf("ok conns=%d rounds=%d bytes=%ld\n", conns, rounds, atomic_load(&bytes));
	return 0;
}
