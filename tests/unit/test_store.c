/*
 * Unit tests for store-*.c: opening (new, ours, foreign, corrupt, newer,
 * held by another chatd), the migrations from the first schema and from
 * the third, the operators and mutes kept, and the
 * writer thread: batches, the bounded queue, a full disk and recovery,
 * retention, and the jobs answered through the loop.
 */
#include <sys/stat.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "msg.h"
#include "store.h"
#include "store-private.h"

/* The messages table, as every version to date has it. */
#define SCHEMA_MESSAGES \
	"CREATE TABLE messages (" \
	"  id INTEGER PRIMARY KEY," \
	"  room TEXT NOT NULL COLLATE NOCASE," \
	"  time_ms INTEGER NOT NULL," \
	"  kind TEXT NOT NULL," \
	"  sender TEXT NOT NULL," \
	"  target TEXT NOT NULL," \
	"  body TEXT NOT NULL);" \
	"CREATE INDEX messages_room ON messages (room, id);"

/* What chatd's first schema wrote (version 1): a file of that time. */
static const char schema_v1[] =
	SCHEMA_MESSAGES
	"INSERT INTO messages VALUES (1, '#a', 1000, 'say', 'ann', '', 'hi');"
	"INSERT INTO messages VALUES (2, '#a', 2000, 'topic', 'ann', '', 'old');"
	"INSERT INTO messages VALUES (3, '#A', 3000, 'topic', 'bob', '', 'new');"
	"INSERT INTO messages VALUES (4, '#b', 4000, 'action', 'bob', '', 'x');"
	"PRAGMA application_id = 1667785076;"
	"PRAGMA user_version = 1;";

/* What version 3 wrote: rooms with their moderation, the server's bans. */
static const char schema_v3[] =
	SCHEMA_MESSAGES
	"CREATE TABLE rooms ("
	"  name TEXT PRIMARY KEY COLLATE NOCASE,"
	"  topic TEXT,"
	"  topic_by TEXT NOT NULL DEFAULT '',"
	"  topic_at INTEGER NOT NULL DEFAULT 0,"
	"  kept INTEGER NOT NULL DEFAULT 0,"
	"  modes TEXT NOT NULL DEFAULT 'n',"
	"  key TEXT NOT NULL DEFAULT '',"
	"  member_limit INTEGER NOT NULL DEFAULT 0,"
	"  bans TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX messages_time ON messages (time_ms);"
	"CREATE TABLE bans ("
	"  target TEXT PRIMARY KEY COLLATE NOCASE,"
	"  reason TEXT NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"INSERT INTO messages VALUES (7, '#m', 7000, 'say', 'ann', '', 'hi');"
	"INSERT INTO rooms VALUES ('#m', 'tp', 'ann', 7, 0, 'nt', 'k', 5,"
	"  'bob!*@* ann 7\n');"
	"INSERT INTO bans VALUES ('evil', 'spam', 1, 0);"
	"PRAGMA application_id = 1667785076;"
	"PRAGMA user_version = 3;";

static char		 dir[] = "/tmp/test_store.XXXXXX";
static char		 path[sizeof dir + 32];
static struct event_base *base;

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/chatd.db", dir);
	base = event_base_new();
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[sizeof dir + 16];

	(void)state;
	store_stop();
	store_close();
	event_base_free(base);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
make_file(const char *sql)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* store_open must fail with a cause that names the file and says want. */
static void
open_fails(const char *want)
{
	char	*cause = NULL;

	assert_int_equal(store_open(path, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, path));
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" does not say \"%s\"", cause, want);
	free(cause);
}

static int64_t
query(const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	assert_int_equal(sqlite3_prepare_v2(store_db.db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_new_file(void **state)
{
	struct stat	 st;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(store_open(path, &cause), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(store_max_id(), 0);
	assert_string_equal(store_path(), path);
	/* A second chatd on the same file is refused. */
	open_fails("in use by another chatd");
	assert_int_equal(store_check(path, &cause), 0);	/* looked at only */
	store_close();
	assert_int_equal(store_check(path, &cause), 0);
	assert_int_equal(store_open(path, &cause), 0);
}

static void
test_refused_files(void **state)
{
	FILE	*f;

	(void)state;
	f = fopen(path, "w");
	fputs("this is not SQLite at all, but long enough to look like a "
	    "header of some file or other..................................",
	    f);
	fclose(f);
	open_fails("not a database");
	unlink(path);
	make_file("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
	open_fails("not a chatd database");
	unlink(path);
	make_file("PRAGMA application_id = 1667785076; "
	    "PRAGMA user_version = 99;");
	open_fails("newer than this chatd knows");
	assert_false(store_is_open());
}

static void
count_room(const struct store_room *r, void *arg)
{
	if (strcmp(r->name, "#a") == 0) {
		assert_string_equal(r->topic, "new");
		assert_string_equal(r->topic_by, "bob");
		assert_int_equal(r->topic_at, 3);
	}
	(*(int *)arg)++;
}

static void
collect(const struct store_msg *m, void *arg)
{
	uint64_t	*ids = arg;

	ids[ids[0]++ + 1] = m->id;
}

static void
count_ban(const struct store_ban *b, void *arg)
{
	(*(int *)arg)++;
}

static void
count_mute(const struct store_mute *m, void *arg)
{
	(*(int *)arg)++;
}

static void
test_migration_from_v1(void **state)
{
	uint64_t	 ids[8] = { 0 };
	char		*cause = NULL;
	int		 rooms = 0, mutes = 0;

	(void)state;
	make_file(schema_v1);
	assert_int_equal(store_open(path, &cause), 0);
	assert_int_equal(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(store_max_id(), 4);
	assert_int_equal(store_load_rooms(count_room, &rooms), 0);
	assert_int_equal(rooms, 1);	/* #a's topic, from its history */
	assert_int_equal(store_load_mutes(count_mute, &mutes), 0);
	assert_int_equal(mutes, 0);
	/* Lines said, not topic changes: scrollback's. */
	assert_int_equal(store_load_recent("#A", 2, collect, ids), 0);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 1);
}

static void
v3_room(const struct store_room *r, void *arg)
{
	assert_string_equal(r->name, "#m");
	assert_string_equal(r->modes, "nt");
	assert_string_equal(r->bans, "bob!*@* ann 7\n");
	assert_string_equal(r->operators, "");	/* version 3 kept none */
	(*(int *)arg)++;
}

static void
test_migration_from_v3(void **state)
{
	char	*cause = NULL;
	int	 rooms = 0, bans = 0, mutes = 0;

	(void)state;
	make_file(schema_v3);
	assert_int_equal(store_open(path, &cause), 0);
	assert_int_equal(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(store_max_id(), 7);
	assert_int_equal(store_load_rooms(v3_room, &rooms), 0);
	assert_int_equal(rooms, 1);
	/* Version 5: a room of before counts as written at the upgrade. */
	assert_true(query("SELECT updated_ms FROM rooms") >=
	    (int64_t)(time(NULL) - 60) * 1000);
	assert_int_equal(store_load_bans(count_ban, &bans), 0);
	assert_int_equal(bans, 1);
	assert_int_equal(store_load_mutes(count_mute, &mutes), 0);
	assert_int_equal(mutes, 0);
}

static void
start(size_t queue_max, unsigned commit_ms, size_t max_per_room)
{
	struct store_limits	lim = { .queue_max = queue_max,
				    .queue_bytes = 1 << 24, .commit_ms = commit_ms,
				    .batch_max = 64, .max_per_room = max_per_room };
	char			*cause = NULL;

	assert_int_equal(store_open(path, &cause), 0);
	store_start(base, &lim);
}

static int
put(uint64_t id, const char *room, const char *text)
{
	struct store_msg	m = { id, 1000 * (int64_t)id, MSG_SAY, room,
				    "ann", "", text };

	return store_put_msg(&m);
}

/* Run the loop until cond holds; fail after ten seconds. */
static void
wait_for(int (*cond)(void))
{
	struct timeval	tick = { 0, 10000 };
	int		i;

	for (i = 0; i < 1000 && !cond(); i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	assert_true(cond());
}

static int
drained(void)
{
	struct store_info	info;

	store_info(&info);
	return info.queued == 0;
}

static int
degraded(void)
{
	struct store_info	info;

	store_info(&info);
	return info.degraded;
}

static int
healthy(void)
{
	return !degraded() && drained();
}

static void
test_writer_keeps_rows(void **state)
{
	struct store_info	 info;
	uint64_t		 ids[32] = { 0 };
	uint64_t		 i;
	char			*cause = NULL;

	(void)state;
	start(1000, 20, 0);
	for (i = 1; i <= 200; i++)
		assert_int_equal(put(i, i % 2 ? "#odd" : "#even", "hello"), 0);
	wait_for(drained);
	store_info(&info);
	assert_int_equal(info.committed, 200);
	assert_int_equal(info.rows, 200);
	assert_int_equal(info.dropped, 0);
	assert_true(info.commits >= 1 && info.commits <= 200);
	store_stop();
	store_close();
	assert_int_equal(store_open(path, &cause), 0);
	assert_int_equal(store_max_id(), 200);
	assert_int_equal(store_load_recent("#EVEN", 3, collect, ids), 0);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 196);
	assert_int_equal(ids[3], 200);
}

static void
test_full_queue_drops(void **state)
{
	struct store_info	info;
	uint64_t		i, dropped = 0;

	(void)state;
	/* A commit interval far away: the queue fills before it is due. */
	start(5, 60000, 0);
	assert_int_equal(put(1, "#a", "first"), 0);
	wait_for(drained);	/* the first is committed at once */
	for (i = 2; i <= 11; i++)
		dropped += put(i, "#a", "x") == -1;
	store_info(&info);
	assert_int_equal(dropped, 5);
	assert_int_equal(info.dropped, 5);
	assert_int_equal(info.queued, 5);
	store_stop();		/* the five queued are committed at exit */
	store_close();
	start(5, 20, 0);
	assert_int_equal(store_max_id(), 6);
}

static void
test_disk_full_degrades_and_recovers(void **state)
{
	struct store_info	 info;
	char			 big[4000];
	uint64_t		 i;

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	start(1000, 10, 0);
	/* The file may not grow: every commit fails with SQLITE_FULL. */
	query("PRAGMA max_page_count = 1");
	for (i = 1; i <= 20; i++)
		assert_int_equal(put(i, "#a", big), 0);
	wait_for(degraded);
	store_info(&info);
	assert_true(info.errors >= 1);
	assert_non_null(strstr(info.reason, "full"));
	assert_int_equal(info.queued, 20);	/* kept, waiting */
	query("PRAGMA max_page_count = 1000000");
	wait_for(healthy);
	store_info(&info);
	assert_int_equal(info.rows, 20);
	assert_int_equal(info.committed, 20);
}

static void
test_retention_per_room(void **state)
{
	uint64_t	i;

	(void)state;
	start(10000, 10, 100);
	for (i = 1; i <= 1000; i++)
		assert_int_equal(put(i, i <= 500 ? "#a" : "#b", "m"), 0);
	wait_for(drained);
	store_stop();
	/* Bounded steps: at least the limit is kept, the newest. */
	assert_true(query("SELECT count(*) FROM messages WHERE room = '#a'") >=
	    100);
	assert_int_equal(query("SELECT max(id) FROM messages WHERE room = "
	    "'#a'"), 500);
	assert_int_equal(query("SELECT count(*) FROM messages WHERE room = '#b' "
	    "AND id > 900"), 100);
}

static int
only_new_left(void)
{
	struct store_info	info;

	store_info(&info);
	return info.queued == 0 && info.rows == 1;
}

/* A store that keeps messages for an hour. */
static void
start_aging(void)
{
	struct store_limits	 lim = { .queue_max = 1000, .queue_bytes = 1 << 24,
				    .commit_ms = 10, .batch_max = 1000,
				    .max_age_ms = 3600 * 1000 };
	char			*cause = NULL;

	assert_int_equal(store_open(path, &cause), 0);
	store_start(base, &lim);
}

/* Queue message id of room, said now. */
static void
put_now(uint64_t id, const char *room)
{
	struct store_msg	m = { id, 0, MSG_SAY, room, "ann", "", "new" };
	struct timespec		ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	m.time_ms = (int64_t)ts.tv_sec * 1000;
	assert_int_equal(store_put_msg(&m), 0);
}

static void
test_retention_by_age(void **state)
{
	uint64_t	i;

	(void)state;
	start_aging();
	/* 300 from 1970, more than one step takes, and one of now. */
	for (i = 1; i <= 300; i++)
		assert_int_equal(put(i, "#a", "old"), 0);
	put_now(1000, "#a");
	wait_for(only_new_left);	/* the rest by the idle step */
	assert_int_equal(query("SELECT id FROM messages"), 1000);
}

/* A room's state as the loop queues it: kept or not. */
static void
put_room(const char *name, int kept)
{
	struct store_room	r = { name, NULL, "", 0, kept, "nt", "", 0, "",
				    "ann 127.0.0.1\n" };

	assert_int_equal(store_put_room(&r), 0);
}

static int
rooms_forgotten(void)
{
	return query("SELECT count(*) FROM rooms") == 3;
}

static int
rooms_written(void)
{
	return query("SELECT count(*) FROM rooms") == 5;
}

static void
test_retention_by_age_forgets_quiet_rooms(void **state)
{
	sqlite3	*db;

	(void)state;
	start_aging();
	put_room("#quiet", 0);		/* nothing said */
	put_room("#stale", 0);		/* said long ago: max-age takes it */
	put_room("#busy", 0);		/* said just now */
	put_room("#kept", 1);		/* the default room */
	put_room("#new", 0);		/* written just now */
	assert_int_equal(put(1, "#stale", "old"), 0);
	put_now(1000, "#busy");
	wait_for(rooms_written);
	/* All but #new were last written before max-age (another
	 * connection, as the file's other user would be). */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "UPDATE rooms SET updated_ms = 0 "
	    "WHERE name <> '#new'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	wait_for(rooms_forgotten);	/* by the idle steps */
	assert_int_equal(query("SELECT count(*) FROM rooms WHERE name IN "
	    "('#busy', '#kept', '#new')"), 3);
	assert_int_equal(query("SELECT count(*) FROM messages"), 1);
}

static int	job_done;
static char	job_error[256];
static size_t	job_rows;
static uint64_t	job_first, job_last;

static void
backup_done(const char *error, void *arg)
{
	job_done++;
	snprintf(job_error, sizeof job_error, "%s", error ? error : "");
}

static void
history_done(const struct store_msg *rows, size_t n, const char *error,
    void *arg)
{
	job_done++;
	job_rows = n;
	job_first = n ? rows[0].id : 0;
	job_last = n ? rows[n - 1].id : 0;
	snprintf(job_error, sizeof job_error, "%s", error ? error : "");
}

static int
one_job_done(void)
{
	return job_done == 1;
}

#define ID(v)	((struct store_ref){ STORE_REF_ID, (v) })
#define AT(s)	((struct store_ref){ STORE_REF_TIME, (s) })
#define ALL	((struct store_ref){ STORE_REF_NONE, 0 })

/* Read a span of #a: rows of it, from first to last. */
static void
read_span(int span, struct store_ref from, struct store_ref to, size_t n,
    size_t rows, uint64_t first, uint64_t last)
{
	struct store_query	 q = { span, from, to, n };
	char			*cause = NULL;

	job_done = 0;
	assert_int_equal(store_history("#a", &q, history_done, NULL, &cause),
	    0);
	wait_for(one_job_done);
	assert_string_equal(job_error, "");
	assert_int_equal(job_first, first);
	assert_int_equal(job_last, last);
	assert_int_equal(job_rows, rows);
}

/* Message i of #a is said at second i; #b's are in between. */
static void
test_history_spans(void **state)
{
	uint64_t	 i;

	(void)state;
	start(10000, 10, 0);
	for (i = 1; i <= 300; i++)
		assert_int_equal(put(i, i % 50 == 25 ? "#b" : "#a", "m"), 0);
	read_span(STORE_LATEST, ALL, ALL, 5, 5, 296, 300);
	read_span(STORE_LATEST, ID(297), ALL, 10, 3, 298, 300);
	read_span(STORE_LATEST, AT(297000), ALL, 10, 3, 298, 300);
	read_span(STORE_BEFORE, ID(101), ALL, 50, 50, 50, 100);
	read_span(STORE_BEFORE, AT(101000), ALL, 50, 50, 50, 100);
	read_span(STORE_BEFORE, AT(100500), ALL, 3, 3, 98, 100);
	read_span(STORE_AFTER, AT(100500), ALL, 3, 3, 101, 103);
	read_span(STORE_AFTER, ID(298), ALL, 10, 2, 299, 300);
	read_span(STORE_AFTER, AT(300000), ALL, 10, 0, 0, 0);
	read_span(STORE_AROUND, ID(150), ALL, 10, 10, 145, 154);
	read_span(STORE_AROUND, AT(4000), ALL, 10, 10, 1, 10);
	read_span(STORE_BETWEEN, ID(10), ID(20), 100, 9, 11, 19);
	read_span(STORE_BETWEEN, ID(10), ID(20), 3, 3, 11, 13);
	read_span(STORE_BETWEEN, ID(20), ID(10), 3, 3, 17, 19);
	read_span(STORE_BETWEEN, AT(10000), ID(20), 100, 9, 11, 19);
	read_span(STORE_BETWEEN, ID(20), ID(20), 100, 0, 0, 0);
	/* An unknown id is before every message. */
	read_span(STORE_AFTER, ID(0), ALL, 2, 2, 1, 2);
	read_span(STORE_BEFORE, ID(0), ALL, 2, 0, 0, 0);
	/* Another room's messages are not in the span, nor counted. */
	read_span(STORE_BETWEEN, ID(20), ID(30), 100, 8, 21, 29);
}

static void
test_jobs(void **state)
{
	char		 copy[sizeof path + 16];
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*cause = NULL;
	uint64_t	 i;

	(void)state;
	start(10000, 10, 0);
	for (i = 1; i <= 300; i++)
		assert_int_equal(put(i, "#a", "m"), 0);
	/* Jobs come after what was queued before them. */
	read_span(STORE_BEFORE, ID(101), ALL, 50, 50, 51, 100);

	snprintf(copy, sizeof copy, "%s/copy.db", dir);
	job_done = 0;
	assert_int_equal(store_backup(copy, backup_done, NULL, &cause), 0);
	wait_for(one_job_done);
	assert_string_equal(job_error, "");
	assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 300);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* An existing file is never overwritten. */
	job_done = 0;
	assert_int_equal(store_backup(copy, backup_done, NULL, &cause), 0);
	wait_for(one_job_done);
	assert_non_null(strstr(job_error, "File exists"));

	job_done = 0;
	assert_int_equal(store_purge("#A", backup_done, NULL, &cause), 0);
	wait_for(one_job_done);
	assert_string_equal(job_error, "");
	assert_int_equal(query("SELECT count(*) FROM messages"), 0);
}

static void
test_no_database(void **state)
{
	char	*cause = NULL;

	(void)state;
	assert_false(store_is_open());
	assert_int_equal(put(1, "#a", "x"), -1);
	assert_int_equal(store_backup("/tmp/x", backup_done, NULL, &cause), -1);
	assert_non_null(strstr(cause, "no database"));
	free(cause);
}

static const char *kept_ops;

static void
kept_room(const struct store_room *r, void *arg)
{
	kept_ops = strdup(r->operators);
	(*(int *)arg)++;
}

static void
kept_mute(const struct store_mute *m, void *arg)
{
	assert_string_equal(m->nick, "loud");
	assert_int_equal(m->expires, 0);
	(*(int *)arg)++;
}

/* Operators and mutes written go back; mutes lifted or expired do not. */
static void
test_mutes_and_operators_kept(void **state)
{
	struct store_room	 r = { .name = "#ops", .topic_by = "",
				    .modes = "n", .key = "", .bans = "",
				    .operators = "ann 192.0.2.1\nbob ::1\n" };
	struct store_mute	 m = { .nick = "loud", .added = 1 };
	char			*cause = NULL;
	int			 rooms = 0, mutes = 0;

	(void)state;
	start(1000, 20, 0);
	assert_int_equal(store_put_room(&r), 0);
	assert_int_equal(store_put_mute(&m), 0);
	m.nick = "gone";
	assert_int_equal(store_put_mute(&m), 0);
	m.lifted = 1;
	assert_int_equal(store_put_mute(&m), 0);
	m.nick = "past";
	m.lifted = 0;
	m.expires = time(NULL) - 1;
	assert_int_equal(store_put_mute(&m), 0);
	wait_for(drained);
	store_stop();
	store_close();
	assert_int_equal(store_open(path, &cause), 0);
	assert_int_equal(store_load_rooms(kept_room, &rooms), 0);
	assert_int_equal(rooms, 1);
	assert_string_equal(kept_ops, "ann 192.0.2.1\nbob ::1\n");
	free((char *)kept_ops);
	assert_int_equal(store_load_mutes(kept_mute, &mutes), 0);
	assert_int_equal(mutes, 1);
	assert_int_equal(query("SELECT count(*) FROM mutes"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v3, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mutes_and_operators_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_keeps_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full_queue_drops, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_disk_full_degrades_and_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_per_room, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_retention_by_age_forgets_quiet_rooms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_spans, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_database, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
