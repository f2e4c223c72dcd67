/* chan.c — channels: FIFO queues of fixed-size elements between actors (and
 * foreign threads), bounded, unbounded or rendezvous, with select.
 *
 * Owns: struct smarm_chan, its element ring and its two wait queues.
 *
 * A channel is one smarm__lock_t over a ring of elements and two queues of
 * parked parties (waitq.h): receivers, whose node->data is where the element
 * goes, and senders, whose node->data is the element they offer.  Elements
 * go straight from a sender to a parked receiver's buffer, or from a parked
 * sender into the ring (or straight to a receiver when there is no ring),
 * the way Go's channels do: a woken party never has to come back for the
 * lock to finish its operation.
 *
 * Invariants, under ch->lock:
 *   - recvq non-empty  =>  len == 0 and no sender could complete
 *     (receivers park only on an empty channel, and any send first serves
 *     receivers).  Nodes whose wait was given up may linger until their
 *     owner removes them; every pop claims first and skips those.
 *   - sendq non-empty  =>  len == bound (full; bound is 0 for rendezvous).
 *   - closed  =>  both queues are empty (close wakes everybody, and nobody
 *     parks on a closed channel).
 *   - len <= ringcap; for a bounded channel ringcap == bound.
 *
 * Nothing here allocates or frees memory with a lock held (in drop-in mode
 * malloc is the shim's, which may switch before or after the allocation):
 * an unbounded channel grows by dropping the lock, allocating, and retrying.
 *
 * Lock order: channels are locked one at a time, except by select, which
 * locks all of its channels in address order; then waitq.h's order (channel
 * lock -> scheduler locks).
 */
#include <string.h>
#include <x86intrin.h>

#include "internal.h"
#include "waitq.h"

#define GROW_FIRST 16    /* slots in an unbounded channel's first ring */
#define SHRINK_ABOVE 256 /* an emptied unbounded ring larger than this is freed */

struct smarm_chan {
	smarm__lock_t lock;
	bool closed;                /* [lock] set once by close */
	size_t esize;               /* [new] element size, bytes */
	size_t bound;               /* [new] most elements queued: capacity, 0 for
				     * rendezvous, SIZE_MAX when unbounded */
	char *ring;                 /* [lock] ringcap slots of esize bytes */
	size_t ringcap;             /* [lock] */
	size_t head;                /* [lock] slot of the oldest element */
	size_t len;                 /* [lock] elements queued */
	struct smarm__wnode *recvq; /* [lock] parked receivers; data = buffer */
	struct smarm__wnode *sendq; /* [lock] parked senders; data = element */
};

/* Internal result of the *_locked helpers: the ring is full and may grow. */
#define NEED_ROOM (-ENOSPC)

/* Never switches. */
static inline void copy_elem(void *dst, const void *src, size_t n)
{
	if (n == sizeof(void *))
		memcpy(dst, src, sizeof(void *)); /* the pointer-passing case, inlined */
	else
		memcpy(dst, src, n);
}

/* Never switches. */
static inline char *slot(struct smarm_chan *ch, size_t i)
{
	size_t k = ch->head + i;

	if (k >= ch->ringcap)
		k -= ch->ringcap;
	return ch->ring + k * ch->esize;
}

/* Send without waiting, lock held.  0 sent; -EPIPE closed; -EAGAIN it would
 * have to wait; NEED_ROOM an unbounded ring is full.  Never switches. */
static int send_locked(struct smarm_chan *ch, const void *elem)
{
	struct smarm__wnode *n;

	if (ch->closed)
		return -EPIPE;
	while ((n = smarm__wq_pop(&ch->recvq))) {
		if (!smarm__wq_claim(n->w))
			continue;
		copy_elem(n->data, elem, ch->esize);
		smarm__wq_wake(n->w, n->index, 0);
		return 0;
	}
	if (ch->len >= ch->bound)
		return -EAGAIN;
	if (ch->len == ch->ringcap)
		return NEED_ROOM;
	copy_elem(slot(ch, ch->len), elem, ch->esize);
	ch->len++;
	return 0;
}

/* Receive without waiting, lock held.  0 received; -EPIPE closed and empty;
 * -EAGAIN it would have to wait.  *freeme gets a ring to free after
 * unlocking (an emptied unbounded ring that had grown large).
 * Never switches. */
static int recv_locked(struct smarm_chan *ch, void *buf, void **freeme)
{
	struct smarm__wnode *n;

	if (ch->len > 0) {
		copy_elem(buf, slot(ch, 0), ch->esize);
		if (++ch->head == ch->ringcap)
			ch->head = 0;
		ch->len--;
		/* A slot is free: the first live parked sender fills it. */
		while ((n = smarm__wq_pop(&ch->sendq))) {
			if (!smarm__wq_claim(n->w))
				continue;
			copy_elem(slot(ch, ch->len), n->data, ch->esize);
			ch->len++;
			smarm__wq_wake(n->w, n->index, 0);
			break;
		}
		if (ch->len == 0 && ch->bound == SIZE_MAX && ch->ringcap > SHRINK_ABOVE) {
			*freeme = ch->ring;
			ch->ring = NULL;
			ch->ringcap = 0;
			ch->head = 0;
		}
		return 0;
	}
	/* Nothing queued: a rendezvous sender hands its element over directly. */
	while ((n = smarm__wq_pop(&ch->sendq))) {
		if (!smarm__wq_claim(n->w))
			continue;
		copy_elem(buf, n->data, ch->esize);
		smarm__wq_wake(n->w, n->index, 0);
		return 0;
	}
	return ch->closed ? -EPIPE : -EAGAIN;
}

/* Give an unbounded channel a ring twice the size it had when we looked.
 * Called without the lock.  Never switches (in link mode). */
static int grow(struct smarm_chan *ch)
{
	size_t want, seen;
	char *p, *old = NULL;

	smarm__lock(&ch->lock);
	seen = ch->ringcap;
	smarm__unlock(&ch->lock);
	want = seen ? seen * 2 : GROW_FIRST;
	if (want < seen || want > SIZE_MAX / ch->esize)
		return -ENOMEM;
	p = malloc(want * ch->esize);
	if (!p)
		return -ENOMEM;
	smarm__lock(&ch->lock);
	if (ch->ringcap < want) {
		for (size_t i = 0; i < ch->len; i++)
			copy_elem(p + i * ch->esize, slot(ch, i), ch->esize);
		old = ch->ring;
		ch->ring = p;
		ch->ringcap = want;
		ch->head = 0;
		p = NULL;
	}
	smarm__unlock(&ch->lock);
	free(old);
	free(p);
	return 0;
}

/* Never switches. */
int smarm_chan_new(smarm_chan_t **out, size_t elem_size, size_t capacity)
{
	struct smarm_chan *ch;

	if (!out || elem_size == 0 || elem_size > SMARM_CHAN_ELEM_MAX ||
	    (capacity > SMARM_CHAN_MAX && capacity != SMARM_CHAN_RENDEZVOUS))
		return -EINVAL;
	ch = calloc(1, sizeof *ch);
	if (!ch)
		return -ENOMEM;
	ch->esize = elem_size;
	if (capacity == SMARM_CHAN_UNBOUNDED) {
		ch->bound = SIZE_MAX;
	} else if (capacity == SMARM_CHAN_RENDEZVOUS) {
		ch->bound = 0;
	} else {
		ch->bound = capacity;
		if (capacity > SIZE_MAX / elem_size ||
		    !(ch->ring = malloc(capacity * elem_size))) {
			free(ch);
			return -ENOMEM;
		}
		ch->ringcap = capacity;
	}
	*out = ch;
	return 0;
}

/* Never switches. */
void smarm_chan_free(smarm_chan_t *ch)
{
	if (!ch)
		return;
	smarm__lock(&ch->lock);
	smarm_assert(smarm__wq_empty(&ch->recvq) && smarm__wq_empty(&ch->sendq));
	smarm__unlock(&ch->lock);
	free(ch->ring);
	free(ch);
}

/* Never switches. */
int smarm_chan_close(smarm_chan_t *ch)
{
	struct smarm__wnode *n;

	if (!ch)
		return -EINVAL;
	smarm__lock(&ch->lock);
	if (ch->closed) {
		smarm__unlock(&ch->lock);
		return -EPIPE;
	}
	ch->closed = true;
	while ((n = smarm__wq_pop(&ch->recvq)))
		if (smarm__wq_claim(n->w))
			smarm__wq_wake(n->w, n->index, -EPIPE);
	while ((n = smarm__wq_pop(&ch->sendq)))
		if (smarm__wq_claim(n->w))
			smarm__wq_wake(n->w, n->index, -EPIPE);
	smarm__unlock(&ch->lock);
	return 0;
}

/* Never switches. */
size_t smarm_chan_len(smarm_chan_t *ch)
{
	size_t n;

	if (!ch)
		return 0;
	smarm__lock(&ch->lock);
	n = ch->len;
	smarm__unlock(&ch->lock);
	return n;
}

/* After a single-queue park: make sure the waker is done with our node, or
 * take the node out of the queue if we gave up.  Never switches. */
static int finish_wait(struct smarm_chan *ch, struct smarm__wnode **q,
		       struct smarm__wait *w, struct smarm__wnode *n, int r)
{
	if (r == SMARM__WQ_DONE)
		return (int)w->result;
	smarm__lock(&ch->lock);
	if (r < 0 && smarm__wq_queued(n))
		smarm__wq_remove(q, n);
	smarm__unlock(&ch->lock);
	return r < 0 ? r : (int)w->result;
}

/* Send or receive, waiting up to timeout.  May switch. */
static int chan_op(struct smarm_chan *ch, void *buf, int dir, int64_t timeout)
{
	struct smarm__wait w;
	struct smarm__wnode n, **q;
	void *freeme = NULL;
	int r;

	smarm__lock(&ch->lock);
	for (;;) {
		if (dir == SMARM_CHAN_SEND)
			r = send_locked(ch, buf);
		else
			r = recv_locked(ch, buf, &freeme);
		if (likely(r != NEED_ROOM))
			break;
		smarm__unlock(&ch->lock);
		if ((r = grow(ch)) < 0)
			return r;
		smarm__lock(&ch->lock);
	}
	if (r != -EAGAIN || timeout == 0) {
		smarm__unlock(&ch->lock);
		free(freeme);
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}
	/* Wait.  The deadline is taken after the attempt, so never early. */
	smarm__wq_init(&w, smarm__self());
	smarm__wq_node(&n, &w, buf, 0, 0);
	q = dir == SMARM_CHAN_SEND ? &ch->sendq : &ch->recvq;
	smarm__wq_prepare(&w, dir == SMARM_CHAN_SEND ? "chan send" : "chan recv", ch);
	smarm__wq_push(q, &n);
	smarm__unlock(&ch->lock);
	r = smarm__wq_park(&w, smarm__deadline(timeout));
	return finish_wait(ch, q, &w, &n, r);
}

/* May switch. */
int smarm_chan_send(smarm_chan_t *ch, const void *elem, int64_t timeout)
{
	if (unlikely(!ch || !elem))
		return -EINVAL;
	return chan_op(ch, (void *)elem, SMARM_CHAN_SEND, timeout);
}

/* May switch. */
int smarm_chan_recv(smarm_chan_t *ch, void *elem, int64_t timeout)
{
	if (unlikely(!ch || !elem))
		return -EINVAL;
	return chan_op(ch, elem, SMARM_CHAN_RECV, timeout);
}

/* Never switches. */
int smarm_chan_try_send(smarm_chan_t *ch, const void *elem)
{
	int r = smarm_chan_send(ch, elem, 0);
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

/* Never switches. */
int smarm_chan_try_recv(smarm_chan_t *ch, void *elem)
{
	int r = smarm_chan_recv(ch, elem, 0);
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

/* ---- select ------------------------------------------------------------- */

/* Distinct channels of a select, sorted by address: the lock order. 
 * Never switches. */
static size_t sorted_chans(const struct smarm_chan_op *ops, size_t n,
			   struct smarm_chan **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct smarm_chan *c = ops[i].ch;
		size_t j;

		if (!c)
			continue;
		for (j = k; j > 0 && out[j - 1] > c; j--)
			;
		if (j > 0 && out[j - 1] == c)
			continue;
		memmove(out + j + 1, out + j, (k - j) * sizeof *out);
		out[j] = c;
		k++;
	}
	return k;
}

/* Never switches. */
static void lock_all(struct smarm_chan **chs, size_t k)
{
	for (size_t i = 0; i < k; i++)
		smarm__lock(&chs[i]->lock);
}

/* Never switches. */
static void unlock_all(struct smarm_chan **chs, size_t k)
{
	for (size_t i = k; i-- > 0;)
		smarm__unlock(&chs[i]->lock);
}

/* A random permutation of 0..n-1 (Fisher-Yates over a per-call xorshift
 * seeded from the TSC): ready cases are chosen uniformly, as in Go.
 * Never switches. */
static void shuffle(uint8_t *perm, size_t n, const void *salt)
{
	uint64_t x = __rdtsc() ^ ((uintptr_t)salt * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < n; i++)
		perm[i] = (uint8_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)((x >> 32) % i);
		uint8_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* May switch. */
int smarm_chan_select(struct smarm_chan_op *ops, size_t n, int64_t timeout)
{
	struct smarm_chan *chs[SMARM_CHAN_SELECT_MAX];
	struct smarm__wnode nodes[SMARM_CHAN_SELECT_MAX];
	uint8_t perm[SMARM_CHAN_SELECT_MAX];
	struct smarm__wait w;
	void *freeme = NULL;
	size_t k;
	int r;

	if (!ops || n > SMARM_CHAN_SELECT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (ops[i].ch && (!ops[i].buf || (ops[i].dir != SMARM_CHAN_RECV &&
						  ops[i].dir != SMARM_CHAN_SEND)))
			return -EINVAL;
	k = sorted_chans(ops, n, chs);
	if (k == 0 && timeout < 0)
		return -EDEADLK;
	shuffle(perm, n, ops);

retry:
	lock_all(chs, k);
	for (size_t t = 0; t < n; t++) {
		struct smarm_chan_op *op = &ops[perm[t]];

		if (!op->ch)
			continue;
		if (op->dir == SMARM_CHAN_SEND)
			r = send_locked(op->ch, op->buf);
		else
			r = recv_locked(op->ch, op->buf, &freeme);
		if (r == NEED_ROOM) {
			unlock_all(chs, k);
			if ((r = grow(op->ch)) < 0)
				return r;
			goto retry;
		}
		if (r != -EAGAIN) {
			unlock_all(chs, k);
			free(freeme);
			op->result = r;
			return perm[t];
		}
	}
	if (timeout == 0) {
		unlock_all(chs, k);
		return -ETIMEDOUT;
	}
	smarm__wq_init(&w, smarm__self());
	smarm__wq_prepare(&w, "chan select", k ? (void *)chs[0] : NULL);
	for (size_t i = 0; i < n; i++) {
		struct smarm_chan *c = ops[i].ch;

		if (!c)
			continue;
		smarm__wq_node(&nodes[i], &w, ops[i].buf, 0, (int)i);
		smarm__wq_push(ops[i].dir == SMARM_CHAN_SEND ? &c->sendq : &c->recvq,
			       &nodes[i]);
	}
	unlock_all(chs, k);
	r = smarm__wq_park(&w, smarm__deadline(timeout));

	/* Our other nodes are still queued (or being skipped by wakers); take
	 * them out.  Taking every lock once also waits out a waker that claimed
	 * us but has not finished (WQ_SYNC). */
	for (size_t i = 0; i < n; i++) {
		struct smarm_chan *c = ops[i].ch;

		if (!c)
			continue;
		smarm__lock(&c->lock);
		if (smarm__wq_queued(&nodes[i]))
			smarm__wq_remove(ops[i].dir == SMARM_CHAN_SEND ? &c->sendq : &c->recvq,
					 &nodes[i]);
		smarm__unlock(&c->lock);
	}
	if (r < 0)
		return r;
	ops[w.index].result = (int)w.result;
	return w.index;
}
