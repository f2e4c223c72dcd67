/* A pthread call the shim does not implement yet: natively it works; under
 * the preload it must stop the program loudly (the test checks both). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

int main(void)
{
	printf("pthread_kill(self, 0): %d\n", pthread_kill(pthread_self(), 0));
	return 0;
}
