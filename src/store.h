/*
 * Durable state in SQLite: the database file, its schema, and the writer
 * thread that keeps chat events and room state without the event loop ever
 * waiting for the disk.
 */
#ifndef CHATD_STORE_H
#define CHATD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* A chat event as it is kept: a room's, or a private one (room ""). */
struct store_msg {
	uint64_t	 id;
	int64_t		 time_ms;	/* since the epoch */
	int		 kind;		/* enum msg_kind */
	const char	*room;
	const char	*from;
	const char	*to;
	const char	*text;
};

/* A room's state: its topic and its moderation. */
struct store_room {
	const char	*name;
	const char	*topic;		/* NULL: none */
	const char	*topic_by;
	int64_t		 topic_at;	/* seconds since the epoch */
	int		 kept;		/* the default room */
	const char	*modes;		/* flag letters, "nt" */
	const char	*key;		/* "": none */
	int64_t		 limit;		/* members; 0: none */
	const char	*bans;		/* "MASK BY WHEN\n" each */
	const char	*operators;	/* "NICK ADDRESS\n" each */
};

/* A server ban (ban.c), added or lifted. */
struct store_ban {
	const char	*target;
	const char	*reason;
	int64_t		 added;		/* seconds since the epoch */
	int64_t		 expires;	/* 0: never */
	int		 lifted;
};

/* A server mute (mute.c), set or lifted. */
struct store_mute {
	const char	*nick;
	int64_t		 added;		/* seconds since the epoch */
	int64_t		 expires;	/* 0: never */
	int		 lifted;
};

struct store_limits {
	size_t		 queue_max;	/* rows waiting for the writer */
	size_t		 queue_bytes;	/* and what they may hold */
	unsigned	 commit_ms;	/* at most this long between commits */
	size_t		 batch_max;	/* rows that make a commit at once */
	int64_t		 max_age_ms;	/* messages older go; 0: kept */
	size_t		 max_per_room;	/* newest kept per room; 0: all */
};

/* What chatctl db and status show. */
struct store_info {
	const char	*path;
	uint64_t	 rows;		/* messages in the file */
	uint64_t	 queued;	/* rows waiting, in flight included */
	uint64_t	 queued_bytes;
	uint64_t	 queue_max;
	uint64_t	 committed;	/* rows written since start */
	uint64_t	 commits;
	uint64_t	 dropped;	/* rows refused: the queue was full */
	uint64_t	 errors;	/* commits that failed */
	int64_t		 last_commit_ms;	/* 0: none yet */
	int		 degraded;
	char		 reason[256];	/* why, while degraded */
};

#define STORE_SCHEMA_VERSION	5	/* what this chatd writes */

/* store-db.c: the file.  Synchronous; before the writer starts. */
int		 store_open(const char *path, char **cause);
int		 store_check(const char *path, char **cause);
int		 store_is_open(void);
const char	*store_path(void);
uint64_t	 store_max_id(void);
int		 store_load_rooms(void (*)(const struct store_room *, void *),
		    void *);
int		 store_load_recent(const char *room, size_t n,
		    void (*)(const struct store_msg *, void *), void *);
int		 store_load_bans(void (*)(const struct store_ban *, void *),
		    void *);
int		 store_load_mutes(void (*)(const struct store_mute *, void *),
		    void *);
int		 store_load_room_names(size_t max,
		    void (*)(const char *, void *), void *);
void		 store_close(void);

/* store-writer.c: the writer thread and its queue. */
void		 store_start(struct event_base *, const struct store_limits *);
void		 store_configure(const struct store_limits *);
int		 store_put_msg(const struct store_msg *);
int		 store_put_room(const struct store_room *);
int		 store_put_ban(const struct store_ban *);
int		 store_put_mute(const struct store_mute *);
void		 store_info(struct store_info *);
void		 store_stop(void);

/*
 * Jobs run by the writer thread, answered on the loop: done is called
 * there with the outcome (error NULL on success).  Return -1 and *cause if
 * the job cannot be taken (no database, too many waiting).
 */
typedef void	 store_backup_fn(const char *error, void *arg);

/* A point in a room's history: a message's id, or a time (ms since 1970). */
struct store_ref {
	enum { STORE_REF_NONE, STORE_REF_ID, STORE_REF_TIME } type;
	uint64_t	value;		/* id 0: an unknown id, before all */
};

/* Which of a room's messages a read returns: at most n, oldest first. */
struct store_query {
	enum {
		STORE_LATEST,	/* the n newest after from (NONE: of all) */
		STORE_BEFORE,	/* the n newest before from */
		STORE_AFTER,	/* the n oldest after from */
		STORE_AROUND,	/* n / 2 newest before from, then from on */
		STORE_BETWEEN,	/* between from and to, the n nearest from */
	} span;
	struct store_ref	from, to;
	size_t			n;
};

typedef void	 store_history_fn(const struct store_msg *, size_t n,
		    const char *error, void *arg);
int		 store_backup(const char *file, store_backup_fn *, void *,
		    char **cause);
int		 store_purge(const char *room, store_backup_fn *, void *,
		    char **cause);
int		 store_history(const char *room, const struct store_query *,
		    store_history_fn *, void *, char **cause);

#endif
