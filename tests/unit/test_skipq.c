/*
 * Unit tests for skipq.c: the FIFO of a skipping client's output segments
 * (what is taken off as the client reads) and the plan of a trim (what is
 * dropped, and the gaps it makes, per room, with old SKIP lines taken back
 * into their gap).  Messages are real (msg.c); no buffers, no sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "msg.h"
#include "skipq.h"
#include "xmalloc.h"

/* Queue a len-byte line of room to q; its id. */
static uint64_t
push_say(struct skipq *q, size_t len, const char *room, int droppable)
{
	struct msg	*m = msg_new(MSG_SAY, room, "bob", NULL, "hi");
	uint64_t	 id = m->id;

	skipq_push(q, len, SKIPQ_MSG, m, droppable);
	msg_unref(m);		/* q holds its own */
	return id;
}

static void
test_consume_takes_written_bytes_off_the_head(void **state)
{
	struct skipq	*q = xcalloc(1, sizeof *q);
	size_t		 i;

	(void)state;
	skipq_push(q, 10, SKIPQ_OTHER, NULL, 0);
	skipq_push(q, 5, SKIPQ_OTHER, NULL, 0);	/* joins the first */
	push_say(q, 20, "#a", 1);
	assert_int_equal(q->n, 2);
	assert_int_equal(q->bytes, 35);
	skipq_consume(q, 30);		/* 5 of the head written */
	assert_int_equal(q->n, 2);
	assert_int_equal(q->written, 5);
	skipq_consume(q, 20);		/* the head is out */
	assert_int_equal(q->n, 1);
	assert_int_equal(q->written, 0);
	assert_int_equal(skipq_at(q, 0)->len, 20);
	skipq_consume(q, 0);
	assert_int_equal(q->n, 0);
	assert_int_equal(q->cap, 16);	/* small: kept */
	for (i = 0; i < 40; i++)	/* the ring grows, in order */
		push_say(q, i + 1, "#a", 1);
	assert_int_equal(q->cap, 64);
	for (i = 0; i < 40; i++)
		assert_int_equal(skipq_at(q, i)->len, i + 1);
	skipq_consume(q, 0);
	assert_int_equal(q->cap, 0);	/* a burst's ring is given back */
	skipq_free(q);
}

static void
test_plan_drops_the_oldest_down_to_target(void **state)
{
	struct skipq		*q = xcalloc(1, sizeof *q);
	struct skipq_gap	*gap;
	uint64_t		 id[5];
	size_t			 i, ngaps, dropped;

	(void)state;
	skipq_push(q, 10, SKIPQ_OTHER, NULL, 0);	/* an answer */
	for (i = 0; i < 5; i++)
		id[i] = push_say(q, 10, "#a", 1);
	skipq_push(q, 10, SKIPQ_OTHER, NULL, 0);	/* a private message */
	ngaps = skipq_plan(q, 30, &gap, &dropped);
	assert_int_equal(dropped, 4);
	assert_false(skipq_at(q, 0)->drop);
	for (i = 1; i <= 4; i++)
		assert_true(skipq_at(q, i)->drop);
	assert_false(skipq_at(q, 5)->drop);
	assert_int_equal(ngaps, 1);
	assert_int_equal(gap[0].end, 5);	/* before the line kept */
	assert_true(gap[0].span.first == id[0]);
	assert_true(gap[0].span.last == id[3]);
	assert_int_equal(gap[0].span.count, 4);
	assert_true(gap[0].fresh);
	free(gap);
	skipq_free(q);
}

static void
test_plan_with_nothing_droppable_makes_no_gap(void **state)
{
	struct skipq		*q = xcalloc(1, sizeof *q);
	struct skipq_gap	*gap;
	size_t			 ngaps, dropped;

	(void)state;
	skipq_push(q, 100, SKIPQ_OTHER, NULL, 0);	/* private messages */
	push_say(q, 100, "#a", 0);		/* its own echo */
	ngaps = skipq_plan(q, 10, &gap, &dropped);
	assert_int_equal(dropped, 0);
	assert_int_equal(ngaps, 0);
	assert_false(skipq_at(q, 0)->drop);
	assert_false(skipq_at(q, 1)->drop);
	free(gap);
	skipq_free(q);
}

static void
test_plan_keeps_a_segment_partly_written(void **state)
{
	struct skipq		*q = xcalloc(1, sizeof *q);
	struct skipq_gap	*gap;
	size_t			 ngaps, dropped;

	(void)state;
	push_say(q, 10, "#a", 1);
	push_say(q, 10, "#a", 1);
	skipq_consume(q, 15);
	ngaps = skipq_plan(q, 0, &gap, &dropped);
	assert_int_equal(dropped, 1);
	assert_false(skipq_at(q, 0)->drop);
	assert_true(skipq_at(q, 1)->drop);
	assert_int_equal(ngaps, 1);
	assert_int_equal(gap[0].end, 2);	/* open to the end */
	free(gap);
	skipq_free(q);
}

static void
test_plan_gaps_per_room_split_by_a_kept_line(void **state)
{
	struct skipq		*q = xcalloc(1, sizeof *q);
	struct skipq_gap	*gap;
	uint64_t		 a1, b1, a3, b2;
	size_t			 ngaps, dropped;

	(void)state;
	a1 = push_say(q, 10, "#a", 1);
	b1 = push_say(q, 10, "#b", 1);
	push_say(q, 10, "#a", 0);	/* the client's own: kept */
	a3 = push_say(q, 10, "#a", 1);
	b2 = push_say(q, 10, "#b", 1);
	ngaps = skipq_plan(q, 0, &gap, &dropped);
	assert_int_equal(dropped, 4);
	assert_int_equal(ngaps, 3);
	/* in the order their lines go: #a's first gap ends at its own line */
	assert_int_equal(gap[0].end, 2);
	assert_true(gap[0].span.first == a1 && gap[0].span.last == a1);
	assert_int_equal(gap[1].end, 5);
	assert_true(gap[1].span.first == b1 && gap[1].span.last == b2);
	assert_int_equal(gap[1].span.count, 2);
	assert_int_equal(gap[2].end, 5);
	assert_true(gap[2].span.first == a3 && gap[2].span.count == 1);
	free(gap);
	skipq_free(q);
}

static void
test_plan_takes_an_unwritten_skip_line_back(void **state)
{
	struct skipq		*q = xcalloc(1, sizeof *q);
	struct skipq_gap	*gap;
	struct skipq_seg	*s;
	struct msg		*m = msg_new(MSG_SAY, "#a", "bob", NULL, "hi");
	uint64_t		 a5;
	size_t			 ngaps, dropped;

	(void)state;
	s = skipq_push(q, 25, SKIPQ_SKIP, m, 0);	/* told: m and before */
	s->span.first = m->id - 2;
	s->span.last = m->id;
	s->span.count = 3;
	msg_unref(m);
	push_say(q, 10, "#a", 1);
	a5 = push_say(q, 10, "#a", 1);
	push_say(q, 10, "#a", 1);
	ngaps = skipq_plan(q, 35, &gap, &dropped);
	assert_int_equal(dropped, 2);	/* the SKIP line stays counted */
	assert_true(skipq_at(q, 0)->drop);	/* to be told again */
	assert_int_equal(ngaps, 1);
	assert_int_equal(gap[0].end, 3);
	assert_true(gap[0].span.last == a5);
	assert_int_equal(gap[0].span.count, 5);
	assert_false(gap[0].fresh);	/* the same gap, grown */
	free(gap);
	skipq_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consume_takes_written_bytes_off_the_head),
		cmocka_unit_test(test_plan_drops_the_oldest_down_to_target),
		cmocka_unit_test(test_plan_with_nothing_droppable_makes_no_gap),
		cmocka_unit_test(test_plan_keeps_a_segment_partly_written),
		cmocka_unit_test(test_plan_gaps_per_room_split_by_a_kept_line),
		cmocka_unit_test(test_plan_takes_an_unwritten_skip_line_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
