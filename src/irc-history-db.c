/*
 * CHATHISTORY pages read from the database, when there is one: every
 * subcommand but TARGETS reaches as far back as the file keeps, past the
 * rooms' scrollback (a timestamp= reference stands for the first message
 * said at that time or after it).  The writer thread reads
 * the rows (store_history), so the loop never waits for the disk; until
 * they come the answer is a waiting pager (conn_page), so the client's
 * next lines wait for it as they do for a long NAMES, and a labeled
 * request keeps its batch open until the page is in it.  Like scrollback,
 * a page holds what was said (messages and actions), not topic changes.
 * A client gone before its rows come leaves them to be freed when they do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "irc.h"
#include "msg.h"
#include "name.h"
#include "store.h"
#include "xmalloc.h"

struct irc_db_page {
	struct conn	 *c;		/* NULL: it left */
	char		  room[NAME_ROOM_MAX + 1];
	struct store_query q;
	struct msg	**msgs;		/* oldest first */
	size_t		  n;
	char		 *error;
	int		  ready;	/* the rows came */
};

static void
irc_db_page_free(struct irc_db_page *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		msg_unref(p->msgs[i]);
	free(p->msgs);
	free(p->error);
	free(p);
}

/* On the loop, from the writer thread's answer. */
static void
irc_db_done(const struct store_msg *rows, size_t n, const char *error,
    void *arg)
{
	struct irc_db_page	*p = arg;
	size_t			 i;

	p->ready = 1;
	if (p->c == NULL) {
		irc_db_page_free(p);
		return;
	}
	if (error != NULL)
		p->error = xstrdup(error);
	p->msgs = xreallocarray(NULL, n ? n : 1, sizeof *p->msgs);
	for (i = 0; error == NULL && i < n; i++) {
		if (rows[i].kind != MSG_SAY && rows[i].kind != MSG_ACTION)
			continue;
		p->msgs[p->n++] = msg_new_stored(rows[i].kind, rows[i].room,
		    rows[i].from, rows[i].to, rows[i].text, rows[i].id,
		    rows[i].time_ms);
	}
	conn_page_wake(p->c);
}

/*
 * Is the page the newest messages of its span, to be cut at its oldest
 * if it does not fit?  BETWEEN's is when it runs back from its first
 * reference: the messages are all on one side of it.
 */
static int
irc_db_newest(const struct irc_db_page *p)
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

/* The pager: nothing until the rows come, then the page, at once. */
static int
irc_db_pager(struct conn *c, void *arg)
{
	struct irc_db_page	*p = arg;

	if (!p->ready)
		return CONN_PAGE_WAIT;
	irc_label_page_begin(c);
	if (p->error != NULL)
		conn_printf(c, ":%s FAIL CHATHISTORY MESSAGE_ERROR %s :History "
		    "could not be read: %s\r\n", irc_server_name(), p->room,
		    p->error);
	else
		irc_history_send(c, p->room, p->msgs, 0, p->n,
		    irc_db_newest(p));
	irc_label_page_end(c, 0);
	return 0;
}

/* The pager ends: the page was sent, or the client closed. */
static void
irc_db_pager_end(void *arg)
{
	struct irc_db_page	*p = arg;

	if (p->ready)
		irc_db_page_free(p);
	else
		p->c = NULL;
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
	struct irc_db_page	*p = xcalloc(1, sizeof *p);

	p->c = c;
	p->q = *q;
	snprintf(p->room, sizeof p->room, "%s", room);
	if (store_history(room, q, irc_db_done, p, cause) == -1) {
		free(p);
		return -1;
	}
	conn_page(c, irc_db_pager, p, irc_db_pager_end);
	return 0;
}
