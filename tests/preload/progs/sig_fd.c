/* signalfd: signals every thread blocks stay pending for the process and
 * are read from a signalfd (sent by this thread and by another one), in
 * the order and with the sender the kernel reports. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void *sender(void *a)
{
	(void)a;
	kill(getpid(), SIGUSR2);
	return NULL;
}

int main(void)
{
	struct signalfd_siginfo si;
	sigset_t s;
	pthread_t t;
	int fd;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	if ((fd = signalfd(-1, &s, SFD_CLOEXEC)) < 0)
		return 1;
	kill(getpid(), SIGUSR1);
	pthread_create(&t, NULL, sender, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++) {
		if (read(fd, &si, sizeof si) != sizeof si)
			return 2;
		printf("read %s from %s\n", si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "SIGUSR2",
		       si.ssi_pid == (unsigned)getpid() ? "us" : "?");
	}
	sigpending(&s);
	printf("nothing left pending: %d\n", !sigismember(&s, SIGUSR1) && !sigismember(&s, SIGUSR2));
	return 0;
}
