/* A pthread call the shim does not implement yet: natively it works; under
 * the preload it must stop the program loudly (the test checks both). */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>

int main(void)
{
	sem_t *s = sem_open("/smarm-unsupported-test", O_CREAT, 0600, 1);

	printf("sem_open: %s\n", s != SEM_FAILED ? "ok" : "failed");
	if (s != SEM_FAILED) {
		sem_close(s);
		sem_unlink("/smarm-unsupported-test");
	}
	return 0;
}
