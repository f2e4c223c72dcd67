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
/* Look a libc symbol up (RTLD_NEXT); aborts naming it if absent. */
void *smarm__real(const char *name);
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
/* abstime on clk -> relative ns from now (0 if passed). */
int64_t smarm__shim_rel_ns(clockid_t clk, const struct timespec *abstime);

#endif
