/*
 * Hosts: everything chatd counts per client address.  An IPv4 address is a
 * host; IPv6 addresses are grouped by their first ipv6-prefix bits (64 by
 * default: one subscriber's network), since one party owns the whole block.
 * A host counts its connections (max-per-ip), paces how often it connects
 * (connect-rate-per-ip), shares one flood bucket among its connections
 * (flood-rate-per-ip: a hundred connections flood no faster than one host
 * may), and holds bytes on their behalf: their buffers, their TLS
 * handshakes, what they said that scrollback keeps.
 *
 * The same bytes count against the daemon's budget, max-memory; a host may
 * hold at most max-memory-per-ip of it.  What gives way when either is
 * reached is decided where the bytes are asked for (listen.c, conn.c,
 * room.c): new connections and rooms are refused, lines are no longer kept
 * in scrollback, and a client over sendq-soft is cut; never the chat of
 * others.
 *
 * A host outlives its connections while it holds bytes or its buckets are
 * not full (or reconnecting would reset its rates); a sweep every few
 * seconds forgets the others.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "config.h"
#include "host.h"
#include "xmalloc.h"

#define HOST_SWEEP_SECONDS	10

struct host {
	unsigned char	 key[17];	/* family, then address bits */
	char		 name[INET6_ADDRSTRLEN + 4];	/* "a:b::/64" */
	unsigned	 conns;
	size_t		 held;		/* bytes, also in budget_total */
	struct bucket	 flood;		/* lines of all its connections */
	struct bucket	 connects;
};

static void			*host_tree;
static size_t			 host_total;
static size_t			 budget_total;
static const struct config	*host_config;
static struct event		*host_sweep;

static int
host_compare(const void *a, const void *b)
{
	return memcmp(((const struct host *)a)->key,
	    ((const struct host *)b)->key, sizeof ((struct host *)0)->key);
}

static void	host_sweep_cb(evutil_socket_t, short, void *);

void
host_init(struct event_base *base)
{
	struct timeval	period = { HOST_SWEEP_SECONDS, 0 };

	host_sweep = event_new(base, -1, EV_PERSIST, host_sweep_cb, NULL);
	evtimer_add(host_sweep, &period);
}

void
host_configure(const struct config *config)
{
	host_config = config;
}

/* The key and name of the host sa belongs to. */
static void
host_key(const struct sockaddr *sa, struct host *h)
{
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;
	unsigned			 bits = (unsigned)host_config->ipv6_prefix;
	unsigned			 i;
	size_t				 n;

	memset(h->key, 0, sizeof h->key);
	if (sa->sa_family == AF_INET) {
		h->key[0] = 4;
		memcpy(h->key + 1, &s4->sin_addr, 4);
		inet_ntop(AF_INET, &s4->sin_addr, h->name, sizeof h->name);
		return;
	}
	h->key[0] = 6;
	memcpy(h->key + 1, &s6->sin6_addr, 16);
	for (i = bits; i < 128; i++)	/* clear the bits past the prefix */
		h->key[1 + i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	inet_ntop(AF_INET6, h->key + 1, h->name, sizeof h->name);
	if (bits < 128) {
		n = strlen(h->name);
		snprintf(h->name + n, sizeof h->name - n, "/%u", bits);
	}
}

/* The host of address sa, made if new; it is kept only once attached. */
struct host *
host_get(const struct sockaddr *sa)
{
	struct host	  key, *h;
	void		**found;
	uint64_t	  now = bucket_now_us();

	host_key(sa, &key);
	if ((found = tfind(&key, &host_tree, host_compare)) != NULL)
		return *found;
	h = xcalloc(1, sizeof *h);
	memcpy(h->key, key.key, sizeof h->key);
	memcpy(h->name, key.name, sizeof h->name);
	bucket_fill(&h->flood, host_config->flood_burst_per_ip, now);
	bucket_fill(&h->connects, host_config->connect_burst_per_ip, now);
	tsearch(h, &host_tree, host_compare);
	host_total++;
	return h;
}

/* Whether h may open one more connection now. */
enum host_refusal
host_admit(struct host *h)
{
	const struct config	*c = host_config;

	if (c->max_per_ip > 0 && h->conns >= c->max_per_ip)
		return HOST_TOO_MANY;
	if (!bucket_ready(&h->connects, c->connect_rate_per_ip,
	    c->connect_burst_per_ip, bucket_now_us()))
		return HOST_TOO_FAST;
	if (budget_over())
		return HOST_SERVER_OVER_BUDGET;
	if (host_over_budget(h))
		return HOST_OVER_BUDGET;
	return HOST_OK;
}

/* A connection from h was accepted. */
void
host_attach(struct host *h)
{
	h->conns++;
	bucket_charge(&h->connects, BUCKET_TOKEN);
}

void
host_detach(struct host *h)
{
	h->conns--;
}

const char *
host_name(const struct host *h)
{
	return h->name;
}

unsigned
host_connections(const struct host *h)
{
	return h->conns;
}

/* Whether h's shared flood bucket admits a line now. */
int
host_ready(struct host *h, uint64_t now_us)
{
	return h == NULL || bucket_ready(&h->flood,
	    host_config->flood_rate_per_ip, host_config->flood_burst_per_ip,
	    now_us);
}

void
host_charge(struct host *h, uint64_t cost)
{
	if (h != NULL && host_config->flood_rate_per_ip > 0)
		bucket_charge(&h->flood, cost);
}

uint64_t
host_wait_us(const struct host *h)
{
	return h == NULL ? 0 : bucket_wait_us(&h->flood,
	    host_config->flood_rate_per_ip);
}

/* Count bytes (or give them back, if negative) for h and the daemon. */
void
host_hold(struct host *h, int64_t bytes)
{
	budget_total += (size_t)bytes;
	if (h != NULL)
		h->held += (size_t)bytes;
}

/* Whether h may hold bytes more within its share and the budget. */
int
host_may_hold(const struct host *h, size_t bytes)
{
	const struct config	*c = host_config;

	if (budget_total + bytes > c->max_memory)
		return 0;
	return h == NULL || c->max_memory_per_ip == 0 ||
	    h->held + bytes <= c->max_memory_per_ip;
}

int
host_over_budget(const struct host *h)
{
	return h != NULL && host_config->max_memory_per_ip > 0 &&
	    h->held > host_config->max_memory_per_ip;
}

size_t
host_held(const struct host *h)
{
	return h->held;
}

size_t
host_count(void)
{
	return host_total;
}

size_t
budget_held(void)
{
	return budget_total;
}

int
budget_over(void)
{
	return budget_total > host_config->max_memory;
}

/* Whether h has nothing left to remember. */
static int
host_idle(struct host *h, uint64_t now)
{
	const struct config	*c = host_config;

	return h->conns == 0 && h->held == 0 &&
	    bucket_full(&h->flood, c->flood_rate_per_ip,
	    c->flood_burst_per_ip, now) &&
	    bucket_full(&h->connects, c->connect_rate_per_ip,
	    c->connect_burst_per_ip, now);
}

/* twalk cannot delete: collect the idle hosts, then forget them. */
struct host_idle_list {
	struct host	**hosts;
	size_t		  n, cap;
	uint64_t	  now;
};

static void
host_collect(const void *node, VISIT which, void *arg)
{
	struct host_idle_list	*l = arg;
	struct host		*h = *(struct host * const *)node;

	if ((which != postorder && which != leaf) || !host_idle(h, l->now))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->hosts = xreallocarray(l->hosts, l->cap, sizeof *l->hosts);
	}
	l->hosts[l->n++] = h;
}

static void
host_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct host_idle_list	l = { NULL, 0, 0, bucket_now_us() };
	size_t			i;

	twalk_r(host_tree, host_collect, &l);
	for (i = 0; i < l.n; i++) {
		tdelete(l.hosts[i], &host_tree, host_compare);
		free(l.hosts[i]);
		host_total--;
	}
	free(l.hosts);
}

/* At exit. */
void
host_free_all(void)
{
	tdestroy(host_tree, free);
	host_tree = NULL;
	host_total = 0;
	if (host_sweep != NULL)
		event_free(host_sweep);
	host_sweep = NULL;
}
