/* sigwait in a dedicated thread receives SIGUSR1 that another thread sends
 * with kill(getpid()) (every thread blocks it); sigtimedwait times out with
 * EAGAIN; sigwaitinfo gets a pthread_kill'd signal with SI_TKILL. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static sigset_t set;

static void *waiter(void *a)
{
	int sig = 0, n = 0;

	(void)a;
	for (int i = 0; i < 3; i++) {
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			n++;
	}
	printf("sigwait got SIGUSR1 %d times\n", n);
	return NULL;
}

static void *sender(void *a)
{
	(void)a;
	for (int i = 0; i < 3; i++) {
		usleep(20000);
		kill(getpid(), SIGUSR1);
		usleep(20000); /* one at a time: pending signals merge */
	}
	return NULL;
}

static void *infowaiter(void *a)
{
	siginfo_t si;
	sigset_t s2;

	(void)a;
	sigemptyset(&s2);
	sigaddset(&s2, SIGUSR2);
	int r = sigwaitinfo(&s2, &si);
	/* (si_code is SI_USER or SI_TKILL depending on the kernel.) */
	printf("sigwaitinfo: %s pid %s\n", r == SIGUSR2 ? "SIGUSR2" : "?",
	       si.si_pid == getpid() ? "ours" : "?");
	return NULL;
}

int main(void)
{
	pthread_t w, s, iw;
	struct timespec ts = {0, 50000000};
	sigset_t all;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* inherited by every thread */
	pthread_create(&w, NULL, waiter, NULL);
	pthread_create(&s, NULL, sender, NULL);
	pthread_join(s, NULL);
	pthread_join(w, NULL);

	errno = 0;
	int r = sigtimedwait(&set, NULL, &ts);
	printf("sigtimedwait: %d %s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
	struct timespec bad = {0, -1};
	errno = 0;
	r = sigtimedwait(&set, NULL, &bad);
	printf("sigtimedwait bad timeout: %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");

	pthread_create(&iw, NULL, infowaiter, NULL);
	usleep(20000);
	pthread_kill(iw, SIGUSR2);
	pthread_join(iw, NULL);

	/* Pending for the process, taken at once. */
	kill(getpid(), SIGUSR1);
	r = sigtimedwait(&set, NULL, &ts);
	printf("already pending: %s\n", r == SIGUSR1 ? "SIGUSR1" : "?");
	return 0;
}
