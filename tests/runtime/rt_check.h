/* rt_check.h — checks made inside actors, and running a root actor.
 *
 * Criterion's cr_assert longjmps back into the test's frame when it fails;
 * from an actor that frame is on another stack, possibly on another OS
 * thread, so a failing cr_assert there would crash instead of report.
 * Inside actors, use CHECK()/CHECK_EQ(): a failure is counted and the first
 * one's message kept; rt_run() asserts afterwards, on the test's own stack,
 * that no check failed.
 */
#ifndef SMARM_TEST_RT_CHECK_H
#define SMARM_TEST_RT_CHECK_H

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "smarm.h"

/* Under sanitizers everything is several times slower: scale big loops. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RT_SCALE 10
#else
#define RT_SCALE 1
#endif

static _Atomic int check_failures;
static char check_first[512];

__attribute__((format(printf, 3, 4), unused)) static void
check_fail(const char *file, int line, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (atomic_fetch_add(&check_failures, 1) == 0)
		snprintf(check_first, sizeof check_first, "%s:%d: %s", file, line, buf);
	fprintf(stderr, "CHECK failed at %s:%d: %s\n", file, line, buf);
}

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			check_fail(__FILE__, __LINE__, "%s", #cond);         \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_)                                    \
			check_fail(__FILE__, __LINE__,                       \
			           "%s == %s: %lld != %lld", #a, #b, check_a_,   \
			           check_b_);                                    \
	} while (0)

/* A readable name for a smarm return code. */
__attribute__((unused)) static const char *rc_name(int rc)
{
	switch (rc) {
	case 0: return "0";
	case -ESRCH: return "-ESRCH";
	case -EDEADLK: return "-EDEADLK";
	case -EINVAL: return "-EINVAL";
	case -ETIMEDOUT: return "-ETIMEDOUT";
	case -EPERM: return "-EPERM";
	case -EBUSY: return "-EBUSY";
	case -EAGAIN: return "-EAGAIN";
	case -ENOMEM: return "-ENOMEM";
	default: return "other";
	}
}

#define CHECK_RC(call, want)                                                 \
	do {                                                                 \
		int check_rc_ = (call);                                      \
		if (check_rc_ != (want))                                     \
			check_fail(__FILE__, __LINE__, "%s gave %d (%s), want %s", \
			           #call, check_rc_, rc_name(check_rc_), #want); \
	} while (0)

/* Run root(arg) on `carriers` carriers (0: default); assert the run and
 * every CHECK succeeded; return the root's exit value. */
__attribute__((unused)) static void *rt_run(smarm_fn root, void *arg, int carriers)
{
	struct smarm_config cfg = {.carriers = carriers};
	void *result = (void *)0xbadbadbad;
	int rc = smarm_run(root, arg, &cfg, &result);

	cr_assert_eq(rc, 0, "smarm_run gave %d (%s)", rc, rc_name(rc));
	cr_assert_eq(atomic_load(&check_failures), 0, "%d checks failed; first: %s",
	             atomic_load(&check_failures), check_first);
	return result;
}

/* Spawn with a name and flags; CHECK that it worked.  Returns the pid. */
#define rt_spawn(fn, arg, name, flags)                                       \
	rt_spawn_at(__FILE__, __LINE__, fn, arg, name, flags)
__attribute__((unused)) static smarm_pid_t rt_spawn_at(const char *file, int line,
                                                       smarm_fn fn, void *arg,
                                                       const char *name,
                                                       unsigned flags)
{
	struct smarm_spawn_opts o = {.name = name, .flags = flags};
	smarm_pid_t pid = 0;
	int rc = smarm_spawn(&pid, fn, arg, &o);

	if (rc != 0)
		check_fail(file, line, "smarm_spawn gave %d (%s)", rc, rc_name(rc));
	else if (pid == 0)
		check_fail(file, line, "smarm_spawn gave pid 0");
	return pid;
}

/* Join and CHECK that it worked; returns the exit value. */
#define rt_join(pid) rt_join_at(__FILE__, __LINE__, pid)
__attribute__((unused)) static void *rt_join_at(const char *file, int line,
                                               smarm_pid_t pid)
{
	void *v = (void *)0xbadbadbad;
	int rc = smarm_join(pid, &v);

	if (rc != 0)
		check_fail(file, line, "smarm_join gave %d (%s)", rc, rc_name(rc));
	return v;
}

#endif
