/* io_fd_reuse: an fd number that a thread has waited on, ended by close,
 * close_range, dup2 over it, fclose, closefrom or a raw close(2) system
 * call, then handed out again by
 * pipe(): a read on the new file must wake when it gets data (the
 * preload's record of the old file must not survive the number). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct job {
	int rd, wr;
	char got[16];
	ssize_t n;
};

static void *reader(void *arg)
{
	struct job *j = arg;
	j->n = read(j->rd, j->got, sizeof j->got - 1);
	return NULL;
}

/* A read that must park first (nothing is there), then get "data". */
static ssize_t parked_read(int rd, int wr)
{
	struct job j = {.rd = rd, .wr = wr};
	pthread_t t;

	pthread_create(&t, NULL, reader, &j);
	usleep(10000);
	write(wr, "data", 4);
	pthread_join(t, NULL);
	return j.n == 4 && memcmp(j.got, "data", 4) == 0 ? j.n : -1;
}

int main(void)
{
	const char *how[] = {"close", "close_range", "dup2 over it", "fclose", "closefrom",
			     "syscall(SYS_close)"};

	for (int k = 0; k < 6; k++) {
		int p[2], q[2], spare[2];
		pipe(p);
		ssize_t first = parked_read(p[0], p[1]);
		int old = p[0];
		switch (k) {
		case 0:
			close(p[0]);
			break;
		case 1:
			close_range((unsigned)p[0], (unsigned)p[0], 0);
			break;
		case 2: /* p[0]'s number now names another pipe's read end */
			pipe(spare);
			dup2(spare[0], p[0]);
			close(spare[0]);
			close(spare[1]);
			close(p[0]);
			break;
		case 3:
			fclose(fdopen(p[0], "r"));
			break;
		case 4: /* p[0], p[1] and anything above them */
			closefrom(p[0]);
			break;
		case 5: /* past every close wrapper: pipe() must renew the number */
			syscall(SYS_close, p[0]);
			break;
		}
		close(p[1]);
		pipe(q);
		ssize_t second = parked_read(q[0], q[1]);
		printf("%s: first read %zd, number %s, second read %zd\n", how[k], first,
		       q[0] == old || q[1] == old ? "reused" : "not reused", second);
		close(q[0]);
		close(q[1]);
	}
	return 0;
}
