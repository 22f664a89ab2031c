/* TCP listeners, accept, and the total and per-address client limits. */
#ifndef CHATD_LISTEN_H
#define CHATD_LISTEN_H

#include <event2/event.h>

struct config;
struct ip_slot;

void		 listen_init(struct event_base *);
void		 listen_configure(const struct config *);
int		 listen_open(const char *spec, char **cause);
int		 listen_adopt(int fd, const char *name, char **cause);
void		 listen_stop(void);
void		 listen_foreach(void (*)(const char *, void *), void *);
const char	*ip_slot_address(const struct ip_slot *);
void		 ip_slot_release(struct ip_slot *);

#endif
