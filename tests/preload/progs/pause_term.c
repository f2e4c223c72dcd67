/* pause_term.c — main waits in pause() with no handler installed (with
 * argument "sigwait", a helper thread waits in sigwait() too); a child
 * process sends SIGTERM after
 * 300 ms, whose default action ends the program.  Nothing is wrong: the
 * runtime must not call it a deadlock (every thread is parked, but a
 * signal from outside can end or wake them). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void *waiter(void *arg)
{
	sigset_t s;
	int sig;

	(void)arg;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigwait(&s, &sig);
	printf("never: sigwait got %d\n", sig);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	sigset_t s;
	pid_t parent = getpid();

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	if (argc > 1 && argv[1][0] == 's')
		pthread_create(&t, NULL, waiter, NULL);
	printf("pausing\n");
	fflush(stdout);
	if (fork() == 0) {
		usleep(300000);
		kill(parent, SIGTERM);
		_exit(0);
	}
	pause();
	printf("never: pause returned\n");
	return 0;
}
