/* run_prog.h — run a helper program from tests/runtime/progs and collect
 * what it did: its stdout, its stderr (each through its own pipe), how it
 * ended (waitpid status) and whether it had to be killed for running past
 * its deadline.  Header-only (static functions) so every test file that
 * needs it includes it; the Makefile builds only test_*.c.
 *
 * The child gets the test's environment with some variables replaced or
 * removed: an entry "NAME=VALUE" sets NAME, a bare "NAME" removes it.  The
 * environment is built before fork, so the child only calls dup2 and execve
 * (fork in a multithreaded Criterion worker leaves the child async-signal-
 * safe calls only).
 */
#ifndef SMARM_TEST_RUN_PROG_H
#define SMARM_TEST_RUN_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROG_BUF (64 * 1024)

struct prog_result {
	int status;          /* as from waitpid; valid when !timed_out */
	bool timed_out;      /* killed with SIGKILL after the deadline */
	size_t out_len, err_len;
	char out[PROG_BUF];  /* NUL-terminated; excess output is dropped */
	char err[PROG_BUF];
};

__attribute__((unused)) static int64_t prog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is `entry` ("NAME=..." from environ) named by override ("NAME" or
 * "NAME=...")? */
static bool prog_env_match(const char *entry, const char *override)
{
	size_t n = strcspn(override, "=");

	return strncmp(entry, override, n) == 0 && entry[n] == '=';
}

static char **prog_env(const char *const *over)
{
	size_t n = 0, k = 0, no = 0;
	char **env;

	while (environ[n])
		n++;
	while (over && over[no])
		no++;
	env = calloc(n + no + 1, sizeof *env);
	if (!env)
		abort();
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		for (size_t j = 0; j < no && !drop; j++)
			drop = prog_env_match(environ[i], over[j]);
		if (!drop)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < no; j++)
		if (strchr(over[j], '='))
			env[k++] = (char *)over[j];
	env[k] = NULL;
	return env;
}

static void prog_drain(int *fd, char *buf, size_t *len)
{
	char scratch[4096];
	ssize_t r;

	if (*len < PROG_BUF - 1)
		r = read(*fd, buf + *len, PROG_BUF - 1 - *len);
	else
		r = read(*fd, scratch, sizeof scratch);
	if (r > 0 && *len < PROG_BUF - 1)
		*len += (size_t)r;
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
	buf[*len] = '\0';
}

/* Run SMARM_TEST_PROGS/<argv[0]> with argv and the environment changes in
 * `env` (NULL-terminated, may be NULL); give up after timeout_ms.
 * Returns the result in static storage, valid until the next call (nothing
 * to free, so a failing cr_assert leaks nothing). */
static struct prog_result *prog_run(const char *const *argv,
                                    const char *const *env, int timeout_ms)
{
	static struct prog_result result;
	struct prog_result *r = &result;
	char path[4096];
	char **envp;
	int po[2], pe[2];
	pid_t pid;
	int64_t deadline = prog_now_ms() + timeout_ms;

	memset(r, 0, sizeof *r);
	snprintf(path, sizeof path, "%s/%s", SMARM_TEST_PROGS, argv[0]);
	envp = prog_env(env);
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execve(path, (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	close(po[1]);
	close(pe[1]);

	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd p[2] = {{.fd = po[0], .events = POLLIN},
		                      {.fd = pe[0], .events = POLLIN}};
		int64_t left = deadline - prog_now_ms();
		if (left <= 0) {
			r->timed_out = true;
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (p[0].revents && po[0] >= 0)
			prog_drain(&po[0], r->out, &r->out_len);
		if (p[1].revents && pe[0] >= 0)
			prog_drain(&pe[0], r->err, &r->err_len);
	}
	if (r->timed_out)
		kill(pid, SIGKILL);
	for (;;) {
		pid_t w = waitpid(pid, &r->status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		if (!r->timed_out && prog_now_ms() >= deadline) {
			r->timed_out = true;
			kill(pid, SIGKILL);
		}
		usleep(1000);
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	return r;
}

/* How many times `needle` occurs in `hay`. */
__attribute__((unused)) static int prog_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
