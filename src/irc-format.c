/*
 * How chat events look to IRC clients.  Like the line protocol's, each
 * event is rendered once, by its first delivery to an IRC client, and the
 * rendering is shared by every IRC recipient.  An IRC line is at most 512
 * bytes, CRLF included, and a line client may say up to max-line: longer
 * text becomes several PRIVMSG (or NOTICE) lines, cut between characters,
 * at a space where one is near.  Every sender is shown as nick!nick@server:
 * no client's address is shown to others, in either protocol.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "irc.h"
#include "log.h"
#include "msg.h"
#include "text.h"

#define IRC_SPLIT_BACK	64	/* how far back a cut looks for a space */

/* "nick!nick@server", or the server's name for @operator; its length. */
size_t
irc_source(const char *nick, char *buf, size_t size)
{
	int	n;

	if (nick[0] == '@')	/* not a nick: the server speaks */
		n = snprintf(buf, size, "%s", irc_server_name());
	else
		n = snprintf(buf, size, "%s!%s@%s", nick, nick,
		    irc_server_name());
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

/*
 * "PREFIX TEXT SUFFIX\r\n", as many lines as TEXT needs for each to fit
 * IRC_TEXT_MAX.  An empty text still makes one line.
 */
static void
irc_add_split(struct evbuffer *out, const char *prefix, const char *text,
    const char *suffix)
{
	size_t	room = IRC_TEXT_MAX - strlen(prefix) - strlen(suffix);
	size_t	len = strlen(text), n, k;

	do {
		n = len;
		if (n > room) {
			n = text_utf8_truncate(text, len, room);
			for (k = n; k > 0 && n - k < IRC_SPLIT_BACK; k--) {
				if (text[k - 1] == ' ') {
					n = k;
					break;
				}
			}
		}
		evbuffer_add_printf(out, "%s%.*s%s\r\n", prefix, (int)n, text,
		    suffix);
		text += n;
		len -= n;
	} while (len > 0);
}

/* ":source VERB target :text" lines (PRIVMSG, NOTICE, and CTCP ACTION). */
static void
irc_add_text(struct evbuffer *out, const char *source, const char *verb,
    const char *target, const char *text, int action)
{
	char	prefix[IRC_TEXT_MAX];

	snprintf(prefix, sizeof prefix, ":%s %s %s :%s", source, verb, target,
	    action ? "\001ACTION " : "");
	irc_add_split(out, prefix, text, action ? "\001" : "");
}

/* One line with a reason or a topic, cut at a character to fit. */
static void
irc_add_cut(struct evbuffer *out, const char *prefix, const char *text)
{
	size_t	room = IRC_TEXT_MAX - strlen(prefix);

	evbuffer_add_printf(out, "%s%.*s\r\n", prefix,
	    (int)text_utf8_truncate(text, strlen(text), room), text);
}

static void
irc_render(const struct msg *m, struct evbuffer *out)
{
	char	src[IRC_TEXT_MAX / 2], prefix[IRC_TEXT_MAX];

	irc_source(m->from, src, sizeof src);
	switch (m->kind) {
	case MSG_SAY:
	case MSG_ACTION:
		irc_add_text(out, src, "PRIVMSG", m->room, m->text,
		    m->kind == MSG_ACTION);
		break;
	case MSG_ROOM_NOTICE:
		irc_add_text(out, src, "NOTICE", m->room, m->text, 0);
		break;
	case MSG_PRIVATE:
		irc_add_text(out, src, "PRIVMSG", m->to, m->text, 0);
		break;
	case MSG_PRIVATE_NOTICE:
		irc_add_text(out, src, "NOTICE", m->to, m->text, 0);
		break;
	case MSG_NOTICE:
		irc_add_text(out, src, "NOTICE", "*", m->text, 0);
		break;
	case MSG_JOIN:
		evbuffer_add_printf(out, ":%s JOIN %s\r\n", src, m->room);
		break;
	case MSG_PART:
		if (*m->text == '\0') {
			evbuffer_add_printf(out, ":%s PART %s\r\n", src,
			    m->room);
			break;
		}
		snprintf(prefix, sizeof prefix, ":%s PART %s :", src, m->room);
		irc_add_cut(out, prefix, m->text);
		break;
	case MSG_QUIT:
		snprintf(prefix, sizeof prefix, ":%s QUIT :", src);
		irc_add_cut(out, prefix, m->text);
		break;
	case MSG_NICK:
		evbuffer_add_printf(out, ":%s NICK %s\r\n", src, m->to);
		break;
	case MSG_TOPIC:
		snprintf(prefix, sizeof prefix, ":%s TOPIC %s :", src,
		    m->room);
		irc_add_cut(out, prefix, m->text);
		break;
	case MSG_MODE:
		evbuffer_add_printf(out, ":%s MODE %s %s\r\n", src, m->room,
		    m->text);
		break;
	case MSG_KICK:
		snprintf(prefix, sizeof prefix, ":%s KICK %s %s :", src,
		    m->room, m->to);
		irc_add_cut(out, prefix, m->text);
		break;
	case MSG_INVITE:
		evbuffer_add_printf(out, ":%s INVITE %s %s\r\n", src, m->to,
		    m->room);
		break;
	}
}

void
irc_format_msg(struct msg *m)
{
	struct evbuffer	*out;
	struct msg_wire	*w;

	if (m->wire[PROTOCOL_IRC] != NULL)
		return;
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	irc_render(m, out);
	w = msg_wire_new(evbuffer_get_length(out));
	evbuffer_remove(out, w->data, w->len);
	evbuffer_free(out);
	m->wire[PROTOCOL_IRC] = w;
}
