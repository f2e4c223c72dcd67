/* tcb.c — a TLS block and TCB of its own for every drop-in green thread
 * (DESIGN D2), so errno, __thread variables and glibc's per-thread state
 * (stdio lock owners, locale, ctype tables) belong to the green thread and
 * follow it from carrier to carrier.
 *
 * The block comes from glibc's own allocator for thread TLS,
 * _dl_allocate_tls (GLIBC_PRIVATE in ld.so, reached with dlvsym): it holds
 * the static TLS of every module loaded at start-up, initialised from their
 * images, and a DTV, so dynamic TLS of modules dlopen'ed later is set up
 * lazily by __tls_get_addr as in any thread.  What pthread_create would
 * have filled in by hand we fill in here, checked against glibc 2.36 on
 * x86-64 (offsets into tcbhead_t / struct pthread, verified at start-up
 * where they can be):
 *
 *   0x00 tcb    -> the TCB itself (the thread pointer; mimalloc's thread id)
 *   0x10 self   -> the TCB itself (THREAD_SELF: stdio lock owner)
 *   0x18 multiple_threads        copied
 *   0x28 stack_guard, 0x30 pointer_guard   copied (canary, PTR_MANGLE)
 *   0x2c0 list  an empty list (both links to itself): fork's child takes
 *               the calling thread off glibc's thread list (list_del)
 *   0x2d0 tid   a fake, unique tid (0x40000000 + n): glibc's recursive
 *               locks (the loader's TLS lock) compare owners by tid, and
 *               two green threads on two carriers must never look alike
 *   __rseq_offset + 4: rseq cpu_id = -1, so sched_getcpu() asks the vDSO
 *               (the kernel updates the carrier's own rseq area, not ours)
 *
 * Then, running on the new TCB, __ctype_init() points the ctype TLS
 * pointers at the C locale tables (else isalpha/printf("%f") crash).
 *
 * At the end: C++ thread_local destructors (__call_tls_dtors), then
 * mi_thread_done() (mimalloc keeps one heap per TCB: it identifies threads
 * by the thread pointer), then back to the carrier's TCB and
 * _dl_deallocate_tls.
 *
 * Known gap: a module dlopen'ed after start-up with initial-exec TLS is
 * not initialised in green TCBs (glibc itself only supports that for
 * modules that fit the static TLS surplus); general-dynamic TLS is fine.
 */
#include <dlfcn.h>
#include <mimalloc.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define TCB_TCB 0x00
#define TCB_SELF 0x10
#define TCB_MULTI 0x18
#define TCB_CANARY 0x28
#define TCB_PTRGUARD 0x30
#define TCB_LIST 0x2c0
#define TCB_TID 0x2d0

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static void *(*allocate_tls)(void *mem);
static void (*deallocate_tls)(void *tcb, bool dealloc_tcb);
static void (*ctype_init)(void);
static void (*call_tls_dtors)(void);
static bool tid_ok, list_ok;
static _Atomic int next_tid;

static char *tp(void)
{
	char *p;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(p));
	return p;
}

int smarm__tcb_init(void)
{
	char *t = tp();

	allocate_tls = dlvsym(RTLD_DEFAULT, "_dl_allocate_tls", "GLIBC_PRIVATE");
	deallocate_tls = dlvsym(RTLD_DEFAULT, "_dl_deallocate_tls", "GLIBC_PRIVATE");
	ctype_init = dlvsym(RTLD_DEFAULT, "__ctype_init", "GLIBC_PRIVATE");
	call_tls_dtors = dlvsym(RTLD_DEFAULT, "__call_tls_dtors", "GLIBC_PRIVATE");
	if (!allocate_tls || !deallocate_tls || !ctype_init) {
		smarm__msg("glibc's _dl_allocate_tls/_dl_deallocate_tls/__ctype_init "
			   "not found: drop-in mode needs glibc");
		return -ENOSYS;
	}
	if (*(char **)(t + TCB_TCB) != t || *(char **)(t + TCB_SELF) != t) {
		smarm__msg("unexpected TCB layout (not glibc on x86-64?)");
		return -ENOSYS;
	}
	/* The tid offset is glibc-version specific: use it only if the
	 * calling thread's TCB really holds its tid there. */
	tid_ok = *(int *)(t + TCB_TID) == (int)smarm__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
	/* Likewise the thread-list node: a doubly linked node whose
	 * neighbours point back at it. */
	void **l = (void **)(t + TCB_LIST), **next = l[0], **prev = l[1];
	list_ok = next && prev && next[1] == (void *)l && prev[0] == (void *)l;
	return 0;
}

void *smarm__tcb_new(void)
{
	char *t = tp(), *n = allocate_tls(NULL);

	if (!n)
		return NULL;
	*(char **)(n + TCB_TCB) = n;
	*(char **)(n + TCB_SELF) = n;
	*(int *)(n + TCB_MULTI) = 1;
	*(uintptr_t *)(n + TCB_CANARY) = *(uintptr_t *)(t + TCB_CANARY);
	*(uintptr_t *)(n + TCB_PTRGUARD) = *(uintptr_t *)(t + TCB_PTRGUARD);
	if (list_ok)
		((void **)(n + TCB_LIST))[0] = ((void **)(n + TCB_LIST))[1] = n + TCB_LIST;
	if (tid_ok)
		*(int *)(n + TCB_TID) =
			0x40000000 + (atomic_fetch_add(&next_tid, 1) & 0x3fffffff);
	if (&__rseq_size && __rseq_size >= 8)
		*(int32_t *)(n + __rseq_offset + 4) = -1;
	return n;
}

int smarm__tcb_tid(void)
{
	return tid_ok ? *(int *)(tp() + TCB_TID) : -1;
}

void smarm__tcb_enter(void *tcb)
{
	smarm__fs_enter(tcb);
	ctype_init();
}

void smarm__tcb_leave(void *tcb)
{
	if (call_tls_dtors)
		call_tls_dtors();
	mi_thread_done();
	smarm__fs_enter(NULL);
	deallocate_tls(tcb, true);
}

void smarm__tcb_free(void *tcb)
{
	deallocate_tls(tcb, true);
}

/* A fork's child (runtime/fork.c), on the forking green thread: glibc's
 * fork made this thread's TCB its one thread (the list node at 0x2c0, the
 * tid at 0x2d0 through CLONE_CHILD_SETTID).  Green TCBs stay off glibc's
 * list, as in the parent.  The carrier's own TCB is the parent carrier's
 * pthread, which the child's glibc has forgotten or cached for reuse: the
 * kernel's rseq registration, still pointing into it, is dropped, and the
 * child's carrier gets a new TCB that holds this OS thread's real tid (and
 * the CLEARTID address, set_tid_address), while the green TCB gets a fake
 * one again.  NULL if out of memory.  Never switches. */
void *smarm__tcb_fork_child(void *old_carrier_tcb)
{
	char *g = tp(), *n;

	if (list_ok) {
		void **l = (void **)(g + TCB_LIST), **next = l[0], **prev = l[1];
		next[1] = prev;
		prev[0] = next;
		l[0] = l[1] = l;
	}
	/* glibc 2.36 registers 32 bytes but exports __rseq_size 20: try both. */
	if (&__rseq_size && __rseq_size && old_carrier_tcb &&
	    syscall(SYS_rseq, (char *)old_carrier_tcb + __rseq_offset, __rseq_size,
		    1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053 /* glibc's RSEQ_SIG */) != 0)
		syscall(SYS_rseq, (char *)old_carrier_tcb + __rseq_offset, 32, 1, 0x53053053);
	if (!(n = smarm__tcb_new()))
		return NULL;
	if (tid_ok) {
		*(int *)(n + TCB_TID) = (int)syscall(SYS_set_tid_address, n + TCB_TID);
		*(int *)(g + TCB_TID) = 0x40000000 + (atomic_fetch_add(&next_tid, 1) & 0x3fffffff);
	}
	return n;
}
