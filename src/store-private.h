/*
 * Inside the store: the one connection, shared by store-db.c (opened and
 * read at start, on the loop's thread) and the writer thread (store-writer.c,
 * store-commit.c, store-job.c: its alone once store_start has run), and the
 * items the loop queues for that thread.
 */
#ifndef CHATD_STORE_PRIVATE_H
#define CHATD_STORE_PRIVATE_H

#include <sys/queue.h>

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_HISTORY_MAX	1000	/* rows one read returns */

struct store_db {
	sqlite3		*db;		/* NULL: no database */
	char		*path;
	int		 lockfd;	/* flock'ed: one chatd per file */
	uint64_t	 rows;		/* messages in the file */
};
extern struct store_db store_db;

enum store_job_kind {
	STORE_JOB_BACKUP,
	STORE_JOB_PURGE,
	STORE_JOB_HISTORY,
};

struct store_job {
	TAILQ_ENTRY(store_job)	 entry;
	enum store_job_kind	 kind;
	char			*name;		/* the file, or the room */
	struct store_query	 query;		/* a read's */
	store_backup_fn		*done;		/* a backup's or a purge's */
	store_history_fn	*read_done;	/* a read's */
	void			*arg;
	char			*error;		/* NULL: it worked */
	struct store_msg	*rows;		/* a read's, strings owned */
	size_t			 nrows;
};
TAILQ_HEAD(store_jobs, store_job);

enum store_item_kind {
	STORE_ITEM_MSG,
	STORE_ITEM_ROOM,
	STORE_ITEM_BAN,
	STORE_ITEM_MUTE,
};

struct store_item {
	TAILQ_ENTRY(store_item)	 entry;
	enum store_item_kind	 kind;
	size_t			 size;		/* what it holds, counted */
	union {
		struct store_msg	 msg;
		struct store_room	 room;
		struct store_ban	 ban;
		struct store_mute	 mute;
	} u;
	char			 data[];	/* the strings */
};
TAILQ_HEAD(store_items, store_item);

/* store-commit.c: the writer thread's SQL. */
extern uint64_t	 store_thread_rows;
int64_t		 store_now_ms(void);
int		 store_commit_prepare(void);
void		 store_commit_finalize(void);
int		 store_commit(struct store_items *, const struct store_limits *);
void		 store_commit_idle(const struct store_limits *);

const char	*store_kind_name(int kind);
int		 store_kind_parse(const char *);

struct store_job *store_job_new(enum store_job_kind, const char *name,
		    void *arg);
void		 store_job_free(struct store_job *);
void		 store_job_run(struct store_job *, uint64_t *rows);

#endif
