/* tid.c — thread ids for drop-in green threads: gettid() and
 * syscall(SYS_gettid) (the entry is shim/syscall_x86_64.S).
 *
 * Natively every thread has an id of its own, and programs rely on it:
 * per-thread tables keyed by gettid(), log lines, Python's
 * threading.get_native_id().  Green threads share their carriers' kernel
 * ids, so each gets the id its TCB already carries (tcb.c: 0x40000000 + n,
 * unique, above any pid_max, so never another task's), and main gets the
 * process id, as natively.  A program that passes such an id to the kernel
 * (tgkill, /proc/self/task/<id>, sched_setaffinity) gets ESRCH or ENOENT:
 * no kernel task is the green thread.  smarm's own code asks the kernel
 * (smarm__sys), never these.
 *
 * Never switch.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* libc's syscall(), once looked up (read by the .S entry). */
__attribute__((visibility("hidden"))) long (*smarm__syscall_libc)(long, ...);

static pid_t kernel_tid(void)
{
	return (pid_t)smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

/* The calling thread's id as the program should see it. */
static pid_t own_tid(void)
{
	int t;

	if (!smarm__shim_in_green())
		return kernel_tid();
	if (smarm__shim_is_main())
		return getpid();
	t = smarm__tcb_tid();
	return t > 0 ? t : kernel_tid();
}

SMARM_API pid_t gettid(void)
{
	return own_tid();
}

__attribute__((visibility("hidden"))) long smarm__syscall_gettid(void)
{
	return own_tid();
}

/* The first syscall() of the process: find libc's, then make the call.
 * Six arguments are forwarded, as many as a system call takes. */
__attribute__((visibility("hidden"))) long smarm__syscall_first(long nr, long a, long b, long c,
								 long d, long e, long f)
{
	long (*real)(long, ...) = smarm__real("syscall");

	__atomic_store_n(&smarm__syscall_libc, real, __ATOMIC_RELAXED);
	return real(nr, a, b, c, d, e, f);
}

/* For the runtime's own syscall() calls (preload/real.syms renames them
 * here): always libc's, never the green view. */
long smarm__real_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	long (*real)(long, ...) = __atomic_load_n(&smarm__syscall_libc, __ATOMIC_RELAXED);

	if (!real)
		return smarm__syscall_first(nr, a, b, c, d, e, f);
	return real(nr, a, b, c, d, e, f);
}
