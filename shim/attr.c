/* attr.c — what a green thread's attributes say: pthread_getattr_np of any
 * drop-in thread; and which attributes pthread_create honours.
 *
 * pthread_getattr_np reports what the program would see natively for a
 * thread made by glibc: the green stack (DESIGN D5: garbage collectors and
 * other runtimes scan it), the runtime's guard below it, the detach state,
 * and SCHED_OTHER / priority 0 / PTHREAD_INHERIT_SCHED, PTHREAD_SCOPE_SYSTEM
 * (green threads have no kernel scheduling of their own: sched_attr.c).
 * The attribute object is filled with glibc's own setters, so every
 * pthread_attr_get* reads it back.
 *
 * A stack the program supplies (pthread_attr_setstack) is honoured
 * (thread.c, runtime/stack.c's smarm__stack_adopt): getattr_np reports it
 * as given, with no guard, as glibc does.
 *
 * Attributes pthread_create cannot honour:
 *   - the guard size: every runtime stack has the fixed guard (16 KiB,
 *     smarm__stack_guard_size()); getattr_np reports that one;
 *   - scheduling policy, priority, affinity and the signal mask of the new
 *     thread: ignored (sched_attr.c says why), documented in LOOM.
 *
 * Switching: nothing here switches.
 */
#include <string.h>

#include "shim.h"

SMARM_API int pthread_getattr_np(pthread_t t, pthread_attr_t *attr)
{
	void *lo = NULL;
	size_t size = 0;
	int r;

	if (!smarm__shim_in_green())
		return smarm__real_pthread_getattr_np(t, attr);
	smarm__shim_stack_of(t, &lo, &size);
	if ((r = pthread_attr_init(attr)) != 0)
		return r;
	pthread_attr_setstack(attr, lo, size);
	pthread_attr_setguardsize(attr, smarm__shim_own_stack(t) ? 0 : smarm__stack_guard_size());
	pthread_attr_setdetachstate(attr, smarm__shim_detached(t) ? PTHREAD_CREATE_DETACHED
								   : PTHREAD_CREATE_JOINABLE);
	return 0;
}
