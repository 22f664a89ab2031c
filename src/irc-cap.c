/*
 * IRCv3 capabilities (CAP LS, REQ, LIST, END) and presence (AWAY).  Each
 * capability listed is one chatd honours; what each changes is decided
 * where the lines are made (irc-format.c, irc-chan.c).  A client's
 * capabilities live in its struct irc_client (conn->proto_state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "listen.h"
#include "msg.h"
#include "room.h"
#include "session.h"
#include "text.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} irc_cap_table[] = {
	{ "away-notify", IRC_CAP_AWAY_NOTIFY },
	{ "batch", IRC_CAP_BATCH },
	{ "cap-notify", IRC_CAP_NOTIFY },
	{ "chghost", IRC_CAP_CHGHOST },
	{ "draft/chathistory", IRC_CAP_CHATHISTORY },
	{ "echo-message", IRC_CAP_ECHO_MESSAGE },
	{ "extended-join", IRC_CAP_EXTENDED_JOIN },
	{ "invite-notify", IRC_CAP_INVITE_NOTIFY },
	{ "labeled-response", IRC_CAP_LABELED_RESPONSE },
	{ "message-tags", IRC_CAP_MESSAGE_TAGS },
	{ "multi-prefix", IRC_CAP_MULTI_PREFIX },
	{ "server-time", IRC_CAP_SERVER_TIME },
	{ "setname", IRC_CAP_SETNAME },
	{ "userhost-in-names", IRC_CAP_USERHOST_NAMES },
};
#define NCAPS	(sizeof irc_cap_table / sizeof irc_cap_table[0])

/*
 * STS (LS 302 only, when irc-sts-duration is set): on TLS the policy's
 * duration, on plain text the TLS port to move to, if there is one.
 */
static const char *
irc_sts(const struct conn *c)
{
	static char	sts[48];
	size_t		duration = irc_sts_duration();
	uint16_t	port;

	if (duration == 0)
		return "";
	if (c->tls)
		snprintf(sts, sizeof sts, " sts=duration=%zu", duration);
	else if ((port = listen_port(&irc_protocol, 1)) != 0)
		snprintf(sts, sizeof sts, " sts=port=%u", port);
	else
		return "";
	return sts;
}

unsigned
irc_caps(const struct conn *c)
{
	const struct irc_client	*ic = c->proto_state;

	return ic != NULL ? ic->caps : 0;
}

/* The names of the capabilities in bits, space separated. */
static void
irc_cap_names(unsigned bits, char *buf, size_t size)
{
	size_t	i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < NCAPS; i++)
		if (bits & irc_cap_table[i].bit)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
			    len > 0 ? " " : "", irc_cap_table[i].name);
}

static unsigned
irc_cap_bit(const char *name)
{
	size_t	i;

	for (i = 0; i < NCAPS; i++)
		if (strcmp(irc_cap_table[i].name, name) == 0)
			return irc_cap_table[i].bit;
	return 0;
}

/* CAP REQ: all of the list, or none of it (NAK). */
static void
irc_cap_req(struct conn *c, char *list)
{
	struct irc_client	*ic = c->proto_state;
	unsigned		 add = 0, del = 0, bit;
	char			*name, *save = NULL, copy[IRC_TEXT_MAX + 1];
	int			 off;

	snprintf(copy, sizeof copy, "%s", list);
	for (name = strtok_r(list, " ", &save); name != NULL;
	    name = strtok_r(NULL, " ", &save)) {
		off = name[0] == '-';
		if ((bit = irc_cap_bit(name + off)) == 0) {
			conn_printf(c, ":%s CAP %s NAK :%.400s\r\n",
			    irc_server_name(), irc_nick(c), copy);
			return;
		}
		if (off)
			del |= bit;
		else
			add |= bit;
	}
	ic->caps = (ic->caps | add) & ~del;
	conn_printf(c, ":%s CAP %s ACK :%.400s\r\n", irc_server_name(),
	    irc_nick(c), copy);
}

void
irc_cmd_cap(struct conn *c, struct irc_message *m)
{
	struct irc_client	*ic = c->proto_state;
	const char		*sub = m->params[0];
	char			 names[256];
	int			 held = !(c->proto_flags & IRC_WELCOMED);

	if (strcasecmp(sub, "LS") == 0) {
		if (held)
			c->proto_flags |= IRC_CAP_HELD;
		if (m->nparams > 1 && atoi(m->params[1]) >= 302)
			ic->caps |= IRC_CAP_NOTIFY;
		irc_cap_names(~0u, names, sizeof names);
		conn_printf(c, ":%s CAP %s LS :%s%s\r\n", irc_server_name(),
		    irc_nick(c), names, ic->caps & IRC_CAP_NOTIFY ?
		    irc_sts(c) : "");
	} else if (strcasecmp(sub, "LIST") == 0) {
		irc_cap_names(ic->caps, names, sizeof names);
		conn_printf(c, ":%s CAP %s LIST :%s\r\n", irc_server_name(),
		    irc_nick(c), names);
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (held)
			c->proto_flags |= IRC_CAP_HELD;
		irc_cap_req(c, m->nparams > 1 ? m->params[1] : (char *)"");
	} else if (strcasecmp(sub, "END") == 0) {
		c->proto_flags &= ~IRC_CAP_HELD;
		irc_try_welcome(c);
	} else
		irc_reply(c, "410", "%.32s :Invalid CAP command", sub);
}

/*
 * AWAY [text]: 306 or 305, and an AWAY line to the clients that share a
 * room and asked for away-notify; who messages or WHOISes an away client
 * is told why (301).
 */
void
irc_cmd_away(struct conn *c, struct irc_message *m)
{
	struct session	*s = c->session;
	const char	*text = m->nparams > 0 ? m->params[0] : "";
	struct msg	*msg;
	size_t		 n = strlen(text);

	if (n == 0 && s->away == NULL) {
		irc_reply(c, "305", ":You are no longer marked as being away");
		return;
	}
	free(s->away);
	s->away = NULL;
	if (n > 0)
		s->away = xstrndup(text, text_utf8_truncate(text, n,
		    AWAY_MAX));
	msg = msg_new(MSG_AWAY, NULL, s->nick, NULL, s->away);
	room_fanout_neighbours(s, msg, 0);
	msg_unref(msg);
	if (s->away != NULL)
		irc_reply(c, "306", ":You have been marked as being away");
	else
		irc_reply(c, "305", ":You are no longer marked as being away");
}

/* A real name as IRC shows it: the nick until one is given. */
const char *
irc_realname(const struct session *s)
{
	return s->realname != NULL ? s->realname : s->nick;
}

/* USER's or SETNAME's real name, cut at a character to REALNAME_MAX. */
void
irc_set_realname(struct session *s, const char *name)
{
	free(s->realname);
	s->realname = xstrndup(name, text_utf8_truncate(name, strlen(name),
	    REALNAME_MAX));
}

/*
 * SETNAME :real name: the client and the clients that share a room with
 * it and asked for setname are told (setname's own echo is the outcome).
 */
void
irc_cmd_setname(struct conn *c, struct irc_message *m)
{
	struct msg	*msg;

	if (*m->params[0] == '\0') {
		conn_printf(c, ":%s FAIL SETNAME INVALID_REALNAME :A real name "
		    "is 1 to %d bytes\r\n", irc_server_name(), REALNAME_MAX);
		return;
	}
	irc_set_realname(c->session, m->params[0]);
	msg = msg_new(MSG_SETNAME, NULL, c->session->nick, NULL,
	    c->session->realname);
	room_fanout_neighbours(c->session, msg, 1);
	msg_unref(msg);
}
