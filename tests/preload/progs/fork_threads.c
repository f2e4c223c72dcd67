/* fork() from a thread while other threads wait on a mutex it holds: the
 * child keeps only the forking thread, and its threads, sleeps, locks,
 * joins and preemption work; it exits with a status the parent checks.
 * The threads waiting in the parent never run in the child, even when the
 * child unlocks the mutex they wait for. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER; /* the forker holds it */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int counter;
static volatile int spin_stop;

static void *waiter(void *a)
{
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	/* Unbuffered: a copy that ran in the child would show. */
	dprintf(1, "waiter %ld passed the gate\n", (long)a);
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

	/* The waiters' copies do not exist here: opening the gate must not
	 * bring them to life. */
	pthread_mutex_unlock(&gate);
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
	usleep(20000);
	/* 1+..+8 = 36, and twice that from the joins. */
	return counter == 36 && sum == 72 ? 42 : 92;
}

static void *forker(void *a)
{
	pthread_t w[3];
	pid_t c;
	int st;

	(void)a;
	pthread_mutex_lock(&gate);
	for (long i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, waiter, (void *)(i + 1));
	usleep(50000); /* let them block on the gate */
	fflush(stdout);
	if ((c = fork()) == 0) {
		int r = child_main();
		fflush(stdout);
		_exit(r);
	}
	if (c < 0 || waitpid(c, &st, 0) != c)
		return (void *)1;
	printf("child: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
	fflush(stdout);
	/* The parent's own state is untouched by the child. */
	printf("parent: counter %d\n", counter);
	fflush(stdout);
	pthread_mutex_unlock(&gate);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	return NULL;
}

int main(void)
{
	pthread_t f;

	pthread_create(&f, NULL, forker, NULL);
	pthread_join(f, NULL);
	printf("done\n");
	return 0;
}
