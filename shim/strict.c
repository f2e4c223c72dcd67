/* strict.c — SMARM_STRICT: a seccomp net under the wrappers (DESIGN D3(c)).
 *
 * The symbol wrappers see what a program calls through the PLT; glibc's own
 * stdio, loader, NSS and lock code make their system calls directly.  In
 * strict mode every carrier installs, on itself only (never TSYNC), a
 * seccomp filter built with libseccomp that traps the blocking calls:
 *
 *   read write readv writev           always
 *   recvfrom sendto recvmsg sendmsg   without MSG_DONTWAIT
 *   poll epoll_wait epoll_pwait       with a timeout other than 0
 *   ppoll select pselect6 epoll_pwait2   always
 *   nanosleep clock_nanosleep         always
 *   wait4 waitid                      without WNOHANG
 *   futex                             FUTEX_WAIT, _WAIT_BITSET, _WAKE, _WAKE_BITSET
 *
 * SMARM_STRICT=park: the SIGSYS handler serves a trapped call made by a
 * green thread through the runtime and parks the green thread meanwhile
 * (strict_serve.c); SMARM_STRICT=audit: it reports each call site once
 * (strict_audit.c) and makes the call natively.  A call made with no green
 * thread running (a carrier's idle loop, carrier 0 after the runtime
 * stopped), in a forked child, or on a stack that is not the green
 * thread's (a program's signal handler on its sigaltstack) is made
 * natively.
 *
 * What passes the filter.  smarm's own calls go through smarm__sys
 * (runtime/sys_x86_64.S), one `syscall` instruction: the filter lets
 * through any call whose instruction pointer is the address after it.  The
 * filter is libseccomp's program with a five-instruction prefix that
 * checks seccomp_data.instruction_pointer (libseccomp has no rule on it):
 * whatever the call and its arguments, the runtime's idle futex and epoll
 * waits, the eventfd, the I/O it does for the program, and the native
 * re-issue of a trapped call all pass, and no magic value in an argument
 * register can collide with a program's.
 *
 * Which threads carry it.  Only carriers, each installing its own at the
 * start of its loop (smarm__carrier_start_hook), once carrier 0 has started
 * the other carriers and the monitor.  Filters are inherited by threads and
 * processes a filtered thread creates, and survive exec, so: pool threads
 * are created by a spawner thread made before any filter exists
 * (smarm__pool_create_hook); process creation runs on a pool thread
 * (strict_proc.c); a filtered process that execs dies of SIGSYS (measured).
 *
 * The handler (SA_SIGINFO | SA_NODEFER, never SA_ONSTACK; DESIGN D3(c)):
 *   - SA_NODEFER: a forced SIGSYS while SIGSYS is blocked kills the process,
 *     and a served call may park and the next trap on this carrier come
 *     from another green thread before this handler returns;
 *   - no SA_ONSTACK: the frame must be on the green stack, which is what
 *     parks; the handler may return on another carrier, so before
 *     sigreturn it writes this carrier's sigaltstack and mask into the
 *     ucontext (sigreturn restores both), and the result into its RAX.
 * A SIGSYS that is not ours (not SYS_SECCOMP, another filter's data, a
 * call we do not trap) goes to the program's own SIGSYS handler:
 * sigaction() and signal() for SIGSYS are interposed in strict mode and
 * only record what the program asks for.  (A program's own filter that
 * traps one of our calls with data 0 is indistinguishable from ours: its
 * handler is not told; LOOM.md.)
 *
 * Switching: the handler may switch (park mode); everything else here
 * never does.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS (<linux/siginfo.h>) */
#endif

enum { OFF = 0, PARK, AUDIT };

static int mode;                       /* [init] OFF, PARK or AUDIT */
static _Atomic bool forked;            /* set in a child of fork (atfork) */
static struct sock_fprog prog;         /* [init] the filter, prefix included */
static _Atomic bool filtered[1024];    /* by carrier id: carries the filter */

/* The program's SIGSYS disposition, as it asked for it (strict mode only). */
static struct sigaction prog_sys;      /* [sys_lock] */
static smarm__lock_t sys_lock = SMARM__LOCK_INIT;

/* Linker-made bounds of smarm's code (the Makefile's smarm_text). */
extern const char __start_smarm_text[] __attribute__((visibility("hidden")));
extern const char __stop_smarm_text[] __attribute__((visibility("hidden")));

bool smarm__strict_active(void)
{
	return mode != OFF;
}

bool smarm__strict_filtered(void)
{
	struct smarm__carrier *c = smarm__carrier();

	return mode != OFF && c && c->id < 1024 &&
	       atomic_load_explicit(&filtered[c->id], memory_order_relaxed);
}

/* ---- the filter ------------------------------------------------------------ */

#define FUTEX_CMD 0x7f /* FUTEX_CMD_MASK without the flags' high bits */

/* The rules (see the header for the list).  0 or -errno. */
static int add_rules(scmp_filter_ctx ctx)
{
	static const int always[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
		SCMP_SYS(epoll_pwait2), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	};
	static const int futex_ops[] = {FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE,
					FUTEX_WAKE_BITSET};
	int r = 0;

#define RULE(nr, ...) \
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_TRAP, nr, __VA_ARGS__)
	for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
		RULE(always[i], 0);
	RULE(SCMP_SYS(recvfrom), 1, SCMP_A3_32(SCMP_CMP_MASKED_EQ, MSG_DONTWAIT, 0));
	RULE(SCMP_SYS(sendto), 1, SCMP_A3_32(SCMP_CMP_MASKED_EQ, MSG_DONTWAIT, 0));
	RULE(SCMP_SYS(recvmsg), 1, SCMP_A2_32(SCMP_CMP_MASKED_EQ, MSG_DONTWAIT, 0));
	RULE(SCMP_SYS(sendmsg), 1, SCMP_A2_32(SCMP_CMP_MASKED_EQ, MSG_DONTWAIT, 0));
	RULE(SCMP_SYS(poll), 1, SCMP_A2_32(SCMP_CMP_NE, 0));
	RULE(SCMP_SYS(epoll_wait), 1, SCMP_A3_32(SCMP_CMP_NE, 0));
	RULE(SCMP_SYS(epoll_pwait), 1, SCMP_A3_32(SCMP_CMP_NE, 0));
	RULE(SCMP_SYS(wait4), 1, SCMP_A2_32(SCMP_CMP_MASKED_EQ, WNOHANG, 0));
	RULE(SCMP_SYS(waitid), 1, SCMP_A3_32(SCMP_CMP_MASKED_EQ, WNOHANG, 0));
	for (size_t i = 0; i < sizeof futex_ops / sizeof futex_ops[0]; i++)
		RULE(SCMP_SYS(futex), 1, SCMP_A1_32(SCMP_CMP_MASKED_EQ, FUTEX_CMD, futex_ops[i]));
#undef RULE
	return r;
}

/* Is (nr, args) a call our filter traps?  The handler's test that a
 * SYS_SECCOMP SIGSYS is ours. */
static bool trapped(long nr, const long a[6])
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_ppoll: case SYS_select: case SYS_pselect6: case SYS_epoll_pwait2:
	case SYS_nanosleep: case SYS_clock_nanosleep:
		return true;
	case SYS_recvfrom: case SYS_sendto:
		return !((int)a[3] & MSG_DONTWAIT);
	case SYS_recvmsg: case SYS_sendmsg:
		return !((int)a[2] & MSG_DONTWAIT);
	case SYS_poll:
		return (int)a[2] != 0;
	case SYS_epoll_wait: case SYS_epoll_pwait:
		return (int)a[3] != 0;
	case SYS_wait4:
		return !((int)a[2] & WNOHANG);
	case SYS_waitid:
		return !((int)a[3] & WNOHANG);
	case SYS_futex:
		switch ((int)a[1] & FUTEX_CMD) {
		case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_WAKE: case FUTEX_WAKE_BITSET:
			return true;
		}
		return false;
	}
	return false;
}

/* libseccomp's program for the rules, behind our prefix that lets
 * smarm__sys_pass through.  libseccomp 2.5 exports BPF only to an fd, so it
 * goes through a memfd.  0 or -errno. */
static int build_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint64_t ip = (uint64_t)(uintptr_t)smarm__sys_pass;
	struct sock_filter pre[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	size_t npre = sizeof pre / sizeof pre[0];
	struct sock_filter *f = NULL;
	off_t len;
	int fd = -1, r;

	if (!ctx)
		return -ENOMEM;
	if ((r = add_rules(ctx)) < 0)
		goto out;
	if ((fd = memfd_create("smarm-seccomp", MFD_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		goto out;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof *f || len / sizeof *f + npre > BPF_MAXINSNS) {
		r = -EINVAL;
		goto out;
	}
	if (!(f = malloc(npre * sizeof *f + len))) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(f, pre, sizeof pre);
	if (pread(fd, f + npre, len, 0) != len) {
		r = -EIO;
		goto out;
	}
	prog.len = (unsigned short)(npre + len / sizeof *f);
	prog.filter = f;
	f = NULL;
	r = 0;
out:
	free(f);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

/* Put the filter on the calling thread only.  0 or -errno. */
static int load_filter(void)
{
	/* Required to install a filter without CAP_SYS_ADMIN; per thread, so
	 * threads and processes created elsewhere keep their privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/* In the child of a fork the runtime is gone: every trapped call is made
 * natively.  (A child made with a raw clone(2) skips this; it must not
 * make trapped calls before it execs.) */
static void in_child(void)
{
	atomic_store(&forked, true);
}

/* 0 if a child process can install the filter, else -errno. */
static int probe_filter(void)
{
	pid_t pid = (pid_t)smarm__sys(SYS_fork, 0, 0, 0, 0, 0, 0);
	int st = 0;

	if (pid < 0)
		return pid;
	if (pid == 0)
		smarm__sys(SYS_exit_group, -load_filter(), 0, 0, 0, 0, 0);
	while (smarm__sys(SYS_wait4, pid, (long)&st, 0, 0, 0, 0) == -EINTR)
		;
	if (!WIFEXITED(st))
		return -ECHILD;
	return -WEXITSTATUS(st);
}

static void carrier_start(struct smarm__carrier *c)
{
	int r;

	if (c->id >= 1024)
		return;
	if ((r = load_filter()) < 0) {
		smarm__msg("SMARM_STRICT: carrier %d could not install its filter (%s); "
			   "it runs without", c->id, strerror(-r));
		return;
	}
	atomic_store(&filtered[c->id], true);
}

/* ---- the spawner: pool threads without the filter ---------------------------- */

/* One request at a time (req_lock); the spawner is a thread made before
 * any filter existed, so what it creates has none. */
static struct {
	smarm__lock_t req_lock;
	_Atomic uint32_t word;         /* futex: 0 idle, 1 request posted, 2 done */
	pthread_t *t;
	const pthread_attr_t *attr;
	void *(*fn)(void *);
	void *arg;
	sigset_t mask;                 /* the requester's: the new thread's */
	int result;
} spr = {.req_lock = SMARM__LOCK_INIT};

static void *spawner_main(void *unused)
{
	(void)unused;
	for (;;) {
		sigset_t old;
		uint32_t v;
		while ((v = atomic_load(&spr.word)) != 1)
			smarm__futex_wait(&spr.word, v, -1);
		smarm__real_pthread_sigmask(SIG_SETMASK, &spr.mask, &old);
		spr.result = smarm__real_pthread_create(spr.t, spr.attr, spr.fn, spr.arg);
		smarm__real_pthread_sigmask(SIG_SETMASK, &old, NULL);
		atomic_store(&spr.word, 2);
		smarm__futex_wake(&spr.word, 1);
	}
	return NULL;
}

static int clean_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			void *arg)
{
	int r;

	if (!smarm__strict_filtered())
		return smarm__real_pthread_create(t, attr, fn, arg);
	smarm__lock(&spr.req_lock);
	spr.t = t;
	spr.attr = attr;
	spr.fn = fn;
	spr.arg = arg;
	smarm__real_pthread_sigmask(SIG_BLOCK, NULL, &spr.mask);
	atomic_store(&spr.word, 1);
	smarm__futex_wake(&spr.word, 1);
	/* A thread creation: tens of microseconds with the carrier held. */
	while (atomic_load(&spr.word) != 2)
		smarm__futex_wait(&spr.word, 1, -1);
	r = spr.result;
	atomic_store(&spr.word, 0);
	smarm__unlock(&spr.req_lock);
	return r;
}

/* ---- the SIGSYS handler ---------------------------------------------------- */

/* The program's handler for a SIGSYS that is not ours, as it would have run
 * without us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction p;

	smarm__lock(&sys_lock);
	p = prog_sys;
	if (p.sa_flags & SA_RESETHAND) {
		prog_sys.sa_handler = SIG_DFL;
		prog_sys.sa_flags &= ~SA_SIGINFO;
	}
	smarm__unlock(&sys_lock);
	if (p.sa_flags & SA_SIGINFO) {
		if (p.sa_sigaction)
			p.sa_sigaction(sig, si, uc);
		return;
	}
	if (p.sa_handler == SIG_IGN)
		return;
	if (p.sa_handler != SIG_DFL) {
		p.sa_handler(sig);
		return;
	}
	/* The default action (a core dump): as natively, the process dies of
	 * this SIGSYS.  The signal stays pending until the handler returns. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	smarm__real_sigaction(SIGSYS, &dfl, NULL);
	smarm__sys(SYS_tgkill, smarm__sys(SYS_getpid, 0, 0, 0, 0, 0, 0),
		   smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), SIGSYS, 0, 0, 0);
}

/* May the trapped call be served for a green thread (park) or reported as
 * the program's (audit)?  Only for a green thread of the process that set
 * strict mode up (not a forked child), outside smarm's own text, on its own
 * stack (a program's signal handler on its sigaltstack, which belongs to
 * this carrier, must not park).  *site: who called (strict_audit.c). */
static bool green_call(struct smarm__carrier *c, uintptr_t pc, uintptr_t sp, int *site,
		       uintptr_t *caller)
{
	*caller = 0;
	if (!c->current || !smarm__shim_in_green() ||
	    atomic_load_explicit(&forked, memory_order_relaxed) ||
	    (pc >= (uintptr_t)__start_smarm_text && pc < (uintptr_t)__stop_smarm_text))
		return false;
	if (mode == AUDIT) {
		*site = smarm__strict_site(sp, caller);
		return *site != SMARM__SITE_OFFSTACK;
	}
	/* Park mode needs no caller: only that this is the green stack. */
	return sp >= (uintptr_t)c->current->stack_lo &&
	       sp < (uintptr_t)c->current->stack_lo + c->current->stack_size;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct smarm__carrier *c = smarm__carrier();
	long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
	long nr = si->si_syscall, r;
	uintptr_t caller;
	int e = errno, site = SMARM__SITE_UNKNOWN;

	/* Ours: a seccomp trap with our (zero) data for a call our rules trap.
	 * Not only on carriers: carrier 0's thread keeps its filter after the
	 * runtime stops (exit() runs there), and threads glibc creates itself
	 * from a carrier (timer_create's SIGEV_THREAD, aio) inherit it. */
	if (si->si_code != SYS_SECCOMP || si->si_errno != 0 || si->si_arch != AUDIT_ARCH_X86_64 ||
	    !trapped(nr, a)) {
		chain(sig, si, ucv);
		errno = e;
		return;
	}
	if (!c || !green_call(c, (uintptr_t)g[REG_RIP], (uintptr_t)g[REG_RSP], &site, &caller)) {
		r = smarm__sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	} else if (mode == AUDIT) {
		/* A caller in smarm is the runtime's own use of libc (the pool's
		 * condition variable, say): not the program's to hear about. */
		if (site != SMARM__SITE_SMARM)
			smarm__strict_audit_note(nr, (uintptr_t)g[REG_RIP], caller);
		r = smarm__sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	} else {
		/* Served whoever called: the stack scan is a heuristic (a stale
		 * return address into smarm, left by an earlier park, can sit in
		 * libc's frames), and making a lock wait natively here could
		 * block the carrier behind a parked holder.  The runtime's own
		 * libc calls with an actor current (pool.c's mutex and condition
		 * variable) are served correctly, if not as cheaply. */
		r = smarm__strict_serve(nr, a);
		if (smarm__carrier() != c) {
			/* Resumed on another carrier: sigreturn must install this
			 * thread's altstack and mask, not the old carrier's. */
			stack_t ss;
			if (sigaltstack(NULL, &ss) == 0)
				uc->uc_stack = ss;
			smarm__real_pthread_sigmask(SIG_SETMASK, NULL, &uc->uc_sigmask);
		}
	}
	g[REG_RAX] = r;
	errno = e;
}

/* ---- SIGSYS belongs to us: what the program asks for is recorded -------------- */

/* A forced SIGSYS that is blocked kills the process (the kernel resets it
 * to the default), so in strict mode SIGSYS is never blocked: not while
 * another signal's handler runs (sa_mask), not by sigprocmask or
 * pthread_sigmask (shim/signal.c strips it from every mask). */
SMARM_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (mode != OFF && sig != SIGSYS && act && sigismember(&act->sa_mask, SIGSYS) == 1) {
		struct sigaction a = *act;
		sigdelset(&a.sa_mask, SIGSYS);
		return smarm__real_sigaction(sig, &a, old);
	}
	if (sig != SIGSYS || mode == OFF)
		return smarm__real_sigaction(sig, act, old);
	smarm__lock(&sys_lock);
	if (old)
		*old = prog_sys;
	if (act)
		prog_sys = *act;
	smarm__unlock(&sys_lock);
	return 0;
}

SMARM_API sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction sa, old;

	if (sig != SIGSYS || mode == OFF)
		return smarm__real_signal(sig, h);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_RESTART; /* glibc's signal() is BSD's */
	sigemptyset(&sa.sa_mask);
	if (h != SIG_DFL && h != SIG_IGN)
		sigaddset(&sa.sa_mask, SIGSYS);
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* ---- set-up ---------------------------------------------------------------- */

void smarm__strict_init(void)
{
	const char *s = getenv("SMARM_STRICT");
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int want, r, probe;

	if (!s || !*s || strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		return;
	if (strcmp(s, "park") == 0) {
		want = PARK;
	} else if (strcmp(s, "audit") == 0) {
		want = AUDIT;
	} else {
		smarm__msg("SMARM_STRICT=%s is neither \"park\" nor \"audit\"; strict mode is off", s);
		return;
	}
	if ((r = build_filter()) < 0) {
		smarm__msg("SMARM_STRICT: cannot build the seccomp filter (%s); strict mode is off",
			   strerror(-r));
		return;
	}
	/* Try it in a child process first: a kernel without seccomp, or a
	 * container that refuses it, must not cost the program its carrier
	 * (and a probe thread would linger in /proc/self/task for a while
	 * after its join). */
	if ((probe = probe_filter()) < 0) {
		smarm__msg("SMARM_STRICT: seccomp is unavailable here (%s); strict mode is off",
			   strerror(-probe));
		return;
	}
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)64 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	smarm__real_pthread_sigmask(SIG_SETMASK, &all, &old);
	r = smarm__real_pthread_create(&t, &attr, spawner_main, NULL);
	smarm__real_pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		smarm__msg("SMARM_STRICT: cannot start its spawner thread (%s); strict mode is off",
			   strerror(r));
		return;
	}
	smarm__real_pthread_setname_np(t, "smarm-spawner");
	/* The program's SIGSYS disposition before us (a constructor may have
	 * set one) is what a SIGSYS that is not ours goes to. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	smarm__real_sigaction(SIGSYS, &sa, &prog_sys);
	pthread_atfork(NULL, NULL, in_child);
	mode = want;
	smarm__strict_sites_init(mode == AUDIT);
	smarm__pool_create_hook = clean_create;
	smarm__carrier_start_hook = carrier_start;
}
