/*
 * How chat events look on the wire.  Each event is rendered the first time
 * it is delivered and the line is kept with the message until every
 * recipient has it (msg_delivered), so a fan-out to a thousand members
 * formats it once; scrollback is replayed from the message's strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "msg.h"
#include "line.h"
#include "xmalloc.h"

/* Which of a message's strings a kind shows, after its name. */
enum line_field { F_NONE, F_ROOM, F_FROM, F_TO };

static const struct {
	const char		*name;
	enum line_field	 f1, f2, f3;	/* then the text, if any */
} line_kinds[] = {
	[MSG_SAY] = { "MSG", F_ROOM, F_FROM, F_NONE },
	[MSG_ACTION] = { "ACTION", F_ROOM, F_FROM, F_NONE },
	[MSG_PRIVATE] = { "PRIV", F_FROM, F_TO, F_NONE },
	[MSG_JOIN] = { "JOIN", F_ROOM, F_FROM, F_NONE },
	[MSG_PART] = { "PART", F_ROOM, F_FROM, F_NONE },
	[MSG_QUIT] = { "QUIT", F_FROM, F_NONE, F_NONE },
	[MSG_NICK] = { "NICK", F_FROM, F_TO, F_NONE },	/* text is empty */
	[MSG_TOPIC] = { "TOPIC", F_ROOM, F_FROM, F_NONE },
	[MSG_NOTICE] = { "NOTICE", F_FROM, F_NONE, F_NONE },
	/* A line client reads an IRC client's notice as what it says. */
	[MSG_ROOM_NOTICE] = { "MSG", F_ROOM, F_FROM, F_NONE },
	[MSG_PRIVATE_NOTICE] = { "PRIV", F_FROM, F_TO, F_NONE },
	[MSG_MODE] = { "MODE", F_ROOM, F_FROM, F_NONE },
	[MSG_KICK] = { "KICK", F_ROOM, F_FROM, F_TO },
	[MSG_INVITE] = { "INVITE", F_ROOM, F_FROM, F_TO },
};

static const char *
line_field(const struct msg *m, enum line_field f)
{
	switch (f) {
	case F_ROOM:
		return m->room;
	case F_FROM:
		return m->from;
	case F_TO:
		return m->to;
	default:
		return NULL;
	}
}

/* Append n bytes of s at *p (if buf is not NULL) and count them. */
static void
line_piece(char **p, size_t *len, const char *s, size_t n)
{
	if (*p != NULL) {
		memcpy(*p, s, n);
		*p += n;
	}
	*len += n;
}

/*
 * "KIND field... [text]\r\n" into buf (NULL: just measure), leaving out
 * the space before empty text; returns the length.  Pieces are copied, not
 * printed: this runs for every message (snprintf twice was a tenth of the
 * daemon's CPU, tests/bench/RESULTS.md).
 */
static size_t
line_render(const struct msg *m, char *buf)
{
	const char	*kind = line_kinds[m->kind].name;
	const char	*f1 = line_field(m, line_kinds[m->kind].f1);
	const char	*f2 = line_field(m, line_kinds[m->kind].f2);
	const char	*f3 = line_field(m, line_kinds[m->kind].f3);
	char		*p = buf;
	size_t		 len = 0;

	line_piece(&p, &len, kind, strlen(kind));
	line_piece(&p, &len, " ", 1);
	line_piece(&p, &len, f1, strlen(f1));
	if (f2 != NULL) {
		line_piece(&p, &len, " ", 1);
		line_piece(&p, &len, f2, strlen(f2));
	}
	if (f3 != NULL) {
		line_piece(&p, &len, " ", 1);
		line_piece(&p, &len, f3, strlen(f3));
	}
	if (*m->text != '\0' && m->kind != MSG_JOIN) {	/* a real name */
		line_piece(&p, &len, " ", 1);
		line_piece(&p, &len, m->text, strlen(m->text));
	}
	line_piece(&p, &len, "\r\n", 2);
	if (p != NULL)
		*p = '\0';
	return len;
}

void
line_format_msg(struct msg *m)
{
	size_t	len;

	if (m->wire[PROTOCOL_LINE] != NULL)
		return;
	len = line_render(m, NULL);
	m->wire[PROTOCOL_LINE] = msg_wire_new(len);
	line_render(m, m->wire[PROTOCOL_LINE]->data);
}

/*
 * The lines of a fan-out run (room.c), rendered once for all its members:
 * the same serial gets the same rendering back, which the members' queues
 * share (conn_send_wire).  NULL if a message is long enough to be shared by
 * reference on its own (line_deliver).
 */
struct msg_wire *
line_format_run(struct msg **msgs, size_t n, uint64_t serial)
{
	static struct msg_wire	*run;
	static uint64_t		 done;
	static int		 big;
	struct msg_wire		*w;
	size_t			 i, len = 0;

	if (serial == done)
		return big ? NULL : run;
	done = serial;
	msg_wire_unref(run);	/* the queues that share it keep it */
	run = NULL;
	big = 0;
	for (i = 0; i < n; i++) {
		line_format_msg(msgs[i]);
		w = msgs[i]->wire[PROTOCOL_LINE];
		if (w->len >= CONN_REFERENCE_MIN) {
			big = 1;
			return NULL;
		}
		len += w->len;
	}
	run = msg_wire_new(len);
	for (len = 0, i = 0; i < n; i++) {
		w = msgs[i]->wire[PROTOCOL_LINE];
		memcpy(run->data + len, w->data, w->len);
		len += w->len;
	}
	return run;
}

/* The length of m's HIST line. */
size_t
line_history_size(const struct msg *m)
{
	return LINE_HIST_PREFIX + line_render(m, NULL);
}

/*
 * A scrollback line: "HIST 2026-11-27T14:03:12Z MSG #room nick text", or
 * with its id and milliseconds (a page, /history N before ID):
 * "HISTID 42 2026-11-27T14:03:12.345Z MSG #room nick text".
 */
static void
line_send_hist(struct conn *c, const struct msg *m, int with_id)
{
	char		 stamp[32], line[1024], *big = NULL;
	struct tm	 tm;
	size_t		 len = line_render(m, NULL);

	gmtime_r(&m->time, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (len >= sizeof line)
		big = xmalloc(len + 1);
	line_render(m, big != NULL ? big : line);
	if (with_id)
		conn_printf(c, "HISTID %llu %s.%03uZ %s",
		    (unsigned long long)m->id, stamp, m->time_ms,
		    big != NULL ? big : line);
	else
		conn_printf(c, "HIST %sZ %s", stamp, big != NULL ? big : line);
	free(big);
}

void
line_send_history(struct conn *c, const struct msg *m)
{
	line_send_hist(c, m, 0);
}

void
line_send_history_id(struct conn *c, const struct msg *m)
{
	line_send_hist(c, m, 1);
}

/* What a HISTID line of m takes, at most. */
size_t
line_history_id_size(const struct msg *m)
{
	return LINE_HISTID_PREFIX + line_render(m, NULL);
}
