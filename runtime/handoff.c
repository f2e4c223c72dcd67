/* handoff.c — carrier hand-off: spare carriers for carriers stuck outside
 * the runtime (DESIGN D3b; Go's sysmon retaking a P, Loom's compensation).
 *
 * What it is for.  A carrier runs one actor at a time, and only a switch
 * gives it back.  An actor that blocks in the kernel without going through
 * the runtime (a raw read(), glibc's internal stdio and futex waits, NSS,
 * a link-mode actor's blocking libc call) or that computes where preemption
 * cannot reach (code outside the program's own text, or SMARM_PREEMPT=off)
 * holds its carrier, and everything queued behind it waits — with one
 * carrier, for good, if the thing it waits for is queued behind it.
 *
 * The rule.  At each of its looks (preempt.c: every half slice while any
 * carrier runs actors), the monitor asks of every carrier in role RUN that
 * runs an actor: has its switch counter stood still for a slice (less an
 * eighth) — and, if its thread is computing ('R'), has it then used half a
 * slice more of CPU time (about 1.5 slices in all: preemption has had its
 * chance, and a thread the OS merely keeps from a CPU does not qualify) —
 * while work waits (an actor queued anywhere, a
 * timer due, or fds to poll that no idle carrier polls)?  If so it releases
 * that carrier (role RELEASED, no longer counted in rt.ncarriers), moves its
 * queued actors to the global queue, and puts a spare in its place: a
 * parked carrier if there is one, else a new carrier thread on a free or
 * new record.  So rt.ncarriers, the carriers that may take work, never
 * exceeds SMARM_THREADS (rt.want); the extra threads are the released ones,
 * each still inside the one call that made it stuck.
 *
 * Not stuck: a carrier asleep on one of the runtime's own locks (lock.c
 * counts it in c->lock_sleeps) waits for another carrier, which a spare
 * would only contend with; measured, under CPU contention such waits
 * passed for stuck and each spare made the next one likelier.
 *
 * Pure CPU hogs.  The rule does not ask why a carrier is stuck, so an actor
 * computing where preemption cannot reach gets the same treatment, after
 * about 1.5 slices of running: it keeps its carrier (the OS time-slices it
 * against the others, as it would a native thread) and the rest of the
 * program goes on.  A hog in the program's own code in signal mode is
 * preempted long before, and never handed off.  SMARM_HANDOFF=off turns
 * all of this off (then such an actor holds its carrier, as before).
 *
 * Coming back.  A released carrier takes no more work: pick() returns
 * nothing on it (one relaxed load of c->role, on a line the switch already
 * touches), so when its actor next parks, yields or ends, the carrier goes
 * to its idle loop (a yielding actor is put on the global queue first), and
 * find_work() calls smarm__handoff_retire.  There it hands its own queue to
 * the global queue and becomes RUN again if rt.ncarriers is below want (a
 * spare could not be started), else PARKED: it sleeps on its sleep_word,
 * off the idle list, until the monitor needs a spare again.  A parked
 * carrier beyond the first smarm__handoff_keep ends its thread after
 * smarm__handoff_idle_ns (1 s) without work; carrier 0 (the thread that
 * called smarm_run) never ends, it only parks.
 *
 * Roles and who moves them (all CASes on c->role; rt.ncarriers follows
 * RUN, and a move into RUN reserves its place first with a CAS that keeps
 * rt.ncarriers <= want):
 *   RUN -> RELEASED       the monitor (then ncarriers - 1)
 *   RELEASED -> RUN       the carrier itself, if a place is free
 *   RELEASED -> PARKED    the carrier itself
 *   PARKED -> RUN         the monitor (a spare is needed)
 *   PARKED -> GONE        the carrier itself, after the idle period
 *   GONE -> RUN           the monitor, starting a new thread on the record
 * The monitor decides from relaxed reads of c->current and c->switches, so
 * it may release a carrier that was switching at that moment: that carrier
 * then just retires at once and a spare runs in its place.
 *
 * Records.  rt.carriers[] has room for SMARM_MAX_CARRIERS records from the
 * start (pointers: 8 bytes each), so it never moves and stealing reads it
 * without a lock.  Records are made on demand and freed only by
 * sched_fini, so any record below rt.nrecords may be read at any time.
 * rt.nslots bounds the records that may hold work (steal_any and
 * work_anywhere walk it): the monitor raises it before a thread starts on
 * a record above it and lowers it over gone records at the top.  Parked
 * and gone records hold no work (retire drains the queue first), and cost
 * a stealer two loads each.
 *
 * The cap.  With SMARM_MAX_CARRIERS records in use (default want + 256),
 * the monitor starts no more spares and says so once: work then waits
 * until a stuck carrier comes back, as without hand-off.
 *
 * Threads.  Spares are created by the monitor with the real pthread_create
 * (preload/real.syms renames the runtime's calls in the preload build), are
 * full carriers (their own TCB, fault altstack and record), start with the
 * signal mask carrier 0 had (the monitor blocks everything) and are
 * joinable: the monitor joins a gone record's thread before it reuses the
 * record, and sched_run joins the rest at the end (smarm__handoff_join_all,
 * after the monitor has stopped).
 *
 * Cost when nothing is stuck: one load and branch in pick(); the monitor's
 * look gains a pass over the records; nothing else.  Idle: parked threads
 * sleep on a futex (the kept ones with no timeout).
 *
 * Switching: nothing here switches; retire runs on the carrier's own stack
 * in its idle loop.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_EXTRA 256      /* SMARM_MAX_CARRIERS default: want + this */
#define MAX_RECORDS 65536

int64_t smarm__handoff_idle_ns = 1000000000;
int smarm__handoff_keep = 2;

static bool enabled = true;           /* [init] SMARM_HANDOFF */
static sigset_t carrier_mask;         /* [start] what spare threads run with */

/* The monitor's own view of each record (monitor thread only). */
struct track {
	uint64_t seen;   /* c->switches at the last look */
	int64_t since;   /* when it was first seen at that count */
	int64_t cpu;     /* its thread's CPU time when first seen computing
	                  * for a slice at that count; -1: not yet */
};
static struct track *trk;             /* [init] max_carriers entries */

static struct {
	_Atomic uint64_t handoffs, started, reused, exited, at_cap;
	_Atomic int threads, peak, parked, released;
} st;
static _Atomic bool cap_said;

/* ---- configuration ------------------------------------------------------- */

int smarm__handoff_init(int want)
{
	const char *s = getenv("SMARM_HANDOFF");
	long dflt = want + DEFAULT_EXTRA;
	int cap;

	enabled = true;
	if (s && *s) {
		if (!strcmp(s, "off") || !strcmp(s, "0"))
			enabled = false;
		else if (strcmp(s, "on") && strcmp(s, "1"))
			smarm__msg("SMARM_HANDOFF=%s is not on or off; using on", s);
	}
	if (dflt > MAX_RECORDS)
		dflt = MAX_RECORDS;
	free(trk);
	trk = NULL;
	if (!enabled)
		return want;
	cap = (int)smarm__env_long("SMARM_MAX_CARRIERS", dflt, want,
				   want > MAX_RECORDS ? want : MAX_RECORDS);
	/* Here, before any carrier runs an actor: one may fork at once, and
	 * the child's monitor looks at trk (a fork before handoff_start once
	 * left it NULL there). */
	if (!(trk = calloc((size_t)cap, sizeof *trk))) {
		smarm__msg("out of memory for the carrier hand-off: it is off");
		enabled = false;
		return want;
	}
	return cap;
}

/* n carrier threads run, none parked or released, nothing tracked yet
 * (per run; the event counters are per process).  Never switches. */
static void track_reset(int n)
{
	atomic_store(&st.threads, n);
	atomic_store(&st.peak, n);
	atomic_store(&st.parked, 0);
	atomic_store(&st.released, 0);
	if (trk)
		memset(trk, 0, (size_t)smarm__rt.max_carriers * sizeof *trk);
}

/* A fork's child has one carrier thread (sched.c's fork reset made it
 * record 0) and no monitor yet.  Never switches. */
void smarm__handoff_fork_child(void)
{
	track_reset(1);
}

bool smarm__handoff_enabled(void)
{
	return enabled;
}

void smarm__handoff_start(void)
{
	int n = smarm__rt.ncarriers;

	pthread_sigmask(SIG_BLOCK, NULL, &carrier_mask);
	track_reset(n);
}

/* ---- spares --------------------------------------------------------------- */

static void *spare_main(void *p)
{
	/* Created by the monitor, which blocks every signal. */
	char name[16];

	pthread_sigmask(SIG_SETMASK, &carrier_mask, NULL);
	/* Not the monitor's name, which it would inherit: threads a program
	 * creates from an actor here inherit ours, and deadlock.c counts
	 * "smarm-*" threads as the runtime's. */
	snprintf(name, sizeof name, "%s", program_invocation_short_name);
	pthread_setname_np(pthread_self(), name);
	smarm__carrier_body(p);
	return NULL;
}

static void wake(struct smarm__carrier *c)
{
	atomic_store(&c->sleep_word, 1);
	smarm__futex_wake(&c->sleep_word, 1);
}

/* Join the thread of a gone record, if not done yet.  Monitor (or
 * join_all once the monitor has stopped). */
static void reap(struct smarm__carrier *c)
{
	if (c->thread && atomic_load(&c->role) == SMARM__ROLE_GONE) {
		pthread_join((pthread_t)c->thread, NULL);
		c->thread = 0;
	}
}

/* Start a carrier thread in role RUN on a gone record, or a new one.  The
 * caller has reserved its place in rt.ncarriers.  Monitor only. */
static bool start_spare(void)
{
	int n = atomic_load(&smarm__rt.nrecords), i;
	struct smarm__carrier *c = NULL;
	pthread_t t;

	for (i = 1; i < n; i++) {
		struct smarm__carrier *r = smarm__rt.carriers[i];
		if (atomic_load(&r->role) == SMARM__ROLE_GONE) {
			reap(r);
			c = r;
			break;
		}
	}
	if (!c) {
		if (n >= smarm__rt.max_carriers) {
			atomic_fetch_add_explicit(&st.at_cap, 1, memory_order_relaxed);
			if (!atomic_exchange(&cap_said, true))
				smarm__msg("no spare carrier: SMARM_MAX_CARRIERS (%d) reached; "
					   "runnable threads wait while carriers are "
					   "stuck in calls", n);
			return false;
		}
		if (!(c = smarm__carrier_new(n)))
			return false;
		i = n;
	}
	/* A record's fields from its last life are the idle loop's leftovers:
	 * empty queues, no current actor.  Start it clean. */
	atomic_store(&c->sleep_word, 0);
	atomic_store(&c->idle, 0);
	c->spinning = false;
	c->current = c->prev = NULL;
	atomic_store(&c->role, SMARM__ROLE_RUN);
	if (atomic_load(&smarm__rt.nslots) < i + 1)
		atomic_store_explicit(&smarm__rt.nslots, i + 1, memory_order_release);
	if (pthread_create(&t, NULL, spare_main, c) != 0) {
		atomic_store(&c->role, SMARM__ROLE_GONE);
		return false;
	}
	c->thread = (unsigned long)t;
	smarm__monitor_bind(i, c->thread);
	atomic_fetch_add_explicit(&st.started, 1, memory_order_relaxed);
	int th = atomic_fetch_add(&st.threads, 1) + 1;
	if (th > atomic_load(&st.peak))
		atomic_store(&st.peak, th);
	return true;
}

/* Put a carrier in the place a released one left: false if none could be
 * had (the cap, or no thread).  Monitor only. */
static bool add_spare(void)
{
	int k = atomic_load(&smarm__rt.ncarriers), n;

	do {
		if (k >= smarm__rt.want)
			return true; /* a released carrier came back and took it */
	} while (!atomic_compare_exchange_weak(&smarm__rt.ncarriers, &k, k + 1));
	n = atomic_load(&smarm__rt.nslots);
	for (int i = 0; i < n; i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		int p = SMARM__ROLE_PARKED;
		if (atomic_compare_exchange_strong(&c->role, &p, SMARM__ROLE_RUN)) {
			atomic_fetch_sub(&st.parked, 1);
			atomic_fetch_add_explicit(&st.reused, 1, memory_order_relaxed);
			wake(c);
			return true;
		}
	}
	if (start_spare())
		return true;
	atomic_fetch_sub(&smarm__rt.ncarriers, 1);
	return false;
}

/* Is there work that a carrier could take now?  Queued actors or a due
 * timer; or actors waiting on fds while no carrier sleeps in epoll. */
static bool work_waits(void)
{
	return smarm__work_waits() ||
	       (atomic_load_explicit(&smarm__io_waiters, memory_order_relaxed) > 0 &&
		atomic_load(&smarm__rt.nidle) == 0);
}

void smarm__handoff_look(int64_t now, int64_t slice)
{
	int n = atomic_load(&smarm__rt.nslots), work = -1;
	int64_t skew = slice / 8;

	if (atomic_load(&smarm__rt.stopping) || !trk)
		return;
	for (int i = 0; i < n; i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		struct track *t = &trk[i];
		struct smarm__actor *cur = __atomic_load_n(&c->current, __ATOMIC_RELAXED);
		uint64_t s = __atomic_load_n(&c->switches, __ATOMIC_RELAXED);
		int r = SMARM__ROLE_RUN;

		if (!cur || atomic_load(&c->role) != SMARM__ROLE_RUN || s != t->seen) {
			t->seen = s;
			t->since = now;
			t->cpu = -1;
			continue;
		}
		if (now - t->since < slice - skew ||
		    atomic_load_explicit(&c->lock_sleeps, memory_order_relaxed))
			continue;
		/* Computing: preemption gets its chance first (it asked at the
		 * look after the actor was seen, and signalled at the next), and
		 * the thread must really be getting a CPU: one that the OS keeps
		 * waiting for a CPU is not helped by another thread (measured:
		 * under CPU contention, such "stuck" carriers were handed off
		 * one after another, each spare taking CPU from the next).  So:
		 * half a slice of CPU time more, since the look that first saw
		 * it at a slice, still without a switch. */
		if (smarm__monitor_thread_state(i) == 'R') {
			int64_t cpu = smarm__monitor_thread_cpu(i);
			if (cpu < 0) {
				if (now - t->since < 2 * slice - skew)
					continue; /* no CPU clock: wall time only */
			} else if (t->cpu < 0) {
				t->cpu = cpu;
				continue;
			} else if (cpu - t->cpu < slice / 2) {
				continue;
			}
		}
		if (work < 0)
			work = work_waits();
		if (!work)
			continue;
		if (!atomic_compare_exchange_strong(&c->role, &r, SMARM__ROLE_RELEASED))
			continue;
		atomic_fetch_sub(&smarm__rt.ncarriers, 1);
		atomic_fetch_add(&st.released, 1);
		if (!add_spare()) {
			/* No spare: c keeps its place (unless it has just come
			 * back and seen the release: then it settles itself). */
			r = SMARM__ROLE_RELEASED;
			if (atomic_compare_exchange_strong(&c->role, &r, SMARM__ROLE_RUN)) {
				atomic_fetch_add(&smarm__rt.ncarriers, 1);
				atomic_fetch_sub(&st.released, 1);
			}
			continue;
		}
		atomic_fetch_add_explicit(&st.handoffs, 1, memory_order_relaxed);
		t->since = now;
		/* Its queued actors go where the spare (or anyone) finds them. */
		smarm__runq_drain(c);
	}
	/* Gone records: join their threads; stop looking at those at the top. */
	n = atomic_load(&smarm__rt.nslots);
	for (int i = 1; i < n; i++)
		reap(smarm__rt.carriers[i]);
	while (n > 1 && atomic_load(&smarm__rt.carriers[n - 1]->role) == SMARM__ROLE_GONE &&
	       !smarm__rt.carriers[n - 1]->thread)
		n--;
	atomic_store_explicit(&smarm__rt.nslots, n, memory_order_release);
}

/* ---- the carrier's side ---------------------------------------------------- */

bool smarm__handoff_retire(struct smarm__carrier *c)
{
	/* What its actor readied on the way out goes where others find it;
	 * and if c was the poller, a sleeper takes the role over. */
	smarm__runq_drain(c);
	smarm__wakep();
	for (;;) {
		int r = atomic_load(&c->role), k;

		if (atomic_load(&smarm__rt.stopping)) {
			if (r == SMARM__ROLE_RELEASED)
				atomic_fetch_sub(&st.released, 1);
			return false;
		}
		if (r == SMARM__ROLE_RUN)
			return true; /* the monitor put us back to work */
		if (r == SMARM__ROLE_RELEASED) {
			atomic_fetch_sub(&st.released, 1);
			k = atomic_load(&smarm__rt.ncarriers);
			while (k < smarm__rt.want) {
				if (atomic_compare_exchange_weak(&smarm__rt.ncarriers, &k, k + 1)) {
					atomic_store(&c->role, SMARM__ROLE_RUN);
					/* The monitor may sleep, not counting us. */
					smarm__preempt_carrier_awake();
					return true;
				}
			}
			atomic_fetch_add(&st.parked, 1);
			atomic_store(&c->role, SMARM__ROLE_PARKED);
			continue;
		}
		/* PARKED.  The monitor stores RUN then sleep_word = 1 and wakes
		 * us; stop() stores stopping then sleep_word = 1. */
		atomic_store(&c->sleep_word, 0);
		if (atomic_load(&c->role) != SMARM__ROLE_PARKED ||
		    atomic_load(&smarm__rt.stopping))
			continue;
		bool keep = c->id == 0 || atomic_load(&st.parked) <= smarm__handoff_keep;
		int e = errno;
		int rc = smarm__futex_wait(&c->sleep_word, 0, keep ? -1 : smarm__handoff_idle_ns);
		errno = e;
		int p = SMARM__ROLE_PARKED;
		if (rc == -ETIMEDOUT && c->id != 0 &&
		    atomic_load(&st.parked) > smarm__handoff_keep &&
		    atomic_compare_exchange_strong(&c->role, &p, SMARM__ROLE_GONE)) {
			atomic_fetch_sub(&st.parked, 1);
			atomic_fetch_sub(&st.threads, 1);
			atomic_fetch_add_explicit(&st.exited, 1, memory_order_relaxed);
			return false;
		}
	}
}

void smarm__handoff_join_all(void)
{
	int n = atomic_load(&smarm__rt.nrecords);

	/* The monitor has stopped: no record changes role but by its own
	 * thread now.  Wake the parked ones (stop() did, but a spare started
	 * after its pass would have missed it), then join every thread. */
	for (int i = 0; i < n; i++)
		wake(smarm__rt.carriers[i]);
	for (int i = 1; i < n; i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		if (c->thread) {
			pthread_join((pthread_t)c->thread, NULL);
			c->thread = 0;
		}
	}
	atomic_store(&st.threads, 0);
	atomic_store(&st.parked, 0);
	atomic_store(&st.released, 0);
	free(trk);
	trk = NULL;
}

void smarm__handoff_stats(struct smarm__handoff_stats *out)
{
	out->handoffs = atomic_load_explicit(&st.handoffs, memory_order_relaxed);
	out->spares_started = atomic_load_explicit(&st.started, memory_order_relaxed);
	out->spares_reused = atomic_load_explicit(&st.reused, memory_order_relaxed);
	out->spares_exited = atomic_load_explicit(&st.exited, memory_order_relaxed);
	out->at_cap = atomic_load_explicit(&st.at_cap, memory_order_relaxed);
	out->threads = atomic_load(&st.threads);
	out->peak = atomic_load(&st.peak);
	out->running = atomic_load(&smarm__rt.ncarriers);
	out->released = atomic_load(&st.released);
	out->parked = atomic_load(&st.parked);
}
