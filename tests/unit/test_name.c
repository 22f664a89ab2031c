/*
 * Unit tests for name.c: the nick rule, the room rule and the casemapping,
 * at every edge.  Expectations are written from the rules as documented
 * (chatd-protocol(7)), not from name.c's table: ASCII is tried byte by
 * byte, and each excluded range of code points at both of its ends and
 * just outside them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "name.h"

/* Print s with bytes outside printable ASCII escaped, for failures. */
static const char *
shown(const char *s)
{
	static char	buf[512];
	size_t		o = 0;

	for (; *s != '\0' && o + 5 < sizeof buf; s++) {
		if (*s >= 0x20 && *s < 0x7f)
			buf[o++] = *s;
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o,
			    "\\x%02x", (unsigned char)*s);
	}
	buf[o] = '\0';
	return buf;
}

static void
check_nick(const char *nick, int expect)
{
	if (name_nick_valid(nick) != expect)
		fail_msg("nick \"%s\" should be %s", shown(nick),
		    expect ? "valid" : "invalid");
}

static void
check_room(const char *name, int expect)
{
	if (name_room_valid(name) != expect)
		fail_msg("room \"%s\" should be %s", shown(name),
		    expect ? "valid" : "invalid");
}

/* s = prefix, then n copies of fill, then suffix. */
static const char *
build(char *s, size_t size, const char *prefix, char fill, size_t n,
    const char *suffix)
{
	size_t	len = strlen(prefix);

	assert_true(len + n + strlen(suffix) < size);
	memcpy(s, prefix, len);
	memset(s + len, fill, n);
	strcpy(s + len + n, suffix);
	return s;
}

/* The UTF-8 encoding of cp (no validity checks: tests want the bad ones). */
static size_t
encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* "#" cp, "#a" cp and "#" cp "a": a code point alone, last and first. */
static void
check_code_point(uint32_t cp, int expect)
{
	char	s[16];
	size_t	n;

	s[0] = '#';
	n = encode(cp, s + 1);
	s[1 + n] = '\0';
	if (name_room_valid(s) != expect)
		fail_msg("U+%04X should be %s", (unsigned)cp,
		    expect ? "valid" : "invalid");
	s[1] = 'a';
	n = encode(cp, s + 2);
	s[2 + n] = '\0';
	check_room(s, expect);
	n = encode(cp, s + 1);
	strcpy(s + 1 + n, "a");
	check_room(s, expect);
}

/* ---- nicks ---- */

static void
test_nick_length(void **state)
{
	char	s[64];
	size_t	n;

	(void)state;
	check_nick("", 0);
	for (n = 1; n <= NAME_NICK_MAX; n++)
		check_nick(build(s, sizeof s, "", 'a', n, ""), 1);
	check_nick(build(s, sizeof s, "", 'a', 31, ""), 0);
	check_nick(build(s, sizeof s, "", 'a', 40, ""), 0);
	/* the 30th and 31st bytes of every kind the rule allows */
	check_nick(build(s, sizeof s, "[", 'a', 28, "9"), 1);
	check_nick(build(s, sizeof s, "[", 'a', 29, "9"), 0);
	check_nick(build(s, sizeof s, "a", '-', 29, ""), 1);
	check_nick(build(s, sizeof s, "a", '-', 30, ""), 0);
	check_nick(build(s, sizeof s, "", '|', 30, ""), 1);
	check_nick(build(s, sizeof s, "", '|', 31, ""), 0);
	check_nick("guest4294967295", 1);	/* the longest guest nick */
}

/* Every ASCII byte as the first and as a later byte, from the rule. */
static void
test_nick_ascii(void **state)
{
	char	s[4];
	int	ch, first, later;

	(void)state;
	for (ch = 1; ch < 0x80; ch++) {
		first = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    strchr("[]\\`_^{|}", ch) != NULL;
		later = first || (ch >= '0' && ch <= '9') || ch == '-';
		s[0] = (char)ch;
		s[1] = '\0';
		check_nick(s, first);
		s[1] = 'x';
		s[2] = '\0';
		check_nick(s, first);
		s[0] = 'x';
		s[1] = (char)ch;
		check_nick(s, later);
		s[2] = 'x';
		s[3] = '\0';
		check_nick(s, later);
	}
}

static void
test_nick_examples(void **state)
{
	static const char *valid[] = {
		"a", "Z", "_", "__", "alice", "Bob", "a1", "a-", "a-b_c9",
		"_9", "x-------", "abcdefghijklmnop", "A123456789012345",
		"abcdefghijklmnopq", "abcdefghijklmnopqrstuvwxyz",
		"[bot]|x^", "[", "]", "\\", "`", "^", "{", "|", "}",
		"[a]", "a[b]", "{away}", "nick|afk", "^_^", "`x`", "a\\b",
		"[-9]", "x[1]-2",
	};
	static const char *invalid[] = {
		"9a", "-a", "0", "-", "9", "0[", "-[", "a b", " a", "a ",
		"a.b", "a#", "#a", "a@b", "a\tb", "\xc3\xa9", "al\xc3\xa9",
		"caf\xc3\xa9", "a/b", "a+b", "a:b", "a,b", "a!", "a*", "a?",
		"a~b", "a'b", "a\"b", "@operator", "a\x7f", "a\x80",
		"\xff", "a\r", "a\n", "&a", "%a", "a$", "a=b",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		check_nick(valid[i], 1);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		check_nick(invalid[i], 0);
}

/* ---- rooms ---- */

static void
test_room_length(void **state)
{
	char	s[128];
	size_t	n;

	(void)state;
	check_room("", 0);
	check_room("#", 0);
	for (n = 1; n <= NAME_ROOM_MAX - 1; n++)
		check_room(build(s, sizeof s, "#", 'a', n, ""), 1);
	check_room(build(s, sizeof s, "#", 'a', 51, ""), 0);
	check_room(build(s, sizeof s, "#", '+', 50, ""), 1);
	check_room(build(s, sizeof s, "#", '+', 51, ""), 0);
	check_room(build(s, sizeof s, "#", 'a', 100, ""), 0);
	/* a character of 2, 3 and 4 bytes ending at byte 51, and past it */
	check_room(build(s, sizeof s, "#", 'a', 48, "\xc3\xa9"), 1);
	check_room(build(s, sizeof s, "#", 'a', 49, "\xc3\xa9"), 0);
	check_room(build(s, sizeof s, "#", 'a', 47, "\xe6\x97\xa5"), 1);
	check_room(build(s, sizeof s, "#", 'a', 48, "\xe6\x97\xa5"), 0);
	check_room(build(s, sizeof s, "#", 'a', 49, "\xe6\x97\xa5"), 0);
	check_room(build(s, sizeof s, "#", 'a', 46, "\xf0\x90\x8c\xb0"), 1);
	check_room(build(s, sizeof s, "#", 'a', 47, "\xf0\x90\x8c\xb0"), 0);
	check_room(build(s, sizeof s, "#", 'a', 49, "\xf0\x90\x8c\xb0"), 0);
	/* the same, cut at byte 51: a sequence the limit splits */
	check_room(build(s, sizeof s, "#", 'a', 49, "\xc3"), 0);
	check_room(build(s, sizeof s, "#", 'a', 48, "\xe6\x97"), 0);
	check_room(build(s, sizeof s, "#", 'a', 47, "\xf0\x90\x8c"), 0);
	/* a character straddling the limit, then the rest of the name */
	check_room(build(s, sizeof s, "#", 'a', 49, "\xc3\xa9" "a"), 0);
	/* 16 three-byte letters and 2 bytes are 50 after '#'; 1 more is not */
	strcpy(s, "#");
	for (n = 0; n < 16; n++)
		strcat(s, "\xe6\x97\xa5");
	strcat(s, "ab");
	check_room(s, 1);
	strcat(s, "c");
	check_room(s, 0);
}

/* Every ASCII byte as the first and as a later byte after the '#'. */
static void
test_room_ascii(void **state)
{
	char	s[5];
	int	ch, ok;

	(void)state;
	for (ch = 1; ch < 0x80; ch++) {
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("_.-+", ch) != NULL;
		s[0] = '#';
		s[1] = (char)ch;
		s[2] = '\0';
		check_room(s, ok);
		s[2] = 'x';
		s[3] = '\0';
		check_room(s, ok);
		s[1] = 'x';
		s[2] = (char)ch;
		check_room(s, ok);
		s[3] = 'x';
		s[4] = '\0';
		check_room(s, ok);
		/* and never without the '#' */
		s[0] = (char)ch;
		s[1] = '\0';
		check_room(s, 0);
	}
}

static void
test_room_examples(void **state)
{
	static const char *valid[] = {
		"#a", "#lobby", "#Lobby", "#9", "#a.b", "#a-b", "#a_b",
		"#...", "#---", "#0123456789abcdefghijklmnopqrstuv",
		"#0123456789abcdefghijklmnopqrstuvw",
		"#0123456789abcdefghijklmnopqrstuvwxyz0123456789",
		"#c++", "#+", "#C++", "#caf\xc3\xa9", "#CAF\xc3\x89",
		"#\xc3\xa9", "#\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"#\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
		"#\xc3\x9f\x65", "#\xce\xb1\xce\xb2", "#\xd7\xa9\xd7\x9c",
		"#\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85",
		"#\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82",	/* marks */
		"#\xf0\x90\x8c\xb0",				/* Gothic */
		"#\xf0\xa0\x80\x80",				/* CJK ext B */
	};
	static const char *invalid[] = {
		"", "#", "lobby", "a#", "##a", "#a b", "#a,b", "#a#", "# ",
		"#a\t", "#a/b", "#a:b", "&a", "+a", "!a", "#a\x7f", "#a\x07",
		"#a*", "#a!", "#a@b", "#a$", "#a\\b", "#[a]", "#a|b",
		"#a\xe2\x80\xae",			/* U+202E */
		"#a\xe2\x80\x8b",			/* U+200B */
		"#a\xe2\x80\x8f",			/* U+200F */
		"#a\xe2\x81\xa6",			/* U+2066 */
		"#a\xc2\xa0" "b",			/* U+00A0 */
		"#a\xc2\xad" "b",			/* U+00AD */
		"#a\xe3\x80\x80" "b",			/* U+3000 */
		"#a\xef\xbc\x8c" "b",			/* U+FF0C */
		"#a\xef\xbb\xbf",			/* U+FEFF */
		"#a\xef\xbf\xbd",			/* U+FFFD */
		"#a\xef\xb8\x8f",			/* U+FE0F */
		"#\xf0\x9f\x99\x82",			/* U+1F642 */
		"#e\xcc\x81",				/* U+0301 */
		"#\xe2\x84\xaa",			/* U+212A Kelvin */
		"#\xf0\x9d\x90\x80",			/* U+1D400 */
		"#\xf3\xa0\x80\x81",			/* U+E0001 */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		check_room(valid[i], 1);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		check_room(invalid[i], 0);
}

/*
 * Each excluded range at both ends, and the letters just outside it (or
 * the nearest letter, where its neighbour is excluded for another reason).
 */
static void
test_room_excluded_ranges(void **state)
{
	static const struct {
		uint32_t	cp;
		int		valid;
	} edges[] = {
		{ 0x0080, 0 }, { 0x0085, 0 }, { 0x009f, 0 }, { 0x00a0, 0 },
		{ 0x00bf, 0 }, { 0x00c0, 1 },			/* À */
		{ 0x00d6, 1 }, { 0x00d7, 0 }, { 0x00d8, 1 },	/* Ö × Ø */
		{ 0x00f6, 1 }, { 0x00f7, 0 }, { 0x00f8, 1 },	/* ö ÷ ø */
		{ 0x00ff, 1 }, { 0x0100, 1 },			/* ÿ Ā */
		{ 0x02ff, 1 }, { 0x0300, 0 }, { 0x036f, 0 },
		{ 0x0370, 1 },					/* Ͱ */
		{ 0x0600, 0 }, { 0x0605, 0 }, { 0x061c, 0 }, { 0x0628, 1 },
		{ 0x06dd, 0 }, { 0x070f, 0 }, { 0x0710, 1 },
		{ 0x0890, 0 }, { 0x0891, 0 }, { 0x08e2, 0 },
		{ 0x115e, 1 }, { 0x115f, 0 }, { 0x1160, 0 }, { 0x1161, 1 },
		{ 0x1680, 0 }, { 0x1681, 1 },
		{ 0x17b3, 1 }, { 0x17b4, 0 }, { 0x17b5, 0 }, { 0x17b6, 1 },
		{ 0x180b, 0 }, { 0x180e, 0 }, { 0x180f, 0 }, { 0x1810, 1 },
		{ 0x1ffc, 1 }, { 0x2000, 0 }, { 0x200b, 0 }, { 0x200d, 0 },
		{ 0x2028, 0 }, { 0x202e, 0 }, { 0x2060, 0 }, { 0x206f, 0 },
		{ 0x2070, 0 }, { 0x20ac, 0 }, { 0x2126, 0 }, { 0x2200, 0 },
		{ 0x2500, 0 }, { 0x2764, 0 }, { 0x2800, 0 }, { 0x2bff, 0 },
		{ 0x2c00, 1 },					/* Ⰰ */
		{ 0x2d30, 1 }, { 0x2e00, 0 }, { 0x2e7f, 0 }, { 0x2e80, 0 },
		{ 0x2fff, 0 }, { 0x3000, 0 }, { 0x3001, 0 }, { 0x3005, 0 },
		{ 0x303f, 0 }, { 0x3041, 1 },			/* ぁ */
		{ 0x3163, 1 }, { 0x3164, 0 }, { 0x3165, 1 },
		{ 0x31ff, 1 }, { 0x3200, 0 }, { 0x33ff, 0 },
		{ 0x3400, 1 }, { 0x4e00, 1 }, { 0xac00, 1 }, { 0xd7a3, 1 },
		{ 0xe000, 0 }, { 0xf8ff, 0 }, { 0xf900, 1 },	/* 豈 */
		{ 0xfdcf, 1 }, { 0xfdd0, 0 }, { 0xfdef, 0 }, { 0xfdf0, 1 },
		{ 0xfdff, 1 }, { 0xfe00, 0 }, { 0xfe0f, 0 }, { 0xfe10, 0 },
		{ 0xfe6f, 0 }, { 0xfe70, 1 },
		{ 0xfefc, 1 }, { 0xfeff, 0 }, { 0xff00, 0 }, { 0xff03, 0 },
		{ 0xff21, 0 }, { 0xff65, 0 }, { 0xff66, 1 },	/* ｦ */
		{ 0xff9f, 1 }, { 0xffa0, 0 }, { 0xffa1, 1 },
		{ 0xffdc, 1 }, { 0xffe0, 0 }, { 0xffef, 0 }, { 0xfff0, 0 },
		{ 0xfff9, 0 }, { 0xfffc, 0 }, { 0xfffd, 0 }, { 0xfffe, 0 },
		{ 0xffff, 0 }, { 0x10000, 1 },			/* 𐀀 */
		{ 0x110bc, 1 }, { 0x110bd, 0 }, { 0x110cd, 0 },
		{ 0x1342e, 1 }, { 0x13430, 0 }, { 0x1345f, 0 },
		{ 0x1bc9c, 1 }, { 0x1bca0, 0 }, { 0x1bca3, 0 },
		{ 0x1cfff, 1 }, { 0x1d000, 0 }, { 0x1d173, 0 }, { 0x1d400, 0 },
		{ 0x1d7ff, 0 }, { 0x1d800, 1 },
		{ 0x1e900, 1 }, { 0x1f000, 0 }, { 0x1f600, 0 }, { 0x1fbff, 0 },
		{ 0x1fc00, 1 }, { 0x1fffd, 1 }, { 0x1fffe, 0 }, { 0x1ffff, 0 },
		{ 0x20000, 1 }, { 0x2fffe, 0 }, { 0x30000, 1 },
		{ 0xdfffd, 1 }, { 0xdfffe, 0 }, { 0xe0000, 0 }, { 0xe0001, 0 },
		{ 0xe007f, 0 }, { 0xe0100, 0 }, { 0xe01ef, 0 }, { 0xeffff, 0 },
		{ 0xf0000, 0 }, { 0x10fffd, 0 }, { 0x10ffff, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
		check_code_point(edges[i].cp, edges[i].valid);
}

static void
test_room_malformed(void **state)
{
	static const char *invalid[] = {
		/* overlong: '/', 'a', U+007F, U+07FF, U+FFFF as longer forms */
		"#\xc0\xaf", "#\xc1\xa1", "#\xc1\xbf", "#\xe0\x80\xaf",
		"#\xe0\x9f\xbf", "#\xf0\x80\x80\xaf", "#\xf0\x8f\xbf\xbf",
		"#a\xc0\xa0" "b",		/* an overlong space */
		/* surrogates, alone and paired */
		"#\xed\xa0\x80", "#\xed\xaf\xbf", "#\xed\xb0\x80",
		"#\xed\xbf\xbf", "#\xed\xa0\xbd\xed\xb8\x80",
		/* above U+10FFFF, and bytes that never occur */
		"#\xf4\x90\x80\x80", "#\xf5\x80\x80\x80", "#\xf7\xbf\xbf\xbf",
		"#\xf8\x88\x80\x80\x80", "#\xfc\x84\x80\x80\x80\x80",
		"#\xfe", "#\xff", "#a\xff",
		/* truncated, at the end and inside */
		"#\xc3", "#\xe6\x97", "#\xf0\x90\x8c", "#caf\xc3",
		"#\xc3" "a", "#\xe6\x97" "a", "#\xf0\x90\x8c" "a",
		"#\xc3\xc3\xa9", "#\xe6\xe6\x97\xa5",
		/* continuation bytes with nothing to continue */
		"#\x80", "#a\xbf", "#\xc3\xa9\xa9", "#\xe6\x97\xa5\x80",
	};
	static const char *valid[] = {
		"#\xc3\x80", /* U+00C0: the first 2-byte letter */
		"#\xe0\xa0\x80", /* U+0800: the shortest 3-byte */
		"#\xed\x9f\xbb", /* U+D7FB: below the surrogates */
		"#\xf0\x90\x80\x80", /* U+10000: the shortest 4-byte */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		check_room(invalid[i], 0);
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		check_room(valid[i], 1);
}

/* ---- casemapping ---- */

static int
sign(int n)
{
	return (n > 0) - (n < 0);
}

static void
test_compare_examples(void **state)
{
	(void)state;
	assert_int_equal(name_compare("", ""), 0);
	assert_int_equal(name_compare("alice", "ALICE"), 0);
	assert_int_equal(name_compare("#C++", "#c++"), 0);
	assert_int_equal(name_compare("[bot]|x^", "[BOT]|X^"), 0);
	assert_int_not_equal(name_compare("[", "{"), 0);
	assert_int_not_equal(name_compare("]", "}"), 0);
	assert_int_not_equal(name_compare("\\", "|"), 0);
	assert_int_not_equal(name_compare("^", "~"), 0);
	assert_int_not_equal(name_compare("[bot]", "{bot}"), 0);
	assert_int_not_equal(name_compare("#caf\xc3\xa9", "#CAF\xc3\x89"), 0);
	assert_int_equal(name_compare("#caf\xc3\xa9", "#CAF\xc3\xa9"), 0);
	assert_int_not_equal(name_compare("#\xd0\xbf", "#\xd0\x9f"), 0);
	/* the order: folded to lower case, bytes unsigned, prefix first */
	assert_true(name_compare("a", "b") < 0);
	assert_true(name_compare("B", "a") > 0);
	assert_true(name_compare("_", "A") < 0);
	assert_true(name_compare("[", "a") < 0);
	assert_true(name_compare("{", "Z") > 0);
	assert_true(name_compare("ab", "ABC") < 0);
	assert_true(name_compare("", "a") < 0);
	assert_true(name_compare("\xc3\xa9", "z") > 0);
	assert_true(name_compare("#\xc3\x89", "#\xc3\xa9") < 0);
}

/*
 * Every pair of bytes, alone and followed by more: equal exactly when
 * the same or an ASCII letter in the other case, and ordered as
 * strcasecmp(3) orders them in the C locale (this program never calls
 * setlocale), so listings keep the order they always had.
 */
static void
test_compare_all_bytes(void **state)
{
	char	a[3] = "", b[3] = "";
	int	x, y, fx, fy;

	(void)state;
	for (x = 1; x < 0x100; x++) {
		for (y = 1; y < 0x100; y++) {
			a[0] = (char)x;
			b[0] = (char)y;
			a[1] = b[1] = '\0';
			fx = x >= 'A' && x <= 'Z' ? x + 32 : x;
			fy = y >= 'A' && y <= 'Z' ? y + 32 : y;
			assert_int_equal(sign(name_compare(a, b)),
			    sign(fx - fy));
			assert_int_equal(sign(name_compare(a, b)),
			    sign(strcasecmp(a, b)));
			a[1] = 'q';
			b[1] = 'Q';
			assert_int_equal(sign(name_compare(a, b)),
			    sign(fx - fy));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nick_length),
		cmocka_unit_test(test_nick_ascii),
		cmocka_unit_test(test_nick_examples),
		cmocka_unit_test(test_room_length),
		cmocka_unit_test(test_room_ascii),
		cmocka_unit_test(test_room_examples),
		cmocka_unit_test(test_room_excluded_ranges),
		cmocka_unit_test(test_room_malformed),
		cmocka_unit_test(test_compare_examples),
		cmocka_unit_test(test_compare_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
