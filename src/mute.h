/* Server mutes, held against a nick until they end or are lifted. */
#ifndef CHATD_MUTE_H
#define CHATD_MUTE_H

#include <stddef.h>
#include <time.h>

#include "name.h"

struct mute {
	char		 nick[NAME_NICK_MAX + 1];
	time_t		 added;
	time_t		 expires;	/* 0: until lifted */
};

/* A mute set (or changed), or lifted: about to be freed. */
typedef void	 mute_observer_fn(const struct mute *, int lifted);

void		 mute_observe(mute_observer_fn *);
void		 mute_add(const char *nick, time_t expires);
int		 mute_del(const char *nick, char *buf, size_t len);
int		 mute_restore(const char *nick, time_t added, time_t expires);
int		 mute_find(const char *nick, time_t *expires);
int		 mute_later(time_t, time_t);
void		 mute_foreach(void (*)(const struct mute *, void *), void *);
void		 mute_free_all(void);

#endif
