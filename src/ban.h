/* The ban list: addresses, CIDR blocks and nicks, for a while or for good. */
#ifndef CHATD_BAN_H
#define CHATD_BAN_H

#include <stddef.h>
#include <time.h>

#define BAN_TARGET_MAX	48	/* "ffff:...:ffff/128" and a NUL fit */

struct ban {
	char		 target[BAN_TARGET_MAX];	/* normalized */
	int		 family;	/* AF_INET, AF_INET6; 0 for a nick */
	unsigned char	 addr[16];	/* network order, host bits zero */
	unsigned	 prefix;	/* bits that must match */
	time_t		 added;
	time_t		 expires;	/* 0: never */
	char		*reason;
};

/* A ban added (or changed), or lifted: about to be freed. */
typedef void	 ban_observer_fn(const struct ban *, int lifted);

void		 ban_observe(ban_observer_fn *);
int		 ban_restore(const char *target, time_t added, time_t expires,
		    const char *reason);
int		 ban_add(const char *target, time_t duration,
		    const char *reason, const struct ban **, char **cause);
int		 ban_del(const char *target);
int		 ban_covers(const struct ban *, const char *address,
		    const char *nick);
const struct ban *ban_match(const char *address, const char *nick);
int		 ban_nick_refused(const char *nick);
size_t		 ban_count(void);
void		 ban_foreach(void (*)(const struct ban *, void *), void *);
void		 ban_free_all(void);

#endif
