/* fault.c — stack overflow reports, on a per-carrier alternate signal stack.
 *
 * An actor that runs off the bottom of its stack touches the guard below
 * stack_lo (stack.c) and takes SIGSEGV there; the handler cannot run on the
 * exhausted stack, so each carrier has a sigaltstack.  The handler names the
 * actor and its stack size, restores the default action and returns: the
 * faulting instruction runs again and the process dies of SIGSEGV, with a
 * core dump where enabled.  Faults that are not a guard hit go to whatever
 * handler was installed before us (ASan's, a program's), or get the default
 * action.  (The failure-model issue will turn a guard hit into a panic of
 * that actor alone.)
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define ALTSTACK ((size_t)64 << 10)

static struct sigaction old_segv, old_bus;
static _Atomic int installed;

static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;

	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	/* A fault re-executes and now kills; a signal someone sent does not. */
	if (si->si_code <= 0)
		raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *a = c ? c->current : NULL;
	char *addr = si->si_addr;

	if (a && si->si_code > 0) {
		char *lo = a->stack_lo;
		if (addr < lo && addr >= lo - smarm__stack_guard_size()) {
			char pid[32];
			smarm__msg("actor %s (%s) overflowed its %zu KiB stack",
				   smarm_pid_format(a->pid, pid, sizeof pid), a->name,
				   smarm__stack_nominal(a) >> 10);
			signal(SIGSEGV, SIG_DFL);
			signal(SIGBUS, SIG_DFL);
			return;
		}
	}
	chain(sig, si, uc);
}

void smarm__fault_install(void)
{
	struct sigaction sa;

	if (atomic_exchange(&installed, 1))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
}

int smarm__fault_init_thread(struct smarm__carrier *c)
{
	stack_t ss;
	void *m = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return -errno;
	ss.ss_sp = m;
	ss.ss_size = ALTSTACK;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0) {
		int e = -errno;
		munmap(m, ALTSTACK);
		return e;
	}
	c->altstack = m;
	c->altstack_size = ALTSTACK;
	return 0;
}

void smarm__fault_fini_thread(struct smarm__carrier *c)
{
	stack_t ss = {.ss_flags = SS_DISABLE};

	if (!c->altstack)
		return;
	sigaltstack(&ss, NULL);
	munmap(c->altstack, c->altstack_size);
	c->altstack = NULL;
}
