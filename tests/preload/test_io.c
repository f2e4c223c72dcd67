/* test_io.c — drop-in fd I/O, poll/select/epoll and name lookup (issue 8,
 * "wrapped calls park"): each program runs natively and under the preload
 * with one carrier and with two; stdout and the exit status must match the
 * native run (preload_run.h), except where the preload's documented
 * behaviour differs (the close that wakes a blocked read).
 */
#include "preload_run.h"

TestSuite(io, .timeout = 120);

Test(io, pipe_ping_pong_eof_epipe_nonblock_files) { same_as_native("io_pipe", false); }
Test(io, blocked_read_lets_the_writer_run)        { same_as_native("io_block_one", false); }
Test(io, socket_semantics)                        { same_as_native("io_sock", false); }
Test(io, poll_select_timeouts_and_bits)           { same_as_native("io_poll", false); }
Test(io, epoll_loop_per_thread)                   { same_as_native("io_epoll", true); }
Test(io, getaddrinfo_from_threads)                { same_as_native("io_dns", true); }
/* Built with _FORTIFY_SOURCE: __read_chk, __recv_chk, __poll_chk park too. */
Test(io, fortified_calls_park)                    { same_as_native("io_fortify", false); }
/* sendfile (4 MiB) and splice (1 MiB from a pipe another thread fills)
 * into a blocking socket: the copies run on the pool, the threads that
 * drain and fill on the (one) carrier. */
Test(io, sendfile_and_splice_into_a_full_socket) { same_as_native("io_sendfile", false); }
Test(io, default_sigpipe_kills_as_natively)       { same_as_native("io_sigpipe", false); }
/* A number that was waited on, ended by close/close_range/dup2/fclose/
 * closefrom and handed out again: a stale record would hang the read. */
Test(io, reused_fd_numbers_are_new_files)         { same_as_native("io_fd_reuse", false); }

/* 1,000 client threads and a thread per connection, every byte checked;
 * same_as_native runs it with 1 and 2 carriers. */
Test(io, echo_1000_connections)                   { same_as_native("io_echo", false); }

/* Natively the blocked read goes on waiting on the file and gets the late
 * write; under the preload the close wakes it with EBADF (LOOM.md). */
Test(io, close_wakes_a_blocked_read)
{
	struct run n = run("io_close_wake", 0);

	cr_expect_str_eq(n.out, "read: 4 'late'\n", "natively: %s", n.out);
	for (int carriers = 1; carriers <= 2; carriers++) {
		struct run p = run("io_close_wake", carriers);
		cr_expect(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0,
			  "%d carrier(s): status %#x; stderr:\n%s", carriers, p.status, p.err);
		cr_expect_str_eq(p.out, "read: -1 EBADF\n", "%d carrier(s)", carriers);
	}
}

/* The runtime's own fds stay out of the program's numbers. */
Test(io, runtime_fds_keep_out_of_the_programs_numbers) { same_as_native("fd_numbers", false); }
