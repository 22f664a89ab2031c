/* One client connection: framing, flood bucket, send queue, close path. */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <sys/queue.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Messages at least this long are shared by reference, shorter ones copied
 * (tests/bench/fanout-buffer.md: every evbuffer chain costs 1 KiB). */
#define CONN_REFERENCE_MIN	1024

struct config;
struct msg;
struct session;
struct ip_slot;
struct ssl_st;		/* OpenSSL's SSL */

struct conn {
	uint64_t		 id;
	struct bufferevent	*bev;
	struct evbuffer		*out;		/* bev's output, kept at hand */
	struct framer		 framer;
	size_t			 input_seen;	/* for the bytes-in count */
	struct ip_slot		*ip;		/* per-address count, listen.c */
	uint16_t		 port;
	/*
	 * The flags of the sections below, packed beside port and fd: at
	 * 100,000 clients every 8 bytes here costs most of a megabyte
	 * (tests/bench/RESULTS.md, chatd(8) MEMORY).
	 */
	unsigned		 ack:1;		/* acknowledgements on */
	unsigned		 failed:1;	/* current line got an error */
	unsigned		 paused:1;	/* flood: not reading for now */
	unsigned		 dirty:1;	/* queued since the last flush */
	unsigned		 write_armed:1;	/* bufferevent owns writing */
	unsigned		 tls:1;
	unsigned		 handshaken:1;
	unsigned		 dead:1;
	unsigned		 closing:1;
	unsigned		 flush_on_close:1;
	unsigned		 eof:1;
	evutil_socket_t		 fd;
	time_t			 since;
	time_t			 active;	/* last line received */

	/* The line protocol's per-client state (proto.c). */
	struct session		*session;
	uint64_t		 lines;		/* lines received: ACK numbers */

	/* Flood control: a token bucket of lines, in thousandths. */
	uint64_t		 tokens;
	uint64_t		 refilled_us;

	/* Output: batched direct writes and the send-queue limits. */
	uint64_t		 soft_since_ms;	/* above sendq-soft since */

	/* TLS: the bufferevent is OpenSSL's; no chat before the handshake. */
	uint64_t		 handshake_deadline_ms;

	/* Closing: marked dead, torn down once, then flushed and freed. */
	const char		*bye_code;	/* NULL: say nothing */
	char			*close_reason;

	struct event		*timer;		/* made on first need */
	TAILQ_ENTRY(conn)	 all_entry;
	TAILQ_ENTRY(conn)	 dirty_entry;
	TAILQ_ENTRY(conn)	 dead_entry;
};

/* What a connection is doing, for the admin: the only view it gets. */
enum conn_state {
	CONN_HANDSHAKE,		/* TLS handshake under way: no session yet */
	CONN_OPEN,		/* chatting: session is set */
	CONN_CLOSING,		/* marked for teardown, or flushing a goodbye */
};

struct conn_info {
	uint64_t		 id;
	enum conn_state		 state;
	const char		*address;
	uint16_t		 port;
	int			 tls;
	time_t			 since;
	time_t			 active;	/* last line received */
	size_t			 sendq;		/* bytes not yet written */
	struct session		*session;	/* NULL unless CONN_OPEN */
};

typedef void	 conn_visit_fn(struct conn *, const struct conn_info *,
		    void *);

TAILQ_HEAD(conn_list, conn);

void		 conn_init(struct event_base *);
void		 conn_configure(const struct config *);
struct conn	*conn_new(evutil_socket_t, struct ip_slot *, uint16_t port,
		    struct ssl_st *);
const char	*conn_address(const struct conn *);
void		 conn_send(struct conn *, const void *, size_t);
void		 conn_printf(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 conn_send_msg(struct conn *, struct msg *);
void		 conn_hold(void (*)(void));
void		 conn_close(struct conn *, const char *bye_code,
		    const char *reason);
void		 conn_abort(struct conn *, const char *reason);
size_t		 conn_count(void);
void		 conn_describe(const struct conn *, struct conn_info *);
void		 conn_foreach(conn_visit_fn *, void *);
size_t		 conn_sendq(const struct conn *);
void		 conn_shutdown_all(void (*done)(void));
void		 conn_free_all(void);

#endif
