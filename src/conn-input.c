/*
 * A client's input: framing, and pacing by not reading.
 *
 * A line is handled only while the client's flood bucket and its host's
 * (shared by every connection from its address) hold a token; otherwise
 * reading stops (TCP pushes back on the sender) until a timer sees tokens
 * again, acknowledgements on or off.  A line is charged after it is
 * handled, for the work it made (msg_meter): one token for a short line to
 * a few people, more for long lines (one per flood-line-bytes that each
 * recipient gets) and for many recipients (one per flood-fanout), so a nick
 * change in a big room or a /who of it costs what it costs the daemon.  The
 * buckets may go into debt: no line is too big to pass, and its sender
 * waits for it afterwards.
 *
 * Within one loop iteration, lines are handled until some client has been
 * sent sendq-soft bytes (counted as they are queued, and with a fan-out run
 * still held back counted for every member); clients with more to say wait
 * for the next iteration (deferred), after every queue had a write.  So no
 * burst, however many clients or addresses send it, is judged by the
 * send-queue limits before the kernel was offered it (conn-output.c).
 *
 * The next iteration may come before any reader had time to read, so
 * deferred lines also wait at a gate: when an iteration spent its budget
 * and clients it fed are still over half of sendq-soft after their write,
 * the gate closes until each of them has taken its output (or gone).  The
 * readers set the pace of a burst, not the senders.  Only a client that is
 * reading holds the gate (one that took nothing for CONN_GATE_MAX_MS is
 * left to the send-queue limits), and none for longer than that at a time.
 * While it is closed every client waits at it, since which room a line is
 * for is only known once it is handled; it closes only after an iteration
 * that spent its budget, so chat at ordinary rates never meets it.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "conn-private.h"
#include "host.h"
#include "msg.h"
#include "protocol.h"
#include "stats.h"
#include "text.h"
#include "xmalloc.h"

/*
 * Input is bounded by one partial line (frame.c refuses one longer than
 * max-line) plus one read: conn_read_cb takes every complete line, or stops
 * reading, before it reads again.  This needs no read watermark (whose
 * evbuffer callback costs 48 bytes per client).  libevent 2.1 reads at most
 * CONN_LIBEVENT_READ at a time (EVBUFFER_MAX_READ); conn_read_cb reads on,
 * up to CONN_READ_CHUNK (conn-private.h) per callback, so that a client's
 * burst of lines is fanned out in one loop iteration, not in several that
 * each cost every member of the room a write() (tests/bench/RESULTS.md).
 */
#define CONN_LIBEVENT_READ	4096	/* EVBUFFER_MAX_READ in buffer.c */

#define CONN_GATE_MAX_MS	1000

static struct conn_list	 conn_deferred = TAILQ_HEAD_INITIALIZER(conn_deferred);
static struct event	*conn_resume;	/* next iteration: the deferred */
static uint32_t		 conn_iteration = 1;	/* loop iterations so far */
static uint64_t		 conn_iteration_most;	/* to one client in this one */
static int		 conn_budget_spent;	/* this iteration */

/* The gate deferred lines wait at while the clients they fed catch up. */
static struct {
	int		 closed;
	uint32_t	 epoch;		/* of the holders, while closed */
	size_t		 holders;	/* fed clients still behind */
	size_t		 next_behind;	/* this iteration's count */
	struct event	*timer;		/* opens it at the latest */
} conn_gate;

static char		*conn_line;	/* framing scratch */
static char		*conn_clean;	/* sanitizing scratch */
static size_t		 conn_scratch_max;

static void	conn_resume_cb(evutil_socket_t, short, void *);
static void	conn_gate_timer_cb(evutil_socket_t, short, void *);

void
conn_input_init(struct event_base *base)
{
	conn_resume = evtimer_new(base, conn_resume_cb, NULL);
	conn_gate.timer = evtimer_new(base, conn_gate_timer_cb, NULL);
}

/* Scratch for lines of up to max bytes; it only grows. */
static void
conn_scratch_reserve(size_t max)
{
	if (max <= conn_scratch_max)
		return;
	conn_scratch_max = max;
	conn_line = xreallocarray(conn_line, 1,
	    FRAME_BUFFER_MAX(conn_scratch_max));
	conn_clean = xreallocarray(conn_clean, 1,
	    TEXT_SANITIZE_MAX(FRAME_BUFFER_MAX(conn_scratch_max)));
}

void
conn_input_configure(const struct config *config)
{
	conn_scratch_reserve(config->max_line);
}

void
conn_input_free(void)
{
	if (conn_resume != NULL)
		event_free(conn_resume);
	conn_resume = NULL;
	if (conn_gate.timer != NULL)
		event_free(conn_gate.timer);
	conn_gate.timer = NULL;
	free(conn_line);
	free(conn_clean);
	conn_line = conn_clean = NULL;
	conn_scratch_max = 0;
}

/* Run the deferred in the next iteration, unless the gate is closed. */
static void
conn_resume_soon(void)
{
	struct timeval	now = { 0, 0 };

	if (!conn_gate.closed && !TAILQ_EMPTY(&conn_deferred) &&
	    !evtimer_pending(conn_resume, NULL))
		evtimer_add(conn_resume, &now);
}

static void
conn_gate_open(void)
{
	conn_gate.closed = 0;
	evtimer_del(conn_gate.timer);
	conn_resume_soon();
}

static void
conn_gate_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	stats.gate_timeouts++;
	conn_gate_open();
}

/*
 * The tick wrote c's output: if c is behind but reading (it took output
 * within CONN_GATE_MAX_MS), it holds the gate, if this iteration spent its
 * budget and closes it.  One that takes nothing is not waited for: the
 * send-queue limits see to it.
 */
void
conn_gate_note(struct conn *c)
{
	uint32_t	now_ms = (uint32_t)(bucket_now_us() / 1000);

	if (!conn_budget_spent || now_ms - c->took_ms > CONN_GATE_MAX_MS)
		return;
	if (conn_sendq(c) > conn_config->sendq_soft / 2) {
		conn_gate.next_behind++;
		c->gate_epoch = conn_gate.epoch + 1;
	}
}

/* c has taken its output, or is going: it holds the gate no more. */
void
conn_gate_release(struct conn *c, int gone)
{
	if (!conn_gate.closed || c->gate_epoch != conn_gate.epoch ||
	    (!gone && conn_sendq(c) > conn_config->sendq_soft / 2))
		return;
	c->gate_epoch = 0;
	if (--conn_gate.holders == 0)
		conn_gate_open();
}

/* len bytes were queued to c: keep the most any client got this iteration. */
void
conn_iteration_count(struct conn *c, size_t len)
{
	if (c->iteration != conn_iteration) {
		c->iteration = conn_iteration;
		c->iteration_bytes = 0;
	}
	if (len > UINT32_MAX - c->iteration_bytes)
		len = UINT32_MAX - c->iteration_bytes;
	c->iteration_bytes += (uint32_t)len;
	if (c->iteration_bytes > conn_iteration_most)
		conn_iteration_most = c->iteration_bytes;
}

/* The loop iteration is over: every queue has had its write. */
void
conn_iteration_end(void)
{
	struct timeval	max = { CONN_GATE_MAX_MS / 1000,
			    (CONN_GATE_MAX_MS % 1000) * 1000 };

	if (conn_budget_spent && conn_gate.next_behind > 0) {
		conn_gate.closed = 1;
		conn_gate.epoch++;
		conn_gate.holders = conn_gate.next_behind;
		stats.gate_closed++;
		evtimer_add(conn_gate.timer, &max);
	}
	conn_iteration++;
	conn_iteration_most = 0;
	conn_budget_spent = 0;
	conn_gate.next_behind = 0;
}

/* Read c again in the next loop iteration (at the earliest). */
void
conn_defer(struct conn *c)
{
	if (c->deferred || c->dead)
		return;
	c->deferred = 1;
	conn_reading(c);
	TAILQ_INSERT_TAIL(&conn_deferred, c, wait_entry);
	conn_resume_soon();
}

void
conn_undefer(struct conn *c)
{
	if (!c->deferred)
		return;
	TAILQ_REMOVE(&conn_deferred, c, wait_entry);
	c->deferred = 0;
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_list	 todo = TAILQ_HEAD_INITIALIZER(todo);
	struct conn		*c;

	/* Who is deferred again now waits for the iteration after. */
	TAILQ_CONCAT(&todo, &conn_deferred, wait_entry);
	while ((c = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, c, wait_entry);
		c->deferred = 0;
		conn_reading(c);
		conn_process_input(c);
	}
}

/* Microseconds until both c's bucket and its host's hold a token. */
uint64_t
conn_pause_wait_us(const struct conn *c)
{
	uint64_t	own = bucket_wait_us(&c->flood, conn_config->flood_rate);
	uint64_t	shared = host_wait_us(c->host);

	return own > shared ? own : shared;
}

static int
conn_may_handle(struct conn *c, uint64_t now)
{
	return bucket_ready(&c->flood, conn_config->flood_rate,
	    conn_config->flood_burst, now) && host_ready(c->host, now);
}

static void
conn_pause(struct conn *c)
{
	c->paused = 1;
	stats.flood_pauses++;
	conn_reading(c);
	conn_schedule(c);
}

/* Resume reading a paused client if it may; 1 if it does. */
int
conn_unpause(struct conn *c, uint64_t now_us)
{
	if (!c->paused || !conn_may_handle(c, now_us))
		return 0;
	c->paused = 0;
	conn_reading(c);
	return 1;
}

void
conn_charge(struct conn *c, uint64_t cost)
{
	bucket_charge(&c->flood, cost);
	host_charge(c->host, cost);
}

/* What sending bytes to the client alone costs, in thousandths. */
uint64_t
conn_output_cost(size_t bytes)
{
	return (uint64_t)bytes * BUCKET_TOKEN / conn_config->flood_line_bytes;
}

/* What c's line made since the meter was read, and what it costs. */
struct conn_meter {
	struct msg_meter	start;
	uint32_t		queued;
};

/*
 * What the line being handled costs at the least (conn_line_costs), what
 * it queued to its own client that is not charged (conn_line_uncharged),
 * and whose line it is: lines are handled one at a time, so one will do.
 */
static struct {
	const struct conn	*c;
	uint64_t		 cost;
	size_t			 uncharged;
} conn_line_floor;

/*
 * The line c's protocol is handling costs at least tokens, whatever the
 * work it made: a command the protocol knows to be dear (a search, a
 * listing) is paced sooner than chat.
 */
void
conn_line_costs(struct conn *c, unsigned tokens)
{
	if (conn_line_floor.c != c)
		conn_line_floor.uncharged = 0;
	conn_line_floor.c = c;
	conn_line_floor.cost = (uint64_t)tokens * BUCKET_TOKEN;
}

/*
 * Of what the line being handled queues to c, bytes are not charged: the
 * scrollback a join replays is the server's choice, never more than
 * sendq-soft, and whoever joins a busy room may speak in it at once.
 */
void
conn_line_uncharged(struct conn *c, size_t bytes)
{
	if (conn_line_floor.c != c)
		conn_line_floor.cost = 0;
	conn_line_floor.c = c;
	conn_line_floor.uncharged += bytes;
}

static void
conn_meter_start(const struct conn *c, struct conn_meter *m)
{
	m->start = msg_meter;
	m->queued = c->queued;
	conn_line_floor.c = NULL;	/* whatever the last line left */
	conn_line_floor.uncharged = 0;
}

/*
 * Charge c (and its host, if c is gone) the line's work: its size factor
 * is the most any one recipient got, its fan-out factor how many there
 * were; each is at least one token.
 */
static void
conn_meter_charge(struct conn *c, const struct conn_meter *m)
{
	uint64_t	deliveries = msg_meter.deliveries - m->start.deliveries;
	uint64_t	bytes = msg_meter.bytes - m->start.bytes;
	uint64_t	own = (uint32_t)(c->queued - m->queued);
	uint64_t	each, size, fan, cost;

	if (conn_line_floor.c == c)
		own -= own > conn_line_floor.uncharged ?
		    conn_line_floor.uncharged : own;
	each = deliveries > 0 ? bytes / deliveries : 0;
	if (own > each)
		each = own;
	size = each * BUCKET_TOKEN / conn_config->flood_line_bytes;
	fan = deliveries * BUCKET_TOKEN / conn_config->flood_fanout;
	if (size < BUCKET_TOKEN)
		size = BUCKET_TOKEN;
	if (fan < BUCKET_TOKEN)
		fan = BUCKET_TOKEN;
	cost = size > UINT64_MAX / fan ? UINT64_MAX : size * fan / BUCKET_TOKEN;
	if (conn_line_floor.c == c && conn_line_floor.cost > cost)
		cost = conn_line_floor.cost;
	conn_line_floor.c = NULL;
	conn_line_floor.uncharged = 0;
	conn_charge(c, cost);
}

/* Frame, pace and hand over every complete line that may be handled now. */
void
conn_process_input(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct conn_meter	 meter;
	enum frame_result	 r;
	size_t			 len, max = c->proto->max_line(conn_config);
	uint64_t		 now;

	conn_scratch_reserve(max);
	while (!c->dead && !c->closing && !c->paused && !c->deferred &&
	    c->pager == NULL) {
		now = bucket_now_us();
		if (!conn_may_handle(c, now)) {
			conn_pause(c);
			break;
		}
		/* what any one client got, and a run still held for many */
		if (conn_iteration_most + msg_meter.held_back >=
		    conn_config->sendq_soft || conn_gate.closed) {
			conn_budget_spent |= !conn_gate.closed;
			conn_defer(c);
			break;
		}
		r = frame_next(&c->framer, in, max, conn_line, &len);
		if (r == FRAME_NEED_MORE)
			break;
		c->lines++;
		c->active = time(NULL);
		stats.lines_in++;
		if (conn_cause_us == 0)
			conn_cause_us = now;
		conn_meter_start(c, &meter);
		/* Limits are the wire's: judged before sanitizing. */
		if (r == FRAME_TOO_LONG || (c->proto->line_fits != NULL &&
		    !c->proto->line_fits(conn_line, len)))
			c->proto->line_too_long(c, max);
		else
			c->proto->line(c, conn_clean,
			    c->proto->sanitize(conn_line, len, conn_clean));
		conn_meter_charge(c, &meter);
	}
	conn_account(c);
}

/* Greet a client whose connection is ready; its join is charged too. */
void
conn_welcome(struct conn *c)
{
	struct conn_meter	meter;

	conn_meter_start(c, &meter);
	c->proto->connected(c);
	conn_meter_charge(c, &meter);
	if (c->proto->deadline != NULL)
		conn_schedule(c);	/* from its first moment */
}

/* Say c's goodbye to the rooms; its host pays for the fan-out. */
void
conn_farewell(struct conn *c)
{
	struct conn_meter	meter;

	conn_meter_start(c, &meter);
	c->proto->disconnected(c, c->close_reason);
	conn_meter_charge(c, &meter);
}

void
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
		    c->tls || c->dead || c->paused || c->deferred ||
		    c->pager != NULL || c->closing)
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
