/* A segmentation fault in a thread kills the process with SIGSEGV, as
 * natively (the preload defaults SMARM_FAULTS to abort). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

static void *crash(void *a)
{
	printf("about to crash\n");
	fflush(stdout);
	return (void *)(long)*(volatile int *)a;
}

int main(void)
{
	struct rlimit no_core = {0, 0};
	pthread_t t;

	setrlimit(RLIMIT_CORE, &no_core);
	pthread_create(&t, NULL, crash, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 0;
}
