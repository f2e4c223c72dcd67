/* pid.c — the slot table: pids as (index, generation) pairs.
 *
 * A pid is ((uint64_t)generation << 32) | (index + 1), so 0 is never valid.
 * A slot belongs to one actor from spawn until its exit value has been
 * collected (join) or given up (detach); then the generation is bumped and
 * the index goes back on the free list, so every pid the old actor ever had
 * now fails the generation check with -ESRCH — including pids a caller kept
 * after the slot was reused.  (A 32-bit generation wraps after 2^32 reuses
 * of one slot; we accept that.)
 *
 * Slots live in chunks that never move, so a lookup needs no table lock:
 * chunk pointers are published with release stores and only ever appended.
 * Each slot has its own lock; holding it pins the actor, since exit takes
 * the same lock to publish the exit value (smarm__pid_lock).
 *
 * Slot states (under the slot lock):
 *   LIVE                actor running; s->actor valid
 *   LIVE|JOINING        ... and s->joiner parked on it (a join group sets
 *                       JOINING on several slots with the same joiner)
 *   EXITED              actor ended; how, value, reason kept for a joiner
 *   LIVE|DETACHED       nobody will join; slot freed at exit
 * An abnormal end's reason is a malloc'd string owned by the slot; it is
 * freed after the slot lock is dropped (nothing allocates or frees under
 * it).
 * Lock order: a slot lock, then anything the wake path takes (run queues).
 * free_lock is a leaf.
 */
#include <string.h>

#include "internal.h"

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define MAX_CHUNKS 256 /* 1,048,576 slots: actors alive at once */

enum { LIVE = 1, EXITED = 2, DETACHED = 4, JOINING = 8 };

struct smarm__slot {
	smarm__lock_t lock;
	uint32_t gen;                 /* [lock] bumped when the slot is freed */
	uint32_t flags;               /* [lock] LIVE/EXITED/DETACHED/JOINING */
	uint32_t next_free;           /* [free_lock] free-list link (index + 1) */
	int how;                      /* [lock] SMARM_EXIT_* once EXITED */
	struct smarm__actor *actor;   /* [lock] while LIVE */
	struct smarm__actor *joiner;  /* [lock] while JOINING */
	void *value;                  /* [lock] exit value once EXITED */
	char *reason;                 /* [lock] once EXITED abnormally, or NULL */
};

static struct smarm__slot *_Atomic chunks[MAX_CHUNKS];
static smarm__lock_t free_lock = SMARM__LOCK_INIT;
static uint32_t free_head;         /* index + 1, 0 = empty */
static uint32_t nslots;            /* slots ever made, under free_lock */
static _Atomic size_t used;

static inline uint32_t pid_index(smarm_pid_t pid)
{
	return (uint32_t)pid - 1;
}

static inline uint32_t pid_gen(smarm_pid_t pid)
{
	return (uint32_t)(pid >> 32);
}

static struct smarm__slot *slot_at(uint32_t i)
{
	struct smarm__slot *c;

	if (i >= (uint32_t)MAX_CHUNKS * CHUNK)
		return NULL;
	c = atomic_load_explicit(&chunks[i >> CHUNK_BITS], memory_order_acquire);
	return c ? &c[i & (CHUNK - 1)] : NULL;
}

/* Lock the slot a pid names if its generation still matches. */
static struct smarm__slot *lookup(smarm_pid_t pid)
{
	struct smarm__slot *s;

	if (pid == 0 || (uint32_t)pid == 0)
		return NULL;
	if (!(s = slot_at(pid_index(pid))))
		return NULL;
	smarm__lock(&s->lock);
	if (s->gen != pid_gen(pid) || !(s->flags & (LIVE | EXITED))) {
		smarm__unlock(&s->lock);
		return NULL;
	}
	return s;
}

/* Returns the reason to free once the slot lock is dropped. */
static char *slot_free(struct smarm__slot *s, uint32_t index)
{
	char *reason = s->reason;

	s->flags = 0;
	s->actor = s->joiner = NULL;
	s->value = NULL;
	s->reason = NULL;
	s->how = 0;
	s->gen = s->gen + 1 ? s->gen + 1 : 1;
	smarm__lock(&free_lock);
	s->next_free = free_head;
	free_head = index + 1;
	smarm__unlock(&free_lock);
	atomic_fetch_sub_explicit(&used, 1, memory_order_relaxed);
	return reason;
}

int smarm__pid_new(struct smarm__actor *a, bool detached)
{
	struct smarm__slot *s;
	uint32_t i;

	smarm__lock(&free_lock);
	if (free_head) {
		i = free_head - 1;
		s = slot_at(i);
		free_head = s->next_free;
	} else {
		if (nslots == (uint32_t)MAX_CHUNKS * CHUNK) {
			smarm__unlock(&free_lock);
			return -EAGAIN;
		}
		i = nslots;
		if (!(s = slot_at(i))) {
			struct smarm__slot *c = calloc(CHUNK, sizeof *c);
			if (!c) {
				smarm__unlock(&free_lock);
				return -ENOMEM;
			}
			for (uint32_t k = 0; k < CHUNK; k++)
				c[k].gen = 1;
			atomic_store_explicit(&chunks[i >> CHUNK_BITS], c,
					      memory_order_release);
			s = &c[0];
		}
		nslots++;
	}
	smarm__unlock(&free_lock);
	atomic_fetch_add_explicit(&used, 1, memory_order_relaxed);

	smarm__lock(&s->lock);
	s->flags = LIVE | (detached ? DETACHED : 0);
	s->actor = a;
	a->pid = ((uint64_t)s->gen << 32) | (i + 1);
	smarm__unlock(&s->lock);
	return 0;
}

struct smarm__actor *smarm__pid_lock(smarm_pid_t pid, struct smarm__slot **slot)
{
	struct smarm__slot *s = lookup(pid);

	if (!s)
		return NULL;
	if (!(s->flags & LIVE)) {
		smarm__unlock(&s->lock);
		return NULL;
	}
	*slot = s;
	return s->actor;
}

void smarm__pid_unlock(struct smarm__slot *slot)
{
	smarm__unlock(&slot->lock);
}

struct smarm__fate *smarm__pid_exit(struct smarm__actor *a, int how, void *value,
				    char *reason)
{
	struct smarm__slot *s = slot_at(pid_index(a->pid));
	struct smarm__fate *f;

	smarm__lock(&s->lock);
	smarm_assert(s->gen == pid_gen(a->pid) && (s->flags & LIVE));
	s->actor = NULL;
	/* The mailbox goes before a joiner can run: a sender posts only while
	 * it holds this lock with s->actor set, so none is posting now and
	 * none can start; and a joiner that ends the process next must not
	 * find it still allocated (LeakSanitizer did, 1 run in ~15). */
	if (a->mbox && smarm__mbox_free)
		smarm__mbox_free(a);
	f = a->fate;
	a->fate = NULL;
	if (s->flags & DETACHED) {
		slot_free(s, pid_index(a->pid));
		smarm__unlock(&s->lock);
		free(reason);
		return f;
	}
	s->flags = (s->flags & ~LIVE) | EXITED;
	s->how = how;
	s->value = how == SMARM_EXIT_NORMAL ? value : NULL;
	s->reason = reason;
	if (s->flags & JOINING)
		smarm__wake(s->joiner, 0);
	smarm__unlock(&s->lock);
	return f;
}

/* Copy an EXITED slot's status out (under its lock).  0 or -EOWNERDEAD. */
static int status_of(struct smarm__slot *s, void **value, struct smarm_exit_info *info)
{
	if (value)
		*value = s->value;
	if (info) {
		info->how = s->how;
		info->value = s->value;
		snprintf(info->reason, sizeof info->reason, "%s",
			 s->reason ? s->reason
			 : s->how == SMARM_EXIT_NORMAL ? "" : smarm_exit_str(s->how));
	}
	return s->how == SMARM_EXIT_NORMAL ? 0 : -EOWNERDEAD;
}

int smarm__pid_join(smarm_pid_t pid, void **value, struct smarm_exit_info *info,
		    int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__slot *s;

	if (!self)
		return -EPERM;
	if (pid == self->pid)
		return -EDEADLK;
	if (!(s = lookup(pid)))
		return -ESRCH;
	if (s->flags & (DETACHED | JOINING)) {
		smarm__unlock(&s->lock);
		return -EINVAL;
	}
	if (!(s->flags & EXITED)) {
		if (deadline == 0) {
			smarm__unlock(&s->lock);
			return -ETIMEDOUT;
		}
		s->flags |= JOINING;
		s->joiner = self;
		smarm__wait_prepare(self, "join", s);
		smarm__unlock(&s->lock);
		intptr_t r = smarm__park(deadline);
		/* JOINING keeps everyone else off the slot, so it still has our
		 * generation: whether we were woken, timed out or are being
		 * stopped, the slot's state decides. */
		smarm__lock(&s->lock);
		s->flags &= ~JOINING;
		s->joiner = NULL;
		if (!(s->flags & EXITED)) {
			smarm__unlock(&s->lock);
			return r < 0 ? (int)r : -ETIMEDOUT;
		}
	}
	int rc = status_of(s, value, info);
	char *reason = slot_free(s, pid_index(pid));
	smarm__unlock(&s->lock);
	if (unlikely(reason != NULL))
		free(reason);
	return rc;
}

/* Drop our JOINING mark from the first n slots of a group. */
static void unjoin(const smarm_pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct smarm__slot *s = lookup(pids[i]);
		if (!s)
			continue; /* cannot happen: JOINING pins the generation */
		s->flags &= ~JOINING;
		s->joiner = NULL;
		smarm__unlock(&s->lock);
	}
}

/* How many of the group have ended; *first gets the lowest such index. */
static size_t group_exited(const smarm_pid_t *pids, size_t n, size_t *first)
{
	size_t k = 0;

	*first = n;
	for (size_t i = 0; i < n; i++) {
		struct smarm__slot *s = lookup(pids[i]);
		if (!s)
			continue;
		if (s->flags & EXITED) {
			if (k++ == 0)
				*first = i;
		}
		smarm__unlock(&s->lock);
	}
	return k;
}

/* Collect slot i of a group (EXITED, JOINING ours).  0 or -EOWNERDEAD. */
static int group_collect(smarm_pid_t pid, struct smarm_exit_info *info)
{
	struct smarm__slot *s = lookup(pid);
	char *reason;
	int rc;

	smarm_assert(s && (s->flags & EXITED));
	rc = status_of(s, NULL, info);
	reason = slot_free(s, pid_index(pid));
	smarm__unlock(&s->lock);
	free(reason);
	return rc;
}

/* A join group: mark every slot JOINING with us as the joiner (so each exit
 * wakes us, under the same protocol as a single join), then wait until the
 * condition holds: any one, or all, EXITED.  Each wake-up rescans the group
 * (O(n) slot locks); an exit that happens while we scan still wakes us,
 * because we are WAITING from before the scan. */
int smarm__pid_join_set(const smarm_pid_t *pids, size_t n, bool all,
			struct smarm_exit_info *infos, int64_t deadline)
{
	struct smarm__actor *self = smarm__self();
	size_t marked, k, first;
	int err = 0;

	if (!self)
		return -EPERM;
	if (!pids || n == 0)
		return -EINVAL;
	for (marked = 0; marked < n; marked++) {
		struct smarm__slot *s;
		if (pids[marked] == self->pid) {
			err = -EDEADLK;
			break;
		}
		if (!(s = lookup(pids[marked]))) {
			err = -ESRCH;
			break;
		}
		if (s->flags & (DETACHED | JOINING)) {
			smarm__unlock(&s->lock);
			err = -EINVAL;
			break;
		}
		s->flags |= JOINING;
		s->joiner = self;
		smarm__unlock(&s->lock);
	}
	if (err) {
		unjoin(pids, marked);
		return err;
	}
	k = group_exited(pids, n, &first);
	while (all ? k < n : k == 0) {
		intptr_t r;
		bool ready;
		if (deadline == 0) {
			err = -ETIMEDOUT;
			break;
		}
		smarm__wait_prepare(self, all ? "join all" : "join any", (void *)pids);
		k = group_exited(pids, n, &first);
		ready = all ? k == n : k > 0;
		if (ready)
			smarm__wake(self, 0); /* do not wait: park returns at once */
		r = smarm__park(ready ? -1 : deadline);
		if (ready)
			break;
		k = group_exited(pids, n, &first);
		if (r < 0 && (all ? k < n : k == 0)) {
			err = (int)r;
			break;
		}
	}
	if (err) {
		unjoin(pids, n);
		return err;
	}
	if (!all) {
		int rc = group_collect(pids[first], infos);
		(void)rc;
		unjoin(pids, first);
		unjoin(pids + first + 1, n - first - 1);
		return (int)first;
	}
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if (group_collect(pids[i], infos ? &infos[i] : NULL) < 0)
			bad++;
	return bad;
}

int smarm__pid_detach(smarm_pid_t pid)
{
	struct smarm__slot *s = lookup(pid);

	if (!s)
		return -ESRCH;
	if (s->flags & (DETACHED | JOINING)) {
		smarm__unlock(&s->lock);
		return -EINVAL;
	}
	if (s->flags & EXITED)
		slot_free(s, pid_index(pid));
	else
		s->flags |= DETACHED;
	smarm__unlock(&s->lock);
	return 0;
}

size_t smarm__pid_used(void)
{
	return atomic_load_explicit(&used, memory_order_relaxed);
}

/* pid's slot, locked, if its actor is live (not only unjoined); NULL
 * otherwise.  Never switches. */
static struct smarm__slot *lookup_live(smarm_pid_t pid)
{
	struct smarm__slot *s = lookup(pid);

	if (s && !(s->flags & LIVE)) {
		smarm__unlock(&s->lock);
		s = NULL;
	}
	return s;
}

int smarm__pid_name(smarm_pid_t pid, char *buf, size_t len)
{
	struct smarm__slot *s = lookup_live(pid);

	if (!s)
		return -ESRCH;
	snprintf(buf, len, "%s", s->actor->name);
	smarm__unlock(&s->lock);
	return 0;
}

/* ---- for reports (dump.c, deadlock.c) ---- */

uint32_t smarm__pid_slots(void)
{
	uint32_t n;

	smarm__lock(&free_lock);
	n = nslots;
	smarm__unlock(&free_lock);
	return n;
}

bool smarm__pid_visit(uint32_t i, void (*fn)(struct smarm__actor *a, void *arg), void *arg)
{
	struct smarm__slot *s = slot_at(i);
	bool live;

	if (!s)
		return false;
	smarm__lock(&s->lock);
	live = (s->flags & LIVE) && s->actor;
	if (live)
		fn(s->actor, arg);
	smarm__unlock(&s->lock);
	return live;
}

smarm_pid_t smarm__pid_of_slot(const void *slot)
{
	const struct smarm__slot *s = slot;

	for (uint32_t k = 0; k < MAX_CHUNKS; k++) {
		struct smarm__slot *c = atomic_load_explicit(&chunks[k], memory_order_acquire);
		if (!c)
			break;
		if (s >= c && s < c + CHUNK)
			return ((uint64_t)__atomic_load_n(&s->gen, __ATOMIC_RELAXED) << 32) |
			       ((uint32_t)(k * CHUNK + (uint32_t)(s - c)) + 1);
	}
	return 0;
}

int smarm__pid_set_name(smarm_pid_t pid, const char *name)
{
	struct smarm__slot *s = lookup_live(pid);

	if (!s)
		return -ESRCH;
	strncpy(s->actor->name, name, sizeof s->actor->name - 1);
	s->actor->name[sizeof s->actor->name - 1] = 0;
	smarm__unlock(&s->lock);
	return 0;
}

/* fork.c: in a fork's child only `keep` runs on.  Every other live actor
 * becomes DEAD so that no waker can make it runnable (smarm__wake's CAS
 * fails), and every lock a vanished thread may have held is free again. */
void smarm__pid_fork_child(struct smarm__actor *keep)
{
	free_lock = (smarm__lock_t)SMARM__LOCK_INIT;
	for (uint32_t i = 0; i < nslots; i++) {
		struct smarm__slot *s = slot_at(i);
		if (!s)
			break;
		s->lock = (smarm__lock_t)SMARM__LOCK_INIT;
		if ((s->flags & LIVE) && s->actor && s->actor != keep)
			atomic_store(&s->actor->state, SMARM__DEAD);
	}
}
