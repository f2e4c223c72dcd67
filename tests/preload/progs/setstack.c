/* setstack.c — threads on stacks the program supplies
 * (pthread_attr_setstack): the thread's locals live there, getattr_np
 * reports the stack as given, join returns the value, and the program may
 * scribble over the stack as soon as join returns (done 300 times with one
 * buffer, one and several threads at a time). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (256 << 10)

static char *stacks[4];

static void *fn(void *a)
{
	volatile char local = 1;
	pthread_attr_t at;
	void *lo;
	size_t size;
	long i = (long)a;

	if (i < 0) {
		char *s = stacks[-i - 1];
		pthread_getattr_np(pthread_self(), &at);
		pthread_attr_getstack(&at, &lo, &size);
		pthread_attr_destroy(&at);
		printf("local on the given stack: %s\n",
		       (char *)&local >= s && (char *)&local < s + SIZE ? "yes" : "no");
		printf("getattr_np reports it as given: %s\n",
		       lo == s && size == SIZE ? "yes" : "no");
	}
	return (void *)(i * 3 + local);
}

static void *run(pthread_attr_t *a, char *stack, long arg)
{
	pthread_t t;
	void *v = NULL;

	pthread_attr_setstack(a, stack, SIZE);
	if (pthread_create(&t, a, fn, (void *)arg) != 0)
		exit(2);
	pthread_join(t, &v);
	memset(stack, 0xa5, SIZE); /* ours again, at once */
	return v;
}

int main(void)
{
	pthread_attr_t a;
	pthread_t t[4];
	long sum = 0;
	void *v;

	for (int i = 0; i < 4; i++)
		stacks[i] = aligned_alloc(4096, SIZE);
	pthread_attr_init(&a);
	printf("value %ld\n", (long)run(&a, stacks[0], -1));
	for (long i = 0; i < 300; i++)
		sum += (long)run(&a, stacks[i % 2], i);
	printf("300 joins, sum %ld\n", sum);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 4; i++) {
			pthread_attr_setstack(&a, stacks[i], SIZE);
			pthread_create(&t[i], &a, fn, (void *)(long)i);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], &v);
			sum += (long)v;
			memset(stacks[i], 0x5a, SIZE);
		}
	}
	printf("then 50 rounds of 4, sum %ld\n", sum);
	pthread_attr_destroy(&a);
	for (int i = 0; i < 4; i++)
		free(stacks[i]);
	return 0;
}
