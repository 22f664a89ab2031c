/*
 * The database jobs the writer thread runs for the loop: a backup (SQLite's
 * online backup API, from the writer's own connection, so the copy is one
 * consistent state however chat goes on), a room's purge in bounded
 * deletes, and a page of a room's history.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_BACKUP_STEP	256	/* pages copied per step */
#define STORE_PURGE_STEP	1024	/* rows one DELETE may take */

struct store_job *
store_job_new(enum store_job_kind kind, const char *name, void *arg)
{
	struct store_job	*job = xcalloc(1, sizeof *job);

	job->kind = kind;
	job->name = xstrdup(name);
	job->arg = arg;
	return job;
}

void
store_job_free(struct store_job *job)
{
	size_t	i;

	for (i = 0; i < job->nrows; i++) {
		free((char *)job->rows[i].from);
		free((char *)job->rows[i].to);
		free((char *)job->rows[i].text);
		free((char *)job->rows[i].room);
	}
	free(job->rows);
	free(job->error);
	free(job->name);
	free(job);
}

static void
store_job_fail(struct store_job *job, const char *what)
{
	xasprintf(&job->error, "%s: %s", what, sqlite3_errmsg(store_db.db));
}

/* A consistent copy of the database in a new file, a few pages a step. */
static void
store_job_backup(struct store_job *job)
{
	sqlite3		*dest = NULL;
	sqlite3_backup	*b;
	int		 fd, rc;

	if ((fd = open(job->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		xasprintf(&job->error, "%s: %s", job->name, strerror(errno));
		return;
	}
	close(fd);
	if (sqlite3_open_v2(job->name, &dest, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || (b = sqlite3_backup_init(dest, "main", store_db.db,
	    "main")) == NULL) {
		xasprintf(&job->error, "%s: %s", job->name, dest != NULL ?
		    sqlite3_errmsg(dest) : "out of memory");
		goto out;
	}
	while ((rc = sqlite3_backup_step(b, STORE_BACKUP_STEP)) == SQLITE_OK)
		;
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		xasprintf(&job->error, "%s: %s", job->name, sqlite3_errstr(rc));
out:
	sqlite3_close(dest);
	if (job->error != NULL)
		unlink(job->name);
}

/* A room's messages, in bounded deletes of their own transactions. */
static void
store_job_purge(struct store_job *job, uint64_t *rows)
{
	sqlite3_stmt	*st;
	int		 changes;

	if (sqlite3_prepare_v2(store_db.db, "DELETE FROM messages WHERE id IN "
	    "(SELECT id FROM messages WHERE room = ? LIMIT ?)", -1, &st,
	    NULL) != SQLITE_OK) {
		store_job_fail(job, "purge");
		return;
	}
	sqlite3_bind_text(st, 1, job->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, STORE_PURGE_STEP);
	do {
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_job_fail(job, "purge");
			break;
		}
		changes = sqlite3_changes(store_db.db);
		*rows -= (uint64_t)changes;
		sqlite3_reset(st);
	} while (changes > 0);
	sqlite3_finalize(st);
}

/*
 * Where ref splits the history, as an id: the messages before it have
 * lower ids; past: the messages after it have this id or higher.  A time
 * splits at the first message said at it or after it, of any room: ids
 * grow with time, so that is where it splits every room's history.
 */
static int64_t
store_split(struct store_job *job, const struct store_ref *ref, int past)
{
	sqlite3_stmt	*st;
	int64_t		 id = INT64_MAX;
	int		 rc;

	if (ref->type == STORE_REF_NONE)
		return past ? 0 : INT64_MAX;
	if (ref->type == STORE_REF_ID)
		return ref->value >= INT64_MAX ? INT64_MAX :
		    (int64_t)ref->value + past;
	if (job->error != NULL)
		return id;
	if (sqlite3_prepare_v2(store_db.db, "SELECT id FROM messages WHERE "
	    "time_ms >= ?1 ORDER BY time_ms, id LIMIT 1", -1, &st, NULL) !=
	    SQLITE_OK) {
		store_job_fail(job, "history");
		return id;
	}
	sqlite3_bind_int64(st, 1, ref->value >= INT64_MAX ? INT64_MAX :
	    (int64_t)ref->value + past);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		store_job_fail(job, "history");
	sqlite3_finalize(st);
	return id;
}

/*
 * Add to job's rows, oldest first, the n newest (or oldest) messages of
 * its room with lo <= id < hi.
 */
static void
store_read_range(struct store_job *job, int64_t lo, int64_t hi, int newest,
    size_t n)
{
	sqlite3_stmt		*st;
	struct store_msg	*m, t;
	size_t			 first = job->nrows, last;
	int			 rc;

	if (job->error != NULL || lo >= hi || n == 0)
		return;
	if (sqlite3_prepare_v2(store_db.db, newest ? "SELECT id, time_ms, "
	    "kind, sender, target, body, room FROM messages WHERE room = ?1 "
	    "AND id >= ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4" : "SELECT "
	    "id, time_ms, kind, sender, target, body, room FROM messages "
	    "WHERE room = ?1 AND id >= ?2 AND id < ?3 ORDER BY id LIMIT ?4",
	    -1, &st, NULL) != SQLITE_OK) {
		store_job_fail(job, "history");
		return;
	}
	sqlite3_bind_text(st, 1, job->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
	for (; n > 0; n--) {
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			if (rc != SQLITE_DONE)
				store_job_fail(job, "history");
			break;
		}
		m = &job->rows[job->nrows++];
		m->id = (uint64_t)sqlite3_column_int64(st, 0);
		m->time_ms = sqlite3_column_int64(st, 1);
		m->kind = store_kind_parse((const char *)
		    sqlite3_column_text(st, 2));
		m->from = xstrdup((const char *)sqlite3_column_text(st, 3));
		m->to = xstrdup((const char *)sqlite3_column_text(st, 4));
		m->text = xstrdup((const char *)sqlite3_column_text(st, 5));
		m->room = xstrdup((const char *)sqlite3_column_text(st, 6));
	}
	sqlite3_finalize(st);
	for (last = job->nrows; newest && first + 1 < last; first++, last--) {
		t = job->rows[first];
		job->rows[first] = job->rows[last - 1];
		job->rows[last - 1] = t;
	}
}

/* The messages of a room that the job's query asks for, oldest first. */
static void
store_job_history(struct store_job *job)
{
	const struct store_query	*q = &job->query;
	int64_t				 a, b;

	job->rows = xreallocarray(NULL, q->n ? q->n : 1, sizeof *job->rows);
	switch (q->span) {
	case STORE_LATEST:
		store_read_range(job, store_split(job, &q->from, 1),
		    INT64_MAX, 1, q->n);
		break;
	case STORE_BEFORE:
		store_read_range(job, 0, store_split(job, &q->from, 0), 1,
		    q->n);
		break;
	case STORE_AFTER:
		store_read_range(job, store_split(job, &q->from, 1),
		    INT64_MAX, 0, q->n);
		break;
	case STORE_AROUND:
		a = store_split(job, &q->from, 0);
		store_read_range(job, 0, a, 1, q->n / 2);
		store_read_range(job, a, INT64_MAX, 0, q->n - job->nrows);
		break;
	case STORE_BETWEEN:
		a = store_split(job, &q->from, 0);
		b = store_split(job, &q->to, 0);
		if (a <= b)
			store_read_range(job, store_split(job, &q->from, 1),
			    b, 0, q->n);
		else
			store_read_range(job, store_split(job, &q->to, 1),
			    a, 1, q->n);
		break;
	}
}

/* On the thread: run job; rows is the count of messages kept. */
void
store_job_run(struct store_job *job, uint64_t *rows)
{
	switch (job->kind) {
	case STORE_JOB_BACKUP:
		store_job_backup(job);
		break;
	case STORE_JOB_PURGE:
		store_job_purge(job, rows);
		break;
	case STORE_JOB_HISTORY:
		store_job_history(job);
		break;
	}
}
