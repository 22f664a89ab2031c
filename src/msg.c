/*
 * Chat events.  A message is created once per event, holds all its strings
 * in one allocation, and is shared by reference by every recipient's output
 * queue and by room scrollback; the last reference frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xmalloc.h"

static const char *
msg_copy_string(char **cursor, const char *s)
{
	size_t	 len = strlen(s) + 1;
	char	*dst = *cursor;

	memcpy(dst, s, len);
	*cursor += len;
	return dst;
}

struct msg *
msg_new(enum msg_kind kind, const char *room, const char *from,
    const char *to, const char *text)
{
	struct msg	*m;
	char		*cursor;

	room = room != NULL ? room : "";
	from = from != NULL ? from : "";
	to = to != NULL ? to : "";
	text = text != NULL ? text : "";
	m = xmalloc(sizeof *m + strlen(room) + strlen(from) + strlen(to) +
	    strlen(text) + 4);
	m->refs = 1;
	m->kind = kind;
	m->time = time(NULL);
	m->wire = NULL;
	m->wire_len = 0;
	cursor = m->data;
	m->room = msg_copy_string(&cursor, room);
	m->from = msg_copy_string(&cursor, from);
	m->to = msg_copy_string(&cursor, to);
	m->text = msg_copy_string(&cursor, text);
	return m;
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
	free(m->wire);
	free(m);
}
