/* util.c — messages, assertions, the clock, and reading the environment.
 *
 * smarm__msg formats into a stack buffer and writes it with one write(2), so
 * it is usable from a signal handler (vsnprintf with the plain integer and
 * string conversions does not allocate in glibc) and lines from several
 * carriers never interleave.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The runtime's long-lived fds live high, out of the program's way:
 * programs expect open() to return the lowest free number, list their fds
 * (a child checking what it inherited), or dup2 onto small numbers a shell
 * script chose (`exec 3>file`), which would silently close ours.  Below
 * 1024 (a program's select() never sees them, but keeping the fd table
 * small matters) and below the descriptor limit. */
/* Which fds below 1024 the runtime owns (smarm__fd_high set them):
 * the shim's close, close_range and closefrom leave these alone. */
static _Atomic uint64_t owned[16];

bool smarm__fd_owned(int fd)
{
	return fd >= 0 && fd < 1024 &&
	       (atomic_load_explicit(&owned[fd / 64], memory_order_relaxed) >> (fd % 64) & 1);
}

void smarm__fd_close(int fd)
{
	if (fd >= 0 && fd < 1024)
		atomic_fetch_and(&owned[fd / 64], ~(1ull << (fd % 64)));
	if (fd >= 0)
		close(fd);
}

int smarm__fd_high(int fd)
{
	static int base;
	struct rlimit rl;
	int b = __atomic_load_n(&base, __ATOMIC_RELAXED), n;

	if (fd < 0)
		return fd;
	if (!b) {
		rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
		if (lim > 1024)
			lim = 1024;
		b = lim >= 256 ? (int)lim - 64 : (int)lim / 2;
		__atomic_store_n(&base, b, __ATOMIC_RELAXED);
	}
	if (fd >= b || (n = fcntl(fd, F_DUPFD_CLOEXEC, b)) < 0)
		n = fd; /* no room up there: keep it where it is */
	else
		close(fd);
	if (n < 1024)
		atomic_fetch_or(&owned[n / 64], 1ull << (n % 64));
	return n;
}

void smarm__msg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, e = errno;

	memcpy(buf, "smarm: ", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof buf - 8, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	n += 7;
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		long w = smarm__sys(SYS_write, 2, (long)(buf + off), n - off, 0, 0, 0);
		if (w <= 0)
			break;
		off += w;
	}
	errno = e;
}

void smarm__assert_fail(const char *what, const char *file, int line)
{
	smarm__msg("assertion failed: %s (%s:%d)", what, file, line);
	abort();
}

int64_t smarm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads a decimal number with an optional K, M or G suffix (powers of 1024).
 * Returns -1 for garbage so the caller can say which variable was wrong. */
static int parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'i' || *end == 'b' || *end == 'B')
		end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

long smarm__env_long(const char *name, long dflt, long min, long max)
{
	const char *s = getenv(name);
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	if (parse_size(s, &v) < 0 || v < (unsigned long long)min ||
	    v > (unsigned long long)max) {
		smarm__msg("%s=%s is not a number in [%ld, %ld]; using %ld", name, s,
			   min, max, dflt);
		return dflt;
	}
	return (long)v;
}

size_t smarm__env_size(const char *name, size_t dflt, size_t min, size_t max)
{
	const char *s = getenv(name);
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	if (parse_size(s, &v) < 0 || v < min || v > max) {
		smarm__msg("%s=%s is not a size in [%zu, %zu] bytes; using %zu", name,
			   s, min, max, dflt);
		return dflt;
	}
	return (size_t)v;
}

int smarm__online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
