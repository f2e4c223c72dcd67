/* preload_run.h — run a plain pthread program from tests/preload/progs/
 * natively and under libsmarm_preload.so, and compare.  Included by every
 * tests/preload/test_*.c (one Criterion binary; the helpers are static).
 *
 * The Criterion binary is never preloaded itself (DESIGN §3: its runner
 * has threads of its own): LD_PRELOAD is set only in the forked child,
 * just before it execs the program.
 */
#ifndef SMARM_PRELOAD_RUN_H
#define SMARM_PRELOAD_RUN_H
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SMARM_PRELOAD_LIB
#error "the Makefile defines SMARM_PRELOAD_LIB"
#endif

struct run {
	char *out;      /* stdout, NUL-terminated */
	char *err;      /* stderr */
	int status;     /* wait status */
};

static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	ssize_t n;

	while ((n = read(fd, b + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			b = realloc(b, cap *= 2);
	}
	b[len] = 0;
	return b;
}

/* Run a program from SMARM_PRELOAD_PROGS; carriers 0: natively.  env: NULL
 * or a NULL-terminated list of "NAME=value" set in the child (both runs);
 * argv: NULL or the arguments after the program's name. */
__attribute__((unused)) static struct run run_with(const char *prog, int carriers,
						   char *const *env, char *const *argv)
{
	char path[512], threads[16];
	int out[2], err[2];
	struct run r;
	pid_t pid;

	snprintf(path, sizeof path, "%s/%s", SMARM_PRELOAD_PROGS, prog);
	snprintf(threads, sizeof threads, "%d", carriers);
	cr_assert(pipe(out) == 0 && pipe(err) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		if (carriers) {
			setenv("SMARM_THREADS", threads, 1);
			setenv("LD_PRELOAD", SMARM_PRELOAD_LIB, 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		alarm(60); /* a hang fails the test instead of blocking it */
		char *av[64] = {(char *)prog};
		for (int i = 0; argv && argv[i] && i < 62; i++)
			av[i + 1] = argv[i];
		execv(path, av);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* stderr is small; read stdout first, then stderr. */
	r.out = slurp(out[0]);
	r.err = slurp(err[0]);
	close(out[0]);
	close(err[0]);
	cr_assert(waitpid(pid, &r.status, 0) == pid);
	return r;
}

__attribute__((unused)) static struct run run(const char *prog, int carriers)
{
	return run_with(prog, carriers, NULL, NULL);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of s in place (for programs whose line order varies). */
static char *sorted(char *s)
{
	size_t n = 0, cap = 64, len = 0;
	char **v = malloc(cap * sizeof *v), *out, *save;

	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = l;
		len += strlen(l) + 1;
	}
	qsort(v, n, sizeof *v, cmp_lines);
	out = calloc(1, len + 1);
	for (size_t i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	free(v);
	return out;
}

__attribute__((unused)) static void same_as_native(const char *prog, bool sort)
{
	struct run n = run(prog, 0);

	cr_assert(n.out[0] != 0, "%s printed nothing natively", prog);
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run(prog, carriers);
		char *a = sort ? sorted(strdup(n.out)) : n.out;
		char *b = sort ? sorted(p.out) : p.out;
		cr_expect_eq(p.status, n.status,
			     "%s, %d carrier(s): wait status %#x, natively %#x; stderr:\n%s", prog,
			     carriers, p.status, n.status, p.err);
		cr_expect_str_eq(b, a, "%s, %d carrier(s): stdout differs:\n%s\nnatively:\n%s\n"
				 "stderr:\n%s", prog, carriers, b, a, p.err);
	}
}

#endif
