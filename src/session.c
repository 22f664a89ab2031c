/*
 * The nick registry.  Nicks are ASCII and unique without regard to case;
 * the registry is a search tree (tsearch(3)) keyed by nick, so lookups and
 * listings cost log n and come out sorted.  A new session gets the first
 * free "guestN" that is not banned.
 */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mute.h"
#include "name.h"
#include "session.h"
#include "xmalloc.h"

static void		*session_tree;
static size_t		 session_total;
static uint64_t		 session_next_id = 1;
static unsigned long	 session_next_guest = 1;
static session_presence_fn *session_presence;

static int
session_compare(const void *a, const void *b)
{
	const struct session	*sa = a, *sb = b;

	return name_compare(sa->nick, sb->nick);
}

struct session *
session_find(const char *nick)
{
	struct session	  key;
	void		**found;

	if (strlen(nick) > NAME_NICK_MAX)
		return NULL;
	strcpy(key.nick, nick);
	found = tfind(&key, &session_tree, session_compare);
	return found != NULL ? *found : NULL;
}

static struct session *
session_alloc(const struct session_ops *ops)
{
	struct session	*s = xcalloc(1, sizeof *s);

	s->id = session_next_id++;
	s->since = time(NULL);
	s->ops = ops;
	return s;
}

static struct session *
session_register(struct session *s)
{
	tsearch(s, &session_tree, session_compare);
	session_total++;
	return s;
}

/*
 * A new session called by the first guestN that is free and that refused
 * (the ban list's say, when not NULL) does not turn down.
 */
struct session *
session_new(const struct session_ops *ops, void *client,
    int (*refused)(const char *nick))
{
	struct session	*s = session_alloc(ops);

	s->client = client;
	do {
		snprintf(s->nick, sizeof s->nick, "guest%lu",
		    session_next_guest++);
	} while (session_find(s->nick) != NULL ||
	    (refused != NULL && refused(s->nick)));
	s = session_register(s);
	if (session_presence != NULL)
		session_presence(s->nick, 1);
	return s;
}

/* Be told when a nick comes into use or goes out of it (IRC's MONITOR). */
void
session_observe(session_presence_fn *fn)
{
	session_presence = fn;
}

/*
 * A session that speaks for the server (the control socket's "@operator"):
 * name is not a valid nick, so no user can take it or be confused with it.
 */
struct session *
session_new_named(const struct session_ops *ops, const char *name)
{
	struct session	*s = session_alloc(ops);

	snprintf(s->nick, sizeof s->nick, "%s", name);
	return session_register(s);
}

/* Hand m to s's client, in its protocol. */
void
session_deliver(struct session *s, struct msg *m)
{
	s->ops->deliver(s, m);
}

/* Forget s; its rooms must already have been left. */
void
session_free(struct session *s)
{
	tdelete(s, &session_tree, session_compare);
	session_total--;
	if (session_presence != NULL && session_is_client(s))
		session_presence(s->nick, 0);
	free(s->rooms);
	free(s->away);
	free(s->realname);
	free(s);
}

/* Whether s is a connected client's (not @operator, who has no client). */
int
session_is_client(const struct session *s)
{
	return s->ops->describe != NULL;
}

/* The session of a connected client called nick, or NULL. */
struct session *
session_find_client(const char *nick)
{
	struct session	*s = session_find(nick);

	return s != NULL && session_is_client(s) ? s : NULL;
}

enum chat_result
session_set_nick(struct session *s, const char *nick)
{
	struct session	*other;
	time_t		 until;
	int		 held;

	if (!name_nick_valid(nick))
		return CHAT_NICK_INVALID;
	if ((other = session_find(nick)) != NULL && other != s)
		return CHAT_NICK_TAKEN;
	tdelete(s, &session_tree, session_compare);
	if (session_presence != NULL && name_compare(s->nick, nick) != 0)
		session_presence(s->nick, 0);
	strcpy(s->nick, nick);	/* a case change of one's own nick is fine */
	s->chosen = 1;
	tsearch(s, &session_tree, session_compare);
	if (session_presence != NULL && other == NULL)
		session_presence(s->nick, 1);
	/*
	 * A mute is held against the nick: whoever takes it is muted.  And
	 * a muted client takes its mute to the new nick, held there too, so
	 * that neither the new nick nor a reconnect under it escapes it.
	 * Of two mutes the one that ends later holds.
	 */
	held = mute_find(nick, &until);
	if (session_is_muted(s) && (!held || mute_later(s->muted_until,
	    until)))
		mute_add(nick, s->muted_until);
	else if (held) {
		s->muted = 1;
		s->muted_until = until;
	}
	return CHAT_OK;
}

struct room *
session_current_room(const struct session *s)
{
	return s->nrooms > 0 ? s->rooms[s->nrooms - 1] : NULL;
}

int
session_in_room(const struct session *s, const struct room *r)
{
	size_t	i;

	for (i = 0; i < s->nrooms; i++) {
		if (s->rooms[i] == r)
			return 1;
	}
	return 0;
}

/* Whether s is muted now; a mute whose time is up is lifted. */
int
session_is_muted(struct session *s)
{
	if (s->muted && s->muted_until != 0 && time(NULL) >= s->muted_until)
		s->muted = 0;
	return s->muted;
}

size_t
session_count(void)
{
	return session_total;
}

struct session_walk {
	void	(*cb)(struct session *, void *);
	void	 *arg;
};

static void
session_walk_node(const void *node, VISIT which, void *arg)
{
	struct session_walk	*w = arg;

	if (which == postorder || which == leaf)
		w->cb(*(struct session * const *)node, w->arg);
}

/* Visit every session in nick order; cb must not add or remove sessions. */
void
session_foreach(void (*cb)(struct session *, void *), void *arg)
{
	struct session_walk	w = { cb, arg };

	twalk_r(session_tree, session_walk_node, &w);
}
