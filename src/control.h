/* The control socket for chatctl(1): create it, serve it, remove it. */
#ifndef CHATD_CONTROL_H
#define CHATD_CONTROL_H

#include <stddef.h>

#include <event2/event.h>

struct config;

void	control_init(struct event_base *);
void	control_configure(const struct config *);
int	control_adopt(int fd, char **cause);
int	control_open(const struct config *, char **cause);
size_t	control_max_clients(void);
void	control_free(void);

#endif
