/*
 * Unit tests for session.c, room.c and room-mode.c together (and msg.c
 * on the way).
 *
 * Every session delivers through record_ops, which keeps a reference
 * to each message with its recipient, so tests can check who got what, how
 * many times, and that all recipients share one message.  session.c and
 * room.c keep global state: each test starts from no sessions and no rooms
 * and its teardown quits and frees the sessions it made and frees the
 * rooms.  The guest counter is global and never goes back, so the test
 * that expects guest1 and guest2 runs first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "host.h"
#include "msg.h"
#include "room.h"
#include "session.h"

/* ---- delivery recorder ---- */

struct record {
	enum msg_kind	 kind;
	struct session	*to;
	struct msg	*m;
};

#define RECORDS_MAX	4096
static struct record	records[RECORDS_MAX];
static size_t		nrecords;

static void
record_deliver(struct session *s, struct msg *m)
{
	assert_true(nrecords < RECORDS_MAX);
	records[nrecords].kind = m->kind;
	records[nrecords].to = s;
	records[nrecords].m = msg_ref(m);
	nrecords++;
}

static size_t	runs, run_n;

/* Runs (room_batch) are recorded too, each message in order. */
static void
record_run(struct session *s, struct msg **msgs, size_t n, uint64_t serial)
{
	size_t	i;

	(void)serial;
	runs++;
	run_n = n;
	for (i = 0; i < n; i++)
		record_deliver(s, msgs[i]);
}

static const struct session_ops record_ops = {
	.deliver = record_deliver,
	.deliver_run = record_run,
};

static void
records_clear(void)
{
	while (nrecords > 0)
		msg_unref(records[--nrecords].m);
}

/* How many deliveries s got (of kind, or of any kind if kind is -1). */
static size_t
delivered(const struct session *s, int kind)
{
	size_t	i, n = 0;

	for (i = 0; i < nrecords; i++) {
		if (records[i].to == s && (kind == -1 ||
		    (int)records[i].kind == kind))
			n++;
	}
	return n;
}

/* Every record is the same message; return it. */
static struct msg *
one_shared_message(void)
{
	size_t	i;

	assert_true(nrecords > 0);
	for (i = 1; i < nrecords; i++)
		assert_ptr_equal(records[i].m, records[0].m);
	return records[0].m;
}

/* ---- sessions made by a test, undone by teardown ---- */

#define MADE_MAX	64
static struct session	*made[MADE_MAX];
static size_t		 nmade;

static struct session *
new_session(const char *nick)
{
	struct session	*s = session_new(&record_ops, NULL, NULL);

	assert_non_null(s);
	assert_true(nmade < MADE_MAX);
	made[nmade++] = s;
	if (nick != NULL)
		assert_int_equal(session_set_nick(s, nick), CHAT_OK);
	return s;
}

static void
free_session(struct session *s)
{
	size_t	i;

	for (i = 0; i < nmade; i++) {
		if (made[i] == s) {
			made[i] = made[--nmade];
			break;
		}
	}
	room_quit(s, "");
	session_free(s);
}

/* Built-in defaults for the budgets rooms consult (host.c). */
static struct config	*defaults;

static int
setup(void **state)
{
	char	*cause;

	(void)state;
	if (defaults == NULL &&
	    (defaults = config_load(NULL, NULL, &cause)) == NULL)
		return -1;
	host_configure(defaults);
	room_configure(20, 20, 10000);
	if (session_count() != 0 || room_count() != 0 || nrecords != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	room_batch(NULL);	/* in case a run test failed */
	while (nmade > 0)
		free_session(made[nmade - 1]);
	records_clear();
	room_free_all();
	room_configure(20, 20, 10000);
	room_announce_configure(0);
	return session_count() == 0 && room_count() == 0 ? 0 : -1;
}

static struct room *
join(struct session *s, const char *name)
{
	struct room	*r = NULL;
	int		 rejoined = -1;

	assert_int_equal(room_join(s, name, NULL, &r, &rejoined), CHAT_OK);
	assert_non_null(r);
	assert_int_equal(rejoined, 0);
	return r;
}

static int
is_member(const struct room *r, const struct session *s)
{
	size_t	i, n = 0;

	for (i = 0; i < r->nmembers; i++) {
		if (r->members[i] == s)
			n++;
	}
	assert_true(n <= 1);
	assert_int_equal(n, session_in_room(s, r));
	return (int)n;
}

/* ---- sessions ---- */

static void
test_guest_nicks(void **state)
{
	struct session	*s1, *s2, *s3, *s4, *s5;

	(void)state;
	s1 = new_session(NULL);
	s2 = new_session(NULL);
	assert_string_equal(s1->nick, "guest1");
	assert_string_equal(s2->nick, "guest2");
	assert_true(s2->id > s1->id);
	assert_ptr_equal(session_find("guest1"), s1);
	assert_ptr_equal(session_find("GUEST2"), s2);
	assert_int_equal(session_count(), 2);

	/* guest3 is taken: the next session skips it. */
	assert_int_equal(session_set_nick(s1, "guest3"), CHAT_OK);
	s3 = new_session(NULL);
	assert_string_equal(s3->nick, "guest4");
	/* So is guest5, without regard to case. */
	assert_int_equal(session_set_nick(s2, "GUEST5"), CHAT_OK);
	s4 = new_session(NULL);
	assert_string_equal(s4->nick, "guest6");
	/* Numbers are not reused, even when free again (guest1). */
	s5 = new_session(NULL);
	assert_string_equal(s5->nick, "guest7");
	assert_int_equal(session_count(), 5);
	assert_ptr_equal(session_find("guest3"), s1);
	assert_ptr_equal(session_find("guest5"), s2);
	assert_null(session_find("guest1"));
	assert_null(session_find("guest2"));
	/* A new session is in no room and has its client's ops. */
	assert_int_equal(s5->nrooms, 0);
	assert_null(session_current_room(s5));
	assert_ptr_equal(s5->ops, &record_ops);
}

static void
test_nick_change(void **state)
{
	struct session	*a, *b;

	(void)state;
	a = new_session(NULL);
	b = new_session(NULL);
	assert_int_equal(session_set_nick(a, "Alice"), CHAT_OK);
	assert_string_equal(a->nick, "Alice");
	assert_ptr_equal(session_find("alice"), a);
	assert_ptr_equal(session_find("ALICE"), a);

	/* Invalid: refused, nothing changes. */
	assert_int_equal(session_set_nick(b, "9lives"), CHAT_NICK_INVALID);
	assert_int_equal(session_set_nick(b, ""), CHAT_NICK_INVALID);
	assert_int_equal(session_set_nick(b,
	    "abcdefghijklmnopqrstuvwxyz01234"),
	    CHAT_NICK_INVALID);
	assert_true(strncmp(b->nick, "guest", 5) == 0);
	assert_ptr_equal(session_find(b->nick), b);

	/* Taken, without regard to case. */
	assert_int_equal(session_set_nick(b, "alice"), CHAT_NICK_TAKEN);
	assert_int_equal(session_set_nick(b, "ALICE"), CHAT_NICK_TAKEN);
	assert_int_equal(session_set_nick(b, "Alice"), CHAT_NICK_TAKEN);
	assert_true(strncmp(b->nick, "guest", 5) == 0);
	assert_ptr_equal(session_find("alice"), a);

	/* One's own nick, or a case change of it, is fine. */
	assert_int_equal(session_set_nick(a, "Alice"), CHAT_OK);
	assert_int_equal(session_set_nick(a, "ALICE"), CHAT_OK);
	assert_string_equal(a->nick, "ALICE");
	assert_ptr_equal(session_find("alice"), a);
	assert_int_equal(session_count(), 2);

	/* The old nick is free after a change. */
	assert_int_equal(session_set_nick(a, "carol"), CHAT_OK);
	assert_null(session_find("alice"));
	assert_int_equal(session_set_nick(b, "alice"), CHAT_OK);
	assert_ptr_equal(session_find("Alice"), b);
	assert_ptr_equal(session_find("carol"), a);

	/* 16 characters is the limit; longer is not found, not an error. */
	assert_int_equal(session_set_nick(a, "abcdefghijklmnop"), CHAT_OK);
	assert_ptr_equal(session_find("ABCDEFGHIJKLMNOP"), a);
	assert_null(session_find("abcdefghijklmnopq"));
	assert_null(session_find("abcdefghijklmnopqrstuvwxyz0123456789"));
	assert_null(session_find(""));
	assert_null(session_find("nobody"));
}

static void
test_session_free(void **state)
{
	struct session	*a, *b;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	assert_int_equal(session_count(), 2);
	free_session(a);
	assert_int_equal(session_count(), 1);
	assert_null(session_find("alice"));
	assert_ptr_equal(session_find("bob"), b);
	/* The nick is free again. */
	a = new_session("Alice");
	assert_ptr_equal(session_find("alice"), a);
}

static void
collect_session(struct session *s, void *arg)
{
	char	*buf = arg;

	strcat(buf, s->nick);
	strcat(buf, ",");
}

static void
test_session_foreach_sorted(void **state)
{
	char	buf[256] = "";

	(void)state;
	session_foreach(collect_session, buf);
	assert_string_equal(buf, "");
	new_session("delta");
	new_session("Alpha");
	new_session("charlie");
	new_session("Bravo");
	new_session("echo");
	new_session("_under");
	new_session("a");
	session_foreach(collect_session, buf);
	/* name_compare order: letters fold to lower case, and '_' (0x5f)
	 * sorts before 'a' (0x61); a prefix sorts before what extends it. */
	assert_string_equal(buf, "_under,a,Alpha,Bravo,charlie,delta,echo,");
}

/* ---- join ---- */

static void
test_join_creates_and_announces(void **state)
{
	struct session	*a, *b, *c;
	struct room	*r, *r2;
	struct msg	*m;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	c = new_session("carol");
	assert_null(room_find("#a"));

	r = join(a, "#a");
	assert_ptr_equal(room_find("#a"), r);
	assert_ptr_equal(room_find("#A"), r);	/* without regard to case */
	assert_string_equal(r->name, "#a");
	assert_int_equal(room_count(), 1);
	assert_int_equal(r->nmembers, 1);
	assert_true(is_member(r, a));
	assert_ptr_equal(session_current_room(a), r);
	/* The joiner hears its own JOIN. */
	assert_int_equal(nrecords, 1);
	assert_int_equal(records[0].kind, MSG_JOIN);
	assert_ptr_equal(records[0].to, a);
	assert_string_equal(records[0].m->room, "#a");
	assert_string_equal(records[0].m->from, "alice");
	records_clear();

	/* Everyone in the room hears the next JOIN, once, as one message. */
	r2 = join(b, "#A");
	assert_ptr_equal(r2, r);
	assert_string_equal(r->name, "#a");	/* the first spelling stays */
	assert_int_equal(r->nmembers, 2);
	assert_int_equal(nrecords, 2);
	assert_int_equal(delivered(a, MSG_JOIN), 1);
	assert_int_equal(delivered(b, MSG_JOIN), 1);
	assert_int_equal(delivered(c, -1), 0);
	m = one_shared_message();
	assert_string_equal(m->from, "bob");
	assert_string_equal(m->room, "#a");
	records_clear();

	join(c, "#a");
	assert_int_equal(nrecords, 3);
	assert_int_equal(delivered(a, MSG_JOIN), 1);
	assert_int_equal(delivered(b, MSG_JOIN), 1);
	assert_int_equal(delivered(c, MSG_JOIN), 1);
	one_shared_message();
	assert_int_equal(room_count(), 1);
}

static void
test_join_invalid_room(void **state)
{
	struct session	*a;
	struct room	*r = NULL;
	int		 rejoined = 0;

	(void)state;
	a = new_session("alice");
	assert_int_equal(room_join(a, "lobby", NULL, &r, &rejoined),
	    CHAT_ROOM_INVALID);
	assert_int_equal(room_join(a, "#", NULL, &r, &rejoined), CHAT_ROOM_INVALID);
	assert_int_equal(room_join(a, "#a b", NULL, &r, &rejoined),
	    CHAT_ROOM_INVALID);
	assert_int_equal(room_join(a,
	    "#0123456789abcdefghijklmnopqrstuvwxyz0123456789abcde", NULL, &r,
	    &rejoined),
	    CHAT_ROOM_INVALID);
	assert_int_equal(room_count(), 0);
	assert_int_equal(nrecords, 0);
	assert_int_equal(a->nrooms, 0);
}

static void
test_rejoin(void **state)
{
	struct session	*a, *b;
	struct room	*ra, *rb, *r = NULL;
	int		 rejoined = 0;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	ra = join(a, "#a");
	join(b, "#a");
	rb = join(a, "#b");
	assert_ptr_equal(session_current_room(a), rb);
	records_clear();

	assert_int_equal(room_join(a, "#A", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(rejoined, 1);
	assert_ptr_equal(r, ra);
	assert_ptr_equal(session_current_room(a), ra);
	assert_int_equal(a->nrooms, 2);
	assert_int_equal(ra->nmembers, 2);
	assert_int_equal(nrecords, 0);		/* nothing announced */

	/* Rejoining the current room is also just a rejoin. */
	rejoined = 0;
	assert_int_equal(room_join(a, "#a", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(rejoined, 1);
	assert_int_equal(a->nrooms, 2);
	assert_int_equal(nrecords, 0);
}

static void
test_current_room_is_last_joined(void **state)
{
	struct session	*a;
	struct room	*ra, *rb, *rc, *r;
	int		 rejoined;

	(void)state;
	a = new_session("alice");
	assert_null(session_current_room(a));
	ra = join(a, "#a");
	assert_ptr_equal(session_current_room(a), ra);
	rb = join(a, "#b");
	assert_ptr_equal(session_current_room(a), rb);
	rc = join(a, "#c");
	assert_ptr_equal(session_current_room(a), rc);
	assert_int_equal(a->nrooms, 3);

	/* Rejoin: #a moves to the end, the others keep their order. */
	assert_int_equal(room_join(a, "#a", NULL, &r, &rejoined), CHAT_OK);
	assert_ptr_equal(a->rooms[0], rb);
	assert_ptr_equal(a->rooms[1], rc);
	assert_ptr_equal(a->rooms[2], ra);
	assert_ptr_equal(session_current_room(a), ra);

	/* Leaving the current room makes the one before it current. */
	assert_int_equal(room_part(a, ra, ""), CHAT_OK);
	assert_ptr_equal(session_current_room(a), rc);
	/* Leaving another room leaves the current one alone. */
	assert_int_equal(room_part(a, rb, ""), CHAT_OK);
	assert_ptr_equal(session_current_room(a), rc);
	assert_int_equal(room_part(a, rc, ""), CHAT_OK);
	assert_null(session_current_room(a));
}

/* ---- part ---- */

static void
test_part(void **state)
{
	struct session	*a, *b, *c, *d;
	struct room	*r;
	struct msg	*m;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	c = new_session("carol");
	d = new_session("dave");
	r = join(a, "#a");
	join(b, "#a");
	join(c, "#a");
	join(d, "#other");
	records_clear();

	assert_int_equal(room_part(a, r, "see you"), CHAT_OK);
	/* PART reaches every member, the one leaving included, once. */
	assert_int_equal(nrecords, 3);
	assert_int_equal(delivered(a, MSG_PART), 1);
	assert_int_equal(delivered(b, MSG_PART), 1);
	assert_int_equal(delivered(c, MSG_PART), 1);
	assert_int_equal(delivered(d, -1), 0);
	m = one_shared_message();
	assert_string_equal(m->from, "alice");
	assert_string_equal(m->room, "#a");
	assert_string_equal(m->text, "see you");
	/* And a is gone from the room. */
	assert_false(is_member(r, a));
	assert_true(is_member(r, b));
	assert_true(is_member(r, c));
	assert_int_equal(r->nmembers, 2);
	assert_int_equal(a->nrooms, 0);
	assert_ptr_equal(room_find("#a"), r);
	records_clear();

	/* Not a member (any more): refused, nothing said. */
	assert_int_equal(room_part(a, r, ""), CHAT_NOT_IN_ROOM);
	assert_int_equal(room_part(d, r, ""), CHAT_NOT_IN_ROOM);
	assert_int_equal(nrecords, 0);
	assert_int_equal(r->nmembers, 2);

	/* A NULL reason is an empty one. */
	assert_int_equal(room_part(b, r, NULL), CHAT_OK);
	assert_string_equal(one_shared_message()->text, "");
}

static void
test_empty_room_disappears(void **state)
{
	struct session	*a, *b;
	struct room	*r;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	r = join(a, "#gone");
	join(b, "#gone");
	assert_int_equal(room_part(a, r, ""), CHAT_OK);
	assert_ptr_equal(room_find("#gone"), r);
	assert_int_equal(room_part(b, r, ""), CHAT_OK);
	assert_null(room_find("#gone"));
	assert_int_equal(room_count(), 0);
	/* Joining again makes a new, empty room. */
	r = join(a, "#gone");
	assert_int_equal(r->nmembers, 1);
	assert_int_equal(r->messages, 0);
	assert_int_equal(r->scroll_len, 0);
	assert_null(r->topic);
	assert_int_equal(room_count(), 1);
}

static void
test_kept_room(void **state)
{
	struct session	*a;
	struct room	*lobby, *other, *r;

	(void)state;
	a = new_session("alice");
	room_keep("#lobby");
	lobby = room_find("#lobby");
	assert_non_null(lobby);
	assert_int_equal(room_count(), 1);
	assert_int_equal(lobby->nmembers, 0);

	r = join(a, "#LOBBY");
	assert_ptr_equal(r, lobby);
	assert_int_equal(room_part(a, lobby, ""), CHAT_OK);
	assert_ptr_equal(room_find("#lobby"), lobby);	/* still there */
	assert_int_equal(room_count(), 1);

	/* Keeping it again changes nothing. */
	room_keep("#lobby");
	assert_ptr_equal(room_find("#lobby"), lobby);
	assert_int_equal(room_count(), 1);

	/* Only one room is kept: the old, empty one goes. */
	room_keep("#other");
	other = room_find("#other");
	assert_non_null(other);
	assert_null(room_find("#lobby"));
	assert_int_equal(room_count(), 1);

	/* A kept room with members stays until they leave once unkept. */
	join(a, "#other");
	room_keep("#third");
	assert_ptr_equal(room_find("#other"), other);
	assert_int_equal(room_count(), 2);
	assert_int_equal(room_part(a, other, ""), CHAT_OK);
	assert_null(room_find("#other"));
	assert_non_null(room_find("#third"));
	assert_int_equal(room_count(), 1);

	/* Keeping a room that exists with members. */
	r = join(a, "#busy");
	room_keep("#busy");
	assert_ptr_equal(room_find("#busy"), r);
	assert_null(room_find("#third"));
	assert_int_equal(room_part(a, r, ""), CHAT_OK);
	assert_ptr_equal(room_find("#busy"), r);
}

/* ---- say and scrollback ---- */

static void
test_say(void **state)
{
	struct session	*s[4], *outsider;
	struct room	*r;
	struct msg	*m;
	size_t		 i;

	(void)state;
	for (i = 0; i < 4; i++)
		s[i] = new_session(NULL);
	outsider = new_session("outsider");
	r = join(s[0], "#talk");
	for (i = 1; i < 4; i++)
		join(s[i], "#talk");
	join(outsider, "#elsewhere");
	records_clear();

	room_say(r, s[1], MSG_SAY, "hello there");
	assert_int_equal(nrecords, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(delivered(s[i], MSG_SAY), 1);
	assert_int_equal(delivered(outsider, -1), 0);
	/* Formatted once: every recipient got the very same message. */
	m = one_shared_message();
	assert_int_equal(m->kind, MSG_SAY);
	assert_string_equal(m->room, "#talk");
	assert_string_equal(m->from, s[1]->nick);
	assert_string_equal(m->text, "hello there");
	assert_string_equal(m->to, "");
	/* Held by each recipient's record and by the scrollback. */
	assert_int_equal(m->refs, 4 + 1);
	assert_int_equal(r->messages, 1);
	records_clear();

	room_say(r, s[0], MSG_ACTION, "waves");
	assert_int_equal(nrecords, 4);
	m = one_shared_message();
	assert_int_equal(m->kind, MSG_ACTION);
	assert_string_equal(m->text, "waves");
	assert_int_equal(r->messages, 2);
	records_clear();

	/* Membership, not the sender, decides: a lone member hears itself. */
	r = room_find("#elsewhere");
	room_say(r, outsider, MSG_SAY, "anyone?");
	assert_int_equal(nrecords, 1);
	assert_ptr_equal(records[0].to, outsider);
}

static void
collect_history(struct msg *m, void *arg)
{
	char	*buf = arg;

	strcat(buf, m->text);
	strcat(buf, ",");
}

static const char *
history(const struct room *r, size_t n)
{
	static char	buf[4096];

	buf[0] = '\0';
	room_history(r, n, collect_history, buf);
	return buf;
}

static void
say_n(struct room *r, struct session *s, int from, int to)
{
	char	text[16];
	int	i;

	for (i = from; i <= to; i++) {
		snprintf(text, sizeof text, "m%d", i);
		room_say(r, s, MSG_SAY, text);
	}
}

static void
test_scrollback(void **state)
{
	struct session	*a;
	struct room	*r;
	size_t		 i;

	(void)state;
	room_configure(3, 20, 10000);
	a = new_session("alice");
	r = join(a, "#a");
	assert_string_equal(history(r, 10), "");

	say_n(r, a, 1, 2);
	assert_string_equal(history(r, 10), "m1,m2,");
	say_n(r, a, 3, 5);
	/* The last 3, oldest first. */
	assert_string_equal(history(r, 10), "m3,m4,m5,");
	assert_string_equal(history(r, 3), "m3,m4,m5,");
	assert_string_equal(history(r, 2), "m4,m5,");
	assert_string_equal(history(r, 1), "m5,");
	assert_string_equal(history(r, 0), "");
	assert_int_equal(r->messages, 5);

	/* Messages that fell out of the scrollback are released by it. */
	for (i = 0; i < nrecords; i++) {
		if (records[i].kind != MSG_SAY)
			continue;
		if (strcmp(records[i].m->text, "m1") == 0 ||
		    strcmp(records[i].m->text, "m2") == 0)
			assert_int_equal(records[i].m->refs, 1);
		else
			assert_int_equal(records[i].m->refs, 2);
	}

	/* Many times around the ring. */
	say_n(r, a, 6, 100);
	assert_string_equal(history(r, 10), "m98,m99,m100,");
}

/*
 * With one member, each message said is held once by its record, and once
 * more exactly while it is in the scrollback: a message dropped from the
 * scrollback but not released, or released while still in it, shows here.
 */
static void
check_scroll_refs(const struct room *r)
{
	char	held[4096 + 2], token[32];
	size_t	i;
	int	in;

	snprintf(held, sizeof held, ",%s", history(r, (size_t)-1));
	for (i = 0; i < nrecords; i++) {
		if (records[i].kind != MSG_SAY)
			continue;
		snprintf(token, sizeof token, ",%s,", records[i].m->text);
		in = strstr(held, token) != NULL;
		if (records[i].m->refs != 1u + (unsigned)in)
			fail_msg("%s: %u references, in scrollback: %d",
			    records[i].m->text, records[i].m->refs, in);
	}
}

static void
test_scrollback_resize(void **state)
{
	struct session	*a;
	struct room	*r;

	(void)state;
	room_configure(5, 20, 10000);
	a = new_session("alice");
	r = join(a, "#a");
	say_n(r, a, 1, 7);
	assert_string_equal(history(r, 100), "m3,m4,m5,m6,m7,");
	check_scroll_refs(r);

	/* Shrink by one: the newest are kept. */
	room_configure(4, 20, 10000);
	say_n(r, a, 8, 8);
	assert_string_equal(history(r, 100), "m5,m6,m7,m8,");
	check_scroll_refs(r);

	/* Shrink by more. */
	room_configure(2, 20, 10000);
	say_n(r, a, 9, 9);
	assert_string_equal(history(r, 100), "m8,m9,");
	check_scroll_refs(r);
	room_configure(3, 20, 10000);
	say_n(r, a, 10, 11);
	assert_string_equal(history(r, 100), "m9,m10,m11,");
	check_scroll_refs(r);

	/* Grow: nothing is lost, and it fills up to the new depth. */
	room_configure(6, 20, 10000);
	say_n(r, a, 12, 12);
	assert_string_equal(history(r, 100), "m9,m10,m11,m12,");
	check_scroll_refs(r);
	say_n(r, a, 13, 16);
	assert_string_equal(history(r, 100), "m11,m12,m13,m14,m15,m16,");
	check_scroll_refs(r);

	/* Shrink from a ring that has wrapped... */
	room_configure(2, 20, 10000);
	say_n(r, a, 17, 17);
	assert_string_equal(history(r, 100), "m16,m17,");
	check_scroll_refs(r);
	/* ...to one... */
	room_configure(1, 20, 10000);
	say_n(r, a, 18, 18);
	assert_string_equal(history(r, 100), "m18,");
	say_n(r, a, 19, 19);
	assert_string_equal(history(r, 100), "m19,");
	check_scroll_refs(r);
	/* ...to none. */
	room_configure(0, 20, 10000);
	say_n(r, a, 20, 20);
	assert_string_equal(history(r, 100), "");
	check_scroll_refs(r);
	/* And back. */
	room_configure(2, 20, 10000);
	say_n(r, a, 21, 23);
	assert_string_equal(history(r, 100), "m22,m23,");
	check_scroll_refs(r);
	assert_int_equal(r->messages, 23);
}

static void
test_scrollback_per_room(void **state)
{
	struct session	*a, *b;
	struct room	*ra, *rb;

	(void)state;
	room_configure(2, 20, 10000);
	a = new_session("alice");
	b = new_session("bob");
	ra = join(a, "#a");
	rb = join(b, "#b");
	say_n(ra, a, 1, 3);
	say_n(rb, b, 10, 10);
	assert_string_equal(history(ra, 10), "m2,m3,");
	assert_string_equal(history(rb, 10), "m10,");
}

/* ---- fan-out to neighbours, quit ---- */

static void
test_fanout_neighbours(void **state)
{
	struct session	*a, *b, *c, *d, *e, *f;
	struct msg	*m;
	int		 round;

	(void)state;
	a = new_session("alice");	/* #x #y */
	b = new_session("bob");		/* #x #y: shares two rooms with a */
	c = new_session("carol");	/* #x */
	d = new_session("dave");	/* #y */
	e = new_session("eve");		/* #z: shares nothing with a */
	f = new_session("frank");	/* no room */
	join(a, "#x");
	join(a, "#y");
	join(b, "#x");
	join(b, "#y");
	join(c, "#x");
	join(d, "#y");
	join(e, "#z");
	records_clear();

	for (round = 0; round < 3; round++) {
		m = msg_new(MSG_NICK, NULL, "alice", "alicia", NULL);
		room_fanout_neighbours(a, m, 0);
		assert_int_equal(delivered(a, -1), 0);
		assert_int_equal(delivered(b, MSG_NICK), 1);
		assert_int_equal(delivered(c, MSG_NICK), 1);
		assert_int_equal(delivered(d, MSG_NICK), 1);
		assert_int_equal(delivered(e, -1), 0);
		assert_int_equal(delivered(f, -1), 0);
		assert_int_equal(nrecords, 3);
		assert_ptr_equal(one_shared_message(), m);
		records_clear();
		assert_int_equal(m->refs, 1);
		msg_unref(m);
	}

	/* include_self: the sender too, once. */
	m = msg_new(MSG_NICK, NULL, "alice", "alicia", NULL);
	room_fanout_neighbours(a, m, 1);
	assert_int_equal(delivered(a, MSG_NICK), 1);
	assert_int_equal(delivered(b, MSG_NICK), 1);
	assert_int_equal(delivered(c, MSG_NICK), 1);
	assert_int_equal(delivered(d, MSG_NICK), 1);
	assert_int_equal(nrecords, 4);
	records_clear();

	/* From the middle of the graph: b reaches a, c, d. */
	room_fanout_neighbours(b, m, 0);
	assert_int_equal(delivered(a, MSG_NICK), 1);
	assert_int_equal(delivered(c, MSG_NICK), 1);
	assert_int_equal(delivered(d, MSG_NICK), 1);
	assert_int_equal(nrecords, 3);
	records_clear();

	/* Alone in a room, or in none: only itself, if asked. */
	room_fanout_neighbours(e, m, 0);
	assert_int_equal(nrecords, 0);
	room_fanout_neighbours(f, m, 0);
	assert_int_equal(nrecords, 0);
	room_fanout_neighbours(f, m, 1);
	assert_int_equal(nrecords, 1);
	assert_ptr_equal(records[0].to, f);
	records_clear();
	msg_unref(m);
}

static void
test_fanout_room(void **state)
{
	struct session	*a, *b;
	struct room	*r;
	struct msg	*m;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	r = join(a, "#x");
	join(b, "#x");
	records_clear();
	m = msg_new(MSG_NOTICE, NULL, "server", NULL, "hi");
	room_fanout(r, m);
	assert_int_equal(delivered(a, MSG_NOTICE), 1);
	assert_int_equal(delivered(b, MSG_NOTICE), 1);
	assert_int_equal(nrecords, 2);
	msg_unref(m);
}

/* ---- fan-out runs (room_batch) ---- */

static size_t	holds;

static void
record_hold(void)
{
	holds++;
}

/* The text of the i-th record. */
static const char *
text_of(size_t i)
{
	assert_true(i < nrecords);
	return records[i].m->text;
}

static void
test_fanout_runs(void **state)
{
	struct session	*a, *b, *c, *d;
	struct room	*x, *y;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	c = new_session("carol");
	x = join(a, "#x");
	join(b, "#x");
	y = join(c, "#y");
	records_clear();
	runs = holds = 0;
	room_batch(record_hold);

	/* Two messages to one room: held, then one run per member. */
	room_say(x, a, MSG_SAY, "1");
	room_say(x, b, MSG_SAY, "2");
	assert_int_equal(nrecords, 0);
	assert_int_equal(holds, 1);
	room_flush();
	assert_int_equal(runs, 2);
	assert_int_equal(run_n, 2);
	assert_int_equal(delivered(a, MSG_SAY), 2);
	assert_int_equal(delivered(b, MSG_SAY), 2);
	assert_string_equal(text_of(0), "1");
	assert_string_equal(text_of(1), "2");
	room_flush();			/* nothing pending: nothing happens */
	assert_int_equal(nrecords, 4);
	records_clear();

	/* A message to another room delivers the pending run first. */
	room_say(x, a, MSG_SAY, "3");
	room_say(y, c, MSG_SAY, "4");
	assert_int_equal(delivered(a, MSG_SAY), 1);
	assert_int_equal(delivered(c, MSG_SAY), 0);
	assert_int_equal(holds, 3);

	/* A newcomer gets nothing said before it joined. */
	d = new_session("dave");
	join(d, "#y");
	assert_int_equal(delivered(c, MSG_SAY), 1);
	assert_int_equal(delivered(d, MSG_SAY), 0);
	room_flush();
	assert_int_equal(delivered(d, MSG_JOIN), 1);
	assert_int_equal(delivered(d, MSG_SAY), 0);
	assert_int_equal(delivered(c, MSG_JOIN), 1);
	records_clear();

	/* A leaver gets everything said before it left, and its part. */
	room_say(y, d, MSG_SAY, "5");
	assert_int_equal(room_part(c, y, NULL), CHAT_OK);
	assert_int_equal(delivered(c, MSG_SAY), 1);
	assert_int_equal(delivered(c, MSG_PART), 1);
	records_clear();

	/* Switched off: delivered at once again, nothing left pending. */
	room_say(x, a, MSG_SAY, "6");
	room_batch(NULL);
	assert_int_equal(delivered(b, MSG_SAY), 1);
	room_say(x, a, MSG_SAY, "7");
	assert_int_equal(delivered(b, MSG_SAY), 2);
}

static void
test_quit(void **state)
{
	struct session	*a, *b, *c, *d, *e;
	struct room	*x, *y, *solo;
	struct msg	*m;

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	c = new_session("carol");
	d = new_session("dave");
	e = new_session("eve");
	x = join(a, "#x");
	y = join(a, "#y");
	solo = join(a, "#solo");
	(void)solo;
	join(b, "#x");
	join(b, "#y");
	join(c, "#x");
	join(d, "#y");
	join(e, "#z");
	records_clear();

	room_quit(a, "gone fishing");
	/* QUIT reaches each neighbour once, and not the quitter. */
	assert_int_equal(delivered(a, -1), 0);
	assert_int_equal(delivered(b, MSG_QUIT), 1);
	assert_int_equal(delivered(c, MSG_QUIT), 1);
	assert_int_equal(delivered(d, MSG_QUIT), 1);
	assert_int_equal(delivered(e, -1), 0);
	assert_int_equal(nrecords, 3);
	m = one_shared_message();
	assert_string_equal(m->from, "alice");
	assert_string_equal(m->text, "gone fishing");
	assert_string_equal(m->room, "");
	/* a left every room; its only-member room is gone. */
	assert_int_equal(a->nrooms, 0);
	assert_false(is_member(x, a));
	assert_false(is_member(y, a));
	assert_int_equal(x->nmembers, 2);
	assert_int_equal(y->nmembers, 2);
	assert_null(room_find("#solo"));
	assert_ptr_equal(room_find("#x"), x);
	assert_ptr_equal(room_find("#y"), y);
	records_clear();

	/* Quitting without rooms says nothing. */
	room_quit(a, "again");
	assert_int_equal(nrecords, 0);
	free_session(a);
	assert_null(session_find("alice"));

	/* The last member quitting removes the room. */
	room_quit(e, NULL);
	assert_int_equal(nrecords, 0);
	assert_null(room_find("#z"));
}

static void
test_too_many_rooms(void **state)
{
	struct session	*a, *b;
	struct room	*r = NULL, *ra;
	int		 rejoined = 0;

	(void)state;
	room_configure(20, 2, 10000);
	a = new_session("alice");
	b = new_session("bob");
	join(b, "#busy");
	ra = join(a, "#a");
	join(a, "#b");
	records_clear();

	assert_int_equal(room_join(a, "#c", NULL, &r, &rejoined),
	    CHAT_TOO_MANY_ROOMS);
	assert_null(room_find("#c"));		/* not created */
	assert_int_equal(a->nrooms, 2);
	assert_int_equal(nrecords, 0);
	/* An existing room: not joined, nobody told. */
	assert_int_equal(room_join(a, "#busy", NULL, &r, &rejoined),
	    CHAT_TOO_MANY_ROOMS);
	assert_int_equal(room_find("#busy")->nmembers, 1);
	assert_int_equal(nrecords, 0);

	/* A rejoin at the limit is fine. */
	assert_int_equal(room_join(a, "#a", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(rejoined, 1);

	/* After leaving one, there is room again. */
	assert_int_equal(room_part(a, ra, ""), CHAT_OK);
	join(a, "#c");
	assert_int_equal(a->nrooms, 2);
}

/* ---- topics ---- */

static void
test_topic(void **state)
{
	struct session	*a, *b;
	struct room	*r;
	struct msg	*m;
	char		 text[TOPIC_MAX + 2];

	(void)state;
	a = new_session("alice");
	b = new_session("bob");
	r = join(a, "#a");
	join(b, "#a");
	records_clear();
	assert_null(r->topic);

	assert_int_equal(room_set_topic(r, b, "all about a"), CHAT_OK);
	assert_string_equal(r->topic, "all about a");
	assert_string_equal(r->topic_by, "bob");
	assert_int_equal(delivered(a, MSG_TOPIC), 1);
	assert_int_equal(delivered(b, MSG_TOPIC), 1);
	assert_int_equal(nrecords, 2);
	m = one_shared_message();
	assert_string_equal(m->text, "all about a");
	assert_string_equal(m->from, "bob");
	assert_string_equal(m->room, "#a");
	records_clear();

	/* TOPIC_MAX bytes is fine. */
	memset(text, 't', TOPIC_MAX);
	text[TOPIC_MAX] = '\0';
	assert_int_equal(room_set_topic(r, a, text), CHAT_OK);
	assert_int_equal(strlen(r->topic), TOPIC_MAX);
	assert_string_equal(r->topic_by, "alice");
	assert_int_equal(nrecords, 2);
	records_clear();

	/* One more is too long: nothing changes, nobody is told. */
	text[TOPIC_MAX] = 'u';
	text[TOPIC_MAX + 1] = '\0';
	assert_int_equal(room_set_topic(r, b, text), CHAT_TOPIC_TOO_LONG);
	assert_int_equal(strlen(r->topic), TOPIC_MAX);
	assert_string_equal(r->topic_by, "alice");
	assert_int_equal(nrecords, 0);

	/* Empty clears the text. */
	assert_int_equal(room_set_topic(r, b, ""), CHAT_OK);
	assert_string_equal(r->topic, "");
	assert_int_equal(nrecords, 2);
}

/* ---- listings ---- */

static void
collect_room(struct room *r, void *arg)
{
	char	*buf = arg;

	strcat(buf, r->name);
	strcat(buf, ",");
}

static void
test_room_foreach_sorted(void **state)
{
	struct session	*a;
	char		 buf[256] = "";

	(void)state;
	room_foreach(collect_room, buf);
	assert_string_equal(buf, "");
	a = new_session("alice");
	join(a, "#delta");
	join(a, "#Alpha");
	join(a, "#charlie");
	join(a, "#Bravo");
	join(a, "#alpha2");
	room_keep("#echo");
	assert_int_equal(room_count(), 6);
	room_foreach(collect_room, buf);
	assert_string_equal(buf,
	    "#Alpha,#alpha2,#Bravo,#charlie,#delta,#echo,");
}

/* ---- msg ---- */

static void
test_msg(void **state)
{
	struct msg	*m;
	size_t		 i;

	(void)state;
	m = msg_new(MSG_PRIVATE, NULL, "alice", "bob", "psst");
	assert_int_equal(m->refs, 1);
	assert_int_equal(m->kind, MSG_PRIVATE);
	assert_string_equal(m->room, "");
	assert_string_equal(m->from, "alice");
	assert_string_equal(m->to, "bob");
	assert_string_equal(m->text, "psst");
	for (i = 0; i < PROTOCOL_NSLOTS; i++)
		assert_null(m->wire[i]);	/* rendered only when sent */
	assert_ptr_equal(msg_ref(m), m);
	assert_int_equal(m->refs, 2);
	msg_unref(m);
	assert_int_equal(m->refs, 1);
	msg_unref(m);
	msg_unref(NULL);

	m = msg_new(MSG_JOIN, NULL, NULL, NULL, NULL);
	assert_string_equal(m->room, "");
	assert_string_equal(m->from, "");
	assert_string_equal(m->to, "");
	assert_string_equal(m->text, "");
	msg_unref(m);
}

/* ---- moderation (room-mode.c) ---- */

static void
test_mask_match(void **state)
{
	(void)state;
	assert_true(room_mask_match("*!*@*", "a!a@127.0.0.1"));
	assert_true(room_mask_match("ALICE!*@*", "alice!alice@::1"));
	assert_true(room_mask_match("a?c!*", "abc!abc@h"));
	assert_true(room_mask_match("*@127.0.0.*", "x!x@127.0.0.9"));
	assert_true(room_mask_match("**a*", "bab"));
	assert_false(room_mask_match("a?c!*", "ac!ac@h"));
	assert_false(room_mask_match("*@127.0.0.1", "x!x@127.0.0.10"));
	assert_false(room_mask_match("[x]!*@*", "{x}!{x}@h"));	/* ascii */
	assert_false(room_mask_match("", "a"));
	assert_true(room_mask_match("*", ""));
}

static size_t	refusals;
static char	refused_letter;

static void
count_refusal(void *arg, enum room_mode_refusal why, char letter,
    const char *argument)
{
	(void)arg;
	(void)why;
	(void)argument;
	refusals++;
	refused_letter = letter;
}

static void
test_modes_and_standing(void **state)
{
	struct session	*op = new_session("op"), *bob = new_session("bob");
	struct room	*r;
	char		*args[] = { "bob", "s3cret", "2" }, modes[64];
	int		 rejoined;

	(void)state;
	assert_int_equal(room_join(op, "#m", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_member_status(r, op), ROOM_OPERATOR);
	assert_int_equal(room_join(bob, "#m", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_member_status(r, bob), 0);
	records_clear();
	assert_int_equal(room_mode_change(r, bob, "+t", NULL, 0,
	    count_refusal, NULL), CHAT_NOT_OPERATOR);
	assert_int_equal(nrecords, 0);
	assert_int_equal(room_mode_change(r, op, "+vk-x+lm", args, 3,
	    count_refusal, NULL), CHAT_OK);
	assert_int_equal(refusals, 1);
	assert_int_equal(refused_letter, 'x');
	assert_string_equal(one_shared_message()->text, "+vklm bob s3cret 2");
	room_mode_string(r, modes, sizeof modes, 1);
	assert_string_equal(modes, "+mnkl s3cret 2");
	room_mode_string(r, modes, sizeof modes, 0);
	assert_string_equal(modes, "+mnkl * 2");
	assert_int_equal(room_may_speak(r, bob), CHAT_OK);	/* voiced */
	/* A nick change keeps the standing in every room. */
	assert_int_equal(room_set_nick(bob, "robert"), CHAT_OK);
	assert_int_equal(room_member_status(r, bob), ROOM_VOICE);
	assert_int_equal(room_set_nick(op, "boss"), CHAT_OK);
	assert_true(room_is_operator(r, op));
	records_clear();
}

static void
test_join_gates_and_kick(void **state)
{
	struct session	*op = new_session("op"), *eve = new_session("eve");
	struct session	*sam = new_session("sam");
	struct room	*r;
	char		*args[] = { "k", "eve" };
	int		 rejoined;

	(void)state;
	assert_int_equal(room_join(op, "#g", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_mode_change(r, op, "+kb", args, 2,
	    count_refusal, NULL), CHAT_OK);
	assert_int_equal(r->modes.nbans, 1);
	assert_string_equal(r->modes.bans[0].mask, "eve!*@*");
	assert_int_equal(room_join(sam, "#g", NULL, &r, &rejoined),
	    CHAT_BAD_KEY);
	assert_int_equal(room_join(sam, "#g", "k", &r, &rejoined), CHAT_OK);
	assert_int_equal(room_join(eve, "#g", "k", &r, &rejoined),
	    CHAT_ROOM_BANNED);
	assert_int_equal(room_invite(r, sam, eve), CHAT_OK);
	assert_int_equal(room_join(eve, "#g", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_may_speak(r, eve), CHAT_ROOM_BANNED);
	assert_int_equal(room_kick(r, sam, eve, NULL), CHAT_NOT_OPERATOR);
	records_clear();
	assert_int_equal(room_kick(r, op, eve, NULL), CHAT_OK);
	assert_int_equal(records[0].kind, MSG_KICK);
	assert_string_equal(records[0].m->text, "op");	/* reason: kicker */
	assert_int_equal(delivered(eve, MSG_KICK), 1);
	assert_false(session_in_room(eve, r));
	assert_int_equal(room_kick(r, op, eve, NULL), CHAT_NOT_MEMBER);
	/* The invitation was used up by the join. */
	assert_int_equal(room_join(eve, "#g", "k", &r, &rejoined),
	    CHAT_ROOM_BANNED);
	records_clear();
}

/* max-invites-per-room: the latest are kept, also across a resize. */
static void
test_invitations_kept(void **state)
{
	struct session	*op = new_session("op"), *a = new_session("a");
	struct session	*b = new_session("b"), *c = new_session("c");
	struct session	*d = new_session("d");
	struct room	*r;
	size_t		 held;
	int		 rejoined;

	(void)state;
	room_mode_configure(50, 2);
	assert_int_equal(room_join(op, "#i", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_mode_change(r, op, "+i", NULL, 0,
	    count_refusal, NULL), CHAT_OK);
	held = r->held;
	assert_int_equal(room_invite(r, op, a), CHAT_OK);
	assert_int_equal(r->held, held + 2 * sizeof(uint64_t));
	assert_int_equal(r->modes.invited_cap, 2);
	assert_int_equal(room_invite(r, op, b), CHAT_OK);
	assert_int_equal(room_invite(r, op, c), CHAT_OK);	/* forgets a */
	assert_int_equal(room_join(a, "#i", NULL, &r, &rejoined),
	    CHAT_INVITE_ONLY);
	room_mode_configure(50, 3);	/* a reload: b and c are kept */
	assert_int_equal(room_invite(r, op, d), CHAT_OK);
	assert_int_equal(r->modes.invited_cap, 3);
	assert_int_equal(r->held, held + 3 * sizeof(uint64_t));
	assert_int_equal(room_join(b, "#i", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_join(c, "#i", NULL, &r, &rejoined), CHAT_OK);
	assert_int_equal(room_join(d, "#i", NULL, &r, &rejoined), CHAT_OK);
	room_mode_configure(50, 16);
	records_clear();
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

/*
 * announce-members-max 2: the third member's join, part and quit are its
 * own until it speaks; then the others get its JOIN once, before its line.
 */
static void
test_big_room_announces_speakers(void **state)
{
	struct session	*a, *b, *c, *d;
	struct room	*r;

	(void)state;
	room_announce_configure(2);
	a = new_session("alice");
	b = new_session("bob");
	c = new_session("carol");
	d = new_session("dave");
	r = join(a, "#big");
	join(b, "#big");
	assert_int_equal(delivered(a, MSG_JOIN), 2);	/* bob was announced */
	records_clear();

	join(c, "#big");
	assert_int_equal(nrecords, 1);
	assert_ptr_equal(records[0].to, c);
	assert_false(room_announced(r, c));
	assert_int_equal(r->nmembers, 3);	/* counted all the same */
	records_clear();

	assert_int_equal(room_say(r, c, MSG_SAY, "hi"), CHAT_OK);
	assert_int_equal(nrecords, 5);	/* JOIN to a and b, then the line */
	assert_int_equal(records[0].kind, MSG_JOIN);
	assert_int_equal(records[1].kind, MSG_JOIN);
	assert_true(records[0].to != c && records[1].to != c);
	assert_int_equal(delivered(c, MSG_JOIN), 0);
	assert_int_equal(delivered(c, MSG_SAY), 1);
	assert_true(room_announced(r, c));
	records_clear();
	assert_int_equal(room_say(r, c, MSG_SAY, "again"), CHAT_OK);
	assert_int_equal(delivered(a, MSG_JOIN), 0);	/* once */
	records_clear();

	join(d, "#big");
	room_quit(d, "gone");
	assert_int_equal(nrecords, 1);	/* its own JOIN; the quit is unheard */
	assert_ptr_equal(records[0].to, d);
	records_clear();
	assert_int_equal(room_part(c, r, ""), CHAT_OK);
	assert_int_equal(delivered(a, MSG_PART), 1);
	room_announce_configure(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_guest_nicks),		/* first: expects guest1 */
		T(test_nick_change),
		T(test_session_free),
		T(test_session_foreach_sorted),
		T(test_join_creates_and_announces),
		T(test_join_invalid_room),
		T(test_rejoin),
		T(test_current_room_is_last_joined),
		T(test_part),
		T(test_empty_room_disappears),
		T(test_kept_room),
		T(test_say),
		T(test_scrollback),
		T(test_scrollback_resize),
		T(test_scrollback_per_room),
		T(test_fanout_neighbours),
		T(test_fanout_room),
		T(test_fanout_runs),
		T(test_quit),
		T(test_too_many_rooms),
		T(test_topic),
		T(test_room_foreach_sorted),
		T(test_msg),
		T(test_mask_match),
		T(test_modes_and_standing),
		T(test_join_gates_and_kick),
		T(test_invitations_kept),
		T(test_big_room_announces_speakers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
