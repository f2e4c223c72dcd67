/* sleep, usleep, nanosleep and clock_nanosleep last at least what they
 * were asked, and sleeping threads overlap. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *nap(void *a)
{
	(void)a;
	usleep(300 * 1000);
	return NULL;
}

int main(void)
{
	struct timespec req = {0, 50 * 1000000}, abs;
	pthread_t t[100];
	double t0 = now();

	printf("sleep(1): %u\n", sleep(1));
	printf("  >= 1 s: %d\n", now() - t0 >= 1.0);
	t0 = now();
	usleep(50000);
	printf("usleep 50 ms: %d\n", now() - t0 >= 0.05);
	t0 = now();
	printf("nanosleep: %d", nanosleep(&req, NULL));
	printf(" %d\n", now() - t0 >= 0.05);
	t0 = now();
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 50 * 1000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	printf("clock_nanosleep abs: %d", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	printf(" %d\n", now() - t0 >= 0.05);
	t0 = now();
	for (int i = 0; i < 100; i++)
		pthread_create(&t[i], NULL, nap, NULL);
	for (int i = 0; i < 100; i++)
		pthread_join(t[i], NULL);
	printf("100 x 300 ms overlap: %d\n", now() - t0 < 2.0);
	return 0;
}
