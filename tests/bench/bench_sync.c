/* bench_sync.c — messages and locks: smarm against native pthreads, in one
 * run.  Prints a table; never asserts timings.
 *
 *   channel ping-pong     two actors, two unbounded channels, round trips;
 *                         1 and 2 carriers; vs two threads handing a turn
 *                         over with a pthread mutex + condvar
 *   mailbox ping-pong     the same over smarm_send/smarm_recv
 *   uncontended mutex     lock+unlock pairs, one actor vs one thread
 *   contended mutex       2 actors on 2 carriers vs 2 threads, same loop
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "smarm.h"

#define PINGS 200000
#define UNCONTENDED 10000000
#define CONTENDED 1000000

static double per_op(int64_t ns, long ops)
{
	return (double)ns / (double)ops;
}

static void row(const char *what, double smarm, double native)
{
	if (native > 0)
		printf("%-34s %10.1f %10.1f %8.2fx\n", what, smarm, native, smarm / native);
	else
		printf("%-34s %10.1f %10s %9s\n", what, smarm, "-", "-");
}

static int run(smarm_fn fn, void *arg, int carriers)
{
	struct smarm_config cfg = {.carriers = carriers};
	int rc = smarm_run(fn, arg, &cfg, NULL);

	if (rc != 0) {
		fprintf(stderr, "smarm_run: %d\n", rc);
		exit(1);
	}
	return rc;
}

/* ---- channel ping-pong ------------------------------------------------ */

struct pp {
	smarm_chan_t *to, *back;
	int64_t ns;
};

static void *ponger(void *arg)
{
	struct pp *p = arg;
	uint64_t v;

	while (smarm_chan_recv(p->to, &v, SMARM_FOREVER) == 0)
		smarm_chan_send(p->back, &v, SMARM_FOREVER);
	return NULL;
}

static void *chan_pingpong(void *arg)
{
	struct pp *p = arg;
	smarm_pid_t pid;
	uint64_t v = 0;

	smarm_chan_new(&p->to, sizeof v, SMARM_CHAN_UNBOUNDED);
	smarm_chan_new(&p->back, sizeof v, SMARM_CHAN_UNBOUNDED);
	smarm_spawn(&pid, ponger, p, NULL);
	for (int i = 0; i < 1000; i++) { /* warm up */
		smarm_chan_send(p->to, &v, SMARM_FOREVER);
		smarm_chan_recv(p->back, &v, SMARM_FOREVER);
	}
	int64_t t0 = smarm_now();
	for (uint64_t i = 0; i < PINGS; i++) {
		smarm_chan_send(p->to, &i, SMARM_FOREVER);
		smarm_chan_recv(p->back, &v, SMARM_FOREVER);
	}
	p->ns = smarm_now() - t0;
	smarm_chan_close(p->to);
	smarm_join(pid, NULL);
	smarm_chan_free(p->to);
	smarm_chan_free(p->back);
	return NULL;
}

/* ---- mailbox ping-pong -------------------------------------------------- */

static void *mail_ponger(void *arg)
{
	uint64_t v;
	smarm_pid_t from;

	(void)arg;
	for (;;) {
		if (smarm_recv_from(&from, &v, sizeof v, NULL, SMARM_FOREVER) < 0 || v == UINT64_MAX)
			return NULL;
		smarm_send(from, &v, sizeof v);
	}
}

static void *mail_pingpong(void *arg)
{
	int64_t *ns = arg;
	smarm_pid_t pid;
	uint64_t v = 0;

	smarm_spawn(&pid, mail_ponger, NULL, NULL);
	for (int i = 0; i < 1000; i++) {
		smarm_send(pid, &v, sizeof v);
		smarm_recv(&v, sizeof v, NULL, SMARM_FOREVER);
	}
	int64_t t0 = smarm_now();
	for (uint64_t i = 0; i < PINGS; i++) {
		smarm_send(pid, &i, sizeof i);
		smarm_recv(&v, sizeof v, NULL, SMARM_FOREVER);
	}
	*ns = smarm_now() - t0;
	v = UINT64_MAX;
	smarm_send(pid, &v, sizeof v);
	smarm_join(pid, NULL);
	return NULL;
}

/* ---- native: two threads hand a turn over with mutex + condvar ----------- */

static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	int turn;
} nat = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void *native_ponger(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&nat.m);
	for (long i = 0; i < PINGS + 1000; i++) {
		while (nat.turn != 1)
			pthread_cond_wait(&nat.c, &nat.m);
		nat.turn = 0;
		pthread_cond_signal(&nat.c);
	}
	pthread_mutex_unlock(&nat.m);
	return NULL;
}

static double native_pingpong(void)
{
	pthread_t t;
	int64_t t0 = 0;

	pthread_create(&t, NULL, native_ponger, NULL);
	pthread_mutex_lock(&nat.m);
	for (long i = 0; i < PINGS + 1000; i++) {
		if (i == 1000)
			t0 = smarm_now();
		nat.turn = 1;
		pthread_cond_signal(&nat.c);
		while (nat.turn != 0)
			pthread_cond_wait(&nat.c, &nat.m);
	}
	int64_t ns = smarm_now() - t0;
	pthread_mutex_unlock(&nat.m);
	pthread_join(t, NULL);
	return per_op(ns, PINGS);
}

/* ---- uncontended mutex ------------------------------------------------ */

static void *uncontended(void *arg)
{
	int64_t *ns = arg;
	smarm_mutex_t m = SMARM_MUTEX_INIT;

	for (int i = 0; i < 100000; i++) {
		smarm_mutex_lock(&m, SMARM_FOREVER);
		smarm_mutex_unlock(&m);
	}
	int64_t t0 = smarm_now();
	for (int i = 0; i < UNCONTENDED; i++) {
		smarm_mutex_lock(&m, SMARM_FOREVER);
		smarm_mutex_unlock(&m);
	}
	*ns = smarm_now() - t0;
	return NULL;
}

static double native_uncontended(void)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	for (int i = 0; i < 100000; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	}
	int64_t t0 = smarm_now();
	for (int i = 0; i < UNCONTENDED; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	}
	return per_op(smarm_now() - t0, UNCONTENDED);
}

/* ---- contended mutex -------------------------------------------------- */

static struct {
	smarm_mutex_t m;
	pthread_mutex_t pm;
	volatile long counter;
} con = {SMARM_MUTEX_INIT, PTHREAD_MUTEX_INITIALIZER, 0};

static void *contender(void *arg)
{
	(void)arg;
	for (int i = 0; i < CONTENDED; i++) {
		smarm_mutex_lock(&con.m, SMARM_FOREVER);
		con.counter++;
		smarm_mutex_unlock(&con.m);
	}
	return NULL;
}

static void *contended(void *arg)
{
	int64_t *ns = arg;
	smarm_pid_t p[2];

	int64_t t0 = smarm_now();
	for (int i = 0; i < 2; i++)
		smarm_spawn(&p[i], contender, NULL, NULL);
	for (int i = 0; i < 2; i++)
		smarm_join(p[i], NULL);
	*ns = smarm_now() - t0;
	return NULL;
}

static void *native_contender(void *arg)
{
	(void)arg;
	for (int i = 0; i < CONTENDED; i++) {
		pthread_mutex_lock(&con.pm);
		con.counter++;
		pthread_mutex_unlock(&con.pm);
	}
	return NULL;
}

static double native_contended(void)
{
	pthread_t t[2];
	int64_t t0 = smarm_now();

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, native_contender, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return per_op(smarm_now() - t0, 2L * CONTENDED);
}

int main(void)
{
	struct pp p1, p2;
	int64_t mail1, mail2, unc, con2;

	run(chan_pingpong, &p1, 1);
	run(chan_pingpong, &p2, 2);
	run(mail_pingpong, &mail1, 1);
	run(mail_pingpong, &mail2, 2);
	run(uncontended, &unc, 1);
	run(contended, &con2, 2);
	double nat_pp = native_pingpong();
	double nat_unc = native_uncontended();
	double nat_con = native_contended();

	printf("%-34s %10s %10s %9s\n", "ns per op", "smarm", "pthread", "ratio");
	row("chan ping-pong round trip, 1 carr", per_op(p1.ns, PINGS), nat_pp);
	row("chan ping-pong round trip, 2 carr", per_op(p2.ns, PINGS), nat_pp);
	row("mailbox ping-pong rt, 1 carrier", per_op(mail1, PINGS), nat_pp);
	row("mailbox ping-pong rt, 2 carriers", per_op(mail2, PINGS), nat_pp);
	row("uncontended mutex lock+unlock", per_op(unc, UNCONTENDED), nat_unc);
	row("contended mutex, 2 x lock+unlock", per_op(con2, 2L * CONTENDED), nat_con);
	printf("(pthread ping-pong: two threads, mutex + condvar turn hand-off)\n");
	return 0;
}
