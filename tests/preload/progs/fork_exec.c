/* system(), popen() and fork()+exec from a thread (not main). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *run(void *a)
{
	char line[64] = "";
	FILE *p;
	pid_t c;
	int st = -1;

	(void)a;
	fflush(stdout);
	printf("system: %d\n", system("exit 3") >> 8);
	p = popen("echo from popen", "r");
	if (!p || !fgets(line, sizeof line, p))
		return (void *)1;
	printf("popen: %s", line);
	printf("pclose: %d\n", pclose(p));
	fflush(stdout);
	if ((c = fork()) == 0) {
		execlp("sh", "sh", "-c", "exit 4", (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
	printf("fork+exec: %d\n", WEXITSTATUS(st));
	return NULL;
}

int main(void)
{
	pthread_t t;
	void *v;
	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, &v);
	printf("thread returned %ld\n", (long)v);
	return 0;
}
