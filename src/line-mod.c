/*
 * The line protocol's moderation commands, /mode, /kick and /invite, over
 * room-mode.c, which decides.  /mode takes changes written as IRC writes
 * them, so both protocols share one syntax and one outcome.
 */
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "conn.h"
#include "line-private.h"
#include "room.h"
#include "room-mode.h"

#define MODE_ARGS_MAX	8	/* words after the changes that are read */

/* The first refused change is the line's error; the rest only count. */
struct line_mode_request {
	struct conn	*c;
	const char	*room;
	int		 refused;
};

static void
line_mode_refused(void *arg, enum room_mode_refusal why, char letter,
    const char *argument)
{
	struct line_mode_request	*req = arg;

	if (why == ROOM_MODE_UNCHANGED) {	/* every line has an outcome */
		if (req->refused == 0)
			conn_printf(req->c, "INFO the modes of %s are so "
			    "already\r\n", req->room);
		return;
	}
	if (req->refused++ > 0)
		return;
	switch (why) {
	case ROOM_MODE_UNKNOWN:
		line_fail(req->c, "bad-mode", "%c is not a room mode: i m n t, "
		    "k KEY, l N, b MASK, o NICK, v NICK", letter);
		break;
	case ROOM_MODE_NO_ARGUMENT:
		line_fail(req->c, "bad-usage", "%c needs an argument", letter);
		break;
	case ROOM_MODE_NO_SUCH_NICK:
		line_fail_result(req->c, CHAT_NO_SUCH_NICK, argument);
		break;
	case ROOM_MODE_NOT_MEMBER:
		line_fail(req->c, "not-member", "%s is not in %s", argument,
		    req->room);
		break;
	case ROOM_MODE_BAD_ARGUMENT:
		line_fail(req->c, "bad-usage", "%s is not a valid %s", argument,
		    letter == 'k' ? "key (1 to 23 bytes of printable ASCII, no "
		    "space or comma)" : letter == 'l' ? "limit (1 to 1000000)" :
		    "ban mask (nick!user@host, * and ? as wildcards)");
		break;
	case ROOM_MODE_BANS_FULL:
		line_fail(req->c, "ban-list-full", "%s has as many bans as it "
		    "may (max-bans-per-room)", req->room);
		break;
	case ROOM_MODE_TOO_MANY:
		line_fail(req->c, "bad-usage", "at most %d changes with an "
		    "argument in one /mode", ROOM_MODE_CHANGES_MAX);
		break;
	case ROOM_MODE_UNCHANGED:
		break;
	}
}

/* "MODES #room +nt [key] [limit]", then one BAN line a ban. */
static void
line_mode_show(struct conn *c, const struct room *r)
{
	char	modes[64];
	size_t	i;

	room_mode_string(r, modes, sizeof modes, session_in_room(c->session,
	    r) || c->session->oper);
	conn_printf(c, "MODES %s %s\r\n", r->name, modes);
	for (i = 0; i < r->modes.nbans; i++)
		conn_printf(c, "BAN %s %s %s %lld\r\n", r->name,
		    r->modes.bans[i].mask, r->modes.bans[i].by,
		    (long long)r->modes.bans[i].when);
}

/* Split text into at most max words; how many. */
static size_t
line_words(char *text, char **word, size_t max)
{
	char	*save = NULL;
	size_t	 n = 0;

	while (n < max && (word[n] = strtok_r(n == 0 ? text : NULL, " ",
	    &save)) != NULL)
		n++;
	return n;
}

/* A ban list request, as IRC writes one: "b" or "+b" with no mask. */
static int
line_mode_lists(const char *changes, size_t nargs)
{
	return nargs == 0 && (strcmp(changes, "b") == 0 ||
	    strcmp(changes, "+b") == 0);
}

void
line_cmd_mode(void *arg, struct cmd_args *args)
{
	struct conn			*c = arg;
	struct line_mode_request	 req = { .c = c };
	struct room			*r;
	char				*word[MODE_ARGS_MAX + 1], **margs;
	const char			*changes = NULL;
	size_t				 n;
	enum chat_result		 result;

	if (args->nwords > 0 && args->word[0][0] == '#') {
		r = line_room_arg(c, args->word[0]);
		n = line_words(args->rest, word, MODE_ARGS_MAX + 1);
		if (n > 0) {
			changes = word[0];
			n--;
		}
		margs = word + 1;
	} else {
		r = line_room_arg(c, NULL);
		if (args->nwords > 0)
			changes = args->word[0];
		n = line_words(args->rest, word, MODE_ARGS_MAX);
		margs = word;
	}
	if (r == NULL)
		return;
	if (changes == NULL || line_mode_lists(changes, n)) {
		line_mode_show(c, r);
		return;
	}
	req.room = r->name;
	result = room_mode_change(r, c->session, changes, margs, n,
	    line_mode_refused, &req);
	if (result != CHAT_OK)
		line_fail_result(c, result, r->name);
}

/* A nick the command names, or NULL after failing. */
static struct session *
line_nick_arg(struct conn *c, const char *nick)
{
	struct session	*s = session_find_client(nick);

	if (s == NULL)
		line_fail_result(c, CHAT_NO_SUCH_NICK, nick);
	return s;
}

void
line_cmd_kick(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	struct room		*r = session_current_room(c->session);
	struct session		*who;
	enum chat_result	 result;

	if ((who = line_nick_arg(c, args->word[0])) == NULL)
		return;
	result = room_kick(r, c->session, who, args->rest);
	if (result == CHAT_NOT_MEMBER)
		line_fail_result(c, result, who->nick);
	else if (result != CHAT_OK)
		line_fail_result(c, result, r->name);
}

void
line_cmd_invite(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	struct room		*r;
	struct session		*who;
	enum chat_result	 result;

	if ((who = line_nick_arg(c, args->word[0])) == NULL ||
	    (r = line_room_arg(c, args->nwords > 1 ? args->word[1] : NULL)) ==
	    NULL)
		return;
	result = room_invite(r, c->session, who);
	if (result == CHAT_ALREADY_MEMBER)
		line_fail_result(c, result, who->nick);
	else if (result != CHAT_OK)
		line_fail_result(c, result, r->name);
	else
		conn_printf(c, "INFO %s is invited to %s\r\n", who->nick,
		    r->name);
}
