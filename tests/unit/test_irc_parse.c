/* Unit tests for irc-parse.c: the IRC message grammar and CTCP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "irc-parse.h"

static char	buf[1024];

/* Parse a copy of s into m; returns irc_parse's result. */
static int
parse(const char *s, struct irc_message *m)
{
	snprintf(buf, sizeof buf, "%s", s);
	return irc_parse(buf, strlen(buf), m);
}

static void
test_plain_command(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("NICK alice", &m), 0);
	assert_null(m.tags);
	assert_null(m.source);
	assert_string_equal(m.command, "NICK");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "alice");
}

static void
test_lower_case_and_numerics(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("privmsg #a :hi", &m), 0);
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(parse(":srv 001 me :Welcome", &m), 0);
	assert_string_equal(m.source, "srv");
	assert_string_equal(m.command, "001");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1], "Welcome");
	assert_int_equal(parse("01 x", &m), -1);	/* not 3 digits */
	assert_int_equal(parse("0001 x", &m), -1);
	assert_int_equal(parse("PRIV2 x", &m), -1);	/* letters and digits */
	assert_int_equal(parse("PR-V x", &m), -1);
}

static void
test_tags_and_source(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("@a=b;c :nick!u@h PRIVMSG #r :x y", &m), 0);
	assert_string_equal(m.tags, "a=b;c");
	assert_string_equal(m.source, "nick!u@h");
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#r");
	assert_string_equal(m.params[1], "x y");
}

static void
test_trailing(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("PRIVMSG #a :", &m), 0);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1], "");
	assert_int_equal(parse("PRIVMSG #a ::-) and: more  spaces ", &m), 0);
	assert_string_equal(m.params[1], ":-) and: more  spaces ");
	assert_int_equal(parse("USER u 0 * :Real Name", &m), 0);
	assert_int_equal(m.nparams, 4);
	assert_string_equal(m.params[3], "Real Name");
}

static void
test_spaces(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("   JOIN    #a,#b    key   ", &m), 0);
	assert_string_equal(m.command, "JOIN");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#a,#b");
	assert_string_equal(m.params[1], "key");
}

static void
test_fifteen_params(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
	    &m), 0);
	assert_int_equal(m.nparams, IRC_PARAMS_MAX);
	assert_string_equal(m.params[13], "14");
	assert_string_equal(m.params[14], "15 16 17");	/* the rest */
	assert_int_equal(parse("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16",
	    &m), 0);
	assert_string_equal(m.params[14], "15 16");
}

static void
test_no_command(void **state)
{
	struct irc_message	m;

	(void)state;
	assert_int_equal(parse("", &m), -1);
	assert_int_equal(parse("    ", &m), -1);
	assert_int_equal(parse("@a=b", &m), -1);
	assert_int_equal(parse("@a=b :src", &m), -1);
	assert_int_equal(parse(":src", &m), -1);
	assert_int_equal(parse(":src :x", &m), -1);
}

static void
test_ctcp(void **state)
{
	const char	*verb, *arg;
	size_t		 verblen, arglen;

	(void)state;
	assert_true(irc_ctcp("\001ACTION waves\001", &verb, &verblen, &arg,
	    &arglen));
	assert_int_equal(verblen, 6);
	assert_memory_equal(verb, "ACTION", 6);
	assert_int_equal(arglen, 5);
	assert_memory_equal(arg, "waves", 5);
	/* The final \001 is optional, as clients send it. */
	assert_true(irc_ctcp("\001ACTION waves on", &verb, &verblen, &arg,
	    &arglen));
	assert_int_equal(arglen, 8);
	assert_true(irc_ctcp("\001VERSION\001", &verb, &verblen, &arg,
	    &arglen));
	assert_int_equal(verblen, 7);
	assert_int_equal(arglen, 0);
	assert_true(irc_ctcp("\001", &verb, &verblen, &arg, &arglen));
	assert_int_equal(verblen, 0);
	assert_int_equal(arglen, 0);
	assert_true(irc_ctcp("\001\001", &verb, &verblen, &arg, &arglen));
	assert_int_equal(verblen, 0);
	assert_false(irc_ctcp("ACTION waves", &verb, &verblen, &arg, &arglen));
	assert_false(irc_ctcp("", &verb, &verblen, &arg, &arglen));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_command),
		cmocka_unit_test(test_lower_case_and_numerics),
		cmocka_unit_test(test_tags_and_source),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_fifteen_params),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_ctcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
