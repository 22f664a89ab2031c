/*
 * The Prometheus registry: fixed-bucket histograms, errors by code, and
 * the text of metric families in the Prometheus 0.0.4 and OpenMetrics
 * 1.0 formats.  What chatd reports is metrics-report.c's, how it is
 * served metrics-http.c's.
 */
#ifndef CHATD_METRICS_H
#define CHATD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum metrics_format {
	METRICS_PROMETHEUS,	/* text/plain; version=0.0.4 */
	METRICS_OPENMETRICS,	/* application/openmetrics-text 1.0.0 */
};

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

#define METRICS_BOUNDS_MAX	20

/*
 * Counts in fixed buckets, kept as integers in the unit the caller
 * observes in (microseconds, recipients, bytes); scale of them make one
 * of the base unit it is reported in (1000000 for seconds from
 * microseconds), a power of ten.  Recording is a short scan and two
 * additions, no allocation.
 */
struct histogram {
	const uint64_t	*bounds;	/* ascending, METRICS_BOUNDS_MAX at most */
	size_t		 nbounds;
	uint64_t	 scale;
	uint64_t	 counts[METRICS_BOUNDS_MAX + 1]; /* last: above all */
	uint64_t	 sum;
};

#define METRICS_HISTOGRAM_INIT(b, s) \
	{ (b), sizeof (b) / sizeof (b)[0], (s), { 0 }, 0 }

/* Where a rendering goes, and in which format. */
struct metrics_out {
	struct evbuffer		*buf;
	enum metrics_format	 format;
};

/* The histograms chatd keeps (chatd(8) METRICS). */
extern struct histogram	metrics_delivery_seconds;
extern struct histogram	metrics_fanout_recipients;
extern struct histogram	metrics_sendq_flush_bytes;

void	metrics_observe(struct histogram *, uint64_t);
enum metrics_format metrics_negotiate(const char *accept);
void	metrics_family(struct metrics_out *, const char *name,
	    enum metrics_type, const char *help);
void	metrics_sample(struct metrics_out *, const char *name,
	    enum metrics_type, const char *labels, uint64_t);
void	metrics_histogram(struct metrics_out *, const char *name,
	    const char *help, const struct histogram *);
void	metrics_end(struct metrics_out *);
void	metrics_count_error(const char *protocol, const char *code);
void	metrics_errors(struct metrics_out *);

#endif
