/* posix_spawn and posix_spawnp from a thread, with file actions; a
 * missing program; vfork+exec. */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *run(void *a)
{
	posix_spawn_file_actions_t fa;
	char *argv1[] = {"sh", "-c", "echo spawned $0; exit 3", "one", NULL};
	char *argv2[] = {"/bin/sh", "-c", "read x; echo got $x", NULL};
	pid_t p;
	int st, fds[2];

	(void)a;
	fflush(stdout);
	if (posix_spawnp(&p, "sh", NULL, NULL, argv1, environ) != 0)
		return (void *)1;
	waitpid(p, &st, 0);
	printf("spawnp status %d\n", WEXITSTATUS(st));
	if (pipe(fds) != 0)
		return (void *)1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	fflush(stdout);
	if (posix_spawn(&p, "/bin/sh", &fa, NULL, argv2, environ) != 0)
		return (void *)1;
	close(fds[0]);
	if (write(fds[1], "hello\n", 6) != 6)
		return (void *)1;
	close(fds[1]);
	waitpid(p, &st, 0);
	posix_spawn_file_actions_destroy(&fa);
	printf("spawn status %d\n", WEXITSTATUS(st));
	printf("missing: %d\n", posix_spawn(&p, "/nonexistent", NULL, NULL, argv2, environ) != 0);
	fflush(stdout);
	if ((p = vfork()) == 0) {
		execl("/bin/sh", "sh", "-c", "exit 9", (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	printf("vfork+exec status %d\n", WEXITSTATUS(st));
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
