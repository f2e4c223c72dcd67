/* test_signal.c — drop-in signals (issue 8): delivery to the main thread
 * and to a worker, per-thread masks with pending signals, sigwait and
 * sigtimedwait, pause/alarm, sleeps cut short by a handler.  Each program
 * runs natively and under the preload with one carrier and with two
 * (preload_run.h).
 */
#include "preload_run.h"

TestSuite(signal, .timeout = 120);

Test(signal, to_main_and_to_a_worker)        { same_as_native("sig_kill", false); }
Test(signal, sigwait_sigtimedwait_sigwaitinfo) { same_as_native("sig_wait", false); }
Test(signal, mask_blocks_then_delivers)      { same_as_native("sig_mask", false); }
Test(signal, pause_alarm_sleep_eintr)        { same_as_native("sig_pause", false); }
Test(signal, signalfd_reads_what_all_threads_block) { same_as_native("sig_fd", false); }
Test(signal, handler_reraises_after_cleanup)  { same_as_native("sig_reraise", false); }

/* fd waits are interruptible: EINTR without SA_RESTART, restarted with it
 * (read), never restarted (poll). */
Test(signal, handler_interrupts_blocked_read_and_poll) { same_as_native("sig_io", false); }
