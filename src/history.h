/* The rooms' history kept in the database: restored at start, then written. */
#ifndef CHATD_HISTORY_H
#define CHATD_HISTORY_H

struct config;
struct event_base;

void	history_configure(const struct config *);
int	history_open(const struct config *, char **cause);
void	history_start(struct event_base *);
void	history_stop(void);

#endif
