/* strict_cost.c — a plain program (no smarm headers) for bench_strict.c:
 * the cost of one blocking-call site, made directly with syscall(2) so no
 * wrapper can see it.  Run natively and under the preload; prints one line
 * "<name> <ns per round>" per measurement.
 *
 *   pipe    write 1 byte then read it back, on one pipe (never blocks)
 *   futex   FUTEX_WAKE on a word nobody waits on (the cheapest trapped
 *           call: the trap and the handler, nearly no service)
 *
 * The measurements run in a thread of the program's (a green thread under
 * the preload), as a program's own code would. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int rounds = 20000;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *measure(void *a)
{
	int fd[2];
	char c = 'x';
	uint32_t word = 0;
	int64_t t;

	(void)a;
	if (pipe(fd) != 0)
		exit(1);
	t = now_ns();
	for (int i = 0; i < rounds; i++)
		if (syscall(SYS_write, fd[1], &c, 1) != 1 || syscall(SYS_read, fd[0], &c, 1) != 1)
			exit(2);
	printf("pipe %.0f\n", (double)(now_ns() - t) / rounds);
	t = now_ns();
	for (int i = 0; i < rounds; i++)
		syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	printf("futex %.0f\n", (double)(now_ns() - t) / rounds);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc > 1)
		rounds = atoi(argv[1]);
	pthread_create(&t, NULL, measure, NULL);
	pthread_join(t, NULL);
	return 0;
}
