/* test_api.c — drop-in mode, the rest of the pthread API (issue 7):
 * cancellation and cleanup handlers (C and C++), static mutex kinds,
 * C11 threads, attributes, scheduling calls, versioned symbols, and the
 * calls that fail loudly.  Each program runs natively and under the
 * preload with one carrier and with two (preload_run.h). */
#include <sys/stat.h>

#include "preload_run.h"

TestSuite(api, .timeout = 120);

Test(api, cancel_at_points_with_handlers_in_order) { same_as_native("cancel", false); }
Test(api, cancel_and_exit_unwind_cxx_frames)        { same_as_native("cxx_unwind", false); }
Test(api, static_mutex_initialisers_keep_kinds)     { same_as_native("mutex_static", false); }
Test(api, c11_threads)                              { same_as_native("c11_threads", false); }
Test(api, getattr_np_of_self_and_others)            { same_as_native("attr", false); }
Test(api, affinity_and_sched_calls)                 { same_as_native("sched", false); }
Test(api, versioned_symbols_same_results)           { same_as_native("versioned", false); }
Test(api, program_supplied_stacks)                  { same_as_native("setstack", false); }
Test(api, bad_input_and_edge_cases)                 { same_as_native("api_errors", false); }

/* Green threads cannot have real-time priority: EPERM even for root. */
Test(api, sched_fifo_is_eperm)
{
	char *argv[] = {"fifo", NULL};
	struct run p = run_with("sched", 1, NULL, argv);

	cr_expect_eq(p.status, 0, "stderr: %s", p.err);
	cr_expect_str_eq(p.out, "SCHED_FIFO: EPERM\n");
}

/* Every versioned reference binds to the preload (ld.so says so). */
Test(api, versioned_symbols_bind_to_the_preload)
{
	static const char *refs[] = {
		"pthread_cond_wait' [GLIBC_2.3.2]", "pthread_cond_signal' [GLIBC_2.3.2]",
		"pthread_mutex_lock' [GLIBC_2.2.5]", "pthread_mutex_unlock' [GLIBC_2.2.5]",
		"pthread_create' [GLIBC_2.2.5]", "pthread_join' [GLIBC_2.34]",
	};
	char *env[] = {"LD_DEBUG=bindings", NULL};
	struct run p = run_with("versioned", 1, env, NULL);
	char want[256];

	cr_expect_eq(p.status, 0);
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
		snprintf(want, sizeof want, "versioned [0] to %s [0]: normal symbol `%s",
			 SMARM_PRELOAD_LIB, refs[i]);
		cr_expect(strstr(p.err, want) != NULL, "no binding line \"%s\"", want);
	}
}

/* Works natively; under the preload: one line naming what, then abort. */
static void loud(const char *prog, const char *msg)
{
	struct run n = run(prog, 0);

	cr_expect(WIFEXITED(n.status) && WEXITSTATUS(n.status) == 0, "natively %#x", n.status);
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run(prog, carriers);
		cr_expect(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGABRT,
			  "%s: status %#x", prog, p.status);
		cr_expect(strstr(p.err, msg) != NULL, "%s: stderr: %s", prog, p.err);
	}
}

Test(api, named_semaphores_fail_loudly)
{
	loud("unsupported_sem", "smarm: sem_open is not supported yet under the preload\n");
}


/* Run build/smarm-run (next to the preload) on a program; stdout+stderr. */
static struct run smarm_run(const char *prog)
{
	char tool[512], *slash;
	int out[2];
	struct run r = {0};
	pid_t pid;

	snprintf(tool, sizeof tool, "%s", SMARM_PRELOAD_LIB);
	slash = strrchr(tool, '/');
	snprintf(slash + 1, sizeof tool - (size_t)(slash + 1 - tool), "smarm-run");
	cr_assert(pipe(out) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		execl(tool, tool, prog, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	r.out = slurp(out[0]);
	close(out[0]);
	cr_assert(waitpid(pid, &r.status, 0) == pid);
	return r;
}

Test(api, smarm_run_refuses_a_static_program)
{
	struct run r = smarm_run(SMARM_PRELOAD_PROGS "/static_hello");

	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 126, "status %#x", r.status);
	cr_expect_str_eq(r.out, "smarm-run: " SMARM_PRELOAD_PROGS "/static_hello is statically "
				"linked: LD_PRELOAD cannot reach it (drop-in mode needs a "
				"dynamically linked glibc program)\n");
}

/* A program whose loader is another libc's: a copy of a dynamic program
 * with its PT_INTERP string rewritten (same length, so nothing moves). */
Test(api, smarm_run_refuses_a_non_glibc_program)
{
	static const char from[] = "ld-linux-x86-64.so.2", to[] = "ld-musl-x86_64.so.1";
	char path[] = "/tmp/smarm-musl-XXXXXX", *buf, *hit = NULL;
	/* Any dynamically linked program will do: one of ours. */
	FILE *f = fopen(SMARM_PRELOAD_PROGS "/attr", "rb");
	struct run r;
	long len;
	int fd;

	cr_assert(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	cr_assert(fread(buf, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	for (long i = 0; i + (long)sizeof from <= len && !hit; i++)
		if (memcmp(buf + i, from, sizeof from) == 0)
			hit = buf + i;
	cr_assert(hit, "no loader name in the program");
	memcpy(hit, to, sizeof to);
	hit[sizeof to] = '\0';
	cr_assert((fd = mkstemp(path)) >= 0);
	cr_assert(write(fd, buf, (size_t)len) == len);
	fchmod(fd, 0755);
	close(fd);
	r = smarm_run(path);
	unlink(path);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 126, "status %#x", r.status);
	cr_expect(strstr(r.out, "is not a glibc program (its loader is "
				"/lib64/ld-musl-x86_64.so.1); drop-in mode needs glibc\n") != NULL,
		  "output: %s", r.out);
}

/* The fd wrappers' parks (read, poll, accept) are cancellation points. */
Test(api, cancel_blocked_read_poll_accept) { same_as_native("cancel_io", false); }

/* gettid() and syscall(SYS_gettid): an id per thread, main's = the pid. */
Test(api, thread_ids_are_distinct) { same_as_native("tids", false); }
