/* alarm + pause; sleep interrupted by a handler returns the seconds left;
 * nanosleep reports EINTR and the time left; sigsuspend waits with a
 * temporary mask; ignored signals do not interrupt. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void *spinner(void *a)
{
	/* Another thread that keeps running and sleeping meanwhile. */
	for (int i = 0; i < 100 && !*(volatile int *)a; i++)
		usleep(5000);
	return NULL;
}

int main(void)
{
	struct timespec req = {5, 0}, rem = {0, 0};
	struct itimerval it = {{0, 0}, {0, 100000}};
	sigset_t s, none;
	pthread_t t;
	int stop = 0;

	signal(SIGALRM, on_alarm);
	signal(SIGCHLD, SIG_DFL);
	pthread_create(&t, NULL, spinner, &stop);

	alarm(1);
	int r = pause();
	printf("pause: %d %s, alarms %d\n", r, errno == EINTR ? "EINTR" : "?", alarms);

	/* 1.5 s into a 3 s sleep: 1 whole second left (not a knife edge). */
	struct itimerval half = {{0, 0}, {1, 500000}};
	setitimer(ITIMER_REAL, &half, NULL);
	printf("sleep(3) left: %u, alarms %d\n", sleep(3), alarms);

	setitimer(ITIMER_REAL, &it, NULL);
	r = nanosleep(&req, &rem);
	printf("nanosleep: %d %s, left > 4s: %d, alarms %d\n", r, errno == EINTR ? "EINTR" : "?",
	       rem.tv_sec >= 4, alarms);

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigprocmask(SIG_BLOCK, &s, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	sigemptyset(&none);
	r = sigsuspend(&none);
	printf("sigsuspend: %d %s, alarms %d\n", r, errno == EINTR ? "EINTR" : "?", alarms);
	sigprocmask(SIG_BLOCK, NULL, &s);
	printf("mask restored: %d\n", sigismember(&s, SIGALRM));

	/* An ignored signal (SIGCHLD by default) does not cut a sleep short. */
	if (fork() == 0)
		_exit(0);
	printf("sleep across SIGCHLD: %u\n", sleep(1));
	stop = 1;
	pthread_join(t, NULL);
	return 0;
}
