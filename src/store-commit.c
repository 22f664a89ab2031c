/*
 * What the writer thread does to the database: the statements it prepares
 * once, the rows each queued item writes (messages, a room's state, a
 * server ban or mute, set or lifted), and retention, in bounded steps: a
 * commit trims each room it wrote to, and the idle step goes round the
 * rooms nobody speaks in, and with max-age forgets the state of rooms gone
 * quiet.  Only the writer thread calls these, unlocked.
 */
#include <sys/queue.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_RETENTION_STEP	256	/* rows one DELETE may take */
#define STORE_ROOMS_STEP	64	/* rooms' state one idle step looks at */

/* The thread's own count of messages kept, published as the writer's. */
uint64_t		 store_thread_rows;

/* The thread's prepared statements. */
static sqlite3_stmt	*st_insert, *st_room, *st_ban, *st_unban, *st_mute,
			*st_unmute, *st_trim_room, *st_trim_age, *st_next_room,
			*st_rooms_end, *st_forget_rooms;
static char		*trim_cursor;	/* the idle step's last room */
static char		*forget_cursor;	/* the last room it looked at */

int64_t
store_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
store_prepare(sqlite3_stmt **st, const char *sql)
{
	if (*st != NULL)
		return 0;
	return sqlite3_prepare_v3(store_db.db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK ? 0 : -1;
}

int
store_commit_prepare(void)
{
	return store_prepare(&st_insert, "INSERT OR IGNORE INTO messages "
	    "(id, room, time_ms, kind, sender, target, body) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)") ||
	    store_prepare(&st_room, "INSERT INTO rooms (name, topic, "
	    "topic_by, topic_at, kept, modes, key, member_limit, bans, "
	    "operators, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11) ON CONFLICT (name) DO UPDATE SET topic = ?2, "
	    "topic_by = ?3, topic_at = ?4, kept = ?5, modes = ?6, key = ?7, "
	    "member_limit = ?8, bans = ?9, operators = ?10, updated_ms = ?11") ||
	    store_prepare(&st_ban, "INSERT OR REPLACE INTO bans (target, "
	    "reason, added, expires) VALUES (?, ?, ?, ?)") ||
	    store_prepare(&st_unban, "DELETE FROM bans WHERE target = ?") ||
	    store_prepare(&st_mute, "INSERT OR REPLACE INTO mutes (nick, "
	    "added, expires) VALUES (?, ?, ?)") ||
	    store_prepare(&st_unmute, "DELETE FROM mutes WHERE nick = ?") ||
	    store_prepare(&st_trim_room, "DELETE FROM messages WHERE id IN "
	    "(SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC "
	    "LIMIT ?3 OFFSET ?2)") ||
	    store_prepare(&st_trim_age, "DELETE FROM messages WHERE id IN "
	    "(SELECT id FROM messages WHERE time_ms < ?1 ORDER BY time_ms "
	    "LIMIT ?2)") ||
	    store_prepare(&st_next_room, "SELECT room FROM messages WHERE "
	    "room > ?1 ORDER BY room LIMIT 1") ||
	    store_prepare(&st_rooms_end, "SELECT max(name) FROM (SELECT name "
	    "FROM rooms WHERE name > ?1 ORDER BY name LIMIT ?2)") ||
	    store_prepare(&st_forget_rooms, "DELETE FROM rooms WHERE name > ?1 "
	    "AND name <= ?2 AND kept = 0 AND updated_ms < ?3 AND NOT EXISTS "
	    "(SELECT 1 FROM messages WHERE messages.room = rooms.name)");
}

void
store_commit_finalize(void)
{
	sqlite3_finalize(st_insert);
	sqlite3_finalize(st_room);
	sqlite3_finalize(st_ban);
	sqlite3_finalize(st_unban);
	sqlite3_finalize(st_mute);
	sqlite3_finalize(st_unmute);
	sqlite3_finalize(st_trim_room);
	sqlite3_finalize(st_trim_age);
	sqlite3_finalize(st_next_room);
	st_insert = st_room = st_ban = st_unban = st_mute = st_unmute = NULL;
	st_trim_room = st_trim_age = st_next_room = NULL;
	sqlite3_finalize(st_rooms_end);
	sqlite3_finalize(st_forget_rooms);
	st_rooms_end = st_forget_rooms = NULL;
	free(trim_cursor);
	trim_cursor = NULL;
	free(forget_cursor);
	forget_cursor = NULL;
}

/* Run a prepared statement to its end; SQLite's result code. */
static int
store_run(sqlite3_stmt *st)
{
	int	rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
store_write_item(const struct store_item *it)
{
	const struct store_msg	*m = &it->u.msg;
	const struct store_room	*r = &it->u.room;
	const struct store_ban	*b = &it->u.ban;
	const struct store_mute	*mu = &it->u.mute;
	sqlite3_stmt		*st;
	int			 rc;

	if (it->kind == STORE_ITEM_MSG) {
		st = st_insert;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)m->id);
		sqlite3_bind_text(st, 2, m->room, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, m->time_ms);
		sqlite3_bind_text(st, 4, store_kind_name(m->kind), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 5, m->from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, m->to, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, m->text, -1, SQLITE_STATIC);
		if ((rc = store_run(st)) == SQLITE_OK)
			store_thread_rows += (uint64_t)sqlite3_changes(store_db.db);
		return rc;
	}
	if (it->kind == STORE_ITEM_BAN && b->lifted) {
		sqlite3_bind_text(st_unban, 1, b->target, -1, SQLITE_STATIC);
		return store_run(st_unban);
	}
	if (it->kind == STORE_ITEM_BAN) {
		st = st_ban;
		sqlite3_bind_text(st, 1, b->target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, b->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, b->added);
		sqlite3_bind_int64(st, 4, b->expires);
		return store_run(st);
	}
	if (it->kind == STORE_ITEM_MUTE && mu->lifted) {
		sqlite3_bind_text(st_unmute, 1, mu->nick, -1, SQLITE_STATIC);
		return store_run(st_unmute);
	}
	if (it->kind == STORE_ITEM_MUTE) {
		sqlite3_bind_text(st_mute, 1, mu->nick, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st_mute, 2, mu->added);
		sqlite3_bind_int64(st_mute, 3, mu->expires);
		return store_run(st_mute);
	}
	st = st_room;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	if (r->topic != NULL)
		sqlite3_bind_text(st, 2, r->topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->topic_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->topic_at);
	sqlite3_bind_int(st, 5, r->kept);
	sqlite3_bind_text(st, 6, r->modes, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, r->limit);
	sqlite3_bind_text(st, 9, r->bans, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->operators, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, store_now_ms());
	return store_run(st);
}

/* One bounded step of max-per-room for room; SQLite's result code. */
static int
store_trim_room(const char *room, size_t max_per_room)
{
	int	rc;

	sqlite3_bind_text(st_trim_room, 1, room, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st_trim_room, 2, (sqlite3_int64)max_per_room);
	sqlite3_bind_int(st_trim_room, 3, STORE_RETENTION_STEP);
	if ((rc = store_run(st_trim_room)) == SQLITE_OK)
		store_thread_rows -= (uint64_t)sqlite3_changes(store_db.db);
	return rc;
}

/* One bounded step of max-age. */
static int
store_trim_age(int64_t max_age_ms)
{
	int	rc;

	sqlite3_bind_int64(st_trim_age, 1, store_now_ms() - max_age_ms);
	sqlite3_bind_int(st_trim_age, 2, STORE_RETENTION_STEP);
	if ((rc = store_run(st_trim_age)) == SQLITE_OK)
		store_thread_rows -= (uint64_t)sqlite3_changes(store_db.db);
	return rc;
}

/*
 * Idle: trim the room after the last one trimmed, so that a max-per-room
 * lowered on reload reaches the rooms nobody speaks in.
 */
static int
store_trim_next_room(size_t max_per_room)
{
	char	*room = NULL;
	int	 rc;

	sqlite3_bind_text(st_next_room, 1, trim_cursor != NULL ? trim_cursor :
	    "", -1, SQLITE_STATIC);
	if (sqlite3_step(st_next_room) == SQLITE_ROW)
		room = xstrdup((const char *)sqlite3_column_text(st_next_room,
		    0));
	sqlite3_reset(st_next_room);
	free(trim_cursor);
	trim_cursor = room;
	if (room == NULL)
		return SQLITE_OK;	/* round done; again from the first */
	rc = store_trim_room(room, max_per_room);
	return rc;
}

/*
 * Idle, with max-age: of the next rooms after the last looked at, forget
 * the state of those not kept, not written for max-age and with nothing
 * said left in the file (max-age took it).  A room still open keeps its
 * state in memory, and writes it again when it changes.
 */
static int
store_forget_rooms(int64_t max_age_ms)
{
	char	*end = NULL;
	int	 rc;

	sqlite3_bind_text(st_rooms_end, 1, forget_cursor != NULL ?
	    forget_cursor : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st_rooms_end, 2, STORE_ROOMS_STEP);
	if (sqlite3_step(st_rooms_end) == SQLITE_ROW &&
	    sqlite3_column_type(st_rooms_end, 0) != SQLITE_NULL)
		end = xstrdup((const char *)sqlite3_column_text(st_rooms_end,
		    0));
	sqlite3_reset(st_rooms_end);
	sqlite3_clear_bindings(st_rooms_end);
	if (end == NULL) {		/* round done; again from the first */
		free(forget_cursor);
		forget_cursor = NULL;
		return SQLITE_OK;
	}
	sqlite3_bind_text(st_forget_rooms, 1, forget_cursor != NULL ?
	    forget_cursor : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st_forget_rooms, 2, end, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st_forget_rooms, 3, store_now_ms() - max_age_ms);
	rc = store_run(st_forget_rooms);
	free(forget_cursor);
	forget_cursor = end;
	return rc;
}

/* Commit batch in one transaction; SQLite's result code. */
int
store_commit(struct store_items *batch, const struct store_limits *lim)
{
	struct store_item	*it, *other;
	uint64_t		 rows = store_thread_rows;
	int			 rc;

	if ((rc = sqlite3_exec(store_db.db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK)
		return rc;
	TAILQ_FOREACH(it, batch, entry) {
		if ((rc = store_write_item(it)) != SQLITE_OK)
			goto fail;
	}
	/* Each room spoken in gets one step of its limit, once. */
	TAILQ_FOREACH(it, batch, entry) {
		if (lim->max_per_room == 0 || it->kind != STORE_ITEM_MSG)
			continue;
		for (other = TAILQ_FIRST(batch); other != it;
		    other = TAILQ_NEXT(other, entry)) {
			if (other->kind == STORE_ITEM_MSG &&
			    strcmp(other->u.msg.room, it->u.msg.room) == 0)
				break;
		}
		if (other == it && (rc = store_trim_room(it->u.msg.room,
		    lim->max_per_room)) != SQLITE_OK)
			goto fail;
	}
	if (lim->max_age_ms > 0 &&
	    (rc = store_trim_age(lim->max_age_ms)) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_exec(store_db.db, "COMMIT", NULL, NULL, NULL)) ==
	    SQLITE_OK)
		return SQLITE_OK;
fail:
	sqlite3_exec(store_db.db, "ROLLBACK", NULL, NULL, NULL);
	store_thread_rows = rows;
	return rc;
}

/* A retention step on its own, when nothing is queued. */
void
store_commit_idle(const struct store_limits *lim)
{
	uint64_t	rows = store_thread_rows;

	if (lim->max_per_room == 0 && lim->max_age_ms == 0)
		return;
	if (sqlite3_exec(store_db.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return;
	if ((lim->max_age_ms == 0 || (store_trim_age(lim->max_age_ms) ==
	    SQLITE_OK && store_forget_rooms(lim->max_age_ms) == SQLITE_OK)) &&
	    (lim->max_per_room == 0 ||
	    store_trim_next_room(lim->max_per_room) == SQLITE_OK) &&
	    sqlite3_exec(store_db.db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return;
	sqlite3_exec(store_db.db, "ROLLBACK", NULL, NULL, NULL);
	store_thread_rows = rows;
}
