/*
 * IRC channels are chatd rooms: joining, leaving, talking, topics, and the
 * answers that list rooms and members.  An answer that grows with a room
 * or with the server (NAMES, WHO, LIST, and the names after a JOIN) is
 * paged (conn_page): produced as the client reads it, each page resuming
 * after the last name sent, so it ends even if the room changes meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "room-mode.h"
#include "session.h"
#include "stats.h"
#include "xmalloc.h"

#define PAGE_LINES	8	/* reply lines in one page of an answer */
#define TARGETS_MAX	4	/* TARGMAX for PRIVMSG and NOTICE */
#define NAMES_BYTES	400	/* nicks in one 353 line, spaces included */
#define LIST_SCAN	256	/* rooms one page of a LIST with masks looks at */

enum irc_answer { ANSWER_NAMES, ANSWER_WHO, ANSWER_LIST };

struct irc_page {
	enum irc_answer	 answer;
	char		*rooms;		/* NAMES, WHO: a comma list, split; */
					/* LIST: its masks, or NULL */
	char		*current;	/* the one being answered, or NULL */
	char		*rest;		/* those still to come, or NULL */
	char		 after[NAME_ROOM_MAX + 1];	/* last name sent */
	int		 started;	/* current has had a page */
	int		 topics;	/* NAMES after JOIN: topic first */
	char		 whox[16];	/* WHO's %fields (WHOX); "": 352 */
	char		 token[4];	/* WHOX's ,token */
};

static void
irc_page_free(void *arg)
{
	struct irc_page	*p = arg;

	free(p->rooms);
	free(p);
}

/* Answer for the next name of the list; 0 at its end. */
static int
irc_page_take(struct irc_page *p)
{
	if ((p->current = p->rest) == NULL)
		return 0;
	if ((p->rest = strchr(p->rest, ',')) != NULL)
		*p->rest++ = '\0';
	p->started = 0;
	p->after[0] = '\0';
	return 1;
}

/*
 * A page of names of a room c is in (after its topic, for a JOIN), or
 * just the end of the names for another.
 */
static int
irc_names_page(struct conn *c, struct irc_page *p, const char *name)
{
	struct room	*r = room_find(name);
	char		 nicks[NAMES_BYTES + IRC_TEXT_MAX / 2 + 3];
	char		 source[IRC_TEXT_MAX / 2];
	int		 userhost = irc_caps(c) & IRC_CAP_USERHOST_NAMES;
	size_t		 i, n, len;

	if (r == NULL || !session_in_room(c->session, r)) {
		irc_reply(c, "366", "%s :End of /NAMES list", name);
		return 0;
	}
	if (!p->started && p->topics && r->topic != NULL) {
		irc_reply(c, "332", "%s :%s", r->name, r->topic);
		irc_reply(c, "333", "%s %s %lld", r->name, r->topic_by,
		    (long long)r->topic_at);
	}
	i = p->started ? room_member_after(r, p->after) : 0;
	for (n = 0; n < PAGE_LINES && i < r->nmembers; n++) {
		for (len = 0; i < r->nmembers && len < NAMES_BYTES; i++) {
			/* what c was told of, and itself (room-announce.c) */
			if ((r->member_status[i] & ROOM_UNANNOUNCED) &&
			    r->members[i] != c->session)
				continue;
			len += (size_t)snprintf(nicks + len, sizeof nicks -
			    len, "%s%s%s", len > 0 ? " " : "",
			    irc_status_prefix(c, r->member_status[i]),
			    userhost ? irc_source(r->members[i]->nick, source,
			    sizeof source), source : r->members[i]->nick);
		}
		if (len > 0)
			irc_reply(c, "353", "= %s :%s", r->name, nicks);
		snprintf(p->after, sizeof p->after, "%s",
		    r->members[i - 1]->nick);
		p->started = 1;
	}
	if (i < r->nmembers)
		return 1;
	irc_reply(c, "366", "%s :End of /NAMES list", r->name);
	return 0;
}

/*
 * One member of a WHO answer: 352, or with WHOX's %fields 354 with those
 * fields in WHOX's fixed order (tcuihsnfdlaor).  chatd shows no address,
 * has no accounts and no hops: those fields are placeholders.
 */
static void
irc_who_one(struct conn *c, const struct irc_page *p, const char *room,
    const struct session *s, unsigned status)
{
	static const char	 order[] = "tcuihsnfdlaor";
	char			 line[IRC_TEXT_MAX], flags[8];
	const char		*f, *v;
	size_t			 len = 0;

	snprintf(flags, sizeof flags, "%c%s%s", s->away != NULL ? 'G' : 'H',
	    s->oper ? "*" : "", irc_status_prefix(c, status));
	if (p->whox[0] == '\0') {
		irc_reply(c, "352", "%s %s %s %s %s %s :0 %s", room, s->nick,
		    irc_server_name(), irc_server_name(), s->nick, flags,
		    irc_realname(s));
		return;
	}
	line[0] = '\0';
	for (f = order; *f != '\0'; f++) {
		if (strchr(p->whox, *f) == NULL)
			continue;
		switch (*f) {
		case 't': v = p->token[0] != '\0' ? p->token : "0"; break;
		case 'c': v = room; break;
		case 'u': case 'n': v = s->nick; break;
		case 'r': v = irc_realname(s); break;
		case 'i': v = "255.255.255.255"; break;
		case 'h': case 's': v = irc_server_name(); break;
		case 'f': v = flags; break;
		case 'o': v = "n/a"; break;
		default: v = "0"; break;	/* d, l, a */
		}
		len += (size_t)snprintf(line + len, sizeof line - len, "%s%s%s",
		    len > 0 ? " " : "", *f == 'r' ? ":" : "", v);
	}
	irc_reply(c, "354", "%s", line);
}

static int
irc_who_page(struct conn *c, struct irc_page *p, const char *name)
{
	struct room	*r = room_find(name);
	struct session	*s;
	size_t		 i, n;

	if (r == NULL) {
		if ((s = session_find_client(name)) != NULL)
			irc_who_one(c, p, "*", s, 0);
		irc_reply(c, "315", "%s :End of /WHO list", name);
		return 0;
	}
	i = p->started ? room_member_after(r, p->after) : 0;
	for (n = 0; n < PAGE_LINES && i < r->nmembers; n++, i++) {
		s = r->members[i];
		irc_who_one(c, p, r->name, s, r->member_status[i]);
		snprintf(p->after, sizeof p->after, "%s", s->nick);
		p->started = 1;
	}
	if (i < r->nmembers)
		return 1;
	irc_reply(c, "315", "%s :End of /WHO list", r->name);
	return 0;
}

/* Whether LIST's comma list of masks (NULL: none) lets name through. */
static int
irc_list_matches(const char *masks, const char *name)
{
	char	mask[NAME_ROOM_MAX + 1];
	size_t	n;

	if (masks == NULL)
		return 1;
	for (; *masks != '\0'; masks += n + (masks[n] == ',')) {
		n = strcspn(masks, ",");
		snprintf(mask, sizeof mask, "%.*s", (int)n, masks);
		if (room_mask_match(mask, name))
			return 1;
	}
	return 0;
}

static int
irc_list_page(struct conn *c, struct irc_page *p)
{
	struct room	*r;
	size_t		 n, seen;

	if (!p->started)
		irc_reply(c, "321", "Channel :Users  Name");
	p->started = 1;
	r = room_after(p->after);
	for (n = seen = 0; n < PAGE_LINES && seen < LIST_SCAN && r != NULL;
	    seen++) {
		if (irc_list_matches(p->rooms, r->name)) {
			irc_reply(c, "322", "%s %zu :%s", r->name,
			    r->nmembers, r->topic != NULL ? r->topic : "");
			n++;
		}
		snprintf(p->after, sizeof p->after, "%s", r->name);
		r = room_after(p->after);
	}
	if (r != NULL)
		return 1;
	irc_reply(c, "323", ":End of /LIST");
	return 0;
}

/* A page of the current room, or the start of the next. */
static int
irc_page_step(struct conn *c, void *arg)
{
	struct irc_page	*p = arg;
	int		 more;

	if (p->answer == ANSWER_LIST)
		return irc_list_page(c, p);
	if (p->current == NULL && !irc_page_take(p))
		return 0;
	if (p->answer == ANSWER_NAMES)
		more = irc_names_page(c, p, p->current);
	else
		more = irc_who_page(c, p, p->current);
	if (!more)
		p->current = NULL;
	return more || p->rest != NULL;
}

/* The pager: a page, in the answer's labeled batch if it has one. */
static int
irc_page(struct conn *c, void *arg)
{
	int	more;

	irc_label_page_begin(c);
	more = irc_page_step(c, arg);
	irc_label_page_end(c, more);
	return more;
}

/* Page answer for the comma list rooms (NULL for LIST). */
static struct irc_page *
irc_page_start(struct conn *c, enum irc_answer answer, const char *rooms)
{
	struct irc_page	*p = xcalloc(1, sizeof *p);

	p->answer = answer;
	if (rooms != NULL)
		p->rooms = p->rest = xstrdup(rooms);
	conn_page(c, irc_page, p, irc_page_free);
	return p;
}

/* Why a room cannot be joined, as IRC says it. */
static void
irc_join_failed(struct conn *c, const char *name, enum chat_result result)
{
	switch (result) {
	case CHAT_ROOM_INVALID:
		irc_reply(c, "479", "%.64s :Illegal channel name", name);
		break;
	case CHAT_TOO_MANY_ROOMS:
		irc_reply(c, "405", "%s :You have joined too many channels",
		    name);
		break;
	case CHAT_ROOM_FULL:
		irc_reply(c, "471", "%s :Cannot join channel (+l)", name);
		break;
	case CHAT_INVITE_ONLY:
		irc_reply(c, "473", "%s :Cannot join channel (+i)", name);
		break;
	case CHAT_ROOM_BANNED:
		irc_reply(c, "474", "%s :Cannot join channel (+b)", name);
		break;
	case CHAT_BAD_KEY:
		irc_reply(c, "475", "%s :Cannot join channel (+k)", name);
		break;
	default:	/* max-rooms, or a memory budget */
		irc_reply(c, "437", "%s :Channel is temporarily unavailable "
		    "(the server holds as many rooms as it may)", name);
		break;
	}
}

/*
 * Join name; the JOIN comes back as an event.  Returns the room if it is
 * new to c, for its topic and names to follow.
 */
static struct room *
irc_join(struct conn *c, const char *name, const char *key)
{
	struct room		*r;
	enum chat_result	 result;
	int			 rejoined;

	result = room_join(c->session, name, key, &r, &rejoined);
	if (result != CHAT_OK) {
		irc_join_failed(c, name, result);
		return NULL;
	}
	return rejoined ? NULL : r;	/* already there: IRC says nothing */
}

/* Topics and names of the rooms just joined (a comma list). */
static void
irc_joined(struct conn *c, const char *rooms)
{
	if (*rooms != '\0')
		irc_page_start(c, ANSWER_NAMES, rooms)->topics = 1;
}

void
irc_join_one(struct conn *c, const char *name)
{
	struct room	*r = irc_join(c, name, NULL);

	if (r != NULL)
		irc_joined(c, r->name);
}

void
irc_cmd_join(struct conn *c, struct irc_message *m)
{
	char		*name, *save = NULL, joined[IRC_TEXT_MAX + 1];
	char		*key, *keys_save = NULL;
	size_t		 len = 0;
	struct room	*r;

	if (strcmp(m->params[0], "0") == 0) {
		while (c->session->nrooms > 0) {
			r = c->session->rooms[c->session->nrooms - 1];
			room_part(c->session, r, NULL);
		}
		return;
	}
	joined[0] = '\0';
	key = m->nparams > 1 ? strtok_r(m->params[1], ",", &keys_save) : NULL;
	for (name = strtok_r(m->params[0], ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save),
	    key = key != NULL ? strtok_r(NULL, ",", &keys_save) : NULL) {
		if ((r = irc_join(c, name, key)) != NULL)
			len += (size_t)snprintf(joined + len, sizeof joined -
			    len, "%s%s", len > 0 ? "," : "", r->name);
	}
	irc_joined(c, joined);
}

/* The room name names and c is in, or NULL after the numeric. */
struct room *
irc_member_room(struct conn *c, const char *name)
{
	struct room	*r = room_find(name);

	if (r == NULL) {
		irc_reply(c, "403", "%.64s :No such channel", name);
		return NULL;
	}
	if (!session_in_room(c->session, r)) {
		irc_reply(c, "442", "%s :You're not on that channel", r->name);
		return NULL;
	}
	return r;
}

void
irc_cmd_part(struct conn *c, struct irc_message *m)
{
	char		*name, *save = NULL;
	struct room	*r;

	for (name = strtok_r(m->params[0], ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if ((r = irc_member_room(c, name)) != NULL)
			room_part(c->session, r, m->nparams > 1 ?
			    m->params[1] : NULL);
	}
}

/*
 * PRIVMSG and NOTICE to rooms and nicks.  CTCP ACTION is chatd's action;
 * other CTCP is not relayed (line clients have no use for it).  Errors
 * answer PRIVMSG only: a NOTICE never gets an automatic reply.
 */
static void
irc_say(struct conn *c, struct irc_message *m, int notice)
{
	const char		*verb, *arg;
	size_t			 verblen, arglen, n = 0;
	char			*target, *text, *save = NULL;
	int			 action = 0;
	struct room		*r;
	struct session		*to;
	struct msg		*msg;
	enum chat_result	 result;

	if (m->nparams == 0) {
		if (!notice)
			irc_reply(c, "411", ":No recipient given (%s)",
			    m->command);
		return;
	}
	if (m->nparams < 2 || *m->params[1] == '\0') {
		if (!notice)
			irc_reply(c, "412", ":No text to send");
		return;
	}
	text = m->params[1];	/* what follows is not the text (RFC 2812) */
	if (irc_ctcp(text, &verb, &verblen, &arg, &arglen)) {
		if (verblen != 6 || memcmp(verb, "ACTION", 6) != 0 || notice)
			return;
		text = (char *)arg;
		text[arglen] = '\0';
		action = 1;
	}
	irc_plain(text);
	for (target = strtok_r(m->params[0], ",", &save); target != NULL;
	    target = strtok_r(NULL, ",", &save)) {
		if (n++ == TARGETS_MAX) {
			if (!notice)
				irc_reply(c, "407", "%.64s :Too many targets "
				    "(TARGMAX %d)", target, TARGETS_MAX);
			break;
		}
		if (session_is_muted(c->session)) {
			if (!notice)
				irc_reply(c, "404", "%s :Cannot send to "
				    "channel (an operator has muted you)",
				    target);
			continue;
		}
		if (target[0] == '#') {
			if ((r = room_find(target)) == NULL)
				result = CHAT_NO_SUCH_ROOM;
			else
				result = room_say(r, c->session, action ?
				    MSG_ACTION : notice ? MSG_ROOM_NOTICE :
				    MSG_SAY, text);
			if (result == CHAT_OK)
				stats.messages++;
			else if (!notice)
				irc_reply(c, "404", "%.64s :Cannot send to "
				    "channel%s", target, irc_why_not(result));
			continue;
		}
		if ((to = session_find(target)) == NULL) {
			if (!notice)
				irc_reply(c, "401", "%.64s :No such "
				    "nick/channel", target);
			continue;
		}
		stats.messages++;
		if (to->away != NULL && !notice)
			irc_reply(c, "301", "%s :%s", to->nick, to->away);
		msg = msg_new(notice ? MSG_PRIVATE_NOTICE : MSG_PRIVATE, NULL,
		    c->session->nick, to->nick, text);
		room_deliver_to(to, msg);
		if (to != c->session)
			room_deliver_to(c->session, msg);
		msg_unref(msg);
	}
}

void
irc_cmd_privmsg(struct conn *c, struct irc_message *m)
{
	irc_say(c, m, 0);
}

void
irc_cmd_notice(struct conn *c, struct irc_message *m)
{
	irc_say(c, m, 1);
}

void
irc_cmd_topic(struct conn *c, struct irc_message *m)
{
	struct room		*r;
	enum chat_result	 result;

	if ((r = irc_member_room(c, m->params[0])) == NULL)
		return;
	if (m->nparams < 2) {
		if (r->topic == NULL)
			irc_reply(c, "331", "%s :No topic is set", r->name);
		else {
			irc_reply(c, "332", "%s :%s", r->name, r->topic);
			irc_reply(c, "333", "%s %s %lld", r->name, r->topic_by,
			    (long long)r->topic_at);
		}
		return;
	}
	if (session_is_muted(c->session)) {
		irc_reply(c, "482", "%s :You cannot set the topic (an "
		    "operator has muted you)", r->name);
		return;
	}
	result = room_set_topic(r, c->session, m->params[1]);
	if (result == CHAT_NOT_OPERATOR)
		irc_reply(c, "482", "%s :You're not channel operator", r->name);
	else if (result != CHAT_OK)
		irc_reply(c, "417", ":Topic too long (TOPICLEN=%d)", TOPIC_MAX);
}

void
irc_cmd_names(struct conn *c, struct irc_message *m)
{
	if (m->nparams == 0) {
		irc_reply(c, "366", "* :End of /NAMES list");
		return;
	}
	irc_page_start(c, ANSWER_NAMES, m->params[0]);
}

void
irc_cmd_who(struct conn *c, struct irc_message *m)
{
	struct irc_page	*p;
	const char	*comma;
	size_t		 n;

	if (m->nparams == 0 || strchr(m->params[0], ',') != NULL) {
		irc_reply(c, "315", "%s :End of /WHO list",
		    m->nparams > 0 ? m->params[0] : "*");
		return;
	}
	p = irc_page_start(c, ANSWER_WHO, m->params[0]);
	/* WHOX: "%fields[,token]", token at most 3 digits. */
	if (m->nparams > 1 && m->params[1][0] == '%') {
		n = strcspn(m->params[1] + 1, ",");
		snprintf(p->whox, sizeof p->whox, "%.*s", (int)n,
		    m->params[1] + 1);
		if (p->whox[0] == '\0')
			snprintf(p->whox, sizeof p->whox, "n");
		comma = strchr(m->params[1], ',');
		if (comma != NULL && strlen(comma + 1) <= 3 &&
		    strspn(comma + 1, "0123456789") == strlen(comma + 1))
			snprintf(p->token, sizeof p->token, "%s", comma + 1);
	}
}

void
irc_cmd_list(struct conn *c, struct irc_message *m)
{
	irc_page_start(c, ANSWER_LIST, m->nparams > 0 ? m->params[0] : NULL);
}
