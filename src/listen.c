/*
 * Listeners.  Each accepted socket is checked against the ban list,
 * max-clients and max-per-ip before a connection is made for it; a refused
 * client is told why in one BYE line.  Clients are counted per address in a
 * search tree of shared slots, so the count costs one small node per
 * address, not per client.  When accept fails for lack of file descriptors
 * the listeners pause for a moment instead of spinning (libevent keeps them
 * armed).  A TLS listener hands each client an SSL object made from the
 * current TLS context; a reload swaps the context for new clients only.
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
	char			 name[INET6_ADDRSTRLEN + 8];
	int			 tls;
};

static struct event_base	*listen_base;
static const struct config	*listen_config;
static struct listener		*listeners;
static size_t			 nlisteners;
static struct backoff		 listen_backoff;	/* after EMFILE */
static struct tls_context	*listen_tls;	/* for new TLS clients */

static void
listen_refuse(evutil_socket_t fd, const char *bye)
{
	ssize_t	n;

	n = send(fd, bye, strlen(bye), MSG_DONTWAIT | MSG_NOSIGNAL);
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
	const char	*bye;
	const char	*why;
	uint64_t	*count;
} listen_refusals[] = {
	[HOST_TOO_MANY] = { "BYE too-many-from-address too many connections "
	    "from your address\r\n", "max-per-ip reached",
	    &stats.refused_per_ip },
	[HOST_TOO_FAST] = { "BYE too-many-connects your address connects too "
	    "often; try again in a few seconds\r\n",
	    "connect-rate-per-ip reached", &stats.refused_connect_rate },
	[HOST_OVER_BUDGET] = { "BYE too-many-from-address your address holds "
	    "its share of the server's memory\r\n",
	    "max-memory-per-ip reached", &stats.refused_memory },
	[HOST_SERVER_OVER_BUDGET] = { "BYE server-full the server is full, "
	    "try again later\r\n", "max-memory reached",
	    &stats.refused_memory },
};

static void
listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	char			 name[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];
	char			 bye[512];
	uint16_t		 port;
	struct host		*host;
	enum host_refusal	 refusal;
	const struct ban	*ban;
	SSL			*ssl = NULL;

	addr_format(sa, name, sizeof name, ip, sizeof ip, &port);
	if ((ban = ban_match(ip, NULL)) != NULL) {
		stats.refused_banned++;
		log_info("refused %s: banned (%s)", name, ban->target);
		snprintf(bye, sizeof bye, "BYE banned %s\r\n", ban->reason);
		listen_refuse(fd, bye);
		return;
	}
	if (conn_count() >= listen_config->max_clients) {
		stats.refused_full++;
		log_info("refused %s: max-clients (%zu) reached", name,
		    listen_config->max_clients);
		listen_refuse(fd, "BYE server-full the server is full, try "
		    "again later\r\n");
		return;
	}
	host = host_get(sa);
	if ((refusal = host_admit(host)) != HOST_OK) {
		(*listen_refusals[refusal].count)++;
		log_info("refused %s: %s (%s)", name,
		    listen_refusals[refusal].why, host_name(host));
		listen_refuse(fd, listen_refusals[refusal].bye);
		return;
	}
	if (arg != NULL && (ssl = SSL_new(listen_tls->ctx)) == NULL) {
		log_warnx("refused %s: cannot make a TLS session", name);
		evutil_closesocket(fd);
		return;
	}
	listen_tune_socket(fd);
	conn_new(fd, host, ip, port, ssl);	/* it attaches to host */
}

static void
listen_resume(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i].lev);
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
		evconnlistener_disable(listeners[i].lev);
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

/* Keep lev and log where it listens. */
static void
listen_register(struct evconnlistener *lev, int tls, const char *how)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	struct listener		*l;
	char			 ip[INET6_ADDRSTRLEN];
	uint16_t		 port;

	evconnlistener_set_error_cb(lev, listen_error_cb);
	listeners = xreallocarray(listeners, nlisteners + 1,
	    sizeof *listeners);
	l = &listeners[nlisteners++];
	l->lev = lev;
	l->tls = tls;
	memset(&ss, 0, sizeof ss);
	getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &len);
	addr_format((struct sockaddr *)&ss, l->name, sizeof l->name,
	    ip, sizeof ip, &port);
	log_info("listening on %s%s%s", l->name, tls ? " (TLS)" : "", how);
}

/*
 * The tag that tells the accept callback a listener is TLS (its argument
 * is non-NULL); the context itself is looked up at accept time.
 */
static void *
listen_tag(int tls)
{
	static int	tls_tag;

	return tls ? &tls_tag : NULL;
}

/* Listen on "ADDR:PORT" ("[ADDR]:PORT" for IPv6), with TLS if tls. */
int
listen_open(const char *spec, int tls, char **cause)
{
	struct sockaddr_storage	 ss;
	int			 sslen = sizeof ss;
	struct evconnlistener	*lev;

	if (addr_parse(spec, &ss, &sslen) == -1) {
		xasprintf(cause, "listen %s: not ADDR:PORT (e.g. "
		    "127.0.0.1:7000 or [::1]:7000)", spec);
		return -1;
	}
	lev = evconnlistener_new_bind(listen_base, listen_accept_cb,
	    listen_tag(tls),
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
	    (ss.ss_family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY : 0),
	    LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		xasprintf(cause, "listen %s: %s", spec, strerror(errno));
		return -1;
	}
	listen_register(lev, tls, "");
	return 0;
}

/* Take over a listening socket passed by systemd (socket activation). */
int
listen_adopt(int fd, const char *name, int tls, char **cause)
{
	struct evconnlistener	*lev;

	/* Inherited sockets are blocking: the loop would hang in accept. */
	if (evutil_make_socket_nonblocking(fd) == -1) {
		xasprintf(cause, "socket %s (fd %d): %s", name, fd,
		    strerror(errno));
		return -1;
	}
	lev = evconnlistener_new(listen_base, listen_accept_cb,
	    listen_tag(tls), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
	    fd);
	if (lev == NULL) {
		xasprintf(cause, "socket %s (fd %d): %s", name, fd,
		    strerror(errno));
		return -1;
	}
	listen_register(lev, tls, " (from systemd)");
	return 0;
}

/* Close every listener: no new clients from now on. */
void
listen_stop(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i].lev);
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

/* Call cb with the address of every listener, as logged. */
void
listen_foreach(void (*cb)(const char *name, int tls, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		cb(listeners[i].name, listeners[i].tls, arg);
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
