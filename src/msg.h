/* The immutable, refcounted chat event shared by every recipient. */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>
#include <time.h>

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
};

struct msg {
	unsigned	 refs;
	enum msg_kind	 kind;
	time_t		 time;
	const char	*room;		/* "" when the kind has no room */
	const char	*from;
	const char	*to;
	const char	*text;
	/*
	 * The wire protocol's rendering, made by the first delivery and
	 * shared by all the others: the room module never formats.
	 */
	char		*wire;
	size_t		 wire_len;
	char		 data[];	/* the four strings above */
};

struct msg	*msg_new(enum msg_kind, const char *room, const char *from,
		    const char *to, const char *text);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);

#endif
