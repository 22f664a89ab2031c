/*
 * /history: the current room's scrollback as HIST lines (/history [N]),
 * and, as a later addition, pages by message id: "/history N latest" and
 * "/history N before ID" answer HISTID lines, oldest first, then
 * "HISTEND ROOM COUNT"; a client pages back with the lowest id it got.
 *
 * With a database a page is read by the writer thread (history-page.c),
 * so a deep page costs the loop nothing.  Meanwhile the client's next
 * lines wait for it, so the page is of the history as the line found it,
 * and its HISTEND (and ACK) come before anything the next line makes.  Without a database
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
#include "history-page.h"
#include "line.h"
#include "line-private.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "store.h"
#include "xmalloc.h"

#define LINE_PAGE_MAX	1000	/* messages one page may ask for */

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

/* The rows came: the page and its ACK, or why it could not be read. */
static void
line_page_rows(struct conn *c, const struct history_page *p)
{
	if (p->error != NULL) {
		line_fail(c, "history-busy", "history could not be read: %s",
		    p->error);
		return;
	}
	line_page_send(c, p->room, p->msgs, p->n);
	if (p->ack != 0)
		conn_printf(c, "ACK %llu\r\n", (unsigned long long)p->ack);
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
	char			*cause;

	if (!store_is_open()) {
		line_page_from_scrollback(c, r, n, before);
		return;
	}
	q.from.type = STORE_REF_ID;
	q.from.value = before;
	if (history_page_read(c, r->name, &q, 0, line_acks(c) ? c->lines : 0,
	    line_page_rows, &cause) == -1) {
		line_fail(c, "history-busy", "%s", cause);
		free(cause);
	}
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
