/* alias.c — the double-underscore names glibc still exports for the
 * pthread calls (__pthread_key_create, the default version since 2.34,
 * which libstdc++ probes; __pthread_mutex_lock & co., compat versions that
 * binaries linked against LinuxThreads-era libraries reference): each is
 * the shim's pthread function under its other name, so no call reaches
 * glibc's version on a green thread.  The __pthread_mutexattr_* aliases
 * are pure data and stay glibc's.
 *
 * Switching: as the function each aliases.
 */
#include "shim.h"

/* Define name(params) as a tail call of target(args). */
#define ALIAS(ret, name, target, params, args) \
	SMARM_API ret name params;             \
	SMARM_API ret name params              \
	{                                      \
		return target args;            \
	}

ALIAS(int, __pthread_key_create, pthread_key_create,
      (pthread_key_t *k, void (*d)(void *)), (k, d))
ALIAS(void *, __pthread_getspecific, pthread_getspecific, (pthread_key_t k), (k))
ALIAS(int, __pthread_setspecific, pthread_setspecific, (pthread_key_t k, const void *v),
      (k, v))
ALIAS(int, __pthread_once, pthread_once, (pthread_once_t *o, void (*f)(void)), (o, f))
ALIAS(int, __pthread_mutex_init, pthread_mutex_init,
      (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a))
ALIAS(int, __pthread_mutex_destroy, pthread_mutex_destroy, (pthread_mutex_t *m), (m))
ALIAS(int, __pthread_mutex_lock, pthread_mutex_lock, (pthread_mutex_t *m), (m))
ALIAS(int, __pthread_mutex_trylock, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
ALIAS(int, __pthread_mutex_unlock, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
ALIAS(int, __pthread_rwlock_init, pthread_rwlock_init,
      (pthread_rwlock_t *l, const pthread_rwlockattr_t *a), (l, a))
ALIAS(int, __pthread_rwlock_destroy, pthread_rwlock_destroy, (pthread_rwlock_t *l), (l))
ALIAS(int, __pthread_rwlock_rdlock, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
ALIAS(int, __pthread_rwlock_wrlock, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
ALIAS(int, __pthread_rwlock_tryrdlock, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l))
ALIAS(int, __pthread_rwlock_trywrlock, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l))
ALIAS(int, __pthread_rwlock_unlock, pthread_rwlock_unlock, (pthread_rwlock_t *l), (l))
