/*
 * A client connection: one bufferevent that owns the client's buffers, and
 * the one path by which it goes away.  Its input (framing, pacing) is
 * conn-input.c's, its output (queueing, flushing, the send-queue limits,
 * paged answers) conn-output.c's.
 *
 * Closing has one path.  Anything may mark a connection dead; the teardown
 * (telling the protocol, which tells the rooms) and the free run later from
 * the tick event, never while a fan-out is walking a room.  The tick runs
 * once per loop iteration, after the callbacks already due: it tears down
 * the dead, then flushes everyone who got output.
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
#include "conn-private.h"
#include "heap.h"
#include "host.h"
#include "log.h"
#include "msg.h"
#include "protocol.h"
#include "stats.h"
#include "text.h"
#include "tick.h"
#include "xmalloc.h"

#define CONN_REASON_MAX		300	/* bytes of a quit reason kept */

static struct conn_list		 conn_all = TAILQ_HEAD_INITIALIZER(conn_all);
static struct conn_list		 conn_dead = TAILQ_HEAD_INITIALIZER(conn_dead);
static size_t			 conn_total;
static size_t			 conn_per_slot[PROTOCOL_NSLOTS];
static uint64_t			 conn_next_id = 1;
static struct tick		 conn_tick;	/* teardown and flush */
static void			(*conn_all_gone)(void);
struct event_base		*conn_base;
const struct config		*conn_config;

static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_tick_run(void);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_free(struct conn *);
static void	conn_mark_dead(struct conn *, const char *, const char *);

void
conn_init(struct event_base *base)
{
	conn_base = base;
	tick_init(&conn_tick, base, conn_tick_run);
	conn_input_init(base);
	heap_init(base);	/* output churns the heap: keep it warm */
}

/*
 * Silence is timed by the bufferevent's read timeout, in one of libevent's
 * common timeouts (one queue per duration: arming one costs no heap work,
 * and no event of our own per client).  libevent shares a queue among
 * callers of the same duration; the few in use are remembered here.  It
 * keeps at most 256: past that, the ordinary heap does (bufferevents copy
 * the timeval).
 */
static void
conn_set_silence(struct conn *c, size_t seconds)
{
	static struct {
		size_t			 seconds;
		const struct timeval	*common;
	}			 known[4];
	static unsigned		 next;
	struct timeval		 tv = { (time_t)seconds, 0 };
	const struct timeval	*common = NULL;
	unsigned		 i;

	if (seconds == 0) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	for (i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (known[i].common != NULL && known[i].seconds == seconds)
			common = known[i].common;
	}
	if (common == NULL &&
	    (common = event_base_init_common_timeout(conn_base, &tv)) != NULL) {
		known[next].seconds = seconds;
		known[next].common = common;
		next = (next + 1) % (sizeof known / sizeof known[0]);
	}
	bufferevent_set_timeouts(c->bev, common != NULL ? common : &tv, NULL);
}

/* The silence that makes c silent: its protocol's, or idle-timeout. */
static size_t
conn_silence(const struct conn *c)
{
	return c->proto->silence != NULL ? c->proto->silence(c) :
	    conn_config->idle_timeout;
}

/*
 * libevent calls conn_write_cb after each of its writes that leaves at
 * most sendq-hard queued: the send queue is judged after every write.
 */
static void
conn_apply_limits(struct conn *c)
{
	bufferevent_setwatermark(c->bev, EV_WRITE, conn_config->sendq_hard, 0);
	conn_set_silence(c, conn_silence(c));
}

/* Take a new or reloaded config; it must live until the next call. */
void
conn_configure(const struct config *config)
{
	struct conn	*c;

	conn_config = config;
	conn_input_configure(config);
	TAILQ_FOREACH(c, &conn_all, all_entry) {
		if (!c->dead) {
			conn_apply_limits(c);
			if (c->proto->deadline != NULL)
				conn_schedule(c);	/* it may have moved */
		}
		bucket_clamp(&c->flood, config->flood_burst);
	}
}

/*
 * The protocol's timers for c changed (conn_silence, and the deadline
 * conn_schedule asks for).  A read timeout that fired left reading
 * disabled (libevent's socket bufferevent does that): enable it again.
 */
void
conn_timers_changed(struct conn *c)
{
	if (c->dead)
		return;
	conn_set_silence(c, conn_silence(c));
	if (c->reading)
		bufferevent_enable(c->bev, EV_READ);
	conn_schedule(c);
}

struct conn *
conn_new(evutil_socket_t fd, const struct protocol *proto, struct host *host,
    const char *address, uint16_t port, SSL *ssl)
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
		if (ssl != NULL)
			SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	/* Fan-out touches it for every member: spare the bufferevent. */
	c->out = bufferevent_get_output(c->bev);
	c->id = conn_next_id++;
	c->proto = proto;
	c->fd = fd;
	c->host = host;
	host_attach(host);
	if (strcmp(address, host_name(host)) != 0)
		c->address = xstrdup(address);	/* an IPv6 prefix's member */
	c->port = port;
	c->since = c->active = time(NULL);
	bucket_fill(&c->flood, conn_config->flood_burst, bucket_now_us());
	TAILQ_INSERT_TAIL(&conn_all, c, all_entry);
	if (++conn_total > stats.peak_clients)
		stats.peak_clients = conn_total;
	conn_per_slot[proto->slot]++;
	stats.accepted++;
	stats.accepted_by[proto->slot]++;

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_max_single_read(c->bev, CONN_READ_CHUNK);
	conn_apply_limits(c);
	c->tls = ssl != NULL;
	conn_account(c);
	conn_reading(c);
	log_debug("client %llu connected from %s:%u%s",
	    (unsigned long long)c->id, conn_address(c), c->port,
	    ssl != NULL ? " (TLS)" : "");
	if (ssl != NULL) {
		/*
		 * OpenSSL writes for the TLS bufferevent: EV_WRITE stays on.
		 * The client chats once its handshake is done, in time.
		 */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		bufferevent_enable(c->bev, EV_WRITE);
		c->handshake_deadline_ms = bucket_now_us() / 1000 +
		    conn_config->tls_handshake_timeout * 1000;
		conn_schedule(c);
		return c;
	}
	bufferevent_disable(c->bev, EV_WRITE);	/* conn_flush writes */
	conn_welcome(c);
	return c;
}

const char *
conn_address(const struct conn *c)
{
	return c->address != NULL ? c->address : host_name(c->host);
}

size_t
conn_count(void)
{
	return conn_total;
}

/* Connections to listeners of proto. */
size_t
conn_count_protocol(const struct protocol *proto)
{
	return conn_per_slot[proto->slot];
}

/* Bytes queued to every client and not yet written: a walk of them all. */
uint64_t
conn_sendq_total(void)
{
	const struct conn	*c;
	uint64_t		 total = 0;

	TAILQ_FOREACH(c, &conn_all, all_entry)
		total += conn_sendq(c);
	return total;
}

size_t
conn_sendq(const struct conn *c)
{
	return evbuffer_get_length(c->out);
}

/*
 * The session_ops a protocol gives a session whose client is a
 * connection: the admin describes and closes it through these.
 */
void
conn_session_describe(void *client, struct conn_info *info)
{
	conn_describe(client, info);
}

void
conn_session_close(void *client, const char *code, const char *reason)
{
	conn_close(client, code, reason);
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
	info->protocol = c->proto->name;
	info->since = c->since;
	info->active = c->active;
	info->sendq = conn_sendq(c);
	info->skips = conn_skips(c);
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
void
conn_wake_tick(void)
{
	tick_wake(&conn_tick);
}

/*
 * Read the client's socket only when its lines may be handled now (a
 * closing client is read and the bytes discarded, until its EOF).
 */
void
conn_reading(struct conn *c)
{
	unsigned	want = c->closing || (!c->dead && !c->paused &&
			    !c->deferred && c->pager == NULL);

	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/*
 * Mark c for teardown: a goodbye (the protocol's words for code, unless it
 * is NULL) and a flush, then close.
 */
void
conn_close(struct conn *c, const char *close_code, const char *reason)
{
	/*
	 * A fan-out run still held back (conn_hold) was said before the
	 * close, and may hold the client's own echo: queue it first, or the
	 * dead connection would drop it.
	 */
	if (!c->dead) {
		conn_release();
		conn_divert_close(c);
	}
	conn_mark_dead(c, close_code, reason);
}

/* Mark c for teardown without flushing: the peer is gone or too slow. */
void
conn_abort(struct conn *c, const char *reason)
{
	conn_mark_dead(c, NULL, reason);
	c->flush_on_close = 0;
}

static void
conn_mark_dead(struct conn *c, const char *close_code, const char *reason)
{
	if (c->dead)
		return;
	conn_undefer(c);	/* wait_entry: the dead list from now on */
	c->dead = 1;
	c->flush_on_close = 1;
	c->close_code = close_code;
	/* The reason may be the client's text in a scratch buffer: copy. */
	c->close_reason = xstrndup(reason, text_utf8_truncate(reason,
	    strlen(reason), CONN_REASON_MAX));
	TAILQ_INSERT_TAIL(&conn_dead, c, wait_entry);
	conn_reading(c);
	conn_wake_tick();
}

/*
 * Half-close after the last byte: the peer reads everything, then EOF.
 * libevent 2.1 never sends a TLS close_notify: do it here (best effort; a
 * peer that stalls the handshake of the shutdown just misses it).
 */
void
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
		c->soft_since_ms = 0;	/* was the handshake's deadline */
		conn_account(c);
		conn_schedule(c);
		conn_welcome(c);
		/*
		 * Lines that came in the handshake's last flight may have been
		 * read before this event, and no new data may announce them.
		 */
		conn_process_input(c);
		return;
	}
	if (c->tls)
		conn_log_tls_error(c);
	if ((what & BEV_EVENT_TIMEOUT) && c->proto->silent != NULL)
		c->proto->silent(c);
	else if (what & BEV_EVENT_TIMEOUT) {
		stats.closed_idle++;
		conn_close(c, "idle-timeout", "idle timeout");
	} else if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		conn_close(c, NULL, "connection closed");
	} else
		conn_abort(c, "connection reset");
}

/* The protocol's deadline for c, once it is the protocol's; 0: none. */
static time_t
conn_proto_deadline(const struct conn *c)
{
	if (c->proto->deadline == NULL || (c->tls && !c->handshaken))
		return 0;
	return c->proto->deadline(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	uint64_t	 now_ms = bucket_now_us() / 1000;

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
	if (c->tls && !c->handshaken) {
		conn_schedule(c);
		return;
	}
	if (conn_proto_deadline(c) != 0 && time(NULL) >= conn_proto_deadline(c)) {
		c->proto->expired(c);
		if (c->dead)
			return;
	}
	if (c->judge_due) {	/* libevent has had its write */
		c->judge_due = 0;
		conn_judge(c);
	}
	if (c->dead)
		return;
	if (conn_sendq(c) <= conn_config->sendq_soft)
		c->soft_since_ms = 0;	/* it drained below in the meantime */
	/*
	 * A deadline, not an age: conn_judge above may have started the
	 * clock after now_ms was read, and now_ms - soft_since_ms would
	 * wrap to a cut at once.
	 */
	if (c->soft_since_ms != 0 && now_ms >= c->soft_since_ms +
	    conn_config->sendq_soft_seconds * 1000) {
		log_notice("client %llu (%s, %s): slow consumer: send queue "
		    "above sendq-soft (%zu bytes) for %zu s",
		    (unsigned long long)c->id, conn_address(c),
		    c->proto->client_name(c), conn_config->sendq_soft,
		    conn_config->sendq_soft_seconds);
		stats.closed_slow++;
		conn_abort(c, "slow consumer");
		return;
	}
	if (conn_unpause(c, bucket_now_us()))
		conn_process_input(c);	/* lines already buffered */
	conn_schedule(c);
}

/* Make *wait_us no later than deadline_ms. */
static void
conn_deadline(uint64_t *wait_us, uint64_t deadline_ms)
{
	uint64_t	now_ms = bucket_now_us() / 1000;

	if (deadline_ms <= now_ms)
		*wait_us = 0;
	else if ((deadline_ms - now_ms) * 1000 < *wait_us)
		*wait_us = (deadline_ms - now_ms) * 1000;
}

/* Make *wait_us no later than deadline, a time(3) second. */
static void
conn_deadline_wall(uint64_t *wait_us, time_t deadline)
{
	struct timespec	now;
	int64_t		left_us;

	clock_gettime(CLOCK_REALTIME, &now);
	left_us = ((int64_t)deadline - (int64_t)now.tv_sec) * 1000000 -
	    now.tv_nsec / 1000;
	if (left_us <= 0)
		*wait_us = 0;
	else if ((uint64_t)left_us < *wait_us)
		*wait_us = (uint64_t)left_us;
}

/*
 * Arm the timer for the nearest of: a judgment after libevent's write,
 * flood resume, soft-limit deadline, TLS handshake deadline, the
 * protocol's deadline.  With none of them the timer is freed: a client
 * that waits for nothing costs no event.
 */
void
conn_schedule(struct conn *c)
{
	uint64_t	wait_us = UINT64_MAX;
	struct timeval	tv;
	time_t		deadline;

	if (c->dead)
		return;
	if (c->judge_due)
		wait_us = 0;
	if (c->paused && conn_pause_wait_us(c) < wait_us)
		wait_us = conn_pause_wait_us(c);
	if (c->tls && !c->handshaken)
		conn_deadline(&wait_us, c->handshake_deadline_ms);
	else if (c->soft_since_ms != 0)
		conn_deadline(&wait_us, c->soft_since_ms +
		    conn_config->sendq_soft_seconds * 1000);
	if ((deadline = conn_proto_deadline(c)) != 0)
		conn_deadline_wall(&wait_us, deadline);
	if (wait_us == UINT64_MAX) {
		if (c->timer != NULL)	/* may be in its own callback: fine */
			event_free(c->timer);
		c->timer = NULL;
		return;
	}
	if (c->timer == NULL)
		c->timer = evtimer_new(conn_base, conn_timer_cb, c);
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
	    c->close_code != NULL ? c->close_code : c->close_reason);
	conn_pager_end(c);
	conn_farewell(c);
	if (!c->flush_on_close) {
		conn_free(c);
		return;
	}
	/* The goodbye is small and bypasses the limits: it is the last. */
	if (c->close_code != NULL)
		c->proto->goodbye(c, c->out, c->close_code, c->close_reason);
	c->closing = 1;
	c->paused = 0;
	c->judge_due = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (!c->eof)	/* read and discard until the peer's EOF */
		conn_reading(c);
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
	conn_forget_dirty(c);
	conn_undefer(c);
	conn_gate_release(c, 1);
	conn_skip_end(c);
	TAILQ_REMOVE(&conn_all, c, all_entry);
	conn_total--;
	conn_per_slot[c->proto->slot]--;
	host_hold(c->host, -(int64_t)c->held);
	host_detach(c->host);
	if (c->timer != NULL)
		event_free(c->timer);
	bufferevent_free(c->bev);
	free(c->close_reason);
	free(c->address);
	free(c);
	if (conn_total == 0 && conn_all_gone != NULL)
		conn_all_gone();
}

/* Once per loop iteration: tear down the dead, then flush the rest. */
static void
conn_tick_run(void)
{
	struct conn	*c;

	heap_busy();
	conn_tick_flush();
	while (!TAILQ_EMPTY(&conn_dead) || conn_has_dirty()) {
		conn_release();
		while ((c = TAILQ_FIRST(&conn_dead)) != NULL) {
			TAILQ_REMOVE(&conn_dead, c, wait_entry);
			conn_teardown(c);
		}
		conn_tick_flush();
	}
	conn_iteration_end();
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
			TAILQ_REMOVE(&conn_dead, c, wait_entry);
		c->dead = 1;	/* nothing more is queued */
		conn_pager_end(c);
		c->proto->disconnected(c, "server exiting");
		conn_free(c);
	}
	tick_free(&conn_tick);
	conn_input_free();
	heap_free();
}
