/* A thread in fgets on an empty pipe, and the writer that fills it.  With
 * one carrier the reader must park (strict mode: its read(2) is trapped and
 * served by the netpoller) for the writer to run at all; no OS thread may
 * be added meanwhile.  Prints how many OS threads the reader's wait cost. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static FILE *in;
static char got[64];

static int os_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

void *reader(void *a);
void *reader(void *a)
{
	(void)a;
	if (!fgets(got, sizeof got, in))
		strcpy(got, "(eof)\n");
	return NULL;
}

int main(void)
{
	int fd[2], before, during;
	pthread_t t;

	if (pipe(fd) != 0 || !(in = fdopen(fd[0], "r")))
		return 1;
	/* The runtime's own threads (the monitor) may still be starting while
	 * main already runs on another carrier: wait until the count holds. */
	do {
		before = os_threads();
		usleep(10000);
	} while (os_threads() != before);
	pthread_create(&t, NULL, reader, NULL);
	usleep(100000); /* let the reader reach its read */
	during = os_threads();
	/* Natively the reader is an OS thread of its own: 1. */
	printf("OS threads added for the blocked reader: %d\n", during - before);
	fflush(stdout);
	if (write(fd[1], "hello through the pipe\n", 23) != 23)
		return 2;
	pthread_join(t, NULL);
	printf("reader got: %s", got);
	return 0;
}
