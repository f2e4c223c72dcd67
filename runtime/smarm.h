/* smarm.h — the one public header of smarm, a green-thread actor runtime for C
 * on x86-64 Linux.
 *
 * Conventions, everywhere in this header:
 *   - functions that can fail return int: >= 0 on success, -EXXX on failure;
 *     they never touch errno (a switch between the failing call and the read
 *     of errno could let another actor overwrite it);
 *   - times are nanoseconds (int64_t) on CLOCK_MONOTONIC; a timeout is
 *     relative, SMARM_FOREVER waits without limit, 0 polls;
 *   - "May switch" means the call can park the calling actor and resume it on
 *     another carrier thread.
 *
 * Thread-local storage in link mode: actors run on the carrier threads' TLS.
 * The runtime saves and restores errno at every switch, but GCC caches the
 * address of errno and of __thread variables across calls, so an actor that
 * reads errno or a __thread variable after a call that may switch can read
 * the TLS of the carrier it ran on before.  Read errno right after the call
 * that set it, before anything that may switch, and keep per-actor state in
 * locals or in memory the actor owns.
 */
#ifndef SMARM_H
#define SMARM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMARM_API __attribute__((visibility("default")))

/* ---- time ------------------------------------------------------------ */

#define SMARM_FOREVER ((int64_t)-1)
#define SMARM_USEC(n) ((int64_t)(n) * 1000)
#define SMARM_MSEC(n) ((int64_t)(n) * 1000000)
#define SMARM_SEC(n) ((int64_t)(n) * 1000000000)

/* Now on CLOCK_MONOTONIC, in ns.  Never switches. */
SMARM_API int64_t smarm_now(void);

/* ---- actors ------------------------------------------------------------ */

/* A pid names one actor for its whole life and never another: it is an
 * (index, generation) pair, and the generation changes each time a slot is
 * reused, so a call given a pid whose actor is gone fails with -ESRCH.
 * 0 is never a valid pid.  Printed as "index.generation" (smarm_pid_format). */
typedef uint64_t smarm_pid_t;

typedef void *(*smarm_fn)(void *arg);

enum {
	SMARM_SPAWN_DETACHED = 1u << 0, /* nobody will join: the slot is freed at exit */
};

/* Options for smarm_spawn; a NULL pointer or zeroed fields mean defaults. */
struct smarm_spawn_opts {
	size_t stack_size; /* usable bytes; 0: the runtime default (SMARM_STACK_SIZE) */
	const char *name;  /* copied, at most 15 bytes kept; shown in reports */
	unsigned flags;    /* SMARM_SPAWN_* */
};

/* Start an actor running fn(arg) and store its pid in *pid (may be NULL).
 * The actor's return value is its exit value, collected by smarm_join.
 * Callable from an actor, from the thread that called smarm_run, or from any
 * thread while the runtime runs.
 * -EAGAIN: no stack could be mapped (vm.max_map_count) or too many actors;
 * -EINVAL: fn is NULL or stack_size is absurd; -ENOMEM.
 * Never switches. */
SMARM_API int smarm_spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
                          const struct smarm_spawn_opts *opts);

/* Wait for the actor to end and collect its exit value into *value (may be
 * NULL).  -ESRCH: stale or invalid pid (already joined, or never was);
 * -EDEADLK: pid is the caller; -EINVAL: detached, or already being joined;
 * -EPERM: not called from an actor.
 * May switch. */
SMARM_API int smarm_join(smarm_pid_t pid, void **value);

/* As smarm_join, giving up with -ETIMEDOUT after timeout ns. May switch. */
SMARM_API int smarm_join_timeout(smarm_pid_t pid, void **value, int64_t timeout);

/* Nobody will join this actor; its slot is freed when it ends (at once if it
 * has already ended).  -ESRCH, -EINVAL (already detached or being joined). */
SMARM_API int smarm_detach(smarm_pid_t pid);

/* The calling actor's pid, or 0 outside any actor.  Never switches. */
SMARM_API smarm_pid_t smarm_self(void);

/* Let other runnable actors run.  May switch. */
SMARM_API void smarm_yield(void);

/* End the calling actor with exit value `value`, as if its function had
 * returned it.  Aborts if called outside an actor. */
SMARM_API __attribute__((noreturn)) void smarm_exit(void *value);

/* Sleep at least `ns` nanoseconds.  -EPERM outside an actor. May switch. */
SMARM_API int smarm_sleep(int64_t ns);

/* Copy the actor's name (possibly "") into buf.  -ESRCH, -EINVAL. */
SMARM_API int smarm_name(smarm_pid_t pid, char *buf, size_t len);

/* Write "index.generation" into buf (>= 24 bytes); returns buf. */
SMARM_API char *smarm_pid_format(smarm_pid_t pid, char *buf, size_t len);

/* ---- the runtime -------------------------------------------------------- */

/* Configuration for smarm_run; zeroed fields take the environment's value
 * (SMARM_THREADS, SMARM_STACK_SIZE) or the built-in default. */
struct smarm_config {
	int carriers;           /* carrier OS threads; default: online CPUs */
	size_t stack_size;      /* default actor stack, usable bytes; default 64 KiB */
	size_t root_stack_size; /* the root actor's stack; default: stack_size */
};

/* Start the runtime on the calling thread (which becomes carrier 0), run
 * root(arg) as the first actor, and return once every actor has ended, with
 * the root's exit value in *result (may be NULL).  -EBUSY if the runtime is
 * already running, -EINVAL for bad configuration, -EAGAIN/-ENOMEM when
 * carriers or the root's stack cannot be created. */
SMARM_API int smarm_run(smarm_fn root, void *arg, const struct smarm_config *cfg,
                        void **result);

/* A program that defines smarm_main and links -lsmarm gets main() from the
 * library: smarm_main runs as the root actor and its return value is the
 * process's exit status (other actors end with the process, as threads end
 * when main returns). */
int smarm_main(int argc, char **argv);

/* ---- channels (chan.c) ------------------------------------------------- */

/* A channel carries fixed-size elements, copied by value, FIFO.  To move a
 * large object, send a pointer to it (elem_size = sizeof(void *)): that is a
 * zero-copy transfer of ownership, and the receiver frees it.  Elements
 * still queued when the channel is freed are dropped without a look (drain
 * a channel of pointers first).
 *
 * capacity:
 *   SMARM_CHAN_UNBOUNDED (0)   send never waits (the queue grows; -ENOMEM
 *                              when it cannot); recv waits for an element.
 *                              Any number of senders and receivers; the
 *                              common use is many senders, one receiver.
 *   1 .. SMARM_CHAN_MAX        bounded: send waits while `capacity` elements
 *                              are queued (back-pressure).
 *   SMARM_CHAN_RENDEZVOUS      no buffer: a send completes only when a
 *                              receiver takes the element from it.
 *
 * Every channel is safe to use from any number of actors on any carriers and
 * from threads the runtime does not manage (plain pthreads).  From such a
 * thread a call that must wait (send on a full bounded channel, recv on an
 * empty one) blocks that OS thread on a futex; it never parks anything.
 *
 * Timeouts are relative ns: SMARM_FOREVER waits without limit, 0 never waits
 * (-ETIMEDOUT when the call would have to), > 0 waits at most that long.  On
 * any error nothing was sent and nothing was written into the receive buffer.
 */
typedef struct smarm_chan smarm_chan_t;

#define SMARM_CHAN_UNBOUNDED ((size_t)0)
#define SMARM_CHAN_RENDEZVOUS ((size_t)-1)
#define SMARM_CHAN_MAX ((size_t)1 << 32)      /* largest bounded capacity */
#define SMARM_CHAN_ELEM_MAX ((size_t)1 << 20) /* largest element, bytes */

/* Create a channel in *ch.  -EINVAL: ch NULL, elem_size 0 or above
 * SMARM_CHAN_ELEM_MAX, capacity above SMARM_CHAN_MAX (and not RENDEZVOUS);
 * -ENOMEM.  Never switches. */
SMARM_API int smarm_chan_new(smarm_chan_t **ch, size_t elem_size, size_t capacity);

/* Free a channel and whatever it still holds.  Nobody may be using it or
 * waiting on it (that aborts).  NULL is ignored.  Never switches. */
SMARM_API void smarm_chan_free(smarm_chan_t *ch);

/* Close: later sends fail with -EPIPE, receivers take what is queued and then
 * get -EPIPE; every parked sender and receiver wakes with -EPIPE (a parked
 * sender's element is not sent).  -EPIPE if it was already closed, -EINVAL
 * for NULL.  Never switches. */
SMARM_API int smarm_chan_close(smarm_chan_t *ch);

/* Copy elem_size bytes from elem into the channel.  0; -EPIPE closed;
 * -ETIMEDOUT; -ENOMEM (unbounded); -EINVAL NULL arguments; other negative
 * values if the wait was broken by the runtime (e.g. the actor is being
 * stopped).  May switch. */
SMARM_API int smarm_chan_send(smarm_chan_t *ch, const void *elem, int64_t timeout);

/* Take the oldest element into elem (elem_size bytes).  0; -EPIPE closed and
 * empty; -ETIMEDOUT; -EINVAL.  May switch. */
SMARM_API int smarm_chan_recv(smarm_chan_t *ch, void *elem, int64_t timeout);

/* As send / recv with timeout 0, but -EAGAIN instead of -ETIMEDOUT.
 * Never switch; callable from anywhere, signal handlers excepted. */
SMARM_API int smarm_chan_try_send(smarm_chan_t *ch, const void *elem);
SMARM_API int smarm_chan_try_recv(smarm_chan_t *ch, void *elem);

/* Elements queued now (a racy snapshot); 0 for NULL.  Never switches. */
SMARM_API size_t smarm_chan_len(smarm_chan_t *ch);

/* One case of smarm_chan_select. */
enum { SMARM_CHAN_RECV = 0, SMARM_CHAN_SEND = 1 };
struct smarm_chan_op {
	smarm_chan_t *ch; /* NULL: this case is never ready (disabled) */
	void *buf;        /* RECV: where the element goes; SEND: the element */
	int dir;          /* SMARM_CHAN_RECV or SMARM_CHAN_SEND */
	int result;       /* out, for the case that fired: 0, or -EPIPE (closed) */
};
#define SMARM_CHAN_SELECT_MAX 64

/* Wait until one of the n cases can proceed, perform exactly that one, and
 * return its index (its .result says 0 or -EPIPE: a closed channel counts as
 * ready).  When several are ready, the choice is uniformly random.  The same
 * channel may appear in several cases; cases may share a buffer.
 * -ETIMEDOUT; -EINVAL (ops NULL, n above SMARM_CHAN_SELECT_MAX, a bad dir or
 * a NULL buf on an enabled case); -EDEADLK when no case is enabled and the
 * timeout is SMARM_FOREVER.  May switch. */
SMARM_API int smarm_chan_select(struct smarm_chan_op *ops, size_t n, int64_t timeout);

/* ---- mailboxes (mailbox.c) ---------------------------------------------- */

/* Every actor has a mailbox (made on first use): an unbounded FIFO of
 * messages, each a copy of the bytes it was sent with, of any length
 * (0 included).  To pass something large without a copy, send a pointer to
 * it: the receiver then owns it.  Messages still queued when an actor ends
 * are freed with it (pointers in them are not followed).
 *
 * A message has a kind: SMARM_MSG_DATA for what smarm_send sends; other
 * kinds are notices the runtime itself delivers (reserved for supervision:
 * an exit or panic of a linked or monitored actor). */
enum {
	SMARM_MSG_DATA = 0,
	/* 1..63 reserved for runtime notices */
};

/* Copy len bytes at msg into the mailbox of actor `to`.  Callable from an
 * actor or from any thread while the runtime runs.  0; -ESRCH stale or
 * invalid pid (or the actor has ended); -EINVAL msg NULL with len > 0;
 * -ENOMEM.  Never switches (in link mode). */
SMARM_API int smarm_send(smarm_pid_t to, const void *msg, size_t len);

/* Take the oldest message from the calling actor's mailbox into buf (cap
 * bytes), its length into *len (may be NULL); wait up to timeout if there
 * is none.  Returns the message's kind (>= 0, SMARM_MSG_DATA for
 * smarm_send's).  -EMSGSIZE: the oldest message is longer than cap; it
 * stays queued and *len says how long it is.  -ETIMEDOUT; -EPERM not called
 * from an actor; -EINVAL buf NULL with cap > 0.  May switch. */
SMARM_API int smarm_recv(void *buf, size_t cap, size_t *len, int64_t timeout);

/* As smarm_recv, also storing the sender's pid in *from (may be NULL; 0 when
 * the sender was not an actor). May switch. */
SMARM_API int smarm_recv_from(smarm_pid_t *from, void *buf, size_t cap, size_t *len,
                              int64_t timeout);

/* Messages waiting in the caller's mailbox (a snapshot); 0 outside actors.
 * Never switches. */
SMARM_API size_t smarm_mailbox_len(void);

/* ---- locks (mutex.c, cond.c, rwlock.c, sem.c, barrier.c, once.c) ------- */

/* Blocking primitives for actors, with the semantics pthread needs.  A
 * waiting actor parks (its carrier runs others); a waiting thread that the
 * runtime does not manage blocks on a futex, so each works between actors
 * and plain pthreads alike.
 *
 * Storage is the caller's: each type is a fixed-size struct to embed or
 * declare static, zero-filled by its *_INIT macro (all-zero is the valid
 * initial state of a mutex, cond, rwlock, semaphore and once, as for
 * pthread) or set up by *_init; *_fini checks it is unused.  Each fits in
 * its glibc pthread counterpart (smarm_mutex_t in pthread_mutex_t, ...).
 * The contents are private.  Objects are not movable while in use.
 *
 * Timeouts are relative ns (SMARM_FOREVER, 0 = do not wait).  There is no
 * untimed lock: pass SMARM_FOREVER. */

/* A mutex: FIFO hand-off (an unlock with waiters passes ownership straight
 * to the longest waiter, so nobody starves and no one barges in).  The owner
 * is recorded (smarm_mutex_owner).  An actor that ends holding a mutex
 * leaves it locked for good (no robust mode). */
typedef struct smarm_mutex {
	uint64_t _opaque[5];
} smarm_mutex_t;
#define SMARM_MUTEX_INIT {{0}}
#define SMARM_MUTEX_RECURSIVE 1u /* flag for smarm_mutex_init */

/* flags: 0 or SMARM_MUTEX_RECURSIVE (the owner may lock again; each lock
 * needs its unlock).  -EINVAL unknown flags.  Never switches. */
SMARM_API int smarm_mutex_init(smarm_mutex_t *m, unsigned flags);
/* -EBUSY if locked or waited on.  Never switches. */
SMARM_API int smarm_mutex_fini(smarm_mutex_t *m);
/* 0; -ETIMEDOUT (timeout 0 included); -EDEADLK the caller owns it (not
 * recursive); -EAGAIN recursion depth exhausted.  May switch. */
SMARM_API int smarm_mutex_lock(smarm_mutex_t *m, int64_t timeout);
/* 0; -EBUSY held by anyone (the caller included, unless recursive).
 * Never switches. */
SMARM_API int smarm_mutex_trylock(smarm_mutex_t *m);
/* 0; -EPERM the caller is not the owner.  Never switches. */
SMARM_API int smarm_mutex_unlock(smarm_mutex_t *m);
/* The owner's pid; 0 when unlocked or owned by a non-actor thread (a racy
 * snapshot, for reports).  Never switches. */
SMARM_API smarm_pid_t smarm_mutex_owner(const smarm_mutex_t *m);

/* A condition variable. */
typedef struct smarm_cond {
	uint64_t _opaque[3];
} smarm_cond_t;
#define SMARM_COND_INIT {{0}}
SMARM_API int smarm_cond_init(smarm_cond_t *c);
/* -EBUSY while waited on.  Never switches. */
SMARM_API int smarm_cond_fini(smarm_cond_t *c);
/* Release m (which the caller must own: -EPERM), wait for a signal or the
 * timeout, and take m again before returning — in every case, -ETIMEDOUT
 * included.  0 (signalled, or woken spuriously: re-check the predicate);
 * -ETIMEDOUT.  A recursive mutex is released and re-taken at its full
 * depth.  May switch. */
SMARM_API int smarm_cond_wait(smarm_cond_t *c, smarm_mutex_t *m, int64_t timeout);
/* Wake one waiter / every waiter present now (those that started waiting
 * before the call).  Calling with or without the mutex held both work.
 * Never switches. */
SMARM_API int smarm_cond_signal(smarm_cond_t *c);
SMARM_API int smarm_cond_broadcast(smarm_cond_t *c);

/* A readers-writer lock.  Default: fair — one FIFO queue; a reader that
 * arrives while a writer waits queues behind it (so writers never starve),
 * and a releasing writer admits the run of readers at the head of the queue
 * together.  (A reader re-locking for reading while a writer waits would
 * deadlock itself; use the flag below for such code.)  With
 * SMARM_RWLOCK_PREFER_READER, readers get in whenever no writer holds the
 * lock, as with glibc's default; writers may starve. */
typedef struct smarm_rwlock {
	uint64_t _opaque[5];
} smarm_rwlock_t;
#define SMARM_RWLOCK_INIT {{0}}
#define SMARM_RWLOCK_PREFER_READER 1u
SMARM_API int smarm_rwlock_init(smarm_rwlock_t *rw, unsigned flags);
/* -EBUSY if held or waited on.  Never switches. */
SMARM_API int smarm_rwlock_fini(smarm_rwlock_t *rw);
/* 0; -ETIMEDOUT; -EDEADLK the caller holds the write lock; -EAGAIN too many
 * readers.  May switch. */
SMARM_API int smarm_rwlock_rdlock(smarm_rwlock_t *rw, int64_t timeout);
SMARM_API int smarm_rwlock_wrlock(smarm_rwlock_t *rw, int64_t timeout);
/* 0; -EBUSY; -EDEADLK (as above).  Never switch. */
SMARM_API int smarm_rwlock_tryrdlock(smarm_rwlock_t *rw);
SMARM_API int smarm_rwlock_trywrlock(smarm_rwlock_t *rw);
/* Release the caller's write lock, or one read lock.  -EPERM when the lock
 * is write-locked by someone else or not held at all.  Never switches. */
SMARM_API int smarm_rwlock_unlock(smarm_rwlock_t *rw);

/* A counting semaphore; waiters are served FIFO. */
typedef struct smarm_sem {
	uint64_t _opaque[3];
} smarm_sem_t;
#define SMARM_SEM_INIT(value) {{(uint64_t)(value)}}
#define SMARM_SEM_MAX 0x7fffffffu
/* -EINVAL value above SMARM_SEM_MAX.  Never switches. */
SMARM_API int smarm_sem_init(smarm_sem_t *s, unsigned value);
/* -EBUSY while waited on.  Never switches. */
SMARM_API int smarm_sem_fini(smarm_sem_t *s);
/* Take one unit: 0; -ETIMEDOUT.  May switch. */
SMARM_API int smarm_sem_wait(smarm_sem_t *s, int64_t timeout);
/* 0; -EAGAIN none available.  Never switches. */
SMARM_API int smarm_sem_trywait(smarm_sem_t *s);
/* Give one unit (to the longest waiter, if any).  -EOVERFLOW at
 * SMARM_SEM_MAX.  Never switches. */
SMARM_API int smarm_sem_post(smarm_sem_t *s);
/* Units available now (a snapshot).  Never switches. */
SMARM_API unsigned smarm_sem_value(const smarm_sem_t *s);

/* A barrier for `count` parties, reusable (cyclic). */
typedef struct smarm_barrier {
	uint64_t _opaque[3];
} smarm_barrier_t;
#define SMARM_BARRIER_SERIAL 1
/* -EINVAL count 0.  Never switches. */
SMARM_API int smarm_barrier_init(smarm_barrier_t *b, unsigned count);
/* -EBUSY while parties wait.  Never switches. */
SMARM_API int smarm_barrier_fini(smarm_barrier_t *b);
/* Wait until `count` parties have called it; then all return, exactly one
 * of them (the last to arrive) with SMARM_BARRIER_SERIAL, the others 0.
 * May switch. */
SMARM_API int smarm_barrier_wait(smarm_barrier_t *b);

/* Run-once.  4 bytes, like pthread_once_t. */
typedef uint32_t smarm_once_t;
#define SMARM_ONCE_INIT 0u
/* Call fn(arg) if no call on this once has; every caller returns after that
 * call has returned.  fn must not call smarm_once on the same once
 * (deadlock), nor end its actor.  0; -EINVAL.  May switch. */
SMARM_API int smarm_once(smarm_once_t *once, void (*fn)(void *), void *arg);

/* ---- I/O (io.c, pool.c) ------------------------------------------------- */

/* ---- preemption (preempt.c) -------------------------------------------- */

/* ---- failure and supervision (panic.c, supervisor.c) ------------------- */

/* ---- seeing inside (dump.c, stats.c) ----------------------------------- */

#ifdef __cplusplus
}
#endif
#endif
