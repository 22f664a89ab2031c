/*
 * A client's output.  Output is appended to the bufferevent's output
 * buffer with EV_WRITE left disabled, and flushed once per loop iteration
 * by writing straight to the socket; only when the kernel does not take
 * everything is EV_WRITE armed and the bufferevent left to finish (TLS
 * clients always leave writing to OpenSSL's bufferevent).  So a delivery
 * normally costs one write() and no epoll_ctl().
 *
 * The send-queue limits judge what a client failed to take, after a write
 * was tried (as Redis does): queueing never cuts anyone.  After the flush,
 * or for a client whose writing libevent owns, after libevent's next
 * write, a queue above sendq-hard is cut; above sendq-soft a clock starts,
 * and the client is cut if it is still there after sendq-soft-seconds, or
 * at once while its host or the daemon is over its memory budget.  What
 * one iteration may add to a queue before that judgment is bounded by
 * conn-input.c.
 *
 * A big answer is paged: produced a few KiB at a time whenever the
 * client's queue is low, while its input waits.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn-private.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "protocol.h"
#include "stats.h"
#include "xmalloc.h"

static struct conn_list	 conn_dirty = TAILQ_HEAD_INITIALIZER(conn_dirty);
static int		 conn_tick_release;	/* see conn_send */
static void		(*conn_held)(void);	/* see conn_hold */
static int		 conn_releasing;	/* held output going out */
static struct {				/* see conn_divert */
	struct conn	*c;
	struct evbuffer	*to;
} conn_diverted;
uint64_t		 conn_cause_us;

static void
conn_wire_release(const void *data, size_t len, void *arg)
{
	msg_wire_unref(arg);
}

static void
conn_mark_dirty(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&conn_dirty, c, dirty_entry);
		conn_wake_tick();
	}
}

/* Output queued now is timed from the line that caused it, if any. */
static void
conn_stamp(struct conn *c)
{
	if (c->cause_us == 0 && conn_cause_us != 0)
		c->cause_us = (uint32_t)conn_cause_us | 1;	/* 0: none */
}

/* c's queue has emptied: what its lines caused has been delivered. */
static void
conn_delivered(struct conn *c)
{
	if (c->cause_us != 0) {
		metrics_observe(&metrics_delivery_seconds,
		    (uint32_t)bucket_now_us() - c->cause_us);
		c->cause_us = 0;
	}
}

int
conn_has_dirty(void)
{
	return !TAILQ_EMPTY(&conn_dirty);
}

void
conn_forget_dirty(struct conn *c)
{
	if (c->dirty) {
		TAILQ_REMOVE(&conn_dirty, c, dirty_entry);
		c->dirty = 0;
	}
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

void
conn_release(void)
{
	void	(*fn)(void) = conn_held;

	if (fn != NULL) {
		conn_held = NULL;
		conn_releasing++;
		fn();
		conn_releasing--;
	}
}

/*
 * Count what is queued to c as a consequence of c's own line (its answers,
 * its echo outside a run): what conn-input.c charges it for.  A held run
 * is other lines' work, already counted when it was said.
 */
static void
conn_count_queued(struct conn *c, size_t len)
{
	if (!conn_releasing)
		c->queued += len;
}

/*
 * Queue len bytes of data for c, or of w->data if w is not NULL (then
 * shared by reference when big: every member of a room gets the same
 * bytes, and one copy serves them all), rendering m if m is not NULL (a
 * skipping client may lose it).  Dropped if c is going away.
 */
static void
conn_queue(struct conn *c, const char *data, size_t len, struct msg_wire *w,
    struct msg *m)
{
	struct evbuffer	*out = c->out;
	ssize_t		 n = 0;

	conn_release();
	if (c->dead)
		return;
	if (c == conn_diverted.c) {	/* counted when it is sent on */
		evbuffer_add(conn_diverted.to, data, len);
		return;
	}
	conn_count_queued(c, len);
	conn_iteration_count(c, len);
	conn_stamp(c);
	/*
	 * Held output handed out by the tick (a fan-out run, the same bytes
	 * for every member) is this client's whole output for the iteration:
	 * with nothing queued before it, write it from the shared buffer and
	 * keep only what the kernel does not take.
	 */
	if (conn_tick_release && !c->tls && !c->dirty && !c->write_armed &&
	    evbuffer_get_length(out) == 0) {
		metrics_observe(&metrics_sendq_flush_bytes, len);
		if ((n = write(c->fd, data, len)) == -1) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_abort(c, "write error");
				return;
			}
			n = 0;
		}
		stats.bytes_out += (uint64_t)n;
		if (n > 0)
			c->took_ms = (uint32_t)(bucket_now_us() / 1000);
		data += n;
		len -= (size_t)n;
		if (len == 0) {
			conn_delivered(c);
			return;
		}
	}
	if (w == NULL || len < CONN_REFERENCE_MIN ||
	    evbuffer_add_reference(out, data, len, conn_wire_release,
	    msg_wire_ref(w)) == -1) {
		if (w != NULL && len >= CONN_REFERENCE_MIN)
			msg_wire_unref(w);	/* the cleanup is not called */
		evbuffer_add(out, data, len);
	}
	conn_skip_record(c, len, m, n > 0);
	conn_mark_dirty(c);
}

void
conn_send(struct conn *c, const void *data, size_t len)
{
	conn_queue(c, data, len, NULL, NULL);
}

/* Queue a rendering shared by many clients (a message, a fan-out run). */
void
conn_send_wire(struct conn *c, struct msg_wire *w)
{
	conn_queue(c, w->data, w->len, w, NULL);
}

/* Queue w, the rendering of m alone: a room's line may be skipped. */
void
conn_send_msg(struct conn *c, struct msg_wire *w, struct msg *m)
{
	conn_queue(c, w->data, w->len, w, m);
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

/* Count what c holds now against its host and the daemon's budget. */
void
conn_account(struct conn *c)
{
	size_t	held = CONN_COST + evbuffer_get_length(c->out) +
		    evbuffer_get_length(bufferevent_get_input(c->bev));

	if (c->tls)
		held += c->handshaken ? CONN_TLS_COST : CONN_TLS_HANDSHAKE_COST;
	if (c->proto->held != NULL)
		held += c->proto->held(c);
	held += conn_skip_held(c);
	host_hold(c->host, (int64_t)held - (int64_t)c->held);
	c->held = held;
}

/* The send-queue limits, after a write was tried. */
void
conn_judge(struct conn *c)
{
	size_t		 queued = conn_sendq(c);
	const char	*why = NULL;

	conn_account(c);
	/* nothing of ours is queued before a TLS handshake (conn.h) */
	if (c->dead || c->closing || (c->tls && !c->handshaken))
		return;
	conn_gate_release(c, 0);
	/* A skipping client loses room lines first; what stays is judged. */
	if (c->skip != NULL || conn_skips(c)) {
		conn_skip_judge(c);
		queued = conn_sendq(c);
		conn_account(c);
	}
	if (queued <= conn_config->sendq_soft) {
		c->soft_since_ms = 0;
		return;
	}
	if (queued > conn_config->sendq_hard)
		why = "above sendq-hard";
	else if (budget_over())
		why = "above sendq-soft while the server holds max-memory";
	else if (host_over_budget(c->host))
		why = "above sendq-soft while its address holds its share of "
		    "max-memory";
	if (why == NULL) {
		if (c->soft_since_ms == 0) {
			log_debug("client %llu: %zu bytes not taken, above "
			    "sendq-soft: its clock starts",
			    (unsigned long long)c->id, queued);
			c->soft_since_ms = bucket_now_us() / 1000;
			conn_schedule(c);
		}
		return;
	}
	log_notice("client %llu (%s, %s): slow consumer: %zu bytes not taken, "
	    "%s", (unsigned long long)c->id, conn_address(c),
	    c->proto->client_name(c), queued, why);
	stats.closed_slow++;
	conn_abort(c, "slow consumer");
}

/* Write what is queued straight to the socket; arm EV_WRITE for the rest. */
void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = c->out;
	int		 n;

	if (c->write_armed || c->tls)
		return;
	if (evbuffer_get_length(out) > 0) {
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write(out, c->fd);
		evbuffer_freeze(out, 1);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			log_debug("client %llu: write: %s",
			    (unsigned long long)c->id, strerror(errno));
			conn_abort(c, "write error");
			return;
		}
		if (n > 0) {
			stats.bytes_out += (uint64_t)n;
			c->took_ms = (uint32_t)(bucket_now_us() / 1000);
		}
	}
	if (evbuffer_get_length(out) == 0)
		conn_delivered(c);
	conn_judge(c);
	if (!c->dead && evbuffer_get_length(out) > 0) {
		c->write_armed = 1;
		bufferevent_enable(c->bev, EV_WRITE);
	}
}

/*
 * libevent wrote some of c's queue (the low watermark is sendq-hard, so
 * this runs after every write that left no more than that).
 */
void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	c->judge_due = 0;
	c->took_ms = (uint32_t)(bucket_now_us() / 1000);
	conn_judge(c);
	if (c->dead && !c->closing)
		return;
	if (conn_sendq(c) == 0) {
		conn_delivered(c);
		c->write_armed = 0;
		if (!c->tls)	/* from now on conn_flush writes */
			bufferevent_disable(bev, EV_WRITE);
		if (c->closing) {
			conn_finish(c);
			return;
		}
	}
	conn_pager_run(c);
}

/* The tick's flush of everyone who got output this iteration. */
void
conn_tick_flush(void)
{
	struct conn	*c;
	size_t		 queued;

	conn_tick_release = 1;	/* a held run may be written directly */
	conn_release();
	conn_tick_release = 0;
	while ((c = TAILQ_FIRST(&conn_dirty)) != NULL) {
		TAILQ_REMOVE(&conn_dirty, c, dirty_entry);
		c->dirty = 0;
		if (c->closing)
			continue;
		if ((queued = conn_sendq(c)) > 0)
			metrics_observe(&metrics_sendq_flush_bytes, queued);
		if (!c->tls && !c->write_armed)
			conn_flush(c);
		else if (conn_sendq(c) > conn_config->sendq_soft &&
		    !c->judge_due) {
			/* libevent writes first: judge in the next iteration */
			c->judge_due = 1;
			conn_schedule(c);
		}
		if (!c->dead)
			conn_gate_note(c);
		conn_pager_run(c);
	}
	conn_cause_us = 0;
}

/* Page an answer to c: fn produces it as c reads, c's input waits. */
void
conn_page(struct conn *c, conn_pager_fn *fn, void *arg,
    void (*free_arg)(void *))
{
	struct conn_pager	*p = xmalloc(sizeof *p);

	p->fn = fn;
	p->arg = arg;
	p->free_arg = free_arg;
	if (c->pager != NULL)
		fatalx("conn_page: client %llu is already paging",
		    (unsigned long long)c->id);
	c->pager = p;
	conn_reading(c);
	conn_mark_dirty(c);	/* the tick starts it, after the line's work */
}

int
conn_paging(const struct conn *c)
{
	return c->pager != NULL;
}

/* What a waiting pager waited for is there: run it at the tick. */
void
conn_page_wake(struct conn *c)
{
	if (c->pager != NULL && !c->dead)
		conn_mark_dirty(c);
}

/*
 * Until conn_undivert, what is queued to c goes to buf, for the protocol to
 * pass on as it sees fit (IRC's labeled-response): the answer to one
 * command.  A fan-out run held before is not part of it and goes out
 * first; one held when the diversion ends is (the command's own echo), and
 * is diverted too.  One client at a time: a line's work is synchronous.  A
 * client closed meanwhile is sent what was diverted as it was (conn_close).
 */
void
conn_divert(struct conn *c, struct evbuffer *buf)
{
	conn_release();
	conn_diverted.c = c;
	conn_diverted.to = buf;
}

void
conn_undivert(void)
{
	conn_release();
	conn_diverted.c = NULL;
}

/* c is being closed: what was diverted goes out as it was, first. */
void
conn_divert_close(struct conn *c)
{
	if (c != conn_diverted.c)
		return;
	conn_diverted.c = NULL;
	evbuffer_add_buffer(c->out, conn_diverted.to);
	conn_mark_dirty(c);
}

/* Give a paged answer more while c's queue is low; charge what it makes. */
void
conn_pager_run(struct conn *c)
{
	uint32_t	before;
	int		more;

	while (c->pager != NULL && !c->dead &&
	    conn_sendq(c) < conn_config->sendq_soft / 2) {
		before = c->queued;
		more = c->pager->fn(c, c->pager->arg);
		conn_charge(c, conn_output_cost((uint32_t)(c->queued - before)));
		if (!more) {
			conn_pager_end(c);
			conn_defer(c);	/* its next lines: next iteration */
		} else if (more == CONN_PAGE_WAIT)
			break;		/* until conn_page_wake */
	}
}

void
conn_pager_end(struct conn *c)
{
	struct conn_pager	*p = c->pager;

	if (p == NULL)
		return;
	c->pager = NULL;
	if (p->free_arg != NULL)
		p->free_arg(p->arg);
	free(p);
}
