/* A SIGTERM handler that cleans up, restores the default action and raises
 * the signal again: the process ends by SIGTERM, after the cleanup. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void on_term(int sig)
{
	static const char m[] = "cleanup\n";

	if (write(1, m, sizeof m - 1) < 0)
		_exit(2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void *idle(void *a)
{
	for (;;)
		usleep(1000);
	return a;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, idle, NULL);
	signal(SIGTERM, on_term);
	usleep(20000);
	kill(getpid(), SIGTERM);
	for (;;)
		usleep(1000);
}
