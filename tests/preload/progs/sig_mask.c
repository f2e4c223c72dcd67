/* pthread_sigmask: a signal sent while blocked stays pending and is
 * delivered when unblocked (process-directed and thread-directed);
 * the old mask is reported; masks are per thread and inherited. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void handler(int sig)
{
	(void)sig;
	got++;
}

static void *child(void *a)
{
	sigset_t cur;

	(void)a;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	printf("thread inherits SIGUSR1 blocked: %d\n", sigismember(&cur, SIGUSR1));
	return NULL;
}

int main(void)
{
	sigset_t s, old, pend;
	pthread_t t;

	signal(SIGUSR1, handler);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	printf("old mask had SIGUSR1: %d\n", sigismember(&old, SIGUSR1));

	kill(getpid(), SIGUSR1);
	usleep(50000);
	sigpending(&pend);
	printf("blocked: got %d, pending %d\n", got, sigismember(&pend, SIGUSR1));
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	printf("unblocked: got %d\n", got);

	sigprocmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR1);
	printf("raise while blocked: got %d\n", got);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("setmask: got %d\n", got);

	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_create(&t, NULL, child, NULL);
	pthread_join(t, NULL);
	printf("bad how: %d\n", pthread_sigmask(12345, &s, NULL) != 0);
	return 0;
}
