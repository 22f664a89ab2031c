/*
 * The IRC message grammar, in one pass and in place: "@tags :source
 * COMMAND param... :trailing".  Runs of spaces separate; a parameter that
 * starts with ':' takes the rest of the line, and so does the fifteenth
 * (RFC 2812), colon or not.  A command is letters (upper-cased here) or
 * three digits; anything else is not a message.
 */
#include <string.h>

#include "irc-parse.h"

/* The next space-separated word at *p, NUL-terminated; NULL at the end. */
static char *
irc_word(char **p)
{
	char	*word = *p + strspn(*p, " "), *end;

	if (*word == '\0')
		return NULL;
	end = word + strcspn(word, " ");
	*p = end;
	if (*end != '\0') {
		*end = '\0';
		*p = end + 1;
	}
	return word;
}

static int
irc_command_valid(char *command)
{
	size_t	i, digits = 0, letters = 0;

	for (i = 0; command[i] != '\0'; i++) {
		if (command[i] >= '0' && command[i] <= '9')
			digits++;
		else if (command[i] >= 'a' && command[i] <= 'z') {
			command[i] -= 'a' - 'A';
			letters++;
		} else if (command[i] >= 'A' && command[i] <= 'Z')
			letters++;
		else
			return 0;
	}
	return (letters > 0 && digits == 0) || (letters == 0 && digits == 3);
}

/* Split line (line[len] is set to NUL) into m; -1 if it has no command. */
int
irc_parse(char *line, size_t len, struct irc_message *m)
{
	char	*p = line;

	line[len] = '\0';
	memset(m, 0, sizeof *m);
	p += strspn(p, " ");
	if (*p == '@')
		m->tags = irc_word(&p) + 1;
	p += strspn(p, " ");
	if (*p == ':')
		m->source = irc_word(&p) + 1;
	if ((m->command = irc_word(&p)) == NULL ||
	    !irc_command_valid(m->command))
		return -1;
	while (m->nparams < IRC_PARAMS_MAX) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		if (*p == ':' || m->nparams == IRC_PARAMS_MAX - 1) {
			m->params[m->nparams++] = p + (*p == ':');
			break;
		}
		m->params[m->nparams++] = irc_word(&p);
	}
	return 0;
}

/*
 * A CTCP message: "\001VERB arg\001", the last \001 optional as clients
 * send it.  Sets the verb and its argument (maybe empty); 0 if not CTCP.
 */
int
irc_ctcp(const char *text, const char **verb, size_t *verblen,
    const char **arg, size_t *arglen)
{
	size_t	len;

	if (text[0] != '\001')
		return 0;
	text++;
	len = strcspn(text, "\001");
	*verb = text;
	*verblen = strcspn(text, " \001");
	*arg = text + *verblen + (text[*verblen] == ' ');
	*arglen = len - (size_t)(*arg - text);
	return 1;
}
