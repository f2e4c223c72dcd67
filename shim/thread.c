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
 * one).  Whoever drops the last frees it.
 *
 * Keys: numbers come from glibc's own pthread_key_create (so non-green
 * threads — carriers, and libraries running there such as mimalloc — keep
 * using glibc's per-thread values, and glibc runs their destructors), and
 * green threads keep their values here, in 32-entry blocks allocated on
 * first use, tagged with the key's generation so a deleted and re-created
 * key reads NULL as POSIX requires.  Destructors run at thread exit, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds.
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
	struct kval *keys[NKBLOCKS]; /* [self] green values, lazily */
	char name[16];              /* [self] pthread_setname_np; starts as the
	                             * creator's, as Linux copies comm */
	uint64_t sigmask;           /* [create] the creator's signal mask */
};

static __thread struct gthread *g_self;
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

static void *thread_start(void *p)
{
	struct gthread *g = p;
	void *v;

	smarm__tcb_enter(g->tcb);
	g_self = g;
	smarm__sig_thread_start(g->sigmask);
	v = g->fn(g->arg);
	thread_end(g);
	gthread_unref(g);
	return v;
}

/* The stack a pthread attr asks for: its size if the program set one, our
 * default otherwise (glibc reports its own 8 MiB default for an attr that
 * never set a size: that is "not set" too). */
static size_t attr_stack(const pthread_attr_t *attr)
{
	pthread_attr_t d;
	size_t sz = 0, dsz = 0;

	if (!attr || pthread_attr_getstacksize(attr, &sz) != 0)
		return smarm__shim_stack_size;
	if (pthread_getattr_default_np(&d) == 0) {
		pthread_attr_getstacksize(&d, &dsz);
		pthread_attr_destroy(&d);
	}
	return sz == dsz ? smarm__shim_stack_size : sz;
}

SMARM_API int pthread_create(pthread_t *t, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg)
{
	struct smarm_spawn_opts o = {.name = "pthread"};
	struct gthread *g;
	int ds = PTHREAD_CREATE_JOINABLE, r;

	if (!smarm__shim_in_green())
		smarm__shim_unsupported("pthread_create outside main and its threads "
					"(a constructor or destructor)");
	if (attr && pthread_attr_getdetachstate(attr, &ds) != 0)
		return EINVAL;
	o.stack_size = attr_stack(attr);
	if (ds == PTHREAD_CREATE_DETACHED)
		o.flags |= SMARM_SPAWN_DETACHED;
	if (!(g = calloc(1, sizeof *g)))
		return EAGAIN;
	g->fn = fn;
	g->arg = arg;
	memcpy(g->name, ((struct gthread *)pthread_self())->name, sizeof g->name);
	g->sigmask = smarm__self()->sigmask;
	atomic_init(&g->refs, ds == PTHREAD_CREATE_DETACHED ? 1 : 2);
	if (!(g->tcb = smarm__tcb_new())) {
		free(g);
		return EAGAIN;
	}
	/* The gthread is published through *t before the thread can run
	 * (it may run at once on another carrier and read g->pid). */
	*t = (pthread_t)g;
	if ((r = smarm_spawn(&g->pid, thread_start, g, &o)) < 0) {
		smarm__tcb_free(g->tcb);
		free(g);
		return r == -EINVAL ? EINVAL : EAGAIN;
	}
	return 0;
}

/* Join with a timeout (relative ns, SMARM_FOREVER); a timeout returns
 * `late` (EBUSY for tryjoin, ETIMEDOUT otherwise).  May switch. */
static int join(pthread_t t, void **ret, int64_t timeout, int late, const char *fn)
{
	struct gthread *g = (struct gthread *)t;
	void *v = NULL;
	int r;

	if (!smarm__shim_in_green())
		smarm__shim_unsupported(fn); /* outside main and its threads */
	if (g == gself())
		return EDEADLK;
	if (g->is_main)
		smarm__shim_unsupported(fn); /* of the main thread */
	r = smarm_join_timeout(g->pid, &v, timeout);
	if (r == -EOWNERDEAD) {
		v = PTHREAD_CANCELED;
		r = 0;
	}
	if (r == -ETIMEDOUT)
		return late;
	if (r < 0)
		return -r;
	if (ret)
		*ret = v;
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

SMARM_API __attribute__((noreturn)) void pthread_exit(void *v)
{
	struct gthread *g = gself();

	if (!g)
		smarm__shim_unsupported("pthread_exit outside main and its threads");
	thread_end(g);
	if (!g->is_main)
		gthread_unref(g);
	/* The main thread's pthread_exit: the process lives on until the
	 * last thread ends, then exits 0 (preload/entry.c), as natively. */
	smarm_exit(v);
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
	/* Linux names the first thread after the program (comm, 15 bytes). */
	strncpy(main_g.name, program_invocation_short_name, sizeof main_g.name - 1);
	if (!(main_g.tcb = smarm__tcb_new())) {
		smarm__msg("out of memory for main's TLS");
		exit(127);
	}
	atomic_init(&main_g.refs, 1);
	smarm__tcb_enter(main_g.tcb);
	g_self = &main_g;
	smarm__sig_thread_start(smarm__sig_initial_mask());
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

/* D5: a green thread's attributes report its green stack (garbage
 * collectors and other runtimes scan it). */
SMARM_API int pthread_getattr_np(pthread_t t, pthread_attr_t *attr)
{
	struct smarm__actor *a = smarm__self();
	int r;

	if (!gself() || (struct gthread *)t != gself() || !a)
		smarm__shim_unsupported("pthread_getattr_np of another thread");
	if ((r = pthread_attr_init(attr)) != 0)
		return r;
	return pthread_attr_setstack(attr, a->stack_lo, a->stack_size);
}

/* Cancellation never happens (pthread_cancel fails loudly), so the state
 * calls only keep the bookkeeping POSIX asks for. */
SMARM_API int pthread_setcancelstate(int state, int *old)
{
	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	if (old)
		*old = PTHREAD_CANCEL_ENABLE;
	return 0;
}

SMARM_API int pthread_setcanceltype(int type, int *old)
{
	if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	if (old)
		*old = PTHREAD_CANCEL_DEFERRED;
	return 0;
}

SMARM_API void pthread_testcancel(void)
{
}
