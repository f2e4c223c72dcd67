/* Readers-writer lock, barrier and unnamed semaphore across threads. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 8

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static sem_t sem, done;
static long shared[4], readers_ok = 1, serial;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *a)
{
	long id = (long)a;

	for (int i = 0; i < 200; i++) {
		if (i % 4 == 0) {
			pthread_rwlock_wrlock(&rw);
			for (int j = 0; j < 4; j++) {
				shared[j]++;
				if (j == 1)
					usleep(10);
			}
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			long a0 = shared[0];
			if (i % 8 == 1)
				usleep(10);
			for (int j = 1; j < 4; j++)
				if (shared[j] != a0) {
					pthread_mutex_lock(&m);
					readers_ok = 0;
					pthread_mutex_unlock(&m);
				}
			pthread_rwlock_unlock(&rw);
		}
	}
	if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD) {
		pthread_mutex_lock(&m);
		serial++;
		pthread_mutex_unlock(&m);
	}
	sem_wait(&sem);          /* main hands out N units, one at a time */
	sem_post(&done);
	(void)id;
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	struct timespec ts;
	int v;

	pthread_barrier_init(&bar, NULL, N);
	sem_init(&sem, 0, 0);
	sem_init(&done, 0, 0);
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	usleep(20000);
	for (int i = 0; i < N; i++)
		sem_post(&sem);
	for (int i = 0; i < N; i++)
		sem_wait(&done);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("writes: %ld, readers consistent: %ld, serial threads: %ld\n", shared[0],
	       readers_ok, serial);
	v = sem_trywait(&sem);
	printf("trywait empty: %d %s\n", v, strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	v = sem_timedwait(&sem, &ts);
	printf("timedwait: %d %s\n", v, strerror(errno));
	sem_post(&sem);
	sem_getvalue(&sem, &v);
	printf("value: %d\n", v);
	pthread_rwlock_rdlock(&rw);
	printf("trywrlock while read-held: %s\n", strerror(pthread_rwlock_trywrlock(&rw)));
	printf("tryrdlock while read-held: %d\n", pthread_rwlock_tryrdlock(&rw));
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_unlock(&rw);
	printf("destroy: %d %d\n", pthread_barrier_destroy(&bar), pthread_rwlock_destroy(&rw));
	return 0;
}
