/* io_block_one: a thread blocked in read() on an empty pipe must not stop
 * the others — with one carrier the writer must still run, or this hangs. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int p[2];
static volatile int reading;

static void *reader(void *arg)
{
	char buf[32] = {0};
	(void)arg;
	reading = 1;
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	printf("reader got %zd bytes: %s\n", n, buf);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	/* Runs while the reader is blocked (it started first and found
	 * the pipe empty). */
	while (!reading)
		usleep(1000);
	usleep(20000);
	printf("writer runs while the reader waits\n");
	fflush(stdout);
	write(p[1], "hello", 5);
	return NULL;
}

int main(void)
{
	pthread_t r, w;

	pipe(p);
	pthread_create(&r, NULL, reader, NULL);
	pthread_create(&w, NULL, writer, NULL);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	return 0;
}
