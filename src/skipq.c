/*
 * The segments of a skipping client's output queue, oldest first, in a
 * ring: what conn-skip.c records as it queues, takes off as the client
 * reads, and plans a trim with.  A segment holds a reference to its
 * message, for its room and id; the ring belongs to one connection.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "skipq.h"
#include "xmalloc.h"

/* The i-th segment, from the oldest. */
struct skipq_seg *
skipq_at(struct skipq *q, size_t i)
{
	return &q->seg[(q->head + i) % q->cap];
}

/* Free q and drop the references its segments hold. */
void
skipq_free(struct skipq *q)
{
	size_t	i;

	for (i = 0; i < q->n; i++)
		msg_unref(skipq_at(q, i)->m);
	free(q->seg);
	free(q);
}

/* Append a segment, or grow the last one if both are plain output. */
struct skipq_seg *
skipq_push(struct skipq *q, size_t len, enum skipq_kind kind,
    struct msg *m, int droppable)
{
	struct skipq_seg	*s, *seg;
	size_t			 i;

	q->bytes += len;
	if (kind == SKIPQ_OTHER && q->n > 0 &&
	    (s = skipq_at(q, q->n - 1))->kind == SKIPQ_OTHER) {
		s->len += len;
		return s;
	}
	if (q->n == q->cap) {
		seg = xreallocarray(NULL, q->cap ? 2 * q->cap : 16, sizeof *seg);
		for (i = 0; i < q->n; i++)
			seg[i] = *skipq_at(q, i);
		free(q->seg);
		q->seg = seg;
		q->head = 0;
		q->cap = q->cap ? 2 * q->cap : 16;
	}
	s = skipq_at(q, q->n++);
	s->len = len;
	s->m = m != NULL ? msg_ref(m) : NULL;
	s->kind = kind;
	s->droppable = droppable;
	s->drop = 0;
	return s;
}

/* Only left bytes of q's output are still queued: take the rest off. */
void
skipq_consume(struct skipq *q, size_t left)
{
	struct skipq_seg	*s;
	size_t			 gone, rest;

	gone = q->bytes - left;
	q->bytes = left;
	while (gone > 0) {
		s = skipq_at(q, 0);
		rest = s->len - q->written;
		if (gone < rest) {
			q->written += gone;
			break;
		}
		gone -= rest;
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
static struct skipq_gap *
skipq_open_gap(struct skipq_gap *gap, size_t ngaps,
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
skipq_join(struct skipq_gap **gap, size_t *ngaps, struct msg *m,
    const struct skipq_span *span, int fresh)
{
	struct skipq_gap	*g;

	if ((g = skipq_open_gap(*gap, *ngaps, m)) == NULL) {
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
skipq_gap_cmp(const void *a, const void *b)
{
	const struct skipq_gap	*ga = a, *gb = b;

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
size_t
skipq_plan(struct skipq *q, size_t target, struct skipq_gap **gapp,
    size_t *dropped)
{
	struct skipq_gap	*gap = NULL, *g;
	struct skipq_seg	*s;
	struct skipq_span	 one;
	size_t			 i, ngaps = 0, keep = q->bytes;
	int			 whole;

	*dropped = 0;
	for (i = 0; i < q->n; i++) {
		s = skipq_at(q, i);
		whole = i > 0 || q->written == 0;
		if (s->kind == SKIPQ_SKIP && whole) {
			s->drop = 1;	/* told again where its gap ends */
			skipq_join(&gap, &ngaps, s->m, &s->span, 0);
		} else if (keep > target && s->droppable && whole) {
			s->drop = 1;
			keep -= s->len;
			(*dropped)++;
			one.first = one.last = s->m->id;
			one.count = 1;
			skipq_join(&gap, &ngaps, s->m, &one, 1);
		} else if (s->m != NULL &&
		    (g = skipq_open_gap(gap, ngaps, s->m)) != NULL) {
			g->end = i;	/* a line of its room is kept */
			g->open = 0;
		}
	}
	for (i = 0; i < ngaps; i++)
		if (gap[i].open)
			gap[i].end = q->n;
	if (ngaps > 1)		/* qsort wants a real array, even of none */
		qsort(gap, ngaps, sizeof *gap, skipq_gap_cmp);
	*gapp = gap;
	return ngaps;
}

