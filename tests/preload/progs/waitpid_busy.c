/* A thread waits in waitpid() for a specific child while other threads
 * keep running (the test runs it with one carrier too): the counter thread
 * must make progress while the child lives.  Also: wait() for any child,
 * waitid() and WNOHANG on a running child, ECHILD for a stranger. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int ticks, stop;

static void *ticker(void *a)
{
	(void)a;
	while (!atomic_load(&stop)) {
		usleep(1000);
		atomic_fetch_add(&ticks, 1);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	pid_t c, r;
	int st = 0;
	siginfo_t si;

	pthread_create(&t, NULL, ticker, NULL);
	if ((c = fork()) == 0) {
		usleep(300000);
		_exit(5);
	}
	r = waitpid(c, &st, WNOHANG);
	printf("WNOHANG while running: %d\n", r);
	int before = atomic_load(&ticks);
	r = waitpid(c, &st, 0);
	printf("waitpid: %s, status %d\n", r == c ? "that child" : "?", WEXITSTATUS(st));
	printf("ticker ran meanwhile: %s\n", atomic_load(&ticks) - before >= 20 ? "yes" : "no");
	errno = 0;
	r = waitpid(c, &st, 0);
	printf("waitpid again: %d %s\n", r, errno == ECHILD ? "ECHILD" : "?");
	errno = 0;
	r = waitpid(1, &st, 0);
	printf("waitpid(1): %d %s\n", r, errno == ECHILD ? "ECHILD" : "?");

	if ((c = fork()) == 0) {
		usleep(100000);
		_exit(6);
	}
	r = wait(&st);
	printf("wait: %s, status %d\n", r == c ? "that child" : "?", WEXITSTATUS(st));

	if ((c = fork()) == 0) {
		usleep(100000);
		_exit(8);
	}
	if (waitid(P_PID, (id_t)c, &si, WEXITED) == 0)
		printf("waitid: %s, code %d, status %d\n", si.si_pid == c ? "that child" : "?",
		       si.si_code == CLD_EXITED, si.si_status);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	return 0;
}
