/* A program with its own SIGSYS handling: a handler installed by a
 * constructor (before smarm starts) is found by sigaction; a raised SIGSYS
 * and a SIGSYS from the program's own seccomp filter (RET_TRAP with data
 * 7) reach its handler; blocking calls still work; SIG_IGN is honoured;
 * blocking calls made with every signal blocked, or in a handler whose
 * sa_mask is full, still work (a blocked SIGSYS from seccomp kills). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t caught, code, data;

static void early(int sig)
{
	(void)sig;
}

__attribute__((constructor)) static void install_early(void)
{
	signal(SIGSYS, early);
}

static void on_sys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	caught += sig == SIGSYS;
	code = si->si_code;
	data = si->si_errno;
}

/* A handler that runs with every signal blocked (sa_mask full) and writes:
 * SIGSYS must stay deliverable meanwhile, or the trapped write kills. */
static void on_usr1(int sig)
{
	(void)sig;
	if (write(1, "usr1 handler wrote\n", 19) != 19)
		_exit(3);
}

static void *reader(void *a)
{
	static char b[16];
	int fd = *(int *)a;

	if (read(fd, b, sizeof b - 1) <= 0)
		return NULL;
	return b;
}

static void *own_filter(void *a)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 7),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fp = {.len = sizeof f / sizeof f[0], .filter = f};

	(void)a;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) != 0)
		return (void *)1;
	syscall(SYS_getppid);
	return NULL;
}

int main(void)
{
	struct sigaction sa, old;
	int fd[2];
	pthread_t t;
	void *v;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, &old) != 0)
		return 1;
	printf("previous handler is the constructor's: %d\n", old.sa_handler == early);
	raise(SIGSYS);
	printf("caught: %d, from raise: %d\n", (int)caught, code == SI_TKILL);
	sigaction(SIGSYS, NULL, &old);
	printf("handler reported back: %d\n", old.sa_sigaction == on_sys);
	pthread_create(&t, NULL, own_filter, NULL);
	pthread_join(t, &v);
	printf("own filter: %ld, caught: %d, seccomp: %d, data: %d\n", (long)v, (int)caught,
	       code == 1 /* SYS_SECCOMP */, (int)data);
	if (pipe(fd) != 0)
		return 1;
	pthread_create(&t, NULL, reader, &fd[0]);
	usleep(50000);
	if (write(fd[1], "still parks", 11) != 11)
		return 1;
	pthread_join(t, &v);
	printf("reader got: %s\n", v ? (char *)v : "(nothing)");
	signal(SIGSYS, SIG_IGN);
	raise(SIGSYS);
	printf("ignored: %d\n", (int)caught);

	/* Every signal blocked, then a blocking call. */
	sigset_t all, prev;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &prev);
	printf("with every signal blocked\n");
	fflush(stdout);
	sigprocmask(SIG_SETMASK, &prev, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigfillset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	fflush(stdout);
	raise(SIGUSR1);
	return 0;
}
