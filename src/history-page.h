/* A page of a room's history read from the database for one client. */
#ifndef CHATD_HISTORY_PAGE_H
#define CHATD_HISTORY_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "name.h"
#include "store.h"

struct conn;
struct msg;
struct history_page;

/* The protocol's rendering of a page whose rows (or error) came. */
typedef void	 history_page_send_fn(struct conn *,
		    const struct history_page *);

struct history_page {
	struct conn		 *c;		/* NULL: it left */
	char			  room[NAME_ROOM_MAX + 1];
	struct store_query	  q;
	uint64_t		  ack;		/* the line it answers; 0: none */
	int			  said_only;	/* messages and actions only */
	int			  ready;	/* the rows (or an error) came */
	char			 *error;	/* NULL: the rows are here */
	struct msg		**msgs;		/* oldest first */
	size_t			  n;
	history_page_send_fn	 *send;
};

int	 history_page_read(struct conn *, const char *room,
	    const struct store_query *, int said_only, uint64_t ack,
	    history_page_send_fn *, char **cause);

#endif
