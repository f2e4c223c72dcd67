/* unsupported.c — pthread (and related) functions the drop-in shim does not
 * implement yet.  Each is interposed so that a program calling it stops at
 * once with "smarm: <name> is not supported yet under the preload" instead
 * of running glibc's version against a green thread (glibc's would act on
 * the carrier OS thread, or on an object whose bytes the shim owns).
 *
 * No pthread headers here: the definitions take no arguments on purpose
 * (they only abort), and the prototypes in <pthread.h> would not match.
 */
__attribute__((noreturn)) void smarm__shim_unsupported(const char *fn);

#define UNSUPPORTED(name)                                                      \
	__attribute__((visibility("default"), noreturn)) void name(void);      \
	void name(void)                                                        \
	{                                                                      \
		smarm__shim_unsupported(#name);                                \
	}

/* Robust mutexes are refused at init, so nothing can need this. */
UNSUPPORTED(pthread_mutex_consistent)
UNSUPPORTED(pthread_mutex_consistent_np)
/* Named semaphores: a file in /dev/shm that other processes may map; the
 * runtime's semaphores cannot wake a waiter in another process. */
UNSUPPORTED(sem_open)
UNSUPPORTED(sem_close)
UNSUPPORTED(sem_unlink)

/* Not unsupported: the deprecated pthread_yield, for binaries built before
 * <pthread.h> redirected it to sched_yield (defined here, away from that
 * header, for the same reason). */
int sched_yield(void);
__attribute__((visibility("default"))) int pthread_yield(void);
int pthread_yield(void)
{
	return sched_yield();
}
