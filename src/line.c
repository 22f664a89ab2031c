/*
 * The line protocol, chatd-protocol(7): a client line is either text for
 * the current room or a /command from one static table.  Every line gets
 * exactly one outcome: its visible effect (the echo of one's own message
 * counts), or one ERR line with a stable code; with acknowledgements on,
 * ACK n or NACK n instead.  The rooms module knows nothing of this format.
 */
#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ban.h"
#include "cmdline.h"
#include "config.h"
#include "conn.h"
#include "line.h"
#include "line-private.h"
#include "metrics.h"
#include "protocol.h"
#include "room.h"
#include "stats.h"
#include "text.h"
#include "version.h"
#include "xmalloc.h"

/* The line protocol's state in conn->proto_flags. */
#define LINE_ACK	0x1	/* acknowledgements on */
#define LINE_FAILED	0x2	/* the current line got an error */
#define PAGE_LINES	8	/* WHO or ROOM lines in one page of an answer */

const struct config		*line_config;

static void	line_deliver(struct session *, struct msg *);
static void	line_deliver_run(struct session *, struct msg **, size_t,
		    uint64_t);
static void	cmd_nick(void *, struct cmd_args *);
static void	cmd_join(void *, struct cmd_args *);
static void	cmd_part(void *, struct cmd_args *);
static void	cmd_msg(void *, struct cmd_args *);
static void	cmd_me(void *, struct cmd_args *);
static void	cmd_topic(void *, struct cmd_args *);
static void	cmd_who(void *, struct cmd_args *);
static void	cmd_rooms(void *, struct cmd_args *);
static void	cmd_ack(void *, struct cmd_args *);
static void	cmd_slow(void *, struct cmd_args *);
static void	cmd_quit(void *, struct cmd_args *);
static void	cmd_help(void *, struct cmd_args *);

static const struct cmd_spec line_commands[] = {
	{ "nick", 1, 1, CMD_REST_NONE, cmd_nick, 0, "/nick NAME",
	  "change your nick: 1 to 30 letters, digits or []\\`_^{|}-, not "
	  "starting with a digit or -" },
	{ "join", 1, 2, CMD_REST_NONE, cmd_join, 0, "/join ROOM [KEY]",
	  "join ROOM (created if new, with you its operator); it becomes "
	  "your current room" },
	{ "part", 0, 1, CMD_REST_NONE, cmd_part, 0, "/part [ROOM]",
	  "leave ROOM, by default your current room" },
	{ "msg", 1, 1, CMD_REST_REQUIRED, cmd_msg, 0, "/msg NICK TEXT",
	  "send TEXT to NICK alone" },
	{ "me", 0, 0, CMD_REST_REQUIRED, cmd_me, NEEDS_ROOM, "/me ACTION",
	  "describe what you do, in your current room" },
	{ "topic", 0, 0, CMD_REST_OPTIONAL, cmd_topic, NEEDS_ROOM,
	  "/topic [TEXT]", "show, or set to TEXT, your current room's topic" },
	{ "who", 0, 1, CMD_REST_NONE, cmd_who, 0, "/who [ROOM]",
	  "list who is in ROOM, by default your current room, and its "
	  "operators and voiced members" },
	{ "mode", 0, 1, CMD_REST_OPTIONAL, line_cmd_mode, 0,
	  "/mode [ROOM] [CHANGES [ARGS]]", "show a room's modes and bans, "
	  "or change them as its operator: +i +m +n +t, +k KEY, +l N, "
	  "+b MASK, +o NICK, +v NICK, - to take away" },
	{ "kick", 1, 1, CMD_REST_OPTIONAL, line_cmd_kick, NEEDS_ROOM,
	  "/kick NICK [REASON]", "put NICK out of your current room, as its "
	  "operator" },
	{ "invite", 1, 2, CMD_REST_NONE, line_cmd_invite, 0,
	  "/invite NICK [ROOM]", "let NICK join ROOM (by default your "
	  "current room) once, past +i, +k, +l and bans" },
	{ "rooms", 0, 0, CMD_REST_NONE, cmd_rooms, 0, "/rooms",
	  "list every room with its member count and topic" },
	{ "history", 0, 3, CMD_REST_NONE, line_cmd_history, 0,
	  "/history [N [latest | before ID]]", "show the last N messages of "
	  "your current room; with latest or before ID, a page with ids" },
	{ "ack", 1, 1, CMD_REST_NONE, cmd_ack, 0, "/ack on|off",
	  "answer every line you send with ACK n or NACK n CODE" },
	{ "slow", 1, 1, CMD_REST_NONE, cmd_slow, 0, "/slow skip|disconnect",
	  "if you read too slowly, lose your oldest room messages (told by "
	  "SKIP lines) rather than your connection" },
	{ "quit", 0, 0, CMD_REST_OPTIONAL, cmd_quit, 0, "/quit [REASON]",
	  "leave the server" },
	{ "help", 0, 1, CMD_REST_NONE, cmd_help, 0, "/help [COMMAND]",
	  "list the commands, or explain one" },
	{ NULL, 0, 0, CMD_REST_NONE, NULL, 0, NULL, NULL },
};

/* Stable error codes and the sentence that goes with each chat_result. */
static const struct {
	const char	*code;
	const char	*text;		/* %s: the nick or room concerned */
} line_errors[] = {
	[CHAT_NICK_TAKEN] = { "nick-taken", "%s is taken" },
	[CHAT_NICK_INVALID] = { "nick-invalid", "%s is not a valid nick: 1 "
	    "to 30 letters, digits or []\\`_^{|}-, not starting with a "
	    "digit or -" },
	[CHAT_ROOM_INVALID] = { "room-invalid", "%s is not a valid room: # "
	    "and 1 to 50 bytes of letters (UTF-8 too), digits, _, ., + or -" },
	[CHAT_NO_SUCH_NICK] = { "no-such-nick", "no one is called %s" },
	[CHAT_NO_SUCH_ROOM] = { "no-such-room", "there is no room %s" },
	[CHAT_NOT_IN_ROOM] = { "not-in-room", "you are not in %s" },
	[CHAT_TOO_MANY_ROOMS] = { "too-many-rooms", "you cannot join %s: "
	    "leave a room first" },
	[CHAT_TOPIC_TOO_LONG] = { "topic-too-long", "a topic in %s may be "
	    "at most 300 bytes" },
	[CHAT_NICK_BANNED] = { "nick-banned", "%s is banned on this server" },
	[CHAT_MUTED] = { "muted", "%s, an operator has muted you: you cannot "
	    "speak for now" },
	[CHAT_ROOMS_FULL] = { "rooms-full", "cannot make %s: the server has "
	    "as many rooms as it may (max-rooms)" },
	[CHAT_OVER_BUDGET] = { "over-budget", "cannot make %s now: your "
	    "address or the server holds all the memory it may" },
	[CHAT_NOT_OPERATOR] = { "not-operator", "you are not an operator of "
	    "%s" },
	[CHAT_ROOM_BANNED] = { "banned-from-room", "you are banned from %s" },
	[CHAT_INVITE_ONLY] = { "invite-only", "%s is invite-only: an "
	    "operator must /invite you" },
	[CHAT_BAD_KEY] = { "bad-key", "%s needs its key: /join ROOM KEY" },
	[CHAT_ROOM_FULL] = { "room-full", "%s has as many members as its "
	    "operators allow" },
	[CHAT_MODERATED] = { "moderated", "%s is moderated: only operators "
	    "and voiced members speak" },
	[CHAT_NOT_MEMBER] = { "not-member", "%s is not in that room" },
	[CHAT_ALREADY_MEMBER] = { "already-member", "%s is in that room "
	    "already" },
};

void
line_configure(const struct config *config)
{
	line_config = config;
}

static const char *
line_client_name(const struct conn *c)
{
	return c->session != NULL ? c->session->nick : "-";
}

/* Whether c has acknowledgements on. */
int
line_acks(const struct conn *c)
{
	return (c->proto_flags & LINE_ACK) != 0;
}

/*
 * An error text cut to fit its buffer (n is what snprintf wanted) must not
 * end in half a character: client text in it is valid UTF-8, and so must
 * the line be (found by tests/fuzz/fuzz_command).
 */
static void
line_cut_utf8(char *text, int n, size_t size)
{
	if (n >= 0 && (size_t)n >= size)
		text[text_utf8_truncate(text, size - 1, size - 2)] = '\0';
}

/* The one way a line fails: NACK with acknowledgements, ERR without. */
void
line_fail(struct conn *c, const char *code, const char *fmt, ...)
{
	char	text[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	line_cut_utf8(text, n, sizeof text);
	c->proto_flags |= LINE_FAILED;
	metrics_count_error(c->proto->name, code);
	if (line_acks(c))
		conn_printf(c, "NACK %llu %s %s\r\n",
		    (unsigned long long)c->lines, code, text);
	else
		conn_printf(c, "ERR %s %s\r\n", code, text);
}

void
line_fail_result(struct conn *c, enum chat_result result, const char *about)
{
	char	text[512];
	int	n;

	/* The format strings come from the table above, not from clients. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(text, sizeof text, line_errors[result].text, about);
#pragma GCC diagnostic pop
	line_cut_utf8(text, n, sizeof text);
	line_fail(c, line_errors[result].code, "%s", text);
}

/* Quote at most 32 bytes of an unknown command's name, whole characters. */
static void
line_unknown(struct conn *c, const char *name)
{
	line_fail(c, "unknown-command", "/%.*s: unknown command; try /help",
	    (int)text_utf8_truncate(name, strlen(name), 32), name);
}

static void
line_deliver(struct session *s, struct msg *m)
{
	if (m->kind == MSG_AWAY || m->kind == MSG_SETNAME)
		return;		/* IRC's presence: no line KIND for it */
	line_format_msg(m);
	conn_send_msg(s->client, m->wire[PROTOCOL_LINE], m);
}

/*
 * A whole fan-out run for one client: one append, not one per line.  A
 * skipping client gets it line by line, each one it may lose on its own.
 */
static void
line_deliver_run(struct session *s, struct msg **msgs, size_t n,
    uint64_t serial)
{
	struct msg_wire	*run;
	size_t		 i;

	if (conn_skips(s->client) ||
	    (run = line_format_run(msgs, n, serial)) == NULL) {
		for (i = 0; i < n; i++)
			line_deliver(s, msgs[i]);
		return;
	}
	conn_send_wire(s->client, run);
}

static void
line_send_room(struct conn *c, const struct room *r)
{
	conn_printf(c, "ROOM %s %zu%s%s\r\n", r->name, r->nmembers,
	    r->topic != NULL ? " " : "", r->topic != NULL ? r->topic : "");
}

/* Join name and show the joiner the room: info, then scrollback. */
static void
line_join(struct conn *c, const char *name, const char *key)
{
	struct room		*r;
	enum chat_result	 result;
	int			 rejoined;
	uint32_t		 before;

	result = room_join(c->session, name, key, &r, &rejoined);
	if (result != CHAT_OK) {
		line_fail_result(c, result, name);
		return;
	}
	line_send_room(c, r);
	if (!rejoined) {
		before = c->queued;
		line_replay(c, r, line_config->scrollback);
		conn_line_uncharged(c, (uint32_t)(c->queued - before));
	}
}

static const struct session_ops line_session_ops = {
	.deliver = line_deliver,
	.deliver_run = line_deliver_run,
	.describe = conn_session_describe,
	.close = conn_session_close,
};

static void
line_connected(struct conn *c)
{
	const char	*room = line_config->default_room;
	size_t		 i;

	c->session = session_new(&line_session_ops, c, ban_nick_refused);
	c->session->host = c->host;
	if (room == NULL)	/* default-room = none */
		conn_printf(c, "HELLO %s * Welcome to chatd %s. You are %s, in "
		    "no room yet: /join #room. Type /help for help.\r\n",
		    c->session->nick, CHATD_VERSION, c->session->nick);
	else
		conn_printf(c, "HELLO %s %s Welcome to chatd %s. You are %s in "
		    "%s. Type /help for help.\r\n", c->session->nick, room,
		    CHATD_VERSION, c->session->nick, room);
	for (i = 0; i < line_config->nmotd; i++)
		conn_printf(c, "MOTD %s\r\n", line_config->motd[i]);
	if (room != NULL)
		line_join(c, room, NULL);
}

static void
line_disconnected(struct conn *c, const char *reason)
{
	if (c->session == NULL)
		return;
	room_quit(c->session, reason);
	session_free(c->session);
	c->session = NULL;
}

/*
 * Write "#" + name into buf (NAME_ROOM_MAX + 2) unless it has one.  A name
 * too long to be valid is returned as it is, not cut: invalid either way,
 * and quoted whole (cutting could split a character).
 */
const char *
line_room_name(const char *name, char *buf)
{
	if (strlen(name) + (name[0] != '#') > NAME_ROOM_MAX)
		return name;
	snprintf(buf, NAME_ROOM_MAX + 2, "%s%s", name[0] == '#' ? "" : "#",
	    name);
	return buf;
}

static void
line_run_command(struct conn *c, char *line)
{
	const struct cmd_spec	*cmd;
	struct cmd_args		 args;
	enum cmd_result		 result;
	const char		*name = line + strspn(line, " ");

	result = cmd_parse(line_commands, line, 0, &cmd, &args);
	if (result == CMD_UNKNOWN) {
		line_unknown(c, name);
		return;
	}
	if (result == CMD_USAGE) {
		line_fail(c, "bad-usage", "usage: %s", cmd->usage);
		return;
	}
	if ((cmd->flags & NEEDS_ROOM) &&
	    session_current_room(c->session) == NULL) {
		line_fail(c, "not-in-room", "you are not in a room; /join one");
		return;
	}
	cmd->run(c, &args);
}

/* A muted client may not speak: talk, act, message or set a topic. */
static int
line_may_speak(struct conn *c)
{
	if (!session_is_muted(c->session))
		return 1;
	line_fail_result(c, CHAT_MUTED, c->session->nick);
	return 0;
}

static void
line_say(struct conn *c, enum msg_kind kind, const char *text)
{
	struct room		*r = session_current_room(c->session);
	enum chat_result	 result;

	if (!line_may_speak(c))
		return;
	if (r == NULL) {
		line_fail(c, "not-in-room", "you are not in a room; /join one");
		return;
	}
	if ((result = room_say(r, c->session, kind, text)) != CHAT_OK) {
		line_fail_result(c, result, r->name);
		return;
	}
	stats.messages++;
}

/* One sanitized line (line[len] is writable) from the client. */
static void
line_line(struct conn *c, char *line, size_t len)
{
	line[len] = '\0';
	c->proto_flags &= ~LINE_FAILED;
	if (text_is_blank(line, len))
		;	/* nothing to do, and nothing went wrong */
	else if (line[0] == '/' && line[1] != '/')
		line_run_command(c, line + 1);
	else
		line_say(c, MSG_SAY, line[0] == '/' ? line + 1 : line);
	if (line_acks(c) && !(c->proto_flags & LINE_FAILED) && !conn_paging(c))
		conn_printf(c, "ACK %llu\r\n", (unsigned long long)c->lines);
}

static void
line_line_too_long(struct conn *c, size_t max)
{
	line_fail(c, "line-too-long", "lines may be at most %zu bytes; "
	    "this one was discarded", max);
}

static void
cmd_nick(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	struct session		*s = c->session;
	char			 old[NAME_NICK_MAX + 1];
	enum chat_result	 result;
	struct msg		*m;

	if (strcmp(s->nick, args->word[0]) == 0) {
		/* Nothing changes, but every line has an outcome. */
		conn_printf(c, "INFO you are already %s\r\n", s->nick);
		return;
	}
	memcpy(old, s->nick, sizeof old);
	if (ban_match(NULL, args->word[0]) != NULL)
		result = CHAT_NICK_BANNED;
	else
		result = room_set_nick(s, args->word[0]);
	if (result != CHAT_OK) {
		line_fail_result(c, result, args->word[0]);
		return;
	}
	m = msg_new(MSG_NICK, NULL, old, s->nick, NULL);
	room_fanout_neighbours(s, m, 1);
	msg_unref(m);
}

static void
cmd_join(void *arg, struct cmd_args *args)
{
	char	buf[NAME_ROOM_MAX + 2];

	line_join(arg, line_room_name(args->word[0], buf),
	    args->nwords > 1 ? args->word[1] : NULL);
}

/* The room a command names, or the current one; NULL after failing. */
struct room *
line_room_arg(struct conn *c, const char *word)
{
	struct room	*r;
	char		 buf[NAME_ROOM_MAX + 2];
	const char	*name;

	if (word == NULL) {
		if ((r = session_current_room(c->session)) == NULL)
			line_fail(c, "not-in-room", "you are not in a room; "
			    "name one");
		return r;
	}
	name = line_room_name(word, buf);
	if ((r = room_find(name)) == NULL)
		line_fail_result(c, CHAT_NO_SUCH_ROOM, name);
	return r;
}

static void
cmd_part(void *arg, struct cmd_args *args)
{
	struct conn	*c = arg;
	struct room	*r;

	if ((r = line_room_arg(c, args->nwords > 0 ? args->word[0] : NULL)) ==
	    NULL)
		return;
	if (room_part(c->session, r, NULL) != CHAT_OK)
		line_fail_result(c, CHAT_NOT_IN_ROOM, r->name);
}

static void
cmd_msg(void *arg, struct cmd_args *args)
{
	struct conn	*c = arg;
	struct session	*to = session_find(args->word[0]);
	struct msg	*m;

	if (!line_may_speak(c))
		return;
	if (to == NULL) {
		line_fail_result(c, CHAT_NO_SUCH_NICK, args->word[0]);
		return;
	}
	stats.messages++;
	m = msg_new(MSG_PRIVATE, NULL, c->session->nick, to->nick, args->rest);
	room_deliver_to(to, m);
	if (to != c->session)
		room_deliver_to(c->session, m);
	msg_unref(m);
}

static void
cmd_me(void *arg, struct cmd_args *args)
{
	line_say(arg, MSG_ACTION, args->rest);
}

static void
cmd_topic(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	struct room		*r = session_current_room(c->session);
	enum chat_result	 result;

	if (*args->rest != '\0') {
		if (!line_may_speak(c))
			return;
		if ((result = room_set_topic(r, c->session, args->rest)) !=
		    CHAT_OK)
			line_fail_result(c, result, r->name);
	} else if (r->topic != NULL)
		conn_printf(c, "TOPIC %s %s %s\r\n", r->name, r->topic_by,
		    r->topic);
	else
		conn_printf(c, "INFO %s has no topic\r\n", r->name);
}

/*
 * A big answer (/who, /rooms) is paged (conn_page): each page resumes after
 * the last name it sent, so rooms and members may come and go meanwhile
 * and the answer still ends; its ACK, if any, comes after its last line.
 */
struct line_page {
	char		 room[NAME_ROOM_MAX + 1];	/* /who: whose members */
	char		 after[NAME_ROOM_MAX + 1];	/* the last name sent */
	uint64_t	 ack;		/* line to acknowledge; 0: none */
	int		 started;
	int		 roles;		/* /who: 1 at ROLES, 2 past its start */
};

static void
line_page_start(struct conn *c, conn_pager_fn *fn, const char *room)
{
	struct line_page	*p = xcalloc(1, sizeof *p);

	snprintf(p->room, sizeof p->room, "%s", room);
	p->ack = line_acks(c) ? c->lines : 0;
	conn_page(c, fn, p, free);
}

/* The answer's last line is out: the line's outcome. */
static int
line_page_done(struct conn *c, struct line_page *p)
{
	if (p->ack != 0)
		conn_printf(c, "ACK %llu\r\n", (unsigned long long)p->ack);
	return 0;
}

/*
 * After the WHO lines, "ROLES #room @op +voiced ...": who has a standing
 * in the room, in nick order, at most WHO_PER_LINE a line; none if no one
 * has.  A page looks at as many members as a page of WHO lines shows.
 */
static int
line_roles_page(struct conn *c, struct line_page *p, const struct room *r)
{
	char	line[NAME_ROOM_MAX + 16 + WHO_PER_LINE * (NAME_NICK_MAX + 2)];
	size_t	i, seen, k = 0, len = 0;

	i = p->roles++ > 1 ? room_member_after(r, p->after) : 0;
	for (seen = 0; seen < PAGE_LINES * WHO_PER_LINE && i < r->nmembers;
	    seen++, i++) {
		if ((r->member_status[i] & ROOM_STANDING) == 0)
			continue;
		if (k == 0)
			len = (size_t)snprintf(line, sizeof line, "ROLES %s",
			    r->name);
		len += (size_t)snprintf(line + len, sizeof line - len, " %c%s",
		    r->member_status[i] & ROOM_OPERATOR ? '@' : '+',
		    r->members[i]->nick);
		if (++k == WHO_PER_LINE) {
			conn_printf(c, "%s\r\n", line);
			k = 0;
		}
	}
	if (k > 0)
		conn_printf(c, "%s\r\n", line);
	if (i > 0)
		snprintf(p->after, sizeof p->after, "%s", r->members[i - 1]->nick);
	return i < r->nmembers ? 1 : line_page_done(c, p);
}

static int
line_who_page(struct conn *c, void *arg)
{
	struct line_page	*p = arg;
	struct room		*r = room_find(p->room);
	char			 line[NAME_ROOM_MAX + 32 +
				    WHO_PER_LINE * (NAME_NICK_MAX + 1)];
	size_t			 i, k, n, len;

	if (r == NULL)		/* closed meanwhile: the answer ends */
		return line_page_done(c, p);
	if (p->roles)
		return line_roles_page(c, p, r);
	i = p->started ? room_member_after(r, p->after) : 0;
	for (n = 0; n < PAGE_LINES; n++) {
		len = (size_t)snprintf(line, sizeof line, "WHO %s %zu",
		    r->name, r->nmembers);
		for (k = 0; k < WHO_PER_LINE && i < r->nmembers; k++, i++)
			len += (size_t)snprintf(line + len, sizeof line - len,
			    " %s", r->members[i]->nick);
		conn_printf(c, "%s\r\n", line);
		p->started = 1;
		if (k > 0)
			snprintf(p->after, sizeof p->after, "%s",
			    r->members[i - 1]->nick);
		if (i >= r->nmembers)
			break;
	}
	if (i < r->nmembers)
		return 1;
	p->roles = 1;
	return line_roles_page(c, p, r);
}

static void
cmd_who(void *arg, struct cmd_args *args)
{
	struct conn	*c = arg;
	struct room	*r;

	if ((r = line_room_arg(c, args->nwords > 0 ? args->word[0] : NULL)) ==
	    NULL)
		return;
	line_page_start(c, line_who_page, r->name);
}

static int
line_rooms_page(struct conn *c, void *arg)
{
	struct line_page	*p = arg;
	struct room		*r;
	size_t			 n;

	if (!p->started) {
		conn_printf(c, "ROOMS %zu\r\n", room_count());
		p->started = 1;
	}
	r = room_after(p->after);
	for (n = 0; n < PAGE_LINES && r != NULL; n++) {
		line_send_room(c, r);
		snprintf(p->after, sizeof p->after, "%s", r->name);
		r = room_after(p->after);
	}
	return r != NULL ? 1 : line_page_done(c, p);
}

static void
cmd_rooms(void *arg, struct cmd_args *args)
{
	line_page_start(arg, line_rooms_page, "");
}

static void
cmd_ack(void *arg, struct cmd_args *args)
{
	struct conn	*c = arg;

	if (strcasecmp(args->word[0], "on") == 0)
		c->proto_flags |= LINE_ACK;
	else if (strcasecmp(args->word[0], "off") == 0) {
		c->proto_flags &= ~LINE_ACK;
		conn_printf(c, "INFO acks off\r\n");
	} else
		line_fail(c, "bad-usage", "usage: /ack on|off");
}

/* The acknowledgement (with /ack on) or an INFO line says it is done. */
static void
cmd_slow(void *arg, struct cmd_args *args)
{
	struct conn	*c = arg;

	if (strcasecmp(args->word[0], "skip") == 0)
		conn_set_slow(c, CONN_SLOW_SKIP);
	else if (strcasecmp(args->word[0], "disconnect") == 0)
		conn_set_slow(c, CONN_SLOW_DISCONNECT);
	else {
		line_fail(c, "bad-usage", "usage: /slow skip|disconnect");
		return;
	}
	if (!line_acks(c))
		conn_printf(c, "INFO slow %s\r\n", conn_skips(c) ? "skip" :
		    "disconnect");
}

static void
cmd_quit(void *arg, struct cmd_args *args)
{
	conn_close(arg, "quit", *args->rest != '\0' ? args->rest : "quit");
}

static void
cmd_help(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	const struct cmd_spec	*cmd;
	enum cmd_result		 result;

	if (args->nwords == 0) {
		conn_printf(c, "HELP Type text to talk in your current room; "
		    "start a line with // to begin it with /.\r\n");
		for (cmd = line_commands; cmd->name != NULL; cmd++)
			conn_printf(c, "HELP %-16s %s\r\n", cmd->usage,
			    cmd->help);
		return;
	}
	cmd = cmd_find(line_commands, args->word[0] +
	    (args->word[0][0] == '/'), 0, &result);
	if (cmd == NULL) {
		line_unknown(c, args->word[0] + (args->word[0][0] == '/'));
		return;
	}
	conn_printf(c, "HELP %s: %s\r\n", cmd->usage, cmd->help);
}

static size_t
line_max_line(const struct config *config)
{
	return config->max_line;
}

/* "BYE CODE REASON": the last line of every connection that is closed. */
static void
line_goodbye(struct conn *c, struct evbuffer *out, const char *code,
    const char *reason)
{
	evbuffer_add_printf(out, "BYE %s %s\r\n", code, reason);
}

/* "SKIP ROOM FIRST LAST COUNT": what a skipping client lost, one gap. */
static void
line_skipped(struct conn *c, struct evbuffer *out, const char *room,
    uint64_t first, uint64_t last, size_t count)
{
	evbuffer_add_printf(out, "SKIP %s %llu %llu %zu\r\n", room,
	    (unsigned long long)first, (unsigned long long)last, count);
}

/* The same BYE line, cut (at a character) to fit size with its CRLF. */
static size_t
line_refusal(char *buf, size_t size, const char *code, const char *reason)
{
	return text_format_line(buf, size, "BYE %s %s", code, reason);
}

const struct protocol line_protocol = {
	.name = "line",
	.slot = PROTOCOL_LINE,
	.max_line = line_max_line,
	.sanitize = text_sanitize,
	.connected = line_connected,
	.line = line_line,
	.line_too_long = line_line_too_long,
	.disconnected = line_disconnected,
	.goodbye = line_goodbye,
	.skipped = line_skipped,
	.refusal = line_refusal,
	.client_name = line_client_name,
};
