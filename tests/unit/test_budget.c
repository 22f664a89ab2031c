/*
 * Unit tests for bucket.c (token buckets with debt) and host.c (hosts:
 * IPv6 prefixes, the connection and connect-rate limits, the flood bucket
 * shared by a host's connections, and the bytes held against a host's
 * share and the daemon's budget).  No sockets: addresses are built by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "bucket.h"
#include "config.h"
#include "host.h"

#define SECOND	1000000ull

static void
test_bucket_refills_up_to_its_burst(void **state)
{
	struct bucket	b;

	(void)state;
	bucket_fill(&b, 3, 0);
	assert_true(bucket_ready(&b, 10, 3, 0));
	bucket_charge(&b, 3 * BUCKET_TOKEN);
	assert_false(bucket_ready(&b, 10, 3, 0));
	assert_int_equal(bucket_wait_us(&b, 10), 100000);	/* 1 of 10/s */
	assert_false(bucket_ready(&b, 10, 3, 99999));
	assert_true(bucket_ready(&b, 10, 3, 100000));
	/* asked every 10 us, it still refills: no fraction is lost */
	bucket_charge(&b, BUCKET_TOKEN);
	for (uint64_t t = 100010; t < 200000; t += 10)
		assert_false(bucket_ready(&b, 10, 3, t));
	assert_true(bucket_ready(&b, 10, 3, 200000));
	/* a long pause fills it to the burst, not beyond */
	assert_true(bucket_full(&b, 10, 3, 3600 * SECOND));
	assert_int_equal(b.level, 3 * BUCKET_TOKEN);
}

static void
test_bucket_debt_is_paid_back_before_the_next_line(void **state)
{
	struct bucket	b;

	(void)state;
	bucket_fill(&b, 20, 0);
	bucket_charge(&b, 50 * BUCKET_TOKEN);		/* a costly line */
	assert_int_equal(b.level, -30 * BUCKET_TOKEN);
	/* 31 tokens at 10 a second: 3.1 s until one whole token */
	assert_int_equal(bucket_wait_us(&b, 10), 3100000);
	assert_false(bucket_ready(&b, 10, 20, 3 * SECOND));
	assert_true(bucket_ready(&b, 10, 20, 3100000));
}

static void
test_bucket_rate_zero_never_limits(void **state)
{
	struct bucket	b;

	(void)state;
	bucket_fill(&b, 1, 0);
	bucket_charge(&b, 1000 * BUCKET_TOKEN);
	assert_true(bucket_ready(&b, 0, 1, 0));
	assert_int_equal(bucket_wait_us(&b, 0), 0);
}

static void
test_bucket_clamp_to_a_smaller_burst(void **state)
{
	struct bucket	b;

	(void)state;
	bucket_fill(&b, 20, 0);
	bucket_clamp(&b, 5);
	assert_int_equal(b.level, 5 * BUCKET_TOKEN);
	bucket_charge(&b, 10 * BUCKET_TOKEN);
	bucket_clamp(&b, 5);				/* debt stays */
	assert_int_equal(b.level, -5 * BUCKET_TOKEN);
}

/* ---- hosts ---- */

static struct config	*config;

static int
setup(void **state)
{
	char	*cause;

	(void)state;
	if ((config = config_load(NULL, NULL, &cause)) == NULL)
		return -1;
	host_configure(config);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	host_free_all();
	config_free(config);
	return budget_held() == 0 ? 0 : -1;
}

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct host *
host_of(const char *text)
{
	struct sockaddr_storage	ss = addr(text);

	return host_get((struct sockaddr *)&ss);
}

static void
test_host_ipv6_prefix_groups_addresses(void **state)
{
	struct host	*a, *b, *c;

	(void)state;
	a = host_of("2001:db8:1:2::1");
	b = host_of("2001:db8:1:2:ffff::9");
	c = host_of("2001:db8:1:3::1");
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_string_equal(host_name(a), "2001:db8:1:2::/64");
	assert_ptr_not_equal(host_of("192.0.2.1"), host_of("192.0.2.2"));
	assert_string_equal(host_name(host_of("192.0.2.1")), "192.0.2.1");
}

static void
test_host_ipv6_prefix_128_is_one_address(void **state)
{
	(void)state;
	config->ipv6_prefix = 128;
	assert_ptr_not_equal(host_of("2001:db8::1"), host_of("2001:db8::2"));
	assert_string_equal(host_name(host_of("2001:db8::1")), "2001:db8::1");
}

static void
test_host_max_per_ip_and_connect_rate(void **state)
{
	struct host	*h;
	unsigned	 i;

	(void)state;
	config->max_per_ip = 3;
	config->connect_rate_per_ip = 0;
	h = host_of("192.0.2.7");
	for (i = 0; i < 3; i++) {
		assert_int_equal(host_admit(h), HOST_OK);
		host_attach(h);
	}
	assert_int_equal(host_admit(h), HOST_TOO_MANY);
	host_detach(h);
	assert_int_equal(host_admit(h), HOST_OK);
	while (host_connections(h) > 0)
		host_detach(h);

	config->max_per_ip = 0;
	config->connect_rate_per_ip = 1;
	config->connect_burst_per_ip = 2;
	h = host_of("192.0.2.8");
	assert_int_equal(host_admit(h), HOST_OK);
	host_attach(h);
	host_detach(h);
	assert_int_equal(host_admit(h), HOST_OK);
	host_attach(h);
	host_detach(h);
	/* two in a burst, then one a second: closing does not give it back */
	assert_int_equal(host_admit(h), HOST_TOO_FAST);
}

static void
test_host_share_and_budget(void **state)
{
	struct host	*a = host_of("192.0.2.10"), *b = host_of("192.0.2.11");
	size_t		 base = budget_held();

	(void)state;
	config->max_memory_per_ip = 1000;
	config->max_memory = 16 * 1024 * 1024;
	assert_true(host_may_hold(a, 1000));
	host_hold(a, 900);
	assert_false(host_may_hold(a, 101));
	assert_true(host_may_hold(a, 100));
	assert_false(host_over_budget(a));
	host_hold(a, 200);			/* queues may overshoot */
	assert_true(host_over_budget(a));
	assert_int_equal(host_admit(a), HOST_OVER_BUDGET);
	assert_int_equal(host_admit(b), HOST_OK);	/* others unaffected */
	assert_true(host_may_hold(b, 1000));
	assert_int_equal(budget_held(), base + 1100);
	/* the daemon's budget binds every host, and the daemon itself */
	config->max_memory = base + 1500;
	assert_false(host_may_hold(b, 500));
	assert_false(host_may_hold(NULL, 500));
	host_hold(NULL, 500);
	assert_true(budget_over());
	assert_int_equal(host_admit(b), HOST_SERVER_OVER_BUDGET);
	host_hold(NULL, -500);
	host_hold(a, -1100);
	assert_int_equal(host_held(a), 0);
	assert_int_equal(budget_held(), base);
}

static void
test_host_shared_flood_bucket(void **state)
{
	struct host	*h = host_of("192.0.2.20");
	uint64_t	 now = bucket_now_us();

	(void)state;
	config->flood_rate_per_ip = 2;
	config->flood_burst_per_ip = 2;
	/* a fresh host's bucket was filled with the burst in force then */
	host_charge(h, 200 * BUCKET_TOKEN);
	assert_false(host_ready(h, now));
	assert_true(host_wait_us(h) > 40 * SECOND);
	config->flood_rate_per_ip = 0;		/* off: always ready */
	assert_true(host_ready(h, now));
	assert_true(host_ready(NULL, now));	/* no host: @operator */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_refills_up_to_its_burst),
		cmocka_unit_test(test_bucket_debt_is_paid_back_before_the_next_line),
		cmocka_unit_test(test_bucket_rate_zero_never_limits),
		cmocka_unit_test(test_bucket_clamp_to_a_smaller_burst),
		cmocka_unit_test_setup_teardown(
		    test_host_ipv6_prefix_groups_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_host_ipv6_prefix_128_is_one_address, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_host_max_per_ip_and_connect_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_share_and_budget,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_shared_flood_bucket,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
