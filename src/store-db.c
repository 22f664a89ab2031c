/*
 * The database file: opening it (one chatd per file, created 0600, WAL),
 * knowing it for ours, bringing its schema up to date one version at a
 * time, and the reads made at start, before the loop runs.
 *
 * The file is ours if its application_id says so; a file without one is
 * taken only if it is empty (new).  user_version is the schema's version:
 * migrations[i] brings version i + 1 to i + 2, each in one transaction, so
 * a file is always at a version some chatd wrote.  A newer version than
 * this chatd knows is refused: it would misread it.
 *
 * SQLite's own locks are per transaction; a second chatd writing the same
 * file would interleave its history with ours.  An flock on a descriptor
 * of the file, held as long as the connection, keeps a second one out
 * (flock and SQLite's POSIX locks do not interact on Linux).  That
 * descriptor must stay open until SQLite has closed the file: closing any
 * descriptor of a file drops a process's POSIX locks on it.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "store.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_APPLICATION_ID	0x63686174	/* "chat" */

struct store_db	store_db = { .lockfd = -1 };

/* Version 1: messages only.  tests/unit/test_store.c keeps a copy. */
static const char store_schema_v1[] =
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  room TEXT NOT NULL COLLATE NOCASE,"
	"  time_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  body TEXT NOT NULL);"
	"CREATE INDEX messages_room ON messages (room, id);";

/* Migrations: migrations[i] takes version i + 1 to i + 2. */
static const char *const migrations[] = {
	/*
	 * 2: room state (topic, modes, kept when empty), and an index for
	 * retention by age.  Topics set under version 1 are known from its
	 * history: the latest topic message of each room.
	 */
	"CREATE TABLE rooms ("
	"  name TEXT PRIMARY KEY COLLATE NOCASE,"
	"  topic TEXT,"
	"  topic_by TEXT NOT NULL DEFAULT '',"
	"  topic_at INTEGER NOT NULL DEFAULT 0,"
	"  kept INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_time ON messages (time_ms);"
	"INSERT INTO rooms (name, topic, topic_by, topic_at)"
	"  SELECT room, body, sender, time_ms / 1000 FROM messages"
	"  WHERE id IN (SELECT max(id) FROM messages WHERE kind = 'topic'"
	"  GROUP BY room);",
	/*
	 * 3: rooms' moderation (modes, key, limit, bans) and the server's
	 * bans.  Rooms of version 2 had the default modes.
	 */
	"ALTER TABLE rooms ADD COLUMN modes TEXT NOT NULL DEFAULT 'n';"
	"ALTER TABLE rooms ADD COLUMN key TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE rooms ADD COLUMN member_limit INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rooms ADD COLUMN bans TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE bans ("
	"  target TEXT PRIMARY KEY COLLATE NOCASE,"
	"  reason TEXT NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);",
	/*
	 * 4: rooms' operators as the room remembers them (nick and address,
	 * room-mode.c), and the server's mutes.  Version 3 kept neither.
	 */
	"ALTER TABLE rooms ADD COLUMN operators TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE mutes ("
	"  nick TEXT PRIMARY KEY COLLATE NOCASE,"
	"  added INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);",
	/*
	 * 5: when each room's state was last written, so that retention by
	 * age forgets rooms gone quiet.  Version 4's rows count from now.
	 */
	"ALTER TABLE rooms ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;"
	"UPDATE rooms SET updated_ms = CAST(strftime('%s', 'now') AS INTEGER)"
	"  * 1000;",
};

static const struct {
	int		 kind;
	const char	*name;
} store_kinds[] = {
	{ MSG_SAY, "say" },
	{ MSG_ACTION, "action" },
	{ MSG_TOPIC, "topic" },
	{ MSG_PRIVATE, "private" },
};

/* The kinds are stored by name: enum msg_kind's numbers may change. */
const char *
store_kind_name(int kind)
{
	size_t	i;

	for (i = 0; i < sizeof store_kinds / sizeof store_kinds[0]; i++) {
		if (store_kinds[i].kind == kind)
			return store_kinds[i].name;
	}
	return NULL;
}

int
store_kind_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof store_kinds / sizeof store_kinds[0]; i++) {
		if (strcmp(store_kinds[i].name, name) == 0)
			return store_kinds[i].kind;
	}
	return -1;
}

/* One integer from a query without parameters; -1 and *cause on error. */
static int
store_integer(sqlite3 *db, const char *sql, int64_t *out, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s", sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else
		xasprintf(cause, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
store_exec(sqlite3 *db, const char *sql, char **cause)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* PRAGMA quick_check: "ok", or the first problem it names. */
static int
store_quick_check(sqlite3 *db, char **cause)
{
	sqlite3_stmt	*st;
	const char	*s;
	int		 rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(st, 0);
		if (s != NULL && strcmp(s, "ok") == 0)
			rc = 0;
		else
			xasprintf(cause, "damaged: %s", s != NULL ? s : "?");
	} else
		xasprintf(cause, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/* Is db ours (or new), and at a version this chatd can read? */
static int
store_identify(sqlite3 *db, int64_t *version, char **cause)
{
	int64_t	app, tables;

	if (store_integer(db, "PRAGMA application_id", &app, cause) == -1 ||
	    store_integer(db, "PRAGMA user_version", version, cause) == -1 ||
	    store_integer(db, "SELECT count(*) FROM sqlite_master", &tables,
	    cause) == -1)
		return -1;
	if (app != STORE_APPLICATION_ID && (app != 0 || tables != 0 ||
	    *version != 0)) {
		xasprintf(cause, "not a chatd database (another program's "
		    "SQLite file)");
		return -1;
	}
	if (*version > STORE_SCHEMA_VERSION) {
		xasprintf(cause, "schema version %lld is newer than this chatd "
		    "knows (%d): written by a later chatd", (long long)*version,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* Bring db from version to the current schema, one step per transaction. */
static int
store_migrate(sqlite3 *db, int64_t version, char **cause)
{
	char	*sql;
	int	 rc;

	for (; version < STORE_SCHEMA_VERSION; version++) {
		xasprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA application_id = %d;"
		    " PRAGMA user_version = %lld; COMMIT;",
		    version == 0 ? store_schema_v1 : migrations[version - 1],
		    STORE_APPLICATION_ID, (long long)version + 1);
		rc = store_exec(db, sql, cause);
		free(sql);
		if (rc == -1) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/*
 * The descriptor that holds the file for this chatd; -1 and *cause if not,
 * -2 if another chatd holds it.
 */
static int
store_lock(const char *path, char **cause)
{
	int	fd, busy;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "%s", strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		busy = errno == EWOULDBLOCK;
		xasprintf(cause, "%s", busy ? "in use by another chatd" :
		    strerror(errno));
		close(fd);
		return busy ? -2 : -1;
	}
	return fd;
}

static int
store_open_db(const char *path, sqlite3 **db, int64_t *version, char **cause)
{
	*db = NULL;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "%s", *db != NULL ? sqlite3_errmsg(*db) :
		    "out of memory");
		return -1;
	}
	sqlite3_extended_result_codes(*db, 1);
	/* A busy file (a backup reading it) is waited for, briefly. */
	sqlite3_busy_timeout(*db, 2000);
	return store_identify(*db, version, cause);
}

/*
 * Open path for this daemon: locked, at the current schema, in WAL.  On
 * error the cause names the file.
 */
int
store_open(const char *path, char **cause)
{
	int64_t	 version, rows;
	char	*why = NULL;
	int	 fd;

	if ((fd = store_lock(path, &why)) < 0)
		goto fail;
	if (store_open_db(path, &store_db.db, &version, &why) == -1 ||
	    store_exec(store_db.db, "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF", &why) ||
	    store_migrate(store_db.db, version, &why) == -1 ||
	    store_integer(store_db.db, "SELECT count(*) FROM messages", &rows,
	    &why) == -1) {
		sqlite3_close(store_db.db);
		store_db.db = NULL;
		close(fd);
		goto fail;
	}
	store_db.lockfd = fd;
	store_db.path = xstrdup(path);
	store_db.rows = (uint64_t)rows;
	return 0;

fail:
	xasprintf(cause, "database %s: %s", path, why);
	free(why);
	return -1;
}

/*
 * chatd -t: can path be opened as ours, and is it whole?  Never migrated;
 * a file a running chatd holds (the usual check before a reload) is only
 * identified, since its writer may be in the middle of a commit.
 */
int
store_check(const char *path, char **cause)
{
	sqlite3		*db;
	int64_t		 version;
	char		*why = NULL;
	int		 fd, rc = -1;
	struct stat	 st;

	if (stat(path, &st) == -1 && errno == ENOENT)
		return 0;	/* made at start */
	/* store_lock creates nothing: the file exists. */
	if ((fd = store_lock(path, &why)) == -1)
		goto out;
	if (fd == -2) {
		free(why);
		why = NULL;
	}
	if (store_open_db(path, &db, &version, &why) == 0)
		rc = fd == -2 ? 0 : store_quick_check(db, &why);
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
out:
	if (rc == -1)
		xasprintf(cause, "database %s: %s", path, why);
	free(why);
	return rc;
}

int
store_is_open(void)
{
	return store_db.db != NULL;
}

const char *
store_path(void)
{
	return store_db.path;
}

/* The highest message id kept: new ones continue after it. */
uint64_t
store_max_id(void)
{
	int64_t	 id = 0;
	char	*cause = NULL;

	if (store_db.db != NULL && store_integer(store_db.db,
	    "SELECT max(id) FROM messages", &id, &cause) == -1)
		free(cause);
	return (uint64_t)id;
}

static const char *
store_text(sqlite3_stmt *st, int column)
{
	const unsigned char	*s = sqlite3_column_text(st, column);

	return s != NULL ? (const char *)s : "";
}

/* Run sql, without parameters, and hand each row to row; -1 on error. */
static int
store_each_row(const char *sql, void (*row)(sqlite3_stmt *, void *),
    void *arg)
{
	sqlite3_stmt	*st;

	if (store_db.db == NULL)
		return 0;
	if (sqlite3_prepare_v2(store_db.db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		row(st, arg);
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* Bans and mutes whose time is up are forgotten before they are read. */
static int
store_forget_expired(const char *table)
{
	char	*sql, *cause = NULL;
	int	 rc;

	if (store_db.db == NULL)
		return 0;
	xasprintf(&sql, "DELETE FROM %s WHERE expires <> 0 AND expires <= "
	    "CAST(strftime('%%s', 'now') AS INTEGER)", table);
	rc = store_exec(store_db.db, sql, &cause);
	free(sql);
	free(cause);
	return rc;
}

struct store_room_rows {
	void	(*cb)(const struct store_room *, void *);
	void	 *arg;
};

static void
store_room_row(sqlite3_stmt *st, void *arg)
{
	struct store_room_rows	*rows = arg;
	struct store_room	 r;

	r.name = store_text(st, 0);
	r.topic = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL :
	    store_text(st, 1);
	r.topic_by = store_text(st, 2);
	r.topic_at = sqlite3_column_int64(st, 3);
	r.kept = sqlite3_column_int(st, 4);
	r.modes = store_text(st, 5);
	r.key = store_text(st, 6);
	r.limit = sqlite3_column_int64(st, 7);
	r.bans = store_text(st, 8);
	r.operators = store_text(st, 9);
	rows->cb(&r, rows->arg);
}

/* Every room's kept state. */
int
store_load_rooms(void (*cb)(const struct store_room *, void *), void *arg)
{
	struct store_room_rows	rows = { cb, arg };

	return store_each_row("SELECT name, topic, topic_by, topic_at, kept, "
	    "modes, key, member_limit, bans, operators FROM rooms",
	    store_room_row, &rows);
}

struct store_ban_rows {
	void	(*cb)(const struct store_ban *, void *);
	void	 *arg;
};

static void
store_ban_row(sqlite3_stmt *st, void *arg)
{
	struct store_ban_rows	*rows = arg;
	struct store_ban	 b = { .lifted = 0 };

	b.target = store_text(st, 0);
	b.reason = store_text(st, 1);
	b.added = sqlite3_column_int64(st, 2);
	b.expires = sqlite3_column_int64(st, 3);
	rows->cb(&b, rows->arg);
}

/* The server's bans; those expired are forgotten on the way. */
int
store_load_bans(void (*cb)(const struct store_ban *, void *), void *arg)
{
	struct store_ban_rows	rows = { cb, arg };

	if (store_forget_expired("bans") == -1)
		return -1;
	return store_each_row("SELECT target, reason, added, expires FROM bans",
	    store_ban_row, &rows);
}

struct store_mute_rows {
	void	(*cb)(const struct store_mute *, void *);
	void	 *arg;
};

static void
store_mute_row(sqlite3_stmt *st, void *arg)
{
	struct store_mute_rows	*rows = arg;
	struct store_mute	 m = { .lifted = 0 };

	m.nick = store_text(st, 0);
	m.added = sqlite3_column_int64(st, 1);
	m.expires = sqlite3_column_int64(st, 2);
	rows->cb(&m, rows->arg);
}

/* The server's mutes; those expired are forgotten on the way. */
int
store_load_mutes(void (*cb)(const struct store_mute *, void *), void *arg)
{
	struct store_mute_rows	rows = { cb, arg };

	if (store_forget_expired("mutes") == -1)
		return -1;
	return store_each_row("SELECT nick, added, expires FROM mutes",
	    store_mute_row, &rows);
}

/* The rooms with messages, the most recently spoken in first. */
int
store_load_room_names(size_t max, void (*cb)(const char *, void *), void *arg)
{
	sqlite3_stmt	*st;

	if (store_db.db == NULL)
		return 0;
	if (sqlite3_prepare_v2(store_db.db, "SELECT room FROM messages "
	    "WHERE room <> '' GROUP BY room ORDER BY max(id) DESC LIMIT ?",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while (sqlite3_step(st) == SQLITE_ROW)
		cb(store_text(st, 0), arg);
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* The latest n lines said in room (messages, actions), oldest first. */
int
store_load_recent(const char *room, size_t n,
    void (*cb)(const struct store_msg *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct store_msg	 m;

	if (store_db.db == NULL)
		return 0;
	if (sqlite3_prepare_v2(store_db.db, "SELECT id, time_ms, kind, sender, "
	    "target, body, room FROM (SELECT * FROM messages WHERE room = ?1 "
	    "AND kind IN ('say', 'action') ORDER BY id DESC LIMIT ?2) "
	    "ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	while (sqlite3_step(st) == SQLITE_ROW) {
		m.id = (uint64_t)sqlite3_column_int64(st, 0);
		m.time_ms = sqlite3_column_int64(st, 1);
		if ((m.kind = store_kind_parse(store_text(st, 2))) == -1)
			continue;	/* a later chatd's kind */
		m.from = store_text(st, 3);
		m.to = store_text(st, 4);
		m.text = store_text(st, 5);
		m.room = store_text(st, 6);
		cb(&m, arg);
	}
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* After the writer has stopped. */
void
store_close(void)
{
	if (store_db.db == NULL)
		return;
	sqlite3_close(store_db.db);
	store_db.db = NULL;
	close(store_db.lockfd);		/* after SQLite: see the top */
	store_db.lockfd = -1;
	free(store_db.path);
	store_db.path = NULL;
}
