/*
 * The FIFO of what a skipping client's output buffer holds, segment by
 * segment (conn-skip.c), and the plan of what a trim drops: no buffers,
 * no sockets, so that it can be tested alone.
 */
#ifndef CHATD_SKIPQ_H
#define CHATD_SKIPQ_H

#include <stddef.h>
#include <stdint.h>

struct msg;

enum skipq_kind {
	SKIPQ_OTHER,		/* anything without a room */
	SKIPQ_MSG,		/* a room's message: m */
	SKIPQ_SKIP,		/* a SKIP line: m is one of its room's */
};

/* What a gap lost: ids first to last of its room, count messages. */
struct skipq_span {
	uint64_t	 first, last;
	size_t		 count;
};

struct skipq_seg {
	size_t		 len;
	struct msg	*m;		/* held; NULL for SKIPQ_OTHER */
	struct skipq_span span;		/* SKIPQ_SKIP's */
	unsigned	 kind:2;
	unsigned	 droppable:1;
	unsigned	 drop:1;	/* skipq_plan's verdict */
};

struct skipq {
	struct skipq_seg	*seg;	/* a ring of cap */
	size_t			 head, n, cap;
	size_t			 bytes;	/* in the output buffer */
	size_t			 written;	/* of the head segment */
};

/* One gap found by skipq_plan. */
struct skipq_gap {
	size_t		 end;		/* its SKIP line goes before this
					   segment; n: last */
	size_t		 seq;		/* the order gaps were found */
	struct msg	*m;		/* one of its room's: the room */
	struct skipq_span span;
	int		 open;		/* the room's drops join it */
	int		 fresh;		/* not told before, even in part */
};

struct skipq_seg	*skipq_at(struct skipq *, size_t);
struct skipq_seg	*skipq_push(struct skipq *, size_t len, enum skipq_kind,
			    struct msg *, int droppable);
void			 skipq_consume(struct skipq *, size_t left);
size_t			 skipq_plan(struct skipq *, size_t target,
			    struct skipq_gap **, size_t *dropped);
void			 skipq_free(struct skipq *);	/* and its refs */

#endif
