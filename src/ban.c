/*
 * Bans.  A ban names an IPv4 or IPv6 address, a CIDR block of either, or a
 * nick (without regard to case), optionally until a time.  The listeners
 * refuse a banned address at accept; the line protocol refuses a banned
 * nick.  The list is kept in memory, small and flat: expired bans are
 * dropped whenever the list is consulted, and its length is capped.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "name.h"
#include "session.h"
#include "xmalloc.h"

#define BAN_MAX		10000

static struct ban	**bans;
static size_t		  nbans;
static ban_observer_fn	 *ban_observer;

static struct ban	*ban_find(const struct ban *);

/* Tell the observer (the history writer) of each ban added or lifted. */
void
ban_observe(ban_observer_fn *fn)
{
	ban_observer = fn;
}

static void
ban_free(struct ban *b)
{
	free(b->reason);
	free(b);
}

static void
ban_remove(size_t i)
{
	ban_free(bans[i]);
	memmove(&bans[i], &bans[i + 1], (nbans - i - 1) * sizeof *bans);
	nbans--;
}

static void
ban_expire(void)
{
	time_t	now = time(NULL);
	size_t	i = 0;

	while (i < nbans) {
		if (bans[i]->expires != 0 && bans[i]->expires <= now)
			ban_remove(i);
		else
			i++;
	}
}

/* Parse an address without a prefix into family and addr; 0 on success. */
static int
ban_parse_address(const char *s, int *family, unsigned char *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, s, addr) == 1)
		*family = AF_INET6;
	else
		return -1;
	return 0;
}

/* Fill b from "ADDR", "ADDR/BITS" or "NICK"; the target comes out canonical. */
static int
ban_parse(const char *target, struct ban *b)
{
	char		 host[BAN_TARGET_MAX], *slash, *end;
	unsigned long	 bits;
	unsigned	 max, i;

	memset(b, 0, sizeof *b);
	if (name_nick_valid(target)) {
		strcpy(b->target, target);
		return 0;
	}
	if (strlen(target) >= sizeof host)
		return -1;
	strcpy(host, target);
	if ((slash = strchr(host, '/')) != NULL)
		*slash++ = '\0';
	if (ban_parse_address(host, &b->family, b->addr) == -1)
		return -1;
	max = b->family == AF_INET ? 32 : 128;
	b->prefix = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
		b->prefix = (unsigned)bits;
	}
	for (i = b->prefix; i < max; i++)	/* clear the host bits */
		b->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	inet_ntop(b->family, b->addr, b->target, sizeof b->target);
	if (b->prefix < max)
		snprintf(b->target + strlen(b->target),
		    sizeof b->target - strlen(b->target), "/%u", b->prefix);
	return 0;
}

static struct ban *
ban_find(const struct ban *key)
{
	size_t	i;

	for (i = 0; i < nbans; i++) {
		if (name_compare(bans[i]->target, key->target) == 0)
			return bans[i];
	}
	return NULL;
}

/*
 * Ban target for duration seconds (0: for good); banning it again replaces
 * the duration and reason.  On error returns -1 and the reason in *cause.
 */
int
ban_add(const char *target, time_t duration, const char *reason,
    const struct ban **out, char **cause)
{
	struct ban	key, *b;

	ban_expire();
	if (ban_parse(target, &key) == -1) {
		xasprintf(cause, "\"%s\" is not an address, a CIDR block or "
		    "a nick", target);
		return -1;
	}
	if ((b = ban_find(&key)) == NULL) {
		if (nbans == BAN_MAX) {
			xasprintf(cause, "the ban list is full (%d bans)",
			    BAN_MAX);
			return -1;
		}
		b = xmalloc(sizeof *b);
		*b = key;
		bans = xreallocarray(bans, nbans + 1, sizeof *bans);
		bans[nbans++] = b;
	}
	free(b->reason);
	b->reason = xstrdup(reason);
	b->added = time(NULL);
	b->expires = duration > 0 ? b->added + duration : 0;
	*out = b;
	if (ban_observer != NULL)
		ban_observer(b, 0);
	return 0;
}

/* At start: a ban as the database kept it, unless it has expired. */
int
ban_restore(const char *target, time_t added, time_t expires,
    const char *reason)
{
	ban_observer_fn		*observer = ban_observer;
	const struct ban	*b;
	struct ban		*own;
	char			*cause;
	int			 rc;

	if (expires != 0 && expires <= time(NULL))
		return -1;
	ban_observer = NULL;	/* it is kept already */
	rc = ban_add(target, 0, reason, &b, &cause);
	ban_observer = observer;
	if (rc == -1) {
		free(cause);
		return -1;
	}
	own = ban_find(b);
	own->added = added;
	own->expires = expires;
	return 0;
}

/* Lift the ban on target, written as when it was added; -1 if none. */
int
ban_del(const char *target)
{
	struct ban	 key;
	size_t		 i;

	ban_expire();
	if (ban_parse(target, &key) == -1)
		return -1;
	for (i = 0; i < nbans; i++) {
		if (name_compare(bans[i]->target, key.target) == 0) {
			if (ban_observer != NULL)
				ban_observer(bans[i], 1);
			ban_remove(i);
			return 0;
		}
	}
	return -1;
}

static int
ban_covers_address(const struct ban *b, int family,
    const unsigned char *addr)
{
	unsigned	full = b->prefix / 8, rest = b->prefix % 8;
	unsigned char	mask = (unsigned char)(0xff00u >> rest);

	if (b->family != family || memcmp(b->addr, addr, full) != 0)
		return 0;
	return rest == 0 || (addr[full] & mask) == b->addr[full];
}

/* Whether b covers a client at family/addr (family 0: unknown) or nick. */
static int
ban_applies(const struct ban *b, int family, const unsigned char *addr,
    const char *nick)
{
	if (b->family == 0)
		return nick != NULL && name_compare(b->target, nick) == 0;
	return family != 0 && ban_covers_address(b, family, addr);
}

/* Whether b covers a client at address (may be NULL) named nick (ditto). */
int
ban_covers(const struct ban *b, const char *address, const char *nick)
{
	unsigned char	addr[16];
	int		family = 0;

	if (address != NULL &&
	    ban_parse_address(address, &family, addr) == -1)
		family = 0;
	return ban_applies(b, family, addr, nick);
}

/* The ban that covers address or nick (either may be NULL), or NULL. */
const struct ban *
ban_match(const char *address, const char *nick)
{
	unsigned char	addr[16];
	int		family = 0;
	size_t		i;

	ban_expire();
	if (address != NULL &&
	    ban_parse_address(address, &family, addr) == -1)
		family = 0;
	for (i = 0; i < nbans; i++) {
		if (ban_applies(bans[i], family, addr, nick))
			return bans[i];
	}
	return NULL;
}

size_t
ban_count(void)
{
	ban_expire();
	return nbans;
}

/* Visit every ban in force; cb must not add or remove bans. */
void
ban_foreach(void (*cb)(const struct ban *, void *), void *arg)
{
	size_t	i;

	ban_expire();
	for (i = 0; i < nbans; i++)
		cb(bans[i], arg);
}

void
ban_free_all(void)
{
	while (nbans > 0)
		ban_free(bans[--nbans]);
	free(bans);
	bans = NULL;
}

/* Whether nick is banned: for session_new, so no guest gets such a nick. */
int
ban_nick_refused(const char *nick)
{
	return ban_match(NULL, nick) != NULL;
}
