/* c11_threads.c — C11 <threads.h>: thrd_create/join with int results,
 * mtx (plain, recursive, timed), cnd hand-off, tss destructors,
 * call_once, thrd_sleep, thrd_current/equal. */
#include <stdio.h>
#include <threads.h>
#include <time.h>

static mtx_t m, r;
static cnd_t c;
static tss_t key;
static once_flag once = ONCE_FLAG_INIT;
static int ready, onces, dtors;

static void init(void)
{
	onces++;
}

static void dtor(void *v)
{
	(void)v;
	mtx_lock(&m);
	dtors++;
	mtx_unlock(&m);
}

static int worker(void *arg)
{
	struct timespec ts = {0, 1000000};

	call_once(&once, init);
	tss_set(key, arg);
	thrd_sleep(&ts, NULL);
	mtx_lock(&m);
	ready++;
	cnd_signal(&c);
	mtx_unlock(&m);
	return (int)(long)arg * 10;
}

int main(void)
{
	thrd_t t[4];
	int sum = 0, res;

	mtx_init(&m, mtx_plain);
	mtx_init(&r, mtx_timed | mtx_recursive);
	cnd_init(&c);
	tss_create(&key, dtor);
	for (long i = 0; i < 4; i++)
		thrd_create(&t[i], worker, (void *)(i + 1));
	mtx_lock(&m);
	while (ready < 4)
		cnd_wait(&c, &m);
	mtx_unlock(&m);
	for (int i = 0; i < 4; i++) {
		thrd_join(t[i], &res);
		sum += res;
	}
	printf("sum of results %d, once %d, destructors %d\n", sum, onces, dtors);
	printf("recursive: %d %d %d %d\n", mtx_lock(&r), mtx_trylock(&r), mtx_unlock(&r),
	       mtx_unlock(&r));
	printf("current equals itself: %d\n", thrd_equal(thrd_current(), thrd_current()) != 0);
	mtx_destroy(&m);
	mtx_destroy(&r);
	cnd_destroy(&c);
	tss_delete(key);
	return 0;
}
