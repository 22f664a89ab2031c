/*
 * Unit tests for frame.c: frame_next over an evbuffer.
 *
 * Input is fed the way the daemon's bufferevent does it: the read high
 * watermark is FRAME_BUFFER_MAX(max), so at most FRAME_BUFFER_MAX(max) minus
 * what is buffered arrives at a time, and after each arrival frame_next is
 * called until it returns FRAME_NEED_MORE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "check-text.h"
#include "frame.h"

#define MAX	16

struct fixture {
	struct evbuffer	*in;
	struct framer	 f;
	char		*line;
	size_t		 max;
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);

	if (fx == NULL || (fx->in = evbuffer_new()) == NULL)
		return -1;
	fx->max = MAX;
	/* Exactly max bytes: frame_next must never write more. */
	fx->line = malloc(MAX);
	*state = fx;
	return fx->line == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	evbuffer_free(fx->in);
	free(fx->line);
	free(fx);
	return 0;
}

static void
add(struct fixture *fx, const char *data, size_t len)
{
	assert_int_equal(evbuffer_add(fx->in, data, len), 0);
}

#define ADD(fx, s)	add((fx), (s), sizeof(s) - 1)

static enum frame_result
next(struct fixture *fx, size_t *len)
{
	*len = (size_t)-1;
	return frame_next(&fx->f, fx->in, fx->max, fx->line, len);
}

static void
expect_line(struct fixture *fx, const char *content, size_t clen)
{
	size_t	len;

	assert_int_equal(next(fx, &len), FRAME_LINE);
	assert_int_equal(len, clen);
	assert_memory_equal(fx->line, content, clen);
}

#define EXPECT_LINE(fx, s)	expect_line((fx), (s), sizeof(s) - 1)

static void
expect_need_more(struct fixture *fx)
{
	size_t	len;

	assert_int_equal(next(fx, &len), FRAME_NEED_MORE);
}

static void
expect_too_long(struct fixture *fx)
{
	size_t	len;

	assert_int_equal(next(fx, &len), FRAME_TOO_LONG);
}

/* ---- basic lines ---- */

static void
test_lf_line(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "hello\n");
	EXPECT_LINE(fx, "hello");
	expect_need_more(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
}

static void
test_crlf_line(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "hello\r\n");
	EXPECT_LINE(fx, "hello");
	expect_need_more(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
}

static void
test_several_lines_one_buffer(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "a\nbb\r\nccc\nd");
	EXPECT_LINE(fx, "a");
	EXPECT_LINE(fx, "bb");
	EXPECT_LINE(fx, "ccc");
	expect_need_more(fx);
	expect_need_more(fx);		/* asking again changes nothing */
	assert_int_equal(evbuffer_get_length(fx->in), 1);
	ADD(fx, "dd\r\n");
	EXPECT_LINE(fx, "ddd");
	expect_need_more(fx);
}

static void
test_nothing_buffered(void **state)
{
	struct fixture	*fx = *state;

	expect_need_more(fx);
	ADD(fx, "partial");
	expect_need_more(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 7);
}

static void
test_byte_at_a_time(void **state)
{
	struct fixture	*fx = *state;
	const char	 input[] = "hello world\r\nsecond\nx\r\r\n\n";
	const char	*want[] = { "hello world", "second", "x\r", "" };
	size_t		 i, got = 0, len;
	enum frame_result r;

	for (i = 0; i < sizeof input - 1; i++) {
		add(fx, input + i, 1);
		while ((r = next(fx, &len)) != FRAME_NEED_MORE) {
			assert_int_equal(r, FRAME_LINE);
			assert_true(got < 4);
			/* A line is only complete at its LF. */
			assert_int_equal(input[i], '\n');
			assert_int_equal(len, strlen(want[got]));
			assert_memory_equal(fx->line, want[got], len);
			got++;
		}
	}
	assert_int_equal(got, 4);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
}

static void
test_cr_alone_is_content(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "a\rb\n");
	EXPECT_LINE(fx, "a\rb");
	ADD(fx, "\r\r\n");			/* only the last CR goes */
	EXPECT_LINE(fx, "\r");
	ADD(fx, "\r\n");
	EXPECT_LINE(fx, "");
	ADD(fx, "\r");
	expect_need_more(fx);			/* CR does not end a line */
	ADD(fx, "x\n");
	EXPECT_LINE(fx, "\rx");
	ADD(fx, "abc\r");
	expect_need_more(fx);
	ADD(fx, "\n");
	EXPECT_LINE(fx, "abc");
	ADD(fx, "\rabc\n");
	EXPECT_LINE(fx, "\rabc");
	expect_need_more(fx);
}

static void
test_empty_lines(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "\n\r\n\n");
	EXPECT_LINE(fx, "");
	EXPECT_LINE(fx, "");
	EXPECT_LINE(fx, "");
	expect_need_more(fx);
}

static void
test_nul_bytes_kept(void **state)
{
	struct fixture	*fx = *state;

	ADD(fx, "a\0b\n");
	EXPECT_LINE(fx, "a\0b");
	ADD(fx, "\0\r\n");
	EXPECT_LINE(fx, "\0");
	ADD(fx, "\0\0\0\n");
	EXPECT_LINE(fx, "\0\0\0");
}

/* ---- the max bound ---- */

static void
fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
}

static void
test_exactly_max_lf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 2];

	fill(buf, MAX, 'x');
	buf[MAX] = '\n';
	add(fx, buf, MAX + 1);
	expect_line(fx, buf, MAX);
	expect_need_more(fx);
}

static void
test_exactly_max_crlf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 2];

	fill(buf, MAX, 'y');
	buf[MAX] = '\r';
	buf[MAX + 1] = '\n';
	assert_int_equal(sizeof buf, FRAME_BUFFER_MAX(MAX));
	add(fx, buf, MAX + 2);
	expect_line(fx, buf, MAX);
	expect_need_more(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
}

static void
test_exactly_max_crlf_byte_at_a_time(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 2];
	size_t		 i;

	fill(buf, MAX, 'z');
	buf[MAX] = '\r';
	buf[MAX + 1] = '\n';
	for (i = 0; i < MAX + 1; i++) {
		add(fx, buf + i, 1);
		expect_need_more(fx);
	}
	add(fx, buf + MAX + 1, 1);
	expect_line(fx, buf, MAX);
	expect_need_more(fx);
}

static void
test_max_plus_one_lf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 2];

	fill(buf, MAX + 1, 'x');
	buf[MAX + 1] = '\n';
	add(fx, buf, MAX + 2);
	ADD(fx, "next\n");
	expect_too_long(fx);
	EXPECT_LINE(fx, "next");		/* the next line is intact */
	expect_need_more(fx);
}

static void
test_max_plus_one_lf_separately(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 1];

	/* max + 1 bytes fit the buffer (room for a CR): wait for more. */
	fill(buf, MAX + 1, 'x');
	add(fx, buf, MAX + 1);
	expect_need_more(fx);
	ADD(fx, "\n");
	expect_too_long(fx);
	expect_need_more(fx);
	ADD(fx, "ok\n");
	EXPECT_LINE(fx, "ok");
}

static void
test_max_plus_one_crlf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 3];

	fill(buf, MAX + 1, 'x');
	buf[MAX + 1] = '\r';
	buf[MAX + 2] = '\n';
	add(fx, buf, sizeof buf);
	ADD(fx, "after\r\n");
	expect_too_long(fx);
	EXPECT_LINE(fx, "after");
	expect_need_more(fx);
}

static void
test_max_cr_cr_lf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[MAX + 1];

	/* max bytes + CR + CR LF: the content is max + 1 bytes. */
	fill(buf, MAX, 'x');
	buf[MAX] = '\r';
	add(fx, buf, MAX + 1);
	expect_need_more(fx);
	ADD(fx, "\r");
	expect_too_long(fx);
	ADD(fx, "\n");
	expect_need_more(fx);
	ADD(fx, "fine\n");
	EXPECT_LINE(fx, "fine");
}

static void
test_too_long_after_a_good_line(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[2 + MAX + 2];

	memcpy(buf, "a\n", 2);
	fill(buf + 2, MAX + 2, 'q');
	add(fx, buf, sizeof buf);
	EXPECT_LINE(fx, "a");
	expect_too_long(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
	expect_need_more(fx);
	ADD(fx, "qqqq\nb\n");
	EXPECT_LINE(fx, "b");
	expect_need_more(fx);
}

/*
 * Feed stream through the watermark in chunks of at most chunk bytes,
 * calling frame_next until FRAME_NEED_MORE after each arrival, and check
 * that the buffer never exceeds FRAME_BUFFER_MAX(max) and that the framer
 * never stalls on a full buffer.  Results go to the arrays.
 */
struct feed_result {
	size_t		 nlines, ntoolong;
	char		 lines[64][MAX];
	size_t		 lens[64];
	enum frame_result order[128];
	size_t		 norder;
};

static void
feed(struct fixture *fx, const char *stream, size_t len, size_t chunk,
    struct feed_result *res)
{
	size_t			off = 0, room, n, buffered, linelen;
	enum frame_result	r;

	memset(res, 0, sizeof *res);
	while (off < len) {
		buffered = evbuffer_get_length(fx->in);
		assert_true(buffered < FRAME_BUFFER_MAX(fx->max));
		room = FRAME_BUFFER_MAX(fx->max) - buffered;
		n = len - off;
		if (n > room)
			n = room;
		if (n > chunk)
			n = chunk;
		add(fx, stream + off, n);
		off += n;
		assert_true(evbuffer_get_length(fx->in) <=
		    FRAME_BUFFER_MAX(fx->max));
		while ((r = next(fx, &linelen)) != FRAME_NEED_MORE) {
			assert_true(res->norder < 128);
			res->order[res->norder++] = r;
			if (r == FRAME_TOO_LONG) {
				res->ntoolong++;
				continue;
			}
			assert_int_equal(r, FRAME_LINE);
			assert_true(linelen <= fx->max);
			assert_true(res->nlines < 64);
			memcpy(res->lines[res->nlines], fx->line, linelen);
			res->lens[res->nlines++] = linelen;
		}
		/* FRAME_NEED_MORE with a full buffer would stall forever. */
		assert_true(evbuffer_get_length(fx->in) <
		    FRAME_BUFFER_MAX(fx->max));
	}
}

static void
test_long_line_in_chunks(void **state)
{
	struct fixture		*fx = *state;
	static const size_t	 chunks[] = { 1, 2, 3, 5, MAX - 1, MAX,
				    MAX + 1, MAX + 2, 1000 };
	static const size_t	 longs[] = { MAX + 1, MAX + 2, MAX + 3,
				    2 * MAX, 10 * MAX + 7, 1000 };
	char			 stream[2048];
	struct feed_result	 res;
	size_t			 c, l, len;

	for (l = 0; l < sizeof longs / sizeof longs[0]; l++) {
		for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
			memset(&fx->f, 0, sizeof fx->f);
			evbuffer_drain(fx->in, evbuffer_get_length(fx->in));
			len = 0;
			memcpy(stream + len, "before\n", 7);
			len += 7;
			memset(stream + len, 'L', longs[l]);
			len += longs[l];
			memcpy(stream + len, "\r\nnext\r\nlast\n", 13);
			len += 13;

			feed(fx, stream, len, chunks[c], &res);
			assert_int_equal(res.ntoolong, 1);
			assert_int_equal(res.nlines, 3);
			assert_int_equal(res.lens[0], 6);
			assert_memory_equal(res.lines[0], "before", 6);
			assert_int_equal(res.order[1], FRAME_TOO_LONG);
			assert_int_equal(res.lens[1], 4);
			assert_memory_equal(res.lines[1], "next", 4);
			assert_int_equal(res.lens[2], 4);
			assert_memory_equal(res.lines[2], "last", 4);
			assert_int_equal(evbuffer_get_length(fx->in), 0);
		}
	}
}

static void
test_long_line_discarded_until_lf(void **state)
{
	struct fixture	*fx = *state;
	char		 buf[FRAME_BUFFER_MAX(MAX)];
	int		 i;

	fill(buf, sizeof buf, 'x');
	add(fx, buf, sizeof buf);
	expect_too_long(fx);
	assert_int_equal(evbuffer_get_length(fx->in), 0);
	/* Many more buffers of the same line: skipped, not reported. */
	for (i = 0; i < 20; i++) {
		add(fx, buf, sizeof buf);
		expect_need_more(fx);
		assert_int_equal(evbuffer_get_length(fx->in), 0);
	}
	/* Including things that look like terminators but are not. */
	ADD(fx, "\r\r\r");
	expect_need_more(fx);
	/* The LF ends it; the next line follows in the same chunk. */
	ADD(fx, "tail\nhi\r\n");
	EXPECT_LINE(fx, "hi");
	expect_need_more(fx);
	/* And framing is back to normal. */
	ADD(fx, "again\n");
	EXPECT_LINE(fx, "again");
}

static void
test_two_long_lines(void **state)
{
	struct fixture		*fx = *state;
	char			 stream[4 * MAX + 16];
	struct feed_result	 res;
	size_t			 len = 0;

	memset(stream, 'a', 2 * MAX);
	len += 2 * MAX;
	stream[len++] = '\n';
	memset(stream + len, 'b', MAX + 1);
	len += MAX + 1;
	stream[len++] = '\n';
	memcpy(stream + len, "ok\n", 3);
	len += 3;
	feed(fx, stream, len, 7, &res);
	assert_int_equal(res.ntoolong, 2);
	assert_int_equal(res.nlines, 1);
	assert_memory_equal(res.lines[0], "ok", 2);
	assert_int_equal(res.norder, 3);
}

/* A random stream of lines against a simple model of the rules. */
static uint64_t rng_state = 0x243f6a8885a308d3ULL;
#define rng()	check_rng(&rng_state)


static void
test_random_streams(void **state)
{
	struct fixture		*fx = *state;
	char			 stream[40 * (3 * MAX + 2)];
	struct feed_result	 res;
	size_t			 want_lens[40];
	char			 want[40][MAX];
	enum frame_result	 want_order[40];
	size_t			 nwant, nwantlines, nlines, len, i, k, raw;
	size_t			 content;
	int			 iter;

	for (iter = 0; iter < 3000; iter++) {
		memset(&fx->f, 0, sizeof fx->f);
		evbuffer_drain(fx->in, evbuffer_get_length(fx->in));
		len = nwant = nwantlines = 0;
		nlines = 1 + rng() % 40;
		for (i = 0; i < nlines; i++) {
			raw = rng() % (3 * MAX);
			for (k = 0; k < raw; k++) {
				static const char alphabet[] = "ab\r\0 \xff";

				stream[len + k] = alphabet[rng() %
				    (sizeof alphabet - 1)];
			}
			if (rng() % 3 == 0 && raw > 0)
				stream[len + raw - 1] = '\r';
			content = raw;
			if (raw > 0 && stream[len + raw - 1] == '\r')
				content--;
			if (content <= MAX) {
				memcpy(want[nwantlines], stream + len, content);
				want_lens[nwantlines++] = content;
				want_order[nwant++] = FRAME_LINE;
			} else
				want_order[nwant++] = FRAME_TOO_LONG;
			len += raw;
			stream[len++] = '\n';
		}
		feed(fx, stream, len, 1 + rng() % (2 * MAX + 4), &res);
		assert_int_equal(res.norder, nwant);
		for (i = 0; i < nwant; i++)
			assert_int_equal(res.order[i], want_order[i]);
		assert_int_equal(res.nlines, nwantlines);
		for (i = 0; i < nwantlines; i++) {
			assert_int_equal(res.lens[i], want_lens[i]);
			assert_memory_equal(res.lines[i], want[i],
			    want_lens[i]);
		}
		assert_int_equal(evbuffer_get_length(fx->in), 0);
	}
}

/* The daemon's default max-line, byte-exact at the limit. */
static void
test_default_max(void **state)
{
	struct fixture	*fx = *state;
	enum { BIG = 4096 };
	char		*buf = malloc(BIG + 2), *line = malloc(BIG);
	size_t		 len;

	assert_non_null(buf);
	assert_non_null(line);
	fx->max = BIG;
	memset(buf, 'm', BIG);
	buf[BIG] = '\r';
	buf[BIG + 1] = '\n';
	add(fx, buf, BIG + 2);
	assert_int_equal(frame_next(&fx->f, fx->in, BIG, line, &len),
	    FRAME_LINE);
	assert_int_equal(len, BIG);
	buf[BIG] = 'm';
	buf[BIG + 1] = 'm';
	add(fx, buf, BIG + 2);
	assert_int_equal(frame_next(&fx->f, fx->in, BIG, line, &len),
	    FRAME_TOO_LONG);
	assert_int_equal(frame_next(&fx->f, fx->in, BIG, line, &len),
	    FRAME_NEED_MORE);
	add(fx, "\nz\n", 3);
	assert_int_equal(frame_next(&fx->f, fx->in, BIG, line, &len),
	    FRAME_LINE);
	assert_int_equal(len, 1);
	assert_int_equal(line[0], 'z');
	free(buf);
	free(line);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lf_line),
		T(test_crlf_line),
		T(test_several_lines_one_buffer),
		T(test_nothing_buffered),
		T(test_byte_at_a_time),
		T(test_cr_alone_is_content),
		T(test_empty_lines),
		T(test_nul_bytes_kept),
		T(test_exactly_max_lf),
		T(test_exactly_max_crlf),
		T(test_exactly_max_crlf_byte_at_a_time),
		T(test_max_plus_one_lf),
		T(test_max_plus_one_lf_separately),
		T(test_max_plus_one_crlf),
		T(test_max_cr_cr_lf),
		T(test_too_long_after_a_good_line),
		T(test_long_line_in_chunks),
		T(test_long_line_discarded_until_lf),
		T(test_two_long_lines),
		T(test_random_streams),
		T(test_default_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
