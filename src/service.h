/* The service manager (systemd): readiness, status, watchdog, sockets. */
#ifndef CHATD_SERVICE_H
#define CHATD_SERVICE_H

#include <event2/event.h>

struct service_socket {
	int	 fd;
	char	*name;		/* FileDescriptorName=, "unknown" if unset */
};

void	service_init(struct event_base *, void (*status)(char *, size_t));
void	service_ready(void);
void	service_reloading(void);
void	service_stopping(void);
size_t	service_sockets(struct service_socket **);
void	service_sockets_free(struct service_socket *, size_t);
void	service_free(void);

#endif
