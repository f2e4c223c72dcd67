/* fault.c — a fault inside an actor becomes that actor's panic.
 *
 * Handled: SIGSEGV, SIGBUS, SIGFPE and SIGILL raised synchronously by an
 * instruction (si_code > 0) while a carrier runs an actor, on that actor's
 * stack, at a PC outside smarm's own code.  Everything else goes to the
 * handler that was installed before ours (ASan's, the program's) or gets the
 * default action, so the process dies as it would have without smarm:
 *   - faults outside actors (carrier idle loops, other threads);
 *   - faults at a PC in smarm's text (the switch path, the scheduler, any
 *     runtime code: it may hold one of its locks) or with a smarm frame on
 *     the stack below the actor's first (a libc call the runtime made for
 *     the actor, e.g. memcpy from a bad pointer given to smarm_send), found
 *     by a bounded frame-pointer walk (smarm is built with frame pointers;
 *     a program without them just ends the walk early);
 *   - a fault while the actor is already ending (fail_stage END);
 *   - signals sent by kill(2), raise(3), sigqueue(3) (si_code <= 0).
 * A fault while cleanup handlers run (fail_stage CLEANUP) ends the actor
 * at once, skipping the handlers left.
 *
 * How: the handler runs on the carrier's sigaltstack (SA_ONSTACK: an
 * overflowed stack has no room), formats a reason that names the signal,
 * the address and, for an overflow (a fault in the 16 KiB guard below
 * stack_lo), the stack size, reports it on stderr, and rewrites the
 * ucontext so that sigreturn resumes in fault_resume() on the actor's own
 * stack: RSP is put below the faulting frame (past the red zone) when
 * there is room for the end path and cleanup handlers (which refer to the
 * frames above, so those must stay intact), else just below the actor's
 * record at the top of its stack (an overflow: the frames are abandoned,
 * handlers skipped).  The reason string is copied onto that stack, RBP is
 * zeroed and a zero return address pushed so unwinders stop there, and the
 * FP control state, x87 stack and direction flag are reset to the ABI's.
 * fault_resume() ends the actor through smarm__actor_end like smarm_panic.
 * The handler is SA_NODEFER, so the signal is not blocked meanwhile and a
 * second fault is caught too; sigreturn restores the mask of the fault.
 *
 * SMARM_FAULTS=abort (read at each smarm_run): report, restore the default
 * action and return, so the instruction faults again and the process dies
 * of the signal, with a core dump where enabled.
 *
 * Async-signal safety: the handler reads the carrier's TLS pointer and the
 * actor record, formats with snprintf (only %s %p %zu conversions, which do
 * not allocate in glibc) and writes one line with write(2).
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "internal.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define ROOM ((size_t)48 << 10)
#else
#define ROOM ((size_t)12 << 10)
#endif

#define ALTSTACK ((size_t)64 << 10)
#define REDZONE 256 /* the ABI's 128-byte red zone, and some */

/* Linker-made bounds of the runtime's text (see the Makefile). */
extern const char __start_smarm_text[] __attribute__((visibility("hidden")));
extern const char __stop_smarm_text[] __attribute__((visibility("hidden")));

static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define NSIGS (sizeof sigs / sizeof sigs[0])
static struct sigaction old_sa[NSIGS];
static _Atomic int installed;
static _Atomic int abort_mode;

static struct sigaction *old_of(int sig)
{
	for (size_t i = 0; i < NSIGS; i++)
		if (sigs[i] == sig)
			return &old_sa[i];
	return NULL;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *old = old_of(sig);

	if (old && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old && old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	/* A fault re-executes and now kills; a signal someone sent does not. */
	if (si->si_code <= 0)
		raise(sig);
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	default: return "SIGILL";
	}
}

static const char *code_name(int sig, int code)
{
	switch (sig) {
	case SIGSEGV:
		return code == SEGV_MAPERR ? "address not mapped"
		       : code == SEGV_ACCERR ? "invalid permissions" : "segmentation fault";
	case SIGBUS:
		return code == BUS_ADRALN ? "invalid address alignment"
		       : code == BUS_ADRERR ? "nonexistent physical address"
		       : code == BUS_OBJERR ? "object-specific hardware error" : "bus error";
	case SIGFPE:
		switch (code) {
		case FPE_INTDIV: return "integer divide by zero";
		case FPE_INTOVF: return "integer overflow";
		case FPE_FLTDIV: return "floating-point divide by zero";
		case FPE_FLTOVF: return "floating-point overflow";
		case FPE_FLTUND: return "floating-point underflow";
		case FPE_FLTRES: return "floating-point inexact result";
		case FPE_FLTINV: return "invalid floating-point operation";
		case FPE_FLTSUB: return "subscript out of range";
		default: return "arithmetic exception";
		}
	default:
		switch (code) {
		case ILL_ILLOPC: return "illegal opcode";
		case ILL_ILLOPN: return "illegal operand";
		case ILL_ILLADR: return "illegal addressing mode";
		case ILL_ILLTRP: return "illegal trap";
		case ILL_PRVOPC: return "privileged opcode";
		case ILL_PRVREG: return "privileged register";
		case ILL_COPROC: return "coprocessor error";
		case ILL_BADSTK: return "internal stack error";
		default: return "illegal instruction";
		}
	}
}

static bool in_runtime(uintptr_t pc)
{
	return pc >= (uintptr_t)__start_smarm_text && pc < (uintptr_t)__stop_smarm_text;
}

/* Was the faulting code called by the runtime on the actor's behalf, i.e.
 * is there, among the callers of the faulting instruction, a function of
 * smarm's that was itself called by the program (user -> smarm_send ->
 * memcpy)?  The runtime functions the actor starts in (the trampoline,
 * entry_main's root) are the outermost frames and called by nobody: they
 * do not count.  Callers, innermost first:
 *   - the word at RSP, when the PC is in a library (libc's memcpy, strlen
 *     ...): a leaf there has pushed nothing, so it is its return address,
 *     into the function that called it — which the chain below skips, as
 *     rbp is still that function's own frame.  (When the PC is in the
 *     program, the word at RSP is one of its locals: not looked at.)
 *   - the frame-pointer chain, up to the actor's first frame (saved rbp 0,
 *     from smarm__ctx_entry).  smarm is built with frame pointers; a chain
 *     through code without them ends when it leaves the actor's stack
 *     (then: "no").
 * A false "yes" crashes the process instead of panicking the actor. */
__attribute__((no_sanitize_address)) static bool runtime_frames(const ucontext_t *uc,
								 const struct smarm__actor *a)
{
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP], hi = (uintptr_t)a;
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	bool rt = false; /* a smarm function seen further in */

	if (!smarm__preempt_app_code(pc) && sp >= (uintptr_t)a->stack_lo && sp <= hi - 8 &&
	    !(sp & 7) && in_runtime(*(const uintptr_t *)sp))
		rt = true;
	for (int i = 0; i < 100000; i++) {
		if (fp < sp || fp > hi - 16 || (fp & 7))
			return false;
		uintptr_t next = ((const uintptr_t *)fp)[0];
		uintptr_t ra = ((const uintptr_t *)fp)[1];
		if (next == 0)
			return false; /* ra is in smarm__ctx_entry: the first frame */
		if (in_runtime(ra))
			rt = true;
		else if (rt)
			return true;
		if (next <= fp)
			return false;
		fp = next;
	}
	return false;
}

/* Where sigreturn goes: the actor's own stack, as if called. */
__attribute__((noreturn, used)) static void fault_resume(struct smarm__actor *a,
							  const char *reason, long handlers)
{
	smarm__actor_end(a, SMARM_EXIT_PANIC, NULL, reason,
			 SMARM__END_LOGGED | (handlers ? SMARM__END_HANDLERS : 0));
}

/* Make sigreturn resume in fault_resume(a, reason, handlers) on a's stack. */
static void redirect(ucontext_t *uc, struct smarm__actor *a, const char *reason,
		     bool handlers)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t top, sp;
	size_t len = strlen(reason) + 1;
	char *r;

	top = handlers ? (uintptr_t)g[REG_RSP] - REDZONE : (uintptr_t)a - 64;
	top &= ~(uintptr_t)15;
#ifdef __SANITIZE_ADDRESS__
	/* Abandoned frames leave their redzones poisoned. */
	ASAN_UNPOISON_MEMORY_REGION(a->stack_lo, top - (uintptr_t)a->stack_lo);
#endif
	r = (char *)(top - SMARM_REASON_MAX);
	memmove(r, reason, len);
	sp = ((uintptr_t)r - 64) & ~(uintptr_t)15;
	sp -= 8; /* as after a call: rsp = 8 mod 16 at the first instruction */
	*(uintptr_t *)sp = 0;
	g[REG_RIP] = (greg_t)(uintptr_t)fault_resume;
	g[REG_RSP] = (greg_t)sp;
	g[REG_RBP] = 0;
	g[REG_RDI] = (greg_t)(uintptr_t)a;
	g[REG_RSI] = (greg_t)(uintptr_t)r;
	g[REG_RDX] = handlers;
	g[REG_EFL] &= ~(greg_t)0x400; /* DF: the ABI wants it clear */
	if (uc->uc_mcontext.fpregs) {
		uc->uc_mcontext.fpregs->cwd = 0x037f;  /* x87: ABI default */
		uc->uc_mcontext.fpregs->swd = 0;       /* no pending exception */
		uc->uc_mcontext.fpregs->ftw = 0;       /* empty x87 stack */
		uc->uc_mcontext.fpregs->mxcsr = 0x1f80; /* SSE: masked, nearest */
	}
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *a = c ? c->current : NULL;
	char reason[SMARM_REASON_MAX], what[SMARM_REASON_MAX], pid[32];
	uintptr_t pc, sp, lo, addr = (uintptr_t)si->si_addr;
	bool overflow, handlers;
	int stage, e = errno;

	if (!a || si->si_code <= 0)
		goto chain;
	pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	lo = (uintptr_t)a->stack_lo;
	/* Not on a's stack: a carrier between two actors. */
	if (sp < lo - smarm__stack_guard_size() || sp > (uintptr_t)a)
		goto chain;
	smarm_pid_format(a->pid, pid, sizeof pid);
	overflow = (sig == SIGSEGV || sig == SIGBUS) && addr < lo &&
		   addr >= lo - smarm__stack_guard_size();
	if (overflow) {
		smarm__msg("actor %s (%s) overflowed its %zu KiB stack%s", pid, a->name,
			   smarm__stack_nominal(a) >> 10,
			   atomic_load(&abort_mode) ? "" : ": the actor panics");
		snprintf(what, sizeof what,
			 "stack overflow: overflowed its %zu KiB stack (%s at address 0x%lx, "
			 "pc 0x%lx)", smarm__stack_nominal(a) >> 10, sig_name(sig),
			 (unsigned long)addr, (unsigned long)pc);
	} else if (sig == SIGSEGV || sig == SIGBUS) {
		snprintf(what, sizeof what, "%s (%s) at address 0x%lx, pc 0x%lx", sig_name(sig),
			 code_name(sig, si->si_code), (unsigned long)addr, (unsigned long)pc);
	} else {
		snprintf(what, sizeof what, "%s (%s) at pc 0x%lx", sig_name(sig),
			 code_name(sig, si->si_code), (unsigned long)pc);
	}
	stage = atomic_load_explicit(&a->fail_stage, memory_order_relaxed);
	if (atomic_load(&abort_mode)) {
		if (!overflow)
			smarm__msg("actor %s (%s) crashed: %s", pid, a->name, what);
		signal(sig, SIG_DFL);
		errno = e;
		return; /* the instruction faults again, now fatally */
	}
	if (in_runtime(pc) || stage == SMARM__STAGE_END ||
	    (stage == SMARM__STAGE_RUN && runtime_frames(uc, a))) {
		smarm__msg("actor %s (%s): %s inside the runtime%s; this is not "
			   "recoverable", pid, a->name, what,
			   stage == SMARM__STAGE_END ? " while the actor was ending" : "");
		goto chain;
	}
	if (stage == SMARM__STAGE_CLEANUP && a->ending) {
		smarm__fmt(reason, sizeof reason, "%s in a cleanup handler, while ending: %s",
			 what, a->ending->reason[0] ? a->ending->reason
			 : smarm_exit_str(a->ending->how));
		handlers = false;
	} else {
		snprintf(reason, sizeof reason, "%s", what);
		handlers = stage == SMARM__STAGE_RUN && !overflow && sp > lo &&
			   sp - lo >= ROOM + REDZONE + SMARM_REASON_MAX + 128;
	}
	if (!overflow)
		smarm__msg("actor %s (%s) crashed: %s: the actor panics", pid, a->name, what);
	redirect(uc, a, reason, handlers);
	errno = e;
	return;
chain:
	errno = e;
	chain(sig, si, ucv);
}

void smarm__fault_install(void)
{
	const char *m = getenv("SMARM_FAULTS");
	struct sigaction sa;

	if (m && *m && strcmp(m, "panic") != 0 && strcmp(m, "abort") != 0)
		smarm__msg("SMARM_FAULTS=%s is neither \"panic\" nor \"abort\"; using panic", m);
	atomic_store(&abort_mode, m && strcmp(m, "abort") == 0);
	if (atomic_exchange(&installed, 1))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGS; i++)
		sigaction(sigs[i], &sa, &old_sa[i]);
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
