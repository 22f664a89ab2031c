/*
 * The operator's voice and ears.  "@operator" is a session in no room:
 * chatctl say and topic speak in a room without joining it, and users can
 * /msg it.  What it receives, and every event the rooms report, goes to
 * the chatctl tail followers it concerns, rendered once per event and only
 * when someone follows.
 */
#include <stdlib.h>
#include <string.h>

#include "control-cmd.h"
#include "log.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "session.h"
#include "xmalloc.h"

#define TAIL_ROOMS_MAX	32

/* A follower's rooms; none means every room. */
struct tail_filter {
	size_t	nrooms;
	char	rooms[TAIL_ROOMS_MAX][NAME_ROOM_MAX + 1];
};

/* One event on its way to the followers. */
struct tail_event {
	const struct msg	*m;
	const struct session	*s;	/* whose rooms a roomless event is in */
	char			*line;	/* rendered on first need */
};

static const char *const tail_kinds[] = {
	[MSG_SAY] = "say",
	[MSG_ACTION] = "action",
	[MSG_PRIVATE] = "private",
	[MSG_JOIN] = "join",
	[MSG_PART] = "part",
	[MSG_QUIT] = "quit",
	[MSG_NICK] = "nick",
	[MSG_TOPIC] = "topic",
	[MSG_NOTICE] = "notice",
	[MSG_ROOM_NOTICE] = "room-notice",
	[MSG_PRIVATE_NOTICE] = "private-notice",
	[MSG_MODE] = "mode",
	[MSG_KICK] = "kick",
	[MSG_INVITE] = "invite",
	[MSG_AWAY] = "away",
	[MSG_SETNAME] = "setname",
};

static struct session	*tail_operator;

/* A room event, or one with neither room nor session (to or by @operator). */
static int
tail_wants(const struct tail_filter *f, const struct msg *m,
    const struct session *s)
{
	size_t	i, j;

	if (f->nrooms == 0 || (*m->room == '\0' && s == NULL))
		return 1;
	for (i = 0; i < f->nrooms; i++) {
		if (*m->room != '\0' && name_compare(m->room, f->rooms[i]) == 0)
			return 1;
		for (j = 0; *m->room == '\0' && j < s->nrooms; j++) {
			if (name_compare(s->rooms[j]->name, f->rooms[i]) == 0)
				return 1;
		}
	}
	return 0;
}

static char *
tail_render(const struct msg *m)
{
	json_t	*event;

	event = json_pack("{s:o, s:s, s:s}", "time", control_time(m->time),
	    "kind", tail_kinds[m->kind], "from", m->from);
	if (*m->room != '\0')
		json_object_set_new(event, "room", json_string(m->room));
	if (*m->to != '\0')
		json_object_set_new(event, "to", json_string(m->to));
	if (*m->text != '\0')	/* a JOIN's is the joiner's real name */
		json_object_set_new(event, m->kind == MSG_JOIN ? "realname" :
		    "text", control_string(m->text));
	return ctl_line(json_pack("{s:o}", "event", event));
}

static void
tail_send(struct control_client *c, void *data, void *arg)
{
	struct tail_event	*e = arg;

	if (!tail_wants(data, e->m, e->s))
		return;
	if (e->line == NULL && (e->line = tail_render(e->m)) == NULL)
		fatalx("control: cannot render an event");
	control_stream_line(c, e->line, strlen(e->line));
}

/* The rooms' observer; also what reaches @operator (s is NULL then). */
static void
tail_observe(const struct msg *m, const struct session *s)
{
	struct tail_event	e = { m, s, NULL };

	control_foreach_follower(CTL_TAIL, tail_send, &e);
	free(e.line);
}

static void
tail_operator_deliver(struct session *s, struct msg *m)
{
	tail_observe(m, NULL);
}

static const struct session_ops tail_operator_ops = {
	.deliver = tail_operator_deliver,
};

void
control_tail_init(void)
{
	tail_operator = session_new_named(&tail_operator_ops,
	    CONTROL_OPERATOR);
	tail_operator->oper = 1;	/* the administrator: every room's */
	room_observe(tail_observe, 0);
}

void
control_tail_free(void)
{
	room_unobserve(tail_observe);
	session_free(tail_operator);
	tail_operator = NULL;
}

struct session *
control_tail_operator(void)
{
	return tail_operator;
}

/* tail [ROOM...]: follow events, in every room or in the rooms named. */
void
control_tail_follow(struct control_client *c, struct cmd_args *args)
{
	struct tail_filter	*f = xcalloc(1, sizeof *f);
	json_t			*rooms = json_array();
	const struct room	*r;
	char			*name;

	for (name = strtok(args->rest, " "); name != NULL;
	    name = strtok(NULL, " ")) {
		if ((r = control_admin_room(c, name)) == NULL)
			break;
		if (f->nrooms == TAIL_ROOMS_MAX) {
			control_fail(c, CTL_E_USAGE, "at most %d rooms",
			    TAIL_ROOMS_MAX);
			break;
		}
		strcpy(f->rooms[f->nrooms++], r->name);
		json_array_append_new(rooms, json_string(r->name));
	}
	if (name != NULL) {
		free(f);
		json_decref(rooms);
		return;
	}
	control_follow(c, f, free);
	control_stream(c, json_pack("{s:{s:o}}", "progress", "tailing",
	    rooms));
}
