/* test_preload.c — drop-in mode, the pthread API (issue 7): each program
 * runs natively and under the preload with one carrier and with two;
 * stdout and the exit status must match the native run (preload_run.h).
 */
#include "preload_run.h"

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
	cr_expect(strstr(p.err, "smarm: sem_open is not supported yet under the "
				"preload") != NULL, "stderr: %s", p.err);
	cr_expect_str_eq(p.out, "");
}
