/*
 * Room moderation, for every protocol alike: who may join a room, speak in
 * it and set its topic, and the changes its operators make.  The creator
 * of a room is its first operator; a server operator (session->oper: IRC's
 * OPER, the administrator) has an operator's powers in every room.
 *
 * Mode requests are written as IRC writes them ("+o-v alice bob"), which
 * is also what the line protocol's /mode takes: one parser, one outcome
 * for both.  What was changed goes to the room's members as one MSG_MODE
 * event, each refused change to the caller's refused function.
 *
 * A ban mask is nick!user@host with * and ? as wildcards, matched without
 * regard to ASCII case against nick!nick@ADDRESS: chatd has no idents, so
 * the user part is the nick, and the host part is the client's address
 * (its host, host.c), never shown to other clients.  Bans are charged to
 * the host that holds the room.
 *
 * A room remembers whom it made operator (its creator, +o), by nick and
 * address, until -o or until it goes: one who joins again with that nick
 * from that address is operator again, after a part as after a restart
 * (the database keeps the list).  chatd has no accounts, so a nick alone
 * proves nothing: anyone could take it.  The address is what bans trust
 * too; it is shared only by the clients behind one address (NAT, one
 * machine's users).  Up to ROOM_OPS_KEPT_MAX are remembered, the oldest
 * forgotten first, charged like bans.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "msg.h"
#include "room.h"
#include "room-mode.h"
#include "stats.h"
#include "xmalloc.h"

static size_t	room_max_bans = 50;
static size_t	room_max_invites = 16;

static const struct {
	char		letter;
	unsigned	flag;
} room_flags[] = {
	{ 'i', ROOM_INVITE_ONLY },
	{ 'm', ROOM_MODERATED },
	{ 'n', ROOM_NO_EXTERNAL },
	{ 't', ROOM_TOPIC_LOCKED },
};
#define NFLAGS	(sizeof room_flags / sizeof room_flags[0])

void
room_mode_configure(size_t max_bans, size_t max_invites)
{
	room_max_bans = max_bans;
	room_max_invites = max_invites;
}

size_t
room_mode_max_bans(void)
{
	return room_max_bans;
}

void
room_mode_free(struct room *r)
{
	free(r->modes.bans);
	r->modes.bans = NULL;
	r->modes.nbans = 0;
	free(r->modes.ops);
	r->modes.ops = NULL;
	r->modes.nops = 0;
	free(r->modes.invited);
	r->modes.invited = NULL;
	r->modes.invited_cap = 0;
}

unsigned
room_member_status(const struct room *r, const struct session *s)
{
	size_t	i = room_member_index(r, s);

	return i < r->nmembers ? r->member_status[i] : 0;
}

int
room_is_operator(const struct room *r, const struct session *s)
{
	return s->oper || (room_member_status(r, s) & ROOM_OPERATOR) != 0;
}

/* Glob match of IRC masks: '*' any run, '?' one byte, ASCII case folded. */
int
room_mask_match(const char *mask, const char *name)
{
	const char	*star = NULL, *resume = NULL;
	int		 m, n;

	while (*name != '\0') {
		m = name_fold((unsigned char)*mask);
		n = name_fold((unsigned char)*name);
		if (*mask == '*') {
			star = ++mask;
			resume = name;
		} else if (*mask != '\0' && (*mask == '?' || m == n)) {
			mask++;
			name++;
		} else if (star != NULL) {
			mask = star;
			name = ++resume;
		} else
			return 0;
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

int
room_ban_covers(const struct room *r, const struct session *s)
{
	char	who[ROOM_MASK_MAX + 1];
	size_t	i;

	if (r->modes.nbans == 0)
		return 0;
	snprintf(who, sizeof who, "%s!%s@%s", s->nick, s->nick,
	    s->host != NULL ? host_name(s->host) : "");
	for (i = 0; i < r->modes.nbans; i++)
		if (room_mask_match(r->modes.bans[i].mask, who))
			return 1;
	return 0;
}

static int
room_invited(const struct room *r, const struct session *s)
{
	size_t	i;

	for (i = 0; i < r->modes.invited_cap; i++)
		if (r->modes.invited[i] == s->id)
			return 1;
	return 0;
}

static size_t
room_op_find(const struct room *r, const char *nick)
{
	size_t	i;

	for (i = 0; i < r->modes.nops; i++)
		if (name_compare(r->modes.ops[i].nick, nick) == 0)
			break;
	return i;
}

static void
room_op_forget(struct room *r, const char *nick)
{
	size_t	i = room_op_find(r, nick);

	if (i == r->modes.nops)
		return;
	memmove(&r->modes.ops[i], &r->modes.ops[i + 1],
	    (r->modes.nops - i - 1) * sizeof *r->modes.ops);
	r->modes.nops--;
	host_hold(r->held_by, -(int64_t)sizeof *r->modes.ops);
	r->held -= sizeof *r->modes.ops;
}

/* Remember nick at address as an operator of r, the latest last. */
static void
room_op_remember(struct room *r, const char *nick, const char *address)
{
	struct room_op	*op;

	room_op_forget(r, nick);
	if (r->modes.nops == ROOM_OPS_KEPT_MAX)
		room_op_forget(r, r->modes.ops[0].nick);
	if (!host_may_hold(r->held_by, sizeof *r->modes.ops))
		return;		/* an operator still, only not remembered */
	r->modes.ops = xreallocarray(r->modes.ops, r->modes.nops + 1,
	    sizeof *r->modes.ops);
	op = &r->modes.ops[r->modes.nops++];
	snprintf(op->nick, sizeof op->nick, "%s", nick);
	snprintf(op->address, sizeof op->address, "%s", address);
	host_hold(r->held_by, (int64_t)sizeof *r->modes.ops);
	r->held += sizeof *r->modes.ops;
}

/*
 * Only a nick a client took is remembered, never the guest nick it was
 * given (guest numbers start again at a restart), nor a session without
 * an address (the operator's own).
 */
static int
room_op_rememberable(const struct session *s)
{
	return s->chosen && s->host != NULL;
}

static void
room_op_remember_session(struct room *r, const struct session *s)
{
	if (room_op_rememberable(s))
		room_op_remember(r, s->nick, host_name(s->host));
}

/*
 * s joins r with status (ROOM_OPERATOR: it made the room): an invitation
 * is good for one join, and one r remembers as operator is one again.
 * The standing s joins with.
 */
unsigned
room_mode_admit(struct room *r, const struct session *s, unsigned status)
{
	size_t	i;

	for (i = 0; i < r->modes.invited_cap; i++)
		if (r->modes.invited[i] == s->id)
			r->modes.invited[i] = 0;
	if (status & ROOM_OPERATOR)
		room_op_remember_session(r, s);
	else if (room_op_rememberable(s) && (i = room_op_find(r, s->nick)) <
	    r->modes.nops && strcmp(r->modes.ops[i].address,
	    host_name(s->host)) == 0)
		status |= ROOM_OPERATOR;
	return status;
}

/* An invitation lets one in past +i, +k, +l and bans, as IRC servers do. */
enum chat_result
room_may_join(const struct room *r, const struct session *s, const char *key)
{
	if (s->oper || room_invited(r, s))
		return CHAT_OK;
	if (room_ban_covers(r, s))
		return CHAT_ROOM_BANNED;
	if (r->modes.flags & ROOM_INVITE_ONLY)
		return CHAT_INVITE_ONLY;
	if (r->modes.key[0] != '\0' && (key == NULL ||
	    strcmp(key, r->modes.key) != 0))
		return CHAT_BAD_KEY;
	if (r->modes.limit != 0 && r->nmembers >= r->modes.limit)
		return CHAT_ROOM_FULL;
	return CHAT_OK;
}

enum chat_result
room_may_speak(const struct room *r, const struct session *s)
{
	size_t	i;

	if (s->oper)
		return CHAT_OK;
	if ((i = room_member_index(r, s)) == r->nmembers)
		return r->modes.flags & ROOM_NO_EXTERNAL ? CHAT_NOT_IN_ROOM :
		    room_ban_covers(r, s) ? CHAT_ROOM_BANNED : CHAT_OK;
	if (r->member_status[i] & (ROOM_OPERATOR | ROOM_VOICE))
		return CHAT_OK;
	if (r->modes.flags & ROOM_MODERATED)
		return CHAT_MODERATED;
	if (room_ban_covers(r, s))
		return CHAT_ROOM_BANNED;
	return CHAT_OK;
}

enum chat_result
room_may_set_topic(const struct room *r, const struct session *s)
{
	if (!s->oper && !session_in_room(s, r))
		return CHAT_NOT_IN_ROOM;
	if ((r->modes.flags & ROOM_TOPIC_LOCKED) && !room_is_operator(r, s))
		return CHAT_NOT_OPERATOR;
	return CHAT_OK;
}

/* "+imnt key limit" as MODE queries show it; the key only to members. */
size_t
room_mode_string(const struct room *r, char *buf, size_t size, int with_key)
{
	char	letters[NFLAGS + 4], *p = letters;
	size_t	i;
	int	n;

	*p++ = '+';
	for (i = 0; i < NFLAGS; i++)
		if (r->modes.flags & room_flags[i].flag)
			*p++ = room_flags[i].letter;
	if (r->modes.key[0] != '\0')
		*p++ = 'k';
	if (r->modes.limit != 0)
		*p++ = 'l';
	*p = '\0';
	n = snprintf(buf, size, "%s%s%s", letters,
	    r->modes.key[0] == '\0' ? "" : " ",
	    r->modes.key[0] == '\0' ? "" : with_key ? r->modes.key : "*");
	if (r->modes.limit != 0 && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, " %zu",
		    r->modes.limit);
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

/* A key or a mask: printable ASCII without spaces or commas. */
static int
room_mode_word(const char *s, size_t max)
{
	size_t	n = strlen(s);

	return n > 0 && n <= max && s[0] != ':' &&
	    strspn(s, "!\"#$%&'()*+-./0123456789;<=>?@ABCDEFGHIJKLMNOPQRSTUVWX"
	    "YZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~:") == n;
}

/* "nick" is nick!*@*, "user@host" *!user@host, "nick!user" nick!user@*. */
static int
room_mask_normal(const char *arg, char *mask)
{
	const char	*bang = strchr(arg, '!'), *at = strchr(arg, '@');
	int		 n;

	if (!room_mode_word(arg, ROOM_MASK_MAX))
		return 0;
	if (bang == NULL && at == NULL)
		n = snprintf(mask, ROOM_MASK_MAX + 1, "%s!*@*", arg);
	else if (bang == NULL)
		n = snprintf(mask, ROOM_MASK_MAX + 1, "*!%s", arg);
	else if (at == NULL)
		n = snprintf(mask, ROOM_MASK_MAX + 1, "%s@*", arg);
	else
		n = snprintf(mask, ROOM_MASK_MAX + 1, "%s", arg);
	return n > 0 && n <= ROOM_MASK_MAX;
}

static size_t
room_ban_find(const struct room *r, const char *mask)
{
	size_t	i;

	for (i = 0; i < r->modes.nbans; i++)
		if (name_compare(r->modes.bans[i].mask, mask) == 0)
			break;
	return i;
}

/* A new ban at the end of r's list, if it has room for it; 1 if added. */
static int
room_ban_append(struct room *r, const char *mask, const char *by, time_t when,
    enum room_mode_refusal *why)
{
	size_t	i;

	if (r->modes.nbans >= room_max_bans ||
	    !host_may_hold(r->held_by, sizeof *r->modes.bans)) {
		*why = ROOM_MODE_BANS_FULL;
		return 0;
	}
	r->modes.bans = xreallocarray(r->modes.bans, r->modes.nbans + 1,
	    sizeof *r->modes.bans);
	i = r->modes.nbans++;
	snprintf(r->modes.bans[i].mask, sizeof r->modes.bans[i].mask, "%s",
	    mask);
	snprintf(r->modes.bans[i].by, sizeof r->modes.bans[i].by, "%s", by);
	r->modes.bans[i].when = when;
	host_hold(r->held_by, (int64_t)sizeof *r->modes.bans);
	r->held += sizeof *r->modes.bans;
	return 1;
}

/* Add (set) or remove the ban mask; 1 if the list changed. */
static int
room_ban_change(struct room *r, const struct session *by, int set,
    const char *mask, enum room_mode_refusal *why)
{
	size_t	i = room_ban_find(r, mask);

	if (!set) {
		if (i == r->modes.nbans)
			return 0;
		r->modes.bans[i] = r->modes.bans[--r->modes.nbans];
		host_hold(r->held_by, -(int64_t)sizeof *r->modes.bans);
		r->held -= sizeof *r->modes.bans;
		return 1;
	}
	if (i < r->modes.nbans)
		return 0;
	return room_ban_append(r, mask, by->nick, time(NULL), why);
}

/* r's flags as their letters ("nt"), for the database. */
void
room_mode_flags(const struct room *r, char *buf, size_t size)
{
	size_t	i, n = 0;

	for (i = 0; i < NFLAGS && n + 1 < size; i++)
		if (r->modes.flags & room_flags[i].flag)
			buf[n++] = room_flags[i].letter;
	buf[n] = '\0';
}

/* At start: r's modes as the database kept them; unknown letters go. */
void
room_mode_restore(struct room *r, const char *letters, const char *key,
    size_t limit)
{
	size_t	i;

	r->modes.flags = 0;
	for (i = 0; i < NFLAGS; i++)
		if (strchr(letters, room_flags[i].letter) != NULL)
			r->modes.flags |= room_flags[i].flag;
	if (room_mode_word(key, ROOM_KEY_MAX))
		snprintf(r->modes.key, sizeof r->modes.key, "%s", key);
	r->modes.limit = limit;
}

/* At start: a ban of r's as kept, within max-bans-per-room. */
int
room_ban_restore(struct room *r, const char *mask, const char *by, time_t when)
{
	enum room_mode_refusal	why;

	if (!room_mode_word(mask, ROOM_MASK_MAX) ||
	    room_ban_find(r, mask) < r->modes.nbans)
		return -1;
	return room_ban_append(r, mask, by, when, &why) ? 0 : -1;
}

/* At start: an operator r remembered, as kept. */
int
room_op_restore(struct room *r, const char *nick, const char *address)
{
	if (!name_nick_valid(nick) || strlen(address) > ROOM_ADDRESS_MAX)
		return -1;
	room_op_remember(r, nick, address);
	return 0;
}

/* Set or clear a member's standing (o, v); 1 if it changed. */
static int
room_status_change(struct room *r, int set, unsigned bit, const char *nick,
    enum room_mode_refusal *why)
{
	struct session	*s = session_find(nick);
	size_t		 i;
	unsigned char	 old;

	if (s == NULL) {
		*why = ROOM_MODE_NO_SUCH_NICK;
		return 0;
	}
	if ((i = room_member_index(r, s)) == r->nmembers) {
		*why = ROOM_MODE_NOT_MEMBER;
		return 0;
	}
	if (set)	/* the room sees who gets a standing */
		room_announce(r, s);
	old = r->member_status[i];
	r->member_status[i] = set ? old | bit : old & ~bit;
	if (bit == ROOM_OPERATOR && set)
		room_op_remember_session(r, s);
	else if (bit == ROOM_OPERATOR)
		room_op_forget(r, s->nick);
	return r->member_status[i] != old;
}

/* The changes made, as one mode string with its arguments. */
struct room_mode_done {
	char	 changes[64];
	char	 args[512];
	size_t	 nchanges, nargs;
	int	 sign;
};

static void
room_mode_done_add(struct room_mode_done *d, int sign, char letter,
    const char *arg)
{
	if (d->nchanges + 3 >= sizeof d->changes)
		return;
	if (sign != d->sign)
		d->changes[d->nchanges++] = (char)sign;
	d->sign = sign;
	d->changes[d->nchanges++] = letter;
	d->changes[d->nchanges] = '\0';
	if (arg != NULL)
		d->nargs += (size_t)snprintf(d->args + d->nargs,
		    sizeof d->args - d->nargs, " %s", arg);
}

/* One letter of a request; 1 if it used its argument. */
static int
room_mode_one(struct room *r, struct session *by, int sign, char letter,
    const char *arg, struct room_mode_done *done, room_mode_refused_fn *fn,
    void *fnarg)
{
	enum room_mode_refusal	 why = ROOM_MODE_UNKNOWN;
	char			 mask[ROOM_MASK_MAX + 1], *end;
	unsigned long		 limit;
	size_t			 i;
	int			 set = sign == '+';

	for (i = 0; i < NFLAGS; i++) {
		if (room_flags[i].letter != letter)
			continue;
		if (set != ((r->modes.flags & room_flags[i].flag) != 0)) {
			r->modes.flags ^= room_flags[i].flag;
			room_mode_done_add(done, sign, letter, NULL);
		}
		return 0;
	}
	if (letter == 'l' && !set) {
		if (r->modes.limit != 0)
			room_mode_done_add(done, sign, letter, NULL);
		r->modes.limit = 0;
		return 0;
	}
	if (letter == 'k' && !set) {	/* IRC sends the key; it may be */
		if (r->modes.key[0] != '\0')	/* left out */
			room_mode_done_add(done, sign, letter, "*");
		r->modes.key[0] = '\0';
		return arg != NULL;
	}
	if (strchr("bklov", letter) == NULL) {
		fn(fnarg, ROOM_MODE_UNKNOWN, letter, NULL);
		return 0;
	}
	if (arg == NULL) {
		fn(fnarg, ROOM_MODE_NO_ARGUMENT, letter, NULL);
		return 0;
	}
	switch (letter) {
	case 'k':
		if (!room_mode_word(arg, ROOM_KEY_MAX)) {
			why = ROOM_MODE_BAD_ARGUMENT;
			break;
		}
		snprintf(r->modes.key, sizeof r->modes.key, "%s", arg);
		room_mode_done_add(done, sign, letter, arg);
		return 1;
	case 'l':
		limit = strtoul(arg, &end, 10);
		if (*end != '\0' || arg[0] < '1' || arg[0] > '9' ||
		    limit > 1000000) {
			why = ROOM_MODE_BAD_ARGUMENT;
			break;
		}
		if (r->modes.limit != limit)
			room_mode_done_add(done, sign, letter, arg);
		r->modes.limit = limit;
		return 1;
	case 'b':
		if (!room_mask_normal(arg, mask)) {
			why = ROOM_MODE_BAD_ARGUMENT;
			break;
		}
		why = ROOM_MODE_UNKNOWN;
		if (room_ban_change(r, by, set, mask, &why))
			room_mode_done_add(done, sign, letter, mask);
		else if (why == ROOM_MODE_BANS_FULL)
			fn(fnarg, why, letter, mask);
		return 1;
	default:	/* o, v */
		if (room_status_change(r, set, letter == 'o' ? ROOM_OPERATOR :
		    ROOM_VOICE, arg, &why)) {
			room_mode_done_add(done, sign, letter,
			    session_find(arg)->nick);
			return 1;
		}
		if (why == ROOM_MODE_UNKNOWN)	/* no change to make */
			return 1;
		break;
	}
	fn(fnarg, why, letter, arg);
	return 1;
}

/*
 * Apply an operator's request "+o-v..." with its arguments; the members
 * hear what changed as one MODE event.  Only operators may ask.
 */
enum chat_result
room_mode_change(struct room *r, struct session *by, const char *changes,
    char *const *args, size_t nargs, room_mode_refused_fn *fn, void *fnarg)
{
	struct room_mode_done	 done = { .sign = 0 };
	struct msg		*m;
	char			 text[sizeof done.changes + sizeof done.args];
	size_t			 used = 0, with_arg = 0;
	int			 sign = '+';
	const char		*arg;

	if (!room_is_operator(r, by))
		return CHAT_NOT_OPERATOR;
	for (; *changes != '\0'; changes++) {
		if (*changes == '+' || *changes == '-') {
			sign = *changes;
			continue;
		}
		/* A mode is an ASCII letter: report anything else once, as
		 * '?', never a byte of a character cut out of it. */
		if (!((*changes >= 'a' && *changes <= 'z') ||
		    (*changes >= 'A' && *changes <= 'Z'))) {
			fn(fnarg, ROOM_MODE_UNKNOWN, '?', NULL);
			break;
		}
		arg = used < nargs ? args[used] : NULL;
		if (strchr("bklov", *changes) != NULL && (sign == '+' ||
		    *changes != 'l') && with_arg++ == ROOM_MODE_CHANGES_MAX) {
			fn(fnarg, ROOM_MODE_TOO_MANY, *changes, arg);
			break;
		}
		used += (size_t)room_mode_one(r, by, sign, *changes, arg,
		    &done, fn, fnarg);
	}
	if (done.nchanges == 0) {
		fn(fnarg, ROOM_MODE_UNCHANGED, 0, NULL);
		return CHAT_OK;
	}
	snprintf(text, sizeof text, "%s%s", done.changes, done.args);
	m = msg_new(MSG_MODE, r->name, by->nick, NULL, text);
	room_fanout(r, m);
	msg_unref(m);
	return CHAT_OK;
}

/* An operator puts who out of r; the members hear it before who goes. */
enum chat_result
room_kick(struct room *r, struct session *by, struct session *who,
    const char *reason)
{
	struct msg	*m;

	if (!by->oper && !session_in_room(by, r))
		return CHAT_NOT_IN_ROOM;
	if (!room_is_operator(r, by))
		return CHAT_NOT_OPERATOR;
	if (!session_in_room(who, r))
		return CHAT_NOT_MEMBER;
	m = msg_new(MSG_KICK, r->name, by->nick, who->nick,
	    reason != NULL && *reason != '\0' ? reason : by->nick);
	if (room_announced(r, who))
		room_fanout(r, m);
	else {	/* the room never saw who: only who and its kicker do */
		room_fanout_about(r, who, m);
		if (by != who)
			room_deliver_to(by, m);
	}
	msg_unref(m);
	room_leave(r, who);
	return CHAT_OK;
}

/*
 * The ring of r's invitations made, or made max-invites-per-room long after
 * a reload, keeping the latest: most rooms never invite, and pay nothing.
 */
static void
room_invites_resize(struct room *r)
{
	struct room_modes	*md = &r->modes;
	uint64_t		*ring;
	size_t			 i, n = md->invited_cap, keep;

	ring = xcalloc(room_max_invites, sizeof *ring);
	keep = n < room_max_invites ? n : room_max_invites;
	for (i = 0; i < keep; i++)	/* the newest, oldest first */
		ring[i] = md->invited[(md->invited_next + n - keep + i) % n];
	free(md->invited);
	host_hold(r->held_by, ((int64_t)room_max_invites - (int64_t)n) *
	    (int64_t)sizeof *ring);
	r->held += room_max_invites * sizeof *ring;
	r->held -= n * sizeof *ring;
	md->invited = ring;
	md->invited_cap = (uint32_t)room_max_invites;
	md->invited_next = (uint32_t)(keep % room_max_invites);
}

/*
 * A member invites who: it may then join once past +i, +k, +l and bans.
 * In a +i room only operators invite.  who hears it, and so do the room's
 * other operators (IRC's invite-notify); the inviter's client tells it in
 * its own words.
 */
enum chat_result
room_invite(struct room *r, struct session *by, struct session *who)
{
	struct msg	*m;
	size_t		 i;

	if (!by->oper && !session_in_room(by, r))
		return CHAT_NOT_IN_ROOM;
	if ((r->modes.flags & ROOM_INVITE_ONLY) && !room_is_operator(r, by))
		return CHAT_NOT_OPERATOR;
	if (session_in_room(who, r))
		return CHAT_ALREADY_MEMBER;
	if (r->modes.invited_cap != room_max_invites)
		room_invites_resize(r);
	if (!room_invited(r, who)) {
		r->modes.invited[r->modes.invited_next] = who->id;
		r->modes.invited_next = (r->modes.invited_next + 1) %
		    r->modes.invited_cap;
	}
	m = msg_new(MSG_INVITE, r->name, by->nick, who->nick, NULL);
	room_deliver_to(who, m);
	for (i = 0; i < r->nmembers; i++)
		if ((r->member_status[i] & ROOM_OPERATOR) &&
		    r->members[i] != by)
			room_deliver_to(r->members[i], m);
	msg_unref(m);
	return CHAT_OK;
}
