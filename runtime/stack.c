/* stack.c — guarded, pooled stacks, each carrying its actor's record.
 *
 * One unit of memory serves one actor:
 *
 *     base                base+GUARD                       base+unit
 *     | guard (no access) | stack, grows down  ...  | record |
 *                         ^ a->stack_lo             ^ struct smarm__actor
 *
 * so a spawn needs one pool pop and no malloc.  Units are carved from
 * regions of up to 2 MiB mapped MAP_NORESERVE: untouched stack costs
 * address space only.  Guards are installed with MADV_GUARD_INSTALL
 * (Linux 6.13+), which marks page table entries and does not split the
 * VMA, so a region costs one VMA however many stacks it holds (and adjacent
 * regions merge).  Without it we fall back to mprotect, which costs two VMAs
 * per stack and so caps a process near vm.max_map_count / 2 stacks; when the
 * kernel refuses a mapping or a split, spawn fails with -EAGAIN and the first
 * failure says which sysctl binds.
 *
 * Pools: one per size class (the default size is its own class; others are
 * rounded up to a power of two so the class count stays small).  Free
 * stacks keep their touched pages (warm) until a pool holds WARM_HIGH of
 * them; then all but WARM are trimmed in one batch, outside the lock
 * (MADV_DONTNEED; guards survive it), and kept on a cold list, so a burst
 * of actors does not pin its peak RSS forever and steady churn of a few
 * thousand actors makes no system call.  Warm stacks are reused first.
 * Each carrier also keeps a small lock-free cache of default-size stacks
 * (owner-only, struct smarm__carrier.stack_cache), which makes the common
 * spawn/exit pair touch no shared cache line.
 *
 * A stack the caller supplies (smarm__stack_adopt; drop-in mode's
 * pthread_attr_setstack) holds its record at its top the same way, has no
 * guard and no pool (a->pool NULL): freeing it only calls the caller's
 * release hook, once the actor that ran on it is dead and switched away.
 *
 * Locks: pools_lock (class lookup) and each pool's lock are leaves.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define GUARD ((size_t)16 << 10)
#define REGION ((size_t)2 << 20)
#define MAX_UNITS 64
#define WARM 1024        /* free stacks kept with their pages */
#define WARM_HIGH 4096   /* beyond this many, trim back to WARM */
#define NCLASS 32
#define RECSZ ((sizeof(struct smarm__actor) + 63) & ~(size_t)63)

struct smarm__stack_pool {
	size_t usable;                  /* class size: usable bytes below the record */
	size_t unit;                    /* guard + usable + record, page multiple */
	smarm__lock_t lock;             /* guards everything below */
	struct smarm__actor *free;      /* warm free stacks through a->next */
	size_t nfree;
	struct smarm__actor *cold;      /* free stacks whose pages went back */
	size_t ncold;
	char *carve;                    /* next unit of the newest region */
	size_t carve_left;              /* units left there */
};

static smarm__lock_t pools_lock = SMARM__LOCK_INIT;
static struct smarm__stack_pool pools[NCLASS];
static int npools;
static size_t page;
static _Atomic int guard_mode;      /* 0 unknown, 1 madvise, 2 mprotect */
static _Atomic int warned;
static _Atomic size_t created;      /* units ever carved */

size_t smarm__stack_guard_size(void)
{
	return GUARD;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static void say_limit(const char *how)
{
	if (atomic_exchange(&warned, 1) == 0)
		smarm__msg("cannot map another actor stack (%s, %zu stacks so far): "
			   "the kernel's vm.max_map_count or the address-space limit "
			   "binds; spawn returns -EAGAIN",
			   how, atomic_load(&created));
}

/* Install the no-access guard at the bottom of one unit. */
static int guard(char *base)
{
	int mode = atomic_load_explicit(&guard_mode, memory_order_relaxed);

	if (mode != 2) {
		if (madvise(base, GUARD, MADV_GUARD_INSTALL) == 0) {
			atomic_store_explicit(&guard_mode, 1, memory_order_relaxed);
			return 0;
		}
		if (errno == ENOMEM) {
			say_limit("madvise guard");
			return -EAGAIN;
		}
		/* EINVAL: an older kernel.  Never ask again. */
		atomic_store_explicit(&guard_mode, 2, memory_order_relaxed);
	}
	if (mprotect(base, GUARD, PROT_NONE) == 0)
		return 0;
	say_limit("mprotect guard");
	return -EAGAIN;
}

static struct smarm__stack_pool *pool_for(size_t usable)
{
	struct smarm__stack_pool *p = NULL;

	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	if (usable != smarm__rt.stack_size) {
		size_t c = 16 << 10;
		while (c < usable)
			c <<= 1;
		usable = c;
	}
	smarm__lock(&pools_lock);
	for (int i = 0; i < npools; i++)
		if (pools[i].usable == usable) {
			p = &pools[i];
			break;
		}
	if (!p && npools < NCLASS) {
		p = &pools[npools++];
		p->usable = usable;
		p->unit = GUARD + round_up(usable + RECSZ, page);
	}
	smarm__unlock(&pools_lock);
	return p;
}

/* A fresh unit from the pool's region, mapping a new region if needed.
 * Called with p->lock held. */
static struct smarm__actor *carve(struct smarm__stack_pool *p, int *err)
{
	char *base;
	struct smarm__actor *a;

	if (p->carve_left == 0) {
		size_t n = REGION / p->unit;
		n = n < 1 ? 1 : n > MAX_UNITS ? MAX_UNITS : n;
		void *m = mmap(NULL, n * p->unit, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
			       -1, 0);
		if (m == MAP_FAILED) {
			*err = errno == ENOMEM ? -EAGAIN : -errno;
			if (*err == -EAGAIN)
				say_limit("mmap");
			return NULL;
		}
		p->carve = m;
		p->carve_left = n;
	}
	base = p->carve;
	if ((*err = guard(base)) < 0)
		return NULL;
	p->carve += p->unit;
	p->carve_left--;
	atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
	a = (struct smarm__actor *)(base + p->unit - RECSZ);
	a->stack_lo = base + GUARD;
	a->stack_size = (char *)a - (char *)a->stack_lo;
	a->pool = p;
	return a;
}

/* Clear the record for its next life, keeping what describes the memory. */
static struct smarm__actor *fresh(struct smarm__actor *a)
{
	void *lo = a->stack_lo;
	size_t size = a->stack_size;
	struct smarm__stack_pool *p = a->pool;

	memset(a, 0, sizeof *a);
	a->stack_lo = lo;
	a->stack_size = size;
	a->pool = p;
#ifdef __SANITIZE_ADDRESS__
	/* A dead actor's frames left their redzones poisoned. */
	ASAN_UNPOISON_MEMORY_REGION(lo, size);
#endif
	return a;
}

struct smarm__actor *smarm__stack_alloc(size_t usable, int *err)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__stack_pool *p;
	struct smarm__actor *a;

	if (usable == 0)
		usable = smarm__rt.stack_size;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	usable = round_up(usable, page);
	if (c && usable == smarm__rt.stack_size && c->nstack_cache > 0)
		return fresh(c->stack_cache[--c->nstack_cache]);
	if (!(p = pool_for(usable))) {
		*err = -ENOMEM;
		return NULL;
	}
	smarm__lock(&p->lock);
	if ((a = p->free)) {
		p->free = a->next;
		p->nfree--;
	} else if ((a = p->cold)) {
		p->cold = a->next;
		p->ncold--;
	} else {
		a = carve(p, err);
	}
	smarm__unlock(&p->lock);
	return a ? fresh(a) : NULL;
}

/* Give back the pages of a free stack, keeping the one that holds the
 * record (guards survive MADV_DONTNEED). */
static void trim(struct smarm__actor *a)
{
	char *lo = a->stack_lo;
	char *keep = (char *)((uintptr_t)a & ~(uintptr_t)(page - 1));

	if (keep > lo)
		madvise(lo, keep - lo, MADV_DONTNEED);
}

void smarm__stack_free(struct smarm__actor *a)
{
	struct smarm__carrier *c = smarm__carrier();
	struct smarm__stack_pool *p = a->pool;
	struct smarm__actor *batch = NULL;

	if (unlikely(!p)) {
		/* The caller's memory (smarm__stack_adopt): tell it only when
		 * the actor has ended (a failed spawn leaves it to the caller);
		 * the last access to the record is the read of release. */
		void (*release)(void *) = a->release;
		if (atomic_load_explicit(&a->state, memory_order_relaxed) == SMARM__DEAD &&
		    release)
			release(a->release_arg);
		return;
	}

	if (c && p->usable == smarm__rt.stack_size &&
	    c->nstack_cache < (int)(sizeof c->stack_cache / sizeof c->stack_cache[0])) {
		c->stack_cache[c->nstack_cache++] = a;
		return;
	}
	smarm__lock(&p->lock);
	a->next = p->free;
	p->free = a;
	if (++p->nfree > WARM_HIGH) {
		/* A burst has ended: detach the excess and trim it outside the
		 * lock, once per stack per burst, not once per exit. */
		struct smarm__actor **pp = &p->free;
		for (size_t i = 0; i < WARM; i++)
			pp = &(*pp)->next;
		batch = *pp;
		*pp = NULL;
		p->nfree = WARM;
	}
	smarm__unlock(&p->lock);
	if (!batch)
		return;
	struct smarm__actor *last = batch;
	size_t n = 0;
	for (struct smarm__actor *x = batch; x; x = x->next) {
		trim(x);
		last = x;
		n++;
	}
	smarm__lock(&p->lock);
	last->next = p->cold;
	p->cold = batch;
	p->ncold += n;
	smarm__unlock(&p->lock);
}

/* Return a carrier's cache to the pools (the carrier is going away). */
void smarm__stack_drain(struct smarm__carrier *c)
{
	while (c->nstack_cache > 0) {
		struct smarm__actor *a = c->stack_cache[--c->nstack_cache];
		struct smarm__stack_pool *p = a->pool;
		smarm__lock(&p->lock);
		a->next = p->free;
		p->free = a;
		p->nfree++;
		smarm__unlock(&p->lock);
	}
}

size_t smarm__stack_nominal(const struct smarm__actor *a)
{
	return a->pool ? a->pool->usable : a->stack_size;
}

struct smarm__actor *smarm__stack_adopt(void *lo, size_t size)
{
	uintptr_t top = (uintptr_t)lo + size;
	struct smarm__actor *a;

	/* glibc accepts PTHREAD_STACK_MIN (16 KiB) with its TCB and TLS in
	 * it; our record is smaller. */
	if (!lo || size < RECSZ + 4096 || top < (uintptr_t)lo)
		return NULL;
	a = (struct smarm__actor *)((top - RECSZ) & ~(uintptr_t)63);
	memset(a, 0, sizeof *a);
	a->stack_lo = lo;
	a->stack_size = (size_t)((char *)a - (char *)lo);
	return a;
}

void smarm__stack_stats(size_t *ncreated, size_t *pooled)
{
	size_t n = 0;

	smarm__lock(&pools_lock);
	for (int i = 0; i < npools; i++)
		n += pools[i].nfree + pools[i].ncold;
	smarm__unlock(&pools_lock);
	if (ncreated)
		*ncreated = atomic_load(&created);
	if (pooled)
		*pooled = n;
}

/* fork.c: a fork's child.  A carrier that does not exist there may have
 * held the pools' locks; each critical section leaves the free lists
 * consistent at every store, so only the locks are reset. */
void smarm__stack_fork_child(void)
{
	pools_lock = (smarm__lock_t)SMARM__LOCK_INIT;
	for (int i = 0; i < NCLASS; i++)
		pools[i].lock = (smarm__lock_t)SMARM__LOCK_INIT;
}
