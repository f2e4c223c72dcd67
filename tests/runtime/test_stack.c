/* test_stack.c — actor stacks (stack.c): 100,000 actors alive at once,
 * requested and default sizes are really usable, stacks are pooled, running
 * out of address space is -EAGAIN with a message naming vm.max_map_count,
 * and SMARM_STACK_SIZE is honoured (tests/runtime/progs/env_probe). */
#include <alloca.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "rt_check.h"
#include "run_prog.h"

TestSuite(stack, .timeout = 60);

/* ---- 100,000 alive ------------------------------------------------------ */

/* Each spawner builds a chain: link k joins link k-1, link 0 joins a gate
 * that waits for the release.  So every link is parked in a join, no timer
 * is pending but the gates', and releasing unwinds the chains. */
#define ALIVE_SPAWNERS 4
#define ALIVE_TOTAL (100000 / RT_SCALE)
#define ALIVE_CHAIN (ALIVE_TOTAL / ALIVE_SPAWNERS)

static _Atomic int release;
static _Atomic long started;

static void *gate(void *arg)
{
	while (!atomic_load(&release))
		smarm_sleep(SMARM_MSEC(2));
	return arg;
}

static void *link_fn(void *arg)
{
	atomic_fetch_add(&started, 1);
	return (char *)rt_join((smarm_pid_t)(uintptr_t)arg) + 1;
}

static void *chain_spawner(void *arg)
{
	(void)arg;
	smarm_pid_t prev = rt_spawn(gate, NULL, "gate", 0);

	for (int k = 0; k < ALIVE_CHAIN; k++)
		prev = rt_spawn(link_fn, (void *)(uintptr_t)prev, NULL, 0);
	CHECK_EQ((uintptr_t)rt_join(prev), ALIVE_CHAIN);
	return NULL;
}

static void *root_alive(void *arg)
{
	(void)arg;
	smarm_pid_t s[ALIVE_SPAWNERS];
	long alive_base = smarm__alive_count();
	int64_t deadline = smarm_now() + SMARM_SEC(40);

	for (int i = 0; i < ALIVE_SPAWNERS; i++)
		s[i] = rt_spawn(chain_spawner, NULL, "spawner", 0);
	while (atomic_load(&started) < ALIVE_TOTAL && smarm_now() < deadline)
		smarm_sleep(SMARM_MSEC(5));
	CHECK_EQ(atomic_load(&started), ALIVE_TOTAL);
	/* Everyone is alive at once: links, gates, spawners and us. */
	CHECK(smarm__alive_count() >=
	      alive_base + ALIVE_TOTAL + 2 * ALIVE_SPAWNERS);
	CHECK(smarm__pid_used() >= (size_t)ALIVE_TOTAL + 2 * ALIVE_SPAWNERS + 1);
	atomic_store(&release, 1);
	for (int i = 0; i < ALIVE_SPAWNERS; i++)
		rt_join(s[i]);
	return NULL;
}

Test(stack, a_hundred_thousand_actors_alive_at_once)
{
	rt_run(root_alive, NULL, 2);
	cr_assert_eq(smarm__alive_count(), 0);
}

/* ---- sizes -------------------------------------------------------------- */

/* Touch `arg` bytes of stack, one byte a page, top down; return the actor's
 * stack size as the runtime sees it. */
static void *use_stack(void *arg)
{
	size_t n = (size_t)arg;
	volatile char *buf = alloca(n);
	struct smarm__actor *self = smarm__self();
	char here;

	for (size_t off = n; off >= 4096; off -= 4096)
		buf[off - 1] = (char)off;
	buf[0] = 1;
	/* We run on the stack the runtime says we have. */
	CHECK((char *)&here > (char *)self->stack_lo &&
	      (char *)&here < (char *)self->stack_lo + self->stack_size);
	CHECK((char *)buf >= (char *)self->stack_lo);
	return (void *)self->stack_size;
}

static size_t spawn_using(size_t stack_size, size_t use)
{
	struct smarm_spawn_opts o = {.stack_size = stack_size};
	smarm_pid_t p = 0;

	CHECK_RC(smarm_spawn(&p, use_stack, (void *)use, &o), 0);
	return p ? (size_t)rt_join(p) : 0;
}

static void *root_sizes(void *arg)
{
	(void)arg;
	size_t got;

	/* Default: 64 KiB, of which most is usable. */
	got = spawn_using(0, 48 << 10);
	CHECK(got >= (64 << 10) && got < (64 << 10) + (8 << 10));
	/* Big and odd sizes are rounded up, never down. */
	got = spawn_using(1 << 20, 900 << 10);
	CHECK(got >= (1 << 20));
	got = spawn_using((100 << 10) + 1, 96 << 10);
	CHECK(got >= (100 << 10) + 1);
	got = spawn_using(8 << 20, 7 << 20);
	CHECK(got >= (8 << 20));
	return NULL;
}

Test(stack, requested_sizes_are_usable)
{
	rt_run(root_sizes, NULL, 2);
}

static void *root_config_size(void *arg)
{
	(void)arg;
	size_t got = spawn_using(0, 200 << 10);
	CHECK(got >= (256 << 10) && got < (256 << 10) + (8 << 10));
	return NULL;
}

Test(stack, config_stack_size_is_the_default)
{
	struct smarm_config cfg = {.carriers = 1, .stack_size = 256 << 10};
	void *r;

	cr_assert_eq(smarm_run(root_config_size, NULL, &cfg, &r), 0);
	cr_assert_eq(atomic_load(&check_failures), 0, "%s", check_first);
}

/* ---- pooling ------------------------------------------------------------ */

static void *identity(void *arg)
{
	return arg;
}

static void *root_reuse(void *arg)
{
	(void)arg;
	size_t before, after;

	smarm__stack_stats(&before, NULL);
	for (uintptr_t i = 0; i < 10000; i++) {
		smarm_pid_t p = rt_spawn(identity, (void *)i, NULL, 0);
		CHECK_EQ((uintptr_t)rt_join(p), i);
	}
	for (uintptr_t i = 0; i < 1000; i++) {
		struct smarm_spawn_opts o = {.stack_size = 200 << 10};
		smarm_pid_t p = 0;
		CHECK_RC(smarm_spawn(&p, identity, (void *)i, &o), 0);
		rt_join(p);
	}
	smarm__stack_stats(&after, NULL);
	CHECK(after - before < 200);
	return NULL;
}

Test(stack, stacks_are_reused)
{
	rt_run(root_reuse, NULL, 2);
}

/* ---- exhaustion --------------------------------------------------------- */

Test(stack, out_of_address_space_is_eagain_and_names_max_map_count)
{
	const char *argv[] = {"exhaust", NULL};
	struct prog_result *r = prog_run(argv, NULL, 30000);
	int spawned = -1, rc = 0, again = 0, joined = -1;

	cr_assert(!r->timed_out, "exhaust hung; stdout: %s stderr: %s", r->out, r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "exhaust ended with status %#x; stdout: %s stderr: %s", r->status,
	          r->out, r->err);
	cr_assert_eq(sscanf(r->out, "spawned=%d rc=%d again=%d joined=%d", &spawned,
	                    &rc, &again, &joined), 4, "exhaust said: %s", r->out);
	cr_assert_eq(rc, -EAGAIN, "spawn failed with %d, want -EAGAIN", rc);
	cr_assert_eq(again, -EAGAIN, "later spawns gave %d", again);
	cr_assert_gt(spawned, 10, "only %d actors before running out", spawned);
	cr_assert_eq(joined, spawned);
	cr_assert_eq(prog_count(r->err, "vm.max_map_count"), 1,
	             "want one message naming vm.max_map_count; stderr: %s", r->err);
}

/* ---- SMARM_STACK_SIZE --------------------------------------------------- */

static size_t probe_stack(const char *env, const char *use, struct prog_result **out)
{
	const char *argv[] = {"env_probe", "stack", use, NULL};
	const char *envv[] = {env, NULL};
	struct prog_result *r = prog_run(argv, envv, 20000);
	size_t size = 0;

	cr_assert(!r->timed_out, "env_probe hung; stderr: %s", r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "env_probe status %#x; stderr: %s", r->status, r->err);
	cr_assert_eq(sscanf(r->out, "stack_size=%zu", &size), 1, "env_probe said: %s",
	             r->out);
	cr_assert(strstr(r->out, "used ok"), "env_probe said: %s", r->out);
	*out = r;
	return size;
}

Test(stack, smarm_stack_size_is_honoured)
{
	struct prog_result *r;
	size_t size;

	size = probe_stack("SMARM_STACK_SIZE=1M", "900000", &r);
	cr_assert(size >= (1 << 20) && size < (1 << 20) + (8 << 10), "size %zu", size);
	size = probe_stack("SMARM_STACK_SIZE=262144", "200000", &r);
	cr_assert(size >= (256 << 10) && size < (256 << 10) + (8 << 10), "size %zu", size);
	size = probe_stack("SMARM_STACK_SIZE", "40000", &r);
	cr_assert(size >= (64 << 10) && size < (64 << 10) + (8 << 10), "size %zu", size);
	/* Garbage is refused loudly, and the default used. */
	size = probe_stack("SMARM_STACK_SIZE=banana", "40000", &r);
	cr_assert(size >= (64 << 10) && size < (64 << 10) + (8 << 10), "size %zu", size);
	cr_assert(strstr(r->err, "SMARM_STACK_SIZE"), "no complaint: %s", r->err);
}
