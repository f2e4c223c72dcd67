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
#include <sys/socket.h>
#include <sys/types.h>

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
	SMARM_SPAWN_CHILD = 1u << 1,    /* the spawner is told how it ended (a notice:
	                                 * "failure and supervision" below) */
	SMARM_SPAWN_LINK = 1u << 2,     /* link spawner and actor (smarm_link) at once */
};

/* Options for smarm_spawn; a NULL pointer or zeroed fields mean defaults. */
struct smarm_spawn_opts {
	size_t stack_size; /* usable bytes; 0: the runtime default (SMARM_STACK_SIZE) */
	const char *name;  /* copied, at most 15 bytes kept; shown in reports */
	unsigned flags;    /* SMARM_SPAWN_* */
	int64_t timeout;   /* > 0: an actor still running this many ns after its
	                    * spawn is stopped (SMARM_EXIT_TIMEOUT, at its next
	                    * safe point); 0: no limit */
};

/* Start an actor running fn(arg) and store its pid in *pid (may be NULL).
 * The actor's return value is its exit value, collected by smarm_join.
 * Callable from an actor, or from any thread while the runtime runs.
 * -EAGAIN: no stack could be mapped (vm.max_map_count) or too many actors;
 * -EINVAL: fn is NULL or stack_size is absurd; -ENOMEM;
 * -EPERM: the runtime is not running, or has just ended (a spawn from
 * another thread racing the last actor's exit either keeps the runtime
 * alive or fails this way; it is never queued where nothing runs it).
 * Never switches. */
SMARM_API int smarm_spawn(smarm_pid_t *pid, smarm_fn fn, void *arg,
                          const struct smarm_spawn_opts *opts);

/* Wait for the actor to end and collect its exit value into *value (may be
 * NULL).  -ESRCH: stale or invalid pid (already joined, or never was);
 * -EDEADLK: pid is the caller; -EINVAL: detached, or already being joined;
 * -EPERM: not called from an actor.
 * -EOWNERDEAD: it ended abnormally (panic, fault, stopped, deadline): it is
 * collected all the same (the pid is now stale) and *value is set to NULL;
 * smarm_join_info says why.  -ECANCELED: the caller is being stopped
 * (nothing was collected).
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
	int preempt;            /* SMARM_PREEMPT_*; default SMARM_PREEMPT (signal) */
	int64_t slice;          /* time slice, ns; default SMARM_SLICE (10 ms);
	                         * 100 us to 1 s */
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

/* Blocking-looking I/O for actors: a call that would block parks the actor,
 * never the carrier thread, until the fd is ready, the timeout passes
 * (-ETIMEDOUT) or the fd is closed with smarm_close (-EBADF).  Timeouts are
 * relative ns as everywhere (SMARM_FOREVER; 0: one attempt, -ETIMEDOUT if it
 * would have to wait).  Errors are -errno; errno is never touched.  Called
 * outside an actor (a plain thread, or before smarm_run), the same calls
 * block that thread in poll(2).
 *
 * File flags are the program's: these calls never set or clear O_NONBLOCK
 * on an fd (it is shared with every process that holds the file).  Sockets
 * use MSG_DONTWAIT, pipes and FIFOs RWF_NOWAIT, and what has no readiness
 * (regular files, devices without non-blocking reads) runs on a pool of
 * threads (smarm_block_on_io).  Consequences, by kind of fd:
 *   - sockets never raise SIGPIPE here (MSG_NOSIGNAL: -EPIPE instead);
 *     a pipe whose reader is gone raises SIGPIPE as write(2) does;
 *   - on regular files and devices without readiness the timeout is not
 *     enforced once the pool runs the call (a disk read is not cancellable);
 *     reads of cached file pages are served at once, without the pool;
 *   - a tty (or other device without non-blocking reads) in blocking mode is
 *     read only after poll(2) and FIONREAD say how much is there; another
 *     process reading the same tty can take those bytes first, and then our
 *     read() blocks the carrier until more arrive;
 *   - a listening socket in blocking mode is accepted from only after poll(2)
 *     says a connection is queued; a process that accepts from the same
 *     socket can take it first, and then accept blocks the carrier until the
 *     next connection (set O_NONBLOCK on shared listening sockets);
 *   - connect on a blocking socket runs in the pool; its timeout aborts the
 *     attempt with shutdown(2), which leaves the socket unusable (as after
 *     any failed connect: close it).
 *
 * Closing: close fds these calls have waited on with smarm_close, which
 * wakes every actor parked on the fd with -EBADF.  An fd closed with plain
 * close() while an actor is parked on it leaves that actor parked (as a
 * thread blocked in read(2) would stay blocked), and the runtime keeps
 * believing the fd number is registered with its poller: if the number comes
 * back for a new file from socket(), pipe() or open(), a wait on it can hang.
 * Fds returned by smarm_accept and sockets passed to smarm_connect are
 * renewed automatically; for anything else, call smarm_io_forget(fd) before
 * a plain close(). */

/* Read up to len bytes, as read(2): the count (0 at end of file), as soon as
 * any data is there.  -ETIMEDOUT, -EBADF, or the call's own -errno.
 * May switch. */
SMARM_API ssize_t smarm_read(int fd, void *buf, size_t len, int64_t timeout);

/* Read exactly len bytes unless end of file comes first (then the shorter
 * count); the timeout bounds the whole call.  On an error or timeout some
 * bytes may have been consumed.  May switch. */
SMARM_API ssize_t smarm_read_full(int fd, void *buf, size_t len, int64_t timeout);

/* Write all len bytes: len, or -errno (-ETIMEDOUT, -EPIPE ...), after which
 * an unknown prefix may have been written.  May switch. */
SMARM_API ssize_t smarm_write(int fd, const void *buf, size_t len, int64_t timeout);

/* recv(2) with flags (MSG_PEEK, MSG_TRUNC ...; MSG_WAITALL reads len bytes
 * or up to end of stream, an error or the timeout, returning what it got if
 * anything).  May switch. */
SMARM_API ssize_t smarm_sock_recv(int fd, void *buf, size_t len, int flags,
                                  int64_t timeout);
/* Send all len bytes (a datagram socket sends one datagram): len or -errno.
 * May switch. */
SMARM_API ssize_t smarm_sock_send(int fd, const void *buf, size_t len, int flags,
                                  int64_t timeout);
/* One recvfrom/sendto/recvmsg/sendmsg call, parking while it would block:
 * returns what the call returns (a stream's sendto/sendmsg may send part).
 * May switch. */
SMARM_API ssize_t smarm_sock_recvfrom(int fd, void *buf, size_t len, int flags,
                                      struct sockaddr *addr, socklen_t *addrlen,
                                      int64_t timeout);
SMARM_API ssize_t smarm_sock_sendto(int fd, const void *buf, size_t len, int flags,
                                    const struct sockaddr *addr, socklen_t addrlen,
                                    int64_t timeout);
SMARM_API ssize_t smarm_sock_recvmsg(int fd, struct msghdr *msg, int flags,
                                     int64_t timeout);
SMARM_API ssize_t smarm_sock_sendmsg(int fd, const struct msghdr *msg, int flags,
                                     int64_t timeout);

/* accept4(2): the new fd (flags: SOCK_NONBLOCK, SOCK_CLOEXEC), -ETIMEDOUT,
 * -errno.  May switch. */
SMARM_API int smarm_accept(int fd, struct sockaddr *addr, socklen_t *addrlen,
                           int flags, int64_t timeout);

/* connect(2), waiting for the connection to complete: 0, -ETIMEDOUT,
 * -ECONNREFUSED ...  May switch. */
SMARM_API int smarm_connect(int fd, const struct sockaddr *addr, socklen_t len,
                            int64_t timeout);

/* Park until fd is readable (writable): returns the poll(2) events that are
 * set (POLLIN/POLLOUT, POLLHUP, POLLERR: > 0), -ETIMEDOUT, -EBADF.
 * May switch. */
SMARM_API int smarm_wait_readable(int fd, int64_t timeout);
SMARM_API int smarm_wait_writable(int fd, int64_t timeout);

/* Wake every actor parked on fd with -EBADF, forget the fd, close(2) it.
 * 0 or close's -errno (-EINTR counts as 0: Linux has released the fd).
 * Never switches (a close(2) that lingers blocks the carrier). */
SMARM_API int smarm_close(int fd);

/* As smarm_close without the close(2): for a program that closes fd itself.
 * Never switches. */
SMARM_API int smarm_io_forget(int fd);

/* Run fn(arg) on a pool thread and park until it returns; its return value
 * goes to *result (may be NULL).  For blocking calls that have no smarm
 * form.  The pool grows on demand up to SMARM_IO_THREADS threads (default
 * 64; more calls queue) and a thread idle for a second exits.  fn runs on a
 * plain OS thread: it must not call anything that parks (it may send to
 * mailboxes and channels).  Outside an actor fn runs on the caller.  0, or
 * -EINVAL (fn NULL).  May switch. */
SMARM_API int smarm_block_on_io(smarm_fn fn, void *arg, void **result);

/* getaddrinfo(3) on the pool: returns getaddrinfo's own code (0 or EAI_*;
 * gai_strerror names it).  Free *res with freeaddrinfo.  May switch. */
struct addrinfo;
SMARM_API int smarm_getaddrinfo(const char *node, const char *service,
                                const struct addrinfo *hints, struct addrinfo **res);

/* ---- preemption (preempt.c) -------------------------------------------- */

/* An actor that runs for a time slice (SMARM_SLICE, default 10 ms) without
 * parking is asked to yield, and yields at the next safe point:
 *   - a call of the malloc family (malloc, free, calloc, realloc, ...) made
 *     by the program's own code (not from inside libc or another library);
 *   - SMARM_CHECK(), for loops that never allocate;
 *   - in signal mode (the default), anywhere in the program's own code: a
 *     monitor thread sends the carrier SIGURG, and the handler switches
 *     away if the interrupted instruction is in the main executable (never
 *     inside libc, the vDSO, mimalloc, smarm or another shared object; the
 *     request then waits for the next safe point).
 * So an actor may be switched, and resumed on another carrier, between two
 * instructions of the program's own code: the TLS rule at the top of this
 * header applies everywhere, not only after calls documented "May switch".
 * Code that must not be switched away from (say, it holds a pthread mutex
 * or runs inside a library callback that holds a library lock) brackets
 * itself with smarm_preempt_disable/enable.
 *
 * Modes (smarm_config.preempt, or SMARM_PREEMPT=off|alloc|signal):
 * off: never preempt; alloc: safe points only; signal: both.  smarm uses
 * SIGURG for this (as Go does); SIGURGs it did not send go to the handler
 * installed before smarm_run.  A slow system call made directly by an actor
 * that keeps its carrier busy can see EINTR. */
enum {
	SMARM_PREEMPT_DEFAULT = 0, /* the environment's, else SIGNAL */
	SMARM_PREEMPT_OFF,
	SMARM_PREEMPT_ALLOC,
	SMARM_PREEMPT_SIGNAL,
};

/* A safe point: if the running actor's slice is over, yield.  This is what
 * SMARM_CHECK() calls; it is cheap enough for any loop.  May switch. */
SMARM_API void smarm_preempt_point(void);

/* Keep the calling actor from being preempted until the matching enable
 * (calls nest; smarm_yield and parking still switch).  Outside actors they
 * do nothing.  disable never switches; enable honours a request that came
 * meanwhile, so it may switch. */
SMARM_API void smarm_preempt_disable(void);
SMARM_API void smarm_preempt_enable(void);

/* Private to SMARM_CHECK: the carrier the calling thread runs (NULL for
 * threads that are not carriers); its first 8 bytes are the request word. */
struct smarm__carrier;
SMARM_API extern __thread struct smarm__carrier *smarm__tls_carrier
	__attribute__((tls_model("initial-exec")));

/* A safe point for loops that never allocate: a TLS load and a compare or
 * two while the slice lasts.  (In a loop with no calls GCC may keep the
 * carrier pointer in a register; after the actor moved carriers, the test
 * then looks at the old carrier's word, which smarm_preempt_point discards
 * as stale: harmless, and in signal mode the signal covers such loops.) */
#define SMARM_CHECK()                                                        \
	do {                                                                 \
		struct smarm__carrier *smarm_c_ = smarm__tls_carrier;        \
		if (__builtin_expect(smarm_c_ != 0 &&                        \
		                     *(const volatile uint64_t *)(void *)smarm_c_ != 0, \
		                     0))                                     \
			smarm_preempt_point();                               \
	} while (0)

/* ---- failure and supervision (actor.c, link.c, fault.c, supervisor.c) -- */

/* "Let it crash": an actor that fails ends alone, and whoever asked is told.
 *
 * How an actor ends (struct smarm_exit_info.how, struct smarm_notice.how):
 *   SMARM_EXIT_NORMAL    its function returned, or smarm_exit
 *   SMARM_EXIT_PANIC     smarm_panic, or a fault (see below)
 *   SMARM_EXIT_KILLED    stopped by smarm_kill, or by a link to an actor that
 *                        ended abnormally
 *   SMARM_EXIT_SHUTDOWN  stopped by smarm_stop or by its supervisor; or a
 *                        supervisor that gave up (restart intensity reached)
 *   SMARM_EXIT_TIMEOUT   still running when smarm_spawn_opts.timeout ran out
 * Every end but NORMAL carries a reason, a string of at most
 * SMARM_REASON_MAX - 1 bytes (longer ones are cut).
 *
 * Faults.  A stack overflow, or SIGSEGV, SIGBUS, SIGFPE or SIGILL raised by
 * an instruction the actor itself ran, becomes that actor's panic, with a
 * reason that names the signal, the address (and for an overflow, the stack
 * size); a line goes to stderr; other actors run on.  Not covered (the
 * process crashes as it would without smarm, through any handler installed
 * before smarm_run, e.g. ASan's): faults outside actors, faults inside
 * smarm's own code or in a library call the runtime made on the actor's
 * behalf (a bad pointer handed to smarm_send, say: the runtime may hold a
 * lock), a fault while an actor is already ending, and signals sent with
 * kill(2)/raise(3).  SMARM_FAULTS=abort in the environment turns faults in
 * actors back into a report and a crash (with a core dump where enabled).
 * This is fault containment, not memory isolation: actors share one heap,
 * so a wild write in one can corrupt another's data before anything faults,
 * and an actor that faults while holding a lock (a smarm mutex, a libc
 * stdio lock) leaves it held.
 *
 * Stopping another actor.  An actor cannot be ended from outside at an
 * arbitrary instruction.  smarm_kill / smarm_stop / a link / a deadline
 * mark it; from then on every call that would park it (recv, lock, join,
 * chan, I/O ...) fails at once with -ECANCELED instead of waiting (a call
 * already parked wakes up with it), and the actor ends at its next
 * smarm_yield, smarm_sleep or preemption point (smarm.h "preemption"), or
 * when its function returns, whichever comes first; its cleanup handlers
 * run.  An actor spinning in a loop with no safe point and preemption off is
 * not stopped.  However it then ends, it is reported with the requested
 * `how` (unless it panicked meanwhile).
 *
 * Notices.  The runtime tells interested actors through their mailboxes
 * (smarm_recv): the message kind is
 *   SMARM_MSG_EXIT     it ended normally (notice.value is its exit value)
 *   SMARM_MSG_PANIC    it ended abnormally: PANIC, KILLED or SHUTDOWN
 *                      (notice.how, notice.reason say which and why)
 *   SMARM_MSG_TIMEOUT  it overran its spawn timeout and was stopped
 *   SMARM_MSG_DOWN     a monitored actor ended (any how; notice.ref)
 * and the body a struct smarm_notice (receive into one: the message is cut
 * after the reason's NUL).  notice.via says why we were told.  Three ways to
 * be told, as in Erlang:
 *   - a child (SMARM_SPAWN_CHILD) tells its spawner, once;
 *   - a link (smarm_link, SMARM_SPAWN_LINK) is both ways: when either end
 *     ends abnormally, the other is stopped (SMARM_EXIT_KILLED) — unless it
 *     traps exits (smarm_trap_exits), in which case it gets the notice
 *     instead (for normal ends too); a normal end stops nobody;
 *   - a monitor (smarm_monitor) is one way and never stops anyone: one DOWN
 *     notice when the watched actor ends.
 * Panics and timeouts that nobody is told of (no parent, link or monitor)
 * are reported on stderr: "smarm: actor <pid> (<name>) panicked: <reason>";
 * faults always are (by the fault handler).  Stops are not: whoever asked
 * knows. */
enum {
	SMARM_EXIT_NORMAL = 0,
	SMARM_EXIT_PANIC = 1,
	SMARM_EXIT_KILLED = 2,
	SMARM_EXIT_SHUTDOWN = 3,
	SMARM_EXIT_TIMEOUT = 4,
};
#define SMARM_REASON_MAX 256

enum {
	SMARM_MSG_EXIT = 1,
	SMARM_MSG_PANIC = 2,
	SMARM_MSG_TIMEOUT = 3,
	SMARM_MSG_DOWN = 4,
};
enum { SMARM_VIA_CHILD = 1, SMARM_VIA_LINK = 2, SMARM_VIA_MONITOR = 3 };

/* The body of SMARM_MSG_EXIT / PANIC / TIMEOUT / DOWN messages; the sender
 * (smarm_recv_from) is the actor that ended. */
struct smarm_notice {
	smarm_pid_t pid;     /* the actor that ended (now stale unless unjoined) */
	uint64_t ref;        /* DOWN: the monitor's reference; else 0 */
	void *value;         /* NORMAL: its exit value; else NULL */
	int how;             /* SMARM_EXIT_* */
	int via;             /* SMARM_VIA_*: parent, link or monitor */
	char name[16];       /* its name */
	char reason[SMARM_REASON_MAX]; /* why ("" for NORMAL), NUL-terminated */
};

/* How an actor ended, from smarm_join_info / join groups. */
struct smarm_exit_info {
	int how;             /* SMARM_EXIT_* */
	void *value;         /* NORMAL: its exit value; else NULL */
	char reason[SMARM_REASON_MAX];
};

/* "normal", "panic", "killed", "shutdown", "timeout" ("?" otherwise). */
SMARM_API const char *smarm_exit_str(int how);

/* End the calling actor with SMARM_EXIT_PANIC and the formatted reason: its
 * cleanup handlers run (innermost first), its stack goes back to the pool,
 * joiners get -EOWNERDEAD, its parent a SMARM_MSG_PANIC notice, its links
 * are stopped, its monitors fire.  Outside an actor it prints the reason
 * and aborts. */
SMARM_API __attribute__((noreturn, format(printf, 1, 2))) void smarm_panic(const char *fmt, ...);

/* Collect an actor as smarm_join does, filling *info (may be NULL) however
 * it ended.  0 (NORMAL) or -EOWNERDEAD (any other end; collected too);
 * -ETIMEDOUT; -ECANCELED; -ESRCH, -EDEADLK, -EINVAL, -EPERM as smarm_join.
 * May switch. */
SMARM_API int smarm_join_info(smarm_pid_t pid, struct smarm_exit_info *info,
                              int64_t timeout);

/* Join groups.  smarm_join_all waits until every one of the n actors has
 * ended, then collects them all (infos[i] for pids[i]; infos may be NULL)
 * and returns how many ended abnormally (0: all normally).  On -ETIMEDOUT or
 * -ECANCELED none is collected.  smarm_join_any waits until at least one
 * has ended, collects one (the first in array order of those that have),
 * fills *info (may be NULL) and returns its index; the others are left as
 * they were.  Both: -EINVAL (pids NULL, n 0, a pid twice, a detached pid or
 * one being joined), -ESRCH (a stale pid), -EDEADLK (the caller's own pid),
 * -EPERM (not an actor).  May switch. */
SMARM_API int smarm_join_all(const smarm_pid_t *pids, size_t n,
                             struct smarm_exit_info *infos, int64_t timeout);
SMARM_API int smarm_join_any(const smarm_pid_t *pids, size_t n,
                             struct smarm_exit_info *info, int64_t timeout);

/* Ask an actor to stop (see "Stopping another actor"): smarm_kill with
 * SMARM_EXIT_KILLED and `reason` (NULL: "killed"), smarm_stop with
 * SMARM_EXIT_SHUTDOWN and "shutdown".  Neither can be trapped.  Returns at
 * once: 0 (asked, or already stopping); -ESRCH (gone).  Aimed at the caller
 * itself, it ends the caller there and then.  Never switches (otherwise). */
SMARM_API int smarm_kill(smarm_pid_t pid, const char *reason);
SMARM_API int smarm_stop(smarm_pid_t pid);

/* Link the caller and pid (both ways; linking twice is one link; the caller
 * itself is a no-op).  -ESRCH: pid has ended (no link was made); -EPERM: not
 * an actor; -ENOMEM.  Never switches. */
SMARM_API int smarm_link(smarm_pid_t pid);
/* Remove the link if there is one: 0 (even if there was none), -EPERM.
 * Never switches. */
SMARM_API int smarm_unlink(smarm_pid_t pid);
/* on != 0: exits of linked actors arrive as notices (via SMARM_VIA_LINK)
 * instead of stopping the caller.  Returns the previous setting, -EPERM,
 * -ENOMEM.  Never switches. */
SMARM_API int smarm_trap_exits(int on);

/* Watch pid: when it ends, the caller gets one SMARM_MSG_DOWN notice with
 * notice.ref == *ref.  -ESRCH: pid has ended or never was (no notice will
 * come); -EINVAL: the caller itself or ref NULL; -EPERM; -ENOMEM.
 * Never switches. */
SMARM_API int smarm_monitor(smarm_pid_t pid, uint64_t *ref);
/* Stop watching: 0; -ENOENT no such monitor of the caller's on a live pid;
 * -ESRCH pid has ended (its DOWN may be in the mailbox already).  A
 * monitor also goes away when the watcher ends.  Never switches. */
SMARM_API int smarm_demonitor(smarm_pid_t pid, uint64_t ref);

/* Cleanup handlers: run, innermost first, when the actor ends other than by
 * returning from its function (smarm_exit, smarm_panic, a fault, being
 * stopped at an exit point).  The node lives with the caller (usually on its stack); pops
 * must match pushes (LIFO), as pthread_cleanup_push/pop.  pop(run != 0) runs
 * the handler.  A handler may park (exit requests are held off while an
 * actor ends).  Handlers are skipped after a stack overflow (the stack is
 * exhausted) and after a fault in a handler.  Outside actors push does
 * nothing and pop(run) just calls fn. */
struct smarm_cleanup {
	struct smarm_cleanup *_next;
	void (*_fn)(void *);
	void *_arg;
};
SMARM_API void smarm_cleanup_push(struct smarm_cleanup *c, void (*fn)(void *), void *arg);
SMARM_API void smarm_cleanup_pop(struct smarm_cleanup *c, int run);

/* ---- supervisors (supervisor.c) ----
 * A supervisor is an actor that starts children from specifications, and
 * restarts them as Erlang/OTP's supervisor does:
 *   - restart: PERMANENT children are always restarted, TRANSIENT ones only
 *     after an abnormal end other than SHUTDOWN, TEMPORARY ones never;
 *   - strategy: ONE_FOR_ONE restarts the child that ended; ONE_FOR_ALL stops
 *     all the others and restarts them all; REST_FOR_ONE stops the ones
 *     started after it and restarts it and them.  A TEMPORARY child stopped
 *     by a group restart is not restarted;
 *   - stopping is in reverse start order, one at a time: smarm_stop, then
 *     up to the child's `shutdown` time for it to end (after which it is
 *     abandoned: the supervisor goes on and logs it);
 *   - restart intensity: more than `intensity` restarts within `period` ns
 *     and the supervisor stops every child and ends with SMARM_EXIT_SHUTDOWN
 *     ("shutdown: ..."), which its own parent / links hear of.
 * Children are spawned linked to the supervisor (which traps exits), so if
 * the supervisor itself is stopped (smarm_stop, smarm_kill, a link) it first
 * stops its children in reverse order; and if it ends some other way, the
 * links stop them.  A restarted child is a new actor with a new pid: the
 * old pid is stale.  Messages sent to a supervisor are dropped. */
enum { SMARM_ONE_FOR_ONE = 0, SMARM_ONE_FOR_ALL = 1, SMARM_REST_FOR_ONE = 2 };
enum { SMARM_PERMANENT = 0, SMARM_TRANSIENT = 1, SMARM_TEMPORARY = 2 };

struct smarm_child_spec {
	const char *name;    /* the child's name (copied; at most 15 bytes kept) */
	smarm_fn fn;         /* what it runs, with arg, at each (re)start */
	void *arg;
	int restart;         /* SMARM_PERMANENT (0), TRANSIENT, TEMPORARY */
	size_t stack_size;   /* 0: the default */
	int64_t timeout;     /* each run's spawn timeout (smarm_spawn_opts); 0: none */
	int64_t shutdown;    /* how long a stop may take, ns; 0: 5 s */
};

struct smarm_sup_spec {
	int strategy;        /* SMARM_ONE_FOR_ONE (0), ONE_FOR_ALL, REST_FOR_ONE */
	int intensity;       /* at most this many restarts ... 0: 1 (OTP's default);
	                      * < 0: none at all; at most 100000 */
	int64_t period;      /* ... within this many ns; 0: 5 s */
	const struct smarm_child_spec *children; /* started in this order */
	size_t nchildren;    /* at most 4096 */
};

/* Spawn a supervisor running `spec` (copied) with spawn options opts (may be
 * NULL; use SMARM_SPAWN_CHILD to be told when it ends).  The children start
 * in the supervisor, in order; if one cannot be spawned the supervisor stops
 * the others and ends (SHUTDOWN, "shutdown: cannot start ...").  -EINVAL
 * (bad spec), -ENOMEM, and smarm_spawn's errors.  Never switches. */
SMARM_API int smarm_sup_start(smarm_pid_t *pid, const struct smarm_sup_spec *spec,
                              const struct smarm_spawn_opts *opts);
/* An smarm_fn that runs a supervisor in the calling actor, for a child spec
 * of a supervisor (a supervision tree): arg is a const struct
 * smarm_sup_spec * that must stay valid while the supervisor runs.  It never
 * returns (a bad spec is a panic). */
SMARM_API void *smarm_supervisor(void *spec);
/* The current pids of sup's children, in start order, into pids[0 .. n-1]
 * (0 for a child not running now); returns the number of children (which
 * may be more than n).  -ESRCH: sup is not a live supervisor.
 * Never switches. */
SMARM_API int smarm_sup_children(smarm_pid_t sup, smarm_pid_t *pids, size_t n);

/* ---- seeing inside (dump.c, stats.c) ----------------------------------- */

/* Write a dump of every green thread to fd: pid, name, state (running on
 * carrier K, runnable, parked), what a parked one waits on (a mutex and its
 * owner, a channel, an fd, a join target, a blocking call ...), for how
 * long, its timer's time left, its supervisors, and a backtrace.  Plain
 * text, or JSON when SMARM_DUMP_FORMAT=json.  Written with write(2) (never
 * stdio), while the program runs: each thread is a snapshot of its own
 * moment.  The same dump goes to stderr on SIGQUIT (unless SMARM_DUMP=off,
 * or the program set its own SIGQUIT disposition before smarm_run) and
 * after "smarm: all N threads are asleep - deadlock!", when every green
 * thread is parked and nothing could wake one (the process then exits with
 * status 2).  0, -EBADF, -EPERM (the runtime is not running), -ENOMEM, or
 * the write's -errno.  Never switches. */
SMARM_API int smarm_dump(int fd);

#ifdef __cplusplus
}
#endif
#endif
