/* sched.c — per-thread scheduling and affinity calls from a thread:
 * getaffinity gives the process's mask, setaffinity with that mask
 * succeeds and with an empty one fails with EINVAL, the policy is
 * SCHED_OTHER at priority 0, which setschedparam accepts (and a priority
 * outside SCHED_OTHER's range is EINVAL), setschedprio(0) succeeds, and
 * the thread's CPU clock reads.  With the argument "fifo": print what
 * SCHED_FIFO gets (differs by privilege natively; EPERM under smarm). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fifo;

static const char *e(int r)
{
	return r == 0 ? "0" : r == EINVAL ? "EINVAL" : r == EPERM ? "EPERM" : strerror(r);
}

static void *worker(void *a)
{
	cpu_set_t mine, proc, none;
	struct sched_param p = {0};
	clockid_t clk;
	struct timespec ts;
	int pol = -1;
	volatile unsigned long spin = 0;

	(void)a;
	if (fifo) {
		p.sched_priority = 1;
		printf("SCHED_FIFO: %s\n", e(pthread_setschedparam(pthread_self(), SCHED_FIFO, &p)));
		return NULL;
	}
	sched_getaffinity(getpid(), sizeof proc, &proc);
	printf("getaffinity: %s\n", e(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine)));
	printf("same CPUs as the process: %s\n", CPU_EQUAL(&mine, &proc) ? "yes" : "no");
	printf("setaffinity (process mask): %s\n",
	       e(pthread_setaffinity_np(pthread_self(), sizeof proc, &proc)));
	CPU_ZERO(&none);
	printf("setaffinity (empty mask): %s\n",
	       e(pthread_setaffinity_np(pthread_self(), sizeof none, &none)));
	printf("getschedparam: %s\n", e(pthread_getschedparam(pthread_self(), &pol, &p)));
	printf("policy SCHED_OTHER: %s, priority %d\n", pol == SCHED_OTHER ? "yes" : "no",
	       p.sched_priority);
	printf("setschedparam SCHED_OTHER 0: %s\n",
	       e(pthread_setschedparam(pthread_self(), SCHED_OTHER, &p)));
	p.sched_priority = 5;
	printf("setschedparam SCHED_OTHER 5: %s\n",
	       e(pthread_setschedparam(pthread_self(), SCHED_OTHER, &p)));
	printf("setschedprio 0: %s\n", e(pthread_setschedprio(pthread_self(), 0)));
	for (int i = 0; i < 3000000; i++)
		spin += i;
	printf("getcpuclockid: %s\n", e(pthread_getcpuclockid(pthread_self(), &clk)));
	printf("CPU clock reads: %s\n",
	       clock_gettime(clk, &ts) == 0 && (ts.tv_sec > 0 || ts.tv_nsec > 0) ? "yes" : "no");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	fifo = argc > 1 && strcmp(argv[1], "fifo") == 0;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	return 0;
}
