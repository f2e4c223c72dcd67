/* api_errors.c — bad input to the calls this shim added or changed, and
 * their edge cases: the error codes must be glibc's. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

static const char *e(int r)
{
	return r == 0 ? "0" : r == EINVAL ? "EINVAL" : r == EPERM ? "EPERM"
	       : r == EDEADLK ? "EDEADLK" : r == ESRCH ? "ESRCH" : strerror(r);
}

static void *ret(void *a)
{
	return a;
}

static void *checks(void *a)
{
	struct sched_param p = {0};
	int old = -1;
	mtx_t m;

	(void)a;
	printf("setcancelstate(42): %s\n", e(pthread_setcancelstate(42, &old)));
	printf("setcanceltype(42): %s\n", e(pthread_setcanceltype(42, &old)));
	printf("old untouched: %d\n", old);
	printf("setschedparam(policy 42): %s\n", e(pthread_setschedparam(pthread_self(), 42, &p)));
	printf("setschedprio(7): %s\n", e(pthread_setschedprio(pthread_self(), 7)));
	/* glibc makes an unknown type a plain mutex. */
	printf("mtx_init(type 42): %s\n", mtx_init(&m, 42) == thrd_success ? "thrd_success" : "?");
	printf("  relock by trylock: %s\n", mtx_trylock(&m) == thrd_success &&
	       mtx_trylock(&m) == thrd_busy ? "thrd_busy" : "?");
	mtx_unlock(&m);
	printf("join self: %s\n", e(pthread_join(pthread_self(), NULL)));
	/* Disabled: a self-cancel waits; the thread returns normally. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cancel(pthread_self());
	pthread_testcancel();
	return (void *)11;
}

int main(void)
{
	pthread_attr_t a;
	pthread_t t;
	void *v;
	char *stack = aligned_alloc(4096, PTHREAD_STACK_MIN);

	pthread_create(&t, NULL, checks, NULL);
	pthread_join(t, &v);
	printf("disabled self-cancel, returned: %ld\n", (long)v);
	/* The smallest stack glibc accepts from the program. */
	pthread_attr_init(&a);
	printf("setstack(PTHREAD_STACK_MIN): %s\n",
	       e(pthread_attr_setstack(&a, stack, PTHREAD_STACK_MIN)));
	printf("create on it: %s\n", e(pthread_create(&t, &a, ret, (void *)4)));
	pthread_join(t, &v);
	printf("value %ld\n", (long)v);
	pthread_attr_destroy(&a);
	free(stack);
	return 0;
}
