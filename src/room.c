/*
 * Rooms route chat events to their members.  A message is built once and
 * handed by reference to each member's deliver function, so the cost of an
 * event grows with the room, never with the server.  Fan-out only delivers:
 * deliver functions must not free sessions or change membership (a client
 * that must go is marked and torn down after the fan-out returns).  Every
 * delivery is counted (msg_count_delivery): it is the work lines are
 * charged for.
 *
 * Rooms are kept in an array sorted by name without regard to case, and a
 * room's members in one sorted by nick: lookups are binary searches, and a
 * listing can be produced in pieces that resume after the last name sent
 * (the protocol pages big answers).  A room disappears with its last
 * member unless it is kept (the default room).  At most max-rooms exist;
 * a new one is charged to its creator's host, and a line said in one is
 * kept in scrollback only while its speaker's host and the daemon are
 * within their memory budget (host.c): what gives way is what is kept,
 * never what is said.
 *
 * Fan-out runs: once the daemon turns them on (room_batch),
 * consecutive messages to the same room are kept as one run and handed to
 * each member at once, so a member costs one append per run, not one per
 * message.  A run is delivered before anything that could reorder it: a
 * message to another room, a neighbours fan-out, a membership change, any
 * other output to any client (the hold callback), and at the latest at the
 * end of the loop iteration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "name.h"
#include "room.h"
#include "room-mode.h"
#include "stats.h"
#include "xmalloc.h"

/* What a room costs its creator's host: itself, a topic, its ring. */
#define ROOM_COST(scroll)	(sizeof(struct room) + TOPIC_MAX + \
				    (scroll) * sizeof(struct msg *))

static struct room **room_list;	/* sorted by name, without case */
static size_t	 room_total, room_cap;
static size_t	 room_max_per_session = 20;
static size_t	 room_max = 10000;
static uint64_t	 room_mark;	/* generation for room_fanout_neighbours */
static struct room *room_kept;	/* the default room */
#define ROOM_OBSERVERS_MAX	4
static struct {
	room_observer_fn	*fn;
	int			 with_private;
} room_observers[ROOM_OBSERVERS_MAX];

static struct room	*run_room;	/* NULL: no run pending */
static struct msg	*run_msgs[ROOM_RUN_MAX];
static size_t		 run_len;
static uint64_t		 run_serial;
static void		(*run_hold)(void);

static const char *
room_name_of(const void *room)
{
	return ((const struct room *)room)->name;
}

static const char *
room_nick_of(const void *session)
{
	return ((const struct session *)session)->nick;
}

/*
 * The index of the first of n items, sorted by name without regard to
 * case, whose name is not below key; *found if it is key.
 */
static size_t
room_bound(void *const *items, size_t n, const char *(*name)(const void *),
    const char *key, int *found)
{
	size_t	lo = 0, hi = n, mid;
	int	cmp;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = name_compare(name(items[mid]), key);
		if (cmp == 0) {
			*found = 1;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
room_lower_bound(const char *name, int *found)
{
	return room_bound((void *const *)room_list, room_total, room_name_of,
	    name, found);
}

static size_t
room_member_bound(const struct room *r, const char *nick, int *found)
{
	return room_bound((void *const *)r->members, r->nmembers,
	    room_nick_of, nick, found);
}

void
room_configure(size_t scrollback, size_t max_rooms_per_client,
    size_t max_rooms)
{
	room_scroll_configure(scrollback);
	room_max_per_session = max_rooms_per_client;
	room_max = max_rooms;
}

/* Add an observer; with_private, it also sees private messages. */
void
room_observe(room_observer_fn *fn, int with_private)
{
	size_t	i;

	for (i = 0; i < ROOM_OBSERVERS_MAX; i++) {
		if (room_observers[i].fn == NULL) {
			room_observers[i].fn = fn;
			room_observers[i].with_private = with_private;
			return;
		}
	}
	fatalx("more than %d room observers", ROOM_OBSERVERS_MAX);
}

void
room_unobserve(room_observer_fn *fn)
{
	size_t	i;

	for (i = 0; i < ROOM_OBSERVERS_MAX; i++) {
		if (room_observers[i].fn == fn)
			room_observers[i].fn = NULL;
	}
}

static void
room_notify(const struct msg *m, const struct session *s, int private)
{
	size_t	i;

	for (i = 0; i < ROOM_OBSERVERS_MAX; i++) {
		if (room_observers[i].fn != NULL &&
		    (!private || room_observers[i].with_private))
			room_observers[i].fn(m, s);
	}
}

/*
 * Deliver runs: members whose client takes them (session_ops deliver_run)
 * get a whole run at once, others one message at a time; hold is called
 * when a run starts and must make sure room_flush runs before any other
 * output.  With hold NULL every message is delivered at once (the
 * default).
 */
void
room_batch(void (*hold)(void))
{
	room_flush();
	run_hold = hold;
}

/* Deliver the pending run, if any, to the members of its room. */
void
room_flush(void)
{
	struct room	*r = run_room;
	struct msg	*msgs[ROOM_RUN_MAX];
	struct session	*s;
	size_t		 n = run_len, i, j;

	if (r == NULL)
		return;
	/* Taken out first: what the members' output triggers sees no run. */
	memcpy(msgs, run_msgs, n * sizeof *msgs);
	run_room = NULL;
	run_len = 0;
	msg_meter.held_back = 0;
	run_serial++;
	for (i = 0; i < r->nmembers; i++) {
		s = r->members[i];
		if (n > 1 && s->ops->deliver_run != NULL)
			s->ops->deliver_run(s, msgs, n, run_serial);
		else
			for (j = 0; j < n; j++)
				session_deliver(s, msgs[j]);
	}
	for (j = 0; j < n; j++) {
		msg_delivered(msgs[j]);
		msg_unref(msgs[j]);
	}
}

struct room *
room_find(const char *name)
{
	size_t	i;
	int	found;

	i = room_lower_bound(name, &found);
	return found ? room_list[i] : NULL;
}

/* The first room whose name sorts after name ("": the first), or NULL. */
struct room *
room_after(const char *name)
{
	size_t	i;
	int	found;

	i = room_lower_bound(name, &found);
	i += found;
	return i < room_total ? room_list[i] : NULL;
}

/* Index of the first member of r whose nick sorts after nick (""). */
size_t
room_member_after(const struct room *r, const char *nick)
{
	size_t	i;
	int	found;

	i = room_member_bound(r, nick, &found);
	return i + found;
}

/* A new room in its place in the list, charged to host (NULL: none). */
static struct room *
room_insert(const char *name, struct host *host)
{
	struct room	*r = xcalloc(1, sizeof *r);
	size_t		 i;
	int		 found;

	strcpy(r->name, name);
	r->created = r->last_activity = time(NULL);
	r->modes.flags = ROOM_NO_EXTERNAL;
	r->held_by = host;
	r->held = ROOM_COST(room_scroll_depth());
	host_hold(host, (int64_t)r->held);
	i = room_lower_bound(name, &found);
	if (room_total == room_cap) {
		room_cap = room_cap ? room_cap * 2 : 16;
		room_list = xreallocarray(room_list, room_cap,
		    sizeof *room_list);
	}
	memmove(&room_list[i + 1], &room_list[i],
	    (room_total - i) * sizeof *room_list);
	room_list[i] = r;
	room_total++;
	return r;
}

/*
 * A room a client makes: at most max-rooms besides the kept one, and only
 * while the client's host may hold it.  NULL and *why if not.
 */
static struct room *
room_create(const char *name, struct host *host, enum chat_result *why)
{
	if (room_total - (room_kept != NULL) >= room_max) {
		*why = CHAT_ROOMS_FULL;
		return NULL;
	}
	if (!host_may_hold(host, ROOM_COST(room_scroll_depth()))) {
		*why = CHAT_OVER_BUDGET;
		return NULL;
	}
	return room_insert(name, host);
}

static void	room_free_node(struct room *);

static void
room_destroy(struct room *r)
{
	size_t	i;
	int	found;

	if (run_room == r)	/* a kept room that nobody is in any more */
		room_flush();
	i = room_lower_bound(r->name, &found);
	memmove(&room_list[i], &room_list[i + 1],
	    (room_total - i - 1) * sizeof *room_list);
	room_total--;
	room_free_node(r);
}

static void
room_destroy_if_unused(struct room *r)
{
	if (r->nmembers == 0 && !r->persistent)
		room_destroy(r);
}

/*
 * Keep the named room even when empty (the default room); only one is kept,
 * and none after room_keep(NULL).
 */
void
room_keep(const char *name)
{
	struct room	*r = name != NULL ? room_find(name) : NULL;

	if (r == NULL && name != NULL)	/* the daemon's: max-rooms is clients' */
		r = room_insert(name, NULL);
	if (room_kept != NULL && room_kept != r) {
		room_kept->persistent = 0;
		room_destroy_if_unused(room_kept);
	}
	if (r != NULL)
		r->persistent = 1;
	room_kept = r;
}

void
room_fanout(struct room *r, struct msg *m)
{
	size_t	i;

	msg_count_delivery(m, r->nmembers);
	if (run_hold != NULL) {
		if (run_room != r || run_len == ROOM_RUN_MAX)
			room_flush();
		if (run_room == NULL) {
			run_room = r;
			run_hold();
		}
		run_msgs[run_len++] = msg_ref(m);
		msg_meter.held_back += msg_weight(m);
	} else {
		for (i = 0; i < r->nmembers; i++)
			session_deliver(r->members[i], m);
		msg_delivered(m);
	}
	room_notify(m, NULL, 0);
}

/*
 * Deliver m to s alone: a private message, a notice.  Observers that asked
 * see a private message once, as it reaches its addressee (the sender's
 * echo is a second delivery of the same message).
 */
void
room_deliver_to(struct session *s, struct msg *m)
{
	room_flush();
	msg_count_delivery(m, 1);
	session_deliver(s, m);
	if (m->kind == MSG_PRIVATE && name_compare(s->nick, m->to) == 0)
		room_notify(m, s, 1);
}

/*
 * m is an event of s's in r (its join, its part): the room hears it if it
 * has been told of s, s alone if not (room-announce.c); observers always.
 */
void
room_fanout_about(struct room *r, struct session *s, struct msg *m)
{
	if (room_announced(r, s)) {
		room_fanout(r, m);
		return;
	}
	room_flush();
	msg_count_delivery(m, 1);
	session_deliver(s, m);
	room_notify(m, NULL, 0);
}

/*
 * Deliver m once to everyone who shares a room with s and, if include_self,
 * to s: a nick change or a quit reaches each neighbour exactly once.  A
 * room that was never told of s hears nothing of it.
 */
void
room_fanout_neighbours(struct session *s, struct msg *m, int include_self)
{
	struct session	*member;
	size_t		 i, j, n = 0;

	room_flush();
	room_mark++;
	s->mark = room_mark;
	if (include_self) {
		session_deliver(s, m);
		n++;
	}
	for (i = 0; i < s->nrooms; i++) {
		if (!room_announced(s->rooms[i], s))
			continue;
		for (j = 0; j < s->rooms[i]->nmembers; j++) {
			member = s->rooms[i]->members[j];
			if (member->mark != room_mark) {
				member->mark = room_mark;
				session_deliver(member, m);
				n++;
			}
		}
	}
	msg_count_delivery(m, n);
	msg_delivered(m);
	room_notify(m, s, 0);
}

/* Where s is among r's members, or r->nmembers if it is not one. */
size_t
room_member_index(const struct room *r, const struct session *s)
{
	size_t	i;
	int	found;

	i = room_member_bound(r, s->nick, &found);
	return found && r->members[i] == s ? i : r->nmembers;
}

/* Put s among r's members, in nick order, with its standing. */
static void
room_insert_member(struct room *r, struct session *s, unsigned char status)
{
	size_t	i;
	int	found;

	if (r->nmembers == r->members_cap) {
		r->members_cap = r->members_cap ? r->members_cap * 2 : 4;
		r->members = xreallocarray(r->members, r->members_cap,
		    sizeof *r->members);
		r->member_status = xreallocarray(r->member_status,
		    r->members_cap, sizeof *r->member_status);
	}
	i = room_member_bound(r, s->nick, &found);
	memmove(&r->members[i + 1], &r->members[i],
	    (r->nmembers - i) * sizeof *r->members);
	memmove(&r->member_status[i + 1], &r->member_status[i],
	    (r->nmembers - i) * sizeof *r->member_status);
	r->members[i] = s;
	r->member_status[i] = status;
	r->nmembers++;
}

/* Take s out of r's members (found by its nick as it is now); its standing. */
static unsigned char
room_extract_member(struct room *r, struct session *s)
{
	size_t		i = room_member_index(r, s);
	unsigned char	status;

	if (i == r->nmembers)
		fatalx("room %s: %s is not where its nick sorts", r->name,
		    s->nick);
	status = r->member_status[i];
	memmove(&r->members[i], &r->members[i + 1],
	    (r->nmembers - i - 1) * sizeof *r->members);
	memmove(&r->member_status[i], &r->member_status[i + 1],
	    (r->nmembers - i - 1) * sizeof *r->member_status);
	r->nmembers--;
	return status;
}

static void
room_add_member(struct room *r, struct session *s, unsigned char status)
{
	room_flush();	/* a newcomer gets nothing said before it came */
	room_insert_member(r, s, status);
	s->rooms = xreallocarray(s->rooms, s->nrooms + 1, sizeof *s->rooms);
	s->rooms[s->nrooms++] = r;
}

static void
room_remove_member(struct room *r, struct session *s)
{
	size_t	i;

	room_flush();	/* a leaver gets everything said before it left */
	room_extract_member(r, s);
	for (i = 0; i < s->nrooms; i++) {
		if (s->rooms[i] == r) {
			memmove(&s->rooms[i], &s->rooms[i + 1],
			    (s->nrooms - i - 1) * sizeof *s->rooms);
			s->nrooms--;
			break;
		}
	}
}

/*
 * Change s's nick, keeping every room it is in sorted: it leaves its place
 * under the old nick and takes one under the new (or the old, on failure).
 */
enum chat_result
room_set_nick(struct session *s, const char *nick)
{
	enum chat_result	result;
	unsigned char		*status;
	size_t			i;

	room_flush();
	status = xreallocarray(NULL, s->nrooms + 1, sizeof *status);
	for (i = 0; i < s->nrooms; i++)
		status[i] = room_extract_member(s->rooms[i], s);
	result = session_set_nick(s, nick);
	for (i = 0; i < s->nrooms; i++)
		room_insert_member(s->rooms[i], s, status[i]);
	free(status);
	return result;
}

/* Make r the current room of s (the last of its rooms). */
static void
room_make_current(struct session *s, struct room *r)
{
	size_t	i;

	for (i = 0; i < s->nrooms; i++) {
		if (s->rooms[i] == r) {
			memmove(&s->rooms[i], &s->rooms[i + 1],
			    (s->nrooms - i - 1) * sizeof *s->rooms);
			s->rooms[s->nrooms - 1] = r;
			return;
		}
	}
}

/*
 * Join (creating the room if new, with s its operator) and make it
 * current, if the room's modes let s in with key (NULL: none).  Joining a
 * room one is already in only makes it current, and sets *rejoined.
 */
enum chat_result
room_join(struct session *s, const char *name, const char *key,
    struct room **out, int *rejoined)
{
	struct room		*r;
	struct msg		*m;
	enum chat_result	 result = CHAT_OK;
	unsigned char		 status;

	if (!name_room_valid(name))
		return CHAT_ROOM_INVALID;
	r = room_find(name);
	if (r != NULL && session_in_room(s, r)) {
		room_make_current(s, r);
		*out = r;
		*rejoined = 1;
		return CHAT_OK;
	}
	if (s->nrooms >= room_max_per_session)
		return CHAT_TOO_MANY_ROOMS;
	if (r != NULL && (result = room_may_join(r, s, key)) != CHAT_OK)
		return result;
	if (r == NULL) {
		if ((r = room_create(name, s->host, &result)) == NULL)
			return result;
		status = ROOM_OPERATOR;
	} else
		status = room_join_standing(r);
	status = (unsigned char)room_mode_admit(r, s, status);
	if (status & ROOM_STANDING)	/* an operator is seen joining */
		status &= (unsigned char)~ROOM_UNANNOUNCED;
	room_add_member(r, s, status);
	m = room_join_message(r, s);
	room_fanout_about(r, s, m);
	msg_unref(m);
	*out = r;
	*rejoined = 0;
	return CHAT_OK;
}

/* The JOIN of s to r; its text is s's real name (IRC's extended-join). */
struct msg *
room_join_message(const struct room *r, const struct session *s)
{
	return msg_new(MSG_JOIN, r->name, s->nick, NULL,
	    s->realname != NULL ? s->realname : "");
}

enum chat_result
room_part(struct session *s, struct room *r, const char *reason)
{
	struct msg	*m;

	if (!session_in_room(s, r))
		return CHAT_NOT_IN_ROOM;
	m = msg_new(MSG_PART, r->name, s->nick, NULL, reason);
	room_fanout_about(r, s, m);
	msg_unref(m);
	room_leave(r, s);
	return CHAT_OK;
}

/* s leaves r without a word (it has been said); r may be gone after. */
void
room_leave(struct room *r, struct session *s)
{
	room_remove_member(r, s);
	room_destroy_if_unused(r);
}

/* s is leaving the server: tell its neighbours once, then leave silently. */
void
room_quit(struct session *s, const char *reason)
{
	struct msg	*m;
	struct room	*r;

	if (s->nrooms == 0)
		return;
	m = msg_new(MSG_QUIT, NULL, s->nick, NULL, reason);
	room_fanout_neighbours(s, m, 0);	/* the quitter gets BYE */
	msg_unref(m);
	while (s->nrooms > 0) {
		r = s->rooms[s->nrooms - 1];
		room_leave(r, s);
	}
}

/* Make every member leave r, which then goes away unless it is kept. */
void
room_close(struct room *r, const char *reason)
{
	size_t	n = r->nmembers;

	/* The last member's part may free r: nothing touches r after it. */
	while (n-- > 0)
		room_part(r->members[n], r, reason);
}

/* s says text (MSG_SAY, MSG_ACTION, MSG_ROOM_NOTICE) in r, if it may. */
enum chat_result
room_say(struct room *r, struct session *s, enum msg_kind kind,
    const char *text)
{
	struct msg		*m;
	enum chat_result	 result;

	if ((result = room_may_speak(r, s)) != CHAT_OK)
		return result;
	room_announce(r, s);
	m = msg_new(kind, r->name, s->nick, NULL, text);
	r->messages++;
	r->last_activity = m->time;
	room_scrollback_push(r, m, s->host);
	room_fanout(r, m);
	msg_unref(m);
	return CHAT_OK;
}

enum chat_result
room_set_topic(struct room *r, struct session *s, const char *text)
{
	struct msg		*m;
	enum chat_result	 result;

	if ((result = room_may_set_topic(r, s)) != CHAT_OK)
		return result;
	if (strlen(text) > TOPIC_MAX)
		return CHAT_TOPIC_TOO_LONG;
	room_announce(r, s);
	free(r->topic);
	r->topic = xstrdup(text);
	strcpy(r->topic_by, s->nick);
	r->topic_at = r->last_activity = time(NULL);
	m = msg_new(MSG_TOPIC, r->name, s->nick, NULL, text);
	room_fanout(r, m);
	msg_unref(m);
	return CHAT_OK;
}

/*
 * At start, from the database: a room as it was, without members, and
 * what it had said (room_restore_line, oldest first).  It lives like any
 * room: until the last of its next members leaves, unless it is kept.
 * NULL if max-rooms is reached.
 */
struct room *
room_restore(const char *name)
{
	struct room	*r;

	if ((r = room_find(name)) != NULL)
		return r;
	if (!name_room_valid(name) || room_total >= room_max)
		return NULL;
	return room_insert(name, NULL);
}

void
room_restore_topic(struct room *r, const char *topic, const char *by,
    time_t at)
{
	free(r->topic);
	r->topic = xstrdup(topic);
	snprintf(r->topic_by, sizeof r->topic_by, "%s", by);
	r->topic_at = at;
}

size_t
room_count(void)
{
	return room_total;
}

/* Visit every room in name order; cb must not create or destroy rooms. */
void
room_foreach(void (*cb)(struct room *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < room_total; i++)
		cb(room_list[i], arg);
}

static void
room_free_node(struct room *r)
{
	room_forget(r);
	host_hold(r->held_by, -(int64_t)r->held);
	free(r->scroll);
	free(r->members);
	free(r->member_status);
	free(r->topic);
	room_mode_free(r);
	free(r);
}

/* At exit, with every session gone: free the rooms that were kept. */
void
room_free_all(void)
{
	room_flush();
	while (room_total > 0)
		room_free_node(room_list[--room_total]);
	free(room_list);
	room_list = NULL;
	room_cap = 0;
	room_kept = NULL;
}
