/*
 * Line framing.  A line ends at LF; a CR right before it is dropped.  At most
 * max bytes of content plus CRLF are ever buffered: a line longer than that
 * is reported once (FRAME_TOO_LONG) as soon as it is known to be too long,
 * and everything up to its LF is then discarded without being stored.  The
 * search for LF resumes where the last one stopped, so a line arriving a byte
 * at a time costs linear, not quadratic, time.
 */
#include <event2/buffer.h>

#include "frame.h"

/* Discard input up to and including the next LF; return 1 once found. */
static int
frame_skip_to_eol(struct framer *f, struct evbuffer *in)
{
	struct evbuffer_ptr	p;

	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos == -1) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return 0;
	}
	evbuffer_drain(in, (size_t)p.pos + 1);
	f->discarding = 0;
	return 1;
}

/*
 * Take the next line out of in into line (max bytes, not terminated);
 * on FRAME_TOO_LONG the caller tells the client, and the framer skips the
 * rest of the line by itself on later calls.
 */
enum frame_result
frame_next(struct framer *f, struct evbuffer *in, size_t max, char *line,
    size_t *len)
{
	struct evbuffer_ptr	p;
	size_t			total, eol, content;
	char			cr;

	if (f->discarding && !frame_skip_to_eol(f, in))
		return FRAME_NEED_MORE;

	total = evbuffer_get_length(in);
	if (f->scanned >= total)
		f->scanned = 0;
	evbuffer_ptr_set(in, &p, f->scanned, EVBUFFER_PTR_SET);
	p = evbuffer_search(in, "\n", 1, &p);
	if (p.pos == -1) {
		if (total <= max + 1) {		/* room for CR */
			f->scanned = total;
			return FRAME_NEED_MORE;
		}
		evbuffer_drain(in, total);
		f->scanned = 0;
		f->discarding = 1;
		return FRAME_TOO_LONG;
	}

	f->scanned = 0;
	eol = (size_t)p.pos;
	content = eol;
	if (content > 0) {
		evbuffer_ptr_set(in, &p, content - 1, EVBUFFER_PTR_SET);
		if (evbuffer_copyout_from(in, &p, &cr, 1) == 1 && cr == '\r')
			content--;
	}
	if (content > max) {
		evbuffer_drain(in, eol + 1);
		return FRAME_TOO_LONG;
	}
	evbuffer_remove(in, line, content);
	evbuffer_drain(in, eol + 1 - content);
	*len = content;
	return FRAME_LINE;
}
