/*
 * How chat events look to IRC clients.  Like the line protocol's, each
 * event is rendered once, by its first delivery to an IRC client, and the
 * rendering is shared by every IRC recipient.  An IRC line is at most 512
 * bytes, CRLF included, and a line client may say up to max-line: longer
 * text becomes several PRIVMSG (or NOTICE) lines, cut between characters,
 * at a space where one is near.  Every sender is shown as nick!nick@server:
 * no client's address is shown to others, in either protocol.  A fan-out
 * run (room.c) is rendered once for all the IRC members of the room, as the
 * line protocol does, so that each member gets it with one append.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "irc.h"
#include "log.h"
#include "msg.h"
#include "room.h"
#include "session.h"
#include "text.h"
#include "xmalloc.h"

#define IRC_SPLIT_BACK	64	/* how far back a cut looks for a space */
#define IRC_RUN_SPEAKERS 8	/* speakers of a run, kept to test members */

#define IRC_NSLOTS	(PROTOCOL_IRC_TAGS - PROTOCOL_IRC + 1)

/*
 * What a client reads is one of IRC_NVARIANTS renderings: a slot (the
 * kind of tags), and whether JOIN carries extended-join's real name.
 */
#define IRC_NVARIANTS	(2 * IRC_NSLOTS)
#define IRC_SLOT(v)	((enum protocol_slot)(PROTOCOL_IRC + (v) % IRC_NSLOTS))
#define IRC_EXTENDED(v)	((v) >= IRC_NSLOTS)

/*
 * The fan-out run being delivered: its renderings (made when a member
 * first needs one), shared by the members who said none of it, and who
 * said any of it (NULL speakers[0]: too many to keep; each member's lines
 * are then tested one by one).
 */
static struct {
	uint64_t	 serial;
	struct msg_wire	*wire[IRC_NVARIANTS];
	int		 made[IRC_NVARIANTS];
	int		 has_join;	/* else extended-join changes nothing */
	const char	*speakers[IRC_RUN_SPEAKERS];
	size_t		 nspeakers;
} irc_run;

/*
 * The JOIN last rendered for extended-join, in each slot: a JOIN is
 * delivered to its room at once, so one kept serves all its members, and
 * struct msg needs no slots for the few clients that ask for it.
 */
static struct {
	uint64_t	 id;
	struct msg_wire	*wire[IRC_NSLOTS];
} irc_ext_join;

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

/* m as IRC lines; extended: a JOIN with the real name (extended-join). */
static void
irc_render(const struct msg *m, int extended, struct evbuffer *out)
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
		if (extended)	/* no accounts: "*" */
			evbuffer_add_printf(out, ":%s JOIN %s * :%s\r\n", src,
			    m->room, *m->text != '\0' ? m->text : m->from);
		else
			evbuffer_add_printf(out, ":%s JOIN %s\r\n", src,
			    m->room);
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
	case MSG_SETNAME:
		snprintf(prefix, sizeof prefix, ":%s SETNAME :", src);
		irc_add_cut(out, prefix, m->text);
		break;
	case MSG_AWAY:
		if (*m->text == '\0')
			evbuffer_add_printf(out, ":%s AWAY\r\n", src);
		else {
			snprintf(prefix, sizeof prefix, ":%s AWAY :", src);
			irc_add_cut(out, prefix, m->text);
		}
		break;
	}
}

/* Which rendering c reads: what its capabilities ask for. */
static unsigned
irc_variant(const struct conn *c)
{
	unsigned	caps = irc_caps(c);
	unsigned	slot = caps & IRC_CAP_MESSAGE_TAGS ? PROTOCOL_IRC_TAGS :
	    caps & IRC_CAP_SERVER_TIME ? PROTOCOL_IRC_TIME : PROTOCOL_IRC;

	return slot - PROTOCOL_IRC +
	    (caps & IRC_CAP_EXTENDED_JOIN ? IRC_NSLOTS : 0);
}

/* "2026-12-03T12:39:28.961Z": m's time as server-time writes it. */
size_t
irc_time_tag(const struct msg *m, char *buf, size_t size)
{
	struct tm	tm;
	size_t		n;

	gmtime_r(&m->time, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(buf + n, size - n, ".%03uZ", m->time_ms);
}

/* "time=...;msgid=..." (or only the time), with a batch's reference. */
size_t
irc_msg_tags(const struct msg *m, int with_msgid, const char *batch,
    char *buf, size_t size)
{
	size_t	n = 0;

	if (batch != NULL)
		n = (size_t)snprintf(buf, size, "batch=%s;", batch);
	n += (size_t)snprintf(buf + n, size - n, "time=");
	n += irc_time_tag(m, buf + n, size - n);
	if (with_msgid)
		n += (size_t)snprintf(buf + n, size - n, ";msgid=%s-%llu",
		    irc_msgid_epoch(), (unsigned long long)m->id);
	return n;
}

/* "@TAGS " before every line of plain (len bytes), into out. */
static size_t
irc_prefix_lines(const char *plain, size_t len, const char *tags,
    char *out)
{
	size_t	n = strlen(tags), i, k, o = 0;

	for (i = 0; i < len; i = k) {
		k = i + (size_t)((const char *)memchr(plain + i, '\n', len - i) -
		    (plain + i)) + 1;
		if (out != NULL) {
			out[o] = '@';
			memcpy(out + o + 1, tags, n);
			out[o + 1 + n] = ' ';
			memcpy(out + o + n + 2, plain + i, k - i);
		}
		o += n + 2 + k - i;
	}
	return o;
}

/* A plain rendering of m with the tags of slot before every line. */
static struct msg_wire *
irc_tag_lines(const struct msg *m, const struct msg_wire *plain,
    enum protocol_slot slot)
{
	struct msg_wire		*w;
	char			 tags[128];

	irc_msg_tags(m, slot == PROTOCOL_IRC_TAGS, NULL, tags, sizeof tags);
	w = msg_wire_new(irc_prefix_lines(plain->data, plain->len, tags,
	    NULL));
	irc_prefix_lines(plain->data, plain->len, tags, w->data);
	return w;
}

/*
 * m for one client alone (CHATHISTORY): its lines, each with the tags,
 * appended to out.  Nothing is kept with m: scrollback holds strings only.
 */
void
irc_add_tagged(struct evbuffer *out, const struct msg *m, const char *tags)
{
	struct evbuffer	*plain;
	size_t		 len, n;
	char		*lines, *tagged;

	if (*tags == '\0') {
		irc_render(m, 0, out);
		return;
	}
	if ((plain = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	irc_render(m, 0, plain);
	len = evbuffer_get_length(plain);
	lines = (char *)evbuffer_pullup(plain, -1);
	n = irc_prefix_lines(lines, len, tags, NULL);
	tagged = xmalloc(n);
	irc_prefix_lines(lines, len, tags, tagged);
	evbuffer_add(out, tagged, n);
	free(tagged);
	evbuffer_free(plain);
}

/* m rendered plain (without tags). */
static struct msg_wire *
irc_render_wire(const struct msg *m, int extended)
{
	struct evbuffer	*out;
	struct msg_wire	*w;

	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	irc_render(m, extended, out);
	w = msg_wire_new(evbuffer_get_length(out));
	evbuffer_remove(out, w->data, w->len);
	evbuffer_free(out);
	return w;
}

/*
 * m as variant v renders it, made by its first delivery there: kept with
 * m, or for an extended JOIN in irc_ext_join.
 */
static struct msg_wire *
irc_wire(struct msg *m, unsigned v)
{
	enum protocol_slot	  slot = IRC_SLOT(v);
	struct msg_wire		**wire = m->wire + PROTOCOL_IRC;
	size_t			  i;

	if (IRC_EXTENDED(v) && m->kind == MSG_JOIN) {
		if (irc_ext_join.id != m->id) {
			for (i = 0; i < IRC_NSLOTS; i++) {
				msg_wire_unref(irc_ext_join.wire[i]);
				irc_ext_join.wire[i] = NULL;
			}
			irc_ext_join.id = m->id;
		}
		wire = irc_ext_join.wire;
	}
	if (wire[0] == NULL)
		wire[0] = irc_render_wire(m, IRC_EXTENDED(v));
	if (wire[slot - PROTOCOL_IRC] == NULL)
		wire[slot - PROTOCOL_IRC] = irc_tag_lines(m, wire[0], slot);
	return wire[slot - PROTOCOL_IRC];
}

/* Whether m is s's own line, which it gets back only with echo-message. */
static int
irc_own(const struct session *s, const struct msg *m)
{
	if (irc_caps(s->client) & IRC_CAP_ECHO_MESSAGE)
		return 0;
	switch (m->kind) {
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_ROOM_NOTICE:
		return strcmp(m->from, s->nick) == 0;
	case MSG_PRIVATE:
	case MSG_PRIVATE_NOTICE:
		return strcmp(m->from, s->nick) == 0 &&
		    strcmp(m->to, s->nick) != 0;
	default:
		return 0;
	}
}

/* Whether s's client is sent m: not before it is registered, not its own
 * lines, and others' AWAY and INVITE only if it asked for them. */
static int
irc_wants(const struct session *s, const struct msg *m)
{
	unsigned	caps = irc_caps(s->client);

	if (!(((const struct conn *)s->client)->proto_flags & IRC_WELCOMED))
		return 0;
	if (m->kind == MSG_AWAY)
		return (caps & IRC_CAP_AWAY_NOTIFY) != 0;
	if (m->kind == MSG_SETNAME)
		return (caps & IRC_CAP_SETNAME) != 0;
	if (m->kind == MSG_INVITE && strcmp(m->to, s->nick) != 0)
		return (caps & IRC_CAP_INVITE_NOTIFY) != 0;
	return !irc_own(s, m);
}

void
irc_deliver(struct session *s, struct msg *m)
{
	if (irc_wants(s, m))
		conn_send_msg(s->client, irc_wire(m, irc_variant(s->client)),
		    m);
}

/*
 * The lines of msgs in one buffer as variant v renders them, less the ones
 * that are skip's own (skip NULL: all of them); NULL if a line is long
 * enough to be shared by reference on its own (conn_send_wire), as
 * line_format_run does.
 */
static struct msg_wire *
irc_join_run(const struct session *skip, unsigned v, struct msg **msgs,
    size_t n)
{
	struct msg_wire	*run = NULL, *wires[ROOM_RUN_MAX];
	size_t		 i, k = 0, len = 0;

	for (i = 0; i < n; i++) {
		if (skip != NULL && irc_own(skip, msgs[i]))
			continue;
		/* Held: an extended JOIN's is replaced by the next JOIN's. */
		wires[k] = msg_wire_ref(irc_wire(msgs[i], v));
		len += wires[k++]->len;
		if (wires[k - 1]->len >= CONN_REFERENCE_MIN)
			goto done;
	}
	run = msg_wire_new(len);
	for (len = 0, i = 0; i < k; i++) {
		memcpy(run->data + len, wires[i]->data, wires[i]->len);
		len += wires[i]->len;
	}
done:
	for (i = 0; i < k; i++)
		msg_wire_unref(wires[i]);
	return run;
}

/* A new run: forget the last one's renderings, note who speaks in it. */
static void
irc_format_run(struct msg **msgs, size_t n, uint64_t serial)
{
	size_t	i, k;

	if (serial == irc_run.serial)
		return;
	irc_run.serial = serial;
	for (i = 0; i < IRC_NVARIANTS; i++) {
		msg_wire_unref(irc_run.wire[i]);	/* queues keep theirs */
		irc_run.wire[i] = NULL;
		irc_run.made[i] = 0;
	}
	irc_run.has_join = 0;
	for (i = 0; i < n; i++)
		irc_run.has_join |= msgs[i]->kind == MSG_JOIN;
	irc_run.nspeakers = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < irc_run.nspeakers; k++)
			if (strcmp(irc_run.speakers[k], msgs[i]->from) == 0)
				break;
		if (k < irc_run.nspeakers)
			continue;
		if (k == IRC_RUN_SPEAKERS) {
			irc_run.speakers[0] = NULL;
			irc_run.nspeakers = 1;
			break;
		}
		irc_run.speakers[irc_run.nspeakers++] = msgs[i]->from;
	}
}

/* The run as variant v renders it for every member who said none of it. */
static struct msg_wire *
irc_run_wire(unsigned v, struct msg **msgs, size_t n)
{
	if (!irc_run.has_join && IRC_EXTENDED(v))
		v -= IRC_NSLOTS;
	if (!irc_run.made[v]) {
		irc_run.wire[v] = irc_join_run(NULL, v, msgs, n);
		irc_run.made[v] = 1;
	}
	return irc_run.wire[v];
}

/* Whether s may have said part of the run (then it is tested per line). */
static int
irc_run_speaker(const struct session *s)
{
	size_t	k;

	for (k = 0; k < irc_run.nspeakers; k++)
		if (irc_run.speakers[k] == NULL ||
		    strcmp(irc_run.speakers[k], s->nick) == 0)
			return 1;
	return 0;
}

/*
 * A whole fan-out run for one IRC client: one append, not one per line.
 * A member who said some of the run gets a rendering of its own without
 * those lines; with a long line in the run, or a skipping client (who may
 * lose each line on its own), one line at a time.
 */
void
irc_deliver_run(struct session *s, struct msg **msgs, size_t n,
    uint64_t serial)
{
	struct conn		*c = s->client;
	unsigned		 v = irc_variant(c);
	struct msg_wire		*w;
	size_t			 i, own = 0;

	if (!(c->proto_flags & IRC_WELCOMED))
		return;
	irc_format_run(msgs, n, serial);
	if (irc_run_speaker(s))
		for (i = 0; i < n; i++)
			own += irc_own(s, msgs[i]);
	if (own == n)
		return;
	if (conn_skips(c))
		;	/* one line at a time */
	else if (own == 0 && (w = irc_run_wire(v, msgs, n)) != NULL) {
		conn_send_wire(c, w);
		return;
	} else if (own > 0 && (w = irc_join_run(s, v, msgs, n)) != NULL) {
		conn_send_wire(c, w);
		msg_wire_unref(w);
		return;
	}
	for (i = 0; i < n; i++)
		session_deliver(s, msgs[i]);
}
