/* Rooms: membership, topics, scrollback and fan-out.  No wire format here. */
#ifndef CHATD_ROOM_H
#define CHATD_ROOM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msg.h"
#include "room-mode.h"
#include "session.h"

#define TOPIC_MAX	300	/* bytes */
#define ROOM_RUN_MAX	256	/* messages in one fan-out run */

struct host;

struct room {
	char		  name[NAME_ROOM_MAX + 1];
	char		 *topic;		/* NULL: none */
	char		  topic_by[NAME_NICK_MAX + 1];
	time_t		  topic_at;
	struct session	**members;		/* sorted by nick */
	unsigned char	 *member_status;	/* ROOM_OPERATOR, ROOM_VOICE */
	size_t		  nmembers, members_cap;
	struct room_modes modes;
	struct msg	**scroll;		/* ring of the latest messages */
	size_t		  scroll_cap, scroll_len, scroll_next;
	uint64_t	  messages;		/* said since creation */
	time_t		  created, last_activity;
	int		  persistent;		/* kept when empty */
	struct host	 *held_by;		/* its creator's, charged */
	size_t		  held;
};

/*
 * Sees every room event after the members (chatctl tail, the history
 * writer): m names its room, or, for a nick change or a quit, s is the
 * session whose rooms it concerns; for a private message, its addressee.
 * Like a deliver function it may only queue output.
 */
typedef void	 room_observer_fn(const struct msg *m, const struct session *s);

void		 room_configure(size_t scrollback, size_t max_rooms_per_client,
		    size_t max_rooms);
void		 room_observe(room_observer_fn *, int with_private);
void		 room_unobserve(room_observer_fn *);
void		 room_batch(void (*hold)(void));
void		 room_flush(void);
struct room	*room_find(const char *);
struct room	*room_after(const char *);
size_t		 room_member_after(const struct room *, const char *nick);
size_t		 room_member_index(const struct room *,
		    const struct session *);
enum chat_result room_set_nick(struct session *, const char *);
void		 room_keep(const char *);
enum chat_result room_join(struct session *, const char *, const char *key,
		    struct room **, int *rejoined);
enum chat_result room_part(struct session *, struct room *, const char *reason);
void		 room_quit(struct session *, const char *reason);
void		 room_leave(struct room *, struct session *);
void		 room_close(struct room *, const char *reason);
enum chat_result room_say(struct room *, struct session *, enum msg_kind,
		    const char *text);
enum chat_result room_set_topic(struct room *, struct session *,
		    const char *text);
void		 room_fanout(struct room *, struct msg *);
void		 room_deliver_to(struct session *, struct msg *);
void		 room_fanout_about(struct room *, struct session *,
		    struct msg *);
struct msg	*room_join_message(const struct room *,
		    const struct session *);
void		 room_fanout_neighbours(struct session *, struct msg *,
		    int include_self);
struct room	*room_restore(const char *);
void		 room_restore_topic(struct room *, const char *topic,
		    const char *by, time_t);
size_t		 room_count(void);
void		 room_foreach(void (*)(struct room *, void *), void *);
void		 room_free_all(void);

/* room-announce.c: who a big room is told of (announce-members-max) */
void		 room_announce_configure(size_t max);
unsigned char	 room_join_standing(const struct room *);
int		 room_announced(const struct room *, const struct session *);
void		 room_announce(struct room *, struct session *);

/* room-scroll.c: the scrollback ring of each room */
void		 room_scroll_configure(size_t scrollback);
size_t		 room_scroll_depth(void);
void		 room_scrollback_push(struct room *, struct msg *,
		    struct host *);
void		 room_history(const struct room *, size_t,
		    void (*)(struct msg *, void *), void *);
void		 room_restore_line(struct room *, struct msg *);
void		 room_forget(struct room *);

#endif
