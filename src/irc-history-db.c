/*
 * CHATHISTORY pages read from the database, when there is one: every
 * subcommand but TARGETS reaches as far back as the file keeps, past the
 * rooms' scrollback (a timestamp= reference stands for the first message
 * said at that time or after it).  The rows are read off the loop
 * (history-page.c); until they come the client's next lines wait, as
 * they do for a long NAMES, and a labeled request keeps its batch open
 * until the page is in it.  Like scrollback, a page holds what was said
 * (messages and actions), not topic changes.
 */
#include <stdint.h>

#include "conn.h"
#include "history-page.h"
#include "irc.h"
#include "msg.h"
#include "store.h"

/*
 * Is the page the newest messages of its span, to be cut at its oldest
 * if it does not fit?  BETWEEN's is when it runs back from its first
 * reference: the messages are all on one side of it.
 */
static int
irc_db_newest(const struct history_page *p)
{
	const struct store_ref	*from = &p->q.from;
	const struct msg	*m;

	switch (p->q.span) {
	case STORE_LATEST:
	case STORE_BEFORE:
		return 1;
	case STORE_BETWEEN:
		if (p->n == 0)
			return 0;
		m = p->msgs[0];
		return from->type == STORE_REF_ID ? m->id < from->value :
		    (uint64_t)m->time * 1000 + m->time_ms < from->value;
	default:
		return 0;
	}
}

/* The rows came: the page, inside the labeled batch if there is one. */
static void
irc_db_send(struct conn *c, const struct history_page *p)
{
	irc_label_page_begin(c);
	if (p->error != NULL)
		conn_printf(c, ":%s FAIL CHATHISTORY MESSAGE_ERROR %s :History "
		    "could not be read: %s\r\n", irc_server_name(), p->room,
		    p->error);
	else
		irc_history_send(c, p->room, p->msgs, 0, p->n,
		    irc_db_newest(p));
	irc_label_page_end(c, 0);
}

/*
 * The messages of room that q asks for, read from the database and sent
 * as one CHATHISTORY page; -1 and *cause if the read cannot be asked for
 * now.
 */
int
irc_history_db(struct conn *c, const char *room, const struct store_query *q,
    char **cause)
{
	return history_page_read(c, room, q, 1, 0, irc_db_send, cause);
}
