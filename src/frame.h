/* Bounded line framing over an evbuffer (LF or CRLF). */
#ifndef CHATD_FRAME_H
#define CHATD_FRAME_H

#include <stddef.h>

struct evbuffer;

/* Per-connection framing state. */
struct framer {
	size_t		scanned;	/* bytes already searched for LF */
	unsigned	discarding:1;	/* skipping the rest of a long line */
};

enum frame_result {
	FRAME_NEED_MORE,	/* no complete line buffered */
	FRAME_LINE,		/* a line was copied out */
	FRAME_TOO_LONG,		/* a line over max was refused */
};

/* Bytes of input a connection must be allowed to buffer for max. */
#define FRAME_BUFFER_MAX(max)	((max) + 2)

enum frame_result frame_next(struct framer *, struct evbuffer *, size_t max,
	    char *line, size_t *len);

#endif
