/* netdb.c — drop-in name lookup: getaddrinfo, getnameinfo, gethostbyname,
 * gethostbyname2, gethostbyname_r, gethostbyaddr.  NSS blocks inside glibc
 * (files, DNS over its own sockets), where no wrapper sees it, so a green
 * thread runs libc's function on the blocking pool (smarm__shim_pool) and
 * parks meanwhile; any other caller calls libc's directly.
 *
 * What the lookup leaves in thread-local state on the pool thread — errno
 * (EAI_SYSTEM) and h_errno — is carried back to the calling green thread.
 * gethostbyname and gethostbyaddr return glibc's one static buffer, which
 * natively is not thread-safe either: the same buffer, the same rules.
 *
 * Switching: every wrapper may switch (the pool wait).
 */
#include <netdb.h>
#include <sys/socket.h>

#include "io.h"

enum nss_op { GAI, GNI, GHBN, GHBN2, GHBN_R, GHBA };

struct nss_job {
	enum nss_op op;
	const char *name, *serv;
	const struct addrinfo *hints;
	struct addrinfo **res;
	const struct sockaddr *sa;
	socklen_t salen;
	char *host, *servbuf;
	socklen_t hostlen, servlen;
	int flags, af;
	const void *addr;
	struct hostent *ret, **retp;
	char *buf;
	size_t buflen;
	int *herrp;
	/* results */
	int rc;
	struct hostent *he;
	int err, herr;
};

static void *nss_run(void *arg)
{
	struct nss_job *j = arg;

	errno = 0;
	switch (j->op) {
	case GAI:
		j->rc = REAL_FN(getaddrinfo)(j->name, j->serv, j->hints, j->res);
		break;
	case GNI:
		j->rc = REAL_FN(getnameinfo)(j->sa, j->salen, j->host, j->hostlen, j->servbuf,
					     j->servlen, j->flags);
		break;
	case GHBN:
		j->he = REAL_FN(gethostbyname)(j->name);
		break;
	case GHBN2:
		j->he = REAL_FN(gethostbyname2)(j->name, j->af);
		break;
	case GHBN_R:
		j->rc = REAL_FN(gethostbyname_r)(j->name, j->ret, j->buf, j->buflen, j->retp,
						 j->herrp);
		break;
	case GHBA:
		j->he = REAL_FN(gethostbyaddr)(j->addr, j->salen, j->af);
		break;
	}
	j->err = errno;
	j->herr = h_errno;
	return NULL;
}

/* Run the job on the pool; errno and h_errno come back with it.  May
 * switch. */
static void nss(struct nss_job *j)
{
	smarm__shim_pool(nss_run, j);
	h_errno = j->herr;
	errno = j->err;
}

SMARM_API int getaddrinfo(const char *name, const char *serv, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	struct nss_job j = {.op = GAI, .name = name, .serv = serv, .hints = hints, .res = res};

	if (!smarm__shim_in_green())
		return REAL_FN(getaddrinfo)(name, serv, hints, res);
	nss(&j);
	return j.rc;
}

SMARM_API int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
			  socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	struct nss_job j = {.op = GNI, .sa = sa, .salen = salen, .host = host,
			    .hostlen = hostlen, .servbuf = serv, .servlen = servlen,
			    .flags = flags};

	if (!smarm__shim_in_green())
		return REAL_FN(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	nss(&j);
	return j.rc;
}

SMARM_API struct hostent *gethostbyname(const char *name)
{
	struct nss_job j = {.op = GHBN, .name = name};

	if (!smarm__shim_in_green())
		return REAL_FN(gethostbyname)(name);
	nss(&j);
	return j.he;
}

SMARM_API struct hostent *gethostbyname2(const char *name, int af)
{
	struct nss_job j = {.op = GHBN2, .name = name, .af = af};

	if (!smarm__shim_in_green())
		return REAL_FN(gethostbyname2)(name, af);
	nss(&j);
	return j.he;
}

SMARM_API int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			      struct hostent **result, int *herr)
{
	struct nss_job j = {.op = GHBN_R, .name = name, .ret = ret, .buf = buf,
			    .buflen = buflen, .retp = result, .herrp = herr};

	if (!smarm__shim_in_green())
		return REAL_FN(gethostbyname_r)(name, ret, buf, buflen, result, herr);
	nss(&j);
	return j.rc;
}

SMARM_API struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	struct nss_job j = {.op = GHBA, .addr = addr, .salen = len, .af = type};

	if (!smarm__shim_in_green())
		return REAL_FN(gethostbyaddr)(addr, len, type);
	nss(&j);
	return j.he;
}
