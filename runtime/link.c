/* link.c — links, monitors, exit trapping, and the notices an actor's end
 * sends to its parent, its links and its monitors.
 *
 * Owns: the lists in struct smarm__fate (internal.h): links (each link is
 * two struct smarm__link, one in each end's fate) and monitors (each is two
 * struct smarm__monitor with the same ref: one in the watched actor's
 * `monitors`, one in the watcher's `watching`, so that whichever ends first
 * takes the other half away and nothing piles up in a long-lived actor
 * watched by short-lived ones).  Every list is read and written under its
 * owner's slot lock, which also pins the owner: smarm__pid_lock fails once
 * the owner has passed smarm__pid_exit, and pid_exit detaches the fate
 * under that same lock, so after it nobody but the ending actor can reach
 * its lists.
 *
 * Linking and monitoring take two slot locks at once, in index order (the
 * only places in the runtime that hold two; nothing else takes a slot lock
 * while holding another), so a link or a monitor exists on both sides or on
 * neither.  An ending actor walks its detached lists and, for each other
 * end, takes that end's lock to remove its half and, for a link, to stop it
 * (or, if it traps exits, to decide to send a notice after unlocking:
 * posting takes the lock again).
 *
 * Nothing allocates or frees under a slot lock: nodes and fates are made
 * before, and freed after.
 *
 * Lock order: slot lock (one, or two in index order) -> what smarm__wake
 * and smarm__mbox_post take.
 */
#include <string.h>

#include "internal.h"

static _Atomic uint64_t next_ref = 1;

int smarm__notice_kind(int how)
{
	return how == SMARM_EXIT_NORMAL ? SMARM_MSG_EXIT
	       : how == SMARM_EXIT_TIMEOUT ? SMARM_MSG_TIMEOUT
				   : SMARM_MSG_PANIC;
}

size_t smarm__notice_fill(struct smarm_notice *n, smarm_pid_t pid, const char *name,
			  int how, void *value, const char *reason, int via, uint64_t ref)
{
	int r;

	memset(n, 0, offsetof(struct smarm_notice, reason));
	n->pid = pid;
	n->ref = ref;
	n->value = how == SMARM_EXIT_NORMAL ? value : NULL;
	n->how = how;
	n->via = via;
	snprintf(n->name, sizeof n->name, "%s", name ? name : "");
	r = snprintf(n->reason, sizeof n->reason, "%s", reason ? reason : "");
	if (r < 0)
		r = 0;
	if ((size_t)r >= sizeof n->reason)
		r = sizeof n->reason - 1;
	return offsetof(struct smarm_notice, reason) + (size_t)r + 1;
}

/* Remove the link node naming `pid` from *l; returns it (or NULL). */
static struct smarm__link *unlink_node(struct smarm__link **l, smarm_pid_t pid)
{
	for (; *l; l = &(*l)->next) {
		if ((*l)->pid == pid) {
			struct smarm__link *n = *l;
			*l = n->next;
			return n;
		}
	}
	return NULL;
}

static bool linked(struct smarm__fate *f, smarm_pid_t pid)
{
	for (struct smarm__link *l = f ? f->links : NULL; l; l = l->next)
		if (l->pid == pid)
			return true;
	return false;
}

/* Lock the slots of the caller and `pid` in index order.  NULL if pid is
 * not live (nothing locked). */
static struct smarm__actor *lock_pair(struct smarm__actor *self, smarm_pid_t pid,
				      struct smarm__slot **mine, struct smarm__slot **theirs)
{
	struct smarm__actor *a;

	if ((uint32_t)self->pid < (uint32_t)pid) {
		smarm_assert(smarm__pid_lock(self->pid, mine) == self);
		if (!(a = smarm__pid_lock(pid, theirs)))
			smarm__pid_unlock(*mine);
	} else {
		if (!(a = smarm__pid_lock(pid, theirs)))
			return NULL;
		smarm_assert(smarm__pid_lock(self->pid, mine) == self);
	}
	return a;
}

/* lock_pair, with a fate record ready for each side: an actor that has none
 * yet gets a spare, allocated with the locks dropped (malloc may switch) and
 * then installed under them by smarm__fate_of.  NULL with *err = -ESRCH or
 * -ENOMEM; the spares the caller frees either way. */
static struct smarm__actor *lock_pair_fated(struct smarm__actor *self, smarm_pid_t pid,
					    struct smarm__slot **mine,
					    struct smarm__slot **theirs,
					    struct smarm__fate **spare1,
					    struct smarm__fate **spare2, int *err)
{
	struct smarm__actor *a;

	for (;;) {
		if (!(a = lock_pair(self, pid, mine, theirs))) {
			*err = -ESRCH;
			return NULL;
		}
		if ((self->fate || *spare1) && (a->fate || *spare2))
			return a;
		smarm__pid_unlock(*mine);
		smarm__pid_unlock(*theirs);
		if ((!*spare1 && !(*spare1 = smarm__fate_new())) ||
		    (!*spare2 && !(*spare2 = smarm__fate_new()))) {
			*err = -ENOMEM;
			return NULL;
		}
	}
}

int smarm_link(smarm_pid_t pid)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__slot *mine, *theirs;
	struct smarm__fate *spare1 = NULL, *spare2 = NULL;
	struct smarm__link *n1, *n2;
	int err = 0;

	if (!self)
		return -EPERM;
	if (pid == self->pid)
		return 0;
	n1 = malloc(sizeof *n1);
	n2 = malloc(sizeof *n2);
	if (!n1 || !n2) {
		err = -ENOMEM;
		goto out;
	}
	if (!(a = lock_pair_fated(self, pid, &mine, &theirs, &spare1, &spare2, &err)))
		goto out;
	struct smarm__fate *fs = smarm__fate_of(self, &spare1);
	struct smarm__fate *fa = smarm__fate_of(a, &spare2);
	if (!linked(fs, pid)) {
		n1->pid = pid;
		n1->next = fs->links;
		fs->links = n1;
		n2->pid = self->pid;
		n2->next = fa->links;
		fa->links = n2;
		n1 = n2 = NULL;
	}
	smarm__pid_unlock(theirs);
	smarm__pid_unlock(mine);
out:
	free(n1);
	free(n2);
	free(spare1);
	free(spare2);
	return err;
}

void smarm__link_spawned(struct smarm__actor *self, struct smarm__actor *a,
			 struct smarm__link *back, struct smarm__fate **spare)
{
	struct smarm__slot *mine;
	struct smarm__fate *f;

	smarm_assert(smarm__pid_lock(self->pid, &mine) == self);
	f = smarm__fate_of(self, spare);
	back->pid = a->pid;
	back->next = f->links;
	f->links = back;
	smarm__pid_unlock(mine);
}

int smarm_unlink(smarm_pid_t pid)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__slot *mine, *theirs;
	struct smarm__link *n1 = NULL, *n2 = NULL;

	if (!self)
		return -EPERM;
	if (pid == self->pid)
		return 0;
	if ((a = lock_pair(self, pid, &mine, &theirs))) {
		if (self->fate)
			n1 = unlink_node(&self->fate->links, pid);
		if (a->fate)
			n2 = unlink_node(&a->fate->links, self->pid);
		smarm__pid_unlock(theirs);
		smarm__pid_unlock(mine);
	} else {
		/* pid has ended: its end removed our half of the link from us,
		 * or is about to; nothing to do on its side. */
		smarm_assert(smarm__pid_lock(self->pid, &mine) == self);
		if (self->fate)
			n1 = unlink_node(&self->fate->links, pid);
		smarm__pid_unlock(mine);
	}
	free(n1);
	free(n2);
	return 0;
}

int smarm_trap_exits(int on)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__fate *spare = NULL, *f;
	struct smarm__slot *mine;
	int old;

	if (!self)
		return -EPERM;
	if (!self->fate && !(spare = smarm__fate_new()))
		return -ENOMEM;
	smarm_assert(smarm__pid_lock(self->pid, &mine) == self);
	f = smarm__fate_of(self, &spare);
	smarm_assert(f != NULL); /* a fate, once there, stays until pid_exit */
	old = f->trap;
	f->trap = on != 0;
	smarm__pid_unlock(mine);
	free(spare);
	return old;
}

/* Remove the monitor end naming (pid, ref) from *l; returns it (or NULL). */
static struct smarm__monitor *unwatch_node(struct smarm__monitor **l, smarm_pid_t pid,
					   uint64_t ref)
{
	for (; *l; l = &(*l)->next) {
		if ((*l)->pid == pid && (*l)->ref == ref) {
			struct smarm__monitor *m = *l;
			*l = m->next;
			return m;
		}
	}
	return NULL;
}

int smarm_monitor(smarm_pid_t pid, uint64_t *ref)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__fate *spare1 = NULL, *spare2 = NULL, *fs, *fa;
	struct smarm__monitor *m1, *m2;
	struct smarm__slot *mine, *theirs;
	int err = 0;

	if (!self)
		return -EPERM;
	if (!ref || pid == self->pid)
		return -EINVAL;
	m1 = malloc(sizeof *m1);
	m2 = malloc(sizeof *m2);
	if (!m1 || !m2) {
		err = -ENOMEM;
		goto out;
	}
	if (!(a = lock_pair_fated(self, pid, &mine, &theirs, &spare1, &spare2, &err)))
		goto out;
	fs = smarm__fate_of(self, &spare1);
	fa = smarm__fate_of(a, &spare2);
	m1->pid = self->pid;
	m2->pid = pid;
	m1->ref = m2->ref = atomic_fetch_add_explicit(&next_ref, 1, memory_order_relaxed);
	m1->next = fa->monitors;
	fa->monitors = m1;
	m2->next = fs->watching;
	fs->watching = m2;
	*ref = m1->ref;
	m1 = m2 = NULL;
	smarm__pid_unlock(theirs);
	smarm__pid_unlock(mine);
out:
	free(m1);
	free(m2);
	free(spare1);
	free(spare2);
	return err;
}

int smarm_demonitor(smarm_pid_t pid, uint64_t ref)
{
	struct smarm__actor *self = smarm__self(), *a;
	struct smarm__monitor *m1 = NULL, *m2 = NULL;
	struct smarm__slot *mine, *theirs;

	if (!self)
		return -EPERM;
	if (pid == self->pid)
		return -ENOENT;
	if (!(a = lock_pair(self, pid, &mine, &theirs))) {
		/* It has ended: its end took our half away (or is about to). */
		return -ESRCH;
	}
	if (a->fate)
		m1 = unwatch_node(&a->fate->monitors, self->pid, ref);
	if (self->fate)
		m2 = unwatch_node(&self->fate->watching, pid, ref);
	smarm__pid_unlock(theirs);
	smarm__pid_unlock(mine);
	free(m1);
	free(m2);
	return m1 ? 0 : -ENOENT;
}

/* Take the half (pid, ref) out of the `watching` (or, with mon, the
 * `monitors`) list of actor `who`, if it still lives.  Never switches. */
static void drop_half(smarm_pid_t who, smarm_pid_t pid, uint64_t ref, bool mon)
{
	struct smarm__monitor *half = NULL;
	struct smarm__actor *a;
	struct smarm__slot *slot;

	if (!(a = smarm__pid_lock(who, &slot)))
		return;
	if (a->fate)
		half = unwatch_node(mon ? &a->fate->monitors : &a->fate->watching, pid, ref);
	smarm__pid_unlock(slot);
	free(half);
}

/* The other end of a link: take our half out of its list, and stop it
 * unless it traps exits (then it gets a notice) or we ended normally.
 * Never switches. */
static void link_signal(struct smarm__actor *self, smarm_pid_t to, int how, void *value,
			const char *reason, struct smarm_notice *n)
{
	struct smarm__actor *a;
	struct smarm__slot *slot;
	struct smarm__link *half = NULL;
	bool trap = false;

	if (!(a = smarm__pid_lock(to, &slot)))
		return; /* it has ended too; its end took its half away */
	if (a->fate) {
		half = unlink_node(&a->fate->links, self->pid);
		trap = a->fate->trap;
	}
	if (!trap && how != SMARM_EXIT_NORMAL && a->fate) {
		char why[SMARM_REASON_MAX], pid[32];
		snprintf(why, sizeof why, "linked actor %s (%s) %s: %s",
			 smarm_pid_format(self->pid, pid, sizeof pid), self->name,
			 how == SMARM_EXIT_PANIC ? "panicked"
			 : how == SMARM_EXIT_KILLED ? "was killed"
			 : how == SMARM_EXIT_SHUTDOWN ? "was shut down" : "timed out",
			 reason);
		smarm__request_locked(a, SMARM_EXIT_KILLED, why);
	}
	smarm__pid_unlock(slot);
	free(half);
	if (trap) {
		size_t len = smarm__notice_fill(n, self->pid, self->name, how, value, reason,
						SMARM_VIA_LINK, 0);
		smarm__mbox_post(to, smarm__notice_kind(how), self->pid, n, len);
	}
}

void smarm__fate_deliver(struct smarm__actor *self, struct smarm__fate *f, int how,
			 void *value, const char *reason)
{
	struct smarm_notice n;
	size_t len;

	if (f->parent) {
		len = smarm__notice_fill(&n, self->pid, self->name, how, value, reason,
					 SMARM_VIA_CHILD, 0);
		smarm__mbox_post(f->parent, smarm__notice_kind(how), self->pid, &n, len);
	}
	while (f->links) {
		struct smarm__link *l = f->links;
		f->links = l->next;
		link_signal(self, l->pid, how, value, reason, &n);
		free(l);
	}
	while (f->monitors) {
		struct smarm__monitor *m = f->monitors;
		f->monitors = m->next;
		drop_half(m->pid, self->pid, m->ref, false);
		len = smarm__notice_fill(&n, self->pid, self->name, how, value, reason,
					 SMARM_VIA_MONITOR, m->ref);
		smarm__mbox_post(m->pid, SMARM_MSG_DOWN, self->pid, &n, len);
		free(m);
	}
	while (f->watching) {
		struct smarm__monitor *m = f->watching;
		f->watching = m->next;
		drop_half(m->pid, self->pid, m->ref, true);
		free(m);
	}
	free(f);
}
