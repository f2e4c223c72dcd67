/* Many threads fprintf to one stream on a pipe that another thread of the
 * same program reads: the pipe fills, a writer blocks in glibc's write(2)
 * holding the stream's lock, the other writers block on that lock in the
 * kernel (a futex glibc waits on itself), and only the reader can clear it.
 * The reader checks that every thread's lines arrive whole and in order.
 * Arguments (for the bench): writers (at most 256) and lines per writer;
 * default 16 and 2000. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXW 256

static int fds[2], WRITERS = 16, LINES = 2000;
static FILE *out;

static void *writer(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < LINES; i++)
		fprintf(out, "writer %2ld line %4d: %s\n", id, i, "some text to fill the pipe");
	return NULL;
}

static void *reader(void *arg)
{
	FILE *in = fdopen(fds[0], "r");
	int next[MAXW] = {0};
	long lines = 0, bad = 0;
	char line[256];

	(void)arg;
	while (fgets(line, sizeof line, in)) {
		long id;
		int i;
		if (sscanf(line, "writer %ld line %d:", &id, &i) != 2 || id < 0 ||
		    id >= WRITERS || i != next[id]++)
			bad++;
		lines++;
	}
	fclose(in);
	printf("reader: %ld lines, %ld out of order or torn\n", lines, bad);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t w[MAXW], r;

	if (argc > 2) {
		WRITERS = atoi(argv[1]);
		LINES = atoi(argv[2]);
	}
	if (WRITERS < 1 || WRITERS > MAXW || LINES < 0 || pipe(fds) != 0)
		return 2;
	out = fdopen(fds[1], "w");
	/* The writers first, so that the pipe is full before the reader runs. */
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	pthread_create(&r, NULL, reader, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	fclose(out);
	pthread_join(r, NULL);
	printf("writers: %d x %d lines\n", WRITERS, LINES);
	return 0;
}
