/*
 * Room moderation, the same for every protocol: operators and voiced
 * members, the room's modes, its key, member limit, bans and invitations.
 */
#ifndef CHATD_ROOM_MODE_H
#define CHATD_ROOM_MODE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "name.h"
#include "session.h"

/* A member's standing in a room (struct room's member_status). */
#define ROOM_OPERATOR	0x1
#define ROOM_VOICE	0x2
#define ROOM_STANDING	(ROOM_OPERATOR | ROOM_VOICE)
#define ROOM_UNANNOUNCED 0x4	/* joined a big room unseen (room-announce.c) */

/* A room's flags, one letter each (room_mode_letters). */
#define ROOM_INVITE_ONLY	0x1	/* i */
#define ROOM_MODERATED		0x2	/* m */
#define ROOM_NO_EXTERNAL	0x4	/* n */
#define ROOM_TOPIC_LOCKED	0x8	/* t */

#define ROOM_KEY_MAX		23	/* bytes of a key */
#define ROOM_MASK_MAX		(2 * NAME_NICK_MAX + 64) /* nick!user@host */
#define ROOM_MODE_CHANGES_MAX	4	/* with an argument, in one request */
#define ROOM_OPS_KEPT_MAX	32	/* operators a room remembers */
#define ROOM_ADDRESS_MAX	63	/* a host's name (host.c), "a:b::/64" */

struct room_ban {
	char		 mask[ROOM_MASK_MAX + 1];
	char		 by[NAME_NICK_MAX + 1];
	time_t		 when;
};

/* One its room made operator: who gets it back on joining (room-mode.c). */
struct room_op {
	char		 nick[NAME_NICK_MAX + 1];
	char		 address[ROOM_ADDRESS_MAX + 1];
};

struct room_modes {
	unsigned	 flags;
	char		 key[ROOM_KEY_MAX + 1];		/* "": none */
	size_t		 limit;				/* 0: none */
	struct room_ban	*bans;
	size_t		 nbans;
	struct room_op	*ops;		/* remembered, oldest first */
	size_t		 nops;
	uint64_t	*invited;	/* a ring of the latest session ids, */
	uint32_t	 invited_cap;	/* made by the first invitation */
	uint32_t	 invited_next;
};

/* Why one change of a mode request was not made, for the protocol. */
enum room_mode_refusal {
	ROOM_MODE_UNKNOWN,	/* no such mode letter */
	ROOM_MODE_NO_ARGUMENT,	/* it needs one */
	ROOM_MODE_NO_SUCH_NICK,
	ROOM_MODE_NOT_MEMBER,	/* the nick is not in the room */
	ROOM_MODE_BAD_ARGUMENT,	/* a key, limit or mask that cannot be */
	ROOM_MODE_BANS_FULL,	/* max-bans-per-room */
	ROOM_MODE_TOO_MANY,	/* over ROOM_MODE_CHANGES_MAX */
	ROOM_MODE_UNCHANGED,	/* the end: nothing was changed */
};
typedef void	 room_mode_refused_fn(void *arg, enum room_mode_refusal,
		    char letter, const char *argument);

struct room;
struct session;

void		 room_mode_configure(size_t max_bans, size_t max_invites);
size_t		 room_mode_max_bans(void);
void		 room_mode_free(struct room *);
unsigned	 room_member_status(const struct room *,
		    const struct session *);
int		 room_is_operator(const struct room *, const struct session *);
int		 room_ban_covers(const struct room *, const struct session *);
enum chat_result room_may_join(const struct room *,
		    const struct session *, const char *key);
enum chat_result room_may_speak(const struct room *,
		    const struct session *);
enum chat_result room_may_set_topic(const struct room *,
		    const struct session *);
unsigned	 room_mode_admit(struct room *, const struct session *,
		    unsigned status);
enum chat_result room_mode_change(struct room *, struct session *by,
		    const char *changes, char *const *args, size_t nargs,
		    room_mode_refused_fn *, void *arg);
size_t		 room_mode_string(const struct room *, char *, size_t,
		    int with_key);
void		 room_mode_flags(const struct room *, char *, size_t);
void		 room_mode_restore(struct room *, const char *letters,
		    const char *key, size_t limit);
int		 room_ban_restore(struct room *, const char *mask,
		    const char *by, time_t);
int		 room_op_restore(struct room *, const char *nick,
		    const char *address);
enum chat_result room_kick(struct room *, struct session *by,
		    struct session *who, const char *reason);
enum chat_result room_invite(struct room *, struct session *by,
		    struct session *who);
int		 room_mask_match(const char *mask, const char *name);

#endif
