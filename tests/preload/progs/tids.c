/* tids.c — every thread has an id of its own (gettid() and
 * syscall(SYS_gettid) agree on it), main's is the process id, and an id
 * stays the thread's across sleeps (while it may move between carriers). */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 32

static pid_t ids[N];
static int agree = 1, stable = 1;

static void *worker(void *arg)
{
	long i = (long)arg;
	pid_t a = gettid(), b = (pid_t)syscall(SYS_gettid);

	if (a != b)
		agree = 0;
	usleep(1000 * (unsigned)(i % 5));
	if (gettid() != a)
		stable = 0;
	ids[i] = a;
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	int distinct = 1;

	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		if (ids[i] == getpid() || ids[i] <= 0)
			distinct = 0;
		for (int j = 0; j < i; j++)
			if (ids[i] == ids[j])
				distinct = 0;
	}
	printf("main's id is the pid: %s\n", gettid() == getpid() ? "yes" : "no");
	printf("syscall(SYS_gettid) agrees: %s\n", agree && syscall(SYS_gettid) == gettid() ? "yes" : "no");
	printf("%d threads, distinct ids: %s\n", N, distinct ? "yes" : "no");
	printf("stable across sleeps: %s\n", stable ? "yes" : "no");
	return 0;
}
