/*
 * Token buckets with debt (bucket.h): the flood control of a client, of an
 * address, and of the connections an address may open.  A rate of 0 means
 * no limit: such a bucket is always ready and never waits.
 */
#include <time.h>

#include "bucket.h"

uint64_t
bucket_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Start full. */
void
bucket_fill(struct bucket *b, uint64_t burst, uint64_t now_us)
{
	b->level = (int64_t)(burst * BUCKET_TOKEN);
	b->refilled_us = now_us;
}

/*
 * Add what the time since the last refill earned.  Only the time that
 * earned whole thousandths is used up: a bucket consulted for every line
 * would otherwise lose the fractions, and at a low rate never refill.
 */
static void
bucket_refill(struct bucket *b, uint64_t rate, uint64_t burst,
    uint64_t now_us)
{
	int64_t		cap = (int64_t)(burst * BUCKET_TOKEN);
	uint64_t	elapsed, gain;

	if (now_us <= b->refilled_us)
		return;
	elapsed = now_us - b->refilled_us;
	if (elapsed > 3600ull * 1000000) {	/* long idle: full anyway */
		b->level = cap;
		b->refilled_us = now_us;
		return;
	}
	/* rate tokens a second: rate thousandths a millisecond */
	if ((gain = elapsed * rate / 1000) == 0)
		return;
	b->level += (int64_t)gain;
	b->refilled_us += gain * 1000 / rate;
	if (b->level >= cap) {
		b->level = cap;
		b->refilled_us = now_us;
	}
}

/* Whether the bucket holds a whole token now. */
int
bucket_ready(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_us)
{
	if (rate == 0)
		return 1;
	bucket_refill(b, rate, burst, now_us);
	return b->level >= BUCKET_TOKEN;
}

/* Take cost (thousandths), going into debt if need be. */
void
bucket_charge(struct bucket *b, uint64_t cost)
{
	if (cost > INT64_MAX / 2)
		cost = INT64_MAX / 2;
	b->level -= (int64_t)cost;
	if (b->level < INT64_MIN / 2)
		b->level = INT64_MIN / 2;
}

/* Whether the bucket is full: nothing to remember about its owner. */
int
bucket_full(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now_us)
{
	if (rate == 0)
		return 1;
	bucket_refill(b, rate, burst, now_us);
	return b->level >= (int64_t)(burst * BUCKET_TOKEN);
}

/* Microseconds until the bucket holds a whole token (0: it does). */
uint64_t
bucket_wait_us(const struct bucket *b, uint64_t rate)
{
	uint64_t	missing;

	if (rate == 0 || b->level >= BUCKET_TOKEN)
		return 0;
	missing = (uint64_t)(BUCKET_TOKEN - b->level);
	return (missing * 1000 + rate - 1) / rate;
}

/* A smaller burst after a reload: no more than a full bucket of it. */
void
bucket_clamp(struct bucket *b, uint64_t burst)
{
	if (b->level > (int64_t)(burst * BUCKET_TOKEN))
		b->level = (int64_t)(burst * BUCKET_TOKEN);
}
