/* The metrics listeners: Prometheus scrapes over HTTP (libevent's evhttp). */
#ifndef CHATD_METRICS_HTTP_H
#define CHATD_METRICS_HTTP_H

#include <event2/event.h>

struct config;

void	metrics_http_init(struct event_base *);
void	metrics_http_configure(const struct config *);
int	metrics_http_open(const char *spec, char **cause);
int	metrics_http_adopt(int fd, char **cause);
size_t	metrics_http_max_clients(void);
void	metrics_http_foreach(void (*)(const char *name, void *), void *);
void	metrics_http_free(void);

#endif
