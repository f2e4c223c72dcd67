/* fork() from four threads at once, 30 times each, while two other
 * threads allocate and sleep: every child starts a thread, joins it and
 * exits with a status its parent thread checks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *work(void *a)
{
	usleep(100);
	return (void *)((long)a + 1);
}

static void *forker(void *a)
{
	int bad = 0;

	for (int i = 0; i < 30; i++) {
		pid_t c = fork();
		int st;
		if (c == 0) {
			pthread_t t;
			void *v;
			pthread_create(&t, NULL, work, (void *)(long)i);
			pthread_join(t, &v);
			_exit((int)(long)v);
		}
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != i + 1)
			bad++;
	}
	printf("forker %ld: %d bad\n", (long)a, bad);
	return NULL;
}

static void *busy(void *a)
{
	for (int i = 0; i < 2000; i++) {
		free(malloc(100 + i));
		usleep(50);
	}
	return a;
}

int main(void)
{
	pthread_t t[6];

	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, forker, (void *)i);
	pthread_create(&t[4], NULL, busy, NULL);
	pthread_create(&t[5], NULL, busy, NULL);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	return 0;
}
