/* test_malloc.c — the malloc family of shim/malloc.c: every function hands
 * out memory mimalloc owns (mi_is_in_heap_region), glibc's own internal
 * allocations (strdup, fopen, getline, ...) included; glibc's semantics
 * where they differ from mimalloc's; the definitions the process binds
 * are ours; blocks move between actors, carriers and plain threads.
 *
 * Not built into sanitizer builds (SAN=address), which keep ASan's
 * allocator: see the Makefile. */
#include <criterion/criterion.h>

#ifdef SMARM_MALLOC_SHIM
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(malloc, .timeout = 30);

static bool aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

#define OWNED(p) mi_is_in_heap_region(p)

/* Every entry point once; CHECK-style so it runs in actors as well. */
static void family_once(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	p = malloc(100);
	CHECK(p && OWNED(p));
	CHECK(malloc_usable_size(p) >= 100);
	CHECK_EQ(malloc_usable_size(p), mi_usable_size(p));
	p = realloc(p, 5000);
	CHECK(p && OWNED(p));
	p = reallocarray(p, 100, 100);
	CHECK(p && OWNED(p));
	free(p);

	p = calloc(1000, 8);
	CHECK(p && OWNED(p));
	bool zero = true;
	for (int i = 0; i < 8000; i++)
		zero &= ((unsigned char *)p)[i] == 0;
	CHECK(zero);
	free(p);

	p = NULL;
	CHECK_EQ(posix_memalign(&p, 256, 1000), 0);
	CHECK(p && OWNED(p) && aligned(p, 256));
	free(p);
	p = aligned_alloc(4096, 8192);
	CHECK(p && OWNED(p) && aligned(p, 4096));
	free(p);
	p = memalign(64, 10);
	CHECK(p && OWNED(p) && aligned(p, 64));
	free(p);
	p = valloc(10);
	CHECK(p && OWNED(p) && aligned(p, pg));
	free(p);
	p = pvalloc(1);
	CHECK(p && OWNED(p) && aligned(p, pg));
	CHECK(malloc_usable_size(p) >= pg);
	free(p);
	p = realloc(NULL, 10);
	CHECK(p && OWNED(p));
	free(p);
	/* A large block takes mimalloc's huge path. */
	p = malloc(8 << 20);
	CHECK(p && OWNED(p));
	free(p);
}

Test(malloc, every_entry_point_returns_mimalloc_memory)
{
	family_once();
	cr_assert_eq(atomic_load(&check_failures), 0, "%s", check_first);
}

static void *family_in_actor(void *arg)
{
	family_once();
	return arg;
}

Test(malloc, every_entry_point_returns_mimalloc_memory_in_actors)
{
	rt_run(family_in_actor, NULL, 2);
}

static ssize_t write_cookie(void *c, const char *buf, size_t n)
{
	(void)c, (void)buf;
	return (ssize_t)n;
}

Test(malloc, glibcs_own_allocations_are_mimalloc_memory)
{
	char *s = strdup("hello"), *n = strndup("hello, world", 5), *a = NULL;
	char *line = NULL, *real, *ms = NULL;
	size_t cap = 0, mslen = 0;
	FILE *f, *mem, *ck;

	cr_assert(OWNED(s) && OWNED(n));
	cr_assert_gt(asprintf(&a, "%d-%s", 42, s), 0);
	cr_assert(OWNED(a));
	f = fopen("/proc/self/status", "r");
	cr_assert(f && OWNED(f), "fopen's FILE is not mimalloc's");
	cr_assert_gt(getline(&line, &cap, f), 0);
	cr_assert(OWNED(line), "getline's buffer is not mimalloc's");
	fclose(f);
	real = realpath("/proc/self/..", NULL);
	cr_assert(real && OWNED(real));
	mem = open_memstream(&ms, &mslen);
	cr_assert(mem && OWNED(mem));
	fprintf(mem, "%0200d", 7);
	fclose(mem);
	cr_assert(ms && OWNED(ms) && mslen == 200);
	ck = fopencookie(NULL, "w", (cookie_io_functions_t){.write = write_cookie});
	cr_assert(ck && OWNED(ck));
	fclose(ck);
	free(s), free(n), free(a), free(line), free(real), free(ms);
}

Test(malloc, the_process_binds_our_definitions)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

	cr_assert(libc);
	cr_assert_eq(dlsym(RTLD_DEFAULT, "malloc"), (void *)malloc);
	cr_assert_eq(dlsym(RTLD_DEFAULT, "free"), (void *)free);
	cr_assert_eq(dlsym(RTLD_DEFAULT, "posix_memalign"), (void *)posix_memalign);
	cr_assert_neq(dlsym(libc, "malloc"), (void *)malloc);
	/* What we do not define ourselves (__libc_malloc ...) must come from
	 * mimalloc, which precedes libc in the lookup order. */
	void *lm = dlsym(RTLD_DEFAULT, "__libc_malloc");
	cr_assert(lm && lm != dlsym(libc, "__libc_malloc"));
	void *p = ((void *(*)(size_t))lm)(10);
	cr_assert(OWNED(p));
	free(p);
	dlclose(libc);
}

Test(malloc, glibc_semantics_where_mimalloc_differs)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p = malloc(10), *q;

	/* realloc(p, 0) frees and returns NULL, as glibc's does. */
	cr_assert_null(realloc(p, 0));
	p = malloc(10);
	cr_assert_null(reallocarray(p, 0, 5));
	/* Overflow: NULL and ENOMEM (sizes through a volatile: GCC rejects
	 * the constant ones at compile time). */
	volatile size_t huge = SIZE_MAX / 2;
	errno = 0;
	cr_assert_null(reallocarray(NULL, huge, 3));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(calloc(huge, 3));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(pvalloc(huge * 2 - 8));
	cr_assert_eq(errno, ENOMEM);
	/* posix_memalign returns the error, leaves errno and *out alone. */
	q = (void *)0x1;
	errno = 0;
	cr_assert_eq(posix_memalign(&q, 24, 10), EINVAL);
	cr_assert_eq(posix_memalign(&q, 4, 10), EINVAL, "not a multiple of sizeof(void *)");
	cr_assert_eq(q, (void *)0x1);
	cr_assert_eq(errno, 0);
	/* memalign and aligned_alloc round an odd alignment up (glibc 2.36). */
	p = memalign(24, 100);
	cr_assert(p && aligned(p, 32));
	free(p);
	p = aligned_alloc(48, 100);
	cr_assert(p && aligned(p, 64));
	free(p);
	p = pvalloc(pg + 1);
	cr_assert(malloc_usable_size(p) >= 2 * pg);
	free(p);
	/* malloc(0) is a unique pointer; free(NULL) is nothing. */
	p = malloc(0);
	q = malloc(0);
	cr_assert(p && q && p != q);
	free(p), free(q);
	free(NULL);
	cr_assert_eq(malloc_usable_size(NULL), 0);
	/* free leaves errno alone (POSIX 2024, glibc >= 2.33). */
	errno = EILSEQ;
	for (int i = 0; i < 1000; i++)
		free(malloc((size_t)i * 4096));
	cr_assert_eq(errno, EILSEQ);
}

/* ---- blocks freed far from where they were allocated ------------------------ */

#define ROUNDS 20000
static void *volatile mailbox[64];

static void *pthread_side(void *arg)
{
	(void)arg;
	/* Frees whatever the actors left, allocates for them. */
	for (int r = 0; r < ROUNDS; r++) {
		int i = r % 64;
		void *p = __atomic_exchange_n(&mailbox[i], NULL, __ATOMIC_ACQ_REL);
		free(p);
		p = malloc(32 + (size_t)r % 300);
		p = __atomic_exchange_n(&mailbox[i], p, __ATOMIC_ACQ_REL);
		free(p);
	}
	return NULL;
}

static void *actor_side(void *arg)
{
	for (int r = 0; r < ROUNDS; r++) {
		int i = (r * 7 + (int)(uintptr_t)arg) % 64;
		void *p = __atomic_exchange_n(&mailbox[i], malloc(16 + (size_t)r % 500),
		                              __ATOMIC_ACQ_REL);
		CHECK(p == NULL || OWNED(p));
		free(p);
		if (r % 64 == 0)
			smarm_yield();
	}
	return NULL;
}

static void *root_cross(void *arg)
{
	pthread_t t;
	smarm_pid_t a[4];
	(void)arg;

	pthread_create(&t, NULL, pthread_side, NULL);
	for (int i = 0; i < 4; i++)
		a[i] = rt_spawn(actor_side, (void *)(uintptr_t)i, "alloc", 0);
	for (int i = 0; i < 4; i++)
		rt_join(a[i]);
	pthread_join(t, NULL);
	for (int i = 0; i < 64; i++)
		free(mailbox[i]);
	return NULL;
}

Test(malloc, blocks_cross_actors_carriers_and_threads)
{
	struct smarm_config cfg = {.carriers = 2, .preempt = SMARM_PREEMPT_SIGNAL,
	                           .slice = SMARM_USEC(200)};
	int rc = smarm_run(root_cross, NULL, &cfg, NULL);

	cr_assert_eq(rc, 0);
	cr_assert_eq(atomic_load(&check_failures), 0, "%s", check_first);
}

#endif /* SMARM_MALLOC_SHIM */
