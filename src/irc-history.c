/*
 * CHATHISTORY (IRCv3 draft/chathistory): LATEST, BEFORE, AFTER, AROUND,
 * BETWEEN and TARGETS, with msgid= and timestamp= references, in a batch
 * when the client has the batch capability.  With a database every
 * subcommand but TARGETS is read from the file (irc-history-db.c), as far
 * back as it keeps, and a msgid of an earlier run is as good as this
 * run's: ids go on across restarts.  Without one only the rooms'
 * scrollback can be served (no private messages either way), and TARGETS
 * always is.  An answer is cut, at its far end from the reference, to
 * what fits below sendq-soft: asking for history never costs a client its
 * connection.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "log.h"
#include "msg.h"
#include "name.h"
#include "room.h"
#include "session.h"
#include "store.h"
#include "xmalloc.h"

struct irc_history {
	struct msg	**msgs;		/* the room's scrollback, oldest first */
	size_t		  n;
};

static const struct config	*history_config;
static unsigned long		 history_batches;

void
irc_history_configure(const struct config *config)
{
	history_config = config;
}

static uint64_t
irc_msg_ms(const struct msg *m)
{
	return (uint64_t)m->time * 1000 + m->time_ms;
}

/* "timestamp=2026-12-03T12:39:28.961Z" (milliseconds optional). */
static int
irc_parse_time(const char *s, uint64_t *ms)
{
	struct tm	tm;
	const char	*end;
	unsigned	frac = 0;
	int		n = 0;

	memset(&tm, 0, sizeof tm);
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.' && sscanf(end, ".%3u%n", &frac, &n) == 1)
		end += n;
	if (strcmp(end, "Z") != 0)
		return -1;
	*ms = (uint64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

/* "*" (if star is allowed), "msgid=EPOCH-N" or "timestamp=...". */
static int
irc_parse_ref(const char *s, int star, struct store_ref *ref)
{
	const char	*epoch = irc_msgid_epoch(), *dash;
	size_t		 n = strlen(epoch);
	char		*end;

	if (star && strcmp(s, "*") == 0) {
		ref->type = STORE_REF_NONE;
		return 0;
	}
	if (strncmp(s, "timestamp=", 10) == 0) {
		ref->type = STORE_REF_TIME;
		return irc_parse_time(s + 10, &ref->value);
	}
	if (strncmp(s, "msgid=", 6) != 0)
		return -1;
	ref->type = STORE_REF_ID;
	s += 6;
	/*
	 * Without a database another run's ids name nothing this one kept:
	 * never matched.  With one, ids are unique across runs.
	 */
	if (store_is_open() && (dash = strchr(s, '-')) != NULL)
		n = (size_t)(dash - s);
	else if (strncmp(s, epoch, n) != 0 || s[n] != '-') {
		ref->value = 0;
		return 0;
	}
	ref->value = strtoull(s + n + 1, &end, 10);
	return *end == '\0' && s[n + 1] >= '0' && s[n + 1] <= '9' ? 0 : -1;
}

/* Where m stands against ref: below 0 before it, 0 at it, above 0 after. */
static int
irc_ref_cmp(const struct msg *m, const struct store_ref *ref)
{
	uint64_t	v = ref->type == STORE_REF_ID ? m->id : irc_msg_ms(m);

	if (ref->type == STORE_REF_ID && ref->value == 0)
		return 1;	/* an unknown id: nothing is before it */
	return v < ref->value ? -1 : v > ref->value;
}

/* The index of the first message not before ref. */
static size_t
irc_ref_index(const struct irc_history *h, const struct store_ref *ref)
{
	size_t	i;

	for (i = 0; i < h->n && irc_ref_cmp(h->msgs[i], ref) < 0; i++)
		;
	return i;
}

static void
irc_history_collect(struct msg *m, void *arg)
{
	struct irc_history	*h = arg;

	h->msgs[h->n++] = m;
}

static void
irc_history_fail(struct conn *c, const char *code, const char *what,
    const char *why)
{
	conn_printf(c, ":%s FAIL CHATHISTORY %s %.64s :%s\r\n",
	    irc_server_name(), code, what, why);
}

/*
 * Send msgs[lo..hi) in a batch (or bare, without the batch capability),
 * less the ones at the far end (drop_old: the oldest) that do not fit
 * below sendq-soft.
 */
void
irc_history_send(struct conn *c, const char *target, struct msg **msgs,
    size_t lo, size_t hi, int drop_old)
{
	unsigned	 caps = irc_caps(c);
	struct evbuffer	*out, *one;
	size_t		 queued = conn_sendq(c), budget, i, len;
	char		 batch[24], tags[160];

	budget = history_config->sendq_soft > queued + IRC_TEXT_MAX * 2 ?
	    history_config->sendq_soft - queued - IRC_TEXT_MAX * 2 : 0;
	snprintf(batch, sizeof batch, "h%lu", ++history_batches);
	if ((out = evbuffer_new()) == NULL || (one = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	for (len = 0; lo < hi; drop_old ? hi-- : lo++) {
		i = drop_old ? hi - 1 : lo;
		tags[0] = '\0';
		if (caps & (IRC_CAP_SERVER_TIME | IRC_CAP_MESSAGE_TAGS |
		    IRC_CAP_BATCH))
			irc_msg_tags(msgs[i], (caps & IRC_CAP_MESSAGE_TAGS) != 0,
			    caps & IRC_CAP_BATCH ? batch : NULL, tags,
			    sizeof tags);
		irc_add_tagged(one, msgs[i], tags);
		if (len + evbuffer_get_length(one) > budget) {
			evbuffer_drain(one, evbuffer_get_length(one));
			break;
		}
		len += evbuffer_get_length(one);
		if (drop_old)
			evbuffer_prepend_buffer(out, one);
		else
			evbuffer_add_buffer(out, one);
	}
	if (caps & IRC_CAP_BATCH)
		conn_printf(c, ":%s BATCH +%s chathistory %s\r\n",
		    irc_server_name(), batch, target);
	conn_send(c, evbuffer_pullup(out, -1), evbuffer_get_length(out));
	if (caps & IRC_CAP_BATCH)
		conn_printf(c, ":%s BATCH -%s\r\n", irc_server_name(), batch);
	evbuffer_free(one);
	evbuffer_free(out);
}

/* TARGETS from to limit: the rooms c is in with a message in between. */
static void
irc_history_targets(struct conn *c, struct irc_message *m, size_t limit)
{
	struct session		*s = c->session;
	struct store_ref	 a, b;
	const struct msg	*last;
	struct room		*r;
	char			 when[40];
	size_t			 i, sent = 0;
	int			 batch = (irc_caps(c) & IRC_CAP_BATCH) != 0;

	if (irc_parse_ref(m->params[1], 0, &a) == -1 ||
	    a.type != STORE_REF_TIME || irc_parse_ref(m->params[2], 0, &b) ==
	    -1 || b.type != STORE_REF_TIME) {
		irc_history_fail(c, "INVALID_PARAMS", "TARGETS",
		    "TARGETS takes two timestamp= references");
		return;
	}
	if (a.value > b.value) {
		uint64_t t = a.value;

		a.value = b.value;
		b.value = t;
	}
	if (batch)
		conn_printf(c, ":%s BATCH +t%lu draft/chathistory-targets\r\n",
		    irc_server_name(), ++history_batches);
	for (i = 0; i < s->nrooms && sent < limit; i++) {
		r = s->rooms[i];
		if (r->scroll_len == 0)
			continue;
		last = r->scroll[(r->scroll_next + r->scroll_cap - 1) %
		    r->scroll_cap];
		if (irc_msg_ms(last) <= a.value || irc_msg_ms(last) >= b.value)
			continue;
		irc_time_tag(last, when, sizeof when);
		if (batch)
			conn_printf(c, "@batch=t%lu ", history_batches);
		conn_printf(c, ":%s CHATHISTORY TARGETS %s timestamp=%s\r\n",
		    irc_server_name(), r->name, when);
		sent++;
	}
	if (batch)
		conn_printf(c, ":%s BATCH -t%lu\r\n", irc_server_name(),
		    history_batches);
}

/* Serve q from r's scrollback: no database. */
static void
irc_history_scrollback(struct conn *c, const struct room *r,
    const struct store_query *q)
{
	struct irc_history	 h;
	const struct store_ref	*a = &q->from, *b = &q->to;
	size_t			 i, j, lo, hi, limit = q->n;

	h.msgs = xreallocarray(NULL, r->scroll_len + 1, sizeof *h.msgs);
	h.n = 0;
	room_history(r, r->scroll_len, irc_history_collect, &h);
	switch (q->span) {
	case STORE_LATEST:
		hi = h.n;
		lo = a->type == STORE_REF_NONE ? 0 : irc_ref_index(&h, a);
		while (lo < hi && a->type != STORE_REF_NONE &&
		    irc_ref_cmp(h.msgs[lo], a) == 0)
			lo++;
		lo = hi - lo > limit ? hi - limit : lo;
		irc_history_send(c, r->name, h.msgs, lo, hi, 1);
		break;
	case STORE_BEFORE:
		hi = irc_ref_index(&h, a);
		lo = hi > limit ? hi - limit : 0;
		irc_history_send(c, r->name, h.msgs, lo, hi, 1);
		break;
	case STORE_AFTER:
		for (lo = irc_ref_index(&h, a); lo < h.n &&
		    irc_ref_cmp(h.msgs[lo], a) == 0; lo++)
			;
		hi = h.n - lo > limit ? lo + limit : h.n;
		irc_history_send(c, r->name, h.msgs, lo, hi, 0);
		break;
	case STORE_AROUND:
		i = irc_ref_index(&h, a);
		lo = i > limit / 2 ? i - limit / 2 : 0;
		hi = h.n - lo > limit ? lo + limit : h.n;
		irc_history_send(c, r->name, h.msgs, lo, hi, 0);
		break;
	case STORE_BETWEEN:
		i = irc_ref_index(&h, a);
		j = irc_ref_index(&h, b);
		if (i <= j) {		/* ascending: the first limit */
			while (i < j && irc_ref_cmp(h.msgs[i], a) == 0)
				i++;
			irc_history_send(c, r->name, h.msgs, i,
			    j - i > limit ? i + limit : j, 0);
		} else {		/* descending: the last limit */
			while (j < i && irc_ref_cmp(h.msgs[j], b) == 0)
				j++;
			irc_history_send(c, r->name, h.msgs,
			    i - j > limit ? i - limit : j, i, 1);
		}
		break;
	}
	free(h.msgs);
}

static const struct {
	const char	*name;
	int		 span;		/* struct store_query's */
} irc_history_spans[] = {
	{ "LATEST", STORE_LATEST },
	{ "BEFORE", STORE_BEFORE },
	{ "AFTER", STORE_AFTER },
	{ "AROUND", STORE_AROUND },
	{ "BETWEEN", STORE_BETWEEN },
};

void
irc_cmd_chathistory(struct conn *c, struct irc_message *m)
{
	const char		*sub = m->params[0], *target = m->params[1];
	struct store_query	 q;
	struct room		*r;
	size_t			 i;
	int			 between;
	char			*end, *cause;

	q.n = strtoul(m->params[m->nparams - 1], &end, 10);
	between = strcasecmp(sub, "BETWEEN") == 0;
	if (*end != '\0' || m->nparams < 4u + between) {
		irc_history_fail(c, "INVALID_PARAMS", sub, "Bad limit or too "
		    "few parameters");
		return;
	}
	if (q.n > history_config->irc_chathistory_max)
		q.n = history_config->irc_chathistory_max;
	if (strcasecmp(sub, "TARGETS") == 0) {
		irc_history_targets(c, m, q.n);
		return;
	}
	for (i = 0; i < sizeof irc_history_spans / sizeof irc_history_spans[0];
	    i++)
		if (strcasecmp(sub, irc_history_spans[i].name) == 0)
			break;
	if (i == sizeof irc_history_spans / sizeof irc_history_spans[0]) {
		irc_history_fail(c, "INVALID_PARAMS", sub, "Unknown "
		    "subcommand");
		return;
	}
	q.span = irc_history_spans[i].span;
	if (irc_parse_ref(m->params[2], q.span == STORE_LATEST, &q.from) ==
	    -1 || (between && irc_parse_ref(m->params[3], 0, &q.to) == -1)) {
		irc_history_fail(c, "INVALID_PARAMS", sub, "A reference is "
		    "msgid=ID or timestamp=YYYY-MM-DDThh:mm:ss.sssZ");
		return;
	}
	if (target[0] != '#') {		/* no private history is kept */
		irc_history_send(c, target, NULL, 0, 0, 0);
		return;
	}
	if ((r = room_find(target)) == NULL ||
	    !session_in_room(c->session, r)) {
		irc_history_fail(c, "INVALID_TARGET", target, "You are not "
		    "in that channel");
		return;
	}
	if (!store_is_open())
		irc_history_scrollback(c, r, &q);
	else if (irc_history_db(c, r->name, &q, &cause) == -1) {
		irc_history_fail(c, "MESSAGE_ERROR", sub, cause);
		free(cause);
	}
}
