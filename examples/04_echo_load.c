/* 04_echo_load.c — a load generator for 03_echo_server: one actor per
 * connection, every byte of every echo checked.
 *
 *   04_echo_load PORT [CONNS [ROUNDS]]   against a server on 127.0.0.1:PORT
 *                                        (defaults: 10000 connections,
 *                                        10 round trips each)
 *   04_echo_load                         starts 03_echo_server (found next to
 *                                        this program) and drives 10,000
 *                                        connections against it
 *
 * Every client actor connects, does one round trip, and then waits until
 * all CONNS have done the same, so that all of them are open at once; then
 * it does the remaining round trips and closes.  A message is 1 to 1400
 * bytes whose content depends on the connection and the round.
 *
 * Without arguments the server's port comes from the first line it prints,
 * read through a pipe with smarm_read, and waitpid runs on the blocking pool
 * (smarm_block_on_io) so that the carrier threads keep running actors.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smarm.h"

extern char **environ;

static int port, conns = 10000, rounds = 10;
static _Atomic int connected, open_now, peak, failed;
static _Atomic long round_trips, bytes;

static size_t message(unsigned char *buf, int id, int round)
{
	uint32_t x = (uint32_t)id * 2654435761u + (uint32_t)round * 40503u + 1;
	size_t len = 1 + (x >> 7) % 1400;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	return len;
}

static int round_trip(int fd, int id, int round)
{
	unsigned char out[1400], in[1400];
	size_t len = message(out, id, round);

	if (smarm_write(fd, out, len, SMARM_SEC(30)) != (ssize_t)len ||
	    smarm_read_full(fd, in, len, SMARM_SEC(30)) != (ssize_t)len ||
	    memcmp(in, out, len) != 0)
		return -1;
	atomic_fetch_add(&round_trips, 1);
	atomic_fetch_add(&bytes, (long)len);
	return 0;
}

static void *client(void *arg)
{
	int id = (int)(intptr_t)arg, one = 1, ok, now, p;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ok = fd >= 0 &&
	     smarm_connect(fd, (struct sockaddr *)&a, sizeof a, SMARM_SEC(30)) == 0;
	if (ok) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		now = atomic_fetch_add(&open_now, 1) + 1;
		p = atomic_load(&peak);
		while (now > p && !atomic_compare_exchange_weak(&peak, &p, now))
			;
		ok = round_trip(fd, id, 0) == 0;
	}
	/* Everybody connected before anybody goes on. */
	atomic_fetch_add(&connected, 1);
	while (atomic_load(&connected) < conns)
		smarm_sleep(SMARM_MSEC(5));
	for (int r = 1; ok && r < rounds; r++)
		ok = round_trip(fd, id, r) == 0;
	if (!ok)
		atomic_fetch_add(&failed, 1);
	if (fd >= 0) {
		atomic_fetch_sub(&open_now, 1);
		smarm_close(fd);
	}
	return NULL;
}

static int drive(void)
{
	smarm_pid_t *pids = calloc((size_t)conns, sizeof *pids);
	struct smarm_spawn_opts opts = {.stack_size = 32 << 10};
	int64_t t0 = smarm_now();

	for (int i = 0; i < conns; i++)
		if (smarm_spawn(&pids[i], client, (void *)(intptr_t)i, &opts) < 0)
			return -1;
	for (int i = 0; i < conns; i++)
		smarm_join(pids[i], NULL);
	double secs = (double)(smarm_now() - t0) / 1e9;
	printf("%d connections, %d open at once, %ld round trips (%.0f/s), "
	       "%ld bytes checked, %d failed\n",
	       conns, atomic_load(&peak), atomic_load(&round_trips),
	       (double)atomic_load(&round_trips) / secs, atomic_load(&bytes),
	       atomic_load(&failed));
	free(pids);
	return atomic_load(&failed) ? -1 : 0;
}

/* ---- no arguments: bring our own server ---------------------------------- */

static void *wait_child(void *arg)
{
	int status = 0;

	waitpid((pid_t)(intptr_t)arg, &status, 0);
	return (void *)(intptr_t)status;
}

static int with_own_server(void)
{
	char path[PATH_MAX], count[16], line[256];
	char *argv[] = {path, "0", count, NULL};
	posix_spawn_file_actions_t fa;
	ssize_t n, len = 0;
	int out[2], rc;
	pid_t pid;
	void *status;

	n = readlink("/proc/self/exe", path, sizeof path - 32);
	if (n < 0)
		return 1;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "03_echo_server");
	snprintf(count, sizeof count, "%d", conns);
	if (pipe(out) < 0)
		return 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (rc != 0) {
		fprintf(stderr, "cannot start %s: %s\n", path, strerror(rc));
		return 1;
	}
	/* The server's first line names its port. */
	while (!memchr(line, '\n', (size_t)len) &&
	       (n = smarm_read(out[0], line + len, sizeof line - 1 - (size_t)len,
			       SMARM_SEC(10))) > 0)
		len += n;
	line[len] = '\0';
	if (sscanf(line, "listening on 127.0.0.1:%d", &port) != 1) {
		fprintf(stderr, "server said: %s\n", line);
		return 1;
	}
	fputs(line, stdout);
	rc = drive();
	/* Its summary, then its exit status (waitpid blocks: the pool). */
	while ((n = smarm_read(out[0], line, sizeof line - 1, SMARM_SEC(30))) > 0)
		fwrite(line, 1, (size_t)n, stdout);
	smarm_close(out[0]);
	smarm_block_on_io(wait_child, (void *)(intptr_t)pid, &status);
	return rc == 0 && WIFEXITED((int)(intptr_t)status) &&
			       WEXITSTATUS((int)(intptr_t)status) == 0
		       ? 0
		       : 1;
}

int smarm_main(int argc, char **argv)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		/* Root may raise the hard limit too; others get what it allows. */
		if (rl.rlim_max < 10000 + 200) {
			struct rlimit want = {10000 + 200, 10000 + 200};
			if (setrlimit(RLIMIT_NOFILE, &want) == 0)
				rl = want;
		}
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc > 2)
		conns = atoi(argv[2]);
	if (argc > 3)
		rounds = atoi(argv[3]);
	if (conns < 1 || rounds < 1 || (long)conns + 64 > (long)rl.rlim_max) {
		fprintf(stderr, "usage: 04_echo_load [PORT [CONNS [ROUNDS]]] "
				"(CONNS within RLIMIT_NOFILE %ld)\n",
			(long)rl.rlim_max);
		return 2;
	}
	if (argc < 2)
		return with_own_server();
	port = atoi(argv[1]);
	return drive() == 0 ? 0 : 1;
}
