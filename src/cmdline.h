/* Table-driven parsing of command lines: "name word... [rest of line]". */
#ifndef CHATD_CMDLINE_H
#define CHATD_CMDLINE_H

#include <stddef.h>

#define CMD_WORDS_MAX	4

enum cmd_rest {
	CMD_REST_NONE,		/* nothing may follow the words */
	CMD_REST_OPTIONAL,
	CMD_REST_REQUIRED,
};

struct cmd_args {
	char	*word[CMD_WORDS_MAX];
	size_t	 nwords;
	char	*rest;		/* "" if none */
};

struct cmd_spec {
	const char	*name;
	unsigned	 min_words, max_words;
	enum cmd_rest	 rest;
	void		(*run)(void *ctx, struct cmd_args *);
	unsigned	 flags;		/* the caller's, e.g. "needs a room" */
	const char	*usage;
	const char	*help;
};

enum cmd_result {
	CMD_OK,
	CMD_UNKNOWN,
	CMD_AMBIGUOUS,		/* only when prefixes are accepted */
	CMD_USAGE,
};

const struct cmd_spec *cmd_find(const struct cmd_spec *, const char *,
		    int prefixes, enum cmd_result *);
enum cmd_result	 cmd_parse(const struct cmd_spec *, char *line, int prefixes,
		    const struct cmd_spec **, struct cmd_args *);

#endif
