/* test_link.c — links and monitors (link.c), as in Erlang: an abnormal end
 * travels along links (both ways, transitively) and stops the other end
 * unless it traps exits, in which case it gets a notice; a normal end
 * stops nobody; a monitor is one way and fires exactly once. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(link, .timeout = 30);

/* An actor that waits for one message: "panic" panics, "exit" returns 5,
 * anything else returns 1.  A wait that fails returns the error. */
static void *waiter(void *arg)
{
	char buf[16] = "";
	int k;

	(void)arg;
	k = smarm_recv(buf, sizeof buf - 1, NULL, SMARM_SEC(10));
	if (k < 0)
		return (void *)(intptr_t)k;
	if (strcmp(buf, "panic") == 0)
		smarm_panic("told to panic");
	return (void *)(intptr_t)(strcmp(buf, "exit") == 0 ? 5 : 1);
}

static void tell(smarm_pid_t p, const char *what)
{
	CHECK_RC(smarm_send(p, what, strlen(what) + 1), 0);
}

/* Links `arg` (a pid) to itself, says so, then waits like waiter. */
static _Atomic int linked_up;

static void *linker(void *arg)
{
	CHECK_RC(smarm_link((smarm_pid_t)(uintptr_t)arg), 0);
	linked_up++;
	return waiter(NULL);
}

static void wait_linked(int n)
{
	while (linked_up < n)
		smarm_sleep(SMARM_USEC(100));
}

static void *root_propagates(void *arg)
{
	struct smarm_exit_info info;
	char want[128], pid[32];
	smarm_pid_t c, b;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(linker, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	tell(c, "panic");
	CHECK_RC(smarm_join(c, NULL), -EOWNERDEAD);
	CHECK_RC(smarm_join_info(b, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	snprintf(want, sizeof want, "linked actor %s (c) panicked: told to panic",
	         smarm_pid_format(c, pid, sizeof pid));
	CHECK(strcmp(info.reason, want) == 0);

	/* The other way round: the linker panics, the linked one stops. */
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c2", 0);
	b = rt_spawn(linker, (void *)(uintptr_t)c, "b2", 0);
	wait_linked(1);
	tell(b, "panic");
	CHECK_RC(smarm_join(b, NULL), -EOWNERDEAD);
	CHECK_RC(smarm_join_info(c, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	return NULL;
}

Test(link, an_abnormal_end_stops_the_other_end_both_ways)
{
	rt_run(root_propagates, NULL, 2);
}

static void *root_normal_end(void *arg)
{
	smarm_pid_t c, b;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(linker, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	tell(c, "exit");
	CHECK(rt_join(c) == (void *)5);
	smarm_sleep(SMARM_MSEC(5));
	tell(b, "hello");
	CHECK(rt_join(b) == (void *)1); /* untouched: it got our message */
	return NULL;
}

Test(link, a_normal_end_stops_nobody)
{
	rt_run(root_normal_end, NULL, 2);
}

/* Traps exits, links to arg, and reports the first notice it gets. */
static struct smarm_notice trapped;
static _Atomic int trapped_kind;

static void *trapper(void *arg)
{
	smarm_pid_t from = 0;

	CHECK_EQ(smarm_trap_exits(1), 0);
	CHECK_EQ(smarm_trap_exits(1), 1);
	CHECK_RC(smarm_link((smarm_pid_t)(uintptr_t)arg), 0);
	linked_up++;
	trapped_kind = smarm_recv_from(&from, &trapped, sizeof trapped, NULL, SMARM_SEC(10));
	CHECK_EQ(from, (smarm_pid_t)(uintptr_t)arg);
	return (void *)77;
}

static void *root_traps(void *arg)
{
	smarm_pid_t c, b;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(trapper, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	tell(c, "panic");
	CHECK_RC(smarm_join(c, NULL), -EOWNERDEAD);
	CHECK(rt_join(b) == (void *)77); /* not stopped */
	CHECK_EQ(trapped_kind, SMARM_MSG_PANIC);
	CHECK_EQ(trapped.pid, c);
	CHECK_EQ(trapped.via, SMARM_VIA_LINK);
	CHECK_EQ(trapped.how, SMARM_EXIT_PANIC);
	CHECK(strcmp(trapped.reason, "told to panic") == 0);

	/* A trapping end hears of normal ends too. */
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(trapper, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	tell(c, "exit");
	CHECK(rt_join(c) == (void *)5);
	CHECK(rt_join(b) == (void *)77);
	CHECK_EQ(trapped_kind, SMARM_MSG_EXIT);
	CHECK_EQ(trapped.how, SMARM_EXIT_NORMAL);
	CHECK(trapped.value == (void *)5);
	return NULL;
}

Test(link, a_trapped_link_does_not_propagate_but_delivers_a_notice)
{
	rt_run(root_traps, NULL, 2);
}

/* a - b - c, linked in a chain; c's panic stops b, and b's end stops a. */
static void *root_chain(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t a, b, c;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(linker, (void *)(uintptr_t)c, "b", 0);
	a = rt_spawn(linker, (void *)(uintptr_t)b, "a", 0);
	wait_linked(2);
	tell(c, "panic");
	CHECK_RC(smarm_join(c, NULL), -EOWNERDEAD);
	CHECK_RC(smarm_join_info(b, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK_RC(smarm_join_info(a, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK(strstr(info.reason, "(b) was killed: linked actor") != NULL);
	return NULL;
}

Test(link, exits_travel_along_a_chain_of_links)
{
	rt_run(root_chain, NULL, 2);
}

/* SMARM_SPAWN_LINK: a middle actor spawns a linked child that panics at
 * once; the middle actor is stopped even though it never called link. */
static void *middle(void *arg)
{
	struct smarm_spawn_opts o = {.name = "kid", .flags = SMARM_SPAWN_LINK |
							     SMARM_SPAWN_DETACHED};
	char b;

	(void)arg;
	CHECK_RC(smarm_spawn(NULL, waiter, NULL, &o), 0);
	CHECK_RC(smarm_spawn(NULL, (smarm_fn)(void *)0, NULL, &o), -EINVAL);
	return (void *)(intptr_t)smarm_recv(&b, 1, NULL, SMARM_SEC(10));
}

static void *panicking_kid(void *arg)
{
	(void)arg;
	smarm_panic("kid");
}

static void *middle2(void *arg)
{
	struct smarm_spawn_opts o = {.name = "kid", .flags = SMARM_SPAWN_LINK |
							     SMARM_SPAWN_DETACHED};
	char b;

	(void)arg;
	CHECK_RC(smarm_spawn(NULL, panicking_kid, NULL, &o), 0);
	return (void *)(intptr_t)smarm_recv(&b, 1, NULL, SMARM_SEC(10));
}

static void *root_spawn_link(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t m;

	(void)arg;
	m = rt_spawn(middle2, NULL, "middle", 0);
	CHECK_RC(smarm_join_info(m, &info, SMARM_SEC(5)), -EOWNERDEAD);
	CHECK_EQ(info.how, SMARM_EXIT_KILLED);
	CHECK(strstr(info.reason, "(kid) panicked: kid") != NULL);

	/* And the other way: when the middle actor is stopped, its linked
	 * child goes with it. */
	m = rt_spawn(middle, NULL, "middle", 0);
	smarm_sleep(SMARM_MSEC(2));
	CHECK_RC(smarm_kill(m, "stop the tree"), 0);
	CHECK_RC(smarm_join(m, NULL), -EOWNERDEAD);
	return NULL;
}

Test(link, spawn_link_links_at_spawn)
{
	rt_run(root_spawn_link, NULL, 2);
}

static void *root_unlink(void *arg)
{
	smarm_pid_t c, b;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(linker, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	/* Unlinking what is not linked, and linking to oneself, are no-ops;
	 * the root's own link to c comes and goes without touching b's. */
	CHECK_RC(smarm_unlink(c), 0);
	CHECK_RC(smarm_link(smarm_self()), 0);
	CHECK_RC(smarm_link(c), 0);
	CHECK_RC(smarm_unlink(c), 0);
	tell(c, "panic");
	CHECK_RC(smarm_join(c, NULL), -EOWNERDEAD);
	/* b's link to c still stands, so b was stopped. */
	{
		struct smarm_exit_info info;
		CHECK_RC(smarm_join_info(b, &info, SMARM_SEC(5)), -EOWNERDEAD);
	}
	/* Linking to an actor that has ended fails. */
	CHECK_RC(smarm_link(c), -ESRCH);
	return NULL;
}

Test(link, unlink_and_link_to_the_dead)
{
	rt_run(root_unlink, NULL, 2);
}

static void *unlinker(void *arg)
{
	smarm_pid_t c = (smarm_pid_t)(uintptr_t)arg;

	CHECK_RC(smarm_link(c), 0);
	CHECK_RC(smarm_unlink(c), 0);
	linked_up++;
	return waiter(NULL);
}

static void *root_unlinked_survives(void *arg)
{
	smarm_pid_t c, b;

	(void)arg;
	linked_up = 0;
	c = rt_spawn(waiter, NULL, "c", 0);
	b = rt_spawn(unlinker, (void *)(uintptr_t)c, "b", 0);
	wait_linked(1);
	tell(c, "panic");
	CHECK_RC(smarm_join(c, NULL), -EOWNERDEAD);
	smarm_sleep(SMARM_MSEC(5));
	tell(b, "hello");
	CHECK(rt_join(b) == (void *)1);
	return NULL;
}

Test(link, an_unlinked_actor_is_not_stopped)
{
	rt_run(root_unlinked_survives, NULL, 2);
}

Test(link, link_calls_outside_actors_say_eperm)
{
	uint64_t ref;

	cr_assert_eq(smarm_link(1), -EPERM);
	cr_assert_eq(smarm_unlink(1), -EPERM);
	cr_assert_eq(smarm_trap_exits(1), -EPERM);
	cr_assert_eq(smarm_monitor(1, &ref), -EPERM);
	cr_assert_eq(smarm_demonitor(1, 1), -EPERM);
}

/* ---- monitors ------------------------------------------------------------- */

static void *root_monitor(void *arg)
{
	struct smarm_notice n;
	smarm_pid_t m, from;
	uint64_t r1 = 0, r2 = 0, r3 = 0;

	(void)arg;
	m = rt_spawn(waiter, NULL, "watched", SMARM_SPAWN_DETACHED);
	CHECK_RC(smarm_monitor(m, &r1), 0);
	CHECK_RC(smarm_monitor(m, &r2), 0);
	CHECK(r1 != 0 && r2 != 0 && r1 != r2);
	CHECK_RC(smarm_monitor(m, &r3), 0);
	CHECK_RC(smarm_demonitor(m, r3), 0);
	CHECK_RC(smarm_demonitor(m, r3), -ENOENT);
	CHECK_RC(smarm_monitor(smarm_self(), &r3), -EINVAL);
	tell(m, "panic");
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(smarm_recv_from(&from, &n, sizeof n, NULL, SMARM_SEC(5)), SMARM_MSG_DOWN);
		CHECK_EQ(from, m);
		CHECK_EQ(n.pid, m);
		CHECK_EQ(n.via, SMARM_VIA_MONITOR);
		CHECK_EQ(n.how, SMARM_EXIT_PANIC);
		CHECK(strcmp(n.reason, "told to panic") == 0);
		CHECK(n.ref == (i == 0 ? r2 : r1) || n.ref == (i == 0 ? r1 : r2));
	}
	/* Once each, and not for the demonitored one. */
	CHECK_RC(smarm_recv(&n, sizeof n, NULL, SMARM_MSEC(20)), -ETIMEDOUT);
	CHECK_RC(smarm_monitor(m, &r3), -ESRCH);
	CHECK_RC(smarm_demonitor(m, r1), -ESRCH);

	/* A normal end: DOWN with the value; and the watcher is never
	 * stopped (one way). */
	m = rt_spawn(waiter, NULL, "watched2", SMARM_SPAWN_DETACHED);
	CHECK_RC(smarm_monitor(m, &r1), 0);
	tell(m, "exit");
	CHECK_EQ(smarm_recv(&n, sizeof n, NULL, SMARM_SEC(5)), SMARM_MSG_DOWN);
	CHECK_EQ(n.how, SMARM_EXIT_NORMAL);
	CHECK(n.value == (void *)5);
	CHECK_EQ(n.ref, r1);
	return NULL;
}

Test(link, a_monitor_fires_once)
{
	rt_run(root_monitor, NULL, 2);
}

/* A monitor does not make the watched actor depend on the watcher. */
static _Atomic smarm_pid_t watched_pid;

static void *watcher(void *arg)
{
	uint64_t ref;

	(void)arg;
	CHECK_RC(smarm_monitor(watched_pid, &ref), 0);
	smarm_panic("the watcher dies");
}

static void *root_one_way(void *arg)
{
	smarm_pid_t m, w;

	(void)arg;
	m = rt_spawn(waiter, NULL, "watched", 0);
	watched_pid = m;
	w = rt_spawn(watcher, NULL, "watcher", 0);
	CHECK_RC(smarm_join(w, NULL), -EOWNERDEAD);
	smarm_sleep(SMARM_MSEC(5));
	tell(m, "hello");
	CHECK(rt_join(m) == (void *)1);
	return NULL;
}

Test(link, a_monitor_is_one_way)
{
	rt_run(root_one_way, NULL, 2);
}

/* Watchers that end take their monitors with them: a long-lived actor
 * watched by many short-lived ones keeps nothing. */
static void *short_watcher(void *arg)
{
	uint64_t ref;

	CHECK_RC(smarm_monitor((smarm_pid_t)(uintptr_t)arg, &ref), 0);
	return NULL;
}

static void *root_watchers_end(void *arg)
{
	struct smarm__slot *slot;
	struct smarm__actor *a;
	smarm_pid_t m;
	bool empty;

	(void)arg;
	m = rt_spawn(waiter, NULL, "watched", 0);
	for (int i = 0; i < 200; i++)
		rt_join(rt_spawn(short_watcher, (void *)(uintptr_t)m, "w", 0));
	/* A watcher's join returns once its exit is published; dropping its
	 * half of the monitor comes just after, so give it a moment. */
	for (int tries = 0;; tries++) {
		a = smarm__pid_lock(m, &slot);
		CHECK(a != NULL);
		empty = a && (!a->fate || !a->fate->monitors);
		if (a)
			smarm__pid_unlock(slot);
		if (empty || tries == 1000)
			break;
		smarm_sleep(SMARM_MSEC(1));
	}
	CHECK(empty);
	tell(m, "exit");
	CHECK(rt_join(m) == (void *)5);
	return NULL;
}

Test(link, monitors_of_watchers_that_ended_are_dropped)
{
	rt_run(root_watchers_end, NULL, 2);
}
