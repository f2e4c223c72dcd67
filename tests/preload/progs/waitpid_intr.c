/* waitpid() in a thread that a signal handler interrupts: EINTR without
 * SA_RESTART, the wait goes on with it; the handler runs on that thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_t waiter_t;
static volatile sig_atomic_t on_waiter, hits;
static volatile sig_atomic_t waiting;

static void handler(int sig)
{
	(void)sig;
	hits++;
	if (pthread_equal(pthread_self(), waiter_t))
		on_waiter++;
}

static void *waiter(void *a)
{
	pid_t c = (pid_t)(long)a, r;
	int st = 0;

	waiting = 1;
	r = waitpid(c, &st, 0);
	int e = errno;
	printf("first waitpid: %d %s\n", r, r < 0 && e == EINTR ? "EINTR" : "?");
	waiting = 2;
	r = waitpid(c, &st, 0);
	printf("second waitpid: %s, status %d\n", r == c ? "the child" : "?", WEXITSTATUS(st));
	return NULL;
}

static void kick_when(int state)
{
	while (waiting != state)
		usleep(1000);
	usleep(50000); /* let it block */
	pthread_kill(waiter_t, SIGUSR1);
}

int main(void)
{
	struct sigaction sa;
	pid_t c;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART */
	if ((c = fork()) == 0) {
		usleep(400000);
		_exit(6);
	}
	pthread_create(&waiter_t, NULL, waiter, (void *)(long)c);
	kick_when(1);
	while (hits < 1)
		usleep(1000);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	kick_when(2);
	pthread_join(waiter_t, NULL);
	printf("handler ran %d times, %d on the waiter\n", hits, on_waiter);
	return 0;
}
