/* cancel.c — deferred cancellation at cond_wait, sleep, join and sem_wait,
 * cleanup handlers in order (with the cond's mutex held), disabled then
 * enabled cancellation, pthread_exit running handlers before key
 * destructors, cleanup_pop(1)/pop(0), a pending cancel that is never acted
 * upon, self-cancel, turning asynchronous with a cancel pending (acts at
 * once), and cancel of a thread that has already ended. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t ready, go, never;
static pthread_key_t key;

static void say(void *s)
{
	printf("  handler %s\n", (const char *)s);
}

static void unlock(void *p)
{
	printf("  handler unlock (mutex held: %s)\n",
	       pthread_mutex_trylock(p) == 0 ? "no" : "yes");
	pthread_mutex_unlock(p);
}

static void *in_cond(void *a)
{
	(void)a;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock, &m);
	pthread_cleanup_push(say, "cond-inner");
	sem_post(&ready);
	for (;;)
		pthread_cond_wait(&cv, &m);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_sleep(void *a)
{
	(void)a;
	pthread_cleanup_push(say, "sleep-outer");
	pthread_cleanup_push(say, "sleep-inner");
	sem_post(&ready);
	for (;;)
		sleep(100);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_sem(void *a)
{
	(void)a;
	pthread_cleanup_push(say, "sem");
	sem_post(&ready);
	sem_wait(&never);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_join(void *a)
{
	pthread_cleanup_push(say, "join");
	sem_post(&ready);
	pthread_join(*(pthread_t *)a, NULL);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *disabled(void *a)
{
	int old;
	(void)a;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	printf("  old state enabled: %s\n", old == PTHREAD_CANCEL_ENABLE ? "yes" : "no");
	pthread_cleanup_push(say, "disabled");
	sem_post(&ready);
	sem_wait(&go);      /* a cancellation point, but disabled */
	usleep(1000);       /* likewise */
	printf("  still running while disabled\n");
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	printf("  enabled again\n");
	pthread_testcancel();
	printf("  not reached\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *never_acted(void *a)
{
	(void)a;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	sem_post(&ready);
	sem_wait(&go);
	return (void *)7;
}

static void dtor(void *v)
{
	printf("  key destructor %s\n", (const char *)v);
}

static void *exits(void *a)
{
	(void)a;
	pthread_setspecific(key, "exits");
	pthread_cleanup_push(say, "exit-outer");
	pthread_cleanup_push(say, "pop(1) runs");
	pthread_cleanup_pop(1);
	pthread_cleanup_push(say, "pop(0) does not run");
	pthread_cleanup_pop(0);
	pthread_cleanup_push(say, "exit-inner");
	pthread_exit((void *)42);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *self_cancel(void *a)
{
	(void)a;
	pthread_cleanup_push_defer_np(say, "self");
	pthread_cancel(pthread_self());
	printf("  self: still running after pthread_cancel(self)\n");
	pthread_testcancel();
	pthread_cleanup_pop_restore_np(0);
	return NULL;
}

static void *turns_async(void *a)
{
	(void)a;
	pthread_cleanup_push(say, "async");
	pthread_cancel(pthread_self());
	printf("  async: deferred, still running\n");
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	printf("  async: not reached\n");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *quick(void *a)
{
	return a;
}

static void show(const char *what, pthread_t t)
{
	void *v;
	int r = pthread_join(t, &v);

	if (v == PTHREAD_CANCELED)
		printf("%s: join %d, PTHREAD_CANCELED\n", what, r);
	else
		printf("%s: join %d, value %ld\n", what, r, (long)v);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) != 0)
		abort();
	sem_wait(&ready);
}

int main(void)
{
	pthread_t t, u;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	sem_init(&never, 0, 0);
	pthread_key_create(&key, dtor);

	start(&t, in_cond, NULL);
	r = pthread_cancel(t); /* printed after the join: the handlers print */
	show("cond_wait", t);
	printf("pthread_cancel returned %d\n", r);
	printf("mutex free after: %s\n", pthread_mutex_trylock(&m) == 0 ? "yes" : "no");
	pthread_mutex_unlock(&m);

	start(&t, in_sleep, NULL);
	pthread_cancel(t);
	show("sleep", t);

	start(&u, in_sem, NULL);
	start(&t, in_join, &u);
	pthread_cancel(t);
	show("join", t);
	pthread_cancel(u);
	show("sem_wait", u);

	start(&t, disabled, NULL);
	pthread_cancel(t);
	sem_post(&go);
	show("disabled then enabled", t);

	start(&t, never_acted, NULL);
	pthread_cancel(t);
	sem_post(&go);
	show("cancel never acted upon", t);

	pthread_create(&t, NULL, exits, NULL);
	show("pthread_exit", t);

	pthread_create(&t, NULL, self_cancel, NULL);
	show("self-cancel", t);

	pthread_create(&t, NULL, turns_async, NULL);
	show("turning asynchronous with a cancel pending", t);

	pthread_create(&t, NULL, quick, (void *)5);
	usleep(20000);
	printf("cancel of an ended thread: %d\n", pthread_cancel(t));
	show("ended", t);
	return 0;
}
