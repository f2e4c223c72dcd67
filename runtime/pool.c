/* pool.c — the blocking-call pool: OS threads that run what cannot park.
 *
 * An actor hands a job (a function and its argument, in a struct on the
 * actor's own stack) to the pool and parks; a pool thread runs the function,
 * stores its result and wakes the actor.  Regular-file I/O, connect() on a
 * blocking socket, getaddrinfo and smarm_block_on_io all come here.
 *
 * Threads are made on demand: a job that finds no idle thread starts one,
 * up to a cap (SMARM_IO_THREADS, default 64); past the cap jobs queue, FIFO.
 * A thread that has had nothing to do for smarm__pool_idle_ns (1 s) exits,
 * so a burst does not leave its threads behind.  Idle threads wait on their
 * own condition variable on a LIFO stack: a new job goes to the thread that
 * went idle last, and those at the bottom time out and leave.
 *
 * Completion: the worker takes the job's lock, sets done, wakes the actor if
 * it is parked (job->actor), and unlocks.  The actor, once awake, takes and
 * drops the same lock before it returns, so the worker has let go of the job
 * (on the actor's stack) by then.  An actor that stops waiting (a deadline)
 * clears job->actor under the lock, so a late completion wakes nobody.
 *
 * Pool threads block every asynchronous signal (signals meant for the
 * program go to its own threads and carriers), are named "smarm-io", and
 * are detached: the process may exit with idle ones still waiting.
 *
 * Lock order: `mu` (pthread mutex, held only for queue and idle-stack
 * updates, never while a job runs) is a leaf; a job's lock -> the
 * scheduler's locks (smarm__wake).
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct worker {
	pthread_cond_t cv;
	struct worker *next; /* [mu] idle stack link */
	bool kicked;         /* [mu] a job was handed to it while idle */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct smarm__pool_job *qhead, *qtail; /* [mu] queued jobs */
static struct worker *idle;                   /* [mu] idle workers, LIFO */
static int nthreads, nidle, cap;              /* [mu] */
static int64_t nruns;                         /* [mu] jobs taken, for stats */

int64_t smarm__pool_idle_ns = 1000000000;
int (*smarm__pool_create_hook)(pthread_t *t, const pthread_attr_t *attr,
			       void *(*fn)(void *), void *arg);

static struct smarm__pool_job *take(void)
{
	struct smarm__pool_job *j = qhead;

	if (j && !(qhead = j->next))
		qtail = NULL;
	return j;
}

static void complete(struct smarm__pool_job *j, void *result)
{
	smarm__lock(&j->lock);
	j->result = result;
	j->done = true;
	if (j->actor)
		smarm__wake(j->actor, 0);
	smarm__unlock(&j->lock);
}

static void *worker_main(void *arg)
{
	struct worker self;
	struct smarm__pool_job *j;

	(void)arg;
	pthread_setname_np(pthread_self(), "smarm-io");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&self.cv, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&mu);
	for (;;) {
		if ((j = take())) {
			nruns++;
			pthread_mutex_unlock(&mu);
			complete(j, j->fn(j->arg));
			pthread_mutex_lock(&mu);
			continue;
		}
		struct timespec ts;
		int64_t until = smarm__now() + smarm__pool_idle_ns;
		ts.tv_sec = until / 1000000000;
		ts.tv_nsec = until % 1000000000;
		self.kicked = false;
		self.next = idle;
		idle = &self;
		nidle++;
		while (!self.kicked) {
			if (pthread_cond_timedwait(&self.cv, &mu, &ts) != ETIMEDOUT ||
			    self.kicked)
				continue;
			/* Idle for the whole period: leave the stack and exit. */
			struct worker **pp = &idle;
			while (*pp != &self)
				pp = &(*pp)->next;
			*pp = self.next;
			nidle--;
			nthreads--;
			pthread_mutex_unlock(&mu);
			pthread_cond_destroy(&self.cv);
			return NULL;
		}
	}
}

static int start_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int e;

	sigfillset(&all);
	/* Synchronous faults must stay deliverable to the thread that
	 * causes them. */
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	int saved = errno; /* on a carrier: the actor's errno (never switches) */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = smarm__pool_create_hook ? smarm__pool_create_hook(&t, &attr, worker_main, NULL)
				    : pthread_create(&t, &attr, worker_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	errno = saved;
	return -e;
}

int smarm__pool_submit(struct smarm__pool_job *j, smarm_fn fn, void *arg)
{
	bool spawn = false;
	int e;

	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	j->result = NULL;
	j->lock = (smarm__lock_t)SMARM__LOCK_INIT;
	j->done = false;
	j->actor = NULL;

	pthread_mutex_lock(&mu);
	if (!cap)
		cap = (int)smarm__env_long("SMARM_IO_THREADS", 64, 1, 4096);
	if (qtail)
		qtail->next = j;
	else
		qhead = j;
	qtail = j;
	if (idle) {
		struct worker *w = idle;
		idle = w->next;
		nidle--;
		w->kicked = true;
		pthread_cond_signal(&w->cv);
	} else if (nthreads < cap) {
		nthreads++;
		spawn = true;
	}
	pthread_mutex_unlock(&mu);
	if (!spawn || (e = start_thread()) == 0)
		return 0;

	/* No new thread.  If there is none at all the job would wait forever:
	 * take it back (unless a thread already has it) and fail. */
	pthread_mutex_lock(&mu);
	nthreads--;
	if (nthreads == 0) {
		struct smarm__pool_job **pp = &qhead, *prev = NULL;
		while (*pp && *pp != j) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp) {
			*pp = j->next;
			if (qtail == j)
				qtail = prev;
			pthread_mutex_unlock(&mu);
			return e;
		}
	}
	pthread_mutex_unlock(&mu);
	return 0;
}

int smarm__pool_wait(struct smarm__pool_job *j, int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	intptr_t v;
	bool done;

	smarm_assert(self);
	smarm__lock(&j->lock);
	if (j->done) {
		smarm__unlock(&j->lock);
		return 0;
	}
	smarm__wait_prepare(self, "blocking call", j);
	j->actor = self;
	smarm__unlock(&j->lock);
	v = smarm__park(deadline);
	smarm__lock(&j->lock);
	j->actor = NULL;
	done = j->done;
	smarm__unlock(&j->lock);
	if (done)
		return 0;
	return v < 0 ? (int)v : -EINTR;
}

int smarm_block_on_io(smarm_fn fn, void *arg, void **result)
{
	struct smarm__pool_job j;
	void *r;

	if (!fn)
		return -EINVAL;
	/* Outside actors (a plain thread, no runtime) blocking is what the
	 * caller asked for; with no pool thread to be had, we block the
	 * carrier rather than fail. */
	if (!smarm__self() || smarm__pool_submit(&j, fn, arg) < 0) {
		r = fn(arg);
	} else {
		/* The job writes into j, on our stack: we may not leave before
		 * it is done, so stop requests wait (the actor ends at its next
		 * exit point) and spurious wake-ups wait again. */
		struct smarm__actor *self = smarm__self();
		bool was = smarm__exit_defer(self);
		while (smarm__pool_wait(&j, -1) < 0)
			;
		smarm__exit_undefer(self, was);
		r = j.result;
	}
	if (result)
		*result = r;
	return 0;
}

void smarm__pool_stats(int *threads, int *idle_threads, int64_t *runs)
{
	pthread_mutex_lock(&mu);
	if (threads)
		*threads = nthreads;
	if (idle_threads)
		*idle_threads = nidle;
	if (runs)
		*runs = nruns;
	pthread_mutex_unlock(&mu);
}

/* fork.c: a fork's child has no pool threads, and the queued jobs belong
 * to actors that do not exist there. */
void smarm__pool_fork_child(void)
{
	mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	qhead = qtail = NULL;
	idle = NULL;
	nthreads = nidle = 0;
}
