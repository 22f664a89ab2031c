/*
 * The control socket's clients: chatctl(1) connections, checked at accept
 * (who may act, how many connections a socket and a user may hold, what a
 * read-only user may cost), each with one request and its answer.  The
 * sockets themselves are control-socket.c's, the handlers control-*.c's.
 *
 * A connection has CONTROL_TIMEOUT seconds from accept for its request
 * line, however it trickles it in (a timer set once, not a read timeout
 * that every byte restarts), and gets JSON lines back.  A big answer
 * (clients, rooms) is produced a piece at a time as the peer reads it, so
 * what it holds does not grow with the number of clients.  A handler that
 * streams (tail, drain) follows: its client stays open and is cut if its
 * output piles up past a limit; any client that takes nothing for
 * CONTROL_TIMEOUT seconds is cut.  Bad input, slow readers and floods of
 * connections cost the chat nothing: a client is only marked when it must
 * go and freed from a tick event, never in the middle of a room's fan-out.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bucket.h"
#include "config.h"
#include "control-cmd.h"
#include "control.h"
#include "frame.h"
#include "log.h"
#include "stats.h"
#include "text.h"
#include "tick.h"
#include "xmalloc.h"

#define CONTROL_SOCKET_CLIENTS	64	/* connections per socket... */
#define CONTROL_ROOT_RESERVE	16	/* ...of which the admin one's last are
					   root's alone */
#define CONTROL_PER_UID_MAX	8	/* per socket (root on the admin one:
					   no cap) */
#define CONTROL_SENDQ_MAX	(1024 * 1024)	/* bytes a follower may lag */
#define CONTROL_TIMEOUT		10	/* seconds for a request, or a write */
#define CONTROL_PIECE		(64 * 1024)	/* bytes of a big answer queued */

struct control_client {
	uint64_t			 id;
	struct bufferevent		*bev;
	struct control_socket		*sock;
	struct event			*deadline;	/* for the request */
	struct framer			 framer;
	uid_t				 uid;
	enum ctl_verb			 verb;
	void				*data;		/* the handler's */
	void				(*free_data)(void *);
	control_rows_fn			*rows;		/* a big answer's */
	size_t				 nrows;		/* rows queued so far */
	unsigned			 readonly:1;
	unsigned			 asked:1;	/* request read */
	unsigned			 following:1;	/* streams */
	unsigned			 answered:1;	/* final line queued */
	unsigned			 dead:1;	/* freed by the tick */
	TAILQ_ENTRY(control_client)	 entry;
	TAILQ_ENTRY(control_client)	 dead_entry;
};

static control_cmd_fn *const control_handlers[CTL_NVERBS] = {
	[CTL_STATUS] = control_info_status,
	[CTL_STATS] = control_info_stats,
	[CTL_CLIENTS] = control_info_clients,
	[CTL_ROOMS] = control_info_rooms,
	[CTL_KICK] = control_admin_kick,
	[CTL_BAN] = control_admin_ban,
	[CTL_MUTE] = control_admin_mute,
	[CTL_UNMUTE] = control_admin_unmute,
	[CTL_MUTES] = control_admin_mutes,
	[CTL_SAY] = control_admin_say,
	[CTL_ANNOUNCE] = control_admin_announce,
	[CTL_MSG] = control_admin_msg,
	[CTL_TOPIC] = control_admin_topic,
	[CTL_CLOSE] = control_admin_close,
	[CTL_TAIL] = control_tail_follow,
	[CTL_RELOAD] = control_daemon_reload,
	[CTL_DRAIN] = control_daemon_drain,
	[CTL_SHUTDOWN] = control_daemon_shutdown,
	[CTL_LOG_LEVEL] = control_daemon_log_level,
	[CTL_DB] = control_store_db,
	[CTL_HISTORY] = control_store_history,
	[CTL_BACKUP] = control_store_backup,
	[CTL_PURGE] = control_store_purge,
	[CTL_VERSION] = control_info_version,
};

TAILQ_HEAD(control_list, control_client);
static struct control_list	 control_clients =
				    TAILQ_HEAD_INITIALIZER(control_clients);
static struct control_list	 control_dead =
				    TAILQ_HEAD_INITIALIZER(control_dead);
static uint64_t			 control_next_id = 1;
static struct event_base	*control_base;
static struct tick		 control_tick;
static const struct config	*control_conf;
static size_t			 control_nsocks;	/* sockets served */
static time_t			 control_start;
static char			 control_line[FRAME_BUFFER_MAX(CTL_REQUEST_MAX)];

static void	control_reap(void);
static void	control_rows_next(struct control_client *);

void
control_init(struct event_base *base)
{
	control_base = base;
	control_start = time(NULL);
	tick_init(&control_tick, base, control_reap);
	control_socket_init(base);
	control_daemon_init(base);
}

void
control_configure(const struct config *config)
{
	control_conf = config;
}

const struct config *
control_config(void)
{
	return control_conf;
}

/* Milliseconds on the monotonic clock, for windows and budgets. */
uint64_t
control_now_ms(void)
{
	return bucket_now_us() / 1000;
}

time_t
control_started(void)
{
	return control_start;
}

/* A JSON string of s, made valid UTF-8 first if it is not. */
json_t *
control_string(const char *s)
{
	json_t	*j;
	char	*clean;
	size_t	 len;

	if ((j = json_string(s)) != NULL)
		return j;
	len = strlen(s);
	clean = xmalloc(TEXT_SANITIZE_MAX(len) + 1);
	j = json_stringn(clean, text_sanitize(s, len, clean));
	free(clean);
	return j;
}

/* A time as "2026-11-27T14:03:12Z"; null for 0 (never). */
json_t *
control_time(time_t t)
{
	char		stamp[32];
	struct tm	tm;

	if (t == 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(stamp);
}

/* Mark c to be freed at the tick; it gets nothing more. */
static void
control_drop(struct control_client *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&control_dead, c, dead_entry);
	tick_wake(&control_tick);
}

static void
control_client_free(struct control_client *c)
{
	TAILQ_REMOVE(&control_clients, c, entry);
	c->sock->nclients--;
	if (c->free_data != NULL)
		c->free_data(c->data);
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

/* The tick: free the clients marked dead. */
static void
control_reap(void)
{
	struct control_client	*c;

	while ((c = TAILQ_FIRST(&control_dead)) != NULL) {
		TAILQ_REMOVE(&control_dead, c, dead_entry);
		control_client_free(c);
	}
}

/* Queue a rendered line; NULL means the renderer ran out of memory. */
static void
control_queue(struct control_client *c, char *line)
{
	if (line == NULL)
		fatalx("control: cannot render a reply");
	if (!c->dead)
		bufferevent_write(c->bev, line, strlen(line));
	free(line);
}

/* The final answer: success with result (taken; NULL: empty). */
void
control_reply(struct control_client *c, json_t *result)
{
	if (c->answered) {
		json_decref(result);
		return;
	}
	c->answered = 1;
	control_queue(c, ctl_line(ctl_ok(result)));
}

/* The final answer: failure with a stable code and a sentence. */
void
control_fail(struct control_client *c, const char *code, const char *fmt,
    ...)
{
	char	message[512];
	va_list	ap;

	if (c->answered)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	c->answered = 1;
	control_queue(c, ctl_line(ctl_error(code, message)));
}

/*
 * The final answer: success with a list of rows under key, produced as the
 * peer reads it.  rows(c, cursor) is called whenever the output has
 * drained; it adds rows with control_row until that says the piece is
 * full, and returns 1 once it has added the last row.  Everything else
 * may change between two calls: the cursor must say where to go on (an
 * id, a name), never point at a client or a room.  It is freed with c.
 */
void
control_reply_rows(struct control_client *c, const char *key,
    control_rows_fn *rows, void *cursor, void (*free_cursor)(void *))
{
	if (c->answered) {
		free_cursor(cursor);
		return;
	}
	c->answered = 1;
	c->rows = rows;
	c->data = cursor;
	c->free_data = free_cursor;
	/* ctl_ok's line, written by hand around the rows. */
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "{\"ok\":true,\"result\":{\"%s\":[", key);
	control_rows_next(c);
}

/* Queue one row of a big answer, taking it; 0 once the piece is full. */
int
control_row(struct control_client *c, json_t *row)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		*s;

	if ((s = json_dumps(row, JSON_COMPACT)) == NULL)
		fatalx("control: cannot render a row");
	json_decref(row);
	if (c->nrows++ > 0)
		evbuffer_add(out, ",", 1);
	evbuffer_add(out, s, strlen(s));
	free(s);
	return evbuffer_get_length(out) < CONTROL_PIECE;
}

/* The next piece of a big answer, or its end. */
static void
control_rows_next(struct control_client *c)
{
	size_t	before = c->nrows;
	int	done;

	if (c->dead)
		return;
	done = c->rows(c, c->data);
	if (c->readonly)
		control_limit_charge(c->uid, c->nrows - before);
	if (done) {
		c->rows = NULL;
		evbuffer_add(bufferevent_get_output(c->bev), "]}}\n", 4);
	}
}

/*
 * Keep c open for a stream of lines (tail, drain progress) until the
 * handler's module answers it; data is the module's, freed with c.
 */
void
control_follow(struct control_client *c, void *data,
    void (*free_data)(void *))
{
	struct timeval	tv = { CONTROL_TIMEOUT, 0 };

	c->following = 1;
	c->data = data;
	c->free_data = free_data;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
}

/*
 * The handler answers later, from a database job: c stays open, found
 * again by its id (control_lookup) when the answer is ready.
 */
uint64_t
control_defer(struct control_client *c)
{
	control_follow(c, NULL, NULL);
	return c->id;
}

/* The client with this id, if it is still there to be answered. */
struct control_client *
control_lookup(uint64_t id)
{
	struct control_client	*c;

	TAILQ_FOREACH(c, &control_clients, entry) {
		if (c->id == id)
			return c->dead || c->answered ? NULL : c;
	}
	return NULL;
}

/* Call cb for every live follower of verb that has not been answered. */
void
control_foreach_follower(enum ctl_verb verb, control_follower_fn *cb,
    void *arg)
{
	struct control_client	*c;

	TAILQ_FOREACH(c, &control_clients, entry) {
		if (c->following && c->verb == verb && !c->answered &&
		    !c->dead)
			cb(c, c->data, arg);
	}
}

/* Send a follower one line; one that lags too far behind is cut. */
void
control_stream_line(struct control_client *c, const char *line, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	if (c->dead || c->answered)
		return;
	if (evbuffer_get_length(out) + len > CONTROL_SENDQ_MAX) {
		log_notice("control: client %llu (uid %u) is not reading its "
		    "%s stream: cut at %d bytes", (unsigned long long)c->id,
		    (unsigned)c->uid, ctl_verbs[c->verb].name,
		    CONTROL_SENDQ_MAX);
		control_drop(c);
		return;
	}
	bufferevent_write(c->bev, line, len);
}

/* Send a follower one line, taking j. */
void
control_stream(struct control_client *c, json_t *j)
{
	char	*line = ctl_line(j);

	if (line == NULL)
		fatalx("control: cannot render a line");
	control_stream_line(c, line, strlen(line));
	free(line);
}

static void
control_dispatch(struct control_client *c, const char *line, size_t len)
{
	struct ctl_request	 req;
	struct ctl_error	 e;
	const struct cmd_spec	*spec;

	stats.control_requests++;
	if (ctl_request_decode(line, len, &req, &e) == -1) {
		/* The code only: the message may quote the peer's bytes. */
		log_info("control: client %llu (uid %u): %s",
		    (unsigned long long)c->id, (unsigned)c->uid, e.code);
		control_fail(c, e.code, "%s", e.message);
		return;
	}
	spec = &ctl_verbs[req.verb];
	c->verb = req.verb;
	/* The verb only: arguments may be words said to users. */
	log_info("control: client %llu (uid %u): %s",
	    (unsigned long long)c->id, (unsigned)c->uid, spec->name);
	if (c->readonly && !(spec->flags & CTL_READONLY))
		control_fail(c, CTL_E_READ_ONLY, "%s needs the admin socket; "
		    "this one is read-only", spec->name);
	else
		control_handlers[req.verb](c, &req.args);
	ctl_request_free(&req);
	if (!c->answered && !c->following)
		fatalx("control: %s left its request unanswered", spec->name);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	enum frame_result	 r;
	size_t			 len;

	if (c->asked || c->dead) {	/* one request per connection */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	r = frame_next(&c->framer, in, CTL_REQUEST_MAX, control_line, &len);
	if (r == FRAME_NEED_MORE)
		return;
	c->asked = 1;
	evtimer_del(c->deadline);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (r == FRAME_TOO_LONG)
		control_fail(c, CTL_E_TOO_LONG, "a request may be at most %d "
		    "bytes", CTL_REQUEST_MAX);
	else
		control_dispatch(c, control_line, len);
}

/* The request is due CONTROL_TIMEOUT seconds after accept, byte or not. */
static void
control_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_client	*c = arg;

	if (c->asked || c->dead)
		return;
	c->asked = 1;
	log_info("control: client %llu (uid %u): no request within %d s",
	    (unsigned long long)c->id, (unsigned)c->uid, CONTROL_TIMEOUT);
	control_fail(c, CTL_E_TIMEOUT, "no complete request line within %d "
	    "seconds of connecting", CONTROL_TIMEOUT);
}

/* All output written: the next piece of a big answer, or done. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;

	if (c->rows != NULL)
		control_rows_next(c);
	else if (c->answered)
		control_drop(c);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_client	*c = arg;

	/* A half-close after the request (socat): finish the answer. */
	if ((what & BEV_EVENT_EOF) && c->answered)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_notice("control: client %llu (uid %u) stopped reading: "
		    "closed", (unsigned long long)c->id, (unsigned)c->uid);
	control_drop(c);
}

/*
 * Answer a connection that is not served with one line, and close it.
 * Returns 1 if the refusal is worth a log line: a loop of them gets one
 * line a window (control_socket_refused), not one each.
 */
static int
control_refuse(struct control_socket *sock, evutil_socket_t fd,
    const char *code, const char *message)
{
	char	*line = ctl_line(ctl_error(code, message));
	ssize_t	 n;

	stats.control_refused++;
	if (line != NULL) {
		n = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;	/* best effort: it is refused either way */
	}
	free(line);
	evutil_closesocket(fd);
	return control_socket_refused(sock);
}

/*
 * May uid hold one more connection on sock?  Each socket has its own
 * pool, and each user a share of it; the last CONTROL_ROOT_RESERVE places
 * of the admin socket are root's, so others cannot lock root out.
 */
static int
control_has_place(const struct control_socket *sock, uid_t uid)
{
	struct control_client	*c;
	size_t			 n = 0, max = CONTROL_SOCKET_CLIENTS;

	if (!sock->readonly && uid == 0)
		return sock->nclients < max;
	if (!sock->readonly)
		max -= CONTROL_ROOT_RESERVE;
	if (sock->nclients >= max)
		return 0;
	TAILQ_FOREACH(c, &control_clients, entry)
		n += c->sock == sock && c->uid == uid && !c->dead;
	return n < CONTROL_PER_UID_MAX;
}

/* Who may connect, how often, and how many at once; then serve it. */
void
control_accept(struct control_socket *sock, evutil_socket_t fd)
{
	struct control_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	struct timeval		 tv = { CONTROL_TIMEOUT, 0 };
	time_t			 retry;
	char			 why[160];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		control_refuse(sock, fd, CTL_E_DENIED, "cannot tell who you "
		    "are");
		return;
	}
	if (!sock->readonly && !control_socket_allowed(fd, &cred)) {
		if (control_refuse(sock, fd, CTL_E_DENIED, "permission denied: "
		    "only root, chatd's user and members of control-group may "
		    "use this socket"))
			log_notice("control: refused uid %u gid %u (pid %d): "
			    "not root, chatd's user or in control-group",
			    (unsigned)cred.uid, (unsigned)cred.gid,
			    (int)cred.pid);
		return;
	}
	if (!control_has_place(sock, cred.uid)) {
		if (control_refuse(sock, fd, CTL_E_BUSY, "too many control "
		    "connections; try again later"))
			log_info("control: refused uid %u: too many "
			    "connections", (unsigned)cred.uid);
		return;
	}
	if (sock->readonly && control_limit_admit(cred.uid, &retry) == -1) {
		snprintf(why, sizeof why, "uid %u has asked the read-only "
		    "socket for too much; try again in %lld s",
		    (unsigned)cred.uid, (long long)retry);
		control_refuse(sock, fd, CTL_E_RATE_LIMITED, why);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->bev = bufferevent_socket_new(control_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: cannot make a bufferevent");
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->id = control_next_id++;
	c->sock = sock;
	c->uid = cred.uid;
	c->readonly = sock->readonly;
	c->deadline = evtimer_new(control_base, control_deadline_cb, c);
	evtimer_add(c->deadline, &tv);
	TAILQ_INSERT_TAIL(&control_clients, c, entry);
	sock->nclients++;
	bufferevent_setcb(c->bev, control_read_cb, control_write_cb,
	    control_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_BUFFER_MAX(CTL_REQUEST_MAX));
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("control: client %llu: uid %u pid %d%s",
	    (unsigned long long)c->id, (unsigned)cred.uid, (int)cred.pid,
	    c->readonly ? " (read-only)" : "");
}

/* Serve the admin socket systemd passed; call before control_open. */
int
control_adopt(int fd, char **cause)
{
	return control_socket_adopt(fd, cause);
}

/* Open the sockets the config asks for (control-socket.c). */
int
control_open(const struct config *config, char **cause)
{
	int	n;

	if ((n = control_socket_open(config, cause)) == -1)
		return -1;
	if (n > 0 && control_nsocks == 0)
		control_tail_init();
	control_nsocks = (size_t)n;
	return 0;
}

/* How many control clients may be connected at once: a descriptor each. */
size_t
control_max_clients(void)
{
	return control_nsocks * CONTROL_SOCKET_CLIENTS;
}

/*
 * At exit: end every stream, write what the kernel takes at once (chatctl
 * drain and shutdown wait for their answer), free everything and remove
 * the sockets if they are still ours.
 */
void
control_free(void)
{
	struct control_client	*c;
	struct evbuffer		*out;

	TAILQ_FOREACH(c, &control_clients, entry) {
		if (c->dead)
			continue;
		if (c->following)
			control_reply(c, json_pack("{s:s}", "ended",
			    "chatd is exiting"));
		out = bufferevent_get_output(c->bev);
		evbuffer_unfreeze(out, 1);
		if (evbuffer_write(out, bufferevent_getfd(c->bev)) == -1)
			log_debug("control: client %llu: %s",
			    (unsigned long long)c->id, strerror(errno));
		evbuffer_freeze(out, 1);
	}
	while ((c = TAILQ_FIRST(&control_clients)) != NULL)
		control_client_free(c);
	TAILQ_INIT(&control_dead);
	control_socket_free();
	if (control_nsocks > 0)
		control_tail_free();
	control_nsocks = 0;
	control_daemon_free();
	tick_free(&control_tick);
}
