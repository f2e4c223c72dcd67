/* proc.c — processes from drop-in green threads: waiting for children,
 * system/pclose, vfork, and the shim's half of fork.
 *
 * Waiting parks the green thread, never the carrier:
 *   - a wait for one pid (waitpid, wait4, wait3 with pid > 0; waitid with
 *     P_PID or P_PIDFD) for termination only: try the call with WNOHANG;
 *     if the child is still running, park on a pidfd (pidfd_open) in the
 *     netpoller — a pidfd turns readable when its process exits — and try
 *     again.  The pidfd is closed through smarm_close, which drops its
 *     registration;
 *   - everything else (any child, a process group, WUNTRACED/WCONTINUED,
 *     whose events a pidfd does not report): the real call on the blocking
 *     pool, while the green thread parks;
 *   - WNOHANG, and any caller that is not a green thread: the real call.
 * A wait for one pid is interruptible (signal.c): a handler without
 * SA_RESTART that runs on this thread ends it with EINTR, as natively; the
 * pool's waits are not (they go on, as with SA_RESTART).
 *
 * system() and pclose() block inside glibc in a wait no wrapper sees
 * (DESIGN D3): they run whole on the blocking pool (one pool thread each,
 * so several threads may call them at once; glibc's system() keeps its own
 * count of callers for the SIGINT/SIGQUIT dispositions).  popen() and
 * posix_spawn() are glibc's: their clone(CLONE_VFORK) holds the carrier
 * only until the child has exec'd.
 *
 * fork() is glibc's, run on the carrier by the green thread: glibc runs the
 * pthread_atfork handlers around it on the green thread, and in the child
 * the runtime rebuilds itself around the forking thread (runtime/fork.c),
 * asking us for the carrier's new TCB (tcb.c).  daemon() forks through
 * glibc's internal __fork and is covered by the same handler.  vfork() is
 * fork(): a vfork child borrowing a green stack while the runtime goes on
 * in the parent could not run any wrapper safely, and fork gives the
 * contract vfork promises (the child may exec or _exit).
 *
 * Every call here may switch except vfork's child side.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

SMARM_REAL_FN(pid_t, wait4, (pid_t, int *, int, struct rusage *))
SMARM_REAL_FN(int, waitid, (idtype_t, id_t, siginfo_t *, int))
SMARM_REAL_FN(int, system, (const char *))
SMARM_REAL_FN(int, pclose, (FILE *))

/* ---- fork ---- */

static void *fork_tcb(void)
{
	struct smarm__carrier *c = smarm__carrier();

	smarm__sig_fork_child();
	return smarm__tcb_fork_child(c ? c->fsbase : NULL);
}

__attribute__((constructor)) static void proc_init(void)
{
	smarm__fork_tcb_hook = fork_tcb;
}

SMARM_API pid_t vfork(void)
{
	return fork();
}

/* ---- the blocking pool ---- */

struct job {
	int kind;
	pid_t pid;
	int *status, opts;
	struct rusage *ru;
	idtype_t idt;
	id_t id;
	siginfo_t *info;
	const char *cmd;
	FILE *fp;
	long ret;
	int err;
};

enum { J_WAIT4, J_WAITID, J_SYSTEM, J_PCLOSE };

static void *job_run(void *p)
{
	struct job *j = p;

	errno = 0;
	switch (j->kind) {
	case J_WAIT4:
		j->ret = real_wait4()(j->pid, j->status, j->opts, j->ru);
		break;
	case J_WAITID:
		j->ret = real_waitid()(j->idt, j->id, j->info, j->opts);
		break;
	case J_SYSTEM:
		j->ret = real_system()(j->cmd);
		break;
	case J_PCLOSE:
		j->ret = real_pclose()(j->fp);
		break;
	}
	j->err = errno;
	return NULL;
}

/* Run j on the pool, the green thread parked; errno as the call left it. */
static long on_pool(struct job *j)
{
	void *ignored;

	smarm_block_on_io(job_run, j, &ignored);
	errno = j->err;
	return j->ret;
}

/* ---- waiting for one child ---- */

/* Park until pidfd is readable (its process has ended).  0; -EINTR if a
 * handler without SA_RESTART ran on this thread meanwhile (with it, the
 * wait goes on, as natively); or another -errno. */
static int park_pidfd(int fd)
{
	struct smarm__intr w;
	int r;

	for (;;) {
		smarm__shim_intr_begin(&w);
		r = smarm_wait_readable(fd, SMARM_FOREVER);
		smarm__shim_intr_end(&w);
		if (r != -EINTR)
			return r < 0 ? r : 0;
		if (!smarm__shim_intr_restarts(&w))
			return -EINTR;
	}
}

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

SMARM_API pid_t wait4(pid_t pid, int *status, int opts, struct rusage *ru)
{
	struct job j = {.kind = J_WAIT4, .pid = pid, .status = status, .opts = opts, .ru = ru};
	int fd = -1, e;
	pid_t r;

	if (!smarm__shim_in_green() || (opts & WNOHANG))
		return real_wait4()(pid, status, opts, ru);
	if (pid <= 0 || (opts & (WUNTRACED | WCONTINUED)))
		return (pid_t)on_pool(&j);
	for (;;) {
		if ((r = real_wait4()(pid, status, opts | WNOHANG, ru)) != 0)
			break; /* collected, or an error (ECHILD ...) */
		if (fd < 0 && (fd = pidfd_of(pid)) < 0) {
			/* No pidfd (an old kernel, EMFILE): the pool. */
			r = (pid_t)on_pool(&j);
			break;
		}
		if ((e = park_pidfd(fd)) == -EINTR) {
			errno = EINTR;
			r = -1;
			break;
		}
		if (e < 0) {
			r = (pid_t)on_pool(&j);
			break;
		}
	}
	if (fd >= 0) {
		int saved = errno;
		smarm_close(fd);
		errno = saved;
	}
	return r;
}

SMARM_API pid_t waitpid(pid_t pid, int *status, int opts)
{
	return wait4(pid, status, opts, NULL);
}

SMARM_API pid_t wait(int *status)
{
	return wait4(-1, status, 0, NULL);
}

SMARM_API pid_t wait3(int *status, int opts, struct rusage *ru)
{
	return wait4(-1, status, opts, ru);
}

SMARM_API int waitid(idtype_t idt, id_t id, siginfo_t *info, int opts)
{
	struct job j = {.kind = J_WAITID, .idt = idt, .id = id, .info = info, .opts = opts};
	int fd = -1, r, e = 0;

	if (!smarm__shim_in_green() || (opts & WNOHANG))
		return real_waitid()(idt, id, info, opts);
	if ((idt != P_PID && idt != P_PIDFD) || (opts & (WSTOPPED | WCONTINUED)))
		return (int)on_pool(&j);
	for (;;) {
		/* WNOHANG with nothing to report leaves si_pid 0 (POSIX asks
		 * the caller to clear it first; we do it for them). */
		info->si_pid = 0;
		if ((r = real_waitid()(idt, id, info, opts | WNOHANG)) != 0 || info->si_pid != 0)
			break;
		if (fd < 0)
			fd = idt == P_PIDFD ? (int)id : pidfd_of((pid_t)id);
		if (fd >= 0 && (e = park_pidfd(fd)) == -EINTR) {
			errno = EINTR;
			r = -1;
			break;
		}
		if (fd < 0 || e < 0) {
			r = (int)on_pool(&j);
			break;
		}
	}
	if (fd >= 0 && idt == P_PID) {
		int saved = errno;
		smarm_close(fd);
		errno = saved;
	}
	return r;
}

/* ---- system, pclose ---- */

SMARM_API int system(const char *cmd)
{
	struct job j = {.kind = J_SYSTEM, .cmd = cmd};

	if (!smarm__shim_in_green())
		return real_system()(cmd);
	return (int)on_pool(&j);
}

SMARM_API int pclose(FILE *fp)
{
	struct job j = {.kind = J_PCLOSE, .fp = fp};

	if (!smarm__shim_in_green())
		return real_pclose()(fp);
	return (int)on_pool(&j);
}
