/* test_panic.c — how actors end abnormally (actor.c): smarm_panic, cleanup
 * handlers, what joiners and parents are told (notices), spawn timeouts,
 * and stopping an actor from outside (smarm_kill / smarm_stop): blocking
 * calls fail with -ECANCELED and the actor ends at its next exit point. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(panic, .timeout = 60);

/* ---- panics and notices ------------------------------------------------- */

static void *boom(void *arg)
{
	smarm_panic("boom %d", (int)(intptr_t)arg);
}

static void *root_child_panics(void *arg)
{
	struct smarm_spawn_opts o = {.name = "boomer",
	                             .flags = SMARM_SPAWN_CHILD | SMARM_SPAWN_DETACHED};
	struct smarm_notice n;
	smarm_pid_t p, from = 0;
	size_t len = 0;

	(void)arg;
	CHECK_RC(smarm_spawn(&p, boom, (void *)42, &o), 0);
	memset(&n, 0x55, sizeof n);
	CHECK_EQ(smarm_recv_from(&from, &n, sizeof n, &len, SMARM_SEC(5)), SMARM_MSG_PANIC);
	CHECK_EQ(from, p);
	CHECK_EQ(n.pid, p);
	CHECK_EQ(n.how, SMARM_EXIT_PANIC);
	CHECK_EQ(n.via, SMARM_VIA_CHILD);
	CHECK_EQ(n.ref, 0);
	CHECK(n.value == NULL);
	CHECK(strcmp(n.reason, "boom 42") == 0);
	CHECK(strcmp(n.name, "boomer") == 0);
	CHECK_EQ(len, offsetof(struct smarm_notice, reason) + strlen("boom 42") + 1);
	/* Exactly one notice. */
	CHECK_RC(smarm_recv(&n, sizeof n, NULL, SMARM_MSEC(20)), -ETIMEDOUT);
	return NULL;
}

Test(panic, a_childs_panic_reaches_its_parent_with_the_reason)
{
	rt_run(root_child_panics, NULL, 2);
}

static void *give(void *arg)
{
	return arg;
}

static void *root_child_exits(void *arg)
{
	struct smarm_spawn_opts o = {.name = "giver", .flags = SMARM_SPAWN_CHILD};
	struct smarm_notice n;
	smarm_pid_t p;

	(void)arg;
	CHECK_RC(smarm_spawn(&p, give, (void *)0x1234, &o), 0);
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(5)), SMARM_MSG_EXIT);
	CHECK_EQ(n.pid, p);
	CHECK_EQ(n.how, SMARM_EXIT_NORMAL);
	CHECK(n.value == (void *)0x1234);
	CHECK(n.reason[0] == '\0');
	/* Not detached: the notice came after the exit was published, so the
	 * join finds it at once. */
	CHECK(rt_join(p) == (void *)0x1234);
	return NULL;
}

Test(panic, a_childs_exit_reaches_its_parent_with_the_value)
{
	rt_run(root_child_exits, NULL, 2);
}

static void *root_joins_a_panic(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p = rt_spawn(boom, (void *)7, "boom7", 0);
	void *v = (void *)1;

	(void)arg;
	CHECK_RC(smarm_join(p, &v), -EOWNERDEAD);
	CHECK(v == NULL);
	CHECK_RC(smarm_join(p, &v), -ESRCH); /* collected all the same */
	p = rt_spawn(boom, (void *)8, "boom8", 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_FOREVER), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_PANIC);
	CHECK(strcmp(info.reason, "boom 8") == 0);
	p = rt_spawn(give, (void *)9, "give9", 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_FOREVER), 0);
	CHECK_EQ(info.how, SMARM_EXIT_NORMAL);
	CHECK(info.value == (void *)9);
	CHECK(info.reason[0] == '\0');
	return NULL;
}

Test(panic, join_of_a_panicked_actor_says_eownerdead_and_collects_it)
{
	rt_run(root_joins_a_panic, NULL, 2);
}

static void *long_reason(void *arg)
{
	(void)arg;
	smarm_panic("%0600d", 1);
}

static void *root_long_reason(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p = rt_spawn(long_reason, NULL, "long", 0);

	(void)arg;
	CHECK_RC(smarm_join_info(p, &info, SMARM_FOREVER), -EOWNERDEAD);
	CHECK_EQ(strlen(info.reason), SMARM_REASON_MAX - 1);
	CHECK_EQ(info.reason[SMARM_REASON_MAX - 2], '0');
	return NULL;
}

Test(panic, a_long_reason_is_cut_to_smarm_reason_max)
{
	rt_run(root_long_reason, NULL, 1);
}

Test(panic, smarm_panic_outside_an_actor_aborts, .signal = SIGABRT)
{
	smarm_panic("not in an actor");
}

/* ---- cleanup handlers ------------------------------------------------------ */

static char trail[64];
static _Atomic int ntrail;

static void note(void *arg)
{
	int i = atomic_fetch_add(&ntrail, 1);
	if (i < (int)sizeof trail - 1)
		trail[i] = (char)(intptr_t)arg;
}

static void reset_trail(void)
{
	memset(trail, 0, sizeof trail);
	ntrail = 0;
}

static void deep(int depth, int how);
/* Through a pointer: GCC calls direct recursion ending in noreturn calls
 * infinite. */
static void (*volatile deeper)(int, int) = deep;

static void deep(int depth, int how)
{
	struct smarm_cleanup c;

	smarm_cleanup_push(&c, note, (void *)(intptr_t)('a' + depth));
	if (depth == 3) {
		if (how == 0)
			smarm_panic("deep");
		smarm_exit((void *)5);
	}
	deeper(depth + 1, how);
	smarm_cleanup_pop(&c, 0);
}

static void *deep_panic(void *arg)
{
	deep(0, (int)(intptr_t)arg);
	return NULL;
}

static void *balanced(void *arg)
{
	struct smarm_cleanup c1, c2;

	(void)arg;
	smarm_cleanup_push(&c1, note, (void *)'x');
	smarm_cleanup_push(&c2, note, (void *)'y');
	smarm_cleanup_pop(&c2, 1); /* runs y */
	smarm_cleanup_pop(&c1, 0); /* does not run x */
	return (void *)3;
}

static void *root_cleanups(void *arg)
{
	smarm_pid_t p;

	(void)arg;
	reset_trail();
	p = rt_spawn(deep_panic, (void *)0, "deep", 0);
	CHECK_RC(smarm_join(p, NULL), -EOWNERDEAD);
	CHECK(strcmp(trail, "dcba") == 0);

	reset_trail();
	p = rt_spawn(deep_panic, (void *)1, "deepexit", 0);
	CHECK(rt_join(p) == (void *)5);
	CHECK(strcmp(trail, "dcba") == 0);

	reset_trail();
	p = rt_spawn(balanced, NULL, "balanced", 0);
	CHECK(rt_join(p) == (void *)3);
	CHECK(strcmp(trail, "y") == 0);
	return NULL;
}

Test(panic, cleanup_handlers_run_innermost_first_on_panic_and_exit_only)
{
	rt_run(root_cleanups, NULL, 2);
}

static void *pop_out_of_order(void *arg)
{
	struct smarm_cleanup c1, c2;

	(void)arg;
	smarm_cleanup_push(&c1, note, (void *)'1');
	smarm_cleanup_push(&c2, note, (void *)'2');
	smarm_cleanup_pop(&c1, 0);
	return NULL;
}

static void *root_pop_out_of_order(void *arg)
{
	(void)arg;
	rt_join(rt_spawn(pop_out_of_order, NULL, "misuse", 0));
	return NULL;
}

Test(panic, popping_a_cleanup_handler_out_of_order_aborts, .signal = SIGABRT)
{
	rt_run(root_pop_out_of_order, NULL, 1);
}

static void panic_again(void *arg)
{
	(void)arg;
	smarm_panic("second");
}

static void *panic_in_handler(void *arg)
{
	struct smarm_cleanup c1, c2;

	(void)arg;
	smarm_cleanup_push(&c1, note, (void *)'o');
	smarm_cleanup_push(&c2, panic_again, NULL);
	smarm_panic("first");
}

static void *root_panic_in_handler(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p;

	(void)arg;
	reset_trail();
	p = rt_spawn(panic_in_handler, NULL, "twice", 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_FOREVER), -EOWNERDEAD);
	CHECK(strcmp(info.reason, "second (in a cleanup handler, while ending: first)") == 0);
	/* The outer handler still ran. */
	CHECK(strcmp(trail, "o") == 0);
	return NULL;
}

Test(panic, a_panic_in_a_cleanup_handler_runs_the_rest_and_names_both)
{
	rt_run(root_panic_in_handler, NULL, 2);
}

/* ---- spawn timeouts -------------------------------------------------------- */

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		smarm_sleep(SMARM_MSEC(1));
	return NULL;
}

static void *quick(void *arg)
{
	(void)arg;
	return (void *)11;
}

static void *root_timeouts(void *arg)
{
	struct smarm_spawn_opts o = {.name = "slow",
	                             .flags = SMARM_SPAWN_CHILD | SMARM_SPAWN_DETACHED,
	                             .timeout = SMARM_MSEC(20)};
	struct smarm_exit_info info;
	struct smarm_notice n;
	smarm_pid_t p, q;
	int64_t t0 = smarm_now();

	(void)arg;
	CHECK_RC(smarm_spawn(&p, sleeper, NULL, &o), 0);
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(5)), SMARM_MSG_TIMEOUT);
	CHECK(smarm_now() - t0 >= SMARM_MSEC(20));
	CHECK_EQ(n.pid, p);
	CHECK_EQ(n.how, SMARM_EXIT_TIMEOUT);
	CHECK(strstr(n.reason, "deadline exceeded") != NULL);

	/* Joinable, not a child: the join tells. */
	o.flags = 0;
	CHECK_RC(smarm_spawn(&p, sleeper, NULL, &o), 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_TIMEOUT);

	/* One that ends in time is not touched, and its timer is gone. */
	o.timeout = SMARM_MSEC(5);
	CHECK_RC(smarm_spawn(&q, quick, NULL, &o), 0);
	CHECK(rt_join(q) == (void *)11);
	smarm_sleep(SMARM_MSEC(20));
	CHECK_RC(smarm_recv(&n, sizeof n, NULL, 0), -ETIMEDOUT);
	return NULL;
}

Test(panic, an_actor_that_overruns_its_spawn_timeout_is_stopped_and_reported)
{
	rt_run(root_timeouts, NULL, 2);
}

/* ---- stopping from outside --------------------------------------------------- */

static _Atomic int target_rc, target_after, handler_ran;
static _Atomic int target_parked;

static void set_flag(void *arg)
{
	atomic_store((_Atomic int *)arg, 1);
}

static void *receiver(void *arg)
{
	char buf[8];

	(void)arg;
	target_parked = 1;
	target_rc = smarm_recv(buf, sizeof buf, NULL, SMARM_FOREVER);
	/* Every other wait now fails at once too. */
	target_after = smarm_recv(buf, sizeof buf, NULL, SMARM_SEC(10));
	return (void *)7;
}

static void *napper(void *arg)
{
	struct smarm_cleanup c;

	(void)arg;
	smarm_cleanup_push(&c, set_flag, &handler_ran);
	target_parked = 1;
	smarm_sleep(SMARM_SEC(10));
	target_after = 1; /* never: the sleep is an exit point */
	smarm_cleanup_pop(&c, 0);
	return NULL;
}

static _Atomic long spins;

static void *yielder(void *arg)
{
	(void)arg;
	target_parked = 1;
	for (;;) {
		spins++;
		smarm_yield();
	}
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	target_parked = 1;
	for (;;)
		spins++;
	return NULL;
}

static void wait_parked(void)
{
	while (!target_parked)
		smarm_sleep(SMARM_USEC(100));
	smarm_sleep(SMARM_MSEC(2));
}

static void *root_kills(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p;
	int64_t t0;

	(void)arg;
	/* A parked receiver: its recv fails with -ECANCELED, so does the
	 * next one, it returns, and it is reported as killed. */
	target_parked = 0;
	p = rt_spawn(receiver, NULL, "receiver", 0);
	wait_parked();
	t0 = smarm_now();
	CHECK_RC(smarm_kill(p, "because"), 0);
	/* The first request wins (a second one finds it stopping, or gone). */
	int again = smarm_kill(p, "again");
	CHECK(again == 0 || again == -ESRCH);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK(smarm_now() - t0 < SMARM_SEC(5));
	CHECK_EQ(target_rc, -ECANCELED);
	CHECK_EQ(target_after, -ECANCELED);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK(strcmp(info.reason, "because") == 0);
	CHECK(info.value == NULL);
	CHECK_RC(smarm_kill(p, NULL), -ESRCH);

	/* A sleeper ends at its sleep; its cleanup handler runs. */
	target_parked = 0;
	target_after = 0;
	handler_ran = 0;
	p = rt_spawn(napper, NULL, "napper", 0);
	wait_parked();
	CHECK_RC(smarm_stop(p), 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_SHUTDOWN);
	CHECK(strcmp(info.reason, "shutdown") == 0);
	CHECK_EQ(target_after, 0);
	CHECK_EQ(handler_ran, 1);

	/* One that only yields ends at a yield. */
	target_parked = 0;
	p = rt_spawn(yielder, NULL, "yielder", 0);
	wait_parked();
	CHECK_RC(smarm_kill(p, NULL), 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK(strcmp(info.reason, "killed") == 0);

	/* One that never yields is stopped at a preemption (signal mode:
	 * the loop is the program's own code). */
	target_parked = 0;
	p = rt_spawn(spinner, NULL, "spinner", 0);
	wait_parked();
	CHECK_RC(smarm_kill(p, NULL), 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(10)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	return NULL;
}

Test(panic, a_stopped_actor_fails_its_waits_and_ends_at_an_exit_point)
{
	/* The spinner can only be stopped at a signal preemption: ask for it
	 * (ASan builds default to alloc mode). */
	setenv("SMARM_PREEMPT", "signal", 1);
	rt_run(root_kills, NULL, 2);
}

static _Atomic int self_after;

static void *kills_itself(void *arg)
{
	struct smarm_cleanup c;

	(void)arg;
	smarm_cleanup_push(&c, set_flag, &handler_ran);
	smarm_kill(smarm_self(), "by my own hand");
	self_after = 1;
	return NULL;
}

static smarm_mutex_t held = SMARM_MUTEX_INIT;
static _Atomic int lock_rc = 1;

static void *locker(void *arg)
{
	(void)arg;
	target_parked = 1;
	lock_rc = smarm_mutex_lock(&held, SMARM_FOREVER);
	if (lock_rc == 0)
		smarm_mutex_unlock(&held);
	return NULL;
}

static void slow_handler(void *arg)
{
	/* Handlers may wait: stop requests are held off while ending. */
	smarm_sleep(SMARM_MSEC(2));
	atomic_store((_Atomic int *)arg, 2);
}

static void *slow_cleanup(void *arg)
{
	struct smarm_cleanup c;

	(void)arg;
	smarm_cleanup_push(&c, slow_handler, &handler_ran);
	target_parked = 1;
	smarm_sleep(SMARM_SEC(10));
	smarm_cleanup_pop(&c, 0);
	return NULL;
}

static void *root_more_kills(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p;

	(void)arg;
	handler_ran = 0;
	p = rt_spawn(kills_itself, NULL, "suicide", 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK(strcmp(info.reason, "by my own hand") == 0);
	CHECK_EQ(self_after, 0);
	CHECK_EQ(handler_ran, 1);

	/* A waiter on a mutex gets -ECANCELED and the mutex is unharmed. */
	CHECK_RC(smarm_mutex_lock(&held, 0), 0);
	target_parked = 0;
	p = rt_spawn(locker, NULL, "locker", 0);
	wait_parked();
	CHECK_RC(smarm_kill(p, NULL), 0);
	CHECK_RC(smarm_join(p, NULL), -EOWNERDEAD);
	CHECK_EQ(lock_rc, -ECANCELED);
	CHECK_RC(smarm_mutex_unlock(&held), 0);
	CHECK_RC(smarm_mutex_lock(&held, 0), 0);
	CHECK_RC(smarm_mutex_unlock(&held), 0);

	/* A cleanup handler that parks. */
	handler_ran = 0;
	target_parked = 0;
	p = rt_spawn(slow_cleanup, NULL, "slowclean", 0);
	wait_parked();
	CHECK_RC(smarm_kill(p, NULL), 0);
	CHECK_RC(smarm_join(p, NULL), -EOWNERDEAD);
	CHECK_EQ(handler_ran, 2);
	return NULL;
}

Test(panic, kill_self_waiters_and_handlers_that_park)
{
	rt_run(root_more_kills, NULL, 2);
}

static void *root_is_killed(void *arg)
{
	(void)arg;
	smarm_kill(smarm_self(), "root stops");
	return (void *)1;
}

static void *thread_kills(void *arg)
{
	smarm_pid_t p = *(smarm_pid_t *)arg;
	return (void *)(intptr_t)smarm_kill(p, "from a thread");
}

static _Atomic smarm_pid_t victim_pid;

static void *victim_of_a_thread(void *arg)
{
	char b;
	(void)arg;
	return (void *)(intptr_t)smarm_recv(&b, 1, NULL, SMARM_FOREVER);
}

static void *root_thread_kill(void *arg)
{
	struct smarm_exit_info info;
	pthread_t t;
	void *rc;
	smarm_pid_t p;

	(void)arg;
	p = rt_spawn(victim_of_a_thread, NULL, "tvictim", 0);
	victim_pid = p;
	smarm_sleep(SMARM_MSEC(2));
	CHECK_RC(pthread_create(&t, NULL, thread_kills, &p), 0);
	CHECK_RC(smarm_join_info(p, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK(strcmp(info.reason, "from a thread") == 0);
	pthread_join(t, &rc);
	CHECK(rc == NULL);
	return NULL;
}

Test(panic, the_root_and_threads_can_stop_actors)
{
	/* The root killed: smarm_run still returns, with no value. */
	cr_assert_null(rt_run(root_is_killed, NULL, 1));
	rt_run(root_thread_kill, NULL, 2);
}

/* ---- the pool and the slot table stay where they were -------------------- */

static void *root_many_panics(void *arg)
{
	size_t c0, c1;
	size_t used0;

	(void)arg;
	for (int i = 0; i < 100; i++) {
		struct smarm_notice n;
		smarm_join(rt_spawn(boom, NULL, "warm", SMARM_SPAWN_CHILD), NULL);
		smarm_recv(&n, sizeof n, NULL, SMARM_SEC(5));
	}
	smarm__stack_stats(&c0, NULL);
	used0 = smarm__pid_used();
	for (int i = 0; i < 2000; i++) {
		/* A child, so that nobody logs 2000 panics. */
		smarm_pid_t p = rt_spawn(boom, (void *)(intptr_t)i, "boom", SMARM_SPAWN_CHILD);
		struct smarm_notice n;
		CHECK_RC(smarm_join(p, NULL), -EOWNERDEAD);
		CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(5)), SMARM_MSG_PANIC);
	}
	smarm__stack_stats(&c1, NULL);
	CHECK_EQ(c1, c0);
	CHECK_EQ(smarm__pid_used(), used0);
	return NULL;
}

Test(panic, panics_give_their_stacks_and_slots_back)
{
	rt_run(root_many_panics, NULL, 1);
}
