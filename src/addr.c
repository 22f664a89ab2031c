/*
 * Socket addresses as people write them: "ADDR:PORT" for IPv4 and
 * "[ADDR]:PORT" for IPv6, parsed strictly and formatted back the same way.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Parse "ADDR:PORT" or "[ADDR6]:PORT" (port 0: the kernel picks one). */
int
addr_parse(const char *spec, struct sockaddr_storage *ss, int *sslen)
{
	char			 host[INET6_ADDRSTRLEN + 2], *end;
	const char		*colon, *start = spec;
	size_t			 hostlen;
	unsigned long		 port;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	if (*spec == '[') {
		if ((colon = strstr(spec, "]:")) == NULL)
			return -1;
		start = spec + 1;
		hostlen = (size_t)(colon - start);
		colon++;
	} else {
		if ((colon = strchr(spec, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		hostlen = (size_t)(colon - spec);
	}
	if (hostlen == 0 || hostlen >= sizeof host || colon[1] < '0' ||
	    colon[1] > '9')
		return -1;
	memcpy(host, start, hostlen);
	host[hostlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof *ss);
	if (*spec != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof *s4;
		return 0;
	}
	if (*spec == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *s6;
		return 0;
	}
	return -1;
}

/* "ADDR:PORT", with brackets for IPv6. */
void
addr_format(const struct sockaddr *sa, char *buf, size_t len,
    char *ip, size_t iplen, uint16_t *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s6->sin6_port);
		snprintf(buf, len, "[%s]:%u", ip, *port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(s4->sin_port);
		snprintf(buf, len, "%s:%u", ip, *port);
	}
}
