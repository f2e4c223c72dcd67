/* stats.c — the runtime's statistics (SMARM_STATS=1 prints them at exit).
 *
 * Owns: the folded totals of carriers that are gone, the counters of spawns
 * made outside any carrier, and the report.
 *
 * Counting costs the hot paths nothing they would notice: every counter
 * that moves per switch, park or spawn lives in the carrier (c->switches,
 * c->steals, c->stats) and is bumped with a plain increment by the
 * carrier's own thread — an actor counts into the carrier it runs on, and
 * only that carrier's thread runs it at the time.  A report sums them with
 * racy reads (each 8-byte aligned counter is read whole on x86-64), so a
 * report taken while actors run is a consistent-enough snapshot, and one
 * taken after smarm_run returned is exact.  Carriers are freed by
 * smarm__sched_fini, which first folds their counters into `tot` here.
 * Spawns from threads that are not carriers (the root spawn, foreign
 * threads) count into atomics.
 *
 * Other counters are owned elsewhere and read through their owners'
 * snapshot functions: preemptions (preempt.c), stacks (stack.c), the
 * blocking pool (pool.c), hand-offs and spare carriers (handoff.c).
 *
 * Lock order: tot_lock is a leaf.  Never switches.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define NKINDS 64 /* distinct park kinds kept in a report */

/* Totals folded from freed carriers; under tot_lock. */
static smarm__lock_t tot_lock = SMARM__LOCK_INIT;
static struct {
	uint64_t switches, steals, spawned, exited, park_other;
	long peak_alive;
	const char *what[NKINDS];
	uint64_t n[NKINDS];
} tot;

static _Atomic uint64_t off_spawned;  /* spawns outside carriers */
static _Atomic long off_peak;         /* peak alive seen by those */

int64_t smarm__coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void smarm__stats_off_carrier(long n, bool spawned)
{
	long p = atomic_load_explicit(&off_peak, memory_order_relaxed);

	if (spawned)
		atomic_fetch_add_explicit(&off_spawned, 1, memory_order_relaxed);
	while (n > p && !atomic_compare_exchange_weak(&off_peak, &p, n))
		;
}

/* Add one park kind to a table of NKINDS, merging equal strings (the same
 * literal may have several addresses, one per object file). */
static void kind_add(const char **what, uint64_t *n, const char *w, uint64_t k)
{
	for (int i = 0; i < NKINDS; i++) {
		if (!what[i]) {
			what[i] = w;
			n[i] = k;
			return;
		}
		if (what[i] == w || strcmp(what[i], w) == 0) {
			n[i] += k;
			return;
		}
	}
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void smarm__stats_fold(void)
{
	smarm__lock(&tot_lock);
	for (int i = 0; i < smarm__rt.ncarriers; i++) {
		struct smarm__carrier *c = smarm__rt.carriers[i];
		if (!c)
			continue;
		tot.switches += c->switches;
		tot.steals += c->steals;
		tot.spawned += c->stats.spawned;
		tot.exited += c->stats.exited;
		tot.park_other += c->stats.park_other;
		if (c->stats.peak_alive > tot.peak_alive)
			tot.peak_alive = c->stats.peak_alive;
		for (int k = 0; k < SMARM__PARK_KINDS; k++)
			if (c->stats.park_what[k])
				kind_add(tot.what, tot.n, c->stats.park_what[k],
					 c->stats.park_n[k]);
		memset(&c->stats, 0, sizeof c->stats);
		c->switches = c->steals = 0;
	}
	smarm__unlock(&tot_lock);
}

struct out {
	int fd;
	size_t n;
	char buf[4096];
};

static void flush(struct out *o)
{
	size_t off = 0;

	while (off < o->n) {
		ssize_t w = write(o->fd, o->buf + off, o->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	o->n = 0;
}

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (sizeof o->buf - o->n < 256)
		flush(o);
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k < sizeof o->buf - o->n ? (size_t)k : sizeof o->buf - o->n - 1;
}

void smarm__stats_print(int fd)
{
	struct smarm__preempt_stats ps;
	struct rusage ru;
	uint64_t switches, steals, spawned, exited, parks = 0, park_other;
	struct smarm__handoff_stats ho;
	const char *what[NKINDS] = {0};
	uint64_t n[NKINDS] = {0};
	size_t created = 0, pooled = 0;
	long peak;
	int pthreads = 0;
	int64_t pruns = 0;
	struct out o = {.fd = fd};
	int e = errno;

	smarm__lock(&tot_lock);
	switches = tot.switches;
	steals = tot.steals;
	spawned = tot.spawned + atomic_load(&off_spawned);
	exited = tot.exited;
	park_other = tot.park_other;
	peak = tot.peak_alive;
	for (int k = 0; k < NKINDS && tot.what[k]; k++)
		kind_add(what, n, tot.what[k], tot.n[k]);
	/* Carriers still running (a report at exit() from an actor): racy
	 * reads of their owner-only counters. */
	if (atomic_load(&smarm__rt.running) && smarm__rt.carriers) {
		for (int i = 0; i < smarm__rt.ncarriers; i++) {
			struct smarm__carrier *c = smarm__rt.carriers[i];
			switches += rd(&c->switches);
			steals += rd(&c->steals);
			spawned += rd(&c->stats.spawned);
			exited += rd(&c->stats.exited);
			park_other += rd(&c->stats.park_other);
			long pk = __atomic_load_n(&c->stats.peak_alive, __ATOMIC_RELAXED);
			if (pk > peak)
				peak = pk;
			for (int k = 0; k < SMARM__PARK_KINDS; k++) {
				const char *w = __atomic_load_n(&c->stats.park_what[k],
								__ATOMIC_RELAXED);
				if (w)
					kind_add(what, n, w, rd(&c->stats.park_n[k]));
			}
		}
	}
	smarm__unlock(&tot_lock);
	if (atomic_load(&off_peak) > peak)
		peak = atomic_load(&off_peak);
	for (int k = 0; k < NKINDS && what[k]; k++)
		parks += n[k];
	parks += park_other;
	smarm__preempt_stats(&ps);
	smarm__stack_stats(&created, &pooled);
	smarm__pool_stats(&pthreads, NULL, &pruns);

	put(&o, "smarm: statistics\n");
	put(&o, "  spawned          %lu\n", (unsigned long)spawned);
	put(&o, "  exited           %lu\n", (unsigned long)exited);
	put(&o, "  alive            %ld\n", smarm__alive_count());
	put(&o, "  peak-alive       %ld\n", peak);
	put(&o, "  switches         %lu\n", (unsigned long)switches);
	put(&o, "  preempt-alloc    %lu\n", (unsigned long)ps.by_alloc);
	put(&o, "  preempt-signal   %lu\n", (unsigned long)ps.by_signal);
	put(&o, "  preempt-check    %lu\n", (unsigned long)ps.by_check);
	put(&o, "  preempt-asked    %lu\n", (unsigned long)ps.requests);
	put(&o, "  parks            %lu\n", (unsigned long)parks);
	for (int k = 0; k < NKINDS && what[k]; k++)
		put(&o, "  park: %-9s %lu\n", what[k], (unsigned long)n[k]);
	if (park_other)
		put(&o, "  park: %-9s %lu\n", "other", (unsigned long)park_other);
	put(&o, "  steals           %lu\n", (unsigned long)steals);
	smarm__handoff_stats(&ho);
	put(&o, "  hand-offs        %lu\n", (unsigned long)ho.handoffs);
	put(&o, "  spares-started   %lu\n", (unsigned long)ho.spares_started);
	put(&o, "  spares-reused    %lu\n", (unsigned long)ho.spares_reused);
	put(&o, "  peak-carriers    %d\n", ho.peak);
	put(&o, "  stacks-created   %zu\n", created);
	put(&o, "  stacks-pooled    %zu\n", pooled);
	put(&o, "  pool-threads     %d\n", pthreads);
	put(&o, "  pool-jobs        %ld\n", (long)pruns);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		put(&o, "  peak-rss-kib     %ld\n", ru.ru_maxrss);
	flush(&o);
	errno = e;
}
