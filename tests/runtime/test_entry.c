/* test_entry.c — smarm_main as the entry point (entry.c, entry_main.c),
 * through tests/runtime/progs/entry: argc/argv arrive, smarm_main runs as
 * an actor, its return value is the exit status, and the process does not
 * wait for actors still alive when smarm_main returns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "run_prog.h"

TestSuite(entry, .timeout = 30);

Test(entry, smarm_main_gets_argv_and_its_value_is_the_exit_status)
{
	const char *argv[] = {"entry", "args", "foo", "bar baz", "", NULL};
	struct prog_result *r = prog_run(argv, NULL, 10000);

	cr_assert(!r->timed_out, "entry hung");
	cr_assert(WIFEXITED(r->status), "status %#x; stderr: %s", r->status, r->err);
	cr_assert_eq(WEXITSTATUS(r->status), 7, "stdout: %s stderr: %s", r->out, r->err);
	cr_assert(strstr(r->out, "argc=5\n"), "stdout: %s", r->out);
	cr_assert(strstr(r->out, "argv[0]=entry\n"), "argv[0]: %s", r->out);
	cr_assert(strstr(r->out, "argv[1]=args\nargv[2]=foo\nargv[3]=bar baz\n"
	                         "argv[4]=\nself=yes\n"), "stdout: %s", r->out);
}

Test(entry, the_process_ends_when_smarm_main_returns)
{
	const char *argv[] = {"entry", "detached", NULL};
	int64_t t0 = prog_now_ms();
	struct prog_result *r = prog_run(argv, NULL, 10000);

	cr_assert(!r->timed_out, "the process waited for the actors smarm_main left");
	cr_assert(WIFEXITED(r->status), "status %#x; stderr: %s", r->status, r->err);
	cr_assert_eq(WEXITSTATUS(r->status), 3, "stderr: %s", r->err);
	cr_assert(strstr(r->out, "leaving\n"), "stdout: %s", r->out);
	cr_assert_lt(prog_now_ms() - t0, 5000);
}
