/* test_lsan_runner.c — no tests: a sanitizer setting for the whole test
 * binary.
 *
 * Criterion 2.4.1's runner process (the one that starts and watches the test
 * workers) leaks some of its own bookkeeping when tests run in parallel
 * (48-byte callocs inside libcriterion, a handful per run), and
 * LeakSanitizer then makes the runner exit non-zero although every test
 * passed.  A suppression cannot single those out: every worker's
 * allocations have libcriterion frames below them too, so
 * "leak:libcriterion.so" would hide real leaks in tests.  Instead the
 * runner stops tracking its own allocations before it starts any test
 * (PRE_ALL hooks run in the runner only); the workers, where all test and
 * runtime code runs, are fresh processes with leak detection on.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	__lsan_disable();
}
#endif
