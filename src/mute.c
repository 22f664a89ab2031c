/*
 * Server mutes (chatctl mute), held against a nick: the client that has
 * the nick is silenced at once (session->muted), and so is whoever takes
 * it later (session_set_nick asks mute_find), a reconnect as much as a
 * client after a restart, when the database keeps the list; a muted
 * client that changes nick has its mute held against the new one too.  A
 * mute ends at its expiry or when lifted.
 *
 * A nick is no proof of who someone is (chatd has no accounts): one who
 * takes a muted nick is muted too.  That is only ever a restriction, the
 * same trust nick bans (ban.c) put in a nick, never a power.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mute.h"
#include "name.h"
#include "xmalloc.h"

static struct mute	*mutes;
static size_t		 nmutes;
static mute_observer_fn	*mute_observer;

/* Tell the observer (the history writer) of each mute set or lifted. */
void
mute_observe(mute_observer_fn *fn)
{
	mute_observer = fn;
}

static void
mute_remove(size_t i)
{
	memmove(&mutes[i], &mutes[i + 1], (nmutes - i - 1) * sizeof *mutes);
	nmutes--;
}

/* Expired mutes go quietly: the database forgets them at the next start. */
static void
mute_expire(void)
{
	time_t	now = time(NULL);
	size_t	i = 0;

	while (i < nmutes) {
		if (mutes[i].expires != 0 && mutes[i].expires <= now)
			mute_remove(i);
		else
			i++;
	}
}

static size_t
mute_index(const char *nick)
{
	size_t	i;

	for (i = 0; i < nmutes; i++)
		if (name_compare(mutes[i].nick, nick) == 0)
			break;
	return i;
}

static struct mute *
mute_set(const char *nick, time_t added, time_t expires)
{
	size_t	i;

	mute_expire();
	if ((i = mute_index(nick)) == nmutes) {
		mutes = xreallocarray(mutes, nmutes + 1, sizeof *mutes);
		nmutes++;
	}
	snprintf(mutes[i].nick, sizeof mutes[i].nick, "%s", nick);
	mutes[i].added = added;
	mutes[i].expires = expires;
	return &mutes[i];
}

/* Mute nick until expires (0: until lifted); an older mute is replaced. */
void
mute_add(const char *nick, time_t expires)
{
	struct mute	*m = mute_set(nick, time(NULL), expires);

	if (mute_observer != NULL)
		mute_observer(m, 0);
}

/* Lift nick's mute, its nick as it was set in buf; -1 if it had none. */
int
mute_del(const char *nick, char *buf, size_t len)
{
	size_t	i;

	mute_expire();
	if ((i = mute_index(nick)) == nmutes)
		return -1;
	if (buf != NULL)
		snprintf(buf, len, "%s", mutes[i].nick);
	if (mute_observer != NULL)
		mute_observer(&mutes[i], 1);
	mute_remove(i);
	return 0;
}

/* At start: a mute as the database kept it, unless it has expired. */
int
mute_restore(const char *nick, time_t added, time_t expires)
{
	if (!name_nick_valid(nick) || (expires != 0 && expires <= time(NULL)))
		return -1;
	mute_set(nick, added, expires);
	return 0;
}

/* Is nick muted now?  Then *expires is when it ends (0: never). */
int
mute_find(const char *nick, time_t *expires)
{
	size_t	i;

	mute_expire();
	if ((i = mute_index(nick)) == nmutes)
		return 0;
	*expires = mutes[i].expires;
	return 1;
}

/* Does a mute until a end later than one until b?  0 is never. */
int
mute_later(time_t a, time_t b)
{
	return b != 0 && (a == 0 || a > b);
}

/* Each mute in force, in the order they were first set. */
void
mute_foreach(void (*cb)(const struct mute *, void *), void *arg)
{
	size_t	i;

	mute_expire();
	for (i = 0; i < nmutes; i++)
		cb(&mutes[i], arg);
}

void
mute_free_all(void)
{
	free(mutes);
	mutes = NULL;
	nmutes = 0;
}
