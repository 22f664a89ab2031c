/* TCP and TLS listeners, accept, and the total and per-address limits. */
#ifndef CHATD_LISTEN_H
#define CHATD_LISTEN_H

#include <event2/event.h>

struct config;
struct tls_context;

void		 listen_init(struct event_base *);
void		 listen_configure(const struct config *);
int		 listen_open(const char *spec, int tls, char **cause);
int		 listen_adopt(int fd, const char *name, int tls, char **cause);
void		 listen_stop(void);
void		 listen_free(void);
void		 listen_foreach(void (*)(const char *, int tls, void *), void *);
void		 listen_set_tls(struct tls_context *);
const struct tls_context *listen_get_tls(void);

#endif
