/* deadlock.c — "all N threads are asleep - deadlock!", and wait-for cycles
 * of mutexes whose lock timed out.
 *
 * Owns: smarm__outside_waiters, the carrier-0 thread id, the re-check
 * back-off, and the set of cycles already reported.
 *
 * When is it a deadlock?  Every green thread is parked and nothing can ever
 * wake one:
 *   - every carrier is on the idle list (rt.nidle == ncarriers) and every
 *     run queue is empty;
 *   - no timer is pending (a parked sleep, a deadline: a timer wakes);
 *   - no actor waits on an fd (smarm__io_waiters: the kernel may wake it);
 *   - no pool thread runs a job (its completion wakes its actor);
 *   - no green thread waits for something the runtime cannot see
 *     (smarm__outside_waiters: sigwait, pause ... in the signal shim);
 *   - no OS thread exists but the runtime's own: carriers, spares
 *     included (known by tid: a name would be inherited by the threads a
 *     program creates from an actor),
 *     the dump thread (by tid) and the threads the runtime names "smarm-*"
 *     (the pool's smarm-io, the monitor).  Any other thread
 *     — a plain pthread of a link-mode program, a library's helper — may
 *     send, unlock or spawn at any moment, so with one alive the answer is
 *     "not now", and the check is repeated (below);
 *   - the program has no handler for a signal that can come from outside
 *     (a handler may sem_post or write a pipe: program_handles_signals);
 *   - and every live actor's state is WAITING.
 *
 * Where: the last carrier to go idle asks (sched.c's find_work, after it
 * has put itself on the idle list and found no work).  The check is made
 * twice around the slot scan, and declared only if nothing moved in
 * between: the counters first (so a waker that drops its counter after
 * making its actor runnable — pool.c's completion, io.c's ready path —
 * has made it runnable before we scan), then the scan, then nidle, the
 * queues, the sum of the carriers' switch counters and the counters again.
 * A carrier that left the idle list and ran anything changed the switch
 * sum; one that left and came back without running anything changed
 * nothing that matters.  No lock of the scheduler is held while slot locks
 * are taken (slot locks come first in the lock order).
 *
 * Re-checks: when the only obstacle is a thread outside the runtime (or a
 * signal handler of the program's), the
 * carrier sleeps at most `backoff` (10 ms, doubling to 1 s while nothing
 * runs), then looks again, so a deadlock left behind when that thread ends
 * is still found; every other obstacle is an event that wakes a carrier
 * anyway (a timer, an fd, a pool completion, a signal waiter's wake).
 *
 * The report: the message, the dump (dump.c) to stderr, the statistics if
 * SMARM_STATS=1, stdout and stderr flushed if nobody holds their locks (a
 * parked green thread may: then the buffered bytes are lost rather than
 * the process hanging), and _exit(2) — atexit handlers do not run, as in
 * Go.  SMARM_DEADLOCK=off turns detection off.
 *
 * Mutex cycles: a lock that times out (mutex.c) walks owner -> the mutex
 * that owner waits on -> its owner ... (at most 16 steps, each actor read
 * under its own slot lock, one at a time); if the walk comes back to the
 * caller, the cycle is printed on stderr, once per set of mutexes.
 *
 * Never switches.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define BACKOFF_MIN 10000000LL      /* 10 ms */
#define BACKOFF_MAX 1000000000LL    /* 1 s */
#define CHAIN 16                    /* mutex owner chain walked */
#define SEEN 64                     /* cycles remembered */

_Atomic int smarm__outside_waiters;

static int main_tid;                 /* carrier 0's thread */
static _Atomic bool detect = true;   /* SMARM_DEADLOCK != off */
static _Atomic int reporting;
static _Atomic int64_t backoff = BACKOFF_MIN;
static _Atomic uint64_t backoff_sum; /* switch sum when backoff last grew */

void smarm__deadlock_init(void)
{
	const char *v = getenv("SMARM_DEADLOCK");

	main_tid = (int)syscall(SYS_gettid);
	atomic_store(&detect, !(v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)));
	atomic_store(&reporting, 0);
}

static uint64_t switch_sum(void)
{
	uint64_t s = 0;

	for (int i = 0; i < smarm__rt.ncarriers; i++)
		s += __atomic_load_n(&smarm__rt.carriers[i]->switches, __ATOMIC_RELAXED);
	return s;
}

static bool queues_empty(void)
{
	if (atomic_load(&smarm__rt.gq_len) != 0)
		return false;
	for (int i = 0; i < smarm__rt.ncarriers; i++) {
		struct smarm__carrier *v = smarm__rt.carriers[i];
		if (atomic_load(&v->head) != atomic_load(&v->tail) || atomic_load(&v->runnext))
			return false;
	}
	return true;
}

/* Nothing that could wake an actor is pending (the counted kinds). */
static bool nothing_pending(void)
{
	int threads = 0, idle = 0;

	if (atomic_load(&smarm__rt.nidle) != smarm__rt.ncarriers ||
	    atomic_load(&smarm__rt.stopping) || smarm__timer_next() != INT64_MAX ||
	    atomic_load(&smarm__io_waiters) != 0 || atomic_load(&smarm__outside_waiters) != 0)
		return false;
	smarm__pool_stats(&threads, &idle, NULL);
	return threads == idle;
}

static bool is_runtime_tid(int tid)
{
	int n = atomic_load_explicit(&smarm__rt.nrecords, memory_order_acquire);

	if (tid == main_tid || tid == smarm__dump_tid())
		return true;
	/* Every carrier record, spares included (handoff.c): records never
	 * move nor go away while the runtime runs. */
	for (int i = 0; i < n; i++)
		if (atomic_load_explicit(&smarm__rt.carriers[i]->tid, memory_order_relaxed) == tid)
			return true;
	return false;
}

/* Threads of this process that are not the runtime's: 0, a count, or -1
 * if /proc cannot tell (then assume there are some). */
static int foreign_threads(void)
{
	char buf[4096], path[64], comm[32];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	long k;

	if (fd < 0)
		return -1;
	while ((k = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < k;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int tid = atoi(d->d_name);
			off += d->d_reclen;
			if (tid <= 0 || is_runtime_tid(tid))
				continue;
			snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
			int cf = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t r = cf >= 0 ? read(cf, comm, sizeof comm - 1) : -1;
			if (cf >= 0)
				close(cf);
			if (r < 0)
				continue; /* it has just ended */
			comm[r] = 0;
			if (strncmp(comm, "smarm-", 6) != 0)
				n++;
		}
	}
	close(fd);
	return k < 0 ? -1 : n;
}

/* Has the program a handler for a signal that can come from outside (a
 * kill, an alarm, a child's end)?  Such a handler may post a semaphore or
 * write to a pipe (both async-signal-safe) and wake a parked thread, so
 * while one is installed nothing is declared.  Not counted: the signals
 * the runtime owns (SIGURG, our SIGQUIT), the synchronous ones (faults,
 * SIGSYS, SIGTRAP, SIGABRT, SIGPIPE), the CPU-time timers' (they do not
 * advance while everything sleeps) and glibc's internal 32 and 33. */
static bool program_handles_signals(void)
{
	for (int sig = 1; sig < SIGRTMAX + 1; sig++) {
		struct sigaction sa;
		switch (sig) {
		case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGFPE:
		case SIGILL: case SIGSYS: case SIGTRAP: case SIGABRT: case SIGPIPE:
		case SIGURG: case SIGPROF: case SIGVTALRM:
			continue;
		}
		if (sig >= 32 && sig < SIGRTMIN)
			continue;
		if (sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_DFL ||
		    sa.sa_handler == SIG_IGN)
			continue;
		if (sig == SIGQUIT && smarm__dump_owns_quit((void *)sa.sa_handler))
			continue;
		return true;
	}
	return false;
}

struct census {
	long waiting, other;
};

static void count(struct smarm__actor *a, void *arg)
{
	struct census *c = arg;

	if (atomic_load(&a->state) == SMARM__WAITING)
		c->waiting++;
	else
		c->other++;
}

/* Flush a stdio stream unless somebody holds it (a parked green thread
 * may: then its bytes are lost, the process does not hang). */
static void flush_if_free(FILE *f)
{
	if (ftrylockfile(f) == 0) {
		fflush_unlocked(f);
		funlockfile(f);
	}
}

static __attribute__((noreturn)) void report(long n)
{
	smarm__msg("all %ld threads are asleep - deadlock!", n);
	smarm__dump_write(2, smarm__dump_json);
	if (smarm__stats_on)
		smarm__stats_print(2);
	flush_if_free(stdout);
	flush_if_free(stderr);
	_exit(2);
}

int64_t smarm__deadlock_idle(struct smarm__carrier *c)
{
	struct census cs = {0, 0};
	uint64_t sum;
	int foreign;

	(void)c;
	if (!atomic_load_explicit(&detect, memory_order_relaxed) ||
	    atomic_load(&smarm__rt.nidle) != smarm__rt.ncarriers || !nothing_pending() ||
	    smarm__alive_count() == 0)
		return -1;
	sum = switch_sum();
	if ((foreign = foreign_threads()) != 0 || program_handles_signals()) {
		/* Back off while nothing runs; start again after any work. */
		int64_t b = atomic_load(&backoff);
		if (atomic_exchange(&backoff_sum, sum) != sum)
			b = BACKOFF_MIN;
		atomic_store(&backoff, b * 2 < BACKOFF_MAX ? b * 2 : BACKOFF_MAX);
		return b;
	}
	for (uint32_t i = 0, n = smarm__pid_slots(); i < n; i++)
		smarm__pid_visit(i, count, &cs);
	if (cs.other || cs.waiting == 0 || !queues_empty() || !nothing_pending() ||
	    switch_sum() != sum)
		return -1;
	if (atomic_exchange(&reporting, 1))
		return -1; /* another carrier is reporting; the process is ending */
	report(cs.waiting);
}

/* ---- mutex wait-for cycles --------------------------------------------------- */

static smarm__lock_t seen_lock = SMARM__LOCK_INIT;
static uint64_t seen[SEEN];
static int nseen;
static unsigned seen_next;

/* Report a cycle once: the key is the same from any member's timeout. */
static bool first_time(const void *const *mtx, int n)
{
	uint64_t key = 0;
	bool fresh = true;

	for (int i = 0; i < n; i++) {
		uint64_t x = (uintptr_t)mtx[i] * 0x9e3779b97f4a7c15ull;
		key += x ^ (x >> 29);
	}
	smarm__lock(&seen_lock);
	for (int i = 0; i < nseen && fresh; i++)
		fresh = seen[i] != key;
	if (fresh) {
		seen[seen_next++ % SEEN] = key; /* the oldest goes */
		if (nseen < SEEN)
			nseen++;
	}
	smarm__unlock(&seen_lock);
	return fresh;
}

void smarm__deadlock_mutex_timeout(struct smarm__actor *self, void *m)
{
	const void *mtx[CHAIN];
	smarm_pid_t who[CHAIN];
	const void *cur = m;
	int n = 0;
	char line[1024], p[24], nm[16];
	size_t len;

	if (!atomic_load_explicit(&detect, memory_order_relaxed))
		return;
	for (;;) {
		struct smarm__slot *slot;
		struct smarm__actor *a;
		bool foreign;
		const char *w;
		const void *obj;
		int st;
		smarm_pid_t o = smarm__mutex_owner_of(cur, &foreign);

		if (!o || n == CHAIN)
			return;
		mtx[n] = cur;
		who[n++] = o;
		if (o == self->pid)
			break;
		if (!(a = smarm__pid_lock(o, &slot)))
			return;
		st = atomic_load(&a->state);
		w = a->wait_what;
		obj = a->wait_obj;
		smarm__pid_unlock(slot);
		if (st != SMARM__WAITING || !w || strcmp(w, "mutex") != 0 || !obj)
			return;
		cur = obj;
	}
	if (!first_time(mtx, n))
		return;
	smarm_pid_format(self->pid, p, sizeof p);
	memcpy(nm, self->name, sizeof nm);
	nm[15] = 0;
	len = (size_t)snprintf(line, sizeof line,
			       "smarm: mutex wait-for cycle (a lock timed out): %s \"%s\"", p, nm);
	for (int i = 0; i < n && len < sizeof line; i++) {
		smarm_pid_format(who[i], p, sizeof p);
		if (smarm__pid_name(who[i], nm, sizeof nm) < 0)
			nm[0] = 0;
		struct smarm__sym d;
		char sym[48] = "";
		if (smarm__symbolise_data(mtx[i], &d) && d.off == 0)
			snprintf(sym, sizeof sym, " (%.40s)", d.name);
		len += (size_t)snprintf(line + len, sizeof line - len,
					" waits for mutex %p%s held by %s \"%s\"%s", mtx[i], sym, p, nm,
					i + 1 < n ? ", which" : "\n");
	}
	if (len > sizeof line - 1) {
		len = sizeof line - 1;
		line[len - 1] = '\n';
	}
	if (write(2, line, len) < 0) {
		/* nothing to do about a failed report */
	}
}
