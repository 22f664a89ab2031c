/*
 * Big rooms that stay cheap (announce-members-max), as IRC servers'
 * auditorium and delayed-join modes do: who joins a room that already has
 * announce-members-max members is not announced to it.  Its join, its
 * part and its neighbour events (nick, quit, away) reach itself alone in
 * that room until it speaks there or is given +o or +v; then the room
 * gets its JOIN, once, before what it said.  So a storm of joins into
 * one room costs one delivery each instead of one per member, and every
 * member's view of the room (IRC NAMES) stays the members it was told
 * of, and itself.  /who always lists everyone.
 */
#include "room.h"

static size_t	 announce_max;	/* 0: every member is announced */

void
room_announce_configure(size_t max)
{
	announce_max = max;
}

/* The standing a member joining r starts with. */
unsigned char
room_join_standing(const struct room *r)
{
	return announce_max > 0 && r->nmembers >= announce_max ?
	    ROOM_UNANNOUNCED : 0;
}

/* Whether r's members have been told that s is among them. */
int
room_announced(const struct room *r, const struct session *s)
{
	return (room_member_status(r, s) & ROOM_UNANNOUNCED) == 0;
}

/* s speaks, or gets a standing, in r: the others learn it is there. */
void
room_announce(struct room *r, struct session *s)
{
	struct msg	*m;
	size_t		 i = room_member_index(r, s), j;

	if (i == r->nmembers || !(r->member_status[i] & ROOM_UNANNOUNCED))
		return;
	r->member_status[i] &= ~ROOM_UNANNOUNCED;
	room_flush();
	m = room_join_message(r, s);
	for (j = 0; j < r->nmembers; j++)
		if (r->members[j] != s)
			session_deliver(r->members[j], m);
	msg_count_delivery(m, r->nmembers - 1);
	msg_delivered(m);
	msg_unref(m);
}
