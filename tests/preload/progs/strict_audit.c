/* Two blocking-call sites outside any wrapper: a raw syscall(SYS_read) and
 * an fgets (whose read(2) glibc makes itself).  Under SMARM_STRICT=audit
 * each is reported with its caller (the functions are exported: the test
 * programs are linked with -rdynamic).  The data is in the pipe already, so
 * nothing blocks, natively or not. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void *raw_reader(void *a);
void *fgets_reader(void *a);

static int fd[2];

void *raw_reader(void *a)
{
	char b[6] = "";

	(void)a;
	for (int i = 0; i < 3; i++) {
		if (syscall(SYS_read, fd[0], b, 5) != 5)
			return (void *)1;
		printf("raw read: %s\n", b);
	}
	return NULL;
}

void *fgets_reader(void *a)
{
	char line[64];

	if (!fgets(line, sizeof line, a))
		return (void *)1;
	printf("fgets: %s", line);
	return NULL;
}

int main(void)
{
	pthread_t t;
	void *v1, *v2;
	int p2[2];
	FILE *in;

	if (pipe(fd) != 0 || pipe(p2) != 0 || write(fd[1], "abcdeabcdeabcde", 15) != 15 ||
	    write(p2[1], "a line\n", 7) != 7 || !(in = fdopen(p2[0], "r")))
		return 1;
	pthread_create(&t, NULL, raw_reader, NULL);
	pthread_join(t, &v1);
	pthread_create(&t, NULL, fgets_reader, in);
	pthread_join(t, &v2);
	printf("results: %ld %ld\n", (long)v1, (long)v2);
	return 0;
}
