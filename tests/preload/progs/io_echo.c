/* io_echo: a thread-per-connection TCP echo server on 127.0.0.1 (port 0,
 * getsockname) and N client threads (argv[1], default 1000), each sending
 * a pattern of its own in chunks and checking every byte that comes back. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BYTES 4096
#define CHUNK 1000

static struct sockaddr_in addr;
static int nclients = 1000;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long ok, bad, served;

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[1500];
	ssize_t n;
	long total = 0;

	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		if (send(fd, buf, (size_t)n, 0) != n)
			break;
		total += n;
	}
	close(fd);
	pthread_mutex_lock(&mu);
	served += total;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = (int)(long)arg;

	for (int i = 0; i < nclients; i++) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;
		if (fd < 0) {
			perror("accept");
			exit(1);
		}
		pthread_create(&t, NULL, serve, (void *)(long)fd);
		pthread_detach(t);
	}
	return NULL;
}

static void *client(void *arg)
{
	int id = (int)(long)arg;
	unsigned char out[BYTES], in[BYTES];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	bool good = true;

	for (int i = 0; i < BYTES; i++)
		out[i] = (unsigned char)(id * 31 + i * 7);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		perror("connect");
		exit(1);
	}
	/* In chunks, reading what comes back as we go (write then read: a
	 * chunk never fills both socket buffers). */
	for (size_t sent = 0; sent < BYTES; sent += CHUNK) {
		size_t len = BYTES - sent < CHUNK ? BYTES - sent : CHUNK;
		if (write(fd, out + sent, len) != (ssize_t)len)
			good = false;
		while (got < sent + len) {
			ssize_t n = read(fd, in + got, sizeof in - got);
			if (n <= 0) {
				good = false;
				break;
			}
			got += (size_t)n;
		}
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, in, 1) != 0) /* the server's EOF */
		good = false;
	close(fd);
	good = good && got == BYTES && memcmp(in, out, BYTES) == 0;
	pthread_mutex_lock(&mu);
	if (good)
		ok++;
	else
		bad++;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	socklen_t len = sizeof addr;
	pthread_t acc, *cl;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc > 1)
		nclients = atoi(argv[1]);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len)) {
		perror("listen");
		return 1;
	}
	pthread_create(&acc, NULL, acceptor, (void *)(long)lfd);
	cl = calloc((size_t)nclients, sizeof *cl);
	for (int i = 0; i < nclients; i++)
		if (pthread_create(&cl[i], NULL, client, (void *)(long)i)) {
			fprintf(stderr, "pthread_create failed at %d\n", i);
			return 1;
		}
	for (int i = 0; i < nclients; i++)
		pthread_join(cl[i], NULL);
	pthread_join(acc, NULL);
	close(lfd);
	printf("%d clients: %ld ok, %ld bad\n", nclients, ok, bad);
	return bad != 0;
}
