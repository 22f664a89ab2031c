/*
 * IRC's view of room moderation (room-mode.c decides): MODE on channels
 * and on oneself, KICK, INVITE, and the prefixes and reasons other IRC
 * answers show.  The changes an operator makes reach every member of the
 * room, whatever its protocol, as one MODE event.
 */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "name.h"
#include "room.h"
#include "room-mode.h"
#include "session.h"

#define KICK_TARGETS_MAX	4	/* TARGMAX for KICK */

/*
 * The prefix NAMES and WHO show for a member's standing: the highest, or
 * every one with multi-prefix.
 */
const char *
irc_status_prefix(const struct conn *c, unsigned status)
{
	if ((irc_caps(c) & IRC_CAP_MULTI_PREFIX) &&
	    (status & (ROOM_OPERATOR | ROOM_VOICE)) ==
	    (ROOM_OPERATOR | ROOM_VOICE))
		return "@+";
	return status & ROOM_OPERATOR ? "@" : status & ROOM_VOICE ? "+" : "";
}

/* Why a message to a room was refused, after "Cannot send to channel". */
const char *
irc_why_not(enum chat_result result)
{
	switch (result) {
	case CHAT_NOT_IN_ROOM:
		return " (+n)";
	case CHAT_MODERATED:
		return " (+m)";
	case CHAT_ROOM_BANNED:
		return " (+b)";
	default:
		return "";
	}
}

struct irc_mode_request {
	struct conn		*c;
	const struct room	*r;
};

static void
irc_mode_refused(void *arg, enum room_mode_refusal why, char letter,
    const char *argument)
{
	struct irc_mode_request	*req = arg;
	struct conn		*c = req->c;
	const char		*room = req->r->name;

	switch (why) {
	case ROOM_MODE_UNKNOWN:
		irc_reply(c, "472", "%c :is unknown mode char to me", letter);
		break;
	case ROOM_MODE_NO_ARGUMENT:
		irc_reply(c, "696", "%s %c * :You must specify a parameter for "
		    "this mode", room, letter);
		break;
	case ROOM_MODE_NO_SUCH_NICK:
		irc_reply(c, "401", "%.64s :No such nick/channel", argument);
		break;
	case ROOM_MODE_NOT_MEMBER:
		irc_reply(c, "441", "%.64s %s :They aren't on that channel",
		    argument, room);
		break;
	case ROOM_MODE_BAD_ARGUMENT:
		irc_reply(c, "696", "%s %c %.64s :Invalid parameter", room,
		    letter, argument);
		break;
	case ROOM_MODE_BANS_FULL:
		irc_reply(c, "478", "%s %.64s :Channel ban list is full", room,
		    argument);
		break;
	case ROOM_MODE_TOO_MANY:	/* MODES says how many: ignored */
	case ROOM_MODE_UNCHANGED:	/* IRC says nothing */
		break;
	}
}

static void
irc_mode_show(struct conn *c, const struct room *r)
{
	char	modes[64];

	room_mode_string(r, modes, sizeof modes, session_in_room(c->session,
	    r) || c->session->oper);
	irc_reply(c, "324", "%s %s", r->name, modes);
	irc_reply(c, "329", "%s %lld", r->name, (long long)r->created);
}

static void
irc_mode_bans(struct conn *c, const struct room *r)
{
	size_t	i;

	for (i = 0; i < r->modes.nbans; i++)
		irc_reply(c, "367", "%s %s %s %lld", r->name,
		    r->modes.bans[i].mask, r->modes.bans[i].by,
		    (long long)r->modes.bans[i].when);
	irc_reply(c, "368", "%s :End of channel ban list", r->name);
}

/*
 * User modes: +i is accepted and changes nothing; +l (lossy) makes a
 * client that reads too slowly lose its oldest channel messages, told by
 * a NOTICE, rather than its connection (conn-skip.c), -l the opposite.
 * A change is confirmed as servers do, by MODE from the client itself.
 */
static void
irc_user_mode(struct conn *c, const char *target, const char *modes)
{
	const char	*p;
	int		 add = 1, skipped = conn_skips(c);

	if (name_compare(target, c->session->nick) != 0) {
		irc_reply(c, "502", ":Can't change mode for other users");
		return;
	}
	if (modes == NULL) {
		irc_reply(c, "221", "%s", skipped ? "+l" : "+");
		return;
	}
	if (strspn(modes, "+-il") != strlen(modes)) {
		irc_reply(c, "501", ":Unknown MODE flag");
		return;
	}
	for (p = modes; *p != '\0'; p++) {
		if (*p == '+' || *p == '-')
			add = *p == '+';
		else if (*p == 'l')
			conn_set_slow(c, add ? CONN_SLOW_SKIP :
			    CONN_SLOW_DISCONNECT);
	}
	if (conn_skips(c) != skipped)
		conn_printf(c, ":%s MODE %s :%cl\r\n", c->session->nick,
		    c->session->nick, skipped ? '-' : '+');
}

void
irc_cmd_mode(struct conn *c, struct irc_message *m)
{
	const char		*target = m->params[0];
	const char		*modes = m->nparams > 1 ? m->params[1] : NULL;
	struct irc_mode_request	 req = { .c = c };
	struct room		*r;

	if (target[0] != '#') {
		irc_user_mode(c, target, modes);
		return;
	}
	if ((r = room_find(target)) == NULL) {
		irc_reply(c, "403", "%.64s :No such channel", target);
		return;
	}
	if (modes == NULL) {
		irc_mode_show(c, r);
		return;
	}
	if (m->nparams == 2 && (strcmp(modes, "b") == 0 ||
	    strcmp(modes, "+b") == 0)) {
		irc_mode_bans(c, r);
		return;
	}
	req.r = r;
	if (room_mode_change(r, c->session, modes, m->params + 2,
	    m->nparams - 2, irc_mode_refused, &req) != CHAT_OK)
		irc_reply(c, "482", "%s :You're not channel operator",
		    r->name);
}

/* KICK #room nick[,nick...] [:reason]: the room may be gone after it. */
void
irc_cmd_kick(struct conn *c, struct irc_message *m)
{
	struct room		*r;
	struct session		*who;
	char			*nick, *save = NULL, name[NAME_ROOM_MAX + 1];
	const char		*reason = m->nparams > 2 ? m->params[2] : NULL;
	enum chat_result	 result;
	size_t			 n = 0;

	if ((r = room_find(m->params[0])) == NULL) {
		irc_reply(c, "403", "%.64s :No such channel", m->params[0]);
		return;
	}
	snprintf(name, sizeof name, "%s", r->name);
	for (nick = strtok_r(m->params[1], ",", &save); nick != NULL &&
	    n++ < KICK_TARGETS_MAX; nick = strtok_r(NULL, ",", &save)) {
		if ((r = room_find(name)) == NULL)
			return;
		if ((who = session_find(nick)) == NULL) {
			irc_reply(c, "401", "%.64s :No such nick/channel",
			    nick);
			continue;
		}
		result = room_kick(r, c->session, who, reason);
		if (result == CHAT_NOT_IN_ROOM)
			irc_reply(c, "442", "%s :You're not on that channel",
			    name);
		else if (result == CHAT_NOT_OPERATOR)
			irc_reply(c, "482", "%s :You're not channel operator",
			    name);
		else if (result == CHAT_NOT_MEMBER)
			irc_reply(c, "441", "%s %s :They aren't on that "
			    "channel", who->nick, name);
	}
}

/* INVITE nick #room: 341 to the inviter, INVITE to the invited. */
void
irc_cmd_invite(struct conn *c, struct irc_message *m)
{
	struct session		*who = session_find_client(m->params[0]);
	struct room		*r = room_find(m->params[1]);
	enum chat_result	 result;

	if (who == NULL) {
		irc_reply(c, "401", "%.64s :No such nick/channel",
		    m->params[0]);
		return;
	}
	if (r == NULL) {
		irc_reply(c, "403", "%.64s :No such channel", m->params[1]);
		return;
	}
	result = room_invite(r, c->session, who);
	if (result == CHAT_NOT_IN_ROOM)
		irc_reply(c, "442", "%s :You're not on that channel", r->name);
	else if (result == CHAT_NOT_OPERATOR)
		irc_reply(c, "482", "%s :You're not channel operator",
		    r->name);
	else if (result == CHAT_ALREADY_MEMBER)
		irc_reply(c, "443", "%s %s :is already on channel", who->nick,
		    r->name);
	else
		irc_reply(c, "341", "%s %s", who->nick, r->name);
}
