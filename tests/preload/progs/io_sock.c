/* io_sock: socket semantics — MSG_WAITALL, SO_RCVTIMEO, recvmsg/sendmsg
 * with vectors, recvfrom/sendto on UDP, EPIPE on a closed peer (SIGPIPE
 * ignored), ECONNREFUSED, EINPROGRESS from a non-blocking connect, EAGAIN
 * from a program's own O_NONBLOCK listener, ENOTSOCK. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static int sv[2];

static const char *err(void)
{
	switch (errno) {
	case EAGAIN: return "EAGAIN";
	case EPIPE: return "EPIPE";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EINPROGRESS: return "EINPROGRESS";
	case ENOTSOCK: return "ENOTSOCK";
	case EBADF: return "EBADF";
	default: return strerror(errno);
	}
}

/* Sends 4 bytes carrying an fd (SCM_RIGHTS), then 4 more a little later. */
static void *with_fd(void *arg)
{
	int *s = arg, pass = 1;
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec v = {"head", 4};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass, sizeof pass);
	sendmsg(s[1], &m, 0);
	usleep(10000);
	send(s[1], "tail", 4, 0);
	return NULL;
}

static void *dribble(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		usleep(5000);
		send(sv[1], "abcd", 4, 0);
	}
	return NULL;
}

int main(void)
{
	char buf[64] = {0};
	pthread_t t;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);

	/* MSG_WAITALL gathers five sends. */
	pthread_create(&t, NULL, dribble, NULL);
	n = recv(sv[0], buf, 20, MSG_WAITALL);
	pthread_join(t, NULL);
	printf("MSG_WAITALL: %zd '%.20s'\n", n, buf);

	/* SO_RCVTIMEO: EAGAIN after the timeout. */
	struct timeval tv = {0, 30000};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	errno = 0;
	n = recv(sv[0], buf, sizeof buf, 0);
	printf("SO_RCVTIMEO recv: %zd %s\n", n, err());
	errno = 0;
	n = read(sv[0], buf, sizeof buf);
	printf("SO_RCVTIMEO read: %zd %s\n", n, err());

	/* SO_SNDTIMEO: a blocking send into a full socket stops at the
	 * timeout with the short count, then EAGAIN with nothing sent. */
	int wv[2];
	static char big[1 << 20];
	socketpair(AF_UNIX, SOCK_STREAM, 0, wv);
	setsockopt(wv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	n = send(wv[0], big, sizeof big, 0);
	printf("SO_SNDTIMEO send: %s\n", n > 0 && n < (ssize_t)sizeof big ? "short count" : "?");
	errno = 0;
	n = write(wv[0], big, sizeof big);
	printf("SO_SNDTIMEO write, full: %zd %s\n", n, err());
	close(wv[0]);
	close(wv[1]);

	/* The caller's own MSG_DONTWAIT. */
	errno = 0;
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	printf("MSG_DONTWAIT: %zd %s\n", n, err());

	/* sendmsg/recvmsg with vectors. */
	struct iovec out[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
	struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
	printf("sendmsg: %zd\n", sendmsg(sv[1], &m, 0));
	char a[5] = {0}, b[20] = {0};
	struct iovec in[2] = {{a, 4}, {b, sizeof b - 1}};
	struct msghdr mi = {.msg_iov = in, .msg_iovlen = 2};
	n = recvmsg(sv[0], &mi, 0);
	printf("recvmsg: %zd '%s' '%s'\n", n, a, b);

	/* recvmsg with MSG_WAITALL and a passed fd: what the kernel reports
	 * (bytes, control data, flags) as natively. */
	int fp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, fp);
	pthread_create(&t, NULL, with_fd, fp);
	char data[8] = {0}, cb[CMSG_SPACE(sizeof(int))];
	struct iovec dv = {data, sizeof data};
	struct msghdr dm = {.msg_iov = &dv, .msg_iovlen = 1, .msg_control = cb,
			    .msg_controllen = sizeof cb};
	n = recvmsg(fp[0], &dm, MSG_WAITALL);
	pthread_join(t, NULL);
	int got_fd = -1;
	struct cmsghdr *gc = CMSG_FIRSTHDR(&dm);
	if (gc && gc->cmsg_type == SCM_RIGHTS)
		memcpy(&got_fd, CMSG_DATA(gc), sizeof got_fd);
	printf("recvmsg WAITALL with an fd: %zd '%.8s', controllen %s, flags %x, fd %s\n", n,
	       data, dm.msg_controllen > 0 ? "set" : "0", dm.msg_flags,
	       got_fd >= 0 && fcntl(got_fd, F_GETFD) >= 0 ? "usable" : "none");
	if (n < 8) { /* the kernel stopped at the fd: the rest follows */
		n = recv(fp[0], data, 8 - (size_t)n, MSG_WAITALL);
		printf("then: %zd '%.4s'\n", n, data);
	}
	if (got_fd >= 0)
		close(got_fd);
	close(fp[0]);
	close(fp[1]);

	/* EPIPE once the peer is gone. */
	close(sv[0]);
	errno = 0;
	n = send(sv[1], "x", 1, 0);
	printf("send to a closed peer: %zd %s\n", n, err());
	errno = 0;
	n = write(sv[1], "x", 1);
	printf("write to a closed peer: %zd %s\n", n, err());
	close(sv[1]);

	/* UDP: sendto/recvfrom with addresses. */
	struct sockaddr_in u = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ul = sizeof u;
	int us = socket(AF_INET, SOCK_DGRAM, 0), uc = socket(AF_INET, SOCK_DGRAM, 0);
	bind(us, (struct sockaddr *)&u, sizeof u);
	getsockname(us, (struct sockaddr *)&u, &ul);
	printf("sendto: %zd\n", sendto(uc, "datagram", 8, 0, (struct sockaddr *)&u, sizeof u));
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	memset(buf, 0, sizeof buf);
	n = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	printf("recvfrom: %zd '%s' from %s\n", n, buf, inet_ntoa(from.sin_addr));
	/* MSG_WAITALL on a datagram socket: one datagram, however short. */
	sendto(uc, "short", 5, 0, (struct sockaddr *)&u, sizeof u);
	memset(buf, 0, sizeof buf);
	n = recv(us, buf, sizeof buf, MSG_WAITALL);
	printf("MSG_WAITALL on UDP: %zd '%s'\n", n, buf);
	close(us);
	close(uc);

	/* ECONNREFUSED: a port nobody listens on (bound, never listening). */
	struct sockaddr_in dead = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t dl = sizeof dead;
	int hold = socket(AF_INET, SOCK_STREAM, 0);
	bind(hold, (struct sockaddr *)&dead, sizeof dead);
	getsockname(hold, (struct sockaddr *)&dead, &dl);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	int r = connect(c, (struct sockaddr *)&dead, sizeof dead);
	printf("connect refused: %d %s\n", r, err());
	close(c);

	/* A listener, non-blocking connect, O_NONBLOCK accept. */
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ll = sizeof la;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&la, sizeof la);
	listen(l, 8);
	getsockname(l, (struct sockaddr *)&la, &ll);
	fcntl(l, F_SETFL, O_NONBLOCK);
	errno = 0;
	r = accept(l, NULL, NULL);
	printf("O_NONBLOCK accept, nothing queued: %d %s\n", r, err());
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	r = connect(c, (struct sockaddr *)&la, sizeof la);
	printf("non-blocking connect: %d %s\n", r, r == 0 ? "connected" : err());
	struct pollfd p = {.fd = c, .events = POLLOUT};
	r = poll(&p, 1, 5000);
	printf("poll for the connection: %d %s\n", r, (p.revents & POLLOUT) ? "POLLOUT" : "?");
	int soerr = -1;
	socklen_t sl = sizeof soerr;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	printf("SO_ERROR: %d\n", soerr);
	int a2 = accept(l, NULL, NULL);
	printf("accept: %s\n", a2 >= 0 ? "a new fd" : err());
	close(a2);
	close(c);
	close(l);
	close(hold);

	/* Not a socket. */
	int pp[2];
	pipe(pp);
	errno = 0;
	n = recv(pp[0], buf, 1, 0);
	printf("recv on a pipe: %zd %s\n", n, err());
	errno = 0;
	r = accept(pp[0], NULL, NULL);
	printf("accept on a pipe: %d %s\n", r, err());
	close(pp[0]);
	close(pp[1]);
	return 0;
}
