/* mailbox.c — every actor's mailbox: an unbounded FIFO of copied messages
 * addressed by pid.
 *
 * Owns: struct mbox (hung off struct smarm__actor.mbox) and its messages.
 *
 * A mailbox is made on first use, by its owner's first receive or by the
 * first message sent to it, and installed with a CAS on a->mbox, so two
 * first users race harmlessly (the loser frees its copy).  It is freed by
 * smarm__mbox_free when the actor ends (pid.c's smarm__pid_exit calls it).
 *
 * A sender pins the target with smarm__pid_lock for the time it needs
 * a->mbox, which is what makes a send to an ending actor safe: either the
 * pin succeeds and the actor cannot finish exiting (and so cannot free its
 * mailbox) until the message is queued, or it fails and the send is -ESRCH.
 * This relies on smarm__pid_exit calling smarm__mbox_free under the slot
 * lock, after it has made pid_lock unable to return the actor.
 *
 * Only the owner takes messages, so at most one party ever waits (the owner,
 * in smarm_recv); a sender wakes it after queuing, and the owner takes the
 * message itself under the lock.  Messages are malloc'd by the sender before
 * any lock is taken and freed by the receiver after the lock is dropped.
 *
 * Invariants, under mb->lock: head == NULL iff n == 0 iff tailp == &head;
 * waitq holds at most the owner's node, and only while head == NULL (or
 * just before the owner notices a new message).
 *
 * Lock order: slot lock (pid.c) -> mailbox lock -> scheduler locks.
 */
#include <string.h>

#include "internal.h"
#include "waitq.h"

struct msg {
	struct msg *next;   /* [lock] */
	smarm_pid_t from;   /* [sender] 0 when not an actor */
	int kind;           /* [sender] SMARM_MSG_DATA or a runtime notice */
	size_t len;         /* [sender] bytes in data */
	unsigned char data[];
};

struct mbox {
	smarm__lock_t lock;
	struct msg *head;           /* [lock] oldest */
	struct msg **tailp;         /* [lock] where the next message is linked */
	size_t n;                   /* [lock] messages queued */
	struct smarm__wnode *waitq; /* [lock] the owner while it waits */
};

/* Never switches (in link mode). */
static struct mbox *mbox_new(void)
{
	struct mbox *mb = calloc(1, sizeof *mb);

	if (mb)
		mb->tailp = &mb->head;
	return mb;
}

/* The mailbox of an actor that cannot end meanwhile (the caller itself, or
 * one pinned by pid_lock); NULL if there is none yet.  Never switches. */
static struct mbox *mbox_of(struct smarm__actor *a)
{
	return __atomic_load_n((struct mbox **)&a->mbox, __ATOMIC_ACQUIRE);
}

/* Install `fresh` as a's mailbox unless it has one; returns the one that
 * won.  *fresh becomes NULL when it was used.  Never switches. */
static struct mbox *mbox_install(struct smarm__actor *a, struct mbox **fresh)
{
	void *expect = NULL;

	if (__atomic_compare_exchange_n(&a->mbox, &expect, *fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		expect = *fresh;
		*fresh = NULL;
	}
	return expect;
}

/* Never switches (in link mode). */
int smarm__mbox_post(smarm_pid_t to, int kind, smarm_pid_t from, const void *data,
		     size_t len)
{
	struct smarm__slot *slot;
	struct smarm__actor *a;
	struct mbox *mb, *spare = NULL;
	struct smarm__wnode *n;
	struct msg *m;

	if ((!data && len) || kind < 0 || len > SIZE_MAX - sizeof *m)
		return -EINVAL;
	m = malloc(sizeof *m + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->from = from;
	m->kind = kind;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	for (;;) {
		a = smarm__pid_lock(to, &slot);
		if (!a) {
			free(m);
			free(spare);
			return -ESRCH;
		}
		mb = mbox_of(a);
		if (!mb && spare)
			mb = mbox_install(a, &spare);
		if (mb)
			break;
		/* Allocate the mailbox without holding the pin, then look again. */
		smarm__pid_unlock(slot);
		spare = mbox_new();
		if (!spare) {
			free(m);
			return -ENOMEM;
		}
	}
	smarm__lock(&mb->lock);
	*mb->tailp = m;
	mb->tailp = &m->next;
	mb->n++;
	while ((n = smarm__wq_pop(&mb->waitq)))
		if (smarm__wq_claim(n->w)) {
			smarm__wq_wake(n->w, 0, 0);
			break;
		}
	smarm__unlock(&mb->lock);
	smarm__pid_unlock(slot);
	free(spare);
	return 0;
}

/* Never switches (in link mode). */
int smarm_send(smarm_pid_t to, const void *msg, size_t len)
{
	return smarm__mbox_post(to, SMARM_MSG_DATA, smarm_self(), msg, len);
}

/* May switch. */
int smarm_recv_from(smarm_pid_t *from, void *buf, size_t cap, size_t *len,
		    int64_t timeout)
{
	struct smarm__actor *self = smarm__self();
	struct smarm__wait w;
	struct smarm__wnode node;
	struct mbox *mb, *fresh;
	struct msg *m;
	int64_t deadline = 0;
	bool deadline_set = false;
	int r;

	if (!self)
		return -EPERM;
	if (!buf && cap)
		return -EINVAL;
	mb = mbox_of(self);
	if (!mb) {
		if (!(fresh = mbox_new()))
			return -ENOMEM;
		mb = mbox_install(self, &fresh);
		free(fresh);
	}
	smarm__lock(&mb->lock);
	for (;;) {
		m = mb->head;
		if (m) {
			if (m->len > cap) {
				if (len)
					*len = m->len;
				smarm__unlock(&mb->lock);
				return -EMSGSIZE;
			}
			mb->head = m->next;
			if (!mb->head)
				mb->tailp = &mb->head;
			mb->n--;
			smarm__unlock(&mb->lock);
			if (m->len)
				memcpy(buf, m->data, m->len);
			if (len)
				*len = m->len;
			if (from)
				*from = m->from;
			r = m->kind;
			free(m);
			return r;
		}
		if (timeout == 0) {
			smarm__unlock(&mb->lock);
			return -ETIMEDOUT;
		}
		if (!deadline_set) {
			deadline = smarm__deadline(timeout);
			deadline_set = true;
		}
		smarm__wq_init(&w, self);
		smarm__wq_node(&node, &w, NULL, 0, 0);
		smarm__wq_prepare(&w, "mailbox", mb);
		smarm__wq_push(&mb->waitq, &node);
		smarm__unlock(&mb->lock);
		r = smarm__wq_park(&w, deadline);
		smarm__lock(&mb->lock);
		if (r < 0) {
			if (smarm__wq_queued(&node))
				smarm__wq_remove(&mb->waitq, &node);
			/* A message that raced with the timer is taken now. */
			if (r == -ETIMEDOUT && mb->head)
				continue;
			smarm__unlock(&mb->lock);
			return r;
		}
	}
}

/* May switch. */
int smarm_recv(void *buf, size_t cap, size_t *len, int64_t timeout)
{
	return smarm_recv_from(NULL, buf, cap, len, timeout);
}

/* Never switches. */
size_t smarm_mailbox_len(void)
{
	struct smarm__actor *self = smarm__self();
	struct mbox *mb;
	size_t n;

	if (!self || !(mb = mbox_of(self)))
		return 0;
	smarm__lock(&mb->lock);
	n = mb->n;
	smarm__unlock(&mb->lock);
	return n;
}

/* Free a's mailbox and every message in it.  Called by actor.c when a ends,
 * once nobody can pin it any more.  Never switches. */
void smarm__mbox_free(struct smarm__actor *a)
{
	struct mbox *mb = __atomic_exchange_n((struct mbox **)&a->mbox, NULL,
					      __ATOMIC_ACQ_REL);
	struct msg *m, *next;

	if (!mb)
		return;
	smarm__lock(&mb->lock);
	smarm_assert(smarm__wq_empty(&mb->waitq));
	m = mb->head;
	mb->head = NULL;
	smarm__unlock(&mb->lock);
	for (; m; m = next) {
		next = m->next;
		free(m);
	}
	free(mb);
}
