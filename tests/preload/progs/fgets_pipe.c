/* A thread blocks in fgets() on a pipe — glibc's own read(2), which no
 * wrapper sees — before the thread that writes to the pipe has even been
 * created.  Under the preload with one carrier, only the carrier hand-off
 * lets the writer run.  An argument N ends the program with SIGALRM after
 * N seconds (the test of the stall without the hand-off). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile int reading;

static void *reader(void *arg)
{
	FILE *in = fdopen(fds[0], "r");
	char line[128];
	int n = 0;

	(void)arg;
	reading = 1;
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = 0;
		printf("reader got: %s\n", line);
		n++;
	}
	printf("reader: %d lines, then end of file\n", n);
	fclose(in);
	return NULL;
}

static void *writer(void *arg)
{
	FILE *out = fdopen(fds[1], "w");

	(void)arg;
	for (int i = 0; i < 5; i++) {
		fprintf(out, "line %d from the writer\n", i);
		fflush(out);
		usleep(2000);
	}
	fclose(out);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t r, w;

	if (argc > 1)
		alarm(atoi(argv[1]));
	if (pipe(fds) != 0)
		return 1;
	pthread_create(&r, NULL, reader, NULL);
	/* Let the reader get into its read first. */
	while (!reading)
		usleep(1000);
	usleep(20000);
	pthread_create(&w, NULL, writer, NULL);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	printf("done\n");
	return 0;
}
