/* fault.c — faults inside actors, for test_faults.c.
 *
 *   fault MODE
 * spawns a "ticker" that counts every 100 us, then a child "victim" (a
 * SMARM_SPAWN_CHILD) that runs MODE:
 *   null     load from address 0                        (SIGSEGV)
 *   wild     store to a read-only page                  (SIGSEGV, ACCERR)
 *   div      integer division by zero                   (SIGFPE)
 *   ill      ud2                                        (SIGILL)
 *   overflow unbounded recursion                        (guard hit)
 *   cleanup  a panic whose cleanup handler faults
 *   runtime  a bad pointer handed to smarm_send: the fault is inside a
 *            runtime call, so the process must crash
 * The faulting instructions are inline asm so that UBSan cannot turn them
 * into reports of its own.  The victim's parent receives its notice and
 * prints "notice kind=<k> how=<how> reason=<reason>" and "from_victim=1"
 * (the notice names the victim's pid), checks that the
 * ticker still ticks afterwards ("ticks_after=<n>"), prints how many of the
 * victim's cleanup handlers ran ("cleanups=<n>"), and exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "smarm.h"

static _Atomic long ticks;
static _Atomic int cleanups;
static const char *mode;

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		ticks++;
		if (smarm_sleep(SMARM_USEC(100)) < 0)
			return NULL;
	}
}

static int dive(int depth);
static int (*volatile deeper)(int) = dive;

static int dive(int depth)
{
	volatile char frame[240];

	frame[0] = (char)depth;
	__asm__ volatile("" : : "r"(frame) : "memory");
	return deeper(depth + 1) + frame[0];
}

static int load(const int *p)
{
	int v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static void store(int *p)
{
	__asm__ volatile("movl $1, (%0)" : : "r"(p) : "memory");
}

static int divide(int a, int b)
{
	int q;

	__asm__ volatile("cltd\n\tidivl %[d]" : "=a"(q) : "0"(a), [d] "r"(b) : "edx", "cc");
	return q;
}

static void count_cleanup(void *arg)
{
	(void)arg;
	cleanups++;
}

static void faulting_cleanup(void *arg)
{
	(void)arg;
	cleanups++;
	load((const int *)(uintptr_t)8);
}

static volatile int zero;
static int *volatile nowhere;

static void *victim(void *arg)
{
	struct smarm_cleanup c1, c2;

	(void)arg;
	smarm_sleep(SMARM_MSEC(2)); /* let the ticker get going */
	smarm_cleanup_push(&c1, count_cleanup, NULL);
	if (strcmp(mode, "cleanup") == 0) {
		smarm_cleanup_push(&c2, faulting_cleanup, NULL);
		smarm_panic("first panic");
	}
	smarm_cleanup_push(&c2, count_cleanup, NULL);
	if (strcmp(mode, "null") == 0) {
		load(nowhere);
	} else if (strcmp(mode, "wild") == 0) {
		int *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		store(ro);
	} else if (strcmp(mode, "div") == 0) {
		printf("%d\n", divide(7, zero));
	} else if (strcmp(mode, "ill") == 0) {
		__asm__ volatile("ud2");
	} else if (strcmp(mode, "overflow") == 0) {
		dive(0);
	} else if (strcmp(mode, "runtime") == 0) {
		smarm_send(smarm_self(), (const void *)(uintptr_t)16, 4096);
	}
	smarm_cleanup_pop(&c2, 0);
	smarm_cleanup_pop(&c1, 0);
	return (void *)1;
}

/* The victim's parent.  (Not smarm_main itself: that one ends in exit(),
 * which would leave a mailbox for LeakSanitizer to find.) */
static void *boss(void *arg)
{
	struct smarm_spawn_opts o = {.name = "victim", .flags = SMARM_SPAWN_CHILD |
								SMARM_SPAWN_DETACHED};
	struct smarm_notice n;
	smarm_pid_t tick, vic;
	long before;
	int k;

	(void)arg;
	smarm_spawn(&tick, ticker, NULL, &(struct smarm_spawn_opts){.name = "ticker"});
	if (smarm_spawn(&vic, victim, NULL, &o) != 0)
		return (void *)3;
	k = smarm_recv(&n, sizeof n, NULL, SMARM_SEC(10));
	printf("notice kind=%d how=%s reason=%s\n", k, smarm_exit_str(n.how), n.reason);
	printf("from_victim=%d\n", k > 0 && n.pid == vic);
	before = ticks;
	/* 20 ms, or longer on a loaded machine: up to 2 s for 6 ticks.  A
	 * ticker that stopped with the victim never gets there. */
	for (int64_t end = smarm_now() + SMARM_SEC(2);
	     smarm_now() < end && ticks - before <= 5;)
		smarm_sleep(SMARM_MSEC(20));
	printf("ticks_after=%ld\n", ticks - before);
	printf("cleanups=%d\n", cleanups);
	smarm_kill(tick, NULL);
	smarm_join(tick, NULL);
	fflush(stdout);
	return NULL;
}

int smarm_main(int argc, char **argv)
{
	smarm_pid_t b;
	void *rc = (void *)4;

	if (argc < 2) {
		fprintf(stderr, "usage: fault MODE\n");
		return 2;
	}
	mode = argv[1];
	if (smarm_spawn(&b, boss, NULL, NULL) == 0)
		smarm_join(b, &rc);
	return (int)(intptr_t)rc;
}
