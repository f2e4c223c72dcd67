/* test_proc.c — drop-in processes (issue 8): fork from a thread with a
 * working runtime in the child, atfork handlers, waiting for children
 * without stalling the carrier, system/popen from many threads at once,
 * posix_spawn, vfork, daemon.  Each program runs natively and under the preload with one
 * carrier and with two (preload_run.h).
 */
#include "preload_run.h"

TestSuite(proc, .timeout = 120);

Test(proc, fork_child_runs_threads_and_exits_with_status) { same_as_native("fork_threads", true); }
Test(proc, forks_from_many_threads_at_once)   { same_as_native("fork_many", true); }
Test(proc, atfork_handlers_in_order)          { same_as_native("atfork", false); }
Test(proc, system_and_popen_from_many_threads) { same_as_native("system_popen_many", true); }
Test(proc, waitpid_parks_while_others_run)    { same_as_native("waitpid_busy", false); }
Test(proc, waitpid_eintr_unless_sa_restart)   { same_as_native("waitpid_intr", false); }
Test(proc, posix_spawn_and_vfork_from_a_thread) { same_as_native("spawn", false); }
Test(proc, daemon_keeps_a_working_runtime)    { same_as_native("daemon", false); }
