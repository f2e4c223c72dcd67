/* c11.c — C11 <threads.h> on drop-in green threads: thrd_*, mtx_*, cnd_*,
 * tss_*, call_once, each over the shim's pthread function (glibc's own
 * versions call its internal pthread functions directly, which no wrapper
 * sees: a thrd_create would make a kernel thread with no green identity,
 * and mtx_lock would block its carrier).  The objects are the pthread ones
 * (mtx_t is a pthread_mutex_t, cnd_t a pthread_cond_t, tss_t a key,
 * once_flag a pthread_once_t), and the error mapping is glibc's: 0 ->
 * thrd_success, ENOMEM -> thrd_nomem, EBUSY -> thrd_busy, ETIMEDOUT ->
 * thrd_timedout, anything else -> thrd_error.
 *
 * Switching: as the pthread call each maps to.
 */
#include <threads.h>

#include "shim.h"

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t");
_Static_assert(sizeof(tss_t) == sizeof(pthread_key_t), "tss_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag");

static int thrd_err(int e)
{
	switch (e) {
	case 0: return thrd_success;
	case ENOMEM: return thrd_nomem;
	case EBUSY: return thrd_busy;
	case ETIMEDOUT: return thrd_timedout;
	default: return thrd_error;
	}
}

SMARM_API int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
	/* As glibc: the int-returning function runs as a pthread start
	 * routine and join truncates its result back to int. */
	return thrd_err(pthread_create((pthread_t *)t, NULL,
				       (void *(*)(void *))(void (*)(void))fn, arg));
}

SMARM_API thrd_t thrd_current(void)
{
	return (thrd_t)pthread_self();
}

SMARM_API int thrd_equal(thrd_t a, thrd_t b)
{
	return a == b;
}

SMARM_API int thrd_sleep(const struct timespec *req, struct timespec *rem)
{
	if (nanosleep(req, rem) == 0)
		return 0;
	return errno == EINTR ? -1 : -2;
}

SMARM_API void thrd_yield(void)
{
	sched_yield();
}

SMARM_API _Noreturn void thrd_exit(int res)
{
	pthread_exit((void *)(intptr_t)res);
}

SMARM_API int thrd_detach(thrd_t t)
{
	return thrd_err(pthread_detach((pthread_t)t));
}

SMARM_API int thrd_join(thrd_t t, int *res)
{
	void *v;
	int r = pthread_join((pthread_t)t, &v);

	if (r == 0 && res)
		*res = (int)(intptr_t)v;
	return thrd_err(r);
}

SMARM_API int mtx_init(mtx_t *m, int type)
{
	pthread_mutexattr_t a;
	int r;

	/* As glibc 2.36: exactly the two recursive combinations are
	 * recursive; anything else, unknown values included, is plain. */
	pthread_mutexattr_init(&a);
	if (type == (mtx_plain | mtx_recursive) || type == (mtx_timed | mtx_recursive))
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	r = pthread_mutex_init((pthread_mutex_t *)m, &a);
	pthread_mutexattr_destroy(&a);
	return thrd_err(r);
}

SMARM_API int mtx_lock(mtx_t *m)
{
	return thrd_err(pthread_mutex_lock((pthread_mutex_t *)m));
}

SMARM_API int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
	return thrd_err(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}

SMARM_API int mtx_trylock(mtx_t *m)
{
	return thrd_err(pthread_mutex_trylock((pthread_mutex_t *)m));
}

SMARM_API int mtx_unlock(mtx_t *m)
{
	return thrd_err(pthread_mutex_unlock((pthread_mutex_t *)m));
}

SMARM_API void mtx_destroy(mtx_t *m)
{
	pthread_mutex_destroy((pthread_mutex_t *)m);
}

SMARM_API int cnd_init(cnd_t *c)
{
	return thrd_err(pthread_cond_init((pthread_cond_t *)c, NULL));
}

SMARM_API int cnd_signal(cnd_t *c)
{
	return thrd_err(pthread_cond_signal((pthread_cond_t *)c));
}

SMARM_API int cnd_broadcast(cnd_t *c)
{
	return thrd_err(pthread_cond_broadcast((pthread_cond_t *)c));
}

SMARM_API int cnd_wait(cnd_t *c, mtx_t *m)
{
	return thrd_err(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

SMARM_API int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
			    const struct timespec *restrict ts)
{
	return thrd_err(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}

SMARM_API void cnd_destroy(cnd_t *c)
{
	pthread_cond_destroy((pthread_cond_t *)c);
}

SMARM_API int tss_create(tss_t *k, tss_dtor_t dtor)
{
	return thrd_err(pthread_key_create((pthread_key_t *)k, dtor));
}

SMARM_API void *tss_get(tss_t k)
{
	return pthread_getspecific(k);
}

SMARM_API int tss_set(tss_t k, void *v)
{
	return thrd_err(pthread_setspecific(k, v));
}

SMARM_API void tss_delete(tss_t k)
{
	pthread_key_delete(k);
}

SMARM_API void call_once(once_flag *o, void (*fn)(void))
{
	pthread_once((pthread_once_t *)o, fn);
}
