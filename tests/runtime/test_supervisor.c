/* test_supervisor.c — supervisors (supervisor.c), against Erlang/OTP's
 * semantics: each strategy restarts exactly the right children in the
 * right order (stops in reverse start order, starts in start order), the
 * restart types, restart intensity (a storm ends the supervisor with
 * SHUTDOWN and its parent hears of it), stopping a supervisor, trees of
 * supervisors, stale pids of restarted children, and 10,000 crash/restart
 * cycles that leave the stack pool, the slot table and RSS where they
 * were. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(supervisor, .timeout = 120);

/* ---- an event log: "Sa" the supervisor started a (smarm__sup_trace, so in
 * the order it starts them), "Xa" a ended (its cleanup handler, which runs
 * before the supervisor hears of the end) ------------------------------- */

static char events[4096];
static _Atomic int nevents;
static smarm_mutex_t events_lock = SMARM_MUTEX_INIT;

static void event(char what, char who)
{
	smarm_mutex_lock(&events_lock, SMARM_FOREVER);
	int i = nevents;
	if (i < (int)sizeof events - 3) {
		events[i] = what;
		events[i + 1] = who;
		events[i + 2] = '\0';
		nevents = i + 2;
	}
	smarm_mutex_unlock(&events_lock);
}

static void trace_start(smarm_pid_t sup, const char *child, smarm_pid_t pid)
{
	(void)sup, (void)pid;
	event('S', child[0]);
}

static void reset_events(void)
{
	memset(events, 0, sizeof events);
	nevents = 0;
	smarm__sup_trace = trace_start;
}

/* Wait (up to 5 s) until the log is `want` long; CHECK it is `want`. */
#define EXPECT_EVENTS(want) expect_events(__FILE__, __LINE__, want)
static void expect_events(const char *file, int line, const char *want)
{
	int64_t end = smarm_now() + SMARM_SEC(5);

	while (nevents < (int)strlen(want) && smarm_now() < end)
		smarm_sleep(SMARM_USEC(200));
	smarm_sleep(SMARM_MSEC(5)); /* and nothing more comes */
	if (strcmp(events, want) != 0)
		check_fail(file, line, "events \"%s\", want \"%s\"", events, want);
}

static void ended(void *arg)
{
	event('X', (char)(intptr_t)arg);
}

/* A child: logs its end from a cleanup handler; waits for messages:
 * "crash" panics, "exit" returns normally, a stop ends it. */
static void *worker(void *arg)
{
	struct smarm_cleanup c;
	char buf[16];
	int k;

	smarm_cleanup_push(&c, ended, arg);
	for (;;) {
		memset(buf, 0, sizeof buf);
		k = smarm_recv(buf, sizeof buf - 1, NULL, SMARM_FOREVER);
		if (k < 0)
			break; /* -ECANCELED: we are being stopped */
		if (strcmp(buf, "crash") == 0)
			smarm_panic("asked to crash");
		if (strcmp(buf, "exit") == 0)
			break;
	}
	smarm_cleanup_pop(&c, 1);
	return NULL;
}

#define CHILD(id, restart_)                                                   \
	{ .name = #id, .fn = worker, .arg = (void *)(intptr_t)#id[0], .restart = restart_ }

static smarm_pid_t start_sup(const struct smarm_sup_spec *spec)
{
	struct smarm_spawn_opts o = {.name = "sup", .flags = SMARM_SPAWN_CHILD};
	smarm_pid_t sup = 0;

	CHECK_RC(smarm_sup_start(&sup, spec, &o), 0);
	return sup;
}

/* The supervisor's children's pids once all of the first n run. */
static void children(smarm_pid_t sup, smarm_pid_t *pids, int n)
{
	int64_t end = smarm_now() + SMARM_SEC(5);

	for (;;) {
		int k = smarm_sup_children(sup, pids, (size_t)n), i;
		for (i = 0; i < n && i < k && pids[i]; i++)
			;
		if (i == n || smarm_now() > end)
			break;
		smarm_sleep(SMARM_USEC(200));
	}
}

static void tell(smarm_pid_t p, const char *what)
{
	CHECK_RC(smarm_send(p, what, strlen(what) + 1), 0);
}

/* Stop the supervisor; its parent (the caller) hears SHUTDOWN. */
static void stop_sup(smarm_pid_t sup)
{
	struct smarm_notice n;

	CHECK_RC(smarm_stop(sup), 0);
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10)), SMARM_MSG_PANIC);
	CHECK_EQ(n.pid, sup);
	CHECK_EQ(n.how, SMARM_EXIT_SHUTDOWN);
}

/* ---- strategies ----------------------------------------------------------- */

static void *root_one_for_one(void *arg)
{
	struct smarm_child_spec kids[] = {CHILD(a, SMARM_PERMANENT), CHILD(b, SMARM_PERMANENT),
	                                  CHILD(c, SMARM_PERMANENT)};
	struct smarm_sup_spec spec = {.strategy = SMARM_ONE_FOR_ONE, .intensity = 5,
	                              .children = kids, .nchildren = 3};
	smarm_pid_t sup, p[3], q[3];

	(void)arg;
	reset_events();
	sup = start_sup(&spec);
	EXPECT_EVENTS("SaSbSc");
	children(sup, p, 3);
	CHECK_EQ(smarm_sup_children(sup, NULL, 0), 3);
	tell(p[1], "crash");
	EXPECT_EVENTS("SaSbScXbSb");
	children(sup, q, 3);
	CHECK_EQ(q[0], p[0]);
	CHECK(q[1] != p[1] && q[1] != 0);
	CHECK_EQ(q[2], p[2]);
	/* The restarted child's old pid is stale. */
	CHECK_RC(smarm_send(p[1], "x", 2), -ESRCH);
	CHECK_RC(smarm_kill(p[1], NULL), -ESRCH);
	stop_sup(sup);
	EXPECT_EVENTS("SaSbScXbSbXcXbXa");
	CHECK_RC(smarm_sup_children(sup, q, 3), -ESRCH);
	return NULL;
}

Test(supervisor, one_for_one_restarts_only_the_child_that_ended)
{
	rt_run(root_one_for_one, NULL, 2);
}

static void *root_one_for_all(void *arg)
{
	struct smarm_child_spec kids[] = {CHILD(a, SMARM_PERMANENT), CHILD(b, SMARM_PERMANENT),
	                                  CHILD(c, SMARM_PERMANENT)};
	struct smarm_sup_spec spec = {.strategy = SMARM_ONE_FOR_ALL, .intensity = 5,
	                              .children = kids, .nchildren = 3};
	smarm_pid_t sup, p[3], q[3];

	(void)arg;
	reset_events();
	sup = start_sup(&spec);
	EXPECT_EVENTS("SaSbSc");
	children(sup, p, 3);
	tell(p[1], "crash");
	/* b's own end, then the others stopped last-started first, then all
	 * started in order. */
	EXPECT_EVENTS("SaSbScXbXcXaSaSbSc");
	children(sup, q, 3);
	for (int i = 0; i < 3; i++)
		CHECK(q[i] != p[i] && q[i] != 0);
	stop_sup(sup);
	return NULL;
}

Test(supervisor, one_for_all_restarts_every_child)
{
	rt_run(root_one_for_all, NULL, 2);
}

static void *root_rest_for_one(void *arg)
{
	struct smarm_child_spec kids[] = {CHILD(a, SMARM_PERMANENT), CHILD(b, SMARM_PERMANENT),
	                                  CHILD(c, SMARM_PERMANENT), CHILD(d, SMARM_PERMANENT)};
	struct smarm_sup_spec spec = {.strategy = SMARM_REST_FOR_ONE, .intensity = 5,
	                              .children = kids, .nchildren = 4};
	smarm_pid_t sup, p[4], q[4];

	(void)arg;
	reset_events();
	sup = start_sup(&spec);
	EXPECT_EVENTS("SaSbScSd");
	children(sup, p, 4);
	tell(p[1], "crash");
	EXPECT_EVENTS("SaSbScSdXbXdXcSbScSd");
	children(sup, q, 4);
	CHECK_EQ(q[0], p[0]);
	for (int i = 1; i < 4; i++)
		CHECK(q[i] != p[i] && q[i] != 0);
	/* The last one: only itself. */
	tell(q[3], "crash");
	EXPECT_EVENTS("SaSbScSdXbXdXcSbScSdXdSd");
	stop_sup(sup);
	EXPECT_EVENTS("SaSbScSdXbXdXcSbScSdXdSdXdXcXbXa");
	return NULL;
}

Test(supervisor, rest_for_one_restarts_the_child_and_those_after_it)
{
	rt_run(root_rest_for_one, NULL, 2);
}

/* ---- restart types ----------------------------------------------------------- */

static void *root_restart_types(void *arg)
{
	struct smarm_child_spec kids[] = {CHILD(p, SMARM_PERMANENT), CHILD(t, SMARM_TRANSIENT),
	                                  CHILD(e, SMARM_TEMPORARY), CHILD(u, SMARM_TRANSIENT)};
	struct smarm_sup_spec spec = {.strategy = SMARM_ONE_FOR_ONE, .intensity = 10,
	                              .children = kids, .nchildren = 4};
	smarm_pid_t sup, p[4], q[4];

	(void)arg;
	reset_events();
	sup = start_sup(&spec);
	EXPECT_EVENTS("SpStSeSu");
	children(sup, p, 4);
	tell(p[0], "exit");  /* permanent, normal end: restarted */
	EXPECT_EVENTS("SpStSeSuXpSp");
	tell(p[1], "exit");  /* transient, normal end: stays down */
	EXPECT_EVENTS("SpStSeSuXpSpXt");
	tell(p[2], "crash"); /* temporary: never restarted */
	EXPECT_EVENTS("SpStSeSuXpSpXtXe");
	tell(p[3], "crash"); /* transient, abnormal end: restarted */
	EXPECT_EVENTS("SpStSeSuXpSpXtXeXuSu");
	smarm_sup_children(sup, q, 4);
	CHECK(q[0] != 0 && q[0] != p[0]);
	CHECK_EQ(q[1], 0);
	CHECK_EQ(q[2], 0);
	CHECK(q[3] != 0 && q[3] != p[3]);
	/* A transient child stopped with smarm_stop (SHUTDOWN) stays down;
	 * one killed (KILLED) is restarted. */
	CHECK_RC(smarm_kill(q[3], NULL), 0);
	EXPECT_EVENTS("SpStSeSuXpSpXtXeXuSuXuSu");
	smarm_sup_children(sup, q, 4);
	CHECK_RC(smarm_stop(q[3]), 0);
	EXPECT_EVENTS("SpStSeSuXpSpXtXeXuSuXuSuXu");
	stop_sup(sup);
	return NULL;
}

Test(supervisor, permanent_transient_and_temporary_children)
{
	rt_run(root_restart_types, NULL, 2);
}

/* ---- restart intensity ---------------------------------------------------------- */

static _Atomic int crasher_starts;

static void *crasher(void *arg)
{
	(void)arg;
	crasher_starts++;
	smarm_panic("crash on start");
}

static void *root_intensity(void *arg)
{
	struct smarm_child_spec kids[] = {
		CHILD(a, SMARM_PERMANENT),
		{.name = "z", .fn = crasher, .restart = SMARM_PERMANENT},
		CHILD(c, SMARM_PERMANENT)};
	struct smarm_sup_spec spec = {.strategy = SMARM_ONE_FOR_ONE, .intensity = 2,
	                              .period = SMARM_SEC(10), .children = kids,
	                              .nchildren = 3};
	struct smarm_notice n;
	smarm_pid_t sup;

	(void)arg;
	reset_events();
	crasher_starts = 0;
	sup = start_sup(&spec);
	/* z starts and crashes; restarted twice (the intensity); its third
	 * crash is one restart too many: the others are stopped, last
	 * started first, and the supervisor ends with SHUTDOWN. */
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10)), SMARM_MSG_PANIC);
	CHECK_EQ(n.pid, sup);
	CHECK_EQ(n.via, SMARM_VIA_CHILD);
	CHECK_EQ(n.how, SMARM_EXIT_SHUTDOWN);
	CHECK(strncmp(n.reason, "shutdown: restart intensity reached (more than 2 restarts "
	                        "in 10000 ms; last: child z, panic: crash on start)",
	              SMARM_REASON_MAX) == 0);
	CHECK_EQ(crasher_starts, 3);
	EXPECT_EVENTS("SaSzScSzSzXcXa");
	CHECK_RC(smarm_sup_children(sup, NULL, 0), -ESRCH);
	return NULL;
}

Test(supervisor, a_restart_storm_ends_the_supervisor_and_its_parent_hears_of_it)
{
	rt_run(root_intensity, NULL, 2);
}

static void *root_no_restarts(void *arg)
{
	struct smarm_child_spec kids[] = {{.name = "z", .fn = crasher}};
	struct smarm_sup_spec spec = {.intensity = -1, .children = kids, .nchildren = 1};
	struct smarm_notice n;

	(void)arg;
	reset_events();
	crasher_starts = 0;
	start_sup(&spec);
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10)), SMARM_MSG_PANIC);
	CHECK_EQ(n.how, SMARM_EXIT_SHUTDOWN);
	CHECK_EQ(crasher_starts, 1);
	return NULL;
}

Test(supervisor, negative_intensity_allows_no_restart)
{
	rt_run(root_no_restarts, NULL, 2);
}

/* Restarts spread out further than the period never add up. */
static _Atomic int slow_starts;

static void *slow_crasher(void *arg)
{
	(void)arg;
	if (++slow_starts < 6)
		smarm_sleep(SMARM_MSEC(25));
	else
		smarm_sleep(SMARM_SEC(60));
	smarm_panic("slowly");
}

static void *root_period(void *arg)
{
	struct smarm_child_spec kids[] = {{.name = "s", .fn = slow_crasher}};
	struct smarm_sup_spec spec = {.intensity = 1, .period = SMARM_MSEC(10),
	                              .children = kids, .nchildren = 1};
	struct smarm_notice n;
	smarm_pid_t sup;

	(void)arg;
	slow_starts = 0;
	sup = start_sup(&spec);
	while (slow_starts < 6)
		smarm_sleep(SMARM_MSEC(1));
	CHECK_RC(smarm_recv(&n, sizeof n, NULL, 0), -ETIMEDOUT); /* still up */
	stop_sup(sup);
	return NULL;
}

Test(supervisor, restarts_further_apart_than_the_period_are_fine)
{
	rt_run(root_period, NULL, 2);
}

/* ---- trees --------------------------------------------------------------- */

static void *root_tree(void *arg)
{
	static struct smarm_child_spec inner_kids[] = {
		CHILD(x, SMARM_PERMANENT),
		{.name = "z", .fn = crasher, .restart = SMARM_PERMANENT}};
	static struct smarm_sup_spec inner = {.intensity = 1, .children = inner_kids,
	                                      .nchildren = 2};
	struct smarm_child_spec outer_kids[] = {
		CHILD(a, SMARM_PERMANENT),
		{.name = "inner", .fn = smarm_supervisor, .arg = &inner,
		 .restart = SMARM_PERMANENT}};
	struct smarm_sup_spec outer = {.intensity = 1, .period = SMARM_SEC(10),
	                               .children = outer_kids, .nchildren = 2};
	struct smarm_notice n;
	smarm_pid_t sup;

	(void)arg;
	reset_events();
	crasher_starts = 0;
	sup = start_sup(&outer);
	/* outer starts a and inner; inner starts x, z, z (one restart
	 * allowed), gives up stopping x; outer restarts inner once: x, z, z,
	 * stop x; gives up; stops a. */
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10)), SMARM_MSG_PANIC);
	CHECK_EQ(n.pid, sup);
	CHECK_EQ(n.how, SMARM_EXIT_SHUTDOWN);
	CHECK(strstr(n.reason, "last: child inner, shutdown: shutdown: restart intensity") !=
	      NULL);
	EXPECT_EVENTS("SaSiSxSzSzXxSiSxSzSzXxXa");
	CHECK_EQ(crasher_starts, 4);
	return NULL;
}

/* One carrier: the log interleaves two supervisors' traces, and the trace
 * of a spawn is recorded after the spawn, so on two carriers the inner
 * supervisor's first children could be logged before the outer's "Si"
 * (seen once under ASan). */
Test(supervisor, a_supervisor_can_supervise_supervisors)
{
	rt_run(root_tree, NULL, 1);
}

/* ---- killing a supervisor, bad specs ------------------------------------------- */

static void *root_kill_sup(void *arg)
{
	struct smarm_child_spec kids[] = {CHILD(a, SMARM_PERMANENT), CHILD(b, SMARM_PERMANENT)};
	struct smarm_sup_spec spec = {.children = kids, .nchildren = 2};
	struct smarm_notice n;
	smarm_pid_t sup, p[2];

	(void)arg;
	reset_events();
	sup = start_sup(&spec);
	children(sup, p, 2);
	CHECK_RC(smarm_kill(sup, "go away"), 0);
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10)), SMARM_MSG_PANIC);
	CHECK_EQ(n.how, SMARM_EXIT_KILLED);
	CHECK(strcmp(n.reason, "go away") == 0);
	EXPECT_EVENTS("SaSbXbXa");
	CHECK_RC(smarm_send(p[0], "x", 2), -ESRCH);
	CHECK_RC(smarm_send(p[1], "x", 2), -ESRCH);
	return NULL;
}

Test(supervisor, a_killed_supervisor_stops_its_children_first)
{
	rt_run(root_kill_sup, NULL, 2);
}

static void *root_bad_specs(void *arg)
{
	struct smarm_child_spec ok = {.name = "a", .fn = worker, .arg = (void *)'a'};
	struct smarm_child_spec bad = {.name = "b", .fn = NULL};
	struct smarm_sup_spec spec = {.children = &ok, .nchildren = 1};
	smarm_pid_t sup;

	(void)arg;
	CHECK_RC(smarm_sup_start(&sup, NULL, NULL), -EINVAL);
	spec.strategy = 7;
	CHECK_RC(smarm_sup_start(&sup, &spec, NULL), -EINVAL);
	spec.strategy = 0;
	spec.intensity = 1000000;
	CHECK_RC(smarm_sup_start(&sup, &spec, NULL), -EINVAL);
	spec.intensity = 0;
	spec.children = &bad;
	CHECK_RC(smarm_sup_start(&sup, &spec, NULL), -EINVAL);
	spec.children = NULL;
	CHECK_RC(smarm_sup_start(&sup, &spec, NULL), -EINVAL);
	/* Not a supervisor. */
	CHECK_RC(smarm_sup_children(smarm_self(), NULL, 0), -ESRCH);
	/* An empty supervisor is fine, and stops. */
	spec.nchildren = 0;
	sup = start_sup(&spec);
	CHECK_EQ(smarm_sup_children(sup, NULL, 0) >= 0 ||
	         smarm_sup_children(sup, NULL, 0) == -ESRCH, 1);
	stop_sup(sup);
	return NULL;
}

Test(supervisor, bad_specifications_are_refused)
{
	rt_run(root_bad_specs, NULL, 2);
}

/* ---- 10,000 crash/restart cycles ------------------------------------------------- */

static _Atomic long cycles, target;

static void *cycler(void *arg)
{
	char b[8];

	(void)arg;
	if (++cycles < target)
		smarm_panic("cycle %ld", (long)cycles);
	/* Enough: wait for the next round. */
	smarm_recv(b, sizeof b, NULL, SMARM_FOREVER);
	smarm_panic("next round");
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Run cycles up to `until`, then wait for the cycler to block. */
static void run_cycles(smarm_pid_t sup, long until)
{
	smarm_pid_t p = 0;
	int64_t end = smarm_now() + SMARM_SEC(60);

	children(sup, &p, 1);
	target = until;
	tell(p, "go");
	while (cycles < until && smarm_now() < end)
		smarm_sleep(SMARM_MSEC(1));
	smarm_sleep(SMARM_MSEC(5));
}

/* With one carrier, freed stacks go back to its cache and the next spawn
 * takes them again: the number of stacks ever made stays put.  With more,
 * a stack freed on one carrier and wanted on another goes through the
 * per-carrier caches (32 each), so it may grow by at most what they hold. */
static void *root_cycles(void *arg)
{
	int ncarriers = (int)(intptr_t)arg;
	struct smarm_child_spec kids[] = {{.name = "cycler", .fn = cycler}};
	struct smarm_sup_spec spec = {.intensity = 100000, .period = SMARM_SEC(60),
	                              .children = kids, .nchildren = 1};
	const long n = 10000 / RT_SCALE;
	size_t created0, created1, used0, used1;
	long rss0, rss1;
	smarm_pid_t sup;

	cycles = 0;
	target = 1;
	sup = start_sup(&spec);
	run_cycles(sup, 1000 / RT_SCALE); /* warm up: pools, heaps, mailboxes */
	smarm__stack_stats(&created0, NULL);
	used0 = smarm__pid_used();
	rss0 = rss_kib();
	run_cycles(sup, 1000 / RT_SCALE + n);
	smarm__stack_stats(&created1, NULL);
	used1 = smarm__pid_used();
	rss1 = rss_kib();
	CHECK_EQ(cycles, 1000 / RT_SCALE + n);
	if (ncarriers == 1)
		CHECK_EQ(created1, created0);
	else
		CHECK(created1 - created0 <= (size_t)ncarriers * 32);
	CHECK_EQ(used1, used0);
	if (rss1 - rss0 > 2048)
		check_fail(__FILE__, __LINE__, "RSS grew from %ld to %ld KiB over %ld cycles",
		           rss0, rss1, n);
	stop_sup(sup);
	return NULL;
}

Test(supervisor, ten_thousand_crash_restart_cycles_leave_no_trace)
{
	rt_run(root_cycles, (void *)1, 1);
}

Test(supervisor, ten_thousand_crash_restart_cycles_on_two_carriers)
{
	rt_run(root_cycles, (void *)2, 2);
}
