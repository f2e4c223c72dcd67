/* unsupported_sem.c — a named semaphore: works natively; under the
 * preload sem_open fails loudly (named semaphores are process-shared). */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char name[64];
	sem_t *s;

	snprintf(name, sizeof name, "/smarm-test-%d", (int)getpid());
	s = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
	if (s == SEM_FAILED)
		return 2;
	sem_wait(s);
	sem_post(s);
	sem_close(s);
	sem_unlink(name);
	return 0;
}
