/*
 * Unit tests for cmdline.c: cmd_find and cmd_parse against test tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"

static void
noop(void *ctx, struct cmd_args *args)
{
	(void)ctx;
	(void)args;
}

#define CMD(name, min, max, rest) \
	{ (name), (min), (max), (rest), noop, 0, "usage", "help" }
#define END	{ NULL, 0, 0, CMD_REST_NONE, NULL, 0, NULL, NULL }

static const struct cmd_spec table[] = {
	CMD("nick", 1, 1, CMD_REST_NONE),
	CMD("join", 1, 1, CMD_REST_NONE),
	CMD("part", 0, 1, CMD_REST_NONE),
	CMD("msg", 1, 1, CMD_REST_REQUIRED),
	CMD("me", 0, 0, CMD_REST_REQUIRED),
	CMD("topic", 0, 0, CMD_REST_OPTIONAL),
	CMD("quit", 0, 0, CMD_REST_OPTIONAL),
	CMD("who", 0, 1, CMD_REST_NONE),
	CMD("whois", 1, 1, CMD_REST_NONE),
	CMD("kick", 2, 2, CMD_REST_OPTIONAL),
	CMD("set", 0, CMD_WORDS_MAX, CMD_REST_NONE),
	CMD("stats", 0, 0, CMD_REST_NONE),
	CMD("status", 0, 0, CMD_REST_NONE),
	CMD("rooms", 0, 0, CMD_REST_NONE),
	END,
};

/* The longer name comes first: the exact match must still win. */
static const struct cmd_spec longer_first[] = {
	CMD("reloadall", 0, 0, CMD_REST_NONE),
	CMD("reload", 0, 0, CMD_REST_NONE),
	END,
};

/* Two longer names share the prefix, and come before the exact one. */
static const struct cmd_spec two_longer_first[] = {
	CMD("whois", 0, 0, CMD_REST_NONE),
	CMD("whoami", 0, 0, CMD_REST_NONE),
	CMD("who", 0, 0, CMD_REST_NONE),
	END,
};

static const struct cmd_spec empty_table[] = {
	END,
};

/* ---- cmd_find ---- */

static const struct cmd_spec *
find(const struct cmd_spec *t, const char *name, int prefixes,
    enum cmd_result expect)
{
	const struct cmd_spec	*cmd;
	enum cmd_result		 result = (enum cmd_result)-1;

	cmd = cmd_find(t, name, prefixes, &result);
	assert_int_equal(result, expect);
	if (expect == CMD_OK)
		assert_non_null(cmd);
	else
		assert_null(cmd);
	return cmd;
}

static void
test_find_exact(void **state)
{
	(void)state;
	assert_string_equal(find(table, "nick", 0, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "who", 0, CMD_OK)->name, "who");
	assert_string_equal(find(table, "whois", 0, CMD_OK)->name, "whois");
	assert_string_equal(find(table, "rooms", 0, CMD_OK)->name, "rooms");
	assert_ptr_equal(find(table, "join", 0, CMD_OK), &table[1]);
}

static void
test_find_case_insensitive(void **state)
{
	(void)state;
	assert_string_equal(find(table, "NICK", 0, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "NiCk", 0, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "Me", 0, CMD_OK)->name, "me");
	assert_string_equal(find(table, "WHOIS", 1, CMD_OK)->name, "whois");
}

static void
test_find_unknown(void **state)
{
	(void)state;
	find(table, "frobnicate", 0, CMD_UNKNOWN);
	find(table, "frobnicate", 1, CMD_UNKNOWN);
	find(table, "", 0, CMD_UNKNOWN);
	find(table, "", 1, CMD_UNKNOWN);	/* "" prefixes everything */
	find(table, "nickname", 0, CMD_UNKNOWN);
	find(table, "nickname", 1, CMD_UNKNOWN);	/* longer than a name */
	find(table, "ni", 0, CMD_UNKNOWN);	/* prefixes off */
	find(table, "nick ", 0, CMD_UNKNOWN);
	find(empty_table, "nick", 1, CMD_UNKNOWN);
}

static void
test_find_prefix_unique(void **state)
{
	(void)state;
	assert_string_equal(find(table, "n", 1, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "ni", 1, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "NI", 1, CMD_OK)->name, "nick");
	assert_string_equal(find(table, "j", 1, CMD_OK)->name, "join");
	assert_string_equal(find(table, "statu", 1, CMD_OK)->name, "status");
	assert_string_equal(find(table, "whoi", 1, CMD_OK)->name, "whois");
	assert_string_equal(find(table, "k", 1, CMD_OK)->name, "kick");
	assert_string_equal(find(table, "r", 1, CMD_OK)->name, "rooms");
}

static void
test_find_prefix_ambiguous(void **state)
{
	(void)state;
	find(table, "m", 1, CMD_AMBIGUOUS);		/* msg, me */
	find(table, "s", 1, CMD_AMBIGUOUS);		/* set, stats, status */
	find(table, "st", 1, CMD_AMBIGUOUS);
	find(table, "stat", 1, CMD_AMBIGUOUS);		/* stats, status */
	find(table, "STAT", 1, CMD_AMBIGUOUS);
	find(table, "wh", 1, CMD_AMBIGUOUS);		/* who, whois */
}

static void
test_find_exact_wins(void **state)
{
	(void)state;
	/* "who" is also a prefix of "whois", listed after it. */
	assert_string_equal(find(table, "who", 1, CMD_OK)->name, "who");
	assert_string_equal(find(table, "WHO", 1, CMD_OK)->name, "who");
	/* "stats" is a prefix of nothing but itself. */
	assert_string_equal(find(table, "stats", 1, CMD_OK)->name, "stats");
	/* The longer name listed first. */
	assert_string_equal(find(longer_first, "reload", 1, CMD_OK)->name,
	    "reload");
	assert_string_equal(find(longer_first, "reloada", 1, CMD_OK)->name,
	    "reloadall");
	find(longer_first, "rel", 1, CMD_AMBIGUOUS);
}

/*
 * BUG: cmd_find reports CMD_AMBIGUOUS as soon as a second prefix match is
 * seen, before it reaches an exact match later in the table; so an exact
 * name is refused as ambiguous when two longer names sharing it come first.
 */
static void
test_find_exact_wins_over_two_longer(void **state)
{
	const struct cmd_spec	*cmd;
	enum cmd_result		 result;

	(void)state;
	cmd = cmd_find(two_longer_first, "who", 1, &result);
	assert_int_equal(result, CMD_OK);
	assert_non_null(cmd);
	assert_string_equal(cmd->name, "who");
}

/* ---- cmd_parse ---- */

struct parsed {
	char			 buf[256];
	const struct cmd_spec	*cmd;
	struct cmd_args		 args;
	enum cmd_result		 result;
};

static struct parsed *
parse(const struct cmd_spec *t, const char *line, int prefixes)
{
	static struct parsed	p;

	memset(&p, 0x5a, sizeof p);	/* cmd_parse must set everything */
	assert_true(strlen(line) < sizeof p.buf);
	strcpy(p.buf, line);
	p.result = cmd_parse(t, p.buf, prefixes, &p.cmd, &p.args);
	return &p;
}

static void
expect_words(const struct parsed *p, size_t n, ...)
{
	va_list	ap;
	size_t	i;

	assert_int_equal(p->args.nwords, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(p->args.word[i], va_arg(ap, const char *));
	va_end(ap);
	/* Words point into the caller's line (parsed in place). */
	for (i = 0; i < n; i++) {
		assert_true(p->args.word[i] >= p->buf &&
		    p->args.word[i] < p->buf + sizeof p->buf);
	}
}

static void
test_parse_simple(void **state)
{
	struct parsed	*p;

	(void)state;
	p = parse(table, "nick bob", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_ptr_equal(p->cmd, &table[0]);
	expect_words(p, 1, "bob");
	assert_string_equal(p->args.rest, "");

	p = parse(table, "NICK Bob", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->cmd->name, "nick");
	expect_words(p, 1, "Bob");		/* arguments keep their case */

	p = parse(table, "rooms", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 0);
	assert_string_equal(p->args.rest, "");
}

static void
test_parse_unknown_and_empty(void **state)
{
	struct parsed	*p;
	size_t		 i;

	(void)state;
	p = parse(table, "frobnicate now", 0);
	assert_int_equal(p->result, CMD_UNKNOWN);
	assert_null(p->cmd);
	assert_int_equal(p->args.nwords, 0);
	assert_non_null(p->args.rest);
	assert_string_equal(p->args.rest, "");
	for (i = 0; i < CMD_WORDS_MAX; i++)
		assert_null(p->args.word[i]);

	p = parse(table, "", 0);
	assert_int_equal(p->result, CMD_UNKNOWN);
	assert_null(p->cmd);
	assert_string_equal(p->args.rest, "");

	p = parse(table, "     ", 0);
	assert_int_equal(p->result, CMD_UNKNOWN);
	assert_null(p->cmd);

	p = parse(table, "", 1);
	assert_int_equal(p->result, CMD_UNKNOWN);

	/* TAB is not a separator (the sanitizer turns it into a space). */
	p = parse(table, "nick\tbob", 0);
	assert_int_equal(p->result, CMD_UNKNOWN);
}

static void
test_parse_word_counts(void **state)
{
	struct parsed	*p;

	(void)state;
	/* min_words */
	p = parse(table, "nick", 0);
	assert_int_equal(p->result, CMD_USAGE);
	assert_ptr_equal(p->cmd, &table[0]);	/* for the usage message */
	p = parse(table, "kick alice", 0);
	assert_int_equal(p->result, CMD_USAGE);
	assert_string_equal(p->cmd->name, "kick");
	p = parse(table, "whois", 0);
	assert_int_equal(p->result, CMD_USAGE);

	/* Optional word. */
	p = parse(table, "part", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 0);
	p = parse(table, "part #a", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 1, "#a");

	/* max_words with nothing allowed after them. */
	p = parse(table, "nick a b", 0);
	assert_int_equal(p->result, CMD_USAGE);
	p = parse(table, "part #a #b", 0);
	assert_int_equal(p->result, CMD_USAGE);
	p = parse(table, "rooms now", 0);
	assert_int_equal(p->result, CMD_USAGE);

	/* Up to CMD_WORDS_MAX words. */
	p = parse(table, "set a b c d", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 4, "a", "b", "c", "d");
	p = parse(table, "set a b", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 2, "a", "b");
	p = parse(table, "set a b c d e", 0);
	assert_int_equal(p->result, CMD_USAGE);
}

static void
test_parse_rest(void **state)
{
	struct parsed	*p;

	(void)state;
	/* Required. */
	p = parse(table, "msg bob hello world", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 1, "bob");
	assert_string_equal(p->args.rest, "hello world");
	p = parse(table, "msg bob", 0);
	assert_int_equal(p->result, CMD_USAGE);
	p = parse(table, "msg bob    ", 0);
	assert_int_equal(p->result, CMD_USAGE);	/* only spaces: no text */
	p = parse(table, "msg", 0);
	assert_int_equal(p->result, CMD_USAGE);
	p = parse(table, "me waves", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 0);
	assert_string_equal(p->args.rest, "waves");
	p = parse(table, "me", 0);
	assert_int_equal(p->result, CMD_USAGE);
	p = parse(table, "me   ", 0);
	assert_int_equal(p->result, CMD_USAGE);

	/* Optional. */
	p = parse(table, "topic", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->args.rest, "");
	p = parse(table, "topic a new topic", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->args.rest, "a new topic");
	p = parse(table, "quit bye now", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->args.rest, "bye now");
	p = parse(table, "kick alice bob", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 2, "alice", "bob");
	assert_string_equal(p->args.rest, "");
	p = parse(table, "kick alice bob for spamming", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 2, "alice", "bob");
	assert_string_equal(p->args.rest, "for spamming");

	/* None. */
	p = parse(table, "join #a", 0);
	assert_int_equal(p->result, CMD_OK);
	p = parse(table, "join #a extra", 0);
	assert_int_equal(p->result, CMD_USAGE);
}

static void
test_parse_spaces(void **state)
{
	struct parsed	*p;

	(void)state;
	p = parse(table, "   nick    bob   ", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 1, "bob");
	assert_string_equal(p->args.rest, "");

	/* Spaces inside the rest are kept; leading ones are not. */
	p = parse(table, "msg   bob     hi   there  ", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 1, "bob");
	assert_string_equal(p->args.rest, "hi   there  ");

	p = parse(table, "set  a   b  ", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 2, "a", "b");

	p = parse(table, "topic    ", 0);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->args.rest, "");

	p = parse(table, "kick  a  b   why  not", 0);
	assert_int_equal(p->result, CMD_OK);
	expect_words(p, 2, "a", "b");
	assert_string_equal(p->args.rest, "why  not");
}

static void
test_parse_prefixes(void **state)
{
	struct parsed	*p;

	(void)state;
	p = parse(table, "ni bob", 1);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->cmd->name, "nick");
	expect_words(p, 1, "bob");

	p = parse(table, "ni bob", 0);
	assert_int_equal(p->result, CMD_UNKNOWN);
	assert_null(p->cmd);

	p = parse(table, "stat", 1);
	assert_int_equal(p->result, CMD_AMBIGUOUS);
	assert_null(p->cmd);

	p = parse(table, "who alice", 1);
	assert_int_equal(p->result, CMD_OK);
	assert_string_equal(p->cmd->name, "who");

	p = parse(table, "whoi", 1);
	assert_int_equal(p->result, CMD_USAGE);
	assert_string_equal(p->cmd->name, "whois");
}

static void
test_parse_resets_args(void **state)
{
	char		 a[] = "set w x y z", b[] = "rooms";
	const struct cmd_spec *cmd;
	struct cmd_args	 args;

	(void)state;
	assert_int_equal(cmd_parse(table, a, 0, &cmd, &args), CMD_OK);
	assert_int_equal(args.nwords, 4);
	assert_int_equal(cmd_parse(table, b, 0, &cmd, &args), CMD_OK);
	assert_int_equal(args.nwords, 0);
	assert_null(args.word[0]);
	assert_null(args.word[3]);
	assert_string_equal(args.rest, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_exact),
		cmocka_unit_test(test_find_case_insensitive),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test(test_find_prefix_unique),
		cmocka_unit_test(test_find_prefix_ambiguous),
		cmocka_unit_test(test_find_exact_wins),
		cmocka_unit_test(test_find_exact_wins_over_two_longer),
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_parse_unknown_and_empty),
		cmocka_unit_test(test_parse_word_counts),
		cmocka_unit_test(test_parse_rest),
		cmocka_unit_test(test_parse_spaces),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_resets_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
