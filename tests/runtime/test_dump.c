/* test_dump.c — dumps, deadlock detection and statistics (dump.c,
 * deadlock.c, stats.c), through tests/runtime/progs/inside.c run as a
 * separate process: a deadlock ends the process, and SIGQUIT and exit-time
 * statistics belong to a process of their own. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "json_check.h"
#include "run_prog.h"
#include "smarm.h"

TestSuite(dump, .timeout = 60);

static const char *carriers_env[2][2] = {{"SMARM_THREADS=1", NULL},
					 {"SMARM_THREADS=2", NULL}};
/* The dump programs exit with their actors alive on purpose (a dump needs
 * them); their fates and mailboxes hang off records on mmap'd stacks, which
 * LeakSanitizer does not scan, so under SAN=address it would call them
 * leaks.  Ignored by builds without ASan. */
#define NO_LSAN "ASAN_OPTIONS=detect_leaks=0"

/* The line of the dump that starts the entry of the thread named `name`
 * (text format), or NULL.  Its pid goes into pid (>= 24 bytes). */
static const char *thread_line(const char *dump, const char *name, char *pid)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, " \"%s\"", name);
	for (p = dump; (p = strstr(p, "green thread ")); p++) {
		const char *sp = strchr(p + 13, ' ');
		if (sp && strncmp(sp, key, strlen(key)) == 0) {
			snprintf(pid, 24, "%.*s", (int)(sp - (p + 13)), p + 13);
			return p;
		}
	}
	return NULL;
}

/* The first line of s starting at p, copied into buf. */
static const char *line_at(const char *p, char *buf, size_t len)
{
	size_t n = strcspn(p, "\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

Test(dump, a_channel_deadlock_exits_2_with_a_report_of_every_thread)
{
	for (int c = 0; c < 2; c++) {
		const char *argv[] = {"inside", "chan", NULL};
		struct prog_result *r = prog_run(argv, carriers_env[c], 20000);
		char rpid[24], root[24], l[256], want[128];
		const char *p;

		cr_assert(!r->timed_out, "%d carrier(s): hung", c + 1);
		cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2,
			  "%d carrier(s): status %#x; stderr:\n%s", c + 1, r->status, r->err);
		cr_assert(strstr(r->err, "smarm: all 2 threads are asleep - deadlock!\n"), "%s",
			  r->err);
		cr_assert((p = thread_line(r->err, "receiver", rpid)), "%s", r->err);
		cr_expect(strstr(line_at(p, l, sizeof l), "[parked: chan recv "), "%s", l);
		cr_assert((p = thread_line(r->err, "root", root)), "%s", r->err);
		snprintf(want, sizeof want, "[parked: join %s \"receiver\"", rpid);
		cr_expect(strstr(line_at(p, l, sizeof l), want), "%s (wanted %s)", l, want);
		/* The backtrace names the program's functions (from .symtab: the
		 * program is linked without -rdynamic). */
		cr_expect(strstr(r->err, "  recv_forever+0x"), "%s", r->err);
		cr_expect(strstr(r->err, "  smarm_main+0x"), "%s", r->err);
		cr_expect(strstr(r->err, "smarm: end of dump (2 green threads)"), "%s", r->err);
	}
}

Test(dump, deadlock_detection_can_be_turned_off)
{
	const char *argv[] = {"inside", "outside", NULL};
	const char *env[] = {"SMARM_DEADLOCK=off", NULL};
	struct prog_result *r = prog_run(argv, env, 20000);

	cr_assert(!r->timed_out);
	/* Parked until the child's SIGTERM ends it. */
	cr_expect(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGTERM, "status %#x: %s",
		  r->status, r->err);
	cr_expect(!strstr(r->err, "deadlock"), "%s", r->err);
}

Test(dump, no_deadlock_while_a_plain_pthread_may_still_send)
{
	for (int c = 0; c < 2; c++) {
		const char *argv[] = {"inside", "foreign", NULL};
		struct prog_result *r = prog_run(argv, carriers_env[c], 20000);

		cr_assert(!r->timed_out);
		cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
			  r->status, r->err);
		cr_expect_str_eq(r->out, "got 42\n");
		cr_expect(!strstr(r->err, "deadlock"), "%s", r->err);
	}
}

Test(dump, no_deadlock_while_an_actor_waits_in_accept)
{
	for (int c = 0; c < 2; c++) {
		const char *argv[] = {"inside", "accept", NULL};
		struct prog_result *r = prog_run(argv, carriers_env[c], 20000);

		cr_assert(!r->timed_out);
		cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
			  r->status, r->err);
		cr_expect_str_eq(r->out, "accepted hi\n");
		cr_expect(!strstr(r->err, "deadlock"), "%s", r->err);
	}
}

/* A wait the runtime cannot see (the signal shim's sigwait/pause) is
 * counted in smarm__outside_waiters: no deadlock while it is non-zero; the
 * same program without the count is one. */
Test(dump, an_outside_waiter_is_no_deadlock_and_without_it_there_is_one)
{
	const char *counted[] = {"inside", "outside", "counted", NULL};
	const char *plain[] = {"inside", "outside", NULL};
	struct prog_result *r = prog_run(counted, NULL, 20000);

	cr_assert(!r->timed_out);
	cr_expect(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGTERM, "status %#x: %s",
		  r->status, r->err);
	cr_expect(!strstr(r->err, "deadlock"), "%s", r->err);
	r = prog_run(plain, NULL, 20000);
	cr_assert(!r->timed_out);
	cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2, "status %#x: %s",
		  r->status, r->err);
	cr_expect(strstr(r->err, "smarm: all 1 threads are asleep - deadlock!"), "%s", r->err);
}

/* A handler for a signal that may come from outside could sem_post: while
 * the program has one, parked threads are not declared deadlocked. */
Test(dump, a_signal_handler_of_the_program_is_no_deadlock)
{
	const char *argv[] = {"inside", "handler", NULL};
	struct prog_result *r = prog_run(argv, NULL, 20000);

	cr_assert(!r->timed_out);
	cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
		  r->status, r->err);
	cr_expect_str_eq(r->out, "usr1\n");
	cr_expect(!strstr(r->err, "deadlock"), "%s", r->err);
}

Test(dump, the_dump_of_a_running_program_shows_states_waits_and_owners)
{
	const char *argv[] = {"inside", "dump", NULL};
	const char *env[] = {"SMARM_THREADS=2", NO_LSAN, NULL};
	struct prog_result *r = prog_run(argv, env, 20000);
	char self[24], pid[24], rpid[24], spid[24], l[512], want[128];
	const char *p, *d;

	cr_assert(!r->timed_out);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
		  r->status, r->err);
	cr_assert(sscanf(r->out, "self=%23s", self) == 1, "%s", r->out);
	cr_assert((d = strstr(r->out, "smarm: dump of 8 green threads on 2 carriers\n")), "%s",
		  r->out);
	cr_expect(strstr(d, "smarm: end of dump (8 green threads)\n"), "%s", d);

	cr_assert((p = thread_line(d, "root", pid)));
	cr_expect_str_eq(pid, self);
	cr_expect(strstr(line_at(p, l, sizeof l), "[running on carrier "), "%s", l);

	cr_assert((p = thread_line(d, "waiter", pid)));
	snprintf(want, sizeof want, "[parked: mutex 0x");
	cr_expect(strstr(line_at(p, l, sizeof l), want), "%s", l);
	snprintf(want, sizeof want, " (m1) held by %s \"root\", for ", self);
	cr_expect(strstr(l, want), "%s (wanted %s)", l, want);
	cr_expect(strstr(p + strlen(l), "\n  lock_m1+0x"), "the waiter's backtrace:\n%s", p);

	cr_assert((p = thread_line(d, "receiver", rpid)));
	cr_expect(strstr(line_at(p, l, sizeof l), "[parked: chan recv 0x"), "%s", l);

	cr_assert((p = thread_line(d, "sleeper", pid)));
	cr_expect(strstr(line_at(p, l, sizeof l), "[parked: sleep, for "), "%s", l);
	cr_expect(strstr(l, "s left]"), "%s", l);
	cr_expect(strstr(p + strlen(l), "\n  sleep_long+0x"), "%s", p);

	cr_assert((p = thread_line(d, "spinner", pid)));
	line_at(p, l, sizeof l);
	cr_expect(strstr(l, "[running on carrier ") || strstr(l, "[runnable]"), "%s", l);

	cr_assert((p = thread_line(d, "joiner", pid)));
	snprintf(want, sizeof want, "[parked: join %s \"receiver\"", rpid);
	cr_expect(strstr(line_at(p, l, sizeof l), want), "%s (wanted %s)", l, want);

	cr_assert((p = thread_line(d, "sup", spid)));
	cr_expect(strstr(line_at(p, l, sizeof l), "\"sup\" (supervisor) [parked: mailbox"), "%s",
		  l);
	cr_assert((p = thread_line(d, "kid", pid)));
	snprintf(want, sizeof want, "\n  supervised by %s \"sup\" < %s \"root\"\n", spid, self);
	cr_expect(strstr(p, want), "%s (wanted %s)", p, want);
}

Test(dump, json_dumps_parse_and_sigquit_writes_one_to_stderr)
{
	const char *argv[] = {"inside", "dump", "quit", NULL};
	const char *env[] = {"SMARM_DUMP_FORMAT=json", "SMARM_THREADS=2", NO_LSAN, NULL};
	struct prog_result *r = prog_run(argv, env, 20000);
	const char *j;

	/* The validator itself rejects what it should. */
	cr_assert(json_valid("{\"a\":[1,-2.5e3,\"x\\u00e9\",true,null]}"));
	cr_assert(!json_valid("{\"a\":}"));
	cr_assert(!json_valid("{\"a\":\"tab\there\"}"));
	cr_assert(!json_valid("[1,2] 3"));

	cr_assert(!r->timed_out);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
		  r->status, r->err);
	cr_assert((j = strchr(r->out, '\n')));
	cr_expect(json_valid(j + 1), "smarm_dump's JSON:\n%s", j + 1);
	cr_expect(json_valid(r->err), "SIGQUIT's JSON:\n%s", r->err);
	for (int i = 0; i < 2; i++) {
		const char *s = i ? r->err : j + 1;
		cr_expect(strstr(s, "\"count\":8}"), "%s", s);
		cr_expect(strstr(s, "\"name\":\"waiter\",\"state\":\"parked\""), "%s", s);
		cr_expect(strstr(s, "\"object_symbol\":\"m1\""), "%s", s);
		cr_expect(strstr(s, "\"owner_name\":\"root\""), "%s", s);
		cr_expect(strstr(s, "\"target_name\":\"receiver\""), "%s", s);
		cr_expect(strstr(s, "\"name\":\"sup\",\"state\":\"parked\",\"carrier\":null,"
				    "\"supervisor\":true"), "%s", s);
		cr_expect(strstr(s, "\"symbol\":\"sleep_long\""), "%s", s);
	}
}

Test(dump, smarm_dump_off_leaves_sigquit_its_default)
{
	const char *argv[] = {"inside", "dump", "quit", NULL};
	const char *env[] = {"SMARM_DUMP=off", NULL};
	struct prog_result *r = prog_run(argv, env, 20000);

	cr_assert(!r->timed_out);
	cr_expect(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGQUIT, "status %#x",
		  r->status);
}

static long stat_of(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof k, "\n  %s ", key);
	cr_assert((p = strstr(s, k)), "no %s in:\n%s", key, s);
	return strtol(p + strlen(k), NULL, 10);
}

Test(dump, statistics_add_up)
{
	const char *argv[] = {"inside", "stats", NULL};
	const char *env[] = {"SMARM_STATS=1", NULL};
	struct prog_result *r = prog_run(argv, env, 20000);
	long spawned, exited, alive, parks, sum = 0;
	const char *p;

	cr_assert(!r->timed_out);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
		  r->status, r->err);
	cr_assert(strstr(r->err, "smarm: statistics\n"), "%s", r->err);
	spawned = stat_of(r->err, "spawned");
	exited = stat_of(r->err, "exited");
	alive = stat_of(r->err, "alive");
	parks = stat_of(r->err, "parks");
	cr_expect_eq(spawned, 101); /* root + 100 */
	cr_expect_eq(alive, 11);    /* root + 10 parked for good */
	cr_expect_eq(spawned, exited + alive);
	cr_expect(stat_of(r->err, "peak-alive") >= alive &&
		  stat_of(r->err, "peak-alive") <= spawned);
	cr_expect(stat_of(r->err, "switches") >= spawned);
	cr_expect(stat_of(r->err, "stacks-created") >= 11);
	cr_expect(stat_of(r->err, "peak-rss-kib") > 0);
	for (p = r->err; (p = strstr(p, "\n  park: ")); p++)
		sum += strtol(strrchr(line_at(p + 1, (char[128]){0}, 128), ' '), NULL, 10);
	cr_expect_eq(sum, parks, "park kinds sum to %ld, parks %ld:\n%s", sum, parks, r->err);
	cr_expect(strstr(r->err, "\n  park: chan recv 10\n"), "%s", r->err);

	/* Without SMARM_STATS, nothing. */
	r = prog_run(argv, NULL, 20000);
	cr_expect(!strstr(r->err, "statistics"), "%s", r->err);
}

Test(dump, a_timed_out_lock_reports_its_wait_for_cycle_once)
{
	const char *argv[] = {"inside", "cycle", NULL};
	struct prog_result *r = prog_run(argv, carriers_env[1], 20000);

	cr_assert(!r->timed_out);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "status %#x: %s",
		  r->status, r->err);
	cr_expect_str_eq(r->out, "first=-110 second=0\n");
	cr_expect_eq(prog_count(r->err, "smarm: mutex wait-for cycle"), 1, "%s", r->err);
	cr_expect(strstr(r->err, "\"first\" waits for mutex 0x"), "%s", r->err);
	cr_expect(strstr(r->err, " (m2) held by "), "%s", r->err);
	cr_expect(strstr(r->err, "\"second\", which waits for mutex 0x"), "%s", r->err);
	cr_expect(strstr(r->err, " (m1) held by "), "%s", r->err);
}

Test(dump, a_timed_out_lock_without_a_cycle_reports_nothing)
{
	const char *argv[] = {"inside", "nocycle", NULL};
	struct prog_result *r = prog_run(argv, NULL, 20000);

	cr_assert(!r->timed_out);
	cr_expect_str_eq(r->out, "lock=-110\n");
	cr_expect(!strstr(r->err, "cycle"), "%s", r->err);
}

Test(dump, smarm_dump_needs_a_running_runtime)
{
	cr_expect_eq(smarm_dump(1), -EPERM);
	cr_expect_eq(smarm_dump(-1), -EBADF);
}
