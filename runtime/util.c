/* util.c — messages, assertions, the clock, and reading the environment.
 *
 * smarm__msg formats into a stack buffer and writes it with one write(2), so
 * it is usable from a signal handler (vsnprintf with the plain integer and
 * string conversions does not allocate in glibc) and lines from several
 * carriers never interleave.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

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
