/*
 * Unit tests for ban.c: targets (addresses, CIDR blocks, nicks) and their
 * canonical forms, matching, replacing, lifting and expiry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ban.h"

static int
teardown(void **state)
{
	(void)state;
	ban_free_all();
	return 0;
}

/* Ban target for duration and return the canonical form it was stored as. */
static const char *
add(const char *target, time_t duration)
{
	const struct ban	*b;
	char			*cause = NULL;

	assert_int_equal(ban_add(target, duration, "why", &b, &cause), 0);
	assert_null(cause);
	return b->target;
}

static void
test_canonical_forms(void **state)
{
	(void)state;
	assert_string_equal(add("192.0.2.7", 0), "192.0.2.7");
	assert_string_equal(add("192.0.2.77/24", 0), "192.0.2.0/24");
	assert_string_equal(add("10.1.2.3/32", 0), "10.1.2.3");
	assert_string_equal(add("2001:DB8:0:0::7", 0), "2001:db8::7");
	assert_string_equal(add("2001:db8:ff::/33", 0), "2001:db8::/33");
	assert_string_equal(add("Mallory", 0), "Mallory");
	assert_string_equal(add("0.0.0.0/0", 0), "0.0.0.0/0");
	assert_int_equal(ban_count(), 7);
}

static void
test_invalid_targets(void **state)
{
	static const char *const bad[] = { "", "300.1.2.3", "10.0.0.0/33",
	    "10.0.0.0/", "10.0.0.0/x", "::1/129", "#room", "9nick", "a b",
	    "host.example", "10.0.0.0/8/8" };
	const struct ban	*b;
	char			*cause;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		assert_int_equal(ban_add(bad[i], 0, "x", &b, &cause), -1);
		assert_non_null(cause);
		free(cause);
	}
	assert_int_equal(ban_count(), 0);
}

static void
test_matching(void **state)
{
	(void)state;
	add("192.0.2.0/24", 0);
	add("198.51.100.9", 0);
	add("2001:db8::/32", 0);
	add("10.0.0.0/9", 0);
	add("mallory", 0);
	assert_non_null(ban_match("192.0.2.200", NULL));
	assert_null(ban_match("192.0.3.1", NULL));
	assert_non_null(ban_match("198.51.100.9", NULL));
	assert_null(ban_match("198.51.100.10", NULL));
	assert_non_null(ban_match("2001:db8:1::5", NULL));
	assert_null(ban_match("2001:db9::5", NULL));
	assert_non_null(ban_match("10.127.255.255", NULL));	/* /9 */
	assert_null(ban_match("10.128.0.0", NULL));
	assert_non_null(ban_match(NULL, "MALLORY"));
	assert_null(ban_match(NULL, "mallory2"));
	assert_null(ban_match("not an address", "alice"));
	/* a nick ban is not an address ban, and the other way round */
	assert_null(ban_match("192.0.3.1", "192.0.2.1"));
	assert_true(ban_covers(ban_match(NULL, "mallory"), "192.0.3.1",
	    "Mallory"));
	assert_false(ban_covers(ban_match("192.0.2.1", NULL), "192.0.3.1",
	    "mallory"));
}

static void
test_replace_and_delete(void **state)
{
	const struct ban	*b;
	char			*cause = NULL;

	(void)state;
	add("192.0.2.0/24", 60);
	assert_int_equal(ban_add("192.0.2.1/24", 0, "again", &b, &cause), 0);
	assert_int_equal(ban_count(), 1);
	assert_string_equal(b->reason, "again");
	assert_int_equal(b->expires, 0);
	assert_int_equal(ban_del("192.0.2.99/24"), 0);	/* same block */
	assert_int_equal(ban_del("192.0.2.0/24"), -1);
	add("Alice", 0);
	assert_int_equal(ban_del("alice"), 0);
	assert_int_equal(ban_del("nonsense/"), -1);
	assert_int_equal(ban_count(), 0);
}

static void
test_expiry(void **state)
{
	const struct ban	*b;
	char			*cause = NULL;

	(void)state;
	add("192.0.2.1", 3600);
	assert_int_equal(ban_add("192.0.2.2", 1, "short", &b, &cause), 0);
	assert_non_null(ban_match("192.0.2.2", NULL));
	/* Age it instead of sleeping: the list drops it when next consulted. */
	((struct ban *)b)->expires = time(NULL) - 1;
	assert_null(ban_match("192.0.2.2", NULL));
	assert_int_equal(ban_count(), 1);
	assert_non_null(ban_match("192.0.2.1", NULL));
}

static void
order_cb(const struct ban *b, void *arg)
{
	char	*out = arg;

	strcat(out, b->target);
	strcat(out, " ");
}

static void
test_listing_keeps_order(void **state)
{
	char	out[128] = "";

	(void)state;
	add("c", 0);
	add("a", 0);
	add("b", 0);
	assert_int_equal(ban_del("a"), 0);
	add("d", 0);
	ban_foreach(order_cb, out);
	assert_string_equal(out, "c b d ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_canonical_forms, teardown),
		cmocka_unit_test_teardown(test_invalid_targets, teardown),
		cmocka_unit_test_teardown(test_matching, teardown),
		cmocka_unit_test_teardown(test_replace_and_delete, teardown),
		cmocka_unit_test_teardown(test_expiry, teardown),
		cmocka_unit_test_teardown(test_listing_keeps_order, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
