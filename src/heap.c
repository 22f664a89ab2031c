/*
 * The heap policy.  Every client's output chains are allocated and freed
 * again in each loop iteration.  With glibc's default trim threshold the
 * top of the heap went back to the kernel after each flush and faulted
 * back in, page by page, on the next: two thirds of the CPU in a
 * 1,000-member room (tests/bench/RESULTS.md).  So up to 64 MiB of freed
 * heap is kept, and given back once output has been quiet for a whole
 * period, as jemalloc's decay would.
 */
#include <malloc.h>
#include <stdint.h>

#include "heap.h"

#define HEAP_KEEP_BYTES		(64 * 1024 * 1024)
#define HEAP_QUIET_SECONDS	5	/* quiet this long: heap goes back */

static struct event	*heap_timer;
static uint64_t		 heap_activity;	/* heap_busy calls */

static void
heap_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t	seen;
	static int	busy;	/* active since the last trim */

	if (heap_activity != seen) {
		seen = heap_activity;
		busy = 1;
	} else if (busy) {
		malloc_trim(0);
		busy = 0;
	}
}

void
heap_init(struct event_base *base)
{
	struct timeval	period = { HEAP_QUIET_SECONDS, 0 };

	mallopt(M_TRIM_THRESHOLD, HEAP_KEEP_BYTES);
	heap_timer = event_new(base, -1, EV_PERSIST, heap_trim_cb, NULL);
	evtimer_add(heap_timer, &period);
}

/* Output flowed in this loop iteration. */
void
heap_busy(void)
{
	heap_activity++;
}

void
heap_free(void)
{
	if (heap_timer != NULL)
		event_free(heap_timer);
	heap_timer = NULL;
}
