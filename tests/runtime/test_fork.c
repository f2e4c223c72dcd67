/* test_fork.c — fork() from a link-mode actor (fork.c): the child keeps
 * the forking actor and a working runtime (spawn, join, sleep, channels),
 * the other actors do not exist there (a wake meant for one does nothing),
 * and the parent is unaffected.  Each child ends with _exit(status), which
 * the parent checks. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

TestSuite(fork, .timeout = 60);

static _Atomic int sleeper_woke;
static smarm_chan_t *gate;

static void *double_it(void *a)
{
	smarm_sleep(SMARM_MSEC(1));
	return (void *)((long)a * 2);
}

/* Parked on a channel at the time of the fork. */
static void *sleeper(void *a)
{
	int v;

	(void)a;
	if (smarm_chan_recv(gate, &v, SMARM_FOREVER) == 0)
		atomic_fetch_add(&sleeper_woke, 1);
	return NULL;
}

static int child(void)
{
	long sum = 0;
	int one = 1;

	/* The sleeper's copy must not run here when its channel gets data. */
	if (smarm_chan_send(gate, &one, 0) != 0)
		return 2;
	for (long i = 0; i < 20; i++) {
		smarm_pid_t p;
		void *v;
		if (smarm_spawn(&p, double_it, (void *)i, NULL) != 0 || smarm_join(p, &v) != 0)
			return 3;
		sum += (long)v;
	}
	smarm_sleep(SMARM_MSEC(10));
	if (atomic_load(&sleeper_woke) != 0)
		return 4;
	return sum == 380 ? 42 : 5;
}

static void *root(void *arg)
{
	int *status = arg, one = 1;
	smarm_pid_t s;
	pid_t c;

	cr_assert_eq(smarm_chan_new(&gate, sizeof(int), 1), 0);
	cr_assert_eq(smarm_spawn(&s, sleeper, NULL, NULL), 0);
	smarm_sleep(SMARM_MSEC(5)); /* let it park */
	if ((c = fork()) == 0)
		_exit(child());
	cr_assert(c > 0);
	cr_assert_eq(waitpid(c, status, 0), c);
	/* The parent's sleeper is still there and still waiting. */
	cr_assert_eq(atomic_load(&sleeper_woke), 0);
	cr_assert_eq(smarm_chan_send(gate, &one, SMARM_FOREVER), 0);
	cr_assert_eq(smarm_join(s, NULL), 0);
	cr_assert_eq(atomic_load(&sleeper_woke), 1);
	smarm_chan_free(gate);
	return NULL;
}

Test(fork, child_has_a_working_runtime)
{
	int status = -1;

	for (int carriers = 1; carriers <= 2; carriers++) {
		struct smarm_config cfg = {.carriers = carriers};
		atomic_store(&sleeper_woke, 0);
		cr_assert_eq(smarm_run(root, &status, &cfg, NULL), 0);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 42,
			  "%d carrier(s): child status %#x", carriers, status);
	}
}
