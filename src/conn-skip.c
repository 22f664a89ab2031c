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
 * length once what was written is taken off its head (skipq_consume).
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
#include "skipq.h"
#include "stats.h"
#include "xmalloc.h"

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
		skipq_free(c->skip);
		c->skip = NULL;
		return;
	}
	c->skip = xcalloc(1, sizeof *c->skip);
	if ((queued = evbuffer_get_length(c->out)) > 0)
		skipq_push(c->skip, queued, SKIPQ_OTHER, NULL, 0);
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
		skipq_free(c->skip);
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
		skipq_push(c->skip, len, SKIPQ_OTHER, NULL, 0);
	else
		skipq_push(c->skip, len, SKIPQ_MSG, m, !partial &&
		    conn_skip_droppable(c, m));
}

/* Queue gap's SKIP line to scratch, and record it in kept. */
static void
conn_skip_tell(struct conn *c, struct evbuffer *scratch,
    struct skipq *kept, const struct skipq_gap *gap)
{
	struct skipq_seg	*s;
	size_t			 before = evbuffer_get_length(scratch);

	c->proto->skipped(c, scratch, gap->m->room, gap->span.first,
	    gap->span.last, gap->span.count);
	s = skipq_push(kept, evbuffer_get_length(scratch) - before,
	    SKIPQ_SKIP, gap->m, 0);
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
	struct skipq	*q, *kept;
	struct skipq_gap	*gap;
	struct skipq_seg	*s;
	struct evbuffer		*out = c->out, *scratch;
	size_t			 i, g = 0, ngaps, len, dropped, fresh = 0;
	int			 frozen;

	q = c->skip;
	ngaps = skipq_plan(q, conn_config->sendq_soft / 2, &gap, &dropped);
	if (dropped == 0) {	/* the SKIP lines stay as they are */
		for (i = 0; i < q->n; i++)
			skipq_at(q, i)->drop = 0;
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
		s = skipq_at(q, i);
		len = s->len - (i == 0 ? q->written : 0);
		if (s->drop)
			evbuffer_drain(out, len);
		else {
			evbuffer_remove_buffer(out, scratch, len);
			if (len < s->len)	/* partly written: it stays */
				skipq_push(kept, len, SKIPQ_OTHER, NULL, 0);
			else
				skipq_push(kept, len, s->kind, s->m,
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
	skipq_free(q);
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
	skipq_consume(c->skip, evbuffer_get_length(c->out));
	if (c->skip->bytes > conn_config->sendq_soft &&
	    c->skip->bytes <= conn_config->sendq_hard)
		conn_skip_trim(c);
}
