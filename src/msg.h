/* The immutable, refcounted chat event shared by every recipient. */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "protocol.h"

enum msg_kind {
	MSG_SAY,	/* room, from, text */
	MSG_ACTION,	/* room, from, text */
	MSG_PRIVATE,	/* from, to, text */
	MSG_JOIN,	/* room, from */
	MSG_PART,	/* room, from, text (reason, may be empty) */
	MSG_QUIT,	/* from, text (reason) */
	MSG_NICK,	/* from (old nick), to (new nick) */
	MSG_TOPIC,	/* room, from, text */
	MSG_NOTICE,	/* from (who speaks for the server), text */
	MSG_ROOM_NOTICE,	/* room, from, text: IRC's NOTICE to a room */
	MSG_PRIVATE_NOTICE,	/* from, to, text: IRC's NOTICE to a nick */
	MSG_MODE,	/* room, from, text: the changes, "+o-v alice bob" */
	MSG_KICK,	/* room, from, to (who is put out), text (reason) */
	MSG_INVITE,	/* room, from, to (who is invited) */
	MSG_AWAY,	/* from, text (empty: back); to IRC's away-notify */
	MSG_SETNAME,	/* from, text (the real name); to IRC's setname */
};

/*
 * A message as the wire protocol renders it, shared by reference with the
 * output queues of the recipients (big messages, conn-output.c): it lives
 * as long as its last queue holds it, not as long as the message.
 */
struct msg_wire {
	unsigned	 refs;
	size_t		 len;
	char		 data[];
};

struct host;

struct msg {
	unsigned	 refs;
	enum msg_kind	 kind;
	time_t		 time;
	unsigned	 time_ms;	/* milliseconds past time */
	uint64_t	 id;		/* unique; with a database, across
					   restarts too (msg_ids_after) */
	const char	*room;		/* "" when the kind has no room */
	const char	*from;
	const char	*to;
	const char	*text;
	/*
	 * Each protocol's rendering, made by its first delivery, shared by
	 * all the others, and dropped once the message is delivered
	 * (msg_delivered): scrollback keeps the strings only.
	 */
	struct msg_wire	*wire[PROTOCOL_NSLOTS];
	struct host	*held_by;	/* charged for it in scrollback */
	size_t		 weight;	/* msg_weight */
	char		 data[];	/* the four strings above */
};

/*
 * The work deliveries have made since start: what the connection layer
 * charges a line for (conn-input.c).  bytes is what each message weighs
 * (msg_weight) times its recipients, whatever the wire protocol.
 */
struct msg_meter {
	uint64_t	deliveries;
	uint64_t	bytes;
	uint64_t	held_back;	/* per recipient, in runs not yet out */
};
extern struct msg_meter msg_meter;

struct msg	*msg_new(enum msg_kind, const char *room, const char *from,
		    const char *to, const char *text);
struct msg	*msg_new_stored(enum msg_kind, const char *room,
		    const char *from, const char *to, const char *text,
		    uint64_t id, int64_t time_ms);
void		 msg_ids_after(uint64_t);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);
size_t		 msg_weight(const struct msg *);
void		 msg_delivered(struct msg *);
void		 msg_count_delivery(const struct msg *, size_t recipients);
size_t		 msg_live(void);
struct msg_wire	*msg_wire_new(size_t len);
struct msg_wire	*msg_wire_ref(struct msg_wire *);
void		 msg_wire_unref(struct msg_wire *);

#endif
