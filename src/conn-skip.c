/*
 * Skip mode (slow-consumer = skip, or a client's own choice): a client
 * whose queue stays above sendq-soft after a write was tried loses its
 * oldest queued room messages instead of its connection, and is told, one
 * line per gap, which room and which message ids it missed, so it can
 * fetch them from history.
 *
 * Only a skipping client pays for it: a FIFO of what its output buffer
 * holds, segment by segment.  Everything queued to it is recorded (a room
 * message with a reference to the message, for its room and id; anything
 * else as one kept segment), so the FIFO's bytes are always the buffer's
 * length once what was written is taken off its head (conn_skip_sync).
 * Droppable are others' chat lines in a room; never private messages,
 * answers, acknowledgements, the client's own lines, room events (joins,
 * modes...) or a segment already partly written.
 *
 * A gap is a run of one room's messages dropped with none of that room's
 * lines kept between them.  Its SKIP line goes where the gap ends, just
 * before the room's next line kept (or last), so the room's lines keep
 * their order around it; and since trims drop from the oldest, the next
 * trim drops those kept lines first: the SKIP line, still queued, is
 * taken back into the gap and written again where the gap now ends.  A
 * client that stays behind through many trims is told of one gap, not of
 * one per trim.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn-private.h"
#include "log.h"
#include "msg.h"
#include "protocol.h"
#include "session.h"
#include "stats.h"
#include "xmalloc.h"

enum conn_skip_kind {
	SEG_OTHER,		/* anything without a room */
	SEG_MSG,		/* a room's message: m */
	SEG_SKIP,		/* a SKIP line: m is one of its room's */
};

/* What a gap lost: ids first to last of its room, count messages. */
struct conn_skip_span {
	uint64_t	 first, last;
	size_t		 count;
};

struct conn_skip_seg {
	size_t		 len;
	struct msg	*m;		/* held; NULL for SEG_OTHER */
	struct conn_skip_span span;	/* SEG_SKIP's */
	unsigned	 kind:2;
	unsigned	 droppable:1;
	unsigned	 drop:1;	/* conn_skip_trim's verdict */
};

struct conn_skip {
	struct conn_skip_seg	*seg;	/* a ring of cap */
	size_t			 head, n, cap;
	size_t			 bytes;	/* in the output buffer */
	size_t			 written;	/* of the head segment */
};

/* One gap found by conn_skip_trim. */
struct conn_skip_gap {
	size_t		 end;		/* its SKIP line goes before this
					   segment; n: last */
	size_t		 seq;		/* the order gaps were found */
	struct msg	*m;		/* one of its room's: the room */
	struct conn_skip_span span;
	int		 open;		/* the room's drops join it */
	int		 fresh;		/* not told before, even in part */
};

static struct conn_skip_seg *
conn_skip_at(struct conn_skip *q, size_t i)
{
	return &q->seg[(q->head + i) % q->cap];
}

static void
conn_skip_free(struct conn_skip *q)
{
	size_t	i;

	for (i = 0; i < q->n; i++)
		msg_unref(conn_skip_at(q, i)->m);
	free(q->seg);
	free(q);
}

/* Append a segment, or grow the last one if both are plain output. */
static struct conn_skip_seg *
conn_skip_push(struct conn_skip *q, size_t len, enum conn_skip_kind kind,
    struct msg *m, int droppable)
{
	struct conn_skip_seg	*s, *seg;
	size_t			 i;

	q->bytes += len;
	if (kind == SEG_OTHER && q->n > 0 &&
	    (s = conn_skip_at(q, q->n - 1))->kind == SEG_OTHER) {
		s->len += len;
		return s;
	}
	if (q->n == q->cap) {
		seg = xreallocarray(NULL, q->cap ? 2 * q->cap : 16, sizeof *seg);
		for (i = 0; i < q->n; i++)
			seg[i] = *conn_skip_at(q, i);
		free(q->seg);
		q->seg = seg;
		q->head = 0;
		q->cap = q->cap ? 2 * q->cap : 16;
	}
	s = conn_skip_at(q, q->n++);
	s->len = len;
	s->m = m != NULL ? msg_ref(m) : NULL;
	s->kind = kind;
	s->droppable = droppable;
	s->drop = 0;
	return s;
}

/* Whether c skips when it reads too slowly. */
int
conn_skips(const struct conn *c)
{
	if (c->slow == CONN_SLOW_CONFIG)
		return conn_config->slow_consumer == CONFIG_SLOW_SKIP;
	return c->slow == CONN_SLOW_SKIP;
}

/*
 * Start or stop the bookkeeping when c's mode has changed (its own choice,
 * or a reload).  What was queued before is one kept segment: its messages
 * cannot be told apart any more.
 */
static void
conn_skip_follow(struct conn *c)
{
	size_t	queued;

	if (conn_skips(c) == (c->skip != NULL))
		return;
	if (c->skip != NULL) {
		conn_skip_free(c->skip);
		c->skip = NULL;
		return;
	}
	c->skip = xcalloc(1, sizeof *c->skip);
	if ((queued = evbuffer_get_length(c->out)) > 0)
		conn_skip_push(c->skip, queued, SEG_OTHER, NULL, 0);
}

void
conn_set_slow(struct conn *c, enum conn_slow slow)
{
	c->slow = slow;
	conn_skip_follow(c);
}

void
conn_skip_end(struct conn *c)
{
	if (c->skip != NULL) {
		conn_skip_free(c->skip);
		c->skip = NULL;
	}
}

/* Bytes the FIFO holds, for the host's count (conn_account). */
size_t
conn_skip_held(const struct conn *c)
{
	return c->skip != NULL ? sizeof *c->skip + c->skip->cap *
	    sizeof *c->skip->seg : 0;
}

/* Whether c may lose m: someone else's line in a room. */
static int
conn_skip_droppable(const struct conn *c, const struct msg *m)
{
	switch (m->kind) {
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_ROOM_NOTICE:
		return c->session == NULL ||
		    strcmp(m->from, c->session->nick) != 0;
	default:
		return 0;
	}
}

/*
 * len bytes were added to c's output buffer: of m if it is not NULL, and
 * then whole unless partial (its start was written straight away).
 */
void
conn_skip_record(struct conn *c, size_t len, struct msg *m, int partial)
{
	conn_skip_follow(c);
	if (c->skip == NULL || len == 0)
		return;
	if (m == NULL || *m->room == '\0')	/* nothing to tell apart */
		conn_skip_push(c->skip, len, SEG_OTHER, NULL, 0);
	else
		conn_skip_push(c->skip, len, SEG_MSG, m, !partial &&
		    conn_skip_droppable(c, m));
}

/* Take what was written since the last time off the FIFO's head. */
static void
conn_skip_sync(struct conn *c)
{
	struct conn_skip	*q = c->skip;
	struct conn_skip_seg	*s;
	size_t			 gone, left;

	gone = q->bytes - evbuffer_get_length(c->out);
	q->bytes -= gone;
	while (gone > 0) {
		s = conn_skip_at(q, 0);
		left = s->len - q->written;
		if (gone < left) {
			q->written += gone;
			break;
		}
		gone -= left;
		q->written = 0;
		msg_unref(s->m);
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	if (q->n == 0 && q->cap > 16) {	/* a burst is over: give back */
		free(q->seg);
		q->seg = NULL;
		q->head = q->cap = 0;
	}
}

/* The open gap of m's room, or NULL. */
static struct conn_skip_gap *
conn_skip_open_gap(struct conn_skip_gap *gap, size_t ngaps,
    const struct msg *m)
{
	size_t	i;

	for (i = ngaps; i > 0; i--)
		if (gap[i - 1].open && strcmp(gap[i - 1].m->room, m->room) == 0)
			return &gap[i - 1];
	return NULL;
}

/* Join span to the open gap of m's room, made if there is none. */
static void
conn_skip_join(struct conn_skip_gap **gap, size_t *ngaps, struct msg *m,
    const struct conn_skip_span *span, int fresh)
{
	struct conn_skip_gap	*g;

	if ((g = conn_skip_open_gap(*gap, *ngaps, m)) == NULL) {
		*gap = xreallocarray(*gap, *ngaps + 1, sizeof **gap);
		g = &(*gap)[*ngaps];
		g->seq = (*ngaps)++;
		g->m = m;
		g->span = *span;
		g->open = 1;
		g->fresh = fresh;
		return;
	}
	if (span->first < g->span.first)
		g->span.first = span->first;
	if (span->last > g->span.last)
		g->span.last = span->last;
	g->span.count += span->count;
	g->fresh &= fresh;
}

static int
conn_skip_gap_cmp(const void *a, const void *b)
{
	const struct conn_skip_gap	*ga = a, *gb = b;

	if (ga->end != gb->end)
		return ga->end < gb->end ? -1 : 1;
	return ga->seq < gb->seq ? -1 : ga->seq > gb->seq;
}

/*
 * Mark droppable segments from the oldest until at most target bytes
 * stay, and find the gaps they make or grow (a SKIP line not yet written
 * at all is taken back into its room's gap): *gapp, in the order their
 * SKIP lines go; returns how many, *dropped how many segments go.
 */
static size_t
conn_skip_plan(struct conn_skip *q, size_t target, struct conn_skip_gap **gapp,
    size_t *dropped)
{
	struct conn_skip_gap	*gap = NULL, *g;
	struct conn_skip_seg	*s;
	struct conn_skip_span	 one;
	size_t			 i, ngaps = 0, keep = q->bytes;
	int			 whole;

	*dropped = 0;
	for (i = 0; i < q->n; i++) {
		s = conn_skip_at(q, i);
		whole = i > 0 || q->written == 0;
		if (s->kind == SEG_SKIP && whole) {
			s->drop = 1;	/* told again where its gap ends */
			conn_skip_join(&gap, &ngaps, s->m, &s->span, 0);
		} else if (keep > target && s->droppable && whole) {
			s->drop = 1;
			keep -= s->len;
			(*dropped)++;
			one.first = one.last = s->m->id;
			one.count = 1;
			conn_skip_join(&gap, &ngaps, s->m, &one, 1);
		} else if (s->m != NULL &&
		    (g = conn_skip_open_gap(gap, ngaps, s->m)) != NULL) {
			g->end = i;	/* a line of its room is kept */
			g->open = 0;
		}
	}
	for (i = 0; i < ngaps; i++)
		if (gap[i].open)
			gap[i].end = q->n;
	qsort(gap, ngaps, sizeof *gap, conn_skip_gap_cmp);
	*gapp = gap;
	return ngaps;
}

/* Queue gap's SKIP line to scratch, and record it in kept. */
static void
conn_skip_tell(struct conn *c, struct evbuffer *scratch,
    struct conn_skip *kept, const struct conn_skip_gap *gap)
{
	struct conn_skip_seg	*s;
	size_t			 before = evbuffer_get_length(scratch);

	c->proto->skipped(c, scratch, gap->m->room, gap->span.first,
	    gap->span.last, gap->span.count);
	s = conn_skip_push(kept, evbuffer_get_length(scratch) - before,
	    SEG_SKIP, gap->m, 0);
	s->span = gap->span;
}

/*
 * Drop c's oldest droppable segments until it holds at most half of
 * sendq-soft (room again for a burst before the next judgment), and tell
 * each gap.  Kept output moves to a new buffer with the SKIP lines, then
 * back: the buffer's front is frozen for a socket's bufferevent, and the
 * FIFO is rebuilt in the same walk.  A fan-out run still held is queued
 * after all of this, as it would have been.
 */
static void
conn_skip_trim(struct conn *c)
{
	struct conn_skip	*q, *kept;
	struct conn_skip_gap	*gap;
	struct conn_skip_seg	*s;
	struct evbuffer		*out = c->out, *scratch;
	size_t			 i, g = 0, ngaps, len, dropped, fresh = 0;
	int			 frozen;

	q = c->skip;
	ngaps = conn_skip_plan(q, conn_config->sendq_soft / 2, &gap, &dropped);
	if (dropped == 0) {	/* the SKIP lines stay as they are */
		for (i = 0; i < q->n; i++)
			conn_skip_at(q, i)->drop = 0;
		free(gap);
		return;
	}
	if ((scratch = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	kept = xcalloc(1, sizeof *kept);
	/* draining nothing fails only if the front is frozen */
	if ((frozen = evbuffer_drain(out, 0) == -1))
		evbuffer_unfreeze(out, 1);
	for (i = 0; i <= q->n; i++) {
		for (; g < ngaps && gap[g].end == i; g++) {
			conn_skip_tell(c, scratch, kept, &gap[g]);
			fresh += gap[g].fresh;
		}
		if (i == q->n)
			break;
		s = conn_skip_at(q, i);
		len = s->len - (i == 0 ? q->written : 0);
		if (s->drop)
			evbuffer_drain(out, len);
		else {
			evbuffer_remove_buffer(out, scratch, len);
			if (len < s->len)	/* partly written: it stays */
				conn_skip_push(kept, len, SEG_OTHER, NULL, 0);
			else
				conn_skip_push(kept, len, s->kind, s->m,
				    s->droppable);
		}
	}
	evbuffer_add_buffer(out, scratch);
	if (frozen)
		evbuffer_freeze(out, 1);
	evbuffer_free(scratch);
	stats.skipped_messages += dropped;
	stats.skip_gaps += fresh;
	log_debug("client %llu: slow consumer: skipped %zu messages, %zu new "
	    "gaps, %zu bytes still queued", (unsigned long long)c->id,
	    dropped, fresh, evbuffer_get_length(out));
	free(gap);
	conn_skip_free(q);
	c->skip = kept;
}

/*
 * After a write was tried (conn_judge): forget what was written, and if c
 * is still above sendq-soft (but not sendq-hard, which cuts), trim.
 */
void
conn_skip_judge(struct conn *c)
{
	conn_skip_follow(c);
	if (c->skip == NULL)
		return;
	conn_skip_sync(c);
	if (c->skip->bytes > conn_config->sendq_soft &&
	    c->skip->bytes <= conn_config->sendq_hard)
		conn_skip_trim(c);
}
