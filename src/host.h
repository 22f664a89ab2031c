/*
 * Where clients come from: one host per IPv4 address or IPv6 prefix, shared
 * by all its connections, and the daemon's memory budget.
 */
#ifndef CHATD_HOST_H
#define CHATD_HOST_H

#include <sys/socket.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct host;

/* Why a host may not open another connection now. */
enum host_refusal {
	HOST_OK,
	HOST_TOO_MANY,		/* max-per-ip connections open */
	HOST_TOO_FAST,		/* connect-rate-per-ip used up */
	HOST_OVER_BUDGET,	/* holds its share of max-memory */
	HOST_SERVER_OVER_BUDGET, /* the daemon holds max-memory */
};

void		 host_init(struct event_base *);
void		 host_configure(const struct config *);
struct host	*host_get(const struct sockaddr *);
enum host_refusal host_admit(struct host *);
void		 host_attach(struct host *);
void		 host_detach(struct host *);
const char	*host_name(const struct host *);
unsigned	 host_connections(const struct host *);
int		 host_ready(struct host *, uint64_t now_us);
void		 host_charge(struct host *, uint64_t cost);
uint64_t	 host_wait_us(const struct host *);
void		 host_hold(struct host *, int64_t bytes);
int		 host_may_hold(const struct host *, size_t bytes);
int		 host_over_budget(const struct host *);
size_t		 host_held(const struct host *);
size_t		 host_count(void);
size_t		 budget_held(void);
int		 budget_over(void);
void		 host_free_all(void);

#endif
