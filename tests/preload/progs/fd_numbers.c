/* fd_numbers.c — the runtime keeps out of the program's fd numbers: the
 * first open() returns 3, the low numbers in /proc/self/fd are the
 * program's own, and a program that dup2()s onto 3..19 (as a shell does
 * for `exec 3>file`) and closes them again, closes every number up to
 * 1023 one by one, and calls closefrom(3) (as daemons do) still has
 * working threads, sleeps and pipes afterwards. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int p[2];

static void *echo(void *arg)
{
	char c;
	(void)arg;
	usleep(20000);
	if (read(p[0], &c, 1) == 1 && write(p[1], &c, 1) == 1)
		return NULL;
	return (void *)1;
}

static int low_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) < 100)
			n++;
	closedir(d);
	return n - 1; /* not the directory's own fd */
}

int main(void)
{
	pthread_t t;
	void *r;
	char c = 0;
	int fd = open("/dev/null", O_RDONLY);

	printf("first open: %d\n", fd);
	close(fd);
	printf("fds below 100: %d\n", low_fds());
	for (int i = 3; i < 20; i++)
		if (dup2(1, i) != i)
			printf("dup2 to %d failed\n", i);
	for (int i = 3; i < 20; i++)
		close(i);
	for (int i = 3; i < 1024; i++)
		close(i);
	closefrom(3);
	if (pipe(p) != 0)
		return 1;
	pthread_create(&t, NULL, echo, NULL);
	if (write(p[1], "x", 1) != 1)
		return 1;
	usleep(50000); /* the echo thread takes it and writes it back */
	pthread_join(t, &r);
	if (read(p[0], &c, 1) != 1)
		return 1;
	printf("after dup2 over 3..19, close(3..1023), closefrom(3): thread %s, echoed '%c'\n",
	       r ? "failed" : "ok", c);
	return 0;
}
