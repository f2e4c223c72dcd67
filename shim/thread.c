/* thread.c — pthread threads as green threads: create, join, detach, self,
 * equal, exit, keys, names, and the root thread that runs main().
 *
 * Owns: struct gthread (what pthread_t points to) and the key table.
 *
 * A green thread is an actor (runtime) running thread_start, a struct
 * gthread (malloc'd by pthread_create) and its own TCB (tcb.c).  g_self is
 * a __thread variable of this library, so it lives in the green thread's
 * own TLS block: valid from thread_start's tcb enter to its tcb leave, and
 * NULL on carriers, the monitor and pool threads (which run on their own
 * TCBs) and before main.
 *
 * Lifetime of a gthread: two references, the thread's own and the one that
 * pthread_join or pthread_detach gives up (a detached create starts with
 * one).  Whoever drops the last frees it.  A thread on a program-supplied
 * stack (pthread_attr_setstack) keeps its own reference until the
 * runtime's release hook says it is off that stack for good, and join
 * waits for that hook: the program may free the stack once join returns.
 *
 * Keys: numbers come from glibc's own pthread_key_create (so non-green
 * threads — carriers, and libraries running there such as mimalloc — keep
 * using glibc's per-thread values, and glibc runs their destructors), and
 * green threads keep their values here, in 32-entry blocks allocated on
 * first use, tagged with the key's generation so a deleted and re-created
 * key reads NULL as POSIX requires.  Destructors run at thread exit, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds.
 *
 * A green thread runs with the runtime's stop requests deferred
 * (smarm__exit_defer) from its first instruction: pthread_cancel uses them
 * only to cut a park short inside a cancellation point (cancel.c), never to
 * end the thread at a runtime exit point.  The value a joiner gets is the
 * gthread's `retval`, never the runtime's (a pending stop request turns the
 * runtime's record of a normal end into SHUTDOWN).
 *
 * Switching: join (all forms) and exit may switch (exit never returns);
 * create, detach, self, equal, the key calls and the name calls never
 * switch.
 */
#include <limits.h>
#include <string.h>

#include "shim.h"

#define KBLOCK 32
#define NKBLOCKS ((PTHREAD_KEYS_MAX + KBLOCK - 1) / KBLOCK)

struct kval {
	uint64_t gen;
	void *v;
};

struct gthread {
	smarm_pid_t pid;            /* [create] */
	void *tcb;                  /* [create] its TLS block and TCB */
	void *(*fn)(void *);        /* [create] */
	void *arg;                  /* [create] */
	_Atomic int refs;           /* see the file's header */
	bool is_main;               /* [create] the root: main() */
	_Atomic bool detached;      /* [create, detach] for pthread_getattr_np */
	void *user_lo;              /* [create] a program-supplied stack */
	size_t user_size;           /* (pthread_attr_setstack), else NULL/0 */
	_Atomic bool user_free;     /* [release hook] the thread is off it */
	void *retval;               /* [self, before its end] what join returns */
	void *stack_lo;             /* [self, at start] its stack, for */
	size_t stack_size;          /* pthread_getattr_np once it has ended */
	struct smarm__shim_cancel cancel; /* cancel.c */
	struct kval *keys[NKBLOCKS]; /* [self] green values, lazily */
	char name[16];              /* [self] pthread_setname_np; starts as the
	                             * creator's, as Linux copies comm */
	uint64_t sigmask;           /* [create] the creator's signal mask */
};

/* Initial-exec: libsmarm_preload.so is loaded at start-up, so its TLS is
 * in every thread's static block (green TCBs too: tcb.c), and the check in
 * front of every wrapper is one %fs-relative load, not __tls_get_addr. */
static __thread struct gthread *g_self __attribute__((tls_model("initial-exec")));
static struct gthread main_g = {.is_main = true};

/* Key table: destructors and generations, indexed by glibc's key number. */
static void (*_Atomic key_dtor[PTHREAD_KEYS_MAX])(void *);
static _Atomic uint64_t key_gen[PTHREAD_KEYS_MAX];

size_t smarm__shim_stack_size = (size_t)256 << 10;

/* Never switches. */
__attribute__((noipa)) bool smarm__shim_in_green(void)
{
	return g_self != NULL;
}

__attribute__((noipa)) static struct gthread *gself(void)
{
	return g_self;
}

bool smarm__shim_is_main(void)
{
	struct gthread *g = gself();
	return g && g->is_main;
}

static void gthread_unref(struct gthread *g)
{
	if (atomic_fetch_sub(&g->refs, 1) == 1 && !g->is_main)
		free(g);
}

/* Run key destructors for the calling green thread.  May switch (the
 * destructors are the program's). */
static void run_key_dtors(struct gthread *g)
{
	for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
		bool any = false;
		for (int b = 0; b < NKBLOCKS; b++) {
			struct kval *kb = g->keys[b];
			if (!kb)
				continue;
			for (int i = 0; i < KBLOCK; i++) {
				int k = b * KBLOCK + i;
				void (*d)(void *) = atomic_load(&key_dtor[k]);
				void *v = kb[i].v;
				if (!v || kb[i].gen != atomic_load(&key_gen[k]))
					continue;
				kb[i].v = NULL;
				if (d) {
					d(v);
					any = true;
				}
			}
		}
		if (!any)
			break;
	}
	for (int b = 0; b < NKBLOCKS; b++) {
		free(g->keys[b]);
		g->keys[b] = NULL;
	}
}

/* The end of a green thread, on its own stack and TCB: what pthread's
 * thread exit does.  After it the thread runs on its carrier's TCB.
 * May switch. */
static void thread_end(struct gthread *g)
{
	run_key_dtors(g);
	smarm__sig_thread_end();
	g_self = NULL;
	smarm__tcb_leave(g->tcb);
	g->tcb = NULL;
}

/* What every drop-in green thread does first, on its own stack; mask:
 * its signal mask (its creator's, as natively). */
static void thread_begin(struct gthread *g, uint64_t mask)
{
	struct smarm__actor *a = smarm__self();

	smarm__exit_defer(a); /* see the file's header */
	g->stack_lo = a->stack_lo;
	g->stack_size = a->stack_size;
	smarm__tcb_enter(g->tcb);
	g_self = g;
	smarm__sig_thread_start(mask);
}

static void *thread_start(void *p)
{
	struct gthread *g = p;

	thread_begin(g, g->sigmask);
	smarm__shim_thread_exit(g->fn(g->arg));
}

void smarm__shim_thread_exit(void *v)
{
	struct gthread *g = gself();

	g->retval = v;
	thread_end(g);
	if (!g->is_main && !g->user_lo) /* else: user_stack_released */
		gthread_unref(g);
	/* The main thread's pthread_exit: the process lives on until the
	 * last thread ends, then exits 0 (preload/entry.c), as natively. */
	smarm_exit(v);
}

/* A thread on a program-supplied stack is off it for good (the runtime's
 * release hook, on some carrier): only now may a joiner return, since the
 * program may free the stack then.  Holds the thread's own reference until
 * here.  Never switches. */
static void user_stack_released(void *p)
{
	struct gthread *g = p;

	atomic_store_explicit(&g->user_free, true, memory_order_release);
	gthread_unref(g);
}

struct smarm__shim_cancel *smarm__shim_cancel_self(void)
{
	struct gthread *g = gself();
	return g ? &g->cancel : NULL;
}

struct smarm__shim_cancel *smarm__shim_cancel_of(pthread_t t)
{
	return &((struct gthread *)t)->cancel;
}

smarm_pid_t smarm__shim_pid_of(pthread_t t)
{
	return ((struct gthread *)t)->pid;
}

/* glibc's default thread stack size now (pthread_setattr_default_np
 * changes it).  Never switches. */
static size_t default_stack(void)
{
	pthread_attr_t d;
	size_t dsz = 0;

	if (pthread_getattr_default_np(&d) == 0) {
		pthread_attr_getstacksize(&d, &dsz);
		pthread_attr_destroy(&d);
	}
	return dsz;
}

/* glibc's default as it was before main: the one the program did not ask
 * for (set by main_start). */
static size_t initial_default_stack;

/* The stack a pthread attr asks for: its size if the program set one; if
 * not (no attr, or glibc reports its default for an attr that never set a
 * size), the default the program set with pthread_setattr_default_np, and
 * otherwise ours (SMARM_STACK_SIZE). */
static size_t attr_stack(const pthread_attr_t *attr)
{
	size_t sz = 0, dsz = default_stack();

	if (attr && pthread_attr_getstacksize(attr, &sz) == 0 && sz != dsz)
		return sz;
	return dsz != initial_default_stack ? dsz : smarm__shim_stack_size;
}

SMARM_API int pthread_create(pthread_t *t, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg)
{
	struct smarm_spawn_opts o = {.name = "pthread"};
	struct gthread *g;
	int ds = PTHREAD_CREATE_JOINABLE, r;
	struct smarm__actor *own = NULL;
	void *g_lo = NULL;
	size_t g_size = 0;

	if (!smarm__shim_in_green())
		smarm__shim_unsupported("pthread_create outside main and its threads "
					"(a constructor or destructor)");
	if (attr && pthread_attr_getdetachstate(attr, &ds) != 0)
		return EINVAL;
	if (attr && pthread_attr_getstack(attr, &g_lo, &g_size) == 0 &&
	    (uintptr_t)g_lo + g_size == 0)
		g_lo = NULL; /* glibc: no stack set is a NULL top */
	o.stack_size = attr_stack(attr);
	if (ds == PTHREAD_CREATE_DETACHED)
		o.flags |= SMARM_SPAWN_DETACHED;
	if (!(g = calloc(1, sizeof *g)))
		return EAGAIN;
	g->fn = fn;
	g->arg = arg;
	memcpy(g->name, ((struct gthread *)pthread_self())->name, sizeof g->name);
	o.name = g->name; /* the actor's name too: dumps show it */
	g->sigmask = smarm__self()->sigmask;
	atomic_init(&g->refs, ds == PTHREAD_CREATE_DETACHED ? 1 : 2);
	atomic_init(&g->detached, ds == PTHREAD_CREATE_DETACHED);
	if (g_lo) {
		/* pthread_attr_setstack: the record goes at the top of the
		 * program's stack, as glibc's TCB would (runtime/stack.c). */
		if (!(own = smarm__stack_adopt(g_lo, g_size))) {
			free(g);
			return EINVAL;
		}
		own->release = user_stack_released;
		own->release_arg = g;
		g->user_lo = g_lo;
		g->user_size = g_size;
	}
	if (!(g->tcb = smarm__tcb_new())) {
		free(g);
		return EAGAIN;
	}
	/* The gthread is published through *t before the thread can run
	 * (it may run at once on another carrier and read g->pid). */
	*t = (pthread_t)g;
	if ((r = own ? smarm__spawn_on(&g->pid, thread_start, g, &o, own)
		     : smarm_spawn(&g->pid, thread_start, g, &o)) < 0) {
		smarm__tcb_free(g->tcb);
		free(g);
		return r == -EINVAL ? EINVAL : EAGAIN;
	}
	return 0;
}

/* Join with a timeout (relative ns, SMARM_FOREVER); a timeout returns
 * `late` (EBUSY for tryjoin, ETIMEDOUT otherwise).  All but tryjoin are
 * cancellation points.  May switch. */
static int join(pthread_t t, void **ret, int64_t timeout, int late, const char *fn)
{
	struct gthread *g = (struct gthread *)t;
	void *v = NULL;
	bool cp;
	int r;

	if (!smarm__shim_in_green())
		smarm__shim_unsupported(fn); /* outside main and its threads */
	if (g == gself())
		return EDEADLK;
	if (g->is_main)
		smarm__shim_unsupported(fn); /* of the main thread */
	cp = late != EBUSY && smarm__shim_cancel_begin();
	r = smarm_join_timeout(g->pid, &v, timeout);
	smarm__shim_cancel_end(cp);
	if (r == -ECANCELED)
		smarm__shim_testcancel();
	if (r == -EOWNERDEAD) /* a pthread_cancel's stop request: see the top */
		r = 0;
	if (r == -ETIMEDOUT)
		return late;
	if (r < 0)
		return -r;
	if (ret)
		*ret = g->retval;
	/* A program-supplied stack may be freed as soon as join returns:
	 * wait until the thread is off it (a few switches at most). */
	while (g->user_lo && !atomic_load_explicit(&g->user_free, memory_order_acquire))
		smarm_yield();
	gthread_unref(g);
	return 0;
}

SMARM_API int pthread_join(pthread_t t, void **ret)
{
	return join(t, ret, SMARM_FOREVER, ETIMEDOUT, "pthread_join");
}

SMARM_API int pthread_tryjoin_np(pthread_t t, void **ret)
{
	return join(t, ret, 0, EBUSY, "pthread_tryjoin_np");
}

SMARM_API int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
				   const struct timespec *abstime)
{
	if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || abstime->tv_nsec < 0 ||
	    abstime->tv_nsec >= 1000000000)
		return EINVAL;
	return join(t, ret, smarm__shim_rel_ns(clk, abstime), ETIMEDOUT,
		    "pthread_clockjoin_np");
}

SMARM_API int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
	return pthread_clockjoin_np(t, ret, CLOCK_REALTIME, abstime);
}

SMARM_API int pthread_detach(pthread_t t)
{
	struct gthread *g = (struct gthread *)t;
	int r;

	if (g->is_main)
		smarm__shim_unsupported("pthread_detach of the main thread");
	if ((r = smarm_detach(g->pid)) < 0)
		return -r;
	atomic_store(&g->detached, true);
	gthread_unref(g);
	return 0;
}

SMARM_API pthread_t pthread_self(void)
{
	struct gthread *g = gself();
	return (pthread_t)(g ? g : &main_g);
}

smarm_pid_t smarm__shim_thread_pid(pthread_t t)
{
	return t ? ((struct gthread *)t)->pid : 0;
}

SMARM_API int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

/* Cleanup handlers first (cancel.c), then smarm__shim_thread_exit. */
SMARM_API __attribute__((noreturn)) void pthread_exit(void *v)
{
	if (!gself())
		smarm__shim_unsupported("pthread_exit outside main and its threads");
	smarm__shim_unwind(v);
}

/* ---- the root thread: main() ---- */

struct main_args {
	int (*fn)(int, char **, char **);
	int argc;
	char **argv, **envp;
};

static void *main_start(void *p)
{
	struct main_args *m = p;

	main_g.pid = smarm_self();
	initial_default_stack = default_stack();
	/* Linux names the first thread after the program (comm, 15 bytes). */
	strncpy(main_g.name, program_invocation_short_name, sizeof main_g.name - 1);
	smarm__pid_set_name(main_g.pid, main_g.name);
	if (!(main_g.tcb = smarm__tcb_new())) {
		smarm__msg("out of memory for main's TLS");
		exit(127);
	}
	atomic_init(&main_g.refs, 1);
	thread_begin(&main_g, smarm__sig_initial_mask());
	/* Returning from main is exit(status), as __libc_start_main does. */
	exit(m->fn(m->argc, m->argv, m->envp));
}

int smarm__shim_run_main(int (*main_fn)(int, char **, char **), int argc, char **argv,
			 char **envp, const struct smarm_config *cfg)
{
	struct main_args m = {main_fn, argc, argv, envp};
	int r;

	if ((r = smarm__tcb_init()) < 0)
		return 127;
	r = smarm_run(main_start, &m, cfg, NULL);
	if (r < 0) {
		smarm__msg("cannot start the runtime: %s", strerror(-r));
		return 127;
	}
	/* Every thread has ended and main left by pthread_exit. */
	return 0;
}

/* ---- keys ---- */

SMARM_API int pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
	int r = smarm__real_pthread_key_create(k, dtor);

	if (r == 0 && *k < PTHREAD_KEYS_MAX) {
		atomic_fetch_add(&key_gen[*k], 1);
		atomic_store(&key_dtor[*k], dtor);
	}
	return r;
}

SMARM_API int pthread_key_delete(pthread_key_t k)
{
	int r = smarm__real_pthread_key_delete(k);

	if (r == 0 && k < PTHREAD_KEYS_MAX) {
		atomic_store(&key_dtor[k], NULL);
		atomic_fetch_add(&key_gen[k], 1);
	}
	return r;
}

SMARM_API void *pthread_getspecific(pthread_key_t k)
{
	struct gthread *g = gself();
	struct kval *kb;

	if (!g)
		return smarm__real_pthread_getspecific(k);
	if (k >= PTHREAD_KEYS_MAX || !(kb = g->keys[k / KBLOCK]))
		return NULL;
	kb += k % KBLOCK;
	return kb->gen == atomic_load(&key_gen[k]) ? kb->v : NULL;
}

SMARM_API int pthread_setspecific(pthread_key_t k, const void *v)
{
	struct gthread *g = gself();
	struct kval *kb;

	if (!g)
		return smarm__real_pthread_setspecific(k, v);
	if (k >= PTHREAD_KEYS_MAX || atomic_load(&key_gen[k]) == 0)
		return EINVAL;
	if (!(kb = g->keys[k / KBLOCK]) &&
	    !(kb = g->keys[k / KBLOCK] = calloc(KBLOCK, sizeof *kb)))
		return ENOMEM;
	kb += k % KBLOCK;
	kb->gen = atomic_load(&key_gen[k]);
	kb->v = (void *)v;
	return 0;
}

/* ---- names, attributes ---- */

SMARM_API int pthread_setname_np(pthread_t t, const char *name)
{
	struct gthread *g = (struct gthread *)t;

	if (strlen(name) > 15)
		return ERANGE;
	strcpy(g->name, name);
	if (g->pid)
		smarm__pid_set_name(g->pid, g->name); /* for dumps */
	return 0;
}

SMARM_API int pthread_getname_np(pthread_t t, char *buf, size_t len)
{
	struct gthread *g = (struct gthread *)t;

	if (len < strlen(g->name) + 1)
		return ERANGE;
	strcpy(buf, g->name);
	return 0;
}

/* ---- for attr.c ---- */

void smarm__shim_stack_of(pthread_t t, void **lo, size_t *size)
{
	struct gthread *g = (struct gthread *)t;
	struct smarm__slot *slot;
	struct smarm__actor *a;

	/* A live thread: its actor record, pinned by the slot lock.  One that
	 * has ended (not yet joined): what it recorded when it started. */
	if (g->user_lo) {
		/* What the program gave, as glibc reports it. */
		*lo = g->user_lo;
		*size = g->user_size;
	} else if ((a = smarm__pid_lock(g->pid, &slot))) {
		*lo = a->stack_lo;
		*size = a->stack_size;
		smarm__pid_unlock(slot);
	} else {
		*lo = g->stack_lo;
		*size = g->stack_size;
	}
}

bool smarm__shim_own_stack(pthread_t t)
{
	return ((struct gthread *)t)->user_lo != NULL;
}

bool smarm__shim_detached(pthread_t t)
{
	return atomic_load(&((struct gthread *)t)->detached);
}
