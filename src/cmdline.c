/*
 * Command lines against a static table (terminated by a NULL name): the
 * table states each command's word counts and whether free text follows,
 * and the parser checks them, so handlers only run with arguments that fit.
 * Names match without regard to case; with prefixes, a unique prefix does
 * too (chatctl verbs), and an ambiguous one is reported as such.
 */
#include <string.h>
#include <strings.h>

#include "cmdline.h"

const struct cmd_spec *
cmd_find(const struct cmd_spec *table, const char *name, int prefixes,
    enum cmd_result *result)
{
	const struct cmd_spec	*found = NULL;
	size_t			 len = strlen(name), matches = 0;

	*result = CMD_UNKNOWN;
	if (len == 0)
		return NULL;
	for (; table->name != NULL; table++) {
		if (strcasecmp(table->name, name) == 0) {
			*result = CMD_OK;	/* an exact name always wins */
			return table;
		}
		if (prefixes && strncasecmp(table->name, name, len) == 0) {
			found = table;
			matches++;
		}
	}
	if (matches > 1) {
		*result = CMD_AMBIGUOUS;
		return NULL;
	}
	if (found != NULL)
		*result = CMD_OK;
	return found;
}

static char *
cmd_skip_spaces(char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* Cut the next space-separated word off *s. */
static char *
cmd_next_word(char **s)
{
	char	*word = cmd_skip_spaces(*s), *end;

	if (*word == '\0')
		return NULL;
	end = word + strcspn(word, " ");
	if (*end != '\0')
		*end++ = '\0';
	*s = end;
	return word;
}

/* Split line (modified in place) into a command and its arguments. */
enum cmd_result
cmd_parse(const struct cmd_spec *table, char *line, int prefixes,
    const struct cmd_spec **cmd, struct cmd_args *args)
{
	char		*name, *word;
	enum cmd_result	 result;

	memset(args, 0, sizeof *args);
	args->rest = "";
	*cmd = NULL;
	if ((name = cmd_next_word(&line)) == NULL)
		return CMD_UNKNOWN;
	if ((*cmd = cmd_find(table, name, prefixes, &result)) == NULL)
		return result;
	while (args->nwords < (*cmd)->max_words &&
	    (word = cmd_next_word(&line)) != NULL)
		args->word[args->nwords++] = word;
	args->rest = cmd_skip_spaces(line);
	if (args->nwords < (*cmd)->min_words)
		return CMD_USAGE;
	if ((*cmd)->rest == CMD_REST_NONE && *args->rest != '\0')
		return CMD_USAGE;
	if ((*cmd)->rest == CMD_REST_REQUIRED && *args->rest == '\0')
		return CMD_USAGE;
	return CMD_OK;
}
