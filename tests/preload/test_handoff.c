/* test_handoff.c — drop-in mode and the carrier hand-off (runtime/handoff.c):
 * what glibc blocks in by itself, which no wrapper sees, must not stop the
 * other threads even with one carrier; and the scale check of issue 8.
 * Each program runs natively and under the preload with one carrier and
 * with two (preload_run.h), and must print the same and end the same.
 */
#include "preload_run.h"

TestSuite(handoff, .timeout = 120);

/* A reader in fgets() on a pipe before its writer exists. */
Test(handoff, fgets_on_a_pipe)           { same_as_native("fgets_pipe", false); }
/* Waits and wakes through raw futex(2), as Rust's std does. */
Test(handoff, raw_futex_wait_and_wake)   { same_as_native("futex_raw", false); }
/* A printf waiting (in glibc, in the kernel) for stdout's lock, which a
 * parked thread holds across a sleep. */
Test(handoff, printf_behind_a_sleeping_lock_holder) { same_as_native("flockfile_sleep", false); }
/* Sixteen writers on one stream to a pipe that a seventeenth thread reads. */
Test(handoff, stdio_heavy_pipe)          { same_as_native("stdio_pipe", false); }

/* Without the hand-off the same program stops for good (its reader holds
 * the only carrier): proof that the test above tests it.  The program's
 * argument sets an alarm(2) that ends it. */
Test(handoff, without_handoff_fgets_stalls)
{
	char *env[] = {"SMARM_HANDOFF=off", NULL};
	char *argv[] = {"2", NULL};
	struct run p = run_with("fgets_pipe", 1, env, argv);

	cr_expect(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGALRM,
		  "status %#x, stdout: %s", p.status, p.out);
	cr_expect(strstr(p.out, "done") == NULL, "stdout: %s", p.out);
	/* The same with the hand-off on finishes. */
	env[0] = "SMARM_HANDOFF=on";
	p = run_with("fgets_pipe", 1, env, argv);
	cr_expect_eq(p.status, 0, "status %#x", p.status);
}

/* 100,000 threads blocked at once (sleep, then a mutex + condition variable
 * barrier); natively this machine stops near 32,400. */
Test(handoff, hundred_thousand_blocked_threads)
{
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run("many_blocked", carriers);

		cr_expect_eq(p.status, 0, "%d carrier(s): status %#x; stderr: %s", carriers,
			     p.status, p.err);
		cr_expect_str_eq(p.out, "threads 100000, arrived 100000, left 100000, "
					"joined 100000\n");
	}
}
