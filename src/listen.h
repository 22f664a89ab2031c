/*
 * TCP and TLS listeners, each for one protocol; accept, and the total and
 * per-address limits.
 */
#ifndef CHATD_LISTEN_H
#define CHATD_LISTEN_H

#include <event2/event.h>
#include <stdint.h>

struct config;
struct protocol;
struct tls_context;

/* name: "ADDR:PORT", then "(TLS)", "(irc)" or "(irc, TLS)" if so. */
typedef void	 listen_visit_fn(const char *name, void *);

void		 listen_init(struct event_base *);
void		 listen_configure(const struct config *);
int		 listen_open(const char *spec, int tls, const struct protocol *,
		    char **cause);
int		 listen_adopt(int fd, const char *name, int tls,
		    const struct protocol *, char **cause);
void		 listen_stop(void);
void		 listen_free(void);
void		 listen_foreach(listen_visit_fn *, void *);
uint16_t	 listen_port(const struct protocol *, int tls);
void		 listen_set_tls(struct tls_context *);
const struct tls_context *listen_get_tls(void);

#endif
