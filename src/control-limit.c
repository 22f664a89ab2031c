/*
 * What the read-only socket's users may cost.  Anyone may connect to it,
 * and an answer such as clients costs the daemon in proportion to its rows,
 * so each uid has a token bucket of rows: it fills at control-readonly-rate
 * rows a second up to that many, a connection costs LIMIT_REQUEST_COST, and
 * every row of an answer one more as it is produced (a big answer may take
 * the bucket below zero).  A uid whose bucket is below zero is refused at
 * accept until it has refilled, so however many loops it runs it gets about
 * control-readonly-rate rows a second, and the chat keeps its CPU.
 *
 * Refusals themselves are paced by the socket (control_socket_refused).
 *
 * The table is bounded: a full bucket is as good as none, so its place is
 * given to the next uid; only when every place holds a uid still paying
 * for its last answers is a new uid refused.
 */
#include <stdint.h>

#include "config.h"
#include "control-cmd.h"
#include "log.h"

#define LIMIT_UIDS		256
#define LIMIT_REQUEST_COST	20	/* rows' worth: accept, parse, log */
#define LIMIT_REFILL_MAX_MS	(1000 * 1000)	/* then it is full anyway */

struct limit_bucket {
	uid_t		uid;
	unsigned	used:1;
	unsigned	refused:1;	/* since the last admission: logged */
	int64_t		tokens;		/* thousandths of rows */
	uint64_t	refilled_ms;
};

static struct limit_bucket	limit_buckets[LIMIT_UIDS];

/* Rows a second, which is also the bucket's size in rows. */
static int64_t
limit_rate(void)
{
	return (int64_t)control_config()->control_readonly_rate;
}

/* What b gained since last looked at: RATE rows a second is RATE
 * thousandths of a row a millisecond. */
static void
limit_refill(struct limit_bucket *b, uint64_t now)
{
	int64_t		full = limit_rate() * 1000;
	uint64_t	elapsed = now - b->refilled_ms;

	if (elapsed > LIMIT_REFILL_MAX_MS || b->tokens + (int64_t)elapsed *
	    limit_rate() > full)
		b->tokens = full;
	else
		b->tokens += (int64_t)elapsed * limit_rate();
	b->refilled_ms = now;
}

/* uid's bucket, refilled; a new one if there is a place; else NULL. */
static struct limit_bucket *
limit_find(uid_t uid)
{
	struct limit_bucket	*b, *place = NULL;
	uint64_t		 now = control_now_ms();
	int64_t			 full = limit_rate() * 1000;

	for (b = limit_buckets; b < limit_buckets + LIMIT_UIDS; b++) {
		if (!b->used) {
			if (place == NULL)
				place = b;
			continue;
		}
		limit_refill(b, now);
		if (b->uid == uid)
			return b;
		if (place == NULL && b->tokens == full)
			place = b;
	}
	if (place != NULL) {
		place->used = 1;
		place->refused = 0;
		place->uid = uid;
		place->tokens = full;
		place->refilled_ms = now;
	}
	return place;
}

/* May uid ask now?  If not, -1 and in *retry when to try again (s). */
int
control_limit_admit(uid_t uid, time_t *retry)
{
	struct limit_bucket	*b = limit_find(uid);
	int64_t			 per_second = limit_rate() * 1000;

	if (b == NULL) {
		*retry = 1;
		log_info("control: refused uid %u: %d users are paying for "
		    "their answers", (unsigned)uid, LIMIT_UIDS);
		return -1;
	}
	if (b->tokens < 0) {
		*retry = (time_t)((-b->tokens + per_second - 1) / per_second);
		if (!b->refused)
			log_notice("control: uid %u is over its read-only "
			    "budget (%lld rows a second): refused for %lld s",
			    (unsigned)uid, (long long)limit_rate(),
			    (long long)*retry);
		b->refused = 1;
		return -1;
	}
	b->refused = 0;
	b->tokens -= LIMIT_REQUEST_COST * 1000;
	return 0;
}

/* uid was sent rows more rows. */
void
control_limit_charge(uid_t uid, size_t rows)
{
	struct limit_bucket	*b;

	if (rows > 0 && (b = limit_find(uid)) != NULL)
		b->tokens -= (int64_t)rows * 1000;
}
