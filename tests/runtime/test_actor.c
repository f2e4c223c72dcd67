/* test_actor.c — an actor's life through the public API (actor.c): spawn
 * and its argument checks, exit values (return and smarm_exit), self, names,
 * pid formatting, detach, spawning from a thread that is not an actor. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(actor, .timeout = 30);

/* ---- exit values -------------------------------------------------------- */

static void *add_0x1000(void *arg)
{
	return (char *)arg + 0x1000;
}

static void *root_joins_value(void *arg)
{
	(void)arg;
	smarm_pid_t p = rt_spawn(add_0x1000, (void *)0x234, "adder", 0);
	CHECK(rt_join(p) == (void *)0x1234);
	return (void *)0x5678;
}

Test(actor, exit_value_via_return)
{
	cr_assert_eq(rt_run(root_joins_value, NULL, 2), (void *)0x5678);
}

static volatile int after_exit_ran;

static void leave_from_deep(int depth, void *v);
/* Called through a pointer: GCC calls direct recursion ending only in a
 * noreturn call "infinite". */
static void (*volatile deeper)(int, void *) = leave_from_deep;

static void leave_from_deep(int depth, void *v)
{
	if (depth == 0)
		smarm_exit(v);
	deeper(depth - 1, v);
	after_exit_ran = 2;
}

static void *exits_from_a_nested_call(void *arg)
{
	leave_from_deep(10, arg);
	after_exit_ran = 1;
	return (void *)1;
}

static void *root_exit_values(void *arg)
{
	(void)arg;
	smarm_pid_t p = rt_spawn(exits_from_a_nested_call, (void *)77, "exiter", 0);
	CHECK(rt_join(p) == (void *)77);
	/* The root itself leaves with smarm_exit: smarm_run must see it. */
	smarm_exit((void *)99);
}

Test(actor, exit_value_via_smarm_exit)
{
	cr_assert_eq(rt_run(root_exit_values, NULL, 2), (void *)99);
	cr_assert_eq(after_exit_ran, 0, "code after smarm_exit ran");
}

Test(actor, smarm_exit_outside_an_actor_aborts, .signal = SIGABRT)
{
	smarm_exit(NULL);
}

/* ---- argument checks ---------------------------------------------------- */

static void *nothing(void *arg)
{
	return arg;
}

static void *root_bad_spawns(void *arg)
{
	(void)arg;
	smarm_pid_t p = 0;
	struct smarm_spawn_opts o = {0};
	size_t base = smarm__pid_used();

	CHECK_RC(smarm_spawn(&p, NULL, NULL, NULL), -EINVAL);
	o.stack_size = SIZE_MAX;
	CHECK_RC(smarm_spawn(&p, nothing, NULL, &o), -EINVAL);
	o.stack_size = SIZE_MAX / 2;
	CHECK_RC(smarm_spawn(&p, nothing, NULL, &o), -EINVAL);
	o.stack_size = (size_t)1 << 62;
	CHECK_RC(smarm_spawn(&p, nothing, NULL, &o), -EINVAL);
	/* Nothing was left behind. */
	CHECK_EQ(smarm__pid_used(), base);
	/* And a sane spawn after the failures still works. */
	o.stack_size = 0;
	CHECK_RC(smarm_spawn(&p, nothing, (void *)5, &o), 0);
	CHECK(rt_join(p) == (void *)5);
	return NULL;
}

Test(actor, spawn_with_null_fn_or_absurd_stack_is_einval)
{
	rt_run(root_bad_spawns, NULL, 2);
}

static void *root_spawn_null_pid(void *arg)
{
	(void)arg;
	/* pid may be NULL: a fire-and-forget detached actor. */
	struct smarm_spawn_opts o = {.flags = SMARM_SPAWN_DETACHED};
	CHECK_RC(smarm_spawn(NULL, nothing, NULL, &o), 0);
	return NULL;
}

Test(actor, spawn_with_null_pid_pointer)
{
	rt_run(root_spawn_null_pid, NULL, 1);
}

/* ---- self --------------------------------------------------------------- */

static void *return_self(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)smarm_self();
}

static void *root_self(void *arg)
{
	(void)arg;
	smarm_pid_t me = smarm_self(), p[8];

	CHECK(me != 0);
	for (int i = 0; i < 8; i++)
		p[i] = rt_spawn(return_self, NULL, NULL, 0);
	for (int i = 0; i < 8; i++) {
		CHECK(p[i] != me);
		for (int j = 0; j < i; j++)
			CHECK(p[i] != p[j]);
		CHECK_EQ((uintptr_t)rt_join(p[i]), p[i]);
	}
	/* Still ourselves after switching around. */
	smarm_yield();
	CHECK_EQ(smarm_self(), me);
	return (void *)(uintptr_t)me;
}

Test(actor, self_is_the_pid_spawn_gave)
{
	cr_assert_eq(smarm_self(), 0, "smarm_self outside an actor");
	cr_assert_neq(rt_run(root_self, NULL, 2), NULL);
	cr_assert_eq(smarm_self(), 0, "smarm_self after smarm_run");
}

/* ---- names -------------------------------------------------------------- */

static _Atomic int release;

static void *wait_release(void *arg)
{
	while (!atomic_load(&release))
		smarm_sleep(SMARM_MSEC(1));
	return arg;
}

static void *root_names(void *arg)
{
	(void)arg;
	char name[] = "greeter";
	char buf[64];
	smarm_pid_t a, b, c;

	a = rt_spawn(wait_release, NULL, name, 0);
	b = rt_spawn(wait_release, NULL, "a-name-longer-than-fifteen-bytes", 0);
	c = rt_spawn(wait_release, NULL, NULL, 0);
	/* The name was copied: changing the caller's string changes nothing. */
	strcpy(name, "XXXXXXX");

	CHECK_RC(smarm_name(a, buf, sizeof buf), 0);
	CHECK(strcmp(buf, "greeter") == 0);
	CHECK_RC(smarm_name(b, buf, sizeof buf), 0);
	CHECK(strcmp(buf, "a-name-longer-t") == 0);
	CHECK_EQ(strlen(buf), 15);
	memset(buf, 'z', sizeof buf);
	CHECK_RC(smarm_name(c, buf, sizeof buf), 0);
	CHECK(strcmp(buf, "") == 0);
	CHECK_RC(smarm_name(smarm_self(), buf, sizeof buf), 0);
	CHECK_RC(smarm_name(a, NULL, 0), -EINVAL);
	CHECK_RC(smarm_name(0, buf, sizeof buf), -ESRCH);

	atomic_store(&release, 1);
	rt_join(a);
	rt_join(b);
	rt_join(c);
	CHECK_RC(smarm_name(a, buf, sizeof buf), -ESRCH);
	CHECK_RC(smarm_name(b, buf, sizeof buf), -ESRCH);
	return NULL;
}

Test(actor, names_are_copied_truncated_and_gone_with_the_actor)
{
	rt_run(root_names, NULL, 2);
}

/* ---- pid format --------------------------------------------------------- */

static void *root_format(void *arg)
{
	(void)arg;
	char buf[32];
	unsigned long idx, gen, idx2, gen2;
	int n = -1;
	smarm_pid_t a = rt_spawn(wait_release, NULL, NULL, 0);
	smarm_pid_t b = rt_spawn(wait_release, NULL, NULL, 0);

	CHECK(smarm_pid_format(a, buf, sizeof buf) == buf);
	CHECK(sscanf(buf, "%lu.%lu%n", &idx, &gen, &n) == 2 && n == (int)strlen(buf));
	smarm_pid_format(b, buf, sizeof buf);
	n = -1;
	CHECK(sscanf(buf, "%lu.%lu%n", &idx2, &gen2, &n) == 2 && n == (int)strlen(buf));
	/* Two actors alive at once hold two different slots. */
	CHECK(idx != idx2);
	atomic_store(&release, 1);
	rt_join(a);
	rt_join(b);
	return NULL;
}

Test(actor, pid_format_is_index_dot_generation)
{
	rt_run(root_format, NULL, 2);
}

/* ---- detach ------------------------------------------------------------- */

static _Atomic int finished;

static void *finish_flag(void *arg)
{
	atomic_store(&finished, 1);
	return arg;
}

/* Sleep until only `n` actors exist (the others have finished exiting). */
static void wait_alive(long n)
{
	for (int i = 0; i < 5000 && smarm__alive_count() > n; i++)
		smarm_sleep(SMARM_MSEC(1));
	CHECK_EQ(smarm__alive_count(), n);
}

static void *root_detach_exited(void *arg)
{
	(void)arg;
	size_t base = smarm__pid_used();
	long alive = smarm__alive_count();
	smarm_pid_t p = rt_spawn(finish_flag, (void *)3, NULL, 0);
	char buf[32];

	while (!atomic_load(&finished))
		smarm_sleep(SMARM_MSEC(1));
	wait_alive(alive);
	/* Ended but not joined: the slot is still held for a joiner. */
	CHECK_EQ(smarm__pid_used(), base + 1);
	CHECK_RC(smarm_detach(p), 0);
	CHECK_EQ(smarm__pid_used(), base);
	CHECK_RC(smarm_join(p, NULL), -ESRCH);
	CHECK_RC(smarm_detach(p), -ESRCH);
	CHECK_RC(smarm_name(p, buf, sizeof buf), -ESRCH);
	return NULL;
}

Test(actor, detach_of_an_exited_actor_frees_its_slot)
{
	rt_run(root_detach_exited, NULL, 2);
}

static void *root_detach_running(void *arg)
{
	(void)arg;
	size_t base = smarm__pid_used();
	long alive = smarm__alive_count();
	smarm_pid_t a = rt_spawn(wait_release, NULL, NULL, 0);
	smarm_pid_t b = rt_spawn(wait_release, NULL, NULL, SMARM_SPAWN_DETACHED);

	CHECK_EQ(smarm__pid_used(), base + 2);
	CHECK_RC(smarm_detach(a), 0);
	CHECK_RC(smarm_detach(a), -EINVAL);
	CHECK_RC(smarm_detach(b), -EINVAL);
	CHECK_RC(smarm_join(a, NULL), -EINVAL);
	CHECK_RC(smarm_join(b, NULL), -EINVAL);
	atomic_store(&release, 1);
	wait_alive(alive);
	/* Both freed their slots as they ended. */
	CHECK_EQ(smarm__pid_used(), base);
	CHECK_RC(smarm_join(a, NULL), -ESRCH);
	CHECK_RC(smarm_detach(b), -ESRCH);
	return NULL;
}

Test(actor, detached_actors_free_their_slots_when_they_end)
{
	rt_run(root_detach_running, NULL, 2);
}

/* ---- spawning from a thread that is not an actor ----------------------- */

static _Atomic smarm_pid_t foreign_pid;
static _Atomic int foreign_rc = 1;

static void *foreign_thread(void *arg)
{
	smarm_pid_t p = 0;
	(void)arg;
	atomic_store(&foreign_rc, smarm_spawn(&p, add_0x1000, (void *)1, NULL));
	atomic_store(&foreign_pid, p);
	return NULL;
}

static void *root_foreign_spawn(void *arg)
{
	(void)arg;
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, foreign_thread, NULL), 0);
	for (int i = 0; i < 5000 && atomic_load(&foreign_rc) == 1; i++)
		smarm_sleep(SMARM_MSEC(1));
	pthread_join(t, NULL);
	CHECK_RC(atomic_load(&foreign_rc), 0);
	CHECK(rt_join(atomic_load(&foreign_pid)) == (void *)0x1001);
	return NULL;
}

Test(actor, spawn_from_a_foreign_thread)
{
	rt_run(root_foreign_spawn, NULL, 2);
}

/* The root is an actor like the others and may spawn before anything runs;
 * many distinct arguments come back as many distinct values. */
static void *times_three(void *arg)
{
	return (void *)((uintptr_t)arg * 3);
}

static void *root_many_args(void *arg)
{
	(void)arg;
	enum { N = 1000 };
	static smarm_pid_t p[N];

	for (uintptr_t i = 0; i < N; i++)
		p[i] = rt_spawn(times_three, (void *)i, NULL, 0);
	for (uintptr_t i = 0; i < N; i++)
		CHECK_EQ((uintptr_t)rt_join(p[i]), i * 3);
	return NULL;
}

Test(actor, each_actor_gets_its_own_argument)
{
	rt_run(root_many_args, NULL, 2);
}
