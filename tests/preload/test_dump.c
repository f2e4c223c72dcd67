/* test_dump.c — deadlock reports and dumps in drop-in mode, on unmodified
 * pthread programs.  deadlock_mutex hangs natively, so it is only ever run
 * under the preload (carriers 1 and 2). */
#include "preload_run.h"
#include "../runtime/json_check.h"

TestSuite(pdump, .timeout = 120);

/* The dump line of the thread named `name` ("green thread <pid> "name" [...]"),
 * copied into line; its pid into pid (>= 24 bytes).  False if absent. */
static bool find_thread(const char *err, const char *name, char *pid, char *line, size_t len)
{
	char key[64];

	snprintf(key, sizeof key, " \"%s\" [", name);
	for (const char *p = err; (p = strstr(p, "green thread ")); p++) {
		const char *sp = strchr(p + 13, ' ');
		if (sp && strncmp(sp, key, strlen(key)) == 0) {
			snprintf(pid, 24, "%.*s", (int)(sp - (p + 13)), p + 13);
			snprintf(line, len, "%.*s", (int)strcspn(p, "\n"), p);
			return true;
		}
	}
	return false;
}

Test(pdump, two_mutex_deadlock_exits_2_naming_both_threads_mutexes_and_owners)
{
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run r = run("deadlock_mutex", carriers);
		char a[32], b[32], apid[24], bpid[24], mpid[24], al[512], bl[512], ml[512],
			want[160];

		cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2,
			  "%d carrier(s): status %#x; stderr:\n%s", carriers, r.status, r.err);
		cr_assert(sscanf(r.out, "lock_a=%31s\nlock_b=%31s", a, b) == 2, "%s", r.out);
		cr_expect(strstr(r.err, "smarm: all 3 threads are asleep - deadlock!\n"), "%s",
			  r.err);
		cr_assert(find_thread(r.err, "alpha", apid, al, sizeof al), "%s", r.err);
		cr_assert(find_thread(r.err, "beta", bpid, bl, sizeof bl), "%s", r.err);
		cr_assert(find_thread(r.err, "deadlock_mutex", mpid, ml, sizeof ml), "%s", r.err);
		/* alpha holds lock_a and waits for lock_b, which beta holds ... */
		snprintf(want, sizeof want, "[parked: mutex %s (lock_b) held by %s \"beta\", for ",
			 b, bpid);
		cr_expect(strstr(al, want), "%s\n(wanted %s)", al, want);
		/* ... and beta the other way round. */
		snprintf(want, sizeof want, "[parked: mutex %s (lock_a) held by %s \"alpha\", for ",
			 a, apid);
		cr_expect(strstr(bl, want), "%s\n(wanted %s)", bl, want);
		/* main (named after the program, as Linux does) joins alpha. */
		snprintf(want, sizeof want, "[parked: join %s \"alpha\"", apid);
		cr_expect(strstr(ml, want), "%s\n(wanted %s)", ml, want);
		/* Backtraces reach the program's functions (from its .symtab). */
		cr_expect(strstr(r.err, "\n  alpha+0x"), "%s", r.err);
		cr_expect(strstr(r.err, "\n  beta+0x"), "%s", r.err);
		cr_expect(strstr(r.err, "\n  main+0x"), "%s", r.err);
		free(r.out);
		free(r.err);
	}
}

Test(pdump, the_deadlock_report_in_json_parses)
{
	char *env[] = {"SMARM_DUMP_FORMAT=json", NULL};
	struct run r = run_with("deadlock_mutex", 2, env, NULL);
	const char *j = strchr(r.err, '\n');

	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "status %#x: %s", r.status,
		  r.err);
	cr_assert(strncmp(r.err, "smarm: all 3 threads are asleep - deadlock!\n", 44) == 0, "%s",
		  r.err);
	cr_assert(j);
	cr_expect(json_valid(j + 1), "%s", j + 1);
	cr_expect(strstr(j, "\"name\":\"alpha\",\"state\":\"parked\""), "%s", j);
	cr_expect(strstr(j, "\"object_symbol\":\"lock_b\",\"owner\":"), "%s", j);
	cr_expect(strstr(j, "\"owner_name\":\"beta\""), "%s", j);
	cr_expect(strstr(j, "\"owner_name\":\"alpha\""), "%s", j);
	cr_expect(strstr(j, "\"count\":3}"), "%s", j);
	free(r.out);
	free(r.err);
}

/* Every green thread parked with a timer pending is no deadlock. */
Test(pdump, main_joining_a_sleeping_thread_is_no_deadlock)
{
	same_as_native("join_sleeper", false);
}

/* pause() with no handler, alone and beside a sigwait(): every thread
 * parked, yet not a deadlock — the SIGTERM from outside ends the program,
 * as natively. */
Test(pdump, no_deadlock_in_pause_or_sigwait)
{
	static char *variants[][2] = {{NULL}, {"sigwait", NULL}};

	for (int v = 0; v < 2; v++) {
		char *const *args = variants[v][0] ? variants[v] : NULL;
		struct run n = run_with("pause_term", 0, NULL, args);
		for (int c = 1; c <= 2; c++) {
			struct run r = run_with("pause_term", c, NULL, args);
			cr_expect_eq(r.status, n.status, "%s, %d carrier(s): status %#x, natively %#x: %s",
				     args ? args[0] : "pause", c, r.status, n.status, r.err);
			cr_expect_str_eq(r.out, n.out);
			cr_expect(!strstr(r.err, "deadlock"), "%d carrier(s): %s", c, r.err);
		}
		cr_expect(WIFSIGNALED(n.status) && WTERMSIG(n.status) == SIGTERM);
	}
}
