/* sched_attr.c — per-thread scheduling, affinity and CPU clocks of drop-in
 * green threads: pthread_{get,set}affinity_np, pthread_{get,set}schedparam,
 * pthread_setschedprio, pthread_getcpuclockid.
 *
 * A green thread has no kernel thread of its own: it runs on whichever
 * carrier picks it, with the carriers' (SCHED_OTHER) policy.  So:
 *   - getaffinity reports the process's mask (the CPUs the carriers may
 *     use: sched_getaffinity of the process), which is what a thread that
 *     never pinned itself reports natively;
 *   - setaffinity checks its arguments as the kernel does (EINVAL for a
 *     mask with no CPU the process may use, or one too small) and then
 *     does not pin: the thread keeps running on any carrier.  Documented
 *     in LOOM; pinning is a performance hint on Linux, never a correctness
 *     one, and aborting would stop programs that only tune;
 *   - every green thread is SCHED_OTHER, priority 0: setschedparam accepts
 *     exactly that (and EINVAL for a priority outside SCHED_OTHER's 0..0,
 *     as the kernel), and answers EPERM for every other policy — as the
 *     kernel does for an unprivileged process, and, unlike natively, even
 *     for root: real-time priority for one green thread cannot be had;
 *     setschedprio accepts 0 and answers EINVAL otherwise;
 *   - pthread_getcpuclockid gives CLOCK_PROCESS_CPUTIME_ID: the runtime
 *     does not account CPU time per green thread, and the process's CPU
 *     time is an upper bound of the thread's (documented in LOOM: a
 *     program that divides work by its thread's CPU time sees the sum).
 * Callers that are not green threads get glibc's.
 *
 * Switching: nothing here switches.
 */
#include <sched.h>
#include <unistd.h>

#include "shim.h"

typedef int (*affinity_fn)(pthread_t, size_t, cpu_set_t *);

static int real_affinity(const char *name, pthread_t t, size_t n, cpu_set_t *set)
{
	return ((affinity_fn)smarm__real(name))(t, n, set);
}

SMARM_API int pthread_getaffinity_np(pthread_t t, size_t n, cpu_set_t *set)
{
	if (!smarm__shim_in_green())
		return real_affinity("pthread_getaffinity_np", t, n, set);
	/* The kernel fills what it has and glibc zeroes the rest. */
	if (sched_getaffinity(getpid(), n, set) != 0)
		return errno;
	return 0;
}

SMARM_API int pthread_setaffinity_np(pthread_t t, size_t n, const cpu_set_t *set)
{
	cpu_set_t mine;

	if (!smarm__shim_in_green())
		return real_affinity("pthread_setaffinity_np", t, n, (cpu_set_t *)set);
	if (sched_getaffinity(getpid(), sizeof mine, &mine) != 0)
		return errno;
	/* As the kernel: EINVAL unless the mask has a CPU we may run on. */
	for (size_t cpu = 0; cpu < n * 8 && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET_S(cpu, n, set) && CPU_ISSET(cpu, &mine))
			return 0;
	return EINVAL;
}

SMARM_API int pthread_getschedparam(pthread_t t, int *policy, struct sched_param *p)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pthread_getschedparam)(t, policy, p);
	*policy = SCHED_OTHER;
	p->sched_priority = 0;
	return 0;
}

SMARM_API int pthread_setschedparam(pthread_t t, int policy, const struct sched_param *p)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pthread_setschedparam)(t, policy, p);
	if (policy != SCHED_OTHER && policy != SCHED_FIFO && policy != SCHED_RR &&
	    policy != SCHED_BATCH && policy != SCHED_IDLE)
		return EINVAL;
	if (policy != SCHED_OTHER)
		return EPERM;
	return p->sched_priority == 0 ? 0 : EINVAL;
}

SMARM_API int pthread_setschedprio(pthread_t t, int prio)
{
	if (!smarm__shim_in_green())
		return REAL_FN(pthread_setschedprio)(t, prio);
	return prio == 0 ? 0 : EINVAL;
}

SMARM_API int pthread_getcpuclockid(pthread_t t, clockid_t *clk)
{
	if (!smarm__shim_in_green())
		return smarm__real_pthread_getcpuclockid(t, clk);
	*clk = CLOCK_PROCESS_CPUTIME_ID;
	return 0;
}
