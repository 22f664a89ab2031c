/*
 * Listeners.  Each accepted socket is checked against the ban list,
 * max-clients and max-per-ip before a connection is made for it; a refused
 * client is told why in one line of its listener's protocol.  Clients are
 * counted per address in a search tree of shared slots, so the count costs
 * one small node per address, not per client.  When accept fails for lack
 * of file descriptors the listeners pause for a moment instead of spinning
 * (libevent keeps them armed).  A TLS listener hands each client an SSL
 * object made from the current TLS context; a reload swaps the context for
 * new clients only.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban.h"
#include "addr.h"
#include "config.h"
#include "conn.h"
#include "host.h"
#include "listen.h"
#include "log.h"
#include "protocol.h"
#include "stats.h"
#include "tick.h"
#include "tls.h"
#include "xmalloc.h"

#define LISTEN_BACKLOG		511
#define LISTEN_PAUSE_MS		100	/* after EMFILE */
#define KEEPALIVE_IDLE		120	/* seconds before the first probe */
#define KEEPALIVE_INTERVAL	30
#define KEEPALIVE_COUNT		4

struct listener {
	struct evconnlistener	*lev;
	char			 name[INET6_ADDRSTRLEN + 24];
	int			 tls;
	const struct protocol	*proto;
};

static struct event_base	*listen_base;
static const struct config	*listen_config;
static struct listener		**listeners;
static size_t			 nlisteners;
static struct backoff		 listen_backoff;	/* after EMFILE */
static struct tls_context	*listen_tls;	/* for new TLS clients */

/* Tell a client why it is refused, in its protocol (code: BYE codes). */
static void
listen_refuse(evutil_socket_t fd, const struct listener *l, const char *code,
    const char *reason)
{
	char	line[512];
	size_t	len;
	ssize_t	n;

	len = l->proto->refusal(line, sizeof line, code, reason);
	n = send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;	/* best effort: the client is refused either way */
	shutdown(fd, SHUT_WR);
	evutil_closesocket(fd);
}

/*
 * Keepalive, no Nagle, and bounded kernel buffers: left to autotuning, the
 * kernel held up to 4 MiB of unsent output for a client that does not
 * read, none of it counted in its send queue (sendq-hard would not mean
 * what it says), and as much unread input for one paused by flood control.
 */
static void
listen_tune_socket(evutil_socket_t fd)
{
	int	on = 1, idle = KEEPALIVE_IDLE, intvl = KEEPALIVE_INTERVAL;
	int	cnt = KEEPALIVE_COUNT;
	int	sndbuf = (int)listen_config->socket_send_buffer;
	int	rcvbuf = (int)listen_config->socket_receive_buffer;

	/* Lines are batched per loop iteration already: never wait on Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

/* Why a host is refused, as the goodbye it gets and the log's words. */
static const struct {
	const char	*code;
	const char	*reason;
	const char	*why;
	uint64_t	*count;
} listen_refusals[] = {
	[HOST_TOO_MANY] = { "too-many-from-address", "too many connections "
	    "from your address", "max-per-ip reached",
	    &stats.refused_per_ip },
	[HOST_TOO_FAST] = { "too-many-connects", "your address connects too "
	    "often; try again in a few seconds",
	    "connect-rate-per-ip reached", &stats.refused_connect_rate },
	[HOST_OVER_BUDGET] = { "too-many-from-address", "your address holds "
	    "its share of the server's memory",
	    "max-memory-per-ip reached", &stats.refused_memory },
	[HOST_SERVER_OVER_BUDGET] = { "server-full", "the server is full, "
	    "try again later", "max-memory reached",
	    &stats.refused_memory },
};

static void
listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	const struct listener	*l = arg;
	char			 name[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];
	uint16_t		 port;
	struct host		*host;
	enum host_refusal	 refusal;
	const struct ban	*ban;
	SSL			*ssl = NULL;

	addr_format(sa, name, sizeof name, ip, sizeof ip, &port);
	if ((ban = ban_match(ip, NULL)) != NULL) {
		stats.refused_banned++;
		log_info("refused %s: banned (%s)", name, ban->target);
		listen_refuse(fd, l, "banned", ban->reason);
		return;
	}
	if (conn_count() >= listen_config->max_clients) {
		stats.refused_full++;
		log_info("refused %s: max-clients (%zu) reached", name,
		    listen_config->max_clients);
		listen_refuse(fd, l, "server-full", "the server is full, try "
		    "again later");
		return;
	}
	host = host_get(sa);
	if ((refusal = host_admit(host)) != HOST_OK) {
		(*listen_refusals[refusal].count)++;
		log_info("refused %s: %s (%s)", name,
		    listen_refusals[refusal].why, host_name(host));
		listen_refuse(fd, l, listen_refusals[refusal].code,
		    listen_refusals[refusal].reason);
		return;
	}
	if (l->tls && (ssl = SSL_new(listen_tls->ctx)) == NULL) {
		log_warnx("refused %s: cannot make a TLS session", name);
		evutil_closesocket(fd);
		return;
	}
	listen_tune_socket(fd);
	conn_new(fd, l->proto, host, ip, port, ssl);	/* attaches to host */
}

static void
listen_resume(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]->lev);
}

static void
listen_error_cb(struct evconnlistener *lev, void *arg)
{
	size_t		i;
	int		error = EVUTIL_SOCKET_ERROR();

	if (!backoff_scarce(error)) {
		log_warnx("accept: %s", evutil_socket_error_to_string(error));
		return;
	}
	if (!backoff_start(&listen_backoff, LISTEN_PAUSE_MS))
		return;
	log_warnx("accept: %s: pausing listeners for %d ms",
	    evutil_socket_error_to_string(error), LISTEN_PAUSE_MS);
	for (i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i]->lev);
}

void
listen_init(struct event_base *base)
{
	listen_base = base;
	backoff_init(&listen_backoff, base, listen_resume);
}

void
listen_configure(const struct config *config)
{
	listen_config = config;
}

/* A listener for proto (with TLS if tls), its evconnlistener still to come. */
static struct listener *
listen_new(int tls, const struct protocol *proto)
{
	struct listener	*l = xcalloc(1, sizeof *l);

	l->tls = tls;
	l->proto = proto;
	return l;
}

/*
 * Keep l, now listening on lev, named for the log and chatctl status:
 * "ADDR:PORT", with "(TLS)", "(irc)" or "(irc, TLS)" after it if so.
 */
static void
listen_register(struct listener *l, struct evconnlistener *lev,
    const char *how)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	char			 ip[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 8];
	uint16_t		 port;
	int			 line = strcmp(l->proto->name, "line") == 0;

	evconnlistener_set_error_cb(lev, listen_error_cb);
	listeners = xreallocarray(listeners, nlisteners + 1,
	    sizeof *listeners);
	listeners[nlisteners++] = l;
	l->lev = lev;
	memset(&ss, 0, sizeof ss);
	getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &len);
	addr_format((struct sockaddr *)&ss, addr, sizeof addr, ip, sizeof ip,
	    &port);
	if (line)
		snprintf(l->name, sizeof l->name, "%s%s", addr,
		    l->tls ? " (TLS)" : "");
	else
		snprintf(l->name, sizeof l->name, "%s (%s%s)", addr,
		    l->proto->name, l->tls ? ", TLS" : "");
	log_info("listening on %s%s", l->name, how);
}

/* Listen on "ADDR:PORT" ("[ADDR]:PORT" for IPv6) for proto, TLS if tls. */
int
listen_open(const char *spec, int tls, const struct protocol *proto,
    char **cause)
{
	struct sockaddr_storage	 ss;
	int			 sslen = sizeof ss;
	struct evconnlistener	*lev;
	struct listener		*l;

	if (addr_parse(spec, &ss, &sslen) == -1) {
		xasprintf(cause, "listen %s: not ADDR:PORT (e.g. "
		    "127.0.0.1:7000 or [::1]:7000)", spec);
		return -1;
	}
	l = listen_new(tls, proto);
	lev = evconnlistener_new_bind(listen_base, listen_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
	    (ss.ss_family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY : 0),
	    LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		xasprintf(cause, "listen %s: %s", spec, strerror(errno));
		free(l);
		return -1;
	}
	listen_register(l, lev, "");
	return 0;
}

/* Take over a listening socket passed by systemd (socket activation). */
int
listen_adopt(int fd, const char *name, int tls, const struct protocol *proto,
    char **cause)
{
	struct evconnlistener	*lev;
	struct listener		*l;

	/* Inherited sockets are blocking: the loop would hang in accept. */
	if (evutil_make_socket_nonblocking(fd) == -1) {
		xasprintf(cause, "socket %s (fd %d): %s", name, fd,
		    strerror(errno));
		return -1;
	}
	l = listen_new(tls, proto);
	lev = evconnlistener_new(listen_base, listen_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		xasprintf(cause, "socket %s (fd %d): %s", name, fd,
		    strerror(errno));
		free(l);
		return -1;
	}
	listen_register(l, lev, " (from systemd)");
	return 0;
}

/* Close every listener: no new clients from now on. */
void
listen_stop(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		evconnlistener_free(listeners[i]->lev);
		free(listeners[i]);
	}
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
	backoff_stop(&listen_backoff);
}

/* At exit. */
void
listen_free(void)
{
	listen_stop();
	listen_set_tls(NULL);
	backoff_free(&listen_backoff);
}

/* Call cb with the name of every listener (listen_register). */
void
listen_foreach(listen_visit_fn *cb, void *arg)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		cb(listeners[i]->name, arg);
}

/* The port of the first listener for proto (over TLS or not), or 0. */
uint16_t
listen_port(const struct protocol *proto, int tls)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof ss;
	size_t			i;

	for (i = 0; i < nlisteners; i++) {
		if (listeners[i]->proto != proto || listeners[i]->tls != tls ||
		    getsockname(evconnlistener_get_fd(listeners[i]->lev),
		    (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (ss.ss_family == AF_INET)
			return ntohs(((struct sockaddr_in *)&ss)->sin_port);
		if (ss.ss_family == AF_INET6)
			return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
}

/* Use t for TLS clients from now on (listen.c owns it). */
void
listen_set_tls(struct tls_context *t)
{
	tls_context_free(listen_tls);
	listen_tls = t;
}

/* The context new TLS clients get, or NULL. */
const struct tls_context *
listen_get_tls(void)
{
	return listen_tls;
}
