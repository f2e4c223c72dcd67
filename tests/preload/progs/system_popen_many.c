/* system() and popen()/pclose() from several threads at once: each gets
 * its own child's status and output. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define N 6

static void *run(void *a)
{
	long i = (long)a;
	char cmd[64], line[64] = "";
	FILE *p;
	int st, pc;

	snprintf(cmd, sizeof cmd, "sleep 0.2; exit %ld", i + 10);
	st = system(cmd);
	snprintf(cmd, sizeof cmd, "sleep 0.2; echo line %ld; exit %ld", i, i);
	if (!(p = popen(cmd, "r")) || !fgets(line, sizeof line, p))
		return (void *)-1;
	pc = pclose(p);
	printf("thread %ld: system %d, popen '%.*s', pclose %d\n", i, WEXITSTATUS(st),
	       (int)strcspn(line, "\n"), line, WEXITSTATUS(pc));
	return NULL;
}

int main(void)
{
	pthread_t t[N];

	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, run, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("system(NULL): %d\n", system(NULL) != 0);
	return 0;
}
