/*
 * IRC operators' commands: OPER, with the oper lines of the config
 * (oper.c), and KILL, chatctl kick's power for IRC.  An operator also has
 * an operator's powers in every room (room-mode.c, session->oper).
 */
#include <stdio.h>

#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "log.h"
#include "oper.h"
#include "session.h"
#include "stats.h"

void
irc_cmd_oper(struct conn *c, struct irc_message *m)
{
	struct session	*s = c->session;

	switch (oper_check(m->params[0], m->params[1])) {
	case OPER_OK:
		s->oper = 1;
		log_notice("irc: %s (%s) is now operator %s", s->nick,
		    conn_address(c), m->params[0]);
		irc_reply(c, "381", ":You are now an IRC operator");
		conn_printf(c, ":%s MODE %s :+o\r\n", s->nick, s->nick);
		break;
	case OPER_DENIED:
		log_warnx("irc: %s (%s) failed OPER as %s", s->nick,
		    conn_address(c), m->params[0]);
		irc_reply(c, "464", ":Password incorrect");
		break;
	case OPER_BUSY:
		irc_reply(c, "491", ":No OPER now: too many attempts on the "
		    "server, try again in a second");
		break;
	}
}

/* KILL nick [reason]: the client is closed as chatctl kick closes one. */
void
irc_cmd_kill(struct conn *c, struct irc_message *m)
{
	struct session	*who = session_find_client(m->params[0]);
	char		 reason[IRC_TEXT_MAX];

	if (!c->session->oper) {
		irc_reply(c, "481", ":Permission Denied- You're not an IRC "
		    "operator");
		return;
	}
	if (who == NULL) {
		irc_reply(c, "401", "%.64s :No such nick/channel",
		    m->params[0]);
		return;
	}
	snprintf(reason, sizeof reason, "Killed by %s (%s)", c->session->nick,
	    m->nparams > 1 ? m->params[1] : "no reason");
	log_notice("irc: operator %s killed %s", c->session->nick, who->nick);
	stats.closed_kicked++;
	who->ops->close(who->client, "kicked", reason);
}
