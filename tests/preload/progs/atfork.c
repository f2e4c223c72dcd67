/* pthread_atfork handlers run around a fork made by a thread: prepare in
 * reverse order of registration, parent and child in order; the child's
 * handlers can lock what prepare locked. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char trace[64];

static void add(const char *s) { strcat(trace, s); }
static void p1(void) { add("P1 "); }
static void p2(void) { add("P2 "); pthread_mutex_lock(&mu); }
static void a1(void) { add("A1 "); }
static void a2(void) { add("A2 "); pthread_mutex_unlock(&mu); }
static void c1(void) { add("C1 "); }
static void c2(void) { add("C2 "); pthread_mutex_unlock(&mu); }

static void *forker(void *arg)
{
	pid_t c;
	int st, fds[2];
	char buf[64] = "";

	(void)arg;
	if (pipe(fds) != 0)
		return (void *)1;
	if ((c = fork()) == 0) {
		/* The lock prepare took is free again in the child. */
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
		if (write(fds[1], trace, strlen(trace)) < 0)
			_exit(2);
		_exit(7);
	}
	close(fds[1]);
	if (read(fds[0], buf, sizeof buf - 1) < 0)
		return (void *)1;
	waitpid(c, &st, 0);
	printf("child saw:  %s\n", buf);
	printf("parent saw: %s\n", trace);
	printf("child status %d\n", WEXITSTATUS(st));
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_atfork(p1, a1, c1);
	pthread_atfork(p2, a2, c2);
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, NULL);
	return 0;
}
