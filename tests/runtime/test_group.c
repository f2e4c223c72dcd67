/* test_group.c — join groups (pid.c): smarm_join_all collects every actor
 * of a set once all have ended (or none, on a timeout), smarm_join_any
 * collects the first to end and leaves the others; both report how each
 * ended. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "rt_check.h"

TestSuite(group, .timeout = 30);

/* Sleeps arg & 0xffff ms, then returns arg >> 16, or panics if that is 99. */
static void *nap_then(void *arg)
{
	uintptr_t a = (uintptr_t)arg;

	smarm_sleep(SMARM_MSEC(a & 0xffff));
	if ((a >> 16) == 99)
		smarm_panic("ninety-nine");
	return (void *)(a >> 16);
}

#define NAP(ms, v) ((void *)(((uintptr_t)(v) << 16) | (ms)))

static void *forever(void *arg)
{
	char b;

	(void)arg;
	return (void *)(intptr_t)smarm_recv(&b, 1, NULL, SMARM_FOREVER);
}

static void *root_all(void *arg)
{
	struct smarm_exit_info info[5];
	smarm_pid_t p[5];

	(void)arg;
	for (int i = 0; i < 5; i++)
		p[i] = rt_spawn(nap_then, i == 3 ? NAP(2, 99) : NAP((5 - i) * 3, 10 * i + 1),
		                "member", 0);
	CHECK_EQ(smarm_join_all(p, 5, info, SMARM_SEC(5)), 1);
	for (int i = 0; i < 5; i++) {
		if (i == 3) {
			CHECK_EQ(info[i].how, SMARM_EXIT_PANIC);
			CHECK(strcmp(info[i].reason, "ninety-nine") == 0);
			CHECK(info[i].value == NULL);
		} else {
			CHECK_EQ(info[i].how, SMARM_EXIT_NORMAL);
			CHECK(info[i].value == (void *)(intptr_t)(10 * i + 1));
		}
		CHECK_RC(smarm_join(p[i], NULL), -ESRCH); /* all collected */
	}
	/* Without infos, all normal: 0. */
	for (int i = 0; i < 3; i++)
		p[i] = rt_spawn(nap_then, NAP(i, i), "member", 0);
	CHECK_EQ(smarm_join_all(p, 3, NULL, SMARM_FOREVER), 0);
	return NULL;
}

Test(group, join_all_collects_every_one_and_counts_abnormal_ends)
{
	rt_run(root_all, NULL, 2);
}

static void *root_all_timeout(void *arg)
{
	struct smarm_exit_info info[3];
	smarm_pid_t p[3];

	(void)arg;
	p[0] = rt_spawn(nap_then, NAP(0, 1), "quick", 0);
	p[1] = rt_spawn(forever, NULL, "stuck", 0);
	p[2] = rt_spawn(nap_then, NAP(1, 3), "quick", 0);
	CHECK_RC(smarm_join_all(p, 3, info, SMARM_MSEC(30)), -ETIMEDOUT);
	CHECK_RC(smarm_join_all(p, 3, info, 0), -ETIMEDOUT);
	/* None was collected: each can still be joined on its own. */
	CHECK(rt_join(p[0]) == (void *)1);
	CHECK_RC(smarm_kill(p[1], "enough"), 0);
	p[0] = p[2];
	CHECK_EQ(smarm_join_all(p, 2, info, SMARM_SEC(5)), 1);
	CHECK_EQ(info[0].how, SMARM_EXIT_NORMAL); /* p[0] is now the third */
	CHECK(info[0].value == (void *)3);
	CHECK_EQ(info[1].how, SMARM_EXIT_KILLED);
	CHECK(strcmp(info[1].reason, "enough") == 0);
	return NULL;
}

Test(group, join_all_collects_nothing_on_a_timeout)
{
	rt_run(root_all_timeout, NULL, 2);
}

static void *root_any(void *arg)
{
	struct smarm_exit_info info;
	smarm_pid_t p[3];
	int i;

	(void)arg;
	p[0] = rt_spawn(nap_then, NAP(60, 100), "slow", 0);
	p[1] = rt_spawn(nap_then, NAP(5, 101), "fast", 0);
	p[2] = rt_spawn(nap_then, NAP(30, 99), "middle", 0);
	CHECK_EQ(smarm_join_any(p, 3, &info, SMARM_SEC(5)), 1);
	CHECK_EQ(info.how, SMARM_EXIT_NORMAL);
	CHECK(info.value == (void *)101);
	CHECK_RC(smarm_join(p[1], NULL), -ESRCH);
	/* The others are untouched; the next to end is the panicking one. */
	i = smarm_join_any((smarm_pid_t[]){p[0], p[2]}, 2, &info, SMARM_SEC(5));
	CHECK_EQ(i, 1);
	CHECK_EQ(info.how, SMARM_EXIT_PANIC);
	CHECK_RC(smarm_join_any(&p[0], 1, &info, 0), -ETIMEDOUT);
	CHECK(rt_join(p[0]) == (void *)100);

	/* Already ended ones are taken at once, the first in array order. */
	p[0] = rt_spawn(forever, NULL, "stuck", 0);
	p[1] = rt_spawn(nap_then, NAP(0, 7), "done", 0);
	p[2] = rt_spawn(nap_then, NAP(0, 8), "done", 0);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_EQ(smarm_join_any(p, 3, &info, 0), 1);
	CHECK(info.value == (void *)7);
	CHECK_EQ(smarm_join_any(p + 2, 1, NULL, 0), 0);
	CHECK_RC(smarm_join_any(p, 1, &info, SMARM_MSEC(10)), -ETIMEDOUT);
	smarm_kill(p[0], NULL);
	CHECK_RC(smarm_join(p[0], NULL), -EOWNERDEAD);
	return NULL;
}

Test(group, join_any_collects_the_first_to_end_and_leaves_the_rest)
{
	rt_run(root_any, NULL, 2);
}

static void *root_errors(void *arg)
{
	smarm_pid_t p[3], d;

	(void)arg;
	p[0] = rt_spawn(forever, NULL, "a", 0);
	p[1] = rt_spawn(forever, NULL, "b", 0);
	p[2] = p[0];
	CHECK_RC(smarm_join_all(p, 3, NULL, 0), -EINVAL);      /* twice */
	CHECK_RC(smarm_join_any(p, 0, NULL, 0), -EINVAL);
	CHECK_RC(smarm_join_any(NULL, 2, NULL, 0), -EINVAL);
	p[2] = smarm_self();
	CHECK_RC(smarm_join_all(p, 3, NULL, 0), -EDEADLK);
	p[2] = p[1] + ((smarm_pid_t)1 << 32);                  /* stale generation */
	CHECK_RC(smarm_join_any(p, 3, NULL, 0), -ESRCH);
	d = rt_spawn(forever, NULL, "d", SMARM_SPAWN_DETACHED);
	p[2] = d;
	CHECK_RC(smarm_join_all(p, 3, NULL, 0), -EINVAL);
	/* After each failure nothing is left marked: plain joins work. */
	smarm_kill(p[0], NULL);
	smarm_kill(p[1], NULL);
	smarm_kill(d, NULL);
	CHECK_RC(smarm_join(p[0], NULL), -EOWNERDEAD);
	CHECK_RC(smarm_join(p[1], NULL), -EOWNERDEAD);
	return NULL;
}

Test(group, bad_groups_are_refused_and_leave_nothing_marked)
{
	rt_run(root_errors, NULL, 2);
	cr_assert_eq(smarm_join_all((smarm_pid_t[]){1}, 1, NULL, 0), -EPERM);
}

static _Atomic int group_rc = 1;

static void *group_joiner(void *arg)
{
	smarm_pid_t *p = arg;

	group_rc = smarm_join_all(p, 2, NULL, SMARM_FOREVER);
	return NULL;
}

static void *root_joiner_stopped(void *arg)
{
	smarm_pid_t p[2], j;

	(void)arg;
	p[0] = rt_spawn(forever, NULL, "a", 0);
	p[1] = rt_spawn(forever, NULL, "b", 0);
	j = rt_spawn(group_joiner, p, "joiner", 0);
	smarm_sleep(SMARM_MSEC(5));
	CHECK_RC(smarm_kill(j, NULL), 0);
	CHECK_RC(smarm_join(j, NULL), -EOWNERDEAD);
	CHECK_EQ(group_rc, -ECANCELED);
	/* The members were left as they were. */
	smarm_kill(p[0], NULL);
	smarm_kill(p[1], NULL);
	CHECK_EQ(smarm_join_all(p, 2, NULL, SMARM_SEC(5)), 2);
	return NULL;
}

Test(group, a_stopped_joiner_gets_ecanceled_and_collects_nothing)
{
	rt_run(root_joiner_stopped, NULL, 2);
}

static void *root_big(void *arg)
{
	enum { N = 300 };
	static smarm_pid_t p[N];
	static struct smarm_exit_info info[N];

	(void)arg;
	for (int i = 0; i < N; i++)
		p[i] = rt_spawn(nap_then, NAP(i % 7, i + 1000), "m", 0);
	CHECK_EQ(smarm_join_all(p, N, info, SMARM_SEC(10)), 0);
	for (int i = 0; i < N; i++)
		CHECK(info[i].value == (void *)(intptr_t)(i + 1000));
	return NULL;
}

Test(group, join_all_of_many)
{
	rt_run(root_big, NULL, 2);
}
