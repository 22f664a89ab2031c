/*
 * The metrics listeners: GET or HEAD /metrics, served by libevent's
 * evhttp in the Prometheus text format or, when Accept asks for it,
 * OpenMetrics.  Nothing else is served: another path is 404, another
 * method 405.
 *
 * A scraper is bounded like any client: headers and body are capped, a
 * request that stalls times out, and at most METRICS_HTTP_CONNS
 * connections are open at once.  evhttp in libevent 2.1 has no cap of
 * its own (evhttp_set_max_connections is 2.2's), so chatd makes each
 * connection's bufferevent (evhttp_set_bevcb) and holds a reference to
 * it: evhttp's bufferevent_free clears its callbacks, which is how a
 * sweep sees the connection has gone and drops the reference (only then
 * is the socket closed).  A connection over the cap is shut down at
 * once, which evhttp sees as the peer leaving, and counted.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "metrics-http.h"
#include "metrics-report.h"
#include "stats.h"
#include "xmalloc.h"

#define METRICS_HTTP_CONNS		16
#define METRICS_HTTP_BACKLOG		16
#define METRICS_HTTP_TIMEOUT		10	/* seconds for a request */
#define METRICS_HTTP_MAX_HEADERS	8192
#define METRICS_HTTP_MAX_BODY		1024
#define METRICS_HTTP_READ_MAX		16384	/* read watermark */
#define METRICS_HTTP_SWEEP_MS		1000	/* for connections evhttp
						   closed on its own */

static struct event_base	*metrics_base;
static const struct config	*metrics_config;
static struct evhttp		*metrics_http;
static struct bufferevent	*metrics_conns[METRICS_HTTP_CONNS];
static size_t			 metrics_nconns;
static struct event		*metrics_sweep_ev;
static char			**metrics_names;	/* "ADDR:PORT (metrics)" */
static size_t			 metrics_nlisteners;

static const char *const metrics_content_types[] = {
	[METRICS_PROMETHEUS] = "text/plain; version=0.0.4; charset=utf-8",
	[METRICS_OPENMETRICS] =
	    "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/* Has evhttp freed this connection's bufferevent (only ours holds it)? */
static int
metrics_http_gone(struct bufferevent *bev)
{
	bufferevent_event_cb	eventcb;

	bufferevent_getcb(bev, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

/* Let go of the connections evhttp is done with. */
static void
metrics_http_sweep(void)
{
	size_t	i = 0;

	while (i < metrics_nconns) {
		if (!metrics_http_gone(metrics_conns[i])) {
			i++;
			continue;
		}
		bufferevent_disable(metrics_conns[i], EV_READ | EV_WRITE);
		bufferevent_decref(metrics_conns[i]);
		metrics_conns[i] = metrics_conns[--metrics_nconns];
	}
}

static void
metrics_http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv = { 0, METRICS_HTTP_SWEEP_MS * 1000 };

	metrics_http_sweep();
	if (metrics_nconns > 0)
		evtimer_add(metrics_sweep_ev, &tv);
}

/* A connection over the cap: end it once evhttp has set it up. */
static void
metrics_http_refuse_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent	*bev = arg;

	if (!metrics_http_gone(bev) && bufferevent_getfd(bev) != -1)
		shutdown(bufferevent_getfd(bev), SHUT_RDWR);
	bufferevent_decref(bev);
}

/* evhttp's new connection: its bufferevent, made and counted here. */
static struct bufferevent *
metrics_http_bev(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	struct timeval		 now = { 0, 0 };
	struct timeval		 tv = { 0, METRICS_HTTP_SWEEP_MS * 1000 };

	metrics_http_sweep();
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	bufferevent_setwatermark(bev, EV_READ, 0, METRICS_HTTP_READ_MAX);
	bufferevent_incref(bev);
	if (metrics_nconns == METRICS_HTTP_CONNS) {
		stats.metrics_busy++;
		/* counted, not logged at info: a scraper could fill the log */
		log_debug("metrics: %d connections open: refusing one",
		    METRICS_HTTP_CONNS);
		if (event_base_once(base, -1, EV_TIMEOUT,
		    metrics_http_refuse_cb, bev, &now) == -1)
			bufferevent_decref(bev);
		return bev;
	}
	metrics_conns[metrics_nconns++] = bev;
	if (!evtimer_pending(metrics_sweep_ev, NULL))
		evtimer_add(metrics_sweep_ev, &tv);
	return bev;
}

/* A request is done: its connection may be gone once evhttp returns. */
static void
metrics_http_done(struct evhttp_request *req, void *arg)
{
	event_active(metrics_sweep_ev, EV_TIMEOUT, 0);
}

/* Not served: code and reason, in a line (evhttp_send_error drops Allow). */
static void
metrics_http_refuse(struct evhttp_request *req, int code, const char *reason)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf = evbuffer_new();

	if (buf == NULL)
		fatal("evbuffer_new");
	evbuffer_add_printf(buf, "%d %s: only GET /metrics is served here\n",
	    code, reason);
	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(out, "Connection", "close");
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

static void
metrics_http_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ?
				    evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct metrics_out	 o;

	evhttp_request_set_on_complete_cb(req, metrics_http_done, NULL);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		stats.metrics_not_found++;
		metrics_http_refuse(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		stats.metrics_bad_method++;
		evhttp_add_header(out, "Allow", "GET, HEAD");
		metrics_http_refuse(req, 405, "Method Not Allowed");
		return;
	}
	o.format = metrics_negotiate(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Accept"));
	o.buf = evbuffer_new();
	if (o.buf == NULL)
		fatal("evbuffer_new");
	stats.metrics_scrapes++;	/* this scrape counts in its own page */
	metrics_report(&o, metrics_config);
	evhttp_add_header(out, "Content-Type",
	    metrics_content_types[o.format]);
	evhttp_send_reply(req, HTTP_OK, "OK", o.buf);
	evbuffer_free(o.buf);
}

void
metrics_http_init(struct event_base *base)
{
	metrics_base = base;
	if ((metrics_http = evhttp_new(base)) == NULL)
		fatalx("cannot make the metrics HTTP server");
	if ((metrics_sweep_ev = evtimer_new(base, metrics_http_sweep_cb,
	    NULL)) == NULL)
		fatalx("cannot make the metrics sweep timer");
	evhttp_set_bevcb(metrics_http, metrics_http_bev, NULL);
	evhttp_set_gencb(metrics_http, metrics_http_request, NULL);
	/* Every method reaches metrics_http_request, to be told 405. */
	evhttp_set_allowed_methods(metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(metrics_http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(metrics_http, METRICS_HTTP_MAX_BODY);
	evhttp_set_timeout(metrics_http, METRICS_HTTP_TIMEOUT);
}

void
metrics_http_configure(const struct config *config)
{
	metrics_config = config;
}

/* The descriptors scrapers may hold, for the descriptor budget. */
size_t
metrics_http_max_clients(void)
{
	return metrics_nlisteners > 0 ? METRICS_HTTP_CONNS : 0;
}

/* Log where metrics are served, with the port the kernel chose for 0. */
static void
metrics_http_announce(evutil_socket_t fd, const char *how)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	char			 ip[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 8];
	uint16_t		 port;

	memset(&ss, 0, sizeof ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	addr_format((struct sockaddr *)&ss, addr, sizeof addr, ip, sizeof ip,
	    &port);
	log_info("serving metrics on %s%s", addr, how);
	metrics_names = xreallocarray(metrics_names, metrics_nlisteners + 1,
	    sizeof *metrics_names);
	xasprintf(&metrics_names[metrics_nlisteners++], "%s (metrics)", addr);
}

/* Each metrics listener's address, for chatctl status. */
void
metrics_http_foreach(void (*cb)(const char *name, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < metrics_nlisteners; i++)
		cb(metrics_names[i], arg);
}

/* Serve metrics on "ADDR:PORT" ("[ADDR]:PORT" for IPv6). */
int
metrics_http_open(const char *spec, char **cause)
{
	struct sockaddr_storage	 ss;
	int			 sslen = sizeof ss;
	struct evconnlistener	*lev;

	if (addr_parse(spec, &ss, &sslen) == -1) {
		xasprintf(cause, "listen-metrics %s: not ADDR:PORT (e.g. "
		    "127.0.0.1:9700 or [::1]:9700)", spec);
		return -1;
	}
	lev = evconnlistener_new_bind(metrics_base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
	    (ss.ss_family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY : 0),
	    METRICS_HTTP_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		xasprintf(cause, "listen-metrics %s: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (evhttp_bind_listener(metrics_http, lev) == NULL) {
		evconnlistener_free(lev);
		xasprintf(cause, "listen-metrics %s: evhttp refused the "
		    "listener", spec);
		return -1;
	}
	metrics_http_announce(evconnlistener_get_fd(lev), "");
	return 0;
}

/* Serve metrics on a listening socket systemd passed (name "metrics"). */
int
metrics_http_adopt(int fd, char **cause)
{
	/* Inherited sockets are blocking: the loop would hang in accept. */
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evhttp_accept_socket_with_handle(metrics_http, fd) == NULL) {
		xasprintf(cause, "socket metrics (fd %d): %s", fd,
		    strerror(errno));
		return -1;
	}
	metrics_http_announce(fd, " (from systemd)");
	return 0;
}

/* At exit: evhttp frees its connections, then the sweep lets them go. */
void
metrics_http_free(void)
{
	while (metrics_nlisteners > 0)
		free(metrics_names[--metrics_nlisteners]);
	free(metrics_names);
	metrics_names = NULL;
	evhttp_free(metrics_http);
	metrics_http_sweep();
	event_free(metrics_sweep_ev);
}
