/* test_strict.c — SMARM_STRICT (issue 9): the seccomp net under the
 * wrappers.  Each program runs natively and under the preload; park mode
 * must keep green threads that block inside glibc (fgets, stdio's lock)
 * from holding their carrier, audit mode must name the call sites, process
 * creation and a program's own SIGSYS handler must work, and without
 * SMARM_STRICT nothing changes.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "preload_run.h"

TestSuite(strict, .timeout = 120);

static char park[] = "SMARM_STRICT=park", audit[] = "SMARM_STRICT=audit";
static char *const park_env[] = {park, NULL}, *const audit_env[] = {audit, NULL};

/* stdout and status as natively, with `env`, on 1 and 2 carriers. */
static void same_as_native_with(const char *prog, char *const *env, bool sort)
{
	struct run n = run(prog, 0);

	cr_assert(n.out[0] != 0, "%s printed nothing natively", prog);
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run_with(prog, carriers, env, NULL);
		char *a = sort ? sorted(strdup(n.out)) : n.out;
		char *b = sort ? sorted(p.out) : p.out;
		cr_expect_eq(p.status, n.status,
			     "%s, %s, %d carrier(s): wait status %#x, natively %#x; stderr:\n%s",
			     prog, env[0], carriers, p.status, n.status, p.err);
		cr_expect_str_eq(b, a, "%s, %s, %d carrier(s): stdout differs; stderr:\n%s", prog,
				 env[0], carriers, p.err);
	}
}

/* With one carrier and no strict mode this program never finishes: the
 * reader's read(2) holds the only carrier and the writer never runs. */
Test(strict, fgets_on_a_pipe_parks_without_a_new_os_thread)
{
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run_with("strict_pipe", carriers, park_env, NULL);
		cr_expect_eq(p.status, 0, "%d carrier(s): status %#x; stderr:\n%s", carriers,
			     p.status, p.err);
		cr_expect_str_eq(p.out,
				 "OS threads added for the blocked reader: 0\n"
				 "reader got: hello through the pipe\n",
				 "%d carrier(s); stderr:\n%s", carriers, p.err);
	}
	struct run n = run("strict_pipe", 0);
	cr_expect(strstr(n.out, "added for the blocked reader: 1\n") != NULL, "native: %s", n.out);
}

/* Threads hold stdout's lock across a sleep: the others wait on glibc's
 * internal futex, which only the net turns into a park. */
Test(strict, contended_stdio_parks_on_the_futex_net)
{
	same_as_native_with("strict_stdio", park_env, true);
	same_as_native_with("printf_many", park_env, true);
}

/* The drop-in suite's programs (test_preload.c) behave the same with the
 * net on: every stdio write, sleep and lock of theirs is now trapped. */
Test(strict, the_pthread_programs_run_the_same_in_park_mode)
{
	static const char *progs[] = {"create_join", "mutex", "cond", "rwlock_sem_barrier",
				      "spin_tryjoin", "once_keys", "tls_errno", "sleep",
				      "exit_main", "exit_thread", "exit_pthread_main"};

	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++)
		same_as_native_with(progs[i], park_env, false);
}

/* poll, ppoll, select, pselect, epoll_wait, the sleeps and wait4 park too
 * (one carrier: otherwise the thread that ends each wait never runs), and
 * bad input fails as natively. */
Test(strict, poll_select_epoll_sleep_and_wait4_park)
{
	same_as_native_with("strict_waits", park_env, false);
}

Test(strict, audit_names_the_callers_of_a_raw_read_and_of_fgets)
{
	struct run n = run("strict_audit", 0);
	/* Two carriers: audit mode makes the calls natively, so a call that
	 * does block holds its carrier (none does here). */
	struct run p = run_with("strict_audit", 2, audit_env, NULL);

	cr_expect_eq(p.status, 0, "status %#x; stderr:\n%s", p.status, p.err);
	cr_expect_str_eq(p.out, n.out);
	cr_expect(strstr(p.err, "strict audit: read(2) from raw_reader+") != NULL, "%s", p.err);
	cr_expect(strstr(p.err, "via syscall+") != NULL, "%s", p.err);
	cr_expect(strstr(p.err, "strict audit: read(2) from fgets_reader+") != NULL, "%s", p.err);
	/* Reported once per site, counted in the summary at exit. */
	cr_expect(strstr(p.err, "3 x read(2) from raw_reader+") != NULL, "%s", p.err);
	cr_expect(strstr(p.err, "1 x read(2) from fgets_reader+") != NULL, "%s", p.err);
	char *first = strstr(p.err, "read(2) from raw_reader+");
	cr_expect(first && !strstr(first + 1, "strict audit: read(2) from raw_reader+"),
		  "raw_reader's site reported twice:\n%s", p.err);
	cr_expect(strstr(p.err, "call sites made blocking calls outside smarm") != NULL, "%s",
		  p.err);
	/* Park mode reports nothing. */
	p = run_with("strict_audit", 1, park_env, NULL);
	cr_expect_str_eq(p.out, n.out);
	cr_expect(strstr(p.err, "strict audit") == NULL, "%s", p.err);
}

/* A filtered child dies of SIGSYS after exec: each of these must start
 * its child from a thread without the filter. */
Test(strict, system_popen_fork_exec_posix_spawn)
{
	same_as_native_with("strict_proc", park_env, false);
	same_as_native_with("strict_proc", audit_env, false);
	same_as_native_with("fork_exec", park_env, false);
	same_as_native_with("strict_exec", park_env, false);
}

Test(strict, a_programs_own_sigsys_handler_still_works)
{
	struct run n = run("strict_sigsys", 0), d;

	same_as_native_with("strict_sigsys", park_env, false);
	/* The default mode, on two carriers (one would be held by the reader's
	 * read(2): without the net that is what a blocking call costs). */
	d = run("strict_sigsys", 2);
	cr_expect_eq(d.status, 0, "stderr:\n%s", d.err);
	cr_expect_str_eq(d.out, n.out);
}

Test(strict, the_filter_is_there_only_in_strict_mode)
{
	static char bad[] = "SMARM_STRICT=sometimes";
	char *const bad_env[] = {bad, NULL};
	struct run r;

	r = run("strict_status", 0);
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 0\n");
	r = run("strict_status", 1);
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 0\n", "default mode");
	cr_expect_str_eq(r.err, "");
	r = run_with("strict_status", 1, park_env, NULL);
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 1\n", "park; %s", r.err);
	r = run_with("strict_status", 2, audit_env, NULL);
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 1\n", "audit; %s", r.err);
	r = run_with("strict_status", 1, bad_env, NULL);
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 0\n");
	cr_expect(strstr(r.err, "SMARM_STRICT=sometimes is neither") != NULL, "%s", r.err);
}

/* Run strict_status under the preload in park mode from a process whose
 * seccomp(2) fails with EPERM (as in a container that refuses filters). */
static struct run run_refused(void)
{
	struct sock_filter deny[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fp = {.len = sizeof deny / sizeof deny[0], .filter = deny};
	char path[512];
	int out[2], err[2];
	struct run r;
	pid_t pid;

	snprintf(path, sizeof path, "%s/strict_status", SMARM_PRELOAD_PROGS);
	cr_assert(pipe(out) == 0 && pipe(err) == 0);
	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		setenv("SMARM_THREADS", "1", 1);
		setenv("SMARM_STRICT", "park", 1);
		setenv("LD_PRELOAD", SMARM_PRELOAD_LIB, 1);
		alarm(60);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) != 0)
			_exit(126);
		execl(path, "strict_status", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r.out = slurp(out[0]);
	r.err = slurp(err[0]);
	close(out[0]);
	close(err[0]);
	cr_assert(waitpid(pid, &r.status, 0) == pid);
	return r;
}

Test(strict, refused_seccomp_warns_once_and_runs_in_the_default_mode)
{
	struct run r = run_refused();
	const char *w = "SMARM_STRICT: seccomp is unavailable here";
	char *first = strstr(r.err, w);

	cr_expect_eq(r.status, 0, "status %#x; stderr:\n%s", r.status, r.err);
	/* Only the refusing filter the test put there: none of ours. */
	cr_expect_str_eq(r.out, "seccomp filters on this thread: 1\n");
	cr_expect(first != NULL, "no warning: %s", r.err);
	cr_expect(first && !strstr(first + 1, w), "warned twice: %s", r.err);
}
