/* supervisor.c — Erlang/OTP-style supervisors.
 *
 * A supervisor is an ordinary actor running sup_main(): it traps exits,
 * spawns each child linked (SMARM_SPAWN_LINK | SMARM_SPAWN_DETACHED) so
 * that every end of a child arrives as a notice in its mailbox and every
 * end of the supervisor stops its children, and then loops on its mailbox.
 * Everything it knows lives in struct sup, owned by the supervisor actor;
 * the only thing other actors read is kids[].pid (smarm_sup_children),
 * under sup.lock, reaching the struct through the supervisor's fate while
 * holding its slot lock (so it cannot be freed under them: the supervisor
 * unpublishes it under that same slot lock before freeing it).
 *
 * A child's end (its LINK notice):
 *   1. the child is marked not running;
 *   2. its restart type decides whether anything is restarted (PERMANENT:
 *      always; TRANSIENT: unless NORMAL or SHUTDOWN; TEMPORARY: never);
 *   3. restart intensity: the times of the last intensity+1 restarts are
 *      kept in a ring; if all of them fall within `period`, the supervisor
 *      gives up: it stops every child and ends with SMARM_EXIT_SHUTDOWN;
 *   4. the strategy picks the group: ONE_FOR_ONE the child alone;
 *      ONE_FOR_ALL every child; REST_FOR_ONE the child and those after it.
 *      The running members other than the child are stopped in reverse
 *      start order, then the members are started in start order (a
 *      TEMPORARY member that was stopped stays down).
 * Stopping a child is smarm__exit_request(SHUTDOWN) and a wait, of at most
 * its `shutdown` time, for its notice.  Notices of other children that come
 * meanwhile are queued (pend) and handled after the current restart, so no
 * end is lost and each is handled once.
 *
 * The supervisor stops (asked by smarm_stop/smarm_kill: its receives fail
 * with -ECANCELED; or an abnormal end of a linked actor that is not a
 * child, such as its own parent) by deferring further stop requests,
 * stopping every child in reverse start order, and ending.  It frees its
 * state from a cleanup handler, so even an unexpected panic of the
 * supervisor releases it (and its links then stop the children).
 *
 * Messages sent to a supervisor that are not child notices are dropped.
 * Never switches, except where it receives (sup_main and what it calls).
 */
#include <string.h>

#include "internal.h"

void (*smarm__sup_trace)(smarm_pid_t sup, const char *child, smarm_pid_t pid);

#define DEFAULT_SHUTDOWN SMARM_SEC(5)
#define DEFAULT_PERIOD SMARM_SEC(5)
#define DEFAULT_INTENSITY 1
#define MAX_INTENSITY 100000
#define MAX_CHILDREN 4096

struct kid {
	struct smarm_child_spec spec; /* [init] spec.name points at name */
	char name[16];                /* [init] */
	smarm_pid_t pid;              /* [lock] 0: not running */
	bool again;                   /* restart it in the group restart under way */
};

struct sup {
	smarm__lock_t lock;           /* kids[].pid, for smarm_sup_children */
	struct smarm__actor *self;
	int strategy;
	int intensity;                /* restarts allowed within period (>= 0) */
	int64_t period;
	size_t n;
	struct kid *kids;
	int64_t *ring;                /* times of the last intensity + 1 restarts */
	size_t ring_len, ring_head;
	struct smarm_notice *pend;    /* child notices that came while we waited
	                               * for another child */
	size_t npend, cappend;
	bool stopping;                /* asked to stop: finish, then end */
	bool published;               /* reachable through our fate */
};

static int check_spec(const struct smarm_sup_spec *spec)
{
	if (!spec || spec->strategy < SMARM_ONE_FOR_ONE || spec->strategy > SMARM_REST_FOR_ONE ||
	    spec->intensity > MAX_INTENSITY || spec->period < 0 ||
	    spec->nchildren > MAX_CHILDREN || (spec->nchildren && !spec->children))
		return -EINVAL;
	for (size_t i = 0; i < spec->nchildren; i++) {
		const struct smarm_child_spec *c = &spec->children[i];
		if (!c->fn || c->restart < SMARM_PERMANENT || c->restart > SMARM_TEMPORARY ||
		    c->timeout < 0 || c->shutdown < 0 || c->stack_size > ((size_t)1 << 30))
			return -EINVAL;
	}
	return 0;
}

/* ---- state -------------------------------------------------------------- */

static void sup_free(void *p)
{
	struct sup *s = p;
	struct smarm__slot *slot;

	if (s->published) {
		/* Unpublish under our slot lock: readers hold it. */
		smarm_assert(smarm__pid_lock(s->self->pid, &slot) == s->self);
		s->self->fate->sup = NULL;
		smarm__pid_unlock(slot);
	}
	free(s->kids);
	free(s->ring);
	free(s->pend);
	free(s);
}

static struct sup *sup_new(struct smarm__actor *self, const struct smarm_sup_spec *spec)
{
	struct sup *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->self = self;
	s->strategy = spec->strategy;
	s->intensity = spec->intensity < 0 ? 0
		       : spec->intensity == 0 ? DEFAULT_INTENSITY : spec->intensity;
	s->period = spec->period ? spec->period : DEFAULT_PERIOD;
	s->n = spec->nchildren;
	s->kids = calloc(s->n ? s->n : 1, sizeof *s->kids);
	s->ring = calloc((size_t)s->intensity + 1, sizeof *s->ring);
	if (!s->kids || !s->ring) {
		sup_free(s);
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct kid *k = &s->kids[i];
		k->spec = spec->children[i];
		snprintf(k->name, sizeof k->name, "%s", k->spec.name ? k->spec.name : "");
		k->spec.name = k->name;
		if (!k->spec.shutdown)
			k->spec.shutdown = DEFAULT_SHUTDOWN;
	}
	return s;
}

static void set_pid(struct sup *s, size_t i, smarm_pid_t pid)
{
	smarm__lock(&s->lock);
	s->kids[i].pid = pid;
	smarm__unlock(&s->lock);
}

static ptrdiff_t find(struct sup *s, smarm_pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i].pid == pid)
			return (ptrdiff_t)i;
	return -1;
}

/* ---- receiving notices ---------------------------------------------------- */

/* The next message: a child or link notice (its kind), 0 for anything else
 * (dropped), or smarm_recv's error.  May switch. */
static int recv_notice(struct smarm_notice *n, int64_t timeout)
{
	size_t len = 0;
	int k = smarm_recv(n, sizeof *n, &len, timeout);

	if (k == -EMSGSIZE) {
		/* Not ours (notices fit): drop it. */
		void *big = malloc(len);
		if (!big)
			return -ENOMEM;
		smarm_recv(big, len, NULL, 0);
		free(big);
		return 0;
	}
	if (k < 0)
		return k;
	if ((k == SMARM_MSG_EXIT || k == SMARM_MSG_PANIC || k == SMARM_MSG_TIMEOUT) &&
	    len > offsetof(struct smarm_notice, reason) &&
	    (n->via == SMARM_VIA_LINK || n->via == SMARM_VIA_CHILD)) {
		n->reason[sizeof n->reason - 1] = '\0';
		return k;
	}
	return 0;
}

static bool take_pend(struct sup *s, smarm_pid_t pid)
{
	for (size_t i = 0; i < s->npend; i++) {
		if (s->pend[i].pid == pid) {
			memmove(&s->pend[i], &s->pend[i + 1], (s->npend - i - 1) * sizeof *s->pend);
			s->npend--;
			return true;
		}
	}
	return false;
}

static void push_pend(struct sup *s, const struct smarm_notice *n)
{
	if (s->npend == s->cappend) {
		size_t cap = s->cappend ? 2 * s->cappend : 8;
		void *p = realloc(s->pend, cap * sizeof *s->pend);
		if (!p) {
			char pid[32];
			smarm__msg("supervisor: out of memory; the end of %s (%s) is lost",
				   smarm_pid_format(n->pid, pid, sizeof pid), n->name);
			return;
		}
		s->pend = p;
		s->cappend = cap;
	}
	s->pend[s->npend++] = *n;
}

/* We are asked to stop: from now on wait for children without being
 * interrupted, and end once they are stopped. */
static void asked_to_stop(struct sup *s)
{
	s->stopping = true;
	smarm__exit_defer(s->self);
}

/* Wait up to `limit` ns for child pid's notice.  May switch. */
static void wait_end(struct sup *s, smarm_pid_t pid, const char *name, int64_t limit)
{
	int64_t deadline = smarm__now() + limit;
	struct smarm_notice n;

	if (take_pend(s, pid))
		return;
	for (;;) {
		int64_t left = deadline - smarm__now();
		int k = left > 0 ? recv_notice(&n, left) : -ETIMEDOUT;
		if (k == -ETIMEDOUT) {
			char p[32], me[32];
			smarm__msg("supervisor %s: child %s (%s) did not stop within %lld ms; "
				   "abandoned", smarm_pid_format(s->self->pid, me, sizeof me),
				   smarm_pid_format(pid, p, sizeof p), name,
				   (long long)(limit / 1000000));
			return;
		}
		if (k == -ECANCELED) {
			asked_to_stop(s);
			continue;
		}
		if (k <= 0)
			continue;
		if (n.pid == pid)
			return;
		push_pend(s, &n);
	}
}

/* ---- starting and stopping children ---------------------------------------- */

static int start(struct sup *s, size_t i)
{
	struct kid *k = &s->kids[i];
	struct smarm_spawn_opts o = {
		.stack_size = k->spec.stack_size,
		.name = k->name,
		.flags = SMARM_SPAWN_DETACHED | SMARM_SPAWN_LINK,
		.timeout = k->spec.timeout,
	};
	smarm_pid_t pid;
	int rc = smarm_spawn(&pid, k->spec.fn, k->spec.arg, &o);

	if (rc == 0) {
		set_pid(s, i, pid);
		if (smarm__sup_trace)
			smarm__sup_trace(s->self->pid, k->name, pid);
	}
	return rc;
}

/* Stop child i if it runs, and wait for its end.  May switch. */
static void stop(struct sup *s, size_t i)
{
	struct kid *k = &s->kids[i];
	smarm_pid_t pid = k->pid;

	if (!pid)
		return;
	/* -ESRCH: it has ended by itself; its notice is queued or coming. */
	smarm__exit_request(pid, SMARM_EXIT_SHUTDOWN, "shutdown");
	wait_end(s, pid, k->name, k->spec.shutdown);
	set_pid(s, i, 0);
}

/* Stop every child, last started first, and end the supervisor.  how
 * NORMAL: as a stop request says (smarm__actor_end).  May switch; does not
 * return. */
__attribute__((noreturn)) static void terminate(struct sup *s, int how, const char *reason)
{
	char why[SMARM_REASON_MAX];

	smarm__fmt(why, sizeof why, "%s", reason ? reason : "");
	smarm__exit_defer(s->self);
	for (size_t i = s->n; i-- > 0;)
		stop(s, i);
	/* sup_free runs as our cleanup handler. */
	smarm__actor_end(s->self, how, NULL, reason ? why : NULL, SMARM__END_HANDLERS);
}

__attribute__((noreturn)) static void give_up(struct sup *s, const char *reason)
{
	terminate(s, SMARM_EXIT_SHUTDOWN, reason);
}

/* Record a restart now; false if that makes more than `intensity` restarts
 * within `period`. */
static bool intensity_ok(struct sup *s)
{
	size_t cap = (size_t)s->intensity + 1;
	int64_t now = smarm__now();

	s->ring[s->ring_head] = now;
	s->ring_head = (s->ring_head + 1) % cap;
	if (s->ring_len < cap)
		s->ring_len++;
	if (s->ring_len < cap)
		return true;
	/* The ring is full: ring[head] is the oldest of the last cap. */
	return now - s->ring[s->ring_head] > s->period;
}

static bool wants_restart(int restart, int how)
{
	switch (restart) {
	case SMARM_PERMANENT: return true;
	case SMARM_TRANSIENT: return how != SMARM_EXIT_NORMAL && how != SMARM_EXIT_SHUTDOWN;
	default: return false;
	}
}

static void start_or_give_up(struct sup *s, size_t i)
{
	int rc = start(s, i);

	if (rc < 0) {
		char why[SMARM_REASON_MAX];
		smarm__fmt(why, sizeof why, "shutdown: cannot restart child %s (error %d)",
			   s->kids[i].name, rc);
		give_up(s, why);
	}
}

/* Restart child i (which has ended) with the group the strategy says. */
static void restart(struct sup *s, size_t i)
{
	size_t from;

	if (s->strategy == SMARM_ONE_FOR_ONE) {
		start_or_give_up(s, i);
		return;
	}
	from = s->strategy == SMARM_ONE_FOR_ALL ? 0 : i;
	for (size_t j = s->n; j-- > from;) {
		struct kid *k = &s->kids[j];
		k->again = j == i || (k->pid && k->spec.restart != SMARM_TEMPORARY);
		if (j != i)
			stop(s, j);
	}
	if (s->stopping)
		return;
	for (size_t j = from; j < s->n; j++) {
		if (s->kids[j].again) {
			s->kids[j].again = false;
			start_or_give_up(s, j);
		}
	}
}

static void handle(struct sup *s, const struct smarm_notice *n)
{
	ptrdiff_t i = find(s, n->pid);
	char why[SMARM_REASON_MAX], pid[32];

	if (i < 0) {
		/* Not a child: a stale notice, or a linked actor such as our
		 * own parent.  An abnormal end of a link stops us, as it would
		 * an actor that does not trap exits. */
		if (n->via == SMARM_VIA_LINK && n->how != SMARM_EXIT_NORMAL && !s->stopping) {
			smarm__fmt(why, sizeof why, "linked actor %s (%s) ended (%s): %s",
				   smarm_pid_format(n->pid, pid, sizeof pid), n->name,
				   smarm_exit_str(n->how), n->reason);
			terminate(s, SMARM_EXIT_KILLED, why);
		}
		return;
	}
	set_pid(s, (size_t)i, 0);
	if (s->stopping || !wants_restart(s->kids[i].spec.restart, n->how))
		return;
	if (!intensity_ok(s)) {
		smarm__fmt(why, sizeof why,
			   "shutdown: restart intensity reached (more than %d restarts in %lld ms; "
			   "last: child %s, %s: %s)", s->intensity,
			   (long long)(s->period / 1000000), s->kids[i].name,
			   smarm_exit_str(n->how), n->reason);
		give_up(s, why);
	}
	restart(s, (size_t)i);
}

/* ---- the supervisor actor -------------------------------------------------- */

__attribute__((noreturn)) static void sup_main(const struct smarm_sup_spec *spec, void *owned)
{
	struct smarm__actor *self = smarm__self();
	struct smarm_cleanup cleanup;
	struct smarm_notice n;
	struct smarm__slot *slot;
	struct sup *s;

	if (!self)
		smarm_panic("a supervisor must run in an actor");
	if (check_spec(spec) < 0) {
		free(owned);
		smarm_panic("invalid supervisor specification");
	}
	s = sup_new(self, spec);
	free(owned);
	if (!s)
		smarm_panic("supervisor: out of memory");
	smarm_cleanup_push(&cleanup, sup_free, s);
	if (smarm_trap_exits(1) < 0)
		smarm_panic("supervisor: out of memory");
	smarm_assert(smarm__pid_lock(self->pid, &slot) == self);
	self->fate->sup = s; /* trap_exits made the fate */
	s->published = true;
	smarm__pid_unlock(slot);

	for (size_t i = 0; i < s->n && !s->stopping; i++) {
		int rc = start(s, i);
		if (rc < 0) {
			char why[SMARM_REASON_MAX];
			smarm__fmt(why, sizeof why, "shutdown: cannot start child %s (error %d)",
				   s->kids[i].name, rc);
			give_up(s, why);
		}
	}
	for (;;) {
		int k;
		if (s->npend) {
			n = s->pend[0];
			memmove(&s->pend[0], &s->pend[1], (s->npend - 1) * sizeof *s->pend);
			s->npend--;
			handle(s, &n);
			continue;
		}
		if (s->stopping || smarm__exit_due(self) ||
		    (atomic_load(&self->exit_req) & SMARM__EXIT_HOW))
			break;
		k = recv_notice(&n, SMARM_FOREVER);
		if (k == -ECANCELED)
			break;
		if (k > 0)
			handle(s, &n);
	}
	asked_to_stop(s);
	terminate(s, SMARM_EXIT_NORMAL, NULL);
}

void *smarm_supervisor(void *spec)
{
	sup_main(spec, NULL);
}

/* smarm_sup_start's entry: the spec is a copy we own. */
static void *sup_owned(void *copy)
{
	sup_main(copy, copy);
}

int smarm_sup_start(smarm_pid_t *pid, const struct smarm_sup_spec *spec,
		    const struct smarm_spawn_opts *opts)
{
	struct smarm_spawn_opts o = {0};
	struct smarm_sup_spec *copy;
	struct smarm_child_spec *kids;
	char (*names)[16];
	size_t n;
	int rc;

	if ((rc = check_spec(spec)) < 0)
		return rc;
	n = spec->nchildren;
	/* One block: the spec, its children, their names. */
	copy = malloc(sizeof *copy + n * (sizeof *kids + 16));
	if (!copy)
		return -ENOMEM;
	kids = (struct smarm_child_spec *)(copy + 1);
	names = (char (*)[16])(kids + n);
	*copy = *spec;
	copy->children = kids;
	for (size_t i = 0; i < n; i++) {
		kids[i] = spec->children[i];
		snprintf(names[i], 16, "%s", kids[i].name ? kids[i].name : "");
		kids[i].name = names[i];
	}
	if (opts)
		o = *opts;
	if (!o.name)
		o.name = "supervisor";
	if ((rc = smarm_spawn(pid, sup_owned, copy, &o)) < 0)
		free(copy);
	return rc;
}

int smarm_sup_children(smarm_pid_t sup, smarm_pid_t *pids, size_t n)
{
	struct smarm__actor *a;
	struct smarm__slot *slot;
	struct sup *s;
	int count;

	if (!pids && n)
		return -EINVAL;
	if (!(a = smarm__pid_lock(sup, &slot)))
		return -ESRCH;
	if (!a->fate || !(s = a->fate->sup)) {
		smarm__pid_unlock(slot);
		return -ESRCH;
	}
	smarm__lock(&s->lock);
	count = (int)s->n;
	for (size_t i = 0; i < n && i < s->n; i++)
		pids[i] = s->kids[i].pid;
	smarm__unlock(&s->lock);
	smarm__pid_unlock(slot);
	return count;
}
