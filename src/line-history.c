/*
 * /history: the current room's scrollback as HIST lines (/history [N]),
 * and, as a later addition, pages by message id: "/history N latest" and
 * "/history N before ID" answer HISTID lines, oldest first, then
 * "HISTEND ROOM COUNT"; a client pages back with the lowest id it got.
 *
 * With a database a page is read by the writer thread (store-job.c), so a
 * deep page costs the loop nothing.  Meanwhile the answer is a waiting
 * pager (conn_page, CONN_PAGE_WAIT): the client's next lines wait for it,
 * so the page is of the history as the line found it, and its HISTEND
 * (and ACK) come before anything the next line makes.  Without a database
 * the page comes from the room's scrollback at once.  Either way a page sends
 * only as many of its newest lines as fit below sendq-soft, like a
 * replay: COUNT says how many, and the next page starts below them, so
 * nothing is skipped.  The replay itself (on join, and /history [N]) is
 * here too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "config.h"
#include "conn.h"
#include "line.h"
#include "line-private.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "store.h"
#include "xmalloc.h"

#define LINE_PAGE_MAX	1000	/* messages one page may ask for */

/* A page of history read from the database, on its way to c. */
struct line_page {
	struct conn	 *c;		/* NULL: it left before the rows came */
	char		  room[NAME_ROOM_MAX + 1];
	uint64_t	  ack;		/* line to acknowledge; 0: none */
	int		  ready;	/* the rows (or an error) are here */
	char		 *error;
	struct msg	**msgs;
	size_t		  n;
};

static void
line_history_cb(struct msg *m, void *arg)
{
	line_send_history(arg, m);
}

struct line_replay_sizes {
	size_t	*size;
	size_t	 n;
};

static void
line_replay_measure(struct msg *m, void *arg)
{
	struct line_replay_sizes	*sizes = arg;

	sizes->size[sizes->n++] = line_history_size(m);
}

/*
 * Send the last n messages of r as HIST lines, but only as many of the
 * newest as fit below sendq-soft: asking for history must never cost a
 * client its connection, whatever scrollback and max-line are.
 */
size_t
line_replay(struct conn *c, const struct room *r, size_t n)
{
	struct line_replay_sizes	 sizes;
	size_t				 queued = conn_sendq(c), budget, skip;

	budget = line_config->sendq_soft > queued ?
	    line_config->sendq_soft - queued : 0;
	if (n > r->scroll_len)
		n = r->scroll_len;
	sizes.size = xreallocarray(NULL, n + 1, sizeof *sizes.size);
	sizes.n = 0;
	room_history(r, n, line_replay_measure, &sizes);
	for (skip = n; skip > 0 && sizes.size[skip - 1] <= budget; skip--)
		budget -= sizes.size[skip - 1];
	free(sizes.size);
	room_history(r, n - skip, line_history_cb, c);
	return n - skip;
}

/* Send the newest of msgs[0..n) that fit below sendq-soft, then HISTEND. */
static void
line_page_send(struct conn *c, const char *room, struct msg **msgs, size_t n)
{
	size_t	queued = conn_sendq(c), budget, first, size, sent = 0;

	budget = line_config->sendq_soft > queued ?
	    line_config->sendq_soft - queued : 0;
	for (first = n; first > 0; first--) {
		size = line_history_id_size(msgs[first - 1]);
		if (size > budget)
			break;
		budget -= size;
	}
	for (; first < n; first++, sent++)
		line_send_history_id(c, msgs[first]);
	conn_printf(c, "HISTEND %s %zu\r\n", room, sent);
}

static void
line_page_free(struct line_page *p)
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
line_page_read(const struct store_msg *rows, size_t n, const char *error,
    void *arg)
{
	struct line_page	*p = arg;
	size_t			 i;

	p->ready = 1;
	if (p->c == NULL) {
		line_page_free(p);
		return;
	}
	if (error != NULL)
		p->error = xstrdup(error);
	p->msgs = xreallocarray(NULL, n ? n : 1, sizeof *p->msgs);
	for (i = 0; error == NULL && i < n; i++)
		p->msgs[p->n++] = msg_new_stored(rows[i].kind, rows[i].room,
		    rows[i].from, rows[i].to, rows[i].text, rows[i].id,
		    rows[i].time_ms);
	conn_page_wake(p->c);
}

/* The pager: nothing until the rows come, then the page and its ACK. */
static int
line_page_pager(struct conn *c, void *arg)
{
	struct line_page	*p = arg;

	if (!p->ready)
		return CONN_PAGE_WAIT;
	if (p->error != NULL)
		line_fail(c, "history-busy", "history could not be read: %s",
		    p->error);
	else {
		line_page_send(c, p->room, p->msgs, p->n);
		if (p->ack != 0)
			conn_printf(c, "ACK %llu\r\n",
			    (unsigned long long)p->ack);
	}
	return 0;
}

/* The pager ends: the page was sent, or the client closed first. */
static void
line_page_end(void *arg)
{
	struct line_page	*p = arg;

	if (p->ready)
		line_page_free(p);
	else
		p->c = NULL;
}

struct line_scroll_page {
	struct msg	**msgs;
	size_t		  n;
	uint64_t	  before;
};

static void
line_scroll_collect(struct msg *m, void *arg)
{
	struct line_scroll_page	*p = arg;

	if (m->id < p->before)
		p->msgs[p->n++] = m;
}

/* A page from the room's scrollback: no database. */
static void
line_page_from_scrollback(struct conn *c, const struct room *r, size_t n,
    uint64_t before)
{
	struct line_scroll_page	p;

	p.msgs = xreallocarray(NULL, r->scroll_len + 1, sizeof *p.msgs);
	p.n = 0;
	p.before = before;
	room_history(r, r->scroll_len, line_scroll_collect, &p);
	if (p.n > n)
		line_page_send(c, r->name, p.msgs + (p.n - n), n);
	else
		line_page_send(c, r->name, p.msgs, p.n);
	free(p.msgs);
}

static void
line_page(struct conn *c, const struct room *r, size_t n, uint64_t before)
{
	struct store_query	 q = { .span = STORE_BEFORE, .n = n };
	struct line_page	*page;
	char			*cause;

	if (!store_is_open()) {
		line_page_from_scrollback(c, r, n, before);
		return;
	}
	page = xcalloc(1, sizeof *page);
	page->c = c;
	strcpy(page->room, r->name);
	page->ack = line_acks(c) ? c->lines : 0;
	q.from.type = STORE_REF_ID;
	q.from.value = before;
	if (store_history(r->name, &q, line_page_read, page, &cause) == -1) {
		line_fail(c, "history-busy", "%s", cause);
		free(cause);
		free(page);
		return;
	}
	conn_page(c, line_page_pager, page, line_page_end);
}

/* /history [N] (scrollback), /history N latest, /history N before ID. */
void
line_cmd_history(void *arg, struct cmd_args *args)
{
	struct conn		*c = arg;
	struct room		*r = session_current_room(c->session);
	size_t			 n = line_config->scrollback;
	unsigned long long	 before = UINT64_MAX;
	char			*end;
	int			 paged = args->nwords > 1;

	/*
	 * As before the pages: /history [N] needs a room first, and more
	 * words are judged for their usage before the room.
	 */
	if (r == NULL && !paged)
		goto no_room;
	if (args->nwords > 0) {
		n = strtoul(args->word[0], &end, 10);
		if (*end != '\0' || args->word[0][0] < '0' ||
		    args->word[0][0] > '9' || (paged && (n == 0 ||
		    n > LINE_PAGE_MAX)))
			goto usage;
	}
	if (args->nwords == 2 && strcmp(args->word[1], "latest") != 0)
		goto usage;
	if (args->nwords == 3) {
		if (strcmp(args->word[1], "before") != 0 ||
		    args->word[2][0] < '0' || args->word[2][0] > '9')
			goto usage;
		before = strtoull(args->word[2], &end, 10);
		if (*end != '\0')
			goto usage;
	}
	if (r == NULL)
		goto no_room;
	if (paged) {
		line_page(c, r, n, (uint64_t)before);
		return;
	}
	/* Every line has an outcome, also when there is nothing to show. */
	if (line_replay(c, r, n) == 0)
		conn_printf(c, "INFO %s: no messages to show\r\n", r->name);
	return;
no_room:
	line_fail(c, "not-in-room", "you are not in a room; /join one");
	return;
usage:
	line_fail(c, "bad-usage", "usage: /history [N [latest | before ID]] "
	    "(a page: N from 1 to %d)", LINE_PAGE_MAX);
}
