/* preempt.c — time slices: the monitor thread, safe points, and SIGURG.
 *
 * Carriers are cooperative: an actor runs until it parks or yields.  This
 * file bounds how long one actor can keep its carrier from the others.
 *
 * The request.  A monitor thread looks at every carrier's switch counter
 * (c->switches; no clock is read on any switch) once per half slice, all
 * carriers in one wake-up.  A carrier whose counter has not moved for half
 * a slice (less an eighth for timer skew) has run one actor for at least
 * that and at most a slice; the monitor asks it to yield by storing
 * switches + 1 into c->preempt.  A request names the switch it is meant
 * for, so one that arrives after its actor has left is seen to be stale
 * and dropped.  When the only switches since our last signal are the one it
 * caused (and perhaps one more, an actor it let run parking at once), the
 * next actor's slice is timed from the signal, not from the look.
 *
 * Timers.  While every carrier is busy (none sleeps in epoll, none spins),
 * timers are otherwise fired only by a carrier every 64th switch.  So the
 * monitor then also wakes for the earliest deadline (no sooner than slice/8
 * after its last look), and a due timer gets the actor that has run
 * longest asked to yield at once: a sleeper behind hogs is late by about
 * slice/8, not by a slice.
 *
 * Safe points test c->preempt and yield when it is set and current:
 *   - each call of the malloc family (shim/malloc.c), a TLS load and a
 *     compare or two on the fast path, if the call came from the program's own
 *     code (its return address is in the main executable, outside smarm):
 *     the runtime, libc (strdup, stdio ...) and other libraries may
 *     allocate while holding a lock, so their calls never switch;
 *   - SMARM_CHECK() / smarm_preempt_point(), which the program places;
 *   - the SIGURG handler, below.
 * Yielding goes through smarm__sched_preempt() (sched.c), which first runs
 * due timers and reaps ready fds: a busy carrier otherwise looks at them
 * only every 64th switch, and what they wake is often what waits behind the
 * actor we preempt.  Never while the actor has preemption disabled
 * (a->nopreempt) or is not RUNNING (it is publishing itself to a waker).
 *
 * Signal mode.  If the request is still set at the next look, the actor
 * has reached no safe point, and the monitor sends its carrier thread
 * SIGURG (pthread_sigqueue with a magic value; a SIGURG from anywhere else
 * goes to the handler that was there before ours), again each half slice
 * while it stays set.  A carrier whose last request took a signal gets the
 * signal with the next request: its actor (often the same hog) will not
 * reach a safe point either.  Only if the thread is computing: one blocked
 * in a system call could not switch and would only get EINTR.  The test is
 * the thread's CPU clock (at least half the wall time on a CPU since the
 * last sample) and, if that says no — a runnable thread on a busy machine
 * may just be waiting for a CPU — its state letter in
 * /proc/self/task/<tid>/stat ('R').
 *
 * Why one cadence: on these VMs a timed sleep and wake-up costs the
 * monitor ~20 us of CPU, several times a signal (~4 us), so wake-ups are
 * the price to keep down: two per slice, whatever the number of carriers.
 *
 * The handler (SA_SIGINFO | SA_NODEFER | SA_RESTART, never SA_ONSTACK) runs
 * on the actor's own stack.  It yields only if the interrupted instruction
 * is in the program's own code: libc, the vDSO, ld.so, mimalloc, other
 * shared objects and smarm itself may hold locks that another actor of
 * this carrier would then wait for (glibc's recursive stdio locks would even
 * let it in, since actors share their carrier's TCB in link mode).
 * Elsewhere the request stays set for the next safe point, and the monitor
 * signals again half a slice later.  When it yields, the handler's frame
 * stays on the actor's stack; when the actor is resumed, perhaps on another
 * carrier, the handler returns and sigreturn restores every register.
 * sigreturn also restores the signal mask and the sigaltstack settings
 * saved at delivery; after a migration those are the old carrier's, so the
 * handler rewrites them with the new thread's (fault.c's per-carrier
 * altstack must stay with its thread).  SA_NODEFER: the handler may not
 * return for a long while, and SIGURG must not stay blocked meanwhile on
 * the carrier that ran it.
 *
 * "The program's own code" is the executable segment of the main program
 * (dl_iterate_phdr's first object) minus [__start_smarm_text,
 * __stop_smarm_text): the Makefile renames the .text sections of every
 * object that goes into libsmarm to smarm_text, so the runtime is excluded
 * even when libsmarm.a is linked into the executable.  init checks that
 * smarm's own functions are inside that range and turns preemption off if
 * the build lost the renaming.
 *
 * Hand-off: the monitor also runs the carrier hand-off (handoff.c), once
 * per wake-up; it is started when either preemption or the hand-off is on,
 * and with SMARM_PREEMPT=off it only does the hand-off.
 *
 * Idle: the monitor sleeps without timeout while every carrier sleeps
 * (every RUN carrier is on the idle list and no released one computes);
 * idle_leave() wakes it (Dekker: the monitor stores mon.word = 1 then reads
 * each carrier's idle flag; a carrier's flag is cleared (by itself or its
 * waker) before it reads mon.word; all seq_cst, so one of them sees the
 * other).
 *
 * Who writes what: c->preempt: the monitor stores a request; the owner
 * clears it.  mon.*: the monitor, except mon.word (carriers, stop) and
 * mon.stop (stop).  The configuration: init, before any carrier runs.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#define URG_MAGIC 0x736d7270 /* "smrp" in si_value: a SIGURG we sent */
#define MIN_SLICE SMARM_USEC(100)
#define MAX_SLICE SMARM_SEC(1)
#define DEFAULT_SLICE SMARM_MSEC(10)
#define STACK_ROOM 4096 /* below the handler's frame, to switch from it */

/* Linker-made bounds of the renamed runtime text (see the Makefile).  Not
 * weak: a build that lost the renaming does not link. */
extern const char __start_smarm_text[] __attribute__((visibility("hidden")));
extern const char __stop_smarm_text[] __attribute__((visibility("hidden")));

static int mode = SMARM_PREEMPT_SIGNAL; /* [init] this run's mode */
static int64_t slice = DEFAULT_SLICE;   /* [init] */

static uintptr_t app_lo, app_hi;        /* the main program's code */
static uintptr_t rt_lo, rt_hi;          /* smarm's own code */
static bool text_ok;                    /* the ranges make sense */

static struct sigaction old_urg;        /* SIGURG's handler before ours */
static _Atomic int handler_installed;
static pid_t self_pid;

static struct {
	_Atomic uint64_t requests, signals, by_alloc, by_check, by_signal, deferred,
		migrated, looks, monitor_cpu_ns;
} stats;

/* The monitor's private view of one carrier. */
struct mon_slot {
	uint64_t seen;       /* c->switches at the last look */
	int64_t since;       /* when its actor started, as best we know */
	int64_t asked;       /* when the request was stored; 0: none */
	int64_t signalled;   /* when SIGURG was last sent for it; 0: never */
	bool needs_signal;   /* the last request here took a signal to honour */
	int64_t cpu, cpu_at; /* the thread's CPU time at the last sample, when */
	clockid_t clock;     /* the carrier thread's CPU-time clock */
	bool has_clock;
	int statfd;          /* /proc/self/task/<tid>/stat, or -1 */
	pthread_t thread;
};

static struct {
	pthread_t thread;
	bool running;
	_Atomic int stop;
	_Atomic uint32_t word; /* futex: 0 awake or napping, 1 asleep, 2 stop */
	struct mon_slot *slot;
	int n;
} mon;

/* ---- where code lives ------------------------------------------------------ */

static int find_main(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size, (void)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (hi > lo) {
		app_lo = lo;
		app_hi = hi;
	}
	return 1; /* the first object is the main program: stop */
}

static bool in_rt(const void *p)
{
	return (uintptr_t)p - rt_lo < rt_hi - rt_lo;
}

static void find_text(void)
{
	rt_lo = (uintptr_t)__start_smarm_text;
	rt_hi = (uintptr_t)__stop_smarm_text;
	dl_iterate_phdr(find_main, NULL);
	/* Functions from an asm file, a plain one and a cold one (which GCC
	 * puts in .text.unlikely) must all be in smarm_text. */
	text_ok = rt_hi > rt_lo && app_hi > app_lo &&
		  in_rt((const void *)smarm__ctx_switch) &&
		  in_rt((const void *)smarm__preempt_alloc) &&
		  in_rt((const void *)smarm__assert_fail);
	if (!text_ok)
		smarm__msg("cannot tell smarm's code from the program's (was "
			   "libsmarm built without its smarm_text section?): "
			   "preemption is off");
}

bool smarm__preempt_app_code(uintptr_t pc)
{
	return pc - app_lo < app_hi - app_lo && !(pc - rt_lo < rt_hi - rt_lo);
}

/* ---- configuration ---------------------------------------------------------- */

/* "<n>[ns|us|ms|s]", a bare number being milliseconds; -1 for garbage. */
static int64_t parse_duration(const char *s)
{
	unsigned long long v = 0;
	int64_t unit;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > (1ull << 40))
			return -1;
	}
	if (!*s || !strcmp(s, "ms"))
		unit = 1000000;
	else if (!strcmp(s, "us"))
		unit = 1000;
	else if (!strcmp(s, "ns"))
		unit = 1;
	else if (!strcmp(s, "s"))
		unit = 1000000000;
	else
		return -1;
	return (int64_t)v * unit;
}

/* Under ASan the default is alloc: with signal preemption on, about one
 * run in fifteen of the scheduler suite trips ASan's "starting fiber switch
 * while in fiber switch" check (never with signals off, never outside
 * ASan).  Until that is understood (LOOM.md, Preemption: open problems),
 * sanitizer runs exercise signal preemption only where a test asks for it. */
#ifdef __SANITIZE_ADDRESS__
#define DEFAULT_MODE SMARM_PREEMPT_ALLOC
#else
#define DEFAULT_MODE SMARM_PREEMPT_SIGNAL
#endif

static int env_mode(void)
{
	const char *s = getenv("SMARM_PREEMPT");

	if (!s || !*s)
		return DEFAULT_MODE;
	if (!strcmp(s, "signal") || !strcmp(s, "on"))
		return SMARM_PREEMPT_SIGNAL;
	if (!strcmp(s, "off") || !strcmp(s, "0"))
		return SMARM_PREEMPT_OFF;
	if (!strcmp(s, "alloc"))
		return SMARM_PREEMPT_ALLOC;
	smarm__msg("SMARM_PREEMPT=%s is not off, alloc or signal; using signal", s);
	return SMARM_PREEMPT_SIGNAL;
}

static int64_t env_slice(void)
{
	const char *s = getenv("SMARM_SLICE");
	int64_t v;

	if (!s || !*s)
		return DEFAULT_SLICE;
	v = parse_duration(s);
	if (v < MIN_SLICE || v > MAX_SLICE) {
		smarm__msg("SMARM_SLICE=%s is not a duration from 100us to 1s "
			   "(e.g. 10ms, 500us); using 10ms", s);
		return DEFAULT_SLICE;
	}
	return v;
}

static void forked_child(void)
{
	/* Only the forking thread lives on, and no monitor: drop requests
	 * so the child's allocations never try to switch. */
	for (int i = 0; smarm__rt.carriers && i < atomic_load(&smarm__rt.nrecords); i++)
		if (smarm__rt.carriers[i])
			atomic_store(&smarm__rt.carriers[i]->preempt, 0);
	mon.running = false;
}

static void init_once(void)
{
	find_text();
	pthread_atfork(NULL, NULL, forked_child);
}

int smarm__preempt_init(const struct smarm_config *cfg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int m = cfg && cfg->preempt ? cfg->preempt : env_mode();
	int64_t s = cfg && cfg->slice ? cfg->slice : env_slice();

	if (m < SMARM_PREEMPT_OFF || m > SMARM_PREEMPT_SIGNAL || s < MIN_SLICE ||
	    s > MAX_SLICE)
		return -EINVAL;
	pthread_once(&once, init_once);
	mode = text_ok ? m : SMARM_PREEMPT_OFF;
	slice = s;
	return 0;
}

/* ---- safe points ------------------------------------------------------------- */

/* &errno, computed anew at each call (see sched.c's errno_here). */
__attribute__((noipa)) static int *errno_here(void)
{
	return &errno;
}

/* The actor c runs, if a current request names it; a stale request (its
 * actor has switched out since, or c is idle) is dropped.  Owner only. */
static struct smarm__actor *requested(struct smarm__carrier *c)
{
	uint64_t req = atomic_load_explicit(&c->preempt, memory_order_relaxed);
	struct smarm__actor *self;

	if (req == 0)
		return NULL;
	self = c->current;
	if (!self || req - 1 != c->switches) {
		atomic_compare_exchange_strong(&c->preempt, &req, 0);
		return NULL;
	}
	return self;
}

/* May the actor be switched away from here?  (Not while it is publishing
 * itself to a waker, nor while it has disabled preemption.) */
static bool may_switch(struct smarm__actor *self)
{
	return self->nopreempt == 0 &&
	       atomic_load_explicit(&self->state, memory_order_relaxed) == SMARM__RUNNING;
}

/* Honour the request: sched.c looks at timers and fds, then yields. */
static void preempt_now(struct smarm__carrier *c)
{
	atomic_store_explicit(&c->preempt, 0, memory_order_relaxed);
	smarm__sched_preempt();
}

void smarm__preempt_alloc(const void *caller)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *self;

	if (!c || !(self = requested(c)))
		return;
	if (!smarm__preempt_app_code((uintptr_t)caller) || !may_switch(self))
		return; /* the request waits for a safe point in the program */
	atomic_fetch_add_explicit(&stats.by_alloc, 1, memory_order_relaxed);
	preempt_now(c);
}

void smarm_preempt_point(void)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__actor *self;

	if (!c || !(self = requested(c)) || !may_switch(self))
		return;
	atomic_fetch_add_explicit(&stats.by_check, 1, memory_order_relaxed);
	preempt_now(c);
}

void smarm_preempt_disable(void)
{
	struct smarm__actor *self = smarm__self();

	if (self)
		self->nopreempt++;
}

void smarm_preempt_enable(void)
{
	struct smarm__actor *self = smarm__self();

	if (!self)
		return;
	smarm_assert(self->nopreempt > 0);
	if (--self->nopreempt == 0)
		smarm_preempt_point();
}

void smarm__preempt_stats(struct smarm__preempt_stats *st)
{
	st->requests = atomic_load_explicit(&stats.requests, memory_order_relaxed);
	st->signals = atomic_load_explicit(&stats.signals, memory_order_relaxed);
	st->by_alloc = atomic_load_explicit(&stats.by_alloc, memory_order_relaxed);
	st->by_check = atomic_load_explicit(&stats.by_check, memory_order_relaxed);
	st->by_signal = atomic_load_explicit(&stats.by_signal, memory_order_relaxed);
	st->deferred = atomic_load_explicit(&stats.deferred, memory_order_relaxed);
	st->migrated = atomic_load_explicit(&stats.migrated, memory_order_relaxed);
	st->looks = atomic_load_explicit(&stats.looks, memory_order_relaxed);
	st->monitor_cpu_ns = atomic_load_explicit(&stats.monitor_cpu_ns, memory_order_relaxed);
}

/* ---- the SIGURG handler ----------------------------------------------------- */

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (old_urg.sa_flags & SA_SIGINFO) {
		if (old_urg.sa_sigaction)
			old_urg.sa_sigaction(sig, si, uc);
	} else if (old_urg.sa_handler != SIG_DFL && old_urg.sa_handler != SIG_IGN) {
		old_urg.sa_handler(sig);
	}
	/* SIGURG's default action is to ignore it. */
}

/* Async-signal-safe up to the switch: the interrupted code is the
 * program's own, so it holds none of the runtime's or libc's locks. */
static void on_sigurg(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct smarm__carrier *c;
	struct smarm__actor *self;
	int *ep, e;
	uintptr_t pc, sp;
	char room;

	if (si->si_code != SI_QUEUE || si->si_pid != self_pid ||
	    si->si_value.sival_int != URG_MAGIC) {
		chain(sig, si, ucv);
		return;
	}
	ep = errno_here();
	e = *ep;
	if (!(c = smarm__carrier()) || !(self = requested(c)))
		goto out;
	pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	if (!smarm__preempt_app_code(pc) || !may_switch(self) ||
	    sp - (uintptr_t)self->stack_lo > self->stack_size ||
	    (uintptr_t)&room - (uintptr_t)self->stack_lo < STACK_ROOM) {
		atomic_fetch_add_explicit(&stats.deferred, 1, memory_order_relaxed);
		goto out;
	}
	atomic_fetch_add_explicit(&stats.by_signal, 1, memory_order_relaxed);
	preempt_now(c);
	if (smarm__carrier() != c) {
		/* Resumed on another thread: sigreturn must install this
		 * thread's own altstack and mask, not the old carrier's. */
		stack_t ss;
		if (sigaltstack(NULL, &ss) == 0)
			uc->uc_stack = ss;
		pthread_sigmask(SIG_SETMASK, NULL, &uc->uc_sigmask);
		atomic_fetch_add_explicit(&stats.migrated, 1, memory_order_relaxed);
		ep = errno_here();
	}
out:
	*ep = e;
}

static void install_handler(void)
{
	struct sigaction sa;

	if (atomic_exchange(&handler_installed, 1))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigurg;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGURG, &sa, &old_urg);
}

/* ---- the monitor --------------------------------------------------------------- */

static int64_t thread_cpu(struct mon_slot *m)
{
	struct timespec ts;

	if (!m->has_clock || clock_gettime(m->clock, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The scheduler state letter of the carrier's thread ('R' running or
 * runnable, 'S' sleeping, 'D' uninterruptible ...), or 0 if unknown. */
static char thread_state(struct mon_slot *m)
{
	char buf[160], *p;
	ssize_t n;

	if (m->statfd < 0 || (n = pread(m->statfd, buf, sizeof buf - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	/* "tid (comm) S ...": comm may hold ')' itself, not a newline. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return 0;
	return p[2];
}

/* Is the carrier's thread computing rather than blocked in the kernel?  A
 * signal to a blocked one could not switch and would only cost it EINTR.
 * Cheap test first (the thread's CPU time since the last sample is at least
 * half the wall time); if that says no, the thread may just be waiting for a
 * CPU on a busy machine, so ask its scheduler state.  Unknown: yes. */
static bool was_busy(struct mon_slot *m, int64_t now)
{
	int64_t cpu = thread_cpu(m);
	bool busy = cpu < 0 || m->cpu < 0 || 2 * (cpu - m->cpu) >= now - m->cpu_at;
	char st;

	m->cpu = cpu;
	m->cpu_at = now;
	if (!busy && (st = thread_state(m)) != 0)
		busy = st == 'R';
	return !m->has_clock || busy;
}

/* Send carrier m's thread SIGURG if it is computing (see was_busy); not
 * more than once per half slice for one request. */
static void signal_carrier(struct mon_slot *m, int64_t now)
{
	union sigval v = {.sival_int = URG_MAGIC};
	int64_t half = slice / 2;

	if (m->signalled && now - m->signalled < half - half / 8)
		return;
	if (!was_busy(m, now))
		return;
	if (pthread_sigqueue(m->thread, SIGURG, v) == 0)
		atomic_fetch_add_explicit(&stats.signals, 1, memory_order_relaxed);
	m->signalled = now;
}

/* One look at carrier i.  min_run: how long its actor must have run to be
 * asked to yield (less than half a slice when a timer is due and no carrier
 * sleeps to fire it). */
static void look(int i, int64_t now, int64_t min_run)
{
	struct smarm__carrier *c = smarm__rt.carriers[i];
	struct mon_slot *m = &mon.slot[i];
	struct smarm__actor *cur = __atomic_load_n(&c->current, __ATOMIC_RELAXED);
	uint64_t s = __atomic_load_n(&c->switches, __ATOMIC_RELAXED);
	bool sig = mode == SMARM_PREEMPT_SIGNAL;

	if (!cur) {
		m->seen = s;
		m->asked = m->signalled = 0;
		return;
	}
	if (s != m->seen) {
		/* Another actor.  How the last request was honoured says
		 * whether the next one should bring its signal along. */
		if (m->asked)
			m->needs_signal = m->signalled != 0;
		/* If at most two switches happened since our signal (the one it
		 * caused, and perhaps an actor it let run parking again at
		 * once), this actor started about when we sent it; otherwise
		 * all we know is that it runs now. */
		m->since = m->signalled && s - m->seen <= 2 ? m->signalled : now;
		m->seen = s;
		m->asked = m->signalled = 0;
		if (sig) {
			m->cpu = thread_cpu(m);
			m->cpu_at = now;
		}
	} else if (m->asked &&
		   atomic_load_explicit(&c->preempt, memory_order_relaxed) == 0) {
		/* Honoured without a switch (nothing else could run then): a
		 * new slice starts now. */
		m->since = now;
		m->asked = m->signalled = 0;
		return;
	}
	if (!m->asked) {
		if (now - m->since < min_run)
			return;
		atomic_store_explicit(&c->preempt, s + 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&stats.requests, 1, memory_order_relaxed);
		m->asked = now;
		if (sig && m->needs_signal)
			signal_carrier(m, now); /* it will not reach a safe point */
		else if (sig)
			was_busy(m, now); /* a CPU sample for the next look */
		return;
	}
	/* Still pending a look later: no safe point came. */
	if (sig)
		signal_carrier(m, now);
}

/* Every carrier that may run actors (role RUN: handoff.c) is on the idle
 * list, and no released carrier is computing.  A released carrier blocked
 * in its call does not keep us awake (a thread blocked for good in fgets()
 * would cost two wake-ups a slice for ever); when it comes back, whatever
 * it readies wakes an idle carrier, which wakes us, and until then its
 * actor only holds a carrier nobody else needs. */
static bool all_asleep(void)
{
	int n = atomic_load(&smarm__rt.nslots);

	for (int i = 0; i < n; i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		int role = atomic_load(&c->role);
		if (role == SMARM__ROLE_RUN && !atomic_load(&c->idle))
			return false;
		if (role == SMARM__ROLE_RELEASED &&
		    __atomic_load_n(&c->current, __ATOMIC_RELAXED) && i < mon.n &&
		    thread_state(&mon.slot[i]) == 'R')
			return false;
	}
	return true;
}

/* The monitor: one look at every carrier each half slice, so wake-ups do
 * not grow with carriers or preemptions (each costs ~20 us of CPU on these
 * VMs, several times a signal).  While no carrier sleeps, nobody else fires
 * timers but a carrier every 64th switch: then a due timer gets the
 * longest-running actor asked at once, and the monitor wakes for the
 * earliest deadline (no sooner than slice/8 after its last look). */
static void *monitor_main(void *arg)
{
	struct timespec ts;
	int64_t half = slice / 2, floor = slice / 8 > SMARM_USEC(50) ? slice / 8
								  : SMARM_USEC(50);

	(void)arg;
	while (!atomic_load(&mon.stop)) {
		int64_t now = smarm__now(), next = half, tnext = INT64_MAX;
		int ns = atomic_load(&smarm__rt.nslots);
		int n = mon.n < ns ? mon.n : ns;
		int victim = -1;

		atomic_fetch_add_explicit(&stats.looks, 1, memory_order_relaxed);
		/* No carrier sleeps (the poller would fire timers) nor spins. */
		bool all_busy = atomic_load(&smarm__rt.nidle) == 0 &&
				atomic_load(&smarm__rt.nspinning) == 0;

		if (mode != SMARM_PREEMPT_OFF && all_busy &&
		    (tnext = smarm__timer_next()) <= now) {
			/* A timer is due and no carrier sleeps: the actor that
			 * has run longest yields now. */
			for (int i = 0; i < n; i++) {
				struct mon_slot *m = &mon.slot[i];
				if (__atomic_load_n(&smarm__rt.carriers[i]->current,
						    __ATOMIC_RELAXED) &&
				    !m->asked && (victim < 0 || m->since < mon.slot[victim].since))
					victim = i;
			}
		}
		for (int i = 0; mode != SMARM_PREEMPT_OFF && i < n; i++)
			look(i, now, i == victim ? 0 : half - half / 8);
		if (smarm__handoff_enabled())
			smarm__handoff_look(now, slice);
		if (all_asleep()) {
			uint32_t one = 1;
			atomic_store(&mon.word, 1);
			if (all_asleep() && !atomic_load(&mon.stop))
				smarm__futex_wait(&mon.word, 1, -1);
			atomic_compare_exchange_strong(&mon.word, &one, 0);
			continue;
		}
		if (mode != SMARM_PREEMPT_OFF && all_busy && tnext != INT64_MAX) {
			int64_t d = tnext - now;
			next = d < floor ? floor : d < next ? d : next;
		}
		smarm__futex_wait(&mon.word, 0, next);
	}
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		atomic_fetch_add_explicit(&stats.monitor_cpu_ns,
					  (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec,
					  memory_order_relaxed);
	return NULL;
}

void smarm__preempt_carrier_awake(void)
{
	uint32_t one = 1;

	if (atomic_load(&mon.word) == 1 &&
	    atomic_compare_exchange_strong(&mon.word, &one, 0)) {
		int *ep = errno_here(), e = *ep;
		smarm__futex_wake(&mon.word, 1);
		*ep = e;
	}
}

/* Watch the thread now running record i (its old thread, if any, has
 * been joined).  Monitor thread, or before it starts. */
void smarm__monitor_bind(int i, unsigned long thread)
{
	struct mon_slot *m = &mon.slot[i];

	if (m->statfd >= 0)
		smarm__fd_close(m->statfd);
	memset(m, 0, sizeof *m);
	m->thread = (pthread_t)thread;
	m->has_clock = pthread_getcpuclockid(m->thread, &m->clock) == 0;
	m->cpu = -1;
	m->statfd = -1;
	if (m->has_clock) {
		/* A thread's CPU clock id is ~tid << 3 | flags (Linux's
		 * CPUCLOCK_PID encoding): that gives us its tid. */
		char path[64];
		snprintf(path, sizeof path, "/proc/self/task/%d/stat",
			 (int)~(m->clock >> 3));
		m->statfd = smarm__fd_high(open(path, O_RDONLY | O_CLOEXEC));
	}
	if (mon.n < i + 1)
		mon.n = i + 1;
}

char smarm__monitor_thread_state(int i)
{
	return i < mon.n ? thread_state(&mon.slot[i]) : 0;
}

int64_t smarm__monitor_thread_cpu(int i)
{
	return i < mon.n ? thread_cpu(&mon.slot[i]) : -1;
}

void smarm__preempt_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int n = smarm__rt.ncarriers, err;

	/* The monitor also runs the carrier hand-off (handoff.c). */
	if ((mode == SMARM_PREEMPT_OFF && !smarm__handoff_enabled()) || mon.running)
		return;
	/* A slot for every record there may ever be (spares included). */
	if (!(mon.slot = calloc(smarm__rt.max_carriers, sizeof *mon.slot)))
		goto fail;
	for (int i = 0; i < smarm__rt.max_carriers; i++)
		mon.slot[i].statfd = -1;
	mon.n = 0;
	for (int i = 0; i < n; i++)
		smarm__monitor_bind(i, i == 0 ? (unsigned long)pthread_self()
					      : smarm__rt.carriers[i]->thread);
	atomic_store(&mon.stop, 0);
	atomic_store(&mon.word, 0);
	self_pid = getpid();
	if (mode == SMARM_PREEMPT_SIGNAL)
		install_handler();
	/* The monitor takes no signal meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)64 << 10);
	err = pthread_create(&mon.thread, &attr, monitor_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		for (int i = 0; i < mon.n; i++)
			if (mon.slot[i].statfd >= 0)
				close(mon.slot[i].statfd);
		free(mon.slot);
		mon.slot = NULL;
		goto fail;
	}
	pthread_setname_np(mon.thread, "smarm-monitor");
	mon.running = true;
	return;
fail:
	smarm__msg("cannot start the preemption monitor: preemption is off");
}

void smarm__preempt_stop(void)
{
	if (!mon.running)
		return;
	atomic_store(&mon.stop, 1);
	atomic_store(&mon.word, 2);
	smarm__futex_wake(&mon.word, 1);
	pthread_join(mon.thread, NULL);
	mon.running = false;
	for (int i = 0; i < mon.n; i++)
		if (mon.slot[i].statfd >= 0)
			close(mon.slot[i].statfd);
	free(mon.slot);
	mon.slot = NULL;
	mon.n = 0;
	for (int i = 0; i < atomic_load(&smarm__rt.nrecords); i++)
		atomic_store(&smarm__rt.carriers[i]->preempt, 0);
}
