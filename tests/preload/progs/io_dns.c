/* io_dns: name lookup from several threads at once — getaddrinfo,
 * getnameinfo, gethostbyname_r — and the errors of a bad lookup. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define THREADS 8

static void *lookup(void *arg)
{
	int id = (int)(long)arg;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	char addr[64] = "?", host[64] = "?", serv[16] = "?";
	int rc = getaddrinfo("localhost", "80", &hints, &res);

	if (rc == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
		getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, serv, sizeof serv,
			    NI_NUMERICHOST | NI_NUMERICSERV);
		freeaddrinfo(res);
	}
	struct hostent he, *hp = NULL;
	char buf[1024];
	int herr = 0;
	gethostbyname_r("localhost", &he, buf, sizeof buf, &hp, &herr);
	printf("thread %d: getaddrinfo %d %s, getnameinfo %s:%s, gethostbyname_r %s\n", id, rc,
	       addr, host, serv, hp ? inet_ntoa(*(struct in_addr *)hp->h_addr) : "none");
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	struct addrinfo hints = {.ai_family = AF_INET, .ai_flags = AI_NUMERICHOST}, *res;

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, lookup, (void *)(long)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* Errors come back as natively. */
	printf("numeric host that is not: %s\n",
	       gai_strerror(getaddrinfo("not-a-number", NULL, &hints, &res)));
	struct hostent *h = gethostbyname("localhost");
	printf("gethostbyname: %s\n", h ? inet_ntoa(*(struct in_addr *)h->h_addr) : "none");
	return 0;
}
