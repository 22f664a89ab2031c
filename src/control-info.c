/*
 * Admin commands that only look: status, stats, clients, rooms, version.
 * They are the ones the read-only socket allows.  clients and rooms answer
 * a piece at a time as the peer reads (control_reply_rows).
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban.h"
#include "config.h"
#include "conn.h"
#include "host.h"
#include "msg.h"
#include "control-cmd.h"
#include "listen.h"
#include "metrics-http.h"
#include "name.h"
#include "room.h"
#include "session.h"
#include "stats.h"
#include "tls.h"
#include "version.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	const uint64_t	*value;
} info_counters[] = {
	{ "accepted", &stats.accepted },
	{ "refused_full", &stats.refused_full },
	{ "refused_per_ip", &stats.refused_per_ip },
	{ "refused_banned", &stats.refused_banned },
	{ "refused_connect_rate", &stats.refused_connect_rate },
	{ "refused_memory", &stats.refused_memory },
	{ "closed", &stats.closed },
	{ "closed_slow_consumer", &stats.closed_slow },
	{ "skipped_messages", &stats.skipped_messages },
	{ "skip_gaps", &stats.skip_gaps },
	{ "closed_idle", &stats.closed_idle },
	{ "closed_registration", &stats.closed_registration },
	{ "closed_ping", &stats.closed_ping },
	{ "pings_sent", &stats.pings_sent },
	{ "closed_kicked", &stats.closed_kicked },
	{ "closed_banned", &stats.closed_banned },
	{ "lines_in", &stats.lines_in },
	{ "messages", &stats.messages },
	{ "delivered", &stats.delivered },
	{ "bytes_in", &stats.bytes_in },
	{ "bytes_out", &stats.bytes_out },
	{ "flood_pauses", &stats.flood_pauses },
	{ "scrollback_refused", &stats.scrollback_refused },
	{ "history_dropped", &stats.history_dropped },
	{ "gate_closed", &stats.gate_closed },
	{ "gate_timeouts", &stats.gate_timeouts },
	{ "errors_sent", &stats.errors_sent },
	{ "peak_clients", &stats.peak_clients },
	{ "control_requests", &stats.control_requests },
	{ "control_refused", &stats.control_refused },
};

static void
info_listener(const char *name, void *arg)
{
	json_array_append_new(arg, json_string(name));
}

/* The certificate TLS clients get: its subject and expiry, or nulls. */
static void
info_tls(json_t *status)
{
	const struct tls_context	*tls = listen_get_tls();

	json_object_set_new(status, "tls_subject",
	    tls != NULL ? json_string(tls->subject) : json_null());
	json_object_set_new(status, "tls_expires",
	    tls != NULL ? json_string(tls->expires) : json_null());
}

void
control_info_status(struct control_client *c, struct cmd_args *args)
{
	json_t	*listeners = json_array(), *status;

	listen_foreach(info_listener, listeners);
	metrics_http_foreach(info_listener, listeners);
	status = json_pack("{s:s, s:I, s:s, s:o, s:I, s:o, s:o, s:o, "
	    "s:I, s:I, s:I, s:I}",
	    "version", CHATD_VERSION,
	    "pid", (json_int_t)getpid(),
	    "state", control_daemon_state(),
	    "started", control_time(control_started()),
	    "uptime_seconds", (json_int_t)(time(NULL) - control_started()),
	    "listeners", listeners,
	    "control", control_socket_path(0),
	    "control_readonly", control_socket_path(1),
	    "clients", (json_int_t)conn_count(),
	    "rooms", (json_int_t)room_count(),
	    "bans", (json_int_t)ban_count(),
	    "rss_bytes", (json_int_t)stats_resident_bytes());
	info_tls(status);
	json_object_set_new(status, "history", control_store_status());
	control_reply(c, status);
}

/*
 * What is alive now, from chatd's own accounting: what tests and
 * operators can check returns to its baseline, where RSS cannot say
 * (allocators keep freed memory; sanitizers quarantine it).
 */
static void
info_live(json_t *result)
{
	json_object_set_new(result, "sessions",
	    json_integer((json_int_t)session_count()));
	json_object_set_new(result, "rooms",
	    json_integer((json_int_t)room_count()));
	json_object_set_new(result, "hosts",
	    json_integer((json_int_t)host_count()));
	json_object_set_new(result, "messages_live",
	    json_integer((json_int_t)msg_live()));
	json_object_set_new(result, "held_bytes",
	    json_integer((json_int_t)budget_held()));
	json_object_set_new(result, "max_memory_bytes",
	    json_integer((json_int_t)control_config()->max_memory));
	json_object_set_new(result, "heap_in_use_bytes",
	    json_integer((json_int_t)stats_heap_bytes()));
}

void
control_info_stats(struct control_client *c, struct cmd_args *args)
{
	json_t	*result = json_object();
	size_t	 i;

	json_object_set_new(result, "clients", json_integer(
	    (json_int_t)conn_count()));
	info_live(result);
	for (i = 0; i < sizeof info_counters / sizeof info_counters[0]; i++)
		json_object_set_new(result, info_counters[i].name,
		    json_integer((json_int_t)*info_counters[i].value));
	control_reply(c, result);
}

static const char *const info_states[] = {
	[CONN_HANDSHAKE] = "handshake",
	[CONN_OPEN] = "open",
	[CONN_CLOSING] = "closing",
};

/* One row of clients: a connection, with its session if it has one. */
static json_t *
info_client(const struct conn_info *info, time_t now)
{
	const struct session	*s = info->session;
	json_t			*rooms = json_array();
	size_t			 i;

	for (i = 0; s != NULL && i < s->nrooms; i++)
		json_array_append_new(rooms, json_string(s->rooms[i]->name));
	return json_pack("{s:I, s:o, s:s, s:i, s:s, s:s, s:b, s:o, s:o, s:I, "
	    "s:I, s:b, s:s}",
	    "id", (json_int_t)info->id,
	    "nick", s != NULL ? json_string(s->nick) : json_null(),
	    "address", info->address,
	    "port", (int)info->port,
	    "state", info_states[info->state],
	    "protocol", info->protocol,
	    "tls", info->tls,
	    "rooms", rooms,
	    "since", control_time(info->since),
	    "idle_seconds", (json_int_t)(now - info->active),
	    "sendq_bytes", (json_int_t)info->sendq,
	    "muted", s != NULL && s->muted,
	    "slow_consumer", info->skips ? "skip" : "disconnect");
}

/*
 * Where a big answer goes on when its peer has read the last piece: by id
 * and by name, since connections and rooms come and go in between.
 */
struct info_cursor {
	uint64_t	 last_id;	/* clients: the last connection sent */
	char		 room[NAME_ROOM_MAX + 1]; /* clients ROOM: ROOM; rooms:
					    the last room sent ("": none) */
};

/* One piece of a big answer under way. */
struct info_piece {
	struct control_client	*c;
	struct info_cursor	*cur;
	const struct room	*room;	/* clients ROOM */
	time_t			 now;
	int			 full;	/* the rest waits for the next piece */
};

static void
info_client_row(struct conn *conn, const struct conn_info *info, void *arg)
{
	struct info_piece	*p = arg;

	if (p->full || info->id <= p->cur->last_id || (p->room != NULL &&
	    (info->session == NULL || !session_in_room(info->session,
	    p->room))))
		return;
	p->cur->last_id = info->id;
	p->full = !control_row(p->c, info_client(info, p->now));
}

/* conn_foreach goes in id order: resume after the last id sent. */
static int
info_clients_piece(struct control_client *c, void *arg)
{
	struct info_piece	p = { c, arg, NULL, time(NULL), 0 };

	if (*p.cur->room != '\0' && (p.room = room_find(p.cur->room)) == NULL)
		return 1;	/* the room has gone: so has the rest */
	conn_foreach(info_client_row, &p);
	return !p.full;
}

/* clients [ROOM]: every connection, or the members of ROOM. */
void
control_info_clients(struct control_client *c, struct cmd_args *args)
{
	const struct room	*r = NULL;
	struct info_cursor	*cur;

	if (args->nwords > 0 &&
	    (r = control_admin_room(c, args->word[0])) == NULL)
		return;
	cur = xcalloc(1, sizeof *cur);
	if (r != NULL)
		strcpy(cur->room, r->name);
	control_reply_rows(c, "clients", info_clients_piece, cur, free);
}

static void
info_room(struct room *r, void *arg)
{
	struct info_piece	*p = arg;

	if (p->full || (*p->cur->room != '\0' &&
	    name_compare(r->name, p->cur->room) <= 0))
		return;
	strcpy(p->cur->room, r->name);
	p->full = !control_row(p->c, json_pack("{s:s, s:I, s:I, s:o, s:o, "
	    "s:o}",
	    "name", r->name,
	    "members", (json_int_t)r->nmembers,
	    "messages", (json_int_t)r->messages,
	    "created", control_time(r->created),
	    "last_activity", control_time(r->last_activity),
	    "topic", r->topic != NULL ? control_string(r->topic) :
	    json_null()));
}

/* room_foreach goes in name order: resume after the last name sent. */
static int
info_rooms_piece(struct control_client *c, void *arg)
{
	struct info_piece	p = { c, arg, NULL, 0, 0 };

	room_foreach(info_room, &p);
	return !p.full;
}

void
control_info_rooms(struct control_client *c, struct cmd_args *args)
{
	control_reply_rows(c, "rooms", info_rooms_piece,
	    xcalloc(1, sizeof (struct info_cursor)), free);
}

void
control_info_version(struct control_client *c, struct cmd_args *args)
{
	control_reply(c, json_pack("{s:s, s:i, s:s, s:s}",
	    "chatd", CHATD_VERSION,
	    "protocol", CTL_PROTO_VERSION,
	    "libevent", event_get_version(),
	    "jansson", JANSSON_VERSION));
}
