/* Work deferred to a safe point of the loop, and listeners that back off. */
#ifndef CHATD_TICK_H
#define CHATD_TICK_H

#include <event2/event.h>

/*
 * A tick runs fn once, after the callbacks already due in this loop
 * iteration, however often it is woken before: where the dead are freed
 * and output is flushed, never in the middle of a fan-out.
 */
struct tick {
	struct event	*ev;
	void		(*fn)(void);
	int		 due;
};

void	tick_init(struct tick *, struct event_base *, void (*fn)(void));
void	tick_wake(struct tick *);
void	tick_free(struct tick *);

/*
 * When accept fails for want of descriptors or memory, libevent keeps the
 * listener armed and calls its error callback about a million times a
 * second: the owner disables its listeners and a backoff enables them
 * again after a pause.
 */
struct backoff {
	struct event	*timer;
	void		(*resume)(void);
};

int	backoff_scarce(int error);
void	backoff_init(struct backoff *, struct event_base *,
	    void (*resume)(void));
int	backoff_start(struct backoff *, unsigned ms);
void	backoff_stop(struct backoff *);
void	backoff_free(struct backoff *);

#endif
