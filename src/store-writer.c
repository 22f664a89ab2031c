/*
 * The writer thread: the only user of the database once the loop runs.
 *
 * The loop hands it rows (messages, room state) through a bounded queue
 * and never waits: a full queue refuses the row, which is counted and
 * logged, and chat goes on.  The thread commits what is queued in one
 * transaction at most every commit interval, or at once when a batch's
 * worth is waiting.  A commit that fails (disk full, file made read-only,
 * I/O error) is rolled back and its rows go back to the head of the queue:
 * history is marked degraded with SQLite's reason and the thread tries
 * again every STORE_RETRY_MS, so writes resume by themselves; meanwhile the
 * queue keeps what fits in it.  Retention runs in bounded steps, inside the
 * commits and once a second when idle, so no DELETE is ever long; what a
 * commit writes is store-commit.c's.
 *
 * Jobs (backup, purge, reading history: store-job.c) wait in a short list
 * of their own, run on the thread after what was queued before them is
 * committed, and are answered on the loop: the thread puts them on the done list and
 * writes to an eventfd that a libevent event watches.  The loop holds the
 * mutex only to move items between lists, never while SQLite works.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_RETRY_MS		1000	/* between tries of a failed commit */
#define STORE_IDLE_MS		1000	/* a retention step when idle */
#define STORE_JOBS_MAX		16	/* waiting backups, purges, reads */
#define STORE_DROP_LOG_MS	10000	/* between "queue full" lines */
#define STORE_WRITER_NICE	10	/* the thread's nice above the loop's */

/* Everything below is under lock, except what says it is the loop's. */
static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	pthread_t		 thread;
	int			 running;
	int			 stopping;
	struct store_limits	 limits;
	struct store_items	 queue;
	uint64_t		 queued, queued_bytes;	/* in flight included */
	struct store_jobs	 jobs, done;
	size_t			 njobs;
	uint64_t		 rows, committed, commits, errors;
	int64_t			 last_commit_ms, last_attempt_ms, retry_ms;
	int			 degraded;
	char			 reason[256];
	/* The loop's own. */
	struct event		*ev;
	int			 efd;
	int			 told_degraded;
	uint64_t		 dropped, dropped_logged;
	int64_t			 drop_logged_ms;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

/* Tell the loop something is done or changed; from the thread. */
static void
store_notify(void)
{
	uint64_t	one = 1;

	if (write(w.efd, &one, sizeof one) == -1 && errno != EAGAIN)
		return;		/* nothing better to do from here */
}

static void
store_items_free(struct store_items *items)
{
	struct store_item	*it;

	while ((it = TAILQ_FIRST(items)) != NULL) {
		TAILQ_REMOVE(items, it, entry);
		free(it);
	}
}

/*
 * Locked on entry and exit: take a batch from the head of the queue,
 * commit it unlocked, and account for the outcome.
 */
static void
store_commit_batch(void)
{
	struct store_items	 batch = TAILQ_HEAD_INITIALIZER(batch);
	struct store_limits	 lim = w.limits;
	struct store_item	*it;
	uint64_t		 n = 0, bytes = 0;
	int			 rc;

	TAILQ_INIT(&batch);
	while (n < lim.batch_max && (it = TAILQ_FIRST(&w.queue)) != NULL) {
		TAILQ_REMOVE(&w.queue, it, entry);
		TAILQ_INSERT_TAIL(&batch, it, entry);
		n++;
		bytes += it->size;
	}
	w.last_attempt_ms = store_now_ms();
	pthread_mutex_unlock(&w.lock);
	rc = store_commit(&batch, &lim);
	pthread_mutex_lock(&w.lock);
	w.rows = store_thread_rows;
	if (rc == SQLITE_OK) {
		store_items_free(&batch);
		w.queued -= n;
		w.queued_bytes -= bytes;
		w.committed += n;
		w.commits++;
		w.last_commit_ms = store_now_ms();
		if (w.degraded) {
			w.degraded = 0;
			store_notify();
		}
		return;
	}
	/* Back to the head, in order: tried again after STORE_RETRY_MS. */
	TAILQ_CONCAT(&batch, &w.queue, entry);
	TAILQ_CONCAT(&w.queue, &batch, entry);
	w.errors++;
	w.retry_ms = store_now_ms() + STORE_RETRY_MS;
	snprintf(w.reason, sizeof w.reason, "%s", sqlite3_errstr(rc));
	if (!w.degraded) {
		w.degraded = 1;
		store_notify();
	}
}

/* Locked on entry and exit: run the first job unlocked and answer it. */
static void
store_run_job(void)
{
	struct store_job	*job = TAILQ_FIRST(&w.jobs);

	TAILQ_REMOVE(&w.jobs, job, entry);
	pthread_mutex_unlock(&w.lock);
	store_job_run(job, &store_thread_rows);
	pthread_mutex_lock(&w.lock);
	w.rows = store_thread_rows;
	TAILQ_INSERT_TAIL(&w.done, job, entry);
	store_notify();
}

/* Is a commit due now: rows queued, no retry pending, a batch or time? */
static int
store_commit_due(int64_t now)
{
	if (w.queued == 0 || (!w.stopping && now < w.retry_ms))
		return 0;
	return w.stopping || !TAILQ_EMPTY(&w.jobs) ||
	    w.queued >= w.limits.batch_max ||
	    now >= w.last_attempt_ms + w.limits.commit_ms;
}

static void
store_wait_until(int64_t ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	pthread_cond_timedwait(&w.wake, &w.lock, &ts);
}

/*
 * History can wait; clients cannot.  Where the thread shares a core with
 * the loop (one core, or a daemon pinned to one), a commit would hold the
 * messages that arrive meanwhile, so the thread runs at a lower priority
 * (Linux gives a thread a nice value of its own): the loop has the core
 * at once when it has work, and the thread still gets every idle cycle
 * and a share under load.  Raising one's nice never fails for want of
 * privilege, so a failure is no reason to stop writing.
 */
static void
store_writer_yield_to_loop(void)
{
	id_t	tid = (id_t)gettid();
	int	nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, tid);
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, tid, nice + STORE_WRITER_NICE);
}

static void *
store_writer_main(void *arg)
{
	struct store_limits	lim;
	int64_t			now, until;
	int			stop_tried = 0;

	store_writer_yield_to_loop();
	pthread_mutex_lock(&w.lock);
	for (;;) {
		now = store_now_ms();
		if (store_commit_due(now)) {
			stop_tried = w.stopping;
			store_commit_batch();
			if (stop_tried && w.degraded)
				break;	/* the rest are lost: store_stop says */
			continue;
		}
		if (!TAILQ_EMPTY(&w.jobs) && (w.queued == 0 || w.degraded)) {
			store_run_job();
			continue;
		}
		if (w.stopping)
			break;
		if (w.queued > 0)
			until = w.degraded ? w.retry_ms :
			    w.last_attempt_ms + w.limits.commit_ms;
		else
			until = now + STORE_IDLE_MS;
		store_wait_until(until);
		if (w.queued == 0 && TAILQ_EMPTY(&w.jobs) && !w.stopping &&
		    store_now_ms() >= until) {
			lim = w.limits;
			pthread_mutex_unlock(&w.lock);
			store_commit_idle(&lim);
			pthread_mutex_lock(&w.lock);
			w.rows = store_thread_rows;
		}
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

/* On the loop: each job's answer, then it is gone. */
static void
store_answer(struct store_jobs *jobs)
{
	struct store_job	*job;

	while ((job = TAILQ_FIRST(jobs)) != NULL) {
		TAILQ_REMOVE(jobs, job, entry);
		if (job->kind == STORE_JOB_HISTORY)
			job->read_done(job->rows, job->nrows, job->error,
			    job->arg);
		else
			job->done(job->error, job->arg);
		store_job_free(job);
		w.njobs--;
	}
}

/* The loop: log what changed, answer finished jobs. */
static void
store_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_jobs	 done = TAILQ_HEAD_INITIALIZER(done);
	uint64_t		 count;
	char			 reason[sizeof w.reason];
	int			 degraded;

	if (read(w.efd, &count, sizeof count) == -1 && errno != EAGAIN)
		log_warn("history notification");
	TAILQ_INIT(&done);
	pthread_mutex_lock(&w.lock);
	TAILQ_CONCAT(&done, &w.done, entry);
	degraded = w.degraded;
	memcpy(reason, w.reason, sizeof reason);
	pthread_mutex_unlock(&w.lock);
	if (degraded && !w.told_degraded)
		log_error("history degraded: %s: %s; chat goes on, rows wait "
		    "in the queue and writes are retried", store_db.path,
		    reason);
	else if (!degraded && w.told_degraded)
		log_notice("history writes resumed: %s", store_db.path);
	w.told_degraded = degraded;
	store_answer(&done);
}

/* Start the writer for the open database (nothing to do without one). */
void
store_start(struct event_base *base, const struct store_limits *lim)
{
	int	rc;

	if (store_db.db == NULL)
		return;
	TAILQ_INIT(&w.queue);
	TAILQ_INIT(&w.jobs);
	TAILQ_INIT(&w.done);
	w.limits = *lim;
	w.rows = store_thread_rows = store_db.rows;
	w.stopping = w.degraded = w.told_degraded = 0;
	w.committed = w.commits = w.errors = w.dropped = w.dropped_logged = 0;
	w.last_commit_ms = w.last_attempt_ms = w.retry_ms = 0;
	w.drop_logged_ms = 0;
	if (store_commit_prepare() == -1)
		fatalx("database %s: %s", store_db.path,
		    sqlite3_errmsg(store_db.db));
	if ((w.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	w.ev = event_new(base, w.efd, EV_READ | EV_PERSIST, store_event_cb,
	    NULL);
	event_add(w.ev, NULL);
	if ((rc = pthread_create(&w.thread, NULL, store_writer_main, NULL)) !=
	    0)
		fatalx("history writer thread: %s", strerror(rc));
	w.running = 1;
}

/* New limits (a reload); a smaller queue refuses new rows till it drains. */
void
store_configure(const struct store_limits *lim)
{
	pthread_mutex_lock(&w.lock);
	w.limits = *lim;
	pthread_mutex_unlock(&w.lock);
}

/* Queue it, or count it dropped: on the loop, never waiting for SQLite. */
static int
store_enqueue(struct store_item *it)
{
	int64_t	 now;
	int	 full;

	pthread_mutex_lock(&w.lock);
	full = w.queued >= w.limits.queue_max ||
	    w.queued_bytes + it->size > w.limits.queue_bytes;
	if (!full) {
		TAILQ_INSERT_TAIL(&w.queue, it, entry);
		w.queued++;
		w.queued_bytes += it->size;
		if (w.queued == 1 || w.queued >= w.limits.batch_max)
			pthread_cond_signal(&w.wake);
	}
	pthread_mutex_unlock(&w.lock);
	if (!full)
		return 0;
	free(it);
	w.dropped++;
	now = store_now_ms();
	if (now >= w.drop_logged_ms + STORE_DROP_LOG_MS) {
		log_warnx("history queue full (%zu rows, %zu bytes): %llu "
		    "rows not kept", w.limits.queue_max, w.limits.queue_bytes,
		    (unsigned long long)(w.dropped - w.dropped_logged));
		w.dropped_logged = w.dropped;
		w.drop_logged_ms = now;
	}
	return -1;
}

#define STORE_ITEM_STRINGS	7	/* at most, in one item */

/* Copy the n strings after the item; their pointers into it. */
static struct store_item *
store_item_new(enum store_item_kind kind, const char **strings[], size_t n)
{
	struct store_item	*it;
	size_t			 len[STORE_ITEM_STRINGS], total = 0, i;
	char			*cursor;

	for (i = 0; i < n; i++)
		total += len[i] = *strings[i] != NULL ? strlen(*strings[i]) +
		    1 : 0;
	it = xmalloc(sizeof *it + total);
	it->kind = kind;
	it->size = sizeof *it + total;
	cursor = it->data;
	for (i = 0; i < n; i++) {
		if (*strings[i] == NULL)
			continue;
		memcpy(cursor, *strings[i], len[i]);
		*strings[i] = cursor;
		cursor += len[i];
	}
	return it;
}

/* Keep m; -1 if it was dropped (no database, or the queue is full). */
int
store_put_msg(const struct store_msg *m)
{
	struct store_item	*it;
	struct store_msg	 copy = *m;
	const char		**strings[] = { &copy.room, &copy.from,
				    &copy.to, &copy.text };

	if (!w.running || store_kind_name(m->kind) == NULL)
		return -1;
	it = store_item_new(STORE_ITEM_MSG, strings, 4);
	it->u.msg = copy;
	return store_enqueue(it);
}

int
store_put_room(const struct store_room *r)
{
	struct store_item	*it;
	struct store_room	 copy = *r;
	const char		**strings[] = { &copy.name, &copy.topic,
				    &copy.topic_by, &copy.modes, &copy.key,
				    &copy.bans, &copy.operators };

	if (!w.running)
		return -1;
	it = store_item_new(STORE_ITEM_ROOM, strings, 7);
	it->u.room = copy;
	return store_enqueue(it);
}

int
store_put_ban(const struct store_ban *b)
{
	struct store_item	*it;
	struct store_ban	 copy = *b;
	const char		**strings[] = { &copy.target, &copy.reason };

	if (!w.running)
		return -1;
	it = store_item_new(STORE_ITEM_BAN, strings, 2);
	it->u.ban = copy;
	return store_enqueue(it);
}

int
store_put_mute(const struct store_mute *m)
{
	struct store_item	*it;
	struct store_mute	 copy = *m;
	const char		**strings[] = { &copy.nick };

	if (!w.running)
		return -1;
	it = store_item_new(STORE_ITEM_MUTE, strings, 1);
	it->u.mute = copy;
	return store_enqueue(it);
}

void
store_info(struct store_info *info)
{
	memset(info, 0, sizeof *info);
	info->path = store_db.path;
	pthread_mutex_lock(&w.lock);
	info->rows = w.running ? w.rows : store_db.rows;
	info->queued = w.queued;
	info->queued_bytes = w.queued_bytes;
	info->queue_max = w.limits.queue_max;
	info->committed = w.committed;
	info->commits = w.commits;
	info->errors = w.errors;
	info->last_commit_ms = w.last_commit_ms;
	info->degraded = w.degraded;
	if (w.degraded)
		memcpy(info->reason, w.reason, sizeof info->reason);
	pthread_mutex_unlock(&w.lock);
	info->dropped = w.dropped;
}

/* Hand job to the thread, or free it and say why not. */
static int
store_add_job(struct store_job *job, char **cause)
{
	if (!w.running || w.njobs >= STORE_JOBS_MAX) {
		if (!w.running)
			xasprintf(cause, "no database (database = none)");
		else
			xasprintf(cause, "%d database jobs are waiting "
			    "already; try again", STORE_JOBS_MAX);
		store_job_free(job);
		return -1;
	}
	w.njobs++;
	pthread_mutex_lock(&w.lock);
	TAILQ_INSERT_TAIL(&w.jobs, job, entry);
	pthread_cond_signal(&w.wake);
	pthread_mutex_unlock(&w.lock);
	return 0;
}

/* Copy the database to file, a new file made 0600. */
int
store_backup(const char *file, store_backup_fn *done, void *arg, char **cause)
{
	struct store_job	*job = store_job_new(STORE_JOB_BACKUP, file, arg);

	job->done = done;
	return store_add_job(job, cause);
}

/* Forget room's messages (its state stays). */
int
store_purge(const char *room, store_backup_fn *done, void *arg, char **cause)
{
	struct store_job	*job = store_job_new(STORE_JOB_PURGE, room, arg);

	job->done = done;
	return store_add_job(job, cause);
}

/* Read the messages of room that q asks for (at most STORE_HISTORY_MAX). */
int
store_history(const char *room, const struct store_query *q,
    store_history_fn *done, void *arg, char **cause)
{
	struct store_job	*job;

	job = store_job_new(STORE_JOB_HISTORY, room, arg);
	job->read_done = done;
	job->query = *q;
	if (job->query.n > STORE_HISTORY_MAX)
		job->query.n = STORE_HISTORY_MAX;
	return store_add_job(job, cause);
}

/*
 * At exit, after the loop: commit what is queued (one try if degraded),
 * stop the thread, answer every job (those not run with an error, so that
 * their callers free what they hold).  The database stays open for
 * store_close.
 */
void
store_stop(void)
{
	struct store_job	*job;

	if (!w.running)
		return;
	pthread_mutex_lock(&w.lock);
	w.stopping = 1;
	pthread_cond_signal(&w.wake);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	w.running = 0;
	if (w.queued > 0)
		log_error("history: %llu rows not written at exit: %s",
		    (unsigned long long)w.queued, w.reason);
	store_items_free(&w.queue);
	w.queued = w.queued_bytes = 0;
	TAILQ_FOREACH(job, &w.jobs, entry)
		xasprintf(&job->error, "chatd is stopping");
	TAILQ_CONCAT(&w.done, &w.jobs, entry);
	store_answer(&w.done);
	store_commit_finalize();
	event_free(w.ev);
	w.ev = NULL;
	close(w.efd);
	w.efd = -1;
}
