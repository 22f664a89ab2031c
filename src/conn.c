/*
 * A client connection: one bufferevent that owns the client's buffers.
 *
 * Input is framed into bounded lines, sanitized and handed to the protocol,
 * paced by a token bucket: when the bucket is empty, reading stops (TCP
 * pushes back on the sender) until a timer sees tokens again.
 *
 * Output is appended to the bufferevent's output buffer with EV_WRITE left
 * disabled, and flushed once per loop iteration by writing straight to the
 * socket; only when the kernel does not take everything is EV_WRITE armed
 * and the bufferevent left to finish.  So a delivery normally costs one
 * write() and no epoll_ctl().  The send queue is bounded: above sendq-hard
 * the client is cut at once, above sendq-soft for sendq-soft-seconds too.
 *
 * Closing has one path.  Anything may mark a connection dead; the teardown
 * (telling the protocol, which tells the rooms) and the free run later from
 * the tick event, never while a fan-out is walking a room.
 */
#include <sys/socket.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "heap.h"
#include "listen.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "stats.h"
#include "text.h"
#include "xmalloc.h"

#define CONN_REASON_MAX		300	/* bytes of a quit reason kept */

/*
 * Input is bounded by one partial line (frame.c refuses one longer than
 * max-line) plus one read: conn_read_cb takes every complete line, or
 * stops reading, before it reads again.  This needs no read watermark
 * (whose evbuffer callback costs 48 bytes per client).  libevent 2.1 reads
 * at most CONN_LIBEVENT_READ at a time (EVBUFFER_MAX_READ); conn_read_cb
 * reads on, up to CONN_READ_CHUNK per callback, so that a client's burst
 * of lines is fanned out in one loop iteration, not in several that each
 * cost every member of the room a write() (tests/bench/RESULTS.md).
 */
#define CONN_READ_CHUNK		16384
#define CONN_LIBEVENT_READ	4096	/* EVBUFFER_MAX_READ in buffer.c */

static struct conn_list		 conn_all = TAILQ_HEAD_INITIALIZER(conn_all);
static struct conn_list		 conn_dirty = TAILQ_HEAD_INITIALIZER(conn_dirty);
static struct conn_list		 conn_dead = TAILQ_HEAD_INITIALIZER(conn_dead);
static size_t			 conn_total;
static uint64_t			 conn_next_id = 1;
static struct event_base	*conn_base;
static struct event		*conn_tick;	/* teardown and flush */
static int			 conn_tick_due;
static int			 conn_tick_release;	/* see conn_send */
static void			(*conn_held)(void);	/* see conn_hold */
static const struct config	*conn_config;
static const struct timeval	*conn_idle;	/* common timeout or NULL */
static struct timeval		 conn_idle_tv;
static void			(*conn_all_gone)(void);

static char			*conn_line;	/* framing scratch */
static char			*conn_clean;	/* sanitizing scratch */
static size_t			 conn_scratch_max;

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_tick_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_schedule(struct conn *);
static void	conn_free(struct conn *);
static void	conn_mark_dead(struct conn *, const char *, const char *);

static uint64_t
conn_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
conn_init(struct event_base *base)
{
	conn_base = base;
	conn_tick = event_new(base, -1, 0, conn_tick_cb, NULL);
	heap_init(base);	/* output churns the heap: keep it warm */
}

static void
conn_apply_limits(struct conn *c)
{
	bufferevent_setwatermark(c->bev, EV_WRITE, conn_config->sendq_soft, 0);
	bufferevent_set_timeouts(c->bev, conn_idle, NULL);
}

/* Take a new or reloaded config; it must live until the next call. */
void
conn_configure(const struct config *config)
{
	struct conn	*c;

	conn_config = config;
	if (config->max_line > conn_scratch_max) {
		conn_scratch_max = config->max_line;
		conn_line = xreallocarray(conn_line, 1,
		    FRAME_BUFFER_MAX(conn_scratch_max));
		conn_clean = xreallocarray(conn_clean, 3,
		    FRAME_BUFFER_MAX(conn_scratch_max));
	}
	conn_idle = NULL;
	if (config->idle_timeout > 0) {
		conn_idle_tv.tv_sec = (time_t)config->idle_timeout;
		conn_idle_tv.tv_usec = 0;
		conn_idle = event_base_init_common_timeout(conn_base,
		    &conn_idle_tv);
	}
	TAILQ_FOREACH(c, &conn_all, all_entry) {
		if (!c->dead)
			conn_apply_limits(c);
		if (c->tokens > config->flood_burst * 1000)
			c->tokens = config->flood_burst * 1000;
	}
}

struct conn *
conn_new(evutil_socket_t fd, struct ip_slot *ip, uint16_t port, SSL *ssl)
{
	struct conn	*c = xcalloc(1, sizeof *c);

	/* TLS is a transport: the same connection, another bufferevent. */
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(conn_base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(conn_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("cannot make a bufferevent for fd %d", fd);
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	/* Fan-out touches it for every member: spare the bufferevent. */
	c->out = bufferevent_get_output(c->bev);
	c->id = conn_next_id++;
	c->fd = fd;
	c->ip = ip;
	c->port = port;
	c->since = c->active = time(NULL);
	c->tokens = conn_config->flood_burst * 1000;
	c->refilled_us = conn_now_us();
	TAILQ_INSERT_TAIL(&conn_all, c, all_entry);
	if (++conn_total > stats.peak_clients)
		stats.peak_clients = conn_total;
	stats.accepted++;

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_max_single_read(c->bev, CONN_READ_CHUNK);
	conn_apply_limits(c);
	bufferevent_enable(c->bev, EV_READ);
	log_debug("client %llu connected from %s:%u%s",
	    (unsigned long long)c->id, conn_address(c), c->port,
	    ssl != NULL ? " (TLS)" : "");
	if (ssl != NULL) {
		/*
		 * OpenSSL writes for the TLS bufferevent: EV_WRITE stays on.
		 * The client chats once its handshake is done, in time.
		 */
		c->tls = 1;
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		bufferevent_enable(c->bev, EV_WRITE);
		c->handshake_deadline_ms = conn_now_us() / 1000 +
		    conn_config->tls_handshake_timeout * 1000;
		conn_schedule(c);
		return c;
	}
	bufferevent_disable(c->bev, EV_WRITE);	/* conn_flush writes */
	proto_connected(c);
	return c;
}

const char *
conn_address(const struct conn *c)
{
	return ip_slot_address(c->ip);
}

size_t
conn_count(void)
{
	return conn_total;
}

size_t
conn_sendq(const struct conn *c)
{
	return evbuffer_get_length(c->out);
}

void
conn_describe(const struct conn *c, struct conn_info *info)
{
	info->id = c->id;
	if (c->dead)
		info->state = CONN_CLOSING;
	else if (c->session == NULL)
		info->state = CONN_HANDSHAKE;
	else
		info->state = CONN_OPEN;
	info->address = conn_address(c);
	info->port = c->port;
	info->tls = c->tls;
	info->since = c->since;
	info->active = c->active;
	info->sendq = conn_sendq(c);
	info->session = info->state == CONN_OPEN ? c->session : NULL;
}

/*
 * Visit every connection, in the order they came, with what it is doing.
 * fn may close the connection it is given (that only marks it), nothing
 * else.
 */
void
conn_foreach(conn_visit_fn *fn, void *arg)
{
	struct conn		*c, *next;
	struct conn_info	 info;

	for (c = TAILQ_FIRST(&conn_all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all_entry);	/* closing only marks */
		conn_describe(c, &info);
		fn(c, &info, arg);
	}
}

/* Run the tick after the callbacks already due in this loop iteration. */
static void
conn_wake_tick(void)
{
	if (!conn_tick_due) {
		conn_tick_due = 1;
		event_active(conn_tick, 0, 0);
	}
}

static void
conn_mark_dirty(struct conn *c)
{
	if (!c->dirty && !c->write_armed && !c->tls) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&conn_dirty, c, dirty_entry);
		conn_wake_tick();
	}
}

/* Check the send-queue limits before adding len bytes; 0 if it may go. */
static int
conn_sendq_admit(struct conn *c, size_t len)
{
	size_t	queued = conn_sendq(c);

	if (queued + len > conn_config->sendq_hard) {
		log_notice("client %llu (%s, %s): slow consumer: send queue "
		    "would exceed sendq-hard (%zu bytes)",
		    (unsigned long long)c->id, conn_address(c),
		    c->session != NULL ? proto_client_name(c) : "-",
		    conn_config->sendq_hard);
		stats.closed_slow++;
		conn_abort(c, "slow consumer");
		return -1;
	}
	if (queued + len > conn_config->sendq_soft && c->soft_since_ms == 0) {
		c->soft_since_ms = conn_now_us() / 1000;
		conn_schedule(c);
	}
	return 0;
}

/*
 * Output for some clients is being held back (a fan-out run, room.c): fn
 * queues it.  It runs before anything else is queued for any client, so no
 * client sees lines out of order, and at the latest in this loop
 * iteration's tick.
 */
void
conn_hold(void (*fn)(void))
{
	conn_held = fn;
	conn_wake_tick();
}

static void
conn_release(void)
{
	void	(*fn)(void) = conn_held;

	if (fn != NULL) {
		conn_held = NULL;
		fn();
	}
}

/* Queue bytes for the client; dropped if the connection is going away. */
void
conn_send(struct conn *c, const void *data, size_t len)
{
	struct evbuffer	*out = c->out;
	ssize_t		 n;

	conn_release();
	if (c->dead || conn_sendq_admit(c, len) == -1)
		return;
	/*
	 * Held output handed out by the tick (a fan-out run, the same bytes
	 * for every member) is this client's whole output for the iteration:
	 * with nothing queued before it, write it from the shared buffer and
	 * copy only what the kernel does not take.
	 */
	if (conn_tick_release && !c->tls && !c->dirty && !c->write_armed &&
	    evbuffer_get_length(out) == 0) {
		if ((n = write(c->fd, data, len)) == -1) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_abort(c, "write error");
				return;
			}
			n = 0;
		}
		stats.bytes_out += (uint64_t)n;
		data = (const char *)data + n;
		len -= (size_t)n;
		if (len == 0)
			return;
	}
	evbuffer_add(out, data, len);
	conn_mark_dirty(c);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	char	 buf[1024], *big;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof buf) {
		conn_send(c, buf, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	conn_send(c, big, (size_t)n);
	free(big);
}

static void
conn_msg_release(const void *data, size_t len, void *arg)
{
	msg_unref(arg);
}

/* Queue a shared message, already rendered in m->wire. */
void
conn_send_msg(struct conn *c, struct msg *m)
{
	struct evbuffer	*out;

	conn_release();
	if (m->wire_len < CONN_REFERENCE_MIN) {
		conn_send(c, m->wire, m->wire_len);
		return;
	}
	if (c->dead || conn_sendq_admit(c, m->wire_len) == -1)
		return;
	out = c->out;
	if (evbuffer_add_reference(out, m->wire, m->wire_len,
	    conn_msg_release, msg_ref(m)) == -1) {
		msg_unref(m);	/* the cleanup is not called on failure */
		evbuffer_add(out, m->wire, m->wire_len);
	}
	conn_mark_dirty(c);
}

/* Mark c for teardown: a goodbye (if bye_code) and a flush, then close. */
void
conn_close(struct conn *c, const char *bye_code, const char *reason)
{
	/*
	 * A fan-out run still held back (conn_hold) was said before the
	 * close, and may hold the client's own echo: queue it first, or the
	 * dead connection would drop it.
	 */
	if (!c->dead)
		conn_release();
	conn_mark_dead(c, bye_code, reason);
}

/* Mark c for teardown without flushing: the peer is gone or too slow. */
void
conn_abort(struct conn *c, const char *reason)
{
	conn_mark_dead(c, NULL, reason);
	c->flush_on_close = 0;
}

static void
conn_mark_dead(struct conn *c, const char *bye_code, const char *reason)
{
	if (c->dead)
		return;
	c->dead = 1;
	c->flush_on_close = 1;
	c->bye_code = bye_code;
	/* The reason may be the client's text in a scratch buffer: copy. */
	c->close_reason = xstrndup(reason, text_utf8_truncate(reason,
	    strlen(reason), CONN_REASON_MAX));
	TAILQ_INSERT_TAIL(&conn_dead, c, dead_entry);
	conn_wake_tick();
}


/* Refill the bucket; 1 if a whole line's token is available. */
static int
conn_bucket_refill(struct conn *c, uint64_t now)
{
	uint64_t	cap = conn_config->flood_burst * 1000;

	c->tokens += (now - c->refilled_us) * conn_config->flood_rate / 1000;
	if (c->tokens > cap)
		c->tokens = cap;
	c->refilled_us = now;
	return c->tokens >= 1000;
}

/* Microseconds until the bucket holds a whole token again. */
static uint64_t
conn_bucket_wait_us(const struct conn *c)
{
	if (c->tokens >= 1000)
		return 0;
	return ((1000 - c->tokens) * 1000 + conn_config->flood_rate - 1) /
	    conn_config->flood_rate;
}

/* Frame, pace and hand over every complete line that may be handled now. */
static void
conn_process_input(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	enum frame_result	 r;
	size_t			 len;
	int			 has_token;

	while (!c->dead) {
		has_token = conn_bucket_refill(c, conn_now_us());
		if (!has_token && !c->ack) {
			c->paused = 1;
			stats.flood_pauses++;
			bufferevent_disable(c->bev, EV_READ);
			conn_schedule(c);
			return;
		}
		r = frame_next(&c->framer, in, conn_config->max_line,
		    conn_line, &len);
		if (r == FRAME_NEED_MORE)
			return;
		c->lines++;
		c->active = time(NULL);
		stats.lines_in++;
		if (!has_token) {
			proto_rate_limited(c, (unsigned)
			    ((conn_bucket_wait_us(c) + 999) / 1000));
			continue;
		}
		c->tokens -= 1000;
		if (r == FRAME_TOO_LONG)
			proto_line_too_long(c, conn_config->max_line);
		else
			proto_line(c, conn_clean,
			    text_sanitize(conn_line, len, conn_clean));
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 got = evbuffer_get_length(in) - c->input_seen;
	size_t		 total = got;
	int		 n;

	for (;;) {
		stats.bytes_in += got;
		if (c->closing)		/* lingering: discard */
			evbuffer_drain(in, evbuffer_get_length(in));
		else if (!c->tls || c->handshaken)
			conn_process_input(c);
		/* A big read: more may wait (see CONN_READ_CHUNK). */
		if (got < CONN_LIBEVENT_READ / 2 || total >= CONN_READ_CHUNK ||
		    c->tls || c->dead || c->paused || c->closing)
			break;
		evbuffer_unfreeze(in, 0);	/* as bufferevent_readcb does */
		n = evbuffer_read(in, c->fd, CONN_LIBEVENT_READ);
		evbuffer_freeze(in, 0);
		if (n <= 0)
			break;	/* EOF or error: libevent reads it again */
		got = (size_t)n;
		total += got;
	}
	c->input_seen = evbuffer_get_length(in);
}

/* Write what is queued straight to the socket; arm EV_WRITE for the rest. */
static void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = c->out;
	int		 n;

	if (c->write_armed || c->tls || evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, c->fd);
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		log_debug("client %llu: write: %s", (unsigned long long)c->id,
		    strerror(errno));
		conn_abort(c, "write error");
		return;
	}
	if (n > 0)
		stats.bytes_out += (uint64_t)n;
	if (evbuffer_get_length(out) <= conn_config->sendq_soft)
		c->soft_since_ms = 0;
	if (evbuffer_get_length(out) > 0) {
		c->write_armed = 1;
		bufferevent_enable(c->bev, EV_WRITE);
	}
}

/*
 * Half-close after the last byte: the peer reads everything, then EOF.
 * libevent 2.1 never sends a TLS close_notify: do it here (best effort; a
 * peer that stalls the handshake of the shutdown just misses it).
 */
static void
conn_finish(struct conn *c)
{
	if (c->eof) {
		conn_free(c);
		return;
	}
	if (c->tls && c->handshaken) {
		SSL_shutdown(bufferevent_openssl_get_ssl(c->bev));
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = conn_sendq(c);

	if (left <= conn_config->sendq_soft)
		c->soft_since_ms = 0;
	if (left > 0)
		return;
	c->write_armed = 0;
	if (!c->tls)	/* from now on conn_flush writes */
		bufferevent_disable(bev, EV_WRITE);
	if (c->closing)
		conn_finish(c);
}

/* Why a TLS connection failed, for the debug log. */
static void
conn_log_tls_error(struct conn *c)
{
	char		buf[256];
	unsigned long	e;

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_debug("client %llu from %s:%u: TLS: %s",
		    (unsigned long long)c->id, conn_address(c), c->port, buf);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (c->closing) {	/* lingering after a goodbye: done */
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {	/* TLS handshake done */
		c->handshaken = 1;
		conn_schedule(c);
		proto_connected(c);
		/*
		 * Lines that came in the handshake's last flight may have been
		 * read before this event, and no new data may announce them.
		 */
		conn_process_input(c);
		return;
	}
	if (c->tls)
		conn_log_tls_error(c);
	if (what & BEV_EVENT_TIMEOUT) {
		stats.closed_idle++;
		conn_close(c, "idle-timeout", "idle timeout");
	} else if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		conn_close(c, NULL, "connection closed");
	} else
		conn_abort(c, "connection reset");
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	uint64_t	 now_ms = conn_now_us() / 1000;

	if (c->closing) {	/* linger expired */
		conn_free(c);
		return;
	}
	if (c->tls && !c->handshaken && now_ms >= c->handshake_deadline_ms) {
		log_debug("client %llu from %s:%u: TLS handshake timed out",
		    (unsigned long long)c->id, conn_address(c), c->port);
		conn_abort(c, "TLS handshake timeout");
		return;
	}
	if (conn_sendq(c) <= conn_config->sendq_soft)
		c->soft_since_ms = 0;	/* it drained below in the meantime */
	if (c->soft_since_ms != 0 && now_ms - c->soft_since_ms >=
	    conn_config->sendq_soft_seconds * 1000) {
		log_notice("client %llu (%s, %s): slow consumer: send queue "
		    "above sendq-soft (%zu bytes) for %zu s",
		    (unsigned long long)c->id, conn_address(c),
		    proto_client_name(c), conn_config->sendq_soft,
		    conn_config->sendq_soft_seconds);
		stats.closed_slow++;
		conn_abort(c, "slow consumer");
		return;
	}
	if (c->paused && conn_bucket_refill(c, conn_now_us())) {
		c->paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		conn_process_input(c);	/* lines already buffered */
	}
	conn_schedule(c);
}

/* Make *wait_us no later than deadline_ms. */
static void
conn_deadline(uint64_t *wait_us, uint64_t deadline_ms)
{
	uint64_t	now_ms = conn_now_us() / 1000;

	if (deadline_ms <= now_ms)
		*wait_us = 0;
	else if ((deadline_ms - now_ms) * 1000 < *wait_us)
		*wait_us = (deadline_ms - now_ms) * 1000;
}

/*
 * Arm the timer for the nearest of: flood resume, soft-limit deadline,
 * TLS handshake deadline.
 */
static void
conn_schedule(struct conn *c)
{
	uint64_t	wait_us = UINT64_MAX;
	struct timeval	tv;

	if (c->dead)
		return;
	if (c->paused)
		wait_us = conn_bucket_wait_us(c);
	if (c->soft_since_ms != 0)
		conn_deadline(&wait_us, c->soft_since_ms +
		    conn_config->sendq_soft_seconds * 1000);
	if (c->tls && !c->handshaken)
		conn_deadline(&wait_us, c->handshake_deadline_ms);
	if (c->timer == NULL)
		c->timer = evtimer_new(conn_base, conn_timer_cb, c);
	if (wait_us == UINT64_MAX) {
		evtimer_del(c->timer);
		return;
	}
	tv.tv_sec = (time_t)(wait_us / 1000000);
	tv.tv_usec = (suseconds_t)(wait_us % 1000000);
	evtimer_add(c->timer, &tv);
}

/* The one teardown: protocol and rooms first, then goodbye and flush. */
static void
conn_teardown(struct conn *c)
{
	struct timeval	grace = { (time_t)conn_config->shutdown_grace, 0 };

	stats.closed++;
	/* A quit reason is the client's text: log the code, not the words. */
	log_debug("client %llu from %s:%u closed: %s",
	    (unsigned long long)c->id, conn_address(c), c->port,
	    c->bye_code != NULL ? c->bye_code : c->close_reason);
	proto_disconnected(c, c->close_reason);
	if (!c->flush_on_close) {
		conn_free(c);
		return;
	}
	/* The goodbye is small and bypasses the limits: it is the last. */
	if (c->bye_code != NULL)
		evbuffer_add_printf(c->out,
		    "BYE %s %s\r\n", c->bye_code, c->close_reason);
	c->closing = 1;
	c->paused = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (!c->eof)	/* read and discard until the peer's EOF */
		bufferevent_enable(c->bev, EV_READ);
	if (c->timer == NULL)
		c->timer = evtimer_new(conn_base, conn_timer_cb, c);
	evtimer_add(c->timer, &grace);
	if (c->tls && conn_sendq(c) > 0)
		c->write_armed = 1;	/* OpenSSL writes; conn_write_cb ends */
	if (c->write_armed)
		return;		/* conn_write_cb finishes */
	conn_flush(c);
	if (!c->flush_on_close)		/* the write failed */
		conn_free(c);
	else if (!c->write_armed)
		conn_finish(c);
}

static void
conn_free(struct conn *c)
{
	if (c->dirty)
		TAILQ_REMOVE(&conn_dirty, c, dirty_entry);
	TAILQ_REMOVE(&conn_all, c, all_entry);
	conn_total--;
	ip_slot_release(c->ip);
	if (c->timer != NULL)
		event_free(c->timer);
	bufferevent_free(c->bev);
	free(c->close_reason);
	free(c);
	if (conn_total == 0 && conn_all_gone != NULL)
		conn_all_gone();
}

/* Once per loop iteration: tear down the dead, then flush the rest. */
static void
conn_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c;

	conn_tick_due = 0;
	heap_busy();
	conn_tick_release = 1;	/* a held run may be written directly */
	conn_release();
	conn_tick_release = 0;
	while (conn_held != NULL || !TAILQ_EMPTY(&conn_dead) ||
	    !TAILQ_EMPTY(&conn_dirty)) {
		conn_release();
		while ((c = TAILQ_FIRST(&conn_dead)) != NULL) {
			TAILQ_REMOVE(&conn_dead, c, dead_entry);
			conn_teardown(c);
		}
		conn_release();
		while ((c = TAILQ_FIRST(&conn_dirty)) != NULL) {
			TAILQ_REMOVE(&conn_dirty, c, dirty_entry);
			c->dirty = 0;
			if (!c->closing)
				conn_flush(c);
		}
	}
}

/* Say goodbye to everyone; call done once the last connection is gone. */
void
conn_shutdown_all(void (*done)(void))
{
	struct conn	*c;

	conn_all_gone = done;
	TAILQ_FOREACH(c, &conn_all, all_entry)
		conn_close(c, "shutdown", "server is shutting down");
	if (conn_total == 0)
		done();
}

/* At exit: free whatever is left, without ceremony. */
void
conn_free_all(void)
{
	struct conn	*c;

	conn_all_gone = NULL;
	while ((c = TAILQ_FIRST(&conn_all)) != NULL) {
		if (c->dead && !c->closing)
			TAILQ_REMOVE(&conn_dead, c, dead_entry);
		proto_disconnected(c, "server exiting");
		conn_free(c);
	}
	event_free(conn_tick);
	heap_free();
	free(conn_line);
	free(conn_clean);
}
