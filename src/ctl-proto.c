/*
 * The admin protocol, compiled into both chatd and chatctl.  A client sends
 * one line, a JSON object {"version": 1, "command": VERB, "args": [...]};
 * the daemon answers with JSON lines, the last of which says "ok" true or
 * false.  The verb table states each verb's words and free text exactly as
 * chatctl parses them from its command line: on the wire, "args" holds the
 * words, then the text (several strings after the words are joined with a
 * space), so both sides check a request against the same definition.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"

#define CTL_DURATION_MAX	((time_t)10 * 366 * 86400)	/* 10 years */

const struct cmd_spec ctl_verbs[CTL_NVERBS + 1] = {
	[CTL_STATUS] = { "status", 0, 0, CMD_REST_NONE, NULL, CTL_READONLY,
	    "status", "version, pid, uptime, listeners, clients, rooms, "
	    "memory" },
	[CTL_STATS] = { "stats", 0, 0, CMD_REST_NONE, NULL, CTL_READONLY,
	    "stats", "counters: connections by outcome, lines, messages, "
	    "bytes, errors" },
	[CTL_CLIENTS] = { "clients", 0, 1, CMD_REST_NONE, NULL, CTL_READONLY,
	    "clients [ROOM]", "list the clients, or those in ROOM" },
	[CTL_ROOMS] = { "rooms", 0, 0, CMD_REST_NONE, NULL, CTL_READONLY,
	    "rooms", "list the rooms" },
	[CTL_KICK] = { "kick", 1, 1, CMD_REST_OPTIONAL, NULL, 0,
	    "kick NICK [REASON]", "disconnect NICK" },
	[CTL_BAN] = { "ban", 1, 3, CMD_REST_OPTIONAL, NULL, 0,
	    "ban add|del|list [TARGET [DURATION] [REASON]]",
	    "ban an address, CIDR block or nick, lift a ban, or list them" },
	[CTL_MUTE] = { "mute", 1, 2, CMD_REST_NONE, NULL, 0,
	    "mute NICK [DURATION]", "stop NICK from speaking, for DURATION "
	    "or until unmuted, connected now or later" },
	[CTL_UNMUTE] = { "unmute", 1, 1, CMD_REST_NONE, NULL, 0,
	    "unmute NICK", "let NICK speak again" },
	[CTL_MUTES] = { "mutes", 0, 0, CMD_REST_NONE, NULL, 0,
	    "mutes", "list the mutes in force, of nicks connected or not" },
	[CTL_SAY] = { "say", 1, 1, CMD_REST_REQUIRED, NULL, 0,
	    "say ROOM TEXT", "say TEXT in ROOM as @operator" },
	[CTL_ANNOUNCE] = { "announce", 0, 0, CMD_REST_REQUIRED, NULL, 0,
	    "announce TEXT", "send TEXT to every client as a notice" },
	[CTL_MSG] = { "msg", 1, 1, CMD_REST_REQUIRED, NULL, 0,
	    "msg NICK TEXT", "send TEXT to NICK alone, from @operator" },
	[CTL_TOPIC] = { "topic", 1, 1, CMD_REST_REQUIRED, NULL, 0,
	    "topic ROOM TEXT", "set the topic of ROOM" },
	[CTL_CLOSE] = { "close", 1, 1, CMD_REST_OPTIONAL, NULL, 0,
	    "close ROOM [REASON]", "make every member leave ROOM" },
	[CTL_TAIL] = { "tail", 0, 0, CMD_REST_OPTIONAL, NULL, 0,
	    "tail [ROOM...]", "follow joins, parts and messages live, in "
	    "every room or in the ROOMs" },
	[CTL_RELOAD] = { "reload", 0, 0, CMD_REST_NONE, NULL, 0,
	    "reload", "re-read the config file and show what changed" },
	[CTL_DRAIN] = { "drain", 0, 1, CMD_REST_NONE, NULL, 0,
	    "drain [GRACE]", "stop accepting, ask clients to leave, exit when "
	    "they have or after GRACE (5m)" },
	[CTL_SHUTDOWN] = { "shutdown", 0, 1, CMD_REST_NONE, NULL, 0,
	    "shutdown [GRACE]", "say goodbye to every client and exit, "
	    "flushing for at most GRACE" },
	[CTL_LOG_LEVEL] = { "log-level", 0, 1, CMD_REST_NONE, NULL, 0,
	    "log-level [LEVEL]", "show the log level, or set it until the "
	    "next reload" },
	[CTL_DB] = { "db", 0, 0, CMD_REST_NONE, NULL, CTL_READONLY,
	    "db", "the history database: file, size, rows, queue, commits, "
	    "errors" },
	[CTL_HISTORY] = { "history", 1, 2, CMD_REST_NONE, NULL, 0,
	    "history ROOM [N]", "the last N (20) messages of ROOM, from the "
	    "database" },
	[CTL_BACKUP] = { "backup", 1, 1, CMD_REST_NONE, NULL, 0,
	    "backup FILE", "copy the database to FILE (a new file, absolute "
	    "path) while chat goes on" },
	[CTL_PURGE] = { "purge", 1, 1, CMD_REST_NONE, NULL, 0,
	    "purge ROOM", "forget what ROOM said, on disk and in scrollback" },
	[CTL_VERSION] = { "version", 0, 0, CMD_REST_NONE, NULL, CTL_READONLY,
	    "version", "the versions of chatd and of this protocol" },
	[CTL_NVERBS] = { NULL, 0, 0, CMD_REST_NONE, NULL, 0, NULL, NULL },
};

/* The request line for verb and its parsed arguments; NULL if not UTF-8. */
char *
ctl_request_encode(enum ctl_verb verb, const struct cmd_args *args)
{
	json_t	*list = json_array();
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < args->nwords; i++)
		bad |= json_array_append_new(list, json_string(args->word[i]));
	if (*args->rest != '\0')
		bad |= json_array_append_new(list, json_string(args->rest));
	if (bad) {
		json_decref(list);
		return NULL;
	}
	return ctl_line(json_pack("{s:i, s:s, s:o}", "version",
	    CTL_PROTO_VERSION, "command", ctl_verbs[verb].name, "args", list));
}

static int
ctl_refuse(struct ctl_error *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
ctl_refuse(struct ctl_error *e, const char *code, const char *fmt, ...)
{
	va_list	ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* Lay the strings of list out in req->buf: words, then the joined rest. */
static int
ctl_request_args(struct ctl_request *req, json_t *list, struct ctl_error *e)
{
	const struct cmd_spec	*spec = &ctl_verbs[req->verb];
	struct cmd_args		*args = &req->args;
	size_t			 i, n = json_array_size(list), total = 1;
	char			*p;

	for (i = 0; i < n; i++) {
		if (!json_is_string(json_array_get(list, i)))
			return ctl_refuse(e, CTL_E_BAD_REQUEST,
			    "\"args\" must hold strings only");
		total += json_string_length(json_array_get(list, i)) + 1;
	}
	p = req->buf = malloc(total);
	if (p == NULL)
		return ctl_refuse(e, CTL_E_BAD_REQUEST, "out of memory");
	args->rest = "";
	for (i = 0; i < n; i++) {
		const char	*s = json_string_value(json_array_get(list, i));

		if (i < spec->max_words) {
			args->word[args->nwords++] = p;
			p = stpcpy(p, s) + 1;
			continue;
		}
		if (i == spec->max_words)
			args->rest = p;
		else
			p[-1] = ' ';	/* joins onto the previous string */
		p = stpcpy(p, s) + 1;
	}
	if (args->nwords < spec->min_words ||
	    (spec->rest == CMD_REST_NONE && *args->rest != '\0') ||
	    (spec->rest == CMD_REST_REQUIRED && *args->rest == '\0'))
		return ctl_refuse(e, CTL_E_USAGE, "usage: %s", spec->usage);
	return 0;
}

/* Check and split one request line; on error fill e and return -1. */
int
ctl_request_decode(const char *line, size_t len, struct ctl_request *req,
    struct ctl_error *e)
{
	json_t			*root, *version, *list;
	json_error_t		 jerr;
	const char		*command;
	const struct cmd_spec	*spec;
	enum cmd_result		 found;
	int			 rc = -1;

	memset(req, 0, sizeof *req);
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return ctl_refuse(e, CTL_E_BAD_REQUEST, "not JSON: %s",
		    jerr.text);
	version = json_object_get(root, "version");
	command = json_string_value(json_object_get(root, "command"));
	list = json_object_get(root, "args");
	if (!json_is_object(root) || !json_is_integer(version) ||
	    command == NULL || (list != NULL && !json_is_array(list)))
		ctl_refuse(e, CTL_E_BAD_REQUEST, "expected {\"version\": 1, "
		    "\"command\": \"...\", \"args\": [...]}");
	else if (json_integer_value(version) != CTL_PROTO_VERSION)
		ctl_refuse(e, CTL_E_BAD_VERSION, "this chatd speaks admin "
		    "protocol version %d", CTL_PROTO_VERSION);
	else if ((spec = cmd_find(ctl_verbs, command, 0, &found)) == NULL)
		ctl_refuse(e, CTL_E_UNKNOWN, "unknown command \"%.64s\"",
		    command);
	else if (json_array_size(list) > CTL_ARGS_MAX)
		ctl_refuse(e, CTL_E_BAD_REQUEST, "more than %d args",
		    CTL_ARGS_MAX);
	else {
		req->verb = (enum ctl_verb)(spec - ctl_verbs);
		rc = ctl_request_args(req, list, e);
	}
	json_decref(root);
	if (rc == -1)
		ctl_request_free(req);
	return rc;
}

void
ctl_request_free(struct ctl_request *req)
{
	free(req->buf);
	req->buf = NULL;
}

/* Render j (taking it) as one compact line ending in LF; NULL on failure. */
char *
ctl_line(json_t *j)
{
	char	*s, *line;
	size_t	 n;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* The final line of a success, taking result (NULL: an empty object). */
json_t *
ctl_ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result",
	    result != NULL ? result : json_object());
}

/* The final line of a failure. */
json_t *
ctl_error(const char *code, const char *message)
{
	json_t	*text = json_string(message);

	if (text == NULL)
		text = json_string("(the reason is not valid UTF-8)");
	return json_pack("{s:b, s:s, s:o}", "ok", 0, "code", code, "message",
	    text);
}

/*
 * Classify a response line.  *line gets the parsed line (the caller
 * releases it) and *payload the part that matters: the event, the
 * progress report, the result, or the line itself for an error.
 */
enum ctl_line
ctl_line_parse(const char *text, json_t **line, json_t **payload)
{
	json_t	*ok;

	*payload = NULL;
	if ((*line = json_loads(text, 0, NULL)) == NULL)
		return CTL_LINE_INVALID;
	if ((*payload = json_object_get(*line, "event")) != NULL)
		return CTL_LINE_EVENT;
	if ((*payload = json_object_get(*line, "progress")) != NULL)
		return CTL_LINE_PROGRESS;
	ok = json_object_get(*line, "ok");
	if (json_is_true(ok)) {
		*payload = json_object_get(*line, "result");
		return CTL_LINE_OK;
	}
	*payload = *line;
	return json_is_false(ok) ? CTL_LINE_ERROR : CTL_LINE_INVALID;
}

/* "90", "90s", "15m", "2h" or "7d" as seconds. */
int
ctl_duration_parse(const char *s, time_t *seconds)
{
	static const char	 units[] = "smhd";
	static const time_t	 factor[] = { 1, 60, 3600, 86400 };
	char			*end;
	const char		*unit;
	unsigned long long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	n = strtoull(s, &end, 10);
	if (n > (unsigned long long)CTL_DURATION_MAX)
		return -1;
	*seconds = (time_t)n;
	if (*end == '\0')
		return 0;
	if (end[1] != '\0' || (unit = strchr(units, *end)) == NULL)
		return -1;
	if (*seconds > CTL_DURATION_MAX / factor[unit - units])
		return -1;
	*seconds *= factor[unit - units];
	return 0;
}
