/*
 * A room's scrollback: a ring of its latest messages (scrollback of them),
 * each held by its speaker's host (host.c) while it is kept.  What gives
 * way under the memory budget is what is kept, never what is said.
 */
#include <stdlib.h>

#include "host.h"
#include "room.h"
#include "stats.h"
#include "xmalloc.h"

static size_t	 room_scrollback = 20;

void
room_scroll_configure(size_t scrollback)
{
	room_scrollback = scrollback;
}

/* How many messages a room keeps. */
size_t
room_scroll_depth(void)
{
	return room_scrollback;
}

/* A line leaves scrollback: its speaker's host holds it no more. */
static void
room_scroll_drop(struct msg *m)
{
	host_hold(m->held_by, -(int64_t)msg_weight(m));
	m->held_by = NULL;
	msg_unref(m);
}

/* The ring's depth was reconfigured: keep the newest that fit. */
static void
room_scroll_resize(struct room *r)
{
	struct msg	**ring, *old;
	size_t		  i, n;

	n = r->scroll_len < room_scrollback ? r->scroll_len : room_scrollback;
	ring = xreallocarray(NULL, room_scrollback ? room_scrollback : 1,
	    sizeof *ring);
	for (i = 0; i < r->scroll_len; i++) {
		old = r->scroll[(r->scroll_next + r->scroll_cap -
		    r->scroll_len + i) % r->scroll_cap];
		if (i < r->scroll_len - n)
			room_scroll_drop(old);
		else
			ring[i - (r->scroll_len - n)] = old;
	}
	free(r->scroll);
	r->scroll = ring;
	r->scroll_cap = room_scrollback;
	r->scroll_len = n;
	r->scroll_next = room_scrollback ? n % room_scrollback : 0;
}

/* Keep m in r's scrollback, if its speaker's host may hold it. */
void
room_scrollback_push(struct room *r, struct msg *m, struct host *host)
{
	size_t	weight = msg_weight(m);

	if (r->scroll_cap != room_scrollback)
		room_scroll_resize(r);
	if (r->scroll_cap == 0)
		return;
	if (!host_may_hold(host, weight)) {
		stats.scrollback_refused++;
		return;
	}
	if (r->scroll_len == r->scroll_cap)
		room_scroll_drop(r->scroll[r->scroll_next]);
	else
		r->scroll_len++;
	host_hold(host, (int64_t)weight);
	m->held_by = host;
	r->scroll[r->scroll_next] = msg_ref(m);
	r->scroll_next = (r->scroll_next + 1) % r->scroll_cap;
}

/* m was said in r before the restart: scrollback, held by nobody. */
void
room_restore_line(struct room *r, struct msg *m)
{
	room_scrollback_push(r, m, NULL);
	r->last_activity = m->time;
}

/* Forget what r said (chatctl purge): its scrollback is emptied. */
void
room_forget(struct room *r)
{
	while (r->scroll_len > 0) {
		room_scroll_drop(r->scroll[(r->scroll_next + r->scroll_cap -
		    r->scroll_len) % r->scroll_cap]);
		r->scroll_len--;
	}
}

/* Call cb for the last n messages of r, oldest first. */
void
room_history(const struct room *r, size_t n,
    void (*cb)(struct msg *, void *), void *arg)
{
	size_t	i;

	if (n > r->scroll_len)
		n = r->scroll_len;
	for (i = r->scroll_len - n; i < r->scroll_len; i++)
		cb(r->scroll[(r->scroll_next + r->scroll_cap - r->scroll_len +
		    i) % r->scroll_cap], arg);
}
