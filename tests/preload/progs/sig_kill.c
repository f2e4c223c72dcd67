/* Signal delivery to the main thread (kill(getpid()) with the workers
 * blocking the signal) and to a worker (pthread_kill): the handler runs on
 * the right thread (pthread_self) and errno is the thread's own
 * inside it and survives it.  raise() runs the
 * handler before it returns.  pthread_sigqueue carries its value. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_t main_t, worker_t;
static volatile sig_atomic_t on_main, on_worker, hits, value;
static pthread_barrier_t bar;
static volatile sig_atomic_t worker_go, worker_ready, saw_errno;

static void handler(int sig, siginfo_t *si, void *uc)
{
	int e = errno;

	(void)uc;
	saw_errno = e; /* the interrupted thread's own errno */
	errno = 12345;
	if (pthread_equal(pthread_self(), main_t))
		on_main++;
	if (pthread_equal(pthread_self(), worker_t))
		on_worker++;
	if (si->si_code == SI_QUEUE)
		value = si->si_value.sival_int;
	hits += sig == SIGUSR1 ? 1 : 100;
	errno = e;
}

static void *worker(void *a)
{
	sigset_t s;

	(void)a;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL); /* only main takes kill(getpid()) */
	pthread_barrier_wait(&bar);
	/* The handler must see and give back this thread's errno. */
	int bad = 0;
	while (!worker_go) {
		errno = 7;
		usleep(1000);
		if (errno != 7 && errno != EINTR)
			bad++;
		worker_ready = 1;
	}
	printf("worker: errno lost %d times\n", bad);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	union sigval v = {.sival_int = 77};

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	main_t = pthread_self();
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&worker_t, NULL, worker, NULL);
	pthread_barrier_wait(&bar);

	errno = 5;
	kill(getpid(), SIGUSR1);
	int e = errno;
	printf("after kill: on_main %d on_worker %d, handler saw errno %d, errno %d\n", on_main,
	       on_worker, saw_errno, e);
	raise(SIGUSR1);
	printf("after raise: on_main %d hits %d\n", on_main, hits);

	while (!worker_ready)
		usleep(1000);
	pthread_kill(worker_t, SIGUSR2);
	while (on_worker < 1)
		usleep(1000);
	printf("after pthread_kill: on_worker %d hits %d, handler saw errno %d\n", on_worker,
	       hits, saw_errno == 7 || saw_errno == EINTR);
	pthread_sigqueue(worker_t, SIGUSR2, v);
	while (on_worker < 2)
		usleep(1000);
	printf("after pthread_sigqueue: on_worker %d value %d\n", on_worker, value);
	worker_go = 1;
	pthread_join(worker_t, NULL);
	printf("pthread_kill(0): %d, bad signal: %d\n", pthread_kill(main_t, 0),
	       pthread_kill(main_t, 999) == EINVAL);
	return 0;
}
