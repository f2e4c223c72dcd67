/* test_fault.c — faults in actors (fault.c), through helper programs run in
 * their own processes (tests/runtime/progs/overflow and crash).
 *
 * smarm.h: a stack overflow or a synchronous fault in an actor's own code is
 * that actor's panic — a line on stderr naming the actor, its joiner gets
 * -EOWNERDEAD with how "panic", other actors run on.  An overflow's line is
 * "smarm: actor <pid> (<name>) overflowed its <N> KiB stack".  With
 * SMARM_FAULTS=abort the same line is printed and the process dies (by the
 * signal, or with a non-zero status) instead: never a hang, never exit 0.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run_prog.h"

TestSuite(fault, .timeout = 60);

static bool ended_badly(int status)
{
	return WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

/* Run overflow with argv (after the program name) and one environment
 * change; check the report line; return the result for more checks. */
static struct prog_result *overflow(const char *const *args, const char *env,
                                    const char *want_name, int want_kib)
{
	const char *argv[8] = {"overflow"};
	const char *envv[] = {env, NULL};
	struct prog_result *r;
	char pid[32] = "", want[160];

	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	r = prog_run(argv, envv, 15000);
	cr_assert(!r->timed_out, "the overflowing program hung; stdout: %s stderr: %s",
	          r->out, r->err);
	cr_assert_null(strstr(r->out, "never ran on carrier 1"),
	               "could not get the actor onto carrier 1");
	cr_assert_eq(sscanf(r->out, "pid=%31s", pid), 1, "stdout: %s stderr: %s",
	             r->out, r->err);
	snprintf(want, sizeof want, "smarm: actor %s (%s) overflowed its %d KiB stack",
	         pid, want_name, want_kib);
	cr_assert(strstr(r->err, want), "want \"%s\" on stderr; got: %s", want, r->err);
	cr_assert_null(strstr(r->err, "inside the runtime"), "stderr: %s", r->err);
	return r;
}

/* Default mode: the overflow ends that actor; the program goes on. */
static void overflow_panics(const char *const *args, const char *env,
                            const char *want_name, int want_kib)
{
	struct prog_result *r = overflow(args, env, want_name, want_kib);
	char want[128];

	snprintf(want, sizeof want, "joined=%d how=panic reason=stack overflow", -EOWNERDEAD);
	cr_assert(strstr(r->out, want), "want \"%s\" on stdout; got: %s", want, r->out);
	snprintf(want, sizeof want, "%d KiB", want_kib);
	cr_assert(strstr(strstr(r->out, "reason="), want), "the reason names no size: %s",
	          r->out);
	cr_assert(strstr(r->out, "survived\n"), "stdout: %s", r->out);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "status %#x; stderr: %s", r->status, r->err);
}

/* SMARM_FAULTS=abort: reported, then the process dies. */
static void overflow_aborts(const char *const *args, const char *threads,
                            const char *want_name, int want_kib)
{
	struct prog_result *r;

	setenv("SMARM_THREADS", threads, 1);
	r = overflow(args, "SMARM_FAULTS=abort", want_name, want_kib);
	cr_assert_null(strstr(r->out, "survived"), "the join returned after an overflow");
	cr_assert(ended_badly(r->status), "the process ended well (status %#x)", r->status);
}

Test(fault, overflow_panics_the_actor_and_the_program_goes_on)
{
	overflow_panics((const char *[]){"0", "diver", NULL}, "SMARM_THREADS=1", "diver", 64);
}

Test(fault, overflow_names_a_truncated_name_and_the_requested_size)
{
	overflow_panics((const char *[]){"128", "deep-diver-1234567890", NULL},
	                "SMARM_THREADS=2", "deep-diver-1234", 128);
}

Test(fault, overflow_reports_the_smarm_stack_size_default)
{
	overflow_panics((const char *[]){"0", "envdiver", NULL}, "SMARM_STACK_SIZE=256K",
	                "envdiver", 256);
}

Test(fault, overflow_on_another_carrier_thread_panics_the_actor)
{
	overflow_panics((const char *[]){"0", "far-diver", "carrier1", NULL},
	                "SMARM_THREADS=2", "far-diver", 64);
}

Test(fault, overflow_with_smarm_faults_abort_ends_the_process)
{
	overflow_aborts((const char *[]){"0", "diver", NULL}, "1", "diver", 64);
}

Test(fault, overflow_on_another_carrier_with_smarm_faults_abort_ends_the_process)
{
	overflow_aborts((const char *[]){"0", "far-diver", "carrier1", NULL}, "2",
	                "far-diver", 64);
}

/* In smarm_main mode the root actor is the program's main, with an 8 MiB
 * stack (DESIGN.md D5: programs assume it).  Its overflow is in the
 * program's code, so it is reported as such (not "inside the runtime"), and
 * the process cannot go on without its main: it ends badly. */
Test(fault, overflow_of_smarm_main_names_its_8_mib_stack)
{
	struct prog_result *r = overflow((const char *[]){"root", NULL}, "SMARM_FAULTS",
	                                 "root", 8192);

	cr_assert_null(strstr(r->out, "survived"), "stdout: %s", r->out);
	cr_assert(ended_badly(r->status), "status %#x", r->status);
	cr_assert_null(strstr(r->err, "cannot start the runtime"), "stderr: %s", r->err);
}

/* ---- other faults ------------------------------------------------------- */

static struct prog_result *crash(const char *how)
{
	const char *argv[] = {"crash", how, NULL};
	const char *envv[] = {"SMARM_FAULTS", NULL};
	struct prog_result *r = prog_run(argv, envv, 15000);

	cr_assert(!r->timed_out, "hung; stdout: %s stderr: %s", r->out, r->err);
	cr_assert_null(strstr(r->err, "inside the runtime"),
	               "a fault in the program's code was blamed on smarm: %s", r->err);
	return r;
}

static void crash_panics(const char *how)
{
	struct prog_result *r = crash(how);
	char want[64];

	snprintf(want, sizeof want, "joined=%d how=panic\nsurvived\n", -EOWNERDEAD);
	cr_assert(strstr(r->out, want), "want \"%s\" on stdout; got: %s; stderr: %s", want,
	          r->out, r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "status %#x; stderr: %s", r->status, r->err);
	cr_assert(strstr(r->err, "SIGSEGV"), "stderr names no signal: %s", r->err);
}

Test(fault, bad_write_in_a_called_function_panics_the_actor)
{
	crash_panics("deep");
}

Test(fault, bad_write_in_the_actor_function_itself_panics_the_actor)
{
	crash_panics("leaf");
}

Test(fault, bad_write_in_smarm_main_ends_the_process_badly)
{
	struct prog_result *r = crash("main");

	cr_assert(strstr(r->out, "writing\n"), "stdout: %s", r->out);
	cr_assert_null(strstr(r->out, "survived"), "stdout: %s", r->out);
	cr_assert(ended_badly(r->status), "status %#x", r->status);
	/* main() must not mistake its root's end for a failure to start. */
	cr_assert_null(strstr(r->err, "cannot start the runtime"), "stderr: %s", r->err);
}
