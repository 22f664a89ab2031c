/*
 * Unit tests for metrics.c: histogram bucketing, the text of families in
 * both formats (names, cumulative buckets, exact scaled numbers), Accept
 * negotiation, and errors counted by protocol and code.  No sockets: the
 * text is rendered into an evbuffer and compared.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics.h"
#include "stats.h"

static const uint64_t test_bounds[] = { 10, 100, 1000 };

/* The text rendered so far, NUL-terminated; the caller frees it. */
static char *
test_text(struct evbuffer *buf)
{
	size_t	 len = evbuffer_get_length(buf);
	char	*s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	return s;
}

static void
test_observe_buckets_by_upper_bound(void **state)
{
	struct histogram	h = METRICS_HISTOGRAM_INIT(test_bounds, 1);

	(void)state;
	metrics_observe(&h, 0);
	metrics_observe(&h, 10);	/* a bound is in its own bucket */
	metrics_observe(&h, 11);
	metrics_observe(&h, 1000);
	metrics_observe(&h, 1001);	/* above every bound */
	metrics_observe(&h, UINT64_MAX / 2);
	assert_int_equal(h.counts[0], 2);
	assert_int_equal(h.counts[1], 1);
	assert_int_equal(h.counts[2], 1);
	assert_int_equal(h.counts[3], 2);
	assert_true(h.sum == 0 + 10 + 11 + 1000 + 1001 + UINT64_MAX / 2);
}

static void
test_histogram_text_is_cumulative_and_scaled(void **state)
{
	static const uint64_t	 us[] = { 250, 1000, 2500000 };
	struct histogram	 h = METRICS_HISTOGRAM_INIT(us, 1000000);
	struct metrics_out	 o = { evbuffer_new(), METRICS_PROMETHEUS };
	char			*s;

	(void)state;
	metrics_observe(&h, 100);
	metrics_observe(&h, 900);
	metrics_observe(&h, 3000000);
	metrics_histogram(&o, "t_seconds", "Help.", &h);
	s = test_text(o.buf);
	assert_string_equal(s,
	    "# HELP t_seconds Help.\n"
	    "# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{le=\"0.00025\"} 1\n"
	    "t_seconds_bucket{le=\"0.001\"} 2\n"
	    "t_seconds_bucket{le=\"2.5\"} 2\n"
	    "t_seconds_bucket{le=\"+Inf\"} 3\n"
	    "t_seconds_sum 3.001\n"
	    "t_seconds_count 3\n");
	free(s);
	evbuffer_free(o.buf);
}

static void
test_empty_histogram_has_every_bucket(void **state)
{
	struct histogram	 h = METRICS_HISTOGRAM_INIT(test_bounds, 1);
	struct metrics_out	 o = { evbuffer_new(), METRICS_OPENMETRICS };
	char			*s;

	(void)state;
	metrics_histogram(&o, "t", "Help.", &h);
	s = test_text(o.buf);
	assert_non_null(strstr(s, "t_bucket{le=\"10\"} 0\n"
	    "t_bucket{le=\"100\"} 0\nt_bucket{le=\"1000\"} 0\n"
	    "t_bucket{le=\"+Inf\"} 0\nt_sum 0\nt_count 0\n"));
	free(s);
	evbuffer_free(o.buf);
}

/* OpenMetrics names a counter family without "_total"; 0.0.4 with it. */
static void
test_counter_names_per_format(void **state)
{
	struct metrics_out	 p = { evbuffer_new(), METRICS_PROMETHEUS };
	struct metrics_out	 om = { evbuffer_new(), METRICS_OPENMETRICS };
	char			*s;

	(void)state;
	metrics_family(&p, "c", METRICS_COUNTER, "Help.");
	metrics_sample(&p, "c", METRICS_COUNTER, "k=\"v\"", 7);
	metrics_end(&p);
	s = test_text(p.buf);
	assert_string_equal(s, "# HELP c_total Help.\n# TYPE c_total counter\n"
	    "c_total{k=\"v\"} 7\n");
	free(s);
	metrics_family(&om, "c", METRICS_COUNTER, "Help.");
	metrics_sample(&om, "c", METRICS_COUNTER, "", 7);
	metrics_family(&om, "g", METRICS_GAUGE, "Help.");
	metrics_sample(&om, "g", METRICS_GAUGE, "", 3);
	metrics_end(&om);
	s = test_text(om.buf);
	assert_string_equal(s, "# HELP c Help.\n# TYPE c counter\n"
	    "c_total 7\n# HELP g Help.\n# TYPE g gauge\ng 3\n# EOF\n");
	free(s);
	evbuffer_free(p.buf);
	evbuffer_free(om.buf);
}

static void
test_negotiate(void **state)
{
	(void)state;
	assert_int_equal(metrics_negotiate(NULL), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate(""), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("*/*"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("text/plain;version=0.0.4"),
	    METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text"),
	    METRICS_OPENMETRICS);
	/* what Prometheus 2.x sends */
	assert_int_equal(metrics_negotiate("application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), METRICS_OPENMETRICS);
	assert_int_equal(metrics_negotiate("text/plain;q=0.9, "
	    "application/openmetrics-text; version=1.0.0; q=0.5"),
	    METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text;"
	    "version=0.0.1"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text;"
	    "q=0"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("Application/OpenMetrics-Text ;"
	    "q=1"), METRICS_OPENMETRICS);
}

static void
test_errors_by_protocol_and_code(void **state)
{
	static const char	 line[] = "line", irc[] = "irc";
	struct metrics_out	 o = { evbuffer_new(), METRICS_PROMETHEUS };
	char			*s;

	(void)state;
	metrics_count_error(line, "no-such-room");
	metrics_count_error(line, "no-such-room");
	metrics_count_error(irc, "403");
	metrics_count_error(irc, "bad\"code");	/* not a label: "other" */
	assert_int_equal(stats.errors_sent, 4);
	metrics_errors(&o);
	s = test_text(o.buf);
	assert_non_null(strstr(s, "\nchatd_errors_sent_total{protocol=\"line\","
	    "code=\"no-such-room\"} 2\n"));
	assert_non_null(strstr(s, "\nchatd_errors_sent_total{protocol=\"irc\","
	    "code=\"403\"} 1\n"));
	assert_non_null(strstr(s, "\nchatd_errors_sent_total{protocol=\"irc\","
	    "code=\"other\"} 1\n"));
	assert_null(strstr(s, "bad"));
	free(s);
	evbuffer_free(o.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observe_buckets_by_upper_bound),
		cmocka_unit_test(test_histogram_text_is_cumulative_and_scaled),
		cmocka_unit_test(test_empty_histogram_has_every_bucket),
		cmocka_unit_test(test_counter_names_per_format),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_errors_by_protocol_and_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
