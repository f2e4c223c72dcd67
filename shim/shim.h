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
int smarm__real_pthread_setspecific(pthread_key_t k, const void *v);
/* Look a libc symbol up (RTLD_NEXT); aborts naming it if absent. */
void *smarm__real(const char *name);

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

/* ---- everywhere: unsupported calls fail loudly ---- */
__attribute__((noreturn, cold)) void smarm__shim_unsupported(const char *fn);
/* Is the caller a drop-in green thread (as opposed to a carrier, the
 * monitor, a pool thread, or code running before main)?  Never switches. */
bool smarm__shim_in_green(void);
/* abstime on clk -> relative ns from now (0 if passed). */
int64_t smarm__shim_rel_ns(clockid_t clk, const struct timespec *abstime);

#endif
