/* strict_audit.c — SMARM_STRICT=audit: which calls in this program would
 * stall a carrier.  strict.c's handler calls smarm__strict_audit_note for
 * every trapped call a green thread makes, then makes the call natively.
 *
 * A call site is (system call, caller): the caller is the first return
 * address on the trapped stack that lies in the executable code of an
 * object other than libc, the loader and mimalloc (smarm's malloc), and
 * follows a call instruction —
 * the program's function (or another library's) that called into libc:
 * for fgets on a pipe, the function that called fgets, not glibc's
 * _IO_file_underflow.  The stack is scanned upwards from the trapped RSP,
 * within the green thread's stack, for at most SCAN words
 * (smarm__strict_site).  A caller in smarm itself is the runtime's own use
 * of libc (the pool's condition variable): audit does not report it.  The
 * scan is a heuristic — a stale word that looks like a return address can
 * stand for the caller — so it only names and filters reports; park mode
 * never decides by it (strict.c).
 * Each site is reported the first time, with the libc function that made
 * the call and the green thread, and counted; a summary follows at exit.
 * Names come from dladdr: a program's own functions have names only if it
 * exports them (-rdynamic); otherwise object+offset.
 *
 * The site table is fixed (SITES entries, open addressing); past that, calls
 * are counted as "other sites".  Insertions take `lock`, which is never
 * held across anything that traps or switches.  Never switches.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>

#include "shim.h"

#define SITES 256
#define SCAN 512
#define MAXSEG 64

struct site {
	_Atomic long count;     /* 0: the slot is free */
	long nr;                /* [lock] */
	uintptr_t caller;       /* [lock] 0: none found */
	uintptr_t ip;           /* [lock] the libc code that made the call */
};

static struct site sites[SITES];
static _Atomic long other;
static smarm__lock_t lock = SMARM__LOCK_INIT;

/* Executable segments of the objects loaded at start-up: where a caller may
 * be.  [init] */
static struct seg {
	uintptr_t lo, hi;
	int kind;               /* enum below */
} segs[MAXSEG];
static int nsegs;
enum { K_CALLER, K_LIBC, K_SMARM }; /* libc and the loader are looked through */

static const char *sysname(long nr)
{
	switch (nr) {
	case SYS_read: return "read";
	case SYS_write: return "write";
	case SYS_readv: return "readv";
	case SYS_writev: return "writev";
	case SYS_recvfrom: return "recvfrom";
	case SYS_sendto: return "sendto";
	case SYS_recvmsg: return "recvmsg";
	case SYS_sendmsg: return "sendmsg";
	case SYS_poll: return "poll";
	case SYS_ppoll: return "ppoll";
	case SYS_select: return "select";
	case SYS_pselect6: return "pselect6";
	case SYS_epoll_wait: return "epoll_wait";
	case SYS_epoll_pwait: return "epoll_pwait";
	case SYS_epoll_pwait2: return "epoll_pwait2";
	case SYS_nanosleep: return "nanosleep";
	case SYS_clock_nanosleep: return "clock_nanosleep";
	case SYS_wait4: return "wait4";
	case SYS_waitid: return "waitid";
	case SYS_futex: return "futex";
	}
	return "?";
}

static int seg_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	int kind = strstr(name, "libsmarm_preload")                  ? K_SMARM
		   : strstr(name, "/libc.so") || strstr(name, "/ld-linux") ||
			     strstr(name, "libmimalloc") ||
			     strstr(name, "linux-vdso")              ? K_LIBC
								     : K_CALLER;

	(void)size, (void)arg;
	for (int i = 0; i < info->dlpi_phnum && nsegs < MAXSEG; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		segs[nsegs].lo = info->dlpi_addr + ph->p_vaddr;
		segs[nsegs].hi = segs[nsegs].lo + ph->p_memsz;
		segs[nsegs].kind = kind;
		nsegs++;
	}
	return 0;
}

/* The kind of code w returns into, if it is a return address (it follows a
 * call instruction in an executable segment); -1 otherwise. */
static int ret_kind(uintptr_t w)
{
	for (int i = 0; i < nsegs; i++) {
		const unsigned char *p = (const unsigned char *)w;
		if (w < segs[i].lo + 7 || w >= segs[i].hi)
			continue;
		/* call rel32; call *%reg / *(%reg); call *disp8(%reg);
		 * call *disp32(%rip) or *disp32(%reg). */
		if (p[-5] == 0xe8 || (p[-2] == 0xff && (p[-1] & 0x38) == 0x10) ||
		    (p[-3] == 0xff && (p[-2] & 0x38) == 0x10) ||
		    (p[-6] == 0xff && (p[-5] & 0x38) == 0x10))
			return segs[i].kind;
		return -1;
	}
	return -1;
}

int smarm__strict_site(uintptr_t sp, uintptr_t *caller)
{
	struct smarm__actor *a = smarm__self();
	uintptr_t hi;

	*caller = 0;
	if (!a)
		return SMARM__SITE_UNKNOWN;
	hi = (uintptr_t)a->stack_lo + a->stack_size;
	/* On another stack (a program's signal handler on its sigaltstack):
	 * not a frame that may park, nor memory we know the bounds of. */
	if (sp < (uintptr_t)a->stack_lo || sp >= hi)
		return SMARM__SITE_OFFSTACK;
	for (int i = 0; i < SCAN && sp + 8 <= hi; i++, sp += 8) {
		uintptr_t w = *(const uintptr_t *)sp;
		switch (ret_kind(w)) {
		case K_CALLER:
			*caller = w;
			return SMARM__SITE_PROGRAM;
		case K_SMARM:
			*caller = w;
			return SMARM__SITE_SMARM;
		}
	}
	return SMARM__SITE_UNKNOWN;
}

/* "name+0xoff (object)" for a code address. */
static void describe(char *buf, size_t len, uintptr_t pc)
{
	Dl_info di;

	if (pc && dladdr((void *)pc, &di) && di.dli_fname) {
		const char *obj = strrchr(di.dli_fname, '/');
		obj = obj ? obj + 1 : di.dli_fname;
		if (di.dli_sname)
			smarm__fmt(buf, len, "%s+%#lx (%s)", di.dli_sname,
				   (unsigned long)(pc - (uintptr_t)di.dli_saddr), obj);
		else
			smarm__fmt(buf, len, "%s+%#lx", obj,
				   (unsigned long)(pc - (uintptr_t)di.dli_fbase));
		return;
	}
	smarm__fmt(buf, len, "%p", (void *)pc);
}

void smarm__strict_audit_note(long nr, uintptr_t ip, uintptr_t caller)
{
	uintptr_t h = (caller ^ (ip * 31) ^ (uintptr_t)nr) * 0x9e3779b97f4a7c15ull;
	struct site *s = NULL;
	char where[160], via[160];

	smarm__lock(&lock);
	for (int i = 0, k = (int)(h >> 56); i < SITES; i++) {
		struct site *t = &sites[(k + i) % SITES];
		if (atomic_load_explicit(&t->count, memory_order_relaxed) == 0) {
			t->nr = nr;
			t->caller = caller;
			t->ip = ip;
			atomic_store_explicit(&t->count, 1, memory_order_relaxed);
			s = t;
			break;
		}
		if (t->nr == nr && t->caller == caller && t->ip == ip) {
			atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
			smarm__unlock(&lock);
			return;
		}
	}
	smarm__unlock(&lock);
	if (!s) {
		atomic_fetch_add_explicit(&other, 1, memory_order_relaxed);
		return;
	}
	describe(where, sizeof where, caller);
	describe(via, sizeof via, ip);
	smarm__msg("strict audit: %s(2) from %s via %s, in green thread %lu: would block "
		   "its carrier", sysname(nr), caller ? where : "(no caller found)", via,
		   (unsigned long)smarm_self());
}

static void summary(void)
{
	char where[160];
	long n = 0;

	for (int i = 0; i < SITES; i++)
		n += atomic_load_explicit(&sites[i].count, memory_order_relaxed) != 0;
	smarm__msg("strict audit: %ld call site%s made blocking calls outside smarm", n,
		   n == 1 ? "" : "s");
	for (int i = 0; i < SITES; i++) {
		struct site *s = &sites[i];
		long c = atomic_load_explicit(&s->count, memory_order_relaxed);
		if (!c)
			continue;
		describe(where, sizeof where, s->caller);
		smarm__msg("strict audit:   %6ld x %s(2) from %s", c, sysname(s->nr),
			   s->caller ? where : "(no caller found)");
	}
	if (atomic_load(&other))
		smarm__msg("strict audit:   %6ld x at other sites (table full)",
			   atomic_load(&other));
}

void smarm__strict_sites_init(bool audit)
{
	dl_iterate_phdr(seg_cb, NULL);
	if (audit)
		atexit(summary);
}
