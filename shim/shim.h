/* shim.h — declarations shared by the pthread shim's files (drop-in mode).
 *
 * The shim replaces libc's pthread and sleep functions with ones built on
 * the runtime (runtime/internal.h); preload/ decides when it is active.
 * Layering: preload -> shim -> runtime, never back.
 *
 * A drop-in green thread is an actor plus a struct gthread (thread.c) plus
 * its own TLS block and TCB (tcb.c).  pthread_t is the gthread's address.
 */
#ifndef SMARM_SHIM_H
#define SMARM_SHIM_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"

/* ---- real.c: the libc functions the shim replaces, for the shim itself
 * and for the runtime (whose references to these names are renamed to
 * smarm__real_<name> in the preload build: Makefile, preload/real.syms). */
int smarm__real_pthread_create(pthread_t *t, const pthread_attr_t *a,
			       void *(*fn)(void *), void *arg);
int smarm__real_pthread_join(pthread_t t, void **v);
pthread_t smarm__real_pthread_self(void);
int smarm__real_pthread_getattr_np(pthread_t t, pthread_attr_t *a);
int smarm__real_pthread_mutex_lock(pthread_mutex_t *m);
int smarm__real_pthread_mutex_unlock(pthread_mutex_t *m);
int smarm__real_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int smarm__real_pthread_cond_destroy(pthread_cond_t *c);
int smarm__real_pthread_cond_signal(pthread_cond_t *c);
int smarm__real_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				       const struct timespec *ts);
int smarm__real_pthread_once(pthread_once_t *o, void (*fn)(void));
int smarm__real_sched_yield(void);
int smarm__real_pthread_setname_np(pthread_t t, const char *name);
int smarm__real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int smarm__real_pthread_sigqueue(pthread_t t, int sig, const union sigval v);
int smarm__real_pthread_getcpuclockid(pthread_t t, clockid_t *id);
int smarm__real_nanosleep(const struct timespec *req, struct timespec *rem);
int smarm__real_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
				struct timespec *rem);
int smarm__real_pthread_key_create(pthread_key_t *k, void (*dtor)(void *));
int smarm__real_pthread_key_delete(pthread_key_t k);
void *smarm__real_pthread_getspecific(pthread_key_t k);
int smarm__real_raise(int sig);
int smarm__real_pthread_setspecific(pthread_key_t k, const void *v);
/* fd I/O, poll and name lookup (io.c, poll.c, netdb.c). */
struct epoll_event;
struct addrinfo;
ssize_t smarm__real_read(int fd, void *b, size_t n);
ssize_t smarm__real_write(int fd, const void *b, size_t n);
ssize_t smarm__real_pread(int fd, void *b, size_t n, off_t off);
int smarm__real_close(int fd);
int smarm__real_epoll_wait(int epfd, struct epoll_event *ev, int max, int ms);
int smarm__real_epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			     const struct timespec *ts, const sigset_t *m);
int smarm__real_eventfd(unsigned int v, int flags);
int smarm__real_epoll_create1(int flags);
int smarm__real_pipe2(int fds[2], int flags);
int smarm__real_getaddrinfo(const char *node, const char *serv,
			    const struct addrinfo *hints, struct addrinfo **res);
/* The runtime's syscall() calls, renamed (real.syms): libc's (tid.c). */
long smarm__real_syscall(long nr, long a, long b, long c, long d, long e, long f);
/* Look a libc symbol up (RTLD_NEXT); aborts naming it if absent. */
void *smarm__real(const char *name);
/* libc's definition of a function the shim wraps, looked up once per call
 * site (RTLD_NEXT) and typed from libc's own prototype:
 * REAL_FN(read)(fd, b, n).  The way to reach libc's version where its
 * prototype is in scope; SMARM_REAL_FN below where it is not. */
#define REAL_FN(name)                                                          \
	({                                                                     \
		static __typeof__(name) *_Atomic fp_;                          \
		__typeof__(name) *f_ = atomic_load_explicit(&fp_, memory_order_relaxed); \
		if (!f_) {                                                     \
			f_ = (__typeof__(name) *)smarm__real(#name);           \
			atomic_store_explicit(&fp_, f_, memory_order_relaxed); \
		}                                                              \
		f_;                                                            \
	})
/* Define `static ret (*real_<name>(void)) params`: libc's <name>, looked up
 * on first use and cached (a race looks it up twice, same value). */
#define SMARM_REAL_FN(ret, name, params)                                       \
	static ret(*real_##name(void)) params                                  \
	{                                                                      \
		static ret(*_Atomic fp) params;                                \
		ret(*f) params = atomic_load_explicit(&fp, memory_order_relaxed); \
		if (!f) {                                                      \
			f = (ret(*) params)smarm__real(#name);                 \
			atomic_store_explicit(&fp, f, memory_order_relaxed);   \
		}                                                              \
		return f;                                                      \
	}

/* ---- tcb.c: a TLS block + TCB per green thread (DESIGN D2) ---- */
/* Check glibc's private interface once, before any thread; -ENOSYS with a
 * message if it is missing.  Never switches. */
int smarm__tcb_init(void);
/* A new TCB for a green thread (NULL: out of memory).  Never switches. */
void *smarm__tcb_new(void);
/* Switch the calling actor onto tcb and finish setting it up there
 * (__ctype_init).  Never switches. */
void smarm__tcb_enter(void *tcb);
/* The calling actor's thread is ending: run C++ thread_local destructors,
 * give mimalloc its heap back, switch back to the carrier's TCB and free
 * tcb.  Never switches. */
void smarm__tcb_leave(void *tcb);
/* The id the calling thread's TCB carries (a green thread's is unique and
 * fake: see tcb.c), or -1 if glibc's layout hid it.  Never switches. */
int smarm__tcb_tid(void);
/* Free a TCB that never ran.  Never switches. */
void smarm__tcb_free(void *tcb);
/* In a fork's child, on the forking green thread: a new TCB for the
 * carrier (see tcb.c).  NULL: out of memory.  Never switches. */
void *smarm__tcb_fork_child(void *old_carrier_tcb);

/* ---- thread.c ---- */
struct gthread;
/* The preload's main(): run main(argc, argv, envp) as the root green
 * thread with an 8 MiB stack; returns its status (exit() ends the process
 * from inside, as natively).  Never returns while threads run. */
int smarm__shim_run_main(int (*main_fn)(int, char **, char **), int argc, char **argv,
			 char **envp, const struct smarm_config *cfg);
/* Default pthread stack (no attr): set by the preload's config. */
extern size_t smarm__shim_stack_size;

/* ---- thread.c, for cancel.c and attr.c ---- */
/* Cancellation state of a drop-in green thread (cancel.c's header says how
 * it works).  Lives in the gthread; fields marked [self] are touched only
 * by the thread itself. */
struct smarm__shim_cancel {
	_Atomic bool requested; /* [any] pthread_cancel was called for it */
	bool disabled;          /* [self] PTHREAD_CANCEL_DISABLE */
	bool async;             /* [self] PTHREAD_CANCEL_ASYNCHRONOUS (acts as
	                         * deferred: cancel.c) */
	bool window;            /* [self] parked inside a cancellation point:
	                         * stop requests are not deferred */
	bool unwinding;         /* [self] cancelled or in pthread_exit: cleanup
	                         * handlers are running, no more cancellation */
	void *value;            /* [self] the exit value once unwinding */
	void *top;              /* [self] innermost __pthread_unwind_buf_t */
	struct _pthread_cleanup_buffer *old_top; /* [self] innermost old-ABI
	                         * _pthread_cleanup_push buffer */
	_Alignas(16) unsigned char exc[64]; /* [self] the forced unwind's
	                         * struct _Unwind_Exception: never on the stack
	                         * being unwound */
};
/* The calling green thread's cancellation state; NULL if the caller is not
 * a drop-in green thread.  Never switches. */
struct smarm__shim_cancel *smarm__shim_cancel_self(void);
/* t's cancellation state and pid.  Never switch. */
struct smarm__shim_cancel *smarm__shim_cancel_of(pthread_t t);
smarm_pid_t smarm__shim_pid_of(pthread_t t);
/* The end of the calling green thread once its cleanup handlers have run:
 * key and TLS destructors, its TCB, then the actor ends with v.  May
 * switch; never returns. */
__attribute__((noreturn)) void smarm__shim_thread_exit(void *v);
/* t's green stack (lowest usable byte, usable size) and whether it is
 * detached, for pthread_getattr_np (attr.c).  Never switch. */
void smarm__shim_stack_of(pthread_t t, void **lo, size_t *size);
bool smarm__shim_detached(pthread_t t);
/* t runs on a program-supplied stack (no guard).  Never switches. */
bool smarm__shim_own_stack(pthread_t t);

/* ---- cancel.c: cancellation points (deferred cancellation) ----
 * Any wrapper of a call POSIX lists as a cancellation point does:
 *
 *	bool cp = smarm__shim_cancel_begin();   acts on a pending cancel;
 *	                                        opens the park to one
 *	r = <park: a runtime wait>;             -ECANCELED when cancelled
 *	smarm__shim_cancel_end(cp);
 *	if (r == -ECANCELED) smarm__shim_testcancel();
 *
 * Between begin and end nothing may pass a runtime exit point
 * (smarm_yield, smarm_sleep): a cancel there would end the actor without
 * its cleanup handlers.  A wrapper that cannot let its park be cut short
 * calls only smarm__shim_testcancel() before it.  All three are no-ops for
 * callers that are not drop-in green threads. */
/* Act on a pending, enabled cancel: run the cleanup handlers and end the
 * thread with PTHREAD_CANCELED (never returns then).  May switch. */
void smarm__shim_testcancel(void);
/* A cancel is pending and enabled: the next point acts.  Never switches. */
bool smarm__shim_cancel_pending(void);
bool smarm__shim_cancel_begin(void);
void smarm__shim_cancel_end(bool opened);
/* pthread_exit: run the cleanup handlers (forced unwinding), then
 * smarm__shim_thread_exit(v).  May switch; never returns. */
__attribute__((noreturn)) void smarm__shim_unwind(void *v);
/* ---- strict.c, strict_proc.c: SMARM_STRICT, a seccomp net under the
 * wrappers (issue 9; strict.c's header).  Process creation must never
 * happen on a filtered carrier (the child would inherit the filter and die
 * of SIGSYS after exec): strict_proc.c routes it through
 * smarm__strict_clean_call and smarm__strict_fork, which shim/proc.c (the
 * default mode's process wrappers) should call too when
 * smarm__strict_filtered(). */
/* Read SMARM_STRICT and, if asked and possible, get strict mode ready:
 * before the runtime starts (on the process's first thread).  Never
 * switches. */
void smarm__strict_init(void);
/* Is strict mode (park or audit) on?  Never switches. */
bool smarm__strict_active(void);
/* Is the calling OS thread a carrier that carries the filter?  Never
 * switches. */
bool smarm__strict_filtered(void);
/* Run fn(arg) on a pool thread (never filtered) with the caller's signal
 * mask, parking the caller; returns fn's result.  Green threads only.
 * May switch. */
void *smarm__strict_clean_call(void *(*fn)(void *), void *arg);
/* fork() for a green thread on a filtered carrier: the fork happens on a
 * pool thread, and the child goes on in the caller's code (on the copy of
 * that pool thread and its TLS).  May switch. */
pid_t smarm__strict_fork(void);
int smarm__real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t smarm__real_signal(int sig, sighandler_t h);
/* strict_serve.c: a trapped call made by a green thread, served by the
 * runtime (park mode): returns what the kernel would (>= 0 or -errno).
 * args: rdi rsi rdx r10 r8 r9.  May switch. */
long smarm__strict_serve(long nr, const long args[6]);
/* strict_audit.c: who made a trapped call: the first return address on
 * the green stack above sp outside libc (*caller) and whether it is smarm's
 * own code; OFFSTACK if sp is not on the calling green thread's stack.
 * Never switches; async-signal-safe. */
enum { SMARM__SITE_UNKNOWN, SMARM__SITE_PROGRAM, SMARM__SITE_SMARM, SMARM__SITE_OFFSTACK };
int smarm__strict_site(uintptr_t sp, uintptr_t *caller);
/* Note a trapped call at ip from caller (audit mode).  Never switches. */
void smarm__strict_audit_note(long nr, uintptr_t ip, uintptr_t caller);
/* Learn where the loaded objects' code is; audit: a summary at exit. */
void smarm__strict_sites_init(bool audit);
/* ---- signal.c: signals per green thread (see its header) ---- */
/* An interruptible wait: listed while the thread waits, so a signal meant
 * for it wakes it with -EINTR.  Lives on the waiter's stack. */
struct smarm__intr {
	struct smarm__intr *next, **pprev;  /* [wl] on the waiters list */
	struct smarm__actor *a;             /* the waiting thread */
	uint64_t accept;                    /* signals that interrupt (handler runs) */
	uint64_t waitset;                   /* signals it waits for (sigwait) */
	int sig;                            /* the signal that woke it, 0: none */
	int64_t when;                       /* when it was woken for it */
	bool restart;                       /* its action had SA_RESTART then */
};
/* Park the calling green thread like smarm__park(deadline), listed as
 * interruptible: a signal in `accept` whose handler will run (process- or
 * thread-directed), or one in `waitset`, wakes it with -EINTR (w->sig says
 * which).  Other results as smarm__park's.  accept is usually the thread's
 * unblocked signals: ~smarm__self()->sigmask.  May switch. */
intptr_t smarm__shim_park_intr(struct smarm__intr *w, int64_t deadline, uint64_t accept,
			       uint64_t waitset);
/* For a wait that parks inside other code (io.c's fd waits): list the
 * caller as interruptible around it.  A signal that comes while it waits
 * wakes it with -EINTR (smarm__wake), which the wait returns; intr_end says
 * which signal (0: none), and intr_restarts whether the call should be
 * restarted (SA_RESTART) or return EINTR.  A signal between intr_begin and the
 * park itself only runs its handler (the wait is not cut short), as with a
 * signal just before a native blocking call.  Only around a park whose
 * caller treats any negative wake value as the end of its wait.  Never
 * switch. */
void smarm__shim_intr_begin(struct smarm__intr *w);
int smarm__shim_intr_end(struct smarm__intr *w);
/* Does signal sig's handler ask for SA_RESTART?  Never switches. */
bool smarm__shim_sig_restarts(int sig);
/* After intr_end: was the wait cut short by a signal whose action had
 * SA_RESTART when it came (so the caller restarts its call)?  Never
 * switches. */
bool smarm__shim_intr_restarts(const struct smarm__intr *w);
/* Thread start (after its TCB is in) with its creator's mask, and end.
 * Never switch. */
void smarm__sig_thread_start(uint64_t mask);
void smarm__sig_thread_end(void);
/* The process's signal mask when it started: main's.  Never switches. */
uint64_t smarm__sig_initial_mask(void);
/* Put our signalfd into the runtime's (current) epoll set.  Never switches. */
void smarm__sig_register(void);
/* A fork's child, on the forking thread: forget the other threads. */
void smarm__sig_fork_child(void);
/* thread.c: the pid of a pthread_t (0 if none). */
smarm_pid_t smarm__shim_thread_pid(pthread_t t);

/* ---- everywhere: unsupported calls fail loudly ---- */
__attribute__((noreturn, cold)) void smarm__shim_unsupported(const char *fn);
/* Is the caller a drop-in green thread (as opposed to a carrier, the
 * monitor, a pool thread, or code running before main)?  Never switches. */
bool smarm__shim_in_green(void);
/* Is the caller main's green thread?  Never switches. */
bool smarm__shim_is_main(void);
/* abstime on clk -> relative ns from now (0 if passed). */
int64_t smarm__shim_rel_ns(clockid_t clk, const struct timespec *abstime);

#endif
