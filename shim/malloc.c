/* malloc.c — the whole malloc family, served by mimalloc, each call a
 * preemption point.
 *
 * Linked into libsmarm (and later the preload), these definitions replace
 * glibc's for the whole process: the program's calls, and libc's own
 * (strdup, fopen, getline ... reach malloc through the PLT and so get
 * ours).  Every function that can return or receive a heap pointer is here
 * — glibc would otherwise hand a mimalloc pointer to its own free — and
 * libmimalloc.so.2, which itself exports the family and the __libc_* and
 * C++ operator names, sits before libc in the lookup order as a second net.
 *
 * Preemption: each call first tests the carrier's request word (a TLS
 * load and a compare or two: preempt.c).  Only when it is set does the
 * slow path look further, and it yields only if the call came from the
 * program's own code, so never while the runtime, libc or another library
 * (which may hold a lock) is the caller, and never inside mimalloc: before
 * the mi_* call for those that allocate, after it for free (a safe point
 * is also where an actor asked to stop ends, and neither a new block nor
 * one being freed may be lost there).
 *
 * glibc semantics kept where mimalloc differs: realloc(p, 0) frees p and
 * returns NULL; memalign and aligned_alloc round an alignment that is not a
 * power of two up to one; pvalloc rounds the size up to a page; an
 * overflowing calloc or reallocarray fails with ENOMEM.
 *
 * Not built under ASan (SAN=address): the sanitizer's allocator must stay
 * the one in charge; preemption points are then SMARM_CHECK, yield and
 * SIGURG only.
 */
#include <errno.h>
#include <malloc.h>
#include <mimalloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* No frame pointer, and the slow path a tail call of its own: the fast path
 * is then a TLS load, two tests and a jump to mimalloc, with no frame. */
#define ALLOC_API SMARM_API __attribute__((optimize("omit-frame-pointer")))
#define SLOW static __attribute__((noinline, cold))
#define RA __builtin_return_address(0)

/* Is a preemption request pending on this thread's carrier?  Laid out for
 * the common case, a call from an actor with no request: both branches
 * fall through. */
static inline bool pending(void)
{
	struct smarm__carrier *c = smarm__tls_carrier;

	return likely(c != NULL) &&
	       unlikely(atomic_load_explicit(&c->preempt, memory_order_relaxed) != 0);
}

static bool pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* glibc's memalign (and, in 2.36, aligned_alloc): an alignment that is not
 * a power of two is rounded up; one too large to round fails with EINVAL. */
static void *memalign_any(size_t align, size_t size)
{
	if (!pow2(align)) {
		if (align > SIZE_MAX / 2 + 1) {
			errno = EINVAL;
			return NULL;
		}
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return mi_malloc_aligned(size, align);
}

static size_t page_size(void)
{
	static size_t pg;

	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

static inline void *calloc_body(size_t n, size_t size)
{
	size_t total;

	if (unlikely(__builtin_mul_overflow(n, size, &total))) {
		errno = ENOMEM; /* glibc's; mimalloc's is not */
		return NULL;
	}
	return mi_calloc(n, size);
}

static inline void *realloc_body(void *p, size_t size)
{
	if (size == 0 && p) {
		mi_free(p);
		return NULL;
	}
	return mi_realloc(p, size);
}

static inline void *reallocarray_body(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_body(p, total);
}

static inline int posix_memalign_body(void **out, size_t align, size_t size)
{
	void *p;

	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	if (!(p = mi_malloc_aligned(size, align)))
		return ENOMEM;
	*out = p;
	return 0;
}

static inline void *pvalloc_body(size_t size)
{
	size_t pg = page_size();

	if (size > SIZE_MAX - pg) {
		errno = ENOMEM;
		return NULL;
	}
	return mi_malloc_aligned(size ? (size + pg - 1) & ~(pg - 1) : pg, pg);
}

/* ---- the slow paths: honour the request, then do the call ---- */

SLOW void *malloc_slow(size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return mi_malloc(size);
}

/* After the free: the safe point is also where an actor asked to stop ends
 * (the failure model), and the block must not be lost then. */
SLOW void free_slow(void *p, const void *ra)
{
	mi_free(p);
	smarm__preempt_alloc(ra);
}

SLOW void *calloc_slow(size_t n, size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return calloc_body(n, size);
}

SLOW void *realloc_slow(void *p, size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return realloc_body(p, size);
}

SLOW void *reallocarray_slow(void *p, size_t n, size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return reallocarray_body(p, n, size);
}

SLOW int posix_memalign_slow(void **out, size_t align, size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return posix_memalign_body(out, align, size);
}

SLOW void *memalign_slow(size_t align, size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return memalign_any(align, size);
}

SLOW void *pvalloc_slow(size_t size, const void *ra)
{
	smarm__preempt_alloc(ra);
	return pvalloc_body(size);
}

SLOW size_t usable_slow(void *p, const void *ra)
{
	smarm__preempt_alloc(ra);
	return mi_usable_size(p);
}

/* ---- the family ---- */

ALLOC_API void *malloc(size_t size)
{
	if (pending())
		return malloc_slow(size, RA);
	return mi_malloc(size);
}

ALLOC_API void free(void *p)
{
	if (pending()) {
		free_slow(p, RA);
		return;
	}
	mi_free(p);
}

ALLOC_API void *calloc(size_t n, size_t size)
{
	if (pending())
		return calloc_slow(n, size, RA);
	return calloc_body(n, size);
}

ALLOC_API void *realloc(void *p, size_t size)
{
	if (pending())
		return realloc_slow(p, size, RA);
	return realloc_body(p, size);
}

ALLOC_API void *reallocarray(void *p, size_t n, size_t size)
{
	if (pending())
		return reallocarray_slow(p, n, size, RA);
	return reallocarray_body(p, n, size);
}

ALLOC_API int posix_memalign(void **out, size_t align, size_t size)
{
	if (pending())
		return posix_memalign_slow(out, align, size, RA);
	return posix_memalign_body(out, align, size);
}

ALLOC_API void *memalign(size_t align, size_t size)
{
	if (pending())
		return memalign_slow(align, size, RA);
	return memalign_any(align, size);
}

ALLOC_API void *aligned_alloc(size_t align, size_t size)
{
	if (pending())
		return memalign_slow(align, size, RA);
	return memalign_any(align, size);
}

ALLOC_API void *valloc(size_t size)
{
	if (pending())
		return memalign_slow(page_size(), size, RA);
	return mi_malloc_aligned(size, page_size());
}

ALLOC_API void *pvalloc(size_t size)
{
	if (pending())
		return pvalloc_slow(size, RA);
	return pvalloc_body(size);
}

ALLOC_API size_t malloc_usable_size(void *p)
{
	if (pending())
		return usable_slow(p, RA);
	return mi_usable_size(p);
}

/* Gone from glibc's API since 2.26, but old binaries still bind it. */
ALLOC_API void cfree(void *p)
{
	if (pending()) {
		free_slow(p, RA);
		return;
	}
	mi_free(p);
}
