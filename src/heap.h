/* The heap policy: keep freed memory while output flows, return it after. */
#ifndef CHATD_HEAP_H
#define CHATD_HEAP_H

#include <event2/event.h>

void	heap_init(struct event_base *);
void	heap_busy(void);
void	heap_free(void);

#endif
