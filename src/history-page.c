/*
 * A page of a room's history read from the database on its way to one
 * client, the same for both protocols (/history N before ID, CHATHISTORY).
 * The writer thread reads the rows (store_history), so the loop never
 * waits for the disk; until they come the page is a waiting pager
 * (conn_page, CONN_PAGE_WAIT), so the client's next lines wait for it and
 * what they make comes after it.  When the rows are here the protocol's
 * send renders them (or the error).  A client gone before they come
 * leaves the page to be freed when they do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "history-page.h"
#include "msg.h"
#include "store.h"
#include "xmalloc.h"

static void
history_page_free(struct history_page *p)
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
history_page_rows(const struct store_msg *rows, size_t n, const char *error,
    void *arg)
{
	struct history_page	*p = arg;
	size_t			 i;

	p->ready = 1;
	if (p->c == NULL) {
		history_page_free(p);
		return;
	}
	if (error != NULL)
		p->error = xstrdup(error);
	p->msgs = xreallocarray(NULL, n ? n : 1, sizeof *p->msgs);
	for (i = 0; error == NULL && i < n; i++) {
		if (p->said_only && rows[i].kind != MSG_SAY &&
		    rows[i].kind != MSG_ACTION)
			continue;
		p->msgs[p->n++] = msg_new_stored(rows[i].kind, rows[i].room,
		    rows[i].from, rows[i].to, rows[i].text, rows[i].id,
		    rows[i].time_ms);
	}
	conn_page_wake(p->c);
}

/* The pager: nothing until the rows come, then the page, at once. */
static int
history_page_pager(struct conn *c, void *arg)
{
	struct history_page	*p = arg;

	if (!p->ready)
		return CONN_PAGE_WAIT;
	p->send(c, p);
	return 0;
}

/* The pager ends: the page was sent, or the client closed first. */
static void
history_page_end(void *arg)
{
	struct history_page	*p = arg;

	if (p->ready)
		history_page_free(p);
	else
		p->c = NULL;
}

/*
 * Read the messages of room that q asks for (said_only: messages and
 * actions, not topic changes) and send them to c as one page, with send,
 * before anything c's next lines make; ack is for send.  -1 and *cause if
 * the read cannot be asked for now.
 */
int
history_page_read(struct conn *c, const char *room,
    const struct store_query *q, int said_only, uint64_t ack,
    history_page_send_fn *send, char **cause)
{
	struct history_page	*p = xcalloc(1, sizeof *p);

	p->c = c;
	snprintf(p->room, sizeof p->room, "%s", room);
	p->q = *q;
	p->ack = ack;
	p->said_only = said_only;
	p->send = send;
	if (store_history(room, q, history_page_rows, p, cause) == -1) {
		free(p);
		return -1;
	}
	conn_page(c, history_page_pager, p, history_page_end);
	return 0;
}
