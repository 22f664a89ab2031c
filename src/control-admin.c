/*
 * Admin commands that act on clients and rooms: kick, ban, mute, unmute,
 * say, announce, msg, topic and close.  They call the same room and session
 * functions as the line protocol's commands, speaking as "@operator", and
 * the operator's text is sanitized exactly like a client's.
 */
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "config.h"
#include "conn.h"
#include "control-cmd.h"
#include "log.h"
#include "msg.h"
#include "mute.h"
#include "room.h"
#include "session.h"
#include "stats.h"
#include "text.h"
#include "xmalloc.h"

#define ADMIN_REASON_MAX	300	/* bytes of a kick, ban or close reason */


/* The room called name, with or without its '#', or NULL. */
struct room *
control_admin_find_room(const char *name)
{
	char	buf[NAME_ROOM_MAX + 1];

	if (*name == '#')
		return room_find(name);
	if (strlen(name) >= NAME_ROOM_MAX)
		return NULL;
	buf[0] = '#';
	strcpy(buf + 1, name);
	return room_find(buf);
}

static void
admin_deliver(struct session *s, void *arg)
{
	session_deliver(s, arg);
}

/* A NOTICE from @operator to every session; returns how many clients. */
size_t
control_admin_broadcast(const char *text)
{
	struct msg	*m = msg_new(MSG_NOTICE, NULL, CONTROL_OPERATOR, NULL,
			    text);

	session_foreach(admin_deliver, m);
	msg_unref(m);
	return session_count() - 1;	/* @operator heard it too */
}

static void
admin_notice(struct session *s, const char *text)
{
	struct msg	*m = msg_new(MSG_NOTICE, NULL, CONTROL_OPERATOR, NULL,
			    text);

	session_deliver(s, m);
	msg_unref(m);
}

/* A copy of text made safe to relay, as a client's would be (free it). */
static char *
admin_sanitize(const char *text, size_t *n)
{
	size_t	 len = strlen(text);
	char	*clean = xmalloc(TEXT_SANITIZE_MAX(len) + 1);

	*n = text_sanitize(text, len, clean);
	clean[*n] = '\0';
	return clean;
}

/* The operator's text made safe to relay (free it); NULL if answered. */
static char *
admin_text(struct control_client *c, const char *text)
{
	size_t	 n, max = control_config()->max_line;
	char	*clean = admin_sanitize(text, &n);

	if (text_is_blank(clean, n))
		control_fail(c, CTL_E_USAGE, "the text is empty");
	else if (n > max)
		control_fail(c, CTL_E_INVALID, "the text is %zu bytes long; "
		    "max-line allows %zu", n, max);
	else
		return clean;
	free(clean);
	return NULL;
}

/* A reason, sanitized and cut to size, or fallback if there is none. */
static char *
admin_reason(const char *text, const char *fallback)
{
	size_t	 n;
	char	*clean = admin_sanitize(text, &n);

	if (text_is_blank(clean, n)) {
		free(clean);
		return xstrdup(fallback);
	}
	clean[text_utf8_truncate(clean, n, ADMIN_REASON_MAX)] = '\0';
	return clean;
}

static struct session *
admin_user(struct control_client *c, const char *nick)
{
	struct session	*s = session_find_client(nick);

	if (s == NULL)
		control_fail(c, CTL_E_NO_SUCH_NICK, "no one is called %s", nick);
	return s;
}

/* The room called name (the '#' may be left out), or NULL if answered. */
struct room *
control_admin_room(struct control_client *c, const char *name)
{
	struct room	*r = control_admin_find_room(name);

	if (r == NULL)
		control_fail(c, CTL_E_NO_SUCH_ROOM, "there is no room %s", name);
	return r;
}

void
control_admin_kick(struct control_client *c, struct cmd_args *args)
{
	struct session		*s = admin_user(c, args->word[0]);
	struct conn_info	 info;
	char			*reason;

	if (s == NULL)
		return;
	s->ops->describe(s->client, &info);
	reason = admin_reason(args->rest, "kicked by an operator");
	log_notice("control: kicked client %llu (%s, %s)",
	    (unsigned long long)info.id, info.address, s->nick);
	stats.closed_kicked++;
	control_reply(c, json_pack("{s:s, s:o}", "kicked", s->nick, "reason",
	    control_string(reason)));
	s->ops->close(s->client, "kicked", reason);
	free(reason);
}

static void
admin_ban_row(const struct ban *b, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:o, s:o, s:o}", "target",
	    b->target, "added", control_time(b->added), "expires",
	    control_time(b->expires), "reason", control_string(b->reason)));
}

struct admin_sweep {
	const struct ban	*ban;
	size_t			 closed;
};

/* Close a connection the new ban covers, in whatever state it is. */
static void
admin_ban_sweep_one(struct conn *conn, const struct conn_info *info,
    void *arg)
{
	struct admin_sweep	*sweep = arg;
	const char		*nick = info->session != NULL ?
				    info->session->nick : NULL;

	if (info->state == CONN_CLOSING ||
	    !ban_covers(sweep->ban, info->address, nick))
		return;
	log_notice("control: banned client %llu (%s, %s)",
	    (unsigned long long)info->id, info->address,
	    nick != NULL ? nick : "-");
	stats.closed_banned++;
	conn_close(conn, "banned", sweep->ban->reason);
	sweep->closed++;
}

/* Close every client the new ban covers; returns how many. */
static size_t
admin_ban_sweep(const struct ban *b)
{
	struct admin_sweep	sweep = { b, 0 };

	conn_foreach(admin_ban_sweep_one, &sweep);
	return sweep.closed;
}

/* ban add TARGET [DURATION] [REASON]: a third word that is not a duration
 * starts the reason. */
static void
admin_ban_add(struct control_client *c, struct cmd_args *args)
{
	const struct ban	*b;
	time_t			 duration = 0;
	char			*reason, *text, *cause;
	int			 timed;

	timed = args->nwords == 3 &&
	    ctl_duration_parse(args->word[2], &duration) == 0;
	if (args->nwords == 3 && !timed)
		xasprintf(&text, "%s%s%s", args->word[2],
		    *args->rest != '\0' ? " " : "", args->rest);
	else
		text = xstrdup(args->rest);
	reason = admin_reason(text, "you are banned from this server");
	free(text);
	if (ban_add(args->word[1], duration, reason, &b, &cause) == -1) {
		control_fail(c, CTL_E_INVALID, "%s", cause);
		free(cause);
	} else {
		log_notice("control: banned %s%s", b->target,
		    b->expires != 0 ? " for a while" : "");
		control_reply(c, json_pack("{s:s, s:o, s:o, s:I}", "banned",
		    b->target, "expires", control_time(b->expires), "reason",
		    control_string(b->reason), "disconnected",
		    (json_int_t)admin_ban_sweep(b)));
	}
	free(reason);
}

void
control_admin_ban(struct control_client *c, struct cmd_args *args)
{
	const char	*sub = args->word[0];
	json_t		*list;

	if (strcmp(sub, "add") == 0 && args->nwords >= 2)
		admin_ban_add(c, args);
	else if (strcmp(sub, "del") == 0 && args->nwords == 2 &&
	    *args->rest == '\0') {
		if (ban_del(args->word[1]) == -1)
			control_fail(c, CTL_E_NO_SUCH_BAN, "%s is not banned",
			    args->word[1]);
		else
			control_reply(c, json_pack("{s:s}", "unbanned",
			    args->word[1]));
	} else if (strcmp(sub, "list") == 0 && args->nwords == 1 &&
	    *args->rest == '\0') {
		list = json_array();
		ban_foreach(admin_ban_row, list);
		control_reply(c, json_pack("{s:o}", "bans", list));
	} else
		control_fail(c, CTL_E_USAGE, "usage: %s",
		    ctl_verbs[CTL_BAN].usage);
}

/*
 * mute NICK [DURATION]: a mute is held against the nick, so one who is
 * not connected now can be muted too, for when the nick comes back.
 */
void
control_admin_mute(struct control_client *c, struct cmd_args *args)
{
	const char	*nick = args->word[0];
	struct session	*s = session_find_client(nick);
	time_t		 duration = 0, until;

	if (s == NULL && !name_nick_valid(nick)) {
		control_fail(c, CTL_E_INVALID, "%s is not a nick", nick);
		return;
	}
	if (args->nwords == 2 && (ctl_duration_parse(args->word[1],
	    &duration) == -1 || duration == 0)) {
		control_fail(c, CTL_E_INVALID, "%s is not a duration (e.g. "
		    "90, 90s, 15m, 2h, 7d)", args->word[1]);
		return;
	}
	until = duration > 0 ? time(NULL) + duration : 0;
	if (s != NULL) {
		s->muted = 1;
		s->muted_until = until;
		nick = s->nick;
		admin_notice(s, "an operator has muted you: you cannot speak "
		    "for now");
	}
	mute_add(nick, until);
	control_reply(c, json_pack("{s:s, s:o, s:b}", "muted", nick, "until",
	    control_time(until), "connected", s != NULL));
}

/* unmute NICK: the client with it, or the mute held for it, or both. */
void
control_admin_unmute(struct control_client *c, struct cmd_args *args)
{
	struct session	*s = session_find_client(args->word[0]);
	char		 nick[NAME_NICK_MAX + 1];

	if (s == NULL) {
		if (mute_del(args->word[0], nick, sizeof nick) == -1)
			control_fail(c, CTL_E_NO_SUCH_NICK, "no one is called "
			    "%s, and no mute is held for it", args->word[0]);
		else
			control_reply(c, json_pack("{s:s}", "unmuted", nick));
		return;
	}
	if (session_is_muted(s))
		admin_notice(s, "an operator has unmuted you: you may speak "
		    "again");
	s->muted = 0;
	mute_del(s->nick, NULL, 0);
	control_reply(c, json_pack("{s:s}", "unmuted", s->nick));
}

static void
admin_mute_row(const struct mute *m, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:o, s:o, s:b}", "nick",
	    m->nick, "added", control_time(m->added), "expires",
	    control_time(m->expires), "connected", session_find_client(m->nick)
	    != NULL));
}

/* mutes: the mutes held, connected or not. */
void
control_admin_mutes(struct control_client *c, struct cmd_args *args)
{
	json_t	*list = json_array();

	mute_foreach(admin_mute_row, list);
	control_reply(c, json_pack("{s:o}", "mutes", list));
}

void
control_admin_say(struct control_client *c, struct cmd_args *args)
{
	struct room	*r = control_admin_room(c, args->word[0]);
	char		*text;

	if (r == NULL || (text = admin_text(c, args->rest)) == NULL)
		return;
	stats.messages++;
	room_say(r, control_tail_operator(), MSG_SAY, text);
	control_reply(c, json_pack("{s:s}", "said_in", r->name));
	free(text);
}

void
control_admin_announce(struct control_client *c, struct cmd_args *args)
{
	char	*text;

	if ((text = admin_text(c, args->rest)) == NULL)
		return;
	control_reply(c, json_pack("{s:I}", "announced_to",
	    (json_int_t)control_admin_broadcast(text)));
	free(text);
}

void
control_admin_msg(struct control_client *c, struct cmd_args *args)
{
	struct session	*to = admin_user(c, args->word[0]);
	struct session	*op = control_tail_operator();
	struct msg	*m;
	char		*text;

	if (to == NULL || (text = admin_text(c, args->rest)) == NULL)
		return;
	stats.messages++;
	m = msg_new(MSG_PRIVATE, NULL, op->nick, to->nick, text);
	session_deliver(to, m);
	session_deliver(op, m);	/* the operator's echo, for tail */
	msg_unref(m);
	control_reply(c, json_pack("{s:s}", "sent_to", to->nick));
	free(text);
}

void
control_admin_topic(struct control_client *c, struct cmd_args *args)
{
	struct room	*r = control_admin_room(c, args->word[0]);
	char		*text;

	if (r == NULL || (text = admin_text(c, args->rest)) == NULL)
		return;
	if (room_set_topic(r, control_tail_operator(), text) != CHAT_OK)
		control_fail(c, CTL_E_INVALID, "a topic may be at most %d "
		    "bytes", TOPIC_MAX);
	else
		control_reply(c, json_pack("{s:s, s:o}", "room", r->name,
		    "topic", control_string(r->topic)));
	free(text);
}

void
control_admin_close(struct control_client *c, struct cmd_args *args)
{
	struct room	*r = control_admin_room(c, args->word[0]);
	json_t		*result;
	char		*reason;

	if (r == NULL)
		return;
	reason = admin_reason(args->rest, "closed by an operator");
	log_notice("control: closing %s (%zu members)", r->name, r->nmembers);
	result = json_pack("{s:s, s:I}", "closed", r->name, "members",
	    (json_int_t)r->nmembers);
	room_close(r, reason);	/* r may be gone after this */
	control_reply(c, result);
	free(reason);
}
