/* test_preload.c — drop-in mode: each program in tests/preload/progs/ (plain
 * pthread C, no smarm header) runs natively and then under
 * libsmarm_preload.so with one carrier and with two; stdout and the exit
 * status must match the native run.
 *
 * This Criterion binary is never preloaded itself (DESIGN §3: its runner
 * has threads of its own): LD_PRELOAD is set only in the forked child,
 * just before it execs the program.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
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

/* Run a program from SMARM_PRELOAD_PROGS; carriers 0: natively. */
static struct run run(const char *prog, int carriers)
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
		alarm(60); /* a hang fails the test instead of blocking it */
		execl(path, prog, (char *)NULL);
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

static void same_as_native(const char *prog, bool sort)
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
		cr_expect_str_eq(b, a, "%s, %d carrier(s): stdout differs; stderr:\n%s", prog,
				 carriers, p.err);
	}
}

TestSuite(preload, .timeout = 120);

Test(preload, create_join_return_values)  { same_as_native("create_join", false); }
Test(preload, mutex_counter_and_kinds)    { same_as_native("mutex", false); }
Test(preload, cond_producer_consumer)     { same_as_native("cond", false); }
Test(preload, rwlock_barrier_semaphore)   { same_as_native("rwlock_sem_barrier", false); }
Test(preload, spin_locks_and_timed_joins)  { same_as_native("spin_tryjoin", false); }
Test(preload, once_and_key_destructors)   { same_as_native("once_keys", false); }
Test(preload, errno_and_tls_per_thread)   { same_as_native("tls_errno", false); }
Test(preload, sleep_family)               { same_as_native("sleep", false); }
Test(preload, printf_lines_never_torn)    { same_as_native("printf_many", true); }
Test(preload, return_from_main_exits)     { same_as_native("exit_main", false); }
Test(preload, exit_from_a_thread)         { same_as_native("exit_thread", false); }
Test(preload, pthread_exit_from_main)     { same_as_native("exit_pthread_main", false); }
Test(preload, fork_system_popen_in_thread) { same_as_native("fork_exec", false); }
Test(preload, segv_in_thread_kills)       { same_as_native("segv_thread", false); }

Test(preload, unsupported_call_fails_loudly)
{
	struct run n = run("unsupported", 0), p = run("unsupported", 1);

	cr_expect(WIFEXITED(n.status) && WEXITSTATUS(n.status) == 0);
	cr_expect(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGABRT,
		  "status %#x", p.status);
	cr_expect(strstr(p.err, "smarm: pthread_kill is not supported yet under the "
				"preload") != NULL, "stderr: %s", p.err);
	cr_expect_str_eq(p.out, "");
}
