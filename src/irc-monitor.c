/*
 * MONITOR (IRCv3): an IRC client names up to irc-monitor-max nicks and is
 * told (730, 731) when each comes online or goes.  The index is by nick,
 * so a nick change costs a lookup and a message to each watcher, never a
 * walk over the clients; each client keeps its own entries, to leave them
 * when it goes.  Presence comes from session.c (session_observe), for
 * every protocol's nicks.
 */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "host.h"
#include "irc-parse.h"
#include "irc.h"
#include "name.h"
#include "session.h"
#include "xmalloc.h"

/* One monitored nick and the clients that monitor it. */
struct irc_watch {
	char		  nick[NAME_NICK_MAX + 1];
	struct conn	**watchers;
	size_t		  n;
};

static void	*irc_watches;	/* tsearch tree of struct irc_watch */

static int
irc_watch_compare(const void *a, const void *b)
{
	return name_compare(((const struct irc_watch *)a)->nick,
	    ((const struct irc_watch *)b)->nick);
}

static struct irc_watch *
irc_watch_find(const char *nick)
{
	struct irc_watch	  key;
	void			**found;

	snprintf(key.nick, sizeof key.nick, "%s", nick);
	found = tfind(&key, &irc_watches, irc_watch_compare);
	return found != NULL ? *found : NULL;
}

/* "nick!nick@server" for 730, or the nick alone for 731. */
static void
irc_monitor_reply(struct conn *c, const char *nick)
{
	struct session	*s = session_find_client(nick);
	char		 source[IRC_TEXT_MAX / 2];

	if (s != NULL) {
		irc_source(s->nick, source, sizeof source);
		irc_reply(c, "730", ":%s", source);
	} else
		irc_reply(c, "731", ":%s", nick);
}

/* session.c's presence: tell the watchers of nick. */
static void
irc_monitor_presence(const char *nick, int online)
{
	struct irc_watch	*w = irc_watch_find(nick);
	char			 source[IRC_TEXT_MAX / 2];
	size_t			 i;

	if (w == NULL)
		return;
	irc_source(nick, source, sizeof source);
	for (i = 0; i < w->n; i++) {
		if (!(w->watchers[i]->proto_flags & IRC_WELCOMED))
			continue;
		if (online)
			irc_reply(w->watchers[i], "730", ":%s", source);
		else
			irc_reply(w->watchers[i], "731", ":%s", nick);
	}
}

void
irc_monitor_init(void)
{
	session_observe(irc_monitor_presence);
}

static int
irc_monitor_add(struct conn *c, const char *nick)
{
	struct irc_client	*ic = c->proto_state;
	struct irc_watch	*w, *key;
	size_t			 i;

	if ((w = irc_watch_find(nick)) == NULL) {
		key = xcalloc(1, sizeof *key);
		snprintf(key->nick, sizeof key->nick, "%s", nick);
		w = *(struct irc_watch **)tsearch(key, &irc_watches,
		    irc_watch_compare);
	}
	for (i = 0; i < w->n; i++)
		if (w->watchers[i] == c)
			return 0;		/* already */
	w->watchers = xreallocarray(w->watchers, w->n + 1,
	    sizeof *w->watchers);
	w->watchers[w->n++] = c;
	ic->watching = xreallocarray(ic->watching, ic->nwatching + 1,
	    sizeof *ic->watching);
	ic->watching[ic->nwatching++] = w;
	return 1;
}

/* Take c off w's watchers; w goes when no one watches it. */
static void
irc_watch_leave(struct irc_watch *w, struct conn *c)
{
	size_t	i;

	for (i = 0; i < w->n; i++)
		if (w->watchers[i] == c) {
			w->watchers[i] = w->watchers[--w->n];
			break;
		}
	if (w->n == 0) {
		tdelete(w, &irc_watches, irc_watch_compare);
		free(w->watchers);
		free(w);
	}
}

static void
irc_monitor_remove(struct conn *c, const char *nick)
{
	struct irc_client	*ic = c->proto_state;
	struct irc_watch	*w = irc_watch_find(nick);
	size_t			 i;

	if (w == NULL)
		return;
	for (i = 0; i < ic->nwatching; i++)
		if (ic->watching[i] == w) {
			ic->watching[i] = ic->watching[--ic->nwatching];
			irc_watch_leave(w, c);
			return;
		}
}

/*
 * What c's entries hold: its list, its place among each nick's watchers,
 * and the nick's entry as if it were c's alone.
 */
size_t
irc_monitor_held(const struct irc_client *ic)
{
	return ic->nwatching * (sizeof(struct irc_watch) +
	    2 * sizeof(void *));
}

/* The client goes (or sends MONITOR C): leave every entry. */
void
irc_monitor_clear(struct conn *c)
{
	struct irc_client	*ic = c->proto_state;

	if (ic == NULL)
		return;
	while (ic->nwatching > 0)
		irc_watch_leave(ic->watching[--ic->nwatching], c);
	free(ic->watching);
	ic->watching = NULL;
}

void
irc_cmd_monitor(struct conn *c, struct irc_message *m)
{
	struct irc_client	*ic = c->proto_state;
	char			*nick, *save = NULL;
	size_t			 i;
	int			 op = m->params[0][0];

	if ((op == '+' || op == '-') && m->nparams < 2) {
		irc_need_more_params(c, "MONITOR");
		return;
	}
	switch (op) {
	case '+':
		for (nick = strtok_r(m->params[1], ",", &save); nick != NULL;
		    nick = strtok_r(NULL, ",", &save)) {
			if (!name_nick_valid(nick))
				continue;
			if (ic->nwatching >= irc_monitor_max() ||
			    !host_may_hold(c->host, sizeof(struct irc_watch) +
			    2 * sizeof(void *))) {
				irc_reply(c, "734", "%zu %.64s :Monitor list is "
				    "full.", irc_monitor_max(), nick);
				break;
			}
			if (irc_monitor_add(c, nick))
				irc_monitor_reply(c, nick);
		}
		break;
	case '-':
		for (nick = strtok_r(m->params[1], ",", &save); nick != NULL;
		    nick = strtok_r(NULL, ",", &save))
			irc_monitor_remove(c, nick);
		break;
	case 'C':
	case 'c':
		irc_monitor_clear(c);
		break;
	case 'L':
	case 'l':
		for (i = 0; i < ic->nwatching; i++)
			irc_reply(c, "732", ":%s", ic->watching[i]->nick);
		irc_reply(c, "733", ":End of MONITOR list");
		break;
	case 'S':
	case 's':
		for (i = 0; i < ic->nwatching; i++)
			irc_monitor_reply(c, ic->watching[i]->nick);
		break;
	default:
		irc_reply(c, "421", "MONITOR :Unknown MONITOR subcommand");
		break;
	}
}
