/* Token buckets that may go into debt, in thousandths of a token. */
#ifndef CHATD_BUCKET_H
#define CHATD_BUCKET_H

#include <stdint.h>

#define BUCKET_TOKEN	1000	/* one token, in the bucket's units */

/*
 * A bucket refills at rate tokens a second up to burst tokens.  Work is
 * admitted while it holds a whole token and charged after it is done, at
 * what it really cost: a bucket may go negative, and then admits nothing
 * until the debt is paid back.  So a cost need not be known in advance,
 * and no cost is too big to ever pass.
 */
struct bucket {
	int64_t		level;		/* thousandths of a token */
	uint64_t	refilled_us;	/* monotonic time of the last refill */
};

uint64_t	bucket_now_us(void);
void		bucket_fill(struct bucket *, uint64_t burst, uint64_t now_us);
int		bucket_ready(struct bucket *, uint64_t rate, uint64_t burst,
		    uint64_t now_us);
void		bucket_charge(struct bucket *, uint64_t cost);
int		bucket_full(struct bucket *, uint64_t rate, uint64_t burst,
		    uint64_t now_us);
uint64_t	bucket_wait_us(const struct bucket *, uint64_t rate);
void		bucket_clamp(struct bucket *, uint64_t burst);

#endif
