/* signal.c — signals for drop-in green threads: per-thread masks,
 * pthread_kill/pthread_sigqueue/raise, sigwait and friends, sigsuspend and
 * pause, and EINTR for parked waits.
 *
 * The kernel delivers signals to carriers, not to green threads, so this
 * file arranges which carrier may take which signal, and keeps the rest:
 *
 * Masks.  Each green thread's mask is a->sigmask (bit s-1: signal s),
 * inherited from its creator; main starts with the process's.  A new
 * thread runs its first few instructions (the trampoline up to
 * smarm__sig_thread_start) with whatever mask its carrier had: the
 * scheduler does not call the hook for an actor's first switch-in, since
 * its record has no mask yet.  A carrier
 * running a green thread has that thread's mask in the kernel: the
 * scheduler calls switch_hook after a switch when a->sigmask differs from
 * what the carrier has (c->sigmask), so a program that never changes masks
 * pays nothing, and one that does pays one rt_sigprocmask per switch
 * between threads whose masks differ.  A carrier about to sleep blocks
 * every signal (smarm__sig_idle_mask): a process-directed signal then goes
 * to a carrier running a thread that does not block it, if any (its handler
 * runs on that thread, as natively), and otherwise stays pending in the
 * kernel — where sigwait, sigtimedwait and signalfd find it, and where
 * pthread_sigmask's unblock delivers it, as natively.  The runtime's own
 * signals (SIGURG for preemption, the synchronous fault signals, glibc's
 * 32/33) are never blocked in the kernel (KEEP), whatever the thread asks.
 *
 * Pending signals nobody running takes.  A signalfd for every signal but
 * KEEP sits in the netpoller (edge-triggered, never read: it only says
 * "something new is pending"), registered when carrier 0 binds, and again
 * in a fork's child (a new epoll set) before its carrier first sleeps.  Its event runs
 * on_event on a carrier, which looks at sigpending() and, per signal:
 *   1. a thread in sigwait/sigwaitinfo/sigtimedwait for it: wake it (it
 *      takes the signal itself with a zero-timeout sigtimedwait);
 *   2. a signal that would not run a handler (SIG_IGN, or a default action
 *      that ignores or stops): unblock it here for a moment, so the kernel
 *      disposes of it as natively;
 *   3. blocked by every green thread: leave it pending (native);
 *   4. a thread parked interruptibly (sleep family, pause, sigsuspend, and
 *      waits that adopt smarm__shim_intr_*) that does not block it — the
 *      main thread first, as the kernel prefers the thread group leader —:
 *      wake it; when it is switched in, its mask goes into the kernel, which
 *      delivers the signal to it there (the handler runs on that thread),
 *      and its wait returns EINTR;
 *   5. otherwise (the threads that would take it are running, runnable or
 *      in waits that are not interrupted: mutexes, joins): unblock it here
 *      for a moment — the handler runs on this carrier's own stack, where
 *      pthread_self() is the main thread's.  Documented in LOOM.md.
 *
 * Thread-directed signals (pthread_kill, pthread_sigqueue, raise) are kept
 * per green thread (a->sigpend) and sent to the carrier with tgkill or
 * rt_tgsigqueueinfo only while that thread runs there unblocked: at once
 * for the caller itself, otherwise when the target is next switched in
 * (switch_hook), when it unblocks the signal, or, if it is parked
 * interruptibly, by waking it with EINTR first.  The kernel then runs the
 * handler on the target green thread with native siginfo (SI_TKILL or
 * SI_QUEUE, our pid and uid).  One pending instance per signal and thread;
 * pthread_sigqueue values are kept in a small table (SQ_MAX entries; past
 * that the signal is sent without its value).
 *
 * Interruptible waits publish a struct smarm__intr on `waiters` and in
 * a->sigx under wl, with the thread already WAITING, so a waker that finds
 * the node can always complete the wake (smarm__wake's CAS), and a thread
 * that has left its wait is never found.
 *
 * Lock order: a slot lock -> wl -> the scheduler's locks.  wl is never
 * held across a switch, and never taken in a signal handler.
 * Switching: the parks (sleep family through sleep.c, pause, sigsuspend,
 * the sigwait family) may switch; nothing else here does.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define BIT(s) (1ull << ((s) - 1))
#define ALL (~0ull)
#define KEEP (BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGURG) | BIT(SIGSEGV) | BIT(SIGBUS) | \
	      BIT(SIGILL) | BIT(SIGFPE) | BIT(SIGTRAP) | BIT(SIGSYS) | BIT(32) | BIT(33))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP) | BIT(32) | BIT(33))
#define SQ_MAX 64
/* a->sigx once the thread has ended (signals to it are dropped). */
#define ENDED ((struct smarm__intr *)1)

static smarm__lock_t wl = SMARM__LOCK_INIT;
static struct smarm__intr *waiters;   /* [wl] interruptible waits */
static int ngreen;                    /* [wl] green threads alive */
static int nblock[64];                /* [wl] how many of them block signal i+1 */
static int sfd = -1, sfd_epfd = -1;   /* [wl] our signalfd; the set it is in */
static uint64_t initial_mask;         /* the process's at carrier 0's bind */
static bool initial_taken;
static struct {                       /* [wl] pthread_sigqueue values */
	struct smarm__actor *a;
	int sig;
	union sigval v;
} sq[SQ_MAX];

SMARM_REAL_FN(int, sigprocmask, (int, const sigset_t *, sigset_t *))
SMARM_REAL_FN(int, pthread_kill, (pthread_t, int))
SMARM_REAL_FN(int, sigwait, (const sigset_t *, int *))
SMARM_REAL_FN(int, sigwaitinfo, (const sigset_t *, siginfo_t *))
SMARM_REAL_FN(int, sigtimedwait, (const sigset_t *, siginfo_t *, const struct timespec *))
SMARM_REAL_FN(int, sigsuspend, (const sigset_t *))
SMARM_REAL_FN(int, pause, (void))

static uint64_t u64_of(const sigset_t *s)
{
	uint64_t m;
	memcpy(&m, s, sizeof m);
	return m;
}

static void set_of(uint64_t m, sigset_t *s)
{
	sigemptyset(s);
	memcpy(s, &m, sizeof m);
}

/* Put mask m (minus KEEP) into the kernel for the calling carrier thread.
 * A pending signal it unblocks is delivered before this returns. */
static void apply(struct smarm__carrier *c, uint64_t m)
{
	sigset_t s;

	set_of(m & ~KEEP, &s);
	smarm__real_pthread_sigmask(SIG_SETMASK, &s, NULL);
	c->sigmask = m;
}

/* Would signal s run a handler (or end the process)?  Not if it is ignored
 * or its default action ignores it or stops the process. */
static bool interrupts(int s)
{
	struct sigaction sa;

	if (sigaction(s, NULL, &sa) != 0 || sa.sa_handler == SIG_IGN)
		return false;
	if (sa.sa_handler != SIG_DFL)
		return true;
	switch (s) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	}
	return true;
}

/* Let the kernel deliver pending signal s to the calling thread now. */
static void deliver_here(int s)
{
	sigset_t one;

	sigemptyset(&one);
	sigaddset(&one, s);
	smarm__real_pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	smarm__real_pthread_sigmask(SIG_BLOCK, &one, NULL);
}

static void counts(uint64_t m, int d)
{
	for (int i = 0; m; i++, m >>= 1)
		if (m & 1)
			nblock[i] += d;
}

static void unlink_w(struct smarm__intr *w)
{
	if ((*w->pprev = w->next))
		w->next->pprev = w->pprev;
	w->pprev = NULL;
	w->a->sigx = NULL;
}

bool smarm__shim_sig_restarts(int sig);

/* Wake w's thread for signal s (wl held).  False if it was not parked yet
 * (a wait listed with smarm__shim_intr_begin, before its park): it then
 * goes on waiting, and the signal must find another taker. */
static bool wake_w(struct smarm__intr *w, int s)
{
	unlink_w(w);
	w->sig = s;
	w->when = smarm__now();
	/* As the kernel decides SA_RESTART when it sets up the handler: the
	 * program may change the action before the thread runs again. */
	w->restart = smarm__shim_sig_restarts(s);
	return smarm__wake(w->a, -EINTR);
}

/* ---- sending to the running thread ---- */

/* Send s to the calling carrier thread, for the green thread it runs (which
 * does not block s): the kernel runs the handler before this returns. */
static void send_self(struct smarm__actor *a, int s)
{
	union sigval v;
	bool queued = false;

	smarm__lock(&wl);
	for (int i = 0; i < SQ_MAX; i++) {
		if (sq[i].a == a && sq[i].sig == s) {
			v = sq[i].v;
			sq[i].a = NULL;
			queued = true;
			break;
		}
	}
	smarm__unlock(&wl);
	if (queued) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = s;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value = v;
		syscall(SYS_rt_tgsigqueueinfo, getpid(), smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), s, &si);
	} else {
		syscall(SYS_tgkill, getpid(), smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), s);
	}
}

/* Deliver a's pending thread-directed signals that it does not block; a is
 * the caller, running with its own mask in the kernel. */
static void deliver_pending(struct smarm__actor *a)
{
	uint64_t p;

	while ((p = atomic_load(&a->sigpend) & ~a->sigmask)) {
		int s = __builtin_ctzll(p) + 1;
		if (atomic_fetch_and(&a->sigpend, ~BIT(s)) & BIT(s))
			send_self(a, s);
	}
}

/* The scheduler's hook (internal.h): a switched in, or c going to sleep. */
static void switch_hook(struct smarm__carrier *c, struct smarm__actor *a)
{
	int e = errno;

	if (!a) {
		if (!initial_taken) {
			/* Carrier 0's bind, on the main thread, after every
			 * constructor: the mask main() would have natively. */
			sigset_t cur;
			smarm__real_pthread_sigmask(SIG_BLOCK, NULL, &cur);
			initial_mask = u64_of(&cur);
			initial_taken = true;
		}
		if (sfd_epfd != smarm__rt.epfd)
			smarm__sig_register();
		apply(c, smarm__sig_idle_mask);
	} else {
		if (a->sigmask != c->sigmask)
			apply(c, a->sigmask);
		if (atomic_load(&a->sigpend) & ~a->sigmask)
			deliver_pending(a);
	}
	errno = e;
}

/* ---- the netpoller's half ---- */

void smarm__sig_register(void)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = SMARM__SIG_TOKEN};
	int e = errno;

	smarm__lock(&wl);
	if (sfd < 0) {
		sigset_t s;
		set_of(ALL & ~KEEP, &s);
		sfd = smarm__fd_high(signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK));
	}
	if (sfd >= 0 && smarm__rt.epfd >= 0 && sfd_epfd != smarm__rt.epfd &&
	    epoll_ctl(smarm__rt.epfd, EPOLL_CTL_ADD, sfd, &ev) == 0)
		sfd_epfd = smarm__rt.epfd;
	smarm__unlock(&wl);
	errno = e;
}

/* The interruptibly parked thread that takes process-directed signal s
 * (wl held): the main thread if it does not block s, as the kernel prefers
 * the thread group leader; else the first that does not.  NULL if none. */
static struct smarm__intr *pick_waiter(int s)
{
	struct smarm__intr *w, *first = NULL;

	for (w = waiters; w; w = w->next) {
		if (!(w->accept & BIT(s)))
			continue;
		if (w->a->pid == smarm__rt.root)
			return w;
		if (!first)
			first = w;
	}
	return first;
}

static void on_event(void)
{
	sigset_t ps;
	uint64_t pend;
	int e = errno;

	if (sigpending(&ps) != 0)
		goto out;
	pend = u64_of(&ps) & ~KEEP;
	while (pend) {
		int s = __builtin_ctzll(pend) + 1;
		struct smarm__intr *w;
		bool intr = interrupts(s);

		pend &= ~BIT(s);
		smarm__lock(&wl);
		for (w = waiters; w && !(w->waitset & BIT(s)); w = w->next)
			;
		if (w) {
			wake_w(w, s);
			smarm__unlock(&wl);
			continue;
		}
		if (intr && ngreen > 0 && nblock[s - 1] >= ngreen) {
			smarm__unlock(&wl);
			continue; /* blocked by every thread: pending, as natively */
		}
		bool woken = false;
		while (intr && !woken && (w = pick_waiter(s)))
			woken = wake_w(w, s);
		if (woken) {
			smarm__unlock(&wl);
			continue;
		}
		smarm__unlock(&wl);
		/* On an actor's stack (a busy carrier reaping epoll), only if
		 * that thread itself takes the signal. */
		struct smarm__actor *self = smarm__self();
		if (!self || !(self->sigmask & BIT(s)))
			deliver_here(s);
	}
out:
	errno = e;
}

/* ---- threads ---- */

uint64_t smarm__sig_initial_mask(void)
{
	return initial_mask;
}

void smarm__sig_thread_start(uint64_t mask)
{
	struct smarm__actor *a = smarm__self();
	struct smarm__carrier *c = smarm__carrier();

	mask &= ~UNBLOCKABLE;
	smarm__lock(&wl);
	ngreen++;
	counts(mask, 1);
	a->sigmask = mask;
	smarm__unlock(&wl);
	if (c->sigmask != mask)
		apply(c, mask);
}

void smarm__sig_thread_end(void)
{
	struct smarm__actor *a = smarm__self();

	smarm__lock(&wl);
	ngreen--;
	counts(a->sigmask, -1);
	a->sigx = ENDED;
	for (int i = 0; i < SQ_MAX; i++)
		if (sq[i].a == a)
			sq[i].a = NULL;
	smarm__unlock(&wl);
}

void smarm__sig_fork_child(void)
{
	struct smarm__actor *a = smarm__self();

	wl = (smarm__lock_t)SMARM__LOCK_INIT;
	waiters = NULL;
	memset(nblock, 0, sizeof nblock);
	memset(sq, 0, sizeof sq);
	ngreen = 1;
	counts(a->sigmask, 1);
	a->sigx = NULL;
	sfd_epfd = -1; /* the child has a new epoll set: register again */
}

__attribute__((constructor)) static void signal_init(void)
{
	smarm__sig_idle_mask = ALL;
	smarm__sig_event_hook = on_event;
	smarm__sig_switch_hook = switch_hook;
}

/* ---- masks ---- */

/* The caller's new mask n: counts, the kernel, pending thread signals. */
static void set_mask(struct smarm__actor *a, uint64_t n)
{
	struct smarm__carrier *c;

	n &= ~UNBLOCKABLE;
	smarm__lock(&wl);
	counts(a->sigmask, -1);
	counts(n, 1);
	a->sigmask = n;
	smarm__unlock(&wl);
	c = smarm__carrier();
	if (c->sigmask != n)
		apply(c, n);
	deliver_pending(a);
}

/* Strict mode (strict.c): a blocked forced SIGSYS kills the process, so
 * no mask, a green thread's or an OS thread's, ever holds SIGSYS.  *tmp:
 * room for a copy of set without it.  Never switches. */
static const sigset_t *no_sigsys(const sigset_t *set, sigset_t *tmp)
{
	if (!set || !smarm__strict_active() || sigismember(set, SIGSYS) != 1)
		return set;
	*tmp = *set;
	sigdelset(tmp, SIGSYS);
	return tmp;
}

static int change_mask(int how, const sigset_t *set, sigset_t *old)
{
	struct smarm__actor *a = smarm__self();
	sigset_t tmp;
	uint64_t cur = a->sigmask, m, n;

	set = no_sigsys(set, &tmp);
	m = set ? u64_of(set) : 0;

	if (set) {
		switch (how) {
		case SIG_BLOCK: n = cur | m; break;
		case SIG_UNBLOCK: n = cur & ~m; break;
		case SIG_SETMASK: n = m; break;
		default: return EINVAL;
		}
	}
	if (old)
		set_of(cur, old);
	if (set)
		set_mask(a, n);
	return 0;
}

SMARM_API int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t tmp;

	if (!smarm__shim_in_green())
		return smarm__real_pthread_sigmask(how, no_sigsys(set, &tmp), old);
	return change_mask(how, set, old);
}

SMARM_API int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t tmp;
	int r;

	if (!smarm__shim_in_green())
		return real_sigprocmask()(how, no_sigsys(set, &tmp), old);
	if ((r = change_mask(how, set, old)) != 0) {
		errno = r;
		return -1;
	}
	return 0;
}

/* ---- thread-directed ---- */

/* Queue s (with value v if queued) for thread t.  0 or an error number. */
static int send_to(pthread_t t, int s, const union sigval *v)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__slot *slot;
	smarm_pid_t pid;

	if (s < 0 || s > 64 || s == 32 || s == 33)
		return EINVAL;
	/* To itself, not blocked, no value: straight to the kernel, taking no
	 * lock — so a handler may re-raise its signal (the usual "clean up,
	 * restore the default, raise again") even when it interrupted our own
	 * bookkeeping on this thread. */
	if (s && !v && t == pthread_self() &&
	    !(self->sigmask & BIT(s))) {
		syscall(SYS_tgkill, getpid(), smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), s);
		return 0;
	}
	if (!(pid = smarm__shim_thread_pid(t)) || !(a = smarm__pid_lock(pid, &slot)))
		return ESRCH;
	if (s == 0) {
		smarm__pid_unlock(slot);
		return 0;
	}
	smarm__lock(&wl);
	if (a->sigx == ENDED) {
		/* Past its end (natively: a thread that has exited takes
		 * nothing either). */
		smarm__unlock(&wl);
		smarm__pid_unlock(slot);
		return 0;
	}
	if (v) {
		int i;
		for (i = 0; i < SQ_MAX && sq[i].a && !(sq[i].a == a && sq[i].sig == s); i++)
			;
		if (i == SQ_MAX) {
			smarm__unlock(&wl);
			smarm__pid_unlock(slot);
			return EAGAIN; /* as sigqueue's queue limit */
		}
		if (!sq[i].a) {
			sq[i].a = a;
			sq[i].sig = s;
			sq[i].v = *v;
		}
	}
	atomic_fetch_or(&a->sigpend, BIT(s));
	if (a != self) {
		struct smarm__intr *w = a->sigx;
		if (w && ((w->accept | w->waitset) & BIT(s)) &&
		    (w->waitset & BIT(s) || interrupts(s)))
			wake_w(w, s);
	}
	smarm__unlock(&wl);
	smarm__pid_unlock(slot);
	if (a == self && !(self->sigmask & BIT(s)))
		deliver_pending(self);
	return 0;
}

SMARM_API int pthread_kill(pthread_t t, int sig)
{
	if (!smarm__shim_in_green())
		return real_pthread_kill()(t, sig);
	return send_to(t, sig, NULL);
}

SMARM_API int pthread_sigqueue(pthread_t t, int sig, const union sigval v)
{
	if (!smarm__shim_in_green())
		return smarm__real_pthread_sigqueue(t, sig, v);
	return send_to(t, sig, &v);
}

SMARM_API int raise(int sig)
{
	int r;

	if (!smarm__shim_in_green())
		return smarm__real_raise(sig);
	if ((r = send_to(pthread_self(), sig, NULL)) != 0) {
		errno = r;
		return -1;
	}
	return 0;
}

/* ---- parking interruptibly ---- */

/* List w for the caller (wl held). */
static void publish(struct smarm__intr *w, struct smarm__actor *self, uint64_t accept,
		    uint64_t waitset)
{
	w->a = self;
	w->accept = accept & ~KEEP;
	w->waitset = waitset;
	w->sig = 0;
	if ((w->next = waiters))
		waiters->pprev = &w->next;
	w->pprev = &waiters;
	waiters = w;
	self->sigx = w;
}

static void unpublish(struct smarm__intr *w)
{
	smarm__lock(&wl);
	if (w->pprev)
		unlink_w(w);
	smarm__unlock(&wl);
}

intptr_t smarm__shim_park_intr(struct smarm__intr *w, int64_t deadline, uint64_t accept,
			       uint64_t waitset)
{
	struct smarm__actor *self = smarm__self();
	intptr_t r;
	uint64_t p;

	smarm__lock(&wl);
	publish(w, self, accept, waitset);
	smarm__wait_prepare(self, waitset ? "sigwait" : "sleep", w);
	/* Thread-directed signals sent before we were listed. */
	if ((p = atomic_load(&self->sigpend) & (w->accept | waitset)))
		wake_w(w, __builtin_ctzll(p) + 1);
	smarm__unlock(&wl);
	if (waitset)
		atomic_fetch_add(&smarm__io_waiters, 1); /* busy carriers look too */
	r = smarm__park(deadline);
	if (waitset)
		atomic_fetch_sub(&smarm__io_waiters, 1);
	unpublish(w);
	return r;
}

void smarm__shim_intr_begin(struct smarm__intr *w)
{
	struct smarm__actor *self = smarm__self();

	smarm__lock(&wl);
	publish(w, self, ~self->sigmask, 0);
	smarm__unlock(&wl);
}

int smarm__shim_intr_end(struct smarm__intr *w)
{
	unpublish(w);
	return w->sig;
}

bool smarm__shim_intr_restarts(const struct smarm__intr *w)
{
	return w->sig && w->restart;
}

bool smarm__shim_sig_restarts(int sig)
{
	struct sigaction sa;

	return sig > 0 && sigaction(sig, NULL, &sa) == 0 && (sa.sa_flags & SA_RESTART);
}

/* ---- sigwait family ---- */

static int check_time(const struct timespec *ts)
{
	return ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000);
}

/* Take one signal of set: thread-directed first, then the kernel's. */
static int take(struct smarm__actor *a, uint64_t set, siginfo_t *info)
{
	static const struct timespec zero = {0, 0};
	uint64_t p = atomic_load(&a->sigpend) & set;
	sigset_t ks;
	int s;

	while (p) {
		s = __builtin_ctzll(p) + 1;
		if (atomic_fetch_and(&a->sigpend, ~BIT(s)) & BIT(s)) {
			if (info) {
				memset(info, 0, sizeof *info);
				info->si_signo = s;
				info->si_code = SI_TKILL;
				info->si_pid = getpid();
				info->si_uid = getuid();
				smarm__lock(&wl);
				for (int i = 0; i < SQ_MAX; i++)
					if (sq[i].a == a && sq[i].sig == s) {
						info->si_code = SI_QUEUE;
						info->si_value = sq[i].v;
						sq[i].a = NULL;
					}
				smarm__unlock(&wl);
			}
			return s;
		}
		p = atomic_load(&a->sigpend) & set;
	}
	set_of(set, &ks);
	s = sigtimedwait(&ks, info, &zero);
	return s > 0 ? s : 0;
}

static int wait_set(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	struct smarm__actor *a = smarm__self();
	uint64_t m = u64_of(set) & ~UNBLOCKABLE;
	int64_t deadline = ts ? smarm__deadline((int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec)
			      : -1;
	struct smarm__intr w;
	int s;

	for (;;) {
		if ((s = take(a, m, info)) > 0)
			return s;
		if (deadline == 0 || (deadline > 0 && smarm__now() >= deadline))
			return -EAGAIN;
		intptr_t r = smarm__shim_park_intr(&w, deadline, 0, m);
		if (r == -ETIMEDOUT) {
			if ((s = take(a, m, info)) > 0)
				return s;
			return -EAGAIN;
		}
		if (r == -ECANCELED)
			smarm__exit_point(a);
	}
}

SMARM_API int sigwait(const sigset_t *set, int *sig)
{
	int s;

	if (!smarm__shim_in_green())
		return real_sigwait()(set, sig);
	s = wait_set(set, NULL, NULL);
	*sig = s;
	return 0;
}

SMARM_API int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	if (!smarm__shim_in_green())
		return real_sigwaitinfo()(set, info);
	return wait_set(set, info, NULL);
}

SMARM_API int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	int s;

	if (!smarm__shim_in_green() || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
		return real_sigtimedwait()(set, info, ts);
	if (check_time(ts)) {
		errno = EINVAL;
		return -1;
	}
	if ((s = wait_set(set, info, ts)) < 0) {
		errno = -s;
		return -1;
	}
	return s;
}

/* ---- sigsuspend, pause ---- */

SMARM_API int sigsuspend(const sigset_t *mask)
{
	struct smarm__actor *a;
	struct smarm__intr w;
	uint64_t old, n;
	sigset_t ps;

	bool cp, cancelled = false;

	if (!smarm__shim_in_green())
		return real_sigsuspend()(mask);
	/* A cancellation point (a pending cancel acts here, before the mask
	 * changes). */
	cp = smarm__shim_cancel_begin();
	a = smarm__self();
	old = a->sigmask;
	n = u64_of(mask) & ~UNBLOCKABLE;
	/* Already pending and let through by the new mask: it is delivered
	 * as the mask goes in, and that is the signal we wait for. */
	if (sigpending(&ps) == 0) {
		uint64_t p = (u64_of(&ps) | atomic_load(&a->sigpend)) & ~n & ~KEEP;
		for (int s = 1; p; s++, p >>= 1)
			if ((p & 1) && interrupts(s)) {
				set_mask(a, n);
				set_mask(a, old);
				smarm__shim_cancel_end(cp);
				errno = EINTR;
				return -1;
			}
	}
	/* Parked with the new mask: the switch back in puts it into the
	 * kernel, which delivers the signal that woke us. */
	smarm__lock(&wl);
	counts(old, -1);
	counts(n, 1);
	a->sigmask = n;
	smarm__unlock(&wl);
	/* Only a signal ends this wait, and one may come from outside the
	 * process at any time: never a deadlock (deadlock.c). */
	atomic_fetch_add(&smarm__outside_waiters, 1);
	for (;;) {
		intptr_t r = smarm__shim_park_intr(&w, -1, ~n, 0);
		if (r == -EINTR)
			break;
		if (r == -ECANCELED) {
			cancelled = true;
			break;
		}
	}
	atomic_fetch_sub(&smarm__outside_waiters, 1);
	set_mask(a, old);
	smarm__shim_cancel_end(cp);
	if (cancelled) {
		smarm__shim_testcancel(); /* a pthread_cancel: ends the thread */
		smarm__exit_point(a);     /* asked to stop: end here */
	}
	errno = EINTR;
	return -1;
}

SMARM_API int pause(void)
{
	sigset_t m;

	if (!smarm__shim_in_green())
		return real_pause()();
	set_of(smarm__self()->sigmask, &m);
	return sigsuspend(&m);
}
