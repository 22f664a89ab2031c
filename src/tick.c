/*
 * Ticks and backoffs (tick.h): the two ways chatd puts work off to later in
 * its event loop, shared by the connection layer, the listeners and the
 * control socket.
 */
#include <errno.h>

#include "tick.h"

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tick	*t = arg;

	t->due = 0;
	t->fn();
}

void
tick_init(struct tick *t, struct event_base *base, void (*fn)(void))
{
	t->ev = event_new(base, -1, 0, tick_cb, t);
	t->fn = fn;
	t->due = 0;
}

void
tick_wake(struct tick *t)
{
	if (!t->due) {
		t->due = 1;
		event_active(t->ev, 0, 0);
	}
}

void
tick_free(struct tick *t)
{
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
}

/* Whether an accept error means "not now" rather than "never". */
int
backoff_scarce(int error)
{
	return error == EMFILE || error == ENFILE || error == ENOBUFS ||
	    error == ENOMEM;
}

static void
backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backoff	*b = arg;

	b->resume();
}

void
backoff_init(struct backoff *b, struct event_base *base, void (*resume)(void))
{
	b->timer = evtimer_new(base, backoff_cb, b);
	b->resume = resume;
}

/* Call resume after ms, unless a pause is already running; 1 if started. */
int
backoff_start(struct backoff *b, unsigned ms)
{
	struct timeval	pause = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	if (evtimer_pending(b->timer, NULL))
		return 0;
	evtimer_add(b->timer, &pause);
	return 1;
}

void
backoff_stop(struct backoff *b)
{
	if (b->timer != NULL)
		evtimer_del(b->timer);
}

void
backoff_free(struct backoff *b)
{
	if (b->timer != NULL)
		event_free(b->timer);
	b->timer = NULL;
}
