/* fdnew.c — drop-in: the calls that hand out new fd numbers (socket,
 * socketpair, pipe, pipe2, eventfd, epoll_create, epoll_create1, dup,
 * timerfd_create, inotify_init, inotify_init1) renew runtime/io.c's record
 * of each number they return.
 *
 * Why: a record remembers the number's kind and its registration in the
 * netpoller.  The close wrappers (io.c) forget it, but a close the shim
 * never sees (syscall(SYS_close), a close inside another libc function)
 * leaves a record that still says "registered" while the kernel dropped
 * the registration with the file; a wait on the next file with that number
 * would then never be woken.  A number fresh from the kernel proves the
 * old file gone, so renewing it here closes that hole for every fd these
 * calls make (what remains: a number reused by open/fopen/fcntl(F_DUPFD),
 * which mostly make regular files, which have no readiness to wait for).
 * The renewal also records the kind, saving the first call an fstat.
 *
 * Green threads and other callers alike get libc's call; only green
 * threads renew (a non-green caller is the runtime's business or before
 * main).  Never switches.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "io.h"

/* Pass r through, renewing the record of the fd it names. */
static int fresh(int r, int kind)
{
	if (r >= 0 && smarm__shim_in_green())
		smarm__fd_renew(r, kind);
	return r;
}

SMARM_API int socket(int domain, int type, int proto)
{
	return fresh(REAL_FN(socket)(domain, type, proto), SMARM__FD_SOCK);
}

SMARM_API int socketpair(int domain, int type, int proto, int sv[2])
{
	int r = REAL_FN(socketpair)(domain, type, proto, sv);

	if (r == 0 && smarm__shim_in_green()) {
		smarm__fd_renew(sv[0], SMARM__FD_SOCK);
		smarm__fd_renew(sv[1], SMARM__FD_SOCK);
	}
	return r;
}

SMARM_API int pipe2(int fds[2], int flags)
{
	int r = REAL_FN(pipe2)(fds, flags);

	if (r == 0 && smarm__shim_in_green()) {
		smarm__fd_renew(fds[0], SMARM__FD_NOWAIT);
		smarm__fd_renew(fds[1], SMARM__FD_NOWAIT);
	}
	return r;
}

SMARM_API int pipe(int fds[2])
{
	return pipe2(fds, 0);
}

SMARM_API int eventfd(unsigned int v, int flags)
{
	return fresh(REAL_FN(eventfd)(v, flags), SMARM__FD_NOWAIT);
}

/* Kind 0: let the first call find out (an fstat). */
SMARM_API int epoll_create1(int flags)
{
	return fresh(REAL_FN(epoll_create1)(flags), 0);
}

SMARM_API int epoll_create(int size)
{
	return fresh(REAL_FN(epoll_create)(size), 0);
}

SMARM_API int dup(int fd)
{
	return fresh(REAL_FN(dup)(fd), 0);
}

SMARM_API int timerfd_create(int clk, int flags)
{
	return fresh(REAL_FN(timerfd_create)(clk, flags), 0);
}

SMARM_API int inotify_init1(int flags)
{
	return fresh(REAL_FN(inotify_init1)(flags), 0);
}

SMARM_API int inotify_init(void)
{
	return fresh(REAL_FN(inotify_init)(), 0);
}
