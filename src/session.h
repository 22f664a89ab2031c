/* A chatting identity: its nick (unique, case-insensitive) and its rooms. */
#ifndef CHATD_SESSION_H
#define CHATD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "name.h"

struct host;
struct msg;
struct room;
struct session;

/* Outcomes of chat operations; the protocol turns them into error codes. */
enum chat_result {
	CHAT_OK,
	CHAT_NICK_TAKEN,
	CHAT_NICK_INVALID,
	CHAT_ROOM_INVALID,
	CHAT_NO_SUCH_NICK,
	CHAT_NO_SUCH_ROOM,
	CHAT_NOT_IN_ROOM,
	CHAT_TOO_MANY_ROOMS,
	CHAT_TOPIC_TOO_LONG,
	CHAT_NICK_BANNED,
	CHAT_MUTED,
	CHAT_ROOMS_FULL,	/* max-rooms */
	CHAT_OVER_BUDGET,	/* max-memory, or the host's share */
	CHAT_NOT_OPERATOR,	/* of the room (room-mode.c) */
	CHAT_ROOM_BANNED,	/* a ban mask of the room covers the client */
	CHAT_INVITE_ONLY,	/* +i, and no invitation */
	CHAT_BAD_KEY,		/* +k, and not that key */
	CHAT_ROOM_FULL,		/* +l reached */
	CHAT_MODERATED,		/* +m, and neither operator nor voiced */
	CHAT_NOT_MEMBER,	/* the nick concerned is not in the room */
	CHAT_ALREADY_MEMBER,	/* the nick invited is in the room */
};

/* How events reach a session's client: the protocol's business. */
typedef void session_deliver_fn(struct session *, struct msg *);

/*
 * Delivers a run of n consecutive messages of one room to one member, in
 * order; serial is the same for every member of one run, so the protocol
 * can render the run once.  Like a deliver function it may only queue.
 */
typedef void session_run_fn(struct session *, struct msg **, size_t n,
    uint64_t serial);

/*
 * The client behind a session, whatever its protocol: how events reach it,
 * and what the admin may ask of it (describe it with struct conn_info,
 * conn.h, and close it).  The admin reaches clients only through these,
 * never through the protocol's types.
 */
struct conn_info;
struct session_ops {
	session_deliver_fn	*deliver;
	session_run_fn		*deliver_run;	/* NULL: one at a time */
	void	(*describe)(void *client, struct conn_info *);	/* NULL: */
	void	(*close)(void *client, const char *code,	/* no client */
		    const char *reason);			/* (@operator) */
};

struct session {
	uint64_t		 id;
	char			 nick[NAME_NICK_MAX + 1];
	struct room		**rooms;	/* join order: last is current */
	size_t			 nrooms;
	uint64_t		 mark;		/* fan-out de-duplication */
	time_t			 since;
	unsigned		 muted:1;	/* may not speak... */
	unsigned		 oper:1;	/* operator of every room */
	unsigned		 chosen:1;	/* its nick is one it took, */
						/* not the guest's it was given */
	time_t			 muted_until;	/* ...until then; 0: unmuted */
	char			*away;		/* why it is away; NULL: here */
	char			*realname;	/* IRC's; NULL: the nick */
	const struct session_ops *ops;
	struct host		*host;		/* charged for what it says */
	void			*client;	/* the protocol's, for ops */
};

/* A nick came into use (online) or went out of it: wire-free presence. */
typedef void	 session_presence_fn(const char *nick, int online);

void		 session_observe(session_presence_fn *);
struct session	*session_new(const struct session_ops *, void *client,
		    int (*refused)(const char *nick));
struct session	*session_new_named(const struct session_ops *,
		    const char *name);
void		 session_deliver(struct session *, struct msg *);
void		 session_free(struct session *);
struct session	*session_find(const char *nick);
struct session	*session_find_client(const char *nick);
int		 session_is_client(const struct session *);
enum chat_result session_set_nick(struct session *, const char *);
struct room	*session_current_room(const struct session *);
int		 session_in_room(const struct session *, const struct room *);
int		 session_is_muted(struct session *);
size_t		 session_count(void);
void		 session_foreach(void (*)(struct session *, void *), void *);

#endif
