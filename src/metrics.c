/*
 * The Prometheus registry: histograms with fixed buckets, the count of
 * errors sent by protocol and code, and the text of metric families.
 * The two formats differ in little: OpenMetrics names a counter family
 * without its "_total" (its samples keep it) and ends with "# EOF".
 * Numbers are written from integers, so a scaled value (seconds from
 * microseconds) is exact and no float is formatted.
 */
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "stats.h"

/* Errors sent, by protocol and code: codes are the daemon's own words. */
#define METRICS_CODES_MAX	96
#define METRICS_CODE_LEN	32

static const uint64_t delivery_bounds_us[] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
static const uint64_t fanout_bounds[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
	50000,
};
static const uint64_t sendq_bounds[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
	16777216,
};

_Static_assert(sizeof delivery_bounds_us / sizeof (uint64_t) <=
    METRICS_BOUNDS_MAX && sizeof fanout_bounds / sizeof (uint64_t) <=
    METRICS_BOUNDS_MAX && sizeof sendq_bounds / sizeof (uint64_t) <=
    METRICS_BOUNDS_MAX, "more bounds than a histogram has buckets");

struct histogram metrics_delivery_seconds =
    METRICS_HISTOGRAM_INIT(delivery_bounds_us, 1000000);
struct histogram metrics_fanout_recipients =
    METRICS_HISTOGRAM_INIT(fanout_bounds, 1);
struct histogram metrics_sendq_flush_bytes =
    METRICS_HISTOGRAM_INIT(sendq_bounds, 1);

static struct {
	const char	*protocol;	/* a protocol's static name */
	char		 code[METRICS_CODE_LEN];
	uint64_t	 count;
}		 metrics_codes[METRICS_CODES_MAX];
static size_t	 metrics_ncodes;
static uint64_t	 metrics_codes_overflow;	/* past the table's end */

/* Most observations fall in the first buckets: scan from the bottom. */
void
metrics_observe(struct histogram *h, uint64_t v)
{
	size_t	i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
}

/* The q of one media range's parameters ("; q=0.5"): 1 if none. */
static double
metrics_quality(const char *params, size_t len)
{
	const char	*p = params, *end = params + len;
	double		 q;

	while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		p += strspn(p + 1, " \t") + 1;
		if (end - p > 2 && strncasecmp(p, "q=", 2) == 0) {
			q = strtod(p + 2, NULL);
			return q > 0 && q <= 1 ? q : 0;
		}
	}
	return 1;
}

/*
 * The format an Accept header asks for: OpenMetrics 1.0 if it ranks
 * application/openmetrics-text (without a version, or version 1.0.0) at
 * least as high as the text format, and above zero; else the text format,
 * which is also what no Accept gets.
 */
enum metrics_format
metrics_negotiate(const char *accept)
{
	static const char	 om[] = "application/openmetrics-text";
	const char		*p = accept, *end, *params, *v;
	double			 q, om_q = 0, text_q = 0;
	size_t			 len, tlen;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		len = strcspn(p, ",");
		tlen = strcspn(p, ";,");
		params = p + tlen;
		end = p + len;
		while (tlen > 0 && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
			tlen--;
		q = metrics_quality(params, (size_t)(end - params));
		if (tlen == sizeof om - 1 && strncasecmp(p, om, tlen) == 0) {
			v = strstr(params, "version=");
			if (v == NULL || v >= end ||
			    strncmp(v + 8, "1.0.0", 5) == 0)
				om_q = q > om_q ? q : om_q;
		} else if ((tlen == 10 && strncasecmp(p, "text/plain", 10) == 0)
		    || (tlen == 6 && strncasecmp(p, "text/*", 6) == 0) ||
		    (tlen == 3 && strncmp(p, "*/*", 3) == 0))
			text_q = q > text_q ? q : text_q;
		p = end;
	}
	return om_q > 0 && om_q >= text_q ? METRICS_OPENMETRICS :
	    METRICS_PROMETHEUS;
}

/* v / scale in decimal, without trailing zeros ("0.00025", "2.5", "3"). */
static void
metrics_number(struct evbuffer *buf, uint64_t v, uint64_t scale)
{
	char		frac[24];
	uint64_t	f = v % scale, digits = 0, s;
	int		n;

	if (scale == 1 || f == 0) {
		evbuffer_add_printf(buf, "%" PRIu64, v / scale);
		return;
	}
	for (s = scale; s > 1; s /= 10)
		digits++;
	n = snprintf(frac, sizeof frac, "%0*" PRIu64, (int)digits, f);
	while (n > 0 && frac[n - 1] == '0')
		n--;
	evbuffer_add_printf(buf, "%" PRIu64 ".%.*s", v / scale, n, frac);
}

/* The HELP and TYPE lines of a family (name without "_total"). */
void
metrics_family(struct metrics_out *o, const char *name, enum metrics_type t,
    const char *help)
{
	static const char *const types[] = {
		[METRICS_COUNTER] = "counter",
		[METRICS_GAUGE] = "gauge",
		[METRICS_HISTOGRAM] = "histogram",
	};
	const char	*suffix = t == METRICS_COUNTER &&
			    o->format == METRICS_PROMETHEUS ? "_total" : "";

	evbuffer_add_printf(o->buf, "# HELP %s%s %s\n# TYPE %s%s %s\n",
	    name, suffix, help, name, suffix, types[t]);
}

/* One sample; labels is "" or label="value" pairs, comma-separated. */
void
metrics_sample(struct metrics_out *o, const char *name, enum metrics_type t,
    const char *labels, uint64_t v)
{
	evbuffer_add_printf(o->buf, "%s%s%s%s%s %" PRIu64 "\n", name,
	    t == METRICS_COUNTER ? "_total" : "", *labels != '\0' ? "{" : "",
	    labels, *labels != '\0' ? "}" : "", v);
}

/* A whole histogram family: cumulative buckets, +Inf, sum and count. */
void
metrics_histogram(struct metrics_out *o, const char *name, const char *help,
    const struct histogram *h)
{
	uint64_t	total = 0;
	size_t		i;

	metrics_family(o, name, METRICS_HISTOGRAM, help);
	for (i = 0; i < h->nbounds; i++) {
		total += h->counts[i];
		evbuffer_add_printf(o->buf, "%s_bucket{le=\"", name);
		metrics_number(o->buf, h->bounds[i], h->scale);
		evbuffer_add_printf(o->buf, "\"} %" PRIu64 "\n", total);
	}
	total += h->counts[h->nbounds];
	evbuffer_add_printf(o->buf, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "%s_sum ", name, total, name);
	metrics_number(o->buf, h->sum, h->scale);
	evbuffer_add_printf(o->buf, "\n%s_count %" PRIu64 "\n", name, total);
}

void
metrics_end(struct metrics_out *o)
{
	if (o->format == METRICS_OPENMETRICS)
		evbuffer_add_printf(o->buf, "# EOF\n");
}

/*
 * An error went to a client.  Codes come from the daemon's own tables,
 * so there are few; one that does not fit a label counts as "other",
 * and any past the table's end as protocol "other" too.
 */
void
metrics_count_error(const char *protocol, const char *code)
{
	size_t	i, len = strlen(code);

	stats.errors_sent++;
	if (len == 0 || len >= METRICS_CODE_LEN || strspn(code,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
	    != len)
		code = "other";
	for (i = 0; i < metrics_ncodes; i++) {
		if (metrics_codes[i].protocol == protocol &&
		    strcmp(metrics_codes[i].code, code) == 0)
			break;
	}
	if (i == metrics_ncodes) {
		if (metrics_ncodes == METRICS_CODES_MAX) {
			metrics_codes_overflow++;
			return;
		}
		metrics_codes[i].protocol = protocol;
		strcpy(metrics_codes[i].code, code);
		metrics_ncodes++;
	}
	metrics_codes[i].count++;
}

void
metrics_errors(struct metrics_out *o)
{
	char	labels[64 + METRICS_CODE_LEN];
	size_t	i;

	metrics_family(o, "chatd_errors_sent", METRICS_COUNTER,
	    "Error replies sent to clients, by protocol and error code.");
	for (i = 0; i < metrics_ncodes; i++) {
		snprintf(labels, sizeof labels, "protocol=\"%s\",code=\"%s\"",
		    metrics_codes[i].protocol, metrics_codes[i].code);
		metrics_sample(o, "chatd_errors_sent", METRICS_COUNTER, labels,
		    metrics_codes[i].count);
	}
	if (metrics_codes_overflow > 0)
		metrics_sample(o, "chatd_errors_sent", METRICS_COUNTER,
		    "protocol=\"other\",code=\"other\"",
		    metrics_codes_overflow);
}
