/* sleep.c — the sleep family and sched_yield: a green thread parks (its
 * carrier runs other threads) instead of putting the OS thread to sleep.
 * Any other caller (a carrier, code before main) gets libc's.
 *
 * sleep and usleep are wrapped themselves: glibc's call its internal
 * nanosleep, which no wrapper sees (DESIGN D3).  A parked sleep is
 * interruptible (signal.c): a signal whose handler runs on this thread
 * ends it with EINTR and the time left in *rem (sleep() returns the
 * whole seconds left, as glibc's), whatever SA_RESTART says, as
 * natively.  The sleep calls are cancellation points (cancel.c);
 * sched_yield is not.  Every call here may switch.
 */
#include <unistd.h>

#include "shim.h"

/* Park until the absolute deadline (ns).  0, or EINTR: a signal (*at is
 * when it came), or the thread is being stopped.  A cancellation point: a
 * pthread_cancel cuts the park short and acts here (never returns then). */
static int park_until(int64_t deadline, int64_t *at)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__intr w;
	bool cp = smarm__shim_cancel_begin();
	intptr_t r;

	*at = 0;
	/* >= 0: a wake that was not for us (the timer is still set). */
	while ((r = smarm__shim_park_intr(&w, deadline, ~self->sigmask, 0)) >= 0)
		;
	smarm__shim_cancel_end(cp);
	if (r == -ETIMEDOUT)
		return 0;
	if (r == -EINTR) {
		*at = w.when;
		return EINTR;
	}
	if (r == -ECANCELED) {
		smarm__shim_testcancel();  /* a pthread_cancel: ends the thread */
		smarm__exit_point(self);   /* asked to stop: end here */
	}
	/* -ENOMEM from the timer: nothing to wait on. */
	return EINTR;
}

/* The time left at `at` (0: now). */
static void left(int64_t deadline, int64_t at, struct timespec *rem)
{
	int64_t d = deadline - (at ? at : smarm__now());

	if (d < 0)
		d = 0;
	rem->tv_sec = d / 1000000000;
	rem->tv_nsec = d % 1000000000;
}

/* A green thread that may park here.  Not one whose signal handler runs
 * while the thread is half-way into a park of the runtime's (its state is
 * no longer RUNNING): nanosleep is async-signal-safe, so the handler gets
 * the real one, which holds the carrier for the sleep. */
static bool can_park(void)
{
	struct smarm__actor *self;

	return smarm__shim_in_green() && (self = smarm__self()) &&
	       atomic_load_explicit(&self->state, memory_order_relaxed) == SMARM__RUNNING;
}

static bool bad_ts(const struct timespec *ts)
{
	return ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000;
}

SMARM_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int64_t deadline, at;

	if (!can_park())
		return smarm__real_nanosleep(req, rem);
	smarm__shim_testcancel();
	if (bad_ts(req)) {
		errno = EINVAL;
		return -1;
	}
	deadline = smarm__deadline((int64_t)req->tv_sec * 1000000000 + req->tv_nsec);
	if (deadline != 0 && park_until(deadline, &at) != 0) {
		if (rem)
			left(deadline, at, rem);
		errno = EINTR;
		return -1;
	}
	if (rem)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

SMARM_API int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	int64_t ns, deadline, at;

	if (!can_park())
		return smarm__real_clock_nanosleep(clk, flags, req, rem);
	smarm__shim_testcancel();
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
	    clk != CLOCK_TAI)
		smarm__shim_unsupported("clock_nanosleep on this clock");
	if (bad_ts(req))
		return EINVAL;
	ns = (flags & TIMER_ABSTIME) ? smarm__shim_rel_ns(clk, req)
				     : (int64_t)req->tv_sec * 1000000000 + req->tv_nsec;
	deadline = smarm__deadline(ns);
	if (ns > 0 && park_until(deadline, &at) != 0) {
		if (rem && !(flags & TIMER_ABSTIME))
			left(deadline, at, rem);
		return EINTR;
	}
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
	struct timespec ts = {s, 0}, rem;

	if (nanosleep(&ts, &rem) == 0)
		return 0;
	/* glibc returns the whole seconds left. */
	return (unsigned int)rem.tv_sec;
}

SMARM_API int sched_yield(void)
{
	if (!smarm__shim_in_green())
		return smarm__real_sched_yield();
	smarm_yield();
	return 0;
}
