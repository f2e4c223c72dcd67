/* setstack.c — a thread on a stack the program supplies
 * (pthread_attr_setstack): works natively; fails loudly under the
 * preload. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *fn(void *a)
{
	return a;
}

int main(void)
{
	size_t size = 1 << 20;
	void *stack = aligned_alloc(4096, size), *v;
	pthread_attr_t a;
	pthread_t t;

	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stack, size);
	if (pthread_create(&t, &a, fn, (void *)3) != 0)
		return 2;
	pthread_join(t, &v);
	printf("value %ld\n", (long)v);
	free(stack);
	return 0;
}
