/*
 * libFuzzer harness: the line framer (frame.c) and the sanitizer (text.c),
 * as conn.c drives them.
 *
 * Input: two header bytes choose max-line and how the stream is cut into
 * reads; the rest is the byte stream from the client.  The stream is fed
 * into an evbuffer in those chunks, never more than the read high watermark
 * allows, and framed after every chunk exactly as conn.c does.  A simple
 * reference framer (split at LF, drop one CR before it) says what the
 * outcomes must be; every line is then sanitized, and the output must be
 * valid UTF-8 without C0, C1 or DEL, at most three times as long, and the
 * same when sanitized again.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-text.h"
#include "frame.h"
#include "text.h"

#define MAX_LINE_MAX	600

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct outcome {
	enum frame_result	 r;
	const uint8_t		*line;
	size_t			 len;
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_frame: invariant broken: %s\n", what);
	abort();
}


static void
check_sanitized(const uint8_t *line, size_t len)
{
	static char	out[TEXT_SANITIZE_MAX(MAX_LINE_MAX + 2)];
	static char	again[TEXT_SANITIZE_MAX(TEXT_SANITIZE_MAX(MAX_LINE_MAX + 2))];
	size_t		n, m, t, max;
	uint32_t	cp = 0;

	n = text_sanitize((const char *)line, len, out);
	if (n > TEXT_SANITIZE_MAX(len))
		fail("sanitized text longer than TEXT_SANITIZE_MAX");
	if (!check_text_safe((const uint8_t *)out, n, &cp))
		fail("sanitized text is not valid UTF-8 or has a control "
		    "character");
	/* Safe text is left alone: sanitizing is idempotent. */
	m = text_sanitize(out, n, again);
	if (m != n || memcmp(out, again, n) != 0)
		fail("sanitizing sanitized text changed it");
	/* Truncation keeps whole characters and respects the bound. */
	for (max = 0; max <= n; max += 1 + max / 3) {
		t = text_utf8_truncate(out, n, max);
		if (t > max || !check_text_safe((const uint8_t *)out, t, &cp))
			fail("text_utf8_truncate cut a character or overran");
	}
}

/* What the framer must report for stream s: one outcome per LF-ended line,
 * and TOO_LONG for an unterminated tail already known to be too long. */
static size_t
reference(const uint8_t *s, size_t len, size_t max, struct outcome *out)
{
	size_t		 n = 0, start = 0, i, content;

	for (i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		content = i - start;
		if (content > 0 && s[i - 1] == '\r')
			content--;
		out[n].r = content > max ? FRAME_TOO_LONG : FRAME_LINE;
		out[n].line = s + start;
		out[n].len = content;
		n++;
		start = i + 1;
	}
	if (len - start > max + 1) {
		out[n].r = FRAME_TOO_LONG;
		out[n].line = NULL;
		out[n].len = 0;
		n++;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 line[MAX_LINE_MAX + 2];
	struct outcome		*want;
	struct evbuffer		*in;
	struct framer		 f;
	enum frame_result	 r;
	const uint8_t		*s;
	size_t			 max, nwant, got = 0, pos = 0, len, room, chunk;
	uint8_t			 cut;

	if (size < 2)
		return 0;
	max = 64 + (size_t)data[0] * 2;		/* 64 .. 574 */
	cut = data[1];
	s = data + 2;
	size -= 2;

	want = calloc(size + 1, sizeof *want);
	if (want == NULL)
		return 0;
	nwant = reference(s, size, max, want);

	in = evbuffer_new();
	memset(&f, 0, sizeof f);
	while (pos < size) {
		/* A read never takes more than the high watermark leaves. */
		room = FRAME_BUFFER_MAX(max) - evbuffer_get_length(in);
		if (room == 0)
			fail("input buffer full but the framer wants more");
		chunk = 1 + (cut ^ (uint8_t)(pos * 131)) % (cut % 64 + 1);
		if (cut & 0x80)
			chunk = room;	/* big reads */
		if (chunk > room)
			chunk = room;
		if (chunk > size - pos)
			chunk = size - pos;
		evbuffer_add(in, s + pos, chunk);
		pos += chunk;
		for (;;) {
			len = (size_t)-1;
			r = frame_next(&f, in, max, line, &len);
			if (r == FRAME_NEED_MORE)
				break;
			if (got >= nwant)
				fail("more lines than the reference framer");
			if (r != want[got].r)
				fail("line outcome differs from the reference");
			if (r == FRAME_LINE) {
				if (len != want[got].len ||
				    memcmp(line, want[got].line, len) != 0)
					fail("line content differs from the "
					    "reference");
				check_sanitized((const uint8_t *)line, len);
			}
			got++;
		}
		if (evbuffer_get_length(in) > FRAME_BUFFER_MAX(max))
			fail("more than max-line + CRLF left buffered");
	}
	if (got != nwant)
		fail("fewer lines than the reference framer");
	/* Sanitize the whole input too: no framing, any bytes. */
	if (size <= MAX_LINE_MAX + 2)
		check_sanitized(s, size);
	evbuffer_free(in);
	free(want);
	return 0;
}
