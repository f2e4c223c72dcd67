/* Process creation from a green thread: system, popen, fork+exec and
 * posix_spawn.  In strict mode each child must start without the carriers'
 * seccomp filter, or the program it execs dies of SIGSYS. */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *run(void *a)
{
	char line[64] = "";
	char *argv[] = {"sh", "-c", "exit 5", NULL};
	int st = -1;
	pid_t c;
	FILE *p;

	(void)a;
	printf("system: %d\n", system("true") >> 8);
	printf("system: %d\n", system("exit 3") >> 8);
	if (!(p = popen("echo from popen", "r")) || !fgets(line, sizeof line, p))
		return (void *)1;
	printf("popen: %s", line);
	printf("pclose: %d\n", pclose(p));
	fflush(stdout);
	if ((c = fork()) == 0) {
		execlp("sh", "sh", "-c", "exit 4", (char *)NULL);
		_exit(127);
	}
	if (c < 0 || waitpid(c, &st, 0) != c)
		return (void *)2;
	printf("fork+exec: %d\n", WEXITSTATUS(st));
	if ((c = fork()) == 0)
		_exit(6); /* a child that only exits */
	waitpid(c, &st, 0);
	printf("fork: %d\n", WEXITSTATUS(st));
	if (posix_spawnp(&c, "sh", NULL, NULL, argv, environ) != 0 || waitpid(c, &st, 0) != c)
		return (void *)3;
	printf("posix_spawn: %d\n", WEXITSTATUS(st));
	return NULL;
}

int main(void)
{
	pthread_t t;
	void *v;

	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, &v);
	printf("thread returned %ld\n", (long)v);
	run(NULL); /* and from main */
	return 0;
}
