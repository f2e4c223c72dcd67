/* test_mailbox.c — mailboxes (mailbox.c): send/recv by pid, the sender's pid,
 * FIFO per sender across carriers, -ESRCH for stale pids, -EMSGSIZE,
 * timeouts, sends from foreign threads, messages freed with their actor. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rt_check.h"

TestSuite(mailbox, .timeout = 60);

#define SLACK SMARM_MSEC(50)

static void *echo(void *arg)
{
	char buf[64];
	size_t len = 0;
	smarm_pid_t from = 0;

	(void)arg;
	CHECK_RC(smarm_recv_from(&from, buf, sizeof buf, &len, SMARM_FOREVER), SMARM_MSG_DATA);
	CHECK(from != 0);
	CHECK_RC(smarm_send(from, buf, len), 0);
	return (void *)len;
}

static void *root_roundtrip(void *arg)
{
	char buf[64] = {0};
	size_t len = 0;
	smarm_pid_t from = 0;

	(void)arg;
	smarm_pid_t e = rt_spawn(echo, NULL, "echo", 0);
	CHECK_RC(smarm_send(e, "hello", 6), 0);
	CHECK_RC(smarm_recv_from(&from, buf, sizeof buf, &len, SMARM_SEC(5)), SMARM_MSG_DATA);
	CHECK_EQ(len, 6);
	CHECK(strcmp(buf, "hello") == 0);
	CHECK_EQ(from, e);
	CHECK_EQ((size_t)rt_join(e), 6);
	return NULL;
}

Test(mailbox, send_and_recv_carry_bytes_and_sender)
{
	rt_run(root_roundtrip, NULL, 2);
}

static void *quick(void *arg)
{
	return arg;
}

static void *root_stale(void *arg)
{
	(void)arg;
	smarm_pid_t p = rt_spawn(quick, NULL, "quick", 0);
	rt_join(p);
	CHECK_RC(smarm_send(p, "x", 1), -ESRCH);
	CHECK_RC(smarm_send(0, "x", 1), -ESRCH);
	CHECK_RC(smarm_send((smarm_pid_t)0xffffffff00001234ull, "x", 1), -ESRCH);
	/* An ended but unjoined actor takes no more mail either. */
	p = rt_spawn(quick, NULL, "quick", 0);
	smarm_sleep(SMARM_MSEC(10));
	CHECK_RC(smarm_send(p, "x", 1), -ESRCH);
	rt_join(p);
	return NULL;
}

Test(mailbox, send_to_stale_pid_is_esrch)
{
	rt_run(root_stale, NULL, 2);
}

static void *root_bad_input(void *arg)
{
	char b[4];
	size_t len;

	(void)arg;
	CHECK_RC(smarm_send(smarm_self(), NULL, 3), -EINVAL);
	CHECK_RC(smarm_recv(NULL, 4, &len, 0), -EINVAL);
	/* Zero-length messages are fine, with or without a buffer. */
	CHECK_RC(smarm_send(smarm_self(), NULL, 0), 0);
	CHECK_EQ(smarm_mailbox_len(), 1);
	len = 99;
	CHECK_RC(smarm_recv(NULL, 0, &len, 0), SMARM_MSG_DATA);
	CHECK_EQ(len, 0);
	CHECK_RC(smarm_recv(b, sizeof b, &len, 0), -ETIMEDOUT);
	return NULL;
}

Test(mailbox, bad_input_is_einval)
{
	rt_run(root_bad_input, NULL, 1);
	size_t len;
	cr_assert_eq(smarm_recv(NULL, 0, &len, 0), -EPERM); /* not an actor */
	cr_assert_eq(smarm_mailbox_len(), 0);
}

static void *root_msgsize(void *arg)
{
	char big[100], small[10], got[100];
	size_t len = 0;

	(void)arg;
	memset(big, 'b', sizeof big);
	CHECK_RC(smarm_send(smarm_self(), big, sizeof big), 0);
	CHECK_RC(smarm_recv(small, sizeof small, &len, 0), -EMSGSIZE);
	CHECK_EQ(len, 100);
	CHECK_EQ(smarm_mailbox_len(), 1); /* still queued */
	CHECK_RC(smarm_recv(got, sizeof got, &len, 0), SMARM_MSG_DATA);
	CHECK_EQ(len, 100);
	CHECK(memcmp(got, big, 100) == 0);
	return NULL;
}

Test(mailbox, too_small_buffer_is_emsgsize_and_keeps_message)
{
	rt_run(root_msgsize, NULL, 1);
}

static void *root_timeout(void *arg)
{
	char b[8];

	(void)arg;
	for (int64_t t = SMARM_MSEC(2); t <= SMARM_MSEC(32); t *= 4) {
		int64_t t0 = smarm_now();
		CHECK_RC(smarm_recv(b, sizeof b, NULL, t), -ETIMEDOUT);
		int64_t dt = smarm_now() - t0;
		CHECK(dt >= t);
		CHECK(dt < t + SLACK);
	}
	return NULL;
}

Test(mailbox, recv_timeout_is_accurate)
{
	rt_run(root_timeout, NULL, 2);
}

#define NSEND 6
#define NMSG (20000 / RT_SCALE)

struct collector {
	smarm_pid_t to;
	int id;
};

static void *mail_sender(void *arg)
{
	struct collector *c = arg;

	for (uint32_t i = 0; i < NMSG; i++) {
		uint32_t m[2] = {(uint32_t)c->id, i};
		CHECK_RC(smarm_send(c->to, m, sizeof m), 0);
	}
	return NULL;
}

static void *root_fifo(void *arg)
{
	struct collector c[NSEND];
	smarm_pid_t p[NSEND];
	uint32_t next[NSEND] = {0};

	(void)arg;
	for (int i = 0; i < NSEND; i++) {
		c[i] = (struct collector){smarm_self(), i};
		p[i] = rt_spawn(mail_sender, &c[i], "sender", 0);
	}
	for (long k = 0; k < (long)NSEND * NMSG; k++) {
		uint32_t m[2];
		size_t len;
		smarm_pid_t from;
		CHECK_RC(smarm_recv_from(&from, m, sizeof m, &len, SMARM_SEC(10)), 0);
		CHECK_EQ(len, sizeof m);
		if (m[0] >= NSEND) {
			CHECK(m[0] < NSEND);
			break;
		}
		CHECK_EQ(from, p[m[0]]);
		CHECK_EQ(m[1], next[m[0]]);
		next[m[0]] = m[1] + 1;
	}
	for (int i = 0; i < NSEND; i++) {
		rt_join(p[i]);
		CHECK_EQ(next[i], NMSG);
	}
	CHECK_EQ(smarm_mailbox_len(), 0);
	return NULL;
}

Test(mailbox, many_senders_across_carriers_fifo_per_sender)
{
	rt_run(root_fifo, NULL, 4);
}

static void *pthread_mailer(void *arg)
{
	smarm_pid_t to = *(smarm_pid_t *)arg;
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
	return (void *)(intptr_t)smarm_send(to, "ping", 5);
}

static void *root_foreign(void *arg)
{
	smarm_pid_t me = smarm_self();
	pthread_t t;
	char buf[8];
	size_t len;
	smarm_pid_t from = 123;
	void *tr;

	(void)arg;
	CHECK_EQ(pthread_create(&t, NULL, pthread_mailer, &me), 0);
	CHECK_RC(smarm_recv_from(&from, buf, sizeof buf, &len, SMARM_SEC(5)), SMARM_MSG_DATA);
	CHECK(strcmp(buf, "ping") == 0);
	CHECK_EQ(from, 0); /* not sent by an actor */
	pthread_join(t, &tr);
	CHECK_EQ((intptr_t)tr, 0);
	return NULL;
}

Test(mailbox, send_from_foreign_pthread_wakes_receiver)
{
	rt_run(root_foreign, NULL, 1);
}

/* Mail left unread is freed with its actor (ASan's leak check sees it). */
static void *never_reads(void *arg)
{
	(void)arg;
	smarm_sleep(SMARM_MSEC(20));
	return NULL;
}

static void *root_unread(void *arg)
{
	(void)arg;
	smarm_pid_t p = rt_spawn(never_reads, NULL, "lazy", 0);
	for (int i = 0; i < 100; i++)
		CHECK_RC(smarm_send(p, "payload", 8), 0);
	rt_join(p);
	return NULL;
}

Test(mailbox, unread_messages_are_freed_with_the_actor)
{
	rt_run(root_unread, NULL, 2);
}

/* Senders racing an actor's exit: each send either lands before the end
 * (and is freed with the mailbox) or fails with -ESRCH. */
static void *short_lived(void *arg)
{
	(void)arg;
	smarm_yield();
	return NULL;
}

struct spam {
	smarm_pid_t *volatile target;
	_Atomic int stop;
};

static void *spammer(void *arg)
{
	struct spam *s = arg;

	while (!atomic_load(&s->stop)) {
		int rc = smarm_send(*s->target, "z", 1);
		if (rc != 0 && rc != -ESRCH)
			CHECK_RC(rc, 0);
		smarm_yield();
	}
	return NULL;
}

static void *root_exit_race(void *arg)
{
	smarm_pid_t target = 0;
	struct spam s = {.target = &target};
	smarm_pid_t sp[3];

	(void)arg;
	for (int i = 0; i < 3; i++)
		sp[i] = rt_spawn(spammer, &s, "spam", 0);
	for (int i = 0; i < 2000 / RT_SCALE; i++) {
		smarm_pid_t p = rt_spawn(short_lived, NULL, "short", 0);
		target = p;
		rt_join(p);
	}
	atomic_store(&s.stop, 1);
	for (int i = 0; i < 3; i++)
		rt_join(sp[i]);
	return NULL;
}

Test(mailbox, sends_racing_the_receivers_exit)
{
	rt_run(root_exit_race, NULL, 2);
}

/* A pinned actor (smarm__pid_lock held) must keep its mailbox: a sender
 * holds the pin while it reads a->mbox and queues into it.  The actor's exit
 * must therefore free the mailbox only after smarm__pid_exit, which waits
 * for the pin.  Here a foreign thread holds the pin while the actor ends and
 * watches a->mbox for 100 ms: it must not be freed under the pin. */
struct pin {
	smarm_pid_t pid;
	_Atomic int go;
	_Atomic int ready;
	int freed_under_pin;
	int pinned;
};

static void *pin_target(void *arg)
{
	struct pin *p = arg;
	char b[1];

	(void)smarm_recv(b, sizeof b, NULL, 0); /* makes the mailbox */
	atomic_store(&p->ready, 1);
	while (!atomic_load(&p->go))
		smarm_yield();
	return NULL;
}

static void *pin_holder(void *arg)
{
	struct pin *p = arg;
	struct smarm__slot *slot;
	struct smarm__actor *a;

	while (!atomic_load(&p->ready))
		sched_yield();
	a = smarm__pid_lock(p->pid, &slot);
	if (!a)
		return NULL;
	p->pinned = 1;
	atomic_store(&p->go, 1);
	int64_t until = smarm_now() + SMARM_MSEC(100);
	while (smarm_now() < until)
		if (__atomic_load_n(&a->mbox, __ATOMIC_ACQUIRE) == NULL) {
			p->freed_under_pin = 1;
			break;
		}
	smarm__pid_unlock(slot);
	return NULL;
}

static void *root_pin(void *arg)
{
	struct pin p = {0};
	pthread_t t;

	(void)arg;
	p.pid = rt_spawn(pin_target, &p, "target", 0);
	CHECK_EQ(pthread_create(&t, NULL, pin_holder, &p), 0);
	rt_join(p.pid);
	pthread_join(t, NULL);
	CHECK(p.pinned);
	CHECK(!p.freed_under_pin);
	return NULL;
}

Test(regress, mailbox_is_not_freed_while_its_actor_is_pinned, .timeout = 30)
{
	rt_run(root_pin, NULL, 2);
}
