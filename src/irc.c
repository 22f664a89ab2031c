/*
 * The IRC protocol (chatd-irc(7)): registration, the command table, and
 * the commands about the client and the server.  An IRC client gets a
 * session (a guest nick, in no room) as soon as it connects, so every
 * limit, ban and admin verb applies to it from its first line; it sees
 * nothing of the chat until it is registered (NICK, USER, and CAP END if
 * it began capability negotiation), and then joins the default room like a
 * line client.  Rooms and messages are irc-chan.c's; rendering is
 * irc-format.c's.
 */
#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ban.h"
#include "config.h"
#include "conn.h"
#include "irc-parse.h"
#include "metrics.h"
#include "irc.h"
#include "msg.h"
#include "name.h"
#include "protocol.h"
#include "room.h"
#include "room-mode.h"
#include "session.h"
#include "stats.h"
#include "text.h"
#include "version.h"
#include "xmalloc.h"

#define NEEDS_WELCOME	0x1	/* irc_command flags: 451 before it */
#define TAKES_TEXT	0x2	/* the second param is message text */
#define LISTING		0x4	/* costs IRC_LISTING_COST at the least */

/*
 * Tokens of the flood bucket a listing or search (WHO, NAMES, LIST; later
 * CHATHISTORY) costs at the least, chatd-irc(7): with the default bucket
 * (flood-burst 20, flood-rate 10) four in a row, then two a second, where
 * chat gets ten.  A big answer costs more anyway, by its bytes
 * (conn-input.c).
 */
#define IRC_LISTING_COST	5

struct irc_command {
	const char	*name;
	size_t		 min_params;
	int		 flags;
	void		(*run)(struct conn *, struct irc_message *);
};

static const struct config	*irc_config;
static char			 irc_created[64];	/* for 003 */
static char			 irc_epoch[24];	/* msgid: this run's prefix */

/* "*" until the client has given a nick, as IRC replies say. */
const char *
irc_nick(const struct conn *c)
{
	return c->proto_flags & IRC_NICK_GIVEN ? c->session->nick : "*";
}

const char *
irc_server_name(void)
{
	return irc_config->server_name;
}

size_t
irc_sts_duration(void)
{
	return irc_config->irc_sts_duration;
}

/* irc-monitor-max: MONITOR= */
size_t
irc_monitor_max(void)
{
	return irc_config->irc_monitor_max;
}

/* ":server NUMERIC nick TEXT\r\n", TEXT cut (at a character) to fit. */
void
irc_reply(struct conn *c, const char *numeric, const char *fmt, ...)
{
	char	line[IRC_TEXT_MAX + 1];
	va_list	ap;
	int	n, k;

	n = snprintf(line, sizeof line, ":%s %s %s ", irc_server_name(),
	    numeric, irc_nick(c));
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	/* Cut short of what vsnprintf wrote, so no character is split. */
	if ((size_t)(n + k) >= sizeof line)
		k = (int)text_utf8_truncate(line + n, strlen(line + n),
		    sizeof line - (size_t)n - 2);
	if (numeric[0] == '4')
		metrics_count_error(c->proto->name, numeric);
	conn_printf(c, "%.*s\r\n", n + k, line);
}

void
irc_need_more_params(struct conn *c, const char *command)
{
	irc_reply(c, "461", "%s :Not enough parameters", command);
}

static void
irc_send_motd(struct conn *c)
{
	size_t	i;

	if (irc_config->nmotd == 0) {
		irc_reply(c, "422", ":MOTD File is missing");
		return;
	}
	irc_reply(c, "375", ":- %s Message of the day - ", irc_server_name());
	for (i = 0; i < irc_config->nmotd; i++)
		irc_reply(c, "372", ":- %s", irc_config->motd[i]);
	irc_reply(c, "376", ":End of /MOTD command.");
}

static void
irc_send_lusers(struct conn *c)
{
	irc_reply(c, "251", ":There are %zu users and 0 invisible on 1 "
	    "servers", conn_count());
	irc_reply(c, "254", "%zu :channels formed", room_count());
	irc_reply(c, "255", ":I have %zu clients and 0 servers",
	    conn_count());
}

/* Registration is complete once NICK and USER are in and CAP is done. */
void
irc_try_welcome(struct conn *c)
{
	const unsigned	need = IRC_NICK_GIVEN | IRC_USER_GIVEN;
	const char	*nick = c->session->nick;

	if ((c->proto_flags & (need | IRC_CAP_HELD | IRC_WELCOMED)) != need)
		return;
	c->proto_flags |= IRC_WELCOMED;
	conn_timers_changed(c);		/* no registration deadline now */
	irc_reply(c, "001", ":Welcome to the chatd IRC network, %s", nick);
	irc_reply(c, "002", ":Your host is %s, running version chatd-%s",
	    irc_server_name(), CHATD_VERSION);
	irc_reply(c, "003", ":This server was created %s", irc_created);
	irc_reply(c, "004", "%s chatd-%s il biklmnotv bklov", irc_server_name(),
	    CHATD_VERSION);
	irc_reply(c, "005", "CASEMAPPING=ascii CHANTYPES=# CHANNELLEN=%d "
	    "NICKLEN=%d TOPICLEN=%d AWAYLEN=%d PREFIX=(ov)@+ "
	    "CHANMODES=b,k,l,imnt MODES=%d :are supported by this server",
	    NAME_ROOM_MAX, NAME_NICK_MAX, TOPIC_MAX, AWAY_MAX,
	    ROOM_MODE_CHANGES_MAX);
	irc_reply(c, "005", "MAXLIST=b:%zu KEYLEN=%d "
	    "TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:,PART:,KICK:4,NAMES:1,WHOIS:1 "
	    "UTF8ONLY WHOX CHATHISTORY=%zu MSGREFTYPES=msgid,timestamp "
	    "MONITOR=%zu NAMELEN=%d NETWORK=chatd :are supported by this "
	    "server", room_mode_max_bans(), ROOM_KEY_MAX,
	    irc_config->irc_chathistory_max, irc_config->irc_monitor_max,
	    REALNAME_MAX);
	irc_send_lusers(c);
	irc_send_motd(c);
	if (irc_config->default_room != NULL)
		irc_join_one(c, irc_config->default_room);
}

static void
irc_cmd_nick(struct conn *c, struct irc_message *m)
{
	struct session		*s = c->session;
	const char		*nick = m->params[0];
	char			 old[NAME_NICK_MAX + 1];
	enum chat_result	 result;
	struct msg		*msg;

	if (m->nparams == 0 || *nick == '\0') {
		irc_reply(c, "431", ":No nickname given");
		return;
	}
	if ((c->proto_flags & IRC_NICK_GIVEN) && strcmp(s->nick, nick) == 0)
		return;		/* already so: nothing to say */
	memcpy(old, s->nick, sizeof old);
	if (!name_nick_valid(nick))
		result = CHAT_NICK_INVALID;
	else if (ban_match(NULL, nick) != NULL)
		result = CHAT_NICK_BANNED;
	else
		result = room_set_nick(s, nick);
	if (result == CHAT_NICK_TAKEN) {
		irc_reply(c, "433", "%s :Nickname is already in use", nick);
		return;
	}
	if (result != CHAT_OK) {
		irc_reply(c, "432", "%s :Erroneous nickname%s", nick,
		    result == CHAT_NICK_BANNED ? " (banned)" : "");
		return;
	}
	c->proto_flags |= IRC_NICK_GIVEN;
	if (!(c->proto_flags & IRC_WELCOMED)) {
		irc_try_welcome(c);
		return;
	}
	msg = msg_new(MSG_NICK, NULL, old, s->nick, NULL);
	room_fanout_neighbours(s, msg, 1);
	msg_unref(msg);
}

static void
irc_cmd_user(struct conn *c, struct irc_message *m)
{
	if (c->proto_flags & IRC_WELCOMED) {
		irc_reply(c, "462", ":You may not reregister");
		return;
	}
	c->proto_flags |= IRC_USER_GIVEN;
	if (*m->params[3] != '\0')
		irc_set_realname(c->session, m->params[3]);
	irc_try_welcome(c);
}

/* chatd has no server password: PASS is accepted and not checked. */
static void
irc_cmd_pass(struct conn *c, struct irc_message *m)
{
	if (c->proto_flags & IRC_WELCOMED)
		irc_reply(c, "462", ":You may not reregister");
}

static void
irc_cmd_ping(struct conn *c, struct irc_message *m)
{
	if (m->nparams == 0 || *m->params[0] == '\0') {
		irc_reply(c, "409", ":No origin specified");
		return;
	}
	conn_printf(c, ":%s PONG %s :%.400s\r\n", irc_server_name(),
	    irc_server_name(), m->params[0]);
}

static void
irc_cmd_pong(struct conn *c, struct irc_message *m)
{
}

/* Client-only tags (message-tags) are not relayed: TAGMSG does nothing. */
static void
irc_cmd_tagmsg(struct conn *c, struct irc_message *m)
{
}

static void
irc_cmd_quit(struct conn *c, struct irc_message *m)
{
	conn_close(c, "quit", m->nparams > 0 && *m->params[0] != '\0' ?
	    m->params[0] : "Client Quit");
}

static void
irc_cmd_motd(struct conn *c, struct irc_message *m)
{
	irc_send_motd(c);
}

static void
irc_cmd_lusers(struct conn *c, struct irc_message *m)
{
	irc_send_lusers(c);
}

static void
irc_cmd_version(struct conn *c, struct irc_message *m)
{
	irc_reply(c, "351", "chatd-%s %s :", CHATD_VERSION,
	    irc_server_name());
}

static void
irc_cmd_time(struct conn *c, struct irc_message *m)
{
	char		 now[64];
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%a %b %d %Y %H:%M:%S UTC", &tm);
	irc_reply(c, "391", "%s :%s", irc_server_name(), now);
}

/* ISON: which of the nicks are here, in the reply's 512 bytes. */
static void
irc_cmd_ison(struct conn *c, struct irc_message *m)
{
	char		 list[IRC_TEXT_MAX], *p, *word, *save = NULL;
	size_t		 i, len = 0;
	struct session	*s;

	list[0] = '\0';
	for (i = 0; i < m->nparams; i++) {
		for (p = m->params[i]; (word = strtok_r(p, " ", &save)) !=
		    NULL; p = NULL) {
			if ((s = session_find(word)) == NULL ||
			    len + strlen(s->nick) + 2 > 400)
				continue;
			len += (size_t)snprintf(list + len, sizeof list - len,
			    "%s%s", len > 0 ? " " : "", s->nick);
		}
	}
	irc_reply(c, "303", ":%s", list);
}

static void
irc_cmd_userhost(struct conn *c, struct irc_message *m)
{
	char		 list[IRC_TEXT_MAX];
	size_t		 i, len = 0;
	struct session	*s;

	list[0] = '\0';
	for (i = 0; i < m->nparams && i < 5; i++) {
		if ((s = session_find(m->params[i])) == NULL)
			continue;
		len += (size_t)snprintf(list + len, sizeof list - len,
		    "%s%s=+%s@%s", len > 0 ? " " : "", s->nick, s->nick,
		    irc_server_name());
	}
	irc_reply(c, "302", ":%s", list);
}

static void
irc_cmd_whois(struct conn *c, struct irc_message *m)
{
	const char	*nick = m->params[m->nparams - 1];
	struct session	*s = session_find_client(nick);
	char		 rooms[IRC_TEXT_MAX];
	size_t		 i, len = 0;

	if (s == NULL) {
		irc_reply(c, "401", "%s :No such nick/channel", nick);
		irc_reply(c, "318", "%s :End of /WHOIS list", nick);
		return;
	}
	irc_reply(c, "311", "%s %s %s * :%s", s->nick, s->nick,
	    irc_server_name(), irc_realname(s));
	irc_reply(c, "312", "%s %s :chatd", s->nick, irc_server_name());
	rooms[0] = '\0';
	for (i = 0; i < s->nrooms && len + NAME_ROOM_MAX + 2 < 400; i++)
		len += (size_t)snprintf(rooms + len, sizeof rooms - len,
		    "%s%s", len > 0 ? " " : "", s->rooms[i]->name);
	if (len > 0)
		irc_reply(c, "319", "%s :%s", s->nick, rooms);
	if (s->oper)
		irc_reply(c, "313", "%s :is an IRC operator", s->nick);
	if (s->away != NULL)
		irc_reply(c, "301", "%s :%s", s->nick, s->away);
	irc_reply(c, "317", "%s 0 %lld :seconds idle, signon time", s->nick,
	    (long long)s->since);
	irc_reply(c, "318", "%s :End of /WHOIS list", s->nick);
}

/* In name order, for bsearch. */
static const struct irc_command irc_commands[] = {
	{ "AWAY", 0, NEEDS_WELCOME, irc_cmd_away },
	{ "CAP", 1, 0, irc_cmd_cap },
	{ "CHATHISTORY", 3, NEEDS_WELCOME | LISTING, irc_cmd_chathistory },
	{ "INVITE", 2, NEEDS_WELCOME, irc_cmd_invite },
	{ "ISON", 1, NEEDS_WELCOME, irc_cmd_ison },
	{ "JOIN", 1, NEEDS_WELCOME, irc_cmd_join },
	{ "KICK", 2, NEEDS_WELCOME, irc_cmd_kick },
	{ "KILL", 1, NEEDS_WELCOME, irc_cmd_kill },
	{ "LIST", 0, NEEDS_WELCOME | LISTING, irc_cmd_list },
	{ "LUSERS", 0, NEEDS_WELCOME, irc_cmd_lusers },
	{ "MODE", 1, NEEDS_WELCOME, irc_cmd_mode },
	{ "MONITOR", 1, NEEDS_WELCOME, irc_cmd_monitor },
	{ "MOTD", 0, NEEDS_WELCOME, irc_cmd_motd },
	{ "NAMES", 0, NEEDS_WELCOME | LISTING, irc_cmd_names },
	{ "NICK", 0, 0, irc_cmd_nick },
	{ "NOTICE", 0, NEEDS_WELCOME | TAKES_TEXT, irc_cmd_notice },
	{ "OPER", 2, NEEDS_WELCOME, irc_cmd_oper },
	{ "PART", 1, NEEDS_WELCOME, irc_cmd_part },
	{ "PASS", 1, 0, irc_cmd_pass },
	{ "PING", 0, 0, irc_cmd_ping },
	{ "PONG", 0, 0, irc_cmd_pong },
	{ "PRIVMSG", 0, NEEDS_WELCOME | TAKES_TEXT, irc_cmd_privmsg },
	{ "QUIT", 0, 0, irc_cmd_quit },
	{ "SETNAME", 1, NEEDS_WELCOME, irc_cmd_setname },
	{ "TAGMSG", 1, NEEDS_WELCOME, irc_cmd_tagmsg },
	{ "TIME", 0, NEEDS_WELCOME, irc_cmd_time },
	{ "TOPIC", 1, NEEDS_WELCOME, irc_cmd_topic },
	{ "USER", 4, 0, irc_cmd_user },
	{ "USERHOST", 1, NEEDS_WELCOME, irc_cmd_userhost },
	{ "VERSION", 0, NEEDS_WELCOME, irc_cmd_version },
	{ "WHO", 0, NEEDS_WELCOME | LISTING, irc_cmd_who },
	{ "WHOIS", 1, NEEDS_WELCOME, irc_cmd_whois },
};

/*
 * Remove what irc_sanitize kept: formatting codes (with a colour's digits)
 * and CTCP markers.  chatd relays plain text, so that line clients and
 * chatctl tail see what IRC users see, less the styling.
 */
void
irc_plain(char *text)
{
	char	*p = text, *q = text;
	int	 k;

	while (*p != '\0') {
		if ((unsigned char)*p >= 0x20) {
			*q++ = *p++;
			continue;
		}
		if (*p++ != '\003')
			continue;
		for (k = 0; k < 2 && *p >= '0' && *p <= '9'; k++)
			p++;
		if (k > 0 && p[0] == ',' && p[1] >= '0' && p[1] <= '9')
			for (p++, k = 0; k < 2 && *p >= '0' && *p <= '9'; k++)
				p++;
	}
	*q = '\0';
}

/*
 * Timers (chatd-irc(7)).  Registration has a deadline, counted from the
 * connection (to the second, and never early: the second it came in may
 * have been almost over).
 */
static time_t
irc_deadline(const struct conn *c)
{
	if (c->proto_flags & IRC_WELCOMED)
		return 0;
	return c->since + (time_t)irc_config->irc_registration_timeout + 1;
}

static void
irc_expired(struct conn *c)
{
	stats.closed_registration++;
	conn_close(c, "registration-timeout", "Registration timed out");
}

/*
 * A client silent for irc-ping-interval is sent PING; silent for
 * irc-ping-timeout more, it is closed.  Any line it sends ends the wait.
 * This is IRC's idle-timeout: one that answers is never idle.
 */
static size_t
irc_silence(const struct conn *c)
{
	return c->proto_flags & IRC_PINGED ? irc_config->irc_ping_timeout :
	    irc_config->irc_ping_interval;
}

static void
irc_silent(struct conn *c)
{
	char	reason[64];

	if (!(c->proto_flags & IRC_PINGED)) {
		c->proto_flags |= IRC_PINGED;
		stats.pings_sent++;
		conn_printf(c, "PING :%s\r\n", irc_server_name());
		conn_timers_changed(c);
		return;
	}
	snprintf(reason, sizeof reason, "Ping timeout: %zu seconds",
	    irc_config->irc_ping_interval + irc_config->irc_ping_timeout);
	stats.closed_ping++;
	conn_close(c, "ping-timeout", reason);
}

/* A line came: the client is not silent. */
static void
irc_heard(struct conn *c)
{
	if (c->proto_flags & IRC_PINGED) {
		c->proto_flags &= ~IRC_PINGED;
		conn_timers_changed(c);
	}
}

static int
irc_command_compare(const void *key, const void *entry)
{
	return strcmp(key, ((const struct irc_command *)entry)->name);
}

/* A parsed message's command, or the numeric that says why not. */
static void
irc_dispatch(struct conn *c, struct irc_message *m, int parsed)
{
	const struct irc_command	*cmd;
	size_t				 i;

	if (!parsed) {
		/* A command that is neither letters nor three digits. */
		irc_plain(m->command);
		m->command[text_utf8_truncate(m->command, strlen(m->command),
		    32)] = '\0';
		irc_reply(c, "421", "%s :Unknown command",
		    *m->command != '\0' ? m->command : "*");
		return;
	}
	cmd = bsearch(m->command, irc_commands, sizeof irc_commands /
	    sizeof irc_commands[0], sizeof irc_commands[0],
	    irc_command_compare);
	if (cmd == NULL)
		irc_reply(c, "421", "%.32s :Unknown command", m->command);
	else if ((cmd->flags & NEEDS_WELCOME) &&
	    !(c->proto_flags & IRC_WELCOMED))
		irc_reply(c, "451", ":You have not registered");
	else if (m->nparams < cmd->min_params)
		irc_need_more_params(c, cmd->name);
	else {
		if (cmd->flags & LISTING)
			conn_line_costs(c, IRC_LISTING_COST);
		/* Message text is the command's: it may be CTCP. */
		for (i = 0; i < m->nparams; i++) {
			if (!(cmd->flags & TAKES_TEXT) || i != 1)
				irc_plain(m->params[i]);
		}
		cmd->run(c, m);
	}
}

/* One sanitized line; line[len] is writable. */
static void
irc_line(struct conn *c, char *line, size_t len)
{
	struct irc_message	m;
	int			parsed;

	irc_heard(c);
	parsed = irc_parse(line, len, &m) == 0;
	/* No command: ignored, as IRC says of an empty line (and of tags). */
	if (m.command == NULL)
		return;
	irc_label_begin(c, &m);
	irc_dispatch(c, &m, parsed);
	irc_label_end(c);
}

/*
 * IRC's limits are the wire's (Modern IRC; IRCv3 message-tags): up to
 * IRC_TAGS_MAX bytes of tags, the '@' and the space after them included,
 * then up to IRC_TEXT_MAX of message.  raw may hold NUL bytes.
 */
static int
irc_line_fits(const char *raw, size_t len)
{
	const char	*space;
	size_t		 tags = 0;

	if (len > 0 && raw[0] == '@') {
		space = memchr(raw, ' ', len);
		tags = space != NULL ? (size_t)(space - raw) + 1 : len;
	}
	return tags <= IRC_TAGS_MAX && len - tags <= IRC_TEXT_MAX;
}

static void
irc_line_too_long(struct conn *c, size_t max)
{
	irc_heard(c);
	irc_reply(c, "417", ":Input line was too long");
}

static const struct session_ops irc_session_ops = {
	.deliver = irc_deliver,
	.deliver_run = irc_deliver_run,
	.describe = conn_session_describe,
	.close = conn_session_close,
};

static void
irc_connected(struct conn *c)
{
	c->session = session_new(&irc_session_ops, c, ban_nick_refused);
	c->session->host = c->host;
	c->proto_state = xcalloc(1, sizeof(struct irc_client));
}

static void
irc_disconnected(struct conn *c, const char *reason)
{
	if (c->session == NULL)
		return;
	irc_monitor_clear(c);	/* told nothing of its own going */
	room_quit(c->session, reason);
	session_free(c->session);
	c->session = NULL;
	free(c->proto_state);
	c->proto_state = NULL;
}

/*
 * Tags may come before the 512 bytes of a message (IRCv3 message-tags),
 * so the framer allows both; irc_line judges each part.
 */
static size_t
irc_max_line(const struct config *config)
{
	return IRC_TAGS_MAX + IRC_TEXT_MAX;
}

/*
 * Keep what IRC gives meaning to: \001 (CTCP) and the formatting codes,
 * which irc-chan.c interprets or drops; the rest is text_sanitize's.
 */
static size_t
irc_sanitize(const char *in, size_t len, char *out)
{
	return text_sanitize_keeping(in, len, out, IRC_KEEP_CONTROLS);
}

/*
 * "ERROR :Closing Link: ADDRESS (reason)": the last line of every closed
 * IRC client (its session is gone by now; its address is its own).
 */
static void
irc_goodbye(struct conn *c, struct evbuffer *out, const char *code,
    const char *reason)
{
	evbuffer_add_printf(out, "ERROR :Closing Link: %s (%.400s)\r\n",
	    conn_address(c), reason);
}

/*
 * What a skipping client lost (user mode +l), as a NOTICE from the server
 * naming the channel and the msgids, which CHATHISTORY BETWEEN takes.
 */
static void
irc_skipped(struct conn *c, struct evbuffer *out, const char *room,
    uint64_t first, uint64_t last, size_t count)
{
	evbuffer_add_printf(out, ":%s NOTICE %s :Skipped %zu messages in %s "
	    "(you read too slowly): msgid=%s-%llu to msgid=%s-%llu\r\n",
	    irc_server_name(), irc_nick(c), count, room, irc_epoch,
	    (unsigned long long)first, irc_epoch, (unsigned long long)last);
}

static size_t
irc_refusal(char *buf, size_t size, const char *code, const char *reason)
{
	return text_format_line(buf, size, "ERROR :%s", reason);
}

/* What an IRC client's own state holds: its capabilities, MONITOR, AWAY. */
static size_t
irc_held(const struct conn *c)
{
	const struct irc_client	*ic = c->proto_state;

	if (ic == NULL)
		return 0;
	return sizeof *ic + irc_monitor_held(ic) + (c->session != NULL &&
	    c->session->away != NULL ? strlen(c->session->away) + 1 : 0) +
	    (c->session != NULL && c->session->realname != NULL ?
	    strlen(c->session->realname) + 1 : 0);
}

static const char *
irc_client_name(const struct conn *c)
{
	return c->session != NULL ? c->session->nick : "-";
}

void
irc_configure(const struct config *config)
{
	time_t		t;
	struct tm	tm;
	size_t		i;

	irc_config = config;
	for (i = 1; i < sizeof irc_commands / sizeof irc_commands[0]; i++)
		if (strcmp(irc_commands[i - 1].name, irc_commands[i].name) >= 0)
			fatalx("irc_commands: %s is out of order (bsearch)",
			    irc_commands[i].name);
	irc_history_configure(config);
	irc_monitor_init();
	if (irc_created[0] == '\0') {
		t = time(NULL);
		gmtime_r(&t, &tm);
		strftime(irc_created, sizeof irc_created, "%Y-%m-%d %H:%M:%S "
		    "UTC", &tm);
		snprintf(irc_epoch, sizeof irc_epoch, "%llx",
		    (unsigned long long)t);
	}
}

/*
 * A msgid is the start time of this run of the daemon and the message's
 * number in it, so ids stay unique across restarts (msg.c counts from 1).
 */
const char *
irc_msgid_epoch(void)
{
	return irc_epoch;
}

const struct protocol irc_protocol = {
	.name = "irc",
	.slot = PROTOCOL_IRC,
	.max_line = irc_max_line,
	.sanitize = irc_sanitize,
	.connected = irc_connected,
	.line = irc_line,
	.line_fits = irc_line_fits,
	.line_too_long = irc_line_too_long,
	.disconnected = irc_disconnected,
	.goodbye = irc_goodbye,
	.skipped = irc_skipped,
	.refusal = irc_refusal,
	.client_name = irc_client_name,
	.held = irc_held,
	.deadline = irc_deadline,
	.expired = irc_expired,
	.silence = irc_silence,
	.silent = irc_silent,
};
