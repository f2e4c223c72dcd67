/* io_sendfile: sendfile of 4 MiB from a file into a blocking socket while
 * another thread reads the other end: the copy blocks on a full socket
 * again and again, and with one carrier the reader must still run.  Then
 * splice from a pipe that another thread fills into that socket. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIZE (4 << 20)

static int sv[2];

static void *drain(void *arg)
{
	static unsigned char buf[65536];
	long total = 0, bad = 0;
	ssize_t n;

	(void)arg;
	while ((n = read(sv[1], buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != (unsigned char)((total + i) * 13);
		total += n;
	}
	printf("reader: %ld bytes, %ld wrong\n", total, bad);
	return NULL;
}

static int pp[2];

static void *fill(void *arg)
{
	static unsigned char chunk[65536];
	long done = *(long *)arg;

	for (int k = 0; k < 16; k++) {
		for (int i = 0; i < 65536; i++)
			chunk[i] = (unsigned char)((done + i) * 13);
		if (write(pp[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
			abort();
		done += 65536;
	}
	close(pp[1]);
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/smarm_io_sendfile_XXXXXX";
	int fd = mkstemp(path);
	unsigned char *data = malloc(SIZE);
	pthread_t t;
	off_t off = 0;
	long sent = 0;

	unlink(path);
	for (long i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 13);
	if (fd < 0 || write(fd, data, SIZE) != SIZE)
		return 1;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_create(&t, NULL, drain, NULL);
	while (sent < SIZE) {
		ssize_t n = sendfile(sv[0], fd, &off, (size_t)(SIZE - sent));
		if (n <= 0) {
			perror("sendfile");
			return 2;
		}
		sent += n;
	}
	printf("sendfile: sent %ld, offset %ld\n", sent, (long)off);

	/* splice: pipe -> socket, 1 MiB more; the reader keeps checking the
	 * pattern where it left off. */
	pthread_t f;
	long spliced = 0, start = SIZE;
	if (pipe(pp))
		return 3;
	pthread_create(&f, NULL, fill, &start);
	for (;;) {
		ssize_t n = splice(pp[0], NULL, sv[0], NULL, 1 << 20, 0);
		if (n < 0) {
			perror("splice");
			return 4;
		}
		if (n == 0)
			break;
		spliced += n;
	}
	pthread_join(f, NULL);
	printf("splice: %ld\n", spliced);
	close(sv[0]);
	pthread_join(t, NULL);
	return 0;
}
