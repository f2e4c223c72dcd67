/* test_real.c — real, unmodified multi-threaded programs from Debian's
 * packages, run natively and under the preload with one carrier and with
 * two: the bytes they write and their exit status must match.
 *
 * The programs (coreutils' sort, xz-utils' xz, zstd) are test dependencies
 * that .ci/run and ./demo install; a missing one fails its test (it is not
 * skipped).  The input is a deterministic pseudo-random text big enough
 * that each program really starts its worker threads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SMARM_PRELOAD_LIB
#error "the Makefile defines SMARM_PRELOAD_LIB"
#endif

struct out {
	unsigned char *buf;
	size_t len;
	int status;
	char err[2048];
};

/* Make `path` hold `mb` MiB of lines of words from a fixed LCG, so every
 * run (and the native one) sees the same bytes. */
static void make_input(const char *path, size_t mb)
{
	static const char *words[] = {"alpha", "bravo", "charlie", "delta", "echo",
				      "foxtrot", "golf", "hotel", "india", "juliet",
				      "kilo", "lima", "mike", "november", "oscar"};
	FILE *f = fopen(path, "w");
	uint64_t x = 88172645463325252ull;
	size_t n = 0;

	cr_assert(f, "%s: %s", path, strerror(errno));
	while (n < mb << 20) {
		int w = 1 + (int)(x % 7);
		for (int i = 0; i < w; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			n += (size_t)fprintf(f, "%s%s%llu", i ? " " : "", words[(x >> 33) % 15],
					     (unsigned long long)(x >> 50));
		}
		n += (size_t)fprintf(f, "\n");
	}
	cr_assert(fclose(f) == 0);
}

/* Run argv (argv[0] an absolute path) with stdin from `in`; carriers 0:
 * natively, else under the preload with SMARM_THREADS=carriers. */
static struct out run_real(char *const *argv, const char *in, int carriers)
{
	struct out o = {0};
	int out[2], err[2];
	size_t cap = 1 << 20;
	ssize_t n;
	pid_t pid;

	cr_assert(access(argv[0], X_OK) == 0, "%s is not installed (a test dependency: "
					       "see .ci/run)", argv[0]);
	cr_assert(pipe(out) == 0 && pipe(err) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char threads[16];
		int fd = open(in, O_RDONLY);
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		snprintf(threads, sizeof threads, "%d", carriers);
		if (carriers) {
			setenv("SMARM_THREADS", threads, 1);
			setenv("LD_PRELOAD", SMARM_PRELOAD_LIB, 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		alarm(100);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	o.buf = malloc(cap);
	while ((n = read(out[0], o.buf + o.len, cap - o.len)) > 0) {
		o.len += (size_t)n;
		if (o.len == cap)
			o.buf = realloc(o.buf, cap *= 2);
	}
	n = read(err[0], o.err, sizeof o.err - 1);
	o.err[n > 0 ? n : 0] = 0;
	close(out[0]);
	close(err[0]);
	cr_assert(waitpid(pid, &o.status, 0) == pid);
	return o;
}

static void same_bytes(char *const *argv, const char *in)
{
	struct out n = run_real(argv, in, 0);

	cr_assert(WIFEXITED(n.status) && WEXITSTATUS(n.status) == 0,
		  "%s failed natively (%#x): %s", argv[0], n.status, n.err);
	cr_assert(n.len > 0, "%s wrote nothing natively", argv[0]);
	for (int c = 1; c <= 2; c++) {
		struct out p = run_real(argv, in, c);
		cr_expect_eq(p.status, n.status, "%s, %d carrier(s): status %#x, natively %#x: %s",
			     argv[0], c, p.status, n.status, p.err);
		cr_expect(p.len == n.len && memcmp(p.buf, n.buf, n.len) == 0,
			  "%s, %d carrier(s): %zu bytes differ from the native %zu: %s", argv[0],
			  c, p.len, n.len, p.err);
		free(p.buf);
	}
	free(n.buf);
}

static char input[64];

static void setup(void)
{
	snprintf(input, sizeof input, "/tmp/smarm-real-%d.txt", (int)getpid());
	make_input(input, 6);
}

static void teardown(void)
{
	unlink(input);
}

TestSuite(real, .init = setup, .fini = teardown, .timeout = 200);

Test(real, coreutils_sort_parallel)
{
	/* A small buffer makes sort spill and merge in parallel. */
	char *argv[] = {"/usr/bin/sort", "--parallel=4", "-S", "2M", "-T", "/tmp", NULL};
	same_bytes(argv, input);
}

Test(real, xz_threads_compress_and_decompress)
{
	char *c[] = {"/usr/bin/xz", "-T4", "--block-size=512KiB", "-3", "-c", NULL};
	char packed[80], *d[] = {"/usr/bin/xz", "-T4", "-d", "-c", NULL};
	struct out n = run_real(c, input, 0);
	int fd;

	same_bytes(c, input);
	/* Decompress the native output (several blocks: several threads). */
	snprintf(packed, sizeof packed, "%s.xz", input);
	fd = open(packed, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0 && write(fd, n.buf, n.len) == (ssize_t)n.len && close(fd) == 0);
	same_bytes(d, packed);
	unlink(packed);
	free(n.buf);
}

Test(real, zstd_threads)
{
	char *argv[] = {"/usr/bin/zstd", "-T4", "-q", "-c", "--no-progress", NULL};
	same_bytes(argv, input);
}
