/*
 * How chat events look on the wire.  Each event is rendered the first time
 * it is delivered and the line is kept in the message, so a fan-out to a
 * thousand members formats it once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "msg.h"
#include "proto.h"
#include "xmalloc.h"

/* "KIND field... [text]\r\n", leaving out the space before empty text. */
static void
proto_render(struct msg *m, const char *kind, const char *f1, const char *f2)
{
	const char	*sep = *m->text != '\0' ? " " : "";
	int		 n;

	if (f2 != NULL)
		n = xasprintf(&m->wire, "%s %s %s%s%s\r\n", kind, f1, f2, sep,
		    m->text);
	else
		n = xasprintf(&m->wire, "%s %s%s%s\r\n", kind, f1, sep,
		    m->text);
	m->wire_len = (size_t)n;
}

void
proto_format_msg(struct msg *m)
{
	if (m->wire != NULL)
		return;
	switch (m->kind) {
	case MSG_SAY:
		proto_render(m, "MSG", m->room, m->from);
		break;
	case MSG_ACTION:
		proto_render(m, "ACTION", m->room, m->from);
		break;
	case MSG_PRIVATE:
		proto_render(m, "PRIV", m->from, m->to);
		break;
	case MSG_JOIN:
		proto_render(m, "JOIN", m->room, m->from);
		break;
	case MSG_PART:
		proto_render(m, "PART", m->room, m->from);
		break;
	case MSG_QUIT:
		proto_render(m, "QUIT", m->from, NULL);
		break;
	case MSG_NICK:	/* text is empty: "NICK old new" */
		proto_render(m, "NICK", m->from, m->to);
		break;
	case MSG_TOPIC:
		proto_render(m, "TOPIC", m->room, m->from);
		break;
	case MSG_NOTICE:
		proto_render(m, "NOTICE", m->from, NULL);
		break;
	}
}

/*
 * The lines of a fan-out run (room.c), rendered once for all its members:
 * the same serial gets the same buffer back.  NULL if a message is long
 * enough to be shared by reference instead (conn_send_msg).
 */
const char *
proto_format_run(struct msg **msgs, size_t n, uint64_t serial, size_t *len)
{
	static char	*buf;
	static size_t	 cap, used;
	static uint64_t	 done;
	static int	 big;
	size_t		 i;

	if (serial != done) {
		done = serial;
		used = 0;
		big = 0;
		for (i = 0; i < n && !big; i++) {
			proto_format_msg(msgs[i]);
			if (msgs[i]->wire_len >= CONN_REFERENCE_MIN) {
				big = 1;
				break;
			}
			if (used + msgs[i]->wire_len > cap) {
				cap = (used + msgs[i]->wire_len) * 2;
				buf = xreallocarray(buf, 1, cap);
			}
			memcpy(buf + used, msgs[i]->wire, msgs[i]->wire_len);
			used += msgs[i]->wire_len;
		}
	}
	*len = used;
	return big ? NULL : buf;
}

/* A scrollback line: "HIST 2026-11-27T14:03:12Z MSG #room nick text". */
void
proto_send_history(struct conn *c, struct msg *m)
{
	char		stamp[32];
	struct tm	tm;

	proto_format_msg(m);
	gmtime_r(&m->time, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	conn_printf(c, "HIST %s %.*s", stamp, (int)m->wire_len, m->wire);
}
