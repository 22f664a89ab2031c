/*
 * Chat events.  A message is created once per event, holds all its strings
 * in one allocation, and is shared by reference by every recipient and by
 * room scrollback; the last reference frees it.  Its renderings for the
 * wire, one per protocol, are separate, separately counted objects, dropped
 * once the message has been delivered, so that scrollback stores a line
 * once.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "metrics.h"
#include "stats.h"
#include "xmalloc.h"

/* The bookkeeping around a message's strings, in msg_weight. */
#define MSG_OVERHEAD	(sizeof(struct msg) + 4)

struct msg_meter	 msg_meter;
static size_t		 msg_count;
static uint64_t		 msg_next_id = 1;

static const char *
msg_copy_string(char **cursor, const char *s)
{
	size_t	 len = strlen(s) + 1;
	char	*dst = *cursor;

	memcpy(dst, s, len);
	*cursor += len;
	return dst;
}

/* A message with its id and time: msg_new's, or a stored one's. */
static struct msg *
msg_make(enum msg_kind kind, const char *room, const char *from,
    const char *to, const char *text, uint64_t id, int64_t time_ms)
{
	struct msg	*m;
	char		*cursor;
	size_t		 len;

	room = room != NULL ? room : "";
	from = from != NULL ? from : "";
	to = to != NULL ? to : "";
	text = text != NULL ? text : "";
	len = strlen(room) + strlen(from) + strlen(to) + strlen(text);
	m = xmalloc(sizeof *m + len + 4);
	m->weight = MSG_OVERHEAD + len;
	m->refs = 1;
	m->kind = kind;
	m->time = (time_t)(time_ms / 1000);
	m->time_ms = (unsigned)(time_ms % 1000);
	m->id = id;
	memset(m->wire, 0, sizeof m->wire);
	m->held_by = NULL;
	msg_count++;
	cursor = m->data;
	m->room = msg_copy_string(&cursor, room);
	m->from = msg_copy_string(&cursor, from);
	m->to = msg_copy_string(&cursor, to);
	m->text = msg_copy_string(&cursor, text);
	return m;
}

struct msg *
msg_new(enum msg_kind kind, const char *room, const char *from,
    const char *to, const char *text)
{
	struct timespec	now;

	clock_gettime(CLOCK_REALTIME, &now);
	return msg_make(kind, room, from, to, text, msg_next_id++,
	    (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

/* A message said before a restart, as the database kept it. */
struct msg *
msg_new_stored(enum msg_kind kind, const char *room, const char *from,
    const char *to, const char *text, uint64_t id, int64_t time_ms)
{
	return msg_make(kind, room, from, to, text, id, time_ms);
}

/* Ids go on after the highest one kept: unique across restarts. */
void
msg_ids_after(uint64_t id)
{
	if (id >= msg_next_id)
		msg_next_id = id + 1;
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	msg_delivered(m);
	msg_count--;
	free(m);
}

/* What the message weighs in memory and, roughly, on any wire. */
size_t
msg_weight(const struct msg *m)
{
	return m->weight;
}

/* Every recipient has it: the renderings go once the queues let them. */
void
msg_delivered(struct msg *m)
{
	size_t	i;

	for (i = 0; i < PROTOCOL_NSLOTS; i++) {
		msg_wire_unref(m->wire[i]);
		m->wire[i] = NULL;
	}
}

/* m went to recipients sessions: the work that lines are charged for. */
void
msg_count_delivery(const struct msg *m, size_t recipients)
{
	msg_meter.deliveries += recipients;
	msg_meter.bytes += recipients * msg_weight(m);
	stats.delivered += recipients;
	metrics_observe(&metrics_fanout_recipients, recipients);
}

/* Messages alive now, in scrollback, queues or on their way. */
size_t
msg_live(void)
{
	return msg_count;
}

struct msg_wire *
msg_wire_new(size_t len)
{
	struct msg_wire	*w = xmalloc(sizeof *w + len + 1);

	w->refs = 1;
	w->len = len;
	return w;
}

struct msg_wire *
msg_wire_ref(struct msg_wire *w)
{
	w->refs++;
	return w;
}

void
msg_wire_unref(struct msg_wire *w)
{
	if (w != NULL && --w->refs == 0)
		free(w);
}
