/* sleep.c — the sleep family and sched_yield: a green thread parks (its
 * carrier runs other threads) instead of putting the OS thread to sleep.
 * Any other caller (a carrier, code before main) gets libc's.
 *
 * sleep and usleep are wrapped themselves: glibc's call its internal
 * nanosleep, which no wrapper sees (DESIGN D3).  Signals do not interrupt
 * a parked sleep (no EINTR; *rem is 0).  The sleep calls are cancellation
 * points (cancel.c); sched_yield is not.  Every call here may switch.
 */
#include <unistd.h>

#include "shim.h"

/* Park for ns: a cancellation point (cancel.c).  0, or EINTR if woken
 * otherwise.  Not smarm_sleep: that is a runtime exit point, where a
 * pthread_cancel's stop request would end the thread without its cleanup
 * handlers. */
static int park_ns(int64_t ns)
{
	struct smarm__actor *self = smarm__self();
	intptr_t r;
	bool cp;

	smarm__shim_testcancel();
	if (ns <= 0) {
		smarm_yield();
		return 0;
	}
	cp = smarm__shim_cancel_begin();
	smarm__wait_prepare(self, "sleep", NULL);
	r = smarm__park(smarm__deadline(ns));
	smarm__shim_cancel_end(cp);
	if (r == -ECANCELED)
		smarm__shim_testcancel();
	return r == -ETIMEDOUT ? 0 : EINTR;
}

static bool bad_ts(const struct timespec *ts)
{
	return ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000;
}

SMARM_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int r;

	if (!smarm__shim_in_green())
		return smarm__real_nanosleep(req, rem);
	if (bad_ts(req)) {
		errno = EINVAL;
		return -1;
	}
	if ((r = park_ns((int64_t)req->tv_sec * 1000000000 + req->tv_nsec)) != 0) {
		errno = r;
		return -1;
	}
	if (rem)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

SMARM_API int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	int64_t ns;

	if (!smarm__shim_in_green())
		return smarm__real_clock_nanosleep(clk, flags, req, rem);
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
	    clk != CLOCK_TAI)
		smarm__shim_unsupported("clock_nanosleep on this clock");
	if (bad_ts(req))
		return EINVAL;
	ns = (flags & TIMER_ABSTIME) ? smarm__shim_rel_ns(clk, req)
				     : (int64_t)req->tv_sec * 1000000000 + req->tv_nsec;
	if (ns <= 0)
		smarm__shim_testcancel();
	else if (park_ns(ns) != 0)
		return EINTR;
	if (rem && !(flags & TIMER_ABSTIME))
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

SMARM_API int usleep(useconds_t us)
{
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
	return nanosleep(&ts, NULL);
}

SMARM_API unsigned int sleep(unsigned int s)
{
	struct timespec ts = {s, 0};
	return nanosleep(&ts, NULL) == 0 ? 0 : s;
}

SMARM_API int sched_yield(void)
{
	if (!smarm__shim_in_green())
		return smarm__real_sched_yield();
	smarm_yield();
	return 0;
}
