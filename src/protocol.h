/*
 * A wire protocol as the connection layer sees it: one table of operations
 * per protocol, chosen per listener.  conn*.c and listen.c call these and
 * never name a protocol or write its text; adding a protocol adds a table.
 */
#ifndef CHATD_PROTOCOL_H
#define CHATD_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
struct conn;
struct evbuffer;

/* Which rendering of a message a protocol keeps (struct msg's wire[]). */
enum protocol_slot {
	PROTOCOL_LINE,
	PROTOCOL_IRC,		/* without tags */
	PROTOCOL_IRC_TIME,	/* with server-time's time tag */
	PROTOCOL_IRC_TAGS,	/* with message-tags': time and msgid */
	PROTOCOL_NSLOTS
};

struct protocol {
	const char	*name;		/* "line", "irc": chatctl clients */
	enum protocol_slot slot;

	/* The longest line a client may send, terminator excluded. */
	size_t		(*max_line)(const struct config *);
	/*
	 * Client text made safe to parse and relay (text.h): out has room
	 * for TEXT_SANITIZE_MAX(len); returns the length.  What survives
	 * (IRC's CTCP marker, formatting codes) is the protocol's decision.
	 */
	size_t		(*sanitize)(const char *in, size_t len, char *out);

	/* The connection is ready (after its TLS handshake): greet. */
	void		(*connected)(struct conn *);
	/* One sanitized line; line[len] is writable. */
	void		(*line)(struct conn *, char *line, size_t len);
	void		(*line_too_long)(struct conn *, size_t max);
	/* The connection is going: leave the rooms, free the state. */
	void		(*disconnected)(struct conn *, const char *reason);
	/*
	 * The last words to a client being closed with code (chatd-
	 * protocol(7) BYE codes) and reason, appended to out.
	 */
	void		(*goodbye)(struct conn *, struct evbuffer *out,
			    const char *code, const char *reason);
	/*
	 * What tells a skipping client (conn-skip.c) that it lost count
	 * messages of room, ids first to last, appended to out.
	 */
	void		(*skipped)(struct conn *, struct evbuffer *out,
			    const char *room, uint64_t first, uint64_t last,
			    size_t count);
	/*
	 * The one line a refused client gets before any connection exists,
	 * into buf (NUL-terminated, cut to size); returns its length.
	 */
	size_t		(*refusal)(char *buf, size_t size, const char *code,
			    const char *reason);
	/* Who the client is, for the log: a nick, or "-". */
	const char	*(*client_name)(const struct conn *);
	/* Bytes the protocol's own state for c holds (NULL: none). */
	size_t		(*held)(const struct conn *);

	/*
	 * Optional, for a protocol whose limits are not one line length:
	 * whether a framed line, as the client sent it (before sanitizing
	 * grows or shrinks it), is within them; if not, line_too_long.
	 */
	int		(*line_fits)(const char *raw, size_t len);

	/*
	 * Optional timers, kept by the connection layer at no cost of their
	 * own.  deadline: by when (time(3)) the client must have done
	 * something, 0 for no deadline; the connection's timer calls
	 * expired once it has passed (expired closes the client, or its
	 * deadline moved on).  Ask again with conn_timers_changed.
	 */
	time_t		(*deadline)(const struct conn *);
	void		(*expired)(struct conn *);
	/*
	 * silence: how many seconds without a byte from the client make it
	 * silent (then silent is called), in place of idle-timeout; 0 for
	 * never.  silent may close the client or, having asked for another
	 * silence, keep it.
	 */
	size_t		(*silence)(const struct conn *);
	void		(*silent)(struct conn *);
};

#endif
