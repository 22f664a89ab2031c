/* Splitting an IRC message into tags, source, command and parameters. */
#ifndef CHATD_IRC_PARSE_H
#define CHATD_IRC_PARSE_H

#include <stddef.h>

/* Limits from the Modern IRC documents and IRCv3 message-tags. */
#define IRC_LINE_MAX	512	/* a message without its tags, CRLF included */
#define IRC_TAGS_MAX	8191	/* the tags, '@' and the space included */
#define IRC_PARAMS_MAX	15

struct irc_message {
	char	*tags;		/* raw, without the '@', or NULL */
	char	*source;	/* without the ':', or NULL */
	char	*command;	/* letters upper-cased, or 3 digits */
	char	*params[IRC_PARAMS_MAX];
	size_t	 nparams;
};

int	 irc_parse(char *line, size_t len, struct irc_message *);
int	 irc_ctcp(const char *text, const char **verb, size_t *verblen,
	    const char **arg, size_t *arglen);

#endif
