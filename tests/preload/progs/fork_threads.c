/* fork() from a thread while other threads run and wait: the child keeps
 * only the forking thread, and its threads, sleeps, locks and joins work;
 * it exits with a status the parent checks; a spinning thread is preempted.  A thread blocked in the parent
 * (cond wait) never runs in the child even when the child signals it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, counter, waiting;

static void *waiter(void *a)
{
	pthread_mutex_lock(&mu);
	waiting++;
	pthread_cond_broadcast(&cv);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* Unbuffered: a copy that ran in the child would show. */
	dprintf(1, "waiter %ld woke\n", (long)a);
	return NULL;
}

static void *child_worker(void *a)
{
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&mu);
	counter += (int)(long)a;
	pthread_mutex_unlock(&mu);
	return (void *)((long)a * 2);
}

static volatile int spin_stop;

static void *spinner(void *a)
{
	while (!spin_stop)
		; /* never parks: only preemption lets the others run */
	return a;
}

static int child_main(void)
{
	pthread_t t[8], sp;
	long sum = 0;

	/* Wake the parent's waiters' copies: they do not exist here. */
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < 8; i++)
		if (pthread_create(&t[i], NULL, child_worker, (void *)(i + 1)) != 0)
			return 90;
	for (int i = 0; i < 8; i++) {
		void *v;
		if (pthread_join(t[i], &v) != 0)
			return 91;
		sum += (long)v;
	}
	/* The child's runtime preempts (its monitor runs): with one carrier
	 * this sleep only ends because the spinner is preempted. */
	pthread_create(&sp, NULL, spinner, NULL);
	usleep(20000);
	spin_stop = 1;
	pthread_join(sp, NULL);
	/* 1+..+8 = 36, and twice that from the joins. */
	return counter == 36 && sum == 72 ? 42 : 92;
}

static void *forker(void *a)
{
	pid_t c;
	int st;

	(void)a;
	fflush(stdout);
	if ((c = fork()) == 0) {
		int r = child_main();
		fflush(stdout);
		_exit(r);
	}
	if (c < 0 || waitpid(c, &st, 0) != c)
		return (void *)1;
	printf("child: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
	/* The parent's own state is untouched by the child. */
	pthread_mutex_lock(&mu);
	printf("parent: counter %d, waiting %d\n", counter, waiting);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t w[3], f;

	for (long i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, waiter, (void *)(i + 1));
	pthread_mutex_lock(&mu);
	while (waiting < 3)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	pthread_create(&f, NULL, forker, NULL);
	pthread_join(f, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	printf("done\n");
	return 0;
}
