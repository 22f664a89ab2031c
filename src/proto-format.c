/*
 * How chat events look on the wire.  Each event is rendered the first time
 * it is delivered and the line is kept in the message, so a fan-out to a
 * thousand members formats it once.
 */
#include <stdio.h>
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
