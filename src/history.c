/*
 * What the rooms say, kept: the bridge between the rooms and the store.
 *
 * At start, before the loop runs, the rooms the database knows come back
 * with their topics, modes, keys, limits, bans and remembered operators and
 * the latest lines of each (as many as scrollback keeps), the server's bans
 * and mutes come back with their expiry, and message ids go on after the
 * highest one kept.  A restored
 * room has no members; like any room it goes when the last of its next
 * members leaves, unless it is kept.  At most max-rooms are restored, the
 * most recently spoken in first.
 *
 * While the loop runs, the history writer is a room observer: it sees each
 * event once, after the members got it, and queues what is kept (room
 * messages and actions, topic changes, private messages only with
 * history-private; a room's state when it is made and after a topic or
 * mode change) for the writer thread; server bans and mutes are seen by
 * the observers of ban.c and mute.c.  A full queue costs the row, never the
 * chat (stats: history_dropped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "config.h"
#include "history.h"
#include "log.h"
#include "msg.h"
#include "mute.h"
#include "room.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

#define HISTORY_BATCH	512	/* rows that make a commit before its time */

static struct store_limits	history_limits;
static int			history_private;
static size_t			history_scrollback;

void
history_configure(const struct config *c)
{
	history_limits.queue_max = c->history_queue;
	history_limits.queue_bytes = c->history_queue_memory;
	history_limits.commit_ms = (unsigned)c->history_commit_interval;
	history_limits.batch_max = HISTORY_BATCH;
	history_limits.max_age_ms = (int64_t)c->history_max_age * 1000;
	history_limits.max_per_room = c->history_max_per_room;
	history_private = (int)c->history_private;
	history_scrollback = c->scrollback;
	if (store_is_open())
		store_configure(&history_limits);
}

/*
 * Each line of a room's list as kept ("MASK BY WHEN" for bans, "NICK
 * ADDRESS" for operators: no spaces in any word) split in its n words.
 */
static void
history_each_line(struct room *r, const char *list, size_t n,
    void (*cb)(struct room *, char **))
{
	char	*copy = xstrdup(list), *line, *next, *word[3];
	size_t	 i;

	for (line = copy; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (i = 0; i < n; i++)
			if ((word[i] = strtok(i == 0 ? line : NULL, " ")) ==
			    NULL)
				break;
		if (i == n)
			cb(r, word);
	}
	free(copy);
}

static void
history_restore_ban_line(struct room *r, char **word)
{
	room_ban_restore(r, word[0], word[1], (time_t)strtoll(word[2], NULL,
	    10));
}

static void
history_restore_op_line(struct room *r, char **word)
{
	room_op_restore(r, word[0], word[1]);
}

static void
history_restore_state(const struct store_room *sr, void *arg)
{
	struct room	*r;

	if ((r = room_restore(sr->name)) == NULL)
		return;
	if (sr->topic != NULL)
		room_restore_topic(r, sr->topic, sr->topic_by,
		    (time_t)sr->topic_at);
	room_mode_restore(r, sr->modes, sr->key, (size_t)sr->limit);
	history_each_line(r, sr->bans, 3, history_restore_ban_line);
	history_each_line(r, sr->operators, 2, history_restore_op_line);
}

static void
history_restore_ban(const struct store_ban *b, void *arg)
{
	if (ban_restore(b->target, (time_t)b->added, (time_t)b->expires,
	    b->reason) == 0)
		(*(size_t *)arg)++;
}

static void
history_restore_mute(const struct store_mute *m, void *arg)
{
	if (mute_restore(m->nick, (time_t)m->added, (time_t)m->expires) == 0)
		(*(size_t *)arg)++;
}

static void
history_restore_line(const struct store_msg *sm, void *arg)
{
	struct room	*r = arg;
	struct msg	*m;

	m = msg_new_stored(sm->kind, r->name, sm->from, sm->to, sm->text,
	    sm->id, sm->time_ms);
	room_restore_line(r, m);
	msg_unref(m);
}

static void
history_restore_room(const char *name, void *arg)
{
	struct room	*r;
	size_t		*rooms = arg;

	if ((r = room_restore(name)) == NULL)
		return;
	(*rooms)++;
	if (store_load_recent(r->name, history_scrollback,
	    history_restore_line, r) == -1)
		log_warnx("history: %s: its lines could not be read", name);
}

/*
 * Open the configured database (none: nothing to do) and restore the
 * rooms from it.  -1 and *cause naming the file if it cannot be used.
 */
int
history_open(const struct config *c, char **cause)
{
	const char	*path = config_database(c);
	size_t		 rooms = 0, bans = 0, mutes = 0;

	if (path == NULL)
		return 0;
	if (store_open(path, cause) == -1)
		return -1;
	msg_ids_after(store_max_id());
	/*
	 * The rooms spoken in last first, with their lines: when more rooms
	 * are kept than max-rooms, these are the ones that come back.  Then
	 * the states, of those and, while there is room, of the others.
	 */
	if (store_load_room_names(c->max_rooms, history_restore_room,
	    &rooms) == -1 || store_load_rooms(history_restore_state, NULL) ==
	    -1 || store_load_bans(history_restore_ban, &bans) == -1 ||
	    store_load_mutes(history_restore_mute, &mutes) == -1)
		log_warnx("history: %s: not all could be read", path);
	log_info("history: %s: %zu rooms, %zu bans and %zu mutes restored, "
	    "messages go on after id %llu", path, rooms, bans, mutes,
	    (unsigned long long)store_max_id());
	return 0;
}

/* Append one line to a list being made (*list NULL: empty). */
static void
history_list_add(char **list, const char *line)
{
	char	*more;

	xasprintf(&more, "%s%s\n", *list != NULL ? *list : "", line);
	free(*list);
	*list = more;
}

/* r's state, after a change of its topic, modes or operators. */
static void
history_put_room(const struct room *r)
{
	struct store_room	 sr;
	char			 modes[16], *bans = NULL, *ops = NULL;
	char			 line[ROOM_MASK_MAX + NAME_NICK_MAX + 32];
	size_t			 i;

	room_mode_flags(r, modes, sizeof modes);
	for (i = 0; i < r->modes.nbans; i++) {
		snprintf(line, sizeof line, "%s %s %lld",
		    r->modes.bans[i].mask, r->modes.bans[i].by,
		    (long long)r->modes.bans[i].when);
		history_list_add(&bans, line);
	}
	for (i = 0; i < r->modes.nops; i++) {
		snprintf(line, sizeof line, "%s %s", r->modes.ops[i].nick,
		    r->modes.ops[i].address);
		history_list_add(&ops, line);
	}
	sr.name = r->name;
	sr.topic = r->topic;
	sr.topic_by = r->topic_by;
	sr.topic_at = r->topic_at;
	sr.kept = r->persistent;
	sr.modes = modes;
	sr.key = r->modes.key;
	sr.limit = (int64_t)r->modes.limit;
	sr.bans = bans != NULL ? bans : "";
	sr.operators = ops != NULL ? ops : "";
	if (store_put_room(&sr) == -1)
		stats.history_dropped++;
	free(bans);
	free(ops);
}

static void
history_observe(const struct msg *m, const struct session *s)
{
	struct store_msg	 sm;
	const struct room	*r;

	switch (m->kind) {
	case MSG_MODE:
		if ((r = room_find(m->room)) != NULL)
			history_put_room(r);
		return;
	case MSG_JOIN:
		/* A room made: its creator is remembered as its operator. */
		if ((r = room_find(m->room)) != NULL && r->nmembers == 1 &&
		    (r->member_status[0] & ROOM_OPERATOR))
			history_put_room(r);
		return;
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_TOPIC:
		if (*m->room == '\0')
			return;
		break;
	case MSG_PRIVATE:
		if (!history_private)
			return;
		break;
	default:
		return;
	}
	sm.id = m->id;
	sm.time_ms = (int64_t)m->time * 1000 + m->time_ms;
	sm.kind = m->kind;
	sm.room = m->room;
	sm.from = m->from;
	sm.to = m->to;
	sm.text = m->text;
	if (store_put_msg(&sm) == -1)
		stats.history_dropped++;
	if (m->kind == MSG_TOPIC && (r = room_find(m->room)) != NULL)
		history_put_room(r);
}

static void
history_observe_ban(const struct ban *b, int lifted)
{
	struct store_ban	sb;

	sb.target = b->target;
	sb.reason = b->reason;
	sb.added = b->added;
	sb.expires = b->expires;
	sb.lifted = lifted;
	if (store_put_ban(&sb) == -1)
		stats.history_dropped++;
}

static void
history_observe_mute(const struct mute *mu, int lifted)
{
	struct store_mute	sm;

	sm.nick = mu->nick;
	sm.added = mu->added;
	sm.expires = mu->expires;
	sm.lifted = lifted;
	if (store_put_mute(&sm) == -1)
		stats.history_dropped++;
}

/* The loop is about to run: write from now on. */
void
history_start(struct event_base *base)
{
	if (!store_is_open())
		return;
	store_start(base, &history_limits);
	room_observe(history_observe, 1);
	ban_observe(history_observe_ban);
	mute_observe(history_observe_mute);
}

/* After the loop: what is queued is committed, then the file closed. */
void
history_stop(void)
{
	if (!store_is_open())
		return;
	room_unobserve(history_observe);
	ban_observe(NULL);
	mute_observe(NULL);
	store_stop();
	store_close();
}
