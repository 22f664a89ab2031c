/*
 * Admin commands on the history database: db, history, backup, purge, and
 * the history line of status.  The database work runs on the writer
 * thread (store-job.c); the request waits for its answer by its client's
 * id, and a client gone by then is no one to answer.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control-cmd.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "store.h"
#include "xmalloc.h"

#define STORE_HISTORY_DEFAULT	20	/* messages chatctl history shows */

static const char *const store_kinds[] = {
	[MSG_SAY] = "say",
	[MSG_ACTION] = "action",
	[MSG_TOPIC] = "topic",
	[MSG_PRIVATE] = "private",
};

/* The room's name with its '#', into buf; NULL (answered) if invalid. */
static const char *
store_room_name(struct control_client *c, const char *name, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s%s", *name == '#' ? "" : "#", name);
	if (!name_room_valid(buf)) {
		control_fail(c, CTL_E_INVALID, "%s is not a room name", name);
		return NULL;
	}
	return buf;
}

/* The file's size with its write-ahead log. */
static json_int_t
store_file_bytes(const char *path)
{
	struct stat	 st;
	char		*wal;
	json_int_t	 n = 0;

	if (stat(path, &st) == 0)
		n += st.st_size;
	xasprintf(&wal, "%s-wal", path);
	if (stat(wal, &st) == 0)
		n += st.st_size;
	free(wal);
	return n;
}

/* "ok", "degraded: why", or "none" (no database), for status. */
json_t *
control_store_status(void)
{
	struct store_info	info;
	char			line[320];

	if (!store_is_open())
		return json_string("none");
	store_info(&info);
	if (!info.degraded)
		return json_string("ok");
	snprintf(line, sizeof line, "degraded: %s", info.reason);
	return json_string(line);
}

void
control_store_db(struct control_client *c, struct cmd_args *args)
{
	struct store_info	info;

	if (!store_is_open()) {
		control_reply(c, json_pack("{s:n, s:s}", "path", "history",
		    "in memory (database = none)"));
		return;
	}
	store_info(&info);
	control_reply(c, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:o, s:b, s:o}",
	    "path", info.path,
	    "size_bytes", store_file_bytes(info.path),
	    "rows", (json_int_t)info.rows,
	    "queued", (json_int_t)info.queued,
	    "queued_bytes", (json_int_t)info.queued_bytes,
	    "queue_max", (json_int_t)info.queue_max,
	    "committed", (json_int_t)info.committed,
	    "commits", (json_int_t)info.commits,
	    "dropped", (json_int_t)info.dropped,
	    "errors", (json_int_t)info.errors,
	    "last_commit", control_time((time_t)(info.last_commit_ms / 1000)),
	    "degraded", info.degraded,
	    "reason", info.degraded ? json_string(info.reason) : json_null()));
}

static json_t *
store_row(uint64_t id, int64_t time_ms, int kind, const char *from,
    const char *to, const char *text)
{
	json_t	*row;

	row = json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)id, "time",
	    control_time((time_t)(time_ms / 1000)), "kind",
	    kind >= 0 && (size_t)kind < sizeof store_kinds /
	    sizeof store_kinds[0] && store_kinds[kind] != NULL ?
	    store_kinds[kind] : "?", "from", control_string(from));
	if (*to != '\0')
		json_object_set_new(row, "to", control_string(to));
	json_object_set_new(row, "text", control_string(text));
	return row;
}

static void
store_history_done(const struct store_msg *rows, size_t n, const char *error,
    void *arg)
{
	struct control_client	*c = control_lookup((uintptr_t)arg);
	json_t			*list;
	size_t			 i;

	if (c == NULL)
		return;
	if (error != NULL) {
		control_fail(c, CTL_E_INVALID, "%s", error);
		return;
	}
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, store_row(rows[i].id,
		    rows[i].time_ms, rows[i].kind, rows[i].from, rows[i].to,
		    rows[i].text));
	control_reply(c, json_pack("{s:s, s:o}", "room", n > 0 ? rows[0].room :
	    "", "messages", list));
}

static void
store_scrollback_row(struct msg *m, void *arg)
{
	json_array_append_new(arg, store_row(m->id, (int64_t)m->time * 1000 +
	    m->time_ms, m->kind, m->from, m->to, m->text));
}

/* history ROOM [N]: the room's last N messages, from the file if any. */
void
control_store_history(struct control_client *c, struct cmd_args *args)
{
	char			 buf[NAME_ROOM_MAX + 2], *end, *cause;
	const char		*name;
	unsigned long		 n = STORE_HISTORY_DEFAULT;
	struct store_query	 q = { .span = STORE_LATEST };
	struct room		*r;
	json_t			*list;

	if ((name = store_room_name(c, args->word[0], buf, sizeof buf)) ==
	    NULL)
		return;
	if (args->nwords > 1 && ((n = strtoul(args->word[1], &end, 10)) == 0 ||
	    *end != '\0' || n > 1000)) {
		control_fail(c, CTL_E_USAGE, "N is a number of messages, 1 to "
		    "1000");
		return;
	}
	if (store_is_open()) {
		q.n = n;
		if (store_history(name, &q, store_history_done,
		    (void *)(uintptr_t)control_defer(c), &cause) == -1) {
			control_fail(c, CTL_E_BUSY, "%s", cause);
			free(cause);
		}
		return;
	}
	if ((r = control_admin_room(c, name)) == NULL)
		return;
	list = json_array();
	room_history(r, n, store_scrollback_row, list);
	control_reply(c, json_pack("{s:s, s:o}", "room", r->name, "messages",
	    list));
}

/* A backup's or a purge's outcome, to its client if it is still there. */
static void
store_job_answer(void *arg, const char *error, const char *verb,
    const char *key)
{
	struct control_client	*c = control_lookup((uintptr_t)arg);

	if (c == NULL)
		return;
	if (error != NULL)
		control_fail(c, CTL_E_INVALID, "%s: %s", verb, error);
	else
		control_reply(c, json_pack("{s:s}", key, "done"));
}

static void
store_backup_done(const char *error, void *arg)
{
	store_job_answer(arg, error, "backup", "backup");
}

static void
store_purge_done(const char *error, void *arg)
{
	store_job_answer(arg, error, "purge", "purged");
}

/* Hand a backup or a purge of name to the writer, answered when done. */
static void
store_job_start(struct control_client *c, int (*job)(const char *,
    store_backup_fn *, void *, char **), const char *name,
    store_backup_fn *done, const char *verb)
{
	char	*cause;

	if (job(name, done, (void *)(uintptr_t)control_defer(c), &cause) ==
	    -1) {
		control_fail(c, CTL_E_BUSY, "%s: %s", verb, cause);
		free(cause);
	}
}

/* backup FILE: a consistent copy of the database, made off the loop. */
void
control_store_backup(struct control_client *c, struct cmd_args *args)
{
	if (args->word[0][0] != '/') {
		control_fail(c, CTL_E_USAGE, "backup: FILE is an absolute path "
		    "(chatd writes it, from its own directory)");
		return;
	}
	store_job_start(c, store_backup, args->word[0], store_backup_done,
	    "backup");
}

/* purge ROOM: forget what it said, on disk and in its scrollback. */
void
control_store_purge(struct control_client *c, struct cmd_args *args)
{
	char		 buf[NAME_ROOM_MAX + 2];
	const char	*name;
	struct room	*r;

	if ((name = store_room_name(c, args->word[0], buf, sizeof buf)) ==
	    NULL)
		return;
	if ((r = room_find(name)) != NULL)
		room_forget(r);
	if (!store_is_open()) {
		control_reply(c, json_pack("{s:s}", "purged", "done"));
		return;
	}
	store_job_start(c, store_purge, name, store_purge_done, "purge");
}
