/* One client connection: framing, flood bucket, send queue, close path. */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <sys/queue.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "frame.h"

/* Messages at least this long are shared by reference, shorter ones copied
 * (tests/bench/fanout-buffer.md: every evbuffer chain costs 1 KiB). */
#define CONN_REFERENCE_MIN	1024

struct config;
struct conn;
struct host;
struct msg_wire;
struct protocol;
struct session;
struct ssl_st;		/* OpenSSL's SSL */
struct conn_pager;
struct skipq;
struct msg;

/*
 * What gives way when the client reads too slowly: the connection, or its
 * oldest room messages (conn-skip.c); CONN_SLOW_CONFIG follows
 * slow-consumer, also after a reload.
 */
enum conn_slow {
	CONN_SLOW_CONFIG,
	CONN_SLOW_DISCONNECT,
	CONN_SLOW_SKIP,
};

/*
 * Produces a big answer as the client reads it (conn_page): queues up to a
 * few KiB with conn_send and returns 1 while there is more, 0 at its end,
 * or CONN_PAGE_WAIT when it waits for something (a database read): then
 * it runs again after conn_page_wake.
 */
typedef int	 conn_pager_fn(struct conn *, void *arg);
#define CONN_PAGE_WAIT	2

struct conn {
	uint64_t		 id;
	struct bufferevent	*bev;
	struct evbuffer		*out;		/* bev's output, kept at hand */
	struct framer		 framer;
	size_t			 input_seen;	/* for the bytes-in count */
	struct host		*host;		/* host.c: its address's counts */
	char			*address;	/* NULL: the host's name */
	uint16_t		 port;
	/*
	 * The flags of the sections below, packed beside port and fd: at
	 * 100,000 clients every 8 bytes here costs most of a megabyte
	 * (tests/bench/RESULTS.md, chatd(8) MEMORY).
	 */
	unsigned		 proto_flags:5;	/* the protocol's own */
	unsigned		 paused:1;	/* flood: not reading for now */
	unsigned		 deferred:1;	/* read on next loop iteration */
	unsigned		 reading:1;	/* EV_READ enabled */
	unsigned		 dirty:1;	/* queued since the last flush */
	unsigned		 judge_due:1;	/* judge after libevent wrote */
	unsigned		 write_armed:1;	/* bufferevent owns writing */
	unsigned		 tls:1;
	unsigned		 handshaken:1;
	unsigned		 dead:1;
	unsigned		 closing:1;
	unsigned		 flush_on_close:1;
	unsigned		 eof:1;
	unsigned		 slow:2;	/* enum conn_slow */
	evutil_socket_t		 fd;
	time_t			 since;
	time_t			 active;	/* last line received */

	/* The protocol the listener speaks, its state, the session it made. */
	const struct protocol	*proto;
	void			*proto_state;	/* the protocol's; NULL: none */
	struct session		*session;
	uint64_t		 lines;		/* lines received */

	/* Flood control (conn-input.c) and memory held (conn-output.c). */
	struct bucket		 flood;
	size_t			 held;		/* bytes charged to the host */
	uint32_t		 gate_epoch;	/* holds conn-input.c's gate */
	uint32_t		 took_ms;	/* last took output (wraps) */
	uint32_t		 queued;	/* bytes its own lines queued it */
	uint32_t		 iteration;	/* ...when iteration_bytes counts */
	uint32_t		 iteration_bytes;	/* queued in that one */
	uint32_t		 cause_us;	/* conn_cause_us of its oldest
						   unwritten output (wraps) */

	/*
	 * Output: above sendq-soft since when.  A TLS client has nothing
	 * queued before its handshake is done (OpenSSL's bufferevent writes
	 * the handshake), so the same word holds that deadline until then.
	 */
	union {
		uint64_t	 soft_since_ms;
		uint64_t	 handshake_deadline_ms;
	};
	struct conn_pager	*pager;		/* an answer being paged */
	struct skipq		*skip;		/* conn-skip.c; NULL: not
						   skipping */

	/* Closing: marked dead, torn down once, then flushed and freed. */
	const char		*close_code;	/* NULL: say nothing */
	char			*close_reason;

	struct event		*timer;		/* made on first need */
	TAILQ_ENTRY(conn)	 all_entry;
	TAILQ_ENTRY(conn)	 dirty_entry;
	TAILQ_ENTRY(conn)	 wait_entry;	/* the dead, or the deferred */
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
	const char		*protocol;	/* its name */
	time_t			 since;
	time_t			 active;	/* last line received */
	size_t			 sendq;		/* bytes not yet written */
	int			 skips;		/* slow: skips, else cut */
	struct session		*session;	/* NULL unless CONN_OPEN */
};

typedef void	 conn_visit_fn(struct conn *, const struct conn_info *,
		    void *);

TAILQ_HEAD(conn_list, conn);

void		 conn_init(struct event_base *);
void		 conn_configure(const struct config *);
struct conn	*conn_new(evutil_socket_t, const struct protocol *,
		    struct host *, const char *address, uint16_t port,
		    struct ssl_st *);
const char	*conn_address(const struct conn *);
void		 conn_send(struct conn *, const void *, size_t);
void		 conn_printf(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 conn_send_wire(struct conn *, struct msg_wire *);
void		 conn_send_msg(struct conn *, struct msg_wire *, struct msg *);
void		 conn_set_slow(struct conn *, enum conn_slow);
int		 conn_skips(const struct conn *);
void		 conn_page(struct conn *, conn_pager_fn *, void *arg,
		    void (*free_arg)(void *));
int		 conn_paging(const struct conn *);
void		 conn_page_wake(struct conn *);
void		 conn_divert(struct conn *, struct evbuffer *);
void		 conn_undivert(void);
void		 conn_hold(void (*)(void));
void		 conn_close(struct conn *, const char *code,
		    const char *reason);
void		 conn_abort(struct conn *, const char *reason);
void		 conn_timers_changed(struct conn *);
void		 conn_line_costs(struct conn *, unsigned tokens);
void		 conn_line_uncharged(struct conn *, size_t bytes);
size_t		 conn_count(void);
size_t		 conn_count_protocol(const struct protocol *);
uint64_t	 conn_sendq_total(void);
void		 conn_describe(const struct conn *, struct conn_info *);
void		 conn_session_describe(void *, struct conn_info *);
void		 conn_session_close(void *, const char *code,
		    const char *reason);
void		 conn_foreach(conn_visit_fn *, void *);
size_t		 conn_sendq(const struct conn *);
void		 conn_shutdown_all(void (*done)(void));
void		 conn_free_all(void);

#endif
