/* strict_proc.c — process creation in strict mode: never on a filtered
 * carrier.
 *
 * A seccomp filter is inherited by every thread and process its thread
 * creates and survives exec, so a child made on a carrier that carries
 * strict mode's filter dies of SIGSYS at its first trapped call after exec
 * (measured: system("true") from a filtered thread is killed).  Pool threads
 * never carry it (strict.c), so:
 *
 *   system, popen, posix_spawn, posix_spawnp
 *        run on a pool thread (smarm__strict_clean_call) with the caller's
 *        signal mask, the green thread parked meanwhile;
 *   fork the fork itself runs on a pool thread, once the green thread has
 *        switched out (its stack is then still as the copy will see it);
 *        the parent's green thread gets the pid back; the child — a copy of
 *        that pool thread, the only thread of the new process — jumps onto
 *        the green thread's stack, back into smarm__strict_fork, and returns
 *        0 there.  The child runs the program's code on the pool thread's
 *        TCB (glibc's fork set that one up for the child: its tid, its
 *        thread list), so the shim's wrappers see a plain thread and call
 *        libc's functions, and a __thread variable reads the pool thread's
 *        copy, not the green thread's (LOOM.md).
 *   timer_create and mq_notify (SIGEV_THREAD), aio_* and lio_listio: glibc
 *        makes helper threads of its own from the calling thread; they run
 *        on a pool thread so those threads never carry the filter;
 *   exec* (execve, execv, execvp, execvpe, execl, execlp, execle) from a
 *        green thread itself: the exec runs on a pool thread, which becomes
 *        the new program's only thread (fexecve and the execveat system
 *        call are not covered: a program that uses them in strict mode
 *        gets the filter in the new program);
 *
 * Everything else is as natively: without strict mode, or from a thread
 * that does not carry the filter, these are libc's functions.
 *
 * For shim/proc.c (another branch wraps fork/system/popen/waitpid for the
 * default mode): in strict mode its wrappers must call
 * smarm__strict_fork() for fork and smarm__strict_clean_call() for the rest
 * when smarm__strict_filtered(); this file's definitions then go.
 *
 * Switching: each wrapper here may switch (the caller parks); the child's
 * side of a fork never switches.
 */
#include <aio.h>
#include <mqueue.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "shim.h"

struct clean_job {
	void *(*fn)(void *);
	void *arg;
	sigset_t mask;
};

static void *clean_run(void *p)
{
	struct clean_job *j = p;
	sigset_t old;
	void *r;

	smarm__real_pthread_sigmask(SIG_SETMASK, &j->mask, &old);
	r = j->fn(j->arg);
	smarm__real_pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void *smarm__strict_clean_call(void *(*fn)(void *), void *arg)
{
	struct clean_job j = {.fn = fn, .arg = arg};
	void *r = NULL;

	smarm__real_pthread_sigmask(SIG_BLOCK, NULL, &j.mask);
	smarm_block_on_io(clean_run, &j, &r);
	return r;
}

/* ---- fork -------------------------------------------------------------------- */

struct fork_job {
	struct smarm__actor *self;
	void *jb[5];            /* __builtin_setjmp's buffer: the child's way back */
	sigset_t mask;
	pid_t pid;
	int err;
};

static void *fork_run(void *p)
{
	struct fork_job *j = p;
	pid_t (*real_fork)(void) = REAL_FN(fork);
	sigset_t old;

	/* The green thread parks right after handing us the job; its stack
	 * must be at rest before it is copied. */
	while (atomic_load_explicit(&j->self->on_cpu, memory_order_acquire))
		__builtin_ia32_pause();
	smarm__real_pthread_sigmask(SIG_SETMASK, &j->mask, &old);
	j->pid = real_fork();
	if (j->pid == 0)
		__builtin_longjmp(j->jb, 1); /* the child: onto the green stack */
	j->err = errno;
	smarm__real_pthread_sigmask(SIG_SETMASK, &old, NULL);
	return NULL;
}

pid_t smarm__strict_fork(void)
{
	struct fork_job j;

	j.self = smarm__self();
	smarm__real_pthread_sigmask(SIG_BLOCK, NULL, &j.mask);
	if (__builtin_setjmp(j.jb))
		return 0; /* the child, on the copy of the pool thread */
	smarm_block_on_io(fork_run, &j, NULL);
	if (j.pid < 0)
		errno = j.err;
	return j.pid;
}

SMARM_API pid_t fork(void)
{
	if (smarm__strict_filtered() && smarm__shim_in_green())
		return smarm__strict_fork();
	return REAL_FN(fork)();
}

/* ---- the rest run on a pool thread -------------------------------------------- */

/* system() is shim/proc.c's: it always runs on a pool thread, which never
 * carries the filter. */

struct popen_job {
	const char *cmd, *type;
	FILE *result;
	int err;
};

static void *popen_run(void *p)
{
	struct popen_job *j = p;
	FILE *(*real_popen)(const char *, const char *) = REAL_FN(popen);

	j->result = real_popen(j->cmd, j->type);
	j->err = errno;
	return NULL;
}

SMARM_API FILE *popen(const char *cmd, const char *type)
{
	struct popen_job j = {.cmd = cmd, .type = type};

	if (!(smarm__strict_filtered() && smarm__shim_in_green()))
		return REAL_FN(popen)(cmd, type);
	smarm__strict_clean_call(popen_run, &j);
	errno = j.err;
	return j.result;
}

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

struct spawn_job {
	spawn_fn fn;
	pid_t *pid;
	const char *path;
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
	char *const *argv, *const *envp;
	int result;
};

static void *spawn_run(void *p)
{
	struct spawn_job *j = p;

	j->result = j->fn(j->pid, j->path, j->fa, j->attr, j->argv, j->envp);
	return NULL;
}

static int spawn(void *fn, pid_t *pid, const char *path,
		 const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		 char *const argv[], char *const envp[])
{
	struct spawn_job j = {(spawn_fn)fn, pid, path, fa, attr, argv, envp, 0};

	if (!(smarm__strict_filtered() && smarm__shim_in_green()))
		return j.fn(pid, path, fa, attr, argv, envp);
	smarm__strict_clean_call(spawn_run, &j);
	return j.result;
}

SMARM_API int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn((void *)REAL_FN(posix_spawn), pid, path, fa, attr, argv, envp);
}

SMARM_API int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn((void *)REAL_FN(posix_spawnp), pid, file, fa, attr, argv, envp);
}

/* ---- threads glibc creates itself --------------------------------------------
 *
 * timer_create with SIGEV_THREAD, mq_notify with SIGEV_THREAD and the aio
 * calls make OS threads of glibc's own (not through pthread_create's PLT
 * entry) from the calling thread; made on a filtered carrier they would
 * inherit the filter, and they run with every signal blocked, so their
 * first trapped call would kill the process.  The first such call, which
 * creates glibc's helper thread, runs on a pool thread instead; so do the
 * rest (cheap, and the helper may be re-created). */

struct call_job {
	long (*fn)(long, long, long, long);
	long a[4], result;
	int err;
};

static void *call_run(void *p)
{
	struct call_job *j = p;

	j->result = j->fn(j->a[0], j->a[1], j->a[2], j->a[3]);
	j->err = errno;
	return NULL;
}

/* fn(a...) here, or on a pool thread if the caller carries the filter. */
static long clean_or_here(void *fn, long a0, long a1, long a2, long a3)
{
	struct call_job j = {(long (*)(long, long, long, long))fn,
			     {a0, a1, a2, a3}, 0, 0};

	if (!(smarm__strict_filtered() && smarm__shim_in_green()))
		return j.fn(a0, a1, a2, a3);
	smarm__strict_clean_call(call_run, &j);
	errno = j.err;
	return j.result;
}

SMARM_API int timer_create(clockid_t clk, struct sigevent *sev, timer_t *t)
{
	if (sev && sev->sigev_notify == SIGEV_THREAD)
		return (int)clean_or_here((void *)REAL_FN(timer_create), clk, (long)sev, (long)t, 0);
	return REAL_FN(timer_create)(clk, sev, t);
}

SMARM_API int mq_notify(int mq, const struct sigevent *sev)
{
	if (sev && sev->sigev_notify == SIGEV_THREAD)
		return (int)clean_or_here((void *)REAL_FN(mq_notify), mq, (long)sev, 0, 0);
	return REAL_FN(mq_notify)(mq, sev);
}

#define AIO1(name, cbtype)                                                           \
	SMARM_API int name(struct cbtype *cb)                                          \
	{                                                                              \
		return (int)clean_or_here((void *)REAL_FN(name), (long)cb, 0, 0, 0);           \
	}
AIO1(aio_read, aiocb)
AIO1(aio_write, aiocb)
AIO1(aio_read64, aiocb64)
AIO1(aio_write64, aiocb64)

SMARM_API int aio_fsync(int op, struct aiocb *cb)
{
	return (int)clean_or_here((void *)REAL_FN(aio_fsync), op, (long)cb, 0, 0);
}

SMARM_API int aio_fsync64(int op, struct aiocb64 *cb)
{
	return (int)clean_or_here((void *)REAL_FN(aio_fsync64), op, (long)cb, 0, 0);
}

SMARM_API int lio_listio(int mode, struct aiocb *const list[], int n, struct sigevent *sev)
{
	return (int)clean_or_here((void *)REAL_FN(lio_listio), mode, (long)list, n, (long)sev);
}

SMARM_API int lio_listio64(int mode, struct aiocb64 *const list[], int n,
			   struct sigevent *sev)
{
	return (int)clean_or_here((void *)REAL_FN(lio_listio64), mode, (long)list, n, (long)sev);
}

/* ---- exec: the new program must not inherit the filter ------------------------ */

/* The exec happens on a pool thread, which becomes the new program's only
 * thread (the kernel ends the others, the carriers included, as for any
 * exec from a thread that is not the first).  Returns only on failure. */
struct exec_job {
	int (*fn)(const char *, char *const[], char *const[]); /* execve or execvpe */
	const char *path;
	char *const *argv, *const *envp;
	int err;
};

static void *exec_run(void *p)
{
	struct exec_job *j = p;

	j->fn(j->path, j->argv, j->envp);
	j->err = errno;
	return NULL;
}

static int exec_clean(void *fn, const char *path, char *const argv[], char *const envp[])
{
	struct exec_job j = {(int (*)(const char *, char *const[], char *const[]))fn, path, argv,
			     envp, 0};

	smarm__strict_clean_call(exec_run, &j);
	errno = j.err;
	return -1;
}

static bool exec_here(void)
{
	return !(smarm__strict_filtered() && smarm__shim_in_green());
}

SMARM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	if (exec_here())
		return REAL_FN(execve)(path, argv, envp);
	return exec_clean((void *)REAL_FN(execve), path, argv, envp);
}

SMARM_API int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SMARM_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (exec_here())
		return REAL_FN(execvpe)(file, argv, envp);
	return exec_clean((void *)REAL_FN(execvpe), file, argv, envp);
}

SMARM_API int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The list forms: their arguments into a vector on the stack (as glibc
 * does), then the vector form. */
#define ARGV_FROM_LIST(arg, argv, want_env, envp_out)                                        \
	va_list ap;                                                                  \
	size_t n = 1;                                                                \
	va_start(ap, arg);                                                           \
	while (va_arg(ap, char *))                                                   \
		n++;                                                                 \
	va_end(ap);                                                                  \
	char *argv[n + 1];                                                           \
	argv[0] = (char *)(arg);                                                     \
	va_start(ap, arg);                                                           \
	for (size_t i = 1; i <= n; i++)                                              \
		argv[i] = va_arg(ap, char *);                                        \
	if (want_env)                                                                \
		*(envp_out) = va_arg(ap, char **);                                   \
	va_end(ap)

SMARM_API int execl(const char *path, const char *arg, ...)
{
	char **unused;
	ARGV_FROM_LIST(arg, argv, 0, &unused);
	return execve(path, argv, environ);
}

SMARM_API int execlp(const char *file, const char *arg, ...)
{
	char **unused;
	ARGV_FROM_LIST(arg, argv, 0, &unused);
	return execvpe(file, argv, environ);
}

SMARM_API int execle(const char *path, const char *arg, ...)
{
	char **envp = NULL;
	ARGV_FROM_LIST(arg, argv, 1, &envp);
	return execve(path, argv, envp);
}
