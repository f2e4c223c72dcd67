/* test_faults.c — faults other than overflow, through
 * tests/runtime/progs/fault (each in a process of its own, since some are
 * meant to kill it), and one in this process.  (test_fault.c covers stack
 * overflow and the program's main.)
 *   - by default a NULL dereference, a write to a read-only page, a
 *     division by zero, an illegal instruction in an actor is that actor's
 *     panic: the report names the fault and the address, its parent gets a
 *     PANIC notice naming it, its cleanup handlers run, a sibling runs on;
 *   - after an overflow the handlers are skipped (no stack left); a fault
 *     in a handler skips the rest and keeps the first reason;
 *   - with SMARM_FAULTS=abort the process dies of the signal;
 *   - a fault inside a runtime call (a bad pointer given to smarm_send) is
 *     never recovered from: the process dies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "rt_check.h"
#include "run_prog.h"

TestSuite(faults, .timeout = 60);

/* Run progs/fault MODE in the default mode and check the common part: the
 * victim's parent got a PANIC notice naming it with `reason_prefix`, the
 * ticker went on ticking, `cleanups` handlers ran and the process exited 0.
 * Returns the result for more checks (prog_run's static storage). */
static struct prog_result *fault_panics(const char *mode, const char *reason_prefix,
                                        int cleanups)
{
	const char *argv[] = {"fault", mode, NULL};
	const char *envv[] = {"SMARM_FAULTS", NULL};
	struct prog_result *r = prog_run(argv, envv, 20000);
	char want[300];
	long ticks = -1;
	const char *t;

	cr_assert(!r->timed_out, "hung; stdout: %s stderr: %s", r->out, r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "status %#x; stdout: %s stderr: %s", r->status, r->out, r->err);
	snprintf(want, sizeof want, "notice kind=%d how=panic reason=%s", SMARM_MSG_PANIC,
	         reason_prefix);
	cr_assert(strstr(r->out, want), "want \"%s\" on stdout; got: %s\nstderr: %s", want,
	          r->out, r->err);
	cr_assert(strstr(r->out, "from_victim=1"), "stdout: %s", r->out);
	cr_assert((t = strstr(r->out, "ticks_after=")) && sscanf(t, "ticks_after=%ld", &ticks) == 1);
	cr_assert_gt(ticks, 5, "the sibling stopped ticking after the fault: %s", r->out);
	snprintf(want, sizeof want, "cleanups=%d\n", cleanups);
	cr_assert(strstr(r->out, want), "want \"%s\"; stdout: %s", want, r->out);
	cr_assert(strstr(r->err, "smarm: actor "), "no report on stderr: %s", r->err);
	cr_assert_null(strstr(r->err, "inside the runtime"), "stderr: %s", r->err);
	return r;
}

Test(faults, null_dereference_is_the_actors_panic_and_a_sibling_runs_on)
{
	struct prog_result *r =
		fault_panics("null", "SIGSEGV (address not mapped) at address 0x0, pc 0x", 2);

	cr_assert(strstr(r->err, "(victim) crashed: SIGSEGV (address not mapped) at address "
	                         "0x0, pc 0x"), "stderr: %s", r->err);
	cr_assert(strstr(r->err, ": the actor panics"), "stderr: %s", r->err);
}

Test(faults, write_to_a_read_only_page_is_the_actors_panic)
{
	fault_panics("wild", "SIGSEGV (invalid permissions) at address 0x", 2);
}

Test(faults, division_by_zero_is_the_actors_panic_and_a_sibling_runs_on)
{
	fault_panics("div", "SIGFPE (integer divide by zero) at pc 0x", 2);
}

Test(faults, illegal_instruction_is_the_actors_panic)
{
	fault_panics("ill", "SIGILL (", 2);
}

Test(faults, overflow_skips_the_cleanup_handlers)
{
	fault_panics("overflow", "stack overflow: overflowed its 64 KiB stack (SIGSEGV at "
	                  "address 0x", 0);
}

Test(faults, a_fault_in_a_cleanup_handler_skips_the_rest_and_keeps_the_first_reason)
{
	struct prog_result *r = fault_panics("cleanup", "SIGSEGV (address not mapped) at "
	                                     "address 0x8, pc 0x", 1);

	cr_assert(strstr(r->out, "in a cleanup handler, while ending: first panic\n"),
	          "stdout: %s", r->out);
}

static void fault_aborts(const char *mode, int sig, const char *report)
{
	const char *argv[] = {"fault", mode, NULL};
	const char *envv[] = {"SMARM_FAULTS=abort", NULL};
	struct prog_result *r = prog_run(argv, envv, 20000);

	cr_assert(!r->timed_out, "hung; stdout: %s stderr: %s", r->out, r->err);
	cr_assert(WIFSIGNALED(r->status) && WTERMSIG(r->status) == sig,
	          "status %#x, want death by signal %d; stdout: %s stderr: %s", r->status, sig,
	          r->out, r->err);
	cr_assert_null(strstr(r->out, "notice"), "stdout: %s", r->out);
	cr_assert(strstr(r->err, report), "want \"%s\" on stderr; got: %s", report, r->err);
}

Test(faults, smarm_faults_abort_crashes_on_a_null_dereference)
{
	fault_aborts("null", SIGSEGV, "(victim) crashed: SIGSEGV (address not mapped) at "
	             "address 0x0");
}

Test(faults, smarm_faults_abort_crashes_on_a_division_by_zero)
{
	fault_aborts("div", SIGFPE, "(victim) crashed: SIGFPE (integer divide by zero)");
}

Test(faults, a_fault_inside_a_runtime_call_kills_the_process)
{
	const char *argv[] = {"fault", "runtime", NULL};
	const char *envv[] = {"SMARM_FAULTS", NULL};
	struct prog_result *r = prog_run(argv, envv, 20000);

	cr_assert(!r->timed_out, "hung; stdout: %s stderr: %s", r->out, r->err);
	cr_assert_null(strstr(r->out, "notice"), "survived a fault in the runtime: %s", r->out);
	cr_assert(WIFSIGNALED(r->status) ||
	          (WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0),
	          "status %#x", r->status);
	cr_assert(strstr(r->err, "inside the runtime; this is not recoverable"),
	          "stderr: %s", r->err);
}

/* ---- in this process ------------------------------------------------------- */

static int *volatile nowhere;
static _Atomic int sibling_ticks;

static void *null_loader(void *arg)
{
	int v;

	(void)arg;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(nowhere) : "memory");
	return (void *)(intptr_t)v;
}

static void *ticking(void *arg)
{
	(void)arg;
	while (smarm_sleep(SMARM_USEC(200)) == 0)
		sibling_ticks++;
	return NULL;
}

static void *root_faults_here(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t sib = rt_spawn(ticking, NULL, "ticking", 0);
	smarm_pid_t p = rt_spawn(null_loader, NULL, "loader", 0);
	int before;

	(void)arg;
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_PANIC);
	CHECK(strncmp(info.reason, "SIGSEGV (address not mapped) at address 0x0,", 44) == 0);
	CHECK_RC(smarm_join(p, NULL), -ESRCH); /* collected: the pid is stale */
	before = sibling_ticks;
	smarm_sleep(SMARM_MSEC(10));
	CHECK(sibling_ticks > before);
	CHECK_RC(smarm_kill(sib, NULL), 0);
	CHECK_RC(smarm_join(sib, NULL), -EOWNERDEAD);
	return NULL;
}

Test(faults, a_fault_in_an_actor_does_not_take_the_process_down)
{
	rt_run(root_faults_here, NULL, 2);
}

static volatile int zero;

static void *divider(void *arg)
{
	int q;

	(void)arg;
	__asm__ volatile("cltd\n\tidivl %[d]" : "=a"(q) : "0"(7), [d] "r"(zero) : "edx", "cc");
	return (void *)(intptr_t)q;
}

/* The handler does not leave the signal blocked (SA_NODEFER), so fault
 * after fault on one carrier is caught each time. */
static void *root_faults_again(void *arg)
{
	struct smarm_exit_info info;

	(void)arg;
	for (int i = 0; i < 20; i++) {
		smarm_pid_t p = rt_spawn(i % 2 ? divider : null_loader, NULL, "again", 0);
		CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
		CHECK(strncmp(info.reason, i % 2 ? "SIGFPE" : "SIGSEGV", 6) == 0);
	}
	return NULL;
}

Test(faults, fault_after_fault_on_one_carrier_is_caught_each_time)
{
	rt_run(root_faults_again, NULL, 1);
}
