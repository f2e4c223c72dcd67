/* A program with its own SIGSYS handler: it gets its SIGSYS (raised here),
 * sigaction reports its handler back, and blocking calls still work. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t caught, code;

static void on_sys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	caught += sig == SIGSYS;
	code = si->si_code;
}

static void *reader(void *a)
{
	static char b[16];
	int fd = *(int *)a;

	if (read(fd, b, sizeof b - 1) <= 0)
		return NULL;
	return b;
}

int main(void)
{
	struct sigaction sa, old;
	int fd[2];
	pthread_t t;
	void *v;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, &old) != 0)
		return 1;
	printf("previous handler default: %d\n", old.sa_handler == SIG_DFL);
	raise(SIGSYS);
	printf("caught: %d, from raise: %d\n", (int)caught, code == SI_TKILL);
	sigaction(SIGSYS, NULL, &old);
	printf("handler reported back: %d\n", old.sa_sigaction == on_sys);
	if (pipe(fd) != 0)
		return 1;
	pthread_create(&t, NULL, reader, &fd[0]);
	usleep(50000);
	if (write(fd[1], "still parks", 11) != 11)
		return 1;
	pthread_join(t, &v);
	printf("reader got: %s\n", v ? (char *)v : "(nothing)");
	signal(SIGSYS, SIG_IGN);
	raise(SIGSYS);
	printf("ignored: %d\n", (int)caught);
	return 0;
}
