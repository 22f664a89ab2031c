/*
 * libFuzzer harness: the IRC message grammar (irc-parse.c) and CTCP.
 *
 * Input: LF-separated lines (a CR before the LF dropped), each parsed in a
 * buffer of exactly its length plus the NUL.  Checked for every message:
 * the command is upper-case letters or three digits; every string lies in
 * the buffer; at most 15 parameters; every parameter but the last is a
 * non-empty word that does not start with ':'; and CTCP on the last one
 * points inside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc-parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_irc: invariant broken: %s\n", what);
	abort();
}

static void
inside(const char *s, const char *buf, size_t size, const char *what)
{
	if (s != NULL && (s < buf || s + strlen(s) >= buf + size))
		fail(what);
}

static void
check_command(const char *command)
{
	size_t	i, digits = 0, n = strlen(command);

	for (i = 0; i < n; i++) {
		if (command[i] >= '0' && command[i] <= '9')
			digits++;
		else if (command[i] < 'A' || command[i] > 'Z')
			fail("command is not letters or digits");
	}
	if (n == 0 || (digits > 0 && (digits != 3 || n != 3)))
		fail("command is neither letters nor 3 digits");
}

static void
check_line(const char *data, size_t len)
{
	char			*buf = malloc(len + 1);
	struct irc_message	 m;
	const char		*verb, *arg, *last;
	size_t			 i, verblen, arglen;

	if (buf == NULL)
		abort();
	memcpy(buf, data, len);
	if (irc_parse(buf, len, &m) == 0) {
		if (m.command == NULL || m.nparams > IRC_PARAMS_MAX)
			fail("bad command or parameter count");
		check_command(m.command);
		inside(m.tags, buf, len + 1, "tags outside the line");
		inside(m.source, buf, len + 1, "source outside the line");
		inside(m.command, buf, len + 1, "command outside the line");
		for (i = 0; i < m.nparams; i++) {
			inside(m.params[i], buf, len + 1, "param outside");
			if (i + 1 < m.nparams && (m.params[i][0] == '\0' ||
			    m.params[i][0] == ':' ||
			    strchr(m.params[i], ' ') != NULL))
				fail("a middle parameter is not one word");
		}
		last = m.nparams > 0 ? m.params[m.nparams - 1] : "";
		if (irc_ctcp(last, &verb, &verblen, &arg, &arglen) &&
		    (verb != last + 1 || verb + verblen > last +
		    strlen(last) || arg < verb || arg + arglen > last +
		    strlen(last) || memchr(arg, '\001', arglen) != NULL))
			fail("CTCP outside its text");
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *end = p + size, *eol;
	size_t		 len;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((eol != NULL ? eol : end) - p);
		/* The framer hands over no NUL: a line ends at one here too. */
		len = strnlen(p, len);
		check_line(p, len > 0 && p[len - 1] == '\r' ? len - 1 : len);
		p += (eol != NULL ? (size_t)(eol - p) : len) + 1;
	}
	return 0;
}
