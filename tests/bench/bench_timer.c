/* bench_timer.c — the timer wheel (runtime/timer.c) against the binary
 * min-heap it replaced, side by side in one run, 100,000 concurrent timers.
 *
 *   build/bench/bench_timer [rounds [actor|dense]]
 *        rounds: default 5; each figure is the best round (the VM is noisy)
 *        layout: where the timers sit in memory (below); default actor
 *
 * Phases, each on the same pseudo-random deadlines for both structures:
 *   insert     N timers, deadlines uniform over [0, 10 s)
 *   cancel     half of them, in random order
 *   expire     the other half, `now` advancing in 1 ms steps (per timer)
 *   expire/ev  the same, but `now` jumps to smarm__timer_next() each time, as
 *              a sleeping carrier would; counts wake-ups that fired nothing
 *   pair       insert + cancel at once, N others pending: a timeout that a
 *              reply beats immediately
 *   churn      N timeouts in flight (deadline now + 2..10 s), each op cancels
 *              the oldest and arms a new one; `now` moves 10 us an op and run
 *              is called every 1 ms: the steady state of a busy server
 *   next       smarm__timer_next()
 *   bulk       N timers over 1 s (100 a ms, the density of the 100,000-
 *              sleeper test), `now` in 10 us steps; printed apart: the
 *              longest single run (a level-2 slot of the wheel, 268 ms,
 *              cascades ~27,000 timers at once), and, in a second sweep
 *              while another thread adds and deletes a timer in a loop, the
 *              longest time the lock was held in one go (the lock calls are
 *              wrapped below to time it).  Both are maxima, so the best
 *              round is the one the VM disturbed least.
 *
 * Where timers live matters as much as the structure: in the runtime each is
 * embedded in an actor record at the top of that actor's stack unit (16 KiB
 * guard + 64 KiB stack + record), so two timers are ~84 KiB apart: every one
 * is on its own page (a TLB miss) and they all share a few cache sets.  The
 * default layout copies that (`actor`); `dense` packs them 128 bytes apart,
 * the best case for structures that touch the timers themselves.
 *
 * Instruction counts: run under callgrind, the program does one round and
 * dumps one profile per phase (CALLGRIND_DUMP_STATS_AT), named
 * "<structure> <phase>"; divide each dump's total by the op count printed.
 *
 * The wheel is runtime/timer.c itself, compiled into this file under other
 * names (so it cannot clash with libsmarm.a's copy); the heap is the seed's
 * timer.c, kept here verbatim but for names.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

static int64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The wheel's names, renamed before internal.h declares them. */
#define smarm__timer_add wheel_add
#define smarm__timer_del wheel_del
#define smarm__timer_next wheel_next
#define smarm__timer_run wheel_run
#define smarm__timer_fini wheel_fini
#define smarm__timer_fork_child wheel_fork_child
#define smarm__timer_poke bench_poke

/* ---- lock hold times: both structures take their lock through these
 * (internal.h first, so timer.c's #include of it adds nothing); timing only
 * while `hold_timing`, so the other phases pay one predictable branch ---- */
#include "../../runtime/internal.h"

static bool hold_timing;
static int64_t hold_since, hold_worst; /* written with the lock held */

static inline void held(void)
{
	if (hold_timing)
		hold_since = clock_ns();
}
static inline void bench_lock(smarm__lock_t *l)
{
	smarm__lock(l);
	held();
}
static inline bool bench_trylock(smarm__lock_t *l)
{
	if (!smarm__trylock(l))
		return false;
	held();
	return true;
}
static inline void bench_unlock(smarm__lock_t *l)
{
	if (hold_timing && clock_ns() - hold_since > hold_worst)
		hold_worst = clock_ns() - hold_since;
	smarm__unlock(l);
}
#define smarm__lock bench_lock
#define smarm__trylock bench_trylock
#define smarm__unlock bench_unlock

/* ---- the wheel: runtime/timer.c under bench names ---- */
#include "../../runtime/timer.c"

static long pokes;
void bench_poke(int64_t when)
{
	(void)when;
	pokes++;
}

/* ---- the heap: the seed's runtime/timer.c, names prefixed hp_ ---- */
struct hp_timer {
	int64_t when;
	void (*fn)(struct hp_timer *t);
	uint32_t idx; /* heap slot + 1; 0 = not pending */
};

static smarm__lock_t hp_lock = SMARM__LOCK_INIT;
static struct hp_timer **hp_heap;
static uint32_t hp_len, hp_cap;
static _Atomic int64_t hp_next = INT64_MAX;

static void hp_place(struct hp_timer *t, uint32_t i)
{
	hp_heap[i] = t;
	t->idx = i + 1;
}

static void hp_sift_up(uint32_t i)
{
	struct hp_timer *t = hp_heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (hp_heap[p]->when <= t->when)
			break;
		hp_place(hp_heap[p], i);
		i = p;
	}
	hp_place(t, i);
}

static void hp_sift_down(uint32_t i)
{
	struct hp_timer *t = hp_heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= hp_len)
			break;
		if (c + 1 < hp_len && hp_heap[c + 1]->when < hp_heap[c]->when)
			c++;
		if (t->when <= hp_heap[c]->when)
			break;
		hp_place(hp_heap[c], i);
		i = c;
	}
	hp_place(t, i);
}

static void hp_remove_at(uint32_t i)
{
	hp_heap[i]->idx = 0;
	hp_len--;
	if (i == hp_len)
		return;
	hp_place(hp_heap[hp_len], i);
	if (i > 0 && hp_heap[i]->when < hp_heap[(i - 1) / 2]->when)
		hp_sift_up(i);
	else
		hp_sift_down(i);
}

static void hp_publish_next(void)
{
	atomic_store_explicit(&hp_next, hp_len ? hp_heap[0]->when : INT64_MAX,
			      memory_order_release);
}

static int hp_add(struct hp_timer *t, int64_t when,
		  void (*fn)(struct hp_timer *))
{
	bool earliest;

	smarm_assert(t->idx == 0);
	smarm__lock(&hp_lock);
	if (hp_len == hp_cap) {
		uint32_t ncap = hp_cap ? hp_cap * 2 : 256;
		void *p = realloc(hp_heap, ncap * sizeof *hp_heap);
		if (!p) {
			smarm__unlock(&hp_lock);
			return -ENOMEM;
		}
		hp_heap = p;
		hp_cap = ncap;
	}
	t->when = when;
	t->fn = fn;
	hp_place(t, hp_len++);
	hp_sift_up(hp_len - 1);
	earliest = hp_heap[0] == t;
	if (earliest)
		hp_publish_next();
	smarm__unlock(&hp_lock);
	if (earliest)
		bench_poke(when);
	return 0;
}

static bool hp_del(struct hp_timer *t)
{
	bool pending;

	smarm__lock(&hp_lock);
	pending = t->idx != 0;
	if (pending) {
		hp_remove_at(t->idx - 1);
		hp_publish_next();
	}
	smarm__unlock(&hp_lock);
	return pending;
}

static int64_t hp_next_due(void)
{
	return atomic_load_explicit(&hp_next, memory_order_acquire);
}

static int hp_run(int64_t now)
{
	int n = 0;

	if (hp_next_due() > now)
		return 0;
	if (!smarm__trylock(&hp_lock))
		return 0;
	while (hp_len && hp_heap[0]->when <= now) {
		struct hp_timer *t = hp_heap[0];
		hp_remove_at(0);
		t->fn(t);
		n++;
	}
	hp_publish_next();
	smarm__unlock(&hp_lock);
	return n;
}

static void hp_fini(void)
{
	smarm__lock(&hp_lock);
	free(hp_heap);
	hp_heap = NULL;
	hp_len = hp_cap = 0;
	hp_publish_next();
	smarm__unlock(&hp_lock);
}

/* ---- both behind one table, called indirectly so neither is inlined into
 * the loops (in the runtime they are calls into another file) ---- */
static int64_t cur_now; /* the `now` of the run in progress */
static long fired, early;

static void w_fire(struct smarm__timer *t)
{
	fired++;
	early += t->when > cur_now;
}
static void h_fire(struct hp_timer *t)
{
	fired++;
	early += t->when > cur_now;
}
static int w_add(void *t, int64_t when) { return wheel_add(t, when, w_fire); }
static bool w_del(void *t) { return wheel_del(t); }
static int h_add(void *t, int64_t when) { return hp_add(t, when, h_fire); }
static bool h_del(void *t) { return hp_del(t); }

struct impl {
	const char *name;
	int (*add)(void *t, int64_t when);
	bool (*del)(void *t);
	int64_t (*next)(void);
	int (*run)(int64_t now);
	void (*fini)(void);
	char *owners; /* NOWNERS owners `stride` bytes apart */
};

#define N 100000
#define DENSE_STRIDE 128
#define ACTOR_STRIDE (84 * 1024)
#define PAIRS 1000000
#define PAIR_SET 1024 /* owners the pairs cycle through */
#define NOWNERS (N + 1 + PAIR_SET)
#define CHURN 1000000
#define NEXTS 10000000
#define SPAN SMARM_SEC(10)
#define BASE ((int64_t)1000000 * SMARM_SEC(1)) /* ~11.6 days of uptime */
#define TIMER_BYTES 64 /* what reset() clears in each owner */
_Static_assert(sizeof(struct smarm__timer) <= TIMER_BYTES &&
	       sizeof(struct hp_timer) <= TIMER_BYTES &&
	       TIMER_BYTES <= DENSE_STRIDE, "owners too small");
static size_t stride = ACTOR_STRIDE, offset; /* timer i at owners + i*stride + offset */

static struct impl impls[2] = {
	{"heap", h_add, h_del, hp_next_due, hp_run, hp_fini, NULL},
	{"wheel", w_add, w_del, wheel_next, wheel_run, wheel_fini, NULL},
};

static int64_t deadline[N];   /* offsets from BASE */
static uint32_t cancel_order[N];
static int64_t pair_dl[PAIRS], churn_dl[CHURN];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void *timer(struct impl *im, uint32_t i)
{
	return im->owners + (size_t)i * stride + offset;
}

/* Back to empty, with the structure's clock at BASE (a runtime in steady
 * state has run timers recently, so the wheel's position is near now). */
static void reset(struct impl *im)
{
	im->fini();
	for (uint32_t i = 0; i < NOWNERS; i++)
		memset(timer(im, i), 0, TIMER_BYTES);
	im->add(timer(im, N), BASE - 1);
	cur_now = BASE;
	im->run(BASE);
	memset(timer(im, N), 0, TIMER_BYTES);
	fired = early = 0;
}

static void fill(struct impl *im)
{
	for (uint32_t i = 0; i < N; i++)
		im->add(timer(im, i), BASE + deadline[i]);
}

enum { P_INSERT, P_CANCEL, P_EXPIRE, P_EXPIRE_EV, P_PAIR, P_CHURN, P_NEXT, NPHASE };
static const char *phase_name[NPHASE] = {
	"insert", "cancel", "expire", "expire/ev", "pair", "churn", "next",
};
static const char *phase_unit[NPHASE] = {
	"add", "del", "fired timer", "fired timer", "add+del", "del+add", "call",
};
static double best[2][NPHASE];
static double best_run[2], best_hold[2]; /* bulk: us, best round */
static long ops[NPHASE];
static long wakeups[2], spurious[2], total_pokes[2];

static int64_t t0;
static void begin(void)
{
	CALLGRIND_ZERO_STATS;
	t0 = clock_ns();
}
static void end(int which, int phase, long nops)
{
	double ns = (double)(clock_ns() - t0) / (double)nops;
	char label[64];

	snprintf(label, sizeof label, "%s %s", impls[which].name, phase_name[phase]);
	CALLGRIND_DUMP_STATS_AT(label);
	(void)label;
	if (best[which][phase] == 0 || ns < best[which][phase])
		best[which][phase] = ns;
	ops[phase] = nops;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_timer: %s\n", what);
		exit(1);
	}
}

/* bulk: another thread arms and cancels one timer in a loop, so that the
 * lock is always wanted. */
struct contender {
	struct impl *im;
	_Atomic bool stop, started;
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	void *t = timer(c->im, N);

	atomic_store(&c->started, true);
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		c->im->add(t, BASE + SMARM_SEC(3600));
		c->im->del(t);
	}
	return NULL;
}

/* One sweep; with `contended`, the longest lock hold, else the longest
 * run, in us. */
__attribute__((noipa)) static double bulk_of(int which, bool contended)
{
	struct impl *im = &impls[which];
	struct contender c = {.im = im};
	pthread_t th;
	int64_t worst = 0;

	reset(im);
	for (uint32_t i = 0; i < N; i++)
		im->add(timer(im, i), BASE + SMARM_MSEC(1) + deadline[i] / 10);
	if (contended) {
		check(pthread_create(&th, NULL, contend, &c) == 0, "pthread_create");
		while (!atomic_load(&c.started))
			;
		hold_worst = 0;
		hold_timing = true;
	}
	for (int64_t now = BASE; fired < N; now += SMARM_USEC(10)) {
		int64_t start = clock_ns(), d;
		cur_now = now;
		im->run(now);
		d = clock_ns() - start;
		if (d > worst)
			worst = d;
	}
	if (contended) {
		hold_timing = false;
		atomic_store(&c.stop, true);
		pthread_join(th, NULL);
		worst = hold_worst;
	}
	check(early == 0, "bulk: a timer fired early");
	return (double)worst / 1e3;
}

static void keep_best(double *best_us, double us)
{
	if (*best_us == 0 || us < *best_us)
		*best_us = us;
}

__attribute__((noipa)) static void round_of(int which)
{
	struct impl *im = &impls[which];
	int64_t now, sink = 0;
	long runs, n;

	pokes = 0;
	/* insert, cancel, expire by steps */
	reset(im);
	begin();
	fill(im);
	end(which, P_INSERT, N);
	begin();
	for (uint32_t i = 0; i < N / 2; i++)
		im->del(timer(im, cancel_order[i]));
	end(which, P_CANCEL, N / 2);
	begin();
	runs = 0;
	for (now = BASE; fired < N / 2; runs++) {
		now += SMARM_MSEC(1);
		cur_now = now;
		im->run(now);
	}
	end(which, P_EXPIRE, N / 2);
	check(fired == N / 2 && early == 0 && im->next() == INT64_MAX,
	      "expire: wrong timers fired");

	/* expire, event-driven: `now` jumps to the bound, like a carrier that
	 * sleeps until smarm__timer_next() */
	reset(im);
	fill(im);
	for (uint32_t i = 0; i < N / 2; i++)
		im->del(timer(im, cancel_order[i]));
	wakeups[which] = spurious[which] = 0;
	now = BASE;
	begin();
	for (;;) {
		int64_t due = im->next();
		if (due == INT64_MAX)
			break;
		if (due > now)
			now = due;
		cur_now = now;
		n = im->run(now);
		wakeups[which]++;
		spurious[which] += n == 0;
	}
	end(which, P_EXPIRE_EV, N / 2);
	check(fired == N / 2 && early == 0, "expire/ev: wrong timers fired");

	/* insert+cancel pairs among N pending */
	reset(im);
	fill(im);
	begin();
	n = 0;
	for (uint32_t i = 0; i < PAIRS; i++) {
		void *t = timer(im, N + 1 + i % PAIR_SET);
		im->add(t, BASE + pair_dl[i]);
		n += im->del(t);
	}
	end(which, P_PAIR, PAIRS);
	check(fired == 0 && n == PAIRS, "pair: a timer fired or was lost");

	/* churn: a sliding window of N timeouts that never fire */
	reset(im);
	now = BASE;
	for (uint32_t i = 0; i < N; i++)
		im->add(timer(im, i), now + churn_dl[i]);
	begin();
	for (uint32_t i = 0; i < CHURN; i++) {
		void *t = timer(im, i % N);
		im->del(t);
		im->add(t, now + churn_dl[i]);
		now += SMARM_USEC(10);
		if (i % 100 == 99) {
			cur_now = now;
			im->run(now);
		}
	}
	end(which, P_CHURN, CHURN);
	check(fired == 0, "churn: a timer fired");

	begin();
	for (uint32_t i = 0; i < NEXTS; i++)
		sink += im->next();
	end(which, P_NEXT, NEXTS);
	total_pokes[which] = pokes;
	(void)sink;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	bool dense = argc > 2 && strcmp(argv[2], "dense") == 0;

	if (argc > 2 && !dense && strcmp(argv[2], "actor") != 0) {
		fprintf(stderr, "usage: bench_timer [rounds [actor|dense]]\n");
		return 2;
	}
	/* In an actor unit the record, and the timer in it, is near the top. */
	stride = dense ? DENSE_STRIDE : ACTOR_STRIDE;
	offset = dense ? 0 : ACTOR_STRIDE - 512;

	if (RUNNING_ON_VALGRIND)
		rounds = 1;
	if (rounds < 1)
		rounds = 1;
	for (int i = 0; i < 2; i++) {
		/* N, one for reset(), PAIR_SET for the pairs */
		impls[i].owners = mmap(NULL, (size_t)NOWNERS * stride,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				       -1, 0);
		check(impls[i].owners != MAP_FAILED, "out of memory");
	}
	for (uint32_t i = 0; i < N; i++) {
		deadline[i] = (int64_t)(rnd() % (uint64_t)SPAN);
		cancel_order[i] = i;
	}
	for (uint32_t i = N - 1; i > 0; i--) { /* Fisher-Yates */
		uint32_t j = (uint32_t)(rnd() % (i + 1)), x = cancel_order[i];
		cancel_order[i] = cancel_order[j];
		cancel_order[j] = x;
	}
	for (uint32_t i = 0; i < PAIRS; i++)
		pair_dl[i] = (int64_t)(rnd() % (uint64_t)SPAN);
	for (uint32_t i = 0; i < CHURN; i++)
		churn_dl[i] = SMARM_SEC(2) + (int64_t)(rnd() % (uint64_t)SMARM_SEC(8));

	for (int r = 0; r < rounds; r++) {
		round_of(0);
		round_of(1);
	}
	if (!RUNNING_ON_VALGRIND) {
		for (int r = 0; r < rounds; r++) {
			for (int i = 0; i < 2; i++) {
				keep_best(&best_run[i], bulk_of(i, false));
				keep_best(&best_hold[i], bulk_of(i, true));
			}
		}
	}

	printf("timers: %d concurrent, deadlines over 10 s, %s layout (%zu bytes "
	       "apart); wheel: tick 2^%d ns, %d levels of %u slots; best of %d "
	       "round%s\n", N, dense ? "dense" : "actor", stride, TICK_SHIFT,
	       LEVELS, SLOTS, rounds, rounds > 1 ? "s" : "");
	printf("%-10s %12s %12s %10s  %s\n", "phase", "heap ns/op", "wheel ns/op",
	       "heap/wheel", "op");
	for (int p = 0; p < NPHASE; p++)
		printf("%-10s %12.1f %12.1f %10.2f  %s (x%ld)\n", phase_name[p],
		       best[0][p], best[1][p], best[0][p] / best[1][p],
		       phase_unit[p], ops[p]);
	printf("expire/ev wake-ups: heap %ld (%ld fired nothing), "
	       "wheel %ld (%ld fired nothing)\n",
	       wakeups[0], spurious[0], wakeups[1], spurious[1]);
	printf("new-earliest pokes in the last round: heap %ld, wheel %ld\n",
	       total_pokes[0], total_pokes[1]);
	if (!RUNNING_ON_VALGRIND)
		printf("bulk, 100 timers a ms, 10 us steps: longest run: heap %.0f us, "
		       "wheel %.0f us; longest lock hold, another thread adding: "
		       "heap %.0f us, wheel %.0f us\n", best_run[0], best_run[1],
		       best_hold[0], best_hold[1]);
	for (int i = 0; i < 2; i++)
		munmap(impls[i].owners, (size_t)NOWNERS * stride);
	return 0;
}
